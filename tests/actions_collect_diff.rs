//! Differential tests: cedar's collect against the real Cedar Backup 3 on the
//! same generated trees — same archive names; in each archive the same
//! members with the same header fields (type, mode, owner ids and names,
//! mtime, size, link target, hard-link groups) and the same data; the same
//! digest files holding the same paths and digests; the same incremental
//! selection over a sequence of days. Only cedar's documented differences
//! are normalised: member order (cedar sorts) and repeated paths. cedar's
//! one addition, a member for each directory the walk entered, is checked
//! apart: without them cedar's members are exactly cback3's; each one is
//! the directory itself (type, mode, owner, mtime), before its contents;
//! every directory between one of them and a member below is one; and for
//! the walk's rules (excludes, ignore file, links followed or dereferenced,
//! recursion_level, incremental days) the set is exactly the one expected.

mod support;

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use cedar::actions::collect;
use cedar::config::*;
use support::*;

struct Bench {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Bench {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        Bench { _tmp: tmp, root }
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn s(&self, rel: &str) -> String {
        self.p(rel).to_string_lossy().into_owned()
    }
}

/// A tree with most of what the walk rules care about.
/// cback3 (or skip), a bench with the tree built, and the tree's root.
fn setup() -> Option<(PathBuf, Bench, PathBuf)> {
    let cb3 = cb3()?;
    let b = Bench::new();
    build_tree(&b);
    let src = b.p("src");
    Some((cb3, b, src))
}

/// A `<collect>` section with modes and Cedar's usual ignore file.
fn section(mode: CollectMode, archive: ArchiveMode) -> CollectConfig {
    CollectConfig {
        collect_mode: Some(mode),
        archive_mode: Some(archive),
        ignore_file: Some(".cbignore".into()),
        ..Default::default()
    }
}

fn build_tree(b: &Bench) {
    let src = b.p("src");
    write(&src.join("top.txt"), b"top\n");
    write(&src.join("sp ace/file one.txt"), b"one\n");
    write(&src.join(".hidden"), b"h\n");
    // a name that is not UTF-8 (Python sees it through surrogateescape)
    write(
        &src.join(std::ffi::OsStr::from_bytes(b"bad\xffname")),
        b"bad\n",
    );
    write(&src.join("skip.tmp"), b"tmp\n");
    write(&src.join("keep.tmp.gz"), b"gz\n");
    write(&src.join("abs_ex/x"), b"x\n");
    write(&src.join("rel_ex/y"), b"y\n");
    write(&src.join("ign/.cbignore"), b"");
    write(&src.join("ign/z"), b"z\n");
    // directories with nothing to archive: one taken, one excluded
    std::fs::create_dir_all(src.join("empty dir")).unwrap();
    std::fs::create_dir_all(src.join("rel_ex/inner")).unwrap();
    write(&src.join("deep/a/b/c/d.txt"), b"d\n");
    write(&src.join("deep/a/b/c/skipme/e"), b"e\n");
    write(&src.join("deep/a/f.txt"), b"f\n");
    // "deep.txt" sorts before "deep/…" ('.' < '/'), though the walk lists
    // the directory "deep" first
    write(&src.join("deep.txt"), b"deep\n");
    let long = "l".repeat(60);
    write(&src.join(format!("{long}/{long}/{long}.txt")), b"long\n");
    write(&b.p("other/o1"), b"o1\n");
    write(&b.p("other/sub/o2"), b"o2\n");
    write(&b.p("elsewhere.txt"), b"elsewhere\n");
    link("top.txt", &src.join("l_file"));
    link("../other", &src.join("l_dir"));
    link(&b.s("other"), &src.join("deep/a/l_abs_dir"));
    link(&b.s("elsewhere.txt"), &src.join("deep/l_out_file"));
    link("nowhere", &src.join("dangling"));
    let far = b.p(&format!("other/{}/{long}", "m".repeat(70)));
    write(&far, b"far\n");
    link(&far.to_string_lossy(), &src.join("long_link"));
    std::fs::hard_link(src.join("top.txt"), src.join("hard")).unwrap();
    // header fields: modes, an old mtime, data over many blocks, owners
    use std::os::unix::fs::PermissionsExt;
    write(&src.join("modes/private"), b"secret\n");
    write(&src.join("modes/setuid"), b"#!/bin/sh\n");
    write(&src.join("modes/empty"), b"");
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    write(&src.join("modes/big.bin"), &big);
    for (f, mode) in [("private", 0o600), ("setuid", 0o4755), ("empty", 0o444)] {
        std::fs::set_permissions(src.join("modes").join(f), PermissionsExt::from_mode(mode))
            .unwrap();
    }
    set_times(&src.join("modes/big.bin"), 1_000_000_000);
    if nix::unistd::geteuid().is_root() {
        // an id with no name, and another user's file
        std::os::unix::fs::chown(src.join("modes/private"), Some(4_000_000), Some(70_000)).unwrap();
        std::os::unix::fs::chown(src.join("modes/empty"), Some(65534), Some(65534)).unwrap();
        std::os::unix::fs::lchown(src.join("l_file"), Some(1234), Some(5678)).unwrap();
    }
    nix::unistd::mkfifo(
        &src.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
}

/// Runs one collect configuration through cback3 and cedar (each with its
/// own collect and working dirs) and compares what they wrote.
struct Pair {
    cb3: PathBuf,
    cb_conf: Config,
    rs_conf: Config,
    xml: PathBuf,
    via_cli: bool,
}

impl Pair {
    fn new(
        cb3: PathBuf,
        b: &Bench,
        tag: &str,
        starting_day: Weekday,
        collect: CollectConfig,
    ) -> Self {
        let mk = |who: &str| {
            let cdir = b.p(&format!("{tag}-{who}-collect"));
            let wdir = b.p(&format!("{tag}-{who}-work"));
            std::fs::create_dir_all(&cdir).unwrap();
            std::fs::create_dir_all(&wdir).unwrap();
            Config {
                options: Some(options(&wdir, starting_day)),
                collect: Some(CollectConfig {
                    target_dir: Some(cdir.to_string_lossy().into_owned()),
                    ..collect.clone()
                }),
                ..Default::default()
            }
        };
        let cb_conf = mk("cb3");
        let rs_conf = mk("cedar");
        let xml = b.p(&format!("{tag}.xml"));
        std::fs::write(&xml, config_xml(&cb_conf)).unwrap();
        let pair = Pair {
            cb3,
            cb_conf,
            rs_conf,
            xml,
            via_cli: false,
        };
        pair.write_cedar_xml();
        pair
    }

    /// cedar reads its configuration from XML too, through its own parser
    /// and validation: the same document cback3 reads, but for the dirs.
    fn write_cedar_xml(&self) {
        std::fs::write(
            self.xml.with_extension("cedar.xml"),
            config_xml(&self.rs_conf),
        )
        .unwrap();
    }

    fn cedar_config(&self) -> Config {
        let c =
            cedar::config::parse_file(&self.xml.with_extension("cedar.xml")).expect("cedar parses");
        c.validate().expect("cedar validates");
        c
    }

    fn set_starting_day(&mut self, day: Weekday) {
        for c in [&mut self.cb_conf, &mut self.rs_conf] {
            c.options.as_mut().unwrap().starting_day = Some(day);
        }
        std::fs::write(&self.xml, config_xml(&self.cb_conf)).unwrap();
        self.write_cedar_xml();
    }

    fn dir(c: &Config) -> PathBuf {
        PathBuf::from(c.collect.as_ref().unwrap().target_dir.clone().unwrap())
    }
    fn work(c: &Config) -> PathBuf {
        PathBuf::from(c.options.as_ref().unwrap().working_dir.clone().unwrap())
    }

    /// Runs both (collect dirs emptied first) and compares; returns the
    /// archive names.
    fn run(&self, full: bool) -> Vec<String> {
        for c in [&self.cb_conf, &self.rs_conf] {
            let d = Self::dir(c);
            std::fs::remove_dir_all(&d).unwrap();
            std::fs::create_dir_all(&d).unwrap();
        }
        let args: &[&str] = if full {
            &["--full", "collect"]
        } else {
            &["collect"]
        };
        run_cb3(&self.cb3, &self.xml, args);
        if self.via_cli {
            // the `cback` binary, exactly as cron would run it
            let xml = self.xml.with_extension("cedar.xml");
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_cback"))
                .arg("-c")
                .arg(&xml)
                .arg("-l")
                .arg(xml.with_extension("log"))
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "cback failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            cedar(
                &self.cedar_config(),
                full,
                chrono::Local::now(),
                collect::run,
            )
            .expect("cedar collect");
        }
        let (a, b) = (Self::dir(&self.cb_conf), Self::dir(&self.rs_conf));
        assert_eq!(names(&a), names(&b), "archive names differ");
        assert!(names(&b).contains("cback.collect"));
        let mut archives = Vec::new();
        for n in names(&a) {
            if n == "cback.collect" {
                continue;
            }
            let all = members(&b.join(&n));
            // the documented difference itself: cedar's members are in byte
            // order of their paths (a directory's without its trailing `/`),
            // each path once
            let raw: Vec<Vec<u8>> = all.iter().map(path_bytes).collect();
            assert!(
                raw.windows(2).all(|w| w[0] < w[1]),
                "{n}: cedar's members are not sorted and unique: {:?}",
                raw.windows(2)
                    .filter(|w| w[0] >= w[1])
                    .map(|w| (
                        String::from_utf8_lossy(&w[0]).into_owned(),
                        String::from_utf8_lossy(&w[1]).into_owned()
                    ))
                    .collect::<Vec<_>>()
            );
            let theirs = restored(&a.join(&n));
            assert!(
                theirs.values().all(|m| m.header.kind != '5'),
                "{n}: cback3 wrote a directory member"
            );
            check_directories(&n, &all);
            let files = all.into_iter().filter(|m| m.kind != '5').collect();
            let diff = restored_differences(&theirs, &restored_members(&b.join(&n), files));
            assert!(diff.is_empty(), "{n} differs:\n{}", diff.join("\n"));
            archives.push(n);
        }
        let sha = |c: &Config| {
            names(&Self::work(c))
                .into_iter()
                .filter(|n| n.ends_with(".sha"))
                .collect::<Vec<_>>()
        };
        let digests = sha(&self.cb_conf);
        assert_eq!(digests, sha(&self.rs_conf), "digest file names differ");
        for n in digests {
            assert_eq!(
                digest_content(&self.cb3, &Self::work(&self.cb_conf).join(&n)),
                digest_content(&self.cb3, &Self::work(&self.rs_conf).join(&n)),
                "digests in {n} differ"
            );
        }
        archives
    }

    fn cedar_members(&self, archive: &str) -> Vec<String> {
        member_names(&Self::dir(&self.rs_conf).join(archive))
    }

    /// The paths of the directory members of one of cedar's archives, in
    /// archive order, without their trailing `/`.
    fn cedar_dirs(&self, archive: &str) -> Vec<String> {
        members(&Self::dir(&self.rs_conf).join(archive))
            .iter()
            .filter(|m| m.kind == '5')
            .map(|m| String::from_utf8_lossy(&path_bytes(m)).into_owned())
            .collect()
    }
}

/// A member's path: its name, without the trailing `/` of a directory's.
fn path_bytes(m: &Member) -> Vec<u8> {
    let mut p = m.raw_name.clone();
    if m.kind == '5' {
        p.pop();
    }
    p
}

/// cedar's directory members in one archive (`all`, in archive order): each
/// is the directory itself as it is now (no data, its mode, owner, group and
/// mtime), comes before every member below it, and none is missing between
/// the shallowest of them above a member and that member.
fn check_directories(archive: &str, all: &[Member]) {
    use std::os::unix::fs::MetadataExt;
    let dirs: BTreeSet<Vec<u8>> = all
        .iter()
        .filter(|m| m.kind == '5')
        .map(path_bytes)
        .collect();
    for (i, m) in all.iter().enumerate() {
        let name = String::from_utf8_lossy(&m.raw_name);
        if m.kind == '5' {
            assert!(m.raw_name.ends_with(b"/"), "{archive}: {name}");
            assert!(m.data.is_empty() && m.link.is_empty() && m.header.size == 0);
            let mut p = b"/".to_vec();
            p.extend(path_bytes(m));
            let st = std::fs::metadata(std::ffi::OsStr::from_bytes(&p)).unwrap();
            let h = &m.header;
            assert_eq!(
                (h.mode, h.uid, h.gid, h.mtime as i64),
                (
                    st.mode() & 0o7777,
                    u64::from(st.uid()),
                    u64::from(st.gid()),
                    st.mtime()
                ),
                "{archive}: {name} is not the directory as it is"
            );
            let user = nix::unistd::User::from_uid(st.uid().into()).unwrap();
            let group = nix::unistd::Group::from_gid(st.gid().into()).unwrap();
            assert_eq!(
                (h.uname.as_str(), h.gname.as_str()),
                (
                    user.map_or(String::new(), |u| u.name).as_str(),
                    group.map_or(String::new(), |g| g.name).as_str()
                ),
                "{archive}: {name}"
            );
            let mut prefix = path_bytes(m);
            prefix.push(b'/');
            assert!(
                !all[..i].iter().any(|e| e.raw_name.starts_with(&prefix)),
                "{archive}: {name} comes after some of its contents"
            );
        }
        // the directories above this member, shallowest first
        let path = path_bytes(m);
        let above: Vec<&[u8]> = path
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c == b'/')
            .map(|(at, _)| &path[..at])
            .collect();
        if let Some(first) = above.iter().position(|a| dirs.contains(*a)) {
            for a in &above[first..] {
                assert!(
                    dirs.contains(*a),
                    "{archive}: no directory member {} above {name}",
                    String::from_utf8_lossy(a)
                );
            }
        }
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn rel(b: &Bench, members: &[String]) -> Vec<String> {
    let prefix = format!("{}/", b.root.to_string_lossy().trim_start_matches('/'));
    members
        .iter()
        .map(|m| m.strip_prefix(&prefix).unwrap_or(m).to_string())
        .collect()
}

fn archive_name(p: &Path, ext: &str) -> String {
    format!(
        "{}.{ext}",
        cedar::engine::util::normalized_path(&p.to_string_lossy())
    )
}

#[test]
fn walk_rules_and_archive_modes_match_cedar() {
    let Some((cb3, b, src)) = setup() else { return };
    let base = section(CollectMode::Daily, ArchiveMode::Tar);
    let with_dir = |d: CollectDir| CollectConfig {
        collect_dirs: Some(vec![d]),
        ..base.clone()
    };

    // Excludes of every kind, gzip.
    let excl = CollectConfig {
        absolute_exclude_paths: Some(vec![b.s("src/abs_ex")]),
        exclude_patterns: Some(vec![r".*\.tmp".into()]),
        ..with_dir(CollectDir {
            archive_mode: Some(ArchiveMode::Targz),
            relative_exclude_paths: Some(vec!["rel_ex".into()]),
            exclude_patterns: Some(vec![".*/skipme".into()]),
            ..dir_item(&src)
        })
    };
    let pair = Pair::new(cb3.clone(), &b, "excl", not_today(), excl);
    let got = pair.run(true);
    let name = archive_name(&src, "tar.gz");
    assert_eq!(got, std::slice::from_ref(&name));
    let m = rel(&b, &pair.cedar_members(&name));
    for want in [
        "src/top.txt",
        "src/sp ace/file one.txt",
        "src/.hidden",
        "src/keep.tmp.gz",
        "src/l_file",
        "src/l_dir",
        "src/hard",
        "src/deep/a/b/c/d.txt",
        "src/long_link",
    ] {
        assert!(m.contains(&want.to_string()), "{want} missing from {m:?}");
    }
    for gone in [
        "src/skip.tmp",
        "src/abs_ex/x",
        "src/rel_ex/y",
        "src/ign/z",
        "src/dangling",
        "src/fifo",
        "src/deep/a/b/c/skipme/e",
    ] {
        assert!(!m.contains(&gone.to_string()), "{gone} should be excluded");
    }
    // Directories: the tree's own, but for the excluded ones (absolute and
    // relative paths, patterns, ignore file); empty ones too; links to
    // directories that are not followed stay links.
    let long = "l".repeat(60);
    let taken = [
        "src".to_string(),
        "src/deep".into(),
        "src/deep/a".into(),
        "src/deep/a/b".into(),
        "src/deep/a/b/c".into(),
        "src/empty dir".into(),
        format!("src/{long}"),
        format!("src/{long}/{long}"),
        "src/modes".into(),
        "src/sp ace".into(),
    ];
    assert_eq!(
        sorted(rel(&b, &pair.cedar_dirs(&name))),
        sorted(taken.to_vec())
    );
    let excluded = [
        "src/abs_ex",
        "src/rel_ex",
        "src/rel_ex/inner",
        "src/ign",
        "src/deep/a/b/c/skipme",
    ];
    let all_dirs: Vec<String> = taken
        .iter()
        .cloned()
        .chain(excluded.iter().map(|d| d.to_string()))
        .collect();

    // link_depth without and with dereference, bzip2.
    for (tag, depth, deref) in [
        ("ld1", 1, false),
        ("ld2", 2, false),
        ("ld3", 3, false),
        ("dr1", 1, true),
        ("dr3", 3, true),
    ] {
        let c = with_dir(CollectDir {
            archive_mode: Some(ArchiveMode::Tarbz2),
            link_depth: Some(depth),
            dereference: deref,
            ..dir_item(&src)
        });
        let pair = Pair::new(cb3.clone(), &b, tag, not_today(), c);
        let got = pair.run(false);
        let m = rel(&b, &pair.cedar_members(&got[0]));
        // a link at the top level is followed from depth 1 on
        assert!(
            m.contains(&"src/l_dir/o1".to_string()) != deref,
            "{tag}: {m:?}"
        );
        assert_eq!(m.contains(&"other/o1".to_string()), deref, "{tag}: {m:?}");
        // Directories: followed links are directories under the link's
        // path; dereferenced, the target is one under its own path and the
        // link stays a link member.
        let dirs = rel(&b, &pair.cedar_dirs(&got[0]));
        let (under, gone) = if deref {
            ("other", "src/l_dir")
        } else {
            ("src/l_dir", "other")
        };
        assert!(!dirs.contains(&gone.to_string()), "{tag}: {dirs:?}");
        assert_eq!(m.contains(&"src/l_dir".to_string()), deref, "{tag}: {m:?}");
        if depth == 1 {
            let mut want = all_dirs.clone();
            want.retain(|d| d != "src/ign");
            let m70 = "m".repeat(70);
            for d in ["", "/sub", &format!("/{m70}")] {
                want.push(format!("{under}{d}"));
            }
            assert_eq!(sorted(dirs), sorted(want), "{tag}");
        }
    }

    // recursion_level: one archive per subdirectory, then the rest.
    for (tag, level) in [("rl1", 1), ("rl2", 2), ("rlinf", -1)] {
        let c = with_dir(CollectDir {
            recursion_level: Some(level),
            absolute_exclude_paths: Some(vec![b.s("src/abs_ex")]),
            ..dir_item(&src)
        });
        let pair = Pair::new(cb3.clone(), &b, tag, not_today(), c);
        let got = pair.run(true);
        assert!(
            got.contains(&archive_name(&src.join("deep"), "tar")),
            "{tag}: {got:?}"
        );
        // Each archive has the directories of its own part of the tree.
        assert_eq!(
            rel(&b, &pair.cedar_dirs(&archive_name(&src, "tar"))),
            ["src"]
        );
        let deep = rel(
            &b,
            &pair.cedar_dirs(&archive_name(&src.join("deep"), "tar")),
        );
        let want: Vec<String> = all_dirs
            .iter()
            .filter(|d| d.starts_with("src/deep"))
            .filter(|d| level == 1 || !d.starts_with("src/deep/"))
            .cloned()
            .collect();
        assert_eq!(sorted(deep), sorted(want), "{tag}");
        assert!(got.contains(&archive_name(&src, "tar")), "{tag}: {got:?}");
        assert!(
            !got.iter()
                .any(|n| n.contains("abs_ex") || n.contains("-ign")),
            "{tag}: {got:?}"
        );
    }
}

#[test]
fn files_and_collect_modes_match_cedar() {
    let Some((cb3, b, src)) = setup() else { return };
    let file = |p: &str, mode: CollectMode, archive: ArchiveMode| CollectFile {
        absolute_path: Some(b.s(p)),
        collect_mode: Some(mode),
        archive_mode: Some(archive),
    };
    let c = CollectConfig {
        collect_files: Some(vec![
            file("src/top.txt", CollectMode::Daily, ArchiveMode::Targz),
            file("src/l_file", CollectMode::Incr, ArchiveMode::Tar),
            file(
                "src/sp ace/file one.txt",
                CollectMode::Weekly,
                ArchiveMode::Tarbz2,
            ),
        ]),
        collect_dirs: Some(vec![
            CollectDir {
                collect_mode: Some(CollectMode::Weekly),
                ..dir_item(&src.join("deep"))
            },
            dir_item(&src.join("sp ace")),
        ]),
        ..section(CollectMode::Daily, ArchiveMode::Tar)
    };
    let mut pair = Pair::new(cb3, &b, "modes", not_today(), c);
    // Not the starting day: weekly items stay out.
    let daily = pair.run(false);
    assert_eq!(daily.len(), 3, "{daily:?}");
    assert!(!daily
        .iter()
        .any(|n| n.contains("deep") || n.ends_with(".bz2")));
    // --full takes everything.
    assert_eq!(pair.run(true).len(), 5);
    // So does the starting day.
    pair.set_starting_day(today());
    assert_eq!(pair.run(false).len(), 5);
}

fn mutate_day2(b: &Bench) {
    let src = b.p("src");
    write(&src.join("top.txt"), b"top changed\n");
    write(&src.join("deep/a/b/c/d.txt"), b"d changed\n");
    write(&src.join("new file.txt"), b"new\n");
    write(&src.join("deep/new dir/n.txt"), b"n\n");
    std::fs::remove_file(src.join(".hidden")).unwrap();
    // same content, new mtime: not a change for a digest
    set_times(&src.join("deep/a/f.txt"), 1_000_000_000);
}

#[test]
fn incremental_selection_over_days_matches_cedar() {
    let Some((cb3, b, src)) = setup() else { return };
    let c = CollectConfig {
        collect_files: Some(vec![CollectFile {
            absolute_path: Some(b.s("elsewhere.txt")),
            ..Default::default()
        }]),
        collect_dirs: Some(vec![CollectDir {
            recursion_level: Some(1),
            ..dir_item(&src)
        }]),
        ..section(CollectMode::Incr, ArchiveMode::Targz)
    };
    let mut pair = Pair::new(cb3, &b, "incr", not_today(), c);
    let day1 = pair.run(true);
    assert!(day1.len() >= 4, "{day1:?}");
    let deep_tar = archive_name(&src.join("deep"), "tar.gz");
    let deep_dirs = rel(&b, &pair.cedar_dirs(&deep_tar));
    assert!(deep_dirs.len() >= 5, "{deep_dirs:?}");
    // Day 2: only what changed (plus links, which Cedar always takes).
    mutate_day2(&b);
    let day2 = pair.run(false);
    // but every directory, the new one too
    let mut want = deep_dirs.clone();
    want.push("src/deep/new dir".into());
    assert_eq!(
        sorted(rel(&b, &pair.cedar_dirs(&deep_tar))),
        sorted(want),
        "day 2"
    );
    let top = archive_name(&src, "tar.gz");
    let m = rel(&b, &pair.cedar_members(&top));
    assert!(
        m.contains(&"src/top.txt".to_string()) && m.contains(&"src/new file.txt".to_string()),
        "{m:?}"
    );
    assert!(!m.contains(&"src/sp ace/file one.txt".to_string()));
    assert!(m.contains(&"src/l_file".to_string()));
    let deep = rel(
        &b,
        &pair.cedar_members(&archive_name(&src.join("deep"), "tar.gz")),
    );
    assert!(
        deep.contains(&"src/deep/a/b/c/d.txt".to_string())
            && !deep.contains(&"src/deep/a/f.txt".to_string()),
        "{deep:?}"
    );
    assert!(
        !day2.contains(&archive_name(&b.p("elsewhere.txt"), "tar.gz")),
        "{day2:?}"
    );
    // Day 3: nothing changed.
    let day3 = pair.run(false);
    assert!(
        !day3.contains(&archive_name(&src.join("deep"), "tar.gz"))
            || pair
                .cedar_members(&archive_name(&src.join("deep"), "tar.gz"))
                .iter()
                .all(|m| !m.ends_with(".txt"))
    );
    // Day 4 is the starting day: digests reset, everything again.
    pair.set_starting_day(today());
    write(&src.join("deep/a/f.txt"), b"f changed\n");
    let day4 = pair.run(false);
    assert_eq!(day4.len(), day1.len(), "{day4:?} vs {day1:?}");
}

#[test]
fn cedar_continues_from_cedar3_pickled_digests() {
    let Some((cb3, b, src)) = setup() else { return };
    let c = CollectConfig {
        collect_dirs: Some(vec![dir_item(&src)]),
        ..section(CollectMode::Incr, ArchiveMode::Tar)
    };
    let pair = Pair::new(cb3.clone(), &b, "mig", not_today(), c);
    pair.run(true);
    // The migrating user: cedar takes over cback3's working dir.
    let (cbw, rsw) = (Pair::work(&pair.cb_conf), Pair::work(&pair.rs_conf));
    let sha = format!(
        "{}.sha",
        cedar::engine::util::normalized_path(&src.to_string_lossy())
    );
    std::fs::copy(cbw.join(&sha), rsw.join(&sha)).unwrap();
    assert!(
        std::fs::read(rsw.join(&sha)).unwrap().starts_with(b"(dp0"),
        "cback3 wrote a protocol-0 pickle"
    );
    mutate_day2(&b);
    let got = pair.run(false);
    let m = rel(&b, &pair.cedar_members(&got[0]));
    assert!(
        !m.contains(&"src/sp ace/file one.txt".to_string()),
        "no surprise full backup: {m:?}"
    );
    assert!(m.contains(&"src/top.txt".to_string()));
    assert!(
        !m.iter().any(|n| n.contains("bad")),
        "non-UTF-8 names survive the pickle: {m:?}"
    );
    // cedar rewrote it in its own format, which it reads back.
    let own = std::fs::read(rsw.join(&sha)).unwrap();
    assert!(own.starts_with(b"# cedar digest map 1\n"));
    let map = cedar::engine::digest::parse(&own).unwrap();
    assert!(map.contains_key(std::ffi::OsStr::new(&format!("{}/top.txt", src.display()))));
}

#[test]
fn the_cback_binary_collects_like_cback3() {
    let Some((cb3, b, src)) = setup() else { return };
    let c = CollectConfig {
        collect_dirs: Some(vec![CollectDir {
            link_depth: Some(1),
            relative_exclude_paths: Some(vec!["abs_ex".into()]),
            ..dir_item(&src)
        }]),
        ..section(CollectMode::Incr, ArchiveMode::Tarbz2)
    };
    let mut pair = Pair::new(cb3, &b, "cli", not_today(), c);
    pair.via_cli = true;
    let day1 = pair.run(true);
    assert_eq!(day1.len(), 1);
    let dirs = rel(&b, &pair.cedar_dirs(&day1[0]));
    mutate_day2(&b);
    let day2 = pair.run(false);
    let m = rel(&b, &pair.cedar_members(&day2[0]));
    assert!(
        m.contains(&"src/top.txt".to_string()) && !m.contains(&"src/deep/a/f.txt".to_string()),
        "{m:?}"
    );
    // Every directory again, not only those of changed files.
    let mut want = dirs;
    want.push("src/deep/new dir".into());
    assert_eq!(sorted(rel(&b, &pair.cedar_dirs(&day2[0]))), sorted(want));
}
