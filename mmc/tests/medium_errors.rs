//! Typed medium problems: every [`MediumError`] the drive layer returns,
//! provoked on the emulated burner, and the pre-write check
//! ([`Drive::check_fits`], [`Drive::check_write`]) refusing before any
//! command that changes the disc is sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

mod support;

use mmc::emulator::Medium;
use mmc::{
    BlankMode, DataPhase, Drive, Emulator, Error, FreeSpace, MediumError, NoProgress, Profile,
    WriteOptions,
};
use support::Shared;

/// Opcodes that change a disc or its write state.
const CHANGING: [(u8, &str); 8] = [
    (0x2A, "WRITE(10)"),
    (0xAA, "WRITE(12)"),
    (0x53, "RESERVE TRACK"),
    (0x5B, "CLOSE TRACK/SESSION"),
    (0x35, "SYNCHRONIZE CACHE"),
    (0xA1, "BLANK"),
    (0x04, "FORMAT UNIT"),
    (0x1E, "PREVENT ALLOW MEDIUM REMOVAL"),
];

struct Rig {
    _dir: tempfile::TempDir,
    spec: String,
}

impl Rig {
    fn new(query: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!(
            "emulated:{}?{query}&busy=0",
            dir.path().join("disc.iso").display()
        );
        Rig { _dir: dir, spec }
    }

    /// A drive on a freshly opened emulator (options from `extra`), and the emulator.
    fn drive(&self, extra: &str, profile: Option<u16>) -> (Drive, Arc<Mutex<Emulator>>) {
        let spec = format!("{}&{extra}", self.spec);
        let emu = Arc::new(Mutex::new(Emulator::open_spec(&spec).unwrap()));
        let t = Shared {
            emu: Arc::clone(&emu),
            name: spec,
            profile,
        };
        let mut d = Drive::new(Box::new(t));
        d.set_poll_interval(Duration::from_millis(1));
        (d, emu)
    }

    fn plain(&self) -> Drive {
        self.drive("", None).0
    }
}

fn data(n: usize) -> Vec<u8> {
    vec![0x5A; n * 2048]
}

fn write(d: &mut Drive, n: usize, opts: &WriteOptions) -> mmc::Result<mmc::WriteReport> {
    d.write_session(&mut &data(n)[..], opts, &mut NoProgress)
}

fn problem(r: mmc::Result<impl std::fmt::Debug>) -> (MediumError, String) {
    let e = r.expect_err("expected a medium problem");
    let p = e
        .medium()
        .unwrap_or_else(|| panic!("not a medium problem: {e:?}"));
    (p, e.to_string())
}

fn medium(emu: &Arc<Mutex<Emulator>>) -> Option<Medium> {
    emu.lock().unwrap().medium().cloned()
}

/// Nothing that changes the disc reached the emulator, and its medium is as it was.
fn untouched(emu: &Arc<Mutex<Emulator>>, before: &Option<Medium>) {
    let e = emu.lock().unwrap();
    for (op, name) in CHANGING {
        assert_eq!(e.command_count(op), 0, "{name} was sent");
    }
    assert_eq!(e.blocks_written(), 0);
    assert_eq!(e.medium().cloned(), *before);
}

#[test]
fn a_disc_too_full_for_the_image_is_refused_before_any_write() {
    // 1 MiB already written in a closed session (which costs the session
    // gap), less than 1 MiB left.
    let cap = 512 + mmc::emulator::DVD_PLUS_R_SESSION_GAP + 400;
    let rig = Rig::new(&format!("profile=dvd+r&capacity={cap}"));
    write(&mut rig.plain(), 512, &WriteOptions::default()).unwrap();

    let (mut d, emu) = rig.drive("", None);
    let before = medium(&emu);
    let info = d.medium_info().unwrap();
    let (nwa, free) = (info.next_writable.unwrap(), info.free_blocks);
    assert!(nwa > 512 && free < 512, "{nwa} {free}");

    // What fits is reported with the real start and room.
    let ok = d.check_fits(free - 16).unwrap();
    assert_eq!(
        ok,
        FreeSpace {
            profile: Profile::DvdPlusR,
            start: nwa,
            free_blocks: free,
            need_blocks: Some(free - 16),
        }
    );
    assert_eq!(ok.blocks_left(), Some(16));
    assert_eq!(ok.free_bytes(), u64::from(free) * 2048);
    // A size that is not a whole ECC unit needs the padded size.
    assert_eq!(d.check_fits(1).unwrap().need_blocks, Some(16));

    // An image of 1 MiB does not.
    let (p, text) = problem(d.check_fits(512));
    assert_eq!(
        p,
        MediumError::DoesNotFit {
            need_blocks: 512,
            free_blocks: free
        }
    );
    assert!(
        text.contains(&format!(
            "does not fit: need 1 MiB, {} MiB free",
            free / 512
        )),
        "{text}"
    );
    // write_session makes the same check first and sends nothing.
    let opts = WriteOptions {
        expected_blocks: Some(512),
        reserve: true,
        ..WriteOptions::default()
    };
    let (p2, _) = problem(write(&mut d, 512, &opts));
    assert_eq!(p2, p);
    untouched(&emu, &before);
    drop((d, emu));

    // Without a size the stream stops at the free space, before the drive overruns.
    let (mut d, emu) = rig.drive("", None);
    let (p, _) = problem(write(&mut d, 512, &WriteOptions::default()));
    assert!(
        matches!(p, MediumError::DoesNotFit { need_blocks, free_blocks }
            if free_blocks == free && need_blocks > free),
        "{p:?}"
    );
    let e = emu.lock().unwrap();
    assert!(e.blocks_written() <= u64::from(free));
}

