//! Byte-exact tests of every command builder and response parser, both ways,
//! against layouts written out by hand from MMC-5/SPC-3.

use std::fmt::Debug;

use mmc::cdb::config::*;
use mmc::cdb::disc::*;
use mmc::cdb::format::*;
use mmc::cdb::mode::*;
use mmc::cdb::perf::*;
use mmc::cdb::rw::*;
use mmc::cdb::spc::*;
use mmc::cdb::toc::*;
use mmc::cdb::track::*;
use mmc::cdb::{Command, Response};

fn cdb<C: Command + PartialEq + Debug>(cmd: C, bytes: &[u8]) {
    assert_eq!(cmd.encode().as_bytes(), bytes, "{} encode", C::NAME);
    assert_eq!(C::decode(bytes).unwrap(), cmd, "{} decode", C::NAME);
    // A CDB with another opcode or cut short is refused, not misread.
    let mut wrong = bytes.to_vec();
    wrong[0] ^= 0xFF;
    assert!(C::decode(&wrong).is_err(), "{} wrong opcode", C::NAME);
    assert!(
        C::decode(&bytes[..bytes.len() - 1]).is_err(),
        "{} short",
        C::NAME
    );
}

fn reply<R: Response + PartialEq + Debug>(r: R, bytes: &[u8]) {
    assert_eq!(r.encode(), bytes, "encode");
    assert_eq!(R::parse(bytes).unwrap(), r, "parse");
}

#[test]
fn inquiry() {
    cdb(Inquiry::standard(36), &[0x12, 0, 0, 0, 0x24, 0]);
    cdb(
        Inquiry {
            vpd_page: Some(0x80),
            alloc: 255,
        },
        &[0x12, 1, 0x80, 0, 0xFF, 0],
    );
    reply(
        VpdPage {
            peripheral_type: 5,
            page: 0x00,
            data: vec![0x00, 0x80],
        },
        &[0x05, 0x00, 0, 2, 0x00, 0x80],
    );
    let mut b = vec![0x05, 0x80, 0x05, 0x02, 31, 0, 0, 0];
    b.extend_from_slice(b"HL-DT-ST");
    b.extend_from_slice(b"DVDRAM GH24NSD1 ");
    b.extend_from_slice(b"LG00");
    reply(
        InquiryData {
            peripheral_type: 5,
            removable: true,
            vendor: "HL-DT-ST".into(),
            product: "DVDRAM GH24NSD1".into(),
            revision: "LG00".into(),
        },
        &b,
    );
    assert!(InquiryData::parse(&b[..35]).is_err());
    // A page code without EVPD is invalid.
    assert!(Inquiry::decode(&[0x12, 0, 0x80, 0, 0xFF, 0]).is_err());
}

#[test]
fn test_unit_ready_and_request_sense() {
    cdb(TestUnitReady, &[0, 0, 0, 0, 0, 0]);
    cdb(
        RequestSense {
            descriptor: false,
            alloc: 18,
        },
        &[0x03, 0, 0, 0, 18, 0],
    );
    cdb(
        RequestSense {
            descriptor: true,
            alloc: 252,
        },
        &[0x03, 1, 0, 0, 252, 0],
    );
    let s = mmc::Sense::new(2, 0x3A, 0x01);
    let bytes = [0x70, 0, 2, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x3A, 1, 0, 0, 0, 0];
    reply(s, &bytes);
}

#[test]
fn start_stop_and_prevent_allow() {
    cdb(
        StartStopUnit {
            immed: false,
            action: StartStopAction::Eject,
        },
        &[0x1B, 0, 0, 0, 2, 0],
    );
    cdb(
        StartStopUnit {
            immed: true,
            action: StartStopAction::Load,
        },
        &[0x1B, 1, 0, 0, 3, 0],
    );
    cdb(
        StartStopUnit {
            immed: false,
            action: StartStopAction::Start,
        },
        &[0x1B, 0, 0, 0, 1, 0],
    );
    cdb(
        PreventAllowMediumRemoval { prevent: true },
        &[0x1E, 0, 0, 0, 1, 0],
    );
    cdb(
        PreventAllowMediumRemoval { prevent: false },
        &[0x1E, 0, 0, 0, 0, 0],
    );
}

