//! Helpers shared by the `actions_*` integration tests: locating the real
//! Cedar Backup 3, building trees, rendering configs as Cedar XML, reading
//! archives back.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

mod account;
mod listing;
mod tool;
#[allow(unused_imports)] // not every test binary that loads this module lists a directory
pub use listing::sorted_names;
#[allow(unused_imports)] // not every test binary that loads this module runs a tool
pub use tool::tool;
pub mod nights;
pub mod restore;
pub mod sshd;
pub mod store;

pub use account::current_account;

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

/// Every field of one tar header block that a reader shows, parsed (the
/// checksum and padding are left out: they follow from the rest).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fields {
    pub kind: char,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: u64,
    pub uname: String,
    pub gname: String,
    /// magic and version: `ustar  \0` for GNU, `ustar\x0000` for POSIX
    pub magic: Vec<u8>,
    pub dev: (u32, u32),
}

fn fields(h: &tar::Header) -> Fields {
    let b = h.as_bytes();
    let text = |r: std::ops::Range<usize>| {
        let f = &b[r];
        let end = f.iter().position(|&c| c == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..end]).into_owned()
    };
    Fields {
        kind: h.entry_type().as_byte() as char,
        mode: h.mode().unwrap(),
        uid: h.uid().unwrap(),
        gid: h.gid().unwrap(),
        size: h.entry_size().unwrap(),
        mtime: h.mtime().unwrap(),
        uname: text(265..297),
        gname: text(297..329),
        magic: b[257..265].to_vec(),
        dev: (
            h.device_major().ok().flatten().unwrap_or(0),
            h.device_minor().ok().flatten().unwrap_or(0),
        ),
    }
}

/// One member of an archive: its full name and link target (after GNU
/// long-name/long-link extension blocks), its header, its data, and the
/// types of the extension blocks that preceded it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub name: String,
    /// the name's bytes as stored (names need not be UTF-8)
    pub raw_name: Vec<u8>,
    pub kind: char,
    pub link: String,
    pub data: Vec<u8>,
    pub header: Fields,
    pub extensions: Vec<char>,
}

/// Reads every member of a .tar, .tar.gz or .tar.bz2 file, in archive
/// order, seeing the GNU `L`/`K` (and any pax `x`/`g`) blocks itself.
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
    let (mut long_name, mut long_link, mut extensions) = (None, None, Vec::new());
    let bytes = |mut d: Vec<u8>| {
        while d.last() == Some(&0) {
            d.pop();
        }
        d
    };
    let cstr = |d: Vec<u8>| String::from_utf8_lossy(&bytes(d)).into_owned();
    for entry in archive.entries().unwrap().raw(true) {
        let mut e = entry.unwrap();
        let header = fields(e.header());
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        match header.kind {
            'L' => {
                long_name = Some(bytes(data));
                extensions.push('L');
            }
            'K' => {
                long_link = Some(cstr(data));
                extensions.push('K');
            }
            'x' | 'g' => panic!(
                "{}: unexpected pax header (Cedar writes GNU tar)",
                path.display()
            ),
            kind => {
                let raw_name = long_name
                    .take()
                    .unwrap_or_else(|| bytes(e.header().as_bytes()[..100].to_vec()));
                out.push(Member {
                    name: String::from_utf8_lossy(&raw_name).into_owned(),
                    raw_name,
                    kind,
                    link: long_link
                        .take()
                        .unwrap_or_else(|| cstr(e.header().as_bytes()[157..257].to_vec())),
                    data,
                    header,
                    extensions: std::mem::take(&mut extensions),
                })
            }
        }
    }
    out
}
/// A member as a user restoring the archive sees it: every header field,
/// the data, the link target, and for hard links the names of the whole
/// group sharing the inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub header: Fields,
    pub link: String,
    pub data: Vec<u8>,
    pub hard_links: Vec<String>,
    pub extensions: Vec<char>,
}

/// An archive as a restore sees it, keyed by member name, normalising only
/// cedar's documented differences from Cedar's: members sorted by name with
/// each name once (Cedar's list can repeat a path), and hard links resolved,
/// since which path of a group comes first (and so is the regular member)
/// follows listing order: a hard link gets its target's data, size and type
/// `0`, and every member of a group lists the group's names.
pub fn restored(path: &Path) -> BTreeMap<String, Restored> {
    restored_members(path, members(path))
}

