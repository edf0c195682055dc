//! Speed and buffer: SET CD SPEED on CD, SET STREAMING on DVD and BD, the
//! speeds the drive offers (GET PERFORMANCE) and its buffer (READ BUFFER
//! CAPACITY).

use super::Drive;
use crate::cdb::disc::{Capacity, ReadCapacity};
use crate::cdb::format::{FormatCapacities, ReadFormatCapacities};
use crate::cdb::perf::{
    BufferCapacity, GetPerformance, Performance, PerformanceType, ReadBufferCapacity, SetCdSpeed,
    SetStreaming, StreamingDescriptor, MAX_SPEED,
};
use crate::cdb::{Command, Response};
use crate::error::{Error, Result};
use crate::profile::{Family, Profile};
use crate::transport::{DataPhase, DEFAULT_TIMEOUT};

impl Drive {
    /// Sets the write speed in kB/s (None: as fast as possible): SET CD SPEED
    /// on CD, SET STREAMING over the whole disc on DVD and BD with a speed
    /// the drive offers (GET PERFORMANCE: the fastest, or the fastest not
    /// above the one asked for). A drive that refuses keeps its own choice;
    /// that is logged as a warning, and the write goes on.
    pub fn set_speed(&mut self, write_kbs: Option<u16>) -> Result<()> {
        let profile = Profile::from_number(self.current_profile()?);
        let (what, result) = match profile.map(Profile::family) {
            Some(Family::Dvd | Family::Bd) => {
                let end = self.streaming_end(profile)?;
                let offered = match self.write_speeds() {
                    Ok(s) => s,
                    Err(Error::Sense { sense, .. }) => {
                        log::warn!("{}: GET PERFORMANCE refused ({sense})", self.name());
                        Vec::new()
                    }
                    Err(e) => return Err(e),
                };
                let kbs = pick_speed(write_kbs, &offered);
                let d = StreamingDescriptor {
                    // Nothing known to ask for: restore the drive's defaults.
                    rdd: kbs.is_none(),
                    end_lba: end,
                    read_size: kbs.unwrap_or(0),
                    read_time: 1000,
                    write_size: kbs.unwrap_or(0),
                    write_time: 1000,
                    ..StreamingDescriptor::default()
                }
                .encode();
                let cmd = SetStreaming {
                    len: d.len() as u16,
                };
                (
                    SetStreaming::NAME,
                    self.exec(&cmd, DataPhase::ToDevice(&d), DEFAULT_TIMEOUT),
                )
            }
            _ => {
                let cmd = SetCdSpeed {
                    rotation: 0,
                    read_kbs: MAX_SPEED,
                    write_kbs: write_kbs.unwrap_or(MAX_SPEED),
                };
                (
                    SetCdSpeed::NAME,
                    self.exec(&cmd, DataPhase::None, DEFAULT_TIMEOUT),
                )
            }
        };
        match result {
            Err(Error::Sense { sense, .. }) if sense.key == 5 => {
                log::warn!(
                    "{}: the drive refused {what} ({sense}); it writes at a speed of its own choice",
                    self.name()
                );
                Ok(())
            }
            other => other.map(|_| ()),
        }
    }

    /// Last LBA for SET STREAMING: on sequential media the end of the free
    /// space (READ CAPACITY covers only the recorded part); on overwritable
    /// media there is no next writable address, so READ CAPACITY when
    /// formatted and READ FORMAT CAPACITIES before.
    fn streaming_end(&mut self, profile: Option<Profile>) -> Result<u32> {
        let blocks = if profile.is_some_and(Profile::overwritable) {
            let di = self.disc_information()?;
            if di.disc_status == crate::cdb::disc::DiscStatus::Blank {
                let f: FormatCapacities = self.ask(&ReadFormatCapacities { alloc: 252 }, 252)?;
                f.current_blocks
            } else {
                let c: Capacity = self.ask(&ReadCapacity, 8)?;
                c.last_lba.saturating_add(1)
            }
        } else {
            let t = self.track_information(crate::cdb::disc::INVISIBLE_TRACK)?;
            match t.next_writable {
                Some(n) => n.saturating_add(t.free_blocks),
                None => {
                    let c: Capacity = self.ask(&ReadCapacity, 8)?;
                    c.last_lba.saturating_add(1)
                }
            }
        };
        Ok(blocks.saturating_sub(1))
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

/// The speed to ask for: the fastest offered not above `want` (the slowest
/// offered when all are faster), the fastest offered when nothing is asked,
/// or what was asked when the drive lists nothing.
fn pick_speed(want: Option<u16>, offered: &[u32]) -> Option<u32> {
    let fastest = offered.iter().copied().max();
    match want {
        None => fastest,
        Some(w) => {
            let w = u32::from(w);
            offered
                .iter()
                .copied()
                .filter(|&s| s <= w)
                .max()
                .or_else(|| offered.iter().copied().min())
                .or(Some(w))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pick_speed;

    #[test]
    fn speeds_come_from_the_drives_list() {
        let offered = [22160, 11080, 5540];
        assert_eq!(pick_speed(None, &offered), Some(22160));
        assert_eq!(pick_speed(Some(12000), &offered), Some(11080));
        assert_eq!(pick_speed(Some(1000), &offered), Some(5540));
        assert_eq!(pick_speed(Some(8000), &[]), Some(8000));
        assert_eq!(pick_speed(None, &[]), None);
    }
}
