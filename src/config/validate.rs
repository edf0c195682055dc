//! Cedar's whole-document validation (`Config.validate()` with its default
//! arguments, then `_validateContents`), and the extensions' own
//! `LocalConfig.validate()` rules.
//!
//! Cedar stops at the first problem; cedar reports every problem, in the order
//! Cedar checks them, so the first one is the one Cedar would report.
//! Problems only cedar has (exclude patterns it cannot apply) come last.

use super::extensions::*;
use super::model::*;
use super::pattern::compile_exclude_pattern;

/// Collects problems with their element paths and lines.
struct Problems<'a> {
    config: &'a Config,
    list: Vec<String>,
    cedar_only: Vec<String>,
}

impl<'a> Problems<'a> {
    fn new(config: &'a Config) -> Self {
        Problems {
            config,
            list: Vec::new(),
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

    fn add(&mut self, path: &str, msg: impl AsRef<str>) {
        let m = self.format(path, msg.as_ref());
        self.list.push(m);
    }

    fn require<T>(&mut self, value: &Option<T>, path: &str) {
        if value.is_none() {
            self.add_missing(path);
        }
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
    fn patterns(&mut self, list: &Option<Vec<String>>, path: &str) {
        for p in list.iter().flatten() {
            if let Err(e) = compile_exclude_pattern(p) {
                let m = self.format(path, &e);
                self.cedar_only.push(m);
            }
        }
    }

    /// `checkUnique`: one problem per repeated value, at its later use.
    fn unique(&mut self, names: &[(String, String)], what: &str) {
        for (i, (name, path)) in names.iter().enumerate() {
            if names[..i].iter().any(|(n, _)| n == name) {
                self.add(path, format!("\"{name}\" is used by more than one {what}"));
            }
        }
    }

    fn finish(mut self) -> Result<(), super::ConfigError> {
        self.list.append(&mut self.cedar_only);
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(super::ConfigError::Invalid(self.list))
        }
    }
}

impl Config {
    /// Applies Cedar's whole-document validation rules and reports every
    /// problem (the first is the one Cedar reports).
    pub fn validate(&self) -> Result<(), super::ConfigError> {
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
        self.validate_extensions(&mut p);
        self.validate_options(&mut p);
        if let Some(peers) = &self.peers {
            self.validate_peer_list(&mut p, "peers", &peers.local_peers, &peers.remote_peers);
        }
        self.validate_collect(&mut p);
        self.validate_stage(&mut p);
        self.validate_store(&mut p);
        self.validate_purge(&mut p);
        p.finish()
    }

    fn validate_extensions(&self, p: &mut Problems) {
        let Some(ext) = &self.extensions else { return };
        let mut names = Vec::new();
        for (i, a) in ext.actions.iter().enumerate() {
            let path = format!("extensions/action[{}]", i + 1);
            match &a.name {
                Some(n) => names.push((n.clone(), format!("{path}/name"))),
                None => p.add_missing(&format!("{path}/name")),
            }
            p.require(&a.module, &format!("{path}/module"));
            p.require(&a.function, &format!("{path}/function"));
            match ext.order_mode {
                None | Some(OrderMode::Index) if a.index.is_none() => {
                    p.add(&format!("{path}/index"), "is required in index order mode")
                }
                Some(OrderMode::Dependency) if a.dependencies.is_none() => p.add(
                    &format!("{path}/depends"),
                    "is required in dependency order mode",
                ),
                _ => {}
            }
        }
        p.unique(&names, "extended action");
    }

    fn validate_options(&self, p: &mut Problems) {
        let Some(o) = &self.options else { return };
        p.require(&o.starting_day, "options/starting_day");
        p.require(&o.working_dir, "options/working_dir");
        p.require(&o.backup_user, "options/backup_user");
        p.require(&o.backup_group, "options/backup_group");
        p.require(&o.rcp_command, "options/rcp_command");
    }

    fn validate_peer_list(
        &self,
        p: &mut Problems,
        base: &str,
        local: &Option<Vec<LocalPeer>>,
        remote: &Option<Vec<RemotePeer>>,
    ) {
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
        for (i, peer) in local.iter().flatten().enumerate() {
            let path = p.peer_path(base, "local", i + 1);
            match &peer.name {
                Some(n) => names.push((n.clone(), format!("{path}/name"))),
                None => p.add_missing(&format!("{path}/name")),
            }
            p.require(&peer.collect_dir, &format!("{path}/collect_dir"));
        }
        for (i, peer) in remote.iter().flatten().enumerate() {
            let path = p.peer_path(base, "remote", i + 1);
            match &peer.name {
                Some(n) => names.push((n.clone(), format!("{path}/name"))),
                None => p.add_missing(&format!("{path}/name")),
            }
            p.require(&peer.collect_dir, &format!("{path}/collect_dir"));
            let from_options = |f: &dyn Fn(&OptionsConfig) -> bool| opts.is_some_and(f);
            if peer.remote_user.is_none() && !from_options(&|o| o.backup_user.is_some()) {
                p.add(
                    &format!("{path}/backup_user"),
                    "is required for a remote peer unless options/backup_user is set",
                );
            }
            if peer.rcp_command.is_none() && !from_options(&|o| o.rcp_command.is_some()) {
                p.add(
                    &format!("{path}/rcp_command"),
                    "is required for a remote peer unless options/rcp_command is set",
                );
            }
            if peer.managed {
                if peer.rsh_command.is_none() && !from_options(&|o| o.rsh_command.is_some()) {
                    p.add(
                        &format!("{path}/rsh_command"),
                        "is required for a managed peer unless options/rsh_command is set",
                    );
                }
                if peer.cback_command.is_none() && !from_options(&|o| o.cback_command.is_some()) {
                    p.add(
                        &format!("{path}/cback_command"),
                        "is required for a managed peer unless options/cback_command is set",
                    );
                }
                let has = |l: &Option<Vec<String>>| l.as_ref().is_some_and(|l| !l.is_empty());
                if !has(&peer.managed_actions) && !from_options(&|o| has(&o.managed_actions)) {
                    p.add(
                        &format!("{path}/managed_actions"),
                        "is required for a managed peer unless options/managed_actions is set",
                    );
                }
            }
        }
        p.unique(&names, "peer");
    }

    fn validate_collect(&self, p: &mut Problems) {
        let Some(c) = &self.collect else { return };
        p.require(&c.target_dir, "collect/collect_dir");
        for (i, f) in c.collect_files.iter().flatten().enumerate() {
            let path = format!("collect/file[{}]", i + 1);
            p.require(&f.absolute_path, &format!("{path}/abs_path"));
            if c.collect_mode.is_none() && f.collect_mode.is_none() {
                p.add(
                    &format!("{path}/collect_mode"),
                    "is required unless collect/collect_mode is set",
                );
            }
            if c.archive_mode.is_none() && f.archive_mode.is_none() {
                p.add(
                    &format!("{path}/archive_mode"),
                    "is required unless collect/archive_mode is set",
                );
            }
        }
        for (i, d) in c.collect_dirs.iter().flatten().enumerate() {
            let path = format!("collect/dir[{}]", i + 1);
            p.require(&d.absolute_path, &format!("{path}/abs_path"));
            if c.collect_mode.is_none() && d.collect_mode.is_none() {
                p.add(
                    &format!("{path}/collect_mode"),
                    "is required unless collect/collect_mode is set",
                );
            }
            if c.archive_mode.is_none() && d.archive_mode.is_none() {
                p.add(
                    &format!("{path}/archive_mode"),
                    "is required unless collect/archive_mode is set",
                );
            }
            if c.ignore_file.is_none() && d.ignore_file.is_none() {
                p.add(
                    &format!("{path}/ignore_file"),
                    "is required unless collect/ignore_file is set",
                );
            }
            if d.dereference && d.link_depth.unwrap_or(0) < 1 {
                p.add(
                    &format!("{path}/dereference"),
                    "Y needs a link_depth of at least 1",
                );
            }
        }
        p.patterns(&c.exclude_patterns, "collect/exclude/pattern");
        for (i, d) in c.collect_dirs.iter().flatten().enumerate() {
            p.patterns(
                &d.exclude_patterns,
                &format!("collect/dir[{}]/exclude/pattern", i + 1),
            );
        }
    }

    fn validate_stage(&self, p: &mut Problems) {
        let Some(s) = &self.stage else { return };
        p.require(&s.target_dir, "stage/staging_dir");
        if self.peers.is_none() || s.has_peers() {
            self.validate_peer_list(p, "stage", &s.local_peers, &s.remote_peers);
        }
    }

    fn validate_store(&self, p: &mut Problems) {
        let Some(s) = &self.store else { return };
        p.require(&s.source_dir, "store/source_dir");
        p.require(&s.media_type, "store/media_type");
        p.require(&s.device_path, "store/target_device");
        // (A missing media type is reported above; Cedar would stop there.)
        if let Some(media) = s.media_type {
            let device = s.effective_device_type();
            if media.is_dvd() != (device == DeviceType::Dvdwriter) {
                let dev = match device {
                    DeviceType::Cdwriter => "cdwriter",
                    DeviceType::Dvdwriter => "dvdwriter",
                };
                p.add(
                    "store/media_type",
                    format!("\"{}\" does not match device type {dev}", media.name()),
                );
            }
        }
        if let Some(b) = &s.blank_behavior {
            // Cedar only objects when both are missing.
            if b.blank_mode.is_none() && b.blank_factor.is_none() {
                p.add("store/blank_behavior", "needs mode and factor");
            }
        }
    }

    fn validate_purge(&self, p: &mut Problems) {
        let Some(pu) = &self.purge else { return };
        for (i, d) in pu.purge_dirs.iter().flatten().enumerate() {
            let path = format!("purge/dir[{}]", i + 1);
            p.require(&d.absolute_path, &format!("{path}/abs_path"));
            p.require(&d.retain_days, &format!("{path}/retain_days"));
        }
    }

    /// Validates one extension's section as that extension does before it
    /// runs (`LocalConfig(xmlPath, validate=True)`): a problem found while
    /// parsing the section comes first, then the extension's own rules.
    /// Names without a section (such as `sysinfo`) always pass.
    pub fn validate_extension(&self, name: &str) -> Result<(), super::ConfigError> {
        let mut p = Problems::new(self);
        if let Some(e) = self.ext.parse_errors.get(name) {
            p.list.push(e.clone());
            return p.finish();
        }
        let ext = &self.ext;
        match name {
            "mysql" => db_rules(
                &mut p,
                "mysql",
                ext.mysql
                    .as_ref()
                    .map(|m| (m.compress_mode, m.all, &m.databases)),
            ),
            "postgresql" => db_rules(
                &mut p,
                "postgresql",
                ext.postgresql
                    .as_ref()
                    .map(|m| (m.compress_mode, m.all, &m.databases)),
            ),
            "subversion" => subversion_rules(&mut p, ext.subversion.as_ref()),
            "mbox" => mbox_rules(&mut p, ext.mbox.as_ref()),
            "encrypt" => match &ext.encrypt {
                None => p.add("encrypt", "the encrypt section is required"),
                Some(e) => {
                    p.require(&e.encrypt_mode, "encrypt/encrypt_mode");
                    p.require(&e.encrypt_target, "encrypt/encrypt_target");
                }
            },
            "split" => match &ext.split {
                None => p.add("split", "the split section is required"),
                Some(s) => {
                    p.require(&s.size_limit, "split/size_limit");
                    p.require(&s.split_size, "split/split_size");
                }
            },
            "capacity" => match &ext.capacity {
                None => p.add("capacity", "the capacity section is required"),
                Some(c) => match (&c.max_percentage, &c.min_bytes) {
                    (None, None) => p.add("capacity", "needs max_percentage or min_bytes"),
                    (Some(_), Some(_)) => p.add(
                        "capacity",
                        "needs max_percentage or min_bytes, but not both",
                    ),
                    _ => {}
                },
            },
            "amazons3" => match &ext.amazons3 {
                None => p.add("amazons3", "the amazons3 section is required"),
                Some(a) => p.require(&a.s3_bucket, "amazons3/s3_bucket"),
            },
            _ => {}
        }
        p.finish()
    }
}

/// What the mysql/postgresql rules look at: compress mode, `all`, databases.
type DbSection<'a> = (Option<CompressMode>, bool, &'a Option<Vec<String>>);

/// mysql and postgresql share their rules.
fn db_rules(p: &mut Problems, name: &str, section: Option<DbSection>) {
    let Some((compress, all, databases)) = section else {
        p.add(name, format!("the {name} section is required"));
        return;
    };
    p.require(&compress, &format!("{name}/compress_mode"));
    let some = databases.as_ref().is_some_and(|d| !d.is_empty());
    if all && some {
        p.add(
            &format!("{name}/database"),
            format!("must not be given when {name}/all is Y"),
        );
    } else if !all && !some {
        p.add(
            &format!("{name}/database"),
            format!("at least one is required unless {name}/all is Y"),
        );
    }
}

/// Rules shared by subversion repositories and mbox files/dirs: a path, and
/// collect/compress modes from the item or its section.
#[allow(clippy::too_many_arguments)]
fn item_rules(
    p: &mut Problems,
    section: &str,
    path: &str,
    abs: &Option<String>,
    modes: (Option<CollectMode>, Option<CompressMode>),
    defaults: (Option<CollectMode>, Option<CompressMode>),
) {
    p.require(abs, &format!("{path}/abs_path"));
    if modes.0.is_none() && defaults.0.is_none() {
        p.add(
            &format!("{path}/collect_mode"),
            format!("is required unless {section}/collect_mode is set"),
        );
    }
    if modes.1.is_none() && defaults.1.is_none() {
        p.add(
            &format!("{path}/compress_mode"),
            format!("is required unless {section}/compress_mode is set"),
        );
    }
}

fn subversion_rules(p: &mut Problems, s: Option<&SubversionConfig>) {
    let Some(s) = s else {
        p.add("subversion", "the subversion section is required");
        return;
    };
    let defaults = (s.collect_mode, s.compress_mode);
    if s.repositories.as_ref().is_none_or(Vec::is_empty)
        && s.repository_dirs.as_ref().is_none_or(Vec::is_empty)
    {
        p.add(
            "subversion",
            "at least one repository or repository_dir is required",
        );
    }
    for (i, r) in s.repositories.iter().flatten().enumerate() {
        let path = format!("subversion/repository[{}]", i + 1);
        let modes = (r.collect_mode, r.compress_mode);
        item_rules(p, "subversion", &path, &r.repository_path, modes, defaults);
    }
    for (i, r) in s.repository_dirs.iter().flatten().enumerate() {
        let path = format!("subversion/repository_dir[{}]", i + 1);
        let modes = (r.collect_mode, r.compress_mode);
        item_rules(p, "subversion", &path, &r.directory_path, modes, defaults);
        p.patterns(&r.exclude_patterns, &format!("{path}/exclude/pattern"));
    }
}

fn mbox_rules(p: &mut Problems, s: Option<&MboxConfig>) {
    let Some(s) = s else {
        p.add("mbox", "the mbox section is required");
        return;
    };
    let defaults = (s.collect_mode, s.compress_mode);
    if s.mbox_files.as_ref().is_none_or(Vec::is_empty)
        && s.mbox_dirs.as_ref().is_none_or(Vec::is_empty)
    {
        p.add("mbox", "at least one file or dir is required");
    }
    for (i, f) in s.mbox_files.iter().flatten().enumerate() {
        let path = format!("mbox/file[{}]", i + 1);
        let modes = (f.collect_mode, f.compress_mode);
        item_rules(p, "mbox", &path, &f.absolute_path, modes, defaults);
    }
    for (i, d) in s.mbox_dirs.iter().flatten().enumerate() {
        let path = format!("mbox/dir[{}]", i + 1);
        let modes = (d.collect_mode, d.compress_mode);
        item_rules(p, "mbox", &path, &d.absolute_path, modes, defaults);
        p.patterns(&d.exclude_patterns, &format!("{path}/exclude/pattern"));
    }
}
