//! READ CAPACITY, READ DISC INFORMATION and READ TRACK INFORMATION.

use super::{be16, be32, check_cdb, need, put16, put32, Cdb, Command, Response};
use crate::error::DecodeError;

/// READ CAPACITY `25h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadCapacity;

impl Command for ReadCapacity {
    const OPCODE: u8 = 0x25;
    const NAME: &'static str = "READ CAPACITY";
    fn encode(&self) -> Cdb {
        Cdb::new(Self::OPCODE, 10)
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        Ok(ReadCapacity)
    }
}

/// READ CAPACITY reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Last readable logical block address.
    pub last_lba: u32,
    /// Block length in bytes.
    pub block_len: u32,
}

impl Response for Capacity {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 8, "READ CAPACITY data")?;
        Ok(Capacity {
            last_lba: be32(b, 0),
            block_len: be32(b, 4),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 8];
        put32(&mut b, 0, self.last_lba);
        put32(&mut b, 4, self.block_len);
        b
    }
}

/// READ DISC INFORMATION `51h` (data type 0: standard disc information).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadDiscInformation {
    /// Allocation length.
    pub alloc: u16,
}

impl Command for ReadDiscInformation {
    const OPCODE: u8 = 0x51;
    const NAME: &'static str = "READ DISC INFORMATION";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        put16(c.bytes_mut(), 7, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        if cdb[1] & 0x07 != 0 {
            return Err(DecodeError::Invalid {
                what: Self::NAME,
                detail: format!("data type {} is not supported", cdb[1] & 0x07),
            });
        }
        Ok(ReadDiscInformation {
            alloc: be16(cdb, 7),
        })
    }
}

/// Disc status (bits 1–0 of byte 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscStatus {
    /// Nothing written.
    Blank,
    /// Sessions written, more can follow.
    Appendable,
    /// Finalized (or, on overwritable media, formatted and complete).
    Complete,
    /// Status 3: other (random-access media).
    Other,
}

/// State of the last session (bits 3–2 of byte 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Empty: the session is the next one to be written.
    Empty,
    /// Incomplete: the session holds data but is not closed.
    Incomplete,
    /// Reserved/damaged.
    Damaged,
    /// Complete.
    Complete,
}

/// READ DISC INFORMATION reply (standard disc information, 34 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscInformation {
    /// The medium can be erased (CD-RW, DVD±RW, BD-RE).
    pub erasable: bool,
    /// State of the last session.
    pub last_session_state: SessionState,
    /// Disc status.
    pub disc_status: DiscStatus,
    /// Number of the first track on the disc.
    pub first_track: u16,
    /// Number of sessions, including an empty last one on appendable discs.
    pub sessions: u16,
    /// First track number in the last session.
    pub first_track_last_session: u16,
    /// Last track number in the last session.
    pub last_track_last_session: u16,
    /// Unrestricted use bit.
    pub unrestricted_use: bool,
    /// Background format status (bits 1–0 of byte 7).
    pub bg_format_status: u8,
    /// Disc type (byte 8: 00h CD-DA/CD-ROM, 10h CD-I, 20h CD-ROM XA).
    pub disc_type: u8,
    /// Start of the last session's lead-in (CD: MSF as 00 MM SS FF).
    pub last_session_lead_in: u32,
    /// Last possible start of the lead-out (CD: MSF as 00 MM SS FF).
    pub last_possible_lead_out: u32,
}

fn status_bits(s: DiscStatus) -> u8 {
    match s {
        DiscStatus::Blank => 0,
        DiscStatus::Appendable => 1,
        DiscStatus::Complete => 2,
        DiscStatus::Other => 3,
    }
}

fn state_bits(s: SessionState) -> u8 {
    match s {
        SessionState::Empty => 0,
        SessionState::Incomplete => 1,
        SessionState::Damaged => 2,
        SessionState::Complete => 3,
    }
}

impl Response for DiscInformation {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 12, "disc information")?;
        let disc_status = match b[2] & 0x03 {
            0 => DiscStatus::Blank,
            1 => DiscStatus::Appendable,
            2 => DiscStatus::Complete,
            _ => DiscStatus::Other,
        };
        let last_session_state = match (b[2] >> 2) & 0x03 {
            0 => SessionState::Empty,
            1 => SessionState::Incomplete,
            2 => SessionState::Damaged,
            _ => SessionState::Complete,
        };
        let opt32 = |at: usize| if b.len() >= at + 4 { be32(b, at) } else { 0 };
        Ok(DiscInformation {
            erasable: b[2] & 0x10 != 0,
            last_session_state,
            disc_status,
            first_track: u16::from(b[3]),
            sessions: u16::from_be_bytes([b[9], b[4]]),
            first_track_last_session: u16::from_be_bytes([b[10], b[5]]),
            last_track_last_session: u16::from_be_bytes([b[11], b[6]]),
            unrestricted_use: b[7] & 0x20 != 0,
            bg_format_status: b[7] & 0x03,
            disc_type: b[8],
            last_session_lead_in: opt32(16),
            last_possible_lead_out: opt32(20),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 34];
        put16(&mut b, 0, 32);
        b[2] = (u8::from(self.erasable) << 4)
            | (state_bits(self.last_session_state) << 2)
            | status_bits(self.disc_status);
        b[3] = self.first_track as u8;
        let [s_hi, s_lo] = self.sessions.to_be_bytes();
        let [f_hi, f_lo] = self.first_track_last_session.to_be_bytes();
        let [l_hi, l_lo] = self.last_track_last_session.to_be_bytes();
        b[4] = s_lo;
        b[5] = f_lo;
        b[6] = l_lo;
        b[7] = (u8::from(self.unrestricted_use) << 5) | (self.bg_format_status & 0x03);
        b[8] = self.disc_type;
        b[9] = s_hi;
        b[10] = f_hi;
        b[11] = l_hi;
        put32(&mut b, 16, self.last_session_lead_in);
        put32(&mut b, 20, self.last_possible_lead_out);
        b
    }
}

