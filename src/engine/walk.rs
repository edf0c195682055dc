//! Cedar's directory walk (`FilesystemList._addDirContentsInternal`), which
//! decides what collect archives and what purge considers.
//!
//! Rules, as Cedar applies them:
//! - a directory is skipped when its path is an excluded absolute path, when
//!   an exclude pattern matches its whole path, or when it holds the ignore
//!   file;
//! - entries that `stat` as regular files (including symlinks to files) are
//!   added by path; a symlink is archived as a symlink;
//! - real subdirectories are walked; `link_depth` is the depth of the tree
//!   (not the number of links) down to which symlinked directories are
//!   followed, so every level down, real or linked, costs one;
//! - a symlinked directory that is not followed is added as the link itself;
//!   one that is followed without `dereference` is walked under the link's
//!   own path; with `dereference` its target is walked under the target path
//!   and the link itself is added too (likewise a symlinked file adds its
//!   target);
//! - anything else (fifos, sockets, devices, dangling links) is ignored.
//!
//! Beside its list, a walk records the directories it entered (the start
//! and every directory whose contents it took, each once): collect gives
//! each of them a directory member, so a restore gets their modes and
//! mtimes back. Cedar's lists hold no directories; these are kept apart
//! from the list ([`Walk::into_parts`]). A directory followed through a
//! symlink without `dereference` is recorded under the link's path (its
//! contents are listed there); with `dereference` under its target's path
//! (where its contents are listed), while the link itself stays in the list
//! as a symlink. A path that is in the list (a symlink, under collect rules)
//! is never also recorded as a directory.
//!
//! Differences from Cedar, on purpose: entries are visited in byte order
//! rather than `readdir` order (reproducible archives) unless a walk asks
//! for [`Order::Directory`] (where the order decides an outcome Cedar's
//! must match: `cback span`'s discs), and a path reached
//! twice (a dereferenced target inside the tree) is listed once, where
//! Cedar's non-incremental archives held it twice. An entry that vanishes
//! between listing and adding is skipped with a warning instead of aborting
//! the whole collect action.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;

use regex::Regex;

use crate::py::path::{join, normpath};

/// The order a walk visits a directory's entries in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By the bytes of their names: the same list on every filesystem, so
    /// archives are reproducible.
    #[default]
    Bytes,
    /// As the directory lists them (`readdir`), which is Cedar's
    /// `os.listdir` order on the same filesystem: for a result that must be
    /// Cedar's where the order decides it (`cback span`'s knapsack fits).
    Directory,
}

/// What a walk adds and what it leaves out.
#[derive(Debug, Default, Clone)]
pub struct WalkOptions {
    /// Absolute paths excluded by exact string comparison.
    pub exclude_paths: Vec<OsString>,
    /// Anchored patterns matched against whole paths.
    pub exclude_patterns: Vec<Regex>,
    /// A directory holding a file of this name is skipped entirely.
    pub ignore_file: Option<OsString>,
    /// Never add files.
    pub exclude_files: bool,
    /// Never add symlinks (to files or directories).
    pub exclude_links: bool,
    /// Collect semantics (`BackupFileList`): real directories are never
    /// listed, only walked. Otherwise (purge) they are listed too.
    pub backup: bool,
    /// Also list dangling symlinks (purge; Cedar never saw them).
    pub dangling_links: bool,
    /// The order entries are visited in.
    pub order: Order,
}

/// The result of a walk: paths in the order found, without duplicates.
#[derive(Debug, Default)]
pub struct Walk {
    opts: WalkOptions,
    items: Vec<OsString>,
    seen: HashSet<OsString>,
    entered: Vec<OsString>,
    entered_seen: HashSet<OsString>,
}

