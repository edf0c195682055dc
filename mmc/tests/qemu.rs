//! The real kernel path: a Debian 6.1 kernel under QEMU, the emulated burner
//! served to it through TCMU + tcm_loop (examples/tcmu_serve.rs) so it is
//! /dev/sr0 and /dev/sg0, and the drive layer writing through SG_IO
//! (examples/burn.rs). The kernel's own sr driver, block reads and isofs then
//! check what was written.
//!
//! Needs qemu-system-x86_64 and MMC_QEMU_KERNEL_DIR (see tests/qemu/setup.sh);
//! without them the tests say so and pass without running, except under CI,
//! where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Outside CI a missing prerequisite skips the test with a note; under CI
/// (which installs them all) it fails it.
fn missing(what: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what}: required under CI"
    );
    eprintln!("{what}: test not run");
}

/// Whether the host has these programs (the guest runs the host's binaries).
fn host_has(tools: &[&str]) -> bool {
    let absent: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| !Path::new("/usr/bin").join(t).exists())
        .collect();
    if !absent.is_empty() {
        missing(&format!("{} not installed on the host", absent.join(", ")));
    }
    absent.is_empty()
}

fn kernel_dir() -> Option<String> {
    let Ok(dir) = std::env::var("MMC_QEMU_KERNEL_DIR") else {
        missing("MMC_QEMU_KERNEL_DIR not set (see tests/qemu/setup.sh)");
        return None;
    };
    let qemu = Command::new("qemu-system-x86_64").arg("--version").output();
    if qemu.is_err() {
        missing("qemu-system-x86_64 not found");
        return None;
    }
    Some(dir)
}

/// target/debug, where the examples this test drives were built.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Boots the guest with `device` as /dev/sr0, runs `scenario`, returns its log.
fn run_guest(work: &Path, device: &str, scenario: &str) -> String {
    let kdir = kernel_dir().expect("checked by caller");
    // `cargo test --test qemu` alone does not build the examples the guest runs.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "-p", "mmc", "--examples"])
        .status()
        .unwrap();
    assert!(built.success(), "building the examples failed");
    let script = work.join("scenario.in");
    std::fs::write(&script, scenario).unwrap();
    let run = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/qemu/run.sh");
    let out = Command::new("sh")
        .arg(run)
        .arg(work)
        .arg(&script)
        .arg(device)
        .arg(target_dir())
        .env("MMC_QEMU_KERNEL_DIR", kdir)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{log}");
    if !log.contains("scenario exit") {
        let console = std::fs::read_to_string(work.join("console.log")).unwrap_or_default();
        panic!("guest did not finish:\n{log}\n{console}");
    }
    log
}

#[test]
fn two_cd_sessions_through_sr_and_sg_read_back_by_the_kernel() {
    if kernel_dir().is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let log = run_guest(
        work.path(),
        "emulated:/work/disc.iso?profile=cdr-80&busy=3",
        r#"
dd if=/dev/urandom of=/work/s1.img bs=2048 count=400 2>/dev/null
dd if=/dev/urandom of=/work/s2.img bs=2048 count=300 2>/dev/null
$TARGET/examples/burn /dev/sr0 /work/s1.img /work/s2.img
$TARGET/examples/burn /dev/sg0
dd if=/dev/sr0 of=/work/b1.img bs=2048 count=400 2>/dev/null
dd if=/dev/sr0 of=/work/b2.img bs=2048 skip=11800 count=300 2>/dev/null
cmp /work/s1.img /work/b1.img && echo "kernel read session 1 ok"
cmp /work/s2.img /work/b2.img && echo "kernel read session 2 ok"
"#,
    );
    assert!(log.contains("Attached scsi CD-ROM sr0"), "{log}");
    // sr read the capabilities page through MODE SENSE(6).
    assert!(
        log.contains("scsi3-mmc drive: 40x/40x writer cd/rw"),
        "{log}"
    );
    assert!(
        log.contains("session /work/s1.img at 0 blocks 400 verified"),
        "{log}"
    );
    assert!(
        log.contains("session /work/s2.img at 11800 blocks 300 verified"),
        "{log}"
    );
    assert_eq!(
        log.matches("msinfo 11800,19000 sessions 2").count(),
        2,
        "{log}"
    );
    assert!(log.contains("kernel read session 1 ok"), "{log}");
    assert!(log.contains("kernel read session 2 ok"), "{log}");
    assert!(log.contains("scenario exit 0"), "{log}");
}

