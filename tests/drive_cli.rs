//! `cback drive` run as the real binary against emulated drives and bad devices.

use std::process::{Command, Output};

use mmc::{Drive, NoProgress, WriteOptions};

fn cback(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cback"))
        .arg("drive")
        .args(args)
        .output()
        .expect("run cback")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn field<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{label}:")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label} in:\n{out}"))
}

#[test]
fn reports_a_blank_emulated_cd() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "emulated:{}?profile=cdr-80",
        dir.path().join("cd.iso").display()
    );
    let o = cback(&[&spec]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert_eq!(field(&out, "Device"), spec);
    assert_eq!(field(&out, "Drive"), "CEDAR EMULATED BURNER (revision 1.0)");
    assert_eq!(field(&out, "Profile"), "CD-R (0009h)");
    assert_eq!(field(&out, "Medium"), "blank, write-once");
    assert_eq!(field(&out, "Sessions"), "0");
    assert_eq!(field(&out, "Next writable"), "0");
    assert!(field(&out, "msinfo").starts_with("none (blank"));
    assert_eq!(field(&out, "Free blocks"), "358400 blocks (700.0 MiB)");
}

#[test]
fn a_drive_described_by_the_device_string_is_reported_as_the_drive_layer_sees_it() {
    // A drive that reports -150 as a blank CD's next writable address, a
    // 36h-byte page 05, no underrun protection and a 4 MiB buffer.
    let dir = tempfile::tempdir().unwrap();
    let spec = format!(
        "emulated:{}?profile=cdr-80&nwa150=1&page05=0x36&bufe=0&buffer=4096",
        dir.path().join("cd.iso").display()
    );
    let o = cback(&[&spec]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert_eq!(field(&out, "Next writable"), "0");
    let o = cback(&[&format!("{spec}&page05=3")]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("expected a page length"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn reports_sessions_and_msinfo_of_a_disc_left_in_the_drive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cd.iso");
    let spec = format!("emulated:{}?profile=cdrw-74", path.display());
    {
        let mut d = Drive::open(&spec).unwrap();
        for _ in 0..2 {
            let data = vec![0x55u8; 300 * 2048];
            d.write_session(&mut &data[..], &WriteOptions::default(), &mut NoProgress)
                .unwrap();
        }
    }
    // A later run names only the image: the disc stayed in the drive.
    let o = cback(&["info", &format!("emulated:{}", path.display())]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert_eq!(field(&out, "Profile"), "CD-RW (000Ah)");
    assert_eq!(field(&out, "Medium"), "appendable, rewritable");
    assert_eq!(field(&out, "Sessions"), "2");
    // Each 300-block TAO track ends with 2 run-out blocks; then the lead-out,
    // the next lead-in and pregap.
    assert_eq!(field(&out, "Last session start"), "11702");
    assert_eq!(field(&out, "msinfo"), "11702,18904");
    assert_eq!(field(&out, "Free blocks"), "313896 blocks (613.1 MiB)");
}

#[test]
fn reports_an_empty_drive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bd.img");
    let spec = format!("emulated:{}?profile=bd-re", path.display());
    Drive::open(&spec).unwrap().eject().unwrap();
    let o = cback(&[&format!("emulated:{}", path.display())]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert_eq!(field(&out, "Medium"), "none (tray empty or open)");
}

#[test]
fn bad_devices_give_one_line_and_exit_6() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.txt");
    std::fs::write(&file, "x").unwrap();
    let file = file.to_str().unwrap().to_string();
    for (device, why) in [
        ("/dev/null", "cannot use /dev/null: does not accept SG_IO"),
        (
            "/dev/sr77",
            "cannot use /dev/sr77: No such file or directory",
        ),
        (file.as_str(), "is a regular file, not a drive"),
        (
            "emulated:/tmp/x.iso?profile=floppy",
            "unknown profile \"floppy\"",
        ),
    ] {
        let o = cback(&[device]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(6), "{device}: {err}");
        assert!(
            err.starts_with("cback drive: ") && err.contains(why),
            "{device}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{device}: {err}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["a", "b"][..],
        &["--frobnicate", "x"][..],
        &["info"][..],
    ] {
        let o = cback(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains("usage: cback drive"));
    }
    let o = cback(&["--help"]);
    assert!(o.status.success());
    assert!(text(&o.stdout).contains("emulated:PATH?profile=NAME"));
}

#[test]
fn reports_an_overwritable_and_a_finalized_disc() {
    let dir = tempfile::tempdir().unwrap();
    let rw = format!(
        "emulated:{}?profile=dvd+rw",
        dir.path().join("rw.img").display()
    );
    Drive::open(&rw).unwrap().format().unwrap();
    let o = cback(&[&rw]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert_eq!(field(&out, "Profile"), "DVD+RW (001Ah)");
    assert_eq!(
        field(&out, "Medium"),
        "overwritable (formatted), rewritable"
    );
    assert!(field(&out, "msinfo").contains("ISO volume end"), "{out}");

    let r = format!(
        "emulated:{}?profile=bd-r",
        dir.path().join("r.img").display()
    );
    let opts = WriteOptions {
        finalize: true,
        ..WriteOptions::default()
    };
    let data = vec![1u8; 64 * 2048];
    Drive::open(&r)
        .unwrap()
        .write_session(&mut &data[..], &opts, &mut NoProgress)
        .unwrap();
    let o = cback(&[&r]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert_eq!(field(&out, "Profile"), "BD-R sequential recording (0041h)");
    assert_eq!(field(&out, "Medium"), "finalized, write-once");
    assert_eq!(field(&out, "Sessions"), "1");
    assert_eq!(field(&out, "Last session start"), "0");
    assert_eq!(field(&out, "Next writable"), "-");
    assert!(
        field(&out, "msinfo").starts_with("none (no further session"),
        "{out}"
    );
    assert_eq!(field(&out, "Free blocks"), "0 blocks (0.0 MiB)");
}

#[test]
fn an_overwritable_disc_with_a_volume_shows_the_room_store_would_use() {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    std::fs::create_dir(&content).unwrap();
    std::fs::write(content.join("data"), vec![7u8; 700 * 2048]).unwrap();
    let iso = dir.path().join("v.iso");
    let o = Command::new(env!("CARGO_BIN_EXE_cback"))
        .args(["mkisofs", "-r", "-o"])
        .arg(&iso)
        .arg(&content)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let image = std::fs::read(&iso).unwrap();
    let rw = format!(
        "emulated:{}?profile=dvd+rw",
        dir.path().join("rw.img").display()
    );
    let mut d = Drive::open(&rw).unwrap();
    d.format().unwrap();
    d.write_session(&mut &image[..], &WriteOptions::default(), &mut NoProgress)
        .unwrap();
    let place = cedar::engine::disc::placement(&mut d).unwrap();
    let capacity = d.medium_info().unwrap().capacity;
    drop(d);
    let end = place.volume.as_ref().unwrap().end;
    assert_eq!(u64::from(end) * 2048, image.len() as u64);
    assert!(place.start_lba >= end && place.start_lba > 700);
    assert_eq!(place.free_blocks, capacity - place.start_lba);

    let o = cback(&[&rw]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{out}{}", text(&o.stderr));
    assert_eq!(
        field(&out, "Next session"),
        format!(
            "at block {} (after the ISO volume ending at {end})",
            place.start_lba
        )
    );
    let free = field(&out, "Free blocks");
    assert!(
        free.starts_with(&format!("{} blocks", place.free_blocks)),
        "{out}"
    );
    assert!(!free.starts_with(&format!("{capacity} ")), "{out}");
    assert!(field(&out, "Capacity").starts_with(&format!("{capacity} blocks")));
}
