//! Images built by `cback mkisofs` (and the iso9660 library) are read back
//! with readers nobody on this project wrote — xorriso, bsdtar, isoinfo and
//! pycdlib — and what they extract is compared with the source tree.
//!
//! A missing reader fails the test when `CI` is set; locally it is skipped
//! with a note.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::io::Cursor;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use support::{have, have_pycdlib};

/// Whether owners and device nodes can be set up and compared (root); as a
/// normal user those checks are left to .ci/run's root pass (see runs_as).
fn is_root() -> bool {
    support::runs_as(support::Account::Root)
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL in test paths")
}

/// Sets a path's times without following symlinks.
fn set_mtime(p: &Path, secs: i64) {
    let ts = [
        libc::timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
        libc::timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
    ];
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            cpath(p).as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(rc, 0, "utimensat {}", p.display());
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Builds the awkward tree every reader test uses. `huge_link` adds a
/// symlink whose target (1.4 KB) is over libisofs' 1024-byte limit, so
/// xorriso cannot load it; the other readers must.
fn make_tree(root: &Path, huge_link: bool) {
    let w = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
    };
    w("plain.txt", b"plain\n");
    w("empty", b"");
    let long = "L".repeat(250) + ".txt";
    w(&long, b"long name");
    w("ünïcødé ✓ name.dat", "utf-8 content ✓".as_bytes());
    for n in [
        "Collide.txt",
        "collide.txt",
        "COLLIDE.TXT",
        "collide.txt.",
        "collide_txt",
        "a b c.tar.gz",
        "a-b-c.tar.gz",
    ] {
        w(&format!("collide/{n}"), n.as_bytes());
    }
    for i in 0..40 {
        w(
            &format!("many/same-prefix-name-{i:03}.log"),
            format!("{i}").repeat(i * 50).as_bytes(),
        );
    }
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    w("big/blob.bin", &big);
    w("big/exact.bin", &vec![7u8; 4096]);
    let deep = "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18";
    w(&format!("{deep}/bottom.txt"), b"bottom");
    w("d1/d2/d3/d4/d5/d6/d7/d8/d9/side.txt", b"side");
    fs::create_dir_all(root.join("d1/d2/d3/d4/d5/d6/d7/d8/twin/d10")).unwrap();
    fs::create_dir_all(root.join("emptydir/inner-empty")).unwrap();
    symlink("plain.txt", root.join("link-rel")).unwrap();
    symlink("/no/such/target/dangling", root.join("link-dangling")).unwrap();
    // Rock Ridge cannot record a trailing slash, so targets have none.
    let long_target = format!(
        "/{}/{}/../{}end",
        "t".repeat(200),
        "u".repeat(255),
        "v/".repeat(250)
    );
    symlink(&long_target, root.join("link-long")).unwrap();
    if huge_link {
        let huge = format!(
            "/{}/{}/../{}end",
            "t".repeat(200),
            "u".repeat(255),
            "v/".repeat(470)
        );
        symlink(&huge, root.join("link-huge")).unwrap();
    }
    symlink("../../../plain.txt", root.join("d1/d2/d3/link-up")).unwrap();
    symlink(".", root.join("link-dot")).unwrap();
    w("hard/one", b"hard linked data");
    fs::hard_link(root.join("hard/one"), root.join("hard/two")).unwrap();
    fs::hard_link(root.join("hard/one"), root.join("three-hard")).unwrap();
    let fifo = root.join("fifo");
    assert_eq!(unsafe { libc::mkfifo(cpath(&fifo).as_ptr(), 0o640) }, 0);
    w("modes/setuid", b"#!/bin/sh\n");
    chmod(&root.join("modes/setuid"), 0o4755);
    w("modes/setgid", b"x");
    chmod(&root.join("modes/setgid"), 0o2711);
    w("modes/private", b"secret");
    chmod(&root.join("modes/private"), 0o600);
    fs::create_dir_all(root.join("modes/sticky")).unwrap();
    chmod(&root.join("modes/sticky"), 0o1777);
    if is_root() {
        std::os::unix::fs::chown(root.join("plain.txt"), Some(1234), Some(5678)).unwrap();
        std::os::unix::fs::chown(root.join("modes/private"), Some(4_000_000), Some(70_000))
            .unwrap();
        std::os::unix::fs::lchown(root.join("link-rel"), Some(42), Some(43)).unwrap();
        let dev = root.join("chardev");
        let rc = unsafe {
            libc::mknod(
                cpath(&dev).as_ptr(),
                libc::S_IFCHR | 0o620,
                libc::makedev(1, 3),
            )
        };
        assert_eq!(rc, 0);
        let dev = root.join("blockdev");
        let rc = unsafe {
            libc::mknod(
                cpath(&dev).as_ptr(),
                libc::S_IFBLK | 0o660,
                libc::makedev(7, 200),
            )
        };
        assert_eq!(rc, 0);
    }
    // Times last, children before parents, so nothing disturbs them.
    let mut all: Vec<PathBuf> = walk(root).into_keys().map(|k| root.join(k)).collect();
    all.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for (i, p) in all.iter().enumerate() {
        set_mtime(p, 946_684_800 + i as i64 * 3_601);
    }
}

