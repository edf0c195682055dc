//! `cback restore` into a target that is not empty, through the real
//! binary on the emulated burner: archives GNU tar made (with directory
//! members of unusual modes and mtimes) restored in date order give the
//! newest version of each file and keep what else the target holds; an
//! archive found damaged at its very end (after every member was read)
//! leaves the files already at its paths byte for byte as they were; a
//! directory against a file is refused either way; a member under a
//! symlinked directory of the target is refused and nothing is written
//! through the link; symlinks on a disc come back as symlinks (their
//! targets checked against the manifest, a decayed one named), never
//! followed; an archive GNU tar was made to write with '..', absolute
//! names and a symlink leading out has those members refused and nothing
//! outside the target touched; no staging directory is left behind in any
//! of these cases.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use support::restore::*;
use support::sorted_names as names;
use support::store::*;

/// Runs GNU tar in `dir`.
fn gnu_tar(dir: &Path, args: &[&str]) {
    let o = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "tar {args:?}: {}", text(&o));
}

fn set_mtime(p: &Path, secs: u64) {
    let t = std::fs::FileTimes::new()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs));
    std::fs::File::open(p).unwrap().set_times(t).unwrap();
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Mode bits and mtime.
fn mode_mtime(p: &Path) -> (u32, i64) {
    let m = std::fs::symlink_metadata(p).unwrap();
    (m.mode() & 0o7777, m.mtime())
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (p, data) in files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// `cback restore -d SPEC ARGS... WHAT TARGET`: exit code and output.
fn restore(spec: &str, args: &[&str], what: &str, target: &Path) -> (Option<i32>, String) {
    let mut all = vec!["restore", "-d", spec];
    all.extend_from_slice(args);
    all.extend([what, target.to_str().unwrap()]);
    let o = cback(&all);
    (o.status.code(), text(&o))
}

#[test]
fn unpacking_over_a_non_empty_target_replaces_files_only_once_the_archive_checked_out() {
    let rig = Rig::new("dvd+r");
    let (full, incr) = (date("2026-03-02"), date("2026-03-03"));
    // The source: srv/ (0750) holding ro/ (0500), with mtimes of their own.
    let src = rig.path("src");
    write(
        &src,
        &[
            ("srv/app.conf", "v1 conf\n"),
            ("srv/keep", "v1 keep\n"),
            ("srv/ro/data", "v1 data\n"),
        ],
    );
    set_mtime(&src.join("srv/ro/data"), 1_500_000_000);
    chmod(&src.join("srv/ro"), 0o500);
    chmod(&src.join("srv"), 0o750);
    set_mtime(&src.join("srv/ro"), 1_500_000_100);
    set_mtime(&src.join("srv"), 1_500_000_200);
    // A full backup (GNU tar writes the directories as members before their
    // contents), then an incremental one holding the changed file only.
    rig.stage(full, 4);
    let archive = rig.day_dir(full).join("host1/srv.tar");
    gnu_tar(&src, &["-cf", archive.to_str().unwrap(), "srv"]);
    rig.store_ok(full);
    write(&src, &[("srv/app.conf", "v2 conf\n")]);
    rig.stage(incr, 4);
    let archive = rig.day_dir(incr).join("host1/srv.tar");
    gnu_tar(&src, &["-cf", archive.to_str().unwrap(), "srv/app.conf"]);
    rig.store_ok(incr);
    let spec = rig.spec();

    // Full then incremental, in date order, into a target whose srv
    // already holds a file of its own: the newest of every file, the
    // directories as the archive has them, the target's file kept.
    let t = rig.path("t");
    write(&t, &[("srv/mine", "mine\n")]);
    chmod(&t.join("srv"), 0o755);
    let (code, out) = restore(&spec, &["-x"], "2026-03-02/host1/srv.tar", &t);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("unpacked host1/srv.tar: 5 member(s)"), "{out}");
    assert_eq!(mode_mtime(&t.join("srv")), (0o750, 1_500_000_200));
    assert_eq!(mode_mtime(&t.join("srv/ro")), (0o500, 1_500_000_100));
    assert_eq!(mode_mtime(&t.join("srv/ro/data")).1, 1_500_000_000);
    let (code, out) = restore(&spec, &["-x"], "2026-03-03/host1/srv.tar", &t);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(read(&t.join("srv/app.conf")), "v2 conf\n");
    assert_eq!(read(&t.join("srv/keep")), "v1 keep\n");
    assert_eq!(read(&t.join("srv/ro/data")), "v1 data\n");
    assert_eq!(read(&t.join("srv/mine")), "mine\n");
    assert_eq!(names(&t), ["srv"], "no staging directory left");
    assert_eq!(names(&t.join("srv")), ["app.conf", "keep", "mine", "ro"]);
    chmod(&t.join("srv/ro"), 0o700);

    // The full archive's last block (the tar's zero padding, read after
    // every member) flipped: the manifest check fails at its end, and the
    // files already at its paths are untouched.
    let e = {
        let mut m = cedar::engine::discread::Medium::open(&spec).unwrap();
        let c = cedar::engine::discread::contents(&mut m, &spec, None).unwrap();
        c.days["2026/03/02"].entries["host1/srv.tar".as_bytes()].clone()
    };
    let last = e.extents[0].0 + ((e.size - 1) / 2048) as u32;
    let decayed = format!("{spec}&flip={last}:100");
    let t2 = rig.path("t2");
    let precious = [
        ("srv/app.conf", "precious conf\n"),
        ("srv/keep", "precious keep\n"),
        ("srv/ro/data", "precious data\n"),
    ];
    write(&t2, &precious);
    let before = mode_mtime(&t2.join("srv/ro"));
    let (code, out) = restore(&decayed, &["-x"], "2026-03-02/host1/srv.tar", &t2);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("DAMAGED 2026/03/02/host1/srv.tar: host1/srv.tar: SHA-256 does not match"),
        "{out}"
    );
    for (p, data) in precious {
        assert_eq!(read(&t2.join(p)), data, "{p} untouched");
    }
    assert_eq!(mode_mtime(&t2.join("srv/ro")), before);
    assert_eq!(names(&t2), ["srv"], "no staging directory left");
    assert_eq!(names(&t2.join("srv")), ["app.conf", "keep", "ro"]);

    // Conflicts: a directory where the archive has a file, a file where it
    // has a directory; both left as they are, the rest restored.
    let t3 = rig.path("t3");
    write(
        &t3,
        &[("srv/app.conf/inner", "inner\n"), ("srv/ro", "a file\n")],
    );
    let (code, out) = restore(&spec, &["-x"], "2026-03-02/host1/srv.tar", &t3);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(
            "REFUSED host1/srv.tar: srv/app.conf: a file to restore, but a directory in the \
             target: left as it is"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "REFUSED host1/srv.tar: srv/ro: a directory to restore, but a file in the target: \
             left as it is (1 entries below it not restored)"
        ),
        "{out}"
    );
    assert_eq!(read(&t3.join("srv/app.conf/inner")), "inner\n");
    assert_eq!(read(&t3.join("srv/ro")), "a file\n");
    assert_eq!(read(&t3.join("srv/keep")), "v1 keep\n");
    assert_eq!(names(&t3), ["srv"], "no staging directory left");

    // A member under a symlinked directory of the target: refused, nothing
    // written through the link.
    let t4 = rig.path("t4");
    let elsewhere = rig.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(&t4).unwrap();
    std::os::unix::fs::symlink(&elsewhere, t4.join("srv")).unwrap();
    let (code, out) = restore(&spec, &["-x"], "2026-03-02/host1/srv.tar", &t4);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("REFUSED host1/srv.tar: srv: a directory to restore, but a symlink"),
        "{out}"
    );
    assert!(names(&elsewhere).is_empty(), "written through the symlink");
    assert_eq!(names(&t4), ["srv"], "no staging directory left");
}

