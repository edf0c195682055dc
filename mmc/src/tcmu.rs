//! A Linux TCMU (target_core_user) command-ring handler that serves any
//! [`Transport`] — in practice the [`crate::Emulator`] — to the kernel, so that
//! with tcm_loop it appears as a real /dev/srN + /dev/sgN. Every CDB the
//! kernel's sr/sg drivers (or a program using SG_IO) send reaches the
//! transport; this is how the SG_IO path is tested without an optical drive.
//!
//! Layout facts from `<linux/target_core_user.h>` (mailbox version 2): the
//! region starts with `struct tcmu_mailbox`; commands are packed
//! `struct tcmu_cmd_entry` records in a ring at `cmdr_off`; data buffers are
//! `struct iovec`s whose bases are offsets from the region start.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

use crate::cdb::cdb_len;
use crate::transport::{DataPhase, Transport};

const OP_PAD: u32 = 0;
const OP_CMD: u32 = 1;
const OP_MASK: u32 = 0x7;
const UFLAG_UNKNOWN_OP: u8 = 0x1;
const UFLAG_READ_LEN: u8 = 0x2;
const FLAG_CAP_READ_LEN: u16 = 1 << 1;
const SENSE_BUFFERSIZE: usize = 96;

// Offsets inside the structures. The entry is packed, but its inner request
// struct is not, so cdb_off sits at its natural 8-byte alignment (24).
const MB_FLAGS: usize = 2;
const MB_CMDR_OFF: usize = 4;
const MB_CMDR_SIZE: usize = 8;
const MB_CMD_HEAD: usize = 12;
const MB_CMD_TAIL: usize = 64;
const E_UFLAGS: usize = 7;
const E_IOV_CNT: usize = 8;
const E_CDB_OFF: usize = 24;
const E_IOV: usize = 48;
const E_STATUS: usize = 8;
const E_READ_LEN: usize = 12;
const E_SENSE: usize = 16;

/// Opcodes whose data phase goes to the device; TCMU does not say which way
/// data flows, so the handler must know.
fn data_out(opcode: u8) -> bool {
    matches!(
        opcode,
        0x04 | 0x15 | 0x2A | 0x2E | 0x3B | 0x55 | 0xA2 | 0xB6 | 0xBF
    )
}

/// The mapped TCMU region.
struct Region {
    base: NonNull<u8>,
    len: usize,
}

impl Region {
    fn map(file: &File, len: usize) -> io::Result<Region> {
        if len == 0 {
            return Err(io::Error::other("TCMU region size is 0"));
        }
        // SAFETY: mapping a device region by fd; the mapping lives as long as
        // Region and is unmapped in Drop.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let p =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Region { base: p, len })
    }

    fn check(&self, off: usize, n: usize) -> io::Result<()> {
        if off.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(io::Error::other(format!(
                "TCMU offset {off}+{n} outside the {}-byte region",
                self.len
            )));
        }
        Ok(())
    }

    /// Reads `N` bytes one volatile byte at a time: the ring's records are
    /// packed, so wider fields may be unaligned.
    fn bytes<const N: usize>(&self, off: usize) -> io::Result<[u8; N]> {
        self.check(off, N)?;
        let mut out = [0u8; N];
        for (i, b) in out.iter_mut().enumerate() {
            // SAFETY: bounds checked; the kernel shares this memory.
            *b = unsafe { ptr::read_volatile(self.base.as_ptr().add(off + i)) };
        }
        Ok(out)
    }

    fn put(&self, off: usize, bytes: &[u8]) -> io::Result<()> {
        self.check(off, bytes.len())?;
        // SAFETY: bounds checked; the region is mapped writable and the
        // kernel reads it only after the tail moves (behind a fence).
        unsafe {
            ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.as_ptr().add(off), bytes.len())
        };
        Ok(())
    }

    fn u8(&self, off: usize) -> io::Result<u8> {
        Ok(self.bytes::<1>(off)?[0])
    }

    fn u16(&self, off: usize) -> io::Result<u16> {
        Ok(u16::from_ne_bytes(self.bytes(off)?))
    }

    fn u32(&self, off: usize) -> io::Result<u32> {
        Ok(u32::from_ne_bytes(self.bytes(off)?))
    }

    fn u64(&self, off: usize) -> io::Result<u64> {
        Ok(u64::from_ne_bytes(self.bytes(off)?))
    }

    /// Copies `n` bytes out of the region (command data, the CDB).
    fn get(&self, off: usize, n: usize) -> io::Result<Vec<u8>> {
        self.check(off, n)?;
        let mut out = vec![0u8; n];
        // SAFETY: bounds checked; the kernel does not touch a command's
        // buffers until it is completed.
        unsafe { ptr::copy_nonoverlapping(self.base.as_ptr().add(off), out.as_mut_ptr(), n) };
        Ok(out)
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: base/len are exactly what mmap returned.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// The mapped region size of a uio device, from sysfs (a hex number).
fn region_size(uio: &Path) -> io::Result<usize> {
    let name = uio
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other("bad uio device path"))?;
    let text = std::fs::read_to_string(format!("/sys/class/uio/{name}/maps/map0/size"))?;
    usize::from_str_radix(text.trim().trim_start_matches("0x"), 16)
        .map_err(|e| io::Error::other(format!("uio map size {text:?}: {e}")))
}

