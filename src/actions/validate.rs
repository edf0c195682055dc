//! The `validate` action: the checks Cedar's `actions/validate.py` makes of
//! the environment a (structurally valid) config will run in. Every problem
//! is reported, not just the first, so one run shows everything to fix.

use std::path::Path;

use nix::unistd::{access, AccessFlags};

use crate::config::Config;
use crate::extensions::Extension;

/// Checks `config` against this machine and returns every problem found,
/// one human-readable line each, in Cedar's section order.
pub fn environment_problems(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check_dir = |path: Option<&str>, writable: bool, what: &str| {
        if let Some(problem) = dir_problem(path, writable, what) {
            problems.push(problem);
        }
    };
    if let Some(options) = &config.options {
        check_dir(options.working_dir.as_deref(), true, "Working directory");
    }
    if let Some(collect) = &config.collect {
        check_dir(
            collect.target_dir.as_deref(),
            true,
            "Collect target directory",
        );
        for dir in collect.collect_dirs.iter().flatten() {
            check_dir(dir.absolute_path.as_deref(), false, "Collect directory");
        }
    }
    if let Some(stage) = &config.stage {
        check_dir(stage.target_dir.as_deref(), true, "Stage target directory");
        for peer in stage.local_peers.iter().flatten() {
            check_dir(
                peer.collect_dir.as_deref(),
                false,
                "Local peer collect directory",
            );
        }
    }
    if let Some(store) = &config.store {
        check_dir(store.source_dir.as_deref(), false, "Store source directory");
    }
    if let Some(purge) = &config.purge {
        for dir in purge.purge_dirs.iter().flatten() {
            check_dir(dir.absolute_path.as_deref(), true, "Purge directory");
        }
    }
    if config.reference.is_none() {
        problems.push("Required reference configuration does not exist.".to_string());
    }
    if let Some(options) = &config.options {
        let user = options.backup_user.as_deref().unwrap_or_default();
        let group = options.backup_group.as_deref().unwrap_or_default();
        if crate::accounts::uid_gid(user, group).is_err() {
            problems.push(format!("Backup user:group [{user}:{group}] invalid."));
        }
    }
    if let Some(store) = &config.store {
        if let Some(problem) = device_problem(store.device_path.as_deref()) {
            problems.push(problem);
        }
    }
    for action in config.extensions.iter().flat_map(|e| e.actions.iter()) {
        let module = action.module.as_deref().unwrap_or_default();
        let function = action.function.as_deref().unwrap_or_default();
        let ext = match Extension::resolve(module, function) {
            Ok(ext) => ext,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        // Cedar's extensions check their own section only when they run;
        // reporting it here saves a failed night.
        if let Err(e) = config.validate_extension(ext.module_name()) {
            problems.extend(e.problems());
        }
        if !ext.is_implemented() {
            problems.push(format!(
                "Extension [{}] ({module}) is not implemented in this version of cedar.",
                action.name.as_deref().unwrap_or_default()
            ));
        }
    }
    problems
}

/// Cedar's `_checkDir`: exists, is a directory, readable, searchable, and
/// writable when asked.
fn dir_problem(path: Option<&str>, writable: bool, what: &str) -> Option<String> {
    let path = path?;
    let p = Path::new(path);
    let reason = if !p.exists() {
        "does not exist"
    } else if !p.is_dir() {
        "is not a directory"
    } else if access(p, AccessFlags::R_OK).is_err() {
        "is not readable"
    } else if access(p, AccessFlags::X_OK).is_err() {
        "is not executable"
    } else if writable && access(p, AccessFlags::W_OK).is_err() {
        "is not writable"
    } else {
        return None;
    };
    Some(format!("{what} [{path}] {reason}."))
}

/// Whether the store's target device can be used: an `emulated:` string
/// mmc accepts whose image can be created or written, or a real drive that
/// mmc can open (exists, is an MMC device, not mounted, not busy).
fn device_problem(device: Option<&str>) -> Option<String> {
    let device = device?;
    if device.starts_with(mmc::emulator::PREFIX) {
        // Parsed, not opened: validate must not create the image file.
        let image = match mmc::emulator::parse_spec(device) {
            Ok((image, _)) => image,
            Err(e) => return Some(format!("Backup device [{device}] is not valid: {e}.")),
        };
        let dir = image
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !image.is_absolute() {
            return Some(format!(
                "Backup device [{device}] is not valid: the image path must be absolute."
            ));
        }
        if image.exists() {
            if access(&image, AccessFlags::R_OK | AccessFlags::W_OK).is_err() {
                return Some(format!(
                    "Backup device [{device}] is not valid: image {} is not readable and writable.",
                    image.display()
                ));
            }
        } else if access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_err() {
            return Some(format!(
                "Backup device [{device}] is not valid: cannot create image in {}.",
                dir.display()
            ));
        }
        return None;
    }
    match mmc::open_device(device) {
        Ok(_) => None,
        Err(e) => Some(format!("Backup device [{device}] cannot be opened: {e}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        CollectConfig, OptionsConfig, PurgeConfig, PurgeDir, ReferenceConfig, StoreConfig,
    };

    #[test]
    fn reports_every_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = dir.path().to_str().expect("utf8").to_string();
        let file = dir.path().join("f");
        std::fs::write(&file, "").expect("write");
        let config = Config {
            reference: None,
            options: Some(OptionsConfig {
                working_dir: Some(ok.clone()),
                backup_user: Some("root".into()),
                backup_group: Some("no-such-group-cedar".into()),
                ..Default::default()
            }),
            collect: Some(CollectConfig {
                target_dir: Some("/nonexistent/cedar".into()),
                ..Default::default()
            }),
            purge: Some(PurgeConfig {
                purge_dirs: Some(vec![PurgeDir {
                    absolute_path: Some(file.to_str().expect("utf8").into()),
                    retain_days: Some(1),
                }]),
            }),
            store: Some(StoreConfig {
                source_dir: Some(ok.clone()),
                device_path: Some("/nonexistent/sr0".into()),
                ..Default::default()
            }),
            ..Config::default()
        };
        let problems = environment_problems(&config);
        assert_eq!(
            problems,
            [
                "Collect target directory [/nonexistent/cedar] does not exist.".to_string(),
                format!("Purge directory [{}] is not a directory.", file.display()),
                "Required reference configuration does not exist.".to_string(),
                "Backup user:group [root:no-such-group-cedar] invalid.".to_string(),
                "Backup device [/nonexistent/sr0] cannot be opened: cannot use /nonexistent/sr0: No such file or directory (os error 2).".to_string(),
            ]
        );
    }

    #[test]
    fn clean_environment_has_no_problems() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = dir.path().to_str().expect("utf8").to_string();
        let config = Config {
            reference: Some(ReferenceConfig::default()),
            options: Some(OptionsConfig {
                working_dir: Some(ok.clone()),
                backup_user: Some("root".into()),
                backup_group: Some("root".into()),
                ..Default::default()
            }),
            store: Some(StoreConfig {
                source_dir: Some(ok.clone()),
                device_path: Some(format!("emulated:{ok}/disc.img?profile=dvd+rw")),
                ..Default::default()
            }),
            ..Config::default()
        };
        assert_eq!(environment_problems(&config), Vec::<String>::new());
    }

    #[test]
    fn checks_extension_sections_and_emulated_specs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let xml = format!(
            r#"<cb_config>
  <extensions><action><name>mysql</name><module>CedarBackup3.extend.mysql</module>
    <function>executeAction</function><index>99</index></action></extensions>
  <mysql><compress_mode>zip</compress_mode><all>Y</all></mysql>
  <store><source_dir>{d}</source_dir><media_type>dvd+r</media_type><device_type>dvdwriter</device_type>
    <target_device>emulated:{d}/x.img?profile=nonsense</target_device></store>
</cb_config>"#,
            d = dir.path().display()
        );
        let config = crate::config::parse_str(&xml, "t.conf").expect("parses");
        let problems = environment_problems(&config);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("mysql") && p.contains("zip")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("not implemented")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("Backup device") && p.contains("nonsense")),
            "{problems:?}"
        );
        assert!(
            !dir.path().join("x.img").exists(),
            "validate must not create the image"
        );
    }
}
