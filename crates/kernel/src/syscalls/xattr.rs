//! Extended attributes: setxattr/getxattr/listxattr/removexattr and their l* (no
//! symlink following) and f* (open file) forms, with Linux's checks in Linux's order:
//! flags and name (EINVAL, ERANGE), value size (E2BIG), the path, the mount (EROFS), the
//! namespace rules of xattr_permission (trusted.* needs CAP_SYS_ADMIN, user.* only on
//! regular files and directories), the file's permissions, then the file system
//! (EOPNOTSUPP where it keeps none).

use super::file::{at_loc, fd_arg, io_file, read_path, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use crate::task::{SysResult, Task};
use crate::vfs::perm::{self, MAY_READ, MAY_WRITE};
use crate::vfs::{mode, Ctx, Loc};
use abi::sysno as nr;
use abi::Errno;

const XATTR_CREATE: u32 = 1;
const XATTR_REPLACE: u32 = 2;
const XATTR_NAME_MAX: usize = 255;
const XATTR_SIZE_MAX: u64 = 65536;
const XATTR_LIST_MAX: u64 = 65536;
const CAP_FOWNER: u32 = 3;
const CAP_SYS_ADMIN: u32 = 21;

/// Where the attributes are: a path (following symlinks or not) or an fd.
enum Target {
    Path(u64, bool),
    Fd(i32),
}

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    use Target::*;
    Some(match n {
        nr::SETXATTR => set(t, Path(a[0], true), a[1], a[2], a[3], a[4]),
        nr::LSETXATTR => set(t, Path(a[0], false), a[1], a[2], a[3], a[4]),
        nr::FSETXATTR => set(t, Fd(fd_arg(a[0])), a[1], a[2], a[3], a[4]),
        nr::GETXATTR => get(t, Path(a[0], true), a[1], a[2], a[3]),
        nr::LGETXATTR => get(t, Path(a[0], false), a[1], a[2], a[3]),
        nr::FGETXATTR => get(t, Fd(fd_arg(a[0])), a[1], a[2], a[3]),
        nr::LISTXATTR => list(t, Path(a[0], true), a[1], a[2]),
        nr::LLISTXATTR => list(t, Path(a[0], false), a[1], a[2]),
        nr::FLISTXATTR => list(t, Fd(fd_arg(a[0])), a[1], a[2]),
        nr::REMOVEXATTR => remove(t, Path(a[0], true), a[1]),
        nr::LREMOVEXATTR => remove(t, Path(a[0], false), a[1]),
        nr::FREMOVEXATTR => remove(t, Fd(fd_arg(a[0])), a[1]),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    const S: &str = "";
    &[
        (nr::SETXATTR, S),
        (nr::LSETXATTR, S),
        (nr::FSETXATTR, S),
        (nr::GETXATTR, S),
        (nr::LGETXATTR, S),
        (nr::FGETXATTR, S),
        (nr::LISTXATTR, S),
        (nr::LLISTXATTR, S),
        (nr::FLISTXATTR, S),
        (nr::REMOVEXATTR, S),
        (nr::LREMOVEXATTR, S),
        (nr::FREMOVEXATTR, S),
    ]
}

/// An attribute name: ERANGE when empty or longer than XATTR_NAME_MAX.
fn read_name(t: &Task, addr: u64) -> Result<Vec<u8>, Errno> {
    let n = t.read_cstr(addr, XATTR_NAME_MAX).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::ERANGE,
        e => e,
    })?;
    if n.is_empty() {
        return Err(Errno::ERANGE);
    }
    Ok(n)
}

fn resolve(t: &Task, ctx: &Ctx, target: &Target) -> Result<Loc, Errno> {
    match *target {
        Target::Path(p, follow) => {
            let path = read_path(t, p)?;
            let flags = if follow { 0 } else { AT_SYMLINK_NOFOLLOW };
            at_loc(t, ctx, AT_FDCWD, &path, flags)
        }
        Target::Fd(fd) => Ok(io_file(t, fd)?.loc.clone()),
    }
}

