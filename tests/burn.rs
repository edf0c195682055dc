//! The data path store uses, end to end on the emulated drive: the image
//! built by `engine::image` with the previous session imported through the
//! drive, streamed through the FIFO by `engine::burn`, read back by
//! `engine::verify`, then read by programs nobody here wrote: xorriso per
//! session on write-once media; bsdtar, xorriso, isoinfo and pycdlib at LBA 16
//! on overwritable media (the image file is the disc: block n at byte n×2048).
//!
//! A missing reader fails the test when `CI` is set; locally it is skipped
//! with a note.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use cedar::engine::burn::BurnError;
use cedar::engine::disc::{self, DiscSource};
use cedar::engine::verify::{check_data, VerifyError};
use iso9660::{GraftPoint, Metadata};

mod support;

use support::nights::*;
use support::{have, have_pycdlib};

#[test]
fn two_nights_on_overwritable_media_are_seen_at_lba_16_by_every_reader() {
    for media in ["dvd+rw", "bd-re", "dvd-rw-ro"] {
        let dir = tempfile::tempdir().unwrap();
        let mut d = open(dir.path(), media, "");
        let s1 = stage(dir.path(), DAYS[0], 1);
        let r1 = night(&mut d, &s1, DAYS[0]);
        assert_eq!((r1.session_start, r1.descriptors_copied), (0, false));
        let s2 = stage(dir.path(), DAYS[1], 2);
        let r2 = night(&mut d, &s2, DAYS[1]);
        // Growth as growisofs does it: at the volume end rounded up to 16.
        assert_eq!(
            r2.session_start,
            r1.volume_end.next_multiple_of(16),
            "{media}"
        );
        assert!(r2.descriptors_copied, "{media}");
        let place = disc::placement(&mut d.drive).unwrap();
        assert_eq!(place.start_lba, r2.volume_end.next_multiple_of(16));
        assert_eq!(
            disc::volume_label(&mut d.drive).unwrap().as_deref(),
            Some("CEDAR BACKUP 01-DEC-2026")
        );
        drop(d.drive);
        let image = d.image;
        if have("bsdtar") {
            let listing = run(Command::new("bsdtar").arg("-tf").arg(&image));
            assert_lists(&listing, &DAYS, &format!("bsdtar on {media}"));
            let got = Command::new("bsdtar")
                .arg("-xOf")
                .arg(&image)
                .arg(format!("{}/etc.tar.gz", DAYS[0]))
                .output()
                .unwrap();
            assert!(got.status.success());
            assert!(
                got.stdout == content(1, 300_001),
                "bsdtar: day one's file differs"
            );
        }
        if have("xorriso") {
            let listing = xorriso_find(&image, None);
            assert_lists(&listing, &DAYS, &format!("xorriso on {media}"));
        }
        if have("isoinfo") {
            let listing = run(Command::new("isoinfo").args(["-R", "-f", "-i"]).arg(&image));
            assert_lists(&listing, &DAYS, &format!("isoinfo on {media}"));
        }
        if have_pycdlib() {
            let script = r#"
import sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
for path, dirs, files in iso.walk(rr_path='/'):
    for f in files:
        print(path.rstrip('/') + '/' + f)
iso.close()
"#;
            let listing = run(Command::new("python3").args(["-c", script]).arg(&image));
            assert_lists(&listing, &DAYS, &format!("pycdlib on {media}"));
        }
    }
}

#[test]
fn two_nights_on_write_once_media_are_two_sessions_for_xorriso() {
    for media in ["cdr-80", "dvd+r", "dvd-r", "dvd-rw", "bd-r"] {
        let dir = tempfile::tempdir().unwrap();
        let mut d = open(dir.path(), media, "");
        let s1 = stage(dir.path(), DAYS[0], 1);
        let r1 = night(&mut d, &s1, DAYS[0]);
        let s2 = stage(dir.path(), DAYS[1], 2);
        let r2 = night(&mut d, &s2, DAYS[1]);
        assert!(r2.session_start > r1.volume_end, "{media}");
        let info = d.drive.medium_info().unwrap();
        assert_eq!(
            info.msinfo().map(|m| m.0),
            Some(r2.session_start),
            "{media}"
        );
        drop(d.drive);
        if have("xorriso") {
            let first = xorriso_find(&d.image, Some(r1.session_start));
            assert_lists(&first, &DAYS[..1], &format!("xorriso, {media} session 1"));
            assert!(!first.contains(DAYS[1]), "{first}");
            let last = xorriso_find(&d.image, Some(r2.session_start));
            assert_lists(&last, &DAYS, &format!("xorriso, {media} session 2"));
        }
    }
}

