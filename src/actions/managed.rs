//! Managed peers (`-M`/`-N`): run an action on each remote peer that is
//! `managed` and lists it in its `managed_actions` (else the options'),
//! as `<rsh_command> user@peer '<cback_command> [--full] <action>'`.
//! A failing peer is logged as an error and never stops the run.
//!
//! As root the remote shell runs as the backup user (through `su`, without a
//! shell, see [`crate::engine::peer`]). Not as root it runs as the current user,
//! where Cedar 3 refused outright ("Only root can remote shell as another
//! user") because it always asked for the backup user.

use super::stage::remote_peer;
use super::ActionContext;
use crate::engine::peer::{self, Commands, RemotePeer};

/// The managed remote peers (from `<peers>`, as Cedar reads them) that run
/// `action`, each with its `cback_command`; a peer listed twice runs once.
pub fn managed_peers(ctx: &ActionContext<'_>, action: &str) -> Vec<(RemotePeer, String)> {
    let options = ctx.options();
    let commands = Commands {
        runner: ctx.runner(),
        local_user: peer::local_user(&options.backup_user),
    };
    let mut out: Vec<(RemotePeer, String)> = Vec::new();
    for p in &ctx.settings.managed_peers {
        if !p.managed_actions.iter().any(|x| x == action) {
            continue;
        }
        if out.iter().any(|(q, _)| q.name == p.name) {
            continue;
        }
        out.push((
            remote_peer(p, &options.working_dir, &commands),
            p.cback_command.clone(),
        ));
    }
    out
}

/// The remote command line for `action`.
pub fn cback_command(cback: &str, action: &str, full: bool) -> String {
    if full {
        format!("{cback} --full {action}")
    } else {
        format!("{cback} {action}")
    }
}

/// Runs `action` on every managed peer that takes it. Never fails: a peer's
/// failure is logged as an error, as in Cedar.
pub fn run_managed(ctx: &ActionContext<'_>, action: &str) -> anyhow::Result<()> {
    for (peer, cback) in managed_peers(ctx, action) {
        log::debug!(
            "Executing managed action [{action}] on peer [{}].",
            peer.name
        );
        let command = cback_command(&cback, action, ctx.full);
        if let Err(e) = peer.execute_remote_command(&command) {
            log::info!("{e:#}");
            log::error!(
                "Failed to execute action [{action}] on managed client [{}].",
                peer.name
            );
        }
    }
    Ok(())
}
