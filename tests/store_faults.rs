//! Nothing is ever lost: a store that fails (a write error mid-track, the
//! medium removed or write-protected, a disc too full, a SIGKILL while
//! writing) exits 6, leaves the staged day and its indicators as they were
//! and every earlier session readable, and running store again for the
//! same day succeeds. Faults are injected through the emulated device
//! string (see mmc's emulator). Plus the rules around them: the day across
//! midnight, --full, blank_behavior, --dry-run, check_media, initialize,
//! rebuild and a medium that does not match the configuration.

mod support;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use support::have;
use support::store::*;

fn snapshot(rig: &Rig) -> BTreeMap<String, Vec<u8>> {
    files(&rig.path("stage"))
}

fn disc_bytes(rig: &Rig) -> (Vec<u8>, Vec<u8>) {
    let image = rig.image();
    (
        std::fs::read(&image).unwrap(),
        std::fs::read(mmc::emulator::state_path(&image)).unwrap(),
    )
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// After a failed night: exit 6, staging untouched, no cback.store, the
/// earlier night still readable; then the re-run succeeds and the newest
/// session holds both nights.
fn fails_then_recovers(profile: &str, fault: &str, message: &str) {
    let mut rig = Rig::new(profile);
    let (mon, tue) = (date("2026-03-02"), date("2026-03-03"));
    rig.stage(mon, 16);
    let first = rig.store_ok(mon);
    rig.stage(tue, 256);
    let before = snapshot(&rig);
    rig.device_extra = fault.to_string();
    let out = rig.cback(tue, &["store"]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{profile} {fault}: {}",
        rig.log_tail(10)
    );
    assert!(
        rig.log_tail(40).contains(message),
        "{profile} {fault}: wanted {message:?} in\n{}",
        rig.log_tail(40)
    );
    assert_eq!(snapshot(&rig), before, "{profile} {fault}: staging changed");
    assert!(!rig.day_dir(tue).join("cback.store").exists());
    if have("xorriso") {
        let got = xorriso_session(&rig.image(), first, &rig.path("after-failure"));
        assert!(
            got == expected(&rig, &[mon]),
            "{profile} {fault}: Monday lost"
        );
    }
    rig.device_extra.clear();
    let start = rig.store_ok(tue);
    if have("xorriso") {
        let got = xorriso_session(&rig.image(), start, &rig.path("rerun"));
        assert!(
            got == expected(&rig, &[mon, tue]),
            "{profile} {fault}: rerun"
        );
    }
}

#[test]
fn a_write_error_mid_track_fails_the_night_and_the_rerun_succeeds() {
    for profile in ["dvd+r", "dvd+rw", "cdr-74", "bd-re", "dvd-r", "bd-r"] {
        fails_then_recovers(profile, "&fault=write@4:3/0c/00", "while writing");
    }
}

#[test]
fn a_removed_or_write_protected_medium_fails_the_night() {
    for profile in ["dvd+r", "dvd+rw"] {
        fails_then_recovers(profile, "&removed=1", "no medium");
        // DVD and BD drives report the protection before anything is sent
        // that would change the disc.
        fails_then_recovers(
            profile,
            "&wp=1",
            "the medium is write-protected (media specific write inhibition); nothing was written",
        );
    }
    // A CD has no write protection status: the first WRITE is refused.
    fails_then_recovers("cdr-74", "&wp=1", "write protected");
}

/// A write-protected DVD or BD is refused by store before any command that
/// changes the disc (not a byte of image or state differs) and by validate.
#[test]
fn a_write_protected_disc_is_refused_before_anything_is_sent_to_change_it() {
    for profile in ["dvd+r", "bd-re"] {
        let mut rig = Rig::new(profile);
        let mon = date("2026-03-02");
        rig.stage(mon, 16);
        rig.store_ok(mon);
        let tue = date("2026-03-03");
        rig.stage(tue, 16);
        let before = disc_bytes(&rig);
        rig.device_extra = "&wp=1".into();
        let out = rig.cback(tue, &["store"]);
        assert_eq!(out.status.code(), Some(6), "{}", rig.log_tail(10));
        let line = format!(
            "{}&wp=1: the medium is write-protected (media specific write inhibition); nothing was written",
            rig.spec()
        );
        assert!(rig.log_tail(5).contains(&line), "{}", rig.log_tail(10));
        assert!(!rig.log_tail(20).contains("Phase: writing."));
        assert!(disc_bytes(&rig) == before, "{profile}: the disc changed");
        let out = rig.cback(tue, &["validate"]);
        assert_ne!(out.status.code(), Some(0));
        assert!(
            rig.log_tail(10)
                .contains("holds a medium that cannot be written: the medium is write-protected"),
            "{}",
            rig.log_tail(10)
        );
    }
}

/// Cedar opens and closes the tray after writing only when the drive has
/// one: a slot-loading drive (whose ejected disc would stay out and fail
/// the consistency check) is left alone, a tray is opened and closed.
#[test]
fn the_tray_is_opened_and_closed_only_when_the_drive_has_one() {
    let mut rig = Rig::new("dvd+r");
    rig.device_extra = "&tray=0".into();
    let (mon, tue) = (date("2026-03-02"), date("2026-03-03"));
    rig.stage(mon, 16);
    rig.stage(tue, 16);
    assert_eq!(rig.store_ok(mon), 0);
    assert!(rig.store_ok(tue) > 0, "Tuesday appended after Monday");
    let log = std::fs::read_to_string(rig.path("cback.log")).unwrap();
    assert!(!log.contains("Opening and closing the tray"), "{log}");

    let rig = Rig::new("dvd+r");
    rig.stage(mon, 16);
    let out = rig.cback(mon, &["--debug", "store"]);
    assert_eq!(out.status.code(), Some(0), "{}", rig.log_tail(20));
    let log = std::fs::read_to_string(rig.path("cback.log")).unwrap();
    assert!(log.contains("Opening and closing the tray"), "{log}");
}

#[test]
fn a_busy_drive_is_waited_for_and_a_long_write_retried() {
    let mut rig = Rig::new("dvd+r");
    let mon = date("2026-03-02");
    rig.stage(mon, 64);
    rig.device_extra = "&busy=6&fault=write@3:2/04/08".into();
    rig.store_ok(mon);
}

#[test]
fn a_disc_too_full_is_refused_before_any_byte_with_the_disc_unchanged() {
    for profile in ["dvd+r", "dvd+rw", "cdr-80"] {
        let mut rig = Rig::new(profile);
        // A small disc: the first night fits, the second does not.
        rig.device_extra = "&capacity=1200".into();
        let (mon, tue) = (date("2026-03-02"), date("2026-03-03"));
        rig.stage(mon, 16);
        rig.store_ok(mon);
        rig.stage(tue, 4096);
        let (disc, staged) = (disc_bytes(&rig), snapshot(&rig));
        let out = rig.cback(tue, &["store"]);
        assert_eq!(out.status.code(), Some(6), "{profile}");
        let log = rig.log_tail(20);
        assert!(
            log.contains("does not fit: need") && log.contains("MiB free"),
            "{profile}: {log}"
        );
        assert!(disc_bytes(&rig) == disc, "{profile}: the disc changed");
        assert_eq!(snapshot(&rig), staged);
        assert!(!rig.day_dir(tue).join("cback.store").exists());
    }
}

#[test]
fn a_store_killed_mid_write_is_rerun() {
    for profile in ["dvd+r", "dvd+rw", "bd-r"] {
        let rig = Rig::new(profile);
        let (mon, tue) = (date("2026-03-02"), date("2026-03-03"));
        rig.stage(mon, 16);
        let first = rig.store_ok(mon);
        let mut killed = false;
        for mib in [96, 384] {
            rig.stage(tue, mib * 1024);
            let staged = snapshot(&rig);
            let status = rig.store_signalled(tue, nix::sys::signal::Signal::SIGKILL);
            if status.signal() == Some(9) {
                killed = true;
                assert_eq!(snapshot(&rig), staged, "{profile}: staging changed");
                assert!(!rig.day_dir(tue).join("cback.store").exists());
                break;
            }
            // It finished before the kill: try a bigger day.
            std::fs::remove_file(rig.day_dir(tue).join("cback.store")).unwrap();
        }
        assert!(killed, "{profile}: store always finished before the kill");
        if have("xorriso") {
            let got = xorriso_session(&rig.image(), first, &rig.path("after-kill"));
            assert!(got == expected(&rig, &[mon]), "{profile}: Monday lost");
        }
        // Smaller again, so the re-run is quick.
        std::fs::remove_dir_all(rig.day_dir(tue)).unwrap();
        rig.stage(tue, 64);
        let start = rig.store_ok(tue);
        if have("xorriso") {
            let got = xorriso_session(&rig.image(), start, &rig.path("rerun"));
            assert!(got == expected(&rig, &[mon, tue]), "{profile}: rerun");
        }
    }
}

#[test]
fn a_run_across_midnight_stores_yesterday_then_tomorrow() {
    let mut rig = Rig::new("dvd+rw");
    rig.store_extra.push_str("<warn_midnite>Y</warn_midnite>");
    let (mon, tue, wed) = (date("2026-03-02"), date("2026-03-03"), date("2026-03-04"));
    rig.stage(mon, 8);
    rig.stage(wed, 8);
    // Tuesday has no staged day: Monday's (yesterday) goes first...
    rig.store_run(tue);
    assert!(rig.day_dir(mon).join("cback.store").is_file());
    let log = rig.log_tail(40);
    assert!(
        log.contains("will use previous day's stage directory"),
        "{log}"
    );
    assert!(log.contains("crossed midnite boundary"), "{log}");
    // ...then Wednesday's (tomorrow), then nothing is left.
    rig.store_run(tue);
    assert!(rig.day_dir(wed).join("cback.store").is_file());
    assert!(rig
        .log_tail(40)
        .contains("will use next day's stage directory"));
    let out = rig.cback(tue, &["store"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(rig.log_tail(10).contains(
        "Unable to find unused staging directory to store (tried today, yesterday, tomorrow)."
    ));
    // --full takes only today, stored or not.
    let out = rig.cback(tue, &["--full", "store"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(rig
        .log_tail(10)
        .contains("only tried today due to full option"));
    // Wednesday was stored already; --full stores it again on a new disc.
    let out = rig.cback(wed, &["--full", "store"]);
    assert_eq!(out.status.code(), Some(0), "{}", rig.log_tail(10));
    assert_eq!(rig.last_session_start(), 0, "--full starts a new disc");
}

#[test]
fn blank_behavior_weighs_free_space_against_the_image() {
    let mut rig = Rig::new("dvd+rw");
    // Capacity 3000 blocks; each day about 600 blocks. Daily mode with
    // factor 2: a new disc once free / (1 + image) <= 2.
    rig.device_extra = "&capacity=3000".into();
    rig.store_extra
        .push_str("<blank_behavior><mode>daily</mode><factor>2</factor></blank_behavior>");
    let mut starts = Vec::new();
    for d in 3..=8 {
        let night = date(&format!("2026-03-{d:02}"));
        rig.stage(night, 1100);
        starts.push(rig.store_ok(night));
    }
    let log = std::fs::read_to_string(rig.path("cback.log")).unwrap();
    assert!(log.contains("Disc: append (blank factor:"), "{log}");
    assert!(log.contains("Disc: new disc (blank factor:"), "{log}");
    let restarts = starts.iter().skip(1).filter(|&&s| s == 0).count();
    assert!(restarts >= 1, "the disc was started again: {starts:?}");
    // Weekly mode away from the starting day never weighs: append until full.
    let mut rig = Rig::new("dvd+rw");
    rig.store_extra
        .push_str("<blank_behavior><mode>weekly</mode><factor>100</factor></blank_behavior>");
    for d in 3..=4 {
        let night = date(&format!("2026-03-{d:02}"));
        rig.stage(night, 8);
        rig.store_ok(night);
    }
    assert!(rig
        .log_tail(40)
        .contains("Disc: append (blank behavior needs no calculation today)"));
}

/// The image size the blank factor weighs is the session store writes,
/// cback.manifest included (a day of many files has a manifest of several
/// blocks).
#[test]
fn the_blank_factor_weighs_the_image_with_its_manifest() {
    let mut rig = Rig::new("dvd+r");
    rig.store_extra
        .push_str("<blank_behavior><mode>daily</mode><factor>0.5</factor></blank_behavior>");
    let mon = date("2026-03-02");
    rig.stage(mon, 8);
    let many = rig.day_dir(mon).join("host1/many");
    std::fs::create_dir_all(&many).unwrap();
    for i in 0..200 {
        std::fs::write(
            many.join(format!("file-with-a-long-name-{i:04}")),
            [i as u8],
        )
        .unwrap();
    }
    assert_eq!(rig.store_ok(mon), 0);
    let log = std::fs::read_to_string(rig.path("cback.log")).unwrap();
    let required: u64 = log
        .split(" bytes available / (1 + ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no blank factor in\n{log}"));
    let end: u64 = log
        .split("(volume end ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no volume end in\n{log}"));
    assert!(log.contains("Manifest of /2026/03/02: 204 files."), "{log}");
    // The session starts at block 0 on the blank disc: its volume end is
    // the image's size in blocks.
    assert_eq!(required, end * 2048, "{log}");
}

#[test]
fn dry_run_reports_the_plan_and_writes_nothing() {
    let rig = Rig::new("dvd+r");
    let (mon, tue) = (date("2026-03-02"), date("2026-03-03"));
    rig.stage(mon, 8);
    rig.store_ok(mon);
    rig.stage(tue, 8);
    let (disc, staged) = (disc_bytes(&rig), snapshot(&rig));
    let out = rig.cback(tue, &["--dry-run", "store"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "Dry run: nothing is written.",
        "/2026/03/03",
        "Disc:        append (today is not the starting day)",
        "earlier days imported",
        "Image size:",
        "Free space:",
        "Fits:        yes",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    assert!(disc_bytes(&rig) == disc, "a dry run changed the disc");
    assert_eq!(snapshot(&rig), staged);
    // rebuild has one too; actions that would write anyway refuse it.
    let out = rig.cback(tue, &["--dry-run", "rebuild"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Disc:        new disc (full backup)"),
        "{text}"
    );
    assert!(
        text.contains("/2026/03/02") && text.contains("/2026/03/03"),
        "{text}"
    );
    for action in ["all", "collect", "purge"] {
        let out = rig.cback(tue, &["--dry-run", action]);
        assert_eq!(out.status.code(), Some(4), "{action}");
        assert!(rig
            .log_tail(5)
            .contains("--dry-run applies to store, rebuild and initialize only"));
    }
    assert!(disc_bytes(&rig) == disc, "a dry run changed the disc");
    assert_eq!(snapshot(&rig), staged);
}

#[test]
fn check_media_wants_an_initialized_rewritable_disc() {
    let mut rig = Rig::new("dvd+rw");
    rig.store_extra.push_str("<check_media>Y</check_media>");
    let mon = date("2026-03-02");
    rig.stage(mon, 8);
    let out = rig.cback(mon, &["store"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(rig
        .log_tail(10)
        .contains("Media has not been initialized: no media label available"));
    let out = rig.cback(mon, &["initialize"]);
    assert_eq!(out.status.code(), Some(0), "{}", rig.log_tail(10));
    if have("isoinfo") {
        let o = Command::new("isoinfo")
            .args(["-d", "-i"])
            .arg(rig.image())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("Volume id: CEDAR BACKUP 02-MAR-2026"),
            "{text}"
        );
    }
    if have("bsdtar") {
        let got = Command::new("bsdtar")
            .arg("tf")
            .arg(rig.image())
            .output()
            .unwrap();
        let names = String::from_utf8_lossy(&got.stdout);
        assert!(
            names
                .lines()
                .any(|l| l.trim_end_matches('/') == "CedarBackup"),
            "{names}"
        );
    }
    rig.store_ok(mon);
    // Write-once media cannot be initialized.
    let rig = Rig::new("dvd+r");
    let out = rig.cback(mon, &["initialize"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(rig
        .log_tail(10)
        .contains("Only rewritable media types can be initialized."));
}

#[test]
fn rebuild_writes_every_staged_day_since_the_starting_day_on_a_new_disc() {
    let rig = Rig::new("cdrw-74");
    let days: Vec<_> = (1..=4).map(|d| date(&format!("2026-03-{d:02}"))).collect();
    for &d in &days {
        rig.stage(d, 8);
        rig.store_ok(d);
    }
    // Wednesday 4 March: Monday 2 to Wednesday 4 (Sunday 1 is last week).
    let out = rig.cback(days[3], &["rebuild"]);
    assert_eq!(out.status.code(), Some(0), "{}", rig.log_tail(20));
    assert_eq!(rig.last_session_start(), 0, "blanked and started again");
    if have("xorriso") {
        // The days go on as staged, indicators and all.
        let got = xorriso_session(&rig.image(), 0, &rig.path("rebuilt"));
        let want: BTreeMap<String, Vec<u8>> = days[1..]
            .iter()
            .flat_map(|&d| {
                files(&rig.day_dir(d))
                    .into_iter()
                    .map(move |(k, v)| (format!("{}/{k}", day_path(d)), v))
            })
            .collect();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        assert!(got == want, "rebuilt disc");
    }
}

#[test]
fn a_medium_that_does_not_match_the_configuration_is_refused() {
    let mut rig = Rig::new("dvd+rw");
    rig.medium.media = "dvd+r";
    let mon = date("2026-03-02");
    rig.stage(mon, 8);
    let out = rig.cback(mon, &["store"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        rig.log_tail(10)
            .contains("media_type dvd+r does not match the DVD+RW medium the drive reports"),
        "{}",
        rig.log_tail(10)
    );
    assert!(!rig.day_dir(mon).join("cback.store").exists());
}

/// validate reports the room store would have: on DVD+RW after the ISO
/// volume, not the drive's figure for the whole medium.
#[test]
fn validate_reports_the_free_space_store_would_use() {
    let mut rig = Rig::new("dvd+rw");
    rig.device_extra = "&capacity=3000".into();
    let mon = date("2026-03-02");
    rig.stage(mon, 64);
    assert_eq!(rig.store_ok(mon), 0);
    let log = std::fs::read_to_string(rig.path("cback.log")).unwrap();
    let end: u32 = log
        .split("(volume end ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no volume end in\n{log}"));
    // (The rig's configuration has no reference section: validate fails
    // for that, after describing the device.)
    rig.cback(mon, &["validate"]);
    let free = 3000 - end.next_multiple_of(16);
    assert!(
        rig.log_tail(20)
            .contains(&format!("overwritable (formatted), {free} blocks (")),
        "{}",
        rig.log_tail(20)
    );
}

#[test]
fn a_malformed_emulated_device_string_is_a_config_error() {
    let mut rig = Rig::new("dvd+r");
    rig.device_extra = "&colour=red".into();
    let out = rig.cback(date("2026-03-02"), &["validate"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(rig.log_tail(10).contains("store/target_device"));
    // An invalid CEDAR_TODAY is refused with one clear line.
    rig.device_extra.clear();
    let out = Command::new(env!("CARGO_BIN_EXE_cback"))
        .args(["-c"])
        .arg(rig.write_config())
        .arg("-l")
        .arg(rig.path("cback.log"))
        .arg("store")
        .env("CEDAR_TODAY", "03/02/2026")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(rig
        .log_tail(5)
        .contains("CEDAR_TODAY=\"03/02/2026\" is not a date (expected YYYY-MM-DD)"));
}

/// Unmounts when dropped, so a failing test leaves no mount behind.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_mounted_device_is_refused() {
    if !support::runs_as(support::Account::Root) {
        return;
    }
    let rig = Rig::new("dvd+rw");
    let (mon, tue) = (date("2026-03-02"), date("2026-03-03"));
    rig.stage(mon, 8);
    rig.store_ok(mon);
    rig.stage(tue, 8);
    // A mount whose source is the image (the mounts table is what counts;
    // a tmpfs takes any source name, so no iso9660 driver is needed).
    let point = rig.path("mnt");
    std::fs::create_dir(&point).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs"])
        .arg(rig.image())
        .arg(&point)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount -t tmpfs");
    let guard = Mounted(point.clone());
    let (disc, staged) = (disc_bytes(&rig), snapshot(&rig));
    let out = rig.cback(tue, &["store"]);
    assert_eq!(out.status.code(), Some(6));
    let log = rig.log_tail(10);
    assert!(
        log.contains("is currently mounted") && log.contains(&point.display().to_string()),
        "{log}"
    );
    assert!(disc_bytes(&rig) == disc);
    assert_eq!(snapshot(&rig), staged);
    drop(guard);
    rig.store_ok(tue);
}

#[test]
fn sigterm_mid_write_exits_5_and_the_rerun_succeeds() {
    let rig = Rig::new("dvd+r");
    let (mon, tue) = (date("2026-03-02"), date("2026-03-03"));
    rig.stage(mon, 16);
    let first = rig.store_ok(mon);
    rig.stage(tue, 192 * 1024);
    let staged = snapshot(&rig);
    let status = rig.store_signalled(tue, nix::sys::signal::Signal::SIGTERM);
    assert_eq!(status.code(), Some(5), "{}", rig.log_tail(10));
    assert!(rig.log_tail(5).contains("Backup interrupted."));
    assert_eq!(snapshot(&rig), staged);
    if have("xorriso") {
        let got = xorriso_session(&rig.image(), first, &rig.path("after-term"));
        assert!(got == expected(&rig, &[mon]), "Monday lost");
    }
    std::fs::remove_dir_all(rig.day_dir(tue)).unwrap();
    rig.stage(tue, 32);
    let start = rig.store_ok(tue);
    if have("xorriso") {
        let got = xorriso_session(&rig.image(), start, &rig.path("rerun"));
        assert!(got == expected(&rig, &[mon, tue]), "rerun");
    }
}
