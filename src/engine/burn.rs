//! Writing a planned session to the disc in a drive: capacity checked
//! against the drive's real free blocks before any byte is written, the
//! image streamed through the bounded [`fifo`] into
//! [`mmc::Drive::write_session`], and on overwritable media the growth
//! growisofs does: the session at the old volume end (rounded up to 16
//! blocks), synchronized, and only then the new descriptor set copied to
//! LBA 16 with the volume size patched, so readers that only look at LBA 16
//! (bsdtar, pycdlib, the kernel without `session=`) see every day. Until
//! that last 16-block write, the disc reads exactly as before.
//!
//! ```
//! use cedar::engine::{burn, disc, image::ImageBuilder};
//! use iso9660::{GraftPoint, Options};
//!
//! let dir = tempfile::tempdir()?;
//! let day = dir.path().join("day");
//! std::fs::create_dir(&day)?;
//! std::fs::write(day.join("etc.tar.gz"), b"night one")?;
//! let spec = format!("emulated:{}?profile=dvd+rw&busy=0", dir.path().join("disc.iso").display());
//! let mut drive = mmc::Drive::open(&spec)?;
//! drive.set_poll_interval(std::time::Duration::from_millis(1));
//! drive.format()?; // a new DVD+RW is formatted once
//! let place = disc::placement(&mut drive)?;
//! let mut image = ImageBuilder::new(Options { volume_id: "CEDAR BACKUP".into(), start_lba: place.start_lba, ..Options::default() });
//! image.graft(&GraftPoint { disc: b"2026/12/01".to_vec(), host: day })?;
//! let mut layout = image.plan()?;
//! let report = burn::burn(&mut drive, &mut layout, &place, &burn::BurnOptions::default(), &mut ())?;
//! assert_eq!(report.volume_end, layout.sectors());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use iso9660::Layout;
use mmc::{Drive, MediumError, WriteOptions};

use crate::engine::disc::{read_primary_descriptor, Placement};
use crate::engine::fifo::{self, FifoConfig, FifoGauge, FifoLevel, ProducerFailed};

const BLOCK: usize = mmc::BLOCK_SIZE;
/// Where ISO9660's volume descriptors start.
const DESCRIPTORS: u32 = 16;
/// Blocks rewritten at LBA 16: one 32 KiB unit, a whole ECC block.
const DESCRIPTOR_AREA: u32 = 16;

/// How to burn (default: fastest speed, disc left appendable, a 4 MiB FIFO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BurnOptions {
    /// Write speed in kB/s (None: the drive's fastest).
    pub speed_kbs: Option<u16>,
    /// Close a write-once disc for good after this session.
    pub finalize: bool,
    /// Size of the FIFO between image writer and drive.
    pub fifo: FifoConfig,
}

/// What the burn is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Checking the medium and the free space (nothing written yet).
    Checking,
    /// Streaming the session to the drive.
    Writing,
    /// Waiting for the drive to write its buffer out.
    Synchronizing,
    /// Closing the track and session (write-once media).
    Closing,
    /// Copying the new descriptors to LBA 16 (overwritable media).
    Descriptors,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Checking => "checking",
            Phase::Writing => "writing",
            Phase::Synchronizing => "synchronizing",
            Phase::Closing => "closing",
            Phase::Descriptors => "updating descriptors",
        })
    }
}

/// Progress hooks, called on the caller's thread; every method has a no-op
/// default.
pub trait BurnProgress {
    /// A new phase began.
    fn phase(&mut self, phase: Phase) {
        let _ = phase;
    }
    /// `done` of `total` bytes of the session have reached the drive;
    /// `fifo` is the FIFO's level.
    fn written(&mut self, done: u64, total: u64, fifo: FifoLevel) {
        let _ = (done, total, fifo);
    }
}

/// Reports nothing.
impl BurnProgress for () {}

