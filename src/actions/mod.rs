//! The actions `cback` runs (collect, stage, store, purge, validate, ...),
//! each a function of one [`ActionContext`]. The machinery they share lives
//! in [`crate::engine`].

pub mod collect;
pub mod managed;
pub mod purge;
pub mod stage;
pub mod validate;

use crate::config::Config;
use crate::exec::CommandRunner;

/// Everything an action needs from the run that invokes it. Time is fixed
/// once at start so that a run crossing midnight stays on one day directory.
#[derive(Debug, Clone)]
pub struct ActionContext<'a> {
    /// The validated configuration.
    pub config: &'a Config,
    /// `-f/--full` was given.
    pub full: bool,
    /// `-O/--output` (or `-d`): log the output of executed commands.
    pub log_output: bool,
    /// The moment the run started, in local time.
    pub now: chrono::DateTime<chrono::Local>,
}

impl<'a> ActionContext<'a> {
    /// A context for one run of `cback`.
    pub fn new(
        config: &'a Config,
        full: bool,
        log_output: bool,
        now: chrono::DateTime<chrono::Local>,
    ) -> Self {
        ActionContext {
            config,
            full,
            log_output,
            now,
        }
    }

    /// The `<options>` section (validation guarantees it; an empty default
    /// stands in when a caller skipped validation).
    pub fn options(&self) -> &'a crate::config::OptionsConfig {
        static EMPTY: std::sync::OnceLock<crate::config::OptionsConfig> =
            std::sync::OnceLock::new();
        self.config
            .options
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(Default::default))
    }

    /// Today is the configured starting day of the week.
    pub fn is_start_of_week(&self) -> bool {
        crate::engine::util::is_start_of_week(self.options().starting_day, &self.now)
    }

    /// A command runner honouring the config's `<override>` entries.
    pub fn runner(&self) -> CommandRunner {
        CommandRunner::new(self.options().overrides_map())
    }
}
