//! Extended actions: the runner every row of [`crate::action::EXTENSIONS`]
//! names. Every bundled extension runs natively ([`super::ext`]): the
//! collecting ones (sysinfo, mysql, postgresql, subversion, mbox), those
//! reworking staged days (encrypt, split), amazons3 and capacity, each
//! after its section was checked as the extension itself would.

use super::{ext, ActionContext};
use crate::config::{ExtendedActionSettings, ExtensionSettings as S, Settings};
use crate::exec::CommandRunner;

/// Runs the extended action `action` with its checked section.
pub fn run(
    action: &ExtendedActionSettings,
    section: &S,
    ctx: &ActionContext<'_>,
) -> anyhow::Result<()> {
    log::debug!(
        "Extension [{}] ({}) runs natively.",
        action.name,
        action.module
    );
    match section {
        S::Sysinfo => ext::sysinfo::run(ctx),
        S::Mysql(s) => ext::mysql::run(ctx, s),
        S::Postgresql(s) => ext::postgresql::run(ctx, s),
        S::Subversion(s) => ext::subversion::run(ctx, s),
        S::Mbox(s) => ext::mbox::run(ctx, s),
        S::Encrypt(s) => ext::encrypt::run(ctx, s),
        S::Split(s) => ext::split::run(ctx, s),
        S::AmazonS3(s) => ext::amazons3::run(ctx, s),
        S::Capacity(s) => ext::capacity::run(ctx, s),
    }
}

/// What `validate` reports for an extended action whose section checked
/// out: the tools it runs that are missing, the servers that do not
/// answer.
pub fn validate(_action: &ExtendedActionSettings, section: &S, settings: &Settings) -> Vec<String> {
    let runner = CommandRunner::new(settings.options.overrides.clone());
    match section {
        S::Sysinfo => ext::sysinfo::validate(&runner),
        S::Mysql(s) => ext::mysql::validate(&runner, s),
        S::Postgresql(s) => ext::postgresql::validate(&runner, s),
        S::Subversion(s) => ext::subversion::validate(&runner, s),
        S::Mbox(s) => ext::mbox::validate(s),
        S::Encrypt(_) => ext::encrypt::validate(&runner),
        S::Split(_) => Vec::new(),
        S::AmazonS3(_) => ext::amazons3::validate(&settings.options.backup_user),
        S::Capacity(_) => Vec::new(),
    }
}
