//! Cedar Backup extensions are named in `<extensions>` by Python module and
//! function (`CedarBackup3.extend.mysql` / `executeAction`). cedar has no
//! Python: it maps those names onto native implementations, and rejects a
//! name it does not know the way Cedar rejects a module it cannot import.

/// A bundled Cedar extension that cedar knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Extension {
    /// Every extension, in Cedar's documentation order.
    pub const ALL: [Extension; 9] = [
        Extension::Sysinfo,
        Extension::Mysql,
        Extension::Postgresql,
        Extension::Subversion,
        Extension::Mbox,
        Extension::Encrypt,
        Extension::Split,
        Extension::Capacity,
        Extension::AmazonS3,
    ];

    /// The last component of the Python module name.
    pub fn module_name(self) -> &'static str {
        match self {
            Extension::Sysinfo => "sysinfo",
            Extension::Mysql => "mysql",
            Extension::Postgresql => "postgresql",
            Extension::Subversion => "subversion",
            Extension::Mbox => "mbox",
            Extension::Encrypt => "encrypt",
            Extension::Split => "split",
            Extension::Capacity => "capacity",
            Extension::AmazonS3 => "amazons3",
        }
    }

    /// Resolves a configured `module`/`function` pair. Both Cedar Backup 2
    /// and 3 module paths are accepted, so an old config keeps working.
    pub fn resolve(module: &str, function: &str) -> Result<Extension, String> {
        let short = module
            .strip_prefix("CedarBackup3.extend.")
            .or_else(|| module.strip_prefix("CedarBackup2.extend."));
        let found = short.and_then(|s| Extension::ALL.into_iter().find(|e| e.module_name() == s));
        match found {
            Some(ext) if function == "executeAction" => Ok(ext),
            Some(_) => Err(format!("Function [{module}.{function}] does not exist.")),
            None => Err(format!("Unable to find function [{module}.{function}].")),
        }
    }

    /// Whether this version of cedar has a native implementation.
    pub fn is_implemented(self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(Extension::resolve("CedarBackup3.extend.mysql", "other").is_err());
        assert!(Extension::resolve("mymodule", "executeAction")
            .unwrap_err()
            .contains("mymodule"));
        assert!(Extension::resolve("CedarBackup3.extend.nope", "executeAction").is_err());
    }
}
