//! Checked settings: what [`Config::check`] returns and what actions take.
//!
//! The raw model ([`Config`]) mirrors Cedar's `config.py`, where nearly
//! every field is optional. Checking applies Cedar's validation rules and
//! resolves what depends on more than one field (an item's modes from the
//! item or its section, a remote peer's commands from the peer or
//! `<options>`, exclude patterns compiled once, extension modules resolved
//! to native ones), so an action never finds a field missing. A [`Settings`]
//! can only be made by checking a [`Config`].

use std::collections::HashMap;
use std::path::PathBuf;

use regex::Regex;

use super::model::*;
use crate::action::{Action, Extension};

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `<options>`.
    pub options: OptionsSettings,
    /// `<collect>`, when present.
    pub collect: Option<CollectPlan>,
    /// `<stage>`, when present, with the peers it stages.
    pub stage: Option<StageSettings>,
    /// `<store>`, when present.
    pub store: Option<StoreSettings>,
    /// `<purge>`, when present.
    pub purge: Option<PurgeSettings>,
    /// `<extensions>`: the extended actions, resolved to extensions.
    pub extensions: ExtensionPlan,
    /// The managed remote peers of `<peers>` (the only ones Cedar's managed
    /// actions read).
    pub managed_peers: Vec<RemotePeerSettings>,
    /// The document these settings were checked from (for the extensions,
    /// which check their own sections when they run, and for `validate`).
    pub(super) raw: Config,
}

impl Settings {
    /// The raw document these settings were checked from.
    pub fn raw(&self) -> &Config {
        &self.raw
    }

    /// The extended action called `name`.
    pub fn extended_action(&self, name: &str) -> Option<&ExtendedActionSettings> {
        self.extensions.actions.iter().find(|a| a.name == name)
    }

    /// Action names that at least one managed peer runs.
    pub fn managed_action_names(&self) -> std::collections::BTreeSet<String> {
        self.managed_peers
            .iter()
            .flat_map(|p| p.managed_actions.iter().cloned())
            .collect()
    }
}

/// Checked `<options>`.
#[derive(Debug, Clone)]
pub struct OptionsSettings {
    /// `starting_day`
    pub starting_day: Weekday,
    /// `working_dir`
    pub working_dir: PathBuf,
    /// `backup_user`
    pub backup_user: String,
    /// `backup_group`
    pub backup_group: String,
    /// `rcp_command`
    pub rcp_command: String,
    /// `rsh_command`
    pub rsh_command: Option<String>,
    /// `cback_command`
    pub cback_command: Option<String>,
    /// `managed_actions` (empty when absent)
    pub managed_actions: Vec<String>,
    /// `<override>`s as command -> absolute path (a later one wins).
    pub overrides: HashMap<String, String>,
    /// Hooks that name an action, in document order (pre hooks first).
    pub hooks: Vec<Hook>,
}

impl OptionsSettings {
    /// The hooks of one kind for an action, in document order.
    pub fn hooks_for<'a>(
        &'a self,
        action: &'a Action,
        kind: HookKind,
    ) -> impl Iterator<Item = &'a Hook> + 'a {
        self.hooks
            .iter()
            .filter(move |h| h.kind == kind && h.action == *action)
    }
}

/// A pre- or post-action hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Before or after.
    pub kind: HookKind,
    /// The action it belongs to.
    pub action: Action,
    /// The command line (empty when the hook has no `command`, which fails
    /// when the hook runs, as in Cedar).
    pub command: String,
}

/// A checked local peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPeerSettings {
    /// `name`
    pub name: String,
    /// `collect_dir`
    pub collect_dir: PathBuf,
    /// `ignore_failures` (`none` when absent)
    pub ignore_failures: IgnoreFailureMode,
}

/// A checked remote peer, with `<options>` defaults and Cedar's defaults
/// applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePeerSettings {
    /// `name` (the host)
    pub name: String,
    /// `collect_dir` on the peer
    pub collect_dir: String,
    /// the peer's `backup_user`, else `<options>`'
    pub remote_user: String,
    /// the peer's `rcp_command`, else `<options>`'
    pub rcp_command: String,
    /// the peer's `rsh_command`, else `<options>`', else Cedar's default
    pub rsh_command: String,
    /// the peer's `cback_command`, else `<options>`', else Cedar's default
    pub cback_command: String,
    /// `managed`
    pub managed: bool,
    /// the peer's non-empty `managed_actions`, else `<options>`'
    pub managed_actions: Vec<String>,
    /// `ignore_failures` (`none` when absent)
    pub ignore_failures: IgnoreFailureMode,
}

/// Cedar's default copy command when none is configured.
pub const DEFAULT_RCP: &str = "/usr/bin/scp -B -q -C";
/// Cedar's default remote shell when none is configured.
pub const DEFAULT_RSH: &str = "/usr/bin/ssh";
/// Cedar's default `cback_command` for managed peers.
pub const DEFAULT_CBACK: &str = "/usr/bin/cback3";

