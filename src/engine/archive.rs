//! Streaming GNU tar archives (plain, gzip -9 or bzip2 -9) as Cedar's
//! `BackupFileList.generateTarfile` produces them: one member per listed
//! path, names without the leading `/`, symlinks stored as links, a second
//! path to an inode already in the archive stored as a hard link, the end
//! padded to a 10240-byte record like GNU tar and Python's `tarfile`.
//! Beyond Cedar, [`TarWriter::add_dir`] writes a directory's own member
//! (its name ending in `/`, no contents, as `tar -c --no-recursion`
//! writes it), so that a restore gets the directory's mode, owner and mtime.
//!
//! File data is streamed (constant memory) and hashed with SHA-1 in the same
//! read; gzip and bzip2 run on every core ([`super::compress`]). A file
//! that changes size or mtime while being read is reported as a warning;
//! its member keeps the size announced in its header (padded with zeros or
//! cut), so the archive always stays valid.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};
use tar::{EntryType, Header};

use super::compress::{Bzip2Writer, GzipWriter};
use crate::config::ArchiveMode;

const BLOCK: u64 = 512;
const RECORD: u64 = 10240;

/// The file extension Cedar gives each archive mode.
pub fn extension(mode: ArchiveMode) -> &'static str {
    match mode {
        ArchiveMode::Tar => "tar",
        ArchiveMode::Targz => "tar.gz",
        ArchiveMode::Tarbz2 => "tar.bz2",
    }
}

enum Sink {
    Plain(BufWriter<File>),
    Gz(GzipWriter<BufWriter<File>>),
    Bz(Bzip2Writer<BufWriter<File>>),
}

/// Counts bytes on their way into the (possibly compressing) sink.
struct Counting {
    sink: Sink,
    offset: u64,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.sink {
            Sink::Plain(w) => w.write(buf)?,
            Sink::Gz(w) => w.write(buf)?,
            Sink::Bz(w) => w.write(buf)?,
        };
        self.offset += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.flush(),
            Sink::Gz(w) => w.flush(),
            Sink::Bz(w) => w.flush(),
        }
    }
}

/// What happened to one path offered to the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// A regular file, with the SHA-1 of the bytes archived when they are
    /// the file's whole, unchanged content (`None` when it changed while
    /// being read: it must not count as backed up for incremental runs).
    File {
        /// Bytes of data.
        size: u64,
        /// Digest of a consistent read.
        digest: Option<String>,
    },
    /// A symlink (no data, no digest). A hard link to an earlier member is
    /// reported as a [`Added::File`] of size 0 with that member's digest.
    Link,
    /// A directory's own member (its contents are members of their own).
    Directory,
    /// Not archived: the path vanished or could not be read (already logged).
    Skipped,
}

/// Reads exactly `len` bytes from a file, hashing them; zero-fills a file
/// that shrank and ignores growth (both are noted).
struct ExactReader<'a> {
    file: &'a mut File,
    remaining: u64,
    hasher: Sha1,
    short: bool,
    progress: &'a indicatif::ProgressBar,
}

impl Read for ExactReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = if self.short {
            0
        } else {
            loop {
                match self.file.read(&mut buf[..want]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r?,
                }
            }
        };
        let n = if n == 0 {
            self.short = true;
            buf[..want].fill(0);
            want
        } else {
            self.hasher.update(&buf[..n]);
            n
        };
        self.remaining -= n as u64;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