fn is_file(p: &OsStr) -> bool {
    fs::metadata(p).map(|m| m.is_file()).unwrap_or(false)
}
fn is_dir(p: &OsStr) -> bool {
    fs::metadata(p).map(|m| m.is_dir()).unwrap_or(false)
}
fn is_link(p: &OsStr) -> bool {
    fs::symlink_metadata(p)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

/// Cedar's `dereferenceLink`: one `readlink`; a relative target is made
/// absolute against the link's directory and normalized, an absolute one is
/// used as it is. A path that is not a link is returned unchanged.
pub fn dereference_link(path: &OsStr) -> OsString {
    match fs::read_link(path) {
        Ok(target) => {
            let target = target.into_os_string();
            if target.as_bytes().first() == Some(&b'/') {
                target
            } else {
                let p = std::path::Path::new(path);
                let dir = p.parent().map(|d| d.as_os_str()).unwrap_or(OsStr::new(""));
                let joined = join(dir, &target);
                let abs = if joined.as_bytes().first() == Some(&b'/') {
                    joined
                } else {
                    let cwd = std::env::current_dir().unwrap_or_default();
                    join(cwd.as_os_str(), &joined)
                };
                normpath(&abs)
            }
        }
        Err(_) => path.to_os_string(),
    }
}

/// Cedar's `normalizeDir`: one trailing slash goes, except on `/` itself.
pub fn normalize_dir(path: &OsStr) -> OsString {
    let b = path.as_bytes();
    if b != b"/" && b.last() == Some(&b'/') {
        OsStr::from_bytes(&b[..b.len() - 1]).to_os_string()
    } else {
        path.to_os_string()
    }
}

impl Walk {
    /// An empty list with these rules.
    pub fn new(opts: WalkOptions) -> Self {
        Walk {
            opts,
            ..Default::default()
        }
    }

    /// Consumes the walk, returning its paths.
    pub fn into_items(self) -> Vec<OsString> {
        self.items
    }

    /// Consumes the walk, returning its paths and, under collect rules
    /// ([`WalkOptions::backup`]), the directories it entered that are not in
    /// the list (empty otherwise), both in the order found.
    pub fn into_parts(self) -> (Vec<OsString>, Vec<OsString>) {
        let seen = self.seen;
        let mut entered = self.entered;
        entered.retain(|d| !seen.contains(d));
        (self.items, entered)
    }

    fn excluded(&self, path: &OsStr) -> bool {
        if self.opts.exclude_paths.iter().any(|p| p == path) {
            log::debug!(
                "Path [{}] is excluded based on excludePaths.",
                path.to_string_lossy()
            );
            return true;
        }
        let s = path.to_string_lossy();
        if let Some(re) = self.opts.exclude_patterns.iter().find(|re| re.is_match(&s)) {
            log::debug!("Path [{s}] is excluded based on pattern [{}].", re.as_str());
            return true;
        }
        false
    }

    fn push(&mut self, path: OsString) -> usize {
        if self.seen.insert(path.clone()) {
            self.items.push(path);
            1
        } else {
            0
        }
    }

    /// `addFile`: a path that stats as a regular file. A path that is not
    /// (any more) a file is skipped with a warning.
    pub fn add_file(&mut self, path: &OsStr) -> usize {
        if !is_file(path) {
            log::warn!(
                "Path [{}] is not a file or does not exist on disk; skipped.",
                path.to_string_lossy()
            );
            return 0;
        }
        if (self.opts.exclude_links && is_link(path))
            || self.opts.exclude_files
            || self.excluded(path)
        {
            return 0;
        }
        self.push(path.to_os_string())
    }

    /// `addDir`: under collect rules only a symlinked directory is listed.
    fn add_dir(&mut self, path: &OsStr) -> usize {
        let path = normalize_dir(path);
        let link = is_link(&path);
        if self.opts.backup && !link {
            return 0;
        }
        if !is_dir(&path) {
            log::warn!(
                "Path [{}] is not a directory any more; skipped.",
                path.to_string_lossy()
            );
            return 0;
        }
        if (self.opts.exclude_links && link) || self.excluded(&path) {
            return 0;
        }
        self.push(path)
    }

    /// `addDirContents`: walks `path` (which must be a directory).
    pub fn add_dir_contents(
        &mut self,
        path: &OsStr,
        recursive: bool,
        add_self: bool,
        link_depth: i64,
        dereference: bool,
    ) -> std::io::Result<usize> {
        let path = normalize_dir(path);
        if !is_dir(&path) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "{} is not a directory or does not exist on disk",
                    path.to_string_lossy()
                ),
            ));
        }
        Ok(self.walk(&path, add_self, recursive, link_depth, dereference))
    }

    fn walk(
        &mut self,
        path: &OsStr,
        include_path: bool,
        recursive: bool,
        link_depth: i64,
        dereference: bool,
    ) -> usize {
        let mut added = 0;
        if !is_dir(path) || self.excluded(path) {
            return 0;
        }
        if let Some(ignore) = &self.opts.ignore_file {
            if fs::metadata(join(path, ignore)).is_ok() {
                log::debug!(
                    "Path [{}] is excluded based on ignore file.",
                    path.to_string_lossy()
                );
                return 0;
            }
        }
        if self.opts.backup && self.entered_seen.insert(path.to_os_string()) {
            self.entered.push(path.to_os_string());
        }
        if include_path {
            added += self.add_dir(path);
        }
        let mut names: Vec<OsString> = match fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect(),
            Err(e) => {
                log::warn!("Cannot list directory [{}]: {e}", path.to_string_lossy());
                return added;
            }
        };
        if self.opts.order == Order::Bytes {
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        }
        for name in names {
            let entry = join(path, &name);
            if is_file(&entry) {
                if link_depth > 0 && dereference {
                    let target = dereference_link(&entry);
                    if target != entry {
                        added += self.add_file(&target);
                    }
                }
                added += self.add_file(&entry);
            } else if is_dir(&entry) {
                if is_link(&entry) {
                    if recursive && link_depth > 0 {
                        if dereference {
                            let target = dereference_link(&entry);
                            if target != entry {
                                added += self.walk(
                                    &target,
                                    true,
                                    recursive,
                                    link_depth - 1,
                                    dereference,
                                );
                            }
                            added += self.add_dir(&entry);
                        } else {
                            added +=
                                self.walk(&entry, false, recursive, link_depth - 1, dereference);
                        }
                    } else {
                        added += self.add_dir(&entry);
                    }
                } else if recursive {
                    added += self.walk(&entry, true, recursive, link_depth - 1, dereference);
                } else {
                    added += self.add_dir(&entry);
                }
            } else if self.opts.dangling_links && is_link(&entry) && !self.excluded(&entry) {
                added += self.push(entry);
            }
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn dereference_resolves_one_level_like_cedar() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("f"), b"").unwrap();
        symlink("f", d.join("rel")).unwrap();
        symlink("/x/../y", d.join("abs")).unwrap();
        symlink("rel", d.join("chain")).unwrap();
        let p = |n: &str| d.join(n).into_os_string();
        assert_eq!(dereference_link(&p("rel")), p("f"));
        // absolute targets are used as they are, not normalized
        assert_eq!(dereference_link(&p("abs")), "/x/../y");
        // one readlink only: a chain stops at the next link
        assert_eq!(dereference_link(&p("chain")), p("rel"));
        assert_eq!(dereference_link(&p("f")), p("f"));
    }

    #[test]
    fn collect_walks_record_the_directories_they_enter() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["t/a/b", "t/ex", "t/ign", "t/empty", "o/in"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(d.join("t/a/b/f"), b"").unwrap();
        std::fs::write(d.join("t/ign/.cbignore"), b"").unwrap();
        symlink(d.join("o"), d.join("t/deref")).unwrap();
        symlink("a", d.join("t/follow")).unwrap();
        let p = |n: &str| d.join(n).into_os_string();
        let run = |link_depth: i64, dereference: bool| {
            let mut w = Walk::new(WalkOptions {
                exclude_paths: vec![p("t/ex")],
                ignore_file: Some(".cbignore".into()),
                backup: true,
                ..Default::default()
            });
            w.add_dir_contents(&p("t"), true, true, link_depth, dereference)
                .unwrap();
            let (items, mut dirs) = w.into_parts();
            dirs.sort();
            (items, dirs)
        };
        // Links not followed: listed as links, no directory of their own.
        let (items, dirs) = run(0, false);
        assert!(items.contains(&p("t/deref")) && items.contains(&p("t/follow")));
        assert_eq!(dirs, [p("t"), p("t/a"), p("t/a/b"), p("t/empty")]);
        // Followed without dereference: walked (and recorded) under the
        // link's path, the link itself not listed.
        let (items, dirs) = run(1, false);
        assert!(!items.contains(&p("t/follow")));
        assert!(dirs.contains(&p("t/follow")) && dirs.contains(&p("t/deref")));
        assert!(dirs.contains(&p("t/follow/b")), "real subdirectories below");
        // Dereferenced: the target recorded under its own path, the link
        // listed as a link and not recorded.
        let (items, dirs) = run(2, true);
        assert!(items.contains(&p("t/deref")));
        assert!(dirs.contains(&p("o")) && dirs.contains(&p("o/in")));
        assert!(!dirs.contains(&p("t/deref")));
        assert!(!dirs.contains(&p("t/ex")) && !dirs.contains(&p("t/ign")));
        // Other walks record nothing.
        let mut w = Walk::new(WalkOptions::default());
        w.add_dir_contents(&p("t"), true, true, 0, false).unwrap();
        assert!(w.into_parts().1.is_empty());
    }

    #[test]
    fn entries_in_byte_order_or_in_the_directory_own() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for n in ["m", "b", "z", "a", "q", "c", "y", "k"] {
            std::fs::write(d.join(n), b"").unwrap();
        }
        let list = |order| {
            let mut w = Walk::new(WalkOptions {
                order,
                ..WalkOptions::default()
            });
            w.add_dir_contents(d.as_os_str(), true, false, 0, false)
                .unwrap();
            w.into_items()
        };
        let listed: Vec<OsString> = fs::read_dir(d)
            .unwrap()
            .map(|e| join(d.as_os_str(), &e.unwrap().file_name()))
            .collect();
        assert_eq!(list(Order::Directory), listed);
        let mut sorted = listed;
        sorted.sort();
        assert_eq!(list(Order::Bytes), sorted);
    }

    #[test]
    fn normalize_dir_drops_one_trailing_slash() {
        assert_eq!(normalize_dir(OsStr::new("/a/")), "/a");
        assert_eq!(normalize_dir(OsStr::new("/a//")), "/a/");
        assert_eq!(normalize_dir(OsStr::new("/")), "/");
    }
}
