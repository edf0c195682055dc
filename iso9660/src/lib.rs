//! Streaming ISO9660 + Rock Ridge image writer and hardened reader.
//!
//! This crate knows nothing about discs or backups: it turns a tree of entries
//! into a stream of 2048-byte sectors, and reads such streams back.
#![deny(missing_docs)]

/// Size of one logical sector of an ISO9660 image, in bytes.
pub const SECTOR_SIZE: usize = 2048;
