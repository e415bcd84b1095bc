//! The memory file: one memfd holding every page of application memory, mapped whole
//! into the kernel so that copy_in/copy_out are plain memory copies.
//!
//! Frames are 4 KiB pages of the file named by their byte offset. Free frames are always
//! zero (freed runs are hole-punched), so a fresh frame needs no clearing.

use std::collections::BTreeMap;
use std::sync::Mutex;

pub const PAGE: u64 = 4096;
/// Virtual size of the memory file (sparse; only touched pages use memory).
const SIZE: u64 = 64 << 30;

static MEMFILE: std::sync::OnceLock<MemFile> = std::sync::OnceLock::new();

/// The sandbox's memory file (created by `init`).
pub fn memfile() -> &'static MemFile {
    MEMFILE.get().expect("memory file not initialised")
}

/// Creates the memory file; called once at kernel start.
pub fn init() -> std::io::Result<&'static MemFile> {
    let mf = MemFile::new()?;
    let _ = MEMFILE.set(mf);
    Ok(memfile())
}

pub struct MemFile {
    fd: i32,
    base: *mut u8,
    inner: Mutex<Alloc>,
}

// SAFETY: base is a shared mapping that lives as long as the MemFile; all access to frame
// contents goes through raw copies whose ownership the memory manager arbitrates.
unsafe impl Send for MemFile {}
unsafe impl Sync for MemFile {}

struct Alloc {
    /// Offset of the first never-allocated frame.
    bump: u64,
    /// Free runs: start -> length in bytes; coalesced.
    free: BTreeMap<u64, u64>,
    /// Reference count of each frame, by frame number.
    refs: Vec<u32>,
    used: u64,
}

impl MemFile {
    pub fn new() -> std::io::Result<MemFile> {
        // SAFETY: plain host calls with checked results.
        unsafe {
            let fd = libc::memfd_create(c"moat-memory".as_ptr(), libc::MFD_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ftruncate(fd, SIZE as i64) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let base = libc::mmap(
                std::ptr::null_mut(),
                SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                fd,
                0,
            );
            if base == libc::MAP_FAILED {
                return Err(std::io::Error::last_os_error());
            }
            Ok(MemFile {
                fd,
                base: base as *mut u8,
                inner: Mutex::new(Alloc {
                    bump: 0,
                    free: BTreeMap::new(),
                    refs: Vec::new(),
                    used: 0,
                }),
            })
        }
    }

    pub fn fd(&self) -> i32 {
        self.fd
    }

    /// Allocates `n` contiguous zeroed frames, each with one reference.
    pub fn alloc(&self, n: u64) -> Option<u64> {
        let len = n * PAGE;
        let mut a = self.inner.lock().unwrap();
        let mut found = None;
        for (&start, &flen) in a.free.iter() {
            if flen >= len {
                found = Some((start, flen));
                break;
            }
        }
        let start = if let Some((start, flen)) = found {
            a.free.remove(&start);
            if flen > len {
                a.free.insert(start + len, flen - len);
            }
            start
        } else {
            if a.bump + len > SIZE {
                return None;
            }
            let s = a.bump;
            a.bump += len;
            s
        };
        let first = (start / PAGE) as usize;
        if a.refs.len() < first + n as usize {
            let want = (first + n as usize).max(a.refs.len() * 2).max(1024);
            a.refs.resize(want, 0);
        }
        for i in 0..n as usize {
            a.refs[first + i] = 1;
        }
        a.used += len;
        Some(start)
    }

    pub fn incref(&self, frame: u64) {
        let mut a = self.inner.lock().unwrap();
        a.refs[(frame / PAGE) as usize] += 1;
    }

    pub fn refcount(&self, frame: u64) -> u32 {
        self.inner.lock().unwrap().refs[(frame / PAGE) as usize]
    }

    /// Drops one reference on each frame; frames reaching zero are freed (hole-punched).
    pub fn decref_many(&self, frames: &[u64]) {
        let mut freed: Vec<u64> = Vec::new();
        {
            let mut a = self.inner.lock().unwrap();
            for &f in frames {
                let r = &mut a.refs[(f / PAGE) as usize];
                debug_assert!(*r > 0);
                *r -= 1;
                if *r == 0 {
                    freed.push(f);
                }
            }
        }
        if freed.is_empty() {
            return;
        }
        freed.sort_unstable();
        // Punch and free contiguous runs.
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for f in freed {
            match runs.last_mut() {
                Some((s, l)) if *s + *l == f => *l += PAGE,
                _ => runs.push((f, PAGE)),
            }
        }
        for &(s, l) in &runs {
            // SAFETY: punching a hole in our own memfd; the frames are unreferenced.
            unsafe {
                libc::fallocate(
                    self.fd,
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    s as i64,
                    l as i64,
                );
            }
        }
        let mut a = self.inner.lock().unwrap();
        for (mut s, mut l) in runs {
            a.used -= l;
            // Coalesce with neighbours.
            if let Some((&ps, &pl)) = a.free.range(..s).next_back() {
                if ps + pl == s {
                    a.free.remove(&ps);
                    s = ps;
                    l += pl;
                }
            }
            if let Some(&nl) = a.free.get(&(s + l)) {
                a.free.remove(&(s + l));
                l += nl;
            }
            a.free.insert(s, l);
        }
    }

    pub fn decref(&self, frame: u64) {
        self.decref_many(&[frame]);
    }

    /// Allocates backing pages for [off, off+len) at once (they read as zero).
    pub fn commit(&self, off: u64, len: u64) {
        // SAFETY: fallocate on our own memfd; failure only means pages fault in later.
        unsafe { libc::fallocate(self.fd, 0, off as i64, len as i64) };
    }

    /// Bytes of application memory that may still be allocated.
    pub fn available(&self) -> u64 {
        SIZE.saturating_sub(self.used())
    }

    /// Bytes of application memory in use.
    pub fn used(&self) -> u64 {
        self.inner.lock().unwrap().used
    }

    /// The kernel's pointer to byte `off` of the memory file.
    pub fn ptr(&self, off: u64) -> *mut u8 {
        debug_assert!(off < SIZE);
        // SAFETY: in bounds of the mapping.
        unsafe { self.base.add(off as usize) }
    }

    /// Copies `src` into the memory file at `off` (within one frame or a contiguous run).
    pub fn write(&self, off: u64, src: &[u8]) {
        // SAFETY: the caller owns the frame range.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr(off), src.len()) }
    }

    pub fn read(&self, off: u64, dst: &mut [u8]) {
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr(off), dst.as_mut_ptr(), dst.len()) }
    }

    /// Copies one whole frame.
    pub fn copy_frame(&self, from: u64, to: u64) {
        // SAFETY: distinct frames of the mapping.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr(from), self.ptr(to), PAGE as usize) }
    }

    /// Zeroes `len` bytes at `off`.
    pub fn zero(&self, off: u64, len: u64) {
        // SAFETY: the caller owns the range.
        unsafe { std::ptr::write_bytes(self.ptr(off), 0, len as usize) }
    }
}
