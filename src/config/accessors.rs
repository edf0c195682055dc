//! Small helpers on the raw model that checking uses (Cedar's
//! `hasPeers`, `_getExclusions`, the override map).

use std::collections::HashMap;

use super::model::*;

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

impl OptionsConfig {
    /// `<override>`s as command -> absolute path (a later override of the
    /// same command wins).
    pub fn overrides_map(&self) -> HashMap<String, String> {
        self.overrides
            .iter()
            .filter_map(|o| Some((o.command.clone()?, o.absolute_path.clone()?)))
            .collect()
    }
}

impl CollectDir {
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
    fn exclusions_join_relative_paths_to_the_directory() {
        let collect = CollectConfig {
            absolute_exclude_paths: Some(vec!["/x".into()]),
            exclude_patterns: Some(vec![".*\\.tmp".into()]),
            ..Default::default()
        };
        let dir = CollectDir {
            absolute_path: Some("/etc".into()),
            relative_exclude_paths: Some(vec!["ssl".into()]),
            exclude_patterns: Some(vec!["a".into()]),
            ..Default::default()
        };
        let (paths, patterns) = dir.exclusions(&collect);
        assert_eq!(paths, ["/x", "/etc/ssl"]);
        assert_eq!(patterns, [".*\\.tmp", "a"]);
    }

    #[test]
    fn later_overrides_win() {
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
            ..Default::default()
        };
        assert_eq!(o.overrides_map()["cdrecord"], "/b");
    }
}
