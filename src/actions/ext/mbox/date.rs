//! Dates as grepmail reads them: Perl's `Date::Parse::str2time`, the
//! lenient parser grepmail uses for `Date:`/`Received:` headers, `From `
//! lines and the `-d "since ..."` bound. It works like the original, by
//! rewriting the lowercased text: each recognised piece (ISO date and
//! time, clock time with am/pm, day-month-year in its several orders, time
//! zone as a name or an offset) is cut out and replaced by a space; text
//! left over at the end makes the date invalid. A date without a zone is
//! local time; missing fields default as Date::Parse defaults them (time
//! to midnight, day/month/year to today's), two-digit years take
//! Time::Local's rolling century, and an impossible day of the month is
//! refused.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, TimeZone};
use regex::bytes::{Captures, Regex};

/// Month names and abbreviations, longest first (Date::Parse's order).
const MONTHS: &str = "september|sept|sep|october|oct|november|nov|may|march|mar|june|jun|\
                      july|jul|january|jan|february|feb|december|dec|august|aug|april|apr";
/// Day names and abbreviations, longest first.
const DAYS: &str = "wednesday|wednes|wed|tuesday|tues|tue|thursday|thurs|thur|thu|sunday|sun|\
                    saturday|sat|monday|mon|friday|fri";
/// Day-number suffixes.
const SUFFIXES: &str = "th|st|rd|nd";

/// Time zone names Date::Parse (Time::Zone) knows, with their offsets in
/// seconds east of UTC; summer-time names included.
const ZONES: [(&str, i64); 72] = [
    ("gmt", 0),
    ("ut", 0),
    ("utc", 0),
    ("wet", 0),
    ("wat", -3600),
    ("at", -7200),
    ("fnt", -7200),
    ("brt", -10800),
    ("mnt", -14400),
    ("ewt", -14400),
    ("ast", -14400),
    ("est", -18000),
    ("act", -18000),
    ("cst", -21600),
    ("mst", -25200),
    ("pst", -28800),
    ("akst", -32400),
    ("yst", -32400),
    ("hst", -36000),
    ("cat", -36000),
    ("ahst", -36000),
    ("nt", -39600),
    ("idlw", -43200),
    ("cet", 3600),
    ("mez", 3600),
    ("ect", 3600),
    ("met", 3600),
    ("mewt", 3600),
    ("swt", 3600),
    ("set", 3600),
    ("fwt", 3600),
    ("eet", 7200),
    ("ukr", 7200),
    ("bt", 10800),
    ("msk", 10800),
    ("zp4", 14400),
    ("zp5", 18000),
    ("zp6", 21600),
    ("wst", 28800),
    ("hkt", 28800),
    ("cct", 28800),
    ("jst", 32400),
    ("kst", 32400),
    ("aest", 36000),
    ("east", 36000),
    ("gst", 36000),
    ("nzt", 43200),
    ("nzst", 43200),
    ("idle", 43200),
    ("brst", -7200),
    ("adt", -10800),
    ("edt", -14400),
    ("cdt", -18000),
    ("mdt", -21600),
    ("pdt", -25200),
    ("akdt", -28800),
    ("ydt", -28800),
    ("hdt", -32400),
    ("bst", 3600),
    ("mest", 7200),
    ("metdst", 7200),
    ("sst", 7200),
    ("fst", 7200),
    ("cest", 7200),
    ("eest", 10800),
    ("msd", 14400),
    ("wadt", 28800),
    ("kdt", 36000),
    ("aedt", 39600),
    ("eadt", 39600),
    ("nzd", 46800),
    ("nzdt", 46800),
];

fn zone_offset(name: &[u8]) -> Option<i64> {
    ZONES
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|&(_, off)| off)
}

/// The separators Date::Parse's numeric dates may use (one per date).
const SEPARATORS: [char; 3] = ['-', '.', '/'];

/// The leftmost match of any of `res` (at most one can match at a given
/// position, since the separator there decides), cut out of `s`.
fn cut_any(s: &mut Vec<u8>, res: &[Regex; 3]) -> Option<Vec<Option<String>>> {
    let first = res
        .iter()
        .filter_map(|re| re.find(s).map(|m| (m.start(), re)))
        .min_by_key(|(start, _)| *start)?;
    cut(s, first.1, |_| b" ".to_vec())
}

