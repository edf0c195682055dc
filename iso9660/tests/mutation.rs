//! Stable-Rust stand-in for the fuzzers: valid images (Rock Ridge, CE
//! chains, relocated directories, multi-extent files) are mutated at random
//! and fed to the same entry points as `fuzz/fuzz_targets/read_image.rs`
//! and `store_session.rs`.
//! Every call must return — an error is fine, a panic or hang is not.
//! Hand-made hostile images (loops, huge sizes, deep nesting) check the
//! specific defences.

use std::io::Cursor;
use std::time::{Duration, Instant};

use iso9660::{exercise, FileData, Layout, Level, Metadata, NodeKind, Options, Tree};

/// Deterministic xorshift so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seed_image(variant: u32) -> Vec<u8> {
    let mut tree = Tree::new(Metadata::new(0o755, 0, 0, 1_000_000));
    let long = "n".repeat(240);
    for i in 0..6 {
        let data = vec![i as u8; 3000 * i];
        let size = data.len() as u64;
        tree.add_file(
            format!("d{i}/{long}{i}").as_bytes(),
            Metadata::new(0o4755, i as u32, i as u32, 99),
            FileData::Bytes(data),
            size,
        )
        .unwrap();
    }
    let deep = (0..11)
        .map(|i| format!("x{i}"))
        .collect::<Vec<_>>()
        .join("/");
    tree.add_file(
        format!("{deep}/leaf").as_bytes(),
        Metadata::default(),
        FileData::Bytes(b"leaf".to_vec()),
        4,
    )
    .unwrap();
    tree.add(
        b"link",
        Metadata::new(0o777, 0, 0, 5),
        NodeKind::Symlink(format!("/{}/../x", "t/".repeat(800)).into_bytes()),
    )
    .unwrap();
    tree.add(b"fifo", Metadata::default(), NodeKind::Fifo)
        .unwrap();
    // Variant 0: level 1 Rock Ridge; 1: level 3 with tiny extents (many
    // multi-extent files) and Joliet; 2: Joliet without Rock Ridge.
    let opts = Options {
        level: if variant == 0 {
            Level::One
        } else {
            Level::Three
        },
        max_extent: if variant == 1 {
            4096
        } else {
            iso9660::MAX_EXTENT
        },
        joliet: variant > 0,
        rock_ridge: if variant == 2 {
            None
        } else {
            Some(iso9660::RockRidge::Faithful)
        },
        ..Options::default()
    };
    let mut image = Vec::new();
    Layout::plan(tree, opts)
        .unwrap()
        .write(&mut image, &mut ())
        .unwrap();
    image
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut img = base.to_vec();
    for _ in 0..1 + rng.below(8) {
        // Metadata lives in the first blocks; mutate there most of the time.
        let meta_end = img.len().min(64 * 2048);
        if meta_end == 0 {
            break;
        }
        let at = if rng.below(10) < 9 {
            rng.below(meta_end)
        } else {
            rng.below(img.len())
        };
        match rng.below(6) {
            0 => img[at] ^= 1 << rng.below(8),
            1 => img[at] = [0, 0xFF, 0x7F, 0x80, 1][rng.below(5)],
            2 => {
                let v = rng.next().to_le_bytes();
                let n = 1 + rng.below(8);
                for (k, b) in v.iter().take(n).enumerate() {
                    if let Some(x) = img.get_mut(at + k) {
                        *x = *b;
                    }
                }
            }
            3 => {
                let from = rng.below(meta_end);
                let n = rng.below(64);
                let chunk: Vec<u8> = img[from..(from + n).min(img.len())].to_vec();
                for (k, b) in chunk.iter().enumerate() {
                    if let Some(x) = img.get_mut(at + k) {
                        *x = *b;
                    }
                }
            }
            4 => img.truncate(at.max(1)),
            _ => {
                // Point a 32-bit field somewhere plausible (a nearby block).
                let v = (rng.below(80) as u32).to_le_bytes();
                for (k, b) in v.iter().enumerate() {
                    if let Some(x) = img.get_mut(at + k) {
                        *x = *b;
                    }
                }
            }
        }
    }
    img
}

fn both32(img: &mut [u8], at: usize, v: u32) {
    img[at..at + 4].copy_from_slice(&v.to_le_bytes());
    img[at + 4..at + 8].copy_from_slice(&v.to_be_bytes());
}

fn le32(img: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(img[at..at + 4].try_into().unwrap())
}

/// Every CE entry in the image: (position, target byte offset, length).
fn ce_entries(img: &[u8]) -> Vec<(usize, usize, usize)> {
    (0..img.len().saturating_sub(28))
        .filter(|&i| &img[i..i + 4] == b"CE\x1c\x01")
        .map(|i| {
            (
                i,
                le32(img, i + 4) as usize * 2048 + le32(img, i + 12) as usize,
                le32(img, i + 20) as usize,
            )
        })
        .collect()
}

/// Byte offset of the first subdirectory record of the root.
fn first_subdir_record(img: &[u8]) -> (usize, u32) {
    let root = le32(img, 16 * 2048 + 156 + 2);
    let mut pos = root as usize * 2048;
    loop {
        let len = img[pos] as usize;
        assert!(len > 0, "root has no subdirectory");
        let ident_len = img[pos + 32];
        if img[pos + 25] & 2 != 0 && !(ident_len == 1 && img[pos + 33] <= 1) {
            return (pos, root);
        }
        pos += len;
    }
}

