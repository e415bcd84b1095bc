//! Calls on fds themselves and on open files: close, dup, fcntl, pipe, ioctl, flock,
//! the sync family, fadvise, fallocate, and the f* forms of attribute calls.

use super::{fd_arg, get_file, install, io_file, nofile};
use crate::task::{SysResult, Task};
use crate::vfs::{mode, oflags, ops, Ctx};
use abi::sysno as nr;
use abi::Errno;
use std::sync::Arc;

const F_DUPFD: u64 = 0;
const F_GETFD: u64 = 1;
const F_SETFD: u64 = 2;
const F_GETFL: u64 = 3;
const F_SETFL: u64 = 4;
const F_GETLK: u64 = 5;
const F_SETLK: u64 = 6;
const F_SETLKW: u64 = 7;
const F_SETOWN: u64 = 8;
const F_GETOWN: u64 = 9;
const F_SETSIG: u64 = 10;
const F_GETSIG: u64 = 11;
const F_SETOWN_EX: u64 = 15;
const F_GETOWN_EX: u64 = 16;
const F_GETOWNER_UIDS: u64 = 17;
const F_OFD_GETLK: u64 = 36;
const F_OFD_SETLK: u64 = 37;
const F_OFD_SETLKW: u64 = 38;
const F_SETLEASE: u64 = 1024;
const F_GETLEASE: u64 = 1025;
const F_NOTIFY: u64 = 1026;
const F_DUPFD_CLOEXEC: u64 = 1030;
const F_SETPIPE_SZ: u64 = 1031;
const F_GETPIPE_SZ: u64 = 1032;
const F_ADD_SEALS: u64 = 1033;
const F_GET_SEALS: u64 = 1034;
const FD_CLOEXEC: u64 = 1;
const F_RDLCK: i16 = 0;
const F_WRLCK: i16 = 1;
const F_UNLCK: i16 = 2;

const FIONBIO: u32 = 0x5421;
const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;
const FIOASYNC: u32 = 0x5452;
const FIONREAD: u32 = 0x541b;

const CLOSE_RANGE_UNSHARE: u64 = 2;
const CLOSE_RANGE_CLOEXEC: u64 = 4;

pub(super) fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::CLOSE => close(t, fd_arg(a[0])),
        nr::CLOSE_RANGE => close_range(t, a[0], a[1], a[2]),
        nr::DUP => dup(t, fd_arg(a[0])),
        nr::DUP2 => dup2(t, fd_arg(a[0]), fd_arg(a[1])),
        nr::DUP3 => dup3(t, fd_arg(a[0]), fd_arg(a[1]), a[2]),
        nr::FCNTL => fcntl(t, fd_arg(a[0]), a[1] as u32 as u64, a[2]),
        nr::PIPE => pipe2(t, a[0], 0),
        nr::PIPE2 => pipe2(t, a[0], a[1]),
        nr::IOCTL => ioctl(t, fd_arg(a[0]), a[1] as u32, a[2]),
        nr::FLOCK => flock(t, fd_arg(a[0]), a[1]),
        nr::FSYNC | nr::FDATASYNC => io_file(t, fd_arg(a[0]))
            .and_then(|f| f.ops().fsync())
            .map(|_| 0),
        nr::SYNC => Ok(0),
        nr::SYNCFS => io_file(t, fd_arg(a[0])).map(|_| 0),
        nr::SYNC_FILE_RANGE => sync_file_range(t, fd_arg(a[0]), a[1] as i64, a[2] as i64, a[3]),
        nr::FADVISE64 => fadvise(t, fd_arg(a[0]), a[1] as i64, a[2] as i64, a[3]),
        nr::FALLOCATE => fallocate(t, fd_arg(a[0]), a[1] as u32, a[2] as i64, a[3] as i64),
        nr::FTRUNCATE => io_file(t, fd_arg(a[0]))
            .and_then(|f| ops::ftruncate(&Ctx::of(t), &f, a[1] as i64))
            .map(|_| 0),
        nr::FCHMOD => io_file(t, fd_arg(a[0]))
            .and_then(|f| ops::chmod(&Ctx::of(t), &f.loc, a[1] as u32))
            .map(|_| 0),
        nr::FCHOWN => io_file(t, fd_arg(a[0]))
            .and_then(|f| ops::chown(&Ctx::of(t), &f.loc, a[1] as u32, a[2] as u32))
            .map(|_| 0),
        nr::FCHDIR => fchdir(t, fd_arg(a[0])),
        nr::FSTATFS => get_file(t, fd_arg(a[0]))
            .and_then(|f| t.write_mem(a[1], &ops::statfs(&f.loc).to_bytes()))
            .map(|_| 0),
        nr::FSTAT => get_file(t, fd_arg(a[0]))
            .and_then(|f| f.stat())
            .and_then(|s| t.write_mem(a[1], &s.to_bytes()))
            .map(|_| 0),
        _ => return None,
    })
}

