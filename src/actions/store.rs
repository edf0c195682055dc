//! The `store` action (Cedar's `actions/store.py`): the staged day goes on
//! the disc in the drive as a new session at `/YYYY/MM/DD`, every earlier
//! day of the disc carried over, then `cback.store` marks the day.
//!
//! The rules are [`crate::engine::schedule`]'s, the drive work
//! [`crate::engine::writer`]'s; this module puts them in Cedar's order:
//! check_media, the day, the writer (a mounted device refused), new disc
//! or append, the write (capacity checked before any byte), check_data,
//! and only then the indicator. A failure anywhere leaves the staging
//! directory and its indicators as they were.
//!
//! `--dry-run` (cedar addition) stops before the write and prints the plan.

use anyhow::Context;

use super::ActionContext;
use crate::config::StoreSettings;
use crate::engine::progress::Meter;
use crate::engine::schedule::{
    self, check_media_label, choose_day, media_label, DiscDecision, Filesystem, StagedDay,
    STORE_INDICATOR,
};
use crate::engine::util::display_bytes;
use crate::engine::writer::{DiscWriter, Entries, Plan};

/// Runs store.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    let store = settings(ctx, "Store")?;
    let mut writer = None;
    if store.check_media {
        writer = Some(open_checked(ctx, store)?);
    }
    // Cedar looks for the day in <stage>'s staging directory; without a
    // <stage> section (where Cedar fails) cedar uses store's source_dir.
    let staging = ctx
        .settings
        .stage
        .as_ref()
        .map_or(store.source_dir.as_path(), |s| s.staging_dir.as_path());
    let choice = choose_day(staging, ctx.now.date_naive(), ctx.full, &Filesystem)?;
    log::info!("{}", choice.describe());
    if choice.crossed_midnight() && store.warn_midnite {
        log::warn!("Warning: store process crossed midnite boundary to find data.");
    }
    let mut writer = match writer {
        Some(w) => w,
        None => open(ctx, store)?,
    };
    let days = [choice.day];
    let starting_day = ctx.is_start_of_week();
    write_days(ctx, store, &mut writer, &days, |writer, entries, label| {
        schedule::new_disc(
            ctx.full,
            starting_day,
            store.blank_behavior.as_ref(),
            || {
                let available = writer.available_bytes()?;
                let required = writer.image_bytes(entries, label, ctx.now.timestamp())?;
                Ok::<_, anyhow::Error>((available, required))
            },
        )
    })?;
    if !ctx.dry_run {
        log::info!("Executed the 'store' action successfully.");
    }
    Ok(())
}

/// The `<store>` section (every disc action needs it).
pub(crate) fn settings<'a>(
    ctx: &ActionContext<'a>,
    action: &str,
) -> anyhow::Result<&'a StoreSettings> {
    ctx.settings
        .store
        .as_ref()
        .with_context(|| format!("{action} configuration is not properly filled in."))
}

/// Opens the writer, with a progress display when the run may show one
/// and stderr is a terminal.
pub(crate) fn open<'s>(
    ctx: &ActionContext<'_>,
    store: &'s StoreSettings,
) -> anyhow::Result<DiscWriter<'s>> {
    let meter = if ctx.progress {
        Meter::for_terminal()
    } else {
        Meter::hidden()
    };
    DiscWriter::open(store, meter)
}

/// Opens the writer and applies `check_media` (Cedar's `checkMediaState`).
pub(crate) fn open_checked<'s>(
    ctx: &ActionContext<'_>,
    store: &'s StoreSettings,
) -> anyhow::Result<DiscWriter<'s>> {
    let mut writer = open(ctx, store)?;
    if store.check_media {
        let label = writer.label()?;
        check_media_label(store.media.is_rewritable(), label.as_deref())
            .map_err(anyhow::Error::msg)?;
    }
    Ok(writer)
}

/// Writes `days` as one session, new disc or appended as `decide` says;
/// verifies it with `check_data`; marks each day with `cback.store`. In a
/// dry run it prints the plan and writes nothing.
pub(crate) fn write_days(
    ctx: &ActionContext<'_>,
    store: &StoreSettings,
    writer: &mut DiscWriter<'_>,
    days: &[StagedDay],
    decide: impl FnOnce(&mut DiscWriter<'_>, &Entries, &str) -> anyhow::Result<DiscDecision>,
) -> anyhow::Result<()> {
    let entries = Entries::days(days);
    let label = media_label(ctx.now.date_naive());
    let decision = decide(writer, &entries, &label)?;
    log::info!("Disc: {}.", decision.describe());
    let mut plan = writer.plan(
        &entries,
        &label,
        decision.new_disc,
        ctx.now.timestamp(),
        ctx.dry_run,
    )?;
    if ctx.dry_run {
        return dry_run_report(store, days, &decision, &plan);
    }
    let report = writer.write(&mut plan)?;
    if store.check_data {
        log::debug!("Running consistency check of media.");
        writer.verify(&report, &entries)?;
    }
    for day in days {
        crate::engine::util::write_indicator(&day.dir, STORE_INDICATOR, ctx.ownership())?;
    }
    Ok(())
}

/// Prints what the night would do (stdout) and logs it; fails when the
/// session would not fit, as the real run would.
fn dry_run_report(
    store: &StoreSettings,
    days: &[StagedDay],
    decision: &DiscDecision,
    plan: &Plan,
) -> anyhow::Result<()> {
    let p = &plan.placement;
    let mut lines = vec!["Dry run: nothing is written.".to_string()];
    for day in days {
        lines.push(format!(
            "Day:         {} -> /{}",
            day.dir.display(),
            day.disc_path()
        ));
    }
    lines.push(format!("Disc:        {}", decision.describe()));
    lines.push(format!(
        "Medium:      {} in {}, {}{}",
        p.profile,
        store.target_device,
        p.state,
        if plan.blank_first {
            " (blanked or formatted first)"
        } else {
            ""
        }
    ));
    lines.push(match p.import {
        Some(from) => format!(
            "Session:     at block {}, the earlier days imported from the session at block {from}",
            p.start_lba
        ),
        None => format!("Session:     at block {}, nothing imported", p.start_lba),
    });
    lines.push(format!(
        "Image size:  {} blocks ({})",
        plan.layout.sectors(),
        display_bytes(plan.bytes())
    ));
    lines.push(format!(
        "Free space:  {} blocks ({})",
        p.free_blocks,
        display_bytes(p.free_bytes())
    ));
    let fits = plan.fits();
    lines.push(format!("Fits:        {}", if fits { "yes" } else { "no" }));
    for line in &lines {
        log::info!("{line}");
        println!("{line}");
    }
    if !fits {
        anyhow::bail!(
            "{}",
            mmc::MediumError::DoesNotFit {
                need_blocks: plan.layout.sectors(),
                free_blocks: p.free_blocks,
            }
        );
    }
    Ok(())
}
