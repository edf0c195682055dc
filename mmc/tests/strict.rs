//! What a real drive needs and refuses: the drive layer's commands (issue 11,
//! point 1) checked on a recording of what reached the drive, and each rule
//! of the stricter emulated burner (point 2) checked with raw CDBs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mmc::emulator::{BgFormat, EmulatorOptions, Fault, Timing, Trigger};
use mmc::{
    Completion, DataPhase, Drive, Emulator, Error, MediaType, NoProgress, Sense, Transport,
    WriteOptions, DEFAULT_TIMEOUT, LONG_TIMEOUT,
};

/// One command as the drive saw it.
#[derive(Debug, Clone)]
struct Seen {
    cdb: Vec<u8>,
    data: Vec<u8>,
    timeout: Duration,
    sense: Option<(u8, u8, u8)>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A transport that records every command on its way to the emulator.
struct Recorder {
    inner: Emulator,
    log: Log,
    max_transfer: usize,
}

impl Transport for Recorder {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> mmc::Result<Completion> {
        let out = match &data {
            DataPhase::ToDevice(b) if b.len() <= 512 => b.to_vec(),
            _ => Vec::new(),
        };
        let r = self.inner.execute(cdb, data, timeout);
        let sense = match &r {
            Ok(c) => c.sense.map(|s| s.triple()),
            Err(_) => Some((0xFF, 0, 0)),
        };
        self.log.lock().unwrap().push(Seen {
            cdb: cdb.to_vec(),
            data: out,
            timeout,
            sense,
        });
        r
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn max_transfer(&self) -> usize {
        self.max_transfer
    }
}

fn image(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("disc.iso")
}

fn emulator(path: &Path, media: &str) -> Emulator {
    let opts = EmulatorOptions {
        media: MediaType::by_name(media),
        busy_polls: Some(1),
        ..EmulatorOptions::default()
    };
    Emulator::open(path, opts).unwrap()
}

fn recorded(e: Emulator) -> (Drive, Log) {
    let log: Log = Arc::default();
    let mut d = Drive::new(Box::new(Recorder {
        inner: e,
        log: log.clone(),
        max_transfer: 64 * 1024,
    }));
    d.set_poll_interval(Duration::from_millis(1));
    (d, log)
}

fn blocks(n: usize, fill: u8) -> Vec<u8> {
    let mut v = vec![fill; n * 2048];
    for (i, b) in v.chunks_mut(2048).enumerate() {
        b[..4].copy_from_slice(&(i as u32).to_be_bytes());
    }
    v
}

fn write(d: &mut Drive, data: &[u8], opts: &WriteOptions) -> mmc::Result<mmc::WriteReport> {
    d.write_session(&mut &data[..], opts, &mut NoProgress)
}

fn of(log: &Log, opcode: u8) -> Vec<Seen> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| s.cdb[0] == opcode)
        .cloned()
        .collect()
}

/// Sends raw CDB bytes; Err is the sense triple of a check condition.
fn raw(e: &mut Emulator, cdb: &[u8], data: DataPhase<'_>) -> Result<usize, (u8, u8, u8)> {
    let c = e.execute(cdb, data, LONG_TIMEOUT).unwrap();
    match c.sense {
        Some(s) => Err(s.triple()),
        None => Ok(c.transferred),
    }
}

fn write10(lba: u32, n: u16) -> Vec<u8> {
    let mut c = vec![0x2A, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    c[2..6].copy_from_slice(&lba.to_be_bytes());
    c[7..9].copy_from_slice(&n.to_be_bytes());
    c
}

fn raw_write(e: &mut Emulator, lba: u32, n: u16) -> Result<usize, (u8, u8, u8)> {
    let data = vec![7u8; usize::from(n) * 2048];
    raw(e, &write10(lba, n), DataPhase::ToDevice(&data))
}

fn sync(e: &mut Emulator) -> Result<usize, (u8, u8, u8)> {
    raw(e, &[0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0], DataPhase::None)
}

fn close(e: &mut Emulator, function: u8, track: u16) -> Result<usize, (u8, u8, u8)> {
    let [hi, lo] = track.to_be_bytes();
    raw(
        e,
        &[0x5B, 0, function, 0, hi, lo, 0, 0, 0, 0],
        DataPhase::None,
    )
}

/// MODE SELECT(10) of page 05 with a body of `len` bytes; `tweak` edits the
/// whole parameter list (8-byte header first).
fn select_page05(
    e: &mut Emulator,
    body: &[u8],
    len: usize,
    tweak: impl Fn(&mut Vec<u8>),
) -> Result<usize, (u8, u8, u8)> {
    let mut list = vec![0u8; 8];
    list.push(0x05);
    list.push(len as u8);
    let mut b = vec![0u8; len];
    b[..body.len()].copy_from_slice(body);
    list.extend(b);
    tweak(&mut list);
    let mut cdb = vec![0x55, 0x10, 0, 0, 0, 0, 0, 0, 0, 0];
    cdb[7..9].copy_from_slice(&(list.len() as u16).to_be_bytes());
    raw(e, &cdb, DataPhase::ToDevice(&list))
}

/// CD TAO, keep appendable, data track, Mode 1 (as cdrskin sends it).
const CD_TAO: [u8; 14] = [0x41, 0xC4, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 150];
/// DVD-R incremental, LS_V, FP, mode 5, Mode 1, link 16, packets of 16.
const DVD_R_INC: [u8; 14] = [0x60, 0xE5, 0x08, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 150];

/// Polls TEST UNIT READY until an Immed operation is done.
fn settle(e: &mut Emulator) {
    for _ in 0..100 {
        let c = e
            .execute(&[0; 6], DataPhase::None, DEFAULT_TIMEOUT)
            .unwrap();
        if c.sense.is_none() {
            return;
        }
    }
    panic!("the drive stays busy");
}

fn disc_bg_status(e: &mut Emulator) -> u8 {
    let mut buf = vec![0u8; 34];
    raw(
        e,
        &[0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0],
        DataPhase::FromDevice(&mut buf),
    )
    .unwrap();
    buf[7] & 3
}

// ---- point 1: what the drive layer sends ---------------------------------

#[test]
fn writes_and_reservations_get_the_long_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, log) = recorded(emulator(&image(&dir), "dvd+r"));
    let opts = WriteOptions {
        reserve: true,
        expected_blocks: Some(40),
        ..WriteOptions::default()
    };
    write(&mut d, &blocks(40, 1), &opts).unwrap();
    let slow = [0x2A, 0x53, 0x35, 0x5B];
    for op in slow {
        let seen = of(&log, op);
        assert!(!seen.is_empty(), "{op:02X} not sent");
        assert!(
            seen.iter().all(|s| s.timeout >= Duration::from_secs(200)),
            "{op:02X}"
        );
    }
}

