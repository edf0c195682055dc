//! A week of `cback collect stage store` through the real binary
//! (`CEDAR_TODAY` fixing each night) onto the emulated burner, one
//! directory collected daily, one incrementally and one split by
//! `recursion_level` into an archive per subdirectory, the source changing
//! between nights (modified and new files, new directories, directory modes
//! and mtimes changed, files touched). Then every day is restored with
//! `cback restore -x` into one empty target, in date order, and the
//! restored trees are the source trees again: every file, directory and
//! symlink with its bytes, mode (directories' too), mtime (directories' too)
//! and, as root, owner; excluded directories stay out. GNU tar, unpacking
//! the same archives in the same order with `tar -xpf`, makes the same tree.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use support::restore::{cback, text};
use support::store::{date, day_path};
use support::{current_account, have, runs_as, Account};

/// One path of a tree as a restore must give it back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    /// 'f' file, 'd' directory, 'l' symlink.
    kind: char,
    /// A file's bytes, a symlink's target.
    bytes: Vec<u8>,
    mode: u32,
    mtime: i64,
    /// uid and gid; compared only as root.
    owner: Option<(u32, u32)>,
}

/// Every path below `root` (relative), `root` itself as `.`.
fn nodes(root: &Path, owners: bool) -> BTreeMap<String, Node> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let ft = m.file_type();
        let (kind, bytes) = if ft.is_symlink() {
            let t = std::fs::read_link(&p).unwrap();
            ('l', t.into_os_string().into_encoded_bytes())
        } else if ft.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            ('d', Vec::new())
        } else {
            ('f', std::fs::read(&p).unwrap())
        };
        let rel = if rel.is_empty() { ".".into() } else { rel };
        out.insert(
            rel,
            Node {
                kind,
                bytes,
                mode: m.mode() & 0o7777,
                mtime: m.mtime(),
                owner: owners.then(|| (m.uid(), m.gid())),
            },
        );
    }
    out
}

