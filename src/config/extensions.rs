//! Config sections of Cedar Backup's bundled extensions (mysql, postgresql,
//! subversion, mbox, encrypt, split, capacity, amazons3). sysinfo has none.
//!
//! Filled in by the config parser work; each mirrors the Python class in
//! `CedarBackup3/extend/<name>.py`.

use serde::Serialize;

/// `<mysql>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MysqlConfig {}
/// `<postgresql>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PostgresqlConfig {}
/// `<subversion>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SubversionConfig {}
/// `<mbox>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MboxConfig {}
/// `<encrypt>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EncryptConfig {}
/// `<split>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SplitConfig {}
/// `<capacity>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CapacityConfig {}
/// `<amazons3>` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AmazonS3Config {}
