//! What reproduces Python, so cedar reads and names things exactly as Cedar
//! Backup (a Python program) does: the `re` syntax of exclude patterns
//! ([`re`]).

pub mod re;
