//! Listing a directory in the tests (shared with the library's unit tests).

use std::path::Path;

/// Names in `dir`, sorted (lossy text).
pub fn sorted_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
