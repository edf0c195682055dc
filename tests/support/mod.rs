//! Helpers shared by the `actions_*` integration tests: locating the real
//! Cedar Backup 3, building trees, rendering configs as Cedar XML, reading
//! archives back.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod sshd;

use cedar::config::*;

/// The reference `cback3`: `$CEDAR_CB3`, else /tmp/cb3/bin/cback3. When it is
/// missing the test is skipped, except under CI where that is a failure.
pub fn cb3() -> Option<PathBuf> {
    let path = std::env::var_os("CEDAR_CB3")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/cb3/bin/cback3"));
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "cback3 not found at {} (set CEDAR_CB3); required under CI",
            path.display()
        );
    }
    eprintln!("skipping: cback3 not found at {}", path.display());
    None
}

/// Runs cback3 with `conf` and the given arguments; panics with its log on failure.
pub fn run_cb3(cb3: &Path, conf: &Path, args: &[&str]) {
    let log = conf.with_extension("log");
    let out = Command::new(cb3)
        .arg("-c")
        .arg(conf)
        .arg("-l")
        .arg(&log)
        .arg("-d")
        .args(args)
        .output()
        .expect("cback3 runs");
    if !out.status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        panic!(
            "cback3 {args:?} failed: {}\n{}\n--- log tail ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            text.lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Writes a file (creating parents).
pub fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// Creates a symlink `path -> target` (creating parents).
pub fn link(target: &str, path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    symlink(target, path).unwrap();
}

/// Sets both access and modification time to `secs` since the epoch.
pub fn set_times(path: &Path, secs: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))
        .unwrap();
    f.set_times(std::fs::FileTimes::new().set_accessed(t).set_modified(t))
        .unwrap();
}

/// One member of an archive: name, type flag, link target, data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub name: String,
    pub kind: char,
    pub link: String,
    pub data: Vec<u8>,
}

