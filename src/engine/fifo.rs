//! A bounded FIFO between the image writer and the drive, as libburn's fifo
//! and growisofs' ring buffer: a producer thread runs
//! [`iso9660::Layout::write`] into a fixed set of chunks while the drive
//! pulls them through [`std::io::Read`] (what
//! [`mmc::Drive::write_session`] takes), so a slow file read overlaps drive
//! writing and does not starve the drive, and memory stays at the chunks
//! allocated up front whatever the image size.
//!
//! Failures travel both ways: a producer error (a staged file that changed
//! or shrank, an I/O error) reaches the consumer as a read error at once,
//! so the drive stops and the track is never silently short; a consumer that
//! stops (a drive error) drops its end and the producer's next write fails
//! with [`io::ErrorKind::BrokenPipe`]. The end of the data is only ever
//! signalled by [`FifoWriter::finish`]: a producer that is dropped without it
//! (a panic, an early return) is an error too, never an end of file.
//!
//! ```
//! use std::io::{Read, Write};
//! use cedar::engine::fifo::{pump, FifoConfig};
//!
//! let (got, produced) = pump(
//!     FifoConfig::default(),
//!     |w| w.write_all(&vec![7u8; 1 << 20]),
//!     |r, gauge| {
//!         let mut all = Vec::new();
//!         r.read_to_end(&mut all).map(|_| (all.len(), gauge.level().capacity))
//!     },
//! );
//! produced?;
//! let (len, capacity) = got?;
//! assert_eq!((len, capacity), (1 << 20, FifoConfig::default().total()));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Chunks are whole multiples of this: the 32 KiB a DVD drive takes per
/// WRITE (and an ECC block), so no chunk boundary splits one.
pub const UNIT: usize = 32 * 1024;

/// Size and number of the FIFO's chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FifoConfig {
    /// Bytes per chunk (rounded up to whole [`UNIT`]s).
    pub chunk_bytes: usize,
    /// Number of chunks (at least 2, so one fills while one drains).
    pub chunks: usize,
}

impl Default for FifoConfig {
    /// 16 chunks of 256 KiB: 4 MiB, libburn's default fifo size.
    fn default() -> Self {
        FifoConfig {
            chunk_bytes: 8 * UNIT,
            chunks: 16,
        }
    }
}

impl FifoConfig {
    /// About `bytes` in total, in chunks of 256 KiB (or smaller for a small
    /// FIFO), at least two chunks of one unit.
    pub fn with_total(bytes: usize) -> FifoConfig {
        let chunk_bytes = (8 * UNIT).min((bytes / 2).max(UNIT));
        FifoConfig {
            chunk_bytes,
            chunks: bytes.div_ceil(chunk_bytes),
        }
        .normalized()
    }

    fn normalized(self) -> FifoConfig {
        FifoConfig {
            chunk_bytes: self.chunk_bytes.max(1).next_multiple_of(UNIT),
            chunks: self.chunks.max(2),
        }
    }

    /// Bytes the FIFO holds when full.
    pub fn total(&self) -> usize {
        let n = self.normalized();
        n.chunk_bytes * n.chunks
    }
}

/// How full the FIFO is, for progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FifoLevel {
    /// Bytes written by the producer and not yet read by the consumer.
    pub buffered: usize,
    /// Bytes the FIFO holds when full.
    pub capacity: usize,
    /// The least that was buffered when the consumer took a chunk, while the
    /// producer was still running (libburn's "min fill"): near 0 means the
    /// drive waited for the files. None before the consumer took any.
    pub min_buffered: Option<usize>,
    /// Bytes the producer has written so far.
    pub bytes_in: u64,
    /// Bytes the consumer has read so far.
    pub bytes_out: u64,
}

impl FifoLevel {
    /// Fill level in percent (0–100).
    pub fn percent(&self) -> u8 {
        (self.buffered * 100)
            .checked_div(self.capacity)
            .map_or(0, |p| p.min(100) as u8)
    }
}

/// The producer failed; the consumer's read error carries this (get it
/// with `io::Error::get_ref()` and `downcast_ref`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the image stream failed: {0}")]
pub struct ProducerFailed(pub String);

