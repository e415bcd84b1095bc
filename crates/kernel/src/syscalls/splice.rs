//! Data movement between files without a round trip through the application: splice
//! (pipe↔file, pipe↔pipe), tee, vmsplice, copy_file_range, readahead. Bytes move
//! through a kernel buffer (moat's pipes are byte buffers, not page references), with
//! Linux's argument rules and its blocking rules: SPLICE_F_NONBLOCK (or O_NONBLOCK on
//! the pipe side) makes the pipe side non-blocking; the file side may still block.

use super::file::{fd_arg, io_file, CHUNK, MAX_RW_COUNT};
use crate::fs::pipe::pipe_of;
use crate::task::{SysResult, Task};
use crate::vfs::{mode, oflags, File};
use abi::sysno as nr;
use abi::Errno;
use std::sync::Arc;

const SPLICE_F_MOVE: u32 = 1;
const SPLICE_F_NONBLOCK: u32 = 2;
const SPLICE_F_MORE: u32 = 4;
const SPLICE_F_GIFT: u32 = 8;
const SPLICE_F_ALL: u32 = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::SPLICE => splice(t, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4], a[5] as u32),
        nr::TEE => tee(t, fd_arg(a[0]), fd_arg(a[1]), a[2], a[3] as u32),
        nr::VMSPLICE => vmsplice(t, fd_arg(a[0]), a[1], a[2], a[3] as u32),
        nr::COPY_FILE_RANGE => {
            copy_file_range(t, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4], a[5] as u32)
        }
        nr::READAHEAD => readahead(t, fd_arg(a[0])),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (
            nr::SPLICE,
            "partial: bytes are copied through a kernel buffer (no page moving; SPLICE_F_MOVE/GIFT are hints)",
        ),
        (nr::TEE, "partial: copies the bytes instead of sharing pages"),
        (nr::VMSPLICE, "partial: copies the bytes (SPLICE_F_GIFT is a hint)"),
        (nr::COPY_FILE_RANGE, ""),
        (nr::READAHEAD, "accepted: pages are not read ahead"),
    ]
}

/// An optional loff_t argument: None for a null pointer; EINVAL if negative.
fn read_off(t: &Task, p: u64) -> Result<Option<i64>, Errno> {
    if p == 0 {
        return Ok(None);
    }
    let v: i64 = t.read_val(p)?;
    Ok(Some(v))
}

fn splice(
    t: &Task,
    fdin: i32,
    offin: u64,
    fdout: i32,
    offout: u64,
    len: u64,
    flags: u32,
) -> SysResult {
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let inf = io_file(t, fdin)?;
    let outf = io_file(t, fdout)?;
    let (ip, op) = (pipe_of(&inf), pipe_of(&outf));
    if (ip.is_some() && offin != 0) || (op.is_some() && offout != 0) {
        return Err(Errno::ESPIPE);
    }
    let off_in = read_off(t, offin)?;
    let off_out = read_off(t, offout)?;
    if !inf.readable() || !outf.writable() {
        return Err(Errno::EBADF);
    }
    let len = len.min(MAX_RW_COUNT) as usize;
    let nb = flags & SPLICE_F_NONBLOCK != 0;
    match (ip, op) {
        (Some(ip), Some(op)) => {
            if Arc::ptr_eq(&ip, &op) {
                return Err(Errno::EINVAL);
            }
            let nb = nb || inf.nonblock() || outf.nonblock();
            pipe_to_pipe(t, &ip, &op, len, nb, false)
        }
        (Some(ip), None) => {
            if outf.flags() & oflags::O_APPEND != 0 {
                return Err(Errno::EINVAL);
            }
            if let Some(o) = off_out {
                if o < 0 || !outf.seekable() {
                    return Err(Errno::EINVAL);
                }
            }
            let nb = nb || inf.nonblock();
            if !ip.wait_data(t, nb)? {
                return Ok(0);
            }
            let data = ip.peek(len);
            let n = match off_out {
                Some(o) => outf.write_at(t, o as u64, &data)?,
                None => outf.write(t, &data)?,
            };
            ip.consume(n);
            if let Some(o) = off_out {
                t.write_val(offout, &(o + n as i64))?;
            }
            Ok(n as u64)
        }
        (None, Some(op)) => {
            if let Some(o) = off_in {
                if o < 0 || !inf.seekable() {
                    return Err(Errno::EINVAL);
                }
            }
            if mode::is_dir(inf.inode().mode()) {
                return Err(Errno::EISDIR);
            }
            let nb = nb || outf.nonblock();
            let room = op.wait_room(t, nb)?;
            let mut buf = vec![0u8; len.min(room).min(CHUNK)];
            let got = match off_in {
                Some(o) => inf.read_at(t, o as u64, &mut buf)?,
                None => inf.read(t, &mut buf)?,
            };
            let n = op.push(&buf[..got]);
            if n < got && off_in.is_none() && inf.seekable() {
                // The pipe filled meanwhile: give back what did not fit.
                let _ = inf.seek(-((got - n) as i64), crate::vfs::file::SEEK_CUR);
            }
            if let Some(o) = off_in {
                t.write_val(offin, &(o + n as i64))?;
            }
            Ok(n as u64)
        }
        (None, None) => Err(Errno::EINVAL),
    }
}

