//! The emulated burner's MMC rules, tested at the CDB level and through the
//! drive layer: write addresses, closed discs, capacity, blanking,
//! persistence, unit attentions and fault injection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mmc::cdb::disc::{DiscInformation, DiscStatus, ReadDiscInformation};
use mmc::cdb::format::{Blank, BlankType};
use mmc::cdb::rw::{Read10, Write10};
use mmc::cdb::spc::{StartStopAction, StartStopUnit, TestUnitReady};
use mmc::cdb::toc::{FullToc, ReadToc, SessionInfo, TocFormat};
use mmc::cdb::{query, run};
use mmc::emulator::{EmulatorOptions, Fault, Trigger};
use mmc::{
    DataPhase, Drive, Emulator, Error, MediaState, MediaType, NoProgress, Sense, WriteOptions,
    DEFAULT_TIMEOUT,
};

fn image(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("disc.iso")
}

fn spec(path: &Path, query: &str) -> String {
    format!("emulated:{}?{query}", path.display())
}

fn drive(spec: &str) -> Drive {
    let mut d = Drive::open(spec).unwrap();
    d.set_poll_interval(Duration::from_millis(1));
    d
}

fn blocks(n: usize, fill: u8) -> Vec<u8> {
    let mut v = vec![fill; n * 2048];
    for (i, b) in v.chunks_mut(2048).enumerate() {
        b[..4].copy_from_slice(&(i as u32).to_be_bytes());
    }
    v
}

fn write(d: &mut Drive, data: &[u8]) -> mmc::Result<mmc::WriteReport> {
    d.write_session(&mut &data[..], &WriteOptions::default(), &mut NoProgress)
}

fn sense_of(r: mmc::Result<usize>) -> (u8, u8, u8) {
    match r {
        Err(Error::Sense { sense, .. }) => sense.triple(),
        other => panic!("expected a check condition, got {other:?}"),
    }
}

fn tur(e: &mut Emulator) -> mmc::Result<usize> {
    run(e, &TestUnitReady, DataPhase::None, DEFAULT_TIMEOUT)
}

fn raw_write(e: &mut Emulator, lba: u32, n: u16) -> mmc::Result<usize> {
    let data = vec![0u8; usize::from(n) * 2048];
    run(
        e,
        &Write10 { lba, blocks: n },
        DataPhase::ToDevice(&data),
        DEFAULT_TIMEOUT,
    )
}

fn emulator(path: &Path, media: &str) -> Emulator {
    let opts = EmulatorOptions {
        media: MediaType::by_name(media),
        busy_polls: Some(0),
        ..EmulatorOptions::default()
    };
    Emulator::open(path, opts).unwrap()
}

#[test]
fn a_write_off_the_next_writable_address_gets_5_21_02() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    assert_eq!(sense_of(raw_write(&mut e, 16, 16)), (5, 0x21, 0x02));
    raw_write(&mut e, 0, 16).unwrap();
    // Neither a gap nor a rewrite of recorded blocks is allowed.
    assert_eq!(sense_of(raw_write(&mut e, 32, 16)), (5, 0x21, 0x02));
    assert_eq!(sense_of(raw_write(&mut e, 0, 16)), (5, 0x21, 0x02));
    raw_write(&mut e, 16, 16).unwrap();
}

#[test]
fn a_write_to_a_finalized_disc_fails_and_the_drive_layer_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(&image(&dir), "profile=cdr-74&busy=0");
    let mut d = drive(&s);
    let opts = WriteOptions {
        finalize: true,
        ..WriteOptions::default()
    };
    d.write_session(&mut &blocks(10, 1)[..], &opts, &mut NoProgress)
        .unwrap();
    assert_eq!(d.medium_info().unwrap().state, MediaState::Finalized);
    let e = write(&mut d, &blocks(10, 2)).unwrap_err();
    assert!(e.to_string().contains("finalized"), "{e}");
    drop(d);
    let mut e = emulator(&image(&dir), "cdr-74");
    assert_eq!(sense_of(raw_write(&mut e, 300, 1)), (5, 0x21, 0x02));
}

