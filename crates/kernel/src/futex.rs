//! Futexes: wait queues keyed like Linux's get_futex_key (private memory by address space
//! and address, shared mappings by memory-file location). Values are read and changed
//! with real atomic operations on the memory file, so they are atomic with respect to the
//! application's own threads.
//!
//! PI futexes follow Linux's protocol on the futex word: the owner's TID in the low 30
//! bits, FUTEX_WAITERS while the kernel has waiters (or state) for it, FUTEX_OWNER_DIED
//! once an owner died holding it. The kernel keeps a `PiState` (owner and FIFO of waiters)
//! for every PI futex that has waiters; unlocking hands the lock to the first waiter, and
//! a dying owner's PI futexes go to their first waiters with FUTEX_OWNER_DIED set.
//! Priorities are not inherited (the sandbox does not apply scheduling priorities).

use crate::memfile::memfile;
use crate::task::Task;
use abi::Errno;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Key = (usize, u64);

pub const FUTEX_WAITERS: u32 = 0x8000_0000;
pub const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
pub const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// What happened to a wait, shared by all the queue entries of one wait (futex_waitv
/// waits on many).
const WAITING: u32 = 0;
/// 1 + index: woken through futex `index` of the wait.
const WOKEN: u32 = 1;
/// A PI lock was handed to the waiter (LOCK_PI, or a requeue-PI wait).
const GRANTED: u32 = 0x1_0000;
/// A requeue-PI waiter now waits for the PI futex.
const REQUEUED: u32 = 0x2_0000;

struct Waiter {
    waker: Arc<crate::wait::Waker>,
    bitset: u32,
    state: Arc<AtomicU32>,
    /// Which futex of a futex_waitv this entry is.
    index: u32,
    tid: i32,
    /// FUTEX_WAIT_REQUEUE_PI: the PI futex it waits to be requeued to.
    requeue_pi: Option<Key>,
}

struct PiState {
    owner: i32,
    waiters: VecDeque<Waiter>,
}

#[derive(Default)]
struct Table {
    waits: HashMap<Key, Vec<Waiter>>,
    pi: HashMap<Key, PiState>,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

fn with_table<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(Table::default))
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

/// One futex of a wait: (address, expected value, bitset, private).
pub struct WaitOn {
    pub addr: u64,
    pub val: u32,
    pub bitset: u32,
    pub private: bool,
}

/// Sleeps on every futex in `on` whose value is as expected (EAGAIN at once if one is
/// not), until one of them is woken (its index is returned), the deadline passes, or a
/// signal comes. FUTEX_WAIT, FUTEX_WAIT_BITSET, futex_wait and futex_waitv.
pub fn wait_multiple(t: &Task, on: &[WaitOn], deadline: Option<Instant>) -> Result<u64, Errno> {
    let mut keys = Vec::with_capacity(on.len());
    for w in on {
        if w.bitset == 0 {
            return Err(Errno::EINVAL);
        }
        keys.push(key(t, w.addr, w.private)?);
    }
    let state = Arc::new(AtomicU32::new(WAITING));
    {
        let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        let tbl = g.get_or_insert_with(Table::default);
        for w in on {
            if atomic_at(t, w.addr, false)?.load(Ordering::SeqCst) != w.val {
                return Err(Errno::EAGAIN);
            }
        }
        for (i, (w, k)) in on.iter().zip(&keys).enumerate() {
            tbl.waits.entry(*k).or_default().push(Waiter {
                waker: t.waker.clone(),
                bitset: w.bitset,
                state: state.clone(),
                index: i as u32,
                tid: t.tid,
                requeue_pi: None,
            });
        }
    }
    let r = t.wait_until(&[], None, deadline, || {
        Ok(match state.load(Ordering::Acquire) {
            WAITING => None,
            v => Some(v),
        })
    });
    // Leave every queue (a wake may have raced with the timeout or signal).
    with_table(|tbl| remove_all(tbl, &state));
    match state.load(Ordering::Acquire) {
        WAITING => r.map(|_| 0),
        v => Ok((v - WOKEN) as u64),
    }
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
    let on = [WaitOn {
        addr,
        val,
        bitset,
        private,
    }];
    wait_multiple(t, &on, deadline).map(|_| 0)
}

/// Removes every queue entry of one wait.
fn remove_all(tbl: &mut Table, state: &Arc<AtomicU32>) {
    tbl.waits.retain(|_, v| {
        v.retain(|w| !Arc::ptr_eq(&w.state, state));
        !v.is_empty()
    });
    for ps in tbl.pi.values_mut() {
        ps.waiters.retain(|w| !Arc::ptr_eq(&w.state, state));
    }
}

