//! Every fixture in fixtures/config gets the verdict and the element path
//! listed in fixtures/config/EXPECTED; plus value checks on the full fixture,
//! the lead's fixtures/example.conf, and the error shapes (line numbers,
//! unreadable files).

use std::path::{Path, PathBuf};

use cedar::config::{self, extensions::ByteUnit, *};

fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/config"))
}

fn load(name: &str) -> Config {
    let path = dir().join(name);
    config::parse_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Each problem ends with the line it was found on.
fn assert_has_line(name: &str, problem: &str) {
    let ok = problem.contains("malformed XML at line ")
        || problem
            .rsplit_once("(line ")
            .is_some_and(|(_, n)| n.trim_end_matches(')').parse::<usize>().is_ok());
    assert!(ok, "{name}: no line number in {problem:?}");
}

fn check_ext(name: &str, c: &Config, token: &str) -> Result<(), String> {
    let spec = token.strip_prefix("ext:").unwrap();
    let (ext, rest) = spec.split_once('=').unwrap();
    let (want, path) = rest
        .split_once(':')
        .map_or((rest, None), |(v, p)| (v, Some(p)));
    let got = c.validate_extension(ext);
    let verdict = match &got {
        Ok(()) => "valid",
        Err(_) if c.ext.parse_errors.contains_key(ext) => "parse",
        Err(_) => "invalid",
    };
    if verdict != want {
        return Err(format!(
            "{name}: extension {ext}: expected {want}, got {verdict} {got:?}"
        ));
    }
    if let (Err(e), Some(path)) = (&got, path) {
        let first = &e.problems()[0];
        assert_has_line(name, first);
        let ok = if want == "parse" {
            first.contains(path)
        } else {
            first.starts_with(path)
        };
        if !ok {
            return Err(format!(
                "{name}: extension {ext}: {first:?} does not name {path}"
            ));
        }
    }
    Ok(())
}

fn check(name: &str, tokens: &[&str]) -> Result<(), String> {
    let (verdict, rest) = tokens.split_first().expect("verdict");
    let paths: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|t| !t.starts_with("ext:") && *t != "divergent")
        .collect();
    let exts: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|t| t.starts_with("ext:"))
        .collect();
    let file = dir().join(name);
    let parsed = config::parse_file(&file);
    match (*verdict, parsed) {
        ("parse", Ok(_)) => Err(format!("{name}: expected a parse error, it parsed")),
        ("parse", Err(ConfigError::Parse(msg))) => {
            assert_has_line(name, &msg);
            assert!(
                !msg.contains(&file.display().to_string()),
                "{name}: callers name the file: {msg}"
            );
            assert!(
                !msg.contains('\n'),
                "{name}: parse errors are one line: {msg:?}"
            );
            match paths.iter().find(|p| !msg.contains(**p)) {
                Some(p) => Err(format!("{name}: {msg:?} does not name {p}")),
                None => Ok(()),
            }
        }
        (_, Err(e)) => Err(format!("{name}: expected {verdict}, got {e}")),
        (v, Ok(c)) => {
            let result = c.validate();
            match (v, &result) {
                ("valid", Ok(())) => {}
                ("valid", Err(e)) => return Err(format!("{name}: expected valid, got:\n{e}")),
                ("invalid", Ok(())) => {
                    return Err(format!("{name}: expected invalid, it validated"))
                }
                ("invalid", Err(e)) => {
                    let problems = e.problems();
                    assert_eq!(e.to_string(), problems.join("\n"));
                    for p in &problems {
                        assert_has_line(name, p);
                    }
                    if !problems[0].starts_with(paths[0]) {
                        return Err(format!(
                            "{name}: first problem {:?}, expected {}",
                            problems[0], paths[0]
                        ));
                    }
                    let mut next = 1;
                    for want in &paths[1..] {
                        match problems[next..].iter().position(|p| p.starts_with(want)) {
                            Some(i) => next += i + 1,
                            None => {
                                return Err(format!(
                                    "{name}: no later problem for {want} in {problems:?}"
                                ))
                            }
                        }
                    }
                }
                (other, _) => panic!("EXPECTED: unknown verdict {other}"),
            }
            for t in exts {
                check_ext(name, &c, t)?;
            }
            Ok(())
        }
    }
}

