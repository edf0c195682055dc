//! The emulated drive's answers to the read-only commands: each decodes the
//! CDB with the command layer's decoder, describes the disc with the command
//! layer's response types, and returns their bytes.

use super::medium::{Medium, Track, BD_SPARE_CLUSTERS, INVALID_FIELD};
use super::Reply;
use crate::cdb::config::{
    Configuration, EventStatus, Feature, GetConfiguration, GetEventStatusNotification, MediaEvent,
    MediaEventCode, ProfileDescriptor, RequestType, EVENT_CLASS_MEDIA,
};
use crate::cdb::disc::{
    Capacity, DiscInformation, DiscStatus, ReadCapacity, ReadDiscInformation, ReadTrackInformation,
    SessionState, TrackAddress, TrackInformation, INVISIBLE_TRACK,
};
use crate::cdb::format::{
    CapacityKind, FormatCapacities, FormatDescriptor, ReadFormatCapacities, FORMAT_BD_RE,
    FORMAT_BD_RE_NO_SPARE, FORMAT_BD_R_SRM, FORMAT_DVD_PLUS_RW, FORMAT_DVD_RW_QUICK, FORMAT_FULL,
};
use crate::cdb::mode::{
    Capabilities, ModePage, ModeParameters, ModeSense10, ModeSense6, PageControl, ReadCaps,
    WriteCaps, WriteParameters, PAGE_CAPABILITIES, PAGE_ERROR_RECOVERY, PAGE_WRITE_PARAMETERS,
};
use crate::cdb::perf::{
    BufferCapacity, GetPerformance, NominalPerformance, Performance, PerformanceType,
    ReadBufferCapacity, WriteSpeedDescriptor,
};
use crate::cdb::spc::{Inquiry, InquiryData, VpdPage, PERIPHERAL_MMC};
use crate::cdb::toc::{
    lba_to_msf, Atip, FullToc, FullTocEntry, ReadToc, SessionInfo, Toc, TocEntry, TocFormat,
    LEAD_OUT,
};
use crate::cdb::{Command, Response};
use crate::profile::{Family, Profile, ALL_PROFILES};
use crate::transport::DataPhase;

/// Largest disc the drive takes (BD-R/RE single layer), for "no medium" answers.
const MAX_BLOCKS: u32 = 12_219_392;
/// Emulated buffer size.
pub(super) const BUFFER_BYTES: u32 = 2 * 1024 * 1024;

/// Copies a response into the data-in buffer, cut to the allocation length.
pub(super) fn put(data: DataPhase<'_>, alloc: usize, bytes: &[u8]) -> usize {
    match data {
        DataPhase::FromDevice(buf) => {
            let n = bytes.len().min(alloc).min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            n
        }
        _ => 0,
    }
}

pub(super) fn inquiry(cdb: &[u8], data: DataPhase<'_>) -> Reply {
    let cmd = Inquiry::decode(cdb).map_err(|_| INVALID_FIELD)?;
    let bytes = match cmd.vpd_page {
        None => InquiryData {
            peripheral_type: PERIPHERAL_MMC,
            removable: true,
            vendor: "CEDAR".into(),
            product: "EMULATED BURNER".into(),
            revision: "1.0".into(),
        }
        .encode(),
        // Supported pages, then the unit serial number.
        Some(page @ 0x00) => VpdPage {
            peripheral_type: PERIPHERAL_MMC,
            page,
            data: vec![0x00, 0x80],
        }
        .encode(),
        Some(page @ 0x80) => VpdPage {
            peripheral_type: PERIPHERAL_MMC,
            page,
            data: b"CEDAR0001".to_vec(),
        }
        .encode(),
        Some(_) => return Err(INVALID_FIELD),
    };
    Ok(put(data, usize::from(cmd.alloc), &bytes))
}

fn feature(code: u16, current: bool, data: Vec<u8>) -> Feature {
    Feature {
        code,
        version: 0,
        persistent: matches!(code, 0x0001..=0x0003),
        current,
        data,
    }
}