/// Moves (or, for tee, copies) up to `len` bytes from one pipe to another.
fn pipe_to_pipe(
    t: &Task,
    ip: &Arc<crate::fs::pipe::Pipe>,
    op: &Arc<crate::fs::pipe::Pipe>,
    len: usize,
    nb: bool,
    keep: bool,
) -> SysResult {
    if !ip.wait_data(t, nb)? {
        return Ok(0);
    }
    let room = op.wait_room(t, nb)?;
    let data = ip.peek(len.min(room));
    let n = op.push(&data);
    if !keep {
        ip.consume(n);
    }
    Ok(n as u64)
}

fn tee(t: &Task, fdin: i32, fdout: i32, len: u64, flags: u32) -> SysResult {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let inf = io_file(t, fdin)?;
    let outf = io_file(t, fdout)?;
    if !inf.readable() || !outf.writable() {
        return Err(Errno::EBADF);
    }
    match (pipe_of(&inf), pipe_of(&outf)) {
        (Some(ip), Some(op)) if !Arc::ptr_eq(&ip, &op) => {
            let nb = flags & SPLICE_F_NONBLOCK != 0 || inf.nonblock() || outf.nonblock();
            pipe_to_pipe(t, &ip, &op, len.min(MAX_RW_COUNT) as usize, nb, true)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn vmsplice(t: &Task, fd: i32, iov: u64, nr_segs: u64, flags: u32) -> SysResult {
    if flags & !SPLICE_F_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let f = io_file(t, fd)?;
    let to_pipe = f.writable();
    if !to_pipe && !f.readable() {
        return Err(Errno::EBADF);
    }
    let v = super::file::iovecs(t, iov, nr_segs)?;
    let total: u64 = v.iter().map(|&(_, l)| l).sum::<u64>().min(MAX_RW_COUNT);
    if total == 0 {
        return Ok(0);
    }
    let p = pipe_of(&f).ok_or(Errno::EBADF)?;
    if to_pipe {
        let nb = flags & SPLICE_F_NONBLOCK != 0 || f.nonblock();
        let room = p.wait_room(t, nb)?;
        let want = (total as usize).min(room);
        let mut buf = vec![0u8; want];
        let got = gather(t, &v, &mut buf);
        if got == 0 && want > 0 {
            return Err(Errno::EFAULT);
        }
        return Ok(p.push(&buf[..got]) as u64);
    }
    let nb = flags & SPLICE_F_NONBLOCK != 0;
    if !p.wait_data(t, nb)? {
        return Ok(0);
    }
    let data = p.peek(total as usize);
    let put = scatter(t, &v, &data);
    if put == 0 && !data.is_empty() {
        return Err(Errno::EFAULT);
    }
    p.consume(put);
    Ok(put as u64)
}

/// Copies from the iovecs into `buf`; the bytes copied before a fault.
fn gather(t: &Task, v: &[(u64, u64)], buf: &mut [u8]) -> usize {
    super::file::gather(t, v, 0, buf).map_or_else(|(n, _)| n, |_| buf.len())
}

/// Copies `data` out to the iovecs; the bytes copied before a fault.
fn scatter(t: &Task, v: &[(u64, u64)], data: &[u8]) -> usize {
    super::file::scatter(t, v, 0, data).map_or_else(|(n, _)| n, |_| data.len())
}

/// copy_file_range: regular files of one file system (EXDEV across them).
fn copy_file_range(
    t: &Task,
    fdin: i32,
    offin: u64,
    fdout: i32,
    offout: u64,
    len: u64,
    flags: u32,
) -> SysResult {
    let inf = io_file(t, fdin)?;
    let outf = io_file(t, fdout)?;
    let off_in = read_off(t, offin)?;
    let off_out = read_off(t, offout)?;
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (si, so) = (inf.stat()?, outf.stat()?);
    if mode::is_dir(si.mode) || mode::is_dir(so.mode) {
        return Err(Errno::EISDIR);
    }
    if !mode::is_reg(si.mode) || !mode::is_reg(so.mode) {
        return Err(Errno::EINVAL);
    }
    if !inf.readable() || !outf.writable() || outf.flags() & oflags::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let pin = off_in.unwrap_or(inf.pos() as i64);
    let pout = off_out.unwrap_or(outf.pos() as i64);
    let count = len.min(MAX_RW_COUNT);
    if pin < 0 || pout < 0 {
        // Linux's wrap check sees a negative offset as a huge one.
        return Err(Errno::EOVERFLOW);
    }
    if (pin as u64)
        .checked_add(count)
        .map_or(true, |e| e > i64::MAX as u64)
        || (pout as u64)
            .checked_add(count)
            .map_or(true, |e| e > i64::MAX as u64)
    {
        return Err(Errno::EOVERFLOW);
    }
    // Shorten to the source's end; overlapping ranges of one file are refused.
    let count = if pin as u64 >= si.size {
        0
    } else {
        count.min(si.size - pin as u64)
    };
    let same = si.dev == so.dev && si.ino == so.ino;
    if same && (pout as u64) + count > pin as u64 && (pout as u64) < pin as u64 + count {
        return Err(Errno::EINVAL);
    }
    if si.dev != so.dev {
        return Err(Errno::EXDEV);
    }
    if count == 0 {
        return Ok(0);
    }
    let done = copy_range(t, &inf, pin as u64, &outf, pout as u64, count)?;
    match off_in {
        Some(o) => t.write_val(offin, &(o + done as i64))?,
        None => {
            inf.seek(pin + done as i64, crate::vfs::file::SEEK_SET)?;
        }
    }
    match off_out {
        Some(o) => t.write_val(offout, &(o + done as i64))?,
        None => {
            outf.seek(pout + done as i64, crate::vfs::file::SEEK_SET)?;
        }
    }
    Ok(done)
}

/// Copies `count` bytes at positions (no offsets move); stops early at EOF or a short
/// write, and reports bytes copied before an error.
fn copy_range(
    t: &Task,
    inf: &Arc<File>,
    pin: u64,
    outf: &Arc<File>,
    pout: u64,
    count: u64,
) -> SysResult {
    let mut buf = vec![0u8; (count as usize).min(CHUNK)];
    let mut done = 0u64;
    while done < count {
        let n = ((count - done) as usize).min(buf.len());
        let got = match inf.read_at(t, pin + done, &mut buf[..n]) {
            Ok(0) => break,
            Ok(g) => g,
            Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
        };
        let put = match outf.write_at(t, pout + done, &buf[..got]) {
            Ok(p) => p,
            Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
        };
        done += put as u64;
        if put < got || got < n {
            break;
        }
    }
    Ok(done)
}

/// readahead: EBADF unless open for reading, EINVAL unless a regular file.
fn readahead(t: &Task, fd: i32) -> SysResult {
    let f = io_file(t, fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let m = f.inode().mode();
    if !mode::is_reg(m) && m & mode::S_IFMT != mode::S_IFBLK {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
