//! The command layer: one typed builder and one response parser per MMC
//! command, each able to go both ways (encode and decode) so the emulated drive
//! reads the very CDBs the builders write and answers with bytes the parsers
//! read.
//!
//! Nothing here does I/O except [`run`] and [`query`], which send a command over
//! any [`Transport`] and turn a check condition into [`Error::Sense`].

use std::time::Duration;

use crate::error::{DecodeError, Error, Result};
use crate::transport::{DataPhase, Transport, STATUS_GOOD};

pub mod config;
pub mod disc;
pub mod format;
pub mod mode;
pub mod perf;
pub mod rw;
pub mod spc;
pub mod structure;
pub mod toc;
pub mod track;

/// An encoded command descriptor block (6, 10 or 12 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cdb {
    bytes: [u8; 12],
    len: usize,
}

impl Cdb {
    /// A zeroed CDB of `len` bytes (6, 10 or 12) with this opcode.
    pub fn new(opcode: u8, len: usize) -> Self {
        let mut bytes = [0u8; 12];
        bytes[0] = opcode;
        Cdb {
            bytes,
            len: len.min(12),
        }
    }

    /// The CDB bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Mutable access for builders.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..self.len]
    }
}

impl std::fmt::Debug for Cdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cdb[{}]", crate::transport::hex(self.as_bytes()))
    }
}

/// One MMC/SPC command: how its CDB is built and read back.
pub trait Command: Sized {
    /// Operation code.
    const OPCODE: u8;
    /// Name used in messages, e.g. "READ TRACK INFORMATION".
    const NAME: &'static str;
    /// Builds the CDB.
    fn encode(&self) -> Cdb;
    /// Reads a CDB (as a drive does).
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError>;
}

/// A response (or parameter list) with a byte layout of its own.
pub trait Response: Sized {
    /// Decodes the bytes a drive returned.
    fn parse(bytes: &[u8]) -> Result<Self, DecodeError>;
    /// Encodes the bytes a drive would return.
    fn encode(&self) -> Vec<u8>;
}

/// The CDB length implied by an operation code's group.
pub fn cdb_len(opcode: u8) -> usize {
    match opcode >> 5 {
        0 => 6,
        1 | 2 => 10,
        4 => 16,
        5 => 12,
        _ => 10,
    }
}

/// A human name for an operation code, for logs and messages.
pub fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        0x00 => "TEST UNIT READY",
        0x03 => "REQUEST SENSE",
        0x04 => "FORMAT UNIT",
        0x12 => "INQUIRY",
        0x15 => "MODE SELECT(6)",
        0x1A => "MODE SENSE(6)",
        0x1B => "START STOP UNIT",
        0x1E => "PREVENT ALLOW MEDIUM REMOVAL",
        0x23 => "READ FORMAT CAPACITIES",
        0x25 => "READ CAPACITY",
        0x28 => "READ(10)",
        0x2A => "WRITE(10)",
        0x35 => "SYNCHRONIZE CACHE",
        0x43 => "READ TOC/PMA/ATIP",
        0x46 => "GET CONFIGURATION",
        0x4A => "GET EVENT STATUS NOTIFICATION",
        0x51 => "READ DISC INFORMATION",
        0x52 => "READ TRACK INFORMATION",
        0x53 => "RESERVE TRACK",
        0x54 => "SEND OPC INFORMATION",
        0x55 => "MODE SELECT(10)",
        0x5A => "MODE SENSE(10)",
        0x5B => "CLOSE TRACK/SESSION",
        0x5C => "READ BUFFER CAPACITY",
        0xA1 => "BLANK",
        0xAC => "GET PERFORMANCE",
        0xAD => "READ DISC STRUCTURE",
        0xB6 => "SET STREAMING",
        0xBB => "SET CD SPEED",
        _ => "unknown command",
    }
}

/// Sends `cmd` with `data`; returns the bytes transferred, or the drive's
/// refusal as [`Error::Sense`] naming the command.
pub fn run<T, C>(t: &mut T, cmd: &C, data: DataPhase<'_>, timeout: Duration) -> Result<usize>
where
    T: Transport + ?Sized,
    C: Command,
{
    let cdb = cmd.encode();
    let done = t.execute(cdb.as_bytes(), data, timeout)?;
    if done.status == STATUS_GOOD {
        return Ok(done.transferred);
    }
    match done.sense {
        Some(sense) => Err(Error::Sense {
            device: t.name().to_string(),
            command: C::NAME,
            sense,
        }),
        None => Err(Error::Status {
            device: t.name().to_string(),
            command: C::NAME,
            status: done.status,
        }),
    }
}

/// Sends a data-in command with an `alloc`-byte buffer and parses the reply.
pub fn query<T, C, R>(t: &mut T, cmd: &C, alloc: usize, timeout: Duration) -> Result<R>
where
    T: Transport + ?Sized,
    C: Command,
    R: Response,
{
    let mut buf = vec![0u8; alloc];
    let n = run(t, cmd, DataPhase::FromDevice(&mut buf), timeout)?;
    R::parse(&buf[..n.min(alloc)]).map_err(|source| Error::Response {
        device: t.name().to_string(),
        command: C::NAME,
        source,
    })
}

/// Checks a CDB's opcode and length before a decoder reads its fields.
pub(crate) fn check_cdb(
    cdb: &[u8],
    opcode: u8,
    len: usize,
    what: &'static str,
) -> Result<(), DecodeError> {
    if cdb.len() < len {
        return Err(DecodeError::Short {
            what,
            need: len,
            got: cdb.len(),
        });
    }
    if cdb[0] != opcode {
        return Err(DecodeError::Invalid {
            what,
            detail: format!("opcode {:#04x}, expected {opcode:#04x}", cdb[0]),
        });
    }
    Ok(())
}

/// Fails with [`DecodeError::Short`] when `bytes` is shorter than `n`.
pub(crate) fn need(bytes: &[u8], n: usize, what: &'static str) -> Result<(), DecodeError> {
    if bytes.len() < n {
        Err(DecodeError::Short {
            what,
            need: n,
            got: bytes.len(),
        })
    } else {
        Ok(())
    }
}

/// Big-endian u16 at `at` (caller checked the length).
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Big-endian u24 at `at` (caller checked the length).
pub(crate) fn be24(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([0, b[at], b[at + 1], b[at + 2]])
}

/// Big-endian u32 at `at` (caller checked the length).
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Stores a big-endian u16 at `at`.
pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Stores a big-endian u24 at `at` (the top byte of `v` is dropped).
pub(crate) fn put24(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 3].copy_from_slice(&v.to_be_bytes()[1..]);
}

/// Stores a big-endian u32 at `at`.
pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
