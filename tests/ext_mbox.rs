//! The mbox extension against cback3's (which runs grepmail): mailbox
//! files and a directory of them (with a gzipped mailbox, exclusions and
//! a subdirectory), collect modes daily, weekly and incr, compress modes
//! none, gzip and bzip2. A full run, then an incremental one from the same
//! last-run time (a state file Python itself pickled), write the same
//! files (names, modes, owners as root) with the same messages, the tar
//! members read back by GNU tar; cback3's Python reads cedar's state
//! files. The mailboxes hold what trips readers up (see the generator).

mod ext_support;

use std::path::Path;
use std::process::Command;

use ext_support::*;

/// The tricky mailbox of the reader's unit tests, rebuilt here: messages
/// with `From ` lines in bodies, folded headers, bad dates and zones.
fn mailbox(tag: &str) -> String {
    let mut m = String::from("prologue text\n\n");
    let msgs: &[(&str, &str, &str)] = &[
        (
            "a@x Tue Dec  1 08:00:00 2026",
            "Date: Tue, 1 Dec 2026 08:00:00 +0000\nMessage-Id: <1@x>",
            "From here on.\n>From escaped",
        ),
        (
            "b@x Tue Dec  1 09:30:00 2026",
            "Date: Tue,\n 1 Dec 2026\n\t09:30:00 -0500 (EST)\nSubject: folded\n  subject",
            "x\n\nFrom the desk (no time)",
        ),
        (
            "c@x Mon Nov 30 23:59:59 2026",
            "Received: from mx;\n Tue, 1 Dec 2026 10:00:00 +1300\nDate: garbage",
            "y",
        ),
        (
            "d@x Tue Dec  1 12:00:01 2026",
            "Date: nonsense",
            "z\n\n-----Original Message-----\n\nFrom e@x Tue Dec  1 12:00:00 2026\nquoted",
        ),
        (
            "f@x Tue Dec  1 13:00:00 2026",
            "Date: Tue, 31 Feb 2026 13:00:00 +0000",
            "impossible date",
        ),
        (
            "a@x Tue Dec  1 08:00:00 2026",
            "Date: Tue, 1 Dec 2026 08:00:00 +0000\nMessage-Id: <1@x>",
            "duplicate",
        ),
        (
            "g@x Tue Dec  1 14:00:00 2026",
            "Date: Tue, 1 Dec 2026 14:00:00 PST",
            "no id",
        ),
        (
            "h@x Tue Dec  1 15:00:00 2026",
            "Date: Tue, 1 Dec 2026 15:00:00 -1200\nContent-Type: multipart/mixed;\n boundary=\"B\"",
            "--B\n\npart\n\nFrom i@x Tue Dec  1 15:00:00 2026\n--B--\n",
        ),
        (
            "j@x Tue Dec  1 17:00:00",
            "MIME-Version: 1.0\nDate: Tue, 1 Dec 2026 17:00:00 EDT",
            "no year",
        ),
        (
            "k@x Wed Dec  2 00:00:00 2026",
            "Date: Wed, 2 Dec 2026 00:00:00 +0000",
            "tomorrow",
        ),
    ];
    for (from, headers, body) in msgs {
        m.push_str(&format!(
            "From {from}\n{headers}\nSubject: {tag}\n\n{body}\n\n"
        ));
    }
    m
}

fn tar_members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let data = decompressed(path);
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("a.tar");
    std::fs::write(&plain, data).unwrap();
    let list = Command::new("tar").arg("-tf").arg(&plain).output().unwrap();
    assert!(list.status.success());
    let mut names: Vec<String> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let out = Command::new("tar")
                .arg("-xOf")
                .arg(&plain)
                .arg(&n)
                .output()
                .unwrap();
            assert!(out.status.success());
            (n, out.stdout)
        })
        .collect()
}

