//! System Use Sharing Protocol (SUSP 1.12) entries and the Rock Ridge
//! (RRIP 1.12) entries carried in them.

use crate::codec::{decode_long_date, decode_short_date, encode_short_date, get_le32, put_both32};

/// Length of an encoded CE entry; space for it is reserved whenever a
/// record's entries have to continue elsewhere.
pub const CE_LEN: usize = 28;

/// ER identifier written by this crate (RRIP 1.12).
pub const ER_ID: &[u8] = b"IEEE_P1282";
const ER_DESC: &[u8] = b"THE IEEE P1282 PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS.";
const ER_SRC: &[u8] = b"PLEASE CONTACT THE IEEE STANDARDS DEPARTMENT, PISCATAWAY, NJ, USA FOR THE P1282 SPECIFICATION.";

/// ER identifiers that announce Rock Ridge.
pub const RRIP_IDS: [&[u8]; 3] = [b"RRIP_1991A", b"IEEE_P1282", b"IEEE_1282"];

/// NM flag: the name continues in the next NM entry.
pub const NM_CONTINUE: u8 = 1;
/// SL component flag: the component continues in the next component record.
pub const SLC_CONTINUE: u8 = 1;
/// SL component flag: ".".
pub const SLC_CURRENT: u8 = 2;
/// SL component flag: "..".
pub const SLC_PARENT: u8 = 4;
/// SL component flag: "/" (the root).
pub const SLC_ROOT: u8 = 8;

/// Timestamps of a TF entry, seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Times {
    /// Creation time (TF bit 0).
    pub create: Option<i64>,
    /// Modification time (bit 1).
    pub modify: Option<i64>,
    /// Access time (bit 2).
    pub access: Option<i64>,
    /// Attribute change time (bit 3).
    pub attributes: Option<i64>,
}

/// One SL component record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlComponent {
    /// Component flags (`SLC_*`).
    pub flags: u8,
    /// Component bytes (empty for ".", "..", "/").
    pub content: Vec<u8>,
}

/// One SUSP entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// SP: SUSP is in use; `skip` bytes precede entries in other records.
    Sp {
        /// LEN_SKP.
        skip: u8,
    },
    /// CE: entries continue at `block`/`offset` for `len` bytes.
    Ce {
        /// Block of the continuation area.
        block: u32,
        /// Byte offset inside that block.
        offset: u32,
        /// Length of the continuation area.
        len: u32,
    },
    /// ER: an extension (Rock Ridge) is in use.
    Er {
        /// Extension identifier.
        id: Vec<u8>,
        /// Extension descriptor.
        desc: Vec<u8>,
        /// Extension source.
        src: Vec<u8>,
        /// Extension version.
        version: u8,
    },
    /// PX: POSIX attributes; `serial` is absent in the 36-byte RRIP 1.09 form.
    Px {
        /// st_mode.
        mode: u32,
        /// st_nlink.
        nlink: u32,
        /// st_uid.
        uid: u32,
        /// st_gid.
        gid: u32,
        /// st_ino.
        serial: Option<u32>,
    },
    /// PN: device number.
    Pn {
        /// High 32 bits (major on Linux).
        high: u32,
        /// Low 32 bits (minor on Linux).
        low: u32,
    },
    /// SL: (part of) a symbolic link target.
    Sl {
        /// The target continues in the next SL entry.
        continues: bool,
        /// Component records.
        components: Vec<SlComponent>,
    },
    /// NM: (part of) the POSIX name.
    Nm {
        /// NM flags (`NM_CONTINUE`, 2 current, 4 parent).
        flags: u8,
        /// Name bytes.
        name: Vec<u8>,
    },
    /// TF: timestamps.
    Tf {
        /// The times present.
        times: Times,
        /// Whether the 17-byte long form is used.
        long_form: bool,
    },
    /// CL: this placeholder stands for a directory relocated to `block`.
    Cl {
        /// Block of the relocated directory.
        block: u32,
    },
    /// PL: the original parent of a relocated directory.
    Pl {
        /// Block of the original parent.
        block: u32,
    },
    /// RE: this record is a relocated directory, hidden from RRIP readers.
    Re,
    /// ST: end of the system use area.
    St,
    /// Any other entry, kept opaque.
    Other {
        /// Signature.
        sig: [u8; 2],
        /// Payload after the 4-byte header.
        data: Vec<u8>,
    },
}

fn header(out: &mut Vec<u8>, sig: &[u8; 2], len: usize) {
    debug_assert!(len <= 255);
    out.extend_from_slice(sig);
    out.push(len as u8);
    out.push(1);
}