/// Reads every member of a .tar, .tar.gz or .tar.bz2 file.
pub fn members(path: &Path) -> Vec<Member> {
    let file = std::fs::File::open(path).unwrap();
    let name = path.to_string_lossy();
    let reader: Box<dyn Read> = if name.ends_with(".gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else if name.ends_with(".bz2") {
        Box::new(bzip2::read::BzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut archive = tar::Archive::new(reader);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut e = entry.unwrap();
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let kind = e.header().entry_type().as_byte() as char;
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .unwrap_or_default();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push(Member {
            name,
            kind,
            link,
            data,
        });
    }
    out
}

/// Sorted, de-duplicated `(name, type, link)` of an archive's members; hard
/// links count as regular files (Python's tarfile and cedar both emit them,
/// but which path comes first depends on listing order).
pub fn member_set(path: &Path) -> BTreeSet<(String, char, String)> {
    members(path)
        .into_iter()
        .map(|m| match m.kind {
            '1' => (m.name, '0', String::new()),
            k => (m.name, k, m.link),
        })
        .collect()
}

/// File names in a directory, sorted.
pub fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The English name of a weekday as Cedar configs spell it.
pub fn weekday(day: chrono::Weekday) -> Weekday {
    match day {
        chrono::Weekday::Mon => Weekday::Monday,
        chrono::Weekday::Tue => Weekday::Tuesday,
        chrono::Weekday::Wed => Weekday::Wednesday,
        chrono::Weekday::Thu => Weekday::Thursday,
        chrono::Weekday::Fri => Weekday::Friday,
        chrono::Weekday::Sat => Weekday::Saturday,
        chrono::Weekday::Sun => Weekday::Sunday,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn el(out: &mut String, indent: &str, tag: &str, value: Option<impl AsRef<str>>) {
    if let Some(v) = value {
        writeln!(out, "{indent}<{tag}>{}</{tag}>", esc(v.as_ref())).unwrap();
    }
}

fn yn(b: bool) -> Option<&'static str> {
    Some(if b { "Y" } else { "N" })
}

fn lower<T: serde::Serialize>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(|v| {
        serde_json::to_value(v)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    })
}

fn peers_xml(out: &mut String, locals: &Option<Vec<LocalPeer>>, remotes: &Option<Vec<RemotePeer>>) {
    for p in locals.iter().flatten() {
        out.push_str("  <peer>\n   <type>local</type>\n");
        el(out, "   ", "name", p.name.as_ref());
        el(out, "   ", "collect_dir", p.collect_dir.as_ref());
        el(out, "   ", "ignore_failures", lower(&p.ignore_failure_mode));
        out.push_str("  </peer>\n");
    }
    for p in remotes.iter().flatten() {
        out.push_str("  <peer>\n   <type>remote</type>\n");
        el(out, "   ", "name", p.name.as_ref());
        el(out, "   ", "collect_dir", p.collect_dir.as_ref());
        el(out, "   ", "backup_user", p.remote_user.as_ref());
        el(out, "   ", "rcp_command", p.rcp_command.as_ref());
        el(out, "   ", "rsh_command", p.rsh_command.as_ref());
        el(out, "   ", "cback_command", p.cback_command.as_ref());
        if p.managed {
            el(out, "   ", "managed", yn(true));
        }
        el(
            out,
            "   ",
            "managed_actions",
            p.managed_actions.as_ref().map(|a| a.join(",")),
        );
        el(out, "   ", "ignore_failures", lower(&p.ignore_failure_mode));
        out.push_str("  </peer>\n");
    }
}

/// Renders the parts of a [`Config`] the actions use as a Cedar XML document,
/// so that cback3 and cedar run on one configuration.
pub fn config_xml(c: &Config) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<cb_config>\n");
    if let Some(o) = &c.options {
        out.push_str(" <options>\n");
        el(&mut out, "  ", "starting_day", lower(&o.starting_day));
        el(&mut out, "  ", "working_dir", o.working_dir.as_ref());
        el(&mut out, "  ", "backup_user", o.backup_user.as_ref());
        el(&mut out, "  ", "backup_group", o.backup_group.as_ref());
        el(&mut out, "  ", "rcp_command", o.rcp_command.as_ref());
        el(&mut out, "  ", "rsh_command", o.rsh_command.as_ref());
        el(&mut out, "  ", "cback_command", o.cback_command.as_ref());
        el(
            &mut out,
            "  ",
            "managed_actions",
            o.managed_actions.as_ref().map(|a| a.join(",")),
        );
        for h in &o.hooks {
            let tag = match h.kind {
                HookKind::Pre => "pre_action_hook",
                HookKind::Post => "post_action_hook",
            };
            let _ = writeln!(out, "  <{tag}>");
            el(&mut out, "   ", "action", h.action.as_ref());
            el(&mut out, "   ", "command", h.command.as_ref());
            let _ = writeln!(out, "  </{tag}>");
        }
        out.push_str(" </options>\n");
    }
    if let Some(p) = &c.peers {
        out.push_str(" <peers>\n");
        peers_xml(&mut out, &p.local_peers, &p.remote_peers);
        out.push_str(" </peers>\n");
    }
    if let Some(col) = &c.collect {
        out.push_str(" <collect>\n");
        el(&mut out, "  ", "collect_dir", col.target_dir.as_ref());
        el(&mut out, "  ", "collect_mode", lower(&col.collect_mode));
        el(&mut out, "  ", "archive_mode", lower(&col.archive_mode));
        el(&mut out, "  ", "ignore_file", col.ignore_file.as_ref());
        if col.absolute_exclude_paths.is_some() || col.exclude_patterns.is_some() {
            out.push_str("  <exclude>\n");
            for p in col.absolute_exclude_paths.iter().flatten() {
                el(&mut out, "   ", "abs_path", Some(p));
            }
            for p in col.exclude_patterns.iter().flatten() {
                el(&mut out, "   ", "pattern", Some(p));
            }
            out.push_str("  </exclude>\n");
        }
        for f in col.collect_files.iter().flatten() {
            out.push_str("  <file>\n");
            el(&mut out, "   ", "abs_path", f.absolute_path.as_ref());
            el(&mut out, "   ", "collect_mode", lower(&f.collect_mode));
            el(&mut out, "   ", "archive_mode", lower(&f.archive_mode));
            out.push_str("  </file>\n");
        }
        for d in col.collect_dirs.iter().flatten() {
            out.push_str("  <dir>\n");
            el(&mut out, "   ", "abs_path", d.absolute_path.as_ref());
            el(&mut out, "   ", "collect_mode", lower(&d.collect_mode));
            el(&mut out, "   ", "archive_mode", lower(&d.archive_mode));
            el(&mut out, "   ", "ignore_file", d.ignore_file.as_ref());
            el(
                &mut out,
                "   ",
                "link_depth",
                d.link_depth.map(|v| v.to_string()),
            );
            if d.dereference {
                el(&mut out, "   ", "dereference", yn(true));
            }
            el(
                &mut out,
                "   ",
                "recursion_level",
                d.recursion_level.map(|v| v.to_string()),
            );
            if d.absolute_exclude_paths.is_some()
                || d.relative_exclude_paths.is_some()
                || d.exclude_patterns.is_some()
            {
                out.push_str("   <exclude>\n");
                for p in d.absolute_exclude_paths.iter().flatten() {
                    el(&mut out, "    ", "abs_path", Some(p));
                }
                for p in d.relative_exclude_paths.iter().flatten() {
                    el(&mut out, "    ", "rel_path", Some(p));
                }
                for p in d.exclude_patterns.iter().flatten() {
                    el(&mut out, "    ", "pattern", Some(p));
                }
                out.push_str("   </exclude>\n");
            }
            out.push_str("  </dir>\n");
        }
        out.push_str(" </collect>\n");
    }
    if let Some(s) = &c.stage {
        out.push_str(" <stage>\n");
        el(&mut out, "  ", "staging_dir", s.target_dir.as_ref());
        peers_xml(&mut out, &s.local_peers, &s.remote_peers);
        out.push_str(" </stage>\n");
    }
    if let Some(p) = &c.purge {
        out.push_str(" <purge>\n");
        for d in p.purge_dirs.iter().flatten() {
            out.push_str("  <dir>\n");
            el(&mut out, "   ", "abs_path", d.absolute_path.as_ref());
            el(
                &mut out,
                "   ",
                "retain_days",
                d.retain_days.map(|v| v.to_string()),
            );
            out.push_str("  </dir>\n");
        }
        out.push_str(" </purge>\n");
    }
    out.push_str("</cb_config>\n");
    out
}

