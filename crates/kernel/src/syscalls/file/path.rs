//! Path-based calls: open family, stat family, and the namespace operations (mkdir,
//! unlink, rename, link, symlink, readlink, chmod, chown, utimes, access, truncate,
//! chdir, chroot, getcwd, statfs, mknod, umask).

use super::{
    at_loc, fd_arg, get_file, install, read_path, start_loc, AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD,
    AT_NO_AUTOMOUNT, AT_REMOVEDIR, AT_STATX_SYNC_TYPE, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW,
};
use crate::task::{SysResult, Task};
use crate::vfs::ops::{self, TimeArg};
use crate::vfs::walk::{self, RESOLVE_ALL};
use crate::vfs::{oflags, Ctx, Loc, Timespec};
use abi::sysno as nr;
use abi::Errno;

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;
const CAP_SYS_CHROOT: u32 = 18;

pub(super) fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    let cwd = AT_FDCWD;
    Some(match n {
        nr::OPEN => openat(t, cwd, a[0], a[1] as u32, a[2] as u32),
        nr::CREAT => openat(
            t,
            cwd,
            a[0],
            oflags::O_CREAT | oflags::O_WRONLY | oflags::O_TRUNC,
            a[1] as u32,
        ),
        nr::OPENAT => openat(t, fd_arg(a[0]), a[1], a[2] as u32, a[3] as u32),
        nr::OPENAT2 => openat2(t, fd_arg(a[0]), a[1], a[2], a[3]),
        nr::STAT => fstatat(t, cwd, a[0], a[1], 0),
        nr::LSTAT => fstatat(t, cwd, a[0], a[1], AT_SYMLINK_NOFOLLOW),
        nr::NEWFSTATAT => fstatat(t, fd_arg(a[0]), a[1], a[2], a[3] as u32),
        nr::STATX => statx(t, fd_arg(a[0]), a[1], a[2] as u32, a[3] as u32, a[4]),
        nr::ACCESS => faccessat(t, cwd, a[0], a[1] as u32, 0),
        nr::FACCESSAT => faccessat(t, fd_arg(a[0]), a[1], a[2] as u32, 0),
        nr::FACCESSAT2 => faccessat(t, fd_arg(a[0]), a[1], a[2] as u32, a[3] as u32),
        nr::MKDIR => mkdirat(t, cwd, a[0], a[1] as u32),
        nr::MKDIRAT => mkdirat(t, fd_arg(a[0]), a[1], a[2] as u32),
        nr::MKNOD => mknodat(t, cwd, a[0], a[1] as u32, a[2]),
        nr::MKNODAT => mknodat(t, fd_arg(a[0]), a[1], a[2] as u32, a[3]),
        nr::RMDIR => unlinkat(t, cwd, a[0], AT_REMOVEDIR as u64),
        nr::UNLINK => unlinkat(t, cwd, a[0], 0),
        nr::UNLINKAT => unlinkat(t, fd_arg(a[0]), a[1], a[2]),
        nr::RENAME => renameat2(t, cwd, a[0], cwd, a[1], 0),
        nr::RENAMEAT => renameat2(t, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], 0),
        nr::RENAMEAT2 => renameat2(t, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4]),
        nr::LINK => linkat(t, cwd, a[0], cwd, a[1], 0),
        nr::LINKAT => linkat(t, fd_arg(a[0]), a[1], fd_arg(a[2]), a[3], a[4]),
        nr::SYMLINK => symlinkat(t, a[0], cwd, a[1]),
        nr::SYMLINKAT => symlinkat(t, a[0], fd_arg(a[1]), a[2]),
        nr::READLINK => readlinkat(t, cwd, a[0], a[1], a[2]),
        nr::READLINKAT => readlinkat(t, fd_arg(a[0]), a[1], a[2], a[3]),
        nr::CHMOD => fchmodat(t, cwd, a[0], a[1] as u32, 0),
        nr::FCHMODAT => fchmodat(t, fd_arg(a[0]), a[1], a[2] as u32, 0),
        nr::FCHMODAT2 => fchmodat(t, fd_arg(a[0]), a[1], a[2] as u32, a[3]),
        nr::CHOWN => fchownat(t, cwd, a[0], a[1] as u32, a[2] as u32, 0),
        nr::LCHOWN => fchownat(
            t,
            cwd,
            a[0],
            a[1] as u32,
            a[2] as u32,
            AT_SYMLINK_NOFOLLOW as u64,
        ),
        nr::FCHOWNAT => fchownat(t, fd_arg(a[0]), a[1], a[2] as u32, a[3] as u32, a[4]),
        nr::UTIME => utime(t, a[0], a[1]),
        nr::UTIMES => futimesat(t, cwd, a[0], a[1]),
        nr::FUTIMESAT => futimesat(t, fd_arg(a[0]), a[1], a[2]),
        nr::UTIMENSAT => utimensat(t, fd_arg(a[0]), a[1], a[2], a[3]),
        nr::TRUNCATE => truncate(t, a[0], a[1] as i64),
        nr::CHDIR => chdir(t, a[0]),
        nr::CHROOT => chroot(t, a[0]),
        nr::GETCWD => getcwd(t, a[0], a[1]),
        nr::STATFS => statfs(t, a[0], a[1]),
        nr::UMASK => Ok(t.fs().set_umask(a[0] as u32) as u64),
        _ => return None,
    })
}

