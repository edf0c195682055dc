//! The `collect` action: archive each configured file and directory into
//! `<collect_dir>/<normalized path>.tar[.gz|.bz2]`, then write
//! `cback.collect`.
//!
//! Selection follows Cedar: an item runs when its collect mode is `daily` or
//! `incr`, or `weekly` on the starting day or with `--full`. Incremental
//! items keep a `{path: sha1}` map in `<working_dir>/<normalized>.sha`
//! (reset on the starting day or with `--full`) and archive only regular
//! files whose digest changed; symlinks are always archived.
//!
//! Every file is read once: it is hashed while it streams into the archive.
//! The one exception is an incremental file that already has a digest: it
//! must be hashed before cedar knows whether to archive it, so a *changed*
//! file is read a second time (its recorded digest then comes from the bytes
//! actually archived).
//!
//! Differences from Cedar 3 (each a fix of a QUIRK): a file that vanishes,
//! cannot be read or changes during the run is reported and skipped (or
//! archived with a warning) instead of aborting the action; a changed file's
//! digest is not recorded, so it is collected again next time; archives list
//! each path once, in byte order.
//!
//! One addition on purpose: a directory's archive also holds a member for
//! every directory the walk entered (the collected directory itself and each
//! one below whose contents it took; see [`crate::engine::walk`]), each
//! before its contents, so that unpacking restores directories with their
//! modes, owners and mtimes (Cedar's archives hold no directories, and a
//! restore gave them the umask's mode and the time of the restore).
//! Incremental archives hold every one of them, not only those of changed
//! files, so that unpacking the full archive and then each incremental one
//! leaves every directory as it was last collected. Directories never enter
//! the digest map and do not count as files in the log; an archive is still
//! written only when it gets a file or link, as in Cedar (a night with no
//! changed file writes none; the next archive carries every directory).

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::ActionContext;
use crate::config::{ArchiveMode, CollectDirItem, CollectMode};
use crate::engine::archive::{self, Added, TarWriter};
use crate::engine::atomic::{self, Partial};
use crate::engine::digest::{self, DigestMap};
use crate::engine::util::{self, change_ownership, normalized_path};
use crate::engine::walk::{Walk, WalkOptions};

/// Runs the `collect` action.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    log::debug!("Executing the 'collect' action.");
    let Some(plan) = &ctx.settings.collect else {
        bail!("Collect configuration is not properly filled in.");
    };
    if plan.files.is_empty() && plan.dirs.is_empty() {
        bail!("There must be at least one collect file or collect directory.");
    }
    let target_dir = plan.collect_dir.as_path();
    let start = ctx.is_start_of_week();
    let reset = ctx.full || start;
    log::debug!(
        "Full backup flag is [{}]; reset digest flag is [{reset}].",
        ctx.full
    );
    // Unfinished outputs of a killed run (we hold the run lock).
    atomic::remove_stale(target_dir);
    atomic::remove_stale(&ctx.options().working_dir);
    let job = Job::new(ctx, target_dir, reset);

    for file in &plan.files {
        let path = file.path.as_str();
        if selected(file.collect_mode, ctx.full, start) {
            log::debug!("File meets criteria to be backed up today.");
            let meta = std::fs::metadata(path).with_context(|| format!("collect file {path}"))?;
            if !meta.is_file() {
                bail!("Collect file [{path}] is not a file.");
            }
            job.execute(
                OsStr::new(path),
                BackupList {
                    items: vec![OsString::from(path)],
                    dirs: Vec::new(),
                },
                file.collect_mode,
                file.archive_mode,
            )?;
        } else {
            log::debug!("File will not be backed up, per collect mode.");
        }
        log::info!("Completed collecting file [{path}]");
    }

    for dir in &plan.dirs {
        let path = dir.path.as_str();
        if selected(dir.collect_mode, ctx.full, start) {
            log::debug!("Directory meets criteria to be backed up today.");
            let mut walk = dir_walk_options(dir);
            job.collect_directory(OsStr::new(path), dir, &mut walk, dir.recursion_level)?;
        } else {
            log::debug!("Directory will not be backed up, per collect mode.");
        }
        log::info!("Completed collecting directory [{path}]");
    }

    util::write_indicator(target_dir, util::COLLECT_INDICATOR, job.ownership)?;
    log::info!("Executed the 'collect' action successfully.");
    Ok(())
}

/// Whether an item with `mode` runs today.
pub fn selected(mode: CollectMode, full: bool, start_of_week: bool) -> bool {
    match mode {
        CollectMode::Daily | CollectMode::Incr => true,
        CollectMode::Weekly => full || start_of_week,
    }
}

