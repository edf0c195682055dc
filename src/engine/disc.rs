//! The disc as the image reader sees it: an [`iso9660::SectorSource`] over
//! the blocks of the medium in a drive ([`mmc::BlockReader`]), so that
//! store can import the previous session straight from the disc and
//! check_data can read a written session back, without mounting anything.
//! The two library crates know nothing of each other (iso9660 nothing of
//! discs, mmc nothing of files); this is where they meet.
//!
//! [`placement`] says where the next session goes on the disc in a drive
//! (and what to import), [`volume_label`] reads the newest volume's label,
//! and [`close_interrupted`] closes a track an interrupted write left open.
//!
//! Whatever reads a disc's blocks does it through [`ReadBlocks`] (a
//! [`Drive`], an image file as [`ImageBlocks`]); [`read_primary_descriptor`]
//! finds a session's volume on either, and [`volume_end`] is the one rule
//! for where that volume ends.
//!
//! A drive read error reaches the iso9660 reader as an `io::Error` wrapping
//! the [`mmc::ReadError`] (which names the block), so a caller can still get
//! at it with `get_ref().downcast_ref::<mmc::ReadError>()`.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use iso9660::VolumeDescriptor;
use mmc::cdb::disc::INVISIBLE_TRACK;
use mmc::{BlockReader, Drive, MediaState, NoProgress, Profile, WriteOptions};

/// An [`iso9660::SectorSource`] reading the medium in a drive, with the
/// bounded read-ahead of [`mmc::BlockReader`].
#[derive(Debug)]
pub struct DiscSource<'d>(pub BlockReader<'d>);

impl<'d> DiscSource<'d> {
    /// Reads the medium in `drive` with the default read-ahead.
    pub fn new(drive: &'d mut Drive) -> Self {
        DiscSource(BlockReader::new(drive))
    }
}

impl iso9660::SectorSource for DiscSource<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_at(offset, buf).map_err(io::Error::other)
    }
}

/// Where the next session goes and what it carries over, from the drive's
/// real state ([`placement`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The loaded medium's profile.
    pub profile: Profile,
    /// Blank, appendable, finalized or overwritable (formatted).
    pub state: MediaState,
    /// The medium is written in place (DVD+RW, DVD-RW restricted
    /// overwrite, BD-RE): the session grows the volume at LBA 16.
    pub overwritable: bool,
    /// Session start to import the previous days from (None: nothing on
    /// the disc to carry over). On overwritable media this is 0: LBA 16
    /// holds the newest descriptors.
    pub import: Option<u32>,
    /// The new session's first block: [`iso9660::Options::start_lba`].
    pub start_lba: u32,
    /// Blocks free from `start_lba`.
    pub free_blocks: u32,
    /// Total user blocks of the medium.
    pub capacity: u32,
    /// The volume found where `import` points: its label and end block.
    pub volume: Option<VolumeSummary>,
    /// A write-once track left open by an interrupted write (killed, power
    /// cut): [`close_interrupted`] closes it before anything else is
    /// written, and [`placement`] is asked again.
    pub interrupted: Option<Interrupted>,
}

impl Placement {
    /// Free space in bytes.
    pub fn free_bytes(&self) -> u64 {
        u64::from(self.free_blocks) * BLOCK
    }

    /// The disc started again: nothing imported, and on overwritable media
    /// the session at block 0 with the whole capacity free (the old volume
    /// is overwritten). A write-once disc cannot be started again: there it
    /// only drops the import (the session still appends at the next
    /// writable address), so a new write-once disc means a blank one.
    pub fn new_disc(&self) -> Placement {
        let free = if self.overwritable {
            self.capacity
        } else {
            self.free_blocks
        };
        Placement {
            import: None,
            start_lba: if self.overwritable { 0 } else { self.start_lba },
            free_blocks: free,
            volume: None,
            ..self.clone()
        }
    }
}

/// An ISO9660 volume on the disc, from its primary descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSummary {
    /// Block where its session starts (descriptors at start + 16).
    pub session_start: u32,
    /// The volume identifier (label), trailing spaces removed.
    pub label: String,
    /// The volume space size: the block after the volume's last.
    pub end: u32,
}

/// A write-once track that was started and never closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted {
    /// Track number.
    pub track: u16,
    /// First block of the track.
    pub start: u32,
    /// Where it would continue, when the drive reports it.
    pub next_writable: Option<u32>,
    /// The drive marks the track damaged.
    pub damaged: bool,
}

