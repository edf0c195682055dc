//! Shared by the `ext_*` tests: a bench with one tree for cback3 and one
//! for cedar (each its own working and collect directory), Cedar configs
//! naming one extension, running both programs on them, and reading their
//! dumps back with gzip/bzip2 themselves.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// Tests that use both support and ext_support load the file twice: one
// small function, the same either way.
#[allow(clippy::duplicate_mod)]
#[path = "../support/account.rs"]
mod account;
pub use account::current_account;
#[allow(clippy::duplicate_mod)]
#[path = "../support/tool.rs"]
mod tool;
#[allow(unused_imports)] // not every test binary that loads this module runs a tool
pub use tool::tool;

/// Which program a tree belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Cb3,
    Cedar,
}

pub const BOTH: [Who; 2] = [Who::Cb3, Who::Cedar];

impl Who {
    pub fn dir(self) -> &'static str {
        match self {
            Who::Cb3 => "cb3",
            Who::Cedar => "cedar",
        }
    }
}

/// The reference cback3 (`$CEDAR_CB3`, else /tmp/cb3); a missing one skips
/// the test, except under CI.
pub fn cb3() -> Option<PathBuf> {
    let path = std::env::var_os("CEDAR_CB3")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/cb3/bin/cback3"));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "cback3 not found at {} (set CEDAR_CB3); required under CI",
        path.display()
    );
    eprintln!("skipping: cback3 not found at {}", path.display());
    None
}

/// A temporary bench: `root/{cb3,cedar}/{work,collect}`.
pub struct Bench {
    pub tmp: tempfile::TempDir,
}

impl Bench {
    pub fn new() -> Bench {
        let tmp = tempfile::Builder::new()
            .prefix("cedar-ext-")
            .tempdir()
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for who in BOTH {
            for d in ["work", "collect", "empty"] {
                std::fs::create_dir_all(tmp.path().join(who.dir()).join(d)).unwrap();
            }
        }
        Bench { tmp }
    }
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }
    pub fn work(&self, who: Who) -> PathBuf {
        self.root().join(who.dir()).join("work")
    }
    pub fn collect(&self, who: Who) -> PathBuf {
        self.root().join(who.dir()).join("collect")
    }

    /// Writes `who`'s config: `<options>` (backup user/group, starting day,
    /// overrides as (command, path)), a `<collect>` of an empty directory,
    /// the extended action `name` of module `CedarBackup3.extend.<name>`,
    /// and `section` (raw XML) as written.
    pub fn config(
        &self,
        who: Who,
        name: &str,
        section: &str,
        starting_day: &str,
        owner: (&str, &str),
        overrides: &[(&str, &Path)],
    ) -> PathBuf {
        let mut o = String::new();
        for (cmd, path) in overrides {
            o.push_str(&format!(
                "<override><command>{cmd}</command><abs_path>{}</abs_path></override>",
                path.display()
            ));
        }
        let xml = format!(
            r#"<?xml version="1.0"?>
<cb_config>
 <options>
  <starting_day>{starting_day}</starting_day>
  <working_dir>{work}</working_dir>
  <backup_user>{user}</backup_user>
  <backup_group>{group}</backup_group>
  <rcp_command>/usr/bin/scp -B</rcp_command>
  {o}
 </options>
 <extensions>
  <action><name>{name}</name><module>CedarBackup3.extend.{name}</module>
   <function>executeAction</function><index>99</index></action>
 </extensions>
 <collect>
  <collect_dir>{collect}</collect_dir>
  <collect_mode>daily</collect_mode>
  <archive_mode>tar</archive_mode>
  <ignore_file>.cbignore</ignore_file>
  <dir><abs_path>{empty}</abs_path></dir>
 </collect>
 {section}
</cb_config>
"#,
            work = self.work(who).display(),
            collect = self.collect(who).display(),
            empty = self.root().join(who.dir()).join("empty").display(),
            user = owner.0,
            group = owner.1,
        );
        let path = self.root().join(format!("{}.conf", who.dir()));
        std::fs::write(&path, xml).unwrap();
        path
    }
}

/// Runs `who` (`cb3` is cback3's path) with `conf` and `args` (e.g.
/// `["mysql"]`), with `env` added; returns the output and the log text.
pub fn run(
    who: Who,
    cb3: &Path,
    conf: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Output, String) {
    let program = match who {
        Who::Cb3 => cb3.to_path_buf(),
        Who::Cedar => PathBuf::from(env!("CARGO_BIN_EXE_cback")),
    };
    let log = conf.with_extension("log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = Command::new(program);
    cmd.arg("-c")
        .arg(conf)
        .arg("-l")
        .arg(&log)
        .arg("-d")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    (out, text)
}

/// Runs `who` and panics with its log when it fails.
pub fn run_ok(who: Who, cb3: &Path, conf: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let (out, log) = run(who, cb3, conf, args, env);
    assert!(
        out.status.success(),
        "{who:?} {args:?} failed: {}\n{}\n--- log tail ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        tail(&log, 30)
    );
    log
}

pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A file's bytes, decompressed by gzip or bzip2 themselves per suffix.
pub fn decompressed(path: &Path) -> Vec<u8> {
    let name = path.to_string_lossy();
    let tool = if name.ends_with(".gz") {
        "gzip"
    } else if name.ends_with(".bz2") {
        "bzip2"
    } else {
        return std::fs::read(path).unwrap();
    };
    let out = Command::new(tool).arg("-dc").arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} -dc {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Name → (mode, uid, gid) of the regular files in `dir`, hidden ones too.
pub fn listing(dir: &Path) -> BTreeMap<String, (u32, u32, u32)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (m.mode() & 0o7777, m.uid(), m.gid()),
            )
        })
        .collect()
}

