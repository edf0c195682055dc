//! Path table records (ECMA-119 9.4).

/// One path table record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRecord {
    /// First block of the directory's extent.
    pub extent: u32,
    /// 1-based number of the parent directory (the root is its own parent).
    pub parent: u16,
    /// Directory identifier (`[0]` for the root).
    pub ident: Vec<u8>,
}

impl PathRecord {
    /// Encoded length, including the pad byte after odd-length identifiers.
    pub fn len(&self) -> usize {
        8 + self.ident.len() + self.ident.len() % 2
    }

    /// A record always has its fixed part, so it is never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the record in little-endian (type L) or big-endian (type M)
    /// form.
    pub fn encode(&self, big_endian: bool, out: &mut Vec<u8>) {
        out.push(self.ident.len() as u8);
        out.push(0);
        if big_endian {
            out.extend_from_slice(&self.extent.to_be_bytes());
            out.extend_from_slice(&self.parent.to_be_bytes());
        } else {
            out.extend_from_slice(&self.extent.to_le_bytes());
            out.extend_from_slice(&self.parent.to_le_bytes());
        }
        out.extend_from_slice(&self.ident);
        if self.ident.len() % 2 == 1 {
            out.push(0);
        }
    }

    /// Decodes one record from the start of `buf`; `None` when truncated.
    pub fn decode(buf: &[u8], big_endian: bool) -> Option<PathRecord> {
        let n = *buf.first()? as usize;
        let ident = buf.get(8..8 + n)?.to_vec();
        let ext: [u8; 4] = buf.get(2..6)?.try_into().ok()?;
        let par: [u8; 2] = buf.get(6..8)?.try_into().ok()?;
        let (extent, parent) = if big_endian {
            (u32::from_be_bytes(ext), u16::from_be_bytes(par))
        } else {
            (u32::from_le_bytes(ext), u16::from_le_bytes(par))
        };
        Some(PathRecord {
            extent,
            parent,
            ident,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(extent in any::<u32>(), parent in any::<u16>(),
                       ident in proptest::collection::vec(any::<u8>(), 1..32), be in any::<bool>()) {
            let rec = PathRecord { extent, parent, ident };
            let mut out = vec![];
            rec.encode(be, &mut out);
            prop_assert_eq!(out.len(), rec.len());
            prop_assert_eq!(PathRecord::decode(&out, be), Some(rec));
        }
    }
}