/// What went wrong looking at the disc.
#[derive(Debug, thiserror::Error)]
pub enum DiscError {
    /// A drive command failed (no medium, a read error...).
    #[error(transparent)]
    Drive(#[from] mmc::Error),
    /// The drive reports a medium this crate does not write.
    #[error("{device}: cannot write a {profile} medium")]
    Unwritable {
        /// Device name.
        device: String,
        /// Profile name.
        profile: String,
    },
    /// The primary volume descriptor at `lba` is damaged, so where the
    /// volume ends (and where the next session may go) is unknown.
    #[error("{device}: the volume descriptor at block {lba} is damaged: {why}")]
    Descriptor {
        /// Device name.
        device: String,
        /// Block of the descriptor.
        lba: u32,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The directory tree of the session at `start` cannot be read, so
    /// whether all it refers to was recorded is unknown.
    #[error("{device}: reading the directory tree of the session at block {start}")]
    Tree {
        /// Device name.
        device: String,
        /// Block where the session starts.
        start: u32,
        /// What the image reader said.
        #[source]
        source: iso9660::Error,
    },
    /// The tree of the session at `start` refers to blocks past what was
    /// recorded (up to `end`) that no reading of its size explains.
    #[error(
        "{device}: the tree of the session at block {start} refers to blocks up to {last}, \
         past the {end} recorded: it is damaged, and nothing is appended after it"
    )]
    TreeBeyond {
        /// Device name.
        device: String,
        /// Block where the session starts.
        start: u32,
        /// The block after the last one its tree refers to.
        last: u64,
        /// Where its recording ends.
        end: u32,
    },
    /// A block of an image file could not be read.
    #[error("{image}: reading block {lba}")]
    Image {
        /// The image's path.
        image: String,
        /// The block.
        lba: u32,
        /// What the read said.
        #[source]
        source: io::Error,
    },
}

/// Shortest CD track a drive closes, in blocks.
const CD_MIN_TRACK: u32 = 300;

/// Size of a block as u64.
const BLOCK: u64 = mmc::BLOCK_SIZE as u64;

/// Whole 2048-byte blocks read by address: the medium in a drive
/// ([`Drive`]) or an image file ([`ImageBlocks`]). What reads a disc's
/// descriptors ([`read_primary_descriptor`]) and scans its written area
/// works on either.
pub trait ReadBlocks {
    /// The device or image, as named in errors.
    fn name(&self) -> &str;
    /// Reads whole blocks from `lba` into `buf` (a multiple of
    /// [`mmc::BLOCK_SIZE`] bytes).
    fn read_blocks(&mut self, lba: u32, buf: &mut [u8]) -> Result<(), DiscError>;
}

impl ReadBlocks for Drive {
    fn name(&self) -> &str {
        Drive::name(self)
    }

    fn read_blocks(&mut self, lba: u32, buf: &mut [u8]) -> Result<(), DiscError> {
        Ok(Drive::read_blocks(self, lba, buf)?)
    }
}

/// An image file read as a disc: block `n` at byte `n * 2048`.
#[derive(Debug, Clone, Copy)]
pub struct ImageBlocks<'a> {
    /// The open image.
    pub file: &'a File,
    /// Its path, for errors.
    pub name: &'a str,
}

impl ReadBlocks for ImageBlocks<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn read_blocks(&mut self, lba: u32, buf: &mut [u8]) -> Result<(), DiscError> {
        self.file
            .read_exact_at(buf, u64::from(lba) * BLOCK)
            .map_err(|source| DiscError::Image {
                image: self.name.to_string(),
                lba,
                source,
            })
    }
}

/// Reads the primary volume descriptor of the session at `session_start`
/// (block `session_start + 16`). Ok(None) when no ISO9660 primary
/// descriptor is there (zeros, other data).
pub fn read_primary_descriptor(
    disc: &mut (impl ReadBlocks + ?Sized),
    session_start: u32,
) -> Result<Option<VolumeDescriptor>, DiscError> {
    let lba = session_start.saturating_add(16);
    let mut block = vec![0u8; mmc::BLOCK_SIZE];
    disc.read_blocks(lba, &mut block)?;
    primary_descriptor(&block).map_err(|why| DiscError::Descriptor {
        device: disc.name().to_string(),
        lba,
        why,
    })
}

/// The primary volume descriptor in `block`: Ok(None) when the block is
/// not one (another type, zeros, other data), Err when it says it is and
/// cannot be decoded.
pub fn primary_descriptor(block: &[u8]) -> Result<Option<VolumeDescriptor>, &'static str> {
    if block.len() < 7 || block[0] != 1 || &block[1..6] != b"CD001" {
        return Ok(None);
    }
    VolumeDescriptor::decode(block).map(Some)
}

