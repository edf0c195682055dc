//! Days the split and encrypt extensions reworked, end to end through the
//! real binary: a source tree collected (`cback collect stage split store`
//! one night, `cback collect stage encrypt split store` the next, with a
//! throwaway gpg key in a private GNUPGHOME, `CEDAR_TODAY` fixing the
//! dates) onto an emulated DVD+R, then verified (the pieces and `.gpg`
//! files against their manifests) and restored: split archives joined,
//! encrypted ones decrypted with the restoring user's gpg, and with `-x`
//! unpacked into a tree identical to the source (bytes, modes, mtimes).
//! A damaged piece is named and its archive not left behind; a key that is
//! not in the keyring is a failure that says so.

mod ext_support;
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ext_support::{tool, GpgHome};
use support::restore::*;
use support::store::files;

const RECIPIENT: &str = "Backup User <backup@example.invalid>";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn spec(&self) -> String {
        format!(
            "emulated:{}?profile=dvd+r&busy=0",
            self.path("disc.img").display()
        )
    }

    /// A config collecting `src` daily as tar.gz from the local peer
    /// host1, running `extensions` (encrypt at 250, split at 260, so the
    /// encrypted files are what is split) before store.
    fn config(&self, encrypt: bool) -> PathBuf {
        let (user, group) = support::current_account();
        let ext = |name: &str, index: u32| {
            format!(
                "<action><name>{name}</name><module>CedarBackup3.extend.{name}</module>\
                 <function>executeAction</function><index>{index}</index></action>"
            )
        };
        let xml = format!(
            r#"<?xml version="1.0"?>
<cb_config>
 <extensions>{encrypt_action}{split_action}</extensions>
 <options><starting_day>monday</starting_day><working_dir>{work}</working_dir>
  <backup_user>{user}</backup_user><backup_group>{group}</backup_group>
  <rcp_command>/usr/bin/scp -B</rcp_command></options>
 <collect><collect_dir>{collect}</collect_dir><collect_mode>daily</collect_mode>
  <archive_mode>targz</archive_mode><ignore_file>.cbignore</ignore_file>
  <dir><abs_path>{src}</abs_path></dir></collect>
 <stage><staging_dir>{stage}</staging_dir>
  <peer><name>host1</name><type>local</type><collect_dir>{collect}</collect_dir></peer></stage>
 <store><source_dir>{stage}</source_dir><media_type>dvd+r</media_type>
  <device_type>dvdwriter</device_type><target_device>{spec}</target_device></store>
 <encrypt><encrypt_mode>gpg</encrypt_mode><encrypt_target>Backup User</encrypt_target></encrypt>
 <split><size_limit>100 KB</size_limit><split_size>40 KB</split_size></split>
</cb_config>
"#,
            encrypt_action = if encrypt {
                ext("encrypt", 250)
            } else {
                String::new()
            },
            split_action = ext("split", 260),
            work = self.path("work").display(),
            collect = self.path("collect").display(),
            stage = self.path("stage").display(),
            src = self.path("src").display(),
            spec = self.spec().replace('&', "&amp;"),
        );
        let conf = self.path(if encrypt {
            "encrypt.conf"
        } else {
            "split.conf"
        });
        std::fs::write(&conf, xml).unwrap();
        conf
    }

    /// Runs `cback -c CONF ACTIONS...` on `day`, expecting success.
    fn night(&self, conf: &Path, day: &str, actions: &[&str], env: &[(&str, &str)]) {
        let mut args = vec![conf.to_str().unwrap()];
        args.insert(0, "-c");
        let log = self.path("cback.log");
        args.extend(["-l", log.to_str().unwrap()]);
        args.extend(actions);
        let mut env = env.to_vec();
        env.push(("CEDAR_TODAY", day));
        let o = cback_env(&args, &env);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{actions:?} on {day}: {}\n{}",
            text(&o),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    fn staged_peer(&self, day: &str) -> BTreeMap<String, Vec<u8>> {
        files(&self.path("stage").join(day.replace('-', "/")).join("host1"))
    }
}

