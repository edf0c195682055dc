//! Writing: one track per session from a stream of 2048-byte blocks, in the
//! way each medium wants it (CD TAO with page 05, DVD-R incremental, DVD+R and
//! BD-R with CLOSE TRACK/SESSION, overwritable media in place).

use std::io::{ErrorKind, Read};

use super::{Drive, MediumInfo};
use crate::cdb::disc::{TrackInformation, INVISIBLE_TRACK};
use crate::cdb::mode::{
    Capabilities, ModeParameters, ModeSelect10, ModeSense10, PageControl, WriteParameters,
    WriteType, DATA_BLOCK_MODE1, MULTISESSION_OPEN, PAGE_CAPABILITIES, PAGE_WRITE_PARAMETERS,
    TRACK_MODE_DATA, TRACK_MODE_INCREMENTAL,
};
use crate::cdb::rw::{SynchronizeCache, Write10};
use crate::cdb::spc::PreventAllowMediumRemoval;
use crate::cdb::track::{CloseFunction, CloseTrackSession, ReserveTrack};
use crate::cdb::Command;
use crate::error::{Error, MediumError, Result};
use crate::profile::{Family, Profile};
use crate::transport::{DataPhase, DEFAULT_TIMEOUT, LONG_TIMEOUT};
use crate::BLOCK_SIZE;

/// Timeout of WRITE and RESERVE TRACK: the first WRITE on DVD±R/BD runs power
/// calibration and the lead-in, and a drive may stall while it drains its
/// buffer; an SG_IO timeout would abort and reset the drive mid-track and ruin
/// the disc, so these get libburn's 200 s like the other long commands.
pub const WRITE_TIMEOUT: std::time::Duration = LONG_TIMEOUT;

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

/// Where a session would be written and the room there, from the drive's
/// disc and track information ([`Drive::check_write`], [`Drive::check_fits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeSpace {
    /// The loaded medium's profile.
    pub profile: Profile,
    /// First block the session would start at: the next writable address on
    /// write-once media, `WriteOptions::start` (default 0) on overwritable media.
    pub start: u32,
    /// Blocks that can be written from `start`.
    pub free_blocks: u32,
    /// Blocks the data needs with the medium's padding, when a size was given.
    pub need_blocks: Option<u32>,
}

impl FreeSpace {
    /// Free space in bytes.
    pub fn free_bytes(&self) -> u64 {
        u64::from(self.free_blocks) * BLOCK_SIZE as u64
    }

