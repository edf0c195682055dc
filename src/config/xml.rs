//! A tiny read-only DOM over quick-xml that reproduces what Cedar's reading
//! helpers (`xmlutil.py` over `xml.dom.minidom`) see.
//!
//! - Text is what minidom calls a `TEXT_NODE`: adjacent character data and
//!   entity/character references merge into one node, line ends are
//!   normalised to `\n`, and comments, processing instructions and CDATA
//!   sections are separate, non-text nodes (so `<a>x<!--c-->y</a>` has the
//!   texts `x` and `y`, and `<a><![CDATA[y]]></a>` has none).
//! - Nothing is trimmed: Cedar reads the raw first text node.
//! - Every element records the line its start tag is on.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One node under an element.
#[derive(Debug, Clone)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// A text node (already unescaped and merged with adjacent text).
    Text(String),
    /// A comment, CDATA section or processing instruction.
    Other,
}

/// An element with its children, in document order.
#[derive(Debug, Clone)]
pub struct Element {
    /// The qualified tag name, as minidom's `tagName`.
    pub name: String,
    /// 1-based line of the start tag.
    pub line: usize,
    /// Child nodes.
    pub children: Vec<Node>,
}

impl Element {
    /// Direct child elements called `name`, in order (Cedar's `readChildren`).
    pub fn children_named(&self, name: &str) -> Vec<&Element> {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Element(e) if e.name == name => Some(e),
                _ => None,
            })
            .collect()
    }

    /// The first direct child called `name` (Cedar's `readFirstChild`).
    pub fn first_child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|n| match n {
            Node::Element(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// The element's first text node, if it has one.
    pub fn first_text(&self) -> Option<&str> {
        self.children.iter().find_map(|n| match n {
            Node::Text(t) => Some(t.as_str()),
            _ => None,
        })
    }

    /// Cedar's `readStringList`: the first text node of every direct child
    /// called `name` that has one, with the child's line. `None` when no such
    /// child has text.
    pub fn string_list(&self, name: &str) -> Option<Vec<(String, usize)>> {
        let list: Vec<(String, usize)> = self
            .children
            .iter()
            .filter_map(|n| match n {
                Node::Element(e) if e.name == name => Some(e),
                _ => None,
            })
            .filter_map(|e| e.first_text().map(|t| (t.to_string(), e.line)))
            .collect();
        (!list.is_empty()).then_some(list)
    }

    /// Cedar's `readString`: the first entry of [`Element::string_list`].
    /// Note that an empty `<x/>` is skipped and a later `<x>` with text wins.
    pub fn string(&self, name: &str) -> Option<(String, usize)> {
        self.string_list(name).and_then(|l| l.into_iter().next())
    }
}

/// Counts lines incrementally over the source.
struct LineCounter<'a> {
    src: &'a [u8],
    pos: usize,
    line: usize,
}

impl LineCounter<'_> {
    fn line_at(&mut self, pos: usize) -> usize {
        let pos = pos.min(self.src.len());
        if pos >= self.pos {
            self.line += self.src[self.pos..pos]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        } else {
            self.line = 1 + self.src[..pos].iter().filter(|&&b| b == b'\n').count();
        }
        self.pos = pos;
        self.line
    }
}

fn push_text(children: &mut Vec<Node>, text: &str) {
    if let Some(Node::Text(prev)) = children.last_mut() {
        prev.push_str(text);
    } else {
        children.push(Node::Text(text.to_string()));
    }
}

/// XML 1.0 `Char`: what may appear anywhere in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

fn name_start_char(c: char) -> bool {
    matches!(c, 'A'..='Z' | 'a'..='z' | '_' | ':'
        | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}' | '\u{f8}'..='\u{2ff}' | '\u{370}'..='\u{37d}'
        | '\u{37f}'..='\u{1fff}' | '\u{200c}'..='\u{200d}' | '\u{2070}'..='\u{218f}'
        | '\u{2c00}'..='\u{2fef}' | '\u{3001}'..='\u{d7ff}' | '\u{f900}'..='\u{fdcf}'
        | '\u{fdf0}'..='\u{fffd}' | '\u{10000}'..='\u{effff}')
}

