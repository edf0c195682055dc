//! Conformance of the config layer with Cedar Backup 3 itself.
//!
//! - `cedar_testdata_verdicts`: Cedar's own test configs (cedar-backup3
//!   tests/data, copied to ../shared/cedar-testdata or $CEDAR_TESTDATA) get the
//!   verdicts Cedar's README lists, and extension configs parse to the values
//!   Cedar's tests/test_<extension>.py assert.
//! - `differential_against_cback3`: every fixture and every testdata file is
//!   read by the real CedarBackup3 (scripts/cedar_dump_config.py, run with
//!   $CEDAR_CB3_PYTHON or /tmp/cb3/bin/python) and by cedar; verdicts
//!   (unreadable / parse-error / invalid / valid), parsed values, each
//!   extension's own verdict, and the element named by the first validation
//!   problem must all agree. Skipped with a note when cback3 is missing,
//!   except under CI (env CI set), where that is a failure.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cedar::config::{self, Config, ConfigError};
use serde_json::Value;

const EXTENSIONS: [&str; 8] = [
    "mysql",
    "postgresql",
    "subversion",
    "mbox",
    "encrypt",
    "split",
    "capacity",
    "amazons3",
];

/// Cedar's test data: $CEDAR_TESTDATA, else ../shared/cedar-testdata, else
/// the copy kept in fixtures/config/cedar-testdata (so CI always has it).
fn testdata_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("CEDAR_TESTDATA").map(PathBuf::from),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/cedar-testdata"
        ))),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/config/cedar-testdata"
        ))),
    ];
    let found = candidates.into_iter().flatten().find(|d| d.is_dir());
    assert!(
        found.is_some() || std::env::var_os("CI").is_none(),
        "CI: no Cedar testdata (../shared/cedar-testdata or $CEDAR_TESTDATA)"
    );
    found
}

fn testdata_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read testdata dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".conf."))
        })
        .collect();
    files.sort();
    files
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/config"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures/config exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Config {
    config::parse_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Cedar's README verdicts for the core configs.
