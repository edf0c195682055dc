//! Unpacking a tar archive (plain, gzip or bzip2, as collect writes them)
//! into a target directory with the members' paths, modes, mtimes and (as
//! root) owners, refusing every member that would land outside the target:
//! absolute names and `..` components are refused by name, symlinks whose
//! target leads out of the target directory and hard links to names
//! outside it are refused, and nothing is written through a symlink
//! already in the target (the tar crate's `unpack_in` checks each parent).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Which compression an archive name says it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `.tar`
    None,
    /// `.tar.gz`, `.tgz`
    Gzip,
    /// `.tar.bz2`
    Bzip2,
}

impl Compression {
    /// The compression of an archive named `name`, None when the name is
    /// not a tar archive's.
    pub fn of(name: &str) -> Option<Compression> {
        if name.ends_with(".tar") {
            Some(Compression::None)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Compression::Gzip)
        } else if name.ends_with(".tar.bz2") {
            Some(Compression::Bzip2)
        } else {
            None
        }
    }
}

/// What an unpack did.
#[derive(Debug, Default)]
pub struct Unpacked {
    /// Members written.
    pub members: u64,
    /// Members refused, with the reason.
    pub refused: Vec<String>,
    /// Members this unpack created (nothing was at their path before), in
    /// the order written, relative to the target: what [`Unpacked::undo`]
    /// removes.
    pub created: Vec<PathBuf>,
}

impl Unpacked {
    /// Removes what this unpack created below `dest` (newest first; a
    /// directory only when it is empty), for an archive found damaged
    /// part way, so none of it is left behind.
    pub fn undo(&self, dest: &Path) {
        for rel in self.created.iter().rev() {
            let p = dest.join(rel);
            let is_dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
            let r = if is_dir {
                std::fs::remove_dir(&p)
            } else {
                std::fs::remove_file(&p)
            };
            if let Err(e) = r {
                log::warn!("{}: not removed: {e}", p.display());
            }
        }
    }
}

/// Why a member path is refused, if it is.
fn path_problem(path: &Path) -> Option<&'static str> {
    for c in path.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => return Some("absolute name"),
            Component::ParentDir => return Some("'..' in the name"),
            _ => {}
        }
    }
    None
}

