//! Filling a [`Tree`] from host paths, with mkisofs graft-point semantics.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::tree::{DeviceKind, FileData, Metadata, NodeId, NodeKind, Tree};

/// A parsed graft point: `disc/path=/host/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraftPoint {
    /// Path inside the image (may end in `/`, meaning "put it inside").
    pub disc: Vec<u8>,
    /// Path on the host.
    pub host: PathBuf,
}

impl GraftPoint {
    /// Parses `disc=host`, where `\=` and `\\` escape `=` and `\` in the
    /// disc part as in mkisofs. An operand without `=` grafts onto the root.
    pub fn parse(spec: &OsStr) -> GraftPoint {
        let bytes = spec.as_bytes();
        let mut disc = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if i + 1 < bytes.len() && matches!(bytes[i + 1], b'=' | b'\\') => {
                    disc.push(bytes[i + 1]);
                    i += 2;
                }
                b'=' => {
                    return GraftPoint {
                        disc,
                        host: PathBuf::from(OsStr::from_bytes(&bytes[i + 1..])),
                    };
                }
                c => {
                    disc.push(c);
                    i += 1;
                }
            }
        }
        GraftPoint {
            disc: Vec::new(),
            host: PathBuf::from(spec),
        }
    }
}

/// Metadata of a host file as the tree records it.
pub fn host_metadata(m: &fs::Metadata) -> Metadata {
    Metadata {
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: m.mtime(),
        atime: m.atime(),
        ctime: m.ctime(),
    }
}

fn major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)) as u32
}

fn minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)) as u32
}

impl Tree {
    /// Adds a graft point the way `mkisofs -graft-points` does: a directory's
    /// contents are merged into the disc directory (which takes the host
    /// directory's metadata); a file lands at the disc path, or inside it
    /// when the disc path ends in `/` or is empty.
    pub fn add_graft(&mut self, graft: &GraftPoint) -> Result<()> {
        let meta = fs::symlink_metadata(&graft.host).map_err(|e| Error::host(&graft.host, e))?;
        if meta.is_dir() {
            let dir = self.mkdir_p(&graft.disc)?;
            self.nodes[dir.index()].meta = host_metadata(&meta);
            self.mark_new(dir);
            return self.scan_dir(dir, &graft.host);
        }
        let mut disc = graft.disc.clone();
        if disc.is_empty() || disc.ends_with(b"/") {
            let name = graft
                .host
                .file_name()
                .ok_or_else(|| Error::invalid("graft point", "host path has no file name"))?;
            disc.extend_from_slice(name.as_bytes());
        }
        let (parent, name) = split_parent(&disc);
        let parent = self.mkdir_p(parent)?;
        self.add_host_entry(parent, name, &graft.host, &meta)?;
        Ok(())
    }

    fn add_host_entry(
        &mut self,
        parent: NodeId,
        name: &[u8],
        path: &Path,
        meta: &fs::Metadata,
    ) -> Result<Option<NodeId>> {
        let ft = meta.file_type();
        let md = host_metadata(meta);
        let kind = if ft.is_dir() {
            NodeKind::Directory(BTreeMap::new())
        } else if ft.is_file() {
            let key = (meta.dev(), meta.ino());
            match self.host_links.get(&key) {
                Some(&first) if meta.nlink() > 1 => NodeKind::HardLink(first),
                _ => NodeKind::File {
                    data: FileData::Scanned {
                        path: path.to_path_buf(),
                        id: crate::FileId {
                            dev: meta.dev(),
                            ino: meta.ino(),
                        },
                    },
                    size: meta.len(),
                },
            }
        } else if ft.is_symlink() {
            let target = fs::read_link(path).map_err(|e| Error::host(path, e))?;
            NodeKind::Symlink(target.as_os_str().as_bytes().to_vec())
        } else if ft.is_char_device() || ft.is_block_device() {
            let kind = if ft.is_char_device() {
                DeviceKind::Char
            } else {
                DeviceKind::Block
            };
            NodeKind::Device {
                kind,
                major: major(meta.rdev()),
                minor: minor(meta.rdev()),
            }
        } else if ft.is_fifo() {
            NodeKind::Fifo
        } else {
            // Sockets cannot be archived meaningfully; mkisofs skips them too.
            self.skipped.push(path.to_path_buf());
            return Ok(None);
        };
        let is_file = matches!(kind, NodeKind::File { .. });
        let id = self.insert(parent, name, md, kind).map_err(|e| match e {
            Error::Invalid { what, why } => Error::Invalid {
                what,
                why: format!("{}: {why}", path.display()),
            },
            other => other,
        })?;
        if is_file && meta.nlink() > 1 {
            self.host_links.insert((meta.dev(), meta.ino()), id);
        }
        Ok(Some(id))
    }

