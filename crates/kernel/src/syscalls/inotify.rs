//! inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch (the instances are
//! fs/inotify.rs; the events come from vfs/notify.rs).

use super::file::{fd_arg, get_file, install, read_path, AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use crate::fs::inotify::{self as ino, Inotify};
use crate::task::{SysResult, Task};
use crate::vfs::perm::{self, MAY_READ};
use crate::vfs::{mode, oflags, Ctx};
use abi::sysno as nr;
use abi::Errno;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::INOTIFY_INIT => init(t, 0),
        nr::INOTIFY_INIT1 => init(t, a[0]),
        nr::INOTIFY_ADD_WATCH => add_watch(t, fd_arg(a[0]), a[1], a[2] as u32),
        nr::INOTIFY_RM_WATCH => rm_watch(t, fd_arg(a[0]), a[1] as u32 as i32),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::INOTIFY_INIT, ""),
        (nr::INOTIFY_INIT1, ""),
        (
            nr::INOTIFY_ADD_WATCH,
            "partial: changes made to host files outside the sandbox are not seen",
        ),
        (nr::INOTIFY_RM_WATCH, ""),
    ]
}

fn init(t: &Task, flags: u64) -> SysResult {
    let ok = (oflags::O_CLOEXEC | oflags::O_NONBLOCK) as u64;
    if flags & !ok != 0 {
        return Err(Errno::EINVAL);
    }
    let f = Inotify::create(flags as u32)?;
    install(t, f, flags & oflags::O_CLOEXEC as u64 != 0)
}

fn add_watch(t: &Task, fd: i32, pathp: u64, mask: u32) -> SysResult {
    if mask & ino::ALL_BITS == 0 {
        return Err(Errno::EINVAL);
    }
    let f = get_file(t, fd)?;
    if mask & ino::IN_MASK_ADD != 0 && mask & ino::IN_MASK_CREATE != 0 {
        return Err(Errno::EINVAL);
    }
    let me = ino::instance(&f)?;
    let path = read_path(t, pathp)?;
    let ctx = Ctx::of(t);
    let flags = if mask & ino::IN_DONT_FOLLOW != 0 {
        AT_SYMLINK_NOFOLLOW
    } else {
        0
    };
    let loc = super::file::at_loc(t, &ctx, AT_FDCWD, &path, flags)?;
    let st = loc.inode().stat()?;
    if mask & ino::IN_ONLYDIR != 0 && !mode::is_dir(st.mode) {
        return Err(Errno::ENOTDIR);
    }
    perm::check(&ctx.creds, &st, MAY_READ)?;
    Ok(me.add_watch((st.dev, st.ino), mask)? as u64)
}

fn rm_watch(t: &Task, fd: i32, wd: i32) -> SysResult {
    let f = get_file(t, fd)?;
    ino::instance(&f)?.rm_watch(wd)?;
    Ok(0)
}
