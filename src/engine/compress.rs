//! gzip and bzip2 at level 9 on every core, as one ordinary stream.
//!
//! The bytes written are cut into chunks that worker threads (one per core)
//! compress while the caller goes on reading files; the results are put back
//! in order, so the output is a single gzip member or a single bzip2 stream
//! that every reader takes (GNU tar, `gzip -t`, `bzip2 -t`, Python's
//! `tarfile` in both file and stream mode), the way pigz and lbzip2 write:
//!
//! - **gzip**: each chunk is a raw deflate stream primed with the last
//!   32 KiB of the chunk before it (the whole deflate window, so nothing is
//!   lost against one sequential stream) and ended with a sync flush; the
//!   last one is finished. The CRC-32 of each chunk is combined in order.
//! - **bzip2**: bzip2 compresses independent blocks of at most 900 kB (after
//!   its first run-length stage) anyway. Each chunk is cut so that it fits
//!   one such block, compressed as a stream of its own, and its block is
//!   spliced bit by bit into the one output stream, whose combined CRC is
//!   folded from the block CRCs.
//!
//! Memory is bounded: at most two chunks per worker are in flight.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Input bytes per gzip chunk (as pigz's default).
const GZ_CHUNK: usize = 128 * 1024;
/// The deflate window: what each chunk is primed with.
const GZ_DICT: usize = 32 * 1024;
/// bzip2 -9's block holds 899,981 bytes after its run-length stage; a chunk
/// is cut below that, with room to spare, so it always makes one block.
const BZ_BLOCK_RLE: usize = 899_000;
/// The 48-bit magic that starts a bzip2 block.
const BZ_BLOCK_MAGIC: u64 = 0x3141_5926_5359;
/// The 48-bit magic that ends a bzip2 stream.
const BZ_EOS_MAGIC: u64 = 0x1772_4538_5090;

/// How many workers compress: one per core the process may run on.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What a worker hands back for one chunk.
struct Done {
    bytes: Vec<u8>,
    /// gzip: the chunk's CRC-32 (with its length); bzip2: unused.
    crc: flate2::Crc,
}

struct Job {
    data: Vec<u8>,
    dict: Vec<u8>,
    last: bool,
    reply: SyncSender<io::Result<Done>>,
}

#[derive(Clone, Copy)]
enum Codec {
    Gzip,
    Bzip2,
}

/// Worker threads taking jobs from one queue; each job answers on its own
/// channel, which the writer keeps in submission order.
struct Pool {
    jobs: Option<SyncSender<Job>>,
    threads: Vec<JoinHandle<()>>,
    inflight: VecDeque<Receiver<io::Result<Done>>>,
    limit: usize,
}

impl Pool {
    fn new(codec: Codec) -> Pool {
        let n = workers();
        let (tx, rx) = mpsc::sync_channel::<Job>(n);
        let rx = Arc::new(Mutex::new(rx));
        let threads = (0..n)
            .map(|_| {
                let rx = Arc::clone(&rx);
                std::thread::spawn(move || worker(codec, &rx))
            })
            .collect();
        Pool {
            jobs: Some(tx),
            threads,
            inflight: VecDeque::new(),
            limit: 2 * n,
        }
    }

