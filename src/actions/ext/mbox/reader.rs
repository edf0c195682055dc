//! Mailboxes read as grepmail reads them (`grepmail -a -u [-d "since
//! DATE"]`, through Mail::Mbox::MessageParser), one line at a time, so a
//! mailbox of any size streams through in constant memory (one message's
//! header is held).
//!
//! - **Is it a mailbox?** The first paragraph (read in 4000-byte steps up
//!   to the first empty line) must not look binary, must hold a `From `
//!   line of the strict shape below (any case) and a line starting
//!   `Received`, `Date:`, `Subject:`, `X-Status:`, `Status:` or `To:`.
//!   gzip and bzip2 mailboxes are read decompressed. Line endings are
//!   `\n` or `\r\n`, not a mix. Anything else is skipped with a warning.
//! - **Where messages start**: text before the first `From ` line is
//!   dropped; a message starts at a line matching
//!   `From <no colon>:dd[:dd] <zone or year>{1,3}` and runs to the first
//!   such line after its header that follows an empty line, unless that
//!   line comes right after a `-----Original Message-----` (or `Begin
//!   Included Message`) marker. A multipart message with its closing
//!   boundary runs at least to that boundary; one without it falls back
//!   to its `Content-Length`, if any. A message whose header never ends
//!   runs to the end of the mailbox.
//! - **Which are kept**: with a bound, those whose first parseable date —
//!   the first `Received:` header's (after its last `;`), else `Date:`,
//!   else the `From ` line's — is strictly after it ([`super::date`]);
//!   a message with no parseable date is dropped, as grepmail drops it.
//!   Duplicates (same `Message-Id`, else the same header) are kept once.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::Path;
use std::sync::OnceLock;

use regex::bytes::Regex;
use sha1::{Digest, Sha1};

use super::date::str2time;

/// The tail of a message before a `From ` line that decides whether it
/// starts a new message (MessageParser looks back this far).
const LOOKBACK: usize = 200;
/// The first paragraph is read in steps of this size...
const SAMPLE_STEP: usize = 4000;
/// ...up to this much.
const SAMPLE_MAX: usize = 1_048_576;

/// What reading one mailbox gave.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Messages found.
    pub messages: usize,
    /// Messages written.
    pub selected: usize,
}

fn re(s: &str) -> Regex {
    Regex::new(s).expect("valid mailbox pattern")
}

struct Patterns {
    from: Regex,
    from_any_case: Regex,
    mailbox_header: Regex,
    boundary_quoted: Regex,
    boundary_bare: Regex,
    message_id: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let from = r"From\s[^:\n]+(?::\d\d){1,2}(?:\s+(?:[A-Z]{2,6}|[+-]?\d{4})){1,3}";
        Patterns {
            from: re(&format!("(?-u)^{from}")),
            from_any_case: re(&format!("(?-u)(?im)^{from}")),
            mailbox_header: re(r"(?-u)(?m)^(?:Received[ :]|Date:|Subject:|X-Status:|Status:|To:)"),
            boundary_quoted: re(r#"(?-u)(?i)boundary *= *"([^"]*)""#),
            boundary_bare: re(
                r"(?-u)(?i)boundary *= *([-0-9A-Za-z'()+_,./:=? ]*[-0-9A-Za-z'()+_,./:=?])",
            ),
            message_id: re(r"(?-u)(?im)^Message-Id:\s*<([^>]+)>"),
        }
    })
}

/// The regexes that depend on the line ending.
struct EndlinePatterns {
    included: Regex,
    multipart: Regex,
    received: Regex,
    date: Regex,
    from_space: Regex,
    from: Regex,
    content_length: Regex,
}

fn endline_patterns(crlf: bool) -> &'static EndlinePatterns {
    static LF: OnceLock<EndlinePatterns> = OnceLock::new();
    static CRLF: OnceLock<EndlinePatterns> = OnceLock::new();
    // grepmail's Get_Header_Field: the first line starting with the name
    // (any case) and whitespace, with its continuation lines.
    let field = |name: &str, e: &str| re(&format!(r"(?-u)(?im)^{name}\s.*{e}(?:\s.*{e})*"));
    let make = |e: &str| {
        EndlinePatterns {
        included: re(&format!(
            "(?-u)(?i){e}-----(?: Begin Included Message |Original Message)-----{e}[^\\r\\n]*(?:{e})*$"
        )),
        multipart: re(&format!(
            r"(?-u)(?im)^content-type: *multipart[^\n\r]*{e}(?: [^\n\r]*{e})*"
        )),
        received: field("Received:", e),
        date: field("Date:", e),
        from_space: field("From ", e),
        from: field("From", e),
        content_length: field("Content-Length:", e),
    }
    };
    if crlf {
        CRLF.get_or_init(|| make(r"\r\n"))
    } else {
        LF.get_or_init(|| make(r"\n"))
    }
}

