//! A burn SIGKILLed mid-track, in a real child process (this test binary
//! run again as the child), on the emulated drive: afterwards the drive's
//! state sidecar matches what the disc holds (what a real drive keeps after
//! a power cut: the blocks it wrote out, not those in its volatile cache),
//! every earlier day is still readable, and the next night's run succeeds:
//! on write-once media after closing the interrupted track, on overwritable
//! media by writing again from the old volume end.
//!
//! `harness = false`: `main` is the parent unless `CEDAR_KILL_CHILD` says
//! this process is the child that burns and gets killed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cedar::engine::burn::BurnOptions;
use cedar::engine::disc::{self, DiscSource};
use cedar::engine::image::ImageBuilder;
use iso9660::{FileData, GraftPoint, Layout, Metadata};
use mmc::emulator::{state_path, DriveState};
use mmc::Drive;

mod support;

use support::have;
use support::nights::*;

const CHILD: &str = "CEDAR_KILL_CHILD";
/// The slow file the child writes: far more than the drive's 2 MiB cache.
const SLOW_BYTES: u64 = 48 << 20;
/// Kill once this much of the track is recorded in the state.
const KILL_AFTER_BLOCKS: u32 = 2048;
/// The emulated drive's volatile cache (a WRITE past it sends it to the disc).
const CACHE_SLACK: u64 = (2 << 20) + (64 << 10);

/// A staged file read slowly (a slow disk or network mount): deterministic
/// bytes, 256 KiB every 5 ms.
struct Slow {
    at: u64,
    len: u64,
    pace: bool,
}

impl Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.len - self.at).min(buf.len() as u64).min(256 << 10) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = ((self.at + i as u64) % 251) as u8;
        }
        self.at += n as u64;
        if self.pace && n > 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(n)
    }
}

fn spec(image: &Path, media: &str) -> String {
    format!("emulated:{}?profile={media}&busy=0", image.display())
}

/// The night-two session the child burns at `start`: the session at
/// `import` carried over, the staged day, and a slow file.
fn night_two(drive: &mut Drive, staged: &Path, start: u32, import: u32, pace: bool) -> Layout {
    let mut b = ImageBuilder::new(options(start));
    b.import(DiscSource::new(drive), import).unwrap();
    b.graft(&GraftPoint {
        disc: DAYS[1].as_bytes().to_vec(),
        host: staged.to_path_buf(),
    })
    .unwrap();
    let slow = Slow {
        at: 0,
        len: SLOW_BYTES,
        pace,
    };
    b.tree_mut()
        .add_file(
            format!("{}/slow.tar", DAYS[1]).as_bytes(),
            Metadata::new(0o644, 0, 0, T),
            FileData::Reader(Some(Box::new(slow))),
            SLOW_BYTES,
        )
        .unwrap();
    b.plan().unwrap()
}

/// The child: burns night two and is killed during it.
fn child(args: &str) {
    let (image, media, staged) = match args.split('\t').collect::<Vec<_>>()[..] {
        [i, m, s] => (PathBuf::from(i), m.to_string(), PathBuf::from(s)),
        _ => panic!("bad {CHILD}={args:?}"),
    };
    let mut drive = Drive::open(&spec(&image, &media)).unwrap();
    drive.set_poll_interval(Duration::from_millis(1));
    disc::close_interrupted(&mut drive).unwrap();
    let place = disc::placement(&mut drive).unwrap();
    let import = place.import.unwrap();
    let mut layout = night_two(&mut drive, &staged, place.start_lba, import, true);
    let r = cedar::engine::burn::burn(
        &mut drive,
        &mut layout,
        &place,
        &BurnOptions::default(),
        &mut (),
    );
    panic!("the child was not killed: {r:?}");
}

/// Blocks of the open track the state records (write-once), or None.
fn open_track(image: &Path) -> Option<(u32, u32)> {
    let st = DriveState::load(&state_path(image)).ok()?;
    let t = st.medium?.sessions.last()?.tracks.last()?.clone();
    (!t.closed).then_some((t.start, t.written))
}

