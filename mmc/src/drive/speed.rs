//! Speed and buffer: SET CD SPEED on CD, SET STREAMING on DVD and BD, the
//! speeds the drive offers (GET PERFORMANCE) and its buffer (READ BUFFER
//! CAPACITY).

use super::Drive;
use crate::cdb::perf::{
    BufferCapacity, GetPerformance, Performance, PerformanceType, ReadBufferCapacity, SetCdSpeed,
    SetStreaming, StreamingDescriptor, MAX_SPEED,
};
use crate::cdb::Response;
use crate::error::{Error, Result};
use crate::profile::{Family, Profile};
use crate::transport::{DataPhase, DEFAULT_TIMEOUT};

impl Drive {
    /// Sets the write speed in kB/s (None: as fast as possible): SET CD SPEED
    /// on CD, SET STREAMING over the whole disc on DVD and BD. A drive that
    /// refuses keeps its own choice; that is logged, not an error.
    pub fn set_speed(&mut self, write_kbs: Option<u16>) -> Result<()> {
        let profile = Profile::from_number(self.current_profile()?);
        let result = match profile.map(Profile::family) {
            Some(Family::Dvd | Family::Bd) => {
                let end = self.medium_capacity_hint().saturating_sub(1);
                let kbs = u32::from(write_kbs.unwrap_or(MAX_SPEED));
                let d = StreamingDescriptor {
                    // Restore defaults when no speed is asked for.
                    rdd: write_kbs.is_none(),
                    end_lba: end,
                    read_size: kbs,
                    read_time: 1000,
                    write_size: kbs,
                    write_time: 1000,
                    ..StreamingDescriptor::default()
                }
                .encode();
                let cmd = SetStreaming {
                    len: d.len() as u16,
                };
                self.exec(&cmd, DataPhase::ToDevice(&d), DEFAULT_TIMEOUT)
            }
            _ => {
                let cmd = SetCdSpeed {
                    rotation: 0,
                    read_kbs: MAX_SPEED,
                    write_kbs: write_kbs.unwrap_or(MAX_SPEED),
                };
                self.exec(&cmd, DataPhase::None, DEFAULT_TIMEOUT)
            }
        };
        match result {
            Err(Error::Sense { sense, .. }) if sense.key == 5 => {
                log::debug!("{}: speed not set: {sense}", self.name());
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Last LBA bound for SET STREAMING: READ CAPACITY is only the recorded
    /// part, so take the larger of it and the free space's end.
    fn medium_capacity_hint(&mut self) -> u32 {
        self.track_information(crate::cdb::disc::INVISIBLE_TRACK)
            .ok()
            .and_then(|t| t.next_writable.map(|n| n.saturating_add(t.free_blocks)))
            .unwrap_or(u32::MAX)
    }

    /// Write speeds (kB/s) the drive offers for the loaded medium, fastest first.
    pub fn write_speeds(&mut self) -> Result<Vec<u32>> {
        let kind = PerformanceType::WriteSpeed;
        let cmd = GetPerformance {
            kind,
            start_lba: 0,
            max_descriptors: 16,
        };
        let mut buf = vec![0u8; 8 + 16 * 16];
        let n = self.exec(&cmd, DataPhase::FromDevice(&mut buf), DEFAULT_TIMEOUT)?;
        let perf = Performance::parse_as(kind, &buf[..n.min(buf.len())]).map_err(|source| {
            Error::Response {
                device: self.name().to_string(),
                command: "GET PERFORMANCE",
                source,
            }
        })?;
        let mut speeds: Vec<u32> = match perf {
            Performance::WriteSpeeds(d) => d.iter().map(|s| s.write_kbs).collect(),
            Performance::Nominal { descriptors, .. } => {
                descriptors.iter().map(|d| d.end_kbs).collect()
            }
        };
        speeds.sort_unstable_by(|a, b| b.cmp(a));
        Ok(speeds)
    }

    /// The drive's buffer: (size, free) in bytes.
    pub fn buffer_capacity(&mut self) -> Result<(u32, u32)> {
        let b: BufferCapacity = self.ask(&ReadBufferCapacity { alloc: 12 }, 12)?;
        Ok((b.length, b.available))
    }
}
