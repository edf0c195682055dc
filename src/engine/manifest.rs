//! `cback.manifest`: the small text file cedar writes into each day
//! directory on the disc, so that a disc can prove years later, without
//! the staging directory, that every file of the day is still as it was
//! written (`cback verify`, `cback restore`).
//!
//! The format is line-oriented UTF-8 text, one record per line:
//!
//! ```text
//! cedar-manifest 1
//! day 2026-03-02
//! host backup1
//! cedar 0.1.0
//! file 12 3c0f…(64 hex digits)… host1/etc/hosts
//! file 0 e3b0…(64 hex digits)… host1/empty
//! link host1/latest f0.tar.gz
//! checksum sha256 9a1f…(64 hex digits)…
//! ```
//!
//! - the first line names the format and its version (`1`);
//! - `day`, `host` and `cedar` say which day it is, which machine wrote
//!   it and which cedar;
//! - one `file SIZE SHA256 PATH` line per regular file of the day, the path
//!   relative to the day directory, `/`-separated, sorted by bytes; bytes
//!   outside `!`..`~` and `%` itself are written `%XX` (hex), so a line
//!   never holds a space or a newline inside a field;
//! - one `link PATH TARGET` line per symbolic link of the day (a `cback
//!   span` disc holds the staging tree as it is), its target text escaped
//!   the same way, sorted by path after the files (manifests written before
//!   these records existed have none: their links are readable only);
//! - the last line is the SHA-256 of every byte before it.
//!
//! Readers ignore unknown record kinds before the checksum line, so later
//! versions can add records. The manifest never lists itself.
//!
//! ```
//! use cedar::engine::manifest::{FileRecord, LinkRecord, Manifest};
//!
//! let m = Manifest {
//!     day: "2026-03-02".into(),
//!     host: "backup1".into(),
//!     cedar: "0.1.0".into(),
//!     files: vec![FileRecord { path: b"host1/etc/hosts".to_vec(), size: 3, sha256: [7; 32] }],
//!     links: vec![LinkRecord { path: b"host1/latest".to_vec(), target: b"etc/hosts".to_vec() }],
//! };
//! let text = m.encode();
//! assert_eq!(Manifest::decode(&text)?, m);
//! # Ok::<(), cedar::engine::manifest::ManifestError>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

use iso9660::{FileData, Metadata, NodeId, NodeKind, Tree};
use sha2::{Digest, Sha256};

/// The manifest's file name in each day directory.
pub const MANIFEST_NAME: &str = "cback.manifest";

/// The format line (with its version).
const MAGIC: &str = "cedar-manifest 1";

/// One regular file of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Path below the day directory, `/`-separated.
    pub path: Vec<u8>,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the contents.
    pub sha256: [u8; 32],
}

/// One symbolic link of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    /// Path below the day directory, `/`-separated.
    pub path: Vec<u8>,
    /// The link's target text, as recorded (never followed).
    pub target: Vec<u8>,
}

/// A decoded (or to be written) manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Host name of the machine that wrote the disc.
    pub host: String,
    /// cedar's version.
    pub cedar: String,
    /// Every regular file of the day, sorted by path.
    pub files: Vec<FileRecord>,
    /// Every symbolic link of the day, sorted by path.
    pub links: Vec<LinkRecord>,
}

/// Why a manifest could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The text is not a manifest of a known version, or a line is malformed.
    #[error("line {line}: {why}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// The checksum line does not match the rest: the manifest itself is
    /// damaged.
    #[error("the manifest's checksum does not match its contents")]
    Checksum,
    /// A staged file could not be read while hashing.
    #[error("{}", path.display())]
    Read {
        /// The host file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The image tree has no directory at the day's disc path.
    #[error("no directory /{0} in the image")]
    NoDay(String),
    /// The manifest could not be added to the image tree.
    #[error("adding {path}")]
    Tree {
        /// Disc path of the manifest.
        path: String,
        /// What the tree said.
        #[source]
        source: iso9660::Error,
    },
}

