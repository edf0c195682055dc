//! The sysinfo extension against cback3's: run on one machine, both write
//! the same files (names, modes, owners as root) whose contents, read
//! back with bzip2 itself, are the same: dpkg's selections, fdisk's table
//! where fdisk exists, the `ls -laR /` listing (through an `<override>`d
//! `ls` that checks it is asked for `-laR /` and lists a fixed tree, so
//! the run takes milliseconds and both see the same input).

mod ext_support;

use ext_support::*;

#[test]
fn sysinfo_writes_what_cback3_writes() {
    let Some(cb3) = cb3() else { return };
    let b = Bench::new();
    // Listed from a directory whose parent (`..` in the listing) nothing
    // writes to while the two runs go on.
    let tree = b.path("tree/top");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/file"), b"x").unwrap();
    let ls = b.path("ls");
    script(
        &ls,
        &format!(
            "[ \"$#\" = 2 ] && [ \"$1\" = -laR ] && [ \"$2\" = / ] || exit 9\n\
             cd {} && exec /bin/ls -laR --time-style=+%s .",
            tree.display()
        ),
    );
    let (user, group, ids) = backup_owner();
    for who in BOTH {
        let conf = b.config(
            who,
            "sysinfo",
            "",
            not_today(),
            (&user, &group),
            &[("ls", &ls)],
        );
        run_ok(who, &cb3, &conf, &["sysinfo"], &[]);
    }
    let theirs = listing(&b.collect(Who::Cb3));
    let ours = listing(&b.collect(Who::Cedar));
    assert_eq!(ours, theirs, "names, modes and owners");
    let mut expected = vec!["ls-laR.txt.bz2"];
    if std::path::Path::new("/usr/bin/dpkg").exists() {
        expected.push("dpkg-selections.txt.bz2");
    }
    if std::path::Path::new("/sbin/fdisk").exists() {
        expected.push("fdisk-l.txt.bz2");
    }
    expected.sort();
    assert_eq!(
        ours.keys().map(String::as_str).collect::<Vec<_>>(),
        expected
    );
    if let Some((uid, gid)) = ids {
        assert!(
            ours.values().all(|&(_, u, g)| (u, g) == (uid, gid)),
            "{ours:?}"
        );
    }
    for name in ours.keys() {
        let a = decompressed(&b.collect(Who::Cb3).join(name));
        let c = decompressed(&b.collect(Who::Cedar).join(name));
        assert!(!c.is_empty(), "{name} is empty");
        assert_eq!(
            String::from_utf8_lossy(&c),
            String::from_utf8_lossy(&a),
            "{name}"
        );
    }
    let listing = decompressed(&b.collect(Who::Cedar).join("ls-laR.txt.bz2"));
    assert!(String::from_utf8_lossy(&listing).contains("./sub:"));
}

#[test]
fn a_failing_package_dump_fails_the_action_and_leaves_no_file() {
    let Some(cb3) = cb3() else { return };
    if !std::path::Path::new("/usr/bin/dpkg").exists() {
        eprintln!("skipping: no /usr/bin/dpkg");
        return;
    }
    // dpkg found at its fixed path, its program overridden by one that
    // fails: both stop with Cedar's message.
    let b = Bench::new();
    let dpkg = b.path("dpkg");
    script(&dpkg, "echo broken >&2; exit 3");
    let (user, group, _) = backup_owner();
    for who in BOTH {
        let conf = b.config(
            who,
            "sysinfo",
            "",
            not_today(),
            (&user, &group),
            &[("/usr/bin/dpkg", &dpkg)],
        );
        let (out, log) = run(who, &cb3, &conf, &["sysinfo"], &[]);
        assert!(!out.status.success(), "{who:?} succeeded");
        assert!(
            log.contains("Error [3] executing Debian package dump."),
            "{who:?}: {}",
            tail(&log, 10)
        );
    }
    // cback3 leaves the truncated dump behind; cedar leaves nothing.
    assert!(listing(&b.collect(Who::Cedar)).is_empty());
}