fn scenario(media: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut d = open(dir.path(), media, "");
    let s1 = stage(dir.path(), DAYS[0], 1);
    let r1 = night(&mut d, &s1, DAYS[0]);
    let before = disc::placement(&mut d.drive).unwrap();
    let s2 = stage(dir.path(), DAYS[1], 2);
    // Rock Ridge records each file's access time, and the child's first
    // read of a new file moves it (relatime), so the parent's rebuild of the
    // child's stream would differ whenever that read crossed a second:
    // read the staged files once now, after which relatime leaves atime be.
    // The same for the directories: the child's first listing of one
    // whose files were added after it was made moves its atime.
    for f in ["etc.tar.gz", "peer/home.tar.bz2", "cback.stage"] {
        std::fs::read(s2.join(f)).unwrap();
    }
    for d in [s2.clone(), s2.join("peer")] {
        std::fs::read_dir(&d).unwrap().for_each(drop);
    }
    let image = d.image.clone();
    drop(d.drive);

    let mut kid = Command::new(std::env::current_exe().unwrap())
        .env(
            CHILD,
            format!("{}\t{media}\t{}", image.display(), s2.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let overwritable = before.overwritable;
    let started = Instant::now();
    loop {
        let far = if overwritable {
            let len = std::fs::metadata(&image).unwrap().len();
            len > u64::from(before.start_lba + KILL_AFTER_BLOCKS) * 2048
        } else {
            open_track(&image).is_some_and(|(_, w)| w >= KILL_AFTER_BLOCKS)
        };
        if far {
            break;
        }
        if let Some(status) = kid.try_wait().unwrap() {
            let mut err = String::new();
            kid.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("{media}: the child ended ({status}) before it was killed:\n{err}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{media}: the child wrote nothing to the disc in 60 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    kid.kill().unwrap(); // SIGKILL
    kid.wait().unwrap();

    // What is on disc matches the state: not behind the image (the lag
    // this test exists for), not ahead of it.
    let len = std::fs::metadata(&image).unwrap().len();
    let mut d = Disc {
        drive: Drive::open(&spec(&image, media)).unwrap(),
        image: image.clone(),
    };
    d.drive.set_poll_interval(Duration::from_millis(1));
    if overwritable {
        // LBA 16 is written last: the disc still reads as night one.
        let p = disc::placement(&mut d.drive).unwrap();
        assert_eq!(p.start_lba, before.start_lba, "{media}");
    } else {
        let (start, written) = open_track(&image).expect("an open track after the kill");
        let mut want = Vec::new();
        let mut layout = night_two(&mut d.drive, &s2, start, r1.session_start, false);
        layout.write(&mut want, &mut ()).unwrap();
        // Killed mid-track, and the state says how far the track got.
        assert!(
            written >= KILL_AFTER_BLOCKS && written < layout.sectors(),
            "{media}: the state recorded {written} blocks of a {}-block track only \
             after the track was written: it lags the image",
            layout.sectors()
        );
        let end = u64::from(start + written) * 2048;
        assert!(
            len >= end && len <= end + CACHE_SLACK,
            "{media}: image is {len} bytes, the state records the track to byte {end}"
        );
        // The recorded blocks hold the session as it was streamed.
        let got = std::fs::read(&image).unwrap();
        let from = start as usize * 2048;
        let first_diff = (0..(end as usize - from) / 2048).find(|b| {
            got[from + b * 2048..from + (b + 1) * 2048] != want[b * 2048..(b + 1) * 2048]
        });
        assert!(
            first_diff.is_none(),
            "{media}: the recorded blocks differ from the stream (first at block {first_diff:?} of the track at {start}, {written} written; placement said {})", before.start_lba
        );
        // Reopened, the drive reports the interrupted track.
        let p = disc::placement(&mut d.drive).unwrap();
        assert!(p.interrupted.is_some(), "{media}: {p:?}");
        assert_eq!(p.import, Some(r1.session_start), "{media}");
    }

    // The re-run succeeds and shows both nights.
    let r2 = night(&mut d, &s2, DAYS[1]);
    assert!(r2.session_start >= r1.volume_end, "{media}");
    drop(d.drive);
    if have("xorriso") {
        let session = (!overwritable).then_some(r2.session_start);
        let listing = xorriso_find(&image, session);
        assert_lists(
            &listing,
            &DAYS,
            &format!("xorriso after the re-run on {media}"),
        );
    }
    if overwritable && have("bsdtar") {
        let listing = run(Command::new("bsdtar").arg("-tf").arg(&image));
        assert_lists(
            &listing,
            &DAYS,
            &format!("bsdtar after the re-run on {media}"),
        );
    }
}

fn main() {
    if let Ok(args) = std::env::var(CHILD) {
        child(&args);
        return;
    }
    // libtest's command line, as far as it matters here: names to run
    // (substrings), `--skip NAME` to leave out, other switches ignored.
    let (mut filter, mut skip) = (Vec::new(), Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--skip" {
            skip.extend(args.next());
        } else if !a.starts_with('-') {
            filter.push(a);
        }
    }
    for media in ["dvd+r", "cdr-80", "dvd-r", "bd-r", "dvd+rw", "bd-re"] {
        let name = format!("a_store_killed_mid_write_on_{media}_is_rerun");
        let wanted = filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
        if !wanted || skip.iter().any(|s| name.contains(s.as_str())) {
            continue;
        }
        scenario(media);
        println!("test {name} ... ok");
    }
}
