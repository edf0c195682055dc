//! Directory records (ECMA-119 9.1).

use crate::codec::{get_le32, put_both16, put_both32};

bitflags::bitflags! {
    /// The file-flags byte of a directory record.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct FileFlags: u8 {
        /// Hidden from directory listings.
        const HIDDEN = 0x01;
        /// The record describes a directory.
        const DIRECTORY = 0x02;
        /// An associated file.
        const ASSOCIATED = 0x04;
        /// Record format in an extended attribute record.
        const RECORD = 0x08;
        /// Permissions in an extended attribute record.
        const PROTECTION = 0x10;
        /// More records for further extents of this file follow.
        const MULTI_EXTENT = 0x80;
    }
}

/// Length of a record's fixed part, before the identifier.
pub const FIXED_LEN: usize = 33;

/// One directory record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirRecord {
    /// First logical block of the extent.
    pub extent: u32,
    /// Data length in bytes.
    pub size: u32,
    /// Recording date, 7-byte form.
    pub date: [u8; 7],
    /// File flags.
    pub flags: FileFlags,
    /// File identifier: `[0]` for ".", `[1]` for "..", else d-characters.
    pub ident: Vec<u8>,
    /// System use area (SUSP entries).
    pub system_use: Vec<u8>,
}

/// Encoded length of a record with an identifier of `ident_len` bytes and
/// `su_len` bytes of system use: a pad byte follows even-length identifiers,
/// and the whole record is padded to an even length as mkisofs does.
pub fn record_len(ident_len: usize, su_len: usize) -> usize {
    (FIXED_LEN + ident_len + (1 - ident_len % 2) + su_len + 1) & !1
}

impl DirRecord {
    /// Encoded length in bytes.
    pub fn len(&self) -> usize {
        record_len(self.ident.len(), self.system_use.len())
    }

    /// Whether the record would be empty on disc, which never happens: a
    /// record always has its fixed part.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the encoded record to `out`. Lengths beyond the one-byte
    /// fields are the caller's bug, so they are checked in debug builds.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let len = self.len();
        debug_assert!(len <= 255 && self.ident.len() <= 255);
        let start = out.len();
        out.resize(start + len, 0);
        let b = &mut out[start..];
        b[0] = len as u8;
        put_both32(&mut b[2..10], self.extent);
        put_both32(&mut b[10..18], self.size);
        b[18..25].copy_from_slice(&self.date);
        b[25] = self.flags.bits();
        put_both16(&mut b[28..32], 1);
        b[32] = self.ident.len() as u8;
        let id_end = FIXED_LEN + self.ident.len();
        b[FIXED_LEN..id_end].copy_from_slice(&self.ident);
        let su_start = id_end + (1 - self.ident.len() % 2);
        b[su_start..su_start + self.system_use.len()].copy_from_slice(&self.system_use);
    }

    /// Decodes one record from the start of `buf` (which may hold more).
    /// Lenient where Linux is (the little-endian halves are trusted), strict
    /// about lengths so that nothing is read outside the record.
    pub fn decode(buf: &[u8]) -> Result<DirRecord, &'static str> {
        let len = *buf.first().ok_or("empty record")? as usize;
        if len < FIXED_LEN + 1 || len > buf.len() {
            return Err("record length out of range");
        }
        let b = &buf[..len];
        let ident_len = b[32] as usize;
        let id_end = FIXED_LEN + ident_len;
        if id_end > len {
            return Err("identifier longer than record");
        }
        let su_start = (id_end + (1 - ident_len % 2)).min(len);
        let ext_attr = b[1] as u32;
        let extent = get_le32(&b[2..10]).ok_or("bad extent")?;
        let mut date = [0u8; 7];
        date.copy_from_slice(&b[18..25]);
        Ok(DirRecord {
            // An extended attribute record sits in front of the data.
            extent: extent.saturating_add(ext_attr),
            size: get_le32(&b[10..18]).ok_or("bad size")?,
            date,
            flags: FileFlags::from_bits_retain(b[25]),
            ident: b[FIXED_LEN..id_end].to_vec(),
            system_use: b[su_start..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(
            extent in any::<u32>(), size in any::<u32>(), flags in any::<u8>(),
            ident in proptest::collection::vec(any::<u8>(), 1..40),
            mut su in proptest::collection::vec(any::<u8>(), 0..180),
            date in any::<[u8; 7]>(),
        ) {
            // Odd system use areas gain a pad byte, which decoding keeps.
            su.truncate(su.len() & !1);
            let rec = DirRecord { extent, size, date, flags: FileFlags::from_bits_retain(flags), ident, system_use: su };
            let mut out = vec![];
            rec.encode(&mut out);
            prop_assert_eq!(out.len(), rec.len());
            prop_assert_eq!(out.len() % 2, 0);
            prop_assert_eq!(DirRecord::decode(&out).unwrap(), rec);
        }
    }

    #[test]
    fn rejects_truncation() {
        let rec = DirRecord {
            ident: b"ABC.;1".to_vec(),
            ..Default::default()
        };
        let mut out = vec![];
        rec.encode(&mut out);
        assert!(DirRecord::decode(&out[..out.len() - 1]).is_err());
        out[32] = 200;
        assert!(DirRecord::decode(&out).is_err());
    }
}