#[test]
fn a_slow_first_write_succeeds_with_the_long_timeout_and_ruins_the_track_with_30_s() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    e.set_timing(Some(Timing::default()));
    let (mut d, log) = recorded(e);
    write(&mut d, &blocks(200, 1), &WriteOptions::default()).unwrap();
    // The drive answered "long write in progress" now and then: resent.
    assert!(of(&log, 0x2A).iter().any(|s| s.sense == Some((2, 4, 8))));
    assert!(of(&log, 0x00).iter().any(|s| s.sense == Some((2, 4, 8))));
    assert_eq!(d.medium_info().unwrap().sessions, 1);

    // A host that gives the first WRITE 30 s: the kernel resets the drive
    // mid-track and the track is damaged; the drive layer then refuses it.
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    e.set_timing(Some(Timing::default()));
    let data = vec![0u8; 16 * 2048];
    let r = e.execute(&write10(0, 16), DataPhase::ToDevice(&data), DEFAULT_TIMEOUT);
    assert!(matches!(r, Err(Error::Transport { .. })), "{r:?}");
    let mut d = Drive::new(Box::new(e));
    let err = write(&mut d, &blocks(16, 2), &WriteOptions::default()).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
}

#[test]
fn the_last_write_of_a_dvd_or_bd_track_is_padded_to_the_ecc_block() {
    for (media, n, unit) in [
        ("dvd+r", 44usize, 16u16),
        ("dvd-r", 44, 16),
        ("bd-r", 44, 32),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (mut d, log) = recorded(emulator(&image(&dir), media));
        let r = write(&mut d, &blocks(n, 3), &WriteOptions::default()).unwrap();
        assert_eq!(
            r.blocks,
            (n as u32).next_multiple_of(u32::from(unit)),
            "{media}"
        );
        for w in of(&log, 0x2A) {
            let count = u16::from_be_bytes([w.cdb[7], w.cdb[8]]);
            assert_eq!(count, unit, "{media}: every WRITE is one whole unit");
        }
        let mut back = vec![0u8; n * 2048];
        d.read_blocks(0, &mut back).unwrap();
        assert_eq!(back, blocks(n, 3));
    }
}

#[test]
fn write_counts_stay_within_write10_even_with_a_huge_transfer_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log: Log = Arc::default();
    let mut d = Drive::new(Box::new(Recorder {
        inner: emulator(&image(&dir), "cdr-80"),
        log: log.clone(),
        max_transfer: usize::MAX,
    }));
    d.set_poll_interval(Duration::from_millis(1));
    write(&mut d, &blocks(400, 1), &WriteOptions::default()).unwrap();
    assert!(of(&log, 0x2A)
        .iter()
        .all(|w| u16::from_be_bytes([w.cdb[7], w.cdb[8]]) <= 16));
}

#[test]
fn bd_r_is_never_formatted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, log) = recorded(emulator(&image(&dir), "bd-r"));
    let e = d.format().unwrap_err();
    assert!(e.to_string().contains("Pseudo-Overwrite"), "{e}");
    assert!(of(&log, 0x04).is_empty());
    write(&mut d, &blocks(40, 1), &WriteOptions::default()).unwrap();
    write(&mut d, &blocks(40, 2), &WriteOptions::default()).unwrap();
    assert_eq!(d.medium_info().unwrap().sessions, 2);
}

#[test]
fn page_05_goes_back_with_the_drives_length_a_zero_header_and_bufe_only_with_buf() {
    for (len, buf) in [(0x32usize, true), (0x36, true), (0x32, false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut e = emulator(&image(&dir), "cdr-80");
        e.set_write_page_len(len);
        e.set_underrun_protection(buf);
        let (mut d, log) = recorded(e);
        write(&mut d, &blocks(300, 1), &WriteOptions::default()).unwrap();
        // MODE SENSE of page 05 came before the first MODE SELECT.
        let all = log.lock().unwrap().clone();
        let sense05 = all
            .iter()
            .position(|s| s.cdb[0] == 0x5A && s.cdb[2] & 0x3F == 5)
            .unwrap();
        let select = all.iter().position(|s| s.cdb[0] == 0x55).unwrap();
        assert!(sense05 < select);
        for s in of(&log, 0x55) {
            assert_eq!(s.sense, None, "{len:#x}");
            assert!(
                s.data[..8].iter().all(|&b| b == 0),
                "header {:02X?}",
                &s.data[..8]
            );
            assert_eq!(usize::from(s.data[9]), len);
            assert_eq!(s.data[10] & 0x40 != 0, buf, "BUFE");
        }
    }
}

#[test]
fn a_suspended_dvd_plus_rw_format_is_restarted_before_writing_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, log) = recorded(emulator(&image(&dir), "dvd+rw"));
    d.format().unwrap();
    write(&mut d, &blocks(64, 1), &WriteOptions::default()).unwrap();
    // The write session stopped the background format: suspended.
    assert_eq!(d.disc_information().unwrap().bg_format_status, 1);
    let before = of(&log, 0x04).len();
    // Within the formatted part: no restart.
    let opts = WriteOptions {
        start: Some(16),
        expected_blocks: Some(16),
        ..WriteOptions::default()
    };
    write(&mut d, &blocks(16, 2), &opts).unwrap();
    assert_eq!(of(&log, 0x04).len(), before);
    // Beyond it: FORMAT 26h with Restart first, then the write.
    let opts = WriteOptions {
        start: Some(4096),
        ..WriteOptions::default()
    };
    write(&mut d, &blocks(64, 3), &opts).unwrap();
    let formats = of(&log, 0x04);
    assert_eq!(formats.len(), before + 1);
    let restart = &formats[before].data;
    assert_eq!((restart[8] >> 2, restart[11] & 1), (0x26, 1));
    let mut back = vec![0u8; 64 * 2048];
    d.read_blocks(4096, &mut back).unwrap();
    assert_eq!(back, blocks(64, 3));
}

