//! One `cback` run from switches to exit code, following Cedar's `cli()`:
//! parse switches (2), set up logging (3), read and validate the config and
//! the action list (4), run the actions with their hooks (6 on failure),
//! stop on SIGINT/SIGTERM (5). Errors become exit codes only here.

use std::path::Path;

use anyhow::Context;

use crate::action::Action;
use crate::actions::{self, ActionContext};
use crate::cli::{self, Options};
use crate::config::{self, ConfigError, HookKind, OptionsSettings, Settings};
use crate::exec::{split_command_line, CommandRunner};
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
    let local = !options.managed_only;
    let managed = options.managed || options.managed_only;
    let plan = match ordering::plan(
        &config.extensions,
        &config.managed_action_names(),
        &options.actions,
        local,
        managed,
    ) {
        Ok(p) => p,
        Err(e) => {
            log::error!("Error reading or handling configuration: {e}");
            return exit::CONFIG;
        }
    };
    if options.dry_run {
        // Only the disc actions have a dry run; anything else would write.
        let other = plan.iter().find(|item| {
            item.target == Target::Managed
                || !matches!(
                    item.action,
                    Action::Store | Action::Rebuild | Action::Initialize | Action::Validate
                )
        });
        if let Some(item) = other {
            log::error!(
                "Error reading or handling configuration: --dry-run applies to store, rebuild \
                 and initialize only, not to [{}]",
                item.action
            );
            return exit::CONFIG;
        }
    }
    if let [word] = options.actions.as_slice() {
        if Action::builtin(word) == Some(Action::Validate) {
            // validate stands alone and runs without the lock.
            return validate(&config, options);
        }
    }
    let now = match run_time(std::env::var_os(TODAY_VAR).as_deref(), chrono::Local::now()) {
        Ok(now) => now,
        Err(e) => {
            log::error!("{e}");
            return exit::CONFIG;
        }
    };
    let lock = match RunLock::acquire(&config.options.working_dir) {
        Ok(l) => l,
        Err(e) => {
            log::error!("Error executing backup: {e}");
            return exit::ACTION;
        }
    };
    log::debug!("Holding run lock {}", lock.path().display());
    let result = execute(&config, options, &plan, now);
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

/// Reads, parses and checks the config (Cedar's validation, then every
/// extension module resolved); on failure returns every problem as a line
/// prefixed with the file name.
pub fn load_config(path: &Path) -> Result<Settings, Vec<String>> {
    let lines = |e: ConfigError| {
        e.problems()
            .into_iter()
            .map(|problem| format!("{}: {problem}", path.display()))
            .collect::<Vec<_>>()
    };
    let config = config::parse_file(path).map_err(lines)?;
    config.check().map_err(lines)
}

/// The `validate` action: config problems were already ruled out (exit 4),
/// so what remains are environment problems (exit 6).
fn validate(settings: &Settings, options: &Options) -> i32 {
    let problems = crate::actions::validate::environment_problems(settings);
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

/// The testing aid that fixes the date every action uses (`YYYY-MM-DD`).
pub const TODAY_VAR: &str = "CEDAR_TODAY";

/// The moment a run takes as "now": `clock`, or with `CEDAR_TODAY` set
/// (`today`), the same time of day on that date (noon when that local time
/// does not exist that day). The error names the variable and the value.
pub fn run_time(
    today: Option<&std::ffi::OsStr>,
    clock: chrono::DateTime<chrono::Local>,
) -> Result<chrono::DateTime<chrono::Local>, String> {
    let Some(value) = today else {
        return Ok(clock);
    };
    let text = value.to_string_lossy();
    let date = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| format!("{TODAY_VAR}={text:?} is not a date (expected YYYY-MM-DD)"))?;
    let local = |t: chrono::NaiveTime| {
        date.and_time(t)
            .and_local_timezone(chrono::Local)
            .earliest()
    };
    local(clock.time())
        .or_else(|| local(chrono::NaiveTime::MIN + chrono::TimeDelta::hours(12)))
        .ok_or_else(|| format!("{TODAY_VAR}={text:?}: that date has no local time"))
}

