//! Hand-made hostile images, shared by the tests and written out as fuzz
//! seeds (`ISO_WRITE_SEEDS=DIR cargo test -p iso9660 --test hostile`).
//!
//! Two kinds: images this crate writes with one field patched (a Rock Ridge
//! name turned into a path, a serial number shared by two files), and
//! images built record by record, for shapes no writer produces (many
//! records sharing one continuation chain).

#![allow(dead_code)]

use iso9660::{
    terminator, DirRecord, FileFlags, Layout, Options, SuspEntry, VolumeDescriptor, SECTOR_SIZE,
};

pub const SECTOR: usize = SECTOR_SIZE;

/// System use bytes of a Rock Ridge root's "." record (SP, PX, ER).
pub const RR_ROOT_SU: usize = 7 + 44 + 18;

/// Writes a planned tree into memory.
pub fn image(tree: iso9660::Tree, opts: Options) -> Vec<u8> {
    let mut out = Vec::new();
    Layout::plan(tree, opts)
        .expect("plans")
        .write(&mut out, &mut ())
        .expect("writes");
    out
}

/// Offsets of every occurrence of `needle`.
pub fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    (0..hay.len().saturating_sub(needle.len() - 1))
        .filter(|&i| &hay[i..i + needle.len()] == needle)
        .collect()
}

/// The one NM entry that carries `name` in full.
pub fn nm_at(img: &[u8], name: &[u8]) -> usize {
    let mut needle = vec![b'N', b'M', (5 + name.len()) as u8, 1, 0];
    needle.extend_from_slice(name);
    let hits = find_all(img, &needle);
    assert_eq!(hits.len(), 1, "NM {:?} occurs {} times", name, hits.len());
    hits[0]
}

/// Replaces the name bytes of the NM entry carrying `from` (same length).
pub fn patch_nm(img: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let at = nm_at(img, from) + 5;
    img[at..at + to.len()].copy_from_slice(to);
}

/// The PX entry right before the NM entry carrying `name` (this crate
/// writes PX, TF, NM in that order): its byte offset.
pub fn px_before(img: &[u8], name: &[u8]) -> usize {
    let nm = nm_at(img, name);
    let start = nm.saturating_sub(255);
    let rel = find_all(&img[start..nm], b"PX\x2c\x01");
    start + *rel.last().expect("PX before NM")
}

pub fn both32(img: &mut [u8], at: usize, v: u32) {
    img[at..at + 4].copy_from_slice(&v.to_le_bytes());
    img[at + 4..at + 8].copy_from_slice(&v.to_be_bytes());
}

pub fn le32(img: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(img[at..at + 4].try_into().unwrap())
}

/// One record of a hand-made directory.
pub struct Rec {
    pub ident: Vec<u8>,
    pub dir: bool,
    pub extent: u32,
    pub size: u32,
    pub su: Vec<u8>,
}

fn encode(entries: &[SuspEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        e.encode(&mut out);
    }
    out
}

pub fn px(mode: u32, serial: u32) -> SuspEntry {
    SuspEntry::Px {
        mode,
        nlink: 1,
        uid: 0,
        gid: 0,
        serial: Some(serial),
    }
}

/// Builds an image record by record. Blocks 0-15 are empty, 16 the primary
/// descriptor, 17 the terminator, 18-19 a minimal path table; directories
/// and raw blocks follow in the order added.
pub struct Builder {
    pub blocks: Vec<Vec<u8>>,
    root_lba: u32,
    root_size: u32,
}

impl Builder {
    pub fn new() -> Builder {
        Builder {
            blocks: vec![vec![0; SECTOR]; 20],
            root_lba: 0,
            root_size: 0,
        }
    }

    /// The next free block.
    pub fn next(&self) -> u32 {
        self.blocks.len() as u32
    }

    /// Appends raw blocks (padded to whole blocks); returns the first.
    pub fn raw(&mut self, data: &[u8]) -> u32 {
        let at = self.next();
        for chunk in data.chunks(SECTOR) {
            let mut b = chunk.to_vec();
            b.resize(SECTOR, 0);
            self.blocks.push(b);
        }
        at
    }

