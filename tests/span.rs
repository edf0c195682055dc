//! `cback span` end to end through the real binary, its dialogue answered
//! on stdin (not a terminal, as Cedar's `input()` reads it) and the disc
//! replaced between prompts: the emulated disc's image and state are moved
//! aside while span waits for return, so the next disc is a new blank one
//! of a small capacity. Each disc is then read by bsdtar and xorriso and
//! checked by `cback verify`; `cback restore` of every disc gives back the
//! whole staging data; the discs are those Cedar's own `cback3-span`
//! dialogue chooses on the same tree with the same answers (its
//! `_executeAction` run in cback3's Python with the writer left out).
//! The whole run is made on CD-R, on DVD+R and DVD-R (write-once: a blank
//! disc swapped in at each prompt) and on DVD+RW (each disc put in holds
//! an older volume, overwritten). The discs are small (2 MiB); on DVD-R
//! the emulated drive extends the first border to 65,264 blocks as real
//! drives do, past such a disc's end (which no real DVD-R, of 2.2 million
//! blocks, has), so the test sees the data and not the run-out.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::store::{date, Rig};

/// Blocks of each emulated disc: 2 MiB.
const CAPACITY: u32 = 1024;
/// The cushion every run answers (per cent): room for the image's own
/// blocks (descriptors, directories, 150 blocks of padding, manifests).
const CUSHION: f64 = 25.0;

/// Four staged days of a peer with files of these sizes (KiB) plus a
/// symlink and cback.stage: about 4 MiB, three discs.
const DAYS: [(&str, &[usize]); 4] = [
    ("2026-03-02", &[450, 20, 305, 0, 150]),
    ("2026-03-03", &[600, 35, 225, 5, 260]),
    ("2026-03-04", &[400, 175, 10, 330, 45]),
    ("2026-03-05", &[500, 350, 15, 200]),
];

fn span_rig(profile: &str, extra: &str) -> Rig {
    let mut rig = Rig::new(profile);
    rig.device_extra = format!("&capacity={CAPACITY}{extra}");
    for (i, (day, sizes)) in DAYS.iter().enumerate() {
        let dir = rig.day_dir(date(day)).join("host1");
        std::fs::create_dir_all(&dir).unwrap();
        for (k, kib) in sizes.iter().enumerate() {
            let data: Vec<u8> = (0..kib * 1024)
                .map(|b| (b * 7 + k * 13 + i * 101 + b / 977) as u8)
                .collect();
            std::fs::write(dir.join(format!("f{k}.tar.gz")), data).unwrap();
        }
        std::os::unix::fs::symlink("f0.tar.gz", dir.join("latest")).unwrap();
        std::fs::write(dir.parent().unwrap().join("cback.stage"), b"").unwrap();
    }
    rig
}

/// Every file and symlink under `dir` by relative path: a file's bytes, a
/// symlink's `-> TARGET` (a span disc may hold a link without its target);
/// the day manifests cedar adds on the disc left out.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let ft = e.file_type().unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, format!("-> {}", t.display()).into_bytes());
            } else if e.file_name() != "cback.manifest" {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Everything staged, by path below the staging dir (cback.store left out).
fn staged(rig: &Rig) -> BTreeMap<String, Vec<u8>> {
    files(&rig.path("stage"))
        .into_iter()
        .filter(|(k, _)| !k.ends_with("cback.store"))
        .collect()
}

fn ok(mut cmd: Command, what: &str) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// bsdtar extracts the disc image.
fn bsdtar(image: &Path, out: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::create_dir_all(out).unwrap();
    let mut c = Command::new("bsdtar");
    c.arg("-xf").arg(image).arg("-C").arg(out);
    ok(c, "bsdtar -x");
    files(out)
}

/// xorriso extracts the disc image's session.
fn xorriso(image: &Path, out: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut c = Command::new("xorriso");
    c.args(["-abort_on", "FAILURE", "-indev"])
        .arg(image)
        .args(["-osirrox", "on", "-extract", "/"])
        .arg(out);
    ok(c, "xorriso -extract");
    files(out)
}

fn marked(rig: &Rig) -> Vec<String> {
    DAYS.iter()
        .filter(|(d, _)| rig.day_dir(date(d)).join("cback.store").exists())
        .map(|(d, _)| d.to_string())
        .collect()
}

/// One `cback span` run: the answers are sent one per prompt; when span
/// asks for the next disc, the disc in the drive is moved aside first
/// (unless `swap` is false).
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    /// The discs written, in order (the image files moved aside).
    discs: Vec<PathBuf>,
}

