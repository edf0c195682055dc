//! Every name an action answers to, spelled once: the built-in actions
//! ([`Action`]) and the one table of Cedar's bundled extensions
//! ([`EXTENSIONS`]), with the Python module names each answers to, its
//! config section, the function that checks that section and the function
//! that runs it.
//!
//! Cedar Backup names an extension in `<extensions>` by Python module and
//! function (`CedarBackup3.extend.mysql` / `executeAction`) and imports it
//! when the configuration is loaded. cedar has no Python: it maps those names
//! onto native implementations when it checks the configuration
//! ([`Extension::resolve`]) and rejects a name it does not know the way Cedar
//! rejects a module it cannot import, whatever action was asked for.

use std::fmt;

use crate::actions::ActionContext;
use crate::config::{self as c, Config, ConfigError, ExtendedActionSettings};
use crate::config::{ExtensionSettings, ExtensionSettings as S};

/// An action named on the command line or in configuration (hooks,
/// dependencies, managed actions).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// `collect`
    Collect,
    /// `stage`
    Stage,
    /// `store`
    Store,
    /// `purge`
    Purge,
    /// `rebuild`
    Rebuild,
    /// `validate`
    Validate,
    /// `initialize`
    Initialize,
    /// An extended action, by its configured `<name>`.
    Extension(String),
}

/// A built-in action with its fixed index (Cedar's `_ActionSet`) and whether
/// it may share the command line with other actions.
struct Builtin {
    action: Action,
    name: &'static str,
    index: i64,
    combinable: bool,
}

const BUILTINS: [Builtin; 7] = [
    Builtin {
        action: Action::Rebuild,
        name: "rebuild",
        index: 0,
        combinable: false,
    },
    Builtin {
        action: Action::Validate,
        name: "validate",
        index: 0,
        combinable: false,
    },
    Builtin {
        action: Action::Initialize,
        name: "initialize",
        index: 0,
        combinable: false,
    },
    Builtin {
        action: Action::Collect,
        name: "collect",
        index: 100,
        combinable: true,
    },
    Builtin {
        action: Action::Stage,
        name: "stage",
        index: 200,
        combinable: true,
    },
    Builtin {
        action: Action::Store,
        name: "store",
        index: 300,
        combinable: true,
    },
    Builtin {
        action: Action::Purge,
        name: "purge",
        index: 400,
        combinable: true,
    },
];

impl Action {
    /// The command-line word that means [`Action::ALL`].
    pub const ALL_WORD: &'static str = "all";
    /// What `all` runs, in order.
    pub const ALL: [Action; 4] = [Action::Collect, Action::Stage, Action::Store, Action::Purge];

    /// Every built-in action, in index order.
    pub fn builtins() -> impl Iterator<Item = Action> {
        BUILTINS.iter().map(|b| b.action.clone())
    }

