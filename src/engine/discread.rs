//! Reading a finished disc back years later, for `cback verify` and
//! `cback restore`: the disc in a drive (or an image file), its sessions,
//! the days they hold (merged, the newest session winning), each day's
//! [`manifest`](crate::engine::manifest), and one sequential scan of the
//! whole written area that hashes every file on the way and retries
//! unreadable blocks one by one ([`scan`](crate::engine::scan)).
//!
//! A day is a directory `YYYY/MM/DD` at the top of a session, as Cedar and
//! cedar write them.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use iso9660::{Entry, EntryKind, Limits, ReadSeekSource, Reader, SectorSource};
use mmc::{Drive, MediaState};

use crate::engine::disc::{
    extent_end, least_volume_end, primary_descriptor, read_primary_descriptor, tree_fit,
    volume_end, DiscError, DiscSource, ImageBlocks, ReadBlocks, TreeFit,
};
use crate::engine::manifest::{Manifest, MANIFEST_NAME};
pub use crate::engine::scan::{
    default_threads, scan, FileCheck, Scan, ScanProgress, RETRIES, SCAN_CHUNK,
};
use crate::engine::util::error_line;

const BLOCK: u64 = mmc::BLOCK_SIZE as u64;

/// Why a disc could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The device or image could not be opened or queried.
    #[error("{device}: {why}")]
    Open {
        /// The device string or image path.
        device: String,
        /// What failed.
        why: String,
    },
    /// No session holds an ISO9660 volume.
    #[error("{0}: no ISO9660 volume on the disc")]
    NoVolume(String),
    /// A session's directory tree could not be read.
    #[error("{device}: session at block {start}")]
    Tree {
        /// The device.
        device: String,
        /// Session start.
        start: u32,
        /// What the reader said.
        #[source]
        source: iso9660::Error,
    },
}

/// A disc to read: a drive or an image file.
#[derive(Debug)]
pub enum Medium {
    /// A real or emulated drive.
    Drive(Box<Drive>),
    /// An image file (`cback mkisofs` output, a copy of a disc).
    Image {
        /// The open image.
        file: File,
        /// Its path as given.
        path: String,
    },
}

/// Reading through a [`Medium`] as the image reader's sector source.
pub enum MediumSource<'a> {
    /// Through the drive, with read-ahead.
    Drive(DiscSource<'a>),
    /// From the image file.
    Image(ReadSeekSource<&'a File>),
}

impl SectorSource for MediumSource<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        match self {
            MediumSource::Drive(d) => d.read_at(offset, buf),
            MediumSource::Image(f) => f.read_at(offset, buf),
        }
    }
}

impl ReadBlocks for Medium {
    fn name(&self) -> &str {
        match self {
            Medium::Drive(d) => d.name(),
            Medium::Image { path, .. } => path,
        }
    }

    fn read_blocks(&mut self, lba: u32, buf: &mut [u8]) -> Result<(), DiscError> {
        match self {
            Medium::Drive(d) => ReadBlocks::read_blocks(&mut **d, lba, buf),
            Medium::Image { file, path } => ImageBlocks { file, name: path }.read_blocks(lba, buf),
        }
    }
}

impl Medium {
    /// Opens `device`: a path to an existing regular file is an image,
    /// anything else a drive (`/dev/sr0`, `emulated:PATH?...`).
    pub fn open(device: &str) -> Result<Medium, ReadError> {
        let err = |why: String| ReadError::Open {
            device: device.to_string(),
            why,
        };
        let p = Path::new(device);
        if !device.starts_with(mmc::emulator::PREFIX) && p.is_file() {
            return File::open(p)
                .map(|file| Medium::Image {
                    file,
                    path: device.to_string(),
                })
                .map_err(|e| err(error_line(&e)));
        }
        let mut d = Drive::open(device).map_err(|e| err(error_line(&e)))?;
        if !d.medium_present().map_err(|e| err(error_line(&e)))? {
            return Err(err("no medium in the drive".into()));
        }
        Ok(Medium::Drive(Box::new(d)))
    }

