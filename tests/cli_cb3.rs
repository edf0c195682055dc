//! The command line against the real Cedar Backup 3: the same argument
//! lists, on the same kind of configuration, through `cback3` and `cback`,
//! with the same exit codes — switches and their long-option prefixes,
//! option arguments, unknown switches, actions and extension modules,
//! missing and broken files. Each tool gets its own copy of the setup.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::*;

/// The rows: whitespace-separated arguments with placeholders for the
/// running tool's own files (`{conf}`, `{log}`, `{bad}` an XML error,
/// `{badext}` an unknown extension module, `{missing}` no such file,
/// `{nolog}` a log file in a directory that does not exist).
const ROWS: &[&str] = &[
    // getopt accepts any unique prefix of a long option (issue 8)
    "--conf {conf} --logfile {log} validate",
    "--config {conf} --logf {log} validate",
    "--config {conf} --logfile {log} --verb validate",
    "--config {conf} --logfile {log} --diag",
    "--config {conf} --logfile {log} --ful validate",
    "--config {conf} --logfile {log} --st validate",
    "--config {conf} --logfile {log} --vers",
    // Cedar reads the mode with int(x, 8), which accepts 0o600
    "-c {conf} -l {log} -m 0o600 validate",
    // help, version, diagnostics; no action
    "--help",
    "-h",
    "--version",
    "-V",
    "-D",
    "--diagnostics",
    "-c {conf} -l {log}",
    "-c {conf} -l {log} -b",
    // switches
    "-c {conf} -l {log} validate",
    "--config {conf} --logfile {log} validate",
    "--config={conf} --logfile={log} validate",
    "-c{conf} -l{log} validate",
    "-c {conf} -l {log} -b validate",
    "-c {conf} -l {log} -q validate",
    "-c {conf} -l {log} -bq validate",
    "-c {conf} -l {log} -d -O -s validate",
    "-c {conf} -l {log} --verbose --quiet --debug --output --stack validate",
    "-c {conf} -l {log} -f validate",
    "-c {conf} -l {log} --full validate",
    "-c {conf} -l {log} -M validate",
    "-c {conf} -l {log} -N validate",
    "-c {conf} -l {log} --managed --managed-only validate",
    "-c {conf} -l {log} -m 600 validate",
    "-c {conf} -l {log} -m 0640 validate",
    "-c {conf} -l {log} --mode 640 validate",
    "-c {conf} -l {log} -m 999 validate",
    "-c {conf} -l {log} -m abc validate",
    "-c {conf} -l {log} -o {user}:{group} validate",
    "-c {conf} -l {log} --owner {user}:{group} validate",
    "-c {conf} -l {log} -o {user} validate",
    "-c {conf} -l {log} -o no-such-user:no-such-group validate",
    "-c {conf} -l {log} -o",
    "-c {conf} -l",
    "-c",
    // unique and exact long options
    "--config {conf} --logfile {log} --help",
    // an ambiguous prefix (--managed, --managed-only) is an error
    "-c {conf} -l {log} --man validate",
    "-c {conf} -l {log} --ver validate",
    // unknown switches
    "-x",
    "-c {conf} -l {log} -x validate",
    "--bogus",
    "-c {conf} -l {log} --bogus validate",
    "-c {conf} -l {log} --verbose=yes validate",
    // actions
    "-c {conf} -l {log} purge",
    "-c {conf} -l {log} collect",
    "-c {conf} -l {log} stage",
    "-c {conf} -l {log} collect stage purge",
    "-c {conf} -l {log} collect purge",
    "-c {conf} -l {log} purge collect",
    "-c {conf} -l {log} collect collect",
    "-c {conf} -l {log} bogus",
    "-c {conf} -l {log} collect bogus",
    "-c {conf} -l {log} Collect",
    "-c {conf} -l {log} collect -f",
    "-c {conf} -l {log} collect --full",
    "-c {conf} -l {log} all collect",
    "-c {conf} -l {log} validate purge",
    "-c {conf} -l {log} rebuild purge",
    "-c {conf} -l {log} initialize collect",
    "-c {conf} -l {log} validate validate",
    // files
    "-c {missing} -l {log} validate",
    "-c {missing} -l {log} collect",
    "-c {bad} -l {log} validate",
    "-c {bad} -l {log} purge",
    "-c {badext} -l {log} validate",
    "-c {badext} -l {log} purge",
    "-c {conf} -l {nolog} validate",
    "-c {conf} -l {nolog} purge",
];

