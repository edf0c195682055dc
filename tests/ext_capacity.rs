//! The capacity extension after a real `cback store` on emulated discs
//! (write-once CD-R, DVD+R, BD-R; overwritable DVD+RW, BD-RE): its
//! utilization and free bytes are the drive's (READ DISC/TRACK INFORMATION
//! through mmc on write-once media; on overwritable ones the volume size
//! isoinfo reads at LBA 16), and it warns exactly when Cedar's rule says
//! so: over `max_percentage`, under `min_bytes`. The action succeeds either
//! way, as Cedar's does.

mod support;

use std::process::Command;

use cedar::engine::util::display_bytes;
use support::store::*;

/// (used, available) bytes of the disc in `rig`'s drive, read
/// independently of the extension.
fn disc_numbers(rig: &Rig) -> (u64, u64) {
    let mut drive = mmc::Drive::open(&rig.spec()).unwrap();
    let info = drive.medium_info().unwrap();
    let total = u64::from(info.capacity) * 2048;
    let used = if rig.medium.overwritable {
        let out = Command::new("isoinfo")
            .arg("-d")
            .arg("-i")
            .arg(rig.image())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let blocks: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("Volume size is: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        blocks.next_multiple_of(16) * 2048
    } else {
        total - u64::from(info.free_blocks) * 2048
    };
    (used, total - used)
}

/// Runs `cback capacity` with `section` inside `<capacity>`; returns the log.
fn capacity(rig: &Rig, day: chrono::NaiveDate, section: &str) -> String {
    let conf = rig.write_config();
    let xml = std::fs::read_to_string(&conf).unwrap().replace(
        "</cb_config>",
        &format!(
            "<extensions><action><name>capacity</name>\
             <module>CedarBackup3.extend.capacity</module><function>executeAction</function>\
             <index>299</index></action></extensions><capacity>{section}</capacity></cb_config>"
        ),
    );
    std::fs::write(&conf, xml).unwrap();
    let log = rig.path("capacity.log");
    let _ = std::fs::remove_file(&log);
    let out = Command::new(env!("CARGO_BIN_EXE_cback"))
        .arg("-c")
        .arg(&conf)
        .arg("-l")
        .arg(&log)
        .args(["-d", "capacity"])
        .env("CEDAR_TODAY", day.format("%Y-%m-%d").to_string())
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        out.status.success(),
        "capacity failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        text
    );
    text
}

fn check(profile: &str) {
    let rig = Rig::new(profile);
    let day = date("2026-03-03");
    rig.stage(day, 3 * 1024);
    rig.store_ok(day);
    let (used, available) = disc_numbers(&rig);
    let utilized = used as f64 / (used + available) as f64 * 100.0;
    assert!(used > 3 * 1024 * 1024, "{profile}: {used} bytes used");

    let below = format!("{:.4}", utilized * 0.99);
    let log = capacity(
        &rig,
        day,
        &format!("<max_percentage>{below}</max_percentage>"),
    );
    let warning = format!("Media has reached capacity limit of {below}%: {utilized:.2}% utilized");
    assert!(
        log.contains(&warning),
        "{profile}: wanted [{warning}] in\n{log}"
    );
    assert!(log.contains("Executed the capacity extended action successfully."));

    let above = format!("{:.4}", utilized * 1.01);
    let log = capacity(
        &rig,
        day,
        &format!("<max_percentage>{above}</max_percentage>"),
    );
    assert!(
        !log.contains("Media has reached capacity limit"),
        "{profile}:\n{log}"
    );

    let log = capacity(
        &rig,
        day,
        &format!("<min_bytes>{}</min_bytes>", available + 1),
    );
    let warning = format!(
        "Media has reached capacity limit of {}: only {} available",
        display_bytes(available + 1),
        display_bytes(available)
    );
    assert!(
        log.contains(&warning),
        "{profile}: wanted [{warning}] in\n{log}"
    );
    let log = capacity(&rig, day, &format!("<min_bytes>{available}</min_bytes>"));
    assert!(
        !log.contains("Media has reached capacity limit"),
        "{profile}:\n{log}"
    );
}

#[test]
fn capacity_on_write_once_discs() {
    for profile in ["cdr-74", "dvd+r", "bd-r"] {
        check(profile);
    }
}

#[test]
fn capacity_on_overwritable_discs() {
    if !support::have("isoinfo") {
        return;
    }
    for profile in ["dvd+rw", "bd-re"] {
        check(profile);
    }
}

#[test]
fn capacity_without_a_store_section_fails_as_cback3_does() {
    let dir = tempfile::tempdir().unwrap();
    let (user, group) = support::current_account();
    let conf = dir.path().join("c.conf");
    std::fs::write(
        &conf,
        format!(
            "<cb_config><options><starting_day>monday</starting_day>\
             <working_dir>{}</working_dir><backup_user>{user}</backup_user>\
             <backup_group>{group}</backup_group><rcp_command>/usr/bin/scp</rcp_command>\
             </options><extensions><action><name>capacity</name>\
             <module>CedarBackup3.extend.capacity</module><function>executeAction</function>\
             <index>299</index></action></extensions>\
             <stage><staging_dir>{d}</staging_dir><peer><name>p</name><type>local</type>\
             <collect_dir>{d}</collect_dir></peer></stage>\
             <capacity><min_bytes>1 GB</min_bytes></capacity></cb_config>",
            dir.path().display(),
            d = dir.path().display()
        ),
    )
    .unwrap();
    let mut programs = vec![std::path::PathBuf::from(env!("CARGO_BIN_EXE_cback"))];
    programs.extend(support::cb3());
    for program in programs {
        let log = dir.path().join("l");
        let _ = std::fs::remove_file(&log);
        let out = Command::new(&program)
            .arg("-c")
            .arg(&conf)
            .arg("-l")
            .arg(&log)
            .arg("capacity")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(6), "{}", program.display());
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("Cedar Backup configuration is not properly filled in."),
            "{}: {text}",
            program.display()
        );
    }
}