/// How a mailbox file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Storage {
    Plain,
    Gzip,
    Bzip2,
}

fn open(path: &Path, storage: Storage) -> io::Result<Box<dyn BufRead>> {
    let file = File::open(path)?;
    Ok(match storage {
        Storage::Plain => Box::new(BufReader::with_capacity(256 * 1024, file)),
        Storage::Gzip => Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(
            BufReader::new(file),
        ))),
        Storage::Bzip2 => Box::new(BufReader::new(bzip2::read::MultiBzDecoder::new(
            BufReader::new(file),
        ))),
    })
}

/// The first paragraph, read as MessageParser reads it.
fn sample(reader: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let got = reader.take(SAMPLE_STEP as u64).read_to_end(&mut data)?;
        if got == 0 {
            break;
        }
        if find(&data, b"\n\n").is_some() || find(&data, b"\r\n\r\n").is_some() {
            break;
        }
        if is_binary(&data) || data.len() > SAMPLE_MAX {
            break;
        }
    }
    Ok(data)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// MessageParser's binary test: in the first paragraph (after leading
/// empty lines), at most 70% printable ASCII.
fn is_binary(data: &[u8]) -> bool {
    let mut start = 0;
    while data[start..].starts_with(b"\n\n") {
        start += 2;
    }
    let rest = &data[start..];
    let len = find(rest, b"\n\n")
        .or_else(|| find(rest, b"\r\n\r\n"))
        .unwrap_or(rest.len());
    if len == 0 {
        return false;
    }
    let printable = rest[..len]
        .iter()
        .filter(|&&c| c == b'\t' || c == b'\n' || (0x20..=0x7e).contains(&c))
        .count();
    (printable as f64 / len as f64) <= 0.70
}

/// Why a file is not read as a mailbox, or how it is.
fn classify(path: &Path) -> io::Result<Result<(Storage, bool), String>> {
    let mut file = File::open(path)?;
    let head = sample(&mut file)?;
    if head.is_empty() {
        return Ok(Err("is empty".into()));
    }
    let storage = if !is_binary(&head) {
        Storage::Plain
    } else if head.starts_with(b"BZh") {
        Storage::Bzip2
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Storage::Gzip
    } else {
        return Ok(Err("is not a mailbox".into()));
    };
    let head = if storage == Storage::Plain {
        head
    } else {
        let mut reader = open(path, storage)?;
        let head = sample(&mut reader)?;
        if is_binary(&head) {
            return Ok(Err("is not a mailbox".into()));
        }
        head
    };
    let p = patterns();
    if !(p.from_any_case.is_match(&head) && p.mailbox_header.is_match(&head)) {
        return Ok(Err("is not a mailbox".into()));
    }
    // The line ending, from the first 4000 bytes (or up to a newline).
    let probe = &head[..head
        .len()
        .min(SAMPLE_STEP)
        .max(head.iter().position(|&c| c == b'\n').map_or(0, |i| i + 1))];
    let windows = probe.windows(2).filter(|w| w == b"\r\n").count();
    let unix = probe
        .iter()
        .enumerate()
        .filter(|&(i, &c)| c == b'\n' && (i == 0 || probe[i - 1] != b'\r'))
        .count();
    match (windows, unix) {
        (w, 0) if w > 0 => Ok(Ok((storage, true))),
        (0, u) if u > 0 => Ok(Ok((storage, false))),
        _ => Ok(Err("has a mix of unix and Windows line endings".into())),
    }
}

/// Reads lines with one line of lookahead, tracking byte offsets.
struct Lines {
    reader: Box<dyn BufRead>,
    next: Option<Vec<u8>>,
    offset: u64,
}

impl Lines {
    fn new(mut reader: Box<dyn BufRead>) -> io::Result<Lines> {
        let next = read_line(&mut reader)?;
        Ok(Lines {
            reader,
            next,
            offset: 0,
        })
    }

