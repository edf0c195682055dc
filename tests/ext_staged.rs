//! The extensions that rework staged days, against cback3's on the same
//! staged input: encrypt (a real gpg with a throwaway GNUPGHOME and a key
//! generated for the test; decrypting gives back the bytes) and split
//! (Cedar's piece names and byte-quantity forms; `cat` of the pieces gives
//! back the file; cback3 runs GNU split on the same files).

mod ext_support;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ext_support::*;
use support::restore::noise;
use support::{tree, Entry};

/// A day already marked (skipped), a day to work on, and what it holds.
const DAY: &str = "2024/01/02";
const DONE_DAY: &str = "2024/01/01";

/// Fills `who`'s staging directory; returns the files of the day to work
/// on, by path relative to the day, with their bytes.
fn stage(b: &Bench, who: Who, indicator: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let staging = b.root().join(who.dir()).join("stage");
    let day = staging.join(DAY);
    std::fs::create_dir_all(day.join("host/sub")).unwrap();
    std::fs::write(day.join("cback.stage"), b"").unwrap();
    std::fs::write(day.join("host/cback.collect"), b"").unwrap();
    for (name, data) in files {
        std::fs::write(day.join(name), data).unwrap();
    }
    std::os::unix::fs::symlink("sub", day.join("host/link")).unwrap();
    let done = staging.join(DONE_DAY).join("host");
    std::fs::create_dir_all(&done).unwrap();
    std::fs::write(done.join("old.tar"), noise(5000, 9)).unwrap();
    std::fs::write(staging.join(DONE_DAY).join(indicator), b"").unwrap();
    staging
}

/// `<stage>` (one local peer, as Cedar requires) followed by `section`.
fn stage_section(b: &Bench, who: Who, section: &str) -> String {
    format!(
        "<stage><staging_dir>{}</staging_dir><peer><name>host</name><type>local</type>\
         <collect_dir>{}</collect_dir></peer></stage>{section}",
        b.root().join(who.dir()).join("stage").display(),
        b.collect(who).display()
    )
}

/// Names and kinds/modes/owners of a tree, without contents or times.
fn shape(t: &BTreeMap<String, Entry>) -> BTreeMap<String, (char, u32, u32, u32)> {
    t.iter()
        .map(|(k, e)| (k.clone(), (e.kind, e.mode, e.uid, e.gid)))
        .collect()
}

/// A tree's shape with a digest of each file's bytes (no times).
fn content(dir: &Path) -> BTreeMap<String, (char, u32, u32, u32, u64, u64)> {
    use std::hash::{Hash, Hasher};
    tree(dir)
        .into_iter()
        .map(|(k, e)| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            e.data.hash(&mut h);
            (
                k,
                (
                    e.kind,
                    e.mode,
                    e.uid,
                    e.gid,
                    e.data.len() as u64,
                    h.finish(),
                ),
            )
        })
        .collect()
}

/// Stages `files` for `who`, writes its config with `<stage>` and
/// `section` for `action` and runs it (successfully); the day marked with
/// the action's indicator must be left alone. Returns the staging directory.
fn run_on_stage(
    b: &Bench,
    cb3: &Path,
    who: Who,
    action: &str,
    section: &str,
    files: &[(&str, Vec<u8>)],
    env: &[(&str, &str)],
) -> PathBuf {
    let (user, group, _) = backup_owner();
    let s = stage(b, who, &format!("cback.{action}"), files);
    let before = content(&s.join(DONE_DAY));
    let conf = b.config(
        who,
        action,
        &stage_section(b, who, section),
        not_today(),
        (&user, &group),
        &[],
    );
    run_ok(who, cb3, &conf, &[action], env);
    let after = content(&s.join(DONE_DAY));
    assert_eq!(after, before, "{who:?}: a marked day is left alone");
    s
}

fn staged_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("host/a.tar.gz", noise(200_000, 1)),
        ("host/empty", Vec::new()),
        ("host/sub/b.tar", noise(3000, 2)),
        ("c.txt", b"top of the day\n".to_vec()),
    ]
}