fn execute(
    settings: &Settings,
    options: &Options,
    plan: &[ActionItem],
    now: chrono::DateTime<chrono::Local>,
) -> anyhow::Result<()> {
    let ctx = ActionContext {
        settings,
        full: options.full,
        dry_run: options.dry_run,
        progress: !options.quiet,
        log_output: options.output,
        now,
    };
    if std::env::var_os(TODAY_VAR).is_some() {
        log::info!("{TODAY_VAR} fixes the date to {}", now.format("%Y-%m-%d"));
    }
    let runner = ctx.runner();
    for item in plan {
        match item.target {
            Target::Local if ctx.dry_run => {
                log::info!(
                    "Dry run of the '{}' action (its hooks are not run).",
                    item.action
                );
                run_action(&ctx, &item.action)?;
            }
            Target::Local => {
                run_hooks(ctx.options(), &runner, HookKind::Pre, &item.action)?;
                log::info!("Executing the '{}' action.", item.action);
                run_action(&ctx, &item.action)?;
                run_hooks(ctx.options(), &runner, HookKind::Post, &item.action)?;
            }
            Target::Managed => {
                log::info!(
                    "Executing managed action [{}] on remote peers.",
                    item.action
                );
                actions::managed::run_managed(&ctx, item.action.name())?;
            }
        }
    }
    Ok(())
}

fn run_action(ctx: &ActionContext<'_>, action: &Action) -> anyhow::Result<()> {
    match action {
        Action::Collect => actions::collect::run(ctx),
        Action::Validate => anyhow::bail!("validate runs on its own, without the lock"),
        Action::Stage => actions::stage::run(ctx),
        Action::Purge => actions::purge::run(ctx),
        Action::Store => actions::store::run(ctx),
        Action::Rebuild => actions::rebuild::run(ctx),
        Action::Initialize => actions::initialize::run(ctx),
        Action::Extension(name) => {
            let configured = ctx.settings.extended_action(name).with_context(|| {
                format!("Action [{name}] is not a valid action or extended action.")
            })?;
            let spec = configured.extension.spec();
            // The extension checks its own section when it runs, as in Cedar.
            let section = (spec.check)(ctx.settings.raw()).map_err(|e| {
                anyhow::anyhow!(
                    "extension [{name}] configuration is not valid: {}",
                    e.problems().join("; ")
                )
            })?;
            (spec.run)(configured, &section, ctx)
        }
    }
}

/// Runs the configured hooks of `kind` for `action`, in config order.
fn run_hooks(
    options: &OptionsSettings,
    runner: &CommandRunner,
    kind: HookKind,
    action: &Action,
) -> anyhow::Result<()> {
    let label = match kind {
        HookKind::Pre => "pre-action",
        HookKind::Post => "post-action",
    };
    for hook in options.hooks_for(action, kind) {
        let fields = split_command_line(&hook.command);
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
pub(crate) fn spawn_interrupt_watcher() {
    on_interrupt(|| {
        crate::engine::atomic::remove_pending();
        log::error!("Backup interrupted.");
        log::info!(
            "Cedar Backup run completed with status {}.",
            exit::INTERRUPTED
        );
        log::logger().flush();
        std::process::exit(exit::INTERRUPTED);
    });
}

/// Runs `then` in a watcher thread each time SIGINT or SIGTERM arrives
/// (the signals blocked in the calling thread and every thread it starts
/// after; children started with `Command` get the default mask).
pub(crate) fn on_interrupt(mut then: impl FnMut() + Send + 'static) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || {
        while set.wait().is_ok() {
            then();
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
        (o.dry_run, "--dry-run"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Timelike};

    #[test]
    fn cedar_today_fixes_the_date_and_keeps_the_time_of_day() {
        let clock = chrono::Local
            .with_ymd_and_hms(2026, 3, 4, 23, 59, 30)
            .unwrap();
        assert_eq!(run_time(None, clock), Ok(clock));
        let t = run_time(Some("2025-12-31".as_ref()), clock).unwrap();
        assert_eq!((t.year(), t.month(), t.day()), (2025, 12, 31));
        assert_eq!((t.hour(), t.minute(), t.second()), (23, 59, 30));
        for bad in ["2025-13-01", "yesterday", "2025-1-1", "", "2025-02-30"] {
            let e = run_time(Some(bad.as_ref()), clock).unwrap_err();
            assert!(
                e.starts_with("CEDAR_TODAY=") && e.contains("YYYY-MM-DD"),
                "{e}"
            );
        }
    }
}
