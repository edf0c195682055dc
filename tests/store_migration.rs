//! A migrating user's disc: Cedar Backup's own sessions, made by
//! genisoimage (mkisofs) and written as cdrecord/growisofs would, are on the
//! disc first; then cedar appends its nights, and the newest session shows
//! every day of both (xorriso; bsdtar and pycdlib at LBA 16 on DVD+RW).

mod support;

use std::fs::File;
use std::path::Path;
use std::process::Command;

use support::store::*;
use support::{have, have_pycdlib};

/// genisoimage as Cedar runs it (`-r -graft-points -V LABEL`), for one day,
/// optionally as a later session of `previous` (`-C msinfo -M image`).
fn genisoimage(out: &Path, label: &str, day: &str, host: &Path, msinfo: Option<(u32, u32, &Path)>) {
    let mut cmd = Command::new("genisoimage");
    cmd.args(["-quiet", "-r", "-graft-points", "-V", label, "-o"])
        .arg(out);
    if let Some((last, next, image)) = msinfo {
        cmd.arg("-C")
            .arg(format!("{last},{next}"))
            .arg("-M")
            .arg(image);
    }
    let o = cmd
        .arg(format!("{day}/={}", host.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Writes an image file as one session through the emulated drive.
fn write_session(spec: &str, image: &Path, format_first: bool) {
    let mut drive = mmc::Drive::open(spec).unwrap();
    drive.set_poll_interval(std::time::Duration::from_millis(1));
    if format_first {
        drive.format().unwrap();
    }
    let blocks = (std::fs::metadata(image).unwrap().len() / 2048) as u32;
    let opts = mmc::WriteOptions {
        expected_blocks: Some(blocks),
        ..Default::default()
    };
    drive
        .write_session(&mut File::open(image).unwrap(), &opts, &mut mmc::NoProgress)
        .unwrap();
}

fn msinfo(spec: &str) -> (u32, u32) {
    let mut drive = mmc::Drive::open(spec).unwrap();
    drive.medium_info().unwrap().msinfo().unwrap()
}

fn migrate(profile: &str) {
    let mut rig = Rig::new(profile);
    rig.starting_day = "sunday";
    // Cedar's nights of last week: staged, stored by genisoimage + burner.
    let cedar_days = [date("2026-02-24"), date("2026-02-25")];
    let spec = rig.spec();
    for (i, &d) in cedar_days.iter().enumerate() {
        rig.stage(d, 12);
        let iso = rig.path(&format!("genisoimage{i}.iso"));
        let label = format!("CEDAR BACKUP {}", d.format("%d-%b-%Y")).to_uppercase();
        if i == 0 {
            genisoimage(&iso, &label, &day_path(d), &rig.day_dir(d), None);
            write_session(&spec, &iso, rig.medium.overwritable);
        } else if rig.medium.overwritable {
            // growisofs -Z again: an overwritable disc holds one volume.
            break;
        } else {
            let (last, next) = msinfo(&spec);
            let image = rig.image();
            genisoimage(
                &iso,
                &label,
                &day_path(d),
                &rig.day_dir(d),
                Some((last, next, &image)),
            );
            write_session(&spec, &iso, false);
        }
        std::fs::write(rig.day_dir(d).join("cback.store"), b"").unwrap();
    }
    let old: Vec<_> = if rig.medium.overwritable {
        cedar_days[..1].to_vec()
    } else {
        cedar_days.to_vec()
    };
    // cedar's nights, appended.
    let mut all = old.clone();
    let mut last = 0;
    for d in ["2026-03-03", "2026-03-04", "2026-03-05"] {
        let night = date(d);
        rig.stage(night, 20);
        last = rig.store_ok(night);
        all.push(night);
    }
    let want = expected(&rig, &all);
    if have("xorriso") {
        let got = xorriso_session(&rig.image(), last, &rig.path("x"));
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{profile}"
        );
        assert!(got == want, "{profile}: contents");
    }
    if rig.medium.overwritable && have("bsdtar") {
        assert!(
            bsdtar_volume(&rig.image(), &rig.path("t")) == want,
            "{profile}: bsdtar"
        );
    }
    if rig.medium.overwritable && have_pycdlib() {
        let want: std::collections::BTreeMap<_, _> =
            want.iter().map(|(k, v)| (k.clone(), sha1_hex(v))).collect();
        assert_eq!(pycdlib_volume(&rig.image()), want, "{profile}: pycdlib");
    }
}

#[test]
fn cedar_appends_to_a_disc_cedar_backup_wrote_with_genisoimage() {
    if !have("genisoimage") {
        return;
    }
    for profile in ["dvd+r", "cdr-80", "bd-r", "dvd+rw", "bd-re"] {
        migrate(profile);
    }
}
