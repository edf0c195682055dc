//! Parsing `emulated:PATH?key=value&...` device strings.

use std::path::PathBuf;
use std::time::Duration;

use super::fault::Fault;
use super::Timing;
use crate::error::{Error, Result};
use crate::profile::MediaType;

/// Prefix that marks an emulated device string.
pub const PREFIX: &str = "emulated:";

/// Everything an emulated device string (or a Rust caller) can configure:
///
/// | key | value | effect |
/// |---|---|---|
/// | `profile` (`media`) | a media name (`cdr-80`, `dvd+r`, `bd-re`, ...) | the disc a new or empty drive gets |
/// | `capacity` | blocks | size of a new disc |
/// | `fault` | `WHAT@N:K/AA/QQ` (WHAT a command name, an opcode, or `block`) | a check condition to inject |
/// | `wp`, `removed`, `full` | 1 or 0 | write-protected, no disc, no free block |
/// | `busy` | polls | TEST UNIT READY polls an Immed operation stays busy |
/// | `timing` | 1 or 0 | the timing model ([`Timing`]) with its defaults |
/// | `first_write` | seconds | how long the first WRITE of a track takes (turns timing on; served through TCMU the handler assumes a 30 s host timeout) |
/// | `long_write` | N | every Nth WRITE answers 2/04/08 and is sent again (0: never; timing on) |
/// | `sync_polls` | polls | how long an Immed SYNC/CLOSE stays 2/04/08 (timing on) |
/// | `page05` | length, `0x36` or `54` | body length of the drive's page 05 |
/// | `bufe` | 1 or 0 | page 2A reports buffer underrun protection (BUFE allowed) |
/// | `nwa150` | 1 or 0 | a blank CD's next writable address reads −150 |
/// | `buffer` | KiB (64 to 65536) | the drive buffer and volatile write cache |
/// | `tray` | 1 or 0 | the loading mechanism is a tray (default); 0: a slot, which ejects but cannot load |
///
/// `wp` is reported as a real drive reports it: on DVD and BD media by the
/// Write Protect feature (0004h) and READ DISC STRUCTURE format C0h before
/// any write, and on every medium by 7/27/00 on the first command that
/// would change the disc.
///
/// The last nine describe the drive, not the disc: they hold for the
/// process that opened the drive, like `fault`, and are not saved with the
/// disc's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmulatorOptions {
    /// Media type of the disc put in a new (or empty) drive.
    pub media: Option<MediaType>,
    /// Capacity in blocks of a new disc, instead of the media type's.
    pub capacity: Option<u32>,
    /// Faults to inject during this session.
    pub faults: Vec<Fault>,
    /// Report the disc as write-protected during this session.
    pub write_protected: bool,
    /// Hide the disc during this session (drive reports no medium).
    pub medium_removed: bool,
    /// Report the disc as full: no block left after the current data.
    pub full: bool,
    /// How many TEST UNIT READY polls an Immed operation stays busy for.
    pub busy_polls: Option<u32>,
    /// The timing model (`timing=1`, or any of `first_write=SECONDS`,
    /// `long_write=N`, `sync_polls=N`); off when None.
    pub timing: Option<Timing>,
    /// Body length of the drive's page 05 (`page05=0x36`; default 32h).
    pub write_page_len: Option<usize>,
    /// Whether page 2A reports buffer underrun protection (`bufe=0` turns
    /// it off, and a page 05 with BUFE set is then refused; default on).
    pub underrun_protection: Option<bool>,
    /// A blank CD reports its next writable address as −150 (`nwa150=1`).
    pub blank_nwa_minus_150: bool,
    /// Size of the drive's buffer, the volatile write cache, in KiB
    /// (`buffer=KIB`; default 2048).
    pub buffer_kib: Option<u32>,
    /// Simulated decay of the recorded surface.
    pub decay: Decay,
    /// The drive loads through a slot, not a tray (`tray=0`): page 2A and
    /// feature 0003h report loading mechanism 000b, an ejected disc stays
    /// out and a load command does not take it back in.
    pub slot: bool,
}

/// A disc's simulated decay: blocks no read gets back (READ answers
/// MEDIUM ERROR 3/11/00, unrecovered read error, as a drive does once its
/// own retries are spent) and bytes that read back flipped (every bit
/// inverted) while the drive reports success, as a marginal disc whose
/// error correction miscorrected would.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decay {
    /// Unreadable blocks, as inclusive ranges `(first, last)`
    /// (`unreadable=FIRST-LAST`, or `unreadable=LBA`; repeatable).
    pub unreadable: Vec<(u32, u32)>,
    /// Flipped bytes as (block, byte offset in the block)
    /// (`flip=LBA:OFFSET`; repeatable).
    pub flips: Vec<(u32, u16)>,
}

