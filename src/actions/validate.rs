//! The `validate` action: the checks Cedar's `actions/validate.py` makes of
//! the environment a (structurally valid) config will run in. Every problem
//! is reported, not just the first, so one run shows everything to fix.

use std::path::Path;

use nix::unistd::{access, AccessFlags};

use crate::config::{Settings, StoreSettings};

/// Checks checked `settings` against this machine and returns every
/// problem found, one human-readable line each, in Cedar's section order.
pub fn environment_problems(settings: &Settings) -> Vec<String> {
    let config = settings.raw();
    let mut problems = Vec::new();
    let mut check_dir = |path: Option<&str>, writable: bool, what: &str| {
        if let Some(problem) = dir_problem(path, writable, what) {
            problems.push(problem);
        }
    };
    let options = &settings.options;
    check_dir(options.working_dir.to_str(), true, "Working directory");
    if let Some(collect) = &settings.collect {
        check_dir(
            collect.collect_dir.to_str(),
            true,
            "Collect target directory",
        );
        for dir in &collect.dirs {
            check_dir(Some(&dir.path), false, "Collect directory");
        }
    }
    if let Some(stage) = &settings.stage {
        check_dir(stage.staging_dir.to_str(), true, "Stage target directory");
        // Cedar checks the local peers <stage> itself lists.
        for peer in config
            .stage
            .iter()
            .flat_map(|s| s.local_peers.iter().flatten())
        {
            check_dir(
                peer.collect_dir.as_deref(),
                false,
                "Local peer collect directory",
            );
        }
    }
    if let Some(store) = &settings.store {
        check_dir(store.source_dir.to_str(), false, "Store source directory");
    }
    if let Some(purge) = &settings.purge {
        for dir in &purge.dirs {
            check_dir(dir.path.to_str(), true, "Purge directory");
        }
    }
    if config.reference.is_none() {
        problems.push("Required reference configuration does not exist.".to_string());
    }
    let (user, group) = (&options.backup_user, &options.backup_group);
    if crate::accounts::uid_gid(user, group).is_err() {
        problems.push(format!("Backup user:group [{user}:{group}] invalid."));
    }
    if let Some(store) = &settings.store {
        match device_problem(store) {
            Some(problem) => problems.push(problem),
            None => problems.extend(drive_problems(store)),
        }
    }
    for action in &settings.extensions.actions {
        // Cedar's extensions check their own section only when they run;
        // reporting it here saves a failed night. (Modules were resolved
        // when the configuration was loaded.)
        match action.extension.check(config) {
            Err(e) => problems.extend(e.problems()),
            Ok(section) => problems.extend(super::extension::validate(action, &section, settings)),
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

/// cedar addition: the drive itself, opened (an emulated image that does not
/// exist yet is not created: its device string's profile is checked
/// instead). Its profile, medium state and free space go to the log; a
/// medium that does not match `media_type`/`device_type`, a missing or
/// finalized medium are problems.
fn drive_problems(store: &StoreSettings) -> Vec<String> {
    let device = &store.target_device;
    let problem = |what: String| vec![format!("Backup device [{device}] {what}.")];
    if let mmc::DeviceString::Emulated { image, options } = &store.device {
        if !image.exists() {
            log::info!(
                "Backup device [{device}]: no image yet; the first store loads a blank disc"
            );
            let mismatch = options.media.and_then(|m| {
                crate::engine::schedule::medium_mismatch(
                    store.media,
                    store.device_type,
                    m.profile.number(),
                )
            });
            return mismatch.map_or_else(Vec::new, problem);
        }
    }
    let mut drive = match mmc::Drive::open(device) {
        Ok(d) => d,
        Err(e) => {
            return problem(format!(
                "cannot be opened: {}",
                crate::engine::util::error_line(&e)
            ))
        }
    };
    match drive.medium_present() {
        Ok(true) => {}
        Ok(false) => return problem("holds no medium".into()),
        Err(e) => {
            return problem(format!(
                "cannot be read: {}",
                crate::engine::util::error_line(&e)
            ))
        }
    }
    let info = match drive.medium_info() {
        Ok(i) => i,
        Err(e) => {
            return problem(format!(
                "cannot be read: {}",
                crate::engine::util::error_line(&e)
            ))
        }
    };
    // The room store would have (after the ISO volume on overwritable
    // media), else the drive's own figure.
    let free =
        crate::engine::disc::placement(&mut drive).map_or(info.free_blocks, |p| p.free_blocks);
    log::info!(
        "Backup device [{device}]: {} medium, {}, {} blocks ({}) free",
        info.profile_name(),
        info.state,
        free,
        crate::engine::util::display_bytes(u64::from(free) * mmc::BLOCK_SIZE as u64)
    );
    let mut problems = Vec::new();
    if let Some(m) = crate::engine::schedule::medium_mismatch(
        store.media,
        store.device_type,
        info.profile_number,
    ) {
        problems.extend(problem(m));
    }
    match crate::engine::disc::write_protection(&mut drive) {
        Ok(None) => {}
        Ok(Some(why)) => problems.extend(problem(format!(
            "holds a medium that cannot be written: {why}"
        ))),
        Err(e) => problems.extend(problem(format!(
            "cannot be read: {}",
            crate::engine::util::error_line(&e)
        ))),
    }
    if info.state == mmc::MediaState::Finalized && !info.erasable {
        problems.extend(problem(format!(
            "holds a finalized {} disc: no more sessions can be written",
            info.profile_name()
        )));
    }
    problems
}

/// Whether the store's target device can be used: an emulated burner
/// whose image can be created or written, or a real drive that mmc can open
/// (exists, is an MMC device, not busy). The string was parsed when the
/// configuration was checked.
fn device_problem(store: &StoreSettings) -> Option<String> {
    let device = &store.target_device;
    let image = match &store.device {
        mmc::DeviceString::Emulated { image, .. } => image,
        mmc::DeviceString::Drive(_) => {
            return match mmc::open_device(device) {
                Ok(_) => None,
                Err(e) => Some(format!(
                    "Backup device [{device}] cannot be opened: {}.",
                    crate::engine::util::error_line(&e)
                )),
            }
        }
    };
    let dir = image
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if image.exists() {
        if access(image, AccessFlags::R_OK | AccessFlags::W_OK).is_err() {
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
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks a document whose options use `working_dir` and `group`.
    fn settings(working_dir: &str, group: &str, sections: &str) -> Settings {
        let xml = format!(
            "<cb_config><options><starting_day>monday</starting_day>\
             <working_dir>{working_dir}</working_dir><backup_user>root</backup_user>\
             <backup_group>{group}</backup_group><rcp_command>/usr/bin/scp</rcp_command>\
             </options>{sections}</cb_config>"
        );
        crate::config::parse_str(&xml, "t.conf")
            .expect("parses")
            .check()
            .expect("checks")
    }

    #[test]
    fn reports_every_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = dir.path().to_str().expect("utf8").to_string();
        let file = dir.path().join("f");
        std::fs::write(&file, "").expect("write");
        let config = settings(
            &ok,
            "no-such-group-cedar",
            &format!(
                "<collect><collect_dir>/nonexistent/cedar</collect_dir></collect>\
                 <purge><dir><abs_path>{}</abs_path><retain_days>1</retain_days></dir></purge>\
                 <store><source_dir>{ok}</source_dir><media_type>cdr-74</media_type>\
                 <target_device>/nonexistent/sr0</target_device></store>",
                file.display()
            ),
        );
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
        let config = settings(
            &ok,
            "root",
            &format!(
                "<reference/><store><source_dir>{ok}</source_dir><media_type>dvd+rw</media_type>\
                 <device_type>dvdwriter</device_type>\
                 <target_device>emulated:{ok}/disc.img?profile=dvd+rw</target_device></store>"
            ),
        );
        assert_eq!(environment_problems(&config), Vec::<String>::new());
    }

    #[test]
    fn checks_extension_sections() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = settings(
            &dir.path().display().to_string(),
            "root",
            r#"<extensions><action><name>mysql</name><module>CedarBackup3.extend.mysql</module>
    <function>executeAction</function><index>99</index></action></extensions>
  <mysql><compress_mode>zip</compress_mode><all>Y</all></mysql><purge/>"#,
        );
        let problems = environment_problems(&config);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("mysql") && p.contains("zip")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_drive_holding_the_wrong_medium_is_a_problem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let with = |media: &str, device_type: &str, profile: &str| {
            settings(
                &d.to_string(),
                "root",
                &format!(
                    "<reference/><store><source_dir>{d}</source_dir><media_type>{media}</media_type>\
                     <device_type>{device_type}</device_type>\
                     <target_device>emulated:{d}/disc.img?profile={profile}</target_device></store>"
                ),
            )
        };
        // Before the image exists: the device string's profile is checked.
        let p = environment_problems(&with("dvd+r", "dvdwriter", "dvd+rw"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("media_type dvd+r does not match the DVD+RW medium"),
            "{p:?}"
        );
        assert!(!dir.path().join("disc.img").exists());
        // An existing image is opened.
        drop(mmc::Drive::open(&format!("emulated:{d}/disc.img?profile=bd-r")).expect("open"));
        assert!(environment_problems(&with("bd-r", "bdwriter", "bd-r")).is_empty());
        let p = environment_problems(&with("cdr-74", "cdwriter", "bd-r"));
        assert!(
            p[0].contains("device_type cdwriter does not match the BD-R"),
            "{p:?}"
        );
    }

    #[test]
    fn an_emulated_image_that_cannot_be_created_is_reported_and_not_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let config = settings(
            &d.to_string(),
            "root",
            &format!(
                "<store><source_dir>{d}</source_dir><media_type>dvd+r</media_type>\
                 <device_type>dvdwriter</device_type>\
                 <target_device>emulated:{d}/no/such/x.img?profile=dvd+r</target_device></store>"
            ),
        );
        let problems = environment_problems(&config);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("Backup device") && p.contains("cannot create image")),
            "{problems:?}"
        );
        assert!(
            !dir.path().join("no").exists(),
            "validate must not create the image"
        );
    }
}
