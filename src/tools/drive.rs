//! `cback drive DEVICE`: show what a (real or emulated) drive and its medium hold.
//!
//! DEVICE is a drive path (/dev/sr0, /dev/sg1) or an emulated device string
//! `emulated:PATH?profile=NAME`. The report names the drive, the current
//! profile, the medium's state, its sessions, the `-msinfo` pair, where the
//! next session goes and the blocks free there (the figures store uses), then the newest volume's label and what it holds (the day
//! directories `YYYY/MM/DD`). A device that cannot be used gives one line naming it and the
//! problem, and exit status 6; bad arguments give exit status 2.

use std::ffi::OsString;
use std::fmt::Write as _;

use mmc::{Drive, MediaState, MediumInfo};

use crate::engine::util::error_line;

/// Exit status for bad arguments.
const EXIT_USAGE: i32 = 2;
/// Exit status when the device fails.
const EXIT_DEVICE: i32 = 6;

const USAGE: &str = "usage: cback drive [info] DEVICE\n\
\n\
Shows the drive's identity and what its medium holds.\n\
DEVICE is a drive (/dev/sr0, /dev/sg0) or emulated:PATH?profile=NAME with NAME one of\n\
cdr-74, cdrw-74, cdr-80, cdrw-80, dvd+r, dvd+rw, dvd-r, dvd-rw, bd-r, bd-re.";

/// Runs `cback drive ARGS...`; returns the process exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let mut words = Vec::new();
    for a in &args {
        match a.to_str() {
            Some("-h" | "--help") => {
                println!("{USAGE}");
                return 0;
            }
            Some(s) if s.starts_with('-') && s.len() > 1 => {
                eprintln!("cback drive: unknown option {s}\n{USAGE}");
                return EXIT_USAGE;
            }
            Some(s) => words.push(s),
            None => {
                eprintln!("cback drive: argument {a:?} is not valid UTF-8");
                return EXIT_USAGE;
            }
        }
    }
    let device = match words.as_slice() {
        [] | ["info"] => {
            eprintln!("cback drive: no DEVICE given\n{USAGE}");
            return EXIT_USAGE;
        }
        [device] | ["info", device] => *device,
        _ => {
            eprintln!(
                "cback drive: expected one DEVICE, got {}\n{USAGE}",
                words.join(" ")
            );
            return EXIT_USAGE;
        }
    };
    match info(device) {
        Ok(report) => {
            print!("{report}");
            0
        }
        Err(e) => {
            eprintln!("cback drive: {}", error_line(&e));
            EXIT_DEVICE
        }
    }
}

/// Opens `device` and describes drive and medium as `cback drive` prints them.
pub fn info(device: &str) -> mmc::Result<String> {
    let mut drive = Drive::open(device)?;
    let id = drive.identify()?;
    let mut out = String::new();
    line(&mut out, "Device", device);
    line(
        &mut out,
        "Drive",
        &format!("{} {} (revision {})", id.vendor, id.product, id.revision),
    );
    if !drive.medium_present()? {
        line(&mut out, "Medium", "none (tray empty or open)");
        return Ok(out);
    }
    let m = drive.medium_info()?;
    line(
        &mut out,
        "Profile",
        &format!("{} ({:04X}h)", m.profile_name(), m.profile_number),
    );
    line(&mut out, "Medium", &medium_words(&m));
    line(&mut out, "Sessions", &m.sessions.to_string());
    let opt = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
    line(&mut out, "Last session start", &opt(m.last_session_start));
    line(&mut out, "Next writable", &opt(m.next_writable));
    let msinfo = match (m.msinfo(), m.state) {
        (Some((a, b)), _) => format!("{a},{b}"),
        (None, MediaState::Blank) => "none (blank disc: write a first session)".into(),
        (None, MediaState::Overwritable) => {
            "none (overwritable: the next session starts at the ISO volume end)".into()
        }
        (None, _) => "none (no further session can be written)".into(),
    };
    line(&mut out, "msinfo", &msinfo);
    // Where store would put the next session and the room it would have
    // there (on overwritable media after the ISO volume, not the drive's
    // figure for the whole medium); the drive's own figures when the
    // medium is not one store writes.
    let place = crate::engine::disc::placement(&mut drive).ok();
    match &place {
        Some(p) if p.free_blocks > 0 => {
            let after = match &p.volume {
                Some(v) if p.overwritable => format!(" (after the ISO volume ending at {})", v.end),
                _ => String::new(),
            };
            line(
                &mut out,
                "Next session",
                &format!("at block {}{after}", p.start_lba),
            );
            line(&mut out, "Free blocks", &blocks_and_bytes(p.free_blocks));
        }
        Some(_) => {
            line(&mut out, "Next session", "none (no room left on the disc)");
            line(&mut out, "Free blocks", &blocks_and_bytes(0));
        }
        None => line(&mut out, "Free blocks", &blocks_and_bytes(m.free_blocks)),
    }
    line(&mut out, "Capacity", &blocks_and_bytes(m.capacity));
    // The newest volume, as a reader sees it: its label and what it holds.
    if let Some(volume) = place.and_then(|p| p.volume) {
        line(
            &mut out,
            "Volume",
            &format!(
                "\"{}\" (session at block {}, volume end {})",
                volume.label, volume.session_start, volume.end
            ),
        );
        match top_entries(&mut drive, volume.session_start) {
            Ok(found) if found.is_empty() => line(&mut out, "Holds", "nothing"),
            Ok(found) => line(&mut out, "Holds", &found.join(" ")),
            Err(e) => line(
                &mut out,
                "Holds",
                &format!("unreadable: {}", error_line(&e)),
            ),
        }
    }
    Ok(out)
}

/// What the volume at `session_start` holds at the top: Cedar's day
/// directories as `YYYY/MM/DD` (three levels of directories), anything else
/// by its name.
fn top_entries(drive: &mut Drive, session_start: u32) -> iso9660::Result<Vec<String>> {
    let source = crate::engine::disc::DiscSource::new(drive);
    let mut reader = iso9660::Reader::from_source(source, session_start, Default::default())?;
    let name = |e: &iso9660::Entry| String::from_utf8_lossy(&e.name).into_owned();
    let is_dir = |e: &iso9660::Entry| e.kind == iso9660::EntryKind::Directory;
    let numeric = |e: &iso9660::Entry| is_dir(e) && e.name.iter().all(u8::is_ascii_digit);
    let mut found = Vec::new();
    let root = reader.root();
    for year in reader.read_dir(&root)? {
        if !numeric(&year) {
            found.push(name(&year));
            continue;
        }
        for month in reader.read_dir(&year)?.into_iter().filter(numeric) {
            for day in reader.read_dir(&month)?.into_iter().filter(numeric) {
                found.push(format!("{}/{}/{}", name(&year), name(&month), name(&day)));
            }
        }
    }
    Ok(found)
}

fn line(out: &mut String, label: &str, value: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{:<19} {value}", format!("{label}:"));
}

fn medium_words(m: &MediumInfo) -> String {
    let kind = if m.erasable {
        "rewritable"
    } else {
        "write-once"
    };
    format!("{}, {kind}", m.state)
}

fn blocks_and_bytes(blocks: u32) -> String {
    let bytes = u64::from(blocks) * mmc::BLOCK_SIZE as u64;
    format!(
        "{blocks} blocks ({:.1} MiB)",
        bytes as f64 / (1024.0 * 1024.0)
    )
}
