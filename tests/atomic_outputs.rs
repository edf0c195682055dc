//! No half-written output, ever: the real `cback` binary is killed
//! (SIGKILL, SIGTERM) while it writes an archive, and what is left is judged
//! by GNU gzip and tar: the previous archive intact or none at all, the
//! digest map untouched, and a later run that does not re-collect the item
//! (a weekly item on another day) stages nothing broken.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CBACK: &str = env!("CARGO_BIN_EXE_cback");
const BIG: usize = 48 * 1024 * 1024;

struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    fn new() -> Job {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["work", "collect", "stage", "data"] {
            std::fs::create_dir(dir.path().join(d)).expect("mkdir");
        }
        // Incompressible data, so gzip -9 takes long enough to be caught.
        let mut f = std::fs::File::create(dir.path().join("data/big")).expect("create");
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut buf = vec![0u8; 1 << 20];
        for _ in 0..BIG / buf.len() {
            for chunk in buf.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            f.write_all(&buf).expect("write");
        }
        Job { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes the config: one directory item with `mode`, starting on `day`.
    fn config(&self, mode: &str, day: &str) -> PathBuf {
        let p = |rel: &str| self.path(rel).display().to_string();
        let xml = format!(
            r#"<?xml version="1.0"?>
<cb_config>
  <reference/>
  <options>
    <starting_day>{day}</starting_day>
    <working_dir>{work}</working_dir>
    <backup_user>root</backup_user>
    <backup_group>root</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command>
  </options>
  <collect>
    <collect_dir>{collect}</collect_dir>
    <archive_mode>targz</archive_mode>
    <ignore_file>.ignore</ignore_file>
    <dir><abs_path>{data}</abs_path><collect_mode>{mode}</collect_mode></dir>
  </collect>
  <stage>
    <staging_dir>{stage}</staging_dir>
    <peer><name>local</name><type>local</type><collect_dir>{collect}</collect_dir></peer>
  </stage>
</cb_config>
"#,
            work = p("work"),
            collect = p("collect"),
            data = p("data"),
            stage = p("stage"),
        );
        let path = self.path("cback.conf");
        std::fs::write(&path, xml).expect("write config");
        path
    }

    fn command(&self, action: &str) -> Command {
        let mut c = Command::new(CBACK);
        c.arg("-c")
            .arg(self.path("cback.conf"))
            .arg("-l")
            .arg(self.path("cback.log"))
            .arg(action)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    fn run(&self, action: &str) -> i32 {
        self.command(action)
            .status()
            .expect("cback runs")
            .code()
            .expect("exit code")
    }

    fn archive(&self) -> PathBuf {
        let name = format!(
            "{}.tar.gz",
            cedar::engine::util::normalized_path(&self.path("data").display().to_string())
        );
        self.path("collect").join(name)
    }

    /// Files in `rel`, dot-files included.
    fn names(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path(rel))
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// Starts collect and returns once its archive is being written.
fn start_mid_write(job: &Job) -> Child {
    let mut child = job.command("collect").spawn().expect("spawn");
    if !wait_until_writing(job) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("collect never started writing");
    }
    child
}

/// Polls (for at most a minute) until an unfinished archive has data.
fn wait_until_writing(job: &Job) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let partial = job
            .names("collect")
            .into_iter()
            .find(|n| n.ends_with(".cedar-partial"));
        if let Some(p) = partial {
            if std::fs::metadata(job.path("collect").join(p)).is_ok_and(|m| m.len() > 0) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn gzip_ok(path: &Path) -> bool {
    Command::new("gzip")
        .arg("-t")
        .arg(path)
        .stderr(Stdio::null())
        .status()
        .expect("gzip runs")
        .success()
}

fn tar_lists(path: &Path) -> Vec<String> {
    let out = Command::new("tar")
        .arg("-tzf")
        .arg(path)
        .output()
        .expect("tar runs");
    assert!(
        out.status.success(),
        "GNU tar cannot read {}",
        path.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn today() -> &'static str {
    use chrono::Datelike;
    day_name(chrono::Local::now().weekday())
}

fn not_today() -> &'static str {
    use chrono::Datelike;
    day_name(chrono::Local::now().weekday().succ())
}

fn day_name(d: chrono::Weekday) -> &'static str {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ][d.num_days_from_monday() as usize]
}

#[test]
fn sigkill_mid_archive_leaves_no_archive_and_a_later_run_stages_nothing_broken() {
    let job = Job::new();
    // A weekly item, collected today because today is the starting day.
    job.config("weekly", today());
    // An earlier day's indicator is still there: the peer counts as ready.
    std::fs::write(job.path("collect/cback.collect"), b"").expect("indicator");
    let mut child = start_mid_write(&job);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert!(!job.archive().exists(), "no archive under its final name");
    // stage right now does not pick up the unfinished archive.
    assert_eq!(job.run("stage"), 0);
    let staged = walk_files(&job.path("stage"));
    assert!(
        staged.iter().all(|p| p
            .file_name()
            .is_some_and(|n| n == "cback.stage" || n == "cback.collect")),
        "nothing but indicators staged: {staged:?}"
    );
    std::fs::remove_dir_all(job.path("stage")).expect("clear stage");
    std::fs::create_dir(job.path("stage")).expect("mkdir");

    // The next day the weekly item is not re-collected, but collect writes
    // cback.collect and stage copies the collect directory.
    job.config("weekly", not_today());
    assert_eq!(job.run("collect"), 0);
    assert!(job.path("collect/cback.collect").exists());
    let names = job.names("collect");
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".cedar-partial") || n.ends_with(".tar.gz")),
        "the partial archive left by the killed run is gone: {names:?}"
    );
    assert_eq!(job.run("stage"), 0);
    let staged = std::fs::read_dir(job.path("stage"))
        .expect("stage dir")
        .count();
    assert!(staged > 0, "stage ran");
    let day = walk_files(&job.path("stage"));
    assert!(
        day.iter().all(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n == "cback.stage" || n == "cback.collect")
        }),
        "nothing but indicators staged: {day:?}"
    );
}

