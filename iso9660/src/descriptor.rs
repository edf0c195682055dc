//! Volume descriptors (ECMA-119 8): the primary descriptor and the set
//! terminator.

use crate::codec::{
    decode_long_date, encode_long_date, get_both32, get_le32, put_both16, put_both32,
};
use crate::record::DirRecord;
use crate::SECTOR_SIZE;

/// The standard identifier every descriptor carries.
pub const STANDARD_ID: &[u8; 5] = b"CD001";
/// Descriptor type of the primary volume descriptor.
pub const TYPE_PRIMARY: u8 = 1;
/// Descriptor type of a supplementary (e.g. Joliet) volume descriptor.
pub const TYPE_SUPPLEMENTARY: u8 = 2;
/// Descriptor type of the set terminator.
pub const TYPE_TERMINATOR: u8 = 255;

/// A primary (or supplementary) volume descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeDescriptor {
    /// Descriptor type (1 primary, 2 supplementary).
    pub kind: u8,
    /// System identifier (a-characters, 32).
    pub system_id: String,
    /// Volume identifier (32).
    pub volume_id: String,
    /// Volume space size in logical blocks.
    pub volume_space_size: u32,
    /// Escape sequences (supplementary descriptors only).
    pub escapes: [u8; 32],
    /// Path table size in bytes.
    pub path_table_size: u32,
    /// Location of the type L path table.
    pub l_path_table: u32,
    /// Location of the type M path table.
    pub m_path_table: u32,
    /// The root directory record.
    pub root: DirRecord,
    /// Volume set identifier (128).
    pub volume_set_id: String,
    /// Publisher identifier (128).
    pub publisher_id: String,
    /// Data preparer identifier (128).
    pub preparer_id: String,
    /// Application identifier (128).
    pub application_id: String,
    /// Volume creation date, seconds since the Unix epoch.
    pub created: Option<i64>,
    /// Volume modification date.
    pub modified: Option<i64>,
    /// Volume expiration date.
    pub expires: Option<i64>,
    /// Volume effective date.
    pub effective: Option<i64>,
}

/// Text fields are ASCII in a primary descriptor and UCS-2 big-endian in a
/// Joliet one; both are padded with spaces.
fn put_str(dst: &mut [u8], s: &str, ucs2: bool) {
    if ucs2 {
        for pair in dst.chunks_mut(2) {
            pair.copy_from_slice(&[0, b' '][..pair.len()]);
        }
        let text = crate::joliet::ucs2(s);
        let n = text.len().min(dst.len()) & !1;
        dst[..n].copy_from_slice(&text[..n]);
    } else {
        dst.fill(b' ');
        let n = s.len().min(dst.len());
        dst[..n].copy_from_slice(&s.as_bytes()[..n]);
    }
}

fn get_str(src: &[u8], ucs2: bool) -> String {
    let text = if ucs2 {
        let units: Vec<u16> = src
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        String::from_utf8_lossy(src).into_owned()
    };
    text.trim_end_matches([' ', '\0']).to_string()
}

/// Whether escape sequences announce Joliet (UCS-2 levels 1 to 3).
fn is_joliet(kind: u8, escapes: &[u8]) -> bool {
    kind == TYPE_SUPPLEMENTARY && escapes.starts_with(b"%/")
}

fn put_date(dst: &mut [u8], d: Option<i64>) {
    dst.copy_from_slice(&encode_long_date(d));
}

fn get_date(src: &[u8]) -> Option<i64> {
    decode_long_date(src.try_into().ok()?)
}

impl VolumeDescriptor {
    /// Encodes the descriptor into one sector.
    pub fn encode(&self) -> [u8; SECTOR_SIZE] {
        let mut b = [0u8; SECTOR_SIZE];
        let u = is_joliet(self.kind, &self.escapes);
        b[0] = self.kind;
        b[1..6].copy_from_slice(STANDARD_ID);
        b[6] = 1;
        put_str(&mut b[8..40], &self.system_id, u);
        put_str(&mut b[40..72], &self.volume_id, u);
        put_both32(&mut b[80..88], self.volume_space_size);
        b[88..120].copy_from_slice(&self.escapes);
        put_both16(&mut b[120..124], 1);
        put_both16(&mut b[124..128], 1);
        put_both16(&mut b[128..132], SECTOR_SIZE as u16);
        put_both32(&mut b[132..140], self.path_table_size);
        b[140..144].copy_from_slice(&self.l_path_table.to_le_bytes());
        b[148..152].copy_from_slice(&self.m_path_table.to_be_bytes());
        let mut root = Vec::with_capacity(34);
        self.root.encode(&mut root);
        b[156..156 + root.len()].copy_from_slice(&root);
        put_str(&mut b[190..318], &self.volume_set_id, u);
        put_str(&mut b[318..446], &self.publisher_id, u);
        put_str(&mut b[446..574], &self.preparer_id, u);
        put_str(&mut b[574..702], &self.application_id, u);
        put_str(&mut b[702..813], "", u);
        put_date(&mut b[813..830], self.created);
        put_date(&mut b[830..847], self.modified);
        put_date(&mut b[847..864], self.expires);
        put_date(&mut b[864..881], self.effective);
        b[881] = 1;
        b
    }

