//! The one pass `cback verify` makes over a disc's written area: every
//! recorded block read once, unreadable blocks retried one by one and
//! reported as damaged ranges, and every file hashed (SHA-256) from the
//! blocks as they pass, so the damage scan and the manifest check share the
//! read.
//!
//! Reading and hashing overlap. Through a drive the blocks are read strictly
//! in order (a drive that seeks reads at a fraction of its speed) by the
//! calling thread into a bounded pool of page-aligned buffers
//! ([`WINDOW`] of them), and hashed on one thread per core, each file on one
//! thread, so several files of the read-ahead window hash at once. An image
//! file costs nothing to read out of order: its written area is cut at file
//! boundaries into one part per core, each read and hashed on a thread of its
//! own. SHA-256 of one file cannot be shared between cores, so one file's
//! hashing runs at one core's SHA-256 speed (SHA-NI where the CPU has it:
//! `sha2` detects it at run time).
//!
//! Buffers are page-aligned because the kernel copies into a misaligned user
//! buffer several times slower (measured: 16 bytes off a page cost 6x).

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;

use iso9660::Entry;
use sha2::{Digest, Sha256};

use crate::engine::disc::{ImageBlocks, ReadBlocks};
use crate::engine::discread::Medium;
use crate::engine::util::error_line;

const BLOCK: u64 = mmc::BLOCK_SIZE as u64;
const BS: usize = mmc::BLOCK_SIZE;

/// Blocks one scan read asks for (1 MiB).
pub const SCAN_CHUNK: u32 = 512;

/// Buffers of [`SCAN_CHUNK`] blocks read ahead of the hashing through a
/// drive (16 MiB).
pub const WINDOW: usize = 16;

/// Times an unreadable block is read again before it counts as damaged.
pub const RETRIES: u32 = 3;

/// What became of one file in the [`scan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCheck {
    /// Bytes hashed.
    pub bytes: u64,
    /// SHA-256 of what was read (unreadable blocks as zeros).
    pub sha256: [u8; 32],
    /// Blocks of the file that could not be read.
    pub unreadable: u32,
}

/// The result of one pass over the written area.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Blocks read.
    pub blocks: u32,
    /// Unreadable blocks as inclusive ranges, ascending.
    pub damaged: Vec<(u32, u32)>,
    /// Per file to check, in the order given.
    pub files: Vec<FileCheck>,
}

/// Something to tell about the scan's progress.
pub trait ScanProgress {
    /// `done` of `total` blocks read.
    fn blocks(&mut self, _done: u32, _total: u32) {}
}

impl ScanProgress for () {}

/// Reads the blocks of `ranges` (`[first, end)`, ascending) once, in order
/// through a drive, [`SCAN_CHUNK`] at a time; a chunk that fails is read
/// again block by block, each unreadable block [`RETRIES`] more times, and
/// counts as damaged (zeros) after that. Every file of `files` (its extents
/// in block order, as cedar and mkisofs record them) is hashed from the
/// blocks as they pass. `threads` is how many threads hash (at least one;
/// [`default_threads`] is one per core).
pub fn scan(
    medium: &mut Medium,
    ranges: &[(u32, u32)],
    files: &[&Entry],
    threads: usize,
    progress: &mut dyn ScanProgress,
) -> Scan {
    let threads = threads.max(1);
    let total: u32 = ranges.iter().map(|(a, b)| b.saturating_sub(*a)).sum();
    let segs = segments(files);
    let parts = match medium {
        Medium::Image { file, path } => {
            let parts = split(ranges, &segs, threads);
            let f: &File = file;
            let image = ImageBlocks { file, name: path };
            // Each part is read in order: a larger read-ahead for the file.
            if let Err(e) = nix::fcntl::posix_fadvise(
                std::os::fd::AsRawFd::as_raw_fd(f),
                0,
                0,
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_SEQUENTIAL,
            ) {
                log::debug!("posix_fadvise: {e}");
            }
            let (tx, rx) = mpsc::channel::<u32>();
            std::thread::scope(|s| {
                let workers: Vec<_> = parts
                    .iter()
                    .map(|part| {
                        let (tx, segs) = (tx.clone(), &segs);
                        s.spawn(move || {
                            let mut src = image;
                            let mut hash = Inline::new(files.len());
                            let mut part =
                                read_part(&mut src, part, segs, files.len(), &mut hash, |n| {
                                    // The receiver lives until every worker ends.
                                    let _ = tx.send(n);
                                });
                            part.sums = hash.finish();
                            part
                        })
                    })
                    .collect();
                drop(tx);
                let mut done = 0;
                for n in rx {
                    done += n;
                    progress.blocks(done, total);
                }
                workers
                    .into_iter()
                    .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect::<Vec<_>>()
            })
        }
        Medium::Drive(_) => {
            let mut done = 0;
            vec![pipelined(
                medium,
                ranges,
                &segs,
                files.len(),
                threads,
                &mut |n| {
                    done += n;
                    progress.blocks(done, total);
                },
            )]
        }
    };
    merge(parts, files.len())
}

