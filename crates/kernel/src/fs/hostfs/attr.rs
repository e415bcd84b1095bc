//! Extended attributes and inode flags of host files, read from (and on writable
//! mounts, written to) the host: the sandbox's xattr calls and chattr/lsattr reach host
//! files through these. Attributes are read through an fd of the file itself (regular
//! files and directories only: opening a device or FIFO could have effects).

use super::HostInode;
use crate::task::{SysResult, Task};
use crate::vfs::{mode, File, Inode};
use abi::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

fn errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

fn cname(name: &[u8]) -> Result<CString, Errno> {
    CString::new(name).map_err(|_| Errno::EINVAL)
}

impl HostInode {
    /// An fd to reach the attributes through; None for files that are neither regular
    /// files nor directories.
    fn attr_fd(&self) -> Option<Result<OwnedFd, Errno>> {
        let m = self.mode();
        if !mode::is_reg(m) && !mode::is_dir(m) {
            return None;
        }
        Some(self.reopen(libc::O_RDONLY | libc::O_NONBLOCK))
    }

    pub(super) fn host_getxattr(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        let fd = self.attr_fd().ok_or(Errno::ENODATA)??;
        let c = cname(name)?;
        let mut buf = vec![0u8; 65536];
        // SAFETY: valid fd, C string and buffer.
        let n = unsafe {
            libc::fgetxattr(
                fd.as_raw_fd(),
                c.as_ptr(),
                buf.as_mut_ptr() as *mut _,
                buf.len(),
            )
        };
        if n < 0 {
            return Err(errno());
        }
        buf.truncate(n as usize);
        Ok(buf)
    }

    pub(super) fn host_listxattr(&self) -> Vec<Vec<u8>> {
        let Some(Ok(fd)) = self.attr_fd() else {
            return Vec::new();
        };
        let mut buf = vec![0u8; 65536];
        // SAFETY: valid fd and buffer.
        let n = unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr() as *mut _, buf.len()) };
        if n <= 0 {
            return Vec::new();
        }
        buf[..n as usize]
            .split(|&b| b == 0)
            .filter(|x| !x.is_empty())
            .map(|x| x.to_vec())
            .collect()
    }

    pub(super) fn host_setxattr(
        &self,
        name: &[u8],
        value: Option<&[u8]>,
        flags: u32,
    ) -> Result<(), Errno> {
        if !self.sh.writable {
            return Err(Errno::EROFS);
        }
        let fd = self.attr_fd().ok_or(Errno::EPERM)??;
        let c = cname(name)?;
        // SAFETY: valid fd, C string and buffer.
        let r = unsafe {
            match value {
                Some(v) => libc::fsetxattr(
                    fd.as_raw_fd(),
                    c.as_ptr(),
                    v.as_ptr() as *const _,
                    v.len(),
                    flags as i32,
                ),
                None => libc::fremovexattr(fd.as_raw_fd(), c.as_ptr()),
            }
        };
        if r < 0 {
            return Err(errno());
        }
        Ok(())
    }
}

/// FS_IOC_GETFLAGS / FS_IOC_FSGETXATTR on a host file (lsattr) read the host's flags;
/// setting them reaches the host on writable mounts (EROFS otherwise); other requests
/// are ENOTTY.
pub(super) fn flags_ioctl(fd: RawFd, t: &Task, f: &File, cmd: u32, arg: u64) -> SysResult {
    const FS_IOC_GETFLAGS: u32 = 0x8008_6601;
    const FS_IOC_SETFLAGS: u32 = 0x4008_6602;
    const FS_IOC_FSGETXATTR: u32 = 0x801c_581f;
    const FS_IOC_FSSETXATTR: u32 = 0x401c_5820;
    let len = match cmd {
        FS_IOC_GETFLAGS | FS_IOC_SETFLAGS => 4,
        FS_IOC_FSGETXATTR | FS_IOC_FSSETXATTR => 28,
        _ => return Err(Errno::ENOTTY),
    };
    let mut buf = [0u8; 28];
    let set = matches!(cmd, FS_IOC_SETFLAGS | FS_IOC_FSSETXATTR);
    if set {
        if f.loc.mnt.readonly() {
            return Err(Errno::EROFS);
        }
        t.read_mem(arg, &mut buf[..len])?;
    }
    // SAFETY: every request here reads or writes at most 28 bytes of the buffer.
    if unsafe { libc::ioctl(fd, cmd as _, buf.as_mut_ptr()) } < 0 {
        return Err(errno());
    }
    if !set {
        t.write_mem(arg, &buf[..len])?;
    }
    Ok(0)
}