    /// The image reader's source over this medium.
    pub fn source(&mut self) -> MediumSource<'_> {
        match self {
            Medium::Drive(d) => MediumSource::Drive(DiscSource::new(d)),
            Medium::Image { file, .. } => MediumSource::Image(ReadSeekSource(&*file)),
        }
    }

    /// Reads whole blocks from `lba` ([`ReadBlocks::read_blocks`], the
    /// error as one line).
    pub fn read_blocks(&mut self, lba: u32, buf: &mut [u8]) -> Result<(), String> {
        ReadBlocks::read_blocks(self, lba, buf).map_err(|e| error_line(&e))
    }

    /// Whether the sessions come from a drive's record of what was written
    /// (a drive, or an image the emulated drive keeps a state file for)
    /// rather than from the volumes found in an image file.
    pub fn drive_sessions(&self) -> bool {
        match self {
            Medium::Drive(_) => true,
            Medium::Image { path, .. } => mmc::emulator::state_path(Path::new(path)).is_file(),
        }
    }

    /// Where sessions start, each with the end of what is recorded there:
    /// each track on a write-once disc; block 0 on overwritable media, up
    /// to the end of the volume LBA 16 describes (it leads to the newest
    /// session, which carries every earlier day); an image file's sessions
    /// as [`image_sessions`] finds them.
    pub fn session_starts(&mut self) -> Result<Vec<(u32, u32)>, ReadError> {
        match self {
            Medium::Drive(d) => drive_sessions(d),
            Medium::Image { file, path } => Ok(image_sessions(file, path)),
        }
    }
}

/// The sessions of the disc in `drive`, as [`Medium::session_starts`]
/// gives them, from what the drive reports (READ DISC INFORMATION, READ
/// TRACK INFORMATION, the volume at LBA 16 of overwritable media).
fn drive_sessions(d: &mut Drive) -> Result<Vec<(u32, u32)>, ReadError> {
    let err = |d: &Drive, why: String| ReadError::Open {
        device: d.name().to_string(),
        why,
    };
    let info = d.medium_info().map_err(|e| err(d, error_line(&e)))?;
    if info.state == MediaState::Blank {
        return Ok(Vec::new());
    }
    if info.profile.is_some_and(|p| p.overwritable()) {
        let end = match read_primary_descriptor(d, 0) {
            Ok(Some(v)) => volume_end(0, v.volume_space_size, info.capacity),
            Ok(None) => info.capacity,
            Err(e) => return Err(err(d, error_line(&e))),
        };
        return Ok(vec![(0, end)]);
    }
    let di = d.disc_information().map_err(|e| err(d, error_line(&e)))?;
    let mut starts = Vec::new();
    for t in 1..=u32::from(di.last_track_last_session) {
        let ti = d.track_information(t).map_err(|e| err(d, error_line(&e)))?;
        if !ti.blank && ti.size > 0 {
            let end = ti.last_recorded.map_or(ti.start + ti.size, |l| l + 1);
            starts.push((ti.start, end));
        }
    }
    Ok(starts)
}

/// The sessions of an image file, as [`Medium::session_starts`] gives
/// them. An image the emulated drive wrote (its state file `IMAGE.state`
/// beside it) is asked of the emulated drive itself, as the disc in a drive
/// is. Without one (a copy of the image, `cback mkisofs` sessions laid at
/// their `-C` addresses, an overwritable image that xorriso or growisofs
/// grew), or when that drive cannot be opened: the session at block 0, then
/// each volume found after the one before, by its primary volume descriptor
/// 16 blocks into the session (a later session starts where the earlier
/// volume ends, or after a gap of unwritten blocks); each ends where its
/// volume does ([`volume_end`]), bounded by the next session's start or the
/// image's end.
pub fn image_sessions(image: &File, path: &str) -> Vec<(u32, u32)> {
    if mmc::emulator::state_path(Path::new(path)).is_file() {
        let spec = format!("{}{path}", mmc::emulator::PREFIX);
        match Drive::open(&spec)
            .map_err(|e| error_line(&e))
            .and_then(|mut d| drive_sessions(&mut d).map_err(|e| error_line(&e)))
        {
            Ok(s) => return s,
            Err(e) => log::warn!("{e}: finding the sessions from the volumes instead"),
        }
    }
    let blocks = image
        .metadata()
        .map_or(0, |m| u32::try_from(m.len() / BLOCK).unwrap_or(u32::MAX));
    let mut disc = ImageBlocks {
        file: image,
        name: path,
    };
    let mut found = match read_primary_descriptor(&mut disc, 0) {
        Ok(Some(d)) => vec![(0, d.volume_space_size)],
        _ => return vec![(0, blocks)],
    };
    while let Some(&(start, size)) = found.last() {
        match next_volume(&mut disc, least_volume_end(start, size), blocks) {
            Some(next) => found.push(next),
            None => break,
        }
    }
    let bounds: Vec<u32> = found
        .iter()
        .skip(1)
        .map(|&(s, _)| s)
        .chain([blocks])
        .collect();
    found
        .iter()
        .zip(bounds)
        .map(|(&(start, size), bound)| (start, volume_end(start, size, bound).min(bound)))
        .collect()
}

