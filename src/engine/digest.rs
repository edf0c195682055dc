//! Incremental digest maps: `{path: SHA-1 hex}` kept per collect item in
//! `<working_dir>/<normalized path>.sha`.
//!
//! cedar writes its own line format:
//!
//! ```text
//! # cedar digest map 1
//! <40 hex digits> <path, with \\ \n \r escaped>
//! ```
//!
//! and reads either that or the Python pickle Cedar Backup writes at the same
//! path (protocol 0 from Cedar 3, or Cedar 2's), so a migrating user keeps
//! their incremental state. The pickle reader is `crate::py::pickle`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use anyhow::{bail, Context};

/// Path → lower-case SHA-1 hex digest.
pub type DigestMap = HashMap<OsString, String>;

const HEADER: &[u8] = b"# cedar digest map 1\n";

/// Loads the map at `path`. A missing file gives an empty map; an unreadable
/// or corrupt one is logged as an error and also gives an empty map (so the
/// next archive is a full one), as Cedar does.
pub fn load(path: &Path) -> DigestMap {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            log::debug!("Digest [{}] does not exist on disk.", path.display());
            return DigestMap::new();
        }
        Err(e) => {
            log::error!("Failed loading digest [{}] from disk: {e}", path.display());
            return DigestMap::new();
        }
    };
    match parse(&data) {
        Ok(map) => {
            log::debug!(
                "Loaded digest [{}] from disk: {} entries.",
                path.display(),
                map.len()
            );
            map
        }
        Err(e) => {
            log::error!(
                "Failed loading digest [{}] from disk: {e:#}",
                path.display()
            );
            DigestMap::new()
        }
    }
}

/// Parses either format.
pub fn parse(data: &[u8]) -> anyhow::Result<DigestMap> {
    if let Some(body) = data.strip_prefix(HEADER) {
        parse_cedar(body)
    } else {
        crate::py::pickle::load_str_dict(data)
    }
}

fn parse_cedar(body: &[u8]) -> anyhow::Result<DigestMap> {
    let mut map = DigestMap::new();
    for (n, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let (hex, rest) = line.split_at(line.len().min(40));
        let path = rest
            .strip_prefix(b" ")
            .with_context(|| format!("line {}: malformed", n + 2))?;
        if hex.len() != 40 || !hex.iter().all(u8::is_ascii_hexdigit) {
            bail!("line {}: bad digest", n + 2);
        }
        let mut out = Vec::with_capacity(path.len());
        let mut it = path.iter();
        while let Some(&b) = it.next() {
            if b == b'\\' {
                out.push(match it.next() {
                    Some(b'\\') => b'\\',
                    Some(b'n') => b'\n',
                    Some(b'r') => b'\r',
                    _ => bail!("line {}: bad escape", n + 2),
                });
            } else {
                out.push(b);
            }
        }
        map.insert(
            OsString::from_vec(out),
            String::from_utf8_lossy(hex).into_owned(),
        );
    }
    Ok(map)
}

/// Serializes a map in cedar's format, sorted by path.
pub fn serialize(map: &DigestMap) -> Vec<u8> {
    let mut keys: Vec<_> = map.keys().collect();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut out = HEADER.to_vec();
    for k in keys {
        out.extend_from_slice(map[k].as_bytes());
        out.push(b' ');
        for &b in k.as_bytes() {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b => out.push(b),
            }
        }
        out.push(b'\n');
    }
    out
}

/// Writes the map (through a temporary file renamed into place, see
/// [`super::atomic`]) and gives it to `ownership`. Failures are logged,
/// never fatal, as in Cedar.
pub fn store(path: &Path, map: &DigestMap, ownership: Option<(u32, u32)>) {
    match super::atomic::write(path, &serialize(map)) {
        Ok(()) => {
            super::util::change_ownership(path, ownership);
            log::debug!(
                "Wrote new digest [{}] to disk: {} entries.",
                path.display(),
                map.len()
            );
        }
        Err(e) => log::error!("Failed to write digest [{}] to disk: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_format_round_trips_odd_names() {
        let mut m = DigestMap::new();
        m.insert(
            OsString::from_vec(b"/a\\b\nc\rd \xff".to_vec()),
            "0123456789abcdef0123456789abcdef01234567".into(),
        );
        m.insert(
            OsString::from("/plain"),
            "89abcdef0123456789abcdef0123456789abcdef".into(),
        );
        let bytes = serialize(&m);
        assert_eq!(parse(&bytes).unwrap(), m);
    }

    #[test]
    fn reads_protocol_0_pickles_as_cedar3_writes_them() {
        // pickle.dumps({'/t/a b': 'aa', '/t/\\x': 'bb', '/t/\xe9\udcff\u4e2d': 'cc'}, 0)
        let data = b"(dp0\nV/t/a b\np1\nVaa\np2\nsV/t/\\u005cx\np3\nVbb\np4\nsV/t/\xe9\\udcff\\u4e2d\np5\nVcc\np6\ns.";
        let m = parse(data).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[&OsString::from("/t/a b")], "aa");
        assert_eq!(m[&OsString::from("/t/\\x")], "bb");
        let odd =
            OsString::from_vec([b"/t/\xc3\xa9\xff".as_slice(), "\u{4e2d}".as_bytes()].concat());
        assert_eq!(m[&odd], "cc");
    }

    #[test]
    fn reads_binary_and_python2_pickles_and_memo_references() {
        // protocol 2 with memo GET for a shared value
        let data = b"\x80\x02}q\x00(X\x02\x00\x00\x00/aq\x01X\x02\x00\x00\x00ddq\x02X\x02\x00\x00\x00/bq\x03h\x02u.";
        let m = parse(data).unwrap();
        assert_eq!(m[&OsString::from("/a")], "dd");
        assert_eq!(m[&OsString::from("/b")], "dd");
        // Python 2 cPickle protocol 0 with S'...' strings
        let data = b"(dp1\nS'/x\\'y\\xff'\np2\nS'ee'\np3\ns.";
        let m = parse(data).unwrap();
        assert_eq!(m[&OsString::from_vec(b"/x'y\xff".to_vec())], "ee");
    }

    #[test]
    fn refuses_code_and_garbage() {
        // os.system via GLOBAL + REDUCE must never run
        assert!(parse(b"cos\nsystem\n(S'echo hi'\ntR.").is_err());
        assert!(parse(b"(lp0\n.").is_err());
        assert!(parse(b"(dp0\nV/a\n").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"# cedar digest map 1\nzz /a\n").is_err());
    }
}