    /// Queues a chunk; returns finished chunks (in order) once too many are
    /// in flight, so memory stays bounded.
    fn submit(&mut self, data: Vec<u8>, dict: Vec<u8>, last: bool) -> io::Result<Vec<Done>> {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            data,
            dict,
            last,
            reply,
        };
        self.jobs
            .as_ref()
            .and_then(|tx| tx.send(job).ok())
            .ok_or_else(worker_gone)?;
        self.inflight.push_back(answer);
        let mut done = Vec::new();
        while self.inflight.len() > self.limit {
            done.push(self.next()?);
        }
        Ok(done)
    }

    /// The oldest chunk in flight, once it is compressed.
    fn next(&mut self) -> io::Result<Done> {
        let answer = self.inflight.pop_front().ok_or_else(worker_gone)?;
        answer.recv().map_err(|_| worker_gone())?
    }

    /// Every chunk still in flight, in order.
    fn drain(&mut self) -> io::Result<Vec<Done>> {
        let mut done = Vec::new();
        while !self.inflight.is_empty() {
            done.push(self.next()?);
        }
        Ok(done)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs = None;
        self.inflight.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn worker_gone() -> io::Error {
    io::Error::other("a compression worker stopped")
}

fn worker(codec: Codec, jobs: &Mutex<Receiver<Job>>) {
    let mut deflate = flate2::Compress::new(flate2::Compression::best(), false);
    loop {
        let job = match jobs.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let done = match codec {
            Codec::Gzip => deflate_chunk(&mut deflate, &job.data, &job.dict, job.last),
            Codec::Bzip2 => bzip2_chunk(&job.data),
        };
        // The writer may have gone away (an error, or dropped): nothing to do.
        let _ = job.reply.send(done);
    }
}

/// One raw deflate piece: primed with `dict`, ended by a sync flush (or
/// finished when `last`).
fn deflate_chunk(
    z: &mut flate2::Compress,
    data: &[u8],
    dict: &[u8],
    last: bool,
) -> io::Result<Done> {
    z.reset();
    if !dict.is_empty() {
        z.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let flush = if last {
        flate2::FlushCompress::Finish
    } else {
        flate2::FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    let start_in = z.total_in();
    loop {
        let consumed = usize::try_from(z.total_in() - start_in).unwrap_or(data.len());
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(4096));
        }
        let status = z
            .compress_vec(&data[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let consumed = usize::try_from(z.total_in() - start_in).unwrap_or(data.len());
        // Finished at the stream's end; a sync flush is complete once all
        // input is taken and the compressor stopped short of its room.
        if status == flate2::Status::StreamEnd
            || (!last && consumed == data.len() && out.capacity() > out.len())
        {
            break;
        }
    }
    let mut crc = flate2::Crc::new();
    crc.update(data);
    Ok(Done { bytes: out, crc })
}

/// One bzip2 stream of exactly one block (or none for empty input).
fn bzip2_chunk(data: &[u8]) -> io::Result<Done> {
    let mut enc = bzip2::write::BzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        bzip2::Compression::best(),
    );
    enc.write_all(data)?;
    let bytes = enc.finish()?;
    Ok(Done {
        bytes,
        crc: flate2::Crc::new(),
    })
}

/// Writes one gzip member (level 9), compressed on every core.
pub struct GzipWriter<W: Write> {
    inner: Option<W>,
    pool: Pool,
    chunk: Vec<u8>,
    tail: Vec<u8>,
    crc: flate2::Crc,
    header_written: bool,
}

impl<W: Write> GzipWriter<W> {
    /// A writer whose compressed bytes go to `inner`.
    pub fn new(inner: W) -> GzipWriter<W> {
        GzipWriter {
            inner: Some(inner),
            pool: Pool::new(Codec::Gzip),
            chunk: Vec::with_capacity(GZ_CHUNK),
            tail: Vec::new(),
            crc: flate2::Crc::new(),
            header_written: false,
        }
    }

    fn inner(&mut self) -> io::Result<&mut W> {
        self.inner
            .as_mut()
            .ok_or_else(|| io::Error::other("gzip stream already finished"))
    }

    fn emit(&mut self, done: Vec<Done>) -> io::Result<()> {
        if !self.header_written {
            // The header flate2's GzEncoder writes at level 9: no name, no
            // time, XFL 2 (best compression), OS 255 (unknown).
            self.inner()?
                .write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255])?;
            self.header_written = true;
        }
        for d in done {
            self.crc.combine(&d.crc);
            self.inner()?.write_all(&d.bytes)?;
        }
        Ok(())
    }

    fn send(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.chunk, Vec::with_capacity(GZ_CHUNK));
        // This chunk is primed with the window before it; the next one with
        // the last 32 KiB before its start (reaching back past a short chunk).
        let primed = std::mem::take(&mut self.tail);
        let keep = data.len().min(GZ_DICT);
        let mut tail = primed[primed.len() - (GZ_DICT - keep).min(primed.len())..].to_vec();
        tail.extend_from_slice(&data[data.len() - keep..]);
        self.tail = tail;
        let done = self.pool.submit(data, primed, last)?;
        self.emit(done)
    }

    /// Compresses what is left, writes the trailer and returns `inner`.
    pub fn finish(mut self) -> io::Result<W> {
        self.send(true)?;
        let done = self.pool.drain()?;
        self.emit(done)?;
        let sum = self.crc.sum().to_le_bytes();
        let len = self.crc.amount().to_le_bytes();
        let inner = self.inner()?;
        inner.write_all(&sum)?;
        inner.write_all(&len)?;
        self.inner
            .take()
            .ok_or_else(|| io::Error::other("gzip stream already finished"))
    }
}

