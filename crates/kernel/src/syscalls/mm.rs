//! Memory syscalls: mmap, munmap, mprotect, mremap, brk, madvise, msync, mincore, mlock.

use crate::memfile::PAGE;
use crate::mm::{page_up, ShmObject, Vma, VmaName, MIN_ADDR, MMAP_BASE};
use crate::task::{SysResult, Task};
use abi::sysno as nr;
use abi::Errno;
use platform::{PROT_READ, PROT_WRITE, STUB_BASE};
use std::sync::Arc;

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_FIXED: u64 = 0x10;
const MAP_ANONYMOUS: u64 = 0x20;
const MAP_GROWSDOWN: u64 = 0x100;
const MAP_DENYWRITE: u64 = 0x800;
const MAP_EXECUTABLE: u64 = 0x1000;
const MAP_LOCKED: u64 = 0x2000;
const MAP_NORESERVE: u64 = 0x4000;
const MAP_POPULATE: u64 = 0x8000;
const MAP_NONBLOCK: u64 = 0x10000;
const MAP_STACK: u64 = 0x20000;
const MAP_HUGETLB: u64 = 0x40000;
const MAP_SYNC: u64 = 0x80000;
const MAP_FIXED_NOREPLACE: u64 = 0x100000;
const MAP_UNINITIALIZED: u64 = 0x4000000;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::MMAP => mmap(t, a[0], a[1], a[2], a[3], a[4] as i32, a[5]),
        nr::MUNMAP => munmap(t, a[0], a[1]),
        nr::MPROTECT => mprotect(t, a[0], a[1], a[2]),
        nr::BRK => brk(t, a[0]),
        nr::MREMAP => mremap(t, a[0], a[1], a[2], a[3], a[4]),
        nr::MADVISE => madvise(t, a[0], a[1], a[2]),
        nr::MSYNC => msync(t, a[0], a[1], a[2]),
        nr::MINCORE => mincore(t, a[0], a[1], a[2]),
        nr::MLOCK | nr::MUNLOCK => check_range(t, a[0], a[1]).map(|_| 0),
        nr::MLOCK2 => {
            if a[2] & !1 != 0 {
                Err(Errno::EINVAL)
            } else {
                check_range(t, a[0], a[1]).map(|_| 0)
            }
        }
        nr::MLOCKALL => {
            if a[0] == 0 || a[0] & !7 != 0 {
                Err(Errno::EINVAL)
            } else {
                Ok(0)
            }
        }
        nr::MUNLOCKALL => Ok(0),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (
            nr::MMAP,
            "partial: MAP_HUGETLB unsupported; MAP_POPULATE/LOCKED accepted as hints",
        ),
        (nr::MUNMAP, ""),
        (nr::MPROTECT, "partial: PROT_GROWSDOWN/UP ignored"),
        (nr::BRK, ""),
        (nr::MREMAP, "partial: MREMAP_DONTUNMAP unsupported"),
        (
            nr::MADVISE,
            "partial: DONTNEED/FREE/REMOVE drop pages; other advice accepted",
        ),
        (nr::MSYNC, ""),
        (nr::MINCORE, ""),
        (nr::MLOCK, "accepted: memory is never swapped"),
        (nr::MUNLOCK, "accepted"),
        (nr::MLOCK2, "accepted"),
        (nr::MLOCKALL, "accepted"),
        (nr::MUNLOCKALL, "accepted"),
    ]
}

/// Checks that [addr, addr+len) is fully mapped (ENOMEM otherwise).
fn check_range(t: &Task, addr: u64, len: u64) -> Result<(), Errno> {
    if addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let end = addr
        .checked_add(len)
        .and_then(page_up)
        .ok_or(Errno::ENOMEM)?;
    let mm = t.mm();
    let m = mm.lock();
    let mut a = addr;
    while a < end {
        let v = m.find_vma(a).ok_or(Errno::ENOMEM)?;
        a = v.end;
    }
    Ok(())
}