/// Where the volume of the session at `session_start` ends (the block
/// after its last), from its primary descriptor's volume space size and
/// `recorded_end`, the end of what is recorded there (the track's recorded
/// end on a write-once disc, the next session's start or the image's
/// length in an image file).
///
/// Writers disagree on what the size counts in a later session: mkisofs
/// and genisoimage `-C`, and libisofs (xorriso, and so growisofs, which
/// runs mkisofs), record the session's own length, relative to its start;
/// cedar's iso9660 records the absolute end. At block 0 (a first session,
/// a single image, the descriptors growisofs, xorriso and cedar copy to
/// LBA 16 of overwritable media) the two agree. Later:
///
/// - a size that does not reach past the session's own descriptor at
///   `session_start + 16` can only be relative;
/// - else the relative reading when it fits in what is recorded (an
///   absolute size read as relative would then overshoot only into
///   recorded blocks), else the absolute one when that fits;
/// - else neither fits (a session cut short): the relative reading, the
///   larger, so the volume is seen to claim more than was recorded.
///
/// A relative session cut short can still fit when read as absolute; the
/// descriptor cannot tell that from cedar's own session, so [`placement`]
/// and [`volumes`] then ask the session's tree whether all it refers to was
/// recorded.
pub fn volume_end(session_start: u32, volume_space_size: u32, recorded_end: u32) -> u32 {
    let relative = session_start.saturating_add(volume_space_size);
    if volume_space_size <= session_start.saturating_add(16) || relative <= recorded_end {
        relative
    } else if volume_space_size <= recorded_end {
        volume_space_size
    } else {
        relative
    }
}

/// The shortest end [`volume_end`] can give for a session (the absolute
/// reading when it is possible, else the relative one): where to start
/// looking for the next session when nothing tells where this one's
/// recording ends.
pub fn least_volume_end(session_start: u32, volume_space_size: u32) -> u32 {
    volume_end(session_start, volume_space_size, volume_space_size)
}

fn summary(session_start: u32, d: &VolumeDescriptor, recorded_end: u32) -> VolumeSummary {
    VolumeSummary {
        session_start,
        label: d.volume_id.trim_end().to_string(),
        end: volume_end(session_start, d.volume_space_size, recorded_end),
    }
}

/// The newest session of a write-once disc that holds a whole ISO9660
/// volume, from the last complete session back through the tracks. A
/// volume counts only when its track was recorded up to the volume's end: a
/// session closed over an interrupted write has descriptors that promise
/// more than was recorded, and is passed over, so the days before it are
/// imported instead.
fn newest_volume(
    drive: &mut Drive,
    last_session_start: u32,
) -> Result<Option<VolumeSummary>, DiscError> {
    Ok(complete_volumes(drive, last_session_start, 1)?.pop())
}

/// Up to `most` sessions holding whole volumes, newest first (see
/// [`newest_volume`]).
fn complete_volumes(
    drive: &mut Drive,
    last_session_start: u32,
    most: usize,
) -> Result<Vec<VolumeSummary>, DiscError> {
    let mut found = Vec::new();
    // Recorded tracks as (start, end), from the drive.
    let mut tracks = Vec::new();
    for n in 1..=u32::from(u16::MAX) {
        match drive.track_information(n) {
            Ok(t) if !t.blank && t.start <= last_session_start => {
                // An incomplete track is recorded up to its next writable
                // address (its size counts the free space after it).
                let end = t
                    .next_writable
                    .unwrap_or_else(|| t.start.saturating_add(t.size));
                tracks.push((t.start, end))
            }
            _ => break,
        }
    }
    for &(start, end) in tracks.iter().rev() {
        let d = match read_primary_descriptor(drive, start) {
            Ok(Some(d)) => d,
            Ok(None) | Err(DiscError::Drive(_)) => continue,
            Err(e) => return Err(e),
        };
        let v = summary(start, &d, end);
        if v.end <= end && tree_recorded(drive, start, &d, end)? {
            found.push(v);
            if found.len() >= most {
                break;
            }
            continue;
        }
        let claims = if v.end > end {
            format!("its volume claims {}", v.end)
        } else {
            "its tree refers to blocks after that".to_string()
        };
        log::warn!(
            "{}: the session at block {start} ends at block {end} but {claims}: it was \
             interrupted, and is passed over",
            drive.name(),
        );
    }
    Ok(found)
}

