//! Shared by the restore and verify tests: running `cback verify` and
//! `cback restore`, a source tree with modes and mtimes of its own, and a
//! tree's bytes, modes and mtimes to compare a restore with.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `cback ARGS` (no date fixed, no config unless ARGS give one).
pub fn cback(args: &[&str]) -> Output {
    cback_env(args, &[])
}

/// Runs `cback ARGS` with `env` added.
pub fn cback_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cback"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A file's length and a digest of its bytes (a symlink's: of its target),
/// its mode and its mtime (0 for a symlink).
pub type Shape = (usize, u64, u32, i64);

/// Path -> [`Shape`] of every file, directory and symlink below `dir`.
pub fn tree(dir: &Path) -> BTreeMap<String, Shape> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let bytes = if m.is_file() {
                std::fs::read(&p).unwrap()
            } else if m.file_type().is_symlink() {
                std::fs::read_link(&p)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                stack.push(p.clone());
                Vec::new()
            };
            let mtime = if m.file_type().is_symlink() {
                0
            } else {
                m.mtime()
            };
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            out.insert(rel, (bytes.len(), h.finish(), m.mode(), mtime));
        }
    }
    out
}

/// Pseudo-random bytes (xorshift): incompressible, so an archive of them
/// is as large as they are.
pub fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A source tree with modes and mtimes of its own (`etc/ssh/key` holds
/// `key_bytes`), the kind of tree collect archives.
pub fn source_tree(root: &Path, key_bytes: &[u8]) {
    std::fs::create_dir_all(root.join("etc/ssh")).unwrap();
    std::fs::write(root.join("etc/hosts"), b"127.0.0.1 localhost\n").unwrap();
    std::fs::write(root.join("etc/ssh/key"), key_bytes).unwrap();
    std::fs::write(root.join("run.sh"), b"#!/bin/sh\n").unwrap();
    std::os::unix::fs::symlink("etc/hosts", root.join("hosts")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for (p, mode) in [
        ("etc/ssh/key", 0o600),
        ("run.sh", 0o755),
        ("etc/ssh", 0o700),
    ] {
        std::fs::set_permissions(root.join(p), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    for (i, p) in ["etc/hosts", "etc/ssh/key", "run.sh", "etc/ssh", "etc"]
        .iter()
        .enumerate()
    {
        let t = std::fs::FileTimes::new().set_modified(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000 + i as u64 * 77),
        );
        std::fs::File::open(root.join(p))
            .unwrap()
            .set_times(t)
            .unwrap();
    }
}
