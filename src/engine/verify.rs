//! check_data without mount or root: the session just written is read back
//! through the drive ([`iso9660::Reader`] over
//! [`DiscSource`]) and the SHA-1 of every
//! staged file under a host directory is compared with the disc's copy under
//! a disc path (`/2026/12/01`). On overwritable media the descriptors at
//! LBA 16 must lead to the new tree too, since that is all that readers such
//! as bsdtar, pycdlib or the kernel without `session=` look at.
//!
//! Host and disc copies of a file are hashed at the same time (the host file
//! on a second thread), in bounded memory.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use iso9660::{EntryKind, Limits, Reader};
use mmc::Drive;
use sha1::{Digest, Sha1};

use crate::engine::burn::{lba16_leads_to, BurnReport};
use crate::engine::disc::{DiscError, DiscSource};

/// Read size for both copies.
const CHUNK: usize = 1 << 20;

/// What was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Regular files compared.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Directories found on both sides.
    pub directories: u64,
}

/// Why the disc does not hold what was staged; the first problem found.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A staged file or directory is not on the disc.
    #[error("{disc} (staged as {}) is missing from the disc", host.display())]
    Missing {
        /// The staged path.
        host: PathBuf,
        /// Where it should be on the disc.
        disc: String,
    },
    /// The disc copy differs from the staged one.
    #[error("{disc} on the disc differs from {}: {why}", host.display())]
    Differs {
        /// The staged path.
        host: PathBuf,
        /// The path on the disc.
        disc: String,
        /// How (size, checksum, kind).
        why: String,
    },
    /// A staged file could not be read.
    #[error("{}", path.display())]
    Host {
        /// The staged path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The session or a file could not be read back through the drive.
    #[error("reading {what} back from the disc")]
    Disc {
        /// What was being read.
        what: String,
        /// The reader's error (a drive read error is inside it).
        #[source]
        source: iso9660::Error,
    },
    /// The drive failed outside the file system reads.
    #[error(transparent)]
    Drive(#[from] DiscError),
    /// On an overwritable disc, LBA 16 does not describe the new volume.
    #[error("the descriptors at LBA 16 do not lead to the session at block {session_start} (volume end {volume_end})")]
    Lba16 {
        /// The new session's start.
        session_start: u32,
        /// The volume end it should record.
        volume_end: u32,
    },
}

/// Compares every file under `host_dir` with its copy under `disc_dir` in
/// the session `written` describes, read back through `drive`
/// ([`WrittenSession::check_dir`] of a session opened for it alone).
pub fn check_data(
    drive: &mut Drive,
    written: &BurnReport,
    host_dir: &Path,
    disc_dir: &str,
) -> Result<VerifyReport, VerifyError> {
    WrittenSession::open(drive, written)?.check_dir(host_dir, disc_dir)
}

/// Like [`check_data`] for single entries rather than whole directories
/// ([`WrittenSession::check_files`]).
pub fn check_files(
    drive: &mut Drive,
    written: &BurnReport,
    files: &[(PathBuf, Vec<u8>)],
) -> Result<VerifyReport, VerifyError> {
    WrittenSession::open(drive, written)?.check_files(files)
}

/// The session just written, opened once for reading back through the
/// drive, so that every day of it is compared through one reader (the
/// descriptors and the directories above the days read once).
pub struct WrittenSession<'d> {
    reader: Reader<DiscSource<'d>>,
}

impl<'d> WrittenSession<'d> {
    /// Opens the session `written` describes through `drive`; on
    /// overwritable media only once block 16 leads to it.
    pub fn open(drive: &'d mut Drive, written: &BurnReport) -> Result<Self, VerifyError> {
        if written.overwritable
            && written.session_start > 0
            && !lba16_leads_to(drive, written.session_start, written.volume_end)?
        {
            return Err(VerifyError::Lba16 {
                session_start: written.session_start,
                volume_end: written.volume_end,
            });
        }
        let reader = Reader::from_source(
            DiscSource::new(drive),
            written.session_start,
            Limits::default(),
        )
        .map_err(|source| VerifyError::Disc {
            what: format!("the session at block {}", written.session_start),
            source,
        })?;
        Ok(WrittenSession { reader })
    }

    /// Compares every file under `host_dir` with its copy under `disc_dir`
    /// (`/2026/12/01`): the first problem found is the error.
    pub fn check_dir(
        &mut self,
        host_dir: &Path,
        disc_dir: &str,
    ) -> Result<VerifyReport, VerifyError> {
        let mut report = VerifyReport::default();
        let base = format!("/{}", disc_dir.trim_matches('/'));
        let entry = lookup(&mut self.reader, host_dir, &base)?;
        compare_dir(&mut self.reader, host_dir, &base, entry, &mut report)?;
        Ok(report)
    }