#[test]
fn the_tray_is_locked_for_the_write_and_unlocked_also_after_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    e.inject(Fault {
        trigger: Trigger::Block(20),
        sense: Sense::new(3, 0x0C, 0x00),
    });
    let (mut d, log) = recorded(e);
    write(&mut d, &blocks(64, 1), &WriteOptions::default()).unwrap_err();
    let all = log.lock().unwrap().clone();
    let lock = all.iter().position(|s| s.cdb[..5] == [0x1E, 0, 0, 0, 1]);
    let first_write = all.iter().position(|s| s.cdb[0] == 0x2A);
    let unlock = all.iter().rposition(|s| s.cdb[..5] == [0x1E, 0, 0, 0, 0]);
    assert!(
        lock < first_write && first_write < unlock,
        "{lock:?} {first_write:?} {unlock:?}"
    );
    d.eject().unwrap();
}

#[test]
fn set_streaming_on_overwritable_media_ends_at_the_capacity_with_an_offered_speed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut d, log) = recorded(emulator(&image(&dir), "dvd+rw"));
    d.format().unwrap();
    let cap = d.medium_info().unwrap().capacity;
    let speeds = d.write_speeds().unwrap();
    write(&mut d, &blocks(32, 1), &WriteOptions::default()).unwrap();
    let s = of(&log, 0xB6);
    let desc = &s.last().unwrap().data;
    let end = u32::from_be_bytes([desc[8], desc[9], desc[10], desc[11]]);
    let write_kbs = u32::from_be_bytes([desc[20], desc[21], desc[22], desc[23]]);
    assert_eq!(end, cap - 1);
    assert_eq!(write_kbs, speeds[0]);
    assert_eq!(s.last().unwrap().sense, None);
    // A speed asked for is cut to one the drive offers.
    let opts = WriteOptions {
        speed_kbs: Some(speeds[1] as u16 + 100),
        ..WriteOptions::default()
    };
    write(&mut d, &blocks(32, 1), &opts).unwrap();
    let desc = of(&log, 0xB6).last().unwrap().data.clone();
    assert_eq!(
        u32::from_be_bytes([desc[20], desc[21], desc[22], desc[23]]),
        speeds[1]
    );
}

#[test]
fn a_blank_cd_reporting_nwa_minus_150_is_written_at_the_track_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "cdr-80");
    e.set_blank_nwa_minus_150(true);
    let (mut d, _) = recorded(e);
    let r = write(&mut d, &blocks(300, 1), &WriteOptions::default()).unwrap();
    assert_eq!(r.start, 0);
}

/// An emulator opened from a device string, as `cback` and the kernel rig
/// open one.
fn from_spec(dir: &tempfile::TempDir, query: &str) -> Emulator {
    Emulator::open_spec(&format!("emulated:{}?{query}", image(dir).display())).unwrap()
}

#[test]
fn the_drive_settings_of_a_device_string_take_effect() {
    // page05, bufe and nwa150: the drive layer follows the drive it finds.
    let dir = tempfile::tempdir().unwrap();
    let mut e = from_spec(&dir, "profile=cdr-80&busy=1&page05=0x36&bufe=0&nwa150=1");
    let mut buf = vec![0u8; 36];
    let invisible = [0x52, 0x01, 0, 0, 0, 0xFF, 0, 0, 36, 0];
    raw(&mut e, &invisible, DataPhase::FromDevice(&mut buf)).unwrap();
    assert_eq!(
        i32::from_be_bytes([buf[12], buf[13], buf[14], buf[15]]),
        -150
    );
    let (mut d, log) = recorded(e);
    let r = write(&mut d, &blocks(300, 1), &WriteOptions::default()).unwrap();
    assert_eq!(r.start, 0);
    let selects = of(&log, 0x55);
    assert!(!selects.is_empty());
    for s in selects {
        assert_eq!((s.sense, usize::from(s.data[9])), (None, 0x36));
        assert_eq!(s.data[10] & 0x40, 0, "BUFE without BUF");
    }

    // timing=1: the first WRITE outlasts a 30 s host timeout.
    let dir = tempfile::tempdir().unwrap();
    let mut e = from_spec(&dir, "profile=dvd+r&busy=1&timing=1");
    let data = vec![0u8; 16 * 2048];
    let r = e.execute(&write10(0, 16), DataPhase::ToDevice(&data), DEFAULT_TIMEOUT);
    assert!(matches!(r, Err(Error::Transport { .. })), "{r:?}");
    // Its parameters: a 1 s first WRITE fits in 30 s; every 3rd is resent.
    let dir = tempfile::tempdir().unwrap();
    let mut e = from_spec(&dir, "profile=dvd+r&busy=1&first_write=1&long_write=3");
    let mut answers = Vec::new();
    let mut lba = 0;
    while lba < 6 * 16 {
        let c = e.execute(
            &write10(lba, 16),
            DataPhase::ToDevice(&data),
            DEFAULT_TIMEOUT,
        );
        let sense = c.unwrap().sense.map(|s| s.triple());
        if sense.is_none() {
            lba += 16;
        }
        answers.push(sense);
    }
    // WRITEs 3 and 6 are refused and sent again: 8 WRITEs for 6 chunks.
    assert_eq!(answers.len(), 8, "{answers:?}");
    assert_eq!(answers[2], Some((2, 4, 8)), "{answers:?}");
    assert_eq!(answers[5], Some((2, 4, 8)), "{answers:?}");

    // buffer=KIB: the buffer the drive reports and the cache that holds
    // unsynchronized data (3 MiB stay cached in a 4 MiB buffer, not in 2).
    for (query, kib, all_cached) in [("&buffer=4096", 4096u32, true), ("", 2048, false)] {
        let dir = tempfile::tempdir().unwrap();
        let mut e = from_spec(&dir, &format!("profile=dvd+r&busy=1{query}"));
        let mut cap = vec![0u8; 12];
        let rbc = [0x5C, 0, 0, 0, 0, 0, 0, 0, 12, 0];
        raw(&mut e, &rbc, DataPhase::FromDevice(&mut cap)).unwrap();
        assert_eq!(
            u32::from_be_bytes([cap[4], cap[5], cap[6], cap[7]]),
            kib * 1024
        );
        for i in 0..96 {
            raw_write(&mut e, i * 16, 16).unwrap();
        }
        assert_eq!(e.cached_blocks() == 1536, all_cached, "{query}");
    }
}

