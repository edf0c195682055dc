//! Small helpers the actions use to read the config the way Cedar's actions
//! do (defaults taken from the enclosing section or from `<options>`).

use std::collections::HashMap;

use super::model::*;

impl MediaType {
    /// The name used in the config file, e.g. `cdrw-74`.
    pub fn name(self) -> &'static str {
        match self {
            MediaType::Cdr74 => "cdr-74",
            MediaType::Cdrw74 => "cdrw-74",
            MediaType::Cdr80 => "cdr-80",
            MediaType::Cdrw80 => "cdrw-80",
            MediaType::DvdPlusR => "dvd+r",
            MediaType::DvdPlusRw => "dvd+rw",
        }
    }

    /// True for dvd+r and dvd+rw.
    pub fn is_dvd(self) -> bool {
        matches!(self, MediaType::DvdPlusR | MediaType::DvdPlusRw)
    }

    /// True for media that can be blanked (cdrw-74, cdrw-80, dvd+rw).
    pub fn is_rewritable(self) -> bool {
        matches!(
            self,
            MediaType::Cdrw74 | MediaType::Cdrw80 | MediaType::DvdPlusRw
        )
    }
}

impl StoreConfig {
    /// The device type, `cdwriter` when absent (Cedar's DEFAULT_DEVICE_TYPE).
    pub fn effective_device_type(&self) -> DeviceType {
        self.device_type.unwrap_or(DeviceType::Cdwriter)
    }
}

impl StageConfig {
    /// Cedar's `hasPeers`: at least one local or remote peer is listed here.
    pub fn has_peers(&self) -> bool {
        self.local_peers.as_ref().is_some_and(|l| !l.is_empty())
            || self.remote_peers.as_ref().is_some_and(|l| !l.is_empty())
    }
}

impl PeersConfig {
    /// At least one local or remote peer is listed.
    pub fn has_peers(&self) -> bool {
        self.local_peers.as_ref().is_some_and(|l| !l.is_empty())
            || self.remote_peers.as_ref().is_some_and(|l| !l.is_empty())
    }
}

impl Config {
    /// Whether stage takes its peers from `<stage>` (when it lists any) rather
    /// than from `<peers>`.
    fn stage_lists_peers(&self) -> bool {
        self.stage.as_ref().is_some_and(StageConfig::has_peers)
    }

    /// The local peers stage uses: `<stage>`'s when it lists any peer,
    /// otherwise `<peers>`'s.
    pub fn stage_local_peers(&self) -> &[LocalPeer] {
        let list = if self.stage_lists_peers() {
            self.stage.as_ref().and_then(|s| s.local_peers.as_ref())
        } else {
            self.peers.as_ref().and_then(|p| p.local_peers.as_ref())
        };
        list.map_or(&[], Vec::as_slice)
    }

    /// The remote peers stage uses (same rule as [`Config::stage_local_peers`]).
    pub fn stage_remote_peers(&self) -> &[RemotePeer] {
        let list = if self.stage_lists_peers() {
            self.stage.as_ref().and_then(|s| s.remote_peers.as_ref())
        } else {
            self.peers.as_ref().and_then(|p| p.remote_peers.as_ref())
        };
        list.map_or(&[], Vec::as_slice)
    }

    /// All remote peers marked managed, from `<peers>` (Cedar's managed
    /// actions read only `<peers>`, never `<stage>`).
    pub fn managed_peers(&self) -> Vec<&RemotePeer> {
        self.peers
            .iter()
            .flat_map(|p| p.remote_peers.iter().flatten())
            .filter(|p| p.managed)
            .collect()
    }

    fn option_str(&self, f: impl Fn(&OptionsConfig) -> &Option<String>) -> Option<&str> {
        self.options.as_ref().and_then(|o| f(o).as_deref())
    }

    /// The user on a remote peer: its own `backup_user`, else options'.
    pub fn remote_user<'a>(&'a self, peer: &'a RemotePeer) -> Option<&'a str> {
        peer.remote_user
            .as_deref()
            .or_else(|| self.option_str(|o| &o.backup_user))
    }

