//! A store rig for the end-to-end tests: a config whose drive is the
//! emulated burner, staged days made on demand, `cback` run as a user runs
//! it (with `CEDAR_TODAY` fixing the date), and the disc read back by
//! readers nobody here wrote (xorriso per session, bsdtar and pycdlib at
//! LBA 16).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

use chrono::NaiveDate;

/// One emulated medium: the emulator's profile name and the config's
/// media_type and device_type for it.
#[derive(Debug, Clone, Copy)]
pub struct Medium {
    pub profile: &'static str,
    pub media: &'static str,
    pub device_type: &'static str,
    pub overwritable: bool,
    pub rewritable: bool,
}

/// Every medium the emulator offers (DVD-RW in both of its modes).
pub const MEDIA: [Medium; 11] = [
    m("cdr-74", "cdr-74", "cdwriter", false, false),
    m("cdrw-74", "cdrw-74", "cdwriter", false, true),
    m("cdr-80", "cdr-80", "cdwriter", false, false),
    m("cdrw-80", "cdrw-80", "cdwriter", false, true),
    m("dvd+r", "dvd+r", "dvdwriter", false, false),
    m("dvd+rw", "dvd+rw", "dvdwriter", true, true),
    m("dvd-r", "dvd-r", "dvdwriter", false, false),
    m("dvd-rw", "dvd-rw", "dvdwriter", false, true),
    m("dvd-rw-ro", "dvd-rw", "dvdwriter", true, true),
    m("bd-r", "bd-r", "bdwriter", false, false),
    m("bd-re", "bd-re", "bdwriter", true, true),
];

const fn m(
    profile: &'static str,
    media: &'static str,
    device_type: &'static str,
    overwritable: bool,
    rewritable: bool,
) -> Medium {
    Medium {
        profile,
        media,
        device_type,
        overwritable,
        rewritable,
    }
}

/// The medium with this emulator profile name.
pub fn medium(profile: &str) -> Medium {
    *MEDIA.iter().find(|m| m.profile == profile).unwrap()
}

/// A date from `YYYY-MM-DD`.
pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// `YYYY/MM/DD`.
pub fn day_path(d: NaiveDate) -> String {
    d.format("%Y/%m/%d").to_string()
}

/// A config, a staging tree and an emulated disc in one temporary directory.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub medium: Medium,
    /// Extra query options of the device string (`&fault=...`).
    pub device_extra: String,
    /// Extra elements of `<store>`.
    pub store_extra: String,
    pub starting_day: &'static str,
}

