//! Extended actions: the runner every row of [`crate::action::EXTENSIONS`]
//! names. No bundled extension has a native implementation in this version
//! of cedar yet, so running one fails the action (exit 6) naming it, after
//! its section was checked as the extension itself would.

use anyhow::bail;

use super::ActionContext;
use crate::config::{ExtendedActionSettings, ExtensionSettings};

/// Runs the extended action `action` with its checked section.
pub fn run(
    action: &ExtendedActionSettings,
    _section: &ExtensionSettings,
    _ctx: &ActionContext<'_>,
) -> anyhow::Result<()> {
    bail!(
        "extension [{}] ({}, native {}) is not implemented yet in this version of cedar",
        action.name,
        action.module,
        action.extension.module_name()
    )
}
