//! `CedarBackup3.extend.amazons3`: the day's staged directory goes to an S3
//! bucket at `s3_bucket/YYYY/MM/DD/...`, as Cedar's `aws s3 cp --recursive
//! --exclude "*cback.*"` laid it out, then `cback.store` marks the day
//! (this extension stands in for store).
//!
//! Cedar's order: root only; the day chosen as store chooses it (today,
//! else yesterday, else tomorrow, staged and not yet stored; `--full`:
//! today only); the size limit for full days (`--full` or the starting day)
//! or incremental ones checked against the day's total; whatever an
//! earlier run left under the day's prefix removed; each file uploaded
//! (first encrypted by the configured command, run as the backup user with
//! `${input}`/`${output}` substituted, into a scratch directory of the
//! working directory); the listing checked to hold every file at its size;
//! only then the indicator. Any failure leaves the day unmarked.
//!
//! Natively, with [`crate::s3`]: no aws CLI, no `su`. Credentials, region
//! and endpoint are found as the aws CLI run by the backup user (as Cedar
//! ran it) finds them: the environment, then `~backup_user/.aws`.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::staged::staging_dir;
use crate::actions::ActionContext;
use crate::config::AmazonS3Settings;
use crate::engine::schedule::{choose_day, Filesystem, NoDay, Relative, STORE_INDICATOR};
use crate::engine::util::{change_ownership, display_bytes, write_indicator};
use crate::engine::walk::{Walk, WalkOptions};
use crate::s3;

/// Runs the amazons3 action.
pub(crate) fn run(ctx: &ActionContext<'_>, s: &AmazonS3Settings) -> anyhow::Result<()> {
    log::debug!("Executing amazons3 extended action.");
    if !crate::accounts::is_root() {
        log::error!("Error: the amazons3 extended action must be run as root.");
        anyhow::bail!("The amazons3 extended action must be run as root.");
    }
    let staging = staging_dir(ctx)?;
    let (day, date) = find_day(ctx, s, staging)?;
    apply_size_limit(ctx, s, &day)?;
    let account = BackupAccount::of(ctx)?;
    let client = s3::Client::new(s3::profile::resolve(
        &s3::profile::process_env(),
        &account.home,
    )?);
    let target = Target::new(&s.s3_bucket, &date);
    log::debug!("Storing stage directory to Amazon S3 [{}].", day.display());
    log::debug!(
        "S3 bucket URL is [s3://{}/{}]",
        target.bucket,
        target.prefix
    );
    clear_existing(&client, &target)?;
    match &s.encrypt_command {
        None => {
            log::debug!("Encryption is disabled; files will be uploaded in cleartext.");
            upload_and_verify(&client, &day, &target)?;
        }
        Some(command) => {
            log::debug!("Encryption is enabled; files will be uploaded after being encrypted.");
            let scratch = Scratch::new(&ctx.options().working_dir, ctx.ownership())?;
            encrypt_day(&account, command, &day, scratch.path(), ctx.ownership())?;
            upload_and_verify(&client, scratch.path(), &target)?;
        }
    }
    write_indicator(&day, STORE_INDICATOR, ctx.ownership())?;
    log::info!("Executed the amazons3 extended action successfully.");
    Ok(())
}

/// Cedar's `_findCorrectDailyDir`, with its messages.
fn find_day(
    ctx: &ActionContext<'_>,
    s: &AmazonS3Settings,
    staging: &Path,
) -> anyhow::Result<(PathBuf, String)> {
    let choice = choose_day(staging, ctx.now.date_naive(), ctx.full, &Filesystem).map_err(|e| {
        anyhow::anyhow!(match e {
            NoDay::Full => "Unable to find staging directory to process (only tried today due to full option).",
            _ => "Unable to find unused staging directory to process (tried today, yesterday, tomorrow).",
        })
    })?;
    let which = match choice.relative {
        Relative::Today => "current",
        Relative::Yesterday => "previous",
        Relative::Tomorrow => "next",
    };
    log::info!(
        "Amazon S3 process will use {which} day's staging directory [{}]",
        choice.day.dir.display()
    );
    if choice.crossed_midnight() && s.warn_midnite {
        log::warn!("Warning: Amazon S3 process crossed midnite boundary to find data.");
    }
    let date = choice.day.disc_path();
    Ok((choice.day.dir, date))
}

/// The regular files under `dir` (recursively, symlinks to files
/// included, as `aws s3 cp` follows them), by path.
fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut walk = Walk::new(WalkOptions {
        backup: true,
        ..WalkOptions::default()
    });
    walk.add_dir_contents(dir.as_os_str(), true, false, 0, false)
        .with_context(|| format!("listing directory {}", dir.display()))?;
    Ok(walk.into_items().into_iter().map(PathBuf::from).collect())
}

