//! The input model: a tree of entries with POSIX metadata, independent of
//! where the data comes from.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Index of a node in a [`Tree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// POSIX metadata of one entry. Times are seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Metadata {
    /// Permission bits including setuid, setgid and sticky (`0o7777`); the
    /// file type comes from the node's kind.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time.
    pub mtime: i64,
    /// Access time.
    pub atime: i64,
    /// Status change time.
    pub ctime: i64,
}

impl Metadata {
    /// Metadata with the same time for all three timestamps.
    pub fn new(mode: u32, uid: u32, gid: u32, time: i64) -> Self {
        Metadata {
            mode: mode & 0o7777,
            uid,
            gid,
            mtime: time,
            atime: time,
            ctime: time,
        }
    }
}

/// Where a regular file's bytes come from when the image is written.
pub enum FileData {
    /// A host file, opened only while its data is written.
    Path(PathBuf),
    /// Bytes held in memory.
    Bytes(Vec<u8>),
    /// A reader that yields the file's bytes once; a second write of the
    /// same layout fails with [`Error::SourceConsumed`].
    Reader(Option<Box<dyn Read + Send>>),
    /// Data already recorded before this session (an earlier session of a
    /// multisession disc), as absolute (block, bytes) extents in order, e.g.
    /// [`Entry::extents`](crate::Entry::extents) from the [`Reader`](crate::Reader).
    /// The records point at it; nothing is written.
    Extents(Vec<(u32, u32)>),
}

impl fmt::Debug for FileData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileData::Path(p) => f.debug_tuple("Path").field(p).finish(),
            FileData::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            FileData::Reader(r) => write!(
                f,
                "Reader({})",
                if r.is_some() { "ready" } else { "consumed" }
            ),
            FileData::Extents(e) => f.debug_tuple("Extents").field(e).finish(),
        }
    }
}

/// Kind of device special file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// Character device.
    Char,
    /// Block device.
    Block,
}

/// What a node is.
#[derive(Debug)]
pub enum NodeKind {
    /// A directory; members are kept sorted by name for deterministic output.
    Directory(BTreeMap<Vec<u8>, NodeId>),
    /// A regular file of `size` bytes.
    File {
        /// Where the data comes from.
        data: FileData,
        /// Size in bytes, fixed when the node is added.
        size: u64,
    },
    /// Another name for an existing regular file node (a hard link).
    HardLink(NodeId),
    /// A symbolic link.
    Symlink(Vec<u8>),
    /// A device node.
    Device {
        /// Character or block.
        kind: DeviceKind,
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
}

impl NodeKind {
    /// The `S_IFMT` bits for this kind.
    pub fn type_bits(&self) -> u32 {
        match self {
            NodeKind::Directory(_) => 0o040000,
            NodeKind::File { .. } | NodeKind::HardLink(_) => 0o100000,
            NodeKind::Symlink(_) => 0o120000,
            NodeKind::Device {
                kind: DeviceKind::Char,
                ..
            } => 0o020000,
            NodeKind::Device {
                kind: DeviceKind::Block,
                ..
            } => 0o060000,
            NodeKind::Fifo => 0o010000,
        }
    }
}

/// One entry of the tree.
#[derive(Debug)]
pub struct Node {
    /// Name within the parent (empty for the root).
    pub name: Vec<u8>,
    /// The parent directory (the root is its own parent).
    pub parent: NodeId,
    /// Metadata.
    pub meta: Metadata,
    /// Kind and contents.
    pub kind: NodeKind,
}

/// A tree of entries to be laid out as a volume, built node by node or from
/// host paths (see [`Tree::add_graft`]).
#[derive(Debug)]
pub struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// Metadata for directories the tree has to invent (graft-point parents).
    pub(crate) implied_dir: Metadata,
    pub(crate) skipped: Vec<PathBuf>,
    /// Host (device, inode) of hard-linked files already added, so that
    /// links are found across graft points.
    pub(crate) host_links: std::collections::HashMap<(u64, u64), NodeId>,
}

fn bad_name(name: &[u8]) -> bool {
    name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
}

impl Tree {
    /// An empty tree whose root and invented directories get `implied_dir`.
    pub fn new(implied_dir: Metadata) -> Tree {
        Tree {
            nodes: vec![Node {
                name: Vec::new(),
                parent: NodeId(0),
                meta: implied_dir,
                kind: NodeKind::Directory(BTreeMap::new()),
            }],
            implied_dir,
            skipped: Vec::new(),
            host_links: Default::default(),
        }
    }

    /// The root directory.
    pub fn root(&self) -> NodeId {
        NodeId(0)
    }

