//! `cback restore`: what a disc holds, and getting it back.
//!
//! `cback restore [-d DEVICE] list` lists the days (every session merged,
//! the newest winning; `-s BLOCK` for one session) with their peers and
//! archives. `cback restore [-d DEVICE] [-x] WHAT TARGET` restores a day
//! (`YYYY-MM-DD`), a peer (`YYYY-MM-DD/PEER`) or an archive
//! (`YYYY-MM-DD/PEER/NAME`) into TARGET, each file checked against the
//! day's manifest while it is copied (a file that does not match is not
//! left in TARGET and is named; what the manifest lists but the disc lacks
//! is named MISSING, and an item missing a part is not restored at all).
//! Names are kept as the bytes recorded, UTF-8 or not. Split files
//! (`NAME_00000`, `NAME_00001`, ... as Cedar's split extension makes them)
//! are joined and encrypted ones (`NAME.gpg`, Cedar's encrypt extension)
//! decrypted with `gpg` on the way.
//! With `-x` tar archives (`.tar`, `.tar.gz`, `.tar.bz2`) are unpacked
//! into TARGET with their original paths, modes, mtimes and (as root)
//! owners, refusing members that would land outside TARGET; without it
//! files are written to `TARGET/PEER/NAME`. Symlinks on the disc (a span
//! disc holds the staging tree as it is) are restored as symlinks.
//!
//! TARGET need not be empty: each file or archive goes through a
//! [`Staging`] directory inside it and replaces what is at its paths only
//! once it checked out, so a damaged one leaves TARGET as it was.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use crate::engine::discread::{Day, Medium};
use crate::engine::manifest::{Manifest, MANIFEST_NAME};
use crate::engine::unpack::{self, Compression, Staging};
use crate::engine::util::display_bytes;
use crate::tools::reading::{self, EXIT_DAMAGED, EXIT_DEVICE, EXIT_USAGE};

const USAGE: &str = "usage: cback restore [-c CONFIG] [-d DEVICE|IMAGE] [-s BLOCK] list\n\
       cback restore [-c CONFIG] [-d DEVICE|IMAGE] [-s BLOCK] [-x] [--raw] WHAT TARGET\n\
\n\
WHAT is a day YYYY-MM-DD, a peer YYYY-MM-DD/PEER or an archive YYYY-MM-DD/PEER/NAME.\n\
  -c, --config FILE    take the device from FILE's <store><target_device>\n\
                       (default /etc/cback3.conf) when -d is not given\n\
  -d, --device DEV     the drive (/dev/sr0, emulated:PATH?...) or an image file\n\
  -s, --session BLOCK  only the session starting at BLOCK (default: all merged)\n\
  -x, --unpack         unpack tar archives into TARGET (original paths, modes, mtimes)\n\
      --raw            copy files as recorded (no joining of split files, no gpg)\n\
Exit status: 0 restored, 1 some file damaged or refused, 2 usage, 5 interrupted,\n\
6 unreadable disc.";

#[derive(Debug, Default)]
struct Args<'a> {
    config: Option<&'a str>,
    device: Option<&'a str>,
    session: Option<u32>,
    unpack: bool,
    raw: bool,
    words: Vec<&'a str>,
}

fn parse<'a>(strs: &[&'a str]) -> Result<Args<'a>, String> {
    let mut a = Args::default();
    let mut it = strs.iter().copied();
    while let Some(w) = it.next() {
        if let Some(v) = reading::value(w, &["-c", "--config"], &mut it) {
            a.config = Some(v?);
        } else if let Some(v) = reading::value(w, &["-d", "--device"], &mut it) {
            a.device = Some(v?);
        } else if let Some(v) = reading::value(w, &["-s", "--session"], &mut it) {
            let v = v?;
            a.session = Some(
                v.parse()
                    .map_err(|_| format!("--session {v:?} is not a block number"))?,
            );
        } else if w == "-x" || w == "--unpack" {
            a.unpack = true;
        } else if w == "--raw" {
            a.raw = true;
        } else if w == "-h" || w == "--help" {
            return Err(String::new());
        } else if w.starts_with('-') && w.len() > 1 {
            return Err(format!("unknown option {w}"));
        } else {
            a.words.push(w);
        }
    }
    Ok(a)
}

