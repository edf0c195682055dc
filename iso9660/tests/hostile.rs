//! Hostile previous sessions and racing source trees: every attack of the
//! audit, with the exact image, is refused with an error naming the entry
//! or handled as documented, within bounded memory and time.
//!
//! Memory is measured, not guessed: this test binary counts the bytes each
//! thread has allocated and reports the peak of every case.

mod images;

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::time::{Duration, Instant};

use images::*;
use iso9660::{
    exercise, exercise_store, EntryKind, Error, FileData, Layout, Level, Metadata, NodeKind,
    Options, Reader, RockRidge, Tree,
};

struct Counting;

thread_local! {
    static NOW: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the bookkeeping touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: AllocLayout) -> *mut u8 {
        let _ = NOW.try_with(|n| {
            n.set(n.get() + l.size());
            let _ = PEAK.try_with(|p| p.set(p.get().max(n.get())));
        });
        unsafe { System.alloc(l) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, l: AllocLayout) {
        let _ = NOW.try_with(|n| n.set(n.get().saturating_sub(l.size())));
        unsafe { System.dealloc(ptr, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result, the peak bytes it allocated on this
/// thread above what was live before, and the time it took.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    let base = NOW.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let t = Instant::now();
    let out = f();
    let took = t.elapsed();
    (out, PEAK.with(Cell::get) - base, took)
}

fn import(img: &[u8]) -> iso9660::Result<Tree> {
    let mut tree = Tree::new(Metadata::new(0o755, 0, 0, 0));
    tree.import_session(&mut Reader::open(Cursor::new(img))?)?;
    Ok(tree)
}

fn meta(mode: u32) -> Metadata {
    Metadata::new(mode, 1000, 100, 1_700_000_000)
}

fn bytes(b: &[u8]) -> FileData {
    FileData::Bytes(b.to_vec())
}

/// Writes `img` as a fuzz seed when ISO_WRITE_SEEDS names a directory.
fn seed(name: &str, img: &[u8]) {
    if let Some(dir) = std::env::var_os("ISO_WRITE_SEEDS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), img).unwrap();
    }
}

/// The import fails with [`Error::Imported`] naming `entry`, saying `why`;
/// the store path (import, merge, write, read back) fails the same way.
fn refused(name: &str, img: &[u8], entry: &str, why: &str) {
    seed(name, img);
    let err = import(img)
        .err()
        .unwrap_or_else(|| panic!("{name}: imported"));
    let msg = err.to_string();
    assert!(matches!(err, Error::Imported { .. }), "{name}: {msg}");
    assert!(msg.contains(entry) && msg.contains(why), "{name}: {msg}");
    assert!(!msg.contains('\n'), "{name}: one line: {msg}");
    let err = exercise_store(img).unwrap_err();
    assert!(matches!(err, Error::Imported { .. }), "{name}: {err}");
}

/// The reader itself refuses the directory record named `entry` (quoted)
/// for `why`: walking the image (as restore does) fails with
/// [`Error::Malformed`], and so do the import and the store path.
fn unreadable(name: &str, img: &[u8], entry: &str, why: &str) {
    seed(name, img);
    let check = |err: Error| {
        let msg = err.to_string();
        assert!(matches!(err, Error::Malformed { .. }), "{name}: {msg}");
        assert!(
            msg.contains(&format!("named {entry}")) && msg.contains(why),
            "{name}: {msg}"
        );
        assert!(!msg.contains('\n'), "{name}: one line: {msg}");
    };
    let mut reader = Reader::open(Cursor::new(img)).unwrap();
    let mut paths = Vec::new();
    let walked = reader.walk(|p, _| {
        paths.push(String::from_utf8_lossy(p).into_owned());
        Ok(())
    });
    check(walked.expect_err(&format!("{name}: walked to {paths:?}")));
    check(
        import(img)
            .err()
            .unwrap_or_else(|| panic!("{name}: imported")),
    );
    check(exercise_store(img).unwrap_err());
}

fn rr_image(build: impl FnOnce(&mut Tree)) -> Vec<u8> {
    let mut tree = Tree::new(meta(0o755));
    build(&mut tree);
    image(tree, Options::default())
}

#[test]
fn a_name_with_a_slash_is_refused_not_followed() {
    let mut img = rr_image(|t| {
        t.add_file(b"etc/a_b", meta(0o644), bytes(b"x"), 1).unwrap();
    });
    patch_nm(&mut img, b"a_b", b"a/b");
    unreadable("nm-slash.iso", &img, r#""a/b""#, "contains '/'");
}

#[test]
fn an_absolute_name_cannot_inject_a_setuid_file() {
    let mut img = rr_image(|t| {
        t.mkdir_p(b"etc").unwrap();
        t.add_file(
            b"xetcxpasswd",
            meta(0o4755),
            bytes(b"root::0:0::/:/bin/sh\n"),
            21,
        )
        .unwrap();
    });
    patch_nm(&mut img, b"xetcxpasswd", b"/etc/passwd");
    unreadable("nm-absolute.iso", &img, r#""/etc/passwd""#, "contains '/'");
}

#[test]
fn a_directory_named_dot_cannot_take_over_its_parent() {
    let mut img = rr_image(|t| {
        t.add_file(b"dd/inner", meta(0o644), bytes(b"x"), 1)
            .unwrap();
        let d = t.mkdir_p(b"dd").unwrap();
        *t.meta_mut(d) = meta(0o7777);
    });
    // NM flag 2 means ".".
    let at = nm_at(&img, b"dd");
    img[at + 4] = 2;
    unreadable("nm-dot.iso", &img, r#"".""#, r#"the name is ".""#);
    let mut img = rr_image(|t| {
        t.add_file(b"dd/inner", meta(0o644), bytes(b"x"), 1)
            .unwrap();
    });
    let at = nm_at(&img, b"dd");
    img[at + 4] = 4;
    unreadable("nm-dotdot.iso", &img, r#""..""#, r#"the name is "..""#);
}

#[test]
fn an_empty_name_is_refused() {
    let mut img = rr_image(|t| {
        t.add_file(b"ee/inner", meta(0o644), bytes(b"x"), 1)
            .unwrap();
    });
    let at = nm_at(&img, b"ee");
    img[at + 2] = 5;
    img[at + 5] = 0;
    img[at + 6] = 0;
    unreadable("nm-empty.iso", &img, r#""""#, "the name is empty");
}

#[test]
fn a_plain_iso_identifier_with_a_slash_is_refused() {
    let mut tree = Tree::new(meta(0o755));
    tree.add_file(b"etcxpasswd", meta(0o644), bytes(b"x"), 1)
        .unwrap();
    let mut img = image(
        tree,
        Options {
            rock_ridge: None,
            level: Level::Two,
            ..Options::default()
        },
    );
    let hits = find_all(&img, b"ETCXPASSWD.;1");
    assert_eq!(hits.len(), 1);
    img[hits[0] + 3] = b'/';
    unreadable("iso-slash.iso", &img, r#""ETC/PASSWD""#, "contains '/'");
}

#[test]
fn duplicate_names_are_refused() {
    let mut img = rr_image(|t| {
        t.add_file(b"aa/one", meta(0o644), bytes(b"1"), 1).unwrap();
        t.add_file(b"ab/two", meta(0o644), bytes(b"2"), 1).unwrap();
    });
    patch_nm(&mut img, b"ab", b"aa");
    refused(
        "nm-duplicate.iso",
        &img,
        r#"/"aa""#,
        "a second entry of this name",
    );
}

#[test]
fn a_name_over_255_bytes_is_refused() {
    let mut b = Builder::new();
    let mut su = Vec::new();
    px(0o100644, 5).encode(&mut su);
    // The root takes block 20; the name continues in block 21.
    ce(21).encode(&mut su);
    b.rr_root(&[Rec {
        ident: b"LONG.;1".to_vec(),
        dir: false,
        extent: 0,
        size: 0,
        su,
    }]);
    let mut area = Vec::new();
    iso9660::SuspEntry::Nm {
        flags: 1,
        name: vec![b'n'; 200],
    }
    .encode(&mut area);
    iso9660::SuspEntry::Nm {
        flags: 0,
        name: vec![b'n'; 56],
    }
    .encode(&mut area);
    assert_eq!(b.raw(&area), 21);
    let img = b.finish();
    refused(
        "nm-256.iso",
        &img,
        "/\"nnnn",
        "256 bytes long, more than 255",
    );
}

#[test]
fn symlinks_with_empty_or_nul_targets_are_refused() {
    let mut img = rr_image(|t| {
        t.add(b"s", meta(0o777), NodeKind::Symlink(b"abc".to_vec()))
            .unwrap();
    });
    let sl = find_all(&img, b"SL\x0a\x01\x00\x00\x03abc");
    assert_eq!(sl.len(), 1);
    let mut empty = img.clone();
    empty[sl[0] + 2] = 5;
    empty[sl[0] + 5..sl[0] + 10].fill(0);
    refused("sl-empty.iso", &empty, r#"/"s""#, "symlink target is empty");
    img[sl[0] + 8] = 0;
    refused(
        "sl-nul.iso",
        &img,
        r#"/"s""#,
        "symlink target contains a NUL",
    );
    // New content is held to the same rule.
    let mut t = Tree::new(meta(0o755));
    let err = t
        .add(b"x", meta(0o777), NodeKind::Symlink(Vec::new()))
        .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
}

/// Session 2 imports `img`, optionally adds new content, is written after
/// it and read back: (path, kind, bytes) of every file.
fn next_session(img: &[u8], add: impl FnOnce(&mut Tree)) -> Vec<(String, Vec<u8>)> {
    let mut tree = import(img).expect("imports");
    add(&mut tree);
    let start = (img.len() / SECTOR) as u32;
    let opts = Options {
        start_lba: start,
        ..Options::default()
    };
    let mut both = img.to_vec();
    Layout::plan(tree, opts)
        .expect("plans")
        .write(&mut both, &mut ())
        .expect("writes");
    let mut r = Reader::open_at(Cursor::new(both), start).unwrap();
    let mut files = Vec::new();
    r.walk(|p, e| {
        if e.kind == EntryKind::File {
            files.push((String::from_utf8_lossy(p).into_owned(), e.clone()));
        }
        Ok(())
    })
    .unwrap();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
        .into_iter()
        .map(|(p, e)| (p, r.read_to_vec(&e).unwrap()))
        .collect()
}

#[test]
fn a_shared_serial_does_not_merge_different_files() {
    let mut img = rr_image(|t| {
        t.add_file(b"f1", meta(0o644), bytes(b"first file"), 10)
            .unwrap();
        t.add_file(b"f2", meta(0o644), bytes(b"second one"), 10)
            .unwrap();
        let h = t.add_file(b"h1", meta(0o644), bytes(b"linked"), 6).unwrap();
        t.add(b"h2", meta(0o644), NodeKind::HardLink(h)).unwrap();
    });
    let p1 = px_before(&img, b"f1");
    let p2 = px_before(&img, b"f2");
    let serial = le32(&img, p1 + 36);
    both32(&mut img, p2 + 36, serial);
    both32(&mut img, p1 + 12, 2);
    both32(&mut img, p2 + 12, 2);
    seed("px-shared-serial.iso", &img);
    let files = next_session(&img, |_| {});
    let want: Vec<(String, Vec<u8>)> = [
        ("/f1", &b"first file"[..]),
        ("/f2", b"second one"),
        ("/h1", b"linked"),
        ("/h2", b"linked"),
    ]
    .iter()
    .map(|(p, b)| (p.to_string(), b.to_vec()))
    .collect();
    assert_eq!(files, want);
    // The true hard link is still one file, the false one two.
    let tree = import(&img).unwrap();
    let kind = |n: &[u8]| &tree.node(tree.child(tree.root(), n).unwrap()).kind;
    assert!(matches!(kind(b"h2"), NodeKind::HardLink(_)));
    assert!(matches!(kind(b"f2"), NodeKind::File { .. }));
}

/// What one hostile image costs: each path must fail (or succeed) within
/// 5 s and 64 MiB.
fn bounded(name: &str, img: &[u8]) -> Vec<String> {
    seed(name, img);
    let mut errors = Vec::new();
    let import = || import(img).map(|t| t.len() as u64);
    let exercise = || exercise(img);
    let store = || exercise_store(img);
    let runs: [(&str, &dyn Fn() -> iso9660::Result<u64>); 3] = [
        ("import", &import),
        ("exercise", &exercise),
        ("store", &store),
    ];
    for (what, run) in runs {
        let (r, peak, took) = measure(run);
        let msg = r.err().map(|e| e.to_string()).unwrap_or_default();
        eprintln!(
            "{name} ({} KiB): {what}: {msg:?}, peak {} KiB in {took:?}",
            img.len() >> 10,
            peak >> 10
        );
        assert!(peak < 64 << 20 && took < Duration::from_secs(5), "{name}");
        errors.push(msg);
    }
    errors
}

#[test]
fn a_deep_chain_of_shared_56k_names_is_cheap() {
    let small = deep_shared_chain(450);
    assert!(small.len() < 1 << 20);
    bounded("deep-450-shared-ce.iso", &small);
    let img = deep_shared_chain(900);
    assert!(img.len() > 1 << 20);
    let errors = bounded("deep-shared-ce.iso", &img);
    assert!(errors[0].contains("more than 255"), "{}", errors[0]);
    assert!(errors[0].len() < 300, "{}", errors[0]);
    assert!(
        errors[1].contains("is shared with another record"),
        "{}",
        errors[1]
    );
}

#[test]
fn a_flat_directory_sharing_one_chain_is_cheap() {
    let img = flat_shared_chain(14_334, nm_piece, 0o100644);
    assert!(img.len() > 1 << 20);
    let errors = bounded("flat-shared-ce-names.iso", &img);
    assert!(errors[0].contains("more than 255"), "{}", errors[0]);
    // Smaller, to fit the fuzz targets' 1 MiB inputs.
    for (name, fill, mode) in [
        ("flat-7000-names.iso", nm_piece as fn(bool) -> _, 0o100644),
        ("flat-7000-targets.iso", sl_piece, 0o120777),
    ] {
        let img = flat_shared_chain(7_000, fill, mode);
        assert!(img.len() < 1 << 20);
        let errors = bounded(name, &img);
        assert!(!errors[1].contains("directory larger"), "{}", errors[1]);
        assert!(
            errors[2].contains("previous session") || errors[2].contains("shared"),
            "{}",
            errors[2]
        );
    }
    // Long symlink targets and plain padding in the shared chain: the
    // second record to follow it is refused.
    for (name, fill, mode) in [
        (
            "flat-shared-ce-targets.iso",
            sl_piece as fn(bool) -> _,
            0o120777,
        ),
        ("flat-shared-ce-padding.iso", junk_piece, 0o100644),
    ] {
        let img = flat_shared_chain(14_334, fill, mode);
        let errors = bounded(name, &img);
        assert!(errors[0].contains("F0000001.;1"), "{}", errors[0]);
        assert!(
            errors[0].contains("is shared with another record"),
            "{}",
            errors[0]
        );
    }
}

/// The budgets hold on images whose areas are not shared, too.
#[test]
fn system_use_and_name_budgets_stop_an_operation() {
    let img = rr_image(|t| {
        for i in 0..50 {
            t.add(
                format!("l{i}").as_bytes(),
                meta(0o777),
                NodeKind::Symlink(format!("/{}", "t/".repeat(600)).into_bytes()),
            )
            .unwrap();
        }
    });
    let open = |limits: iso9660::Limits| {
        Reader::from_source(iso9660::ReadSeekSource(Cursor::new(img.clone())), 0, limits).unwrap()
    };
    let tight = iso9660::Limits {
        max_su_bytes: 20_000,
        ..iso9660::Limits::default()
    };
    let mut t = Tree::new(meta(0o755));
    let err = t.import_session(&mut open(tight)).unwrap_err();
    assert!(err.to_string().contains("system use areas add up"), "{err}");
    let tight = iso9660::Limits {
        max_name_bytes: 20_000,
        ..iso9660::Limits::default()
    };
    let mut t = Tree::new(meta(0o755));
    let err = t.import_session(&mut open(tight)).unwrap_err();
    assert!(
        err.to_string().contains("names and symlink targets add up"),
        "{err}"
    );
    let tight = iso9660::Limits {
        max_entries: 49,
        ..iso9660::Limits::default()
    };
    let mut t = Tree::new(meta(0o755));
    let err = t.import_session(&mut open(tight)).unwrap_err();
    assert!(err.to_string().contains("limit of 49 entries"), "{err}");
    let mut t = Tree::new(meta(0o755));
    t.import_session(&mut open(iso9660::Limits::default()))
        .unwrap();
    assert_eq!(t.len(), 51);
}

/// The documented bound on a real session: import memory per directory
/// byte read.
#[test]
fn import_memory_is_linear_in_directory_bytes() {
    let mut tree = Tree::new(meta(0o755));
    for i in 0..20_000 {
        let name = format!("day{:03}/file-with-a-longish-name-{i:06}.tar.gz", i % 200);
        tree.add_file(name.as_bytes(), meta(0o644), bytes(b"x"), 1)
            .unwrap();
    }
    let img = image(tree, Options::default());
    let mut dir_bytes = 0u64;
    let mut r = Reader::open(Cursor::new(img.clone())).unwrap();
    dir_bytes += r.root().size;
    r.walk(|_, e| {
        if e.kind == EntryKind::Directory {
            dir_bytes += e.size;
        }
        Ok(())
    })
    .unwrap();
    let (t, peak, took) = measure(|| import(&img).unwrap());
    assert_eq!(t.len(), 20_201);
    eprintln!(
        "20,000 files: {} KiB of directories, import peak {} KiB ({:.1}x, {} bytes/entry) in {took:?}",
        dir_bytes >> 10,
        peak >> 10,
        peak as f64 / dir_bytes as f64,
        peak / 20_201
    );
    assert!(
        (peak as u64) < 4 * dir_bytes,
        "import took {peak} bytes for {dir_bytes} directory bytes"
    );
}

#[test]
fn new_content_replaces_imported_entries() {
    let img = rr_image(|t| {
        t.add_file(b"2026/11/30/a.tar", meta(0o644), bytes(b"old a"), 5)
            .unwrap();
        t.add_file(b"2026/11/30/b.tar", meta(0o644), bytes(b"old b"), 5)
            .unwrap();
        t.add_file(b"keep", meta(0o644), bytes(b"kept"), 4).unwrap();
        t.add_file(b"gone/x", meta(0o644), bytes(b"x"), 1).unwrap();
        let h = t.add_file(b"l1", meta(0o644), bytes(b"linked"), 6).unwrap();
        t.add(b"l2", meta(0o644), NodeKind::HardLink(h)).unwrap();
        t.add(b"l3", meta(0o644), NodeKind::HardLink(h)).unwrap();
    });
    let files = next_session(&img, |t| {
        t.add_file(b"2026/11/30/a.tar", meta(0o600), bytes(b"new a!"), 6)
            .unwrap();
        t.add_file(b"2026/11/30/c.tar", meta(0o644), bytes(b"new c"), 5)
            .unwrap();
        // A file replaces a whole directory, a directory replaces a file.
        t.add_file(b"gone", meta(0o644), bytes(b"file now"), 8)
            .unwrap();
        t.add_file(b"keep2/inside", meta(0o644), bytes(b"in"), 2)
            .unwrap();
        // Replacing the first name of a hard-linked file keeps the others.
        t.add_file(b"l1", meta(0o644), bytes(b"replaced"), 8)
            .unwrap();
        // New content twice is still an error.
        let err = t
            .add_file(b"2026/11/30/c.tar", meta(0o644), bytes(b""), 0)
            .unwrap_err();
        assert!(err.to_string().contains("added twice"), "{err}");
    });
    let got: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/2026/11/30/a.tar", &b"new a!"[..]),
            ("/2026/11/30/b.tar", b"old b"),
            ("/2026/11/30/c.tar", b"new c"),
            ("/gone", b"file now"),
            ("/keep", b"kept"),
            ("/keep2/inside", b"in"),
            ("/l1", b"replaced"),
            ("/l2", b"linked"),
            ("/l3", b"linked"),
        ]
    );
    // The remaining links are still one file with the right link count.
    let mut tree = import(&img).unwrap();
    tree.add_file(b"l1", meta(0o644), bytes(b"replaced"), 8)
        .unwrap();
    let start = (img.len() / SECTOR) as u32;
    let mut both = img.clone();
    Layout::plan(
        tree,
        Options {
            start_lba: start,
            ..Options::default()
        },
    )
    .unwrap()
    .write(&mut both, &mut ())
    .unwrap();
    let mut r = Reader::open_at(Cursor::new(both), start).unwrap();
    let l2 = r.lookup("/l2").unwrap().unwrap();
    let l3 = r.lookup("/l3").unwrap().unwrap();
    let l1 = r.lookup("/l1").unwrap().unwrap();
    assert_eq!((l2.nlink, l3.nlink, l1.nlink), (2, 2, 1));
    assert_eq!(l2.serial, l3.serial);
    assert_ne!(l1.serial, l2.serial);
}

fn race_tree(dir: &std::path::Path) -> Tree {
    std::fs::write(dir.join("f"), b"planned bytes").unwrap();
    let mut tree = Tree::new(meta(0o755));
    tree.add_graft(&iso9660::GraftPoint {
        disc: b"day".to_vec(),
        host: dir.to_path_buf(),
    })
    .unwrap();
    tree
}

/// Plans, lets `swap` change the source, then writes (at most 10 s).
fn write_after(swap: impl FnOnce(&std::path::Path)) -> iso9660::Result<u64> {
    let d = tempfile::tempdir().unwrap();
    let tree = race_tree(d.path());
    let mut layout = Layout::plan(tree, Options::default()).unwrap();
    swap(&d.path().join("f"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(layout.write(std::io::sink(), &mut ()));
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the write did not block")
}

#[test]
fn a_file_swapped_after_planning_is_not_written() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), b"the secret!!!").unwrap();
    let target = secret.path().to_path_buf();
    let err = write_after(|f| {
        std::fs::remove_file(f).unwrap();
        std::os::unix::fs::symlink(&target, f).unwrap();
    })
    .unwrap_err();
    assert!(matches!(err, Error::SourceChanged { .. }), "{err}");
    assert!(err.to_string().contains("now a symlink"), "{err}");

    let err = write_after(|f| {
        std::fs::remove_file(f).unwrap();
        let c = std::ffi::CString::new(f.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    })
    .unwrap_err();
    assert!(err.to_string().contains("now a FIFO"), "{err}");

    let err = write_after(|f| {
        let other = f.with_file_name("other");
        std::fs::write(&other, b"other content").unwrap();
        std::fs::rename(&other, f).unwrap();
    })
    .unwrap_err();
    assert!(err.to_string().contains("now another file"), "{err}");

    // Unchanged, or changed in place (same inode), it is written.
    write_after(|_| {}).unwrap();
}

#[test]
fn device_numbers_linux_cannot_read_are_refused() {
    let mut t = Tree::new(meta(0o755));
    let dev = |major, minor| NodeKind::Device {
        kind: iso9660::DeviceKind::Block,
        major,
        minor,
    };
    let err = t.add(b"d", meta(0o600), dev(0, 45_132)).unwrap_err();
    assert!(err.to_string().contains("major 0"), "{err}");
    t.add(b"ok0", meta(0o600), dev(0, 255)).unwrap();
    t.add(b"ok1", meta(0o600), dev(1, 45_132)).unwrap();
}

#[test]
fn rationalized_symlinks_are_0555_like_mkisofs() {
    let mut tree = Tree::new(meta(0o755));
    tree.add(b"s", meta(0o777), NodeKind::Symlink(b"target".to_vec()))
        .unwrap();
    let img = image(
        tree,
        Options {
            rock_ridge: Some(RockRidge::Rationalized),
            ..Options::default()
        },
    );
    let mut r = Reader::open(Cursor::new(img)).unwrap();
    let s = r.lookup("/s").unwrap().unwrap();
    assert_eq!(s.meta.mode, 0o555);
}

/// Reads from an image, failing at one block once told which.
struct Failing {
    img: Vec<u8>,
    block: std::rc::Rc<Cell<Option<u64>>>,
}

impl iso9660::SectorSource for Failing {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if self.block.get() == Some(offset / SECTOR as u64) {
            return Err(std::io::Error::other("medium error"));
        }
        let end = offset as usize + buf.len();
        buf.copy_from_slice(
            self.img
                .get(offset as usize..end)
                .ok_or(std::io::ErrorKind::UnexpectedEof)?,
        );
        Ok(())
    }
}

#[test]
fn an_io_error_in_a_continuation_area_says_where() {
    let long = "l".repeat(250);
    let img = rr_image(|t| {
        t.add_file(long.as_bytes(), meta(0o644), bytes(b"x"), 1)
            .unwrap();
    });
    // The file's record continues (its NM) at the block its CE names.
    let nm = nm_at(&img, &vec![b'l'; 250][..]);
    let area = (nm / SECTOR) as u64;
    let ident = find_all(&img, b"LLLLLLLL.;1");
    assert_eq!(ident.len(), 1);
    let record = ident[0] - 33;
    assert!(find_all(&img[record..record + 255], b"CE\x1c\x01").len() == 1);
    let fail = std::rc::Rc::new(Cell::new(None));
    let src = Failing {
        img: img.clone(),
        block: fail.clone(),
    };
    let mut r = Reader::from_source(src, 0, iso9660::Limits::default()).unwrap();
    fail.set(Some(area));
    let mut t = Tree::new(meta(0o755));
    let err = t.import_session(&mut r).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Read { .. }), "{msg}");
    // The failed read is the source, not repeated in the message.
    let cause = std::error::Error::source(&err).map_or_else(String::new, |c| c.to_string());
    assert!(
        msg.contains(&format!("block {area}")) && cause.contains("medium error"),
        "{msg}: {cause}"
    );
    assert!(
        msg.contains(&format!("of the record \"LLLLLLLL.;1\" at byte {record}")),
        "names the record: {msg}"
    );
}

#[test]
fn a_tolerant_walk_skips_a_directory_it_cannot_read_and_goes_on() {
    let img = rr_image(|t| {
        for d in ["a", "b", "c"] {
            t.add_file(format!("{d}/sub/f").as_bytes(), meta(0o644), bytes(b"x"), 1)
                .unwrap();
        }
    });
    let fail = std::rc::Rc::new(Cell::new(None));
    let src = Failing {
        img: img.clone(),
        block: fail.clone(),
    };
    let mut r = Reader::from_source(src, 0, iso9660::Limits::default()).unwrap();
    let b = r.lookup("/b").unwrap().unwrap();
    fail.set(Some(u64::from(b.extents[0].0)));
    // The strict walk stops at b.
    assert!(r.walk(|_, _| Ok(())).is_err());
    let mut seen = Vec::new();
    let mut skipped = Vec::new();
    r.walk_tolerant(
        |p, _| {
            seen.push(String::from_utf8_lossy(p).into_owned());
            Ok(())
        },
        |p, e| skipped.push((String::from_utf8_lossy(p).into_owned(), e.to_string())),
    )
    .unwrap();
    seen.sort();
    assert_eq!(
        seen,
        ["/a", "/a/sub", "/a/sub/f", "/b", "/c", "/c/sub", "/c/sub/f"]
    );
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].0, "/b");
    // An error of the visitor still ends it.
    fail.set(None);
    let stop = r.walk_tolerant(
        |p, _| match p {
            b"/b/sub" => Err(Error::Io(std::io::Error::other("stop"))),
            _ => Ok(()),
        },
        |_, _| {},
    );
    assert!(stop.is_err());
    // The root itself unreadable: nothing to walk.
    fail.set(Some(u64::from(r.root().extents[0].0)));
    assert!(r.walk_tolerant(|_, _| Ok(()), |_, _| {}).is_err());
}

#[test]
fn a_directory_claiming_four_gigabytes_costs_nothing() {
    let mut img = rr_image(|t| {
        for d in ["a", "b"] {
            t.add_file(format!("{d}/f").as_bytes(), meta(0o644), bytes(b"x"), 1)
                .unwrap();
        }
    });
    let at = {
        let mut r = Reader::open(Cursor::new(img.clone())).unwrap();
        r.lookup("/a").unwrap().unwrap().at as usize
    };
    // The record's data length (both-endian at offset 10): 0xFFFFF800, and
    // the volume as large as a u32 allows, so the extent passes as inside it.
    let pvd = 16 * SECTOR;
    img[pvd + 80..pvd + 84].copy_from_slice(&u32::MAX.to_le_bytes());
    img[pvd + 84..pvd + 88].copy_from_slice(&u32::MAX.to_be_bytes());
    img[at + 10..at + 14].copy_from_slice(&0xFFFF_F800u32.to_le_bytes());
    img[at + 14..at + 18].copy_from_slice(&0xFFFF_F800u32.to_be_bytes());
    let (out, peak, _) = measure(|| {
        let mut r = Reader::open(Cursor::new(img.clone())).unwrap();
        let strict = r.walk(|_, _| Ok(()));
        let mut skipped = Vec::new();
        let mut seen = Vec::new();
        let tolerant = r.walk_tolerant(
            |p, _| {
                seen.push(p.to_vec());
                Ok(())
            },
            |p, e| skipped.push((p.to_vec(), e.to_string())),
        );
        (strict, tolerant, skipped, seen)
    });
    let (strict, tolerant, skipped, seen) = out;
    assert!(strict.is_err());
    tolerant.unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0].1.contains("larger than the limit"),
        "{skipped:?}"
    );
    assert!(seen.contains(&b"/b/f".to_vec()), "the rest is walked");
    assert!(peak < 4 << 20, "{peak} bytes");
    exercise(&img).unwrap_err();
}

#[test]
fn a_tolerant_walk_stops_once_a_budget_is_spent() {
    let img = rr_image(|t| {
        for d in ["a", "b", "c", "d", "e"] {
            for f in ["f", "g"] {
                t.add_file(format!("{d}/{f}").as_bytes(), meta(0o644), bytes(b"x"), 1)
                    .unwrap();
            }
        }
    });
    let tight = iso9660::Limits {
        max_entries: 8,
        ..iso9660::Limits::default()
    };
    let src = iso9660::ReadSeekSource(Cursor::new(img));
    let mut r = Reader::from_source(src, 0, tight).unwrap();
    let mut skipped = 0;
    let e = r
        .walk_tolerant(|_, _| Ok(()), |_, _| skipped += 1)
        .unwrap_err();
    // One error for the operation, not one per directory after it.
    assert!(e.to_string().contains("limit"), "{e}");
    assert_eq!(skipped, 0);
}
