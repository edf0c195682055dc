//! The block reader over a drive: blocks and byte ranges read back from the
//! emulated burner, the read-ahead window, the fallback at the end of the
//! recorded area and errors that name the block.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mmc::{BlockReader, Drive, Emulator, NoProgress, ReadError, WriteOptions};
use support::Shared;

const READ10: u8 = 0x28;

fn blocks(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n * 2048];
    for (i, b) in v.chunks_mut(2048).enumerate() {
        for (j, x) in b.iter_mut().enumerate() {
            *x = (i * 7 + j) as u8;
        }
        b[..4].copy_from_slice(&(i as u32).to_be_bytes());
    }
    v
}

/// A DVD+R with one closed session of `n` blocks, and a drive on it that
/// lets the test see the emulator.
fn disc(dir: &tempfile::TempDir, n: usize) -> (Drive, Arc<Mutex<Emulator>>) {
    let spec = format!(
        "emulated:{}?profile=dvd+r&busy=0",
        dir.path().join("disc.iso").display()
    );
    let mut d = Drive::open(&spec).unwrap();
    d.write_session(
        &mut &blocks(n)[..],
        &WriteOptions::default(),
        &mut NoProgress,
    )
    .unwrap();
    drop(d);
    let emu = Arc::new(Mutex::new(Emulator::open_spec(&spec).unwrap()));
    let mut d = Drive::new(Box::new(Shared {
        emu: Arc::clone(&emu),
        name: spec,
        profile: None,
    }));
    d.set_poll_interval(Duration::from_millis(1));
    (d, emu)
}

fn reads(emu: &Arc<Mutex<Emulator>>) -> u32 {
    emu.lock().unwrap().command_count(READ10)
}

#[test]
fn blocks_and_byte_ranges_read_back_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, emu) = disc(&dir, 64);
    let want = blocks(64);
    let mut r = BlockReader::with_read_ahead(&mut d, 8);
    assert_eq!(r.block(3).unwrap(), &want[3 * 2048..4 * 2048]);
    // Blocks 3..11 are held: small reads inside them cost no command.
    let before = reads(&emu);
    let mut small = [0u8; 100];
    r.read_at(5 * 2048 + 2000, &mut small).unwrap();
    assert_eq!(small[..], want[5 * 2048 + 2000..5 * 2048 + 2100]);
    assert_eq!(r.block(10).unwrap(), &want[10 * 2048..11 * 2048]);
    assert_eq!(reads(&emu), before);
    // A range across the window's end and whole blocks after it.
    let mut big = vec![0u8; 20 * 2048 + 10];
    r.read_at(9 * 2048 + 5, &mut big).unwrap();
    assert_eq!(big[..], want[9 * 2048 + 5..29 * 2048 + 15]);
    // Memory stays the window: a large aligned read goes straight to the buffer.
    let mut all = vec![0u8; 64 * 2048];
    r.read_at(0, &mut all).unwrap();
    assert_eq!(all, want);
}

#[test]
fn read_ahead_past_the_recorded_area_falls_back_to_the_block() {
    let dir = tempfile::tempdir().unwrap();
    // 32 blocks written (two ECC units); after them the session gap.
    let (mut d, emu) = disc(&dir, 32);
    let want = blocks(32);
    let mut r = BlockReader::with_read_ahead(&mut d, 16);
    let before = reads(&emu);
    assert_eq!(r.block(31).unwrap(), &want[31 * 2048..]);
    // The read-ahead was refused by the drive, then the block alone was read.
    assert_eq!(reads(&emu), before + 2);
    let mut tail = [0u8; 48];
    r.read_at(32 * 2048 - 48, &mut tail).unwrap();
    assert_eq!(tail[..], want[32 * 2048 - 48..]);
}

#[test]
fn a_failed_read_names_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, _emu) = disc(&dir, 32);
    let free_start = d.medium_info().unwrap().next_writable.unwrap();
    let mut r = BlockReader::new(&mut d);
    let e = r.block(free_start).unwrap_err();
    assert_eq!(e.lba(), Some(free_start));
    let ReadError::Drive { source, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(source.sense().is_some(), "{source:?}");
    // The message names the block; the drive's error is its source.
    assert_eq!(e.to_string(), format!("reading block {free_start}"));
    let cause = std::error::Error::source(&e).map(|c| c.to_string());
    assert_eq!(cause, Some(source.to_string()));
    let mut buf = [0u8; 4096];
    let e = r
        .read_at(u64::from(free_start) * 2048 + 1, &mut buf)
        .unwrap_err();
    assert_eq!(e.lba(), Some(free_start));
    let e = r.read_at(u64::MAX - 10, &mut buf).unwrap_err();
    assert!(matches!(e, ReadError::Address { .. }), "{e:?}");
    // The reader keeps working after an error.
    assert_eq!(r.block(0).unwrap()[..4], [0, 0, 0, 0]);
}