/// Runs `cback restore ARGS...`; returns the process exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let strs: Option<Vec<&str>> = args.iter().map(|a| a.to_str()).collect();
    let Some(strs) = strs else {
        eprintln!("cback restore: an argument is not valid UTF-8");
        return EXIT_USAGE;
    };
    let a = match parse(&strs) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("cback restore: {e}\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    let usage = |e: &str| {
        eprintln!("cback restore: {e}\n{USAGE}");
        EXIT_USAGE
    };
    let (what, target) = match a.words.as_slice() {
        ["list"] => (None, None),
        [what, target] => (Some(*what), Some(*target)),
        [] => return usage("nothing to do (list, or WHAT TARGET)"),
        w => {
            return usage(&format!(
                "expected list or WHAT TARGET, got {}",
                w.join(" ")
            ))
        }
    };
    let device = match reading::device(a.device, a.config) {
        Ok(d) => d,
        Err(e) => return usage(&e),
    };
    let (mut medium, contents) = match reading::open(&device, a.session) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("cback restore: {e}");
            return EXIT_DEVICE;
        }
    };
    // Damage found reading the trees: said first; what is readable is
    // still listed and restored.
    for d in &contents.damage {
        eprintln!(
            "cback restore: warning: DAMAGED {} (session at block {}): {}",
            d.path, d.session, d.why
        );
    }
    let (Some(what), Some(target)) = (what, target) else {
        print!("{}", list(&contents.days));
        return if contents.damage.is_empty() {
            0
        } else {
            EXIT_DAMAGED
        };
    };
    let mut parts = what.splitn(3, '/');
    let day_name = parts.next().unwrap_or("").replace('-', "/");
    let Some(day) = contents.days.get(&day_name) else {
        if !contents.damage.is_empty() {
            eprintln!(
                "cback restore: {device}: no day {what} readable on the disc (damaged, above)"
            );
            return EXIT_DAMAGED;
        }
        eprintln!(
            "cback restore: {device}: no day {} on the disc (cback restore list shows them)",
            parts.next().map_or(what, |_| what)
        );
        return EXIT_USAGE;
    };
    let prefix: Vec<u8> = parts.collect::<Vec<_>>().join("/").into_bytes();
    interrupt_watcher();
    let opts = Opts {
        unpack: a.unpack,
        raw: a.raw,
    };
    match restore(&mut medium, day, &prefix, Path::new(target), &opts) {
        Ok(mut r) => {
            if day.damaged {
                r.problems += 1;
                r.lines.push(format!(
                    "DAMAGED {}: a directory below it cannot be read (above); what it holds \
                     is not restored",
                    day.disc_path
                ));
            }
            if let Some(newer) = day.newer_damaged {
                r.problems += 1;
                r.lines.push(format!(
                    "DAMAGED {}: the session at block {newer} is damaged on its path (above); \
                     restored from the session at block {}, which may hold an older copy",
                    day.disc_path, day.session
                ));
            }
            for l in &r.lines {
                println!("{l}");
            }
            println!(
                "cback restore: {what} -> {target}: {} item(s) ({}) restored, {} problem(s)",
                r.items,
                display_bytes(r.bytes),
                r.problems
            );
            if r.interrupted {
                eprintln!(
                    "cback restore: interrupted: what was restored before is in place, \
                     the rest not started"
                );
                return crate::app::exit::INTERRUPTED;
            }
            if r.items == 0 && r.problems == 0 {
                eprintln!("cback restore: {what}: nothing on the disc by that name");
                return EXIT_USAGE;
            }
            if r.problems == 0 {
                0
            } else {
                EXIT_DAMAGED
            }
        }
        Err(e) => {
            eprintln!("cback restore: {e}");
            EXIT_DEVICE
        }
    }
}

/// Set by the first SIGINT/SIGTERM: the item being read fails at its next
/// read (its staging removed, the target left as it was, as for a damaged
/// one; an item being moved into place is finished) and no other starts.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Watches for SIGINT/SIGTERM: the first stops the restore after the item
/// under way (see [`INTERRUPTED`]); a second, for a disc read that does not
/// return, removes the staging directories and exits at once.
fn interrupt_watcher() {
    crate::app::on_interrupt(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            unpack::remove_all_staging();
            eprintln!("cback restore: interrupted again: stopped at once");
            std::process::exit(crate::app::exit::INTERRUPTED);
        }
    });
}