/// `%XX`-escapes bytes outside `!`..`~` and `%`.
pub fn escape(path: &[u8]) -> String {
    let mut s = String::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_graphic() && b != b'%' {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Undoes [`escape`]; None on a malformed escape.
pub fn unescape(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

impl Manifest {
    /// The manifest's bytes, checksum line included.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!(
            "{MAGIC}\nday {}\nhost {}\ncedar {}\n",
            escape(self.day.as_bytes()),
            escape(self.host.as_bytes()),
            escape(self.cedar.as_bytes())
        );
        for f in &self.files {
            s.push_str(&format!(
                "file {} {} {}\n",
                f.size,
                hex::encode(f.sha256),
                escape(&f.path)
            ));
        }
        for l in &self.links {
            s.push_str(&format!("link {} {}\n", escape(&l.path), escape(&l.target)));
        }
        let sum = sha256_hex(s.as_bytes());
        s.push_str(&format!("checksum sha256 {sum}\n"));
        s.into_bytes()
    }

    /// Reads a manifest, checking its version and its checksum first.
    pub fn decode(data: &[u8]) -> Result<Manifest, ManifestError> {
        let bad = |line: usize, why: &str| ManifestError::Malformed {
            line,
            why: why.to_string(),
        };
        let text = std::str::from_utf8(data).map_err(|_| bad(0, "not UTF-8 text"))?;
        let body_end = text
            .trim_end_matches('\n')
            .rfind('\n')
            .map(|i| i + 1)
            .ok_or_else(|| bad(1, "no checksum line"))?;
        let (body, last) = text.split_at(body_end);
        let lines = body.lines().count();
        let sum = last
            .trim_end_matches('\n')
            .strip_prefix("checksum sha256 ")
            .ok_or_else(|| bad(lines + 1, "the last line is not \"checksum sha256 HEX\""))?;
        if !body.starts_with(&format!("{MAGIC}\n")) {
            return Err(bad(1, &format!("not {MAGIC:?}")));
        }
        if sum != sha256_hex(body.as_bytes()) {
            return Err(ManifestError::Checksum);
        }
        let field = |n: usize, v: &str| {
            unescape(v)
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| bad(n, "malformed %XX escape"))
        };
        let mut m = Manifest {
            day: String::new(),
            host: String::new(),
            cedar: String::new(),
            files: Vec::new(),
            links: Vec::new(),
        };
        for (i, line) in body.lines().enumerate().skip(1) {
            let n = i + 1;
            let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
            match kind {
                "day" => m.day = field(n, rest)?,
                "host" => m.host = field(n, rest)?,
                "cedar" => m.cedar = field(n, rest)?,
                "file" => {
                    let mut it = rest.split(' ');
                    let (Some(size), Some(sum), Some(path), None) =
                        (it.next(), it.next(), it.next(), it.next())
                    else {
                        return Err(bad(n, "not \"file SIZE SHA256 PATH\""));
                    };
                    let size = size.parse().map_err(|_| bad(n, "size is not a number"))?;
                    let mut sha256 = [0u8; 32];
                    hex::decode_to_slice(sum, &mut sha256)
                        .map_err(|_| bad(n, "SHA-256 is not 64 hex digits"))?;
                    let path = unescape(path).ok_or_else(|| bad(n, "malformed %XX escape"))?;
                    if path.is_empty() {
                        return Err(bad(n, "empty path"));
                    }
                    m.files.push(FileRecord { path, size, sha256 });
                }
                "link" => {
                    let mut it = rest.split(' ');
                    let (Some(path), Some(target), None) = (it.next(), it.next(), it.next()) else {
                        return Err(bad(n, "not \"link PATH TARGET\""));
                    };
                    let path = unescape(path).ok_or_else(|| bad(n, "malformed %XX escape"))?;
                    let target = unescape(target).ok_or_else(|| bad(n, "malformed %XX escape"))?;
                    if path.is_empty() || target.is_empty() {
                        return Err(bad(n, "empty path or target"));
                    }
                    m.links.push(LinkRecord { path, target });
                }
                _ => {}
            }
        }
        // Looked up by binary search.
        m.files.sort_by(|a, b| a.path.cmp(&b.path));
        m.links.sort_by(|a, b| a.path.cmp(&b.path));
        if m.day.is_empty() {
            return Err(bad(2, "no day line"));
        }
        Ok(m)
    }

    /// The record of `path`, if listed.
    pub fn file(&self, path: &[u8]) -> Option<&FileRecord> {
        self.files
            .binary_search_by(|f| f.path.as_slice().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }

    /// The link record of `path`, if listed.
    pub fn link(&self, path: &[u8]) -> Option<&LinkRecord> {
        self.links
            .binary_search_by(|l| l.path.as_slice().cmp(path))
            .ok()
            .map(|i| &self.links[i])
    }
}

/// SHA-256 and size of everything `r` yields, read in 1 MiB pieces.
pub fn hash_reader(mut r: impl Read) -> std::io::Result<(u64, [u8; 32])> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                h.update(&buf[..k]);
                n += k as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((n, h.finalize().into()))
}