/// Wakes up to `n` waiters of `k` in `bitset` (Linux: at least one for n <= 0). A
/// requeue-PI waiter cannot be woken this way: EINVAL (those already woken stay woken).
fn wake_key(tbl: &mut Table, k: Key, n: i64, bitset: u32) -> Result<u32, Errno> {
    let Some(v) = tbl.waits.get_mut(&k) else {
        return Ok(0);
    };
    let mut woke = 0u32;
    let mut i = 0;
    let mut err = None;
    while i < v.len() {
        if v[i].requeue_pi.is_some() {
            err = Some(Errno::EINVAL);
            break;
        }
        if v[i].bitset & bitset == 0 {
            i += 1;
            continue;
        }
        let w = v.remove(i);
        w.state.fetch_max(WOKEN + w.index, Ordering::AcqRel);
        w.waker.wake();
        woke += 1;
        if woke as i64 >= n {
            break;
        }
    }
    if v.is_empty() {
        tbl.waits.remove(&k);
    }
    match err {
        Some(e) => Err(e),
        None => Ok(woke),
    }
}

/// FUTEX_WAKE(_BITSET), futex_wake.
pub fn wake(t: &Task, addr: u64, n: i64, bitset: u32, private: bool) -> Result<u64, Errno> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let k = key(t, addr, private)?;
    with_table(|tbl| wake_key(tbl, k, n, bitset)).map(|n| n as u64)
}

/// Wakes by an already computed key (exit paths).
pub fn wake_raw(k: Key, n: u32) -> u32 {
    with_table(|tbl| wake_key(tbl, k, n as i64, u32::MAX)).unwrap_or(0)
}

/// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE / futex_requeue.
pub fn requeue(
    t: &Task,
    addr: u64,
    n_wake: i64,
    n_requeue: i64,
    addr2: u64,
    cmp: Option<u32>,
    private: bool,
) -> Result<u64, Errno> {
    requeue2(t, addr, private, n_wake, n_requeue, addr2, private, cmp)
}