fn size_of(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

/// Cedar's `_applySizeLimits`.
fn apply_size_limit(
    ctx: &ActionContext<'_>,
    s: &AmazonS3Settings,
    day: &Path,
) -> anyhow::Result<()> {
    let limit = if ctx.full || ctx.is_start_of_week() {
        log::debug!("Using Amazon S3 size limit for full backups.");
        &s.full_backup_size_limit
    } else {
        log::debug!("Using Amazon S3 size limit for incremental backups.");
        &s.incremental_backup_size_limit
    };
    let Some(limit) = limit else {
        log::debug!("No Amazon S3 size limit will be applied.");
        return Ok(());
    };
    let limit_text = display_bytes(limit.bytes() as u64);
    log::debug!("Amazon S3 size limit is: {limit_text}");
    let mut total = 0u64;
    for path in files_under(day)? {
        total += size_of(&path)?;
    }
    log::debug!("Amazon S3 backup size is: {}", display_bytes(total));
    if total as f64 > limit.bytes() {
        let msg = format!(
            "Amazon S3 size limit exceeded: {} > {limit_text}",
            display_bytes(total)
        );
        log::error!("{msg}");
        anyhow::bail!(msg);
    }
    log::info!("Total size does not exceed Amazon S3 size limit, so backup can continue.");
    Ok(())
}

/// Where a day goes: `s3_bucket` may carry a path (`bucket/some/prefix`).
struct Target {
    bucket: String,
    /// `[path/]YYYY/MM/DD`, without a trailing slash.
    prefix: String,
}

impl Target {
    fn new(s3_bucket: &str, date: &str) -> Target {
        let (bucket, path) = s3_bucket.split_once('/').unwrap_or((s3_bucket, ""));
        let path = path.trim_matches('/');
        let prefix = if path.is_empty() {
            date.to_string()
        } else {
            format!("{path}/{date}")
        };
        Target {
            bucket: bucket.to_string(),
            prefix,
        }
    }
    fn key(&self, rel: &str) -> String {
        format!("{}/{rel}", self.prefix)
    }
}

/// `aws s3 rm --recursive s3://BUCKET/PREFIX/`.
fn clear_existing(client: &s3::Client, target: &Target) -> anyhow::Result<()> {
    let listed = client.list(&target.bucket, &format!("{}/", target.prefix))?;
    for object in &listed {
        client.delete(&target.bucket, &object.key)?;
    }
    log::debug!(
        "Completed clearing any existing backup in S3 for [s3://{}/{}] ({} objects)",
        target.bucket,
        target.prefix,
        listed.len()
    );
    Ok(())
}

/// Uploads every file of `dir` but those Cedar's `--exclude "*cback.*"`
/// leaves out (a relative path holding `cback.`), then checks the
/// listing holds each at its size (Cedar's `_verifyUpload`).
fn upload_and_verify(client: &s3::Client, dir: &Path, target: &Target) -> anyhow::Result<()> {
    let mut sent = Vec::new();
    for path in files_under(dir)? {
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_str()
            .with_context(|| format!("[{}]: an S3 key must be UTF-8", path.display()))?
            .to_string();
        if rel.contains("cback.") {
            continue;
        }
        let key = target.key(&rel);
        log::debug!(
            "Uploading [{}] to [s3://{}/{key}].",
            path.display(),
            target.bucket
        );
        let size = client
            .put_file(&target.bucket, &key, &path)
            .with_context(|| format!("Error uploading [{}] to Amazon S3", path.display()))?;
        sent.push((path, key, size));
    }
    log::debug!(
        "Completed uploading staging dir [{}] to [s3://{}/{}]",
        dir.display(),
        target.bucket,
        target.prefix
    );
    let listed: std::collections::HashMap<String, u64> = client
        .list(&target.bucket, &format!("{}/", target.prefix))?
        .into_iter()
        .map(|o| (o.key, o.size))
        .collect();
    for (path, key, size) in &sent {
        match listed.get(key) {
            None => anyhow::bail!("File was apparently not uploaded: [{}]", path.display()),
            Some(got) if got != size => anyhow::bail!(
                "File size differs [{}], expected {size} bytes but got {got} bytes",
                path.display()
            ),
            Some(_) => {}
        }
    }
    log::debug!(
        "Completed verifying upload from [{}] to [s3://{}/{}].",
        dir.display(),
        target.bucket,
        target.prefix
    );
    Ok(())
}

/// The backup user, whom the encrypt command runs as and whose `~/.aws`
/// holds the credentials.
struct BackupAccount {
    name: String,
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
    home: PathBuf,
    shell: PathBuf,
}

impl BackupAccount {
    fn of(ctx: &ActionContext<'_>) -> anyhow::Result<BackupAccount> {
        let name = &ctx.options().backup_user;
        let user = nix::unistd::User::from_name(name)
            .with_context(|| format!("looking up backup user [{name}]"))?
            .with_context(|| format!("Backup user [{name}] does not exist."))?;
        Ok(BackupAccount {
            name: user.name,
            uid: user.uid,
            gid: user.gid,
            home: user.dir,
            shell: user.shell,
        })
    }

    /// `command` through `/bin/sh -c` as this account (its groups, its
    /// HOME), as Cedar's `su USER -c COMMAND` ran it.
    fn run_shell(&self, command: &str) -> anyhow::Result<std::process::ExitStatus> {
        let cname = CString::new(self.name.as_str())
            .with_context(|| format!("backup user [{}]", self.name))?;
        let groups = nix::unistd::getgrouplist(&cname, self.gid)
            .with_context(|| format!("groups of backup user [{}]", self.name))?;
        let (uid, gid) = (self.uid, self.gid);
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(command)
            .env("HOME", &self.home)
            .env("SHELL", &self.shell)
            .env("USER", &self.name)
            .env("LOGNAME", &self.name);
        // SAFETY: only async-signal-safe system calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                nix::unistd::setgroups(&groups)?;
                nix::unistd::setgid(gid)?;
                nix::unistd::setuid(uid)?;
                Ok(())
            });
        }
        cmd.status()
            .with_context(|| format!("running [{command}] as {}", self.name))
    }
}