    /// The copy command for a remote peer: its own, else options'.
    pub fn rcp_command<'a>(&'a self, peer: &'a RemotePeer) -> Option<&'a str> {
        peer.rcp_command
            .as_deref()
            .or_else(|| self.option_str(|o| &o.rcp_command))
    }

    /// The remote shell command for a remote peer: its own, else options'.
    pub fn rsh_command<'a>(&'a self, peer: &'a RemotePeer) -> Option<&'a str> {
        peer.rsh_command
            .as_deref()
            .or_else(|| self.option_str(|o| &o.rsh_command))
    }

    /// The cback command for a remote peer: its own, else options'.
    pub fn cback_command<'a>(&'a self, peer: &'a RemotePeer) -> Option<&'a str> {
        peer.cback_command
            .as_deref()
            .or_else(|| self.option_str(|o| &o.cback_command))
    }

    /// The actions run on a managed peer: its own non-empty list, else
    /// options'.
    pub fn managed_actions<'a>(&'a self, peer: &'a RemotePeer) -> &'a [String] {
        match &peer.managed_actions {
            Some(l) if !l.is_empty() => l,
            _ => self
                .options
                .as_ref()
                .and_then(|o| o.managed_actions.as_deref())
                .unwrap_or(&[]),
        }
    }
}

impl OptionsConfig {
    /// `<override>`s as command -> absolute path (a later override of the
    /// same command wins).
    pub fn overrides_map(&self) -> HashMap<String, String> {
        self.overrides
            .iter()
            .filter_map(|o| Some((o.command.clone()?, o.absolute_path.clone()?)))
            .collect()
    }

    /// The hooks of one kind for an action, in document order.
    pub fn hooks_for<'a>(
        &'a self,
        action: &'a str,
        kind: HookKind,
    ) -> impl Iterator<Item = &'a ActionHook> + 'a {
        self.hooks
            .iter()
            .filter(move |h| h.kind == kind && h.action.as_deref() == Some(action))
    }
}

impl CollectFile {
    /// Collect mode: the file's, else the section's.
    pub fn effective_collect_mode(&self, collect: &CollectConfig) -> Option<CollectMode> {
        self.collect_mode.or(collect.collect_mode)
    }

    /// Archive mode: the file's, else the section's.
    pub fn effective_archive_mode(&self, collect: &CollectConfig) -> Option<ArchiveMode> {
        self.archive_mode.or(collect.archive_mode)
    }
}

impl CollectDir {
    /// Collect mode: the directory's, else the section's.
    pub fn effective_collect_mode(&self, collect: &CollectConfig) -> Option<CollectMode> {
        self.collect_mode.or(collect.collect_mode)
    }

    /// Archive mode: the directory's, else the section's.
    pub fn effective_archive_mode(&self, collect: &CollectConfig) -> Option<ArchiveMode> {
        self.archive_mode.or(collect.archive_mode)
    }

    /// Ignore file name: the directory's, else the section's.
    pub fn effective_ignore_file<'a>(&'a self, collect: &'a CollectConfig) -> Option<&'a str> {
        self.ignore_file
            .as_deref()
            .or(collect.ignore_file.as_deref())
    }

    /// Link depth, 0 when absent.
    pub fn effective_link_depth(&self) -> i64 {
        self.link_depth.unwrap_or(0)
    }

    /// Recursion level, 0 when absent (negative means unlimited).
    pub fn effective_recursion_level(&self) -> i64 {
        self.recursion_level.unwrap_or(0)
    }

