//! Tool subcommands that are not Cedar actions: `cback mkisofs` (an image
//! writer with mkisofs's command line) and `cback drive` (what a drive and its
//! medium hold), `cback verify` (is the disc still good) and `cback restore`
//! (list and restore days, peers and archives).

pub mod drive;
pub mod mkisofs;
pub mod reading;
pub mod restore;
pub mod verify;
