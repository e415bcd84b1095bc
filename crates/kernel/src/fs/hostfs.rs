//! The host's file system, read-only. The kernel opens host files itself beneath a root
//! fd, one component at a time (openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
//! RESOLVE_NO_SYMLINKS, or O_NOFOLLOW), so no host symlink or `..` is ever resolved by
//! the host: symlinks are read and followed by moat's own walker. Directories keep an
//! O_PATH fd; other files are reopened from their parent's fd by name when opened.

use super::pagecache;
use crate::mm::{MemObject, VmaName};
use crate::task::Task;
use crate::vfs::{
    mode, Ctx, DirEnt, File, FileOps, FileSystem, Inode, Loc, SetAttr, Stat, StatFs, Timespec,
};
use abi::Errno;
use std::any::Any;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

fn errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Opens the single component `name` beneath directory `dir` without following any
/// symlink or leaving `dir`.
fn open_beneath(dir: RawFd, name: &[u8], flags: i32) -> Result<OwnedFd, Errno> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
    {
        return Err(Errno::ENOENT);
    }
    let c = CString::new(name).map_err(|_| Errno::ENOENT)?;
    let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    loop {
        let fd = if !NO_OPENAT2.load(Ordering::Relaxed) {
            let how = OpenHow {
                flags: flags as u64,
                mode: 0,
                resolve: 0x08 | 0x02 | 0x04, // BENEATH | NO_MAGICLINKS | NO_SYMLINKS
            };
            // SAFETY: valid C string and open_how struct.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    dir,
                    c.as_ptr(),
                    &how as *const OpenHow,
                    std::mem::size_of::<OpenHow>(),
                )
            };
            if r < 0 && errno() == Errno::ENOSYS {
                NO_OPENAT2.store(true, Ordering::Relaxed);
                continue;
            }
            r as i32
        } else {
            // SAFETY: valid C string.
            unsafe { libc::openat(dir, c.as_ptr(), flags) }
        };
        if fd < 0 {
            let e = errno();
            if e == Errno::EINTR || e == Errno::EAGAIN {
                continue;
            }
            // A symlink hit with O_NOFOLLOW|O_PATH is not an error (O_PATH opens it);
            // RESOLVE_NO_SYMLINKS reports ELOOP for the last component only without O_PATH.
            return Err(e);
        }
        // SAFETY: a fresh fd we own.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

fn ts(sec: i64, nsec: i64) -> Timespec {
    Timespec { sec, nsec }
}

fn fstat(fd: RawFd) -> Result<Stat, Errno> {
    // SAFETY: zeroed plain struct filled by the host.
    let mut s: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and out pointer.
    if unsafe { libc::fstat(fd, &mut s) } < 0 {
        return Err(errno());
    }
    Ok(Stat {
        dev: s.st_dev,
        ino: s.st_ino,
        mode: s.st_mode,
        nlink: s.st_nlink,
        uid: s.st_uid,
        gid: s.st_gid,
        rdev: s.st_rdev,
        size: s.st_size.max(0) as u64,
        blksize: s.st_blksize.max(0) as u64,
        blocks: s.st_blocks.max(0) as u64,
        atime: ts(s.st_atime, s.st_atime_nsec),
        mtime: ts(s.st_mtime, s.st_mtime_nsec),
        ctime: ts(s.st_ctime, s.st_ctime_nsec),
        btime: None,
    })
}

pub struct HostFs {
    dev: u64,
    statfs: StatFs,
}