/// The feature list: profile list, core, morphing, removable medium, random
/// readable, then the read/write features with their current bits.
fn features(m: Option<&Medium>, tray: bool) -> Vec<Feature> {
    // Removable Medium: loading mechanism (tray 001b, else caddy/slot
    // 000b), Eject and Lock.
    let removable = (u8::from(tray) << 5) | 0x09;
    let profile = m.map(|m| m.profile);
    let incremental = m.is_some_and(Medium::incremental_ok);
    let cur = |ps: &[Profile]| profile.is_some_and(|p| ps.contains(&p));
    let mut list: Vec<ProfileDescriptor> = ALL_PROFILES
        .iter()
        .rev()
        .map(|&p| ProfileDescriptor {
            profile: p.number(),
            current: Some(p) == profile,
        })
        .collect();
    for rom in [0x40u16, 0x10, 0x08] {
        list.push(ProfileDescriptor {
            profile: rom,
            current: false,
        });
    }
    let block = |ecc: u16| {
        let mut d = vec![0, 0, 0x08, 0x00, 0, 0, 0, 0];
        d[4..6].copy_from_slice(&ecc.to_be_bytes());
        d
    };
    let ecc = profile.map_or(1, |p| p.ecc_blocks() as u16);
    use Profile::*;
    vec![
        Configuration::profile_list_feature(&list),
        feature(0x0001, true, vec![0, 0, 0, 2, 0, 0, 0, 0]),
        feature(0x0002, true, vec![0x02, 0, 0, 0]),
        feature(0x0003, true, vec![removable, 0, 0, 0]),
        // Write Protect: the drive reports protection (READ DISC
        // STRUCTURE C0h) on DVD and BD media.
        feature(
            0x0004,
            profile.is_some_and(|p| p.family() != Family::Cd),
            vec![0, 0, 0, 0],
        ),
        feature(0x0010, profile.is_some(), block(ecc)),
        feature(0x001E, cur(&[CdR, CdRw]), vec![0, 0, 0, 0]),
        feature(
            0x001F,
            profile.is_some_and(|p| p.family() == Family::Dvd),
            vec![0, 0, 0, 0],
        ),
        feature(
            0x0021,
            cur(&[CdR, CdRw, DvdMinusR, DvdMinusRwSequential]) && incremental,
            vec![0, 0x01, 0, 1, 16, 0, 0, 0],
        ),
        feature(
            0x0023,
            cur(&[
                DvdPlusRw,
                DvdMinusRwSequential,
                DvdMinusRwRestricted,
                BdRe,
                BdR,
            ]),
            vec![0, 0, 0, 0],
        ),
        feature(
            0x0026,
            cur(&[DvdMinusRwRestricted, DvdPlusRw, BdRe]),
            Vec::new(),
        ),
        feature(0x002A, cur(&[DvdPlusRw]), vec![0x01, 0, 0, 0]),
        feature(0x002B, cur(&[DvdPlusR]), vec![0x01, 0, 0, 0]),
        feature(0x002C, cur(&[DvdMinusRwRestricted]), vec![0, 0, 0, 0]),
        // TAO: BUF and CD-RW; data types: bit 8 = Mode 1 (block type 8) only.
        feature(0x002D, cur(&[CdR, CdRw]), vec![0x42, 0, 0x01, 0x00]),
        feature(
            0x002F,
            cur(&[DvdMinusR, DvdMinusRwSequential]),
            // BUF and DVD-RW; no test write, no dual layer.
            vec![0x42, 0, 0, 0],
        ),
        feature(
            0x0040,
            profile.is_some_and(|p| p.family() == Family::Bd),
            vec![0; 28],
        ),
        feature(0x0041, cur(&[BdR, BdRe]), vec![0; 28]),
        // BD-R Pseudo-Overwrite: current once formatted with POW.
        feature(0x0038, m.is_some_and(|m| m.pow), vec![0, 0, 0, 0]),
    ]
}

pub(super) fn configuration(
    m: Option<&Medium>,
    tray: bool,
    cdb: &[u8],
    data: DataPhase<'_>,
) -> Reply {
    let cmd = GetConfiguration::decode(cdb).map_err(|_| INVALID_FIELD)?;
    let profile = m.map(|m| m.profile);
    let all = features(m, tray);
    let selected = all
        .into_iter()
        .filter(|f| match cmd.request {
            RequestType::All => f.code >= cmd.start_feature,
            RequestType::Current => f.code >= cmd.start_feature && f.current,
            RequestType::One => f.code == cmd.start_feature,
        })
        .collect();
    let reply = Configuration {
        current_profile: profile.map_or(0, Profile::number),
        features: selected,
    };
    Ok(put(data, usize::from(cmd.alloc), &reply.encode()))
}