/// What a burn did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurnReport {
    /// First block of the session.
    pub session_start: u32,
    /// Blocks of the session image (its padding included).
    pub image_blocks: u32,
    /// Blocks the drive wrote (with the medium's padding: CD tracks, ECC units).
    pub blocks_written: u32,
    /// End of the volume after the session: the block after its last.
    pub volume_end: u32,
    /// Track number written (0 on overwritable media).
    pub track: u16,
    /// The medium was overwritable.
    pub overwritable: bool,
    /// The descriptor set was copied to LBA 16 (overwritable media with a
    /// session that does not start at 0).
    pub descriptors_copied: bool,
    /// The FIFO's level at the end (its `min_buffered` says whether the
    /// drive ever waited for the files).
    pub fifo: FifoLevel,
}

/// Why a burn failed. [`BurnError::disc_changed`] says whether anything
/// reached the disc.
#[derive(Debug, thiserror::Error)]
pub enum BurnError {
    /// The session does not fit the free space: refused before any write.
    #[error(
        "does not fit: need {} MiB, {} MiB free ({need_blocks} blocks needed, {free_blocks} free)",
        need_blocks.div_ceil(BLOCKS_PER_MIB),
        free_blocks / BLOCKS_PER_MIB
    )]
    DoesNotFit {
        /// Blocks the session needs, with the medium's padding.
        need_blocks: u32,
        /// Blocks free where it would go.
        free_blocks: u32,
    },
    /// The layout was planned for another start block than the placement's:
    /// its addresses would be wrong on the disc. Nothing written.
    #[error("the image was planned to start at block {planned}, but the session goes at block {placement}")]
    Misplaced {
        /// The layout's `start_lba`.
        planned: u32,
        /// The placement's `start_lba`.
        placement: u32,
    },
    /// A write-once track was left open by an interrupted write; close it
    /// first ([`crate::engine::disc::close_interrupted`]). Nothing written.
    #[error("track {track} was left open by an interrupted write; it must be closed first")]
    Interrupted {
        /// The open track.
        track: u16,
    },
    /// The medium refused the session before any write (finalized, not
    /// formatted, write-protected, no medium, ...).
    #[error("{device}: {problem}")]
    Medium {
        /// Device name.
        device: String,
        /// What is wrong.
        problem: MediumError,
    },
    /// The image could not be produced (a staged file changed or shrank, a
    /// read error): the drive was stopped mid-session.
    #[error("building the image")]
    Image {
        /// The image writer's error.
        #[source]
        source: iso9660::Error,
    },
    /// The drive failed during `phase`.
    #[error("while {phase}")]
    Drive {
        /// What was being done.
        phase: Phase,
        /// The drive's error.
        #[source]
        source: mmc::Error,
    },
}

const BLOCKS_PER_MIB: u32 = (1 << 20) / BLOCK as u32;

impl BurnError {
    /// Whether the disc may have been changed (false: refused before any
    /// write, the disc is exactly as it was).
    pub fn disc_changed(&self) -> bool {
        match self {
            BurnError::DoesNotFit { .. }
            | BurnError::Misplaced { .. }
            | BurnError::Interrupted { .. }
            | BurnError::Medium { .. } => false,
            BurnError::Image { .. } => true,
            BurnError::Drive { phase, .. } => *phase != Phase::Checking,
        }
    }

    /// The medium problem, when the drive reported one.
    pub fn medium(&self) -> Option<MediumError> {
        match self {
            BurnError::DoesNotFit {
                need_blocks,
                free_blocks,
            } => Some(MediumError::DoesNotFit {
                need_blocks: *need_blocks,
                free_blocks: *free_blocks,
            }),
            BurnError::Medium { problem, .. } => Some(problem.clone()),
            BurnError::Drive { source, .. } => source.medium(),
            _ => None,
        }
    }
}

/// A medium error before writing becomes its typed variant.
fn refused(e: mmc::Error) -> BurnError {
    match e {
        mmc::Error::Medium {
            problem:
                MediumError::DoesNotFit {
                    need_blocks,
                    free_blocks,
                },
            ..
        } => BurnError::DoesNotFit {
            need_blocks,
            free_blocks,
        },
        mmc::Error::Medium { device, problem } => BurnError::Medium { device, problem },
        e => match e.medium() {
            Some(problem) => BurnError::Medium {
                device: String::new(),
                problem,
            }
            .with_device(&e),
            None => BurnError::Drive {
                phase: Phase::Checking,
                source: e,
            },
        },
    }
}

