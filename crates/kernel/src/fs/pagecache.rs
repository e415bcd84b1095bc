//! The page cache of host files: one set of memory-file pages per host file version
//! (device, inode, size, mtime), shared by every process that maps it, filled on first
//! touch by pread from a host fd.

use crate::memfile::{memfile, PAGE};
use crate::mm::{MemObject, PageSet};
use abi::Errno;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, Weak};

/// Identity of one version of a host file.
#[derive(Clone, Copy, Hash, PartialEq, Eq, Debug)]
pub struct Key {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
}

pub struct HostPages {
    fd: OwnedFd,
    size: u64,
    pages: PageSet,
    /// Serializes fills, so no one sees a frame before its contents are read in.
    fill: Mutex<()>,
}

impl HostPages {
    fn fill_frame(&self, frame: u64, idx: u64) -> Result<(), Errno> {
        let off = idx * PAGE;
        let want = (self.size - off).min(PAGE) as usize;
        let mut done = 0usize;
        while done < want {
            // SAFETY: the frame belongs to this page set; we write at most one page into it.
            let r = unsafe {
                libc::pread(
                    self.fd.as_raw_fd(),
                    memfile().ptr(frame + done as u64) as *mut libc::c_void,
                    want - done,
                    (off + done as u64) as i64,
                )
            };
            if r < 0 {
                let e = std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO);
                if e == libc::EINTR {
                    continue;
                }
                return Err(Errno::EIO);
            }
            if r == 0 {
                break; // the file shrank: the rest stays zero
            }
            done += r as usize;
        }
        Ok(())
    }
}

impl MemObject for HostPages {
    fn page(&self, idx: u64) -> Result<u64, Errno> {
        if idx
            .checked_mul(PAGE)
            .map(|o| o >= self.size)
            .unwrap_or(true)
        {
            return Err(Errno::EFAULT);
        }
        let _g = self.fill.lock().unwrap();
        if let Some(f) = self.pages.get(idx) {
            memfile().incref(f);
            return Ok(f);
        }
        let f = self.pages.frame(idx)?;
        if let Err(e) = self.fill_frame(f, idx) {
            // Leave no half-read page behind.
            self.pages.truncate(idx * PAGE);
            return Err(e);
        }
        memfile().incref(f);
        Ok(f)
    }
}

static CACHE: Mutex<Option<HashMap<Key, Weak<HostPages>>>> = Mutex::new(None);

/// The shared page cache of the host file `key`; `open` gives a read-only host fd for it
/// when the cache must be created.
pub fn get(
    key: Key,
    open: impl FnOnce() -> Result<OwnedFd, Errno>,
) -> Result<Arc<HostPages>, Errno> {
    let mut g = CACHE.lock().unwrap();
    let map = g.get_or_insert_with(HashMap::new);
    if let Some(p) = map.get(&key).and_then(|w| w.upgrade()) {
        return Ok(p);
    }
    let fd = open()?;
    let p = Arc::new(HostPages {
        fd,
        size: key.size,
        pages: PageSet::new(),
        fill: Mutex::new(()),
    });
    if map.len() >= 256 {
        map.retain(|_, w| w.strong_count() > 0);
    }
    map.insert(key, Arc::downgrade(&p));
    Ok(p)
}