/// This machine's host name (`localhost` when it has none).
pub fn host_name() -> String {
    nix::sys::utsname::uname()
        .ok()
        .and_then(|u| u.nodename().to_str().map(str::to_string))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Finds the directory at `disc_dir` (slash-separated) in `tree`.
fn find_dir(tree: &Tree, disc_dir: &[u8]) -> Option<NodeId> {
    let mut cur = tree.root();
    for comp in disc_dir.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
        cur = tree.child(cur, comp)?;
    }
    matches!(tree.node(cur).kind, NodeKind::Directory(_)).then_some(cur)
}

/// Every entry below directory `dir`, by its `/`-separated path relative
/// to `dir` (directories included, in no particular order).
fn entries_below(tree: &Tree, dir: NodeId) -> Vec<(Vec<u8>, NodeId)> {
    let mut out = Vec::new();
    let mut stack = vec![(Vec::new(), dir)];
    while let Some((prefix, id)) = stack.pop() {
        for (name, child) in tree.children(id) {
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            if matches!(tree.node(child).kind, NodeKind::Directory(_)) {
                stack.push((path.clone(), child));
            }
            out.push((path, child));
        }
    }
    out
}

/// The most bytes a manifest of a day can take, from the day's entries
/// (each the length of its path below the day and of its symlink target,
/// 0 for others): the header lines plus one record per entry with every
/// byte `%XX`-escaped. A larger size recorded on a disc is damage, refused
/// before the manifest is read into memory.
pub fn size_bound(entries: impl IntoIterator<Item = (usize, usize)>) -> u64 {
    let lines: u64 = entries
        .into_iter()
        .map(|(path, target)| 100 + 3 * (path as u64 + target as u64))
        .sum();
    4096 + lines
}

/// [`size_bound`] of the day at `disc_dir` in `tree` (None: no such
/// directory).
pub fn size_bound_in_tree(tree: &Tree, disc_dir: &str) -> Option<u64> {
    let dir = find_dir(tree, disc_dir.as_bytes())?;
    Some(size_bound(entries_below(tree, dir).into_iter().map(
        |(path, id)| match &tree.node(id).kind {
            NodeKind::Symlink(t) => (path.len(), t.len()),
            _ => (path.len(), 0),
        },
    )))
}

/// The host file behind a tree node, if it is a regular file from a host.
fn host_path(kind: &NodeKind) -> Option<&Path> {
    match kind {
        NodeKind::File {
            data: FileData::Path(p) | FileData::Scanned { path: p, .. },
            ..
        } => Some(p),
        _ => None,
    }
}

/// A day's `cback.manifest` as it was on the disc before this session
/// (imported with the previous session), as the caller read it: decoded,
/// or why it could not be (unreadable, damaged).
pub type OldManifest = Result<Manifest, String>;

