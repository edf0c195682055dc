//! The native implementations of Cedar's extensions: the collecting ones
//! (sysinfo, mysql, postgresql, subversion, mbox) and those that work on
//! staged days (encrypt, split, amazons3; [`staged`] holds what they share)
//! and capacity, which reads the disc after store, each a
//! module with a `run` taking
//! the extended action's context and its checked section, and a `validate`
//! listing what `cback validate` should report (missing tools, servers
//! that do not answer).
//!
//! What they share lives here: [`DumpFile`], a dump being written under its
//! temporary name with Cedar's compression (none, gzip or bzip2), committed
//! and given to the backup user only once complete; [`dump_command`], a
//! program's stdout streamed into one; and the collect-mode rule Cedar's
//! repository and mailbox extensions apply.

pub(crate) mod amazons3;
pub(crate) mod capacity;
pub(crate) mod encrypt;
pub(crate) mod mbox;
pub(crate) mod mysql;
pub(crate) mod postgresql;
pub(crate) mod split;
pub(crate) mod staged;
pub(crate) mod subversion;
pub(crate) mod sysinfo;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::ActionContext;
use crate::config::extensions::CompressMode;
use crate::config::{CollectMode, Databases, DumpDir};
use crate::engine::atomic::Partial;
use crate::engine::compress::{Bzip2Writer, GzipWriter};
use crate::engine::util::{change_ownership, which};
use crate::engine::walk::{Walk, WalkOptions};
use crate::exec::CommandRunner;

/// Cedar's message when an extension runs without `<options>`/`<collect>`.
const NOT_FILLED_IN: &str = "Cedar Backup configuration is not properly filled in.";

/// The collect directory the dumps go to (Cedar's `config.collect.targetDir`).
pub(crate) fn collect_dir(ctx: &ActionContext<'_>) -> anyhow::Result<PathBuf> {
    match &ctx.settings.collect {
        Some(c) => Ok(c.collect_dir.clone()),
        None => anyhow::bail!(NOT_FILLED_IN),
    }
}

/// `name` with the suffix Cedar adds for `mode` (`.gz`, `.bz2`).
pub(crate) fn compressed_name(name: &str, mode: CompressMode) -> String {
    match mode {
        CompressMode::None => name.to_string(),
        CompressMode::Gzip => format!("{name}.gz"),
        CompressMode::Bzip2 => format!("{name}.bz2"),
    }
}

/// Whether an item with `mode` is backed up today (Cedar's test in every
/// collecting extension): always on a full run, daily and incr every day,
/// weekly on the starting day.
pub(crate) fn due(mode: CollectMode, full: bool, start_of_week: bool) -> bool {
    full || matches!(mode, CollectMode::Daily | CollectMode::Incr)
        || (mode == CollectMode::Weekly && start_of_week)
}

enum Sink {
    Plain(BufWriter<File>),
    Gz(GzipWriter<BufWriter<File>>),
    Bz(Bzip2Writer<BufWriter<File>>),
}

/// A dump file being written: compressed as configured, under its
/// temporary name until [`DumpFile::finish`]; dropped unfinished, it
/// leaves nothing behind (where Cedar left a truncated dump).
pub(crate) struct DumpFile {
    partial: Partial,
    sink: Sink,
}

impl DumpFile {
    /// Starts the dump that will become `path`.
    pub(crate) fn create(path: &Path, mode: CompressMode) -> io::Result<DumpFile> {
        let (partial, file) = Partial::create(path)?;
        let file = BufWriter::with_capacity(256 * 1024, file);
        let sink = match mode {
            CompressMode::None => Sink::Plain(file),
            CompressMode::Gzip => Sink::Gz(GzipWriter::new(file)),
            CompressMode::Bzip2 => Sink::Bz(Bzip2Writer::new(file)),
        };
        Ok(DumpFile { partial, sink })
    }

    /// Ends the compressed stream, moves the file into place and gives it
    /// to the backup user (as root).
    pub(crate) fn finish(self, ownership: Option<(u32, u32)>) -> io::Result<()> {
        let file = match self.sink {
            Sink::Plain(w) => w,
            Sink::Gz(w) => w.finish()?,
            Sink::Bz(w) => w.finish()?,
        };
        file.into_inner().map_err(|e| e.into_error())?;
        let target = self.partial.target().to_path_buf();
        self.partial.commit()?;
        change_ownership(&target, ownership);
        Ok(())
    }
}

impl Write for DumpFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.sink {
            Sink::Plain(w) => w.write(buf),
            Sink::Gz(w) => w.write(buf),
            Sink::Bz(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Plain(w) => w.flush(),
            Sink::Gz(w) => w.flush(),
            Sink::Bz(w) => w.flush(),
        }
    }
}

