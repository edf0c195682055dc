//! cedar's knapsack fits against Cedar's own: the same files (sparse, of
//! chosen sizes, in a chosen order) spanned by `BackupFileList.generateSpan`
//! run in cback3's Python and by `cedar::knapsack::span` give the same
//! discs, file for file in the same order, with the same sizes and
//! utilizations (compared as Python's `repr` and Rust's shortest
//! round-trip text, so no JSON float parsing stands between), for all four
//! algorithms.

mod support;

use std::path::PathBuf;

use cedar::knapsack::{span, Algorithm};

const CEDAR_SPAN: &str = r#"
import json, sys
from CedarBackup3.filesystem import BackupFileList
paths, capacity, algorithm = json.loads(sys.stdin.read())
files = BackupFileList()
for p in paths:
    files.append(p)
result = []
for item in files.generateSpan(capacity=capacity, algorithm=algorithm):
    result.append([list(item.fileList), repr(float(item.size)), repr(item.utilization)])
print(json.dumps(result))
"#;

fn python() -> Option<PathBuf> {
    let cb3 = support::cb3()?;
    Some(support::cb3_python(&cb3))
}

/// Sizes from a small xorshift, with repeats and zero-length files so ties
/// and empty items are exercised.
fn sizes(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match i % 9 {
                0 => 0,
                1 => 700_000,
                _ => x % 1_500_000,
            }
        })
        .collect()
}

#[test]
fn spans_match_cedars_generate_span() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (round, (n, capacity)) in [(25, 2_000_000.0), (60, 3_141_592.5), (7, 1_500_000.0)]
        .into_iter()
        .enumerate()
    {
        let sizes = sizes(n, 7 + round as u64);
        // Listed in an order that is not the names' order.
        let mut paths = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let p = dir.path().join(format!("r{round}-f{:03}", (i * 17) % n));
            let f = std::fs::File::create(&p).unwrap();
            f.set_len(*size).unwrap();
            paths.push(p.to_str().unwrap().to_string());
        }
        let items: Vec<(String, f64)> = paths
            .iter()
            .zip(&sizes)
            .map(|(p, s)| (p.clone(), *s as f64))
            .collect();
        for (alg, name) in Algorithm::ALL {
            let input = serde_json::json!([paths, capacity, format!("{name}_fit")]).to_string();
            let out = support::run_python(&python, CEDAR_SPAN, &input);
            let theirs: Vec<(Vec<String>, String, String)> = serde_json::from_str(&out).unwrap();
            let ours = span(&items, capacity, alg).unwrap();
            assert_eq!(
                ours.len(),
                theirs.len(),
                "{name}, round {round}: disc count"
            );
            for (k, (d, t)) in ours.iter().zip(&theirs).enumerate() {
                assert_eq!(d.items, t.0, "{name}, round {round}, disc {k}: files");
                assert_eq!(
                    format!("{:?}", d.size),
                    t.1,
                    "{name}, round {round}, disc {k}: size"
                );
                assert_eq!(
                    format!("{:?}", d.utilization),
                    t.2,
                    "{name}, round {round}, disc {k}: utilization"
                );
            }
        }
    }
}
