//! MMC profiles (what kind of medium is in the drive) and the media names
//! cedar's configuration and device strings use.

use std::fmt;

/// Medium family, which decides addressing and gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// CD: MSF addresses, lead-in/lead-out between sessions.
    Cd,
    /// DVD: 16-block ECC units.
    Dvd,
    /// Blu-ray: 32-block clusters.
    Bd,
}

/// An MMC profile the drive layer and the emulator know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// 0009h CD-R.
    CdR,
    /// 000Ah CD-RW.
    CdRw,
    /// 0011h DVD-R sequential recording.
    DvdMinusR,
    /// 0013h DVD-RW restricted overwrite.
    DvdMinusRwRestricted,
    /// 0014h DVD-RW sequential recording.
    DvdMinusRwSequential,
    /// 001Ah DVD+RW.
    DvdPlusRw,
    /// 001Bh DVD+R.
    DvdPlusR,
    /// 0041h BD-R sequential recording mode.
    BdR,
    /// 0043h BD-RE.
    BdRe,
}

/// Every profile, in profile-number order.
pub const ALL_PROFILES: [Profile; 9] = [
    Profile::CdR,
    Profile::CdRw,
    Profile::DvdMinusR,
    Profile::DvdMinusRwRestricted,
    Profile::DvdMinusRwSequential,
    Profile::DvdPlusRw,
    Profile::DvdPlusR,
    Profile::BdR,
    Profile::BdRe,
];

impl Profile {
    /// The MMC profile number.
    pub fn number(self) -> u16 {
        match self {
            Profile::CdR => 0x09,
            Profile::CdRw => 0x0A,
            Profile::DvdMinusR => 0x11,
            Profile::DvdMinusRwRestricted => 0x13,
            Profile::DvdMinusRwSequential => 0x14,
            Profile::DvdPlusRw => 0x1A,
            Profile::DvdPlusR => 0x1B,
            Profile::BdR => 0x41,
            Profile::BdRe => 0x43,
        }
    }

    /// The profile with this number, if it is one the crate writes.
    pub fn from_number(n: u16) -> Option<Profile> {
        ALL_PROFILES.into_iter().find(|p| p.number() == n)
    }

    /// Stable short key (used in the emulator's state file).
    pub fn key(self) -> &'static str {
        match self {
            Profile::CdR => "cd-r",
            Profile::CdRw => "cd-rw",
            Profile::DvdMinusR => "dvd-r",
            Profile::DvdMinusRwRestricted => "dvd-rw-ro",
            Profile::DvdMinusRwSequential => "dvd-rw",
            Profile::DvdPlusRw => "dvd+rw",
            Profile::DvdPlusR => "dvd+r",
            Profile::BdR => "bd-r",
            Profile::BdRe => "bd-re",
        }
    }

    /// The profile with this key.
    pub fn from_key(key: &str) -> Option<Profile> {
        ALL_PROFILES.into_iter().find(|p| p.key() == key)
    }

    /// The medium family.
    pub fn family(self) -> Family {
        match self {
            Profile::CdR | Profile::CdRw => Family::Cd,
            Profile::BdR | Profile::BdRe => Family::Bd,
            _ => Family::Dvd,
        }
    }

    /// The medium can be blanked or reformatted.
    pub fn erasable(self) -> bool {
        matches!(
            self,
            Profile::CdRw
                | Profile::DvdMinusRwRestricted
                | Profile::DvdMinusRwSequential
                | Profile::DvdPlusRw
                | Profile::BdRe
        )
    }

    /// The medium is written at arbitrary addresses (no tracks or sessions to close).
    pub fn overwritable(self) -> bool {
        matches!(
            self,
            Profile::DvdMinusRwRestricted | Profile::DvdPlusRw | Profile::BdRe
        )
    }

    /// Blocks per ECC unit: sequential writes end on this boundary.
    pub fn ecc_blocks(self) -> u32 {
        match self.family() {
            Family::Cd => 1,
            Family::Dvd => 16,
            Family::Bd => 32,
        }
    }

    /// Blocks the drive layer sends per WRITE(10): 32 KiB as libburn and
    /// growisofs send on CD and DVD, 64 KiB (one ECC cluster) on BD.
    pub fn write_chunk_blocks(self) -> u32 {
        match self.family() {
            Family::Cd => 16,
            Family::Dvd => 16,
            Family::Bd => 32,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Profile::CdR => "CD-R",
            Profile::CdRw => "CD-RW",
            Profile::DvdMinusR => "DVD-R sequential recording",
            Profile::DvdMinusRwRestricted => "DVD-RW restricted overwrite",
            Profile::DvdMinusRwSequential => "DVD-RW sequential recording",
            Profile::DvdPlusRw => "DVD+RW",
            Profile::DvdPlusR => "DVD+R",
            Profile::BdR => "BD-R sequential recording",
            Profile::BdRe => "BD-RE",
        };
        f.write_str(s)
    }
}

