//! The actions `cback` runs (collect, stage, store, purge, ...), each a
//! function of one [`ActionContext`].

pub mod collect;
pub mod purge;
pub mod stage;

use crate::config::Config;

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