/// open/openat/creat: unknown flags are ignored, as Linux does.
fn openat(t: &Task, dirfd: i32, pathp: u64, flags: u32, cmode: u32) -> SysResult {
    let path = read_path(t, pathp)?;
    do_open(t, dirfd, &path, flags & oflags::O_VALID, cmode, 0)
}

/// openat2: every field validated (EINVAL for unknown flags or resolve bits, E2BIG for
/// non-zero bytes past the struct this kernel knows).
fn openat2(t: &Task, dirfd: i32, pathp: u64, howp: u64, size: u64) -> SysResult {
    const OPEN_HOW_SIZE: u64 = 24;
    if size < OPEN_HOW_SIZE {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut how = vec![0u8; size as usize];
    t.read_mem(howp, &mut how)?;
    if how[24..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let flags = u64::from_le_bytes(how[0..8].try_into().unwrap_or([0; 8]));
    let cmode = u64::from_le_bytes(how[8..16].try_into().unwrap_or([0; 8]));
    let resolve = u64::from_le_bytes(how[16..24].try_into().unwrap_or([0; 8]));
    if flags & !(oflags::O_VALID as u64) != 0 || resolve & !RESOLVE_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = flags as u32;
    let creating = flags & oflags::O_CREAT != 0 || flags & oflags::O_TMPFILE == oflags::O_TMPFILE;
    if cmode & !0o7777 != 0 || (!creating && cmode != 0) {
        return Err(Errno::EINVAL);
    }
    if resolve & walk::RESOLVE_BENEATH != 0 && resolve & walk::RESOLVE_IN_ROOT != 0 {
        return Err(Errno::EINVAL);
    }
    if resolve & walk::RESOLVE_CACHED != 0
        && flags & (oflags::O_TRUNC | oflags::O_CREAT | oflags::O_TMPFILE) != 0
    {
        return Err(Errno::EAGAIN);
    }
    let path = read_path(t, pathp)?;
    do_open(t, dirfd, &path, flags, cmode as u32, resolve)
}

fn do_open(t: &Task, dirfd: i32, path: &[u8], flags: u32, cmode: u32, resolve: u64) -> SysResult {
    let mut flags = flags;
    // __O_TMPFILE without O_DIRECTORY, and O_CREAT with O_DIRECTORY, are EINVAL.
    let tmp_bit = oflags::O_TMPFILE & !oflags::O_DIRECTORY;
    if flags & tmp_bit != 0 && flags & oflags::O_DIRECTORY == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & oflags::O_CREAT != 0 && flags & oflags::O_DIRECTORY != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & oflags::O_PATH != 0 {
        flags &= oflags::O_PATH | oflags::O_DIRECTORY | oflags::O_NOFOLLOW | oflags::O_CLOEXEC;
    }
    let ctx = Ctx::of(t);
    let start = if resolve & (walk::RESOLVE_BENEATH | walk::RESOLVE_IN_ROOT) != 0
        && path.first() == Some(&b'/')
    {
        // Absolute paths are relative to the start dir (IN_ROOT) or refused (BENEATH): the
        // walker needs the dirfd's place either way.
        if dirfd == AT_FDCWD {
            t.fs().cwd()
        } else {
            get_file(t, dirfd)?.loc.clone()
        }
    } else {
        start_loc(t, dirfd, path)?
    };
    let f = ops::open(&ctx, &start, path, flags, cmode, resolve)?;
    f.ops().open_wait(t, &f)?;
    if !f.is_path() {
        crate::vfs::lock::break_lease(t, &f, f.writable(), f.nonblock())?;
    }
    install(t, f, flags & oflags::O_CLOEXEC != 0)
}

fn fstatat(t: &Task, dirfd: i32, pathp: u64, buf: u64, flags: u32) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, dirfd, &path, flags)?;
    let st = loc.inode().stat()?;
    t.write_mem(buf, &st.to_bytes())?;
    Ok(0)
}

