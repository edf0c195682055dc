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
    #[error("{device}: {command}: malformed response")]
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
    /// The medium does not allow what was asked (finalized, full, wrong kind):
    /// a [`MediumError`] a caller can branch on.
    #[error("{device}: {problem}")]
    Medium {
        /// Device name.
        device: String,
        /// What is wrong (the message itself, not a cause: no `source()`).
        problem: MediumError,
    },
    /// The emulated burner's backing files failed (not a medium problem).
    #[error("{device}: {detail}")]
    Emulator {
        /// Device name.
        device: String,
        /// What failed.
        detail: String,
    },
    /// Reading the data to be written failed.
    #[error("{device}: reading the data to write")]
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

    /// The medium problem this error is, if any: an [`Error::Medium`], or a
    /// check condition that means one ("no medium" 2/3A/xx and "write
    /// protected" 7/27/xx, which a drive reports only when a command runs).
    pub fn medium(&self) -> Option<MediumError> {
        match self {
            Error::Medium { problem, .. } => Some(problem.clone()),
            Error::Sense { sense, .. } if sense.is_no_medium() => Some(MediumError::NoMedium),
            Error::Sense { sense, .. } if sense.key == 7 && sense.asc == 0x27 => {
                Some(MediumError::WriteProtected)
            }
            _ => None,
        }
    }
}

/// Blocks in one MiB.
const BLOCKS_PER_MIB: u32 = (1 << 20) / crate::BLOCK_SIZE as u32;

/// Blocks as whole MiB, rounded up (what is needed).
fn mib_up(blocks: &u32) -> u32 {
    blocks.div_ceil(BLOCKS_PER_MIB)
}

/// Blocks as whole MiB, rounded down (what is free), so that a refused
/// `need` always prints larger than `free`.
fn mib_down(blocks: &u32) -> u32 {
    blocks / BLOCKS_PER_MIB
}

/// What the loaded medium does not allow, typed so that callers (store,
/// capacity checks, spanning) can branch on it. Block counts are 2048-byte
/// blocks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediumError {
    /// No medium is loaded.
    #[error("no medium in the drive")]
    NoMedium,
    /// The medium (or the drive's tray switch) is write-protected.
    #[error("the medium is write-protected")]
    WriteProtected,
    /// The data needs more blocks than the medium has free.
    #[error(
        "does not fit: need {} MiB, {} MiB free ({need_blocks} blocks needed, {free_blocks} free)",
        mib_up(need_blocks),
        mib_down(free_blocks)
    )]
    DoesNotFit {
        /// Blocks the data needs, with the medium's padding (CD tracks of at
        /// least 300 blocks, DVD/BD ECC units).
        need_blocks: u32,
        /// Blocks the medium has free where the data would go.
        free_blocks: u32,
    },
    /// A write-once disc closed for good: no more sessions.
    #[error("the {profile} disc is finalized: no more sessions can be written")]
    Finalized {
        /// Profile name.
        profile: String,
    },
    /// An overwritable disc that must be formatted before it is written.
    #[error("the {profile} disc is not formatted; format it first")]
    NotFormatted {
        /// Profile name.
        profile: String,
    },
    /// A medium this crate does not write (DVD-ROM, HD DVD, no profile...).
    #[error("cannot write a {profile} medium")]
    UnwritableProfile {
        /// Profile name.
        profile: String,
    },
    /// An appendable-looking disc with no next writable address.
    #[error("the {profile} disc has no next writable address (disc full)")]
    NoNextWritable {
        /// Profile name.
        profile: String,
    },
    /// The drive reports the track to be written as damaged.
    #[error(
        "track {track} is damaged (the drive reports the damage bit{}); it cannot be written",
        if *nwa_valid { "" } else { " and no valid next writable address" }
    )]
    DamagedTrack {
        /// Track number.
        track: u16,
        /// Whether the drive still reported a valid next writable address.
        nwa_valid: bool,
    },
    /// A track reports a next writable address before its own start.
    #[error("track {track} reports next writable address {nwa} before its start {start}")]
    BadNextWritable {
        /// Track number.
        track: u16,
        /// The reported address (signed: drives report −150 on blank CDs).
        nwa: i32,
        /// The track's start.
        start: u32,
    },
    /// A DVD-R(W) that does not take incremental writes (minimally blanked).
    #[error(
        "the {profile} disc does not allow incremental writing \
         (feature 0021h is not current); blank it fully first"
    )]
    NotIncremental {
        /// Profile name.
        profile: String,
    },
    /// Blanking asked of a medium that cannot be blanked.
    #[error("a {profile} medium cannot be blanked (only CD-RW and DVD-RW can)")]
    NotBlankable {
        /// Profile name.
        profile: String,
    },
    /// Formatting asked of a medium that is not formatted (or must not be).
    #[error("a {profile} medium cannot be formatted{}", if *bd_r {
        ": BD-R is written unformatted (sequential recording); formatting it \
         would turn on Pseudo-Overwrite, which leaves sessions unclosable"
    } else { "" })]
    NotFormattable {
        /// Profile name.
        profile: String,
        /// It is a BD-R (formatting would turn on Pseudo-Overwrite).
        bd_r: bool,
    },
    /// Finalizing a disc on its own asked of a medium where that is not a
    /// separate step.
    #[error(
        "only DVD+R and BD-R can be finalized after their last session is closed; \
         on CD and DVD-R finalize while closing the last session"
    )]
    NotFinalizable,
    /// The data to write is not whole 2048-byte blocks.
    #[error("the data ends with a partial block ({bytes} bytes after block {after_block})")]
    PartialBlock {
        /// Bytes of the partial block.
        bytes: usize,
        /// Whole blocks before it.
        after_block: u32,
    },
    /// The data to write is empty.
    #[error("nothing to write: the data is empty")]
    EmptyData,
    /// The drive cannot do what the medium needs (its limits or its answers).
    #[error("{0}")]
    DriveLimit(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