#[test]
fn cedar_testdata_verdicts() {
    let Some(dir) = testdata_dir() else {
        eprintln!("note: no cedar testdata (../shared/cedar-testdata or $CEDAR_TESTDATA); skipped");
        return;
    };
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("README.md");
    let mut checked = 0;
    for line in readme.lines() {
        let line = line.trim();
        let Some((file, verdict)) = line.split_once(" parse-ok | ") else {
            continue;
        };
        let config = load(&dir.join(file));
        match (verdict, config.validate()) {
            ("valid", Ok(())) => {}
            ("valid", Err(e)) => panic!("{file}: Cedar says valid, cedar says {e}"),
            (v, Ok(())) => panic!("{file}: Cedar says {v}, cedar says valid"),
            (v, Err(e)) => {
                let first = &e.problems()[0];
                let cedar = v.trim_start_matches("INVALID: ");
                let expected = match cedar {
                    "At least one of the collect, stage, store and purge sections is required." => {
                        "cb_config: at least one of the collect, stage, store and purge sections is required"
                    }
                    "The options is section is required." => "options: the options section is required",
                    other => panic!("README verdict not mapped: {other}"),
                };
                assert!(
                    first.starts_with(expected),
                    "{file}: first problem {first:?}, Cedar: {cedar}"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 23, "README lists cback.conf.1-23");
}

/// Values Cedar's tests/test_<extension>.py assert for the extension configs.
#[test]
fn cedar_testdata_extension_values() {
    use cedar::config::extensions::{ByteUnit, CompressMode};
    use cedar::config::CollectMode;
    let Some(dir) = testdata_dir() else {
        eprintln!("note: no cedar testdata; skipped");
        return;
    };
    let c = |f: &str| load(&dir.join(f));

    // test_mysql.py
    assert!(c("mysql.conf.1").ext.mysql.is_none());
    let m = c("mysql.conf.2").ext.mysql.unwrap();
    assert_eq!(
        (m.user.as_deref(), m.password.as_deref()),
        (Some("user"), Some("password"))
    );
    assert_eq!(
        (m.compress_mode, m.all, m.databases),
        (Some(CompressMode::None), true, None)
    );
    let m = c("mysql.conf.3").ext.mysql.unwrap();
    assert_eq!((m.compress_mode, m.all), (Some(CompressMode::Gzip), false));
    assert_eq!(m.databases.unwrap(), ["database"]);
    let m = c("mysql.conf.4").ext.mysql.unwrap();
    assert_eq!((m.compress_mode, m.all), (Some(CompressMode::Bzip2), false));
    assert_eq!(m.databases.unwrap(), ["database1", "database2"]);
    let m = c("mysql.conf.5").ext.mysql.unwrap();
    assert_eq!((m.user, m.password), (None, None));
    assert_eq!(m.databases.unwrap(), ["database1", "database2"]);
    for f in [
        "mysql.conf.2",
        "mysql.conf.3",
        "mysql.conf.4",
        "mysql.conf.5",
    ] {
        c(f).mysql().unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    assert!(c("mysql.conf.1").mysql().is_err());

    // test_postgresql.py
    assert!(c("postgresql.conf.1").ext.postgresql.is_none());
    let p = c("postgresql.conf.2").ext.postgresql.unwrap();
    assert_eq!(
        (p.user.as_deref(), p.compress_mode, p.all),
        (Some("user"), Some(CompressMode::None), true)
    );
    let p = c("postgresql.conf.3").ext.postgresql.unwrap();
    assert_eq!((p.compress_mode, p.all), (Some(CompressMode::Gzip), false));
    assert_eq!(p.databases.unwrap(), ["database"]);
    let p = c("postgresql.conf.5").ext.postgresql.unwrap();
    assert_eq!((p.user, p.compress_mode), (None, Some(CompressMode::Bzip2)));
    assert_eq!(p.databases.unwrap(), ["database1", "database2"]);

    // test_subversion.py
    assert!(c("subversion.conf.1").ext.subversion.is_none());
    for f in 2..=7 {
        let f = format!("subversion.conf.{f}");
        c(&f).subversion().unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let s = c("subversion.conf.7").ext.subversion.unwrap();
    assert_eq!(
        (s.collect_mode, s.compress_mode),
        (Some(CollectMode::Daily), Some(CompressMode::Gzip))
    );
    let dirs = s.repository_dirs.unwrap();
    assert_eq!(dirs.len(), 4);
    assert_eq!(
        dirs[0].directory_path.as_deref(),
        Some("/opt/public/svn/one")
    );
    assert_eq!(
        (dirs[0].repository_type.as_ref(), dirs[0].collect_mode),
        (None, None)
    );
    assert_eq!(dirs[1].repository_type.as_deref(), Some("BDB"));
    assert_eq!(dirs[1].collect_mode, Some(CollectMode::Weekly));
    assert_eq!(
        dirs[1].relative_exclude_paths.as_deref(),
        Some(&["software".to_string()][..])
    );
    assert_eq!(dirs[2].compress_mode, Some(CompressMode::Bzip2));
    assert_eq!(
        dirs[2].exclude_patterns.as_deref(),
        Some(&[".*software.*".to_string()][..])
    );
    assert_eq!(
        dirs[3].relative_exclude_paths.as_ref().unwrap(),
        &["cedar", "banner"]
    );
    assert_eq!(
        dirs[3].exclude_patterns.as_ref().unwrap(),
        &[".*software.*", ".*database.*"]
    );

    // test_mbox.py
    assert!(c("mbox.conf.1").ext.mbox.is_none());
    for f in 2..=4 {
        let f = format!("mbox.conf.{f}");
        c(&f).mbox().unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let m = c("mbox.conf.4").ext.mbox.unwrap();
    assert_eq!(
        (m.collect_mode, m.compress_mode),
        (Some(CollectMode::Incr), Some(CompressMode::None))
    );
    let files = m.mbox_files.unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(
        files[1].absolute_path.as_deref(),
        Some("/home/joebob/mail/cedar-backup-users")
    );
    assert_eq!(
        (files[1].collect_mode, files[1].compress_mode),
        (Some(CollectMode::Daily), Some(CompressMode::Gzip))
    );
    let dirs = m.mbox_dirs.unwrap();
    assert_eq!(dirs.len(), 4);
    assert_eq!(
        dirs[3].relative_exclude_paths.as_ref().unwrap(),
        &["debian-devel", "debian-python"]
    );
    assert_eq!(
        dirs[3].exclude_patterns.as_ref().unwrap(),
        &[".*SPAM.*", ".*JUNK.*"]
    );

    // test_encrypt.py
    assert!(c("encrypt.conf.1").ext.encrypt.is_none());
    let e = c("encrypt.conf.2").ext.encrypt.unwrap();
    assert_eq!(
        (e.encrypt_mode.as_deref(), e.encrypt_target.as_deref()),
        (Some("gpg"), Some("Backup User"))
    );

    // test_split.py
    assert!(c("split.conf.1").ext.split.is_none());
    let bq = |q: &str, u| {
        Some(config::extensions::ByteQuantity {
            quantity: q.into(),
            units: u,
        })
    };
    let s = c("split.conf.2").ext.split.unwrap();
    assert_eq!(
        (s.size_limit, s.split_size),
        (bq("12345", ByteUnit::Bytes), bq("67890.0", ByteUnit::Bytes))
    );
    let s = c("split.conf.3").ext.split.unwrap();
    assert_eq!(
        (s.size_limit, s.split_size),
        (bq("1.25", ByteUnit::Kbytes), bq("0.6", ByteUnit::Kbytes))
    );
    let s = c("split.conf.4").ext.split.unwrap();
    assert_eq!(
        (s.size_limit, s.split_size),
        (bq("1.25", ByteUnit::Mbytes), bq("0.6", ByteUnit::Mbytes))
    );
    let s = c("split.conf.5").ext.split.unwrap();
    assert_eq!(
        (s.size_limit.clone(), s.split_size),
        (bq("1.25", ByteUnit::Gbytes), bq("0.6", ByteUnit::Gbytes))
    );
    assert_eq!(
        s.size_limit.unwrap().bytes(),
        1.25 * 1024.0 * 1024.0 * 1024.0
    );

    // test_capacity.py
    assert!(c("capacity.conf.1").ext.capacity.is_none());
    let k = c("capacity.conf.2").ext.capacity.unwrap();
    assert_eq!(
        k.max_percentage.as_ref().map(|p| p.percentage()),
        Some(63.2)
    );
    assert!(k.min_bytes.is_none());
    let k = c("capacity.conf.3").ext.capacity.unwrap();
    assert_eq!(
        (k.max_percentage, k.min_bytes),
        (None, bq("18", ByteUnit::Bytes))
    );
    let k = c("capacity.conf.4").ext.capacity.unwrap();
    assert_eq!(k.min_bytes.clone(), bq("1.25", ByteUnit::Kbytes));
    assert_eq!(k.min_bytes.unwrap().bytes(), 1280.0);

    // test_amazons3.py
    assert!(c("amazons3.conf.1").ext.amazons3.is_none());
    let a = c("amazons3.conf.2").ext.amazons3.unwrap();
    assert!(a.warn_midnite);
    assert_eq!(a.s3_bucket.as_deref(), Some("mybucket"));
    assert_eq!(a.encrypt_command.as_deref(), Some("encrypt"));
    assert_eq!(a.full_backup_size_limit, bq("5368709120", ByteUnit::Bytes));
    assert_eq!(
        a.incremental_backup_size_limit,
        bq("2147483648", ByteUnit::Bytes)
    );
    let a = c("amazons3.conf.3").ext.amazons3.unwrap();
    assert_eq!(a.full_backup_size_limit, bq("2.5", ByteUnit::Gbytes));
    assert_eq!(a.incremental_backup_size_limit, bq("600", ByteUnit::Mbytes));
}

fn find_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("CEDAR_CB3_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/cb3/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import CedarBackup3.config"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(candidate);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI: real Cedar Backup 3 not found at {} (set CEDAR_CB3_PYTHON)",
            candidate.display()
        );
    }
    eprintln!(
        "note: real Cedar Backup 3 not found at {}; differential test skipped",
        candidate.display()
    );
    None
}

fn our_verdict(path: &Path) -> (String, Option<Value>, Option<Config>, Vec<String>) {
    match config::parse_file(path) {
        Err(ConfigError::Io { .. }) => ("unreadable".into(), None, None, vec![]),
        Err(e) => ("parse-error".into(), None, None, vec![e.to_string()]),
        Ok(c) => {
            let mut value = serde_json::to_value(&c).expect("serialize");
            if let Some(errs) = value["ext"].get_mut("parse_errors") {
                for v in errs.as_object_mut().expect("map").values_mut() {
                    *v = Value::Bool(true);
                }
            }
            match c.validate() {
                Ok(()) => ("valid".into(), Some(value), Some(c), vec![]),
                Err(e) => ("invalid".into(), Some(value), Some(c), e.problems()),
            }
        }
    }
}

/// A regular expression the start of cedar's first problem must match for
/// Cedar's validation message `msg` (element path, and what is wrong).
fn cedar_message_pattern(msg: &str) -> &'static str {
    const TABLE: &[(&str, &str)] = &[
        (
            "At least one of the collect",
            r"^cb_config: at least one of",
        ),
        (
            "The options is section",
            r"^options: the options section is required",
        ),
        (
            "Each extended action must set a name",
            r"^extensions/action\[\d+\]/name: is required",
        ),
        (
            "Each extended action must set a module",
            r"^extensions/action\[\d+\]/module: is required",
        ),
        (
            "Each extended action must set a function",
            r"^extensions/action\[\d+\]/function: is required",
        ),
        (
            "Each extended action must set an index",
            r"^extensions/action\[\d+\]/index: is required",
        ),
        (
            "Each extended action must set dependency",
            r"^extensions/action\[\d+\]/depends: is required",
        ),
        (
            "Duplicate extension names",
            r"^extensions/action\[\d+\]/name: .* more than one",
        ),
        (
            "Options section starting day",
            r"^options/starting_day: is required",
        ),
        (
            "Options section working directory",
            r"^options/working_dir: is required",
        ),
        (
            "Options section backup user",
            r"^options/backup_user: is required",
        ),
        (
            "Options section backup group",
            r"^options/backup_group: is required",
        ),
        (
            "Options section remote copy command",
            r"^options/rcp_command: is required",
        ),
        (
            "Peer list must contain",
            r"^(peers|stage): at least one peer",
        ),
        (
            "Local peers must set a name",
            r"^(peers|stage)/peer\[\d+\]/name: is required",
        ),
        (
            "Local peers must set a collect",
            r"^(peers|stage)/peer\[\d+\]/collect_dir: is required",
        ),
        (
            "Remote peers must set a name",
            r"^(peers|stage)/peer\[\d+\]/name: is required",
        ),
        (
            "Remote peers must set a collect",
            r"^(peers|stage)/peer\[\d+\]/collect_dir: is required",
        ),
        (
            "Remote user must",
            r"^(peers|stage)/peer\[\d+\]/backup_user: is required",
        ),
        (
            "Remote copy command must",
            r"^(peers|stage)/peer\[\d+\]/rcp_command: is required",
        ),
        (
            "Remote shell command must",
            r"^(peers|stage)/peer\[\d+\]/rsh_command: is required",
        ),
        (
            "Remote cback command must",
            r"^(peers|stage)/peer\[\d+\]/cback_command: is required",
        ),
        (
            "Managed actions list must",
            r"^(peers|stage)/peer\[\d+\]/managed_actions: is required",
        ),
        (
            "Duplicate peer names",
            r"^(peers|stage)/peer\[\d+\]/name: .* more than one peer",
        ),
        (
            "Collect section target directory",
            r"^collect/collect_dir: is required",
        ),
        (
            "Each collect file must set",
            r"^collect/file\[\d+\]/abs_path: is required",
        ),
        (
            "Each collect directory must set",
            r"^collect/dir\[\d+\]/abs_path: is required",
        ),
        (
            "Collect mode must either be set in parent collect section or individual collect file",
            r"^collect/file\[\d+\]/collect_mode: is required",
        ),
        (
            "Archive mode must either be set in parent collect section or individual collect file",
            r"^collect/file\[\d+\]/archive_mode: is required",
        ),
        (
            "Collect mode must either be set in parent collect section or individual collect dir",
            r"^collect/dir\[\d+\]/collect_mode: is required",
        ),
        (
            "Archive mode must either be set in parent collect section or individual collect dir",
            r"^collect/dir\[\d+\]/archive_mode: is required",
        ),
        (
            "Ignore file must",
            r"^collect/dir\[\d+\]/ignore_file: is required",
        ),
        ("Dereference flag", r"^collect/dir\[\d+\]/dereference: "),
        (
            "Stage section target directory",
            r"^stage/staging_dir: is required",
        ),
        (
            "Store section source directory",
            r"^store/source_dir: is required",
        ),
        (
            "Store section media type",
            r"^store/media_type: is required",
        ),
        (
            "Store section device path",
            r"^store/target_device: is required",
        ),
        (
            "Media type must match",
            r"^store/media_type: .* does not match device type",
        ),
        ("If blanking behavior", r"^store/blank_behavior: "),
        (
            "Each purge directory must set an absolute",
            r"^purge/dir\[\d+\]/abs_path: is required",
        ),
        (
            "Each purge directory must set a retain",
            r"^purge/dir\[\d+\]/retain_days: is required",
        ),
    ];
    TABLE
        .iter()
        .find(|(prefix, _)| msg.starts_with(prefix))
        .map(|(_, pattern)| *pattern)
        .unwrap_or_else(|| panic!("Cedar validation message not mapped: {msg}"))
}

/// Compares cedar's reading of `file` with Cedar's (`theirs`, one line of
/// cedar_dump_config.py): verdict, parsed values, the element named by the
/// first validation problem, and each extension's own verdict.
fn compare_with_cedar(name: &str, file: &Path, theirs: &Value) -> Vec<String> {
    let mut mismatches = Vec::new();
    let (verdict, value, config, problems) = our_verdict(file);
    let their_verdict = theirs["verdict"].as_str().unwrap();
    if verdict != their_verdict {
        mismatches.push(format!(
            "{name}: verdict cedar={verdict} {problems:?} / Cedar={their_verdict} {}",
            theirs["message"]
        ));
        return mismatches;
    }
    if let Some(value) = value {
        if value != theirs["config"] {
            mismatches.push(format!(
                "{name}: values differ\n  cedar: {value}\n  Cedar: {}",
                theirs["config"]
            ));
        }
    }
    if verdict == "invalid" {
        let msg = theirs["message"].as_str().unwrap();
        let pattern = regex::Regex::new(cedar_message_pattern(msg)).unwrap();
        if !pattern.is_match(&problems[0]) {
            mismatches.push(format!(
                "{name}: first problem {:?} but Cedar says {msg:?}",
                problems[0]
            ));
        }
    }
    if let Some(c) = config {
        for ext in EXTENSIONS {
            let ours = match c.validate_extension(ext) {
                Ok(()) => "valid",
                Err(_) if c.ext.parse_errors.contains_key(ext) => "parse-error",
                Err(_) => "invalid",
            };
            let theirs = theirs["ext_verdicts"][ext].as_str().unwrap_or("?");
            if ours != theirs {
                mismatches.push(format!(
                    "{name}: extension {ext}: cedar={ours} Cedar={theirs}"
                ));
            }
        }
    }
    mismatches
}

/// Runs scripts/cedar_dump_config.py over `files`: one JSON object each.
fn cedar_dump(python: &Path, files: &[PathBuf]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/cedar_dump_config.py");
    let out = Command::new(python)
        .arg(script)
        .args(files)
        .env("PYTHONUTF8", "1")
        .output()
        .expect("run cedar_dump_config.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(list.len(), files.len());
    list
}

#[test]
fn differential_against_cback3() {
    let Some(python) = find_python() else { return };
    let mut files = fixture_files();
    if let Some(dir) = testdata_dir() {
        files.extend(testdata_files(&dir));
    } else {
        eprintln!("note: no cedar testdata; comparing fixtures only");
    }
    files.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/config/does-not-exist"
    )));
    let cedar: BTreeMap<String, Value> = cedar_dump(&python, &files)
        .into_iter()
        .map(|v| (v["file"].as_str().expect("file").to_string(), v))
        .collect();
    // Intentional cedar additions, where Cedar answers differently.
    let expected = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/config/EXPECTED"
    ))
    .expect("fixtures/config/EXPECTED");
    let divergent: Vec<&str> = expected
        .lines()
        .filter(|l| !l.starts_with('#') && l.split_whitespace().any(|t| t == "divergent"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();

    let mut mismatches = Vec::new();
    let mut compared = 0;
    for file in &files {
        let key = file.to_string_lossy().to_string();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let theirs = &cedar[&key];
        if divergent.contains(&name.as_str()) {
            let (verdict, ..) = our_verdict(file);
            assert_ne!(
                verdict, theirs["verdict"],
                "{name} is marked divergent but agrees with Cedar"
            );
            continue;
        }
        compared += 1;
        mismatches.extend(compare_with_cedar(&name, file, theirs));
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} files disagree with Cedar Backup 3:\n{}",
        mismatches.len(),
        files.len(),
        mismatches.join("\n")
    );
    assert!(compared > 200, "only {compared} files compared");
    eprintln!(
        "{compared} files agree with Cedar Backup 3 ({} intentional differences)",
        divergent.len()
    );
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Exclude patterns (fixtures/config/patterns.txt, one per line): Cedar
/// rejects at parse time exactly those Python's `re` cannot compile; cedar
/// must too. Patterns Python compiles but cedar cannot apply must parse and
/// then fail validation (a cedar addition), never be silently accepted.
#[test]
fn exclude_patterns_against_python_re() {
    let Some(python) = find_python() else { return };
    let list = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/config/patterns.txt"
    ))
    .expect("patterns.txt");
    // The curated list, then deterministic random ones built from pieces of
    // Python syntax.
    let pieces = [
        "a", "b", "A", "(", ")", "[", "]", "{", "}", "|", "*", "+", "?", ".", "^", "$", "\\", "-",
        ",", ":", "0", "1", "7", "9", r"\d", r"\w", r"\s", r"\W", r"\b", r"\B", r"\A", r"\Z",
        r"\n", r"\\", r"\.", r"\-", r"\]", "[a-z]", "[^a]", "{1,2}", "{2,}", "{,1}", "{3}", "*?",
        "+?", "??", "(?i)", "(?s)", "(?i:", "(?-i:", "(?P<g>", "(?P=g)", "(?:", r"\1", r"\01",
        r"\101", r"\x41", r"\u0062", "é", "[[]", "[]]", r"[\d-]", "(?#x)", "(?x)", "#", " ",
    ];
    let mut rng = Lcg(0xface);
    let mut generated = String::new();
    for _ in 0..2500 {
        let n = 1 + rng.next(7);
        let p: String = (0..n).map(|_| pieces[rng.next(pieces.len())]).collect();
        if p.trim() == p && !p.is_empty() {
            generated.push_str(&p);
            generated.push('\n');
        }
    }
    let list = format!("{list}{generated}");
    let patterns: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();
    let script = "import re,sys,warnings\nwarnings.simplefilter('ignore')\nfor l in sys.stdin.read().split('\\n'):\n    if not l: continue\n    try:\n        re.compile(l); print('ok')\n    except Exception:\n        print('error')\n";
    let out = support::run_python(&python, script, &list);
    let verdicts: Vec<String> = out.lines().map(str::to_string).collect();
    assert_eq!(verdicts.len(), patterns.len());
    let mut mismatches = Vec::new();
    for (pattern, python_says) in patterns.iter().zip(&verdicts) {
        let doc = format!(
            "<cb_config><options><starting_day>monday</starting_day><working_dir>/w</working_dir>\
             <backup_user>b</backup_user><backup_group>b</backup_group><rcp_command>scp</rcp_command></options>\
             <collect><collect_dir>/c</collect_dir><collect_mode>daily</collect_mode><archive_mode>tar</archive_mode>\
             <ignore_file>.i</ignore_file><exclude><pattern>{}</pattern></exclude></collect></cb_config>",
            xml_escape(pattern)
        );
        let ours = match config::parse_str(&doc, "pattern") {
            Err(_) => "error",
            Ok(c) => match (
                c.validate(),
                config::pattern::compile_exclude_pattern(pattern),
            ) {
                (Ok(()), Ok(_)) => "ok",
                (Err(_), Err(_)) => "ok (cedar cannot apply it: invalid)",
                (v, p) => panic!("{pattern}: validate {v:?} disagrees with compile {p:?}"),
            },
        };
        if !ours.starts_with(python_says.as_str()) {
            mismatches.push(format!("{pattern:?}: Python {python_says}, cedar {ours}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "exclude patterns judged differently:\n{}",
        mismatches.join("\n")
    );

    // Patterns both accept must match the same strings (Python's fullmatch is
    // the pattern anchored at both ends). No empty sample: paths never are,
    // and Python's \B never matches in an empty text.
    let samples = [
        "a",
        "ab",
        "abc",
        "ABC",
        "aaaaa",
        "a{1",
        "{",
        "b",
        "x",
        "xy",
        "A",
        "é",
        "éé",
        "𝔘nicode",
        "/var/log/messages",
        "/home/joe/.mozilla/firefox/x/Cache",
        "/tmp/a.swp",
        "/tmp/a.swo",
        "notes~",
        "photo.jpg",
        "photo.JPG",
        "/var/spool/cups/tmp",
        ":",
        ":]",
        "[",
        "]",
        "-",
        "&",
        "a&b",
        "a\u{7}",
        "\u{0}",
        "—",
        "aa",
        "a a",
        " ",
        "#",
    ];
    let usable: Vec<&str> = patterns
        .iter()
        .zip(&verdicts)
        .filter(|(p, v)| *v == "ok" && config::pattern::compile_exclude_pattern(p).is_ok())
        .map(|(p, _)| *p)
        .collect();
    let script = "import re,sys,json\nd=json.load(sys.stdin)\nprint(json.dumps([[bool(re.fullmatch(p,s)) for s in d['s']] for p in d['p']]))\n";
    let input = serde_json::json!({"p": usable, "s": &samples[..]}).to_string();
    let out = support::run_python(&python, script, &input);
    let python_matches: Vec<Vec<bool>> = serde_json::from_str(&out).expect("json");
    let mut differ = Vec::new();
    for (pattern, theirs) in usable.iter().zip(&python_matches) {
        let re = config::pattern::compile_exclude_pattern(pattern).unwrap();
        for (sample, want) in samples.iter().zip(theirs) {
            if re.is_match(sample) != *want {
                differ.push(format!("{pattern:?} on {sample:?}: Python {want}"));
            }
        }
    }
    assert!(usable.len() > 80, "only {} usable patterns", usable.len());
    assert!(
        differ.is_empty(),
        "patterns match differently:\n{}",
        differ.join("\n")
    );
}

/// A tiny deterministic generator (no randomness between runs).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Mutants of the full fixtures (a leaf's text replaced, a leaf or a block
/// removed, a leaf doubled), read by Cedar and by cedar: same verdict, same
/// values, same first problem.
#[test]
fn mutated_configs_against_cback3() {
    let Some(python) = find_python() else { return };
    let bases = [
        "valid-full.conf",
        "ext-subversion-valid.conf",
        "ext-mbox-valid.conf",
        "ext-amazons3-valid.conf",
    ];
    let values = [
        "",
        " ",
        "0",
        "1",
        "-1",
        "+2",
        " 3 ",
        "1_0",
        "1.5",
        "abc",
        "/abs/path",
        "rel/path",
        " /lead",
        "Y",
        "y",
        "N",
        "n",
        "yes",
        "daily",
        "weekly",
        "incr",
        "none",
        "gzip",
        "tar",
        "targz",
        "dvd+r",
        "cdr-80",
        "dvdwriter",
        "monday",
        "Sunday",
        "index",
        "dependency",
        "collect",
        "collect, stage",
        "Bad-Name",
        "a,,b",
        "0,0,0",
        "1 GB",
        "0.5KB",
        "12 TB",
        "-3 MB",
        "50",
        "101",
        "gpg",
        ".*\\.tmp",
        "(",
        "(?=x)",
        "1e3",
        "nan",
        "local",
        "remote",
        "&amp;",
        "x&lt;y",
    ];
    let leaf = regex::Regex::new(r"<([a-z_]+)>([^<]*)</([a-z_]+)>").unwrap();
    let block = regex::Regex::new(r"(?s)\n *<(peer|dir|file|action|override|pre_action_hook|post_action_hook|repository|repository_dir|blank_behavior|exclude|depends)>.*?</([a-z_]+)>").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Lcg(0x5eed);
    let mut files = Vec::new();
    for base in bases {
        let text = std::fs::read_to_string(
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/config")).join(base),
        )
        .unwrap();
        let blocks: Vec<_> = block
            .captures_iter(&text)
            .filter(|c| c[1] == c[2])
            .map(|c| c.get(0).unwrap().range())
            .collect();
        for i in 0..300 {
            let mut t = text.clone();
            for _ in 0..1 + rng.next(2) {
                let leaves: Vec<_> = leaf
                    .captures_iter(&t)
                    .filter(|c| c[1] == c[3])
                    .map(|c| (c.get(0).unwrap().range(), c[1].to_string()))
                    .collect();
                if leaves.is_empty() {
                    break;
                }
                let (range, name) = leaves[rng.next(leaves.len())].clone();
                t = match rng.next(8) {
                    0 => format!("{}{}", &t[..range.start], &t[range.end..]),
                    1 => format!(
                        "{}{}{}",
                        &t[..range.end],
                        &t[range.clone()],
                        &t[range.end..]
                    ),
                    2 if !blocks.is_empty() => {
                        let b = blocks[rng.next(blocks.len())].clone();
                        if b.end <= t.len()
                            && t.is_char_boundary(b.start)
                            && t.is_char_boundary(b.end)
                        {
                            format!("{}{}", &t[..b.start], &t[b.end..])
                        } else {
                            t
                        }
                    }
                    _ => {
                        let v = values[rng.next(values.len())];
                        format!(
                            "{}<{name}>{v}</{name}>{}",
                            &t[..range.start],
                            &t[range.end..]
                        )
                    }
                };
            }
            let path = tmp.path().join(format!("{base}.{i}"));
            std::fs::write(&path, t).unwrap();
            files.push(path);
        }
    }
    let mut mismatches = Vec::new();
    let mut verdicts = BTreeMap::new();
    for (theirs, file) in cedar_dump(&python, &files).iter().zip(&files) {
        let their_verdict = theirs["verdict"].as_str().unwrap().to_string();
        *verdicts.entry(their_verdict).or_insert(0) += 1;
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        mismatches.extend(compare_with_cedar(&name, file, theirs));
    }
    if !mismatches.is_empty() {
        let keep = std::env::temp_dir().join("cedar-config-mutants");
        let _ = std::fs::remove_dir_all(&keep);
        std::fs::create_dir_all(&keep).unwrap();
        for f in &files {
            std::fs::copy(f, keep.join(f.file_name().unwrap())).unwrap();
        }
        panic!(
            "{} of {} mutants disagree (kept in {}):\n{}",
            mismatches.len(),
            files.len(),
            keep.display(),
            mismatches.join("\n")
        );
    }
    // The mutants must exercise every verdict.
    assert!(verdicts.len() >= 3, "{verdicts:?}");
    eprintln!(
        "{} mutants agree with Cedar Backup 3: {verdicts:?}",
        files.len()
    );
}