/// Makes the manifest of the day at `disc_dir` in `tree` (every regular
/// file below it, each host file read once) and adds it there as
/// `cback.manifest`, held in memory: nothing is written to the host.
/// `day` is `YYYY-MM-DD`. store and rebuild call it for each day of the
/// session, after the grafts; span can call it on its own trees.
///
/// A day stored again merges with its imported old self: `old` is the
/// manifest the day held on the disc (None: it held none, or nothing was
/// imported). Files of this session are hashed; files and symlinks
/// carried over from the disc take their records from `old` when it lists
/// them (a file at the size imported); the rest of them are left out
/// (readable only) and logged.
///
/// Returns the manifest, or None when the day already holds a
/// `cback.manifest` that this session brings (one restored into staging
/// and stored again, or one added by an earlier call), which is then kept
/// as it is. One imported from the disc is replaced.
pub fn add_to_tree(
    tree: &mut Tree,
    disc_dir: &str,
    day: &str,
    meta: Metadata,
    old: Option<&OldManifest>,
) -> Result<Option<Manifest>, ManifestError> {
    add(tree, disc_dir, day, meta, old, true)
}

/// [`add_to_tree`] without reading any host file: each file's size is the
/// tree's and its SHA-256 zeros, so the manifest added is exactly as long
/// as the real one. For estimates of the image (the blank factor), never
/// for a tree that is written.
pub fn add_sized_to_tree(
    tree: &mut Tree,
    disc_dir: &str,
    day: &str,
    meta: Metadata,
    old: Option<&OldManifest>,
) -> Result<Option<Manifest>, ManifestError> {
    add(tree, disc_dir, day, meta, old, false)
}

/// The record `old` holds for an imported file of `size` bytes at `path`,
/// or why there is none.
fn carried_file(old: Option<&OldManifest>, path: &[u8], size: u64) -> Result<FileRecord, String> {
    let m = match old {
        None => return Err("the day had no manifest on the disc".into()),
        Some(Err(why)) => return Err(format!("the day's manifest on the disc is unusable: {why}")),
        Some(Ok(m)) => m,
    };
    match m.file(path) {
        None => Err("the day's manifest on the disc does not list it".into()),
        Some(r) => {
            // The imported record's size decayed (or was changed) since the
            // day was written: the old record keeps that visible to verify.
            if r.size != size {
                log::warn!(
                    "/{}: {size} bytes on the disc, {} in the day's manifest there: the \
                     manifest's record is kept",
                    String::from_utf8_lossy(path),
                    r.size
                );
            }
            Ok(r.clone())
        }
    }
}

/// The record `old` holds for an imported symlink at `path`, or why there
/// is none.
fn carried_link(old: Option<&OldManifest>, path: &[u8]) -> Result<LinkRecord, String> {
    match old {
        None => Err("the day had no manifest on the disc".into()),
        Some(Err(why)) => Err(format!("the day's manifest on the disc is unusable: {why}")),
        Some(Ok(m)) => m
            .link(path)
            .cloned()
            .ok_or_else(|| "the day's manifest on the disc does not list it".into()),
    }
}

