//! A reader for the data subset of Python's pickle format: enough to load
//! the `dict` of strings Cedar Backup pickles as its incremental digest map
//! (protocol 0 from Cedar 3, or Cedar 2's). Only the opcodes that build a
//! `dict` of strings are understood; any other (globals, reductions, object
//! construction...) is refused, so nothing is ever executed.

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
pub fn load_str_dict(data: &[u8]) -> anyhow::Result<HashMap<OsString, String>> {
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

/// Loads a pickled `int`, as Cedar's subversion extension keeps the last
/// revision it dumped: protocol 0 (`I17\n.`, Python 2's `L17L\n.`) or the
/// binary opcodes of later protocols.
pub fn load_int(data: &[u8]) -> anyhow::Result<i64> {
    let mut r = Reader { data, pos: 0 };
    if data.first() == Some(&0x80) {
        r.take(2)?;
    }
    let op = r.take(1)?[0];
    let value = match op {
        b'I' | b'L' => {
            let line = std::str::from_utf8(r.line()?)?;
            let digits = line.strip_suffix('L').unwrap_or(line);
            match digits {
                "00" => 0,
                "01" => 1,
                d => d.parse().context("bad integer")?,
            }
        }
        b'K' => i64::from(r.take(1)?[0]),
        b'M' => i64::try_from(r.le(2)?)?,
        b'J' => i64::from(r.le(4)? as u32 as i32),
        other => bail!("not a pickled integer (opcode {other:#04x})"),
    };
    // An optional memo PUT, then STOP.
    let mut op = r.take(1)?[0];
    match op {
        b'p' => {
            r.line()?;
            op = r.take(1)?[0];
        }
        b'q' | 0x94 => {
            if op == b'q' {
                r.take(1)?;
            }
            op = r.take(1)?[0];
        }
        _ => {}
    }
    if op != b'.' {
        bail!("unexpected data after the integer");
    }
    Ok(value)
}

/// Pickles an `int` exactly as Python's `pickle.dump(n, f, 0)` does.
pub fn dump_int(value: i64) -> Vec<u8> {
    format!("I{value}\n.").into_bytes()
}

/// The ten bytes of a naive `datetime.datetime`'s pickled state: year
/// (big-endian), month, day, hour, minute, second, microsecond (3 bytes).
fn datetime_state(dt: &chrono::NaiveDateTime) -> [u8; 10] {
    use chrono::{Datelike, Timelike};
    let y = u16::try_from(dt.year()).unwrap_or(0).to_be_bytes();
    let us = (dt.nanosecond() / 1000).min(999_999).to_be_bytes();
    [
        y[0],
        y[1],
        dt.month() as u8,
        dt.day() as u8,
        dt.hour() as u8,
        dt.minute() as u8,
        dt.second() as u8,
        us[1],
        us[2],
        us[3],
    ]
}

/// Pickles a naive `datetime.datetime` exactly as Python 3's
/// `pickle.dump(dt, f, 0)` does (Cedar's mbox last-run state): the state
/// bytes go through `_codecs.encode(str, "latin1")`.
pub fn dump_datetime(dt: &chrono::NaiveDateTime) -> Vec<u8> {
    let mut out = b"cdatetime\ndatetime\np0\n(c_codecs\nencode\np1\n(V".to_vec();
    for b in datetime_state(dt) {
        match b {
            b'\\' | 0 | b'\n' | b'\r' | 0x1a => {
                out.extend_from_slice(format!("\\u{:04x}", b).as_bytes())
            }
            // raw-unicode-escape writes code points below 256 as one byte.
            b => out.push(b),
        }
    }
    out.extend_from_slice(b"\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n.");
    out
}

/// Loads a pickled naive `datetime.datetime`: Python 3's protocol 0 (the
/// state through `_codecs.encode`) or Python 2's (the state as a byte
/// string), as Cedar 3 and Cedar 2 wrote the mbox last-run state. Only
/// that shape is accepted; nothing in the data is executed.
pub fn load_datetime(data: &[u8]) -> anyhow::Result<chrono::NaiveDateTime> {
    let mut r = Reader { data, pos: 0 };
    let skip_memo = |r: &mut Reader<'_>| -> anyhow::Result<()> {
        if r.data.get(r.pos) == Some(&b'p') {
            r.take(1)?;
            r.line()?;
        }
        Ok(())
    };
    let expect = |r: &mut Reader<'_>, what: &[u8]| -> anyhow::Result<()> {
        if r.take(what.len())? != what {
            bail!("not a pickled datetime (at byte {})", r.pos - what.len());
        }
        Ok(())
    };
    expect(&mut r, b"cdatetime\ndatetime\n")?;
    skip_memo(&mut r)?;
    expect(&mut r, b"(")?;
    let state = match r.take(1)?[0] {
        b'c' => {
            expect(&mut r, b"_codecs\nencode\n")?;
            skip_memo(&mut r)?;
            expect(&mut r, b"(V")?;
            let text = String::from_utf8(raw_unicode_escape(r.line()?)?)?;
            text.chars()
                .map(|c| u8::try_from(u32::from(c)).context("state is not latin-1"))
                .collect::<anyhow::Result<Vec<u8>>>()?
        }
        b'S' => {
            r.pos -= 1;
            r.take(1)?;
            python_string_literal(r.line()?)?
        }
        other => bail!("not a pickled datetime (opcode {other:#04x})"),
    };
    if data.last() != Some(&b'.') {
        bail!("truncated pickle");
    }
    let [y0, y1, mo, d, h, mi, s, u0, u1, u2] = <[u8; 10]>::try_from(state.as_slice())
        .map_err(|_| anyhow::anyhow!("datetime state is {} bytes, not 10", state.len()))?;
    let year = i32::from(u16::from_be_bytes([y0, y1]));
    let micro = u32::from_be_bytes([0, u0, u1, u2]);
    chrono::NaiveDate::from_ymd_opt(year, mo.into(), d.into())
        .and_then(|date| date.and_hms_micro_opt(h.into(), mi.into(), s.into(), micro))
        .context("datetime state out of range")
}

