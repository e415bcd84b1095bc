//! getdents and getdents64: directory entries in Linux's record layouts, with the
//! file system's stable positions as d_off.

use super::{fd_arg, get_file, CHUNK};
use crate::task::{SysResult, Task};
use crate::vfs::{mode, Ctx, DirEnt};
use abi::sysno as nr;
use abi::Errno;

pub(super) fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::GETDENTS64 => getdents(t, fd_arg(a[0]), a[1], a[2], true),
        nr::GETDENTS => getdents(t, fd_arg(a[0]), a[1], a[2], false),
        _ => return None,
    })
}

/// Appends one record; false if it does not fit in `cap`.
pub fn encode(out: &mut Vec<u8>, cap: usize, e: &DirEnt, v64: bool) -> bool {
    let nl = e.name.len();
    if v64 {
        // ino u64, off i64, reclen u16, type u8, name, NUL; 8-aligned.
        let reclen = (19 + nl + 1).div_ceil(8) * 8;
        if out.len() + reclen > cap {
            return false;
        }
        let start = out.len();
        out.extend_from_slice(&e.ino.to_le_bytes());
        out.extend_from_slice(&e.next.to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.push(e.dtype);
        out.extend_from_slice(&e.name);
        out.resize(start + reclen, 0);
    } else {
        // ino ulong, off ulong, reclen u16, name, NUL, pad, type in the last byte.
        let reclen = (18 + nl + 2).div_ceil(8) * 8;
        if out.len() + reclen > cap {
            return false;
        }
        let start = out.len();
        out.extend_from_slice(&e.ino.to_le_bytes());
        out.extend_from_slice(&e.next.to_le_bytes());
        out.extend_from_slice(&(reclen as u16).to_le_bytes());
        out.extend_from_slice(&e.name);
        out.resize(start + reclen, 0);
        out[start + reclen - 1] = e.dtype;
    }
    true
}

fn getdents(t: &Task, fd: i32, buf: u64, count: u64, v64: bool) -> SysResult {
    let f = get_file(t, fd)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    if !mode::is_dir(f.inode().mode()) {
        return Err(Errno::ENOTDIR);
    }
    let cap = (count.min(CHUNK as u64)) as usize;
    let mut out = Vec::with_capacity(cap.min(65536));
    let mut any = false;
    let mut too_small = false;
    let ctx = Ctx::of(t);
    f.readdir(&ctx, &mut |e| {
        if encode(&mut out, cap, e, v64) {
            any = true;
            true
        } else {
            if !any {
                too_small = true;
            }
            false
        }
    })?;
    if too_small {
        return Err(Errno::EINVAL);
    }
    t.write_mem(buf, &out)?;
    Ok(out.len() as u64)
}
