//! The `rebuild` action (Cedar's `actions/rebuild.py`): this week's disc
//! made again, on a new disc, from every staged day (with `cback.stage`,
//! stored or not) back to the last starting day; each day gets
//! `cback.store` after the write (and check_data) succeeded.

use super::store::{open_checked, settings, write_days};
use super::ActionContext;
use crate::engine::schedule::{rebuild_days, DiscDecision, DiscReason, Filesystem};

/// Runs rebuild.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    let store = settings(ctx, "Rebuild")?;
    let mut writer = open_checked(ctx, store)?;
    let days = rebuild_days(
        &store.source_dir,
        ctx.now.date_naive(),
        ctx.options().starting_day,
        &Filesystem,
    )?;
    for day in &days {
        log::info!(
            "Rebuild process will include stage directory [{}]",
            day.dir.display()
        );
    }
    write_days(ctx, store, &mut writer, &days, |_, _, _| {
        Ok(DiscDecision {
            new_disc: true,
            reason: DiscReason::Full,
        })
    })?;
    if !ctx.dry_run {
        log::info!("Executed the 'rebuild' action successfully.");
    }
    Ok(())
}