/// The one archive collect made of `src` (its name ends in `.tar.gz`),
/// by the pieces of it in a staged peer directory.
fn archive_name(staged: &BTreeMap<String, Vec<u8>>) -> String {
    let piece = staged
        .keys()
        .find(|k| k.contains(".tar.gz") && k.ends_with("_00000"))
        .unwrap_or_else(|| panic!("no split archive among {:?}", staged.keys()));
    let name = piece.strip_suffix("_00000").unwrap();
    name.strip_suffix(".gpg").unwrap_or(name).to_string()
}

/// A tree as collect's archives can restore it: Cedar's archives (and so
/// cedar's) hold files and symlinks only, no directory entries, so a
/// directory comes back with the umask's mode and the restore's time; the
/// names of directories, and every file's and link's bytes, mode and mtime.
fn restorable(t: BTreeMap<String, Shape>) -> BTreeMap<String, Option<Shape>> {
    t.into_iter()
        .map(|(k, v)| {
            let dir = v.2 & 0o170000 == 0o040000;
            (k, (!dir).then_some(v))
        })
        .collect()
}

/// The pieces `NAME_00000`... joined.
fn joined(staged: &BTreeMap<String, Vec<u8>>, name: &str) -> (usize, Vec<u8>) {
    let mut out = Vec::new();
    let mut n = 0;
    while let Some(b) = staged.get(&format!("{name}_{n:05}")) {
        out.extend(b);
        n += 1;
    }
    (n, out)
}