/// The first session starting at or after `from` before block `blocks`: its
/// start and volume space size. A session is a primary descriptor 16 blocks
/// into it whose root directory lies inside its volume (a copy of an image
/// stored as a file has its own root far below), its volume reaching past
/// the descriptor.
fn next_volume(disc: &mut ImageBlocks, from: u32, blocks: u32) -> Option<(u32, u32)> {
    let mut buf = vec![0u8; 512 * mmc::BLOCK_SIZE];
    let mut lba = from.checked_add(16)?;
    while lba < blocks {
        let n = 512.min(blocks - lba);
        let chunk = &mut buf[..n as usize * mmc::BLOCK_SIZE];
        disc.read_blocks(lba, chunk).ok()?;
        for (i, b) in chunk.chunks(mmc::BLOCK_SIZE).enumerate() {
            let at = lba + i as u32;
            if let Ok(Some(d)) = primary_descriptor(b) {
                let start = at - 16;
                let end = volume_end(start, d.volume_space_size, blocks);
                if end > at && (at..end).contains(&d.root.extent) {
                    return Some((start, d.volume_space_size));
                }
            }
        }
        lba += n;
    }
    None
}

/// A file of a day, as recorded in the newest session holding the day.
#[derive(Debug, Clone)]
pub struct DayFile {
    /// Path below the day directory.
    pub path: Vec<u8>,
    /// The entry (extents, size, metadata).
    pub entry: Entry,
}

/// One day on the disc.
#[derive(Debug, Clone)]
pub struct Day {
    /// `YYYY/MM/DD`.
    pub disc_path: String,
    /// Start of the newest session holding it.
    pub session: u32,
    /// Every entry below the day directory (directories, files, links),
    /// by path below the day.
    pub entries: BTreeMap<Vec<u8>, Entry>,
    /// The day's manifest: None when there is none (a Cedar-written day);
    /// `Some(Err)` when it is there but cannot be read or is damaged.
    pub manifest: Option<Result<Manifest, String>>,
    /// A directory below the day could not be listed in its session (see
    /// [`Contents::damage`]): its entries are incomplete. An older session
    /// holding the day whole is read instead when there is one.
    pub damaged: bool,
    /// The day was read from this session but a newer one, whose tree is
    /// damaged on the day's path (see [`Contents::damage`]), may have held
    /// a newer copy of it: the start of that newer session.
    pub newer_damaged: Option<u32>,
}

impl Day {
    /// The day as `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        self.disc_path.replace('/', "-")
    }

    /// Regular files of the day, the manifest left out.
    pub fn files(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.entries
            .iter()
            .filter(|(p, e)| e.kind == EntryKind::File && p.as_slice() != MANIFEST_NAME.as_bytes())
            .map(|(p, e)| (p.as_slice(), e))
    }

    /// Top-level directories of the day (the peers).
    pub fn peers(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(p, e)| e.kind == EntryKind::Directory && !p.contains(&b'/'))
            .map(|(p, _)| String::from_utf8_lossy(p).into_owned())
            .collect()
    }
}

