//! The start-up Cedar's tools share (`cback span`, `cback amazons3-sync`,
//! as Cedar's `cback3-span` and `cback3-amazons3-sync` share it): the
//! switches parsed, `--help`, `--version` and `--diagnostics` answered, the
//! log opened, interrupts watched, the run's first and last log lines, the
//! configuration read when the tool needs one, and a failure logged with
//! Cedar's exit status (2 bad switches, 3 logging, 4 configuration, 5
//! interrupted, 6 failure).

use crate::app::exit;
use crate::cli::Options;
use crate::config::Settings;

/// One tool: its usage text and what its log lines call a run.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// Printed for `--help`, and on standard error under a bad switch.
    pub usage: &'static str,
    /// What the first and last log lines call the run (`Cedar Backup
    /// 'span' utility run` logs `... run started.`).
    pub run: &'static str,
}

/// Why a tool's run failed.
#[derive(Debug)]
pub enum Failure {
    /// The configuration cannot be read or is wrong: each problem, one
    /// line each (exit 4).
    Config(Vec<String>),
    /// The run failed (exit 6).
    Action(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Action(e)
    }
}

impl Tool {
    /// Runs the tool: `parsed` is its command line as the tool parsed it
    /// (the shared switches and its own, `S`), or the one-line reason it is
    /// wrong; `body` is the run once logging is set up. Returns the exit
    /// status.
    pub fn main<S>(
        &self,
        parsed: Result<(Options, S), String>,
        body: impl FnOnce(&Options, S) -> Result<(), Failure>,
    ) -> i32 {
        let (options, own) = match parsed {
            Ok(p) => p,
            Err(e) => {
                eprint!("{}", self.usage);
                eprintln!(" *** Error: {e}");
                return exit::USAGE;
            }
        };
        if options.help {
            print!("{}", self.usage);
            return exit::OK;
        }
        if options.version {
            print!("{}", crate::cli::version());
            return exit::OK;
        }
        if options.diagnostics {
            print!("{}", crate::app::diagnostics());
            return exit::OK;
        }
        if let Err(e) = crate::logging::init(&options) {
            eprintln!("{e}");
            return exit::LOGGING;
        }
        crate::app::spawn_interrupt_watcher();
        log::info!("{} started.", self.run);
        let code = match body(&options, own) {
            Ok(()) => exit::OK,
            Err(Failure::Config(problems)) => {
                for p in problems {
                    log::error!("Error reading or handling configuration: {p}");
                }
                exit::CONFIG
            }
            Err(Failure::Action(e)) => {
                if options.stack {
                    log::error!("Error executing backup: {e:?}");
                } else {
                    log::error!("Error executing backup: {e:#}");
                }
                exit::ACTION
            }
        };
        log::info!("{} completed with status {code}.", self.run);
        log::logger().flush();
        code
    }
}

/// Reads and checks the configuration the switches name (`-c`, else
/// Cedar's default path), logging which.
pub fn settings(options: &Options) -> Result<Settings, Failure> {
    let path = options.config_path();
    log::info!("Configuration path is [{}]", path.display());
    crate::app::load_config(&path).map_err(Failure::Config)
}
