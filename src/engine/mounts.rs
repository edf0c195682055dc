//! Whether a device is mounted, as Cedar's `deviceMounted` asks before it
//! writes: the device (symlinks resolved, so `/dev/cdrw` finds `/dev/sr0`)
//! is the source of a line of `/proc/self/mounts`. For cedar's emulated
//! burner the image counts as mounted when it is a mount's source or the
//! backing file of a loop device that is (`/sys/block/loopN/loop/backing_file`).
//! A SCSI generic node (`/dev/sgN`) is the same drive as its block device
//! (`/dev/srN`): it counts as mounted when that is
//! (`/sys/dev/char/MAJ:MIN/device/block/`).

use std::path::{Path, PathBuf};

/// The mount points whose source is `source` in a mounts table (`text`, as
/// `/proc/self/mounts` prints it, with octal escapes), comparing resolved
/// paths.
pub fn mount_points(text: &str, source: &Path) -> Vec<PathBuf> {
    let want = resolve(source);
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let src = unescape(fields.next()?);
            let target = unescape(fields.next()?);
            (resolve(Path::new(&src)) == want).then(|| PathBuf::from(target))
        })
        .collect()
}

/// Where `device` is mounted, if it is: a drive path directly, an emulated
/// image directly or through a loop device. `None` when nothing is found or
/// the mounts table cannot be read.
pub fn mounted(device: &mmc::DeviceString) -> Option<(PathBuf, PathBuf)> {
    let table = std::fs::read_to_string("/proc/self/mounts").ok()?;
    let sources = match device {
        mmc::DeviceString::Drive(path) => {
            let mut v = vec![path.clone()];
            v.extend(block_devices_of(path));
            v
        }
        mmc::DeviceString::Emulated { image, .. } => {
            let mut v = vec![image.clone()];
            v.extend(loops_backed_by(image));
            v
        }
    };
    sources.into_iter().find_map(|source| {
        mount_points(&table, &source)
            .into_iter()
            .next()
            .map(|point| (source, point))
    })
}

/// The block devices (`/dev/srN`) of the drive whose SCSI generic node
/// (`/dev/sgN`, any name: found by its device number) is `path`; none for
/// anything else.
fn block_devices_of(path: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    if !meta.file_type().is_char_device() {
        return Vec::new();
    }
    let (major, minor) = (
        nix::sys::stat::major(meta.rdev()),
        nix::sys::stat::minor(meta.rdev()),
    );
    let Ok(entries) = std::fs::read_dir(format!("/sys/dev/char/{major}:{minor}/device/block"))
    else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| Path::new("/dev").join(e.file_name()))
        .collect()
}

/// The loop devices (`/dev/loopN`) whose backing file is `image`.
fn loops_backed_by(image: &Path) -> Vec<PathBuf> {
    let want = resolve(image);
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("loop"))
        .filter(|e| {
            std::fs::read_to_string(e.path().join("loop/backing_file"))
                .is_ok_and(|b| resolve(Path::new(b.trim_end())) == want)
        })
        .map(|e| Path::new("/dev").join(e.file_name()))
        .collect()
}

fn resolve(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The kernel's octal escapes in mounts fields (`\040` for a space).
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_device_through_symlinks_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("sr0");
        std::fs::write(&dev, "").unwrap();
        let link = dir.path().join("cd rw");
        std::os::unix::fs::symlink(&dev, &link).unwrap();
        let table = format!(
            "proc /proc proc rw 0 0\n{} /media/cd\\040rom iso9660 ro 0 0\n",
            link.display().to_string().replace(' ', "\\040")
        );
        assert_eq!(mount_points(&table, &dev), [PathBuf::from("/media/cd rom")]);
        assert!(mount_points(&table, &dir.path().join("sr1")).is_empty());
    }

    #[test]
    fn a_file_or_block_path_has_no_generic_aliases() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sg0");
        std::fs::write(&f, "").unwrap();
        assert!(block_devices_of(&f).is_empty());
        assert!(block_devices_of(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn an_unmounted_image_is_not_mounted() {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("disc.img");
        std::fs::write(&image, "").unwrap();
        let dev = mmc::DeviceString::Emulated {
            image,
            options: Default::default(),
        };
        assert_eq!(mounted(&dev), None);
    }
}
