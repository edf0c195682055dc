//! Command-line switches of `cback`, exactly as Cedar Backup's `cli.py`
//! accepts them through Python's `getopt.getopt` ([`getopt`]): switches
//! first, and the first non-option word starts the action list (everything
//! after it is an action, even if it looks like a switch); long options may
//! be abbreviated to a unique prefix (`--conf`, `--managed-o`); `--name=value`
//! and `-cVALUE` forms work; for a switch given both ways the long form
//! wins, otherwise the last one does.
//!
//! Parsing ([`getopt`]) and Cedar's checks ([`Options::parse`]) are separate
//! steps, as in Cedar.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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

/// A switch `cback` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// `-h`, `--help`
    Help,
    /// `-V`, `--version`
    Version,
    /// `-b`, `--verbose`
    Verbose,
    /// `-q`, `--quiet`
    Quiet,
    /// `-c`, `--config`
    Config,
    /// `-f`, `--full`
    Full,
    /// `-M`, `--managed`
    Managed,
    /// `-N`, `--managed-only`
    ManagedOnly,
    /// `-l`, `--logfile`
    Logfile,
    /// `-o`, `--owner`
    Owner,
    /// `-m`, `--mode`
    Mode,
    /// `-O`, `--output`
    Output,
    /// `-d`, `--debug`
    Debug,
    /// `-s`, `--stack`
    Stack,
    /// `-D`, `--diagnostics`
    Diagnostics,
    /// `--dry-run` (cedar addition, long form only): store, rebuild and
    /// initialize report what they would do and write nothing.
    DryRun,
}

/// Every switch: short letter (none for cedar's additions, so that no
/// letter Cedar might take is used), long name, whether it takes a value
/// (Cedar's `SHORT_SWITCHES` and `LONG_SWITCHES`, then cedar's own).
const SWITCHES: [(Switch, Option<u8>, &str, bool); 16] = [
    (Switch::Help, Some(b'h'), "help", false),
    (Switch::Version, Some(b'V'), "version", false),
    (Switch::Verbose, Some(b'b'), "verbose", false),
    (Switch::Quiet, Some(b'q'), "quiet", false),
    (Switch::Config, Some(b'c'), "config", true),
    (Switch::Full, Some(b'f'), "full", false),
    (Switch::Managed, Some(b'M'), "managed", false),
    (Switch::ManagedOnly, Some(b'N'), "managed-only", false),
    (Switch::Logfile, Some(b'l'), "logfile", true),
    (Switch::Owner, Some(b'o'), "owner", true),
    (Switch::Mode, Some(b'm'), "mode", true),
    (Switch::Output, Some(b'O'), "output", false),
    (Switch::Debug, Some(b'd'), "debug", false),
    (Switch::Stack, Some(b's'), "stack", false),
    (Switch::Diagnostics, Some(b'D'), "diagnostics", false),
    (Switch::DryRun, None, "dry-run", false),
];

/// One switch as given: which, whether in its long form, and its value
/// (empty for switches without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    /// The switch.
    pub switch: Switch,
    /// Given as `--name`.
    pub long: bool,
    /// Its value.
    pub value: OsString,
}

/// Python's `getopt.getopt(args, SHORT_SWITCHES, LONG_SWITCHES)`: the
/// switches in order and the remaining words. The error is getopt's message.
pub fn getopt(args: &[OsString]) -> Result<(Vec<Given>, Vec<OsString>), String> {
    let mut given = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        if !arg.starts_with(b"-") || arg == b"-" {
            break;
        }
        i += 1;
        if arg == b"--" {
            break;
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            let (name, inline) = match long.iter().position(|&b| b == b'=') {
                Some(eq) => (&long[..eq], Some(&long[eq + 1..])),
                None => (long, None),
            };
            let (switch, full, takes) = long_switch(name)?;
            let value = match (takes, inline) {
                (true, Some(v)) => OsStr::from_bytes(v).to_os_string(),
                (true, None) => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| format!("option --{full} requires argument"))?;
                    i += 1;
                    v.clone()
                }
                (false, Some(_)) => {
                    return Err(format!("option --{full} must not have an argument"))
                }
                (false, None) => OsString::new(),
            };
            given.push(Given {
                switch,
                long: true,
                value,
            });
            continue;
        }
        let mut rest = &arg[1..];
        while let Some((&letter, after)) = rest.split_first() {
            rest = after;
            let Some(&(switch, _, _, takes)) = SWITCHES.iter().find(|s| s.1 == Some(letter)) else {
                return Err(format!(
                    "option -{} not recognized",
                    String::from_utf8_lossy(&[letter])
                ));
            };
            let value = if !takes {
                OsString::new()
            } else if !rest.is_empty() {
                let v = OsStr::from_bytes(rest).to_os_string();
                rest = &[];
                v
            } else {
                let v = args.get(i).ok_or_else(|| {
                    format!(
                        "option -{} requires argument",
                        String::from_utf8_lossy(&[letter])
                    )
                })?;
                i += 1;
                v.clone()
            };
            given.push(Given {
                switch,
                long: false,
                value,
            });
        }
    }
    Ok((given, args[i..].to_vec()))
}

