//! Logging in Cedar Backup's format.
//!
//! Flow messages go to the log file as
//! `2026-11-22T03:00:01 UTC --> [INFO   ] message` (INFO and up, DEBUG with
//! `-d`), and to the screen as the bare message: errors only by default
//! (on stderr), INFO and up with `-b` (DEBUG with `-b -d`), nothing with `-q`.
//! Output of executed commands ([`crate::exec::OUTPUT_TARGET`]) goes to the
//! file only, bare, and only with `-O`/`-d`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::cli::{Options, DEFAULT_LOGFILE, DEFAULT_MODE, DEFAULT_OWNER};
use crate::exec::OUTPUT_TARGET;

/// What the screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// `-q`: nothing.
    Quiet,
    /// Default: errors only.
    Errors,
    /// `-b`: INFO and up.
    Verbose,
    /// `-b -d`: everything.
    Debug,
}

impl Screen {
    /// The screen level the switches ask for.
    pub fn from_options(options: &Options) -> Screen {
        match (options.quiet, options.verbose, options.debug) {
            (true, _, _) => Screen::Quiet,
            (false, true, true) => Screen::Debug,
            (false, true, false) => Screen::Verbose,
            _ => Screen::Errors,
        }
    }

    fn shows(self, level: Level) -> bool {
        match self {
            Screen::Quiet => false,
            Screen::Errors => level <= Level::Error,
            Screen::Verbose => level <= Level::Info,
            Screen::Debug => true,
        }
    }
}

/// The process-wide logger behind the `log` macros.
pub struct CedarLogger {
    file: Mutex<File>,
    file_debug: bool,
    output: bool,
    screen: Screen,
}

/// Python's `levelname`, padded like Cedar's `%(levelname)-7s`.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR  ",
        Level::Warn => "WARNING",
        Level::Info => "INFO   ",
        Level::Debug | Level::Trace => "DEBUG  ",
    }
}

/// Local time as Cedar prints it (`%Y-%m-%dT%H:%M:%S %Z`, with the zone's
/// abbreviation such as UTC or CET, which chrono cannot give).
pub fn timestamp() -> String {
    // SAFETY: time(NULL) and localtime_r with valid out-pointers are sound;
    // tm_zone points at static storage owned by libc's tz data.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return "????-??-??T??:??:?? ???".to_string();
        }
        let zone = if tm.tm_zone.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(tm.tm_zone)
                .to_string_lossy()
                .into_owned()
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02} {}",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
            zone
        )
    }
}

impl Log for CedarLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Dependencies (and mmc's per-CDB traces) log under their own
        // targets; only cedar's own messages belong in Cedar's log, plus the
        // mmc crate when debugging a drive.
        let ours = metadata.target().starts_with("cedar") || metadata.target().starts_with("mmc");
        ours && (metadata.level() <= Level::Info || self.file_debug || self.screen == Screen::Debug)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut file = match self.file.lock() {
            Ok(f) => f,
            Err(poisoned) => poisoned.into_inner(),
        };
        if record.target() == OUTPUT_TARGET {
            if self.output {
                let _ = writeln!(file, "{}", record.args());
            }
            return;
        }
        if record.level() <= Level::Info || self.file_debug {
            let _ = writeln!(
                file,
                "{} --> [{}] {}",
                timestamp(),
                level_name(record.level()),
                record.args()
            );
        }
        drop(file);
        if self.screen.shows(record.level()) {
            if record.level() <= Level::Warn {
                eprintln!("{}", record.args());
            } else {
                println!("{}", record.args());
            }
        }
    }

    fn flush(&self) {
        if let Ok(mut f) = self.file.lock() {
            let _ = f.flush();
        }
    }
}

/// Why logging could not be set up (Cedar exits 3).
#[derive(Debug, thiserror::Error)]
#[error("Error setting up logging: {0}")]
pub struct LoggingError(String);