/// The day listing: `YYYY-MM-DD  session BLOCK  manifest|no manifest`,
/// then each peer with its files and sizes.
fn list(days: &BTreeMap<String, Day>) -> String {
    let mut s = String::new();
    for day in days.values() {
        let man = match &day.manifest {
            None => "no manifest".to_string(),
            Some(Ok(m)) => format!("manifest of {} files, host {}", m.files.len(), m.host),
            Some(Err(e)) => format!("manifest DAMAGED: {e}"),
        };
        s.push_str(&format!(
            "{}  (session at block {}, {man})\n",
            day.date(),
            day.session
        ));
        for peer in day.peers() {
            s.push_str(&format!("  {peer}\n"));
            let pre = format!("{peer}/");
            for (p, e) in day.files() {
                if let Some(rest) = p.strip_prefix(pre.as_bytes()) {
                    s.push_str(&format!(
                        "    {:<40} {:>12}\n",
                        String::from_utf8_lossy(rest),
                        e.size
                    ));
                }
            }
        }
    }
    s
}

/// How to restore.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    /// Unpack tar archives into the target.
    pub unpack: bool,
    /// Copy as recorded: no joining, no decryption.
    pub raw: bool,
}

/// What a restore did.
#[derive(Debug, Default)]
pub struct Restored {
    /// Files or archives restored.
    pub items: usize,
    /// Bytes read from the disc.
    pub bytes: u64,
    /// Damaged, differing or refused.
    pub problems: usize,
    /// What happened, one line each.
    pub lines: Vec<String>,
    /// Stopped by SIGINT/SIGTERM before everything was restored.
    pub interrupted: bool,
}

impl Restored {
    /// Counts one item: restored with its lines (each REFUSED one a
    /// problem), or not, told by the error's line; when `stopped` (its
    /// reading failed for the interrupt) the error is the interrupt's and
    /// not told.
    fn tally(&mut self, done: Result<Vec<String>, String>, stopped: bool) {
        match done {
            Ok(lines) => {
                self.items += 1;
                for l in lines {
                    self.problems += usize::from(l.starts_with("REFUSED"));
                    self.lines.push(l);
                }
            }
            Err(_) if stopped => self.interrupted = true,
            Err(line) => {
                self.problems += 1;
                self.lines.push(line);
            }
        }
    }
}

/// Why an item was not restored.
#[derive(Debug)]
enum ItemError {
    /// The disc, the manifest, the archive or its encryption is damaged.
    Damaged(String),
    /// Putting it into the target failed (no space, no permission): the
    /// disc is fine.
    Failed(String),
}

impl ItemError {
    /// The item's line: `DAMAGED PATH: why` or `FAILED PATH: why`.
    fn line(&self, path: &str) -> String {
        match self {
            ItemError::Damaged(e) => format!("DAMAGED {path}: {e}"),
            ItemError::Failed(e) => format!("FAILED {path}: {e}"),
        }
    }
}

impl From<unpack::UnpackError> for ItemError {
    fn from(e: unpack::UnpackError) -> ItemError {
        match e {
            unpack::UnpackError::Archive(_) => ItemError::Damaged(e.to_string()),
            _ => ItemError::Failed(e.to_string()),
        }
    }
}

/// One part of an item as recorded.
struct Part {
    name: String,
    extents: Vec<(u32, u32)>,
    expect: Option<[u8; 32]>,
}

/// Reads an item's parts from the disc in order, each checked against the
/// manifest when it ends.
struct PartsReader<'m> {
    medium: &'m mut Medium,
    parts: Vec<Part>,
    part: usize,
    extent: usize,
    offset: u32,
    hash: Sha256,
    buf: Vec<u8>,
    bytes: u64,
    /// A read failed for the interrupt.
    stopped: bool,
}

