//! Error types: one for malformed bytes, one for everything a drive operation
//! can run into. Every drive error names the device, and where a command failed
//! it names the command and the sense triple with its meaning.

use crate::sense::Sense;

/// Bytes that do not decode as the structure they should hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the structure needs.
    #[error("{what}: {got} bytes, need at least {need}")]
    Short {
        /// What was being decoded.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// A field holds a value the structure cannot have.
    #[error("{what}: {detail}")]
    Invalid {
        /// What was being decoded.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

/// Everything that can go wrong talking to a drive.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The drive answered CHECK CONDITION with this sense.
    #[error("{device}: {command} failed: {sense}")]
    Sense {
        /// Device name.
        device: String,
        /// Command name, e.g. "WRITE(10)".
        command: &'static str,
        /// Decoded sense.
        sense: Sense,
    },
    /// The drive answered a bad SCSI status without usable sense data.
    #[error("{device}: {command} failed with SCSI status {status:#04x} and no sense data")]
    Status {
        /// Device name.
        device: String,
        /// Command name.
        command: &'static str,
        /// SCSI status byte.
        status: u8,
    },
    /// The command never reached the drive or the host adapter failed it.
    #[error("{device}: {command}: {detail}")]
    Transport {
        /// Device name.
        device: String,
        /// Command name.
        command: &'static str,
        /// What the operating system or adapter said.
        detail: String,
    },
    /// The drive answered with bytes that do not decode.
    #[error("{device}: {command}: malformed response: {source}")]
    Response {
        /// Device name.
        device: String,
        /// Command name.
        command: &'static str,
        /// Decoding failure.
        #[source]
        source: DecodeError,
    },
    /// The device could not be opened as an MMC drive.
    #[error("cannot use {device}: {reason}")]
    Open {
        /// Device path or string.
        device: String,
        /// Why not.
        reason: String,
    },
    /// The medium does not allow what was asked (finalized, full, wrong kind).
    #[error("{device}: {message}")]
    Medium {
        /// Device name.
        device: String,
        /// What is wrong.
        message: String,
    },
    /// Reading the data to be written failed.
    #[error("{device}: reading the data to write: {source}")]
    Input {
        /// Device name.
        device: String,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// A device string such as `emulated:PATH?profile=NAME` is malformed.
    #[error("bad device {spec:?}: {reason}")]
    Spec {
        /// The string given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl Error {
    /// The sense data, when the drive reported a check condition.
    pub fn sense(&self) -> Option<&Sense> {
        match self {
            Error::Sense { sense, .. } => Some(sense),
            _ => None,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
