//! Writing a planned [`Layout`] as one sequential stream of sectors.

use std::io::{self, Read, Write};

use crate::codec::encode_short_date;
use crate::descriptor::{terminator, VolumeDescriptor, TYPE_PRIMARY, TYPE_SUPPLEMENTARY};
use crate::error::{Error, Result};
use crate::joliet::{JKind, Joliet, ESCAPES};
use crate::layout::{CeAlloc, Layout};
use crate::pathtable::PathRecord;
use crate::record::{DirRecord, FileFlags};
use crate::source::open_regular;
use crate::susp::Entry;
use crate::tree::{FileData, NodeId, NodeKind};
use crate::SECTOR_SIZE;

/// Receives progress while an image is written. Every method has a no-op
/// default, so implementors pick what they need.
pub trait Progress {
    /// Called once before the first byte, with the image size in blocks.
    fn start(&mut self, total_sectors: u64) {
        let _ = total_sectors;
    }

    /// Called before a file's data is written, with its path in the image.
    /// Building the path costs time, so it is only done when
    /// [`Progress::wants_paths`] says so.
    fn file(&mut self, path: &str, size: u64) {
        let _ = (path, size);
    }

    /// Whether [`Progress::file`] should be called at all.
    fn wants_paths(&self) -> bool {
        false
    }

    /// Called whenever buffered output reaches the sink.
    fn written(&mut self, sectors_done: u64, total_sectors: u64) {
        let _ = (sectors_done, total_sectors);
    }
}

/// The do-nothing progress sink.
impl Progress for () {}

/// Size of the output buffer: large writes keep pipes and drives busy and
/// syscalls rare.
const BUF: usize = 4 << 20;

/// Buffered sector output that counts what it wrote. The buffer keeps its
/// full length and `fill` marks the used part, so file data is read straight
/// into it without zeroing first.
struct Out<'a, W: Write, P: Progress> {
    sink: W,
    buf: Box<[u8]>,
    fill: usize,
    done: u64,
    total: u64,
    progress: &'a mut P,
}

