//! Checked extension sections: each bundled extension's `LocalConfig`
//! validation (`CedarBackup3/extend/<name>.py`) turned into one checked
//! struct per section. Cedar checks a section only when its extension runs,
//! so these checks run then (and in `validate`), never when the document is
//! loaded: a broken `<mysql>` does not stop `collect`.
//!
//! A problem found while parsing the section comes first, then the
//! extension's own rules, each `element/path: problem (line N)`.

use regex::Regex;

use super::extensions::*;
use super::model::*;
use super::validate::Problems;
use super::ConfigError;
use crate::action::Extension;

/// An extension's checked section.
#[derive(Debug, Clone)]
pub enum ExtensionSettings {
    /// sysinfo has no section.
    Sysinfo,
    /// `<mysql>`
    Mysql(MysqlSettings),
    /// `<postgresql>`
    Postgresql(PostgresqlSettings),
    /// `<subversion>`
    Subversion(SubversionSettings),
    /// `<mbox>`
    Mbox(MboxSettings),
    /// `<encrypt>`
    Encrypt(EncryptSettings),
    /// `<split>`
    Split(SplitSettings),
    /// `<capacity>`
    Capacity(CapacitySettings),
    /// `<amazons3>`
    AmazonS3(AmazonS3Settings),
}

/// Which databases a dump covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Databases {
    /// `all` is Y.
    All,
    /// The listed `database`s.
    Named(Vec<String>),
}

/// Checked `<mysql>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlSettings {
    /// `user`
    pub user: Option<String>,
    /// `password`
    pub password: Option<String>,
    /// `compress_mode`
    pub compress_mode: CompressMode,
    /// `all` or `database*`
    pub databases: Databases,
}

/// Checked `<postgresql>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresqlSettings {
    /// `user`
    pub user: Option<String>,
    /// `compress_mode`
    pub compress_mode: CompressMode,
    /// `all` or `database*`
    pub databases: Databases,
}

/// A subversion repository or mailbox file: a path and its resolved modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpItem {
    /// `abs_path`
    pub path: String,
    /// the item's collect mode, else the section's
    pub collect_mode: CollectMode,
    /// the item's compress mode, else the section's
    pub compress_mode: CompressMode,
}

/// A directory of repositories or mailboxes, with its exclusions.
#[derive(Debug, Clone)]
pub struct DumpDir {
    /// Path and modes.
    pub item: DumpItem,
    /// `exclude/rel_path*`
    pub relative_exclude_paths: Vec<String>,
    /// `exclude/pattern*`, compiled and anchored
    pub exclude_patterns: Vec<Regex>,
}

/// Checked `<subversion>`.
#[derive(Debug, Clone)]
pub struct SubversionSettings {
    /// `repository*` (with their informational `type`)
    pub repositories: Vec<(Option<String>, DumpItem)>,
    /// `repository_dir*` (with their informational `type`)
    pub repository_dirs: Vec<(Option<String>, DumpDir)>,
}

/// Checked `<mbox>`.
#[derive(Debug, Clone)]
pub struct MboxSettings {
    /// `file*`
    pub files: Vec<DumpItem>,
    /// `dir*`
    pub dirs: Vec<DumpDir>,
}

/// Checked `<encrypt>` (the only mode is gpg).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptSettings {
    /// `encrypt_target`: the gpg recipient
    pub encrypt_target: String,
}

/// Checked `<split>`.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitSettings {
    /// `size_limit`: files larger than this are split
    pub size_limit: ByteQuantity,
    /// `split_size`: size of each piece
    pub split_size: ByteQuantity,
}

/// What `<capacity>` warns about: exactly one limit.
#[derive(Debug, Clone, PartialEq)]
pub enum CapacityLimit {
    /// `max_percentage`
    MaxPercentage(PercentageQuantity),
    /// `min_bytes`
    MinBytes(ByteQuantity),
}

/// Checked `<capacity>`.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySettings {
    /// The one limit.
    pub limit: CapacityLimit,
}

