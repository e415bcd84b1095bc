//! The virtual file system: Linux's model of dentries, inodes, mounts and open file
//! descriptions, with a path walker that follows symlinks, `..` and mount crossings.
//!
//! - `inode`: the traits a file system implements (`Inode`, `FileOps`, `FileSystem`);
//! - `dentry`: the name cache (`Dentry`), mounts and locations (`Loc`);
//! - `walk`: path resolution (symlinks, `..`, mount crossing, openat2 RESOLVE_* rules);
//! - `file`: open file descriptions (`File`);
//! - `fdtable`, `fsctx`: per-process descriptor tables and cwd/root/umask;
//! - `ops`: the path-based operations behind the syscalls (open, mkdir, rename, ...);
//! - `perm`: permission checks against the kernel's emulated credentials;
//! - `stat`: `Stat` and its encodings (struct stat, statx);
//! - `setup`: the mount table of `moat do`, `open_exec`, `host_fd_file`.

pub mod container;
pub mod dentry;
pub mod fdtable;
pub mod file;
pub mod fsctx;
pub mod inode;
pub mod ops;
pub mod perm;
pub mod setup;
pub mod stat;
pub mod walk;

pub use container::{lookup_exec, setup_container_root, MountSpec, RootSpec};
pub use dentry::{Dentry, Loc, Mount};
pub use fdtable::FdTable;
pub use file::File;
pub use fsctx::FsContext;
pub use inode::{DirEnt, FileOps, FileSystem, Inode, LinkTarget, SetAttr, StatFs};
pub use setup::{bind_host, host_fd_file, open_exec, setup_root, FsSpec, Volume};
pub use stat::{Stat, Timespec};

use crate::task::{Creds, Task};

/// Longest path accepted (PATH_MAX, including the NUL).
pub const PATH_MAX: usize = 4096;
/// Longest file name component.
pub const NAME_MAX: usize = 255;
/// Symlinks followed in one resolution before ELOOP (Linux's MAXSYMLINKS).
pub const MAX_SYMLINKS: u32 = 40;

/// open(2) flags (x86-64 values).
pub mod oflags {
    pub const O_ACCMODE: u32 = 0o3;
    pub const O_RDONLY: u32 = 0;
    pub const O_WRONLY: u32 = 1;
    pub const O_RDWR: u32 = 2;
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_NOCTTY: u32 = 0o400;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    pub const O_NONBLOCK: u32 = 0o4000;
    pub const O_DSYNC: u32 = 0o10000;
    pub const O_ASYNC: u32 = 0o20000;
    pub const O_DIRECT: u32 = 0o40000;
    pub const O_LARGEFILE: u32 = 0o100000;
    pub const O_DIRECTORY: u32 = 0o200000;
    pub const O_NOFOLLOW: u32 = 0o400000;
    pub const O_NOATIME: u32 = 0o1000000;
    pub const O_CLOEXEC: u32 = 0o2000000;
    pub const O_SYNC: u32 = 0o4010000;
    pub const O_PATH: u32 = 0o10000000;
    pub const O_TMPFILE: u32 = 0o20200000;
    /// Every flag open(2) knows (others are silently ignored by open, rejected by openat2).
    pub const O_VALID: u32 = O_ACCMODE
        | O_CREAT
        | O_EXCL
        | O_NOCTTY
        | O_TRUNC
        | O_APPEND
        | O_NONBLOCK
        | O_DSYNC
        | O_ASYNC
        | O_DIRECT
        | O_LARGEFILE
        | O_DIRECTORY
        | O_NOFOLLOW
        | O_NOATIME
        | O_CLOEXEC
        | O_SYNC
        | O_PATH
        | O_TMPFILE;
    /// Flags F_SETFL may change.
    pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
}

/// File type bits of st_mode.
pub mod mode {
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFSOCK: u32 = 0o140000;
    pub const S_IFLNK: u32 = 0o120000;
    pub const S_IFREG: u32 = 0o100000;
    pub const S_IFBLK: u32 = 0o060000;
    pub const S_IFDIR: u32 = 0o040000;
    pub const S_IFCHR: u32 = 0o020000;
    pub const S_IFIFO: u32 = 0o010000;
    pub const S_ISUID: u32 = 0o4000;
    pub const S_ISGID: u32 = 0o2000;
    pub const S_ISVTX: u32 = 0o1000;

    pub fn is_dir(m: u32) -> bool {
        m & S_IFMT == S_IFDIR
    }
    pub fn is_reg(m: u32) -> bool {
        m & S_IFMT == S_IFREG
    }
    pub fn is_lnk(m: u32) -> bool {
        m & S_IFMT == S_IFLNK
    }
    /// d_type of getdents for a mode.
    pub fn dtype(m: u32) -> u8 {
        ((m & S_IFMT) >> 12) as u8
    }
}

/// The caller's view for a path operation: who asks, and where "/" is.
#[derive(Clone)]
pub struct Ctx {
    pub tid: i32,
    pub tgid: i32,
    pub creds: Creds,
    pub root: Loc,
    pub umask: u32,
}

impl Ctx {
    /// The context of a task's path operation.
    pub fn of(t: &Task) -> Ctx {
        let fs = t.fs();
        Ctx {
            tid: t.tid,
            tgid: t.tgid(),
            creds: t.creds(),
            root: fs.root(),
            umask: fs.umask(),
        }
    }

    /// A root context at the global root (kernel-internal lookups, tests).
    pub fn kernel() -> Ctx {
        Ctx {
            tid: 0,
            tgid: 0,
            creds: Creds::root(),
            root: dentry::root_loc(),
            umask: 0o022,
        }
    }
}

/// Current wall-clock time.
pub fn now() -> Timespec {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timespec {
        sec: d.as_secs() as i64,
        nsec: d.subsec_nanos() as i64,
    }
}

#[cfg(test)]
mod tests;
