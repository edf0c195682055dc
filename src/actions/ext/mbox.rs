//! `CedarBackup3.extend.mbox` (not native yet).

use crate::actions::ActionContext;
use crate::config::MboxSettings;

/// Runs the mbox action.
pub(crate) fn run(_ctx: &ActionContext<'_>, _s: &MboxSettings) -> anyhow::Result<()> {
    anyhow::bail!("extension mbox is not implemented yet in this version of cedar")
}

/// `validate`.
pub(crate) fn validate(_s: &MboxSettings) -> Vec<String> {
    vec!["Extension mbox is not implemented in this version of cedar.".into()]
}
