//! A day stored again through the real binary on the emulated burner: the
//! admin changed a file of a stored day, added one, removed one and a
//! symlink, deleted the day's `cback.store` and ran `cback store` again.
//! The session imports the day from the disc and merges the staging day
//! over it, so the day on the disc holds the new files and, left over from
//! the first store, the removed ones. Its `cback.manifest` must be made
//! anew for the whole merged day (the disc's old one replaced, not kept
//! "as staged"): `cback verify` exits 0 with every file and the symlink of
//! the day matching it, the entries carried over from the first store keep
//! their records, and `cback restore` of the day gives the new files. On
//! DVD+R (a second session) and DVD+RW (grown in place).

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::restore::*;
use support::store::*;

fn store_again(profile: &str) {
    let rig = Rig::new(profile);
    // Monday starts the disc; Tuesday is stored, then stored again.
    let (mon, tue) = (date("2026-03-02"), date("2026-03-03"));
    rig.stage(mon, 40);
    rig.store_ok(mon);
    rig.stage(tue, 48);
    let day = rig.day_dir(tue);
    let peer = day.join("host1");
    std::fs::write(peer.join("gone"), b"only in the first store\n").unwrap();
    std::os::unix::fs::symlink("etc/hosts", peer.join("latest")).unwrap();
    rig.store_ok(tue);
    let first: BTreeMap<String, Vec<u8>> = rig.staged(tue);

    std::fs::write(peer.join("etc/hosts"), b"night 20260303, changed\n").unwrap();
    std::fs::write(peer.join("new.txt"), b"added after the first store\n").unwrap();
    std::fs::remove_file(peer.join("gone")).unwrap();
    std::fs::remove_file(peer.join("latest")).unwrap();
    std::fs::remove_file(day.join("cback.store")).unwrap();
    rig.store_ok(tue);
    let spec = rig.spec();
    let o = cback(&["verify", "-q", &spec]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    // cback.stage, etc/hosts, home.tar.gz, empty, new.txt and gone.
    assert!(
        t.contains("2026/03/03: 6 file(s) and 1 symlink(s) match the manifest"),
        "{t}"
    );
    assert!(!t.contains("not in the manifest"), "{t}");

    // The day restored: the new staging files, and what only the first
    // store put there, checked against the records it kept.
    let out = rig.path("r-tue");
    let o = cback(&["restore", "-d", &spec, "2026-03-03", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut want = rig.staged(tue);
    want.insert("host1/gone".into(), first["host1/gone"].clone());
    want.insert("host1/latest".into(), want["host1/etc/hosts"].clone());
    assert!(files(&out) == want, "day restored as merged");
    assert_eq!(
        std::fs::read_link(out.join("host1/latest")).unwrap(),
        Path::new("etc/hosts")
    );
    // Monday is untouched.
    let out = rig.path("r-mon");
    let o = cback(&["restore", "-d", &spec, "2026-03-02", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(files(&out) == rig.staged(mon), "Monday restored as staged");

    let log = std::fs::read_to_string(rig.path("cback.log")).unwrap();
    assert!(!log.contains("kept as staged"), "{log}");
    assert!(
        log.contains("Read /2026/03/03/cback.manifest from the disc: 5 file(s), 1 symlink(s).")
            && log.contains("Manifest of /2026/03/03: 6 files."),
        "{}",
        rig.log_tail(40)
    );
    assert!(!log.contains("left out of the new"), "{log}");
}

/// The day's old manifest reads back damaged while the day is stored
/// again (a byte flipped by the emulated drive): store says so, and the new
/// manifest vouches only for what this store brings; the entries only the
/// first store put there are checked for readability only.
#[test]
fn a_damaged_old_manifest_leaves_the_carried_entries_unlisted() {
    let mut rig = Rig::new("dvd+r");
    let (mon, tue) = (date("2026-03-02"), date("2026-03-03"));
    rig.stage(mon, 16);
    rig.store_ok(mon);
    rig.stage(tue, 16);
    let day = rig.day_dir(tue);
    std::fs::write(day.join("host1/gone"), b"only in the first store\n").unwrap();
    rig.store_ok(tue);
    let spec = rig.spec();
    let at = {
        let mut m = cedar::engine::discread::Medium::open(&spec).unwrap();
        let c = cedar::engine::discread::contents(&mut m, &spec, None).unwrap();
        c.days["2026/03/03"].entries[b"cback.manifest".as_slice()].extents[0].0
    };
    std::fs::remove_file(day.join("host1/gone")).unwrap();
    std::fs::write(day.join("host1/new.txt"), b"added\n").unwrap();
    std::fs::remove_file(day.join("cback.store")).unwrap();
    rig.device_extra = format!("&flip={at}:40");
    rig.store_ok(tue);
    let log = rig.log_tail(40);
    assert!(
        log.contains("[WARNING] /2026/03/03/cback.manifest on the disc is unusable")
            && log.contains("the day's entry from the disc left out of the new one")
            && log.contains("Manifest of /2026/03/03: 5 files."),
        "{log}"
    );

    rig.device_extra.clear();
    let o = cback(&["verify", "-q", &spec]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("2026/03/03/host1/gone: not in the manifest (readability only)")
            && t.contains("2026/03/03: 5 file(s) match the manifest"),
        "{t}"
    );
}

#[test]
fn a_day_stored_again_on_dvd_plus_r_gets_a_new_manifest() {
    store_again("dvd+r");
}

#[test]
fn a_day_stored_again_on_dvd_plus_rw_gets_a_new_manifest() {
    store_again("dvd+rw");
}