    /// Blocks still free after the data (None when no size was given).
    pub fn blocks_left(&self) -> Option<u32> {
        self.need_blocks.map(|n| self.free_blocks.saturating_sub(n))
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteReport {
    /// First block written.
    pub start: u32,
    /// Blocks written, including padding: CD tracks to 300 blocks, DVD±R and
    /// BD-R tracks to a whole ECC unit (16 blocks; BD 32).
    pub blocks: u32,
    /// Track number written (0 on overwritable media).
    pub track: u16,
}

impl Drive {
    /// MODE SELECT page 05 for the medium (CD: TAO, Mode 1; DVD-R: incremental).
    /// Other media need no write parameters. The page goes back with the
    /// length the drive reports for it (MODE SENSE first), BUFE only when the
    /// drive has buffer underrun protection (page 2A).
    pub(crate) fn select_write_parameters(
        &mut self,
        profile: Option<Profile>,
        finalize: bool,
    ) -> Result<()> {
        let multisession = if finalize { 0 } else { MULTISESSION_OPEN };
        let wp = match profile {
            Some(Profile::CdR | Profile::CdRw) => WriteParameters {
                write_type: WriteType::TrackAtOnce,
                multisession,
                track_mode: TRACK_MODE_DATA,
                data_block_type: DATA_BLOCK_MODE1,
                audio_pause: 150,
                ..WriteParameters::default()
            },
            Some(Profile::DvdMinusR | Profile::DvdMinusRwSequential) => WriteParameters {
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
            // Restricted overwrite: packet writing in the track's fixed
            // packets, single session, as growisofs and libburn select it
            // before writing (both send page 05 there; growisofs takes the
            // track mode and packet size from the track, as here).
            Some(Profile::DvdMinusRwRestricted) => {
                let t = self.track_information(1)?;
                WriteParameters {
                    write_type: WriteType::Incremental,
                    fp: true,
                    track_mode: t.track_mode,
                    data_block_type: DATA_BLOCK_MODE1,
                    packet_size: if t.fixed_packet && t.fixed_packet_size > 0 {
                        t.fixed_packet_size
                    } else {
                        in_place_unit(Profile::DvdMinusRwRestricted)
                    },
                    ..WriteParameters::default()
                }
            }
            _ => return Ok(()),
        };
        let bufe = self.underrun_protection()?;
        let len = self.write_page_len()?;
        let bytes = ModeParameters {
            pages: vec![WriteParameters { bufe, ..wp }.to_page_len(len)],
        }
        .encode_select();
        let cmd = ModeSelect10 {
            pf: true,
            sp: false,
            len: bytes.len() as u16,
        };
        self.exec(&cmd, DataPhase::ToDevice(&bytes), DEFAULT_TIMEOUT)
            .map(|_| ())
    }

    /// MODE SENSE(10) of one page's current values.
    fn mode_page(&mut self, code: u8, control: PageControl) -> Result<crate::cdb::mode::ModePage> {
        let cmd = ModeSense10 {
            dbd: true,
            control,
            page: code,
            alloc: 8 + 2 + 255,
        };
        let params: ModeParameters = self.ask(&cmd, 8 + 2 + 255)?;
        params.page(code).cloned().ok_or_else(|| Error::Response {
            device: self.name().to_string(),
            command: ModeSense10::NAME,
            source: crate::error::DecodeError::Invalid {
                what: "mode parameter list",
                detail: format!("page {code:02X}h missing from the reply"),
            },
        })
    }

    /// The body length of the drive's page 05 (read once per drive).
    fn write_page_len(&mut self) -> Result<usize> {
        if let Some(n) = self.write_page_len {
            return Ok(n);
        }
        let page = self.mode_page(PAGE_WRITE_PARAMETERS, PageControl::Current)?;
        if page.body.len() < 14 {
            return Err(self.medium_error(MediumError::DriveLimit(format!(
                "the drive's write parameters page is {} bytes long; at least 14 are needed",
                page.body.len()
            ))));
        }
        self.write_page_len = Some(page.body.len());
        Ok(page.body.len())
    }

    /// Whether page 2A reports buffer underrun protection (read once per drive).
    fn underrun_protection(&mut self) -> Result<bool> {
        if let Some(b) = self.underrun_protection {
            return Ok(b);
        }
        let caps = self.capabilities()?;
        self.underrun_protection = Some(caps.buffer_underrun_protection);
        Ok(caps.buffer_underrun_protection)
    }

    /// The drive's capabilities page (2Ah, current values): what it reads
    /// and writes, its loading mechanism (tray, caddy or slot, pop-up,
    /// changer) and whether it can eject by command.
    pub fn capabilities(&mut self) -> Result<Capabilities> {
        let page = self.mode_page(PAGE_CAPABILITIES, PageControl::Current)?;
        Capabilities::from_page(&page).map_err(|source| Error::Response {
            device: self.name().to_string(),
            command: ModeSense10::NAME,
            source,
        })
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
        self.close_session_as(profile, finalize, true)
    }

    /// CLOSE SESSION for `profile`; `select` sends page 05 first (not needed
    /// right after a write that selected it with the same multi-session field).
    fn close_session_as(
        &mut self,
        profile: Option<Profile>,
        finalize: bool,
        select: bool,
    ) -> Result<()> {
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
                if select {
                    self.select_write_parameters(profile, finalize)?;
                }
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
            _ => Err(self.medium_error(MediumError::NotFinalizable)),
        }
    }

    /// Writes `data` (whole 2048-byte blocks) at `lba` in chunks the medium
    /// likes, returning the blocks written. The last chunk is padded with
    /// zero blocks to a multiple of `plan.pad_to`. Stops at `plan.limit`
    /// blocks with [`MediumError::DoesNotFit`] (need: what was read so far). Progress counts on from `plan.already`.
    fn stream(
        &mut self,
        lba: u32,
        data: &mut dyn Read,
        plan: Chunking,
        progress: &mut dyn Progress,
    ) -> Result<u32> {
        let pad_to = plan.pad_to.max(1);
        // Whole units per WRITE, within the transport's limit and WRITE(10)'s count.
        let fits = ((self.t.max_transfer() / BLOCK_SIZE) as u32).min(u32::from(u16::MAX));
        let per = plan.chunk_blocks.min(fits) / pad_to * pad_to;
        if per == 0 {
            return Err(self.medium_error(MediumError::DriveLimit(format!(
                "the device takes at most {} bytes per command, less than one \
                 {pad_to}-block recording unit",
                self.t.max_transfer()
            ))));
        }
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
                return Err(self.medium_error(MediumError::PartialBlock {
                    bytes: n % BLOCK_SIZE,
                    after_block: done + (n / BLOCK_SIZE) as u32,
                }));
            }
            // The input ended inside this chunk: pad it to whole units.
            let blocks = ((n / BLOCK_SIZE) as u32).next_multiple_of(pad_to);
            let len = blocks as usize * BLOCK_SIZE;
            buf[n..len].fill(0);
            if done + blocks > plan.limit {
                return Err(self.medium_error(MediumError::DoesNotFit {
                    need_blocks: done + blocks,
                    free_blocks: plan.limit,
                }));
            }
            let cmd = Write10 {
                lba: lba + done,
                blocks: blocks as u16,
            };
            self.exec(&cmd, DataPhase::ToDevice(&buf[..len]), WRITE_TIMEOUT)?;
            done += blocks;
            progress.blocks_written(u64::from(plan.already + done));
        }
    }

