//! The subversion extension against cback3's on real repositories made by
//! `svnadmin create` and committed to with `svnmucc`: a week of runs (a
//! full one, then incrementals, one with nothing new) writes the same
//! dump names, the same dump contents (read back with gzip/bzip2) and the
//! same last-revision state files as cback3; cedar's dumps, loaded in order
//! by `svnadmin load` into a fresh repository, give back the same youngest
//! revision and the same `svnadmin dump`. Collect modes daily and weekly,
//! a repository directory with exclusions, compress modes none, gzip and
//! bzip2, owners as root, and a broken repository's error are covered too.

mod ext_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ext_support::*;

fn sh(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn create(repo: &Path) {
    std::fs::create_dir_all(repo.parent().unwrap()).unwrap();
    sh(
        "svnadmin",
        &["create", "--fs-type", "fsfs", repo.to_str().unwrap()],
    );
}

/// One commit: `files` (path, content) put into the repository.
fn commit(repo: &Path, msg: &str, files: &[(&str, &[u8])]) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", repo.display());
    let mut args: Vec<String> = vec!["-m".into(), msg.into(), "-U".into(), url];
    let mut made = Vec::new();
    for (i, (path, data)) in files.iter().enumerate() {
        let local = dir.path().join(i.to_string());
        std::fs::write(&local, data).unwrap();
        if let Some((parent, _)) = path.rsplit_once('/') {
            // mkdir of an existing directory fails; only make new ones.
            let probe = Command::new("svnlook")
                .args(["tree", repo.to_str().unwrap(), parent])
                .output()
                .unwrap();
            if !probe.status.success() && !made.contains(&parent) {
                made.push(parent);
                args.extend(["mkdir".into(), parent.into()]);
            }
        }
        args.extend(["put".into(), local.display().to_string(), path.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sh("svnmucc", &args);
}

fn youngest(repo: &Path) -> String {
    String::from_utf8(sh("svnlook", &["youngest", repo.to_str().unwrap()]))
        .unwrap()
        .trim()
        .to_string()
}

/// The whole repository as `svnadmin dump` writes it, UUID line aside.
fn full_dump(repo: &Path) -> String {
    String::from_utf8_lossy(&sh(
        "svnadmin",
        &["dump", "--quiet", repo.to_str().unwrap()],
    ))
    .lines()
    .filter(|l| !l.starts_with("UUID: "))
    .collect::<Vec<_>>()
    .join("\n")
}

fn svn_tools() -> bool {
    ["svnadmin", "svnlook", "svnmucc"]
        .iter()
        .all(|t| tool(t, &[]).is_some())
}

/// Files in `dir` not in `before`.
fn new_files(dir: &Path, before: &[String]) -> Vec<String> {
    listing(dir)
        .into_keys()
        .filter(|n| !before.contains(n))
        .collect()
}

#[test]
fn a_week_of_incremental_dumps_matches_cback3_and_loads_back() {
    let Some(cb3) = cb3() else { return };
    if !svn_tools() {
        return;
    }
    let b = Bench::new();
    let main = b.path("repos/main");
    let dir = b.path("svn");
    std::fs::create_dir_all(&dir).unwrap();
    create(&main);
    for name in ["alpha", "beta", "skipped", "nope-pattern"] {
        create(&dir.join(name));
    }
    std::fs::write(dir.join("a-file"), b"not a repository").unwrap();
    commit(
        &main,
        "first",
        &[("trunk/a.txt", b"one\n"), ("trunk/b.bin", &[0, 1, 2, 255])],
    );
    commit(&dir.join("alpha"), "a1", &[("x", b"alpha\n")]);
    let section = format!(
        r#"<subversion>
  <collect_mode>incr</collect_mode>
  <compress_mode>none</compress_mode>
  <repository><type>FSFS</type><abs_path>{main}</abs_path></repository>
  <repository_dir><abs_path>{dir}</abs_path><compress_mode>bzip2</compress_mode>
   <exclude><rel_path>skipped</rel_path><pattern>.*nope.*</pattern></exclude></repository_dir>
  <repository><abs_path>{main}/../main</abs_path><collect_mode>weekly</collect_mode>
   <compress_mode>gzip</compress_mode></repository>
</subversion>"#,
        main = main.display(),
        dir = dir.display()
    );
    let (user, group, ids) = backup_owner();
    let confs: Vec<PathBuf> = BOTH
        .iter()
        .map(|&who| {
            b.config(
                who,
                "subversion",
                &section,
                not_today(),
                (&user, &group),
                &[],
            )
        })
        .collect();
    let mut seen: [Vec<String>; 2] = Default::default();
    let mut days: Vec<Vec<String>> = Vec::new();
    for day in 0..7 {
        match day {
            0 | 3 | 5 => {}
            4 => commit(&dir.join("beta"), "b1", &[("y/z", "beta ☃\n".as_bytes())]),
            _ => {
                let text = format!("day {day}\n");
                commit(
                    &main,
                    &format!("day {day}"),
                    &[("trunk/a.txt", text.as_bytes())],
                );
                commit(&main, "more", &[(&format!("trunk/d{day}/f"), b"f\n")]);
            }
        }
        let args: &[&str] = if day == 0 {
            &["--full", "subversion"]
        } else {
            &["subversion"]
        };
        let mut made = Vec::new();
        for (i, who) in BOTH.into_iter().enumerate() {
            run_ok(who, &cb3, &confs[i], args, &[]);
            let new = new_files(&b.collect(who), &seen[i]);
            seen[i].extend(new.iter().cloned());
            made.push(new);
        }
        assert_eq!(made[1], made[0], "day {day}: the dumps made");
        days.push(made[1].clone());
    }
    // Day 0 dumped all three repositories from 0 (the weekly one too, on a
    // full run); day 3 found nothing new; day 4 only beta.
    assert_eq!(days[0].len(), 4, "{days:?}");
    assert!(days[3].is_empty(), "{days:?}");
    assert_eq!(days[4].len(), 1, "{days:?}");
    assert!(days[0].iter().any(|n| n.ends_with(".txt.gz")));
    assert!(days[4][0].starts_with("svndump-1:1-") && days[4][0].ends_with(".txt.bz2"));

    let theirs = listing(&b.collect(Who::Cb3));
    let ours = listing(&b.collect(Who::Cedar));
    assert_eq!(ours, theirs, "names, modes and owners");
    if let Some((uid, gid)) = ids {
        assert!(
            ours.values().all(|&(_, u, g)| (u, g) == (uid, gid)),
            "{ours:?}"
        );
    }
    for name in ours.keys() {
        assert_eq!(
            decompressed(&b.collect(Who::Cedar).join(name)),
            decompressed(&b.collect(Who::Cb3).join(name)),
            "{name}"
        );
    }
    // The state files: same names, bytes and owners.
    let state = |who| {
        let dir = b.work(who);
        listing(&dir)
            .into_iter()
            .filter(|(n, _)| n.ends_with(".svnlast"))
            .map(|(n, meta)| (std::fs::read(dir.join(&n)).unwrap(), n, meta))
            .collect::<Vec<_>>()
    };
    let (their_state, our_state) = (state(Who::Cb3), state(Who::Cedar));
    assert_eq!(our_state, their_state);
    assert_eq!(our_state.len(), 3, "main, alpha and beta are incremental");

    // Cedar's dumps of `main` (none-compressed, incremental), loaded in
    // revision order, rebuild it.
    let main_name = format!(
        "-{}.txt",
        &main.display().to_string().replace('/', "-")[1..]
    );
    let mut parts: Vec<(u64, String)> = ours
        .keys()
        .filter(|n| n.ends_with(&main_name))
        .map(|n| {
            let first = n["svndump-".len()..]
                .split(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (first, n.clone())
        })
        .collect();
    parts.sort();
    assert!(parts.len() >= 4, "{parts:?}");
    let restored = b.path("restored");
    create(&restored);
    for (_, name) in &parts {
        let data = decompressed(&b.collect(Who::Cedar).join(name));
        let mut child = Command::new("svnadmin")
            .args(["load", "--quiet", restored.to_str().unwrap()])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&data).unwrap();
        assert!(child.wait().unwrap().success(), "svnadmin load {name}");
    }
    assert_eq!(youngest(&restored), youngest(&main));
    assert_eq!(full_dump(&restored), full_dump(&main));
}

#[test]
fn a_broken_repository_fails_like_cback3() {
    let Some(cb3) = cb3() else { return };
    if !svn_tools() {
        return;
    }
    let b = Bench::new();
    let missing = b.path("no-such-repo");
    let section = format!(
        "<subversion><collect_mode>daily</collect_mode><compress_mode>gzip</compress_mode>\
         <repository><abs_path>{}</abs_path></repository></subversion>",
        missing.display()
    );
    both_fail(
        &b,
        &cb3,
        "subversion",
        &section,
        "executing 'svnlook youngest' for repository",
        &[],
        |_| false,
    );
    assert!(listing(&b.collect(Who::Cb3)).is_empty());
}