/// A scratch directory in the working directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(working_dir: &Path, ownership: Option<(u32, u32)>) -> anyhow::Result<Scratch> {
        for n in 0..1000u32 {
            let path = working_dir.join(format!("cedar-amazons3-{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    change_ownership(&path, ownership);
                    return Ok(Scratch(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("creating {}", path.display()));
                }
            }
        }
        anyhow::bail!(
            "cannot create a scratch directory in {}",
            working_dir.display()
        )
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            log::warn!("Cannot remove [{}]: {e}", self.0.display());
        }
    }
}

/// Cedar's `_encryptStagingDir`: each file of `day` through the encrypt
/// command into the same place under `into`; empty files copied empty.
fn encrypt_day(
    account: &BackupAccount,
    command: &str,
    day: &Path,
    into: &Path,
    ownership: Option<(u32, u32)>,
) -> anyhow::Result<()> {
    for cleartext in files_under(day)? {
        let rel = cleartext.strip_prefix(day).unwrap_or(&cleartext);
        let encrypted = into.join(rel);
        if let Some(parent) = encrypted.parent() {
            if !parent.is_dir() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
                let mut p = parent;
                while p != into {
                    change_ownership(p, ownership);
                    p = match p.parent() {
                        Some(p) => p,
                        None => break,
                    };
                }
            }
        }
        if size_of(&cleartext)? == 0 {
            std::fs::write(&encrypted, b"")
                .with_context(|| format!("creating {}", encrypted.display()))?;
            continue;
        }
        let actual = command
            .replace("${input}", &cleartext.to_string_lossy())
            .replace("${output}", &encrypted.to_string_lossy());
        let status = account.run_shell(&actual)?;
        if !status.success() {
            anyhow::bail!(
                "Error [{}] encrypting [{}].",
                status.code().unwrap_or(-1),
                cleartext.display()
            );
        }
    }
    log::debug!(
        "Completed encrypting staging directory [{}] into [{}]",
        day.display(),
        into.display()
    );
    Ok(())
}

/// `validate`: the credentials must be found.
pub(crate) fn validate(backup_user: &str) -> Vec<String> {
    let home = match nix::unistd::User::from_name(backup_user) {
        Ok(Some(u)) => u.dir,
        _ => {
            return vec![format!(
                "amazons3: backup user [{backup_user}] does not exist."
            )]
        }
    };
    match s3::profile::resolve(&s3::profile::process_env(), &home) {
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("amazons3: {}", crate::engine::util::error_line(&e))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_follow_cedars_bucket_urls() {
        let t = Target::new("mybucket", "2024/01/02");
        assert_eq!(
            (t.bucket.as_str(), t.key("host/a.tar")),
            ("mybucket", "2024/01/02/host/a.tar".into())
        );
        let t = Target::new("mybucket/backups/", "2024/01/02");
        assert_eq!(
            (t.bucket.as_str(), t.prefix.as_str()),
            ("mybucket", "backups/2024/01/02")
        );
    }
}
