//! collect through the library: archive contents and format, odd files,
//! ownership, incremental state, errors.

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use cedar::actions::collect;
use cedar::config::*;
use cedar::engine::archive::{Added, TarWriter};
use support::*;

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn conf(root: &Path, mode: CollectMode, archive: ArchiveMode, dirs: Vec<CollectDir>) -> Config {
    std::fs::create_dir_all(root.join("collect")).unwrap();
    std::fs::create_dir_all(root.join("work")).unwrap();
    Config {
        options: Some(options(&root.join("work"), not_today())),
        collect: Some(CollectConfig {
            target_dir: Some(s(&root.join("collect"))),
            collect_mode: Some(mode),
            archive_mode: Some(archive),
            ignore_file: Some(".ignore".into()),
            collect_dirs: Some(dirs),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn archive_of(root: &Path, dir: &Path, ext: &str) -> PathBuf {
    root.join("collect").join(format!(
        "{}.{ext}",
        cedar::engine::util::normalized_path(&s(dir))
    ))
}

#[test]
fn archives_hold_exact_data_links_and_long_names_in_gnu_format() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let src = root.join("src");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    write(&src.join("big.bin"), &big);
    write(&src.join("empty"), b"");
    let long = format!("{}/{}.txt", "d".repeat(90), "n".repeat(120));
    write(&src.join(&long), b"long");
    link(&"t".repeat(150), &src.join("long-link"));
    write(&root.join("t".repeat(150)), b"");
    std::fs::rename(root.join("t".repeat(150)), src.join("t".repeat(150))).unwrap();
    std::fs::hard_link(src.join("empty"), src.join("empty2")).unwrap();
    for (mode, ext) in [
        (ArchiveMode::Tar, "tar"),
        (ArchiveMode::Targz, "tar.gz"),
        (ArchiveMode::Tarbz2, "tar.bz2"),
    ] {
        let c = conf(root, CollectMode::Daily, mode, vec![dir_item(&src)]);
        cedar(&c, false, chrono::Local::now(), collect::run).unwrap();
        let path = archive_of(root, &src, ext);
        let prefix = s(&src).trim_start_matches('/').to_string();
        let ms = members(&path);
        let get = |n: &str| {
            ms.iter()
                .find(|m| m.name == format!("{prefix}/{n}"))
                .unwrap_or_else(|| panic!("{n} in {ms:?}"))
        };
        assert_eq!(get("big.bin").data, big);
        assert_eq!(get("big.bin").kind, '0');
        assert_eq!(get(&long).data, b"long");
        assert_eq!(
            (get("long-link").kind, get("long-link").link.clone()),
            ('2', "t".repeat(150))
        );
        assert_eq!(
            get("empty2").kind,
            '1',
            "second path to an inode is a hard link"
        );
        // six files and links, and the two directories before them
        let dirs: Vec<&str> = ms
            .iter()
            .filter(|m| m.kind == '5')
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(
            dirs,
            [
                format!("{prefix}/"),
                format!("{prefix}/{}/", "d".repeat(90))
            ]
        );
        assert_eq!(ms.len(), 8);
        // GNU tar reads it back, and the plain archive is padded to whole records.
        let out = std::process::Command::new("tar")
            .arg("-tf")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 8);
        if mode == ArchiveMode::Tar {
            assert_eq!(std::fs::metadata(&path).unwrap().len() % 10240, 0);
        }
        assert!(root.join("collect/cback.collect").exists());
    }
}

#[test]
fn vanished_and_changing_files_leave_a_valid_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a.tar");
    let keep = tmp.path().join("keep");
    write(&keep, b"keep");
    let pb = indicatif::ProgressBar::hidden();
    let mut w = TarWriter::create(&path, ArchiveMode::Tar).unwrap();
    assert_eq!(
        w.add(tmp.path().join("gone").as_os_str(), &pb).unwrap(),
        Added::Skipped
    );
    // /proc files stat as empty but read as data: the member keeps the
    // announced size and no digest is recorded for it.
    match w
        .add(std::ffi::OsStr::new("/proc/self/status"), &pb)
        .unwrap()
    {
        Added::File {
            size: 0,
            digest: None,
        } => {}
        other => panic!("{other:?}"),
    }
    match w.add(keep.as_os_str(), &pb).unwrap() {
        Added::File {
            size: 4,
            digest: Some(d),
        } => assert_eq!(d, "1264bdfe5ff3215cf6abac2152fff607f7dc78dc"),
        other => panic!("{other:?}"),
    }
    w.finish().unwrap();
    let ms = members(&path);
    assert_eq!(ms.len(), 2);
    assert_eq!(ms[1].data, b"keep");
}

#[test]
fn incremental_state_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let src = root.join("src");
    write(&src.join("a"), b"a");
    write(&src.join("b"), b"b");
    let c = conf(
        root,
        CollectMode::Incr,
        ArchiveMode::Tar,
        vec![dir_item(&src)],
    );
    let now = chrono::Local::now();
    cedar(&c, false, now, collect::run).unwrap();
    let tar = archive_of(root, &src, "tar");
    // two files and their directory
    let files = |tar: &Path| members(tar).iter().filter(|m| m.kind != '5').count();
    assert_eq!(members(&tar).len(), 3);
    assert_eq!(files(&tar), 2);
    // nothing changed: no archive is written (not one of directories
    // only), the digest stays (files only)
    std::fs::remove_file(&tar).unwrap();
    cedar(&c, false, now, collect::run).unwrap();
    assert!(!tar.exists());
    let sha = root.join("work").join(format!(
        "{}.sha",
        cedar::engine::util::normalized_path(&s(&src))
    ));
    let map = cedar::engine::digest::parse(&std::fs::read(&sha).unwrap()).unwrap();
    assert_eq!(map.len(), 2);
    assert_eq!(
        map[std::ffi::OsStr::new(&s(&src.join("a")))],
        "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"
    );
    // a corrupt digest file means a full archive, not a failure
    std::fs::write(&sha, b"garbage").unwrap();
    cedar(&c, false, now, collect::run).unwrap();
    assert_eq!(files(&tar), 2);
    // --full resets the digest
    std::fs::remove_file(&tar).unwrap();
    cedar(&c, true, now, collect::run).unwrap();
    assert_eq!(files(&tar), 2);
    // an ignore file keeps the whole directory out
    write(&src.join(".ignore"), b"");
    std::fs::remove_file(&tar).unwrap();
    cedar(&c, true, now, collect::run).unwrap();
    assert!(!tar.exists());
    // a missing directory is an error naming it
    let bad = conf(
        root,
        CollectMode::Daily,
        ArchiveMode::Tar,
        vec![dir_item(&root.join("missing"))],
    );
    let err = cedar(&bad, false, now, collect::run).unwrap_err();
    assert!(format!("{err:#}").contains("missing"), "{err:#}");
}