/// What a reader should have reproduced about one path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Info {
    kind: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    content: Vec<u8>,
    target: Vec<u8>,
    rdev: u64,
    ino: u64,
    nlink: u64,
}

fn walk(root: &Path) -> BTreeMap<PathBuf, Info> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let kind = m.mode() & 0o170000;
            let info = Info {
                kind,
                mode: m.mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                mtime: m.mtime(),
                content: if m.is_file() {
                    fs::read(&p).unwrap()
                } else {
                    Vec::new()
                },
                target: if m.file_type().is_symlink() {
                    fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec()
                } else {
                    Vec::new()
                },
                rdev: m.rdev(),
                ino: m.ino(),
                nlink: m.nlink(),
            };
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.insert(p.strip_prefix(root).unwrap().to_path_buf(), info);
        }
    }
    out
}

#[derive(Clone, Copy)]
struct Check {
    owners: bool,
    file_times: bool,
    dir_times: bool,
    link_times: bool,
    hard_links: bool,
    rationalized: bool,
}

fn rational(mode: u32) -> u32 {
    let mut m = mode | 0o444;
    if mode & 0o111 != 0 {
        m |= 0o111;
    }
    m & !0o7222
}

fn compare(src: &Path, out: &Path, c: Check) {
    let want = walk(src);
    let got = walk(out);
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "extracted names differ: missing {missing:?}, extra {extra:?}"
    );
    let mut groups: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (path, w) in &want {
        let g = &got[path];
        let what = path.display();
        assert_eq!(g.kind, w.kind, "{what}: kind");
        let is_link = w.kind == 0o120000;
        if !is_link {
            let expect = if c.rationalized {
                rational(w.mode)
            } else {
                w.mode
            };
            // Extractors apply their own umask-free modes to directories they
            // create, but keep what the image says for everything here.
            assert_eq!(g.mode, expect, "{what}: mode {:o} vs {:o}", g.mode, expect);
        }
        assert!(
            g.content == w.content,
            "{what}: content differs ({} vs {} bytes)",
            g.content.len(),
            w.content.len()
        );
        assert_eq!(
            String::from_utf8_lossy(&g.target),
            String::from_utf8_lossy(&w.target),
            "{what}: symlink target"
        );
        if c.owners && (!is_link || c.link_times) {
            let (uid, gid) = if c.rationalized {
                (0, 0)
            } else {
                (w.uid, w.gid)
            };
            assert_eq!((g.uid, g.gid), (uid, gid), "{what}: owner");
        }
        let check_time = match w.kind {
            0o040000 => c.dir_times,
            0o120000 => c.link_times,
            _ => c.file_times,
        };
        if check_time {
            assert_eq!(g.mtime, w.mtime, "{what}: mtime");
        }
        if matches!(w.kind, 0o020000 | 0o060000) {
            assert_eq!(g.rdev, w.rdev, "{what}: device number");
        }
        if c.hard_links && w.nlink > 1 && w.kind == 0o100000 {
            groups.entry(w.ino).or_default().push(g.ino);
        }
    }
    for (_, inos) in groups {
        assert!(
            inos.windows(2).all(|p| p[0] == p[1]),
            "hard links were not preserved: {inos:?}"
        );
    }
}

fn cback() -> &'static str {
    env!("CARGO_BIN_EXE_cback")
}

