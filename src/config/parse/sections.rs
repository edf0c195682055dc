//! The core sections (`<reference>`, `<extensions>`, `<options>`, `<peers>`,
//! `<collect>`, `<stage>`, `<store>`, `<purge>`), as Cedar's `_parse*`
//! functions read them.

use super::{abs_paths, join, opt, patterns, texts, Field, PResult, Parser, BLANK_MODES};
use super::{FUNCTION_NAME, MODULE_NAME};
use crate::config::model::*;
use crate::config::xml::Element;

impl Parser {
    pub(super) fn reference(&mut self, r: &Element) -> Option<ReferenceConfig> {
        let s = self.section(r, "", "reference")?;
        let base = "reference";
        Some(ReferenceConfig {
            author: self.field(s, base, "author").map(Field::text),
            revision: self.field(s, base, "revision").map(Field::text),
            description: self.field(s, base, "description").map(Field::text),
            generator: self.field(s, base, "generator").map(Field::text),
        })
    }

    pub(super) fn extensions(&mut self, r: &Element) -> PResult<Option<ExtensionsConfig>> {
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

    pub(super) fn options(&mut self, r: &Element) -> PResult<Option<OptionsConfig>> {
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

    pub(super) fn peers(&mut self, r: &Element) -> PResult<Option<PeersConfig>> {
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

    pub(super) fn collect(&mut self, r: &Element) -> PResult<Option<CollectConfig>> {
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

    pub(super) fn stage(&mut self, r: &Element) -> PResult<Option<StageConfig>> {
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

    pub(super) fn store(&mut self, r: &Element) -> PResult<Option<StoreConfig>> {
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
        st.manifest = opt(self.field(s, b, "manifest"), Field::boolean)?;
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

    pub(super) fn purge(&mut self, r: &Element) -> PResult<Option<PurgeConfig>> {
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
}
