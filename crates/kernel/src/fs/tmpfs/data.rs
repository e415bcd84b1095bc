//! A tmpfs regular file's data: pages in the memory file, its size, the pages that
//! fallocate reserved but nothing wrote yet (SEEK_DATA sees them as holes, as Linux's
//! shmem does), memory seals (memfd), and the file system's block account.

use crate::memfile::PAGE;
use crate::mm::{MemObject, PageSet};
use crate::vfs::inode::APPEND;
use abi::Errno;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Largest tmpfs file (keeps offsets far from overflow; Linux's MAX_LFS_FILESIZE is larger).
pub const MAX_FILE_SIZE: u64 = 1 << 40;

pub const F_SEAL_SEAL: u32 = 0x1;
pub const F_SEAL_SHRINK: u32 = 0x2;
pub const F_SEAL_GROW: u32 = 0x4;
pub const F_SEAL_WRITE: u32 = 0x8;
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
pub const F_SEAL_EXEC: u32 = 0x20;
pub const SEALS_ALL: u32 = 0x3f;

/// Blocks and inodes of one tmpfs instance against its size= and nr_inodes= limits
/// (0: unlimited).
#[derive(Default)]
pub struct Account {
    pub used_pages: AtomicU64,
    pub max_pages: AtomicU64,
    pub inodes: AtomicU64,
    pub max_inodes: AtomicU64,
}

impl Account {
    /// Takes `n` pages from the account, or ENOSPC.
    fn reserve(&self, n: u64) -> Result<(), Errno> {
        if n == 0 {
            return Ok(());
        }
        let max = self.max_pages.load(Ordering::Relaxed);
        let mut cur = self.used_pages.load(Ordering::Relaxed);
        loop {
            if max != 0 && cur + n > max {
                return Err(Errno::ENOSPC);
            }
            match self.used_pages.compare_exchange_weak(
                cur,
                cur + n,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(c) => cur = c,
            }
        }
    }

    fn release(&self, n: u64) {
        self.used_pages.fetch_sub(n, Ordering::AcqRel);
    }

    /// Pages still free (u64::MAX when unlimited).
    fn free_pages(&self) -> u64 {
        let max = self.max_pages.load(Ordering::Relaxed);
        if max == 0 {
            return u64::MAX;
        }
        max.saturating_sub(self.used_pages.load(Ordering::Relaxed))
    }

    /// Counts a new inode against nr_inodes (ENOSPC past it).
    pub fn take_inode(&self) -> Result<(), Errno> {
        let max = self.max_inodes.load(Ordering::Relaxed);
        let n = self.inodes.fetch_add(1, Ordering::AcqRel);
        if max != 0 && n >= max {
            self.inodes.fetch_sub(1, Ordering::AcqRel);
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    pub fn put_inode(&self) {
        self.inodes.fetch_sub(1, Ordering::AcqRel);
    }
}

pub struct FileData {
    pub pages: PageSet,
    pub size: Mutex<u64>,
    /// Pages fallocate made that nothing has written yet.
    falloc: Mutex<BTreeSet<u64>>,
    /// F_SEAL_* bits; a tmpfs file starts sealed with F_SEAL_SEAL, a sealable memfd not.
    pub seals: AtomicU32,
    acct: Arc<Account>,
    /// Alive while a writable shared mapping exists (F_SEAL_WRITE fails with EBUSY).
    writers: Mutex<Weak<SharedWriteMap>>,
}

impl FileData {
    pub fn new(acct: Arc<Account>) -> FileData {
        FileData {
            pages: PageSet::new(),
            size: Mutex::new(0),
            falloc: Mutex::new(BTreeSet::new()),
            seals: AtomicU32::new(F_SEAL_SEAL),
            acct,
            writers: Mutex::new(Weak::new()),
        }
    }

    pub fn seals(&self) -> u32 {
        self.seals.load(Ordering::Acquire)
    }

    pub fn read(&self, off: u64, buf: &mut [u8]) -> usize {
        let size = *self.size.lock().unwrap();
        if off >= size {
            return 0;
        }
        let n = ((size - off).min(buf.len() as u64)) as usize;
        self.pages.read(off, &mut buf[..n]);
        n
    }

    /// Pages of [first, end) not present.
    fn missing(&self, first: u64, end: u64) -> u64 {
        (first..end).filter(|&i| !self.pages.has(i)).count() as u64
    }

    /// Writes at `off` (or the end for `APPEND`). Seals give EPERM; a full file system
    /// gives a short write, or ENOSPC when nothing fits.
    pub fn write(&self, off: u64, data: &[u8]) -> Result<usize, Errno> {
        let mut size = self.size.lock().unwrap();
        let off = if off == APPEND { *size } else { off };
        let seals = self.seals();
        if seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        if off >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut n = (data.len() as u64).min(MAX_FILE_SIZE - off);
        if seals & F_SEAL_GROW != 0 && off + n > *size {
            // Linux writes page by page and stops at the first page piece that would
            // grow the file: what fits before the last page boundary inside the size.
            let b = *size / PAGE * PAGE;
            if b <= off {
                return Err(Errno::EPERM);
            }
            n = b - off;
        }
        if n == 0 {
            return Ok(0);
        }
        // Room in the file system: as many whole pages as are free.
        let first = off / PAGE;
        let last = (off + n - 1) / PAGE;
        let free = self.acct.free_pages();
        let mut need = 0u64;
        if free != u64::MAX {
            for i in first..=last {
                if !self.pages.has(i) {
                    if need == free {
                        n = i * PAGE - off;
                        break;
                    }
                    need += 1;
                }
            }
            if n == 0 {
                return Err(Errno::ENOSPC);
            }
        }
        let end = off + n;
        if off > *size && *size % PAGE != 0 {
            // Stale bytes of a partial last page (a mapping may write past the end inside
            // it) must read as zero once exposed. Pages past it are zero already.
            self.pages.zero_in_page(*size, PAGE - *size % PAGE);
        }
        let before = self.pages.len() as u64;
        let r = self.pages.write(off, &data[..n as usize]);
        self.account(before);
        r.map_err(|_| Errno::ENOSPC)?;
        self.unfalloc(first, (end - 1) / PAGE + 1);
        if end > *size {
            *size = end;
        }
        Ok(n as usize)
    }

    /// Brings the block account in step after the page count changed from `before`.
    fn account(&self, before: u64) {
        let after = self.pages.len() as u64;
        if after > before {
            // Pages already exist: the account may overshoot a limit by a race, never
            // undercount.
            self.acct
                .used_pages
                .fetch_add(after - before, Ordering::AcqRel);
        } else {
            self.acct.release(before - after);
        }
    }

    /// Marks pages [first, end) as written.
    fn unfalloc(&self, first: u64, end: u64) {
        let mut f = self.falloc.lock().unwrap();
        if f.is_empty() {
            return;
        }
        let gone: Vec<u64> = f.range(first..end).copied().collect();
        for i in gone {
            f.remove(&i);
        }
    }

    /// Sets the size (ftruncate): seals give EPERM, shrinking frees pages.
    pub fn truncate(&self, new: u64) -> Result<(), Errno> {
        if new > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut size = self.size.lock().unwrap();
        let seals = self.seals();
        if (new < *size && seals & F_SEAL_SHRINK != 0) || (new > *size && seals & F_SEAL_GROW != 0)
        {
            return Err(Errno::EPERM);
        }
        let first_gone = new.min(*size).div_ceil(PAGE);
        let shrink = new < *size;
        // Shrinking frees pages (taken from mappers too, who then get SIGBUS past the
        // end); growing exposes zeros (the tail past the old size is cleared by
        // truncating to the old size first).
        let removed = if shrink {
            self.pages.remove_range(first_gone, u64::MAX, true)
        } else {
            Vec::new()
        };
        self.acct.release(removed.len() as u64);
        let edge = new.min(*size);
        if edge % PAGE != 0 {
            // Bytes past the end inside the last page read as zero once exposed.
            self.pages.zero_in_page(edge, PAGE - edge % PAGE);
        }
        if shrink {
            self.falloc.lock().unwrap().retain(|&i| i < first_gone);
        }
        *size = new;
        drop(size);
        if shrink {
            self.unmap_mappers(first_gone, u64::MAX, true, &removed);
        }
        release(&removed);
        Ok(())
    }

    pub fn size(&self) -> u64 {
        *self.size.lock().unwrap()
    }

    /// FALLOC_FL_PUNCH_HOLE: zeroes the partial pages at the edges, frees the whole
    /// pages between (the memory goes back to the host).
    pub fn punch(&self, off: u64, len: u64) -> Result<(), Errno> {
        let _size = self.size.lock().unwrap();
        if self.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        let end = off.saturating_add(len).min(MAX_FILE_SIZE);
        if off >= end {
            return Ok(());
        }
        let first_whole = off.div_ceil(PAGE);
        let end_whole = end / PAGE;
        if first_whole > end_whole {
            // Inside one page.
            self.pages.zero_in_page(off, end - off);
            return Ok(());
        }
        if off % PAGE != 0 {
            self.pages.zero_in_page(off, PAGE - off % PAGE);
        }
        if end % PAGE != 0 && end_whole >= first_whole {
            self.pages.zero_in_page(end_whole * PAGE, end % PAGE);
        }
        let removed = self.pages.remove_range(first_whole, end_whole, true);
        self.acct.release(removed.len() as u64);
        self.unfalloc(first_whole, end_whole);
        drop(_size);
        // Mappers fault the hole in afresh (as zeros); their private copies stay.
        self.unmap_mappers(first_whole, end_whole, false, &removed);
        release(&removed);
        Ok(())
    }

    /// Takes pages [first, end) away from every address space that maps this file: its
    /// frames were `removed` (Linux's unmap_mapping_range). Called without the size lock
    /// (a fault holds its address space's lock, then this file's).
    fn unmap_mappers(&self, first: u64, end: u64, even_cows: bool, removed: &[(u64, u64)]) {
        let Some(k) = crate::try_kernel() else {
            return;
        };
        if removed.is_empty() && !even_cows {
            return;
        }
        let frames: HashMap<u64, u64> = removed.iter().copied().collect();
        let me = self as *const FileData as *const u8;
        let wrapper = self.writers.lock().unwrap().upgrade();
        let wp = wrapper.as_ref().map(|a| Arc::as_ptr(a) as *const u8);
        let is_obj = |b: &Arc<dyn MemObject>| {
            let p = Arc::as_ptr(b) as *const u8;
            p == me || Some(p) == wp
        };
        let mut mms: Vec<Arc<crate::mm::MM>> = Vec::new();
        for t in k.procs.lock().unwrap().tasks.values() {
            let mm = t.mm();
            if !mms.iter().any(|m| Arc::ptr_eq(m, &mm)) {
                mms.push(mm);
            }
        }
        for mm in mms {
            mm.lock()
                .unmap_object(&is_obj, first, end, even_cows, &|i| frames.get(&i).copied());
        }
    }

    /// fallocate mode 0 / KEEP_SIZE: reserves the pages of [off, off+len) (ENOSPC, with
    /// nothing allocated, when they do not fit) and grows the size unless `keep`.
    pub fn allocate(&self, off: u64, len: u64, keep: bool) -> Result<(), Errno> {
        let end = off.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut size = self.size.lock().unwrap();
        if !keep && end > *size && self.seals() & F_SEAL_GROW != 0 {
            return Err(Errno::EPERM);
        }
        let (first, last) = (off / PAGE, end.div_ceil(PAGE));
        // A range larger than what is present plus what is free cannot fit (and is not
        // walked page by page).
        let room = self
            .acct
            .free_pages()
            .min(crate::memfile::memfile().available() / PAGE);
        if last - first > (self.pages.len() as u64).saturating_add(room) {
            return Err(Errno::ENOSPC);
        }
        let need = self.missing(first, last);
        self.acct.reserve(need)?;
        let mut made = Vec::new();
        for i in first..last {
            if self.pages.has(i) {
                continue;
            }
            if self.pages.frame(i).is_err() {
                // Out of memory-file space: undo what this call made.
                for &j in &made {
                    self.pages.remove_range(j, j + 1, false);
                }
                self.acct.release(need);
                return Err(Errno::ENOSPC);
            }
            made.push(i);
        }
        self.falloc.lock().unwrap().extend(made);
        if !keep && end > *size {
            *size = end;
        }
        Ok(())
    }

    /// lseek SEEK_DATA (`hole` false) or SEEK_HOLE from `off`, at page granularity.
    pub fn seek_data(&self, off: u64, hole: bool) -> Result<u64, Errno> {
        let size = *self.size.lock().unwrap();
        if off >= size {
            return Err(Errno::ENXIO);
        }
        let falloc = self.falloc.lock().unwrap();
        let is_data = |i: u64| self.pages.has(i) && !falloc.contains(&i);
        if hole {
            let mut i = off / PAGE;
            while i * PAGE < size && is_data(i) {
                i += 1;
            }
            return Ok((i * PAGE).max(off).min(size));
        }
        let start = off / PAGE;
        for i in self.pages.indices() {
            if i < start || falloc.contains(&i) {
                continue;
            }
            let r = (i * PAGE).max(off);
            return if r < size { Ok(r) } else { Err(Errno::ENXIO) };
        }
        Err(Errno::ENXIO)
    }

    /// The object a shared mapping uses. `may_write`: the mapping could become writable
    /// (the file is open for writing). Returns the object and whether PROT_WRITE may be
    /// added later; a write-sealed file refuses writable shared mappings (EPERM).
    pub fn map_shared(
        self: &Arc<Self>,
        may_write: bool,
        prot_write: bool,
    ) -> Result<(Arc<dyn MemObject>, bool), Errno> {
        if self.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            if prot_write {
                return Err(Errno::EPERM);
            }
            return Ok((self.clone(), false));
        }
        if !may_write {
            return Ok((self.clone(), false));
        }
        let mut w = self.writers.lock().unwrap();
        if let Some(m) = w.upgrade() {
            return Ok((m, true));
        }
        let m = Arc::new(SharedWriteMap { data: self.clone() });
        *w = Arc::downgrade(&m);
        Ok((m, true))
    }

    /// F_ADD_SEALS.
    pub fn add_seals(&self, add: u32) -> Result<(), Errno> {
        if add & !SEALS_ALL != 0 {
            return Err(Errno::EINVAL);
        }
        let _size = self.size.lock().unwrap();
        let cur = self.seals();
        if cur & F_SEAL_SEAL != 0 {
            return Err(Errno::EPERM);
        }
        if add & F_SEAL_WRITE != 0
            && cur & F_SEAL_WRITE == 0
            && self.writers.lock().unwrap().upgrade().is_some()
        {
            return Err(Errno::EBUSY);
        }
        self.seals.store(cur | add, Ordering::Release);
        Ok(())
    }
}

/// Drops the extra references `remove_range` kept.
fn release(removed: &[(u64, u64)]) {
    let frames: Vec<u64> = removed.iter().map(|x| x.1).collect();
    crate::memfile::memfile().decref_many(&frames);
}

impl Drop for FileData {
    fn drop(&mut self) {
        self.acct.release(self.pages.len() as u64);
    }
}

impl MemObject for FileData {
    fn page(&self, idx: u64) -> Result<u64, Errno> {
        // The size lock serializes this with writes, so page counts stay exact.
        let size = self.size.lock().unwrap();
        if idx.checked_mul(PAGE).map(|o| o >= *size).unwrap_or(true) {
            return Err(Errno::EFAULT);
        }
        let had = self.pages.has(idx);
        if !had {
            // A full file system: the mapper gets SIGBUS, as on Linux.
            self.acct.reserve(1).map_err(|_| Errno::EFAULT)?;
        }
        let f = self.pages.frame(idx).inspect_err(|_| {
            if !had {
                self.acct.release(1);
            }
        })?;
        self.unfalloc(idx, idx + 1);
        crate::memfile::memfile().incref(f);
        Ok(f)
    }
}

/// The object behind writable shared mappings of a tmpfs file: its lifetime tells
/// whether any such mapping exists.
struct SharedWriteMap {
    data: Arc<FileData>,
}

impl MemObject for SharedWriteMap {
    fn page(&self, idx: u64) -> Result<u64, Errno> {
        self.data.page(idx)
    }
}