/// getopt's `long_has_args`: an exact name, else a unique prefix.
fn long_switch(name: &[u8]) -> Result<(Switch, &'static str, bool), String> {
    let shown = String::from_utf8_lossy(name);
    if let Some(&(s, _, full, takes)) = SWITCHES.iter().find(|s| s.2.as_bytes() == name) {
        return Ok((s, full, takes));
    }
    let mut matches = SWITCHES.iter().filter(|s| s.2.as_bytes().starts_with(name));
    match (matches.next(), matches.next()) {
        (None, _) => Err(format!("option --{shown} not recognized")),
        (Some(_), Some(_)) => Err(format!("option --{shown} not a unique prefix")),
        (Some(&(s, _, full, takes)), None) => Ok((s, full, takes)),
    }
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
    /// `--dry-run`
    pub dry_run: bool,
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
        let options = Options::parse_switches(args)?;
        if !options.help && !options.version && !options.diagnostics && options.actions.is_empty() {
            return Err("At least one action must be specified.".into());
        }
        if options.managed && options.managed_only {
            return Err("The --managed and --managed-only options may not be combined.".into());
        }
        Ok(options)
    }

    /// The switches and words of `args` as [`Options::parse`] reads them,
    /// without its checks of the action list and of `-M` with `-N`: for
    /// tools that take Cedar's switches but no actions (`cback span`, as
    /// Cedar's `SpanOptions`, whose validation is empty).
    pub fn parse_switches<I, T>(args: I) -> Result<Options, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let (given, actions) = getopt(&args)?;
        // Cedar's switch dictionary: the last of each form, the long one
        // winning over the short one.
        let value = |switch: Switch| {
            let last = |long: bool| {
                given
                    .iter()
                    .rev()
                    .find(|g| g.switch == switch && g.long == long)
            };
            last(true).or_else(|| last(false)).map(|g| g.value.clone())
        };
        let on = |switch: Switch| given.iter().any(|g| g.switch == switch);
        let non_empty = |v: OsString, what: &str| {
            if v.is_empty() {
                Err(format!("The {what} parameter must be a non-empty string."))
            } else {
                Ok(PathBuf::from(v))
            }
        };
        let config = value(Switch::Config)
            .map(|v| non_empty(v, "config"))
            .transpose()?;
        let logfile = value(Switch::Logfile)
            .map(|v| non_empty(v, "logfile"))
            .transpose()?;
        let owner = match value(Switch::Owner) {
            None => None,
            Some(text) => {
                let text = text.to_string_lossy().into_owned();
                let (user, group) = text
                    .split_once(':')
                    .ok_or("Must specify user and group tuple for owner parameter.")?;
                if user.is_empty() || group.is_empty() {
                    return Err("User and group tuple values must be non-empty strings.".into());
                }
                Some((user.to_string(), group.to_string()))
            }
        };
        let mode = match value(Switch::Mode) {
            None => None,
            Some(text) => Some(parse_mode(&text.to_string_lossy())?),
        };
        let options = Options {
            help: on(Switch::Help),
            version: on(Switch::Version),
            verbose: on(Switch::Verbose),
            quiet: on(Switch::Quiet),
            config,
            full: on(Switch::Full),
            managed: on(Switch::Managed),
            managed_only: on(Switch::ManagedOnly),
            logfile,
            owner,
            mode,
            output: on(Switch::Output) || on(Switch::Debug),
            debug: on(Switch::Debug),
            stack: on(Switch::Stack),
            diagnostics: on(Switch::Diagnostics),
            dry_run: on(Switch::DryRun),
            actions: actions
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        };
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