    /// Compares each `(host path, disc path)` pair, a regular file or a
    /// symlink (a `cback span` disc holds a chosen subset of a day's
    /// files), with its copy in the session. The disc paths are bytes, as
    /// the host's names are.
    pub fn check_files(
        &mut self,
        files: &[(PathBuf, Vec<u8>)],
    ) -> Result<VerifyReport, VerifyError> {
        let reader = &mut self.reader;
        let mut report = VerifyReport::default();
        for (host, disc) in files {
            let trimmed = disc.strip_prefix(b"/").unwrap_or(disc);
            let on_disc = [b"/", trimmed].concat();
            let meta = fs::symlink_metadata(host).map_err(host_err(host))?;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(host).map_err(host_err(host))?;
                let e = lookup(reader, host, &on_disc)?;
                // As Rock Ridge can record it (no empty components).
                let want = iso9660::symlink_as_recorded(target.as_os_str().as_encoded_bytes());
                if e.kind != EntryKind::Symlink(want) {
                    return Err(differs(
                        host,
                        &String::from_utf8_lossy(&on_disc),
                        "not the same symlink on the disc",
                    ));
                }
            } else {
                compare_file(reader, host, &on_disc, meta.len())?;
                report.files += 1;
                report.bytes += meta.len();
            }
        }
        Ok(report)
    }
}

