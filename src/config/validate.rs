//! Checking: Cedar's whole-document validation (`Config.validate()` with its
//! default arguments, then `_validateContents`) turned into [`Settings`].
//!
//! Every rule both records its problem and yields the checked value, so the
//! rules and the settings they guarantee cannot drift apart. Cedar stops at
//! the first problem; cedar reports every problem, in the order Cedar checks
//! them, so the first one is the one Cedar would report. Then come the
//! extension modules cedar cannot resolve (Cedar's import errors, found right
//! after validation), then the problems only cedar has (exclude patterns it
//! cannot apply).

use regex::Regex;

use super::model::*;
use super::pattern::compile_exclude_pattern;
use super::settings::*;
use super::ConfigError;
use crate::action::{Action, Extension, ResolveError};

/// Collects problems with their element paths and lines.
pub(super) struct Problems<'a> {
    config: &'a Config,
    list: Vec<String>,
    imports: Vec<String>,
    cedar_only: Vec<String>,
}

impl<'a> Problems<'a> {
    pub(super) fn new(config: &'a Config) -> Self {
        Problems {
            config,
            list: Vec::new(),
            imports: Vec::new(),
            cedar_only: Vec::new(),
        }
    }

    /// The line of `path`, or of its nearest recorded ancestor.
    fn line(&self, path: &str) -> Option<usize> {
        let lines = &self.config.lines.lines;
        let mut p = path;
        loop {
            if let Some(&l) = lines.get(p) {
                return Some(l);
            }
            match p.rfind(['/', '[']) {
                Some(cut) => p = &p[..cut],
                None => return lines.get("cb_config").copied(),
            }
        }
    }

    fn format(&self, path: &str, msg: &str) -> String {
        match self.line(path) {
            Some(l) => format!("{path}: {msg} (line {l})"),
            None => format!("{path}: {msg}"),
        }
    }

    pub(super) fn add(&mut self, path: &str, msg: impl AsRef<str>) {
        let m = self.format(path, msg.as_ref());
        self.list.push(m);
    }

    /// A problem found while parsing, already formatted.
    pub(super) fn add_formatted(&mut self, problem: String) {
        self.list.push(problem);
    }

    /// The value, or a problem at `path` when it is missing.
    pub(super) fn need<T: Clone>(&mut self, value: &Option<T>, path: &str) -> Option<T> {
        if value.is_none() {
            self.add_missing(path);
        }
        value.clone()
    }

    /// `value`, or the problem `msg` at `path` when it is missing.
    pub(super) fn need_or<T>(&mut self, value: Option<T>, path: &str, msg: &str) -> Option<T> {
        if value.is_none() {
            self.add(path, msg);
        }
        value
    }

    fn add_missing(&mut self, path: &str) {
        let msg = self.missing(path);
        self.add(path, msg);
    }

    /// "is required", or "is empty" when the element is there without text.
    fn missing(&self, path: &str) -> &'static str {
        if self.config.lines.empty.contains(path) {
            "is required but empty"
        } else {
            "is required"
        }
    }

    /// The element path of the n-th (1-based) local/remote peer of a section.
    fn peer_path(&self, base: &str, kind: &str, n: usize) -> String {
        let key = format!("{base}/{kind}_peer[{n}]");
        self.config
            .lines
            .alias
            .get(&key)
            .cloned()
            .unwrap_or(format!("{base}/peer[{n}]"))
    }

    /// cedar addition: every exclude pattern must be usable by cedar.
    /// Returns the compiled patterns (those that compile).
    pub(super) fn patterns(&mut self, list: &Option<Vec<String>>, path: &str) -> Vec<Regex> {
        let mut out = Vec::new();
        for p in list.iter().flatten() {
            match compile_exclude_pattern(p) {
                Ok(re) => out.push(re),
                Err(e) => {
                    let m = self.format(path, &e);
                    self.cedar_only.push(m);
                }
            }
        }
        out
    }

    /// `checkUnique`: one problem per repeated value, at its later use.
    fn unique(&mut self, names: &[(String, String)], what: &str) {
        for (i, (name, path)) in names.iter().enumerate() {
            if names[..i].iter().any(|(n, _)| n == name) {
                self.add(path, format!("\"{name}\" is used by more than one {what}"));
            }
        }
    }

    /// Ends the check: every problem (Cedar's first, then unresolvable
    /// modules when `imports` is set, then cedar's own), or `value`.
    pub(super) fn finish<T>(mut self, imports: bool, value: Option<T>) -> Result<T, ConfigError> {
        if imports {
            self.list.append(&mut self.imports);
        }
        self.list.append(&mut self.cedar_only);
        match value {
            Some(v) if self.list.is_empty() => Ok(v),
            // A rule that yields nothing always records why.
            _ => Err(ConfigError::Invalid(self.list)),
        }
    }
}

