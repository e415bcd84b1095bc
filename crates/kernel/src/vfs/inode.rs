//! What a file system implements: a `FileSystem` per mounted instance, `Inode`s for its
//! objects, and `FileOps` for each open file description.

use super::{Ctx, File, Loc, Stat, Timespec};
use crate::mm::{MemObject, VmaName};
use crate::task::{SysResult, Task};
use abi::Errno;
use std::any::Any;
use std::sync::Arc;

/// One mounted file-system instance.
pub trait FileSystem: Send + Sync {
    /// The type name /proc/mounts shows ("tmpfs", "proc", ...).
    fn name(&self) -> &str;
    /// The device number stat reports for its files (host files carry their own).
    fn dev(&self) -> u64;
    fn statfs(&self) -> StatFs;
    /// Whether looked-up dentries may be cached (false for synthetic trees like /proc,
    /// whose entries come and go with processes).
    fn cache_dentries(&self) -> bool {
        true
    }
}

/// statfs(2) data.
#[derive(Clone, Debug, Default)]
pub struct StatFs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: u64,
    pub namelen: u64,
    pub frsize: u64,
    pub flags: u64,
}

impl StatFs {
    /// x86-64 `struct statfs` (120 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Vec::with_capacity(120);
        for v in [
            self.fs_type,
            self.bsize,
            self.blocks,
            self.bfree,
            self.bavail,
            self.files,
            self.ffree,
            self.fsid,
        ] {
            o.extend_from_slice(&v.to_le_bytes());
        }
        for v in [self.namelen, self.frsize, self.flags] {
            o.extend_from_slice(&v.to_le_bytes());
        }
        o.resize(120, 0);
        o
    }
}

/// Attribute changes (chmod, chown, truncate, utimes).
#[derive(Clone, Debug, Default)]
pub struct SetAttr {
    /// Permission bits (the type bits are kept).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<Timespec>,
    pub mtime: Option<Timespec>,
}

/// One directory entry from readdir.
#[derive(Clone, Debug)]
pub struct DirEnt {
    pub ino: u64,
    /// Position of the next entry (getdents' d_off).
    pub next: u64,
    /// DT_* type.
    pub dtype: u8,
    pub name: Vec<u8>,
}

/// Where a "magic" symlink (/proc/PID/fd/N, exe, cwd, root) leads: not a path text but
/// the object itself, as Linux's nd_jump_link.
pub enum LinkTarget {
    Loc(Loc),
}

