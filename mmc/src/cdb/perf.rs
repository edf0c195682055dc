//! Speed and buffer commands: SET CD SPEED, SET STREAMING, READ BUFFER
//! CAPACITY, GET PERFORMANCE.

use super::{be16, be32, check_cdb, need, put16, put32, Cdb, Command, Response};
use crate::error::DecodeError;

/// Speed value meaning "as fast as the drive can".
pub const MAX_SPEED: u16 = 0xFFFF;

/// SET CD SPEED `BBh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetCdSpeed {
    /// Rotation control (0 = CLV, 1 = CAV).
    pub rotation: u8,
    /// Read speed in kB/s.
    pub read_kbs: u16,
    /// Write speed in kB/s.
    pub write_kbs: u16,
}

impl Command for SetCdSpeed {
    const OPCODE: u8 = 0xBB;
    const NAME: &'static str = "SET CD SPEED";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 12);
        let b = c.bytes_mut();
        b[1] = self.rotation & 0x03;
        put16(b, 2, self.read_kbs);
        put16(b, 4, self.write_kbs);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 12, Self::NAME)?;
        Ok(SetCdSpeed {
            rotation: cdb[1] & 0x03,
            read_kbs: be16(cdb, 2),
            write_kbs: be16(cdb, 4),
        })
    }
}

/// SET STREAMING `B6h` (type 0: performance descriptor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetStreaming {
    /// Parameter list length (28 for a performance descriptor).
    pub len: u16,
}

impl Command for SetStreaming {
    const OPCODE: u8 = 0xB6;
    const NAME: &'static str = "SET STREAMING";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 12);
        put16(c.bytes_mut(), 9, self.len);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 12, Self::NAME)?;
        if cdb[8] != 0 {
            return Err(DecodeError::Invalid {
                what: Self::NAME,
                detail: format!("descriptor type {} is not supported", cdb[8]),
            });
        }
        Ok(SetStreaming { len: be16(cdb, 9) })
    }
}

/// SET STREAMING performance descriptor (28 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamingDescriptor {
    /// Write rotation control (bits 4–3 of byte 0).
    pub wrc: u8,
    /// Restore drive defaults.
    pub rdd: bool,
    /// Exact.
    pub exact: bool,
    /// Random access.
    pub ra: bool,
    /// Start LBA.
    pub start_lba: u32,
    /// End LBA.
    pub end_lba: u32,
    /// Read size in kB per `read_time` ms.
    pub read_size: u32,
    /// Read time in ms.
    pub read_time: u32,
    /// Write size in kB per `write_time` ms.
    pub write_size: u32,
    /// Write time in ms.
    pub write_time: u32,
}

impl Response for StreamingDescriptor {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 28, "streaming performance descriptor")?;
        Ok(StreamingDescriptor {
            wrc: (b[0] >> 3) & 0x03,
            rdd: b[0] & 0x04 != 0,
            exact: b[0] & 0x02 != 0,
            ra: b[0] & 0x01 != 0,
            start_lba: be32(b, 4),
            end_lba: be32(b, 8),
            read_size: be32(b, 12),
            read_time: be32(b, 16),
            write_size: be32(b, 20),
            write_time: be32(b, 24),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 28];
        b[0] = ((self.wrc & 0x03) << 3)
            | (u8::from(self.rdd) << 2)
            | (u8::from(self.exact) << 1)
            | u8::from(self.ra);
        put32(&mut b, 4, self.start_lba);
        put32(&mut b, 8, self.end_lba);
        put32(&mut b, 12, self.read_size);
        put32(&mut b, 16, self.read_time);
        put32(&mut b, 20, self.write_size);
        put32(&mut b, 24, self.write_time);
        b
    }
}

/// READ BUFFER CAPACITY `5Ch` (in bytes, block bit 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBufferCapacity {
    /// Allocation length.
    pub alloc: u16,
}

impl Command for ReadBufferCapacity {
    const OPCODE: u8 = 0x5C;
    const NAME: &'static str = "READ BUFFER CAPACITY";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        put16(c.bytes_mut(), 7, self.alloc);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        if cdb[1] & 0x01 != 0 {
            return Err(DecodeError::Invalid {
                what: Self::NAME,
                detail: "block-unit reporting is not supported".into(),
            });
        }
        Ok(ReadBufferCapacity {
            alloc: be16(cdb, 7),
        })
    }
}

/// READ BUFFER CAPACITY reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferCapacity {
    /// Buffer size in bytes.
    pub length: u32,
    /// Free bytes in the buffer.
    pub available: u32,
}

impl Response for BufferCapacity {
    fn parse(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 12, "buffer capacity")?;
        Ok(BufferCapacity {
            length: be32(b, 4),
            available: be32(b, 8),
        })
    }
    fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        put16(&mut b, 0, 10);
        put32(&mut b, 4, self.length);
        put32(&mut b, 8, self.available);
        b
    }
}

/// GET PERFORMANCE data type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerformanceType {
    /// 00h: nominal performance (read or write, per the Write bit).
    Nominal {
        /// Report write performance instead of read.
        write: bool,
    },
    /// 03h: write speed descriptors.
    WriteSpeed,
}

/// GET PERFORMANCE `ACh`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetPerformance {
    /// Data type.
    pub kind: PerformanceType,
    /// Starting LBA (nominal type).
    pub start_lba: u32,
    /// Maximum number of descriptors.
    pub max_descriptors: u16,
}

