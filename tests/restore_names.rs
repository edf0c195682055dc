//! `cback restore` against the day's manifest, name by name, through the
//! real binary on the emulated burner: a file the manifest lists whose
//! directory record's name decayed on the disc is named MISSING and the
//! restore exits 1 (the decayed name is restored, said to be unchecked);
//! a split file whose last part's name decayed is named MISSING and is not
//! restored at all, never joined short; a damaged manifest exits 1; names
//! that are not UTF-8 (Latin-1, two differing only in such a byte, a split
//! one) are stored with check_data and restored byte for byte, each
//! checked against the manifest (a flipped byte of one is refused).

mod support;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use support::restore::*;
use support::store::*;

/// `cback restore -d SPEC WHAT TARGET`: exit code and output.
fn restore(spec: &str, what: &str, target: &Path) -> (Option<i32>, String) {
    let o = cback(&["restore", "-d", spec, what, target.to_str().unwrap()]);
    (o.status.code(), text(&o))
}

/// `dir/name`, the name as bytes.
fn at(dir: &Path, name: &[u8]) -> PathBuf {
    dir.join(OsStr::from_bytes(name))
}

/// `&flip=LBA:OFFSET` for the first byte of every Rock Ridge NM entry
/// naming `name` in `image` (a directory record's name, not the manifest's
/// text): that name read back with its first byte inverted.
fn flip_name(image: &[u8], name: &[u8]) -> String {
    let mut head = b"NM".to_vec();
    head.extend([5 + name.len() as u8, 1, 0]);
    head.extend_from_slice(name);
    let flips: String = image
        .windows(head.len())
        .enumerate()
        .filter(|(_, w)| *w == head.as_slice())
        .map(|(i, _)| {
            let b = i + 5;
            format!("&flip={}:{}", b / 2048, b % 2048)
        })
        .collect();
    assert!(!flips.is_empty(), "no NM entry for {}", name.escape_ascii());
    flips
}

/// Names in `dir` (bytes), sorted.
fn names(dir: &Path) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .collect();
    v.sort();
    v
}

#[test]
fn what_the_manifest_lists_and_the_disc_lacks_is_missing_and_never_joined_short() {
    let rig = Rig::new("dvd+r");
    let day = date("2026-03-04");
    rig.stage(day, 4);
    let peer = rig.day_dir(day).join("host1");
    let parts = [noise(3000, 1), noise(3000, 2), noise(1000, 3)];
    for (i, p) in parts.iter().enumerate() {
        std::fs::write(peer.join(format!("big.bin_{i:05}")), p).unwrap();
    }
    rig.store_ok(day);
    let spec = rig.spec();
    // Whole, the split file is joined and every file restored.
    let t = rig.path("t");
    let (code, out) = restore(&spec, "2026-03-04", &t);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        std::fs::read(t.join("host1/big.bin")).unwrap(),
        parts.concat()
    );
    assert!(!out.contains("unchecked"), "{out}");

    // The names of etc/hosts and of the split file's last part decayed in
    // their directory records.
    let image = std::fs::read(rig.image()).unwrap();
    let decayed = format!(
        "{spec}{}{}",
        flip_name(&image, b"hosts"),
        flip_name(&image, b"big.bin_00002")
    );
    let o = cback(&["verify", "-q", &decayed]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("MISSING 2026/03/04/host1/etc/hosts: in the manifest, not on the disc"),
        "{}",
        text(&o)
    );
    let t2 = rig.path("t2");
    let (code, out) = restore(&decayed, "2026-03-04", &t2);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("MISSING 2026/03/04/host1/etc/hosts: in the manifest, not on the disc"),
        "{out}"
    );
    assert!(
        out.contains(
            "MISSING 2026/03/04/host1/big.bin_00002: in the manifest, not on the disc \
             (host1/big.bin not restored)"
        ),
        "{out}"
    );
    // The decayed name is restored, said to be unchecked (not a problem of
    // its own, as verify counts it); nothing at all of the split file.
    let decayed_hosts = at(&t2.join("host1/etc"), b"\x97osts");
    assert_eq!(
        std::fs::read(&decayed_hosts).unwrap(),
        b"night 20260304\n",
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "restored {} (not in the manifest: unchecked)",
            decayed_hosts.display()
        )),
        "{out}"
    );
    assert_eq!(
        names(&t2.join("host1")),
        [&b"empty"[..], b"etc", b"home.tar.gz"],
        "{out}"
    );
    // The decayed part, on its own under its decayed name, is no whole
    // split file either.
    assert!(
        out.contains("MISSING 2026/03/04/host1/\u{fffd}ig.bin: split parts are not numbered"),
        "{out}"
    );
    assert!(out.contains(", 3 problem(s)"), "{out}");
    assert!(!out.contains("home.tar.gz (not in the manifest"), "{out}");
    // Asked for by name, the split file is missing too, and not restored.
    let t3 = rig.path("t3");
    let (code, out) = restore(&decayed, "2026-03-04/host1/big.bin", &t3);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("MISSING 2026/03/04/host1/big.bin_00002: "),
        "{out}"
    );
    assert!(out.contains("0 item(s)"), "{out}");
    assert!(!t3.join("host1").exists(), "{out}");
}