#[test]
fn symlinks_on_a_disc_are_restored_as_symlinks_and_never_written_through() {
    let rig = Rig::new("dvd+rw");
    let (first, second) = (date("2026-03-02"), date("2026-03-03"));
    let outside = rig.path("outside");
    write(&outside, &[("file", "outside\n")]);
    rig.stage(first, 4);
    let peer = rig.day_dir(first).join("host1");
    std::os::unix::fs::symlink("home.tar.gz", peer.join("latest")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", peer.join("abs")).unwrap();
    std::os::unix::fs::symlink(outside.join("file"), peer.join("x")).unwrap();
    rig.store_ok(first);
    // The next night the same name is a regular file.
    rig.stage(second, 4);
    write(&rig.day_dir(second), &[("host1/x", "x of night 2\n")]);
    rig.store_ok(second);
    let spec = rig.spec();
    // The manifest lists the symlinks with their targets; verify checks
    // them with the files.
    let o = cback(&["verify", "-q", &spec]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("2026/03/02: 4 file(s) and 3 symlink(s) match the manifest"),
        "{}",
        text(&o)
    );

    let t = rig.path("t");
    let (code, out) = restore(&spec, &[], "2026-03-02", &t);
    assert_eq!(code, Some(0), "{out}");
    let link = |p: &str| std::fs::read_link(t.join(p)).unwrap();
    assert_eq!(link("host1/latest"), Path::new("home.tar.gz"));
    assert_eq!(link("host1/abs"), Path::new("/etc/passwd"));
    assert_eq!(link("host1/x"), outside.join("file"));
    assert!(
        out.contains("host1/abs -> /etc/passwd (a symlink, as in the manifest)"),
        "{out}"
    );
    // The file of night 2 replaces the symlink restored from night 1; the
    // file it points to is untouched; night 1 again gives the link back.
    let (code, out) = restore(&spec, &[], "2026-03-03", &t);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(read(&t.join("host1/x")), "x of night 2\n");
    assert!(!std::fs::symlink_metadata(t.join("host1/x"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read(&outside.join("file")), "outside\n");
    let (code, out) = restore(&spec, &["-x"], "2026-03-02/host1/x", &t);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(link("host1/x"), outside.join("file"));
    assert_eq!(read(&outside.join("file")), "outside\n");
    assert_eq!(
        names(&t),
        ["cback.stage", "host1"],
        "no staging directory left"
    );
    assert_eq!(names(&outside), ["file"]);

    // A symlink already in the target where the day has a directory: the
    // day's files are not written through it.
    let t2 = rig.path("t2");
    std::fs::create_dir_all(&t2).unwrap();
    std::os::unix::fs::symlink(&outside, t2.join("host1")).unwrap();
    let (code, out) = restore(&spec, &[], "2026-03-02", &t2);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("host1: a directory to restore, but a symlink in the target"),
        "{out}"
    );
    assert_eq!(names(&outside), ["file"], "written through the symlink");
    assert_eq!(read(&outside.join("file")), "outside\n");
    assert_eq!(
        names(&t2),
        ["cback.stage", "host1"],
        "no staging directory left"
    );

    // A link's target decayed on the disc (a byte of its SL record in each
    // session's directory inverted): verify and restore name it against
    // the manifest, and restore leaves it out.
    let image = std::fs::read(rig.image()).unwrap();
    let flips: String = image
        .windows(8)
        .enumerate()
        // The SL component (flags 0, length 6), not the manifest's text.
        .filter(|(_, w)| *w == b"\x00\x06passwd")
        .map(|(at, _)| format!("&flip={}:{}", (at + 2) / 2048, (at + 2) % 2048))
        .collect();
    assert!(!flips.is_empty());
    let decayed = format!("{spec}{flips}");
    let o = cback(&["verify", "-q", &decayed]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("DIFFERS 2026/03/02/host1/abs: symlink to /etc/"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("in the manifest"), "{}", text(&o));
    let t3 = rig.path("t3");
    let (code, out) = restore(&decayed, &[], "2026-03-02", &t3);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("DIFFERS 2026/03/02/host1/abs: symlink to /etc/"),
        "{out}"
    );
    assert!(std::fs::symlink_metadata(t3.join("host1/abs")).is_err());
    assert_eq!(
        std::fs::read_link(t3.join("host1/latest")).unwrap(),
        Path::new("home.tar.gz")
    );
}

#[test]
fn an_interrupted_restore_leaves_no_staging_and_the_target_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let peer = d.join("src/2026/03/02/host1");
    std::fs::create_dir_all(&peer).unwrap();
    // Big enough to be caught half way: 64 MiB.
    let big = std::fs::File::create(peer.join("big.bin")).unwrap();
    big.set_len(64 << 20).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_cback"))
        .args(["mkisofs", "-R", "-quiet", "-o", "disc.iso", "src"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let t = d.join("t");
    write(&t, &[("host1/big.bin", "precious\n")]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_cback"))
        .args(["restore", "-d"])
        .arg(d.join("disc.iso"))
        .arg("2026-03-02")
        .arg(&t)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !names(&t).iter().any(|n| n.starts_with(".cback-restore.")) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the restore ended before it was caught"
        );
        assert!(std::time::Instant::now() < deadline, "no staging seen");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(
        text(&o).contains("cback restore: interrupted"),
        "{}",
        text(&o)
    );
    assert_eq!(names(&t), ["host1"], "no staging directory left");
    assert_eq!(names(&t.join("host1")), ["big.bin"]);
    assert_eq!(read(&t.join("host1/big.bin")), "precious\n");
}

#[test]
fn an_archive_crafted_to_escape_the_target_is_refused_member_by_member() {
    // GNU tar with -P keeps what a hostile or broken archive could hold: a
    // name climbing out with '..', an absolute name, a symlink leading out
    // of the target and a file named through it (after the link). Source and target sit
    // side by side in x/, so each escape would land on something real:
    // ../sibling is x/sibling, ok/out -> ../../outside is x/outside.
    let rig = Rig::new("dvd+r");
    let day = date("2026-03-02");
    let x = rig.path("x");
    write(&x.join("outside"), &[("through", "outside, untouched\n")]);
    write(&x.join("sibling"), &[("file", "sibling, untouched\n")]);
    write(&rig.path("abs"), &[("evil", "absolute, untouched\n")]);
    let src = x.join("src");
    write(&src, &[("ok/file", "honest\n")]);
    std::os::unix::fs::symlink("../../outside", src.join("ok/out")).unwrap();
    rig.stage(day, 4);
    let archive = rig.day_dir(day).join("host1/crafted.tar");
    let abs = rig.path("abs/evil");
    gnu_tar(
        &src,
        &[
            "-cPf",
            archive.to_str().unwrap(),
            "ok/file",
            "ok/out",
            "ok/out/through",
            "../sibling/file",
            abs.to_str().unwrap(),
        ],
    );
    rig.store_ok(day);
    let t = x.join("t");
    std::fs::create_dir_all(&t).unwrap();
    let (code, out) = restore(&rig.spec(), &["-x"], "2026-03-02/host1/crafted.tar", &t);
    assert_eq!(code, Some(1), "refusals exit 1: {out}");
    assert!(
        out.contains("unpacked host1/crafted.tar: 2 member(s)"),
        "{out}"
    );
    for name in ["../sibling/file", "ok/out"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("REFUSED host1/crafted.tar: {name}:"))),
            "{name} refused: {out}"
        );
    }
    let abs_name = abs.to_str().unwrap();
    assert!(
        out.lines()
            .any(|l| l.starts_with("REFUSED host1/crafted.tar: ") && l.contains(abs_name)),
        "the absolute name refused: {out}"
    );
    assert_eq!(read(&t.join("ok/file")), "honest\n");
    assert_eq!(names(&t), ["ok"], "no staging directory left");
    // With the link refused, the file named through it stays inside: a
    // directory ok/out of the target holds it.
    assert!(std::fs::symlink_metadata(t.join("ok/out"))
        .unwrap()
        .is_dir());
    assert_eq!(names(&t.join("ok")), ["file", "out"]);
    assert_eq!(read(&t.join("ok/out/through")), "outside, untouched\n");
    assert_eq!(names(&x), ["outside", "sibling", "src", "t"]);
    assert_eq!(names(&x.join("outside")), ["through"]);
    assert_eq!(read(&x.join("outside/through")), "outside, untouched\n");
    assert_eq!(names(&x.join("sibling")), ["file"]);
    assert_eq!(read(&x.join("sibling/file")), "sibling, untouched\n");
    assert_eq!(read(&abs), "absolute, untouched\n");
}