#[test]
fn capacity_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(&image(&dir), "profile=dvd+r&capacity=64&busy=0");
    let mut d = drive(&s);
    assert_eq!(d.medium_info().unwrap().free_blocks, 64);
    let e = d
        .write_session(
            &mut &blocks(80, 0)[..],
            &WriteOptions {
                expected_blocks: Some(80),
                ..WriteOptions::default()
            },
            &mut NoProgress,
        )
        .unwrap_err();
    assert!(e.to_string().contains("80 blocks needed, 64 free"), "{e}");
    // Without a size hint the stream stops before the drive would overrun.
    let e = write(&mut d, &blocks(80, 0)).unwrap_err();
    assert!(e.to_string().contains("does not fit"), "{e}");
    drop(d);
    let mut e = Emulator::open_spec(&s).unwrap();
    assert_eq!(sense_of(raw_write(&mut e, 64, 16)), (5, 0x21, 0x00));
}

#[test]
fn full_blank_resets_a_cd_rw_and_empties_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    let mut d = drive(&spec(&path, "profile=cdrw-80&busy=2"));
    write(&mut d, &blocks(400, 7)).unwrap();
    write(&mut d, &blocks(300, 8)).unwrap();
    assert_eq!(d.medium_info().unwrap().sessions, 2);
    assert!(std::fs::metadata(&path).unwrap().len() > 0);
    d.blank(mmc::BlankMode::Full).unwrap();
    let info = d.medium_info().unwrap();
    assert_eq!(info.state, MediaState::Blank);
    assert_eq!(
        (info.sessions, info.next_writable, info.free_blocks),
        (0, Some(0), 358_400)
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    // A write-once disc cannot be blanked.
    let dir2 = tempfile::tempdir().unwrap();
    let mut r = drive(&spec(&image(&dir2), "profile=cdr-80"));
    let e = r.blank(mmc::BlankMode::Fast).unwrap_err();
    assert!(e.to_string().contains("cannot be blanked"), "{e}");
    let mut raw = r.into_transport();
    let cmd = Blank {
        immed: false,
        kind: BlankType::Full,
        address: 0,
    };
    assert_eq!(
        sense_of(run(raw.as_mut(), &cmd, DataPhase::None, DEFAULT_TIMEOUT)),
        (5, 0x30, 0x00)
    );
}

