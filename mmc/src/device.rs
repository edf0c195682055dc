//! One entry point for every place that accepts a device: a real drive path
//! (/dev/sr0, /dev/sg1, /dev/cdrw) or an emulated device string.

use std::path::Path;

use crate::emulator::{Emulator, PREFIX};
use crate::error::{Error, Result};
use crate::sgio::SgIo;
use crate::transport::Transport;

/// Opens `spec`: `emulated:PATH?profile=NAME&...` gives the emulated burner,
/// anything else is opened as a Linux SG_IO device.
pub fn open_device(spec: &str) -> Result<Box<dyn Transport>> {
    if spec.starts_with(PREFIX) {
        return Ok(Box::new(Emulator::open_spec(spec)?));
    }
    if spec.is_empty() {
        return Err(Error::Spec {
            spec: spec.to_string(),
            reason: "no device given".into(),
        });
    }
    Ok(Box::new(SgIo::open(Path::new(spec))?))
}
