//! Peers: where stage fetches collected data from, and where managed
//! actions run.
//!
//! A local peer's collect directory is read directly. A remote peer is
//! reached with an scp-style `rcp_command` (`user@host:/collect/*`) and an
//! ssh-style `rsh_command`. When cedar runs as root with a backup user,
//! these commands run as that user through `su -s PROGRAM USER -- ARGS...`,
//! which executes the program directly with the argument vector: unlike
//! Cedar's `su USER -c "..."`, no shell ever re-parses paths or arguments.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::walk::{Walk, WalkOptions};
use super::{atomic, util};
use crate::exec::{CommandOutput, CommandRunner};

/// Runs external commands, as another local user when asked.
#[derive(Debug, Clone)]
pub struct Commands {
    /// Resolves `<override>`s and runs.
    pub runner: CommandRunner,
    /// Run as this local user through `su` (only set when running as root).
    pub local_user: Option<String>,
}

impl Commands {
    /// Runs `argv`, through `su` when a local user is set.
    pub fn run(&self, argv: &[String]) -> anyhow::Result<CommandOutput> {
        let Some(user) = &self.local_user else {
            return self.runner.run(argv).map_err(anyhow::Error::from);
        };
        let (program, args) = argv.split_first().context("empty command line")?;
        let resolved = self.runner.resolve(program);
        let exe =
            util::which(resolved).with_context(|| format!("cannot find {resolved} on PATH"))?;
        let mut full = vec![
            "su".to_string(),
            "-s".to_string(),
            exe.to_string_lossy().into_owned(),
            user.clone(),
            "--".to_string(),
        ];
        full.extend(args.iter().cloned());
        self.runner.run(&full).map_err(anyhow::Error::from)
    }

    /// Runs `argv` and fails unless it exits 0.
    pub fn run_ok(&self, argv: &[String], what: &str) -> anyhow::Result<()> {
        let out = self.run(argv)?;
        if !out.status.success() {
            let who = self
                .local_user
                .as_deref()
                .map(|u| format!(" as local user [{u}]"))
                .unwrap_or_default();
            bail!(
                "Error ({}) {what}{who}: {}",
                out.status
                    .code()
                    .map_or_else(|| out.status.to_string(), |c| c.to_string()),
                out.tail(3)
            );
        }
        Ok(())
    }
}

/// A `user@host:path` source operand, spaces escaped as Cedar does: the
/// remote side globs it (both SFTP-mode and legacy scp honour the escape).
fn remote(user: &str, host: &str, path: &str) -> String {
    format!("{user}@{host}:{}", path.replace(' ', "\\ "))
}

/// A `user@host:path` destination operand, unescaped: SFTP-mode scp (the
/// default since OpenSSH 9) takes a destination literally. This is what
/// Cedar does when run as root; legacy `scp -O` needs escapes, so a failed
/// push to a path with a space is retried escaped.
fn remote_target(user: &str, host: &str, path: &str) -> String {
    format!("{user}@{host}:{path}")
}

/// Regular files under `dir` (recursively, links excluded).
fn regular_files(dir: &Path) -> Vec<OsString> {
    let mut w = Walk::new(WalkOptions {
        exclude_links: true,
        backup: true,
        ..Default::default()
    });
    if w.add_dir_contents(dir.as_os_str(), true, false, 0, false)
        .is_err()
    {
        return Vec::new();
    }
    w.into_items()
}