/// What the disc holds: sessions and days.
#[derive(Debug, Default)]
pub struct Contents {
    /// Session starts with their volume labels.
    pub sessions: Vec<(u32, String)>,
    /// Days, newest session winning, by disc path.
    pub days: BTreeMap<String, Day>,
    /// Last block of the written area + 1 (the largest volume end).
    pub end: u32,
    /// The recorded block ranges `[first, end)` to scan, one per session
    /// ([`Medium::session_starts`]): each track of a write-once disc (the
    /// gaps between sessions hold nothing), `0..` the volume end LBA 16
    /// records on overwritable media.
    pub recorded: Vec<(u32, u32)>,
    /// Damage found while reading the trees: sessions whose volume cannot
    /// be read, directories that cannot be listed, manifests found outside
    /// any day directory.
    pub damage: Vec<TreeDamage>,
    /// Sessions passed over as an interrupted write closed later, with
    /// why: nothing recorded where their descriptors go, or a volume that
    /// claims more blocks than were recorded.
    pub interrupted: Vec<(u32, String)>,
}

impl Contents {
    /// Damage to the session at `start` as a whole (its volume, its tree).
    fn volume_damage(&mut self, start: u32, why: String) {
        self.damage.push(TreeDamage {
            session: start,
            path: "/".into(),
            why,
        });
    }
}

/// Something wrong with a session's tree, found while reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeDamage {
    /// Start of the session it was found in.
    pub session: u32,
    /// The path on the disc (`/` for the session's volume itself).
    pub path: String,
    /// What is wrong.
    pub why: String,
}

