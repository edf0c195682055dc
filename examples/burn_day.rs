//! Burns one staged day onto a drive the way store does (placement, the
//! previous session imported through the drive, the FIFO, growth at LBA 16 on
//! overwritable media), optionally reads it back (check_data), and prints the
//! seconds each step took. Used by scripts/bench-store.sh until `cback store`
//! drives the same code.
//!
//! usage: burn_day DEVICE HOST_DIR DISC_PATH [--read-back] [--check]

use std::path::PathBuf;
use std::time::Instant;

use cedar::engine::disc::{self, DiscSource};
use cedar::engine::image::ImageBuilder;
use cedar::engine::{burn, verify};
use iso9660::{GraftPoint, Options, RockRidge};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (device, host, path) = match args.as_slice() {
        [d, h, p, ..] => (d.clone(), PathBuf::from(h), p.clone()),
        _ => {
            return Err("usage: burn_day DEVICE HOST_DIR DISC_PATH [--read-back] [--check]".into())
        }
    };
    let check = args.iter().any(|a| a == "--check");
    let mut drive = mmc::Drive::open(&device)?;
    drive.set_poll_interval(std::time::Duration::from_millis(5));
    disc::close_interrupted(&mut drive)?;
    let mut place = disc::placement(&mut drive)?;
    if place.overwritable && place.state == mmc::MediaState::Blank {
        drive.format()?;
        place = disc::placement(&mut drive)?;
    }
    let mut b = ImageBuilder::new(Options {
        volume_id: "CEDAR BACKUP".into(),
        rock_ridge: Some(RockRidge::Rationalized),
        start_lba: place.start_lba,
        ..Options::default()
    });
    if let Some(start) = place.import {
        b.import(DiscSource::new(&mut drive), start)?;
    }
    b.graft(&GraftPoint {
        disc: path.as_bytes().to_vec(),
        host: host.clone(),
    })?;
    let mut layout = b.plan()?;
    let t = Instant::now();
    let report = burn::burn(
        &mut drive,
        &mut layout,
        &place,
        &burn::BurnOptions::default(),
        &mut (),
    )?;
    println!("write {:.3}", t.elapsed().as_secs_f64());
    eprintln!("{report:?}");
    if args.iter().any(|a| a == "--read-back") {
        // check_data's read path without the hashing: every file of the
        // session read through the drive into a sink.
        let t = Instant::now();
        let mut reader = iso9660::Reader::from_source(
            DiscSource::new(&mut drive),
            report.session_start,
            iso9660::Limits::default(),
        )?;
        let mut files = Vec::new();
        reader.walk(|_, e| {
            if e.kind == iso9660::EntryKind::File {
                files.push(e.clone());
            }
            Ok(())
        })?;
        // 1 MiB reads, as check_data makes.
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0;
        for e in &files {
            let mut f = reader.open_file(e)?;
            loop {
                let n = std::io::Read::read(&mut f, &mut buf)?;
                if n == 0 {
                    break;
                }
                bytes += n as u64;
            }
        }
        println!("read-back {:.3}", t.elapsed().as_secs_f64());
        eprintln!("{bytes} bytes in {} files", files.len());
    }
    if check {
        let t = Instant::now();
        let r = verify::check_data(&mut drive, &report, &host, &path)?;
        println!("check {:.3}", t.elapsed().as_secs_f64());
        eprintln!("{r:?}");
    }
    Ok(())
}
