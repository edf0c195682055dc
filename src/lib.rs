//! cedar: a pure-Rust, drop-in replacement for Cedar Backup.
//!
//! The `cback` binary is thin; this library holds the configuration model, the
//! command line, and the actions, so integration tests and benches can reach them.

pub mod accounts;
pub mod action;
pub mod actions;
pub mod app;
pub mod cli;
pub mod config;
pub mod engine;
pub mod exec;
pub mod lock;
pub mod logging;
pub mod ordering;
pub mod py;
pub mod tools;