#[test]
fn outputs_belong_to_the_backup_user_when_root() {
    let Some((uid, group)) = unprivileged_owner() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(&root.join("src/f"), b"f");
    let mut c = conf(
        root,
        CollectMode::Incr,
        ArchiveMode::Targz,
        vec![dir_item(&root.join("src"))],
    );
    let o = c.options.as_mut().unwrap();
    o.backup_user = Some("nobody".into());
    o.backup_group = Some(group.into());
    cedar(&c, false, chrono::Local::now(), collect::run).unwrap();
    for p in [
        archive_of(root, &root.join("src"), "tar.gz"),
        root.join("collect/cback.collect"),
    ] {
        assert_eq!(std::fs::metadata(&p).unwrap().uid(), uid, "{}", p.display());
    }
    let sha = std::fs::read_dir(root.join("work"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(std::fs::metadata(sha).unwrap().uid(), uid);
}

/// Text-like bytes (compressible, several compression chunks long).
fn text_like(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        i += 1;
        out.extend_from_slice(
            format!(
                "2026-12-01 [INFO] cedar line {} value {}\n",
                i,
                i * 7919 % 1013
            )
            .as_bytes(),
        );
    }
    out.truncate(len);
    out
}

/// The gzip and bzip2 archives (compressed on every core) are one ordinary
/// stream each: gzip -t, bzip2 -t, GNU tar and Python's tarfile in file and
/// stream mode read every member's data back.
#[test]
fn parallel_compressed_archives_pass_every_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let src = root.join("src");
    write(&src.join("a.log"), &text_like(2_500_000));
    let noise: Vec<u8> = (0..1_200_000u64)
        .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8)
        .collect();
    write(&src.join("b.bin"), &noise);
    write(&src.join("c/small.txt"), b"small\n");
    let py = r#"