impl Read for PartsReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        const B: usize = mmc::BLOCK_SIZE;
        if interrupted() {
            self.stopped = true;
            return Err(std::io::Error::other("interrupted"));
        }
        loop {
            let Some(part) = self.parts.get(self.part) else {
                return Ok(0);
            };
            let Some(&(lba, len)) = part.extents.get(self.extent) else {
                let sum: [u8; 32] = std::mem::take(&mut self.hash).finalize().into();
                if part.expect.is_some_and(|e| e != sum) {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: SHA-256 does not match the manifest", part.name),
                    ));
                }
                self.part += 1;
                self.extent = 0;
                self.offset = 0;
                continue;
            };
            if self.offset >= len {
                self.extent += 1;
                self.offset = 0;
                continue;
            }
            // Whole blocks from the offset (block-aligned), up to 1 MiB.
            let left = (len - self.offset) as usize;
            let want = left.min(out.len()).min(1 << 20);
            let skip = self.offset as usize % B;
            let blocks = (skip + want).div_ceil(B);
            self.buf.resize(blocks * B, 0);
            let at = lba + self.offset / B as u32;
            self.medium
                .read_blocks(at, &mut self.buf[..blocks * B])
                .map_err(|e| {
                    std::io::Error::other(format!("{}: unreadable block near {at}: {e}", part.name))
                })?;
            out[..want].copy_from_slice(&self.buf[skip..skip + want]);
            self.hash.update(&out[..want]);
            self.offset += want as u32;
            self.bytes += want as u64;
            return Ok(want);
        }
    }
}

/// A split part's base name and index (`NAME_00003` -> (NAME, 3)), the
/// name as recorded (bytes, not necessarily UTF-8).
fn split_part(name: &[u8]) -> Option<(&[u8], u32)> {
    let at = name.iter().rposition(|&b| b == b'_')?;
    let (base, idx) = (&name[..at], &name[at + 1..]);
    if idx.len() != 5 || !idx.iter().all(u8::is_ascii_digit) || base.is_empty() {
        return None;
    }
    let idx = idx.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    Some((base, idx))
}

/// The item the disc file `p` is part of, with the part's index: a split
/// part's base name, or (with `--raw`, or not split) the file itself.
fn item_of(p: &[u8], raw: bool) -> (&[u8], u32) {
    split_part(p).filter(|_| !raw).unwrap_or((p, 0))
}

/// The name an encrypted item (`NAME.gpg`) decrypts to, unless `--raw`.
fn decrypts_to(key: &[u8], raw: bool) -> Option<&[u8]> {
    key.strip_suffix(b".gpg").filter(|_| !raw)
}

/// A name of the disc in a message.
fn shown(name: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(name)
}

/// A name of the disc as a path below the target, byte for byte.
fn as_path(name: &[u8]) -> &Path {
    use std::os::unix::ffi::OsStrExt;
    Path::new(std::ffi::OsStr::from_bytes(name))
}

/// The items to restore: logical name (a split file's base name) -> its
/// parts as (index, name as recorded, entry), the names bytes as on the
/// disc.
type Items<'d> = BTreeMap<&'d [u8], Vec<(u32, &'d [u8], &'d iso9660::Entry)>>;

