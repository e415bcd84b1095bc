//! Address spaces: VMAs and the page table are the kernel's data; the stub's host
//! mappings are only a cache of them, filled on fault and invalidated through a queue of
//! host operations that the running task applies before it next enters the application.

pub mod object;

use crate::memfile::{memfile, PAGE};
use abi::Errno;
pub use object::{MemObject, PageSet, ShmObject};
use platform::{Context, PROT_EXEC, PROT_READ, PROT_WRITE, STUB_BASE};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Lowest address an application may map (vm.mmap_min_addr).
pub const MIN_ADDR: u64 = 0x10000;
/// Top of the main thread's stack.
pub const STACK_TOP: u64 = STUB_BASE - 0x10_0000;
/// Size reserved for the main stack (RLIMIT_STACK's default).
pub const STACK_SIZE: u64 = 8 << 20;
/// Where top-down mmap allocation starts.
pub const MMAP_BASE: u64 = STACK_TOP - STACK_SIZE - (128 << 20);
/// How many pages a fault maps at once around the faulting page of a file mapping.
const FAULT_AROUND: u64 = 16;
/// The most pages a fault in anonymous memory allocates and maps at once (2 MiB). The
/// window starts at FAULT_AROUND and doubles while faults walk sequentially through memory
/// (one round trip to the stub per window instead of per 16 pages), and is populated in
/// the same host call; a fault elsewhere resets it, so small processes stay small.
const ANON_FAULT_AROUND_MAX: u64 = 512;

pub fn page_down(a: u64) -> u64 {
    a & !(PAGE - 1)
}
pub fn page_up(a: u64) -> Option<u64> {
    a.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1))
}

/// What /proc/PID/maps names a VMA.
#[derive(Clone, Debug, PartialEq)]
pub enum VmaName {
    None,
    Heap,
    Stack,
    /// A file: its path, device and inode number.
    File {
        path: String,
        dev: u64,
        ino: u64,
    },
    Named(String),
}

#[derive(Clone)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub prot: u32,
    /// For shared file mappings of files opened read-only: PROT_WRITE may never be added.
    pub may_write: bool,
    pub shared: bool,
    pub growsdown: bool,
    pub locked: bool,
    /// MADV_DONTFORK: not copied into a forked child.
    pub dontfork: bool,
    /// None: private anonymous memory.
    pub backing: Option<Arc<dyn MemObject>>,
    /// Page index into `backing` of `start`.
    pub pgoff: u64,
    pub name: VmaName,
}

impl Vma {
    pub fn anon(start: u64, end: u64, prot: u32, name: VmaName) -> Vma {
        Vma {
            start,
            end,
            prot,
            may_write: true,
            shared: false,
            growsdown: false,
            locked: false,
            dontfork: false,
            backing: None,
            pgoff: 0,
            name,
        }
    }
    fn compatible(&self, next: &Vma) -> bool {
        self.end == next.start
            && self.prot == next.prot
            && self.shared == next.shared
            && self.backing.is_none()
            && next.backing.is_none()
            && self.name == next.name
            && self.growsdown == next.growsdown
            && self.locked == next.locked
            && self.dontfork == next.dontfork
    }
}

#[derive(Clone, Copy)]
struct Pte {
    frame: u64,
    /// The frame may be shared with another holder: copy before writing.
    cow: bool,
}

/// A host mapping operation owed to the stub. (Dropping a host mapping is the only one
/// needed: the stub's mappings are a cache that refills on fault with the right rights.)
enum HostOp {
    Unmap(u64, u64),
}

pub struct MM {
    inner: Mutex<MMInner>,
}

pub struct MMInner {
    pub vmas: BTreeMap<u64, Vma>,
    ptes: BTreeMap<u64, Pte>,
    ops: Vec<HostOp>,
    frees: Vec<u64>,
    pub brk_start: u64,
    pub brk: u64,
    pub stack_start: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    pub auxv: Vec<u8>,
    pub exe: Option<String>,
    /// Host pid of the stub process holding this address space's mappings.
    pub stub_pid: i32,
    /// Sequential-fault detection: where the next window would start, and its size.
    seq_next: u64,
    seq_pages: u64,
}

/// What a fault turned out to be.
pub enum FaultResult {
    /// Mapped; retry the instruction.
    Handled,
    /// Deliver SIGSEGV with this si_code.
    Segv(i32),
    /// Deliver SIGBUS (object page past its end).
    Bus,
}