impl BurnError {
    fn with_device(self, e: &mmc::Error) -> BurnError {
        match self {
            BurnError::Medium { problem, .. } => BurnError::Medium {
                device: device_of(e),
                problem,
            },
            other => other,
        }
    }
}

fn device_of(e: &mmc::Error) -> String {
    match e {
        mmc::Error::Sense { device, .. }
        | mmc::Error::Status { device, .. }
        | mmc::Error::Transport { device, .. }
        | mmc::Error::Response { device, .. }
        | mmc::Error::Medium { device, .. }
        | mmc::Error::Emulator { device, .. }
        | mmc::Error::Input { device, .. }
        | mmc::Error::Open { device, .. } => device.clone(),
        mmc::Error::Spec { spec, .. } => spec.clone(),
    }
}

/// Adapts the drive's progress hooks: phases by name, bytes with the FIFO level.
struct DriveProgress<'p> {
    inner: &'p mut dyn BurnProgress,
    gauge: FifoGauge,
    total: u64,
    phase: Phase,
}

impl mmc::Progress for DriveProgress<'_> {
    fn blocks_written(&mut self, done: u64) {
        let bytes = (done * BLOCK as u64).min(self.total);
        self.inner.written(bytes, self.total, self.gauge.level());
    }

    fn phase(&mut self, what: &str) {
        let phase = if what.starts_with("writ") {
            Phase::Writing
        } else if what.starts_with("synchron") {
            Phase::Synchronizing
        } else {
            Phase::Closing
        };
        self.phase = phase;
        self.inner.phase(phase);
    }
}

/// Burns `layout` where `placement` says (from [`crate::engine::disc::placement`],
/// the layout planned with `start_lba = placement.start_lba`).
///
/// Before anything is written: the placement must match the layout and the
/// drive must have room for [`Layout::sectors`] blocks from the start
/// ([`BurnError::DoesNotFit`] otherwise, from the drive's real free
/// blocks). Then the image is written by a producer thread into the FIFO
/// and the drive writes it as one session; a producer failure stops the
/// drive ([`BurnError::Image`]), a drive failure stops the producer. On
/// overwritable media with a session after block 0, the descriptor set is
/// then copied to LBA 16, last.
pub fn burn(
    drive: &mut Drive,
    layout: &mut Layout,
    placement: &Placement,
    options: &BurnOptions,
    progress: &mut dyn BurnProgress,
) -> Result<BurnReport, BurnError> {
    progress.phase(Phase::Checking);
    let planned = layout.options().start_lba;
    if planned != placement.start_lba {
        return Err(BurnError::Misplaced {
            planned,
            placement: placement.start_lba,
        });
    }
    if let Some(open) = placement.interrupted {
        return Err(BurnError::Interrupted { track: open.track });
    }
    let blocks = layout.sectors();
    if blocks > placement.free_blocks {
        return Err(BurnError::DoesNotFit {
            need_blocks: blocks,
            free_blocks: placement.free_blocks,
        });
    }
    let write = WriteOptions {
        finalize: options.finalize,
        expected_blocks: Some(blocks),
        start: placement.overwritable.then_some(placement.start_lba),
        speed_kbs: options.speed_kbs,
        reserve: false,
    };
    let space = drive.check_write(&write).map_err(refused)?;
    if !placement.overwritable && space.start != placement.start_lba {
        // The disc changed since the placement was read.
        return Err(BurnError::Misplaced {
            planned,
            placement: space.start,
        });
    }
    let total = layout.bytes();
    let mut drive_phase = Phase::Writing;
    let (written, produced) = fifo::pump(
        options.fifo,
        |w| layout.write(w, &mut ()).map(|_| ()),
        |r, gauge| {
            let mut p = DriveProgress {
                inner: &mut *progress,
                gauge: gauge.clone(),
                total,
                phase: Phase::Writing,
            };
            let out = drive.write_session(r, &write, &mut p);
            drive_phase = p.phase;
            (out, gauge.level())
        },
    );
    let (written, level) = written;
    let report = match (written, produced) {
        (Ok(r), Ok(())) => r,
        // The producer failed first: the drive only saw its read error.
        (Err(mmc::Error::Input { source, .. }), Err(e))
            if source
                .get_ref()
                .is_some_and(|s| s.downcast_ref::<ProducerFailed>().is_some()) =>
        {
            return Err(BurnError::Image { source: e })
        }
        (Err(e), _) => {
            return Err(BurnError::Drive {
                phase: drive_phase,
                source: e,
            })
        }
        // The drive took the whole stream, yet the producer reports an error
        // after it: the session cannot be trusted.
        (Ok(_), Err(e)) => return Err(BurnError::Image { source: e }),
    };
    let mut out = BurnReport {
        session_start: report.start,
        image_blocks: blocks,
        blocks_written: report.blocks,
        volume_end: report.start.saturating_add(blocks),
        track: report.track,
        overwritable: placement.overwritable,
        descriptors_copied: false,
        fifo: level,
    };
    if placement.overwritable && report.start > 0 {
        progress.phase(Phase::Descriptors);
        copy_descriptors(drive, report.start, out.volume_end, options).map_err(|source| {
            BurnError::Drive {
                phase: Phase::Descriptors,
                source,
            }
        })?;
        out.descriptors_copied = true;
    }
    Ok(out)
}

