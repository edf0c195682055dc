//! The disc as the image reader sees it: an [`iso9660::SectorSource`] over
//! the blocks of the medium in a drive ([`mmc::BlockReader`]), so that
//! store can import the previous session straight from the disc and
//! check_data can read a written session back, without mounting anything.
//! The two library crates know nothing of each other (iso9660 nothing of
//! discs, mmc nothing of files); this is where they meet.
//!
//! A drive read error reaches the iso9660 reader as an `io::Error` wrapping
//! the [`mmc::ReadError`] (which names the block), so a caller can still get
//! at it with `get_ref().downcast_ref::<mmc::ReadError>()`.

use std::io;

use mmc::{BlockReader, Drive};

/// An [`iso9660::SectorSource`] reading the medium in a drive, with the
/// bounded read-ahead of [`mmc::BlockReader`].
#[derive(Debug)]
pub struct DiscSource<'d>(pub BlockReader<'d>);

impl<'d> DiscSource<'d> {
    /// Reads the medium in `drive` with the default read-ahead.
    pub fn new(drive: &'d mut Drive) -> Self {
        DiscSource(BlockReader::new(drive))
    }
}

impl iso9660::SectorSource for DiscSource<'_> {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.0.read_at(offset, buf).map_err(io::Error::other)
    }
}