    /// Locks (true) or unlocks the tray.
    fn set_removal_prevented(&mut self, prevent: bool) -> Result<()> {
        self.exec(
            &PreventAllowMediumRemoval { prevent },
            DataPhase::None,
            DEFAULT_TIMEOUT,
        )
        .map(|_| ())
    }

    /// The next writable address of the invisible/incomplete track `t`, with
    /// the checks libburn makes: a damaged track is not written, an NWA not
    /// marked valid is no NWA, and a blank track's NWA of −150 (the pregap,
    /// as some drives report on a blank CD) is the track's start.
    pub(crate) fn sane_next_writable(&self, t: &TrackInformation) -> Result<Option<u32>> {
        if t.damage {
            return Err(self.medium_error(MediumError::DamagedTrack {
                track: t.track,
                nwa_valid: t.next_writable.is_some(),
            }));
        }
        let Some(nwa) = t.next_writable else {
            return Ok(None);
        };
        let negative = (nwa as i32) < 0;
        if t.blank && (negative || nwa < t.start) && (t.start as i32) >= 0 {
            return Ok(Some(t.start));
        }
        if negative || nwa < t.start {
            return Err(self.medium_error(MediumError::BadNextWritable {
                track: t.track,
                nwa: nwa as i32,
                start: t.start,
            }));
        }
        Ok(Some(nwa))
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
        let (info, space) = self.preflight(opts)?;
        let profile = space.profile;
        // The tray stays locked for the whole write, and is unlocked again
        // whatever happened.
        self.set_removal_prevented(true)?;
        let result = if profile.overwritable() {
            self.write_in_place(profile, &info, data, opts, progress)
        } else {
            self.write_track(profile, &info, data, opts, progress)
        };
        match (result, self.set_removal_prevented(false)) {
            (Ok(report), Err(e)) => {
                log::warn!(
                    "{}: the write succeeded but unlocking the tray failed: {e}",
                    self.name()
                );
                Ok(report)
            }
            (result, _) => result,
        }
    }