fn prot_allows(prot: u32, write: bool) -> bool {
    if write {
        prot & PROT_WRITE != 0
    } else {
        prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0
    }
}

impl MM {
    pub fn new(stub_pid: i32) -> MM {
        MM {
            inner: Mutex::new(MMInner {
                vmas: BTreeMap::new(),
                ptes: BTreeMap::new(),
                ops: Vec::new(),
                frees: Vec::new(),
                brk_start: 0,
                brk: 0,
                stack_start: 0,
                arg_start: 0,
                arg_end: 0,
                env_start: 0,
                env_end: 0,
                auxv: Vec::new(),
                exe: None,
                stub_pid,
                seq_next: 0,
                seq_pages: FAULT_AROUND,
            }),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, MMInner> {
        self.inner.lock().unwrap()
    }

    pub fn stub_pid(&self) -> i32 {
        self.lock().stub_pid
    }

    /// Applies the host operations owed to the stub, then frees the frames they released.
    /// Called before every switch into the application: one uncontended lock when nothing
    /// is owed.
    pub fn flush(&self, ctx: &mut Context) {
        let (ops, frees) = {
            let mut m = self.lock();
            if m.ops.is_empty() && m.frees.is_empty() {
                return;
            }
            (std::mem::take(&mut m.ops), std::mem::take(&mut m.frees))
        };
        for op in ops {
            match op {
                HostOp::Unmap(a, l) => {
                    let _ = ctx.unmap(a, l);
                }
            }
        }
        memfile().decref_many(&frees);
    }

    /// Handles a host fault at `addr`; maps what is needed through `ctx`.
    /// `accerr`: the host had a mapping there but it did not permit the access.
    pub fn fault(&self, ctx: &mut Context, addr: u64, accerr: bool) -> FaultResult {
        // Owed host operations go first: the fault may be on a stale mapping.
        self.flush(ctx);
        let mut maps: Vec<(u64, u64, u32, u64)> = Vec::new();
        let (r, anon) = {
            let mut m = self.lock();
            let anon = m.find_vma(addr).is_some_and(|v| v.backing.is_none());
            (m.fault_locked(addr, accerr, &mut maps), anon)
        };
        if !matches!(r, FaultResult::Handled) {
            return r;
        }
        // Stale host mappings (e.g. of a page whose COW was just broken) go first; the
        // frames they held are freed only once unmapped.
        self.flush(ctx);
        let mut ok = true;
        for (a, l, p, off) in maps {
            // Fresh anonymous runs are populated in the same host call.
            let populate = l > FAULT_AROUND * PAGE && anon;
            if populate {
                // Allocate the run's pages in the memory file in one host call first.
                memfile().commit(off, l);
            }
            if ctx.map_with(a, l, p, off, populate).is_err() {
                ok = false;
            }
        }
        if !ok {
            return FaultResult::Bus;
        }
        FaultResult::Handled
    }

    /// The futex key of `addr`: (0, memory-file offset) for shared mappings, or
    /// (this MM's identity, addr) for private memory, as Linux's get_futex_key does.
    pub fn futex_key(&self, addr: u64, private: bool) -> Result<(usize, u64), Errno> {
        let id = self as *const MM as usize;
        let mut m = self.lock();
        let v = m.find_vma(addr).ok_or(Errno::EFAULT)?;
        if private || !v.shared {
            return Ok((id, addr));
        }
        let (frame, _) = m
            .materialize(page_down(addr), false)
            .map_err(|_| Errno::EFAULT)?;
        Ok((0, frame + addr % PAGE))
    }

    /// The memory-file offset of `addr` (materializing the page; private for writes), for
    /// atomic operations on application memory.
    pub fn phys(&self, addr: u64, write: bool) -> Result<u64, Errno> {
        let mut m = self.lock();
        let v = m.find_vma(addr).ok_or(Errno::EFAULT)?;
        if !prot_allows(v.prot, write) {
            return Err(Errno::EFAULT);
        }
        let (frame, _) = m
            .materialize(page_down(addr), write)
            .map_err(|_| Errno::EFAULT)?;
        Ok(frame + addr % PAGE)
    }

    /// Copies application memory at `addr` into `buf`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let mut m = self.lock();
        m.copy(addr, buf.len(), false, |frame_off, range| {
            memfile().read(frame_off, &mut buf[range])
        })
    }

    /// Copies `data` into application memory at `addr`.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let mut m = self.lock();
        m.copy(addr, data.len(), true, |frame_off, range| {
            memfile().write(frame_off, &data[range])
        })
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut a = addr;
        loop {
            let chunk = (PAGE - a % PAGE) as usize;
            let mut buf = vec![0u8; chunk];
            self.read(a, &mut buf)?;
            if let Some(p) = buf.iter().position(|&b| b == 0) {
                out.extend_from_slice(&buf[..p]);
                if out.len() > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                return Ok(out);
            }
            out.extend_from_slice(&buf);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            a += chunk as u64;
        }
    }