impl<W: Write> Write for GzipWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(GZ_CHUNK - self.chunk.len());
        self.chunk.extend_from_slice(&buf[..n]);
        if self.chunk.len() == GZ_CHUNK {
            self.send(false)?;
        }
        Ok(n)
    }

    /// Compressed data cannot be flushed without ending the stream; this
    /// only flushes what is already compressed.
    fn flush(&mut self) -> io::Result<()> {
        self.inner()?.flush()
    }
}

/// Writes one bzip2 stream (level 9, 900 kB blocks), compressed on every
/// core.
pub struct Bzip2Writer<W: Write> {
    bits: BitWriter<W>,
    pool: Pool,
    chunk: Vec<u8>,
    /// bzip2's run-length stage: the byte of the current run, its length so
    /// far (a run is cut at 255), and the stage's output length for the chunk.
    run_byte: Option<u8>,
    run_len: usize,
    rle_len: usize,
    crc: u32,
}

impl<W: Write> Bzip2Writer<W> {
    /// A writer whose compressed bytes go to `inner`.
    pub fn new(inner: W) -> Bzip2Writer<W> {
        Bzip2Writer {
            bits: BitWriter::new(inner),
            pool: Pool::new(Codec::Bzip2),
            chunk: Vec::with_capacity(BZ_BLOCK_RLE),
            run_byte: None,
            run_len: 0,
            rle_len: 0,
            crc: 0,
        }
    }

    /// Bytes bzip2's first stage makes of a run of `n` (at most 255) bytes.
    fn rle_cost(n: usize) -> usize {
        if n >= 4 {
            5
        } else {
            n
        }
    }

    /// Adds the longest prefix of `buf` that keeps the chunk within one
    /// block; returns its length.
    fn take(&mut self, buf: &[u8]) -> usize {
        let mut taken = 0;
        for &b in buf {
            // The stage's length if `b` is added: a new run starts, or the
            // current one grows (its cost changes only at 1..=4 bytes).
            let (len, cost) = match self.run_byte {
                Some(r) if r == b && self.run_len < 255 => (
                    self.run_len + 1,
                    Self::rle_cost(self.run_len + 1) - Self::rle_cost(self.run_len),
                ),
                _ => (1, 1),
            };
            if self.rle_len + cost > BZ_BLOCK_RLE {
                break;
            }
            self.run_byte = Some(b);
            self.run_len = len;
            self.rle_len += cost;
            taken += 1;
        }
        self.chunk.extend_from_slice(&buf[..taken]);
        taken
    }

    fn emit(&mut self, done: Vec<Done>) -> io::Result<()> {
        if self.bits.written == 0 {
            self.bits.put_bytes(b"BZh9")?;
        }
        for d in done {
            let (crc, end) = single_block(&d.bytes)?;
            self.crc = self.crc.rotate_left(1) ^ crc;
            self.bits.put_bits_from(&d.bytes, 32, end)?;
        }
        Ok(())
    }

    fn send(&mut self) -> io::Result<()> {
        let data = std::mem::replace(&mut self.chunk, Vec::with_capacity(BZ_BLOCK_RLE));
        self.run_byte = None;
        self.run_len = 0;
        self.rle_len = 0;
        if data.is_empty() {
            return Ok(());
        }
        let done = self.pool.submit(data, Vec::new(), false)?;
        self.emit(done)
    }

    /// Compresses what is left, writes the end of stream and returns `inner`.
    pub fn finish(mut self) -> io::Result<W> {
        self.send()?;
        let done = self.pool.drain()?;
        self.emit(done)?;
        self.bits.put(BZ_EOS_MAGIC, 48)?;
        self.bits.put(u64::from(self.crc), 32)?;
        self.bits.finish()
    }
}

impl<W: Write> Write for Bzip2Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let taken = self.take(buf);
        if taken < buf.len() {
            self.send()?;
            if taken == 0 {
                // The chunk was full before this call; a new one always
                // takes the first byte, so a write never returns 0.
                return Ok(self.take(buf));
            }
        }
        Ok(taken)
    }

    /// Only flushes what is already compressed.
    fn flush(&mut self) -> io::Result<()> {
        self.bits.inner.flush()
    }
}