    /// Everything [`Drive::write_session`] checks before it sends a command
    /// that changes the disc, without writing: the medium is one this crate
    /// writes, not finalized, formatted (overwritable media), has a next
    /// writable address, and — when `opts.expected_blocks` is given — room
    /// for that many blocks with the medium's padding, from the drive's real
    /// disc and track information. Medium problems come back as
    /// [`Error::Medium`] with a [`MediumError`] (see also [`Error::medium`],
    /// which also classifies "no medium" and "write protected" sense).
    pub fn check_write(&mut self, opts: &WriteOptions) -> Result<FreeSpace> {
        self.preflight(opts).map(|(_, space)| space)
    }

    /// [`Drive::check_write`] for a session of `blocks` blocks at the next
    /// writable address (block 0 on overwritable media): whether it fits,
    /// refused with [`MediumError::DoesNotFit`] before any byte is written.
    pub fn check_fits(&mut self, blocks: u32) -> Result<FreeSpace> {
        self.check_write(&WriteOptions {
            expected_blocks: Some(blocks),
            ..WriteOptions::default()
        })
    }

    fn preflight(&mut self, opts: &WriteOptions) -> Result<(MediumInfo, FreeSpace)> {
        let info = self.medium_info()?;
        let Some(profile) = info.profile else {
            return Err(self.medium_error(MediumError::UnwritableProfile {
                profile: info.profile_name(),
            }));
        };
        let space = if profile.overwritable() {
            self.check_in_place(profile, &info, opts)?
        } else {
            self.check_track(profile, &info, opts)?
        };
        Ok((info, space))
    }

    /// What can be refused before anything is sent that changes the disc.
    fn check_track(
        &mut self,
        profile: Profile,
        info: &MediumInfo,
        opts: &WriteOptions,
    ) -> Result<FreeSpace> {
        if info.state == super::MediaState::Finalized {
            return Err(self.medium_error(MediumError::Finalized {
                profile: profile.to_string(),
            }));
        }
        let Some(start) = info.next_writable else {
            // Say so when the drive reports the track damaged.
            let t = self.track_information(INVISIBLE_TRACK)?;
            self.sane_next_writable(&t)?;
            return Err(self.medium_error(MediumError::NoNextWritable {
                profile: profile.to_string(),
            }));
        };
        let free = info.free_blocks;
        let need = opts.expected_blocks.map(|want| {
            if profile.family() == Family::Cd {
                want.max(CD_MIN_TRACK)
            } else {
                want.next_multiple_of(profile.ecc_blocks())
            }
        });
        if let Some(need) = need.filter(|&n| n > free) {
            return Err(self.medium_error(MediumError::DoesNotFit {
                need_blocks: need,
                free_blocks: free,
            }));
        }
        if matches!(profile, Profile::DvdMinusR | Profile::DvdMinusRwSequential)
            && !self.feature_current(FEATURE_INCREMENTAL_STREAMING)?
        {
            return Err(self.medium_error(MediumError::NotIncremental {
                profile: profile.to_string(),
            }));
        }
        Ok(FreeSpace {
            profile,
            start,
            free_blocks: free,
            need_blocks: need,
        })
    }