// ---- point 2: what the emulated burner refuses ---------------------------

#[test]
fn dvd_and_bd_write_once_take_whole_ecc_blocks_and_packets() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    assert_eq!(raw_write(&mut e, 0, 12), Err((5, 0x24, 0)));
    raw_write(&mut e, 0, 16).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "bd-r");
    assert_eq!(raw_write(&mut e, 0, 16), Err((5, 0x24, 0)));
    raw_write(&mut e, 0, 32).unwrap();
    // DVD-R with fixed 16-block packets.
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd-r");
    select_page05(&mut e, &DVD_R_INC, 0x32, |_| {}).unwrap();
    assert_eq!(raw_write(&mut e, 0, 8), Err((5, 0x24, 0)));
    raw_write(&mut e, 0, 16).unwrap();
}

#[test]
fn a_cd_track_needs_page_05_first_and_300_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "cdr-80");
    assert_eq!(raw_write(&mut e, 0, 16), Err((5, 0x2C, 0)));
    select_page05(&mut e, &CD_TAO, 0x32, |_| {}).unwrap();
    raw_write(&mut e, 0, 100).unwrap();
    // TAO ends the track at the flush: too short.
    assert_eq!(sync(&mut e), Err((5, 0x2C, 0)));
    raw_write(&mut e, 100, 200).unwrap();
    sync(&mut e).unwrap();
}

#[test]
fn a_test_write_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "cdr-80");
    let mut test = CD_TAO;
    test[0] |= 0x10;
    select_page05(&mut e, &test, 0x32, |_| {}).unwrap();
    raw_write(&mut e, 0, 300).unwrap();
    sync(&mut e).unwrap();
    close(&mut e, 2, 0).unwrap();
    assert!(e.medium().unwrap().is_blank());
    assert_eq!(std::fs::metadata(image(&dir)).unwrap().len(), 0);
}

#[test]
fn page_05_must_have_the_drives_length_a_zero_header_and_only_changeable_bits() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "cdr-80");
    assert_eq!(
        select_page05(&mut e, &CD_TAO, 0x36, |_| {}),
        Err((5, 0x26, 0))
    );
    assert_eq!(
        select_page05(&mut e, &CD_TAO, 0x32, |l| l[1] = 0x3A),
        Err((5, 0x26, 0))
    );
    // Byte 4 of the page is reserved.
    assert_eq!(
        select_page05(&mut e, &CD_TAO, 0x32, |l| l[10 + 4] = 1),
        Err((5, 0x26, 0))
    );
    select_page05(&mut e, &CD_TAO, 0x32, |_| {}).unwrap();
    e.set_write_page_len(0x36);
    select_page05(&mut e, &CD_TAO, 0x36, |_| {}).unwrap();
    // The changeable mask is not all ones.
    let mut buf = vec![0u8; 70];
    raw(
        &mut e,
        &[0x5A, 0x08, 0x45, 0, 0, 0, 0, 0, 70, 0],
        DataPhase::FromDevice(&mut buf),
    )
    .unwrap();
    assert_eq!((buf[8], buf[9]), (0x05, 0x36));
    let mask = &buf[10..10 + 0x36];
    assert_eq!((mask[0], mask[4], mask[7]), (0x7F, 0, 0));
}

#[test]
fn dvd_r_page_05_needs_link_size_16_mode_1_blocks_and_an_incremental_track() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd-r");
    for (at, v) in [(3usize, 0u8), (2, 10), (1, 0xE4)] {
        let mut p = DVD_R_INC;
        p[at] = v;
        assert_eq!(
            select_page05(&mut e, &p, 0x32, |_| {}),
            Err((5, 0x26, 0)),
            "{at}"
        );
    }
    select_page05(&mut e, &DVD_R_INC, 0x32, |_| {}).unwrap();
}

#[test]
fn closing_a_closed_track_an_unsynced_session_or_streaming_past_the_end_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    raw_write(&mut e, 0, 16).unwrap();
    // Data still in the cache: no session close.
    assert_eq!(close(&mut e, 2, 0), Err((5, 0x2C, 0)));
    sync(&mut e).unwrap();
    close(&mut e, 1, 1).unwrap();
    assert_eq!(close(&mut e, 1, 1), Err((5, 0x24, 0)));
    close(&mut e, 2, 0).unwrap();
    let cap = e.medium().unwrap().capacity;
    for (end, ok) in [(cap - 1, true), (cap, false), (0xFFFF_FFFE, false)] {
        let mut d = vec![0u8; 28];
        d[8..12].copy_from_slice(&end.to_be_bytes());
        d[12..16].copy_from_slice(&1000u32.to_be_bytes());
        d[16..20].copy_from_slice(&1000u32.to_be_bytes());
        let r = raw(
            &mut e,
            &[0xB6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 28, 0],
            DataPhase::ToDevice(&d),
        );
        assert_eq!(r.is_ok(), ok, "end {end:#x}: {r:?}");
    }
}

#[test]
fn data_not_synchronized_is_lost_when_the_drive_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    let mut e = emulator(&path, "dvd+r");
    raw_write(&mut e, 0, 32).unwrap();
    assert_eq!(e.cached_blocks(), 32);
    drop(e); // the process dies before SYNCHRONIZE CACHE
    let e = Emulator::open(&path, EmulatorOptions::default()).unwrap();
    assert!(e.medium().unwrap().is_blank());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    drop(e);
    let mut e = Emulator::open(&path, EmulatorOptions::default()).unwrap();
    raw_write(&mut e, 0, 32).unwrap();
    sync(&mut e).unwrap();
    drop(e);
    let e = Emulator::open(&path, EmulatorOptions::default()).unwrap();
    assert_eq!(e.medium().unwrap().last_recorded(), Some(31));
}

