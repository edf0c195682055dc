//! Writing: one track per session from a stream of 2048-byte blocks, in the
//! way each medium wants it (CD TAO with page 05, DVD-R incremental, DVD+R and
//! BD-R with CLOSE TRACK/SESSION, overwritable media in place).

use std::io::{ErrorKind, Read};

use super::Drive;
use crate::cdb::disc::INVISIBLE_TRACK;
use crate::cdb::mode::{
    ModeParameters, ModeSelect10, WriteParameters, WriteType, DATA_BLOCK_MODE1, MULTISESSION_OPEN,
    TRACK_MODE_DATA, TRACK_MODE_INCREMENTAL,
};
use crate::cdb::rw::{SynchronizeCache, Write10};
use crate::cdb::track::{CloseFunction, CloseTrackSession, ReserveTrack};
use crate::cdb::Response;
use crate::error::{Error, Result};
use crate::profile::{Family, Profile};
use crate::transport::{DataPhase, DEFAULT_TIMEOUT, LONG_TIMEOUT};
use crate::BLOCK_SIZE;

/// Incremental streaming writable: current when DVD-R(W) takes incremental writes.
const FEATURE_INCREMENTAL_STREAMING: u16 = 0x0021;

/// Shortest CD track; shorter data is padded with zero blocks.
const CD_MIN_TRACK: u32 = 300;

/// Hooks called while writing; every method has a no-op default.
pub trait Progress {
    /// `done` blocks of this session have reached the drive.
    fn blocks_written(&mut self, done: u64) {
        let _ = done;
    }
    /// A new phase started ("writing", "synchronizing cache", "closing session").
    fn phase(&mut self, what: &str) {
        let _ = what;
    }
}

/// Progress that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// How to write a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Close the disc for good after this session.
    pub finalize: bool,
    /// Blocks the data will hold, when known: checked against the free space
    /// before anything is written.
    pub expected_blocks: Option<u32>,
    /// Overwritable media only: first block to write (default 0).
    pub start: Option<u32>,
    /// Write speed in kB/s (None: fastest).
    pub speed_kbs: Option<u16>,
    /// DVD±R, DVD-RW sequential, BD-R: reserve a track of `expected_blocks`
    /// before writing (as growisofs does), so the track's size is fixed up front.
    pub reserve: bool,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteReport {
    /// First block written.
    pub start: u32,
    /// Blocks written (including CD padding).
    pub blocks: u32,
    /// Track number written (0 on overwritable media).
    pub track: u16,
}

impl Drive {
    /// MODE SELECT page 05 for the medium (CD: TAO, Mode 1; DVD-R: incremental).
    /// Other media need no write parameters.
    pub(crate) fn select_write_parameters(
        &mut self,
        profile: Option<Profile>,
        finalize: bool,
    ) -> Result<()> {
        let multisession = if finalize { 0 } else { MULTISESSION_OPEN };
        let wp = match profile {
            Some(Profile::CdR | Profile::CdRw) => WriteParameters {
                bufe: true,
                write_type: WriteType::TrackAtOnce,
                multisession,
                track_mode: TRACK_MODE_DATA,
                data_block_type: DATA_BLOCK_MODE1,
                audio_pause: 150,
                ..WriteParameters::default()
            },
            Some(Profile::DvdMinusR | Profile::DvdMinusRwSequential) => WriteParameters {
                bufe: true,
                ls_v: true,
                write_type: WriteType::Incremental,
                multisession,
                fp: true,
                track_mode: TRACK_MODE_INCREMENTAL,
                data_block_type: DATA_BLOCK_MODE1,
                link_size: 16,
                packet_size: 16,
                audio_pause: 150,
                ..WriteParameters::default()
            },
            _ => return Ok(()),
        };
        let bytes = ModeParameters {
            pages: vec![wp.to_page()],
        }
        .encode();
        let cmd = ModeSelect10 {
            pf: true,
            sp: false,
            len: bytes.len() as u16,
        };
        self.exec(&cmd, DataPhase::ToDevice(&bytes), DEFAULT_TIMEOUT)
            .map(|_| ())
    }

