//! Futexes: wait queues keyed like Linux's get_futex_key (private memory by address space
//! and address, shared mappings by memory-file location). Values are read and changed
//! with real atomic operations on the memory file, so they are atomic with respect to the
//! application's own threads.

use crate::memfile::memfile;
use crate::task::Task;
use abi::Errno;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Key = (usize, u64);

struct Waiter {
    waker: Arc<crate::wait::Waker>,
    bitset: u32,
    woken: Arc<AtomicBool>,
    tid: i32,
}

static TABLE: Mutex<Option<HashMap<Key, Vec<Waiter>>>> = Mutex::new(None);

fn with_table<R>(f: impl FnOnce(&mut HashMap<Key, Vec<Waiter>>) -> R) -> R {
    let mut g = TABLE.lock().unwrap();
    f(g.get_or_insert_with(HashMap::new))
}

/// The atomic view of the u32 at `addr` in `t`'s memory.
pub fn atomic_at(t: &Task, addr: u64, write: bool) -> Result<&'static AtomicU32, Errno> {
    if addr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    let off = t.mm().phys(addr, write)?;
    // SAFETY: the offset is 4-aligned inside a live frame of the memory file mapping,
    // which lives for the whole sandbox.
    Ok(unsafe { &*(memfile().ptr(off) as *const AtomicU32) })
}

pub fn key(t: &Task, addr: u64, private: bool) -> Result<Key, Errno> {
    if addr % 4 != 0 {
        return Err(Errno::EINVAL);
    }
    t.mm().futex_key(addr, private)
}

/// FUTEX_WAIT(_BITSET): sleeps if *addr == val until woken, a signal, or the deadline.
pub fn wait(
    t: &Task,
    addr: u64,
    val: u32,
    bitset: u32,
    deadline: Option<Instant>,
    private: bool,
) -> Result<u64, Errno> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(t, addr, private)?;
    let woken = Arc::new(AtomicBool::new(false));
    {
        let mut g = TABLE.lock().unwrap();
        let tbl = g.get_or_insert_with(HashMap::new);
        let cur = atomic_at(t, addr, false)?.load(Ordering::SeqCst);
        if cur != val {
            return Err(Errno::EAGAIN);
        }
        tbl.entry(k).or_default().push(Waiter {
            waker: t.waker.clone(),
            bitset,
            woken: woken.clone(),
            tid: t.tid,
        });
    }
    let r = t.wait_until(&[], None, deadline, || {
        Ok(if woken.load(Ordering::Acquire) {
            Some(())
        } else {
            None
        })
    });
    if r.is_err() {
        // Remove ourselves unless a wake raced with the timeout/signal.
        let removed = with_table(|tbl| remove_waiter(tbl, k, &woken));
        if !removed && woken.load(Ordering::Acquire) {
            return Ok(0);
        }
    }
    match r {
        Ok(()) => Ok(0),
        Err(e) => Err(e),
    }
}

fn remove_waiter(tbl: &mut HashMap<Key, Vec<Waiter>>, k: Key, woken: &Arc<AtomicBool>) -> bool {
    // The waiter may have been requeued to another key: search all if needed.
    if let Some(v) = tbl.get_mut(&k) {
        if let Some(i) = v.iter().position(|w| Arc::ptr_eq(&w.woken, woken)) {
            v.remove(i);
            if v.is_empty() {
                tbl.remove(&k);
            }
            return true;
        }
    }
    for (kk, v) in tbl.iter_mut() {
        if let Some(i) = v.iter().position(|w| Arc::ptr_eq(&w.woken, woken)) {
            v.remove(i);
            let kk = *kk;
            if v.is_empty() {
                tbl.remove(&kk);
            }
            return true;
        }
    }
    false
}

fn wake_key(tbl: &mut HashMap<Key, Vec<Waiter>>, k: Key, n: u32, bitset: u32) -> u32 {
    let Some(v) = tbl.get_mut(&k) else { return 0 };
    let mut woke = 0;
    let mut i = 0;
    while i < v.len() && woke < n {
        if v[i].bitset & bitset != 0 {
            let w = v.remove(i);
            w.woken.store(true, Ordering::Release);
            w.waker.wake();
            woke += 1;
        } else {
            i += 1;
        }
    }
    if v.is_empty() {
        tbl.remove(&k);
    }
    woke
}