/// Python's pickle of `datetime.datetime(2026, 12, 1, 12, 0, 0)`.
fn python_pickle(python: &Path, to: &Path) {
    let out = Command::new(python)
        .arg("-c")
        .arg(
            "import pickle, datetime, sys\n\
             with open(sys.argv[1], 'wb') as f:\n    \
             pickle.dump(datetime.datetime(2026, 12, 1, 12, 0, 0), f, 0)",
        )
        .arg(to)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn python_load(python: &Path, from: &Path) -> String {
    let out = Command::new(python)
        .arg("-c")
        .arg("import pickle, sys\nprint(repr(pickle.load(open(sys.argv[1], 'rb'))))")
        .arg(from)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn python() -> std::path::PathBuf {
    std::env::var_os("CEDAR_CB3_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| "/tmp/cb3/bin/python".into())
}

#[test]
fn full_then_incremental_runs_match_cback3_and_grepmail() {
    let Some(cb3) = cb3() else { return };
    if tool("grepmail", &[]).is_none() {
        return;
    }
    let b = Bench::new();
    let mail = b.path("mail");
    let dir = mail.join("folders");
    std::fs::create_dir_all(dir.join("subdir")).unwrap();
    std::fs::write(mail.join("inbox"), mailbox("inbox")).unwrap();
    std::fs::write(mail.join("lists"), mailbox("lists")).unwrap();
    std::fs::write(mail.join("weekly"), mailbox("weekly")).unwrap();
    std::fs::write(dir.join("work"), mailbox("work")).unwrap();
    std::fs::write(dir.join("crlf"), mailbox("crlf").replace('\n', "\r\n")).unwrap();
    let gz = Command::new("gzip")
        .arg("-c")
        .arg(mail.join("inbox"))
        .output()
        .unwrap();
    std::fs::write(dir.join("old.gz"), gz.stdout).unwrap();
    std::fs::write(dir.join("skip-me"), mailbox("skip")).unwrap();
    std::fs::write(dir.join("spam.tmp"), mailbox("spam")).unwrap();
    std::fs::write(dir.join("notes"), "not mail\n").unwrap();
    std::fs::write(dir.join("subdir/deep"), mailbox("deep")).unwrap();
    let section = format!(
        r#"<mbox>
  <collect_mode>incr</collect_mode>
  <compress_mode>none</compress_mode>
  <file><abs_path>{m}/inbox</abs_path></file>
  <file><abs_path>{m}/lists</abs_path><collect_mode>daily</collect_mode><compress_mode>gzip</compress_mode></file>
  <file><abs_path>{m}/weekly</abs_path><collect_mode>weekly</collect_mode></file>
  <dir><abs_path>{d}</abs_path><compress_mode>bzip2</compress_mode>
   <exclude><rel_path>skip-me</rel_path><pattern>.*\.tmp</pattern></exclude></dir>
</mbox>"#,
        m = mail.display(),
        d = dir.display()
    );
    let (user, group, ids) = backup_owner();
    let env = [("TZ", "America/New_York")];
    let confs: Vec<_> = BOTH
        .iter()
        .map(|&who| b.config(who, "mbox", &section, not_today(), (&user, &group), &[]))
        .collect();
    let compare = |round: &str| {
        let theirs = listing(&b.collect(Who::Cb3));
        let ours = listing(&b.collect(Who::Cedar));
        assert_eq!(ours, theirs, "{round}: names, modes and owners");
        for name in ours.keys() {
            let (c, a) = (
                b.collect(Who::Cedar).join(name),
                b.collect(Who::Cb3).join(name),
            );
            if name.contains(".tar") {
                assert_eq!(tar_members(&c), tar_members(&a), "{round}: {name}");
            } else {
                assert_eq!(
                    String::from_utf8_lossy(&decompressed(&c)),
                    String::from_utf8_lossy(&decompressed(&a)),
                    "{round}: {name}"
                );
            }
        }
        ours
    };
    for (i, who) in BOTH.into_iter().enumerate() {
        run_ok(who, &cb3, &confs[i], &["--full", "mbox"], &env);
    }
    let full = compare("full");
    assert_eq!(full.len(), 4, "{full:?}");
    let tar = full
        .keys()
        .find(|n| n.ends_with(".tar.bz2"))
        .unwrap()
        .clone();
    let members = tar_members(&b.collect(Who::Cedar).join(&tar));
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["crlf", "notes", "old.gz", "work"]);
    if let Some((uid, gid)) = ids {
        // As Cedar: the directory's archive is the backup user's; a single
        // mailbox's dump stays the running user's.
        assert_eq!((full[&tar].1, full[&tar].2), (uid, gid));
    }

    // An incremental run from the same last run, 2026-12-01 12:00 local.
    for who in BOTH {
        for entry in std::fs::read_dir(b.work(who)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "mboxlast") {
                python_pickle(&python(), &path);
            }
        }
        for f in std::fs::read_dir(b.collect(who)).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
    }
    for (i, who) in BOTH.into_iter().enumerate() {
        run_ok(who, &cb3, &confs[i], &["mbox"], &env);
    }
    let incr = compare("incremental");
    assert_eq!(incr.len(), 3, "the weekly one waits: {incr:?}");
    let inbox = incr.keys().find(|n| n.ends_with("-inbox")).unwrap();
    let text = String::from_utf8(decompressed(&b.collect(Who::Cedar).join(inbox))).unwrap();
    let full_text = mailbox("inbox");
    assert!(!text.is_empty() && text.len() < full_text.len(), "{text}");
    assert!(
        !text.contains("a@x Tue Dec  1 08:00:00"),
        "08:00 is before the bound"
    );

    // cedar's state files are Python pickles of this run's time.
    let states: Vec<_> = std::fs::read_dir(b.work(Who::Cedar))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mboxlast"))
        .collect();
    assert_eq!(states.len(), 2, "inbox and the directory are incr");
    for s in &states {
        let shown = python_load(&python(), s);
        assert!(shown.starts_with("datetime.datetime("), "{shown}");
        assert!(!shown.contains("(2026, 12, 1, 12, 0)"), "{shown}");
    }
}

#[test]
fn an_empty_mailbox_directory_fails_like_cback3() {
    let Some(cb3) = cb3() else { return };
    if tool("grepmail", &[]).is_none() {
        return;
    }
    let b = Bench::new();
    let dir = b.path("empty-folders");
    std::fs::create_dir_all(&dir).unwrap();
    let section = format!(
        "<mbox><collect_mode>daily</collect_mode><compress_mode>gzip</compress_mode>\
         <dir><abs_path>{}</abs_path></dir></mbox>",
        dir.display()
    );
    both_fail(
        &b,
        &cb3,
        "mbox",
        &section,
        "Empty list cannot be used to generate tarfile.",
        &[],
        |_| false,
    );
}