pub(super) fn event_status(
    m: Option<&Medium>,
    tray_open: bool,
    event: MediaEventCode,
    cdb: &[u8],
    data: DataPhase<'_>,
) -> Reply {
    let cmd = GetEventStatusNotification::decode(cdb).map_err(|_| INVALID_FIELD)?;
    // Only polled operation exists on Linux; asynchronous is refused.
    if !cmd.polled {
        return Err(INVALID_FIELD);
    }
    let reply = if cmd.class_request & EVENT_CLASS_MEDIA != 0 {
        EventStatus {
            no_event_available: false,
            class: 4,
            supported: EVENT_CLASS_MEDIA,
            media: Some(MediaEvent {
                code: event,
                present: m.is_some(),
                tray_open,
            }),
        }
    } else {
        EventStatus {
            no_event_available: true,
            class: 0,
            supported: EVENT_CLASS_MEDIA,
            media: None,
        }
    };
    Ok(put(data, usize::from(cmd.alloc), &reply.encode()))
}

pub(super) fn capacity(m: &Medium, cdb: &[u8], data: DataPhase<'_>) -> Reply {
    ReadCapacity::decode(cdb).map_err(|_| INVALID_FIELD)?;
    let reply = Capacity {
        last_lba: m.last_recorded().unwrap_or(0),
        block_len: 2048,
    };
    Ok(put(data, 8, &reply.encode()))
}

fn msf_word(lba: i64) -> u32 {
    let [mm, ss, ff] = lba_to_msf(lba);
    u32::from_be_bytes([0, mm, ss, ff])
}

pub(super) fn disc_information(m: &Medium, cap: u32, cdb: &[u8], data: DataPhase<'_>) -> Reply {
    let cmd = ReadDiscInformation::decode(cdb).map_err(|_| INVALID_FIELD)?;
    let tracks = m.track_count();
    let reply = if m.profile.overwritable() {
        let formatted = m.formatted;
        DiscInformation {
            erasable: true,
            last_session_state: if formatted {
                SessionState::Complete
            } else {
                SessionState::Empty
            },
            disc_status: if formatted {
                DiscStatus::Complete
            } else {
                DiscStatus::Blank
            },
            first_track: 1,
            sessions: 1,
            first_track_last_session: 1,
            last_track_last_session: 1,
            unrestricted_use: true,
            bg_format_status: if m.profile == Profile::DvdPlusRw {
                m.bg_format.status()
            } else {
                0
            },
            disc_type: 0,
            last_session_lead_in: 0,
            last_possible_lead_out: cap,
        }
    } else {
        let last = m.sessions.last();
        let empty_next = !m.finalized && last.is_none_or(|s| s.closed);
        let state = if m.finalized {
            SessionState::Complete
        } else if empty_next {
            SessionState::Empty
        } else {
            SessionState::Incomplete
        };
        let status = if m.sessions.is_empty() {
            DiscStatus::Blank
        } else if m.finalized {
            DiscStatus::Complete
        } else {
            DiscStatus::Appendable
        };
        let sessions = m.sessions.len() as u16 + u16::from(empty_next);
        let in_last = last.map_or(0, |s| s.tracks.len() as u16);
        let (first_last, last_last) = if empty_next {
            (tracks + 1, tracks + 1)
        } else if m.finalized {
            (tracks + 1 - in_last, tracks)
        } else {
            // An open session ends with the invisible track unless the disc is full.
            let invisible = u16::from(
                m.nwa(cap).is_some()
                    && last.is_some_and(|s| {
                        s.tracks.last().is_none_or(|t| t.closed || t.reserved != 0)
                    }),
            );
            (tracks + 1 - in_last, tracks + invisible)
        };
        let is_cd = m.profile.family() == Family::Cd;
        let lead_in = if is_cd && !m.finalized {
            msf_word(i64::from(m.next_track_start()) - 150 - 4500)
        } else if is_cd {
            0xFFFF_FFFF
        } else {
            0
        };
        DiscInformation {
            erasable: m.profile.erasable(),
            last_session_state: state,
            disc_status: status,
            first_track: 1,
            sessions,
            first_track_last_session: first_last,
            last_track_last_session: last_last,
            unrestricted_use: true,
            bg_format_status: 0,
            disc_type: if is_cd { 0x20 } else { 0 },
            last_session_lead_in: lead_in,
            last_possible_lead_out: if is_cd { msf_word(i64::from(cap)) } else { cap },
        }
    };
    Ok(put(data, usize::from(cmd.alloc), &reply.encode()))
}