fn mmap(t: &Task, addr: u64, len: u64, prot: u64, flags: u64, fd: i32, off: u64) -> SysResult {
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len).ok_or(Errno::ENOMEM)?;
    if len > STUB_BASE {
        return Err(Errno::ENOMEM);
    }
    if off % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    if prot & !(7 | 0x0100_0000 | 0x0200_0000) != 0 {
        return Err(Errno::EINVAL);
    }
    let prot = (prot & 7) as u32;
    let kind = flags & 3;
    let shared = match kind {
        MAP_SHARED | MAP_SHARED_VALIDATE => true,
        MAP_PRIVATE => false,
        _ => return Err(Errno::EINVAL),
    };
    let known = 3
        | MAP_FIXED
        | MAP_ANONYMOUS
        | MAP_GROWSDOWN
        | MAP_DENYWRITE
        | MAP_EXECUTABLE
        | MAP_LOCKED
        | MAP_NORESERVE
        | MAP_POPULATE
        | MAP_NONBLOCK
        | MAP_STACK
        | MAP_HUGETLB
        | MAP_SYNC
        | MAP_FIXED_NOREPLACE
        | MAP_UNINITIALIZED
        | (0x3f << 26);
    if kind == MAP_SHARED_VALIDATE && flags & !known != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & MAP_HUGETLB != 0 {
        return Err(Errno::EINVAL);
    }
    let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0;
    if fixed && addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    off.checked_add(len).ok_or(Errno::EOVERFLOW)?;
    // The backing object.
    let (backing, name, may_write): (Option<Arc<dyn crate::mm::MemObject>>, VmaName, bool) =
        if flags & MAP_ANONYMOUS != 0 {
            if shared {
                (
                    Some(Arc::new(ShmObject::new(len))),
                    VmaName::Named("/dev/zero (deleted)".into()),
                    true,
                )
            } else {
                (None, VmaName::None, true)
            }
        } else {
            let f = t.files().get(fd)?;
            let fl = f.flags();
            let acc = fl & 3;
            if fl & libc::O_PATH as u32 != 0 {
                return Err(Errno::EBADF);
            }
            if acc == libc::O_WRONLY as u32 {
                return Err(Errno::EACCES);
            }
            if shared && prot & PROT_WRITE != 0 && acc != libc::O_RDWR as u32 {
                return Err(Errno::EACCES);
            }
            let (obj, name) = f.mmap_object()?;
            if shared && acc == libc::O_RDWR as u32 {
                obj.shared_writable();
            }
            (Some(obj), name, acc == libc::O_RDWR as u32 || !shared)
        };
    let mm = t.mm();
    let mut m = mm.lock();
    let start = if fixed {
        let end = addr.checked_add(len).ok_or(Errno::ENOMEM)?;
        if addr < MIN_ADDR || end > STUB_BASE {
            return Err(if addr < MIN_ADDR {
                Errno::EPERM
            } else {
                Errno::ENOMEM
            });
        }
        if flags & MAP_FIXED_NOREPLACE != 0 && flags & MAP_FIXED == 0 && !m.range_free(addr, end) {
            return Err(Errno::EEXIST);
        }
        m.unmap_range(addr, end);
        addr
    } else {
        let hint = addr & !(PAGE - 1);
        if hint >= MIN_ADDR
            && hint.checked_add(len).map_or(false, |e| e <= STUB_BASE)
            && m.range_free(hint, hint + len)
        {
            hint
        } else {
            m.find_free(len, MMAP_BASE).ok_or(Errno::ENOMEM)?
        }
    };
    m.insert_vma(Vma {
        start,
        end: start + len,
        prot,
        may_write,
        shared,
        growsdown: flags & MAP_GROWSDOWN != 0,
        locked: flags & MAP_LOCKED != 0,
        dontfork: false,
        backing,
        pgoff: off / PAGE,
        name,
    });
    drop(m);
    Ok(start)
}

fn munmap(t: &Task, addr: u64, len: u64) -> SysResult {
    if addr % PAGE != 0 || len == 0 {
        return Err(Errno::EINVAL);
    }
    let end = addr
        .checked_add(len)
        .and_then(page_up)
        .ok_or(Errno::EINVAL)?;
    if end > STUB_BASE {
        return Err(Errno::EINVAL);
    }
    let mm = t.mm();
    mm.lock().unmap_range(addr, end);
    Ok(0)
}

