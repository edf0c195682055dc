//! Joliet: a second directory hierarchy with UCS-2 names for readers that
//! ignore Rock Ridge (Windows). It shares file data with the ISO9660 tree
//! and, having no depth limit, needs no relocation.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::record::record_len;
use crate::tree::{NodeId, NodeKind, Tree};
use crate::SECTOR_SIZE;

/// Longest Joliet identifier, in UCS-2 units (mkisofs' limit).
const MAX_UNITS: usize = 64;

/// Escape sequence for UCS-2 level 3, recorded in the supplementary
/// descriptor.
pub(crate) const ESCAPES: &[u8; 3] = b"%/E";

#[derive(Debug)]
pub(crate) enum JKind {
    Dir(usize),
    File(NodeId),
}

#[derive(Debug)]
pub(crate) struct JMember {
    pub ident: Vec<u8>,
    pub kind: JKind,
}

#[derive(Debug)]
pub(crate) struct JDir {
    pub node: NodeId,
    pub parent: usize,
    pub ident: Vec<u8>,
    pub members: Vec<JMember>,
    pub lba: u32,
    pub size: u32,
}

/// The planned Joliet hierarchy.
#[derive(Debug, Default)]
pub(crate) struct Joliet {
    pub dirs: Vec<JDir>,
    pub path_table: u32,
    pub l_table: u32,
    pub m_table: u32,
}

fn forbidden(u: u16) -> bool {
    u < 0x20 || matches!(u, 0x2A | 0x2F | 0x3A | 0x3B | 0x3F | 0x5C)
}

/// UCS-2 units of a host name, cleaned and cut to `max` units without
/// splitting a surrogate pair.
fn units(name: &[u8], max: usize) -> Vec<u16> {
    let mut u: Vec<u16> = String::from_utf8_lossy(name)
        .encode_utf16()
        .map(|c| if forbidden(c) { u16::from(b'_') } else { c })
        .collect();
    if u.len() > max {
        let cut = if (0xD800..0xDC00).contains(&u[max - 1]) {
            max - 1
        } else {
            max
        };
        u.truncate(cut);
    }
    // Windows and Linux drop trailing dots and spaces from Joliet names,
    // which would make "a." and "a" the same file.
    while u.len() > 1 && matches!(u.last(), Some(0x2E | 0x20)) {
        u.pop();
    }
    u
}

/// The form two Joliet names must differ in: Windows and Linux look Joliet
/// names up without regard to case.
fn fold(u: &[u16]) -> String {
    String::from_utf16_lossy(u).to_lowercase()
}

fn be_bytes(u: &[u16]) -> Vec<u8> {
    u.iter().flat_map(|c| c.to_be_bytes()).collect()
}

/// Encodes text for a supplementary descriptor field: UCS-2 big-endian.
pub(crate) fn ucs2(s: &str) -> Vec<u8> {
    be_bytes(&s.encode_utf16().collect::<Vec<_>>())
}

/// Unique Joliet identifiers for one directory's members, `;1` added to
/// files; output order matches input order.
fn mangle(members: &[(&[u8], bool)]) -> Vec<Vec<u8>> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(members.len());
    for &(name, is_dir) in members {
        let natural = units(name, MAX_UNITS);
        let mut candidate = natural.clone();
        let mut n = 0u64;
        while !taken.insert(fold(&candidate)) {
            // Keep the extension, number the end of the name.
            let dot = natural
                .iter()
                .rposition(|&c| c == u16::from(b'.'))
                .filter(|&i| i > 0 && !is_dir);
            let (base, ext) = dot.map_or((&natural[..], &natural[..0]), |i| natural.split_at(i));
            let digits: Vec<u16> = n.to_string().encode_utf16().collect();
            let room = MAX_UNITS.saturating_sub(digits.len() + ext.len());
            candidate = base[..base.len().min(room)].to_vec();
            candidate.extend(&digits);
            candidate.extend(ext.iter().take(MAX_UNITS - candidate.len()));
            n += 1;
        }
        let mut ident = be_bytes(&candidate);
        if !is_dir {
            ident.extend_from_slice(&[0, b';', 0, b'1']);
        }
        out.push(ident);
    }
    out
}