impl FileSystem for HostFs {
    fn name(&self) -> &str {
        "hostfs"
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn statfs(&self) -> StatFs {
        self.statfs.clone()
    }
}

/// Opens the host directory `path` as a read-only file system: its fs and root inode.
pub fn mount(path: &str) -> Result<(Arc<HostFs>, Arc<HostInode>), Errno> {
    let c = CString::new(path).map_err(|_| Errno::EINVAL)?;
    // SAFETY: valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: fresh fd.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let st = fstat(fd.as_raw_fd())?;
    // SAFETY: zeroed plain struct filled by the host.
    let mut sf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and out pointer.
    unsafe { libc::fstatfs(fd.as_raw_fd(), &mut sf) };
    let statfs = StatFs {
        fs_type: sf.f_type as u64,
        bsize: sf.f_bsize as u64,
        blocks: sf.f_blocks,
        bfree: sf.f_bfree,
        bavail: sf.f_bavail,
        files: sf.f_files,
        ffree: sf.f_ffree,
        fsid: st.dev,
        namelen: sf.f_namelen as u64,
        frsize: sf.f_frsize as u64,
        flags: 1 | 0x400, // ST_RDONLY (the sandbox sees it read-only) | ST_RELATIME
    };
    let fs = Arc::new(HostFs {
        dev: st.dev,
        statfs,
    });
    if !mode::is_dir(st.mode) {
        // A single file (a bind mount of a file): it is reopened beneath its directory.
        let p = std::path::Path::new(path);
        let (Some(dir), Some(name)) = (p.parent(), p.file_name()) else {
            return Err(Errno::EINVAL);
        };
        let (_, parent) = mount(&dir.to_string_lossy())?;
        let name = name.as_encoded_bytes().to_vec();
        let f = HostInode::new(Some(parent), name, None, st);
        // The file must still be the one first opened.
        drop(f.reopen(libc::O_PATH)?);
        return Ok((fs, f));
    }
    let root = HostInode::new(None, Vec::new(), Some(fd), st);
    Ok((fs, root))
}

pub struct HostInode {
    me: std::sync::Weak<HostInode>,
    parent: Option<Arc<HostInode>>,
    name: Vec<u8>,
    /// O_PATH fd of a directory (None for other files).
    fd: Option<OwnedFd>,
    st: Stat,
}

impl HostInode {
    fn new(
        parent: Option<Arc<HostInode>>,
        name: Vec<u8>,
        fd: Option<OwnedFd>,
        st: Stat,
    ) -> Arc<HostInode> {
        Arc::new_cyclic(|me| HostInode {
            me: me.clone(),
            parent,
            name,
            fd,
            st,
        })
    }

    fn dirfd(&self) -> Result<RawFd, Errno> {
        self.fd
            .as_ref()
            .map(|f| f.as_raw_fd())
            .ok_or(Errno::ENOTDIR)
    }

