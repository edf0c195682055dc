//! Serves a device (normally `emulated:PATH?profile=NAME`) to the Linux kernel
//! through TCMU, so tcm_loop exposes it as /dev/srN: `tcmu_serve /dev/uio0 DEVICE`.
//! With MMC_TRACE=1 every CDB and its outcome go to stderr.

use std::time::Duration;

use mmc::{Completion, DataPhase, Transport};

/// Prints each command and how it ended.
struct Trace(Box<dyn Transport>);

impl Transport for Trace {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> mmc::Result<Completion> {
        let len = data.len();
        if let DataPhase::ToDevice(b) = &data {
            if b.len() <= 64 {
                eprintln!("  data {:02X?}", &b[..b.len().min(16)]);
            }
        }
        let r = self.0.execute(cdb, data, timeout);
        let what = mmc::cdb::opcode_name(cdb.first().copied().unwrap_or(0));
        match &r {
            Ok(c) => match c.sense {
                Some(s) => eprintln!("{cdb:02X?} {what} [{len}] -> {s}"),
                None => eprintln!("{cdb:02X?} {what} [{len}] -> ok {}", c.transferred),
            },
            Err(e) => eprintln!("{cdb:02X?} {what} -> {e}"),
        }
        r
    }

    fn name(&self) -> &str {
        self.0.name()
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
    let mut target: Box<dyn Transport> = if std::env::var_os("MMC_TRACE").is_some() {
        Box::new(Trace(target))
    } else {
        target
    };
    if let Err(e) = mmc::tcmu::serve(std::path::Path::new(uio), target.as_mut(), &|| false) {
        eprintln!("tcmu_serve: {uio}: {e}");
        std::process::exit(6);
    }
}
