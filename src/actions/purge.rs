//! The `purge` action.

use super::ActionContext;

/// Runs the `purge` action.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    let _ = ctx;
    anyhow::bail!("the purge action is not implemented yet in this version of cedar")
}
