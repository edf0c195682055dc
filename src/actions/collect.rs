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

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use regex::Regex;

use super::archive::{self, Added, TarWriter};
use super::digest::{self, DigestMap};
use super::util::{self, change_ownership, normalized_path};
use super::walk::{Walk, WalkOptions};
use super::ActionContext;
use crate::config::pattern::compile_exclude_pattern;
use crate::config::{ArchiveMode, CollectConfig, CollectDir, CollectMode};

/// Runs the `collect` action.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    log::debug!("Executing the 'collect' action.");
    let collect = match (&ctx.config.options, &ctx.config.collect) {
        (Some(_), Some(c)) => c,
        _ => bail!("Collect configuration is not properly filled in."),
    };
    let files = collect.collect_files.as_deref().unwrap_or_default();
    let dirs = collect.collect_dirs.as_deref().unwrap_or_default();
    if files.is_empty() && dirs.is_empty() {
        bail!("There must be at least one collect file or collect directory.");
    }
    let target_dir = collect
        .target_dir
        .as_deref()
        .context("collect has no collect_dir")?;
    let start = ctx.is_start_of_week();
    let reset = ctx.full || start;
    log::debug!(
        "Full backup flag is [{}]; reset digest flag is [{reset}].",
        ctx.full
    );
    let job = Job::new(ctx, Path::new(target_dir), reset);

    for file in files {
        let path = file
            .absolute_path
            .as_deref()
            .context("collect file without abs_path")?;
        let mode = file
            .collect_mode
            .or(collect.collect_mode)
            .context(format!("no collect mode for {path}"))?;
        let archive = file
            .archive_mode
            .or(collect.archive_mode)
            .context(format!("no archive mode for {path}"))?;
        if selected(mode, ctx.full, start) {
            log::debug!("File meets criteria to be backed up today.");
            let meta = std::fs::metadata(path).with_context(|| format!("collect file {path}"))?;
            if !meta.is_file() {
                bail!("Collect file [{path}] is not a file.");
            }
            job.execute(OsStr::new(path), vec![OsString::from(path)], mode, archive)?;
        } else {
            log::debug!("File will not be backed up, per collect mode.");
        }
        log::info!("Completed collecting file [{path}]");
    }

    for dir in dirs {
        let path = dir
            .absolute_path
            .as_deref()
            .context("collect dir without abs_path")?;
        let mode = dir
            .collect_mode
            .or(collect.collect_mode)
            .context(format!("no collect mode for {path}"))?;
        let archive = dir
            .archive_mode
            .or(collect.archive_mode)
            .context(format!("no archive mode for {path}"))?;
        if selected(mode, ctx.full, start) {
            log::debug!("Directory meets criteria to be backed up today.");
            let mut walk = dir_walk_options(collect, dir)?;
            job.collect_directory(
                OsStr::new(path),
                dir,
                mode,
                archive,
                &mut walk,
                dir.recursion_level.unwrap_or(0),
            )?;
        } else {
            log::debug!("Directory will not be backed up, per collect mode.");
        }
        log::info!("Completed collecting directory [{path}]");
    }

    util::write_indicator(
        Path::new(target_dir),
        util::COLLECT_INDICATOR,
        job.ownership,
    )?;
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

