//! Reading a disc back block by block with bounded memory: what a file-system
//! reader (importing the previous session, verifying a write) needs from a
//! drive. A small read-ahead window keeps the many small reads of directory
//! and descriptor parsing down to a few commands; whole aligned blocks go
//! straight into the caller's buffer.

use super::Drive;
use crate::error::Error;
use crate::BLOCK_SIZE;

const BLOCK: u64 = BLOCK_SIZE as u64;

/// Blocks read ahead by default (32 KiB).
pub const DEFAULT_READ_AHEAD: u32 = 16;

/// A read of the disc that failed, with the block where.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The drive failed the read of this block (or a range starting there).
    #[error("reading block {lba}")]
    Drive {
        /// First block of the failed read.
        lba: u32,
        /// The drive's error.
        #[source]
        source: Error,
    },
    /// The byte range asked for lies past the last block a drive can address.
    #[error("byte offset {offset} (+{len}) is beyond the last addressable block")]
    Address {
        /// Byte offset asked for.
        offset: u64,
        /// Bytes asked for.
        len: usize,
    },
}

impl ReadError {
    /// The block where the read failed, when it reached the drive.
    pub fn lba(&self) -> Option<u32> {
        match self {
            ReadError::Drive { lba, .. } => Some(*lba),
            ReadError::Address { .. } => None,
        }
    }
}

/// Reads 2048-byte blocks (and byte ranges) from the medium in a drive,
/// through [`Drive::read_blocks`], keeping at most `read_ahead` blocks in
/// memory.
#[derive(Debug)]
pub struct BlockReader<'d> {
    drive: &'d mut Drive,
    read_ahead: u32,
    /// First block held in `window`.
    start: u32,
    /// Blocks held in `window` (0: nothing cached).
    held: u32,
    window: Vec<u8>,
}

impl<'d> BlockReader<'d> {
    /// A reader with [`DEFAULT_READ_AHEAD`] blocks of read-ahead.
    pub fn new(drive: &'d mut Drive) -> Self {
        BlockReader::with_read_ahead(drive, DEFAULT_READ_AHEAD)
    }

    /// A reader keeping `blocks` blocks (at least one) of read-ahead.
    pub fn with_read_ahead(drive: &'d mut Drive, blocks: u32) -> Self {
        let read_ahead = blocks.max(1);
        BlockReader {
            drive,
            read_ahead,
            start: 0,
            held: 0,
            window: vec![0; read_ahead as usize * BLOCK_SIZE],
        }
    }

    /// The drive read from.
    pub fn drive(&mut self) -> &mut Drive {
        self.drive
    }

    /// Forgets the cached blocks (after the disc was written or changed).
    pub fn invalidate(&mut self) {
        self.held = 0;
    }

    fn cached(&self, lba: u32) -> bool {
        lba >= self.start && lba - self.start < self.held
    }

    /// One block, from the window or read with the blocks after it. When the
    /// read-ahead fails (it may run past the end of the recorded area, where
    /// a drive answers 5/21/00 or a read error), only the block is read.
    pub fn block(&mut self, lba: u32) -> Result<&[u8], ReadError> {
        if !self.cached(lba) {
            self.held = 0;
            // Not past the last addressable block.
            let room = u64::from(u32::MAX) - u64::from(lba) + 1;
            let ahead = self.read_ahead.min(u32::try_from(room).unwrap_or(u32::MAX));
            let bytes = ahead as usize * BLOCK_SIZE;
            let held = match self.drive.read_blocks(lba, &mut self.window[..bytes]) {
                Ok(()) => ahead,
                Err(e) if ahead > 1 => {
                    log::debug!(
                        "{}: read-ahead from block {lba} failed: {e}",
                        self.drive.name()
                    );
                    self.drive
                        .read_blocks(lba, &mut self.window[..BLOCK_SIZE])
                        .map_err(|source| ReadError::Drive { lba, source })?;
                    1
                }
                Err(source) => return Err(ReadError::Drive { lba, source }),
            };
            self.start = lba;
            self.held = held;
        }
        let at = (lba - self.start) as usize * BLOCK_SIZE;
        Ok(&self.window[at..at + BLOCK_SIZE])
    }

    /// Fills `buf` from byte `offset` of the medium (block `offset / 2048`).
    /// Runs of whole, uncached blocks are read straight into `buf`.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|e| e.div_ceil(BLOCK) > u64::from(u32::MAX) + 1) {
            return Err(ReadError::Address {
                offset,
                len: buf.len(),
            });
        }
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            // In range: checked above.
            let lba = (pos / BLOCK) as u32;
            let within = (pos % BLOCK) as usize;
            let left = buf.len() - done;
            if within == 0 && left >= BLOCK_SIZE && !self.cached(lba) {
                let whole = left / BLOCK_SIZE;
                let bytes = whole * BLOCK_SIZE;
                self.drive
                    .read_blocks(lba, &mut buf[done..done + bytes])
                    .map_err(|source| ReadError::Drive { lba, source })?;
                done += bytes;
                continue;
            }
            let n = (BLOCK_SIZE - within).min(left);
            let block = self.block(lba)?;
            buf[done..done + n].copy_from_slice(&block[within..within + n]);
            done += n;
        }
        Ok(())
    }
}