#[derive(Default)]
struct State {
    full: VecDeque<(Vec<u8>, usize)>,
    free: Vec<Vec<u8>>,
    finished: bool,
    failed: Option<String>,
    aborted: bool,
    buffered: usize,
    min_buffered: Option<usize>,
    bytes_in: u64,
    bytes_out: u64,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a chunk is full or the producer ended.
    to_consumer: Condvar,
    /// Signalled when a chunk is free or the consumer stopped.
    to_producer: Condvar,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters behind; the
        // state is still meaningful, so go on with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Creates a FIFO; its chunks are allocated now, once.
pub fn channel(config: FifoConfig) -> (FifoWriter, FifoReader) {
    let c = config.normalized();
    let state = State {
        free: (0..c.chunks).map(|_| vec![0u8; c.chunk_bytes]).collect(),
        ..State::default()
    };
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        to_consumer: Condvar::new(),
        to_producer: Condvar::new(),
        capacity: c.chunk_bytes * c.chunks,
    });
    (
        FifoWriter {
            shared: shared.clone(),
            cur: None,
            len: 0,
            done: false,
        },
        FifoReader {
            shared,
            cur: None,
            pos: 0,
            len: 0,
        },
    )
}

/// Watches the fill level from any thread.
#[derive(Clone)]
pub struct FifoGauge(Arc<Shared>);

impl fmt::Debug for FifoGauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FifoGauge").field(&self.level()).finish()
    }
}

impl FifoGauge {
    /// The current level.
    pub fn level(&self) -> FifoLevel {
        let s = self.0.lock();
        FifoLevel {
            buffered: s.buffered,
            capacity: self.0.capacity,
            min_buffered: s.min_buffered,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
        }
    }
}

/// The producer's end: an [`io::Write`] that blocks while the FIFO is full.
pub struct FifoWriter {
    shared: Arc<Shared>,
    cur: Option<Vec<u8>>,
    len: usize,
    done: bool,
}

impl fmt::Debug for FifoWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FifoWriter")
            .field("len", &self.len)
            .finish()
    }
}

fn consumer_gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the drive stopped taking data")
}

impl FifoWriter {
    /// A gauge of this FIFO.
    pub fn gauge(&self) -> FifoGauge {
        FifoGauge(self.shared.clone())
    }

    /// Hands the current chunk (`len` bytes of it) to the consumer.
    fn push(&mut self) -> io::Result<()> {
        let Some(chunk) = self.cur.take() else {
            return Ok(());
        };
        let len = std::mem::take(&mut self.len);
        let mut s = self.shared.lock();
        if s.aborted {
            return Err(consumer_gone());
        }
        if len > 0 {
            s.full.push_back((chunk, len));
            s.buffered += len;
            s.bytes_in += len as u64;
            self.shared.to_consumer.notify_one();
        } else {
            s.free.push(chunk);
        }
        Ok(())
    }

    /// A free chunk to fill, waiting for the consumer to return one.
    fn take_free(&mut self) -> io::Result<()> {
        let mut s = self.shared.lock();
        loop {
            if s.aborted {
                return Err(consumer_gone());
            }
            if let Some(c) = s.free.pop() {
                self.cur = Some(c);
                self.len = 0;
                return Ok(());
            }
            s = self
                .shared
                .to_producer
                .wait(s)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Ends the data: what was written is all there is.
    pub fn finish(mut self) -> io::Result<()> {
        self.push()?;
        self.done = true;
        let mut s = self.shared.lock();
        s.finished = true;
        self.shared.to_consumer.notify_all();
        Ok(())
    }

    /// Ends the data with an error: the consumer's next read fails with a
    /// [`ProducerFailed`] naming `why`.
    pub fn fail(mut self, why: impl Into<String>) {
        self.done = true;
        let mut s = self.shared.lock();
        s.failed = Some(why.into());
        self.shared.to_consumer.notify_all();
    }
}

impl Write for FifoWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.cur.is_none() {
            self.take_free()?;
        }
        let Some(chunk) = self.cur.as_mut() else {
            return Err(consumer_gone());
        };
        let n = (chunk.len() - self.len).min(buf.len());
        chunk[self.len..self.len + n].copy_from_slice(&buf[..n]);
        self.len += n;
        if self.len == chunk.len() {
            self.push()?;
        }
        Ok(n)
    }

