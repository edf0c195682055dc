//! The real kernel path: a Debian 6.1 kernel under QEMU, the emulated burner
//! served to it through TCMU + tcm_loop (examples/tcmu_serve.rs) so it is
//! /dev/sr0 and /dev/sg0, and the drive layer writing through SG_IO
//! (examples/burn.rs). The kernel's own sr driver, block reads and isofs then
//! check what was written. The reference tools (cdrskin, growisofs,
//! xorriso) write beside cedar in two guests, their jobs in lanes side by
//! side; cedar's drive layer and the kernel read every disc they wrote.
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
    // CI's second pass (a normal user) leaves the kernel-path tests to the
    // root pass: they do not depend on the account and take minutes.
    if std::env::var("CEDAR_CI_PASS").as_deref() == Ok("user") {
        eprintln!("CEDAR_CI_PASS=user: kernel-path test runs in the root pass");
        return None;
    }
    let Ok(dir) = std::env::var("MMC_QEMU_KERNEL_DIR") else {
        missing("MMC_QEMU_KERNEL_DIR not set (see tests/qemu/setup.sh)");
        return None;
    };
    let qemu = Command::new("qemu-system-x86_64").arg("--version").output();
    if !qemu.is_ok_and(|o| o.status.success()) {
        missing("qemu-system-x86_64 not found");
        return None;
    }
    // What setup.sh unpacks: the guest kernel and busybox.
    let kernel = std::fs::read_dir(Path::new(&dir).join("k/boot")).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
    });
    if !kernel || !Path::new(&dir).join("bb/bin/busybox").exists() {
        missing(&format!(
            "no guest kernel and busybox in MMC_QEMU_KERNEL_DIR={dir} (run tests/qemu/setup.sh)"
        ));
        return None;
    }
    Some(dir)
}

#[test]
fn a_missing_guest_kernel_fails_under_ci_and_is_skipped_outside() {
    // This test binary again, running one kernel-path test against an empty
    // kernel directory: it must fail with CI set and pass with a note without.
    let empty = tempfile::tempdir().unwrap();
    for ci in [true, false] {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child
            .args([
                "--exact",
                "two_cd_sessions_through_sr_and_sg_read_back_by_the_kernel",
            ])
            .args(["--test-threads", "1", "--nocapture"])
            .env("MMC_QEMU_KERNEL_DIR", empty.path())
            .env_remove("CEDAR_CI_PASS");
        if ci {
            child.env("CI", "true");
        } else {
            child.env_remove("CI");
        }
        let out = child.output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.success(), !ci, "CI={ci}:\n{text}");
        let note = if ci {
            "required under CI"
        } else {
            "test not run"
        };
        assert!(text.contains("no guest kernel and busybox"), "{text}");
        assert!(text.contains(note), "CI={ci}:\n{text}");
    }
}

/// target/guest, where the examples the guest runs are built: the `guest`
/// profile optimises them, since the guest emulates its CPU (TCG), where
/// the emulator behind every command and the burner run far slower unoptimised.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap()
        .join("guest")
}

/// Boots the guest with `device` as /dev/sr0, runs `scenario`, returns its log.
fn run_guest(work: &Path, device: &str, scenario: &str) -> String {
    run_guest_on(work, device, scenario, 1)
}

