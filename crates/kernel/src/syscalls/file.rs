//! File-system syscalls: argument decoding, user memory, fd tables. The work itself is
//! in `vfs` (path operations, open files) and the file systems.
//!
//! - `file/rw.rs`: read/write family, lseek, sendfile;
//! - `file/fd.rs`: close, dup, fcntl, pipe, ioctl, flock, sync family;
//! - `file/path.rs`: open, stat, and every path-based call;
//! - `file/dirent.rs`: getdents.

mod dirent;
mod fd;
mod path;
mod rw;

pub(crate) use rw::{access_ok, gather, iovecs, scatter};

use crate::task::{SysResult, Task};
use crate::vfs::{File, Loc};
use abi::sysno as nr;
use abi::Errno;
use std::sync::Arc;

/// dirfd meaning "the working directory".
pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_EACCESS: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
pub const AT_EMPTY_PATH: u32 = 0x1000;
pub const AT_STATX_SYNC_TYPE: u32 = 0x6000;
/// Most bytes one read or write call moves (Linux's MAX_RW_COUNT).
pub const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// Bytes moved per step of a large transfer (the kernel buffer's size).
pub const CHUNK: usize = 1 << 20;
pub const IOV_MAX: u64 = 1024;
/// RLIMIT_NOFILE.
const RLIMIT_NOFILE: usize = 7;

/// An fd argument (syscalls take it as an unsigned int, stored as int).
pub(crate) fn fd_arg(v: u64) -> i32 {
    v as u32 as i32
}

/// The open file behind `fd` (EBADF), including O_PATH files.
pub(crate) fn get_file(t: &Task, fd: i32) -> Result<Arc<File>, Errno> {
    t.files().get(fd)
}

/// The open file behind `fd` for I/O: O_PATH files are EBADF.
pub(crate) fn io_file(t: &Task, fd: i32) -> Result<Arc<File>, Errno> {
    let f = t.files().get(fd)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

/// The soft RLIMIT_NOFILE.
pub(crate) fn nofile(t: &Task) -> u64 {
    t.rlimit(RLIMIT_NOFILE).0
}

/// Installs `f` at the lowest free fd (EMFILE past RLIMIT_NOFILE).
pub(crate) fn install(t: &Task, f: Arc<File>, cloexec: bool) -> SysResult {
    let fd = t.files().install_from(f, cloexec, 0, nofile(t))?;
    Ok(fd as u64)
}

/// Where a relative path given with `dirfd` starts.
pub(crate) fn start_loc(t: &Task, dirfd: i32, path: &[u8]) -> Result<Loc, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(t.fs().root());
    }
    if dirfd == AT_FDCWD {
        return Ok(t.fs().cwd());
    }
    let f = get_file(t, dirfd)?;
    if !crate::vfs::mode::is_dir(f.inode().mode()) {
        return Err(Errno::ENOTDIR);
    }
    Ok(f.loc.clone())
}

/// The place named by (dirfd, path, AT_EMPTY_PATH / AT_SYMLINK_NOFOLLOW flags).
pub(crate) fn at_loc(
    t: &Task,
    ctx: &crate::vfs::Ctx,
    dirfd: i32,
    path: &[u8],
    flags: u32,
) -> Result<Loc, Errno> {
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return Ok(t.fs().cwd());
        }
        return Ok(get_file(t, dirfd)?.loc.clone());
    }
    let start = start_loc(t, dirfd, path)?;
    crate::vfs::walk::resolve(ctx, &start, path, flags & AT_SYMLINK_NOFOLLOW == 0)
}

/// Reads a path argument (EFAULT, ENAMETOOLONG past PATH_MAX).
pub(crate) fn read_path(t: &Task, addr: u64) -> Result<Vec<u8>, Errno> {
    t.read_path(addr)
}

/// Serves the file-system syscalls; None for the others.
pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    let r = match n {
        nr::READ
        | nr::WRITE
        | nr::PREAD64
        | nr::PWRITE64
        | nr::READV
        | nr::WRITEV
        | nr::PREADV
        | nr::PWRITEV
        | nr::PREADV2
        | nr::PWRITEV2
        | nr::LSEEK
        | nr::SENDFILE => rw::dispatch(t, n, a)?,
        nr::CLOSE
        | nr::CLOSE_RANGE
        | nr::DUP
        | nr::DUP2
        | nr::DUP3
        | nr::FCNTL
        | nr::PIPE
        | nr::PIPE2
        | nr::IOCTL
        | nr::FLOCK
        | nr::FSYNC
        | nr::FDATASYNC
        | nr::SYNC
        | nr::SYNCFS
        | nr::FADVISE64
        | nr::FALLOCATE
        | nr::FTRUNCATE
        | nr::FCHMOD
        | nr::FCHOWN
        | nr::FCHDIR
        | nr::FSTATFS
        | nr::FSTAT
        | nr::SYNC_FILE_RANGE => fd::dispatch(t, n, a)?,
        nr::GETDENTS | nr::GETDENTS64 => dirent::dispatch(t, n, a)?,
        _ => path::dispatch(t, n, a)?,
    };
    Some(r)
}