    /// Walks a host directory without recursion, so that deep trees cannot
    /// exhaust the stack.
    fn scan_dir(&mut self, dir: NodeId, host: &Path) -> Result<()> {
        let mut stack = vec![(dir, host.to_path_buf())];
        while let Some((dir, host)) = stack.pop() {
            let rd = fs::read_dir(&host).map_err(|e| Error::host(&host, e))?;
            let mut entries: Vec<(Vec<u8>, PathBuf, fs::Metadata)> = Vec::new();
            for ent in rd {
                let ent = ent.map_err(|e| Error::host(&host, e))?;
                // Relative to the open directory (fstatat), which saves a
                // path walk per entry; it does not follow symlinks.
                let meta = ent.metadata().map_err(|e| Error::host(ent.path(), e))?;
                entries.push((ent.file_name().as_bytes().to_vec(), ent.path(), meta));
            }
            // Sorted so hard-link primaries and therefore the output do not
            // depend on readdir order.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, path, meta) in entries {
                let existing = self.child(dir, &name);
                if let (Some(id), true) = (existing, meta.is_dir()) {
                    if matches!(self.node(id).kind, NodeKind::Directory(_)) {
                        // Merging two grafts into one directory.
                        self.nodes[id.index()].meta = host_metadata(&meta);
                        self.mark_new(id);
                        stack.push((id, path));
                        continue;
                    }
                }
                if let Some(id) = self.add_host_entry(dir, &name, &path, &meta)? {
                    if meta.is_dir() {
                        stack.push((id, path));
                    }
                }
            }
        }
        Ok(())
    }
}

fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&c| c == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&path[..0], path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_graft_points() {
        let g = GraftPoint::parse(OsStr::new("a/b=/x/y"));
        assert_eq!(g.disc, b"a/b");
        assert_eq!(g.host, PathBuf::from("/x/y"));
        let g = GraftPoint::parse(OsStr::new("a\\=b=/x"));
        assert_eq!(g.disc, b"a=b");
        let g = GraftPoint::parse(OsStr::new("/plain/path"));
        assert!(g.disc.is_empty());
        assert_eq!(g.host, PathBuf::from("/plain/path"));
    }

    #[test]
    fn device_numbers_split_like_glibc() {
        let dev = libc::makedev(259, 70000);
        assert_eq!((major(dev), minor(dev)), (259, 70000));
    }

    #[test]
    fn scans_host_tree() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::create_dir_all(p.join("sub/deeper")).unwrap();
        fs::write(p.join("sub/f"), b"data").unwrap();
        fs::hard_link(p.join("sub/f"), p.join("g")).unwrap();
        std::os::unix::fs::symlink("sub/f", p.join("l")).unwrap();
        let mut t = Tree::new(Metadata::new(0o755, 0, 0, 0));
        t.add_graft(&GraftPoint::parse(OsStr::from_bytes(
            format!("x/y={}", p.display()).as_bytes(),
        )))
        .unwrap();
        t.add_graft(&GraftPoint::parse(OsStr::from_bytes(
            format!("x/={}", p.join("sub/f").display()).as_bytes(),
        )))
        .unwrap();
        let y = t.mkdir_p(b"x/y").unwrap();
        let g = t.child(y, b"g").unwrap();
        let sub = t.child(y, b"sub").unwrap();
        let f = t.child(sub, b"f").unwrap();
        assert!(matches!(t.node(g).kind, NodeKind::File { size: 4, .. }));
        assert!(matches!(t.node(f).kind, NodeKind::HardLink(id) if id == g));
        assert!(
            matches!(&t.node(t.child(y, b"l").unwrap()).kind, NodeKind::Symlink(s) if s == b"sub/f")
        );
        let x = t.mkdir_p(b"x").unwrap();
        assert!(t.child(x, b"f").is_some());
        assert!(t
            .add_graft(&GraftPoint::parse(OsStr::new("z=/nonexistent/really")))
            .is_err());
    }
}
