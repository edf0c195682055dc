//! One night as store does it, over the engine API, for the tests that burn
//! emulated discs: stage a day, place, import through the drive, burn, check.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cedar::engine::burn::{burn, BurnError, BurnOptions, BurnReport};
use cedar::engine::disc::{self, DiscSource};
use cedar::engine::image::ImageBuilder;
use cedar::engine::verify::check_data;
use iso9660::{GraftPoint, Options, RockRidge};
use mmc::{Drive, MediaState};

/// Volume timestamp of every test session.
pub const T: i64 = 1_764_547_200;

/// Deterministic test bytes.
pub fn content(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 11) as u8 ^ seed)
        .collect()
}

/// A staged day: a few files of different sizes, one in a subdirectory.
pub fn stage(root: &Path, day: &str, seed: u8) -> PathBuf {
    let dir = root.join("stage").join(day.replace('/', "-"));
    fs::create_dir_all(dir.join("peer")).unwrap();
    fs::write(dir.join("etc.tar.gz"), content(seed, 300_001)).unwrap();
    fs::write(dir.join("peer/home.tar.bz2"), content(seed ^ 0x55, 70_000)).unwrap();
    fs::write(dir.join("cback.stage"), b"").unwrap();
    dir
}

/// An emulated drive and its image file.
pub struct Disc {
    /// The image (the disc: block n at byte n×2048).
    pub image: PathBuf,
    /// The drive.
    pub drive: Drive,
}

pub fn open(dir: &Path, media: &str, extra: &str) -> Disc {
    let image = dir.join(format!("{media}.iso"));
    let spec = format!("emulated:{}?profile={media}&busy=0{extra}", image.display());
    let mut drive = Drive::open(&spec).unwrap();
    drive.set_poll_interval(Duration::from_millis(1));
    Disc { image, drive }
}

pub fn options(start: u32) -> Options {
    Options {
        volume_id: "CEDAR BACKUP 01-DEC-2026".into(),
        rock_ridge: Some(RockRidge::Rationalized),
        start_lba: start,
        timestamp: T,
        ..Options::default()
    }
}

/// One night as store does it: placement from the drive, the previous
/// session imported through the drive, the day grafted at `day`, burned and
/// checked.
pub fn night(d: &mut Disc, staged: &Path, day: &str) -> BurnReport {
    disc::close_interrupted(&mut d.drive).unwrap();
    let place = disc::placement(&mut d.drive).unwrap();
    if place.overwritable && place.state == MediaState::Blank {
        d.drive.format().unwrap();
    }
    let (place, mut b) = next_session(d);
    b.graft(&GraftPoint {
        disc: day.as_bytes().to_vec(),
        host: staged.to_path_buf(),
    })
    .unwrap();
    let mut layout = b.plan().unwrap();
    let report = burn_default(d, &mut layout, &place).unwrap();
    assert_eq!(report.session_start, place.start_lba);
    assert_eq!(report.image_blocks, layout.sectors());
    let checked = check_data(&mut d.drive, &report, staged, day).unwrap();
    assert_eq!((checked.files, checked.directories), (3, 2));
    report
}

/// The next session's builder with the previous one imported through the drive.
pub fn next_session(d: &mut Disc) -> (disc::Placement, ImageBuilder) {
    let place = disc::placement(&mut d.drive).unwrap();
    let mut b = ImageBuilder::new(options(place.start_lba));
    if let Some(start) = place.import {
        b.import(DiscSource::new(&mut d.drive), start).unwrap();
    }
    (place, b)
}

pub fn burn_default(
    d: &mut Disc,
    layout: &mut iso9660::Layout,
    place: &disc::Placement,
) -> Result<BurnReport, BurnError> {
    burn(
        &mut d.drive,
        layout,
        place,
        &BurnOptions::default(),
        &mut (),
    )
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn xorriso_find(image: &Path, session: Option<u32>) -> String {
    let mut c = Command::new("xorriso");
    if let Some(s) = session {
        c.args(["-load", "sbsector", &s.to_string()]);
    }
    c.arg("-indev")
        .arg(image)
        .args(["-find", "/", "-type", "f"]);
    run(&mut c)
}

pub fn assert_lists(listing: &str, days: &[&str], who: &str) {
    for day in days {
        for f in ["etc.tar.gz", "peer/home.tar.bz2", "cback.stage"] {
            let p = format!("{day}/{f}");
            assert!(listing.contains(&p), "{who} does not list {p}:\n{listing}");
        }
    }
}

/// Two nights.
pub const DAYS: [&str; 2] = ["2026/11/30", "2026/12/01"];