#[test]
fn a_damaged_manifest_is_a_problem() {
    let rig = Rig::new("dvd+r");
    let day = date("2026-03-04");
    rig.stage(day, 4);
    rig.store_ok(day);
    // A byte of the manifest's text inverted: its checksum fails.
    let image = std::fs::read(rig.image()).unwrap();
    let text_at = image
        .windows(16)
        .position(|w| w == b"cedar-manifest 1")
        .unwrap();
    let b = text_at + 20;
    let spec = format!("{}&flip={}:{}", rig.spec(), b / 2048, b % 2048);
    let t = rig.path("t");
    let (code, out) = restore(&spec, "2026-03-04", &t);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("2026/03/04/cback.manifest is damaged ("),
        "{out}"
    );
    assert!(out.contains("files are restored unchecked"), "{out}");
    assert!(out.contains(", 1 problem(s)"), "{out}");
    assert_eq!(
        std::fs::read(t.join("host1/etc/hosts")).unwrap(),
        b"night 20260304\n"
    );
}

/// Stages `day` with Latin-1 names: `café.txt`, the split `xé` (two parts)
/// and `xè` (one), and a symlink `lé` to `café.txt`.
fn stage_latin1(rig: &Rig, day: chrono::NaiveDate) -> PathBuf {
    rig.stage(day, 4);
    let peer = rig.day_dir(day).join("host1");
    std::fs::write(at(&peer, b"caf\xe9.txt"), b"caf\xe9 au lait\n").unwrap();
    std::fs::write(at(&peer, b"x\xe9_00000"), noise(2500, 7)).unwrap();
    std::fs::write(at(&peer, b"x\xe9_00001"), noise(700, 8)).unwrap();
    std::fs::write(at(&peer, b"x\xe8_00000"), noise(900, 9)).unwrap();
    std::os::unix::fs::symlink(OsStr::from_bytes(b"caf\xe9.txt"), at(&peer, b"l\xe9")).unwrap();
    peer
}

#[test]
fn store_with_check_data_reads_back_names_that_are_not_utf8() {
    let rig = Rig::new("dvd+r");
    assert!(rig.store_extra.contains("<check_data>Y</check_data>"));
    let day = date("2026-03-04");
    stage_latin1(&rig, day);
    rig.store_ok(day);
    let log = rig.log_tail(40);
    assert!(
        log.contains("Consistency check completed for [") && log.contains("No problems found ("),
        "{log}"
    );
}

#[test]
fn names_that_are_not_utf8_are_restored_byte_for_byte_and_checked() {
    let rig = Rig::new("dvd+r");
    let day = date("2026-03-04");
    let peer = stage_latin1(&rig, day);
    rig.store_ok(day);
    let spec = rig.spec();
    let t = rig.path("t");
    let (code, out) = restore(&spec, "2026-03-04", &t);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("unchecked"), "{out}");
    assert!(!out.contains("not in the manifest"), "{out}");
    let got = t.join("host1");
    assert_eq!(
        names(&got),
        [
            &b"caf\xe9.txt"[..],
            b"empty",
            b"etc",
            b"home.tar.gz",
            b"l\xe9",
            b"x\xe8",
            b"x\xe9"
        ],
        "{out}"
    );
    let staged = |n: &[u8]| std::fs::read(at(&peer, n)).unwrap();
    let restored = |n: &[u8]| std::fs::read(at(&got, n)).unwrap();
    assert_eq!(restored(b"caf\xe9.txt"), staged(b"caf\xe9.txt"));
    assert_eq!(
        restored(b"x\xe9"),
        [staged(b"x\xe9_00000"), staged(b"x\xe9_00001")].concat()
    );
    assert_eq!(restored(b"x\xe8"), staged(b"x\xe8_00000"));
    assert_eq!(
        std::fs::read_link(at(&got, b"l\xe9"))
            .unwrap()
            .as_os_str()
            .as_bytes(),
        b"caf\xe9.txt"
    );
    assert!(out.contains("(a symlink, as in the manifest)"), "{out}");

    // Checked against the manifest: a byte of café.txt's contents
    // inverted is refused and names the file.
    let image = std::fs::read(rig.image()).unwrap();
    let b = image.windows(9).position(|w| w == b" au lait\n").unwrap();
    let decayed = format!("{spec}&flip={}:{}", b / 2048, b % 2048);
    let t2 = rig.path("t2");
    let (code, out) = restore(&decayed, "2026-03-04/host1", &t2);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("DAMAGED 2026/03/04/host1/caf\u{fffd}.txt: ")
            && out.contains("SHA-256 does not match the manifest"),
        "{out}"
    );
    assert!(!at(&t2.join("host1"), b"caf\xe9.txt").exists(), "{out}");
    assert_eq!(
        std::fs::read(at(&t2.join("host1"), b"x\xe9")).unwrap(),
        restored(b"x\xe9")
    );
}
