//! The Linux SG_IO transport for /dev/srN and /dev/sgN.
//!
//! Opening refuses devices that are mounted, takes the drive exclusively
//! (O_EXCL plus an fcntl write lock, as libburn does), and checks with INQUIRY
//! that it is an MMC device. Transfers use page-aligned buffers of at most
//! 64 KiB (less when the kernel's BLKSECTGET says so).

use std::alloc::{self, Layout};
use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cdb::spc::{Inquiry, InquiryData, PERIPHERAL_MMC};
use crate::cdb::{opcode_name, query};
use crate::error::{Error, Result};
use crate::sense::Sense;
use crate::transport::{hex, Completion, DataPhase, Transport, DEFAULT_TIMEOUT};

/// `struct sg_io_hdr` from `<scsi/sg.h>` (libc does not define it).
#[repr(C)]
#[derive(Debug)]
pub struct SgIoHdr {
    /// Always 'S'.
    pub interface_id: libc::c_int,
    /// SG_DXFER_NONE / TO_DEV / FROM_DEV.
    pub dxfer_direction: libc::c_int,
    /// CDB length.
    pub cmd_len: libc::c_uchar,
    /// Sense buffer size.
    pub mx_sb_len: libc::c_uchar,
    /// 0: dxferp is a plain buffer.
    pub iovec_count: libc::c_ushort,
    /// Data length in bytes.
    pub dxfer_len: libc::c_uint,
    /// Data buffer.
    pub dxferp: *mut c_void,
    /// CDB.
    pub cmdp: *mut libc::c_uchar,
    /// Sense buffer.
    pub sbp: *mut libc::c_uchar,
    /// Timeout in milliseconds.
    pub timeout: libc::c_uint,
    /// SG_FLAG_* bits.
    pub flags: libc::c_uint,
    /// Unused here.
    pub pack_id: libc::c_int,
    /// Unused here.
    pub usr_ptr: *mut c_void,
    /// SCSI status.
    pub status: libc::c_uchar,
    /// Shifted status (obsolete).
    pub masked_status: libc::c_uchar,
    /// Messaging status.
    pub msg_status: libc::c_uchar,
    /// Sense bytes written.
    pub sb_len_wr: libc::c_uchar,
    /// Host adapter status.
    pub host_status: libc::c_ushort,
    /// Driver status.
    pub driver_status: libc::c_ushort,
    /// Bytes not transferred.
    pub resid: libc::c_int,
    /// Milliseconds the command took.
    pub duration: libc::c_uint,
    /// SG_INFO_* bits.
    pub info: libc::c_uint,
}

const SG_DXFER_NONE: libc::c_int = -1;
const SG_DXFER_TO_DEV: libc::c_int = -2;
const SG_DXFER_FROM_DEV: libc::c_int = -3;
const SG_INFO_OK_MASK: libc::c_uint = 0x1;
const SG_INFO_OK: libc::c_uint = 0x0;
const SENSE_LEN: usize = 64;
/// Largest transfer that works on every kernel and bridge.
const SAFE_TRANSFER: usize = 64 * 1024;
const PAGE: usize = 4096;

nix::ioctl_readwrite_bad!(sg_io, 0x2285, SgIoHdr);
nix::ioctl_read_bad!(sg_get_version_num, 0x2282, libc::c_int);
nix::ioctl_read_bad!(blk_sect_get, 0x1267, libc::c_uint);

/// A zeroed, page-aligned byte buffer: some host adapters need aligned DMA.
struct AlignedBuf {
    ptr: *mut u8,
    len: usize,
}

