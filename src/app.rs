//! One `cback` run from switches to exit code, following Cedar's `cli()`:
//! parse switches (2), set up logging (3), read and validate the config and
//! the action list (4), run the actions with their hooks (6 on failure),
//! stop on SIGINT/SIGTERM (5). Errors become exit codes only here.

use std::path::Path;

use anyhow::Context;

use crate::actions::{self, ActionContext};
use crate::cli::{self, Options};
use crate::config::{self, Config, ConfigError, HookKind, OptionsConfig};
use crate::exec::{split_command_line, CommandRunner};
use crate::extensions::Extension;
use crate::lock::RunLock;
use crate::ordering::{self, ActionItem, Target};

/// Exit codes Cedar Backup uses.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Bad command line.
    pub const USAGE: i32 = 2;
    /// Logging could not be set up.
    pub const LOGGING: i32 = 3;
    /// Config unreadable/invalid, bad action list or dependency graph.
    pub const CONFIG: i32 = 4;
    /// Interrupted.
    pub const INTERRUPTED: i32 = 5;
    /// An action (or hook) failed.
    pub const ACTION: i32 = 6;
}

/// Runs `cback` with `args` (without the program name); returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let options = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprint!("{}", cli::usage());
            eprintln!(" *** Error: {e}");
            return exit::USAGE;
        }
    };
    if options.help {
        print!("{}", cli::usage());
        return exit::OK;
    }
    if options.version {
        print!("{}", cli::version());
        return exit::OK;
    }
    if options.diagnostics {
        print!("{}", diagnostics());
        return exit::OK;
    }
    let setup = match crate::logging::init(&options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return exit::LOGGING;
        }
    };
    if let Some(warning) = &setup.fallback_warning {
        // The default screen shows errors only, but a moved log must be
        // seen; -b and -d screens show it through the logger already.
        if crate::logging::Screen::from_options(&options) == crate::logging::Screen::Errors {
            eprintln!("{warning}");
        }
        log::warn!("{warning}");
    }
    spawn_interrupt_watcher();
    log::info!("Cedar Backup run started.");
    log::info!("Options were [{}]", describe(&options));
    log::info!("Logfile is [{}]", setup.path.display());
    for line in diagnostics().lines().filter(|l| !l.trim().is_empty()) {
        log::info!("{}", line.trim());
    }
    let code = run_with_logging(&options);
    log::info!("Cedar Backup run completed with status {code}.");
    log::logger().flush();
    code
}

fn run_with_logging(options: &Options) -> i32 {
    let config_path = options.config_path();
    log::info!("Configuration path is [{}]", config_path.display());
    let config = match load_config(&config_path) {
        Ok(c) => c,
        Err(problems) => {
            for problem in problems {
                log::error!("Error reading or handling configuration: {problem}");
            }
            return exit::CONFIG;
        }
    };
    // Cedar imports every configured extension function when it builds its
    // action set, so an unknown one fails any run, whatever its actions.
    let unknown: Vec<String> = config
        .extensions
        .iter()
        .flat_map(|e| e.actions.iter())
        .filter_map(|a| {
            Extension::resolve(
                a.module.as_deref().unwrap_or_default(),
                a.function.as_deref().unwrap_or_default(),
            )
            .err()
        })
        .collect();
    if !unknown.is_empty() {
        for problem in unknown {
            log::error!("Error reading or handling configuration: {problem}");
        }
        return exit::CONFIG;
    }
    let local = !options.managed_only;
    let managed = options.managed || options.managed_only;
    let plan = match ordering::plan(&config, &options.actions, local, managed) {
        Ok(p) => p,
        Err(e) => {
            log::error!("Error reading or handling configuration: {e}");
            return exit::CONFIG;
        }
    };
    if options.actions == ["validate"] {
        return validate(&config, options);
    }
    let lock = match lock_for(&config) {
        Ok(l) => l,
        Err(e) => {
            log::error!("Error executing backup: {e:#}");
            return exit::ACTION;
        }
    };
    log::debug!("Holding run lock {}", lock.path().display());
    let result = execute(&config, options, &plan);
    drop(lock);
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            if options.stack {
                log::error!("Error executing backup: {e:?}");
            } else {
                log::error!("Error executing backup: {e:#}");
            }
            exit::ACTION
        }
    }
}

/// Reads, parses and validates the config; on failure returns every
/// problem as a line prefixed with the file name.
pub fn load_config(path: &Path) -> Result<Config, Vec<String>> {
    let lines = |e: ConfigError| {
        e.problems()
            .into_iter()
            .map(|problem| format!("{}: {problem}", path.display()))
            .collect::<Vec<_>>()
    };
    let config = config::parse_file(path).map_err(lines)?;
    config.validate().map_err(lines)?;
    Ok(config)
}

fn lock_for(config: &Config) -> anyhow::Result<RunLock> {
    let working_dir = config
        .options
        .as_ref()
        .and_then(|o| o.working_dir.as_deref())
        .context("options/working_dir is not set")?;
    Ok(RunLock::acquire(Path::new(working_dir))?)
}

/// The `validate` action: config problems were already ruled out (exit 4),
/// so what remains are environment problems (exit 6).
fn validate(config: &Config, options: &Options) -> i32 {
    let problems = crate::validate::environment_problems(config);
    // With -q the verdict only goes to the log, as in Cedar.
    let report = |line: &str| {
        if options.quiet {
            log::info!("{line}");
        } else {
            log::error!("{line}");
        }
    };
    for problem in &problems {
        report(problem);
    }
    if problems.is_empty() {
        report("Configuration is valid.");
        exit::OK
    } else {
        report("Configuration is not valid.");
        exit::ACTION
    }
}

