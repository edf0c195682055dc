//! Managed peers (`-M`/`-N`): run an action on each remote peer that is
//! `managed` and lists it in its `managed_actions` (else the options'),
//! as `<rsh_command> user@peer '<cback_command> [--full] <action>'`.
//! A failing peer is logged as an error and never stops the run.

use std::path::PathBuf;

use super::peer::{self, Commands, RemotePeer};
use super::ActionContext;

/// The managed remote peers (from `<peers>`, as Cedar reads them) that run `action`.
pub fn managed_peers(ctx: &ActionContext<'_>, action: &str) -> Vec<(RemotePeer, String)> {
    let options = ctx.options();
    let commands = Commands {
        runner: ctx.runner(),
        local_user: peer::local_user(options),
    };
    let mut out: Vec<(RemotePeer, String)> = Vec::new();
    let peers = ctx
        .config
        .peers
        .as_ref()
        .and_then(|p| p.remote_peers.as_ref());
    for p in peers.into_iter().flatten().filter(|p| p.managed) {
        let actions = p
            .managed_actions
            .as_ref()
            .or(options.managed_actions.as_ref());
        if !actions.is_some_and(|a| a.iter().any(|x| x == action)) {
            continue;
        }
        let Some(name) = p.name.clone() else { continue };
        if out.iter().any(|(q, _)| q.name == name) {
            continue;
        }
        let cback = p
            .cback_command
            .clone()
            .or_else(|| options.cback_command.clone())
            .unwrap_or_else(|| peer::DEFAULT_CBACK.to_string());
        let remote = RemotePeer {
            name,
            collect_dir: p.collect_dir.clone(),
            working_dir: PathBuf::from(
                options.working_dir.clone().unwrap_or_else(|| "/tmp".into()),
            ),
            remote_user: p
                .remote_user
                .clone()
                .or_else(|| options.backup_user.clone())
                .unwrap_or_else(|| "backup".into()),
            rcp: peer::command_or(
                p.rcp_command.as_deref().or(options.rcp_command.as_deref()),
                peer::DEFAULT_RCP,
            ),
            rsh: peer::command_or(
                p.rsh_command.as_deref().or(options.rsh_command.as_deref()),
                peer::DEFAULT_RSH,
            ),
            commands: commands.clone(),
        };
        out.push((remote, cback));
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