fn track_mode(m: &Medium) -> u8 {
    match m.profile {
        Profile::DvdMinusR | Profile::DvdMinusRwSequential => 5,
        _ => 4,
    }
}

fn recorded_track(m: &Medium, cap: u32, number: u16, session: u16, t: &Track) -> TrackInformation {
    let nwa = t.nwa().filter(|&n| n < cap);
    let free = match nwa {
        Some(n) if t.reserved != 0 => t.start + t.reserved - n,
        Some(n) => cap - n,
        None => 0,
    };
    TrackInformation {
        track: number,
        session,
        track_mode: track_mode(m),
        damage: t.damaged,
        reserved: t.reserved != 0,
        blank: t.written == 0,
        packet: track_mode(m) == 5,
        // Incremental recording uses variable packets (FP clear), as on real DVD-R.
        fixed_packet: false,
        data_mode: 1,
        next_writable: nwa,
        last_recorded: (t.written > 0).then(|| t.start + t.written - 1),
        start: t.start,
        free_blocks: free,
        fixed_packet_size: 0,
        size: if t.reserved != 0 || t.closed {
            t.end() - t.start
        } else {
            t.written + free
        },
    }
}

fn invisible_track(m: &Medium, cap: u32) -> Option<TrackInformation> {
    let nwa = m.nwa(cap)?;
    let new_session = m.sessions.last().is_none_or(|s| s.closed);
    Some(TrackInformation {
        track: m.track_count() + 1,
        session: m.sessions.len() as u16 + u16::from(new_session),
        track_mode: track_mode(m),
        blank: true,
        packet: track_mode(m) == 5,
        // Incremental recording uses variable packets (FP clear), as on real DVD-R.
        fixed_packet: false,
        data_mode: 1,
        next_writable: Some(nwa),
        start: nwa,
        free_blocks: cap - nwa,
        fixed_packet_size: 0,
        size: cap - nwa,
        ..TrackInformation::default()
    })
}

