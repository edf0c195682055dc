//! Typed representation of a Cedar Backup `<cb_config>` document.
//!
//! Field for field this mirrors Cedar Backup 3's `config.py` object model, so a
//! parsed value can be compared with what the real `cback3` reads: every field
//! that may be absent in the XML is an `Option` and stays `None` when absent.
//! Lists keep document order. The `serde::Serialize` derive exists so that a
//! parsed config can be dumped as JSON and diffed against Cedar's own parse.

use serde::Serialize;

/// An enumerated config value whose names are spelled once: `ALL`, `name()`,
/// `from_name()`, and serialization by name.
macro_rules! named_enum {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal,)*
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in the order Cedar lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The name configuration uses.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The value configuration calls `name`.
            pub fn from_name(name: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.name() == name)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}
pub(crate) use named_enum;

/// The whole configuration document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Config {
    /// `<reference>`: descriptive, never used by the actions.
    pub reference: Option<ReferenceConfig>,
    /// `<extensions>`: extended actions and their ordering mode.
    pub extensions: Option<ExtensionsConfig>,
    /// `<options>`: global options (required by validation).
    pub options: Option<OptionsConfig>,
    /// `<peers>`: peers used by stage (unless stage lists its own).
    pub peers: Option<PeersConfig>,
    /// `<collect>`: what collect archives.
    pub collect: Option<CollectConfig>,
    /// `<stage>`: where stage puts peer data.
    pub stage: Option<StageConfig>,
    /// `<store>`: how staged data is written to disc.
    pub store: Option<StoreConfig>,
    /// `<purge>`: which directories are pruned.
    pub purge: Option<PurgeConfig>,
    /// Sections of the extensions Cedar ships (sysinfo has none).
    pub ext: ExtensionSections,
    /// Where each element was found, for error messages (not part of the
    /// value: two configs that differ only here compare equal).
    #[serde(skip)]
    pub lines: SourceLines,
}

/// Line numbers of the elements a parse read, keyed by element path
/// (`store/media_type`, `collect/dir[2]`). Always compares equal.
#[derive(Debug, Clone, Default)]
pub struct SourceLines {
    /// element path -> 1-based line
    pub(crate) lines: std::collections::HashMap<String, usize>,
    /// `peers/local_peer[1]`-style list positions -> element path (`peers/peer[3]`)
    pub(crate) alias: std::collections::HashMap<String, String>,
    /// Element paths present without any text (which Cedar reads as absent).
    pub(crate) empty: std::collections::HashSet<String>,
}

impl PartialEq for SourceLines {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// `<reference>`: free-text information about the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReferenceConfig {
    /// `author`
    pub author: Option<String>,
    /// `revision`
    pub revision: Option<String>,
    /// `description`
    pub description: Option<String>,
    /// `generator`
    pub generator: Option<String>,
}

named_enum! {
    /// How extended actions are ordered relative to the built-in ones.
    #[derive(Default)]
    pub enum OrderMode {
        /// Sort by each action's integer `<index>` (Cedar's default).
        #[default]
        Index = "index",
        /// Topologically sort by `<depends>` run_before/run_after edges.
        Dependency = "dependency",
    }
}

/// `<extensions>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExtensionsConfig {
    /// `order_mode`; `None` means index mode.
    pub order_mode: Option<OrderMode>,
    /// `action*`
    pub actions: Vec<ExtendedAction>,
}

/// One `<extensions>/<action>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExtendedAction {
    /// `name`, matching `^[a-z0-9]*$`.
    pub name: Option<String>,
    /// `module`, e.g. `CedarBackup3.extend.mysql`.
    pub module: Option<String>,
    /// `function`, e.g. `executeAction`.
    pub function: Option<String>,
    /// `index` (index mode).
    pub index: Option<i64>,
    /// `depends` (dependency mode).
    pub dependencies: Option<ActionDependencies>,
}

/// `<depends>` of an extended action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActionDependencies {
    /// `run_before`: actions this one must run before.
    pub before_list: Vec<String>,
    /// `run_after`: actions this one must run after.
    pub after_list: Vec<String>,
}

named_enum! {
    /// Day of the week that starts a backup week.
    pub enum Weekday {
        /// monday
        Monday = "monday",
        /// tuesday
        Tuesday = "tuesday",
        /// wednesday
        Wednesday = "wednesday",
        /// thursday
        Thursday = "thursday",
        /// friday
        Friday = "friday",
        /// saturday
        Saturday = "saturday",
        /// sunday
        Sunday = "sunday",
    }
}

