//! `CedarBackup3.extend.split`: every staged file of each day not yet
//! marked `cback.split` that is larger than `size_limit` is cut into
//! `split_size` pieces named as GNU `split --numeric-suffixes
//! --suffix-length=5` names them for Cedar (`FILE_00000`, `FILE_00001`,
//! ...), given to the backup user; the original is removed; the day is
//! marked.
//!
//! Natively, in constant memory: one buffer streams the file into its
//! pieces, each written under a temporary name and moved into place when
//! full. A failure removes the pieces made and keeps the original.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::staged::{backup_files, daily_dirs, staging_dir};
use crate::actions::ActionContext;
use crate::config::SplitSettings;
use crate::engine::atomic::Partial;
use crate::engine::util::{change_ownership, write_indicator};

/// The indicator Cedar writes into a split day.
pub(crate) const SPLIT_INDICATOR: &str = "cback.split";

/// Five decimal digits of suffix: GNU split stops after 100000 pieces.
const MAX_PIECES: u64 = 100_000;

/// Bytes moved per read.
const BUFFER: usize = 1024 * 1024;

/// Runs the split action.
pub(crate) fn run(ctx: &ActionContext<'_>, s: &SplitSettings) -> anyhow::Result<()> {
    log::debug!("Executing split extended action.");
    let staging = staging_dir(ctx)?;
    // Cedar's `int(splitSize.bytes)`: "0.6KB" is 614 bytes.
    let piece = s.split_size.bytes() as u64;
    if piece == 0 {
        anyhow::bail!("<split>: split_size is less than one byte.");
    }
    let limit = s.size_limit.bytes();
    let ownership = ctx.ownership();
    for day in daily_dirs(staging, SPLIT_INDICATOR)? {
        log::debug!("Begin splitting contents of [{}].", day.display());
        for path in backup_files(&day)? {
            let size = std::fs::metadata(&path)
                .with_context(|| format!("reading {}", path.display()))?
                .len();
            if size as f64 > limit {
                split_file(&path, size, piece, ownership)?;
            }
        }
        log::debug!("Completed splitting contents of [{}].", day.display());
        write_indicator(&day, SPLIT_INDICATOR, ownership)?;
    }
    log::info!("Executed the split extended action successfully.");
    Ok(())
}

/// The name of piece `index` of `source`: `NAME_00000`.
pub(crate) fn piece_path(source: &Path, index: u64) -> PathBuf {
    let mut name = source.file_name().unwrap_or_default().to_os_string();
    name.push(format!("_{index:05}"));
    source.with_file_name(name)
}

/// Cuts `source` (`size` bytes) into pieces of `piece` bytes, then removes it.
fn split_file(
    source: &Path,
    size: u64,
    piece: u64,
    ownership: Option<(u32, u32)>,
) -> anyhow::Result<()> {
    let count = size.div_ceil(piece);
    if count > MAX_PIECES {
        anyhow::bail!(
            "Cannot split [{}] into {count} pieces of {piece} bytes: names end at _{:05}.",
            source.display(),
            MAX_PIECES - 1
        );
    }
    log::debug!(
        "Splitting [{}] into {count} pieces of {piece} bytes.",
        source.display()
    );
    let mut made = Vec::with_capacity(count as usize);
    let result = write_pieces(source, piece, &mut made);
    if let Err(e) = result {
        for path in &made {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    for path in &made {
        change_ownership(path, ownership);
    }
    std::fs::remove_file(source).with_context(|| {
        format!(
            "Failed to remove file [{}] after splitting it.",
            source.display()
        )
    })?;
    log::debug!("Completed removing old file [{}].", source.display());
    Ok(())
}

/// Streams `source` into its pieces, recording each one in place in `made`.
fn write_pieces(source: &Path, piece: u64, made: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut input = File::open(source).with_context(|| format!("opening {}", source.display()))?;
    let mut buf = vec![0u8; BUFFER];
    let mut index = 0;
    loop {
        let target = piece_path(source, index);
        let mut limited = (&mut input).take(piece);
        let n = read_full(&mut limited, &mut buf)
            .with_context(|| format!("reading {}", source.display()))?;
        if n == 0 {
            return Ok(());
        }
        let (partial, mut out) =
            Partial::create(&target).with_context(|| format!("creating {}", target.display()))?;
        let mut first = Some(n);
        let copied = (|| -> io::Result<()> {
            loop {
                let n = match first.take() {
                    Some(n) => n,
                    None => read_full(&mut limited, &mut buf)?,
                };
                if n == 0 {
                    return out.flush();
                }
                out.write_all(&buf[..n])?;
            }
        })();
        copied.with_context(|| format!("writing {}", target.display()))?;
        drop(out);
        partial
            .commit()
            .with_context(|| format!("finishing {}", target.display()))?;
        made.push(target);
        index += 1;
    }
}

/// Reads until `buf` is full or the input ends.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_concatenate_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("data.tar");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (size, piece, pieces) in [(10_000, 614, 17), (10_000, 1000, 10), (1, 614, 1)] {
            std::fs::write(&src, &data[..size]).unwrap();
            split_file(&src, size as u64, piece, None).unwrap();
            assert!(!src.exists());
            let mut joined = Vec::new();
            for i in 0..pieces {
                let p = piece_path(&src, i);
                let bytes = std::fs::read(&p).unwrap();
                assert!(bytes.len() as u64 <= piece);
                joined.extend(bytes);
                std::fs::remove_file(p).unwrap();
            }
            assert_eq!(joined, &data[..size]);
            assert!(!piece_path(&src, pieces).exists());
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
        assert_eq!(
            piece_path(Path::new("/s/a.tar.gz"), 12),
            Path::new("/s/a.tar.gz_00012")
        );
    }

    #[test]
    fn too_many_pieces_is_refused_and_the_file_kept() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f");
        std::fs::write(&src, vec![1u8; 100_001]).unwrap();
        assert!(split_file(&src, 100_001, 1, None).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