#[test]
fn immediate_blank_reports_progress_until_done() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Emulator::open(
        &image(&dir),
        EmulatorOptions {
            media: MediaType::by_name("cdrw-74"),
            busy_polls: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    let cmd = Blank {
        immed: true,
        kind: BlankType::Minimal,
        address: 0,
    };
    run(&mut e, &cmd, DataPhase::None, DEFAULT_TIMEOUT).unwrap();
    let mut seen = Vec::new();
    loop {
        match tur(&mut e) {
            Ok(_) => break,
            Err(Error::Sense { sense, .. }) => {
                assert_eq!(sense.triple(), (2, 4, 7));
                seen.push(sense.progress.unwrap());
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

#[test]
fn state_persists_across_reopen_and_the_image_is_a_plain_iso_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    let s = spec(&path, "profile=cdr-80&busy=0");
    let first = blocks(320, 0xA1);
    let second = blocks(300, 0xB2);
    {
        let mut d = drive(&s);
        assert_eq!(write(&mut d, &first).unwrap().start, 0);
    }
    let msinfo = {
        let mut d = drive(&s);
        let info = d.medium_info().unwrap();
        assert_eq!(info.state, MediaState::Appendable);
        // A TAO track ends with 2 run-out blocks, then the lead-out and the
        // next lead-in and pregap follow.
        assert_eq!(info.msinfo(), Some((0, 320 + 2 + 11_400)));
        let r = write(&mut d, &second).unwrap();
        assert_eq!(r.start, 11_722);
        d.medium_info().unwrap().msinfo()
    };
    // Without the profile the state file alone describes the disc.
    let mut d = drive(&format!("emulated:{}", path.display()));
    assert_eq!(d.medium_info().unwrap().msinfo(), msinfo);
    assert_eq!(msinfo, Some((11_722, 11_722 + 300 + 2 + 6_900)));
    let mut back = vec![0u8; 300 * 2048];
    d.read_blocks(11_722, &mut back).unwrap();
    // The run-out blocks belong to the track but hold nothing readable.
    let mut one = vec![0u8; 2048];
    assert!(d.read_blocks(11_722 + 300, &mut one).is_err());
    assert_eq!(back, second);
    drop(d);
    // User block n sits at byte n × 2048 of the image.
    let file = std::fs::read(&path).unwrap();
    assert_eq!(&file[..first.len()], &first[..]);
    assert!(file[11_722 * 2048..] == second[..]);
    let state = std::fs::read_to_string(mmc::emulator::state_path(&path)).unwrap();
    assert!(state.starts_with("cedar-mmc-emulator-state 1\n"), "{state}");
}

#[test]
fn unit_attention_after_a_media_change_then_ready() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+rw");
    tur(&mut e).unwrap();
    e.load_blank(MediaType::by_name("dvd-r").unwrap()).unwrap();
    assert_eq!(sense_of(tur(&mut e)), (6, 0x28, 0));
    tur(&mut e).unwrap();

    // Tray out: no medium (tray open); tray in: unit attention once.
    let eject = StartStopUnit {
        immed: false,
        action: StartStopAction::Eject,
    };
    run(&mut e, &eject, DataPhase::None, DEFAULT_TIMEOUT).unwrap();
    assert_eq!(sense_of(tur(&mut e)), (2, 0x3A, 2));
    let load = StartStopUnit {
        immed: false,
        action: StartStopAction::Load,
    };
    run(&mut e, &load, DataPhase::None, DEFAULT_TIMEOUT).unwrap();
    assert_eq!(sense_of(tur(&mut e)), (6, 0x28, 0));
    tur(&mut e).unwrap();

    // The drive layer retries through a unit attention by itself.
    e.set_medium_removed(true);
    e.set_medium_removed(false);
    let mut d = Drive::new(Box::new(e));
    assert_eq!(
        d.medium_info().unwrap().profile,
        Some(mmc::Profile::DvdMinusR)
    );
}

#[test]
fn tray_state_survives_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(&image(&dir), "profile=bd-r&busy=0");
    drive(&s).eject().unwrap();
    let mut d = drive(&s);
    assert!(!d.medium_present().unwrap());
    d.load().unwrap();
    assert!(d.medium_present().unwrap());
}

#[test]
fn injected_command_fault_names_the_command_and_the_sense() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(&image(&dir), "profile=dvd+r&busy=0&fault=write@3:3/0c/00");
    let mut d = drive(&s);
    let e = write(&mut d, &blocks(100, 1)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("WRITE(10) failed: sense 3/0C/00 (write error)"),
        "{msg}"
    );
    assert!(msg.starts_with(&s), "{msg}");
    assert_eq!(e.sense().map(Sense::triple), Some((3, 0x0C, 0)));
}

#[test]
fn injected_block_fault_stops_the_write_at_that_block() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    e.inject(Fault {
        trigger: Trigger::Block(40),
        sense: Sense::new(3, 0x0C, 0x09),
    });
    let mut d = Drive::new(Box::new(e));
    let err = write(&mut d, &blocks(100, 3)).unwrap_err();
    let s = err.sense().copied().unwrap();
    assert_eq!((s.triple(), s.information), ((3, 0x0C, 0x09), Some(40)));
    assert!(err.to_string().contains("loss of streaming"), "{err}");
    // The 40 blocks before the fault are on the disc; the track is still open.
    let t = d.track_information(0xFF).unwrap();
    assert_eq!(t.next_writable, Some(40));
}

#[test]
fn injected_fault_on_sync_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(&image(&dir), "profile=bd-r&busy=0&fault=close@2:5/72/03");
    let mut d = drive(&s);
    let e = write(&mut d, &blocks(64, 3)).unwrap_err();
    assert!(
        e.to_string()
            .contains("CLOSE TRACK/SESSION failed: sense 5/72/03"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let s = spec(&image(&dir), "profile=dvd-r&busy=0&fault=sync@1:3/73/03");
    let e = write(&mut drive(&s), &blocks(64, 3)).unwrap_err();
    assert!(
        e.to_string()
            .contains("SYNCHRONIZE CACHE failed: sense 3/73/03 (power calibration area error)"),
        "{e}"
    );
}

#[test]
fn long_write_in_progress_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let s = spec(
        &image(&dir),
        "profile=dvd+r&busy=0&fault=write@2:2/04/08&fault=write@4:2/04/08",
    );
    let mut d = drive(&s);
    let r = write(&mut d, &blocks(64, 9)).unwrap();
    assert_eq!(r.blocks, 64);
    let mut back = vec![0u8; 64 * 2048];
    d.read_blocks(0, &mut back).unwrap();
    assert_eq!(back, blocks(64, 9));
}