/// Runs `argv` with its stdout written to a new dump `path`, compressed
/// per `mode`. A non-zero exit fails with Cedar's message (`failed`, given
/// the exit code) plus the command's last stderr lines, and leaves no file;
/// when `failed` gives no message the exit status is ignored.
pub(crate) fn dump_command(
    ctx: &ActionContext<'_>,
    argv: &[String],
    path: &Path,
    mode: CompressMode,
    failed: impl FnOnce(i32) -> Option<String>,
) -> anyhow::Result<()> {
    log::debug!("Dump file will be [{}].", path.display());
    let mut dump =
        DumpFile::create(path, mode).with_context(|| format!("creating {}", path.display()))?;
    let out = ctx
        .runner()
        .run_into(argv, &mut dump)
        .with_context(|| format!("writing {}", path.display()))?;
    if !out.status.success() {
        if let Some(mut msg) = failed(out.code()) {
            if !out.stderr.is_empty() {
                msg.push_str(&format!(" {}", out.stderr.join(" / ")));
            }
            anyhow::bail!(msg);
        }
    }
    dump.finish(ctx.ownership())
        .with_context(|| format!("finishing {}", path.display()))
}

/// The entries directly in `dir` (Cedar's non-recursive `addDirContents`)
/// less its exclusions (`rel_path`s joined to it, anchored patterns), under
/// the walk's other `rules`.
pub(crate) fn dir_entries(dir: &DumpDir, rules: WalkOptions) -> anyhow::Result<Vec<PathBuf>> {
    let base = OsString::from(&dir.item.path);
    let exclude_paths = dir
        .relative_exclude_paths
        .iter()
        .map(|rel| crate::py::path::join(&base, OsString::from(rel).as_os_str()))
        .collect();
    let mut walk = Walk::new(WalkOptions {
        exclude_paths,
        exclude_patterns: dir.exclude_patterns.clone(),
        ..rules
    });
    walk.add_dir_contents(&base, false, false, 0, false)
        .with_context(|| format!("listing directory {}", dir.item.path))?;
    Ok(walk.into_items().into_iter().map(PathBuf::from).collect())
}

/// The databases one run of mysql or postgresql dumps (`None`: all).
pub(crate) fn targets(databases: &Databases) -> Vec<Option<&str>> {
    match databases {
        Databases::All => vec![None],
        Databases::Named(dbs) => dbs.iter().map(|d| Some(d.as_str())).collect(),
    }
}

/// Cedar's database dumps: for each target, `argv(target)` into
/// `<prefix>.txt` (all) or `<prefix>-<db>.txt`, compressed per `mode`,
/// failing with Cedar's `Error [N] executing <product> database dump ...`.
pub(crate) fn dump_databases(
    ctx: &ActionContext<'_>,
    product: &str,
    prefix: &str,
    databases: &Databases,
    mode: CompressMode,
    argv: impl Fn(Option<&str>) -> Vec<String>,
) -> anyhow::Result<()> {
    let target = collect_dir(ctx)?;
    for database in targets(databases) {
        let name = match database {
            None => {
                log::info!("Backing up all databases.");
                format!("{prefix}.txt")
            }
            Some(db) => {
                log::info!("Backing up database [{db}].");
                format!("{prefix}-{db}.txt")
            }
        };
        let path = target.join(compressed_name(&name, mode));
        dump_command(ctx, &argv(database), &path, mode, |code| {
            Some(match database {
                None => {
                    format!("Error [{code}] executing {product} database dump for all databases.")
                }
                Some(db) => {
                    format!("Error [{code}] executing {product} database dump for database [{db}].")
                }
            })
        })?;
    }
    Ok(())
}

/// `validate` for the database extensions: `probe(target)` (a command that
/// connects as the dump would, its output discarded) must succeed for
/// every target; each failure is one `<ext>: cannot <doing> ...` line.
pub(crate) fn probe_databases(
    runner: &CommandRunner,
    ext: &str,
    doing: &str,
    databases: &Databases,
    probe: impl Fn(Option<&str>) -> Vec<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for database in targets(databases) {
        let argv = probe(database);
        let what = database.map_or("all databases".to_string(), |d| format!("database [{d}]"));
        let program = argv.first().cloned().unwrap_or_default();
        match runner.run_into(&argv, &mut io::sink()) {
            Ok(out) if out.status.success() => {}
            Ok(out) => problems.push(format!(
                "{ext}: cannot {doing} {what}: {program} exited {}: {}",
                out.code(),
                out.stderr.join(" / ")
            )),
            Err(e) => problems.push(format!("{ext}: cannot {doing} {what}: {e}")),
        }
    }
    problems
}

/// A `validate` problem when `program` (after `<override>`) cannot be found.
pub(crate) fn tool_problem(runner: &CommandRunner, program: &str, what: &str) -> Option<String> {
    let resolved = runner.resolve(program);
    which(resolved)
        .filter(|p| p.is_file())
        .is_none()
        .then(|| format!("{what}: the program [{resolved}] is not installed or not on the PATH."))
}