    /// Number of nodes, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the tree holds only its root.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
    }

    /// The node behind an id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// Mutable access to a node's metadata.
    pub fn meta_mut(&mut self, id: NodeId) -> &mut Metadata {
        &mut self.nodes[id.index()].meta
    }

    /// Host paths that were not added because the format cannot hold them
    /// (sockets).
    pub fn skipped(&self) -> &[PathBuf] {
        &self.skipped
    }

    /// Members of a directory, sorted by name; empty for other nodes.
    pub fn children(&self, id: NodeId) -> impl Iterator<Item = (&[u8], NodeId)> {
        let map = match &self.nodes[id.index()].kind {
            NodeKind::Directory(m) => Some(m),
            _ => None,
        };
        map.into_iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k.as_slice(), *v)))
    }

    /// Looks a member up by name.
    pub fn child(&self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        match &self.nodes[dir.index()].kind {
            NodeKind::Directory(m) => m.get(name).copied(),
            _ => None,
        }
    }

    /// The slash-separated path of a node inside the image, for messages.
    pub fn path_of(&self, mut id: NodeId) -> String {
        let mut parts = Vec::new();
        while id != self.root() {
            let n = self.node(id);
            parts.push(String::from_utf8_lossy(&n.name).into_owned());
            id = n.parent;
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    /// Adds a member to directory `parent`. Fails if the name is taken or is
    /// not a valid single path component, or if a hard link does not point
    /// at a regular file.
    pub fn insert(
        &mut self,
        parent: NodeId,
        name: &[u8],
        meta: Metadata,
        kind: NodeKind,
    ) -> Result<NodeId> {
        if bad_name(name) {
            return Err(Error::invalid(
                "name",
                format!(
                    "{:?} is not a path component",
                    String::from_utf8_lossy(name)
                ),
            ));
        }
        if let NodeKind::HardLink(target) = &kind {
            let ok = self
                .nodes
                .get(target.index())
                .is_some_and(|n| matches!(n.kind, NodeKind::File { .. }));
            if !ok {
                return Err(Error::invalid(
                    "hard link",
                    "target is not a regular file node",
                ));
            }
        }
        let id = NodeId(
            u32::try_from(self.nodes.len()).map_err(|_| Error::Limit("too many nodes".into()))?,
        );
        let path = self.path_of(parent);
        match &mut self.nodes[parent.index()].kind {
            NodeKind::Directory(m) => {
                if m.contains_key(name) {
                    return Err(Error::invalid(
                        "path",
                        format!(
                            "{}/{} is added twice",
                            path.trim_end_matches('/'),
                            String::from_utf8_lossy(name)
                        ),
                    ));
                }
                m.insert(name.to_vec(), id);
            }
            _ => return Err(Error::invalid("path", format!("{path} is not a directory"))),
        }
        self.nodes.push(Node {
            name: name.to_vec(),
            parent,
            meta: Metadata {
                mode: meta.mode & 0o7777,
                ..meta
            },
            kind,
        });
        Ok(id)
    }

    /// Returns the directory at slash-separated `path`, creating missing
    /// directories with the tree's implied metadata.
    pub fn mkdir_p(&mut self, path: &[u8]) -> Result<NodeId> {
        let mut cur = self.root();
        for comp in path
            .split(|&c| c == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
        {
            cur = match self.child(cur, comp) {
                Some(id) if matches!(self.node(id).kind, NodeKind::Directory(_)) => id,
                Some(_) => {
                    return Err(Error::invalid(
                        "path",
                        format!("{} is not a directory", String::from_utf8_lossy(path)),
                    ))
                }
                None => {
                    let meta = self.implied_dir;
                    self.insert(cur, comp, meta, NodeKind::Directory(BTreeMap::new()))?
                }
            };
        }
        Ok(cur)
    }

    /// Adds a regular file at slash-separated `path` (parents are created).
    pub fn add_file(
        &mut self,
        path: &[u8],
        meta: Metadata,
        data: FileData,
        size: u64,
    ) -> Result<NodeId> {
        let (parent, name) = self.parent_for(path)?;
        self.insert(parent, &name, meta, NodeKind::File { data, size })
    }

    /// Adds an entry of any kind at slash-separated `path` (parents are
    /// created).
    pub fn add(&mut self, path: &[u8], meta: Metadata, kind: NodeKind) -> Result<NodeId> {
        let (parent, name) = self.parent_for(path)?;
        self.insert(parent, &name, meta, kind)
    }

    fn parent_for(&mut self, path: &[u8]) -> Result<(NodeId, Vec<u8>)> {
        let trimmed: &[u8] = {
            let mut p = path;
            while p.last() == Some(&b'/') {
                p = &p[..p.len() - 1];
            }
            p
        };
        let (dir, name) = match trimmed.iter().rposition(|&c| c == b'/') {
            Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
            None => (&trimmed[..0], trimmed),
        };
        Ok((self.mkdir_p(dir)?, name.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_rejects_duplicates() {
        let mut t = Tree::new(Metadata::new(0o755, 0, 0, 0));
        let f = t
            .add_file(
                b"a/b/c.txt",
                Metadata::new(0o644, 1, 2, 3),
                FileData::Bytes(b"hi".to_vec()),
                2,
            )
            .unwrap();
        assert_eq!(t.path_of(f), "/a/b/c.txt");
        assert!(t
            .add_file(
                b"a/b/c.txt",
                Metadata::default(),
                FileData::Bytes(vec![]),
                0
            )
            .is_err());
        assert!(t
            .add(b"a/b/c.txt/x", Metadata::default(), NodeKind::Fifo)
            .is_err());
        assert!(t.add(b"a/..", Metadata::default(), NodeKind::Fifo).is_err());
        let dir = t.mkdir_p(b"a/b").unwrap();
        assert!(t
            .insert(dir, b"l", Metadata::default(), NodeKind::HardLink(dir))
            .is_err());
        t.insert(dir, b"l", Metadata::default(), NodeKind::HardLink(f))
            .unwrap();
        let names: Vec<_> = t.children(dir).map(|(n, _)| n.to_vec()).collect();
        assert_eq!(names, vec![b"c.txt".to_vec(), b"l".to_vec()]);
    }
}