/// Linux's xattr_permission.
fn permission(ctx: &Ctx, loc: &Loc, name: &[u8], write: bool) -> Result<(), Errno> {
    let st = loc.inode().stat()?;
    if name.starts_with(b"security.") || name.starts_with(b"system.") {
        return Ok(());
    }
    if name.starts_with(b"trusted.") {
        if !ctx.creds.has_cap(CAP_SYS_ADMIN) {
            return Err(if write { Errno::EPERM } else { Errno::ENODATA });
        }
        return Ok(());
    }
    if name.starts_with(b"user.") {
        if !mode::is_reg(st.mode) && !mode::is_dir(st.mode) {
            return Err(if write { Errno::EPERM } else { Errno::ENODATA });
        }
        if mode::is_dir(st.mode)
            && st.mode & mode::S_ISVTX != 0
            && write
            && ctx.creds.fsuid != st.uid
            && !ctx.creds.has_cap(CAP_FOWNER)
        {
            return Err(Errno::EPERM);
        }
    }
    perm::check(&ctx.creds, &st, if write { MAY_WRITE } else { MAY_READ })
}

fn set(t: &Task, target: Target, namep: u64, value: u64, size: u64, flags: u64) -> SysResult {
    if flags & !((XATTR_CREATE | XATTR_REPLACE) as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = read_name(t, namep)?;
    if size > XATTR_SIZE_MAX {
        return Err(Errno::E2BIG);
    }
    let mut v = vec![0u8; size as usize];
    t.read_mem(value, &mut v)?;
    let ctx = Ctx::of(t);
    let loc = resolve(t, &ctx, &target)?;
    if loc.mnt.readonly() {
        return Err(Errno::EROFS);
    }
    permission(&ctx, &loc, &name, true)?;
    loc.inode().setxattr(&name, &v, flags as u32)?;
    crate::vfs::notify::attrib(&loc);
    Ok(0)
}

fn get(t: &Task, target: Target, namep: u64, value: u64, size: u64) -> SysResult {
    let name = read_name(t, namep)?;
    let ctx = Ctx::of(t);
    let loc = resolve(t, &ctx, &target)?;
    permission(&ctx, &loc, &name, false)?;
    let v = loc.inode().getxattr(&name)?;
    copy_out(t, value, size, &v, XATTR_SIZE_MAX)
}

/// Returns a value or list: its length for a size of 0, ERANGE when it does not fit (E2BIG
/// when not even the largest buffer would hold it).
fn copy_out(t: &Task, addr: u64, size: u64, data: &[u8], max: u64) -> SysResult {
    let size = size.min(max);
    if size == 0 {
        return Ok(data.len() as u64);
    }
    if data.len() as u64 > size {
        return Err(if size >= max {
            Errno::E2BIG
        } else {
            Errno::ERANGE
        });
    }
    t.write_mem(addr, data)?;
    Ok(data.len() as u64)
}

fn list(t: &Task, target: Target, buf: u64, size: u64) -> SysResult {
    let ctx = Ctx::of(t);
    let loc = resolve(t, &ctx, &target)?;
    let admin = ctx.creds.has_cap(CAP_SYS_ADMIN);
    let mut out = Vec::new();
    for n in loc.inode().listxattr() {
        if !admin && n.starts_with(b"trusted.") {
            continue;
        }
        out.extend_from_slice(&n);
        out.push(0);
    }
    copy_out(t, buf, size, &out, XATTR_LIST_MAX)
}

fn remove(t: &Task, target: Target, namep: u64) -> SysResult {
    let name = read_name(t, namep)?;
    let ctx = Ctx::of(t);
    let loc = resolve(t, &ctx, &target)?;
    if loc.mnt.readonly() {
        return Err(Errno::EROFS);
    }
    permission(&ctx, &loc, &name, true)?;
    loc.inode().removexattr(&name)?;
    crate::vfs::notify::attrib(&loc);
    Ok(0)
}
