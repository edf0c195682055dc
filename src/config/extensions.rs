//! Config sections of Cedar Backup's bundled extensions (mysql, postgresql,
//! subversion, mbox, encrypt, split, capacity, amazons3). sysinfo has none.
//!
//! Each mirrors the Python class in `CedarBackup3/extend/<name>.py`. Cedar's
//! core `Config` never reads these sections: an extension reads (and
//! validates) its own section only when its action runs. cedar therefore
//! parses them alongside the core sections but keeps their problems apart
//! (see [`super::ExtensionSections::parse_errors`] and
//! [`super::Config::validate_extension`]).

use serde::Serialize;

use super::CollectMode;

super::model::named_enum! {
    /// Compression applied to database/repository/mailbox dumps.
    pub enum CompressMode {
        /// `none`
        None = "none",
        /// `gzip`
        Gzip = "gzip",
        /// `bzip2`
        Bzip2 = "bzip2",
    }
}

/// Unit of a [`ByteQuantity`] (Cedar's `UNIT_BYTES` ... `UNIT_GBYTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ByteUnit {
    /// bytes (no suffix)
    Bytes,
    /// `KB` (1024 bytes)
    Kbytes,
    /// `MB` (1024 KB)
    Mbytes,
    /// `GB` (1024 MB)
    Gbytes,
}

/// A byte quantity such as `1.25 MB`: the number is kept as the text Cedar
/// keeps (suffix and surrounding whitespace removed), so nothing is lost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ByteQuantity {
    /// The number, e.g. `"1.25"`; always a float ≥ 0 as Python reads it.
    pub quantity: String,
    /// The unit from the suffix.
    pub units: ByteUnit,
}

impl ByteQuantity {
    /// The quantity in bytes (1024-based), as Cedar's `ByteQuantity.bytes`.
    pub fn bytes(&self) -> f64 {
        let q = crate::py::num::py_float(&self.quantity).unwrap_or(0.0);
        q * match self.units {
            ByteUnit::Bytes => 1.0,
            ByteUnit::Kbytes => 1024.0,
            ByteUnit::Mbytes => 1024.0 * 1024.0,
            ByteUnit::Gbytes => 1024.0 * 1024.0 * 1024.0,
        }
    }
}

/// A percentage from 0.0 to 100.0, kept as its original text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PercentageQuantity {
    /// The number as written, e.g. `"63.2"`.
    pub quantity: String,
}

impl PercentageQuantity {
    /// The percentage as a number.
    pub fn percentage(&self) -> f64 {
        crate::py::num::py_float(&self.quantity).unwrap_or(0.0)
    }
}

/// `<mysql>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MysqlConfig {
    /// `user`
    pub user: Option<String>,
    /// `password`
    pub password: Option<String>,
    /// `compress_mode` (required by validation)
    pub compress_mode: Option<CompressMode>,
    /// `all` (Y/N, absent = false)
    pub all: bool,
    /// `database*`
    pub databases: Option<Vec<String>>,
}

/// `<postgresql>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PostgresqlConfig {
    /// `user`
    pub user: Option<String>,
    /// `compress_mode` (required by validation)
    pub compress_mode: Option<CompressMode>,
    /// `all` (Y/N, absent = false)
    pub all: bool,
    /// `database*`
    pub databases: Option<Vec<String>>,
}

/// `<subversion>/<repository>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Repository {
    /// `type` (free text, informational)
    pub repository_type: Option<String>,
    /// `abs_path`
    pub repository_path: Option<String>,
    /// `collect_mode`
    pub collect_mode: Option<CollectMode>,
    /// `compress_mode`
    pub compress_mode: Option<CompressMode>,
}

/// `<subversion>/<repository_dir>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RepositoryDir {
    /// `type` (free text, informational)
    pub repository_type: Option<String>,
    /// `abs_path`
    pub directory_path: Option<String>,
    /// `collect_mode`
    pub collect_mode: Option<CollectMode>,
    /// `compress_mode`
    pub compress_mode: Option<CompressMode>,
    /// `exclude/rel_path*`
    pub relative_exclude_paths: Option<Vec<String>>,
    /// `exclude/pattern*`
    pub exclude_patterns: Option<Vec<String>>,
}

/// `<subversion>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SubversionConfig {
    /// `collect_mode`
    pub collect_mode: Option<CollectMode>,
    /// `compress_mode`
    pub compress_mode: Option<CompressMode>,
    /// `repository*`
    pub repositories: Option<Vec<Repository>>,
    /// `repository_dir*`
    pub repository_dirs: Option<Vec<RepositoryDir>>,
}

/// `<mbox>/<file>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MboxFile {
    /// `abs_path`
    pub absolute_path: Option<String>,
    /// `collect_mode`
    pub collect_mode: Option<CollectMode>,
    /// `compress_mode`
    pub compress_mode: Option<CompressMode>,
}

/// `<mbox>/<dir>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MboxDir {
    /// `abs_path`
    pub absolute_path: Option<String>,
    /// `collect_mode`
    pub collect_mode: Option<CollectMode>,
    /// `compress_mode`
    pub compress_mode: Option<CompressMode>,
    /// `exclude/rel_path*`
    pub relative_exclude_paths: Option<Vec<String>>,
    /// `exclude/pattern*`
    pub exclude_patterns: Option<Vec<String>>,
}

/// `<mbox>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MboxConfig {
    /// `collect_mode`
    pub collect_mode: Option<CollectMode>,
    /// `compress_mode`
    pub compress_mode: Option<CompressMode>,
    /// `file*`
    pub mbox_files: Option<Vec<MboxFile>>,
    /// `dir*`
    pub mbox_dirs: Option<Vec<MboxDir>>,
}

/// `<encrypt>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EncryptConfig {
    /// `encrypt_mode` (only `gpg` exists)
    pub encrypt_mode: Option<String>,
    /// `encrypt_target` (the gpg recipient)
    pub encrypt_target: Option<String>,
}

/// `<split>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SplitConfig {
    /// `size_limit`: files larger than this are split
    pub size_limit: Option<ByteQuantity>,
    /// `split_size`: size of each piece
    pub split_size: Option<ByteQuantity>,
}

/// `<capacity>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CapacityConfig {
    /// `max_percentage`
    pub max_percentage: Option<PercentageQuantity>,
    /// `min_bytes`
    pub min_bytes: Option<ByteQuantity>,
}

/// `<amazons3>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AmazonS3Config {
    /// `warn_midnite` (Y/N, absent = false)
    pub warn_midnite: bool,
    /// `s3_bucket` (required by validation)
    pub s3_bucket: Option<String>,
    /// `encrypt`: command to encrypt each file before upload
    pub encrypt_command: Option<String>,
    /// `full_size_limit`
    pub full_backup_size_limit: Option<ByteQuantity>,
    /// `incr_size_limit`
    pub incremental_backup_size_limit: Option<ByteQuantity>,
}
