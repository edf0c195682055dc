//! An emulated burner behind [`Transport`]: it receives the CDB bytes a real
//! drive would, enforces the MMC recording rules of its disc, and answers with
//! real response bytes and sense data.
//!
//! The disc is a media image file (user block `n` at byte `n × 2048`, so after
//! a session is written the file reads as a plain ISO image) plus a state
//! sidecar `IMAGE.state` holding tray, sessions and tracks. Both persist, so a
//! disc "stays in the drive" from one run to the next.
//!
//! The device string also sets up the drive itself: its timing model, page
//! 05 length, buffer underrun protection, a −150 NWA on blank CDs and its
//! buffer size (the table at [`EmulatorOptions`]); the `set_*` methods do
//! the same for Rust callers.

mod fault;
mod medium;
mod respond;
mod spec;
mod state;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

pub use fault::{Fault, Trigger};
pub use medium::{
    BgFormat, Medium, Session, Track, BD_R_SESSION_GAP, CD_FIRST_SESSION_GAP, CD_LATER_SESSION_GAP,
    CD_TAO_RUN_OUT, DVD_MINUS_R_FIRST_BORDER, DVD_MINUS_R_FIRST_BORDER_MIN_END,
    DVD_MINUS_R_LATER_BORDER, DVD_MINUS_R_LINK, DVD_PLUS_R_SESSION_GAP,
};
pub use spec::{parse as parse_spec, Decay, EmulatorOptions, PREFIX};
pub use state::DriveState;

use crate::cdb::config::MediaEventCode;
use crate::cdb::format::{FormatParameters, FormatUnit};
use crate::cdb::mode::{
    ModeParameters, ModeSelect10, ModeSelect6, WriteParameters, WriteType, DATA_BLOCK_MODE1,
    PAGE_CAPABILITIES, PAGE_ERROR_RECOVERY, PAGE_WRITE_PARAMETERS, TRACK_MODE_DATA,
    TRACK_MODE_INCREMENTAL,
};
use crate::cdb::perf::{SetStreaming, StreamingDescriptor};
use crate::cdb::rw::{Read10, SynchronizeCache, Write10};
use crate::cdb::spc::{StartStopAction, StartStopUnit};
use crate::cdb::track::{CloseFunction, CloseTrackSession, ReserveTrack};
use crate::cdb::{cdb_len, format::Blank, opcode_name, Command, Response};
use crate::error::{Error, Result};
use crate::profile::{Family, MediaType, Profile};
use crate::sense::Sense;
use crate::transport::{hex, Completion, DataPhase, Transport};
use crate::BLOCK_SIZE;
use medium::{BAD_WRITE_ADDRESS, INVALID_FIELD, INVALID_PARAMETER, SEQUENCE_ERROR};

/// Invalid command operation code.
const INVALID_OPCODE: Sense = Sense::new(5, 0x20, 0x00);
/// Illegal mode for this track (write type does not suit the medium).
const ILLEGAL_MODE: Sense = Sense::new(5, 0x64, 0x00);
/// Write protected.
const WRITE_PROTECTED: Sense = Sense::new(7, 0x27, 0x00);
/// Medium may have changed.
const MEDIUM_CHANGED: Sense = Sense::new(6, 0x28, 0x00);
/// Medium removal prevented.
const REMOVAL_PREVENTED: Sense = Sense::new(5, 0x53, 0x02);

/// Default number of busy polls after an Immed operation: enough to make the
/// caller's polling loop run, short enough for tests.
const DEFAULT_BUSY_POLLS: u32 = 2;
/// Long write in progress: the drive is busy writing its buffer out.
const LONG_WRITE: Sense = Sense::new(2, 0x04, 0x08);
/// Body length of page 05 most drives report (a few newer ones report 36h).
pub const WRITE_PAGE_LEN: usize = 0x32;

/// The optional timing model: slow first WRITE, a drive that is now and then
/// busy writing its buffer out, slow SYNCHRONIZE CACHE and CLOSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long the first WRITE of a track takes (power calibration,
    /// lead-in): a host timeout shorter than this aborts the command, the
    /// kernel resets the drive, and the track is damaged, as on a real disc.
    pub first_write: Duration,
    /// Every Nth WRITE is answered 2/04/08 (long write in progress) and
    /// must be sent again (0: never).
    pub long_write_every: u32,
    /// TEST UNIT READY polls a SYNCHRONIZE CACHE or CLOSE with Immed stays
    /// busy (answering 2/04/08).
    pub sync_polls: u32,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            first_write: Duration::from_secs(60),
            long_write_every: 8,
            sync_polls: 12,
        }
    }
}

/// A long operation still running (its effect is already applied; only its
/// visibility is delayed, as with a drive working in the background).
#[derive(Debug, Clone, Copy)]
struct Busy {
    sense: Sense,
    left: u32,
    total: u32,
}

type Reply = std::result::Result<usize, Sense>;

/// The emulated drive.
pub struct Emulator {
    name: String,
    image: Flock<File>,
    state_path: PathBuf,
    state: DriveState,
    write_params: WriteParameters,
    prevent: bool,
    busy: Option<Busy>,
    busy_polls: u32,
    last_sense: Option<Sense>,
    faults: Vec<Fault>,
    decay: spec::Decay,
    counts: [u32; 256],
    blocks_written: u64,
    write_protected: bool,
    medium_hidden: bool,
    capacity_limit: Option<u32>,
    media_event: MediaEventCode,
    dirty: bool,
    /// Body length of page 05 (MODE SELECT must send exactly this).
    write_page_len: usize,
    /// Page 05 was selected since the drive was opened (CD needs it).
    page05_selected: bool,
    /// The volatile write cache: WRITE data not yet on the disc.
    cache: Vec<(u32, Vec<u8>)>,
    cache_bytes: usize,
    /// Cache buffers written out, kept for reuse (no allocation per WRITE).
    spare: Vec<Vec<u8>>,
    /// The disc as it was before the first cached write: what survives
    /// when the drive loses power with data in its cache.
    durable: Option<Medium>,
    timing: Option<Timing>,
    /// A WRITE went through since the last flush (the track is under way).
    warm: bool,
    writes: u32,
    /// Host timeout of the command being run.
    timeout: Duration,
    /// Page 2A reports buffer underrun protection.
    underrun_protection: bool,
    /// The drive loads through a slot (no tray): an ejected disc stays out.
    slot: bool,
    /// A blank CD's NWA is reported as −150.
    nwa_minus_150: bool,
    /// The drive's buffer: unsynchronized writes beyond this go to the disc.
    buffer_bytes: u32,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("name", &self.name)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The sidecar state path of an image.
pub fn state_path(image: &Path) -> PathBuf {
    let mut s = image.as_os_str().to_owned();
    s.push(".state");
    PathBuf::from(s)
}

impl Emulator {
    /// Opens an emulated device string `emulated:PATH?profile=NAME&...`.
    pub fn open_spec(spec: &str) -> Result<Emulator> {
        let (path, opts) = spec::parse(spec)?;
        Emulator::open_named(&path, opts, spec.to_string())
    }