    /// Bytes a directory of these records takes (whole blocks), its "."
    /// record carrying `dot_su` bytes of system use.
    pub fn dir_size(dot_su: usize, records: &[Rec]) -> u32 {
        let mut blocks = 1;
        let mut used = 34 + (34 + dot_su).div_ceil(2) * 2;
        for r in records {
            let len = rec(r).len();
            if used + len > SECTOR {
                blocks += 1;
                used = 0;
            }
            used += len;
        }
        (blocks * SECTOR) as u32
    }

    /// Appends a directory at block `lba` (which must be [`Builder::next`])
    /// with parent `parent` (itself for the root); `dot_su` is the system
    /// use of its "." record (SP, PX, ER for a Rock Ridge root).
    pub fn dir(&mut self, parent: (u32, u32), dot_su: Vec<u8>, records: &[Rec]) -> (u32, u32) {
        let lba = self.next();
        let size = Self::dir_size(dot_su.len(), records);
        let mut buf = Vec::new();
        let dot = DirRecord {
            extent: lba,
            size,
            date: [0; 7],
            flags: FileFlags::DIRECTORY,
            ident: vec![0],
            system_use: dot_su,
        };
        dot.encode(&mut buf);
        DirRecord {
            extent: if parent.0 == 0 { lba } else { parent.0 },
            size: if parent.0 == 0 { size } else { parent.1 },
            ident: vec![1],
            flags: FileFlags::DIRECTORY,
            ..DirRecord::default()
        }
        .encode(&mut buf);
        for r in records {
            let d = rec(r);
            let used = buf.len() % SECTOR;
            if used + d.len() > SECTOR {
                buf.resize(buf.len() + SECTOR - used, 0);
            }
            d.encode(&mut buf);
        }
        buf.resize(size as usize, 0);
        self.raw(&buf);
        (lba, size)
    }

    /// Appends a Rock Ridge root directory (SP, PX, ER on ".").
    pub fn rr_root(&mut self, records: &[Rec]) -> (u32, u32) {
        let su = encode(&[
            SuspEntry::Sp { skip: 0 },
            px(0o040755, 1),
            SuspEntry::Er {
                id: b"RRIP_1991A".to_vec(),
                desc: Vec::new(),
                src: Vec::new(),
                version: 1,
            },
        ]);
        let r = self.dir((0, 0), su, records);
        self.root_lba = r.0;
        self.root_size = r.1;
        r
    }

    /// The image: descriptors written last, when the size is known.
    pub fn finish(mut self) -> Vec<u8> {
        let total = self.blocks.len() as u32;
        let pvd = VolumeDescriptor {
            kind: 1,
            system_id: "LINUX".into(),
            volume_id: "HOSTILE".into(),
            volume_space_size: total,
            path_table_size: 10,
            l_path_table: 18,
            m_path_table: 19,
            root: DirRecord {
                extent: self.root_lba,
                size: self.root_size,
                flags: FileFlags::DIRECTORY,
                ident: vec![0],
                ..DirRecord::default()
            },
            ..VolumeDescriptor::default()
        };
        self.blocks[16] = pvd.encode().to_vec();
        self.blocks[17] = terminator().to_vec();
        // Path tables: the root only.
        let mut l = vec![1, 0];
        l.extend_from_slice(&self.root_lba.to_le_bytes());
        l.extend_from_slice(&[1, 0, 0, 0]);
        let mut m = vec![1, 0];
        m.extend_from_slice(&self.root_lba.to_be_bytes());
        m.extend_from_slice(&[0, 1, 0, 0]);
        self.blocks[18][..l.len()].copy_from_slice(&l);
        self.blocks[19][..m.len()].copy_from_slice(&m);
        self.blocks.concat()
    }
}

fn rec(r: &Rec) -> DirRecord {
    DirRecord {
        extent: r.extent,
        size: r.size,
        date: [0; 7],
        flags: if r.dir {
            FileFlags::DIRECTORY
        } else {
            FileFlags::empty()
        },
        ident: r.ident.clone(),
        system_use: r.su.clone(),
    }
}

