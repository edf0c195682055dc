//! MODE SENSE(10) / MODE SELECT(10) and the two pages a burner needs:
//! 05h (write parameters) and 2Ah (capabilities and mechanical status).

use bitflags::bitflags;

use super::{be16, be32, check_cdb, need, put16, put32, Cdb, Command, Response};
use crate::error::DecodeError;

/// Page code of the read/write error recovery page.
pub const PAGE_ERROR_RECOVERY: u8 = 0x01;
/// Page code of the write parameters page.
pub const PAGE_WRITE_PARAMETERS: u8 = 0x05;
/// Page code of the capabilities and mechanical status page.
pub const PAGE_CAPABILITIES: u8 = 0x2A;
/// Length of the MODE SENSE(10)/SELECT(10) parameter header.
pub const MODE_HEADER_LEN: usize = 8;
/// Length of the MODE SENSE(6)/SELECT(6) parameter header.
pub const MODE6_HEADER_LEN: usize = 4;

/// Which values MODE SENSE returns (PC field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageControl {
    /// Current values.
    Current,
    /// Changeable-bit mask.
    Changeable,
    /// Default values.
    Default,
    /// Saved values.
    Saved,
}

/// MODE SENSE(10) `5Ah`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeSense10 {
    /// Disable block descriptors.
    pub dbd: bool,
    /// Which values.
    pub control: PageControl,
    /// Page code.
    pub page: u8,
    /// Allocation length.
    pub alloc: u16,
}

impl Command for ModeSense10 {
    const OPCODE: u8 = 0x5A;
    const NAME: &'static str = "MODE SENSE(10)";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        let b = c.bytes_mut();
        b[1] = u8::from(self.dbd) << 3;
        let pc = match self.control {
            PageControl::Current => 0,
            PageControl::Changeable => 1,
            PageControl::Default => 2,
            PageControl::Saved => 3,
        };
        b[2] = (pc << 6) | (self.page & 0x3F);
        put16(b, 7, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        let control = match cdb[2] >> 6 {
            0 => PageControl::Current,
            1 => PageControl::Changeable,
            2 => PageControl::Default,
            _ => PageControl::Saved,
        };
        Ok(ModeSense10 {
            dbd: cdb[1] & 0x08 != 0,
            control,
            page: cdb[2] & 0x3F,
            alloc: be16(cdb, 7),
        })
    }
}

/// MODE SELECT(10) `55h`; the parameter list is a [`ModeParameters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeSelect10 {
    /// Page format (always set for MMC).
    pub pf: bool,
    /// Save pages.
    pub sp: bool,
    /// Parameter list length.
    pub len: u16,
}

impl Command for ModeSelect10 {
    const OPCODE: u8 = 0x55;
    const NAME: &'static str = "MODE SELECT(10)";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        let b = c.bytes_mut();
        b[1] = (u8::from(self.pf) << 4) | u8::from(self.sp);
        put16(b, 7, self.len);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        Ok(ModeSelect10 {
            pf: cdb[1] & 0x10 != 0,
            sp: cdb[1] & 0x01 != 0,
            len: be16(cdb, 7),
        })
    }
}

/// One mode page as raw bytes (code, PS bit, body after the 2-byte header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModePage {
    /// Page code.
    pub code: u8,
    /// Parameters savable.
    pub ps: bool,
    /// Page body (after code and length).
    pub body: Vec<u8>,
}

/// Mode parameter list: the 8-byte header and its pages (no block descriptors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeParameters {
    /// Pages in order.
    pub pages: Vec<ModePage>,
}

impl ModeParameters {
    /// The page with this code.
    pub fn page(&self, code: u8) -> Option<&ModePage> {
        self.pages.iter().find(|p| p.code == code)
    }
}

impl ModeParameters {
    /// Reads the pages in `b[at..end]`.
    fn parse_pages(b: &[u8], mut at: usize, end: usize) -> Result<Self, DecodeError> {
        let mut pages = Vec::new();
        while at + 2 <= end {
            let len = usize::from(b[at + 1]);
            if at + 2 + len > end {
                return Err(DecodeError::Short {
                    what: "mode page",
                    need: at + 2 + len,
                    got: end,
                });
            }
            pages.push(ModePage {
                code: b[at] & 0x3F,
                ps: b[at] & 0x80 != 0,
                body: b[at + 2..at + 2 + len].to_vec(),
            });
            at += 2 + len;
        }
        Ok(ModeParameters { pages })
    }