fn mkisofs(args: &[&str], src: &Path, img: &Path) {
    let out = Command::new(cback())
        .arg("mkisofs")
        .args(args)
        .arg("-quiet")
        .arg("-o")
        .arg(img)
        .arg(src)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cback mkisofs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Fixture {
    _dir: tempfile::TempDir,
    src: PathBuf,
    img: PathBuf,
    work: PathBuf,
}

fn fixture(args: &[&str], huge_link: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    make_tree(&src, huge_link);
    let img = dir.path().join("image.iso");
    mkisofs(args, &src, &img);
    let work = dir.path().join("work");
    fs::create_dir(&work).unwrap();
    Fixture {
        src,
        img,
        work,
        _dir: dir,
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// Extracts `img` into `out` with xorriso (device files included).
fn xorriso_extract(img: &Path, out: &Path) {
    run(Command::new("xorriso")
        .args(["-osirrox", "on:device_files", "-indev"])
        .arg(img)
        .args(["-extract", "/"])
        .arg(out));
}

/// Extracts `img` into a new directory `out` with bsdtar, keeping modes.
fn bsdtar_extract(img: &Path, out: &Path) {
    fs::create_dir(out).unwrap();
    run(Command::new("bsdtar")
        .arg("-xpf")
        .arg(img)
        .arg("-C")
        .arg(out));
}

const FAITHFUL: Check = Check {
    owners: true,
    file_times: true,
    dir_times: true,
    link_times: false,
    hard_links: false,
    rationalized: false,
};

/// Builds the fixture image with `args`, extracts it with `tool` and
/// compares the result with the source tree.
fn extract_and_compare(tool: &str, args: &[&str], check: Check) {
    if !have(tool) {
        return;
    }
    let xorriso = tool == "xorriso";
    let f = fixture(args, !xorriso);
    let out = f.work.join(tool);
    if xorriso {
        xorriso_extract(&f.img, &out);
    } else {
        bsdtar_extract(&f.img, &out);
    }
    compare(
        &f.src,
        &out,
        Check {
            owners: is_root(),
            ..check
        },
    );
}

#[test]
fn xorriso_extracts_the_source_tree() {
    extract_and_compare("xorriso", &["-R"], FAITHFUL);
}

#[test]
fn bsdtar_extracts_the_source_tree() {
    let check = Check {
        link_times: true,
        hard_links: true,
        ..FAITHFUL
    };
    extract_and_compare("bsdtar", &["-R"], check);
}

#[test]
fn bsdtar_sees_rationalized_modes_and_owners() {
    let check = Check {
        rationalized: true,
        hard_links: true,
        ..FAITHFUL
    };
    extract_and_compare("bsdtar", &["-r"], check);
}

#[test]
fn isoinfo_extracts_every_file() {
    if !have("isoinfo") {
        return;
    }
    let f = fixture(&["-R"], true);
    let listing = run(Command::new("isoinfo")
        .arg("-i")
        .arg(&f.img)
        .args(["-R", "-l"]));
    assert!(
        listing.contains("link-long ->"),
        "isoinfo lost a symlink:\n{listing}"
    );
    assert!(
        listing.contains("bottom.txt"),
        "isoinfo lost the deepest file:\n{listing}"
    );
    for (path, info) in walk(&f.src) {
        // isoinfo does not follow CL/RE; files below relocated directories
        // are only checked through the listing above.
        if info.kind != 0o100000 || path.components().count() > 9 {
            continue;
        }
        let out = Command::new("isoinfo")
            .arg("-i")
            .arg(&f.img)
            .args(["-R", "-x"])
            .arg(Path::new("/").join(&path))
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            out.stdout == info.content,
            "isoinfo -x /{} gave {} bytes, want {}",
            path.display(),
            out.stdout.len(),
            info.content.len()
        );
    }
}

#[test]
fn xorriso_check_media_and_listing_are_clean() {
    if !have("xorriso") {
        return;
    }
    let f = fixture(&["-r", "-J"], false);
    let text = run(Command::new("xorriso")
        .arg("-indev")
        .arg(&f.img)
        .args(["-check_media", "--"]));
    assert!(text.contains("+ good"), "{text}");
    for bad in ["SORRY", "FAILURE", "WARNING", "- bad", "damaged"] {
        assert!(
            !text.contains(bad),
            "xorriso -check_media reported {bad}:\n{text}"
        );
    }
    let text = run(Command::new("xorriso")
        .arg("-indev")
        .arg(&f.img)
        .args(["-find", "/", "-exec", "lsdl", "--"]));
    assert!(
        !text.contains("rr_moved"),
        "relocation directory is visible:\n{text}"
    );
    assert!(text.contains("d18/bottom.txt"), "{text}");
}

const PYCDLIB_DUMP: &str = r#"
import json, sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
out = {}
for root, dirs, files in iso.walk(rr_path='/'):
    for name in dirs + files:
        path = (root.rstrip('/') + '/' + name)
        rec = iso.get_record(rr_path=path)
        rr = rec.rock_ridge
        info = {'mode': rr.get_file_mode(), 'uid': rr.dr_entries.px_record.posix_user_id,
                'gid': rr.dr_entries.px_record.posix_group_id, 'dir': rec.is_dir()}
        if rr.is_symlink():
            info['target'] = rr.symlink_path().decode('utf-8', 'surrogateescape')
        elif not rec.is_dir() and (rr.get_file_mode() & 0o170000) == 0o100000:
            import io
            buf = io.BytesIO()
            iso.get_file_from_iso_fp(buf, rr_path=path)
            info['content'] = buf.getvalue().hex()
        out[path] = info
iso.close()
json.dump(out, sys.stdout)
"#;

/// Runs a pycdlib script on `img` and parses the JSON object it prints.
fn pycdlib_json(script: &str, img: &Path) -> serde_json::Map<String, serde_json::Value> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(img)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pycdlib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout).unwrap() {
        serde_json::Value::Object(m) => m,
        other => panic!("pycdlib printed {other}"),
    }
}

