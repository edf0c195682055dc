//! READ(10), WRITE(10) and SYNCHRONIZE CACHE: the data path.

use super::{be16, be32, check_cdb, put16, put32, Cdb, Command};
use crate::error::DecodeError;

/// READ(10) `28h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read10 {
    /// First block.
    pub lba: u32,
    /// Number of 2048-byte blocks.
    pub blocks: u16,
}

/// WRITE(10) `2Ah`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write10 {
    /// First block; on sequential media it must be the next writable address.
    pub lba: u32,
    /// Number of 2048-byte blocks.
    pub blocks: u16,
}

fn encode_lba_len(opcode: u8, lba: u32, blocks: u16) -> Cdb {
    let mut c = Cdb::new(opcode, 10);
    put32(c.bytes_mut(), 2, lba);
    put16(c.bytes_mut(), 7, blocks);
    c
}

impl Command for Read10 {
    const OPCODE: u8 = 0x28;
    const NAME: &'static str = "READ(10)";
    fn encode(&self) -> Cdb {
        encode_lba_len(Self::OPCODE, self.lba, self.blocks)
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        Ok(Read10 {
            lba: be32(cdb, 2),
            blocks: be16(cdb, 7),
        })
    }
}

impl Command for Write10 {
    const OPCODE: u8 = 0x2A;
    const NAME: &'static str = "WRITE(10)";
    fn encode(&self) -> Cdb {
        encode_lba_len(Self::OPCODE, self.lba, self.blocks)
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        Ok(Write10 {
            lba: be32(cdb, 2),
            blocks: be16(cdb, 7),
        })
    }
}

/// SYNCHRONIZE CACHE `35h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynchronizeCache {
    /// Return at once; completion is polled with TEST UNIT READY.
    pub immed: bool,
    /// First block (0 = all).
    pub lba: u32,
    /// Number of blocks (0 = all).
    pub blocks: u16,
}

impl Command for SynchronizeCache {
    const OPCODE: u8 = 0x35;
    const NAME: &'static str = "SYNCHRONIZE CACHE";
    fn encode(&self) -> Cdb {
        let mut c = encode_lba_len(Self::OPCODE, self.lba, self.blocks);
        c.bytes_mut()[1] = u8::from(self.immed) << 1;
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        Ok(SynchronizeCache {
            immed: cdb[1] & 0x02 != 0,
            lba: be32(cdb, 2),
            blocks: be16(cdb, 7),
        })
    }
}