/// `<options>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OptionsConfig {
    /// `starting_day`
    pub starting_day: Option<Weekday>,
    /// `working_dir` (absolute)
    pub working_dir: Option<String>,
    /// `backup_user`
    pub backup_user: Option<String>,
    /// `backup_group`
    pub backup_group: Option<String>,
    /// `rcp_command`
    pub rcp_command: Option<String>,
    /// `rsh_command`
    pub rsh_command: Option<String>,
    /// `cback_command`
    pub cback_command: Option<String>,
    /// `managed_actions` (comma list), `None` when absent.
    pub managed_actions: Option<Vec<String>>,
    /// `override*`
    pub overrides: Vec<CommandOverride>,
    /// `pre_action_hook*` and `post_action_hook*`, in document order
    /// (all pre hooks first, then all post hooks, as Cedar builds the list).
    pub hooks: Vec<ActionHook>,
}

/// `<override>`: use a different absolute path for a named command.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CommandOverride {
    /// `command`
    pub command: Option<String>,
    /// `abs_path`
    pub absolute_path: Option<String>,
}

named_enum! {
    /// When a hook runs relative to its action.
    pub enum HookKind {
        /// `pre_action_hook`
        Pre = "pre",
        /// `post_action_hook`
        Post = "post",
    }
}

/// `<pre_action_hook>` / `<post_action_hook>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionHook {
    /// Before or after the action.
    pub kind: HookKind,
    /// `action`
    pub action: Option<String>,
    /// `command`
    pub command: Option<String>,
}

named_enum! {
    /// What a peer's failure to deliver data means.
    pub enum IgnoreFailureMode {
        /// Never ignore.
        None = "none",
        /// Always ignore.
        All = "all",
        /// Ignore on runs that are not full/starting-day runs.
        Daily = "daily",
        /// Ignore only on full/starting-day runs.
        Weekly = "weekly",
    }
}

/// `<peer>` of type `local`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LocalPeer {
    /// `name`
    pub name: Option<String>,
    /// `collect_dir`
    pub collect_dir: Option<String>,
    /// `ignore_failures`
    pub ignore_failure_mode: Option<IgnoreFailureMode>,
}

/// `<peer>` of type `remote`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RemotePeer {
    /// `name`
    pub name: Option<String>,
    /// `collect_dir`
    pub collect_dir: Option<String>,
    /// `backup_user` (the user on the peer)
    pub remote_user: Option<String>,
    /// `rcp_command`
    pub rcp_command: Option<String>,
    /// `rsh_command`
    pub rsh_command: Option<String>,
    /// `cback_command`
    pub cback_command: Option<String>,
    /// `managed` (Y/N); Cedar treats absent as false.
    pub managed: bool,
    /// `managed_actions`
    pub managed_actions: Option<Vec<String>>,
    /// `ignore_failures`
    pub ignore_failure_mode: Option<IgnoreFailureMode>,
}

/// `<peers>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PeersConfig {
    /// local peers; `None` when there were none
    pub local_peers: Option<Vec<LocalPeer>>,
    /// remote peers; `None` when there were none
    pub remote_peers: Option<Vec<RemotePeer>>,
}

named_enum! {
    /// When an item is collected.
    pub enum CollectMode {
        /// Every run.
        Daily = "daily",
        /// On the starting day or with --full.
        Weekly = "weekly",
        /// Every run, only changed files (full on the starting day).
        Incr = "incr",
    }
}

named_enum! {
    /// Archive format for collected items.
    pub enum ArchiveMode {
        /// Plain tar.
        Tar = "tar",
        /// tar + gzip.
        Targz = "targz",
        /// tar + bzip2.
        Tarbz2 = "tarbz2",
    }
}

/// `<collect>/<file>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CollectFile {
    /// `abs_path`
    pub absolute_path: Option<String>,
    /// `collect_mode` or legacy `mode` (which wins)
    pub collect_mode: Option<CollectMode>,
    /// `archive_mode`
    pub archive_mode: Option<ArchiveMode>,
}