fn snapshot(image: &Path) -> (Vec<u8>, String) {
    let mut state = image.as_os_str().to_owned();
    state.push(".state");
    (
        fs::read(image).unwrap(),
        fs::read_to_string(PathBuf::from(state)).unwrap(),
    )
}

#[test]
fn a_session_that_does_not_fit_is_refused_before_any_write() {
    for media in ["dvd+r", "dvd+rw"] {
        let dir = tempfile::tempdir().unwrap();
        let mut d = open(dir.path(), media, "&capacity=8000");
        let s1 = stage(dir.path(), DAYS[0], 1);
        night(&mut d, &s1, DAYS[0]);
        let big = dir.path().join("big");
        fs::create_dir(&big).unwrap();
        fs::write(big.join("huge.tar"), content(9, 20 << 20)).unwrap();
        let (place, mut b) = next_session(&mut d);
        b.graft(&GraftPoint {
            disc: DAYS[1].as_bytes().to_vec(),
            host: big,
        })
        .unwrap();
        let mut layout = b.plan().unwrap();
        let before = snapshot(&d.image);
        let err = burn_default(&mut d, &mut layout, &place).unwrap_err();
        let BurnError::DoesNotFit {
            need_blocks,
            free_blocks,
        } = err
        else {
            panic!("{media}: {err}");
        };
        assert!(need_blocks >= layout.sectors() && free_blocks < need_blocks);
        let text = err.to_string();
        assert!(
            text.starts_with("does not fit: need 21 MiB, ") && text.contains(" MiB free"),
            "{text}"
        );
        assert!(!err.disc_changed());
        drop(d.drive);
        assert!(before == snapshot(&d.image), "{media}: the disc changed");
    }
}

/// Yields `short` bytes of a file planned larger: the image writer fails
/// mid-stream with FileShrank.
struct Shrinking(usize);

impl Read for Shrinking {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.min(buf.len());
        buf[..n].fill(7);
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn a_file_that_shrinks_mid_write_stops_the_drive_and_the_rerun_succeeds() {
    for media in ["dvd+r", "cdr-80", "bd-r", "dvd+rw"] {
        let dir = tempfile::tempdir().unwrap();
        let mut d = open(dir.path(), media, "");
        let s1 = stage(dir.path(), DAYS[0], 1);
        let r1 = night(&mut d, &s1, DAYS[0]);

        let (place, mut b) = next_session(&mut d);
        let planned = 12 << 20;
        b.tree_mut()
            .add_file(
                b"2026/12/01/shrinks.tar",
                Metadata::new(0o644, 0, 0, T),
                iso9660::FileData::Reader(Some(Box::new(Shrinking(5 << 20)))),
                planned,
            )
            .unwrap();
        let mut layout = b.plan().unwrap();
        let err = burn_default(&mut d, &mut layout, &place).unwrap_err();
        assert!(
            matches!(
                &err,
                BurnError::Image {
                    source: iso9660::Error::FileShrank { .. }
                }
            ),
            "{media}: {err}"
        );
        assert!(err.disc_changed());

        // The re-run closes what was left open and appends the day.
        let s2 = stage(dir.path(), DAYS[1], 2);
        let r2 = night(&mut d, &s2, DAYS[1]);
        assert!(r2.session_start > r1.volume_end);
        let mut reader = iso9660::Reader::from_source(
            DiscSource::new(&mut d.drive),
            r2.session_start,
            iso9660::Limits::default(),
        )
        .unwrap();
        for day in DAYS {
            let e = reader.lookup(format!("/{day}/etc.tar.gz")).unwrap();
            assert!(e.is_some(), "{media}: {day} lost");
        }
    }
}

#[test]
fn check_data_names_the_first_file_that_differs_or_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(dir.path(), "dvd+r", "");
    let s1 = stage(dir.path(), DAYS[0], 1);
    let r1 = night(&mut d, &s1, DAYS[0]);
    // Same size, one byte changed.
    let mut data = fs::read(s1.join("peer/home.tar.bz2")).unwrap();
    data[40_000] ^= 1;
    fs::write(s1.join("peer/home.tar.bz2"), &data).unwrap();
    let err = check_data(&mut d.drive, &r1, &s1, DAYS[0]).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Differs { disc, why, .. }
            if disc == "/2026/11/30/peer/home.tar.bz2" && why.contains("SHA-1")),
        "{err}"
    );
    data[40_000] ^= 1;
    fs::write(s1.join("peer/home.tar.bz2"), &data).unwrap();
    fs::write(s1.join("late.txt"), b"staged after the write").unwrap();
    let err = check_data(&mut d.drive, &r1, &s1, DAYS[0]).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Missing { disc, .. } if disc == "/2026/11/30/late.txt"),
        "{err}"
    );
}

