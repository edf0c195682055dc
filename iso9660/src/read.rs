//! Reading images back: descriptors, directories, Rock Ridge and file data.
//!
//! Everything here parses bytes from discs that may be damaged or hostile,
//! so every length and address is checked against the volume, every chain
//! and recursion is bounded, and nothing panics or allocates beyond what the
//! [`Limits`] allow.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};

use crate::descriptor::{
    VolumeDescriptor, STANDARD_ID, TYPE_PRIMARY, TYPE_SUPPLEMENTARY, TYPE_TERMINATOR,
};
use crate::error::{Error, Result};
use crate::pathtable::PathRecord;
use crate::record::{DirRecord, FileFlags};
use crate::susp::{sl_join, Entry as Susp, SlComponent, RRIP_IDS};
use crate::tree::Metadata;
use crate::{decode_short_date, SECTOR_SIZE};

const SECTOR: u64 = SECTOR_SIZE as u64;

/// Most sections of one multi-extent file (a 64 TiB file of 4 GiB
/// sections), so a hostile directory cannot make one entry grow without end.
const MAX_SECTIONS: usize = 16_384;

/// Where the reader gets sectors from: an image file, a pipe that can seek,
/// or a drive.
pub trait SectorSource {
    /// Fills `buf` from absolute byte offset `offset`.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

/// A [`SectorSource`] over any `Read + Seek`.
#[derive(Debug)]
pub struct ReadSeekSource<R>(pub R);

impl<R: Read + Seek> SectorSource for ReadSeekSource<R> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.seek(SeekFrom::Start(offset))?;
        self.0.read_exact(buf)
    }
}

/// Bounds that keep a hostile image from making the reader loop, recurse or
/// allocate without end.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest directory nesting followed by [`Reader::walk`].
    pub max_depth: usize,
    /// Most continuation areas followed for one record (Linux: 32).
    pub max_ce_chain: usize,
    /// Largest directory extent read, in bytes.
    pub max_dir_bytes: u64,
    /// Most volume descriptors examined before the terminator.
    pub max_descriptors: u32,
    /// Largest Rock Ridge name or symlink target, in bytes.
    pub max_name: usize,
    /// Most directory bytes one operation ([`Reader::walk`],
    /// [`Reader::read_dir`], [`Reader::lookup`],
    /// [`Tree::import_session`](crate::Tree::import_session)) reads in total.
    pub max_walk_bytes: u64,
    /// Most system use bytes (in records and continuation areas) one
    /// operation parses, so that records sharing one long continuation chain
    /// cannot make it read the chain again and again without end.
    pub max_su_bytes: u64,
    /// Most name and symlink-target bytes one operation decodes in total:
    /// what bounds the memory the entries of a hostile image can take.
    pub max_name_bytes: u64,
    /// Most path bytes one [`Reader::walk`] builds in total (the sum of the
    /// lengths of the paths it hands out).
    pub max_path_bytes: u64,
    /// Most entries one operation decodes: with the name budget, what caps
    /// the memory of an import (about 350 bytes plus twice the name per
    /// entry, so under 450 MiB by default even with 255-byte names).
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 1024,
            max_ce_chain: 32,
            max_dir_bytes: 64 << 20,
            max_descriptors: 64,
            max_name: 65_536,
            max_walk_bytes: 256 << 20,
            max_su_bytes: 256 << 20,
            max_name_bytes: 64 << 20,
            max_path_bytes: 256 << 20,
            max_entries: 500_000,
        }
    }
}

/// Facts about the volume from its primary descriptor.
#[derive(Debug, Clone)]
pub struct Volume {
    /// The decoded primary volume descriptor.
    pub descriptor: VolumeDescriptor,
    /// Block at which the session was opened.
    pub session_start: u32,
    /// ER identifier of the Rock Ridge extension, when SUSP is in use.
    pub rock_ridge: Option<Vec<u8>>,
    /// Whether the root carries an SP entry (SUSP in use).
    pub susp: bool,
    /// The Joliet supplementary descriptor, when there is one.
    pub joliet: Option<VolumeDescriptor>,
    /// The hierarchy being read: Rock Ridge when present, else Joliet when
    /// present, else plain ISO9660 (the Linux kernel's choice).
    pub hierarchy: Hierarchy,
}

/// Which directory hierarchy a [`Reader`] walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    /// The primary hierarchy with Rock Ridge names and attributes.
    RockRidge,
    /// The Joliet hierarchy: UCS-2 names, no POSIX attributes.
    Joliet,
    /// The primary hierarchy with ISO9660 names only.
    Iso9660,
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Directory,
    /// A regular file.
    File,
    /// A symbolic link with its target.
    Symlink(Vec<u8>),
    /// A character device.
    CharDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A block device.
    BlockDevice {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
    /// A socket.
    Socket,
}