#[test]
fn closing_a_session_costs_space_on_every_write_once_medium() {
    use mmc::emulator::{
        BD_R_SESSION_GAP, CD_FIRST_SESSION_GAP, CD_LATER_SESSION_GAP, CD_TAO_RUN_OUT,
        DVD_MINUS_R_FIRST_BORDER, DVD_MINUS_R_FIRST_BORDER_MIN_END, DVD_MINUS_R_LATER_BORDER,
        DVD_PLUS_R_SESSION_GAP,
    };
    // (media, blocks after the track it leaves: run-out, first close, later close)
    for (media, tail, first, later) in [
        (
            "cdr-80",
            CD_TAO_RUN_OUT,
            CD_FIRST_SESSION_GAP,
            CD_LATER_SESSION_GAP,
        ),
        (
            "cdrw-80",
            CD_TAO_RUN_OUT,
            CD_FIRST_SESSION_GAP,
            CD_LATER_SESSION_GAP,
        ),
        ("dvd+r", 0, DVD_PLUS_R_SESSION_GAP, DVD_PLUS_R_SESSION_GAP),
        (
            "dvd-r",
            0,
            DVD_MINUS_R_FIRST_BORDER,
            DVD_MINUS_R_LATER_BORDER,
        ),
        (
            "dvd-rw",
            0,
            DVD_MINUS_R_FIRST_BORDER,
            DVD_MINUS_R_LATER_BORDER,
        ),
        ("bd-r", 0, BD_R_SESSION_GAP, BD_R_SESSION_GAP),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (mut d, _) = recorded(emulator(&image(&dir), media));
        let r = write(&mut d, &blocks(32, 1), &WriteOptions::default()).unwrap();
        // A DVD-R(W) drive extends a short first border's data.
        let dvd_minus = media.starts_with("dvd-r");
        let end = if dvd_minus {
            r.blocks.max(DVD_MINUS_R_FIRST_BORDER_MIN_END)
        } else {
            r.blocks
        };
        let next = end + tail + first;
        let info = d.medium_info().unwrap();
        assert_eq!(info.msinfo(), Some((0, next)), "{media}");
        assert_eq!(info.free_blocks, info.capacity - next, "{media}");
        let r2 = write(&mut d, &blocks(32, 2), &WriteOptions::default()).unwrap();
        assert_eq!(r2.start, next, "{media}");
        let info = d.medium_info().unwrap();
        assert_eq!(
            info.msinfo(),
            Some((next, next + r2.blocks + tail + later)),
            "{media}"
        );
    }
    // The figures drives show (see the constants' sources).
    assert_eq!(
        (
            CD_TAO_RUN_OUT + CD_FIRST_SESSION_GAP + 300,
            DVD_PLUS_R_SESSION_GAP,
            DVD_MINUS_R_FIRST_BORDER,
            DVD_MINUS_R_FIRST_BORDER_MIN_END,
            DVD_MINUS_R_LATER_BORDER,
        ),
        (11_702, 2_048, 28_688, 65_264, 6_160)
    );
    // BD_R_SESSION_GAP is a model: no drive report of it exists (see its
    // documentation), so no figure is asserted for it here.
}

/// READ TRACK INFORMATION of track `n`: (start, size, last recorded).
fn track_info(e: &mut Emulator, n: u8) -> (u32, u32, u32) {
    let mut buf = vec![0u8; 36];
    let rti = [0x52, 0x01, 0, 0, 0, n, 0, 0, 36, 0];
    raw(e, &rti, DataPhase::FromDevice(&mut buf)).unwrap();
    let be = |at: usize| u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
    (be(8), be(24), be(28))
}

