//! The transport layer: move one CDB and its data to a drive and bring back the
//! status and sense. Nothing here knows what a command means; a real drive
//! ([`crate::SgIo`]) and the emulated burner ([`crate::Emulator`]) both sit
//! behind [`Transport`].

use std::time::Duration;

use crate::error::Result;
use crate::sense::Sense;

/// SCSI status GOOD.
pub const STATUS_GOOD: u8 = 0x00;
/// SCSI status CHECK CONDITION: sense data tells why.
pub const STATUS_CHECK_CONDITION: u8 = 0x02;

/// Default timeout for ordinary commands.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout for commands that may run long even with the Immed bit.
pub const LONG_TIMEOUT: Duration = Duration::from_secs(200);

/// The data phase of one command.
#[derive(Debug)]
pub enum DataPhase<'a> {
    /// No data moves.
    None,
    /// These bytes go to the drive (WRITE, MODE SELECT, ...).
    ToDevice(&'a [u8]),
    /// The drive fills (part of) this buffer.
    FromDevice(&'a mut [u8]),
}

impl DataPhase<'_> {
    /// Number of bytes the phase can carry.
    pub fn len(&self) -> usize {
        match self {
            DataPhase::None => 0,
            DataPhase::ToDevice(b) => b.len(),
            DataPhase::FromDevice(b) => b.len(),
        }
    }

    /// Whether no bytes move.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How one command ended, as far as the drive is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// SCSI status byte.
    pub status: u8,
    /// Decoded sense when the status is CHECK CONDITION and sense came back.
    pub sense: Option<Sense>,
    /// Bytes actually transferred (buffer length minus residue).
    pub transferred: usize,
}

impl Completion {
    /// A GOOD completion that moved `transferred` bytes.
    pub fn good(transferred: usize) -> Self {
        Completion {
            status: STATUS_GOOD,
            sense: None,
            transferred,
        }
    }

    /// A CHECK CONDITION completion with this sense.
    pub fn check(sense: Sense) -> Self {
        Completion {
            status: STATUS_CHECK_CONDITION,
            sense: Some(sense),
            transferred: 0,
        }
    }
}

/// Something that executes SCSI commands: a real drive or an emulated one.
///
/// `execute` returns `Err` only when the command could not be carried out at
/// all (the OS or adapter failed); a drive's refusal is a `Completion` with
/// CHECK CONDITION status and sense, which the command layer turns into
/// [`crate::Error::Sense`].
pub trait Transport: Send {
    /// Executes one CDB with its data phase.
    fn execute(&mut self, cdb: &[u8], data: DataPhase<'_>, timeout: Duration)
        -> Result<Completion>;

    /// Name used in messages: the device path or the emulated device string.
    fn name(&self) -> &str;

    /// Largest data phase in bytes this transport accepts in one command.
    fn max_transfer(&self) -> usize {
        64 * 1024
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<Completion> {
        (**self).execute(cdb, data, timeout)
    }

    fn name(&self) -> &str {
        (**self).name()
    }

    fn max_transfer(&self) -> usize {
        (**self).max_transfer()
    }
}

/// Formats bytes as space-separated hex for debug logs.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02X}"));
    }
    s
}

impl std::fmt::Debug for dyn Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Transport({})", self.name())
    }
}
