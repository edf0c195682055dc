//! Fuzzes what store runs on the disc in the drive: import the previous
//! session, merge a small new tree, plan and write the next session, read
//! it back (see `iso9660::exercise_store`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = iso9660::exercise_store(data);
});
