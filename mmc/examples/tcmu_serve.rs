//! Serves a device (normally `emulated:PATH?profile=NAME`) to the Linux kernel
//! through TCMU, so tcm_loop exposes it as /dev/srN: `tcmu_serve /dev/uio0 DEVICE`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, uio, device] = &args[..] else {
        eprintln!("usage: tcmu_serve /dev/uioN DEVICE");
        std::process::exit(2);
    };
    let mut target = match mmc::open_device(device) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tcmu_serve: {e}");
            std::process::exit(6);
        }
    };
    if let Err(e) = mmc::tcmu::serve(std::path::Path::new(uio), target.as_mut(), &|| false) {
        eprintln!("tcmu_serve: {uio}: {e}");
        std::process::exit(6);
    }
}
