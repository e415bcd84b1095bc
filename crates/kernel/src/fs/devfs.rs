//! /dev: a tmpfs populated with the character devices the sandbox offers (null, zero,
//! full, random, urandom, tty, ptmx, and console when there is one), the fd/stdio
//! symlinks, and directories for shm and pts. Device nodes are tmpfs special inodes;
//! opening one comes here by its device number.

use super::tmpfs::TmpFs;
use crate::task::Task;
use crate::vfs::inode::{POLLIN, POLLOUT};
use crate::vfs::stat::makedev;
use crate::vfs::{mode, Ctx, File, FileOps, Inode};
use abi::Errno;
use std::sync::Arc;

/// Builds the /dev tree (the caller mounts a tmpfs on shm/).
pub fn build() -> Result<Arc<TmpFs>, Errno> {
    let fs = TmpFs::new(0o755);
    let root = fs.root_inode();
    let ctx = Ctx::kernel();
    let chr = mode::S_IFCHR | 0o666;
    for (name, maj, min) in [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
        ("ptmx", 5, 2),
    ] {
        root.mknod(&ctx, name.as_bytes(), chr, makedev(maj, min))?;
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("core", "/proc/kcore"),
    ] {
        root.symlink(&ctx, name.as_bytes(), target.as_bytes())?;
    }
    root.mkdir(&ctx, b"shm", 0o1777)?;
    root.mkdir(&ctx, b"pts", 0o755)?;
    root.mkdir(&ctx, b"mqueue", 0o1777)?;
    Ok(fs)
}

/// Adds /dev/console (5:1) when the sandbox runs on a terminal.
pub fn add_console(dev: &TmpFs) -> Result<(), Errno> {
    if crate::tty::console::get().is_some() {
        let ctx = Ctx::kernel();
        dev.root_inode()
            .mknod(&ctx, b"console", mode::S_IFCHR | 0o600, makedev(5, 1))?;
    }
    Ok(())
}

/// Opens the character device `rdev` for the process of `ctx`.
pub fn open_chardev(ctx: &Ctx, rdev: u64, _flags: u32) -> Result<Box<dyn FileOps>, Errno> {
    let (ma, mi) = (crate::vfs::stat::major(rdev), crate::vfs::stat::minor(rdev));
    match (ma, mi) {
        (1, 3) => Ok(Box::new(Null)),
        (1, 5) => Ok(Box::new(Zero)),
        (1, 7) => Ok(Box::new(Full)),
        (1, 8) => Ok(Box::new(Random { pollable: true })),
        (1, 9) => Ok(Box::new(Random { pollable: false })),
        (5, 0) => crate::tty::open_dev_tty(ctx),
        (5, 1) => super::hostfd::open_console("/dev/console"),
        (5, 2) => super::devpts::open_ptmx(ctx),
        _ => Err(Errno::ENXIO),
    }
}

/// /dev/null: reads end at once, writes vanish.
struct Null;

impl FileOps for Null {
    fn read(&self, _t: &Task, _f: &File, _off: u64, _buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&self, _t: &Task, _f: &File, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
    fn poll(&self, _f: &File) -> u32 {
        POLLIN | POLLOUT
    }
}

/// /dev/zero: zeros; mappable (private mappings are plain anonymous memory).
struct Zero;

impl FileOps for Zero {
    fn read(&self, _t: &Task, _f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, _t: &Task, _f: &File, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
    /// Every mapping of /dev/zero gets fresh zero-filled memory of its own (shared between
    /// the processes that inherit a MAP_SHARED one; copy-on-write for MAP_PRIVATE).
    fn mmap(
        &self,
        _f: &File,
    ) -> Result<(Arc<dyn crate::mm::MemObject>, crate::mm::VmaName), Errno> {
        Ok((
            Arc::new(crate::mm::ShmObject::new(platform::STUB_BASE)),
            crate::mm::VmaName::Named("/dev/zero (deleted)".into()),
        ))
    }
}

/// /dev/full: zeros to read, ENOSPC to write.
struct Full;

impl FileOps for Full {
    fn read(&self, _t: &Task, _f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, _t: &Task, _f: &File, _off: u64, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::ENOSPC)
    }
}

/// /dev/random and /dev/urandom: the host's CSPRNG; writes are accepted (mixing in
/// entropy needs no effect here). /dev/random is pollable (always ready), as in Linux.
struct Random {
    pollable: bool,
}

impl FileOps for Random {
    fn poll(&self, _f: &File) -> u32 {
        use crate::vfs::inode::{POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
        POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM
    }
    fn wait_queue(&self) -> Option<std::sync::Arc<crate::wait::WaitQueue>> {
        static Q: std::sync::OnceLock<std::sync::Arc<crate::wait::WaitQueue>> =
            std::sync::OnceLock::new();
        self.pollable
            .then(|| Q.get_or_init(Default::default).clone())
    }
    fn read(&self, _t: &Task, _f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        fill_random(buf);
        Ok(buf.len())
    }
    fn write(&self, _t: &Task, _f: &File, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
}

/// Fills `buf` from the host's getrandom.
pub fn fill_random(buf: &mut [u8]) {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: writing into our own buffer.
        let r = unsafe {
            libc::getrandom(
                buf[done..].as_mut_ptr() as *mut libc::c_void,
                buf.len() - done,
                0,
            )
        };
        if r <= 0 {
            continue;
        }
        done += r as usize;
    }
}
