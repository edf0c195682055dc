//! The `purge` action: in each configured directory, delete files whose age
//! — whole days since the later of their access and modification times — is
//! at least `retain_days`, delete symlinks, then delete the directories that
//! are left empty.
//!
//! Faithful to Cedar: only regular files are judged by age; symlinks (to
//! files or directories) are always removed and never followed; the
//! configured directory itself is never removed.
//!
//! Fixed QUIRK: Cedar tries `rmdir` on each directory top-down, before their
//! children are gone, so a tree of empty directories lost only one level per
//! daily run. cedar removes directories deepest first, so everything that
//! becomes empty goes in a single run. Dangling symlinks, which Cedar never
//! saw (and which therefore kept their directory alive forever), are removed
//! like other links.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{bail, Context};

use super::ActionContext;
use crate::engine::walk::{Walk, WalkOptions};

const SECONDS_PER_DAY: i64 = 86_400;

/// Whole days since `max(atime, mtime)`, floored at zero, like Cedar's
/// `calculateFileAge` (whose `now` is an integer second).
pub fn age_in_days(meta: &std::fs::Metadata, now: i64) -> i64 {
    let atime = meta.atime() as f64 + meta.atime_nsec() as f64 / 1e9;
    let mtime = meta.mtime() as f64 + meta.mtime_nsec() as f64 / 1e9;
    let age = (now as f64 - atime.max(mtime)) / SECONDS_PER_DAY as f64;
    (age.floor() as i64).max(0)
}

/// What one purge removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Files and links deleted.
    pub files: usize,
    /// Directories deleted.
    pub dirs: usize,
}

/// Purges one directory as of `now` (seconds since the epoch).
pub fn purge_dir(dir: &Path, retain_days: i64, now: i64) -> anyhow::Result<Purged> {
    if retain_days < 0 {
        bail!("Days old value must be an integer >= 0.");
    }
    let mut walk = Walk::new(WalkOptions {
        dangling_links: true,
        ..Default::default()
    });
    walk.add_dir_contents(dir.as_os_str(), true, false, 0, false)
        .with_context(|| format!("purge directory {}", dir.display()))?;
    let mut dirs: Vec<OsString> = Vec::new();
    let mut purged = Purged::default();
    for entry in walk.into_items() {
        let Ok(lmeta) = std::fs::symlink_metadata(&entry) else {
            continue;
        };
        let shown = Path::new(&entry).display();
        if lmeta.is_dir() {
            dirs.push(entry);
            continue;
        }
        if lmeta.is_file() && age_in_days(&lmeta, now) < retain_days {
            continue;
        }
        match std::fs::remove_file(&entry) {
            Ok(()) => {
                purged.files += 1;
                log::debug!("Purged file [{shown}].");
            }
            Err(e) => log::warn!("Unable to purge [{shown}]: {e}"),
        }
    }
    // Deepest first, so a parent is tried only after its children.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.as_bytes().iter().filter(|&&b| b == b'/').count()));
    for d in dirs {
        if std::fs::remove_dir(&d).is_ok() {
            purged.dirs += 1;
            log::debug!("Purged empty directory [{}].", Path::new(&d).display());
        }
    }
    Ok(purged)
}

/// Runs the `purge` action.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    log::debug!("Executing the 'purge' action.");
    let Some(purge) = &ctx.settings.purge else {
        bail!("Purge configuration is not properly filled in.");
    };
    let now = ctx.now.timestamp();
    for d in &purge.dirs {
        let p = purge_dir(&d.path, d.retain_days, now)?;
        log::info!(
            "Purged {} files and {} directories from [{}].",
            p.files,
            p.dirs,
            d.path.display()
        );
    }
    log::info!("Executed the 'purge' action successfully.");
    Ok(())
}
