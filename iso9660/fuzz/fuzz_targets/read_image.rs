//! Fuzzes the reader: open, walk every directory, read every file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = iso9660::exercise(data);
});