#[test]
fn split_and_encrypted_days_verify_and_restore_into_the_source_tree() {
    let Some(gpg) = tool("gpg", &[]) else { return };
    let keys = GpgHome::new(&gpg, RECIPIENT);
    let s = Setup {
        dir: tempfile::tempdir().unwrap(),
    };
    for d in ["work", "collect", "stage"] {
        std::fs::create_dir_all(s.path(d)).unwrap();
    }
    let src = s.path("src");
    // 300 KB of noise: the archive is well over split's 100 KB limit.
    source_tree(&src, &noise(300_000, 1));
    let env = [("GNUPGHOME", keys.path())];

    // Night 1: split only.
    s.night(
        &s.config(false),
        "2026-03-02",
        &["collect", "stage", "split", "store"],
        &[],
    );
    let night1 = restorable(tree(&src));
    let staged1 = s.staged_peer("2026-03-02");
    let name = archive_name(&staged1);
    let (n1, archive1) = joined(&staged1, &name);
    assert!(n1 >= 8, "{n1} pieces of {name}");
    // Night 2: the source changed, encrypted then split.
    std::fs::write(src.join("etc/added"), noise(20_000, 2)).unwrap();
    std::fs::write(src.join("run.sh"), b"#!/bin/sh\necho changed\n").unwrap();
    std::fs::write(s.path("stage/2026/03/02/cback.encrypt"), b"").unwrap();
    s.night(
        &s.config(true),
        "2026-03-03",
        &["collect", "stage", "encrypt", "split", "store"],
        &env,
    );
    let night2 = restorable(tree(&src));
    let staged2 = s.staged_peer("2026-03-03");
    let (n2, sealed) = joined(&staged2, &format!("{name}.gpg"));
    assert!(n2 >= 8, "{n2} pieces of {name}.gpg");
    assert_ne!(&sealed[..], &archive1[..]);

    // Verify through the drive and from the image file: every piece and
    // every .gpg file against its manifest, no key needed.
    let spec = s.spec();
    let image = s.path("disc.img");
    for disc in [spec.as_str(), image.to_str().unwrap()] {
        let o = cback(&["verify", "-q", disc]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{t}");
        assert!(
            t.lines()
                .last()
                .unwrap()
                .contains(": OK: 2 session(s), 2 day(s)"),
            "{t}"
        );
        for day in ["2026/03/02", "2026/03/03"] {
            let line = t.lines().find(|l| l.starts_with(day)).unwrap_or_default();
            assert!(line.contains(" file(s) match the manifest"), "{day}:\n{t}");
        }
    }

    // Night 1's archive: joined; with -x unpacked into night 1's tree.
    let out = s.path("r1");
    let what = format!("2026-03-02/host1/{name}");
    let o = cback(&["restore", "-d", &spec, &what, out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        std::fs::read(out.join("host1").join(&name)).unwrap() == archive1,
        "joined"
    );
    let out = s.path("r1x");
    let o = cback(&["restore", "-d", &spec, "-x", &what, out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let unpacked = out.join(src.strip_prefix("/").unwrap());
    assert_eq!(restorable(tree(&unpacked)), night1, "night 1 unpacked");

    // Night 2's: joined and decrypted with the restoring user's key, by
    // the name on the disc or the one it decrypts to; the whole peer too.
    for what in [
        format!("2026-03-03/host1/{name}.gpg"),
        format!("2026-03-03/host1/{name}"),
        "2026-03-03/host1".to_string(),
    ] {
        let out = s.path(&format!("r2x-{}", what.len()));
        let o = cback_env(
            &["restore", "-d", &spec, "-x", &what, out.to_str().unwrap()],
            &env,
        );
        assert_eq!(o.status.code(), Some(0), "{what}: {}", text(&o));
        let unpacked = out.join(src.strip_prefix("/").unwrap());
        assert_eq!(restorable(tree(&unpacked)), night2, "{what} unpacked");
    }
    let out = s.path("r2");
    let what = format!("2026-03-03/host1/{name}.gpg");
    let o = cback_env(
        &["restore", "-d", &spec, &what, out.to_str().unwrap()],
        &env,
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let decrypted = std::fs::read(out.join("host1").join(&name)).unwrap();
    let sealed_path = s.path("sealed.gpg");
    std::fs::write(&sealed_path, &sealed).unwrap();
    assert!(decrypted == keys.decrypt(&gpg, &sealed_path), "decrypted");
    // --raw: the pieces as recorded.
    let out = s.path("r2raw");
    let o = cback(&[
        "restore",
        "-d",
        &spec,
        "--raw",
        "2026-03-03",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(files(&out.join("host1")) == staged2, "raw pieces as staged");

    // Without the key: the failure is named, nothing is left behind.
    let empty = tempfile::tempdir().unwrap();
    let out = s.path("r2nokey");
    let what = format!("2026-03-03/host1/{name}.gpg");
    let o = cback_env(
        &["restore", "-d", &spec, &what, out.to_str().unwrap()],
        &[("GNUPGHOME", empty.path().to_str().unwrap())],
    );
    let _ = std::process::Command::new("gpgconf")
        .env("GNUPGHOME", empty.path())
        .args(["--kill", "gpg-agent"])
        .status();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!("gpg could not decrypt host1/{name}.gpg")),
        "{t}"
    );
    assert!(!out.join("host1").join(&name).exists(), "{t}");

    // A damaged piece: named by verify, its archive not restored.
    let piece = format!("host1/{name}.gpg_00003");
    let lba = {
        let mut m = cedar::engine::discread::Medium::open(&spec).unwrap();
        let c = cedar::engine::discread::contents(&mut m, &spec, None).unwrap();
        c.days["2026/03/03"].entries[piece.as_bytes()].extents[0].0
    };
    let decayed = format!("{spec}&unreadable={}", lba + 1);
    let o = cback(&["verify", "-q", &decayed]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "DAMAGED blocks {0}-{0} (1 blocks): 2026/03/03/{piece}",
            lba + 1
        )),
        "{t}"
    );
    assert!(t.contains("2026/03/02: "), "{t}");
    let out = s.path("r2bad");
    let o = cback_env(
        &[
            "restore",
            "-d",
            &decayed,
            "-x",
            "2026-03-03",
            out.to_str().unwrap(),
        ],
        &env,
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!("DAMAGED 2026/03/03/host1/{name}.gpg")),
        "{t}"
    );
    assert!(
        !out.join(src.strip_prefix("/").unwrap())
            .join("etc/added")
            .exists(),
        "{t}"
    );
}