/// What differs between two trees, one line per path.
fn differences(want: &BTreeMap<String, Node>, got: &BTreeMap<String, Node>) -> Vec<String> {
    let mut out = Vec::new();
    for (p, w) in want {
        match got.get(p) {
            None => out.push(format!("{p}: missing")),
            Some(g) if g != w => {
                let what = if g.kind != w.kind {
                    format!("kind {} instead of {}", g.kind, w.kind)
                } else if g.bytes != w.bytes {
                    "bytes differ".into()
                } else {
                    format!(
                        "mode {:o} mtime {} owner {:?} instead of mode {:o} mtime {} owner {:?}",
                        g.mode, g.mtime, g.owner, w.mode, w.mtime, w.owner
                    )
                };
                out.push(format!("{p} ({}): {what}", w.kind));
            }
            Some(_) => {}
        }
    }
    for p in got.keys().filter(|p| !want.contains_key(*p)) {
        out.push(format!("{p}: should not be there"));
    }
    out
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets the mtime of `p` (a file or directory), after its contents changed.
fn set_mtime(p: &Path, secs: u64) {
    let t = std::fs::FileTimes::new().set_modified(UNIX_EPOCH + Duration::from_secs(secs));
    std::fs::File::open(p).unwrap().set_times(t).unwrap();
}

/// Sets a symlink's own mtime.
fn set_link_mtime(p: &Path, secs: i64) {
    let t = nix::sys::time::TimeSpec::new(secs, 0);
    nix::sys::stat::utimensat(
        None,
        p,
        &t,
        &t,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .unwrap();
}

fn chown(p: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(gid)).unwrap();
}

struct Week {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    root_user: bool,
}

impl Week {
    fn new() -> Week {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        for d in ["work", "collect", "stage"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        Week {
            _tmp: tmp,
            root,
            root_user: nix::unistd::geteuid().is_root(),
        }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn spec(&self) -> String {
        format!(
            "emulated:{}?profile=dvd+rw&busy=0",
            self.p("disc.img").display()
        )
    }

    fn config(&self) -> PathBuf {
        let (user, group) = current_account();
        let xml = format!(
            r#"<?xml version="1.0"?>
<cb_config>
 <options><starting_day>monday</starting_day><working_dir>{work}</working_dir>
  <backup_user>{user}</backup_user><backup_group>{group}</backup_group>
  <rcp_command>/usr/bin/scp -B</rcp_command></options>
 <collect><collect_dir>{collect}</collect_dir><collect_mode>daily</collect_mode>
  <archive_mode>targz</archive_mode><ignore_file>.cbignore</ignore_file>
  <dir><abs_path>{daily}</abs_path><exclude><rel_path>skipped</rel_path></exclude></dir>
  <dir><abs_path>{incr}</abs_path><collect_mode>incr</collect_mode>
   <archive_mode>tarbz2</archive_mode></dir>
  <dir><abs_path>{split}</abs_path><recursion_level>1</recursion_level>
   <archive_mode>tar</archive_mode></dir>
 </collect>
 <stage><staging_dir>{stage}</staging_dir>
  <peer><name>host1</name><type>local</type><collect_dir>{collect}</collect_dir></peer></stage>
 <store><source_dir>{stage}</source_dir><media_type>dvd+rw</media_type>
  <device_type>dvdwriter</device_type>
  <target_device>{spec}</target_device><check_data>Y</check_data></store>
</cb_config>
"#,
            work = self.p("work").display(),
            collect = self.p("collect").display(),
            stage = self.p("stage").display(),
            daily = self.p("src/daily").display(),
            incr = self.p("src/incr").display(),
            split = self.p("src/split").display(),
            spec = self.spec().replace('&', "&amp;"),
        );
        let conf = self.p("cback.conf");
        std::fs::write(&conf, xml).unwrap();
        conf
    }

    /// `cback collect stage store` on `night`.
    fn night(&self, night: chrono::NaiveDate) {
        let conf = self.config();
        let o = Command::new(env!("CARGO_BIN_EXE_cback"))
            .arg("-c")
            .arg(&conf)
            .arg("-l")
            .arg(self.p("cback.log"))
            .args(["collect", "stage", "store"])
            .env("CEDAR_TODAY", night.format("%Y-%m-%d").to_string())
            .output()
            .unwrap();
        let log = std::fs::read_to_string(self.p("cback.log")).unwrap_or_default();
        assert!(o.status.success(), "night {night}: {}\n{log}", text(&o));
    }

    /// The first night's source: nested directories of their own modes,
    /// files, symlinks, an excluded and an ignored directory.
    fn build(&self) {
        let (d, i) = (self.p("src/daily"), self.p("src/incr"));
        write(&d.join("etc/hosts"), b"127.0.0.1 localhost\n");
        std::fs::hard_link(d.join("etc/hosts"), d.join("etc/hosts.bak")).unwrap();
        write(&d.join("etc/ssh/key"), b"secret key\n");
        write(&d.join("etc/ssh/key.pub"), b"public key\n");
        write(&d.join("run.sh"), b"#!/bin/sh\n");
        write(&d.join("skipped/junk"), b"not backed up\n");
        std::fs::create_dir_all(d.join("empty")).unwrap();
        std::fs::create_dir_all(i.join("home/alice/empty")).unwrap();
        std::os::unix::fs::symlink("etc/hosts", d.join("hosts")).unwrap();
        std::os::unix::fs::symlink("etc/ssh", d.join("ssh")).unwrap();
        write(&i.join("home/alice/notes.txt"), b"notes\n");
        write(
            &i.join("home/alice/mail/inbox"),
            &support::restore::noise(50_000, 3),
        );
        write(&i.join("home/bob/todo"), b"todo\n");
        write(&i.join("private/.cbignore"), b"");
        write(&i.join("private/diary"), b"not backed up either\n");
        std::os::unix::fs::symlink("alice/notes.txt", i.join("home/notes")).unwrap();
        let s = self.p("src/split");
        write(&s.join("top"), b"top\n");
        write(&s.join("a/file"), b"a\n");
        write(&s.join("b/c/file"), b"c\n");
        chmod(&s.join("a"), 0o750);
        chmod(&s.join("b/c"), 0o700);
        chmod(&d.join("etc/ssh/key"), 0o600);
        chmod(&d.join("run.sh"), 0o755);
        chmod(&d.join("etc/ssh"), 0o700);
        chmod(&d.join("etc"), 0o750);
        chmod(&i.join("home/alice"), 0o700);
        chmod(&i.join("home/alice/mail"), 0o750);
        chmod(&i.join("home/alice/empty"), 0o700);
        if self.root_user {
            chmod(&i.join("home"), 0o2775);
            chmod(&d.join("empty"), 0o555);
            chown(&i.join("home/bob"), 4_000_001, 4_000_002);
            chown(&i.join("home/bob/todo"), 4_000_001, 4_000_002);
            chown(&d.join("etc/ssh/key"), 4_000_003, 0);
            chown(&d.join("hosts"), 4_000_004, 4_000_005);
        }
        set_link_mtime(&d.join("hosts"), 1_500_000_000);
        self.set_times(1_600_000_000);
    }

    /// Specific mtimes, set after the contents changed (which changed the
    /// directories' mtimes), some older than their contents.
    fn set_times(&self, base: u64) {
        let (d, i) = (self.p("src/daily"), self.p("src/incr"));
        for (n, p) in [
            d.join("etc/hosts"),
            d.join("etc/ssh/key"),
            d.join("etc/ssh"),
            d.join("etc"),
            d.join("empty"),
            i.join("home/alice/mail"),
            i.join("home/alice/empty"),
            i.join("home/alice"),
            i.join("home"),
            self.p("src/split/b/c"),
            self.p("src/split/b"),
            self.p("src/split"),
        ]
        .iter()
        .enumerate()
        {
            set_mtime(p, base + 1000 * n as u64);
        }
    }

    /// The changes of night `n` (2, 3, ...): no deletions (tar cannot
    /// express them); in the incremental tree only changes of content or of
    /// directories (a file only touched or chmod'ed is unchanged to its
    /// digest and, as in Cedar, not collected again).
    fn change(&self, n: u64) {
        let (d, i) = (self.p("src/daily"), self.p("src/incr"));
        write(&d.join("etc/hosts"), format!("night {n}\n").as_bytes());
        write(
            &i.join("home/alice/notes.txt"),
            format!("notes {n}\n").as_bytes(),
        );
        let new = i.join(format!("new{n}/deeper"));
        write(&new.join("file"), format!("new on night {n}\n").as_bytes());
        chmod(&new, 0o710);
        chmod(&i.join(format!("new{n}")), 0o750);
        set_mtime(&new, 1_650_000_000 + n);
        match n {
            2 => {
                // a directory's mode, files' modes and times in the daily tree
                chmod(&i.join("home/alice/mail"), 0o700);
                chmod(&d.join("run.sh"), 0o700);
                set_mtime(&d.join("etc/ssh/key.pub"), 1_234_567_890);
                write(&d.join("empty/now not"), b"");
            }
            _ => {
                chmod(&d.join("etc"), 0o755);
                chmod(&i.join("home/alice"), 0o750);
                write(&i.join("home/bob/done"), b"done\n");
                write(&self.p("src/split/a/more"), b"more\n");
                chmod(&self.p("src/split/b"), 0o711);
            }
        }
        self.set_times(1_600_000_000 + 100 * n);
    }

    /// The trees a restore must give back: the sources without what
    /// collect leaves out.
    fn want(&self) -> BTreeMap<String, BTreeMap<String, Node>> {
        let mut out = BTreeMap::new();
        for (name, gone) in [("daily", "skipped"), ("incr", "private"), ("split", "")] {
            let mut t = nodes(&self.p("src").join(name), self.root_user);
            if !gone.is_empty() {
                t.retain(|p, _| p != gone && !p.starts_with(&format!("{gone}/")));
            }
            out.insert(name.to_string(), t);
        }
        out
    }

    /// The restored trees below `target` (which holds the sources' paths).
    fn got(&self, target: &Path) -> BTreeMap<String, BTreeMap<String, Node>> {
        let src = self.p("src");
        let at = target.join(src.strip_prefix("/").unwrap());
        ["daily", "incr", "split"]
            .iter()
            .map(|n| (n.to_string(), nodes(&at.join(n), self.root_user)))
            .collect()
    }
}

fn assert_same(
    who: &str,
    want: &BTreeMap<String, BTreeMap<String, Node>>,
    got: &BTreeMap<String, BTreeMap<String, Node>>,
) {
    let mut diff = Vec::new();
    for (name, w) in want {
        for d in differences(w, &got[name]) {
            diff.push(format!("{name}/{d}"));
        }
    }
    assert!(
        diff.is_empty(),
        "{who}: the restored tree differs from the source:\n{}",
        diff.join("\n")
    );
}

#[test]
fn a_week_restored_in_date_order_is_the_source_tree() {
    let tar = have("tar");
    let owners = runs_as(Account::Root);
    let w = Week::new();
    w.build();
    let nights: Vec<_> = (2..=4).map(|d| date(&format!("2026-03-{d:02}"))).collect();
    for (n, &night) in nights.iter().enumerate() {
        if n > 0 {
            w.change(n as u64 + 1);
        }
        w.night(night);
    }
    let want = w.want();
    assert!(want["incr"].contains_key("new3/deeper/file"));
    assert!(owners == want["daily"]["etc/ssh/key"].owner.is_some());

    // cback restore -x, day by day in date order, into one empty target.
    let target = w.p("restored");
    let spec = w.spec();
    for night in &nights {
        let what = format!("{}/host1", night.format("%Y-%m-%d"));
        let o = cback(&[
            "restore",
            "-d",
            &spec,
            "-x",
            &what,
            target.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", text(&o));
    }
    assert_same("cback restore -x", &want, &w.got(&target));

    // GNU tar on the same archives (as staged, as on the disc), same order.
    if tar {
        let gnu = w.p("gnu");
        std::fs::create_dir_all(&gnu).unwrap();
        for night in &nights {
            let peer = w.p("stage").join(day_path(*night)).join("host1");
            let mut archives: Vec<_> = std::fs::read_dir(&peer)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().contains(".tar"))
                .collect();
            archives.sort();
            // daily, incr, split's a and b, then split's own
            assert_eq!(archives.len(), 5, "{archives:?}");
            for a in archives {
                let o = Command::new("tar")
                    .arg("-xpf")
                    .arg(&a)
                    .arg("-C")
                    .arg(&gnu)
                    .output()
                    .unwrap();
                assert!(o.status.success(), "tar -xpf {}: {}", a.display(), text(&o));
            }
        }
        assert_same("GNU tar -xpf", &want, &w.got(&gnu));
    }
}
