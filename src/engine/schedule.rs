//! Cedar's store decisions as pure functions: which staged day store
//! writes (`_findCorrectDailyDir`), which days rebuild writes
//! (`_findRebuildDirs`), whether the night starts a new disc
//! (`_getNewDisc`), the media label (`buildMediaLabel`) and what
//! `check_media` accepts (`checkMediaState`). The filesystem is seen only
//! through a [`DayProbe`], so every rule is unit-tested without one.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use crate::config::{BlankMode, BlankRule, DeviceType, MediaType, Weekday};

/// Name of the indicator store and rebuild write into each day they wrote.
pub const STORE_INDICATOR: &str = "cback.store";
/// What every label cedar (and Cedar) writes starts with.
pub const MEDIA_LABEL_PREFIX: &str = "CEDAR BACKUP";

/// What store needs to know of one staged day directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayState {
    /// The directory exists.
    pub exists: bool,
    /// It holds `cback.stage`.
    pub staged: bool,
    /// It holds `cback.store`.
    pub stored: bool,
}

/// Looks at one day directory.
pub trait DayProbe {
    /// The state of `dir`.
    fn probe(&self, dir: &Path) -> DayState;
}

/// The real filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filesystem;

impl DayProbe for Filesystem {
    fn probe(&self, dir: &Path) -> DayState {
        DayState {
            exists: dir.is_dir(),
            staged: dir.join(super::util::STAGE_INDICATOR).exists(),
            stored: dir.join(STORE_INDICATOR).exists(),
        }
    }
}

/// Which day relative to the run's date a staged day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relative {
    /// The run's date.
    Today,
    /// The day before (a run that crossed midnight).
    Yesterday,
    /// The day after (collect or stage ran on the far side of midnight).
    Tomorrow,
}

/// One staged day: its directory and the place it goes on the disc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedDay {
    /// The date.
    pub date: NaiveDate,
    /// `<staging>/YYYY/MM/DD`.
    pub dir: PathBuf,
}

impl StagedDay {
    fn new(staging: &Path, date: NaiveDate) -> StagedDay {
        StagedDay {
            date,
            dir: staging.join(disc_path(date)),
        }
    }

    /// Where the day goes on the disc, `YYYY/MM/DD` (Cedar's `DIR_TIME_FORMAT`).
    pub fn disc_path(&self) -> String {
        disc_path(self.date)
    }
}

fn disc_path(date: NaiveDate) -> String {
    date.format("%Y/%m/%d").to_string()
}

/// Store's choice of day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayChoice {
    /// The day.
    pub day: StagedDay,
    /// Which one it is.
    pub relative: Relative,
}

impl DayChoice {
    /// Cedar's log line for the choice.
    pub fn describe(&self) -> String {
        let which = match self.relative {
            Relative::Today => "current",
            Relative::Yesterday => "previous",
            Relative::Tomorrow => "next",
        };
        format!(
            "Store process will use {which} day's stage directory [{}]",
            self.day.dir.display()
        )
    }

    /// The day is not today's (what `warn_midnite` warns about).
    pub fn crossed_midnight(&self) -> bool {
        self.relative != Relative::Today
    }
}

/// No staged day to store; the message is Cedar's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoDay {
    /// `--full`: only today counts.
    #[error("Unable to find staging directory to store (only tried today due to full option).")]
    Full,
    /// None of today, yesterday, tomorrow is staged and not yet stored.
    #[error(
        "Unable to find unused staging directory to store (tried today, yesterday, tomorrow)."
    )]
    Unused,
    /// rebuild found no staged day since the starting day.
    #[error("Unable to find any staging directories for rebuild process.")]
    Rebuild,
}