impl AlignedBuf {
    fn new(len: usize) -> AlignedBuf {
        if len == 0 {
            return AlignedBuf {
                ptr: std::ptr::null_mut(),
                len,
            };
        }
        let layout = Layout::from_size_align(len, PAGE).unwrap_or(Layout::new::<u8>());
        // SAFETY: layout has non-zero size; a null return is handled below.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            alloc::handle_alloc_error(layout);
        }
        AlignedBuf { ptr, len }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: ptr points to len initialised (zeroed) bytes owned by self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.len > 0 {
            if let Ok(layout) = Layout::from_size_align(self.len, PAGE) {
                // SAFETY: allocated in new() with this very layout.
                unsafe { alloc::dealloc(self.ptr, layout) };
            }
        }
    }
}

/// An MMC drive reached through SG_IO.
#[derive(Debug)]
pub struct SgIo {
    file: File,
    name: String,
    max_transfer: usize,
}

/// Canonical paths of everything mounted from a block device, with its rdev,
/// from the text of /proc/mounts.
fn mounted_devices(text: &str) -> Vec<(PathBuf, u64)> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|src| src.starts_with('/'))
        .filter_map(|src| {
            let md = std::fs::metadata(src).ok()?;
            md.file_type().is_block_device().then(|| {
                (
                    std::fs::canonicalize(src).unwrap_or_else(|_| src.into()),
                    md.rdev(),
                )
            })
        })
        .collect()
}

/// The block device (srN) behind an sg character device, if any.
fn sg_block_sibling(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let dir = format!("/sys/class/scsi_generic/{name}/device/block");
    let entry = std::fs::read_dir(dir).ok()?.next()?.ok()?;
    Some(PathBuf::from("/dev").join(entry.file_name()))
}

/// Fails when `path` (or the sr device behind an sg device) is listed in
/// `mounts` (the text of /proc/mounts).
fn refuse_mounted(mounts: &str, device: &str, path: &Path, rdev: u64, is_char: bool) -> Result<()> {
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let sibling = if is_char {
        sg_block_sibling(path)
    } else {
        None
    };
    let sibling_rdev = sibling
        .as_ref()
        .and_then(|s| std::fs::metadata(s).ok())
        .map(|m| m.rdev());
    for (src, dev) in mounted_devices(mounts) {
        let hit = src == canon || (!is_char && dev == rdev) || Some(dev) == sibling_rdev;
        if hit {
            return Err(Error::Open {
                device: device.to_string(),
                reason: format!(
                    "it is mounted ({} appears in /proc/mounts); unmount it first",
                    src.display()
                ),
            });
        }
    }
    Ok(())
}

impl SgIo {
    /// Opens a drive for exclusive use and checks it is an MMC device.
    pub fn open(path: &Path) -> Result<SgIo> {
        let device = path.display().to_string();
        let fail = |reason: String| Error::Open {
            device: device.clone(),
            reason,
        };
        let md = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        let ft = md.file_type();
        if ft.is_dir() {
            return Err(fail("is a directory, not a drive".into()));
        }
        if ft.is_file() {
            return Err(fail(
                "is a regular file, not a drive (for an image file use emulated:PATH?profile=NAME)"
                    .into(),
            ));
        }
        if !ft.is_block_device() && !ft.is_char_device() {
            return Err(fail("is not a device node".into()));
        }
        // Without /proc/mounts there is nothing to compare against.
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
        refuse_mounted(&mounts, &device, path, md.rdev(), ft.is_char_device())?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_EXCL)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::EBUSY) => fail("the drive is busy (in use or mounted elsewhere)".into()),
                Some(libc::ENOMEDIUM) => fail("no medium".into()),
                _ => fail(e.to_string()),
            })?;
        lock(&file).map_err(fail)?;
        let fd = file.as_raw_fd();
        let mut version: libc::c_int = 0;
        // SAFETY: fd is open for the lifetime of `file`; version is a valid out pointer.
        if unsafe { sg_get_version_num(fd, &mut version) }.is_err() {
            return Err(fail(
                "does not accept SG_IO (not a SCSI/ATAPI drive)".into(),
            ));
        }
        let max_transfer = max_transfer(fd, ft.is_block_device());
        let mut drive = SgIo {
            file,
            name: device.clone(),
            max_transfer,
        };
        let inq: InquiryData = query(&mut drive, &Inquiry::standard(36), 36, DEFAULT_TIMEOUT)
            .map_err(|e| fail(format!("INQUIRY failed: {e}")))?;
        if inq.peripheral_type != PERIPHERAL_MMC {
            return Err(fail(format!(
                "is not a CD/DVD/BD drive (peripheral device type {:#04x}, {} {})",
                inq.peripheral_type, inq.vendor, inq.product
            )));
        }
        Ok(drive)
    }
}