#[test]
fn pycdlib_opens_strictly_and_agrees() {
    if !have_pycdlib() {
        return;
    }
    let f = fixture(&["-R", "-J"], true);
    let seen = pycdlib_json(PYCDLIB_DUMP, &f.img);
    let want = walk(&f.src);
    for (path, w) in &want {
        let key = format!("/{}", path.display());
        let g = seen
            .get(&key)
            .unwrap_or_else(|| panic!("pycdlib does not see {key}"));
        assert_eq!(
            g["mode"].as_u64().unwrap() as u32,
            w.kind | w.mode,
            "{key}: mode"
        );
        if is_root() && w.kind != 0o120000 {
            assert_eq!(g["uid"].as_u64().unwrap() as u32, w.uid, "{key}: uid");
            assert_eq!(g["gid"].as_u64().unwrap() as u32, w.gid, "{key}: gid");
        }
        if w.kind == 0o120000 {
            assert_eq!(
                g["target"].as_str().unwrap(),
                String::from_utf8_lossy(&w.target),
                "{key}: target"
            );
        }
        if w.kind == 0o100000 {
            assert!(
                g["content"].as_str().unwrap() == hex(&w.content),
                "{key}: content differs"
            );
        }
    }
    // pycdlib lists the (empty) relocation directory; nothing else may be extra.
    let extra: Vec<_> = seen
        .keys()
        .filter(|k| !want.contains_key(Path::new(&k[1..])) && *k != "/rr_moved")
        .collect();
    assert!(extra.is_empty(), "pycdlib sees extra entries: {extra:?}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Multi-extent files, forced small so the test stays small: the library
/// splits anything over `max_extent` into sections, as it does at 4 GiB.
#[test]
fn multi_extent_files_read_back_in_xorriso_and_bsdtar() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(src.join("split.bin"), &data).unwrap();
    fs::write(src.join("exact.bin"), vec![1u8; 65_536]).unwrap();
    fs::write(src.join("small.txt"), b"small").unwrap();
    let mut tree = iso9660::Tree::new(iso9660::Metadata::new(0o755, 0, 0, 1_700_000_000));
    tree.add_graft(&iso9660::GraftPoint {
        disc: Vec::new(),
        host: src.clone(),
    })
    .unwrap();
    let opts = iso9660::Options {
        level: iso9660::Level::Three,
        max_extent: 32_768,
        ..Default::default()
    };
    let mut layout = iso9660::Layout::plan(tree, opts).unwrap();
    let img = dir.path().join("multi.iso");
    layout
        .write(fs::File::create(&img).unwrap(), &mut ())
        .unwrap();

    let mut reader = iso9660::Reader::open(fs::File::open(&img).unwrap()).unwrap();
    let e = reader.lookup("/split.bin").unwrap().unwrap();
    assert_eq!(e.extents.len(), 7);
    assert_eq!(reader.read_to_vec(&e).unwrap(), data);

    if have("xorriso") {
        let out = dir.path().join("x");
        xorriso_extract(&img, &out);
        compare(
            &src,
            &out,
            Check {
                owners: is_root(),
                ..FAITHFUL
            },
        );
    }
    if have("bsdtar") {
        let out = dir.path().join("b");
        bsdtar_extract(&img, &out);
        compare(
            &src,
            &out,
            Check {
                owners: is_root(),
                ..FAITHFUL
            },
        );
    }
}

const PYCDLIB_JOLIET: &str = r#"
import io, json, sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
out = {}
for root, dirs, files in iso.walk(joliet_path='/'):
    for d in dirs:
        out[root.rstrip('/') + '/' + d] = None
    for f in files:
        path = root.rstrip('/') + '/' + f
        buf = io.BytesIO()
        iso.get_file_from_iso_fp(buf, joliet_path=path)
        out[path] = buf.getvalue().hex()
iso.close()
json.dump(out, sys.stdout)
"#;

/// The Joliet name a source path should keep: none when a component is
/// over Joliet's 64 units, holds characters Joliet forbids, ends in a dot,
/// or equals a sibling's name but for case (those are renamed).
fn joliet_path(path: &Path, tree: &BTreeMap<PathBuf, Info>) -> Option<String> {
    let fold = |p: &Path| p.to_string_lossy().to_lowercase();
    let mut out = String::new();
    let mut so_far = PathBuf::new();
    for c in path.components() {
        let s = c.as_os_str().to_str()?;
        so_far.push(s);
        let clash = tree
            .keys()
            .any(|k| k != &so_far && k.parent() == so_far.parent() && fold(k) == fold(&so_far));
        if clash
            || s.ends_with('.')
            || s.encode_utf16().count() > 64
            || s.contains([':', ';', '?', '*', '\\'])
        {
            return None;
        }
        out.push('/');
        out.push_str(s);
    }
    Some(out)
}

#[test]
fn joliet_tree_is_read_by_pycdlib_and_bsdtar() {
    if !have_pycdlib() || !have("bsdtar") || !have("isoinfo") {
        return;
    }
    let f = fixture(&["-J"], true);
    let want: BTreeMap<PathBuf, Info> = walk(&f.src)
        .into_iter()
        .filter(|(_, i)| matches!(i.kind, 0o040000 | 0o100000))
        .collect();

    let seen = pycdlib_json(PYCDLIB_JOLIET, &f.img);
    assert_eq!(
        seen.len(),
        want.len(),
        "Joliet holds every directory and regular file once"
    );
    let mut checked = 0;
    for (path, info) in &want {
        let Some(jp) = joliet_path(path, &want) else {
            continue;
        };
        let key = if info.kind == 0o100000 {
            format!("{jp};1")
        } else {
            jp
        };
        let g = seen
            .get(&key)
            .unwrap_or_else(|| panic!("pycdlib: no Joliet entry {key}"));
        if info.kind == 0o100000 {
            assert!(
                g.as_str().unwrap() == hex(&info.content),
                "{key}: content differs"
            );
        }
        checked += 1;
    }
    assert!(checked > want.len() / 2, "too few paths checked");

    // Without Rock Ridge, bsdtar reads the Joliet hierarchy.
    let out = f.work.join("b");
    bsdtar_extract(&f.img, &out);
    let got = walk(&out);
    for (path, info) in &want {
        if joliet_path(path, &want).is_none() || info.kind != 0o100000 {
            continue;
        }
        let g = got
            .get(path)
            .unwrap_or_else(|| panic!("bsdtar: no {}", path.display()));
        assert!(
            g.content == info.content,
            "bsdtar: {} differs",
            path.display()
        );
    }
    let listing = run(Command::new("isoinfo")
        .arg("-i")
        .arg(&f.img)
        .args(["-J", "-l"]));
    // isoinfo prints Joliet names in ISO 8859-1, so only the ASCII tail is
    // compared.
    assert!(listing.contains(" name.dat;1"), "{listing}");
}

/// The groundwork for multisession: a second session planned at the end of
/// the first, with all addresses absolute, that keeps one file's old
/// extents. Our reader and xorriso (loading that session) both see the old
/// file's bytes and the new file.
#[test]
fn later_session_imports_old_extents() {
    use iso9660::{FileData, Layout, Metadata, Options, Reader, Tree};
    let dir = tempfile::tempdir().unwrap();
    let old: Vec<u8> = (0..10_000u32).map(|i| (i % 253) as u8).collect();
    let mut t1 = Tree::new(Metadata::new(0o755, 0, 0, 1_700_000_000));
    t1.add_file(
        b"2026/11/21/day1.tar",
        Metadata::new(0o644, 0, 0, 1_700_000_000),
        FileData::Bytes(old.clone()),
        10_000,
    )
    .unwrap();
    let mut image = Vec::new();
    Layout::plan(t1, Options::default())
        .unwrap()
        .write(&mut image, &mut ())
        .unwrap();

    let mut r1 = Reader::open(Cursor::new(image.clone())).unwrap();
    let e = r1.lookup("/2026/11/21/day1.tar").unwrap().unwrap();
    let start = (image.len() / 2048) as u32;
    let mut t2 = Tree::new(Metadata::new(0o755, 0, 0, 1_700_086_400));
    t2.add_file(
        b"2026/11/21/day1.tar",
        e.meta,
        FileData::Extents(e.extents.clone()),
        e.size,
    )
    .unwrap();
    t2.add_file(
        b"2026/11/22/day2.tar",
        Metadata::new(0o644, 0, 0, 1_700_086_400),
        FileData::Bytes(b"new".to_vec()),
        3,
    )
    .unwrap();
    let mut layout = Layout::plan(
        t2,
        Options {
            start_lba: start,
            ..Options::default()
        },
    )
    .unwrap();
    layout.write(&mut image, &mut ()).unwrap();
    assert_eq!(image.len() as u64, u64::from(start) * 2048 + layout.bytes());

    let mut r2 = Reader::open_at(Cursor::new(image.clone()), start).unwrap();
    let kept = r2.lookup("/2026/11/21/day1.tar").unwrap().unwrap();
    assert_eq!(kept.extents, e.extents, "old extents are kept");
    assert_eq!(r2.read_to_vec(&kept).unwrap(), old);
    let new = r2.lookup("/2026/11/22/day2.tar").unwrap().unwrap();
    assert_eq!(r2.read_to_vec(&new).unwrap(), b"new");

    // Data that is not before the session cannot be imported.
    let mut bad = Tree::new(Metadata::default());
    bad.add_file(
        b"x",
        Metadata::default(),
        FileData::Extents(vec![(start, 10)]),
        10,
    )
    .unwrap();
    assert!(Layout::plan(
        bad,
        Options {
            start_lba: start,
            ..Options::default()
        }
    )
    .is_err());

    if have("xorriso") {
        let img = dir.path().join("two.iso");
        fs::write(&img, &image).unwrap();
        let out = dir.path().join("x");
        run(Command::new("xorriso")
            .args([
                "-load",
                "sbsector",
                &start.to_string(),
                "-osirrox",
                "on",
                "-indev",
            ])
            .arg(&img)
            .args(["-extract", "/"])
            .arg(&out));
        assert_eq!(fs::read(out.join("2026/11/21/day1.tar")).unwrap(), old);
        assert_eq!(fs::read(out.join("2026/11/22/day2.tar")).unwrap(), b"new");
    }
}

/// Our reader on images written by genisoimage (RRIP_1991A, 36-byte PX,
/// visible rr_moved) and xorriso: everything the source tree holds comes
/// back, relocated directories where they belong.
#[test]
fn own_reader_reads_genisoimage_and_xorriso_images() {
    for tool in ["genisoimage", "xorriso"] {
        if !have(tool) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir(&src).unwrap();
        make_tree(&src, false);
        if tool == "genisoimage" {
            // genisoimage 1.1.11 loops forever on a 1 KB symlink target.
            fs::remove_file(src.join("link-long")).unwrap();
        }
        let img = dir.path().join("other.iso");
        let mut cmd = Command::new(tool);
        if tool == "xorriso" {
            cmd.args(["-as", "mkisofs"]);
        }
        run(cmd.args(["-quiet", "-R", "-o"]).arg(&img).arg(&src));
        let mut reader = iso9660::Reader::open(fs::File::open(&img).unwrap()).unwrap();
        assert!(
            reader.volume().rock_ridge.is_some(),
            "{tool}: Rock Ridge not detected"
        );
        assert!(!reader.path_table().unwrap().is_empty());
        let mut seen = BTreeMap::new();
        reader
            .walk(|p, e| {
                seen.insert(
                    PathBuf::from(String::from_utf8_lossy(&p[1..]).into_owned()),
                    e.clone(),
                );
                Ok(())
            })
            .unwrap();
        let want = walk(&src);
        let missing: Vec<_> = want.keys().filter(|k| !seen.contains_key(*k)).collect();
        let extra: Vec<_> = seen.keys().filter(|k| !want.contains_key(*k)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{tool}: missing {missing:?}, extra {extra:?}"
        );
        for (path, w) in &want {
            let e = &seen[path];
            assert_eq!(e.meta.mode, w.mode, "{tool}: {}: mode", path.display());
            assert_eq!(
                (e.meta.uid, e.meta.gid),
                (w.uid, w.gid),
                "{tool}: {}: owner",
                path.display()
            );
            if w.kind != 0o120000 {
                assert_eq!(e.meta.mtime, w.mtime, "{tool}: {}: mtime", path.display());
            }
            match &e.kind {
                iso9660::EntryKind::File => {
                    assert!(
                        reader.read_to_vec(e).unwrap() == w.content,
                        "{tool}: {}: content",
                        path.display()
                    )
                }
                iso9660::EntryKind::Symlink(t) => {
                    assert_eq!(t, &w.target, "{tool}: {}", path.display())
                }
                _ => {}
            }
        }
    }
}

/// A minimal initramfs: an uncompressed "newc" cpio archive.
struct Cpio(Vec<u8>);

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        let pad = |v: &mut Vec<u8>| v.resize(v.len().div_ceil(4) * 4, 0);
        let fields = [
            0,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        self.0.extend_from_slice(b"070701");
        for f in fields {
            self.0.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.0.extend_from_slice(name.as_bytes());
        self.0.push(0);
        pad(&mut self.0);
        self.0.extend_from_slice(data);
        pad(&mut self.0);
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, b"");
        self.0
    }
}