/// Restores the files of `day` whose path is `prefix` or below it.
///
/// On a day with a manifest, whatever it lists under `prefix` that the
/// disc lacks is named `MISSING` first, and an item with a part missing
/// (a split file's last part whose name decayed, say) is not restored at
/// all rather than joined short; a file the manifest does not list is
/// restored unchecked and its line says so (not a problem, as for
/// `cback verify`). A damaged manifest is a problem: the files are then
/// restored unchecked.
pub fn restore(
    medium: &mut Medium,
    day: &Day,
    prefix: &[u8],
    target: &Path,
    opts: &Opts,
) -> Result<Restored, String> {
    let manifest: Option<&Manifest> = day.manifest.as_ref().and_then(|m| m.as_ref().ok());
    let mut r = Restored::default();
    if let Some(Err(e)) = &day.manifest {
        r.problems += 1;
        r.lines.push(format!(
            "{}/{MANIFEST_NAME} is damaged ({e}): files are restored unchecked",
            day.disc_path
        ));
    }
    let selected = |p: &[u8]| {
        prefix.is_empty()
            || p == prefix
            || (p.starts_with(prefix) && p.get(prefix.len()) == Some(&b'/'))
    };
    // A file is wanted by its own path, its item's or (encrypted) the
    // name its item decrypts to.
    let wanted = |p: &[u8]| {
        let (key, _) = item_of(p, opts.raw);
        selected(p) || selected(key) || decrypts_to(key, opts.raw).is_some_and(selected)
    };
    let mut items = Items::new();
    for (p, e) in day.files() {
        if let Some(why) = disc_path_problem(p) {
            if selected(p) {
                r.problems += 1;
                r.lines
                    .push(format!("REFUSED {}/{}: {why}", day.disc_path, shown(p)));
            }
            continue;
        }
        if wanted(p) {
            let (key, idx) = item_of(p, opts.raw);
            items.entry(key).or_default().push((idx, p, e));
        }
    }
    if let Some(m) = manifest {
        missing(day, m, &selected, &wanted, opts.raw, &mut items, &mut r);
    }
    // Symlinks (a `cback span` disc holds the staging tree as it is):
    // restored as symlinks, never joined, decrypted or followed.
    for (p, e) in &day.entries {
        if interrupted() {
            r.interrupted = true;
            return Ok(r);
        }
        if let iso9660::EntryKind::Symlink(link) = &e.kind {
            if !selected(p) {
                continue;
            }
            let name = shown(p);
            if let Some(why) = disc_path_problem(p) {
                r.problems += 1;
                r.lines
                    .push(format!("REFUSED {}/{name}: {why}", day.disc_path));
                continue;
            }
            let listed = manifest.and_then(|m| m.link(p));
            // The manifest has the staged text, the disc what Rock Ridge
            // can record of it.
            if let Some(rec) =
                listed.filter(|rec| iso9660::symlink_as_recorded(&rec.target) != *link)
            {
                r.problems += 1;
                r.lines.push(format!(
                    "DIFFERS {}/{name}: symlink to {} on the disc, to {} in the manifest",
                    day.disc_path,
                    shown(link),
                    shown(&rec.target)
                ));
                continue;
            }
            // Listed and matching: the manifest's text, as it was staged
            // (the disc may hold it without empty components).
            let text = listed.map_or(link.as_slice(), |rec| rec.target.as_slice());
            let done = restore_symlink(p, text, e.meta, target, listed.is_some());
            let done = done.map_err(|e| format!("FAILED {}/{name}: {e}", day.disc_path));
            r.tally(done, false);
        }
    }
    for (key, mut parts) in items {
        if interrupted() {
            r.interrupted = true;
            break;
        }
        parts.sort_by_key(|p| p.0);
        if parts.iter().enumerate().any(|(i, p)| p.0 != i as u32) {
            r.problems += 1;
            r.lines.push(format!(
                "MISSING {}/{}: split parts are not numbered 00000 on without gaps",
                day.disc_path,
                shown(key)
            ));
            continue;
        }
        let mut problem = None;
        let meta = parts[0].2.meta;
        let parts: Vec<Part> = parts
            .into_iter()
            .map(|(_, name, e)| {
                let expect = manifest.and_then(|m| m.file(name)).map(|f| {
                    if f.size != e.size {
                        problem = Some(format!(
                            "{}: {} bytes on the disc, {} in the manifest",
                            shown(name),
                            e.size,
                            f.size
                        ));
                    }
                    f.sha256
                });
                Part {
                    name: shown(name).into_owned(),
                    extents: e.extents.clone(),
                    expect,
                }
            })
            .collect();
        if let Some(p) = problem {
            r.problems += 1;
            r.lines.push(format!("DIFFERS {}/{p}", day.disc_path));
            continue;
        }
        let unchecked = manifest.is_some() && parts.iter().any(|p| p.expect.is_none());
        let mut reader = PartsReader {
            medium,
            parts,
            part: 0,
            extent: 0,
            offset: 0,
            hash: Sha256::new(),
            buf: Vec::new(),
            bytes: 0,
            stopped: false,
        };
        let single = (reader.parts.len() == 1).then_some(meta);
        let plain = decrypts_to(key, opts.raw);
        let result = restore_item(&mut reader, key, plain, single, target, opts);
        r.bytes += reader.bytes;
        let result = result
            .map(|mut lines| {
                if let Some(first) = lines.first_mut().filter(|_| unchecked) {
                    first.push_str(" (not in the manifest: unchecked)");
                }
                lines
            })
            .map_err(|e| e.line(&format!("{}/{}", day.disc_path, shown(key))));
        r.tally(result, reader.stopped);
    }
    Ok(r)
}