/// Takes the fcntl write lock other burning programs look for.
fn lock(file: &File) -> std::result::Result<(), String> {
    let fl = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    nix::fcntl::fcntl(file.as_raw_fd(), nix::fcntl::FcntlArg::F_SETLK(&fl))
        .map(|_| ())
        .map_err(|e| format!("another program holds a lock on the drive ({e})"))
}

/// The transfer limit: 64 KiB, or less if BLKSECTGET says so. sr reports
/// 512-byte sectors, sg reports bytes.
fn max_transfer(fd: libc::c_int, block: bool) -> usize {
    let mut v: libc::c_uint = 0;
    // SAFETY: fd is valid; v is a valid out pointer at least as large as what
    // either driver writes (u16 for sr, int for sg).
    let limit = match unsafe { blk_sect_get(fd, &mut v) } {
        Ok(_) if block => (v & 0xFFFF) as usize * 512,
        Ok(_) => v as usize,
        Err(_) => SAFE_TRANSFER,
    };
    let limit = if limit == 0 {
        SAFE_TRANSFER
    } else {
        limit.min(SAFE_TRANSFER)
    };
    // Whole 2048-byte blocks only.
    (limit / 2048).max(1) * 2048
}

impl Transport for SgIo {
    fn execute(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<Completion> {
        let command = cdb.first().map_or("empty CDB", |&op| opcode_name(op));
        let transport_err = |detail: String| Error::Transport {
            device: self.name.clone(),
            command,
            detail,
        };
        if cdb.is_empty() || cdb.len() > 16 {
            return Err(transport_err(format!("CDB of {} bytes", cdb.len())));
        }
        if data.len() > self.max_transfer {
            return Err(transport_err(format!(
                "transfer of {} bytes exceeds the {}-byte limit",
                data.len(),
                self.max_transfer
            )));
        }
        log::debug!(
            "{}: CDB {} ({command}) data {}",
            self.name,
            hex(cdb),
            data.len()
        );
        let mut cmd = [0u8; 16];
        cmd[..cdb.len()].copy_from_slice(cdb);
        let mut sense = [0u8; SENSE_LEN];
        let mut buf = AlignedBuf::new(data.len());
        let direction = match &data {
            DataPhase::None => SG_DXFER_NONE,
            DataPhase::ToDevice(b) => {
                buf.as_mut_slice().copy_from_slice(b);
                SG_DXFER_TO_DEV
            }
            DataPhase::FromDevice(_) => SG_DXFER_FROM_DEV,
        };
        let mut hdr = SgIoHdr {
            interface_id: b'S' as libc::c_int,
            dxfer_direction: direction,
            cmd_len: cdb.len() as u8,
            mx_sb_len: SENSE_LEN as u8,
            iovec_count: 0,
            dxfer_len: data.len() as libc::c_uint,
            dxferp: buf.as_mut_slice().as_mut_ptr().cast(),
            cmdp: cmd.as_mut_ptr(),
            sbp: sense.as_mut_ptr(),
            timeout: u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX),
            flags: 0,
            pack_id: 0,
            usr_ptr: std::ptr::null_mut(),
            status: 0,
            masked_status: 0,
            msg_status: 0,
            sb_len_wr: 0,
            host_status: 0,
            driver_status: 0,
            resid: 0,
            duration: 0,
            info: 0,
        };
        // SAFETY: every pointer in hdr refers to a live buffer of the stated
        // length that outlives the call.
        unsafe { sg_io(self.file.as_raw_fd(), &mut hdr) }
            .map_err(|e| transport_err(format!("SG_IO ioctl failed: {e}")))?;
        let transferred = data.len().saturating_sub(hdr.resid.max(0) as usize);
        if let DataPhase::FromDevice(out) = data {
            let n = transferred.min(out.len());
            out[..n].copy_from_slice(&buf.as_mut_slice()[..n]);
        }
        if hdr.info & SG_INFO_OK_MASK == SG_INFO_OK {
            return Ok(Completion::good(transferred));
        }
        let sense_bytes = &sense[..usize::from(hdr.sb_len_wr).min(SENSE_LEN)];
        if !sense_bytes.is_empty() {
            log::debug!("{}: {command} sense {}", self.name, hex(sense_bytes));
        }
        let decoded = Sense::parse(sense_bytes).ok();
        if let Some(s) = decoded {
            log::debug!("{}: {command} -> {s}", self.name);
        }
        if hdr.status == 0 && decoded.is_none() && (hdr.host_status != 0 || hdr.driver_status != 0)
        {
            return Err(transport_err(format!(
                "host status {:#06x}, driver status {:#06x}",
                hdr.host_status, hdr.driver_status
            )));
        }
        Ok(Completion {
            status: if hdr.status == 0 { 0x02 } else { hdr.status },
            sense: decoded,
            transferred,
        })
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn max_transfer(&self) -> usize {
        self.max_transfer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn sg_io_hdr_has_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<SgIoHdr>(), 88);
        assert_eq!(std::mem::offset_of!(SgIoHdr, dxferp), 16);
        assert_eq!(std::mem::offset_of!(SgIoHdr, timeout), 40);
        assert_eq!(std::mem::offset_of!(SgIoHdr, status), 64);
        assert_eq!(std::mem::offset_of!(SgIoHdr, resid), 72);
        assert_eq!(std::mem::offset_of!(SgIoHdr, info), 80);
    }