fn name_char(c: char) -> bool {
    name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{b7}' | '\u{300}'..='\u{36f}' | '\u{203f}'..='\u{2040}')
}

/// A name as expat reads it with namespaces on: an XML name with at most one
/// colon, neither first nor last. Returns the prefix, if any.
fn qname(name: &str) -> Result<Option<&str>, String> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| name_start_char(c) && c != ':') && chars.all(name_char);
    let parts: Vec<&str> = name.split(':').collect();
    if !ok || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!("not well-formed (invalid name {name:?})"));
    }
    Ok((parts.len() == 2).then(|| parts[0]))
}

/// General entities declared in the DOCTYPE's internal subset, as their
/// replacement text (character references already expanded, as XML does at
/// declaration); external ones are `None` (expat skips their references).
fn declared_entities(doctype: &str) -> Result<Vec<(String, Option<String>)>, String> {
    static DECL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"<!ENTITY\s+(%\s+)?([^\s%"']+)\s+(?:"([^"]*)"|'([^']*)'|(SYSTEM|PUBLIC)\s[^>]*)\s*>"#,
        )
        .expect("static regex")
    });
    static CHAR_REF: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"&#(x[0-9a-fA-F]+|[0-9]+);").expect("static regex")
    });
    let mut list = Vec::new();
    for cap in DECL.captures_iter(doctype) {
        if cap.get(1).is_some() {
            continue; // parameter entity
        }
        let name = cap[2].to_string();
        let value = cap.get(3).or(cap.get(4)).map(|v| {
            CHAR_REF
                .replace_all(v.as_str(), |c: &regex::Captures| {
                    let n = &c[1];
                    let code = match n.strip_prefix('x') {
                        Some(h) => u32::from_str_radix(h, 16).ok(),
                        None => n.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                        .map(String::from)
                        .unwrap_or_default()
                })
                .into_owned()
        });
        if !list
            .iter()
            .any(|(n, _): &(String, Option<String>)| *n == name)
        {
            list.push((name, value));
        }
    }
    Ok(list)
}

/// Replaces references to declared entities in `body` by their replacement
/// text, repeatedly (entities may refer to entities), so that markup in a
/// replacement text is parsed as XML requires. A simplification: references
/// inside comments and CDATA sections are replaced too.
fn expand_entities(body: &str, entities: &[(String, Option<String>)]) -> Result<String, String> {
    let mut text = body.to_string();
    for _ in 0..16 {
        let mut changed = false;
        for (name, value) in entities {
            let reference = format!("&{name};");
            if text.contains(&reference) {
                text = text.replace(&reference, value.as_deref().unwrap_or(""));
                changed = true;
            }
        }
        if !changed {
            return Ok(text);
        }
    }
    Err("recursive entity reference".into())
}