    /// SYNCHRONIZE CACHE with Immed, then poll until the drive is done.
    pub fn sync_cache(&mut self) -> Result<()> {
        let cmd = SynchronizeCache {
            immed: true,
            lba: 0,
            blocks: 0,
        };
        self.exec(&cmd, DataPhase::None, LONG_TIMEOUT)?;
        self.wait_ready()
    }

    fn close(&mut self, function: CloseFunction, track: u16) -> Result<()> {
        let cmd = CloseTrackSession {
            immed: true,
            function,
            track,
        };
        self.exec(&cmd, DataPhase::None, LONG_TIMEOUT)?;
        self.wait_ready()
    }

    /// CLOSE TRACK for a logical track number.
    pub fn close_track(&mut self, track: u16) -> Result<()> {
        self.close(CloseFunction::Track, track)
    }

    /// Closes the open session, keeping the disc appendable unless `finalize`.
    /// On CD and DVD-R the page 05 multi-session field decides, so it is set here.
    pub fn close_session(&mut self, finalize: bool) -> Result<()> {
        let profile = crate::profile::Profile::from_number(self.current_profile()?);
        match profile {
            Some(Profile::DvdPlusR) if finalize => {
                self.close(CloseFunction::Session, 0)?;
                self.close(CloseFunction::FinalizeMinimalRadius, 0)
            }
            Some(Profile::BdR) if finalize => {
                self.close(CloseFunction::Session, 0)?;
                self.close(CloseFunction::Finalize, 0)
            }
            Some(p) if p.overwritable() => Ok(()),
            _ => {
                self.select_write_parameters(profile, finalize)?;
                self.close(CloseFunction::Session, 0)
            }
        }
    }

    /// Finalizes a disc whose sessions are all closed (DVD+R, BD-R).
    pub fn finalize(&mut self) -> Result<()> {
        let profile = crate::profile::Profile::from_number(self.current_profile()?);
        match profile {
            Some(Profile::DvdPlusR) => self.close(CloseFunction::FinalizeMinimalRadius, 0),
            Some(Profile::BdR) => self.close(CloseFunction::Finalize, 0),
            _ => Err(self.medium_error(
                "only DVD+R and BD-R can be finalized after their last session is closed; \
                 on CD and DVD-R finalize while closing the last session",
            )),
        }
    }

    /// Writes `data` (whole 2048-byte blocks) at `lba` in chunks the medium
    /// likes, returning the blocks written. Stops at `limit` blocks with a
    /// "does not fit" error. Progress counts on from `already`.
    fn stream(
        &mut self,
        lba: u32,
        data: &mut dyn Read,
        (chunk_blocks, limit, already): (u32, u32, u32),
        progress: &mut dyn Progress,
    ) -> Result<u32> {
        let per = chunk_blocks
            .min((self.t.max_transfer() / BLOCK_SIZE).max(1) as u32)
            .max(1);
        let mut buf = vec![0u8; per as usize * BLOCK_SIZE];
        let mut done: u32 = 0;
        loop {
            let n = fill(data, &mut buf).map_err(|source| Error::Input {
                device: self.name().to_string(),
                source,
            })?;
            if n == 0 {
                return Ok(done);
            }
            if n % BLOCK_SIZE != 0 {
                return Err(self.medium_error(format!(
                    "the data ends with a partial block ({} bytes after block {})",
                    n % BLOCK_SIZE,
                    done + (n / BLOCK_SIZE) as u32
                )));
            }
            let blocks = (n / BLOCK_SIZE) as u32;
            if done + blocks > limit {
                return Err(self.medium_error(format!(
                    "the data does not fit: only {limit} blocks are free"
                )));
            }
            let cmd = Write10 {
                lba: lba + done,
                blocks: blocks as u16,
            };
            self.exec(&cmd, DataPhase::ToDevice(&buf[..n]), DEFAULT_TIMEOUT)?;
            done += blocks;
            progress.blocks_written(u64::from(already + done));
        }
    }

