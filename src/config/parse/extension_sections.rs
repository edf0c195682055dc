//! The sections of Cedar's bundled extensions, each parsed on its own as the
//! extension's `LocalConfig` reads it; section names come from the
//! extension table ([`crate::action::EXTENSIONS`]).

use super::{join, opt, patterns, texts, Field, PResult, Parser, ENCRYPT_MODES};
use crate::action::Extension;
use crate::config::extensions::*;
use crate::config::model::*;
use crate::config::xml::Element;

impl Parser {
    /// Every extension section is parsed on its own: a problem in one is kept
    /// in `parse_errors` (Cedar only notices when that extension runs) and
    /// never fails the core parse. Section names come from the extension
    /// table.
    pub(super) fn extension_sections(&mut self, r: &Element) -> ExtensionSections {
        let mut ext = ExtensionSections::default();
        for extension in Extension::all() {
            let Some(name) = extension.section() else {
                continue;
            };
            let Some(s) = self.section(r, "", name) else {
                continue;
            };
            let parsed = match extension {
                Extension::Sysinfo => Ok(()),
                Extension::Mysql => self.mysql(s, name).map(|v| ext.mysql = Some(v)),
                Extension::Postgresql => self.postgresql(s, name).map(|v| ext.postgresql = Some(v)),
                Extension::Subversion => self.subversion(s, name).map(|v| ext.subversion = Some(v)),
                Extension::Mbox => self.mbox(s, name).map(|v| ext.mbox = Some(v)),
                Extension::Encrypt => self.encrypt(s, name).map(|v| ext.encrypt = Some(v)),
                Extension::Split => self.split(s, name).map(|v| ext.split = Some(v)),
                Extension::Capacity => self.capacity(s, name).map(|v| ext.capacity = Some(v)),
                Extension::AmazonS3 => self.amazons3(s, name).map(|v| ext.amazons3 = Some(v)),
            };
            if let Err(e) = parsed {
                ext.parse_errors.insert(name.to_string(), e);
            }
        }
        ext
    }

    fn mysql(&mut self, s: &Element, b: &str) -> PResult<MysqlConfig> {
        Ok(MysqlConfig {
            user: opt(self.field(s, b, "user"), Field::nonempty)?,
            password: opt(self.field(s, b, "password"), Field::nonempty)?,
            compress_mode: opt(self.field(s, b, "compress_mode"), |f| {
                f.choice(CompressMode::ALL, CompressMode::name)
            })?,
            all: opt(self.field(s, b, "all"), Field::boolean)?.unwrap_or(false),
            databases: self.databases(s, b)?,
        })
    }

    fn databases(&mut self, s: &Element, b: &str) -> PResult<Option<Vec<String>>> {
        self.list(s, b, "database")
            .map(|l| l.into_iter().map(Field::nonempty).collect())
            .transpose()
    }

    fn postgresql(&mut self, s: &Element, b: &str) -> PResult<PostgresqlConfig> {
        Ok(PostgresqlConfig {
            user: opt(self.field(s, b, "user"), Field::nonempty)?,
            compress_mode: opt(self.field(s, b, "compress_mode"), |f| {
                f.choice(CompressMode::ALL, CompressMode::name)
            })?,
            all: opt(self.field(s, b, "all"), Field::boolean)?.unwrap_or(false),
            databases: self.databases(s, b)?,
        })
    }

    /// `collect_mode` and `compress_mode` of an extension item or section.
    fn modes(
        &mut self,
        e: &Element,
        path: &str,
    ) -> PResult<(Option<CollectMode>, Option<CompressMode>)> {
        let collect = opt(self.field(e, path, "collect_mode"), |f| {
            f.choice(CollectMode::ALL, CollectMode::name)
        })?;
        let compress = opt(self.field(e, path, "compress_mode"), |f| {
            f.choice(CompressMode::ALL, CompressMode::name)
        })?;
        Ok((collect, compress))
    }

    /// `exclude/rel_path*` and `exclude/pattern*` of an extension directory.
    #[allow(clippy::type_complexity)]
    fn ext_exclusions(
        &mut self,
        e: &Element,
        path: &str,
    ) -> PResult<(Option<Vec<String>>, Option<Vec<String>>)> {
        let Some(x) = self.section(e, path, "exclude") else {
            return Ok((None, None));
        };
        let xpath = join(path, "exclude");
        let rel = self.list(x, &xpath, "rel_path");
        let pat = self.list(x, &xpath, "pattern");
        Ok((texts(rel), patterns(pat)?))
    }