    fn builtin_entry(&self) -> Option<&'static Builtin> {
        BUILTINS.iter().find(|b| b.action == *self)
    }

    /// The built-in action called `name`, if there is one.
    pub fn builtin(name: &str) -> Option<Action> {
        BUILTINS
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.action.clone())
    }

    /// A name as configuration uses it: a built-in action, else an extended
    /// action of that name.
    pub fn named(name: &str) -> Action {
        Action::builtin(name).unwrap_or_else(|| Action::Extension(name.to_string()))
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        match self {
            Action::Extension(name) => name,
            builtin => builtin.builtin_entry().map_or("", |b| b.name),
        }
    }

    /// The fixed sort index of a built-in action in index order mode.
    pub fn builtin_index(&self) -> Option<i64> {
        self.builtin_entry().map(|b| b.index)
    }

    /// Whether the action may be combined with others on the command line
    /// (rebuild, validate and initialize may not; nor may `all`).
    pub fn combinable(&self) -> bool {
        self.builtin_entry().is_none_or(|b| b.combinable)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A bundled Cedar extension that cedar knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Extension {
    /// `extend.sysinfo`: package list, partition table, file listing.
    Sysinfo,
    /// `extend.mysql`: mysqldump.
    Mysql,
    /// `extend.postgresql`: pg_dump / pg_dumpall.
    Postgresql,
    /// `extend.subversion`: svnadmin dump.
    Subversion,
    /// `extend.mbox`: grepmail of mailboxes.
    Mbox,
    /// `extend.encrypt`: gpg each staged file.
    Encrypt,
    /// `extend.split`: split large staged files.
    Split,
    /// `extend.capacity`: warn when the disc fills up.
    Capacity,
    /// `extend.amazons3`: upload the day's staging dir.
    AmazonS3,
}

/// One row of the extension table.
pub struct ExtensionSpec {
    /// Which extension.
    pub extension: Extension,
    /// The last component of its Python module (`mysql` in
    /// `CedarBackup3.extend.mysql`).
    pub module: &'static str,
    /// The function Cedar calls.
    pub function: &'static str,
    /// Its config section (`<mysql>`), if it has one.
    pub section: Option<&'static str>,
    /// Checks its section as the extension does before it runs.
    pub check: fn(&Config) -> Result<ExtensionSettings, ConfigError>,
    /// Runs it: the configured action and its checked section.
    pub run:
        fn(&ExtendedActionSettings, &ExtensionSettings, &ActionContext<'_>) -> anyhow::Result<()>,
}

/// The Python packages whose `extend` modules cedar answers to (Cedar
/// Backup 3's and 2's, so an old config keeps working).
pub const PACKAGES: [&str; 2] = ["CedarBackup3", "CedarBackup2"];
/// The function every bundled extension exports.
const EXECUTE_ACTION: &str = "executeAction";

macro_rules! extension_table {
    ($($ext:ident: $module:literal, $has_section:literal, $check:expr;)*) => {
        /// Cedar's bundled extensions, in its documentation order. A section
        /// is named like its module (`<mysql>` for `extend.mysql`).
        pub static EXTENSIONS: [ExtensionSpec; 9] = [
            $(ExtensionSpec {
                extension: Extension::$ext,
                module: $module,
                function: EXECUTE_ACTION,
                section: if $has_section { Some($module) } else { None },
                check: $check,
                run: crate::actions::extension::run,
            },)*
        ];
    };
}

extension_table! {
    Sysinfo: "sysinfo", false, |_| Ok(S::Sysinfo);
    Mysql: "mysql", true, |cf| c::check_mysql(cf).map(S::Mysql);
    Postgresql: "postgresql", true, |cf| c::check_postgresql(cf).map(S::Postgresql);
    Subversion: "subversion", true, |cf| c::check_subversion(cf).map(S::Subversion);
    Mbox: "mbox", true, |cf| c::check_mbox(cf).map(S::Mbox);
    Encrypt: "encrypt", true, |cf| c::check_encrypt(cf).map(S::Encrypt);
    Split: "split", true, |cf| c::check_split(cf).map(S::Split);
    Capacity: "capacity", true, |cf| c::check_capacity(cf).map(S::Capacity);
    AmazonS3: "amazons3", true, |cf| c::check_amazons3(cf).map(S::AmazonS3);
}

/// Why a configured module/function pair names no extension: Cedar's
/// import errors, in Python's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The module does not exist (Python's `ModuleNotFoundError`).
    #[error("No module named '{0}'")]
    NoModule(String),
    /// The module exists but has no such function.
    #[error("module '{module}' has no attribute '{function}'")]
    NoFunction {
        /// The module.
        module: String,
        /// The missing function.
        function: String,
    },
}

impl Extension {
    /// Every extension, in table order.
    pub fn all() -> impl Iterator<Item = Extension> {
        EXTENSIONS.iter().map(|s| s.extension)
    }

    /// This extension's row of [`EXTENSIONS`].
    pub fn spec(self) -> &'static ExtensionSpec {
        // The table has one row per variant, in declaration order.
        &EXTENSIONS[self as usize]
    }

    /// The last component of the Python module name.
    pub fn module_name(self) -> &'static str {
        self.spec().module
    }

    /// The config section, if the extension has one.
    pub fn section(self) -> Option<&'static str> {
        self.spec().section
    }

    /// The extension whose config section is called `name`.
    pub fn by_section(name: &str) -> Option<Extension> {
        Extension::all().find(|e| e.section() == Some(name))
    }

    /// Resolves a configured `module`/`function` pair. Both Cedar Backup 2
    /// and 3 module paths are accepted. An unknown module is named as
    /// Python names the first part of the path it cannot import.
    pub fn resolve(module: &str, function: &str) -> Result<Extension, ResolveError> {
        let parts: Vec<&str> = module.split('.').collect();
        let found = match parts.as_slice() {
            [package, "extend", name] if PACKAGES.contains(package) => {
                Extension::all().find(|e| e.module_name() == *name)
            }
            _ => None,
        };
        let Some(ext) = found else {
            // Python reports the longest prefix it failed to import:
            // `nosuch` of `nosuch.mod`, all of `CedarBackup3.extend.nope`.
            let known = match parts.as_slice() {
                [p, "extend", ..] if PACKAGES.contains(p) => 2,
                [p, ..] if PACKAGES.contains(p) => 1,
                _ => 0,
            };
            let missing = parts[..(known + 1).min(parts.len())].join(".");
            return Err(ResolveError::NoModule(missing));
        };
        if function == ext.spec().function {
            Ok(ext)
        } else {
            Err(ResolveError::NoFunction {
                module: module.to_string(),
                function: function.to_string(),
            })
        }
    }

    /// Checks this extension's config section.
    pub fn check(self, config: &Config) -> Result<ExtensionSettings, ConfigError> {
        (self.spec().check)(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_extension_in_variant_order() {
        for (i, spec) in EXTENSIONS.iter().enumerate() {
            assert_eq!(spec.extension as usize, i, "{}", spec.module);
            assert_eq!(spec.extension.spec().module, spec.module);
        }
        assert_eq!(Extension::by_section("mysql"), Some(Extension::Mysql));
        assert_eq!(Extension::by_section("sysinfo"), None);
    }

    #[test]
    fn resolves_cb2_and_cb3_module_names() {
        assert_eq!(
            Extension::resolve("CedarBackup3.extend.mysql", "executeAction"),
            Ok(Extension::Mysql)
        );
        assert_eq!(
            Extension::resolve("CedarBackup2.extend.amazons3", "executeAction"),
            Ok(Extension::AmazonS3)
        );
        assert_eq!(
            Extension::resolve("CedarBackup3.extend.sysinfo", "nosuchfn")
                .unwrap_err()
                .to_string(),
            "module 'CedarBackup3.extend.sysinfo' has no attribute 'nosuchfn'"
        );
        assert_eq!(
            Extension::resolve("nosuch.mod", "executeAction")
                .unwrap_err()
                .to_string(),
            "No module named 'nosuch'"
        );
        assert_eq!(
            Extension::resolve("CedarBackup3.extend.nope", "executeAction")
                .unwrap_err()
                .to_string(),
            "No module named 'CedarBackup3.extend.nope'"
        );
        assert_eq!(
            Extension::resolve("CedarBackup3.nope.x", "executeAction")
                .unwrap_err()
                .to_string(),
            "No module named 'CedarBackup3.nope'"
        );
    }

    #[test]
    fn builtin_names_round_trip() {
        for a in Action::builtins() {
            assert_eq!(Action::builtin(a.name()), Some(a.clone()));
            assert_eq!(Action::named(a.name()), a);
        }
        assert_eq!(Action::named("mysql"), Action::Extension("mysql".into()));
        assert!(Action::Collect.combinable() && !Action::Validate.combinable());
        assert!(Action::Extension("x".into()).combinable());
        assert_eq!(Action::Store.builtin_index(), Some(300));
    }
}