/// Names (`MISSING`, a problem each) the files and symlinks the manifest
/// `m` lists under the selection that the disc lacks, and takes out of
/// `items` every item with a part among them, so that none is restored
/// short.
fn missing(
    day: &Day,
    m: &Manifest,
    selected: &dyn Fn(&[u8]) -> bool,
    wanted: &dyn Fn(&[u8]) -> bool,
    raw: bool,
    items: &mut Items<'_>,
    r: &mut Restored,
) {
    let is_file = |p: &[u8]| {
        day.entries
            .get(p)
            .is_some_and(|e| e.kind == iso9660::EntryKind::File)
    };
    for rec in m
        .files
        .iter()
        .filter(|f| wanted(&f.path) && !is_file(&f.path))
    {
        let (key, _) = item_of(&rec.path, raw);
        let dropped = key != rec.path.as_slice() && items.remove(key).is_some();
        r.problems += 1;
        r.lines.push(format!(
            "MISSING {}/{}: in the manifest, not on the disc{}",
            day.disc_path,
            shown(&rec.path),
            if dropped {
                format!(" ({} not restored)", shown(key))
            } else {
                String::new()
            }
        ));
    }
    for rec in m.links.iter().filter(|l| selected(&l.path)) {
        let what = match day.entries.get(&rec.path).map(|e| &e.kind) {
            None => "MISSING",
            Some(iso9660::EntryKind::Symlink(_)) => continue,
            // A symlink in the manifest, something else on the disc: not
            // restored as either.
            Some(_) => {
                items.remove(rec.path.as_slice());
                "DIFFERS"
            }
        };
        r.problems += 1;
        r.lines.push(format!(
            "{what} {}/{}: {}",
            day.disc_path,
            shown(&rec.path),
            if what == "MISSING" {
                "in the manifest, not on the disc"
            } else {
                "a symlink in the manifest, not one on the disc"
            }
        ));
    }
}

/// Why the path `p` of the disc cannot be joined below the target, if it
/// cannot: absolute, a `..`, an empty or `.` component, a NUL.
fn disc_path_problem(p: &[u8]) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    if let Some(why) = unpack::path_problem(Path::new(std::ffi::OsStr::from_bytes(p))) {
        Some(why)
    } else if p.split(|&b| b == b'/').any(|c| c.is_empty() || c == b".") {
        Some("an empty or '.' component in the name")
    } else if p.contains(&0) {
        Some("a NUL in the name")
    } else {
        None
    }
}

/// Decrypts (`.gpg`, to the name `decrypted`), then unpacks or writes
/// one item.
fn restore_item(
    reader: &mut PartsReader<'_>,
    key: &[u8],
    decrypted: Option<&[u8]>,
    meta: Option<iso9660::Metadata>,
    target: &Path,
    opts: &Opts,
) -> Result<Vec<String>, ItemError> {
    let Some(name) = decrypted else {
        return finish(
            &mut std::io::BufReader::with_capacity(1 << 20, reader),
            key,
            meta,
            target,
            opts,
            || Ok(()),
        );
    };
    let mut child = Command::new("gpg")
        .args(["--batch", "--quiet", "--decrypt"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ItemError::Failed(format!("running gpg to decrypt {}: {e}", shown(key))))?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(ItemError::Failed("gpg: no pipes".into()));
    };
    std::thread::scope(|s| {
        let feeder = s.spawn(move || {
            let r = std::io::copy(
                &mut std::io::BufReader::with_capacity(1 << 20, reader),
                &mut stdin,
            );
            drop(stdin);
            r
        });
        // gpg writes what it decrypted before it knows the input was whole:
        // the output is kept only once the disc was read to the end, every
        // part matched its manifest and gpg succeeded.
        let confirm = move || -> Result<(), String> {
            let fed = feeder.join();
            let status = child.wait_with_output().map_err(|e| format!("gpg: {e}"))?;
            match fed {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => return Err("reading the disc for gpg failed".into()),
            }
            if !status.status.success() {
                return Err(format!(
                    "gpg could not decrypt {}: {}",
                    shown(key),
                    String::from_utf8_lossy(&status.stderr).trim()
                ));
            }
            Ok(())
        };
        // Moved in here so that gpg's output is closed as soon as finish
        // returns: when finish fails before it reads everything, gpg (and
        // with it the feeder) must not block on a pipe nobody reads, or the
        // scope would wait for the feeder for ever.
        let mut stdout = stdout;
        let done = finish(
            &mut std::io::BufReader::new(&mut stdout),
            name,
            None,
            target,
            opts,
            confirm,
        );
        drop(stdout);
        done
    })
}

