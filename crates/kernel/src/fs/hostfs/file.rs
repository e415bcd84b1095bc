//! Open host files: regular files (reads and writes on a host fd, mmap through the page
//! cache), directories (getdents on a host fd of their own) and FIFOs (a sandbox pipe
//! per host FIFO: sandbox processes meet each other there, never a host process).

use super::{sys, HostInode};
use crate::fs::pagecache;
use crate::fs::pipe::Pipe;
use crate::mm::{MemObject, VmaName};
use crate::task::Task;
use crate::vfs::inode::APPEND;
use crate::vfs::{Ctx, DirEnt, File, FileOps};
use abi::Errno;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, Weak};

/// An open host regular file. `fd` is the host fd (read-only, or the inode's shared
/// read-write fd for writable opens).
pub(super) struct HostFileOps {
    pub inode: Arc<HostInode>,
    pub fd: Arc<OwnedFd>,
    pub writable: bool,
}

impl HostFileOps {
    fn cache(&self) -> Option<Arc<pagecache::HostPages>> {
        let (dev, ino) = self.inode.key();
        pagecache::find(dev, ino)
    }
}

impl FileOps for HostFileOps {
    fn read(&self, _t: &Task, _f: &File, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if pagecache::any_dirty() {
            if let Some(c) = self.cache().filter(|c| c.may_be_dirty()) {
                return c.read(&self.fd, off, buf);
            }
        }
        sys::pread(self.fd.as_raw_fd(), buf, off)
    }

    fn write(&self, _t: &Task, _f: &File, off: u64, data: &[u8]) -> Result<usize, Errno> {
        if !self.writable {
            return Err(Errno::EBADF);
        }
        if data.is_empty() {
            return Ok(0);
        }
        let _g = self.inode.io.lock().unwrap();
        let fd = self.fd.as_raw_fd();
        let off = if off == APPEND {
            sys::fstat(fd)?.size
        } else {
            off
        };
        let n = sys::pwrite_all(fd, data, off)?;
        if let Some(c) = self.cache() {
            let st = sys::fstat(fd)?;
            c.wrote(off, &data[..n], st.size, (st.mtime.sec, st.mtime.nsec));
        }
        Ok(n)
    }

    fn fsync(&self) -> Result<(), Errno> {
        if let Some(c) = self.cache() {
            c.sync()?;
        }
        sys::fsync(self.fd.as_raw_fd())
    }

    fn mmap(&self, f: &File) -> Result<(Arc<dyn MemObject>, VmaName), Errno> {
        let fd = self.fd.as_raw_fd();
        let st = sys::fstat(fd)?;
        let pages = pagecache::get(
            st.dev,
            st.ino,
            st.size,
            (st.mtime.sec, st.mtime.nsec),
            || sys::dup(fd),
        )?;
        if self.writable {
            pages.set_writer(self.fd.clone());
        }
        Ok((
            pages as Arc<dyn MemObject>,
            VmaName::File {
                path: f.path(),
                dev: st.dev,
                ino: st.ino,
            },
        ))
    }
}

/// An open host directory: its own host fd, so each open has its own position.
pub(super) struct HostDirOps {
    pub fd: Mutex<OwnedFd>,
}

impl FileOps for HostDirOps {
    fn fsync(&self) -> Result<(), Errno> {
        sys::fsync(self.fd.lock().unwrap().as_raw_fd())
    }

    fn readdir(
        &self,
        _ctx: &Ctx,
        pos: u64,
        emit: &mut dyn FnMut(&DirEnt) -> bool,
    ) -> Result<u64, Errno> {
        let fd = self.fd.lock().unwrap();
        let raw = fd.as_raw_fd();
        let mut pos = pos;
        let mut buf = vec![0u8; 32768];
        loop {
            let n = sys::getdents(raw, pos, &mut buf)?;
            if n == 0 {
                return Ok(pos);
            }
            let mut i = 0usize;
            while i + 19 <= n {
                let ino = u64::from_le_bytes(buf[i..i + 8].try_into().unwrap_or([0; 8]));
                let off = i64::from_le_bytes(buf[i + 8..i + 16].try_into().unwrap_or([0; 8]));
                let reclen = u16::from_le_bytes([buf[i + 16], buf[i + 17]]) as usize;
                let dtype = buf[i + 18];
                if reclen == 0 || i + reclen > n {
                    break;
                }
                let name_bytes = &buf[i + 19..i + reclen];
                let end = name_bytes
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(name_bytes.len());
                let ent = DirEnt {
                    ino,
                    next: off as u64,
                    dtype,
                    name: name_bytes[..end].to_vec(),
                };
                if !emit(&ent) {
                    return Ok(pos);
                }
                pos = off as u64;
                i += reclen;
            }
        }
    }
}

/// The sandbox pipe behind host FIFO (dev, ino), shared by every open of it.
pub(super) fn fifo(dev: u64, ino: u64) -> Arc<Pipe> {
    static FIFOS: Mutex<Option<HashMap<(u64, u64), Weak<Pipe>>>> = Mutex::new(None);
    let mut g = FIFOS.lock().unwrap();
    let map = g.get_or_insert_with(HashMap::new);
    if let Some(p) = map.get(&(dev, ino)).and_then(|w| w.upgrade()) {
        return p;
    }
    let p = Pipe::new();
    if map.len() >= 64 {
        map.retain(|_, w| w.strong_count() > 0);
    }
    map.insert((dev, ino), Arc::downgrade(&p));
    p
}
