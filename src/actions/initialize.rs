//! The `initialize` action (Cedar's `actions/initialize.py` and
//! `initializeMediaState`): rewritable media only; the media is refreshed,
//! blanked or formatted, and written as a new disc holding only the empty
//! directory `/CedarBackup`, labelled `CEDAR BACKUP DD-MON-YYYY`, so that
//! `check_media` recognizes it later.

use anyhow::Context;

use super::store::{open, settings};
use super::ActionContext;
use crate::engine::schedule::media_label;
use crate::engine::writer::Entries;

/// The directory an initialized disc holds.
pub const INITIALIZED_DIR: &str = "CedarBackup";

/// Runs initialize.
pub fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    let store = settings(ctx, "Store")?;
    if !store.media.is_rewritable() {
        anyhow::bail!("Only rewritable media types can be initialized.");
    }
    let mut writer = open(ctx, store)?;
    if !ctx.dry_run {
        writer.refresh()?;
    }
    // Cedar grafts an empty temporary directory of the working directory.
    let empty = ctx
        .options()
        .working_dir
        .join(format!(".cedar-initialize-{}", std::process::id()));
    std::fs::create_dir(&empty).with_context(|| format!("creating {}", empty.display()))?;
    let result = (|| {
        let entries = Entries::dir(&empty, INITIALIZED_DIR);
        let label = media_label(ctx.now.date_naive());
        let mut plan = writer.plan(&entries, &label, true, ctx.now.timestamp(), ctx.dry_run)?;
        if ctx.dry_run {
            println!("Dry run: nothing is written.");
            println!(
                "Initialize:  {} in {} as \"{label}\" holding /{INITIALIZED_DIR} ({} blocks){}",
                plan.placement.profile,
                store.target_device,
                plan.layout.sectors(),
                if plan.blank_first {
                    ", blanked or formatted first"
                } else {
                    ""
                }
            );
            return Ok(());
        }
        writer.write(&mut plan).map(|_| ())
    })();
    if let Err(e) = std::fs::remove_dir(&empty) {
        log::warn!("Could not remove {}: {e}", empty.display());
    }
    result?;
    if !ctx.dry_run {
        log::info!("Executed the 'initialize' action successfully.");
    }
    Ok(())
}