    /// Decodes a primary or supplementary descriptor; `Err` names the first
    /// field found wrong.
    pub fn decode(b: &[u8]) -> Result<VolumeDescriptor, &'static str> {
        if b.len() < SECTOR_SIZE {
            return Err("short descriptor");
        }
        if &b[1..6] != STANDARD_ID {
            return Err("missing CD001");
        }
        if b[0] != TYPE_PRIMARY && b[0] != TYPE_SUPPLEMENTARY {
            return Err("not a primary or supplementary descriptor");
        }
        let block = u16::from_le_bytes([b[128], b[129]]);
        if block as usize != SECTOR_SIZE {
            return Err("logical block size is not 2048");
        }
        let mut escapes = [0u8; 32];
        escapes.copy_from_slice(&b[88..120]);
        let u = is_joliet(b[0], &escapes);
        Ok(VolumeDescriptor {
            kind: b[0],
            system_id: get_str(&b[8..40], u),
            volume_id: get_str(&b[40..72], u),
            volume_space_size: get_le32(&b[80..88]).ok_or("volume space size")?,
            escapes,
            path_table_size: get_le32(&b[132..140]).ok_or("path table size")?,
            l_path_table: u32::from_le_bytes([b[140], b[141], b[142], b[143]]),
            m_path_table: u32::from_be_bytes([b[148], b[149], b[150], b[151]]),
            root: DirRecord::decode(&b[156..190])?,
            volume_set_id: get_str(&b[190..318], u),
            publisher_id: get_str(&b[318..446], u),
            preparer_id: get_str(&b[446..574], u),
            application_id: get_str(&b[574..702], u),
            created: get_date(&b[813..830]),
            modified: get_date(&b[830..847]),
            expires: get_date(&b[847..864]),
            effective: get_date(&b[864..881]),
        })
    }

    /// Whether every both-endian field of an encoded descriptor agrees, as
    /// strict readers (pycdlib) require.
    pub fn both_endian_consistent(b: &[u8]) -> bool {
        b.len() >= SECTOR_SIZE
            && get_both32(&b[80..88]).is_some()
            && get_both32(&b[132..140]).is_some()
            && crate::codec::get_both16(&b[120..124]).is_some()
            && crate::codec::get_both16(&b[124..128]).is_some()
            && crate::codec::get_both16(&b[128..132]).is_some()
    }
}

/// Encodes the volume descriptor set terminator.
pub fn terminator() -> [u8; SECTOR_SIZE] {
    let mut b = [0u8; SECTOR_SIZE];
    b[0] = TYPE_TERMINATOR;
    b[1..6].copy_from_slice(STANDARD_ID);
    b[6] = 1;
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FileFlags;

    #[test]
    fn round_trips() {
        let d = VolumeDescriptor {
            kind: TYPE_PRIMARY,
            system_id: "LINUX".into(),
            volume_id: "CEDAR BACKUP 22-NOV-2026".into(),
            volume_space_size: 1234,
            path_table_size: 10,
            l_path_table: 19,
            m_path_table: 20,
            root: DirRecord {
                extent: 21,
                size: 2048,
                flags: FileFlags::DIRECTORY,
                ident: vec![0],
                date: [126, 11, 22, 3, 4, 5, 0],
                ..Default::default()
            },
            volume_set_id: "SET".into(),
            publisher_id: "PUB".into(),
            preparer_id: "PREP".into(),
            application_id: "CEDAR".into(),
            created: Some(1_700_000_000),
            modified: Some(1_700_000_001),
            expires: None,
            effective: None,
            ..Default::default()
        };
        let enc = d.encode();
        assert!(VolumeDescriptor::both_endian_consistent(&enc));
        assert_eq!(VolumeDescriptor::decode(&enc).unwrap(), d);
        assert_eq!(&enc[847..864], b"0000000000000000\0");
    }

    #[test]
    fn joliet_text_is_ucs2() {
        let mut escapes = [0u8; 32];
        escapes[..3].copy_from_slice(b"%/E");
        let d = VolumeDescriptor {
            kind: TYPE_SUPPLEMENTARY,
            escapes,
            volume_id: "Sicherung ü".into(),
            application_id: "CEDAR".into(),
            root: DirRecord {
                ident: vec![0],
                ..Default::default()
            },
            ..Default::default()
        };
        let enc = d.encode();
        assert_eq!(&enc[40..44], &[0, b'S', 0, b'i']);
        assert_eq!(&enc[70..72], &[0, b' ']);
        assert_eq!(VolumeDescriptor::decode(&enc).unwrap(), d);
    }

    #[test]
    fn rejects_garbage() {
        assert!(VolumeDescriptor::decode(&[0u8; 100]).is_err());
        assert!(VolumeDescriptor::decode(&terminator()).is_err());
    }
}
