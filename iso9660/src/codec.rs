//! Field encodings shared by all on-disc records: both-endian numbers and the
//! two ECMA-119 date formats.

/// Writes `v` as a both-endian 32-bit number (8 bytes: little then big).
pub(crate) fn put_both32(buf: &mut [u8], v: u32) {
    buf[..4].copy_from_slice(&v.to_le_bytes());
    buf[4..8].copy_from_slice(&v.to_be_bytes());
}

/// Writes `v` as a both-endian 16-bit number (4 bytes).
pub(crate) fn put_both16(buf: &mut [u8], v: u16) {
    buf[..2].copy_from_slice(&v.to_le_bytes());
    buf[2..4].copy_from_slice(&v.to_be_bytes());
}

/// Reads a both-endian 32-bit number; `None` when the halves disagree, which
/// strict readers treat as corruption.
pub(crate) fn get_both32(buf: &[u8]) -> Option<u32> {
    let le = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?);
    let be = u32::from_be_bytes(buf.get(4..8)?.try_into().ok()?);
    (le == be).then_some(le)
}

/// Reads the little-endian half of a both-endian 32-bit number; lenient
/// readers (Linux) trust it alone, so the reader does too.
pub(crate) fn get_le32(buf: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(buf.get(..4)?.try_into().ok()?))
}

/// Reads a both-endian 16-bit number; `None` when the halves disagree.
pub(crate) fn get_both16(buf: &[u8]) -> Option<u16> {
    let le = u16::from_le_bytes(buf.get(..2)?.try_into().ok()?);
    let be = u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?);
    (le == be).then_some(le)
}

/// A calendar date and time in UTC, the form both ECMA-119 date fields share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Full year, e.g. 2026.
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
}

impl Civil {
    /// Converts seconds since the Unix epoch (UTC) to a calendar date.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's days-to-civil algorithm: exact for the proleptic
        // Gregorian calendar over the whole i64 day range we can meet.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
        }
    }

    /// Converts back to seconds since the Unix epoch, applying a UTC offset
    /// in 15-minute units as recorded on disc.
    pub fn to_unix(self, offset_quarters: i8) -> i64 {
        let y = self.year - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let mp = if m > 2 { m - 3 } else { m + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(offset_quarters) * 900
    }
}

/// Encodes the 7-byte directory-record date (years 1900..=2155, UTC).
/// Times outside that range are clamped, since the field cannot hold them.
pub fn encode_short_date(secs: i64) -> [u8; 7] {
    const MIN: i64 = -2_208_988_800; // 1900-01-01T00:00:00Z
    const MAX: i64 = 5_869_583_999; // 2155-12-31T23:59:59Z
    let c = Civil::from_unix(secs.clamp(MIN, MAX));
    [
        (c.year - 1900) as u8,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        0,
    ]
}

/// Decodes a 7-byte directory-record date; `None` for an all-zero
/// ("not specified") field or impossible values.
pub fn decode_short_date(b: &[u8; 7]) -> Option<i64> {
    if b.iter().all(|&x| x == 0) {
        return None;
    }
    let c = Civil {
        year: 1900 + i64::from(b[0]),
        month: b[1],
        day: b[2],
        hour: b[3],
        minute: b[4],
        second: b[5],
    };
    if !(1..=12).contains(&c.month)
        || !(1..=31).contains(&c.day)
        || c.hour > 23
        || c.minute > 59
        || c.second > 60
    {
        return None;
    }
    Some(c.to_unix(b[6] as i8))
}

/// Encodes the 17-byte volume-descriptor date; `None` gives the "not
/// specified" form, which is ASCII zeros, not zero bytes.
pub fn encode_long_date(secs: Option<i64>) -> [u8; 17] {
    let mut out = [b'0'; 17];
    out[16] = 0;
    if let Some(secs) = secs {
        // The field has four year digits.
        let c = Civil::from_unix(secs.clamp(-62_135_596_800, 253_402_300_799));
        let text = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}00",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        );
        out[..16].copy_from_slice(text.as_bytes());
    }
    out
}

/// Decodes a 17-byte volume-descriptor date; `None` when unspecified or
/// not made of digits.
pub fn decode_long_date(b: &[u8; 17]) -> Option<i64> {
    let digits = &b[..16];
    if !digits.iter().all(u8::is_ascii_digit) || digits.iter().all(|&d| d == b'0') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> i64 {
        digits[r]
            .iter()
            .fold(0, |a, &d| a * 10 + i64::from(d - b'0'))
    };
    let c = Civil {
        year: num(0..4),
        month: num(4..6) as u8,
        day: num(6..8) as u8,
        hour: num(8..10) as u8,
        minute: num(10..12) as u8,
        second: num(12..14) as u8,
    };
    if !(1..=12).contains(&c.month) || !(1..=31).contains(&c.day) {
        return None;
    }
    Some(c.to_unix(b[16] as i8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(encode_short_date(0), [70, 1, 1, 0, 0, 0, 0]);
        assert_eq!(
            encode_short_date(1_700_000_000),
            [123, 11, 14, 22, 13, 20, 0]
        );
        assert_eq!(
            &encode_long_date(Some(951_782_400))[..16],
            b"2000022900000000"
        );
        assert_eq!(encode_long_date(None), *b"0000000000000000\0");
        assert_eq!(decode_long_date(&encode_long_date(None)), None);
    }

    #[test]
    fn offsets_apply() {
        // 01:00 at UTC+1 is midnight UTC.
        assert_eq!(decode_short_date(&[70, 1, 1, 1, 0, 0, 4]), Some(0));
    }

    #[test]
    fn both_endian_disagreement_is_detected() {
        let mut b = [0u8; 8];
        put_both32(&mut b, 0x1234_5678);
        assert_eq!(get_both32(&b), Some(0x1234_5678));
        b[7] ^= 1;
        assert_eq!(get_both32(&b), None);
        let mut h = [0u8; 4];
        put_both16(&mut h, 513);
        assert_eq!(get_both16(&h), Some(513));
    }

    proptest! {
        #[test]
        fn short_date_round_trips(secs in -2_208_988_800i64..5_869_583_999) {
            prop_assert_eq!(decode_short_date(&encode_short_date(secs)), Some(secs));
        }

        #[test]
        fn long_date_round_trips(secs in -62_135_596_800i64..253_402_300_799) {
            prop_assert_eq!(decode_long_date(&encode_long_date(Some(secs))), Some(secs));
        }
    }
}