/// One tool's setup: the directories the config names, which exist.
struct Side {
    dir: tempfile::TempDir,
}

impl Side {
    fn new() -> Side {
        let dir = tempfile::tempdir().unwrap();
        let p = |rel: &str| dir.path().join(rel).to_string_lossy().into_owned();
        for d in ["work", "collect", "staging", "purge"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        write(&dir.path().join("data/file.txt"), b"data\n");
        let (user, group) = current_account();
        let conf = |extra: &str| {
            format!(
                r#"<?xml version="1.0"?>
<cb_config>
 <reference><author>test</author></reference>
 <options>
  <starting_day>monday</starting_day>
  <working_dir>{work}</working_dir>
  <backup_user>{user}</backup_user>
  <backup_group>{group}</backup_group>
  <rcp_command>/usr/bin/scp -B</rcp_command>
 </options>
 <collect>
  <collect_dir>{collect}</collect_dir>
  <collect_mode>daily</collect_mode>
  <archive_mode>tar</archive_mode>
  <ignore_file>.cbignore</ignore_file>
  <dir><abs_path>{data}</abs_path></dir>
 </collect>
 <stage>
  <staging_dir>{staging}</staging_dir>
  <peer><name>local</name><type>local</type><collect_dir>{collect}</collect_dir></peer>
 </stage>
 <purge>
  <dir><abs_path>{purge}</abs_path><retain_days>1</retain_days></dir>
 </purge>
 {extra}
</cb_config>
"#,
                work = p("work"),
                collect = p("collect"),
                data = p("data"),
                purge = p("purge"),
                staging = p("staging"),
            )
        };
        std::fs::write(dir.path().join("cback.conf"), conf("")).unwrap();
        std::fs::write(
            dir.path().join("badext.conf"),
            conf(
                "<extensions><action><name>nope</name><module>CedarBackup3.extend.nope</module>\
                 <function>executeAction</function><index>99</index></action></extensions>",
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.conf"), "<cb_config><options>").unwrap();
        Side { dir }
    }

    fn args(&self, row: &str) -> Vec<String> {
        let p = |rel: &str| self.dir.path().join(rel).to_string_lossy().into_owned();
        let (user, group) = current_account();
        row.split_whitespace()
            .map(|a| {
                a.replace("{conf}", &p("cback.conf"))
                    .replace("{log}", &p("cback.log"))
                    .replace("{bad}", &p("bad.conf"))
                    .replace("{badext}", &p("badext.conf"))
                    .replace("{missing}", &p("missing.conf"))
                    .replace("{nolog}", &p("no/such/dir/cback.log"))
                    .replace("{user}", &user)
                    .replace("{group}", &group)
            })
            .collect()
    }

    /// Runs `program` on the row from inside this side's directory, with no
    /// terminal and a bounded time; returns its exit code.
    fn run(&self, program: &Path, row: &str) -> i32 {
        let mut child = Command::new(program)
            .args(self.args(row))
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env_remove("XDG_STATE_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{} {row}: no exit within 60 s", program.display());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

#[test]
fn exit_codes_match_cback3_row_by_row() {
    let Some(cb3) = cb3() else { return };
    let cedar = PathBuf::from(env!("CARGO_BIN_EXE_cback"));
    let rows: Vec<&str> = ROWS.to_vec();
    // four rows at a time; fresh sides per row, so that one row's collect
    // or log never feeds the next
    let codes: Vec<(i32, i32)> = rows
        .chunks(4)
        .flat_map(|chunk| {
            std::thread::scope(|scope| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|row| {
                        let (cb3, cedar) = (&cb3, &cedar);
                        scope.spawn(move || {
                            let (a, b) = (Side::new(), Side::new());
                            (a.run(cb3, row), b.run(cedar, row))
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut mismatches = Vec::new();
    let mut table = String::new();
    for (row, (want, got)) in rows.iter().zip(codes) {
        table.push_str(&format!("{want:>3} {got:>3} {row}\n"));
        if want != got {
            mismatches.push(format!("cback {row}: cback3 {want}, cedar {got}"));
        }
    }
    eprintln!("cback3 cedar row\n{table}");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
