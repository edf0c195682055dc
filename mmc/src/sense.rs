//! SCSI sense data: decoding (fixed and descriptor formats), encoding (for the
//! emulated drive) and the meaning of the key/ASC/ASCQ triples burners report.

use std::fmt;

use crate::cdb::need;
use crate::error::DecodeError;

/// Sense key 0: no error.
pub const NO_SENSE: u8 = 0x0;
/// Sense key 1: recovered error.
pub const RECOVERED_ERROR: u8 = 0x1;
/// Sense key 2: the drive is not ready (no medium, becoming ready, busy).
pub const NOT_READY: u8 = 0x2;
/// Sense key 3: medium error (write or read failure on the disc).
pub const MEDIUM_ERROR: u8 = 0x3;
/// Sense key 4: hardware error.
pub const HARDWARE_ERROR: u8 = 0x4;
/// Sense key 5: illegal request (bad CDB, bad address, wrong sequence).
pub const ILLEGAL_REQUEST: u8 = 0x5;
/// Sense key 6: unit attention (medium changed, reset).
pub const UNIT_ATTENTION: u8 = 0x6;
/// Sense key 7: data protect (write-protected medium).
pub const DATA_PROTECT: u8 = 0x7;

/// One decoded sense report: the key/ASC/ASCQ triple plus the optional fields
/// a burner uses (progress of a long operation, the information field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sense {
    /// Sense key (low 4 bits).
    pub key: u8,
    /// Additional sense code.
    pub asc: u8,
    /// Additional sense code qualifier.
    pub ascq: u8,
    /// Progress of a long operation in 1/65536 units, when the drive reports it.
    pub progress: Option<u16>,
    /// The information field (often the failing LBA), when marked valid.
    pub information: Option<u32>,
}

impl Sense {
    /// A sense triple without progress or information.
    pub const fn new(key: u8, asc: u8, ascq: u8) -> Self {
        Sense {
            key,
            asc,
            ascq,
            progress: None,
            information: None,
        }
    }

    /// The same sense carrying a progress indication.
    pub const fn with_progress(mut self, progress: u16) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The triple as `(key, asc, ascq)`, handy in matches.
    pub const fn triple(&self) -> (u8, u8, u8) {
        (self.key, self.asc, self.ascq)
    }

    /// Whether the drive says "no medium" (2/3A/xx).
    pub fn is_no_medium(&self) -> bool {
        self.key == NOT_READY && self.asc == 0x3A
    }

    /// Whether the drive is busy with something that ends by itself (2/04/xx
    /// other than "manual intervention required").
    pub fn is_in_progress(&self) -> bool {
        self.key == NOT_READY && self.asc == 0x04 && self.ascq != 0x03
    }

    /// Whether this is a unit attention that only asks to retry (medium changed, reset).
    pub fn is_unit_attention(&self) -> bool {
        self.key == UNIT_ATTENTION
    }

    /// Decodes sense bytes in fixed (70h/71h) or descriptor (72h/73h) format.
    pub fn parse(bytes: &[u8]) -> Result<Sense, DecodeError> {
        let code = *bytes.first().ok_or(DecodeError::Short {
            what: "sense data",
            need: 1,
            got: 0,
        })? & 0x7F;
        match code {
            0x70 | 0x71 => {
                need(bytes, 3, "fixed sense data")?;
                let info_valid = bytes[0] & 0x80 != 0;
                let information = if info_valid && bytes.len() >= 7 {
                    Some(u32::from_be_bytes([bytes[3], bytes[4], bytes[5], bytes[6]]))
                } else {
                    None
                };
                let asc = bytes.get(12).copied().unwrap_or(0);
                let ascq = bytes.get(13).copied().unwrap_or(0);
                let progress = match (bytes.get(15), bytes.get(16), bytes.get(17)) {
                    (Some(&b15), Some(&hi), Some(&lo)) if b15 & 0x80 != 0 => {
                        Some(u16::from_be_bytes([hi, lo]))
                    }
                    _ => None,
                };
                Ok(Sense {
                    key: bytes[2] & 0x0F,
                    asc,
                    ascq,
                    progress,
                    information,
                })
            }
            0x72 | 0x73 => {
                need(bytes, 4, "descriptor sense data")?;
                let mut sense = Sense::new(bytes[1] & 0x0F, bytes[2], bytes[3]);
                let total = bytes.get(7).map_or(0, |&n| 8 + n as usize).min(bytes.len());
                let mut at = 8;
                // Descriptors are type/length records; a truncated one ends the walk
                // rather than failing, since key/ASC/ASCQ are already known.
                while at + 2 <= total {
                    let kind = bytes[at];
                    let len = bytes[at + 1] as usize;
                    let body = &bytes[at + 2..(at + 2 + len).min(total)];
                    match kind {
                        0x00 if body.len() >= 10 && body[0] & 0x80 != 0 => {
                            sense.information =
                                Some(u32::from_be_bytes([body[6], body[7], body[8], body[9]]));
                        }
                        0x02 if body.len() >= 5 && body[2] & 0x80 != 0 => {
                            sense.progress = Some(u16::from_be_bytes([body[3], body[4]]));
                        }
                        _ => {}
                    }
                    at += 2 + len;
                }
                Ok(sense)
            }
            other => Err(DecodeError::Invalid {
                what: "sense data",
                detail: format!("unknown response code {other:#04x}"),
            }),
        }
    }