/// The peers of one list (`<peers>` or `<stage>`).
type PeerLists = (Vec<LocalPeerSettings>, Vec<RemotePeerSettings>);

impl Config {
    /// Applies Cedar's whole-document validation rules and reports every
    /// problem (the first is the one Cedar reports). Extension modules are
    /// not resolved: Cedar's own validation does not import them either.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let (problems, _) = self.checked();
        problems.finish(false, Some(()))
    }

    /// Checks the document as `cback` loads it: Cedar's validation rules,
    /// then every extension module resolved (an unknown one is a problem,
    /// as Cedar fails to import it before running any action). Returns the
    /// settings actions take.
    pub fn check(&self) -> Result<Settings, ConfigError> {
        let (problems, settings) = self.checked();
        problems.finish(true, settings)
    }

    /// Applies every rule: the problems found, and the settings when no
    /// rule found one.
    fn checked(&self) -> (Problems<'_>, Option<Settings>) {
        let mut p = Problems::new(self);
        if self.collect.is_none()
            && self.stage.is_none()
            && self.store.is_none()
            && self.purge.is_none()
        {
            p.add(
                "cb_config",
                "at least one of the collect, stage, store and purge sections is required",
            );
        }
        if self.options.is_none() {
            p.add("options", "the options section is required");
        }
        let extensions = self.check_extensions(&mut p);
        let options = self.check_options(&mut p);
        let peers = self.peers.as_ref().map(|peers| {
            self.check_peer_list(&mut p, "peers", &peers.local_peers, &peers.remote_peers)
        });
        let collect = self.collect.as_ref().map(|c| check_collect(&mut p, c));
        let stage = self
            .stage
            .as_ref()
            .map(|s| self.check_stage(&mut p, s, peers.as_ref()));
        let store = self.store.as_ref().map(|s| check_store(&mut p, s));
        let purge = self.purge.as_ref().map(|s| check_purge(&mut p, s));
        let settings = (|| {
            let managed_peers = match peers {
                Some(peers) => peers?.1.into_iter().filter(|r| r.managed).collect(),
                None => Vec::new(),
            };
            Some(Settings {
                options: options?,
                collect: collect.transpose_checked()?,
                stage: stage.transpose_checked()?,
                store: store.transpose_checked()?,
                purge: purge.transpose_checked()?,
                extensions: extensions?,
                managed_peers,
                raw: self.clone(),
            })
        })();
        (p, settings)
    }

    fn check_extensions(&self, p: &mut Problems) -> Option<ExtensionPlan> {
        let Some(ext) = &self.extensions else {
            return Some(ExtensionPlan::default());
        };
        let mode = ext.order_mode.unwrap_or_default();
        let mut names = Vec::new();
        let mut actions = Vec::new();
        for (i, a) in ext.actions.iter().enumerate() {
            let path = format!("extensions/action[{}]", i + 1);
            let name = p.need(&a.name, &format!("{path}/name"));
            if let Some(n) = &name {
                names.push((n.clone(), format!("{path}/name")));
            }
            let module = p.need(&a.module, &format!("{path}/module"));
            let function = p.need(&a.function, &format!("{path}/function"));
            let order = match mode {
                OrderMode::Index => p
                    .need_or(
                        a.index,
                        &format!("{path}/index"),
                        "is required in index order mode",
                    )
                    .map(ExtensionOrder::Index),
                OrderMode::Dependency => p
                    .need_or(
                        a.dependencies.clone(),
                        &format!("{path}/depends"),
                        "is required in dependency order mode",
                    )
                    .map(ExtensionOrder::Depends),
            };
            let extension = match (&module, &function) {
                (Some(m), Some(f)) => match Extension::resolve(m, f) {
                    Ok(e) => Some(e),
                    Err(e) => {
                        let at = match e {
                            ResolveError::NoModule(_) => "module",
                            ResolveError::NoFunction { .. } => "function",
                        };
                        let m = p.format(&format!("{path}/{at}"), &e.to_string());
                        p.imports.push(m);
                        None
                    }
                },
                _ => None,
            };
            actions.push((|| {
                Some(ExtendedActionSettings {
                    name: name?,
                    extension: extension?,
                    module: module?,
                    order: order?,
                })
            })());
        }
        p.unique(&names, "extended action");
        Some(ExtensionPlan {
            order_mode: mode,
            actions: actions.into_iter().collect::<Option<Vec<_>>>()?,
        })
    }

    fn check_options(&self, p: &mut Problems) -> Option<OptionsSettings> {
        let o = self.options.as_ref()?;
        let starting_day = p.need(&o.starting_day, "options/starting_day");
        let working_dir = p.need(&o.working_dir, "options/working_dir");
        let backup_user = p.need(&o.backup_user, "options/backup_user");
        let backup_group = p.need(&o.backup_group, "options/backup_group");
        let rcp_command = p.need(&o.rcp_command, "options/rcp_command");
        let hooks = o
            .hooks
            .iter()
            .filter_map(|h| {
                Some(Hook {
                    kind: h.kind,
                    action: Action::named(h.action.as_deref()?),
                    command: h.command.clone().unwrap_or_default(),
                })
            })
            .collect();
        Some(OptionsSettings {
            starting_day: starting_day?,
            working_dir: working_dir?.into(),
            backup_user: backup_user?,
            backup_group: backup_group?,
            rcp_command: rcp_command?,
            rsh_command: o.rsh_command.clone(),
            cback_command: o.cback_command.clone(),
            managed_actions: o.managed_actions.clone().unwrap_or_default(),
            overrides: o.overrides_map(),
            hooks,
        })
    }

    fn check_peer_list(
        &self,
        p: &mut Problems,
        base: &str,
        local: &Option<Vec<LocalPeer>>,
        remote: &Option<Vec<RemotePeer>>,
    ) -> Option<PeerLists> {
        let count = local.as_ref().map_or(0, Vec::len) + remote.as_ref().map_or(0, Vec::len);
        if count == 0 {
            let msg = if base == "stage" && self.peers.is_none() {
                "at least one peer is required (here or in <peers>)"
            } else {
                "at least one peer is required"
            };
            p.add(base, msg);
        }
        let opts = self.options.as_ref();
        let mut names = Vec::new();
        let mut locals = Vec::new();
        for (i, peer) in local.iter().flatten().enumerate() {
            let path = p.peer_path(base, "local", i + 1);
            let name = p.need(&peer.name, &format!("{path}/name"));
            if let Some(n) = &name {
                names.push((n.clone(), format!("{path}/name")));
            }
            let collect_dir = p.need(&peer.collect_dir, &format!("{path}/collect_dir"));
            locals.push((|| {
                Some(LocalPeerSettings {
                    name: name?,
                    collect_dir: collect_dir?.into(),
                    ignore_failures: peer.ignore_failure_mode.unwrap_or(IgnoreFailureMode::None),
                })
            })());
        }
        let mut remotes = Vec::new();
        for (i, peer) in remote.iter().flatten().enumerate() {
            let path = p.peer_path(base, "remote", i + 1);
            let name = p.need(&peer.name, &format!("{path}/name"));
            if let Some(n) = &name {
                names.push((n.clone(), format!("{path}/name")));
            }
            let collect_dir = p.need(&peer.collect_dir, &format!("{path}/collect_dir"));
            let from_options = |own: &Option<String>, f: fn(&OptionsConfig) -> &Option<String>| {
                own.clone().or_else(|| opts.and_then(|o| f(o).clone()))
            };
            let remote_user = p.need_or(
                from_options(&peer.remote_user, |o| &o.backup_user),
                &format!("{path}/backup_user"),
                "is required for a remote peer unless options/backup_user is set",
            );
            let rcp_command = p.need_or(
                from_options(&peer.rcp_command, |o| &o.rcp_command),
                &format!("{path}/rcp_command"),
                "is required for a remote peer unless options/rcp_command is set",
            );
            let rsh_command = from_options(&peer.rsh_command, |o| &o.rsh_command);
            let cback_command = from_options(&peer.cback_command, |o| &o.cback_command);
            let managed_actions = match &peer.managed_actions {
                Some(l) if !l.is_empty() => l.clone(),
                _ => opts
                    .and_then(|o| o.managed_actions.clone())
                    .unwrap_or_default(),
            };
            if peer.managed {
                p.need_or(
                    rsh_command.as_ref(),
                    &format!("{path}/rsh_command"),
                    "is required for a managed peer unless options/rsh_command is set",
                );
                p.need_or(
                    cback_command.as_ref(),
                    &format!("{path}/cback_command"),
                    "is required for a managed peer unless options/cback_command is set",
                );
                if managed_actions.is_empty() {
                    p.add(
                        &format!("{path}/managed_actions"),
                        "is required for a managed peer unless options/managed_actions is set",
                    );
                }
            }
            remotes.push((|| {
                Some(RemotePeerSettings {
                    name: name?,
                    collect_dir: collect_dir?,
                    remote_user: remote_user?,
                    rcp_command: rcp_command?,
                    rsh_command: rsh_command.unwrap_or_else(|| DEFAULT_RSH.to_string()),
                    cback_command: cback_command.unwrap_or_else(|| DEFAULT_CBACK.to_string()),
                    managed: peer.managed,
                    managed_actions,
                    ignore_failures: peer.ignore_failure_mode.unwrap_or(IgnoreFailureMode::None),
                })
            })());
        }
        p.unique(&names, "peer");
        Some((
            locals.into_iter().collect::<Option<_>>()?,
            remotes.into_iter().collect::<Option<_>>()?,
        ))
    }

    fn check_stage(
        &self,
        p: &mut Problems,
        s: &StageConfig,
        peers: Option<&Option<PeerLists>>,
    ) -> Option<StageSettings> {
        let staging_dir = p.need(&s.target_dir, "stage/staging_dir");
        let lists = match peers {
            Some(from_peers) if !s.has_peers() => from_peers.clone(),
            _ => self.check_peer_list(p, "stage", &s.local_peers, &s.remote_peers),
        };
        let (local_peers, remote_peers) = lists?;
        Some(StageSettings {
            staging_dir: staging_dir?.into(),
            local_peers,
            remote_peers,
        })
    }
}

