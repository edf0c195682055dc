//! READ DISC STRUCTURE: format C0h, the medium's write protection status
//! (DVD and BD media; a CD has no such structure).

use super::{be16, be32, check_cdb, need, put16, put32, Cdb, Command, Response};
use crate::error::DecodeError;

/// Format code of the write protection status structure.
pub const FORMAT_WRITE_PROTECTION: u8 = 0xC0;

/// Feature code of the Write Protect feature: a drive that lists it as
/// current reports the medium's write protection ([`WriteProtection`]).
pub const FEATURE_WRITE_PROTECT: u16 = 0x0004;

/// Media type field of READ DISC STRUCTURE (byte 1, bits 3–0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructureMedia {
    /// 0h: DVD and HD DVD.
    Dvd,
    /// 1h: BD.
    Bd,
}

/// READ DISC STRUCTURE `ADh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadDiscStructure {
    /// Which family of structures.
    pub media: StructureMedia,
    /// Address field (format dependent; 0 for C0h).
    pub address: u32,
    /// Layer number.
    pub layer: u8,
    /// Format code, e.g. [`FORMAT_WRITE_PROTECTION`].
    pub format: u8,
    /// Allocation length.
    pub alloc: u16,
}

impl Command for ReadDiscStructure {
    const OPCODE: u8 = 0xAD;
    const NAME: &'static str = "READ DISC STRUCTURE";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 12);
        let b = c.bytes_mut();
        b[1] = match self.media {
            StructureMedia::Dvd => 0,
            StructureMedia::Bd => 1,
        };
        put32(b, 2, self.address);
        b[6] = self.layer;
        b[7] = self.format;
        put16(b, 8, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 12, Self::NAME)?;
        let media = match cdb[1] & 0x0F {
            0 => StructureMedia::Dvd,
            1 => StructureMedia::Bd,
            n => {
                return Err(DecodeError::Invalid {
                    what: Self::NAME,
                    detail: format!("media type {n:X}h is reserved"),
                })
            }
        };
        Ok(ReadDiscStructure {
            media,
            address: be32(cdb, 2),
            layer: cdb[6],
            format: cdb[7],
            alloc: be16(cdb, 8),
        })
    }
}

/// Format C0h: why the medium may not be written (byte 4 of the reply).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteProtection {
    /// SWPP: software write protection until power down.
    pub software: bool,
    /// PWP: persistent write protection (recorded on the medium).
    pub persistent: bool,
    /// CWP: the cartridge's write protect switch.
    pub cartridge: bool,
    /// MSWI: media specific write inhibition.
    pub media_specific: bool,
}

impl WriteProtection {
    /// Whether anything forbids writing.
    pub fn any(&self) -> bool {
        self.software || self.persistent || self.cartridge || self.media_specific
    }

    /// What protects the medium, in words ("persistent write protection, ...").
    pub fn describe(&self) -> String {
        let words: Vec<&str> = [
            (self.software, "software write protection"),
            (self.persistent, "persistent write protection"),
            (self.cartridge, "the cartridge's write protect switch"),
            (self.media_specific, "media specific write inhibition"),
        ]
        .iter()
        .filter_map(|&(on, w)| on.then_some(w))
        .collect();
        words.join(", ")
    }
}

impl Response for WriteProtection {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 5, "write protection status")?;
        Ok(WriteProtection {
            software: b[4] & 0x01 != 0,
            persistent: b[4] & 0x02 != 0,
            cartridge: b[4] & 0x04 != 0,
            media_specific: b[4] & 0x08 != 0,
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 8];
        // The data length counts the bytes after itself.
        put16(&mut b, 0, 6);
        b[4] = u8::from(self.software)
            | (u8::from(self.persistent) << 1)
            | (u8::from(self.cartridge) << 2)
            | (u8::from(self.media_specific) << 3);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_encodes_and_decodes_both_ways() {
        for media in [StructureMedia::Dvd, StructureMedia::Bd] {
            let c = ReadDiscStructure {
                media,
                address: 0x0102_0304,
                layer: 1,
                format: FORMAT_WRITE_PROTECTION,
                alloc: 8,
            };
            let cdb = c.encode();
            assert_eq!(cdb.as_bytes().len(), 12);
            assert_eq!(cdb.as_bytes()[7], 0xC0);
            assert_eq!(ReadDiscStructure::decode(cdb.as_bytes()).unwrap(), c);
        }
        let mut bad = [0u8; 12];
        bad[0] = 0xAD;
        bad[1] = 0x05;
        assert!(ReadDiscStructure::decode(&bad).is_err());
    }

    #[test]
    fn the_status_encodes_and_decodes_both_ways() {
        for bits in 0u8..16 {
            let w = WriteProtection {
                software: bits & 1 != 0,
                persistent: bits & 2 != 0,
                cartridge: bits & 4 != 0,
                media_specific: bits & 8 != 0,
            };
            let b = w.encode();
            assert_eq!((b.len(), b[4]), (8, bits));
            assert_eq!(WriteProtection::parse(&b).unwrap(), w);
            assert_eq!(w.any(), bits != 0);
        }
        let w = WriteProtection {
            persistent: true,
            media_specific: true,
            ..WriteProtection::default()
        };
        assert_eq!(
            w.describe(),
            "persistent write protection, media specific write inhibition"
        );
        assert!(WriteProtection::parse(&[0, 6, 0, 0]).is_err());
    }
}