/// Options for tests: the current user as backup user, Cedar's rcp default.
pub fn options(working_dir: &Path, starting_day: Weekday) -> OptionsConfig {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap();
    let group = nix::unistd::Group::from_gid(nix::unistd::getegid())
        .unwrap()
        .unwrap();
    OptionsConfig {
        starting_day: Some(starting_day),
        working_dir: Some(working_dir.to_string_lossy().into_owned()),
        backup_user: Some(user.name),
        backup_group: Some(group.name),
        rcp_command: Some("/usr/bin/scp -B".into()),
        ..Default::default()
    }
}

/// A starting day that is not today, and today's.
pub fn not_today() -> Weekday {
    use chrono::Datelike;
    weekday(chrono::Local::now().weekday().succ())
}
pub fn today() -> Weekday {
    use chrono::Datelike;
    weekday(chrono::Local::now().weekday())
}

/// Checks `config` and runs a cedar action on it through the library.
pub fn cedar(
    config: &Config,
    full: bool,
    now: chrono::DateTime<chrono::Local>,
    action: fn(&cedar::actions::ActionContext<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let settings = config.check()?;
    let ctx = cedar::actions::ActionContext::new(&settings, full, false, now);
    action(&ctx)
}

/// A collect dir item with the given path and everything else unset.
pub fn dir_item(path: &Path) -> CollectDir {
    CollectDir {
        absolute_path: Some(path.to_string_lossy().into_owned()),
        ..Default::default()
    }
}

/// When running as root: `nobody`'s uid and a group for it (`nogroup` or
/// `nobody`), to check that outputs are given to the backup user. `None`
/// (the test skips) when not root or when those do not exist.
pub fn unprivileged_owner() -> Option<(u32, &'static str)> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: not root");
        return None;
    }
    let nobody = nix::unistd::User::from_name("nobody").ok()??;
    let group = ["nogroup", "nobody"]
        .into_iter()
        .find(|g| matches!(nix::unistd::Group::from_name(g), Ok(Some(_))))?;
    Some((nobody.uid.as_raw(), group))
}
