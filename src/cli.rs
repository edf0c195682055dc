//! Command-line switches of `cback`, exactly as Cedar Backup's `cli.py`
//! accepts them: switches first, and the first non-option word starts the
//! action list (everything after it is an action, even if it looks like a
//! switch, because Cedar uses non-GNU getopt).
//!
//! Raw flags ([`RawArgs`], clap) and the checked invocation ([`Options`]) are
//! separate types: clap only parses, [`Options::from_raw`] applies Cedar's
//! rules.

use std::path::{Path, PathBuf};

use clap::Parser;

/// Default config file of Cedar Backup 3.
pub const DEFAULT_CONFIG: &str = "/etc/cback3.conf";
/// Default config file of Cedar Backup 2, used only when the CB3 one is absent.
pub const LEGACY_CONFIG: &str = "/etc/cback.conf";
/// Default log file.
pub const DEFAULT_LOGFILE: &str = "/var/log/cback3.log";
/// Default owner of a newly created log file.
pub const DEFAULT_OWNER: (&str, &str) = ("root", "adm");
/// Default mode of a newly created log file.
pub const DEFAULT_MODE: u32 = 0o640;

/// The switches as clap parses them, before Cedar's rules are applied.
#[derive(Debug, Parser)]
#[command(
    name = "cback",
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true
)]
pub struct RawArgs {
    /// Display this usage/help listing
    #[arg(short = 'h', long = "help")]
    pub help: bool,
    /// Display version information
    #[arg(short = 'V', long = "version")]
    pub version: bool,
    /// Print verbose output as well as logging to disk
    #[arg(short = 'b', long = "verbose")]
    pub verbose: bool,
    /// Run quietly (display no output to the screen)
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Path to config file
    #[arg(short = 'c', long = "config", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Perform a full backup, regardless of configuration
    #[arg(short = 'f', long = "full")]
    pub full: bool,
    /// Include managed clients when executing actions
    #[arg(short = 'M', long = "managed")]
    pub managed: bool,
    /// Include ONLY managed clients when executing actions
    #[arg(short = 'N', long = "managed-only")]
    pub managed_only: bool,
    /// Path to logfile
    #[arg(short = 'l', long = "logfile", value_name = "PATH")]
    pub logfile: Option<PathBuf>,
    /// Logfile ownership, user:group
    #[arg(short = 'o', long = "owner", value_name = "USER:GROUP")]
    pub owner: Option<String>,
    /// Octal logfile permissions mode
    #[arg(short = 'm', long = "mode", value_name = "OCTAL")]
    pub mode: Option<String>,
    /// Record some sub-command output to the log
    #[arg(short = 'O', long = "output")]
    pub output: bool,
    /// Write debugging information to the log (implies --output)
    #[arg(short = 'd', long = "debug")]
    pub debug: bool,
    /// Show full error detail instead of one line
    #[arg(short = 's', long = "stack")]
    pub stack: bool,
    /// Print runtime diagnostics to the screen and exit
    #[arg(short = 'D', long = "diagnostics")]
    pub diagnostics: bool,
    /// Actions to take
    #[arg(
        value_name = "ACTION",
        trailing_var_arg = true,
        allow_hyphen_values = false,
        num_args = 0..
    )]
    pub actions: Vec<String>,
}

/// A checked command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// `-h`
    pub help: bool,
    /// `-V`
    pub version: bool,
    /// `-b`
    pub verbose: bool,
    /// `-q`
    pub quiet: bool,
    /// `-c`, when given.
    pub config: Option<PathBuf>,
    /// `-f`
    pub full: bool,
    /// `-M`
    pub managed: bool,
    /// `-N`
    pub managed_only: bool,
    /// `-l`, when given.
    pub logfile: Option<PathBuf>,
    /// `-o`, split into (user, group).
    pub owner: Option<(String, String)>,
    /// `-m`, parsed as octal.
    pub mode: Option<u32>,
    /// `-O` (also implied by `-d`).
    pub output: bool,
    /// `-d`
    pub debug: bool,
    /// `-s`
    pub stack: bool,
    /// `-D`
    pub diagnostics: bool,
    /// The actions, in command-line order.
    pub actions: Vec<String>,
}