/// `minus_150`: report the blank CD's next writable address as −150 (the
/// pregap), as some drives do.
pub(super) fn track_information(
    m: &Medium,
    cap: u32,
    minus_150: bool,
    cdb: &[u8],
    data: DataPhase<'_>,
) -> Reply {
    let cmd = ReadTrackInformation::decode(cdb).map_err(|_| INVALID_FIELD)?;
    let reply = if m.profile.overwritable() {
        let one = matches!(
            cmd.address,
            TrackAddress::Track(1)
                | TrackAddress::Track(INVISIBLE_TRACK)
                | TrackAddress::Session(1)
        ) || matches!(cmd.address, TrackAddress::Lba(a) if a < cap);
        if !one {
            return Err(INVALID_FIELD);
        }
        // One track spans the disc: blank and writable from 0 until
        // formatted, complete afterwards (as DVD+RW drives report).
        let blank = !m.formatted;
        // Restricted overwrite is recorded in fixed 16-block packets, and
        // the track says so (FP set, packet size 16, as feature 0026h's
        // Blocking): growisofs refuses such a DVD-RW whose track is not
        // "formatted for fixed packet size" (transport.hxx).
        let ro = m.profile == Profile::DvdMinusRwRestricted;
        TrackInformation {
            track: 1,
            session: 1,
            track_mode: 4,
            packet: ro,
            fixed_packet: ro,
            fixed_packet_size: if ro { 16 } else { 0 },
            data_mode: 1,
            blank,
            start: 0,
            size: cap,
            next_writable: blank.then_some(0),
            free_blocks: if blank { cap } else { 0 },
            last_recorded: (!blank).then(|| cap.saturating_sub(1)),
            ..TrackInformation::default()
        }
    } else {
        let count = m.track_count();
        let find = |pred: &dyn Fn(u16, u16, &Track) -> bool| {
            m.tracks()
                .find(|(n, s, t)| pred(*n, *s, t))
                .map(|(n, s, t)| recorded_track(m, cap, n, s, t))
        };
        let incomplete = || {
            m.tracks()
                .last()
                .filter(|(_, _, t)| !t.closed && t.reserved == 0)
                .map(|(n, s, t)| recorded_track(m, cap, n, s, t))
        };
        let found = match cmd.address {
            // A full disc has no invisible track: report the last one.
            TrackAddress::Track(INVISIBLE_TRACK) => incomplete()
                .or_else(|| invisible_track(m, cap))
                .or_else(|| find(&|num, _, _| num == count)),
            TrackAddress::Track(n) if n >= 1 && n <= u32::from(count) => {
                find(&|num, _, _| u32::from(num) == n)
            }
            TrackAddress::Track(n) if n == u32::from(count) + 1 => invisible_track(m, cap),
            TrackAddress::Track(_) => None,
            TrackAddress::Lba(a) => find(&|_, _, t| a >= t.start && a < t.end())
                .or_else(|| invisible_track(m, cap).filter(|t| a >= t.start && a < cap)),
            TrackAddress::Session(s) => find(&|_, sess, _| u32::from(sess) == s)
                .or_else(|| invisible_track(m, cap).filter(|t| u32::from(t.session) == s)),
        };
        let mut t = found.ok_or(INVALID_FIELD)?;
        if minus_150 && m.sessions.is_empty() && m.profile.family() == Family::Cd {
            t.next_writable = Some(-150i32 as u32);
        }
        t
    };
    Ok(put(data, usize::from(cmd.alloc), &reply.encode()))
}

/// (first track number, start, end, last track number) of each closed
/// session; on DVD and BD also of an open session holding recorded tracks,
/// which drives report in the formatted TOC (growisofs reads it from a BD-R
/// left open under Pseudo-Overwrite).
fn closed_sessions(m: &Medium) -> Vec<(u8, u32, u32, u8)> {
    let mut out = Vec::new();
    let mut number = 1u16;
    let cd = m.profile.family() == Family::Cd;
    for s in &m.sessions {
        let n = s.tracks.len() as u16;
        let recorded = s.tracks.iter().any(|t| t.written > 0);
        if n > 0 && (s.closed || (!cd && recorded)) {
            let start = s.tracks[0].start;
            // A CD's lead-out follows the TAO run-out; a DVD-R drive puts
            // it after the recorded data, not after the first border's
            // padding (the GSA-4040B report of
            // DVD_MINUS_R_FIRST_BORDER_MIN_END: "Track#AA: 14@16").
            let end = s
                .tracks
                .iter()
                .map(|t| {
                    if cd {
                        t.end()
                    } else {
                        t.start + t.written.max(t.reserved)
                    }
                })
                .max()
                .unwrap_or(start);
            out.push((number as u8, start, end, (number + n - 1) as u8));
        }
        number += n;
    }
    out
}