fn both32(out: &mut Vec<u8>, v: u32) {
    let mut b = [0u8; 8];
    put_both32(&mut b, v);
    out.extend_from_slice(&b);
}

impl Entry {
    /// Encoded length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Entry::Sp { .. } => 7,
            Entry::Ce { .. } => CE_LEN,
            Entry::Er { id, desc, src, .. } => 8 + id.len() + desc.len() + src.len(),
            Entry::Px { serial, .. } => {
                if serial.is_some() {
                    44
                } else {
                    36
                }
            }
            Entry::Pn { .. } => 20,
            Entry::Sl { components, .. } => {
                5 + components
                    .iter()
                    .map(|c| 2 + c.content.len())
                    .sum::<usize>()
            }
            Entry::Nm { name, .. } => 5 + name.len(),
            Entry::Tf { times, long_form } => {
                let n = [times.create, times.modify, times.access, times.attributes]
                    .iter()
                    .filter(|t| t.is_some())
                    .count();
                5 + n * if *long_form { 17 } else { 7 }
            }
            Entry::Cl { .. } | Entry::Pl { .. } => 12,
            Entry::Re | Entry::St => 4,
            Entry::Other { data, .. } => 4 + data.len(),
        }
    }

    /// Whether the entry has no payload bytes at all (never true: every entry
    /// has a 4-byte header).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the encoded entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let len = self.len();
        match self {
            Entry::Sp { skip } => {
                header(out, b"SP", len);
                out.extend_from_slice(&[0xBE, 0xEF, *skip]);
            }
            Entry::Ce {
                block,
                offset,
                len: l,
            } => {
                header(out, b"CE", len);
                both32(out, *block);
                both32(out, *offset);
                both32(out, *l);
            }
            Entry::Er {
                id,
                desc,
                src,
                version,
            } => {
                header(out, b"ER", len);
                out.extend_from_slice(&[
                    id.len() as u8,
                    desc.len() as u8,
                    src.len() as u8,
                    *version,
                ]);
                out.extend_from_slice(id);
                out.extend_from_slice(desc);
                out.extend_from_slice(src);
            }
            Entry::Px {
                mode,
                nlink,
                uid,
                gid,
                serial,
            } => {
                header(out, b"PX", len);
                for v in [*mode, *nlink, *uid, *gid] {
                    both32(out, v);
                }
                if let Some(s) = serial {
                    both32(out, *s);
                }
            }
            Entry::Pn { high, low } => {
                header(out, b"PN", len);
                both32(out, *high);
                both32(out, *low);
            }
            Entry::Sl {
                continues,
                components,
            } => {
                header(out, b"SL", len);
                out.push(u8::from(*continues));
                for c in components {
                    out.push(c.flags);
                    out.push(c.content.len() as u8);
                    out.extend_from_slice(&c.content);
                }
            }
            Entry::Nm { flags, name } => {
                header(out, b"NM", len);
                out.push(*flags);
                out.extend_from_slice(name);
            }
            Entry::Tf { times, long_form } => {
                header(out, b"TF", len);
                let list = [times.create, times.modify, times.access, times.attributes];
                let mut flags = if *long_form { 0x80 } else { 0 };
                for (bit, t) in list.iter().enumerate() {
                    if t.is_some() {
                        flags |= 1 << bit;
                    }
                }
                out.push(flags);
                for t in list.iter().flatten() {
                    if *long_form {
                        out.extend_from_slice(&crate::codec::encode_long_date(Some(*t)));
                    } else {
                        out.extend_from_slice(&encode_short_date(*t));
                    }
                }
            }
            Entry::Cl { block } => {
                header(out, b"CL", len);
                both32(out, *block);
            }
            Entry::Pl { block } => {
                header(out, b"PL", len);
                both32(out, *block);
            }
            Entry::Re => header(out, b"RE", len),
            Entry::St => header(out, b"ST", len),
            Entry::Other { sig, data } => {
                header(out, sig, len);
                out.extend_from_slice(data);
            }
        }
    }

    /// Decodes the entry at the start of `b`; returns it and its length.
    /// `Ok(None)` means the area ends here (padding or too short for an
    /// entry), which readers must accept.
    pub fn decode(b: &[u8]) -> Result<Option<(Entry, usize)>, &'static str> {
        if b.len() < 4 || b[0] == 0 {
            return Ok(None);
        }
        let len = b[2] as usize;
        if len < 4 || len > b.len() {
            return Err("SUSP entry length out of range");
        }
        let sig = [b[0], b[1]];
        let p = &b[4..len];
        let num = |at: usize| get_le32(p.get(at..at + 8).unwrap_or(&[])).ok_or("short SUSP entry");
        let entry = match &sig {
            b"SP" if p.len() >= 3 && p[0] == 0xBE && p[1] == 0xEF => Entry::Sp { skip: p[2] },
            b"CE" => Entry::Ce {
                block: num(0)?,
                offset: num(8)?,
                len: num(16)?,
            },
            b"ER" => {
                let (li, ld, ls) = (
                    *p.first().ok_or("short ER")? as usize,
                    *p.get(1).ok_or("short ER")? as usize,
                    *p.get(2).ok_or("short ER")? as usize,
                );
                let body = p.get(4..4 + li + ld + ls).ok_or("short ER")?;
                Entry::Er {
                    id: body[..li].to_vec(),
                    desc: body[li..li + ld].to_vec(),
                    src: body[li + ld..].to_vec(),
                    version: p[3],
                }
            }
            b"PX" => Entry::Px {
                mode: num(0)?,
                nlink: num(8)?,
                uid: num(16)?,
                gid: num(24)?,
                serial: if p.len() >= 40 { Some(num(32)?) } else { None },
            },
            b"PN" => Entry::Pn {
                high: num(0)?,
                low: num(8)?,
            },
            b"SL" => {
                let flags = *p.first().ok_or("short SL")?;
                let mut components = Vec::new();
                let mut rest = &p[1..];
                while rest.len() >= 2 {
                    let n = rest[1] as usize;
                    let content = rest.get(2..2 + n).ok_or("SL component overruns entry")?;
                    components.push(SlComponent {
                        flags: rest[0],
                        content: content.to_vec(),
                    });
                    rest = &rest[2 + n..];
                }
                Entry::Sl {
                    continues: flags & 1 != 0,
                    components,
                }
            }
            b"NM" => Entry::Nm {
                flags: *p.first().ok_or("short NM")?,
                name: p.get(1..).unwrap_or(&[]).to_vec(),
            },
            b"TF" => {
                let flags = *p.first().ok_or("short TF")?;
                let long_form = flags & 0x80 != 0;
                let width = if long_form { 17 } else { 7 };
                let mut at = 1;
                let mut vals = [None; 7];
                for (bit, v) in vals.iter_mut().enumerate() {
                    if flags & (1 << bit) == 0 {
                        continue;
                    }
                    let field = p.get(at..at + width).ok_or("short TF")?;
                    at += width;
                    *v = if long_form {
                        decode_long_date(field.try_into().map_err(|_| "short TF")?)
                    } else {
                        decode_short_date(field.try_into().map_err(|_| "short TF")?)
                    };
                }
                Entry::Tf {
                    times: Times {
                        create: vals[0],
                        modify: vals[1],
                        access: vals[2],
                        attributes: vals[3],
                    },
                    long_form,
                }
            }
            b"CL" => Entry::Cl { block: num(0)? },
            b"PL" => Entry::Pl { block: num(0)? },
            b"RE" => Entry::Re,
            b"ST" => Entry::St,
            _ => Entry::Other {
                sig,
                data: p.to_vec(),
            },
        };
        Ok(Some((entry, len)))
    }
}