#[test]
fn symlink_targets_with_empty_components_store_verify_and_restore() {
    // Rock Ridge cannot record an empty component: `dir/` is on the disc
    // as `dir`, `./dir//x` as `./dir/x`. check_data, verify and restore
    // compare with what the disc can hold, not fail on a good disc.
    let rig = Rig::new("dvd+r");
    let day = date("2026-03-02");
    rig.stage(day, 4);
    let peer = rig.day_dir(day).join("host1");
    std::os::unix::fs::symlink("etc/", peer.join("l")).unwrap();
    std::os::unix::fs::symlink("./etc//hosts", peer.join("l2")).unwrap();
    rig.store_ok(day);
    let o = cback(&["verify", "-q", &rig.spec()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("and 2 symlink(s) match the manifest"),
        "{}",
        text(&o)
    );
    let t = rig.path("t");
    let (code, out) = restore(&rig.spec(), &[], "2026-03-02", &t);
    assert_eq!(code, Some(0), "{out}");
    // Restored as staged, the manifest's text (Path equality would not
    // tell `etc/` from `etc`: compare the bytes).
    let text = |p: &str| std::fs::read_link(t.join(p)).unwrap().into_os_string();
    assert_eq!(text("host1/l"), "etc/");
    assert_eq!(text("host1/l2"), "./etc//hosts");
    assert_eq!(read(&t.join("host1/l2")), read(&peer.join("etc/hosts")));
}