/// A minimal ISO 9660 volume: PVD, terminator, a root directory holding
/// HELLO.TXT, and the two path tables.
fn tiny_iso(text: &[u8]) -> Vec<u8> {
    const B: usize = 2048;
    let blocks = 22u32;
    let mut iso = vec![0u8; blocks as usize * B];
    let both32 = |b: &mut [u8], v: u32| {
        b[..4].copy_from_slice(&v.to_le_bytes());
        b[4..8].copy_from_slice(&v.to_be_bytes());
    };
    let both16 = |b: &mut [u8], v: u16| {
        b[..2].copy_from_slice(&v.to_le_bytes());
        b[2..4].copy_from_slice(&v.to_be_bytes());
    };
    let record = |name: &[u8], extent: u32, len: u32, dir: bool| {
        let mut r = vec![0u8; (33 + name.len()).next_multiple_of(2)];
        r[0] = r.len() as u8;
        both32(&mut r[2..10], extent);
        both32(&mut r[10..18], len);
        r[18..25].copy_from_slice(&[126, 11, 22, 3, 0, 0, 0]);
        r[25] = if dir { 2 } else { 0 };
        both16(&mut r[28..32], 1);
        r[32] = name.len() as u8;
        r[33..33 + name.len()].copy_from_slice(name);
        r
    };
    let pvd = &mut iso[16 * B..17 * B];
    pvd[0] = 1;
    pvd[1..6].copy_from_slice(b"CD001");
    pvd[6] = 1;
    pvd[8..72].fill(b' ');
    pvd[40..45].copy_from_slice(b"CEDAR");
    both32(&mut pvd[80..88], blocks);
    both16(&mut pvd[120..124], 1);
    both16(&mut pvd[124..128], 1);
    both16(&mut pvd[128..132], 2048);
    both32(&mut pvd[132..140], 10);
    pvd[140..144].copy_from_slice(&19u32.to_le_bytes());
    pvd[148..152].copy_from_slice(&20u32.to_be_bytes());
    pvd[156..190].copy_from_slice(&record(&[0], 18, 2048, true));
    pvd[190..813].fill(b' ');
    for at in [813, 830, 847, 864] {
        pvd[at..at + 16].fill(b'0');
    }
    pvd[881] = 1;
    let term = &mut iso[17 * B..18 * B];
    term[0] = 255;
    term[1..6].copy_from_slice(b"CD001");
    term[6] = 1;
    let mut dir = record(&[0], 18, 2048, true);
    dir.extend(record(&[1], 18, 2048, true));
    dir.extend(record(b"HELLO.TXT;1", 21, text.len() as u32, false));
    iso[18 * B..18 * B + dir.len()].copy_from_slice(&dir);
    let mut lpt = [1u8, 0, 0, 0, 0, 0, 1, 0, 0, 0];
    lpt[2..6].copy_from_slice(&18u32.to_le_bytes());
    iso[19 * B..19 * B + 10].copy_from_slice(&lpt);
    let mut mpt = [1u8, 0, 0, 0, 0, 0, 0, 1, 0, 0];
    mpt[2..6].copy_from_slice(&18u32.to_be_bytes());
    iso[20 * B..20 * B + 10].copy_from_slice(&mpt);
    iso[21 * B..21 * B + text.len()].copy_from_slice(text);
    iso
}

#[test]
fn the_kernel_mounts_a_dvd_session_and_a_mounted_drive_is_refused() {
    if kernel_dir().is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("tiny.iso"),
        tiny_iso(b"written through SG_IO\n"),
    )
    .unwrap();
    let log = run_guest(
        work.path(),
        "emulated:/work/disc.iso?profile=dvd+r&busy=3",
        r#"
$TARGET/examples/burn /dev/sr0 /work/tiny.iso
mkdir -p /mnt
mount -t iso9660 -o ro /dev/sr0 /mnt && echo "mounted"
cat /mnt/hello.txt
$TARGET/examples/burn /dev/sr0 /work/tiny.iso
echo "burn while mounted: $?"
umount /mnt
$TARGET/examples/burn /dev/sr0
"#,
    );
    assert!(
        log.contains("session /work/tiny.iso at 0 blocks 22 verified"),
        "{log}"
    );
    assert!(log.contains("mounted\nwritten through SG_IO"), "{log}");
    assert!(
        log.contains("burn: cannot use /dev/sr0: it is mounted"),
        "{log}"
    );
    assert!(log.contains("burn while mounted: 6"), "{log}");
    assert!(log.contains("msinfo 0,32 sessions 1"), "{log}");
}

