//! `CedarBackup3.extend.subversion`: `svnadmin dump` of each configured
//! repository (and of each repository directly inside a configured
//! directory) to `svndump-<first>:<last>-<normalized path>.txt[.gz|.bz2]`
//! in the collect directory.
//!
//! Collect modes as Cedar applies them: daily every day, weekly on the
//! starting day, incr every day but from the revision after the last one
//! dumped, which is kept between runs in `<working_dir>/<normalized
//! path>.svnlast` as Cedar keeps it (a protocol-0 pickle of the revision,
//! so cedar and cback3 can take over from each other). A full run (`-f`
//! or the starting day) dumps from revision 0. Every dump is
//! `--incremental`, so a full dump followed by each day's increments loads
//! back with `svnadmin load` to the same repository. The repository `type`
//! (BDB, FSFS) is informational, as in Cedar: svnadmin knows.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::{collect_dir, compressed_name, dir_entries, due, dump_command, tool_problem};
use crate::actions::ActionContext;
use crate::config::{CollectMode, DumpItem, SubversionSettings};
use crate::engine::atomic;
use crate::engine::util::{change_ownership, normalized_path};
use crate::engine::walk::WalkOptions;
use crate::exec::CommandRunner;
use crate::py::pickle;

/// Suffix of the last-revision state file.
const STATE_EXTENSION: &str = "svnlast";

/// Runs the subversion action.
pub(crate) fn run(ctx: &ActionContext<'_>, s: &SubversionSettings) -> anyhow::Result<()> {
    log::debug!("Executing Subversion extended action.");
    let target = collect_dir(ctx)?;
    let start_of_week = ctx.is_start_of_week();
    let full = ctx.full || start_of_week;
    log::debug!("Full backup flag is [{full}]");
    for (kind, repo) in &s.repositories {
        backup(ctx, &target, start_of_week, full, kind.as_deref(), repo)?;
    }
    for (kind, dir) in &s.repository_dirs {
        log::debug!("Working with repository directory [{}].", dir.item.path);
        for path in repositories_in(dir)? {
            let repo = DumpItem {
                path,
                ..dir.item.clone()
            };
            backup(ctx, &target, start_of_week, full, kind.as_deref(), &repo)?;
        }
        log::info!(
            "Completed backing up Subversion repository directory [{}].",
            dir.item.path
        );
    }
    log::info!("Executed the Subversion extended action successfully.");
    Ok(())
}

/// The repositories directly inside `dir`: its subdirectories (not files,
/// not symlinks), less the exclusions.
fn repositories_in(dir: &crate::config::DumpDir) -> anyhow::Result<Vec<String>> {
    let rules = WalkOptions {
        exclude_files: true,
        exclude_links: true,
        ..Default::default()
    };
    Ok(dir_entries(dir, rules)?
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect())
}

/// `<working_dir>/<normalized path>.svnlast`.
fn state_path(ctx: &ActionContext<'_>, repo: &str) -> PathBuf {
    let name = format!("{}.{STATE_EXTENSION}", normalized_path(repo));
    ctx.options().working_dir.join(name)
}

/// The revision last dumped, or -1 (none, or unreadable: logged).
fn load_last(path: &Path) -> i64 {
    if !path.is_file() {
        log::debug!("Revision file [{}] does not exist on disk.", path.display());
        return -1;
    }
    match std::fs::read(path)
        .map_err(anyhow::Error::from)
        .and_then(|d| pickle::load_int(&d))
    {
        Ok(rev) => {
            log::debug!(
                "Loaded revision file [{}] from disk: {rev}.",
                path.display()
            );
            rev
        }
        Err(e) => {
            log::error!(
                "Failed loading revision file [{}] from disk: {e:#}",
                path.display()
            );
            -1
        }
    }
}

/// The repository's youngest revision (`svnlook youngest`).
fn youngest(runner: &CommandRunner, repo: &str) -> anyhow::Result<i64> {
    let out = runner.run(&["svnlook".into(), "youngest".into(), repo.into()])?;
    if !out.status.success() {
        bail!(
            "Error [{}] executing 'svnlook youngest' for repository [{repo}]. {}",
            out.status.code().unwrap_or(-1),
            out.tail(3)
        );
    }
    match out.lines.as_slice() {
        [line] => line
            .trim()
            .parse()
            .with_context(|| format!("Unable to parse 'svnlook youngest' output {line:?}.")),
        _ => bail!("Unable to parse 'svnlook youngest' output."),
    }
}

fn backup(
    ctx: &ActionContext<'_>,
    target: &Path,
    start_of_week: bool,
    full: bool,
    kind: Option<&str>,
    repo: &DumpItem,
) -> anyhow::Result<()> {
    log::debug!("Working with repository [{}]", repo.path);
    log::debug!("Repository type is [{}]", kind.unwrap_or("None"));
    let state = state_path(ctx, &repo.path);
    if !due(repo.collect_mode, full, start_of_week) {
        log::debug!("Repository will not be backed up, per collect mode.");
        return Ok(());
    }
    let runner = ctx.runner();
    let incr = repo.collect_mode == CollectMode::Incr;
    let (first, last) = if !incr || full {
        (0, youngest(&runner, &repo.path)?)
    } else {
        let first = load_last(&state) + 1;
        let last = youngest(&runner, &repo.path)?;
        if first > last {
            log::info!(
                "No need to back up repository [{}]; no new revisions.",
                repo.path
            );
            return Ok(());
        }
        (first, last)
    };
    log::debug!("Using revisions ({first}, {last}).");
    let name = format!("svndump-{first}:{last}-{}.txt", normalized_path(&repo.path));
    let path = target.join(compressed_name(&name, repo.compress_mode));
    let argv: Vec<String> = vec![
        "svnadmin".into(),
        "dump".into(),
        "--quiet".into(),
        format!("-r{first}:{last}"),
        "--incremental".into(),
        repo.path.clone(),
    ];
    dump_command(ctx, &argv, &path, repo.compress_mode, |code| {
        Some(format!(
            "Error [{code}] executing Subversion dump for repository [{}].",
            repo.path
        ))
    })?;
    if incr {
        match atomic::write(&state, &pickle::dump_int(last)) {
            Ok(()) => {
                change_ownership(&state, ctx.ownership());
                log::debug!(
                    "Wrote new revision file [{}] to disk: {last}.",
                    state.display()
                );
            }
            Err(e) => log::error!(
                "Failed to write revision file [{}] to disk: {e}",
                state.display()
            ),
        }
    }
    log::info!(
        "Completed backing up Subversion repository [{}].",
        repo.path
    );
    Ok(())
}

/// `validate`: svnadmin and svnlook installed, each configured repository
/// one svnlook can read.
pub(crate) fn validate(runner: &CommandRunner, s: &SubversionSettings) -> Vec<String> {
    let mut problems: Vec<String> = ["svnadmin", "svnlook"]
        .iter()
        .filter_map(|p| tool_problem(runner, p, "subversion"))
        .collect();
    if !problems.is_empty() {
        return problems;
    }
    for (_, repo) in &s.repositories {
        if let Err(e) = youngest(runner, &repo.path) {
            problems.push(format!("subversion: repository [{}]: {e:#}", repo.path));
        }
    }
    for (_, dir) in &s.repository_dirs {
        if !Path::new(&dir.item.path).is_dir() {
            problems.push(format!(
                "subversion: repository directory [{}] does not exist.",
                dir.item.path
            ));
        }
    }
    problems
}