#[test]
fn dvd_minus_r_borders_fall_where_real_drives_put_them() {
    // The cdrskin -minfo table of a six-session DVD-R (github.com/bczhc/
    // pseudo-cd, README.md): a one-file first session the drive extended
    // to 65264 blocks, then sessions of 18320, 20304, 33904 and 15104
    // blocks, each border costing 6160 after the first's 28688.
    let table: [(u32, u32); 6] = [
        (0, 65_264),
        (93_952, 18_320),
        (118_432, 20_304),
        (144_896, 33_904),
        (184_960, 15_104),
        (206_224, 18_592),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    let (mut d, _) = recorded(emulator(&path, "dvd-r"));
    // The first session holds 16 blocks, as on the LG GSA-4040B disc
    // (DVD_MINUS_R_FIRST_BORDER_MIN_END), the others their table sizes.
    for (i, &(start, size)) in table.iter().enumerate() {
        let n = if i == 0 { 16 } else { size as usize };
        let r = write(&mut d, &blocks(n, i as u8), &WriteOptions::default()).unwrap();
        assert_eq!(r.start, start, "session {}", i + 1);
    }
    let info = d.medium_info().unwrap();
    assert_eq!(info.sessions, 6);
    assert_eq!(
        info.msinfo(),
        Some((206_224, 206_224 + 18_592 + 6_160)),
        "the next border"
    );
    drop(d);
    let mut e = Emulator::open(&path, EmulatorOptions::default()).unwrap();
    for (i, &(start, size)) in table.iter().enumerate() {
        let (s, sz, _) = track_info(&mut e, i as u8 + 1);
        assert_eq!((s, sz), (start, size), "track {}", i + 1);
    }
    let mut cap = [0u8; 8];
    raw(
        &mut e,
        &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        DataPhase::FromDevice(&mut cap),
    )
    .unwrap();
    // READ CAPACITY gives the last readable block of the last session.
    assert_eq!(
        u32::from_be_bytes([cap[0], cap[1], cap[2], cap[3]]),
        206_224 + 18_592 - 1
    );
    // READ TOC format 0 from track 1: the lead-out (AAh) follows the six
    // tracks' 8-byte entries.
    let mut toc = vec![0u8; 4 + 8 * 7];
    raw(
        &mut e,
        &[0x43, 0, 0, 0, 0, 0, 1, 0, 60, 0],
        DataPhase::FromDevice(&mut toc),
    )
    .unwrap();
    let lead_out = &toc[4 + 8 * 6..];
    assert_eq!(lead_out[2], 0xAA);
    assert_eq!(
        u32::from_be_bytes([lead_out[4], lead_out[5], lead_out[6], lead_out[7]]),
        206_224 + 18_592
    );
    let mut buf = vec![0u8; 2048];
    let read10 = |lba: u32| {
        let mut c = vec![0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        c[2..6].copy_from_slice(&lba.to_be_bytes());
        c
    };
    raw(&mut e, &read10(15), DataPhase::FromDevice(&mut buf)).unwrap();
    assert!(
        raw(&mut e, &read10(16), DataPhase::FromDevice(&mut buf)).is_err(),
        "the drive's padding read back"
    );
}

#[test]
fn a_tiny_first_dvd_minus_r_border_reads_as_the_gsa_4040b_reported_it() {
    // dvd+rw-mediainfo of a DVD-R with 16 blocks in its first, closed
    // border (DVD_MINUS_R_FIRST_BORDER_MIN_END): track 1 size 65264, last
    // recorded 15, READ CAPACITY 16, TOC lead-out at 16, next track 93952.
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    let (mut d, _) = recorded(emulator(&path, "dvd-r"));
    write(&mut d, &blocks(16, 1), &WriteOptions::default()).unwrap();
    assert_eq!(d.medium_info().unwrap().msinfo(), Some((0, 93_952)));
    drop(d);
    let mut e = Emulator::open(&path, EmulatorOptions::default()).unwrap();
    assert_eq!(track_info(&mut e, 1), (0, 65_264, 15));
    assert_eq!(track_info(&mut e, 2).0, 93_952);
    let mut cap = [0u8; 8];
    raw(
        &mut e,
        &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        DataPhase::FromDevice(&mut cap),
    )
    .unwrap();
    assert_eq!(u32::from_be_bytes([cap[0], cap[1], cap[2], cap[3]]), 15);
    let mut toc = vec![0u8; 20];
    raw(
        &mut e,
        &[0x43, 0, 0, 0, 0, 0, 1, 0, 20, 0],
        DataPhase::FromDevice(&mut toc),
    )
    .unwrap();
    assert_eq!(toc[4 + 8 + 2], 0xAA);
    assert_eq!(u32::from_be_bytes([toc[16], toc[17], toc[18], toc[19]]), 16);
}

#[test]
fn a_dvd_minus_r_track_leaves_a_link_block_before_the_next_in_its_session() {
    // A camcorder's DVD-R: RZones at 0 (reserved 12272), 12288, 12560, ...
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd-r");
    select_page05(&mut e, &DVD_R_INC, 0x32, |_| {}).unwrap();
    let reserve = [0x53, 0, 0, 0, 0, 0, 0, 0x2F, 0xF0, 0]; // 12272 blocks
    raw(&mut e, &reserve, DataPhase::None).unwrap();
    raw_write(&mut e, 0, 16).unwrap();
    sync(&mut e).unwrap();
    close(&mut e, 1, 1).unwrap();
    // The invisible track starts one ECC block after the reserved one.
    let mut buf = vec![0u8; 36];
    let rti = [0x52, 0x01, 0, 0, 0, 2, 0, 0, 36, 0];
    raw(&mut e, &rti, DataPhase::FromDevice(&mut buf)).unwrap();
    let start = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
    assert_eq!(start, 12_272 + mmc::emulator::DVD_MINUS_R_LINK);
    assert_eq!(start, 12_288);
    assert_eq!(raw_write(&mut e, 12_272, 16), Err((5, 0x21, 2)));
    raw_write(&mut e, 12_288, 256).unwrap();
    sync(&mut e).unwrap();
    close(&mut e, 1, 2).unwrap();
    let rti3 = [0x52, 0x01, 0, 0, 0, 3, 0, 0, 36, 0];
    raw(&mut e, &rti3, DataPhase::FromDevice(&mut buf)).unwrap();
    let start = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
    assert_eq!(start, 12_560);
}

#[test]
fn bd_format_capacities_offer_a_full_format_first_and_the_spare_sizes() {
    let be = |b: &[u8]| b.iter().fold(0u32, |a, &x| a << 8 | u32::from(x));
    for (media, expected) in [
        (
            "bd-re",
            vec![
                (11_826_176, 0x00, 0x3000),
                (11_826_176, 0x30, 0x3000),
                (11_564_032, 0x30, 0x5000),
                (12_088_320, 0x30, 0x1000),
                (12_219_392, 0x31, 0x800),
            ],
        ),
        (
            "bd-r",
            vec![
                (11_826_176, 0x00, 0x3000),
                (11_826_176, 0x32, 0),
                (11_564_032, 0x32, 0),
                (12_088_320, 0x32, 0),
            ],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut e = emulator(&image(&dir), media);
        let mut buf = vec![0u8; 252];
        raw(
            &mut e,
            &[0x23, 0, 0, 0, 0, 0, 0, 0, 252, 0],
            DataPhase::FromDevice(&mut buf),
        )
        .unwrap();
        let end = 4 + usize::from(buf[3]);
        let offered: Vec<(u32, u8, u32)> = buf[12..end]
            .chunks(8)
            .map(|d| (be(&d[..4]), d[4] >> 2, be(&d[5..8])))
            .collect();
        assert_eq!(offered, expected, "{media}");
    }
    // The size a BD-RE is formatted to is what the host can address.
    for (format, blocks) in [(0x30u8, 11_564_032u32), (0x31, 12_219_392)] {
        let dir = tempfile::tempdir().unwrap();
        let mut e = emulator(&image(&dir), "bd-re");
        let mut list = vec![0, 0x02, 0, 8];
        list.extend(blocks.to_be_bytes());
        list.extend([format << 2, 0, 0, 0]);
        raw(
            &mut e,
            &[0x04, 0x11, 0, 0, 0, 0],
            DataPhase::ToDevice(&list),
        )
        .unwrap();
        settle(&mut e);
        let mut cap = vec![0u8; 8];
        raw(
            &mut e,
            &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            DataPhase::FromDevice(&mut cap),
        )
        .unwrap();
        assert_eq!(be(&cap[..4]), blocks - 1, "{format:#x}");
        assert_eq!(raw_write(&mut e, blocks - 16, 16), Ok(16 * 2048));
        assert_eq!(raw_write(&mut e, blocks, 16), Err((5, 0x21, 0)));
    }
}

#[test]
fn an_open_bd_r_session_has_a_toc() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "bd-r");
    let mut buf = vec![0u8; 12];
    let toc1 = [0x43, 0, 1, 0, 0, 0, 0, 0, 12, 0];
    assert_eq!(
        raw(&mut e, &toc1, DataPhase::FromDevice(&mut buf)),
        Err((5, 0x24, 0))
    );
    raw_write(&mut e, 0, 32).unwrap();
    sync(&mut e).unwrap();
    raw(&mut e, &toc1, DataPhase::FromDevice(&mut buf)).unwrap();
    assert_eq!(u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]), 0);
}

