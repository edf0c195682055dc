//! The drive layer against the emulator, for every media type: several
//! sessions (or in-place writes), msinfo after each, read-back, finalizing,
//! blanking and formatting.

use std::time::Duration;

use mmc::profile::{Family, MEDIA_TYPES};
use mmc::{BlankMode, Drive, MediaState, MediaType, NoProgress, Profile, Progress, WriteOptions};

fn blocks(n: usize, tag: u8) -> Vec<u8> {
    let mut v = vec![tag; n * 2048];
    for (i, b) in v.chunks_mut(2048).enumerate() {
        b[..4].copy_from_slice(&(i as u32).to_be_bytes());
    }
    v
}

fn open(dir: &tempfile::TempDir, media: &str) -> Drive {
    let spec = format!(
        "emulated:{}?profile={media}&busy=1",
        dir.path().join("d.img").display()
    );
    let mut d = Drive::open(&spec).unwrap();
    d.set_poll_interval(Duration::from_millis(1));
    d
}

fn read(d: &mut Drive, lba: u32, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n * 2048];
    d.read_blocks(lba, &mut b).unwrap();
    b
}

#[derive(Default)]
struct Count {
    last: u64,
    phases: Vec<String>,
}

impl Progress for Count {
    fn blocks_written(&mut self, done: u64) {
        assert!(done > self.last);
        self.last = done;
    }
    fn phase(&mut self, what: &str) {
        self.phases.push(what.to_string());
    }
}

/// Three sessions on a write-once/sequential medium, checking msinfo each time.
fn three_sessions(media: MediaType) {
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(&dir, media.name);
    let info = d.medium_info().unwrap();
    assert_eq!(info.profile, Some(media.profile), "{}", media.name);
    assert_eq!(info.state, MediaState::Blank);
    assert_eq!(
        (info.sessions, info.msinfo(), info.free_blocks),
        (0, None, media.capacity)
    );

    let cd = media.profile.family() == Family::Cd;
    let ecc = media.profile.ecc_blocks();
    let sizes = [350usize, 40, 77];
    let mut expected_start = 0u32;
    let mut starts = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let data = blocks(n, i as u8 + 1);
        let mut progress = Count::default();
        let r = d
            .write_session(&mut &data[..], &WriteOptions::default(), &mut progress)
            .unwrap_or_else(|e| panic!("{} session {}: {e}", media.name, i + 1));
        assert_eq!(r.start, expected_start, "{} session {}", media.name, i + 1);
        assert_eq!(r.track as usize, i + 1);
        // CD tracks are padded to 300 blocks, DVD/BD tracks to whole ECC blocks.
        let written = if cd {
            (n as u32).max(300)
        } else {
            (n as u32).next_multiple_of(ecc)
        };
        assert_eq!(r.blocks, written);
        assert_eq!(progress.last, u64::from(written));
        assert!(progress.phases.contains(&"closing session".to_string()));
        starts.push(r.start);

        // Closing a session costs space on every write-once medium; a CD
        // TAO track also ends with the drive's run-out blocks.
        let gap = mmc::emulator::Medium::blank(media).session_gap(i as u16 + 1);
        assert!(gap > 0, "{}", media.name);
        let run_out = if cd { mmc::emulator::CD_TAO_RUN_OUT } else { 0 };
        let mut end = (r.start + written + run_out).div_ceil(ecc) * ecc;
        if i == 0 && dvd_minus(media.profile) {
            // The drive extends a short first border's data.
            end = end.max(mmc::emulator::DVD_MINUS_R_FIRST_BORDER_MIN_END);
        }
        expected_start = end + gap;
        let info = d.medium_info().unwrap();
        assert_eq!(info.state, MediaState::Appendable, "{}", media.name);
        assert_eq!(info.sessions as usize, i + 1);
        assert_eq!(
            info.msinfo(),
            Some((r.start, expected_start)),
            "{} after session {}",
            media.name,
            i + 1
        );
        assert_eq!(info.free_blocks, media.capacity - expected_start);
        assert_eq!(read(&mut d, r.start, n), data);
    }
    // Every earlier session is still readable.
    for (i, (&start, &n)) in starts.iter().zip(&sizes).enumerate() {
        assert_eq!(read(&mut d, start, n), blocks(n, i as u8 + 1));
    }

    // A last session that finalizes the disc.
    let opts = WriteOptions {
        finalize: true,
        ..WriteOptions::default()
    };
    d.write_session(&mut &blocks(20, 9)[..], &opts, &mut NoProgress)
        .unwrap();
    let info = d.medium_info().unwrap();
    assert_eq!(info.state, MediaState::Finalized, "{}", media.name);
    assert_eq!(
        (info.sessions, info.next_writable, info.free_blocks),
        (4, None, 0)
    );
    assert_eq!(info.last_session_start, Some(expected_start));
    let e = d
        .write_session(
            &mut &blocks(20, 9)[..],
            &WriteOptions::default(),
            &mut NoProgress,
        )
        .unwrap_err();
    assert!(e.to_string().contains("finalized"), "{e}");
}