impl Options {
    /// Parses `args` (without the program name) with Cedar's rules. The error
    /// is the one-line reason Cedar would print after its usage text.
    pub fn parse<I, T>(args: I) -> Result<Options, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let argv = std::iter::once(std::ffi::OsString::from("cback"))
            .chain(args.into_iter().map(Into::into));
        let raw = RawArgs::try_parse_from(argv).map_err(|e| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            first.trim_start_matches("error: ").to_string()
        })?;
        Options::from_raw(raw)
    }

    /// Applies Cedar's checks to clap's result.
    pub fn from_raw(raw: RawArgs) -> Result<Options, String> {
        let owner = match raw.owner {
            None => None,
            Some(text) => {
                let (user, group) = text
                    .split_once(':')
                    .ok_or("Must specify user and group tuple for owner parameter.")?;
                if user.is_empty() || group.is_empty() {
                    return Err("User and group tuple values must be non-empty strings.".into());
                }
                Some((user.to_string(), group.to_string()))
            }
        };
        let mode = match raw.mode {
            None => None,
            Some(text) => Some(
                u32::from_str_radix(text.trim(), 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| {
                        format!("Mode must be an octal integer >= 0, i.e. 644 (got {text:?}).")
                    })?,
            ),
        };
        let options = Options {
            help: raw.help,
            version: raw.version,
            verbose: raw.verbose,
            quiet: raw.quiet,
            config: raw.config,
            full: raw.full,
            managed: raw.managed,
            managed_only: raw.managed_only,
            logfile: raw.logfile,
            owner,
            mode,
            output: raw.output || raw.debug,
            debug: raw.debug,
            stack: raw.stack,
            diagnostics: raw.diagnostics,
            actions: raw.actions,
        };
        if !options.help && !options.version && !options.diagnostics && options.actions.is_empty() {
            return Err("At least one action must be specified.".into());
        }
        if options.managed && options.managed_only {
            return Err("The --managed and --managed-only options may not be combined.".into());
        }
        Ok(options)
    }

    /// The config file to read: `-c`, else /etc/cback3.conf, else
    /// /etc/cback.conf when only that one exists (a Cedar Backup 2 install).
    pub fn config_path(&self) -> PathBuf {
        resolve_config_path(
            self.config.as_deref(),
            Path::new(DEFAULT_CONFIG),
            Path::new(LEGACY_CONFIG),
        )
    }
}

/// Chooses the config file given the `-c` value and the two default paths.
pub fn resolve_config_path(given: Option<&Path>, current: &Path, legacy: &Path) -> PathBuf {
    match given {
        Some(path) => path.to_path_buf(),
        None if !current.exists() && legacy.exists() => legacy.to_path_buf(),
        None => current.to_path_buf(),
    }
}

