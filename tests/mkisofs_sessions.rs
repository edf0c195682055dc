//! `cback mkisofs -C -M` against hostile previous sessions and over
//! existing paths: what the nightly store does with whatever disc is in
//! the drive.

use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::process::{Command, Output};

fn cback(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cback"))
        .arg("mkisofs")
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds `s1.iso` in `dir` from `src` with `-R -graft-points`.
fn first_session(dir: &Path, grafts: &[&str]) -> Vec<u8> {
    let mut args = vec!["-R", "-graft-points", "-quiet", "-o", "s1.iso"];
    args.extend_from_slice(grafts);
    ok(&cback(&args, dir));
    fs::read(dir.join("s1.iso")).unwrap()
}

/// Runs the append of `grafts` over `prev` (an image file in `dir`).
fn append(dir: &Path, prev: &str, next: u32, grafts: &[&str]) -> Output {
    let c = format!("0,{next}");
    let mut args = vec![
        "-R",
        "-graft-points",
        "-quiet",
        "-C",
        &c,
        "-M",
        prev,
        "-o",
        "s2.iso",
    ];
    args.extend_from_slice(grafts);
    cback(&args, dir)
}

/// Replaces the name bytes of the one NM entry carrying `from`.
fn patch_nm(img: &mut [u8], from: &[u8], to: &[u8]) {
    let mut needle = vec![b'N', b'M', (5 + from.len()) as u8, 1, 0];
    needle.extend_from_slice(from);
    let hits: Vec<usize> = (0..img.len() - needle.len())
        .filter(|&i| img[i..i + needle.len()] == needle[..])
        .collect();
    assert_eq!(hits.len(), 1, "NM {from:?}");
    img[hits[0] + 5..hits[0] + 5 + to.len()].copy_from_slice(to);
}

/// A hostile first session is refused with one line naming the entry,
/// exit 1, and no output image.
fn refused(dir: &Path, img: &[u8], entry: &str, why: &str) {
    let err = one_line_refusal(dir, img);
    assert!(
        err.contains(&format!(
            "bad.iso: previous session: {entry} (record at byte "
        )) && err.contains(why),
        "{err}"
    );
    assert!(err.contains("(record at byte "), "{err}");
}

/// A first session the image reader itself refuses (a record name no
/// directory can hold): one line naming the record by name and byte, exit
/// 1, no output image.
fn unreadable(dir: &Path, img: &[u8], name: &str, why: &str) {
    let err = one_line_refusal(dir, img);
    assert!(err.contains("bad.iso: malformed image at byte "), "{err}");
    assert!(
        err.contains(&format!("the directory record named {name}: {why}")),
        "{err}"
    );
}

/// Appends to `img` as `bad.iso`: exit 1, one line on stderr (returned),
/// no output image.
fn one_line_refusal(dir: &Path, img: &[u8]) -> String {
    fs::write(dir.join("bad.iso"), img).unwrap();
    let next = (img.len() / 2048) as u32;
    let out = append(dir, "bad.iso", next, &["day=day"]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!dir.join("s2.iso").exists(), "{err}");
    err
}

#[test]
fn hostile_names_in_the_previous_session_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir_all(p.join("src/etc")).unwrap();
    fs::create_dir_all(p.join("src/dd")).unwrap();
    fs::create_dir_all(p.join("src/ab")).unwrap();
    fs::create_dir_all(p.join("day")).unwrap();
    fs::write(p.join("day/new"), b"new").unwrap();
    fs::write(p.join("src/etc/a_b"), b"x").unwrap();
    fs::write(p.join("src/xetcxpasswd"), b"root::0:0::/:/bin/sh\n").unwrap();
    fs::write(p.join("src/dd/inner"), b"inner").unwrap();
    let s1 = first_session(p, &["=src"]);

    let mut img = s1.clone();
    patch_nm(&mut img, b"a_b", b"a/b");
    unreadable(p, &img, r#""a/b""#, "the name contains '/'");

    let mut img = s1.clone();
    patch_nm(&mut img, b"xetcxpasswd", b"/etc/passwd");
    unreadable(p, &img, r#""/etc/passwd""#, "the name contains '/'");

    let mut img = s1.clone();
    patch_nm(&mut img, b"dd", b"..");
    unreadable(p, &img, r#""..""#, r#"the name is "..""#);

    let mut img = s1.clone();
    patch_nm(&mut img, b"ab", b"dd");
    refused(p, &img, r#"/"dd""#, "a second entry of this name");

    let mut img = s1;
    patch_nm(&mut img, b"ab", b"a\0");
    unreadable(p, &img, r#""a\0""#, "the name contains a NUL byte");
}

#[test]
fn new_content_replaces_the_previous_sessions_entries() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir_all(p.join("old/host1")).unwrap();
    fs::write(p.join("old/host1/etc.tar"), b"partial, failed day").unwrap();
    fs::write(p.join("old/host1/home.tar"), b"home").unwrap();
    fs::write(p.join("old/cback.stage"), b"").unwrap();
    let s1 = first_session(p, &["2026/11/21=old"]);
    let next = (s1.len() as u32 / 2048).div_ceil(16) * 16;
    fs::create_dir_all(p.join("again/host1")).unwrap();
    fs::write(p.join("again/host1/etc.tar"), b"the day stored again").unwrap();
    let out = append(p, "s1.iso", next, &["2026/11/21=again"]);
    ok(&out);
    let mut disc = s1;
    disc.resize(next as usize * 2048, 0);
    disc.extend_from_slice(&fs::read(p.join("s2.iso")).unwrap());
    fs::write(p.join("disc.iso"), &disc).unwrap();
    xorriso_agrees(p, next);
    let mut r = iso9660::Reader::open_at(Cursor::new(disc), next).unwrap();
    let mut read = |path: &str| {
        let e = r.lookup(path).unwrap().unwrap_or_else(|| panic!("{path}"));
        r.read_to_vec(&e).unwrap()
    };
    assert_eq!(read("/2026/11/21/host1/etc.tar"), b"the day stored again");
    assert_eq!(read("/2026/11/21/host1/home.tar"), b"home");
    assert_eq!(read("/2026/11/21/cback.stage"), b"");
}

/// xorriso, loading the second session of `disc.iso`, extracts the merged
/// day: the file stored again with its new bytes, the others as they were.
fn xorriso_agrees(dir: &Path, next: u32) {
    let found = Command::new("xorriso").arg("-version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "xorriso is required in CI"
        );
        return;
    }
    let out = Command::new("xorriso")
        .args(["-load", "sbsector", &next.to_string(), "-indev", "disc.iso"])
        .args(["-osirrox", "on", "-extract", "/2026/11/21", "x"])
        .current_dir(dir)
        .output()
        .unwrap();
    ok(&out);
    let x = dir.join("x");
    assert_eq!(
        fs::read(x.join("host1/etc.tar")).unwrap(),
        b"the day stored again"
    );
    assert_eq!(fs::read(x.join("host1/home.tar")).unwrap(), b"home");
    assert!(x.join("cback.stage").is_file());
}

/// A device node Linux could not read back is refused with its path
/// (genisoimage records 0:45132 as PN 0/45132, which Linux reads as 176:76).
#[test]
fn a_device_with_major_0_and_a_large_minor_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir(p.join("src")).unwrap();
    let node = p.join("src/b");
    let c = std::ffi::CString::new(node.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFBLK | 0o600, libc::makedev(0, 45_132)) };
    if made != 0 {
        eprintln!("note: mknod needs root; skipping");
        return;
    }
    let out = cback(&["-R", "-quiet", "-o", "x.iso", "src"], p);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("src/b") && err.contains("device 0:45132 cannot be recorded"),
        "{err}"
    );
}