/// How READ TRACK INFORMATION picks the track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackAddress {
    /// The track holding this LBA (address type 0).
    Lba(u32),
    /// Track number (type 1); FFh is the invisible/incomplete track.
    Track(u32),
    /// First track of this session (type 2).
    Session(u32),
}

/// Track number that addresses the invisible (next writable) track.
pub const INVISIBLE_TRACK: u32 = 0xFF;

/// READ TRACK INFORMATION `52h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTrackInformation {
    /// Open bit: report the first open track at or after the address.
    pub open: bool,
    /// Which track.
    pub address: TrackAddress,
    /// Allocation length.
    pub alloc: u16,
}

impl Command for ReadTrackInformation {
    const OPCODE: u8 = 0x52;
    const NAME: &'static str = "READ TRACK INFORMATION";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        let b = c.bytes_mut();
        let (kind, addr) = match self.address {
            TrackAddress::Lba(a) => (0, a),
            TrackAddress::Track(a) => (1, a),
            TrackAddress::Session(a) => (2, a),
        };
        b[1] = (u8::from(self.open) << 2) | kind;
        put32(b, 2, addr);
        put16(b, 7, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        let addr = be32(cdb, 2);
        let address = match cdb[1] & 0x03 {
            0 => TrackAddress::Lba(addr),
            1 => TrackAddress::Track(addr),
            2 => TrackAddress::Session(addr),
            _ => {
                return Err(DecodeError::Invalid {
                    what: Self::NAME,
                    detail: "address type 3 is reserved".into(),
                })
            }
        };
        Ok(ReadTrackInformation {
            open: cdb[1] & 0x04 != 0,
            address,
            alloc: be16(cdb, 7),
        })
    }
}

/// READ TRACK INFORMATION reply (48 bytes in MMC-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackInformation {
    /// Track number.
    pub track: u16,
    /// Session number.
    pub session: u16,
    /// Damage bit.
    pub damage: bool,
    /// Track mode (byte 5 bits 3–0; 4 = data, uninterrupted; 5 = incremental data).
    pub track_mode: u8,
    /// Reserved track (RT).
    pub reserved: bool,
    /// The track is blank.
    pub blank: bool,
    /// Packet/incremental recording.
    pub packet: bool,
    /// Fixed packet.
    pub fixed_packet: bool,
    /// Data mode (byte 6 bits 3–0; 1 = Mode 1).
    pub data_mode: u8,
    /// Next writable address, when valid.
    pub next_writable: Option<u32>,
    /// Last recorded address, when valid.
    pub last_recorded: Option<u32>,
    /// Track start address.
    pub start: u32,
    /// Free blocks.
    pub free_blocks: u32,
    /// Fixed packet size or blocking factor.
    pub fixed_packet_size: u32,
    /// Track size in blocks.
    pub size: u32,
}

impl Response for TrackInformation {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 28, "track information")?;
        let hi = |at: usize| b.get(at).copied().unwrap_or(0);
        Ok(TrackInformation {
            track: u16::from_be_bytes([hi(32), b[2]]),
            session: u16::from_be_bytes([hi(33), b[3]]),
            damage: b[5] & 0x20 != 0,
            track_mode: b[5] & 0x0F,
            reserved: b[6] & 0x80 != 0,
            blank: b[6] & 0x40 != 0,
            packet: b[6] & 0x20 != 0,
            fixed_packet: b[6] & 0x10 != 0,
            data_mode: b[6] & 0x0F,
            next_writable: (b[7] & 0x01 != 0).then(|| be32(b, 12)),
            last_recorded: (b[7] & 0x02 != 0 && b.len() >= 32).then(|| be32(b, 28)),
            start: be32(b, 8),
            free_blocks: be32(b, 16),
            fixed_packet_size: be32(b, 20),
            size: be32(b, 24),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 48];
        put16(&mut b, 0, 46);
        let [t_hi, t_lo] = self.track.to_be_bytes();
        let [s_hi, s_lo] = self.session.to_be_bytes();
        b[2] = t_lo;
        b[3] = s_lo;
        b[5] = (u8::from(self.damage) << 5) | (self.track_mode & 0x0F);
        b[6] = (u8::from(self.reserved) << 7)
            | (u8::from(self.blank) << 6)
            | (u8::from(self.packet) << 5)
            | (u8::from(self.fixed_packet) << 4)
            | (self.data_mode & 0x0F);
        b[7] =
            (u8::from(self.last_recorded.is_some()) << 1) | u8::from(self.next_writable.is_some());
        put32(&mut b, 8, self.start);
        put32(&mut b, 12, self.next_writable.unwrap_or(0));
        put32(&mut b, 16, self.free_blocks);
        put32(&mut b, 20, self.fixed_packet_size);
        put32(&mut b, 24, self.size);
        put32(&mut b, 28, self.last_recorded.unwrap_or(0));
        b[32] = t_hi;
        b[33] = s_hi;
        b
    }
}
