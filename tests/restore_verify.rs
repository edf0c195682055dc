//! A week stored night by night (`CEDAR_TODAY`) to the emulated burner
//! through the real binary, then `cback verify` and `cback restore` on it:
//! every day has its manifest and verifies; days, peers and archives are
//! listed and restored byte for byte; tar archives GNU tar made are unpacked
//! into a tree identical to their source (bytes, modes, mtimes); a disc
//! that decayed (unreadable blocks, a flipped byte, set through the device
//! string) has the damaged files named and the rest restored intact.

mod support;

use std::path::Path;
use std::process::Command;

use support::restore::*;
use support::store::*;

fn pack(src: &Path, archive: &Path, flag: &str) {
    let o = Command::new("tar")
        .arg(flag)
        .arg(archive)
        .arg("-C")
        .arg(src)
        .arg(".")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

fn week(profile: &str) {
    let rig = Rig::new(profile);
    let nights: Vec<_> = (2..=8).map(|d| date(&format!("2026-03-{d:02}"))).collect();
    let src = rig.path("src");
    source_tree(&src, &[7u8; 70_000]);
    for (i, &night) in nights.iter().enumerate() {
        rig.stage(night, 40 + 8 * i);
        let peer = rig.day_dir(night).join("host1");
        pack(&src, &peer.join("src.tar.gz"), "-czf");
        pack(&src, &peer.join("src.tar.bz2"), "-cjf");
        rig.store_ok(night);
        assert!(
            !rig.day_dir(night).join("cback.manifest").exists(),
            "staging untouched"
        );
    }
    let spec = rig.spec();
    let conf = rig.write_config();
    let conf = conf.to_str().unwrap();

    // Verify: from the config's target_device.
    let o = cback(&["verify", "-q", "-c", conf]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let last = t.lines().last().unwrap();
    assert!(last.contains(": OK: ") && last.contains("7 day(s)"), "{t}");
    assert!(
        t.contains("2026/03/04: 6 file(s) match the manifest"),
        "{t}"
    );

    // List: every day with its peer and archives.
    let o = cback(&["restore", "-d", &spec, "list"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    for night in &nights {
        assert!(t.contains(&night.format("%Y-%m-%d").to_string()), "{t}");
    }
    assert!(t.contains("  host1\n") && t.contains("src.tar.bz2"), "{t}");

    // A day, a peer, an archive: as staged.
    let d = nights[2];
    let out = rig.path("r-day");
    let o = cback(&["restore", "-d", &spec, "2026-03-04", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(files(&out) == rig.staged(d), "day restored as staged");
    let out = rig.path("r-peer");
    let o = cback(&[
        "restore",
        "-d",
        &spec,
        "2026-03-04/host1",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut want = rig.staged(d);
    want.remove("cback.stage");
    assert!(files(&out) == want, "peer restored as staged");
    // Unpacked: the source tree again, bytes, modes and mtimes.
    for a in ["src.tar.gz", "src.tar.bz2"] {
        let out = rig.path(&format!("r-{a}"));
        let what = format!("2026-03-04/host1/{a}");
        let o = cback(&["restore", "-d", &spec, "-x", &what, out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(tree(&out), tree(&src), "{a} unpacked");
    }

    // Decay: the first blocks of one day's big file unreadable, one byte
    // of another day's file flipped.
    let (big, hosts) = {
        let mut m = cedar::engine::discread::Medium::open(&spec).unwrap();
        let c = cedar::engine::discread::contents(&mut m, &spec, None).unwrap();
        let e = |day: &str, p: &str| c.days[day].entries[p.as_bytes()].extents[0];
        (
            e("2026/03/05", "host1/home.tar.gz"),
            e("2026/03/06", "host1/etc/hosts"),
        )
    };
    let decayed = format!(
        "{spec}&unreadable={}-{}&flip={}:3",
        big.0 + 2,
        big.0 + 4,
        hosts.0
    );
    let o = cback(&["verify", "-q", &decayed]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "DAMAGED blocks {}-{} (3 blocks): 2026/03/05/host1/home.tar.gz",
            big.0 + 2,
            big.0 + 4
        )),
        "{t}"
    );
    assert!(
        t.contains("DIFFERS 2026/03/06/host1/etc/hosts: SHA-256"),
        "{t}"
    );
    assert!(t.contains("2026/03/04: 6 file(s) match"), "{t}");
    assert!(t.lines().last().unwrap().contains(": DAMAGED: "), "{t}");
    // Restore from the decayed disc: the damaged file named and left out,
    // the rest intact.
    let out = rig.path("r-decayed");
    let o = cback(&[
        "restore",
        "-d",
        &decayed,
        "2026-03-05",
        out.to_str().unwrap(),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("DAMAGED 2026/03/05/host1/home.tar.gz"), "{t}");
    let mut want = rig.staged(nights[3]);
    want.remove("host1/home.tar.gz");
    assert!(files(&out) == want, "the rest restored intact");
    let out = rig.path("r-flipped");
    let o = cback(&[
        "restore",
        "-d",
        &decayed,
        "2026-03-06/host1/etc",
        out.to_str().unwrap(),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("host1/etc/hosts: SHA-256 does not match the manifest"),
        "{t}"
    );
    assert!(!out.join("host1/etc/hosts").exists());
}

#[test]
fn a_week_verified_and_restored_on_dvd_plus_r() {
    week("dvd+r");
}

#[test]
fn a_week_verified_and_restored_on_dvd_plus_rw() {
    week("dvd+rw");
}

#[test]
fn bad_arguments_and_devices_are_one_line() {
    let o = cback(&["verify", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    let o = cback(&["verify", "emulated:/nonexistent/dir/x.img?profile=dvd+r"]);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    assert!(text(&o).starts_with("cback verify: "));
    let o = cback(&["restore", "-d", "/nonexistent.iso", "list"]);
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    let o = cback(&["restore", "list", "extra"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `<manifest>N</manifest>`: Cedar's exact layout, no manifest on the disc;
/// verify then checks the day for readability only, and says so.
#[test]
fn manifest_off_gives_cedars_layout_and_a_readability_check() {
    let mut rig = Rig::new("dvd+rw");
    rig.store_extra.push_str("<manifest>N</manifest>");
    let night = date("2026-03-02");
    rig.stage(night, 16);
    rig.store_ok(night);
    let mut m = cedar::engine::discread::Medium::open(&rig.spec()).unwrap();
    let c = cedar::engine::discread::contents(&mut m, &rig.spec(), None).unwrap();
    assert!(c.days["2026/03/02"].manifest.is_none());
    drop(m);
    let o = cback(&["verify", "-q", &rig.spec()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("2026/03/02: no cback.manifest (written by Cedar Backup?): 4 file(s) checked for readability only, all readable"),
        "{t}"
    );
    // A damaged block is still found and named.
    let big = c.days["2026/03/02"].entries[b"host1/home.tar.gz".as_slice()].extents[0].0;
    let o = cback(&["verify", "-q", &format!("{}&unreadable={big}", rig.spec())]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("DAMAGED 2026/03/02/host1/home.tar.gz: 1 unreadable block(s)"),
        "{t}"
    );
}