/// `Option<Option<T>>` where the inner `None` means "checked, with
/// problems": a present section that failed its check.
trait TransposeChecked<T> {
    /// `Some(None)` for an absent section, `Some(Some(v))` for a good one,
    /// `None` for a bad one.
    fn transpose_checked(self) -> Option<Option<T>>;
}

impl<T> TransposeChecked<T> for Option<Option<T>> {
    fn transpose_checked(self) -> Option<Option<T>> {
        match self {
            None => Some(None),
            Some(None) => None,
            Some(Some(v)) => Some(Some(v)),
        }
    }
}

/// A collect item's mode: its own, else the section's.
fn item_mode<T: Copy>(
    p: &mut Problems,
    own: Option<T>,
    section: Option<T>,
    path: &str,
    what: &str,
) -> Option<T> {
    p.need_or(
        own.or(section),
        &format!("{path}/{what}"),
        &format!("is required unless collect/{what} is set"),
    )
}

fn check_collect(p: &mut Problems, c: &CollectConfig) -> Option<CollectPlan> {
    let collect_dir = p.need(&c.target_dir, "collect/collect_dir");
    let mut files = Vec::new();
    for (i, f) in c.collect_files.iter().flatten().enumerate() {
        let path = format!("collect/file[{}]", i + 1);
        let abs = p.need(&f.absolute_path, &format!("{path}/abs_path"));
        let collect_mode = item_mode(p, f.collect_mode, c.collect_mode, &path, "collect_mode");
        let archive_mode = item_mode(p, f.archive_mode, c.archive_mode, &path, "archive_mode");
        files.push((|| {
            Some(CollectFileItem {
                path: abs?,
                collect_mode: collect_mode?,
                archive_mode: archive_mode?,
            })
        })());
    }
    let mut dirs = Vec::new();
    for (i, d) in c.collect_dirs.iter().flatten().enumerate() {
        let path = format!("collect/dir[{}]", i + 1);
        let abs = p.need(&d.absolute_path, &format!("{path}/abs_path"));
        let collect_mode = item_mode(p, d.collect_mode, c.collect_mode, &path, "collect_mode");
        let archive_mode = item_mode(p, d.archive_mode, c.archive_mode, &path, "archive_mode");
        let ignore_file = item_mode(
            p,
            d.ignore_file.as_ref(),
            c.ignore_file.as_ref(),
            &path,
            "ignore_file",
        );
        let link_depth = d.link_depth.unwrap_or(0);
        if d.dereference && link_depth < 1 {
            p.add(
                &format!("{path}/dereference"),
                "Y needs a link_depth of at least 1",
            );
        }
        let (exclude_paths, _) = d.exclusions(c);
        dirs.push((|| {
            Some(CollectDirItem {
                path: abs?,
                collect_mode: collect_mode?,
                archive_mode: archive_mode?,
                ignore_file: ignore_file?.clone(),
                link_depth,
                dereference: d.dereference,
                recursion_level: d.recursion_level.unwrap_or(0),
                exclude_paths,
                exclude_patterns: Vec::new(),
            })
        })());
    }
    let shared = p.patterns(&c.exclude_patterns, "collect/exclude/pattern");
    for (i, (raw, dir)) in c.collect_dirs.iter().flatten().zip(&mut dirs).enumerate() {
        let own = p.patterns(
            &raw.exclude_patterns,
            &format!("collect/dir[{}]/exclude/pattern", i + 1),
        );
        if let Some(dir) = dir {
            dir.exclude_patterns = shared.iter().cloned().chain(own).collect();
        }
    }
    Some(CollectPlan {
        collect_dir: collect_dir?.into(),
        files: files.into_iter().collect::<Option<_>>()?,
        dirs: dirs.into_iter().collect::<Option<_>>()?,
    })
}

