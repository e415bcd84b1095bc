//! Inode flags of tmpfs files (chattr/lsattr): FS_IOC_GETFLAGS/SETFLAGS and
//! FS_IOC_FSGETXATTR/FSSETXATTR with the bits shmem keeps (immutable, append-only,
//! nodump, noatime), and what immutable and append-only forbid.

use super::TmpInode;
use crate::task::{SysResult, Task};
use crate::vfs::{oflags, File};
use abi::Errno;

pub const FS_IOC_GETFLAGS: u32 = 0x8008_6601;
pub const FS_IOC_SETFLAGS: u32 = 0x4008_6602;
pub const FS_IOC_FSGETXATTR: u32 = 0x801c_581f;
pub const FS_IOC_FSSETXATTR: u32 = 0x401c_5820;

pub const FS_IMMUTABLE_FL: u32 = 0x10;
pub const FS_APPEND_FL: u32 = 0x20;
pub const FS_NODUMP_FL: u32 = 0x40;
pub const FS_NOATIME_FL: u32 = 0x80;
/// What chattr may change on tmpfs (Linux's SHMEM_FL_USER_MODIFIABLE).
const MODIFIABLE: u32 = FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | FS_NOATIME_FL;

const FS_XFLAG_IMMUTABLE: u32 = 0x8;
const FS_XFLAG_APPEND: u32 = 0x10;
const FS_XFLAG_NOATIME: u32 = 0x40;
const FS_XFLAG_NODUMP: u32 = 0x80;
const XMAP: [(u32, u32); 4] = [
    (FS_IMMUTABLE_FL, FS_XFLAG_IMMUTABLE),
    (FS_APPEND_FL, FS_XFLAG_APPEND),
    (FS_NOATIME_FL, FS_XFLAG_NOATIME),
    (FS_NODUMP_FL, FS_XFLAG_NODUMP),
];

const CAP_FOWNER: u32 = 3;
const CAP_LINUX_IMMUTABLE: u32 = 9;

impl TmpInode {
    pub fn iflags(&self) -> u32 {
        self.meta.lock().unwrap().iflags
    }

    /// EPERM when the inode is immutable or append-only (unlink, rename, link,
    /// attribute changes), as Linux's IS_IMMUTABLE/IS_APPEND checks.
    pub(super) fn check_not_fixed(&self) -> Result<(), Errno> {
        if self.iflags() & (FS_IMMUTABLE_FL | FS_APPEND_FL) != 0 {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    /// Open rules: no writing an immutable file, only appending to an append-only one.
    pub(super) fn check_open(&self, flags: u32) -> Result<(), Errno> {
        let fl = self.iflags();
        let write = matches!(flags & oflags::O_ACCMODE, oflags::O_WRONLY | oflags::O_RDWR)
            || flags & oflags::O_TRUNC != 0;
        if write && fl & FS_IMMUTABLE_FL != 0 {
            return Err(Errno::EPERM);
        }
        if write
            && fl & FS_APPEND_FL != 0
            && (flags & oflags::O_APPEND == 0 || flags & oflags::O_TRUNC != 0)
        {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    fn set_iflags(&self, t: &Task, f: &File, new: u32) -> Result<(), Errno> {
        let c = t.creds();
        let st = crate::vfs::Inode::stat(self)?;
        if c.fsuid != st.uid && !c.has_cap(CAP_FOWNER) {
            return Err(Errno::EPERM);
        }
        if f.loc.mnt.readonly() {
            return Err(Errno::EROFS);
        }
        let mut m = self.meta.lock().unwrap();
        if (new ^ m.iflags) & (FS_IMMUTABLE_FL | FS_APPEND_FL) != 0
            && !c.has_cap(CAP_LINUX_IMMUTABLE)
        {
            return Err(Errno::EPERM);
        }
        if new & !MODIFIABLE != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        m.iflags = new;
        m.ctime = crate::vfs::now();
        Ok(())
    }

    /// The inode-flag ioctls; None for other requests.
    pub(super) fn flags_ioctl(&self, t: &Task, f: &File, cmd: u32, arg: u64) -> Option<SysResult> {
        Some((|| match cmd {
            FS_IOC_GETFLAGS => {
                t.write_val(arg, &(self.iflags() as i32))?;
                Ok(0)
            }
            FS_IOC_SETFLAGS => {
                let v: i32 = t.read_val(arg)?;
                self.set_iflags(t, f, v as u32)?;
                Ok(0)
            }
            FS_IOC_FSGETXATTR => {
                let fl = self.iflags();
                let x = XMAP
                    .iter()
                    .filter(|(a, _)| fl & a != 0)
                    .fold(0u32, |acc, (_, b)| acc | b);
                let mut buf = [0u8; 28];
                buf[..4].copy_from_slice(&x.to_le_bytes());
                t.write_mem(arg, &buf)?;
                Ok(0)
            }
            FS_IOC_FSSETXATTR => {
                let mut buf = [0u8; 28];
                t.read_mem(arg, &mut buf)?;
                let x = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
                let known = XMAP.iter().fold(0u32, |acc, (_, b)| acc | b);
                if x & !known != 0 {
                    return Err(Errno::EOPNOTSUPP);
                }
                let fl = XMAP
                    .iter()
                    .filter(|(_, b)| x & b != 0)
                    .fold(0u32, |acc, (a, _)| acc | a);
                self.set_iflags(t, f, fl)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        })())
        .filter(|_| {
            matches!(
                cmd,
                FS_IOC_GETFLAGS | FS_IOC_SETFLAGS | FS_IOC_FSGETXATTR | FS_IOC_FSSETXATTR
            )
        })
    }
}