#[test]
fn removed_medium_write_protect_and_full_disc_from_the_device_string() {
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    drive(&spec(&path, "profile=dvd+r&busy=0"));
    let mut d = drive(&spec(&path, "removed=1"));
    assert!(!d.medium_present().unwrap());
    let e = d.medium_info().unwrap_err();
    assert_eq!(e.sense().map(Sense::triple), Some((2, 0x3A, 1)));
    assert!(e.to_string().contains("medium not present"), "{e}");
    drop(d);

    let mut d = drive(&spec(&path, "wp=1&busy=0"));
    let e = write(&mut d, &blocks(16, 0)).unwrap_err();
    assert!(
        e.to_string().contains("sense 7/27/00 (write protected)"),
        "{e}"
    );
    drop(d);

    write(&mut drive(&spec(&path, "busy=0")), &blocks(16, 0)).unwrap();
    let mut d = drive(&spec(&path, "full=1&busy=0"));
    let info = d.medium_info().unwrap();
    assert_eq!((info.free_blocks, info.next_writable), (0, None));
    let e = write(&mut d, &blocks(16, 0)).unwrap_err();
    assert!(e.to_string().contains("disc full"), "{e}");
}

#[test]
fn dvd_minus_r_needs_an_incremental_write_mode() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd-r");
    // Power-on page 05 says TAO, which DVD-R does not do.
    assert_eq!(sense_of(raw_write(&mut e, 0, 16)), (5, 0x64, 0));
}

#[test]
fn toc_in_both_format_encodings_and_full_toc_on_cd() {
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    let mut d = drive(&spec(&path, "profile=cdr-74&busy=0"));
    write(&mut d, &blocks(300, 1)).unwrap();
    write(&mut d, &blocks(500, 2)).unwrap();
    let mut e = d.into_transport();
    let modern = ReadToc {
        msf: false,
        format: TocFormat::SessionInfo,
        track_session: 0,
        alloc: 12,
        legacy: false,
    };
    let legacy = ReadToc {
        legacy: true,
        ..modern
    };
    let a: SessionInfo = query(e.as_mut(), &modern, 12, DEFAULT_TIMEOUT).unwrap();
    let b: SessionInfo = query(e.as_mut(), &legacy, 12, DEFAULT_TIMEOUT).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        (a.last_session, a.first_track_last_session, a.start),
        (2, 2, 11_702)
    );
    let full = ReadToc {
        msf: true,
        format: TocFormat::FullToc,
        track_session: 1,
        alloc: 2048,
        legacy: false,
    };
    let f: FullToc = query(e.as_mut(), &full, 2048, DEFAULT_TIMEOUT).unwrap();
    assert_eq!(f.last_session, 2);
    let b0: Vec<_> = f.entries.iter().filter(|x| x.point == 0xB0).collect();
    // Each open-ended session points at the next program area.
    assert_eq!(b0.len(), 2);
    assert_eq!(b0[1].msf, mmc::cdb::toc::lba_to_msf(11_702 + 502 + 6_900));
    let di: DiscInformation = query(
        e.as_mut(),
        &ReadDiscInformation { alloc: 34 },
        34,
        DEFAULT_TIMEOUT,
    )
    .unwrap();
    assert_eq!(
        (di.disc_status, di.sessions, di.first_track_last_session),
        (DiscStatus::Appendable, 3, 3)
    );
}

#[test]
fn reads_outside_the_recorded_area_fail() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    raw_write(&mut e, 0, 16).unwrap();
    let mut buf = vec![0u8; 2 * 2048];
    let r = run(
        &mut e,
        &Read10 { lba: 15, blocks: 2 },
        DataPhase::FromDevice(&mut buf),
        DEFAULT_TIMEOUT,
    );
    assert_eq!(sense_of(r), (5, 0x21, 0));
    let r = run(
        &mut e,
        &Read10 { lba: 14, blocks: 2 },
        DataPhase::FromDevice(&mut buf),
        DEFAULT_TIMEOUT,
    );
    assert_eq!(r.unwrap(), 4096);
}