impl Decay {
    /// Whether any block of `lba..lba+blocks` is unreadable.
    pub fn unreadable_in(&self, lba: u32, blocks: u32) -> bool {
        let end = u64::from(lba) + u64::from(blocks);
        self.unreadable
            .iter()
            .any(|&(a, b)| u64::from(a) < end && u64::from(b) >= u64::from(lba))
    }

    /// Inverts the flipped bytes that fall in `buf`, read from block `lba`.
    pub fn apply(&self, lba: u32, buf: &mut [u8]) {
        let lo = u64::from(lba) * crate::BLOCK_SIZE as u64;
        for &(block, off) in &self.flips {
            let at = u64::from(block) * crate::BLOCK_SIZE as u64 + u64::from(off);
            if let Some(b) = at.checked_sub(lo).and_then(|i| buf.get_mut(i as usize)) {
                *b = !*b;
            }
        }
    }

    fn parse_range(v: &str) -> Option<(u32, u32)> {
        let (a, b) = v.split_once('-').unwrap_or((v, v));
        let (a, b) = (a.parse().ok()?, b.parse().ok()?);
        (a <= b).then_some((a, b))
    }

    fn parse_flip(v: &str) -> Option<(u32, u16)> {
        let (lba, off) = v.split_once(':')?;
        let off: u16 = off.parse().ok()?;
        (usize::from(off) < crate::BLOCK_SIZE).then_some((lba.parse().ok()?, off))
    }
}

/// Shortest and longest page 05 body a drive reports (MMC: 32h or 36h in
/// practice; the header's page length is one byte).
const PAGE05_LEN: std::ops::RangeInclusive<usize> = 0x0E..=0xFF;
/// Smallest and largest buffer the emulated drive takes, in KiB.
const BUFFER_KIB: std::ops::RangeInclusive<u32> = 64..=(64 * 1024);

/// The option names a device string takes, for the "unknown option" error.
const KNOWN: &str = "profile, capacity, fault, wp, removed, full, busy, timing, first_write, \
long_write, sync_polls, page05, bufe, nwa150, buffer, unreadable, flip";

fn flag(spec: &str, key: &str, v: &str) -> Result<bool> {
    match v {
        "" | "1" | "yes" | "true" => Ok(true),
        "0" | "no" | "false" => Ok(false),
        _ => Err(Error::Spec {
            spec: spec.to_string(),
            reason: format!("{key}={v:?}: expected 1 or 0"),
        }),
    }
}

/// Splits `emulated:PATH?query` into the image path and options.
pub fn parse(spec: &str) -> Result<(PathBuf, EmulatorOptions)> {
    let err = |reason: String| Error::Spec {
        spec: spec.to_string(),
        reason,
    };
    let rest = spec
        .strip_prefix(PREFIX)
        .ok_or_else(|| err(format!("does not start with {PREFIX:?}")))?;
    let (path, query) = match rest.rsplit_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    if path.is_empty() {
        return Err(err("no image path (use emulated:PATH?profile=NAME)".into()));
    }
    let mut o = EmulatorOptions::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let number = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| err(format!("{k}={v:?} is not a number")))
        };
        match k {
            "profile" | "media" => {
                o.media = Some(MediaType::by_name(v).ok_or_else(|| {
                    err(format!(
                        "unknown profile {v:?} (known: {})",
                        MediaType::names()
                    ))
                })?)
            }
            "capacity" => o.capacity = Some(number(v)?),
            "fault" => o.faults.push(Fault::parse(v).map_err(err)?),
            "wp" | "write_protected" => o.write_protected = flag(spec, k, v)?,
            "removed" => o.medium_removed = flag(spec, k, v)?,
            "full" => o.full = flag(spec, k, v)?,
            "busy" => o.busy_polls = Some(number(v)?),
            "unreadable" => o.decay.unreadable.push(
                Decay::parse_range(v)
                    .ok_or_else(|| err(format!("unreadable={v:?} is not FIRST-LAST (blocks)")))?,
            ),
            "flip" => {
                o.decay.flips.push(Decay::parse_flip(v).ok_or_else(|| {
                    err(format!("flip={v:?} is not LBA:OFFSET (offset below 2048)"))
                })?)
            }
            "timing" => o.timing = flag(spec, k, v)?.then(|| o.timing.unwrap_or_default()),
            "first_write" => {
                o.timing.get_or_insert_with(Timing::default).first_write =
                    Duration::from_secs(u64::from(number(v)?))
            }
            "long_write" => {
                o.timing
                    .get_or_insert_with(Timing::default)
                    .long_write_every = number(v)?
            }
            "sync_polls" => o.timing.get_or_insert_with(Timing::default).sync_polls = number(v)?,
            "page05" => {
                let len = parse_len(v)
                    .filter(|l| PAGE05_LEN.contains(l))
                    .ok_or_else(|| {
                        err(format!(
                            "{k}={v:?}: expected a page length from {:#x} to {:#x} (e.g. 0x36)",
                            PAGE05_LEN.start(),
                            PAGE05_LEN.end()
                        ))
                    })?;
                o.write_page_len = Some(len);
            }
            "bufe" => o.underrun_protection = Some(flag(spec, k, v)?),
            "tray" => o.slot = !flag(spec, k, v)?,
            "nwa150" => o.blank_nwa_minus_150 = flag(spec, k, v)?,
            "buffer" => {
                let kib = number(v)?;
                if !BUFFER_KIB.contains(&kib) {
                    return Err(err(format!(
                        "{k}={v}: the buffer takes {} to {} KiB",
                        BUFFER_KIB.start(),
                        BUFFER_KIB.end()
                    )));
                }
                o.buffer_kib = Some(kib);
            }
            _ => return Err(err(format!("unknown option {k:?} (known: {KNOWN})"))),
        }
    }
    Ok((PathBuf::from(path), o))
}

