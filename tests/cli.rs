//! End-to-end tests of the `cback` binary's command line: switches, exit
//! codes, logging, action ordering, hooks, the run lock and interrupts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{runs_as, Account};

const CBACK: &str = env!("CARGO_BIN_EXE_cback");

/// A temporary Cedar setup: dirs that exist, a config file, a log file.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["work", "collect", "stage", "purge", "data"] {
            std::fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        Setup { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn p(&self, rel: &str) -> String {
        self.path(rel).to_str().expect("utf8 path").to_string()
    }

    /// Writes a config whose `<options>` get `extra_options` and which has
    /// `extra_sections` after a purge section (of an empty dir).
    fn config(&self, extra_options: &str, extra_sections: &str) -> PathBuf {
        let xml = format!(
            r#"<?xml version="1.0"?>
<cb_config>
  <reference><author>test</author></reference>
  <options>
    <starting_day>monday</starting_day>
    <working_dir>{work}</working_dir>
    <backup_user>root</backup_user>
    <backup_group>root</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command>
    {extra_options}
  </options>
  <purge>
    <dir><abs_path>{purge}</abs_path><retain_days>1</retain_days></dir>
  </purge>
  {extra_sections}
</cb_config>
"#,
            work = self.p("work"),
            purge = self.p("purge"),
        );
        let path = self.path("cback.conf");
        std::fs::write(&path, xml).expect("write config");
        path
    }

    /// A hook command appending its label to `order.txt` (no shell is
    /// involved in running it; `sh` runs the script file).
    fn recorder(&self, label: &str) -> String {
        let script = self.path("record.sh");
        if !script.exists() {
            std::fs::write(&script, format!("echo \"$1\" >> {}\n", self.p("order.txt")))
                .expect("script");
        }
        format!("/bin/sh {} {label}", script.display())
    }

    fn order(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("order.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(CBACK);
        cmd.arg("-l")
            .arg(self.path("cback.log"))
            .arg("-c")
            .arg(self.path("cback.conf"));
        cmd.args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run cback")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("cback.log")).unwrap_or_default()
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn bare(args: &[&str]) -> Output {
    Command::new(CBACK).args(args).output().expect("run cback")
}

#[test]
fn help_version_and_diagnostics_exit_zero() {
    let out = bare(&["--help"]);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: cback [switches] action(s)"));
    let out = bare(&["-V"]);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("cedar"));
    let out = bare(&["-D"]);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Platform"));
}

#[test]
fn bad_command_lines_exit_two() {
    for args in [
        &[][..],
        &["-M", "-N", "collect"],
        &["--bogus", "collect"],
        &["-o", "nogroup", "collect"],
        &["-c"],
    ] {
        let out = bare(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("*** Error:"), "{args:?}");
    }
}

#[test]
fn unusable_logfile_exits_three() {
    let s = Setup::new();
    s.config("", "");
    let out = Command::new(CBACK)
        .args(["-l", "/nonexistent/dir/cback.log", "-c"])
        .arg(s.path("cback.conf"))
        .arg("validate")
        .output()
        .expect("run");
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("/nonexistent/dir/cback.log"));
}

/// A normal user who cannot write the default /var/log/cback3.log logs to
/// the XDG state dir instead, with one warning; root never falls back.
#[test]
fn a_normal_user_falls_back_to_the_state_dir_log() {
    if !runs_as(Account::User) {
        return;
    }
    let s = Setup::new();
    let conf = s.config("", "");
    let state = s.path("state");
    let out = Command::new(CBACK)
        .arg("-c")
        .arg(&conf)
        .arg("validate")
        .env("XDG_STATE_HOME", &state)
        .output()
        .expect("run cback");
    let log = state.join("cedar/cback3.log");
    let err = stderr(&out);
    assert!(
        err.contains("not running as root, logging to") && err.contains(&*log.to_string_lossy()),
        "{err}"
    );
    assert_eq!(err.matches("logging to").count(), 1, "{err}");
    let text = std::fs::read_to_string(&log).expect("fallback log written");
    assert!(text.contains("[INFO   ]"), "{text}");
    assert!(
        !std::path::Path::new("/var/log/cback3.log").exists()
            || std::fs::OpenOptions::new()
                .append(true)
                .open("/var/log/cback3.log")
                .is_err(),
        "the default log is writable here: the fallback would not apply"
    );
}

#[test]
fn config_problems_exit_four_naming_file_and_element() {
    let s = Setup::new();
    // Missing file.
    let out = s.run(&["validate"]);
    assert_eq!(code(&out), 4);
    assert!(stderr(&out).contains("cback.conf"), "{}", stderr(&out));
    // Invalid value.
    s.config("", "<store><source_dir>/tmp</source_dir><media_type>cdr-99</media_type><target_device>/dev/sr0</target_device></store>");
    let out = s.run(&["validate"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("store/media_type"),
        "{}",
        stderr(&out)
    );
    // Malformed XML.
    std::fs::write(s.path("cback.conf"), "<cb_config><options>").expect("write");
    assert_eq!(code(&s.run(&["validate"])), 4);
}

#[test]
fn action_list_errors_exit_four() {
    let s = Setup::new();
    s.config("", "");
    for args in [
        &["bogus"][..],
        &["collect", "validate"],
        &["all", "purge"],
        &["purge", "-f"],
    ] {
        let out = s.run(args);
        assert_eq!(code(&out), 4, "{args:?}: {}", stderr(&out));
    }
    assert!(stderr(&s.run(&["bogus"])).contains("Action [bogus] is not a valid action"));
}

#[test]
fn dependency_cycle_exits_four() {
    let s = Setup::new();
    s.config(
        "",
        r#"<extensions><order_mode>dependency</order_mode>
           <action><name>loop</name><module>CedarBackup3.extend.sysinfo</module><function>executeAction</function>
             <depends><run_before>collect</run_before><run_after>purge</run_after></depends></action>
           </extensions>"#,
    );
    let out = s.run(&["loop"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dependency recursion"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn validate_distinguishes_config_and_environment() {
    let s = Setup::new();
    s.config("", "");
    let out = s.run(&["validate"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(s.log().contains("Configuration is valid."));
    std::fs::remove_dir(s.path("purge")).expect("rmdir");
    let out = s.run(&["validate"]);
    assert_eq!(code(&out), 6);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "Purge directory [{}] does not exist.",
            s.p("purge")
        )),
        "{err}"
    );
    assert!(err.contains("Configuration is not valid."), "{err}");
}

#[test]
fn log_lines_use_cedars_format() {
    let s = Setup::new();
    s.config("", "");
    assert_eq!(code(&s.run(&["validate"])), 0);
    let log = s.log();
    let re = regex::Regex::new(
        r"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \S+ --> \[INFO   \] Cedar Backup run started\.$",
    )
    .expect("regex");
    assert!(re.is_match(&log), "{log}");
    assert!(log.contains("Cedar Backup run completed with status 0."));
}

#[test]
fn a_failing_extension_exits_six() {
    let s = Setup::new();
    s.config(
        "",
        r#"<extensions><action><name>split</name><module>CedarBackup3.extend.split</module>
           <function>executeAction</function><index>50</index></action></extensions>
           <split><size_limit>1 MB</size_limit><split_size>100 KB</split_size></split>"#,
    );
    // split works on the staging directory, which this config lacks.
    let out = s.run(&["split"]);
    assert_eq!(code(&out), 6);
    assert!(
        stderr(&out).contains("Cedar Backup configuration is not properly filled in."),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hooks_run_around_their_action_in_plan_order() {
    let s = Setup::new();
    let hooks = format!(
        r#"<pre_action_hook><action>purge</action><command>{}</command></pre_action_hook>
           <post_action_hook><action>purge</action><command>{}</command></post_action_hook>
           <pre_action_hook><action>collect</action><command>{}</command></pre_action_hook>"#,
        s.recorder("pre-purge"),
        s.recorder("post-purge"),
        s.recorder("pre-collect"),
    );
    s.config(&hooks, "");
    let out = s.run(&["purge"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(s.order(), ["pre-purge", "post-purge"]);
}

#[test]
fn failing_pre_hook_stops_the_action_with_exit_six() {
    let s = Setup::new();
    let old = s.path("purge/old-file");
    std::fs::write(&old, "x").expect("write");
    set_old(&old);
    s.config(
        r#"<pre_action_hook><action>purge</action><command>/bin/false</command></pre_action_hook>"#,
        "",
    );
    let out = s.run(&["purge"]);
    assert_eq!(code(&out), 6);
    assert!(
        stderr(&out).contains("executing pre-action hook for action purge"),
        "{}",
        stderr(&out)
    );
    assert!(old.exists(), "purge must not run after its pre hook failed");
}

#[test]
fn hook_arguments_are_not_interpreted_by_a_shell() {
    let s = Setup::new();
    let marker = s.path("marker");
    s.config(
        &format!(
            r#"<pre_action_hook><action>purge</action><command>/usr/bin/touch "{} x" ;rm</command></pre_action_hook>"#,
            marker.display()
        ),
        "",
    );
    let out = s
        .command(&["purge"])
        .current_dir(s.path(""))
        .output()
        .expect("run cback");
    // touch creates "marker x" and a file literally named ";rm" in the cwd
    // of the run; a shell would have run rm instead.
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(PathBuf::from(format!("{} x", marker.display())).exists());
    assert!(s.path(";rm").exists());
}

fn wait_for(path: &Path, what: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::fs::read_to_string(path)
            .map(|t| what(&t))
            .unwrap_or(false)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {}", path.display());
}

fn slow_run(s: &Setup) -> Child {
    s.config(
        &format!(
            r#"<pre_action_hook><action>purge</action><command>{}</command></pre_action_hook>
               <pre_action_hook><action>purge</action><command>/bin/sleep 3</command></pre_action_hook>"#,
            s.recorder("started")
        ),
        "",
    );
    let child = s
        .command(&["purge"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for(&s.path("order.txt"), |t| t.contains("started"));
    child
}

#[test]
fn a_second_concurrent_run_is_refused() {
    let s = Setup::new();
    let first = slow_run(&s);
    let out = s.run(&["purge"]);
    assert_eq!(code(&out), 6, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("holds the lock") && err.contains(&format!("pid {}", first.id())),
        "{err}"
    );
    let first = first.wait_with_output().expect("wait");
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    // Free again once the first run ended.
    assert_eq!(code(&s.run(&["validate"])), 0);
}

#[test]
fn interrupt_exits_five() {
    let s = Setup::new();
    let child = slow_run(&s);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("kill");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(code(&out), 5);
    assert!(s.log().contains("Backup interrupted."));
}

fn set_old(path: &Path) {
    let old = std::time::SystemTime::now() - Duration::from_secs(10 * 86400);
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    f.set_times(
        std::fs::FileTimes::new()
            .set_accessed(old)
            .set_modified(old),
    )
    .expect("set times");
}