/// When root: the account outputs go to (`nobody` and `nogroup`) and its
/// ids; otherwise the current account (ownership cannot change).
pub fn backup_owner() -> (String, String, Option<(u32, u32)>) {
    if !nix::unistd::geteuid().is_root() {
        let (u, g) = current_account();
        return (u, g, None);
    }
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let group = ["nogroup", "nobody"]
        .into_iter()
        .find_map(|g| nix::unistd::Group::from_name(g).ok().flatten())
        .unwrap();
    (
        nobody.name,
        group.name.clone(),
        Some((nobody.uid.as_raw(), group.gid.as_raw())),
    )
}

/// Today's and tomorrow's weekday names as Cedar spells them.
pub fn today() -> &'static str {
    use chrono::Datelike;
    weekday_name(chrono::Local::now().weekday())
}
pub fn not_today() -> &'static str {
    use chrono::Datelike;
    weekday_name(chrono::Local::now().weekday().succ())
}
fn weekday_name(d: chrono::Weekday) -> &'static str {
    use chrono::Weekday::*;
    match d {
        Mon => "monday",
        Tue => "tuesday",
        Wed => "wednesday",
        Thu => "thursday",
        Fri => "friday",
        Sat => "saturday",
        Sun => "sunday",
    }
}

/// Writes an executable shell script.
pub fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Empties both collect directories.
pub fn clear_collect(b: &Bench) {
    for who in BOTH {
        for f in std::fs::read_dir(b.collect(who)).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
    }
}

/// Runs the extended action `ext` with `section` through both (collect
/// directories emptied first, the backup account of [`backup_owner`]),
/// expecting each to fail and log `message`; cedar must leave no file
/// but those `keep` accepts.
pub fn both_fail(
    b: &Bench,
    cb3: &Path,
    ext: &str,
    section: &str,
    message: &str,
    env: &[(&str, &str)],
    keep: impl Fn(&str) -> bool,
) {
    clear_collect(b);
    let (user, group, _) = backup_owner();
    for who in BOTH {
        let conf = b.config(who, ext, section, not_today(), (&user, &group), &[]);
        let (out, log) = run(who, cb3, &conf, &[ext], env);
        assert!(!out.status.success(), "{who:?} succeeded with {section}");
        assert!(log.contains(message), "{who:?}: {}", tail(&log, 10));
    }
    let left: Vec<String> = listing(&b.collect(Who::Cedar))
        .into_keys()
        .filter(|n| !keep(n))
        .collect();
    assert!(left.is_empty(), "cedar left {left:?}");
}

/// Runs `ext` with `section` through both (collect directories emptied
/// first) and checks they wrote the files `expect`, with the same modes
/// and owners (the backup user's as root) and the same contents after
/// `normalize`; returns cedar's files.
pub fn both_dump(
    b: &Bench,
    cb3: &Path,
    ext: &str,
    section: &str,
    env: &[(&str, &str)],
    expect: &[&str],
    normalize: impl Fn(&[u8]) -> String,
) -> Vec<PathBuf> {
    clear_collect(b);
    let (user, group, ids) = backup_owner();
    for who in BOTH {
        let conf = b.config(who, ext, section, not_today(), (&user, &group), &[]);
        run_ok(who, cb3, &conf, &[ext], env);
    }
    let theirs = listing(&b.collect(Who::Cb3));
    let ours = listing(&b.collect(Who::Cedar));
    assert_eq!(ours, theirs, "names, modes and owners");
    assert_eq!(ours.keys().map(String::as_str).collect::<Vec<_>>(), expect);
    if let Some((uid, gid)) = ids {
        assert!(
            ours.values().all(|&(_, u, g)| (u, g) == (uid, gid)),
            "{ours:?}"
        );
    }
    for name in ours.keys() {
        let c = normalize(&decompressed(&b.collect(Who::Cedar).join(name)));
        let a = normalize(&decompressed(&b.collect(Who::Cb3).join(name)));
        assert!(c.len() > 500, "{name} is too short");
        assert!(c == a, "{name}: cedar's and cback3's dumps differ");
    }
    ours.keys().map(|n| b.collect(Who::Cedar).join(n)).collect()
}

/// A throwaway gpg home with one encryption key for `uid`, killed (its
/// agent) on drop.
pub struct GpgHome {
    dir: tempfile::TempDir,
}

impl GpgHome {
    pub fn new(gpg: &Path, uid: &str) -> GpgHome {
        let dir = tempfile::Builder::new().prefix("gpg").tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let home = GpgHome { dir };
        let out = home
            .cmd(gpg)
            .args(["--batch", "--passphrase", "", "--quick-gen-key", uid])
            .args(["future-default", "default", "never"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg key generation: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        home
    }
    pub fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }
    pub fn cmd(&self, gpg: &Path) -> Command {
        let mut c = Command::new(gpg);
        c.env("GNUPGHOME", self.dir.path());
        c
    }
    pub fn decrypt(&self, gpg: &Path, path: &Path) -> Vec<u8> {
        let out = self
            .cmd(gpg)
            .args(["--batch", "--quiet", "-d"])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "decrypting {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

impl Drop for GpgHome {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.dir.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}
