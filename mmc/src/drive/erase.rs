//! Preparing rewritable media: BLANK (CD-RW, DVD-RW) and FORMAT UNIT
//! (DVD+RW, DVD-RW restricted overwrite, BD-RE, BD-R SRM).

use super::Drive;
use crate::cdb::format::{
    Blank, BlankType, FormatCapacities, FormatDescriptor, FormatParameters, FormatUnit,
    ReadFormatCapacities, FORMAT_BD_RE, FORMAT_BD_R_SRM, FORMAT_DVD_PLUS_RW, FORMAT_DVD_RW_QUICK,
};
use crate::cdb::Response;
use crate::error::Result;
use crate::profile::{profile_name, Profile};
use crate::transport::{DataPhase, LONG_TIMEOUT};

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
    /// incremental writes.
    pub fn blank(&mut self, mode: BlankMode) -> Result<()> {
        let number = self.current_profile()?;
        let ok = matches!(
            Profile::from_number(number),
            Some(Profile::CdRw | Profile::DvdMinusRwSequential | Profile::DvdMinusRwRestricted)
        );
        if !ok {
            return Err(self.medium_error(format!(
                "a {} medium cannot be blanked (only CD-RW and DVD-RW can)",
                profile_name(number)
            )));
        }
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

    /// Formats the medium with the format its profile needs (DVD+RW 26h,
    /// DVD-RW quick 15h, BD-RE 30h, BD-R SRM 32h) at full capacity.
    pub fn format(&mut self) -> Result<()> {
        let number = self.current_profile()?;
        let format_type = match Profile::from_number(number) {
            Some(Profile::DvdPlusRw) => FORMAT_DVD_PLUS_RW,
            Some(Profile::DvdMinusRwSequential | Profile::DvdMinusRwRestricted) => {
                FORMAT_DVD_RW_QUICK
            }
            Some(Profile::BdRe) => FORMAT_BD_RE,
            Some(Profile::BdR) => FORMAT_BD_R_SRM,
            _ => {
                return Err(self.medium_error(format!(
                    "a {} medium cannot be formatted",
                    profile_name(number)
                )))
            }
        };
        let caps: FormatCapacities = self.ask(&ReadFormatCapacities { alloc: 252 }, 252)?;
        let offered = caps
            .formattable
            .iter()
            .find(|d| d.format_type == format_type)
            .copied()
            .ok_or_else(|| {
                self.medium_error(format!(
                    "the drive offers no format of type {format_type:#04x} for this {} medium",
                    profile_name(number)
                ))
            })?;
        let params = FormatParameters {
            immed: true,
            descriptor: FormatDescriptor {
                blocks: offered.blocks,
                format_type,
                subtype: 0,
                param: offered.param,
            },
        }
        .encode();
        let cmd = FormatUnit {
            fmt_data: true,
            cmp_list: false,
        };
        self.exec(&cmd, DataPhase::ToDevice(&params), LONG_TIMEOUT)?;
        self.wait_ready()
    }
}