fn execute(config: &Config, options: &Options, plan: &[ActionItem]) -> anyhow::Result<()> {
    let ctx = ActionContext {
        config,
        full: options.full,
        log_output: options.output,
        now: chrono::Local::now(),
    };
    let runner = ctx.runner();
    for item in plan {
        match item.target {
            Target::Local => {
                run_hooks(ctx.options(), &runner, HookKind::Pre, &item.name)?;
                log::info!("Executing the '{}' action.", item.name);
                run_action(&ctx, &item.name)?;
                run_hooks(ctx.options(), &runner, HookKind::Post, &item.name)?;
            }
            Target::Managed => {
                log::info!("Executing managed action [{}] on remote peers.", item.name);
                actions::managed::run_managed(&ctx, &item.name)?;
            }
        }
    }
    Ok(())
}

fn run_action(ctx: &ActionContext<'_>, name: &str) -> anyhow::Result<()> {
    match name {
        "collect" => actions::collect::run(ctx),
        "stage" => actions::stage::run(ctx),
        "purge" => actions::purge::run(ctx),
        "store" | "rebuild" | "initialize" => {
            anyhow::bail!("the {name} action is not implemented yet in this version of cedar")
        }
        extension => {
            let action = ctx
                .config
                .extensions
                .iter()
                .flat_map(|e| e.actions.iter())
                .find(|a| a.name.as_deref() == Some(extension))
                .with_context(|| {
                    format!("Action [{extension}] is not a valid action or extended action.")
                })?;
            let module = action.module.as_deref().unwrap_or_default();
            let ext = Extension::resolve(module, action.function.as_deref().unwrap_or_default())
                .map_err(anyhow::Error::msg)?;
            anyhow::bail!(
                "extension [{extension}] ({module}, native {}) is not implemented yet in this version of cedar",
                ext.module_name()
            )
        }
    }
}

/// Runs the configured hooks of `kind` for `action`, in config order.
fn run_hooks(
    options: &OptionsConfig,
    runner: &CommandRunner,
    kind: HookKind,
    action: &str,
) -> anyhow::Result<()> {
    let label = match kind {
        HookKind::Pre => "pre-action",
        HookKind::Post => "post-action",
    };
    for hook in options.hooks_for(action, kind) {
        let fields = split_command_line(hook.command.as_deref().unwrap_or_default());
        log::debug!("Executing {label} hook for action {action}: {fields:?}");
        let output = runner.run(&fields).with_context(|| {
            format!("Error executing {label} hook for action {action}: {fields:?}")
        })?;
        if !output.status.success() {
            let tail = if output.lines.is_empty() {
                "<empty>".to_string()
            } else {
                output.tail(10)
            };
            log::error!("Hook failed, tail is: \n   {tail}");
            let code = output
                .status
                .code()
                .map_or_else(|| output.status.to_string(), |c| c.to_string());
            anyhow::bail!("Error ({code}) executing {label} hook for action {action}: {fields:?}");
        }
    }
    Ok(())
}

/// Ends the run with exit 5 on SIGINT/SIGTERM, after logging it like Cedar.
/// The signals are blocked in every thread and taken by one watcher thread,
/// so the handler is ordinary code rather than an async-signal context.
fn spawn_interrupt_watcher() {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        if set.wait().is_ok() {
            log::error!("Backup interrupted.");
            log::info!(
                "Cedar Backup run completed with status {}.",
                exit::INTERRUPTED
            );
            log::logger().flush();
            std::process::exit(exit::INTERRUPTED);
        }
    });
}

fn describe(o: &Options) -> String {
    let mut parts = Vec::new();
    let flags = [
        (o.verbose, "--verbose"),
        (o.quiet, "--quiet"),
        (o.full, "--full"),
        (o.managed, "--managed"),
        (o.managed_only, "--managed-only"),
        (o.output, "--output"),
        (o.debug, "--debug"),
        (o.stack, "--stack"),
    ];
    parts.extend(
        flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, f)| f.to_string()),
    );
    if let Some(c) = &o.config {
        parts.push(format!("--config \"{}\"", c.display()));
    }
    if let Some(l) = &o.logfile {
        parts.push(format!("--logfile \"{}\"", l.display()));
    }
    if let Some((u, g)) = &o.owner {
        parts.push(format!("--owner \"{u}:{g}\""));
    }
    if let Some(m) = o.mode {
        parts.push(format!("--mode {m:o}"));
    }
    parts.extend(o.actions.iter().cloned());
    parts.join(" ")
}

/// Runtime diagnostics (`-D`), one `name: value` line each.
pub fn diagnostics() -> String {
    let uname = nix::sys::utsname::uname().ok();
    let platform = uname.map_or_else(
        || std::env::consts::OS.to_string(),
        |u| {
            format!(
                "{} {} {} {}",
                u.sysname().to_string_lossy(),
                u.release().to_string_lossy(),
                u.version().to_string_lossy(),
                u.machine().to_string_lossy()
            )
        },
    );
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "(none)".into());
    format!(
        "\nDiagnostics:\n\n   Version.....: cedar {}\n   Interpreter.: native ({} {})\n   Platform....: {platform}\n   Locale......: {locale}\n   Timestamp...: {}\n\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        std::env::consts::OS,
        crate::logging::timestamp()
    )
}
