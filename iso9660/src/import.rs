//! Carrying an earlier session into a new one: every entry of the session a
//! [`Reader`] has open is added to a [`Tree`], files keeping their old
//! extents, so the new session's directories describe old and new data.
//!
//! The session may come from any disc, so it is read as hostile input: the
//! import goes directory by directory, entry by entry, each added under
//! its parent node by its name alone (a name is never taken for a path),
//! and everything it reads counts against the reader's [`Limits`].
//!
//! Memory: the import keeps one tree node per entry (about 350 bytes plus
//! twice its name, names being at most [`MAX_NAME`](crate::MAX_NAME)
//! bytes; measured: 409 bytes per entry, 2.2 times the directory bytes, for
//! 20,000 files with 40-byte names) and, while it runs, one pending record
//! per directory not yet listed. It reads each directory block and each
//! continuation area at most once (directories that share blocks and
//! records that share continuation areas are refused), so its time and
//! memory are linear in the session's directory and system use bytes,
//! and capped by [`Limits::max_entries`] and [`Limits::max_name_bytes`]:
//! under 450 MiB with the default limits, whatever the image.
//!
//! [`Limits`]: crate::Limits
//! [`Limits::max_name_bytes`]: crate::Limits::max_name_bytes
//! [`Limits::max_entries`]: crate::Limits::max_entries

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::read::{DirBlocks, Entry, EntryKind, Reader, SectorSource};
use crate::tree::{kind_problem, name_problem, DeviceKind, FileData, NodeId, NodeKind, Tree};

/// A file that hard links may point at: its node, extents and size.
struct Primary {
    node: NodeId,
    extents: Vec<(u32, u32)>,
    size: u64,
}

/// A name for a message: quoted, and cut short when it is long.
fn quoted(name: &[u8]) -> String {
    if name.len() <= 80 {
        return format!("{:?}", String::from_utf8_lossy(name));
    }
    format!(
        "{:?}... ({} bytes)",
        String::from_utf8_lossy(&name[..60]),
        name.len()
    )
}

/// A path for a message, cut short in the middle when it is long.
fn shown(path: &[u8]) -> String {
    if path.len() <= 200 {
        return String::from_utf8_lossy(path).into_owned();
    }
    format!(
        "{}/.../{}",
        String::from_utf8_lossy(&path[..80]),
        String::from_utf8_lossy(&path[path.len() - 80..])
    )
}

impl Tree {
    /// Adds every entry of the session `reader` has open, at the same
    /// places, and takes the old root's metadata. Regular files keep their
    /// extents ([`FileData::Extents`]); directories and everything else take
    /// the old metadata. Sockets are left out, as when scanning a host tree.
    ///
    /// Call it before adding new content. New content at a path the
    /// session already has replaces the old entry, as `mkisofs -M` does
    /// (see [`Tree::insert`]): a day stored again wins over its earlier
    /// copy.
    ///
    /// Hostile sessions are refused, never reinterpreted: an entry whose
    /// name is empty, `.` or `..`, holds `/` or NUL or is longer than
    /// [`MAX_NAME`](crate::MAX_NAME) bytes, a second entry of the same name in one
    /// directory, or a symlink whose target is empty or holds NUL fails the
    /// import with [`Error::Imported`], which names the entry and its
    /// record. Two files are one (hard links) only when their Rock Ridge
    /// serial numbers, extents and sizes all agree; files that share a
    /// serial but not their data stay separate files.
    pub fn import_session<S: SectorSource>(&mut self, reader: &mut Reader<S>) -> Result<()> {
        reader.begin();
        let max_depth = reader.limits().max_depth;
        let root_entry = reader.root();
        let root = self.root();
        self.nodes[root.index()].meta = root_entry.meta;
        self.nodes[root.index()].imported = true;
        let mut blocks = DirBlocks::new(reader.limits());
        blocks.claim(&root_entry)?;
        let mut links: HashMap<u32, Primary> = HashMap::new();
        let mut stack: Vec<(NodeId, Entry, usize)> = vec![(root, root_entry, 0)];
        while let Some((parent, dir, depth)) = stack.pop() {
            if depth >= max_depth {
                return Err(Error::malformed(
                    dir.at,
                    "directories nested deeper than the limit",
                ));
            }
            reader.list(&dir, &mut |mut entry| {
                let Some(id) = self.import_entry(parent, &entry, &mut links)? else {
                    return Ok(());
                };
                if entry.kind == EntryKind::Directory {
                    blocks.claim(&entry)?;
                    // The name is in the tree now; the pending directory
                    // needs only its extent.
                    entry.name = Vec::new();
                    entry.iso_name = Vec::new();
                    stack.push((id, entry, depth + 1));
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Adds one entry under `parent`; `None` when it is left out (a socket).
    fn import_entry(
        &mut self,
        parent: NodeId,
        e: &Entry,
        links: &mut HashMap<u32, Primary>,
    ) -> Result<Option<NodeId>> {
        let refuse = |tree: &Tree, why: String| Error::Imported {
            entry: format!(
                "{}/{}",
                shown(tree.path_of(parent).trim_end_matches('/').as_bytes()),
                quoted(&e.name)
            ),
            at: e.at,
            why,
        };
        if let Some(why) = name_problem(&e.name) {
            return Err(refuse(self, why));
        }
        if self.child(parent, &e.name).is_some() {
            return Err(refuse(
                self,
                "a second entry of this name in the same directory".into(),
            ));
        }
        let kind = match &e.kind {
            EntryKind::Directory => NodeKind::Directory(Default::default()),
            EntryKind::File => {
                let linked = e
                    .serial
                    .filter(|_| e.nlink > 1)
                    .and_then(|s| links.get(&s))
                    .filter(|p| p.extents == e.extents && p.size == e.size);
                match linked {
                    Some(p) => NodeKind::HardLink(p.node),
                    None => NodeKind::File {
                        data: FileData::Extents(if e.extents.is_empty() {
                            vec![(0, 0)]
                        } else {
                            e.extents.clone()
                        }),
                        size: e.size,
                    },
                }
            }
            EntryKind::Symlink(target) => NodeKind::Symlink(target.clone()),
            EntryKind::CharDevice { major, minor } => NodeKind::Device {
                kind: DeviceKind::Char,
                major: *major,
                minor: *minor,
            },
            EntryKind::BlockDevice { major, minor } => NodeKind::Device {
                kind: DeviceKind::Block,
                major: *major,
                minor: *minor,
            },
            EntryKind::Fifo => NodeKind::Fifo,
            // Sockets have no place in a new image either.
            EntryKind::Socket => return Ok(None),
        };
        if let Some(why) = kind_problem(&kind) {
            return Err(refuse(self, why));
        }
        let is_primary = matches!(kind, NodeKind::File { .. });
        let id = self
            .insert_node(parent, &e.name, e.meta, kind, true)
            .map_err(|err| refuse(self, err.to_string()))?;
        if let (true, Some(serial), true) = (is_primary, e.serial, e.nlink > 1) {
            links.entry(serial).or_insert_with(|| Primary {
                node: id,
                extents: e.extents.clone(),
                size: e.size,
            });
        }
        Ok(Some(id))
    }
}