#[test]
fn every_fixture_gets_its_expected_verdict() {
    let expected = std::fs::read_to_string(dir().join("EXPECTED")).expect("EXPECTED");
    let mut listed = Vec::new();
    let mut failures = Vec::new();
    for line in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        listed.push(tokens[0].to_string());
        if let Err(e) = check(tokens[0], &tokens[1..]) {
            failures.push(e);
        }
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".conf"))
        .collect();
    on_disk.sort();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "every fixture is listed in EXPECTED exactly once"
    );
    assert!(
        failures.is_empty(),
        "{} fixtures fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(listed.len() > 150);
}

#[test]
fn full_fixture_values() {
    let c = load("valid-full.conf");
    let r = c.reference.as_ref().unwrap();
    assert_eq!(r.description.as_deref(), Some("Full example & all fields"));
    let e = c.extensions.as_ref().unwrap();
    assert_eq!(e.order_mode, Some(OrderMode::Index));
    assert_eq!(e.actions.len(), 2);
    assert_eq!(e.actions[0].index, Some(99));
    assert_eq!(
        e.actions[1].module.as_deref(),
        Some("CedarBackup3.extend.sysinfo")
    );

    let o = c.options.as_ref().unwrap();
    assert_eq!(o.starting_day, Some(Weekday::Tuesday));
    assert_eq!(
        o.managed_actions.as_deref(),
        Some(&["collect".to_string(), "purge".to_string()][..])
    );
    assert_eq!(o.overrides_map()["mkisofs"], "/opt/local/bin/mkisofs");
    // Cedar lists every pre hook before every post hook.
    let kinds: Vec<HookKind> = o.hooks.iter().map(|h| h.kind).collect();
    assert_eq!(kinds, [HookKind::Pre, HookKind::Post]);
    let st = c.check().expect("valid");
    let pre: Vec<_> = st
        .options
        .hooks_for(&cedar::action::Action::Collect, HookKind::Pre)
        .collect();
    assert_eq!(pre[0].command, "echo \"starting collect\"");

    let p = c.peers.as_ref().unwrap();
    assert_eq!(
        p.local_peers.as_ref().unwrap().len(),
        1,
        "the fax peer is ignored"
    );
    let remote = p.remote_peers.as_ref().unwrap();
    assert_eq!(remote.len(), 2);
    assert_eq!(remote[0].ignore_failure_mode, Some(IgnoreFailureMode::All));
    assert!(!remote[0].managed && remote[1].managed);
    assert_eq!(st.managed_peers.len(), 1);
    let managed = &st.managed_peers[0];
    assert_eq!(managed.remote_user, "backup");
    assert_eq!(managed.rcp_command, "/usr/bin/scp -B");
    assert_eq!(managed.rsh_command, "/usr/bin/ssh -p 2222");
    assert_eq!(managed.managed_actions, ["collect", "stage", "purge"]);
    // <stage> lists no peers, so stage uses <peers>.
    let stage = st.stage.as_ref().unwrap();
    assert_eq!(stage.local_peers.len(), 1);
    assert_eq!(stage.remote_peers.len(), 2);
    let plan = st.collect.as_ref().unwrap();

    let k = c.collect.as_ref().unwrap();
    let files = k.collect_files.as_ref().unwrap();
    assert_eq!(plan.files[0].collect_mode, CollectMode::Daily);
    assert_eq!(plan.files[1].archive_mode, ArchiveMode::Tarbz2);
    assert_eq!(
        files[2].collect_mode,
        Some(CollectMode::Incr),
        "legacy <mode> wins"
    );
    let dirs = k.collect_dirs.as_ref().unwrap();
    assert_eq!(plan.dirs[0].ignore_file, ".ignore");
    assert_eq!(plan.dirs[1].ignore_file, ".cbignore");
    assert_eq!(
        (
            dirs[1].link_depth,
            dirs[1].dereference,
            dirs[1].recursion_level
        ),
        (Some(2), true, Some(-1))
    );
    let (paths, patterns) = dirs[1].exclusions(k);
    assert_eq!(
        paths,
        [
            "/etc/cback3.conf",
            "/etc/X11",
            "/opt/share",
            "/opt/large",
            "/opt/backup"
        ]
    );
    assert_eq!(patterns, [".*tmp.*", ".*\\.doc"]);
    assert_eq!(plan.dirs[1].exclude_paths, paths);
    assert_eq!(plan.dirs[1].exclude_patterns.len(), 2);
    assert!(plan.dirs[1].exclude_patterns[1].is_match("/x/a.doc"));
    assert_eq!(plan.dirs[2].link_depth, 0);
    assert!(!dirs[2].dereference);

    let s = c.store.as_ref().unwrap();
    assert_eq!(s.media_type, Some(MediaType::DvdPlusRw));
    assert!(
        s.media_type.unwrap().is_rewritable()
            && s.media_type.unwrap().family() == mmc::profile::Family::Dvd
    );
    assert_eq!(
        st.store.as_ref().unwrap().device_type,
        DeviceType::Dvdwriter
    );
    assert_eq!(s.device_scsi_id.as_deref(), Some("ATA:1,0,0"));
    assert_eq!(s.drive_speed, Some(4));
    assert!(s.check_data && s.check_media && !s.warn_midnite && !s.no_eject);
    let b = s.blank_behavior.as_ref().unwrap();
    assert_eq!(
        (b.blank_mode.as_deref(), b.blank_factor.as_deref()),
        (Some("weekly"), Some("1.3"))
    );
    assert_eq!(
        (s.refresh_media_delay, s.eject_delay),
        (Some(12), None),
        "a delay of 0 is no delay"
    );

    let pu = c.purge.as_ref().unwrap().purge_dirs.as_ref().unwrap();
    assert_eq!(pu[1].retain_days, Some(0));
    c.validate().expect("valid");
}