/// Cedar's `_findCorrectDailyDir`: today's staged directory; without
/// `full`, one not yet stored, else yesterday's, else tomorrow's. With
/// `full` only today counts and its store indicator is ignored.
pub fn choose_day(
    staging: &Path,
    today: NaiveDate,
    full: bool,
    probe: &dyn DayProbe,
) -> Result<DayChoice, NoDay> {
    let usable = |date: NaiveDate| {
        let day = StagedDay::new(staging, date);
        let s = probe.probe(&day.dir);
        (s.exists && s.staged && (full || !s.stored)).then_some(day)
    };
    if full {
        return usable(today)
            .map(|day| DayChoice {
                day,
                relative: Relative::Today,
            })
            .ok_or(NoDay::Full);
    }
    let candidates = [
        (Some(today), Relative::Today),
        (today.pred_opt(), Relative::Yesterday),
        (today.succ_opt(), Relative::Tomorrow),
    ];
    candidates
        .into_iter()
        .find_map(|(date, relative)| usable(date?).map(|day| DayChoice { day, relative }))
        .ok_or(NoDay::Unused)
}

/// Cedar's `deriveDayOfWeek`: Monday 0 ... Sunday 6.
fn weekday_number(day: Weekday) -> u32 {
    match day {
        Weekday::Monday => 0,
        Weekday::Tuesday => 1,
        Weekday::Wednesday => 2,
        Weekday::Thursday => 3,
        Weekday::Friday => 4,
        Weekday::Saturday => 5,
        Weekday::Sunday => 6,
    }
}

/// Cedar's `_findRebuildDirs`: every staged day (with `cback.stage`,
/// stored or not) from today back to the last starting day, today first.
pub fn rebuild_days(
    staging: &Path,
    today: NaiveDate,
    starting_day: Weekday,
    probe: &dyn DayProbe,
) -> Result<Vec<StagedDay>, NoDay> {
    let start = weekday_number(starting_day);
    let now = today.weekday().num_days_from_monday();
    let days = if now >= start {
        now - start + 1
    } else {
        7 - (start - now) + 1
    };
    let found: Vec<StagedDay> = (0..days)
        .filter_map(|back| today.checked_sub_days(chrono::Days::new(back.into())))
        .map(|date| StagedDay::new(staging, date))
        .filter(|day| {
            let s = probe.probe(&day.dir);
            s.exists && s.staged
        })
        .collect();
    if found.is_empty() {
        return Err(NoDay::Rebuild);
    }
    Ok(found)
}

/// Why a night starts a new disc or appends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DiscReason {
    /// `--full` (and rebuild, initialize).
    Full,
    /// No `blank_behavior`, and today is the starting day.
    StartingDay,
    /// No `blank_behavior`, and today is not the starting day.
    NotStartingDay,
    /// `blank_behavior` weighed free space against the image:
    /// new disc when `ratio <= factor`.
    Factor {
        /// Bytes free for the next session.
        available: u64,
        /// Bytes the image needs.
        required: u64,
        /// `available / (1 + required)`.
        ratio: f64,
        /// The configured factor.
        factor: f64,
    },
    /// `blank_behavior` asks for no calculation today (weekly mode on
    /// another day, or no mode).
    NoCalculation,
}

/// A new-disc decision and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiscDecision {
    /// Start a new disc (blank rewritable media, write at the start).
    pub new_disc: bool,
    /// Why.
    pub reason: DiscReason,
}

impl DiscDecision {
    /// One line for the log and the dry run.
    pub fn describe(&self) -> String {
        let what = if self.new_disc { "new disc" } else { "append" };
        let why = match self.reason {
            DiscReason::Full => "full backup".to_string(),
            DiscReason::StartingDay => "today is the starting day".to_string(),
            DiscReason::NotStartingDay => "today is not the starting day".to_string(),
            DiscReason::Factor {
                available,
                required,
                ratio,
                factor,
            } => format!(
                "blank factor: {available} bytes available / (1 + {required} bytes required) \
                 = {ratio:.2} {} {factor:.2}",
                if ratio <= factor { "<=" } else { ">" }
            ),
            DiscReason::NoCalculation => "blank behavior needs no calculation today".to_string(),
        };
        format!("{what} ({why})")
    }
}

/// `blank_behavior` wants the calculation but has no factor (Cedar fails
/// there too, converting the missing factor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("store/blank_behavior has a mode but no factor, which today's blank calculation needs")]
pub struct NoFactor;