    /// Chunks go to the consumer when full; a partial chunk waits for
    /// [`FifoWriter::finish`] so the consumer always gets whole units.
    fn flush(&mut self) -> io::Result<()> {
        if self.shared.lock().aborted {
            return Err(consumer_gone());
        }
        Ok(())
    }
}

impl Drop for FifoWriter {
    fn drop(&mut self) {
        if !self.done {
            let mut s = self.shared.lock();
            s.failed
                .get_or_insert_with(|| "the image writer stopped before the end".into());
            self.shared.to_consumer.notify_all();
        }
    }
}

/// The consumer's end: an [`io::Read`] that blocks while the FIFO is empty.
/// Dropping it tells the producer to stop.
pub struct FifoReader {
    shared: Arc<Shared>,
    cur: Option<Vec<u8>>,
    pos: usize,
    len: usize,
}

impl fmt::Debug for FifoReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FifoReader")
            .field("pos", &self.pos)
            .field("len", &self.len)
            .finish()
    }
}

impl FifoReader {
    /// A gauge of this FIFO.
    pub fn gauge(&self) -> FifoGauge {
        FifoGauge(self.shared.clone())
    }

    /// Gives the drained chunk back and waits for the next full one.
    /// Ok(false) at the end of the data.
    fn next_chunk(&mut self) -> io::Result<bool> {
        let mut s = self.shared.lock();
        if let Some(c) = self.cur.take() {
            s.free.push(c);
            self.shared.to_producer.notify_one();
        }
        loop {
            if let Some(why) = &s.failed {
                return Err(io::Error::other(ProducerFailed(why.clone())));
            }
            if let Some((chunk, len)) = s.full.pop_front() {
                if !s.finished {
                    let level = s.buffered;
                    s.min_buffered = Some(s.min_buffered.map_or(level, |m| m.min(level)));
                }
                s.buffered -= len;
                s.bytes_out += len as u64;
                self.cur = Some(chunk);
                self.pos = 0;
                self.len = len;
                return Ok(true);
            }
            if s.finished {
                return Ok(false);
            }
            s = self
                .shared
                .to_consumer
                .wait(s)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Read for FifoReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos == self.len && !self.next_chunk()? {
            return Ok(0);
        }
        let Some(chunk) = self.cur.as_ref() else {
            return Ok(0);
        };
        let n = (self.len - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for FifoReader {
    fn drop(&mut self) {
        let mut s = self.shared.lock();
        s.aborted = true;
        self.shared.to_producer.notify_all();
    }
}

/// Runs `produce` on its own thread writing into a new FIFO while `consume`
/// reads it on this one; returns what each returned. A producer error
/// becomes the consumer's read error at once ([`ProducerFailed`] with its
/// text) and is returned typed; when `consume` returns, its end is dropped,
/// so a producer still writing stops with a broken pipe.
pub fn pump<T, E, P, C>(config: FifoConfig, produce: P, consume: C) -> (T, Result<(), E>)
where
    E: fmt::Display + Send,
    P: FnOnce(&mut FifoWriter) -> Result<(), E> + Send,
    C: FnOnce(&mut FifoReader, &FifoGauge) -> T,
{
    let (mut writer, mut reader) = channel(config);
    let gauge = reader.gauge();
    std::thread::scope(|scope| {
        let producer = std::thread::Builder::new()
            .name("image-fifo".into())
            .spawn_scoped(scope, move || match produce(&mut writer) {
                Ok(()) => writer.finish().map_err(|_| Finish::Stopped),
                Err(e) => {
                    writer.fail(e.to_string());
                    Err(Finish::Producer(e))
                }
            });
        let producer = match producer {
            Ok(h) => h,
            Err(e) => {
                // No thread: the consumer sees the failure as its first read.
                let (w, mut r) = channel(FifoConfig::with_total(UNIT));
                w.fail(format!("cannot start the image writer thread: {e}"));
                let out = consume(&mut r, &gauge);
                return (out, Ok(()));
            }
        };
        let out = consume(&mut reader, &gauge);
        drop(reader);
        let result = match producer.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Finish::Producer(e))) => Err(e),
            // The consumer stopped first: its own result says why.
            Ok(Err(Finish::Stopped)) => Ok(()),
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (out, result)
    })
}

/// How the producer thread ended when not with success.
enum Finish<E> {
    /// Its own error.
    Producer(E),
    /// The consumer stopped before the data was finished.
    Stopped,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pattern(i: u64) -> u8 {
        (i.wrapping_mul(2_654_435_761) >> 13) as u8
    }

    #[test]
    fn bytes_arrive_in_order_through_a_small_fifo() {
        let total: u64 = 5 * (1 << 20) + 12_345;
        let (n, produced) = pump(
            FifoConfig::with_total(2 * UNIT),
            |w| {
                let mut at = 0u64;
                let mut buf = vec![0u8; 7_777];
                while at < total {
                    let k = (total - at).min(buf.len() as u64) as usize;
                    for (j, b) in buf[..k].iter_mut().enumerate() {
                        *b = pattern(at + j as u64);
                    }
                    w.write_all(&buf[..k])?;
                    at += k as u64;
                }
                Ok::<(), io::Error>(())
            },
            |r, _| {
                let mut at = 0u64;
                let mut buf = vec![0u8; 3_001];
                loop {
                    let k = r.read(&mut buf).unwrap();
                    if k == 0 {
                        break at;
                    }
                    for (j, b) in buf[..k].iter().enumerate() {
                        assert_eq!(*b, pattern(at + j as u64), "byte {}", at + j as u64);
                    }
                    at += k as u64;
                }
            },
        );
        produced.unwrap();
        assert_eq!(n, total);
    }

    #[test]
    fn memory_stays_at_the_chunks_whatever_is_written() {
        let config = FifoConfig::with_total(4 * UNIT);
        let (mut w, mut r) = channel(config);
        let gauge = w.gauge();
        // The producer runs ahead of a consumer that reads nothing yet:
        // it blocks once every chunk is full.
        let producer = std::thread::spawn(move || {
            let block = vec![1u8; UNIT];
            for _ in 0..1000 {
                w.write_all(&block)?;
            }
            w.finish()
        });
        std::thread::sleep(Duration::from_millis(200));
        let level = gauge.level();
        assert!(level.bytes_in <= config.total() as u64, "{level:?}");
        assert!(level.buffered <= level.capacity);
        assert!(!producer.is_finished());
        let mut total = 0u64;
        let mut buf = vec![0u8; UNIT];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            total += n as u64;
            let l = gauge.level();
            assert!(l.bytes_in - l.bytes_out <= config.total() as u64, "{l:?}");
        }
        producer.join().unwrap().unwrap();
        assert_eq!(total, 1000 * UNIT as u64);
        assert!(gauge.level().min_buffered.is_some());
    }

    #[test]
    fn a_producer_error_reaches_the_consumer() {
        let (read, produced) = pump(
            FifoConfig::default(),
            |w| {
                w.write_all(&[0u8; 3 * UNIT])?;
                Err(io::Error::other("etc.tar.gz shrank"))
            },
            |r, _| {
                let mut v = Vec::new();
                r.read_to_end(&mut v)
            },
        );
        let err = read.unwrap_err();
        let failed = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<ProducerFailed>());
        assert!(failed.is_some_and(|f| f.0.contains("shrank")), "{err}");
        assert!(produced.unwrap_err().to_string().contains("shrank"));
    }

    #[test]
    fn a_producer_dropped_without_finish_is_no_end_of_file() {
        let (w, mut r) = channel(FifoConfig::default());
        drop(w);
        let mut v = Vec::new();
        assert!(r.read_to_end(&mut v).is_err());
    }

    #[test]
    fn a_consumer_that_stops_stops_the_producer() {
        let (taken, produced) = pump(
            FifoConfig::with_total(2 * UNIT),
            |w| {
                // Far more than the FIFO holds: this only returns because
                // the consumer's end went away.
                for _ in 0..100_000 {
                    w.write_all(&[9u8; UNIT])?;
                }
                Ok::<(), io::Error>(())
            },
            |r, _| {
                let mut buf = vec![0u8; UNIT];
                r.read_exact(&mut buf).map(|_| buf[0])
            },
        );
        assert_eq!(taken.unwrap(), 9);
        // The producer's broken pipe is not an error of its own.
        let e = produced.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
    }
}
