//! `CedarBackup3.extend.mbox`: the messages of mailbox files, and of
//! directories of them, selected natively the way Cedar's `grepmail -a -u
//! [-d "since ..."]` selects them ([`reader`], [`date`]), so no grepmail
//! is needed.
//!
//! A file goes to `mbox-<YYYYMMDD>-<normalized path>[.gz|.bz2]` in the
//! collect directory; a directory's mailboxes (not recursively, less its
//! exclusions) each become a member, named by the mailbox's own name, of
//! `mbox-<YYYYMMDD>-<normalized path>.tar[.gz|.bz2]`. Collect modes as in
//! Cedar: daily and weekly dump every message, incr only those dated after
//! the last run, whose time is kept in `<working_dir>/<normalized
//! path>.mboxlast` as Cedar keeps it (a pickled `datetime`, so cedar and
//! cback3 take over from each other); a full run (`-f`, or the starting
//! day) ignores it. As in Cedar, a directory's archive and the state files
//! are given to the backup user, a single mailbox's dump is not.

pub(crate) mod date;
pub(crate) mod reader;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::{collect_dir, compressed_name, dir_entries, due, DumpFile};
use crate::actions::ActionContext;
use crate::config::{CollectMode, DumpDir, DumpItem, MboxSettings};
use crate::engine::atomic;
use crate::engine::util::{change_ownership, normalized_path};
use crate::engine::walk::WalkOptions;
use crate::py::pickle;

/// Suffix of the last-run state file.
const STATE_EXTENSION: &str = "mboxlast";

/// One run's shared facts.
struct Run<'a> {
    ctx: &'a ActionContext<'a>,
    target: PathBuf,
    full: bool,
    /// This run's time, recorded as the next run's bound (Cedar's
    /// `datetime.today()` at the start of the action).
    revision: chrono::NaiveDateTime,
    now: chrono::DateTime<chrono::Local>,
}

/// Runs the mbox action.
pub(crate) fn run(ctx: &ActionContext<'_>, s: &MboxSettings) -> anyhow::Result<()> {
    log::debug!("Executing mbox extended action.");
    let now = chrono::Local::now();
    let start_of_week = ctx.is_start_of_week();
    let run = Run {
        ctx,
        target: collect_dir(ctx)?,
        full: ctx.full || start_of_week,
        revision: now.naive_local(),
        now,
    };
    log::debug!("Full backup flag is [{}]", run.full);
    for item in &s.files {
        log::debug!("Working with mbox file [{}]", item.path);
        let last = run.last_revision(item);
        if due(item.collect_mode, run.full, start_of_week) {
            let name = format!("mbox-{}-{}", run.day(), normalized_path(&item.path));
            let path = run.target.join(compressed_name(&name, item.compress_mode));
            run.backup_file(Path::new(&item.path), &path, item, last)?;
        } else {
            log::debug!("Mbox file will not be backed up, per collect mode.");
        }
        run.write_revision(item);
    }
    for dir in &s.dirs {
        log::debug!("Working with mbox directory [{}]", dir.item.path);
        let last = run.last_revision(&dir.item);
        if due(dir.item.collect_mode, run.full, start_of_week) {
            run.backup_dir(dir, last)?;
        } else {
            log::debug!("Mbox directory will not be backed up, per collect mode.");
        }
        run.write_revision(&dir.item);
    }
    log::info!("Executed the mbox extended action successfully.");
    Ok(())
}