/// The guest lists a mounted image as `TAG|path|mode|uid|gid|mtime|extra`.
const GUEST_INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in cdrom loop isofs; do insmod /$m.ko; done
list() {
  cd /mnt
  find . | while read -r p; do
    [ "$p" = "." ] && continue
    line=$(stat -c '%f|%u|%g|%Y' "$p")
    if [ -L "$p" ]; then extra="L:$(readlink "$p")"
    elif [ -f "$p" ]; then extra="F:$(sha1sum < "$p" | cut -d' ' -f1)"
    elif [ -c "$p" ] || [ -b "$p" ]; then extra="D:$(stat -c '%t:%T' "$p")"
    else extra="-"; fi
    echo "$1|$p|$line|$extra"
  done
  cd /
}
mount -t iso9660 -o loop,ro /img.iso /mnt && list RR && umount /mnt
mount -t iso9660 -o loop,ro,norock /img.iso /mnt && list JOLIET && umount /mnt
mount -t iso9660 -o loop,ro,sbsector=$(cat /session) /two.iso /mnt && list SESSION && umount /mnt
echo GUEST-DONE
poweroff -f
"#;

fn sha1_hex(data: &[u8]) -> String {
    use sha1::Digest;
    hex(&sha1::Sha1::digest(data))
}

