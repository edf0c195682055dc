//! The mysql extension against cback3's, on a real MariaDB server this
//! test starts (Debian's mariadb-server: `mariadb-install-db` into a
//! throwaway data directory, `mariadbd` on a private unix socket with
//! networking off, as root with `--user=root`), bounded in time and shut
//! down when the test ends. The server and its clients are pointed at by
//! a `~/.my.cnf` (HOME is the bench), the way Cedar recommends giving
//! mysqldump its settings.
//!
//! One server, several runs: all databases with user and password on the
//! command line, each listed database with the credentials from
//! `~/.my.cnf`, compress modes none, gzip and bzip2. Each time cedar and
//! cback3 write the same file names, modes and owners; the dumps are the
//! same but for mysqldump's completion time; and each of cedar's dumps,
//! loaded back into a server whose databases were dropped, gives the same
//! rows (NULLs, UTF-8, binary blobs, quotes) and table checksums. Errors
//! (a database that does not exist, a wrong password) fail both with
//! Cedar's message, and cedar leaves no partial dump; `validate` reports
//! what cannot connect.

mod ext_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ext_support::*;

const STARTUP: Duration = Duration::from_secs(60);

/// A MariaDB server of this test's own; shut down on drop.
struct Server {
    child: Child,
    home: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let data = dir.join("data");
        let socket = dir.join("mysqld.sock");
        let home = dir.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let root = nix::unistd::geteuid().is_root();
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if root {
            install.arg("--user=root");
        }
        let out = install.output().unwrap();
        assert!(
            out.status.success(),
            "mariadb-install-db: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut server = Command::new("mariadbd");
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("mysqld.err").display()))
            .args(["--skip-networking", "--innodb-buffer-pool-size=16M"]);
        if root {
            server.arg("--user=root");
        }
        let child = server
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Clients (cedar's and cback3's mysqldump, and ours) find the
        // server through ~/.my.cnf, which beats /etc/mysql's socket.
        std::fs::write(
            home.join(".my.cnf"),
            format!("[client]\nsocket={}\n", socket.display()),
        )
        .unwrap();
        let s = Server { child, home };
        let start = Instant::now();
        loop {
            let ping = s.client("mariadb-admin", &["-uroot", "ping"]);
            if ping.status.success() {
                break;
            }
            assert!(
                start.elapsed() < STARTUP,
                "mariadbd did not start: {}",
                std::fs::read_to_string(dir.join("mysqld.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        s
    }

    fn client(&self, program: &str, args: &[&str]) -> std::process::Output {
        Command::new(program)
            .args(args)
            .env("HOME", &self.home)
            .output()
            .unwrap()
    }

    /// Runs SQL as the database root user; panics on failure.
    fn sql(&self, sql: &str) -> String {
        let out = self.client(
            "mariadb",
            &[
                "-uroot",
                "--default-character-set=utf8mb4",
                "-N",
                "-B",
                "-e",
                sql,
            ],
        );
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Loads a dump with the `mariadb` client.
    fn load(&self, dump: &[u8]) {
        let mut child = Command::new("mariadb")
            .args(["-uroot", "--default-character-set=utf8mb4"])
            .env("HOME", &self.home)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(dump).unwrap();
        assert!(child.wait().unwrap().success(), "loading a dump");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.client("mariadb-admin", &["-uroot", "shutdown"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SCHEMA: &str = r#"
CREATE DATABASE shop CHARACTER SET utf8mb4;
CREATE TABLE shop.items (
  id INT PRIMARY KEY, name VARCHAR(100) NULL, note TEXT NULL,
  data BLOB NULL, price DECIMAL(10,2) NULL, made DATETIME NULL
) CHARACTER SET utf8mb4;
INSERT INTO shop.items VALUES
  (1, 'plain', 'ascii', 'abc', 1.50, '2026-12-01 12:00:00'),
  (2, NULL, NULL, NULL, NULL, NULL),
  (3, 'Grüße ☃ 🎉', 'naïve "quotes" and \'single\' and \\ backslash', UNHEX('00FF0A0D1A275C22'), -0.01, '1970-01-01 00:00:01'),
  (4, '', '', '', 0, '2038-01-19 03:14:08'),
  (5, 'line\nbreak\ttab', 'NULL', UNHEX(REPEAT('DEADBEEF', 4096)), 99999999.99, '9999-12-31 23:59:59');
CREATE VIEW shop.cheap AS SELECT id, name FROM shop.items WHERE price < 2;
CREATE DATABASE crm;
CREATE TABLE crm.people (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(200) UNIQUE, bio LONGTEXT);
INSERT INTO crm.people (email, bio) VALUES ('a@example.com', REPEAT('x', 70000)), ('b@example.com', NULL);
CREATE USER 'backup'@'localhost' IDENTIFIED BY 's3cret;"quoted';
GRANT SELECT, LOCK TABLES, RELOAD, SHOW VIEW, EVENT, TRIGGER ON *.* TO 'backup'@'localhost';
"#;

/// Everything the databases hold, as text: rows in order (blobs as hex),
/// table checksums, the view's definition.
fn snapshot(s: &Server) -> String {
    s.sql(
        "SELECT id, HEX(name), HEX(note), HEX(data), price, made FROM shop.items ORDER BY id;\
         SELECT id, email, MD5(bio), bio IS NULL FROM crm.people ORDER BY id;\
         CHECKSUM TABLE shop.items, crm.people;\
         SELECT id, name FROM shop.cheap ORDER BY id;",
    )
}

/// A dump without mysqldump's completion time.
fn comparable(dump: &[u8]) -> String {
    String::from_utf8_lossy(dump)
        .lines()
        .filter(|l| !l.starts_with("-- Dump completed"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Drops the databases, loads `dumps`, and checks everything came back.
fn restores(server: &Server, dumps: &[PathBuf], before: &str) {
    server.sql("DROP DATABASE shop; DROP DATABASE crm;");
    for d in dumps {
        server.load(&decompressed(d));
    }
    assert_eq!(snapshot(server), before, "restored from {dumps:?}");
}

#[test]
fn dumps_match_cback3_and_restore_to_the_same_data() {
    let Some(cb3) = cb3() else { return };
    if ["mariadb-install-db", "mariadbd", "mysqldump", "mariadb"]
        .iter()
        .any(|t| tool(t, &["/usr/sbin"]).is_none())
    {
        return;
    }
    let b = Bench::new();
    let started = Instant::now();
    let server = Server::start(&b.path("mysql"));
    eprintln!("mariadbd ready in {:?}", started.elapsed());
    server.sql(SCHEMA);
    let before = snapshot(&server);
    assert!(
        before.contains("NULL") && before.contains("DEADBEEF"),
        "{before}"
    );
    let home = server.home.to_str().unwrap();
    let env = [("HOME", home)];

    // All databases, user and password as Cedar passes them.
    let dumps = both_dump(
        &b,
        &cb3,
        "mysql",
        "<mysql><user>backup</user><password>s3cret;\"quoted</password>\
         <compress_mode>none</compress_mode><all>Y</all></mysql>",
        &env,
        &["mysqldump.txt"],
        comparable,
    );
    restores(&server, &dumps, &before);

    // Each database, credentials from ~/.my.cnf as Cedar recommends.
    let cnf = server.home.join(".my.cnf");
    let mut text = std::fs::read_to_string(&cnf).unwrap();
    text.push_str("[mysqldump]\nuser=backup\npassword=\"s3cret;\\\"quoted\"\n");
    std::fs::write(&cnf, &text).unwrap();
    let dumps = both_dump(
        &b,
        &cb3,
        "mysql",
        "<mysql><compress_mode>gzip</compress_mode><database>shop</database>\
         <database>crm</database></mysql>",
        &env,
        &["mysqldump-crm.txt.gz", "mysqldump-shop.txt.gz"],
        comparable,
    );
    restores(&server, &dumps, &before);
    let dumps = both_dump(
        &b,
        &cb3,
        "mysql",
        "<mysql><compress_mode>bzip2</compress_mode><all>Y</all></mysql>",
        &env,
        &["mysqldump.txt.bz2"],
        comparable,
    );
    restores(&server, &dumps, &before);

    // A database that does not exist; then a wrong password.
    let (user, group, _) = backup_owner();
    for (section, message) in [
        (
            "<mysql><compress_mode>gzip</compress_mode><database>shop</database>\
             <database>nope</database></mysql>",
            "executing MySQL database dump for database [nope].",
        ),
        (
            "<mysql><user>backup</user><password>wrong</password>\
             <compress_mode>none</compress_mode><all>Y</all></mysql>",
            "executing MySQL database dump for all databases.",
        ),
    ] {
        both_fail(&b, &cb3, "mysql", section, message, &env, |n| {
            n.contains("shop")
        });
        // validate says which dump cannot be made.
        let conf = b.config(
            Who::Cedar,
            "mysql",
            section,
            not_today(),
            (&user, &group),
            &[],
        );
        let (_, log) = run(Who::Cedar, &cb3, &conf, &["validate"], &env);
        assert!(log.contains("mysql: cannot dump"), "{}", tail(&log, 10));
    }
    let conf = b.config(
        Who::Cedar,
        "mysql",
        "<mysql><compress_mode>none</compress_mode><all>Y</all></mysql>",
        not_today(),
        (&user, &group),
        &[],
    );
    let (_, log) = run(Who::Cedar, &cb3, &conf, &["validate"], &env);
    assert!(!log.contains("mysql:"), "{}", tail(&log, 10));
    drop(server);
    eprintln!("whole test {:?}", started.elapsed());
}