/// A migrating user's disc: a first session made by genisoimage (as Cedar
/// Backup wrote it, `-r -graft-points`), then cedar's nights on top.
#[test]
fn nights_append_to_a_disc_begun_by_genisoimage() {
    if !have("genisoimage") {
        return;
    }
    for media in ["dvd+r", "cdr-80", "dvd+rw", "bd-re"] {
        let dir = tempfile::tempdir().unwrap();
        let old = stage(dir.path(), "2026/11/29", 7);
        let iso = dir.path().join("cedar3.iso");
        run(Command::new("genisoimage")
            .args([
                "-quiet",
                "-r",
                "-graft-points",
                "-V",
                "CEDAR BACKUP 29-NOV-2026",
                "-o",
            ])
            .arg(&iso)
            .arg(format!("2026/11/29={}", old.display())));
        let mut d = open(dir.path(), media, "");
        let place = disc::placement(&mut d.drive).unwrap();
        if place.overwritable {
            d.drive.format().unwrap();
        }
        let bytes = fs::read(&iso).unwrap();
        let opts = mmc::WriteOptions {
            expected_blocks: Some((bytes.len() / 2048) as u32),
            ..mmc::WriteOptions::default()
        };
        d.drive
            .write_session(&mut &bytes[..], &opts, &mut mmc::NoProgress)
            .unwrap();
        assert_eq!(
            disc::volume_label(&mut d.drive).unwrap().as_deref(),
            Some("CEDAR BACKUP 29-NOV-2026")
        );
        let s1 = stage(dir.path(), DAYS[0], 1);
        night(&mut d, &s1, DAYS[0]);
        let s2 = stage(dir.path(), DAYS[1], 2);
        let r2 = night(&mut d, &s2, DAYS[1]);
        let mut reader = iso9660::Reader::from_source(
            DiscSource::new(&mut d.drive),
            if r2.overwritable { 0 } else { r2.session_start },
            iso9660::Limits::default(),
        )
        .unwrap();
        let e = reader.lookup("/2026/11/29/etc.tar.gz").unwrap().unwrap();
        assert!(
            reader.read_to_vec(&e).unwrap() == content(7, 300_001),
            "{media}"
        );
        drop(d.drive);
        let all = ["2026/11/29", DAYS[0], DAYS[1]];
        if have("xorriso") {
            let session = (!r2.overwritable).then_some(r2.session_start);
            let listing = xorriso_find(&d.image, session);
            assert_lists(&listing, &all, &format!("xorriso on {media}"));
        }
        if r2.overwritable && have("bsdtar") {
            let listing = run(Command::new("bsdtar").arg("-tf").arg(&d.image));
            assert_lists(&listing, &all, &format!("bsdtar on {media}"));
        }
    }
}

/// What a progress display sees: every phase in order, bytes up to the
/// session's size, and the FIFO's level.
#[derive(Default)]
struct Recorder {
    phases: Vec<cedar::engine::burn::Phase>,
    last: (u64, u64),
    fifo_seen: bool,
}

