//! Python's number parsing and whitespace, as Cedar reads config values:
//! `int(text)`, `float(text)` and `str.strip()`.

/// Python's `str.strip()` whitespace.
pub fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(py_space)
}

/// Underscores are allowed only between two digits, as in Python literals.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'_'
            || (i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit())
    })
}

/// Python's `int(text)` for base-10 text (surrounding whitespace, a sign and
/// digit-separating underscores allowed). `None` where Python raises, or
/// where the value does not fit an `i64`.
pub fn py_int(s: &str) -> Option<i64> {
    let t = py_strip(s);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty()
        || !underscores_ok(digits)
        || !digits.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        return None;
    }
    let clean: String = t.chars().filter(|&c| c != '_').collect();
    clean.parse().ok()
}

/// Python's `float(text)`: surrounding whitespace, `inf`/`nan`, exponents and
/// digit-separating underscores allowed.
pub fn py_float(s: &str) -> Option<f64> {
    let t = py_strip(s);
    if t.is_empty() || !underscores_ok(t) {
        return None;
    }
    let clean: String = t.chars().filter(|&c| c != '_').collect();
    // Rust accepts the same spellings as Python here, except that it also
    // takes a bare sign-less "infinity"/"nan" in any case, as Python does.
    clean.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int() {
        for (s, v) in [
            ("5", Some(5)),
            (" 5\n", Some(5)),
            ("+5", Some(5)),
            ("-12", Some(-12)),
            ("1_000", Some(1000)),
            ("007", Some(7)),
            ("1__0", None),
            ("_1", None),
            ("1_", None),
            ("5.0", None),
            ("", None),
            ("+", None),
            ("- 5", None),
            ("0x10", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(py_int(s), v, "{s:?}");
        }
    }

    #[test]
    fn python_float() {
        for (s, v) in [
            ("1.5", Some(1.5)),
            (" 2 ", Some(2.0)),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
            ("1e3", Some(1000.0)),
            ("1_0.5", Some(10.5)),
            ("-inf", Some(f64::NEG_INFINITY)),
            ("abc", None),
            ("", None),
            ("1._5", None),
        ] {
            assert_eq!(py_float(s), v, "{s:?}");
        }
        assert!(py_float("nan").unwrap().is_nan());
    }
}

/// Python's `int(text, radix)` for radix 2, 8, 10 or 16: like [`py_int`],
/// plus the optional `0b`/`0o`/`0x` prefix of that radix (after which one
/// underscore may follow), as Cedar's `int(value, 8)` reads `-m 0o600`.
pub fn py_int_radix(s: &str, radix: u32) -> Option<i64> {
    let t = py_strip(s);
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let prefix = match radix {
        2 => Some("0b"),
        8 => Some("0o"),
        16 => Some("0x"),
        _ => None,
    };
    let digits = match prefix {
        Some(p) if body.len() >= 2 && body[..2].eq_ignore_ascii_case(p) => {
            let rest = &body[2..];
            rest.strip_prefix('_').unwrap_or(rest)
        }
        _ => body,
    };
    let b = digits.as_bytes();
    let digit = |c: u8| char::from(c).is_digit(radix);
    let shape_ok = !b.is_empty()
        && b.iter().enumerate().all(|(i, &c)| {
            digit(c)
                || (c == b'_' && i > 0 && i + 1 < b.len() && digit(b[i - 1]) && digit(b[i + 1]))
        });
    if !shape_ok {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let value = i64::from_str_radix(&clean, radix).ok()?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod radix_tests {
    use super::py_int_radix;

    #[test]
    fn octal_like_python() {
        for (s, v) in [
            ("600", Some(0o600)),
            ("0o600", Some(0o600)),
            ("0O17", Some(0o17)),
            ("0o_7", Some(7)),
            (" 7\n", Some(7)),
            ("1_0", Some(8)),
            ("+644", Some(0o644)),
            ("-1", Some(-1)),
            ("9", None),
            ("0o", None),
            ("0x10", None),
            ("1__0", None),
            ("_1", None),
            ("", None),
        ] {
            assert_eq!(py_int_radix(s, 8), v, "{s:?}");
        }
        assert_eq!(py_int_radix("0x1f", 16), Some(31));
        assert_eq!(py_int_radix("12", 10), Some(12));
    }
}