fn is_day(path: &[u8]) -> bool {
    let s = String::from_utf8_lossy(path);
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() == 3
        && [4, 2, 2]
            .iter()
            .zip(&parts)
            .all(|(&n, p)| p.len() == n && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads every session's tree (`only`: just the session at that block).
pub fn contents(
    medium: &mut Medium,
    device: &str,
    only: Option<u32>,
) -> Result<Contents, ReadError> {
    let mut starts = medium.session_starts()?;
    // What to scan: every session's recording; with `only`, the sessions
    // up to it (the days it carries keep their files' blocks there).
    let mut recorded = starts.clone();
    if let Some(s) = only {
        recorded.retain(|&(t, _)| t <= s);
        starts.retain(|&(t, _)| t == s);
        if starts.is_empty() {
            // Not where a session of the disc starts: bounded by the end of
            // what is recorded.
            let bound = recorded.last().map_or(u32::MAX, |&(_, e)| e);
            starts.push((s, bound));
            if !recorded.iter().any(|&(a, e)| (a..e).contains(&s)) {
                recorded.push((s, bound.max(s)));
            }
        }
    }
    let last_start = starts.last().map(|&(s, _)| s);
    let from_drive = medium.drive_sessions();
    // Days whose manifest a session holds under a decayed directory name.
    let mut hidden: Vec<(String, u32)> = Vec::new();
    let mut c = Contents {
        recorded,
        ..Contents::default()
    };
    for (start, recorded_end) in starts {
        // An image file's last session cut short is a truncated copy.
        let copy = Some(start) == last_start && !from_drive;
        let tree_err = |source| ReadError::Tree {
            device: device.to_string(),
            start,
            source,
        };
        if only.is_none() {
            if let Some(why) = interrupted_session(medium, start, recorded_end) {
                if cut_short(&mut c, device, start, why, copy) {
                    continue;
                }
            }
        }
        let mut reader = match Reader::from_source(medium.source(), start, Limits::default()) {
            Ok(r) => r,
            // A session without a readable volume (an interrupted write
            // was passed over above) holds no days and is damage.
            Err(e) if only.is_none() => {
                c.volume_damage(
                    start,
                    format!("its volume cannot be read: {}", error_line(&e)),
                );
                continue;
            }
            Err(e) => return Err(tree_err(e)),
        };
        let vol = reader.volume().descriptor.clone();
        c.end = c
            .end
            .max(volume_end(start, vol.volume_space_size, recorded_end));
        c.sessions.push((start, vol.volume_id.trim().to_string()));
        let mut found: BTreeMap<String, BTreeMap<Vec<u8>, Entry>> = BTreeMap::new();
        // Manifests outside any day directory (a day's name decayed), and
        // the entries beside them (to bound their size as a day's).
        let mut strays: Vec<(Vec<u8>, Entry)> = Vec::new();
        let mut odd: BTreeMap<Vec<u8>, Entry> = BTreeMap::new();
        let mut skipped: Vec<(Vec<u8>, String)> = Vec::new();
        // The block after the last one the tree refers to.
        let mut last = u64::from(start);
        for &(lba, bytes) in &reader.root().extents {
            last = last.max(extent_end(lba, bytes));
        }
        let walked = reader.walk_tolerant(
            |path, entry| {
                for &(lba, bytes) in &entry.extents {
                    last = last.max(extent_end(lba, bytes));
                }
                let rel = path.strip_prefix(b"/").unwrap_or(path);
                if rel.len() > 11 && is_day(&rel[..10]) && rel[10] == b'/' {
                    let day = String::from_utf8_lossy(&rel[..10]).into_owned();
                    found
                        .entry(day)
                        .or_default()
                        .insert(rel[11..].to_vec(), entry.clone());
                } else if is_day(rel) && entry.kind == EntryKind::Directory {
                    found
                        .entry(String::from_utf8_lossy(rel).into_owned())
                        .or_default();
                } else if rel.split(|&b| b == b'/').count() >= 4 {
                    if rel.split(|&b| b == b'/').count() == 4
                        && rel.rsplit(|&b| b == b'/').next() == Some(MANIFEST_NAME.as_bytes())
                        && entry.kind == EntryKind::File
                    {
                        strays.push((path.to_vec(), entry.clone()));
                    }
                    odd.insert(rel.to_vec(), entry.clone());
                }
                Ok(())
            },
            |path, e| skipped.push((path.to_vec(), error_line(&e))),
        );
        match walked {
            Ok(()) => {}
            // The root itself cannot be listed, or the walk spent one of
            // the reader's budgets (a hostile or enormous tree): the session
            // holds nothing that can be read whole; the others still can.
            Err(e) if only.is_none() => {
                c.volume_damage(
                    start,
                    format!("its tree cannot be read: {}", error_line(&e)),
                );
                continue;
            }
            Err(e) => return Err(tree_err(e)),
        }
        // A size that fits only read as absolute: the tree says whether
        // this is cedar's session recorded whole, another writer's cut
        // short (passed over, as store's placement passes it over), or a
        // damaged tree.
        let size = vol.volume_space_size;
        if start.saturating_add(size) > recorded_end && only.is_none() {
            match tree_fit(last, start, size, recorded_end) {
                TreeFit::Whole => {}
                TreeFit::CutShort => {
                    let why = format!(
                        "its tree refers to blocks up to {last}, recorded up to {recorded_end}"
                    );
                    if cut_short(&mut c, device, start, why, copy) {
                        c.sessions.retain(|&(s, _)| s != start);
                        continue;
                    }
                }
                TreeFit::Damaged => c.volume_damage(
                    start,
                    format!(
                        "its tree refers to blocks up to {last}, past the {recorded_end} recorded"
                    ),
                ),
            }
        }
        // Days with a directory that could not be listed: the day's own
        // directory or one below it (not a sibling sharing its prefix).
        let damaged_days: Vec<String> = skipped
            .iter()
            .filter_map(|(p, _)| {
                let rel = p.strip_prefix(b"/").unwrap_or(p);
                (rel.len() >= 10 && is_day(&rel[..10]) && rel.get(10).is_none_or(|&b| b == b'/'))
                    .then(|| String::from_utf8_lossy(&rel[..10]).into_owned())
            })
            .collect();
        for (path, why) in skipped {
            c.damage.push(TreeDamage {
                session: start,
                path: String::from_utf8_lossy(&path).into_owned(),
                why: format!("the directory cannot be read: {why}"),
            });
        }
        for (path, e) in strays {
            let rel = path.strip_prefix(b"/").unwrap_or(&path);
            // The directory holding it, with its '/'.
            let dir = &rel[..rel.len() - MANIFEST_NAME.len()];
            let beside: BTreeMap<Vec<u8>, Entry> = odd
                .range(dir.to_vec()..)
                .take_while(|(p, _)| p.starts_with(dir))
                .map(|(p, e)| (p[dir.len()..].to_vec(), e.clone()))
                .collect();
            let what = read_manifest(&mut reader, &e, &beside).map_or_else(
                |why| format!("a {MANIFEST_NAME} outside any day directory ({why})"),
                |m| {
                    // The day it names, if an older session holds it, is
                    // read from there: that copy is not this session's.
                    hidden.push((m.day.replace('-', "/"), start));
                    format!(
                        "the {MANIFEST_NAME} of day {} outside any day directory: a directory's \
                         name is damaged",
                        m.day
                    )
                },
            );
            c.damage.push(TreeDamage {
                session: start,
                path: String::from_utf8_lossy(&path).into_owned(),
                why: what,
            });
        }
        for (disc_path, entries) in found {
            let manifest = match entries.get(MANIFEST_NAME.as_bytes()) {
                Some(e) => Some(read_manifest(&mut reader, e, &entries)),
                None => misnamed_manifest(&mut reader, &entries),
            };
            // The manifest of another day: this directory's name decayed
            // into another date, and the day it names, read from an older
            // session, may have had a newer copy here.
            if let Some(Ok(m)) = &manifest {
                let named = m.day.replace('-', "/");
                if named != disc_path {
                    hidden.push((named, start));
                }
            }
            let damaged = damaged_days.contains(&disc_path);
            if damaged {
                if let Some(older) = c.days.get(&disc_path).filter(|d| !d.damaged) {
                    log::warn!(
                        "{device}: /{disc_path} is damaged in the session at block {start}: \
                         read from the session at block {}",
                        older.session
                    );
                    continue;
                }
            }
            c.days.insert(
                disc_path.clone(),
                Day {
                    disc_path,
                    session: start,
                    entries,
                    manifest,
                    damaged,
                    newer_damaged: None,
                },
            );
        }
    }
    if c.sessions.is_empty() {
        return Err(ReadError::NoVolume(device.to_string()));
    }
    // A day read from an older session than one whose tree is damaged on
    // its path (the day's directory, one below or above it, the volume) or
    // that holds its manifest under a decayed name: that newer session may
    // have held a newer copy of the day.
    for day in c.days.values_mut() {
        let at = format!("/{}", day.disc_path);
        let on_path = |p: &str| {
            p == "/"
                || at == p
                || at.strip_prefix(p).is_some_and(|r| r.starts_with('/'))
                || p.strip_prefix(&at).is_some_and(|r| r.starts_with('/'))
        };
        day.newer_damaged = c
            .damage
            .iter()
            .filter(|d| d.session > day.session && on_path(&d.path))
            .map(|d| d.session)
            .chain(
                hidden
                    .iter()
                    .filter(|(d, s)| *d == day.disc_path && *s > day.session)
                    .map(|&(_, s)| s),
            )
            .max();
    }
    Ok(c)
}

/// A session cut short (`why`): passed over as an interrupted write closed
/// later (true: the caller skips it), or, when it is the last session of
/// an image file (`copy`: the file's length is no drive's record of what
/// was written), damage, a truncated copy (false: it is read for what it
/// holds).
fn cut_short(c: &mut Contents, device: &str, start: u32, why: String, copy: bool) -> bool {
    if copy {
        c.volume_damage(
            start,
            format!("the image ends before its last session does: {why}"),
        );
        return false;
    }
    log::info!("{device}: the session at block {start} is passed over: {why}");
    c.interrupted.push((start, why));
    true
}

/// Why the session at `start`, recorded up to `recorded_end`, is an
/// interrupted write closed later (as store's placement passes it over):
/// nothing recorded where its descriptors go (not reached, or zeros), or a
/// volume claiming more blocks than were recorded. None when it is not
/// (a volume that cannot be read is then damage).
fn interrupted_session(medium: &mut Medium, start: u32, recorded_end: u32) -> Option<String> {
    let lba = start.saturating_add(16);
    if lba >= recorded_end {
        return Some(format!(
            "recorded up to block {recorded_end}, short of its descriptors"
        ));
    }
    let mut block = vec![0u8; mmc::BLOCK_SIZE];
    medium.read_blocks(lba, &mut block).ok()?;
    if block.iter().all(|&b| b == 0) {
        return Some("nothing recorded where its descriptors go".into());
    }
    let d = primary_descriptor(&block).ok()??;
    let end = volume_end(start, d.volume_space_size, recorded_end);
    // Where the size fits only read as absolute (cedar's own session, or
    // another writer's cut short), the tree tells once it is walked.
    (end > recorded_end)
        .then(|| format!("its volume claims blocks up to {end}, recorded up to {recorded_end}"))
}

/// Reads and decodes the manifest `e` of a day holding `entries` (its size
/// checked against what such a manifest can take first).
fn read_manifest<S: SectorSource>(
    reader: &mut Reader<S>,
    e: &Entry,
    entries: &BTreeMap<Vec<u8>, Entry>,
) -> Result<Manifest, String> {
    let most = manifest_bound(entries);
    if e.size > most {
        return Err(format!(
            "its recorded size, {} bytes, is more than a manifest of the day's {} entries can \
             hold ({most} bytes)",
            e.size,
            entries.len()
        ));
    }
    reader
        .read_to_vec(e)
        .map_err(|e| format!("unreadable: {}", error_line(&e)))
        .and_then(|b| Manifest::decode(&b).map_err(|e| e.to_string()))
}

/// A day without a `cback.manifest`: whether one of the files directly in
/// it is a manifest under a damaged name (Some(Err) naming it), else None
/// (a Cedar-written day).
fn misnamed_manifest<S: SectorSource>(
    reader: &mut Reader<S>,
    entries: &BTreeMap<Vec<u8>, Entry>,
) -> Option<Result<Manifest, String>> {
    let most = manifest_bound(entries);
    let magic = b"cedar-manifest ";
    for (p, e) in entries {
        if p.contains(&b'/') || e.kind != EntryKind::File || e.size > most || e.size < 64 {
            continue;
        }
        let Ok(mut r) = reader.open_file(e) else {
            continue;
        };
        let mut head = [0u8; 15];
        if std::io::Read::read_exact(&mut r, &mut head).is_ok() && &head == magic {
            return Some(Err(format!(
                "found only as {:?}: its directory record is damaged",
                String::from_utf8_lossy(p)
            )));
        }
    }
    None
}

/// The files a damaged block range hits, by name.
pub fn files_hit<'a>(
    range: (u32, u32),
    files: impl IntoIterator<Item = (String, &'a Entry)>,
) -> Vec<String> {
    files
        .into_iter()
        .filter(|(_, e)| {
            e.extents.iter().any(|&(lba, len)| {
                let last = u64::from(lba) + u64::from(len).div_ceil(BLOCK).max(1) - 1;
                u64::from(lba) <= u64::from(range.1) && last >= u64::from(range.0)
            })
        })
        .map(|(n, _)| n)
        .collect()
}

/// The most bytes a manifest of a day holding `entries` can take, so that a
/// damaged or hostile size recorded on the disc is refused before it is read
/// into memory: the header lines (day, host, version, checksum) plus, per
/// entry, one `file SIZE SHA256 PATH` or `link PATH TARGET` line with every
/// byte of the path and target `%XX`-escaped.
fn manifest_bound(entries: &BTreeMap<Vec<u8>, Entry>) -> u64 {
    crate::engine::manifest::size_bound(entries.iter().map(|(path, e)| match &e.kind {
        EntryKind::Symlink(t) => (path.len(), t.len()),
        _ => (path.len(), 0),
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An entry of `kind` with these extents and size, for tests.
    pub(crate) fn entry(kind: EntryKind, extents: Vec<(u32, u32)>, size: u64) -> Entry {
        Entry {
            name: Vec::new(),
            iso_name: Vec::new(),
            kind,
            meta: iso9660::Metadata::default(),
            nlink: 1,
            serial: None,
            extents,
            size,
            at: 0,
        }
    }

    #[test]
    fn an_emulated_images_sessions_are_the_drives_tracks() {
        use crate::engine::disc::tests::cedar_session;
        use mmc::emulator::{state_path, PREFIX};
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disc.img");
        let path = image.to_str().unwrap();
        let mut d = Drive::open(&format!("{PREFIX}{path}?profile=dvd+r&busy=0")).unwrap();
        // A volume, a track of other data (no volume), a volume.
        let mut starts = Vec::new();
        for i in 0..3 {
            let nwa = d.medium_info().unwrap().next_writable.unwrap();
            let data = if i == 1 {
                vec![0x5A; 40 * mmc::BLOCK_SIZE]
            } else {
                cedar_session(nwa, 100_000)
            };
            let opts = mmc::WriteOptions::default();
            d.write_session(&mut &data[..], &opts, &mut mmc::NoProgress)
                .unwrap();
            starts.push(nwa);
        }
        let tracks = drive_sessions(&mut d).unwrap();
        drop(d);
        assert_eq!(tracks.iter().map(|t| t.0).collect::<Vec<_>>(), starts);
        let state = std::fs::read(state_path(&image)).unwrap();
        let file = File::open(&image).unwrap();
        assert_eq!(image_sessions(&file, path), tracks, "asked of the drive");
        assert_eq!(
            std::fs::read(state_path(&image)).unwrap(),
            state,
            "the disc's state is unchanged by reading it"
        );
        // A copy without the state file, or with one that cannot be read:
        // the volumes alone (the track without one is not a session).
        let copy = dir.path().join("copy.img");
        std::fs::copy(&image, &copy).unwrap();
        for broken in [false, true] {
            if broken {
                std::fs::write(state_path(&copy), b"not a state file").unwrap();
            }
            let file = File::open(&copy).unwrap();
            let found = image_sessions(&file, copy.to_str().unwrap());
            assert_eq!(
                found.iter().map(|t| t.0).collect::<Vec<_>>(),
                [starts[0], starts[2]],
                "broken state file: {broken}"
            );
        }
    }

    #[test]
    fn day_paths_are_three_numeric_parts() {
        assert!(is_day(b"2026/03/02"));
        assert!(!is_day(b"2026/03"));
        assert!(!is_day(b"2026/3/02"));
        assert!(!is_day(b"cedar_initialized"));
    }

    #[test]
    fn the_manifest_bound_holds_every_manifest_cedar_writes_and_no_more() {
        use crate::engine::manifest::{FileRecord, LinkRecord};
        // Worst case per file: the largest size and a path of bytes that
        // are all escaped; per link a target of PATH_MAX such bytes; the
        // longest host name.
        let paths: Vec<Vec<u8>> = (0..50u8)
            .map(|i| [vec![b'd', b'/'], vec![0xFF; 200], vec![i]].concat())
            .collect();
        let (files, links) = paths.split_at(40);
        let target = vec![0xFF; 4095];
        let m = Manifest {
            day: "2026-03-02".into(),
            host: "h".repeat(255),
            cedar: env!("CARGO_PKG_VERSION").into(),
            files: files
                .iter()
                .map(|p| FileRecord {
                    path: p.clone(),
                    size: u64::MAX,
                    sha256: [0xAB; 32],
                })
                .collect(),
            links: links
                .iter()
                .map(|p| LinkRecord {
                    path: p.clone(),
                    target: target.clone(),
                })
                .collect(),
        };
        let entry = |kind| entry(kind, Vec::new(), 0);
        let entries: BTreeMap<Vec<u8>, Entry> = files
            .iter()
            .map(|p| (p.clone(), entry(EntryKind::File)))
            .chain(
                links
                    .iter()
                    .map(|p| (p.clone(), entry(EntryKind::Symlink(target.clone())))),
            )
            .collect();
        let len = m.encode().len() as u64;
        assert!(
            len <= manifest_bound(&entries),
            "{len} > {}",
            manifest_bound(&entries)
        );
        // A size recorded for a handful of entries cannot be gigabytes.
        assert!(manifest_bound(&entries) < 1 << 20);
    }
}