/// One directory entry as read from the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name: Rock Ridge NM when present, else the ISO identifier
    /// without its version and trailing dot.
    pub name: Vec<u8>,
    /// The ISO9660 identifier as recorded.
    pub iso_name: Vec<u8>,
    /// Kind.
    pub kind: EntryKind,
    /// Permission bits (`0o7777`), owners and times.
    pub meta: Metadata,
    /// Rock Ridge link count (1 without Rock Ridge).
    pub nlink: u32,
    /// Rock Ridge serial number (inode), if recorded.
    pub serial: Option<u32>,
    /// Data extents as (block, bytes); several for multi-extent files.
    pub extents: Vec<(u32, u32)>,
    /// Total size in bytes.
    pub size: u64,
    /// Absolute byte offset of the entry's (first) directory record, for
    /// messages.
    pub at: u64,
}

/// What one operation has consumed of the [`Limits`], and the
/// continuation areas it has followed: real images never share one between
/// two records, so a shared one is refused, which keeps the system use
/// bytes an operation parses below the size of the image.
#[derive(Debug, Default)]
struct Spent {
    dir_bytes: u64,
    su_bytes: u64,
    name_bytes: u64,
    path_bytes: u64,
    entries: u64,
    areas: HashSet<(u32, u32)>,
    /// Off while peeking into the relocation directory, which the walk
    /// may list again.
    untracked: bool,
}

/// Rock Ridge facts gathered from one record's SUSP entries.
#[derive(Default)]
struct Rr {
    px: Option<(u32, u32, u32, u32, Option<u32>)>,
    pn: Option<(u32, u32)>,
    sl: Vec<SlComponent>,
    sl_len: usize,
    nm: Option<Vec<u8>>,
    tf: Option<crate::susp::Times>,
    cl: Option<u32>,
    re: bool,
    sp: Option<u8>,
    er: Vec<Vec<u8>>,
}

/// What a tolerant walk calls for a directory it cannot list.
type Skipped<'a> = dyn FnMut(&[u8], Error) + 'a;

/// Reads an ISO9660 image (one session of it).
pub struct Reader<S> {
    src: S,
    volume: Volume,
    limits: Limits,
    /// End of the readable volume in blocks (absolute).
    end: u64,
    skip: usize,
    root: Entry,
    spent: Spent,
}

impl<R: Read + Seek> Reader<ReadSeekSource<R>> {
    /// Opens the session that starts at block 0.
    pub fn open(r: R) -> Result<Self> {
        Self::open_at(r, 0)
    }

    /// Opens the session that starts at absolute block `session_start`
    /// (its descriptors are at `session_start + 16`).
    pub fn open_at(r: R, session_start: u32) -> Result<Self> {
        Reader::from_source(ReadSeekSource(r), session_start, Limits::default())
    }
}

impl<S: SectorSource> Reader<S> {
    /// Opens a session of any sector source with explicit limits.
    pub fn from_source(mut src: S, session_start: u32, limits: Limits) -> Result<Self> {
        let mut sector = vec![0u8; SECTOR_SIZE];
        let mut pvd = None;
        let mut joliet = None;
        for i in 0..limits.max_descriptors {
            let lba = u64::from(session_start) + 16 + u64::from(i);
            src.read_at(lba * SECTOR, &mut sector)?;
            if &sector[1..6] != STANDARD_ID {
                return Err(Error::malformed(
                    lba * SECTOR,
                    "no volume descriptor (CD001) where one must be",
                ));
            }
            match sector[0] {
                TYPE_PRIMARY if pvd.is_none() => {
                    pvd = Some(
                        VolumeDescriptor::decode(&sector)
                            .map_err(|w| Error::malformed(lba * SECTOR, w))?,
                    )
                }
                TYPE_SUPPLEMENTARY if joliet.is_none() => {
                    // A damaged supplementary descriptor only costs Joliet.
                    joliet = VolumeDescriptor::decode(&sector)
                        .ok()
                        .filter(|d| d.escapes.starts_with(b"%/"));
                }
                TYPE_TERMINATOR => break,
                _ => {}
            }
        }
        let descriptor = pvd.ok_or_else(|| Error::malformed(0, "no primary volume descriptor"))?;
        // Writers disagree on whether a later session's size is absolute or
        // relative to the session; accept both.
        let size = u64::from(descriptor.volume_space_size);
        let end = size.max(u64::from(session_start) + size);
        let root_rec = descriptor.root.clone();
        let mut reader = Reader {
            src,
            volume: Volume {
                descriptor,
                session_start,
                rock_ridge: None,
                susp: false,
                joliet,
                hierarchy: Hierarchy::Iso9660,
            },
            limits,
            end,
            skip: 0,
            root: Entry {
                name: Vec::new(),
                iso_name: vec![0],
                kind: EntryKind::Directory,
                meta: Metadata::new(0o555, 0, 0, 0),
                nlink: 2,
                serial: None,
                extents: vec![(root_rec.extent, root_rec.size)],
                size: u64::from(root_rec.size),
                at: u64::from(root_rec.extent) * SECTOR,
            },
            spent: Spent::default(),
        };
        reader.check_extent(root_rec.extent, u64::from(root_rec.size))?;
        // The root's own "." record says whether SUSP and Rock Ridge are used.
        let first = reader.first_record(root_rec.extent)?;
        if first.system_use.len() >= 7 && &first.system_use[..2] == b"SP" {
            if let Ok(Some((Susp::Sp { skip }, _))) = Susp::decode(&first.system_use) {
                reader.volume.susp = true;
                let mut rr = reader.parse_su(
                    &first.system_use,
                    u64::from(root_rec.extent) * SECTOR,
                    &first.ident,
                )?;
                reader.volume.rock_ridge = std::mem::take(&mut rr.er)
                    .into_iter()
                    .find(|id| RRIP_IDS.contains(&id.as_slice()))
                    .or_else(|| {
                        // Some writers omit ER; a PX on the root still means Rock Ridge.
                        rr.px.map(|_| b"RRIP_1991A".to_vec())
                    });
                reader.skip = usize::from(skip);
                let mut root =
                    reader.entry_from(&first, rr, u64::from(root_rec.extent) * SECTOR)?;
                root.name.clear();
                root.kind = EntryKind::Directory;
                reader.root = root;
                reader.spent = Spent::default();
            }
        } else {
            reader.root.meta.mtime = decode_short_date(&first.date).unwrap_or(0);
        }
        if reader.volume.rock_ridge.is_some() {
            reader.volume.hierarchy = Hierarchy::RockRidge;
        } else if let Some(j) = reader.volume.joliet.as_ref().map(|j| j.root.clone()) {
            reader.check_extent(j.extent, u64::from(j.size))?;
            reader.volume.hierarchy = Hierarchy::Joliet;
            reader.volume.susp = false;
            reader.root.extents = vec![(j.extent, j.size)];
            reader.root.size = u64::from(j.size);
            reader.root.meta.mtime =
                decode_short_date(&reader.first_record(j.extent)?.date).unwrap_or(0);
        }
        Ok(reader)
    }