/// Reads `n` (at most 64) bits at bit offset `at` of `bytes`, MSB first.
fn get_bits(bytes: &[u8], at: usize, n: usize) -> Option<u64> {
    let mut v = 0u64;
    for i in at..at + n {
        let byte = *bytes.get(i / 8)?;
        v = (v << 1) | u64::from((byte >> (7 - i % 8)) & 1);
    }
    Some(v)
}

/// Checks that `stream` (a whole bzip2 stream from one chunk) holds exactly
/// one block; returns the block's CRC and the bit offset where it ends.
fn single_block(stream: &[u8]) -> io::Result<(u32, usize)> {
    let bad = |what: &str| io::Error::other(format!("bzip2 chunk: {what}"));
    if stream.len() < 14 || &stream[..4] != b"BZh9" {
        return Err(bad("not a level-9 stream"));
    }
    if get_bits(stream, 32, 48) != Some(BZ_BLOCK_MAGIC) {
        return Err(bad("no block"));
    }
    let crc = u32::from_be_bytes([stream[10], stream[11], stream[12], stream[13]]);
    let total = stream.len() * 8;
    // One block: the stream's CRC is the block's, right after the end
    // magic, followed by 0..=7 zero bits of padding.
    for pad in 0..8 {
        let Some(start) = total.checked_sub(80 + pad) else {
            break;
        };
        if get_bits(stream, start, 48) == Some(BZ_EOS_MAGIC)
            && get_bits(stream, start + 48, 32) == Some(u64::from(crc))
            && get_bits(stream, start + 80, pad) == Some(0)
        {
            return Ok((crc, start));
        }
    }
    Err(bad("more than one block"))
}

/// Writes a bit stream, MSB first, as bzip2 does.
struct BitWriter<W: Write> {
    inner: W,
    acc: u64,
    nbits: u32,
    buf: Vec<u8>,
    written: u64,
}

impl<W: Write> BitWriter<W> {
    fn new(inner: W) -> BitWriter<W> {
        BitWriter {
            inner,
            acc: 0,
            nbits: 0,
            buf: Vec::with_capacity(64 * 1024),
            written: 0,
        }
    }

