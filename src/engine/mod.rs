//! The engines the actions share: Cedar's directory walk (`walk`), the
//! streaming tar writer ([`archive`], compressing on every core with
//! [`compress`]), incremental digest maps ([`digest`]),
//! the disc in a drive as the image reader's sector source ([`disc`]),
//! store's day and new-disc rules ([`schedule`]), whether a device is
//! mounted ([`mounts`]), local and remote peer copies ([`peer`]) and small file helpers
//! ([`util`]: normalized names, day directories, indicators, ownership),
//! all written through [`atomic`] so no output is ever half-written.
//! Engines know nothing of the configuration file: they take plain values.

pub mod archive;
pub mod atomic;
pub mod burn;
pub mod compress;
pub mod digest;
pub mod disc;
pub mod fifo;
pub mod image;
pub mod mounts;
pub mod peer;
pub mod schedule;
pub mod util;
pub mod verify;
pub(crate) mod walk;
