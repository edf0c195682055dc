//! Running external commands the way Cedar Backup does: arguments split on
//! spaces with double quotes grouping (never through a shell), the program
//! name resolved through the config's `<override>` list, stdout and stderr
//! merged and logged line by line (to the log file only with `-O`/`-d`).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};

/// `log` target for the output of executed commands; the logger writes it
/// only when `-O/--output` or `-d/--debug` is in effect, as Cedar's
/// `CedarBackup3.output` logger does.
pub const OUTPUT_TARGET: &str = "cedar::output";

/// Splits a command line like Cedar's `splitCommandLine`: a field is either a
/// run of characters other than space and `"`, or a double-quoted group; the
/// quotes themselves are dropped. Single quotes have no meaning.
pub fn split_command_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('"') {
            // A quote only groups when it is closed and the group is non-empty
            // (`"[^"]+"`); otherwise the quote is skipped like any separator.
            match after.find('"') {
                Some(end) if end > 0 => {
                    fields.push(after[..end].to_string());
                    rest = &after[end + 1..];
                }
                _ => rest = after,
            }
        } else if let Some(after) = rest.strip_prefix(' ') {
            rest = after;
        } else {
            let end = rest.find([' ', '"']).unwrap_or(rest.len());
            fields.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    fields
}

/// The result of running a command: its status and merged output lines.
#[derive(Debug)]
pub struct CommandOutput {
    /// How the process ended.
    pub status: ExitStatus,
    /// stdout and stderr lines, in the order they were read.
    pub lines: Vec<String>,
}

impl CommandOutput {
    /// The last `n` output lines joined for an error message.
    pub fn tail(&self, n: usize) -> String {
        let start = self.lines.len().saturating_sub(n);
        self.lines[start..].join("\n   ")
    }
}

/// The locale variables Cedar's `sanitizeEnvironment` removes before it runs
/// a command whose output it keeps (it also sets a present `LANG` to `C`).
const LOCALE_VARS: [&str; 13] = [
    "LC_ADDRESS",
    "LC_ALL",
    "LC_COLLATE",
    "LC_CTYPE",
    "LC_IDENTIFICATION",
    "LC_MEASUREMENT",
    "LC_MESSAGES",
    "LC_MONETARY",
    "LC_NAME",
    "LC_NUMERIC",
    "LC_PAPER",
    "LC_TELEPHONE",
    "LC_TIME",
];

/// How many stderr lines [`CommandRunner::run_into`] keeps for messages.
const STDERR_TAIL: usize = 20;

/// The result of [`CommandRunner::run_into`]: the status, the bytes of
/// stdout written, and the last lines of stderr.
#[derive(Debug)]
pub struct StreamedOutput {
    /// How the process ended.
    pub status: ExitStatus,
    /// Bytes of stdout copied to the output.
    pub bytes: u64,
    /// The last stderr lines (at most 20), for error messages.
    pub stderr: Vec<String>,
}

impl StreamedOutput {
    /// The exit code as Cedar reports it (a signal death counts as -1).
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

/// Resolves command names through `<override>` entries and runs them.
#[derive(Debug, Clone, Default)]
pub struct CommandRunner {
    overrides: HashMap<String, String>,
}

impl CommandRunner {
    /// A runner using the given `command name → absolute path` overrides.
    pub fn new(overrides: HashMap<String, String>) -> Self {
        CommandRunner { overrides }
    }

    /// The path to execute for `command`: its override if one is configured.
    pub fn resolve<'a>(&'a self, command: &'a str) -> &'a str {
        self.overrides
            .get(command)
            .map(String::as_str)
            .unwrap_or(command)
    }