fn check_store(p: &mut Problems, s: &StoreConfig) -> Option<StoreSettings> {
    let source_dir = p.need(&s.source_dir, "store/source_dir");
    let media = p.need(&s.media_type, "store/media_type");
    let device = p.need(&s.device_path, "store/target_device");
    let device_type = s.device_type.unwrap_or(DeviceType::Cdwriter);
    // (A missing media type is reported above; Cedar would stop there.)
    if let Some(media) = media {
        if media.family() != device_type.family() {
            p.add(
                "store/media_type",
                format!(
                    "\"{}\" does not match device type {}",
                    media.name(),
                    device_type.name()
                ),
            );
        }
    }
    // cedar addition: the device string is parsed here, once, so a
    // malformed emulated: string is a configuration error.
    let parsed = device.and_then(|text| match mmc::DeviceString::parse(&text) {
        Ok(mmc::DeviceString::Emulated { image, .. }) if !image.is_absolute() => {
            p.add(
                "store/target_device",
                format!("\"{text}\": the emulated image path must be absolute"),
            );
            None
        }
        Ok(parsed) => Some((text, parsed)),
        Err(e) => {
            p.add("store/target_device", e.to_string());
            None
        }
    });
    if let Some(b) = &s.blank_behavior {
        // Cedar only objects when both are missing.
        if b.blank_mode.is_none() && b.blank_factor.is_none() {
            p.add("store/blank_behavior", "needs mode and factor");
        }
    }
    Some(StoreSettings {
        source_dir: source_dir?.into(),
        media: media?,
        device_type,
        target_device: parsed.as_ref().map(|(t, _)| t.clone())?,
        device: parsed.map(|(_, d)| d)?,
        scsi_id: s.device_scsi_id.clone(),
        speed: s.drive_speed,
        check_data: s.check_data,
        check_media: s.check_media,
        warn_midnite: s.warn_midnite,
        no_eject: s.no_eject,
        blank_behavior: s.blank_behavior.as_ref().map(|b| BlankRule {
            mode: b.blank_mode.as_deref().and_then(|m| match m {
                "daily" => Some(BlankMode::Daily),
                "weekly" => Some(BlankMode::Weekly),
                _ => None,
            }),
            factor: b.blank_factor.as_deref().and_then(crate::py::num::py_float),
        }),
        refresh_media_delay: s.refresh_media_delay,
        eject_delay: s.eject_delay,
        manifest: s.manifest.unwrap_or(true),
    })
}