fn statx(t: &Task, dirfd: i32, pathp: u64, flags: u32, mask: u32, buf: u64) -> SysResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & 0x8000_0000 != 0
    {
        return Err(Errno::EINVAL);
    }
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, dirfd, &path, flags)?;
    let st = loc.inode().stat()?;
    t.write_mem(buf, &st.to_statx(mask))?;
    Ok(0)
}

fn faccessat(t: &Task, dirfd: i32, pathp: u64, amode: u32, flags: u32) -> SysResult {
    if flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    if amode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, dirfd, &path, flags)?;
    ops::access(&ctx, &loc, amode, flags & AT_EACCESS != 0)?;
    Ok(0)
}

fn mkdirat(t: &Task, dirfd: i32, pathp: u64, m: u32) -> SysResult {
    let path = read_path(t, pathp)?;
    let start = start_loc(t, dirfd, &path)?;
    ops::mkdir(&Ctx::of(t), &start, &path, m)?;
    Ok(0)
}

fn mknodat(t: &Task, dirfd: i32, pathp: u64, m: u32, dev: u64) -> SysResult {
    let path = read_path(t, pathp)?;
    let start = start_loc(t, dirfd, &path)?;
    // The dev_t argument is the old 32-bit encoding: major in bits 8..20, minor split.
    let d = dev as u32 as u64;
    let rdev = crate::vfs::stat::makedev((d >> 8) & 0xfff, (d & 0xff) | ((d >> 12) & 0xfff00));
    ops::mknod(&Ctx::of(t), &start, &path, m, rdev)?;
    Ok(0)
}

