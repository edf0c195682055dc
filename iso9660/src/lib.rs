//! Streaming ISO9660 + Rock Ridge image writer and hardened reader.
//!
//! This crate knows nothing about discs or backups: it turns a [`Tree`] of
//! entries into a stream of 2048-byte sectors, and reads such streams back.
//!
//! Writing is plan-then-stream: [`Layout::plan`] fixes every address, so the
//! exact size ([`Layout::sectors`]) is known before the first byte, and
//! [`Layout::write`] produces the image in one sequential pass to any
//! [`std::io::Write`] — a file, a pipe or a drive — padded with
//! [`Options::padding`] zero blocks as mkisofs does. File data is read while
//! it is written; memory grows with the number of entries, not their size.
//!
//! - Names: ECMA-119 levels 1–3 ([`Level`]), Rock Ridge 1.12 for POSIX names,
//!   owners, modes, times, symlinks, devices, fifos and hard links
//!   ([`RockRidge::Faithful`] or mkisofs `-r`'s [`RockRidge::Rationalized`]),
//!   optional Joliet ([`Options::joliet`]).
//! - Trees deeper than eight levels are relocated (CL/PL/RE); files larger
//!   than 4 GiB − 2048 become multi-extent (level 3).
//! - Sessions: [`Options::start_lba`] places a session anywhere with absolute
//!   addresses, and [`Tree::import_session`] carries an earlier session's
//!   entries (by their old extents, [`FileData::Extents`]) into a new one;
//!   new content added afterwards replaces what is at its path, as with
//!   `mkisofs -M`. A hostile session (names that are paths, duplicates,
//!   lying hard links) is refused with [`Error::Imported`].
//! - Reading: [`Reader`] opens any session of any [`SectorSource`] and
//!   checks every address, length and chain against the volume and its
//!   [`Limits`], which also bound the bytes one operation reads and keeps;
//!   it never panics on hostile input (fuzzed, two targets).
//! - Host files are read as what was planned: [`open_regular`] refuses a
//!   file swapped for a symlink, FIFO, device or another file
//!   ([`Error::SourceChanged`]).
//! - Output is reproducible for equal input and [`Options::timestamp`].
//!
//! ```
//! use iso9660::{FileData, Layout, Metadata, Options, Reader, Tree};
//!
//! let mut tree = Tree::new(Metadata::new(0o755, 0, 0, 1_700_000_000));
//! let hello = b"hello, world\n".to_vec();
//! let size = hello.len() as u64;
//! tree.add_file(b"docs/hello.txt", Metadata::new(0o644, 1000, 100, 1_700_000_000), FileData::Bytes(hello), size)?;
//! let mut layout = Layout::plan(tree, Options { volume_id: "EXAMPLE".into(), ..Options::default() })?;
//! let mut image = Vec::new();
//! layout.write(&mut image, &mut ())?;
//! assert_eq!(image.len() as u64, layout.bytes());
//!
//! let mut reader = Reader::open(std::io::Cursor::new(image))?;
//! let file = reader.lookup("/docs/hello.txt")?.expect("present");
//! assert_eq!(reader.read_to_vec(&file)?, b"hello, world\n");
//! assert_eq!(file.meta.uid, 1000);
//! # Ok::<(), iso9660::Error>(())
//! ```
#![deny(missing_docs)]

mod codec;
mod descriptor;
mod error;
mod exercise;
mod hierarchy;
mod import;
mod joliet;
mod layout;
mod names;
mod pathtable;
mod read;
mod record;
mod records;
mod scan;
mod source;
mod susp;
mod tree;
mod write;

pub use codec::{decode_long_date, decode_short_date, encode_long_date, encode_short_date, Civil};
pub use descriptor::{terminator, VolumeDescriptor};
pub use error::{Error, Result};
#[doc(hidden)]
pub use exercise::exercise_store;
pub use layout::{Layout, Options, RockRidge, MAX_EXTENT, PADDING};
pub use names::{ecma_cmp, mangle_siblings, Level};
pub use pathtable::PathRecord;
#[doc(hidden)]
pub use read::fuzz_limits;
pub use read::{
    exercise, Entry, EntryKind, FileReader, Hierarchy, Limits, ReadSeekSource, Reader,
    SectorSource, Volume,
};
pub use record::{DirRecord, FileFlags};
pub use scan::{host_metadata, GraftPoint};
pub use source::{open_regular, FileId};
pub use susp::{
    nm_entries, sl_entries, sl_join, symlink_as_recorded, Entry as SuspEntry, SlComponent, Times,
};
pub use tree::{DeviceKind, FileData, Metadata, Node, NodeId, NodeKind, Tree, MAX_NAME};
pub use write::Progress;

/// Size of one logical sector of an ISO9660 image, in bytes.
pub const SECTOR_SIZE: usize = 2048;