fn check_purge(p: &mut Problems, s: &PurgeConfig) -> Option<PurgeSettings> {
    let mut dirs = Vec::new();
    for (i, d) in s.purge_dirs.iter().flatten().enumerate() {
        let path = format!("purge/dir[{}]", i + 1);
        let abs = p.need(&d.absolute_path, &format!("{path}/abs_path"));
        let retain_days = p.need(&d.retain_days, &format!("{path}/retain_days"));
        dirs.push((|| {
            Some(PurgeDirItem {
                path: abs?.into(),
                retain_days: retain_days?,
            })
        })());
    }
    Some(PurgeSettings {
        dirs: dirs.into_iter().collect::<Option<_>>()?,
    })
}

#[cfg(test)]
mod tests {
    use crate::action::{Action, Extension};
    use crate::config::*;

    const OPTIONS: &str = "<options><starting_day>monday</starting_day>\
        <working_dir>/w</working_dir><backup_user>backup</backup_user>\
        <backup_group>backup</backup_group><rcp_command>/usr/bin/scp -B</rcp_command>\
        <managed_actions>collect</managed_actions>\
        <pre_action_hook><action>collect</action><command>echo hi</command></pre_action_hook>\
        <pre_action_hook><command>orphan</command></pre_action_hook></options>";

