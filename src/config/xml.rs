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

fn normalize_newlines(s: &str) -> String {
    if s.contains('\r') {
        s.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        s.to_string()
    }
}

fn push_text(children: &mut Vec<Node>, text: &str) {
    if let Some(Node::Text(prev)) = children.last_mut() {
        prev.push_str(text);
    } else {
        children.push(Node::Text(text.to_string()));
    }
}

/// Parses a whole document and returns its root element. Errors are one line
/// naming the problem and the line it was found on, as expat would reject the
/// document (unbalanced tags, junk after the root, undefined entities, ...).
pub fn parse_document(src: &str) -> Result<Element, String> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
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
    let mut root: Option<Element> = None;
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
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                if root.is_some() && stack.is_empty() {
                    return fail(line, "junk after document element".into());
                }
                for attr in s.attributes().with_checks(true) {
                    if let Err(e) = attr {
                        return fail(line, e.to_string());
                    }
                }
                let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
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
                }
            }
            Event::End(_) => {
                let el = stack.pop().expect("quick-xml checks end names");
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let text = match t.unescape() {
                    Ok(text) => text,
                    Err(e) => return fail(line, e.to_string()),
                };
                match stack.last_mut() {
                    Some(parent) => push_text(&mut parent.children, &normalize_newlines(&text)),
                    None => {
                        if !text.trim().is_empty() {
                            let what = if root.is_some() {
                                "junk after document element"
                            } else {
                                "text before the document element"
                            };
                            return fail(line, what.into());
                        }
                    }
                }
            }
            Event::CData(_) | Event::Comment(_) | Event::PI(_) => {
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Other);
                }
            }
            Event::Decl(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        let line = lines.line_at(src.len());
        return fail(line, format!("element <{}> is never closed", open.name));
    }
    root.ok_or_else(|| "malformed XML at line 1: no element found".to_string())
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