    /// The next line, its offset, and the line after it (for the `From `
    /// test, whose spaces may run over a line end).
    fn advance(&mut self) -> io::Result<Option<(Vec<u8>, u64)>> {
        let Some(line) = self.next.take() else {
            return Ok(None);
        };
        self.next = read_line(&mut self.reader)?;
        let at = self.offset;
        self.offset += line.len() as u64;
        Ok(Some((line, at)))
    }
}

fn read_line(reader: &mut dyn BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    Ok((reader.read_until(b'\n', &mut line)? > 0).then_some(line))
}

/// Whether `line` (with the line after it) starts a message.
fn is_from_line(line: &[u8], next: Option<&[u8]>) -> bool {
    if !line.starts_with(b"From") || !line.get(4).is_some_and(u8::is_ascii_whitespace) {
        return false;
    }
    let from = &patterns().from;
    if from.is_match(line) {
        return true;
    }
    match next {
        Some(next) => {
            let mut window = line.to_vec();
            window.extend_from_slice(next);
            from.is_match(&window)
        }
        None => false,
    }
}

/// A header field's value as grepmail reads it for dates (line ends gone).
fn strip_endlines(v: &[u8], crlf: bool) -> Vec<u8> {
    let e: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i..].starts_with(e) {
            i += e.len();
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    out
}

/// The candidate dates of a message, in grepmail's order (`-a`: the first
/// `Received:`'s first).
fn date_values(header: &[u8], crlf: bool) -> Vec<Vec<u8>> {
    let mut values = Vec::new();
    let p = endline_patterns(crlf);
    let field = |re: &Regex| re.find(header).map(|m| m.as_bytes());
    if let Some(r) = field(&p.received) {
        // /.*\;\s*(.*?)$/s: after the last ';', up to a final newline.
        if let Some(semi) = r.iter().rposition(|&c| c == b';') {
            let mut v = &r[semi + 1..];
            while v.first().is_some_and(u8::is_ascii_whitespace) {
                v = &v[1..];
            }
            let v = v.strip_suffix(b"\n").unwrap_or(v);
            values.push(strip_endlines(v, crlf));
        }
    }
    if let Some(d) = field(&p.date) {
        // /^[^:]*:\s*(.*)$/s
        if let Some(colon) = d.iter().position(|&c| c == b':') {
            let mut v = &d[colon + 1..];
            while v.first().is_some_and(u8::is_ascii_whitespace) {
                v = &v[1..];
            }
            values.push(strip_endlines(v, crlf));
        }
    }
    let from = field(&p.from_space).or_else(|| field(&p.from));
    if let Some(f) = from {
        // /^[^ ]*\s*\S+\s+(.*)$/s
        let caps = re(r"(?-u)(?s)^[^ ]*\s*\S+\s+(.*)$").captures(f);
        if let Some(v) = caps.and_then(|c| c.get(1)) {
            values.push(strip_endlines(v.as_bytes(), crlf));
        }
    }
    values
}

/// The multipart boundary a header declares, if any.
fn boundary(header: &[u8], crlf: bool) -> Option<Vec<u8>> {
    let p = patterns();
    let field = endline_patterns(crlf).multipart.find(header)?.as_bytes();
    let joined = strip_endlines(field, crlf);
    let caps = p
        .boundary_quoted
        .captures(&joined)
        .or_else(|| p.boundary_bare.captures(&joined))?;
    Some(caps.get(1)?.as_bytes().to_vec())
}

/// `Content-Length:` as MessageParser reads it (0 when not a number).
fn content_length(header: &[u8], crlf: bool) -> Option<u64> {
    let field = endline_patterns(crlf)
        .content_length
        .find(header)?
        .as_bytes();
    let caps = re(r"(?-u)(?i)Content-Length: *(\d+)").captures(field);
    Some(
        caps.and_then(|c| std::str::from_utf8(c.get(1)?.as_bytes()).ok()?.parse().ok())
            .unwrap_or(0),
    )
}

/// The offset of the line `--<boundary>--` at or after `from`, if any.
fn closing_boundary(
    path: &Path,
    storage: Storage,
    from: u64,
    boundary: &[u8],
    crlf: bool,
) -> io::Result<Option<u64>> {
    let mut reader: Box<dyn BufRead> = if storage == Storage::Plain {
        let mut file = File::open(path)?;
        file.seek(io::SeekFrom::Start(from))?;
        Box::new(BufReader::new(file))
    } else {
        let mut r = open(path, storage)?;
        io::copy(&mut (&mut r).take(from), &mut io::sink())?;
        r
    };
    let mut wanted = b"--".to_vec();
    wanted.extend_from_slice(boundary);
    wanted.extend_from_slice(b"--");
    wanted.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    let mut at = from;
    while let Some(line) = read_line(&mut reader)? {
        if line == wanted {
            return Ok(Some(at));
        }
        at += line.len() as u64;
    }
    Ok(None)
}