/// Parses a whole document and returns its root element. Errors are one line
/// naming the problem and the line it was found on, as expat (which Cedar
/// uses through minidom, with namespaces on) would reject the document:
/// unbalanced tags, junk after the root, undefined entities or namespace
/// prefixes, characters XML does not allow, a misplaced XML declaration...
pub fn parse_document(src: &str) -> Result<Element, String> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    // What Python's text mode and expat do to line ends (character
    // references such as &#13; are kept).
    let normalized;
    let src = if src.contains('\r') {
        normalized = src.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        src
    };
    if let Some(pos) = src.find(|c| !xml_char(c)) {
        let line = 1 + src[..pos].matches('\n').count();
        return Err(format!(
            "malformed XML at line {line}: not well-formed (invalid character)"
        ));
    }
    // Internal DTD entities: expand them before parsing.
    let expanded;
    let src = match doctype_entities(src)? {
        Some((at, entities)) if !entities.is_empty() => {
            let body = expand_entities(&src[at..], &entities)
                .map_err(|e| format!("malformed XML at line 1: {e}"))?;
            expanded = format!("{}{}", &src[..at], body);
            expanded.as_str()
        }
        _ => src,
    };
    let mut reader = Reader::from_str(src);
    {
        let cfg = reader.config_mut();
        cfg.trim_text(false);
        cfg.check_end_names = true;
        cfg.check_comments = true;
        cfg.expand_empty_elements = false;
    }
    let mut lines = LineCounter {
        src: src.as_bytes(),
        pos: 0,
        line: 1,
    };
    // Stack of open elements; the finished root lands in `root`.
    let mut stack: Vec<Element> = Vec::new();
    // Namespace prefixes (with their URIs) bound by each open element.
    let mut scopes: Vec<Vec<(String, String)>> = Vec::new();
    let mut root: Option<Element> = None;
    let mut first_event = true;
    let fail = |line: usize, what: String| Err(format!("malformed XML at line {line}: {what}"));
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let line = lines.line_at(reader.error_position() as usize);
                return fail(line, e.to_string());
            }
        };
        let line = lines.line_at(before);
        let was_first = std::mem::replace(&mut first_event, false);
        let outside = stack.is_empty();
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                if root.is_some() && outside {
                    return fail(line, "junk after document element".into());
                }
                let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                let mut bound = Vec::new();
                let mut attr_names = Vec::new();
                for attr in s.attributes().with_checks(true) {
                    let attr = match attr {
                        Ok(a) => a,
                        Err(e) => return fail(line, e.to_string()),
                    };
                    let raw = String::from_utf8_lossy(&attr.value).into_owned();
                    if raw.contains('<') {
                        return fail(line, "not well-formed (< in an attribute value)".into());
                    }
                    if let Err(e) = attr.unescape_value() {
                        return fail(line, e.to_string());
                    }
                    let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                    match key.strip_prefix("xmlns:") {
                        Some(prefix) => bound.push((prefix.to_string(), raw)),
                        None if key == "xmlns" => {}
                        None => attr_names.push((key, raw)),
                    }
                }
                let uri_of = |prefix: &str| -> Option<String> {
                    if prefix == "xml" {
                        return Some("http://www.w3.org/XML/1998/namespace".into());
                    }
                    bound
                        .iter()
                        .chain(scopes.iter().rev().flatten())
                        .find(|(p, _)| p == prefix)
                        .map(|(_, uri)| uri.clone())
                };
                for n in std::iter::once(&name).chain(attr_names.iter().map(|(k, _)| k)) {
                    match qname(n) {
                        Err(e) => return fail(line, e),
                        Ok(Some(prefix)) if uri_of(prefix).is_none() => {
                            return fail(line, format!("unbound prefix {prefix:?}"));
                        }
                        Ok(_) => {}
                    }
                }
                // Duplicate attributes once prefixes are resolved.
                let resolve = |k: &str| match k.split_once(':') {
                    Some((p, local)) => format!("{{{}}}{local}", uri_of(p).unwrap_or_default()),
                    None => k.to_string(),
                };
                let resolved: Vec<String> = attr_names.iter().map(|(k, _)| resolve(k)).collect();
                for (i, r) in resolved.iter().enumerate() {
                    if resolved[..i].contains(r) {
                        return fail(line, "duplicate attribute".into());
                    }
                }
                let el = Element {
                    name,
                    line,
                    children: Vec::new(),
                };
                if matches!(event, Event::Empty(_)) {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(el)),
                        None => root = Some(el),
                    }
                } else {
                    stack.push(el);
                    scopes.push(bound);
                }
            }
            Event::End(_) => {
                let el = stack.pop().expect("quick-xml checks end names");
                scopes.pop();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if t.as_ref().windows(3).any(|w| w == b"]]>") {
                    return fail(line, "not well-formed (]]> in text)".into());
                }
                let text = match t.unescape() {
                    Ok(text) => text,
                    Err(e) => return fail(line, e.to_string()),
                };
                match stack.last_mut() {
                    Some(parent) => push_text(&mut parent.children, &text),
                    None => {
                        if !text.trim().is_empty() {
                            let what = if root.is_some() {
                                "junk after document element"
                            } else {
                                "syntax error (text before the document element)"
                            };
                            return fail(line, what.into());
                        }
                    }
                }
            }
            Event::CData(_) if outside => {
                let what = if root.is_some() {
                    "junk after document element"
                } else {
                    "syntax error (CDATA before the document element)"
                };
                return fail(line, what.into());
            }
            Event::CData(_) | Event::Comment(_) | Event::PI(_) => {
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Other);
                }
            }
            Event::Decl(_) => {
                if !(was_first && before == 0) {
                    return fail(
                        line,
                        "XML or text declaration not at start of entity".into(),
                    );
                }
            }
            Event::DocType(_) => {
                if root.is_some() || !outside {
                    return fail(line, "junk after document element".into());
                }
            }
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        let line = lines.line_at(src.len());
        return fail(line, format!("element <{}> is never closed", open.name));
    }
    root.ok_or_else(|| {
        let line = 1 + src.matches('\n').count();
        format!("malformed XML at line {line}: no element found")
    })
}