#[test]
fn get_configuration() {
    cdb(
        GetConfiguration {
            request: RequestType::All,
            start_feature: 0,
            alloc: 0xFFFF,
        },
        &[0x46, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0],
    );
    cdb(
        GetConfiguration {
            request: RequestType::One,
            start_feature: 0x002D,
            alloc: 16,
        },
        &[0x46, 2, 0, 0x2D, 0, 0, 0, 0, 16, 0],
    );
    assert!(GetConfiguration::decode(&[0x46, 3, 0, 0, 0, 0, 0, 0, 8, 0]).is_err());
    // Header (current profile DVD+R), profile list of two, core feature.
    let bytes = [
        0, 0, 0, 24, 0, 0, 0x00, 0x1B, // header: length 24, current 001Bh
        0x00, 0x00, 0x03, 0x08, // feature 0000h, persistent+current, 8 bytes
        0x00, 0x1B, 0x01, 0x00, // DVD+R, current
        0x00, 0x09, 0x00, 0x00, // CD-R
        0x00, 0x01, 0x0B, 0x04, // feature 0001h, version 2, persistent+current
        0, 0, 0, 2,
    ];
    let c = Configuration {
        current_profile: 0x1B,
        features: vec![
            Configuration::profile_list_feature(&[
                ProfileDescriptor {
                    profile: 0x1B,
                    current: true,
                },
                ProfileDescriptor {
                    profile: 0x09,
                    current: false,
                },
            ]),
            Feature {
                code: 1,
                version: 2,
                persistent: true,
                current: true,
                data: vec![0, 0, 0, 2],
            },
        ],
    };
    reply(c.clone(), &bytes);
    assert_eq!(
        c.profiles()[0],
        ProfileDescriptor {
            profile: 0x1B,
            current: true
        }
    );
    // A reply cut by the allocation length keeps the whole features it holds.
    let cut = Configuration::parse(&bytes[..22]).unwrap();
    assert_eq!(cut.current_profile, 0x1B);
    assert_eq!(cut.features.len(), 1);
    assert!(Configuration::parse(&bytes[..7]).is_err());
}

#[test]
fn get_event_status_notification() {
    cdb(
        GetEventStatusNotification {
            polled: true,
            class_request: EVENT_CLASS_MEDIA,
            alloc: 8,
        },
        &[0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0],
    );
    reply(
        EventStatus {
            no_event_available: false,
            class: 4,
            supported: 0x10,
            media: Some(MediaEvent {
                code: MediaEventCode::NewMedia,
                present: true,
                tray_open: false,
            }),
        },
        &[0, 6, 4, 0x10, 2, 2, 0, 0],
    );
    reply(
        EventStatus {
            no_event_available: true,
            class: 0,
            supported: 0x10,
            media: None,
        },
        &[0, 2, 0x80, 0x10],
    );
}

