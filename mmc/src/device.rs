//! One entry point for every place that accepts a device: a real drive path
//! (/dev/sr0, /dev/sg1, /dev/cdrw) or an emulated device string.

use crate::device_string::DeviceString;
use crate::emulator::Emulator;
use crate::error::Result;
use crate::sgio::SgIo;
use crate::transport::Transport;

/// Opens `spec` ([`DeviceString`]): `emulated:PATH?profile=NAME&...` gives
/// the emulated burner, anything else is opened as a Linux SG_IO device.
pub fn open_device(spec: &str) -> Result<Box<dyn Transport>> {
    match DeviceString::parse(spec)? {
        DeviceString::Emulated { .. } => Ok(Box::new(Emulator::open_spec(spec)?)),
        DeviceString::Drive(path) => Ok(Box::new(SgIo::open(&path)?)),
    }
}