#[test]
fn bd_r_pseudo_overwrite_is_feature_38h_and_leaves_sessions_unclosable() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "bd-r");
    let pow = [0, 0x02, 0, 8, 0, 0x10, 0, 0, 0x32 << 2, 0, 0, 0];
    raw(&mut e, &[0x04, 0x11, 0, 0, 0, 0], DataPhase::ToDevice(&pow)).unwrap();
    settle(&mut e);
    let mut buf = vec![0u8; 64];
    raw(
        &mut e,
        &[0x46, 0x02, 0, 0x38, 0, 0, 0, 0, 64, 0],
        DataPhase::FromDevice(&mut buf),
    )
    .unwrap();
    assert_eq!(
        (buf[8], buf[9], buf[10] & 1),
        (0, 0x38, 1),
        "feature 38h current"
    );
    // Pseudo-Overwrite takes 32 KiB writes and rewrites of recorded blocks.
    raw_write(&mut e, 0, 16).unwrap();
    raw_write(&mut e, 16, 16).unwrap();
    raw_write(&mut e, 0, 16).unwrap();
    sync(&mut e).unwrap();
    close(&mut e, 1, 1).unwrap();
    assert_eq!(close(&mut e, 2, 0), Err((5, 0x24, 0)));
}

#[test]
fn dvd_plus_rw_background_format_states_are_reported_and_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+rw");
    assert_eq!(disc_bg_status(&mut e), 0);
    let fmt = |restart: u8| {
        [
            0,
            0x02,
            0,
            8,
            0xFF,
            0xFF,
            0xFF,
            0xFF,
            0x26 << 2,
            0,
            0,
            restart,
        ]
    };
    // Restarting what was never suspended is out of sequence.
    assert_eq!(
        raw(
            &mut e,
            &[0x04, 0x11, 0, 0, 0, 0],
            DataPhase::ToDevice(&fmt(1))
        ),
        Err((5, 0x2C, 0))
    );
    raw(
        &mut e,
        &[0x04, 0x11, 0, 0, 0, 0],
        DataPhase::ToDevice(&fmt(0)),
    )
    .unwrap();
    while e
        .execute(&[0; 6], DataPhase::None, DEFAULT_TIMEOUT)
        .unwrap()
        .sense
        .is_some()
    {}
    assert_eq!(disc_bg_status(&mut e), 2, "running");
    raw_write(&mut e, 5000, 16).unwrap();
    sync(&mut e).unwrap();
    close(&mut e, 0, 0).unwrap();
    assert_eq!(disc_bg_status(&mut e), 1, "suspended");
    assert_eq!(e.medium().unwrap().bg_format, BgFormat::Suspended);
    // Formatted as far as written; beyond that the drive refuses.
    raw_write(&mut e, 4000, 16).unwrap();
    assert_eq!(raw_write(&mut e, 9000, 16), Err((5, 0x30, 0x10)));
    sync(&mut e).unwrap();
    raw(
        &mut e,
        &[0x04, 0x11, 0, 0, 0, 0],
        DataPhase::ToDevice(&fmt(1)),
    )
    .unwrap();
    settle(&mut e);
    raw_write(&mut e, 9000, 16).unwrap();
    sync(&mut e).unwrap();
    // A disc formatted to its end is complete.
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    std::fs::write(&path, blocks(16, 1)).unwrap();
    let mut e = emulator(&path, "dvd+rw");
    assert_eq!(disc_bg_status(&mut e), 3, "complete");
}

#[test]
fn the_timing_model_is_off_unless_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = emulator(&image(&dir), "dvd+r");
    let data = vec![0u8; 16 * 2048];
    let c = e
        .execute(
            &write10(0, 16),
            DataPhase::ToDevice(&data),
            Duration::from_secs(1),
        )
        .unwrap();
    assert_eq!(c.sense, None);
}

/// Alters a READ TRACK INFORMATION answer.
type Doctor = fn(&mut [u8]);

/// A drive whose READ TRACK INFORMATION answer for the invisible track is
/// altered by `doctor` (as a drive reporting odd track data would answer),
/// recording the opcodes it is sent.
struct Doctored {
    inner: Emulator,
    doctor: Doctor,
    opcodes: Arc<Mutex<Vec<u8>>>,
}