/// [`restored`] of some of the members of the archive at `path`.
pub fn restored_members(path: &Path, all: Vec<Member>) -> BTreeMap<String, Restored> {
    let mut out: BTreeMap<String, Restored> = BTreeMap::new();
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    fn root(parent: &BTreeMap<String, String>, mut n: String) -> String {
        while let Some(p) = parent.get(&n) {
            if *p == n {
                break;
            }
            n = p.clone();
        }
        n
    }
    let regular: BTreeMap<&str, &Member> = all
        .iter()
        .filter(|m| m.kind == '0')
        .map(|m| (m.name.as_str(), m))
        .collect();
    for m in &all {
        if out.contains_key(&m.name) {
            continue;
        }
        let mut r = Restored {
            header: m.header.clone(),
            link: m.link.clone(),
            data: m.data.clone(),
            hard_links: Vec::new(),
            extensions: m.extensions.clone(),
        };
        if m.kind == '1' {
            let target = regular.get(m.link.as_str()).unwrap_or_else(|| {
                panic!(
                    "{}: hard link {} to {}, which is no earlier regular member",
                    path.display(),
                    m.name,
                    m.link
                )
            });
            r.header.kind = '0';
            r.header.size = target.header.size;
            r.data = target.data.clone();
            r.link = String::new();
            r.extensions.retain(|&e| e != 'K');
            let (a, b) = (root(&parent, m.name.clone()), root(&parent, m.link.clone()));
            parent.insert(a.clone(), a.clone());
            parent.insert(b.clone(), a);
        }
        out.insert(m.name.clone(), r);
    }
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in parent.keys() {
        groups
            .entry(root(&parent, n.clone()))
            .or_default()
            .push(n.clone());
    }
    for (name, r) in out.iter_mut() {
        if parent.contains_key(name) {
            r.hard_links = groups[&root(&parent, name.clone())].clone();
        }
    }
    out
}

/// What differs between two archives as a restore sees them, one line per
/// difference (empty when they are the same).
pub fn archive_differences(cb3: &Path, cedar: &Path) -> Vec<String> {
    restored_differences(&restored(cb3), &restored(cedar))
}

/// What differs between two archives' [`restored`] members, one line per
/// difference (empty when they are the same).
pub fn restored_differences(
    a: &BTreeMap<String, Restored>,
    b: &BTreeMap<String, Restored>,
) -> Vec<String> {
    let mut out = Vec::new();
    for name in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
        match (a.get(name), b.get(name)) {
            (Some(_), None) => out.push(format!("{name}: only in cback3's archive")),
            (None, Some(_)) => out.push(format!("{name}: only in cedar's archive")),
            (Some(x), Some(y)) => {
                if x.header != y.header {
                    out.push(format!(
                        "{name}: header differs\n  cback3: {:?}\n  cedar:  {:?}",
                        x.header, y.header
                    ));
                }
                if x.link != y.link {
                    out.push(format!("{name}: link {:?} vs {:?}", x.link, y.link));
                }
                if x.hard_links != y.hard_links {
                    out.push(format!(
                        "{name}: hard links {:?} vs {:?}",
                        x.hard_links, y.hard_links
                    ));
                }
                if x.extensions != y.extensions {
                    out.push(format!(
                        "{name}: extension blocks {:?} vs {:?}",
                        x.extensions, y.extensions
                    ));
                }
                if x.data != y.data {
                    let at = x
                        .data
                        .iter()
                        .zip(&y.data)
                        .take_while(|(p, q)| p == q)
                        .count();
                    out.push(format!(
                        "{name}: data differs ({} vs {} bytes, first at byte {at})",
                        x.data.len(),
                        y.data.len()
                    ));
                }
            }
            (None, None) => unreachable!(),
        }
    }
    out
}

/// Member names of an archive, sorted and each once.
pub fn member_names(path: &Path) -> Vec<String> {
    restored(path).into_keys().collect()
}