    fn check(sections: &str) -> Result<Settings, ConfigError> {
        let xml = format!("<cb_config>{OPTIONS}{sections}</cb_config>");
        parse_str(&xml, "t.conf").expect("parses").check()
    }

    #[test]
    fn stage_peers_win_when_present_and_remote_defaults_come_from_options() {
        let peers = "<peers><peer><name>global</name><type>local</type>\
            <collect_dir>/g</collect_dir></peer>\
            <peer><name>m</name><type>remote</type><collect_dir>/c</collect_dir>\
            <managed>Y</managed><rsh_command>/bin/ssh</rsh_command>\
            <cback_command>/bin/cback</cback_command></peer></peers>";
        let s = check(&format!(
            "{peers}<stage><staging_dir>/s</staging_dir></stage>"
        ))
        .unwrap();
        let stage = s.stage.as_ref().unwrap();
        assert_eq!(stage.local_peers[0].name, "global");
        assert_eq!(stage.remote_peers[0].remote_user, "backup");
        assert_eq!(stage.remote_peers[0].rcp_command, "/usr/bin/scp -B");
        assert_eq!(s.managed_peers[0].managed_actions, ["collect"]);
        assert_eq!(s.managed_action_names().len(), 1);
        let own = "<stage><staging_dir>/s</staging_dir><peer><name>r</name><type>remote</type>\
            <collect_dir>/c</collect_dir><backup_user>me</backup_user></peer></stage>";
        let s = check(&format!("{peers}{own}")).unwrap();
        let stage = s.stage.as_ref().unwrap();
        assert!(
            stage.local_peers.is_empty(),
            "stage lists peers, so <peers> is ignored"
        );
        assert_eq!(stage.remote_peers[0].remote_user, "me");
        assert_eq!(stage.remote_peers[0].rsh_command, DEFAULT_RSH);
    }

    #[test]
    fn collect_items_take_the_section_defaults() {
        let s = check(
            "<collect><collect_dir>/c</collect_dir><collect_mode>daily</collect_mode>\
             <archive_mode>targz</archive_mode><ignore_file>.ignore</ignore_file>\
             <exclude><pattern>.*\\.tmp</pattern></exclude>\
             <dir><abs_path>/etc</abs_path><collect_mode>incr</collect_mode>\
             <exclude><rel_path>ssl</rel_path><pattern>a</pattern></exclude></dir></collect>",
        )
        .unwrap();
        let dir = &s.collect.as_ref().unwrap().dirs[0];
        assert_eq!(dir.collect_mode, CollectMode::Incr);
        assert_eq!(dir.archive_mode, ArchiveMode::Targz);
        assert_eq!(dir.ignore_file, ".ignore");
        assert_eq!((dir.link_depth, dir.recursion_level), (0, 0));
        assert_eq!(dir.exclude_paths, ["/etc/ssl"]);
        assert_eq!(dir.exclude_patterns.len(), 2);
        assert!(dir.exclude_patterns[0].is_match("/etc/x.tmp"));
        assert!(dir.exclude_patterns[1].is_match("a") && !dir.exclude_patterns[1].is_match("ab"));
    }