/// [`run_guest`] with `cpus` guest CPUs (one device string per line of
/// `device`: drive i is $SRi / $SGi).
fn run_guest_on(work: &Path, device: &str, scenario: &str, cpus: u32) -> String {
    let kdir = kernel_dir().expect("checked by caller");
    // `cargo test --test qemu` does not build the examples the guest runs.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo)
        .args(["build", "--profile", "guest", "-p", "mmc", "--examples"])
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
        .env("MMC_QEMU_SMP", cpus.to_string())
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
    // A drive with a 36h-byte page 05, no underrun protection, and a blank
    // CD's next writable address reported as -150.
    let log = run_guest(
        work.path(),
        "emulated:/work/disc.iso?profile=cdr-80&busy=3&page05=0x36&bufe=0&nwa150=1",
        r#"
dd if=/dev/urandom of=/work/s1.img bs=2048 count=400 2>/dev/null
dd if=/dev/urandom of=/work/s2.img bs=2048 count=300 2>/dev/null
$TARGET/examples/burn /dev/sr0 /work/s1.img /work/s2.img
$TARGET/examples/burn /dev/sg0
dd if=/dev/sr0 of=/work/b1.img bs=2048 count=400 2>/dev/null
dd if=/dev/sr0 of=/work/b2.img bs=2048 skip=11802 count=300 2>/dev/null
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
        log.contains("session /work/s2.img at 11802 blocks 300 verified"),
        "{log}"
    );
    assert_eq!(
        log.matches("msinfo 11802,19004 sessions 2").count(),
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
    // The timing model: every 4th WRITE is answered "long write in
    // progress" and sent again, SYNCHRONIZE CACHE and CLOSE stay busy for a
    // while. (TCMU does not tell the handler the host's timeout, so the
    // first WRITE is kept under the 30 s it assumes.)
    let log = run_guest(
        work.path(),
        "emulated:/work/disc.iso?profile=dvd+r&busy=3&timing=1&first_write=5&long_write=4",
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
    // The 22-block image is padded to a whole 16-block ECC block on DVD+R.
    assert!(
        log.contains("session /work/tiny.iso at 0 blocks 32 verified"),
        "{log}"
    );
    assert!(log.contains("mounted\nwritten through SG_IO"), "{log}");
    assert!(
        log.contains("burn: cannot use /dev/sr0: it is mounted"),
        "{log}"
    );
    assert!(log.contains("burn while mounted: 6"), "{log}");
    // The DVD+R session closure costs space, as on a real disc.
    assert!(log.contains("msinfo 0,2080 sessions 1"), "{log}");
}

/// Two directories, one per session, each with one file.
const SESSION_DIRS: &str = r#"
mkdir -p /work/d1 /work/d2
echo "first session" > /work/d1/one.txt
echo "second session" > /work/d2/two.txt
"#;

/// One traced command: CDB, data-out bytes, and whether it succeeded.
#[derive(Debug, Clone)]
struct Traced {
    cdb: Vec<u8>,
    data: Vec<u8>,
    result: String,
}

impl Traced {
    fn ok(&self) -> bool {
        self.result.starts_with("ok")
    }
}

fn unhex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .filter_map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

/// Splits a tcmu_serve trace (`CDB | DATA | RESULT` lines) at the `# label`
/// markers the scenario appends.
fn parse_trace(text: &str) -> Vec<(String, Vec<Traced>)> {
    let mut parts: Vec<(String, Vec<Traced>)> = Vec::new();
    for line in text.lines() {
        if let Some(label) = line.strip_prefix("# ") {
            parts.push((label.to_string(), Vec::new()));
            continue;
        }
        let f: Vec<&str> = line.split(" | ").collect();
        let (Some(part), [cdb, data, result]) = (parts.last_mut(), &f[..]) else {
            continue;
        };
        part.1.push(Traced {
            cdb: unhex(cdb),
            data: if data.contains("bytes") || *data == "-" {
                Vec::new()
            } else {
                unhex(data)
            },
            result: result.to_string(),
        });
    }
    parts
}

/// The write-relevant steps of a command sequence, in order: the write
/// parameters in force for the track (page 05 fields; probes a drive
/// refuses and repeats are dropped), speed, reservation, formatting, the
/// chunking of the WRITEs, cache syncs, close functions with their track
/// numbers, and the TEST UNIT READY polling after Immed operations. Reads,
/// inquiries and the kernel's own polling are not steps.
///
/// On overwritable media (`in_place`) the write step leaves out whether the
/// last WRITE is padded: growisofs pads it to 32 KiB there too, cedar does
/// not, because in place the blocks after the data may hold data (cedar
/// rewrites ranges such as the volume descriptors at block 16), and a drive
/// takes any whole-block WRITE on overwritable media. On write-once media
/// padding is compared: cedar pads every DVD/BD track as both tools do.
fn steps(cmds: &[Traced], in_place: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut page05: Option<String> = None;
    let mut in_force: Option<String> = None;
    let mut writes: Vec<(u32, u16)> = Vec::new();
    let mut waiting = false;
    let flush_writes = move |out: &mut Vec<String>, writes: &mut Vec<(u32, u16)>| {
        if writes.is_empty() {
            return;
        }
        let chunk = writes.iter().map(|w| w.1).max().unwrap_or(0);
        let last = writes.last().map_or(0, |w| w.1);
        let contiguous = writes
            .windows(2)
            .all(|w| w[0].0 + u32::from(w[0].1) == w[1].0);
        let last = match (in_place, last == chunk) {
            (true, _) => "",
            (false, true) => " last=full",
            (false, false) => " last=short",
        };
        out.push(format!(
            "write chunk={chunk}{last}{}",
            if contiguous { "" } else { " GAPS" }
        ));
        writes.clear();
    };
    for c in cmds {
        let op = c.cdb[0];
        if op == 0x00 {
            if waiting {
                if let Some(last) = out.last_mut() {
                    last.push_str(" +poll");
                }
                waiting = false;
            }
            continue;
        }
        if !matches!(
            op,
            0x04 | 0x2A | 0x35 | 0x53 | 0x54 | 0x55 | 0x5B | 0xA1 | 0xB6 | 0xBB
        ) {
            continue;
        }
        if !c.ok() && !c.result.starts_with("sense 2/04") {
            continue;
        }
        waiting = false;
        if op != 0x2A {
            flush_writes(&mut out, &mut writes);
        }
        match op {
            0x55 => {
                let Some(p) = c
                    .data
                    .get(8..)
                    .filter(|p| p.len() >= 16 && p[0] & 0x3F == 5)
                else {
                    continue;
                };
                let b = &p[2..];
                let s = format!(
                    "page05 type={} bufe={} ls_v={} test={} multi={} fp={} mode={} block={} link={} packet={}",
                    b[0] & 0x0F,
                    b[0] >> 6 & 1,
                    b[0] >> 5 & 1,
                    b[0] >> 4 & 1,
                    b[1] >> 6,
                    b[1] >> 5 & 1,
                    b[1] & 0x0F,
                    b[2] & 0x0F,
                    b[3],
                    u32::from_be_bytes([b[8], b[9], b[10], b[11]])
                );
                page05 = Some(s);
                continue;
            }
            0x2A => {
                // A page already in force is no new step (cedar selects it
                // again for the descriptor rewrite of a grown disc).
                if let Some(p) = page05.take() {
                    if in_force.as_ref() != Some(&p) {
                        out.push(p.clone());
                    }
                    in_force = Some(p);
                }
                let lba = u32::from_be_bytes([c.cdb[2], c.cdb[3], c.cdb[4], c.cdb[5]]);
                let n = u16::from_be_bytes([c.cdb[7], c.cdb[8]]);
                writes.push((lba, n));
                continue;
            }
            0x04 => {
                let d = c.data.get(4..12).unwrap_or(&[0; 8]);
                out.push(format!(
                    "format type={:02X} subtype={} restart={}",
                    d[4] >> 2,
                    d[4] & 3,
                    d[7] & 1
                ));
                waiting = c.data.get(1).is_some_and(|b| b & 0x02 != 0);
            }
            0x35 => {
                let immed = c.cdb[1] & 0x02 != 0;
                let kind = if immed { "sync immed" } else { "sync wait" };
                // A flush before any data was written this run.
                let nothing = !out.iter().any(|s| s.starts_with("write"));
                out.push(format!("{kind}{}", if nothing { " (no data)" } else { "" }));
                waiting = immed;
            }
            0x5B => {
                out.push(format!(
                    "close fn={} track={}",
                    c.cdb[2] & 7,
                    u16::from_be_bytes([c.cdb[4], c.cdb[5]])
                ));
                waiting = c.cdb[1] & 1 != 0;
            }
            0x53 => out.push("reserve".into()),
            0xA1 => {
                out.push(format!("blank type={}", c.cdb[1] & 7));
                waiting = c.cdb[1] & 0x10 != 0;
            }
            0x54 => out.push("opc".into()),
            0xB6 => out.push("streaming".into()),
            0xBB => out.push("cd-speed".into()),
            _ => {}
        }
    }
    flush_writes(&mut out, &mut writes);
    out
}

/// A difference between a reference tool's sequence and cedar's that the
/// comparison allows: steps starting with `step` are dropped from `side`
/// (`profile` and `tool` may be `*`, or several joined by `|`).
struct Allowed {
    profile: &'static str,
    tool: &'static str,
    side: Side,
    step: &'static str,
    why: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Reference,
    Cedar,
}

/// Every difference between cedar's command sequences and the reference
/// tools' on the kernel path, and why it is right.
const ALLOWED: &[Allowed] = &[
    Allowed {
        profile: "*",
        tool: "growisofs",
        side: Side::Reference,
        step: "sync wait",
        why: "growisofs follows each Immed SYNCHRONIZE CACHE (and its FORMAT UNIT) with a \
              second one without Immed; cedar polls TEST UNIT READY after the Immed one, \
              as libburn does",
    },
    Allowed {
        profile: "*",
        tool: "growisofs",
        side: Side::Cedar,
        step: "streaming",
        why: "growisofs sends SET STREAMING only with -speed; cedar, like libburn, always \
              sets the speed from GET PERFORMANCE",
    },
    Allowed {
        profile: "dvd+r",
        tool: "growisofs",
        side: Side::Reference,
        step: "page05",
        why: "growisofs sends page 05 to DVD+R; MMC (7.5.3) says no write parameters \
              page is sent there, and libburn and cedar send none",
    },
    Allowed {
        profile: "dvd-r|dvd-rw|dvd-rw-ro",
        tool: "growisofs",
        side: Side::Reference,
        step: "opc",
        why: "growisofs asks for power calibration (SEND OPC INFORMATION); libburn and \
              cedar leave it to the drive, which calibrates at the first WRITE",
    },
    Allowed {
        profile: "dvd+rw",
        tool: "*",
        side: Side::Reference,
        step: "format",
        why: "a blank DVD+RW is formatted (26h) inside growisofs -Z / the cdrskin run; \
              cedar formats in its own step before the first write (also 26h, Immed, \
              polled), and all three restart the suspended format (26h, Restart) before \
              session 2: only where the step sits differs",
    },
    Allowed {
        profile: "dvd+rw",
        tool: "*",
        side: Side::Cedar,
        step: "format",
        why: "the counterpart of the entry above",
    },
    Allowed {
        profile: "dvd+rw",
        tool: "*",
        side: Side::Reference,
        step: "close",
        why: "where the background format is stopped differs: growisofs once at the end \
              of the run (CLOSE 000b, then 010b), libburn with 010b after the data and \
              before patching the volume descriptors, cedar (000b, then 010b, as \
              growisofs) after every write_session, also after the descriptor rewrite",
    },
    Allowed {
        profile: "dvd+rw",
        tool: "*",
        side: Side::Cedar,
        step: "close",
        why: "the counterpart of the entry above",
    },
    Allowed {
        profile: "dvd+rw|bd-re",
        tool: "cdrskin",
        side: Side::Reference,
        step: "sync immed (no data)",
        why: "libburn flushes the cache after its FORMAT UNIT, before any data; cedar \
              waits for the format with TEST UNIT READY",
    },
    Allowed {
        profile: "dvd+rw|bd-re|dvd-rw-ro",
        tool: "cdrskin",
        side: Side::Reference,
        step: "streaming",
        why: "libburn sets the speed once per run, cedar once per write_session (here \
              also before the descriptor rewrite)",
    },
    Allowed {
        profile: "dvd+rw|bd-re|dvd-rw-ro",
        tool: "cdrskin",
        side: Side::Cedar,
        step: "streaming",
        why: "the counterpart of the entry above",
    },
    Allowed {
        profile: "dvd-rw",
        tool: "growisofs",
        side: Side::Reference,
        step: "page05",
        why: "growisofs asks for variable packets (FP=0) on a sequential DVD-RW whose \
              track is not fixed-packet, and fixed 16-block packets only on DVD-R (for \
              Panasonic units); libburn and cedar select fixed 16-block packets on both, \
              which incremental recording allows: compared against cdrskin on DVD-RW",
    },
    Allowed {
        profile: "dvd-rw",
        tool: "growisofs",
        side: Side::Cedar,
        step: "page05",
        why: "the counterpart of the entry above",
    },
    Allowed {
        profile: "dvd-rw-ro",
        tool: "cdrskin",
        side: Side::Reference,
        step: "page05",
        why: "on restricted overwrite libburn selects packet writing with FP set but \
              packet size 0 and track mode 5 whatever the track says; cedar, like \
              growisofs (compared exactly), takes the track mode (4) and the fixed \
              packet size (16) from READ TRACK INFORMATION; the rest of the page \
              (type 0, BUFE, single session, Mode 1 blocks) is the same",
    },
    Allowed {
        profile: "dvd-rw-ro",
        tool: "cdrskin",
        side: Side::Cedar,
        step: "page05",
        why: "the counterpart of the entry above",
    },
    Allowed {
        profile: "bd-re",
        tool: "growisofs",
        side: Side::Reference,
        step: "write",
        why: "growisofs writes BD-RE in 32 KiB WRITEs, as on DVD; cedar, like libburn, \
              sends whole 64 KiB BD clusters (overwritable media take any whole-block \
              WRITE, so both are right; the sync after each write is still compared)",
    },
    Allowed {
        profile: "bd-re",
        tool: "growisofs",
        side: Side::Cedar,
        step: "write",
        why: "the counterpart of the entry above",
    },
    Allowed {
        profile: "bd-r",
        tool: "growisofs",
        side: Side::Reference,
        step: "format",
        why: "growisofs formats a blank BD-R with 32h subtype 0 (Pseudo-Overwrite), after \
              which sessions can never be closed (real drives refuse CLOSE SESSION, \
              libburn refuses such discs); cedar, like libburn, records BD-R unformatted",
    },
    Allowed {
        profile: "bd-r",
        tool: "growisofs",
        side: Side::Reference,
        step: "write",
        why: "under Pseudo-Overwrite growisofs writes 32 KiB units and, for -M, rewrites \
              the volume descriptors at block 16 in place; on sequential BD-R cedar and \
              libburn write whole 64 KiB clusters and append a new session",
    },
    Allowed {
        profile: "bd-r",
        tool: "growisofs",
        side: Side::Cedar,
        step: "write",
        why: "the counterpart of the entry above",
    },
    Allowed {
        profile: "bd-r",
        tool: "growisofs",
        side: Side::Reference,
        step: "sync immed",
        why: "the flushes of growisofs' in-place descriptor rewrite (entry above); the \
              flush before CLOSE TRACK is compared against cdrskin on BD-R",
    },
    Allowed {
        profile: "bd-r",
        tool: "growisofs",
        side: Side::Cedar,
        step: "sync immed",
        why: "the counterpart of the entry above",
    },
    Allowed {
        profile: "bd-r",
        tool: "growisofs",
        side: Side::Cedar,
        step: "close fn=2",
        why: "growisofs leaves the Pseudo-Overwrite session open (it cannot be closed); \
              cedar closes each session, as libburn does",
    },
];

fn allowed_for(profile: &str, tool: &str, side: Side) -> Vec<&'static Allowed> {
    ALLOWED
        .iter()
        .filter(|a| {
            (a.profile == "*" || a.profile.split('|').any(|p| p == profile))
                && (a.tool == "*" || a.tool.split('|').any(|t| t == tool))
                && a.side == side
        })
        .collect()
}

fn without(steps: &[String], allowed: &[&Allowed]) -> Vec<String> {
    steps
        .iter()
        .filter(|s| !allowed.iter().any(|a| s.starts_with(a.step)))
        .cloned()
        .collect()
}

/// The drives of the reference-sequence guest: (profile, tool).
const JOBS: &[(&str, &str)] = &[
    ("cdr-80", "cdrskin"),
    ("dvd+r", "cdrskin"),
    ("dvd+r", "growisofs"),
    ("dvd-r", "cdrskin"),
    ("dvd-r", "growisofs"),
    ("dvd+rw", "cdrskin"),
    ("dvd+rw", "growisofs"),
    ("bd-r", "cdrskin"),
    ("bd-r", "growisofs"),
    ("bd-r", "xorriso"),
    ("cdr-80", "cedar"),
    ("dvd+r", "cedar"),
    ("dvd-r", "cedar"),
    ("dvd+rw", "cedar"),
    ("bd-r", "cedar"),
    ("cdr-80", "xorriso"),
    ("dvd+r", "xorriso"),
    ("dvd-r", "xorriso"),
    ("dvd+rw", "xorriso"),
    // Rewritable media. A used CD-RW and DVD-RW (one session recorded) are
    // blanked first, as Cedar Backup does before writing a new disc: cdrskin
    // blank=fast (libburn blanks DVD-RW fully), dvd+rw-format -blank=full
    // before growisofs (a minimally blanked DVD-RW takes only DAO), cedar's
    // Drive::blank. A blank BD-RE is formatted: growisofs -Z does it,
    // cdrskin with blank=as_needed, cedar with Drive::format.
    ("cdrw-80", "cdrskin"),
    ("cdrw-80", "cedar"),
    ("dvd-rw", "cdrskin"),
    ("dvd-rw", "growisofs"),
    ("dvd-rw", "cedar"),
    ("bd-re", "cdrskin"),
    ("bd-re", "growisofs"),
    ("bd-re", "cedar"),
    // xorriso prepares them with -blank as_needed (blank, or format).
    ("cdrw-80", "xorriso"),
    ("dvd-rw", "xorriso"),
    ("bd-re", "xorriso"),
    // A DVD-RW formatted for restricted overwrite earlier (dvd+rw-format,
    // cdrskin blank=format_overwrite, cedar's Drive::format) and used: each
    // tool writes over it and grows the ISO image in place, as on DVD+RW.
    ("dvd-rw-ro", "cdrskin"),
    ("dvd-rw-ro", "growisofs"),
    ("dvd-rw-ro", "cedar"),
    ("dvd-rw-ro", "xorriso"),
];

/// Media grown in place (one session rewritten at block 16), not appended.
fn in_place(profile: &str) -> bool {
    matches!(profile, "dvd+rw" | "bd-re" | "dvd-rw-ro")
}

/// Media the guest finds with data already recorded: a session on CD-RW and
/// sequential DVD-RW (so blanking them is a real step), old data on a
/// DVD-RW in restricted-overwrite mode (formatted, written over as it is).
fn used(profile: &str) -> bool {
    matches!(profile, "cdrw-80" | "dvd-rw" | "dvd-rw-ro")
}

/// Used media each tool blanks before its first session.
fn blanked(profile: &str) -> bool {
    used(profile) && !in_place(profile)
}

/// The guest script for drive `i` running `tool` on `profile`: two sessions,
/// each marked in the drive's trace, then the kernel mounts the disc.
fn job_script(i: usize, profile: &str, tool: &str) -> String {
    let dev = format!("$SR{i}");
    let t = format!("/work/trace.{i}");
    let grow = if in_place(profile) {
        "--grow_overwriteable_iso "
    } else {
        ""
    };
    // What each tool does to prepare the medium in its first run.
    let prepare = match profile {
        _ if blanked(profile) => "blank=fast ",
        "bd-re" => "blank=as_needed ",
        _ => "",
    };
    let pre_grow = if profile == "dvd-rw" {
        format!("dvd+rw-format -blank=full {dev} > /work/log.{i} 2>&1; ")
    } else {
        String::new()
    };
    let blank = if blanked(profile) { "blank " } else { "" };
    // Linux keeps a disc's size until the drive reports a media change: a
    // BD-RE that libburn formatted and wrote (no CLOSE, unlike DVD+RW) is
    // reloaded before genisoimage reads it through /dev/srN, as the disc
    // would be taken out and put back between two nights.
    let reload = if tool != "cedar" && profile == "bd-re" {
        format!(
            "cdrskin dev={dev} -eject > /dev/null 2>&1; cdrskin dev={dev} -load > /dev/null 2>&1\n"
        )
    } else {
        String::new()
    };
    let xorriso_prepare = if blanked(profile) || profile == "bd-re" {
        "-blank as_needed "
    } else {
        ""
    };
    let body = match tool {
        "cdrskin" => format!(
            r##"cdrskin dev={dev} {grow}{prepare}-tao -multi -data /work/s1.iso > /work/log.{i} 2>&1; echo "job {i} session 1: $?"
{reload}m=$(cdrskin dev={dev} {grow}-msinfo 2>/dev/null)
genisoimage -quiet -r -C $m -M {dev} -o /work/s2.{i}.iso /work/d2
echo "# session 2" >> {t}
cdrskin dev={dev} {grow}-tao -multi -data /work/s2.{i}.iso >> /work/log.{i} 2>&1; echo "job {i} session 2: $?""##
        ),
        "growisofs" => format!(
            r##"{pre_grow}growisofs -Z {dev} -r -quiet /work/d1 >> /work/log.{i} 2>&1; echo "job {i} session 1: $?"
echo "# session 2" >> {t}
growisofs -M {dev} -r -quiet /work/d2 >> /work/log.{i} 2>&1; echo "job {i} session 2: $?""##
        ),
        // On CD xorriso would pick SAO (SEND CUE SHEET), which the emulated
        // burner does not record: it writes CD in TAO only, as cedar does.
        "xorriso" => format!(
            r##"xorriso -write_type tao -outdev {dev} {xorriso_prepare}-map /work/d1 / -commit > /work/log.{i} 2>&1; echo "job {i} session 1: $?"
echo "# session 2" >> {t}
xorriso -write_type tao -dev {dev} -map /work/d2 / -commit >> /work/log.{i} 2>&1; echo "job {i} session 2: $?""##
        ),
        // The same job through cedar's drive layer: session 1 is the image
        // the tools wrote first; grown in place, session 2 goes after it and
        // the volume descriptors are rewritten at block 16, as growisofs -M
        // does.
        _ if in_place(profile) => format!(
            r##"$TARGET/examples/burn {dev} /work/s1.iso > /work/log.{i} 2>&1; echo "job {i} session 1: $?"
echo "# session 2" >> {t}
$TARGET/examples/burn {dev} /work/s1.iso@352 /work/head.img@16 >> /work/log.{i} 2>&1; echo "job {i} session 2: $?""##
        ),
        _ => format!(
            r##"$TARGET/examples/burn {dev} {blank}/work/s1.iso > /work/log.{i} 2>&1; echo "job {i} session 1: $?"
echo "# session 2" >> {t}
$TARGET/examples/burn {dev} /work/s1.iso >> /work/log.{i} 2>&1; echo "job {i} session 2: $?""##
        ),
    };
    // xorriso wrote through SG only: a formatted BD-RE is reloaded so the
    // kernel learns its size.
    let before_mount = if tool == "xorriso" {
        reload.as_str()
    } else {
        ""
    };
    if tool == "cedar" {
        return format!("echo \"# session 1\" >> {t}\n{body}\necho \"# end\" >> {t}\n");
    }
    // After each of the tool's sessions cedar's drive layer reads the disc
    // (its msinfo and session count), and cdrskin's -msinfo is asked too,
    // each in a part of the trace of its own (not compared); then the
    // kernel mounts the disc and reads both sessions' files.
    let probe = |n: u32| {
        format!(
            r##"echo "# probe {n}" >> {t}
echo "job {i} cedar reads {n}: $($TARGET/examples/burn {dev} 2>&1 | grep '^msinfo')"
echo "job {i} cdrskin msinfo {n}: $(cdrskin dev={dev} {grow}-msinfo 2>/dev/null)""##
        )
    };
    let second = format!("echo \"# session 2\" >> {t}");
    let body = body.replacen(&second, &format!("{}\n{second}", probe(1)), 1);
    let probe2 = probe(2);
    format!(
        r##"echo "# session 1" >> {t}
{body}
echo "# end" >> {t}
{probe2}
{before_mount}mkdir -p /mnt/{i} && mount -t iso9660 -o ro {dev} /mnt/{i} && echo "job {i} files: $(ls /mnt/{i} | tr '\n' ' ')" && echo "job {i} text: $(cat /mnt/{i}/one.txt /mnt/{i}/two.txt | tr '\n' ' ')"; umount /mnt/{i}
"##
    )
}

/// What a probe line of job `i` says after session `n`.
fn probe<'a>(log: &'a str, i: usize, what: &str, n: u32) -> &'a str {
    let head = format!("job {i} {what} {n}: ");
    log.lines()
        .find_map(|l| l.strip_prefix(head.as_str()))
        .unwrap_or_else(|| panic!("no `{head}` line:\n{log}"))
}