    fn push_pages(&self, b: &mut Vec<u8>) {
        for p in &self.pages {
            b.push((u8::from(p.ps) << 7) | (p.code & 0x3F));
            b.push(p.body.len().min(255) as u8);
            b.extend_from_slice(&p.body[..p.body.len().min(255)]);
        }
    }

    /// Decodes a list with the 4-byte MODE SENSE(6)/SELECT(6) header.
    pub fn parse6(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, MODE6_HEADER_LEN, "mode(6) parameter header")?;
        let end = match usize::from(b[0]) {
            0 => b.len(),
            n => (n + 1).min(b.len()),
        };
        ModeParameters::parse_pages(b, MODE6_HEADER_LEN + usize::from(b[3]), end)
    }

    /// Encodes the list as a MODE SELECT(10) parameter list: the header's
    /// mode data length is reserved there and stays zero, and so do the
    /// medium type and block descriptor length (no block descriptors).
    pub fn encode_select(&self) -> Vec<u8> {
        let mut b = vec![0u8; MODE_HEADER_LEN];
        self.push_pages(&mut b);
        b
    }

    /// Encodes the list with the 4-byte MODE SENSE(6) header.
    pub fn encode6(&self) -> Vec<u8> {
        let mut b = vec![0u8; MODE6_HEADER_LEN];
        self.push_pages(&mut b);
        b[0] = (b.len() - 1).min(255) as u8;
        b
    }
}

impl Response for ModeParameters {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, MODE_HEADER_LEN, "mode parameter header")?;
        // In a MODE SELECT list the data length is reserved (0): use the buffer.
        let end = match usize::from(be16(b, 0)) {
            0 => b.len(),
            n => (n + 2).min(b.len()),
        };
        ModeParameters::parse_pages(b, MODE_HEADER_LEN + usize::from(be16(b, 6)), end)
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; MODE_HEADER_LEN];
        self.push_pages(&mut b);
        let len = (b.len() - 2) as u16;
        put16(&mut b, 0, len);
        b
    }
}

/// MODE SENSE(6) `1Ah`: what the Linux sr driver sends for page 2Ah.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeSense6 {
    /// Disable block descriptors.
    pub dbd: bool,
    /// Which values.
    pub control: PageControl,
    /// Page code.
    pub page: u8,
    /// Allocation length.
    pub alloc: u8,
}

impl Command for ModeSense6 {
    const OPCODE: u8 = 0x1A;
    const NAME: &'static str = "MODE SENSE(6)";
    fn encode(&self) -> Cdb {
        let ten = ModeSense10 {
            dbd: self.dbd,
            control: self.control,
            page: self.page,
            alloc: 0,
        }
        .encode();
        let mut c = Cdb::new(Self::OPCODE, 6);
        let b = c.bytes_mut();
        b[1] = ten.as_bytes()[1];
        b[2] = ten.as_bytes()[2];
        b[4] = self.alloc;
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 6, Self::NAME)?;
        let ten = ModeSense10::decode(&[0x5A, cdb[1], cdb[2], 0, 0, 0, 0, 0, 0, 0])?;
        Ok(ModeSense6 {
            dbd: ten.dbd,
            control: ten.control,
            page: ten.page,
            alloc: cdb[4],
        })
    }
}

/// MODE SELECT(6) `15h`; the parameter list has the 4-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeSelect6 {
    /// Page format.
    pub pf: bool,
    /// Save pages.
    pub sp: bool,
    /// Parameter list length.
    pub len: u8,
}

impl Command for ModeSelect6 {
    const OPCODE: u8 = 0x15;
    const NAME: &'static str = "MODE SELECT(6)";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 6);
        let b = c.bytes_mut();
        b[1] = (u8::from(self.pf) << 4) | u8::from(self.sp);
        b[4] = self.len;
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 6, Self::NAME)?;
        Ok(ModeSelect6 {
            pf: cdb[1] & 0x10 != 0,
            sp: cdb[1] & 0x01 != 0,
            len: cdb[4],
        })
    }
}

/// Write type (page 05h byte 2 bits 3–0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteType {
    /// Packet / incremental (0).
    Incremental,
    /// Track at once (1).
    TrackAtOnce,
    /// Session at once / DAO (2).
    SessionAtOnce,
    /// Raw (3).
    Raw,
    /// Layer jump or reserved values.
    Other(u8),
}

impl WriteType {
    fn bits(self) -> u8 {
        match self {
            WriteType::Incremental => 0,
            WriteType::TrackAtOnce => 1,
            WriteType::SessionAtOnce => 2,
            WriteType::Raw => 3,
            WriteType::Other(v) => v & 0x0F,
        }
    }
    fn from_bits(v: u8) -> Self {
        match v & 0x0F {
            0 => WriteType::Incremental,
            1 => WriteType::TrackAtOnce,
            2 => WriteType::SessionAtOnce,
            3 => WriteType::Raw,
            o => WriteType::Other(o),
        }
    }
}