impl Command for GetPerformance {
    const OPCODE: u8 = 0xAC;
    const NAME: &'static str = "GET PERFORMANCE";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 12);
        let b = c.bytes_mut();
        match self.kind {
            PerformanceType::Nominal { write } => {
                // Tolerance 10b (10%) as MMC asks, except 00b (nominal only).
                b[1] = 0x10 | (u8::from(write) << 2);
                b[10] = 0x00;
            }
            PerformanceType::WriteSpeed => b[10] = 0x03,
        }
        put32(b, 2, self.start_lba);
        put16(b, 8, self.max_descriptors);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 12, Self::NAME)?;
        let kind = match cdb[10] {
            0x00 => PerformanceType::Nominal {
                write: cdb[1] & 0x04 != 0,
            },
            0x03 => PerformanceType::WriteSpeed,
            t => {
                return Err(DecodeError::Invalid {
                    what: Self::NAME,
                    detail: format!("data type {t:#04x} is not supported"),
                })
            }
        };
        Ok(GetPerformance {
            kind,
            start_lba: be32(cdb, 2),
            max_descriptors: be16(cdb, 8),
        })
    }
}

/// Nominal performance descriptor (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NominalPerformance {
    /// Start LBA.
    pub start_lba: u32,
    /// Performance at the start, kB/s.
    pub start_kbs: u32,
    /// End LBA.
    pub end_lba: u32,
    /// Performance at the end, kB/s.
    pub end_kbs: u32,
}

/// Write speed descriptor (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSpeedDescriptor {
    /// Write rotation control.
    pub wrc: u8,
    /// Last LBA of the medium.
    pub end_lba: u32,
    /// Read speed, kB/s.
    pub read_kbs: u32,
    /// Write speed, kB/s.
    pub write_kbs: u32,
}

/// GET PERFORMANCE reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Performance {
    /// Type 00h descriptors.
    Nominal {
        /// The reply describes writing.
        write: bool,
        /// Descriptors.
        descriptors: Vec<NominalPerformance>,
    },
    /// Type 03h descriptors.
    WriteSpeeds(Vec<WriteSpeedDescriptor>),
}

impl Performance {
    /// Parses a reply, given the type that was asked for (the header does not say).
    pub fn parse_as(kind: PerformanceType, b: &[u8]) -> Result<Self, DecodeError> {
        need(b, 8, "performance header")?;
        let end = (be32(b, 0) as usize).saturating_add(4).min(b.len());
        let body = if end > 8 { &b[8..end] } else { &[][..] };
        Ok(match kind {
            PerformanceType::Nominal { .. } => Performance::Nominal {
                write: b[4] & 0x02 != 0,
                descriptors: body
                    .chunks_exact(16)
                    .map(|d| NominalPerformance {
                        start_lba: be32(d, 0),
                        start_kbs: be32(d, 4),
                        end_lba: be32(d, 8),
                        end_kbs: be32(d, 12),
                    })
                    .collect(),
            },
            PerformanceType::WriteSpeed => Performance::WriteSpeeds(
                body.chunks_exact(16)
                    .map(|d| WriteSpeedDescriptor {
                        wrc: (d[0] >> 3) & 0x03,
                        end_lba: be32(d, 4),
                        read_kbs: be32(d, 8),
                        write_kbs: be32(d, 12),
                    })
                    .collect(),
            ),
        })
    }

    /// Encodes the reply.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = vec![0u8; 8];
        match self {
            Performance::Nominal { write, descriptors } => {
                b[4] = u8::from(*write) << 1;
                for d in descriptors {
                    for v in [d.start_lba, d.start_kbs, d.end_lba, d.end_kbs] {
                        b.extend_from_slice(&v.to_be_bytes());
                    }
                }
            }
            Performance::WriteSpeeds(speeds) => {
                for s in speeds {
                    b.extend_from_slice(&[(s.wrc & 0x03) << 3, 0, 0, 0]);
                    for v in [s.end_lba, s.read_kbs, s.write_kbs] {
                        b.extend_from_slice(&v.to_be_bytes());
                    }
                }
            }
        }
        let len = (b.len() - 4) as u32;
        put32(&mut b, 0, len);
        b
    }
}

/// SEND OPC INFORMATION `54h`: ask the drive to run optimum power
/// calibration now (DoOPC) instead of at the first write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOpcInformation {
    /// Perform OPC now.
    pub do_opc: bool,
    /// Parameter list length (0: no OPC table sent).
    pub len: u16,
}

impl Command for SendOpcInformation {
    const OPCODE: u8 = 0x54;
    const NAME: &'static str = "SEND OPC INFORMATION";
    fn encode(&self) -> Cdb {
        let mut c = Cdb::new(Self::OPCODE, 10);
        let b = c.bytes_mut();
        b[1] = u8::from(self.do_opc);
        put16(b, 7, self.len);
        c
    }
    fn decode(cdb: &[u8]) -> Result<Self, DecodeError> {
        check_cdb(cdb, Self::OPCODE, 10, Self::NAME)?;
        Ok(SendOpcInformation {
            do_opc: cdb[1] & 0x01 != 0,
            len: be16(cdb, 7),
        })
    }
}
