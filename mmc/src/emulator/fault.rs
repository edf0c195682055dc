//! Fault injection for the emulated drive: make it report a chosen sense at
//! the Nth command of a kind or at the Nth block written, as a failing burner
//! would.

use crate::sense::Sense;

/// When a fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// At the `nth` (1-based) command with this opcode since the device was opened.
    Command {
        /// Operation code.
        opcode: u8,
        /// Which occurrence.
        nth: u32,
    },
    /// When a WRITE reaches the `nth` (0-based) block written since the device was opened.
    Block(u64),
}

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// When.
    pub trigger: Trigger,
    /// What the drive reports.
    pub sense: Sense,
}

/// Operation codes by the names fault strings use.
const OPCODE_NAMES: [(&str, u8); 24] = [
    ("tur", 0x00),
    ("sense", 0x03),
    ("format", 0x04),
    ("inquiry", 0x12),
    ("startstop", 0x1B),
    ("prevent", 0x1E),
    ("formatcap", 0x23),
    ("capacity", 0x25),
    ("read", 0x28),
    ("write", 0x2A),
    ("sync", 0x35),
    ("toc", 0x43),
    ("config", 0x46),
    ("event", 0x4A),
    ("discinfo", 0x51),
    ("trackinfo", 0x52),
    ("reserve", 0x53),
    ("modeselect", 0x55),
    ("modesense", 0x5A),
    ("close", 0x5B),
    ("buffer", 0x5C),
    ("blank", 0xA1),
    ("streaming", 0xB6),
    ("speed", 0xBB),
];

fn parse_hex(s: &str) -> Option<u8> {
    u8::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

impl Fault {
    /// Parses `WHAT@N:K/AA/QQ`: WHAT is a command name (write, sync, close,
    /// blank, format, read, tur, ...), an opcode in hex (`0x2a`), or `block`;
    /// N counts commands from 1 or blocks from 0; K/AA/QQ is the sense in hex.
    pub fn parse(s: &str) -> Result<Fault, String> {
        let bad = || {
            format!(
                "fault {s:?} is not WHAT@N:K/AA/QQ (WHAT: block, an opcode like 0x2a, or one of {})",
                OPCODE_NAMES.map(|(n, _)| n).join(", ")
            )
        };
        let (what, rest) = s.split_once('@').ok_or_else(bad)?;
        let (n, sense) = rest.split_once(':').ok_or_else(bad)?;
        let n: u64 = n.parse().map_err(|_| bad())?;
        let parts: Vec<u8> = sense
            .split('/')
            .map(parse_hex)
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?;
        let [key, asc, ascq] = parts[..] else {
            return Err(bad());
        };
        let trigger = if what == "block" {
            Trigger::Block(n)
        } else {
            let opcode = OPCODE_NAMES
                .iter()
                .find(|(name, _)| *name == what)
                .map(|&(_, op)| op)
                .or_else(|| what.starts_with("0x").then(|| parse_hex(what)).flatten())
                .ok_or_else(bad)?;
            Trigger::Command {
                opcode,
                nth: u32::try_from(n).map_err(|_| bad())?,
            }
        };
        Ok(Fault {
            trigger,
            sense: Sense::new(key & 0x0F, asc, ascq),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_named_hex_and_block_faults() {
        assert_eq!(
            Fault::parse("write@3:3/0c/00").unwrap(),
            Fault {
                trigger: Trigger::Command {
                    opcode: 0x2A,
                    nth: 3
                },
                sense: Sense::new(3, 0x0C, 0)
            }
        );
        assert_eq!(
            Fault::parse("0x35@1:2/04/08").unwrap().trigger,
            Trigger::Command {
                opcode: 0x35,
                nth: 1
            }
        );
        assert_eq!(
            Fault::parse("block@1000:3/0C/09").unwrap().trigger,
            Trigger::Block(1000)
        );
        for bad in [
            "",
            "write",
            "write@x:3/0c/00",
            "write@1:3/0c",
            "nope@1:1/1/1",
            "write@1:zz/0/0",
        ] {
            assert!(Fault::parse(bad).is_err(), "{bad}");
        }
    }
}