/// A file-system object.
pub trait Inode: Send + Sync + Any {
    fn as_any(&self) -> &dyn Any;
    fn stat(&self) -> Result<Stat, Errno>;
    /// st_mode (type and permission bits), cheaper than a full stat.
    fn mode(&self) -> u32 {
        self.stat().map(|s| s.mode).unwrap_or(0)
    }
    /// The child `name` of this directory (never "." or "..": the walker handles those).
    fn lookup(&self, _ctx: &Ctx, _name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::ENOTDIR)
    }
    /// A symlink's text.
    fn readlink(&self, _ctx: &Ctx) -> Result<Vec<u8>, Errno> {
        Err(Errno::EINVAL)
    }
    /// For magic links: the object the link stands for. None for ordinary symlinks.
    fn magic_link(&self, _ctx: &Ctx) -> Option<Result<LinkTarget, Errno>> {
        None
    }
    /// Opens this inode. `loc` is where it was found (for files that need their path).
    fn open(self: Arc<Self>, ctx: &Ctx, loc: &Loc, flags: u32) -> Result<Box<dyn FileOps>, Errno>;

    // Directory operations; the VFS has already checked that `name` is a valid, absent (for
    // creation) component and that the caller may write the directory.
    fn create(&self, _ctx: &Ctx, _name: &[u8], _mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }
    fn mkdir(&self, _ctx: &Ctx, _name: &[u8], _mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }
    /// Creates a device node, FIFO or socket (mode carries the type).
    fn mknod(
        &self,
        _ctx: &Ctx,
        _name: &[u8],
        _mode: u32,
        _rdev: u64,
    ) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }
    fn symlink(&self, _ctx: &Ctx, _name: &[u8], _target: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EPERM)
    }
    /// Adds a hard link to `target` (an inode of the same file system).
    fn link(&self, _ctx: &Ctx, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    /// Removes a non-directory entry.
    fn unlink(&self, _ctx: &Ctx, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    /// Removes an empty directory entry.
    fn rmdir(&self, _ctx: &Ctx, _name: &[u8]) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    /// Moves `old` of this directory to `new` of `newdir` (same file system), replacing
    /// a compatible target. `flags`: RENAME_NOREPLACE / RENAME_EXCHANGE.
    fn rename(
        &self,
        _ctx: &Ctx,
        _old: &[u8],
        _newdir: &Arc<dyn Inode>,
        _new: &[u8],
        _flags: u32,
    ) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    /// An unnamed regular file in this directory (O_TMPFILE).
    fn tmpfile(&self, _ctx: &Ctx, _mode: u32) -> Result<Arc<dyn Inode>, Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn setattr(&self, _ctx: &Ctx, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }
    /// Allocates space (fallocate mode 0 / KEEP_SIZE).
    fn fallocate(&self, _mode: u32, _off: u64, _len: u64) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
}

/// Behaviour of an open file description.
pub trait FileOps: Send + Sync {
    /// Reads at `off` (ignored by stream files).
    fn read(&self, _t: &Task, _f: &File, _off: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    /// Writes at `off` (ignored by stream files; `APPEND` for O_APPEND).
    fn write(&self, _t: &Task, _f: &File, _off: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    /// False for pipes, sockets, ttys: lseek and pread give ESPIPE, the offset is unused.
    fn seekable(&self) -> bool {
        true
    }
    /// True when the file keeps its own offset (an imported host fd, whose offset is
    /// shared with host processes): read/write get `CURRENT`, lseek goes to `seek`.
    fn own_offset(&self) -> bool {
        false
    }
    /// lseek for files with their own offset, and for stream files (ESPIPE, or Ok(0)
    /// for files with Linux's noop_llseek such as eventfd and epoll).
    fn seek(&self, _off: i64, _whence: u32) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }
    /// Entries from position `pos`; `emit` returns false when the caller's buffer is full
    /// (the entry was not taken). Returns the position after the last taken entry.
    fn readdir(
        &self,
        _ctx: &Ctx,
        _pos: u64,
        _emit: &mut dyn FnMut(&DirEnt) -> bool,
    ) -> Result<u64, Errno> {
        Err(Errno::ENOTDIR)
    }
    fn ioctl(&self, _t: &Task, _f: &File, _cmd: u32, _arg: u64) -> SysResult {
        Err(Errno::ENOTTY)
    }
    /// Current readiness (POLLIN/POLLOUT/POLLHUP/POLLERR bits).
    fn poll(&self, _f: &File) -> u32 {
        POLLIN | POLLOUT
    }
    /// Queue notified when readiness may have changed, for poll/select/epoll. A file
    /// with a queue is pollable (epoll_ctl accepts it); one without is always ready and
    /// epoll refuses it with EPERM (regular files, most devices).
    fn wait_queue(&self) -> Option<Arc<crate::wait::WaitQueue>> {
        None
    }
    /// A host fd (and poll events) whose readiness stands for this file's.
    fn host_poll(&self) -> Option<i32> {
        None
    }
    /// Pages for mmap.
    fn mmap(&self, _f: &File) -> Result<(Arc<dyn MemObject>, VmaName), Errno> {
        Err(Errno::ENODEV)
    }
    /// fsync/fdatasync: EINVAL for files that cannot be synced (pipes, devices, ttys).
    fn fsync(&self) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
    /// Bytes readable now (FIONREAD) for stream files.
    fn nread(&self) -> Option<usize> {
        None
    }
    /// The name /proc/PID/fd shows when it is not a path ("pipe:[N]").
    fn name(&self) -> Option<String> {
        None
    }
    /// F_GETPIPE_SZ / F_SETPIPE_SZ (EBADF on files that are not pipes).
    fn pipe_size(&self, _new: Option<u64>) -> Result<u64, Errno> {
        Err(Errno::EBADF)
    }
    /// Called by open(2) once the file exists, with the opening task: FIFOs wait here
    /// for their peer.
    fn open_wait(&self, _t: &Task, _f: &File) -> Result<(), Errno> {
        Ok(())
    }
    /// The file behind this `FileOps`, for calls that work on one kind of file only
    /// (epoll_ctl, timerfd_settime...): `Some(self)` where that is needed.
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
    /// Lines /proc/PID/fdinfo/N shows after the common ones ("eventfd-count: ...").
    fn fdinfo(&self, _f: &File) -> String {
        String::new()
    }
    /// close(2) of one descriptor of this file by `t` (Linux's f_op->flush).
    fn flush(&self, _t: &Task, _f: &File) {}
}

/// Offset passed to `FileOps::write` for O_APPEND writes.
pub const APPEND: u64 = u64::MAX;
/// Offset passed to files that keep their own offset, for read(2)/write(2).
pub const CURRENT: u64 = u64::MAX - 1;

pub const POLLIN: u32 = 0x1;
pub const POLLPRI: u32 = 0x2;
pub const POLLOUT: u32 = 0x4;
pub const POLLERR: u32 = 0x8;
pub const POLLHUP: u32 = 0x10;
pub const POLLNVAL: u32 = 0x20;
pub const POLLRDNORM: u32 = 0x40;
pub const POLLWRNORM: u32 = 0x100;
