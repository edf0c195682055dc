//! READ TOC/PMA/ATIP: formats 0 (TOC), 1 (session information) and 2 (full
//! TOC), addressed either by the format field or by the legacy format bits in
//! byte 9 that the Linux sr driver still uses.

use super::{be16, be32, check_cdb, need, put16, put32, Cdb, Command, Response};
use crate::error::DecodeError;

/// Converts an LBA to CD minutes/seconds/frames (LBA 0 = 00:02:00).
pub fn lba_to_msf(lba: i64) -> [u8; 3] {
    let v = if lba >= -150 {
        lba + 150
    } else {
        lba + 450_150
    };
    let v = v.clamp(0, 99 * 4500 + 59 * 75 + 74);
    [(v / 4500) as u8, ((v / 75) % 60) as u8, (v % 75) as u8]
}

/// Converts CD minutes/seconds/frames to an LBA (minutes ≥ 90 are lead-in).
pub fn msf_to_lba(m: u8, s: u8, f: u8) -> i64 {
    let v = i64::from(m) * 4500 + i64::from(s) * 75 + i64::from(f);
    if m < 90 {
        v - 150
    } else {
        v - 450_150
    }
}

/// Which TOC/PMA/ATIP format to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TocFormat {
    /// Format 0: track start addresses.
    Toc,
    /// Format 1: first track of the last complete session.
    SessionInfo,
    /// Format 2: raw Q sub-channel of the lead-ins (CD only).
    FullToc,
    /// Format 4: ATIP of a recordable CD (disc type, lead-in/lead-out times).
    Atip,
}

/// READ TOC/PMA/ATIP `43h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadToc {
    /// Addresses as MSF instead of LBA.
    pub msf: bool,
    /// Format requested.
    pub format: TocFormat,
    /// Starting track (format 0) or session (format 2).
    pub track_session: u8,
    /// Allocation length.
    pub alloc: u16,
    /// Put the format in byte 9 bits 7–6, as old SCSI-2 software does.
    pub legacy: bool,
}

impl Command for ReadToc {
    const OPCODE: u8 = 0x43;
    const NAME: &'static str = "READ TOC/PMA/ATIP";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        let b = c.bytes_mut();
        let code = match self.format {
            TocFormat::Toc => 0,
            TocFormat::SessionInfo => 1,
            TocFormat::FullToc => 2,
            TocFormat::Atip => 4,
        };
        // Only formats 0–2 have a legacy encoding.
        let legacy = self.legacy && code <= 2;
        b[1] = u8::from(self.msf) << 1;
        if legacy {
            b[9] = code << 6;
        } else {
            b[2] = code;
        }
        b[6] = self.track_session;
        put16(b, 7, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        let modern = cdb[2] & 0x0F;
        let old = cdb[9] >> 6;
        let (code, legacy) = if modern == 0 && old != 0 {
            (old, true)
        } else {
            (modern, false)
        };
        let format = match code {
            0 => TocFormat::Toc,
            1 => TocFormat::SessionInfo,
            2 => TocFormat::FullToc,
            4 => TocFormat::Atip,
            other => {
                return Err(DecodeError::Invalid {
                    what: Self::NAME,
                    detail: format!("format {other} is not supported"),
                })
            }
        };
        Ok(ReadToc {
            msf: cdb[1] & 0x02 != 0,
            format,
            track_session: cdb[6],
            alloc: be16(cdb, 7),
            legacy,
        })
    }
}

/// Track number of the lead-out entry in a format-0 TOC.
pub const LEAD_OUT: u8 = 0xAA;

/// One track descriptor of a format-0 TOC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TocEntry {
    /// ADR (1 = position data).
    pub adr: u8,
    /// CONTROL (4 = data track, recorded uninterrupted).
    pub control: u8,
    /// Track number (AAh = lead-out).
    pub track: u8,
    /// Start address: LBA, or 00 MM SS FF when MSF was asked.
    pub address: u32,
}

/// Format-0 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toc {
    /// First track number.
    pub first_track: u8,
    /// Last track number.
    pub last_track: u8,
    /// Descriptors, ending with the lead-out.
    pub entries: Vec<TocEntry>,
}

