//! Typed mapping from the DOM to [`Config`], following Cedar's `_parse*`
//! functions and property setters: a value Cedar's setter rejects even with
//! `validate=False` (a relative path, an unknown mode, a bad integer...) makes
//! parsing fail here too, with the element path and line.
//!
//! Reading rules (xmlutil.py): only direct children are read; single values
//! come from the first same-named child that has a text node; the text is
//! used as is (no trimming) except where Cedar itself strips (integers and
//! floats as Python's `int()`/`float()`, comma lists, byte quantities).

use std::sync::LazyLock;

use regex::Regex;

use super::extensions::*;
use super::model::*;
use super::xml::Element;
use crate::action::Extension;
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
        if self.v.starts_with("emulated:") {
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

impl Parser {
    fn reference(&mut self, r: &Element) -> Option<ReferenceConfig> {
        let s = self.section(r, "", "reference")?;
        let base = "reference";
        Some(ReferenceConfig {
            author: self.field(s, base, "author").map(Field::text),
            revision: self.field(s, base, "revision").map(Field::text),
            description: self.field(s, base, "description").map(Field::text),
            generator: self.field(s, base, "generator").map(Field::text),
        })
    }

    fn extensions(&mut self, r: &Element) -> PResult<Option<ExtensionsConfig>> {
        let Some(s) = self.section(r, "", "extensions") else {
            return Ok(None);
        };
        let order_mode = opt(self.field(s, "extensions", "order_mode"), |f| {
            f.choice(OrderMode::ALL, OrderMode::name)
        })?;
        let mut actions = Vec::new();
        for (path, e) in self.items(s, "extensions", "action") {
            let name = opt(self.field(e, &path, "name"), Field::action_name)?;
            let module = opt(self.field(e, &path, "module"), |f| {
                f.identifier(&MODULE_NAME, "module name")
            })?;
            let function = opt(self.field(e, &path, "function"), |f| {
                f.identifier(&FUNCTION_NAME, "function name")
            })?;
            let index = opt(self.field(e, &path, "index"), |f| f.int(Some(0)))?;
            let dependencies = match self.section(e, &path, "depends") {
                None => None,
                Some(d) => {
                    let dpath = join(&path, "depends");
                    let before = opt(self.field(d, &dpath, "run_before"), Field::action_list)?;
                    let after = opt(self.field(d, &dpath, "run_after"), Field::action_list)?;
                    Some(ActionDependencies {
                        before_list: before.unwrap_or_default(),
                        after_list: after.unwrap_or_default(),
                    })
                }
            };
            actions.push(ExtendedAction {
                name,
                module,
                function,
                index,
                dependencies,
            });
        }
        Ok(Some(ExtensionsConfig {
            order_mode,
            actions,
        }))
    }

    fn options(&mut self, r: &Element) -> PResult<Option<OptionsConfig>> {
        let Some(s) = self.section(r, "", "options") else {
            return Ok(None);
        };
        let b = "options";
        let mut o = OptionsConfig {
            starting_day: opt(self.field(s, b, "starting_day"), |f| {
                f.choice(Weekday::ALL, Weekday::name)
            })?,
            working_dir: opt(self.field(s, b, "working_dir"), Field::abs_path)?,
            backup_user: opt(self.field(s, b, "backup_user"), Field::nonempty)?,
            backup_group: opt(self.field(s, b, "backup_group"), Field::nonempty)?,
            rcp_command: opt(self.field(s, b, "rcp_command"), Field::nonempty)?,
            rsh_command: opt(self.field(s, b, "rsh_command"), Field::nonempty)?,
            cback_command: opt(self.field(s, b, "cback_command"), Field::nonempty)?,
            ..Default::default()
        };
        for (path, e) in self.items(s, b, "override") {
            o.overrides.push(CommandOverride {
                command: opt(self.field(e, &path, "command"), Field::nonempty)?,
                absolute_path: opt(self.field(e, &path, "abs_path"), Field::abs_path)?,
            });
        }
        for (tag, kind) in [
            ("pre_action_hook", HookKind::Pre),
            ("post_action_hook", HookKind::Post),
        ] {
            for (path, e) in self.items(s, b, tag) {
                o.hooks.push(ActionHook {
                    kind,
                    action: opt(self.field(e, &path, "action"), Field::action_name)?,
                    command: opt(self.field(e, &path, "command"), Field::nonempty)?,
                });
            }
        }
        o.managed_actions = opt(self.field(s, b, "managed_actions"), Field::action_list)?;
        Ok(Some(o))
    }

    /// `peer*` beneath `<peers>` or `<stage>`; other peer types are ignored.
    #[allow(clippy::type_complexity)]
    fn peer_list(
        &mut self,
        s: &Element,
        base: &str,
    ) -> PResult<(Option<Vec<LocalPeer>>, Option<Vec<RemotePeer>>)> {
        let mut local = Vec::new();
        let mut remote = Vec::new();
        for (path, e) in self.items(s, base, "peer") {
            match self.field(e, &path, "type").map(Field::text).as_deref() {
                Some("local") => {
                    self.lines.alias.insert(
                        format!("{base}/local_peer[{}]", local.len() + 1),
                        path.clone(),
                    );
                    local.push(LocalPeer {
                        name: opt(self.field(e, &path, "name"), Field::nonempty)?,
                        collect_dir: opt(self.field(e, &path, "collect_dir"), Field::abs_path)?,
                        ignore_failure_mode: opt(self.field(e, &path, "ignore_failures"), |f| {
                            f.choice(IgnoreFailureMode::ALL, IgnoreFailureMode::name)
                        })?,
                    });
                }
                Some("remote") => {
                    self.lines.alias.insert(
                        format!("{base}/remote_peer[{}]", remote.len() + 1),
                        path.clone(),
                    );
                    let mut peer = RemotePeer {
                        name: opt(self.field(e, &path, "name"), Field::nonempty)?,
                        collect_dir: opt(self.field(e, &path, "collect_dir"), Field::abs_path)?,
                        remote_user: opt(self.field(e, &path, "backup_user"), Field::nonempty)?,
                        rcp_command: opt(self.field(e, &path, "rcp_command"), Field::nonempty)?,
                        rsh_command: opt(self.field(e, &path, "rsh_command"), Field::nonempty)?,
                        cback_command: opt(self.field(e, &path, "cback_command"), Field::nonempty)?,
                        ..Default::default()
                    };
                    peer.ignore_failure_mode = opt(self.field(e, &path, "ignore_failures"), |f| {
                        f.choice(IgnoreFailureMode::ALL, IgnoreFailureMode::name)
                    })?;
                    peer.managed =
                        opt(self.field(e, &path, "managed"), Field::boolean)?.unwrap_or(false);
                    peer.managed_actions =
                        opt(self.field(e, &path, "managed_actions"), Field::action_list)?;
                    remote.push(peer);
                }
                _ => {}
            }
        }
        Ok((
            (!local.is_empty()).then_some(local),
            (!remote.is_empty()).then_some(remote),
        ))
    }

    fn peers(&mut self, r: &Element) -> PResult<Option<PeersConfig>> {
        let Some(s) = self.section(r, "", "peers") else {
            return Ok(None);
        };
        let (local_peers, remote_peers) = self.peer_list(s, "peers")?;
        Ok(Some(PeersConfig {
            local_peers,
            remote_peers,
        }))
    }

    /// `mode` (legacy, wins when it has text) or `collect_mode`.
    fn item_collect_mode(&mut self, e: &Element, path: &str) -> PResult<Option<CollectMode>> {
        let f = self
            .field(e, path, "mode")
            .or_else(|| self.field(e, path, "collect_mode"));
        opt(f, |f| f.choice(CollectMode::ALL, CollectMode::name))
    }

    fn collect(&mut self, r: &Element) -> PResult<Option<CollectConfig>> {
        let Some(s) = self.section(r, "", "collect") else {
            return Ok(None);
        };
        let b = "collect";
        let mut c = CollectConfig {
            target_dir: opt(self.field(s, b, "collect_dir"), Field::abs_path)?,
            collect_mode: opt(self.field(s, b, "collect_mode"), |f| {
                f.choice(CollectMode::ALL, CollectMode::name)
            })?,
            archive_mode: opt(self.field(s, b, "archive_mode"), |f| {
                f.choice(ArchiveMode::ALL, ArchiveMode::name)
            })?,
            ignore_file: opt(self.field(s, b, "ignore_file"), Field::nonempty)?,
            ..Default::default()
        };
        if let Some(x) = self.section(s, b, "exclude") {
            let abs = self.list(x, "collect/exclude", "abs_path");
            let pat = self.list(x, "collect/exclude", "pattern");
            c.absolute_exclude_paths = abs_paths(abs)?;
            c.exclude_patterns = patterns(pat)?;
        }
        let mut files = Vec::new();
        for (path, e) in self.items(s, b, "file") {
            files.push(CollectFile {
                absolute_path: opt(self.field(e, &path, "abs_path"), Field::abs_path)?,
                collect_mode: self.item_collect_mode(e, &path)?,
                archive_mode: opt(self.field(e, &path, "archive_mode"), |f| {
                    f.choice(ArchiveMode::ALL, ArchiveMode::name)
                })?,
            });
        }
        c.collect_files = (!files.is_empty()).then_some(files);
        let mut dirs = Vec::new();
        for (path, e) in self.items(s, b, "dir") {
            let mut d = CollectDir {
                absolute_path: opt(self.field(e, &path, "abs_path"), Field::abs_path)?,
                collect_mode: self.item_collect_mode(e, &path)?,
                archive_mode: opt(self.field(e, &path, "archive_mode"), |f| {
                    f.choice(ArchiveMode::ALL, ArchiveMode::name)
                })?,
                ignore_file: opt(self.field(e, &path, "ignore_file"), Field::nonempty)?,
                link_depth: opt(self.field(e, &path, "link_depth"), |f| f.int(Some(0)))?,
                dereference: opt(self.field(e, &path, "dereference"), Field::boolean)?
                    .unwrap_or(false),
                recursion_level: opt(self.field(e, &path, "recursion_level"), |f| f.int(None))?,
                ..Default::default()
            };
            if let Some(x) = self.section(e, &path, "exclude") {
                let xpath = join(&path, "exclude");
                let abs = self.list(x, &xpath, "abs_path");
                let rel = self.list(x, &xpath, "rel_path");
                let pat = self.list(x, &xpath, "pattern");
                d.absolute_exclude_paths = abs_paths(abs)?;
                d.relative_exclude_paths = texts(rel);
                d.exclude_patterns = patterns(pat)?;
            }
            dirs.push(d);
        }
        c.collect_dirs = (!dirs.is_empty()).then_some(dirs);
        Ok(Some(c))
    }

    fn stage(&mut self, r: &Element) -> PResult<Option<StageConfig>> {
        let Some(s) = self.section(r, "", "stage") else {
            return Ok(None);
        };
        let target_dir = opt(self.field(s, "stage", "staging_dir"), Field::abs_path)?;
        let (local_peers, remote_peers) = self.peer_list(s, "stage")?;
        Ok(Some(StageConfig {
            target_dir,
            local_peers,
            remote_peers,
        }))
    }

    fn store(&mut self, r: &Element) -> PResult<Option<StoreConfig>> {
        let Some(s) = self.section(r, "", "store") else {
            return Ok(None);
        };
        let b = "store";
        let mut st = StoreConfig {
            source_dir: opt(self.field(s, b, "source_dir"), Field::abs_path)?,
            media_type: opt(self.field(s, b, "media_type"), |f| {
                f.choice(&MediaType::ALL, MediaType::name)
            })?,
            device_type: opt(self.field(s, b, "device_type"), |f| {
                f.choice(DeviceType::ALL, DeviceType::name)
            })?,
            device_path: opt(self.field(s, b, "target_device"), Field::device_path)?,
            device_scsi_id: opt(self.field(s, b, "target_scsi_id"), Field::scsi_id)?,
            drive_speed: opt(self.field(s, b, "drive_speed"), |f| f.int(Some(1)))?,
            ..Default::default()
        };
        let flag = |p: &mut Self, name: &str| -> PResult<bool> {
            Ok(opt(p.field(s, b, name), Field::boolean)?.unwrap_or(false))
        };
        st.check_data = flag(self, "check_data")?;
        st.check_media = flag(self, "check_media")?;
        st.warn_midnite = flag(self, "warn_midnite")?;
        st.no_eject = flag(self, "no_eject")?;
        if let Some(bb) = self.section(s, b, "blank_behavior") {
            let bpath = "store/blank_behavior";
            let blank_mode = opt(self.field(bb, bpath, "mode"), |f| {
                f.choice(BLANK_MODES, |m| m).map(str::to_string)
            })?;
            let blank_factor = opt(self.field(bb, bpath, "factor"), |f| {
                let v = f.float()?;
                if v < 0.0 {
                    return Err(f.err(format_args!("\"{}\" is negative", f.v)));
                }
                Ok(f.v)
            })?;
            st.blank_behavior = Some(BlankBehavior {
                blank_mode,
                blank_factor,
            });
        }
        // Cedar stores a delay of 0 as "no delay" (None).
        let delay = |p: &mut Self, name: &str| -> PResult<Option<i64>> {
            Ok(opt(p.field(s, b, name), |f| f.int(Some(0)))?.filter(|&d| d != 0))
        };
        st.refresh_media_delay = delay(self, "refresh_media_delay")?;
        st.eject_delay = delay(self, "eject_delay")?;
        Ok(Some(st))
    }

    fn purge(&mut self, r: &Element) -> PResult<Option<PurgeConfig>> {
        let Some(s) = self.section(r, "", "purge") else {
            return Ok(None);
        };
        let mut dirs = Vec::new();
        for (path, e) in self.items(s, "purge", "dir") {
            dirs.push(PurgeDir {
                absolute_path: opt(self.field(e, &path, "abs_path"), Field::abs_path)?,
                retain_days: opt(self.field(e, &path, "retain_days"), |f| f.int(Some(0)))?,
            });
        }
        Ok(Some(PurgeConfig {
            purge_dirs: (!dirs.is_empty()).then_some(dirs),
        }))
    }

    /// Every extension section is parsed on its own: a problem in one is kept
    /// in `parse_errors` (Cedar only notices when that extension runs) and
    /// never fails the core parse. Section names come from the extension
    /// table.
    fn extension_sections(&mut self, r: &Element) -> ExtensionSections {
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
