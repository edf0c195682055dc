//! `cback mkisofs`: build an ISO9660/Rock Ridge image like mkisofs would.

use std::ffi::OsString;

/// Runs `cback mkisofs ARGS...`; returns the process exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let _ = args;
    eprintln!("cback mkisofs: not implemented yet in this version of cedar");
    6
}