fn add(
    tree: &mut Tree,
    disc_dir: &str,
    day: &str,
    meta: Metadata,
    old: Option<&OldManifest>,
    read: bool,
) -> Result<Option<Manifest>, ManifestError> {
    let dir =
        find_dir(tree, disc_dir.as_bytes()).ok_or_else(|| ManifestError::NoDay(disc_dir.into()))?;
    if let Some(id) = tree.child(dir, MANIFEST_NAME.as_bytes()) {
        if !tree.node(id).is_imported() {
            return Ok(None);
        }
    }
    let mut files = Vec::new();
    let mut links = Vec::new();
    // Entries carried over from the disc that no record vouches for.
    let mut left_out = Vec::new();
    for (path, child) in entries_below(tree, dir) {
        if path == MANIFEST_NAME.as_bytes() {
            // The disc's old one, replaced below.
            continue;
        }
        let node = tree.node(child);
        let target = match &node.kind {
            NodeKind::HardLink(t) => tree.node(*t),
            _ => node,
        };
        match &target.kind {
            NodeKind::File { data, size } => {
                let (size, sha256) = match (host_path(&target.kind), data) {
                    (Some(_), _) if !read => (*size, [0; 32]),
                    (Some(p), _) => {
                        let f =
                            iso9660::open_regular(p, None).map_err(|e| ManifestError::Read {
                                path: p.to_path_buf(),
                                source: std::io::Error::other(e),
                            })?;
                        hash_reader(f).map_err(|source| ManifestError::Read {
                            path: p.to_path_buf(),
                            source,
                        })?
                    }
                    (None, FileData::Bytes(b)) => (b.len() as u64, Sha256::digest(b).into()),
                    (None, FileData::Extents(_)) => {
                        match carried_file(old, &path, *size) {
                            Ok(rec) => files.push(rec),
                            Err(why) => left_out.push((path, why)),
                        }
                        continue;
                    }
                    // Streamed data is not the day's own.
                    _ => {
                        log::debug!("manifest: {} left out", String::from_utf8_lossy(&path));
                        continue;
                    }
                };
                files.push(FileRecord { path, size, sha256 });
            }
            NodeKind::Symlink(_) if node.is_imported() => match carried_link(old, &path) {
                Ok(rec) => links.push(rec),
                Err(why) => left_out.push((path, why)),
            },
            NodeKind::Symlink(to) => links.push(LinkRecord {
                path,
                target: to.clone(),
            }),
            _ => {}
        }
    }
    log_left_out(disc_dir, old, &mut left_out);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    links.sort_by(|a, b| a.path.cmp(&b.path));
    let m = Manifest {
        day: day.to_string(),
        host: host_name(),
        cedar: env!("CARGO_PKG_VERSION").to_string(),
        files,
        links,
    };
    let bytes = m.encode();
    let size = bytes.len() as u64;
    let path = format!("{}/{MANIFEST_NAME}", disc_dir.trim_end_matches('/'));
    tree.add_file(path.as_bytes(), meta, FileData::Bytes(bytes), size)
        .map_err(|source| ManifestError::Tree { path, source })?;
    Ok(Some(m))
}