/// Checked `<collect>`: what collect archives, item by item.
#[derive(Debug, Clone)]
pub struct CollectPlan {
    /// `collect_dir`
    pub collect_dir: PathBuf,
    /// `file*`
    pub files: Vec<CollectFileItem>,
    /// `dir*`
    pub dirs: Vec<CollectDirItem>,
}

/// A file to collect, with its modes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectFileItem {
    /// `abs_path`
    pub path: String,
    /// the file's collect mode, else the section's
    pub collect_mode: CollectMode,
    /// the file's archive mode, else the section's
    pub archive_mode: ArchiveMode,
}

/// A directory to collect, with its modes and exclusions resolved.
#[derive(Debug, Clone)]
pub struct CollectDirItem {
    /// `abs_path`
    pub path: String,
    /// the directory's collect mode, else the section's
    pub collect_mode: CollectMode,
    /// the directory's archive mode, else the section's
    pub archive_mode: ArchiveMode,
    /// the directory's ignore file, else the section's
    pub ignore_file: String,
    /// `link_depth` (0 when absent)
    pub link_depth: i64,
    /// `dereference`
    pub dereference: bool,
    /// `recursion_level` (0 when absent, negative = unlimited)
    pub recursion_level: i64,
    /// Cedar's `_getExclusions` paths: the section's and the directory's
    /// absolute excludes, then each relative exclude joined to the directory.
    pub exclude_paths: Vec<String>,
    /// The section's then the directory's patterns, compiled and anchored.
    pub exclude_patterns: Vec<Regex>,
}

/// Checked `<stage>`, with the peers it stages.
#[derive(Debug, Clone)]
pub struct StageSettings {
    /// `staging_dir`
    pub staging_dir: PathBuf,
    /// `<stage>`'s local peers when it lists any peer, else `<peers>`'
    pub local_peers: Vec<LocalPeerSettings>,
    /// `<stage>`'s remote peers when it lists any peer, else `<peers>`'
    pub remote_peers: Vec<RemotePeerSettings>,
}

/// Checked `<store>`.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// `source_dir`
    pub source_dir: PathBuf,
    /// `media_type`
    pub media: MediaType,
    /// `device_type` (`cdwriter` when absent)
    pub device_type: DeviceType,
    /// `target_device` as written (to open the device and name it in
    /// messages).
    pub target_device: String,
    /// `target_device` parsed: a drive path or cedar's emulated burner.
    pub device: mmc::DeviceString,
    /// `target_scsi_id`
    pub scsi_id: Option<String>,
    /// `drive_speed`
    pub speed: Option<i64>,
    /// `check_data`
    pub check_data: bool,
    /// `check_media`
    pub check_media: bool,
    /// `warn_midnite`
    pub warn_midnite: bool,
    /// `no_eject`
    pub no_eject: bool,
    /// `blank_behavior`, when present (Cedar needs at least one of mode and
    /// factor).
    pub blank_behavior: Option<BlankRule>,
    /// `refresh_media_delay` in seconds (absent or 0: none)
    pub refresh_media_delay: Option<i64>,
    /// `eject_delay` in seconds (absent or 0: none)
    pub eject_delay: Option<i64>,
    /// `manifest` (cedar only; absent: yes): each day on the disc gets
    /// `cback.manifest` ([`crate::engine::manifest`]).
    pub manifest: bool,
}

/// Checked `<purge>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeSettings {
    /// `dir*`
    pub dirs: Vec<PurgeDirItem>,
}

/// One directory to purge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeDirItem {
    /// `abs_path`
    pub path: PathBuf,
    /// `retain_days`
    pub retain_days: i64,
}

/// Checked `<extensions>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionPlan {
    /// `order_mode` (index when absent)
    pub order_mode: OrderMode,
    /// `action*`
    pub actions: Vec<ExtendedActionSettings>,
}

/// One extended action, resolved to the extension that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedActionSettings {
    /// `name`
    pub name: String,
    /// The extension its `module`/`function` name.
    pub extension: Extension,
    /// `module` as configured (for messages).
    pub module: String,
    /// `index` in index mode, `depends` in dependency mode.
    pub order: ExtensionOrder,
}

/// Where an extended action goes in the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionOrder {
    /// Index mode: its `<index>`.
    Index(i64),
    /// Dependency mode: its `<depends>`.
    Depends(ActionDependencies),
}

/// When `blank_behavior` lets store start a new disc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlankMode {
    /// `daily`: the blank factor is weighed every day.
    Daily,
    /// `weekly`: the blank factor is weighed on the starting day only.
    Weekly,
}

/// Checked `<store>/<blank_behavior>`. Cedar accepts either part alone: a
/// rule without a mode never starts a new disc, and one whose mode calls
/// for the calculation without a factor fails when store reaches it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlankRule {
    /// `mode`
    pub mode: Option<BlankMode>,
    /// `factor`, as Python's `float()` reads it.
    pub factor: Option<f64>,
}
