//! ECMA-119 identifiers: mangling host names into d-characters for a given
//! interchange level, making them unique within a directory, and the
//! standard's ordering of directory records.

use std::cmp::Ordering;
use std::collections::HashSet;

/// ECMA-119 interchange level, which bounds identifier lengths (and, at
/// level 3, allows files recorded in several extents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    /// 8.3 names, 8-character directory names.
    #[default]
    One,
    /// Up to 30 characters for name plus extension, 31 for directories.
    Two,
    /// Level 2 names; files may span several extents.
    Three,
}

impl Level {
    /// Parses `1`, `2` or `3`.
    pub fn from_number(n: u8) -> Option<Level> {
        match n {
            1 => Some(Level::One),
            2 => Some(Level::Two),
            3 => Some(Level::Three),
            _ => None,
        }
    }

    fn dir_max(self) -> usize {
        if self == Level::One {
            8
        } else {
            31
        }
    }

    /// (max name, max extension, max name + extension) for files.
    fn file_max(self) -> (usize, usize, usize) {
        if self == Level::One {
            (8, 3, 11)
        } else {
            (30, 30, 30)
        }
    }
}

fn d_char(b: u8) -> u8 {
    match b {
        b'A'..=b'Z' | b'0'..=b'9' | b'_' => b,
        b'a'..=b'z' => b.to_ascii_uppercase(),
        _ => b'_',
    }
}

/// A mangled identifier split into its parts, before the `;1` version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Ident {
    name: Vec<u8>,
    ext: Option<Vec<u8>>,
}

impl Ident {
    fn bytes(&self) -> Vec<u8> {
        let mut out = self.name.clone();
        if let Some(ext) = &self.ext {
            out.push(b'.');
            out.extend_from_slice(ext);
        }
        out
    }
}

fn natural(host: &[u8], is_dir: bool, level: Level) -> Ident {
    if is_dir {
        let mut name: Vec<u8> = host.iter().map(|&b| d_char(b)).collect();
        name.truncate(level.dir_max());
        if name.is_empty() {
            name.push(b'_');
        }
        return Ident { name, ext: None };
    }
    // The last dot starts the extension, except a leading dot (".profile"),
    // which would leave an empty name.
    let (base, ext) = match host.iter().rposition(|&b| b == b'.') {
        Some(i) if i > 0 => (&host[..i], &host[i + 1..]),
        _ => (host, &host[..0]),
    };
    let (max_name, max_ext, max_total) = level.file_max();
    let mut ext: Vec<u8> = ext.iter().map(|&b| d_char(b)).collect();
    ext.truncate(max_ext.min(max_total - 1));
    let mut name: Vec<u8> = base.iter().map(|&b| d_char(b)).collect();
    name.truncate(max_name.min(max_total - ext.len()));
    if name.is_empty() && ext.is_empty() {
        name.push(b'_');
    }
    Ident {
        name,
        ext: Some(ext),
    }
}

/// Replaces the tail of `ident.name` with `n`, keeping within the length
/// limit, so that colliding names stay recognisable.
fn numbered(ident: &Ident, n: u64, is_dir: bool, level: Level) -> Ident {
    let digits = n.to_string().into_bytes();
    let (max_name, ext) = if is_dir {
        (level.dir_max(), None)
    } else {
        let (max_name, _, max_total) = level.file_max();
        let ext = ident.ext.clone().unwrap_or_default();
        // A long extension may have to give room to the number.
        let ext_keep = ext.len().min(max_total.saturating_sub(digits.len()));
        (
            max_name.min(max_total - ext_keep),
            Some(ext[..ext_keep].to_vec()),
        )
    };
    let keep = max_name.saturating_sub(digits.len()).min(ident.name.len());
    let mut name = ident.name[..keep].to_vec();
    name.extend_from_slice(&digits);
    Ident { name, ext }
}

/// Mangles the names of one directory's members (`(host name, is_dir)`) into
/// unique ECMA-119 identifiers, without the `;1` version suffix that files
/// get on disc. Output order matches input order.
pub fn mangle_siblings(members: &[(&[u8], bool)], level: Level) -> Vec<Vec<u8>> {
    let naturals: Vec<Ident> = members
        .iter()
        .map(|&(name, is_dir)| natural(name, is_dir, level))
        .collect();
    let mut taken: HashSet<Vec<u8>> = HashSet::with_capacity(members.len());
    let mut out: Vec<Option<Vec<u8>>> = vec![None; members.len()];
    // Names that are already unique keep their natural form; only the later
    // members of a colliding group are renumbered.
    for (i, ident) in naturals.iter().enumerate() {
        let b = ident.bytes();
        if taken.insert(b.clone()) {
            out[i] = Some(b);
        }
    }
    let mut counter = 0u64;
    for (i, ident) in naturals.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        loop {
            let candidate = numbered(ident, counter, members[i].1, level).bytes();
            counter += 1;
            if taken.insert(candidate.clone()) {
                out[i] = Some(candidate);
                break;
            }
        }
    }
    out.into_iter().map(Option::unwrap_or_default).collect()
}