impl Transport for Doctored {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> mmc::Result<Completion> {
        self.opcodes.lock().unwrap().push(cdb[0]);
        let invisible = cdb[0] == 0x52 && cdb[1] & 3 == 1 && cdb[2..6] == [0, 0, 0, 0xFF];
        match data {
            DataPhase::FromDevice(buf) if invisible => {
                let r = self
                    .inner
                    .execute(cdb, DataPhase::FromDevice(&mut *buf), timeout);
                if buf.len() >= 16 {
                    (self.doctor)(buf);
                }
                r
            }
            other => self.inner.execute(cdb, other, timeout),
        }
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

fn doctored(dir: &tempfile::TempDir, media: &str, doctor: Doctor) -> (Drive, Arc<Mutex<Vec<u8>>>) {
    let opcodes = Arc::new(Mutex::new(Vec::new()));
    let inner = emulator(&image(dir), media);
    let mut d = Drive::new(Box::new(Doctored {
        inner,
        doctor,
        opcodes: opcodes.clone(),
    }));
    d.set_poll_interval(Duration::from_millis(1));
    (d, opcodes)
}

#[test]
fn a_next_writable_address_not_marked_valid_or_before_its_track_is_not_written_to() {
    // libburn's checks: an NWA whose valid bit (byte 7 bit 0) is clear is
    // no NWA; a recorded track's NWA before its own start is refused; and a
    // blank track's NWA before its start (−150 on a blank CD) is the start.
    let cases: [(&str, Doctor, Option<&str>); 3] = [
        (
            "dvd+r",
            |b| b[7] &= !1,
            Some("has no next writable address"),
        ),
        (
            "dvd+r",
            |b| {
                b[6] &= !0x40; // not blank
                b[8..12].copy_from_slice(&64u32.to_be_bytes()); // start 64
                b[12..16].copy_from_slice(&32u32.to_be_bytes()); // NWA 32
            },
            Some("reports next writable address 32 before its start 64"),
        ),
        (
            "cdr-80",
            |b| b[12..16].copy_from_slice(&(-150i32).to_be_bytes()),
            None,
        ),
    ];
    for (media, doctor, refused) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (mut d, opcodes) = doctored(&dir, media, doctor);
        let r = write(&mut d, &blocks(300, 1), &WriteOptions::default());
        let wrote = opcodes.lock().unwrap().contains(&0x2A);
        match refused {
            Some(why) => {
                let e = r.unwrap_err().to_string();
                assert!(e.contains(why), "{media}: {e}");
                assert!(!wrote, "{media}: a WRITE was sent");
            }
            None => {
                assert_eq!(r.unwrap().start, 0, "{media}");
                assert!(wrote);
            }
        }
    }
}

/// Warnings the drive layer logs (the `log` facade), kept for the tests.
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Keep;

impl log::Log for Keep {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            WARNINGS.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

#[test]
fn a_refused_speed_is_logged_and_other_speed_failures_stop_the_write() {
    static KEEP: Keep = Keep;
    let _ = log::set_logger(&KEEP);
    log::set_max_level(log::LevelFilter::Warn);
    // An illegal request (the drive does not take this speed) is not fatal:
    // the drive writes at a speed of its own choice, and the log says so.
    let dir = tempfile::tempdir().unwrap();
    let (mut d, log) = recorded(from_spec(
        &dir,
        "profile=dvd+r&busy=1&fault=streaming@1:5/24/00",
    ));
    write(&mut d, &blocks(32, 1), &WriteOptions::default()).unwrap();
    assert!(!of(&log, 0x2A).is_empty());
    let said = WARNINGS.lock().unwrap().clone();
    assert!(
        said.iter()
            .any(|w| w.contains("refused SET STREAMING") && w.contains("5/24/00")),
        "{said:?}"
    );
    // Any other failure stops the write before data is sent.
    let dir = tempfile::tempdir().unwrap();
    let (mut d, log) = recorded(from_spec(
        &dir,
        "profile=dvd+r&busy=1&fault=streaming@1:4/44/00",
    ));
    let err = write(&mut d, &blocks(32, 1), &WriteOptions::default()).unwrap_err();
    assert!(err.to_string().contains("SET STREAMING"), "{err}");
    assert!(of(&log, 0x2A).is_empty());
}

#[test]
fn a_restricted_overwrite_dvd_rw_track_reports_fixed_16_block_packets() {
    // growisofs refuses a restricted-overwrite DVD-RW whose track is not
    // "formatted for fixed packet size", and takes the packet size for its
    // page 05 from the track (transport.hxx); DVD+RW reports no packets.
    for (media, fp, size) in [("dvd-rw-ro", 0x10, 16), ("dvd+rw", 0, 0)] {
        let dir = tempfile::tempdir().unwrap();
        let path = image(&dir);
        std::fs::write(&path, blocks(32, 1)).unwrap(); // formatted, used
        let mut e = emulator(&path, media);
        let mut buf = vec![0u8; 36];
        let rti = [0x52, 0x01, 0, 0, 0, 1, 0, 0, 36, 0];
        raw(&mut e, &rti, DataPhase::FromDevice(&mut buf)).unwrap();
        assert_eq!(buf[6] & 0x10, fp, "{media}");
        assert_eq!(
            u32::from_be_bytes([buf[20], buf[21], buf[22], buf[23]]),
            size,
            "{media}"
        );
    }
}

#[test]
fn restricted_overwrite_is_written_after_page_05_selects_the_tracks_packets() {
    // growisofs and libburn both select packet writing (type 0, FP set,
    // single session) before writing a restricted-overwrite DVD-RW;
    // growisofs takes the track mode and packet size from the track.
    let dir = tempfile::tempdir().unwrap();
    let path = image(&dir);
    std::fs::write(&path, blocks(32, 1)).unwrap(); // formatted, used
    let (mut d, log) = recorded(emulator(&path, "dvd-rw-ro"));
    write(&mut d, &blocks(40, 2), &WriteOptions::default()).unwrap();
    let seen = log.lock().unwrap().clone();
    let select = seen
        .iter()
        .position(|s| s.cdb[0] == 0x55)
        .expect("page 05 sent");
    let first_write = seen.iter().position(|s| s.cdb[0] == 0x2A).unwrap();
    assert!(select < first_write);
    let p = &seen[select].data[8..];
    assert_eq!(p[0] & 0x3F, 5);
    let b = &p[2..];
    assert_eq!(b[0] & 0x0F, 0, "write type packet/incremental");
    assert_eq!(b[1] >> 6, 0, "single session");
    assert_eq!(b[1] & 0x20, 0x20, "fixed packets");
    assert_eq!(b[1] & 0x0F, 4, "the track's mode");
    assert_eq!(b[2] & 0x0F, 8, "Mode 1 blocks");
    assert_eq!(u32::from_be_bytes([b[8], b[9], b[10], b[11]]), 16);
    // Whole 16-block packets: 40 blocks go out as 48.
    let blocks_sent: u32 = of(&log, 0x2A)
        .iter()
        .map(|s| u32::from(u16::from_be_bytes([s.cdb[7], s.cdb[8]])))
        .sum();
    assert_eq!(blocks_sent, 48);
}
