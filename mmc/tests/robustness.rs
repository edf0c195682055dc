//! Device bytes never panic the parsers, and random command streams never
//! panic the emulated drive or corrupt its state file.

use proptest::prelude::*;

use mmc::cdb::config::{Configuration, EventStatus};
use mmc::cdb::disc::{Capacity, DiscInformation, TrackInformation};
use mmc::cdb::format::{FormatCapacities, FormatParameters};
use mmc::cdb::mode::{Capabilities, ModePage, ModeParameters, WriteParameters};
use mmc::cdb::perf::{BufferCapacity, Performance, PerformanceType, StreamingDescriptor};
use mmc::cdb::rw::Write10;
use mmc::cdb::spc::InquiryData;
use mmc::cdb::toc::{FullToc, SessionInfo, Toc};
use mmc::cdb::track::{CloseFunction, CloseTrackSession};
use mmc::cdb::{Command, Response};
use mmc::emulator::{state_path, DriveState, EmulatorOptions};
use mmc::{DataPhase, Emulator, MediaType, Sense, Transport, DEFAULT_TIMEOUT};

fn parse_all(b: &[u8]) {
    let _ = Sense::parse(b);
    let _ = InquiryData::parse(b);
    let _ = Configuration::parse(b).map(|c| c.profiles());
    let _ = EventStatus::parse(b);
    let _ = Capacity::parse(b);
    let _ = DiscInformation::parse(b);
    let _ = TrackInformation::parse(b);
    let _ = Toc::parse(b);
    let _ = SessionInfo::parse(b);
    let _ = FullToc::parse(b);
    let _ = mmc::cdb::toc::Atip::parse(b);
    let _ = FormatCapacities::parse(b);
    let _ = FormatParameters::parse(b);
    let _ = BufferCapacity::parse(b);
    let _ = StreamingDescriptor::parse(b);
    let _ = Performance::parse_as(PerformanceType::WriteSpeed, b);
    let _ = Performance::parse_as(PerformanceType::Nominal { write: false }, b);
    if let Ok(p) = ModeParameters::parse(b) {
        for page in &p.pages {
            let _ = WriteParameters::from_page(page);
            let _ = Capabilities::from_page(page);
        }
    }
    for code in [0x05, 0x2A] {
        let page = ModePage {
            code,
            ps: false,
            body: b.to_vec(),
        };
        let _ = WriteParameters::from_page(&page);
        let _ = Capabilities::from_page(&page);
    }
}

/// Opcodes the emulator knows, so random streams reach its rules.
const OPCODES: [u8; 28] = [
    0x15, 0x1A, 0x54, 0x00, 0x03, 0x04, 0x12, 0x1B, 0x1E, 0x23, 0x25, 0x28, 0x2A, 0x35, 0x43, 0x46,
    0x4A, 0x51, 0x52, 0x53, 0x55, 0x5A, 0x5B, 0x5C, 0xA1, 0xAC, 0xB6, 0xBB,
];

fn command() -> impl Strategy<Value = (Vec<u8>, u8, Vec<u8>)> {
    (
        prop::sample::select(OPCODES.to_vec()),
        prop::collection::vec(any::<u8>(), 11),
        0u8..3,
        prop::collection::vec(any::<u8>(), 0..256),
    )
        .prop_map(|(op, mut rest, dir, data)| {
            // Keep transfer lengths small so READ/WRITE mostly fit their buffers.
            if matches!(op, 0x28 | 0x2A) {
                rest[6] = 0;
                rest[7] %= 3;
                rest[1] = 0;
                rest[2] = 0;
                rest[3] %= 2;
            }
            let mut cdb = vec![op];
            cdb.extend(rest);
            (cdb, dir, data)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        parse_all(&bytes);
    }

    #[test]
    fn write_and_close_cdbs_round_trip(lba in any::<u32>(), blocks in any::<u16>(), track in any::<u16>(), f in 0u8..8, immed in any::<bool>()) {
        let w = Write10 { lba, blocks };
        prop_assert_eq!(Write10::decode(w.encode().as_bytes()).unwrap(), w);
        let c = CloseTrackSession::decode(&[0x5B, u8::from(immed), f, 0, (track >> 8) as u8, track as u8, 0, 0, 0, 0]).unwrap();
        prop_assert_eq!(c.encode().as_bytes()[2], f);
        prop_assert_eq!(CloseTrackSession::decode(c.encode().as_bytes()).unwrap(), c);
        prop_assert_eq!(c.track, track);
        if f == 1 { prop_assert_eq!(c.function, CloseFunction::Track); }
    }

    #[test]
    fn track_information_round_trips(track in 1u16..500, session in 1u16..300, start in any::<u32>(), nwa in any::<Option<u32>>(), free in any::<u32>(), size in any::<u32>(), blank in any::<bool>()) {
        let t = TrackInformation { track, session, start, next_writable: nwa, free_blocks: free, size, blank, data_mode: 1, track_mode: 4, ..TrackInformation::default() };
        prop_assert_eq!(TrackInformation::parse(&t.encode()).unwrap(), t);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_command_streams_never_panic_the_emulator(
        media in prop::sample::select(vec!["cdrw-74", "dvd+r", "dvd+rw", "dvd-rw", "bd-r", "bd-re"]),
        cmds in prop::collection::vec(command(), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.img");
        let opts = EmulatorOptions { media: MediaType::by_name(media), capacity: Some(5000), busy_polls: Some(1), ..Default::default() };
        {
            let mut e = Emulator::open(&path, opts).unwrap();
            for (cdb, dir, mut data) in cmds {
                let phase = match dir {
                    0 => DataPhase::None,
                    1 => DataPhase::ToDevice(&data),
                    _ => DataPhase::FromDevice(&mut data),
                };
                // Errors are fine; panics are not.
                if let Ok(done) = e.execute(&cdb, phase, DEFAULT_TIMEOUT) {
                    prop_assert!(done.status == 0 || done.sense.is_some());
                }
            }
        }
        let state = DriveState::load(&state_path(&path));
        prop_assert!(state.is_ok(), "{:?}", state);
        // The disc still opens and describes itself.
        let mut d = mmc::Drive::open(&format!("emulated:{}?busy=0", path.display())).unwrap();
        if d.medium_present().unwrap() {
            d.medium_info().unwrap();
        }
    }
}
