//! Parsing `emulated:PATH?key=value&...` device strings.

use std::path::PathBuf;

use super::fault::Fault;
use crate::error::{Error, Result};
use crate::profile::MediaType;

/// Prefix that marks an emulated device string.
pub const PREFIX: &str = "emulated:";

/// Everything an emulated device string (or a Rust caller) can configure.
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
    /// Simulated decay of the recorded surface.
    pub decay: Decay,
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
            "flip" => o.decay.flips.push(Decay::parse_flip(v).ok_or_else(|| {
                err(format!("flip={v:?} is not LBA:OFFSET (offset below 2048)"))
            })?),
            _ => {
                return Err(err(format!(
                "unknown option {k:?} (known: profile, capacity, fault, wp, removed, full, busy, unreadable, flip)"
            )))
            }
        }
    }
    Ok((PathBuf::from(path), o))
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
    fn rejects_bad_strings_with_the_reason() {
        for (s, why) in [
            ("/dev/sr0", "does not start"),
            ("emulated:", "no image path"),
            ("emulated:x?profile=floppy", "unknown profile"),
            ("emulated:x?colour=red", "unknown option"),
            ("emulated:x?capacity=lots", "not a number"),
            ("emulated:x?wp=maybe", "expected 1 or 0"),
            ("emulated:x?unreadable=9-3", "FIRST-LAST"),
            ("emulated:x?flip=3:2048", "LBA:OFFSET"),
        ] {
            let e = parse(s).unwrap_err().to_string();
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
