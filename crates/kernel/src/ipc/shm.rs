//! System V shared memory: segments are `ShmObject`s (pages in the memory file, as
//! MAP_SHARED anonymous memory), and each shmat maps an `Attach` of one.
//!
//! As in Linux, the attach count (shm_nattch) is the number of VMAs that map a segment
//! (fork and VMA splits add to it), so it is counted from the address spaces themselves
//! when asked; a segment marked for destruction (IPC_RMID while attached) goes once no VMA
//! maps it, checked whenever the table is used.

use super::{lock, now, put32, put64, HasPerm, Ids, Perm, IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT};
use crate::memfile::PAGE;
use crate::mm::{page_up, MMInner, MemObject, ShmObject, Vma, VmaName, MIN_ADDR, MM, MMAP_BASE};
use crate::task::{SysResult, Task};
use abi::Errno;
use platform::{PROT_EXEC, PROT_READ, PROT_WRITE, STUB_BASE};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

pub const SHMMIN: u64 = 1;
pub const SHMMAX: u64 = u64::MAX - (1 << 24);
pub const SHMALL: u64 = u64::MAX - (1 << 24);
pub const SHMMNI: u32 = 4096;

/// Mode bits: marked for destruction at last detach; locked (SHM_LOCK).
const SHM_DEST: u32 = 0o1000;
const SHM_LOCKED: u32 = 0o2000;

const SHM_HUGETLB: i32 = 0o4000;
const SHM_HUGE_SHIFT: i32 = 26;
const SHM_RDONLY: u64 = 0o10000;
const SHM_RND: u64 = 0o20000;
const SHM_REMAP: u64 = 0o40000;
const SHM_EXEC: u64 = 0o100000;

const SHM_LOCK: i32 = 11;
const SHM_UNLOCK: i32 = 12;
const SHM_STAT: i32 = 13;
const SHM_INFO: i32 = 14;
const SHM_STAT_ANY: i32 = 15;

/// The device /proc/PID/maps shows for attaches (the kernel's internal shm mount).
const SHM_DEV: u64 = 1;

pub struct Segment {
    pub perm: Perm,
    pub size: u64,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub cpid: i32,
    pub lpid: i32,
    /// The key it was created with: attaches are named "/SYSV<key>" after it.
    pub name_key: i32,
    /// Identity of this segment in the attaches that map it.
    pub serial: u64,
    pub obj: Arc<ShmObject>,
}

impl HasPerm for Segment {
    fn perm(&self) -> &Perm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut Perm {
        &mut self.perm
    }
}

impl Segment {
    fn pages(&self) -> u64 {
        self.size.div_ceil(PAGE)
    }

    /// Resident pages.
    pub fn rss(&self) -> u64 {
        self.obj.pages.len() as u64
    }
}

pub struct ShmNs {
    pub ids: Ids<Segment>,
    pub ctlmax: u64,
    pub ctlall: u64,
    pub ctlmni: u32,
    /// Pages of all segments.
    pub tot: u64,
    next_serial: u64,
}

impl ShmNs {
    pub fn new() -> ShmNs {
        ShmNs {
            ids: Ids::new(),
            ctlmax: SHMMAX,
            ctlall: SHMALL,
            ctlmni: SHMMNI,
            tot: 0,
            next_serial: 1,
        }
    }

    fn by_serial(&mut self, serial: u64) -> Option<&mut Segment> {
        self.ids.iter_mut().find(|s| s.serial == serial)
    }

    /// Removes the segments marked for destruction that nothing maps any more.
    fn reap(&mut self) {
        if !self.ids.iter().any(|s| s.perm.mode & SHM_DEST != 0) {
            return;
        }
        let counts = attach_counts();
        let mut freed = 0;
        self.ids.retain(|s| {
            let gone = s.perm.mode & SHM_DEST != 0 && !counts.contains_key(&s.serial);
            if gone {
                freed += s.pages();
            }
            !gone
        });
        self.tot -= freed;
    }
}

impl Default for ShmNs {
    fn default() -> Self {
        ShmNs::new()
    }
}

/// The backing of one shmat (Linux's per-attach file): the segment's pages, tagged with
/// the segment so that its VMAs can be found and counted.
pub struct Attach {
    pub serial: u64,
    pub size: u64,
    pub obj: Arc<ShmObject>,
}

