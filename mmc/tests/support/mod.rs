//! Helpers shared by the drive-layer tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mmc::{Completion, DataPhase, Emulator, Transport};

/// The emulator behind a drive, still reachable by the test; optionally
/// reporting another current profile (a medium the emulator cannot hold).
pub struct Shared {
    /// The emulator.
    pub emu: Arc<Mutex<Emulator>>,
    /// Device name.
    pub name: String,
    /// Current profile to report instead of the emulator's.
    pub profile: Option<u16>,
}

impl Transport for Shared {
    fn execute(
        &mut self,
        cdb: &[u8],
        mut data: DataPhase<'_>,
        timeout: Duration,
    ) -> mmc::Result<Completion> {
        let phase = match &mut data {
            DataPhase::None => DataPhase::None,
            DataPhase::ToDevice(b) => DataPhase::ToDevice(b),
            DataPhase::FromDevice(b) => DataPhase::FromDevice(b),
        };
        let c = self.emu.lock().unwrap().execute(cdb, phase, timeout)?;
        if let (Some(p), 0x46, DataPhase::FromDevice(b)) = (self.profile, cdb[0], &mut data) {
            if b.len() >= 8 {
                b[6..8].copy_from_slice(&p.to_be_bytes());
            }
        }
        Ok(c)
    }

    fn name(&self) -> &str {
        &self.name
    }
}
