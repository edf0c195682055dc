//! The records of one directory as they go on disc: identifiers,
//! addresses, dates and the SUSP/Rock Ridge entries of each, and how those
//! entries split between the record and continuation areas.

use crate::hierarchy::MemberKind;
use crate::layout::{Layout, RockRidge};
use crate::record::{record_len, FileFlags};
use crate::susp::{nm_entries, rrip_er, sl_entries, split_entries, Entry, Times, CE_LEN};
use crate::tree::{Metadata, NodeId, NodeKind};

/// One directory record as the writer will emit it.
pub(crate) struct RecSpec {
    pub ident: Vec<u8>,
    pub flags: FileFlags,
    pub extent: u32,
    pub size: u32,
    pub mtime: i64,
    pub entries: Vec<Entry>,
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
/// major/minor, the kernel's reading (`high == 0 && low > 255` means the old
/// form to it). So major 0 with a minor over 255 has no form Linux reads
/// back (genisoimage writes high 0 and the minor, which Linux misreads as
/// 176:76 for 0:45132); the tree refuses such nodes before they get here.
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

/// `mkisofs -r`'s modes: read for all, execute for all when anyone may
/// execute, no write or set-id/sticky bits; symlinks too (genisoimage and
/// mkisofs record 0777 links as 0555).
fn rationalize(perm: u32) -> u32 {
    let mut m = perm | 0o444;
    if perm & 0o111 != 0 {
        m |= 0o111;
    }
    m & !0o7222
}

impl Layout {
    /// Metadata and full st_mode of a node as recorded.
    fn meta(&self, n: NodeId) -> (Metadata, u32) {
        let node = self.tree.node(self.primary(n));
        let mut meta = node.meta;
        if self.opts.rock_ridge == Some(RockRidge::Rationalized) {
            meta.mode = rationalize(meta.mode);
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

    /// Metadata and Rock Ridge entries of a non-directory node: PX, TF, NM
    /// and, for symlinks and devices, SL or PN.
    fn node_entries(&self, n: NodeId, rr: bool) -> (Metadata, Vec<Entry>) {
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
                NodeKind::Device { major, minor, .. } => entries.push(pn_entry(*major, *minor)),
                _ => {}
            }
        }
        (meta, entries)
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
                    let (meta, entries) = self.node_entries(n, rr);
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
                    let (meta, entries) = self.node_entries(n, rr);
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
