//! Small helpers shared by the actions: Cedar's normalized names, the
//! starting-day rule, day directories, indicator files and ownership.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Datelike;

use crate::config::Weekday;

/// Name of the indicator collect writes into its collect directory.
pub const COLLECT_INDICATOR: &str = "cback.collect";
/// Name of the indicator stage writes into peers' collect dirs and the day dir.
pub const STAGE_INDICATOR: &str = "cback.stage";
/// Extension of incremental digest files in the working directory.
pub const DIGEST_EXTENSION: &str = "sha";

/// Cedar 3's `buildNormalizedPath`: a path turned into a file name. A lone
/// `/` becomes `_`; a leading `X:/` drive becomes `X-`; then one leading `/`
/// goes, a leading `.` becomes `_`, remaining `/` and `\` become `-`, and
/// whitespace and `:` become `_`.
pub fn normalized_path(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    if path == "/" || path == "\\" {
        return "_".to_string();
    }
    let mut s = path.to_string();
    let b = s.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'/' || b[2] == b'\\')
    {
        s = format!("{}-{}", &s[..1], &s[3..]);
    }
    let s = s
        .strip_prefix('/')
        .or_else(|| s.strip_prefix('\\'))
        .unwrap_or(&s);
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        out.push(match c {
            '.' if i == 0 => '_',
            '/' | '\\' => '-',
            ':' => '_',
            c if crate::py::num::py_space(c) => '_',
            c => c,
        });
    }
    out
}

/// Whether `now` falls on the configured starting day.
pub fn is_start_of_week(starting_day: Weekday, now: &chrono::DateTime<chrono::Local>) -> bool {
    let want = match starting_day {
        Weekday::Monday => chrono::Weekday::Mon,
        Weekday::Tuesday => chrono::Weekday::Tue,
        Weekday::Wednesday => chrono::Weekday::Wed,
        Weekday::Thursday => chrono::Weekday::Thu,
        Weekday::Friday => chrono::Weekday::Fri,
        Weekday::Saturday => chrono::Weekday::Sat,
        Weekday::Sunday => chrono::Weekday::Sun,
    };
    now.weekday() == want
}

/// `<base>/YYYY/MM/DD` for the day of `now`.
pub fn day_dir(base: &Path, now: &chrono::DateTime<chrono::Local>) -> PathBuf {
    base.join(now.format("%Y/%m/%d").to_string())
}

/// The ids outputs should be given: `Some` only when running as root, like
/// Cedar's `changeOwnership`; a user or group that does not exist is logged.
pub fn backup_ownership(user: &str, group: &str) -> Option<(u32, u32)> {
    if !crate::accounts::is_root() {
        return None;
    }
    match crate::accounts::uid_gid(user, group) {
        Ok(ids) => Some(ids),
        Err(e) => {
            log::error!("Cannot give outputs to {user}:{group}: {e:#}");
            None
        }
    }
}

/// Gives `path` to `ownership` (if any); a failure is logged, as in Cedar.
pub fn change_ownership(path: &Path, ownership: Option<(u32, u32)>) {
    if let Some((uid, gid)) = ownership {
        if let Err(e) = std::os::unix::fs::lchown(path, Some(uid), Some(gid)) {
            log::error!("Error changing ownership of [{}]: {e}", path.display());
        }
    }
}

/// Writes an empty indicator file `dir/name`, owned by the backup user.
pub fn write_indicator(
    dir: &Path,
    name: &str,
    ownership: Option<(u32, u32)>,
) -> anyhow::Result<()> {
    let path = dir.join(name);
    log::debug!("Writing indicator file [{}].", path.display());
    super::atomic::write(&path, b"")
        .with_context(|| format!("writing indicator {}", path.display()))?;
    change_ownership(&path, ownership);
    Ok(())
}

/// Human-readable size like Cedar's `displayBytes`.
pub fn display_bytes(bytes: u64) -> String {
    display_size(bytes as f64)
}

/// [`display_bytes`] of a size that may be fractional (Cedar computes
/// capacities in floating point): under 1 kB rounded to whole bytes.
pub fn display_size(b: f64) -> String {
    const KB: f64 = 1024.0;
    if b.abs() < KB {
        format!("{b:.0} bytes")
    } else if b.abs() < KB * KB {
        format!("{:.2} kB", b / KB)
    } else if b.abs() < KB * KB * KB {
        format!("{:.2} MB", b / KB / KB)
    } else {
        format!("{:.2} GB", b / KB / KB / KB)
    }
}

/// An error and its causes on one line, `top: cause: cause`, as anyhow's
/// `{:#}` prints them: the form of every error the user sees. Error types
/// keep their cause out of their own message and expose it as `source()`.
pub fn error_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        line.push_str(": ");
        line.push_str(&c.to_string());
        cause = c.source();
    }
    line
}

/// Locates `program` on `PATH` unless it already names a path.
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_cedar3() {
        assert_eq!(normalized_path("/"), "_");
        assert_eq!(normalized_path("/var/log"), "var-log");
        assert_eq!(normalized_path("/var/log/"), "var-log-");
        assert_eq!(normalized_path("/a b/c\td"), "a_b-c_d");
        assert_eq!(normalized_path(".hidden/x"), "_hidden-x");
        assert_eq!(normalized_path("/.hidden/x"), "_hidden-x");
        assert_eq!(normalized_path("/a:b/c"), "a_b-c");
        assert_eq!(normalized_path("c:/data"), "c-data");
        assert_eq!(normalized_path("//srv"), "-srv");
        assert_eq!(normalized_path("/a\u{1f}b\u{a0}c"), "a_b_c");
    }

    #[test]
    fn starting_day() {
        use chrono::TimeZone;
        let monday = chrono::Local
            .with_ymd_and_hms(2026, 11, 23, 3, 0, 0)
            .unwrap();
        assert!(is_start_of_week(Weekday::Monday, &monday));
        assert!(!is_start_of_week(Weekday::Sunday, &monday));
        assert_eq!(
            day_dir(Path::new("/st"), &monday),
            Path::new("/st/2026/11/23")
        );
    }
}
