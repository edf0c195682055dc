//! Typed mapping from the DOM to [`Config`], following Cedar's `_parse*`
//! functions and property setters: a value Cedar's setter rejects even with
//! `validate=False` (a relative path, an unknown mode, a bad integer...) makes
//! parsing fail here too, with the element path and line.
//!
//! Reading rules (xmlutil.py): only direct children are read; single values
//! come from the first same-named child that has a text node; the text is
//! used as is (no trimming) except where Cedar itself strips (integers and
//! floats as Python's `int()`/`float()`, comma lists, byte quantities).
//!
//! This module reads and converts single fields ([`Field`]) and walks the
//! document ([`Parser`]); the core sections are in `sections.rs`, the
//! extensions' sections in `extension_sections.rs`.

use std::sync::LazyLock;

use regex::Regex;

mod extension_sections;
mod sections;

use super::extensions::*;
use super::model::*;
use super::xml::Element;
use crate::py::num::{py_float, py_int, py_strip};

/// A value read from the document, with where it came from.
pub(crate) struct Field {
    /// The raw text.
    pub v: String,
    /// Line of the element holding it.
    pub line: usize,
    /// Element path, e.g. `store/media_type`.
    pub path: String,
}

type PResult<T> = Result<T, String>;

fn py_regex(re: &str) -> Regex {
    // Python's `$` also matches before one trailing newline.
    Regex::new(&format!("{re}\\n?\\z")).expect("static regex")
}

static ACTION_NAME: LazyLock<Regex> = LazyLock::new(|| py_regex("^[a-z0-9]*"));
static MODULE_NAME: LazyLock<Regex> =
    LazyLock::new(|| py_regex(r"^([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z_][A-Za-z0-9_]*)*"));
static FUNCTION_NAME: LazyLock<Regex> = LazyLock::new(|| py_regex("^[A-Za-z_][A-Za-z0-9_]*"));
static SCSI_ID: LazyLock<Regex> =
    LazyLock::new(|| py_regex(r"^\s*(.*:)?\s*[0-9][0-9]*\s*,\s*[0-9][0-9]*\s*,\s*[0-9][0-9]*\s*"));
static SCSI_ID_DARWIN: LazyLock<Regex> =
    LazyLock::new(|| py_regex(r"^\s*IO.*Services(/[0-9][0-9]*)?\s*"));

/// True when Python's `re.compile` would reject the pattern (Cedar then
/// fails at parse time). Patterns only Python can compile pass here and are
/// rejected later by validation, since cedar cannot apply them.
pub(crate) fn python_rejects_pattern(p: &str) -> bool {
    matches!(
        crate::py::re::translate(p),
        Err(crate::py::re::PyReError::Invalid(_))
    )
}

/// The names `blank_behavior/mode` accepts (kept as text, as Cedar does).
const BLANK_MODES: &[&str] = &["daily", "weekly"];
/// The names `encrypt_mode` accepts.
const ENCRYPT_MODES: &[&str] = &["gpg"];

impl Field {
    fn err(&self, msg: impl std::fmt::Display) -> String {
        format!("{}: {} (line {})", self.path, msg, self.line)
    }

    fn text(self) -> String {
        self.v
    }

    /// Cedar's "must be a non-empty string" setters (a text node is never
    /// empty, but the rule is kept for fidelity).
    fn nonempty(self) -> PResult<String> {
        if self.v.is_empty() {
            return Err(self.err("must not be empty"));
        }
        Ok(self.v)
    }

    fn abs_path(self) -> PResult<String> {
        if !self.v.starts_with('/') {
            return Err(self.err(format_args!("\"{}\" is not an absolute path", self.v)));
        }
        Ok(self.v)
    }

    /// `store/target_device`: an absolute path as in Cedar, or (cedar
    /// addition) cedar's emulated burner, `emulated:IMAGE[?profile=NAME]`.
    fn device_path(self) -> PResult<String> {
        if mmc::DeviceString::is_emulated(&self.v) {
            return Ok(self.v);
        }
        self.abs_path()
    }