/// Usage text, laid out like Cedar's.
pub fn usage() -> String {
    format!(
        "
 Usage: cback [switches] action(s)

 The following switches are accepted:

   -h, --help         Display this usage/help listing
   -V, --version      Display version information
   -b, --verbose      Print verbose output as well as logging to disk
   -q, --quiet        Run quietly (display no output to the screen)
   -c, --config       Path to config file (default: {DEFAULT_CONFIG})
   -f, --full         Perform a full backup, regardless of configuration
   -M, --managed      Include managed clients when executing actions
   -N, --managed-only Include ONLY managed clients when executing actions
   -l, --logfile      Path to logfile (default: {DEFAULT_LOGFILE})
   -o, --owner        Logfile ownership, user:group (default: {}:{})
   -m, --mode         Octal logfile permissions mode (default: {:o})
   -O, --output       Record some sub-command output to the log
   -d, --debug        Write debugging information to the log (implies --output)
   -s, --stack        Show full error detail instead of one line
   -D, --diagnostics  Print runtime diagnostics to the screen and exit

 The following actions may be specified:

   all                Take all normal actions (collect, stage, store, purge)
   collect            Take the collect action
   stage              Take the stage action
   store              Take the store action
   purge              Take the purge action
   rebuild            Rebuild \"this week's\" disc if possible
   validate           Validate configuration only
   initialize         Initialize media for use with Cedar Backup

 You may also specify extended actions that have been defined in
 configuration.

 You must specify at least one action to take.  More than one of
 the \"collect\", \"stage\", \"store\" or \"purge\" actions and/or
 extended actions may be specified in any arbitrary order; they
 will be executed in a sensible order.  The \"all\", \"rebuild\",
 \"validate\", and \"initialize\" actions may not be combined with
 other actions.

 Tools (not Cedar actions): cback mkisofs [options] paths...,
 cback drive DEVICE.
",
        DEFAULT_OWNER.0, DEFAULT_OWNER.1, DEFAULT_MODE
    )
}

/// Version text, laid out like Cedar's.
pub fn version() -> String {
    format!(
        "
 cedar {} (Cedar Backup 3 compatible).

 A pure-Rust replacement for Cedar Backup; no cdrtools needed.
 This is free software; there is NO warranty.  See the
 GNU General Public License version 2 for copying conditions.

 Use the --help option for usage information.
",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(args.iter().copied())
    }

    #[test]
    fn switches_then_actions() {
        let o = parse(&["-b", "-f", "--config", "/x.conf", "collect", "stage"]).expect("valid");
        assert!(o.verbose && o.full);
        assert_eq!(o.config.as_deref(), Some(Path::new("/x.conf")));
        assert_eq!(o.actions, ["collect", "stage"]);
    }

    #[test]
    fn words_after_the_first_action_are_actions_like_getopt() {
        let o = parse(&["collect", "-f"]).expect("parses");
        assert!(!o.full);
        assert_eq!(o.actions, ["collect", "-f"]);
    }

    #[test]
    fn debug_implies_output_and_last_value_wins() {
        let o = parse(&["-d", "-l", "/a", "-l", "/b", "purge"]).expect("valid");
        assert!(o.output && o.debug);
        assert_eq!(o.logfile.as_deref(), Some(Path::new("/b")));
    }

    #[test]
    fn owner_and_mode_are_checked() {
        let o = parse(&["-o", "backup:adm", "-m", "600", "purge"]).expect("valid");
        assert_eq!(o.owner, Some(("backup".into(), "adm".into())));
        assert_eq!(o.mode, Some(0o600));
        assert!(parse(&["-o", "backup", "purge"]).is_err());
        assert!(parse(&["-o", ":adm", "purge"]).is_err());
        assert!(parse(&["-m", "9x", "purge"]).is_err());
    }

    #[test]
    fn cedar_combination_rules() {
        assert!(parse(&[]).unwrap_err().contains("At least one action"));
        assert!(parse(&["-h"]).expect("help alone").help);
        assert!(parse(&["-D"]).expect("diagnostics alone").diagnostics);
        assert!(parse(&["-M", "-N", "collect"])
            .unwrap_err()
            .contains("may not be combined"));
        assert!(parse(&["--bogus", "collect"]).is_err());
        assert!(parse(&["-c"]).is_err());
    }

    #[test]
    fn legacy_config_used_only_when_current_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let current = dir.path().join("cback3.conf");
        let legacy = dir.path().join("cback.conf");
        assert_eq!(resolve_config_path(None, &current, &legacy), current);
        std::fs::write(&legacy, "").expect("write");
        assert_eq!(resolve_config_path(None, &current, &legacy), legacy);
        std::fs::write(&current, "").expect("write");
        assert_eq!(resolve_config_path(None, &current, &legacy), current);
        assert_eq!(
            resolve_config_path(Some(Path::new("/x")), &current, &legacy),
            Path::new("/x")
        );
    }
}
