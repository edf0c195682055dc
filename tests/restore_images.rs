//! Image files with several sessions, read as a drive reads the disc:
//! `cback verify IMAGE` and `cback restore -d IMAGE` find every session of
//! an emulated write-once disc's image (from the emulator's state file
//! beside it, and from the ISO9660 volumes alone in a copy without one, the
//! gaps between CD sessions included), of `cback mkisofs` sessions laid out
//! at their `-C` addresses, and of an image xorriso grew session by session.

mod support;

use std::path::Path;
use std::process::Command;

use support::restore::*;
use support::store::*;

/// The summary line of `cback verify -q DISC`, with its exit code.
fn verify(disc: &str) -> (Option<i32>, String) {
    let o = cback(&["verify", "-q", disc]);
    (o.status.code(), text(&o))
}

fn write_once_image(profile: &str) {
    let rig = Rig::new(profile);
    let nights: Vec<_> = (2..=4).map(|d| date(&format!("2026-03-{d:02}"))).collect();
    let mut starts = Vec::new();
    for (i, &night) in nights.iter().enumerate() {
        rig.stage(night, 30 + 10 * i);
        starts.push(rig.store_ok(night));
    }
    let image = rig.image();
    let copy = rig.path("copy.iso");
    std::fs::copy(&image, &copy).unwrap();
    assert!(mmc::emulator::state_path(&image).is_file());
    for disc in [
        rig.spec(),
        image.display().to_string(),
        copy.display().to_string(),
    ] {
        let (code, t) = verify(&disc);
        assert_eq!(code, Some(0), "{disc}: {t}");
        assert!(
            t.lines()
                .last()
                .unwrap()
                .contains(": OK: 3 session(s), 3 day(s)"),
            "{disc}: {t}"
        );
        for night in &nights {
            let line = format!("{}: 4 file(s) match the manifest", day_path(*night));
            assert!(t.contains(&line), "{disc}: {line}\n{t}");
        }
        // The list names the newest session holding each day (each
        // session carries the days before it).
        let o = cback(&["restore", "-d", &disc, "list"]);
        let t = text(&o);
        for night in &nights {
            let line = format!(
                "{}  (session at block {},",
                night.format("%Y-%m-%d"),
                starts[2]
            );
            assert!(t.contains(&line), "{disc}: {line}\n{t}");
        }
    }
    // Every day restores from the copy as staged; one session alone with -s.
    for night in &nights {
        let out = rig.path(&format!("r-{night}"));
        let what = night.format("%Y-%m-%d").to_string();
        let o = cback(&[
            "restore",
            "-d",
            copy.to_str().unwrap(),
            &what,
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(files(&out) == rig.staged(*night), "{what} from the copy");
    }
    let o = cback(&[
        "verify",
        "-q",
        "-s",
        &starts[1].to_string(),
        copy.to_str().unwrap(),
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains(": OK: 1 session(s), 2 day(s)"), "{t}");
    // A byte changed in the copy's first session is found and named.
    let lba = {
        let spec = copy.display().to_string();
        let mut m = cedar::engine::discread::Medium::open(&spec).unwrap();
        let c = cedar::engine::discread::contents(&mut m, &spec, None).unwrap();
        assert_eq!(c.sessions.len(), 3);
        c.days["2026/03/02"].entries[b"host1/etc/hosts".as_slice()].extents[0].0
    };
    let mut bytes = std::fs::read(&copy).unwrap();
    bytes[lba as usize * 2048] ^= 0xFF;
    std::fs::write(&copy, &bytes).unwrap();
    let (code, t) = verify(copy.to_str().unwrap());
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("DIFFERS 2026/03/02/host1/etc/hosts: SHA-256"),
        "{t}"
    );
    assert!(
        t.contains("2026/03/04: 4 file(s) match the manifest"),
        "{t}"
    );
}

#[test]
fn a_dvd_plus_r_image_has_every_session_checked() {
    write_once_image("dvd+r");
}

#[test]
fn a_cd_r_image_has_every_session_found_across_the_gaps() {
    write_once_image("cdr-74");
}

fn day_tree(root: &Path, day: &str, text: &str) {
    let d = root.join(day).join("host1");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("notes.txt"), text).unwrap();
    std::fs::write(d.join("data.bin"), noise(50_000, text.len() as u32)).unwrap();
}

fn mkisofs(dir: &Path, args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_cback"))
        .arg("mkisofs")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn cback_mkisofs_sessions_laid_out_as_on_a_disc_are_all_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    day_tree(d, "src1/2026/03/02", "first");
    day_tree(d, "src2/2026/03/03", "second");
    mkisofs(d, &["-R", "-quiet", "-o", "s1.iso", "src1"]);
    // The next session starts past the first with a gap, as on a disc.
    let s1 = std::fs::read(d.join("s1.iso")).unwrap();
    let next = (s1.len() / 2048) as u32 + 160;
    let c = format!("0,{next}");
    mkisofs(
        d,
        &[
            "-R", "-quiet", "-C", &c, "-M", "s1.iso", "-o", "s2.iso", "src2",
        ],
    );
    let mut disc = s1;
    disc.resize(next as usize * 2048, 0);
    disc.extend(std::fs::read(d.join("s2.iso")).unwrap());
    let image = d.join("disc.iso");
    std::fs::write(&image, disc).unwrap();
    let (code, t) = verify(image.to_str().unwrap());
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains(": OK: 2 session(s), 2 day(s)"), "{t}");
    assert!(
        t.contains("2026/03/02: no cback.manifest (written by Cedar Backup?): 2 file(s) checked for readability only, all readable"),
        "{t}"
    );
    let o = cback(&["restore", "-d", image.to_str().unwrap(), "list"]);
    let t = text(&o);
    assert!(
        t.contains(&format!("2026-03-03  (session at block {next},")),
        "{t}"
    );
    for (day, src) in [
        ("2026-03-02", "src1/2026/03/02"),
        ("2026-03-03", "src2/2026/03/03"),
    ] {
        let out = d.join(format!("r-{day}"));
        let o = cback(&[
            "restore",
            "-d",
            image.to_str().unwrap(),
            day,
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(files(&out) == files(&d.join(src)), "{day}");
    }
}

#[test]
fn an_image_xorriso_grew_session_by_session_is_read_whole() {
    let Some(xorriso) = support::tool("xorriso", &["/usr/bin", "/usr/local/bin"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    day_tree(d, "src/2026/03/02", "first");
    day_tree(d, "src/2026/03/03", "second");
    let image = d.join("grown.iso");
    for day in ["2026/03/02", "2026/03/03"] {
        let o = Command::new(&xorriso)
            .arg("-dev")
            .arg(format!("stdio:{}", image.display()))
            .args(["-rockridge", "on", "-map"])
            .arg(d.join("src").join(day))
            .arg(format!("/{day}"))
            .arg("-commit")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    let (code, t) = verify(image.to_str().unwrap());
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains(" 2 day(s)"), "{t}");
    let out = d.join("r");
    let o = cback(&[
        "restore",
        "-d",
        image.to_str().unwrap(),
        "2026-03-02",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(files(&out) == files(&d.join("src/2026/03/02")), "restored");
}

#[test]
fn a_genisoimage_multisession_image_is_verified_to_its_last_block() {
    // genisoimage -C records a later session's size relative to it; right
    // after a small first session (a DVD) that size is more than the
    // session's start. Every block of the second session must be read.
    let Some(g) = support::tool("genisoimage", &["/usr/bin", "/usr/local/bin"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    day_tree(d, "src1/2026/03/02", "first");
    std::fs::create_dir_all(d.join("src2/2026/03/03/host1")).unwrap();
    std::fs::write(d.join("src2/2026/03/03/host1/big.bin"), noise(3_000_000, 7)).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(&g).args(args).current_dir(d).output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
    };
    run(&["-quiet", "-r", "-o", "s1.iso", "src1"]);
    let s1 = std::fs::read(d.join("s1.iso")).unwrap();
    let next = ((s1.len() / 2048) as u32).next_multiple_of(16);
    let c = format!("0,{next}");
    run(&[
        "-quiet", "-r", "-C", &c, "-M", "s1.iso", "-o", "s2.iso", "src2",
    ]);
    let s2 = std::fs::read(d.join("s2.iso")).unwrap();
    // Both sessions are read, the gap between them not.
    let read = cedar::engine::util::display_bytes((s1.len() + s2.len()) as u64);
    let mut disc = s1;
    disc.resize(next as usize * 2048, 0);
    disc.extend(s2);
    let image = d.join("disc.iso");
    std::fs::write(&image, &disc).unwrap();
    let (code, t) = verify(image.to_str().unwrap());
    assert_eq!(code, Some(0), "{t}");
    assert!(t.contains(": OK: 2 session(s), 2 day(s)"), "{t}");
    assert!(
        t.contains(&format!(" {read} read")),
        "every block read: {read}: {t}"
    );
    let out = d.join("r");
    let o = cback(&[
        "restore",
        "-d",
        image.to_str().unwrap(),
        "2026-03-03",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(files(&out) == files(&d.join("src2/2026/03/03")), "restored");

    // The image cut 300 blocks short (past genisoimage's 150 of padding):
    // its last session is said to be cut short and its file, running past
    // the end, is named.
    let cut = d.join("cut.iso");
    std::fs::write(&cut, &disc[..disc.len() - 300 * 2048]).unwrap();
    let (code, t) = verify(cut.to_str().unwrap());
    assert_eq!(code, Some(1), "{t}");
    assert!(
        t.contains("DAMAGED 2026/03/03/host1/big.bin: ")
            && t.contains(" block(s) past the end of what is recorded"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "DAMAGED / (session at block {next}): the image ends before its last session does"
        )),
        "a truncated copy, not an interrupted write: {t}"
    );
    assert!(t.contains("2026/03/02: no cback.manifest"), "{t}");
    assert!(
        !t.contains("DAMAGED 2026/03/02"),
        "the first day is whole: {t}"
    );
}
