//! Exclude patterns: Python regular expressions that Cedar matches against
//! whole paths. The `regex` crate covers the syntax Cedar configs use; what
//! it cannot compile (look-around, back-references) is rejected clearly
//! instead of silently matching something else.

use regex::Regex;

/// Compiles an exclude pattern anchored at both ends, as Cedar applies it.
///
/// The pattern is first checked on its own, so that text such as `a)(b`,
/// which only compiles once wrapped, is rejected as Python rejects it.
pub fn compile_exclude_pattern(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern)
        .and_then(|_| Regex::new(&format!("^(?:{pattern})$")))
        .map_err(|e| {
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
    fn rejects_what_it_cannot_compile() {
        let err = compile_exclude_pattern(r"(?!x).*").expect_err("look-ahead unsupported");
        assert!(err.contains("(?!x).*"), "{err}");
        assert!(compile_exclude_pattern("(").is_err());
        assert!(compile_exclude_pattern("a)(b").is_err());
    }
}
