//! Finding a reference program the tests run (skip without it, fail under CI).

use std::path::PathBuf;

/// `program` on PATH (or in `extra` directories), else skip (fail under CI).
pub fn tool(program: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is not installed; required under CI (see .ci/run)"
        );
        eprintln!("skipping: {program} is not installed");
    }
    found
}