/// `requeue` with each futex's own privacy (futex_requeue's waitv entries).
#[allow(clippy::too_many_arguments)]
pub fn requeue2(
    t: &Task,
    addr: u64,
    private: bool,
    n_wake: i64,
    n_requeue: i64,
    addr2: u64,
    private2: bool,
    cmp: Option<u32>,
) -> Result<u64, Errno> {
    if n_wake < 0 || n_requeue < 0 {
        return Err(Errno::EINVAL);
    }
    let k1 = key(t, addr, private)?;
    let k2 = key(t, addr2, private2)?;
    let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    let tbl = g.get_or_insert_with(Table::default);
    if let Some(c) = cmp {
        if atomic_at(t, addr, false)?.load(Ordering::SeqCst) != c {
            return Err(Errno::EAGAIN);
        }
    }
    // A requeue-PI waiter must be neither woken nor requeued by these.
    let count = tbl.waits.get(&k1).map_or(0, |v| v.len());
    let touched = count.min((n_wake.max(0) + n_requeue.max(0)) as usize);
    if tbl
        .waits
        .get(&k1)
        .is_some_and(|v| v.iter().take(touched).any(|w| w.requeue_pi.is_some()))
    {
        return Err(Errno::EINVAL);
    }
    let woke = if n_wake > 0 {
        wake_key(tbl, k1, n_wake, u32::MAX)?
    } else {
        0
    };
    let mut moved = 0;
    if k1 != k2 && n_requeue > 0 {
        if let Some(mut v) = tbl.waits.remove(&k1) {
            let take = (n_requeue as usize).min(v.len());
            let rest = v.split_off(take);
            moved = v.len() as u32;
            tbl.waits.entry(k2).or_default().extend(v);
            if !rest.is_empty() {
                tbl.waits.insert(k1, rest);
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
    let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    let tbl = g.get_or_insert_with(Table::default);
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
    let mut woke = wake_key(tbl, k1, n1 as i32 as i64, u32::MAX)?;
    if hit {
        woke += wake_key(tbl, k2, n2 as i32 as i64, u32::MAX)?;
    }
    Ok(woke as u64)
}

// ---------------------------------------------------------------------------------------------
// PI futexes

/// Whether thread `tid` exists, and is exiting (its PI futexes may be on their way to
/// their waiters: the caller retries).
fn owner_state(tid: u32) -> (bool, bool) {
    let t = crate::kernel().procs.lock().unwrap().task(tid as i32);
    match t {
        Some(t) => (true, t.exiting.load(Ordering::Acquire)),
        None => (false, false),
    }
}

/// Sets FUTEX_WAITERS in a word last read as `uval`; false if the word changed meanwhile.
fn set_waiters_bit(a: &AtomicU32, uval: u32) -> bool {
    uval & FUTEX_WAITERS != 0
        || a.compare_exchange(
            uval,
            uval | FUTEX_WAITERS,
            Ordering::SeqCst,
            Ordering::SeqCst,
        )
        .is_ok()
}

/// Linux's futex_lock_pi_atomic for thread `tid`: Ok(true) if it took the lock, Ok(false)
/// if it must wait (FUTEX_WAITERS is set and the futex has a PiState). EBUSY: the owner
/// is exiting, try again.
fn lock_pi_atomic(
    tbl: &mut Table,
    a: &AtomicU32,
    k: Key,
    tid: i32,
    set_waiters: bool,
) -> Result<bool, Errno> {
    let me = tid as u32;
    loop {
        let uval = a.load(Ordering::SeqCst);
        if uval & FUTEX_TID_MASK == me {
            return Err(Errno::EDEADLK);
        }
        if let Some(ps) = tbl.pi.get(&k) {
            if uval & FUTEX_TID_MASK != ps.owner as u32 {
                // The word and the kernel's state disagree (user space wrote the word).
                return Err(Errno::EINVAL);
            }
            if !set_waiters_bit(a, uval) {
                continue;
            }
            return Ok(false);
        }
        if uval & FUTEX_TID_MASK == 0 {
            // Free (perhaps with FUTEX_OWNER_DIED, which stays): take it.
            let mut new = (uval & FUTEX_OWNER_DIED) | me;
            if set_waiters {
                new |= FUTEX_WAITERS;
            }
            if a.compare_exchange(uval, new, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                continue;
            }
            if set_waiters {
                tbl.pi.insert(
                    k,
                    PiState {
                        owner: tid,
                        waiters: VecDeque::new(),
                    },
                );
            }
            return Ok(true);
        }
        // The first waiter: FUTEX_WAITERS first, then attach to the owner.
        if !set_waiters_bit(a, uval) {
            continue;
        }
        let owner = uval & FUTEX_TID_MASK;
        match owner_state(owner) {
            (false, _) => return Err(Errno::ESRCH),
            (true, true) => return Err(Errno::EBUSY),
            (true, false) => {}
        }
        tbl.pi.insert(
            k,
            PiState {
                owner: owner as i32,
                waiters: VecDeque::new(),
            },
        );
        return Ok(false);
    }
}

fn pi_waiter(t: &Task, state: &Arc<AtomicU32>) -> Waiter {
    Waiter {
        waker: t.waker.clone(),
        bitset: u32::MAX,
        state: state.clone(),
        index: 0,
        tid: t.tid,
        requeue_pi: None,
    }
}

/// Leaves a PI futex's queue after a timeout or signal (dropping a PiState left without
/// waiters: the owner's unlock then finds none). Returns whether the lock was handed over
/// meanwhile.
fn pi_give_up(state: &Arc<AtomicU32>) -> bool {
    with_table(|tbl| {
        if state.load(Ordering::Acquire) == GRANTED {
            return true;
        }
        remove_all(tbl, state);
        tbl.pi.retain(|_, ps| !ps.waiters.is_empty());
        false
    })
}

/// FUTEX_LOCK_PI, FUTEX_LOCK_PI2 and FUTEX_TRYLOCK_PI. A signal restarts the call.
pub fn lock_pi(
    t: &Task,
    addr: u64,
    deadline: Option<Instant>,
    trylock: bool,
    private: bool,
) -> Result<u64, Errno> {
    let k = key(t, addr, private)?;
    let state = Arc::new(AtomicU32::new(WAITING));
    loop {
        let r = {
            let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
            let tbl = g.get_or_insert_with(Table::default);
            let a = atomic_at(t, addr, true)?;
            let r = lock_pi_atomic(tbl, a, k, t.tid, false);
            if let Ok(false) = r {
                if trylock {
                    tbl.pi.retain(|_, ps| !ps.waiters.is_empty());
                    return Err(Errno::EAGAIN);
                }
                if let Some(ps) = tbl.pi.get_mut(&k) {
                    ps.waiters.push_back(pi_waiter(t, &state));
                }
            }
            r
        };
        match r {
            Ok(true) => return Ok(0),
            Ok(false) => break,
            Err(Errno::EBUSY) => {
                // The owner is exiting: its futexes are on their way.
                let soon = Instant::now() + std::time::Duration::from_millis(1);
                t.sleep_until(soon).map_err(|_| Errno::ERESTARTNOINTR)?;
            }
            Err(e) => return Err(e),
        }
    }
    let r = t.wait_until(&[], None, deadline, || {
        Ok((state.load(Ordering::Acquire) == GRANTED).then_some(()))
    });
    match r {
        Ok(()) => Ok(0),
        Err(_) if pi_give_up(&state) => Ok(0),
        Err(Errno::ERESTARTSYS) => Err(Errno::ERESTARTNOINTR),
        Err(e) => Err(e),
    }
}

/// Hands PI futex `k` (word `a`, owned by the caller) to its first waiter, or frees it.
fn unlock_pi_locked(tbl: &mut Table, a: &AtomicU32, k: Key, died: bool) {
    loop {
        let uval = a.load(Ordering::SeqCst);
        let next = tbl.pi.get_mut(&k).and_then(|ps| ps.waiters.pop_front());
        match next {
            Some(w) => {
                // A live owner's unlock clears FUTEX_OWNER_DIED (the lock is consistent
                // again); a dead owner's hand-over sets it.
                let died_bit = if died { FUTEX_OWNER_DIED } else { 0 };
                let new = died_bit | FUTEX_WAITERS | w.tid as u32;
                if a.compare_exchange(uval, new, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    if let Some(ps) = tbl.pi.get_mut(&k) {
                        ps.waiters.push_front(w);
                    }
                    continue;
                }
                if let Some(ps) = tbl.pi.get_mut(&k) {
                    ps.owner = w.tid;
                    if ps.waiters.is_empty() {
                        tbl.pi.remove(&k);
                    }
                }
                w.state.store(GRANTED, Ordering::Release);
                w.waker.wake();
                return;
            }
            None => {
                tbl.pi.remove(&k);
                if died {
                    return;
                }
                if a.compare_exchange(uval, 0, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
                {
                    continue;
                }
                return;
            }
        }
    }
}

/// FUTEX_UNLOCK_PI.
pub fn unlock_pi(t: &Task, addr: u64, private: bool) -> Result<u64, Errno> {
    let k = key(t, addr, private)?;
    let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    let tbl = g.get_or_insert_with(Table::default);
    let a = atomic_at(t, addr, true)?;
    if a.load(Ordering::SeqCst) & FUTEX_TID_MASK != t.tid as u32 {
        return Err(Errno::EPERM);
    }
    unlock_pi_locked(tbl, a, k, false);
    Ok(0)
}

/// FUTEX_WAIT_REQUEUE_PI: waits on `addr` (like FUTEX_WAIT) to be moved to PI futex
/// `addr2` by FUTEX_CMP_REQUEUE_PI; returns holding `addr2`.
pub fn wait_requeue_pi(
    t: &Task,
    addr: u64,
    val: u32,
    addr2: u64,
    deadline: Option<Instant>,
    private: bool,
) -> Result<u64, Errno> {
    let k1 = key(t, addr, private)?;
    let k2 = key(t, addr2, private)?;
    if k1 == k2 {
        return Err(Errno::EINVAL);
    }
    let state = Arc::new(AtomicU32::new(WAITING));
    {
        let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
        let tbl = g.get_or_insert_with(Table::default);
        if atomic_at(t, addr, false)?.load(Ordering::SeqCst) != val {
            return Err(Errno::EAGAIN);
        }
        let mut w = pi_waiter(t, &state);
        w.requeue_pi = Some(k2);
        tbl.waits.entry(k1).or_default().push(w);
    }
    let r = t.wait_until(&[], None, deadline, || {
        Ok((state.load(Ordering::Acquire) == GRANTED).then_some(()))
    });
    let Err(e) = r else { return Ok(0) };
    let requeued = state.load(Ordering::Acquire) == REQUEUED;
    if pi_give_up(&state) {
        return Ok(0);
    }
    Err(match (e, requeued) {
        (Errno::ETIMEDOUT, _) => Errno::ETIMEDOUT,
        // Already requeued: the word has changed, a restart would only say so.
        (Errno::ERESTARTSYS, true) => Errno::EAGAIN,
        (Errno::ERESTARTSYS, false) => Errno::ERESTARTNOINTR,
        (e, _) => e,
    })
}

/// FUTEX_CMP_REQUEUE_PI: gives PI futex `addr2` to the first waiter of `addr` if it is
/// free, and moves up to `n_requeue` more waiters (one more if the lock was not free) to
/// wait for it. Returns how many were woken or moved.
pub fn cmp_requeue_pi(
    t: &Task,
    addr: u64,
    n_wake: i64,
    n_requeue: i64,
    addr2: u64,
    cmpval: u32,
    private: bool,
) -> Result<u64, Errno> {
    if n_wake < 0 || n_requeue < 0 || n_wake != 1 {
        return Err(Errno::EINVAL);
    }
    let k1 = key(t, addr, private)?;
    let k2 = key(t, addr2, private)?;
    if k1 == k2 {
        return Err(Errno::EINVAL);
    }
    let mut g = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    let tbl = g.get_or_insert_with(Table::default);
    if atomic_at(t, addr, false)?.load(Ordering::SeqCst) != cmpval {
        return Err(Errno::EAGAIN);
    }
    let a2 = atomic_at(t, addr2, true)?;
    let Some(first) = tbl.waits.get(&k1).and_then(|v| v.first()) else {
        return Ok(0);
    };
    if first.requeue_pi != Some(k2) {
        return Err(Errno::EINVAL);
    }
    let top = first.tid;
    let mut count: i64 = 0;
    match lock_pi_atomic(tbl, a2, k2, top, n_requeue > 0) {
        Ok(true) => {
            let v = tbl.waits.get_mut(&k1).unwrap();
            let w = v.remove(0);
            if v.is_empty() {
                tbl.waits.remove(&k1);
            }
            w.state.store(GRANTED, Ordering::Release);
            w.waker.wake();
            count = 1;
        }
        Ok(false) => {}
        Err(Errno::EBUSY) => return Err(Errno::EAGAIN),
        Err(e) => return Err(e),
    }
    let mut moved = 0;
    while count - n_wake < n_requeue {
        let Some(v) = tbl.waits.get_mut(&k1) else {
            break;
        };
        if v.is_empty() {
            tbl.waits.remove(&k1);
            break;
        }
        if v[0].requeue_pi != Some(k2) {
            return Err(Errno::EINVAL);
        }
        let w = v.remove(0);
        if v.is_empty() {
            tbl.waits.remove(&k1);
        }
        w.state.store(REQUEUED, Ordering::Release);
        let owner = a2.load(Ordering::SeqCst) & FUTEX_TID_MASK;
        tbl.pi
            .entry(k2)
            .or_insert_with(|| PiState {
                owner: owner as i32,
                waiters: VecDeque::new(),
            })
            .waiters
            .push_back(w);
        count += 1;
        moved += 1;
    }
    if moved > 0 {
        a2.fetch_or(FUTEX_WAITERS, Ordering::SeqCst);
    }
    Ok(count as u64)
}

/// A thread is gone: its PI futexes go to their first waiters with FUTEX_OWNER_DIED (Linux's
/// exit_pi_state_list), and waiters it left behind are dropped.
pub fn forget_task(t: &Task) {
    let tid = t.tid;
    with_table(|tbl| {
        let owned: Vec<Key> = tbl
            .pi
            .iter()
            .filter(|(_, ps)| ps.owner == tid)
            .map(|(k, _)| *k)
            .collect();
        let mm = Arc::as_ptr(&t.mm()) as usize;
        for k in owned {
            // The word: in this address space for private futexes; in the memory file
            // for shared ones.
            let a: Option<&'static AtomicU32> = if k.0 == 0 {
                // SAFETY: a shared futex key is a 4-aligned memory-file offset.
                Some(unsafe { &*(memfile().ptr(k.1) as *const AtomicU32) })
            } else if k.0 == mm {
                atomic_at(t, k.1, true).ok()
            } else {
                None
            };
            match a {
                Some(a) => unlock_pi_locked(tbl, a, k, true),
                None => {
                    tbl.pi.remove(&k);
                }
            }
        }
        for v in tbl.waits.values_mut() {
            v.retain(|w| w.tid != tid);
        }
        tbl.waits.retain(|_, v| !v.is_empty());
        for ps in tbl.pi.values_mut() {
            ps.waiters.retain(|w| w.tid != tid);
        }
    });
}
