//! The drive-logic layer: what a backup program asks of a burner (identify
//! drive and medium, blank, format, write a session, close, eject, read back),
//! built only from the command layer, so it works the same on a real drive and
//! on the emulated one.

mod blocks;
mod erase;
mod info;
mod speed;
mod write;

use std::thread;
use std::time::{Duration, Instant};

pub use blocks::{BlockReader, ReadError, DEFAULT_READ_AHEAD};
pub use erase::BlankMode;
pub use info::{Identity, MediaState, MediumInfo};
pub use write::{FreeSpace, NoProgress, Progress, WriteOptions, WriteReport};

use crate::cdb::config::{
    Configuration, EventStatus, GetConfiguration, GetEventStatusNotification, MediaEventCode,
    RequestType, EVENT_CLASS_MEDIA,
};
use crate::cdb::rw::Read10;
use crate::cdb::spc::{PreventAllowMediumRemoval, StartStopAction, StartStopUnit, TestUnitReady};
use crate::cdb::structure::{
    ReadDiscStructure, StructureMedia, WriteProtection, FEATURE_WRITE_PROTECT,
    FORMAT_WRITE_PROTECTION,
};
use crate::cdb::{run, Command, Response};
use crate::error::{Error, MediumError, Result};
use crate::profile::Family;
use crate::sense::ILLEGAL_REQUEST;
use crate::transport::{DataPhase, Transport, DEFAULT_TIMEOUT, LONG_TIMEOUT};
use crate::BLOCK_SIZE;

/// How long a long operation (blank, format, close) may keep the drive busy.
const BUSY_LIMIT: Duration = Duration::from_secs(2 * 60 * 60);
/// Unit attentions in a row before giving up on a command.
const ATTENTION_RETRIES: u32 = 4;

/// A drive (real or emulated) and the state the drive logic keeps about it.
pub struct Drive {
    t: Box<dyn Transport>,
    poll_max: Duration,
    /// Body length of the drive's page 05, once read (MODE SELECT must send it back).
    write_page_len: Option<usize>,
    /// Whether page 2A says the drive has buffer underrun protection (BUFE allowed).
    underrun_protection: Option<bool>,
}

impl std::fmt::Debug for Drive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drive")
            .field("device", &self.t.name())
            .finish()
    }
}

impl Drive {
    /// Wraps an opened transport.
    pub fn new(t: Box<dyn Transport>) -> Drive {
        Drive {
            t,
            poll_max: Duration::from_millis(500),
            write_page_len: None,
            underrun_protection: None,
        }
    }

    /// Opens a device path or `emulated:` string ([`crate::open_device`]).
    pub fn open(spec: &str) -> Result<Drive> {
        Ok(Drive::new(crate::open_device(spec)?))
    }

    /// The device name used in messages.
    pub fn name(&self) -> &str {
        self.t.name()
    }

    /// The longest pause between TEST UNIT READY polls (default 500 ms;
    /// polling starts at 10 ms and doubles up to this).
    pub fn set_poll_interval(&mut self, max: Duration) {
        self.poll_max = max;
    }

