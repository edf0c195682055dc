//! The actions `cback` runs (collect, stage, store, purge, rebuild,
//! initialize, validate, the extended
//! actions, and the managed actions on remote peers), each a function of one
//! [`ActionContext`] holding checked [`Settings`]: an action never sees a
//! configuration that was not checked. The machinery they share lives in
//! [`crate::engine`].

pub mod collect;
pub(crate) mod ext;
pub(crate) mod extension;
pub mod initialize;
pub mod managed;
pub mod purge;
pub mod rebuild;
pub mod stage;
pub mod store;
pub(crate) mod validate;

use crate::config::{OptionsSettings, Settings};
use crate::exec::CommandRunner;

/// Everything an action needs from the run that invokes it. Time is fixed
/// once at start so that a run crossing midnight stays on one day directory.
#[derive(Debug, Clone)]
pub struct ActionContext<'a> {
    /// The checked configuration.
    pub settings: &'a Settings,
    /// `-f/--full` was given.
    pub full: bool,
    /// `--dry-run` was given: store, rebuild and initialize report their
    /// plan and write nothing.
    pub dry_run: bool,
    /// Progress may be drawn on a terminal (not with `-q`).
    pub progress: bool,
    /// `-O/--output` (or `-d`): log the output of executed commands.
    pub log_output: bool,
    /// The moment the run started, in local time.
    pub now: chrono::DateTime<chrono::Local>,
}

impl<'a> ActionContext<'a> {
    /// A context for one run of `cback`.
    pub fn new(
        settings: &'a Settings,
        full: bool,
        log_output: bool,
        now: chrono::DateTime<chrono::Local>,
    ) -> Self {
        ActionContext {
            settings,
            full,
            dry_run: false,
            progress: false,
            log_output,
            now,
        }
    }

    /// The `<options>` section.
    pub fn options(&self) -> &'a OptionsSettings {
        &self.settings.options
    }

    /// Today is the configured starting day of the week.
    pub fn is_start_of_week(&self) -> bool {
        crate::engine::util::is_start_of_week(self.options().starting_day, &self.now)
    }

    /// A command runner honouring the config's `<override>` entries.
    pub fn runner(&self) -> CommandRunner {
        CommandRunner::new(self.options().overrides.clone())
    }

    /// The ids outputs are given (the backup user's, when running as root).
    pub fn ownership(&self) -> Option<(u32, u32)> {
        let o = self.options();
        crate::engine::util::backup_ownership(&o.backup_user, &o.backup_group)
    }
}
