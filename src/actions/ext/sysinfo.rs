//! `CedarBackup3.extend.sysinfo`: what a bare-metal restore needs to know
//! about the machine, written to the collect directory as Cedar names it,
//! always bzip2-compressed: the Debian package selections
//! (`dpkg-selections.txt.bz2`), the partition table (`fdisk-l.txt.bz2`)
//! and a listing of the whole filesystem (`ls-laR.txt.bz2`).
//!
//! As in Cedar, dpkg and fdisk are looked for at their fixed paths and a
//! tool that is missing (no dpkg off Debian, no fdisk in a container) is
//! skipped with a logged warning; their exit status counts, the listing's
//! does not (`ls -laR /` always meets something it cannot read).

use std::path::Path;

use super::{collect_dir, dump_command, tool_problem};
use crate::actions::ActionContext;
use crate::config::extensions::CompressMode;
use crate::exec::CommandRunner;

/// One dump sysinfo makes.
struct Tool {
    /// What it is, in Cedar's log and error messages.
    what: &'static str,
    /// The program; a path is checked before it runs, a bare name is not.
    program: &'static str,
    args: &'static [&'static str],
    /// The output's name before `.txt.bz2`.
    name: &'static str,
    /// Whether a non-zero exit fails the action.
    checked: bool,
}

const TOOLS: [Tool; 3] = [
    Tool {
        what: "Debian package dump",
        program: "/usr/bin/dpkg",
        args: &["--get-selections"],
        name: "dpkg-selections",
        checked: true,
    },
    Tool {
        what: "partition table dump",
        program: "/sbin/fdisk",
        args: &["-l"],
        name: "fdisk-l",
        checked: true,
    },
    Tool {
        what: "filesystem contents dump",
        program: "ls",
        args: &["-laR", "/"],
        name: "ls-laR",
        checked: false,
    },
];

/// Runs the sysinfo action.
pub(crate) fn run(ctx: &ActionContext<'_>) -> anyhow::Result<()> {
    log::debug!("Executing sysinfo extended action.");
    let target = collect_dir(ctx)?;
    for tool in &TOOLS {
        dump(ctx, tool, &target)?;
    }
    log::info!("Executed the sysinfo extended action successfully.");
    Ok(())
}

/// Why a tool at a fixed path is skipped, if it is.
fn missing(program: &str) -> Option<&'static str> {
    if !program.starts_with('/') {
        return None;
    }
    let path = Path::new(program);
    if !path.exists() {
        Some("doesn't seem to exist")
    } else if nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_err() {
        Some("cannot be executed")
    } else {
        None
    }
}

fn dump(ctx: &ActionContext<'_>, tool: &Tool, target: &Path) -> anyhow::Result<()> {
    if let Some(why) = missing(tool.program) {
        log::warn!("Not executing {} since {} {why}.", tool.what, tool.program);
        return Ok(());
    }
    let path = target.join(format!("{}.txt.bz2", tool.name));
    let mut argv = vec![tool.program.to_string()];
    argv.extend(tool.args.iter().map(|a| a.to_string()));
    dump_command(ctx, &argv, &path, CompressMode::Bzip2, |code| {
        tool.checked
            .then(|| format!("Error [{code}] executing {}.", tool.what))
    })
}

/// `validate`: the listing's `ls` must exist (dpkg and fdisk are optional).
pub(crate) fn validate(runner: &CommandRunner) -> Vec<String> {
    tool_problem(runner, "ls", "sysinfo").into_iter().collect()
}
