//! `cback mkisofs` as a command: options, graft points, sizes, output
//! targets and exit codes.

use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::process::{Command, Output};

fn cback(args: &[&str], dir: &Path, epoch: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cback"))
        .arg("mkisofs")
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", epoch)
        .output()
        .unwrap()
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::create_dir_all(p.join("stage/host1")).unwrap();
    fs::write(p.join("stage/host1/etc.tar.gz"), vec![5u8; 10_000]).unwrap();
    fs::write(p.join("stage/cback.stage"), b"").unwrap();
    fs::write(p.join("single.txt"), b"single").unwrap();
    dir
}

fn reader(image: Vec<u8>) -> iso9660::Reader<iso9660::ReadSeekSource<Cursor<Vec<u8>>>> {
    iso9660::Reader::open(Cursor::new(image)).unwrap()
}

#[test]
fn print_size_is_the_size_written() {
    let d = tree();
    let out = cback(
        &["-r", "-print-size", "-quiet", "stage"],
        d.path(),
        "1700000000",
    );
    assert!(out.status.success());
    let sectors: u64 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = cback(
        &["-r", "-quiet", "-o", "img.iso", "stage"],
        d.path(),
        "1700000000",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::metadata(d.path().join("img.iso")).unwrap().len(),
        sectors * 2048
    );
}

#[test]
fn output_is_reproducible_and_stdout_matches_file() {
    let d = tree();
    let a = cback(
        &["-R", "-quiet", "-o", "a.iso", "stage"],
        d.path(),
        "1700000000",
    );
    let b = cback(&["-R", "-quiet", "stage"], d.path(), "1700000000");
    let c = cback(
        &["-R", "-quiet", "-o", "c.iso", "stage"],
        d.path(),
        "1800000000",
    );
    assert!(a.status.success() && b.status.success() && c.status.success());
    let a = fs::read(d.path().join("a.iso")).unwrap();
    assert!(a == b.stdout, "stdout image differs from -o image");
    let c = fs::read(d.path().join("c.iso")).unwrap();
    assert!(a != c, "SOURCE_DATE_EPOCH is ignored");
    assert_eq!(reader(c).volume().descriptor.created, Some(1_800_000_000));
}

#[test]
fn graft_points_place_trees_and_files() {
    let d = tree();
    let out = cback(
        &[
            "-r",
            "-graft-points",
            "-quiet",
            "-V",
            "CEDAR BACKUP 22-NOV-2026",
            "-o",
            "g.iso",
            "2026/11/22=stage",
            "docs/=single.txt",
            "renamed\\=x=single.txt",
            // Cedar's own form: "graftpoint/=path".
            "cedar/style/=stage/host1",
        ],
        d.path(),
        "1700000000",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = reader(fs::read(d.path().join("g.iso")).unwrap());
    assert_eq!(r.volume().descriptor.volume_id, "CEDAR BACKUP 22-NOV-2026");
    let f = r
        .lookup("/2026/11/22/host1/etc.tar.gz")
        .unwrap()
        .expect("grafted tree");
    assert_eq!(r.read_to_vec(&f).unwrap(), vec![5u8; 10_000]);
    assert_eq!((f.meta.uid, f.meta.mode), (0, 0o444), "-r rationalises");
    assert!(r.lookup("/2026/11/22/cback.stage").unwrap().is_some());
    assert!(r.lookup("/docs/single.txt").unwrap().is_some());
    assert!(r.lookup("/cedar/style/etc.tar.gz").unwrap().is_some());
    assert!(r.lookup("/renamed=x").unwrap().is_some());
    assert!(
        r.lookup("/stage").unwrap().is_none(),
        "a directory graft adds its contents only"
    );
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let d = tree();
    for args in [
        &["-frobnicate", "stage"][..],
        &["-o"][..],
        &["-r"][..],
        &["-M", "old.iso", "stage"][..],
    ] {
        let out = cback(args, d.path(), "1700000000");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("cback mkisofs: "), "{err}");
    }
}