    /// One of `values`, by the name `name` gives each.
    fn choice<T: Copy>(self, values: &[T], name: fn(T) -> &'static str) -> PResult<T> {
        match values.iter().copied().find(|&v| name(v) == self.v) {
            Some(value) => Ok(value),
            None => {
                let names: Vec<&str> = values.iter().map(|&v| name(v)).collect();
                Err(self.err(format_args!(
                    "\"{}\" is not one of {}",
                    self.v,
                    names.join(", ")
                )))
            }
        }
    }

    fn int(self, min: Option<i64>) -> PResult<i64> {
        let Some(n) = py_int(&self.v) else {
            return Err(self.err(format_args!("\"{}\" is not an integer", self.v)));
        };
        match min {
            Some(min) if n < min => Err(self.err(format_args!("{n} is not an integer >= {min}"))),
            _ => Ok(n),
        }
    }

    fn float(&self) -> PResult<f64> {
        py_float(&self.v).ok_or_else(|| self.err(format_args!("\"{}\" is not a number", self.v)))
    }

    fn boolean(self) -> PResult<bool> {
        match self.v.as_str() {
            "Y" | "y" => Ok(true),
            "N" | "n" => Ok(false),
            other => Err(self.err(format_args!("\"{other}\" is not one of Y, y, N, n"))),
        }
    }

    fn action_name(self) -> PResult<String> {
        if self.v.is_empty() {
            return Err(self.err("must not be empty"));
        }
        if !ACTION_NAME.is_match(&self.v) {
            return Err(self.err(format_args!(
                "\"{}\" is not an action name (lower-case letters and digits only)",
                self.v
            )));
        }
        Ok(self.v)
    }

    fn identifier(self, re: &Regex, what: &str) -> PResult<String> {
        if !re.is_match(&self.v) {
            return Err(self.err(format_args!("\"{}\" is not a valid Python {what}", self.v)));
        }
        Ok(self.v)
    }

    /// Cedar's `parseCommaSeparatedString` into a list of action names.
    fn action_list(self) -> PResult<Vec<String>> {
        let items: Vec<String> = self
            .v
            .split(',')
            .map(py_strip)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        for item in &items {
            if !ACTION_NAME.is_match(item) {
                return Err(self.err(format_args!(
                    "\"{item}\" is not an action name (lower-case letters and digits only)"
                )));
            }
        }
        Ok(items)
    }

    fn scsi_id(self) -> PResult<String> {
        if !SCSI_ID.is_match(&self.v) && !SCSI_ID_DARWIN.is_match(&self.v) {
            return Err(self.err(format_args!(
                "\"{}\" is not a SCSI id like [<method>:]bus,target,lun",
                self.v
            )));
        }
        Ok(self.v)
    }

    /// Cedar's `readByteQuantity`: strip, optional KB/MB/GB suffix, then a
    /// float ≥ 0.
    fn byte_quantity(self) -> PResult<ByteQuantity> {
        let data = py_strip(&self.v);
        let (number, units) = if let Some(q) = data.strip_suffix("KB") {
            (q, ByteUnit::Kbytes)
        } else if let Some(q) = data.strip_suffix("MB") {
            (q, ByteUnit::Mbytes)
        } else if let Some(q) = data.strip_suffix("GB") {
            (q, ByteUnit::Gbytes)
        } else {
            (data, ByteUnit::Bytes)
        };
        let quantity = py_strip(number).to_string();
        match py_float(&quantity) {
            None => Err(self.err(format_args!(
                "\"{}\" is not a byte quantity (a number with optional KB, MB or GB)",
                self.v
            ))),
            Some(f) if f < 0.0 => Err(self.err(format_args!("\"{}\" is negative", self.v))),
            Some(_) => Ok(ByteQuantity { quantity, units }),
        }
    }
}

/// Reads fields and records the line of every element it touches.
pub(crate) struct Parser {
    pub lines: SourceLines,
}

/// A list of values read with `readStringList`.
type FieldList = Option<Vec<Field>>;

impl Parser {
    fn mark(&mut self, path: &str, line: usize) {
        self.lines.lines.entry(path.to_string()).or_insert(line);
    }