#[test]
fn reading_rules() {
    let o = load("valid-empty-element-skipped.conf").options.unwrap();
    assert_eq!(o.working_dir.as_deref(), Some("/second"));
    let o = load("valid-comment-splits-text.conf").options.unwrap();
    assert_eq!(o.backup_user.as_deref(), Some("back"));
    let o = load("valid-cdata-is-not-text.conf").options.unwrap();
    assert_eq!(
        (o.backup_user.as_deref(), o.backup_group.as_deref()),
        (Some("backup"), Some("fallback"))
    );
    let o = load("valid-entities.conf").options.unwrap();
    assert_eq!(o.rcp_command.as_deref(), Some("/usr/bin/scp \"-B\" A&<>"));
    let o = load("valid-whitespace-kept.conf").options.unwrap();
    assert_eq!(o.backup_user.as_deref(), Some("  backup  "));
    let o = load("valid-crlf.conf").options.unwrap();
    // "scp\r\n-B" written with CRLF line ends is "scp\r\r\n-B": two line ends.
    assert_eq!(o.rcp_command.as_deref(), Some("scp\n\n-B"));
    let c = load("valid-integers-like-python.conf");
    assert_eq!(
        c.purge.unwrap().purge_dirs.unwrap()[0].retain_days,
        Some(10)
    );
    let s = c.store.unwrap();
    assert_eq!(
        (s.drive_speed, s.refresh_media_delay, s.eject_delay),
        (Some(4), None, Some(7))
    );
    let o = load("valid-managed-actions-empty-list.conf")
        .options
        .unwrap();
    assert_eq!(o.managed_actions, Some(vec![]));
    let c = load("valid-root-not-cb_config.conf");
    assert!(
        c.options.is_none() && c.purge.is_none(),
        "Cedar reads nothing outside <cb_config>"
    );
    let c = load("valid-stage-peers-override.conf");
    assert_eq!(
        c.check().expect("valid").stage.unwrap().local_peers[0].name,
        "s1"
    );
    let e = load("valid-ext-dependency-mode.conf").extensions.unwrap();
    let d = e.actions[0].dependencies.as_ref().unwrap();
    assert_eq!(
        (d.before_list.as_slice(), d.after_list.as_slice()),
        (
            &["collect".to_string(), "stage".to_string()][..],
            &["purge".to_string()][..]
        )
    );
    assert_eq!(
        e.actions[1].dependencies,
        Some(ActionDependencies::default())
    );
}