/// The walk rules of one collect directory: the section's and the
/// directory's absolute excludes, its relative excludes joined to its path,
/// both sets of patterns, and the ignore file.
pub fn dir_walk_options(collect: &CollectConfig, dir: &CollectDir) -> anyhow::Result<WalkOptions> {
    let (paths, patterns) = dir.exclusions(collect);
    let patterns = patterns
        .iter()
        .map(|p| compile_exclude_pattern(p).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<Regex>>>()?;
    Ok(WalkOptions {
        exclude_paths: paths.into_iter().map(OsString::from).collect(),
        exclude_patterns: patterns,
        ignore_file: dir.effective_ignore_file(collect).map(OsString::from),
        backup: true,
        ..Default::default()
    })
}

/// Lists what a collect directory archives at recursion level 0.
pub fn backup_list(
    path: &OsStr,
    walk: &WalkOptions,
    link_depth: i64,
    dereference: bool,
) -> anyhow::Result<Vec<OsString>> {
    let mut w = Walk::new(walk.clone());
    w.add_dir_contents(path, true, true, link_depth, dereference)
        .with_context(|| format!("collect directory {}", path.to_string_lossy()))?;
    Ok(w.into_items())
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
    working_dir: Option<PathBuf>,
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
            working_dir: ctx.options().working_dir.as_ref().map(PathBuf::from),
            reset,
            ownership: util::backup_ownership(ctx.options()),
            progress,
        }
    }

    fn collect_directory(
        &self,
        path: &OsStr,
        dir: &CollectDir,
        mode: CollectMode,
        archive: ArchiveMode,
        walk: &mut WalkOptions,
        level: i64,
    ) -> anyhow::Result<()> {
        if level == 0 {
            log::info!("Collecting directory [{}]", path.to_string_lossy());
            let list = backup_list(path, walk, dir.effective_link_depth(), dir.dereference)?;
            return self.execute(path, list, mode, archive);
        }
        for sub in split_subdirs(path, walk)? {
            self.collect_directory(&sub, dir, mode, archive, walk, level - 1)?;
            // already archived on its own: keep it out of its parent's archive
            walk.exclude_paths.push(sub);
        }
        self.collect_directory(path, dir, mode, archive, walk, 0)
    }

    /// Archives `list` for the item at `item` (Cedar's `_executeBackup`).
    fn execute(
        &self,
        item: &OsStr,
        list: Vec<OsString>,
        mode: CollectMode,
        archive: ArchiveMode,
    ) -> anyhow::Result<()> {
        let shown = item.to_string_lossy();
        // Members in byte order of their paths, each once: the walk lists a
        // directory's entries in order but recurses in place and adds
        // dereferenced targets where their links are.
        let mut list = list;
        list.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        list.dedup();
        let tar_path = archive_path(self.collect_dir, item, archive);
        let incremental = mode == CollectMode::Incr;
        let digest_file = if incremental {
            let wd = self
                .working_dir
                .as_deref()
                .context("incremental collect needs options/working_dir")?;
            Some(digest_path(wd, item))
        } else {
            None
        };
        let old = match &digest_file {
            Some(p) if !self.reset => digest::load(p),
            _ => DigestMap::new(),
        };
        let mut new = DigestMap::new();
        self.progress.set_message(format!("collecting {shown}"));

        let mut writer: Option<TarWriter> = None;
        let (mut files, mut bytes, mut unchanged) = (0usize, 0u64, 0usize);
        let result = (|| -> anyhow::Result<()> {
            for path in &list {
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
                if writer.is_none() {
                    let w = TarWriter::create(&tar_path, archive)
                        .with_context(|| format!("creating archive {}", tar_path.display()))?;
                    writer = Some(w);
                }
                let w = writer.as_mut().expect("writer just created");
                let added = w
                    .add(path, &self.progress)
                    .with_context(|| format!("writing archive {}", tar_path.display()))?;
                match added {
                    Added::File { size, digest } => {
                        files += 1;
                        bytes += size;
                        if let (true, Some(d)) = (incremental, digest) {
                            new.insert(path.clone(), d);
                        }
                    }
                    Added::Link => files += 1,
                    Added::Skipped => {}
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            if let Some(w) = writer {
                w.abandon();
            }
            return Err(e);
        }
        if incremental {
            log::debug!("Removed {unchanged} unchanged files based on digest values.");
        }
        if list.len() == 1 && list[0] == item {
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
        if let Some(w) = writer {
            w.finish()
                .with_context(|| format!("writing archive {}", tar_path.display()))?;
            change_ownership(&tar_path, self.ownership);
        }
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