/// Perl's truth of a captured string: set, and neither empty nor "0".
fn truthy(g: &Option<String>) -> bool {
    g.as_deref().is_some_and(|v| !v.is_empty() && v != "0")
}

struct Patterns {
    parens: Regex,
    punct: Regex,
    day: Regex,
    clock: Regex,
    hour_ampm: Regex,
    ampm: Regex,
    /// One per separator (`-`, `.`, `/`): the pattern repeats it.
    dmy_named: [Regex; 3],
    numeric: [Regex; 3],
    day_month: Regex,
    month_day: Regex,
    month_slash: Regex,
    yymmdd: Regex,
    year: Regex,
    dst: Regex,
    zone_name: Regex,
    zone_offset: Regex,
    utc: Regex,
    zone_offset_loose: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |s: &str| Regex::new(&format!("(?-u){s}")).expect("valid date pattern");
        Patterns {
            parens: re(r"\([^()]*\)"),
            punct: re(r"([\d\w\s])[.,]\s"),
            day: re(&format!(r"(?:{DAYS})\s*(?:den\s)?\b")),
            clock: re(r"[:\s](\d\d?):(\d\d?)(:(\d\d?)(?:\.\d+)?)?(z)?\s*(?:([ap])\.?m?\.?)?\s"),
            hour_ampm: re(r"\s(\d\d?)\s*([ap])\.?m?\.?\s"),
            ampm: re(r" ([ap])\.?m?\.?\s"),
            dmy_named: SEPARATORS
                .map(|c| re(&format!(r"\s(\d\d?)(\{c})({MONTHS})(\{c}(\d\d+))?\s"))),
            numeric: SEPARATORS.map(|c| re(&format!(r"\s(\d+)(\{c})(\d\d?)(\{c}(\d+))?\s"))),
            day_month: re(&format!(r"\s(\d+)\s*(?:{SUFFIXES})?\s*({MONTHS})")),
            month_day: re(&format!(r"({MONTHS})\s*(\d+)\s*(?:{SUFFIXES})?\s")),
            month_slash: re(&format!(r"({MONTHS})([/-])(\d+)[/-]")),
            yymmdd: re(r"\s(\d\d)(\d\d)(\d\d)\s"),
            year: re(r"\s(\d{2}(\d{2})?)[\s.,]"),
            dst: re(r"\bdst\b"),
            zone_name: re(r#"\s"?([a-z]{3,4})(dst|\d+[a-z]*|_[a-z]+)?"?\s"#),
            zone_offset: re(r"\s([a-z]{3,4})?([-+]?)-?(\d\d?):?(\d\d)?(00)?\s"),
            utc: re(r"^\s*(ut?|z)\s*$"),
            zone_offset_loose: re(r"\s([a-z]{3,4})?([-+]?)-?(\d\d?)(\d\d)?(00)?\s"),
        }
    })
}