    /// Opens (creating when missing) the image at `path`.
    pub fn open(path: &Path, opts: EmulatorOptions) -> Result<Emulator> {
        let name = format!("{PREFIX}{}", path.display());
        Emulator::open_named(path, opts, name)
    }

    fn open_named(path: &Path, opts: EmulatorOptions, name: String) -> Result<Emulator> {
        let open_err = |reason: String| Error::Open {
            device: name.clone(),
            reason,
        };
        let state_path = state_path(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| open_err(format!("{}: {e}", path.display())))?;
        // One process at a time, as O_EXCL gives for a real drive.
        let image = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|(_, e)| open_err(format!("image is in use by another process ({e})")))?;
        let image_len = image
            .metadata()
            .map_err(|e| open_err(format!("{}: {e}", path.display())))?
            .len();
        let with_capacity = |m: MediaType| MediaType {
            capacity: opts.capacity.unwrap_or(m.capacity),
            ..m
        };
        let mut fresh = false;
        let mut state = if state_path.exists() {
            DriveState::load(&state_path).map_err(open_err)?
        } else {
            fresh = true;
            let media = opts.media.ok_or_else(|| {
                open_err(format!(
                    "new emulated drive needs a disc type: add ?profile=NAME ({})",
                    MediaType::names()
                ))
            })?;
            let mut medium = Medium::blank(with_capacity(media));
            // An existing image without state is a disc holding that image.
            if image_len > 0 {
                let blocks = u32::try_from(image_len.div_ceil(BLOCK_SIZE as u64))
                    .map_err(|_| open_err("image is too large for a disc".into()))?;
                if medium.profile.overwritable() {
                    medium.formatted = true;
                    if medium.profile == Profile::DvdPlusRw {
                        medium.bg_format = medium::BgFormat::Complete;
                        medium.formatted_end = medium.capacity.max(blocks);
                    }
                } else {
                    medium.sessions.push(Session {
                        tracks: vec![Track {
                            start: 0,
                            written: blocks,
                            reserved: 0,
                            closed: true,
                            damaged: false,
                            run_out: 0,
                        }],
                        closed: true,
                    });
                }
                medium.capacity = medium.capacity.max(blocks);
            }
            DriveState {
                tray_open: false,
                medium: Some(medium),
                unit_attention: false,
            }
        };
        if let (Some(want), Some(have)) = (opts.media, state.medium.as_ref()) {
            // DVD-RW changes profile when formatted or blanked: still the same disc.
            let dvd_rw = |p: Profile| {
                matches!(
                    p,
                    Profile::DvdMinusRwRestricted | Profile::DvdMinusRwSequential
                )
            };
            let same =
                want.profile == have.profile || (dvd_rw(want.profile) && dvd_rw(have.profile));
            if !same {
                return Err(open_err(format!(
                    "the disc in this drive is {} ({}), not {}; remove {} to start over",
                    have.profile,
                    have.profile.key(),
                    want.name,
                    state_path.display()
                )));
            }
        } else if let (Some(want), None) = (opts.media, state.medium.as_ref()) {
            // An empty drive given a profile gets a new blank disc.
            image.set_len(0).map_err(|e| open_err(e.to_string()))?;
            state.medium = Some(Medium::blank(with_capacity(want)));
            state.tray_open = false;
            state.unit_attention = true;
            fresh = true;
        }
        let mut emu = Emulator {
            name: name.clone(),
            image,
            state_path,
            state,
            write_params: WriteParameters::default(),
            prevent: false,
            busy: None,
            busy_polls: opts.busy_polls.unwrap_or(DEFAULT_BUSY_POLLS),
            last_sense: None,
            faults: opts.faults,
            decay: opts.decay,
            counts: [0; 256],
            blocks_written: 0,
            write_protected: opts.write_protected,
            medium_hidden: opts.medium_removed,
            capacity_limit: None,
            media_event: MediaEventCode::NoChange,
            dirty: fresh,
            write_page_len: opts.write_page_len.unwrap_or(WRITE_PAGE_LEN),
            page05_selected: false,
            cache: Vec::new(),
            cache_bytes: 0,
            spare: Vec::new(),
            durable: None,
            timing: opts.timing,
            warm: false,
            writes: 0,
            timeout: crate::transport::DEFAULT_TIMEOUT,
            underrun_protection: opts.underrun_protection.unwrap_or(true),
            slot: opts.slot,
            nwa_minus_150: opts.blank_nwa_minus_150,
            buffer_bytes: opts
                .buffer_kib
                .map_or(respond::BUFFER_BYTES, |k| k.saturating_mul(1024)),
        };
        if opts.full {
            let used = emu.medium_ref().map_or(0, |m| {
                if m.profile.overwritable() {
                    0
                } else {
                    m.next_track_start()
                }
            });
            emu.capacity_limit = Some(used);
        }
        emu.save().map_err(|e| open_err(e.to_string()))?;
        Ok(emu)
    }