/// Whether `target` of a symlink at `link` (both relative to the target
/// directory) stays inside it, resolved by name.
fn link_stays_inside(link: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = link.parent().map_or(0, |p| {
        p.components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .count() as i64
    });
    for c in target.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// Unpacks the archive `r` into `dest` (created if missing), telling in
/// `out` what was written, refused and created (also when it fails part
/// way, so the caller can [`Unpacked::undo`] it).
pub fn unpack(
    r: impl Read,
    compression: Compression,
    dest: &Path,
    out: &mut Unpacked,
) -> std::io::Result<()> {
    let r: Box<dyn Read> = match compression {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(r)),
        Compression::Bzip2 => Box::new(bzip2::read::BzDecoder::new(r)),
    };
    std::fs::create_dir_all(dest)?;
    let root = nix::unistd::geteuid().is_root();
    let mut archive = tar::Archive::new(r);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(root);
    archive.set_unpack_xattrs(false);
    let mut dirs: Vec<(PathBuf, u64)> = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let shown = path.display().to_string();
        if let Some(why) = path_problem(&path) {
            out.refused.push(format!("{shown}: {why}"));
            continue;
        }
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let Some(target) = entry.link_name()?.map(|t| t.into_owned()) else {
                out.refused.push(format!("{shown}: link without a target"));
                continue;
            };
            let inside = if kind.is_symlink() {
                link_stays_inside(&path, &target)
            } else {
                path_problem(&target).is_none()
            };
            if !inside {
                out.refused.push(format!(
                    "{shown}: link to {} leads out of the target",
                    target.display()
                ));
                continue;
            }
        }
        if kind.is_dir() {
            dirs.push((path.clone(), entry.header().mtime().unwrap_or(0)));
        }
        // Recorded before unpacking, so that a member cut short by a damaged
        // archive, and the parent directories made for it, are undone too.
        let recorded = out.created.len();
        for p in path
            .ancestors()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            if !p.as_os_str().is_empty() && std::fs::symlink_metadata(dest.join(p)).is_err() {
                out.created.push(p.to_path_buf());
            }
        }
        if std::fs::symlink_metadata(dest.join(&path)).is_err() {
            out.created.push(path.clone());
        }
        if entry.unpack_in(dest)? {
            out.members += 1;
        } else {
            out.created.truncate(recorded);
            out.refused
                .push(format!("{shown}: leads out of the target"));
        }
    }
    // Directories' mtimes last: unpacking their members changed them.
    for (d, mtime) in dirs.iter().rev() {
        let t = nix::sys::time::TimeSpec::new(mtime.cast_signed(), 0);
        let _ = nix::sys::stat::utimensat(
            None,
            &dest.join(d),
            &t,
            &t,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(b: &mut tar::Builder<Vec<u8>>, name: &[u8], kind: tar::EntryType, link: &str) {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_mode(0o640);
        h.set_uid(u64::from(nix::unistd::geteuid().as_raw()));
        h.set_gid(u64::from(nix::unistd::getegid().as_raw()));
        h.set_mtime(1_000_000_000);
        let data: &[u8] = if kind == tar::EntryType::Regular {
            b"data"
        } else {
            b""
        };
        h.set_size(data.len() as u64);
        if !link.is_empty() {
            h.set_link_name(link).unwrap();
        }
        h.set_cksum();
        b.append(&h, data).unwrap();
    }

    #[test]
    fn escapes_are_refused_and_the_rest_unpacked_with_modes_and_mtimes() {
        let mut b = tar::Builder::new(Vec::new());
        member(&mut b, b"etc/ok", tar::EntryType::Regular, "");
        member(&mut b, b"../evil", tar::EntryType::Regular, "");
        member(&mut b, b"/abs", tar::EntryType::Regular, "");
        member(&mut b, b"etc/out", tar::EntryType::Symlink, "../../x");
        member(&mut b, b"etc/abs", tar::EntryType::Symlink, "/etc/passwd");
        member(&mut b, b"etc/in", tar::EntryType::Symlink, "../etc/ok");
        let data = b.into_inner().unwrap();
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("t");
        let mut u = Unpacked::default();
        unpack(&data[..], Compression::None, &dest, &mut u).unwrap();
        assert_eq!(u.members, 2, "{:?}", u.refused);
        assert_eq!(u.refused.len(), 4, "{:?}", u.refused);
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(dest.join("etc/ok")).unwrap();
        assert_eq!((m.mode() & 0o7777, m.mtime()), (0o640, 1_000_000_000));
        assert!(!d.path().join("evil").exists());
        assert_eq!(std::fs::read(dest.join("etc/in")).unwrap(), b"data");
    }

    /// Reads `data`, then fails (a damaged part of the disc).
    struct CutShort<'d>(&'d [u8]);

    impl Read for CutShort<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("block 42 unreadable"));
            }
            let n = self.0.read(buf)?;
            Ok(n)
        }
    }

    #[test]
    fn a_member_cut_short_is_undone_with_the_directories_made_for_it() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_path("home/user/big").unwrap();
        h.set_mode(0o644);
        h.set_size(4096);
        h.set_cksum();
        b.append(&h, &[7u8; 4096][..]).unwrap();
        let data = b.into_inner().unwrap();
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("t");
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::write(dest.join("kept"), b"there before").unwrap();
        let mut u = Unpacked::default();
        // The header and half the member's data, then a read error.
        let r = unpack(
            CutShort(&data[..512 + 2048]),
            Compression::None,
            &dest,
            &mut u,
        );
        assert!(r.is_err());
        assert!(dest.join("home/user").exists(), "the unpack got under way");
        u.undo(&dest);
        let left: Vec<_> = std::fs::read_dir(&dest)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["kept"]);
    }

    #[test]
    fn compression_by_name() {
        assert_eq!(Compression::of("a.tar.gz"), Some(Compression::Gzip));
        assert_eq!(Compression::of("a.tar.bz2"), Some(Compression::Bzip2));
        assert_eq!(Compression::of("a.tar"), Some(Compression::None));
        assert_eq!(Compression::of("a.gz"), None);
    }
}