/// Replaces the first match of `re` in `s` with `with` (given the match),
/// returning its captures as owned strings (`None` when it did not match).
fn cut(
    s: &mut Vec<u8>,
    re: &Regex,
    with: impl Fn(&Captures<'_>) -> Vec<u8>,
) -> Option<Vec<Option<String>>> {
    let caps = re.captures(s)?;
    let whole = caps.get(0)?.range();
    let groups = (0..caps.len())
        .map(|i| {
            caps.get(i)
                .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
        })
        .collect();
    let replacement = with(&caps);
    s.splice(whole, replacement);
    Some(groups)
}

fn num(g: &Option<String>) -> Option<i64> {
    g.as_deref().and_then(|s| s.parse().ok())
}

/// Perl's numeric value of a string such as `"+05"` or `"-"` (0).
fn perl_num(s: &str) -> i64 {
    let t = s.trim_start_matches('+');
    t.parse().unwrap_or(0)
}

/// Date::Parse's ISO pattern, which needs back-references:
/// `\s(\d{4})([-:]?)(\d\d?)\2(\d\d?)(?:[-Tt ](\d\d?)(?:([-:]?)(\d\d?)(?:\6(\d\d?)(?:[.,](\d+))?)?)?)?(?=\D)`,
/// tried leftmost first with Perl's greedy-first backtracking. Returns the
/// matched range and (year, month, day, hour, minute, second, fraction).
#[allow(clippy::type_complexity)]
fn iso(s: &[u8]) -> Option<(std::ops::Range<usize>, [Option<String>; 7])> {
    let digit = |i: usize| s.get(i).is_some_and(u8::is_ascii_digit);
    let text = |a: usize, b: usize| Some(String::from_utf8_lossy(&s[a..b]).into_owned());
    // Lengths 2 then 1 of a `\d\d?` at `i`.
    let dd = |i: usize| -> Vec<usize> {
        match (digit(i), digit(i + 1)) {
            (true, true) => vec![2, 1],
            (true, false) => vec![1],
            _ => vec![],
        }
    };
    // Separator choices of `[-:]?` at `i`: one of them, then none.
    let sep = |i: usize| -> Vec<usize> {
        if matches!(s.get(i), Some(b'-' | b':')) {
            vec![1, 0]
        } else {
            vec![0]
        }
    };
    let ends_ok = |i: usize| s.get(i).is_some_and(|c| !c.is_ascii_digit());
    for start in 0..s.len() {
        if !s[start].is_ascii_whitespace() {
            continue;
        }
        let y = start + 1;
        if !(0..4).all(|k| digit(y + k)) {
            continue;
        }
        let after_y = y + 4;
        for l2 in sep(after_y) {
            let s2 = &s[after_y..after_y + l2];
            let m = after_y + l2;
            for lm in dd(m) {
                let d0 = m + lm;
                if s.get(d0..d0 + l2) != Some(s2) {
                    continue;
                }
                let d = d0 + l2;
                for ld in dd(d) {
                    let e = d + ld;
                    let date = [text(y, after_y), text(m, m + lm), text(d, e)];
                    // The optional time, longest alternatives first.
                    let mut found = None;
                    if matches!(s.get(e), Some(b'-' | b'T' | b't' | b' ')) {
                        let h = e + 1;
                        'hour: for lh in dd(h) {
                            let after_h = h + lh;
                            for l6 in sep(after_h) {
                                let s6 = &s[after_h..after_h + l6];
                                let mi = after_h + l6;
                                for lmi in dd(mi) {
                                    let after_mi = mi + lmi;
                                    // seconds (and fraction), then none
                                    if s.get(after_mi..after_mi + l6) == Some(s6) {
                                        let se = after_mi + l6;
                                        for lse in dd(se) {
                                            let after_se = se + lse;
                                            if matches!(s.get(after_se), Some(b'.' | b',')) {
                                                let f = after_se + 1;
                                                let mut fe = f;
                                                while digit(fe) {
                                                    fe += 1;
                                                }
                                                // `\d+` greedy, backing off one digit at a time.
                                                for end in (f + 1..=fe).rev() {
                                                    if ends_ok(end) {
                                                        found = Some((
                                                            end,
                                                            [
                                                                text(h, after_h),
                                                                text(mi, after_mi),
                                                                text(se, after_se),
                                                                text(f, end),
                                                            ],
                                                        ));
                                                        break 'hour;
                                                    }
                                                }
                                            }
                                            if ends_ok(after_se) {
                                                found = Some((
                                                    after_se,
                                                    [
                                                        text(h, after_h),
                                                        text(mi, after_mi),
                                                        text(se, after_se),
                                                        None,
                                                    ],
                                                ));
                                                break 'hour;
                                            }
                                        }
                                    }
                                    if ends_ok(after_mi) {
                                        found = Some((
                                            after_mi,
                                            [text(h, after_h), text(mi, after_mi), None, None],
                                        ));
                                        break 'hour;
                                    }
                                }
                            }
                            if ends_ok(after_h) {
                                found = Some((after_h, [text(h, after_h), None, None, None]));
                                break 'hour;
                            }
                        }
                    }
                    if found.is_none() && ends_ok(e) {
                        found = Some((e, [None, None, None, None]));
                    }
                    if let Some((end, [hh, mm, ss, frac])) = found {
                        let [yy, mo, dy] = date;
                        return Some((start..end, [yy, mo, dy, hh, mm, ss, frac]));
                    }
                }
            }
        }
    }
    None
}

