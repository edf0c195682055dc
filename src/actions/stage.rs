//! The `stage` action: gather every peer's collected files into
//! `<staging_dir>/YYYY/MM/DD/<peer>/` (the day fixed when the run started),
//! mark each staged peer with `cback.stage` and the day with `cback.stage`.
//!
//! Peers come from `<stage>` when it lists any, else from `<peers>`. A peer
//! without `cback.collect` is skipped with an error, or with an info message
//! when its `ignore_failures` mode applies (`all` always; `weekly` on full or
//! starting-day runs; `daily` on the other runs). A peer that fails while
//! being staged is logged and the others go on.

use std::path::Path;

use anyhow::{bail, Context};

use super::ActionContext;
use crate::config::{IgnoreFailureMode, LocalPeerSettings, RemotePeerSettings, StageSettings};
use crate::engine::atomic;
use crate::engine::peer::{self, Commands, RemotePeer};
use crate::engine::util::{self, change_ownership};
use crate::exec::split_command_line;

enum Peer {
    Local(LocalPeerSettings),
    Remote {
        peer: RemotePeer,
        ignore: IgnoreFailureMode,
    },
}

impl Peer {
    fn name(&self) -> &str {
        match self {
            Peer::Local(p) => &p.name,
            Peer::Remote { peer, .. } => &peer.name,
        }
    }
    fn ignore(&self) -> IgnoreFailureMode {
        match self {
            Peer::Local(p) => p.ignore_failures,
            Peer::Remote { ignore, .. } => *ignore,
        }
    }
    fn ready(&self) -> bool {
        match self {
            Peer::Local(p) => p.collect_dir.join(util::COLLECT_INDICATOR).exists(),
            Peer::Remote { peer, .. } => peer.check_collect_indicator(),
        }
    }
    fn stage(&self, target: &Path, ownership: Option<(u32, u32)>) -> anyhow::Result<usize> {
        match self {
            Peer::Local(p) => peer::copy_local_dir(&p.collect_dir, target, ownership),
            Peer::Remote { peer, .. } => peer.stage(target, ownership),
        }
    }
    fn write_stage_indicator(&self) -> anyhow::Result<()> {
        match self {
            Peer::Local(p) => {
                if !p.collect_dir.is_dir() {
                    bail!(
                        "Collect directory {} is not a directory or does not exist on disk.",
                        p.collect_dir.display()
                    );
                }
                util::write_indicator(&p.collect_dir, util::STAGE_INDICATOR, None)
            }
            Peer::Remote { peer, .. } => peer.write_stage_indicator(),
        }
    }
}

/// Whether a missing collect indicator is only worth an info message.
pub fn ignore_failures(mode: IgnoreFailureMode, full_or_start: bool) -> bool {
    match mode {
        IgnoreFailureMode::None => false,
        IgnoreFailureMode::All => true,
        IgnoreFailureMode::Weekly => full_or_start,
        IgnoreFailureMode::Daily => !full_or_start,
    }
}

fn peers(ctx: &ActionContext<'_>, stage: &StageSettings) -> Vec<Peer> {
    let mut out: Vec<Peer> = stage.local_peers.iter().cloned().map(Peer::Local).collect();
    let commands = Commands {
        runner: ctx.runner(),
        local_user: peer::local_user(&ctx.options().backup_user),
    };
    for p in &stage.remote_peers {
        out.push(Peer::Remote {
            peer: remote_peer(p, &ctx.options().working_dir, &commands),
            ignore: p.ignore_failures,
        });
    }
    out
}

/// The engine's view of a checked remote peer.
pub fn remote_peer(p: &RemotePeerSettings, working_dir: &Path, commands: &Commands) -> RemotePeer {
    RemotePeer {
        name: p.name.clone(),
        collect_dir: p.collect_dir.clone(),
        working_dir: working_dir.to_path_buf(),
        remote_user: p.remote_user.clone(),
        rcp: split_command_line(&p.rcp_command),
        rsh: split_command_line(&p.rsh_command),
        commands: commands.clone(),
    }
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
    let Some(stage) = &ctx.settings.stage else {
        bail!("Stage configuration is not properly filled in.");
    };
    let day = util::day_dir(&stage.staging_dir, &ctx.now);
    log::debug!("Daily staging directory is [{}].", day.display());
    let options = ctx.options();
    // Cedar fails the whole action when root cannot resolve the backup user.
    if crate::accounts::is_root() {
        crate::accounts::uid_gid(&options.backup_user, &options.backup_group)?;
    }
    let ownership = ctx.ownership();
    let peers = peers(ctx, stage);
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
        atomic::remove_stale(&target);
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
