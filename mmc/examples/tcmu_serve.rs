//! Serves a device (normally `emulated:PATH?profile=NAME`) to the Linux kernel
//! through TCMU, so tcm_loop exposes it as /dev/srN: `tcmu_serve /dev/uio0 DEVICE`.
//! With MMC_TRACE=1 every CDB and its outcome go to stderr; with MMC_TRACE=PATH
//! they are appended to PATH, one line each (`CDB | DATA-OUT | RESULT`, hex
//! bytes; data-out is `-` when none moves and `N bytes` for WRITE data), which
//! mmc/tests/qemu.rs parses to compare burning programs' command sequences.

use std::io::Write;
use std::time::Duration;

use mmc::{Completion, DataPhase, Transport};

/// Records each command and how it ended.
struct Trace {
    inner: Box<dyn Transport>,
    out: Box<dyn Write + Send>,
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Transport for Trace {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> mmc::Result<Completion> {
        let out_data = match &data {
            DataPhase::ToDevice(b) if b.len() <= 512 => hex(b),
            DataPhase::ToDevice(b) => format!("{} bytes", b.len()),
            _ => "-".to_string(),
        };
        let r = self.inner.execute(cdb, data, timeout);
        let result = match &r {
            Ok(c) => match c.sense {
                Some(s) => format!("sense {:X}/{:02X}/{:02X}", s.key, s.asc, s.ascq),
                None => format!("ok {}", c.transferred),
            },
            Err(e) => format!("error {e}"),
        };
        // One write per line, so markers appended by the scenario interleave whole.
        let line = format!("{} | {out_data} | {result}\n", hex(cdb));
        let _ = self.out.write_all(line.as_bytes());
        r
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, uio, device] = &args[..] else {
        eprintln!("usage: tcmu_serve /dev/uioN DEVICE");
        std::process::exit(2);
    };
    let target = match mmc::open_device(device) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tcmu_serve: {e}");
            std::process::exit(6);
        }
    };
    let mut target: Box<dyn Transport> = match std::env::var("MMC_TRACE") {
        Ok(v) if v == "1" => Box::new(Trace {
            inner: target,
            out: Box::new(std::io::stderr()),
        }),
        Ok(path) if !path.is_empty() => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path);
            match file {
                Ok(f) => Box::new(Trace {
                    inner: target,
                    out: Box::new(f),
                }),
                Err(e) => {
                    eprintln!("tcmu_serve: MMC_TRACE={path}: {e}");
                    std::process::exit(6);
                }
            }
        }
        _ => target,
    };
    if let Err(e) = mmc::tcmu::serve(std::path::Path::new(uio), target.as_mut(), &|| false) {
        eprintln!("tcmu_serve: {uio}: {e}");
        std::process::exit(6);
    }
}