/// The fields Date::Parse's `strptime` extracts.
#[derive(Debug, Default, PartialEq)]
struct Fields {
    second: Option<f64>,
    minute: Option<i64>,
    hour: Option<i64>,
    day: Option<i64>,
    /// 0-based.
    month: Option<i64>,
    /// Years since 1900 when a century was given, else as written.
    year: Option<i64>,
    zone: Option<i64>,
    century: bool,
}

fn month_number(name: &str) -> Option<i64> {
    const NAMES: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    NAMES
        .iter()
        .position(|m| name.starts_with(m))
        .map(|i| i as i64)
}

fn strptime(input: &[u8]) -> Option<Fields> {
    let p = patterns();
    let mut s: Vec<u8> = input.to_ascii_lowercase();
    while cut(&mut s, &p.parens, |_| b" ".to_vec()).is_some() {}
    // s#(\A|\n|\Z)# #g: a space at each end and for each newline.
    let mut t = vec![b' '];
    t.extend(s.iter().map(|&c| if c == b'\n' { b' ' } else { c }));
    if !s.is_empty() {
        t.push(b' ');
    }
    let mut s = p.punct.replace_all(&t, &b"${1} "[..]).into_owned();
    for c in s.iter_mut() {
        if *c == b',' {
            *c = b' ';
        }
    }
    cut(&mut s, &p.day, |_| b" ".to_vec());
    if !s.iter().any(|c| !c.is_ascii_whitespace()) {
        return None;
    }
    let mut f = Fields::default();
    let mut merid = 24;
    let mut frac: Option<String> = None;
    if let Some((range, [y, mo, d, h, mi, se, fr])) = iso(&s) {
        s.splice(range, b" ".iter().copied());
        f.year = num(&y);
        f.month = num(&mo).map(|m| m - 1);
        f.day = num(&d);
        f.hour = num(&h);
        f.minute = num(&mi);
        f.second = num(&se).map(|v| v as f64);
        frac = fr;
    }
    if f.hour.is_none() {
        if let Some(g) = cut(&mut s, &p.clock, |_| b" ".to_vec()) {
            f.hour = num(&g[1]);
            f.minute = num(&g[2]);
            f.second = num(&g[4]).map(|v| v as f64);
            if g[5].is_some() {
                f.zone = Some(0);
            }
            if let Some(ap) = &g[6] {
                merid = if ap == "a" { 0 } else { 12 };
            }
        } else if let Some(g) = cut(&mut s, &p.hour_ampm, |_| b" ".to_vec()) {
            f.hour = num(&g[1]);
            f.minute = Some(0);
            f.second = Some(0.0);
            merid = if g[2].as_deref() == Some("a") { 0 } else { 12 };
        }
    }
    if f.hour.is_some_and(|h| h <= 12) {
        if let Some(g) = cut(&mut s, &p.ampm, |_| b" ".to_vec()) {
            merid = if g[1].as_deref() == Some("a") { 0 } else { 12 };
        }
    }
    if f.year.is_none() {
        if let Some(g) = cut_any(&mut s, &p.dmy_named) {
            f.month = g[3].as_deref().and_then(month_number);
            f.day = num(&g[1]);
            if truthy(&g[5]) {
                f.year = num(&g[5]);
            }
        } else if let Some(g) = cut_any(&mut s, &p.numeric) {
            let first = num(&g[1])?;
            f.month = Some(first - 1);
            f.day = num(&g[3]);
            if truthy(&g[5]) {
                let mut year_text = g[5].clone().unwrap_or_default();
                f.year = num(&g[5]);
                // 1995-01-24, the short mainframe format
                if first - 1 > 12 {
                    year_text = g[1].clone().unwrap_or_default();
                    f.year = Some(first);
                    f.month = num(&g[3]).map(|m| m - 1);
                    f.day = num(&g[5]);
                }
                if year_text.len() > 2 && f.year.is_some_and(|y| y < 1901) {
                    return None;
                }
            }
        } else if let Some(g) = cut(&mut s, &p.day_month, |_| b" ".to_vec()) {
            f.month = g[2].as_deref().and_then(month_number);
            f.day = num(&g[1]);
        } else if let Some(g) = cut(&mut s, &p.month_day, |_| b" ".to_vec()) {
            f.month = g[1].as_deref().and_then(month_number);
            f.day = num(&g[2]);
        } else if let Some(g) = cut(&mut s, &p.month_slash, |_| b" ".to_vec()) {
            f.month = g[1].as_deref().and_then(month_number);
            f.day = num(&g[3]);
        } else if let Some(g) = cut(&mut s, &p.yymmdd, |_| b" ".to_vec()) {
            f.year = num(&g[1]);
            f.month = num(&g[2]).map(|m| m - 1);
            f.day = num(&g[3]);
        }
        if f.year.is_none() {
            if let Some(g) = cut(&mut s, &p.year, |_| b" ".to_vec()) {
                f.year = num(&g[1]);
            }
        }
    }
    let mut dst = cut(&mut s, &p.dst, |_| Vec::new()).is_some();
    if let Some(g) = cut(&mut s, &p.zone_name, |_| b" ".to_vec()) {
        if g[2].as_deref() == Some("dst") {
            dst = true;
        }
        f.zone = Some(zone_offset(g[1].as_deref()?.as_bytes())?);
    } else if let Some(g) = cut(&mut s, &p.zone_offset, |_| b" ".to_vec()) {
        f.zone = Some(offset_zone(&g)?);
    }
    if s.iter().any(|c| !c.is_ascii_whitespace()) {
        if cut(&mut s, &p.utc, |_| Vec::new()).is_some() {
            f.zone = Some(0);
        } else if let Some(g) = cut(&mut s, &p.zone_offset_loose, |_| b" ".to_vec()) {
            f.zone = Some(offset_zone(&g)?);
        }
        if s.iter().any(|c| !c.is_ascii_whitespace()) {
            return None;
        }
    }
    if let Some(h) = f.hour {
        if h == 12 {
            if merid == 0 {
                f.hour = Some(0);
            }
        } else if merid == 12 {
            f.hour = Some(h + 12);
        }
    }
    if let Some(y) = f.year.filter(|&y| y > 1900) {
        f.century = true;
        f.year = Some(y - 1900);
    }
    if dst {
        f.zone = f.zone.map(|z| z + 3600);
    }
    if let Some(fr) = frac.filter(|fr| fr.bytes().any(|b| b != b'0')) {
        let v: f64 = format!("0.{fr}").parse().ok()?;
        f.second = Some(f.second.unwrap_or(0.0) + v);
    }
    Some(f)
}

