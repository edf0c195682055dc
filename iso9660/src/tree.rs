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
    /// A host file, opened only while its data is written; it must then be
    /// a regular file reached without following a symlink
    /// ([`open_regular`](crate::open_regular)).
    Path(PathBuf),
    /// A host file as [`Tree::add_graft`] scanned it: at write time it must
    /// still be that same regular file (device and inode), or writing stops
    /// with [`Error::SourceChanged`](crate::Error::SourceChanged).
    Scanned {
        /// The host path.
        path: PathBuf,
        /// Device and inode at scan time.
        id: crate::FileId,
    },
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
            FileData::Scanned { path, id } => f
                .debug_struct("Scanned")
                .field("path", path)
                .field("id", id)
                .finish(),
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
    /// Carried over from an earlier session and not yet touched by new
    /// content: new content at its path replaces it.
    pub(crate) imported: bool,
}

impl Node {
    /// Whether the node was carried over from an earlier session
    /// ([`Tree::import_session`]) and not replaced since: true of an old
    /// entry new content left alone, false of new content and of a
    /// directory new content went into.
    pub fn is_imported(&self) -> bool {
        self.imported
    }
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
    /// Nodes some hard link points at.
    pub(crate) link_targets: std::collections::HashSet<NodeId>,
}

/// Longest name of one entry: what Rock Ridge readers (Linux, libisofs,
/// libarchive) and POSIX file systems accept.
pub const MAX_NAME: usize = 255;

/// Why `name` cannot be one path component, if it cannot.
pub(crate) fn name_problem(name: &[u8]) -> Option<String> {
    if name.is_empty() {
        Some("the name is empty".into())
    } else if name == b"." || name == b".." {
        Some(format!("the name is {:?}", String::from_utf8_lossy(name)))
    } else if name.contains(&b'/') {
        Some("the name contains '/'".into())
    } else if name.contains(&0) {
        Some("the name contains a NUL byte".into())
    } else if name.len() > MAX_NAME {
        Some(format!(
            "the name is {} bytes long, more than {MAX_NAME}",
            name.len()
        ))
    } else {
        None
    }
}

