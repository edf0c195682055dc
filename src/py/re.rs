//! Python `re` syntax (Python 3.11's `sre_parse`, str patterns) checked and
//! translated into the syntax of the `regex` crate.
//!
//! Cedar keeps only exclude patterns that `re.compile` accepts, and rejects
//! the rest while parsing the config. This module decides exactly that, and
//! turns an accepted pattern into an equivalent `regex` pattern, or says why
//! cedar cannot apply it (look-around, back-references, conditionals, atomic
//! groups and possessive repeats, `\N{...}`, the ASCII flag), which
//! validation then reports.
//!
//! Known differences kept on purpose: `$` (without the multi-line flag) is
//! the end of the text, where Python also matches before one final newline;
//! `\w`, `\s`, `\d` use the `regex` crate's Unicode classes; every `\N{NAME}` counts
//! as unsupported (cedar has no Unicode name table), though Python rejects
//! unknown names outright; `\B` also matches in an empty text (Python's never
//! does, but paths are never empty).

use std::fmt::Write;

/// Why a Python pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyReError {
    /// Python's `re.compile` rejects it (Cedar fails while parsing).
    Invalid(String),
    /// Python accepts it but it has no equivalent in the `regex` crate.
    Unsupported(String),
}

const MAX_REPEAT: u32 = 1000;

struct Translator<'a> {
    chars: Vec<char>,
    pos: usize,
    out: String,
    /// Capturing groups opened so far (1-based numbering).
    groups: usize,
    /// Groups that are closed (may be referred to).
    closed: Vec<bool>,
    names: Vec<(String, usize)>,
    verbose: bool,
    unsupported: Option<String>,
    _src: &'a str,
}

/// An item that can be repeated, as Python tracks it.
#[derive(Clone, Copy, PartialEq)]
enum Item {
    /// Nothing yet in this sequence.
    None,
    /// An anchor such as `^`, `$`, `\b`: "nothing to repeat".
    At,
    /// A repeat: repeating it again is a "multiple repeat".
    Repeat,
    /// Anything else.
    Other,
}

