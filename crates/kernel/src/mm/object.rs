//! Memory objects: what a file or shared mapping's pages come from.

use crate::memfile::{memfile, PAGE};
use abi::Errno;
use std::collections::HashMap;
use std::sync::Mutex;

/// A source of pages for mappings (a tmpfs file, shared anonymous memory, a host file's
/// page cache). Pages live in the memory file.
pub trait MemObject: Send + Sync {
    /// The frame holding page `idx`, with one new reference for the caller.
    /// EFAULT when the page lies past the end of the object (the mapper raises SIGBUS).
    fn page(&self, idx: u64) -> Result<u64, Errno>;
    /// A MAP_SHARED mapping that may write (of a file opened read-write) was made.
    fn shared_writable(&self) {}
    /// Writes modified pages back to the backing store (msync, fsync).
    fn sync(&self) -> Result<(), Errno> {
        Ok(())
    }
    /// Whether page `idx` exists without being made (fault-around maps only those).
    fn has_page(&self, _idx: u64) -> bool {
        true
    }
    /// The object itself, for callers that look for a particular kind (SysV shm attaches).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// Pages of a memory-backed object, allocated on first touch. Holds one reference on
/// each of its frames.
#[derive(Default)]
pub struct PageSet {
    pages: Mutex<HashMap<u64, u64>>,
}

impl PageSet {
    pub fn new() -> PageSet {
        PageSet::default()
    }

    /// The frame of page `idx`, allocating it (zeroed) if absent; no reference is taken.
    pub fn frame(&self, idx: u64) -> Result<u64, Errno> {
        let mut p = self.pages.lock().unwrap();
        if let Some(&f) = p.get(&idx) {
            return Ok(f);
        }
        let f = memfile().alloc(1).ok_or(Errno::ENOMEM)?;
        p.insert(idx, f);
        Ok(f)
    }

    pub fn get(&self, idx: u64) -> Option<u64> {
        self.pages.lock().unwrap().get(&idx).copied()
    }

    /// Reads `buf.len()` bytes at byte offset `off`; absent pages read as zeros.
    pub fn read(&self, off: u64, buf: &mut [u8]) {
        let p = self.pages.lock().unwrap();
        let mut done = 0usize;
        while done < buf.len() {
            let pos = off + done as u64;
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE as usize - in_page).min(buf.len() - done);
            match p.get(&(pos / PAGE)) {
                Some(&f) => memfile().read(f + in_page as u64, &mut buf[done..done + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
        }
    }

    pub fn write(&self, off: u64, data: &[u8]) -> Result<(), Errno> {
        let mut done = 0usize;
        while done < data.len() {
            let pos = off + done as u64;
            let in_page = (pos % PAGE) as usize;
            let n = (PAGE as usize - in_page).min(data.len() - done);
            let f = self.frame(pos / PAGE)?;
            memfile().write(f + in_page as u64, &data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Drops pages at or past byte `size`, and zeroes the tail of the last partial page.
    pub fn truncate(&self, size: u64) {
        let mut p = self.pages.lock().unwrap();
        let first_gone = size.div_ceil(PAGE);
        let gone: Vec<u64> = p.keys().copied().filter(|&i| i >= first_gone).collect();
        let mut frames = Vec::new();
        for i in gone {
            frames.push(p.remove(&i).unwrap());
        }
        if size % PAGE != 0 {
            if let Some(&f) = p.get(&(size / PAGE)) {
                memfile().zero(f + size % PAGE, PAGE - size % PAGE);
            }
        }
        drop(p);
        memfile().decref_many(&frames);
    }

    /// The pages present, as (page index, frame).
    pub fn present(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self
            .pages
            .lock()
            .unwrap()
            .iter()
            .map(|(&i, &f)| (i, f))
            .collect();
        v.sort_unstable();
        v
    }

    /// Number of pages present.
    pub fn len(&self) -> usize {
        self.pages.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for PageSet {
    fn drop(&mut self) {
        let frames: Vec<u64> = self.pages.get_mut().unwrap().values().copied().collect();
        memfile().decref_many(&frames);
    }
}

/// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS), sized at creation.
pub struct ShmObject {
    pub pages: PageSet,
    pub size: Mutex<u64>,
}

impl ShmObject {
    pub fn new(size: u64) -> ShmObject {
        ShmObject {
            pages: PageSet::new(),
            size: Mutex::new(size),
        }
    }
}

impl MemObject for ShmObject {
    fn page(&self, idx: u64) -> Result<u64, Errno> {
        if idx * PAGE >= *self.size.lock().unwrap() {
            return Err(Errno::EFAULT);
        }
        let f = self.pages.frame(idx)?;
        memfile().incref(f);
        Ok(f)
    }
}