/// Multi-session field value that keeps the disc appendable (11b).
pub const MULTISESSION_OPEN: u8 = 0x03;
/// Track mode for a data track recorded uninterrupted.
pub const TRACK_MODE_DATA: u8 = 4;
/// Track mode for a data track recorded incrementally (DVD-R).
pub const TRACK_MODE_INCREMENTAL: u8 = 5;
/// Data block type for Mode 1, 2048 user bytes.
pub const DATA_BLOCK_MODE1: u8 = 8;

/// Write parameters page (05h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteParameters {
    /// Buffer underrun protection.
    pub bufe: bool,
    /// Link size valid.
    pub ls_v: bool,
    /// Simulation.
    pub test_write: bool,
    /// Write type.
    pub write_type: WriteType,
    /// Multi-session field (0 = close the disc, 3 = keep it appendable).
    pub multisession: u8,
    /// Fixed packet.
    pub fp: bool,
    /// Copy bit.
    pub copy: bool,
    /// Track mode.
    pub track_mode: u8,
    /// Data block type.
    pub data_block_type: u8,
    /// Link size.
    pub link_size: u8,
    /// Host application code.
    pub host_app_code: u8,
    /// Session format (00h CD-DA/CD-ROM, 20h CD-ROM XA).
    pub session_format: u8,
    /// Packet size.
    pub packet_size: u32,
    /// Audio pause length.
    pub audio_pause: u16,
}

impl Default for WriteParameters {
    fn default() -> Self {
        WriteParameters {
            bufe: false,
            ls_v: false,
            test_write: false,
            write_type: WriteType::TrackAtOnce,
            multisession: 0,
            fp: false,
            copy: false,
            track_mode: TRACK_MODE_DATA,
            data_block_type: DATA_BLOCK_MODE1,
            link_size: 0,
            host_app_code: 0,
            session_format: 0,
            packet_size: 0,
            audio_pause: 150,
        }
    }
}

/// Length of the page 05h body (after code and length bytes).
const WRITE_PARAMS_BODY: usize = 0x32;

impl WriteParameters {
    /// Reads the page from its body bytes.
    pub fn from_page(p: &ModePage) -> Result<Self, DecodeError> {
        if p.code != PAGE_WRITE_PARAMETERS {
            return Err(DecodeError::Invalid {
                what: "write parameters page",
                detail: format!("page code {:#04x}", p.code),
            });
        }
        // Body offsets are page offsets minus the 2 header bytes.
        let b = &p.body;
        need(b, 14, "write parameters page")?;
        Ok(WriteParameters {
            bufe: b[0] & 0x40 != 0,
            ls_v: b[0] & 0x20 != 0,
            test_write: b[0] & 0x10 != 0,
            write_type: WriteType::from_bits(b[0]),
            multisession: b[1] >> 6,
            fp: b[1] & 0x20 != 0,
            copy: b[1] & 0x10 != 0,
            track_mode: b[1] & 0x0F,
            data_block_type: b[2] & 0x0F,
            link_size: b[3],
            host_app_code: b[5] & 0x3F,
            session_format: b[6],
            packet_size: be32(b, 8),
            audio_pause: be16(b, 12),
        })
    }

    /// Writes the page with the standard body length (32h).
    pub fn to_page(&self) -> ModePage {
        self.to_page_len(WRITE_PARAMS_BODY)
    }

    /// Writes the page with a body of `len` bytes (at least 14): a MODE
    /// SELECT must send the page length the drive reports (32h or 36h).
    pub fn to_page_len(&self, len: usize) -> ModePage {
        let mut b = vec![0u8; len.max(14)];
        b[0] = (u8::from(self.bufe) << 6)
            | (u8::from(self.ls_v) << 5)
            | (u8::from(self.test_write) << 4)
            | self.write_type.bits();
        b[1] = ((self.multisession & 0x03) << 6)
            | (u8::from(self.fp) << 5)
            | (u8::from(self.copy) << 4)
            | (self.track_mode & 0x0F);
        b[2] = self.data_block_type & 0x0F;
        b[3] = self.link_size;
        b[5] = self.host_app_code & 0x3F;
        b[6] = self.session_format;
        put32(&mut b, 8, self.packet_size);
        put16(&mut b, 12, self.audio_pause);
        ModePage {
            code: PAGE_WRITE_PARAMETERS,
            ps: false,
            body: b,
        }
    }
}

