//! What `cback verify` and `cback restore` share: the options naming the
//! disc (`DEVICE|IMAGE`, else the configuration's `target_device`) and
//! opening it.

use std::path::Path;

use crate::engine::discread::{self, Contents, Medium};
use crate::engine::util::error_line;

/// Exit status for bad arguments.
pub const EXIT_USAGE: i32 = 2;
/// Exit status when the disc cannot be read at all.
pub const EXIT_DEVICE: i32 = 6;
/// Exit status when something is damaged or missing.
pub const EXIT_DAMAGED: i32 = 1;

/// The disc to read: `device` when given, else `<store><target_device>`
/// of the configuration at `config` (default: the config file `cback` itself reads by default).
pub fn device(device: Option<&str>, config: Option<&str>) -> Result<String, String> {
    if let Some(d) = device {
        return Ok(d.to_string());
    }
    let path = config.unwrap_or(crate::cli::DEFAULT_CONFIG);
    let settings = crate::app::load_config(Path::new(path)).map_err(|e| e.join("; "))?;
    settings
        .store
        .map(|s| s.target_device)
        .ok_or_else(|| format!("{path}: no <store> section to take target_device from"))
}

/// Opens the disc and reads every session's tree (or the one at `session`).
pub fn open(device: &str, session: Option<u32>) -> Result<(Medium, Contents), String> {
    let mut m = Medium::open(device).map_err(|e| error_line(&e))?;
    let c = discread::contents(&mut m, device, session).map_err(|e| error_line(&e))?;
    Ok((m, c))
}

/// The value of an option given as `-x V`, `--xx V` or `--xx=V`: the
/// word after it is taken from `it`.
pub fn value<'a>(
    arg: &'a str,
    names: &[&str],
    it: &mut impl Iterator<Item = &'a str>,
) -> Option<Result<&'a str, String>> {
    for n in names {
        if arg == *n {
            return Some(it.next().ok_or_else(|| format!("option {n} needs a value")));
        }
        if let Some(v) = arg
            .strip_prefix(&format!("{n}="))
            .filter(|_| n.starts_with("--"))
        {
            return Some(Ok(v));
        }
    }
    None
}