/// A zone from an offset match: groups 1 (name), 2 (sign), 3 (hours),
/// 4 (minutes).
fn offset_zone(g: &[Option<String>]) -> Option<i64> {
    let sign = g[2].as_deref().unwrap_or("");
    let m = g[4].as_ref().map_or(0, |m| perl_num(&format!("{sign}{m}")));
    let h = perl_num(&format!("{sign}{}", g[3].as_deref().unwrap_or("0")));
    let base = match &g[1] {
        Some(name) => zone_offset(name.as_bytes())?,
        None => 0,
    };
    Some(base + 60 * (m + 60 * h))
}

/// Time::Local's reading of a year field: years since 1900, except 0..99
/// (a rolling century around `this_year`) and 1000 and above (the year).
fn full_year(year: i64, this_year: i32) -> i64 {
    if year >= 1000 {
        return year;
    }
    if (0..100).contains(&year) {
        let t = i64::from(this_year) - 1900;
        let breakpoint = (t + 50) % 100;
        let mut next = t - t % 100;
        if breakpoint < 50 {
            next += 100;
        }
        let century = next - 100;
        return 1900 + year + if year > breakpoint { century } else { next };
    }
    1900 + year
}

/// `str2time`: seconds since the epoch (with a fraction when the text had
/// one), or `None` when Date::Parse would return undef.
pub(crate) fn str2time(text: &[u8], now: &chrono::DateTime<chrono::Local>) -> Option<f64> {
    let f = strptime(text)?;
    let hour = f.hour.unwrap_or(0);
    let minute = f.minute.unwrap_or(0);
    let second = f.second.unwrap_or(0.0);
    let frac = second - second.trunc();
    let second = second.trunc() as i64;
    let month = f.month.unwrap_or(i64::from(now.month0()));
    let day = f.day.unwrap_or(i64::from(now.day()));
    let year = match f.year {
        Some(y) if f.century => y + 1900,
        Some(y) => y,
        None => {
            let this = i64::from(now.year()) - 1900;
            if month > i64::from(now.month0()) {
                this - 1
            } else {
                this
            }
        }
    };
    if !(month <= 11 && (1..=31).contains(&day) && hour <= 23 && minute <= 59 && second <= 59) {
        return None;
    }
    let year = full_year(year, now.year());
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(year).ok()?,
        u32::try_from(month + 1).ok()?,
        u32::try_from(day).ok()?,
    )?;
    let naive = date.and_hms_opt(hour as u32, minute as u32, second as u32)?;
    let secs = match f.zone {
        Some(zone) => naive.and_utc().timestamp() - zone,
        None => chrono::Local
            .from_local_datetime(&naive)
            .earliest()?
            .timestamp(),
    };
    Some(secs as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<i64> {
        let now = chrono::Local::now();
        str2time(s.as_bytes(), &now).map(|v| v as i64)
    }

    #[test]
    fn rfc2822_and_from_lines() {
        assert_eq!(t("Tue, 1 Dec 2026 12:00:00 +0000"), Some(1_796_126_400));
        assert_eq!(
            t("Tue, 1 Dec 2026 07:00:00 -0500 (EST)"),
            Some(1_796_126_400)
        );
        assert_eq!(t("1 Dec 2026 13:00:00 CET"), Some(1_796_126_400));
        assert_eq!(t("Tue, 1 Dec 2026 04:00:00 PST"), Some(1_796_126_400));
        assert_eq!(t("Tue Dec  1 12:00:00 2026 GMT"), Some(1_796_126_400));
        assert_eq!(t("2026-12-01 12:00:00 +0000"), Some(1_796_126_400));
        assert_eq!(t("Tue, 31 Feb 2026 12:00:00 +0000"), None);
        assert_eq!(t("not a date"), None);
        assert_eq!(t("Tue, 1 Dec 2026 12:00:00 +0000 garbage"), None);
        assert_eq!(t(""), None);
    }

    #[test]
    fn two_digit_years_roll_around_this_year() {
        assert_eq!(full_year(96, 2026), 1996);
        assert_eq!(full_year(26, 2026), 2026);
        assert_eq!(full_year(76, 2026), 2076);
        assert_eq!(full_year(77, 2026), 1977);
        assert_eq!(full_year(126, 2026), 2026);
        assert_eq!(full_year(2026, 2026), 2026);
    }

    /// Dates grepmail meets in real mailboxes, broken ones included.
    const TRICKY: &[&str] = &[
        "Tue, 1 Dec 2026 12:00:00 +0000",
        "Tue,  1 Dec 2026 12:00:00 +0100 (CET)",
        "Tue, 01 Dec 2026 12:00:00 -0800 (PST)",
        "1 Dec 2026 12:00:00 -0000",
        "Tue, 1 Dec 2026 12:00 +0000",
        "Tue, 1 Dec 26 12:00:00 +0000",
        "Tue, 1 Dec 96 12:00:00 +0000",
        "Tue, 1 Dec 2026 12:00:00 GMT",
        "Tue, 1 Dec 2026 12:00:00 UT",
        "Tue, 1 Dec 2026 12:00:00 Z",
        "Tue, 1 Dec 2026 12:00:00 EDT",
        "Tue, 1 Dec 2026 12:00:00 MET DST",
        "Tue, 1 Dec 2026 12:00:00 XYZ",
        "Tue, 1 Dec 2026 12:00:00 +0530",
        "Tue, 1 Dec 2026 12:00:00 +05:30",
        "Tue, 1 Dec 2026 12:00:00",
        "Tuesday, December 1st, 2026 12:00:00 PM",
        "Dec 1 2026 12:00am",
        "Dec 1 2026 12:00pm",
        "Dec 1, 2026 3 pm",
        "Tue Dec  1 12:00:00 2026",
        "Tue Dec  1 12:00:00 EST 2026",
        "Tue Dec 01 12:00:00 2026 +0200",
        "2026-12-01T12:00:00",
        "2026-12-01T12:00:00Z",
        "2026-12-01 12:00:00.25 +0000",
        "20261201T120000",
        "2026-12-01",
        "2026/12/01 12:00",
        "12/01/2026 12:00:00",
        "01.12.2026 12:00:00",
        "1-dec-2026 12:00:00",
        "1-Dec-26 12:00",
        "1/dec-2026 12:00",
        "Dec-01-2026 12:00",
        "261201 12:00:00",
        "Tue, 31 Feb 2026 12:00:00 +0000",
        "Tue, 31 Apr 2026 12:00:00 +0000",
        "Tue, 29 Feb 2028 12:00:00 +0000",
        "Tue, 1 Dec 2026 25:00:00 +0000",
        "Tue, 1 Dec 2026 12:60:00 +0000",
        "Tue, 1 Dec 2026 12:00:60 +0000",
        "Tue, 1 Dec 1850 12:00:00 +0000",
        "Tue, 1 Dec 2026 12:00:00 +0000 (Coordinated (Universal) Time)",
        "Tue, 1 Dec 2026 12:00:00 +0000 garbage",
        "foo",
        "",
        "   ",
        "Mon, 32 Dec 2026 12:00:00 +0000",
        "Thu, 1 Jan 1970 00:00:00 +0000",
        "12:00:00",
        "Dec 1",
        "1 December",
        "June 2026",
        "Sat, 13 Mar 2027 01:02:03 +1300",
        "Fri, 1 Dec 2026 12:00:00 -1200",
        "tue, 1 dec 2026 12:00:00 +0000",
        "TUE, 1 DEC 2026 12:00:00 +0000",
        "Tue,1 Dec 2026 12:00:00 +0000",
        "Tue, 1 Dec 2026 12.00.00 +0000",
        "Tue, 1 Dec 2026 12:00:00 +0000 (UTC) extra",
        "Wed, 2 Dec 2026 3:04:05 am EST",
        "Wed, 2 Dec 2026 13:04:05 pm",
        "2 Dec 2026 12:00:00 EST5EDT",
        "2 Dec 2026 12:00:00 nzdt",
        "Dec 2 12:00:00",
        "Thu Jan  1 00:00:00 1970",
    ];

    /// Compares [`str2time`] with Perl's own Date::Parse on [`TRICKY`]
    /// (skipped when Perl or Date::Parse is missing, but not under CI).
    #[test]
    fn agrees_with_perls_date_parse() {
        let script = "use Date::Parse; while (<STDIN>) { chomp; my $t = str2time($_); \
                      print defined $t ? sprintf(\"%.6f\", $t) : 'undef', \"\\n\"; }";
        let child = std::process::Command::new("perl")
            .arg("-e")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                assert!(std::env::var_os("CI").is_none(), "perl: {e}");
                eprintln!("skipping: no perl");
                return;
            }
        };
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            for d in TRICKY {
                writeln!(stdin, "{d}").unwrap();
            }
        }
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            assert!(std::env::var_os("CI").is_none(), "Date::Parse missing");
            eprintln!("skipping: no Date::Parse");
            return;
        }
        let now = chrono::Local::now();
        let theirs: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let mut wrong = Vec::new();
        for (d, want) in TRICKY.iter().zip(&theirs) {
            let ours =
                str2time(d.as_bytes(), &now).map_or("undef".to_string(), |t| format!("{t:.6}"));
            if &ours != want {
                wrong.push(format!("{d:?}: cedar {ours}, Date::Parse {want}"));
            }
        }
        assert_eq!(theirs.len(), TRICKY.len());
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