import hashlib, sys, tarfile
out = []
for mode in sys.argv[2:]:
    with tarfile.open(sys.argv[1], mode) as t:
        for m in t:
            data = t.extractfile(m).read() if m.isfile() else b""
            out.append("%s %s %s" % (mode, m.name, hashlib.sha1(data).hexdigest()))
print("\n".join(out))
"#;
    for (mode, ext, test, flag, pymodes) in [
        (
            ArchiveMode::Targz,
            "tar.gz",
            "gzip",
            "-tzf",
            ["r:gz", "r|gz"],
        ),
        (
            ArchiveMode::Tarbz2,
            "tar.bz2",
            "bzip2",
            "-tjf",
            ["r:bz2", "r|bz2"],
        ),
    ] {
        let c = conf(root, CollectMode::Daily, mode, vec![dir_item(&src)]);
        cedar(&c, false, chrono::Local::now(), collect::run).unwrap();
        let path = archive_of(root, &src, ext);
        let run = |cmd: &str, args: &[&str]| {
            let out = std::process::Command::new(cmd)
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("{cmd}: {e}"));
            assert!(
                out.status.success(),
                "{cmd} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        run(test, &["-t", &s(&path)]);
        let listed = run("tar", &[flag, &s(&path)]);
        let ms = members(&path);
        assert_eq!(listed.lines().count(), ms.len(), "{listed}");
        let p = s(&path);
        let mut args = vec!["-c", py, &p];
        args.extend(pymodes);
        let lines = run("python3", &args);
        for m in ms.iter().filter(|m| m.kind == '0') {
            let digest = {
                use sha1::Digest;
                hex::encode(sha1::Sha1::digest(&m.data))
            };
            for pm in pymodes {
                let want = format!("{pm} {} {digest}", m.name);
                assert!(lines.lines().any(|l| l == want), "{want} not in {lines}");
            }
        }
    }
}

/// A file that yields fewer bytes than its size said when it was opened
/// (it shrank while being read; a sysfs attribute, which announces 4096
/// bytes and holds a few, does this every time): the run warns, the archive
/// stays a valid tar whose member is zero-padded to the announced size, and
/// the file's digest is never recorded, so every incremental run collects
/// it again.
#[test]
fn a_file_that_shrinks_is_archived_padded_and_collected_again_next_time() {
    let shrinking = [
        "/sys/devices/system/cpu/possible",
        "/sys/devices/system/cpu/online",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == 4096)
            && std::fs::read(p).is_ok_and(|d| !d.is_empty() && d.len() < 4096)
    });
    let Some(shrinking) = shrinking else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: no sysfs attribute to stand for a shrinking file"
        );
        eprintln!("skipping: no sysfs attribute here");
        return;
    };
    let content = std::fs::read(shrinking).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut c = conf(root, CollectMode::Incr, ArchiveMode::Targz, vec![]);
    c.collect.as_mut().unwrap().collect_dirs = None;
    c.collect.as_mut().unwrap().collect_files = Some(vec![CollectFile {
        absolute_path: Some(s(shrinking)),
        ..Default::default()
    }]);
    let xml = root.join("cback.conf");
    std::fs::write(&xml, config_xml(&c)).unwrap();
    let tar = archive_of(root, shrinking, "tar.gz");
    let sha = root.join("work").join(format!(
        "{}.sha",
        cedar::engine::util::normalized_path(&s(shrinking))
    ));
    for run in 1..=2 {
        let log = root.join(format!("cback{run}.log"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cback"))
            .arg("-c")
            .arg(&xml)
            .arg("-l")
            .arg(&log)
            .arg("collect")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains(&format!(
                "[WARNING] File [{}] shrank while being archived",
                shrinking.display()
            )),
            "run {run}: {text}"
        );
        let ms = members(&tar);
        assert_eq!(ms.len(), 1, "run {run}");
        assert_eq!(ms[0].header.size, 4096);
        assert_eq!(&ms[0].data[..content.len()], &content[..]);
        assert!(ms[0].data[content.len()..].iter().all(|&b| b == 0));
        let map = cedar::engine::digest::parse(&std::fs::read(&sha).unwrap()).unwrap();
        assert!(map.is_empty(), "run {run}: a digest was recorded: {map:?}");
        std::fs::remove_file(&tar).unwrap();
    }
}
