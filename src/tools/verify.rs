//! `cback verify [DEVICE|IMAGE]`: proves that a disc is still good.
//!
//! Every session's tree is read (through the drive, or from an image
//! file), then the whole written area once, in order, at the drive's read
//! speed: unreadable blocks are retried one by one and reported as damaged
//! ranges with the files they hit, and every file of every day is hashed on
//! the way and compared with the day's `cback.manifest`. Days without one
//! (written by Cedar Backup) are checked for readability only, and say so.
//! The last line is one summary for cron; the exit status is 0 when all is
//! well, 1 when anything is damaged or missing, 2 for bad arguments and 6
//! when the disc cannot be read at all. On a terminal a bar shows progress.

use std::ffi::OsString;

use crate::engine::discread::{self, Day};
use crate::engine::manifest::{Manifest, MANIFEST_NAME};
use crate::engine::progress::Meter;
use crate::engine::util::display_bytes;
use crate::tools::reading::{self, EXIT_DAMAGED, EXIT_DEVICE, EXIT_USAGE};

const USAGE: &str = "usage: cback verify [-c CONFIG] [-s BLOCK] [-q] [DEVICE|IMAGE]\n\
\n\
Checks every file of every day on the disc against the day's cback.manifest and\n\
scans the whole written area for unreadable blocks.\n\
  -c, --config FILE    take the device from FILE's <store><target_device>\n\
                       (default /etc/cback3.conf) when none is given\n\
  -s, --session BLOCK  read only the session starting at BLOCK\n\
  -q, --quiet          no progress bar, only problems and the summary\n\
Exit status: 0 all good, 1 damaged or missing, 2 usage, 6 unreadable disc.";