/// Cedar's `int(value, 8)` for `-m`: `600`, `0o600`, ` 7 `, `1_0`; Python's
/// own message when it is not an octal integer. The mode is applied as the
/// kernel applies `chmod`'s (its permission bits).
pub fn parse_mode(text: &str) -> Result<u32, String> {
    let value = crate::py::num::py_int_radix(text, 8)
        .ok_or_else(|| format!("invalid literal for int() with base 8: '{text}'"))?;
    if value < 0 {
        return Err("Mode must be an octal integer >= 0. i.e. 644.".into());
    }
    Ok(u32::try_from(value & 0o7777).unwrap_or(0))
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
       --dry-run      store, rebuild, initialize: report the plan, write nothing

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

 Tools (not Cedar actions): cback mkisofs [options] paths..., cback verify [DEVICE],
 cback restore list|WHAT TARGET, cback drive DEVICE,
 cback amazons3-sync [switches] sourceDir s3BucketUrl, cback span [switches].
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
    fn getopt_prefixes_forms_and_precedence() {
        let o = parse(&["--conf", "/a", "--verb", "--log=/l", "--managed-o", "x"]).expect("valid");
        assert_eq!(o.config.as_deref(), Some(Path::new("/a")));
        assert_eq!(o.logfile.as_deref(), Some(Path::new("/l")));
        assert!(o.verbose && o.managed_only && !o.managed);
        assert_eq!(
            parse(&["--man", "x"]).unwrap_err(),
            "option --man not a unique prefix"
        );
        assert!(parse(&["--managed", "x"]).expect("exact name wins").managed);
        assert_eq!(
            parse(&["--verbose=1", "x"]).unwrap_err(),
            "option --verbose must not have an argument"
        );
        assert_eq!(
            parse(&["--config"]).unwrap_err(),
            "option --config requires argument"
        );
        assert_eq!(parse(&["-x"]).unwrap_err(), "option -x not recognized");
        let o = parse(&["-bqc/x", "-l", "/s", "x"]).expect("clustered");
        assert!(o.verbose && o.quiet);
        assert_eq!(o.config.as_deref(), Some(Path::new("/x")));
        let o = parse(&["--config=/long", "-c", "/short", "x"]).expect("valid");
        assert_eq!(
            o.config.as_deref(),
            Some(Path::new("/long")),
            "the long form wins"
        );
        let o = parse(&["--", "-b"]).expect("-- ends switches");
        assert_eq!(o.actions, ["-b"]);
        assert_eq!(
            parse(&["-", "x"]).expect("a lone dash is a word").actions,
            ["-", "x"]
        );
        assert_eq!(
            parse(&["-c", "", "x"]).unwrap_err(),
            "The config parameter must be a non-empty string."
        );
    }

    #[test]
    fn dry_run_is_a_long_switch_only_and_keeps_cedars_prefixes_unique() {
        let o = parse(&["--dry-run", "store"]).expect("valid");
        assert!(o.dry_run && o.actions == ["store"]);
        assert!(parse(&["--dry", "store"]).expect("prefix").dry_run);
        assert!(!parse(&["store"]).expect("valid").dry_run);
        // Cedar's own prefixes still name one switch each.
        assert!(parse(&["--de", "x"]).expect("--debug").debug);
        assert!(parse(&["--di", "x"]).expect("--diagnostics").diagnostics);
        assert_eq!(
            parse(&["--d", "x"]).unwrap_err(),
            "option --d not a unique prefix"
        );
        assert_eq!(
            parse(&["--dry-run=1", "x"]).unwrap_err(),
            "option --dry-run must not have an argument"
        );
    }

    #[test]
    fn modes_like_python_int_base_8() {
        assert_eq!(parse_mode("0o600"), Ok(0o600));
        assert_eq!(parse_mode("644"), Ok(0o644));
        assert_eq!(parse_mode("77777"), Ok(0o7777));
        assert_eq!(
            parse_mode("9").unwrap_err(),
            "invalid literal for int() with base 8: '9'"
        );
        assert!(parse_mode("-1").unwrap_err().contains(">= 0"));
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
