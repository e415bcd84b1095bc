//! Open file descriptions: a place, status flags, an offset, and the file system's
//! behaviour for this open (`FileOps`). Shared by every fd that dup/fork made from it.

use super::inode::{DirEnt, FileOps, Inode, APPEND, CURRENT};
use super::{mode, oflags, Ctx, Loc, Stat};
use crate::mm::{MemObject, VmaName};
use crate::task::{SysResult, Task};
use abi::Errno;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const SEEK_SET: u32 = 0;
pub const SEEK_CUR: u32 = 1;
pub const SEEK_END: u32 = 2;
pub const SEEK_DATA: u32 = 3;
pub const SEEK_HOLE: u32 = 4;

static NEXT_FILE_ID: AtomicU64 = AtomicU64::new(1);

pub struct File {
    pub loc: Loc,
    /// Status flags and access mode (never O_CLOEXEC, which belongs to the fd).
    flags: AtomicU32,
    /// The offset; also serializes read/write/getdents on seekable files, as f_pos_lock.
    pos: Mutex<u64>,
    ops: Box<dyn FileOps>,
    /// Unique id (for /proc/PID/fdinfo and debugging).
    pub id: u64,
}

impl File {
    pub fn new(loc: Loc, flags: u32, ops: Box<dyn FileOps>) -> Arc<File> {
        Arc::new(File {
            loc,
            flags: AtomicU32::new(flags & !oflags::O_CLOEXEC),
            pos: Mutex::new(0),
            ops,
            id: NEXT_FILE_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    pub fn inode(&self) -> &Arc<dyn Inode> {
        self.loc.inode()
    }

    pub fn ops(&self) -> &dyn FileOps {
        &*self.ops
    }

    /// O_* status flags, including the access mode.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Acquire)
    }

    /// F_SETFL: only the changeable flags move.
    pub fn set_flags(&self, f: u32) {
        let keep = self.flags() & !oflags::SETFL_MASK;
        self.flags
            .store(keep | (f & oflags::SETFL_MASK), Ordering::Release);
    }

    pub fn nonblock(&self) -> bool {
        self.flags() & oflags::O_NONBLOCK != 0
    }

    pub fn is_path(&self) -> bool {
        self.flags() & oflags::O_PATH != 0
    }

    pub fn readable(&self) -> bool {
        let f = self.flags();
        f & oflags::O_PATH == 0
            && matches!(f & oflags::O_ACCMODE, oflags::O_RDONLY | oflags::O_RDWR)
    }

    pub fn writable(&self) -> bool {
        let f = self.flags();
        f & oflags::O_PATH == 0
            && matches!(f & oflags::O_ACCMODE, oflags::O_WRONLY | oflags::O_RDWR)
    }

    /// The absolute path /proc/self/fd shows ("pipe:[N]" for pipes).
    pub fn path(&self) -> String {
        if let Some(n) = self.ops.name() {
            return n;
        }
        self.loc.path()
    }

    pub fn stat(&self) -> Result<Stat, Errno> {
        self.inode().stat()
    }

    pub fn seekable(&self) -> bool {
        self.ops.seekable()
    }

    /// Reads at `off` without moving the offset (pread; the ELF loader uses this).
    pub fn read_at(&self, t: &Task, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if mode::is_dir(self.inode().mode()) {
            return Err(Errno::EISDIR);
        }
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        self.ops.read(t, self, off, buf)
    }

    /// Writes at `off` without moving the offset (pwrite; Linux appends under O_APPEND).
    pub fn write_at(&self, t: &Task, off: u64, data: &[u8]) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return Err(Errno::ESPIPE);
        }
        let off = if self.flags() & oflags::O_APPEND != 0 {
            APPEND
        } else {
            off
        };
        let n = self.fsize_clip(t, off, data.len())?;
        self.ops.write(t, self, off, &data[..n])
    }

    /// RLIMIT_FSIZE for regular files: a write is cut at the limit; one starting at or past
    /// it fails with EFBIG and raises SIGXFSZ, as Linux's generic_write_check_limits does.
    fn fsize_clip(&self, t: &Task, off: u64, len: usize) -> Result<usize, Errno> {
        let limit = t.rlimit(1).0;
        if limit == u64::MAX || len == 0 || !mode::is_reg(self.inode().mode()) {
            return Ok(len);
        }
        let start = if off == APPEND || off == CURRENT {
            self.inode().stat().map(|s| s.size).unwrap_or(0)
        } else {
            off
        };
        if start >= limit {
            if let Some(tt) = crate::kernel().procs.lock().unwrap().task(t.tid) {
                let mut info =
                    abi::signal::SigInfo::new(abi::signal::SIGXFSZ, abi::signal::SI_USER);
                info.set_pid_uid(t.tgid(), 0);
                crate::signal::send_to_task(&tt, info);
            }
            return Err(Errno::EFBIG);
        }
        Ok(len.min((limit - start).min(usize::MAX as u64) as usize))
    }