#[test]
fn sessions_on_every_write_once_medium() {
    for media in MEDIA_TYPES.iter().filter(|m| !m.profile.overwritable()) {
        three_sessions(*media);
    }
}

#[test]
fn overwritable_media_are_formatted_then_written_in_place() {
    for media in MEDIA_TYPES.iter().filter(|m| m.profile.overwritable()) {
        let dir = tempfile::tempdir().unwrap();
        let mut d = open(&dir, media.name);
        let info = d.medium_info().unwrap();
        assert_eq!(info.state, MediaState::Blank, "{}", media.name);
        let e = d
            .write_session(
                &mut &blocks(16, 1)[..],
                &WriteOptions::default(),
                &mut NoProgress,
            )
            .unwrap_err();
        assert!(e.to_string().contains("not formatted"), "{e}");
        d.format().unwrap();
        let info = d.medium_info().unwrap();
        assert_eq!(info.state, MediaState::Overwritable, "{}", media.name);
        // BD-RE is formatted with the drive's default spare area (12288
        // clusters of 32 blocks), as real drives offer it first.
        let capacity = if media.profile == mmc::Profile::BdRe {
            media.capacity - 0x3000 * 32
        } else {
            media.capacity
        };
        assert_eq!(info.capacity, capacity, "{}", media.name);
        assert!(info.erasable);

        let first = blocks(100, 1);
        let r = d
            .write_session(&mut &first[..], &WriteOptions::default(), &mut NoProgress)
            .unwrap();
        // Restricted overwrite takes whole 16-block packets: padded.
        let padded = if media.profile == mmc::Profile::DvdMinusRwRestricted {
            112
        } else {
            100
        };
        assert_eq!((r.start, r.blocks), (0, padded), "{}", media.name);
        // A "second session" goes after the first, then the start is rewritten.
        let second = blocks(50, 2);
        let at = WriteOptions {
            start: Some(112),
            ..WriteOptions::default()
        };
        d.write_session(&mut &second[..], &at, &mut NoProgress)
            .unwrap();
        let head = blocks(16, 3);
        d.write_session(&mut &head[..], &WriteOptions::default(), &mut NoProgress)
            .unwrap();
        assert_eq!(read(&mut d, 112, 50), second);
        assert_eq!(read(&mut d, 0, 16), head);
        assert_eq!(read(&mut d, 16, 84), first[16 * 2048..]);
        let too_far = WriteOptions {
            start: Some(capacity - 8),
            ..WriteOptions::default()
        };
        let e = d
            .write_session(&mut &blocks(16, 4)[..], &too_far, &mut NoProgress)
            .unwrap_err();
        assert!(e.to_string().contains("does not fit"), "{e}");
    }
}