impl Rig {
    pub fn new(profile: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        for d in ["work", "stage"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Rig {
            dir,
            medium: medium(profile),
            device_extra: String::new(),
            store_extra: "<check_data>Y</check_data>".into(),
            starting_day: "monday",
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn image(&self) -> PathBuf {
        self.path("disc.img")
    }

    /// The device string without the per-run extras.
    pub fn spec(&self) -> String {
        format!(
            "emulated:{}?profile={}&busy=0",
            self.image().display(),
            self.medium.profile
        )
    }

    /// Writes the config for the next run.
    pub fn write_config(&self) -> PathBuf {
        let (user, group) = super::current_account();
        let xml = format!(
            r#"<?xml version="1.0"?>
<cb_config>
 <options><starting_day>{start}</starting_day><working_dir>{work}</working_dir>
  <backup_user>{user}</backup_user><backup_group>{group}</backup_group>
  <rcp_command>/usr/bin/scp -B</rcp_command></options>
 <stage><staging_dir>{stage}</staging_dir>
  <peer><name>host1</name><type>local</type><collect_dir>{work}</collect_dir></peer></stage>
 <store><source_dir>{stage}</source_dir><media_type>{media}</media_type>
  <device_type>{dt}</device_type>
  <target_device>{spec}{extra}</target_device>{store_extra}</store>
</cb_config>
"#,
            start = self.starting_day,
            work = self.path("work").display(),
            stage = self.path("stage").display(),
            media = self.medium.media,
            dt = self.medium.device_type,
            spec = self.spec().replace('&', "&amp;"),
            extra = self.device_extra.replace('&', "&amp;"),
            store_extra = self.store_extra,
        );
        let conf = self.path("cback.conf");
        std::fs::write(&conf, xml).unwrap();
        conf
    }

    /// The staged day directory of `d`.
    pub fn day_dir(&self, d: NaiveDate) -> PathBuf {
        self.path("stage").join(day_path(d))
    }

    /// Stages a day as stage would: a peer directory with a few files whose
    /// bytes depend on the date (`kib` KiB in the big one), and cback.stage.
    pub fn stage(&self, d: NaiveDate, kib: usize) {
        let dir = self.day_dir(d);
        let peer = dir.join("host1");
        std::fs::create_dir_all(peer.join("etc")).unwrap();
        let seed = d.format("%Y%m%d").to_string();
        std::fs::write(peer.join("etc/hosts"), format!("night {seed}\n")).unwrap();
        // 1 KiB of date-dependent bytes, each copy stamped with its index.
        let n: u64 = seed.parse().unwrap();
        let unit: Vec<u8> = (0..1024u64).map(|i| (i * 31 + n) as u8).collect();
        let mut big =
            std::io::BufWriter::new(std::fs::File::create(peer.join("home.tar.gz")).unwrap());
        for k in 0..kib {
            use std::io::Write;
            big.write_all(&(k as u32).to_le_bytes()).unwrap();
            big.write_all(&unit[4..]).unwrap();
        }
        big.into_inner().unwrap();
        std::fs::write(peer.join("empty"), b"").unwrap();
        std::fs::write(dir.join("cback.stage"), b"").unwrap();
    }

    /// Starts `cback ARGS` on `d` (its date fixed with CEDAR_TODAY), with no
    /// terminal; stdout and stderr piped.
    pub fn spawn(&self, d: NaiveDate, args: &[&str]) -> Child {
        let conf = self.write_config();
        Command::new(env!("CARGO_BIN_EXE_cback"))
            .arg("-c")
            .arg(&conf)
            .arg("-l")
            .arg(self.path("cback.log"))
            .args(args)
            .env("CEDAR_TODAY", d.format("%Y-%m-%d").to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs `cback ARGS` on `d`, bounded in time.
    pub fn cback(&self, d: NaiveDate, args: &[&str]) -> Output {
        let mut child = self.spawn(d, args);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("cback {args:?} did not finish within 120 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        child.wait_with_output().unwrap()
    }

    /// Runs store on `d` and sends `signal` once the new session has begun
    /// to reach the disc (the image grew by 1 MiB); returns how it ended
    /// (it may have finished first).
    pub fn store_signalled(&self, d: NaiveDate, signal: nix::sys::signal::Signal) -> ExitStatus {
        let old_len = std::fs::metadata(self.image()).map_or(0, |m| m.len());
        let mut child = self.spawn(d, &["store"]);
        let start = std::time::Instant::now();
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            if std::fs::metadata(self.image()).map_or(0, |m| m.len()) > old_len + (1 << 20) {
                let pid = nix::unistd::Pid::from_raw(child.id() as i32);
                nix::sys::signal::kill(pid, signal).unwrap();
                return child.wait().unwrap();
            }
            assert!(start.elapsed().as_secs() < 120, "store made no progress");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Runs store on `d` and expects success and day `d` marked stored;
    /// returns the session's start block (from the log).
    pub fn store_ok(&self, d: NaiveDate) -> u32 {
        let start = self.store_run(d);
        assert!(self.day_dir(d).join("cback.store").is_file());
        start
    }

    /// Runs store on `d` and expects success; returns the session's start.
    pub fn store_run(&self, d: NaiveDate) -> u32 {
        let out = self.cback(d, &["store"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} store on {d}: {}\n{}",
            self.medium.profile,
            String::from_utf8_lossy(&out.stderr),
            self.log_tail(20)
        );
        // Not a terminal (as from cron): no progress on the screen, but
        // every phase in the log.
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = self.log_tail(60);
        for phase in ["Phase: checking.", "Phase: writing."] {
            assert!(log.contains(phase), "{phase} not logged:\n{log}");
        }
        self.last_session_start()
    }

    /// The start block of the newest session written, from the log.
    pub fn last_session_start(&self) -> u32 {
        let log = std::fs::read_to_string(self.path("cback.log")).unwrap();
        let line = log
            .lines()
            .rev()
            .find(|l| l.contains("] Wrote ") && l.contains(" blocks at block "))
            .expect("a write in the log");
        let after = line.split(" blocks at block ").nth(1).unwrap();
        after.split(' ').next().unwrap().parse().unwrap()
    }

    pub fn log_tail(&self, n: usize) -> String {
        let log = std::fs::read_to_string(self.path("cback.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The staged files of day `d` (without cback.store, which is written
    /// after the disc): path below the day -> bytes.
    pub fn staged(&self, d: NaiveDate) -> BTreeMap<String, Vec<u8>> {
        files(&self.day_dir(d))
            .into_iter()
            .filter(|(k, _)| k != "cback.store")
            .collect()
    }
}

/// Every regular file under `dir`, by relative path; the day manifests
/// cedar adds on the disc (`cback.manifest`, never in staging) left out.
pub fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.file_name() != "cback.manifest" {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// xorriso loads the session at `start` of `image` and extracts it.
pub fn xorriso_session(image: &Path, start: u32, out: &Path) -> BTreeMap<String, Vec<u8>> {
    let o = Command::new("xorriso")
        .args([
            "-abort_on",
            "FAILURE",
            "-load",
            "sbsector",
            &start.to_string(),
        ])
        .arg("-indev")
        .arg(image)
        .args(["-osirrox", "on", "-extract", "/"])
        .arg(out)
        .output()
        .unwrap();
    ok(&o, "xorriso -extract");
    files(out)
}

/// bsdtar extracts the volume at LBA 16 of `image`.
pub fn bsdtar_volume(image: &Path, out: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::create_dir_all(out).unwrap();
    let o = Command::new("bsdtar")
        .arg("-xf")
        .arg(image)
        .arg("-C")
        .arg(out)
        .output()
        .unwrap();
    ok(&o, "bsdtar -x");
    files(out)
}

/// pycdlib reads the volume at LBA 16 of `image`: Rock Ridge path -> SHA-1
/// (the day manifests left out, as [`files`] does).
pub fn pycdlib_volume(image: &Path) -> BTreeMap<String, String> {
    const SCRIPT: &str = r#"
import hashlib, io, sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
for root, dirs, files in iso.walk(rr_path='/'):
    for f in files:
        p = (root.rstrip('/') + '/' + f)
        buf = io.BytesIO()
        iso.get_file_from_iso_fp(buf, rr_path=p)
        print(p.lstrip('/') + '\t' + hashlib.sha1(buf.getvalue()).hexdigest())
iso.close()
"#;
    let o = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(image)
        .output()
        .unwrap();
    ok(&o, "pycdlib");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(p, _)| !p.ends_with("/cback.manifest"))
        .map(|(p, h)| (p.to_string(), h.to_string()))
        .collect()
}

/// SHA-1 hex of bytes.
pub fn sha1_hex(b: &[u8]) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(b))
}

/// The files a disc should hold for `days`: `YYYY/MM/DD/...` -> bytes.
pub fn expected(rig: &Rig, days: &[NaiveDate]) -> BTreeMap<String, Vec<u8>> {
    days.iter()
        .flat_map(|&d| {
            rig.staged(d)
                .into_iter()
                .map(move |(k, v)| (format!("{}/{k}", day_path(d)), v))
        })
        .collect()
}