/// The syscalls served here, each with its status ("" when complete).
pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::READ, ""),
        (nr::WRITE, ""),
        (nr::OPEN, ""),
        (nr::CLOSE, ""),
        (nr::STAT, ""),
        (nr::FSTAT, ""),
        (nr::LSTAT, ""),
        (nr::LSEEK, ""),
        (nr::IOCTL, "partial: terminals: ptys in full (termios/termio/termios2, window size, job control, flow, flush, TIOCSTI, packet mode, pty master requests; not TIOCVHANGUP on a master, TIOCCONS, modem lines), the host console with termios forwarded and job control in the sandbox; FIONREAD, FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC; others ENOTTY"),
        (nr::PREAD64, ""),
        (nr::PWRITE64, ""),
        (nr::READV, ""),
        (nr::WRITEV, ""),
        (nr::ACCESS, ""),
        (nr::PIPE, ""),
        (nr::DUP, ""),
        (nr::DUP2, ""),
        (nr::SENDFILE, "partial: copies through a kernel buffer"),
        (nr::FCNTL, "partial: F_SETOWN/F_SETSIG/F_NOTIFY accepted without effect"),
        (nr::FLOCK, ""),
        (nr::FSYNC, ""),
        (nr::FDATASYNC, ""),
        (nr::TRUNCATE, ""),
        (nr::FTRUNCATE, ""),
        (nr::GETDENTS, ""),
        (nr::GETCWD, ""),
        (nr::CHDIR, ""),
        (nr::FCHDIR, ""),
        (nr::RENAME, ""),
        (nr::MKDIR, ""),
        (nr::RMDIR, ""),
        (nr::CREAT, ""),
        (nr::LINK, ""),
        (nr::UNLINK, ""),
        (nr::SYMLINK, ""),
        (nr::READLINK, ""),
        (nr::CHMOD, ""),
        (nr::FCHMOD, ""),
        (nr::CHOWN, ""),
        (nr::FCHOWN, ""),
        (nr::LCHOWN, ""),
        (nr::UMASK, ""),
        (nr::UTIME, ""),
        (nr::MKNOD, "partial: FIFOs, sockets, regular files and whiteouts; device nodes need CAP_MKNOD, are EPERM on host directories, and only null/zero/full/random/urandom/tty open"),
        (nr::STATFS, ""),
        (nr::FSTATFS, ""),
        (nr::CHROOT, ""),
        (nr::SYNC, ""),
        (nr::GETDENTS64, ""),
        (nr::FADVISE64, "accepted: advice is checked and has no effect"),
        (nr::UTIMES, ""),
        (nr::OPENAT, ""),
        (nr::MKDIRAT, ""),
        (nr::MKNODAT, "partial: as mknod"),
        (nr::FCHOWNAT, ""),
        (nr::FUTIMESAT, ""),
        (nr::NEWFSTATAT, ""),
        (nr::UNLINKAT, ""),
        (nr::RENAMEAT, ""),
        (nr::LINKAT, ""),
        (nr::SYMLINKAT, ""),
        (nr::READLINKAT, ""),
        (nr::FCHMODAT, ""),
        (nr::FACCESSAT, ""),
        (nr::UTIMENSAT, ""),
        (nr::SYNC_FILE_RANGE, ""),
        (nr::FALLOCATE, ""),
        (nr::DUP3, ""),
        (nr::PIPE2, "partial: O_DIRECT (packet mode) pipes behave as byte streams"),
        (nr::PREADV, ""),
        (nr::PWRITEV, ""),
        (nr::SYNCFS, ""),
        (nr::RENAMEAT2, ""),
        (nr::PREADV2, "partial: RWF_* flags accepted, RWF_NOWAIT not honoured"),
        (nr::PWRITEV2, "partial: RWF_* flags accepted, RWF_NOWAIT not honoured"),
        (nr::STATX, "partial: no STATX_MNT_ID/DIOALIGN; btime only on tmpfs"),
        (nr::CLOSE_RANGE, ""),
        (nr::OPENAT2, ""),
        (nr::FACCESSAT2, ""),
        (nr::FCHMODAT2, ""),
    ]
}