impl<'a> Translator<'a> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn invalid<T>(&self, msg: impl Into<String>) -> Result<T, PyReError> {
        Err(PyReError::Invalid(format!(
            "{} at position {}",
            msg.into(),
            self.pos
        )))
    }

    fn unsupported(&mut self, what: &str) {
        if self.unsupported.is_none() {
            self.unsupported = Some(what.to_string());
        }
    }

    fn literal(&mut self, c: char) {
        push_literal(&mut self.out, c);
    }

    /// In verbose mode, whitespace and `#` comments outside classes vanish.
    fn skip_verbose(&mut self) {
        if !self.verbose {
            return;
        }
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some('#') => {
                    while let Some(c) = self.next() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                _ => return,
            }
        }
    }

    /// `a|b|...` up to an unmatched `)` or the end.
    fn alternation(&mut self, top: bool) -> Result<(), PyReError> {
        let mut first = top;
        loop {
            self.sequence(first)?;
            first = false;
            if self.eat('|') {
                self.out.push('|');
                continue;
            }
            return Ok(());
        }
    }

    /// One branch; `first` is the first branch of the whole pattern, where
    /// global flags may stand before any item.
    fn sequence(&mut self, first: bool) -> Result<(), PyReError> {
        let mut last = Item::None;
        loop {
            self.skip_verbose();
            let Some(c) = self.peek() else { return Ok(()) };
            match c {
                '|' | ')' => return Ok(()),
                '*' | '+' | '?' => {
                    self.pos += 1;
                    self.repeat(last, &c.to_string())?;
                    last = Item::Repeat;
                }
                '{' => {
                    let here = self.pos;
                    self.pos += 1;
                    match self.brace()? {
                        Some(q) => {
                            self.repeat(last, &q)?;
                            last = Item::Repeat;
                        }
                        None => {
                            self.pos = here + 1;
                            self.literal('{');
                            last = Item::Other;
                        }
                    }
                }
                '.' => {
                    self.pos += 1;
                    self.out.push('.');
                    last = Item::Other;
                }
                '^' => {
                    self.pos += 1;
                    self.out.push('^');
                    last = Item::At;
                }
                '$' => {
                    self.pos += 1;
                    self.out.push('$');
                    last = Item::At;
                }
                '[' => {
                    self.pos += 1;
                    self.class()?;
                    last = Item::Other;
                }
                '(' => {
                    self.pos += 1;
                    // Comments and global flags add no item.
                    if let Some(item) = self.group(first && last == Item::None)? {
                        last = item;
                    }
                }
                '\\' => {
                    self.pos += 1;
                    last = self.escape()?;
                }
                _ => {
                    self.pos += 1;
                    self.literal(c);
                    last = Item::Other;
                }
            }
        }
    }

    /// After `*`, `+`, `?` or a `{m,n}` that has been read: the lazy or
    /// possessive suffix, and Python's checks on what is repeated.
    fn repeat(&mut self, last: Item, quantifier: &str) -> Result<(), PyReError> {
        match last {
            Item::None | Item::At => return self.invalid("nothing to repeat"),
            Item::Repeat => return self.invalid("multiple repeat"),
            Item::Other => {}
        }
        self.out.push_str(quantifier);
        if self.eat('?') {
            self.out.push('?');
        } else if self.eat('+') {
            self.unsupported("a possessive repeat");
        }
        Ok(())
    }

    /// `{m,n}` just after `{`: `Some(quantifier)` or `None` when Python
    /// reads the brace as a literal.
    fn brace(&mut self) -> Result<Option<String>, PyReError> {
        if self.peek() == Some('}') {
            return Ok(None);
        }
        let digits = |t: &mut Self| {
            let mut s = String::new();
            while let Some(c @ '0'..='9') = t.peek() {
                s.push(c);
                t.pos += 1;
            }
            s
        };
        let lo = digits(self);
        let hi = if self.eat(',') {
            Some(digits(self))
        } else {
            None
        };
        if !self.eat('}') {
            return Ok(None);
        }
        let parse = |t: &Self, s: &str| -> Result<Option<u32>, PyReError> {
            if s.is_empty() {
                return Ok(None);
            }
            match s.parse::<u64>() {
                Ok(n) if n < 4_294_967_295 => Ok(Some(n as u32)),
                _ => t.invalid("the repetition number is too large"),
            }
        };
        let min = parse(self, &lo)?.unwrap_or(0);
        let max = match &hi {
            None => Some(min),
            Some(h) => parse(self, h)?,
        };
        if let Some(max) = max {
            if max < min {
                return self.invalid("min repeat greater than max repeat");
            }
        }
        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
            self.unsupported("a repeat count over 1000");
        }
        Ok(Some(match max {
            Some(max) if max == min => format!("{{{min}}}"),
            Some(max) => format!("{{{min},{max}}}"),
            None => format!("{{{min},}}"),
        }))
    }

    /// Just after `(`.
    fn group(&mut self, at_start: bool) -> Result<Option<Item>, PyReError> {
        if !self.eat('?') {
            self.groups += 1;
            let id = self.groups;
            self.closed.push(false);
            self.out.push('(');
            self.alternation(false)?;
            self.close_group()?;
            self.closed[id - 1] = true;
            return Ok(Some(Item::Other));
        }
        match self.next() {
            Some(':') => {
                self.out.push_str("(?:");
                self.alternation(false)?;
                self.close_group()?;
                Ok(Some(Item::Other))
            }
            Some('P') => match self.next() {
                Some('<') => {
                    let name = self.name('>', false)?;
                    if self.names.iter().any(|(n, _)| *n == name) {
                        return self.invalid(format!("redefinition of group name '{name}'"));
                    }
                    self.groups += 1;
                    let id = self.groups;
                    self.names.push((name, id));
                    self.closed.push(false);
                    self.out.push('(');
                    self.alternation(false)?;
                    self.close_group()?;
                    self.closed[id - 1] = true;
                    Ok(Some(Item::Other))
                }
                Some('=') => {
                    let name = self.name(')', false)?;
                    match self.names.iter().find(|(n, _)| *n == name) {
                        None => self.invalid(format!("unknown group name '{name}'")),
                        Some(&(_, id)) if !self.closed[id - 1] => {
                            self.invalid("cannot refer to an open group")
                        }
                        Some(_) => {
                            self.unsupported("a back-reference");
                            self.out.push_str("(?:)");
                            Ok(Some(Item::Other))
                        }
                    }
                }
                _ => self.invalid("unknown extension ?P"),
            },
            Some('#') => {
                loop {
                    match self.next() {
                        None => return self.invalid("missing ), unterminated comment"),
                        Some(')') => break,
                        Some(_) => {}
                    }
                }
                Ok(None)
            }
            Some(c @ ('=' | '!')) => {
                let _ = c;
                self.unsupported("a look-ahead");
                self.out.push_str("(?:");
                self.alternation(false)?;
                self.close_group()?;
                Ok(Some(Item::Other))
            }
            Some('<') => match self.next() {
                Some('=' | '!') => {
                    self.unsupported("a look-behind");
                    self.out.push_str("(?:");
                    self.alternation(false)?;
                    self.close_group()?;
                    Ok(Some(Item::Other))
                }
                Some(c) => self.invalid(format!("unknown extension ?<{c}")),
                None => self.invalid("unexpected end of pattern"),
            },
            Some('>') => {
                self.unsupported("an atomic group");
                self.out.push_str("(?:");
                self.alternation(false)?;
                self.close_group()?;
                Ok(Some(Item::Other))
            }
            Some('(') => {
                // (?(id/name)yes|no)
                let cond = self.name(')', true)?;
                let known = match cond.parse::<usize>() {
                    Ok(0) => return self.invalid("bad group number"),
                    Ok(n) => n <= self.groups,
                    Err(_) => self.names.iter().any(|(n, _)| *n == cond),
                };
                if !known {
                    return self.invalid(format!("unknown group name '{cond}'"));
                }
                self.unsupported("a conditional group");
                self.out.push_str("(?:");
                self.sequence(false)?;
                if self.eat('|') {
                    self.out.push('|');
                    self.sequence(false)?;
                    if self.peek() == Some('|') {
                        return self.invalid("conditional backref with more than two branches");
                    }
                }
                self.close_group()?;
                Ok(Some(Item::Other))
            }
            Some(c) if "aiLmsux-".contains(c) => {
                self.pos -= 1;
                self.flags(at_start)
            }
            Some(c) => self.invalid(format!("unknown extension ?{c}")),
            None => self.invalid("unexpected end of pattern"),
        }
    }

    fn close_group(&mut self) -> Result<(), PyReError> {
        if !self.eat(')') {
            return self.invalid("missing ), unterminated subpattern");
        }
        self.out.push(')');
        Ok(())
    }

    /// A group name up to `end` (a Python identifier, or digits for a
    /// conditional).
    fn name(&mut self, end: char, digits_ok: bool) -> Result<String, PyReError> {
        let mut name = String::new();
        loop {
            match self.next() {
                None => return self.invalid("missing group name terminator"),
                Some(c) if c == end => break,
                Some(c) => name.push(c),
            }
        }
        if name.is_empty() {
            return self.invalid("missing group name");
        }
        let mut chars = name.chars();
        let first = chars.next().unwrap();
        let identifier = (first == '_' || first.is_alphabetic())
            && chars.all(|c| c == '_' || c.is_alphanumeric());
        let number = digits_ok && name.chars().all(|c| c.is_ascii_digit());
        if !(identifier || number) {
            return self.invalid(format!("bad character in group name '{name}'"));
        }
        Ok(name)
    }

    /// `(?flags)` or `(?flags-flags:...)`, just before the first flag.
    fn flags(&mut self, at_start: bool) -> Result<Option<Item>, PyReError> {
        let mut on = String::new();
        let mut off = String::new();
        let mut negative = false;
        loop {
            match self.next() {
                Some('-') if !negative => negative = true,
                Some(c) if "aiLmsux".contains(c) => {
                    if c == 'L' {
                        return self.invalid(
                            "bad inline flag: cannot use 'locale' flag with a str pattern",
                        );
                    }
                    if negative {
                        if "aLu".contains(c) {
                            return self.invalid(
                                "bad inline flag: cannot turn off flags 'a', 'u' and 'L'",
                            );
                        }
                        off.push(c);
                    } else {
                        on.push(c);
                    }
                }
                Some(')') if !negative => {
                    if !at_start {
                        return self.invalid("global flags not at the start of the expression");
                    }
                    if on.contains('a') && on.contains('u') {
                        return self
                            .invalid("bad inline flag: flags 'a', 'u' and 'L' are incompatible");
                    }
                    if on.contains('a') {
                        self.unsupported("the ASCII flag");
                    }
                    if on.contains('x') {
                        self.verbose = true;
                    }
                    let rust: String = on.chars().filter(|c| "ims".contains(*c)).collect();
                    if !rust.is_empty() {
                        let _ = write!(self.out, "(?{rust})");
                    }
                    return Ok(None);
                }
                Some(':') => {
                    if negative && off.is_empty() {
                        return self.invalid("missing flag");
                    }
                    if on.contains('a') {
                        self.unsupported("the ASCII flag");
                    }
                    if on.contains('x') || off.contains('x') {
                        self.unsupported("a scoped verbose flag");
                    }
                    let keep =
                        |s: &str| s.chars().filter(|c| "ims".contains(*c)).collect::<String>();
                    let (on_r, off_r) = (keep(&on), keep(&off));
                    self.out.push_str("(?");
                    self.out.push_str(&on_r);
                    if !off_r.is_empty() {
                        self.out.push('-');
                        self.out.push_str(&off_r);
                    }
                    self.out.push(':');
                    self.alternation(false)?;
                    self.close_group()?;
                    return Ok(Some(Item::Other));
                }
                Some(_) if negative && off.is_empty() => return self.invalid("missing flag"),
                Some(c) => return self.invalid(format!("unknown flag {c}")),
                None => return self.invalid("missing -, : or )"),
            }
        }
    }

    /// `\x41`, `\u0041`, `\U00000041`: `digits` hex digits.
    fn hex(&mut self, digits: usize) -> Result<char, PyReError> {
        let mut s = String::new();
        for _ in 0..digits {
            match self.peek() {
                Some(c) if c.is_ascii_hexdigit() => {
                    s.push(c);
                    self.pos += 1;
                }
                _ => return self.invalid("incomplete escape"),
            }
        }
        let v = u32::from_str_radix(&s, 16).expect("hex digits");
        match char::from_u32(v) {
            Some(c) => Ok(c),
            None if v <= 0x10ffff => {
                // A lone surrogate: Python accepts it, nothing can match it here.
                self.unsupported("a surrogate code point");
                Ok('\u{fffd}')
            }
            None => self.invalid("bad escape"),
        }
    }

    /// Up to `max` more octal digits after `first`.
    fn octal(&mut self, first: char, max: usize) -> Result<char, PyReError> {
        let mut s = first.to_string();
        while s.len() < max + 1 {
            match self.peek() {
                Some(c @ '0'..='7') => {
                    s.push(c);
                    self.pos += 1;
                }
                _ => break,
            }
        }
        let v = u32::from_str_radix(&s, 8).expect("octal digits");
        if v > 0o377 {
            return self.invalid(format!("octal escape value \\{s} outside of range 0-0o377"));
        }
        Ok(char::from_u32(v).expect("< 256"))
    }

    /// `\N{NAME}`: Python looks the name up in its Unicode database, which
    /// cedar does not carry.
    fn named_char(&mut self) -> Result<(), PyReError> {
        if !self.eat('{') {
            return self.invalid("missing {");
        }
        let mut name = String::new();
        loop {
            match self.next() {
                None => return self.invalid("missing }, unterminated name"),
                Some('}') => break,
                Some(c) => name.push(c),
            }
        }
        if name.is_empty() {
            return self.invalid("missing character name");
        }
        self.unsupported("a \\N{...} character name");
        Ok(())
    }

    /// After `\` outside a class.
    fn escape(&mut self) -> Result<Item, PyReError> {
        let Some(c) = self.next() else {
            return self.invalid("bad escape (end of pattern)");
        };
        match c {
            'A' => {
                self.out.push_str("\\A");
                return Ok(Item::At);
            }
            'Z' => {
                self.out.push_str("\\z");
                return Ok(Item::At);
            }
            'b' | 'B' => {
                let _ = write!(self.out, "\\{c}");
                return Ok(Item::At);
            }
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                let _ = write!(self.out, "\\{c}");
                return Ok(Item::Other);
            }
            'a' => self.literal('\u{7}'),
            'f' => self.literal('\u{c}'),
            'n' => self.literal('\n'),
            'r' => self.literal('\r'),
            't' => self.literal('\t'),
            'v' => self.literal('\u{b}'),
            'x' => {
                let ch = self.hex(2)?;
                self.literal(ch);
            }
            'u' => {
                let ch = self.hex(4)?;
                self.literal(ch);
            }
            'U' => {
                let ch = self.hex(8)?;
                self.literal(ch);
            }
            'N' => {
                self.named_char()?;
                self.out.push_str("(?:)");
            }
            '0' => {
                let ch = self.octal('0', 2)?;
                self.literal(ch);
            }
            '1'..='9' => {
                // Three octal digits make a character; otherwise a group number.
                let (d1, d2) = (self.peek(), self.peek_at(1));
                if c <= '7' && matches!(d1, Some('0'..='7')) && matches!(d2, Some('0'..='7')) {
                    let ch = self.octal(c, 2)?;
                    self.literal(ch);
                } else {
                    let mut digits = c.to_string();
                    if let Some(d @ '0'..='9') = self.peek() {
                        digits.push(d);
                        self.pos += 1;
                    }
                    let id: usize = digits.parse().expect("digits");
                    if id > self.groups || !self.closed[id - 1] {
                        if id <= self.groups {
                            return self.invalid("cannot refer to an open group");
                        }
                        return self.invalid("invalid group reference");
                    }
                    self.unsupported("a back-reference");
                    self.out.push_str("(?:)");
                }
            }
            c if c.is_ascii_alphabetic() => return self.invalid(format!("bad escape \\{c}")),
            c => self.literal(c),
        }
        Ok(Item::Other)
    }

    /// Just after `[`.
    fn class(&mut self) -> Result<(), PyReError> {
        let mut out = String::from("[");
        if self.eat('^') {
            out.push('^');
        }
        let start = self.pos;
        loop {
            let member = match self.next() {
                None => return self.invalid("unterminated character set"),
                Some(']') if self.pos - 1 != start => break,
                Some('\\') => self.class_escape()?,
                Some(c) => Member::Char(c),
            };
            let lo = match member {
                Member::Category(c) => {
                    let _ = write!(out, "\\{c}");
                    if self.peek() == Some('-') && self.peek_at(1).is_some_and(|n| n != ']') {
                        return self.invalid("bad character range");
                    }
                    continue;
                }
                Member::Char(c) => c,
            };
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|n| n != ']') {
                self.pos += 1;
                let hi = match self.next() {
                    Some('\\') => match self.class_escape()? {
                        Member::Char(c) => c,
                        Member::Category(_) => return self.invalid("bad character range"),
                    },
                    Some(c) => c,
                    None => return self.invalid("unterminated character set"),
                };
                if hi < lo {
                    return self.invalid(format!("bad character range {lo}-{hi}"));
                }
                push_class_char(&mut out, lo);
                out.push('-');
                push_class_char(&mut out, hi);
            } else {
                push_class_char(&mut out, lo);
            }
        }
        out.push(']');
        if out == "[]" {
            // Unreachable: Python reads `[]` as the start of a set holding `]`.
            return self.invalid("unterminated character set");
        }
        if out == "[^]" {
            return self.invalid("unterminated character set");
        }
        self.out.push_str(&out);
        Ok(())
    }

    fn class_escape(&mut self) -> Result<Member, PyReError> {
        let Some(c) = self.next() else {
            return self.invalid("unterminated character set");
        };
        Ok(match c {
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => Member::Category(c),
            'a' => Member::Char('\u{7}'),
            'b' => Member::Char('\u{8}'),
            'f' => Member::Char('\u{c}'),
            'n' => Member::Char('\n'),
            'r' => Member::Char('\r'),
            't' => Member::Char('\t'),
            'v' => Member::Char('\u{b}'),
            'x' => Member::Char(self.hex(2)?),
            'u' => Member::Char(self.hex(4)?),
            'U' => Member::Char(self.hex(8)?),
            'N' => {
                self.named_char()?;
                Member::Char('\u{fffd}')
            }
            '0'..='7' => Member::Char(self.octal(c, 2)?),
            '8' | '9' => return self.invalid(format!("bad escape \\{c}")),
            c if c.is_ascii_alphabetic() => return self.invalid(format!("bad escape \\{c}")),
            c => Member::Char(c),
        })
    }
}