impl MemObject for Attach {
    fn page(&self, idx: u64) -> Result<u64, Errno> {
        self.obj.page(idx)
    }
    /// Like Linux's shmem, pages come into being when touched, not by fault-around
    /// (so the resident size ipcs reports is the touched pages).
    fn has_page(&self, idx: u64) -> bool {
        self.obj.pages.get(idx).is_some()
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

fn attach_of(v: &Vma) -> Option<&Attach> {
    v.backing.as_ref()?.as_any()?.downcast_ref::<Attach>()
}

/// Live address spaces (each once).
fn live_mms() -> Vec<Arc<MM>> {
    let tasks: Vec<Arc<crate::task::Task>> = crate::kernel()
        .procs
        .lock()
        .unwrap()
        .tasks
        .values()
        .cloned()
        .collect();
    let mut out: Vec<Arc<MM>> = Vec::new();
    for t in tasks {
        let mm = t.mm();
        if !out.iter().any(|m| Arc::ptr_eq(m, &mm)) {
            out.push(mm);
        }
    }
    out
}

/// VMAs mapping each segment (by serial), over every live address space.
fn attach_counts() -> HashMap<u64, u64> {
    let mut counts = HashMap::new();
    for mm in live_mms() {
        let m = mm.lock();
        for v in m.vmas.values() {
            if let Some(a) = attach_of(v) {
                *counts.entry(a.serial).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// shmget(2).
pub fn shmget(t: &Task, key: i32, size: u64, flg: i32) -> SysResult {
    let c = t.creds();
    let mut ns = lock(&super::ipc().shm);
    ns.reap();
    let found = super::lookup_key(&ns.ids, key, flg, &c, |s| {
        if s.size < size {
            Err(Errno::EINVAL)
        } else {
            Ok(())
        }
    });
    if let Some(r) = found {
        return r.map(|id| id as u64);
    }
    // newseg
    if size < SHMMIN || size > ns.ctlmax {
        return Err(Errno::EINVAL);
    }
    let pages = size.div_ceil(PAGE);
    match ns.tot.checked_add(pages) {
        Some(v) if v <= ns.ctlall => {}
        _ => return Err(Errno::ENOSPC),
    }
    if flg & SHM_HUGETLB != 0 {
        // The sandbox has no huge pages: known page sizes (default, 2 MiB, 1 GiB) cannot
        // be reserved, others do not exist.
        let log = (flg >> SHM_HUGE_SHIFT) & 0x3f;
        return Err(if matches!(log, 0 | 21 | 30) {
            Errno::ENOMEM
        } else {
            Errno::EINVAL
        });
    }
    let serial = ns.next_serial;
    ns.next_serial += 1;
    let ts = now();
    let seg = Segment {
        perm: Perm::new(key, flg, &c),
        size,
        atime: 0,
        dtime: 0,
        ctime: ts,
        cpid: t.tgid(),
        lpid: 0,
        name_key: key,
        serial,
        obj: Arc::new(ShmObject::new(size)),
    };
    let limit = ns.ctlmni;
    let id = ns.ids.add(limit, seg)?;
    ns.tot += pages;
    Ok(id as u64)
}

/// shmat(2).
pub fn shmat(t: &Task, shmid: i32, addr: u64, flg: u64) -> SysResult {
    if shmid < 0 {
        return Err(Errno::EINVAL);
    }
    let mut addr = addr;
    if addr != 0 {
        if addr & (PAGE - 1) != 0 {
            if flg & SHM_RND == 0 {
                return Err(Errno::EINVAL);
            }
            addr &= !(PAGE - 1);
            if addr == 0 && flg & SHM_REMAP != 0 {
                return Err(Errno::EINVAL);
            }
        }
    } else if flg & SHM_REMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let rdonly = flg & SHM_RDONLY != 0;
    let (mut prot, mut acc) = if rdonly {
        (PROT_READ, 0o444)
    } else {
        (PROT_READ | PROT_WRITE, 0o666)
    };
    if flg & SHM_EXEC != 0 {
        prot |= PROT_EXEC;
        acc |= 0o111;
    }
    let c = t.creds();
    let mut ns = lock(&super::ipc().shm);
    ns.reap();
    let seg = ns.ids.get_mut(shmid)?;
    seg.perm.check(&c, acc)?;
    let size = seg.size;
    let attach = Arc::new(Attach {
        serial: seg.serial,
        size,
        obj: seg.obj.clone(),
    });
    let name = VmaName::File {
        path: format!("/SYSV{:08x} (deleted)", seg.name_key as u32),
        dev: crate::vfs::stat::makedev(0, SHM_DEV),
        ino: seg.perm.id as u64,
    };
    let len = page_up(size).ok_or(Errno::ENOMEM)?;
    let mm = t.mm();
    let mut m = mm.lock();
    if addr != 0 && flg & SHM_REMAP == 0 {
        let end = addr.checked_add(size).ok_or(Errno::EINVAL)?;
        if m.find_vma(addr).is_some() || m.vmas.range(addr..end).next().is_some() {
            return Err(Errno::EINVAL);
        }
    }
    let start = if addr != 0 {
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if addr < MIN_ADDR {
            return Err(Errno::EPERM);
        }
        if end > STUB_BASE {
            return Err(Errno::ENOMEM);
        }
        m.unmap_range(addr, end);
        addr
    } else {
        if len > STUB_BASE {
            return Err(Errno::ENOMEM);
        }
        m.find_free(len, MMAP_BASE).ok_or(Errno::ENOMEM)?
    };
    m.insert_vma(Vma {
        start,
        end: start + len,
        prot,
        may_write: !rdonly,
        shared: true,
        growsdown: false,
        locked: false,
        dontfork: false,
        backing: Some(attach),
        pgoff: 0,
        name,
    });
    drop(m);
    seg.atime = now();
    seg.lpid = t.tgid();
    Ok(start)
}

/// shmdt(2): unmaps the attach that starts at `addr`, including the pieces mprotect or
/// munmap made of it, as Linux's ksys_shmdt finds them.
pub fn shmdt(t: &Task, addr: u64) -> SysResult {
    if addr & (PAGE - 1) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut ns = lock(&super::ipc().shm);
    let mm = t.mm();
    let m = mm.lock();
    // (start, end, pgoff, attach: (segment serial, size, identity))
    type Piece = (u64, u64, u64, Option<(u64, u64, *const Attach)>);
    let vmas: Vec<Piece> = m
        .vmas
        .values()
        .filter(|v| v.end > addr)
        .map(|v| {
            let a = attach_of(v).map(|a| (a.serial, a.size, a as *const Attach));
            (v.start, v.end, v.pgoff, a)
        })
        .collect();
    let starts_here = |start: u64, pgoff: u64| start.wrapping_sub(addr) / PAGE == pgoff;
    let mut gone: Vec<(u64, u64, u64)> = Vec::new();
    let mut first: Option<(*const Attach, u64)> = None;
    let mut i = 0;
    while i < vmas.len() {
        let (s, e, pgoff, a) = vmas[i];
        i += 1;
        if let Some((serial, size, ptr)) = a {
            if starts_here(s, pgoff) {
                first = Some((ptr, size));
                gone.push((s, e, serial));
                break;
            }
        }
    }
    let Some((file, size)) = first else {
        return Err(Errno::EINVAL);
    };
    let size = page_up(size).unwrap_or(u64::MAX);
    while i < vmas.len() && vmas[i].1 - addr <= size {
        let (s, e, pgoff, a) = vmas[i];
        i += 1;
        if let Some((serial, _, ptr)) = a {
            if std::ptr::eq(ptr, file) && starts_here(s, pgoff) {
                gone.push((s, e, serial));
            }
        }
    }
    close_pieces(&mut ns, m, &gone, t.tgid());
    Ok(0)
}

/// Unmaps the attach pieces `gone` (start, end, segment serial) from the address space
/// `m` (locked by the caller, released here) and stamps their segments as Linux's shm_close
/// does; then segments due for destruction go.
fn close_pieces(
    ns: &mut ShmNs,
    mut m: MutexGuard<'_, MMInner>,
    gone: &[(u64, u64, u64)],
    tgid: i32,
) {
    for &(s, e, _) in gone {
        m.unmap_range(s, e);
    }
    // reap counts attaches in every address space, this one included.
    drop(m);
    let ts = now();
    for &(_, _, serial) in gone {
        if let Some(seg) = ns.by_serial(serial) {
            seg.dtime = ts;
            seg.lpid = tgid;
        }
    }
    ns.reap();
}

/// Detaches every attach of `mm` (process exit, exec), as Linux's exit_mmap does. At exit
/// the address space may still be shared with a vfork parent: then nothing happens.
pub fn detach_all(t: &Task, mm: &Arc<MM>, check_shared: bool) {
    let mut ns = lock(&super::ipc().shm);
    if check_shared {
        let procs = crate::kernel().procs.lock().unwrap();
        let others: Vec<Arc<Task>> = procs.tasks.values().cloned().collect();
        drop(procs);
        if others
            .iter()
            .any(|o| o.tid != t.tid && Arc::ptr_eq(&o.mm(), mm))
        {
            return;
        }
    }
    let m = mm.lock();
    let gone: Vec<(u64, u64, u64)> = m
        .vmas
        .values()
        .filter_map(|v| attach_of(v).map(|a| (v.start, v.end, a.serial)))
        .collect();
    if !gone.is_empty() {
        close_pieces(&mut ns, m, &gone, t.tgid());
    }
}

/// x86-64 `struct shmid64_ds` (112 bytes).
fn shmid_ds(s: &Segment, nattch: u64) -> Vec<u8> {
    let mut o = Vec::with_capacity(112);
    s.perm.to_bytes(&mut o);
    put64(
        &mut o,
        &[s.size, s.atime as u64, s.dtime as u64, s.ctime as u64],
    );
    put32(&mut o, &[s.cpid, s.lpid]);
    put64(&mut o, &[nattch, 0, 0]);
    o
}

/// shmctl(2).
pub fn shmctl(t: &Task, shmid: i32, cmd: i32, buf: u64) -> SysResult {
    if cmd < 0 || shmid < 0 {
        return Err(Errno::EINVAL);
    }
    let c = t.creds();
    let mut ns = lock(&super::ipc().shm);
    ns.reap();
    match cmd {
        IPC_INFO => {
            let mut o = Vec::with_capacity(72);
            let mni = ns.ctlmni as u64;
            put64(
                &mut o,
                &[ns.ctlmax, SHMMIN, mni, mni, ns.ctlall, 0, 0, 0, 0],
            );
            t.write_mem(buf, &o)?;
            Ok(ns.ids.max_idx() as u64)
        }
        SHM_INFO => {
            let rss: u64 = ns.ids.iter().map(|s| s.rss()).sum();
            let mut o = Vec::with_capacity(48);
            put32(&mut o, &[ns.ids.in_use() as i32, 0]);
            put64(&mut o, &[ns.tot, rss, 0, 0, 0]);
            t.write_mem(buf, &o)?;
            Ok(ns.ids.max_idx() as u64)
        }
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let s = if cmd == IPC_STAT {
                ns.ids.get(shmid)?
            } else {
                ns.ids.by_index(shmid)?
            };
            if cmd != SHM_STAT_ANY {
                s.perm.check(&c, 0o444)?;
            }
            let nattch = attach_counts().get(&s.serial).copied().unwrap_or(0);
            t.write_mem(buf, &shmid_ds(s, nattch))?;
            Ok(if cmd == IPC_STAT { 0 } else { s.perm.id as u64 })
        }
        IPC_SET | IPC_RMID => {
            let mut b = [0u8; 112];
            if cmd == IPC_SET {
                t.read_mem(buf, &mut b)?;
            }
            let s = ns.ids.get_mut(shmid)?;
            s.perm.check_owner(&c)?;
            if cmd == IPC_SET {
                s.perm.update(&b)?;
                s.ctime = now();
                return Ok(0);
            }
            if attach_counts().contains_key(&s.serial) {
                s.perm.mode |= SHM_DEST;
                s.perm.key = super::IPC_PRIVATE;
            } else {
                let pages = s.pages();
                ns.ids.remove(shmid);
                ns.tot -= pages;
            }
            Ok(0)
        }
        SHM_LOCK | SHM_UNLOCK => {
            let s = ns.ids.get_mut(shmid)?;
            if !c.has_cap(super::CAP_IPC_LOCK) {
                if c.euid != s.perm.uid && c.euid != s.perm.cuid {
                    return Err(Errno::EPERM);
                }
                let memlock = t.rlimit(8).0;
                if cmd == SHM_LOCK && memlock == 0 {
                    return Err(Errno::EPERM);
                }
                if cmd == SHM_LOCK
                    && s.perm.mode & SHM_LOCKED == 0
                    && page_up(s.size).unwrap_or(u64::MAX) > memlock
                {
                    return Err(Errno::ENOMEM);
                }
            }
            if cmd == SHM_LOCK {
                s.perm.mode |= SHM_LOCKED;
            } else {
                s.perm.mode &= !SHM_LOCKED;
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// /proc/sysvipc/shm.
pub fn proc_text() -> String {
    let mut ns = lock(&super::ipc().shm);
    ns.reap();
    let counts = attach_counts();
    let mut s = String::from("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n");
    for g in ns.ids.iter() {
        s.push_str(&format!(
            "{:>10} {:>10}  {:>4o} {:>21} {:>5} {:>5}  {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>21} {:>21}\n",
            g.perm.key,
            g.perm.id,
            g.perm.mode,
            g.size,
            g.cpid,
            g.lpid,
            counts.get(&g.serial).copied().unwrap_or(0),
            g.perm.uid,
            g.perm.gid,
            g.perm.cuid,
            g.perm.cgid,
            g.atime,
            g.dtime,
            g.ctime,
            g.rss() * PAGE,
            0
        ));
    }
    s
}
