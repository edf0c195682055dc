//! The `stage` action.

use super::ActionContext;

/// Runs the `stage` action.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    let _ = ctx;
    anyhow::bail!("the stage action is not implemented yet in this version of cedar")
}
