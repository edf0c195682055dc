//! Image building throughput: planning and streaming many small files (the
//! per-file cost) and a few large ones (the copy cost), to a sink so only
//! the crate's own work is measured; host-file trees are timed end to end
//! by `scripts/bench-iso.sh`.

use std::fs;
use std::io;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use iso9660::{FileData, GraftPoint, Layout, Metadata, Options, RockRidge, Tree};

fn small_tree() -> Tree {
    let mut tree = Tree::new(Metadata::new(0o755, 0, 0, 0));
    for d in 0..20 {
        for f in 0..100 {
            let data = vec![f as u8; 1024 + (f * 97) % 8192];
            let size = data.len() as u64;
            let path = format!("dir{d:03}/file-with-a-longish-name-{f:05}.dat");
            tree.add_file(
                path.as_bytes(),
                Metadata::new(0o644, 1000, 100, 1_700_000_000),
                FileData::Bytes(data),
                size,
            )
            .unwrap();
        }
    }
    tree
}

fn big_tree() -> Tree {
    let mut tree = Tree::new(Metadata::new(0o755, 0, 0, 0));
    for i in 0..4 {
        let data = vec![i as u8; 16 << 20];
        tree.add_file(
            format!("big{i}.bin").as_bytes(),
            Metadata::default(),
            FileData::Bytes(data),
            16 << 20,
        )
        .unwrap();
    }
    tree
}

fn opts() -> Options {
    Options {
        rock_ridge: Some(RockRidge::Rationalized),
        ..Options::default()
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("build_image");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2000));
    g.bench_function("plan+write 2000 small in-memory files", |b| {
        b.iter_batched(
            small_tree,
            |t| {
                Layout::plan(t, opts())
                    .unwrap()
                    .write(io::sink(), &mut ())
                    .unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Bytes(64 << 20));
    g.bench_function("plan+write 4 x 16 MiB in-memory files", |b| {
        b.iter_batched(
            big_tree,
            |t| {
                Layout::plan(t, opts())
                    .unwrap()
                    .write(io::sink(), &mut ())
                    .unwrap()
            },
            BatchSize::LargeInput,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    for d in 0..20 {
        fs::create_dir(dir.path().join(format!("d{d}"))).unwrap();
        for f in 0..100 {
            fs::write(
                dir.path().join(format!("d{d}/f{f}")),
                vec![1u8; 1024 + f * 80],
            )
            .unwrap();
        }
    }
    g.throughput(Throughput::Elements(2000));
    g.bench_function("scan+plan+write 2000 host files", |b| {
        b.iter(|| {
            let mut t = Tree::new(Metadata::default());
            t.add_graft(&GraftPoint {
                disc: Vec::new(),
                host: dir.path().to_path_buf(),
            })
            .unwrap();
            Layout::plan(t, opts())
                .unwrap()
                .write(io::sink(), &mut ())
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
