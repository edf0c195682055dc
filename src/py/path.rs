//! Python's `os.path.join` and `os.path.normpath` on POSIX, on raw path
//! strings: nothing is normalized behind the caller's back, so string
//! comparisons behave exactly as Cedar's do.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Cedar's `pathJoin` (`os.path.join`) on raw path strings: no separator is
/// added after a base that already ends in `/`, and an absolute `rest`
/// replaces the base. Unlike `PathBuf::join`, nothing is normalized, so
/// string comparisons behave exactly as Cedar's do.
pub fn join(base: &OsStr, rest: &OsStr) -> OsString {
    let r = rest.as_bytes();
    if r.first() == Some(&b'/') {
        return rest.to_os_string();
    }
    let mut v = base.as_bytes().to_vec();
    if !v.is_empty() && v.last() != Some(&b'/') {
        v.push(b'/');
    }
    v.extend_from_slice(r);
    OsString::from_vec(v)
}

/// Python's `os.path.normpath` for absolute and relative POSIX paths.
pub fn normpath(path: &OsStr) -> OsString {
    let b = path.as_bytes();
    if b.is_empty() {
        return OsString::from(".");
    }
    // POSIX allows exactly two leading slashes to be special; Python keeps them.
    let lead: &[u8] = if b.starts_with(b"//") && !b.starts_with(b"///") {
        b"//"
    } else if b.starts_with(b"/") {
        b"/"
    } else {
        b""
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for comp in b.split(|&c| c == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if parts.last().is_some_and(|p| *p != b"..") {
                    parts.pop();
                } else if lead.is_empty() {
                    parts.push(comp);
                }
            }
            c => parts.push(c),
        }
    }
    let mut out = lead.to_vec();
    out.extend_from_slice(&parts.join(&b'/'));
    if out.is_empty() {
        out.push(b'.');
    }
    OsString::from_vec(out)
}

/// [`join`] on `str`s (config values).
pub fn join_str(base: &str, rest: &str) -> String {
    let joined = join(OsStr::new(base), OsStr::new(rest));
    String::from_utf8_lossy(joined.as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_normalizes_like_os_path() {
        let j = |a: &str, b: &str| join(OsStr::new(a), OsStr::new(b));
        assert_eq!(j("/a", "b"), "/a/b");
        assert_eq!(j("/a/", "b"), "/a/b");
        assert_eq!(j("/", "b"), "/b");
        assert_eq!(j("/a", "/b"), "/b");
        let n = |a: &str| normpath(OsStr::new(a));
        assert_eq!(n("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(n("/../x"), "/x");
        assert_eq!(n("//x/y"), "//x/y");
        assert_eq!(n("a/../../b"), "../b");
    }

    #[test]
    fn path_join_like_python() {
        assert_eq!(join_str("/a", "b"), "/a/b");
        assert_eq!(join_str("/a/", "b"), "/a/b");
        assert_eq!(join_str("/a", "/b"), "/b");
    }
}