/// Copies every regular file directly in `source` to `target`, keeping
/// permissions and modification times, giving copies to `ownership`.
/// Entries that are not regular files are skipped with a warning (Cedar
/// failed the whole peer on them). Returns the number of files copied.
pub fn copy_local_dir(
    source: &Path,
    target: &Path,
    ownership: Option<(u32, u32)>,
) -> anyhow::Result<usize> {
    let meta = std::fs::metadata(source)
        .with_context(|| format!("collect directory {}", source.display()))?;
    if !meta.is_dir() {
        bail!("Collect directory {} is not a directory.", source.display());
    }
    if !target.is_dir() {
        bail!(
            "Target directory {} is not a directory or does not exist on disk.",
            target.display()
        );
    }
    let mut names: Vec<OsString> = std::fs::read_dir(source)
        .with_context(|| format!("listing {}", source.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    let mut copied = 0;
    for name in names {
        if atomic::is_partial(&name) {
            log::debug!(
                "Skipped [{}], an unfinished output.",
                source.join(&name).display()
            );
            continue;
        }
        let from = source.join(&name);
        let to = target.join(&name);
        let m = std::fs::symlink_metadata(&from)
            .with_context(|| format!("reading {}", from.display()))?;
        if !m.is_file() {
            log::warn!(
                "Source [{}] is not a regular file; not staged.",
                from.display()
            );
            continue;
        }
        copy_file(&from, &to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        if let Some((uid, gid)) = ownership {
            std::os::unix::fs::chown(&to, Some(uid), Some(gid))
                .with_context(|| format!("chown {}", to.display()))?;
        }
        copied += 1;
    }
    if copied == 0 {
        bail!("Did not copy any files from local peer.");
    }
    Ok(copied)
}

fn copy_file(from: &Path, to: &Path) -> std::io::Result<()> {
    // Replace rather than write through: the target may be a leftover link.
    atomic::copy(from, to).map(drop)
}

/// A peer reached through rcp/rsh commands.
#[derive(Debug, Clone)]
pub struct RemotePeer {
    /// Host name.
    pub name: String,
    /// Collect directory on the peer.
    pub collect_dir: String,
    /// Local working directory for indicator round trips.
    pub working_dir: PathBuf,
    /// User on the peer.
    pub remote_user: String,
    /// Split copy command.
    pub rcp: Vec<String>,
    /// Split remote shell command.
    pub rsh: Vec<String>,
    /// Commands, possibly as the local backup user.
    pub commands: Commands,
}

impl RemotePeer {
    fn rcp(&self, args: [String; 2], what: &str) -> anyhow::Result<()> {
        let mut argv = self.rcp.clone();
        argv.extend(args);
        self.commands.run_ok(&argv, what)
    }

    /// Fetches `<collect_dir>/cback.collect` to see whether the peer is ready.
    pub fn check_collect_indicator(&self) -> bool {
        let dir = &self.collect_dir;
        let source = format!("{}/{}", dir.trim_end_matches('/'), util::COLLECT_INDICATOR);
        let target = self
            .working_dir
            .join(format!("{}.{}", util::COLLECT_INDICATOR, self.name));
        let _ = std::fs::remove_file(&target);
        let found = match self.rcp(
            [
                remote(&self.remote_user, &self.name, &source),
                target.to_string_lossy().into_owned(),
            ],
            &format!("copying [{source}] from remote host"),
        ) {
            Ok(()) => target.exists(),
            Err(e) => {
                log::info!("Failed looking for collect indicator: {e:#}");
                false
            }
        };
        let _ = std::fs::remove_file(&target);
        found
    }

    /// Copies every file of the peer's collect directory into `target`;
    /// returns how many files were staged. The files land in a hidden
    /// directory under `target` first and are renamed into place once the
    /// copy command succeeded, so an interrupted copy stages nothing.
    pub fn stage(&self, target: &Path, ownership: Option<(u32, u32)>) -> anyhow::Result<usize> {
        if !target.is_dir() {
            bail!(
                "Target directory {} is not a directory or does not exist on disk.",
                target.display()
            );
        }
        let incoming = atomic::partial_path(&target.join("incoming"));
        if incoming.exists() {
            std::fs::remove_dir_all(&incoming)
                .with_context(|| format!("removing {}", incoming.display()))?;
        }
        std::fs::create_dir(&incoming)
            .with_context(|| format!("creating {}", incoming.display()))?;
        // As root the copy runs as the backup user, who must be able to
        // write where it lands, as in the peer's target directory.
        if let Some((uid, gid)) = ownership {
            std::os::unix::fs::chown(&incoming, Some(uid), Some(gid))
                .with_context(|| format!("chown {}", incoming.display()))?;
        }
        let result = self.stage_through(&incoming, target, ownership);
        let _ = std::fs::remove_dir_all(&incoming);
        result
    }

    fn stage_through(
        &self,
        incoming: &Path,
        target: &Path,
        ownership: Option<(u32, u32)>,
    ) -> anyhow::Result<usize> {
        let source = format!("{}/*", self.collect_dir.trim_end_matches('/'));
        self.rcp(
            [
                remote(&self.remote_user, &self.name, &source),
                incoming.to_string_lossy().into_owned(),
            ],
            "copying files from remote host",
        )?;
        let files = regular_files(incoming);
        if files.is_empty() {
            bail!("Did not copy any files from remote peer.");
        }
        for file in &files {
            let from = Path::new(file);
            let rel = from.strip_prefix(incoming).unwrap_or(from);
            let to = target.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::File::open(from)
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::rename(from, &to))
                .with_context(|| format!("moving {} to {}", from.display(), to.display()))?;
            if let Some((uid, gid)) = ownership {
                std::os::unix::fs::chown(&to, Some(uid), Some(gid))
                    .with_context(|| format!("chown {}", to.display()))?;
            }
        }
        std::fs::File::open(target).and_then(|d| d.sync_all())?;
        Ok(files.len())
    }

    /// Pushes an empty `cback.stage` into the peer's collect directory.
    pub fn write_stage_indicator(&self) -> anyhow::Result<()> {
        let dir = &self.collect_dir;
        let source = self
            .working_dir
            .join(format!("{}.{}", util::STAGE_INDICATOR, self.name));
        let target = format!("{}/{}", dir.trim_end_matches('/'), util::STAGE_INDICATOR);
        // Like every other output: never through a link planted at the
        // name, never a half-written file.
        atomic::write(&source, b"").with_context(|| format!("writing {}", source.display()))?;
        let what = format!("copying [{}] to remote host", source.display());
        let local = source.to_string_lossy().into_owned();
        let mut result = self.rcp(
            [
                local.clone(),
                remote_target(&self.remote_user, &self.name, &target),
            ],
            &what,
        );
        if result.is_err() && target.contains(' ') {
            // a legacy-protocol scp (`-O`) needs the escapes after all
            result = self.rcp(
                [local, remote(&self.remote_user, &self.name, &target)],
                &what,
            );
        }
        let _ = std::fs::remove_file(&source);
        result
    }

    /// Runs `<rsh> user@host '<command>'`: the command travels as a single
    /// argument, as Cedar passes it.
    pub fn execute_remote_command(&self, command: &str) -> anyhow::Result<()> {
        let mut argv = self.rsh.clone();
        argv.push(format!("{}@{}", self.remote_user, self.name));
        argv.push(command.to_string());
        self.commands
            .run_ok(&argv, &format!("running [{command}] on [{}]", self.name))
    }
}

/// The local user remote commands run as: the backup user, only when root.
pub fn local_user(backup_user: &str) -> Option<String> {
    crate::accounts::is_root().then(|| backup_user.to_string())
}
