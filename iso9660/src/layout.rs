//! Planning: turns a [`Tree`] into a complete layout (every identifier,
//! record, continuation area and block address) before a byte is written, so
//! the image size is known up front and writing is one sequential pass.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::joliet::Joliet;
use crate::names::{ecma_cmp, mangle_siblings, Level};
use crate::record::{record_len, FileFlags};
use crate::susp::{nm_entries, rrip_er, sl_entries, split_entries, Entry, Times, CE_LEN};
use crate::tree::{FileData, Metadata, NodeId, NodeKind, Tree};
use crate::SECTOR_SIZE;

/// Largest section of a multi-extent file: the 32-bit size field rounded
/// down to whole blocks.
pub const MAX_EXTENT: u32 = 0xFFFF_F800;

/// ECMA-119 allows at most eight directory levels, the root included.
const MAX_LEVEL: u32 = 8;

/// How Rock Ridge metadata is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RockRidge {
    /// Owners, modes and times as given (`mkisofs -R`).
    Faithful,
    /// `mkisofs -r`: owners 0, everything readable, execute bits widened,
    /// write and set-id/sticky bits cleared.
    Rationalized,
}

/// Everything about the volume that is not the tree itself.
#[derive(Debug, Clone)]
pub struct Options {
    /// Interchange level for ISO names.
    pub level: Level,
    /// Rock Ridge mode, or `None` for a plain ISO9660 volume.
    pub rock_ridge: Option<RockRidge>,
    /// System identifier (up to 32 bytes).
    pub system_id: String,
    /// Volume identifier, the label (up to 32 bytes).
    pub volume_id: String,
    /// Volume set identifier (up to 128 bytes).
    pub volume_set_id: String,
    /// Publisher identifier (up to 128 bytes).
    pub publisher_id: String,
    /// Data preparer identifier (up to 128 bytes).
    pub preparer_id: String,
    /// Application identifier (up to 128 bytes).
    pub application_id: String,
    /// Volume creation/modification time, seconds since the Unix epoch. A
    /// fixed value (e.g. `SOURCE_DATE_EPOCH`) makes output reproducible.
    pub timestamp: i64,
    /// Absolute block at which this session starts; every address written
    /// is absolute. 0 for a single-session image.
    pub start_lba: u32,
    /// Largest extent of one file section; bigger files become multi-extent
    /// (level 3 only). A multiple of 2048; lowered only by tests.
    pub max_extent: u32,
    /// Also record a Joliet hierarchy (UCS-2 names) for readers without
    /// Rock Ridge.
    pub joliet: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            level: Level::One,
            rock_ridge: Some(RockRidge::Faithful),
            system_id: "LINUX".into(),
            volume_id: "CDROM".into(),
            volume_set_id: String::new(),
            publisher_id: String::new(),
            preparer_id: String::new(),
            application_id: "CEDAR ISO9660".into(),
            timestamp: 0,
            start_lba: 0,
            max_extent: MAX_EXTENT,
            joliet: false,
        }
    }
}

/// What a directory record stands for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MemberKind {
    /// A directory (index into the layout's directories).
    Dir(usize),
    /// A zero-length placeholder with CL for a relocated directory.
    Placeholder(usize),
    /// A regular file or hard link.
    File(NodeId),
    /// Symlink, device or fifo.
    Special(NodeId),
}

#[derive(Debug)]
pub(crate) struct Member {
    pub ident: Vec<u8>,
    pub kind: MemberKind,
}

#[derive(Debug)]
pub(crate) struct Dir {
    /// The tree node, or `None` for the relocation directory.
    pub node: Option<NodeId>,
    /// Parent in the ISO hierarchy.
    pub parent: usize,
    /// Parent in the Rock Ridge hierarchy when relocated.
    pub orig_parent: Option<usize>,
    pub ident: Vec<u8>,
    pub members: Vec<Member>,
    pub lba: u32,
    pub size: u32,
}