/// Finds a DOCTYPE with an internal subset before the root element: the
/// offset just after it and its entity declarations.
#[allow(clippy::type_complexity)]
fn doctype_entities(src: &str) -> Result<Option<(usize, Vec<(String, Option<String>)>)>, String> {
    let Some(start) = src.find("<!DOCTYPE") else {
        return Ok(None);
    };
    if src[..start].contains("<cb_config") || !src[start..].contains("<!ENTITY") {
        return Ok(None);
    }
    // The subset ends at the first "]" followed by optional space and ">".
    let rest = &src[start..];
    let Some(open) = rest.find('[') else {
        return Ok(None);
    };
    let Some(close) = rest[open..].find(']').map(|c| open + c) else {
        return Ok(None);
    };
    let after = rest[close + 1..].trim_start();
    if !after.starts_with('>') {
        return Ok(None);
    }
    let end = start + close + 1 + (rest[close + 1..].len() - after.len()) + 1;
    Ok(Some((end, declared_entities(&rest[open..close])?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(doc: &str) -> Option<Vec<String>> {
        let root = parse_document(doc).expect("parses");
        root.string_list("b")
            .map(|l| l.into_iter().map(|(s, _)| s).collect())
    }

    #[test]
    fn text_nodes_match_minidom() {
        assert_eq!(
            texts("<a><b>x<![CDATA[y]]>z</b></a>"),
            Some(vec!["x".into()])
        );
        assert_eq!(
            texts("<a><b><![CDATA[y]]>z</b></a>"),
            Some(vec!["z".into()])
        );
        assert_eq!(
            texts("<a><b>&amp;x&#65;<!--c-->y</b></a>"),
            Some(vec!["&xA".into()])
        );
        assert_eq!(
            texts("<a><b/><b>second</b></a>"),
            Some(vec!["second".into()])
        );
        assert_eq!(texts("<a><b>  </b></a>"), Some(vec!["  ".into()]));
        assert_eq!(texts("<a><b>x\r\ny</b></a>"), Some(vec!["x\ny".into()]));
        assert_eq!(texts("<a><c><b>deep</b></c></a>"), None);
    }

    #[test]
    fn records_lines() {
        let root = parse_document("<?xml version='1.0'?>\n<a>\n <b>x</b>\n\n<c/></a>").unwrap();
        assert_eq!(root.line, 2);
        assert_eq!(root.first_child("b").unwrap().line, 3);
        assert_eq!(root.first_child("c").unwrap().line, 5);
    }

    #[test]
    fn rejects_what_expat_rejects() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "<a/>junk",
            "<a>&nope;</a>",
            "<a>x & y</a>",
            "<a b='1' b='2'/>",
        ] {
            let err = parse_document(bad).expect_err(bad);
            assert!(err.starts_with("malformed XML at line "), "{bad}: {err}");
        }
        let err = parse_document("<a>\n<b>\n</a>").unwrap_err();
        assert!(err.contains("line 3"), "{err}");
    }
}
