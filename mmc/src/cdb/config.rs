//! GET CONFIGURATION (profiles and features) and GET EVENT STATUS NOTIFICATION.

use super::{be16, be32, check_cdb, need, put16, put32, Cdb, Command, Response};
use crate::error::DecodeError;

/// Which features GET CONFIGURATION returns (the RT field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    /// All features from the starting one (RT 0).
    All,
    /// Only current features (RT 1).
    Current,
    /// Exactly the starting feature (RT 2).
    One,
}

/// GET CONFIGURATION `46h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetConfiguration {
    /// RT field.
    pub request: RequestType,
    /// First feature code to report.
    pub start_feature: u16,
    /// Allocation length.
    pub alloc: u16,
}

impl Command for GetConfiguration {
    const OPCODE: u8 = 0x46;
    const NAME: &'static str = "GET CONFIGURATION";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        let b = c.bytes_mut();
        b[1] = match self.request {
            RequestType::All => 0,
            RequestType::Current => 1,
            RequestType::One => 2,
        };
        put16(b, 2, self.start_feature);
        put16(b, 7, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        let request = match cdb[1] & 0x03 {
            0 => RequestType::All,
            1 => RequestType::Current,
            2 => RequestType::One,
            _ => {
                return Err(DecodeError::Invalid {
                    what: Self::NAME,
                    detail: "RT 3 is reserved".into(),
                })
            }
        };
        Ok(GetConfiguration {
            request,
            start_feature: be16(cdb, 2),
            alloc: be16(cdb, 7),
        })
    }
}

/// Feature code of the profile list.
pub const FEATURE_PROFILE_LIST: u16 = 0x0000;

/// One feature descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// Feature code.
    pub code: u16,
    /// Feature version.
    pub version: u8,
    /// Persistent bit.
    pub persistent: bool,
    /// Current bit.
    pub current: bool,
    /// Feature-dependent data.
    pub data: Vec<u8>,
}

/// One entry of the profile list feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileDescriptor {
    /// Profile number (e.g. 001Bh DVD+R).
    pub profile: u16,
    /// Whether this profile is the current one.
    pub current: bool,
}

/// GET CONFIGURATION reply: current profile plus feature descriptors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    /// Current profile (0 when no medium).
    pub current_profile: u16,
    /// Feature descriptors in the order returned.
    pub features: Vec<Feature>,
}

impl Configuration {
    /// Looks up a feature by code.
    pub fn feature(&self, code: u16) -> Option<&Feature> {
        self.features.iter().find(|f| f.code == code)
    }