    #[test]
    fn hooks_need_an_action_and_options_are_resolved() {
        let s = check("<purge/>").unwrap();
        assert_eq!(
            s.options.hooks.len(),
            1,
            "a hook without an action never runs"
        );
        let hook = s
            .options
            .hooks_for(&Action::Collect, HookKind::Pre)
            .next()
            .unwrap();
        assert_eq!(hook.command, "echo hi");
        assert_eq!(s.options.starting_day, Weekday::Monday);
    }

    #[test]
    fn unknown_modules_fail_check_but_not_cedars_validation() {
        let ext = |module: &str, function: &str| {
            format!(
                "<extensions><action><name>x</name><module>{module}</module>\
                 <function>{function}</function><index>1</index></action></extensions><purge/>"
            )
        };
        let s = check(&ext("CedarBackup2.extend.mysql", "executeAction")).unwrap();
        assert_eq!(s.extended_action("x").unwrap().extension, Extension::Mysql);
        for (module, function, want) in [
            ("nosuch.mod", "run", "module: No module named 'nosuch'"),
            (
                "CedarBackup3.extend.sysinfo",
                "nosuchfn",
                "function: module 'CedarBackup3.extend.sysinfo' has no attribute 'nosuchfn'",
            ),
        ] {
            let xml = format!("<cb_config>{OPTIONS}{}</cb_config>", ext(module, function));
            let c = parse_str(&xml, "t.conf").unwrap();
            c.validate()
                .expect("Cedar's validation does not import modules");
            let problems = c.check().unwrap_err().problems();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].contains(want), "{problems:?}");
            assert!(
                problems[0].starts_with("extensions/action[1]/"),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn media_names_come_from_mmc_in_cedars_order() {
        let names: Vec<&str> = MediaType::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(
            names,
            [
                "cdr-74", "cdrw-74", "cdr-80", "cdrw-80", "dvd+r", "dvd+rw", "dvd-r", "dvd-rw",
                "bd-r", "bd-re"
            ]
        );
        use mmc::profile::Family;
        assert!(
            MediaType::DvdPlusRw.family() == Family::Dvd && MediaType::DvdPlusRw.is_rewritable()
        );
        assert!(MediaType::Cdr80.family() == Family::Cd && !MediaType::Cdr80.is_rewritable());
        assert!(MediaType::BdRe.is_rewritable() && !MediaType::BdR.is_rewritable());
        assert_eq!(MediaType::Cdrw74.mmc().profile, mmc::Profile::CdRw);
        assert_eq!(MediaType::from_name("dvd+r"), Some(MediaType::DvdPlusR));
        assert!(MediaType::DvdMinusRw.accepts(mmc::Profile::DvdMinusRwRestricted));
        assert!(MediaType::DvdMinusRw.accepts(mmc::Profile::DvdMinusRwSequential));
        assert!(!MediaType::DvdPlusRw.accepts(mmc::Profile::DvdPlusR));
        assert_eq!(
            DeviceType::from_name("bdwriter"),
            Some(DeviceType::Bdwriter)
        );
    }

    #[test]
    fn device_types_match_media_families_and_device_strings_are_parsed() {
        let store = |media: &str, device_type: &str, device: &str| {
            let xml = format!(
                "<cb_config>{OPTIONS}<store><source_dir>/s</source_dir>\
                 <media_type>{media}</media_type><device_type>{device_type}</device_type>\
                 <target_device>{device}</target_device></store></cb_config>"
            );
            parse_str(&xml, "t.conf").unwrap().check()
        };
        let s = store("bd-re", "bdwriter", "emulated:/i.img?profile=bd-re").unwrap();
        let st = s.store.unwrap();
        assert!(matches!(st.device, mmc::DeviceString::Emulated { .. }));
        assert_eq!(st.target_device, "emulated:/i.img?profile=bd-re");
        let e = store("bd-r", "dvdwriter", "/dev/sr0")
            .unwrap_err()
            .problems();
        assert!(
            e[0].contains("\"bd-r\" does not match device type dvdwriter"),
            "{e:?}"
        );
        let e = store("dvd-r", "dvdwriter", "emulated:/i.img?profile=floppy")
            .unwrap_err()
            .problems();
        assert!(
            e[0].starts_with("store/target_device") && e[0].contains("floppy"),
            "{e:?}"
        );
        let e = store("dvd-r", "dvdwriter", "emulated:rel.img")
            .unwrap_err()
            .problems();
        assert!(e[0].contains("must be absolute"), "{e:?}");
    }
}
