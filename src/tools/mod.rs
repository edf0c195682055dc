//! Tool subcommands that are not Cedar actions: `cback mkisofs` (an image
//! writer with mkisofs's command line), `cback drive` (what a drive and its
//! medium hold), `cback verify` (is the disc still good), `cback restore`
//! (list and restore days, peers and archives), `cback amazons3-sync`
//! (Cedar's `cback3-amazons3-sync`) and `cback span` (Cedar's
//! `cback3-span`), with the start-up the last two share ([`startup`]).

pub mod amazons3_sync;
pub mod drive;
pub mod mkisofs;
pub mod reading;
pub mod restore;
pub mod span;
pub mod startup;
pub mod verify;