/// One directory record as the writer will emit it.
pub(crate) struct RecSpec {
    pub ident: Vec<u8>,
    pub flags: FileFlags,
    pub extent: u32,
    pub size: u32,
    pub mtime: i64,
    pub entries: Vec<Entry>,
}

/// Hands out continuation-area space; areas never cross a block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CeAlloc {
    pub base: u32,
    block: u32,
    offset: u32,
}

impl CeAlloc {
    pub fn new(base: u32) -> Self {
        CeAlloc {
            base,
            block: 0,
            offset: 0,
        }
    }

    pub fn alloc(&mut self, len: usize) -> (u32, u32) {
        let len = len as u32;
        if self.offset + len > SECTOR_SIZE as u32 {
            self.block += 1;
            self.offset = 0;
        }
        let at = (self.base + self.block, self.offset);
        self.offset += len;
        at
    }

    pub fn blocks(&self) -> u32 {
        self.block + u32::from(self.offset > 0)
    }
}

/// A planned image: call [`Layout::sectors`] for its size and
/// [`Layout::write`](crate::Layout::write) to produce it.
#[derive(Debug)]
pub struct Layout {
    pub(crate) tree: Tree,
    pub(crate) opts: Options,
    pub(crate) dirs: Vec<Dir>,
    /// First block of each primary file's data (indexed by node).
    pub(crate) data_lba: Vec<u32>,
    /// Rock Ridge serial number per node; hard links share their target's.
    pub(crate) serial: Vec<u32>,
    /// Link count per node (names of a file, 2 + subdirectories of a dir).
    pub(crate) nlink: Vec<u32>,
    /// Tree node → directory index.
    pub(crate) dir_of: HashMap<NodeId, usize>,
    pub(crate) rr_moved: Option<usize>,
    pub(crate) rr_moved_serial: u32,
    /// Relocated directories in the order they were found.
    pub(crate) relocated: Vec<usize>,
    /// Directories in extent (on-disc) order; see [`Layout::extent_order`].
    pub(crate) dir_order: Vec<usize>,
    pub(crate) path_table: u32,
    pub(crate) l_table: u32,
    pub(crate) m_table: u32,
    pub(crate) ce_base: u32,
    pub(crate) ce_blocks: u32,
    /// Primary file nodes in data order.
    pub(crate) data_order: Vec<NodeId>,
    /// Total blocks of this session.
    pub(crate) total: u32,
    /// The Joliet hierarchy, when requested.
    pub(crate) joliet: Option<Joliet>,
}

fn blocks_for(bytes: u64) -> u64 {
    bytes.div_ceil(SECTOR_SIZE as u64)
}

fn check_len(what: &'static str, s: &str, max: usize) -> Result<()> {
    if s.len() > max {
        return Err(Error::invalid(
            what,
            format!("{s:?} is longer than {max} bytes"),
        ));
    }
    Ok(())
}

impl Layout {
    /// Plans the image of `tree`.
    pub fn plan(tree: Tree, opts: Options) -> Result<Layout> {
        check_len("system id", &opts.system_id, 32)?;
        check_len("volume id", &opts.volume_id, 32)?;
        for (what, s) in [
            ("volume set id", &opts.volume_set_id),
            ("publisher id", &opts.publisher_id),
            ("preparer id", &opts.preparer_id),
            ("application id", &opts.application_id),
        ] {
            check_len(what, s, 128)?;
        }
        if opts.max_extent == 0
            || !opts.max_extent.is_multiple_of(SECTOR_SIZE as u32)
            || opts.max_extent > MAX_EXTENT
        {
            return Err(Error::invalid(
                "max extent",
                "must be a non-zero multiple of 2048 up to 4 GiB - 2048",
            ));
        }
        let n = tree.nodes.len();
        let mut layout = Layout {
            tree,
            opts,
            dirs: Vec::new(),
            data_lba: vec![0; n],
            serial: vec![0; n],
            nlink: vec![1; n],
            dir_of: HashMap::new(),
            rr_moved: None,
            rr_moved_serial: 0,
            relocated: Vec::new(),
            dir_order: Vec::new(),
            path_table: 0,
            l_table: 0,
            m_table: 0,
            ce_base: 0,
            ce_blocks: 0,
            data_order: Vec::new(),
            total: 0,
            joliet: None,
        };
        layout.build_hierarchy()?;
        layout.count_links();
        if layout.opts.joliet {
            layout.joliet = Some(Joliet::plan(&layout.tree)?);
        }
        layout.assign_addresses()?;
        Ok(layout)
    }