/// Cedar's `_getNewDisc`. `measure` gives (bytes available for the next
/// session, bytes the image needs); it is only called when the factor is
/// weighed, as Cedar only asks the drive then.
pub fn new_disc<E: From<NoFactor>>(
    full: bool,
    starting_day: bool,
    blank: Option<&BlankRule>,
    measure: impl FnOnce() -> Result<(u64, u64), E>,
) -> Result<DiscDecision, E> {
    let decision = |new_disc, reason| Ok(DiscDecision { new_disc, reason });
    if full {
        return decision(true, DiscReason::Full);
    }
    let Some(rule) = blank else {
        return if starting_day {
            decision(true, DiscReason::StartingDay)
        } else {
            decision(false, DiscReason::NotStartingDay)
        };
    };
    let weigh = match rule.mode {
        Some(BlankMode::Daily) => true,
        Some(BlankMode::Weekly) => starting_day,
        None => false,
    };
    if !weigh {
        return decision(false, DiscReason::NoCalculation);
    }
    let factor = rule.factor.ok_or(NoFactor)?;
    let (available, required) = measure()?;
    let ratio = available as f64 / (1.0 + required as f64);
    decision(
        ratio <= factor,
        DiscReason::Factor {
            available,
            required,
            ratio,
            factor,
        },
    )
}

/// Cedar's `buildMediaLabel`: `CEDAR BACKUP DD-MON-YYYY` (English month).
pub fn media_label(date: NaiveDate) -> String {
    format!(
        "{MEDIA_LABEL_PREFIX} {}",
        date.format("%d-%b-%Y").to_string().to_uppercase()
    )
}

/// Cedar's `checkMediaState`: rewritable media must carry a CEDAR BACKUP
/// label (written by `initialize` or an earlier store); write-once media may
/// also have none. The error is Cedar's message.
pub fn check_media_label(rewritable: bool, label: Option<&str>) -> Result<(), String> {
    match label {
        None if rewritable => {
            Err("Media has not been initialized: no media label available".to_string())
        }
        None => {
            log::info!("Media has no media label; assuming OK since media is not rewritable.");
            Ok(())
        }
        Some(l) if l.starts_with(MEDIA_LABEL_PREFIX) => Ok(()),
        Some(l) => Err(format!(
            "Media has not been initialized: unrecognized media label [{l}]"
        )),
    }
}