/// Two directories, one per session, each with one file.
const SESSION_DIRS: &str = r#"
mkdir -p /work/d1 /work/d2
echo "first session" > /work/d1/one.txt
echo "second session" > /work/d2/two.txt
"#;

/// Mounts the disc and shows both sessions' files.
const MOUNT_BOTH: &str = r#"
mkdir -p /mnt
mount -t iso9660 -o ro /dev/sr0 /mnt && ls /mnt && cat /mnt/one.txt /mnt/two.txt
umount /mnt
"#;

#[test]
fn cedar_cd_flow_with_cdrskin_and_genisoimage_matches_our_msinfo() {
    // What Cedar does for CD: mkisofs, cdrecord -multi -data (TAO), and for
    // the next session mkisofs -C $(cdrecord -msinfo) -M device.
    if kernel_dir().is_none() || !host_has(&["cdrskin", "genisoimage"]) {
        eprintln!("kernel-path cross-check not run");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let scenario = format!(
        "{SESSION_DIRS}{}{MOUNT_BOTH}",
        r#"
genisoimage -quiet -r -o /work/s1.iso /work/d1
cdrskin dev=/dev/sr0 -tao -multi -data /work/s1.iso > /dev/null 2>&1
echo "cdrskin msinfo 1: $(cdrskin -msinfo dev=/dev/sr0 2>/dev/null)"
$TARGET/examples/burn /dev/sr0
genisoimage -quiet -r -C $(cdrskin -msinfo dev=/dev/sr0 2>/dev/null) -M /dev/sr0 -o /work/s2.iso /work/d2
cdrskin dev=/dev/sr0 -tao -multi -data /work/s2.iso > /dev/null 2>&1
echo "cdrskin msinfo 2: $(cdrskin -msinfo dev=/dev/sr0 2>/dev/null)"
$TARGET/examples/burn /dev/sr0
"#
    );
    let log = run_guest(
        work.path(),
        "emulated:/work/disc.iso?profile=cdr-80&busy=3",
        &scenario,
    );
    // Each session is padded to 300 blocks; the lead-in/out gaps follow.
    assert!(log.contains("cdrskin msinfo 1: 0,11700"), "{log}");
    assert!(log.contains("msinfo 0,11700 sessions 1"), "{log}");
    assert!(log.contains("cdrskin msinfo 2: 11700,18900"), "{log}");
    assert!(log.contains("msinfo 11700,18900 sessions 2"), "{log}");
    assert!(
        log.contains("one.txt\ntwo.txt\nfirst session\nsecond session"),
        "{log}"
    );
}

#[test]
fn cedar_dvd_flow_with_growisofs_on_dvd_and_bd_re() {
    // What Cedar does for DVD: growisofs -Z for a new disc, -M to append.
    if kernel_dir().is_none() || !host_has(&["growisofs", "genisoimage"]) {
        eprintln!("kernel-path cross-check not run");
        return;
    }
    let scenario = format!(
        "{SESSION_DIRS}{}{MOUNT_BOTH}",
        r#"
growisofs -Z /dev/sr0 -r -quiet /work/d1 2>&1 | grep -E "closing|lead-out|:-"
$TARGET/examples/burn /dev/sr0
growisofs -M /dev/sr0 -r -quiet /work/d2 2>&1 | grep -E "closing|lead-out|:-"
$TARGET/examples/burn /dev/sr0
"#
    );
    // Write-once media show two sessions; overwritable ones stay one
    // "session" grown in place. (BD-R is left out: growisofs leaves its
    // session open and then asks READ TOC for it, which the emulator only
    // answers for closed sessions.)
    for (media, sessions) in [
        ("dvd+r", "sessions 2"),
        ("dvd-r", "sessions 2"),
        ("dvd-rw", "sessions 2"),
        ("dvd+rw", "msinfo none sessions 1"),
        ("bd-re", "msinfo none sessions 1"),
    ] {
        let work = tempfile::tempdir().unwrap();
        let device = format!("emulated:/work/disc.iso?profile={media}&busy=3");
        let log = run_guest(work.path(), &device, &scenario);
        assert!(
            !log.contains(":-("),
            "{media}: growisofs complained:\n{log}"
        );
        assert!(log.contains(sessions), "{media}: {log}");
        assert!(
            log.contains("one.txt\ntwo.txt\nfirst session\nsecond session"),
            "{media}: {log}"
        );
    }
}