    fn write_track(
        &mut self,
        profile: Profile,
        info: &MediumInfo,
        data: &mut dyn Read,
        opts: &WriteOptions,
        progress: &mut dyn Progress,
    ) -> Result<WriteReport> {
        self.set_speed(opts.speed_kbs)?;
        self.select_write_parameters(Some(profile), opts.finalize)?;
        // Page 05 may move the NWA: read the track again after selecting it.
        let t = self.track_information(INVISIBLE_TRACK)?;
        let nwa = self.sane_next_writable(&t)?.ok_or_else(|| {
            self.medium_error(MediumError::NoNextWritable {
                profile: profile.to_string(),
            })
        })?;
        let free = if nwa == t.start && t.blank {
            t.free_blocks
        } else {
            info.free_blocks.min(t.free_blocks)
        };
        let track = t.track;
        let is_cd = profile.family() == Family::Cd;
        if let (true, Some(want), false) = (opts.reserve, opts.expected_blocks, is_cd) {
            self.exec(
                &ReserveTrack {
                    blocks: want.next_multiple_of(profile.ecc_blocks()),
                },
                DataPhase::None,
                WRITE_TIMEOUT,
            )?;
        }
        progress.phase("writing");
        let plan = Chunking {
            chunk_blocks: profile.write_chunk_blocks(),
            limit: free,
            already: 0,
            pad_to: profile.ecc_blocks(),
        };
        let mut blocks = self.stream(nwa, data, plan, progress)?;
        if blocks == 0 {
            return Err(self.medium_error(MediumError::EmptyData));
        }
        if is_cd && blocks < CD_MIN_TRACK {
            let pad = vec![0u8; (CD_MIN_TRACK - blocks) as usize * BLOCK_SIZE];
            let plan = Chunking {
                limit: free - blocks,
                already: blocks,
                ..plan
            };
            blocks += self.stream(nwa + blocks, &mut &pad[..], plan, progress)?;
        }
        progress.phase("synchronizing cache");
        self.sync_cache()?;
        // A CD in TAO ends its track at the cache flush (libburn closes only
        // the session there too); the rest close the track.
        if !is_cd {
            progress.phase("closing track");
            self.close_track(track)?;
        }
        progress.phase("closing session");
        self.close_session_as(Some(profile), opts.finalize, false)?;
        Ok(WriteReport {
            start: nwa,
            blocks,
            track,
        })
    }

    fn check_in_place(
        &mut self,
        profile: Profile,
        info: &MediumInfo,
        opts: &WriteOptions,
    ) -> Result<FreeSpace> {
        if info.state == super::MediaState::Blank {
            return Err(self.medium_error(MediumError::NotFormatted {
                profile: profile.to_string(),
            }));
        }
        let start = opts.start.unwrap_or(0);
        let free = info.capacity.saturating_sub(start);
        let need = opts
            .expected_blocks
            .map(|w| w.next_multiple_of(in_place_unit(profile)));
        if let Some(want) = need.filter(|&w| w > free) {
            return Err(self.medium_error(MediumError::DoesNotFit {
                need_blocks: want,
                free_blocks: free,
            }));
        }
        Ok(FreeSpace {
            profile,
            start,
            free_blocks: free,
            need_blocks: need,
        })
    }

    fn write_in_place(
        &mut self,
        profile: Profile,
        info: &MediumInfo,
        data: &mut dyn Read,
        opts: &WriteOptions,
        progress: &mut dyn Progress,
    ) -> Result<WriteReport> {
        let start = opts.start.unwrap_or(0);
        let free = info.capacity.saturating_sub(start);
        if profile == Profile::DvdPlusRw {
            self.resume_background_format(start, opts.expected_blocks)?;
        }
        self.set_speed(opts.speed_kbs)?;
        if profile == Profile::DvdMinusRwRestricted {
            self.select_write_parameters(Some(profile), false)?;
        }
        progress.phase("writing");
        let plan = Chunking {
            chunk_blocks: profile.write_chunk_blocks(),
            limit: free,
            already: 0,
            pad_to: in_place_unit(profile),
        };
        let blocks = self.stream(start, data, plan, progress)?;
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

/// Blocks an in-place write is padded to: DVD-RW restricted overwrite takes
/// whole 16-block packets (as growisofs pads it); DVD+RW and BD-RE take
/// single blocks.
fn in_place_unit(profile: Profile) -> u32 {
    if profile == Profile::DvdMinusRwRestricted {
        16
    } else {
        1
    }
}

/// How [`Drive::stream`] cuts the data into WRITEs.
#[derive(Debug, Clone, Copy)]
struct Chunking {
    /// Blocks per WRITE (cut to the transport's limit).
    chunk_blocks: u32,
    /// Blocks that may be written at most.
    limit: u32,
    /// Blocks already counted by the progress hook.
    already: u32,
    /// The last WRITE is padded to a multiple of this (1: no padding).
    pad_to: u32,
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