pub(super) fn toc(m: &Medium, cap: u32, cdb: &[u8], data: DataPhase<'_>) -> Reply {
    let cmd = ReadToc::decode(cdb).map_err(|_| INVALID_FIELD)?;
    // The ATIP is pressed into every recordable CD, blank or not.
    if cmd.format == TocFormat::Atip {
        if m.profile.family() != Family::Cd {
            return Err(INVALID_FIELD);
        }
        let atip = Atip {
            cd_rw: m.profile == Profile::CdRw,
            lead_in_start: [97, 26, 66],
            last_lead_out_start: lba_to_msf(i64::from(m.capacity)),
        };
        return Ok(put(data, usize::from(cmd.alloc), &atip.encode()));
    }
    let addr = |lba: u32| {
        if cmd.msf {
            msf_word(i64::from(lba))
        } else {
            lba
        }
    };
    // Overwritable discs look like one closed session spanning the disc.
    let sessions = if m.profile.overwritable() {
        if !m.formatted {
            return Err(INVALID_FIELD);
        }
        vec![(1u8, 0u32, cap, 1u8)]
    } else {
        closed_sessions(m)
    };
    let Some(last) = sessions.last() else {
        return Err(INVALID_FIELD);
    };
    let bytes = match cmd.format {
        TocFormat::Toc => {
            let mut entries: Vec<TocEntry> = Vec::new();
            if m.profile.overwritable() {
                entries.push(TocEntry {
                    adr: 1,
                    control: 4,
                    track: 1,
                    address: addr(0),
                });
            } else {
                for (n, _, t) in m.tracks() {
                    if u32::from(n) > u32::from(last.3) || (n as u8) < cmd.track_session {
                        continue;
                    }
                    entries.push(TocEntry {
                        adr: 1,
                        control: 4,
                        track: n as u8,
                        address: addr(t.start),
                    });
                }
            }
            entries.push(TocEntry {
                adr: 1,
                control: 4,
                track: LEAD_OUT,
                address: addr(last.2),
            });
            Toc {
                first_track: 1,
                last_track: last.3,
                entries,
            }
            .encode()
        }
        TocFormat::SessionInfo => SessionInfo {
            first_session: 1,
            last_session: sessions.len() as u8,
            adr_control: 0x14,
            first_track_last_session: last.0,
            start: addr(last.1),
        }
        .encode(),
        TocFormat::Atip => return Err(INVALID_FIELD),
        TocFormat::FullToc => {
            if m.profile.family() != Family::Cd {
                return Err(INVALID_FIELD);
            }
            let mut entries = Vec::new();
            for (i, &(ft, _, end, lt)) in sessions.iter().enumerate() {
                let s = i as u8 + 1;
                let e = |point: u8, adr: u8, pmsf: [u8; 3]| FullTocEntry {
                    session: s,
                    adr_control: (adr << 4) | 4,
                    tno: 0,
                    point,
                    msf: [0, 0, 0],
                    pmsf,
                };
                entries.push(e(0xA0, 1, [ft, 0x20, 0]));
                entries.push(e(0xA1, 1, [lt, 0, 0]));
                entries.push(e(0xA2, 1, lba_to_msf(i64::from(end))));
                for (n, _, t) in m
                    .tracks()
                    .filter(|(n, _, _)| (ft..=lt).contains(&(*n as u8)))
                {
                    entries.push(e(n as u8, 1, lba_to_msf(i64::from(t.start))));
                }
                let is_last = i + 1 == sessions.len();
                if !(is_last && m.finalized) {
                    let next = if is_last {
                        m.next_track_start()
                    } else {
                        sessions[i + 1].1
                    };
                    let mut b0 = e(0xB0, 5, lba_to_msf(i64::from(cap)));
                    b0.msf = lba_to_msf(i64::from(next));
                    entries.push(b0);
                }
            }
            FullToc {
                first_session: 1,
                last_session: sessions.len() as u8,
                entries,
            }
            .encode()
        }
    };
    Ok(put(data, usize::from(cmd.alloc), &bytes))
}

