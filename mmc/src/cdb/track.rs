//! CLOSE TRACK/SESSION and RESERVE TRACK: shaping the recorded area of
//! write-once media.

use super::{be16, be32, check_cdb, put16, put32, Cdb, Command};
use crate::error::DecodeError;

/// The close function (byte 2 bits 2–0 of CLOSE TRACK/SESSION).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseFunction {
    /// 000b: on DVD+RW, stop background formatting ("de-icing").
    StopFormat,
    /// 001b: close the logical track given.
    Track,
    /// 010b: close the last session (finalizes CD/DVD-R when page 05 says so).
    Session,
    /// 101b: DVD+R: finalize with minimal radius.
    FinalizeMinimalRadius,
    /// 110b: DVD+R, BD-R: close the session and finalize the disc.
    Finalize,
    /// Other values.
    Other(u8),
}

impl CloseFunction {
    fn bits(self) -> u8 {
        match self {
            CloseFunction::StopFormat => 0,
            CloseFunction::Track => 1,
            CloseFunction::Session => 2,
            CloseFunction::FinalizeMinimalRadius => 5,
            CloseFunction::Finalize => 6,
            CloseFunction::Other(v) => v & 0x07,
        }
    }
}

/// CLOSE TRACK/SESSION `5Bh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseTrackSession {
    /// Return at once and let the drive work in the background.
    pub immed: bool,
    /// What to close.
    pub function: CloseFunction,
    /// Logical track number (for [`CloseFunction::Track`]).
    pub track: u16,
}

impl Command for CloseTrackSession {
    const OPCODE: u8 = 0x5B;
    const NAME: &'static str = "CLOSE TRACK/SESSION";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        let b = c.bytes_mut();
        b[1] = u8::from(self.immed);
        b[2] = self.function.bits();
        put16(b, 4, self.track);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        let function = match cdb[2] & 0x07 {
            0 => CloseFunction::StopFormat,
            1 => CloseFunction::Track,
            2 => CloseFunction::Session,
            5 => CloseFunction::FinalizeMinimalRadius,
            6 => CloseFunction::Finalize,
            o => CloseFunction::Other(o),
        };
        Ok(CloseTrackSession {
            immed: cdb[1] & 0x01 != 0,
            function,
            track: be16(cdb, 4),
        })
    }
}

/// RESERVE TRACK `53h` (size form, ARSV = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReserveTrack {
    /// Reservation size in blocks.
    pub blocks: u32,
}

impl Command for ReserveTrack {
    const OPCODE: u8 = 0x53;
    const NAME: &'static str = "RESERVE TRACK";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        put32(c.bytes_mut(), 5, self.blocks);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        if cdb[1] & 0x01 != 0 {
            return Err(DecodeError::Invalid {
                what: Self::NAME,
                detail: "reservation by address (ARSV) is not supported".into(),
            });
        }
        Ok(ReserveTrack {
            blocks: be32(cdb, 5),
        })
    }
}
