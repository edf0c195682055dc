//! The engines the actions share: Cedar's directory walk (`walk`), the
//! streaming tar writer ([`archive`], compressing on every core with
//! [`compress`]), incremental digest maps ([`digest`]),
//! the disc in a drive as the image reader's sector source ([`disc`]),
//! a finished disc read back ([`discread`], in one pipelined pass: [`scan`]),
//! the one image builder ([`image`], adding each day's [`manifest`]) burned through a bounded [`fifo`]
//! ([`burn`]) and read back ([`verify`]),
//! store's day and new-disc rules ([`schedule`]), the disc writer store,
//! rebuild and initialize share ([`writer`], showing [`progress`]), whether
//! a device is mounted ([`mounts`]), local and remote peer copies ([`peer`]) and small file helpers
//! ([`util`]: normalized names, day directories, indicators, ownership),
//! all written through [`atomic`] so no output is ever half-written.
//! Engines never read or check the configuration: they take plain values
//! and already checked settings.

pub mod archive;
pub mod atomic;
pub mod burn;
pub mod compress;
pub mod digest;
pub mod disc;
pub mod discread;
pub mod fifo;
pub mod image;
pub mod manifest;
pub mod mounts;
pub mod peer;
pub mod progress;
pub mod scan;
pub mod schedule;
pub mod unpack;
pub mod util;
pub mod verify;
pub(crate) mod walk;
pub mod writer;