/// A message being read.
struct Message {
    start: u64,
    header: Vec<u8>,
    header_done: bool,
    /// From lines before this offset do not start a message.
    separators_from: u64,
    keep: bool,
    tail: Vec<u8>,
}

impl Message {
    fn new(start: u64) -> Message {
        Message {
            start,
            header: Vec::new(),
            header_done: false,
            separators_from: u64::MAX,
            keep: false,
            tail: Vec::new(),
        }
    }

    fn push_tail(&mut self, line: &[u8]) {
        self.tail.extend_from_slice(line);
        if self.tail.len() > LOOKBACK {
            let cut = self.tail.len() - LOOKBACK;
            self.tail.drain(..cut);
        }
    }
}

/// Selects and writes the messages of `path`: all of them, or those dated
/// after `since` (seconds since the epoch), each once.
pub(crate) fn select(
    path: &Path,
    since: Option<f64>,
    now: &chrono::DateTime<chrono::Local>,
    out: &mut dyn Write,
) -> io::Result<Counts> {
    let mut counts = Counts::default();
    if std::fs::metadata(path)
        .map(|m| m.len() == 0)
        .unwrap_or(false)
    {
        return Ok(counts);
    }
    let classified = match classify(path) {
        Ok(c) => c,
        Err(e) => {
            // grepmail warns and goes on with nothing from this file.
            log::warn!("Can't open mailbox [{}]: {e}; skipped.", path.display());
            return Ok(counts);
        }
    };
    let (storage, crlf) = match classified {
        Ok(kind) => kind,
        Err(why) => {
            log::warn!("Mailbox [{}] {why}; skipped.", path.display());
            return Ok(counts);
        }
    };
    let endline: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut double = endline.to_vec();
    double.extend_from_slice(endline);
    let included = &endline_patterns(crlf).included;
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut lines = Lines::new(open(path, storage)?)?;
    let mut current: Option<Message> = None;
    while let Some((line, at)) = lines.advance()? {
        let starts = match &current {
            None => is_from_line(&line, lines.next.as_deref()),
            Some(m) => {
                m.header_done
                    && at >= m.separators_from
                    && m.tail.ends_with(&double)
                    && !included.is_match(&m.tail)
                    && is_from_line(&line, lines.next.as_deref())
            }
        };
        if starts {
            if let Some(m) = current.take() {
                finish_header_if_needed(m, &mut seen, since, now, crlf, out, &mut counts)?;
            }
            current = Some(Message::new(at));
        }
        let Some(m) = current.as_mut() else {
            continue; // the prologue
        };
        if !m.header_done {
            m.header.extend_from_slice(&line);
            m.push_tail(&line);
            if line == endline && at > m.start {
                m.header_done = true;
                let body = at + line.len() as u64;
                m.separators_from = match boundary(&m.header, crlf) {
                    None => at,
                    Some(b) => match closing_boundary(path, storage, body, &b, crlf)? {
                        Some(closing) => closing,
                        None => match content_length(&m.header, crlf) {
                            Some(n) => m.start + n,
                            None => body,
                        },
                    },
                };
                m.keep = decide(&m.header, &mut seen, since, now, crlf, &mut counts);
                if m.keep {
                    out.write_all(&m.header)?;
                }
            }
        } else {
            m.push_tail(&line);
            if m.keep {
                out.write_all(&line)?;
            }
        }
    }
    if let Some(m) = current.take() {
        finish_header_if_needed(m, &mut seen, since, now, crlf, out, &mut counts)?;
    }
    Ok(counts)
}

/// A message whose header never ended is all header: decide on it now.
fn finish_header_if_needed(
    m: Message,
    seen: &mut HashSet<Vec<u8>>,
    since: Option<f64>,
    now: &chrono::DateTime<chrono::Local>,
    crlf: bool,
    out: &mut dyn Write,
    counts: &mut Counts,
) -> io::Result<()> {
    if !m.header_done && decide(&m.header, seen, since, now, crlf, counts) {
        out.write_all(&m.header)?;
    }
    Ok(())
}