/// Runs `cback verify ARGS...`; returns the process exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let mut words = Vec::new();
    let (mut config, mut session, mut quiet) = (None, None, false);
    let strs: Result<Vec<&str>, _> = args.iter().map(|a| a.to_str().ok_or(a)).collect();
    let Ok(strs) = strs else {
        eprintln!("cback verify: an argument is not valid UTF-8");
        return EXIT_USAGE;
    };
    let mut it = strs.into_iter();
    while let Some(a) = it.next() {
        let r: Result<(), String> = (|| {
            if let Some(v) = reading::value(a, &["-c", "--config"], &mut it) {
                config = Some(v?);
            } else if let Some(v) = reading::value(a, &["-s", "--session"], &mut it) {
                let v = v?;
                session = Some(
                    v.parse::<u32>()
                        .map_err(|_| format!("--session {v:?} is not a block number"))?,
                );
            } else if a == "-q" || a == "--quiet" {
                quiet = true;
            } else if a == "-h" || a == "--help" {
                return Err(String::new());
            } else if a.starts_with('-') && a.len() > 1 {
                return Err(format!("unknown option {a}"));
            } else {
                words.push(a);
            }
            Ok(())
        })();
        match r {
            Ok(()) => {}
            Err(e) if e.is_empty() => {
                println!("{USAGE}");
                return 0;
            }
            Err(e) => {
                eprintln!("cback verify: {e}\n{USAGE}");
                return EXIT_USAGE;
            }
        }
    }
    if words.len() > 1 {
        eprintln!(
            "cback verify: expected one DEVICE, got {}\n{USAGE}",
            words.join(" ")
        );
        return EXIT_USAGE;
    }
    let device = match reading::device(words.first().copied(), config) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cback verify: {e}");
            return EXIT_USAGE;
        }
    };
    let meter = if quiet {
        Meter::hidden()
    } else {
        Meter::for_terminal()
    };
    match verify(&device, session, meter) {
        Ok(report) => {
            for l in &report.lines {
                println!("{l}");
            }
            println!("{}", report.summary);
            if report.problems == 0 {
                0
            } else {
                EXIT_DAMAGED
            }
        }
        Err(e) => {
            eprintln!("cback verify: {e}");
            EXIT_DEVICE
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per day and per problem.
    pub lines: Vec<String>,
    /// The summary line.
    pub summary: String,
    /// Damaged, missing or differing files, damaged manifests, unreadable
    /// ranges.
    pub problems: usize,
}

/// Verifies the disc in `device` (or the image file it names).
pub fn verify(device: &str, session: Option<u32>, mut meter: Meter) -> Result<Report, String> {
    let (mut medium, contents) = reading::open(device, session)?;
    // Every file of every day, the manifests too.
    let mut names = Vec::new();
    let mut entries = Vec::new();
    for day in contents.days.values() {
        for (p, e) in &day.entries {
            if e.kind == iso9660::EntryKind::File {
                names.push(format!("{}/{}", day.disc_path, String::from_utf8_lossy(p)));
                entries.push(e);
            }
        }
    }
    meter.phase("reading the disc");
    let scan = discread::scan(
        &mut medium,
        &contents.recorded,
        &entries,
        discread::default_threads(),
        &mut meter,
    );
    meter.done();
    let mut r = Report::default();
    let mut checked = (0usize, 0u64);
    let mut index = 0;
    for day in contents.days.values() {
        let first = index;
        let n = day
            .entries
            .values()
            .filter(|e| e.kind == iso9660::EntryKind::File)
            .count();
        index += n;
        check_day(
            day,
            &names[first..index],
            &scan.files[first..index],
            &mut r,
            &mut checked,
        );
    }
    for (start, why) in &contents.interrupted {
        r.lines.push(format!(
            "session at block {start}: passed over as an interrupted write ({why})"
        ));
    }
    for d in &contents.damage {
        r.problems += 1;
        r.lines.push(format!(
            "DAMAGED {} (session at block {}): {}",
            d.path, d.session, d.why
        ));
    }
    for &(a, b) in &scan.damaged {
        r.problems += 1;
        let hit = discread::files_hit((a, b), names.iter().cloned().zip(entries.iter().copied()));
        r.lines.push(format!(
            "DAMAGED blocks {a}-{b} ({} blocks): {}",
            b - a + 1,
            if hit.is_empty() {
                "no file (directories, descriptors or padding)".to_string()
            } else {
                hit.join(", ")
            }
        ));
    }
    let bytes = u64::from(scan.blocks) * mmc::BLOCK_SIZE as u64;
    r.summary = format!(
        "cback verify: {device}: {}: {} session(s), {} day(s), {} file(s) ({}) checked, {} read, {} problem(s), {} unreadable range(s)",
        if r.problems == 0 { "OK" } else { "DAMAGED" },
        contents.sessions.len(),
        contents.days.len(),
        checked.0,
        display_bytes(checked.1),
        display_bytes(bytes),
        r.problems,
        scan.damaged.len()
    );
    log::info!("{}", r.summary);
    Ok(r)
}

/// The day's symlinks against the manifest's `link` records: each listed
/// one must be on the disc, a symlink with the same target text. Returns
/// how many are not; symlinks on the disc the manifest does not list (one
/// written before cedar recorded links) are named, not counted.
fn check_links(day: &Day, m: &Manifest, r: &mut Report) -> usize {
    let mut bad = 0;
    for rec in &m.links {
        let name = format!("{}/{}", day.disc_path, String::from_utf8_lossy(&rec.path));
        let what = match day.entries.get(&rec.path).map(|e| &e.kind) {
            None => Some("in the manifest, not on the disc".to_string()),
            // The manifest has the staged text, the disc what Rock Ridge
            // can record of it.
            Some(iso9660::EntryKind::Symlink(t))
                if *t == iso9660::symlink_as_recorded(&rec.target) =>
            {
                None
            }
            Some(iso9660::EntryKind::Symlink(t)) => Some(format!(
                "symlink to {} on the disc, to {} in the manifest",
                String::from_utf8_lossy(t),
                String::from_utf8_lossy(&rec.target)
            )),
            Some(_) => Some("not a symlink on the disc, one in the manifest".to_string()),
        };
        if let Some(what) = what {
            bad += 1;
            let kind = if day.entries.contains_key(&rec.path) {
                "DIFFERS"
            } else {
                "MISSING"
            };
            r.lines.push(format!("{kind} {name}: {what}"));
        }
    }
    for (p, e) in &day.entries {
        if matches!(e.kind, iso9660::EntryKind::Symlink(_)) && m.link(p).is_none() {
            r.lines.push(format!(
                "{}/{}: a symlink not in the manifest (unchecked)",
                day.disc_path,
                String::from_utf8_lossy(p)
            ));
        }
    }
    bad
}

fn check_day(
    day: &Day,
    names: &[String],
    checks: &[discread::FileCheck],
    r: &mut Report,
    checked: &mut (usize, u64),
) {
    let files: Vec<(&[u8], &iso9660::Entry)> = day
        .entries
        .iter()
        .filter(|(_, e)| e.kind == iso9660::EntryKind::File)
        .map(|(p, e)| (p.as_slice(), e))
        .collect();
    let mut bad = 0;
    for ((path, e), (name, c)) in files.iter().zip(names.iter().zip(checks)) {
        if c.unreadable > 0 {
            r.lines.push(format!(
                "DAMAGED {name}: {} unreadable block(s)",
                c.unreadable
            ));
            bad += 1;
        } else if c.bytes < e.size {
            r.lines.push(format!(
                "DAMAGED {name}: {} block(s) past the end of what is recorded",
                (e.size - c.bytes).div_ceil(mmc::BLOCK_SIZE as u64)
            ));
            bad += 1;
        }
        if *path != MANIFEST_NAME.as_bytes() {
            checked.0 += 1;
            checked.1 += e.size;
        }
    }
    match &day.manifest {
        None => r.lines.push(format!(
            "{}: no {MANIFEST_NAME} (written by Cedar Backup?): {} file(s) checked for readability only{}",
            day.disc_path,
            files.len(),
            if bad == 0 { ", all readable" } else { "" }
        )),
        Some(Err(e)) => {
            r.problems += 1;
            r.lines.push(format!(
                "DAMAGED {}/{MANIFEST_NAME}: {e}; {} file(s) checked for readability only",
                day.disc_path,
                files.len()
            ));
        }
        Some(Ok(m)) => {
            if m.day != day.date() {
                bad += 1;
                r.lines.push(format!(
                    "DIFFERS {}: the directory holds the manifest of day {}",
                    day.disc_path, m.day
                ));
            }
            for rec in &m.files {
                let name = format!("{}/{}", day.disc_path, String::from_utf8_lossy(&rec.path));
                // `files` is in path order (from the day's BTreeMap).
                match files
                    .binary_search_by(|(p, _)| (*p).cmp(rec.path.as_slice()))
                    .ok()
                {
                    None => {
                        bad += 1;
                        r.lines.push(format!("MISSING {name}: in the manifest, not on the disc"));
                    }
                    Some(i) => {
                        let c = &checks[i];
                        if c.unreadable > 0 || c.bytes < files[i].1.size {
                            // Named above.
                        } else if files[i].1.size != rec.size {
                            bad += 1;
                            r.lines.push(format!(
                                "DIFFERS {name}: {} bytes on the disc, {} in the manifest",
                                files[i].1.size, rec.size
                            ));
                        } else if c.sha256 != rec.sha256 {
                            bad += 1;
                            r.lines.push(format!("DIFFERS {name}: SHA-256 does not match the manifest"));
                        }
                    }
                }
            }
            bad += check_links(day, m, r);
            for (p, _) in &files {
                if *p != MANIFEST_NAME.as_bytes() && m.file(p).is_none() {
                    r.lines.push(format!(
                        "{}/{}: not in the manifest (readability only)",
                        day.disc_path,
                        String::from_utf8_lossy(p)
                    ));
                }
            }
            if bad == 0 {
                let links = match m.links.len() {
                    0 => String::new(),
                    n => format!(" and {n} symlink(s)"),
                };
                r.lines.push(format!(
                    "{}: {} file(s){links} match the manifest (host {}, cedar {})",
                    day.disc_path,
                    m.files.len(),
                    m.host,
                    m.cedar
                ));
            }
        }
    }
    r.problems += bad;
}