#[test]
fn sigkill_mid_rewrite_keeps_the_previous_archive_and_digest_map() {
    let job = Job::new();
    job.config("incr", today());
    assert_eq!(job.run("collect"), 0);
    let archive = job.archive();
    assert!(gzip_ok(&archive));
    let before = std::fs::read(&archive).expect("archive");
    let digests: Vec<String> = job
        .names("work")
        .into_iter()
        .filter(|n| n.ends_with(".sha"))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    let sha = job.path("work").join(&digests[0]);
    let map = std::fs::read(&sha).expect("digest map");

    // Changed data and a starting day: the item is archived again in full.
    std::fs::write(job.path("data/new"), b"new file").expect("write");
    let mut child = start_mid_write(&job);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert_eq!(std::fs::read(&archive).expect("archive"), before);
    assert!(gzip_ok(&archive), "the previous archive is intact");
    assert!(tar_lists(&archive).iter().any(|m| m.ends_with("data/big")));
    assert_eq!(
        std::fs::read(&sha).expect("map"),
        map,
        "digest map untouched"
    );
}

#[test]
fn sigterm_mid_archive_exits_5_and_removes_the_unfinished_archive() {
    let job = Job::new();
    job.config("daily", today());
    let child = start_mid_write(&job);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let out = child.wait_with_output().expect("reaped");
    assert_eq!(out.status.code(), Some(5));
    assert!(
        job.names("collect").is_empty(),
        "nothing left: {:?}",
        job.names("collect")
    );
    // Uninterrupted, the same run produces an archive GNU tools accept.
    assert_eq!(job.run("collect"), 0);
    assert!(gzip_ok(&job.archive()));
    assert!(tar_lists(&job.archive())
        .iter()
        .any(|m| m.ends_with("data/big")));
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A small tmpfs mounted for the test's lifetime (root only).
struct SmallDisc {
    path: PathBuf,
}

impl SmallDisc {
    fn mount(path: &Path, size: &str) -> Option<SmallDisc> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping: mounting a small tmpfs needs root");
            return None;
        }
        let options = format!("size={size}");
        match nix::mount::mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some(options.as_str()),
        ) {
            Ok(()) => Some(SmallDisc {
                path: path.to_path_buf(),
            }),
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "cannot mount a tmpfs: {e}"
                );
                eprintln!("skipping: cannot mount a tmpfs: {e}");
                None
            }
        }
    }
}

impl Drop for SmallDisc {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn a_full_disc_mid_archive_keeps_the_previous_archive_and_leaves_nothing() {
    let job = Job::new();
    let Some(_disc) = SmallDisc::mount(&job.path("collect"), "4m") else {
        return;
    };
    job.config("daily", today());
    std::fs::rename(job.path("data/big"), job.path("big")).expect("set big aside");
    std::fs::write(job.path("data/small"), b"small file").expect("write");
    assert_eq!(job.run("collect"), 0);
    let archive = job.archive();
    let before = std::fs::read(&archive).expect("archive");
    assert!(gzip_ok(&archive));

    // 48 MiB of incompressible data cannot fit on the 4 MiB disc.
    std::fs::rename(job.path("big"), job.path("data/big")).expect("put big back");
    assert_eq!(job.run("collect"), 6, "a full disc fails the action");
    assert_eq!(std::fs::read(&archive).expect("archive"), before);
    assert!(gzip_ok(&archive), "the previous archive is intact");
    let names = job.names("collect");
    assert!(
        !names.iter().any(|n| n.ends_with(".cedar-partial")),
        "the unfinished archive is removed: {names:?}"
    );
    let log = std::fs::read_to_string(job.path("cback.log")).expect("log");
    assert!(log.contains("No space left on device"), "{log}");
}
