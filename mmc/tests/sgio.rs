//! The SG_IO open path, as far as a machine without an optical drive allows:
//! missing devices, files, directories, non-SCSI devices and mounted devices
//! are refused with one clear message naming the device.

use mmc::{open_device, SgIo};
use std::path::Path;

fn open_err(path: &str) -> String {
    match SgIo::open(Path::new(path)) {
        Ok(d) => panic!("{path} opened as a drive: {d:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_missing_device_is_named_with_the_os_error() {
    let e = open_err("/dev/sr99-does-not-exist");
    assert_eq!(
        e,
        "cannot use /dev/sr99-does-not-exist: No such file or directory (os error 2)"
    );
}

#[test]
fn a_regular_file_or_directory_is_not_a_drive() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.iso");
    std::fs::write(&file, b"not a drive").unwrap();
    let e = open_err(file.to_str().unwrap());
    assert!(e.contains("is a regular file, not a drive"), "{e}");
    assert!(e.contains("emulated:PATH?profile=NAME"), "{e}");
    let e = open_err(dir.path().to_str().unwrap());
    assert!(e.contains("is a directory"), "{e}");
}

#[test]
fn dev_null_is_not_a_scsi_device() {
    let e = open_err("/dev/null");
    assert_eq!(
        e,
        "cannot use /dev/null: does not accept SG_IO (not a SCSI/ATAPI drive)"
    );
}

#[test]
fn a_mounted_block_device_is_refused_before_it_is_opened() {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mounted = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .find(|src| {
            std::fs::metadata(src).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_block_device()
            })
        });
    let Some(dev) = mounted else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: nothing is mounted from a block device here"
        );
        eprintln!("nothing is mounted from a block device here; covered by the unit test");
        return;
    };
    let e = open_err(dev);
    assert!(
        e.contains("is mounted") && e.contains("unmount it first"),
        "{e}"
    );
}

#[test]
fn open_device_routes_paths_and_emulated_strings() {
    let e = open_device("/dev/null").unwrap_err().to_string();
    assert!(e.contains("does not accept SG_IO"), "{e}");
    let e = open_device("").unwrap_err().to_string();
    assert!(e.contains("no device given"), "{e}");
    let e = open_device("emulated:/x?profile=floppy")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown profile \"floppy\""), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "emulated:{}?profile=bd-re",
        dir.path().join("d.img").display()
    );
    let t = open_device(&spec).unwrap();
    assert_eq!(t.name(), spec);
}