impl Joliet {
    /// Builds the hierarchy from the tree, breadth first (path table order).
    /// Only directories and regular files have a Joliet form.
    pub(crate) fn plan(tree: &Tree) -> Result<Joliet> {
        let mut j = Joliet::default();
        let mut queue: Vec<(NodeId, usize, Vec<u8>)> = vec![(tree.root(), 0, vec![0])];
        let mut qi = 0;
        while qi < queue.len() {
            let (node, parent, ident) = queue[qi].clone();
            let idx = j.dirs.len();
            if idx >= 65_535 {
                return Err(Error::Limit("more than 65535 directories".into()));
            }
            let kids: Vec<(&[u8], NodeId, bool)> = tree
                .children(node)
                .filter_map(|(name, id)| match tree.node(id).kind {
                    NodeKind::Directory(_) => Some((name, id, true)),
                    NodeKind::File { .. } | NodeKind::HardLink(_) => Some((name, id, false)),
                    _ => None,
                })
                .collect();
            let pairs: Vec<(&[u8], bool)> = kids.iter().map(|&(n, _, d)| (n, d)).collect();
            let mut members: Vec<(Vec<u8>, NodeId, bool)> = mangle(&pairs)
                .into_iter()
                .zip(kids)
                .map(|(ident, (_, id, d))| (ident, id, d))
                .collect();
            members.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = Vec::with_capacity(members.len());
            for (ident, id, is_dir) in members {
                let kind = if is_dir {
                    queue.push((id, idx, ident.clone()));
                    JKind::Dir(queue.len() - 1)
                } else {
                    JKind::File(id)
                };
                out.push(JMember { ident, kind });
            }
            j.dirs.push(JDir {
                node,
                parent,
                ident,
                members: out,
                lba: 0,
                size: 0,
            });
            qi += 1;
        }
        j.path_table = j
            .dirs
            .iter()
            .map(|d| 8 + d.ident.len() as u32 + d.ident.len() as u32 % 2)
            .sum();
        Ok(j)
    }

    /// Directory sizes, given how many records each file needs.
    pub(crate) fn size_dirs(&mut self, sections: impl Fn(NodeId) -> u64) {
        for d in &mut self.dirs {
            let mut sectors = 1u32;
            let mut offset = 0usize;
            let lens =
                [record_len(1, 0), record_len(1, 0)]
                    .into_iter()
                    .chain(d.members.iter().flat_map(|m| {
                        let n = match m.kind {
                            JKind::Dir(_) => 1,
                            JKind::File(id) => sections(id),
                        };
                        std::iter::repeat_n(record_len(m.ident.len(), 0), n as usize)
                    }));
            for len in lens {
                if offset + len > SECTOR_SIZE {
                    sectors += 1;
                    offset = 0;
                }
                offset += len;
            }
            d.size = sectors * SECTOR_SIZE as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ident: &[u8]) -> String {
        let u: Vec<u16> = ident
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&u).unwrap()
    }

    #[test]
    fn names_are_cleaned_cut_and_unique() {
        let long = "ü".repeat(70) + ".txt";
        let names: Vec<&[u8]> = vec![b"a:b?.txt", long.as_bytes(), long.as_bytes(), b"dir"];
        let dirs = [false, false, false, true];
        let members: Vec<(&[u8], bool)> = names.iter().copied().zip(dirs).collect();
        let out: Vec<String> = mangle(&members).iter().map(|i| text(i)).collect();
        assert_eq!(out[0], "a_b_.txt;1");
        assert_eq!(out[1].chars().count(), 64 + 2);
        assert_ne!(out[1], out[2]);
        assert!(out[2].ends_with(";1") && out[2].chars().count() <= 66);
        assert_eq!(out[3], "dir");
    }

    #[test]
    fn names_differ_beyond_case_and_trailing_dots() {
        let names: Vec<&[u8]> = vec![
            b"Collide.txt",
            b"collide.txt",
            b"COLLIDE.TXT",
            b"collide.txt.",
        ];
        let members: Vec<(&[u8], bool)> = names.iter().map(|n| (*n, false)).collect();
        let out: Vec<String> = mangle(&members).iter().map(|i| text(i)).collect();
        assert_eq!(out[0], "Collide.txt;1");
        let folded: HashSet<String> = out.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(folded.len(), 4, "{out:?}");
        assert!(
            out.iter().all(|n| !n.trim_end_matches(";1").ends_with('.')),
            "{out:?}"
        );
    }

    #[test]
    fn surrogate_pairs_are_not_split() {
        let name = "a".repeat(63) + "😀";
        let u = units(name.as_bytes(), MAX_UNITS);
        assert_eq!(u.len(), 63);
    }
}
