//! What the extensions working on staged days share (encrypt, split,
//! amazons3): the staging directory, Cedar's `findDailyDirs` (the
//! `YYYY/MM/DD` directories not yet marked with an indicator) and
//! `getBackupFiles` (the files of a day, indicators left out).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;
use regex::Regex;

use super::NOT_FILLED_IN;
use crate::actions::ActionContext;
use crate::engine::atomic;
use crate::engine::walk::{Order, Walk, WalkOptions};

/// The `<stage>` section's staging directory (Cedar's
/// `config.stage.targetDir`); without one the action is not configured.
pub(crate) fn staging_dir<'a>(ctx: &ActionContext<'a>) -> anyhow::Result<&'a Path> {
    match &ctx.settings.stage {
        Some(s) => Ok(s.staging_dir.as_path()),
        None => anyhow::bail!(NOT_FILLED_IN),
    }
}

/// What a walk of `dir` with `options` lists (`recursive`: below it too).
fn list(dir: &Path, options: WalkOptions, recursive: bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut walk = Walk::new(options);
    walk.add_dir_contents(dir.as_os_str(), recursive, false, 0, false)
        .with_context(|| format!("listing directory {}", dir.display()))?;
    Ok(walk.into_items().into_iter().map(PathBuf::from).collect())
}

/// The directories directly in `dir` (no files, no symlinks), in `order`.
fn subdirs(dir: &Path, order: Order) -> anyhow::Result<Vec<PathBuf>> {
    let options = WalkOptions {
        exclude_files: true,
        exclude_links: true,
        order,
        ..WalkOptions::default()
    };
    list(dir, options, false)
}

/// Cedar's `findDailyDirs`: every `staging/YYYY/MM/DD` directory (three
/// levels of real directories, whatever their names) without `indicator`,
/// each level in byte order.
pub(crate) fn daily_dirs(staging: &Path, indicator: &str) -> anyhow::Result<Vec<PathBuf>> {
    daily_dirs_in(staging, indicator, Order::Bytes)
}

/// [`daily_dirs`], each level listed in `order` ([`Order::Directory`]
/// gives Cedar's own order, which `cback span` needs).
pub(crate) fn daily_dirs_in(
    staging: &Path,
    indicator: &str,
    order: Order,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut days = Vec::new();
    for year in subdirs(staging, order)? {
        for month in subdirs(&year, order)? {
            for day in subdirs(&month, order)? {
                if day.join(indicator).exists() {
                    log::debug!(
                        "Skipping directory [{}]; contains {indicator}.",
                        day.display()
                    );
                } else {
                    log::debug!("Adding [{}] to list of daily directories.", day.display());
                    days.push(day);
                }
            }
        }
    }
    Ok(days)
}

/// Cedar's `BackupFileList.addDirContents` of a day, as `cback span`
/// lists it: every file below `day` and every symlink (to a file or a
/// directory, which is not followed), indicators included, each directory
/// in `order`; dangling links, sockets and devices left out.
pub(crate) fn day_contents(day: &Path, order: Order) -> anyhow::Result<Vec<PathBuf>> {
    let options = WalkOptions {
        backup: true,
        order,
        ..WalkOptions::default()
    };
    list(day, options, true)
}

/// Cedar's `INDICATOR_PATTERN` (`cback\..*` on base names) as a pattern on
/// whole paths, the form [`Walk`] matches.
fn indicator_pattern() -> Regex {
    Regex::new(r"^(?s:.*)/cback\.[^/\n]*$").expect("static regex")
}

/// Cedar's `getBackupFiles`: the regular files under `day`, recursively, no
/// symlinks, no indicator files (`cback.*`) nor anything in a directory of
/// that name. A temporary a killed run of cedar left behind is removed
/// rather than listed.
pub(crate) fn backup_files(day: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !day.is_dir() {
        anyhow::bail!(
            "Target directory [{}] is not a directory or does not exist.",
            day.display()
        );
    }
    let options = WalkOptions {
        exclude_patterns: vec![indicator_pattern()],
        exclude_links: true,
        backup: true,
        ..WalkOptions::default()
    };
    let mut files = Vec::new();
    for path in list(day, options, true)? {
        let partial = path.file_name().is_some_and(atomic::is_partial);
        if partial {
            log::info!("Removing [{}], left by an interrupted run.", path.display());
            if let Err(e) = std::fs::remove_file(&path) {
                log::warn!("Cannot remove [{}]: {e}", path.display());
            }
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

/// `path` with `suffix` appended to its file name (`x` → `x.gpg`).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_dirs_and_backup_files_follow_cedar() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path();
        for d in ["2024/01/02/peer/sub", "2024/01/03", "2024/02/01", "x"] {
            std::fs::create_dir_all(s.join(d)).unwrap();
        }
        std::fs::write(s.join("2024/01/03/cback.encrypt"), b"").unwrap();
        std::fs::write(s.join("2024/file"), b"").unwrap();
        std::os::unix::fs::symlink(s.join("2024/01/02"), s.join("2024/01/09")).unwrap();
        let days = daily_dirs(s, "cback.encrypt").unwrap();
        assert_eq!(days, vec![s.join("2024/01/02"), s.join("2024/02/01")]);

        let day = s.join("2024/01/02");
        for f in [
            "cback.stage",
            "peer/cback.collect",
            "peer/a",
            "peer/sub/b",
            "peer/cback",
        ] {
            std::fs::write(day.join(f), b"x").unwrap();
        }
        std::fs::create_dir(day.join("peer/cback.d")).unwrap();
        std::fs::write(day.join("peer/cback.d/c"), b"x").unwrap();
        std::os::unix::fs::symlink("a", day.join("peer/link")).unwrap();
        std::fs::write(day.join("peer/.a.cedar-partial"), b"x").unwrap();
        let files = backup_files(&day).unwrap();
        let rel: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(&day).unwrap())
            .collect();
        assert_eq!(
            rel,
            [
                Path::new("peer/a"),
                Path::new("peer/cback"),
                Path::new("peer/sub/b")
            ]
        );
        assert!(!day.join("peer/.a.cedar-partial").exists());
        assert!(backup_files(&s.join("nope")).is_err());
    }
}
