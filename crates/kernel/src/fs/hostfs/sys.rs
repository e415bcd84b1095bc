//! The host calls of hostfs, each on a directory fd and a single path component (or on
//! an fd of the object itself), never following a symlink: openat2 with RESOLVE_BENEATH
//! | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS (O_NOFOLLOW without openat2), the *at
//! calls with AT_SYMLINK_NOFOLLOW or AT_EMPTY_PATH on an O_PATH fd. A name is checked to
//! be one component ("", ".", ".." and names with '/' are refused) before any call.

use crate::vfs::{Stat, Timespec};
use abi::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

pub fn errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Runs a host call returning -1 on error, retrying on EINTR.
fn retry(mut f: impl FnMut() -> libc::c_long) -> Result<libc::c_long, Errno> {
    loop {
        let r = f();
        if r >= 0 {
            return Ok(r);
        }
        let e = errno();
        if e != Errno::EINTR {
            return Err(e);
        }
    }
}

/// A single path component as a C string.
pub fn component(name: &[u8]) -> Result<CString, Errno> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::ENOENT);
    }
    CString::new(name).map_err(|_| Errno::ENOENT)
}

fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: a fresh fd returned by the host, owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;

static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Opens the single component `name` beneath directory `dir` without following any
/// symlink or leaving `dir`. With O_PATH a symlink itself is opened; without it a
/// symlink gives ELOOP.
pub fn open_beneath(dir: RawFd, name: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
    let c = component(name)?;
    let flags = flags | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    loop {
        let r = if !NO_OPENAT2.load(Ordering::Relaxed) {
            let how = OpenHow {
                flags: flags as u64,
                mode: if flags & libc::O_CREAT != 0 {
                    mode as u64
                } else {
                    0
                },
                resolve: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
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
            r
        } else {
            // SAFETY: valid C string.
            unsafe { libc::openat(dir, c.as_ptr(), flags, mode) as libc::c_long }
        };
        if r < 0 {
            let e = errno();
            if e == Errno::EINTR || e == Errno::EAGAIN {
                continue;
            }
            return Err(e);
        }
        return Ok(owned(r));
    }
}

/// Opens the directory `dir` itself (an O_PATH fd) for reading.
pub fn open_dir_self(dir: RawFd, flags: i32) -> Result<OwnedFd, Errno> {
    let r = retry(|| {
        // SAFETY: valid fd and C string.
        unsafe {
            libc::openat(
                dir,
                c".".as_ptr(),
                flags | libc::O_CLOEXEC | libc::O_DIRECTORY,
            ) as libc::c_long
        }
    })?;
    Ok(owned(r))
}

/// An unnamed regular file in directory `dir` (O_TMPFILE), open read-write.
pub fn open_tmpfile(dir: RawFd, mode: u32) -> Result<OwnedFd, Errno> {
    let r = retry(|| {
        // SAFETY: valid fd and C string.
        unsafe {
            libc::openat(
                dir,
                c".".as_ptr(),
                libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
                mode,
            ) as libc::c_long
        }
    })?;
    Ok(owned(r))
}

fn ts(sec: i64, nsec: i64) -> Timespec {
    Timespec { sec, nsec }
}

fn to_stat(s: &libc::stat) -> Stat {
    Stat {
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
    }
}

/// fstat of any fd, O_PATH ones included.
pub fn fstat(fd: RawFd) -> Result<Stat, Errno> {
    // SAFETY: zeroed plain struct filled by the host.
    let mut s: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and out pointer.
    retry(|| unsafe { libc::fstat(fd, &mut s) as libc::c_long })?;
    Ok(to_stat(&s))
}

/// lstat of `name` in `dir`.
pub fn stat_at(dir: RawFd, name: &[u8]) -> Result<Stat, Errno> {
    let c = component(name)?;
    // SAFETY: zeroed plain struct filled by the host.
    let mut s: libc::stat = unsafe { std::mem::zeroed() };
    retry(|| {
        // SAFETY: valid fd, C string and out pointer.
        unsafe { libc::fstatat(dir, c.as_ptr(), &mut s, libc::AT_SYMLINK_NOFOLLOW) as libc::c_long }
    })?;
    Ok(to_stat(&s))
}

pub fn fstatfs(fd: RawFd) -> Result<libc::statfs, Errno> {
    // SAFETY: zeroed plain struct filled by the host.
    let mut sf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and out pointer.
    retry(|| unsafe { libc::fstatfs(fd, &mut sf) as libc::c_long })?;
    Ok(sf)
}

pub fn mkdirat(dir: RawFd, name: &[u8], mode: u32) -> Result<(), Errno> {
    let c = component(name)?;
    // SAFETY: valid fd and C string.
    retry(|| unsafe { libc::mkdirat(dir, c.as_ptr(), mode) as libc::c_long }).map(|_| ())
}

/// mknodat: regular files, FIFOs, sockets, and the whiteout (char 0/0). Other devices are
/// refused here, whatever the caller's capabilities.
pub fn mknodat(dir: RawFd, name: &[u8], mode: u32, rdev: u64) -> Result<(), Errno> {
    let kind = mode & libc::S_IFMT;
    let ok = matches!(kind, libc::S_IFREG | libc::S_IFIFO | libc::S_IFSOCK)
        || (kind == libc::S_IFCHR && rdev == 0);
    if !ok {
        return Err(Errno::EPERM);
    }
    let c = component(name)?;
    // SAFETY: valid fd and C string.
    retry(|| unsafe { libc::mknodat(dir, c.as_ptr(), mode, rdev) as libc::c_long }).map(|_| ())
}

pub fn symlinkat(target: &[u8], dir: RawFd, name: &[u8]) -> Result<(), Errno> {
    let c = component(name)?;
    let t = CString::new(target).map_err(|_| Errno::ENOENT)?;
    // SAFETY: valid fd and C strings.
    retry(|| unsafe { libc::symlinkat(t.as_ptr(), dir, c.as_ptr()) as libc::c_long }).map(|_| ())
}

/// A new name `name` in `dir` for the object `fd` refers to (AT_EMPTY_PATH: no path walk).
pub fn link_fd(fd: RawFd, dir: RawFd, name: &[u8]) -> Result<(), Errno> {
    let c = component(name)?;
    retry(|| {
        // SAFETY: valid fds and C strings.
        unsafe {
            libc::linkat(fd, c"".as_ptr(), dir, c.as_ptr(), libc::AT_EMPTY_PATH) as libc::c_long
        }
    })
    .map(|_| ())
}

pub fn unlinkat(dir: RawFd, name: &[u8], flags: i32) -> Result<(), Errno> {
    let c = component(name)?;
    // SAFETY: valid fd and C string.
    retry(|| unsafe { libc::unlinkat(dir, c.as_ptr(), flags) as libc::c_long }).map(|_| ())
}

pub fn renameat2(od: RawFd, old: &[u8], nd: RawFd, new: &[u8], flags: u32) -> Result<(), Errno> {
    let o = component(old)?;
    let n = component(new)?;
    retry(|| {
        // SAFETY: valid fds and C strings.
        unsafe { libc::syscall(libc::SYS_renameat2, od, o.as_ptr(), nd, n.as_ptr(), flags) }
    })
    .map(|_| ())
}

static NO_FCHMODAT2: AtomicBool = AtomicBool::new(false);

/// chmod of the object `fd` (an O_PATH fd) refers to: fchmodat2(AT_EMPTY_PATH), or, on
/// hosts without it, `reopen` gives an fd to fchmod.
pub fn chmod_fd(
    fd: RawFd,
    mode: u32,
    reopen: impl FnOnce() -> Result<OwnedFd, Errno>,
) -> Result<(), Errno> {
    const SYS_FCHMODAT2: libc::c_long = 452;
    if !NO_FCHMODAT2.load(Ordering::Relaxed) {
        // SAFETY: valid fd and C string.
        let r = retry(|| unsafe {
            libc::syscall(SYS_FCHMODAT2, fd, c"".as_ptr(), mode, libc::AT_EMPTY_PATH)
        });
        match r {
            Err(Errno::ENOSYS) | Err(Errno::EINVAL) => NO_FCHMODAT2.store(true, Ordering::Relaxed),
            r => return r.map(|_| ()),
        }
    }
    let f = reopen()?;
    // SAFETY: valid fd.
    retry(|| unsafe { libc::fchmod(f.as_raw_fd(), mode) as libc::c_long }).map(|_| ())
}

/// chown of the object `fd` refers to (the symlink itself for a symlink's O_PATH fd).
/// u32::MAX leaves an id unchanged.
pub fn chown_fd(fd: RawFd, uid: u32, gid: u32) -> Result<(), Errno> {
    retry(|| {
        // SAFETY: valid fd and C string.
        unsafe { libc::fchownat(fd, c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) as libc::c_long }
    })
    .map(|_| ())
}

/// utimensat of the object `fd` refers to; None leaves a time unchanged.
pub fn utimes_fd(fd: RawFd, atime: Option<Timespec>, mtime: Option<Timespec>) -> Result<(), Errno> {
    let conv = |t: Option<Timespec>| match t {
        Some(t) => libc::timespec {
            tv_sec: t.sec,
            tv_nsec: t.nsec,
        },
        None => libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    };
    let times = [conv(atime), conv(mtime)];
    retry(|| {
        // SAFETY: valid fd, C string and times array.
        unsafe {
            libc::utimensat(fd, c"".as_ptr(), times.as_ptr(), libc::AT_EMPTY_PATH) as libc::c_long
        }
    })
    .map(|_| ())
}

pub fn ftruncate(fd: RawFd, size: u64) -> Result<(), Errno> {
    if size > i64::MAX as u64 {
        return Err(Errno::EFBIG);
    }
    // SAFETY: valid fd.
    retry(|| unsafe { libc::ftruncate(fd, size as i64) as libc::c_long }).map(|_| ())
}

pub fn fallocate(fd: RawFd, mode: u32, off: u64, len: u64) -> Result<(), Errno> {
    if off > i64::MAX as u64 || len > i64::MAX as u64 {
        return Err(Errno::EFBIG);
    }
    // SAFETY: valid fd.
    retry(|| unsafe { libc::fallocate(fd, mode as i32, off as i64, len as i64) as libc::c_long })
        .map(|_| ())
}

pub fn fsync(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: valid fd.
    retry(|| unsafe { libc::fsync(fd) as libc::c_long }).map(|_| ())
}

/// pread: as many bytes as the host gives in one call.
pub fn pread(fd: RawFd, buf: &mut [u8], off: u64) -> Result<usize, Errno> {
    if off > i64::MAX as u64 {
        return Ok(0);
    }
    retry(|| {
        // SAFETY: valid fd and buffer.
        unsafe {
            libc::pread(
                fd,
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                off as i64,
            ) as libc::c_long
        }
    })
    .map(|n| n as usize)
}

/// pwrite of the whole buffer (short only on error after some progress).
pub fn pwrite_all(fd: RawFd, data: &[u8], off: u64) -> Result<usize, Errno> {
    let mut done = 0usize;
    while done < data.len() {
        let pos = off.checked_add(done as u64).ok_or(Errno::EFBIG)?;
        if pos > i64::MAX as u64 {
            return if done > 0 {
                Ok(done)
            } else {
                Err(Errno::EFBIG)
            };
        }
        let r = retry(|| {
            // SAFETY: valid fd and buffer.
            unsafe {
                libc::pwrite(
                    fd,
                    data[done..].as_ptr() as *const libc::c_void,
                    data.len() - done,
                    pos as i64,
                ) as libc::c_long
            }
        });
        match r {
            Ok(0) => break,
            Ok(n) => done += n as usize,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// readlink of a symlink's O_PATH fd.
pub fn readlink_fd(fd: RawFd) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; 4096];
    let n = retry(|| {
        // SAFETY: valid fd, C string and buffer.
        unsafe {
            libc::readlinkat(
                fd,
                c"".as_ptr(),
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
            ) as libc::c_long
        }
    })?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// lseek with SEEK_DATA / SEEK_HOLE (None past the end).
pub fn seek_data(fd: RawFd, off: u64, hole: bool) -> Option<u64> {
    let whence = if hole {
        libc::SEEK_HOLE
    } else {
        libc::SEEK_DATA
    };
    // SAFETY: valid fd.
    let r = unsafe { libc::lseek(fd, off as i64, whence) };
    if r < 0 {
        None
    } else {
        Some(r as u64)
    }
}

/// A duplicate of `fd`.
pub fn dup(fd: RawFd) -> Result<OwnedFd, Errno> {
    // SAFETY: duplicating an fd we hold.
    let r = retry(|| unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) as libc::c_long })?;
    Ok(owned(r))
}

/// getxattr on an fd opened for reading (O_PATH fds cannot carry xattr calls).
pub fn fgetxattr(fd: RawFd, name: &str) -> Result<Vec<u8>, Errno> {
    let n = CString::new(name).map_err(|_| Errno::EINVAL)?;
    let mut buf = vec![0u8; 256];
    let r = retry(|| {
        // SAFETY: valid fd, C string and buffer.
        unsafe {
            libc::fgetxattr(
                fd,
                n.as_ptr(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
            ) as libc::c_long
        }
    })?;
    buf.truncate(r as usize);
    Ok(buf)
}

pub fn fsetxattr(fd: RawFd, name: &str, value: &[u8]) -> Result<(), Errno> {
    let n = CString::new(name).map_err(|_| Errno::EINVAL)?;
    retry(|| {
        // SAFETY: valid fd, C string and buffer.
        unsafe {
            libc::fsetxattr(
                fd,
                n.as_ptr(),
                value.as_ptr() as *const libc::c_void,
                value.len(),
                0,
            ) as libc::c_long
        }
    })
    .map(|_| ())
}

/// One getdents64 batch from position `pos` of directory fd `fd` (seeks first).
pub fn getdents(fd: RawFd, pos: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: plain host call on our fd.
    if unsafe { libc::lseek(fd, pos as i64, libc::SEEK_SET) } < 0 {
        return Err(errno());
    }
    retry(|| {
        // SAFETY: valid fd and buffer.
        unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) }
    })
    .map(|n| n as usize)
}