/// What the guest should print after `TAG|path|` for a source entry.
fn guest_view(info: &Info) -> String {
    let extra = match info.kind {
        0o120000 => format!("L:{}", String::from_utf8_lossy(&info.target)),
        0o100000 => format!("F:{}", sha1_hex(&info.content)),
        0o020000 | 0o060000 => {
            let (major, minor) = (
                libc::major(info.rdev as libc::dev_t),
                libc::minor(info.rdev as libc::dev_t),
            );
            format!("D:{major:x}:{minor:x}")
        }
        _ => "-".into(),
    };
    format!(
        "{:x}|{}|{}|{}|{extra}",
        info.kind | info.mode,
        info.uid,
        info.gid,
        info.mtime
    )
}

/// The Linux kernel's isofs (Debian's 6.1, in QEMU, as the mmc tests use
/// it) mounts the image and sees what the source tree holds: Rock Ridge
/// names, modes, owners, times, links and devices; the Joliet names with
/// `norock`; and a later session through `sbsector=`.
#[test]
fn linux_kernel_mounts_the_image() {
    let Some(kdir) = std::env::var_os("MMC_QEMU_KERNEL_DIR").map(PathBuf::from) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "MMC_QEMU_KERNEL_DIR is required in CI"
        );
        eprintln!("note: MMC_QEMU_KERNEL_DIR not set (see mmc/tests/qemu/setup.sh); skipping");
        return;
    };
    if !have("qemu-system-x86_64") {
        return;
    }
    let find = |under: &Path, name: &str| -> PathBuf {
        let out = run(Command::new("find").arg(under).args(["-name", name]));
        PathBuf::from(
            out.lines()
                .next()
                .unwrap_or_else(|| panic!("{name} not under {}", under.display())),
        )
    };
    let kernel = find(&kdir.join("k/boot"), "vmlinuz-*");
    let modules = kdir.join("k/lib/modules");

    let f = fixture(&["-R", "-J"], true);
    // A second session at the next 16-block boundary that keeps the first.
    let first = fs::read(&f.img).unwrap();
    let start = ((first.len() / 2048) as u32).div_ceil(16) * 16;
    let mut tree = iso9660::Tree::new(iso9660::Metadata::new(0o755, 0, 0, 1_700_000_000));
    tree.import_session(&mut iso9660::Reader::open(Cursor::new(first.clone())).unwrap())
        .unwrap();
    tree.add_file(
        b"session-two.txt",
        iso9660::Metadata::new(0o600, 7, 8, 1_700_000_001),
        iso9660::FileData::Bytes(b"two".to_vec()),
        3,
    )
    .unwrap();
    let opts = iso9660::Options {
        start_lba: start,
        ..Default::default()
    };
    let mut two = first.clone();
    two.resize(start as usize * 2048, 0);
    iso9660::Layout::plan(tree, opts)
        .unwrap()
        .write(&mut two, &mut ())
        .unwrap();

    let mut cpio = Cpio(Vec::new());
    for d in ["bin", "proc", "dev", "mnt", "sys"] {
        cpio.entry(d, 0o040755, b"");
    }
    cpio.entry("init", 0o100755, GUEST_INIT.as_bytes());
    cpio.entry(
        "bin/busybox",
        0o100755,
        &fs::read(kdir.join("bb/bin/busybox")).unwrap(),
    );
    for m in ["cdrom", "loop", "isofs"] {
        cpio.entry(
            &format!("{m}.ko"),
            0o100644,
            &fs::read(find(&modules, &format!("{m}.ko"))).unwrap(),
        );
    }
    cpio.entry("img.iso", 0o100644, &first);
    cpio.entry("two.iso", 0o100644, &two);
    cpio.entry("session", 0o100644, start.to_string().as_bytes());
    let initrd = f.work.join("initrd.cpio");
    fs::write(&initrd, cpio.finish()).unwrap();

    // KVM when it can run the guest, else TCG (mmc/tests/qemu/accel.sh)
    let accel = Command::new("sh")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/mmc/tests/qemu/accel.sh"
        ))
        .env("MMC_QEMU_KERNEL_DIR", &kdir)
        .output()
        .unwrap();
    assert!(accel.status.success(), "accel.sh failed");
    let accel = String::from_utf8_lossy(&accel.stdout).into_owned();
    let out = Command::new("timeout")
        .args([
            "600",
            "qemu-system-x86_64",
            "-m",
            "512",
            "-smp",
            "1",
            "-nographic",
            "-no-reboot",
            "-kernel",
        ])
        .arg(&kernel)
        .args(accel.split_whitespace())
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", "console=ttyS0 panic=-1 rdinit=/init quiet"])
        .output()
        .unwrap();
    let console = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(
        console.contains("GUEST-DONE"),
        "guest did not finish:\n{}",
        &console[console.len().saturating_sub(3000)..]
    );
    let seen = |tag: &str| -> BTreeMap<String, String> {
        console
            .lines()
            // Terminal escapes from the firmware may precede the first line.
            .filter_map(|l| Some(&l[l.find(&format!("{tag}|./"))? + tag.len() + 3..]))
            .filter_map(|l| l.split_once('|'))
            .map(|(p, rest)| (p.to_string(), rest.to_string()))
            .collect()
    };
    let want = walk(&f.src);
    // Linux drops Rock Ridge names of 254 bytes or more (rock.c stops
    // at 253); everything else must match exactly.
    let short = |p: &Path| p.components().all(|c| c.as_os_str().len() < 254);
    for (tag, extra) in [("RR", vec![]), ("SESSION", vec!["session-two.txt"])] {
        let got = seen(tag);
        for (path, info) in want.iter().filter(|(p, _)| short(p)) {
            let key = path.to_string_lossy().into_owned();
            let g = got.get(&key).unwrap_or_else(|| {
                let head = &console[..console.len().min(4000)];
                panic!("{tag}: the kernel does not see {key}; it printed:\n{head}")
            });
            assert_eq!(g, &guest_view(info), "{tag}: {key}");
        }
        // A long name shows up cut short, with the right contents.
        for (key, g) in got
            .iter()
            .filter(|(k, _)| !want.contains_key(Path::new(k.as_str())))
        {
            if extra.contains(&key.as_str()) {
                continue;
            }
            let cut_from = want.iter().find(|(p, i)| {
                !short(p) && p.to_string_lossy().starts_with(key.as_str()) && guest_view(i) == *g
            });
            assert!(
                cut_from.is_some(),
                "{tag}: the kernel sees an unexpected {key}"
            );
        }
        for e in extra {
            assert!(
                got[e].ends_with(&format!("F:{}", sha1_hex(b"two"))),
                "{tag}: {e}"
            );
        }
    }
    let joliet = seen("JOLIET");
    for (path, info) in &want {
        if info.kind != 0o100000 {
            continue;
        }
        if let Some(jp) = joliet_path(path, &want) {
            let g = joliet
                .get(&jp[1..])
                .unwrap_or_else(|| panic!("JOLIET: no {jp}"));
            assert!(
                g.ends_with(&format!("F:{}", sha1_hex(&info.content))),
                "JOLIET: {jp}: {g}"
            );
        }
    }
}