    /// Cedar's `_getExclusions`: (absolute paths, patterns). Paths are the
    /// section's and the directory's absolute excludes, then each relative
    /// exclude joined to the directory; patterns are the section's then the
    /// directory's.
    pub fn exclusions(&self, collect: &CollectConfig) -> (Vec<String>, Vec<String>) {
        let mut paths: Vec<String> = collect
            .absolute_exclude_paths
            .iter()
            .flatten()
            .cloned()
            .collect();
        paths.extend(self.absolute_exclude_paths.iter().flatten().cloned());
        let base = self.absolute_path.as_deref().unwrap_or("");
        for rel in self.relative_exclude_paths.iter().flatten() {
            paths.push(crate::py::path::join_str(base, rel));
        }
        let mut patterns: Vec<String> =
            collect.exclude_patterns.iter().flatten().cloned().collect();
        patterns.extend(self.exclude_patterns.iter().flatten().cloned());
        (paths, patterns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_peers_win_when_present() {
        let local = |n: &str| LocalPeer {
            name: Some(n.into()),
            ..Default::default()
        };
        let mut c = Config {
            peers: Some(PeersConfig {
                local_peers: Some(vec![local("global")]),
                remote_peers: None,
            }),
            stage: Some(StageConfig::default()),
            ..Default::default()
        };
        assert_eq!(c.stage_local_peers()[0].name.as_deref(), Some("global"));
        c.stage.as_mut().unwrap().remote_peers = Some(vec![RemotePeer::default()]);
        assert!(
            c.stage_local_peers().is_empty(),
            "stage lists peers, so <peers> is ignored"
        );
        assert_eq!(c.stage_remote_peers().len(), 1);
    }

    #[test]
    fn remote_defaults_come_from_options() {
        let c = Config {
            options: Some(OptionsConfig {
                backup_user: Some("backup".into()),
                rcp_command: Some("/usr/bin/scp".into()),
                managed_actions: Some(vec!["collect".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut peer = RemotePeer::default();
        assert_eq!(c.remote_user(&peer), Some("backup"));
        assert_eq!(c.rcp_command(&peer), Some("/usr/bin/scp"));
        assert_eq!(c.rsh_command(&peer), None);
        assert_eq!(c.managed_actions(&peer), ["collect".to_string()]);
        peer.remote_user = Some("me".into());
        peer.managed_actions = Some(vec!["purge".into()]);
        assert_eq!(c.remote_user(&peer), Some("me"));
        assert_eq!(c.managed_actions(&peer), ["purge".to_string()]);
    }

    #[test]
    fn collect_item_defaults_and_exclusions() {
        let collect = CollectConfig {
            collect_mode: Some(CollectMode::Daily),
            archive_mode: Some(ArchiveMode::Targz),
            ignore_file: Some(".ignore".into()),
            absolute_exclude_paths: Some(vec!["/x".into()]),
            exclude_patterns: Some(vec![".*\\.tmp".into()]),
            ..Default::default()
        };
        let dir = CollectDir {
            absolute_path: Some("/etc".into()),
            collect_mode: Some(CollectMode::Incr),
            relative_exclude_paths: Some(vec!["ssl".into()]),
            exclude_patterns: Some(vec!["a".into()]),
            ..Default::default()
        };
        assert_eq!(
            dir.effective_collect_mode(&collect),
            Some(CollectMode::Incr)
        );
        assert_eq!(
            dir.effective_archive_mode(&collect),
            Some(ArchiveMode::Targz)
        );
        assert_eq!(dir.effective_ignore_file(&collect), Some(".ignore"));
        assert_eq!(dir.effective_link_depth(), 0);
        let (paths, patterns) = dir.exclusions(&collect);
        assert_eq!(paths, ["/x", "/etc/ssl"]);
        assert_eq!(patterns, [".*\\.tmp", "a"]);
    }

    #[test]
    fn overrides_and_hooks() {
        let o = OptionsConfig {
            overrides: vec![
                CommandOverride {
                    command: Some("cdrecord".into()),
                    absolute_path: Some("/a".into()),
                },
                CommandOverride {
                    command: Some("cdrecord".into()),
                    absolute_path: Some("/b".into()),
                },
            ],
            hooks: vec![
                ActionHook {
                    kind: HookKind::Pre,
                    action: Some("collect".into()),
                    command: Some("x".into()),
                },
                ActionHook {
                    kind: HookKind::Post,
                    action: Some("collect".into()),
                    command: Some("y".into()),
                },
            ],
            ..Default::default()
        };
        assert_eq!(o.overrides_map()["cdrecord"], "/b");
        let pre: Vec<_> = o.hooks_for("collect", HookKind::Pre).collect();
        assert_eq!(pre.len(), 1);
        assert_eq!(pre[0].command.as_deref(), Some("x"));
        assert_eq!(o.hooks_for("stage", HookKind::Pre).count(), 0);
    }
}