/// Says which entries carried over from the disc the new manifest of
/// `disc_dir` leaves out: one line when the day had no readable manifest
/// there (info when it had none, a warning when it was damaged), else a
/// warning per entry its old manifest does not vouch for.
fn log_left_out(disc_dir: &str, old: Option<&OldManifest>, left_out: &mut [(Vec<u8>, String)]) {
    if left_out.is_empty() {
        return;
    }
    left_out.sort();
    let day = disc_dir.trim_matches('/');
    let n = match left_out.len() {
        1 => "entry".to_string(),
        n => format!("{n} entries"),
    };
    match old {
        None => log::info!(
            "/{day} had no {MANIFEST_NAME} on the disc: the day's {n} from the disc left out \
             of the new one (readable only)."
        ),
        Some(Err(why)) => log::warn!(
            "/{day}/{MANIFEST_NAME} on the disc is unusable ({why}): the day's {n} from the \
             disc left out of the new one (readable only)."
        ),
        Some(Ok(_)) => {
            for (path, why) in left_out.iter() {
                log::warn!(
                    "/{day}/{}: left out of the new {MANIFEST_NAME} ({why}).",
                    String::from_utf8_lossy(path)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            day: "2026-03-02".into(),
            host: "back up".into(),
            cedar: "0.1.0".into(),
            files: vec![
                FileRecord {
                    path: b"a/b c%\n\xff".to_vec(),
                    size: 5,
                    sha256: [1; 32],
                },
                FileRecord {
                    path: b"z".to_vec(),
                    size: 0,
                    sha256: [2; 32],
                },
            ],
            links: vec![
                LinkRecord {
                    path: b"a/latest".to_vec(),
                    target: b"../z".to_vec(),
                },
                LinkRecord {
                    path: b"odd link".to_vec(),
                    target: b"to a b%".to_vec(),
                },
            ],
        }
    }

    #[test]
    fn encodes_and_decodes_both_ways() {
        let m = sample();
        let t = m.encode();
        let s = String::from_utf8(t.clone()).unwrap();
        assert!(s.starts_with("cedar-manifest 1\nday 2026-03-02\nhost back%20up\n"));
        assert!(s.contains("file 5 0101"));
        assert!(s.contains(" a/b%20c%25%0A%FF\n"));
        assert!(s.contains("\nlink a/latest ../z\nlink odd%20link to%20a%20b%25\nchecksum "));
        assert_eq!(Manifest::decode(&t).unwrap(), m);
        assert_eq!(m.file(b"z").unwrap().size, 0);
        assert!(m.file(b"y").is_none());
        assert_eq!(m.link(b"odd link").unwrap().target, b"to a b%");
        assert!(m.link(b"z").is_none());
    }

    #[test]
    fn any_changed_byte_is_found() {
        let t = sample().encode();
        for i in 0..t.len() {
            let mut d = t.clone();
            d[i] ^= 0x01;
            assert!(Manifest::decode(&d).is_err(), "byte {i} flipped");
        }
        assert!(matches!(
            Manifest::decode(&t[..t.len() - 3]),
            Err(ManifestError::Checksum | ManifestError::Malformed { .. })
        ));
    }

    #[test]
    fn unknown_records_are_skipped_and_bad_lines_named() {
        let body = "cedar-manifest 1\nday 2026-03-02\nfuture x y\n";
        let text = format!("{body}checksum sha256 {}\n", sha256_hex(body.as_bytes()));
        assert_eq!(Manifest::decode(text.as_bytes()).unwrap().day, "2026-03-02");
        let body = "cedar-manifest 1\nday 2026-03-02\nfile 1 zz p\n";
        let text = format!("{body}checksum sha256 {}\n", sha256_hex(body.as_bytes()));
        let e = Manifest::decode(text.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with("line 3:"), "{e}");
        let body = "cedar-manifest 1\nday 2026-03-02\nlink only-a-path\n";
        let text = format!("{body}checksum sha256 {}\n", sha256_hex(body.as_bytes()));
        let e = Manifest::decode(text.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with("line 3: not \"link PATH TARGET\""), "{e}");
        let body = "cedar-manifest 2\nday 2026-03-02\n";
        let text = format!("{body}checksum sha256 {}\n", sha256_hex(body.as_bytes()));
        assert!(Manifest::decode(text.as_bytes()).is_err());
    }

    #[test]
    fn the_tree_gets_the_days_files_and_staging_is_untouched() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("host1/etc")).unwrap();
        std::fs::write(d.path().join("host1/etc/hosts"), b"abc").unwrap();
        std::fs::write(d.path().join("cback.stage"), b"").unwrap();
        std::os::unix::fs::symlink("etc/hosts", d.path().join("host1/latest")).unwrap();
        let mut b = crate::engine::image::ImageBuilder::new(iso9660::Options::default());
        b.graft(&iso9660::GraftPoint {
            disc: b"2026/03/02".to_vec(),
            host: d.path().into(),
        })
        .unwrap();
        let m = add_to_tree(
            b.tree_mut(),
            "2026/03/02",
            "2026-03-02",
            Metadata::default(),
            None,
        )
        .unwrap()
        .unwrap();
        let paths: Vec<_> = m.files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(
            paths,
            vec![b"cback.stage".to_vec(), b"host1/etc/hosts".to_vec()]
        );
        assert_eq!(m.files[1].sha256, <[u8; 32]>::from(Sha256::digest(b"abc")));
        assert_eq!(
            m.links,
            [LinkRecord {
                path: b"host1/latest".to_vec(),
                target: b"etc/hosts".to_vec()
            }]
        );
        assert!(!d.path().join(MANIFEST_NAME).exists());
        // A second call keeps the first.
        assert!(add_to_tree(
            b.tree_mut(),
            "2026/03/02",
            "2026-03-02",
            Metadata::default(),
            None
        )
        .unwrap()
        .is_none());
        assert!(matches!(
            add_to_tree(b.tree_mut(), "2026/03/03", "x", Metadata::default(), None),
            Err(ManifestError::NoDay(_))
        ));
        b.plan().unwrap();
    }

    /// A day of `a`, `b` and symlink `l` in a first session (its manifest
    /// added), then imported with only a changed `a` grafted over it; the
    /// new manifest made with `old` (None: the day brings a manifest of its
    /// own, restored into staging with `a`, which is kept).
    fn stored_again(old: Option<&OldManifest>, staged: bool) -> (Manifest, Option<Manifest>) {
        let opts = |start| iso9660::Options {
            volume_id: "T".into(),
            rock_ridge: Some(iso9660::RockRidge::Rationalized),
            start_lba: start,
            ..iso9660::Options::default()
        };
        let graft = |host: &Path| iso9660::GraftPoint {
            disc: b"2026/03/02".to_vec(),
            host: host.into(),
        };
        let d1 = tempfile::tempdir().unwrap();
        std::fs::write(d1.path().join("a"), b"one").unwrap();
        std::fs::write(d1.path().join("b"), b"kept").unwrap();
        std::os::unix::fs::symlink("b", d1.path().join("l")).unwrap();
        let mut b1 = crate::engine::image::ImageBuilder::new(opts(0));
        b1.graft(&graft(d1.path())).unwrap();
        let meta = Metadata::default();
        let first = add_to_tree(b1.tree_mut(), "2026/03/02", "2026-03-02", meta, None)
            .unwrap()
            .unwrap();
        let mut l1 = b1.plan().unwrap();
        let mut img = Vec::new();
        l1.write(&mut img, &mut ()).unwrap();

        let d2 = tempfile::tempdir().unwrap();
        std::fs::write(d2.path().join("a"), b"changed").unwrap();
        if staged {
            std::fs::write(d2.path().join(MANIFEST_NAME), first.encode()).unwrap();
        }
        let mut b2 = crate::engine::image::ImageBuilder::new(opts(l1.sectors()));
        b2.import(iso9660::ReadSeekSource(std::io::Cursor::new(img)), 0)
            .unwrap();
        b2.graft(&graft(d2.path())).unwrap();
        let again = add_to_tree(b2.tree_mut(), "2026/03/02", "2026-03-02", meta, old).unwrap();
        b2.plan().unwrap();
        (first, again)
    }

    #[test]
    fn a_day_stored_again_keeps_the_records_of_what_it_carries_over() {
        let paths =
            |m: &Manifest| -> Vec<Vec<u8>> { m.files.iter().map(|f| f.path.clone()).collect() };
        // The old records of b and l; a hashed anew.
        let (first, _) = stored_again(None, false);
        let (_, m) = stored_again(Some(&Ok(first.clone())), false);
        let m = m.expect("the imported manifest is replaced");
        assert_eq!(paths(&m), [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(
            m.files[0].sha256,
            <[u8; 32]>::from(Sha256::digest(b"changed"))
        );
        assert_eq!(m.file(b"b"), first.file(b"b"));
        assert_eq!(m.links, first.links);
        // The records are the old manifest's, not made from the disc: a
        // record the disc disagrees with in size is kept as recorded (so
        // verify names the difference), a link's target is the recorded one.
        let mut odd = first.clone();
        odd.files.retain(|f| f.path != b"a");
        odd.files[0].size = 5;
        odd.links[0].target = b"elsewhere".to_vec();
        let m = stored_again(Some(&Ok(odd.clone())), false).1.unwrap();
        assert_eq!(paths(&m), [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(m.file(b"b"), odd.file(b"b"));
        assert_eq!(m.links, odd.links);
        // An old manifest that lacks them, is damaged or was never there:
        // only a.
        let mut bare = first.clone();
        bare.files.clear();
        bare.links.clear();
        let damaged = Err("the manifest's checksum does not match its contents".to_string());
        for old in [Some(&Ok(bare)), Some(&damaged), None] {
            let m = stored_again(old, false).1.unwrap();
            assert_eq!(paths(&m), [b"a".to_vec()]);
            assert!(m.links.is_empty());
        }
        // A manifest the day brings from staging is kept as it is.
        assert!(stored_again(Some(&Ok(first)), true).1.is_none());
    }
}