    /// The profiles listed in feature 0000h.
    pub fn profiles(&self) -> Vec<ProfileDescriptor> {
        self.feature(FEATURE_PROFILE_LIST)
            .map(|f| {
                f.data
                    .chunks_exact(4)
                    .map(|d| ProfileDescriptor {
                        profile: be16(d, 0),
                        current: d[2] & 1 != 0,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Builds the profile list feature from descriptors.
    pub fn profile_list_feature(profiles: &[ProfileDescriptor]) -> Feature {
        let mut data = Vec::with_capacity(profiles.len() * 4);
        for p in profiles {
            data.extend_from_slice(&p.profile.to_be_bytes());
            data.push(u8::from(p.current));
            data.push(0);
        }
        Feature {
            code: FEATURE_PROFILE_LIST,
            version: 0,
            persistent: true,
            current: true,
            data,
        }
    }
}

impl Response for Configuration {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 8, "feature header")?;
        // The data length may announce more than the allocation let through.
        let end = (be32(b, 0) as usize).saturating_add(4).min(b.len());
        let mut features = Vec::new();
        let mut at = 8;
        while at + 4 <= end {
            let len = b[at + 3] as usize;
            if at + 4 + len > end {
                break;
            }
            features.push(Feature {
                code: be16(b, at),
                version: (b[at + 2] >> 2) & 0x0F,
                persistent: b[at + 2] & 0x02 != 0,
                current: b[at + 2] & 0x01 != 0,
                data: b[at + 4..at + 4 + len].to_vec(),
            });
            at += 4 + len;
        }
        Ok(Configuration {
            current_profile: be16(b, 6),
            features,
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 8];
        put16(&mut b, 6, self.current_profile);
        for f in &self.features {
            b.extend_from_slice(&f.code.to_be_bytes());
            b.push(((f.version & 0x0F) << 2) | (u8::from(f.persistent) << 1) | u8::from(f.current));
            b.push(f.data.len().min(255) as u8);
            b.extend_from_slice(&f.data[..f.data.len().min(255)]);
        }
        let len = (b.len() - 4) as u32;
        put32(&mut b, 0, len);
        b
    }
}

/// Notification class bit for media events.
pub const EVENT_CLASS_MEDIA: u8 = 1 << 4;

/// GET EVENT STATUS NOTIFICATION `4Ah` (polled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetEventStatusNotification {
    /// Polled operation (the only one Linux supports).
    pub polled: bool,
    /// Notification class request bits (e.g. [`EVENT_CLASS_MEDIA`]).
    pub class_request: u8,
    /// Allocation length.
    pub alloc: u16,
}

impl Command for GetEventStatusNotification {
    const OPCODE: u8 = 0x4A;
    const NAME: &'static str = "GET EVENT STATUS NOTIFICATION";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        let b = c.bytes_mut();
        b[1] = u8::from(self.polled);
        b[4] = self.class_request;
        put16(b, 7, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        Ok(GetEventStatusNotification {
            polled: cdb[1] & 1 != 0,
            class_request: cdb[4],
            alloc: be16(cdb, 7),
        })
    }
}

/// Media event codes (byte 0 of the media event descriptor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaEventCode {
    /// Nothing changed.
    NoChange,
    /// The user pressed eject.
    EjectRequest,
    /// A medium was inserted or changed.
    NewMedia,
    /// The medium was removed.
    MediaRemoval,
    /// Any other code.
    Other(u8),
}

impl MediaEventCode {
    fn from_u8(v: u8) -> Self {
        match v & 0x0F {
            0 => MediaEventCode::NoChange,
            1 => MediaEventCode::EjectRequest,
            2 => MediaEventCode::NewMedia,
            3 => MediaEventCode::MediaRemoval,
            o => MediaEventCode::Other(o),
        }
    }
    fn to_u8(self) -> u8 {
        match self {
            MediaEventCode::NoChange => 0,
            MediaEventCode::EjectRequest => 1,
            MediaEventCode::NewMedia => 2,
            MediaEventCode::MediaRemoval => 3,
            MediaEventCode::Other(o) => o & 0x0F,
        }
    }
}

/// GET EVENT STATUS NOTIFICATION reply for the media class (or "no event").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStatus {
    /// No event available (NEA).
    pub no_event_available: bool,
    /// Notification class of the descriptor (4 = media).
    pub class: u8,
    /// Classes the drive supports (bit mask as in the request).
    pub supported: u8,
    /// Media event, when the class is media and a descriptor is present.
    pub media: Option<MediaEvent>,
}

/// Media event descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaEvent {
    /// What happened.
    pub code: MediaEventCode,
    /// A medium is present.
    pub present: bool,
    /// The tray or door is open.
    pub tray_open: bool,
}

impl Response for EventStatus {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 4, "event status header")?;
        let class = b[2] & 0x07;
        let nea = b[2] & 0x80 != 0;
        let media = if !nea && class == 4 && b.len() >= 8 && be16(b, 0) >= 6 {
            Some(MediaEvent {
                code: MediaEventCode::from_u8(b[4]),
                present: b[5] & 0x02 != 0,
                tray_open: b[5] & 0x01 != 0,
            })
        } else {
            None
        };
        Ok(EventStatus {
            no_event_available: nea,
            class,
            supported: b[3],
            media,
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 4];
        b[2] = (u8::from(self.no_event_available) << 7) | (self.class & 0x07);
        b[3] = self.supported;
        if let Some(m) = self.media {
            b.push(m.code.to_u8());
            b.push((u8::from(m.present) << 1) | u8::from(m.tray_open));
            b.extend_from_slice(&[0, 0]);
        }
        let len = (b.len() - 2) as u16;
        put16(&mut b, 0, len);
        b
    }
}
