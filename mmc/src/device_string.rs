//! Device strings, the one spelling of "which drive" everywhere cedar takes
//! one (configuration's `target_device`, `cback drive`, [`crate::open_device`]):
//! a drive path (`/dev/sr0`, `/dev/sg1`) or an emulated burner,
//! `emulated:IMAGE?profile=NAME&...` (see [`crate::emulator`]).
//!
//! Parsing never touches the filesystem, so a caller can check a string
//! (for instance a configuration validator) without creating an image.
//!
//! ```
//! use mmc::DeviceString;
//!
//! let dev = DeviceString::parse("emulated:/tmp/disc.img?profile=dvd+rw").unwrap();
//! assert!(matches!(dev, DeviceString::Emulated { .. }));
//! assert_eq!(DeviceString::parse("/dev/sr0").unwrap(), DeviceString::Drive("/dev/sr0".into()));
//! assert!(DeviceString::parse("").is_err());
//! ```

use std::path::PathBuf;

use crate::emulator::{parse_spec, EmulatorOptions, PREFIX};
use crate::error::{Error, Result};

/// A parsed device string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceString {
    /// A real drive, opened through SG_IO.
    Drive(PathBuf),
    /// The emulated burner on an image file.
    Emulated {
        /// The image file (created when the device is opened).
        image: PathBuf,
        /// The options of the string's query part.
        options: EmulatorOptions,
    },
}

impl DeviceString {
    /// Whether `spec` names the emulated burner (whether or not the rest of
    /// it is valid).
    pub fn is_emulated(spec: &str) -> bool {
        spec.starts_with(PREFIX)
    }

    /// Parses `spec` without opening anything.
    pub fn parse(spec: &str) -> Result<DeviceString> {
        if DeviceString::is_emulated(spec) {
            let (image, options) = parse_spec(spec)?;
            return Ok(DeviceString::Emulated { image, options });
        }
        if spec.is_empty() {
            return Err(Error::Spec {
                spec: spec.to_string(),
                reason: "no device given".into(),
            });
        }
        Ok(DeviceString::Drive(PathBuf::from(spec)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_emulated_strings() {
        assert!(DeviceString::is_emulated("emulated:x"));
        assert!(!DeviceString::is_emulated("/dev/sr0"));
        match DeviceString::parse("emulated:/i.img?profile=cdr-74").unwrap() {
            DeviceString::Emulated { image, options } => {
                assert_eq!(image, PathBuf::from("/i.img"));
                assert_eq!(options.media.map(|m| m.name), Some("cdr-74"));
            }
            other => panic!("{other:?}"),
        }
        let e = DeviceString::parse("emulated:/i.img?profile=floppy").unwrap_err();
        assert!(e.to_string().contains("unknown profile"), "{e}");
        assert!(DeviceString::parse("").is_err());
    }
}
