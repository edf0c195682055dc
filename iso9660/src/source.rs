//! Opening host files at write time as exactly what was planned: the
//! regular file that was scanned, never whatever a racing process has put
//! at its path since (a symlink to a secret, a FIFO that blocks forever, a
//! device).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// What a file was when it was scanned: its device and inode numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

fn changed(path: &Path, why: impl Into<String>) -> Error {
    Error::SourceChanged {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

fn kind_of(ft: std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symlink"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Checks that an open file is a regular file and, when `expect` is given,
/// the one scanned.
fn check(path: &Path, f: &File, expect: Option<FileId>) -> Result<()> {
    let m = f.metadata().map_err(|e| Error::host(path, e))?;
    if !m.file_type().is_file() {
        return Err(changed(
            path,
            format!("it is now {}", kind_of(m.file_type())),
        ));
    }
    if let Some(id) = expect {
        if (m.dev(), m.ino()) != (id.dev, id.ino) {
            return Err(changed(
                path,
                format!(
                    "it is now another file (device {} inode {}, scanned as device {} inode {})",
                    m.dev(),
                    m.ino(),
                    id.dev,
                    id.ino
                ),
            ));
        }
    }
    Ok(())
}

/// Opens `path` for reading only if it is (still) a regular file and, when
/// `expect` is given, the same file (device and inode) that was scanned.
///
/// The path is first opened with `O_PATH | O_NOFOLLOW`, which follows no
/// symlink in the last component and opens nothing (so a device swapped in
/// is not touched, a FIFO cannot block); that handle is checked with
/// `fstat` and only then opened for reading through `/proc/self/fd`, so the
/// file read is the file checked. Where `/proc` is not mounted it falls
/// back to `O_NOFOLLOW | O_NONBLOCK` (then clears `O_NONBLOCK`) and checks
/// the opened file. A mismatch is [`Error::SourceChanged`].
pub fn open_regular(path: &Path, expect: Option<FileId>) -> Result<File> {
    let loop_err = |e: io::Error| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            changed(path, "it is now a symlink")
        } else {
            Error::host(path, e)
        }
    };
    let handle = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(loop_err)?;
    check(path, &handle, expect)?;
    let via_proc = format!("/proc/self/fd/{}", handle.as_raw_fd());
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&via_proc)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
            .open(path)
            .map_err(loop_err)?,
        Err(e) => return Err(Error::host(path, e)),
    };
    check(path, &file, expect)?;
    // SAFETY: fcntl on a descriptor this function owns, with integer
    // arguments only.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    if flags < 0
        || unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0
    {
        return Err(Error::host(path, io::Error::last_os_error()));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn id(p: &Path) -> FileId {
        let m = std::fs::symlink_metadata(p).unwrap();
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }

    #[test]
    fn opens_the_scanned_file_only() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"planned").unwrap();
        let scanned = id(&f);
        let mut r = open_regular(&f, Some(scanned)).unwrap();
        let mut s = String::new();
        io::Read::read_to_string(&mut r, &mut s).unwrap();
        assert_eq!(s, "planned");

        // Replaced by another regular file.
        let other = d.path().join("other");
        std::fs::write(&other, b"secret").unwrap();
        std::fs::rename(&other, &f).unwrap();
        let err = open_regular(&f, Some(scanned)).unwrap_err();
        assert!(err.to_string().contains("another file"), "{err}");

        // Replaced by a symlink, a FIFO, a directory.
        std::fs::remove_file(&f).unwrap();
        symlink("/etc/hostname", &f).unwrap();
        let err = open_regular(&f, None).unwrap_err();
        assert!(matches!(err, Error::SourceChanged { .. }), "{err}");
        assert!(err.to_string().contains("symlink"), "{err}");
        std::fs::remove_file(&f).unwrap();
        nix_mkfifo(&f);
        let err = open_regular(&f, None).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        std::fs::remove_file(&f).unwrap();
        std::fs::create_dir(&f).unwrap();
        let err = open_regular(&f, None).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
    }

    fn nix_mkfifo(p: &Path) {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }
}