/// The ER entry this crate writes.
pub fn rrip_er() -> Entry {
    Entry::Er {
        id: ER_ID.to_vec(),
        desc: ER_DESC.to_vec(),
        src: ER_SRC.to_vec(),
        version: 1,
    }
}

/// Splits a POSIX name into NM entries of at most 255 bytes each.
pub fn nm_entries(name: &[u8]) -> Vec<Entry> {
    const MAX: usize = 250;
    if name.is_empty() {
        return vec![Entry::Nm {
            flags: 0,
            name: Vec::new(),
        }];
    }
    let chunks: Vec<&[u8]> = name.chunks(MAX).collect();
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| Entry::Nm {
            flags: if i < last { NM_CONTINUE } else { 0 },
            name: c.to_vec(),
        })
        .collect()
}

/// Ends an SL entry that is not the last. libarchive joins consecutive SL
/// entries without a separator, as if the boundary always fell inside a
/// component, so a boundary between whole components gets an empty
/// "continue" record, which every reader turns into the missing `/`.
fn close_entry(entries: &mut Vec<Vec<SlComponent>>) {
    if let Some(last) = entries.last_mut() {
        if last.last().is_some_and(|c| c.flags & SLC_CONTINUE == 0) {
            last.push(SlComponent {
                flags: SLC_CONTINUE,
                content: Vec::new(),
            });
        }
    }
    entries.push(Vec::new());
}