/// Checked `<amazons3>`.
#[derive(Debug, Clone, PartialEq)]
pub struct AmazonS3Settings {
    /// `warn_midnite`
    pub warn_midnite: bool,
    /// `s3_bucket`
    pub s3_bucket: String,
    /// `encrypt`
    pub encrypt_command: Option<String>,
    /// `full_size_limit`
    pub full_backup_size_limit: Option<ByteQuantity>,
    /// `incr_size_limit`
    pub incremental_backup_size_limit: Option<ByteQuantity>,
}

/// Runs one extension's check: the section's parse problem if it had one,
/// else `rules`, given the section's name (from the extension table).
fn check_section<T>(
    config: &Config,
    ext: Extension,
    rules: impl FnOnce(&mut Problems, &str) -> Option<T>,
) -> Result<T, ConfigError> {
    let mut p = Problems::new(config);
    let name = ext.section().unwrap_or_else(|| ext.module_name());
    if let Some(e) = config.ext.parse_errors.get(name) {
        p.add_formatted(e.clone());
        return p.finish(false, None);
    }
    let value = rules(&mut p, name);
    p.finish(false, value)
}

/// The section, or "the X section is required".
fn section<'a, T>(p: &mut Problems, value: &'a Option<T>, name: &str) -> Option<&'a T> {
    p.need_or(
        value.as_ref(),
        name,
        &format!("the {name} section is required"),
    )
}

/// mysql and postgresql share their rules.
fn db_rules(
    p: &mut Problems,
    name: &str,
    compress: Option<CompressMode>,
    all: bool,
    databases: &Option<Vec<String>>,
) -> Option<(CompressMode, Databases)> {
    let compress = p.need(&compress, &format!("{name}/compress_mode"));
    let listed = databases.clone().unwrap_or_default();
    let databases = match (all, listed.is_empty()) {
        (true, false) => {
            p.add(
                &format!("{name}/database"),
                format!("must not be given when {name}/all is Y"),
            );
            None
        }
        (false, true) => {
            p.add(
                &format!("{name}/database"),
                format!("at least one is required unless {name}/all is Y"),
            );
            None
        }
        (true, true) => Some(Databases::All),
        (false, false) => Some(Databases::Named(listed)),
    };
    Some((compress?, databases?))
}

/// Checks `<mysql>`.
pub fn check_mysql(config: &Config) -> Result<MysqlSettings, ConfigError> {
    check_section(config, Extension::Mysql, |p, name| {
        let m = section(p, &config.ext.mysql, name)?;
        let (compress_mode, databases) = db_rules(p, name, m.compress_mode, m.all, &m.databases)?;
        Some(MysqlSettings {
            user: m.user.clone(),
            password: m.password.clone(),
            compress_mode,
            databases,
        })
    })
}

/// Checks `<postgresql>`.
pub fn check_postgresql(config: &Config) -> Result<PostgresqlSettings, ConfigError> {
    check_section(config, Extension::Postgresql, |p, name| {
        let m = section(p, &config.ext.postgresql, name)?;
        let (compress_mode, databases) = db_rules(p, name, m.compress_mode, m.all, &m.databases)?;
        Some(PostgresqlSettings {
            user: m.user.clone(),
            compress_mode,
            databases,
        })
    })
}

/// Rules shared by subversion repositories and mbox files/dirs: a path, and
/// collect/compress modes from the item or its section.
fn item_rules(
    p: &mut Problems,
    section: &str,
    path: &str,
    abs: &Option<String>,
    modes: (Option<CollectMode>, Option<CompressMode>),
    defaults: (Option<CollectMode>, Option<CompressMode>),
) -> Option<DumpItem> {
    let abs = p.need(abs, &format!("{path}/abs_path"));
    let collect_mode = p.need_or(
        modes.0.or(defaults.0),
        &format!("{path}/collect_mode"),
        &format!("is required unless {section}/collect_mode is set"),
    );
    let compress_mode = p.need_or(
        modes.1.or(defaults.1),
        &format!("{path}/compress_mode"),
        &format!("is required unless {section}/compress_mode is set"),
    );
    Some(DumpItem {
        path: abs?,
        collect_mode: collect_mode?,
        compress_mode: compress_mode?,
    })
}