#[test]
fn dvd_rw_switches_between_sequential_and_restricted_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(&dir, "dvd-rw");
    d.write_session(
        &mut &blocks(32, 1)[..],
        &WriteOptions::default(),
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(
        d.medium_info().unwrap().profile,
        Some(Profile::DvdMinusRwSequential)
    );
    d.format().unwrap();
    let info = d.medium_info().unwrap();
    assert_eq!(
        (info.profile, info.state),
        (
            Some(Profile::DvdMinusRwRestricted),
            MediaState::Overwritable
        )
    );
    d.blank(BlankMode::Fast).unwrap();
    let info = d.medium_info().unwrap();
    assert_eq!(
        (info.profile, info.state),
        (Some(Profile::DvdMinusRwSequential), MediaState::Blank)
    );
}

#[test]
fn blanking_a_cd_rw_makes_room_for_a_new_first_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(&dir, "cdrw-74");
    let opts = WriteOptions {
        finalize: true,
        ..WriteOptions::default()
    };
    d.write_session(&mut &blocks(300, 1)[..], &opts, &mut NoProgress)
        .unwrap();
    assert_eq!(d.medium_info().unwrap().state, MediaState::Finalized);
    d.blank(BlankMode::Fast).unwrap();
    let r = d
        .write_session(
            &mut &blocks(300, 2)[..],
            &WriteOptions::default(),
            &mut NoProgress,
        )
        .unwrap();
    assert_eq!(r.start, 0);
    assert_eq!(read(&mut d, 0, 300), blocks(300, 2));
}

#[test]
fn a_cd_with_no_room_for_another_session_is_closed_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "emulated:{}?profile=cdr-74&capacity=12000&busy=0",
        dir.path().join("d.img").display()
    );
    let mut d = Drive::open(&spec).unwrap();
    // 500 + 11,400 leaves 100 blocks: less than a 300-block track.
    d.write_session(
        &mut &blocks(500, 1)[..],
        &WriteOptions::default(),
        &mut NoProgress,
    )
    .unwrap();
    assert_eq!(d.medium_info().unwrap().state, MediaState::Finalized);
}

#[test]
fn identity_eject_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(&dir, "dvd+rw");
    let id = d.identify().unwrap();
    assert_eq!(
        (
            id.vendor.as_str(),
            id.product.as_str(),
            id.revision.as_str()
        ),
        ("CEDAR", "EMULATED BURNER", "1.0")
    );
    d.eject().unwrap();
    assert!(!d.medium_present().unwrap());
    assert_eq!(d.current_profile().unwrap(), 0);
    d.load().unwrap();
    assert!(d.medium_present().unwrap());
    assert_eq!(d.current_profile().unwrap(), 0x1A);
}