/// Compares two identifiers (with or without `;version`) in the order
/// ECMA-119 9.3 prescribes for directory records and path tables: name then
/// extension, each padded with spaces, then version descending.
pub fn ecma_cmp(a: &[u8], b: &[u8]) -> Ordering {
    fn split(x: &[u8]) -> (&[u8], &[u8], &[u8]) {
        let (body, ver) = match x.iter().position(|&c| c == b';') {
            Some(i) => (&x[..i], &x[i + 1..]),
            None => (x, &x[..0]),
        };
        match body.iter().position(|&c| c == b'.') {
            Some(i) => (&body[..i], &body[i + 1..], ver),
            None => (body, &body[..0], ver),
        }
    }
    fn padded(a: &[u8], b: &[u8]) -> Ordering {
        let n = a.len().max(b.len());
        (0..n)
            .map(|i| {
                (
                    a.get(i).copied().unwrap_or(b' '),
                    b.get(i).copied().unwrap_or(b' '),
                )
            })
            .find_map(|(x, y)| (x != y).then(|| x.cmp(&y)))
            .unwrap_or(Ordering::Equal)
    }
    let (an, ae, av) = split(a);
    let (bn, be, bv) = split(b);
    padded(an, bn)
        .then_with(|| padded(ae, be))
        .then_with(|| bv.cmp(av))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one(name: &str, dir: bool, level: Level) -> String {
        String::from_utf8(mangle_siblings(&[(name.as_bytes(), dir)], level).remove(0)).unwrap()
    }

    #[test]
    fn level_one_is_eight_dot_three() {
        assert_eq!(one("hello world.tar.gz", false, Level::One), "HELLO_WO.GZ");
        assert_eq!(one("README", false, Level::One), "README.");
        assert_eq!(one(".profile", false, Level::One), "_PROFILE.");
        assert_eq!(one("some.dir.name", true, Level::One), "SOME_DIR");
        assert_eq!(one("ünï", true, Level::One), "__N__");
        assert_eq!(one("", false, Level::One), "_.");
    }

    #[test]
    fn level_two_allows_thirty() {
        let long = "a".repeat(40) + ".text";
        assert_eq!(one(&long, false, Level::Two), "A".repeat(26) + ".TEXT");
        assert_eq!(one(&"d".repeat(40), true, Level::Three), "D".repeat(31));
    }

    #[test]
    fn collisions_are_renumbered_and_unique() {
        let names: Vec<&[u8]> = vec![b"a.txt", b"A.TXT", b"a.Txt", b"A0.TXT"];
        let members: Vec<(&[u8], bool)> = names.iter().map(|n| (*n, false)).collect();
        let out = mangle_siblings(&members, Level::One);
        assert_eq!(out[0], b"A.TXT");
        assert_eq!(out[3], b"A0.TXT");
        let set: HashSet<_> = out.iter().collect();
        assert_eq!(set.len(), 4);
    }

    #[test]
    fn ordering_pads_with_spaces() {
        assert_eq!(ecma_cmp(b"A.;1", b"A_B.;1"), Ordering::Less);
        assert_eq!(ecma_cmp(b"AB.C;1", b"AB.;1"), Ordering::Greater);
        assert_eq!(ecma_cmp(b"X;2", b"X;1"), Ordering::Less);
    }

    proptest! {
        #[test]
        fn mangled_names_are_valid_and_unique(
            names in proptest::collection::vec(("[a-zA-Z0-9._ -]{0,40}", any::<bool>()), 1..40),
            lv in 1u8..=3,
        ) {
            let level = Level::from_number(lv).unwrap();
            let members: Vec<(&[u8], bool)> = names.iter().map(|(n, d)| (n.as_bytes(), *d)).collect();
            let out = mangle_siblings(&members, level);
            let set: HashSet<_> = out.iter().collect();
            prop_assert_eq!(set.len(), out.len());
            for (ident, (_, dir)) in out.iter().zip(&names) {
                let dots = ident.iter().filter(|&&c| c == b'.').count();
                prop_assert_eq!(dots, usize::from(!dir));
                prop_assert!(ident.iter().all(|&c| c == b'.' || d_char(c) == c));
                let body = ident.iter().filter(|&&c| c != b'.').count();
                let limit = match (level, dir) {
                    (Level::One, true) => 8,
                    (Level::One, false) => 11,
                    (_, true) => 31,
                    (_, false) => 30,
                };
                prop_assert!(body <= limit && !ident.is_empty());
            }
        }
    }
}
