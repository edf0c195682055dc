//! Cedar Backup XML configuration: parsing (`<cb_config>` → [`Config`], the
//! raw model), validation with Cedar's rules, and checking into the
//! [`Settings`] actions take.
//!
//! Parsing and validating are separate steps, as in Cedar (`Config(validate=False)`
//! then `validate()`): a document can parse and still be invalid. What Cedar
//! rejects while parsing (its property setters: relative paths, unknown modes,
//! bad integers, malformed XML) fails [`parse_file`]; what it rejects in
//! `validate()` (missing required values, cross-field rules) fails
//! [`Config::validate`]. [`Config::check`] applies the same rules, resolves
//! the extension modules (an unknown one is a problem, as Cedar fails to
//! import it) and returns [`Settings`]; each extension section is checked
//! into its own struct ([`MysqlSettings`] ...) when the extension runs.
//!
//! Layout: `xml.rs` (the DOM), `parse/` (fields, core sections, extension
//! sections), `model.rs` and `extensions.rs` (the raw model), `validate.rs`
//! and `extension_settings.rs` (the rules), `settings.rs` (checked settings).
//!
//! Conformance is tested against the real Cedar Backup 3 (tests/config_*.rs):
//! its own test configs, one fixture per rule, XML edge cases, generated
//! mutants and exclude patterns. Where cedar knowingly differs:
//!
//! - cedar additions: `store/target_device` may name cedar's emulated burner
//!   (`emulated:IMAGE?profile=NAME`); an exclude pattern Python compiles but
//!   cedar cannot apply (look-around, back-references, ...) is a validation
//!   problem instead of being accepted; validation reports every problem
//!   (the first is Cedar's).
//! - extension sections are parsed with the document but, as in Cedar, their
//!   problems only surface when the extension is used
//!   ([`Config::validate_extension`], `Config::mysql()` and friends).
//! - limits: integers beyond 64 bits and non-ASCII digits (which Python's
//!   `int()` takes) are rejected; internal DTD entities are expanded
//!   textually (also inside comments and CDATA); `\N{NAME}` in a pattern is
//!   treated as unsupported.

mod accessors;
mod extension_settings;
pub mod extensions;
mod model;
mod parse;
pub mod pattern;
mod settings;
mod validate;
mod xml;

pub use extension_settings::*;
pub use model::*;
pub use settings::*;

use std::path::Path;

/// Why a configuration could not be loaded or is not valid.
///
/// Messages never name the file (callers such as `app::load_config` prefix
/// it to each line); they name the element path and the line instead.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot be read")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The document could not be parsed into a [`Config`]: one line naming
    /// the element path (or the XML problem) and the line.
    #[error("{0}")]
    Parse(String),
    /// The document parsed but breaks Cedar's validation rules: every
    /// problem, each `element/path: problem (line N)`, the first being the
    /// one Cedar itself would report.
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

impl ConfigError {
    /// The individual problems (one for `Io` and `Parse`).
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Invalid(list) => list.clone(),
            other => vec![crate::engine::util::error_line(other)],
        }
    }
}

/// Reads and parses the config file at `path` without validating it.
pub fn parse_file(path: &Path) -> Result<Config, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
        path: path.display().to_string(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => parse_str(&text, &path.display().to_string()),
        Err(e) => Err(ConfigError::Parse(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))),
    }
}

/// Parses config text without validating it. `source_name` (usually the
/// file name) is not part of the messages, which callers prefix themselves;
/// it only labels debug logging.
pub fn parse_str(text: &str, source_name: &str) -> Result<Config, ConfigError> {
    log::debug!("parsing configuration {source_name}");
    parse::parse_config(text).map_err(ConfigError::Parse)
}