fn close(t: &Task, fd: i32) -> SysResult {
    let f = t.files().remove(fd)?;
    f.ops().flush(t, &f);
    // The last reference may release a pipe end or a host fd: outside the table lock.
    drop(f);
    Ok(0)
}

fn close_range(t: &Task, first: u64, last: u64, flags: u64) -> SysResult {
    let (first, last) = (first as u32, last as u32);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    if flags & CLOSE_RANGE_UNSHARE != 0 {
        let copy = Arc::new(t.files().fork_copy());
        *t.files.lock().unwrap() = copy;
    }
    t.files()
        .close_range(first, last, flags & CLOSE_RANGE_CLOEXEC != 0);
    Ok(0)
}

fn dup(t: &Task, fd: i32) -> SysResult {
    let f = get_file(t, fd)?;
    install(t, f, false)
}

fn dup2(t: &Task, old: i32, new: i32) -> SysResult {
    let f = get_file(t, old)?;
    if old == new {
        return Ok(new as u64);
    }
    if new < 0 || new as u64 >= nofile(t) {
        return Err(Errno::EBADF);
    }
    t.files().install_at(new, f, false);
    Ok(new as u64)
}

fn dup3(t: &Task, old: i32, new: i32, flags: u64) -> SysResult {
    if flags & !(oflags::O_CLOEXEC as u64) != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    let f = get_file(t, old)?;
    if new < 0 || new as u64 >= nofile(t) {
        return Err(Errno::EBADF);
    }
    t.files().install_at(new, f, flags != 0);
    Ok(new as u64)
}

fn fcntl(t: &Task, fd: i32, cmd: u64, arg: u64) -> SysResult {
    let files = t.files();
    let (f, cloexec) = files.get_with_flags(fd)?;
    if f.is_path() && !matches!(cmd, F_DUPFD | F_DUPFD_CLOEXEC | F_GETFD | F_SETFD | F_GETFL) {
        return Err(Errno::EBADF);
    }
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let min = arg as u32 as i32;
            let lim = nofile(t);
            if min < 0 || min as u64 >= lim {
                return Err(Errno::EINVAL);
            }
            Ok(files.install_from(f, cmd == F_DUPFD_CLOEXEC, min, lim)? as u64)
        }
        F_GETFD => Ok(if cloexec { FD_CLOEXEC } else { 0 }),
        F_SETFD => {
            files.set_cloexec(fd, arg & FD_CLOEXEC != 0)?;
            Ok(0)
        }
        F_GETFL => Ok(f.flags() as u64),
        F_SETFL => {
            f.set_flags(arg as u32);
            Ok(0)
        }
        F_GETLK | F_OFD_GETLK => {
            let mut fl = [0u8; 32];
            t.read_mem(arg, &mut fl)?;
            let ty = i16::from_le_bytes([fl[0], fl[1]]);
            if !matches!(ty, F_RDLCK | F_WRLCK | F_UNLCK) {
                return Err(Errno::EINVAL);
            }
            // Nothing conflicts: locks are not enforced between sandbox processes.
            fl[0..2].copy_from_slice(&F_UNLCK.to_le_bytes());
            t.write_mem(arg, &fl)?;
            Ok(0)
        }
        F_SETLK | F_SETLKW | F_OFD_SETLK | F_OFD_SETLKW => {
            let mut fl = [0u8; 32];
            t.read_mem(arg, &mut fl)?;
            let ty = i16::from_le_bytes([fl[0], fl[1]]);
            let whence = i16::from_le_bytes([fl[2], fl[3]]);
            if whence > 2 || whence < 0 {
                return Err(Errno::EINVAL);
            }
            match ty {
                F_RDLCK if !f.readable() => Err(Errno::EBADF),
                F_WRLCK if !f.writable() => Err(Errno::EBADF),
                F_RDLCK | F_WRLCK | F_UNLCK => Ok(0),
                _ => Err(Errno::EINVAL),
            }
        }
        F_SETOWN | F_SETSIG | F_SETOWN_EX | F_NOTIFY => Ok(0),
        F_GETOWN | F_GETSIG => Ok(0),
        F_GETOWN_EX => {
            t.write_mem(arg, &[0u8; 8])?;
            Ok(0)
        }
        F_GETOWNER_UIDS => Err(Errno::EINVAL),
        F_SETLEASE => {
            if !mode::is_reg(f.inode().mode()) {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        F_GETLEASE => Ok(F_UNLCK as u64),
        F_GETPIPE_SZ => f.ops().pipe_size(None),
        F_SETPIPE_SZ => f.ops().pipe_size(Some(arg as u32 as u64)),
        F_ADD_SEALS | F_GET_SEALS => Err(Errno::EINVAL),
        _ => Err(Errno::EINVAL),
    }
}