/// SHA-1 of a whole file, read in one pass.
pub fn file_digest(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// The name of user or group `id`, looked up once per archive (NSS lookups
/// are slow and every member needs both); unknown ids get an empty name.
fn cached_name(
    cache: &mut HashMap<u32, String>,
    id: u32,
    lookup: impl FnOnce(u32) -> Option<String>,
) -> &str {
    cache
        .entry(id)
        .or_insert_with(|| lookup(id).unwrap_or_default())
}

/// A tar archive being written to `path`.
pub struct TarWriter {
    path: PathBuf,
    builder: tar::Builder<Counting>,
    inodes: HashMap<(u64, u64), (Vec<u8>, Option<String>)>,
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
    members: usize,
}

impl TarWriter {
    /// Creates (truncates) the archive file.
    pub fn create(path: &Path, mode: ArchiveMode) -> io::Result<TarWriter> {
        TarWriter::new(File::create(path)?, path, mode)
    }

    /// Writes the archive into `file`, already open at `path`.
    pub fn new(file: File, path: &Path, mode: ArchiveMode) -> io::Result<TarWriter> {
        let file = BufWriter::with_capacity(256 * 1024, file);
        let sink = match mode {
            ArchiveMode::Tar => Sink::Plain(file),
            ArchiveMode::Targz => Sink::Gz(GzipWriter::new(file)),
            ArchiveMode::Tarbz2 => Sink::Bz(Bzip2Writer::new(file)),
        };
        let mut builder = tar::Builder::new(Counting { sink, offset: 0 });
        builder.mode(tar::HeaderMode::Complete);
        Ok(TarWriter {
            path: path.to_path_buf(),
            builder,
            inodes: HashMap::new(),
            users: HashMap::new(),
            groups: HashMap::new(),
            members: 0,
        })
    }

    /// Members written so far.
    pub fn members(&self) -> usize {
        self.members
    }

    fn header(&mut self, meta: &std::fs::Metadata, kind: EntryType, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(meta.mode() & 0o7777);
        h.set_uid(u64::from(meta.uid()));
        h.set_gid(u64::from(meta.gid()));
        h.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
        h.set_size(size);
        let uname = cached_name(&mut self.users, meta.uid(), |id| {
            nix::unistd::User::from_uid(id.into())
                .ok()
                .flatten()
                .map(|u| u.name)
        });
        let _ = h.set_username(uname);
        let gname = cached_name(&mut self.groups, meta.gid(), |id| {
            nix::unistd::Group::from_gid(id.into())
                .ok()
                .flatten()
                .map(|g| g.name)
        });
        let _ = h.set_groupname(gname);
        h
    }

    /// Writes a GNU long-name ('L') or long-link ('K') extension entry.
    fn long_entry(&mut self, kind: u8, value: &[u8]) -> io::Result<()> {
        let mut h = Header::new_gnu();
        h.as_gnu_mut().expect("gnu header").name[..13].copy_from_slice(b"././@LongLink");
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(value.len() as u64 + 1);
        h.set_entry_type(EntryType::new(kind));
        h.set_cksum();
        self.builder.append(&h, value.chain(&[0u8][..]))
    }

    /// Finishes a header with its name (and link name) and writes it.
    fn write_header(
        &mut self,
        mut h: Header,
        name: &[u8],
        link: Option<&[u8]>,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        let gnu = h.as_gnu_mut().expect("gnu header");
        if name.len() > gnu.name.len() {
            let cut = gnu.name.len();
            gnu.name.copy_from_slice(&name[..cut]);
        } else {
            gnu.name[..name.len()].copy_from_slice(name);
        }
        if let Some(link) = link {
            if link.len() > gnu.linkname.len() {
                let cut = gnu.linkname.len();
                gnu.linkname.copy_from_slice(&link[..cut]);
            } else {
                gnu.linkname[..link.len()].copy_from_slice(link);
            }
        }
        h.set_cksum();
        if let Some(link) = link.filter(|l| l.len() > 100) {
            self.long_entry(b'K', link)?;
        }
        if name.len() > 100 {
            self.long_entry(b'L', name)?;
        }
        self.builder.append(&h, data)?;
        self.members += 1;
        Ok(())
    }

    /// Adds `path` (a regular file or a symlink) under its name without the
    /// leading `/`. I/O errors on the archive itself are returned; problems
    /// with the source file are logged and reported as [`Added::Skipped`].
    pub fn add(&mut self, path: &OsStr, progress: &indicatif::ProgressBar) -> io::Result<Added> {
        let shown = path.to_string_lossy();
        let name = member_name(path);
        let lmeta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => return Ok(skip_source(&shown, &e)),
        };
        if lmeta.file_type().is_symlink() {
            let target = match std::fs::read_link(path) {
                Ok(t) => t,
                Err(e) => return Ok(skip_source(&shown, &e)),
            };
            let h = self.header(&lmeta, EntryType::Symlink, 0);
            self.write_header(
                h,
                &name,
                Some(target.as_os_str().as_bytes()),
                &mut io::empty(),
            )?;
            return Ok(Added::Link);
        }
        if !lmeta.is_file() {
            log::info!("Unable to add file [{shown}]; it is not a regular file or link any more.");
            return Ok(Added::Skipped);
        }
        // Opened as the regular file just examined, never through a symlink
        // or a FIFO swapped in since (which could leak another file or block).
        let scanned = iso9660::FileId {
            dev: lmeta.dev(),
            ino: lmeta.ino(),
        };
        let file = match iso9660::open_regular(Path::new(path), Some(scanned)) {
            Ok(f) => f,
            Err(iso9660::Error::Host { source, .. }) => return Ok(skip_source(&shown, &source)),
            Err(e) => {
                log::info!("Unable to add file [{shown}]: {e}");
                return Ok(Added::Skipped);
            }
        };
        let meta = file.metadata()?;
        self.add_open_file(file, &meta, name, &shown, progress)
    }

    /// Adds the directory `path` itself, not its contents: a member named
    /// as in [`TarWriter::add`] with a trailing `/`, carrying the mode,
    /// owner, group and mtime of the directory `path` leads to (a symlink
    /// to a directory, followed by a walk, is stored as that directory).
    /// A path that is no directory (any more) is logged and skipped, as is
    /// `/` itself (a member with an empty name).
    pub fn add_dir(&mut self, path: &OsStr) -> io::Result<Added> {
        let shown = path.to_string_lossy();
        let mut name = member_name(path);
        if name.is_empty() {
            return Ok(Added::Skipped);
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return Ok(skip_source(&shown, &e)),
        };
        if !meta.is_dir() {
            log::info!("Unable to add directory [{shown}]; it is not a directory any more.");
            return Ok(Added::Skipped);
        }
        if name.last() != Some(&b'/') {
            name.push(b'/');
        }
        let h = self.header(&meta, EntryType::Directory, 0);
        self.write_header(h, &name, None, &mut io::empty())?;
        Ok(Added::Directory)
    }

    /// Archives an open regular file whose metadata was taken at open time.
    fn add_open_file(
        &mut self,
        mut file: File,
        meta: &std::fs::Metadata,
        name: Vec<u8>,
        shown: &str,
        progress: &indicatif::ProgressBar,
    ) -> io::Result<Added> {
        let key = (meta.dev(), meta.ino());
        if meta.nlink() > 1 {
            if let Some((first, digest)) = self.inodes.get(&key).cloned() {
                if first != name {
                    let h = self.header(meta, EntryType::Link, 0);
                    self.write_header(h, &name, Some(&first), &mut io::empty())?;
                    // same inode, same content: it counts as backed up too
                    return Ok(Added::File { size: 0, digest });
                }
            }
        }
        let size = meta.len();
        let h = self.header(meta, EntryType::Regular, size);
        let mut reader = ExactReader {
            file: &mut file,
            remaining: size,
            hasher: Sha1::new(),
            short: false,
            progress,
        };
        self.write_header(h, &name, None, &mut reader)?;
        let short = reader.short;
        let digest = hex::encode(reader.hasher.finalize());
        let mut extra = [0u8; 1];
        let grew = !short && matches!(file.read(&mut extra), Ok(n) if n > 0);
        let after = file.metadata().ok();
        let changed = after.is_none_or(|a| {
            a.mtime() != meta.mtime() || a.mtime_nsec() != meta.mtime_nsec() || a.len() != size
        });
        if short {
            log::warn!(
                "File [{shown}] shrank while being archived; its member was padded with zeros."
            );
        } else if grew {
            log::warn!("File [{shown}] grew while being archived; only its first {size} bytes were archived.");
        } else if changed {
            log::warn!(
                "File [{shown}] changed while being archived; its member may be inconsistent."
            );
        }
        let digest = (!(short || grew || changed)).then_some(digest);
        if meta.nlink() > 1 {
            self.inodes.insert(key, (name, digest.clone()));
        }
        Ok(Added::File { size, digest })
    }

    /// Writes the end-of-archive blocks, pads to a whole record, finishes the
    /// compressor and flushes the file to disk.
    pub fn finish(self) -> io::Result<()> {
        let mut counting = self.builder.into_inner()?;
        let rem = counting.offset % RECORD;
        if rem != 0 {
            let pad = vec![0u8; usize::try_from(RECORD - rem).unwrap_or(0)];
            counting.write_all(&pad)?;
        }
        debug_assert_eq!(counting.offset % BLOCK, 0);
        let file = match counting.sink {
            Sink::Plain(w) => w.into_inner().map_err(|e| e.into_error())?,
            Sink::Gz(w) => w.finish()?.into_inner().map_err(|e| e.into_error())?,
            Sink::Bz(w) => w.finish()?.into_inner().map_err(|e| e.into_error())?,
        };
        file.sync_all()
    }

    /// Removes a partly written archive after a fatal error.
    pub fn abandon(self) {
        let path = self.path.clone();
        drop(self);
        let _ = std::fs::remove_file(path);
    }
}

