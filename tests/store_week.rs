//! A simulated week of nightly `cback store` through the real binary
//! (`CEDAR_TODAY` fixing each night's date) on every medium the emulated
//! burner offers, then the next starting day: after each night xorriso
//! extracts the newest session and finds every day of the week so far,
//! byte for byte as staged; on overwritable media bsdtar and pycdlib, which
//! only read the volume at LBA 16, find the same; the starting day begins a
//! new disc (blanked when rewritable) and on write-once media the earlier
//! week's session stays readable.

mod support;

use support::store::*;
use support::{have, have_pycdlib};

/// Monday 2 March 2026 to Monday 9 March: a week and the next starting day.
fn nights() -> Vec<chrono::NaiveDate> {
    (2..=9).map(|d| date(&format!("2026-03-{d:02}"))).collect()
}

fn week_on(profile: &str, xorriso: bool, bsdtar: bool, pycdlib: bool) {
    let rig = Rig::new(profile);
    let nights = nights();
    let mut week = Vec::new();
    let mut starts = Vec::new();
    for (i, &night) in nights.iter().enumerate() {
        rig.stage(night, 24 + 8 * i);
        let start = rig.store_ok(night);
        if i == 7 {
            // The next Monday is a starting day: a new disc.
            week.clear();
        }
        week.push(night);
        starts.push(start);
        let want = expected(&rig, &week);
        if xorriso {
            let out = rig.path(&format!("x{i}"));
            let got = xorriso_session(&rig.image(), start, &out);
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "{profile} night {night}: xorriso's session at {start}"
            );
            assert!(got == want, "{profile} night {night}: contents differ");
        }
        if rig.medium.overwritable && (i == 6 || i == 7) {
            if bsdtar {
                let got = bsdtar_volume(&rig.image(), &rig.path(&format!("t{i}")));
                assert!(got == want, "{profile} night {night}: bsdtar at LBA 16");
            }
            if pycdlib {
                let got = pycdlib_volume(&rig.image());
                let want: std::collections::BTreeMap<_, _> =
                    want.iter().map(|(k, v)| (k.clone(), sha1_hex(v))).collect();
                assert_eq!(got, want, "{profile} night {night}: pycdlib at LBA 16");
            }
        }
    }
    // Sessions of one disc follow each other; the new disc starts again
    // at block 0 when the medium could be blanked or overwritten.
    assert!(starts[..7].windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    if rig.medium.rewritable {
        assert_eq!(starts[7], 0, "{profile}: the new disc starts at block 0");
    } else {
        assert!(starts[7] > starts[6], "{profile}: {starts:?}");
        if xorriso {
            // Nothing lost: last week's newest session still holds the week.
            let week: Vec<_> = nights[..7].to_vec();
            let got = xorriso_session(&rig.image(), starts[6], &rig.path("last-week"));
            assert!(
                got == expected(&rig, &week),
                "{profile}: last week's session"
            );
        }
    }
}

#[test]
fn a_week_of_nights_on_every_medium() {
    let (x, b, p) = (have("xorriso"), have("bsdtar"), have_pycdlib());
    // Two media at a time: the machine may have two cores.
    for pair in MEDIA.chunks(2) {
        std::thread::scope(|s| {
            for m in pair {
                s.spawn(move || week_on(m.profile, x, b, p));
            }
        });
    }
}