    fn subversion(&mut self, s: &Element, b: &str) -> PResult<SubversionConfig> {
        let (collect_mode, compress_mode) = self.modes(s, b)?;
        let mut repos = Vec::new();
        for (path, e) in self.items(s, b, "repository") {
            let repository_type = self.field(e, &path, "type").map(Field::text);
            let repository_path = opt(self.field(e, &path, "abs_path"), Field::abs_path)?;
            let (collect_mode, compress_mode) = self.modes(e, &path)?;
            repos.push(Repository {
                repository_type,
                repository_path,
                collect_mode,
                compress_mode,
            });
        }
        let mut dirs = Vec::new();
        for (path, e) in self.items(s, b, "repository_dir") {
            let repository_type = self.field(e, &path, "type").map(Field::text);
            let directory_path = opt(self.field(e, &path, "abs_path"), Field::abs_path)?;
            let (collect_mode, compress_mode) = self.modes(e, &path)?;
            let (relative_exclude_paths, exclude_patterns) = self.ext_exclusions(e, &path)?;
            dirs.push(RepositoryDir {
                repository_type,
                directory_path,
                collect_mode,
                compress_mode,
                relative_exclude_paths,
                exclude_patterns,
            });
        }
        Ok(SubversionConfig {
            collect_mode,
            compress_mode,
            repositories: (!repos.is_empty()).then_some(repos),
            repository_dirs: (!dirs.is_empty()).then_some(dirs),
        })
    }

    fn mbox(&mut self, s: &Element, b: &str) -> PResult<MboxConfig> {
        let (collect_mode, compress_mode) = self.modes(s, b)?;
        let mut files = Vec::new();
        for (path, e) in self.items(s, b, "file") {
            let absolute_path = opt(self.field(e, &path, "abs_path"), Field::abs_path)?;
            let (collect_mode, compress_mode) = self.modes(e, &path)?;
            files.push(MboxFile {
                absolute_path,
                collect_mode,
                compress_mode,
            });
        }
        let mut dirs = Vec::new();
        for (path, e) in self.items(s, b, "dir") {
            let absolute_path = opt(self.field(e, &path, "abs_path"), Field::abs_path)?;
            let (collect_mode, compress_mode) = self.modes(e, &path)?;
            let (relative_exclude_paths, exclude_patterns) = self.ext_exclusions(e, &path)?;
            dirs.push(MboxDir {
                absolute_path,
                collect_mode,
                compress_mode,
                relative_exclude_paths,
                exclude_patterns,
            });
        }
        Ok(MboxConfig {
            collect_mode,
            compress_mode,
            mbox_files: (!files.is_empty()).then_some(files),
            mbox_dirs: (!dirs.is_empty()).then_some(dirs),
        })
    }

    fn encrypt(&mut self, s: &Element, b: &str) -> PResult<EncryptConfig> {
        Ok(EncryptConfig {
            encrypt_mode: opt(self.field(s, b, "encrypt_mode"), |f| {
                f.choice(ENCRYPT_MODES, |m| m).map(str::to_string)
            })?,
            encrypt_target: opt(self.field(s, b, "encrypt_target"), Field::nonempty)?,
        })
    }

    fn split(&mut self, s: &Element, b: &str) -> PResult<SplitConfig> {
        Ok(SplitConfig {
            size_limit: opt(self.field(s, b, "size_limit"), Field::byte_quantity)?,
            split_size: opt(self.field(s, b, "split_size"), Field::byte_quantity)?,
        })
    }

    fn capacity(&mut self, s: &Element, b: &str) -> PResult<CapacityConfig> {
        let max_percentage = opt(self.field(s, b, "max_percentage"), |f| {
            let v = f.float()?;
            if !(0.0..=100.0).contains(&v) && !v.is_nan() {
                return Err(f.err(format_args!(
                    "\"{}\" is not a percentage from 0 to 100",
                    f.v
                )));
            }
            Ok(PercentageQuantity { quantity: f.v })
        })?;
        Ok(CapacityConfig {
            max_percentage,
            min_bytes: opt(self.field(s, b, "min_bytes"), Field::byte_quantity)?,
        })
    }

    fn amazons3(&mut self, s: &Element, b: &str) -> PResult<AmazonS3Config> {
        Ok(AmazonS3Config {
            warn_midnite: opt(self.field(s, b, "warn_midnite"), Field::boolean)?.unwrap_or(false),
            s3_bucket: opt(self.field(s, b, "s3_bucket"), Field::nonempty)?,
            encrypt_command: opt(self.field(s, b, "encrypt"), Field::nonempty)?,
            full_backup_size_limit: opt(self.field(s, b, "full_size_limit"), Field::byte_quantity)?,
            incremental_backup_size_limit: opt(
                self.field(s, b, "incr_size_limit"),
                Field::byte_quantity,
            )?,
        })
    }
}
