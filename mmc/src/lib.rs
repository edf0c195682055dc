//! SCSI MMC over Linux SG_IO: transport, typed commands, drive logic and an
//! emulated burner.
//!
//! This crate knows nothing about files or backups: it moves 2048-byte blocks
//! to and from optical drives, real or emulated. Three layers, as in libburn:
//!
//! - **transport** ([`Transport`]): one CDB in, status and sense out. [`SgIo`]
//!   talks to /dev/srN or /dev/sgN; [`Emulator`] is a file-backed burner that
//!   answers the same bytes.
//! - **commands** ([`cdb`]): a typed builder and response parser per MMC
//!   command, each encodable and decodable.
//! - **drive logic** ([`Drive`]): identify, blank, format, write a session,
//!   close, eject, read back — built only from the command layer. What the
//!   medium does not allow is a typed [`MediumError`] (does not fit,
//!   finalized, not formatted, ...), checked before any byte is written by
//!   [`Drive::check_fits`] / [`Drive::check_write`]. [`BlockReader`] reads
//!   the disc back block by block (or by byte range) in bounded memory.
//!
//! [`open_device`] (or [`Drive::open`]) takes either a device path or an
//! emulated device string `emulated:PATH?profile=NAME`.
//!
//! ```
//! use mmc::{Drive, MediaState, NoProgress, WriteOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let spec = format!("emulated:{}?profile=dvd+r", dir.path().join("disc.iso").display());
//! let mut drive = Drive::open(&spec).unwrap();
//! let session = vec![0u8; 32 * 2048];
//! // Refused before any byte is written when it does not fit.
//! let space = drive.check_fits(32).unwrap();
//! assert_eq!((space.start, space.need_blocks), (0, Some(32)));
//! let report = drive
//!     .write_session(&mut &session[..], &WriteOptions::default(), &mut NoProgress)
//!     .unwrap();
//! assert_eq!((report.start, report.blocks), (0, 32));
//! let info = drive.medium_info().unwrap();
//! assert_eq!(info.state, MediaState::Appendable);
//! // Closing the session cost space, as on a real disc.
//! let next = 32 + mmc::emulator::DVD_PLUS_R_SESSION_GAP;
//! assert_eq!(info.msinfo(), Some((0, next)));
//! // Read back with bounded memory (a small read-ahead window).
//! let mut reader = mmc::BlockReader::new(&mut drive);
//! assert_eq!(reader.block(31).unwrap(), &[0u8; 2048][..]);
//! let too_big = drive.check_fits(info.free_blocks + 1).unwrap_err();
//! assert!(matches!(too_big.medium(), Some(mmc::MediumError::DoesNotFit { .. })));
//! ```
#![deny(missing_docs)]

pub mod cdb;
mod device;
mod device_string;
mod drive;
pub mod emulator;
mod error;
pub mod profile;
pub mod sense;
mod sgio;
pub mod tcmu;
mod transport;

pub use device::open_device;
pub use device_string::DeviceString;
pub use drive::{
    BlankMode, BlockReader, Drive, FreeSpace, Identity, MediaState, MediumInfo, NoProgress,
    Progress, ReadError, WriteOptions, WriteReport, DEFAULT_READ_AHEAD,
};
pub use emulator::Emulator;
pub use error::{DecodeError, Error, MediumError, Result};
pub use profile::{MediaType, Profile};
pub use sense::Sense;
pub use sgio::{SgIo, SgIoHdr};
pub use transport::{Completion, DataPhase, Transport, DEFAULT_TIMEOUT, LONG_TIMEOUT};

/// Size of one user-data block on optical media, in bytes.
pub const BLOCK_SIZE: usize = 2048;
