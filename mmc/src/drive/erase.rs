//! Preparing rewritable media: BLANK (CD-RW, DVD-RW) and FORMAT UNIT
//! (DVD+RW, DVD-RW restricted overwrite, BD-RE).

use super::Drive;
use crate::cdb::format::{
    Blank, BlankType, FormatCapacities, FormatDescriptor, FormatParameters, FormatUnit,
    ReadFormatCapacities, FORMAT_BD_RE, FORMAT_DVD_PLUS_RW, FORMAT_DVD_RW_QUICK,
};
use crate::cdb::Response;
use crate::error::{MediumError, Result};
use crate::profile::{profile_name, Profile};
use crate::transport::{DataPhase, LONG_TIMEOUT};

/// Disc information background format status: started, not running (suspended).
pub(crate) const BG_FORMAT_SUSPENDED: u8 = 1;
/// Format 26h type dependent parameter: restart a suspended format.
pub(crate) const DVD_PLUS_RW_RESTART: u32 = 1;

/// How thoroughly to blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlankMode {
    /// Minimal blank: TOC/PMA only, takes about a minute.
    Fast,
    /// The whole disc.
    Full,
}

impl Drive {
    /// Blanks a CD-RW or DVD-RW (Immed, then polls until done). DVD-RW is
    /// always blanked fully, since after a minimal blank it no longer takes
    /// incremental writes. The speed is set first (the fastest), as libburn
    /// does before it blanks.
    pub fn blank(&mut self, mode: BlankMode) -> Result<()> {
        let number = self.current_profile()?;
        let ok = matches!(
            Profile::from_number(number),
            Some(Profile::CdRw | Profile::DvdMinusRwSequential | Profile::DvdMinusRwRestricted)
        );
        if !ok {
            return Err(self.medium_error(MediumError::NotBlankable {
                profile: profile_name(number),
            }));
        }
        self.set_speed(None)?;
        // A minimally blanked DVD-RW takes only DAO writes, which this layer
        // does not do: DVD-RW is always blanked fully.
        let dvd_rw = number != Profile::CdRw.number();
        let cmd = Blank {
            immed: true,
            kind: match mode {
                BlankMode::Fast if !dvd_rw => BlankType::Minimal,
                _ => BlankType::Full,
            },
            address: 0,
        };
        self.exec(&cmd, DataPhase::None, LONG_TIMEOUT)?;
        self.wait_ready()
    }

    /// DVD+RW whose background format was suspended (disc information
    /// status 01b): when the write may reach past the formatted part (the
    /// current capacity READ FORMAT CAPACITIES reports), restart the format
    /// (FORMAT UNIT 26h with the Restart bit, Immed) as growisofs does, since
    /// the drive refuses writes beyond it until formatting runs again.
    pub(crate) fn resume_background_format(
        &mut self,
        start: u32,
        blocks: Option<u32>,
    ) -> Result<()> {
        let di = self.disc_information()?;
        if di.bg_format_status != BG_FORMAT_SUSPENDED {
            return Ok(());
        }
        let caps: FormatCapacities = self.ask(&ReadFormatCapacities { alloc: 252 }, 252)?;
        if let Some(b) = blocks {
            let end = start.saturating_add(b).next_multiple_of(16);
            if end <= caps.current_blocks {
                return Ok(());
            }
        }
        let offered = caps
            .formattable
            .iter()
            .find(|d| d.format_type == FORMAT_DVD_PLUS_RW)
            .copied()
            .ok_or_else(|| {
                self.medium_error(MediumError::DriveLimit(
                    "the drive offers no DVD+RW format (26h) to restart".into(),
                ))
            })?;
        log::info!("{}: restarting the suspended DVD+RW format", self.name());
        self.format_unit(FormatDescriptor {
            blocks: offered.blocks,
            format_type: FORMAT_DVD_PLUS_RW,
            subtype: 0,
            param: DVD_PLUS_RW_RESTART,
        })
    }

    /// FORMAT UNIT with one descriptor, Immed, then polls until done.
    fn format_unit(&mut self, descriptor: FormatDescriptor) -> Result<()> {
        let params = FormatParameters {
            immed: true,
            descriptor,
        }
        .encode();
        let cmd = FormatUnit {
            fmt_data: true,
            cmp_list: false,
        };
        self.exec(&cmd, DataPhase::ToDevice(&params), LONG_TIMEOUT)?;
        self.wait_ready()
    }

    /// Formats the medium with the format its profile needs (DVD+RW 26h,
    /// DVD-RW quick 15h, BD-RE 30h) at full capacity. BD-R is not formatted:
    /// it is recorded sequentially as it comes, and format 32h subtype 0
    /// would turn on Pseudo-Overwrite, after which real drives refuse CLOSE
    /// SESSION (5/24/00) and libburn refuses the disc.
    pub fn format(&mut self) -> Result<()> {
        let number = self.current_profile()?;
        let format_type = match Profile::from_number(number) {
            Some(Profile::DvdPlusRw) => FORMAT_DVD_PLUS_RW,
            Some(Profile::DvdMinusRwSequential | Profile::DvdMinusRwRestricted) => {
                FORMAT_DVD_RW_QUICK
            }
            Some(Profile::BdRe) => FORMAT_BD_RE,
            Some(Profile::BdR) => {
                return Err(self.medium_error(MediumError::NotFormattable {
                    profile: profile_name(number),
                    bd_r: true,
                }))
            }
            _ => {
                return Err(self.medium_error(MediumError::NotFormattable {
                    profile: profile_name(number),
                    bd_r: false,
                }))
            }
        };
        let caps: FormatCapacities = self.ask(&ReadFormatCapacities { alloc: 252 }, 252)?;
        let offered = caps
            .formattable
            .iter()
            .find(|d| d.format_type == format_type)
            .copied()
            .ok_or_else(|| {
                self.medium_error(MediumError::DriveLimit(format!(
                    "the drive offers no format of type {format_type:#04x} for this {} medium",
                    profile_name(number)
                )))
            })?;
        self.format_unit(FormatDescriptor {
            blocks: offered.blocks,
            format_type,
            subtype: 0,
            param: offered.param,
        })
    }
}
