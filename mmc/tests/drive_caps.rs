//! What a drive tells before anything is written: the medium's write
//! protection (feature 0004h, READ DISC STRUCTURE C0h on DVD and BD) and its
//! loading mechanism (page 2A, feature 0003h), as the emulated drive reports
//! them through the same commands a real drive answers.

use mmc::cdb::config::{Configuration, GetConfiguration, RequestType};
use mmc::cdb::structure::{ReadDiscStructure, StructureMedia, FORMAT_WRITE_PROTECTION};
use mmc::cdb::{Command, Response};
use mmc::{DataPhase, Drive, Transport};

fn spec(dir: &tempfile::TempDir, profile: &str, extra: &str) -> String {
    format!(
        "emulated:{}?profile={profile}{extra}",
        dir.path().join(format!("{profile}.img")).display()
    )
}

/// Sends `cdb` to the emulated drive as the kernel would and reads the reply.
fn ask_raw(e: &mut mmc::Emulator, cdb: mmc::cdb::Cdb, buf: &mut [u8]) -> mmc::Completion {
    e.execute(
        cdb.as_bytes(),
        DataPhase::FromDevice(buf),
        mmc::DEFAULT_TIMEOUT,
    )
    .unwrap()
}

#[test]
fn write_protection_is_reported_on_dvd_and_bd_media_and_not_on_cd() {
    let dir = tempfile::tempdir().unwrap();
    for profile in ["dvd+r", "dvd+rw", "dvd-r", "bd-r", "bd-re"] {
        let mut d = Drive::open(&spec(&dir, profile, "&wp=1")).unwrap();
        let w = d.write_protection().unwrap().expect(profile);
        assert!(w.any() && w.media_specific, "{profile}: {w:?}");
        drop(d);
        let mut d = Drive::open(&spec(&dir, profile, "")).unwrap();
        let w = d.write_protection().unwrap().expect(profile);
        assert!(!w.any(), "{profile}: {w:?}");
        assert!(d.feature_current(0x0004).unwrap(), "{profile}");
    }
    // A drive that lists the feature but refuses C0h cannot tell either.
    let mut d = Drive::open(&spec(&dir, "dvd+r", "&wp=1&fault=0xad@1:5/24/00")).unwrap();
    assert_eq!(d.write_protection().unwrap(), None);
    drop(d);
    // A CD has no write protection status: the drive cannot tell, and
    // the protected disc is refused at the first WRITE.
    let mut d = Drive::open(&spec(&dir, "cdr-80", "&wp=1")).unwrap();
    assert_eq!(d.write_protection().unwrap(), None);
    assert!(!d.feature_current(0x0004).unwrap());
}

#[test]
fn read_disc_structure_answers_as_a_drive_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = mmc::Emulator::open_spec(&spec(&dir, "dvd+rw", "&wp=1")).unwrap();
    let ask = |e: &mut mmc::Emulator, media, format| {
        let cdb = ReadDiscStructure {
            media,
            address: 0,
            layer: 0,
            format,
            alloc: 8,
        }
        .encode();
        let mut buf = [0u8; 8];
        let done = ask_raw(e, cdb, &mut buf);
        (done.status, done.sense.map(|s| (s.key, s.asc)), buf)
    };
    let (status, sense, buf) = ask(&mut e, StructureMedia::Dvd, FORMAT_WRITE_PROTECTION);
    assert_eq!((status, sense), (0, None));
    assert_eq!(buf, [0, 6, 0, 0, 0x08, 0, 0, 0]);
    // A BD structure of a DVD, or a format it does not hold: invalid field.
    let (status, sense, _) = ask(&mut e, StructureMedia::Bd, FORMAT_WRITE_PROTECTION);
    assert_eq!((status, sense), (2, Some((5, 0x24))));
    let (_, sense, _) = ask(&mut e, StructureMedia::Dvd, 0x30);
    assert_eq!(sense, Some((5, 0x24)));
    drop(e);
    let mut e = mmc::Emulator::open_spec(&spec(&dir, "cdrw-80", "")).unwrap();
    let (_, sense, _) = ask(&mut e, StructureMedia::Dvd, FORMAT_WRITE_PROTECTION);
    assert_eq!(sense, Some((5, 0x30)));
}

/// Feature 0003h (Removable Medium) byte 4: loading mechanism and Eject.
fn removable_medium(spec: &str) -> (u8, bool) {
    let mut e = mmc::Emulator::open_spec(spec).unwrap();
    let cdb = GetConfiguration {
        request: RequestType::One,
        start_feature: 0x0003,
        alloc: 64,
    }
    .encode();
    let mut buf = [0u8; 64];
    let done = ask_raw(&mut e, cdb, &mut buf);
    let c = Configuration::parse(&buf[..done.transferred]).unwrap();
    let b = c.feature(0x0003).unwrap().data[0];
    (b >> 5, b & 0x08 != 0)
}

#[test]
fn the_loading_mechanism_is_a_tray_unless_the_device_string_says_slot() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Drive::open(&spec(&dir, "dvd+r", "")).unwrap();
    let caps = d.capabilities().unwrap();
    assert_eq!((caps.loading_mechanism, caps.eject), (1, true));
    assert_eq!(removable_medium(&spec(&dir, "cdr-80", "")), (1, true));
    d.eject().unwrap();
    assert!(!d.medium_present().unwrap());
    d.load().unwrap();
    assert!(d.medium_present().unwrap());
    drop(d);

    let slot = spec(&dir, "dvd+rw", "&tray=0");
    let mut d = Drive::open(&slot).unwrap();
    let caps = d.capabilities().unwrap();
    assert_eq!((caps.loading_mechanism, caps.eject), (0, true));
    assert_eq!(
        removable_medium(&spec(&dir, "cdr-74", "&tray=0")),
        (0, true)
    );
    // The ejected disc stays out: a slot takes no load command.
    d.eject().unwrap();
    d.load().unwrap();
    assert!(!d.medium_present().unwrap());
}