impl<W: Write, P: Progress> Out<'_, W, P> {
    fn flush(&mut self) -> io::Result<()> {
        if self.fill > 0 {
            self.sink.write_all(&self.buf[..self.fill])?;
            self.done += self.fill as u64;
            self.fill = 0;
            self.progress
                .written(self.done / SECTOR_SIZE as u64, self.total);
        }
        Ok(())
    }

    /// Room left in the buffer, flushing first when it is full.
    fn room(&mut self) -> io::Result<usize> {
        if self.fill == self.buf.len() {
            self.flush()?;
        }
        Ok(self.buf.len() - self.fill)
    }

    fn put(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.room()?.min(data.len());
            self.buf[self.fill..self.fill + n].copy_from_slice(&data[..n]);
            self.fill += n;
            data = &data[n..];
        }
        Ok(())
    }

    fn zeros(&mut self, mut n: u64) -> io::Result<()> {
        while n > 0 {
            let k = (self.room()? as u64).min(n) as usize;
            self.buf[self.fill..self.fill + k].fill(0);
            self.fill += k;
            n -= k as u64;
        }
        Ok(())
    }

    /// Position in bytes from the start of the session.
    fn pos(&self) -> u64 {
        self.done + self.fill as u64
    }

    /// Copies exactly `size` bytes from `r` straight into the buffer, so
    /// file data is copied once; returns how many bytes `r` actually had.
    fn copy_from(&mut self, r: &mut dyn Read, size: u64) -> io::Result<u64> {
        let mut left = size;
        while left > 0 {
            let want = (self.room()? as u64).min(left) as usize;
            let got = loop {
                match r.read(&mut self.buf[self.fill..self.fill + want]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if got == 0 {
                return Ok(size - left);
            }
            self.fill += got;
            left -= got as u64;
        }
        Ok(size)
    }
}

impl Layout {
    /// Writes the image to `sink` in one pass and returns the bytes written
    /// (always [`Layout::bytes`]). File data is read in large chunks while it
    /// is written; memory does not depend on file sizes.
    pub fn write<W: Write, P: Progress>(&mut self, sink: W, progress: &mut P) -> Result<u64> {
        let total = u64::from(self.total);
        progress.start(total);
        let mut out = Out {
            sink,
            buf: vec![0u8; BUF].into_boxed_slice(),
            fill: 0,
            done: 0,
            total,
            progress,
        };
        out.zeros(16 * SECTOR_SIZE as u64)?;
        out.put(&self.primary_descriptor().encode())?;
        if let Some(j) = &self.joliet {
            out.put(&self.joliet_descriptor(j).encode())?;
        }
        out.put(&terminator())?;
        let iso_table = self
            .dirs
            .iter()
            .map(|d| (d.lba, d.parent, d.ident.as_slice()));
        write_path_tables(&mut out, iso_table)?;
        if let Some(j) = &self.joliet {
            self.check_pos(&out, j.l_table)?;
            write_path_tables(
                &mut out,
                j.dirs.iter().map(|d| (d.lba, d.parent, d.ident.as_slice())),
            )?;
        }
        let mut ce_buf = vec![0u8; self.ce_blocks as usize * SECTOR_SIZE];
        let mut ce = CeAlloc::new(self.ce_base);
        for &d in &self.dir_order {
            self.check_pos(&out, self.dirs[d].lba)?;
            let dir = self.encode_dir(d, &mut ce, &mut ce_buf);
            out.put(&dir)?;
        }
        self.check_pos(&out, self.ce_base)?;
        out.put(&ce_buf)?;
        drop(ce_buf);
        if let Some(j) = &self.joliet {
            for d in 0..j.dirs.len() {
                self.check_pos(&out, j.dirs[d].lba)?;
                out.put(&self.encode_joliet_dir(j, d))?;
            }
        }
        let order = std::mem::take(&mut self.data_order);
        let result = self.write_data(&mut out, &order);
        self.data_order = order;
        result?;
        out.zeros(u64::from(self.opts.padding) * SECTOR_SIZE as u64)?;
        self.check_pos(&out, self.opts.start_lba + self.total)?;
        out.flush()?;
        out.sink.flush()?;
        Ok(out.done)
    }

    fn write_data<W: Write, P: Progress>(
        &mut self,
        out: &mut Out<'_, W, P>,
        order: &[NodeId],
    ) -> Result<()> {
        for &n in order {
            let size = self.file_size(n);
            if size == 0 {
                continue;
            }
            self.check_pos(out, self.data_lba[n.index()])?;
            if out.progress.wants_paths() {
                let path = self.tree.path_of(n);
                out.progress.file(&path, size);
            }
            let got = match &mut self.tree.nodes[n.index()].kind {
                NodeKind::File {
                    data: FileData::Path(p),
                    ..
                } => {
                    let mut f = open_regular(p, None)?;
                    out.copy_from(&mut f, size)
                        .map_err(|e| Error::host(&*p, e))?
                }
                NodeKind::File {
                    data: FileData::Scanned { path, id },
                    ..
                } => {
                    let mut f = open_regular(path, Some(*id))?;
                    out.copy_from(&mut f, size)
                        .map_err(|e| Error::host(&*path, e))?
                }
                NodeKind::File {
                    data: FileData::Bytes(b),
                    ..
                } => {
                    let n = (b.len() as u64).min(size) as usize;
                    out.put(&b[..n])?;
                    n as u64
                }
                NodeKind::File {
                    data: FileData::Reader(r),
                    ..
                } => match r.take() {
                    Some(mut r) => out.copy_from(&mut r, size)?,
                    None => return Err(Error::SourceConsumed(self.tree.path_of(n))),
                },
                // Imported data is already on the medium and never in the
                // data order.
                _ => 0,
            };
            if got < size {
                return Err(Error::FileShrank {
                    path: self.tree.path_of(n),
                    planned: size,
                    actual: got,
                });
            }
            out.zeros(pad(size))?;
        }
        Ok(())
    }

    fn check_pos<W: Write, P: Progress>(&self, out: &Out<'_, W, P>, lba: u32) -> Result<()> {
        let expect = u64::from(lba - self.opts.start_lba) * SECTOR_SIZE as u64;
        if out.pos() != expect {
            return Err(Error::Limit(format!(
                "internal layout error: at byte {} instead of block {lba}",
                out.pos()
            )));
        }
        Ok(())
    }

    /// The Joliet supplementary descriptor: the primary one with UCS-2 text
    /// and the Joliet root and path tables.
    fn joliet_descriptor(&self, j: &Joliet) -> VolumeDescriptor {
        let mut d = self.primary_descriptor();
        d.kind = TYPE_SUPPLEMENTARY;
        d.escapes[..3].copy_from_slice(ESCAPES);
        d.path_table_size = j.path_table;
        d.l_path_table = j.l_table;
        d.m_path_table = j.m_table;
        d.root.extent = j.dirs[0].lba;
        d.root.size = j.dirs[0].size;
        d
    }

    /// Encodes Joliet directory `d`: no system use, same file extents.
    fn encode_joliet_dir(&self, j: &Joliet, d: usize) -> Vec<u8> {
        let dir = &j.dirs[d];
        let mut buf = Vec::with_capacity(dir.size as usize);
        let mtime = |n: NodeId| self.tree.node(self.primary(n)).meta.mtime;
        let parent = &j.dirs[dir.parent];
        let mut push = |rec: DirRecord| {
            let used = buf.len() % SECTOR_SIZE;
            if used + rec.len() > SECTOR_SIZE {
                buf.resize(buf.len() + SECTOR_SIZE - used, 0);
            }
            rec.encode(&mut buf);
        };
        let dir_rec = |ident: Vec<u8>, x: &crate::joliet::JDir| DirRecord {
            extent: x.lba,
            size: x.size,
            date: encode_short_date(mtime(x.node)),
            flags: FileFlags::DIRECTORY,
            ident,
            system_use: Vec::new(),
        };
        push(dir_rec(vec![0], dir));
        push(dir_rec(vec![1], parent));
        for m in &dir.members {
            match m.kind {
                JKind::Dir(i) => push(dir_rec(m.ident.clone(), &j.dirs[i])),
                JKind::File(n) => {
                    for (extent, size, last) in self.sections(n) {
                        push(DirRecord {
                            extent,
                            size,
                            date: encode_short_date(mtime(n)),
                            flags: if last {
                                FileFlags::empty()
                            } else {
                                FileFlags::MULTI_EXTENT
                            },
                            ident: m.ident.clone(),
                            system_use: Vec::new(),
                        });
                    }
                }
            }
        }
        buf.resize(dir.size as usize, 0);
        buf
    }

    pub(crate) fn primary_descriptor(&self) -> VolumeDescriptor {
        let root = &self.dirs[0];
        let root_mtime = self.tree.node(self.tree.root()).meta.mtime;
        let o = &self.opts;
        VolumeDescriptor {
            kind: TYPE_PRIMARY,
            system_id: o.system_id.clone(),
            volume_id: o.volume_id.clone(),
            volume_space_size: o.start_lba + self.total,
            escapes: [0; 32],
            path_table_size: self.path_table,
            l_path_table: self.l_table,
            m_path_table: self.m_table,
            root: DirRecord {
                extent: root.lba,
                size: root.size,
                date: encode_short_date(root_mtime),
                flags: FileFlags::DIRECTORY,
                ident: vec![0],
                system_use: Vec::new(),
            },
            volume_set_id: o.volume_set_id.clone(),
            publisher_id: o.publisher_id.clone(),
            preparer_id: o.preparer_id.clone(),
            application_id: o.application_id.clone(),
            created: Some(o.timestamp),
            modified: Some(o.timestamp),
            expires: None,
            effective: None,
        }
    }

    /// Encodes directory `d`; continuation areas go into `ce_buf`.
    fn encode_dir(&self, d: usize, ce: &mut CeAlloc, ce_buf: &mut [u8]) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.dirs[d].size as usize);
        for rec in self.records(d) {
            let p = rec.placement();
            let len = rec.len(&p);
            let sector_used = buf.len() % SECTOR_SIZE;
            if sector_used + len > SECTOR_SIZE {
                buf.resize(buf.len() + SECTOR_SIZE - sector_used, 0);
            }
            let spots: Vec<(u32, u32)> = p.area_lens.iter().map(|&l| ce.alloc(l)).collect();
            let ce_entry = |k: usize| Entry::Ce {
                block: spots[k].0,
                offset: spots[k].1,
                len: p.area_lens[k] as u32,
            };
            let mut su = Vec::with_capacity(p.inline_len);
            for e in &rec.entries[..p.inline] {
                e.encode(&mut su);
            }
            if !spots.is_empty() {
                ce_entry(0).encode(&mut su);
            }
            let mut at = p.inline;
            for (k, &n) in p.areas.iter().enumerate() {
                let mut area = Vec::with_capacity(p.area_lens[k]);
                for e in &rec.entries[at..at + n] {
                    e.encode(&mut area);
                }
                at += n;
                if k + 1 < spots.len() {
                    ce_entry(k + 1).encode(&mut area);
                }
                let off = (spots[k].0 - self.ce_base) as usize * SECTOR_SIZE + spots[k].1 as usize;
                ce_buf[off..off + area.len()].copy_from_slice(&area);
            }
            DirRecord {
                extent: rec.extent,
                size: rec.size,
                date: encode_short_date(rec.mtime),
                flags: rec.flags,
                ident: rec.ident,
                system_use: su,
            }
            .encode(&mut buf);
        }
        buf.resize(self.dirs[d].size as usize, 0);
        buf
    }
}

/// Writes the type L then the type M path table of a hierarchy given as
/// (extent, parent index, identifier) in directory-number order.
fn write_path_tables<'a, W: Write, P: Progress>(
    out: &mut Out<'_, W, P>,
    dirs: impl Iterator<Item = (u32, usize, &'a [u8])> + Clone,
) -> io::Result<()> {
    for big_endian in [false, true] {
        let mut table = Vec::new();
        for (extent, parent, ident) in dirs.clone() {
            PathRecord {
                extent,
                parent: (parent + 1) as u16,
                ident: ident.to_vec(),
            }
            .encode(big_endian, &mut table);
        }
        out.put(&table)?;
        out.zeros(pad(table.len() as u64))?;
    }
    Ok(())
}

/// Zero bytes that complete the last sector of `len` bytes.
fn pad(len: u64) -> u64 {
    (SECTOR_SIZE as u64 - len % SECTOR_SIZE as u64) % SECTOR_SIZE as u64
}
