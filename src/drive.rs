//! `cback drive DEVICE`: show what a (real or emulated) drive and its medium hold.

use std::ffi::OsString;

/// Runs `cback drive ARGS...`; returns the process exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let _ = args;
    eprintln!("cback drive: not implemented yet in this version of cedar");
    6
}