/// The walk rules of one collect directory: its resolved excludes (paths
/// and compiled patterns) and ignore file.
pub fn dir_walk_options(dir: &CollectDirItem) -> WalkOptions {
    WalkOptions {
        exclude_paths: dir.exclude_paths.iter().map(OsString::from).collect(),
        exclude_patterns: dir.exclude_patterns.clone(),
        ignore_file: Some(OsString::from(&dir.ignore_file)),
        backup: true,
        ..Default::default()
    }
}

/// What a collect directory archives at recursion level 0.
#[derive(Debug, Default)]
pub struct BackupList {
    /// Cedar's backup list: files and symlinks, in the order found.
    pub items: Vec<OsString>,
    /// The directories the walk entered (not in `items`), in the order
    /// found: each gets a member of its own.
    pub dirs: Vec<OsString>,
}

/// Lists what a collect directory archives at recursion level 0.
pub fn backup_list(
    path: &OsStr,
    walk: &WalkOptions,
    link_depth: i64,
    dereference: bool,
) -> anyhow::Result<BackupList> {
    let mut w = Walk::new(walk.clone());
    w.add_dir_contents(path, true, true, link_depth, dereference)
        .with_context(|| format!("collect directory {}", path.to_string_lossy()))?;
    let (items, dirs) = w.into_parts();
    Ok(BackupList { items, dirs })
}

/// The immediate real subdirectories a `recursion_level` split archives
/// separately (files, links and excluded directories are left out).
pub fn split_subdirs(path: &OsStr, walk: &WalkOptions) -> anyhow::Result<Vec<OsString>> {
    let mut w = Walk::new(WalkOptions {
        exclude_paths: walk.exclude_paths.clone(),
        exclude_patterns: walk.exclude_patterns.clone(),
        exclude_files: true,
        exclude_links: true,
        backup: false,
        ..Default::default()
    });
    w.add_dir_contents(path, false, false, 0, false)
        .with_context(|| format!("collect directory {}", path.to_string_lossy()))?;
    Ok(w.into_items())
}

/// Paths of the archive and digest of one collect item.
pub fn archive_path(collect_dir: &Path, item: &OsStr, mode: ArchiveMode) -> PathBuf {
    let name = format!(
        "{}.{}",
        normalized_path(&item.to_string_lossy()),
        archive::extension(mode)
    );
    collect_dir.join(name)
}

/// `<working_dir>/<normalized>.sha`.
pub fn digest_path(working_dir: &Path, item: &OsStr) -> PathBuf {
    working_dir.join(format!(
        "{}.{}",
        normalized_path(&item.to_string_lossy()),
        util::DIGEST_EXTENSION
    ))
}

struct Job<'a> {
    collect_dir: &'a Path,
    working_dir: &'a Path,
    reset: bool,
    ownership: Option<(u32, u32)>,
    progress: indicatif::ProgressBar,
}