/// Members of a class as the translator sees them.
enum Member {
    Char(char),
    Category(char),
}

fn push_literal(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => {
            let _ = write!(out, "\\x{{{:x}}}", c as u32);
        }
        c if c.is_whitespace() || c == '#' => {
            let _ = write!(out, "\\x{{{:x}}}", c as u32);
        }
        c => out.push_str(&regex::escape(&c.to_string())),
    }
}

fn push_class_char(out: &mut String, c: char) {
    // Only what is special in a `regex` class (escaping `<` or `>` would
    // make a word-boundary assertion, which a class cannot hold).
    if "\\[]^-&~".contains(c) {
        out.push('\\');
        out.push(c);
    } else if c.is_control() || c.is_whitespace() {
        let _ = write!(out, "\\x{{{:x}}}", c as u32);
    } else {
        out.push(c);
    }
}

/// Checks a Python regular expression and translates it into `regex` syntax.
pub fn translate(pattern: &str) -> Result<String, PyReError> {
    let mut t = Translator {
        chars: pattern.chars().collect(),
        pos: 0,
        out: String::new(),
        groups: 0,
        closed: Vec::new(),
        names: Vec::new(),
        verbose: false,
        unsupported: None,
        _src: pattern,
    };
    t.alternation(true)?;
    if t.pos < t.chars.len() {
        // Only an unmatched `)` stops the top level early.
        return t.invalid("unbalanced parenthesis");
    }
    match t.unsupported {
        Some(what) => Err(PyReError::Unsupported(format!(
            "uses {what}, which cedar cannot apply"
        ))),
        None => Ok(t.out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(p: &str) -> String {
        translate(p).unwrap_or_else(|e| panic!("{p}: {e:?}"))
    }

    #[test]
    fn translations() {
        assert_eq!(ok("a{,5}"), "a{0,5}");
        assert_eq!(ok("a{2,}"), "a{2,}");
        assert_eq!(ok("{"), "\\{");
        assert_eq!(ok("a{1"), "a\\{1");
        assert_eq!(ok("x{}"), "x\\{\\}");
        assert_eq!(ok(r"\Z"), r"\z");
        assert_eq!(ok("(?#note)abc"), "abc");
        assert_eq!(ok(r"\0"), r"\x{0}");
        assert_eq!(ok(r"\101"), "A");
        assert_eq!(ok("[[:alpha:]]"), r"[\[:alpha:]\]");
        assert_eq!(ok("[<>]"), "[<>]");
        assert_eq!(ok("[a&&b]"), r"[a\&\&b]");
        assert_eq!(ok("[.*+?(){}|$#]"), "[.*+?(){}|$#]");
        assert_eq!(ok("[]a]"), r"[\]a]");
        assert_eq!(ok("[a-]"), r"[a\-]");
        assert_eq!(ok("(?x) a b # c\n"), "ab");
        assert_eq!(ok("(?P<n>x)y"), "(x)y");
        assert_eq!(ok("(?i)abc"), "(?i)abc");
        assert_eq!(ok("(?i:a)b"), "(?i:a)b");
        assert_eq!(ok(r"\/\-\:"), r"/\-:");
    }

    #[test]
    fn python_rejects() {
        for p in [
            "(",
            ")",
            "a)(b",
            "[a",
            "*",
            "a**",
            "x{2}{3}",
            "a{3,2}",
            r"\z",
            r"\pL",
            "(?<n>x)",
            "(?P=n)",
            r"\1",
            "(a\\1)",
            "a|*",
            "^*",
            "(?i",
            "a(?i)",
            "[z-a]",
            r"[\d-z]",
            r"\x4",
            "(?P<1a>x)",
            "(?P<a>x)(?P<a>y)",
            "(?L)a",
            r"\8",
            "\\",
        ] {
            assert!(
                matches!(translate(p), Err(PyReError::Invalid(_))),
                "{p}: {:?}",
                translate(p)
            );
        }
    }

    #[test]
    fn python_only() {
        for p in [
            "(?=a)",
            "(?!a)",
            "(?<=a)b",
            "(?<!a)b",
            r"(a)\1",
            "(?P<n>a)(?P=n)",
            "(?>a)",
            "a++",
            "(?a)\\w",
            r"\N{DASH}",
            "(a)(?(1)b|c)",
        ] {
            assert!(
                matches!(translate(p), Err(PyReError::Unsupported(_))),
                "{p}: {:?}",
                translate(p)
            );
        }
    }
}
