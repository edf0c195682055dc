//! cedar: a pure-Rust, drop-in replacement for Cedar Backup.
//!
//! The `cback` binary is thin; this library holds the configuration model, the
//! command line, and the actions, so integration tests and benches can reach them.

pub mod actions;
pub mod config;
pub mod drive;
pub mod exec;
pub mod mkisofs;