/// Copies the descriptor set of the session at `start` (its primary and
/// supplementary descriptors up to the terminator) to LBA 16, each with the
/// volume space size set to `volume_end`. The 16-block unit at LBA 16 is
/// read first and only the descriptor blocks in it are replaced, so data of
/// the first session that lies there stays intact.
fn copy_descriptors(
    drive: &mut Drive,
    start: u32,
    volume_end: u32,
    options: &BurnOptions,
) -> mmc::Result<()> {
    let mut set = vec![0u8; DESCRIPTOR_AREA as usize * BLOCK];
    drive.read_blocks(start + DESCRIPTORS, &mut set)?;
    let mut count = 0;
    for (i, d) in set.chunks_exact_mut(BLOCK).enumerate() {
        if &d[1..6] != b"CD001" {
            break;
        }
        count = i + 1;
        if matches!(d[0], 1 | 2) {
            // Volume space size, both-endian (ECMA-119 8.4.8).
            d[80..84].copy_from_slice(&volume_end.to_le_bytes());
            d[84..88].copy_from_slice(&volume_end.to_be_bytes());
        }
        if d[0] == 255 {
            break;
        }
    }
    if count == 0 || set[(count - 1) * BLOCK] != 255 {
        return Err(mmc::Error::Medium {
            device: drive.name().to_string(),
            problem: MediumError::DriveLimit(format!(
                "the session written at block {start} reads back without a volume descriptor set"
            )),
        });
    }
    let mut area = vec![0u8; DESCRIPTOR_AREA as usize * BLOCK];
    drive.read_blocks(DESCRIPTORS, &mut area)?;
    area[..count * BLOCK].copy_from_slice(&set[..count * BLOCK]);
    let write = WriteOptions {
        expected_blocks: Some(DESCRIPTOR_AREA),
        start: Some(DESCRIPTORS),
        speed_kbs: options.speed_kbs,
        ..WriteOptions::default()
    };
    drive.write_session(&mut &area[..], &write, &mut mmc::NoProgress)?;
    Ok(())
}

/// Whether the primary descriptor at LBA 16 describes the volume ending at
/// `volume_end` with the same root as the session at `session_start`: what
/// a reader that looks only at LBA 16 will see.
pub fn lba16_leads_to(
    drive: &mut Drive,
    session_start: u32,
    volume_end: u32,
) -> Result<bool, crate::engine::disc::DiscError> {
    let Some(at16) = read_primary_descriptor(drive, 0)? else {
        return Ok(false);
    };
    let Some(session) = read_primary_descriptor(drive, session_start)? else {
        return Ok(false);
    };
    Ok(at16.volume_space_size == volume_end && at16.root == session.root)
}
