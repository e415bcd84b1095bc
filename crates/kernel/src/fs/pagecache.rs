//! The page cache of host files: memory-file pages of one host file (device, inode),
//! shared by every process that maps it, filled on first touch by pread from a host fd.
//!
//! Coherence with writes: a write(2) through a writable hostfs mount goes to the host
//! file and into the cached pages it covers (`wrote`); truncation drops or zeroes them
//! (`truncated`). A cache that ever had a MAP_SHARED mapping of a file opened read-write
//! may hold bytes the host has not seen: read(2) then reads through it (`read`), and
//! msync, fsync and the end of the last mapping write every cached page back to the host
//! file (`sync`). A cache made for a read-only mapping is reused only while the host
//! file keeps the size and mtime it had when it was filled (a file changed on the host
//! gets a fresh cache; old mappings keep their old pages, as after a copy-up).

use super::hostfs::sys;
use crate::memfile::{memfile, PAGE};
use crate::mm::{MemObject, PageSet};
use abi::Errno;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Size and mtime of the host file that the cached pages reflect.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Version {
    size: u64,
    mtime: (i64, i64),
}

pub struct HostPages {
    /// Read-only host fd for fills.
    fd: OwnedFd,
    /// A read-write host fd for write-back (set by writable mappings).
    writer: Mutex<Option<Arc<OwnedFd>>>,
    ver: Mutex<Version>,
    /// Some MAP_SHARED mapping may have written into the pages.
    shared_writable: AtomicBool,
    pages: PageSet,
    /// Serializes fills, updates and write-back, so no one sees a frame before its
    /// contents are read in.
    fill: Mutex<()>,
}

impl HostPages {
    fn size(&self) -> u64 {
        self.ver.lock().unwrap().size
    }

    fn fill_frame(&self, frame: u64, idx: u64, size: u64) -> Result<(), Errno> {
        let off = idx * PAGE;
        let want = (size - off).min(PAGE) as usize;
        let mut buf = vec![0u8; want];
        let mut done = 0usize;
        while done < want {
            let n = sys::pread(self.fd.as_raw_fd(), &mut buf[done..], off + done as u64)
                .map_err(|_| Errno::EIO)?;
            if n == 0 {
                break; // the file shrank: the rest stays zero
            }
            done += n;
        }
        memfile().write(frame, &buf[..done]);
        Ok(())
    }

    /// Has a writable shared mapping ever been made (read(2) must go through the pages)?
    pub fn may_be_dirty(&self) -> bool {
        self.shared_writable.load(Ordering::Acquire)
    }

    /// The read-write fd write-back uses.
    pub fn set_writer(&self, fd: Arc<OwnedFd>) {
        let mut w = self.writer.lock().unwrap();
        if w.is_none() {
            *w = Some(fd);
        }
    }

    /// read(2) through the cache: cached pages win over the host file's bytes.
    pub fn read(&self, host: &OwnedFd, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let _g = self.fill.lock().unwrap();
        let size = self.size();
        if off >= size {
            return Ok(0);
        }
        let n = ((size - off).min(buf.len() as u64)) as usize;
        let buf = &mut buf[..n];
        let mut done = 0usize;
        while done < n {
            let got = sys::pread(host.as_raw_fd(), &mut buf[done..], off + done as u64)?;
            if got == 0 {
                buf[done..].fill(0);
                break;
            }
            done += got;
        }
        let mut pos = off;
        while pos < off + n as u64 {
            let idx = pos / PAGE;
            let in_page = pos % PAGE;
            let len = (PAGE - in_page).min(off + n as u64 - pos) as usize;
            if let Some(f) = self.pages.get(idx) {
                let s = (pos - off) as usize;
                memfile().read(f + in_page, &mut buf[s..s + len]);
            }
            pos += len as u64;
        }
        Ok(n)
    }

    /// A write(2) of `data` at `off` reached the host file, now of `size` bytes.
    pub fn wrote(&self, off: u64, data: &[u8], size: u64, mtime: (i64, i64)) {
        let _g = self.fill.lock().unwrap();
        let mut pos = off;
        let end = off + data.len() as u64;
        while pos < end {
            let idx = pos / PAGE;
            let in_page = pos % PAGE;
            let len = (PAGE - in_page).min(end - pos) as usize;
            if let Some(f) = self.pages.get(idx) {
                let s = (pos - off) as usize;
                memfile().write(f + in_page, &data[s..s + len]);
            }
            pos += len as u64;
        }
        *self.ver.lock().unwrap() = Version { size, mtime };
    }

    /// The host file was truncated (or extended) to `size` bytes.
    pub fn truncated(&self, size: u64, mtime: (i64, i64)) {
        let _g = self.fill.lock().unwrap();
        let old = self.size();
        self.pages.truncate(size.min(old));
        *self.ver.lock().unwrap() = Version { size, mtime };
    }

