//! cedar: a pure-Rust, drop-in replacement for Cedar Backup (`cback3`).
//!
//! The `cback` binary is thin ([`app::run`]); this library holds what it runs,
//! laid out in the order data flows through one run:
//!
//! 1. the command line, parsed as Cedar's Python `getopt` parses it;
//! 2. [`config`]: the XML file parsed into the raw model ([`config::Config`],
//!    mirroring Cedar's `config.py`, where nearly every field is optional),
//!    then checked ([`config::Config::check`]) into [`config::Settings`]:
//!    required fields present, per-item modes resolved, exclude patterns
//!    compiled, extension modules resolved;
//! 3. [`action`]: every action name spelled once ([`action::Action`]) and the
//!    one table of Cedar's bundled extensions ([`action::EXTENSIONS`]);
//!    the action list is put in Cedar's order;
//! 4. [`actions`]: the entry points (collect, stage, purge, validate,
//!    managed, extensions), each taking an [`actions::ActionContext`] over
//!    checked settings, so no action can be handed an unchecked config;
//! 5. [`engine`]: the shared machinery the actions drive (Cedar's directory
//!    walk, the streaming tar writer, digest maps, peer copies), which takes
//!    plain values and writes every output atomically ([`engine::atomic`]).
//!
//! [`py`] reproduces Python where Cedar's behaviour depends on it (numbers,
//! `os.path`, `re`, pickle); [`tools`] holds `cback mkisofs` and `cback
//! drive`, built on the `iso9660` and `mmc` crates; [`s3`] the native S3
//! client of the amazons3 extension; [`knapsack`] Cedar's fits, which
//! `cback span` ([`tools::span`]) spreads staged data over discs with.
//! Errors become exit codes
//! only in [`app`].
//!
//! ```
//! use cedar::config::{parse_str, CollectMode};
//!
//! let xml = r#"<cb_config>
//!   <options><starting_day>monday</starting_day><working_dir>/var/backups</working_dir>
//!     <backup_user>backup</backup_user><backup_group>backup</backup_group>
//!     <rcp_command>/usr/bin/scp -B</rcp_command></options>
//!   <collect><collect_dir>/var/backups/collect</collect_dir>
//!     <collect_mode>daily</collect_mode><archive_mode>targz</archive_mode>
//!     <ignore_file>.cbignore</ignore_file>
//!     <dir><abs_path>/etc</abs_path><collect_mode>incr</collect_mode></dir></collect>
//! </cb_config>"#;
//! let config = parse_str(xml, "cback3.conf").unwrap();
//! let settings = config.check().unwrap();
//! let plan = settings.collect.as_ref().unwrap();
//! assert_eq!(plan.dirs[0].collect_mode, CollectMode::Incr);
//! assert_eq!(plan.dirs[0].ignore_file, ".cbignore");
//!
//! // A required field missing is a problem naming the element and its line.
//! let broken = parse_str(&xml.replace("<backup_user>backup</backup_user>", ""), "x").unwrap();
//! let problems = broken.check().unwrap_err().problems();
//! assert_eq!(problems, ["options/backup_user: is required (line 2)"]);
//! ```

mod accounts;
pub mod action;
pub mod actions;
pub mod app;
mod cli;
pub mod config;
pub mod engine;
pub mod exec;
pub mod knapsack;
mod lock;
mod logging;
mod ordering;
pub mod py;
pub mod s3;
pub mod tools;