/// One hashing thread per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One extent of a file to hash, as a byte range of the disc.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: u64,
    end: u64,
    file: usize,
}

/// Every file's extents in disc order.
fn segments(files: &[&Entry]) -> Vec<Segment> {
    let mut segs: Vec<Segment> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        for &(lba, len) in &f.extents {
            let start = u64::from(lba) * BLOCK;
            segs.push(Segment {
                start,
                end: start + u64::from(len),
                file: i,
            });
        }
    }
    segs.sort_by_key(|s| (s.start, s.file));
    segs
}

/// Cuts `ranges` into at most `parts` runs of about equal size, only where
/// no file's extents lie on both sides of the cut (so each file is hashed
/// whole by one worker).
fn split(ranges: &[(u32, u32)], segs: &[Segment], parts: usize) -> Vec<Vec<(u32, u32)>> {
    let total: u64 = ranges
        .iter()
        .map(|(a, b)| u64::from(b.saturating_sub(*a)))
        .sum();
    if parts <= 1 || total == 0 {
        return vec![ranges.to_vec()];
    }
    let cuts = allowed_cuts(ranges, &merged_spans(segs));
    parts_at(ranges, &choose_cuts(ranges, &cuts, total, parts))
}

/// Each file's span in blocks (a block at least), merged where spans
/// overlap (spans that only touch stay apart: a cut may fall between them);
/// ascending and disjoint.
fn merged_spans(segs: &[Segment]) -> Vec<(u64, u64)> {
    let mut spans: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for s in segs {
        let (a, b) = (
            s.start / BLOCK,
            s.end.div_ceil(BLOCK).max(s.start / BLOCK + 1),
        );
        let e = spans.entry(s.file).or_insert((a, b));
        *e = (e.0.min(a), e.1.max(b));
    }
    let mut sorted: Vec<(u64, u64)> = spans.into_values().collect();
    sorted.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (a, b) in sorted {
        match merged.last_mut() {
            Some(m) if a < m.1 => m.1 = m.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// Blocks a cut may fall on, ascending: the ends of the `merged` spans
/// (ascending and disjoint) and of the ranges, less those where a span
/// continues across. A range boundary inside a file's span (a file with
/// extents in two tracks) is no cut: that file would be hashed by two
/// workers. One sort and one sweep, as a disc holds many thousand files.
fn allowed_cuts(ranges: &[(u32, u32)], merged: &[(u64, u64)]) -> Vec<u64> {
    let mut cuts: Vec<u64> = merged.iter().flat_map(|&(a, b)| [a, b]).collect();
    cuts.extend(
        ranges
            .iter()
            .flat_map(|&(a, b)| [u64::from(a), u64::from(b)]),
    );
    cuts.sort_unstable();
    cuts.dedup();
    // The spans ending at or before a cut are behind every later cut too;
    // of the rest only the first can start before the cut, and the cut
    // stays if it does not.
    let mut next = 0;
    cuts.retain(|&c| {
        while merged.get(next).is_some_and(|&(_, b)| b <= c) {
            next += 1;
        }
        merged.get(next).is_none_or(|&(a, _)| c <= a)
    });
    cuts
}

/// The cuts nearest the `parts - 1` even shares of `total` (the first of
/// equally near ones), each kept if it leaves something on both sides and
/// falls after the one kept before. `cuts` ascending.
fn choose_cuts(ranges: &[(u32, u32)], cuts: &[u64], total: u64, parts: usize) -> Vec<u64> {
    // Position of each cut in the ranges laid end to end: never falls as
    // the cut rises, so it is ascending too and can be searched.
    let flat: Vec<u64> = cuts
        .iter()
        .map(|&c| {
            ranges
                .iter()
                .map(|&(a, b)| c.clamp(u64::from(a), u64::from(b)) - u64::from(a))
                .sum()
        })
        .collect();
    let mut chosen: Vec<u64> = Vec::new();
    for k in 1..parts as u64 {
        let target = total * k / parts as u64;
        // Nearest: the first cut at or past the target, or (nearer, or as
        // near and so first) the first cut at the last position before it.
        let above = flat.partition_point(|&f| f < target);
        let nearest = match (above.checked_sub(1).map(|i| flat[i]), flat.get(above)) {
            (Some(below), Some(&f)) if f - target < target - below => Some(above),
            (Some(below), _) => Some(flat.partition_point(|&f| f < below)),
            (None, Some(_)) => Some(above),
            (None, None) => None,
        };
        if let Some(i) = nearest {
            let (c, f) = (cuts[i], flat[i]);
            if f > 0 && f < total && chosen.last().is_none_or(|&l| c > l) {
                chosen.push(c);
            }
        }
    }
    chosen
}

/// `ranges` cut at the `chosen` blocks (ascending), empty runs left out.
fn parts_at(ranges: &[(u32, u32)], chosen: &[u64]) -> Vec<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    let mut lo = 0u64;
    for &hi in chosen.iter().chain(&[u64::MAX]) {
        let part: Vec<(u32, u32)> = ranges
            .iter()
            .filter_map(|&(a, b)| {
                let (a2, b2) = (u64::from(a).max(lo), u64::from(b).min(hi));
                // Both bounds came from u32 values.
                (a2 < b2).then_some((a2 as u32, b2 as u32))
            })
            .collect();
        if !part.is_empty() {
            out.push(part);
        }
        lo = hi;
    }
    out
}

/// A page-aligned buffer of [`SCAN_CHUNK`] blocks.
struct Aligned {
    raw: Vec<u8>,
    off: usize,
}

impl Aligned {
    const ALIGN: usize = 4096;

    fn new() -> Aligned {
        let raw = vec![0u8; SCAN_CHUNK as usize * BS + Self::ALIGN];
        let off = raw.as_ptr().align_offset(Self::ALIGN).min(Self::ALIGN);
        Aligned { raw, off }
    }

    fn bytes(&self, len: usize) -> &[u8] {
        &self.raw[self.off..self.off + len]
    }

    fn bytes_mut(&mut self, len: usize) -> &mut [u8] {
        &mut self.raw[self.off..self.off + len]
    }
}

/// A piece of one file in a chunk: file, byte range within the chunk.
type Piece = (usize, usize, usize);

/// What one reader found: per-file byte and unreadable-block counts, the
/// damaged ranges, and the finished hashes of the files it hashed.
#[derive(Default)]
struct Part {
    blocks: u32,
    damaged: Vec<(u32, u32)>,
    bytes: Vec<u64>,
    unreadable: Vec<u32>,
    sums: Vec<(usize, [u8; 32])>,
}

/// Where the pieces of each chunk go to be hashed.
trait Sink {
    /// `chunk` holds `len` bytes read; `pieces` name what of it belongs to
    /// which file.
    fn take(&mut self, chunk: Aligned, len: usize, pieces: Vec<Piece>);
    /// A buffer to read the next chunk into.
    fn buffer(&mut self) -> Aligned;
}

/// Reads `ranges` in order through `src` into the sink's buffers, retrying
/// failed chunks block by block; counts bytes and unreadable blocks per
/// file and calls `progress` with the blocks of each chunk.
fn read_part(
    src: &mut dyn ReadBlocks,
    ranges: &[(u32, u32)],
    segs: &[Segment],
    files: usize,
    sink: &mut dyn Sink,
    mut progress: impl FnMut(u32),
) -> Part {
    let mut part = Part {
        bytes: vec![0; files],
        unreadable: vec![0; files],
        ..Part::default()
    };
    let mut bad = vec![false; SCAN_CHUNK as usize];
    // Segments before the ranges (another part's) pass through `active`
    // once and leave it at the first chunk.
    let mut next = 0;
    let mut active: Vec<usize> = Vec::new();
    for &(first, end) in ranges {
        let mut lba = first;
        while lba < end {
            let n = SCAN_CHUNK.min(end - lba);
            let len = n as usize * BS;
            let mut buf = sink.buffer();
            let chunk = buf.bytes_mut(len);
            bad[..n as usize].fill(false);
            if let Err(e) = src.read_blocks(lba, chunk) {
                log::debug!("reading blocks {lba}..{}: {}", lba + n, error_line(&e));
                for b in 0..n {
                    let one = &mut chunk[b as usize * BS..][..BS];
                    let ok = (0..=RETRIES).any(|_| src.read_blocks(lba + b, one).is_ok());
                    if !ok {
                        one.fill(0);
                        bad[b as usize] = true;
                        let at = lba + b;
                        match part.damaged.last_mut() {
                            Some((_, last)) if *last + 1 == at => *last = at,
                            _ => part.damaged.push((at, at)),
                        }
                    }
                }
            }
            let (lo, hi) = (u64::from(lba) * BLOCK, u64::from(lba + n) * BLOCK);
            while next < segs.len() && segs[next].start < hi {
                active.push(next);
                next += 1;
            }
            let mut pieces = Vec::new();
            active.retain(|&s| {
                let seg = &segs[s];
                let (from, to) = (seg.start.max(lo), seg.end.min(hi));
                if from < to {
                    let (a, b) = ((from - lo) as usize, (to - lo) as usize);
                    pieces.push((seg.file, a, b));
                    part.bytes[seg.file] += to - from;
                    let (b0, b1) = (a / BS, b.div_ceil(BS));
                    part.unreadable[seg.file] += bad[b0..b1].iter().filter(|&&b| b).count() as u32;
                }
                seg.end > hi
            });
            sink.take(buf, len, pieces);
            lba += n;
            part.blocks += n;
            progress(n);
        }
    }
    part
}

/// Hashing on the reading thread (each image part's worker).
struct Inline {
    hashers: Vec<Option<Sha256>>,
    spare: Option<Aligned>,
}

impl Inline {
    fn new(files: usize) -> Inline {
        Inline {
            hashers: (0..files).map(|_| None).collect(),
            spare: None,
        }
    }

    fn finish(self) -> Vec<(usize, [u8; 32])> {
        self.hashers
            .into_iter()
            .enumerate()
            .filter_map(|(i, h)| Some((i, h?.finalize().into())))
            .collect()
    }
}

impl Sink for Inline {
    fn take(&mut self, chunk: Aligned, len: usize, pieces: Vec<Piece>) {
        let bytes = chunk.bytes(len);
        for (file, a, b) in pieces {
            self.hashers[file]
                .get_or_insert_with(Sha256::new)
                .update(&bytes[a..b]);
        }
        self.spare = Some(chunk);
    }

    fn buffer(&mut self) -> Aligned {
        self.spare.take().unwrap_or_else(Aligned::new)
    }
}

/// A chunk shared by the hashing threads; its buffer goes back to the pool
/// when the last of them is done with it.
struct Shared {
    buf: Option<Aligned>,
    len: usize,
    pool: Sender<Aligned>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(b) = self.buf.take() {
            // The pool is gone only once reading is over.
            let _ = self.pool.send(b);
        }
    }
}

/// Work for one hashing thread: a chunk and the pieces of its files in it.
type Work = (Arc<Shared>, Vec<(usize, usize, usize)>);

/// Hashing on [`WINDOW`]-bounded threads: each file goes, when its first
/// piece comes, to the thread with the fewest bytes queued, and stays there.
struct Pool {
    queues: Vec<SyncSender<Work>>,
    queued: Arc<Vec<AtomicU64>>,
    owner: Vec<Option<usize>>,
    free: Receiver<Aligned>,
    back: Sender<Aligned>,
    made: usize,
}

impl Sink for Pool {
    fn take(&mut self, chunk: Aligned, len: usize, pieces: Vec<Piece>) {
        let shared = Arc::new(Shared {
            buf: Some(chunk),
            len,
            pool: self.back.clone(),
        });
        let mut per: Vec<Vec<Piece>> = vec![Vec::new(); self.queues.len()];
        for p in pieces {
            let t = *self.owner[p.0].get_or_insert_with(|| {
                (0..self.queued.len())
                    .min_by_key(|&t| self.queued[t].load(Ordering::Relaxed))
                    .unwrap_or(0)
            });
            self.queued[t].fetch_add((p.2 - p.1) as u64, Ordering::Relaxed);
            per[t].push(p);
        }
        for (t, pieces) in per.into_iter().enumerate() {
            if !pieces.is_empty() {
                // A hashing thread ends only when its queue closes.
                let _ = self.queues[t].send((Arc::clone(&shared), pieces));
            }
        }
    }

    fn buffer(&mut self) -> Aligned {
        if self.made < WINDOW {
            if let Ok(b) = self.free.try_recv() {
                return b;
            }
            self.made += 1;
            return Aligned::new();
        }
        // Every buffer is out: wait for the hashing to give one back.
        self.free.recv().unwrap_or_else(|_| Aligned::new())
    }
}

/// Reads in order on this thread and hashes on `threads` others.
fn pipelined(
    src: &mut dyn ReadBlocks,
    ranges: &[(u32, u32)],
    segs: &[Segment],
    files: usize,
    threads: usize,
    progress: &mut dyn FnMut(u32),
) -> Part {
    let (back, free) = mpsc::channel();
    let queued: Arc<Vec<AtomicU64>> = Arc::new((0..threads).map(|_| AtomicU64::new(0)).collect());
    std::thread::scope(|s| {
        let mut queues = Vec::new();
        let mut hashers = Vec::new();
        for t in 0..threads {
            let (tx, rx) = mpsc::sync_channel::<Work>(WINDOW);
            queues.push(tx);
            let queued = Arc::clone(&queued);
            hashers.push(s.spawn(move || {
                let mut sums: BTreeMap<usize, Sha256> = BTreeMap::new();
                for (chunk, pieces) in rx {
                    if let Some(buf) = &chunk.buf {
                        let bytes = buf.bytes(chunk.len);
                        for (file, a, b) in pieces {
                            sums.entry(file).or_default().update(&bytes[a..b]);
                            queued[t].fetch_sub((b - a) as u64, Ordering::Relaxed);
                        }
                    }
                }
                sums.into_iter()
                    .map(|(f, h)| (f, h.finalize().into()))
                    .collect::<Vec<(usize, [u8; 32])>>()
            }));
        }
        let mut pool = Pool {
            queues,
            queued: Arc::clone(&queued),
            owner: vec![None; files],
            free,
            back,
            made: 0,
        };
        let mut part = read_part(src, ranges, segs, files, &mut pool, progress);
        drop(pool);
        for h in hashers {
            part.sums
                .extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        part
    })
}

/// The parts' findings as one [`Scan`]; a file no part hashed (no bytes in
/// the ranges) has the SHA-256 of nothing.
fn merge(parts: Vec<Part>, files: usize) -> Scan {
    let empty: [u8; 32] = Sha256::new().finalize().into();
    let mut out = Scan {
        files: vec![
            FileCheck {
                sha256: empty,
                ..FileCheck::default()
            };
            files
        ],
        ..Scan::default()
    };
    let mut damaged = Vec::new();
    for p in parts {
        out.blocks += p.blocks;
        damaged.extend(p.damaged);
        for (fc, (b, u)) in out.files.iter_mut().zip(p.bytes.iter().zip(&p.unreadable)) {
            fc.bytes += b;
            fc.unreadable += u;
        }
        for (f, sum) in p.sums {
            out.files[f].sha256 = sum;
        }
    }
    damaged.sort_unstable();
    for (a, b) in damaged {
        match out.damaged.last_mut() {
            Some((_, last)) if *last + 1 >= a => *last = (*last).max(b),
            _ => out.damaged.push((a, b)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seg(a: u64, b: u64, file: usize) -> Segment {
        Segment {
            start: a * BLOCK,
            end: b * BLOCK,
            file,
        }
    }

    #[test]
    fn image_parts_are_cut_between_files_only() {
        let segs = vec![seg(10, 50, 0), seg(50, 60, 1), seg(60, 100, 2)];
        assert_eq!(
            split(&[(0, 100)], &segs, 2),
            vec![vec![(0, 50)], vec![(50, 100)]]
        );
        // A file in two extents on both sides of the middle keeps them together.
        let segs = vec![seg(10, 40, 0), seg(40, 60, 1), seg(60, 90, 0)];
        assert_eq!(
            split(&[(0, 100)], &segs, 2),
            vec![vec![(0, 10)], vec![(10, 100)]]
        );
        // Several ranges (tracks of a write-once disc).
        let segs = vec![seg(0, 10, 0), seg(100, 110, 1)];
        assert_eq!(
            split(&[(0, 10), (100, 110)], &segs, 2),
            vec![vec![(0, 10)], vec![(100, 110)]]
        );
        assert_eq!(split(&[(0, 10)], &segs, 1), vec![vec![(0, 10)]]);
        // A file with extents in two tracks: the boundary between the tracks
        // falls inside its span and is no cut.
        let segs = vec![
            seg(0, 5, 0),
            seg(5, 10, 1),
            seg(100, 110, 1),
            seg(110, 120, 2),
        ];
        assert_eq!(
            split(&[(0, 10), (100, 120)], &segs, 2),
            vec![vec![(0, 10), (100, 110)], vec![(110, 120)]]
        );
    }

    /// [`allowed_cuts`] as it was before the sweep: every cut tested against
    /// every span.
    fn cuts_reference(ranges: &[(u32, u32)], merged: &[(u64, u64)]) -> Vec<u64> {
        let mut cuts: Vec<u64> = merged
            .iter()
            .flat_map(|&(a, b)| [a, b])
            .chain(
                ranges
                    .iter()
                    .flat_map(|&(a, b)| [u64::from(a), u64::from(b)]),
            )
            .collect();
        cuts.retain(|&c| !merged.iter().any(|&(a, b)| a < c && c < b));
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }

    /// [`choose_cuts`] as it was before the search: every target against
    /// every cut.
    fn choose_reference(ranges: &[(u32, u32)], cuts: &[u64], total: u64, parts: usize) -> Vec<u64> {
        let flat = |c: u64| -> u64 {
            ranges
                .iter()
                .map(|&(a, b)| c.clamp(u64::from(a), u64::from(b)) - u64::from(a))
                .sum()
        };
        let mut chosen: Vec<u64> = Vec::new();
        for k in 1..parts as u64 {
            let target = total * k / parts as u64;
            if let Some(&c) = cuts.iter().min_by_key(|&&c| flat(c).abs_diff(target)) {
                if flat(c) > 0 && flat(c) < total && chosen.last().is_none_or(|&l| c > l) {
                    chosen.push(c);
                }
            }
        }
        chosen
    }

    /// A regular file with these extents (block, bytes).
    fn file(extents: Vec<(u32, u32)>) -> Entry {
        Entry {
            name: Vec::new(),
            iso_name: Vec::new(),
            kind: iso9660::EntryKind::File,
            meta: iso9660::Metadata::default(),
            nlink: 1,
            serial: None,
            size: extents.iter().map(|&(_, n)| u64::from(n)).sum(),
            extents,
            at: 0,
        }
    }

    /// Tracks (some empty, some back to back) and files' extents (block,
    /// bytes) in and around them: overlapping, adjacent (starting at the
    /// block after the extent before), several per file, empty, outside
    /// every track, and files sharing another's extents (hard links).
    #[allow(clippy::type_complexity)]
    fn layouts() -> impl Strategy<Value = (Vec<(u32, u32)>, Vec<Vec<(u32, u32)>>)> {
        use proptest::collection::vec;
        let ranges = vec((0u32..20, 0u32..80), 1..5).prop_map(|v| {
            let mut at = 0;
            v.into_iter()
                .map(|(gap, len)| {
                    let a = at + gap;
                    at = a + len;
                    (a, at)
                })
                .collect::<Vec<_>>()
        });
        let bytes = prop_oneof![Just(0u32), 1u32..4 * BS as u32];
        let extent = (any::<bool>(), 0u32..360, bytes);
        let files = vec(vec(extent, 0..4), 0..40);
        let links = vec(any::<proptest::sample::Index>(), 0..6);
        (ranges, files, links).prop_map(|(ranges, files, links)| {
            let mut end = 0;
            let mut out: Vec<Vec<(u32, u32)>> = files
                .into_iter()
                .map(|f| {
                    f.into_iter()
                        .map(|(follow, lba, bytes)| {
                            let lba = if follow { end } else { lba };
                            end = lba + bytes.div_ceil(BS as u32);
                            (lba, bytes)
                        })
                        .collect()
                })
                .collect();
            for l in links {
                if !out.is_empty() {
                    let linked = out[l.index(out.len())].clone();
                    out.push(linked);
                }
            }
            (ranges, out)
        })
    }

    proptest! {
        #[test]
        fn cuts_and_parts_are_those_of_the_plain_search(
            (ranges, files) in layouts(),
            parts in 1usize..9,
            others in proptest::collection::btree_set(0u64..420, 0..30),
        ) {
            let entries: Vec<Entry> = files.into_iter().map(file).collect();
            let refs: Vec<&Entry> = entries.iter().collect();
            let segs = segments(&refs);
            let merged = merged_spans(&segs);
            let cuts = allowed_cuts(&ranges, &merged);
            prop_assert_eq!(&cuts, &cuts_reference(&ranges, &merged));
            let total: u64 = ranges.iter().map(|&(a, b)| u64::from(b - a)).sum();
            let want = if parts <= 1 || total == 0 {
                vec![ranges.clone()]
            } else {
                parts_at(&ranges, &choose_reference(&ranges, &cuts, total, parts))
            };
            prop_assert_eq!(split(&ranges, &segs, parts), want);
            // Any ascending cuts: ties between the cuts before and after a
            // target, and runs of cuts at one position (outside the tracks).
            if total > 0 {
                let others: Vec<u64> = others.into_iter().collect();
                prop_assert_eq!(
                    choose_cuts(&ranges, &others, total, parts),
                    choose_reference(&ranges, &others, total, parts)
                );
            }
        }
    }

    /// A source whose blocks hold their own number, with some unreadable.
    struct Numbered(Vec<u32>);

    use crate::engine::disc::DiscError;

    impl ReadBlocks for Numbered {
        fn name(&self) -> &str {
            "numbered"
        }

        fn read_blocks(&mut self, lba: u32, buf: &mut [u8]) -> Result<(), DiscError> {
            for (i, b) in buf.chunks_mut(BS).enumerate() {
                let at = lba + i as u32;
                if self.0.contains(&at) {
                    return Err(DiscError::Image {
                        image: "numbered".into(),
                        lba: at,
                        source: std::io::Error::other("unreadable"),
                    });
                }
                b.fill((at % 251) as u8);
            }
            Ok(())
        }
    }

    #[test]
    fn the_pipeline_and_the_inline_hash_agree_with_a_plain_hash() {
        let segs = vec![
            seg(3, 700, 0),
            seg(700, 701, 1),
            seg(701, 1800, 2),
            seg(1800, 1900, 0),
        ];
        let ranges = [(0, 2000)];
        let want = |f: usize| -> [u8; 32] {
            let mut h = Sha256::new();
            for s in segs.iter().filter(|s| s.file == f) {
                for lba in s.start / BLOCK..s.end / BLOCK {
                    let v = if lba == 1000 { 0 } else { (lba % 251) as u8 };
                    h.update([v; BS]);
                }
            }
            h.finalize().into()
        };
        for threads in [1, 2, 3] {
            let mut p = pipelined(
                &mut Numbered(vec![1000]),
                &ranges,
                &segs,
                3,
                threads,
                &mut |_| {},
            );
            let mut inline = Inline::new(3);
            let mut q = read_part(
                &mut Numbered(vec![1000]),
                &ranges,
                &segs,
                3,
                &mut inline,
                |_| {},
            );
            q.sums = inline.finish();
            for part in [&mut p, &mut q] {
                part.sums.sort_unstable();
                assert_eq!(part.damaged, vec![(1000, 1000)]);
                assert_eq!(part.unreadable, vec![0, 0, 1]);
                assert_eq!(part.blocks, 2000);
                for f in 0..3 {
                    assert_eq!(part.sums[f], (f, want(f)), "file {f}, {threads} thread(s)");
                }
            }
        }
    }

    #[test]
    fn merged_parts_join_damage_across_a_cut() {
        let a = Part {
            blocks: 10,
            damaged: vec![(2, 3), (8, 9)],
            bytes: vec![5, 0],
            unreadable: vec![1, 0],
            sums: vec![(0, [1; 32])],
        };
        let b = Part {
            blocks: 10,
            damaged: vec![(10, 12)],
            bytes: vec![0, 7],
            unreadable: vec![0, 2],
            sums: vec![],
        };
        let s = merge(vec![b, a], 3);
        assert_eq!(s.blocks, 20);
        assert_eq!(s.damaged, vec![(2, 3), (8, 12)]);
        assert_eq!(s.files[0].sha256, [1; 32]);
        assert_eq!(s.files[1].bytes, 7);
        assert_eq!(s.files[1].unreadable, 2);
        // Nothing read: the hash of nothing.
        assert_eq!(
            s.files[2].sha256,
            <[u8; 32]>::from(Sha256::new().finalize())
        );
    }
}