#[test]
fn encrypt_matches_cback3_and_decrypts_to_the_staged_bytes() {
    let Some(cb3) = cb3() else { return };
    let Some(gpg) = tool("gpg", &[]) else { return };
    let keys = GpgHome::new(&gpg, "Backup User <backup@example.invalid>");
    let b = Bench::new();
    let ids = backup_owner().2;
    let files = staged_files();
    let section = "<encrypt><encrypt_mode>gpg</encrypt_mode>\
                   <encrypt_target>Backup User</encrypt_target></encrypt>";
    let mut staging = BTreeMap::new();
    for who in BOTH {
        let env = [("GNUPGHOME", keys.path())];
        let s = run_on_stage(&b, &cb3, who, "encrypt", section, &files, &env);
        staging.insert(who.dir(), s);
    }
    let theirs = tree(&staging["cb3"].join(DAY));
    let ours = tree(&staging["cedar"].join(DAY));
    assert_eq!(shape(&ours), shape(&theirs), "names, modes and owners");
    let day = staging["cedar"].join(DAY);
    assert!(day.join("cback.encrypt").is_file());
    assert!(day.join("host/cback.collect").is_file());
    assert!(std::fs::symlink_metadata(day.join("host/link")).is_ok());
    for (name, data) in &files {
        assert!(!day.join(name).exists(), "{name} was not removed");
        let encrypted = day.join(format!("{name}.gpg"));
        assert_ne!(&std::fs::read(&encrypted).unwrap(), data);
        assert!(&keys.decrypt(&gpg, &encrypted) == data, "{name}");
        if let Some(owner) = ids {
            let e = &ours[&format!("{name}.gpg")];
            assert_eq!((e.uid, e.gid), owner, "{name}.gpg owner");
        }
        let cb3_copy = staging["cb3"].join(DAY).join(format!("{name}.gpg"));
        assert!(&keys.decrypt(&gpg, &cb3_copy) == data, "cback3's {name}");
    }

    // A second run finds every day marked and changes nothing.
    let conf = b.root().join("cedar.conf");
    let before = content(&day);
    run_ok(
        Who::Cedar,
        &cb3,
        &conf,
        &["encrypt"],
        &[("GNUPGHOME", keys.path())],
    );
    assert_eq!(content(&day), before);
}

#[test]
fn encrypt_fails_like_cback3_for_an_unknown_recipient_and_keeps_the_day() {
    let Some(cb3) = cb3() else { return };
    let Some(gpg) = tool("gpg", &[]) else { return };
    let keys = GpgHome::new(&gpg, "Backup User <backup@example.invalid>");
    let b = Bench::new();
    let (user, group, _) = backup_owner();
    let section = "<encrypt><encrypt_mode>gpg</encrypt_mode>\
                   <encrypt_target>Somebody Else</encrypt_target></encrypt>";
    for who in BOTH {
        let s = stage(&b, who, "cback.encrypt", &staged_files());
        let before = content(&s);
        let conf = b.config(
            who,
            "encrypt",
            &stage_section(&b, who, section),
            not_today(),
            (&user, &group),
            &[],
        );
        let (out, log) = run(
            who,
            &cb3,
            &conf,
            &["encrypt"],
            &[("GNUPGHOME", keys.path())],
        );
        assert!(!out.status.success(), "{who:?} succeeded");
        assert!(
            log.contains("GPG unable to find public key for [Somebody Else]."),
            "{who:?}: {}",
            tail(&log, 10)
        );
        assert_eq!(content(&s), before, "{who:?} changed the staging directory");
    }
}

#[test]
fn encrypt_failing_on_one_file_leaves_the_whole_day_as_it_was() {
    let Some(cb3) = cb3() else { return };
    let Some(gpg) = tool("gpg", &[]) else { return };
    let keys = GpgHome::new(&gpg, "Backup User <backup@example.invalid>");
    let b = Bench::new();
    let (user, group, _) = backup_owner();
    // gpg refuses the third file it is given (after a.tar.gz and c.txt).
    let wrapper = b.path("gpg-wrapper");
    script(
        &wrapper,
        &format!(
            "for last; do :; done\ncase \"$last\" in */b.tar) echo 'gpg: write error' >&2; exit 2;; esac\n\
             exec {} \"$@\"",
            gpg.display()
        ),
    );
    let section = "<encrypt><encrypt_mode>gpg</encrypt_mode>\
                   <encrypt_target>Backup User</encrypt_target></encrypt>";
    let s = stage(&b, Who::Cedar, "cback.encrypt", &staged_files());
    let before = content(&s);
    let conf = b.config(
        Who::Cedar,
        "encrypt",
        &stage_section(&b, Who::Cedar, section),
        not_today(),
        (&user, &group),
        &[("gpg", &wrapper)],
    );
    let (out, log) = run(
        Who::Cedar,
        &cb3,
        &conf,
        &["encrypt"],
        &[("GNUPGHOME", keys.path())],
    );
    assert!(!out.status.success());
    assert!(
        log.contains("calling gpg to encrypt") && log.contains("b.tar"),
        "{}",
        tail(&log, 10)
    );
    assert_eq!(content(&s), before, "the day is as it was");
}