/// FUTEX_WAKE(_BITSET).
pub fn wake(t: &Task, addr: u64, n: u32, bitset: u32, private: bool) -> Result<u64, Errno> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(t, addr, private)?;
    Ok(with_table(|tbl| wake_key(tbl, k, n, bitset)) as u64)
}

/// Wakes by an already computed key (exit paths).
pub fn wake_raw(k: Key, n: u32) -> u32 {
    with_table(|tbl| wake_key(tbl, k, n, u32::MAX))
}

/// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE.
pub fn requeue(
    t: &Task,
    addr: u64,
    n_wake: u32,
    n_requeue: u32,
    addr2: u64,
    cmp: Option<u32>,
    private: bool,
) -> Result<u64, Errno> {
    let k1 = key(t, addr, private)?;
    let k2 = key(t, addr2, private)?;
    let mut g = TABLE.lock().unwrap();
    let tbl = g.get_or_insert_with(HashMap::new);
    if let Some(c) = cmp {
        if atomic_at(t, addr, false)?.load(Ordering::SeqCst) != c {
            return Err(Errno::EAGAIN);
        }
    }
    let woke = wake_key(tbl, k1, n_wake, u32::MAX);
    let mut moved = 0;
    if k1 != k2 {
        if let Some(mut v) = tbl.remove(&k1) {
            let take = (n_requeue as usize).min(v.len());
            let rest = v.split_off(take);
            moved = v.len() as u32;
            tbl.entry(k2).or_default().extend(v);
            if !rest.is_empty() {
                tbl.insert(k1, rest);
            }
        }
    }
    Ok((woke + moved) as u64)
}

/// FUTEX_WAKE_OP.
pub fn wake_op(
    t: &Task,
    addr: u64,
    n1: u32,
    addr2: u64,
    n2: u32,
    op: u32,
    private: bool,
) -> Result<u64, Errno> {
    let k1 = key(t, addr, private)?;
    let k2 = key(t, addr2, private)?;
    let opcode = (op >> 28) & 7;
    let shift = op & (8 << 28) != 0;
    let cmp = (op >> 24) & 15;
    let mut oparg = (op >> 12) & 0xfff;
    let cmparg = op & 0xfff;
    if shift {
        if oparg > 31 {
            return Err(Errno::EINVAL);
        }
        oparg = 1 << oparg;
    }
    let sext = |v: u32| ((v << 20) as i32 >> 20) as u32;
    let oparg = if shift { oparg } else { sext(oparg) };
    let cmparg = sext(cmparg);
    let mut g = TABLE.lock().unwrap();
    let tbl = g.get_or_insert_with(HashMap::new);
    let a2 = atomic_at(t, addr2, true)?;
    let old = match opcode {
        0 => a2.swap(oparg, Ordering::SeqCst),
        1 => a2.fetch_add(oparg, Ordering::SeqCst),
        2 => a2.fetch_or(oparg, Ordering::SeqCst),
        3 => a2.fetch_and(!oparg, Ordering::SeqCst),
        4 => a2.fetch_xor(oparg, Ordering::SeqCst),
        _ => return Err(Errno::ENOSYS),
    };
    let o = old as i32;
    let c = cmparg as i32;
    let hit = match cmp {
        0 => o == c,
        1 => o != c,
        2 => o < c,
        3 => o <= c,
        4 => o > c,
        5 => o >= c,
        _ => return Err(Errno::ENOSYS),
    };
    let mut woke = wake_key(tbl, k1, n1, u32::MAX);
    if hit {
        woke += wake_key(tbl, k2, n2, u32::MAX);
    }
    Ok(woke as u64)
}

/// Drops waiters of a task that is gone (defensive: waiters normally remove themselves).
pub fn forget_task(tid: i32) {
    with_table(|tbl| {
        for v in tbl.values_mut() {
            v.retain(|w| w.tid != tid);
        }
        tbl.retain(|_, v| !v.is_empty());
    });
}