/// A length in decimal or `0x` hexadecimal.
fn parse_len(v: &str) -> Option<usize> {
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => usize::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_path_profile_and_options() {
        let (p, o) =
            parse("emulated:/tmp/a.iso?profile=dvd+r&fault=write@2:3/0c/00&wp=1&busy=0").unwrap();
        assert_eq!(p, PathBuf::from("/tmp/a.iso"));
        assert_eq!(o.media.unwrap().name, "dvd+r");
        assert_eq!(o.faults.len(), 1);
        assert!(o.write_protected && !o.full);
        assert_eq!(o.busy_polls, Some(0));
        let (_, o) = parse("emulated:a?unreadable=5-9&unreadable=20&flip=7:100").unwrap();
        assert_eq!(o.decay.unreadable, vec![(5, 9), (20, 20)]);
        assert!(o.decay.unreadable_in(9, 1) && o.decay.unreadable_in(0, 6));
        assert!(!o.decay.unreadable_in(10, 10) && o.decay.unreadable_in(10, 11));
        let mut buf = vec![0u8; 4096];
        o.decay.apply(6, &mut buf);
        assert_eq!(buf[2048 + 100], 0xFF);
        assert_eq!(buf.iter().filter(|&&b| b != 0).count(), 1);
        let (p, o) = parse("emulated:rel/x.img").unwrap();
        assert_eq!(p, PathBuf::from("rel/x.img"));
        assert_eq!(o, EmulatorOptions::default());
    }

    #[test]
    fn parses_the_drive_settings() {
        let (_, o) = parse("emulated:x?timing=1&page05=0x36&bufe=0&nwa150=1&buffer=4096").unwrap();
        assert_eq!(o.timing, Some(Timing::default()));
        assert_eq!(o.write_page_len, Some(0x36));
        assert_eq!(o.underrun_protection, Some(false));
        assert!(o.blank_nwa_minus_150);
        assert_eq!(o.buffer_kib, Some(4096));
        // Any timing parameter turns the model on; the rest keep their defaults.
        let (_, o) = parse("emulated:x?first_write=5&sync_polls=3").unwrap();
        let t = o.timing.unwrap();
        assert_eq!(t.first_write, Duration::from_secs(5));
        assert_eq!(t.sync_polls, 3);
        assert_eq!(t.long_write_every, Timing::default().long_write_every);
        // timing=0 turns it off again; page05 also takes decimal.
        let (_, o) = parse("emulated:x?long_write=0&timing=0&page05=50").unwrap();
        assert_eq!((o.timing, o.write_page_len), (None, Some(50)));
        let (_, o) = parse("emulated:x?timing=1&long_write=0").unwrap();
        assert_eq!(o.timing.unwrap().long_write_every, 0);
    }

    #[test]
    fn rejects_bad_strings_with_the_reason() {
        for (s, why) in [
            ("/dev/sr0", "does not start"),
            ("emulated:", "no image path"),
            ("emulated:x?profile=floppy", "unknown profile"),
            ("emulated:x?colour=red", "unknown option"),
            ("emulated:x?capacity=lots", "not a number"),
            ("emulated:x?wp=maybe", "expected 1 or 0"),
            ("emulated:x?timing=slow", "expected 1 or 0"),
            ("emulated:x?first_write=soon", "not a number"),
            ("emulated:x?page05=0x3", "expected a page length"),
            ("emulated:x?page05=0x100", "expected a page length"),
            ("emulated:x?page05=long", "expected a page length"),
            ("emulated:x?buffer=1", "the buffer takes"),
            ("emulated:x?nwa150=2", "expected 1 or 0"),
            ("emulated:x?unreadable=9-3", "FIRST-LAST"),
            ("emulated:x?flip=3:2048", "LBA:OFFSET"),
        ] {
            let e = parse(s).unwrap_err().to_string();
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