/// A directory item: [`item_rules`] plus its exclusions.
#[allow(clippy::too_many_arguments)]
fn dir_rules(
    p: &mut Problems,
    section: &str,
    path: &str,
    abs: &Option<String>,
    modes: (Option<CollectMode>, Option<CompressMode>),
    defaults: (Option<CollectMode>, Option<CompressMode>),
    relative: &Option<Vec<String>>,
    patterns: &Option<Vec<String>>,
) -> Option<DumpDir> {
    let item = item_rules(p, section, path, abs, modes, defaults);
    let exclude_patterns = p.patterns(patterns, &format!("{path}/exclude/pattern"));
    Some(DumpDir {
        item: item?,
        relative_exclude_paths: relative.clone().unwrap_or_default(),
        exclude_patterns,
    })
}

/// Checks `<subversion>`.
pub fn check_subversion(config: &Config) -> Result<SubversionSettings, ConfigError> {
    check_section(config, Extension::Subversion, |p, name| {
        let s = section(p, &config.ext.subversion, name)?;
        let defaults = (s.collect_mode, s.compress_mode);
        if s.repositories.as_ref().is_none_or(Vec::is_empty)
            && s.repository_dirs.as_ref().is_none_or(Vec::is_empty)
        {
            p.add(
                name,
                "at least one repository or repository_dir is required",
            );
        }
        let mut repositories = Vec::new();
        for (i, r) in s.repositories.iter().flatten().enumerate() {
            let path = format!("{name}/repository[{}]", i + 1);
            let modes = (r.collect_mode, r.compress_mode);
            let item = item_rules(p, name, &path, &r.repository_path, modes, defaults);
            repositories.push(item.map(|item| (r.repository_type.clone(), item)));
        }
        let mut repository_dirs = Vec::new();
        for (i, r) in s.repository_dirs.iter().flatten().enumerate() {
            let path = format!("{name}/repository_dir[{}]", i + 1);
            let modes = (r.collect_mode, r.compress_mode);
            let dir = dir_rules(
                p,
                name,
                &path,
                &r.directory_path,
                modes,
                defaults,
                &r.relative_exclude_paths,
                &r.exclude_patterns,
            );
            repository_dirs.push(dir.map(|dir| (r.repository_type.clone(), dir)));
        }
        Some(SubversionSettings {
            repositories: repositories.into_iter().collect::<Option<_>>()?,
            repository_dirs: repository_dirs.into_iter().collect::<Option<_>>()?,
        })
    })
}

/// Checks `<mbox>`.
pub fn check_mbox(config: &Config) -> Result<MboxSettings, ConfigError> {
    check_section(config, Extension::Mbox, |p, name| {
        let s = section(p, &config.ext.mbox, name)?;
        let defaults = (s.collect_mode, s.compress_mode);
        if s.mbox_files.as_ref().is_none_or(Vec::is_empty)
            && s.mbox_dirs.as_ref().is_none_or(Vec::is_empty)
        {
            p.add(name, "at least one file or dir is required");
        }
        let mut files = Vec::new();
        for (i, f) in s.mbox_files.iter().flatten().enumerate() {
            let path = format!("{name}/file[{}]", i + 1);
            let modes = (f.collect_mode, f.compress_mode);
            files.push(item_rules(
                p,
                name,
                &path,
                &f.absolute_path,
                modes,
                defaults,
            ));
        }
        let mut dirs = Vec::new();
        for (i, d) in s.mbox_dirs.iter().flatten().enumerate() {
            let path = format!("{name}/dir[{}]", i + 1);
            let modes = (d.collect_mode, d.compress_mode);
            dirs.push(dir_rules(
                p,
                name,
                &path,
                &d.absolute_path,
                modes,
                defaults,
                &d.relative_exclude_paths,
                &d.exclude_patterns,
            ));
        }
        Some(MboxSettings {
            files: files.into_iter().collect::<Option<_>>()?,
            dirs: dirs.into_iter().collect::<Option<_>>()?,
        })
    })
}

