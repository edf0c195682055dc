//! What reproduces Python, so cedar reads and names things exactly as Cedar
//! Backup (a Python program) does: numbers and whitespace (`num`),
//! `os.path` joins (`path`), the `re` syntax of exclude patterns ([`re`])
//! and the pickled digest maps Cedar leaves behind (`pickle`).

pub(crate) mod num;
pub(crate) mod path;
pub(crate) mod pickle;
pub mod re;
