//! Cedar's command line to the letter: the same command lines given to the
//! real `cback3` and to cedar's `cback`, as a migrating user would type them,
//! must end with the same exit code (getopt prefixes and forms, `-m` parsed
//! as `int(value, 8)`, unknown extension modules refused for every action).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CBACK: &str = env!("CARGO_BIN_EXE_cback");

/// A valid configuration in a temporary directory.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(extensions: &str) -> Setup {
        Setup::build(
            extensions,
            "",
            "<file><abs_path>{dir}/data/file</abs_path></file>",
        )
    }

    /// A config with `extensions` before `<options>`, `options` inside it
    /// and `items` in `<collect>` (`{dir}` is the setup's directory).
    fn build(extensions: &str, options: &str, items: &str) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["work", "collect", "purge", "data"] {
            std::fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        std::fs::write(dir.path().join("data/file"), b"data").expect("write");
        let p = |rel: &str| dir.path().join(rel).display().to_string();
        let xml = format!(
            r#"<?xml version="1.0"?>
<cb_config>
  <reference><author>test</author></reference>
  {extensions}
  <options>
    <starting_day>monday</starting_day>
    <working_dir>{work}</working_dir>
    <backup_user>root</backup_user>
    <backup_group>root</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command>
    {options}
  </options>
  <collect>
    <collect_dir>{collect}</collect_dir>
    <collect_mode>daily</collect_mode>
    <archive_mode>tar</archive_mode>
    <ignore_file>.ignore</ignore_file>
    {items}
  </collect>
  <purge><dir><abs_path>{purge}</abs_path><retain_days>1</retain_days></dir></purge>
</cb_config>
"#,
            work = p("work"),
            collect = p("collect"),
            purge = p("purge"),
            items = items.replace("{dir}", &dir.path().display().to_string()),
        );
        std::fs::write(dir.path().join("cback.conf"), xml).expect("write config");
        Setup { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `args` with `{conf}` and `{dir}` replaced.
    fn args(&self, args: &[&str]) -> Vec<String> {
        let conf = self.path("cback.conf").display().to_string();
        let dir = self.dir.path().display().to_string();
        args.iter()
            .map(|a| a.replace("{conf}", &conf).replace("{dir}", &dir))
            .collect()
    }
}

fn run(program: &Path, args: &[String]) -> Output {
    Command::new(program)
        .args(args)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

/// Runs the command line through both programs (each with its own log file
/// in `{dir}`) and asserts equal exit codes; returns cedar's output.
fn same_exit(cb3: &Path, setup: &Setup, args: &[&str], want: i32) -> Output {
    let args_for = |who: &str| {
        let with_log = args_with_log(args, who);
        setup.args(&with_log.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let mine = run(Path::new(CBACK), &args_for("cedar"));
    let theirs = run(cb3, &args_for("cb3"));
    assert_eq!(
        code(&theirs),
        want,
        "cback3 {args:?}: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(
        code(&mine),
        want,
        "cback {args:?}: {}",
        String::from_utf8_lossy(&mine.stderr)
    );
    mine
}

/// `{log}` (alone or inside an argument) stands for a log file per program.
fn args_with_log(args: &[&str], who: &str) -> Vec<String> {
    let log = format!("{{dir}}/{who}.log");
    args.iter().map(|a| a.replace("{log}", &log)).collect()
}

#[test]
fn long_option_prefixes_and_forms_as_getopt_takes_them() {
    let Some(cb3) = support::cb3() else { return };
    let s = Setup::new("");
    for (args, want) in [
        (&["--conf", "{conf}", "-l", "{log}", "validate"][..], 0),
        (&["--verb", "--conf={conf}", "--log={log}", "validate"], 0),
        (
            &[
                "--quiet", "--config", "{conf}", "--logf", "{log}", "validate",
            ],
            0,
        ),
        (
            &["--managed-o", "-c", "{conf}", "-l", "{log}", "validate"],
            0,
        ),
        (&["-bq", "-c", "{conf}", "-l", "{log}", "validate"], 0),
        (&["--diag"], 0),
        (&["--vers"], 0),
        (&["--he"], 0),
        (&["--man", "-c", "{conf}", "-l", "{log}", "validate"], 2),
        (
            &["--verbose=yes", "-c", "{conf}", "-l", "{log}", "validate"],
            2,
        ),
        (&["--nope", "validate"], 2),
        (&["-x", "validate"], 2),
        (&["-c"], 2),
        (&["--config"], 2),
        (&["--"], 2),
        (&["-c", "", "-l", "{log}", "validate"], 2),
        (&["-M", "-N", "-c", "{conf}", "-l", "{log}", "validate"], 2),
    ] {
        same_exit(&cb3, &s, args, want);
    }
    let out = same_exit(&cb3, &s, &["--man", "validate"], 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("option --man not a unique prefix"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_joined_short_form_and_the_long_form_winning() {
    let Some(cb3) = support::cb3() else { return };
    let s = Setup::new("");
    // -cPATH and -lPATH forms.
    same_exit(&cb3, &s, &["-c{conf}", "-l{log}", "validate"], 0);
    // --config wins over -c whatever their order: a missing file is exit 4.
    for args in [
        &[
            "-c",
            "{conf}",
            "--config={dir}/missing",
            "-l",
            "{log}",
            "validate",
        ][..],
        &[
            "--config={dir}/missing",
            "-c",
            "{conf}",
            "-l",
            "{log}",
            "validate",
        ],
    ] {
        same_exit(&cb3, &s, args, 4);
    }
    // Words after the first action are actions, even switch-like ones.
    same_exit(
        &cb3,
        &s,
        &["-c", "{conf}", "-l", "{log}", "validate", "-f"],
        4,
    );
}

#[test]
fn mode_is_parsed_like_int_base_8() {
    let Some(cb3) = support::cb3() else { return };
    let s = Setup::new("");
    for (mode, log) in [("0o600", "o"), ("600", "p"), (" 600", "q"), ("0O600", "r")] {
        for (who, program) in [("cb3", cb3.as_path()), ("cedar", Path::new(CBACK))] {
            let log = s.path(&format!("{who}-{log}.log"));
            let out = run(
                program,
                &s.args(&[
                    "-m",
                    mode,
                    "-l",
                    &log.display().to_string(),
                    "-c",
                    "{conf}",
                    "validate",
                ]),
            );
            assert_eq!(code(&out), 0, "{who} -m {mode:?}");
            use std::os::unix::fs::PermissionsExt;
            let got = std::fs::metadata(&log).expect("log").permissions().mode() & 0o777;
            assert_eq!(got, 0o600, "{who} -m {mode:?}");
        }
    }
    for mode in ["9", "-1", "", "0x10", "6_"] {
        same_exit(
            &cb3,
            &s,
            &["-m", mode, "-l", "{log}", "-c", "{conf}", "validate"],
            2,
        );
    }
}

#[test]
fn an_unknown_extension_module_is_a_config_error_for_every_action() {
    let Some(cb3) = support::cb3() else { return };
    for (module, function, message) in [
        ("nosuch.mod", "run", "No module named 'nosuch'"),
        (
            "CedarBackup3.extend.sysinfo",
            "nosuchfn",
            "module 'CedarBackup3.extend.sysinfo' has no attribute 'nosuchfn'",
        ),
    ] {
        let s = Setup::new(&format!(
            "<extensions><action><name>foo</name><module>{module}</module>\
             <function>{function}</function><index>50</index></action></extensions>"
        ));
        for action in ["validate", "collect", "all", "purge"] {
            let out = same_exit(&cb3, &s, &["-c", "{conf}", "-l", "{log}", action], 4);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(message), "{action}: {stderr}");
            assert!(
                stderr.contains("extensions/action[1]/"),
                "{action}: {stderr}"
            );
        }
        assert!(
            !s.path("collect/cback.collect").exists(),
            "nothing ran before the configuration was refused"
        );
    }
}

#[test]
fn a_missing_working_dir_is_one_clear_line() {
    let s = Setup::new("");
    std::fs::remove_dir(s.path("work")).expect("rmdir");
    let out = run(
        Path::new(CBACK),
        &s.args(&["-c", "{conf}", "-l", "{dir}/cedar.log", "collect"]),
    );
    assert_eq!(code(&out), 6);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let work = s.path("work").display().to_string();
    assert_eq!(
        lines,
        [format!(
            "Error executing backup: Working directory [{work}] does not exist; cedar keeps its run lock (cback.lock) there."
        )],
        "{stderr}"
    );
}

/// The documented differences (README), each checked against cback3.
mod differences {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn help_goes_to_stdout_and_screen_messages_to_stderr_the_other_way_round_from_cedar() {
        let Some(cb3) = support::cb3() else { return };
        let s = Setup::new("");
        let help = ["--help".to_string()];
        let (theirs, mine) = (run(&cb3, &help), run(Path::new(CBACK), &help));
        assert_eq!((code(&theirs), code(&mine)), (0, 0));
        assert!(String::from_utf8_lossy(&theirs.stderr).contains("Usage: cback3"));
        assert!(String::from_utf8_lossy(&mine.stdout).contains("Usage: cback"));
        assert!(mine.stderr.is_empty());
        std::fs::remove_dir(s.path("collect")).expect("rmdir");
        let args = ["-c", "{conf}", "-l", "{dir}/x.log", "validate"];
        let theirs = run(&cb3, &s.args(&args));
        let mine = run(Path::new(CBACK), &s.args(&args));
        let verdict = "Configuration is not valid.";
        assert!(String::from_utf8_lossy(&theirs.stdout).contains(verdict));
        assert!(String::from_utf8_lossy(&mine.stderr).contains(verdict));
        assert!(!String::from_utf8_lossy(&mine.stdout).contains(verdict));
        // ... and validate's verdict is an exit code (Cedar: 0).
        assert_eq!((code(&theirs), code(&mine)), (0, 6));
    }

    #[test]
    fn stack_exits_6_where_cedar_exits_1() {
        let Some(cb3) = support::cb3() else { return };
        let s = Setup::new("");
        std::fs::remove_file(s.path("data/file")).expect("rm");
        let args = ["-s", "-c", "{conf}", "-l", "{dir}/x.log", "collect"];
        let theirs = run(&cb3, &s.args(&args));
        let mine = run(Path::new(CBACK), &s.args(&args));
        assert_eq!((code(&theirs), code(&mine)), (1, 6));
    }

    #[test]
    fn sigterm_exits_5_where_cedar_dies_of_it() {
        let Some(cb3) = support::cb3() else { return };
        let s = Setup::build(
            "",
            "<pre_action_hook><action>collect</action><command>sleep 20</command></pre_action_hook>",
            "<file><abs_path>{dir}/data/file</abs_path></file>",
        );
        for (program, want_code, want_signal) in [
            (cb3.as_path(), None, Some(15)),
            (Path::new(CBACK), Some(5), None),
        ] {
            let mut child = Command::new(program)
                .args(s.args(&["-c", "{conf}", "-l", "{dir}/x.log", "collect"]))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn");
            // Let it reach the hook.
            std::thread::sleep(std::time::Duration::from_millis(1500));
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            )
            .expect("SIGTERM");
            let status = child.wait().expect("reaped");
            assert_eq!(
                (status.code(), status.signal()),
                (want_code, want_signal),
                "{}",
                program.display()
            );
        }
    }

    #[test]
    fn an_inherited_ignored_sigint_still_exits_5_where_cedar_ignores_it() {
        use std::os::unix::process::CommandExt;
        let Some(cb3) = support::cb3() else { return };
        let s = Setup::build(
            "",
            "<pre_action_hook><action>collect</action><command>sleep 20</command></pre_action_hook>",
            "<file><abs_path>{dir}/data/file</abs_path></file>",
        );
        let start = |program: &Path| {
            let mut c = Command::new(program);
            c.args(s.args(&["-c", "{conf}", "-l", "{dir}/x.log", "collect"]))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            // SAFETY: only async-signal-safe signal(2) between fork and exec.
            unsafe {
                c.pre_exec(|| {
                    nix::sys::signal::signal(
                        nix::sys::signal::Signal::SIGINT,
                        nix::sys::signal::SigHandler::SigIgn,
                    )
                    .map(drop)
                    .map_err(std::io::Error::from)
                });
            }
            let child = c.spawn().expect("spawn");
            std::thread::sleep(std::time::Duration::from_millis(1500));
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            )
            .expect("SIGINT");
            std::thread::sleep(std::time::Duration::from_millis(500));
            child
        };
        let mut theirs = start(&cb3);
        let still_running = theirs.try_wait().expect("poll").is_none();
        let _ = theirs.kill();
        let _ = theirs.wait();
        assert!(still_running, "cback3 ignores the inherited-ignored SIGINT");
        let mut mine = start(Path::new(CBACK));
        let status = mine.wait().expect("reaped");
        assert_eq!(status.code(), Some(5));
    }

    #[test]
    fn names_with_backslashes_are_archived_where_cedar_drops_them() {
        let Some(cb3) = support::cb3() else { return };
        let s = Setup::build("", "", "<dir><abs_path>{dir}/data</abs_path></dir>");
        std::fs::write(s.path("data/a\\b"), b"x").expect("write");
        let members = |program: &Path| {
            for e in std::fs::read_dir(s.path("collect")).expect("list") {
                std::fs::remove_file(e.expect("entry").path()).expect("rm");
            }
            let out = run(
                program,
                &s.args(&["-c", "{conf}", "-l", "{dir}/x.log", "collect"]),
            );
            assert_eq!(code(&out), 0, "{}", program.display());
            let tar = std::fs::read_dir(s.path("collect"))
                .expect("list")
                .map(|e| e.expect("entry").path())
                .find(|p| p.extension().is_some_and(|x| x == "tar"))
                .expect("an archive");
            let mut archive = tar::Archive::new(std::fs::File::open(tar).expect("open"));
            archive
                .entries()
                .expect("entries")
                .map(|e| {
                    e.expect("entry")
                        .path()
                        .expect("path")
                        .display()
                        .to_string()
                })
                .collect::<Vec<_>>()
        };
        let theirs = members(&cb3);
        let mine = members(Path::new(CBACK));
        assert!(!theirs.iter().any(|m| m.ends_with("a\\b")), "{theirs:?}");
        assert!(mine.iter().any(|m| m.ends_with("a\\b")), "{mine:?}");
        assert!(mine.iter().any(|m| m.ends_with("data/file")), "{mine:?}");
    }

    #[test]
    fn validate_reports_a_missing_extension_section() {
        let Some(cb3) = support::cb3() else { return };
        let s = Setup::new(
            "<extensions><action><name>mysql</name><module>CedarBackup3.extend.mysql</module>\
             <function>executeAction</function><index>99</index></action></extensions>",
        );
        let args = ["-c", "{conf}", "-l", "{dir}/x.log", "validate"];
        let theirs = run(&cb3, &s.args(&args));
        let mine = run(Path::new(CBACK), &s.args(&args));
        assert_eq!(
            code(&theirs),
            0,
            "Cedar does not look at <mysql> in validate"
        );
        assert_eq!(code(&mine), 6);
        let stderr = String::from_utf8_lossy(&mine.stderr);
        assert!(
            stderr.contains("mysql: the mysql section is required"),
            "{stderr}"
        );
    }
}
