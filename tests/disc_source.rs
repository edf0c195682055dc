//! A cedar image (iso9660) written to an emulated DVD+R through the mmc drive
//! layer, then read back and imported through the drive itself
//! (`engine::disc::DiscSource`): what store does with the previous session.

use std::time::Duration;

use cedar::engine::disc::DiscSource;
use iso9660::{FileData, Layout, Limits, Metadata, Options, Reader, Tree};
use mmc::{Drive, NoProgress, WriteOptions};

const T: i64 = 1_700_000_000;

/// A session holding `files` (path, contents), placed at `start`, over the
/// imported `previous` tree when there is one.
fn image(tree: Option<Tree>, start: u32, files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut tree = tree.unwrap_or_else(|| Tree::new(Metadata::new(0o755, 0, 0, T)));
    for (path, data) in files {
        let size = data.len() as u64;
        tree.add_file(
            path.as_bytes(),
            Metadata::new(0o644, 1000, 100, T),
            FileData::Bytes(data.clone()),
            size,
        )
        .unwrap();
    }
    let opts = Options {
        volume_id: "CEDAR BACKUP".into(),
        start_lba: start,
        timestamp: T,
        ..Options::default()
    };
    let mut layout = Layout::plan(tree, opts).unwrap();
    let mut out = Vec::new();
    layout.write(&mut out, &mut ()).unwrap();
    out
}

fn content(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

fn write(d: &mut Drive, img: &[u8]) -> mmc::WriteReport {
    let opts = WriteOptions {
        expected_blocks: Some((img.len() / 2048) as u32),
        ..WriteOptions::default()
    };
    d.check_fits((img.len() / 2048) as u32).unwrap();
    d.write_session(&mut &img[..], &opts, &mut NoProgress)
        .unwrap()
}

/// A drive holding a blank emulated DVD+R in `dir`.
fn blank_dvd_plus_r(dir: &tempfile::TempDir) -> Drive {
    let spec = format!(
        "emulated:{}?profile=dvd+r&busy=0",
        dir.path().join("disc.iso").display()
    );
    let mut d = Drive::open(&spec).unwrap();
    d.set_poll_interval(Duration::from_millis(1));
    d
}

#[test]
fn a_session_written_to_a_dvd_plus_r_is_imported_back_through_the_drive() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = blank_dvd_plus_r(&dir);

    // Night one: a small file and one spanning many blocks.
    let day1 = [
        ("2026/11/30/etc.tar.gz", content(1, 300_000)),
        ("2026/11/30/cback.stage", Vec::new()),
    ];
    let r1 = write(&mut d, &image(None, 0, &day1));
    assert_eq!(r1.start, 0);

    // Night two: the previous session imported from the disc, through the drive.
    let next = d.medium_info().unwrap().msinfo().unwrap();
    assert_eq!(next.0, 0);
    let tree = {
        let mut reader =
            Reader::from_source(DiscSource::new(&mut d), next.0, Limits::default()).unwrap();
        let mut tree = Tree::new(Metadata::new(0o755, 0, 0, T));
        tree.import_session(&mut reader).unwrap();
        tree
    };
    let day2 = [("2026/12/01/home.tar.bz2", content(2, 70_000))];
    let r2 = write(&mut d, &image(Some(tree), next.1, &day2));
    assert_eq!(r2.start, next.1);

    // The newest session, read through the drive, shows both nights.
    let info = d.medium_info().unwrap();
    let last = info.last_session_start.unwrap();
    assert_eq!(last, r2.start);
    let mut reader = Reader::from_source(DiscSource::new(&mut d), last, Limits::default()).unwrap();
    for (path, data) in day1.iter().chain(day2.iter()) {
        let entry = reader
            .lookup(format!("/{path}"))
            .unwrap()
            .unwrap_or_else(|| panic!("{path} missing from the newest session"));
        assert_eq!(entry.size, data.len() as u64, "{path}");
        assert_eq!(&reader.read_to_vec(&entry).unwrap(), data, "{path}");
    }
    assert_eq!(reader.volume().descriptor.volume_id.trim(), "CEDAR BACKUP");
}

#[test]
fn a_drive_read_error_reaches_the_image_reader_with_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = blank_dvd_plus_r(&dir);
    write(&mut d, &image(None, 0, &[("a", content(3, 10))]));
    // Nothing is recorded where the next session would start.
    let nwa = d.medium_info().unwrap().next_writable.unwrap();
    let Err(e) = Reader::from_source(DiscSource::new(&mut d), nwa, Limits::default()) else {
        panic!("a session was found in unrecorded space");
    };
    // The block is named in the cause chain, as the user sees it.
    let text = cedar::engine::util::error_line(&e);
    assert!(
        text.contains(&format!("reading block {}", nwa + 16)),
        "{text}"
    );
    // The typed drive error is still there for a caller to branch on.
    let iso9660::Error::Io(io) = &e else {
        panic!("{e:?}")
    };
    let read = io
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<mmc::ReadError>())
        .expect("the drive's ReadError");
    assert_eq!(read.lba(), Some(nwa + 16));
}