    /// read(2): at the file offset, which advances.
    pub fn read(&self, t: &Task, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return self.ops.read(t, self, 0, buf);
        }
        if self.ops.own_offset() {
            return self.ops.read(t, self, CURRENT, buf);
        }
        if mode::is_dir(self.inode().mode()) {
            return Err(Errno::EISDIR);
        }
        let mut pos = self.pos.lock().unwrap();
        let n = self.ops.read(t, self, *pos, buf)?;
        *pos = pos.saturating_add(n as u64);
        Ok(n)
    }

    /// write(2): at the file offset (or the end under O_APPEND), which advances.
    pub fn write(&self, t: &Task, data: &[u8]) -> Result<usize, Errno> {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            return self.ops.write(t, self, 0, data);
        }
        if self.ops.own_offset() {
            return self.ops.write(t, self, CURRENT, data);
        }
        let mut pos = self.pos.lock().unwrap();
        if self.flags() & oflags::O_APPEND != 0 {
            let len = self.fsize_clip(t, APPEND, data.len())?;
            let n = self.ops.write(t, self, APPEND, &data[..len])?;
            *pos = self.inode().stat().map(|s| s.size).unwrap_or(*pos);
            return Ok(n);
        }
        let len = self.fsize_clip(t, *pos, data.len())?;
        let n = self.ops.write(t, self, *pos, &data[..len])?;
        *pos = pos.saturating_add(n as u64);
        Ok(n)
    }

    /// lseek(2).
    pub fn seek(&self, off: i64, whence: u32) -> Result<u64, Errno> {
        // Stream files answer themselves: ESPIPE, or 0 for Linux's noop_llseek files.
        if !self.ops.seekable() || self.ops.own_offset() {
            return self.ops.seek(off, whence);
        }
        let mut pos = self.pos.lock().unwrap();
        let is_dir = mode::is_dir(self.inode().mode());
        let base: i64 = match whence {
            SEEK_SET => 0,
            SEEK_CUR => *pos as i64,
            SEEK_END if !is_dir => self.inode().stat()?.size as i64,
            SEEK_DATA | SEEK_HOLE if !is_dir => {
                let size = self.inode().stat()?.size as i64;
                if off < 0 || off >= size {
                    return Err(Errno::ENXIO);
                }
                let r = if whence == SEEK_DATA { off } else { size };
                *pos = r as u64;
                return Ok(r as u64);
            }
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(off).ok_or(Errno::EOVERFLOW)?;
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        *pos = new as u64;
        Ok(new as u64)
    }

    pub fn pos(&self) -> u64 {
        if self.ops.own_offset() {
            return self.ops.seek(0, SEEK_CUR).unwrap_or(0);
        }
        *self.pos.lock().unwrap()
    }

    /// getdents: entries from the current position; `emit` returns false when full.
    pub fn readdir(&self, ctx: &Ctx, emit: &mut dyn FnMut(&DirEnt) -> bool) -> Result<(), Errno> {
        if self.is_path() {
            return Err(Errno::EBADF);
        }
        let mut pos = self.pos.lock().unwrap();
        *pos = self.ops.readdir(ctx, *pos, emit)?;
        Ok(())
    }

    pub fn ioctl(&self, t: &Task, cmd: u32, arg: u64) -> SysResult {
        if self.is_path() {
            return Err(Errno::EBADF);
        }
        self.ops.ioctl(t, self, cmd, arg)
    }

    /// What mmap maps: ENODEV if the file cannot be mapped.
    pub fn mmap_object(&self) -> Result<(Arc<dyn MemObject>, VmaName), Errno> {
        if self.is_path() {
            return Err(Errno::EBADF);
        }
        self.ops.mmap(self)
    }

    /// Readiness for poll (POLL* bits).
    pub fn poll(&self) -> u32 {
        if self.is_path() {
            return super::inode::POLLNVAL;
        }
        self.ops.poll(self)
    }
}