#[test]
fn unknown_opcodes_and_bad_fields_are_illegal_requests() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    use mmc::Transport;
    let c = e
        .execute(
            &[0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            DataPhase::None,
            DEFAULT_TIMEOUT,
        )
        .unwrap();
    assert_eq!(c.sense.unwrap().triple(), (5, 0x20, 0));
    // MODE SENSE of a page the drive does not have.
    let c = e
        .execute(
            &[0x5A, 0, 0x1D, 0, 0, 0, 0, 0, 64, 0],
            DataPhase::None,
            DEFAULT_TIMEOUT,
        )
        .unwrap();
    assert_eq!(c.sense.unwrap().triple(), (5, 0x24, 0));
    // A WRITE whose buffer does not match its length is a caller bug, reported as such.
    let e2 = e.execute(
        &[0x2A, 0, 0, 0, 0, 0, 0, 0, 2, 0],
        DataPhase::ToDevice(&[0u8; 2048]),
        DEFAULT_TIMEOUT,
    );
    assert!(e2
        .unwrap_err()
        .to_string()
        .contains("transfer length is 4096 bytes"));
}

#[test]
fn one_process_at_a_time_and_the_disc_type_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    let s = spec(&path, "profile=dvd+r");
    let held = Emulator::open_spec(&s).unwrap();
    let e = Emulator::open_spec(&s).unwrap_err();
    assert!(e.to_string().contains("in use"), "{e}");
    drop(held);
    let e = Emulator::open_spec(&spec(&path, "profile=cdr-74")).unwrap_err();
    assert!(e.to_string().contains("not cdr-74"), "{e}");
    let e = Emulator::open_spec(&format!(
        "emulated:{}",
        dir.path().join("new.iso").display()
    ))
    .unwrap_err();
    assert!(e.to_string().contains("?profile=NAME"), "{e}");
}

#[test]
fn an_existing_image_without_state_is_a_disc_holding_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    std::fs::write(&path, blocks(50, 5)).unwrap();
    let mut d = drive(&spec(&path, "profile=dvd+r&busy=0"));
    let info = d.medium_info().unwrap();
    assert_eq!(info.state, MediaState::Appendable);
    // The image's 50 blocks, rounded to the ECC block, and the session closure.
    assert_eq!(
        info.msinfo(),
        Some((0, 64 + mmc::emulator::DVD_PLUS_R_SESSION_GAP))
    );
    let mut back = vec![0u8; 50 * 2048];
    d.read_blocks(0, &mut back).unwrap();
    assert_eq!(back, blocks(50, 5));
}

#[test]
fn a_dvd_rw_stays_the_same_disc_across_its_two_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    let mut d = drive(&spec(&path, "profile=dvd-rw&busy=0"));
    d.format().unwrap();
    drop(d);
    // Named by its media type, the reformatted disc still opens...
    drive(&spec(&path, "profile=dvd-rw"));
    // ...but another media type does not.
    let e = Emulator::open_spec(&spec(&path, "profile=dvd+rw")).unwrap_err();
    assert!(
        e.to_string()
            .contains("DVD-RW restricted overwrite (dvd-rw-ro), not dvd+rw"),
        "{e}"
    );
}

#[test]
fn overwritable_media_report_one_track_blank_until_formatted() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = drive(&spec(&image(&dir), "profile=bd-re&busy=0"));
    let t = d.track_information(1).unwrap();
    assert_eq!(
        (t.blank, t.next_writable, t.free_blocks, t.size),
        (true, Some(0), 12_219_392, 12_219_392)
    );
    // Formatted with the drive's default spare area, the disc is smaller.
    d.format().unwrap();
    let t = d.track_information(0xFF).unwrap();
    assert_eq!(
        (t.blank, t.next_writable, t.free_blocks, t.last_recorded),
        (false, None, 0, Some(11_826_175))
    );
    assert!(d.track_information(2).is_err());
}