pub(super) fn format_capacities(m: Option<&Medium>, cdb: &[u8], data: DataPhase<'_>) -> Reply {
    let cmd = ReadFormatCapacities::decode(cdb).map_err(|_| INVALID_FIELD)?;
    let reply = match m {
        None => FormatCapacities {
            current_blocks: MAX_BLOCKS,
            kind: CapacityKind::NoMedium,
            block_len: 2048,
            formattable: Vec::new(),
        },
        Some(m) => {
            let d = |t: u8, param: u32| FormatDescriptor {
                blocks: m.capacity,
                format_type: t,
                subtype: 0,
                param,
            };
            // BD: a full format with the default spares first (libburn
            // insists on it), then the spare sizes, as drives list them.
            let [default, most, least] = BD_SPARE_CLUSTERS;
            let bd = |t: u8, clusters: u32, param: u32| FormatDescriptor {
                blocks: m.with_spares(clusters),
                format_type: t,
                subtype: 0,
                param,
            };
            let formattable = match m.profile {
                Profile::DvdPlusRw => vec![d(FORMAT_DVD_PLUS_RW, 0)],
                Profile::DvdMinusRwSequential | Profile::DvdMinusRwRestricted => {
                    vec![d(FORMAT_FULL, 16), d(FORMAT_DVD_RW_QUICK, 16)]
                }
                Profile::BdRe => vec![
                    bd(FORMAT_FULL, default, default),
                    bd(FORMAT_BD_RE, default, default),
                    bd(FORMAT_BD_RE, most, most),
                    bd(FORMAT_BD_RE, least, least),
                    d(FORMAT_BD_RE_NO_SPARE, 0x800),
                ],
                Profile::BdR => vec![
                    bd(FORMAT_FULL, default, default),
                    bd(FORMAT_BD_R_SRM, default, 0),
                    bd(FORMAT_BD_R_SRM, most, 0),
                    bd(FORMAT_BD_R_SRM, least, 0),
                ],
                _ => Vec::new(),
            };
            let formatted = m.formatted && (m.profile.overwritable() || m.profile == Profile::BdR);
            // A suspended DVD+RW format reports how far it got.
            let current = if m.bg_format == super::medium::BgFormat::Suspended {
                m.formatted_end
            } else if formatted {
                m.user_capacity()
            } else {
                m.capacity
            };
            FormatCapacities {
                current_blocks: current,
                kind: if formatted {
                    CapacityKind::Formatted
                } else {
                    CapacityKind::Unformatted
                },
                block_len: 2048,
                formattable,
            }
        }
    };
    Ok(put(data, usize::from(cmd.alloc), &reply.encode()))
}

fn capabilities(traits: Traits) -> Capabilities {
    let Traits {
        locked,
        underrun_protection,
        buffer_bytes,
        tray,
        ..
    } = traits;
    Capabilities {
        read: ReadCaps::CD_R | ReadCaps::CD_RW | ReadCaps::DVD_ROM | ReadCaps::DVD_R,
        write: WriteCaps::CD_R | WriteCaps::CD_RW | WriteCaps::DVD_R | WriteCaps::TEST_WRITE,
        buffer_underrun_protection: underrun_protection,
        multisession: true,
        loading_mechanism: u8::from(tray),
        eject: true,
        locked,
        max_read_speed: 7056,
        buffer_kib: u16::try_from(buffer_bytes / 1024).unwrap_or(u16::MAX),
        current_write_speed: 7056,
        write_speeds: vec![7056, 5645, 2822],
    }
}

/// The changeable-values mask of page 05 a real drive reports: write type,
/// test write, LS_V, BUFE; multi-session, FP, copy, track mode; data block
/// type; link size; host application code; session format; packet size;
/// audio pause; the catalog number, ISRC and subheader bytes. Reserved bits
/// and bytes (byte 4, byte 7, the top bits of 0 and 2) are not changeable.
pub(super) fn write_page_changeable(len: usize) -> ModePage {
    let mut body = vec![0u8; len];
    let fixed = [0x7F, 0xFF, 0x0F, 0xFF, 0x00, 0x3F, 0xFF, 0x00];
    body[..fixed.len()].copy_from_slice(&fixed);
    for b in body.iter_mut().take(len.min(52)).skip(8) {
        *b = 0xFF;
    }
    ModePage {
        code: PAGE_WRITE_PARAMETERS,
        ps: false,
        body,
    }
}

/// What the drive is, as far as its mode pages tell.
#[derive(Debug, Clone, Copy)]
pub(super) struct Traits {
    /// Body length of page 05.
    pub write_page_len: usize,
    /// Page 2A BUF: buffer underrun protection.
    pub underrun_protection: bool,
    /// The tray is locked (PREVENT MEDIUM REMOVAL).
    pub locked: bool,
    /// Size of the drive's buffer (page 2A).
    pub buffer_bytes: u32,
    /// The loading mechanism is a tray (page 2A, feature 0003h); else a
    /// caddy or slot, which takes no load command.
    pub tray: bool,
}