    /// Any block device node on this machine, for the mount check.
    fn some_block_device() -> Option<PathBuf> {
        std::fs::read_dir("/dev")
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_block_device()))
    }

    #[test]
    fn a_device_listed_in_proc_mounts_is_refused() {
        let Some(dev) = some_block_device() else {
            eprintln!("no block device node here: mount check not exercised");
            return;
        };
        let rdev = std::fs::metadata(&dev).unwrap().rdev();
        let name = dev.display().to_string();
        let mounts = format!("{name} /media/cdrom iso9660 ro 0 0\nproc /proc proc rw 0 0\n");
        let e = refuse_mounted(&mounts, &name, &dev, rdev, false).unwrap_err();
        assert!(e.to_string().contains("is mounted"), "{e}");
        assert!(e.to_string().contains("/proc/mounts"), "{e}");
        refuse_mounted("proc /proc proc rw 0 0\n", &name, &dev, rdev, false).unwrap();
        // The same device under another name (same rdev) is caught too.
        let link = std::env::temp_dir().join(format!("mmc-test-link-{}", std::process::id()));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&dev, &link).unwrap();
        let via_link = format!("{} /mnt iso9660 ro 0 0\n", link.display());
        let r = refuse_mounted(&via_link, &name, &dev, rdev, false);
        std::fs::remove_file(&link).unwrap();
        assert!(r.is_err());
    }

    #[test]
    fn aligned_buffers_are_page_aligned_and_zeroed() {
        let mut b = AlignedBuf::new(65536);
        assert_eq!(b.as_mut_slice().as_ptr() as usize % PAGE, 0);
        assert!(b.as_mut_slice().iter().all(|&x| x == 0));
        assert!(AlignedBuf::new(0).as_mut_slice().is_empty());
    }
}