impl<'a> Job<'a> {
    fn new(ctx: &ActionContext<'a>, collect_dir: &'a Path, reset: bool) -> Self {
        // Progress only on a terminal: silent from cron and under test harnesses.
        let progress = if std::io::stderr().is_terminal() {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} {binary_bytes} ({binary_bytes_per_sec})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            pb.enable_steady_tick(std::time::Duration::from_millis(200));
            pb
        } else {
            indicatif::ProgressBar::hidden()
        };
        Job {
            collect_dir,
            working_dir: &ctx.options().working_dir,
            reset,
            ownership: ctx.ownership(),
            progress,
        }
    }

    fn collect_directory(
        &self,
        path: &OsStr,
        dir: &CollectDirItem,
        walk: &mut WalkOptions,
        level: i64,
    ) -> anyhow::Result<()> {
        if level == 0 {
            log::info!("Collecting directory [{}]", path.to_string_lossy());
            let list = backup_list(path, walk, dir.link_depth, dir.dereference)?;
            return self.execute(path, list, dir.collect_mode, dir.archive_mode);
        }
        for sub in split_subdirs(path, walk)? {
            self.collect_directory(&sub, dir, walk, level - 1)?;
            // already archived on its own: keep it out of its parent's archive
            walk.exclude_paths.push(sub);
        }
        self.collect_directory(path, dir, walk, 0)
    }

    /// Archives `list` for the item at `item` (Cedar's `_executeBackup`).
    fn execute(
        &self,
        item: &OsStr,
        list: BackupList,
        mode: CollectMode,
        archive: ArchiveMode,
    ) -> anyhow::Result<()> {
        let shown = item.to_string_lossy();
        // Members in byte order of their paths, each once: the walk lists a
        // directory's entries in order but recurses in place and adds
        // dereferenced targets where their links are. A directory sorts
        // before everything below it (a path before its extensions).
        let BackupList { items, dirs } = list;
        let single_file = items.len() == 1 && items[0] == item;
        let mut members: Vec<(OsString, bool)> = items
            .into_iter()
            .map(|p| (p, false))
            .chain(dirs.into_iter().map(|d| (d, true)))
            .collect();
        members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        members.dedup_by(|a, b| a.0 == b.0);
        let tar_path = archive_path(self.collect_dir, item, archive);
        let incremental = mode == CollectMode::Incr;
        let digest_file = incremental.then(|| digest_path(self.working_dir, item));
        let old = match &digest_file {
            Some(p) if !self.reset => digest::load(p),
            _ => DigestMap::new(),
        };
        let mut new = DigestMap::new();
        self.progress.set_message(format!("collecting {shown}"));

        // The archive is written as a hidden temporary and renamed into
        // place only when complete (see engine::atomic).
        let mut writer: Option<(TarWriter, Partial)> = None;
        // Directories met before the archive is opened: written once a file
        // or link opens it, so that no archive holds directories only.
        let mut pending: Vec<&OsStr> = Vec::new();
        let (mut files, mut bytes, mut unchanged) = (0usize, 0u64, 0usize);
        let writing = |tar_path: &Path| format!("writing archive {}", tar_path.display());
        let result = (|| -> anyhow::Result<()> {
            for (path, is_dir) in &members {
                if *is_dir {
                    match &mut writer {
                        Some((w, _)) => {
                            w.add_dir(path).with_context(|| writing(&tar_path))?;
                        }
                        None => pending.push(path),
                    }
                    continue;
                }
                if incremental {
                    if let Some(previous) = old.get(path) {
                        if is_regular(path) {
                            match archive::file_digest(Path::new(path)) {
                                Ok(d) if &d == previous => {
                                    log::debug!(
                                        "Discarded unchanged file [{}].",
                                        path.to_string_lossy()
                                    );
                                    new.insert(path.clone(), d);
                                    unchanged += 1;
                                    continue;
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    log::error!(
                                        "Unable to read [{}]: {e}; it is not in the archive.",
                                        path.to_string_lossy()
                                    );
                                    continue;
                                }
                            }
                        }
                    }
                }
                let (w, _) = match &mut writer {
                    Some(open) => open,
                    None => {
                        let context = || format!("creating archive {}", tar_path.display());
                        let (partial, file) = Partial::create(&tar_path).with_context(context)?;
                        let mut w =
                            TarWriter::new(file, partial.path(), archive).with_context(context)?;
                        for d in pending.drain(..) {
                            w.add_dir(d).with_context(|| writing(&tar_path))?;
                        }
                        writer.insert((w, partial))
                    }
                };
                let added = w
                    .add(path, &self.progress)
                    .with_context(|| writing(&tar_path))?;
                match added {
                    Added::File { size, digest } => {
                        files += 1;
                        bytes += size;
                        if let (true, Some(d)) = (incremental, digest) {
                            new.insert(path.clone(), d);
                        }
                    }
                    Added::Link => files += 1,
                    Added::Directory | Added::Skipped => {}
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            if let Some((w, _partial)) = writer {
                w.abandon();
            }
            return Err(e);
        }
        if incremental {
            log::debug!("Removed {unchanged} unchanged files based on digest values.");
        }
        if single_file {
            log::info!(
                "Backing up file [{shown}] ({}).",
                util::display_bytes(bytes)
            );
        } else {
            log::info!(
                "Backing up {files} files in [{shown}] ({}).",
                util::display_bytes(bytes)
            );
        }
        if let Some((w, partial)) = writer {
            w.finish()
                .and_then(|()| partial.commit())
                .with_context(|| writing(&tar_path))?;
            change_ownership(&tar_path, self.ownership);
        }
        // Only now that its archive is in place does the digest map move on.
        if let Some(p) = digest_file {
            digest::store(&p, &new, self.ownership);
        }
        Ok(())
    }
}

fn is_regular(path: &OsStr) -> bool {
    std::fs::symlink_metadata(path)
        .map(|m| m.is_file())
        .unwrap_or(false)
}

impl Drop for Job<'_> {
    fn drop(&mut self) {
        self.progress.finish_and_clear();
    }
}