/// Encodes a symlink target as SL entries, splitting long components and
/// long targets over several component records and entries.
pub fn sl_entries(target: &[u8]) -> Vec<Entry> {
    const ROOM: usize = 248; // component bytes per SL entry (255 - 5), less a closing record
    let mut pieces: Vec<SlComponent> = Vec::new();
    if target.first() == Some(&b'/') {
        pieces.push(SlComponent {
            flags: SLC_ROOT,
            content: Vec::new(),
        });
    }
    for comp in target.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
        match comp {
            b"." => pieces.push(SlComponent {
                flags: SLC_CURRENT,
                content: Vec::new(),
            }),
            b".." => pieces.push(SlComponent {
                flags: SLC_PARENT,
                content: Vec::new(),
            }),
            _ => pieces.push(SlComponent {
                flags: 0,
                content: comp.to_vec(),
            }),
        }
    }
    let mut entries: Vec<Vec<SlComponent>> = vec![Vec::new()];
    let mut used = 0;
    for piece in pieces {
        let mut content = piece.content.as_slice();
        let mut first = true;
        // An empty special component still needs one record.
        while first || !content.is_empty() {
            first = false;
            if ROOM - used < 3 {
                close_entry(&mut entries);
                used = 0;
            }
            let take = content.len().min(ROOM - used - 2).min(255);
            let (now, rest) = content.split_at(take);
            let flags = piece.flags | if rest.is_empty() { 0 } else { SLC_CONTINUE };
            if let Some(e) = entries.last_mut() {
                e.push(SlComponent {
                    flags,
                    content: now.to_vec(),
                });
            }
            used += 2 + take;
            content = rest;
        }
    }
    let last = entries.len() - 1;
    entries
        .into_iter()
        .enumerate()
        .map(|(i, components)| Entry::Sl {
            continues: i < last,
            components,
        })
        .collect()
}

/// A symlink target as Rock Ridge records it, as every reader gets it back:
/// the text with empty components dropped (`dir/` is recorded as `dir`,
/// `a//b` as `a/b`), since an SL component cannot be empty. Compare a
/// staged target with this, not with the disc's text directly.
pub fn symlink_as_recorded(target: &[u8]) -> Vec<u8> {
    let components: Vec<SlComponent> = sl_entries(target)
        .into_iter()
        .flat_map(|e| match e {
            Entry::Sl { components, .. } => components,
            _ => Vec::new(),
        })
        .collect();
    sl_join(&components)
}

/// Joins SL component records (from all SL entries, in order) back into a
/// target path.
pub fn sl_join<'a>(components: impl IntoIterator<Item = &'a SlComponent>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut continuing = false;
    for c in components {
        if !continuing && !out.is_empty() && out.last() != Some(&b'/') {
            out.push(b'/');
        }
        if c.flags & SLC_ROOT != 0 {
            out.clear();
            out.push(b'/');
        } else if c.flags & SLC_CURRENT != 0 {
            out.push(b'.');
        } else if c.flags & SLC_PARENT != 0 {
            out.extend_from_slice(b"..");
        } else {
            out.extend_from_slice(&c.content);
        }
        continuing = c.flags & SLC_CONTINUE != 0;
    }
    out
}