    /// The transport, for sending commands the drive layer does not wrap.
    pub fn transport_mut(&mut self) -> &mut dyn Transport {
        self.t.as_mut()
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> Box<dyn Transport> {
        self.t
    }

    pub(crate) fn medium_error(&self, problem: MediumError) -> Error {
        Error::Medium {
            device: self.t.name().to_string(),
            problem,
        }
    }

    /// Sends one command, retrying after unit attentions (medium changed,
    /// reset) and while the drive reports it is becoming ready.
    pub(crate) fn exec<C: Command>(
        &mut self,
        cmd: &C,
        mut data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<usize> {
        let mut attentions = 0;
        let started = Instant::now();
        let mut pause = Duration::from_millis(10);
        loop {
            let phase = match &mut data {
                DataPhase::None => DataPhase::None,
                DataPhase::ToDevice(b) => DataPhase::ToDevice(b),
                DataPhase::FromDevice(b) => DataPhase::FromDevice(b),
            };
            match run(self.t.as_mut(), cmd, phase, timeout) {
                Err(Error::Sense { sense, .. })
                    if sense.is_unit_attention() && attentions < ATTENTION_RETRIES =>
                {
                    attentions += 1;
                }
                // Becoming ready, or a long write still draining: wait and resend.
                Err(Error::Sense { sense, .. })
                    if sense.key == 2
                        && sense.asc == 4
                        && matches!(sense.ascq, 1 | 7 | 8)
                        && started.elapsed() < BUSY_LIMIT =>
                {
                    thread::sleep(pause);
                    pause = (pause * 2).min(self.poll_max);
                }
                other => return other,
            }
        }
    }

    /// Sends a data-in command and parses the reply.
    pub(crate) fn ask<C: Command, R: Response>(&mut self, cmd: &C, alloc: usize) -> Result<R> {
        let mut buf = vec![0u8; alloc];
        let n = self.exec(cmd, DataPhase::FromDevice(&mut buf), DEFAULT_TIMEOUT)?;
        R::parse(&buf[..n.min(alloc)]).map_err(|source| Error::Response {
            device: self.t.name().to_string(),
            command: C::NAME,
            source,
        })
    }

    /// Polls TEST UNIT READY until the drive stops reporting "in progress"
    /// (after an Immed sync, close, blank or format). Fails on any other sense.
    pub fn wait_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(10);
        loop {
            match run(
                self.t.as_mut(),
                &TestUnitReady,
                DataPhase::None,
                DEFAULT_TIMEOUT,
            ) {
                Ok(_) => return Ok(()),
                Err(Error::Sense { sense, .. })
                    if (sense.is_in_progress() || sense.is_unit_attention())
                        && started.elapsed() < BUSY_LIMIT =>
                {
                    if let Some(p) = sense.progress {
                        log::debug!(
                            "{}: {:.0}% done",
                            self.t.name(),
                            f64::from(p) * 100.0 / 65536.0
                        );
                    }
                    if sense.is_in_progress() {
                        thread::sleep(pause);
                        pause = (pause * 2).min(self.poll_max);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether a medium is loaded and ready (false for "no medium").
    pub fn medium_present(&mut self) -> Result<bool> {
        match self.wait_ready() {
            Ok(()) => Ok(true),
            Err(Error::Sense { sense, .. }) if sense.is_no_medium() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The current profile number (0 when there is no medium).
    pub fn current_profile(&mut self) -> Result<u16> {
        let cmd = GetConfiguration {
            request: RequestType::Current,
            start_feature: 0,
            alloc: 8,
        };
        let c: Configuration = self.ask(&cmd, 8)?;
        Ok(c.current_profile)
    }

    /// Whether the drive reports this feature as current for the loaded medium.
    pub fn feature_current(&mut self, code: u16) -> Result<bool> {
        let cmd = GetConfiguration {
            request: RequestType::One,
            start_feature: code,
            alloc: 64,
        };
        let c: Configuration = self.ask(&cmd, 64)?;
        Ok(c.feature(code).is_some_and(|f| f.current))
    }

    /// The loaded medium's write protection as the drive reports it before
    /// anything is written: on DVD and BD media, when the drive lists the
    /// Write Protect feature (0004h) as current, READ DISC STRUCTURE format
    /// C0h. None when the drive cannot tell (a CD, no medium, a drive
    /// without the feature or refusing C0h); a protected medium is then refused at the
    /// first WRITE (sense 7/27/xx, [`Error::medium`]).
    pub fn write_protection(&mut self) -> Result<Option<WriteProtection>> {
        let media = match crate::Profile::from_number(self.current_profile()?).map(|p| p.family()) {
            Some(Family::Dvd) => StructureMedia::Dvd,
            Some(Family::Bd) => StructureMedia::Bd,
            _ => return Ok(None),
        };
        if !self.feature_current(FEATURE_WRITE_PROTECT)? {
            return Ok(None);
        }
        let cmd = ReadDiscStructure {
            media,
            address: 0,
            layer: 0,
            format: FORMAT_WRITE_PROTECTION,
            alloc: 8,
        };
        match self.ask(&cmd, 8) {
            Ok(w) => Ok(Some(w)),
            // A drive that lists the feature but refuses the format (an
            // illegal request) cannot tell either.
            Err(Error::Sense { sense, .. }) if sense.key == ILLEGAL_REQUEST => {
                log::debug!(
                    "{}: {} C0h refused: {sense}",
                    self.name(),
                    ReadDiscStructure::NAME
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Polls GET EVENT STATUS NOTIFICATION for a media event (new medium,
    /// removal, eject request); None when nothing happened.
    pub fn media_event(&mut self) -> Result<Option<MediaEventCode>> {
        let cmd = GetEventStatusNotification {
            polled: true,
            class_request: EVENT_CLASS_MEDIA,
            alloc: 8,
        };
        let e: EventStatus = self.ask(&cmd, 8)?;
        Ok(e.media
            .map(|m| m.code)
            .filter(|c| *c != MediaEventCode::NoChange))
    }

    /// Unlocks the tray and ejects the medium.
    pub fn eject(&mut self) -> Result<()> {
        self.exec(
            &PreventAllowMediumRemoval { prevent: false },
            DataPhase::None,
            DEFAULT_TIMEOUT,
        )?;
        let cmd = StartStopUnit {
            immed: false,
            action: StartStopAction::Eject,
        };
        self.exec(&cmd, DataPhase::None, LONG_TIMEOUT).map(|_| ())
    }

    /// Closes the tray and waits for the medium to become ready.
    pub fn load(&mut self) -> Result<()> {
        let cmd = StartStopUnit {
            immed: false,
            action: StartStopAction::Load,
        };
        self.exec(&cmd, DataPhase::None, LONG_TIMEOUT)?;
        match self.wait_ready() {
            Err(Error::Sense { sense, .. }) if sense.is_no_medium() => Ok(()),
            other => other,
        }
    }

    /// PREVENT ALLOW MEDIUM REMOVAL with Prevent off: unlocks the tray (what
    /// `eject -i off` does; some systems leave it locked after a write).
    pub fn allow_removal(&mut self) -> Result<()> {
        self.exec(
            &PreventAllowMediumRemoval { prevent: false },
            DataPhase::None,
            DEFAULT_TIMEOUT,
        )
        .map(|_| ())
    }

    /// Reads `buf.len() / 2048` blocks starting at `lba`.
    pub fn read_blocks(&mut self, lba: u32, buf: &mut [u8]) -> Result<()> {
        if !buf.len().is_multiple_of(BLOCK_SIZE) {
            return Err(self.medium_error(MediumError::DriveLimit(format!(
                "read buffer of {} bytes is not a whole number of 2048-byte blocks",
                buf.len()
            ))));
        }
        let per = (self.t.max_transfer() / BLOCK_SIZE).clamp(1, usize::from(u16::MAX));
        let mut lba = lba;
        for chunk in buf.chunks_mut(per * BLOCK_SIZE) {
            let blocks = (chunk.len() / BLOCK_SIZE) as u16;
            self.exec(
                &Read10 { lba, blocks },
                DataPhase::FromDevice(chunk),
                DEFAULT_TIMEOUT,
            )?;
            lba += u32::from(blocks);
        }
        Ok(())
    }
}
