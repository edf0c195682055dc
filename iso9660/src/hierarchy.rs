//! The ISO9660 directory hierarchy: which directory holds what, under
//! which mangled name, with directories deeper than eight levels relocated
//! (Rock Ridge CL/PL/RE), numbered in path table order.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::names::{ecma_cmp, mangle_siblings};
use crate::tree::{NodeId, NodeKind};

/// ECMA-119 allows at most eight directory levels, the root included.
const MAX_LEVEL: u32 = 8;

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

impl Layout {
    /// Builds the ISO directory hierarchy: relocates directories deeper
    /// than eight levels, mangles names and numbers directories in path
    /// table order.
    pub(crate) fn build_hierarchy(&mut self) -> Result<()> {
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
            // What each member will be, before names are mangled.
            #[derive(Clone, Copy)]
            enum Raw {
                Dir(NodeId),
                Placeholder(NodeId),
                Leaf(NodeId),
                RrMoved,
            }
            let mut raw: Vec<(Vec<u8>, Raw)> = Vec::new();
            match src {
                Src::Node(dir) => {
                    for (name, child) in self.tree.children(dir) {
                        let is_dir = matches!(self.tree.node(child).kind, NodeKind::Directory(_));
                        let what = match (is_dir, relocated.contains(&child)) {
                            (true, true) => Raw::Placeholder(child),
                            (true, false) => Raw::Dir(child),
                            _ => Raw::Leaf(child),
                        };
                        raw.push((name.to_vec(), what));
                    }
                    if dir == root && any_relocated {
                        raw.push((b"rr_moved".to_vec(), Raw::RrMoved));
                    }
                }
                Src::RrMoved => {
                    for &node in &relocated_nodes {
                        raw.push((self.tree.node(node).name.clone(), Raw::Dir(node)));
                    }
                }
            }
            // Placeholders are file records, so they are named like files.
            let pairs: Vec<(&[u8], bool)> = raw
                .iter()
                .map(|(n, what)| (n.as_slice(), matches!(what, Raw::Dir(_) | Raw::RrMoved)))
                .collect();
            let idents = mangle_siblings(&pairs, self.opts.level);
            let mut members = Vec::with_capacity(raw.len());
            for ((_, what), mut ident) in raw.into_iter().zip(idents) {
                let kind = match what {
                    Raw::Dir(n) => {
                        let orig = match src {
                            Src::RrMoved => Some(self.tree.node(n).parent),
                            Src::Node(_) => None,
                        };
                        queue.push((Src::Node(n), idx, orig, ident.clone()));
                        MemberKind::Dir(usize::MAX)
                    }
                    Raw::RrMoved => {
                        queue.push((Src::RrMoved, idx, None, ident.clone()));
                        MemberKind::Dir(usize::MAX)
                    }
                    Raw::Placeholder(n) => MemberKind::Placeholder(n.index()),
                    Raw::Leaf(n)
                        if matches!(
                            self.tree.node(n).kind,
                            NodeKind::File { .. } | NodeKind::HardLink(_)
                        ) =>
                    {
                        MemberKind::File(n)
                    }
                    Raw::Leaf(n) => MemberKind::Special(n),
                };
                if !matches!(kind, MemberKind::Dir(_)) {
                    ident.extend_from_slice(b";1");
                }
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

    /// Directory extents are laid out depth first, with the relocation
    /// directory and its subtrees (in the order they were relocated) right
    /// after the root, as mkisofs does: libarchive reads directories in
    /// address order and can only connect a CL to a relocated directory it
    /// has already read.
    pub(crate) fn extent_order(&self) -> Vec<usize> {
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
}