    /// Bytes in [off, off+len) became zero on the host (hole punching): the cached pages
    /// follow.
    pub fn zeroed(&self, off: u64, len: u64) {
        let _g = self.fill.lock().unwrap();
        let end = off.saturating_add(len).min(self.size());
        let mut pos = off;
        while pos < end {
            let idx = pos / PAGE;
            let in_page = pos % PAGE;
            let n = (PAGE - in_page).min(end - pos);
            if let Some(f) = self.pages.get(idx) {
                memfile().zero(f + in_page, n);
            }
            pos += n;
        }
    }

    /// Writes every cached page back to the host file (when a writable shared mapping
    /// may have changed them).
    fn writeback(&self) -> Result<(), Errno> {
        if !self.may_be_dirty() {
            return Ok(());
        }
        let Some(w) = self.writer.lock().unwrap().clone() else {
            return Ok(());
        };
        let _g = self.fill.lock().unwrap();
        let size = self.size();
        let mut buf = vec![0u8; PAGE as usize];
        for (idx, frame) in self.pages.present() {
            let off = idx * PAGE;
            if off >= size {
                continue;
            }
            let n = (size - off).min(PAGE) as usize;
            memfile().read(frame, &mut buf[..n]);
            sys::pwrite_all(w.as_raw_fd(), &buf[..n], off)?;
        }
        if let Ok(st) = sys::fstat(w.as_raw_fd()) {
            *self.ver.lock().unwrap() = Version {
                size: st.size,
                mtime: (st.mtime.sec, st.mtime.nsec),
            };
        }
        Ok(())
    }
}

impl MemObject for HostPages {
    fn page(&self, idx: u64) -> Result<u64, Errno> {
        let _g = self.fill.lock().unwrap();
        let size = self.size();
        if idx.checked_mul(PAGE).map(|o| o >= size).unwrap_or(true) {
            return Err(Errno::EFAULT);
        }
        if let Some(f) = self.pages.get(idx) {
            memfile().incref(f);
            return Ok(f);
        }
        let f = self.pages.frame(idx)?;
        if let Err(e) = self.fill_frame(f, idx, size) {
            // Leave no half-read page behind.
            self.pages.truncate(idx * PAGE);
            return Err(e);
        }
        memfile().incref(f);
        Ok(f)
    }

    fn shared_writable(&self) {
        if !self.shared_writable.swap(true, Ordering::AcqRel) {
            DIRTY_CAPABLE.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn sync(&self) -> Result<(), Errno> {
        self.writeback()
    }
}

impl Drop for HostPages {
    /// The last mapping is gone: what it wrote reaches the host file.
    fn drop(&mut self) {
        if let Err(e) = self.writeback() {
            crate::debug!("pagecache: write-back failed: {}", e.name());
        }
        if self.may_be_dirty() {
            DIRTY_CAPABLE.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Number of live caches that may hold bytes the host file lacks.
static DIRTY_CAPABLE: AtomicUsize = AtomicUsize::new(0);

/// Might any cache hold bytes its host file lacks? (read(2) skips the cache lookup when
/// none can.)
pub fn any_dirty() -> bool {
    DIRTY_CAPABLE.load(Ordering::Acquire) != 0
}

static CACHE: Mutex<Option<HashMap<(u64, u64), Weak<HostPages>>>> = Mutex::new(None);

/// Writes every cache's pages that writable shared mappings may have changed back to
/// the host (when the sandbox ends with such mappings still alive).
pub fn sync_all() {
    let live: Vec<Arc<HostPages>> = {
        let g = CACHE.lock().unwrap();
        g.iter()
            .flat_map(|m| m.values())
            .filter_map(|w| w.upgrade())
            .collect()
    };
    for p in live {
        let _ = p.sync();
    }
}

/// The live page cache of host file (dev, ino), if any.
pub fn find(dev: u64, ino: u64) -> Option<Arc<HostPages>> {
    let g = CACHE.lock().unwrap();
    g.as_ref()?.get(&(dev, ino)).and_then(|w| w.upgrade())
}

/// The shared page cache of host file (dev, ino), whose host size and mtime are now
/// `size` and `mtime`; `open` gives a read-only host fd for it when the cache must be
/// created.
pub fn get(
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    open: impl FnOnce() -> Result<OwnedFd, Errno>,
) -> Result<Arc<HostPages>, Errno> {
    let mut g = CACHE.lock().unwrap();
    let map = g.get_or_insert_with(HashMap::new);
    let ver = Version { size, mtime };
    if let Some(p) = map.get(&(dev, ino)).and_then(|w| w.upgrade()) {
        if p.may_be_dirty() || *p.ver.lock().unwrap() == ver {
            return Ok(p);
        }
    }
    let fd = open()?;
    let p = Arc::new(HostPages {
        fd,
        writer: Mutex::new(None),
        ver: Mutex::new(ver),
        shared_writable: AtomicBool::new(false),
        pages: PageSet::new(),
        fill: Mutex::new(()),
    });
    if map.len() >= 256 {
        map.retain(|_, w| w.strong_count() > 0);
    }
    map.insert((dev, ino), Arc::downgrade(&p));
    Ok(p)
}