/// The mode column of `isoinfo -R -l` for the entry named `name`.
fn isoinfo_mode(img: &Path, name: &str) -> String {
    let out = Command::new("isoinfo")
        .arg("-i")
        .arg(img)
        .args(["-R", "-l"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find(|l| l.contains(&format!(" {name} ")) || l.ends_with(&format!(" {name}")))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_string()
}

#[test]
fn rationalized_modes_match_genisoimage() {
    if !have("genisoimage") || !have("isoinfo") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir(p.join("src")).unwrap();
    fs::write(p.join("src/file"), b"x").unwrap();
    std::os::unix::fs::symlink("file", p.join("src/link")).unwrap();
    mkisofs(&["-r"], &p.join("src"), &p.join("ours.iso"));
    let g = Command::new("genisoimage")
        .args(["-r", "-quiet", "-o", "theirs.iso", "src"])
        .current_dir(p)
        .output()
        .unwrap();
    assert!(g.status.success());
    for name in ["link", "file"] {
        let ours = isoinfo_mode(&p.join("ours.iso"), name);
        let theirs = isoinfo_mode(&p.join("theirs.iso"), name);
        assert_eq!(ours, theirs, "{name}");
    }
    assert_eq!(isoinfo_mode(&p.join("ours.iso"), "link"), "lr-xr-xr-x");
}

#[test]
fn bsdtar_reads_rock_ridge_names_in_continuation_areas_with_joliet() {
    if !have("bsdtar") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    fs::create_dir(p.join("src")).unwrap();
    let long = "n".repeat(230) + ".txt";
    fs::write(p.join("src").join(&long), b"x").unwrap();
    for (img, extra) in [("rj.iso", "-J"), ("r.iso", "-R")] {
        mkisofs(&["-R", extra], &p.join("src"), &p.join(img));
        let out = Command::new("bsdtar")
            .arg("tf")
            .arg(p.join(img))
            .output()
            .unwrap();
        assert!(out.status.success());
        let list = String::from_utf8_lossy(&out.stdout);
        assert!(list.lines().any(|l| l == long), "{img}: {list}");
    }
    // A tiny image (an empty tree) is padded as mkisofs pads, so bsdtar
    // recognises it; without padding it is too short for libarchive.
    fs::create_dir(p.join("empty")).unwrap();
    mkisofs(&["-R"], &p.join("empty"), &p.join("tiny.iso"));
    let len = fs::metadata(p.join("tiny.iso")).unwrap().len();
    assert!(len >= 150 * 2048, "{len}");
    let out = Command::new("bsdtar")
        .arg("tf")
        .arg(p.join("tiny.iso"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), ".");
}
