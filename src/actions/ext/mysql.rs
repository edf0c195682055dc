//! `CedarBackup3.extend.mysql`: `mysqldump` of all databases
//! (`mysqldump.txt`) or of each listed one (`mysqldump-<db>.txt`), with
//! `.gz`/`.bz2` for the compress mode, in the collect directory. Always a
//! full dump; mysqldump gets Cedar's arguments (`-all --flush-logs --opt`,
//! `--all-databases` or `--databases <db>`).
//!
//! A configured user and password go on the command line as Cedar passes
//! them (`--user=`, `--password=`), with Cedar's warning that they show in
//! the process list; the safer way Cedar recommends is a `[mysqldump]`
//! stanza in the backup account's `~/.my.cnf`, which mysqldump reads
//! itself. The server is found as mysqldump finds it (its defaults files,
//! `MYSQL_UNIX_PORT`, `MYSQL_TCP_PORT`).

use super::{dump_databases, probe_databases, tool_problem};
use crate::actions::ActionContext;
use crate::config::MysqlSettings;
use crate::exec::CommandRunner;

const MYSQLDUMP: &str = "mysqldump";

/// mysqldump's arguments for one database (`None`: all), in Cedar's order.
fn arguments(s: &MysqlSettings, database: Option<&str>, warn: bool) -> Vec<String> {
    let mut args = vec![MYSQLDUMP.to_string()];
    args.push(match database {
        None => "--all-databases".into(),
        Some(_) => "--databases".into(),
    });
    args.extend(["-all", "--flush-logs", "--opt"].map(String::from));
    if let Some(user) = &s.user {
        if warn {
            log::warn!("Warning: MySQL username will be visible in process listing (consider using ~/.my.cnf).");
        }
        args.push(format!("--user={user}"));
    }
    if let Some(password) = &s.password {
        if warn {
            log::warn!("Warning: MySQL password will be visible in process listing (consider using ~/.my.cnf).");
        }
        args.push(format!("--password={password}"));
    }
    args.extend(database.map(String::from));
    args
}

/// Runs the mysql action.
pub(crate) fn run(ctx: &ActionContext<'_>, s: &MysqlSettings) -> anyhow::Result<()> {
    log::debug!("Executing MySQL extended action.");
    dump_databases(
        ctx,
        "MySQL",
        "mysqldump",
        &s.databases,
        s.compress_mode,
        |db| arguments(s, db, true),
    )?;
    log::info!("Executed the MySQL extended action successfully.");
    Ok(())
}

/// `validate`: mysqldump installed, and each dump it would make connects
/// with the configured user (a dump of no data at all, output discarded,
/// without `--flush-logs`).
pub(crate) fn validate(runner: &CommandRunner, s: &MysqlSettings) -> Vec<String> {
    if let Some(p) = tool_problem(runner, MYSQLDUMP, "mysql") {
        return vec![p];
    }
    probe_databases(runner, "mysql", "dump", &s.databases, |db| {
        let mut argv = arguments(s, db, false);
        argv.retain(|a| a != "--flush-logs");
        argv.splice(
            1..1,
            [
                "--no-data",
                "--no-create-info",
                "--no-create-db",
                "--skip-triggers",
            ]
            .map(String::from),
        );
        argv
    })
}
