//! Tool subcommands that are not Cedar actions: `cback mkisofs` (an image
//! writer with mkisofs's command line) and `cback drive` (what a drive and its
//! medium hold).

pub mod drive;
pub mod mkisofs;
