//! Planning: turns a [`Tree`] into a complete layout (every identifier,
//! record, continuation area and block address) before a byte is written, so
//! the image size is known up front and writing is one sequential pass.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::hierarchy::{Dir, MemberKind};
use crate::joliet::Joliet;
use crate::names::Level;
use crate::tree::{FileData, NodeId, NodeKind, Tree};
use crate::SECTOR_SIZE;

/// Largest section of a multi-extent file: the 32-bit size field rounded
/// down to whole blocks.
pub const MAX_EXTENT: u32 = 0xFFFF_F800;

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
    /// Zero blocks appended to the session and counted in its size:
    /// mkisofs's default `-pad` of 150 blocks (300 KiB), which also lifts
    /// tiny images past the 24 blocks libarchive needs to recognise one
    /// (and old drives read ahead into). 0 for none (`-no-pad`).
    pub padding: u32,
}

/// mkisofs's `-pad`: 150 blocks.
pub const PADDING: u32 = 150;

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
            padding: PADDING,
        }
    }
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
}

impl Layout {
    /// Link counts of what the root reaches: 2 plus subdirectories for a
    /// directory, the names of a file (nodes replaced by new content are
    /// not reached and do not count).
    fn count_links(&mut self) {
        let mut names = vec![0u32; self.tree.nodes.len()];
        for d in 0..self.dirs.len() {
            let Some(dir) = self.dirs[d].node else {
                continue;
            };
            let subdirs = self
                .tree
                .children(dir)
                .filter(|(_, c)| matches!(self.tree.node(*c).kind, NodeKind::Directory(_)))
                .count();
            self.nlink[dir.index()] = 2 + subdirs as u32;
            for m in &self.dirs[d].members {
                if let MemberKind::File(n) = m.kind {
                    names[self.primary(n).index()] += 1;
                }
            }
        }
        for d in 0..self.dirs.len() {
            for m in &self.dirs[d].members {
                if let MemberKind::File(n) = m.kind {
                    self.nlink[n.index()] = names[self.primary(n).index()].max(1);
                }
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
            self.dirs[d].size = u32::try_from(sectors * SECTOR_SIZE as u64)
                .map_err(|_| Error::Limit("a directory's records exceed 4 GiB".into()))?;
            rel += sectors;
        }
        // Sizes are final now; lay out the continuation areas in the order
        // the writer will produce them, right after the ISO directories and
        // before the Joliet ones, as genisoimage does: libarchive, which
        // reads an image in one forward pass, misses Rock Ridge when the
        // root's continuation area (its ER) lies past the Joliet tree.
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
        if let Some(mut j) = self.joliet.take() {
            let max = u64::from(self.opts.max_extent);
            j.size_dirs(|n| self.file_size(n).div_ceil(max).max(1));
            for d in &mut j.dirs {
                d.lba = (start + rel) as u32;
                rel += u64::from(d.size) / SECTOR_SIZE as u64;
            }
            self.joliet = Some(j);
        }
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
        rel += u64::from(self.opts.padding);
        self.total = u32::try_from(rel).map_err(|_| Error::Limit("image too large".into()))?;
        if start + rel > u64::from(u32::MAX) {
            return Err(Error::Limit("image ends beyond block 2^32".into()));
        }
        Ok(())
    }
}