    /// The command for `argv` (program resolved, arguments added, logged as
    /// Cedar logs it) and the program's name for messages.
    fn command(&self, argv: &[String]) -> std::io::Result<(Command, String)> {
        let (program, args) = argv.split_first().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command line")
        })?;
        let program = self.resolve(program);
        log::debug!("Executing command {program:?} with args {args:?}.");
        log::info!(target: OUTPUT_TARGET, "Executing command {program:?} with args {args:?}.");
        let mut command = Command::new(program);
        command.args(args);
        Ok((command, program.to_string()))
    }

    /// Runs `argv` (program first), without a shell, merging stderr into the
    /// captured output. Fails only when the program cannot be started.
    pub fn run(&self, argv: &[String]) -> std::io::Result<CommandOutput> {
        let (mut command, program) = self.command(argv)?;
        let (reader, writer) = std::io::pipe()?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(writer.try_clone()?)
            .stderr(writer)
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
        // The command holds the pipe's write ends: close ours, or the read
        // below never sees the end.
        drop(command);
        let mut lines = Vec::new();
        for line in BufReader::new(reader).split(b'\n') {
            let line = String::from_utf8_lossy(&line?).into_owned();
            log::info!(target: OUTPUT_TARGET, "{line}");
            lines.push(line);
        }
        let status = child.wait()?;
        Ok(CommandOutput { status, lines })
    }

    /// Runs `argv` with its stdout streamed into `out` (constant memory),
    /// as Cedar's `executeCommand(..., ignoreStderr=True, outputFile=...)`
    /// does for dumps: the locale reset to `C`, stderr kept apart (logged
    /// with the command output, its tail returned). When writing to `out`
    /// fails, the command is killed and the write error returned.
    pub fn run_into(
        &self,
        argv: &[String],
        out: &mut dyn Write,
    ) -> std::io::Result<StreamedOutput> {
        let (mut command, program) = self.command(argv)?;
        for var in LOCALE_VARS {
            command.env_remove(var);
        }
        if std::env::var_os("LANG").is_some() {
            command.env("LANG", "C");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
        let stderr = child.stderr.take().map(|err| {
            std::thread::spawn(move || {
                let mut tail = VecDeque::with_capacity(STDERR_TAIL);
                for line in BufReader::new(err).split(b'\n').map_while(Result::ok) {
                    let line = String::from_utf8_lossy(&line).into_owned();
                    log::info!(target: OUTPUT_TARGET, "{line}");
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
                Vec::from(tail)
            })
        });
        let copied = match child.stdout.take() {
            Some(mut stdout) => copy_out(&mut stdout, out),
            None => Ok(0),
        };
        if copied.is_err() {
            let _ = child.kill();
        }
        let status = child.wait()?;
        let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
        Ok(StreamedOutput {
            status,
            bytes: copied?,
            stderr,
        })
    }
}

/// `io::copy` that retries interrupted reads and reports the bytes copied.
fn copy_out(from: &mut dyn Read, to: &mut dyn Write) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_command_line(s)
    }

    #[test]
    fn splits_on_spaces_and_groups_double_quotes() {
        assert_eq!(
            split("cback3 --verbose stage store"),
            ["cback3", "--verbose", "stage", "store"]
        );
        assert_eq!(split(r#"echo "a b"  c"#), ["echo", "a b", "c"]);
        assert_eq!(split(r#"x a"b c"d"#), ["x", "a", "b c", "d"]);
        assert_eq!(split("echo 'a b'"), ["echo", "'a", "b'"]);
        assert_eq!(split(r#"a "" b"#), ["a", "b"]);
        assert_eq!(split(r#"a "b"#), ["a", "b"]);
        assert!(split("   ").is_empty());
    }

    #[test]
    fn runs_without_a_shell_and_captures_both_streams() {
        let runner = CommandRunner::default();
        let out = runner
            .run(&[
                "sh".into(),
                "-c".into(),
                "echo out; echo err >&2; exit 3".into(),
            ])
            .expect("sh runs");
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.lines, ["out", "err"]);
        let out = runner
            .run(&["echo".into(), "$HOME;".into()])
            .expect("echo runs");
        assert_eq!(out.lines, ["$HOME;"]);
    }

    #[test]
    fn overrides_replace_the_program_path() {
        let runner = CommandRunner::new([("frob".to_string(), "/bin/echo".to_string())].into());
        let out = runner
            .run(&["frob".into(), "hi".into()])
            .expect("override runs");
        assert_eq!(out.lines, ["hi"]);
        assert!(runner.run(&["/nonexistent/cmd".into()]).is_err());
        let mut out = Vec::new();
        let streamed = runner
            .run_into(
                &[
                    "sh".into(),
                    "-c".into(),
                    "echo $LC_ALL-$LANG; echo e >&2; exit 2".into(),
                ],
                &mut out,
            )
            .expect("sh runs");
        assert_eq!(streamed.code(), 2);
        assert_eq!(streamed.stderr, ["e"]);
        let lang = if std::env::var_os("LANG").is_some() {
            "C"
        } else {
            ""
        };
        assert_eq!(out, format!("-{lang}\n").as_bytes());
    }
}