    /// Opens this file on the host with `flags` (read-only access), checking that it is
    /// still the file that was looked up.
    fn reopen(&self, flags: i32) -> Result<OwnedFd, Errno> {
        let fd = match (&self.fd, &self.parent) {
            (Some(d), _) if mode::is_dir(self.st.mode) => {
                // SAFETY: valid fd and C string.
                let r = unsafe {
                    libc::openat(
                        d.as_raw_fd(),
                        c".".as_ptr(),
                        flags | libc::O_CLOEXEC | libc::O_DIRECTORY,
                    )
                };
                if r < 0 {
                    return Err(errno());
                }
                // SAFETY: fresh fd.
                unsafe { OwnedFd::from_raw_fd(r) }
            }
            (_, Some(p)) => open_beneath(p.dirfd()?, &self.name, flags)?,
            _ => return Err(Errno::ENOENT),
        };
        let st = fstat(fd.as_raw_fd())?;
        if st.dev != self.st.dev || st.ino != self.st.ino {
            return Err(Errno::ESTALE);
        }
        Ok(fd)
    }
}

impl HostInode {
    /// A host fd to read extended attributes through (None for files that cannot have
    /// user ones: opening devices or FIFOs could have effects).
    fn xattr_fd(&self) -> Option<Result<OwnedFd, Errno>> {
        let m = self.st.mode;
        if !mode::is_reg(m) && !mode::is_dir(m) {
            return None;
        }
        Some(self.reopen(libc::O_RDONLY | libc::O_NONBLOCK))
    }
}

impl Inode for HostInode {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.st.clone())
    }

    fn mode(&self) -> u32 {
        self.st.mode
    }

    fn lookup(&self, _ctx: &Ctx, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let dir = self.dirfd()?;
        let fd = open_beneath(dir, name, libc::O_PATH)?;
        let st = fstat(fd.as_raw_fd())?;
        let keep = if mode::is_dir(st.mode) {
            Some(fd)
        } else {
            None
        };
        let parent = self.me.upgrade().ok_or(Errno::ENOENT)?;
        Ok(HostInode::new(Some(parent), name.to_vec(), keep, st))
    }

    fn readlink(&self, _ctx: &Ctx) -> Result<Vec<u8>, Errno> {
        if !mode::is_lnk(self.st.mode) {
            return Err(Errno::EINVAL);
        }
        let p = self.parent.as_ref().ok_or(Errno::EINVAL)?;
        let c = CString::new(self.name.clone()).map_err(|_| Errno::ENOENT)?;
        let mut buf = vec![0u8; 4096];
        // SAFETY: valid fd, C string and buffer.
        let n = unsafe {
            libc::readlinkat(
                p.dirfd()?,
                c.as_ptr(),
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
            )
        };
        if n < 0 {
            return Err(errno());
        }
        buf.truncate(n as usize);
        Ok(buf)
    }

    fn open(
        self: Arc<Self>,
        _ctx: &Ctx,
        _loc: &Loc,
        _flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        match self.st.mode & mode::S_IFMT {
            mode::S_IFREG => {
                let fd = self.reopen(libc::O_RDONLY)?;
                Ok(Box::new(HostFileOps {
                    fd,
                    inode: self.clone(),
                }))
            }
            mode::S_IFDIR => {
                let fd = self.reopen(libc::O_RDONLY)?;
                Ok(Box::new(HostDirOps { fd: Mutex::new(fd) }))
            }
            mode::S_IFLNK => Err(Errno::ELOOP),
            // Host device nodes, FIFOs and sockets are not reachable from the sandbox.
            _ => Err(Errno::ENXIO),
        }
    }

    fn create(&self, _: &Ctx, _: &[u8], _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EROFS)
    }
    fn mkdir(&self, _: &Ctx, _: &[u8], _: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EROFS)
    }
    fn mknod(&self, _: &Ctx, _: &[u8], _: u32, _: u64) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EROFS)
    }
    fn symlink(&self, _: &Ctx, _: &[u8], _: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EROFS)
    }
    fn link(&self, _: &Ctx, _: &[u8], _: &Arc<dyn Inode>) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn unlink(&self, _: &Ctx, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn rmdir(&self, _: &Ctx, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn rename(&self, _: &Ctx, _: &[u8], _: &Arc<dyn Inode>, _: &[u8], _: u32) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    fn tmpfile(&self, _: &Ctx, _: u32, _: bool) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EROFS)
    }
    fn setattr(&self, _: &Ctx, _: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
    /// Read from the host file (regular files and directories; others have none).
    fn getxattr(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        let fd = self.xattr_fd().ok_or(Errno::ENODATA)??;
        let c = CString::new(name).map_err(|_| Errno::EINVAL)?;
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

    fn listxattr(&self) -> Vec<Vec<u8>> {
        let Some(Ok(fd)) = self.xattr_fd() else {
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

    fn fallocate(&self, _: u32, _: u64, _: u64) -> Result<(), Errno> {
        Err(Errno::EROFS)
    }
}

/// An open host regular file.
struct HostFileOps {
    fd: OwnedFd,
    inode: Arc<HostInode>,
}

/// FS_IOC_GETFLAGS / FS_IOC_FSGETXATTR on a host file (lsattr): read from the host;
/// setting them is EROFS (the host tree is read-only to the sandbox); others ENOTTY.
fn flags_ioctl(fd: RawFd, t: &Task, f: &File, cmd: u32, arg: u64) -> crate::task::SysResult {
    const FS_IOC_GETFLAGS: u32 = 0x8008_6601;
    const FS_IOC_SETFLAGS: u32 = 0x4008_6602;
    const FS_IOC_FSGETXATTR: u32 = 0x801c_581f;
    const FS_IOC_FSSETXATTR: u32 = 0x401c_5820;
    match cmd {
        FS_IOC_GETFLAGS | FS_IOC_FSGETXATTR => {
            let mut buf = [0u8; 28];
            // SAFETY: both requests write at most 28 bytes into the buffer.
            if unsafe { libc::ioctl(fd, cmd as _, buf.as_mut_ptr()) } < 0 {
                return Err(errno());
            }
            let n = if cmd == FS_IOC_GETFLAGS { 4 } else { 28 };
            t.write_mem(arg, &buf[..n])?;
            Ok(0)
        }
        FS_IOC_SETFLAGS | FS_IOC_FSSETXATTR if f.loc.mnt.readonly() => Err(Errno::EROFS),
        _ => Err(Errno::ENOTTY),
    }
}

impl FileOps for HostFileOps {
    fn ioctl(&self, t: &Task, f: &File, cmd: u32, arg: u64) -> crate::task::SysResult {
        flags_ioctl(self.fd.as_raw_fd(), t, f, cmd, arg)
    }

    fn read(&self, _t: &Task, _f: &File, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if off > i64::MAX as u64 {
            return Ok(0);
        }
        loop {
            // SAFETY: valid fd and buffer.
            let r = unsafe {
                libc::pread(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    off as i64,
                )
            };
            if r < 0 {
                let e = errno();
                if e == Errno::EINTR {
                    continue;
                }
                return Err(e);
            }
            return Ok(r as usize);
        }
    }

    fn write(&self, _t: &Task, _f: &File, _off: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }

    fn fsync(&self) -> Result<(), Errno> {
        Ok(())
    }

    fn mmap(&self, f: &File) -> Result<(Arc<dyn MemObject>, VmaName), Errno> {
        let st = &self.inode.st;
        let key = pagecache::Key {
            dev: st.dev,
            ino: st.ino,
            size: st.size,
            mtime: (st.mtime.sec, st.mtime.nsec),
        };
        let fd = self.fd.as_raw_fd();
        let pages = pagecache::get(key, || {
            // SAFETY: duplicating our own fd.
            let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
            if d < 0 {
                return Err(errno());
            }
            // SAFETY: fresh fd.
            Ok(unsafe { OwnedFd::from_raw_fd(d) })
        })?;
        Ok((
            pages as Arc<dyn MemObject>,
            VmaName::File {
                path: f.path(),
                dev: st.dev,
                ino: st.ino,
            },
        ))
    }
}

/// An open host directory: its own host fd, so each open has its own position.
struct HostDirOps {
    fd: Mutex<OwnedFd>,
}

impl FileOps for HostDirOps {
    fn fsync(&self) -> Result<(), Errno> {
        Ok(())
    }

    fn ioctl(&self, t: &Task, f: &File, cmd: u32, arg: u64) -> crate::task::SysResult {
        let fd = self.fd.lock().unwrap().as_raw_fd();
        flags_ioctl(fd, t, f, cmd, arg)
    }

    fn readdir(
        &self,
        _ctx: &Ctx,
        pos: u64,
        emit: &mut dyn FnMut(&DirEnt) -> bool,
    ) -> Result<u64, Errno> {
        let fd = self.fd.lock().unwrap();
        let raw = fd.as_raw_fd();
        let mut pos = pos;
        let mut buf = vec![0u8; 32768];
        loop {
            // SAFETY: plain host calls on our fd and buffer.
            if unsafe { libc::lseek(raw, pos as i64, libc::SEEK_SET) } < 0 {
                return Err(errno());
            }
            // SAFETY: as above.
            let n =
                unsafe { libc::syscall(libc::SYS_getdents64, raw, buf.as_mut_ptr(), buf.len()) };
            if n < 0 {
                return Err(errno());
            }
            if n == 0 {
                return Ok(pos);
            }
            let n = n as usize;
            let mut i = 0usize;
            while i + 19 <= n {
                let ino = u64::from_le_bytes(buf[i..i + 8].try_into().unwrap_or([0; 8]));
                let off = i64::from_le_bytes(buf[i + 8..i + 16].try_into().unwrap_or([0; 8]));
                let reclen = u16::from_le_bytes([buf[i + 16], buf[i + 17]]) as usize;
                let dtype = buf[i + 18];
                if reclen == 0 || i + reclen > n {
                    break;
                }
                let name_bytes = &buf[i + 19..i + reclen];
                let end = name_bytes
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(name_bytes.len());
                let ent = DirEnt {
                    ino,
                    next: off as u64,
                    dtype,
                    name: name_bytes[..end].to_vec(),
                };
                if !emit(&ent) {
                    return Ok(pos);
                }
                pos = off as u64;
                i += reclen;
            }
        }
    }
}
