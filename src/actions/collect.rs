//! The `collect` action.

use super::ActionContext;

/// Runs the `collect` action.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    let _ = ctx;
    anyhow::bail!("the collect action is not implemented yet in this version of cedar")
}