/// Why a node of `kind` cannot be recorded, if it cannot.
pub(crate) fn kind_problem(kind: &NodeKind) -> Option<String> {
    match kind {
        NodeKind::Symlink(t) if t.is_empty() => Some("the symlink target is empty".into()),
        NodeKind::Symlink(t) if t.contains(&0) => {
            Some("the symlink target contains a NUL byte".into())
        }
        NodeKind::Device {
            major: 0, minor, ..
        } if *minor > 255 => Some(format!(
            "device 0:{minor} cannot be recorded: Rock Ridge readers (the Linux kernel) take a PN with high word 0 as an old 16-bit number, so major 0 \
             allows minors up to 255 only"
        )),
        _ => None,
    }
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
                imported: false,
            }],
            implied_dir,
            skipped: Vec::new(),
            host_links: Default::default(),
            link_targets: Default::default(),
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

    /// Adds a member to directory `parent`. Fails if the name is not a valid
    /// single path component (see [`MAX_NAME`]), if a symlink target is
    /// empty or holds a NUL byte, if a device number cannot be recorded, if
    /// a hard link does not point at a regular file, or if the name is
    /// already taken by new content.
    ///
    /// A name taken by an entry of an imported session
    /// ([`Tree::import_session`]) is replaced, as `mkisofs -M` does: a new
    /// directory merges with the old one (the old members stay unless
    /// replaced in turn) and takes the new metadata; anything else takes the
    /// old entry's place, whose data is then no longer referenced (other
    /// hard links to it keep it).
    pub fn insert(
        &mut self,
        parent: NodeId,
        name: &[u8],
        meta: Metadata,
        kind: NodeKind,
    ) -> Result<NodeId> {
        let id = match self.child(parent, name) {
            Some(old) if self.nodes[old.index()].imported => {
                self.check_new(name, &kind)?;
                self.replace(old, meta, kind)
            }
            _ => self.insert_node(parent, name, meta, kind, false)?,
        };
        self.mark_new(id);
        Ok(id)
    }

    fn check_new(&self, name: &[u8], kind: &NodeKind) -> Result<()> {
        if let Some(why) = name_problem(name) {
            return Err(Error::invalid(
                "name",
                format!("{:?}: {why}", String::from_utf8_lossy(name)),
            ));
        }
        if let Some(why) = kind_problem(kind) {
            return Err(Error::invalid(
                "entry",
                format!("{:?}: {why}", String::from_utf8_lossy(name)),
            ));
        }
        if let NodeKind::HardLink(target) = kind {
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
        Ok(())
    }

    /// Adds a new node; `imported` marks entries of an earlier session.
    pub(crate) fn insert_node(
        &mut self,
        parent: NodeId,
        name: &[u8],
        meta: Metadata,
        kind: NodeKind,
        imported: bool,
    ) -> Result<NodeId> {
        self.check_new(name, &kind)?;
        let id = NodeId(
            u32::try_from(self.nodes.len()).map_err(|_| Error::Limit("too many nodes".into()))?,
        );
        match &mut self.nodes[parent.index()].kind {
            NodeKind::Directory(m) => {
                if m.contains_key(name) {
                    let path = self.path_of(parent);
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
            _ => {
                let path = self.path_of(parent);
                return Err(Error::invalid("path", format!("{path} is not a directory")));
            }
        }
        if let NodeKind::HardLink(t) = &kind {
            self.link_targets.insert(*t);
        }
        self.nodes.push(Node {
            name: name.to_vec(),
            parent,
            meta: Metadata {
                mode: meta.mode & 0o7777,
                ..meta
            },
            kind,
            imported,
        });
        Ok(id)
    }

    /// Puts new content in the place of imported node `old` (see
    /// [`Tree::insert`]).
    fn replace(&mut self, old: NodeId, meta: Metadata, kind: NodeKind) -> NodeId {
        let meta = Metadata {
            mode: meta.mode & 0o7777,
            ..meta
        };
        let both_dirs = matches!(kind, NodeKind::Directory(_))
            && matches!(self.nodes[old.index()].kind, NodeKind::Directory(_));
        if both_dirs {
            self.nodes[old.index()].meta = meta;
            return old;
        }
        if self.link_targets.remove(&old) {
            self.hand_over_links(old);
        }
        if let NodeKind::HardLink(t) = &kind {
            self.link_targets.insert(*t);
        }
        // A replaced directory's members become unreachable; the planner
        // only looks at what the root reaches.
        let node = &mut self.nodes[old.index()];
        node.meta = meta;
        node.kind = kind;
        old
    }

    /// Before file node `old` is replaced: the first other hard link to it
    /// takes its data, and the remaining links point there.
    fn hand_over_links(&mut self, old: NodeId) {
        let links: Vec<NodeId> = (0..self.nodes.len())
            .map(|i| NodeId(i as u32))
            .filter(|&i| matches!(self.nodes[i.index()].kind, NodeKind::HardLink(t) if t == old))
            .collect();
        let Some((&heir, rest)) = links.split_first() else {
            return;
        };
        let data = std::mem::replace(&mut self.nodes[old.index()].kind, NodeKind::Fifo);
        self.nodes[heir.index()].kind = data;
        for &l in rest {
            self.nodes[l.index()].kind = NodeKind::HardLink(heir);
        }
        if !rest.is_empty() {
            self.link_targets.insert(heir);
        }
    }

    /// New content now lives at `id`: it and the directories above it are
    /// no longer replaceable imports.
    pub(crate) fn mark_new(&mut self, mut id: NodeId) {
        while self.nodes[id.index()].imported {
            self.nodes[id.index()].imported = false;
            id = self.nodes[id.index()].parent;
        }
    }

    /// Returns the directory at slash-separated `path`, creating missing
    /// directories with the tree's implied metadata. An imported entry that
    /// is not a directory is replaced by one (see [`Tree::insert`]).
    pub fn mkdir_p(&mut self, path: &[u8]) -> Result<NodeId> {
        let mut cur = self.root();
        for comp in path
            .split(|&c| c == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
        {
            cur = match self.child(cur, comp) {
                Some(id) if matches!(self.node(id).kind, NodeKind::Directory(_)) => id,
                Some(id) if !self.node(id).imported => {
                    return Err(Error::invalid(
                        "path",
                        format!("{} is not a directory", String::from_utf8_lossy(path)),
                    ))
                }
                _ => {
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
        let kind = NodeKind::File { data, size };
        let (parent, name) = self.parent_for(path, &kind)?;
        self.insert(parent, &name, meta, kind)
    }

    /// Adds an entry of any kind at slash-separated `path` (parents are
    /// created).
    pub fn add(&mut self, path: &[u8], meta: Metadata, kind: NodeKind) -> Result<NodeId> {
        let (parent, name) = self.parent_for(path, &kind)?;
        self.insert(parent, &name, meta, kind)
    }

    /// The parent directory (created when missing) and name of `path`,
    /// once `kind` is known to be valid there, so that a refused entry
    /// leaves no directories behind.
    fn parent_for(&mut self, path: &[u8], kind: &NodeKind) -> Result<(NodeId, Vec<u8>)> {
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
        self.check_new(name, kind)?;
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
