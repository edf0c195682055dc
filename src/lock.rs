//! An exclusive run lock in the working directory.
//!
//! Cedar Backup has none, so two overlapping cron runs can collect into the
//! same directories and write the same disc. cedar takes `flock(LOCK_EX |
//! LOCK_NB)` on `<working_dir>/cback.lock` for the whole run; a second run
//! refuses with a message naming the holder. The kernel drops the lock when
//! the process dies, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Name of the lock file inside `working_dir`.
pub const LOCK_FILE_NAME: &str = "cback.lock";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another cback run{holder} holds the lock {path}; refusing to run concurrently")]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// " (pid N)" when the holder wrote its pid.
        holder: String,
    },
    /// The working directory is missing or not a directory.
    #[error("Working directory [{}] {reason}; cedar keeps its run lock ({LOCK_FILE_NAME}) there.", .dir.display())]
    WorkingDir {
        /// The configured working directory.
        dir: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The file could not be created or locked.
    #[error("cannot take the run lock {}: {error}", .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error (part of the message rather than a separate
        /// source, so that it is shown once).
        error: std::io::Error,
    },
}

/// A held run lock; released on drop.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock in `working_dir`, or fails at once if it is held.
    pub fn acquire(working_dir: &Path) -> Result<RunLock, LockError> {
        let reason = match std::fs::metadata(working_dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist"),
            Ok(m) if !m.is_dir() => Some("is not a directory"),
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(LockError::WorkingDir {
                dir: working_dir.to_path_buf(),
                reason,
            });
        }
        let path = working_dir.join(LOCK_FILE_NAME);
        let io = |error| LockError::Io {
            path: path.clone(),
            error,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a valid, owned descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                let holder = if pid.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {pid})")
                };
                return Err(LockError::Busy { path, holder });
            }
            return Err(io(err));
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(RunLock { file, path })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Emptying the file first means a reader never sees our stale pid.
        let _ = self.file.set_len(0);
        // SAFETY: unlocking our own valid descriptor.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_release() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = RunLock::acquire(dir.path()).expect("first lock");
        let err = RunLock::acquire(dir.path()).expect_err("second must fail");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("cback.lock"), "{msg}");
        drop(first);
        RunLock::acquire(dir.path()).expect("free again");
    }

    #[test]
    fn missing_working_dir_is_a_clear_error() {
        let err = RunLock::acquire(Path::new("/nonexistent/cedar-wd")).expect_err("no dir");
        assert_eq!(
            err.to_string(),
            "Working directory [/nonexistent/cedar-wd] does not exist; cedar keeps its run lock (cback.lock) there."
        );
    }
}