    /// Makes a copy-on-write copy of this address space for fork.
    pub fn fork(&self, child_stub: i32) -> MM {
        let child = MM::new(child_stub);
        {
            let mut m = self.lock();
            let mut c = child.lock();
            c.vmas = m
                .vmas
                .iter()
                .filter(|(_, v)| !v.dontfork)
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            c.brk_start = m.brk_start;
            c.brk = m.brk;
            c.stack_start = m.stack_start;
            c.arg_start = m.arg_start;
            c.arg_end = m.arg_end;
            c.env_start = m.env_start;
            c.env_end = m.env_end;
            c.auxv = m.auxv.clone();
            c.exe = m.exe.clone();
            let mut protect = Vec::new();
            let vmas: Vec<(u64, u64, bool, u32)> = m
                .vmas
                .values()
                .filter(|v| !v.dontfork)
                .map(|v| (v.start, v.end, v.shared, v.prot))
                .collect();
            for (start, end, shared, prot) in vmas {
                let mut any = false;
                for (&a, pte) in m.ptes.range_mut(start..end) {
                    memfile().incref(pte.frame);
                    if !shared {
                        pte.cow = true;
                        any = true;
                    }
                    c.ptes.insert(a, *pte);
                }
                if any && prot & PROT_WRITE != 0 {
                    protect.push((start, end, prot & !PROT_WRITE));
                }
            }
            // The host mappings are dropped rather than mprotect()ed: mprotect fails with
            // ENOMEM on a range with holes, and the stub's cache has holes. They refault
            // read-only (COW) on the next access.
            for (s, e, _p) in protect {
                m.ops.push(HostOp::Unmap(s, e - s));
            }
        }
        child
    }

    /// /proc/PID/maps text.
    pub fn maps_text(&self) -> String {
        let m = self.lock();
        let mut out = String::new();
        for v in m.vmas.values() {
            let perms = format!(
                "{}{}{}{}",
                if v.prot & PROT_READ != 0 { 'r' } else { '-' },
                if v.prot & PROT_WRITE != 0 { 'w' } else { '-' },
                if v.prot & PROT_EXEC != 0 { 'x' } else { '-' },
                if v.shared { 's' } else { 'p' }
            );
            let (off, dev, ino, name) = match &v.name {
                VmaName::File { path, dev, ino } => (v.pgoff * PAGE, *dev, *ino, path.clone()),
                VmaName::Heap => (0, 0, 0, "[heap]".to_string()),
                VmaName::Stack => (0, 0, 0, "[stack]".to_string()),
                VmaName::Named(n) => (0, 0, 0, n.clone()),
                VmaName::None => (0, 0, 0, String::new()),
            };
            let major = (dev >> 8) & 0xfff;
            let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
            let prefix = format!(
                "{:08x}-{:08x} {} {:08x} {:02x}:{:02x} {}",
                v.start, v.end, perms, off, major, minor, ino
            );
            if name.is_empty() {
                out.push_str(&prefix);
                out.push_str(" \n");
            } else {
                out.push_str(&format!("{:<72} {}\n", prefix, name));
            }
        }
        out
    }

    /// Resident pages in [start, end).
    pub fn resident(&self, start: u64, end: u64) -> Vec<bool> {
        let m = self.lock();
        let mut v = Vec::new();
        let mut a = start;
        while a < end {
            v.push(m.ptes.contains_key(&a));
            a += PAGE;
        }
        v
    }

    /// Total resident pages.
    pub fn rss_pages(&self) -> u64 {
        self.lock().ptes.len() as u64
    }
}

impl Drop for MM {
    fn drop(&mut self) {
        let m = self.inner.get_mut().unwrap();
        if m.stub_pid > 0 {
            // SAFETY: killing our own stub process; its mappings die with it.
            unsafe { libc::kill(m.stub_pid, libc::SIGKILL) };
        }
        let mut frames: Vec<u64> = m.ptes.values().map(|p| p.frame).collect();
        frames.append(&mut m.frees);
        memfile().decref_many(&frames);
    }
}