impl Response for Toc {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 4, "TOC header")?;
        let end = (usize::from(be16(b, 0)) + 2).clamp(4, b.len());
        let entries = b[4..end]
            .chunks_exact(8)
            .map(|d| TocEntry {
                adr: d[1] >> 4,
                control: d[1] & 0x0F,
                track: d[2],
                address: be32(d, 4),
            })
            .collect();
        Ok(Toc {
            first_track: b[2],
            last_track: b[3],
            entries,
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 4];
        b[2] = self.first_track;
        b[3] = self.last_track;
        for e in &self.entries {
            let mut d = [0u8; 8];
            d[1] = (e.adr << 4) | (e.control & 0x0F);
            d[2] = e.track;
            put32(&mut d, 4, e.address);
            b.extend_from_slice(&d);
        }
        let len = (b.len() - 2) as u16;
        put16(&mut b, 0, len);
        b
    }
}

/// Format-1 reply: where the last complete session starts (`-msinfo`'s first number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionInfo {
    /// First complete session number.
    pub first_session: u8,
    /// Last complete session number.
    pub last_session: u8,
    /// ADR/CONTROL of the descriptor.
    pub adr_control: u8,
    /// First track number in the last complete session.
    pub first_track_last_session: u8,
    /// Start address of that track (LBA or 00 MM SS FF).
    pub start: u32,
}

impl Response for SessionInfo {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 12, "session information")?;
        Ok(SessionInfo {
            first_session: b[2],
            last_session: b[3],
            adr_control: b[5],
            first_track_last_session: b[6],
            start: be32(b, 8),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        put16(&mut b, 0, 10);
        b[2] = self.first_session;
        b[3] = self.last_session;
        b[5] = self.adr_control;
        b[6] = self.first_track_last_session;
        put32(&mut b, 8, self.start);
        b
    }
}

/// One 11-byte descriptor of a full TOC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FullTocEntry {
    /// Session number.
    pub session: u8,
    /// ADR (high nibble) and CONTROL (low nibble).
    pub adr_control: u8,
    /// TNO (0 in the lead-in).
    pub tno: u8,
    /// POINT: a track number, or A0h/A1h/A2h/B0h/C0h.
    pub point: u8,
    /// Min, Sec, Frame of the Q sub-channel position.
    pub msf: [u8; 3],
    /// PMIN, PSEC, PFRAME: the value the POINT describes.
    pub pmsf: [u8; 3],
}

/// Format-2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullToc {
    /// First complete session number.
    pub first_session: u8,
    /// Last complete session number.
    pub last_session: u8,
    /// Descriptors.
    pub entries: Vec<FullTocEntry>,
}

impl Response for FullToc {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 4, "full TOC header")?;
        let end = (usize::from(be16(b, 0)) + 2).clamp(4, b.len());
        let entries = b[4..end]
            .chunks_exact(11)
            .map(|d| FullTocEntry {
                session: d[0],
                adr_control: d[1],
                tno: d[2],
                point: d[3],
                msf: [d[4], d[5], d[6]],
                pmsf: [d[8], d[9], d[10]],
            })
            .collect();
        Ok(FullToc {
            first_session: b[2],
            last_session: b[3],
            entries,
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 4];
        b[2] = self.first_session;
        b[3] = self.last_session;
        for e in &self.entries {
            b.extend_from_slice(&[e.session, e.adr_control, e.tno, e.point]);
            b.extend_from_slice(&e.msf);
            b.push(0);
            b.extend_from_slice(&e.pmsf);
        }
        let len = (b.len() - 2) as u16;
        put16(&mut b, 0, len);
        b
    }
}

/// Format-4 reply: the ATIP of a recordable CD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Atip {
    /// CD-RW (disc type bit) rather than CD-R.
    pub cd_rw: bool,
    /// Start time of the lead-in (identifies the manufacturer).
    pub lead_in_start: [u8; 3],
    /// Last possible start time of the lead-out (the capacity).
    pub last_lead_out_start: [u8; 3],
}

impl Response for Atip {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 16, "ATIP")?;
        Ok(Atip {
            cd_rw: b[6] & 0x40 != 0,
            lead_in_start: [b[8], b[9], b[10]],
            last_lead_out_start: [b[12], b[13], b[14]],
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 28];
        put16(&mut b, 0, 26);
        b[4] = 0x80 | 0x50; // indicative writing power 5
        b[6] = 0x80 | (u8::from(self.cd_rw) << 6);
        b[8..11].copy_from_slice(&self.lead_in_start);
        b[12..15].copy_from_slice(&self.last_lead_out_start);
        b
    }
}
