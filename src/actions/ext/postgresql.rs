//! `CedarBackup3.extend.postgresql`: `pg_dumpall` (`postgresqldump.txt`)
//! or `pg_dump` of each listed database (`postgresqldump-<db>.txt`), with
//! `.gz`/`.bz2` for the compress mode, in the collect directory; `-U
//! <user>` when a user is configured, as Cedar passes it. Always a full,
//! plain-SQL dump that `psql` restores. The server is found as the
//! PostgreSQL tools find it (`PGHOST`, `PGPORT`, the default socket);
//! passwords come from `~/.pgpass`, never the command line.

use super::{collect_dir, compressed_name, dump_command, tool_problem};
use crate::actions::ActionContext;
use crate::config::{Databases, PostgresqlSettings};
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

fn targets(s: &PostgresqlSettings) -> Vec<Option<&str>> {
    match &s.databases {
        Databases::All => vec![None],
        Databases::Named(dbs) => dbs.iter().map(|d| Some(d.as_str())).collect(),
    }
}

/// Runs the postgresql action.
pub(crate) fn run(ctx: &ActionContext<'_>, s: &PostgresqlSettings) -> anyhow::Result<()> {
    log::debug!("Executing PostgreSQL extended action.");
    let target = collect_dir(ctx)?;
    for database in targets(s) {
        let name = match database {
            None => {
                log::info!("Backing up all databases.");
                "postgresqldump.txt".to_string()
            }
            Some(db) => {
                log::info!("Backing up database [{db}].");
                format!("postgresqldump-{db}.txt")
            }
        };
        let path = target.join(compressed_name(&name, s.compress_mode));
        dump_command(
            ctx,
            &arguments(s, database),
            &path,
            s.compress_mode,
            |code| {
                Some(match database {
                    None => {
                        format!(
                            "Error [{code}] executing PostgreSQL database dump for all databases."
                        )
                    }
                    Some(db) => format!(
                        "Error [{code}] executing PostgreSQL database dump for database [{db}]."
                    ),
                })
            },
        )?;
    }
    log::info!("Executed the PostgreSQL extended action successfully.");
    Ok(())
}

/// `validate`: pg_dump/pg_dumpall and psql installed, and the configured
/// user can connect to each database dumped (`postgres` for all).
pub(crate) fn validate(runner: &CommandRunner, s: &PostgresqlSettings) -> Vec<String> {
    let mut problems: Vec<String> = targets(s)
        .iter()
        .map(|db| arguments(s, *db).remove(0))
        .chain(["psql".to_string()])
        .filter_map(|p| tool_problem(runner, &p, "postgresql"))
        .collect();
    if !problems.is_empty() {
        return problems;
    }
    for database in targets(s) {
        let mut argv: Vec<String> = ["psql", "-X", "-A", "-t", "-c", "select 1"]
            .map(String::from)
            .to_vec();
        if let Some(user) = &s.user {
            argv.extend(["-U".to_string(), user.clone()]);
        }
        argv.extend(["-d".to_string(), database.unwrap_or("postgres").to_string()]);
        let what = database.map_or("all databases".to_string(), |d| format!("database [{d}]"));
        match runner.run_into(&argv, &mut std::io::sink()) {
            Ok(out) if out.status.success() => {}
            Ok(out) => problems.push(format!(
                "postgresql: cannot connect for {what}: psql exited {}: {}",
                out.code(),
                out.stderr.join(" / ")
            )),
            Err(e) => problems.push(format!("postgresql: cannot connect for {what}: {e}")),
        }
    }
    problems
}