/// `<collect>/<dir>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CollectDir {
    /// `abs_path`
    pub absolute_path: Option<String>,
    /// `collect_mode` or legacy `mode` (which wins)
    pub collect_mode: Option<CollectMode>,
    /// `archive_mode`
    pub archive_mode: Option<ArchiveMode>,
    /// `ignore_file`
    pub ignore_file: Option<String>,
    /// `link_depth` (≥ 0)
    pub link_depth: Option<i64>,
    /// `dereference` (Y/N); Cedar treats absent as false.
    pub dereference: bool,
    /// `recursion_level` (negative = unlimited)
    pub recursion_level: Option<i64>,
    /// `exclude/abs_path*`
    pub absolute_exclude_paths: Option<Vec<String>>,
    /// `exclude/rel_path*`
    pub relative_exclude_paths: Option<Vec<String>>,
    /// `exclude/pattern*`
    pub exclude_patterns: Option<Vec<String>>,
}

/// `<collect>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CollectConfig {
    /// `collect_dir`
    pub target_dir: Option<String>,
    /// `collect_mode`
    pub collect_mode: Option<CollectMode>,
    /// `archive_mode`
    pub archive_mode: Option<ArchiveMode>,
    /// `ignore_file`
    pub ignore_file: Option<String>,
    /// `exclude/abs_path*`
    pub absolute_exclude_paths: Option<Vec<String>>,
    /// `exclude/pattern*`
    pub exclude_patterns: Option<Vec<String>>,
    /// `file*`
    pub collect_files: Option<Vec<CollectFile>>,
    /// `dir*`
    pub collect_dirs: Option<Vec<CollectDir>>,
}

/// `<stage>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StageConfig {
    /// `staging_dir`
    pub target_dir: Option<String>,
    /// local peers listed in stage; `None` when there were none
    pub local_peers: Option<Vec<LocalPeer>>,
    /// remote peers listed in stage; `None` when there were none
    pub remote_peers: Option<Vec<RemotePeer>>,
}

/// The media `store/media_type` names: Cedar's six (cdr-74, cdrw-74,
/// cdr-80, cdrw-80, dvd+r, dvd+rw) and cedar's additions (dvd-r, dvd-rw,
/// bd-r, bd-re). Names, profiles and capacities are rows of
/// [`mmc::profile::MEDIA_TYPES`] (each variant's discriminant is its row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `cdr-74`
    Cdr74 = 0,
    /// `cdrw-74`
    Cdrw74 = 1,
    /// `cdr-80`
    Cdr80 = 2,
    /// `cdrw-80`
    Cdrw80 = 3,
    /// `dvd+r`
    DvdPlusR = 4,
    /// `dvd+rw`
    DvdPlusRw = 5,
    /// `dvd-r` (cedar addition)
    DvdMinusR = 6,
    /// `dvd-rw` (cedar addition): a DVD-RW in sequential recording or
    /// restricted overwrite mode.
    DvdMinusRw = 7,
    /// `bd-r` (cedar addition)
    BdR = 9,
    /// `bd-re` (cedar addition)
    BdRe = 10,
}

impl MediaType {
    /// Every media type, Cedar's six first in Cedar's order.
    pub const ALL: [MediaType; 10] = [
        MediaType::Cdr74,
        MediaType::Cdrw74,
        MediaType::Cdr80,
        MediaType::Cdrw80,
        MediaType::DvdPlusR,
        MediaType::DvdPlusRw,
        MediaType::DvdMinusR,
        MediaType::DvdMinusRw,
        MediaType::BdR,
        MediaType::BdRe,
    ];

    /// The `mmc` media type (profile and nominal capacity) of this medium.
    pub fn mmc(self) -> mmc::MediaType {
        mmc::profile::MEDIA_TYPES[self as usize]
    }

    /// The name used in the config file, e.g. `cdrw-74`.
    pub fn name(self) -> &'static str {
        self.mmc().name
    }

    /// The media type configuration calls `name`.
    pub fn from_name(name: &str) -> Option<MediaType> {
        MediaType::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The medium family (CD, DVD, BD).
    pub fn family(self) -> mmc::profile::Family {
        self.mmc().profile.family()
    }

    /// True for media that can be blanked or reformatted (cdrw-74, cdrw-80,
    /// dvd+rw, dvd-rw, bd-re): Cedar's "rewritable" media.
    pub fn is_rewritable(self) -> bool {
        self.mmc().profile.erasable()
    }

    /// Whether a medium the drive reports with `profile` is of this type:
    /// the same profile, where `dvd-rw` takes either DVD-RW mode. (CD-R 74
    /// and 80 minute discs share a profile; their size is what the drive
    /// reports.)
    pub fn accepts(self, profile: mmc::Profile) -> bool {
        match self {
            MediaType::DvdMinusRw => matches!(
                profile,
                mmc::Profile::DvdMinusRwSequential | mmc::Profile::DvdMinusRwRestricted
            ),
            other => other.mmc().profile == profile,
        }
    }
}

