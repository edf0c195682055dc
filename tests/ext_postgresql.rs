//! The postgresql extension against cback3's, on a real PostgreSQL this
//! test starts (Debian's postgresql: `initdb` into a throwaway directory,
//! `pg_ctl start` listening only on a unix socket in that directory),
//! bounded in time and stopped when the test ends. PostgreSQL refuses to
//! run as root, so under root the server runs as `$CEDAR_CI_USER` (CI's
//! unprivileged account) or `nobody`; cedar and cback3 stay root and
//! reach it through `PGHOST`.
//!
//! One server, several runs: `pg_dumpall` (user from `PGUSER`), `pg_dump`
//! of each listed database with `-U`, compress modes none, gzip and bzip2.
//! Each time cedar and cback3 write the same names, modes, owners and
//! dump contents; cedar's dumps restore (`psql`) into fresh databases, or
//! after the originals were dropped, with the same rows (NULLs, UTF-8,
//! bytea, JSON, quotes) and sequences. A missing database and a missing
//! role fail both with Cedar's message, cedar leaving no partial dump;
//! `validate` reports what cannot connect.

mod ext_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use ext_support::*;

/// The bin directory of Debian's newest PostgreSQL server.
fn server_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").is_file() && p.join("pg_ctl").is_file())
        .collect();
    dirs.sort();
    let found = dirs.pop();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL server not installed; required under CI"
        );
        eprintln!("skipping: PostgreSQL server not installed");
    }
    found
}

/// The account the server runs as: ourselves, or (as root) an
/// unprivileged one, given as (uid, gid).
fn server_account() -> Option<(u32, u32)> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let name = std::env::var("CEDAR_CI_USER").unwrap_or_else(|_| "nobody".into());
    let user = nix::unistd::User::from_name(&name).unwrap().unwrap();
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// A PostgreSQL server of this test's own; stopped on drop.
struct Server {
    bin: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    account: Option<(u32, u32)>,
}