/// Unpacks a tar archive (with `-x`) or writes the file at `TARGET/name`,
/// into a staging directory inside TARGET first: moved into place only
/// once every byte matched and `confirm` agrees (for a decrypted file: gpg
/// succeeded), so a failure leaves TARGET exactly as it was.
fn finish(
    r: &mut dyn Read,
    name: &[u8],
    meta: Option<iso9660::Metadata>,
    target: &Path,
    opts: &Opts,
    confirm: impl FnOnce() -> Result<(), String>,
) -> Result<Vec<String>, ItemError> {
    let mut staging = Staging::new(target)?;
    let archive = Compression::of(&shown(name)).filter(|_| opts.unpack);
    let staged = match archive {
        Some(c) => unpack::unpack(&mut *r, c, &mut staging)
            .map_err(ItemError::from)
            // Whatever the unpack left unread (the tar's end padding) still
            // has to pass through the manifest check.
            .and_then(|()| {
                std::io::copy(r, &mut std::io::sink())
                    .map(drop)
                    .map_err(|e| ItemError::Damaged(e.to_string()))
            }),
        None => write_file(r, &staging.root().join(as_path(name)), meta),
    };
    staged.and_then(|()| confirm().map_err(ItemError::Damaged))?;
    let done = staging.commit()?;
    let mut lines = vec![match archive {
        Some(_) => format!(
            "unpacked {}: {} member(s) into {}",
            shown(name),
            done.members,
            target.display()
        ),
        None => format!("restored {}", target.join(as_path(name)).display()),
    }];
    lines.extend(
        done.refused
            .into_iter()
            .map(|w| format!("REFUSED {}: {w}", shown(name))),
    );
    Ok(lines)
}

/// Writes `r` to the new file `dest` (in a staging directory) with the
/// disc's mode and mtime.
fn write_file(
    r: &mut dyn Read,
    dest: &Path,
    meta: Option<iso9660::Metadata>,
) -> Result<(), ItemError> {
    let named = |e: std::io::Error| ItemError::Failed(format!("{}: {e}", dest.display()));
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| ItemError::Failed(format!("{}: {e}", parent.display())))?;
    }
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dest)
        .map_err(named)?;
    // A read error is the disc's, a write error the target's.
    let mut buf = vec![0; 1 << 20];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ItemError::Damaged(e.to_string())),
        };
        f.write_all(&buf[..n]).map_err(named)?;
    }
    f.flush().map_err(named)?;
    if let Some(m) = meta {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(m.mode & 0o7777))
            .map_err(named)?;
        f.set_modified(mtime(m)).map_err(named)?;
    }
    f.sync_all().map_err(named)
}

fn mtime(m: iso9660::Metadata) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(m.mtime.max(0).cast_unsigned())
}

