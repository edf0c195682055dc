//! What store does with a disc, as one function the fuzz target
//! `store_session` and the tests drive: import the previous session, merge
//! a small new tree over it, plan and write the next session, read that
//! back. Hostile input may make it fail, never panic, hang or run out of
//! memory; a session this crate wrote that does not read back, or reads
//! back wrong, is a bug and panics.

use std::io::{self, Cursor};

use crate::error::Result;
use crate::layout::{Layout, Options};
use crate::names::Level;
use crate::read::{fuzz_limits, EntryKind, Limits, ReadSeekSource, Reader, SectorSource};
use crate::tree::{FileData, Metadata, NodeKind, Tree};
use crate::SECTOR_SIZE;

const SECTOR: u64 = SECTOR_SIZE as u64;

/// The old image below `start` (zeros past its end), the new session from
/// `start` on.
struct Appended<'a> {
    old: &'a [u8],
    start: u64,
    new: &'a [u8],
}

impl SectorSource for Appended<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        for (i, b) in buf.iter_mut().enumerate() {
            let at = offset + i as u64;
            *b = if at >= self.start {
                *self
                    .new
                    .get((at - self.start) as usize)
                    .ok_or(io::ErrorKind::UnexpectedEof)?
            } else {
                self.old.get(at as usize).copied().unwrap_or(0)
            };
        }
        Ok(())
    }
}

/// Imports the session at block 0 of `image`, adds new content (one file
/// replacing an old root entry when there is one, a new directory with a
/// file, a hard link and a symlink), writes the next session right after
/// the old volume and reads it back; returns the entries read back.
#[doc(hidden)]
pub fn exercise_store(image: &[u8]) -> Result<u64> {
    let mut reader = Reader::from_source(ReadSeekSource(Cursor::new(image)), 0, fuzz_limits())?;
    let old_end = u64::from(reader.volume().descriptor.volume_space_size);
    let mut tree = Tree::new(Metadata::new(0o755, 0, 0, 1_000));
    tree.import_session(&mut reader)?;
    drop(reader);
    let day = b"a day stored again".to_vec();
    let first_old = tree.children(tree.root()).next().map(|(n, _)| n.to_vec());
    let replaced = first_old.unwrap_or_else(|| b"fresh".to_vec());
    let meta = Metadata::new(0o640, 1, 2, 3_000);
    let size = day.len() as u64;
    let file = tree.add_file(&replaced, meta, FileData::Bytes(day.clone()), size)?;
    tree.add_file(
        b"cedar-new/2026/12/01/index",
        meta,
        FileData::Bytes(b"index".to_vec()),
        5,
    )?;
    tree.add(b"cedar-new/link", meta, NodeKind::HardLink(file))?;
    tree.add(b"cedar-new/sym", meta, NodeKind::Symlink(b"../x".to_vec()))?;
    let start_blocks = old_end.max((image.len() as u64).div_ceil(SECTOR)) + 16;
    let start = u32::try_from(start_blocks)
        .ok()
        .filter(|s| *s < u32::MAX / 2)
        .ok_or_else(|| crate::Error::Limit("previous volume too large to append to".into()))?;
    let opts = Options {
        start_lba: start,
        level: Level::Three,
        joliet: true,
        timestamp: 1_700_000_000,
        ..Options::default()
    };
    let mut layout = Layout::plan(tree, opts)?;
    let mut session = Vec::new();
    let written = layout.write(&mut session, &mut ())?;
    assert_eq!(
        written,
        layout.bytes(),
        "session size differs from its plan"
    );
    let source = Appended {
        old: image,
        start: u64::from(start) * SECTOR,
        new: &session,
    };
    let mut back = Reader::from_source(source, start, Limits::default())
        .unwrap_or_else(|e| panic!("the written session does not open: {e}"));
    let mut count = 0u64;
    back.walk(|_, _| {
        count += 1;
        Ok(())
    })
    .unwrap_or_else(|e| panic!("the written session does not walk: {e}"));
    let path = format!("/{}", String::from_utf8_lossy(&replaced));
    // Names that are not UTF-8 cannot be looked up through a &str.
    if std::str::from_utf8(&replaced).is_ok() {
        let e = back
            .lookup(&path)
            .unwrap_or_else(|e| panic!("lookup of {path} fails: {e}"))
            .unwrap_or_else(|| panic!("{path} is missing from the written session"));
        assert_eq!(e.kind, EntryKind::File, "{path} is not the new file");
        assert_eq!(back.read_to_vec(&e).ok(), Some(day), "{path}: wrong bytes");
    }
    let link = back
        .lookup("/cedar-new/link")
        .unwrap_or_else(|e| panic!("lookup of the hard link fails: {e}"))
        .unwrap_or_else(|| panic!("the hard link is missing"));
    assert_eq!(link.size, size, "hard link has the wrong size");
    Ok(count)
}