impl MMInner {
    pub fn find_vma(&self, addr: u64) -> Option<&Vma> {
        self.vmas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| addr < v.end)
    }

    fn queue(&mut self, op: HostOp) {
        self.ops.push(op);
    }

    /// The frame for page `page` of `vma`, creating the PTE if needed; for writes, a
    /// private frame. Returns (frame, cow).
    fn materialize(&mut self, page: u64, write: bool) -> Result<(u64, bool), FaultResult> {
        let vma = match self.find_vma(page) {
            Some(v) => v.clone(),
            None => return Err(FaultResult::Segv(abi::signal::SEGV_MAPERR)),
        };
        if let Some(pte) = self.ptes.get(&page).copied() {
            if write && pte.cow {
                let mf = memfile();
                if mf.refcount(pte.frame) == 1 {
                    self.ptes.get_mut(&page).unwrap().cow = false;
                    // The stub may hold a read-only mapping of it: drop that, so the next
                    // write refaults with the full rights instead of an access error.
                    self.queue(HostOp::Unmap(page, PAGE));
                    return Ok((pte.frame, false));
                }
                let nf = mf.alloc(1).ok_or(FaultResult::Bus)?;
                mf.copy_frame(pte.frame, nf);
                // The old frame stays mapped in the stub until the unmap is applied.
                self.frees.push(pte.frame);
                self.queue(HostOp::Unmap(page, PAGE));
                self.ptes.insert(
                    page,
                    Pte {
                        frame: nf,
                        cow: false,
                    },
                );
                return Ok((nf, false));
            }
            return Ok((pte.frame, pte.cow));
        }
        let (frame, cow) = match &vma.backing {
            None => (memfile().alloc(1).ok_or(FaultResult::Bus)?, false),
            Some(obj) => {
                let idx = vma.pgoff + (page - vma.start) / PAGE;
                let f = obj.page(idx).map_err(|_| FaultResult::Bus)?;
                if vma.shared {
                    (f, false)
                } else if write {
                    let mf = memfile();
                    let nf = mf.alloc(1).ok_or(FaultResult::Bus)?;
                    mf.copy_frame(f, nf);
                    mf.decref(f);
                    (nf, false)
                } else {
                    (f, true)
                }
            }
        };
        self.ptes.insert(page, Pte { frame, cow });
        Ok((frame, cow))
    }

    fn fault_locked(
        &mut self,
        addr: u64,
        accerr: bool,
        maps: &mut Vec<(u64, u64, u32, u64)>,
    ) -> FaultResult {
        let page = page_down(addr);
        let vma = match self.find_vma(addr) {
            Some(v) => v.clone(),
            None => return FaultResult::Segv(abi::signal::SEGV_MAPERR),
        };
        if vma.prot == 0 {
            return FaultResult::Segv(abi::signal::SEGV_ACCERR);
        }
        if accerr {
            // The host mapping exists but forbade the access. If it was a write to a COW
            // page the VMA allows writing, break COW; otherwise the access is illegal.
            let pte = self.ptes.get(&page).copied();
            let writable_vma = vma.prot & PROT_WRITE != 0;
            match pte {
                Some(p) if p.cow && writable_vma => match self.materialize(page, true) {
                    Ok((f, _)) => {
                        maps.push((page, PAGE, vma.prot, f));
                        return FaultResult::Handled;
                    }
                    Err(e) => return e,
                },
                _ => return FaultResult::Segv(abi::signal::SEGV_ACCERR),
            }
        }
        // Not mapped on the host: map a window of pages around the fault.
        let around = if vma.backing.is_none() {
            let w = page_down(addr) & !(self.seq_pages * PAGE - 1);
            if w == self.seq_next {
                self.seq_pages = (self.seq_pages * 2).min(ANON_FAULT_AROUND_MAX);
            } else {
                self.seq_pages = FAULT_AROUND;
            }
            let w = page_down(addr) & !(self.seq_pages * PAGE - 1);
            self.seq_next = w + self.seq_pages * PAGE;
            self.seq_pages
        } else {
            FAULT_AROUND
        };
        let win_start = (page_down(addr) & !(around * PAGE - 1)).max(vma.start);
        let win_end = ((page_down(addr) & !(around * PAGE - 1)) + around * PAGE).min(vma.end);
        // Fresh anonymous pages are allocated as one contiguous run so one host mmap covers them.
        if vma.backing.is_none() {
            let missing: Vec<u64> = (0..(win_end - win_start) / PAGE)
                .map(|i| win_start + i * PAGE)
                .filter(|a| !self.ptes.contains_key(a))
                .collect();
            if !missing.is_empty() {
                let mf = memfile();
                if let Some(run) = mf.alloc(missing.len() as u64) {
                    for (i, &a) in missing.iter().enumerate() {
                        self.ptes.insert(
                            a,
                            Pte {
                                frame: run + i as u64 * PAGE,
                                cow: false,
                            },
                        );
                    }
                }
            }
        }
        let mut a = win_start;
        while a < win_end {
            let r = if a == page {
                self.materialize(a, false)
            } else if vma
                .backing
                .as_ref()
                .is_some_and(|b| b.has_page(vma.pgoff + (a - vma.start) / PAGE))
                && !self.ptes.contains_key(&a)
            {
                // Only fault around on object pages that exist without allocation effort.
                self.materialize(a, false)
            } else {
                self.ptes
                    .get(&a)
                    .map(|p| (p.frame, p.cow))
                    .ok_or(FaultResult::Handled)
            };
            match r {
                Ok((frame, cow)) => {
                    let prot = if cow {
                        vma.prot & !PROT_WRITE
                    } else {
                        vma.prot
                    };
                    match maps.last_mut() {
                        Some((ma, ml, mp, moff))
                            if *ma + *ml == a && *mp == prot && *moff + *ml == frame =>
                        {
                            *ml += PAGE
                        }
                        _ => maps.push((a, PAGE, prot, frame)),
                    }
                }
                Err(FaultResult::Handled) => {}
                Err(e) => {
                    if a == page {
                        return e;
                    }
                    break;
                }
            }
            a += PAGE;
        }
        FaultResult::Handled
    }

    fn copy(
        &mut self,
        addr: u64,
        len: usize,
        write: bool,
        mut f: impl FnMut(u64, std::ops::Range<usize>),
    ) -> Result<(), Errno> {
        let mut done = 0usize;
        while done < len {
            let a = addr.checked_add(done as u64).ok_or(Errno::EFAULT)?;
            let page = page_down(a);
            let vma = self.find_vma(a).ok_or(Errno::EFAULT)?;
            if !prot_allows(vma.prot, write) {
                return Err(Errno::EFAULT);
            }
            let (frame, _) = self.materialize(page, write).map_err(|_| Errno::EFAULT)?;
            let in_page = (a - page) as usize;
            let n = (PAGE as usize - in_page).min(len - done);
            f(frame + in_page as u64, done..done + n);
            done += n;
        }
        Ok(())
    }

    /// Splits the VMA containing `addr` so that a VMA starts at `addr`.
    fn split_at(&mut self, addr: u64) {
        let Some(v) = self.find_vma(addr).cloned() else {
            return;
        };
        if v.start == addr {
            return;
        }
        let mut lo = v.clone();
        lo.end = addr;
        let mut hi = v;
        if hi.backing.is_some() {
            hi.pgoff += (addr - hi.start) / PAGE;
        }
        hi.start = addr;
        self.vmas.insert(lo.start, lo);
        self.vmas.insert(hi.start, hi);
    }

    /// Removes all mappings in [start, end) (page-aligned).
    pub fn unmap_range(&mut self, start: u64, end: u64) {
        if start >= end {
            return;
        }
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.vmas.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            self.vmas.remove(&k);
        }
        let pages: Vec<u64> = self.ptes.range(start..end).map(|(&k, _)| k).collect();
        for p in pages {
            let pte = self.ptes.remove(&p).unwrap();
            self.frees.push(pte.frame);
        }
        self.queue(HostOp::Unmap(start, end - start));
    }

    /// Drops the pages in [start, end) but keeps the VMAs (MADV_DONTNEED).
    pub fn zap_range(&mut self, start: u64, end: u64) {
        let pages: Vec<u64> = self.ptes.range(start..end).map(|(&k, _)| k).collect();
        if pages.is_empty() {
            return;
        }
        for p in pages {
            let pte = self.ptes.remove(&p).unwrap();
            self.frees.push(pte.frame);
        }
        self.queue(HostOp::Unmap(start, end - start));
    }

    /// Inserts a VMA (the range must be free), merging with an anonymous neighbour.
    pub fn insert_vma(&mut self, vma: Vma) {
        let start = vma.start;
        self.vmas.insert(start, vma);
        // Merge with the previous and next VMAs when compatible (as Linux does for anon).
        if let Some((&pk, prev)) = self.vmas.range(..start).next_back() {
            if prev.compatible(&self.vmas[&start]) {
                let cur = self.vmas.remove(&start).unwrap();
                self.vmas.get_mut(&pk).unwrap().end = cur.end;
                let start = pk;
                self.merge_next(start);
                return;
            }
        }
        self.merge_next(start);
    }

    fn merge_next(&mut self, start: u64) {
        let end = self.vmas[&start].end;
        if let Some(next) = self.vmas.get(&end) {
            if self.vmas[&start].compatible(next) {
                let n = self.vmas.remove(&end).unwrap();
                self.vmas.get_mut(&start).unwrap().end = n.end;
            }
        }
    }

    /// Highest free gap of `len` bytes below `limit`.
    pub fn find_free(&self, len: u64, limit: u64) -> Option<u64> {
        let mut top = limit;
        for v in self.vmas.range(..top).rev().map(|(_, v)| v) {
            if v.end <= top && top - v.end >= len {
                return Some(top - len);
            }
            top = top.min(v.start);
        }
        if top >= len + MIN_ADDR {
            Some(top - len)
        } else {
            None
        }
    }

    pub fn range_free(&self, start: u64, end: u64) -> bool {
        if start < MIN_ADDR || end > STUB_BASE || start >= end {
            return false;
        }
        if self.find_vma(start).is_some() {
            return false;
        }
        self.vmas.range(start..end).next().is_none()
    }

    /// Changes protection of [start, end); every page must be mapped (else ENOMEM).
    pub fn protect(&mut self, start: u64, end: u64, prot: u32) -> Result<(), Errno> {
        // Check coverage first.
        let mut a = start;
        while a < end {
            let v = self.find_vma(a).ok_or(Errno::ENOMEM)?;
            if prot & PROT_WRITE != 0 && v.shared && !v.may_write {
                return Err(Errno::EACCES);
            }
            a = v.end;
        }
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.vmas.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            self.vmas.get_mut(&k).unwrap().prot = prot;
        }
        // Re-merge neighbours.
        let keys: Vec<u64> = self
            .vmas
            .range(start.saturating_sub(1)..=end)
            .map(|(&k, _)| k)
            .collect();
        for k in keys.into_iter().rev() {
            if self.vmas.contains_key(&k) {
                if let Some((&pk, prev)) = self.vmas.range(..k).next_back() {
                    if prev.compatible(&self.vmas[&k]) {
                        let cur = self.vmas.remove(&k).unwrap();
                        self.vmas.get_mut(&pk).unwrap().end = cur.end;
                    }
                }
            }
        }
        // Host mappings are refilled on demand with the new rights.
        self.queue(HostOp::Unmap(start, end - start));
        Ok(())
    }

    /// Sets or clears MADV_DONTFORK on [start, end) (every page must be mapped: ENOMEM).
    pub fn set_dontfork(&mut self, start: u64, end: u64, on: bool) -> Result<(), Errno> {
        let mut a = start;
        while a < end {
            let v = self.find_vma(a).ok_or(Errno::ENOMEM)?;
            a = v.end;
        }
        self.split_at(start);
        self.split_at(end);
        let keys: Vec<u64> = self.vmas.range(start..end).map(|(&k, _)| k).collect();
        for k in keys {
            self.vmas.get_mut(&k).unwrap().dontfork = on;
        }
        Ok(())
    }

    /// Moves the pages of [old, old+len) to [new, new+len) (both page-aligned, new free).
    pub fn move_range(&mut self, old: u64, len: u64, new: u64) {
        self.split_at(old);
        self.split_at(old + len);
        let keys: Vec<u64> = self.vmas.range(old..old + len).map(|(&k, _)| k).collect();
        for k in keys {
            let mut v = self.vmas.remove(&k).unwrap();
            v.start = v.start - old + new;
            v.end = v.end - old + new;
            self.vmas.insert(v.start, v);
        }
        let pages: Vec<u64> = self.ptes.range(old..old + len).map(|(&k, _)| k).collect();
        for p in pages {
            let pte = self.ptes.remove(&p).unwrap();
            self.ptes.insert(p - old + new, pte);
        }
        self.queue(HostOp::Unmap(old, len));
    }
}