/// A path's member name: its bytes without the leading `/`s.
fn member_name(path: &OsStr) -> Vec<u8> {
    let b = path.as_bytes();
    let start = b.iter().position(|&c| c != b'/').unwrap_or(b.len());
    b[start..].to_vec()
}

fn skip_source(shown: &str, e: &io::Error) -> Added {
    if e.kind() == io::ErrorKind::NotFound {
        log::warn!("File [{shown}] vanished before it could be archived; skipped.");
    } else {
        log::error!("Unable to read [{shown}]: {e}; it is not in the archive.");
    }
    Added::Skipped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive_one(prepare: impl FnOnce(&Path)) -> (Added, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f");
        std::fs::write(&src, vec![7u8; 10_000]).unwrap();
        let file = File::open(&src).unwrap();
        let meta = file.metadata().unwrap();
        prepare(&src);
        let tar = dir.path().join("a.tar");
        let mut w = TarWriter::create(&tar, ArchiveMode::Tar).unwrap();
        let pb = indicatif::ProgressBar::hidden();
        let added = w
            .add_open_file(file, &meta, b"f".to_vec(), "f", &pb)
            .unwrap();
        w.finish().unwrap();
        let mut archive = tar::Archive::new(File::open(&tar).unwrap());
        let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        (added, data)
    }

    #[test]
    fn a_directory_member_carries_the_directory_itself() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("inside"), b"x").unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o750)).unwrap();
        let t = std::fs::FileTimes::new()
            .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_234_567));
        File::open(&d).unwrap().set_times(t).unwrap();
        let tar = dir.path().join("a.tar");
        let mut w = TarWriter::create(&tar, ArchiveMode::Tar).unwrap();
        assert_eq!(w.add_dir(d.as_os_str()).unwrap(), Added::Directory);
        assert_eq!(
            w.add_dir(d.join("inside").as_os_str()).unwrap(),
            Added::Skipped
        );
        assert_eq!(w.add_dir(OsStr::new("/")).unwrap(), Added::Skipped);
        assert_eq!(w.members(), 1);
        w.finish().unwrap();
        let mut archive = tar::Archive::new(File::open(&tar).unwrap());
        let entries: Vec<_> = archive.entries().unwrap().map(|e| e.unwrap()).collect();
        assert_eq!(entries.len(), 1, "not recursive");
        let h = entries[0].header();
        let mut want = member_name(d.as_os_str());
        want.push(b'/');
        assert_eq!(&*entries[0].path_bytes(), &want[..]);
        assert_eq!(h.entry_type(), EntryType::Directory);
        assert_eq!(
            (h.mode().unwrap(), h.mtime().unwrap(), h.size().unwrap()),
            (0o750, 1_234_567, 0)
        );
    }

    #[test]
    fn a_file_that_shrinks_while_read_is_zero_padded() {
        let (added, data) = archive_one(|p| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .unwrap()
                .set_len(100)
                .unwrap();
        });
        assert_eq!(
            added,
            Added::File {
                size: 10_000,
                digest: None
            }
        );
        assert_eq!(data.len(), 10_000);
        assert!(data[..100].iter().all(|&b| b == 7) && data[100..].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_file_that_grows_while_read_is_cut_at_its_announced_size() {
        let (added, data) = archive_one(|p| {
            let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
            f.write_all(&[9u8; 500]).unwrap();
        });
        assert_eq!(
            added,
            Added::File {
                size: 10_000,
                digest: None
            }
        );
        assert_eq!(data, vec![7u8; 10_000]);
    }

    #[test]
    fn a_file_rewritten_while_read_gets_no_digest() {
        let (added, data) = archive_one(|p| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            std::fs::write(p, vec![8u8; 10_000]).unwrap();
        });
        assert_eq!(
            added,
            Added::File {
                size: 10_000,
                digest: None
            }
        );
        assert_eq!(data.len(), 10_000);
    }

    #[test]
    fn an_unchanged_file_gets_the_digest_of_its_bytes() {
        let (added, _) = archive_one(|_| {});
        let want = hex::encode(Sha1::digest(vec![7u8; 10_000]));
        assert_eq!(
            added,
            Added::File {
                size: 10_000,
                digest: Some(want)
            }
        );
    }
}