    /// Size of the image (this session) in 2048-byte blocks.
    pub fn sectors(&self) -> u32 {
        self.total
    }

    /// Size of the image (this session) in bytes.
    pub fn bytes(&self) -> u64 {
        u64::from(self.total) * SECTOR_SIZE as u64
    }

    /// The options the layout was planned with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The tree being laid out.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Builds the ISO directory hierarchy: relocates directories deeper
    /// than eight levels, mangles names and numbers directories in path
    /// table order.
    fn build_hierarchy(&mut self) -> Result<()> {
        // Pass 1: ISO parent and level of every directory node.
        struct Plan {
            node: NodeId,
            relocated: bool,
        }
        let root = self.tree.root();
        let mut plans: Vec<Plan> = vec![Plan {
            node: root,
            relocated: false,
        }];
        let mut stack = vec![(root, 1u32)];
        while let Some((dir, level)) = stack.pop() {
            for (_, child) in self.tree.children(dir) {
                if !matches!(self.tree.node(child).kind, NodeKind::Directory(_)) {
                    continue;
                }
                let (relocated, child_level) = if level + 1 > MAX_LEVEL {
                    (true, 3)
                } else {
                    (false, level + 1)
                };
                plans.push(Plan {
                    node: child,
                    relocated,
                });
                stack.push((child, child_level));
            }
        }
        let any_relocated = plans.iter().any(|p| p.relocated);
        let relocated_nodes: Vec<NodeId> = plans
            .iter()
            .filter(|p| p.relocated)
            .map(|p| p.node)
            .collect();
        let relocated: std::collections::HashSet<NodeId> =
            relocated_nodes.iter().copied().collect();

        // Pass 2: members of each ISO directory, breadth first so that
        // directory numbers come out in path table order.
        #[derive(Clone, Copy)]
        enum Src {
            Node(NodeId),
            RrMoved,
        }
        let mut queue: Vec<(Src, usize, Option<NodeId>, Vec<u8>)> =
            vec![(Src::Node(root), 0, None, vec![0])];
        let mut qi = 0;
        while qi < queue.len() {
            let (src, parent, orig_parent_node, ident) = queue[qi].clone();
            let idx = self.dirs.len();
            if idx >= 65_535 {
                return Err(Error::Limit("more than 65535 directories".into()));
            }
            // (host name, is_dir for mangling, kind-to-be, node)
            let mut raw: Vec<(Vec<u8>, bool, Option<NodeId>, u8)> = Vec::new();
            match src {
                Src::Node(dir) => {
                    for (name, child) in self.tree.children(dir) {
                        let is_dir = matches!(self.tree.node(child).kind, NodeKind::Directory(_));
                        let tag = if is_dir && relocated.contains(&child) {
                            1
                        } else if is_dir {
                            0
                        } else {
                            2
                        };
                        raw.push((name.to_vec(), tag == 0, Some(child), tag));
                    }
                    if dir == root && any_relocated {
                        raw.push((b"rr_moved".to_vec(), true, None, 3));
                    }
                }
                Src::RrMoved => {
                    for &node in &relocated_nodes {
                        raw.push((self.tree.node(node).name.clone(), true, Some(node), 0));
                    }
                }
            }
            let pairs: Vec<(&[u8], bool)> =
                raw.iter().map(|(n, d, _, _)| (n.as_slice(), *d)).collect();
            let idents = mangle_siblings(&pairs, self.opts.level);
            let mut members = Vec::with_capacity(raw.len());
            for ((_, is_dir, node, tag), mut ident) in raw.into_iter().zip(idents) {
                if !is_dir {
                    ident.extend_from_slice(b";1");
                }
                let kind = match (tag, node) {
                    (0, Some(n)) => {
                        let orig = match src {
                            Src::RrMoved => Some(self.tree.node(n).parent),
                            Src::Node(_) => None,
                        };
                        queue.push((Src::Node(n), idx, orig, ident.clone()));
                        MemberKind::Dir(usize::MAX)
                    }
                    (1, Some(n)) => MemberKind::Placeholder(n.index()),
                    (3, _) => {
                        queue.push((Src::RrMoved, idx, None, ident.clone()));
                        MemberKind::Dir(usize::MAX)
                    }
                    (_, Some(n))
                        if matches!(
                            self.tree.node(n).kind,
                            NodeKind::File { .. } | NodeKind::HardLink(_)
                        ) =>
                    {
                        MemberKind::File(n)
                    }
                    (_, Some(n)) => MemberKind::Special(n),
                    (_, None) => MemberKind::Special(root),
                };
                members.push(Member { ident, kind });
            }
            members.sort_by(|a, b| ecma_cmp(&a.ident, &b.ident));
            let node = match src {
                Src::Node(n) => {
                    self.dir_of.insert(n, idx);
                    Some(n)
                }
                Src::RrMoved => {
                    self.rr_moved = Some(idx);
                    None
                }
            };
            self.dirs.push(Dir {
                node,
                parent,
                orig_parent: orig_parent_node.map(|n| n.index()),
                ident,
                members,
                lba: 0,
                size: 0,
            });
            qi += 1;
        }
        // Directory members were created before their directories were
        // numbered; resolve them through (parent, identifier).
        let by_ident: HashMap<(usize, Vec<u8>), usize> = self
            .dirs
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, d)| ((d.parent, d.ident.clone()), i))
            .collect();
        for d in 0..self.dirs.len() {
            for m in 0..self.dirs[d].members.len() {
                let member = &self.dirs[d].members[m];
                let kind = match member.kind {
                    MemberKind::Dir(_) => by_ident
                        .get(&(d, member.ident.clone()))
                        .map(|&i| MemberKind::Dir(i)),
                    MemberKind::Placeholder(n) => self
                        .dir_of
                        .get(&NodeId(n as u32))
                        .map(|&i| MemberKind::Placeholder(i)),
                    other => Some(other),
                };
                self.dirs[d].members[m].kind =
                    kind.ok_or_else(|| Error::Limit("internal: unresolved directory".into()))?;
            }
        }
        for d in &mut self.dirs {
            if let Some(orig) = d.orig_parent {
                d.orig_parent = self.dir_of.get(&NodeId(orig as u32)).copied();
            }
        }
        self.relocated = relocated_nodes
            .iter()
            .filter_map(|n| self.dir_of.get(n).copied())
            .collect();
        self.dir_order = self.extent_order();
        Ok(())
    }
}