    /// The first direct child called `name`, recorded under `parent/name`.
    fn section<'e>(&mut self, el: &'e Element, parent: &str, name: &str) -> Option<&'e Element> {
        let child = el.first_child(name)?;
        self.mark(&join(parent, name), child.line);
        Some(child)
    }

    /// Direct children called `name` with their indexed paths.
    fn items<'e>(
        &mut self,
        el: &'e Element,
        parent: &str,
        name: &str,
    ) -> Vec<(String, &'e Element)> {
        let base = join(parent, name);
        el.children_named(name)
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let path = format!("{base}[{}]", i + 1);
                self.mark(&path, e.line);
                (path, e)
            })
            .collect()
    }

    fn field(&mut self, el: &Element, parent: &str, name: &str) -> Option<Field> {
        let path = join(parent, name);
        let Some((v, line)) = el.string(name) else {
            if let Some(child) = el.first_child(name) {
                self.mark(&path, child.line);
                self.lines.empty.insert(path);
            }
            return None;
        };
        self.mark(&path, line);
        Some(Field { v, line, path })
    }

    fn list(&mut self, el: &Element, parent: &str, name: &str) -> FieldList {
        let path = join(parent, name);
        let list = el.string_list(name)?;
        if let Some((_, line)) = list.first() {
            self.mark(&path, *line);
        }
        Some(
            list.into_iter()
                .map(|(v, line)| Field {
                    v,
                    line,
                    path: path.clone(),
                })
                .collect(),
        )
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

fn opt<T>(f: Option<Field>, conv: impl FnOnce(Field) -> PResult<T>) -> PResult<Option<T>> {
    f.map(conv).transpose()
}

fn texts(list: FieldList) -> Option<Vec<String>> {
    list.map(|l| l.into_iter().map(Field::text).collect())
}

fn abs_paths(list: FieldList) -> PResult<Option<Vec<String>>> {
    list.map(|l| l.into_iter().map(Field::abs_path).collect())
        .transpose()
}

fn patterns(list: FieldList) -> PResult<Option<Vec<String>>> {
    list.map(|l| {
        l.into_iter()
            .map(|f| {
                if python_rejects_pattern(&f.v) {
                    Err(f.err(format_args!(
                        "\"{}\" is not a valid regular expression",
                        f.v
                    )))
                } else {
                    Ok(f.v)
                }
            })
            .collect()
    })
    .transpose()
}

/// Parses a whole document (Cedar's `Config(xmlData, validate=False)`).
pub(crate) fn parse_config(src: &str) -> PResult<Config> {
    let root = super::xml::parse_document(src)?;
    let mut p = Parser {
        lines: SourceLines::default(),
    };
    let mut config = Config::default();
    p.mark("cb_config", root.line);
    if root.name != "cb_config" {
        // Cedar finds no <cb_config> and reads no sections at all.
        config.lines = p.lines;
        return Ok(config);
    }
    let r = &root;
    config.reference = p.reference(r);
    config.extensions = p.extensions(r)?;
    config.options = p.options(r)?;
    config.peers = p.peers(r)?;
    config.collect = p.collect(r)?;
    config.stage = p.stage(r)?;
    config.store = p.store(r)?;
    config.purge = p.purge(r)?;
    config.ext = p.extension_sections(r);
    config.lines = p.lines;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_follow_python_dollar() {
        assert!(ACTION_NAME.is_match("collect"));
        assert!(ACTION_NAME.is_match("collect\n"));
        assert!(!ACTION_NAME.is_match("collect\n\n"));
        assert!(!ACTION_NAME.is_match("Collect"));
        assert!(!ACTION_NAME.is_match(" collect"));
    }

    #[test]
    fn scsi_ids() {
        for ok in [
            "0,0,0",
            "ATA:1,0,0",
            " ATAPI: 1 , 2 , 3 ",
            "IOCompactDiscServices/2",
        ] {
            assert!(SCSI_ID.is_match(ok) || SCSI_ID_DARWIN.is_match(ok), "{ok}");
        }
        for bad in ["0,0", "a,b,c", "/dev/cdrw"] {
            assert!(
                !SCSI_ID.is_match(bad) && !SCSI_ID_DARWIN.is_match(bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn pattern_split_between_parse_and_validate() {
        assert!(python_rejects_pattern("("));
        assert!(python_rejects_pattern("a)(b"));
        assert!(!python_rejects_pattern(r".*\.tmp"));
        assert!(
            !python_rejects_pattern("(?!x).*"),
            "Python compiles look-ahead"
        );
        assert!(
            !python_rejects_pattern(r"(a)\1"),
            "Python compiles back-references"
        );
    }
}
