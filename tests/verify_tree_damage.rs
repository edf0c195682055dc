//! Decay of a disc's trees rather than its file data, through the real
//! binary on the emulated burner (three nights on DVD+R, one session
//! each): a byte of the newest session's volume descriptor, of a day
//! directory's name, of the manifest's name, an unreadable directory
//! block, an unreadable root directory. `cback verify` never says OK on
//! such a disc: each is named as damage and the exit is 1, while the rest
//! is still checked; `cback restore` reads a day whose directory decayed in
//! the newest session from an older session that holds it whole, saying so
//! (exit 1: the newer copy may have differed), and exits 1 for a day it
//! cannot read at all.

mod support;

use std::fs::File;
use std::path::Path;

use iso9660::Reader;
use support::restore::*;
use support::store::*;

const NIGHTS: [&str; 3] = ["2026-03-02", "2026-03-03", "2026-03-04"];

/// The three nights stored, one session each; the session starts.
fn disc() -> (Rig, Vec<u32>) {
    let rig = Rig::new("dvd+r");
    for night in NIGHTS {
        let d = date(night);
        rig.stage(d, 64);
        rig.store_ok(d);
    }
    let starts: Vec<u32> = {
        let mut m = cedar::engine::discread::Medium::open(&rig.spec()).unwrap();
        m.session_starts()
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect()
    };
    assert_eq!(starts.len(), 3, "{starts:?}");
    (rig, starts)
}

/// The entry at `path` of the session at `start` of the image.
fn entry(image: &Path, start: u32, path: &str) -> iso9660::Entry {
    let mut r = Reader::open_at(File::open(image).unwrap(), start).unwrap();
    r.lookup(path)
        .unwrap()
        .unwrap_or_else(|| panic!("{path} in the session at {start}"))
}

/// The device string option inverting the last occurrence of `name`'s last
/// byte in the directory record of `e` (its Rock Ridge NM, which the
/// readers use).
fn flip_name(image: &Path, e: &iso9660::Entry, name: &[u8]) -> String {
    let img = std::fs::read(image).unwrap();
    let at = e.at as usize;
    let record = &img[at..at + usize::from(img[at])];
    let i = record
        .windows(name.len())
        .rposition(|w| w == name)
        .unwrap_or_else(|| panic!("{:?} in its record", String::from_utf8_lossy(name)));
    let byte = at + i + name.len() - 1;
    format!("&flip={}:{}", byte / 2048, byte % 2048)
}

fn verify(spec: &str) -> (Option<i32>, String) {
    let o = cback(&["verify", "-q", spec]);
    (o.status.code(), text(&o))
}

fn restore_day(spec: &str, day: &str, out: &Path) -> std::process::Output {
    cback(&["restore", "-d", spec, day, out.to_str().unwrap()])
}

fn damaged(t: &str) -> bool {
    let last = t.lines().last().unwrap_or("");
    last.contains(": DAMAGED: ") && !last.contains(" 0 problem(s)")
}

#[test]
fn decayed_trees_are_named_and_never_verified_ok() {
    let (rig, starts) = disc();
    let image = rig.image();
    let spec = rig.spec();
    let newest = starts[2];
    let (code, t) = verify(&spec);
    assert_eq!(code, Some(0), "{t}");

    // The newest session's primary descriptor.
    let (code, t) = verify(&format!("{spec}&flip={}:1", newest + 16));
    assert_eq!(code, Some(1), "{t}");
    assert!(damaged(&t), "{t}");
    assert!(
        t.contains(&format!(
            "DAMAGED / (session at block {newest}): its volume cannot be read"
        )),
        "{t}"
    );
    assert!(
        t.contains("2026/03/03: 4 file(s) match the manifest"),
        "{t}"
    );

    // The name of the day directory 04 in the newest session: its manifest
    // is found outside any day, naming the day.
    let day = entry(&image, newest, "/2026/03/04");
    let (code, t) = verify(&format!("{spec}{}", flip_name(&image, &day, b"04")));
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("the cback.manifest of day 2026-03-04 outside any day directory"),
        "{t}"
    );

    // The manifest's own name: found by its contents, not taken for a
    // day Cedar Backup wrote.
    let m = entry(&image, newest, "/2026/03/04/cback.manifest");
    let (code, t) = verify(&format!(
        "{spec}{}",
        flip_name(&image, &m, b"cback.manifest")
    ));
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("DAMAGED 2026/03/04/cback.manifest: found only as \"cback.manifes"),
        "{t}"
    );
    assert!(!t.contains("written by Cedar Backup"), "{t}");

    // An unreadable directory of day 03 in the newest session: named, the
    // scan names its block, and the day is checked from the session that
    // wrote it, whole.
    let etc = entry(&image, newest, "/2026/03/03/host1/etc");
    let lba = etc.extents[0].0;
    let decayed = format!("{spec}&unreadable={lba}");
    let (code, t) = verify(&decayed);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "DAMAGED /2026/03/03/host1/etc (session at block {newest}): the directory cannot be read"
        )),
        "{t}"
    );
    assert!(t.contains(&format!("DAMAGED blocks {lba}-{lba}")), "{t}");
    assert!(
        t.contains("2026/03/03: 4 file(s) match the manifest"),
        "{t}"
    );
    let out = rig.path("r03");
    let o = restore_day(&decayed, "2026-03-03", &out);
    // Restored, but not as good: the newer session might have held a newer
    // copy of the day.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("warning: DAMAGED /2026/03/03/host1/etc"));
    assert!(
        text(&o).contains(&format!(
            "restored from the session at block {}, which may hold an older copy",
            starts[1]
        )),
        "{}",
        text(&o)
    );
    let want = rig.staged(date("2026-03-03"));
    let got = files(&out);
    for (k, v) in &want {
        if k.starts_with("host1/") {
            assert_eq!(got.get(k), Some(v), "{k} restored from the older session");
        }
    }

    // The newest session's root unreadable: the older days are still
    // checked; day 04, only there, cannot be restored.
    let root = entry(&image, newest, "/").extents[0].0;
    let decayed = format!("{spec}&unreadable={root}");
    let (code, t) = verify(&decayed);
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains(&format!("DAMAGED / (session at block {newest}): ")),
        "{t}"
    );
    assert!(
        t.contains("2026/03/02: 4 file(s) match the manifest"),
        "{t}"
    );
    let o = restore_day(&decayed, "2026-03-04", &rig.path("r04"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("no day 2026-03-04 readable on the disc"),
        "{}",
        text(&o)
    );
}