/// Serves commands from the uio device `uio` (e.g. /dev/uio0) to `target`
/// until the device goes away or `stop` returns true after a wake-up.
pub fn serve(uio: &Path, target: &mut dyn Transport, stop: &dyn Fn() -> bool) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).write(true).open(uio)?;
    let region = Region::map(&file, region_size(uio)?)?;
    let cmdr_off = region.u32(MB_CMDR_OFF)? as usize;
    let cmdr_size = region.u32(MB_CMDR_SIZE)? as usize;
    let read_len_ok = region.u16(MB_FLAGS)? & FLAG_CAP_READ_LEN != 0;
    log::debug!(
        "tcmu: {} ring at {cmdr_off} size {cmdr_size} (fd {})",
        uio.display(),
        file.as_raw_fd()
    );
    loop {
        let mut wake = [0u8; 4];
        file.read_exact(&mut wake)?;
        fence(Ordering::Acquire);
        let mut tail = region.u32(MB_CMD_TAIL)? as usize;
        loop {
            let head = region.u32(MB_CMD_HEAD)? as usize;
            if tail == head {
                break;
            }
            let entry = cmdr_off + tail;
            let len_op = region.u32(entry)?;
            let len = (len_op & !OP_MASK) as usize;
            if len == 0 {
                return Err(io::Error::other("TCMU ring entry of length 0"));
            }
            match len_op & OP_MASK {
                OP_PAD => {}
                OP_CMD => handle(&region, entry, target, read_len_ok)?,
                _ => {
                    let f = region.u8(entry + E_UFLAGS)?;
                    region.put(entry + E_UFLAGS, &[f | UFLAG_UNKNOWN_OP])?;
                }
            }
            tail = (tail + len) % cmdr_size;
            fence(Ordering::Release);
            region.put(MB_CMD_TAIL, &(tail as u32).to_ne_bytes())?;
        }
        file.write_all(&[0u8; 4])?;
        if stop() {
            return Ok(());
        }
    }
}

/// Runs one command entry and fills in its response.
fn handle(
    region: &Region,
    entry: usize,
    target: &mut dyn Transport,
    read_len_ok: bool,
) -> io::Result<()> {
    let iov_cnt = region.u32(entry + E_IOV_CNT)? as usize;
    let cdb_off = region.u64(entry + E_CDB_OFF)? as usize;
    let opcode = region.u8(cdb_off)?;
    let cdb = region.get(cdb_off, cdb_len(opcode))?;
    let mut iovs = Vec::with_capacity(iov_cnt);
    for i in 0..iov_cnt {
        let at = entry + E_IOV + 16 * i;
        iovs.push((region.u64(at)? as usize, region.u64(at + 8)? as usize));
    }
    let total: usize = iovs.iter().map(|&(_, n)| n).sum();
    let mut buf = vec![0u8; total];
    let out = data_out(opcode);
    if out {
        let mut at = 0;
        for &(base, n) in &iovs {
            buf[at..at + n].copy_from_slice(&region.get(base, n)?);
            at += n;
        }
    }
    let phase = match (total, out) {
        (0, _) => DataPhase::None,
        (_, true) => DataPhase::ToDevice(&buf),
        (_, false) => DataPhase::FromDevice(&mut buf),
    };
    let (status, sense, moved) = match target.execute(&cdb, phase, Duration::from_secs(30)) {
        Ok(done) => (done.status, done.sense, done.transferred),
        Err(e) => {
            log::warn!("tcmu: {e}");
            // A transport failure looks like a hardware error to the kernel.
            (2, Some(crate::Sense::new(4, 0x44, 0)), 0)
        }
    };
    if !out && moved > 0 {
        let mut at = 0;
        for &(base, n) in &iovs {
            let k = n.min(moved.saturating_sub(at));
            region.put(base, &buf[at..at + k])?;
            at += k;
        }
    }
    // The response overlays the request fields: write it only now.
    region.put(entry + E_STATUS, &[status])?;
    if let Some(s) = sense {
        let bytes = s.to_fixed();
        region.put(entry + E_SENSE, &bytes[..bytes.len().min(SENSE_BUFFERSIZE)])?;
    }
    if read_len_ok && !out {
        let f = region.u8(entry + E_UFLAGS)?;
        region.put(entry + E_UFLAGS, &[f | UFLAG_READ_LEN])?;
        region.put(entry + E_READ_LEN, &(moved as u32).to_ne_bytes())?;
    }
    Ok(())
}