    /// Writes one session holding one data track.
    ///
    /// Write-once media (CD-R/RW, DVD±R, DVD-RW sequential, BD-R) get the data
    /// at the next writable address, then the track and session are closed
    /// (the disc stays appendable unless `opts.finalize`). Overwritable media
    /// (DVD+RW, DVD-RW restricted overwrite, BD-RE) are written in place at
    /// `opts.start` (default 0); they must be formatted first.
    pub fn write_session(
        &mut self,
        data: &mut dyn Read,
        opts: &WriteOptions,
        progress: &mut dyn Progress,
    ) -> Result<WriteReport> {
        let info = self.medium_info()?;
        let Some(profile) = info.profile else {
            return Err(self.medium_error(format!("cannot write a {} medium", info.profile_name())));
        };
        if profile.overwritable() {
            return self.write_in_place(profile, data, opts, progress);
        }
        if info.state == super::MediaState::Finalized {
            return Err(self.medium_error(format!(
                "the {profile} disc is finalized: no more sessions can be written"
            )));
        }
        let nwa = info.next_writable.ok_or_else(|| {
            self.medium_error(format!(
                "the {profile} disc has no next writable address (disc full)"
            ))
        })?;
        let free = info.free_blocks;
        if let Some(want) = opts.expected_blocks {
            let need = if profile.family() == Family::Cd {
                want.max(CD_MIN_TRACK)
            } else {
                want
            };
            if need > free {
                return Err(self.medium_error(format!(
                    "the data does not fit: {need} blocks needed, {free} free"
                )));
            }
        }
        if matches!(profile, Profile::DvdMinusR | Profile::DvdMinusRwSequential)
            && !self.feature_current(FEATURE_INCREMENTAL_STREAMING)?
        {
            return Err(self.medium_error(format!(
                "the {profile} disc does not allow incremental writing \
                 (feature 0021h is not current); blank it fully first"
            )));
        }
        self.set_speed(opts.speed_kbs)?;
        self.select_write_parameters(Some(profile), opts.finalize)?;
        let track = self.track_information(INVISIBLE_TRACK)?.track;
        if let (true, Some(want), false) = (
            opts.reserve,
            opts.expected_blocks,
            profile.family() == Family::Cd,
        ) {
            self.exec(
                &ReserveTrack { blocks: want },
                DataPhase::None,
                DEFAULT_TIMEOUT,
            )?;
        }
        progress.phase("writing");
        let chunk = profile.write_chunk_blocks();
        let mut blocks = self.stream(nwa, data, (chunk, free, 0), progress)?;
        if blocks == 0 {
            return Err(self.medium_error("nothing to write: the data is empty"));
        }
        if profile.family() == Family::Cd && blocks < CD_MIN_TRACK {
            let pad = vec![0u8; (CD_MIN_TRACK - blocks) as usize * BLOCK_SIZE];
            blocks += self.stream(
                nwa + blocks,
                &mut &pad[..],
                (chunk, free - blocks, blocks),
                progress,
            )?;
        }
        progress.phase("synchronizing cache");
        self.sync_cache()?;
        // A CD in TAO ends its track at the cache flush; the rest close it.
        if profile.family() != Family::Cd {
            progress.phase("closing track");
            self.close_track(track)?;
        }
        progress.phase("closing session");
        self.close_session(opts.finalize)?;
        Ok(WriteReport {
            start: nwa,
            blocks,
            track,
        })
    }

    fn write_in_place(
        &mut self,
        profile: Profile,
        data: &mut dyn Read,
        opts: &WriteOptions,
        progress: &mut dyn Progress,
    ) -> Result<WriteReport> {
        let info = self.medium_info()?;
        if info.state == super::MediaState::Blank {
            return Err(self.medium_error(format!(
                "the {profile} disc is not formatted; format it first"
            )));
        }
        let start = opts.start.unwrap_or(0);
        let free = info.capacity.saturating_sub(start);
        if let Some(want) = opts.expected_blocks {
            if want > free {
                return Err(self.medium_error(format!(
                    "the data does not fit: {want} blocks needed from block {start}, {free} available"
                )));
            }
        }
        self.set_speed(opts.speed_kbs)?;
        progress.phase("writing");
        let blocks = self.stream(
            start,
            data,
            (profile.write_chunk_blocks(), free, 0),
            progress,
        )?;
        progress.phase("synchronizing cache");
        self.sync_cache()?;
        if profile == Profile::DvdPlusRw {
            // Stop background formatting so the disc reads everywhere, then
            // let the drive update its lead-in, as growisofs does.
            self.close(CloseFunction::StopFormat, 0)?;
            self.close(CloseFunction::Session, 0)?;
        }
        Ok(WriteReport {
            start,
            blocks,
            track: 0,
        })
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
