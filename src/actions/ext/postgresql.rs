//! `CedarBackup3.extend.postgresql`: `pg_dumpall` (`postgresqldump.txt`)
//! or `pg_dump` of each listed database (`postgresqldump-<db>.txt`), with
//! `.gz`/`.bz2` for the compress mode, in the collect directory; `-U
//! <user>` when a user is configured, as Cedar passes it. Always a full,
//! plain-SQL dump that `psql` restores. The server is found as the
//! PostgreSQL tools find it (`PGHOST`, `PGPORT`, the default socket);
//! passwords come from `~/.pgpass`, never the command line.

use super::{dump_databases, probe_databases, targets, tool_problem};
use crate::actions::ActionContext;
use crate::config::PostgresqlSettings;
use crate::exec::CommandRunner;

/// The program and arguments of one dump (`None`: all databases).
fn arguments(s: &PostgresqlSettings, database: Option<&str>) -> Vec<String> {
    let mut args = vec![match database {
        None => "pg_dumpall".to_string(),
        Some(_) => "pg_dump".to_string(),
    }];
    if let Some(user) = &s.user {
        args.push("-U".into());
        args.push(user.clone());
    }
    args.extend(database.map(String::from));
    args
}

/// Runs the postgresql action.
pub(crate) fn run(ctx: &ActionContext<'_>, s: &PostgresqlSettings) -> anyhow::Result<()> {
    log::debug!("Executing PostgreSQL extended action.");
    dump_databases(
        ctx,
        "PostgreSQL",
        "postgresqldump",
        &s.databases,
        s.compress_mode,
        |db| arguments(s, db),
    )?;
    log::info!("Executed the PostgreSQL extended action successfully.");
    Ok(())
}

/// `validate`: pg_dump/pg_dumpall and psql installed, and the configured
/// user can connect to each database dumped (`postgres` for all).
pub(crate) fn validate(runner: &CommandRunner, s: &PostgresqlSettings) -> Vec<String> {
    let problems: Vec<String> = targets(&s.databases)
        .iter()
        .map(|db| arguments(s, *db).remove(0))
        .chain(["psql".to_string()])
        .filter_map(|p| tool_problem(runner, &p, "postgresql"))
        .collect();
    if !problems.is_empty() {
        return problems;
    }
    probe_databases(runner, "postgresql", "connect for", &s.databases, |db| {
        let mut argv: Vec<String> = ["psql", "-X", "-A", "-t", "-c", "select 1"]
            .map(String::from)
            .to_vec();
        if let Some(user) = &s.user {
            argv.extend(["-U".to_string(), user.clone()]);
        }
        argv.extend(["-d".to_string(), db.unwrap_or("postgres").to_string()]);
        argv
    })
}
