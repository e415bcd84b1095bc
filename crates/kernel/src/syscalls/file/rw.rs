//! read/write and their vector and positional forms, lseek, sendfile.
//!
//! Data moves through a kernel buffer of at most CHUNK bytes: a large transfer on a
//! seekable file goes chunk by chunk until a short count; a stream read takes one chunk
//! (it returns what is there anyway); a stream write goes on until everything is written,
//! so blocking-pipe semantics hold. Once some bytes moved, a later error (EFAULT, a
//! signal) ends the call with the count so far, as Linux does.

use super::{fd_arg, io_file, CHUNK, IOV_MAX, MAX_RW_COUNT};
use crate::task::{SysResult, Task};
use crate::vfs::File;
use abi::sysno as nr;
use abi::Errno;
use std::sync::Arc;

/// RWF_* flags of preadv2/pwritev2.
const RWF_SUPPORTED: u64 = 0x1f;

pub(super) fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::READ => read(t, fd_arg(a[0]), &[(a[1], a[2])], None),
        nr::WRITE => write(t, fd_arg(a[0]), &[(a[1], a[2])], None),
        nr::PREAD64 => pos_arg(a[3]).and_then(|p| read(t, fd_arg(a[0]), &[(a[1], a[2])], Some(p))),
        nr::PWRITE64 => {
            pos_arg(a[3]).and_then(|p| write(t, fd_arg(a[0]), &[(a[1], a[2])], Some(p)))
        }
        nr::READV => iovecs(t, a[1], a[2]).and_then(|v| read(t, fd_arg(a[0]), &v, None)),
        nr::WRITEV => iovecs(t, a[1], a[2]).and_then(|v| write(t, fd_arg(a[0]), &v, None)),
        nr::PREADV => pos_arg(a[3])
            .and_then(|p| iovecs(t, a[1], a[2]).and_then(|v| read(t, fd_arg(a[0]), &v, Some(p)))),
        nr::PWRITEV => pos_arg(a[3])
            .and_then(|p| iovecs(t, a[1], a[2]).and_then(|v| write(t, fd_arg(a[0]), &v, Some(p)))),
        nr::PREADV2 | nr::PWRITEV2 => v2(t, n, a),
        nr::LSEEK => lseek(t, fd_arg(a[0]), a[1] as i64, a[2]),
        nr::SENDFILE => sendfile(t, fd_arg(a[0]), fd_arg(a[1]), a[2], a[3]),
        _ => return None,
    })
}

/// A file offset argument: negative is EINVAL.
fn pos_arg(v: u64) -> Result<u64, Errno> {
    if (v as i64) < 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(v)
    }
}

/// preadv2/pwritev2: offset -1 means the file position.
fn v2(t: &Task, n: u64, a: &[u64; 6]) -> SysResult {
    if a[5] & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let off = a[3] as i64;
    let pos = match off {
        -1 => None,
        o if o < 0 => return Err(Errno::EINVAL),
        o => Some(o as u64),
    };
    let v = iovecs(t, a[1], a[2])?;
    if n == nr::PREADV2 {
        read(t, fd_arg(a[0]), &v, pos)
    } else {
        write(t, fd_arg(a[0]), &v, pos)
    }
}

/// Reads an iovec array: EINVAL past IOV_MAX or if the lengths overflow ssize_t.
pub(crate) fn iovecs(t: &Task, addr: u64, cnt: u64) -> Result<Vec<(u64, u64)>, Errno> {
    if cnt > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; cnt as usize * 16];
    t.read_mem(addr, &mut raw)?;
    let mut v = Vec::with_capacity(cnt as usize);
    let mut total: u64 = 0;
    for c in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8]));
        let len = u64::from_le_bytes(c[8..].try_into().unwrap_or([0; 8]));
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        total = total
            .checked_add(len)
            .filter(|&x| x <= i64::MAX as u64)
            .ok_or(Errno::EINVAL)?;
        v.push((base, len));
    }
    Ok(v)
}

