//! SCSI MMC over Linux SG_IO: transport, typed commands, drive logic and an
//! emulated burner.
//!
//! This crate knows nothing about files or backups: it moves 2048-byte blocks
//! to and from optical drives (real or emulated).
#![deny(missing_docs)]

/// Size of one user-data block on optical media, in bytes.
pub const BLOCK_SIZE: usize = 2048;