/// How one record's SUSP entries are distributed (see [`split_entries`]).
pub(crate) struct Placement {
    /// Entries kept in the record itself.
    pub inline: usize,
    /// Entry counts per continuation area.
    pub areas: Vec<usize>,
    /// Bytes of system use in the record, the CE included.
    pub inline_len: usize,
    /// Byte length of each continuation area, its trailing CE included.
    pub area_lens: Vec<usize>,
}

impl RecSpec {
    pub(crate) fn placement(&self) -> Placement {
        let lens: Vec<usize> = self.entries.iter().map(Entry::len).collect();
        // Records have an even length, so 254 is the longest.
        let cap = 254 - record_len(self.ident.len(), 0);
        let (inline, areas) = split_entries(&lens, cap);
        let mut inline_len: usize = lens[..inline].iter().sum();
        if !areas.is_empty() {
            inline_len += CE_LEN;
        }
        let mut area_lens = Vec::with_capacity(areas.len());
        let mut at = inline;
        for (k, &n) in areas.iter().enumerate() {
            let ce = if k + 1 < areas.len() { CE_LEN } else { 0 };
            area_lens.push(lens[at..at + n].iter().sum::<usize>() + ce);
            at += n;
        }
        Placement {
            inline,
            areas,
            inline_len,
            area_lens,
        }
    }

