//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while planning, writing or reading an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on the image stream itself.
    #[error("I/O error")]
    Io(#[from] io::Error),
    /// An I/O error on one host file or directory, with its path.
    #[error("{}", path.display())]
    Host {
        /// The host path that failed.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file changed size between planning and writing; the image would be
    /// inconsistent, so writing stops.
    #[error("{path}: file shrank from {planned} to {actual} bytes while the image was written")]
    FileShrank {
        /// Path of the file inside the image.
        path: String,
        /// Size recorded in the layout.
        planned: u64,
        /// Bytes actually available.
        actual: u64,
    },
    /// A caller-supplied value cannot be represented.
    #[error("invalid {what}: {why}")]
    Invalid {
        /// Which value.
        what: &'static str,
        /// Why it was refused.
        why: String,
    },
    /// The tree does not fit the format's limits.
    #[error("image limit exceeded: {0}")]
    Limit(String),
    /// A file source was already consumed by an earlier write.
    #[error("{0}: file source was already consumed by an earlier write")]
    SourceConsumed(String),
    /// An I/O error while reading one part of an image (a directory, a
    /// continuation area), saying which part and where.
    #[error("I/O error reading {what} at byte {at}")]
    Read {
        /// Absolute byte offset of the read.
        at: u64,
        /// What was being read, e.g. the record it belongs to.
        what: String,
        /// The underlying error.
        source: io::Error,
    },
    /// An entry of an earlier session cannot be carried into a new one (an
    /// invalid or duplicate name, a bad symlink target). `entry` names it as
    /// its parent directory's path plus the quoted name.
    #[error("previous session: {entry} (record at byte {at}): {why}")]
    Imported {
        /// The parent directory's path and the entry's quoted name.
        entry: String,
        /// Absolute byte offset of the entry's directory record.
        at: u64,
        /// What is wrong.
        why: String,
    },
    /// A host file is no longer the regular file that was planned (it was
    /// replaced, e.g. by a symlink or a FIFO, between planning and writing),
    /// so writing stops rather than record other data under its name.
    #[error("{}: {why} since it was scanned, so it was not read", path.display())]
    SourceChanged {
        /// The host path.
        path: PathBuf,
        /// What changed.
        why: String,
    },
    /// The image being read is malformed; `at` is the byte offset concerned.
    #[error("malformed image at byte {at}: {why}")]
    Malformed {
        /// Absolute byte offset in the image.
        at: u64,
        /// What is wrong.
        why: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn malformed(at: u64, why: impl Into<String>) -> Self {
        Error::Malformed {
            at,
            why: why.into(),
        }
    }

    pub(crate) fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            why: why.into(),
        }
    }

    pub(crate) fn host(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Host {
            path: path.into(),
            source,
        }
    }
}
