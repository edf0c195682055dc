//! BLANK, FORMAT UNIT and READ FORMAT CAPACITIES: preparing rewritable media.

use super::{be16, be24, be32, check_cdb, need, put16, put24, put32, Cdb, Command, Response};
use crate::error::DecodeError;

/// Blanking type (BLANK byte 1 bits 2–0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlankType {
    /// 000b: the whole disc.
    Full,
    /// 001b: PMA, first session TOC and pregap only ("fast").
    Minimal,
    /// 010b: one track.
    Track,
    /// 011b: unreserve a track.
    UnreserveTrack,
    /// 100b: the tail of a track.
    TrackTail,
    /// 101b: unclose the last session.
    UncloseSession,
    /// 110b: erase the last session.
    Session,
}

impl BlankType {
    fn bits(self) -> u8 {
        match self {
            BlankType::Full => 0,
            BlankType::Minimal => 1,
            BlankType::Track => 2,
            BlankType::UnreserveTrack => 3,
            BlankType::TrackTail => 4,
            BlankType::UncloseSession => 5,
            BlankType::Session => 6,
        }
    }
}

/// BLANK `A1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blank {
    /// Return at once; poll TEST UNIT READY for the end.
    pub immed: bool,
    /// What to blank.
    pub kind: BlankType,
    /// Start address or track number, for the track types.
    pub address: u32,
}

impl Command for Blank {
    const OPCODE: u8 = 0xA1;
    const NAME: &'static str = "BLANK";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 12);
        let b = c.bytes_mut();
        b[1] = (u8::from(self.immed) << 4) | self.kind.bits();
        put32(b, 2, self.address);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 12, Self::NAME)?;
        let kind = match cdb[1] & 0x07 {
            0 => BlankType::Full,
            1 => BlankType::Minimal,
            2 => BlankType::Track,
            3 => BlankType::UnreserveTrack,
            4 => BlankType::TrackTail,
            5 => BlankType::UncloseSession,
            6 => BlankType::Session,
            o => {
                return Err(DecodeError::Invalid {
                    what: Self::NAME,
                    detail: format!("blanking type {o} is reserved"),
                })
            }
        };
        Ok(Blank {
            immed: cdb[1] & 0x10 != 0,
            kind,
            address: be32(cdb, 2),
        })
    }
}

/// FORMAT UNIT `04h` (format code 001b); the parameter list is [`FormatParameters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatUnit {
    /// A parameter list follows (FmtData).
    pub fmt_data: bool,
    /// Complete list (CmpList).
    pub cmp_list: bool,
}

impl Command for FormatUnit {
    const OPCODE: u8 = 0x04;
    const NAME: &'static str = "FORMAT UNIT";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 6);
        c.bytes_mut()[1] = (u8::from(self.fmt_data) << 4) | (u8::from(self.cmp_list) << 3) | 0x01;
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 6, Self::NAME)?;
        if cdb[1] & 0x07 != 0x01 {
            return Err(DecodeError::Invalid {
                what: Self::NAME,
                detail: format!("format code {} is not 1", cdb[1] & 0x07),
            });
        }
        Ok(FormatUnit {
            fmt_data: cdb[1] & 0x10 != 0,
            cmp_list: cdb[1] & 0x08 != 0,
        })
    }
}

/// DVD+RW full format type.
pub const FORMAT_DVD_PLUS_RW: u8 = 0x26;
/// DVD-RW quick format to restricted overwrite.
pub const FORMAT_DVD_RW_QUICK: u8 = 0x15;
/// DVD-RW full format.
pub const FORMAT_FULL: u8 = 0x00;
/// BD-RE format with spare areas.
pub const FORMAT_BD_RE: u8 = 0x30;
/// BD-RE format without spare areas.
pub const FORMAT_BD_RE_NO_SPARE: u8 = 0x31;
/// BD-R format for sequential recording mode.
pub const FORMAT_BD_R_SRM: u8 = 0x32;

/// One format descriptor (8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatDescriptor {
    /// Number of blocks.
    pub blocks: u32,
    /// Format type (byte 4 bits 7–2).
    pub format_type: u8,
    /// Format subtype (byte 4 bits 1–0).
    pub subtype: u8,
    /// Type dependent parameter (24 bits).
    pub param: u32,
}

impl FormatDescriptor {
    fn write(&self, b: &mut [u8]) {
        put32(b, 0, self.blocks);
        b[4] = (self.format_type << 2) | (self.subtype & 0x03);
        put24(b, 5, self.param);
    }
    fn read(b: &[u8]) -> Self {
        FormatDescriptor {
            blocks: be32(b, 0),
            format_type: b[4] >> 2,
            subtype: b[4] & 0x03,
            param: be24(b, 5),
        }
    }
}

/// FORMAT UNIT parameter list: 4-byte header plus one descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatParameters {
    /// Return at once (IMMED in the header).
    pub immed: bool,
    /// The format wanted.
    pub descriptor: FormatDescriptor,
}

impl Response for FormatParameters {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 12, "format parameter list")?;
        Ok(FormatParameters {
            immed: b[1] & 0x02 != 0,
            descriptor: FormatDescriptor::read(&b[4..12]),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        // FOV must be set for IMMED to be honoured.
        b[1] = if self.immed { 0x82 } else { 0 };
        put16(&mut b, 2, 8);
        self.descriptor.write(&mut b[4..12]);
        b
    }
}

/// READ FORMAT CAPACITIES `23h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadFormatCapacities {
    /// Allocation length.
    pub alloc: u16,
}

impl Command for ReadFormatCapacities {
    const OPCODE: u8 = 0x23;
    const NAME: &'static str = "READ FORMAT CAPACITIES";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        put16(c.bytes_mut(), 7, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        Ok(ReadFormatCapacities {
            alloc: be16(cdb, 7),
        })
    }
}

/// The kind of the current/maximum capacity descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityKind {
    /// 01b: unformatted (or blank) medium, maximum capacity.
    Unformatted,
    /// 10b: formatted medium, current capacity.
    Formatted,
    /// 11b: no medium, maximum capacity of the drive.
    NoMedium,
}

/// READ FORMAT CAPACITIES reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatCapacities {
    /// Current/maximum capacity in blocks.
    pub current_blocks: u32,
    /// What the current descriptor means.
    pub kind: CapacityKind,
    /// Block length.
    pub block_len: u32,
    /// Formats the drive offers for this medium.
    pub formattable: Vec<FormatDescriptor>,
}

impl Response for FormatCapacities {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 12, "format capacity list")?;
        let end = (4 + usize::from(b[3])).min(b.len());
        let kind = match b[8] & 0x03 {
            2 => CapacityKind::Formatted,
            3 => CapacityKind::NoMedium,
            _ => CapacityKind::Unformatted,
        };
        let formattable = if end > 12 {
            b[12..end]
                .chunks_exact(8)
                .map(FormatDescriptor::read)
                .collect()
        } else {
            Vec::new()
        };
        Ok(FormatCapacities {
            current_blocks: be32(b, 4),
            kind,
            block_len: be24(b, 9),
            formattable,
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        put32(&mut b, 4, self.current_blocks);
        b[8] = match self.kind {
            CapacityKind::Unformatted => 1,
            CapacityKind::Formatted => 2,
            CapacityKind::NoMedium => 3,
        };
        put24(&mut b, 9, self.block_len);
        for d in &self.formattable {
            let mut e = [0u8; 8];
            d.write(&mut e);
            b.extend_from_slice(&e);
        }
        b[3] = (b.len() - 4).min(248) as u8;
        b
    }
}