/// Name of any profile number, including read-only and unsupported ones.
pub fn profile_name(n: u16) -> String {
    match Profile::from_number(n) {
        Some(p) => p.to_string(),
        None => match n {
            0x0000 => "no medium".into(),
            0x0008 => "CD-ROM".into(),
            0x0010 => "DVD-ROM".into(),
            0x0012 => "DVD-RAM".into(),
            0x0015 => "DVD-R dual layer sequential".into(),
            0x002B => "DVD+R dual layer".into(),
            0x0040 => "BD-ROM".into(),
            0x0042 => "BD-R random recording".into(),
            other => format!("profile {other:04X}h"),
        },
    }
}

/// A medium as cedar names it: a profile and a nominal capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType {
    /// Name in device strings and configuration (e.g. "cdr-74").
    pub name: &'static str,
    /// Profile of a blank disc of this type.
    pub profile: Profile,
    /// User-data capacity in 2048-byte blocks.
    pub capacity: u32,
}

/// The media types emulated device strings accept.
pub const MEDIA_TYPES: [MediaType; 11] = [
    MediaType {
        name: "cdr-74",
        profile: Profile::CdR,
        capacity: 332_800,
    },
    MediaType {
        name: "cdrw-74",
        profile: Profile::CdRw,
        capacity: 332_800,
    },
    MediaType {
        name: "cdr-80",
        profile: Profile::CdR,
        capacity: 358_400,
    },
    MediaType {
        name: "cdrw-80",
        profile: Profile::CdRw,
        capacity: 358_400,
    },
    MediaType {
        name: "dvd+r",
        profile: Profile::DvdPlusR,
        // A blank 4.7 GB DVD+R's invisible track, as drives report it
        // (dvd+rw-mediainfo: "Free Blocks: 2295104*2KB"; DVD+RW formats
        // to the same size, "26h: 2295104*2048").
        capacity: 2_295_104,
    },
    MediaType {
        name: "dvd+rw",
        profile: Profile::DvdPlusRw,
        capacity: 2_295_104,
    },
    MediaType {
        name: "dvd-r",
        profile: Profile::DvdMinusR,
        // A blank 4.7 GB DVD-R(W)'s invisible track (dvd+rw-mediainfo:
        // "Free Blocks: 2297888*2KB"; the legacy lead-out is at 2298496);
        // a DVD-RW formats to the same size ("00h: 2297888*2048").
        capacity: 2_297_888,
    },
    MediaType {
        name: "dvd-rw",
        profile: Profile::DvdMinusRwSequential,
        capacity: 2_297_888,
    },
    MediaType {
        name: "dvd-rw-ro",
        profile: Profile::DvdMinusRwRestricted,
        capacity: 2_297_888,
    },
    MediaType {
        name: "bd-r",
        profile: Profile::BdR,
        capacity: 12_219_392,
    },
    MediaType {
        name: "bd-re",
        profile: Profile::BdRe,
        capacity: 12_219_392,
    },
];

impl MediaType {
    /// Looks a media type up by name (case-insensitive).
    pub fn by_name(name: &str) -> Option<MediaType> {
        MEDIA_TYPES
            .into_iter()
            .find(|m| m.name.eq_ignore_ascii_case(name))
    }

    /// The names, comma-separated, for messages.
    pub fn names() -> String {
        MEDIA_TYPES
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