#[test]
fn bad_input_exits_1() {
    let d = tree();
    let out = cback(
        &["-quiet", "-o", "x.iso", "no-such-dir"],
        d.path(),
        "1700000000",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-dir"));
    let out = cback(
        &["-quiet", "-V", &"L".repeat(33), "-o", "x.iso", "stage"],
        d.path(),
        "1700000000",
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn isoinfo_reads_the_label() {
    if Command::new("isoinfo").arg("-version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "isoinfo is required in CI"
        );
        eprintln!("note: isoinfo not installed; skipping");
        return;
    }
    let d = tree();
    let out = cback(
        &[
            "-r",
            "-quiet",
            "-V",
            "CEDAR BACKUP 22-NOV-2026",
            "-o",
            "l.iso",
            "stage",
        ],
        d.path(),
        "1700000000",
    );
    assert!(out.status.success());
    let info = Command::new("isoinfo")
        .arg("-d")
        .arg("-i")
        .arg(d.path().join("l.iso"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("Volume id: CEDAR BACKUP 22-NOV-2026"),
        "{text}"
    );
    assert!(
        text.contains("Rock Ridge signatures version 1 found"),
        "{text}"
    );
}

/// `-C last,next -M image` writes a new session meant for block `next` that
/// carries the previous session's tree (Cedar's daily append).
#[test]
fn appends_a_session_that_keeps_the_previous_one() {
    let d = tree();
    let p = d.path();
    let out = cback(
        &[
            "-r",
            "-graft-points",
            "-quiet",
            "-o",
            "s1.iso",
            "2026/11/21=stage",
        ],
        p,
        "1700000000",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s1 = fs::read(p.join("s1.iso")).unwrap();
    // Sessions start on a 16-block boundary here, as growisofs places them.
    let next = ((s1.len() / 2048) as u32).div_ceil(16) * 16;
    let c = format!("0,{next}");
    fs::create_dir(p.join("day2")).unwrap();
    fs::write(p.join("day2/new.tar"), b"day two").unwrap();
    let args = [
        "-r",
        "-graft-points",
        "-quiet",
        "-C",
        &c,
        "-M",
        "s1.iso",
        "-o",
        "s2.iso",
        "2026/11/22=day2",
    ];
    let out = cback(&args, p, "1700086400");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = cback(
        &[
            "-r",
            "-graft-points",
            "-quiet",
            "-print-size",
            "-C",
            &c,
            "-M",
            "s1.iso",
            "2026/11/22=day2",
        ],
        p,
        "1",
    );
    let sectors: u64 = String::from_utf8(size.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let s2 = fs::read(p.join("s2.iso")).unwrap();
    assert_eq!(s2.len() as u64, sectors * 2048);
    let mut disc = s1.clone();
    disc.resize(next as usize * 2048, 0);
    disc.extend_from_slice(&s2);
    let mut r = iso9660::Reader::open_at(Cursor::new(disc.clone()), next).unwrap();
    let old = r
        .lookup("/2026/11/21/host1/etc.tar.gz")
        .unwrap()
        .expect("old session kept");
    assert_eq!(r.read_to_vec(&old).unwrap(), vec![5u8; 10_000]);
    let new = r.lookup("/2026/11/22/new.tar").unwrap().expect("new data");
    assert_eq!(r.read_to_vec(&new).unwrap(), b"day two");
    assert!(old.extents[0].0 < next && new.extents[0].0 >= next);

    if Command::new("xorriso").arg("-version").output().is_ok() {
        let img = p.join("disc.iso");
        fs::write(&img, &disc).unwrap();
        let x = Command::new("xorriso")
            .args(["-load", "sbsector", &next.to_string(), "-indev"])
            .arg(&img)
            .args(["-find", "/", "-exec", "lsdl", "--"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&x.stdout);
        assert!(x.status.success(), "{}", String::from_utf8_lossy(&x.stderr));
        assert!(
            text.contains("2026/11/21/host1/etc.tar.gz") && text.contains("2026/11/22/new.tar"),
            "{text}"
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "xorriso is required in CI"
        );
    }
}
