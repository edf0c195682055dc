//! No half-written output, ever: every file cedar produces (archives, digest
//! maps, staged copies, indicators) is written under a temporary name in its
//! final directory and renamed into place only once it is complete and
//! synced, and the directory is synced after the rename. An interrupted run
//! (SIGTERM, SIGKILL, disc full) leaves either the previous file or none,
//! never a truncated one.
//!
//! A temporary file is `.NAME.cedar-partial` next to `NAME`: hidden, so the
//! `*` of a remote peer's copy command never fetches it, and recognisable,
//! so a local stage skips it ([`is_partial`]) and the next run clears what a
//! killed one left behind ([`remove_stale`]). On SIGINT/SIGTERM the run
//! removes its pending temporaries before exiting ([`remove_pending`]).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Suffix of temporary files.
const SUFFIX: &str = ".cedar-partial";

/// Temporaries created and not yet committed or discarded.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock cannot leave the list inconsistent.
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// The temporary name for `path`: `.NAME.cedar-partial` in the same directory.
pub fn partial_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or(OsStr::new("output"));
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(SUFFIX);
    path.with_file_name(tmp)
}

/// Whether `name` is a temporary of this module.
pub fn is_partial(name: &OsStr) -> bool {
    let b = name.as_bytes();
    b.starts_with(b".") && b.ends_with(SUFFIX.as_bytes())
}

/// Removes the temporaries a killed run left in `dir`; returns how many.
pub fn remove_stale(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        if is_partial(&entry.file_name()) && std::fs::remove_file(entry.path()).is_ok() {
            log::warn!(
                "Removed [{}], left by an interrupted run.",
                entry.path().display()
            );
            removed += 1;
        }
    }
    removed
}

/// Removes every temporary of this process not yet committed (called when
/// the run is interrupted).
pub fn remove_pending() {
    for path in pending().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// An output being written under its temporary name.
#[derive(Debug)]
pub struct Partial {
    target: PathBuf,
    tmp: PathBuf,
    done: bool,
}

impl Partial {
    /// Reserves the temporary for an output that will become `target`; the
    /// caller creates (truncates) and writes [`Partial::path`]. Dropping the
    /// reservation without [`Partial::commit`] removes the temporary.
    pub fn new(target: &Path) -> Partial {
        let tmp = partial_path(target);
        pending().push(tmp.clone());
        Partial {
            target: target.to_path_buf(),
            tmp,
            done: false,
        }
    }

    /// Reserves the temporary for `target` and creates it afresh: a
    /// leftover of that name (a file, or a symlink another account planted
    /// in a directory it can write) is removed, never followed, and the new
    /// file is created exclusively, so a name that reappears in between is
    /// an error rather than a file written through.
    pub fn create(target: &Path) -> io::Result<(Partial, File)> {
        use std::os::unix::fs::OpenOptionsExt;
        let partial = Partial::new(target);
        match std::fs::remove_file(&partial.tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&partial.tmp)?;
        Ok((partial, file))
    }

    /// The temporary path being written.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Syncs the temporary, renames it onto the target and syncs the
    /// directory. The caller must have flushed and closed its writer.
    pub fn commit(mut self) -> io::Result<()> {
        File::open(&self.tmp)?.sync_all()?;
        std::fs::rename(&self.tmp, &self.target)?;
        self.done = true;
        forget(&self.tmp);
        sync_dir(&self.target)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
            forget(&self.tmp);
        }
    }
}

fn forget(tmp: &Path) {
    pending().retain(|p| p != tmp);
}

/// Syncs the directory holding `path`, so a rename survives a crash.
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Writes `data` to `path` atomically.
pub fn write(path: &Path, data: &[u8]) -> io::Result<()> {
    let (partial, mut file) = Partial::create(path)?;
    file.write_all(data)?;
    file.flush()?;
    drop(file);
    partial.commit()
}

/// Copies `from` to `to` atomically, keeping permissions, and access and
/// modification times.
pub fn copy(from: &Path, to: &Path) -> io::Result<u64> {
    let meta = std::fs::metadata(from)?;
    let (partial, mut file) = Partial::create(to)?;
    let mut source = File::open(from)?;
    let copied = io::copy(&mut source, &mut file)?;
    file.set_permissions(meta.permissions())?;
    file.set_times(
        std::fs::FileTimes::new()
            .set_modified(meta.modified()?)
            .set_accessed(meta.accessed()?),
    )?;
    drop(file);
    partial.commit()?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_until_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("a.tar");
        let (partial, mut file) = Partial::create(&target).expect("create");
        file.write_all(b"data").expect("write");
        drop(file);
        assert!(!target.exists());
        assert!(is_partial(partial.path().file_name().expect("name")));
        partial.commit().expect("commit");
        assert_eq!(std::fs::read(&target).expect("read"), b"data");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn a_planted_symlink_at_the_temporary_name_is_not_written_through() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("write");
        let target = dir.path().join("a.tar");
        std::os::unix::fs::symlink(&victim, partial_path(&target)).expect("symlink");
        write(&target, b"archive").expect("write");
        assert_eq!(std::fs::read(&victim).expect("read"), b"precious");
        assert_eq!(std::fs::read(&target).expect("read"), b"archive");
    }

    #[test]
    fn a_dropped_partial_leaves_the_old_file_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("m.sha");
        write(&target, b"old").expect("write");
        let (partial, mut file) = Partial::create(&target).expect("create");
        file.write_all(b"new but unfinished").expect("write");
        drop(partial);
        assert_eq!(std::fs::read(&target).expect("read"), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn stale_partials_are_removed_and_recognised() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stale = partial_path(&dir.path().join("x.tar.gz"));
        std::fs::write(&stale, b"cut").expect("write");
        std::fs::write(dir.path().join(".keep"), b"").expect("write");
        assert_eq!(remove_stale(dir.path()), 1);
        assert!(!stale.exists() && dir.path().join(".keep").exists());
        assert!(!is_partial(OsStr::new("x.tar.gz")));
    }

    #[test]
    fn copies_keep_times_and_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let from = dir.path().join("f");
        std::fs::write(&from, b"abc").expect("write");
        std::fs::set_permissions(&from, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::options()
            .write(true)
            .open(&from)
            .and_then(|f| f.set_times(std::fs::FileTimes::new().set_modified(old)))
            .expect("times");
        let to = dir.path().join("g");
        assert_eq!(copy(&from, &to).expect("copy"), 3);
        let m = std::fs::metadata(&to).expect("meta");
        assert_eq!(m.modified().expect("mtime"), old);
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
    }
}