impl cedar::engine::burn::BurnProgress for Recorder {
    fn phase(&mut self, phase: cedar::engine::burn::Phase) {
        if self.phases.last() != Some(&phase) {
            self.phases.push(phase);
        }
    }
    fn written(&mut self, done: u64, total: u64, fifo: cedar::engine::fifo::FifoLevel) {
        assert!(done >= self.last.0 && done <= total);
        self.last = (done, total);
        self.fifo_seen |= fifo.capacity == cedar::engine::fifo::FifoConfig::default().total();
    }
}

#[test]
fn progress_sees_every_phase_the_bytes_and_the_fifo() {
    use cedar::engine::burn::{burn, BurnOptions, Phase};
    for (media, last) in [("dvd+r", Phase::Closing), ("dvd+rw", Phase::Descriptors)] {
        let dir = tempfile::tempdir().unwrap();
        let mut d = open(dir.path(), media, "");
        let s1 = stage(dir.path(), DAYS[0], 1);
        night(&mut d, &s1, DAYS[0]);
        let s2 = stage(dir.path(), DAYS[1], 2);
        let (place, mut b) = next_session(&mut d);
        b.graft(&GraftPoint {
            disc: DAYS[1].as_bytes().to_vec(),
            host: s2,
        })
        .unwrap();
        let mut layout = b.plan().unwrap();
        let mut p = Recorder::default();
        burn(
            &mut d.drive,
            &mut layout,
            &place,
            &BurnOptions::default(),
            &mut p,
        )
        .unwrap();
        assert_eq!(p.last, (layout.bytes(), layout.bytes()), "{media}");
        assert!(p.fifo_seen, "{media}");
        assert_eq!(
            p.phases[..3],
            [Phase::Checking, Phase::Writing, Phase::Synchronizing],
            "{media}"
        );
        assert_eq!(p.phases.last(), Some(&last), "{media}: {:?}", p.phases);
    }
}

/// A write error early in a track (3/0C/00 after 100 blocks) leaves a CD
/// track shorter than a CD track may be: the next run pads it to the 300
/// blocks a drive can close, closes it and appends the night.
#[test]
fn a_write_error_early_in_a_track_is_closed_and_the_night_appended() {
    for media in ["cdr-80", "dvd+r", "bd-r"] {
        let dir = tempfile::tempdir().unwrap();
        let mut d = open(dir.path(), media, "");
        let s1 = stage(dir.path(), DAYS[0], 1);
        let r1 = night(&mut d, &s1, DAYS[0]);
        drop(d);
        let mut d = open(dir.path(), media, "&fault=block@100:3/0C/00");
        let s2 = stage(dir.path(), DAYS[1], 2);
        let (place, mut b) = next_session(&mut d);
        b.graft(&GraftPoint {
            disc: DAYS[1].as_bytes().to_vec(),
            host: s2.clone(),
        })
        .unwrap();
        let mut layout = b.plan().unwrap();
        let err = burn_default(&mut d, &mut layout, &place).unwrap_err();
        assert!(
            matches!(err, BurnError::Drive { .. }) && err.disc_changed(),
            "{media}: {err}"
        );
        let r2 = night(&mut d, &s2, DAYS[1]);
        assert!(r2.session_start > r1.volume_end, "{media}");
        drop(d.drive);
        if have("xorriso") {
            let listing = xorriso_find(&d.image, Some(r2.session_start));
            assert_lists(&listing, &DAYS, &format!("xorriso on {media}"));
        }
    }
}

#[test]
fn volumes_lists_every_whole_session_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(dir.path(), "dvd+r", "");
    let mut starts = Vec::new();
    for (i, day) in DAYS.iter().enumerate() {
        let s = stage(dir.path(), day, i as u8);
        starts.push(night(&mut d, &s, day).session_start);
    }
    let v = disc::volumes(&mut d.drive).unwrap();
    let got: Vec<u32> = v.iter().map(|v| v.session_start).collect();
    starts.reverse();
    assert_eq!(got, starts);
    assert!(v.iter().all(|v| v.label == "CEDAR BACKUP 01-DEC-2026"));
}