fn mprotect(t: &Task, addr: u64, len: u64, prot: u64) -> SysResult {
    if addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    if prot & !(7 | 0x0100_0000 | 0x0200_0000) != 0 {
        return Err(Errno::EINVAL);
    }
    let end = addr
        .checked_add(len)
        .and_then(page_up)
        .ok_or(Errno::ENOMEM)?;
    if len == 0 {
        return Ok(0);
    }
    let mm = t.mm();
    let r = mm.lock().protect(addr, end, (prot & 7) as u32);
    r.map(|_| 0)
}

fn brk(t: &Task, addr: u64) -> SysResult {
    let mm = t.mm();
    let mut m = mm.lock();
    let cur = m.brk;
    if addr == 0 || addr < m.brk_start {
        return Ok(cur);
    }
    let limit = t.rlimit(2).0; // RLIMIT_DATA
    if addr - m.brk_start > limit {
        return Ok(cur);
    }
    let old_end = page_up(cur).unwrap_or(cur);
    let new_end = match page_up(addr) {
        Some(v) if v < STUB_BASE => v,
        _ => return Ok(cur),
    };
    if new_end > old_end {
        if !m.range_free(old_end, new_end) {
            return Ok(cur);
        }
        m.insert_vma(Vma::anon(
            old_end,
            new_end,
            PROT_READ | PROT_WRITE,
            VmaName::Heap,
        ));
    } else if new_end < old_end {
        m.unmap_range(new_end, old_end);
    }
    m.brk = addr;
    drop(m);
    Ok(addr)
}

fn mremap(t: &Task, old: u64, old_len: u64, new_len: u64, flags: u64, new_addr: u64) -> SysResult {
    const MREMAP_MAYMOVE: u64 = 1;
    const MREMAP_FIXED: u64 = 2;
    const MREMAP_DONTUNMAP: u64 = 4;
    if old % PAGE != 0 || flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MREMAP_DONTUNMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let old_len = page_up(old_len).ok_or(Errno::EINVAL)?;
    let new_len = page_up(new_len).ok_or(Errno::EINVAL)?;
    if new_len == 0 || new_len > STUB_BASE {
        return Err(Errno::EINVAL);
    }
    let mm = t.mm();
    let mut m = mm.lock();
    let v = m.find_vma(old).cloned().ok_or(Errno::EFAULT)?;
    if old_len == 0 {
        // Duplicating a shared mapping is allowed; private is EINVAL (Linux since 4.x).
        if !v.shared {
            return Err(Errno::EINVAL);
        }
    }
    let old_end = old.checked_add(old_len.max(PAGE)).ok_or(Errno::EINVAL)?;
    if old_len > 0 && v.end < old_end {
        return Err(Errno::EFAULT);
    }
    if flags & MREMAP_FIXED != 0 {
        if new_addr % PAGE != 0 {
            return Err(Errno::EINVAL);
        }
        let ne = new_addr.checked_add(new_len).ok_or(Errno::EINVAL)?;
        if new_addr < MIN_ADDR || ne > STUB_BASE {
            return Err(Errno::EINVAL);
        }
        if new_addr < old_end && old < ne {
            return Err(Errno::EINVAL);
        }
        m.unmap_range(new_addr, ne);
        let keep = old_len.min(new_len);
        if keep > 0 {
            m.move_range(old, keep, new_addr);
        }
        if old_len > keep {
            m.unmap_range(old + keep, old + old_len);
        }
        if new_len > keep {
            grow_vma_tail(&mut m, &v, new_addr + keep, new_addr + new_len, keep);
        }
        drop(m);
        return Ok(new_addr);
    }
    if new_len <= old_len {
        m.unmap_range(old + new_len, old + old_len);
        drop(m);
        return Ok(old);
    }
    // Grow in place if the space after is free.
    let grow_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
    if v.end == old + old_len && grow_end <= STUB_BASE && m.range_free(old + old_len, grow_end) {
        grow_vma_tail(&mut m, &v, old + old_len, grow_end, old_len);
        drop(m);
        return Ok(old);
    }
    if flags & MREMAP_MAYMOVE == 0 {
        return Err(Errno::ENOMEM);
    }
    let dest = m.find_free(new_len, MMAP_BASE).ok_or(Errno::ENOMEM)?;
    m.move_range(old, old_len, dest);
    grow_vma_tail(&mut m, &v, dest + old_len, dest + new_len, old_len);
    drop(m);
    Ok(dest)
}

