//! Writes files as sessions through the drive layer and reads each back:
//! `burn DEVICE FILE...`. Prints one line per session and the final msinfo.

use mmc::{Drive, NoProgress, WriteOptions};

fn run(device: &str, files: &[String]) -> mmc::Result<()> {
    let mut drive = Drive::open(device)?;
    let id = drive.identify()?;
    println!("drive {} {} {}", id.vendor, id.product, id.revision);
    for f in files {
        let data = std::fs::read(f).map_err(|source| mmc::Error::Input {
            device: device.to_string(),
            source,
        })?;
        let r = drive.write_session(&mut &data[..], &WriteOptions::default(), &mut NoProgress)?;
        let mut back = vec![0u8; data.len()];
        drive.read_blocks(r.start, &mut back)?;
        let same = if back == data { "verified" } else { "MISMATCH" };
        println!("session {f} at {} blocks {} {same}", r.start, r.blocks);
    }
    let info = drive.medium_info()?;
    match info.msinfo() {
        Some((a, b)) => println!("msinfo {a},{b} sessions {}", info.sessions),
        None => println!("msinfo none sessions {}", info.sessions),
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: burn DEVICE FILE...");
        std::process::exit(2);
    }
    if let Err(e) = run(&args[1], &args[2..]) {
        eprintln!("burn: {e}");
        std::process::exit(6);
    }
}