impl Server {
    fn as_server(&self, program: &Path) -> Command {
        match self.account {
            None => Command::new(program),
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(program);
                c
            }
        }
    }

    fn start(dir: &Path, bin: PathBuf) -> Server {
        let account = server_account();
        std::fs::create_dir_all(dir).unwrap();
        if let Some((uid, gid)) = account {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
        }
        let s = Server {
            data: dir.join("data"),
            socket_dir: dir.to_path_buf(),
            bin,
            account,
        };
        let out = s
            .as_server(&s.bin.join("initdb"))
            .arg("-D")
            .arg(&s.data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let options = format!(
            "-c listen_addresses='' -k {} -c fsync=off -c shared_buffers=16MB",
            s.socket_dir.display()
        );
        let out = s
            .as_server(&s.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&s.data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        s
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PGHOST", self.socket_dir.display().to_string()),
            ("PGPORT", "5432".into()),
        ]
    }

    fn client(&self, program: &str, args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
        let mut c = Command::new(program);
        c.args(args).envs(self.env()).env("PGUSER", "postgres");
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        {
            use std::io::Write;
            let mut input = child.stdin.take().unwrap();
            if let Some(data) = stdin {
                input.write_all(data).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }

    /// Runs SQL in database `db`; panics on failure.
    fn sql(&self, db: &str, sql: &str) -> String {
        let out = self.client(
            "psql",
            &[
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db,
                "-c",
                sql,
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Loads a plain dump into `db` with psql.
    fn load(&self, db: &str, dump: &[u8]) {
        let out = self.client("psql", &["-X", "-q", "-d", db, "-f", "-"], Some(dump));
        assert!(
            out.status.success(),
            "loading into {db}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .as_server(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "30", "-m", "fast", "stop"])
            .output();
    }
}

const SHOP: &str = r#"
CREATE TABLE items (
  id INT PRIMARY KEY, name TEXT NULL, data BYTEA NULL, price NUMERIC(10,2) NULL,
  made TIMESTAMPTZ NULL, tags TEXT[] NULL, doc JSONB NULL
);
INSERT INTO items VALUES
  (1, 'plain', 'abc', 1.50, '2026-12-01 12:00:00+00', '{a,b}', '{"k": 1}'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, E'Grüße ☃ 🎉 "q" ''s'' \\ tab\there', '\x00ff0a0d275c22', -0.01, '1970-01-01 00:00:01+05:30', '{"with space",NULL}', '{"emoji": "🎉", "n": null}'),
  (4, '', '', 0, 'infinity', '{}', '[]'),
  (5, E'line\nbreak', decode(repeat('deadbeef', 4096), 'hex'), 99999999.99, '2038-01-19 03:14:08+00', NULL, '"just a string"');
CREATE SEQUENCE counter START 41;
SELECT nextval('counter');
CREATE VIEW cheap AS SELECT id, name FROM items WHERE price < 2;
"#;

fn snapshot(s: &Server, db: &str) -> String {
    s.sql(
        db,
        "SELECT id, encode(convert_to(name, 'UTF8'), 'hex'), encode(data, 'hex'), price, \
         made, tags, doc FROM items ORDER BY id; \
         SELECT last_value FROM counter; SELECT id, name FROM cheap ORDER BY id; \
         SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM items t;",
    )
}

/// A dump without the per-run random key of pg_dump's `\restrict` lines.
fn comparable(dump: &[u8]) -> String {
    String::from_utf8_lossy(dump)
        .lines()
        .filter(|l| !l.starts_with("\\restrict ") && !l.starts_with("\\unrestrict "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn dumps_match_cback3_and_restore_to_the_same_data() {
    let Some(cb3) = cb3() else { return };
    let Some(bin) = server_bin() else { return };
    if ["pg_dump", "pg_dumpall", "psql"]
        .iter()
        .any(|t| tool(t, &[]).is_none())
    {
        return;
    }
    let b = Bench::new();
    let started = Instant::now();
    let server = Server::start(&b.path("pg"), bin);
    eprintln!("postgres ready in {:?}", started.elapsed());
    for db in ["shop", "crm"] {
        server.sql("postgres", &format!("CREATE DATABASE {db}"));
        server.sql(db, SHOP);
    }
    server.sql("crm", "UPDATE items SET name = 'crm ' || id WHERE id = 1");
    let before: Vec<String> = ["shop", "crm"]
        .iter()
        .map(|db| snapshot(&server, db))
        .collect();
    assert!(before[0].contains("deadbeef") && before[0] != before[1]);
    let pg_env = server.env();
    let mut env: Vec<(&str, &str)> = pg_env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // Each database with -U, into fresh databases.
    for (mode, suffix) in [("none", ""), ("gzip", ".gz"), ("bzip2", ".bz2")] {
        let dumps = both_dump(
            &b,
            &cb3,
            "postgresql",
            &format!(
                "<postgresql><user>postgres</user><compress_mode>{mode}</compress_mode>\
                 <database>shop</database><database>crm</database></postgresql>"
            ),
            &env,
            &[
                &format!("postgresqldump-crm.txt{suffix}"),
                &format!("postgresqldump-shop.txt{suffix}"),
            ],
            comparable,
        );
        for (db, want) in ["crm", "shop"].iter().zip([&before[1], &before[0]]) {
            let fresh = format!("fresh_{db}_{mode}");
            server.sql("postgres", &format!("CREATE DATABASE {fresh}"));
            let dump = dumps
                .iter()
                .find(|d| d.to_string_lossy().contains(db))
                .unwrap();
            server.load(&fresh, &decompressed(dump));
            assert_eq!(&snapshot(&server, &fresh), want, "{fresh}");
            server.sql("postgres", &format!("DROP DATABASE {fresh}"));
        }
    }

    // Everything with pg_dumpall, the user from PGUSER; the originals
    // dropped and restored.
    env.push(("PGUSER", "postgres"));
    let dumps = both_dump(
        &b,
        &cb3,
        "postgresql",
        "<postgresql><compress_mode>gzip</compress_mode><all>Y</all></postgresql>",
        &env,
        &["postgresqldump.txt.gz"],
        comparable,
    );
    server.sql("postgres", "DROP DATABASE shop");
    server.sql("postgres", "DROP DATABASE crm");
    server.load("postgres", &decompressed(&dumps[0]));
    assert_eq!(snapshot(&server, "shop"), before[0]);
    assert_eq!(snapshot(&server, "crm"), before[1]);

    // A database that does not exist; a role that does not exist.
    env.pop();
    let (user, group, _) = backup_owner();
    for (section, message) in [
        (
            "<postgresql><user>postgres</user><compress_mode>bzip2</compress_mode>\
             <database>shop</database><database>nope</database></postgresql>",
            "executing PostgreSQL database dump for database [nope].",
        ),
        (
            "<postgresql><user>nobody_here</user><compress_mode>none</compress_mode>\
             <all>Y</all></postgresql>",
            "executing PostgreSQL database dump for all databases.",
        ),
    ] {
        both_fail(&b, &cb3, "postgresql", section, message, &env, |n| {
            n.contains("shop")
        });
        let conf = b.config(
            Who::Cedar,
            "postgresql",
            section,
            not_today(),
            (&user, &group),
            &[],
        );
        let (_, log) = run(Who::Cedar, &cb3, &conf, &["validate"], &env);
        assert!(
            log.contains("postgresql: cannot connect"),
            "{}",
            tail(&log, 10)
        );
    }
    let conf = b.config(
        Who::Cedar,
        "postgresql",
        "<postgresql><user>postgres</user><compress_mode>none</compress_mode><all>Y</all></postgresql>",
        not_today(),
        (&user, &group),
        &[],
    );
    let (_, log) = run(Who::Cedar, &cb3, &conf, &["validate"], &env);
    assert!(!log.contains("postgresql:"), "{}", tail(&log, 10));
    drop(server);
    eprintln!("whole test {:?}", started.elapsed());
}