/// Checks `<encrypt>`.
pub fn check_encrypt(config: &Config) -> Result<EncryptSettings, ConfigError> {
    check_section(config, Extension::Encrypt, |p, name| {
        let e = section(p, &config.ext.encrypt, name)?;
        let mode = p.need(&e.encrypt_mode, &format!("{name}/encrypt_mode"));
        let target = p.need(&e.encrypt_target, &format!("{name}/encrypt_target"));
        mode?;
        Some(EncryptSettings {
            encrypt_target: target?,
        })
    })
}

/// Checks `<split>`.
pub fn check_split(config: &Config) -> Result<SplitSettings, ConfigError> {
    check_section(config, Extension::Split, |p, name| {
        let s = section(p, &config.ext.split, name)?;
        let size_limit = p.need(&s.size_limit, &format!("{name}/size_limit"));
        let split_size = p.need(&s.split_size, &format!("{name}/split_size"));
        Some(SplitSettings {
            size_limit: size_limit?,
            split_size: split_size?,
        })
    })
}

/// Checks `<capacity>`.
pub fn check_capacity(config: &Config) -> Result<CapacitySettings, ConfigError> {
    check_section(config, Extension::Capacity, |p, name| {
        let c = section(p, &config.ext.capacity, name)?;
        let limit = match (&c.max_percentage, &c.min_bytes) {
            (None, None) => {
                p.add(name, "needs max_percentage or min_bytes");
                None
            }
            (Some(_), Some(_)) => {
                p.add(name, "needs max_percentage or min_bytes, but not both");
                None
            }
            (Some(pct), None) => Some(CapacityLimit::MaxPercentage(pct.clone())),
            (None, Some(bytes)) => Some(CapacityLimit::MinBytes(bytes.clone())),
        };
        Some(CapacitySettings { limit: limit? })
    })
}

/// Checks `<amazons3>`.
pub fn check_amazons3(config: &Config) -> Result<AmazonS3Settings, ConfigError> {
    check_section(config, Extension::AmazonS3, |p, name| {
        let a = section(p, &config.ext.amazons3, name)?;
        let s3_bucket = p.need(&a.s3_bucket, &format!("{name}/s3_bucket"));
        Some(AmazonS3Settings {
            warn_midnite: a.warn_midnite,
            s3_bucket: s3_bucket?,
            encrypt_command: a.encrypt_command.clone(),
            full_backup_size_limit: a.full_backup_size_limit.clone(),
            incremental_backup_size_limit: a.incremental_backup_size_limit.clone(),
        })
    })
}

impl Config {
    /// Checks one extension's section as that extension does before it
    /// runs (`LocalConfig(xmlPath, validate=True)`), by section name. Names
    /// without a section (such as `sysinfo`) always pass.
    pub fn validate_extension(&self, name: &str) -> Result<(), ConfigError> {
        match Extension::by_section(name) {
            Some(ext) => ext.check(self).map(drop),
            None => Ok(()),
        }
    }
}

macro_rules! extension_accessor {
    ($($method:ident: $check:ident => $ty:ty),* $(,)?) => {
        impl Config {
            $(
                #[doc = concat!("The checked `<", stringify!($method), ">` section ([`Config::validate_extension`]).")]
                pub fn $method(&self) -> Result<$ty, ConfigError> {
                    $check(self)
                }
            )*
        }
    };
}

extension_accessor!(
    mysql: check_mysql => MysqlSettings,
    postgresql: check_postgresql => PostgresqlSettings,
    subversion: check_subversion => SubversionSettings,
    mbox: check_mbox => MboxSettings,
    encrypt: check_encrypt => EncryptSettings,
    split: check_split => SplitSettings,
    capacity: check_capacity => CapacitySettings,
    amazons3: check_amazons3 => AmazonS3Settings,
);