    pub(crate) fn len(&self, p: &Placement) -> usize {
        record_len(self.ident.len(), p.inline_len)
    }
}

/// Small device numbers go in the old 16-bit form (high 0), which the Linux
/// kernel, libisofs and libarchive all decode alike; larger ones as
/// major/minor, the kernel's reading. Major 0 with a minor over 255 cannot
/// be told from the old form by any reader; no real device node uses it.
fn pn_entry(major: u32, minor: u32) -> Entry {
    if major < 256 && minor < 256 {
        Entry::Pn {
            high: 0,
            low: (major << 8) | minor,
        }
    } else {
        Entry::Pn {
            high: major,
            low: minor,
        }
    }
}

fn rationalize(perm: u32, keep: bool) -> u32 {
    if keep {
        return perm;
    }
    let mut m = perm | 0o444;
    if perm & 0o111 != 0 {
        m |= 0o111;
    }
    m & !0o7222
}

impl Layout {
    /// Directory extents are laid out depth first, with the relocation
    /// directory and its subtrees (in the order they were relocated) right
    /// after the root, as mkisofs does: libarchive reads directories in
    /// address order and can only connect a CL to a relocated directory it
    /// has already read.
    fn extent_order(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.dirs.len());
        let mut stack = vec![0];
        while let Some(d) = stack.pop() {
            order.push(d);
            let mut kids: Vec<usize> = if Some(d) == self.rr_moved {
                self.relocated.clone()
            } else {
                self.dirs[d]
                    .members
                    .iter()
                    .filter_map(|m| match m.kind {
                        MemberKind::Dir(i) if Some(i) != self.rr_moved => Some(i),
                        _ => None,
                    })
                    .collect()
            };
            if d == 0 {
                kids.splice(0..0, self.rr_moved);
            }
            stack.extend(kids.into_iter().rev());
        }
        order
    }

    fn count_links(&mut self) {
        for i in 0..self.tree.nodes.len() {
            match &self.tree.nodes[i].kind {
                NodeKind::Directory(m) => {
                    let subdirs = m
                        .values()
                        .filter(|c| matches!(self.tree.node(**c).kind, NodeKind::Directory(_)))
                        .count();
                    self.nlink[i] = 2 + subdirs as u32;
                }
                NodeKind::HardLink(t) => self.nlink[t.index()] += 1,
                _ => {}
            }
        }
        for i in 0..self.tree.nodes.len() {
            if let NodeKind::HardLink(t) = self.tree.nodes[i].kind {
                self.nlink[i] = self.nlink[t.index()];
            }
        }
        let mut next = 1u32;
        let mut give = |serial: &mut Vec<u32>, n: usize| {
            if serial[n] == 0 {
                serial[n] = next;
                next += 1;
            }
        };
        for d in 0..self.dirs.len() {
            if let Some(n) = self.dirs[d].node {
                give(&mut self.serial, n.index());
            }
            for m in &self.dirs[d].members {
                if let MemberKind::File(n) | MemberKind::Special(n) = m.kind {
                    let primary = self.primary(n);
                    give(&mut self.serial, primary.index());
                    self.serial[n.index()] = self.serial[primary.index()];
                }
            }
        }
        self.rr_moved_serial = next;
    }

    /// The node holding a file's data (itself, or a hard link's target).
    pub(crate) fn primary(&self, n: NodeId) -> NodeId {
        match self.tree.node(n).kind {
            NodeKind::HardLink(t) => t,
            _ => n,
        }
    }

    /// A file's sections as (extent, length, is last): one unless the file
    /// is larger than the largest extent.
    pub(crate) fn sections(&self, n: NodeId) -> Vec<(u32, u32, bool)> {
        if let Some(old) = self.imported(n) {
            let count = old.len();
            return old
                .iter()
                .enumerate()
                .map(|(i, &(lba, len))| (lba, len, i + 1 == count))
                .collect();
        }
        let size = self.file_size(n);
        let lba = self.data_lba[self.primary(n).index()];
        let max = u64::from(self.opts.max_extent);
        let count = size.div_ceil(max).max(1);
        (0..count)
            .map(|s| {
                let last = s + 1 == count;
                let len = if last { size - s * max } else { max };
                let extent = if size == 0 {
                    0
                } else {
                    lba + (s * max / SECTOR_SIZE as u64) as u32
                };
                (extent, len as u32, last)
            })
            .collect()
    }

    /// The extents of a file imported from an earlier session.
    fn imported(&self, n: NodeId) -> Option<&[(u32, u32)]> {
        match &self.tree.node(self.primary(n)).kind {
            NodeKind::File {
                data: FileData::Extents(e),
                ..
            } if !e.is_empty() => Some(e),
            _ => None,
        }
    }

    /// Checks an imported file: its extents must add up to its size and
    /// lie before this session.
    fn check_imported(&self, n: NodeId) -> Result<()> {
        let Some(ext) = self.imported(n) else {
            return Ok(());
        };
        let sum: u64 = ext.iter().map(|e| u64::from(e.1)).sum();
        let end = ext
            .iter()
            .map(|&(lba, len)| u64::from(lba) + u64::from(len).div_ceil(SECTOR_SIZE as u64))
            .max();
        if sum != self.file_size(n) || end.unwrap_or(0) > u64::from(self.opts.start_lba) {
            return Err(Error::invalid(
                "imported extents",
                format!(
                    "{}: extents must add up to the size and end before block {}",
                    self.tree.path_of(n),
                    self.opts.start_lba
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn file_size(&self, n: NodeId) -> u64 {
        match self.tree.node(self.primary(n)).kind {
            NodeKind::File { size, .. } => size,
            _ => 0,
        }
    }

    fn assign_addresses(&mut self) -> Result<()> {
        let start = u64::from(self.opts.start_lba);
        let mut pt_size = 0u64;
        for d in &self.dirs {
            pt_size += 8 + d.ident.len() as u64 + d.ident.len() as u64 % 2;
        }
        self.path_table = pt_size as u32;
        let pt_blocks = blocks_for(pt_size);
        // System area, primary descriptor, Joliet's, terminator.
        let mut rel = 18 + u64::from(self.joliet.is_some());
        self.l_table = (start + rel) as u32;
        rel += pt_blocks;
        self.m_table = (start + rel) as u32;
        rel += pt_blocks;
        if let Some(j) = &mut self.joliet {
            let blocks = blocks_for(u64::from(j.path_table));
            j.l_table = (start + rel) as u32;
            rel += blocks;
            j.m_table = (start + rel) as u32;
            rel += blocks;
        }
        for &d in &self.dir_order {
            let mut sectors = 1u64;
            let mut offset = 0usize;
            for rec in self.records(d) {
                let len = rec.len(&rec.placement());
                if offset + len > SECTOR_SIZE {
                    sectors += 1;
                    offset = 0;
                }
                offset += len;
            }
            self.dirs[d].lba = (start + rel) as u32;
            self.dirs[d].size = (sectors * SECTOR_SIZE as u64) as u32;
            rel += sectors;
        }
        if let Some(mut j) = self.joliet.take() {
            let max = u64::from(self.opts.max_extent);
            j.size_dirs(|n| self.file_size(n).div_ceil(max).max(1));
            for d in &mut j.dirs {
                d.lba = (start + rel) as u32;
                rel += u64::from(d.size) / SECTOR_SIZE as u64;
            }
            self.joliet = Some(j);
        }
        // Sizes are final now; lay out the continuation areas in the order
        // the writer will produce them.
        self.ce_base = (start + rel) as u32;
        let mut ce = CeAlloc::new(self.ce_base);
        for &d in &self.dir_order {
            for rec in self.records(d) {
                for len in rec.placement().area_lens {
                    ce.alloc(len);
                }
            }
        }
        self.ce_blocks = ce.blocks();
        rel += u64::from(self.ce_blocks);
        for &d in &self.dir_order {
            for m in 0..self.dirs[d].members.len() {
                let MemberKind::File(n) = self.dirs[d].members[m].kind else {
                    continue;
                };
                if n != self.primary(n) {
                    continue;
                }
                if self.imported(n).is_some() {
                    self.check_imported(n)?;
                    continue;
                }
                let size = self.file_size(n);
                if size > u64::from(self.opts.max_extent) && self.opts.level < Level::Three {
                    return Err(Error::Limit(format!(
                        "{} is {size} bytes; files over 4 GiB need ISO level 3",
                        self.tree.path_of(n)
                    )));
                }
                self.data_lba[n.index()] = if size == 0 { 0 } else { (start + rel) as u32 };
                rel += blocks_for(size);
                self.data_order.push(n);
                if start + rel > u64::from(u32::MAX) {
                    return Err(Error::Limit("image larger than 8 TiB".into()));
                }
            }
        }
        self.total = u32::try_from(rel).map_err(|_| Error::Limit("image too large".into()))?;
        if start + rel > u64::from(u32::MAX) {
            return Err(Error::Limit("image ends beyond block 2^32".into()));
        }
        Ok(())
    }

    /// Metadata and full st_mode of a node as recorded.
    fn meta(&self, n: NodeId) -> (Metadata, u32) {
        let node = self.tree.node(self.primary(n));
        let mut meta = node.meta;
        let is_link = matches!(node.kind, NodeKind::Symlink(_));
        if self.opts.rock_ridge == Some(RockRidge::Rationalized) {
            meta.mode = rationalize(meta.mode, is_link);
            meta.uid = 0;
            meta.gid = 0;
        }
        let mode = node.kind.type_bits() | meta.mode;
        (meta, mode)
    }

    fn dir_meta(&self, d: usize) -> (Metadata, u32, u32, u32) {
        match self.dirs[d].node {
            Some(n) => {
                let (meta, mode) = self.meta(n);
                (meta, mode, self.nlink[n.index()], self.serial[n.index()])
            }
            None => {
                let meta = Metadata::new(0o555, 0, 0, self.opts.timestamp);
                (meta, 0o040555, 2, self.rr_moved_serial)
            }
        }
    }

    fn posix(meta: &Metadata, mode: u32, nlink: u32, serial: u32) -> [Entry; 2] {
        [
            Entry::Px {
                mode,
                nlink,
                uid: meta.uid,
                gid: meta.gid,
                serial: Some(serial),
            },
            Entry::Tf {
                times: Times {
                    create: None,
                    modify: Some(meta.mtime),
                    access: Some(meta.atime),
                    attributes: Some(meta.ctime),
                },
                long_form: false,
            },
        ]
    }

    fn dir_name(&self, d: usize) -> &[u8] {
        match self.dirs[d].node {
            Some(n) => &self.tree.node(n).name,
            None => b"rr_moved",
        }
    }

    /// Every record of directory `d`, in on-disc order, with the addresses
    /// assigned so far (zero before [`Layout::assign_addresses`] runs; only
    /// lengths matter then).
    pub(crate) fn records(&self, d: usize) -> Vec<RecSpec> {
        let rr = self.opts.rock_ridge.is_some();
        let dir = &self.dirs[d];
        let mut out = Vec::with_capacity(dir.members.len() + 2);
        let (meta, mode, nlink, serial) = self.dir_meta(d);
        let mut entries = Vec::new();
        if rr {
            if d == 0 {
                entries.push(Entry::Sp { skip: 0 });
            }
            entries.extend(Self::posix(&meta, mode, nlink, serial));
            if d == 0 {
                entries.push(rrip_er());
            }
        }
        out.push(RecSpec {
            ident: vec![0],
            flags: FileFlags::DIRECTORY,
            extent: dir.lba,
            size: dir.size,
            mtime: meta.mtime,
            entries,
        });
        let rr_parent = dir.orig_parent.unwrap_or(dir.parent);
        let (pmeta, pmode, pnlink, pserial) = self.dir_meta(rr_parent);
        let mut entries = Vec::new();
        if rr {
            entries.extend(Self::posix(&pmeta, pmode, pnlink, pserial));
            if dir.orig_parent.is_some() {
                entries.push(Entry::Pl {
                    block: self.dirs[rr_parent].lba,
                });
            }
        }
        let parent = &self.dirs[dir.parent];
        out.push(RecSpec {
            ident: vec![1],
            flags: FileFlags::DIRECTORY,
            extent: parent.lba,
            size: parent.size,
            mtime: pmeta.mtime,
            entries,
        });
        for m in &dir.members {
            match m.kind {
                MemberKind::Dir(i) | MemberKind::Placeholder(i) => {
                    let (meta, mode, nlink, serial) = self.dir_meta(i);
                    let mut entries = Vec::new();
                    let placeholder = matches!(m.kind, MemberKind::Placeholder(_));
                    if rr {
                        entries.extend(Self::posix(&meta, mode, nlink, serial));
                        entries.extend(nm_entries(self.dir_name(i)));
                        if placeholder {
                            entries.push(Entry::Cl {
                                block: self.dirs[i].lba,
                            });
                        } else if self.dirs[i].orig_parent.is_some() || Some(i) == self.rr_moved {
                            // Hidden from Rock Ridge readers: relocated
                            // directories are reached through their CL, and
                            // the relocation directory itself is an artefact.
                            entries.push(Entry::Re);
                        }
                    }
                    let (flags, extent, size) = if placeholder {
                        (FileFlags::empty(), 0, 0)
                    } else {
                        (FileFlags::DIRECTORY, self.dirs[i].lba, self.dirs[i].size)
                    };
                    out.push(RecSpec {
                        ident: m.ident.clone(),
                        flags,
                        extent,
                        size,
                        mtime: meta.mtime,
                        entries,
                    });
                }
                MemberKind::File(n) => {
                    let (meta, mode) = self.meta(n);
                    let mut entries = Vec::new();
                    if rr {
                        entries.extend(Self::posix(
                            &meta,
                            mode,
                            self.nlink[n.index()],
                            self.serial[n.index()],
                        ));
                        entries.extend(nm_entries(&self.tree.node(n).name));
                    }
                    for (extent, len, last) in self.sections(n) {
                        out.push(RecSpec {
                            ident: m.ident.clone(),
                            flags: if last {
                                FileFlags::empty()
                            } else {
                                FileFlags::MULTI_EXTENT
                            },
                            extent,
                            size: len,
                            mtime: meta.mtime,
                            // Linux names a multi-extent file from its last
                            // record and reads attributes from its first.
                            entries: entries.clone(),
                        });
                    }
                }
                MemberKind::Special(n) => {
                    let (meta, mode) = self.meta(n);
                    let mut entries = Vec::new();
                    if rr {
                        entries.extend(Self::posix(
                            &meta,
                            mode,
                            self.nlink[n.index()],
                            self.serial[n.index()],
                        ));
                        entries.extend(nm_entries(&self.tree.node(n).name));
                        match &self.tree.node(n).kind {
                            NodeKind::Symlink(target) => entries.extend(sl_entries(target)),
                            NodeKind::Device { major, minor, .. } => {
                                entries.push(pn_entry(*major, *minor))
                            }
                            _ => {}
                        }
                    }
                    out.push(RecSpec {
                        ident: m.ident.clone(),
                        flags: FileFlags::empty(),
                        extent: 0,
                        size: 0,
                        mtime: meta.mtime,
                        entries,
                    });
                }
            }
        }
        out
    }
}