fn prompts(text: &str) -> usize {
    text.matches("]: ").count() + text.matches("Press return when ready.").count()
}

fn span(rig: &Rig, answers: &[&str], swap: bool) -> Run {
    span_with(rig, &[], answers, swap)
}

/// [`span`] with extra switches.
fn span_with(rig: &Rig, switches: &[&str], answers: &[&str], swap: bool) -> Run {
    span_swapping(rig, switches, answers, swap, None, None)
}

/// [`span_with`], each disc put in after one is taken out a copy of
/// `used` (an image file, which the emulator takes for a disc holding that
/// image) instead of a new blank disc; with `terminate`, span is sent
/// SIGTERM once its output holds that text, and must be gone within 15
/// seconds.
fn span_swapping(
    rig: &Rig,
    switches: &[&str],
    answers: &[&str],
    swap: bool,
    used: Option<&Path>,
    terminate: Option<&str>,
) -> Run {
    let conf = rig.write_config();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cback"))
        .arg("span")
        .args(switches)
        .arg("-c")
        .arg(&conf)
        .arg("-l")
        .arg(rig.path("cback.log"))
        .env("CEDAR_TODAY", "2026-03-06")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let out = Arc::clone(&out);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let mut stdin = Some(child.stdin.take().unwrap());
    let mut discs = Vec::new();
    let mut answered = 0;
    let mut last = 0;
    let mut deadline = Instant::now() + Duration::from_secs(120);
    let mut terminate = terminate;
    let mut terminated = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "span did not finish: {}",
            out.lock().unwrap()
        );
        let text = out.lock().unwrap().clone();
        if terminate.is_some_and(|t| text.contains(t)) {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
            terminate = None;
            terminated = true;
            deadline = Instant::now() + Duration::from_secs(15);
        }
        if terminated {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        if prompts(&text) > answered {
            let since = &text[last..];
            last = text.len();
            let replace = since.contains("Please replace the disc in your backup device.")
                || since.contains("Please replace media if needed.");
            if replace && swap && rig.image().exists() {
                discs.push(move_disc(rig, discs.len() + 1));
                if let Some(used) = used {
                    std::fs::copy(used, rig.image()).unwrap();
                }
            }
            match answers.get(answered) {
                Some(a) => {
                    let w = stdin.as_mut().unwrap();
                    writeln!(w, "{a}").unwrap();
                    w.flush().unwrap();
                }
                None => drop(stdin.take()),
            }
            answered += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    if rig.image().exists() && std::fs::metadata(rig.image()).unwrap().len() > 0 {
        discs.push(move_disc(rig, discs.len() + 1));
    }
    let stdout = out.lock().unwrap().clone();
    Run {
        status,
        stdout,
        stderr,
        discs,
    }
}

/// Takes the disc out: image and state moved to `discN.img`.
fn move_disc(rig: &Rig, n: usize) -> PathBuf {
    let to = rig.path(&format!("disc{n}.img"));
    std::fs::rename(rig.image(), &to).unwrap();
    let state = |p: &Path| PathBuf::from(format!("{}.state", p.display()));
    std::fs::rename(state(&rig.image()), state(&to)).unwrap();
    to
}

/// The answers of a whole run with `algorithm`: every default but the
/// cushion, then one return per disc.
fn answers(algorithm: &str, discs: usize) -> Vec<String> {
    let mut a: Vec<String> = ["", "", "", &CUSHION.to_string(), "", algorithm, ""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.extend((0..discs).map(|_| String::new()));
    a
}

/// Cedar's `cback3-span` dialogue on the same staging tree and answers,
/// the disc capacity given as its media capacity; returns its stdout and
/// the files of each disc (paths below the staging dir).
fn cedar_span(rig: &Rig, python: &Path, answers: &[String]) -> (String, Vec<Vec<String>>) {
    const SCRIPT: &str = r#"
import json, sys
from CedarBackup3.tools import span
from CedarBackup3.config import Config
config = Config(xmlPath=conf)
discs = []
span._getWriter = lambda config: (None, capacity)
span._writeDisc = lambda config, writer, item: discs.append(list(item.fileList))
span._writeStoreIndicator = lambda config, dirs: None
span._executeAction(None, config)
json.dump(discs, open(out, "w"))
"#;
    let (user, group) = support::current_account();
    let (media, device_type) = cedar_medium(rig);
    let conf = rig.path("cedar.conf");
    std::fs::write(
        &conf,
        format!(
            r#"<?xml version="1.0"?>
<cb_config>
 <options><starting_day>monday</starting_day><working_dir>{work}</working_dir>
  <backup_user>{user}</backup_user><backup_group>{group}</backup_group>
  <rcp_command>/usr/bin/scp -B</rcp_command></options>
 <store><source_dir>{stage}</source_dir><media_type>{media}</media_type>
  <device_type>{device_type}</device_type><target_device>/dev/cdrw</target_device>
  <check_data>Y</check_data></store>
</cb_config>
"#,
            work = rig.path("work").display(),
            stage = rig.path("stage").display()
        ),
    )
    .unwrap();
    let json = rig.path("cedar-discs.json");
    let args = serde_json::json!([conf, (u64::from(CAPACITY) * 2048) as f64, json]);
    let script = format!(
        "import json\nconf, capacity, out = json.loads({:?})\n{SCRIPT}",
        args.to_string()
    );
    let mut input = answers.join("\n");
    input.push('\n');
    let stdout = support::run_python(python, &script, &input);
    let stage = format!("{}/", rig.path("stage").display());
    let discs: Vec<Vec<String>> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let discs = discs
        .into_iter()
        .map(|d| d.iter().map(|p| p.replacen(&stage, "", 1)).collect())
        .collect();
    (stdout, discs)
}

/// The media types Cedar knows.
const CEDAR_MEDIA: [&str; 6] = ["cdr-74", "cdrw-74", "cdr-80", "cdrw-80", "dvd+r", "dvd+rw"];

/// The rig's media and device type for Cedar's configuration: a medium
/// Cedar does not know (DVD-R, DVD-RW, BD) is given as DVD+R there, which
/// only the "Media Type" line shows (the capacity is the disc's).
fn cedar_medium(rig: &Rig) -> (&'static str, &'static str) {
    if CEDAR_MEDIA.contains(&rig.medium.media) {
        (rig.medium.media, rig.medium.device_type)
    } else {
        ("dvd+r", "dvdwriter")
    }
}

/// The dialogue up to the first disc, without what differs on purpose:
/// the device path, Cedar's nominal media capacity (cedar's line, then
/// cedar's note that the smaller disc in the drive is used).
fn dialogue(stdout: &str) -> Vec<String> {
    let end = stdout
        .find("Please place the first disc")
        .unwrap_or(stdout.len());
    let mut lines = Vec::new();
    let mut skip_blank = false;
    for l in stdout[..end].lines() {
        if l.starts_with("   Device Path") || l.starts_with("Based on configuration") {
            continue;
        }
        if l.starts_with("The disc in ") {
            skip_blank = true;
            continue;
        }
        if skip_blank && l.is_empty() {
            skip_blank = false;
            continue;
        }
        lines.push(l.to_string());
    }
    lines
}

fn disc_count(stdout: &str) -> usize {
    let at = stdout
        .rfind("Cedar Backup can split your data\ninto ")
        .unwrap();
    let rest = &stdout[at..].lines().nth(1).unwrap()["into ".len()..];
    rest.split(' ').next().unwrap().parse().unwrap()
}

fn spans_with(algorithm: &str, python: Option<&Path>) {
    spans_on("cdr-74", algorithm, python, None);
}

/// A whole span run on emulated `profile` discs with `algorithm`, each
/// disc read back by bsdtar, xorriso and `cback verify`, the discs
/// together the staging data, every day restored, and (with cback3's
/// `python`) the discs and dialogue Cedar's. Each disc put in is a new
/// blank one, or with `used` a copy of that image (a disc holding an
/// older volume, which span overwrites).
fn spans_on(profile: &str, algorithm: &str, python: Option<&Path>, used: Option<&Path>) {
    let rig = span_rig(profile, "");
    if let Some(used) = used {
        std::fs::copy(used, rig.image()).unwrap();
    }
    let want = staged(&rig);
    let cedar = python.map(|py| cedar_span(&rig, py, &answers(algorithm, 8)));
    let all = answers(algorithm, 8);
    let run = span_swapping(
        &rig,
        &[],
        &all.iter().map(String::as_str).collect::<Vec<_>>(),
        true,
        used,
        None,
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "{profile} {algorithm}: {}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(run.stdout.contains("Completed writing all discs."));
    let n = disc_count(&run.stdout);
    assert!(n >= 2, "{profile} {algorithm}: {n} discs");
    if used.is_some() {
        // Each disc was the used one, overwritten: none needed formatting.
        let log = std::fs::read_to_string(rig.path("cback.log")).unwrap();
        assert_eq!(log.matches("Image size will be").count(), n, "{log}");
        assert!(!log.contains("Formatting"), "{log}");
    }
    assert_eq!(run.discs.len(), n, "{profile} {algorithm}: discs written");
    // Every disc read by programs nobody here wrote, and by cback verify.
    let real = (100.0 - CUSHION) / 100.0 * f64::from(CAPACITY) * 2048.0;
    let mut union = BTreeMap::new();
    let mut on_discs = Vec::new();
    for (k, image) in run.discs.iter().enumerate() {
        let by_bsdtar = bsdtar(image, &rig.path(&format!("t-{k}")));
        let by_xorriso = xorriso(image, &rig.path(&format!("x-{k}")));
        assert!(
            by_bsdtar == by_xorriso,
            "{profile} {algorithm} disc {k}: readers differ"
        );
        let bytes: usize = by_bsdtar
            .iter()
            .filter(|(p, _)| !p.ends_with("/latest"))
            .map(|(_, v)| v.len())
            .sum();
        assert!(
            bytes as f64 <= real,
            "{profile} {algorithm} disc {k}: {bytes} bytes > {real}"
        );
        let line = format!("Disc {}: {} files, ", k + 1, by_bsdtar.len());
        assert!(run.stdout.contains(&line), "{line} not in {}", run.stdout);
        let v = Command::new(env!("CARGO_BIN_EXE_cback"))
            .args(["verify", "-q"])
            .arg(image)
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "{profile} {algorithm} disc {k}: cback verify: {}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
        on_discs.push(by_bsdtar.keys().cloned().collect::<Vec<_>>());
        for (p, data) in by_bsdtar {
            assert!(union.insert(p.clone(), data).is_none(), "{p} on two discs");
        }
    }
    assert!(
        union == want,
        "{profile} {algorithm}: the discs together are not the staging data"
    );
    assert_eq!(
        marked(&rig).len(),
        DAYS.len(),
        "{profile} {algorithm}: every day marked"
    );
    // cback restore of every disc into one tree gives back every day.
    let target = rig.path("restored");
    let mut links = 0;
    for image in &run.discs {
        let listed = Command::new(env!("CARGO_BIN_EXE_cback"))
            .args(["restore", "-d"])
            .arg(image)
            .arg("list")
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&listed.stdout);
        for (day, _) in DAYS {
            if !listed.lines().any(|l| l.starts_with(day)) {
                continue;
            }
            let r = Command::new(env!("CARGO_BIN_EXE_cback"))
                .args(["restore", "-d"])
                .arg(image)
                .arg(day)
                .arg(target.join(date(day).format("%Y/%m/%d").to_string()))
                .output()
                .unwrap();
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            // Each day's symlink comes back as a symlink from the disc
            // holding it, checked against that day's manifest.
            links += String::from_utf8_lossy(&r.stdout)
                .matches("host1/latest -> f0.tar.gz (a symlink, as in the manifest)")
                .count();
        }
    }
    assert_eq!(links, DAYS.len(), "{algorithm}: symlinks restored");
    // Files and symlinks alike: the staging data again.
    let restored = files(&target);
    let differ: Vec<&String> = want
        .keys()
        .chain(restored.keys())
        .filter(|k| want.get(*k) != restored.get(*k))
        .collect();
    assert!(
        differ.is_empty(),
        "{profile} {algorithm}: restored tree differs: {differ:?}"
    );
    // The same discs as Cedar's cback3-span, the same dialogue.
    if let Some((cedar_out, cedar_discs)) = cedar {
        let mut ours = on_discs.clone();
        let mut theirs = cedar_discs.clone();
        for d in ours.iter_mut().chain(theirs.iter_mut()) {
            d.sort();
        }
        assert_eq!(ours, theirs, "{profile} {algorithm}: not Cedar's discs");
        let mut ours = dialogue(&run.stdout);
        let mut theirs = dialogue(&cedar_out);
        if cedar_medium(&rig).0 != rig.medium.media {
            for d in [&mut ours, &mut theirs] {
                d.retain(|l| !l.starts_with("   Media Type"));
            }
        }
        assert_eq!(ours, theirs, "{profile} {algorithm}: dialogue");
    }
}

fn cb3_python() -> Option<PathBuf> {
    support::cb3().map(|cb3| support::cb3_python(&cb3))
}

#[test]
fn each_fit_spreads_the_staging_data_over_discs_as_cback3_span_does() {
    if !(support::have("bsdtar") && support::have("xorriso")) {
        return;
    }
    let python = cb3_python();
    // All four at once: most of a run is the drive layer waiting on the
    // emulated drive, not work.
    std::thread::scope(|s| {
        for alg in ["first", "best", "worst", "alternate"] {
            let py = python.as_deref();
            s.spawn(move || spans_with(alg, py));
        }
    });
}

#[test]
fn rewritable_dvds_are_overwritten_disc_after_disc() {
    if !(support::have("bsdtar") && support::have("xorriso")) {
        return;
    }
    // Each DVD+RW put in holds an older volume (made by xorriso), which
    // span overwrites from block 0: none of its files is left on a disc.
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old");
    std::fs::create_dir_all(old.join("2025/01/06/host1")).unwrap();
    std::fs::write(old.join("2025/01/06/host1/stale.tar.gz"), vec![9u8; 70_000]).unwrap();
    let used = dir.path().join("used.iso");
    let mut c = Command::new("xorriso");
    c.args(["-as", "mkisofs", "-quiet", "-R", "-V", "OLD BACKUP", "-o"])
        .arg(&used)
        .arg(&old);
    ok(c, "xorriso -as mkisofs");
    spans_on("dvd+rw", "worst", cb3_python().as_deref(), Some(&used));
}

#[test]
fn write_once_dvds_are_swapped_blank_at_each_prompt() {
    if !(support::have("bsdtar") && support::have("xorriso")) {
        return;
    }
    let python = cb3_python();
    std::thread::scope(|s| {
        for (profile, alg) in [("dvd+r", "first"), ("dvd-r", "alternate")] {
            let py = python.as_deref();
            s.spawn(move || spans_on(profile, alg, py, None));
        }
    });
}

#[test]
fn answers_that_stop_the_run_mark_nothing() {
    let rig = span_rig("cdr-74", "");
    // No at the first question: nothing opened, nothing written.
    let run = span(&rig, &["n"], true);
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert!(run.discs.is_empty() && !run.stdout.contains("Initializing"));
    // End of input where an answer is due: exit 6, the question named.
    let run = span(&rig, &["", ""], true);
    assert_eq!(run.status.code(), Some(6));
    assert!(
        run.stderr.contains("end of input") && run.stderr.contains("Continue? [Y/n]:"),
        "{}",
        run.stderr
    );
    // A cushion that is not a number is asked again; one of 100% leaves
    // nothing.
    let run = span(&rig, &["", "", "", "lots", "100"], true);
    assert!(run
        .stdout
        .contains("Enter a floating point number.\nWhat cushion percentage? [4.50]: "));
    assert_eq!(run.status.code(), Some(6));
    assert!(run.stderr.contains("cushion of 100%"), "{}", run.stderr);
    // A choice that is no fit is asked again; a refused solution asks for
    // another fit; a disc that is not replaced is refused, and declining
    // the retry stops with the first disc written and no day marked.
    let c = CUSHION.to_string();
    let run = span(
        &rig,
        &[
            "", "", "", &c, "", "fastest", "best", "n", "first", "", "", "", "n",
        ],
        false,
    );
    assert_eq!(run.status.code(), Some(6), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(
        "Choice must be one of ['first', 'best', 'worst', 'alternate']\nWhich algorithm? [worst]: "
    ));
    assert!(run.stdout.contains("Using the \"best-fit\" algorithm"));
    assert!(run.stdout.contains("Using the \"first-fit\" algorithm"));
    assert!(run.stdout.contains("Retry initialization step? [Y/n]: "));
    assert!(
        run.stderr.contains("disc 2 of ") && run.stderr.contains("is not blank"),
        "{}",
        run.stderr
    );
    assert_eq!(run.discs.len(), 1, "only the first disc was written");
    assert!(marked(&rig).is_empty(), "{:?} marked", marked(&rig));
    // A rewritable disc left in the drive is not blanked for the next one.
    let rw = span_rig("cdrw-74", "");
    let run = span(&rw, &["", "", "", &c, "", "", "", "", "", "n"], false);
    assert_eq!(run.status.code(), Some(6), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("is disc 1 of this span, already written"),
        "{}",
        run.stderr
    );
    assert_eq!(run.discs.len(), 1);
    let v = Command::new(env!("CARGO_BIN_EXE_cback"))
        .args(["verify", "-q"])
        .arg(&run.discs[0])
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "disc 1 kept: {}",
        String::from_utf8_lossy(&v.stdout)
    );
    assert!(marked(&rw).is_empty());
    // --dry-run asks everything, plans every disc and writes nothing.
    let dry = span_rig("cdr-74", "");
    let run = span_with(&dry, &["--dry-run"], &["", "", "", &c, "", "", ""], true);
    assert_eq!(run.status.code(), Some(0), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("disc images fit the media; nothing is written."),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Please place the first disc"));
    assert!(run.discs.is_empty());
    assert!(marked(&dry).is_empty());
    // A cushion too small for the discs' images stops before any write.
    let run = span(&rig, &["", "", "", "0", "", "first", ""], true);
    assert_eq!(run.status.code(), Some(6), "{}", run.stdout);
    assert!(
        run.stderr.contains("image would be") && run.stderr.contains("larger cushion"),
        "{}",
        run.stderr
    );
    assert!(run.discs.is_empty() && marked(&rig).is_empty());
}

#[test]
fn a_terminated_span_exits_five_and_marks_nothing() {
    let all = answers("worst", 8);
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    // At a question (waiting for input), at the first disc's prompt, and
    // while the drive takes its time over the first WRITE of a disc.
    let points = [
        ("", "What cushion percentage?"),
        ("", "Please place the first disc"),
        ("&timing=1&first_write=30", "Writing image to disc..."),
    ];
    for (extra, at) in points {
        let rig = span_rig("dvd+r", extra);
        let run = span_swapping(&rig, &[], &all, true, None, Some(at));
        assert_eq!(
            run.status.code(),
            Some(5),
            "SIGTERM at {at:?}: {}\n{}",
            run.stdout,
            run.stderr
        );
        assert!(marked(&rig).is_empty(), "SIGTERM at {at:?}: days marked");
        let log = std::fs::read_to_string(rig.path("cback.log")).unwrap_or_default();
        assert!(log.contains("interrupted"), "SIGTERM at {at:?}: {log}");
    }
}

#[test]
fn a_disc_failing_mid_write_is_reported_and_nothing_marked() {
    // The drive fails the 40th WRITE of every disc put in.
    let rig = span_rig("cdr-74", "&fault=write@40:3/0c/00");
    let c = CUSHION.to_string();
    let run = span(&rig, &["", "", "", &c, "", "", "", "", "y", "", "n"], true);
    assert_eq!(run.status.code(), Some(6), "{}", run.stdout);
    assert!(run.stdout.contains("Writing image to disc...\n"));
    assert!(run
        .stdout
        .contains("Retry this step? [Y/n]: Ok, attempting retry."));
    assert!(run
        .stdout
        .contains("Please replace media if needed.\nPress return when ready."));
    assert!(!run.stdout.contains("Completed writing image."));
    let failures = run
        .stderr
        .matches("Failed to write image: writing to emulated:")
        .count();
    assert_eq!(failures, 2, "{}", run.stderr);
    assert!(run.stderr.contains("disc 1 of "), "{}", run.stderr);
    assert!(marked(&rig).is_empty());

    // A disc that reads back wrong fails the consistency check, again
    // when retried, and is reported.
    let rig = span_rig("cdr-74", "&flip=600:7");
    let run = span(&rig, &["", "", "", &c, "", "", "", "", "y", "n", "n"], true);
    assert_eq!(run.status.code(), Some(6), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("Completed writing image.\nRunning consistency check...\n"));
    assert!(run.stdout.contains(
        "Retry the consistency check? [Y/n]: Rewrite the disc first? [y/N]: Ok, attempting retry."
    ));
    assert_eq!(
        run.stderr.matches("Consistency check failed:").count(),
        2,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("differs") || run.stderr.contains("SHA-1"),
        "{}",
        run.stderr
    );
    assert!(marked(&rig).is_empty());

    // Rewritten on a new disc when asked (which reads back wrong too: the
    // flip is the drive's), with Cedar's dialogue in between.
    let rig = span_rig("cdr-74", "&flip=600:7");
    let run = span(
        &rig,
        &["", "", "", &c, "", "", "", "", "y", "y", "", "n"],
        true,
    );
    assert_eq!(run.status.code(), Some(6), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "Retry the consistency check? [Y/n]: Rewrite the disc first? [y/N]: \
             Ok, attempting retry.\nPlease replace the disc in your backup device.\n\
             Press return when ready.===\nWriting image to disc...\nCompleted writing image.\n\
             Running consistency check...\nRetry the consistency check? [Y/n]: "
        ),
        "{}",
        run.stdout
    );
    assert_eq!(run.discs.len(), 2, "the first disc and its rewrite");
    assert!(marked(&rig).is_empty());
}

/// Cedar's DVD capacity in blocks: `convertSize(4.4, GBYTES, SECTORS)`.
const DVD_NOMINAL: f64 = 4.4 * 1024.0 * 1024.0 * 1024.0 / 2048.0;

/// A rig with one staged day of two sparse files making `blocks` blocks,
/// its emulated disc of `disc` blocks.
fn sparse_rig(profile: &str, disc: u32, blocks: u64) -> Rig {
    let mut rig = Rig::new(profile);
    rig.device_extra = format!("&capacity={disc}");
    let dir = rig.day_dir(date("2026-03-02")).join("host1");
    std::fs::create_dir_all(&dir).unwrap();
    let half = blocks / 2;
    for (name, b) in [("a.tar.gz", half), ("b.tar.gz", blocks - half)] {
        let f = std::fs::File::create(dir.join(name)).unwrap();
        f.set_len(b * 2048).unwrap();
    }
    rig
}

/// The `(N blocks)` of span's "its image would be ..." refusal.
fn refused_image_blocks(stderr: &str) -> u64 {
    let at = stderr
        .find("its image would be ")
        .unwrap_or_else(|| panic!("{stderr}"));
    let rest = &stderr[at..];
    let open = rest.find('(').unwrap();
    let close = rest.find(" blocks)").unwrap();
    rest[open + 1..close].parse().unwrap()
}

#[test]
fn a_dvd_smaller_than_cedars_capacity_is_refused_before_anything_is_written() {
    let nominal = DVD_NOMINAL.floor() as u64;
    // First the image's own blocks for this day (two files, a manifest):
    // with no cushion on a disc one block larger than the files, the plan
    // refuses and names the image's size.
    let files = nominal - 3000;
    let rig = sparse_rig("dvd+r", (files + 1) as u32, files);
    let run = span(&rig, &["", "", "", "0", "", "first", ""], true);
    assert_eq!(run.status.code(), Some(6), "{}", run.stdout);
    let overhead = refused_image_blocks(&run.stderr) - files;
    assert!(
        overhead > 8,
        "{overhead} blocks of directories and manifest"
    );

    // A DVD+R two blocks short of Cedar's 4.4 GiB and a cushion between
    // what the old check used (nominal, since the disc is not below the
    // cushioned nominal) and what the files leave: Cedar's capacity passes
    // the plan (the files fit the cushioned nominal, the image fits the
    // nominal) and the write would fail only in `prepare`; the disc's own
    // capacity refuses it before any disc is asked for.
    let files = nominal - overhead - 1;
    let image = files + overhead;
    let disc = image - 1;
    let low = (DVD_NOMINAL - disc as f64) / DVD_NOMINAL;
    let high = (disc - files) as f64 / disc as f64;
    assert!(low < high);
    let cushion = 100.0 * (low + high) / 2.0;
    let keep = (100.0 - cushion) / 100.0;
    assert!(
        disc as f64 >= keep * DVD_NOMINAL,
        "the old check used nominal"
    );
    assert!(files as f64 <= keep * DVD_NOMINAL && image as f64 <= DVD_NOMINAL);
    assert!(
        files as f64 <= keep * disc as f64,
        "one disc with the new check"
    );
    let rig = sparse_rig("dvd+r", disc as u32, files);
    let c = cushion.to_string();
    let run = span(&rig, &["", "", "", &c, "", "first", "", ""], true);
    assert_eq!(run.status.code(), Some(6), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("holds only 4.40 GB: its size is used instead."),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("disc 1 of 1 (days 2026/03/02): its image would be")
            && run.stderr.contains("larger cushion"),
        "{}",
        run.stderr
    );
    assert_eq!(refused_image_blocks(&run.stderr), image);
    assert!(!run.stdout.contains("Please place the first disc"));
    assert!(run.discs.is_empty() && marked(&rig).is_empty());
}

#[test]
fn a_drive_reporting_no_capacity_leaves_cedars() {
    // An unformatted DVD+RW the drive reports as 0 blocks: not a capacity
    // of 0 (every file "cannot fit"), but Cedar's 4.4 GiB for the plan.
    let rig = span_rig("dvd+rw", "");
    let mut rig = rig;
    rig.device_extra = "&capacity=0".into();
    let c = CUSHION.to_string();
    let run = span_with(&rig, &["--dry-run"], &["", "", "", &c, "", "", ""], true);
    assert_eq!(run.status.code(), Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("holds only"), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("It will take at least 1 disc(s) to store your"));
    assert!(run
        .stdout
        .contains("Dry run: all 1 disc images fit the media; nothing is written."));
    // Written, the disc is refused as too small, with nothing written.
    let run = span(&rig, &["", "", "", &c, "", "", "", "", "n"], true);
    assert_eq!(run.status.code(), Some(6), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("Failed to initialize image:") && run.stderr.contains("disc 1 of 1"),
        "{}",
        run.stderr
    );
    assert!(marked(&rig).is_empty());
}

#[test]
fn switches_and_configuration_through_the_tools_start_up() {
    let rig = Rig::new("cdr-74");
    let cback = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cback"))
            .arg("span")
            .args(args)
            .arg("-l")
            .arg(rig.path("cback.log"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = cback(&["--nope"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Usage: cback span") && err.contains(" *** Error: "),
        "{err}"
    );
    let o = cback(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Usage: cback span"));
    // A configuration that cannot be read: exit 4, the file named, and
    // the run's first and last log lines.
    let missing = rig.path("none.conf");
    let o = cback(&["-c", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(4));
    let log = std::fs::read_to_string(rig.path("cback.log")).unwrap();
    assert!(
        log.contains("Cedar Backup 'span' utility run started."),
        "{log}"
    );
    assert!(log.contains("Error reading or handling configuration:") && log.contains("none.conf"));
    assert!(log.contains("Cedar Backup 'span' utility run completed with status 4."));
}

#[test]
fn a_staged_name_that_is_not_utf8_is_spanned_checked_and_restored_byte_exact() {
    use std::os::unix::ffi::OsStrExt;
    let rig = span_rig("cdr-74", "");
    // Latin-1 "café.tar.gz" in the first day (check_data compares it).
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.tar.gz");
    let dir = rig.day_dir(date(DAYS[0].0)).join("host1");
    std::fs::write(dir.join(name), b"latin-1 named").unwrap();
    let all = answers("worst", 8);
    let run = span(
        &rig,
        &all.iter().map(String::as_str).collect::<Vec<_>>(),
        true,
    );
    assert_eq!(run.status.code(), Some(0), "{}\n{}", run.stdout, run.stderr);
    let mut found = 0;
    for image in &run.discs {
        let out = rig.path("r");
        let o = Command::new(env!("CARGO_BIN_EXE_cback"))
            .args(["restore", "-d"])
            .arg(image)
            .arg(DAYS[0].0)
            .arg(&out)
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&o.stdout).into_owned();
        if o.status.code() == Some(2) {
            continue; // the day is not on this disc
        }
        assert!(
            o.status.success(),
            "{listed}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!listed.contains("unchecked"), "{listed}");
        if let Ok(data) = std::fs::read(out.join("host1").join(name)) {
            assert_eq!(data, b"latin-1 named");
            found += 1;
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
    assert_eq!(found, 1, "on one disc, restored under its own bytes");
}
