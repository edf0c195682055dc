//! `CedarBackup3.extend.encrypt`: every staged file of each day not yet
//! marked `cback.encrypt` is encrypted for the configured recipient with
//! gpg, as Cedar runs it (`gpg --batch --yes -e -r RECIPIENT -o OUT IN`, as
//! the account running cback with its environment, so the keyring Cedar
//! used, `$GNUPGHOME` or `~/.gnupg`, is the one used), giving `IN.gpg`
//! owned by the backup user; then the day is marked.
//!
//! Where Cedar removed each original as soon as its own `.gpg` existed, a
//! day here is all or nothing: every file is encrypted (each `.gpg`
//! written under a temporary name and moved into place once gpg
//! succeeded), and only then are the originals removed. A failure removes
//! the `.gpg` files of that day made so far and leaves the day as it was,
//! so a re-run does not encrypt encrypted files again.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::staged::{backup_files, daily_dirs, staging_dir, with_suffix};
use super::tool_problem;
use crate::actions::ActionContext;
use crate::config::EncryptSettings;
use crate::engine::atomic::Partial;
use crate::engine::util::{change_ownership, write_indicator};
use crate::exec::CommandRunner;

/// The indicator Cedar writes into an encrypted day.
pub(crate) const ENCRYPT_INDICATOR: &str = "cback.encrypt";

/// The program, as `<override>` names it.
const GPG: &str = "gpg";

/// Runs the encrypt action.
pub(crate) fn run(ctx: &ActionContext<'_>, s: &EncryptSettings) -> anyhow::Result<()> {
    log::debug!("Executing encrypt extended action.");
    let staging = staging_dir(ctx)?;
    let runner = ctx.runner();
    confirm_recipient(&runner, &s.encrypt_target)?;
    let ownership = ctx.ownership();
    for day in daily_dirs(staging, ENCRYPT_INDICATOR)? {
        encrypt_day(&runner, &day, &s.encrypt_target, ownership)?;
        write_indicator(&day, ENCRYPT_INDICATOR, ownership)?;
    }
    log::info!("Executed the encrypt extended action successfully.");
    Ok(())
}

/// Cedar's `_confirmGpgRecipient`: gpg must know the recipient's key.
fn confirm_recipient(runner: &CommandRunner, recipient: &str) -> anyhow::Result<()> {
    let argv = [GPG, "--batch", "-k", recipient].map(String::from);
    let out = runner
        .run(&argv)
        .with_context(|| format!("GPG unable to find public key for [{recipient}]."))?;
    if !out.status.success() {
        anyhow::bail!("GPG unable to find public key for [{recipient}].");
    }
    Ok(())
}

/// Encrypts every file of `day`; the originals go only once all are done.
fn encrypt_day(
    runner: &CommandRunner,
    day: &Path,
    recipient: &str,
    ownership: Option<(u32, u32)>,
) -> anyhow::Result<()> {
    log::debug!("Begin encrypting contents of [{}].", day.display());
    let sources = backup_files(day)?;
    let mut made: Vec<PathBuf> = Vec::with_capacity(sources.len());
    for source in &sources {
        match encrypt_file(runner, source, recipient) {
            Ok(encrypted) => {
                change_ownership(&encrypted, ownership);
                made.push(encrypted);
            }
            Err(e) => {
                for path in &made {
                    if let Err(e) = std::fs::remove_file(path) {
                        log::warn!("Cannot remove [{}]: {e}", path.display());
                    }
                }
                return Err(e);
            }
        }
    }
    for source in &sources {
        std::fs::remove_file(source).with_context(|| {
            format!(
                "Failed to remove file [{}] after encrypting it.",
                source.display()
            )
        })?;
        log::debug!("Completed removing old file [{}].", source.display());
    }
    log::debug!("Completed encrypting contents of [{}].", day.display());
    Ok(())
}

/// `gpg -e` of `source` into `source.gpg`, written under a temporary name.
fn encrypt_file(runner: &CommandRunner, source: &Path, recipient: &str) -> anyhow::Result<PathBuf> {
    let encrypted = with_suffix(source, ".gpg");
    let (partial, file) =
        Partial::create(&encrypted).with_context(|| format!("creating {}", encrypted.display()))?;
    drop(file);
    let mut argv = [GPG, "--batch", "--yes", "-e", "-r", recipient, "-o"]
        .map(String::from)
        .to_vec();
    argv.push(partial.path().to_string_lossy().into_owned());
    argv.push(source.to_string_lossy().into_owned());
    let failed = || format!("Error calling gpg to encrypt [{}].", source.display());
    let out = runner.run(&argv).with_context(failed)?;
    if !out.status.success() {
        anyhow::bail!(
            "Error [{}] calling gpg to encrypt [{}]: {}",
            out.status.code().unwrap_or(-1),
            source.display(),
            out.tail(3)
        );
    }
    partial
        .commit()
        .with_context(|| format!("finishing {}", encrypted.display()))?;
    log::debug!(
        "Completed encrypting file [{}] to [{}].",
        source.display(),
        encrypted.display()
    );
    Ok(encrypted)
}

/// `validate`: gpg must be installed.
pub(crate) fn validate(runner: &CommandRunner) -> Vec<String> {
    tool_problem(runner, GPG, "encrypt").into_iter().collect()
}