bitflags! {
    /// Media the drive reads (page 2Ah byte 2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct ReadCaps: u8 {
        /// CD-R.
        const CD_R = 0x01;
        /// CD-RW.
        const CD_RW = 0x02;
        /// Mode 2 form 1/2.
        const METHOD2 = 0x04;
        /// DVD-ROM.
        const DVD_ROM = 0x08;
        /// DVD-R.
        const DVD_R = 0x10;
        /// DVD-RAM.
        const DVD_RAM = 0x20;
    }
}

bitflags! {
    /// Media the drive writes (page 2Ah byte 3).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct WriteCaps: u8 {
        /// CD-R.
        const CD_R = 0x01;
        /// CD-RW.
        const CD_RW = 0x02;
        /// Test write.
        const TEST_WRITE = 0x04;
        /// DVD-R.
        const DVD_R = 0x10;
        /// DVD-RAM.
        const DVD_RAM = 0x20;
    }
}

/// Capabilities and mechanical status page (2Ah), the parts a burner uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Readable media.
    pub read: ReadCaps,
    /// Writable media.
    pub write: WriteCaps,
    /// Buffer underrun protection supported (BUF).
    pub buffer_underrun_protection: bool,
    /// Multi-session CDs readable.
    pub multisession: bool,
    /// Loading mechanism (byte 6 bits 7–5; 1 = tray).
    pub loading_mechanism: u8,
    /// Software eject supported.
    pub eject: bool,
    /// The tray is locked now.
    pub locked: bool,
    /// Maximum read speed, kB/s (obsolete field, still read by Linux).
    pub max_read_speed: u16,
    /// Buffer size in KiB.
    pub buffer_kib: u16,
    /// Current write speed, kB/s.
    pub current_write_speed: u16,
    /// Supported write speeds, kB/s, fastest first.
    pub write_speeds: Vec<u16>,
}

impl Capabilities {
    /// Reads the page from its body bytes.
    pub fn from_page(p: &ModePage) -> Result<Self, DecodeError> {
        if p.code != PAGE_CAPABILITIES {
            return Err(DecodeError::Invalid {
                what: "capabilities page",
                detail: format!("page code {:#04x}", p.code),
            });
        }
        let b = &p.body;
        need(b, 20, "capabilities page")?;
        let (current, speeds) = if b.len() >= 30 {
            let n = usize::from(be16(b, 28));
            let speeds = b[30..]
                .chunks_exact(4)
                .take(n)
                .map(|d| be16(d, 2))
                .collect();
            (be16(b, 26), speeds)
        } else {
            (be16(b, 18), Vec::new())
        };
        Ok(Capabilities {
            read: ReadCaps::from_bits_truncate(b[0]),
            write: WriteCaps::from_bits_truncate(b[1]),
            buffer_underrun_protection: b[2] & 0x80 != 0,
            multisession: b[2] & 0x40 != 0,
            loading_mechanism: b[4] >> 5,
            eject: b[4] & 0x08 != 0,
            locked: b[4] & 0x02 != 0,
            max_read_speed: be16(b, 6),
            buffer_kib: be16(b, 10),
            current_write_speed: current,
            write_speeds: speeds,
        })
    }

    /// Writes the page (MMC-3+ layout with write speed descriptors).
    pub fn to_page(&self) -> ModePage {
        let mut b = vec![0u8; 30 + 4 * self.write_speeds.len()];
        b[0] = self.read.bits();
        b[1] = self.write.bits();
        b[2] =
            (u8::from(self.buffer_underrun_protection) << 7) | (u8::from(self.multisession) << 6);
        b[4] = (self.loading_mechanism << 5)
            | (u8::from(self.eject) << 3)
            | (u8::from(self.locked) << 1)
            | 0x01;
        put16(&mut b, 6, self.max_read_speed);
        // Obsolete current read speed: Linux prints it; report the maximum.
        put16(&mut b, 12, self.max_read_speed);
        put16(&mut b, 10, self.buffer_kib);
        // Obsolete maximum write speed: the fastest descriptor.
        put16(&mut b, 16, self.write_speeds.first().copied().unwrap_or(0));
        put16(&mut b, 18, self.current_write_speed);
        put16(&mut b, 26, self.current_write_speed);
        put16(&mut b, 28, self.write_speeds.len() as u16);
        for (i, s) in self.write_speeds.iter().enumerate() {
            put16(&mut b, 30 + 4 * i + 2, *s);
        }
        ModePage {
            code: PAGE_CAPABILITIES,
            ps: false,
            body: b,
        }
    }
}