/// Whether the session at `start`, recorded up to `end`, holds its whole
/// tree, asked only when the descriptor alone cannot tell: the session's
/// size read as relative runs past `end` while read as absolute it fits
/// ([`volume_end`] takes the absolute reading), which is both cedar's own
/// later session (absolute, recorded whole) and another writer's relative
/// one cut short in its last blocks. The extents of its directories and
/// files settle it ([`tree_fit`]): all within `end`, whole; ending where
/// the relative reading says the volume ends, cut short (passed over, as
/// an interrupted write is); anything else, a damaged tree, which is an
/// error: neither importing it nor passing over its days is safe.
fn tree_recorded(
    drive: &mut Drive,
    start: u32,
    d: &VolumeDescriptor,
    end: u32,
) -> Result<bool, DiscError> {
    if start.saturating_add(d.volume_space_size) <= end {
        return Ok(true);
    }
    let device = drive.name().to_string();
    let last = match referenced_end(DiscSource::new(drive), start) {
        Ok(last) => last,
        // A directory block past the recorded end: cut short there.
        Err(iso9660::Error::Io(e))
            if e.get_ref()
                .and_then(|r| r.downcast_ref::<mmc::ReadError>())
                .and_then(mmc::ReadError::lba)
                .is_some_and(|lba| lba >= end) =>
        {
            return Ok(false)
        }
        Err(source) => {
            return Err(DiscError::Tree {
                device,
                start,
                source,
            })
        }
    };
    match tree_fit(last, start, d.volume_space_size, end) {
        TreeFit::Whole => Ok(true),
        TreeFit::CutShort => Ok(false),
        TreeFit::Damaged => Err(DiscError::TreeBeyond {
            device,
            start,
            last,
            end,
        }),
    }
}

/// Blocks a writer may leave between its tree's last extent and the end of
/// its volume (genisoimage and xorriso pad 150; alignment): how close to
/// the relative end a tree that runs past the recorded end must end to be
/// a session cut short rather than a damaged one.
pub const CUT_SHORT_SLACK: u64 = 1024;

/// How the tree of a later session lies against what was recorded (see
/// [`tree_fit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeFit {
    /// Everything it refers to was recorded.
    Whole,
    /// It runs past the recorded end up to about where its size, read as
    /// relative, ends the volume: a session cut short.
    CutShort,
    /// It refers to blocks past the recorded end that no reading of its
    /// size explains: damage (a decayed extent or size).
    Damaged,
}

/// Judges a later session at `start` with volume space size `size`,
/// recorded up to `end`, whose tree's extents end at `last`
/// ([`referenced_end`]).
pub fn tree_fit(last: u64, start: u32, size: u32, end: u32) -> TreeFit {
    let relative_end = u64::from(start) + u64::from(size);
    if last <= u64::from(end) {
        TreeFit::Whole
    } else if last <= relative_end && last + CUT_SHORT_SLACK >= relative_end {
        TreeFit::CutShort
    } else {
        TreeFit::Damaged
    }
}

/// The block after the last one the tree of the session at `start`
/// refers to: its directories' and files' extents, walked through `src`
/// (a drive, an image file). Path tables are left out: no reader here uses
/// them, and a decayed location in one must not pass for a cut session.
pub fn referenced_end(src: impl iso9660::SectorSource, start: u32) -> Result<u64, iso9660::Error> {
    let mut reader = iso9660::Reader::from_source(src, start, Default::default())?;
    let mut last = u64::from(start);
    for &(lba, bytes) in &reader.root().extents {
        last = last.max(extent_end(lba, bytes));
    }
    reader.walk(|_, entry| {
        for &(lba, bytes) in &entry.extents {
            last = last.max(extent_end(lba, bytes));
        }
        Ok(())
    })?;
    Ok(last)
}

/// The block after an extent of `bytes` at `lba` (`lba` itself when empty).
pub fn extent_end(lba: u32, bytes: u32) -> u64 {
    u64::from(lba) + u64::from(bytes).div_ceil(BLOCK)
}

/// A track started and never closed, from the invisible track's information.
fn interrupted(drive: &mut Drive) -> Result<Option<Interrupted>, DiscError> {
    let t = drive.track_information(INVISIBLE_TRACK)?;
    let started = !t.blank
        && (t.damage
            || t.next_writable.is_some_and(|n| n > t.start)
            || t.last_recorded.is_some_and(|l| l >= t.start));
    Ok((started && !t.reserved).then_some(Interrupted {
        track: t.track,
        start: t.start,
        next_writable: t.next_writable,
        damaged: t.damage,
    }))
}