type Tree = BTreeMap<String, Entry>;

/// Both days after split, and the backup user's ids when running as root.
struct Split {
    theirs: Tree,
    ours: Tree,
    ids: Option<(u32, u32)>,
}

/// Runs split on the same staged files with cback3 and cedar; returns both
/// days' trees.
fn split_both(section: &str, files: &[(&str, Vec<u8>)]) -> Option<Split> {
    let cb3 = cb3()?;
    tool("split", &[])?;
    let b = Bench::new();
    let ids = backup_owner().2;
    let mut days = Vec::new();
    for who in BOTH {
        let s = run_on_stage(&b, &cb3, who, "split", section, files, &[]);
        days.push(tree(&s.join(DAY)));
    }
    let ours = days.pop().unwrap();
    let theirs = days.pop().unwrap();
    Some(Split { theirs, ours, ids })
}

/// The pieces `name_00000`... of `name` in `day`, concatenated.
fn joined(day: &BTreeMap<String, Entry>, name: &str) -> (usize, Vec<u8>) {
    let mut data = Vec::new();
    let mut n = 0;
    while let Some(e) = day.get(&format!("{name}_{n:05}")) {
        data.extend(&e.data);
        n += 1;
    }
    (n, data)
}

#[test]
fn split_matches_cback3_names_and_bytes_with_fractional_units() {
    let files = vec![
        ("host/big.tar.gz", noise(3 * 1024 * 1024 + 17, 3)),
        ("host/sub/at-limit", noise(1_310_720, 4)),
        ("host/small", noise(1000, 5)),
        ("exact", noise(629_145 * 3, 6)),
    ];
    let section = "<split><size_limit>1.25 MB</size_limit><split_size>0.6 MB</split_size></split>";
    let Some(Split { theirs, ours, ids }) = split_both(section, &files) else {
        return;
    };
    let names = |t: &BTreeMap<String, Entry>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&ours), names(&theirs));
    for (k, e) in &ours {
        let t = &theirs[k];
        assert!(
            e.kind == t.kind && e.mode == t.mode && e.data == t.data,
            "{k} differs"
        );
        // Every piece is the backup user's (cback3 leaves its last piece
        // root's: it chowns `range(last index)`).
        if let (Some(owner), true) = (ids, k.contains("_0")) {
            assert_eq!((e.uid, e.gid), owner, "{k} owner");
        }
    }
    // 0.6 MB is 629145.6 bytes; Cedar cuts at int() of it.
    let (n, data) = joined(&ours, "host/big.tar.gz");
    assert!((n, &data) == (6, &files[0].1), "pieces joined");
    assert_eq!(ours["host/big.tar.gz_00000"].data.len(), 629_145);
    assert!(!ours.contains_key("host/big.tar.gz"));
    // Exactly 1.25 MB is not over the limit; smaller files stay whole.
    assert!(
        ours["host/sub/at-limit"].data == files[1].1,
        "ours[host/sub/at-limit].data"
    );
    assert!(
        ours["host/small"].data == files[2].1,
        "ours[host/small].data"
    );
    let (n, data) = joined(&ours, "exact");
    assert!((n, &data) == (3, &files[3].1), "pieces joined");
    assert!(ours.contains_key("cback.split"));
}

#[test]
fn split_in_kilobytes_without_a_space() {
    let files = vec![("host/f", noise(1281, 7)), ("host/g", noise(1280, 8))];
    let section = "<split><size_limit>1.25KB</size_limit><split_size>0.6KB</split_size></split>";
    let Some(Split { theirs, ours, .. }) = split_both(section, &files) else {
        return;
    };
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    let (n, data) = joined(&ours, "host/f");
    assert!((n, &data) == (3, &files[0].1), "pieces joined");
    assert_eq!(ours["host/f_00000"].data.len(), 614);
    assert!(ours["host/g"].data == files[1].1, "ours[host/g].data");
    for (k, e) in &ours {
        assert!(e.data == theirs[k].data, "{k} differs");
    }
}