#[test]
fn continuation_loop_is_an_error_not_a_hang() {
    let mut img = seed_image(0);
    let ces = ce_entries(&img);
    // A CE inside another CE's area is a chain link; point it back at the
    // area that holds it.
    let (outer, inner) = ces
        .iter()
        .find_map(|x| {
            ces.iter()
                .find(|y| y.0 >= x.1 && y.0 < x.1 + x.2)
                .map(|y| (*x, *y))
        })
        .expect("seed has a chained continuation area");
    both32(&mut img, inner.0 + 4, (outer.1 / 2048) as u32);
    both32(&mut img, inner.0 + 12, (outer.1 % 2048) as u32);
    let err = exercise(&img).unwrap_err();
    assert!(err.to_string().contains("loop"), "{err}");
}

#[test]
fn directory_loop_is_an_error_not_a_hang() {
    let mut img = seed_image(0);
    let (rec, root) = first_subdir_record(&img);
    both32(&mut img, rec + 2, root);
    let err = exercise(&img).unwrap_err();
    assert!(err.to_string().contains("loop"), "{err}");
}

#[test]
fn sizes_beyond_the_volume_are_refused() {
    let mut img = seed_image(0);
    let (rec, _) = first_subdir_record(&img);
    both32(&mut img, rec + 10, u32::MAX - 2047);
    let err = exercise(&img).unwrap_err();
    assert!(err.to_string().contains("past the volume end"), "{err}");
    // A truncated image fails cleanly too.
    let img = seed_image(1);
    for cut in [0, 100, 16 * 2048 + 10, 20 * 2048, 24 * 2048] {
        assert!(exercise(&img[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn nesting_beyond_the_limit_is_an_error() {
    let mut tree = Tree::new(Metadata::default());
    let deep = vec!["d"; 80].join("/");
    tree.add_file(
        format!("{deep}/f").as_bytes(),
        Metadata::default(),
        FileData::Bytes(b"x".to_vec()),
        1,
    )
    .unwrap();
    let mut img = Vec::new();
    Layout::plan(tree, Options::default())
        .unwrap()
        .write(&mut img, &mut ())
        .unwrap();
    let mut r = iso9660::Reader::open(Cursor::new(img.clone())).unwrap();
    assert!(r.lookup(format!("/{deep}/f")).unwrap().is_some());
    // The fuzzing entry point allows 64 levels only.
    let err = exercise(&img).unwrap_err();
    assert!(err.to_string().contains("deeper"), "{err}");
}

#[test]
fn seeds_are_valid() {
    for v in 0..3 {
        let img = seed_image(v);
        assert!(exercise(&img).is_ok(), "seed {v}: {:?}", exercise(&img));
        let mut r = iso9660::Reader::open(Cursor::new(img)).unwrap();
        assert!(r
            .lookup("/x0/x1/x2/x3/x4/x5/x6/x7/x8/x9/x10/leaf")
            .unwrap()
            .is_some());
    }
}

#[test]
fn mutated_images_never_panic_or_hang() {
    let iterations: usize = std::env::var("ISO_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seeds = [seed_image(0), seed_image(1), seed_image(2)];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut errors = 0;
    let mut slowest = Duration::ZERO;
    for i in 0..iterations {
        let img = mutate(&mut rng, &seeds[i % seeds.len()]);
        let t = Instant::now();
        // Every third image also goes through what store does with it
        // (the store_session fuzz target's entry point).
        let r = std::panic::catch_unwind(|| {
            if i % 3 == 0 {
                let _ = iso9660::exercise_store(&img);
            }
            exercise(&img)
        });
        let took = t.elapsed();
        slowest = slowest.max(took);
        match r {
            Ok(Err(_)) => errors += 1,
            Ok(Ok(_)) => {}
            Err(_) => {
                let path = std::env::temp_dir().join(format!("iso9660-crash-{i}.iso"));
                std::fs::write(&path, &img).unwrap();
                panic!(
                    "reader panicked on mutation {i}; input saved to {}",
                    path.display()
                );
            }
        }
        assert!(took < Duration::from_secs(2), "mutation {i} took {took:?}");
    }
    // The mutations must actually bite, or this test proves nothing.
    assert!(
        errors > iterations / 10,
        "only {errors} of {iterations} mutated images were rejected"
    );
    eprintln!("{iterations} mutations, {errors} rejected, slowest {slowest:?}");
}

#[test]
fn walks_stop_at_the_directory_byte_budget() {
    let img = seed_image(0);
    let tight = iso9660::Limits {
        max_walk_bytes: 4 * 2048,
        ..iso9660::Limits::default()
    };
    let mut r =
        iso9660::Reader::from_source(iso9660::ReadSeekSource(Cursor::new(img.clone())), 0, tight)
            .unwrap();
    // Read, or only claimed by their parents' records: either budget.
    let err = r.walk(|_, _| Ok(())).unwrap_err().to_string();
    assert!(
        err.contains("directories add up") || err.contains("directories larger in all"),
        "{err}"
    );
    let mut r = iso9660::Reader::open(Cursor::new(img)).unwrap();
    r.walk(|_, _| Ok(())).unwrap();
}