#[test]
fn error_messages_name_path_and_line() {
    let err = config::parse_file(&dir().join("parse-store-media-type.conf")).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "store/media_type: \"cdr-99\" is not one of cdr-74, cdrw-74, cdr-80, cdrw-80, dvd+r, dvd+rw, dvd-r, dvd-rw, bd-r, bd-re (line 12)"
        ),
        "{err}"
    );
    let err = load("invalid-all-problems-reported.conf")
        .validate()
        .unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert_eq!(problems[0], "options/rcp_command: is required (line 3)");
    assert!(matches!(err, ConfigError::Invalid(ref v) if v.len() == 3));

    let err = load("invalid-options-empty-element.conf")
        .validate()
        .unwrap_err();
    assert_eq!(
        err.problems(),
        ["options/working_dir: is required but empty (line 5)"]
    );

    let missing = dir().join("no-such-file.conf");
    match config::parse_file(&missing) {
        Err(ConfigError::Io { path, source }) => {
            assert!(path.ends_with("no-such-file.conf"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    match config::parse_file(&dir()) {
        Err(ConfigError::Io { .. }) => {}
        other => panic!("a directory is unreadable: {other:?}"),
    }
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        tmp.path(),
        b"<cb_config><options><backup_user>\xff</backup_user></options></cb_config>",
    )
    .unwrap();
    assert!(matches!(
        config::parse_file(tmp.path()),
        Err(ConfigError::Parse(_))
    ));
    let err = config::parse_str("<cb_config>\n<a>\n</cb_config>", "inline").unwrap_err();
    assert!(
        err.to_string().starts_with("malformed XML at line 3"),
        "{err}"
    );
}

#[test]
fn extension_accessors() {
    let c = load("ext-split-quantities.conf");
    let s = c.split().unwrap();
    assert_eq!(s.size_limit.units, ByteUnit::Gbytes);
    assert_eq!(s.size_limit.bytes(), 3.0 * 1024.0 * 1024.0 * 1024.0);
    assert_eq!(s.split_size.bytes(), 0.6 * 1024.0);
    let c = load("ext-split-bytes.conf");
    assert_eq!(c.split().unwrap().size_limit.bytes(), 1000.0);
    let c = load("ext-capacity-percentage.conf");
    match c.capacity().unwrap().limit {
        CapacityLimit::MaxPercentage(p) => assert_eq!(p.percentage(), 99.5),
        other => panic!("{other:?}"),
    }
    let c = load("ext-mysql-bad-compress.conf");
    assert!(c.ext.mysql.is_none());
    let err = c.mysql().unwrap_err().to_string();
    assert!(
        err.contains("mysql/compress_mode: \"zip\" is not one of none, gzip, bzip2"),
        "{err}"
    );
    c.validate()
        .expect("a broken extension section does not make the core config invalid");
    assert!(load("valid-full.conf")
        .validate_extension("sysinfo")
        .is_ok());
}

#[test]
fn lead_example_config_parses_and_validates() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/example.conf"
    ));
    let c = config::parse_file(path).unwrap_or_else(|e| panic!("{e}"));
    c.validate().unwrap_or_else(|e| panic!("{e}"));
    let device = c.store.as_ref().and_then(|s| s.device_path.as_deref());
    assert!(
        device.is_some_and(|d| d.starts_with("emulated:")),
        "{device:?}"
    );
}

mod robustness {
    use cedar::config;
    use cedar::py::re as pyre;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Any Python pattern cedar accepts translates into a pattern the
        /// `regex` crate compiles, anchored as collect uses it; nothing panics.
        #[test]
        fn pattern_translation_compiles(p in r"[ab(){}\[\]|*+?.^$\\:=!<>P#0-9,xuNdws-]{0,14}") {
            if let Ok(rust) = pyre::translate(&p) {
                prop_assert!(regex::Regex::new(&format!("^(?:{rust})$")).is_ok(), "{p:?} -> {rust:?}");
                prop_assert!(config::pattern::compile_exclude_pattern(&p).is_ok());
            }
        }

        /// Arbitrary edits of a full config never make parsing or validation panic.
        #[test]
        fn edited_config_never_panics(cut in 0usize..6000, len in 0usize..40, insert in r"[<>/&;a-z_ \n]{0,12}") {
            let base = include_str!("../fixtures/config/valid-full.conf");
            let mut start = cut.min(base.len());
            while !base.is_char_boundary(start) { start -= 1; }
            let mut end = (start + len).min(base.len());
            while !base.is_char_boundary(end) { end -= 1; }
            let text = format!("{}{}{}", &base[..start], insert, &base[end..]);
            if let Ok(c) = config::parse_str(&text, "edited") {
                let _ = c.validate();
                for ext in ["mysql", "split", "capacity", "sysinfo"] {
                    let _ = c.validate_extension(ext);
                }
            }
        }

        /// Random text is rejected or parsed, never a panic.
        #[test]
        fn random_text_never_panics(text in r"(<[a-z_:]{0,6}( [a-z]{1,3}=.[a-z&;#0-9]{0,4}.)?/?>|</[a-z_]{0,6}>|[^<]{0,6}|<!--.{0,4}-->|<!\[CDATA\[.{0,4}\]\]>|&[a-z#0-9]{0,4};?){0,16}") {
            let _ = config::parse_str(&text, "random").map(|c| c.validate());
        }
    }
}