/// Decides where a record's entries go. Returns how many entries stay in
/// the directory record (given `inline_cap` bytes there) and how many go in
/// each continuation area; every area but the last ends with a CE, and so
/// does the inline part when any area follows.
pub fn split_entries(lens: &[usize], inline_cap: usize) -> (usize, Vec<usize>) {
    const AREA: usize = crate::SECTOR_SIZE;
    let total: usize = lens.iter().sum();
    if total <= inline_cap {
        return (lens.len(), Vec::new());
    }
    let mut inline = 0;
    let mut used = 0;
    while inline < lens.len() && used + lens[inline] + CE_LEN <= inline_cap {
        used += lens[inline];
        inline += 1;
    }
    let mut areas = Vec::new();
    let mut i = inline;
    while i < lens.len() {
        let rest: usize = lens[i..].iter().sum();
        if rest <= AREA {
            areas.push(lens.len() - i);
            break;
        }
        let mut n = 0;
        let mut used = 0;
        while i + n < lens.len() && used + lens[i + n] + CE_LEN <= AREA {
            used += lens[i + n];
            n += 1;
        }
        areas.push(n);
        i += n;
    }
    (inline, areas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(e: &Entry) {
        let mut out = vec![];
        e.encode(&mut out);
        assert_eq!(out.len(), e.len());
        let (back, n) = Entry::decode(&out).unwrap().unwrap();
        assert_eq!(n, out.len());
        assert_eq!(&back, e);
    }

    #[test]
    fn fixed_entries_round_trip() {
        round_trip(&Entry::Sp { skip: 0 });
        round_trip(&Entry::Ce {
            block: 40,
            offset: 100,
            len: 300,
        });
        round_trip(&rrip_er());
        round_trip(&Entry::Px {
            mode: 0o104755,
            nlink: 1,
            uid: 1000,
            gid: 100,
            serial: Some(7),
        });
        round_trip(&Entry::Px {
            mode: 0o644,
            nlink: 2,
            uid: 0,
            gid: 0,
            serial: None,
        });
        round_trip(&Entry::Pn { high: 8, low: 1 });
        round_trip(&Entry::Cl { block: 99 });
        round_trip(&Entry::Pl { block: 98 });
        round_trip(&Entry::Re);
        round_trip(&Entry::Tf {
            times: Times {
                create: None,
                modify: Some(1_700_000_000),
                access: Some(0),
                attributes: Some(86_400),
            },
            long_form: false,
        });
        round_trip(&Entry::Tf {
            times: Times {
                create: Some(1_000),
                ..Default::default()
            },
            long_form: true,
        });
    }

    #[test]
    fn px_serial_is_at_fixed_offset() {
        let mut out = vec![];
        Entry::Px {
            mode: 0o100644,
            nlink: 1,
            uid: 1,
            gid: 2,
            serial: Some(0x0102_0304),
        }
        .encode(&mut out);
        assert_eq!(out.len(), 44);
        assert_eq!(&out[36..40], &[4, 3, 2, 1]);
    }

    #[test]
    fn split_keeps_areas_within_a_block() {
        assert_eq!(split_entries(&[44, 26], 200), (2, vec![]));
        let (inline, areas) = split_entries(&[44, 26, 255, 255], 200);
        assert_eq!(inline, 2);
        assert_eq!(areas, vec![2]);
        let lens = vec![255; 30];
        let (inline, areas) = split_entries(&lens, 100);
        assert_eq!(inline, 0);
        assert_eq!(areas.iter().sum::<usize>(), 30);
        for (k, n) in areas.iter().enumerate() {
            let ce = if k + 1 < areas.len() { CE_LEN } else { 0 };
            assert!(n * 255 + ce <= 2048);
        }
    }

    proptest! {
        #[test]
        fn symlink_targets_round_trip(parts in proptest::collection::vec("[a-z.]{1,300}", 1..20), abs in any::<bool>()) {
            let mut target = parts.join("/");
            if abs { target.insert(0, '/'); }
            let entries = sl_entries(target.as_bytes());
            let mut comps = vec![];
            for e in &entries {
                prop_assert!(e.len() <= 255);
                let mut out = vec![];
                e.encode(&mut out);
                let (back, _) = Entry::decode(&out).unwrap().unwrap();
                if let Entry::Sl { components, .. } = back { comps.extend(components); }
            }
            prop_assert_eq!(String::from_utf8(sl_join(&comps)).unwrap(), target.clone());
            prop_assert_eq!(symlink_as_recorded(target.as_bytes()), target.as_bytes());
        }

        #[test]
        fn targets_with_empty_components_are_recorded_without_them(
            parts in proptest::collection::vec("[a-z.]{0,5}", 1..8),
            abs in any::<bool>(),
        ) {
            let mut target = parts.join("/");
            if abs { target.insert(0, '/'); }
            let mut want = parts.iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join("/");
            // A leading '/' (given or from an empty first part) is the root.
            if target.starts_with('/') { want.insert(0, '/'); }
            prop_assert_eq!(String::from_utf8(symlink_as_recorded(target.as_bytes())).unwrap(), want);
        }

        #[test]
        fn names_round_trip(name in proptest::collection::vec(1u8..=255, 1..600)) {
            let mut joined = vec![];
            for e in nm_entries(&name) {
                prop_assert!(e.len() <= 255);
                if let Entry::Nm { name, .. } = e { joined.extend(name); }
            }
            prop_assert_eq!(joined, name);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Entry::decode(&bytes);
        }
    }
}