/// Whether the medium the drive reports (`profile_number`) is what the
/// configuration names: a profile cedar writes, of `device_type`'s family
/// and of `media` type. The error names both sides.
pub fn medium_mismatch(
    media: MediaType,
    device_type: DeviceType,
    profile_number: u16,
) -> Option<String> {
    let shown = mmc::profile::profile_name(profile_number);
    let Some(profile) = mmc::Profile::from_number(profile_number) else {
        return Some(format!(
            "the drive reports a {shown} medium ({profile_number:04X}h), which cedar cannot write"
        ));
    };
    let names: Vec<&str> = MediaType::ALL
        .iter()
        .filter(|m| m.accepts(profile))
        .map(|m| m.name())
        .collect();
    if profile.family() != device_type.family() {
        let writer = DeviceType::ALL
            .iter()
            .find(|d| d.family() == profile.family())
            .map_or("another", |d| d.name());
        return Some(format!(
            "device_type {} does not match the {shown} medium the drive reports \
             (a {writer} medium: media_type {})",
            device_type.name(),
            names.join(" or ")
        ));
    }
    if !media.accepts(profile) {
        return Some(format!(
            "media_type {} does not match the {shown} medium the drive reports (media_type {})",
            media.name(),
            names.join(" or ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Days(HashMap<PathBuf, DayState>);

    impl DayProbe for Days {
        fn probe(&self, dir: &Path) -> DayState {
            self.0.get(dir).copied().unwrap_or_default()
        }
    }

    const STAGED: DayState = DayState {
        exists: true,
        staged: true,
        stored: false,
    };
    const STORED: DayState = DayState {
        exists: true,
        staged: true,
        stored: true,
    };
    const UNSTAGED: DayState = DayState {
        exists: true,
        staged: false,
        stored: false,
    };

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn days(list: &[(&str, DayState)]) -> Days {
        Days(
            list.iter()
                .map(|(d, s)| (Path::new("/st").join(disc_path(date(d))), *s))
                .collect(),
        )
    }

    fn choose(list: &[(&str, DayState)], full: bool) -> Result<(String, Relative), NoDay> {
        choose_day(Path::new("/st"), date("2026-03-04"), full, &days(list))
            .map(|c| (c.day.disc_path(), c.relative))
    }

    #[test]
    fn today_then_yesterday_then_tomorrow_unless_stored() {
        use Relative::*;
        let t = "2026-03-04";
        let y = "2026-03-03";
        let m = "2026-03-05";
        assert_eq!(
            choose(&[(t, STAGED)], false),
            Ok(("2026/03/04".into(), Today))
        );
        assert_eq!(
            choose(&[(t, STORED), (y, STAGED), (m, STAGED)], false),
            Ok(("2026/03/03".into(), Yesterday))
        );
        assert_eq!(
            choose(&[(t, UNSTAGED), (y, STORED), (m, STAGED)], false),
            Ok(("2026/03/05".into(), Tomorrow))
        );
        assert_eq!(
            choose(&[(t, STORED), (y, STORED), (m, UNSTAGED)], false),
            Err(NoDay::Unused)
        );
        assert_eq!(choose(&[], false), Err(NoDay::Unused));
    }

    #[test]
    fn full_only_tries_today_and_ignores_the_store_indicator() {
        let t = "2026-03-04";
        assert_eq!(
            choose(&[(t, STORED)], true),
            Ok(("2026/03/04".into(), Relative::Today))
        );
        assert_eq!(
            choose(&[(t, UNSTAGED), ("2026-03-03", STAGED)], true),
            Err(NoDay::Full)
        );
        assert!(NoDay::Full.to_string().contains("only tried today"));
    }

    #[test]
    fn choice_messages_are_cedars() {
        let c = choose_day(
            Path::new("/st"),
            date("2026-03-04"),
            false,
            &days(&[("2026-03-03", STAGED)]),
        )
        .unwrap();
        assert!(c.crossed_midnight());
        assert_eq!(
            c.describe(),
            "Store process will use previous day's stage directory [/st/2026/03/03]"
        );
    }

    #[test]
    fn month_and_year_boundaries() {
        let c = choose_day(
            Path::new("/st"),
            date("2027-01-01"),
            false,
            &days(&[("2026-12-31", STAGED)]),
        )
        .unwrap();
        assert_eq!(c.day.disc_path(), "2026/12/31");
    }

    #[test]
    fn rebuild_reaches_back_to_the_starting_day() {
        // 2026-03-04 is a Wednesday.
        let list = [
            ("2026-03-04", STORED),
            ("2026-03-03", UNSTAGED),
            ("2026-03-02", STAGED),
            ("2026-03-01", STAGED),
        ];
        let found = |start| {
            rebuild_days(Path::new("/st"), date("2026-03-04"), start, &days(&list))
                .map(|v| v.iter().map(StagedDay::disc_path).collect::<Vec<_>>())
        };
        assert_eq!(
            found(Weekday::Monday).unwrap(),
            ["2026/03/04", "2026/03/02"]
        );
        assert_eq!(found(Weekday::Wednesday).unwrap(), ["2026/03/04"]);
        // Thursday: back to last Thursday, 7 days.
        assert_eq!(
            found(Weekday::Thursday).unwrap(),
            ["2026/03/04", "2026/03/02", "2026/03/01"]
        );
        let none = rebuild_days(
            Path::new("/st"),
            date("2026-03-04"),
            Weekday::Monday,
            &days(&[]),
        );
        assert_eq!(none, Err(NoDay::Rebuild));
    }

    fn decide(
        full: bool,
        start: bool,
        blank: Option<BlankRule>,
        measure: (u64, u64),
    ) -> Result<(bool, bool), NoFactor> {
        let mut asked = false;
        let d = new_disc::<NoFactor>(full, start, blank.as_ref(), || {
            asked = true;
            Ok(measure)
        })?;
        Ok((d.new_disc, asked))
    }

    #[test]
    fn new_disc_rules() {
        let daily = |f| {
            Some(BlankRule {
                mode: Some(BlankMode::Daily),
                factor: Some(f),
            })
        };
        let weekly = Some(BlankRule {
            mode: Some(BlankMode::Weekly),
            factor: Some(1.0),
        });
        assert_eq!(decide(true, false, daily(1.0), (0, 0)), Ok((true, false)));
        assert_eq!(decide(false, true, None, (0, 0)), Ok((true, false)));
        assert_eq!(decide(false, false, None, (0, 0)), Ok((false, false)));
        // 1000 / (1 + 999) = 1.0 <= 1.0: new disc.
        assert_eq!(
            decide(false, false, daily(1.0), (1000, 999)),
            Ok((true, true))
        );
        // 1000 / (1 + 998) > 1.0: append.
        assert_eq!(
            decide(false, false, daily(1.0), (1000, 998)),
            Ok((false, true))
        );
        assert_eq!(decide(false, false, weekly, (0, 5)), Ok((false, false)));
        assert_eq!(decide(false, true, weekly, (0, 5)), Ok((true, true)));
        let no_mode = Some(BlankRule {
            mode: None,
            factor: Some(1.0),
        });
        assert_eq!(decide(false, true, no_mode, (0, 5)), Ok((false, false)));
        let no_factor = Some(BlankRule {
            mode: Some(BlankMode::Daily),
            factor: None,
        });
        assert_eq!(decide(false, false, no_factor, (0, 5)), Err(NoFactor));
    }

    #[test]
    fn the_medium_must_match_media_and_device_type() {
        use mmc::Profile;
        let n = |p: Profile| p.number();
        assert_eq!(
            medium_mismatch(
                MediaType::DvdPlusRw,
                DeviceType::Dvdwriter,
                n(Profile::DvdPlusRw)
            ),
            None
        );
        assert_eq!(
            medium_mismatch(
                MediaType::DvdMinusRw,
                DeviceType::Dvdwriter,
                n(Profile::DvdMinusRwRestricted)
            ),
            None
        );
        assert_eq!(
            medium_mismatch(MediaType::DvdPlusR, DeviceType::Dvdwriter, n(Profile::DvdPlusRw))
                .unwrap(),
            "media_type dvd+r does not match the DVD+RW medium the drive reports (media_type dvd+rw)"
        );
        assert_eq!(
            medium_mismatch(MediaType::Cdr74, DeviceType::Cdwriter, n(Profile::BdRe)).unwrap(),
            "device_type cdwriter does not match the BD-RE medium the drive reports \
             (a bdwriter medium: media_type bd-re)"
        );
        let cd = medium_mismatch(MediaType::DvdPlusR, DeviceType::Dvdwriter, n(Profile::CdR));
        assert!(cd.unwrap().contains("media_type cdr-74 or cdr-80"));
        let rom = medium_mismatch(MediaType::DvdPlusR, DeviceType::Dvdwriter, 0x10).unwrap();
        assert!(
            rom.contains("DVD-ROM") && rom.contains("cannot write"),
            "{rom}"
        );
    }

    #[test]
    fn labels_and_media_check() {
        assert_eq!(media_label(date("2026-03-04")), "CEDAR BACKUP 04-MAR-2026");
        assert_eq!(media_label(date("2025-12-31")), "CEDAR BACKUP 31-DEC-2025");
        assert!(check_media_label(true, Some("CEDAR BACKUP 01-JAN-2026")).is_ok());
        assert!(check_media_label(false, None).is_ok());
        assert_eq!(
            check_media_label(true, None).unwrap_err(),
            "Media has not been initialized: no media label available"
        );
        assert_eq!(
            check_media_label(false, Some("CDROM")).unwrap_err(),
            "Media has not been initialized: unrecognized media label [CDROM]"
        );
    }
}