/// Where the next session goes, from the drive's real state:
///
/// - blank disc: block 0, nothing to import;
/// - write-once appendable: the next writable address, importing the
///   newest session that holds a volume (msinfo);
/// - overwritable: the volume end at LBA 16 rounded up to 16 blocks,
///   importing from session start 0 (block 0 and nothing to import when
///   LBA 16 holds no ISO9660 volume);
/// - finalized or full: `start_lba` at the disc's end and no room
///   (`free_blocks` 0), the last volume for reference.
pub fn placement(drive: &mut Drive) -> Result<Placement, DiscError> {
    let info = drive.medium_info()?;
    let Some(profile) = info.profile else {
        return Err(DiscError::Unwritable {
            device: drive.name().to_string(),
            profile: info.profile_name(),
        });
    };
    let mut p = Placement {
        profile,
        state: info.state,
        overwritable: profile.overwritable(),
        import: None,
        start_lba: 0,
        free_blocks: info.free_blocks,
        capacity: info.capacity,
        volume: None,
        interrupted: None,
    };
    if p.overwritable {
        if info.state == MediaState::Overwritable {
            if let Some(d) = read_primary_descriptor(drive, 0)? {
                let v = summary(0, &d, info.capacity);
                p.start_lba = v.end.next_multiple_of(16);
                p.import = Some(0);
                p.volume = Some(v);
            }
        }
        p.free_blocks = info.capacity.saturating_sub(p.start_lba);
        return Ok(p);
    }
    match info.state {
        MediaState::Blank => {}
        MediaState::Appendable | MediaState::Finalized | MediaState::Overwritable => {
            if let Some(last) = info.last_session_start {
                p.volume = newest_volume(drive, last)?;
                p.import = p.volume.as_ref().map(|v| v.session_start);
            }
            if info.state == MediaState::Appendable {
                p.interrupted = interrupted(drive)?;
            }
            match info.next_writable {
                Some(nwa) if info.state == MediaState::Appendable => p.start_lba = nwa,
                // Full or finalized: a session could only go past the end;
                // planning still works and writing is refused as not fitting.
                _ => {
                    p.start_lba = info.capacity;
                    p.free_blocks = 0;
                }
            }
        }
    }
    Ok(p)
}

/// Every whole volume on the disc, newest first: on write-once media one
/// per session that holds a volume recorded to its end, on overwritable
/// media the one LBA 16 leads to. A caller whose import of the newest fails
/// (a damaged directory) can fall back to an older one, losing only the
/// days after it.
pub fn volumes(drive: &mut Drive) -> Result<Vec<VolumeSummary>, DiscError> {
    let info = drive.medium_info()?;
    if info.profile.is_some_and(Profile::overwritable) {
        if info.state != MediaState::Overwritable {
            return Ok(Vec::new());
        }
        return Ok(read_primary_descriptor(drive, 0)?
            .map(|d| summary(0, &d, info.capacity))
            .into_iter()
            .collect());
    }
    match info.last_session_start {
        Some(last) => complete_volumes(drive, last, usize::MAX),
        None => Ok(Vec::new()),
    }
}

/// Why the loaded medium must not be written, when the drive tells before
/// any write ([`Drive::write_protection`]: DVD and BD media on a drive with
/// the Write Protect feature): `the medium is write-protected (how)`.
/// None when it is writable or the drive cannot tell (then a protected
/// medium is refused at the first WRITE, the disc unchanged).
pub fn write_protection(drive: &mut Drive) -> Result<Option<String>, DiscError> {
    Ok(drive
        .write_protection()?
        .filter(|w| w.any())
        .map(|w| format!("{} ({})", mmc::MediumError::WriteProtected, w.describe())))
}

/// The label of the newest volume on the disc (read natively: LBA 16 on
/// overwritable media, the newest session's descriptor on write-once), None
/// on a blank disc or one without an ISO9660 volume.
pub fn volume_label(drive: &mut Drive) -> Result<Option<String>, DiscError> {
    Ok(placement(drive)?.volume.map(|v| v.label))
}