#[test]
fn the_mib_message_rounds_so_that_need_always_exceeds_free() {
    let p = MediumError::DoesNotFit {
        need_blocks: 513,
        free_blocks: 512,
    };
    assert_eq!(
        p.to_string(),
        "does not fit: need 2 MiB, 1 MiB free (513 blocks needed, 512 free)"
    );
}

#[test]
fn overwritable_media_are_checked_from_the_start_block() {
    let rig = Rig::new("profile=dvd+rw&capacity=4096");
    let mut d = rig.plain();
    let (p, text) = problem(d.check_fits(16));
    assert_eq!(
        p,
        MediumError::NotFormatted {
            profile: Profile::DvdPlusRw.to_string()
        }
    );
    assert!(text.contains("not formatted"), "{text}");
    d.format().unwrap();
    drop(d);
    let (mut d, emu) = rig.drive("", None);
    let before = medium(&emu);
    let opts = WriteOptions {
        start: Some(4000),
        expected_blocks: Some(200),
        ..WriteOptions::default()
    };
    let (p, _) = problem(d.check_write(&opts));
    assert_eq!(
        p,
        MediumError::DoesNotFit {
            need_blocks: 200,
            free_blocks: 96
        }
    );
    let (p, _) = problem(write(&mut d, 200, &opts));
    assert!(matches!(p, MediumError::DoesNotFit { .. }), "{p:?}");
    untouched(&emu, &before);
    let space = d
        .check_write(&WriteOptions {
            expected_blocks: Some(96),
            ..opts
        })
        .unwrap();
    assert_eq!((space.start, space.free_blocks), (4000, 96));
}

#[test]
fn a_finalized_disc_is_refused_before_any_write() {
    let rig = Rig::new("profile=cdr-74");
    let fin = WriteOptions {
        finalize: true,
        ..WriteOptions::default()
    };
    write(&mut rig.plain(), 300, &fin).unwrap();
    let (mut d, emu) = rig.drive("", None);
    let before = medium(&emu);
    let (p, text) = problem(d.check_fits(300));
    assert_eq!(
        p,
        MediumError::Finalized {
            profile: Profile::CdR.to_string()
        }
    );
    assert!(text.contains("finalized"), "{text}");
    assert_eq!(problem(write(&mut d, 300, &WriteOptions::default())).0, p);
    untouched(&emu, &before);
}

#[test]
fn a_full_disc_has_no_next_writable_address() {
    let rig = Rig::new("profile=dvd+r");
    write(&mut rig.plain(), 16, &WriteOptions::default()).unwrap();
    let (mut d, emu) = rig.drive("full=1", None);
    let before = medium(&emu);
    let (p, _) = problem(d.check_fits(16));
    assert_eq!(
        p,
        MediumError::NoNextWritable {
            profile: Profile::DvdPlusR.to_string()
        }
    );
    assert_eq!(problem(write(&mut d, 16, &WriteOptions::default())).0, p);
    untouched(&emu, &before);
}