/// Cedar's drive layer, reading the disc a reference tool wrote, counts
/// its sessions as the tool made them (two appended on write-once media,
/// one volume grown in place on overwritable ones), and on write-once
/// media its msinfo after each session is what cdrskin -msinfo says (on
/// CD: the 2-block TAO run-out and the lead-in/out gaps counted alike).
/// growisofs on BD-R formats it for Pseudo-Overwrite, which cedar does not
/// record (see ALLOWED): its disc is only mounted.
fn probes_agree(log: &str, i: usize, profile: &str, tool: &str) {
    if profile == "bd-r" && tool == "growisofs" {
        return;
    }
    for n in [1, 2] {
        let cedar = probe(log, i, "cedar reads", n);
        let want = match (in_place(profile), n) {
            (true, _) => "msinfo none sessions 1".to_string(),
            (false, _) => {
                let cdrskin = probe(log, i, "cdrskin msinfo", n);
                format!("msinfo {cdrskin} sessions {n}")
            }
        };
        assert_eq!(
            cedar, want,
            "{tool} on {profile}, after session {n}:\n{log}"
        );
    }
}

/// Rewritable media, whose jobs run in a guest of their own (one guest for
/// all thirty drives outlasts run.sh's 10 minutes on a loaded machine).
fn rewritable(profile: &str) -> bool {
    matches!(profile, "cdrw-80" | "dvd-rw" | "bd-re" | "dvd-rw-ro")
}