pub(super) fn mode_sense(
    wp: &WriteParameters,
    traits: Traits,
    cdb: &[u8],
    data: DataPhase<'_>,
) -> Reply {
    let page_len = traits.write_page_len;
    let caps = || capabilities(traits).to_page();
    // Both sizes ask the same question; only the reply header differs.
    let (control, page, alloc, six) = if cdb[0] == ModeSense6::OPCODE {
        let c = ModeSense6::decode(cdb).map_err(|_| INVALID_FIELD)?;
        (c.control, c.page, u16::from(c.alloc), true)
    } else {
        let c = ModeSense10::decode(cdb).map_err(|_| INVALID_FIELD)?;
        (c.control, c.page, c.alloc, false)
    };
    let write_page = || match control {
        PageControl::Changeable => write_page_changeable(page_len),
        PageControl::Default | PageControl::Saved => {
            WriteParameters::default().to_page_len(page_len)
        }
        PageControl::Current => wp.to_page_len(page_len),
    };
    // Read/write error recovery: retry counts only, which is all burners read.
    let recovery = || ModePage {
        code: PAGE_ERROR_RECOVERY,
        ps: false,
        body: vec![0, 5, 0, 0, 0, 0, 5, 0, 0, 0],
    };
    let pages = match page {
        PAGE_ERROR_RECOVERY => vec![recovery()],
        PAGE_WRITE_PARAMETERS => vec![write_page()],
        PAGE_CAPABILITIES => vec![caps()],
        0x3F => vec![recovery(), write_page(), caps()],
        _ => return Err(INVALID_FIELD),
    };
    let params = ModeParameters { pages };
    let bytes = if six {
        params.encode6()
    } else {
        params.encode()
    };
    Ok(put(data, usize::from(alloc), &bytes))
}

pub(super) fn buffer_capacity(cdb: &[u8], buffer_bytes: u32, data: DataPhase<'_>) -> Reply {
    let cmd = ReadBufferCapacity::decode(cdb).map_err(|_| INVALID_FIELD)?;
    let reply = BufferCapacity {
        length: buffer_bytes,
        available: buffer_bytes,
    };
    Ok(put(data, usize::from(cmd.alloc), &reply.encode()))
}

pub(super) fn performance(m: Option<&Medium>, cdb: &[u8], data: DataPhase<'_>) -> Reply {
    let cmd = GetPerformance::decode(cdb).map_err(|_| INVALID_FIELD)?;
    let m = m.ok_or(super::medium::INCOMPATIBLE_MEDIUM)?;
    let last = m.user_capacity().saturating_sub(1);
    let base = match m.profile.family() {
        Family::Cd => 176,
        Family::Dvd => 1385,
        Family::Bd => 4496,
    };
    let reply = match cmd.kind {
        PerformanceType::Nominal { write } => Performance::Nominal {
            write,
            descriptors: vec![NominalPerformance {
                start_lba: 0,
                start_kbs: base * 8,
                end_lba: last,
                end_kbs: base * 16,
            }],
        },
        PerformanceType::WriteSpeed => Performance::WriteSpeeds(
            [16u32, 8, 4]
                .iter()
                .map(|x| WriteSpeedDescriptor {
                    wrc: 0,
                    end_lba: last,
                    read_kbs: base * 16,
                    write_kbs: base * x,
                })
                .collect(),
        ),
    };
    let max = 8 + 16 * usize::from(cmd.max_descriptors);
    let bytes = reply.encode();
    Ok(put(data, max, &bytes))
}

/// READ DISC STRUCTURE: format C0h (write protection status) on DVD and
/// BD media; a CD has no disc structures (incompatible medium).
pub(super) fn disc_structure(
    m: &Medium,
    write_protected: bool,
    cdb: &[u8],
    data: DataPhase<'_>,
) -> Reply {
    use crate::cdb::structure::{
        ReadDiscStructure, StructureMedia, WriteProtection, FORMAT_WRITE_PROTECTION,
    };
    let cmd = ReadDiscStructure::decode(cdb).map_err(|_| INVALID_FIELD)?;
    let family = m.profile.family();
    match (cmd.media, family) {
        (_, Family::Cd) => return Err(super::medium::INCOMPATIBLE_MEDIUM),
        (StructureMedia::Dvd, Family::Dvd) | (StructureMedia::Bd, Family::Bd) => {}
        _ => return Err(INVALID_FIELD),
    }
    if cmd.format != FORMAT_WRITE_PROTECTION {
        return Err(INVALID_FIELD);
    }
    let reply = WriteProtection {
        media_specific: write_protected,
        ..WriteProtection::default()
    };
    Ok(put(data, usize::from(cmd.alloc), &reply.encode()))
}