/// Closes a write-once track left open by an interrupted write, and its
/// session, as a real drive allows (CLOSE TRACK, then CLOSE SESSION keeping
/// the disc appendable), so the next session starts on a fresh track; the
/// closed session holds no volume and is passed over by [`placement`].
/// Returns what was closed (None: nothing was open).
pub fn close_interrupted(drive: &mut Drive) -> Result<Option<Interrupted>, DiscError> {
    let info = drive.medium_info()?;
    let overwritable = info.profile.is_some_and(Profile::overwritable);
    if overwritable || info.state != MediaState::Appendable {
        return Ok(None);
    }
    let Some(open) = interrupted(drive)? else {
        return Ok(None);
    };
    log::warn!(
        "{}: closing track {} (from block {}) left open by an interrupted write",
        drive.name(),
        open.track,
        open.start
    );
    if info
        .profile
        .is_some_and(|p| p.family() != mmc::profile::Family::Cd)
    {
        drive.close_track(open.track)?;
        drive.close_session(false)?;
        return Ok(Some(open));
    }
    // A CD track in TAO ends when the cache is flushed, but only once it
    // holds 300 blocks: a shorter one is first padded with zero blocks
    // (write_session continues the open track, then closes it and the
    // session).
    let recorded = open
        .next_writable
        .map_or(0, |n| n.saturating_sub(open.start));
    if recorded < CD_MIN_TRACK {
        let pad = vec![0u8; (CD_MIN_TRACK - recorded) as usize * mmc::BLOCK_SIZE];
        drive.write_session(&mut &pad[..], &WriteOptions::default(), &mut NoProgress)?;
    } else {
        drive.sync_cache()?;
        drive.close_session(false)?;
    }
    Ok(Some(open))
}

