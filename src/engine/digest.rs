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
//! their incremental state. The pickle reader is a tiny stack machine that
//! understands only the opcodes needed to build a `dict` of strings; any
//! other opcode (globals, reductions, object construction...) is refused, so
//! nothing is ever executed.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
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
        pickle::load_str_dict(data)
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

/// Writes the map (through a temporary file renamed into place) and gives it
/// to `ownership`. Failures are logged, never fatal, as in Cedar.
pub fn store(path: &Path, map: &DigestMap, ownership: Option<(u32, u32)>) {
    let tmp = path.with_extension("sha.tmp");
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serialize(map))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    match result {
        Ok(()) => {
            super::util::change_ownership(path, ownership);
            log::debug!(
                "Wrote new digest [{}] to disk: {} entries.",
                path.display(),
                map.len()
            );
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            log::error!("Failed to write digest [{}] to disk: {e}", path.display());
        }
    }
}

/// A reader for the data subset of Python's pickle format.
pub mod pickle {
    use super::DigestMap;
    use anyhow::{bail, Context};
    use std::collections::HashMap;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    #[derive(Clone, Debug)]
    enum Val {
        Mark,
        Str(Vec<u8>),
        Dict(usize),
    }

    struct Reader<'a> {
        data: &'a [u8],
        pos: usize,
    }

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
            let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
            let end = end.with_context(|| format!("truncated at byte {}", self.pos))?;
            let s = &self.data[self.pos..end];
            self.pos = end;
            Ok(s)
        }
        fn line(&mut self) -> anyhow::Result<&'a [u8]> {
            let rest = &self.data[self.pos..];
            let n = rest
                .iter()
                .position(|&b| b == b'\n')
                .with_context(|| format!("unterminated line at byte {}", self.pos))?;
            let s = &rest[..n];
            self.pos += n + 1;
            Ok(s)
        }
        fn le(&mut self, n: usize) -> anyhow::Result<u64> {
            Ok(self
                .take(n)?
                .iter()
                .rev()
                .fold(0u64, |a, &b| (a << 8) | u64::from(b)))
        }
    }

    fn decimal(line: &[u8]) -> anyhow::Result<u64> {
        std::str::from_utf8(line)?
            .trim()
            .parse()
            .context("bad memo index")
    }

    fn push_char(out: &mut Vec<u8>, cp: u32) -> anyhow::Result<()> {
        if (0xDC80..=0xDCFF).contains(&cp) {
            // surrogateescape: an undecodable byte of the original file name
            out.push((cp - 0xDC00) as u8);
        } else {
            let c = char::from_u32(cp).with_context(|| format!("invalid code point {cp:#x}"))?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        Ok(())
    }

    /// `raw-unicode-escape` (opcode `V`): latin-1 bytes plus `\uXXXX` and
    /// `\UXXXXXXXX` escapes.
    fn raw_unicode_escape(s: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            let width = match (s[i], s.get(i + 1)) {
                (b'\\', Some(b'u')) => 4,
                (b'\\', Some(b'U')) => 8,
                _ => 0,
            };
            if width > 0 {
                let hex = s.get(i + 2..i + 2 + width).context("short escape")?;
                let cp = u32::from_str_radix(std::str::from_utf8(hex)?, 16)?;
                push_char(&mut out, cp)?;
                i += 2 + width;
            } else {
                push_char(&mut out, u32::from(s[i]))?;
                i += 1;
            }
        }
        Ok(out)
    }

    /// UTF-8 with `surrogatepass` (opcodes `X`, `\x8c`, `\x8d`).
    fn utf8_surrogatepass(s: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            if s[i] == 0xED && i + 2 < s.len() && s[i + 1] & 0xE0 == 0xA0 {
                let cp = (u32::from(s[i] & 0x0F) << 12)
                    | (u32::from(s[i + 1] & 0x3F) << 6)
                    | u32::from(s[i + 2] & 0x3F);
                push_char(&mut out, cp)?;
                i += 3;
            } else {
                out.push(s[i]);
                i += 1;
            }
        }
        Ok(out)
    }

    /// Python 2 `repr()` of a byte string (opcode `S`), quotes included.
    fn python_string_literal(s: &[u8]) -> anyhow::Result<Vec<u8>> {
        let q = *s.first().context("empty string literal")?;
        if !(q == b'\'' || q == b'"') || s.len() < 2 || s[s.len() - 1] != q {
            bail!("malformed string literal");
        }
        let s = &s[1..s.len() - 1];
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            if s[i] != b'\\' {
                out.push(s[i]);
                i += 1;
                continue;
            }
            let c = *s.get(i + 1).context("dangling backslash")?;
            i += 2;
            match c {
                b'\\' | b'\'' | b'"' => out.push(c),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'a' => out.push(7),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'v' => out.push(11),
                b'x' => {
                    let hex = s.get(i..i + 2).context("short \\x escape")?;
                    out.push(u8::from_str_radix(std::str::from_utf8(hex)?, 16)?);
                    i += 2;
                }
                b'0'..=b'7' => {
                    let mut v = u32::from(c - b'0');
                    for _ in 0..2 {
                        match s.get(i) {
                            Some(&d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push((v & 0xFF) as u8);
                }
                _ => {
                    out.push(b'\\');
                    out.push(c);
                }
            }
        }
        Ok(out)
    }

    /// Loads a pickled `dict[str, str]` (or of Python 2 byte strings).
    pub fn load_str_dict(data: &[u8]) -> anyhow::Result<DigestMap> {
        let mut r = Reader { data, pos: 0 };
        let mut stack: Vec<Val> = Vec::new();
        let mut memo: HashMap<u64, Val> = HashMap::new();
        let mut dicts: Vec<Vec<(Vec<u8>, Vec<u8>)>> = Vec::new();
        let pop_mark = |stack: &mut Vec<Val>| -> anyhow::Result<Vec<Val>> {
            let m = stack
                .iter()
                .rposition(|v| matches!(v, Val::Mark))
                .context("no mark on the stack")?;
            let items = stack.split_off(m + 1);
            stack.pop();
            Ok(items)
        };
        let set_items = |dicts: &mut Vec<Vec<(Vec<u8>, Vec<u8>)>>,
                         d: &Val,
                         items: Vec<Val>|
         -> anyhow::Result<()> {
            let Val::Dict(id) = d else {
                bail!("SETITEM on a non-dict")
            };
            if !items.len().is_multiple_of(2) {
                bail!("odd number of dict items");
            }
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                match (k, v) {
                    (Val::Str(k), Val::Str(v)) => dicts[*id].push((k, v)),
                    _ => bail!("dict items must be strings"),
                }
            }
            Ok(())
        };
        loop {
            let at = r.pos;
            let op = r.take(1)?[0];
            match op {
                0x80 => {
                    let proto = r.take(1)?[0];
                    if proto > 5 {
                        bail!("unsupported pickle protocol {proto}");
                    }
                }
                0x95 => {
                    r.le(8)?;
                }
                b'(' => stack.push(Val::Mark),
                b'}' => {
                    dicts.push(Vec::new());
                    stack.push(Val::Dict(dicts.len() - 1));
                }
                b'd' => {
                    let items = pop_mark(&mut stack)?;
                    dicts.push(Vec::new());
                    let d = Val::Dict(dicts.len() - 1);
                    set_items(&mut dicts, &d, items)?;
                    stack.push(d);
                }
                b'p' | b'q' | b'r' | 0x94 => {
                    let idx = match op {
                        b'p' => decimal(r.line()?)?,
                        b'q' => r.le(1)?,
                        b'r' => r.le(4)?,
                        _ => memo.len() as u64,
                    };
                    let top = stack.last().context("PUT on an empty stack")?.clone();
                    memo.insert(idx, top);
                }
                b'g' | b'h' | b'j' => {
                    let idx = match op {
                        b'g' => decimal(r.line()?)?,
                        b'h' => r.le(1)?,
                        _ => r.le(4)?,
                    };
                    stack.push(
                        memo.get(&idx)
                            .with_context(|| format!("memo {idx} unset"))?
                            .clone(),
                    );
                }
                b'V' => stack.push(Val::Str(raw_unicode_escape(r.line()?)?)),
                b'S' => stack.push(Val::Str(python_string_literal(r.line()?)?)),
                b'X' | 0x8c | 0x8d | b'T' | b'U' | b'B' | b'C' => {
                    let n = match op {
                        b'X' | b'T' | b'B' => r.le(4)?,
                        0x8d => r.le(8)?,
                        _ => r.le(1)?,
                    };
                    let raw = r.take(usize::try_from(n)?)?;
                    stack.push(Val::Str(match op {
                        b'X' | 0x8c | 0x8d => utf8_surrogatepass(raw)?,
                        _ => raw.to_vec(),
                    }));
                }
                b's' => {
                    let v = stack.pop().context("stack underflow")?;
                    let k = stack.pop().context("stack underflow")?;
                    let d = stack.last().context("stack underflow")?.clone();
                    set_items(&mut dicts, &d, vec![k, v])?;
                }
                b'u' => {
                    let items = pop_mark(&mut stack)?;
                    let d = stack.last().context("stack underflow")?.clone();
                    set_items(&mut dicts, &d, items)?;
                }
                b'.' => break,
                _ => bail!("unsupported pickle opcode {op:#04x} at byte {at}"),
            }
        }
        match stack.as_slice() {
            [Val::Dict(id)] => Ok(dicts[*id]
                .drain(..)
                .map(|(k, v)| {
                    (
                        OsString::from_vec(k),
                        String::from_utf8_lossy(&v).into_owned(),
                    )
                })
                .collect()),
            _ => bail!("pickle does not hold a single dict"),
        }
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
