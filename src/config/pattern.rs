//! Exclude patterns: Python regular expressions that Cedar matches against
//! whole paths. Each pattern is checked and translated from Python's `re`
//! syntax by [`crate::py::re`] (so `a{,3}`, `\Z`, `(?#...)`, octal escapes and
//! literal braces mean what they mean to Cedar); what has no equivalent in
//! the `regex` crate (look-around, back-references) is rejected clearly
//! instead of silently matching something else.

use regex::Regex;

use crate::py::re::{translate, PyReError};

/// Compiles an exclude pattern anchored at both ends, as Cedar applies it to
/// whole paths.
///
/// QUIRK fixed: Cedar builds `re.compile(r"^%s$" % pattern)` without a group,
/// so in Cedar a top-level alternation `a|b` means "starts with a, or ends
/// with b"; cedar anchors the whole pattern (`^(?:a|b)$`), which is what the
/// configuration means.
pub fn compile_exclude_pattern(pattern: &str) -> Result<Regex, String> {
    let rust = translate(pattern).map_err(|e| match e {
        PyReError::Invalid(why) => {
            format!("\"{pattern}\" is not a valid regular expression ({why})")
        }
        PyReError::Unsupported(why) => format!("\"{pattern}\" {why}"),
    })?;
    Regex::new(&format!("^(?:{rust})$")).map_err(|e| {
        let detail = e.to_string();
        let last = detail.lines().last().unwrap_or("invalid syntax").trim();
        format!("\"{pattern}\" is not a regular expression cedar can use ({last})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_both_ends() {
        let re = compile_exclude_pattern(r".*\.tmp").expect("valid");
        assert!(re.is_match("/var/log/a.tmp"));
        assert!(!re.is_match("/var/log/a.tmp.gz"));
        let re = compile_exclude_pattern("a|b").expect("valid");
        assert!(re.is_match("a") && re.is_match("b") && !re.is_match("ab"));
    }

    #[test]
    fn python_syntax_is_translated() {
        let re = compile_exclude_pattern(r"/var/log/[a-z]{,3}\.log\Z").expect("valid");
        assert!(re.is_match("/var/log/ab.log") && !re.is_match("/var/log/abcd.log"));
        let re = compile_exclude_pattern("[[:x]]").expect("valid");
        assert!(re.is_match(":]") && !re.is_match("x"));
        let re = compile_exclude_pattern("a{1").expect("a literal brace");
        assert!(re.is_match("a{1"));
    }

    #[test]
    fn rejects_what_it_cannot_compile() {
        let err = compile_exclude_pattern(r"(?!x).*").expect_err("look-ahead unsupported");
        assert!(err.contains("(?!x).*"), "{err}");
        assert!(compile_exclude_pattern("(").is_err());
        assert!(compile_exclude_pattern("a)(b").is_err());
        assert!(compile_exclude_pattern(r"(a)\1").is_err());
    }
}