#[test]
fn reference_tools_and_cedar_send_matching_sequences_through_the_kernel() {
    // cdrskin -multi -tao, growisofs -Z/-M and xorriso write two sessions on
    // CD-R, DVD+R, DVD-R, DVD+RW and BD-R through /dev/srN while the
    // emulator records every CDB; cedar does the same jobs. The strict
    // emulator must accept every reference sequence, and cedar's must match
    // each reference tool's step by step except for the listed differences.
    // One guest serves all the drives.
    reference_sequences(false);
}

#[test]
fn reference_tools_and_cedar_blank_format_and_write_rewritable_media_alike() {
    // The same on rewritable media: cdrskin, growisofs and xorriso blank a
    // used CD-RW / DVD-RW or format a blank BD-RE before their two
    // sessions, and so does cedar.
    reference_sequences(true);
}

fn reference_sequences(rewritable_media: bool) {
    if kernel_dir().is_none() || !host_has(&["cdrskin", "growisofs", "genisoimage", "xorriso"]) {
        eprintln!("kernel-path reference sequences not run");
        return;
    }
    // MMC_REF_PROFILES=bd-re,dvd-rw runs only those media's jobs (to look at
    // one medium quickly; CI runs them all).
    let only = std::env::var("MMC_REF_PROFILES").unwrap_or_default();
    let jobs: Vec<(&str, &str)> = JOBS
        .iter()
        .copied()
        .filter(|(p, _)| rewritable(p) == rewritable_media)
        .filter(|(p, _)| only.is_empty() || only.split(',').any(|o| o == *p))
        .collect();
    if jobs.is_empty() {
        eprintln!("MMC_REF_PROFILES={only} leaves no job here");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("trace"), "").unwrap();
    // A used disc: an image without a state file is a disc holding it as
    // one closed session.
    for (i, (p, _)) in jobs.iter().enumerate() {
        if used(p) {
            std::fs::write(
                work.path().join(format!("disc{i}.iso")),
                vec![0u8; 320 * 2048],
            )
            .unwrap();
        }
    }
    let devices: Vec<String> = jobs
        .iter()
        .enumerate()
        .map(|(i, (p, _))| format!("emulated:/work/disc{i}.iso?profile={p}&busy=3"))
        .collect();
    let mut scenario = format!(
        "{SESSION_DIRS}{}",
        r#"dd if=/dev/urandom of=/work/d1/random.bin bs=1024 count=300 2>/dev/null
genisoimage -quiet -r -o /work/s1.iso /work/d1
dd if=/work/s1.iso of=/work/head.img bs=2048 skip=16 count=16 2>/dev/null
mkdir -p /mnt /tmp
"#
    );
    // The jobs run in lanes side by side on two guest CPUs: each drive is
    // its own, and much of a job is the tools' waiting for the drive (their
    // TEST UNIT READY polls after Immed commands, a sleep between polls),
    // which the other lanes' jobs overlap.
    let lanes = 4;
    for lane in 0..lanes {
        scenario += "(\n";
        for (i, (p, t)) in jobs.iter().enumerate().filter(|(i, _)| i % lanes == lane) {
            scenario += &job_script(i, p, t);
        }
        scenario += ") &\n";
    }
    scenario += "wait\n";
    let log = run_guest_on(work.path(), &devices.join("\n"), &scenario, 2);
    let mut report = String::new();
    let mut cedar: std::collections::HashMap<&str, Vec<(String, Vec<String>)>> =
        std::collections::HashMap::new();
    let mut reference = Vec::new();
    // Every job that failed, with its tool's own output.
    let failed: Vec<String> = jobs
        .iter()
        .enumerate()
        .filter(|(i, _)| (1..=2).any(|s| !log.contains(&format!("job {i} session {s}: 0"))))
        .map(|(i, (p, t))| {
            let out = std::fs::read_to_string(work.path().join(format!("log.{i}")));
            format!("--- {t} on {p} (job {i}):\n{}", out.unwrap_or_default())
        })
        .collect();
    if !failed.is_empty() {
        // The traces and logs stay for a look.
        let kept = work.keep();
        panic!(
            "{log}\n{}\n(traces kept in {})",
            failed.join("\n"),
            kept.display()
        );
    }
    for (i, (profile, tool)) in jobs.iter().enumerate() {
        if *tool != "cedar" {
            assert!(
                log.contains(&format!("job {i} files: one.txt random.bin two.txt")),
                "{tool} on {profile}: the kernel does not see both sessions:\n{log}"
            );
            assert!(
                log.contains(&format!("job {i} text: first session second session ")),
                "{tool} on {profile}: the kernel reads other bytes:\n{log}"
            );
            probes_agree(&log, i, profile, tool);
            let out = std::fs::read(work.path().join(format!("log.{i}"))).unwrap();
            let out = String::from_utf8_lossy(&out);
            assert!(
                !out.contains(":-("),
                "{tool} on {profile}: the tool complained:\n{out}"
            );
        }
        let text = std::fs::read_to_string(work.path().join(format!("trace.{i}"))).unwrap();
        let parts = parse_trace(&text);
        // The strict emulator accepted every write-relevant command
        // (MODE SELECT probes of unsupported write modes may be refused).
        for (label, cmds) in &parts {
            for c in cmds {
                let op = c.cdb[0];
                let writing = matches!(op, 0x04 | 0x2A | 0x35 | 0x53 | 0x5B | 0xA1 | 0xB6);
                assert!(
                    !writing || c.ok() || c.result.starts_with("sense 2/04"),
                    "{tool} on {profile} ({label}): the emulator refused {:02X?} -> {}",
                    c.cdb,
                    c.result
                );
            }
        }
        let sessions: Vec<(String, Vec<String>)> = parts
            .iter()
            .filter(|(l, _)| l.starts_with("session"))
            .map(|(l, c)| (l.clone(), steps(c, in_place(profile))))
            .collect();
        for (l, st) in &sessions {
            report += &format!("{tool} on {profile}, {l}:\n  {}\n", st.join("\n  "));
        }
        if *tool == "cedar" {
            cedar.insert(profile, sessions);
        } else {
            reference.push((*profile, *tool, sessions));
        }
    }
    eprintln!("{report}");
    for (profile, tool, sessions) in reference {
        let Some(ours) = cedar.get(profile) else {
            continue;
        };
        if tool == "xorriso" {
            continue; // libburn again: checked for acceptance, compared via cdrskin.
        }
        for ((label, theirs), (_, mine)) in sessions.iter().zip(ours) {
            let (ref_allowed, our_allowed) = (
                allowed_for(profile, tool, Side::Reference),
                allowed_for(profile, tool, Side::Cedar),
            );
            for a in ref_allowed.iter().chain(&our_allowed) {
                let side = if a.side == Side::Cedar { mine } else { theirs };
                if side.iter().any(|s| s.starts_with(a.step)) {
                    eprintln!(
                        "{profile} {label}, {tool}: allowed to differ, `{}` on the {:?} side: {}",
                        a.step, a.side, a.why
                    );
                }
            }
            let theirs = without(theirs, &ref_allowed);
            let mine = without(mine, &our_allowed);
            assert_eq!(
                mine, theirs,
                "cedar and {tool} differ on {profile}, {label} (left cedar, right {tool});\n{report}"
            );
        }
    }
}