impl Serialize for MediaType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

named_enum! {
    /// Kind of writer device: Cedar's cdwriter and dvdwriter, and cedar's
    /// bdwriter for Blu-ray.
    pub enum DeviceType {
        /// `cdwriter`
        Cdwriter = "cdwriter",
        /// `dvdwriter`
        Dvdwriter = "dvdwriter",
        /// `bdwriter` (cedar addition)
        Bdwriter = "bdwriter",
    }
}

impl DeviceType {
    /// The medium family this kind of writer writes.
    pub fn family(self) -> mmc::profile::Family {
        match self {
            DeviceType::Cdwriter => mmc::profile::Family::Cd,
            DeviceType::Dvdwriter => mmc::profile::Family::Dvd,
            DeviceType::Bdwriter => mmc::profile::Family::Bd,
        }
    }
}

/// `<store>/<blank_behavior>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlankBehavior {
    /// `mode`: daily or weekly (only these two are valid).
    pub blank_mode: Option<String>,
    /// `factor` (float ≥ 0, kept as the original text like Cedar does).
    pub blank_factor: Option<String>,
}

/// `<store>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoreConfig {
    /// `source_dir`
    pub source_dir: Option<String>,
    /// `media_type`
    pub media_type: Option<MediaType>,
    /// `device_type`
    pub device_type: Option<DeviceType>,
    /// `target_device`
    pub device_path: Option<String>,
    /// `target_scsi_id`
    pub device_scsi_id: Option<String>,
    /// `drive_speed`
    pub drive_speed: Option<i64>,
    /// `check_data`
    pub check_data: bool,
    /// `check_media`
    pub check_media: bool,
    /// `warn_midnite`
    pub warn_midnite: bool,
    /// `no_eject`
    pub no_eject: bool,
    /// `blank_behavior`
    pub blank_behavior: Option<BlankBehavior>,
    /// `refresh_media_delay` (seconds)
    pub refresh_media_delay: Option<i64>,
    /// `eject_delay` (seconds)
    pub eject_delay: Option<i64>,
    /// `manifest` (cedar only, Y/N; absent = Y): write `cback.manifest`
    /// into each day on the disc. Cedar Backup ignores the element; it is
    /// left out of the serialized form compared with Cedar's own parse.
    #[serde(skip)]
    pub manifest: Option<bool>,
}

/// `<purge>/<dir>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PurgeDir {
    /// `abs_path`
    pub absolute_path: Option<String>,
    /// `retain_days`
    pub retain_days: Option<i64>,
}

/// `<purge>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PurgeConfig {
    /// `dir*`; `None` when there were none
    pub purge_dirs: Option<Vec<PurgeDir>>,
}

/// The config sections of Cedar's bundled extensions. Each is `None` when its
/// section is absent; the section types live in [`super::extensions`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExtensionSections {
    /// `<mysql>`
    pub mysql: Option<super::extensions::MysqlConfig>,
    /// `<postgresql>`
    pub postgresql: Option<super::extensions::PostgresqlConfig>,
    /// `<subversion>`
    pub subversion: Option<super::extensions::SubversionConfig>,
    /// `<mbox>`
    pub mbox: Option<super::extensions::MboxConfig>,
    /// `<encrypt>`
    pub encrypt: Option<super::extensions::EncryptConfig>,
    /// `<split>`
    pub split: Option<super::extensions::SplitConfig>,
    /// `<capacity>`
    pub capacity: Option<super::extensions::CapacityConfig>,
    /// `<amazons3>`
    pub amazons3: Option<super::extensions::AmazonS3Config>,
    /// Sections present but unreadable, by section name, with the problem.
    /// Cedar's core parse never reads extension sections, so such a problem
    /// does not fail [`super::parse_file`]; it surfaces when the extension is
    /// used ([`Config::validate_extension`]).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub parse_errors: std::collections::BTreeMap<String, String>,
}