/// Linux's access_ok: a buffer must lie below the top of the user address space
/// (checked with the caller's full length, before any clamping).
pub(crate) fn access_ok(addr: u64, len: u64) -> Result<(), Errno> {
    match addr.checked_add(len) {
        Some(end) if end <= platform::TASK_SIZE => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

fn iov_ok(iov: &[(u64, u64)]) -> Result<(), Errno> {
    iov.iter().try_for_each(|&(b, l)| access_ok(b, l))
}

/// Scatters `data` into the iovecs starting at byte `from` of their concatenation.
/// On a fault, Err carries how many bytes were copied before it (Linux copies up to the
/// faulting page and reports the short count).
fn scatter(t: &Task, iov: &[(u64, u64)], from: u64, data: &[u8]) -> Result<(), (usize, Errno)> {
    let mut skip = from;
    let mut done = 0usize;
    for &(base, len) in iov {
        if done == data.len() {
            break;
        }
        if skip >= len {
            skip -= len;
            continue;
        }
        let room = (len - skip).min((data.len() - done) as u64) as usize;
        let mut addr = base.wrapping_add(skip);
        let mut left = room;
        // Page by page, so that a fault leaves an exact count behind.
        while left > 0 {
            let n = ((4096 - addr % 4096) as usize).min(left);
            t.write_mem(addr, &data[done..done + n])
                .map_err(|e| (done, e))?;
            done += n;
            left -= n;
            addr = addr.wrapping_add(n as u64);
        }
        skip = 0;
    }
    Ok(())
}

/// Gathers `buf.len()` bytes from the iovecs starting at byte `from`. On a fault, Err
/// carries how many bytes were gathered before it (page by page, as Linux copies).
fn gather(t: &Task, iov: &[(u64, u64)], from: u64, buf: &mut [u8]) -> Result<(), (usize, Errno)> {
    let mut skip = from;
    let mut done = 0usize;
    for &(base, len) in iov {
        if done == buf.len() {
            break;
        }
        if skip >= len {
            skip -= len;
            continue;
        }
        let room = (len - skip).min((buf.len() - done) as u64) as usize;
        let mut addr = base.wrapping_add(skip);
        let mut left = room;
        while left > 0 {
            let n = ((4096 - addr % 4096) as usize).min(left);
            t.read_mem(addr, &mut buf[done..done + n])
                .map_err(|e| (done, e))?;
            done += n;
            left -= n;
            addr = addr.wrapping_add(n as u64);
        }
        skip = 0;
    }
    Ok(())
}

fn total(iov: &[(u64, u64)]) -> u64 {
    iov.iter()
        .fold(0u64, |s, &(_, l)| s.saturating_add(l))
        .min(MAX_RW_COUNT)
}

/// read/pread/readv/preadv into `iov`, at `pos` or the file offset.
pub(crate) fn read(t: &Task, fd: i32, iov: &[(u64, u64)], pos: Option<u64>) -> SysResult {
    let f = io_file(t, fd)?;
    read_file(t, &f, iov, pos)
}

pub(crate) fn read_file(
    t: &Task,
    f: &Arc<File>,
    iov: &[(u64, u64)],
    pos: Option<u64>,
) -> SysResult {
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    iov_ok(iov)?;
    let want = total(iov);
    let stream = !f.seekable();
    if pos.is_some() && stream {
        return Err(Errno::ESPIPE);
    }
    if let Some(s) = crate::net::socket_of_file(f) {
        return crate::syscalls::socket::sock_read(t, f, &s, iov);
    }
    let mut buf = vec![0u8; want.min(CHUNK as u64) as usize];
    let mut done: u64 = 0;
    loop {
        let n = (want - done).min(buf.len() as u64) as usize;
        let r = match pos {
            Some(p) => f.read_at(t, p.saturating_add(done), &mut buf[..n]),
            None => f.read(t, &mut buf[..n]),
        };
        let got = match r {
            Ok(g) => g,
            Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
        };
        if let Err((copied, e)) = scatter(t, iov, done, &buf[..got]) {
            // The bytes not delivered are not consumed: the file offset goes back.
            if pos.is_none() && !stream && copied < got {
                let _ = f.seek(-((got - copied) as i64), 1);
            }
            // A stream's partial copy counts for nothing (Linux's pipe_read: EFAULT).
            let total = if stream { done } else { done + copied as u64 };
            return if total > 0 { Ok(total) } else { Err(e) };
        }
        done += got as u64;
        if got < n || stream || done >= want {
            return Ok(done);
        }
    }
}

/// write/pwrite/writev/pwritev from `iov`, at `pos` or the file offset.
pub(crate) fn write(t: &Task, fd: i32, iov: &[(u64, u64)], pos: Option<u64>) -> SysResult {
    let f = io_file(t, fd)?;
    write_file(t, &f, iov, pos)
}

pub(crate) fn write_file(
    t: &Task,
    f: &Arc<File>,
    iov: &[(u64, u64)],
    pos: Option<u64>,
) -> SysResult {
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    iov_ok(iov)?;
    let want = total(iov);
    if pos.is_some() && !f.seekable() {
        return Err(Errno::ESPIPE);
    }
    if let Some(s) = crate::net::socket_of_file(f) {
        return crate::syscalls::socket::sock_write(t, f, &s, iov);
    }
    let mut buf = vec![0u8; want.min(CHUNK as u64) as usize];
    let mut done: u64 = 0;
    loop {
        let mut n = (want - done).min(buf.len() as u64) as usize;
        let mut fault = None;
        if let Err((got, e)) = gather(t, iov, done, &mut buf[..n]) {
            // Write what could be read before the fault; EFAULT if nothing. A stream
            // (pipe) takes nothing from a faulting chunk, as Linux's pipe_write.
            if got == 0 || !f.seekable() {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            n = got;
            fault = Some(e);
        }
        let r = match pos {
            Some(p) => f.write_at(t, p.saturating_add(done), &buf[..n]),
            None => f.write(t, &buf[..n]),
        };
        let put = match r {
            Ok(g) => g,
            Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
        };
        done += put as u64;
        if put < n || done >= want || fault.is_some() {
            return Ok(done);
        }
    }
}

fn lseek(t: &Task, fd: i32, off: i64, whence: u64) -> SysResult {
    let f = io_file(t, fd)?;
    if whence > 4 {
        return Err(Errno::EINVAL);
    }
    f.seek(off, whence as u32)
}

/// sendfile: copies from `in_fd` (at *offp when given, which is updated) to `out_fd`.
fn sendfile(t: &Task, out_fd: i32, in_fd: i32, offp: u64, count: u64) -> SysResult {
    let inf = io_file(t, in_fd)?;
    let outf = io_file(t, out_fd)?;
    if !inf.readable() || !outf.writable() {
        return Err(Errno::EBADF);
    }
    if outf.flags() & crate::vfs::oflags::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let mut pos = if offp != 0 {
        let o: i64 = t.read_val(offp)?;
        if o < 0 {
            return Err(Errno::EINVAL);
        }
        if !inf.seekable() {
            return Err(Errno::ESPIPE);
        }
        Some(o as u64)
    } else {
        None
    };
    let want = count.min(MAX_RW_COUNT);
    let mut buf = vec![0u8; want.min(CHUNK as u64) as usize];
    let mut done: u64 = 0;
    let mut err = None;
    while done < want {
        let n = (want - done).min(buf.len() as u64) as usize;
        let got = match pos {
            Some(p) => inf.read_at(t, p, &mut buf[..n]),
            None => inf.read(t, &mut buf[..n]),
        };
        let got = match got {
            Ok(0) => break,
            Ok(g) => g,
            Err(e) => {
                err = Some(e);
                break;
            }
        };
        let mut put = 0usize;
        while put < got {
            match outf.write(t, &buf[put..got]) {
                Ok(0) => break,
                Ok(k) => put += k,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        if put < got && pos.is_none() && inf.seekable() {
            // Give back what was read but not written.
            let _ = inf.seek(-((got - put) as i64), crate::vfs::file::SEEK_CUR);
        }
        if let Some(p) = pos.as_mut() {
            *p += put as u64;
        }
        done += put as u64;
        if err.is_some() || put < got || got < n {
            break;
        }
    }
    if let (Some(p), true) = (pos, offp != 0) {
        t.write_val(offp, &(p as i64))?;
    }
    match err {
        Some(e) if done == 0 => Err(e),
        _ => Ok(done),
    }
}