/// pipe/pipe2: both ends installed, then their numbers written; on EFAULT the fds are
/// closed again.
fn pipe2(t: &Task, addr: u64, flags: u64) -> SysResult {
    // O_NOTIFICATION_PIPE (watch queues) is not offered: EINVAL like any unknown flag.
    let allowed = (oflags::O_CLOEXEC | oflags::O_NONBLOCK | oflags::O_DIRECT) as u64;
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let cloexec = flags & oflags::O_CLOEXEC as u64 != 0;
    let (r, w) = crate::fs::pipe::new_pipe(flags as u32);
    let files = t.files();
    let lim = nofile(t);
    let rfd = files.install_from(r, cloexec, 0, lim)?;
    let wfd = match files.install_from(w, cloexec, 0, lim) {
        Ok(x) => x,
        Err(e) => {
            let _ = files.remove(rfd);
            return Err(e);
        }
    };
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&rfd.to_le_bytes());
    b[4..].copy_from_slice(&wfd.to_le_bytes());
    if let Err(e) = t.write_mem(addr, &b) {
        let _ = files.remove(rfd);
        let _ = files.remove(wfd);
        return Err(e);
    }
    Ok(0)
}

fn ioctl(t: &Task, fd: i32, cmd: u32, arg: u64) -> SysResult {
    let files = t.files();
    let f = files.get(fd)?;
    match cmd {
        FIOCLEX => {
            files.set_cloexec(fd, true)?;
            return Ok(0);
        }
        FIONCLEX => {
            files.set_cloexec(fd, false)?;
            return Ok(0);
        }
        _ => {}
    }
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    match cmd {
        FIONBIO | FIOASYNC => {
            let on: i32 = t.read_val(arg)?;
            let bit = if cmd == FIONBIO {
                oflags::O_NONBLOCK
            } else {
                oflags::O_ASYNC
            };
            let fl = if on != 0 {
                f.flags() | bit
            } else {
                f.flags() & !bit
            };
            f.set_flags(fl);
            Ok(0)
        }
        FIONREAD if mode::is_reg(f.inode().mode()) => {
            let size = f.stat()?.size;
            let n = size.saturating_sub(f.pos()).min(i32::MAX as u64) as i32;
            t.write_val(arg, &n)?;
            Ok(0)
        }
        _ => f.ioctl(t, cmd, arg),
    }
}

fn flock(t: &Task, fd: i32, op: u64) -> SysResult {
    const LOCK_SH: u64 = 1;
    const LOCK_EX: u64 = 2;
    const LOCK_NB: u64 = 4;
    const LOCK_UN: u64 = 8;
    let f = get_file(t, fd)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    match op & !LOCK_NB {
        LOCK_SH | LOCK_EX | LOCK_UN => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

fn sync_file_range(t: &Task, fd: i32, off: i64, len: i64, flags: u64) -> SysResult {
    if flags & !7 != 0 || off < 0 || len < 0 || off.checked_add(len).is_none() {
        return Err(Errno::EINVAL);
    }
    let f = io_file(t, fd)?;
    let m = f.inode().mode();
    if !mode::is_reg(m)
        && !mode::is_dir(m)
        && m & mode::S_IFMT != mode::S_IFBLK
        && m & mode::S_IFMT != mode::S_IFLNK
    {
        return Err(Errno::ESPIPE);
    }
    Ok(0)
}

fn fadvise(t: &Task, fd: i32, _off: i64, len: i64, advice: u64) -> SysResult {
    let f = io_file(t, fd)?;
    if !f.seekable() || f.inode().mode() & mode::S_IFMT == mode::S_IFIFO {
        return Err(Errno::ESPIPE);
    }
    if advice > 5 || len < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

fn fallocate(t: &Task, fd: i32, fmode: u32, off: i64, len: i64) -> SysResult {
    let f = io_file(t, fd)?;
    if off < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let m = f.inode().mode();
    if mode::is_dir(m) {
        return Err(Errno::EISDIR);
    }
    if m & mode::S_IFMT == mode::S_IFIFO || !f.seekable() {
        return Err(Errno::ESPIPE);
    }
    if !mode::is_reg(m) {
        return Err(Errno::ENODEV);
    }
    if f.loc.mnt.readonly() {
        return Err(Errno::EROFS);
    }
    f.inode().fallocate(fmode, off as u64, len as u64)?;
    Ok(0)
}

fn fchdir(t: &Task, fd: i32) -> SysResult {
    let f = get_file(t, fd)?;
    ops::enterable(&Ctx::of(t), &f.loc)?;
    t.fs().set_cwd(f.loc.clone());
    Ok(0)
}