#[test]
fn a_medium_this_crate_does_not_write_is_an_unwritable_profile() {
    let rig = Rig::new("profile=dvd+r");
    // The emulated disc answers as a DVD-ROM (profile 0010h).
    let (mut d, emu) = rig.drive("", Some(0x0010));
    let before = medium(&emu);
    let (p, text) = problem(d.check_fits(16));
    assert!(
        matches!(&p, MediumError::UnwritableProfile { profile } if profile.contains("DVD-ROM")),
        "{p:?}"
    );
    assert!(text.contains("cannot write a DVD-ROM"), "{text}");
    assert_eq!(problem(write(&mut d, 16, &WriteOptions::default())).0, p);
    untouched(&emu, &before);
}

#[test]
fn no_medium_and_write_protection_are_classified_from_the_sense() {
    let rig = Rig::new("profile=dvd+r");
    rig.plain().medium_info().unwrap();
    let (mut d, emu) = rig.drive("removed=1", None);
    let (p, text) = problem(d.check_fits(16));
    assert_eq!(p, MediumError::NoMedium);
    assert!(text.contains("medium not present"), "{text}");
    assert_eq!(
        problem(write(&mut d, 16, &WriteOptions::default())).0,
        MediumError::NoMedium
    );
    assert_eq!(emu.lock().unwrap().blocks_written(), 0);
    drop((d, emu));

    let (mut d, emu) = rig.drive("wp=1", None);
    let (p, text) = problem(write(&mut d, 16, &WriteOptions::default()));
    assert_eq!(p, MediumError::WriteProtected);
    assert!(text.contains("sense 7/27/00 (write protected)"), "{text}");
    let e = emu.lock().unwrap();
    assert_eq!(e.blocks_written(), 0);
    assert!(e.medium().unwrap().is_blank());
}

#[test]
fn blanking_formatting_and_finalizing_the_wrong_medium() {
    let rig = Rig::new("profile=dvd+r");
    let mut d = rig.plain();
    assert_eq!(
        problem(d.blank(BlankMode::Fast)).0,
        MediumError::NotBlankable {
            profile: Profile::DvdPlusR.to_string()
        }
    );
    assert_eq!(
        problem(d.format()).0,
        MediumError::NotFormattable {
            profile: Profile::DvdPlusR.to_string(),
            bd_r: false
        }
    );
    let bd = Rig::new("profile=bd-r");
    let (p, text) = problem(bd.plain().format());
    assert_eq!(
        p,
        MediumError::NotFormattable {
            profile: Profile::BdR.to_string(),
            bd_r: true
        }
    );
    assert!(text.contains("Pseudo-Overwrite"), "{text}");
    let cd = Rig::new("profile=cdr-74");
    assert_eq!(
        problem(cd.plain().finalize()).0,
        MediumError::NotFinalizable
    );
}

#[test]
fn empty_and_partial_data_are_typed() {
    let rig = Rig::new("profile=dvd+r");
    let mut d = rig.plain();
    let (p, _) = problem(d.write_session(&mut &[][..], &WriteOptions::default(), &mut NoProgress));
    assert_eq!(p, MediumError::EmptyData);
    let rig = Rig::new("profile=dvd+r");
    let (mut d, emu) = rig.drive("", None);
    let odd = vec![1u8; 2048 * 3 + 100];
    let (p, _) = problem(d.write_session(&mut &odd[..], &WriteOptions::default(), &mut NoProgress));
    assert_eq!(
        p,
        MediumError::PartialBlock {
            bytes: 100,
            after_block: 3
        }
    );
    assert_eq!(emu.lock().unwrap().blocks_written(), 0);
}

#[test]
fn a_dvd_minus_r_without_incremental_writing_is_typed() {
    let rig = Rig::new("profile=dvd-rw");
    let mut d = rig.plain();
    write(&mut d, 32, &WriteOptions::default()).unwrap();
    let quick = mmc::cdb::format::Blank {
        immed: false,
        kind: mmc::cdb::format::BlankType::Minimal,
        address: 0,
    };
    mmc::cdb::run(
        d.transport_mut(),
        &quick,
        DataPhase::None,
        mmc::DEFAULT_TIMEOUT,
    )
    .unwrap();
    let (p, text) = problem(d.check_fits(32));
    assert_eq!(
        p,
        MediumError::NotIncremental {
            profile: Profile::DvdMinusRwSequential.to_string()
        }
    );
    assert!(text.contains("feature 0021h is not current"), "{text}");
}

#[test]
fn other_errors_are_not_medium_problems() {
    let e = Error::Transport {
        device: "x".into(),
        command: "INQUIRY",
        detail: "gone".into(),
    };
    assert_eq!(e.medium(), None);
}