/// A continuation chain of `hops` areas of nearly a block each, starting
/// at block `first`, made of `fill` entries (each area ends with a CE to
/// the next, the last with the final piece). Returns the blocks.
pub fn ce_chain(first: u32, hops: usize, fill: impl Fn(bool) -> SuspEntry) -> Vec<u8> {
    let mut out = Vec::new();
    for h in 0..hops {
        let mut area = Vec::new();
        let last = h + 1 == hops;
        loop {
            let e = fill(false);
            if area.len() + e.len() + 28 + 255 > SECTOR {
                break;
            }
            e.encode(&mut area);
        }
        if last {
            fill(true).encode(&mut area);
        } else {
            SuspEntry::Ce {
                block: first + h as u32 + 1,
                offset: 0,
                len: SECTOR as u32,
            }
            .encode(&mut area);
        }
        area.resize(SECTOR, 0);
        out.extend_from_slice(&area);
    }
    out
}

/// A long name as NM pieces: 250 bytes each, continuing until the last.
pub fn nm_piece(last: bool) -> SuspEntry {
    SuspEntry::Nm {
        flags: if last { 0 } else { 1 },
        name: vec![b'n'; 250],
    }
}

/// A CE entry pointing at a whole-block area.
pub fn ce(block: u32) -> SuspEntry {
    SuspEntry::Ce {
        block,
        offset: 0,
        len: SECTOR as u32,
    }
}

/// The first image: a chain of `depth` directories, each named by
/// the same 32-area continuation chain (a 56 KB name).
pub fn deep_shared_chain(depth: usize) -> Vec<u8> {
    let mut b = Builder::new();
    // Layout: root at 20, then directories 21.., then the chain.
    let chain_at = 20 + depth as u32 + 1;
    let entry = |serial: u32| encode(&[px(0o040755, serial), ce(chain_at)]);
    let mut dirs = Vec::new();
    for i in 0..depth {
        let lba = 21 + i as u32;
        dirs.push(Rec {
            ident: b"D".to_vec(),
            dir: true,
            extent: lba,
            size: SECTOR as u32,
            su: entry(i as u32 + 2),
        });
    }
    let root = b.rr_root(&dirs[..1]);
    let mut parent = root;
    for i in 0..depth {
        let kids = if i + 1 < depth {
            &dirs[i + 1..i + 2]
        } else {
            &[][..]
        };
        parent = b.dir(parent, Vec::new(), kids);
    }
    assert_eq!(b.next(), chain_at);
    b.raw(&ce_chain(chain_at, 32, nm_piece));
    b.finish()
}

/// The second image: one directory of `count` records that all
/// continue into the same 32-area chain; `fill` is what the chain holds.
pub fn flat_shared_chain(count: usize, fill: fn(bool) -> SuspEntry, mode: u32) -> Vec<u8> {
    let mut b = Builder::new();
    let records: Vec<Rec> = (0..count)
        .map(|i| Rec {
            ident: format!("F{i:07}.;1").into_bytes(),
            dir: false,
            extent: 0,
            size: 0,
            su: Vec::new(),
        })
        .collect();
    // The chain goes right after the root; its size is known first.
    let with_su = |chain_at: u32| -> Vec<Rec> {
        records
            .iter()
            .enumerate()
            .map(|(i, r)| Rec {
                ident: r.ident.clone(),
                dir: false,
                extent: 0,
                size: 0,
                su: encode(&[px(mode, i as u32 + 10), ce(chain_at)]),
            })
            .collect()
    };
    let probe = with_su(0);
    let root_blocks = Builder::dir_size(RR_ROOT_SU, &probe) as usize / SECTOR;
    let chain_at = 20 + root_blocks as u32;
    b.rr_root(&with_su(chain_at));
    assert_eq!(b.next(), chain_at);
    b.raw(&ce_chain(chain_at, 32, fill));
    b.finish()
}

/// A symlink target as SL pieces: 250-byte components.
pub fn sl_piece(last: bool) -> SuspEntry {
    SuspEntry::Sl {
        continues: !last,
        components: vec![iso9660::SlComponent {
            flags: 0,
            content: vec![b't'; 240],
        }],
    }
}

/// Padding the reader skips: an unknown entry of 250 bytes.
pub fn junk_piece(_last: bool) -> SuspEntry {
    SuspEntry::Other {
        sig: *b"ZZ",
        data: vec![0; 246],
    }
}