    /// Whether one of the operation's budgets ([`Limits`]) is used up.
    fn budget_spent(&self) -> bool {
        let (s, l) = (&self.spent, &self.limits);
        s.dir_bytes >= l.max_walk_bytes
            || s.su_bytes >= l.max_su_bytes
            || s.name_bytes >= l.max_name_bytes
            || s.path_bytes >= l.max_path_bytes
            || s.entries >= l.max_entries
    }

    /// Starts a new operation: its budgets ([`Limits`]) begin at zero.
    pub(crate) fn begin(&mut self) {
        self.spent = Spent::default();
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Volume facts.
    pub fn volume(&self) -> &Volume {
        &self.volume
    }

    /// The root directory.
    pub fn root(&self) -> Entry {
        self.root.clone()
    }

    fn check_extent(&self, lba: u32, bytes: u64) -> Result<()> {
        if u64::from(lba) + bytes.div_ceil(SECTOR) > self.end {
            return Err(Error::malformed(
                u64::from(lba) * SECTOR,
                format!(
                    "extent of {bytes} bytes at block {lba} runs past the volume end (block {})",
                    self.end
                ),
            ));
        }
        Ok(())
    }

    fn first_record(&mut self, lba: u32) -> Result<DirRecord> {
        self.check_extent(lba, SECTOR)?;
        let mut sector = vec![0u8; SECTOR_SIZE];
        let at = u64::from(lba) * SECTOR;
        self.src.read_at(at, &mut sector).map_err(|e| Error::Read {
            at,
            what: format!("the directory at block {lba}"),
            source: e,
        })?;
        DirRecord::decode(&sector).map_err(|w| Error::malformed(at, w))
    }

    /// Charges `n` bytes to one of the operation's budgets.
    fn charge(at: u64, used: &mut u64, n: u64, limit: u64, what: &'static str) -> Result<()> {
        *used = used.saturating_add(n);
        if *used > limit {
            return Err(Error::malformed(
                at,
                format!("{what} add up to more than the reader's limit of {limit} bytes"),
            ));
        }
        Ok(())
    }

    /// Parses a record's system use area, following CE continuations. `at`
    /// and `ident` (the record's position and ISO identifier) go into
    /// messages.
    fn parse_su(&mut self, su: &[u8], at: u64, ident: &[u8]) -> Result<Rr> {
        let mut rr = Rr::default();
        let mut area: Vec<u8> = su.get(self.skip.min(su.len())..).unwrap_or(&[]).to_vec();
        let limit = self.limits.max_su_bytes;
        Self::charge(
            at,
            &mut self.spent.su_bytes,
            area.len() as u64,
            limit,
            "system use areas",
        )?;
        let mut area_at = at;
        let mut seen = HashSet::new();
        let mut hops = 0;
        loop {
            let mut next = None;
            let mut pos = 0;
            while pos < area.len() {
                let (entry, len) = match Susp::decode(&area[pos..]) {
                    Ok(Some(x)) => x,
                    Ok(None) => break,
                    Err(w) => return Err(Error::malformed(area_at + pos as u64, w)),
                };
                pos += len;
                match entry {
                    Susp::St => break,
                    Susp::Ce { block, offset, len } => next = Some((block, offset, len)),
                    other => self.absorb(&mut rr, other, area_at)?,
                }
            }
            let Some((block, offset, len)) = next else {
                break;
            };
            hops += 1;
            if hops > self.limits.max_ce_chain {
                return Err(Error::malformed(area_at, "too many continuation areas"));
            }
            if !seen.insert((block, offset)) {
                return Err(Error::malformed(area_at, "continuation areas form a loop"));
            }
            if !self.spent.untracked && !self.spent.areas.insert((block, offset)) {
                return Err(Error::malformed(
                    area_at,
                    format!(
                        "the continuation area at block {block}, offset {offset} of the record {:?} at byte {at} is shared with another record",
                        String::from_utf8_lossy(ident)
                    ),
                ));
            }
            if len as usize > SECTOR_SIZE || u64::from(offset) >= SECTOR {
                return Err(Error::malformed(
                    area_at,
                    "continuation area larger than a block",
                ));
            }
            let start = u64::from(block) * SECTOR + u64::from(offset);
            if start + u64::from(len) > self.end * SECTOR {
                return Err(Error::malformed(
                    area_at,
                    "continuation area outside the volume",
                ));
            }
            Self::charge(
                at,
                &mut self.spent.su_bytes,
                u64::from(len),
                limit,
                "system use areas",
            )?;
            area.clear();
            area.resize(len as usize, 0);
            self.src.read_at(start, &mut area).map_err(|e| Error::Read {
                at: start,
                what: format!(
                    "continuation area {hops} (block {block}, offset {offset}, {len} bytes) of the record {:?} at byte {at}",
                    String::from_utf8_lossy(ident)
                ),
                source: e,
            })?;
            area_at = start;
        }
        Ok(rr)
    }

    fn absorb(&self, rr: &mut Rr, entry: Susp, at: u64) -> Result<()> {
        let max = self.limits.max_name;
        match entry {
            Susp::Sp { skip } => rr.sp = Some(skip),
            Susp::Er { id, .. } => rr.er.push(id),
            Susp::Px {
                mode,
                nlink,
                uid,
                gid,
                serial,
            } => rr.px = Some((mode, nlink, uid, gid, serial)),
            Susp::Pn { high, low } => rr.pn = Some((high, low)),
            Susp::Sl { components, .. } => {
                rr.sl_len += components
                    .iter()
                    .map(|c| c.content.len() + 1)
                    .sum::<usize>();
                if rr.sl_len > max {
                    return Err(Error::malformed(at, "symlink target too long"));
                }
                rr.sl.extend(components);
            }
            Susp::Nm { flags, name } => {
                let nm = rr.nm.get_or_insert_with(Vec::new);
                if flags & 2 != 0 {
                    nm.extend_from_slice(b".");
                } else if flags & 4 != 0 {
                    nm.extend_from_slice(b"..");
                } else {
                    nm.extend_from_slice(&name);
                }
                if nm.len() > max {
                    return Err(Error::malformed(at, "name too long"));
                }
            }
            Susp::Tf { times, .. } => rr.tf = Some(times),
            Susp::Cl { block } => rr.cl = Some(block),
            Susp::Re => rr.re = true,
            Susp::Ce { .. } | Susp::Pl { .. } | Susp::St | Susp::Other { .. } => {}
        }
        Ok(())
    }

    fn entry_from(&mut self, rec: &DirRecord, rr: Rr, at: u64) -> Result<Entry> {
        let iso_name = rec.ident.clone();
        let name = match rr.nm {
            Some(n) if self.volume.rock_ridge.is_some() => n,
            _ => {
                let mut n = if self.volume.hierarchy == Hierarchy::Joliet {
                    let units: Vec<u16> = iso_name
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    String::from_utf16_lossy(&units).into_bytes()
                } else {
                    iso_name.clone()
                };
                if let Some(i) = n.iter().position(|&c| c == b';') {
                    n.truncate(i);
                }
                if n.last() == Some(&b'.') && !rec.flags.contains(FileFlags::DIRECTORY) {
                    n.pop();
                }
                n
            }
        };
        let is_dir = rec.flags.contains(FileFlags::DIRECTORY) || rr.cl.is_some();
        let date = decode_short_date(&rec.date).unwrap_or(0);
        let times = rr.tf.unwrap_or_default();
        let mtime = times.modify.unwrap_or(date);
        let (mode, nlink, uid, gid, serial) = match rr.px {
            Some(px) => px,
            None if is_dir => (0o040555, 2, 0, 0, None),
            None => (0o100444, 1, 0, 0, None),
        };
        let kind = if is_dir {
            EntryKind::Directory
        } else {
            // Decoded as the Linux kernel does (see the writer's PN).
            let (major, minor) = match rr.pn {
                Some((0, low)) => (low >> 8, low & 0xff),
                Some(hl) => hl,
                None => (0, 0),
            };
            match mode & 0o170000 {
                0o120000 => EntryKind::Symlink(sl_join(&rr.sl)),
                0o020000 => EntryKind::CharDevice { major, minor },
                0o060000 => EntryKind::BlockDevice { major, minor },
                0o010000 => EntryKind::Fifo,
                0o140000 => EntryKind::Socket,
                _ => EntryKind::File,
            }
        };
        let mut extents = vec![(rec.extent, rec.size)];
        let mut size = u64::from(rec.size);
        if let Some(block) = rr.cl {
            // A placeholder for a relocated directory: its real extent and
            // size are in the relocated directory's own "." record.
            let dot = self.first_record(block)?;
            if dot.extent != block {
                return Err(Error::malformed(at, "CL does not point at a directory"));
            }
            extents = vec![(block, dot.size)];
            size = u64::from(dot.size);
        }
        if matches!(kind, EntryKind::File | EntryKind::Directory) {
            self.check_extent(extents[0].0, size)?;
        } else {
            extents.clear();
            size = 0;
        }
        let target = match &kind {
            EntryKind::Symlink(t) => t.len(),
            _ => 0,
        };
        Self::charge(
            at,
            &mut self.spent.name_bytes,
            (name.len() + target) as u64,
            self.limits.max_name_bytes,
            "names and symlink targets",
        )?;
        self.spent.entries += 1;
        if self.spent.entries > self.limits.max_entries {
            return Err(Error::malformed(
                at,
                format!(
                    "more than the reader's limit of {} entries",
                    self.limits.max_entries
                ),
            ));
        }
        Ok(Entry {
            name,
            iso_name,
            kind,
            meta: Metadata {
                mode: mode & 0o7777,
                uid,
                gid,
                mtime,
                atime: times.access.unwrap_or(mtime),
                ctime: times.attributes.unwrap_or(mtime),
            },
            nlink,
            serial,
            extents,
            size,
            at,
        })
    }

    /// Lists a directory (without "." and ".."). Relocated directories appear
    /// where they belong; the relocation directory and records marked RE do
    /// not appear at all. The listing counts against the [`Limits`] alone.
    pub fn read_dir(&mut self, dir: &Entry) -> Result<Vec<Entry>> {
        self.spent = Spent::default();
        let mut out = Vec::new();
        self.list(dir, &mut |e| {
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }

    /// Like [`Reader::read_dir`], but hands each entry to `f` as it is
    /// decoded instead of collecting them, so a large directory costs no
    /// more memory than one entry; counts against the budgets of the
    /// operation in progress.
    pub(crate) fn list(
        &mut self,
        dir: &Entry,
        f: &mut dyn FnMut(Entry) -> Result<()>,
    ) -> Result<()> {
        if dir.kind != EntryKind::Directory {
            return Err(Error::invalid("directory", "entry is not a directory"));
        }
        let Some(&(lba, bytes)) = dir.extents.first() else {
            return Ok(());
        };
        let bytes = u64::from(bytes);
        let dir_at = u64::from(lba) * SECTOR;
        if bytes > self.limits.max_dir_bytes {
            return Err(Error::malformed(
                dir_at,
                "directory larger than the reader's limit",
            ));
        }
        self.check_extent(lba, bytes)?;
        Self::charge(
            dir_at,
            &mut self.spent.dir_bytes,
            bytes,
            self.limits.max_walk_bytes,
            "directories",
        )?;
        let is_root = dir.extents == self.root.extents;
        let mut pending: Option<Entry> = None;
        let mut sector = vec![0u8; SECTOR_SIZE];
        for s in 0..bytes.div_ceil(SECTOR) {
            let base = (u64::from(lba) + s) * SECTOR;
            self.src
                .read_at(base, &mut sector)
                .map_err(|e| Error::Read {
                    at: base,
                    what: format!("block {s} of the directory at block {lba}"),
                    source: e,
                })?;
            let limit = (bytes - s * SECTOR).min(SECTOR) as usize;
            let mut pos = 0;
            while pos < limit {
                if sector[pos] == 0 {
                    break;
                }
                let rec = DirRecord::decode(&sector[pos..limit])
                    .map_err(|w| Error::malformed(base + pos as u64, w))?;
                let at = base + pos as u64;
                pos += usize::from(sector[pos]);
                if rec.ident == [0] || rec.ident == [1] {
                    continue;
                }
                // Later sections of a multi-extent file only add extents;
                // their system use (a copy of the first's) is not parsed.
                let continues = pending.as_ref().is_some_and(|p| p.iso_name == rec.ident);
                let rr = if self.volume.susp && !continues {
                    self.parse_su(&rec.system_use, at, &rec.ident)?
                } else {
                    Rr::default()
                };
                if rr.re {
                    continue;
                }
                let multi = rec.flags.contains(FileFlags::MULTI_EXTENT);
                match pending.take() {
                    Some(mut first) => {
                        if first.iso_name != rec.ident {
                            return Err(Error::malformed(
                                at,
                                "multi-extent file ends without its last section",
                            ));
                        }
                        self.check_extent(rec.extent, u64::from(rec.size))?;
                        if first.extents.len() >= MAX_SECTIONS {
                            return Err(Error::malformed(
                                at,
                                "multi-extent file with too many sections",
                            ));
                        }
                        first.extents.push((rec.extent, rec.size));
                        first.size += u64::from(rec.size);
                        if multi {
                            pending = Some(first);
                        } else {
                            f(first)?;
                        }
                    }
                    None => {
                        let entry = self.entry_from(&rec, rr, at)?;
                        if let Some(why) = path_component_problem(&entry.name) {
                            return Err(Error::malformed(
                                at,
                                format!(
                                    "the directory record named {:?}: {why}",
                                    String::from_utf8_lossy(&entry.name)
                                ),
                            ));
                        }
                        if multi && entry.kind == EntryKind::File {
                            pending = Some(entry);
                        } else if is_root && self.is_hidden_relocation_dir(&entry)? {
                            continue;
                        } else {
                            f(entry)?;
                        }
                    }
                }
            }
        }
        if pending.is_some() {
            return Err(Error::malformed(
                dir_at,
                "directory ends inside a multi-extent file",
            ));
        }
        Ok(())
    }

    /// Writers other than this crate leave the relocation directory visible;
    /// like libarchive, hide it when everything in it is relocated (RE).
    fn is_hidden_relocation_dir(&mut self, e: &Entry) -> Result<bool> {
        if self.volume.rock_ridge.is_none()
            || e.kind != EntryKind::Directory
            || !matches!(e.name.as_slice(), b"rr_moved" | b".rr_moved")
            || e.extents == self.root.extents
        {
            return Ok(false);
        }
        // Its listing already drops RE records; empty means all were.
        let mut visible = 0usize;
        let was = std::mem::replace(&mut self.spent.untracked, true);
        let listed = self.list(e, &mut |_| {
            visible += 1;
            Ok(())
        });
        self.spent.untracked = was;
        listed?;
        Ok(visible == 0)
    }

    /// Reads and checks the type L path table: every record inside the
    /// table, the first one the root, every parent an earlier directory.
    /// The type M table must say the same.
    pub fn path_table(&mut self) -> Result<Vec<PathRecord>> {
        let d = &self.volume.descriptor;
        let (size, l, m) = (u64::from(d.path_table_size), d.l_path_table, d.m_path_table);
        if size > self.limits.max_dir_bytes {
            return Err(Error::malformed(
                u64::from(l) * SECTOR,
                "path table larger than the reader's limit",
            ));
        }
        let mut tables = Vec::with_capacity(2);
        for (lba, big_endian) in [(l, false), (m, true)] {
            self.check_extent(lba, size)?;
            let mut bytes = vec![0u8; size as usize];
            self.src.read_at(u64::from(lba) * SECTOR, &mut bytes)?;
            let mut records = Vec::new();
            let mut pos = 0;
            while pos < bytes.len() {
                let at = u64::from(lba) * SECTOR + pos as u64;
                let rec = PathRecord::decode(&bytes[pos..], big_endian)
                    .filter(|r| !r.ident.is_empty())
                    .ok_or_else(|| Error::malformed(at, "truncated path table record"))?;
                let parent = usize::from(rec.parent);
                if parent == 0
                    || parent > records.len().max(1)
                    || (records.is_empty() && rec.ident != [0])
                {
                    return Err(Error::malformed(
                        at,
                        "path table record with an impossible parent",
                    ));
                }
                pos += rec.len();
                records.push(rec);
            }
            tables.push(records);
        }
        let m_table = tables.pop().unwrap_or_default();
        let l_table = tables.pop().unwrap_or_default();
        if l_table != m_table {
            return Err(Error::malformed(
                u64::from(m) * SECTOR,
                "type L and type M path tables differ",
            ));
        }
        Ok(l_table)
    }

    /// Visits every entry below the root depth-first, calling `f` with the
    /// slash-separated path and the entry. Fails on directory loops,
    /// directories sharing blocks, or nesting deeper than the limits allow.
    pub fn walk(&mut self, mut f: impl FnMut(&[u8], &Entry) -> Result<()>) -> Result<()> {
        self.walk_inner(&mut f, None)
    }

    /// [`walk`](Self::walk) over a damaged volume: a directory that cannot
    /// be listed (an unreadable block, a malformed record, a loop, nesting
    /// or budgets past the limits) is given to `skipped` with its path and
    /// the error, and the walk goes on with the others. Entries of that
    /// directory read before the error have already been visited. Only an
    /// error `f` returns, or one at the root, ends the walk.
    pub fn walk_tolerant(
        &mut self,
        mut f: impl FnMut(&[u8], &Entry) -> Result<()>,
        mut skipped: impl FnMut(&[u8], Error),
    ) -> Result<()> {
        self.walk_inner(&mut f, Some(&mut skipped))
    }

    fn walk_inner(
        &mut self,
        f: &mut dyn FnMut(&[u8], &Entry) -> Result<()>,
        mut skipped: Option<&mut Skipped<'_>>,
    ) -> Result<()> {
        self.spent = Spent::default();
        let root = self.root();
        let mut blocks = DirBlocks::new(&self.limits);
        blocks.claim(&root)?;
        let mut stack: Vec<(Vec<u8>, Entry, usize)> = vec![(Vec::new(), root, 0)];
        let max_path = self.limits.max_path_bytes;
        let tolerant = skipped.is_some();
        while let Some((path, dir, depth)) = stack.pop() {
            if depth >= self.limits.max_depth {
                let e = Error::malformed(dir.at, "directories nested deeper than the limit");
                match skipped.as_mut() {
                    Some(skip) => {
                        skip(&path, e);
                        continue;
                    }
                    None => return Err(e),
                }
            }
            let mut spent_paths = self.spent.path_bytes;
            // An error of `f` ends the walk even when tolerant.
            let mut from_f = None;
            let mut children = Vec::new();
            let result = self.list(&dir, &mut |entry| {
                let mut p = path.clone();
                p.push(b'/');
                p.extend_from_slice(&entry.name);
                Self::charge(
                    entry.at,
                    &mut spent_paths,
                    p.len() as u64,
                    max_path,
                    "paths",
                )?;
                if entry.kind == EntryKind::Directory {
                    if let Err(e) = blocks.claim(&entry) {
                        if !tolerant {
                            return Err(e);
                        }
                        children.push((p, entry, Err(e)));
                        return Ok(());
                    }
                }
                if let Err(e) = f(&p, &entry) {
                    from_f = Some(());
                    return Err(e);
                }
                if entry.kind == EntryKind::Directory {
                    children.push((p, entry, Ok(())));
                }
                Ok(())
            });
            self.spent.path_bytes = spent_paths;
            for (p, entry, claimed) in children {
                match claimed {
                    Ok(()) => stack.push((p, entry, depth + 1)),
                    Err(e) => {
                        if let Some(skip) = skipped.as_mut() {
                            skip(&p, e);
                        }
                    }
                }
            }
            match (result, skipped.as_mut()) {
                (Ok(()), _) => {}
                // A spent budget is the operation's, not the directory's:
                // every directory after would fail the same way.
                (Err(e), Some(skip)) if from_f.is_none() && depth > 0 && !self.budget_spent() => {
                    skip(&path, e)
                }
                (Err(e), _) => return Err(e),
            }
        }
        Ok(())
    }

    /// Finds an entry by slash-separated path, as bytes (Rock Ridge names
    /// when present; a `&str` does too).
    pub fn lookup(&mut self, path: impl AsRef<[u8]>) -> Result<Option<Entry>> {
        self.spent = Spent::default();
        let mut cur = self.root();
        for comp in path
            .as_ref()
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
        {
            if cur.kind != EntryKind::Directory {
                return Ok(None);
            }
            let mut found = None;
            self.list(&cur, &mut |e| {
                if found.is_none() && e.name == comp {
                    found = Some(e);
                }
                Ok(())
            })?;
            match found {
                Some(e) => cur = e,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// A reader over a file's bytes (all its extents in order).
    pub fn open_file(&mut self, entry: &Entry) -> Result<FileReader<'_, S>> {
        for &(lba, len) in &entry.extents {
            self.check_extent(lba, u64::from(len))?;
        }
        Ok(FileReader {
            reader: self,
            extents: entry.extents.clone(),
            index: 0,
            offset: 0,
        })
    }

    /// Reads a whole file into memory, growing the buffer as data arrives
    /// rather than trusting the recorded size.
    pub fn read_to_vec(&mut self, entry: &Entry) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open_file(entry)?.read_to_end(&mut out)?;
        Ok(out)
    }
}

/// The directory blocks one walk has entered. A directory whose blocks
/// another directory already covered is a loop or an overlap: real images
/// never share directory blocks, and refusing it keeps a walk linear in the
/// image's size. What a directory claims is bounded before its blocks are
/// recorded (no larger than [`Limits::max_dir_bytes`], all of them together
/// no more than twice [`Limits::max_walk_bytes`]), so a hostile size costs
/// neither time nor memory.
pub(crate) struct DirBlocks {
    blocks: HashSet<u32>,
    claimed: u64,
    max_dir: u64,
    max_all: u64,
}

impl DirBlocks {
    /// An empty set under `limits`.
    pub(crate) fn new(limits: &Limits) -> Self {
        DirBlocks {
            blocks: HashSet::new(),
            claimed: 0,
            max_dir: limits.max_dir_bytes,
            // Twice what a walk reads: the read budget speaks first for
            // directories that are listed; this bounds those only claimed.
            max_all: limits.max_walk_bytes.saturating_mul(2),
        }
    }

    pub(crate) fn claim(&mut self, dir: &Entry) -> Result<()> {
        let Some(&(lba, bytes)) = dir.extents.first() else {
            return Ok(());
        };
        let n = u64::from(bytes).div_ceil(SECTOR).max(1);
        let at = u64::from(lba) * SECTOR;
        if u64::from(bytes) > self.max_dir {
            return Err(Error::malformed(at, "a directory larger than the limit"));
        }
        let claimed = self.claimed.saturating_add(n * SECTOR);
        if claimed > self.max_all {
            return Err(Error::malformed(
                at,
                "directories larger in all than the limit",
            ));
        }
        self.claimed = claimed;
        for b in 0..n {
            let block = lba.saturating_add(b as u32);
            if !self.blocks.insert(block) {
                let why = if b == 0 {
                    "directory loop: a directory is entered twice"
                } else {
                    "directory extents overlap"
                };
                return Err(Error::malformed(u64::from(block) * SECTOR, why));
            }
        }
        Ok(())
    }
}

/// Reads one file's data; see [`Reader::open_file`].
pub struct FileReader<'a, S> {
    reader: &'a mut Reader<S>,
    extents: Vec<(u32, u32)>,
    index: usize,
    offset: u32,
}

impl<S: SectorSource> Read for FileReader<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(&(lba, len)) = self.extents.get(self.index) {
            if self.offset >= len {
                self.index += 1;
                self.offset = 0;
                continue;
            }
            let n = ((len - self.offset) as usize).min(buf.len()).min(1 << 20);
            let at = u64::from(lba) * SECTOR + u64::from(self.offset);
            self.reader.src.read_at(at, &mut buf[..n])?;
            self.offset += n as u32;
            return Ok(n);
        }
        Ok(0)
    }
}

/// The limits the fuzz targets and mutation tests read with: small enough
/// that any input is done within the targets' 512 MiB and 5 s.
#[doc(hidden)]
pub fn fuzz_limits() -> Limits {
    Limits {
        max_depth: 64,
        max_dir_bytes: 1 << 20,
        max_walk_bytes: 16 << 20,
        max_su_bytes: 16 << 20,
        max_name_bytes: 8 << 20,
        max_path_bytes: 16 << 20,
        max_entries: 100_000,
        ..Limits::default()
    }
}

/// Opens `image`, walks every directory and reads every file, with small
/// limits; returns the first error. This is the entry point the fuzz target
/// and the mutation tests drive: it must return, never panic or hang,
/// whatever the bytes are.
#[doc(hidden)]
pub fn exercise(image: &[u8]) -> Result<u64> {
    let mut reader = Reader::from_source(ReadSeekSource(io::Cursor::new(image)), 0, fuzz_limits())?;
    let dirs = reader.path_table().map_or(0, |t| t.len() as u64);
    let mut files: Vec<Vec<(u32, u32)>> = Vec::new();
    // The tolerant walk goes on where the strict one stops: it must be as
    // bounded on the same image.
    let mut skipped = 0u64;
    let tolerant = reader.walk_tolerant(|_, _| Ok(()), |_, _| skipped += 1);
    if tolerant.is_ok() && skipped > 0 && reader.walk(|_, _| Ok(())).is_ok() {
        return Err(Error::malformed(
            0,
            "the tolerant walk skipped what the strict one read",
        ));
    }
    let mut count = 0u64;
    reader.walk(|_, e| {
        count += 1;
        if e.kind == EntryKind::File && files.len() < 10_000 {
            files.push(e.extents.clone());
        }
        Ok(())
    })?;
    let mut bytes = 0u64;
    let mut buf = [0u8; 4096];
    for extents in files {
        // Files may share extents; reading one image's worth of data many
        // times over proves nothing more.
        if bytes > 64 << 20 {
            break;
        }
        let entry = Entry {
            name: Vec::new(),
            iso_name: Vec::new(),
            kind: EntryKind::File,
            meta: Metadata::default(),
            nlink: 1,
            serial: None,
            size: extents.iter().map(|e| u64::from(e.1)).sum(),
            extents,
            at: 0,
        };
        let mut r = reader.open_file(&entry)?;
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
        }
    }
    Ok(count + bytes + dirs)
}

/// Why `name` (a Rock Ridge NM, a Joliet or an ISO name) cannot be one
/// component of a path, if it cannot: a reader joining names into paths
/// must never be handed one that climbs out or splits in two.
fn path_component_problem(name: &[u8]) -> Option<&'static str> {
    match name {
        b"" => Some("the name is empty"),
        b"." => Some(r#"the name is ".""#),
        b".." => Some(r#"the name is "..""#),
        _ if name.contains(&b'/') => Some("the name contains '/'"),
        _ if name.contains(&0) => Some("the name contains a NUL byte"),
        _ => None,
    }
}