    /// Encodes the sense in fixed format (18 bytes), as the emulated drive answers.
    pub fn to_fixed(&self) -> [u8; 18] {
        let mut b = [0u8; 18];
        b[0] = 0x70;
        if let Some(info) = self.information {
            b[0] |= 0x80;
            b[3..7].copy_from_slice(&info.to_be_bytes());
        }
        b[2] = self.key & 0x0F;
        b[7] = 10;
        b[12] = self.asc;
        b[13] = self.ascq;
        if let Some(p) = self.progress {
            b[15] = 0x80;
            b[16..18].copy_from_slice(&p.to_be_bytes());
        }
        b
    }

    /// The meaning of this triple in words.
    pub fn meaning(&self) -> &'static str {
        describe(self.key, self.asc, self.ascq)
    }
}

impl fmt::Display for Sense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sense {:X}/{:02X}/{:02X} ({})",
            self.key,
            self.asc,
            self.ascq,
            self.meaning()
        )
    }
}

/// The meaning of a key/ASC/ASCQ triple in words: the specific ASC/ASCQ text
/// when known, else the ASC family, else the sense key.
pub fn describe(key: u8, asc: u8, ascq: u8) -> &'static str {
    let exact = match (asc, ascq) {
        (0x00, 0x00) => Some("no additional sense information"),
        (0x02, 0x00) => Some("no seek complete"),
        (0x04, 0x00) => Some("logical unit not ready, cause not reportable"),
        (0x04, 0x01) => Some("logical unit is in process of becoming ready"),
        (0x04, 0x02) => Some("logical unit not ready, initializing command required"),
        (0x04, 0x03) => Some("logical unit not ready, manual intervention required"),
        (0x04, 0x04) => Some("logical unit not ready, format in progress"),
        (0x04, 0x07) => Some("logical unit not ready, operation in progress"),
        (0x04, 0x08) => Some("logical unit not ready, long write in progress"),
        (0x09, 0x00) => Some("track following error"),
        (0x0C, 0x00) => Some("write error"),
        (0x0C, 0x07) => Some("write error, recovery needed"),
        (0x0C, 0x09) => Some("write error, loss of streaming (buffer underrun)"),
        (0x11, 0x00) => Some("unrecovered read error"),
        (0x15, 0x00) => Some("random positioning error"),
        (0x1A, 0x00) => Some("parameter list length error"),
        (0x20, 0x00) => Some("invalid command operation code"),
        (0x21, 0x00) => Some("logical block address out of range"),
        (0x21, 0x02) => Some("invalid address for write"),
        (0x24, 0x00) => Some("invalid field in CDB"),
        (0x26, 0x00) => Some("invalid field in parameter list"),
        (0x27, 0x00) => Some("write protected"),
        (0x28, 0x00) => Some("not ready to ready change, medium may have changed"),
        (0x29, 0x00) => Some("power on, reset, or bus device reset occurred"),
        (0x2C, 0x00) => Some("command sequence error"),
        (0x30, 0x00) => Some("incompatible medium installed"),
        (0x30, 0x02) => Some("cannot read medium, incompatible format"),
        (0x30, 0x05) => Some("cannot write medium, incompatible format"),
        (0x30, 0x06) => Some("cannot format medium, incompatible medium"),
        (0x30, 0x10) => Some("medium not formatted"),
        (0x31, 0x00) => Some("medium format corrupted"),
        (0x3A, 0x00) => Some("medium not present"),
        (0x3A, 0x01) => Some("medium not present, tray closed"),
        (0x3A, 0x02) => Some("medium not present, tray open"),
        (0x53, 0x02) => Some("medium removal prevented"),
        (0x57, 0x00) => Some("unable to recover table of contents"),
        (0x63, 0x00) => Some("end of user area encountered on this track"),
        (0x64, 0x00) => Some("illegal mode for this track"),
        (0x6F, 0x00) => Some("copy protection key exchange failure"),
        (0x72, 0x00) => Some("session fixation error"),
        (0x72, 0x03) => Some("session fixation error, incomplete track in session"),
        (0x72, 0x04) => Some("empty or partially written reserved track"),
        (0x72, 0x05) => Some("no more track reservations allowed"),
        (0x73, 0x00) => Some("CD control error"),
        (0x73, 0x02) => Some("power calibration area is full"),
        (0x73, 0x03) => Some("power calibration area error"),
        (0x73, 0x05) => Some("program memory area update failure"),
        _ => None,
    };
    if let Some(text) = exact {
        return text;
    }
    let family = match asc {
        0x04 => Some("logical unit not ready"),
        0x0C => Some("write error"),
        0x11 => Some("read error"),
        0x21 => Some("address out of range or invalid"),
        0x24 => Some("invalid field in CDB"),
        0x28 => Some("medium may have changed"),
        0x29 => Some("reset occurred"),
        0x30 => Some("incompatible medium"),
        0x3A => Some("medium not present"),
        0x72 => Some("session fixation error"),
        0x73 => Some("CD control error"),
        _ => None,
    };
    if let Some(text) = family {
        return text;
    }
    match key {
        NO_SENSE => "no sense",
        RECOVERED_ERROR => "recovered error",
        NOT_READY => "not ready",
        MEDIUM_ERROR => "medium error",
        HARDWARE_ERROR => "hardware error",
        ILLEGAL_REQUEST => "illegal request",
        UNIT_ATTENTION => "unit attention",
        DATA_PROTECT => "data protect",
        0x8 => "blank check",
        0xB => "aborted command",
        _ => "unknown sense",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_format_round_trip_with_progress_and_information() {
        let sense = Sense {
            key: 2,
            asc: 4,
            ascq: 7,
            progress: Some(0x8000),
            information: Some(1234),
        };
        let bytes = sense.to_fixed();
        assert_eq!(
            bytes,
            [0xF0, 0, 2, 0, 0, 0x04, 0xD2, 10, 0, 0, 0, 0, 4, 7, 0, 0x80, 0x80, 0x00]
        );
        assert_eq!(Sense::parse(&bytes).unwrap(), sense);
    }

    #[test]
    fn descriptor_format_decodes_triple_and_progress() {
        let bytes = [
            0x72, 0x02, 0x04, 0x04, 0, 0, 0, 8, // header, 8 bytes of descriptors
            0x02, 0x06, 0, 0, 0x80, 0x40, 0x00, 0, // sense-key-specific: progress 4000h
        ];
        let s = Sense::parse(&bytes).unwrap();
        assert_eq!(s.triple(), (2, 4, 4));
        assert_eq!(s.progress, Some(0x4000));
        assert_eq!(s.meaning(), "logical unit not ready, format in progress");
    }

    #[test]
    fn short_or_unknown_sense_is_an_error_not_a_panic() {
        assert!(Sense::parse(&[]).is_err());
        assert!(Sense::parse(&[0x70, 0]).is_err());
        assert!(Sense::parse(&[0x12, 0, 0, 0]).is_err());
        // A fixed sense cut after the key still yields the key.
        assert_eq!(Sense::parse(&[0x70, 0, 5]).unwrap().triple(), (5, 0, 0));
    }

    #[test]
    fn display_names_the_triple_and_its_meaning() {
        let s = Sense::new(5, 0x21, 0x02);
        assert_eq!(s.to_string(), "sense 5/21/02 (invalid address for write)");
        assert_eq!(describe(3, 0x0C, 0x55), "write error");
        assert_eq!(describe(0xB, 0x99, 0), "aborted command");
    }
}