#[test]
fn read_capacity() {
    cdb(ReadCapacity, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    reply(
        Capacity {
            last_lba: 0x0005_1F7F,
            block_len: 2048,
        },
        &[0, 5, 0x1F, 0x7F, 0, 0, 8, 0],
    );
}

#[test]
fn read_disc_information() {
    cdb(
        ReadDiscInformation { alloc: 34 },
        &[0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0],
    );
    // Appendable CD-RW, one closed session, empty second session (track 2).
    let mut b = vec![0u8; 34];
    b[1] = 32;
    b[2] = 0x10 | 0x01; // erasable, last session empty, appendable
    b[3] = 1;
    b[4] = 2;
    b[5] = 2;
    b[6] = 2;
    b[7] = 0x20;
    b[8] = 0x20;
    b[16..20].copy_from_slice(&[0, 0x03, 0x0A, 0x0F]);
    b[20..24].copy_from_slice(&[0, 0x4F, 0x3B, 0x4A]);
    let d = DiscInformation {
        erasable: true,
        last_session_state: SessionState::Empty,
        disc_status: DiscStatus::Appendable,
        first_track: 1,
        sessions: 2,
        first_track_last_session: 2,
        last_track_last_session: 2,
        unrestricted_use: true,
        bg_format_status: 0,
        disc_type: 0x20,
        last_session_lead_in: 0x00030A0F,
        last_possible_lead_out: 0x004F3B4A,
    };
    reply(d, &b);
    // Session and track counts above 255 use the MSB bytes 9–11.
    let big = DiscInformation {
        sessions: 0x0102,
        last_track_last_session: 0x0203,
        ..d
    };
    let e = big.encode();
    assert_eq!((e[4], e[9], e[6], e[11]), (0x02, 0x01, 0x03, 0x02));
    assert_eq!(DiscInformation::parse(&e).unwrap(), big);
    assert!(ReadDiscInformation::decode(&[0x51, 1, 0, 0, 0, 0, 0, 0, 34, 0]).is_err());
}

#[test]
fn read_track_information() {
    cdb(
        ReadTrackInformation {
            open: false,
            address: TrackAddress::Track(0xFF),
            alloc: 48,
        },
        &[0x52, 1, 0, 0, 0, 0xFF, 0, 0, 48, 0],
    );
    cdb(
        ReadTrackInformation {
            open: false,
            address: TrackAddress::Lba(0x1234),
            alloc: 40,
        },
        &[0x52, 0, 0, 0, 0x12, 0x34, 0, 0, 40, 0],
    );
    cdb(
        ReadTrackInformation {
            open: true,
            address: TrackAddress::Session(2),
            alloc: 48,
        },
        &[0x52, 6, 0, 0, 0, 2, 0, 0, 48, 0],
    );
    // The invisible track of a DVD+R after one 1,000-block session.
    let mut b = vec![0u8; 48];
    b[1] = 46;
    b[2] = 2;
    b[3] = 2;
    b[5] = 4;
    b[6] = 0x41; // blank, data mode 1
    b[7] = 0x01; // NWA valid
    b[8..12].copy_from_slice(&1008u32.to_be_bytes());
    b[12..16].copy_from_slice(&1008u32.to_be_bytes());
    b[16..20].copy_from_slice(&2_305_859u32.to_be_bytes());
    b[24..28].copy_from_slice(&2_305_859u32.to_be_bytes());
    let t = TrackInformation {
        track: 2,
        session: 2,
        track_mode: 4,
        blank: true,
        data_mode: 1,
        next_writable: Some(1008),
        start: 1008,
        free_blocks: 2_305_859,
        size: 2_305_859,
        ..TrackInformation::default()
    };
    reply(t, &b);
    // Old drives send 36 bytes; the parser takes what is there.
    let short = TrackInformation::parse(&b[..36]).unwrap();
    assert_eq!(short.next_writable, Some(1008));
    assert!(TrackInformation::parse(&b[..20]).is_err());
}

#[test]
fn read_toc_formats_and_legacy_byte() {
    let toc0 = ReadToc {
        msf: false,
        format: TocFormat::Toc,
        track_session: 1,
        alloc: 804,
        legacy: false,
    };
    cdb(toc0, &[0x43, 0, 0, 0, 0, 0, 1, 0x03, 0x24, 0]);
    let toc1 = ReadToc {
        msf: false,
        format: TocFormat::SessionInfo,
        track_session: 0,
        alloc: 12,
        legacy: false,
    };
    cdb(toc1, &[0x43, 0, 1, 0, 0, 0, 0, 0, 12, 0]);
    let toc2 = ReadToc {
        msf: true,
        format: TocFormat::FullToc,
        track_session: 1,
        alloc: 0xFFFF,
        legacy: false,
    };
    cdb(toc2, &[0x43, 2, 2, 0, 0, 0, 1, 0xFF, 0xFF, 0]);
    // Linux sr asks for session info with format 1 in byte 9 bits 7–6.
    let legacy = ReadToc {
        msf: false,
        format: TocFormat::SessionInfo,
        track_session: 0,
        alloc: 12,
        legacy: true,
    };
    cdb(legacy, &[0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0x40]);
    assert_eq!(
        ReadToc::decode(&[0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0x80])
            .unwrap()
            .format,
        TocFormat::FullToc
    );
    assert!(ReadToc::decode(&[0x43, 0, 5, 0, 0, 0, 0, 0, 12, 0]).is_err());
    let atip = ReadToc {
        msf: true,
        format: TocFormat::Atip,
        track_session: 0,
        alloc: 28,
        legacy: false,
    };
    cdb(atip, &[0x43, 2, 4, 0, 0, 0, 0, 0, 28, 0]);
    let mut a = vec![0u8; 28];
    a[1] = 26;
    a[4] = 0xD0;
    a[6] = 0xC0;
    a[8..11].copy_from_slice(&[97, 26, 66]);
    a[12..15].copy_from_slice(&[79, 59, 74]);
    reply(
        Atip {
            cd_rw: true,
            lead_in_start: [97, 26, 66],
            last_lead_out_start: [79, 59, 74],
        },
        &a,
    );

    reply(
        Toc {
            first_track: 1,
            last_track: 1,
            entries: vec![
                TocEntry {
                    adr: 1,
                    control: 4,
                    track: 1,
                    address: 0,
                },
                TocEntry {
                    adr: 1,
                    control: 4,
                    track: LEAD_OUT,
                    address: 0x0000_2710,
                },
            ],
        },
        &[
            0, 18, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0, 0, 0x14, 0xAA, 0, 0, 0, 0x27, 0x10,
        ],
    );
    reply(
        SessionInfo {
            first_session: 1,
            last_session: 2,
            adr_control: 0x14,
            first_track_last_session: 2,
            start: 21_400,
        },
        &[0, 10, 1, 2, 0, 0x14, 2, 0, 0, 0, 0x53, 0x98],
    );
    reply(
        FullToc {
            first_session: 1,
            last_session: 1,
            entries: vec![FullTocEntry {
                session: 1,
                adr_control: 0x14,
                tno: 0,
                point: 0xA0,
                msf: [0, 0, 0],
                pmsf: [1, 0x20, 0],
            }],
        },
        &[0, 13, 1, 1, 1, 0x14, 0, 0xA0, 0, 0, 0, 0, 1, 0x20, 0],
    );
    assert_eq!(lba_to_msf(0), [0, 2, 0]);
    assert_eq!(lba_to_msf(332_850), [74, 0, 0]);
    assert_eq!(lba_to_msf(-150), [0, 0, 0]);
    assert_eq!(lba_to_msf(-151), [99, 59, 74]);
    for lba in [-4500i64, -151, -150, 0, 1, 11_400, 358_349] {
        let [m, s, f] = lba_to_msf(lba);
        assert_eq!(msf_to_lba(m, s, f), lba);
    }
}

#[test]
fn mode_sense_select_and_page_05() {
    cdb(
        ModeSense10 {
            dbd: false,
            control: PageControl::Current,
            page: 0x05,
            alloc: 60,
        },
        &[0x5A, 0, 0x05, 0, 0, 0, 0, 0, 60, 0],
    );
    cdb(
        ModeSense10 {
            dbd: true,
            control: PageControl::Changeable,
            page: 0x2A,
            alloc: 0xFF,
        },
        &[0x5A, 0x08, 0x6A, 0, 0, 0, 0, 0, 0xFF, 0],
    );
    cdb(
        ModeSelect10 {
            pf: true,
            sp: false,
            len: 60,
        },
        &[0x55, 0x10, 0, 0, 0, 0, 0, 0, 60, 0],
    );

    // CD TAO, BUFE, multisession open, track mode 4, Mode 1, pause 150.
    let wp = WriteParameters {
        bufe: true,
        write_type: WriteType::TrackAtOnce,
        multisession: MULTISESSION_OPEN,
        track_mode: TRACK_MODE_DATA,
        data_block_type: DATA_BLOCK_MODE1,
        audio_pause: 150,
        ..WriteParameters::default()
    };
    let mut b = vec![0u8; 8 + 52];
    b[1] = 58;
    b[8] = 0x05;
    b[9] = 0x32;
    b[10] = 0x41;
    b[11] = 0xC4;
    b[12] = 0x08;
    b[22] = 0;
    b[23] = 150;
    let params = ModeParameters {
        pages: vec![wp.to_page()],
    };
    reply(params.clone(), &b);
    assert_eq!(
        WriteParameters::from_page(params.page(5).unwrap()).unwrap(),
        wp
    );

    // DVD-R incremental: LS_V, link size 16, FP, packet size 16, track mode 5.
    let dvd = WriteParameters {
        bufe: true,
        ls_v: true,
        write_type: WriteType::Incremental,
        multisession: MULTISESSION_OPEN,
        fp: true,
        track_mode: TRACK_MODE_INCREMENTAL,
        link_size: 16,
        packet_size: 16,
        ..WriteParameters::default()
    };
    let page = dvd.to_page();
    assert_eq!(&page.body[..4], &[0x60, 0xE5, 0x08, 16]);
    assert_eq!(&page.body[8..12], &[0, 0, 0, 16]);
    assert_eq!(WriteParameters::from_page(&page).unwrap(), dvd);
    // A MODE SELECT list has a zero data length: the buffer length rules.
    let mut sel = b.clone();
    sel[0] = 0;
    sel[1] = 0;
    assert_eq!(ModeParameters::parse(&sel).unwrap(), params);
    // The same page behind a 4-byte MODE SENSE(6) header.
    let six = params.encode6();
    assert_eq!(&six[..6], &[55, 0, 0, 0, 0x05, 0x32]);
    assert_eq!(&six[4..], &b[8..]);
    assert_eq!(ModeParameters::parse6(&six).unwrap(), params);
    // A page running past the buffer is an error.
    assert!(ModeParameters::parse(&b[..40]).is_err());
}

#[test]
fn capabilities_page_2a() {
    let caps = Capabilities {
        read: ReadCaps::CD_R | ReadCaps::CD_RW | ReadCaps::DVD_ROM,
        write: WriteCaps::CD_R | WriteCaps::CD_RW,
        buffer_underrun_protection: true,
        multisession: true,
        loading_mechanism: 1,
        eject: true,
        locked: false,
        max_read_speed: 7056,
        buffer_kib: 2048,
        current_write_speed: 7056,
        write_speeds: vec![7056, 2822],
    };
    let page = caps.to_page();
    assert_eq!(page.code, 0x2A);
    let b = &page.body;
    assert_eq!(b.len(), 38);
    assert_eq!(&b[..5], &[0x0B, 0x03, 0xC0, 0, 0x29]);
    assert_eq!(&b[6..8], &[0x1B, 0x90]);
    assert_eq!(&b[10..12], &[0x08, 0x00]);
    assert_eq!(&b[16..18], &[0x1B, 0x90]);
    assert_eq!(&b[26..30], &[0x1B, 0x90, 0, 2]);
    assert_eq!(&b[30..38], &[0, 0, 0x1B, 0x90, 0, 0, 0x0B, 0x06]);
    assert_eq!(Capabilities::from_page(&page).unwrap(), caps);
    assert!(Capabilities::from_page(&WriteParameters::default().to_page()).is_err());
}

#[test]
fn read_write_and_synchronize_cache() {
    cdb(
        Read10 { lba: 16, blocks: 1 },
        &[0x28, 0, 0, 0, 0, 16, 0, 0, 1, 0],
    );
    cdb(
        Write10 {
            lba: 0x0001_2345,
            blocks: 32,
        },
        &[0x2A, 0, 0, 1, 0x23, 0x45, 0, 0, 32, 0],
    );
    cdb(
        SynchronizeCache {
            immed: true,
            lba: 0,
            blocks: 0,
        },
        &[0x35, 2, 0, 0, 0, 0, 0, 0, 0, 0],
    );
}

#[test]
fn close_track_session_and_reserve_track() {
    cdb(
        CloseTrackSession {
            immed: true,
            function: CloseFunction::Track,
            track: 3,
        },
        &[0x5B, 1, 1, 0, 0, 3, 0, 0, 0, 0],
    );
    cdb(
        CloseTrackSession {
            immed: true,
            function: CloseFunction::Session,
            track: 0,
        },
        &[0x5B, 1, 2, 0, 0, 0, 0, 0, 0, 0],
    );
    cdb(
        CloseTrackSession {
            immed: true,
            function: CloseFunction::FinalizeMinimalRadius,
            track: 0,
        },
        &[0x5B, 1, 5, 0, 0, 0, 0, 0, 0, 0],
    );
    cdb(
        CloseTrackSession {
            immed: false,
            function: CloseFunction::Finalize,
            track: 0,
        },
        &[0x5B, 0, 6, 0, 0, 0, 0, 0, 0, 0],
    );
    cdb(
        CloseTrackSession {
            immed: false,
            function: CloseFunction::StopFormat,
            track: 0,
        },
        &[0x5B, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    cdb(
        ReserveTrack {
            blocks: 0x0001_0000,
        },
        &[0x53, 0, 0, 0, 0, 0, 1, 0, 0, 0],
    );
    assert!(ReserveTrack::decode(&[0x53, 1, 0, 0, 0, 0, 1, 0, 0, 0]).is_err());
}

#[test]
fn blank_format_and_format_capacities() {
    cdb(
        Blank {
            immed: true,
            kind: BlankType::Minimal,
            address: 0,
        },
        &[0xA1, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    cdb(
        Blank {
            immed: false,
            kind: BlankType::Full,
            address: 0,
        },
        &[0xA1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    assert!(Blank::decode(&[0xA1, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    cdb(
        FormatUnit {
            fmt_data: true,
            cmp_list: false,
        },
        &[0x04, 0x11, 0, 0, 0, 0],
    );
    assert!(FormatUnit::decode(&[0x04, 0x12, 0, 0, 0, 0]).is_err());
    reply(
        FormatParameters {
            immed: true,
            descriptor: FormatDescriptor {
                blocks: 2_295_104,
                format_type: 0x26,
                subtype: 0,
                param: 0,
            },
        },
        &[0, 0x82, 0, 8, 0, 0x23, 0x05, 0x40, 0x98, 0, 0, 0],
    );
    cdb(
        ReadFormatCapacities { alloc: 252 },
        &[0x23, 0, 0, 0, 0, 0, 0, 0, 252, 0],
    );
    reply(
        FormatCapacities {
            current_blocks: 2_295_104,
            kind: CapacityKind::Unformatted,
            block_len: 2048,
            formattable: vec![FormatDescriptor {
                blocks: 2_295_104,
                format_type: 0x26,
                subtype: 0,
                param: 0,
            }],
        },
        &[
            0, 0, 0, 16, 0, 0x23, 0x05, 0x40, 1, 0, 8, 0, 0, 0x23, 0x05, 0x40, 0x98, 0, 0, 0,
        ],
    );
}

#[test]
fn speed_streaming_buffer_and_performance() {
    cdb(
        SetCdSpeed {
            rotation: 0,
            read_kbs: 0xFFFF,
            write_kbs: 1411,
        },
        &[0xBB, 0, 0xFF, 0xFF, 0x05, 0x83, 0, 0, 0, 0, 0, 0],
    );
    cdb(
        SetStreaming { len: 28 },
        &[0xB6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 28, 0],
    );
    let d = StreamingDescriptor {
        exact: true,
        end_lba: 2_295_103,
        read_size: 11_080,
        read_time: 1000,
        write_size: 5540,
        write_time: 1000,
        ..StreamingDescriptor::default()
    };
    let mut b = vec![0u8; 28];
    b[0] = 0x02;
    b[8..12].copy_from_slice(&2_295_103u32.to_be_bytes());
    b[12..16].copy_from_slice(&11_080u32.to_be_bytes());
    b[16..20].copy_from_slice(&1000u32.to_be_bytes());
    b[20..24].copy_from_slice(&5540u32.to_be_bytes());
    b[24..28].copy_from_slice(&1000u32.to_be_bytes());
    reply(d, &b);

    cdb(
        ReadBufferCapacity { alloc: 12 },
        &[0x5C, 0, 0, 0, 0, 0, 0, 0, 12, 0],
    );
    reply(
        BufferCapacity {
            length: 0x0020_0000,
            available: 0x0010_0000,
        },
        &[0, 10, 0, 0, 0, 0x20, 0, 0, 0, 0x10, 0, 0],
    );

    cdb(
        GetPerformance {
            kind: PerformanceType::Nominal { write: true },
            start_lba: 0,
            max_descriptors: 1,
        },
        &[0xAC, 0x14, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
    );
    cdb(
        GetPerformance {
            kind: PerformanceType::WriteSpeed,
            start_lba: 0,
            max_descriptors: 4,
        },
        &[0xAC, 0, 0, 0, 0, 0, 0, 0, 0, 4, 3, 0],
    );
    let speeds = Performance::WriteSpeeds(vec![WriteSpeedDescriptor {
        wrc: 0,
        end_lba: 2_295_103,
        read_kbs: 22_160,
        write_kbs: 11_080,
    }]);
    let mut b = vec![0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&2_295_103u32.to_be_bytes());
    b.extend_from_slice(&22_160u32.to_be_bytes());
    b.extend_from_slice(&11_080u32.to_be_bytes());
    assert_eq!(speeds.encode(), b);
    assert_eq!(
        Performance::parse_as(PerformanceType::WriteSpeed, &b).unwrap(),
        speeds
    );
    let nominal = Performance::Nominal {
        write: true,
        descriptors: vec![NominalPerformance {
            start_lba: 0,
            start_kbs: 5540,
            end_lba: 2_295_103,
            end_kbs: 11_080,
        }],
    };
    let e = nominal.encode();
    assert_eq!(&e[..8], &[0, 0, 0, 20, 2, 0, 0, 0]);
    assert_eq!(
        Performance::parse_as(PerformanceType::Nominal { write: true }, &e).unwrap(),
        nominal
    );
}

#[test]
fn opcode_groups_and_names() {
    use mmc::cdb::{cdb_len, opcode_name};
    assert_eq!(cdb_len(0x12), 6);
    assert_eq!(cdb_len(0x2A), 10);
    assert_eq!(cdb_len(0x5B), 10);
    assert_eq!(cdb_len(0xA1), 12);
    assert_eq!(opcode_name(0x5B), "CLOSE TRACK/SESSION");
    assert_eq!(opcode_name(0xFF), "unknown command");
}
