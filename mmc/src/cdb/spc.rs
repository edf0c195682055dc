//! Primary (SPC) commands every drive answers: INQUIRY, TEST UNIT READY,
//! REQUEST SENSE, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL.

use super::{be16, check_cdb, need, put16, Cdb, Command, Response};
use crate::error::DecodeError;

/// Peripheral device type of an MMC (CD/DVD/BD) device.
pub const PERIPHERAL_MMC: u8 = 0x05;

/// INQUIRY `12h`: standard inquiry data, or a vital product data page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inquiry {
    /// VPD page to fetch (EVPD set), or None for standard data.
    pub vpd_page: Option<u8>,
    /// Allocation length.
    pub alloc: u16,
}

impl Inquiry {
    /// Standard inquiry data, `alloc` bytes.
    pub const fn standard(alloc: u16) -> Self {
        Inquiry {
            vpd_page: None,
            alloc,
        }
    }
}

impl Command for Inquiry {
    const OPCODE: u8 = 0x12;
    const NAME: &'static str = "INQUIRY";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 6);
        let b = c.bytes_mut();
        if let Some(page) = self.vpd_page {
            b[1] = 1;
            b[2] = page;
        }
        put16(b, 3, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 6, Self::NAME)?;
        let evpd = cdb[1] & 1 != 0;
        if !evpd && cdb[2] != 0 {
            return Err(DecodeError::Invalid {
                what: Self::NAME,
                detail: "page code without EVPD".into(),
            });
        }
        Ok(Inquiry {
            vpd_page: evpd.then_some(cdb[2]),
            alloc: be16(cdb, 3),
        })
    }
}

/// A vital product data page (INQUIRY with EVPD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpdPage {
    /// Peripheral device type.
    pub peripheral_type: u8,
    /// Page code.
    pub page: u8,
    /// Page contents after the 4-byte header.
    pub data: Vec<u8>,
}

impl Response for VpdPage {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 4, "VPD page")?;
        let end = (4 + usize::from(be16(b, 2))).min(b.len());
        Ok(VpdPage {
            peripheral_type: b[0] & 0x1F,
            page: b[1],
            data: b[4..end].to_vec(),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![self.peripheral_type & 0x1F, self.page, 0, 0];
        put16(&mut b, 2, self.data.len() as u16);
        b.extend_from_slice(&self.data);
        b
    }
}

/// Standard INQUIRY data (the first 36 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InquiryData {
    /// Peripheral device type (5 = MMC).
    pub peripheral_type: u8,
    /// Removable medium (RMB).
    pub removable: bool,
    /// Vendor identification, trailing blanks removed.
    pub vendor: String,
    /// Product identification, trailing blanks removed.
    pub product: String,
    /// Product revision level, trailing blanks removed.
    pub revision: String,
}

fn ascii_field(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if (0x20..0x7F).contains(&c) {
                c as char
            } else {
                ' '
            }
        })
        .collect::<String>()
        .trim()
        .to_string()
}

fn put_ascii(dst: &mut [u8], s: &str) {
    for (i, d) in dst.iter_mut().enumerate() {
        *d = s.as_bytes().get(i).copied().unwrap_or(b' ');
    }
}

impl Response for InquiryData {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 36, "INQUIRY data")?;
        Ok(InquiryData {
            peripheral_type: b[0] & 0x1F,
            removable: b[1] & 0x80 != 0,
            vendor: ascii_field(&b[8..16]),
            product: ascii_field(&b[16..32]),
            revision: ascii_field(&b[32..36]),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 36];
        b[0] = self.peripheral_type & 0x1F;
        b[1] = if self.removable { 0x80 } else { 0 };
        b[2] = 0x05; // SPC-3
        b[3] = 0x02; // response data format 2
        b[4] = 31;
        put_ascii(&mut b[8..16], &self.vendor);
        put_ascii(&mut b[16..32], &self.product);
        put_ascii(&mut b[32..36], &self.revision);
        b
    }
}

/// TEST UNIT READY `00h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TestUnitReady;

impl Command for TestUnitReady {
    const OPCODE: u8 = 0x00;
    const NAME: &'static str = "TEST UNIT READY";
    fn encode(&self) -> Cdb {
        Cdb::new(Self::OPCODE, 6)
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 6, Self::NAME)?;
        Ok(TestUnitReady)
    }
}

/// REQUEST SENSE `03h`; the reply is sense data ([`crate::Sense::parse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSense {
    /// Ask for descriptor-format sense.
    pub descriptor: bool,
    /// Allocation length.
    pub alloc: u8,
}

impl Command for RequestSense {
    const OPCODE: u8 = 0x03;
    const NAME: &'static str = "REQUEST SENSE";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 6);
        let b = c.bytes_mut();
        b[1] = u8::from(self.descriptor);
        b[4] = self.alloc;
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 6, Self::NAME)?;
        Ok(RequestSense {
            descriptor: cdb[1] & 1 != 0,
            alloc: cdb[4],
        })
    }
}

impl Response for crate::sense::Sense {
    fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        crate::sense::Sense::parse(bytes)
    }
    fn encode(&self) -> Vec<u8> {
        self.to_fixed().to_vec()
    }
}

/// What START STOP UNIT asks of the tray and spindle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartStopAction {
    /// Spin down (`LoEj 0, Start 0`).
    Stop,
    /// Spin up (`LoEj 0, Start 1`).
    Start,
    /// Open the tray / eject (`LoEj 1, Start 0`).
    Eject,
    /// Close the tray / load (`LoEj 1, Start 1`).
    Load,
}

/// START STOP UNIT `1Bh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartStopUnit {
    /// Return before the mechanism finishes.
    pub immed: bool,
    /// What to do.
    pub action: StartStopAction,
}

impl Command for StartStopUnit {
    const OPCODE: u8 = 0x1B;
    const NAME: &'static str = "START STOP UNIT";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 6);
        let b = c.bytes_mut();
        b[1] = u8::from(self.immed);
        b[4] = match self.action {
            StartStopAction::Stop => 0,
            StartStopAction::Start => 1,
            StartStopAction::Eject => 2,
            StartStopAction::Load => 3,
        };
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 6, Self::NAME)?;
        let action = match cdb[4] & 0x03 {
            0 => StartStopAction::Stop,
            1 => StartStopAction::Start,
            2 => StartStopAction::Eject,
            _ => StartStopAction::Load,
        };
        Ok(StartStopUnit {
            immed: cdb[1] & 1 != 0,
            action,
        })
    }
}

/// PREVENT ALLOW MEDIUM REMOVAL `1Eh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreventAllowMediumRemoval {
    /// Lock the tray (true) or allow removal (false).
    pub prevent: bool,
}

impl Command for PreventAllowMediumRemoval {
    const OPCODE: u8 = 0x1E;
    const NAME: &'static str = "PREVENT ALLOW MEDIUM REMOVAL";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 6);
        c.bytes_mut()[4] = u8::from(self.prevent);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 6, Self::NAME)?;
        Ok(PreventAllowMediumRemoval {
            prevent: cdb[4] & 0x01 != 0,
        })
    }
}