    /// Writes the state sidecar now (it is also written after every command
    /// that changes the disc structure, and on drop).
    pub fn save(&mut self) -> Result<()> {
        self.save_state(true)
    }

    /// [`Emulator::save`]; `sync` false overwrites the file in place (one
    /// page, still whole or not at all) and leaves it to the kernel, for the
    /// saves in the middle of a track: they survive the
    /// process being killed. A host crash may leave the open track's state
    /// older or newer than its unsynchronized image data; what SYNCHRONIZE
    /// CACHE and CLOSE made durable (closed tracks and sessions) is kept
    /// either way, as on a real disc.
    fn save_state(&mut self, sync: bool) -> Result<()> {
        if self.dirty {
            // Blocks still in the volatile cache are not on the disc yet.
            let on_disc;
            let state = match &self.durable {
                Some(m) => {
                    on_disc = DriveState {
                        medium: Some(m.clone()),
                        ..self.state.clone()
                    };
                    &on_disc
                }
                None => &self.state,
            };
            let saved = if sync {
                state.save(&self.state_path).map(|_| true)
            } else {
                state.save_in_place(&self.state_path)
            };
            saved
                .and_then(|done| match done {
                    true => Ok(()),
                    false => state.save_as(&self.state_path, false),
                })
                .map_err(|e| Error::Emulator {
                    device: self.name.clone(),
                    detail: format!("saving {}: {e}", self.state_path.display()),
                })?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Adds a fault to inject.
    pub fn inject(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    /// Reports the disc as write-protected (or not) from now on.
    pub fn set_write_protected(&mut self, on: bool) {
        self.write_protected = on;
    }

    /// Hides or shows the disc, as if it were taken out or put back; putting it
    /// back raises a unit attention, as a real drive does.
    pub fn set_medium_removed(&mut self, removed: bool) {
        if self.medium_hidden && !removed {
            self.state.unit_attention = true;
            self.media_event = MediaEventCode::NewMedia;
            self.dirty = true;
        } else if removed && !self.medium_hidden {
            self.media_event = MediaEventCode::MediaRemoval;
        }
        self.medium_hidden = removed;
    }

    /// Limits the usable capacity (a short or full disc); None restores it.
    pub fn set_capacity_limit(&mut self, blocks: Option<u32>) {
        self.capacity_limit = blocks;
    }

    /// Sets how many TEST UNIT READY polls an Immed operation stays busy.
    pub fn set_busy_polls(&mut self, polls: u32) {
        self.busy_polls = polls;
    }

    /// Sets the body length of page 05 the drive reports and requires back
    /// (default 32h; some drives use 36h).
    pub fn set_write_page_len(&mut self, len: usize) {
        self.write_page_len = len.clamp(14, 255);
    }

    /// Whether page 2A reports buffer underrun protection (default yes);
    /// without it a page 05 with BUFE set is refused.
    pub fn set_underrun_protection(&mut self, on: bool) {
        self.underrun_protection = on;
    }

    /// Reports a blank CD's next writable address as −150, as some drives do.
    pub fn set_blank_nwa_minus_150(&mut self, on: bool) {
        self.nwa_minus_150 = on;
    }

    /// Turns the timing model on (Some) or off (None, the default).
    pub fn set_timing(&mut self, timing: Option<Timing>) {
        self.timing = timing;
    }

    /// Blocks in the volatile write cache (written, not yet synchronized).
    pub fn cached_blocks(&self) -> u32 {
        (self.cache_bytes / BLOCK_SIZE) as u32
    }

    /// Writes the cache out to the disc, as a drive does at SYNCHRONIZE
    /// CACHE, before closing a track, or when its buffer is full.
    fn flush(&mut self) -> Result<()> {
        for (lba, data) in std::mem::take(&mut self.cache) {
            let offset = u64::from(lba) * BLOCK_SIZE as u64;
            self.image
                .write_all_at(&data, offset)
                .map_err(|e| self.io_err("writing", e))?;
            if self.spare.len() < 2 {
                self.spare.push(data);
            }
        }
        self.cache_bytes = 0;
        self.durable = None;
        self.warm = false;
        self.dirty = true;
        Ok(())
    }

    /// Replaces the disc with a new blank one of this type (the image is
    /// emptied); the next command sees a unit attention.
    pub fn load_blank(&mut self, media: MediaType) -> Result<()> {
        self.image.set_len(0).map_err(|e| Error::Emulator {
            device: self.name.clone(),
            detail: format!("emptying the image: {e}"),
        })?;
        self.state.medium = Some(Medium::blank(media));
        self.state.tray_open = false;
        self.state.unit_attention = true;
        self.media_event = MediaEventCode::NewMedia;
        self.medium_hidden = false;
        self.dirty = true;
        self.save()
    }

    /// The disc as the emulator models it (None when the tray is empty).
    pub fn medium(&self) -> Option<&Medium> {
        self.state.medium.as_ref()
    }

    /// Whether the tray is open.
    pub fn tray_open(&self) -> bool {
        self.state.tray_open
    }

    /// How many commands with this opcode arrived since opening.
    pub fn command_count(&self, opcode: u8) -> u32 {
        self.counts[usize::from(opcode)]
    }

    /// Blocks written since opening.
    pub fn blocks_written(&self) -> u64 {
        self.blocks_written
    }

    fn medium_ref(&self) -> Option<&Medium> {
        if self.state.tray_open || self.medium_hidden {
            None
        } else {
            self.state.medium.as_ref()
        }
    }

    fn capacity(&self, m: &Medium) -> u32 {
        self.capacity_limit
            .map_or(m.user_capacity(), |l| l.min(m.user_capacity()))
    }

    /// The disc, or the "no medium" sense a drive gives.
    fn need_medium(&self) -> std::result::Result<&Medium, Sense> {
        if self.state.tray_open {
            return Err(Sense::new(2, 0x3A, 0x02));
        }
        self.medium_ref().ok_or(Sense::new(2, 0x3A, 0x01))
    }

    fn need_medium_mut(&mut self) -> std::result::Result<&mut Medium, Sense> {
        self.need_medium()?;
        self.dirty = true;
        self.state.medium.as_mut().ok_or(Sense::new(2, 0x3A, 0x01))
    }

    fn need_writable(&self) -> std::result::Result<&Medium, Sense> {
        let m = self.need_medium()?;
        if self.write_protected {
            return Err(WRITE_PROTECTED);
        }
        Ok(m)
    }

    fn start_busy(&mut self, immed: bool, sense: Sense) {
        self.start_busy_for(immed, sense, 0);
    }

    /// After an Immed SYNCHRONIZE CACHE or CLOSE: busy writing, for longer
    /// and as "long write in progress" under the timing model.
    fn busy_writing(&mut self, immed: bool) {
        let polls = self.timing.map_or(0, |t| t.sync_polls);
        let sense = if polls > 0 {
            LONG_WRITE
        } else {
            Sense::new(2, 0x04, 0x07)
        };
        self.start_busy_for(immed, sense, polls);
    }

    /// Busy for the configured polls, or for `at_least` when that is more.
    fn start_busy_for(&mut self, immed: bool, sense: Sense, at_least: u32) {
        let polls = self.busy_polls.max(at_least);
        if immed && polls > 0 {
            self.busy = Some(Busy {
                sense,
                left: polls,
                total: polls,
            });
        }
    }

    fn busy_sense(&self) -> Option<Sense> {
        self.busy.map(|b| {
            let done = u32::from(u16::MAX) * (b.total - b.left) / b.total.max(1);
            b.sense.with_progress(done as u16)
        })
    }

    fn io_err(&self, what: &str, e: std::io::Error) -> Error {
        Error::Emulator {
            device: self.name.clone(),
            detail: format!("{what} the image: {e}"),
        }
    }

    /// Runs one CDB. `Ok(Err(sense))` is a check condition.
    fn dispatch(&mut self, cdb: &[u8], data: DataPhase<'_>) -> Result<Reply> {
        let opcode = cdb[0];
        self.counts[usize::from(opcode)] = self.counts[usize::from(opcode)].saturating_add(1);
        let nth = self.counts[usize::from(opcode)];
        if let Some(i) = self.faults.iter().position(
            |f| matches!(f.trigger, Trigger::Command { opcode: o, nth: n } if o == opcode && n == nth),
        ) {
            return Ok(Err(self.faults.remove(i).sense));
        }
        // These report state without disturbing it, as MMC requires.
        let passive = matches!(opcode, 0x12 | 0x46 | 0x4A);
        if opcode == 0x03 {
            return Ok(self.request_sense(cdb, data));
        }
        if !passive {
            // Time passes with every command the host sends while waiting.
            if let Some(b) = self.busy.as_mut() {
                b.left = b.left.saturating_sub(1);
                let sense = self.busy_sense();
                if self.busy.is_some_and(|b| b.left == 0) {
                    self.busy = None;
                }
                if let Some(s) = sense {
                    return Ok(Err(s));
                }
            }
            if self.state.unit_attention && self.medium_ref().is_some() {
                self.state.unit_attention = false;
                self.dirty = true;
                return Ok(Err(MEDIUM_CHANGED));
            }
        }
        let decode_fail = |_| INVALID_FIELD;
        let reply = match opcode {
            0x00 => self.need_medium().map(|_| 0),
            0x12 => respond::inquiry(cdb, data),
            0x46 => respond::configuration(self.medium_ref(), !self.slot, cdb, data),
            0xAD => self
                .need_medium()
                .and_then(|m| respond::disc_structure(m, self.write_protected, cdb, data)),
            0x4A => {
                let r = respond::event_status(
                    self.medium_ref(),
                    self.state.tray_open,
                    self.media_event,
                    cdb,
                    data,
                );
                if r.is_ok() {
                    self.media_event = MediaEventCode::NoChange;
                }
                r
            }
            0x25 => self
                .need_medium()
                .and_then(|m| respond::capacity(m, cdb, data)),
            0x51 => self
                .need_medium()
                .and_then(|m| respond::disc_information(m, self.capacity(m), cdb, data)),
            0x52 => self.need_medium().and_then(|m| {
                respond::track_information(m, self.capacity(m), self.nwa_minus_150, cdb, data)
            }),
            0x43 => self
                .need_medium()
                .and_then(|m| respond::toc(m, self.capacity(m), cdb, data)),
            0x23 => respond::format_capacities(self.medium_ref(), cdb, data),
            0x5A | 0x1A => respond::mode_sense(
                &self.write_params,
                respond::Traits {
                    write_page_len: self.write_page_len,
                    underrun_protection: self.underrun_protection,
                    locked: self.prevent,
                    buffer_bytes: self.buffer_bytes,
                    tray: !self.slot,
                },
                cdb,
                data,
            ),
            0x5C => respond::buffer_capacity(cdb, self.buffer_bytes, data),
            0xAC => respond::performance(self.medium_ref(), cdb, data),
            // Power calibration needs a disc but changes nothing we model.
            0x54 => match crate::cdb::perf::SendOpcInformation::decode(cdb) {
                Ok(_) => self.need_medium().map(|_| 0),
                Err(_) => Err(INVALID_FIELD),
            },
            0xBB => crate::cdb::perf::SetCdSpeed::decode(cdb)
                .map(|_| 0)
                .map_err(decode_fail),
            0xB6 => self.set_streaming(cdb, data),
            0x55 | 0x15 => self.mode_select(cdb, data),
            0x1E => match crate::cdb::spc::PreventAllowMediumRemoval::decode(cdb) {
                Ok(p) => {
                    self.prevent = p.prevent;
                    Ok(0)
                }
                Err(_) => Err(INVALID_FIELD),
            },
            0x1B => self.start_stop(cdb),
            0x28 => return self.read(cdb, data),
            0x2A => return self.write(cdb, data),
            0x35 => return self.sync_cache(cdb),
            0x5B => return self.close(cdb),
            0x53 => self.reserve(cdb),
            0xA1 => return self.blank(cdb),
            0x04 => return self.format(cdb, data),
            _ => Err(INVALID_OPCODE),
        };
        Ok(reply)
    }

    fn request_sense(&mut self, cdb: &[u8], data: DataPhase<'_>) -> Reply {
        let req = crate::cdb::spc::RequestSense::decode(cdb).map_err(|_| INVALID_FIELD)?;
        let sense = match self.busy_sense() {
            Some(s) => s,
            None if self.state.unit_attention && self.medium_ref().is_some() => {
                self.state.unit_attention = false;
                self.dirty = true;
                MEDIUM_CHANGED
            }
            None => self.last_sense.take().unwrap_or(Sense::new(0, 0, 0)),
        };
        Ok(respond::put(
            data,
            usize::from(req.alloc),
            &sense.to_fixed(),
        ))
    }

    fn mode_select(&mut self, cdb: &[u8], data: DataPhase<'_>) -> Reply {
        let DataPhase::ToDevice(bytes) = data else {
            return Err(INVALID_FIELD);
        };
        let (params, header) = if cdb[0] == ModeSelect6::OPCODE {
            let sel = ModeSelect6::decode(cdb).map_err(|_| INVALID_FIELD)?;
            let list = &bytes[..usize::from(sel.len).min(bytes.len())];
            (ModeParameters::parse6(list), list.get(..4))
        } else {
            let sel = ModeSelect10::decode(cdb).map_err(|_| INVALID_FIELD)?;
            let list = &bytes[..usize::from(sel.len).min(bytes.len())];
            (ModeParameters::parse(list), list.get(..8))
        };
        // In a MODE SELECT list the header's data length and medium type
        // are reserved, and an MMC drive takes no block descriptors.
        if header.is_none_or(|h| h.iter().any(|&b| b != 0)) {
            return Err(INVALID_PARAMETER);
        }
        let params = params.map_err(|_| INVALID_PARAMETER)?;
        for page in &params.pages {
            match page.code {
                PAGE_WRITE_PARAMETERS => {
                    if page.ps || page.body.len() != self.write_page_len {
                        return Err(INVALID_PARAMETER);
                    }
                    // Only the changeable bits may be set.
                    let mask = respond::write_page_changeable(self.write_page_len);
                    if page.body.iter().zip(&mask.body).any(|(b, m)| b & !m != 0) {
                        return Err(INVALID_PARAMETER);
                    }
                    let wp = WriteParameters::from_page(page).map_err(|_| INVALID_PARAMETER)?;
                    if wp.bufe && !self.underrun_protection {
                        return Err(INVALID_PARAMETER);
                    }
                    // Burning programs probe write modes by MODE SELECT: refuse
                    // what this drive cannot record on the loaded medium.
                    if let Some(m) = self.medium_ref() {
                        if !write_mode_supported(m.profile, &wp) {
                            return Err(INVALID_PARAMETER);
                        }
                    }
                    self.write_params = wp;
                    self.page05_selected = true;
                }
                PAGE_CAPABILITIES | PAGE_ERROR_RECOVERY => {}
                _ => return Err(INVALID_PARAMETER),
            }
        }
        Ok(bytes.len())
    }

    fn set_streaming(&mut self, cdb: &[u8], data: DataPhase<'_>) -> Reply {
        let cmd = SetStreaming::decode(cdb).map_err(|_| INVALID_FIELD)?;
        let DataPhase::ToDevice(bytes) = data else {
            return Err(INVALID_FIELD);
        };
        let d = StreamingDescriptor::parse(&bytes[..usize::from(cmd.len).min(bytes.len())])
            .map_err(|_| INVALID_PARAMETER)?;
        if d.end_lba < d.start_lba {
            return Err(INVALID_PARAMETER);
        }
        // The descriptor covers blocks of this disc (restoring defaults needs no range).
        let m = self.need_medium()?;
        let last = self.capacity(m).max(m.capacity).saturating_sub(1);
        if !d.rdd && d.end_lba > last {
            return Err(INVALID_PARAMETER);
        }
        Ok(28)
    }

    fn start_stop(&mut self, cdb: &[u8]) -> Reply {
        let cmd = StartStopUnit::decode(cdb).map_err(|_| INVALID_FIELD)?;
        match cmd.action {
            StartStopAction::Eject => {
                if self.prevent {
                    return Err(REMOVAL_PREVENTED);
                }
                if !self.state.tray_open {
                    self.state.tray_open = true;
                    self.media_event = MediaEventCode::MediaRemoval;
                    self.dirty = true;
                }
            }
            // A slot takes no load command: the ejected disc stays out.
            StartStopAction::Load if self.slot => {}
            StartStopAction::Load => {
                if self.state.tray_open {
                    self.state.tray_open = false;
                    if self.state.medium.is_some() {
                        self.state.unit_attention = true;
                        self.media_event = MediaEventCode::NewMedia;
                    }
                    self.dirty = true;
                }
            }
            StartStopAction::Start | StartStopAction::Stop => {
                self.need_medium()?;
            }
        }
        Ok(0)
    }

    fn read(&mut self, cdb: &[u8], data: DataPhase<'_>) -> Result<Reply> {
        let Ok(cmd) = Read10::decode(cdb) else {
            return Ok(Err(INVALID_FIELD));
        };
        let m = match self.need_medium() {
            Ok(m) => m,
            Err(s) => return Ok(Err(s)),
        };
        let len = usize::from(cmd.blocks) * BLOCK_SIZE;
        let DataPhase::FromDevice(buf) = data else {
            return Ok(Err(INVALID_FIELD));
        };
        if buf.len() < len {
            return Err(self.length_mismatch(Read10::NAME, len, buf.len()));
        }
        if !m.readable(cmd.lba, u32::from(cmd.blocks)) {
            return Ok(Err(medium::OUT_OF_RANGE));
        }
        if self.decay.unreadable_in(cmd.lba, u32::from(cmd.blocks)) {
            // MEDIUM ERROR, unrecovered read error.
            return Ok(Err(crate::sense::Sense::new(3, 0x11, 0x00)));
        }
        let buf = &mut buf[..len];
        let mut at = 0;
        let offset = u64::from(cmd.lba) * BLOCK_SIZE as u64;
        // The image may end before the disc does: the rest reads as zeros.
        while at < len {
            match self.image.read_at(&mut buf[at..], offset + at as u64) {
                Ok(0) => break,
                Ok(n) => at += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err("reading", e)),
            }
        }
        buf[at..].fill(0);
        // Blocks still in the cache read as written (drives read their buffer).
        let (lo, hi) = (
            u64::from(cmd.lba),
            u64::from(cmd.lba) + u64::from(cmd.blocks),
        );
        for (at, bytes) in &self.cache {
            let (a, b) = (
                u64::from(*at),
                u64::from(*at) + (bytes.len() / BLOCK_SIZE) as u64,
            );
            let (from, to) = (a.max(lo), b.min(hi));
            if from < to {
                let src = ((from - a) as usize) * BLOCK_SIZE..((to - a) as usize) * BLOCK_SIZE;
                let dst = ((from - lo) as usize) * BLOCK_SIZE;
                buf[dst..dst + src.len()].copy_from_slice(&bytes[src]);
            }
        }
        self.decay.apply(cmd.lba, buf);
        Ok(Ok(len))
    }

    fn length_mismatch(&self, command: &'static str, want: usize, got: usize) -> Error {
        Error::Transport {
            device: self.name.clone(),
            command,
            detail: format!("transfer length is {want} bytes but the buffer holds {got}"),
        }
    }

    fn write(&mut self, cdb: &[u8], data: DataPhase<'_>) -> Result<Reply> {
        let Ok(cmd) = Write10::decode(cdb) else {
            return Ok(Err(INVALID_FIELD));
        };
        let DataPhase::ToDevice(bytes) = data else {
            return Ok(Err(INVALID_FIELD));
        };
        let len = usize::from(cmd.blocks) * BLOCK_SIZE;
        if bytes.len() != len {
            return Err(self.length_mismatch(Write10::NAME, len, bytes.len()));
        }
        // Rules first: a refused WRITE records nothing and consumes no fault.
        let checked = self.need_writable().and_then(|m| {
            self.check_write_mode(m)?;
            self.check_write_unit(m, cmd.lba, u32::from(cmd.blocks))?;
            let cap = self.capacity(m);
            let overwrite = m.profile.overwritable();
            if overwrite {
                m.check_overwrite(cmd.lba, u32::from(cmd.blocks), cap)?;
            }
            Ok((cap, overwrite, m.pow))
        });
        let (cap, overwrite, pow) = match checked {
            Ok(v) => v,
            Err(s) => return Ok(Err(s)),
        };
        // A test write (page 05 Test Write on CD/DVD-R) records nothing.
        if self.write_params.test_write && self.page05_selected && page05_applies(self.profile()) {
            return Ok(Ok(len));
        }
        if let Some(t) = self.timing {
            self.writes += 1;
            if !self.warm && self.timeout < t.first_write {
                return self.write_timed_out(cmd.lba, u32::from(cmd.blocks), cap, t);
            }
            if t.long_write_every > 0 && self.writes.is_multiple_of(t.long_write_every) {
                return Ok(Err(LONG_WRITE));
            }
        }
        // A block fault lets the blocks before it reach the disc, then fails.
        let first = self.blocks_written;
        let fault = self.faults.iter().position(|f| {
            matches!(f.trigger, Trigger::Block(b) if b >= first && b < first + u64::from(cmd.blocks))
        });
        let (blocks, fail) = match fault {
            Some(i) => {
                let f = self.faults.remove(i);
                let good = match f.trigger {
                    Trigger::Block(b) => (b - first) as u32,
                    Trigger::Command { .. } => 0,
                };
                let mut sense = f.sense;
                sense.information = Some(cmd.lba.saturating_add(good));
                (good, Some(sense))
            }
            None => (u32::from(cmd.blocks), None),
        };
        if blocks > 0 {
            if self.durable.is_none() {
                self.durable = self.state.medium.clone();
            }
            let r = self.need_medium_mut().and_then(|m| {
                if overwrite {
                    m.overwritten(cmd.lba + blocks);
                    Ok(())
                } else if pow && cmd.lba < m.nwa(cap).unwrap_or(0) {
                    // Pseudo-Overwrite remaps a rewrite of recorded blocks.
                    m.check_pow_overwrite(cmd.lba, blocks)
                } else {
                    m.write_sequential(cmd.lba, blocks, cap)
                }
            });
            if let Err(s) = r {
                return Ok(Err(s));
            }
            let n = blocks as usize * BLOCK_SIZE;
            // Consecutive WRITEs gather in one buffer, written out in one go.
            let data = &bytes[..n];
            match self.cache.last_mut() {
                Some((at, buf))
                    if u64::from(*at) + (buf.len() / BLOCK_SIZE) as u64 == u64::from(cmd.lba) =>
                {
                    buf.extend_from_slice(data)
                }
                _ => {
                    let mut buf = self.spare.pop().unwrap_or_default();
                    buf.clear();
                    buf.reserve(self.buffer_bytes as usize + n);
                    buf.extend_from_slice(data);
                    self.cache.push((cmd.lba, buf));
                }
            }
            self.cache_bytes += n;
            self.blocks_written += u64::from(blocks);
            self.warm = true;
            self.dirty = true;
            // A full buffer goes out to the disc.
            if self.cache_bytes > self.buffer_bytes as usize {
                self.flush()?;
            }
        }
        Ok(match fail {
            Some(s) => Err(s),
            None => Ok(len),
        })
    }

    /// The host gave up on a slow first WRITE: the kernel aborts it and
    /// resets the drive. What the drive had started is lost and the track
    /// is damaged; the host sees a transport error, as SG_IO reports one.
    fn write_timed_out(&mut self, lba: u32, blocks: u32, cap: u32, t: Timing) -> Result<Reply> {
        self.cache.clear();
        self.cache_bytes = 0;
        let m = self.state.medium.as_mut();
        if let Some(m) = m.filter(|m| !m.profile.overwritable()) {
            if m.write_sequential(lba, blocks, cap).is_ok() {
                m.damage_track_at(lba);
            }
        }
        self.durable = None;
        self.dirty = true;
        self.save()?;
        Err(Error::Transport {
            device: self.name.clone(),
            command: Write10::NAME,
            detail: format!(
                "timed out after {:?} (the first WRITE takes {:?}); the drive was reset",
                self.timeout, t.first_write
            ),
        })
    }

    fn profile(&self) -> Option<Profile> {
        self.medium_ref().map(|m| m.profile)
    }

    /// Write-once DVD and BD record whole ECC blocks (16 blocks; BD 32) and
    /// fixed-packet tracks whole packets; CD needs page 05 selected first.
    fn check_write_unit(
        &self,
        m: &Medium,
        lba: u32,
        blocks: u32,
    ) -> std::result::Result<(), Sense> {
        if m.finalized {
            return Err(BAD_WRITE_ADDRESS);
        }
        if m.profile.family() == Family::Cd {
            return if self.page05_selected {
                Ok(())
            } else {
                Err(SEQUENCE_ERROR)
            };
        }
        // Restricted overwrite is written in whole 16-block packets at
        // packet boundaries (feature 0026h, Blocking 16), as growisofs pads.
        if m.profile == Profile::DvdMinusRwRestricted {
            if !lba.is_multiple_of(16) {
                return Err(BAD_WRITE_ADDRESS);
            }
            if !blocks.is_multiple_of(16) {
                return Err(INVALID_FIELD);
            }
        }
        if m.profile.overwritable() || m.pow {
            return Ok(());
        }
        let mut unit = m.profile.ecc_blocks();
        if page05_applies(Some(m.profile)) && self.write_params.fp {
            unit = unit.max(self.write_params.packet_size.max(1));
        }
        if !lba.is_multiple_of(unit) {
            return Err(BAD_WRITE_ADDRESS);
        }
        if !blocks.is_multiple_of(unit) {
            return Err(INVALID_FIELD);
        }
        Ok(())
    }

    /// CD and DVD-R writing needs a write type and block type that fit, and a
    /// quick-blanked DVD-RW takes no incremental writes.
    fn check_write_mode(&self, m: &Medium) -> std::result::Result<(), Sense> {
        let quick_blanked = m.profile == Profile::DvdMinusRwSequential && !m.incremental_ok();
        if write_mode_supported(m.profile, &self.write_params) && !quick_blanked {
            Ok(())
        } else {
            Err(ILLEGAL_MODE)
        }
    }

    fn sync_cache(&mut self, cdb: &[u8]) -> Result<Reply> {
        let Ok(cmd) = SynchronizeCache::decode(cdb) else {
            return Ok(Err(INVALID_FIELD));
        };
        let m = match self.need_medium() {
            Ok(m) => m,
            Err(s) => return Ok(Err(s)),
        };
        let tao = m.profile.family() == Family::Cd
            && self.write_params.write_type == WriteType::TrackAtOnce;
        if self
            .timing
            .is_some_and(|t| !cmd.immed && self.timeout < t.first_write / 2)
            && self.warm
        {
            // Without Immed the command lasts as long as writing the buffer.
            return Err(Error::Transport {
                device: self.name.clone(),
                command: SynchronizeCache::NAME,
                detail: format!("timed out after {:?}", self.timeout),
            });
        }
        // In TAO the drive ends the track when the host flushes (a track
        // shorter than 300 blocks cannot be ended).
        if tao {
            let test = self.write_params.test_write;
            if !test {
                if let Err(s) = self.need_medium_mut().and_then(Medium::close_open_tracks) {
                    return Ok(Err(s));
                }
            }
        }
        self.flush()?;
        // What a drive has synchronized is on the disc for good: the image
        // too, not only the kernel's cache of it, before the command returns.
        self.image
            .sync_data()
            .map_err(|e| self.io_err("synchronizing", e))?;
        self.busy_writing(cmd.immed);
        Ok(Ok(0))
    }

    fn close(&mut self, cdb: &[u8]) -> Result<Reply> {
        let Ok(cmd) = CloseTrackSession::decode(cdb) else {
            return Ok(Err(INVALID_FIELD));
        };
        let m = match self.need_writable() {
            Ok(m) => m,
            Err(s) => return Ok(Err(s)),
        };
        let cap = self.capacity(m);
        let profile = m.profile;
        let overwritable = profile.overwritable();
        // Page 05's multi-session field decides on CD and DVD-R whether a
        // closed session also closes the disc.
        let finalize_by_page = page05_applies(Some(profile)) && self.write_params.multisession == 0;
        let closes_session = matches!(
            cmd.function,
            CloseFunction::Session | CloseFunction::Finalize | CloseFunction::FinalizeMinimalRadius
        );
        // A session cannot close over data still in the cache (an open,
        // unsynchronized track); a track is closed after its data is out.
        if closes_session && !self.cache.is_empty() {
            return Ok(Err(SEQUENCE_ERROR));
        }
        if cmd.function == CloseFunction::Track {
            self.flush()?;
        }
        // Test writes leave the disc as it was.
        let test = self.write_params.test_write && page05_applies(Some(profile));
        let r = match cmd.function {
            _ if test && !overwritable => Ok(()),
            CloseFunction::StopFormat if profile == Profile::DvdPlusRw => {
                self.need_medium_mut().map(Medium::stop_format)
            }
            CloseFunction::Track if !overwritable => self
                .need_medium_mut()
                .and_then(|m| m.close_track(cmd.track)),
            CloseFunction::Session if overwritable => {
                self.need_medium_mut().map(Medium::stop_format)
            }
            CloseFunction::Session => self
                .need_medium_mut()
                .and_then(|m| m.close_session(finalize_by_page, cap)),
            CloseFunction::FinalizeMinimalRadius if profile == Profile::DvdPlusR => self
                .need_medium_mut()
                .and_then(|m| m.close_session(true, cap)),
            CloseFunction::Finalize if matches!(profile, Profile::DvdPlusR | Profile::BdR) => self
                .need_medium_mut()
                .and_then(|m| m.close_session(true, cap)),
            _ => Err(INVALID_FIELD),
        };
        if let Err(s) = r {
            return Ok(Err(s));
        }
        if closes_session {
            // Linux keeps the old disc size unless told the medium changed.
            self.media_event = MediaEventCode::NewMedia;
        }
        self.busy_writing(cmd.immed);
        Ok(Ok(0))
    }

    fn reserve(&mut self, cdb: &[u8]) -> Reply {
        let cmd = ReserveTrack::decode(cdb).map_err(|_| INVALID_FIELD)?;
        let m = self.need_writable()?;
        let cap = self.capacity(m);
        self.need_medium_mut()?.reserve(cmd.blocks, cap)?;
        Ok(0)
    }

    fn blank(&mut self, cdb: &[u8]) -> Result<Reply> {
        let Ok(cmd) = Blank::decode(cdb) else {
            return Ok(Err(INVALID_FIELD));
        };
        if let Err(s) = self.need_writable() {
            return Ok(Err(s));
        }
        let r = self
            .need_medium_mut()
            .and_then(|m| m.blank_medium(cmd.kind));
        if let Err(s) = r {
            return Ok(Err(s));
        }
        let now_blank = self.state.medium.as_ref().is_some_and(Medium::is_blank);
        if now_blank {
            self.image
                .set_len(0)
                .map_err(|e| self.io_err("emptying", e))?;
        }
        self.start_busy(cmd.immed, Sense::new(2, 0x04, 0x07));
        Ok(Ok(0))
    }

    fn format(&mut self, cdb: &[u8], data: DataPhase<'_>) -> Result<Reply> {
        let Ok(cmd) = FormatUnit::decode(cdb) else {
            return Ok(Err(INVALID_FIELD));
        };
        let DataPhase::ToDevice(bytes) = data else {
            return Ok(Err(INVALID_FIELD));
        };
        if !cmd.fmt_data {
            return Ok(Err(INVALID_FIELD));
        }
        let Ok(params) = FormatParameters::parse(bytes) else {
            return Ok(Err(INVALID_PARAMETER));
        };
        if let Err(s) = self.need_writable() {
            return Ok(Err(s));
        }
        let was = self.state.medium.as_ref().map(|m| m.profile);
        let d = params.descriptor;
        let r = self
            .need_medium_mut()
            .and_then(|m| m.format(d.format_type, d.subtype, d.blocks, d.param));
        if let Err(s) = r {
            return Ok(Err(s));
        }
        // Reformatting DVD-RW discards the sequential recording.
        if was == Some(Profile::DvdMinusRwSequential) {
            self.image
                .set_len(0)
                .map_err(|e| self.io_err("emptying", e))?;
        }
        self.start_busy(params.immed, Sense::new(2, 0x04, 0x04));
        Ok(Ok(bytes.len()))
    }
}

/// Whether page 05 governs writing on this medium (CD and DVD-R/-RW
/// sequential; MMC says DVD+R and BD-R take none, and drives ignore it there).
fn page05_applies(profile: Option<Profile>) -> bool {
    matches!(
        profile,
        Some(Profile::CdR | Profile::CdRw | Profile::DvdMinusR | Profile::DvdMinusRwSequential)
    )
}

/// Write modes the emulated drive records: CD in TAO with Mode 1 blocks in
/// a data track (mode 4); DVD-R/-RW sequential in incremental mode with Mode
/// 1 blocks in an incremental track (mode 5), link size 16 (LS_V set) and,
/// for fixed packets, 16-block packets. Other media ignore page 05.
fn write_mode_supported(profile: Profile, wp: &WriteParameters) -> bool {
    match profile {
        Profile::CdR | Profile::CdRw => {
            wp.write_type == WriteType::TrackAtOnce
                && wp.data_block_type == DATA_BLOCK_MODE1
                && wp.track_mode == TRACK_MODE_DATA
        }
        Profile::DvdMinusR | Profile::DvdMinusRwSequential => {
            wp.write_type == WriteType::Incremental
                && wp.data_block_type == DATA_BLOCK_MODE1
                && wp.track_mode == TRACK_MODE_INCREMENTAL
                && wp.ls_v
                && wp.link_size == 16
                && (!wp.fp || wp.packet_size == 16)
        }
        _ => true,
    }
}

impl Transport for Emulator {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<Completion> {
        self.timeout = timeout;
        let Some(&opcode) = cdb.first() else {
            return Err(Error::Transport {
                device: self.name.clone(),
                command: "empty CDB",
                detail: "no bytes to send".into(),
            });
        };
        if cdb.len() < cdb_len(opcode).min(12) {
            return Ok(Completion::check(INVALID_FIELD));
        }
        log::debug!("{}: CDB {} ({})", self.name, hex(cdb), opcode_name(opcode));
        let reply = self.dispatch(cdb, data)?;
        let done = match reply {
            Ok(n) => Completion::good(n),
            Err(sense) => {
                log::debug!("{}: {} -> {}", self.name, opcode_name(opcode), sense);
                self.last_sense = Some(sense);
                // The bytes travel as fixed-format sense and are decoded again,
                // exactly as on the SG_IO path.
                let decoded = Sense::parse(&sense.to_fixed()).unwrap_or(sense);
                Completion::check(decoded)
            }
        };
        // The sidecar always holds what the disc would after a power cut:
        // a WRITE whose data only reached the volatile cache changes nothing
        // there (`durable` is what is on the disc), but one that made the
        // cache go out to the disc is recorded before the command returns,
        // so a process killed mid-track leaves the state and the image in
        // step.
        if self.dirty && opcode != Write10::OPCODE {
            self.save()?;
        } else if self.dirty && self.durable.is_none() {
            self.save_state(false)?;
        }
        Ok(done)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Err(e) = self.save() {
            log::warn!("{e}");
        }
    }
}