#[test]
fn partial_blocks_and_empty_data_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(&dir, "dvd+r");
    let e = d
        .write_session(
            &mut &[0u8; 3000][..],
            &WriteOptions::default(),
            &mut NoProgress,
        )
        .unwrap_err();
    assert!(e.to_string().contains("partial block"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(&dir, "bd-r");
    let e = d
        .write_session(&mut &[][..], &WriteOptions::default(), &mut NoProgress)
        .unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    let mut buf = [0u8; 100];
    assert!(d.read_blocks(0, &mut buf).is_err());
}

#[test]
fn a_failing_reader_is_reported_as_input_error() {
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(&dir, "dvd+r");
    let e = d
        .write_session(&mut Broken, &WriteOptions::default(), &mut NoProgress)
        .unwrap_err();
    assert!(
        e.to_string().ends_with(": reading the data to write"),
        "{e}"
    );
    let cause = std::error::Error::source(&e).map(|c| c.to_string());
    assert_eq!(cause.as_deref(), Some("disk on fire"), "{e}");
}

#[test]
fn a_minimally_blanked_dvd_rw_needs_a_full_blank_before_incremental_writing() {
    use mmc::cdb::format::{Blank, BlankType};
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(&dir, "dvd-rw");
    let data = blocks(32, 1);
    d.write_session(&mut &data[..], &WriteOptions::default(), &mut NoProgress)
        .unwrap();
    let quick = Blank {
        immed: false,
        kind: BlankType::Minimal,
        address: 0,
    };
    mmc::cdb::run(
        d.transport_mut(),
        &quick,
        mmc::DataPhase::None,
        mmc::DEFAULT_TIMEOUT,
    )
    .unwrap();
    assert!(!d.feature_current(0x21).unwrap());
    let e = d
        .write_session(&mut &data[..], &WriteOptions::default(), &mut NoProgress)
        .unwrap_err();
    assert!(
        e.to_string().contains("feature 0021h is not current"),
        "{e}"
    );
    // The drive layer's blank is a full one on DVD-RW.
    d.blank(BlankMode::Fast).unwrap();
    assert!(d.feature_current(0x21).unwrap());
    d.write_session(&mut &data[..], &WriteOptions::default(), &mut NoProgress)
        .unwrap();
}

#[test]
fn reserved_tracks_fix_the_next_session_start() {
    for (media, reserve, ecc) in [
        ("dvd+r", 100u32, 16u32),
        ("bd-r", 100, 32),
        ("dvd-r", 40, 16),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut d = open(&dir, media);
        let opts = WriteOptions {
            reserve: true,
            expected_blocks: Some(reserve),
            ..WriteOptions::default()
        };
        // Less data than reserved: the track keeps its reserved size.
        let r = d
            .write_session(&mut &blocks(30, 1)[..], &opts, &mut NoProgress)
            .unwrap();
        // The last WRITE is padded to a whole ECC block.
        assert_eq!((r.start, r.blocks), (0, 30u32.next_multiple_of(ecc)));
        let info = d.medium_info().unwrap();
        let gap = mmc::emulator::Medium::blank(MediaType::by_name(media).unwrap()).session_gap(1);
        let mut end = reserve.div_ceil(ecc) * ecc;
        if dvd_minus(MediaType::by_name(media).unwrap().profile) {
            end = end.max(mmc::emulator::DVD_MINUS_R_FIRST_BORDER_MIN_END);
        }
        assert_eq!(info.msinfo(), Some((0, end + gap)), "{media}");
        assert_eq!(read(&mut d, 0, 30), blocks(30, 1));
    }
}

#[test]
fn speed_buffer_events_and_features() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(&dir, "dvd+r");
    let speeds = d.write_speeds().unwrap();
    assert!(
        !speeds.is_empty() && speeds.windows(2).all(|w| w[0] >= w[1]),
        "{speeds:?}"
    );
    let (size, free) = d.buffer_capacity().unwrap();
    assert!(size > 0 && free <= size);
    d.set_speed(Some(5540)).unwrap();
    d.set_speed(None).unwrap();
    assert!(d.feature_current(0x2B).unwrap());
    assert!(!d.feature_current(0x2D).unwrap());
    d.write_session(
        &mut &blocks(16, 1)[..],
        &WriteOptions::default(),
        &mut NoProgress,
    )
    .unwrap();
    // Closing a session tells the host the medium changed.
    assert_eq!(
        d.media_event().unwrap(),
        Some(mmc::cdb::config::MediaEventCode::NewMedia)
    );
    assert_eq!(d.media_event().unwrap(), None);
}

#[test]
fn the_speed_command_suits_the_medium() {
    // A hardware error on the command proves which one was sent.
    for (media, what, name) in [
        ("dvd+r", "streaming", "SET STREAMING"),
        ("bd-re", "streaming", "SET STREAMING"),
        ("cdr-80", "speed", "SET CD SPEED"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!(
            "emulated:{}?profile={media}&fault={what}@1:4/44/00",
            dir.path().join("d.img").display()
        );
        let e = Drive::open(&spec)
            .unwrap()
            .set_speed(Some(1000))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("{name} failed: sense 4/44/00")),
            "{e}"
        );
        // An illegal request just leaves the speed to the drive.
        let dir = tempfile::tempdir().unwrap();
        let spec = format!(
            "emulated:{}?profile={media}&fault={what}@1:5/24/00",
            dir.path().join("d.img").display()
        );
        Drive::open(&spec).unwrap().set_speed(Some(1000)).unwrap();
    }
}

/// DVD-R and sequential DVD-RW, whose first border has a least size.
fn dvd_minus(p: mmc::Profile) -> bool {
    matches!(
        p,
        mmc::Profile::DvdMinusR | mmc::Profile::DvdMinusRwSequential
    )
}