/// Whether a message (by its header) is written: dated after `since`, and
/// not a duplicate of one already written.
fn decide(
    header: &[u8],
    seen: &mut HashSet<Vec<u8>>,
    since: Option<f64>,
    now: &chrono::DateTime<chrono::Local>,
    crlf: bool,
    counts: &mut Counts,
) -> bool {
    counts.messages += 1;
    if let Some(since) = since {
        let values = date_values(header, crlf);
        let date = values.iter().find_map(|v| str2time(v, now));
        match date {
            Some(d) if d > since => {}
            Some(_) => return false,
            None => {
                log::debug!(
                    "Couldn't parse email date(s) [{}]; the message is not selected.",
                    values
                        .iter()
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                        .collect::<Vec<_>>()
                        .join("|")
                );
                return false;
            }
        }
    }
    let key = match patterns()
        .message_id
        .captures(header)
        .and_then(|c| c.get(1))
    {
        Some(id) => id.as_bytes().to_vec(),
        None => {
            let mut k = b"\0".to_vec();
            k.extend_from_slice(&Sha1::digest(header));
            k
        }
    };
    if !seen.insert(key) {
        return false;
    }
    counts.selected += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mailboxes with what trips mbox readers up: a prologue, `From `
    /// lines in bodies (after an empty line or not, of the strict shape or
    /// not, after an "Original Message" marker), folded headers, dates in
    /// `Received:`, `Date:` and only the `From ` line, unparseable and
    /// impossible dates, zones from -1200 to +1300 and by name,
    /// duplicates with and without a Message-Id, multipart bodies with and
    /// without their closing boundary, a From line without its year, and
    /// a last message whose header never ends.
    fn tricky_mailbox() -> Vec<u8> {
        let mut m = String::new();
        m.push_str("This text comes before the first message.\nFrom nobody\n\n");
        let msg =
            |from: &str, headers: &str, body: &str| format!("From {from}\n{headers}\n\n{body}\n\n");
        m += &msg(
            "alice@example.com Tue Dec  1 08:00:00 2026",
            "Date: Tue, 1 Dec 2026 08:00:00 +0000\nSubject: plain\nMessage-Id: <a1@x>",
            "Hello.\nFrom here on, a line that starts with From.\n>From escaped\n\
             From zed@example.com Tue Dec  1 08:00:00 2026\nstrict, but no empty line before it",
        );
        m += &msg(
            "bob@example.com Tue Dec  1 09:30:00 2026",
            "Date: Tue,\n 1 Dec 2026\n\t09:30:00 -0500 (EST)\nSubject: folded\n  subject\nMessage-Id: <b1@x>",
            "Body\n\nFrom the desk of Bob (not a From line: no time)\n\nMore.",
        );
        m += &msg(
            "carol@example.com Mon Nov 30 23:59:59 2026",
            "Received: from mx by host with SMTP id 1;\n Tue, 1 Dec 2026 10:00:00 +1300\nDate: garbage date\nSubject: received date wins",
            "x",
        );
        m += &msg(
            "dave@example.com Tue Dec  1 12:00:01 2026",
            "Date: not a date at all\nSubject: from-line date is the fallback",
            "y\n\n-----Original Message-----\n\nFrom eve@example.com Tue Dec  1 12:00:00 2026\nquoted, not a new message",
        );
        m += &msg(
            "frank@example.com Tue Dec  1 13:00:00 2026",
            "Date: Tue, 31 Feb 2026 13:00:00 +0000\nSubject: impossible date, From line used",
            "z",
        );
        m += &msg(
            "grace@example.com nodate",
            "Date: never\nSubject: no date anywhere",
            "w",
        );
        m += &msg(
            "alice@example.com Tue Dec  1 08:00:00 2026",
            "Date: Tue, 1 Dec 2026 08:00:00 +0000\nSubject: duplicate id\nMessage-Id: <a1@x>",
            "dup",
        );
        m += &msg(
            "henry@example.com Tue Dec  1 14:00:00 2026",
            "Date: Tue, 1 Dec 2026 14:00:00 PST\nSubject: no id",
            "one",
        );
        m += &msg(
            "henry@example.com Tue Dec  1 14:00:00 2026",
            "Date: Tue, 1 Dec 2026 14:00:00 PST\nSubject: no id",
            "same header, other body",
        );
        m += &msg(
            "ivan@example.com Tue Dec  1 15:00:00 2026",
            "Date: Tue, 1 Dec 2026 15:00:00 -1200\nSubject: multipart\nMIME-Version: 1.0\nContent-Type: multipart/mixed;\n boundary=\"XYZ\"",
            "--XYZ\nContent-Type: text/plain\n\npart one\n\nFrom inside@example.com Tue Dec  1 15:00:00 2026\nstill part one\n--XYZ--\n\nepilogue",
        );
        m += &msg(
            "judy@example.com Tue Dec  1 16:00:00 2026",
            "Date: Tue, 1 Dec 2026 16:00:00 +0100\nSubject: broken multipart\nContent-Type: multipart/mixed; boundary=NOPE\nContent-Length: 40",
            "--NOPE\n\nFrom kim@example.com Tue Dec  1 16:30:00 2026\nDate: Tue, 1 Dec 2026 16:30:00 +0000\n\nsplit off",
        );
        m += &msg(
            "leo@example.com Tue Dec  1 17:00:00",
            "MIME-Version: 1.0\nDate: Tue, 1 Dec 2026 17:00:00 EDT\nSubject: From line without a year",
            "v",
        );
        m += &msg(
            "mia@example.com Wed Dec  2 00:00:00 2026",
            "Date: Wed, 2 Dec 2026 00:00:00 +0000\nSubject: tomorrow",
            "u",
        );
        m.push_str("From last@example.com Wed Dec  2 01:00:00 2026\nDate: Wed, 2 Dec 2026 01:00:00 +0000\nSubject: header never ends\n");
        m.into_bytes()
    }

    fn ours(path: &Path, since: Option<&str>) -> Vec<u8> {
        let now = chrono::Local::now();
        let since = since.map(|s| str2time(s.as_bytes(), &now).expect("bound parses"));
        let mut out = Vec::new();
        select(path, since, &now, &mut out).expect("select");
        out
    }

    /// grepmail's answer, as Cedar runs it; `None` when grepmail is absent.
    fn grepmail(path: &Path, since: Option<&str>) -> Option<Vec<u8>> {
        let mut cmd = std::process::Command::new("grepmail");
        cmd.args(["-a", "-u"]);
        if let Some(s) = since {
            cmd.args(["-d", &format!("since {s}")]);
        }
        let out = match cmd.arg(path).output() {
            Ok(out) => out,
            Err(e) => {
                assert!(std::env::var_os("CI").is_none(), "grepmail: {e}");
                eprintln!("skipping: no grepmail");
                return None;
            }
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(out.stdout)
    }

    fn subjects(data: &[u8]) -> Vec<String> {
        String::from_utf8_lossy(data)
            .lines()
            .filter(|l| l.starts_with("Subject:") || l.starts_with("From "))
            .map(String::from)
            .collect()
    }

    #[test]
    fn selects_what_grepmail_selects() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("mbox");
        std::fs::write(&plain, tricky_mailbox()).unwrap();
        let crlf = dir.path().join("crlf");
        let text = String::from_utf8(tricky_mailbox()).unwrap();
        std::fs::write(&crlf, text.replace('\n', "\r\n")).unwrap();
        let gz = dir.path().join("mbox.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&tricky_mailbox()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let not_mbox = dir.path().join("notes");
        std::fs::write(&not_mbox, "just\nsome notes\n\nno mail\n").unwrap();
        let mixed = dir.path().join("mixed");
        std::fs::write(&mixed, text.replacen('\n', "\r\n", 3)).unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "").unwrap();
        let bounds = [
            None,
            Some("2026-11-01T00:00:00"),
            Some("2026-12-01T08:00:00"),
            Some("2026-12-01T12:00:00"),
            Some("2026-12-01T14:30:00"),
            Some("2026-12-02T00:00:00"),
            Some("2030-01-01T00:00:00"),
        ];
        let mut compared = 0;
        for path in [&plain, &crlf, &gz, &not_mbox, &mixed, &empty] {
            for since in bounds {
                let Some(theirs) = grepmail(path, since) else {
                    return;
                };
                let ours = ours(path, since);
                assert!(
                    ours == theirs,
                    "{} since {since:?}:\n cedar: {:?}\n grepmail: {:?}",
                    path.display(),
                    subjects(&ours),
                    subjects(&theirs)
                );
                compared += 1;
            }
        }
        assert_eq!(compared, 42);
        // The bounds do select different sets.
        assert_ne!(ours(&plain, bounds[2]), ours(&plain, bounds[4]));
        assert!(ours(&plain, bounds[6]).is_empty());
        assert!(!ours(&plain, None).is_empty());
    }
}