    /// Appends the low `n` (at most 56) bits of `v`.
    fn put(&mut self, v: u64, n: u32) -> io::Result<()> {
        debug_assert!(n <= 56);
        self.acc = (self.acc << n) | (v & ((1u64 << n) - 1));
        self.nbits += n;
        self.written += u64::from(n);
        while self.nbits >= 8 {
            self.nbits -= 8;
            self.buf.push((self.acc >> self.nbits) as u8);
        }
        if self.buf.len() >= 64 * 1024 {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn put_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        for &b in bytes {
            self.put(u64::from(b), 8)?;
        }
        Ok(())
    }

    /// Appends bits `from..to` of `bytes`.
    fn put_bits_from(&mut self, bytes: &[u8], from: usize, to: usize) -> io::Result<()> {
        let mut at = from;
        // Up to a byte boundary of the source, then whole bytes, then the rest.
        while at < to && !at.is_multiple_of(8) {
            self.put(get_bits(bytes, at, 1).unwrap_or(0), 1)?;
            at += 1;
        }
        while at + 8 <= to {
            self.put(u64::from(bytes[at / 8]), 8)?;
            at += 8;
        }
        if at < to {
            let n = to - at;
            self.put(get_bits(bytes, at, n).unwrap_or(0), n as u32)?;
        }
        Ok(())
    }

    /// Pads to a byte with zeros, writes everything and returns the sink.
    fn finish(mut self) -> io::Result<W> {
        if self.nbits > 0 {
            let pad = 8 - self.nbits;
            self.put(0, pad)?;
        }
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        Ok(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Text-like and incompressible bytes, with long runs in between.
    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        let words: [&[u8]; 6] = [
            b"backup ",
            b"cedar ",
            b"disc\n",
            b"2026-12-01 ",
            b"log ",
            b"x",
        ];
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 10 {
                0 => out.extend(std::iter::repeat_n(
                    (x >> 8) as u8,
                    (x >> 16) as usize % 700,
                )),
                1 => out.extend((0..(x >> 20) % 5000).map(|i| (x >> (i % 50)) as u8 ^ i as u8)),
                _ => out.extend_from_slice(words[(x >> 32) as usize % words.len()]),
            }
        }
        out.truncate(len);
        out
    }

    fn gz(data: &[u8], step: usize) -> Vec<u8> {
        let mut w = GzipWriter::new(Vec::new());
        for piece in data.chunks(step.max(1)) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap()
    }

    fn bz(data: &[u8], step: usize) -> Vec<u8> {
        let mut w = Bzip2Writer::new(Vec::new());
        for piece in data.chunks(step.max(1)) {
            w.write_all(piece).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn gzip_is_one_member_that_reads_back() {
        for &(len, step) in &[(0, 1), (1, 1), (GZ_CHUNK, 7777), (GZ_CHUNK * 5 + 3, 65536)] {
            let data = sample(len, len as u64 + 1);
            let out = gz(&data, step);
            // A single-member decoder reads every byte: one member.
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "len {len}");
            let mut rest = Vec::new();
            let mut d = flate2::bufread::GzDecoder::new(&out[..]);
            d.read_to_end(&mut rest).unwrap();
            assert!(d.into_inner().is_empty(), "trailing bytes after the member");
        }
    }

    #[test]
    fn gzip_size_matches_one_sequential_stream() {
        let data = sample(3 << 20, 7);
        let ours = gz(&data, 100_000).len();
        let mut seq = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        seq.write_all(&data).unwrap();
        let theirs = seq.finish().unwrap().len();
        // Primed with the window, chunks cost only their flush markers.
        assert!(
            (ours as f64) < theirs as f64 * 1.002,
            "parallel {ours} vs sequential {theirs}"
        );
    }

    #[test]
    fn bzip2_is_one_stream_that_reads_back() {
        for &(len, step) in &[
            (0, 1),
            (1, 1),
            (BZ_BLOCK_RLE - 1, 4096),
            (BZ_BLOCK_RLE * 3 + 17, 300_000),
        ] {
            let data = sample(len, len as u64 + 3);
            let out = bz(&data, step);
            // A single-stream decoder reads every byte: one stream.
            let mut back = Vec::new();
            bzip2::read::BzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back.len(), data.len(), "len {len}");
            assert!(back == data, "len {len}: data differs");
        }
    }

    #[test]
    fn bzip2_runs_cut_at_the_block_limit() {
        // Long runs shrink in the first stage (255 bytes -> 5), runs of four
        // grow (4 -> 5): chunks must still fit one block either way.
        let runs: Vec<u8> = (0..3_000_000u32).map(|i| (i / 300) as u8).collect();
        let fours: Vec<u8> = (0..2_000_000u32).map(|i| (i / 4) as u8).collect();
        for data in [runs, fours] {
            let out = bz(&data, 1 << 20);
            let mut back = Vec::new();
            bzip2::read::BzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
            assert!(back == data);
        }
    }

    #[test]
    fn bzip2_write_after_an_exactly_full_chunk_takes_the_byte() {
        // No two neighbours equal: every byte costs one in the first stage,
        // so one write fills the chunk to the limit exactly.
        let full: Vec<u8> = (0..BZ_BLOCK_RLE).map(|i| (i % 251) as u8).collect();
        let mut w = Bzip2Writer::new(Vec::new());
        w.write_all(&full).unwrap();
        assert_eq!(w.write(b"x").unwrap(), 1);
        let out = w.finish().unwrap();
        let mut back = Vec::new();
        bzip2::read::BzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(
            back.len() == full.len() + 1
                && back[..full.len()] == full[..]
                && back[full.len()] == b'x'
        );
    }

    #[test]
    fn bzip2_size_matches_one_sequential_stream() {
        let data = sample(4 << 20, 11);
        let ours = bz(&data, 100_000).len();
        let mut seq = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        seq.write_all(&data).unwrap();
        let theirs = seq.finish().unwrap().len();
        assert!(
            (ours as f64) < theirs as f64 * 1.01,
            "parallel {ours} vs sequential {theirs}"
        );
    }

    #[test]
    fn single_block_refuses_other_streams() {
        assert!(single_block(b"BZh9").is_err());
        let two = {
            // Two blocks: more than 900 kB of incompressible first-stage output.
            let data = sample(2_000_000, 5);
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        };
        assert!(single_block(&two).is_err());
    }
}