/// Where the log goes and whether we fell back from the default.
#[derive(Debug)]
pub struct LogSetup {
    /// The file actually used.
    pub path: PathBuf,
    /// A warning to print when the default log was not writable.
    pub fallback_warning: Option<String>,
}

/// A user-writable log path for non-root runs that cannot write
/// /var/log/cback3.log: `$XDG_STATE_HOME/cedar/cback3.log`, else
/// `~/.local/state/cedar/cback3.log`, else the temp dir.
pub fn fallback_logfile() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("cedar").join("cback3.log")
}

/// Opens (creating with Cedar's mode and owner when new) the log file the
/// options ask for, installs the logger, and returns where it logs.
pub fn init(options: &Options) -> Result<LogSetup, LoggingError> {
    let (path, fallback_warning, file) = match &options.logfile {
        Some(path) => (path.clone(), None, open_logfile(path, options)?),
        None => {
            let default = Path::new(DEFAULT_LOGFILE);
            match open_logfile(default, options) {
                Ok(file) => (default.to_path_buf(), None, file),
                Err(e) if !crate::accounts::is_root() => {
                    let fallback = fallback_logfile();
                    if let Some(parent) = fallback.parent() {
                        std::fs::create_dir_all(parent)
                            .map_err(|err| LoggingError(format!("{}: {err}", parent.display())))?;
                    }
                    let file = open_logfile(&fallback, options)?;
                    let warning = format!(
                        "warning: {}; not running as root, logging to {} instead (use -l to choose)",
                        e.0,
                        fallback.display()
                    );
                    (fallback, Some(warning), file)
                }
                Err(e) => return Err(e),
            }
        }
    };
    let logger = CedarLogger {
        file: Mutex::new(file),
        file_debug: options.debug,
        output: options.output,
        screen: Screen::from_options(options),
    };
    log::set_boxed_logger(Box::new(logger)).map_err(|e| LoggingError(e.to_string()))?;
    log::set_max_level(LevelFilter::Debug);
    Ok(LogSetup {
        path,
        fallback_warning,
    })
}

fn open_logfile(path: &Path, options: &Options) -> Result<File, LoggingError> {
    let fail =
        |e: std::io::Error| LoggingError(format!("cannot open log file {}: {e}", path.display()));
    if path.exists() {
        return OpenOptions::new().append(true).open(path).map_err(fail);
    }
    let mode = options.mode.unwrap_or(DEFAULT_MODE);
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .open(path)
        .map_err(fail)?;
    // The umask must not weaken or widen what -m asked for, as in Cedar.
    let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
    let (user, group) = match &options.owner {
        Some((u, g)) => (u.as_str(), g.as_str()),
        None => DEFAULT_OWNER,
    };
    // Like Cedar, ownership is best effort: a non-root user cannot chown.
    if let Ok((uid, gid)) = crate::accounts::uid_gid(user, group) {
        let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names_are_padded_like_python() {
        assert_eq!(level_name(Level::Info), "INFO   ");
        assert_eq!(level_name(Level::Warn), "WARNING");
        assert_eq!(level_name(Level::Error).len(), 7);
    }

    #[test]
    fn timestamp_has_cedar_shape() {
        let ts = timestamp();
        let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \S+$").expect("regex");
        assert!(re.is_match(&ts), "{ts}");
    }

    #[test]
    fn screen_levels() {
        let mut o = Options::default();
        assert_eq!(Screen::from_options(&o), Screen::Errors);
        o.verbose = true;
        assert_eq!(Screen::from_options(&o), Screen::Verbose);
        o.debug = true;
        assert_eq!(Screen::from_options(&o), Screen::Debug);
        o.quiet = true;
        assert_eq!(Screen::from_options(&o), Screen::Quiet);
        assert!(!Screen::Errors.shows(Level::Warn));
        assert!(Screen::Verbose.shows(Level::Info));
    }

    #[test]
    fn new_logfile_gets_requested_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.log");
        let options = Options {
            mode: Some(0o600),
            ..Options::default()
        };
        open_logfile(&path, &options).expect("open");
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
    }
}
