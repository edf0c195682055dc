//! Identifying the drive and describing its medium: what `cdrecord -msinfo`
//! and a capacity check need.

use std::fmt;

use super::Drive;
use crate::cdb::disc::{
    Capacity, DiscInformation, DiscStatus, ReadCapacity, ReadDiscInformation, ReadTrackInformation,
    SessionState, TrackAddress, TrackInformation, INVISIBLE_TRACK,
};
use crate::cdb::format::{FormatCapacities, ReadFormatCapacities};
use crate::cdb::spc::{Inquiry, InquiryData};
use crate::cdb::toc::{ReadToc, SessionInfo, TocFormat};
use crate::error::Result;
use crate::profile::{profile_name, Profile};

/// Who made the drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Vendor identification.
    pub vendor: String,
    /// Product identification.
    pub product: String,
    /// Firmware revision.
    pub revision: String,
}

/// What can still be done with the medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaState {
    /// Nothing recorded (or an unformatted overwritable disc).
    Blank,
    /// Sessions recorded; more can be appended.
    Appendable,
    /// Closed for good: no more sessions.
    Finalized,
    /// Formatted overwritable medium (DVD+RW, DVD-RW restricted overwrite,
    /// BD-RE): written in place, no sessions to append.
    Overwritable,
}

impl fmt::Display for MediaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaState::Blank => "blank",
            MediaState::Appendable => "appendable",
            MediaState::Finalized => "finalized",
            MediaState::Overwritable => "overwritable (formatted)",
        })
    }
}

/// Everything a writer needs to know about the loaded medium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediumInfo {
    /// Current MMC profile number.
    pub profile_number: u16,
    /// The profile, when it is one this crate writes.
    pub profile: Option<Profile>,
    /// Blank, appendable, finalized or overwritable.
    pub state: MediaState,
    /// The medium can be blanked or reformatted.
    pub erasable: bool,
    /// Complete sessions recorded (an open session with data counts too).
    pub sessions: u16,
    /// Start of the first track of the last complete session (msinfo's first number).
    pub last_session_start: Option<u32>,
    /// Next writable address (msinfo's second number).
    pub next_writable: Option<u32>,
    /// Blocks that can still be written.
    pub free_blocks: u32,
    /// Total user blocks of the medium (recorded + free, gaps excluded).
    pub capacity: u32,
}

impl MediumInfo {
    /// `(last session start, next writable address)` as `cdrecord -msinfo`
    /// prints them, when the disc has a complete session and room for more.
    pub fn msinfo(&self) -> Option<(u32, u32)> {
        Some((self.last_session_start?, self.next_writable?))
    }

    /// The profile's name, also for profiles this crate does not write.
    pub fn profile_name(&self) -> String {
        profile_name(self.profile_number)
    }
}

impl Drive {
    /// INQUIRY: vendor, product, revision.
    pub fn identify(&mut self) -> Result<Identity> {
        let d: InquiryData = self.ask(&Inquiry::standard(36), 36)?;
        Ok(Identity {
            vendor: d.vendor,
            product: d.product,
            revision: d.revision,
        })
    }

    /// READ DISC INFORMATION.
    pub fn disc_information(&mut self) -> Result<DiscInformation> {
        self.ask(&ReadDiscInformation { alloc: 34 }, 34)
    }

    /// READ TRACK INFORMATION for a track number (FFh: the invisible track).
    pub fn track_information(&mut self, track: u32) -> Result<TrackInformation> {
        let cmd = ReadTrackInformation {
            open: false,
            address: TrackAddress::Track(track),
            alloc: 48,
        };
        self.ask(&cmd, 48)
    }

    /// Describes the loaded medium. Fails with the drive's sense when there is
    /// none (use [`Drive::medium_present`] first to tell).
    pub fn medium_info(&mut self) -> Result<MediumInfo> {
        self.wait_ready()?;
        let profile_number = self.current_profile()?;
        let profile = Profile::from_number(profile_number);
        let di = self.disc_information()?;
        if profile.is_some_and(Profile::overwritable) {
            return self.overwritable_info(profile_number, profile, &di);
        }
        let state = match di.disc_status {
            DiscStatus::Blank => MediaState::Blank,
            DiscStatus::Appendable => MediaState::Appendable,
            DiscStatus::Complete | DiscStatus::Other => MediaState::Finalized,
        };
        let sessions = match (state, di.last_session_state) {
            (MediaState::Blank, _) => 0,
            (_, SessionState::Empty) => di.sessions.saturating_sub(1),
            _ => di.sessions,
        };
        // Drives report a different NWA per write type: set page 05 first.
        if state != MediaState::Finalized {
            self.select_write_parameters(profile, false)?;
        }
        let (next_writable, free_blocks) = if state == MediaState::Finalized {
            (None, 0)
        } else {
            let t = self.track_information(INVISIBLE_TRACK)?;
            // A damaged track takes no writes: no NWA (writing says why).
            let nwa = self.sane_next_writable(&t).unwrap_or_else(|e| {
                log::warn!("{e}");
                None
            });
            (nwa, if nwa.is_some() { t.free_blocks } else { 0 })
        };
        let complete = match di.last_session_state {
            SessionState::Incomplete => sessions.saturating_sub(1),
            _ => sessions,
        };
        let last_session_start = if complete > 0 {
            let cmd = ReadToc {
                msf: false,
                format: TocFormat::SessionInfo,
                track_session: 0,
                alloc: 12,
                legacy: false,
            };
            let s: SessionInfo = self.ask(&cmd, 12)?;
            Some(s.start)
        } else {
            None
        };
        let capacity = match next_writable {
            Some(n) => n.saturating_add(free_blocks),
            None => {
                let c: Capacity = self.ask(&ReadCapacity, 8)?;
                c.last_lba.saturating_add(1)
            }
        };
        Ok(MediumInfo {
            profile_number,
            profile,
            state,
            erasable: di.erasable,
            sessions,
            last_session_start,
            next_writable,
            free_blocks,
            capacity,
        })
    }

    fn overwritable_info(
        &mut self,
        profile_number: u16,
        profile: Option<Profile>,
        di: &DiscInformation,
    ) -> Result<MediumInfo> {
        let formatted = di.disc_status != DiscStatus::Blank;
        let capacity = if formatted {
            let c: Capacity = self.ask(&ReadCapacity, 8)?;
            c.last_lba.saturating_add(1)
        } else {
            let f: FormatCapacities = self.ask(&ReadFormatCapacities { alloc: 252 }, 252)?;
            f.current_blocks
        };
        Ok(MediumInfo {
            profile_number,
            profile,
            state: if formatted {
                MediaState::Overwritable
            } else {
                MediaState::Blank
            },
            erasable: true,
            sessions: u16::from(formatted),
            // Where data ends on an overwritable disc is known only from the
            // file system on it (the ISO volume size), not from the drive.
            last_session_start: None,
            next_writable: None,
            free_blocks: capacity,
            capacity,
        })
    }
}