/// The last track of the emulated disc at `image`, when it is open: its
/// start and the blocks the drive has recorded in it.
fn open_track(image: &Path) -> Option<(u32, u32)> {
    use mmc::emulator::{state_path, DriveState};
    let st = DriveState::load(&state_path(image)).ok()?;
    let t = st.medium?.sessions.last()?.tracks.last()?.clone();
    (!t.closed).then_some((t.start, t.written))
}

#[test]
fn a_session_an_interrupted_store_left_is_passed_over_not_damage() {
    let (rig, _) = disc();
    let night = date("2026-03-05");
    // 64 MiB: killed once the drive has recorded 1024 blocks of it.
    rig.stage(night, 65_536);
    let mut child = rig.spawn(night, &["store"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while open_track(&rig.image()).is_none_or(|(_, w)| w < 1024) {
        assert!(child.try_wait().unwrap().is_none(), "store ended first");
        assert!(
            std::time::Instant::now() < deadline,
            "store made no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (start, _) = open_track(&rig.image()).unwrap();
    // The track left open: what was recorded of it is passed over, the
    // nights before verify.
    let (code, t) = verify(&rig.spec());
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains("2026/03/04: 4 file(s) match the manifest"),
        "{t}"
    );
    // The next store closes it and writes the night again after it.
    rig.store_ok(night);
    let (code, t) = verify(&rig.spec());
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains(&format!(
            "session at block {start}: passed over as an interrupted write"
        )),
        "{t}"
    );
    assert!(
        t.contains("2026/03/05: 4 file(s) match the manifest"),
        "{t}"
    );
    assert!(t.contains(": OK: 4 session(s), 4 day(s)"), "{t}");
}

#[test]
fn a_decayed_extent_is_damage_not_a_session_cut_short() {
    let (mut rig, starts) = disc();
    let spec = rig.spec();
    let newest = starts[2];
    // The high byte of the newest descriptor's L path table location:
    // nothing reads path tables; every session and day is still there.
    let (code, t) = verify(&format!("{spec}&flip={}:143", newest + 16));
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains(": OK: 3 session(s), 3 day(s)"), "{t}");
    // A byte of a file's size in the newest session (both-endian): its
    // extent now runs far past what was recorded, which no reading of the
    // session's size explains.
    let e = entry(&rig.image(), newest, "/2026/03/04/host1/home.tar.gz");
    let at = e.at + 12;
    let flips = format!(
        "&flip={}:{}&flip={}:{}",
        at / 2048,
        at % 2048,
        (at + 3) / 2048,
        (at + 3) % 2048
    );
    let decayed = format!("{spec}{flips}");
    let (code, t) = verify(&decayed);
    assert_eq!(code, Some(1), "{t}");
    assert!(!t.contains("passed over"), "{t}");
    assert!(t.contains("2026/03/04"), "the day is still read: {t}");
    let o = restore_day(&decayed, "2026-03-04", &rig.path("r"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // store will not append after such a tree, nor drop its day.
    rig.device_extra = flips;
    let night = date("2026-03-05");
    rig.stage(night, 64);
    let o = rig.cback(night, &["store"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    let log = rig.log_tail(20);
    assert!(
        log.contains(&format!("the session at block {newest}"))
            && log.contains("Error executing backup"),
        "{log}"
    );
    let after = {
        let mut m = cedar::engine::discread::Medium::open(&spec).unwrap();
        m.session_starts().unwrap().len()
    };
    assert_eq!(after, 3, "nothing written");
}

#[test]
fn a_decayed_day_name_flags_the_older_copy_restored() {
    let (rig, starts) = disc();
    let newest = starts[2];
    // The name of day 02's directory in the newest session decayed (its
    // last byte inverted): day 02 is then read from the session that wrote
    // it, and restore says so.
    let day = entry(&rig.image(), newest, "/2026/03/02");
    let flip = flip_name(&rig.image(), &day, b"02");
    let decayed = format!("{}{flip}", rig.spec());
    let o = restore_day(&decayed, "2026-03-02", &rig.path("r"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "the session at block {newest} is damaged on its path"
        )),
        "{}",
        text(&o)
    );
}
