//! The `stage` action: gather every peer's collected files into
//! `<staging_dir>/YYYY/MM/DD/<peer>/` (the day fixed when the run started),
//! mark each staged peer with `cback.stage` and the day with `cback.stage`.
//!
//! Peers come from `<stage>` when it lists any, else from `<peers>`. A peer
//! without `cback.collect` is skipped with an error, or with an info message
//! when its `ignore_failures` mode applies (`all` always; `weekly` on full or
//! starting-day runs; `daily` on the other runs). A peer that fails while
//! being staged is logged and the others go on.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::ActionContext;
use crate::config::IgnoreFailureMode;
use crate::engine::peer::{self, Commands, RemotePeer};
use crate::engine::util::{self, change_ownership};

enum Peer {
    Local {
        name: String,
        collect_dir: Option<String>,
        ignore: Option<IgnoreFailureMode>,
    },
    Remote {
        peer: RemotePeer,
        ignore: Option<IgnoreFailureMode>,
    },
}

impl Peer {
    fn name(&self) -> &str {
        match self {
            Peer::Local { name, .. } => name,
            Peer::Remote { peer, .. } => &peer.name,
        }
    }
    fn ignore(&self) -> Option<IgnoreFailureMode> {
        match self {
            Peer::Local { ignore, .. } | Peer::Remote { ignore, .. } => *ignore,
        }
    }
    fn ready(&self) -> bool {
        match self {
            Peer::Local { collect_dir, .. } => collect_dir
                .as_ref()
                .is_some_and(|d| Path::new(d).join(util::COLLECT_INDICATOR).exists()),
            Peer::Remote { peer, .. } => peer.check_collect_indicator(),
        }
    }
    fn stage(&self, target: &Path, ownership: Option<(u32, u32)>) -> anyhow::Result<usize> {
        match self {
            Peer::Local { collect_dir, .. } => {
                let dir = collect_dir
                    .as_deref()
                    .context("local peer has no collect_dir")?;
                peer::copy_local_dir(Path::new(dir), target, ownership)
            }
            Peer::Remote { peer, .. } => peer.stage(target, ownership),
        }
    }
    fn write_stage_indicator(&self) -> anyhow::Result<()> {
        match self {
            Peer::Local { collect_dir, .. } => {
                let dir = collect_dir
                    .as_deref()
                    .context("local peer has no collect_dir")?;
                if !Path::new(dir).is_dir() {
                    bail!("Collect directory {dir} is not a directory or does not exist on disk.");
                }
                util::write_indicator(Path::new(dir), util::STAGE_INDICATOR, None)
            }
            Peer::Remote { peer, .. } => peer.write_stage_indicator(),
        }
    }
}

/// Whether a missing collect indicator is only worth an info message.
pub fn ignore_failures(mode: Option<IgnoreFailureMode>, full_or_start: bool) -> bool {
    match mode {
        None | Some(IgnoreFailureMode::None) => false,
        Some(IgnoreFailureMode::All) => true,
        Some(IgnoreFailureMode::Weekly) => full_or_start,
        Some(IgnoreFailureMode::Daily) => !full_or_start,
    }
}

fn peers(ctx: &ActionContext<'_>) -> anyhow::Result<Vec<Peer>> {
    let options = ctx.options();
    let (locals, remotes) = (
        ctx.config.stage_local_peers(),
        ctx.config.stage_remote_peers(),
    );
    let mut out = Vec::new();
    for p in locals {
        out.push(Peer::Local {
            name: p.name.clone().context("local peer without a name")?,
            collect_dir: p.collect_dir.clone(),
            ignore: p.ignore_failure_mode,
        });
    }
    let commands = Commands {
        runner: ctx.runner(),
        local_user: peer::local_user(options),
    };
    let working_dir = options
        .working_dir
        .as_deref()
        .context("remote peers need options/working_dir")?;
    for p in remotes {
        let name = p.name.clone().context("remote peer without a name")?;
        let remote_user = ctx
            .config
            .remote_user(p)
            .with_context(|| format!("remote peer {name} has no backup user"))?
            .to_string();
        out.push(Peer::Remote {
            peer: RemotePeer {
                name,
                collect_dir: p.collect_dir.clone(),
                working_dir: PathBuf::from(working_dir),
                remote_user,
                rcp: peer::command_or(
                    p.rcp_command.as_deref().or(options.rcp_command.as_deref()),
                    peer::DEFAULT_RCP,
                ),
                rsh: peer::command_or(
                    p.rsh_command.as_deref().or(options.rsh_command.as_deref()),
                    peer::DEFAULT_RSH,
                ),
                commands: commands.clone(),
            },
            ignore: p.ignore_failure_mode,
        });
    }
    Ok(out)
}

fn create_dir(dir: &Path, ownership: Option<(u32, u32)>, parents: usize) -> anyhow::Result<()> {
    if dir.is_dir() {
        log::warn!("Staging directory [{}] already existed.", dir.display());
        return Ok(());
    }
    log::debug!("Creating staging directory [{}].", dir.display());
    std::fs::create_dir_all(dir)
        .with_context(|| format!("Unable to create staging directory {}", dir.display()))?;
    for d in dir.ancestors().take(parents + 1) {
        change_ownership(d, ownership);
    }
    Ok(())
}

/// Runs the `stage` action.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    log::debug!("Executing the 'stage' action.");
    let stage = match (&ctx.config.options, &ctx.config.stage) {
        (Some(_), Some(s)) => s,
        _ => bail!("Stage configuration is not properly filled in."),
    };
    let staging = stage
        .target_dir
        .as_deref()
        .context("stage has no staging_dir")?;
    let day = util::day_dir(Path::new(staging), &ctx.now);
    log::debug!("Daily staging directory is [{}].", day.display());
    let options = ctx.options();
    let ownership = util::backup_ownership(options);
    // Cedar fails the whole action when root cannot resolve the backup user.
    if crate::accounts::is_root() {
        if let (Some(u), Some(g)) = (&options.backup_user, &options.backup_group) {
            crate::accounts::uid_gid(u, g)?;
        }
    }
    let peers = peers(ctx)?;
    create_dir(&day, ownership, 2)?;
    for p in &peers {
        create_dir(&day.join(p.name()), ownership, 0)?;
    }
    let full_or_start = ctx.full || ctx.is_start_of_week();
    for p in &peers {
        log::info!("Staging peer [{}].", p.name());
        if !p.ready() {
            if ignore_failures(p.ignore(), full_or_start) {
                log::info!("Peer [{}] was not ready to be staged.", p.name());
            } else {
                log::error!("Peer [{}] was not ready to be staged.", p.name());
            }
            continue;
        }
        let target = day.join(p.name());
        match p
            .stage(&target, ownership)
            .and_then(|n| p.write_stage_indicator().map(|()| n))
        {
            Ok(n) => log::info!("Staged {n} files for peer [{}].", p.name()),
            Err(e) => log::error!("Error staging [{}]: {e:#}", p.name()),
        }
    }
    util::write_indicator(&day, util::STAGE_INDICATOR, ownership)?;
    log::info!("Executed the 'stage' action successfully.");
    Ok(())
}