/// Restores the symlink `name` of the disc as a symlink with the same
/// target text (never followed, wherever it points), through a staging
/// directory like a file; `checked`: the manifest lists it with that
/// target.
fn restore_symlink(
    name: &[u8],
    link: &[u8],
    meta: iso9660::Metadata,
    target: &Path,
    checked: bool,
) -> Result<Vec<String>, String> {
    use std::os::unix::ffi::OsStrExt;
    let staging = Staging::new(target).map_err(|e| e.to_string())?;
    let dest = staging.root().join(as_path(name));
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let to = std::ffi::OsStr::from_bytes(link);
    std::os::unix::fs::symlink(to, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let t = nix::sys::time::TimeSpec::new(meta.mtime, 0);
    // A symlink's own mtime; where the file system cannot set it, the
    // link is still restored.
    let _ = nix::sys::stat::utimensat(
        None,
        &dest,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    );
    let done = staging.commit().map_err(|e| e.to_string())?;
    let mut lines = vec![format!(
        "restored {} -> {} ({})",
        target.join(as_path(name)).display(),
        to.to_string_lossy(),
        if checked {
            "a symlink, as in the manifest"
        } else {
            "a symlink: not in the manifest"
        }
    )];
    lines.extend(
        done.refused
            .into_iter()
            .map(|w| format!("REFUSED {}: {w}", shown(name))),
    );
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_link_that_is_no_symlink_on_the_disc_differs_and_is_not_restored() {
        use crate::engine::manifest::LinkRecord;
        let entry = |kind| crate::engine::discread::tests::entry(kind, vec![(100, 3)], 3);
        let link = |p: &[u8]| LinkRecord {
            path: p.to_vec(),
            target: b"x".to_vec(),
        };
        let day = Day {
            disc_path: "2026/03/02".into(),
            session: 0,
            entries: [
                (b"h/file".to_vec(), entry(iso9660::EntryKind::File)),
                (
                    b"h/ok".to_vec(),
                    entry(iso9660::EntryKind::Symlink(b"x".to_vec())),
                ),
            ]
            .into(),
            manifest: None,
            damaged: false,
            newer_damaged: None,
        };
        let m = Manifest {
            day: "2026-03-02".into(),
            host: "h".into(),
            cedar: "0".into(),
            files: Vec::new(),
            links: vec![link(b"h/file"), link(b"h/gone"), link(b"h/ok")],
        };
        let file = &day.entries[b"h/file".as_slice()];
        let mut items: Items =
            [(b"h/file".as_slice(), vec![(0, b"h/file".as_slice(), file)])].into();
        let mut r = Restored::default();
        missing(&day, &m, &|_| true, &|_| true, false, &mut items, &mut r);
        assert_eq!(r.problems, 2, "{:?}", r.lines);
        assert_eq!(
            r.lines,
            [
                "DIFFERS 2026/03/02/h/file: a symlink in the manifest, not one on the disc",
                "MISSING 2026/03/02/h/gone: in the manifest, not on the disc",
            ]
        );
        assert!(
            items.is_empty(),
            "the file where a link was is not restored"
        );
    }

    #[test]
    fn split_names_as_cedar_makes_them() {
        assert_eq!(split_part(b"a.tar.gz_00000"), Some((&b"a.tar.gz"[..], 0)));
        assert_eq!(
            split_part(b"a.tar.gz.gpg_00012"),
            Some((&b"a.tar.gz.gpg"[..], 12))
        );
        assert_eq!(split_part(b"a_0001"), None);
        assert_eq!(split_part(b"_00001"), None);
        assert_eq!(split_part(b"a_0000\xb9"), None);
        // Names that are not UTF-8 keep their bytes: two that differ in
        // one are two items.
        assert_eq!(split_part(b"x\xe9_00001"), Some((&b"x\xe9"[..], 1)));
        assert_ne!(
            item_of(b"x\xe9_00000", false),
            item_of(b"x\xe8_00000", false)
        );
        assert_eq!(item_of(b"x\xe9_00000", true), (&b"x\xe9_00000"[..], 0));
    }

    #[test]
    fn options_in_getopt_style() {
        let a = parse(&["-d", "x.iso", "--session=32", "-x", "2026-03-02", "/t"]).unwrap();
        assert_eq!(
            (a.device, a.session, a.unpack),
            (Some("x.iso"), Some(32), true)
        );
        assert_eq!(a.words, ["2026-03-02", "/t"]);
        assert!(parse(&["-q"]).unwrap_err().contains("unknown option"));
        assert!(parse(&["-d"]).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn target_failures_are_failed_and_archive_damage_damaged() {
        let d = tempfile::tempdir().unwrap();
        let opts = Opts {
            unpack: true,
            raw: false,
        };
        // The target cannot hold a staging directory: the disc is fine.
        let file = d.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let e = finish(&mut &[0u8; 1024][..], b"a.tar", None, &file, &opts, || {
            Ok(())
        })
        .unwrap_err();
        assert!(e.line("d/a.tar").starts_with("FAILED d/a.tar: "), "{e:?}");
        // An archive cut short is damage.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path("f").unwrap();
        h.set_size(4096);
        h.set_cksum();
        b.append(&h, &[0u8; 4096][..]).unwrap();
        let data = b.into_inner().unwrap();
        let t = d.path().join("t");
        let e = finish(&mut &data[..1000], b"a.tar", None, &t, &opts, || Ok(())).unwrap_err();
        assert!(e.line("d/a.tar").starts_with("DAMAGED d/a.tar: "), "{e:?}");
        // A commit's Partial is told even while the interrupt is set: only
        // a read stopped by it is not.
        let mut r = Restored::default();
        r.tally(Err("FAILED x: could not put back".into()), false);
        r.tally(Err("DAMAGED y: interrupted".into()), true);
        assert_eq!(r.lines, ["FAILED x: could not put back"]);
        assert!(r.interrupted);
    }

    #[test]
    fn disc_paths_that_cannot_be_joined_below_the_target_are_refused() {
        assert_eq!(disc_path_problem(b"host1/etc.tar.gz"), None);
        for bad in [
            &b"/etc/passwd"[..],
            b"../x",
            b"host1/../../x",
            b"host1/..",
            b"",
            b"host1//x",
            b"./x",
            b"host1/.",
            b"host1/x\0",
        ] {
            assert!(
                disc_path_problem(bad).is_some(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