/// Extends a mapping like `v` over [start, end), continuing its backing offset.
fn grow_vma_tail(m: &mut crate::mm::MMInner, v: &Vma, start: u64, end: u64, offset_in: u64) {
    let mut nv = v.clone();
    let base_pgoff = v.pgoff + (offset_in / PAGE);
    nv.start = start;
    nv.end = end;
    nv.pgoff = base_pgoff;
    if let VmaName::Heap = nv.name {
        nv.name = VmaName::None;
    }
    m.insert_vma(nv);
}

fn madvise(t: &Task, addr: u64, len: u64, advice: u64) -> SysResult {
    if addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let end = addr
        .checked_add(len)
        .and_then(page_up)
        .ok_or(Errno::EINVAL)?;
    match advice {
        10 | 11 => {
            // MADV_DONTFORK / MADV_DOFORK
            if len == 0 {
                return Ok(0);
            }
            return t
                .mm()
                .lock()
                .set_dontfork(addr, end, advice == 10)
                .map(|_| 0);
        }
        0..=3 | 9 | 12..=19 | 100..=101 | 20..=25 => {}
        4 | 8 => {
            // MADV_DONTNEED, MADV_FREE: private pages read back as zero.
            let mm = t.mm();
            let mut m = mm.lock();
            let mut a = addr;
            while a < end {
                let Some(v) = m.find_vma(a).cloned() else {
                    return Err(Errno::ENOMEM);
                };
                let e = v.end.min(end);
                if v.locked {
                    return Err(Errno::EINVAL);
                }
                m.zap_range(a.max(v.start), e);
                a = e;
            }
            drop(m);
            return Ok(0);
        }
        _ => return Err(Errno::EINVAL),
    }
    if len == 0 {
        return Ok(0);
    }
    check_range(t, addr, len).map(|_| 0)
}

fn msync(t: &Task, addr: u64, len: u64, flags: u64) -> SysResult {
    const MS_ASYNC: u64 = 1;
    const MS_INVALIDATE: u64 = 2;
    const MS_SYNC: u64 = 4;
    if addr % PAGE != 0
        || flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || (flags & MS_ASYNC != 0 && flags & MS_SYNC != 0)
    {
        return Err(Errno::EINVAL);
    }
    check_range(t, addr, len)?;
    // Shared file mappings write their pages back (host files: to the host file).
    let end = addr
        .checked_add(len)
        .and_then(page_up)
        .ok_or(Errno::ENOMEM)?;
    let objs: Vec<Arc<dyn crate::mm::MemObject>> = {
        let mm = t.mm();
        let m = mm.lock();
        m.vmas
            .range(..end)
            .filter(|(_, v)| v.end > addr && v.shared)
            .filter_map(|(_, v)| v.backing.clone())
            .collect()
    };
    for o in objs {
        o.sync().map_err(|_| Errno::EIO)?;
    }
    Ok(0)
}

fn mincore(t: &Task, addr: u64, len: u64, vec: u64) -> SysResult {
    if addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let end = addr
        .checked_add(len)
        .and_then(page_up)
        .ok_or(Errno::ENOMEM)?;
    check_range(t, addr, len)?;
    let pages = ((end - addr) / PAGE) as usize;
    if pages > 1 << 24 {
        return Err(Errno::ENOMEM);
    }
    let res = t.mm().resident(addr, end);
    let out: Vec<u8> = res.iter().map(|&r| r as u8).collect();
    t.write_mem(vec, &out)?;
    Ok(0)
}