#[cfg(test)]
mod scalar_tests {
    use super::*;

    #[test]
    fn ints_round_trip_in_every_protocol() {
        assert_eq!(dump_int(17), b"I17\n.");
        assert_eq!(load_int(b"I17\n.").unwrap(), 17);
        assert_eq!(load_int(b"L17L\n.").unwrap(), 17);
        assert_eq!(load_int(b"I-1\n.").unwrap(), -1);
        assert_eq!(load_int(b"\x80\x04K\x11.").unwrap(), 17);
        assert_eq!(load_int(b"\x80\x04M\x00\x01.").unwrap(), 256);
        assert_eq!(load_int(b"\x80\x04J\xff\xff\xff\xff.").unwrap(), -1);
        assert!(load_int(b"I17\n").is_err());
        assert!(load_int(b"Vx\n.").is_err());
    }

    #[test]
    fn datetimes_match_python3_and_load_python2() {
        let dt = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_micro_opt(12, 0, 0, 123_456)
            .unwrap();
        // pickle.dumps(datetime.datetime(2026,12,1,12,0,0,123456), 0)
        let py3 = b"cdatetime\ndatetime\np0\n(c_codecs\nencode\np1\n(V\x07\xea\x0c\x01\x0c\\u0000\\u0000\x01\xe2@\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n.";
        assert_eq!(dump_datetime(&dt), py3);
        assert_eq!(load_datetime(py3).unwrap(), dt);
        let py2 =
            b"cdatetime\ndatetime\np1\n(S'\\x07\\xea\\x0c\\x01\\x0c\\x00\\x00\\x01\\xe2@'\ntRp2\n.";
        assert_eq!(load_datetime(py2).unwrap(), dt);
        assert!(load_datetime(b"I17\n.").is_err());
        assert!(load_datetime(&py3[..py3.len() - 1]).is_err());
    }
}