/// The python of the reference Cedar Backup 3: `$CEDAR_CB3_PYTHON`, else the
/// `python` beside `cback3`.
pub fn cb3_python(cb3: &Path) -> PathBuf {
    std::env::var_os("CEDAR_CB3_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| cb3.with_file_name("python"))
}

/// A digest file's content as `{hex of the path's bytes: sha1}`: cback3's
/// pickle read by Python's own `pickle`, cedar's format by cedar's parser.
pub fn digest_content(cb3: &Path, path: &Path) -> BTreeMap<String, String> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if data.starts_with(b"# cedar digest map") {
        let map = cedar::engine::digest::parse(&data).unwrap();
        return map
            .into_iter()
            .map(|(k, v)| (hex::encode(k.as_bytes()), v))
            .collect();
    }
    let out = Command::new(cb3_python(cb3))
        .args([
            "-c",
            "import json, os, pickle, sys\n\
             d = pickle.load(open(sys.argv[1], 'rb'))\n\
             print(json.dumps({os.fsencode(k).hex(): v for k, v in d.items()}))",
        ])
        .arg(path)
        .output()
        .expect("cback3's python runs");
    assert!(
        out.status.success(),
        "unpickling {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// File names in a directory, sorted. The directory must exist: a missing
/// one fails the test instead of comparing equal to another missing one.
pub fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// One entry of a directory tree as `ls -lR` would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub data: Vec<u8>,
}

/// Every entry under `dir` (which must exist), by path relative to it.
pub fn tree(dir: &Path) -> BTreeMap<String, Entry> {
    use std::os::unix::fs::MetadataExt;
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        for name in names(dir) {
            let p = dir.join(&name);
            let m = std::fs::symlink_metadata(&p).unwrap();
            let kind = if m.is_dir() {
                'd'
            } else if m.file_type().is_symlink() {
                'l'
            } else if m.is_file() {
                'f'
            } else {
                '?'
            };
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            out.insert(
                rel,
                Entry {
                    kind,
                    mode: m.mode() & 0o7777,
                    uid: m.uid(),
                    gid: m.gid(),
                    mtime: m.mtime(),
                    data: if kind == 'f' {
                        std::fs::read(&p).unwrap()
                    } else {
                        Vec::new()
                    },
                },
            );
            if kind == 'd' {
                walk(base, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
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
    let (user, group) = current_account();
    OptionsConfig {
        starting_day: Some(starting_day),
        working_dir: Some(working_dir.to_string_lossy().into_owned()),
        backup_user: Some(user),
        backup_group: Some(group),
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

/// The account a check needs: root (owners, device nodes, `su`) or a
/// normal user (the fallback log path, permission errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Root,
    User,
}

/// Whether a check that needs `account` can run here. When it cannot, the
/// test says so; outside CI it then passes without the check. Under CI that
/// is a failure, except in the .ci/run pass declared (`CEDAR_CI_PASS`) to be
/// the other account's, because .ci/run's other pass runs the check.
pub fn runs_as(account: Account) -> bool {
    let root = nix::unistd::geteuid().is_root();
    let (have, needs, other_pass) = match account {
        Account::Root => (root, "root", "user"),
        Account::User => (!root, "a normal user", "root"),
    };
    if have {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        let pass = std::env::var("CEDAR_CI_PASS").unwrap_or_default();
        assert_eq!(
            pass, other_pass,
            "this check needs {needs}; under CI only .ci/run's {other_pass} pass \
             (CEDAR_CI_PASS={other_pass}) may leave it to the other pass"
        );
        eprintln!("note: needs {needs}; .ci/run's other pass runs it");
    } else {
        eprintln!("skipping: needs {needs}");
    }
    false
}

/// When running as root: `nobody`'s uid and a group for it (`nogroup` or
/// `nobody`), to check that outputs are given to the backup user. `None`
/// (the test skips, see [`runs_as`]) when not root.
pub fn unprivileged_owner() -> Option<(u32, &'static str)> {
    if !runs_as(Account::Root) {
        return None;
    }
    let nobody = nix::unistd::User::from_name("nobody")
        .ok()
        .flatten()
        .expect("user nobody exists");
    let group = ["nogroup", "nobody"]
        .into_iter()
        .find(|g| matches!(nix::unistd::Group::from_name(g), Ok(Some(_))))
        .expect("group nogroup or nobody exists");
    Some((nobody.uid.as_raw(), group))
}

/// Whether a reader program is on PATH; a missing one fails under CI and
/// is skipped with a note otherwise.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is required in CI but not installed"
        );
        eprintln!("note: {tool} not installed; skipping");
    }
    found
}

/// Whether python3 can import pycdlib (same rule as [`have`]).
pub fn have_pycdlib() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pycdlib"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with pycdlib is required in CI"
        );
        eprintln!("note: pycdlib not importable; skipping");
    }
    ok
}

/// Runs a Python snippet with `input` on stdin and returns its stdout.
pub fn run_python(python: &Path, script: &str, input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python failed");
    String::from_utf8(out.stdout).expect("utf-8")
}