impl Run<'_> {
    fn day(&self) -> String {
        self.revision.format("%Y%m%d").to_string()
    }

    fn state_path(&self, item: &DumpItem) -> PathBuf {
        let name = format!("{}.{STATE_EXTENSION}", normalized_path(&item.path));
        self.ctx.options().working_dir.join(name)
    }

    /// The last run's time, when this run is an incremental one and has it.
    fn last_revision(&self, item: &DumpItem) -> Option<chrono::NaiveDateTime> {
        if self.full || item.collect_mode != CollectMode::Incr {
            return None;
        }
        let path = self.state_path(item);
        if !path.is_file() {
            log::debug!("Revision file [{}] does not exist on disk.", path.display());
            return None;
        }
        match std::fs::read(&path)
            .map_err(anyhow::Error::from)
            .and_then(|d| pickle::load_datetime(&d))
        {
            Ok(when) => {
                log::debug!(
                    "Loaded revision file [{}] from disk: [{when}]",
                    path.display()
                );
                Some(when)
            }
            Err(e) => {
                log::error!(
                    "Failed loading revision file [{}] from disk: {e:#}",
                    path.display()
                );
                None
            }
        }
    }

    /// Records this run's time for an incr item (even on a full run).
    fn write_revision(&self, item: &DumpItem) {
        if item.collect_mode != CollectMode::Incr {
            return;
        }
        let path = self.state_path(item);
        match atomic::write(&path, &pickle::dump_datetime(&self.revision)) {
            Ok(()) => {
                change_ownership(&path, self.ctx.ownership());
                log::debug!(
                    "Wrote new revision file [{}] to disk: [{}]",
                    path.display(),
                    self.revision
                );
            }
            Err(e) => log::error!(
                "Failed to write revision file [{}] to disk: {e}",
                path.display()
            ),
        }
    }

    /// The selection bound: the last run's time read back as grepmail
    /// reads Cedar's `-d "since <ISO time>"`.
    fn since(&self, item: &DumpItem, last: Option<chrono::NaiveDateTime>) -> Option<f64> {
        if self.full || item.collect_mode != CollectMode::Incr {
            return None;
        }
        let text = last?.format("%Y-%m-%dT%H:%M:%S").to_string();
        let since = date::str2time(text.as_bytes(), &self.now);
        if since.is_none() {
            log::warn!("Cannot read the last run's time [{text}]; taking every message.");
        }
        since
    }

    /// Writes the selected messages of `mailbox` to `path`.
    fn backup_file(
        &self,
        mailbox: &Path,
        path: &Path,
        item: &DumpItem,
        last: Option<chrono::NaiveDateTime>,
    ) -> anyhow::Result<()> {
        let since = self.since(item, last);
        let mut dump = DumpFile::create(path, item.compress_mode)
            .with_context(|| format!("creating {}", path.display()))?;
        let counts = reader::select(mailbox, since, &self.now, &mut dump)
            .with_context(|| format!("reading mailbox {}", mailbox.display()))?;
        dump.finish(None)
            .with_context(|| format!("finishing {}", path.display()))?;
        log::debug!(
            "Completed backing up mailbox [{}]: {} of {} messages.",
            mailbox.display(),
            counts.selected,
            counts.messages
        );
        Ok(())
    }

    fn backup_dir(&self, dir: &DumpDir, last: Option<chrono::NaiveDateTime>) -> anyhow::Result<()> {
        let mailboxes = mailboxes_in(dir)?;
        if mailboxes.is_empty() {
            bail!("Empty list cannot be used to generate tarfile.");
        }
        let template = self.ctx.options().working_dir.join("tmpXXXXXX");
        let tmp = nix::unistd::mkdtemp(&template)
            .with_context(|| format!("creating a temporary directory in {}", template.display()))?;
        let result = self.archive_dir(dir, last, &mailboxes, &tmp);
        let _ = std::fs::remove_dir_all(&tmp);
        result
    }

    fn archive_dir(
        &self,
        dir: &DumpDir,
        last: Option<chrono::NaiveDateTime>,
        mailboxes: &[PathBuf],
        tmp: &Path,
    ) -> anyhow::Result<()> {
        let plain = DumpItem {
            compress_mode: crate::config::extensions::CompressMode::None,
            ..dir.item.clone()
        };
        let mut members = Vec::new();
        for mailbox in mailboxes {
            let Some(name) = mailbox.file_name() else {
                continue;
            };
            let member = tmp.join(name);
            self.backup_file(mailbox, &member, &plain, last)?;
            members.push(member);
        }
        let name = format!(
            "mbox-{}-{}.tar",
            self.day(),
            normalized_path(&dir.item.path)
        );
        let path = self
            .target
            .join(compressed_name(&name, dir.item.compress_mode));
        log::debug!("Tarfile path is [{}]", path.display());
        let dump = DumpFile::create(&path, dir.item.compress_mode)
            .with_context(|| format!("creating {}", path.display()))?;
        let mut tar = tar::Builder::new(dump);
        tar.mode(tar::HeaderMode::Complete);
        for member in &members {
            let name = member.file_name().unwrap_or_default();
            tar.append_path_with_name(member, name)
                .with_context(|| format!("archiving {}", member.display()))?;
        }
        let dump = tar
            .into_inner()
            .with_context(|| format!("finishing {}", path.display()))?;
        dump.finish(self.ctx.ownership())
            .with_context(|| format!("finishing {}", path.display()))?;
        log::debug!("Completed backing up directory [{}].", dir.item.path);
        Ok(())
    }
}

/// The mailboxes directly in `dir` (files and links to files), less its
/// exclusions.
fn mailboxes_in(dir: &DumpDir) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = dir_entries(dir, WalkOptions::default())?;
    found.retain(|p| p.is_file());
    Ok(found)
}

/// `validate`: each configured mailbox and directory exists.
pub(crate) fn validate(s: &MboxSettings) -> Vec<String> {
    let files = s
        .files
        .iter()
        .filter(|f| !Path::new(&f.path).is_file())
        .map(|f| format!("mbox: mailbox [{}] does not exist.", f.path));
    let dirs = s
        .dirs
        .iter()
        .filter(|d| !Path::new(&d.item.path).is_dir())
        .map(|d| format!("mbox: mailbox directory [{}] does not exist.", d.item.path));
    files.chain(dirs).collect()
}
