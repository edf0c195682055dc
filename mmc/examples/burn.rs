//! Writes files as sessions through the drive layer and reads each back:
//! `burn DEVICE [blank] FILE[@START]...` (START: the block to write at on
//! overwritable media; `blank` blanks a CD-RW or DVD-RW first, as Cedar
//! Backup does before writing a new disc). A blank overwritable disc is
//! formatted first. Prints one line per step and the final msinfo.

use mmc::{BlankMode, Drive, MediaState, NoProgress, WriteOptions};

fn run(device: &str, files: &[String]) -> mmc::Result<()> {
    let mut drive = Drive::open(device)?;
    let id = drive.identify()?;
    println!("drive {} {} {}", id.vendor, id.product, id.revision);
    for arg in files {
        if arg == "blank" {
            drive.blank(BlankMode::Fast)?;
            println!("blanked");
            continue;
        }
        let (f, start) = match arg.rsplit_once('@') {
            Some((f, at)) => (f, at.parse::<u32>().ok()),
            None => (arg.as_str(), None),
        };
        let data = std::fs::read(f).map_err(|source| mmc::Error::Input {
            device: device.to_string(),
            source,
        })?;
        let info = drive.medium_info()?;
        if info.state == MediaState::Blank && info.profile.is_some_and(|p| p.overwritable()) {
            drive.format()?;
            println!("formatted");
        }
        let opts = WriteOptions {
            start,
            expected_blocks: u32::try_from(data.len() / mmc::BLOCK_SIZE).ok(),
            ..WriteOptions::default()
        };
        let r = drive.write_session(&mut &data[..], &opts, &mut NoProgress)?;
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
        eprintln!("usage: burn DEVICE [blank] FILE[@START]...");
        std::process::exit(2);
    }
    if let Err(e) = run(&args[1], &args[2..]) {
        eprintln!("burn: {e}");
        std::process::exit(6);
    }
}