fn unlinkat(t: &Task, dirfd: i32, pathp: u64, flags: u64) -> SysResult {
    if flags & !(AT_REMOVEDIR as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(t, pathp)?;
    let start = start_loc(t, dirfd, &path)?;
    let ctx = Ctx::of(t);
    if flags != 0 {
        ops::rmdir(&ctx, &start, &path)?;
    } else {
        ops::unlink(&ctx, &start, &path)?;
    }
    Ok(0)
}

fn renameat2(t: &Task, ofd: i32, op: u64, nfd: i32, np: u64, flags: u64) -> SysResult {
    if flags > u32::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let opath = read_path(t, op)?;
    let npath = read_path(t, np)?;
    let os = start_loc(t, ofd, &opath)?;
    let ns = start_loc(t, nfd, &npath)?;
    ops::rename(&Ctx::of(t), &os, &opath, &ns, &npath, flags as u32)?;
    Ok(0)
}

fn linkat(t: &Task, ofd: i32, op: u64, nfd: i32, np: u64, flags: u64) -> SysResult {
    if flags & !((AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = flags as u32;
    let opath = read_path(t, op)?;
    let npath = read_path(t, np)?;
    let ctx = Ctx::of(t);
    // linkat follows a final symlink only with AT_SYMLINK_FOLLOW.
    let follow = if flags & AT_SYMLINK_FOLLOW != 0 {
        0
    } else {
        AT_SYMLINK_NOFOLLOW
    };
    let old = at_loc(t, &ctx, ofd, &opath, follow | (flags & AT_EMPTY_PATH))?;
    let ns = start_loc(t, nfd, &npath)?;
    ops::link(&ctx, &old, &ns, &npath)?;
    Ok(0)
}

fn symlinkat(t: &Task, targetp: u64, nfd: i32, np: u64) -> SysResult {
    let target = read_path(t, targetp)?;
    let path = read_path(t, np)?;
    let start = start_loc(t, nfd, &path)?;
    ops::symlink(&Ctx::of(t), &target, &start, &path)?;
    Ok(0)
}

fn readlinkat(t: &Task, dirfd: i32, pathp: u64, buf: u64, size: u64) -> SysResult {
    if size as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(
        t,
        &ctx,
        dirfd,
        &path,
        AT_SYMLINK_NOFOLLOW | if path.is_empty() { AT_EMPTY_PATH } else { 0 },
    )?;
    let text = ops::readlink(&ctx, &loc).map_err(|e| {
        if path.is_empty() && e == Errno::EINVAL {
            Errno::ENOENT
        } else {
            e
        }
    })?;
    let n = text.len().min(size as i32 as usize);
    t.write_mem(buf, &text[..n])?;
    Ok(n as u64)
}

fn fchmodat(t: &Task, dirfd: i32, pathp: u64, m: u32, flags: u64) -> SysResult {
    if flags & !((AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, dirfd, &path, flags as u32)?;
    if crate::vfs::mode::is_lnk(loc.inode().mode()) {
        return Err(Errno::EOPNOTSUPP);
    }
    ops::chmod(&ctx, &loc, m)?;
    Ok(0)
}

fn fchownat(t: &Task, dirfd: i32, pathp: u64, uid: u32, gid: u32, flags: u64) -> SysResult {
    if flags & !((AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, dirfd, &path, flags as u32)?;
    ops::chown(&ctx, &loc, uid, gid)?;
    Ok(0)
}

/// utime(path, struct utimbuf *): NULL means now.
fn utime(t: &Task, pathp: u64, timesp: u64) -> SysResult {
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, AT_FDCWD, &path, 0)?;
    let (at, mt) = if timesp == 0 {
        (TimeArg::Now, TimeArg::Now)
    } else {
        let v: [i64; 2] = t.read_val(timesp)?;
        (
            TimeArg::At(Timespec { sec: v[0], nsec: 0 }),
            TimeArg::At(Timespec { sec: v[1], nsec: 0 }),
        )
    };
    ops::utimes(&ctx, &loc, at, mt)?;
    Ok(0)
}

/// utimes/futimesat(dirfd, path, struct timeval[2]).
fn futimesat(t: &Task, dirfd: i32, pathp: u64, tvp: u64) -> SysResult {
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let (at, mt) = if tvp == 0 {
        (TimeArg::Now, TimeArg::Now)
    } else {
        let v: [i64; 4] = t.read_val(tvp)?;
        let conv = |s: i64, us: i64| -> Result<TimeArg, Errno> {
            if !(0..1_000_000).contains(&us) {
                return Err(Errno::EINVAL);
            }
            Ok(TimeArg::At(Timespec {
                sec: s,
                nsec: us * 1000,
            }))
        };
        (conv(v[0], v[1])?, conv(v[2], v[3])?)
    };
    let loc = at_loc(t, &ctx, dirfd, &path, 0)?;
    ops::utimes(&ctx, &loc, at, mt)?;
    Ok(0)
}

/// utimensat(dirfd, path, struct timespec[2], flags); a NULL path means dirfd itself.
fn utimensat(t: &Task, dirfd: i32, pathp: u64, tsp: u64, flags: u64) -> SysResult {
    if flags & !((AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) as u64) != 0 {
        return Err(Errno::EINVAL);
    }
    let (at, mt) = if tsp == 0 {
        (TimeArg::Now, TimeArg::Now)
    } else {
        let v: [i64; 4] = t.read_val(tsp)?;
        let conv = |s: i64, ns: i64| -> Result<TimeArg, Errno> {
            match ns {
                UTIME_NOW => Ok(TimeArg::Now),
                UTIME_OMIT => Ok(TimeArg::Omit),
                n if (0..1_000_000_000).contains(&n) => {
                    Ok(TimeArg::At(Timespec { sec: s, nsec: n }))
                }
                _ => Err(Errno::EINVAL),
            }
        };
        (conv(v[0], v[1])?, conv(v[2], v[3])?)
    };
    let ctx = Ctx::of(t);
    let loc: Loc = if pathp == 0 {
        if dirfd == AT_FDCWD {
            return Err(Errno::EFAULT);
        }
        get_file(t, dirfd)?.loc.clone()
    } else {
        let path = read_path(t, pathp)?;
        at_loc(t, &ctx, dirfd, &path, flags as u32)?
    };
    ops::utimes(&ctx, &loc, at, mt)?;
    Ok(0)
}

fn truncate(t: &Task, pathp: u64, len: i64) -> SysResult {
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, AT_FDCWD, &path, 0)?;
    ops::truncate(&ctx, &loc, len)?;
    Ok(0)
}

fn chdir(t: &Task, pathp: u64) -> SysResult {
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, AT_FDCWD, &path, 0)?;
    ops::enterable(&ctx, &loc)?;
    t.fs().set_cwd(loc);
    Ok(0)
}

fn chroot(t: &Task, pathp: u64) -> SysResult {
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, AT_FDCWD, &path, 0)?;
    ops::enterable(&ctx, &loc)?;
    if !ctx.creds.has_cap(CAP_SYS_CHROOT) {
        return Err(Errno::EPERM);
    }
    t.fs().set_root(loc);
    Ok(0)
}

fn getcwd(t: &Task, buf: u64, size: u64) -> SysResult {
    let ctx = Ctx::of(t);
    let mut p = ops::cwd_path(&ctx, &t.fs().cwd())?;
    p.push(0);
    if (p.len() as u64) > size {
        return Err(Errno::ERANGE);
    }
    t.write_mem(buf, &p)?;
    Ok(p.len() as u64)
}

fn statfs(t: &Task, pathp: u64, buf: u64) -> SysResult {
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let loc = at_loc(t, &ctx, AT_FDCWD, &path, 0)?;
    t.write_mem(buf, &ops::statfs(&loc).to_bytes())?;
    Ok(0)
}