fn host_err(path: &Path) -> impl FnOnce(io::Error) -> VerifyError + '_ {
    move |source| VerifyError::Host {
        path: path.to_path_buf(),
        source,
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Compares the staged directory `host` with its copy `entry` (at `disc`,
/// for messages): each staged name is found among the disc directory's
/// entries byte for byte (a name need not be UTF-8), the directory listed
/// once rather than once per name.
fn compare_dir<S: iso9660::SectorSource>(
    reader: &mut Reader<S>,
    host: &Path,
    disc: &str,
    entry: iso9660::Entry,
    report: &mut VerifyReport,
) -> Result<(), VerifyError> {
    if entry.kind != EntryKind::Directory {
        return Err(differs(host, disc, "not a directory on the disc"));
    }
    report.directories += 1;
    let on_disc = reader
        .read_dir(&entry)
        .map_err(|source| VerifyError::Disc {
            what: disc.to_string(),
            source,
        })?;
    let mut names: Vec<_> = fs::read_dir(host)
        .map_err(host_err(host))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(host_err(host))?;
    names.sort();
    for name in names {
        let path = host.join(&name);
        let disc_name = join(disc, &name.to_string_lossy());
        let meta = fs::symlink_metadata(&path).map_err(host_err(&path))?;
        let ft = meta.file_type();
        if !(ft.is_dir() || ft.is_file() || ft.is_symlink()) {
            // Sockets, FIFOs and devices are not staged by Cedar.
            continue;
        }
        let e = on_disc
            .iter()
            .find(|e| e.name == name.as_encoded_bytes())
            .cloned()
            .ok_or_else(|| VerifyError::Missing {
                host: path.clone(),
                disc: disc_name.clone(),
            })?;
        if ft.is_dir() {
            compare_dir(reader, &path, &disc_name, e, report)?;
        } else if ft.is_file() {
            compare_entry(reader, &path, &disc_name, e, meta.len())?;
            report.files += 1;
            report.bytes += meta.len();
        } else {
            let target = fs::read_link(&path).map_err(host_err(&path))?;
            // As Rock Ridge can record it (no empty components).
            let want = iso9660::symlink_as_recorded(target.as_os_str().as_encoded_bytes());
            if e.kind != EntryKind::Symlink(want) {
                return Err(differs(
                    &path,
                    &disc_name,
                    "not the same symlink on the disc",
                ));
            }
        }
    }
    Ok(())
}

fn lookup<S: iso9660::SectorSource>(
    reader: &mut Reader<S>,
    host: &Path,
    disc: impl AsRef<[u8]>,
) -> Result<iso9660::Entry, VerifyError> {
    let disc = disc.as_ref();
    let name = || String::from_utf8_lossy(disc).into_owned();
    reader
        .lookup(disc)
        .map_err(|source| VerifyError::Disc {
            what: name(),
            source,
        })?
        .ok_or_else(|| VerifyError::Missing {
            host: host.to_path_buf(),
            disc: name(),
        })
}

fn differs(host: &Path, disc: &str, why: impl Into<String>) -> VerifyError {
    VerifyError::Differs {
        host: host.to_path_buf(),
        disc: disc.to_string(),
        why: why.into(),
    }
}

/// SHA-1 of everything `r` yields, and its length.
fn sha1_of(r: &mut dyn Read) -> io::Result<([u8; 20], u64)> {
    let mut h = Sha1::new();
    let mut buf = vec![0u8; CHUNK];
    let mut len = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((h.finalize().into(), len))
}

fn compare_file<S: iso9660::SectorSource>(
    reader: &mut Reader<S>,
    host: &Path,
    disc: &[u8],
    size: u64,
) -> Result<(), VerifyError> {
    let entry = lookup(reader, host, disc)?;
    compare_entry(reader, host, &String::from_utf8_lossy(disc), entry, size)
}

/// Compares the staged file `host` (`size` bytes) with the disc's `entry`
/// (at `disc`, for messages).
fn compare_entry<S: iso9660::SectorSource>(
    reader: &mut Reader<S>,
    host: &Path,
    disc: &str,
    entry: iso9660::Entry,
    size: u64,
) -> Result<(), VerifyError> {
    if entry.kind != EntryKind::File {
        return Err(differs(host, disc, "not a regular file on the disc"));
    }
    if entry.size != size {
        return Err(differs(
            host,
            disc,
            format!("{} bytes on the disc, {size} staged", entry.size),
        ));
    }
    let (host_sum, disc_sum) = std::thread::scope(|s| {
        let staged = s.spawn(|| {
            let mut f = fs::File::open(host)?;
            sha1_of(&mut f)
        });
        let on_disc = reader
            .open_file(&entry)
            .map_err(io::Error::other)
            .and_then(|mut f| sha1_of(&mut f));
        let staged = staged
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (staged, on_disc)
    });
    let (host_sum, host_len) = host_sum.map_err(host_err(host))?;
    let (disc_sum, disc_len) = disc_sum.map_err(|e| VerifyError::Disc {
        what: disc.to_string(),
        source: iso9660::Error::Io(e),
    })?;
    if host_len != disc_len {
        return Err(differs(
            host,
            disc,
            format!("{disc_len} bytes read back, {host_len} staged"),
        ));
    }
    if host_sum != disc_sum {
        return Err(differs(
            host,
            disc,
            format!(
                "SHA-1 {} on the disc, {} staged",
                hex::encode(disc_sum),
                hex::encode(host_sum)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use crate::engine::image::ImageBuilder;
    use mmc::{Completion, DataPhase, Transport};

    /// The emulated drive's transport, counting the blocks read.
    struct Counting(Box<dyn Transport>, Arc<AtomicU64>);

    impl Transport for Counting {
        fn execute(
            &mut self,
            cdb: &[u8],
            data: DataPhase<'_>,
            timeout: std::time::Duration,
        ) -> mmc::Result<Completion> {
            if matches!(cdb[0], 0x28 | 0xA8) {
                self.1.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
            self.0.execute(cdb, data, timeout)
        }

        fn name(&self) -> &str {
            self.0.name()
        }

        fn max_transfer(&self) -> usize {
            self.0.max_transfer()
        }
    }

    #[test]
    fn one_session_reader_checks_every_day_with_fewer_reads() {
        let dir = tempfile::tempdir().unwrap();
        let days = ["2026/03/02", "2026/03/03", "2026/03/04"];
        let mut b = ImageBuilder::new(iso9660::Options {
            rock_ridge: Some(iso9660::RockRidge::Rationalized),
            ..iso9660::Options::default()
        });
        for (i, day) in days.iter().enumerate() {
            let host = dir.path().join(format!("stage{i}"));
            fs::create_dir_all(host.join("host1/etc")).unwrap();
            fs::write(host.join("host1/etc/hosts"), format!("day {i}\n")).unwrap();
            fs::write(host.join("host1/data.bin"), vec![i as u8; 300_000]).unwrap();
            b.graft(&iso9660::GraftPoint {
                disc: day.as_bytes().to_vec(),
                host,
            })
            .unwrap();
        }
        let mut layout = b.plan().unwrap();
        let mut image = Vec::new();
        layout.write(&mut image, &mut ()).unwrap();
        let spec = format!(
            "emulated:{}?profile=dvd+r&busy=0",
            dir.path().join("d.iso").display()
        );
        let mut d = Drive::open(&spec).unwrap();
        d.write_session(
            &mut &image[..],
            &mmc::WriteOptions::default(),
            &mut mmc::NoProgress,
        )
        .unwrap();
        let blocks = (image.len() / mmc::BLOCK_SIZE) as u32;
        let written = BurnReport {
            session_start: 0,
            image_blocks: blocks,
            blocks_written: blocks,
            volume_end: blocks,
            track: 1,
            overwritable: false,
            descriptors_copied: false,
            fifo: Default::default(),
        };
        let read = Arc::new(AtomicU64::new(0));
        let mut d = Drive::new(Box::new(Counting(d.into_transport(), read.clone())));
        let stage = |i: usize| dir.path().join(format!("stage{i}"));
        // A session opened per day, as before.
        for (i, day) in days.iter().enumerate() {
            let r = check_data(&mut d, &written, &stage(i), day).unwrap();
            assert_eq!((r.files, r.directories), (2, 3));
        }
        let per_day = read.swap(0, Ordering::Relaxed);
        // One session for all days: the same result, fewer blocks read.
        let mut session = WrittenSession::open(&mut d, &written).unwrap();
        for (i, day) in days.iter().enumerate() {
            let r = session.check_dir(&stage(i), day).unwrap();
            assert_eq!((r.files, r.bytes, r.directories), (2, 300_006, 3));
        }
        let once = read.load(Ordering::Relaxed);
        assert!(
            once < per_day,
            "{once} bytes read, {per_day} with a session per day"
        );
        // A day that differs is still named.
        fs::write(stage(1).join("host1/etc/hosts"), "day X\n").unwrap();
        let err = session.check_dir(&stage(1), days[1]).unwrap_err();
        assert!(
            matches!(&err, VerifyError::Differs { disc, .. } if disc == "/2026/03/03/host1/etc/hosts"),
            "{err}"
        );
    }
}