/// The integration tests' reference-tool finder, for the unit tests.
#[cfg(test)]
#[path = "../../tests/support/tool.rs"]
mod test_tool;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// A reference tool, or None (skipping, with a line) when it is not
    /// installed; under CI it must be.
    fn tool(name: &str) -> Option<PathBuf> {
        super::test_tool::tool(name, &["/usr/bin", "/usr/local/bin"])
    }

    fn run(cmd: &mut Command) {
        let o = cmd.output().unwrap();
        assert!(
            o.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    fn blocks(path: &Path) -> u32 {
        (std::fs::metadata(path).unwrap().len() / BLOCK) as u32
    }

    /// The volume space size of the session at `start` of the image.
    fn size_at(image: &Path, start: u32) -> u32 {
        let file = File::open(image).unwrap();
        let mut disc = ImageBlocks {
            file: &file,
            name: "test image",
        };
        read_primary_descriptor(&mut disc, start)
            .unwrap()
            .unwrap_or_else(|| panic!("no volume at {start} in {}", image.display()))
            .volume_space_size
    }

    fn tree_with(dir: &Path, name: &str, bytes: usize) -> PathBuf {
        let d = dir.join(format!("src-{name}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), vec![b'x'; bytes]).unwrap();
        d
    }

    /// `genisoimage -C 0,NEXT -M FIRST`'s session laid at NEXT after FIRST
    /// (as growisofs and cdrecord put it on the disc): the disc image.
    fn genisoimage_disc(dir: &Path, next: u32) -> Option<(PathBuf, u32)> {
        let g = tool("genisoimage")?;
        let first = dir.join("first.iso");
        let a = tree_with(dir, "a", 300_000);
        run(Command::new(&g)
            .args(["-quiet", "-r", "-o"])
            .arg(&first)
            .arg(&a));
        let b = tree_with(dir, "b", 900_000);
        let part = dir.join("second.part");
        run(Command::new(&g)
            .args(["-quiet", "-r", "-C", &format!("0,{next}"), "-M"])
            .arg(&first)
            .arg("-o")
            .arg(&part)
            .arg(&b));
        let mut disc = std::fs::read(&first).unwrap();
        disc.resize(next as usize * mmc::BLOCK_SIZE, 0);
        disc.extend(std::fs::read(&part).unwrap());
        let image = dir.join("disc.iso");
        std::fs::write(&image, disc).unwrap();
        Some((image, blocks(&first)))
    }

    #[test]
    fn a_first_session_or_single_image_counts_from_block_0() {
        let dir = tempfile::tempdir().unwrap();
        let Some(g) = tool("genisoimage") else { return };
        let image = dir.path().join("one.iso");
        let a = tree_with(dir.path(), "a", 100_000);
        run(Command::new(g)
            .args(["-quiet", "-r", "-o"])
            .arg(&image)
            .arg(&a));
        let end = blocks(&image);
        assert_eq!(volume_end(0, size_at(&image, 0), end), end);
        // Whatever the recording's end: at block 0 the readings agree.
        assert_eq!(volume_end(0, size_at(&image, 0), u32::MAX), end);
    }

    #[test]
    fn a_later_mkisofs_session_counts_from_its_start_even_when_larger_than_it() {
        // A DVD's next session right after a small first one: the size,
        // relative (mkisofs, genisoimage, growisofs), is more than the
        // start, so neither "size <= start" nor "size <= start + 16" tells.
        let dir = tempfile::tempdir().unwrap();
        let Some((image, first)) = genisoimage_disc(dir.path(), 336) else {
            return;
        };
        assert!(first <= 336);
        let end = blocks(&image);
        let size = size_at(&image, 336);
        assert_eq!(size, end - 336, "genisoimage records the session's length");
        assert!(size > 336 + 16);
        assert_eq!(volume_end(336, size, end), end);
        assert_eq!(least_volume_end(336, size), size);
    }

    #[test]
    fn a_later_cd_session_after_the_lead_out_and_lead_in_gap_counts_from_its_start() {
        // A CD's second session starts 11400 blocks after the first ends
        // (lead-out 6750, lead-in 4500, pregap 150).
        let dir = tempfile::tempdir().unwrap();
        let Some(g) = tool("genisoimage") else { return };
        drop(g);
        let probe = genisoimage_disc(dir.path(), 11_400 + 400);
        let Some((image, first)) = probe else { return };
        assert!(first < 400);
        let end = blocks(&image);
        let size = size_at(&image, 11_800);
        assert!(size <= 11_800, "a small relative size: {size}");
        assert_eq!(volume_end(11_800, size, end), end);
        assert_eq!(least_volume_end(11_800, size), end);
    }

    #[test]
    fn a_later_relative_session_cut_short_is_passed_over_though_its_size_fits_as_absolute() {
        let Some(g) = tool("genisoimage") else { return };
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disc.img");
        let spec = format!(
            "{}{}?profile=dvd+r&busy=0",
            mmc::emulator::PREFIX,
            image.display()
        );
        let mut d = Drive::open(&spec).unwrap();
        let write = |d: &mut Drive, data: &[u8]| {
            d.write_session(&mut &data[..], &WriteOptions::default(), &mut NoProgress)
                .unwrap()
        };
        let first = dir.path().join("first.iso");
        run(Command::new(&g)
            .args(["-quiet", "-r", "-o"])
            .arg(&first)
            .arg(tree_with(dir.path(), "a", 300_000)));
        write(&mut d, &std::fs::read(&first).unwrap());
        let next = placement(&mut d).unwrap().start_lba;
        // growisofs' next session (genisoimage -C): its size is its own
        // length, more than its start.
        let part = dir.path().join("second.part");
        run(Command::new(&g)
            .args(["-quiet", "-r", "-C", &format!("0,{next}"), "-M"])
            .arg(&first)
            .arg("-o")
            .arg(&part)
            .arg(tree_with(dir.path(), "b", 6_000_000)));
        let part = std::fs::read(&part).unwrap();
        let len = (part.len() / mmc::BLOCK_SIZE) as u32;
        assert!(len > next + 16, "relative size {len}, start {next}");
        // Closed over an interrupted write 300 blocks short (past
        // genisoimage's 150 blocks of padding): read as absolute, its size
        // fits what was recorded; its file does not.
        write(&mut d, &part[..(len - 300) as usize * mmc::BLOCK_SIZE]);
        let p = placement(&mut d).unwrap();
        assert_eq!(p.import, Some(0), "the cut-short session is passed over");
        assert_eq!(volumes(&mut d).unwrap().len(), 1);
        // So is it when the disc is read back (cback verify, restore).
        drop(d);
        {
            use crate::engine::discread::{contents, Medium};
            let mut m = Medium::open(&spec).unwrap();
            let c = contents(&mut m, &spec, None).unwrap();
            assert_eq!(c.interrupted.len(), 1, "{:?}", c.interrupted);
            assert_eq!(c.interrupted[0].0, next);
            assert!(c.interrupted[0]
                .1
                .contains("its tree refers to blocks up to"));
            assert!(c.damage.is_empty(), "{:?}", c.damage);
        }
        let mut d = Drive::open(&spec).unwrap();
        // cedar's own next session, absolute and recorded whole, counts.
        let nwa = p.start_lba;
        write(&mut d, &cedar_session(nwa, 5_000_000));
        assert_eq!(placement(&mut d).unwrap().import, Some(nwa));
        let starts: Vec<u32> = volumes(&mut d)
            .unwrap()
            .iter()
            .map(|v| v.session_start)
            .collect();
        assert_eq!(starts, [nwa, 0]);
    }

    #[test]
    fn an_image_files_sessions_end_where_their_volumes_do() {
        use crate::engine::discread::image_sessions;
        let dir = tempfile::tempdir().unwrap();
        // genisoimage's relative sizes, the second session larger than its
        // start; then a CD's gap.
        for next in [336, 11_800] {
            let Some((image, first)) = genisoimage_disc(dir.path(), next) else {
                return;
            };
            let file = File::open(&image).unwrap();
            let name = image.to_str().unwrap();
            assert_eq!(
                image_sessions(&file, name),
                vec![(0, first), (next, blocks(&image))],
                "second session at {next}"
            );
        }
        // cedar's absolute sizes, three sessions back to back.
        let mut disc = Vec::new();
        let mut want = Vec::new();
        for bytes in [10_000, 3_000_000, 20_000] {
            let start = (disc.len() / mmc::BLOCK_SIZE) as u32;
            disc.extend(cedar_session(start, bytes));
            want.push((start, (disc.len() / mmc::BLOCK_SIZE) as u32));
        }
        let image = dir.path().join("cedar3.iso");
        std::fs::write(&image, &disc).unwrap();
        let file = File::open(&image).unwrap();
        assert_eq!(image_sessions(&file, image.to_str().unwrap()), want);
    }

    /// A session of cedar's iso9660 writer (what engine::writer burns and
    /// `cback mkisofs -C` writes) of `bytes` bytes of data at `start`.
    pub(crate) fn cedar_session(start: u32, bytes: usize) -> Vec<u8> {
        let mut tree = iso9660::Tree::new(iso9660::Metadata::new(0o755, 0, 0, 0));
        tree.add_file(
            b"2026/03/02/f",
            iso9660::Metadata::new(0o644, 0, 0, 0),
            iso9660::FileData::Bytes(vec![7; bytes]),
            bytes as u64,
        )
        .unwrap();
        let options = iso9660::Options {
            start_lba: start,
            ..iso9660::Options::default()
        };
        let mut layout = iso9660::Layout::plan(tree, options).unwrap();
        let mut out = Vec::new();
        layout.write(&mut out, &mut ()).unwrap();
        out
    }

    #[test]
    fn cedars_later_session_records_its_absolute_end() {
        let dir = tempfile::tempdir().unwrap();
        let first = cedar_session(0, 10_000);
        let start = (first.len() / mmc::BLOCK_SIZE) as u32;
        let start = start.next_multiple_of(16);
        let second = cedar_session(start, 2_000_000);
        let mut disc = first;
        disc.resize(start as usize * mmc::BLOCK_SIZE, 0);
        disc.extend(second);
        let image = dir.path().join("cedar.iso");
        std::fs::write(&image, &disc).unwrap();
        let end = blocks(&image);
        let size = size_at(&image, start);
        assert_eq!(size, end, "cedar records the absolute end");
        // Recorded up to its end (a track, the image): absolute.
        assert_eq!(volume_end(start, size, end), end);
        // With more recorded after it (a later session): still absolute
        // when the relative reading would run past that.
        assert_eq!(volume_end(start, size, end + 10), end);
        // Cut short (an interrupted track): it claims more than recorded.
        assert!(volume_end(start, size, end - 100) > end - 100);
    }

    #[test]
    fn an_image_xorriso_grew_has_a_relative_session_and_an_absolute_lba_16() {
        let Some(x) = tool("xorriso") else { return };
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("grown.iso");
        for (name, bytes) in [("a", 100_000), ("b", 3_000_000)] {
            let src = tree_with(dir.path(), name, bytes);
            run(Command::new(&x)
                .arg("-dev")
                .arg(format!("stdio:{}", image.display()))
                .args(["-rockridge", "on", "-map"])
                .arg(&src)
                .arg(format!("/{name}"))
                .arg("-commit"));
        }
        // LBA 16 holds the newest session's descriptors with the absolute end.
        let end = volume_end(0, size_at(&image, 0), blocks(&image));
        assert!(end <= blocks(&image));
        // The sessions themselves (libisofs puts the first at block 32, each
        // next one at a multiple of 32 after the one before) record their
        // own length, larger than their start here.
        let file = File::open(&image).unwrap();
        let mut disc = ImageBlocks {
            file: &file,
            name: "grown",
        };
        let starts: Vec<u32> = (32..end)
            .step_by(32)
            .filter(|&s| matches!(read_primary_descriptor(&mut disc, s), Ok(Some(_))))
            .collect();
        assert_eq!(starts.len(), 2, "{starts:?}");
        let (first, second) = (starts[0], starts[1]);
        let size = size_at(&image, first);
        assert!(
            size > first + 16 && first + size <= second,
            "{first} {size}"
        );
        assert_eq!(volume_end(first, size, second), first + size);
        let size = size_at(&image, second);
        assert_eq!(second + size, end, "libisofs records the session's length");
        assert_eq!(volume_end(second, size, end), end);
        assert_eq!(volume_end(second, size, blocks(&image)), end);
    }
}
