//! Advisory file locks, kept by the VFS for every file system: flock(2) locks (owned by
//! an open file description), POSIX record locks (owned by a process's fd table, as
//! Linux's fl_owner = files_struct; released when the process closes any fd of the
//! file), OFD locks (F_OFD_*, owned by the open file description), and leases.
//!
//! Locks are keyed by the file's (device, inode number), so every path and every open
//! of one file meets the same locks. One table behind one mutex holds them all, and one
//! wait queue is notified whenever a lock goes away (waiters re-check). F_SETLKW waits
//! are interruptible and detect deadlocks between POSIX owners (EDEADLK).

use super::File;
use crate::task::Task;
use crate::wait::WaitQueue;
use abi::Errno;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const F_RDLCK: i16 = 0;
pub const F_WRLCK: i16 = 1;
pub const F_UNLCK: i16 = 2;
/// "To the end of the file" (Linux's OFFSET_MAX).
const OFFSET_MAX: i64 = i64::MAX;
/// Links followed in the waits-for chain before giving up (Linux's MAX_DEADLK_ITERATIONS).
const MAX_DEADLK: usize = 10;
/// /proc/sys/fs/lease-break-time.
const LEASE_BREAK: Duration = Duration::from_secs(45);

/// A file's identity.
pub type Key = (u64, u64);

/// Who holds a record lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A process's fd table (POSIX locks).
    Posix(u64),
    /// An open file description (OFD locks).
    Ofd(u64),
}

#[derive(Clone, Debug)]
struct RecLock {
    owner: Owner,
    pid: i32,
    write: bool,
    start: i64,
    /// Inclusive; OFFSET_MAX for "to EOF".
    end: i64,
}

#[derive(Clone, Debug)]
struct FlockLock {
    file: u64,
    pid: i32,
    write: bool,
}

#[derive(Clone, Debug)]
struct Lease {
    file: u64,
    pid: i32,
    write: bool,
    /// A conflicting open is waiting for the holder to give the lease up.
    breaking: bool,
}

#[derive(Default)]
struct InodeLocks {
    /// Record locks in the order they were made (POSIX and OFD together).
    rec: Vec<RecLock>,
    flock: Vec<FlockLock>,
    leases: Vec<Lease>,
}

impl InodeLocks {
    fn is_empty(&self) -> bool {
        self.rec.is_empty() && self.flock.is_empty() && self.leases.is_empty()
    }
}

#[derive(Default)]
struct Table {
    inodes: HashMap<Key, InodeLocks>,
    /// Files whose locks each record-lock owner holds.
    by_owner: HashMap<Owner, HashSet<Key>>,
    /// Files each open file description holds flock locks or leases on.
    by_file: HashMap<u64, HashSet<Key>>,
    /// POSIX owners waiting in F_SETLKW, and the owner they wait for.
    blocked: HashMap<u64, Owner>,
    /// Live fd tables per POSIX owner id (exec keeps the id in a new table).
    owner_refs: HashMap<u64, u32>,
    /// Order of first lock per file, for /proc/locks.
    order: Vec<Key>,
}

fn table() -> &'static Mutex<Table> {
    static T: OnceLock<Mutex<Table>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(Table::default()))
}

/// Notified whenever a lock is released or a lease changes.
fn queue() -> &'static WaitQueue {
    static Q: OnceLock<WaitQueue> = OnceLock::new();
    Q.get_or_init(WaitQueue::new)
}

/// A fresh POSIX lock owner id for a new fd table.
pub fn new_owner() -> u64 {
    static N: AtomicU64 = AtomicU64::new(1);
    let id = N.fetch_add(1, Ordering::Relaxed);
    owner_ref(id);
    id
}

/// One more fd table answers for owner `id` (execve's copy).
pub fn owner_ref(id: u64) {
    *table().lock().unwrap().owner_refs.entry(id).or_insert(0) += 1;
}

/// An fd table of owner `id` is gone; with the last one go the owner's POSIX locks.
pub fn owner_unref(id: u64) {
    let mut t = table().lock().unwrap();
    let last = match t.owner_refs.get_mut(&id) {
        Some(n) => {
            *n -= 1;
            *n == 0
        }
        None => true,
    };
    if last {
        t.owner_refs.remove(&id);
        drop(t);
        release_owner(Owner::Posix(id));
    }
}

fn key_of(f: &File) -> Result<Key, Errno> {
    let st = f.stat()?;
    Ok((st.dev, st.ino))
}

fn note(t: &mut Table, key: Key) {
    if !t.inodes.contains_key(&key) {
        t.order.retain(|k| *k != key);
        t.order.push(key);
    }
}

fn gc(t: &mut Table, key: Key) {
    if t.inodes.get(&key).map(|l| l.is_empty()).unwrap_or(false) {
        t.inodes.remove(&key);
        t.order.retain(|k| *k != key);
    }
}

/// Releases every record lock of `owner` (on every file).
fn release_owner(owner: Owner) {
    let mut t = table().lock().unwrap();
    let Some(keys) = t.by_owner.remove(&owner) else {
        return;
    };
    for k in keys {
        if let Some(l) = t.inodes.get_mut(&k) {
            l.rec.retain(|r| r.owner != owner);
        }
        gc(&mut t, k);
    }
    drop(t);
    queue().notify_all();
}

/// A process closed an fd of `f`: its POSIX locks on that file go (Linux's
/// locks_remove_posix on every close).
pub fn on_close(table_id: u64, f: &File) {
    let owner = Owner::Posix(table_id);
    if !table().lock().unwrap().by_owner.contains_key(&owner) {
        return;
    }
    let Ok(key) = key_of(f) else { return };
    let mut t = table().lock().unwrap();
    let Some(l) = t.inodes.get_mut(&key) else {
        return;
    };
    let before = l.rec.len();
    l.rec.retain(|r| r.owner != owner);
    if l.rec.len() == before {
        return;
    }
    if let Some(s) = t.by_owner.get_mut(&owner) {
        s.remove(&key);
        if s.is_empty() {
            t.by_owner.remove(&owner);
        }
    }
    gc(&mut t, key);
    drop(t);
    queue().notify_all();
}

/// The last reference to an open file description is gone: its flock locks, OFD locks
/// and leases go.
pub fn file_closed(f: &File) {
    release_owner(Owner::Ofd(f.id));
    let mut t = table().lock().unwrap();
    let Some(keys) = t.by_file.remove(&f.id) else {
        return;
    };
    for k in keys {
        if let Some(l) = t.inodes.get_mut(&k) {
            l.flock.retain(|x| x.file != f.id);
            l.leases.retain(|x| x.file != f.id);
        }
        gc(&mut t, k);
    }
    drop(t);
    queue().notify_all();
}

// ---- flock ----

pub const LOCK_SH: u32 = 1;
pub const LOCK_EX: u32 = 2;
pub const LOCK_NB: u32 = 4;
pub const LOCK_UN: u32 = 8;
const LOCK_MAND: u32 = 32;

/// flock(2).
pub fn flock(t: &Task, f: &File, op: u32) -> Result<(), Errno> {
    let cmd = op & !LOCK_NB;
    if cmd & LOCK_MAND != 0 {
        // Mandatory share modes were removed from Linux; it accepts and ignores them.
        return Ok(());
    }
    let write = match cmd {
        LOCK_SH => false,
        LOCK_EX => true,
        LOCK_UN => return flock_unlock(f),
        _ => return Err(Errno::EINVAL),
    };
    let key = key_of(f)?;
    let nb = op & LOCK_NB != 0;
    t.wait_until(&[queue()], None, None, || {
        let mut tb = table().lock().unwrap();
        note(&mut tb, key);
        let l = tb.inodes.entry(key).or_default();
        if let Some(i) = l.flock.iter().position(|x| x.file == f.id) {
            if l.flock[i].write == write {
                return Ok(Some(()));
            }
            // Conversion: the old lock goes first (and waiters may take it), as Linux.
            l.flock.remove(i);
            queue().notify_all();
        }
        if l.flock.iter().any(|x| x.file != f.id && (x.write || write)) {
            return if nb { Err(Errno::EAGAIN) } else { Ok(None) };
        }
        l.flock.push(FlockLock {
            file: f.id,
            pid: t.tgid(),
            write,
        });
        tb.by_file.entry(f.id).or_default().insert(key);
        Ok(Some(()))
    })
}

fn flock_unlock(f: &File) -> Result<(), Errno> {
    let key = key_of(f)?;
    let mut t = table().lock().unwrap();
    if let Some(l) = t.inodes.get_mut(&key) {
        l.flock.retain(|x| x.file != f.id);
        gc(&mut t, key);
    }
    drop(t);
    queue().notify_all();
    Ok(())
}

// ---- record locks ----

/// struct flock as the application passes it (x86-64 layout, 32 bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flock {
    pub ty: i16,
    pub whence: i16,
    pub start: i64,
    pub len: i64,
    pub pid: i32,
}

impl Flock {
    pub fn from_bytes(b: &[u8; 32]) -> Flock {
        Flock {
            ty: i16::from_le_bytes([b[0], b[1]]),
            whence: i16::from_le_bytes([b[2], b[3]]),
            start: i64::from_le_bytes(b[8..16].try_into().unwrap_or([0; 8])),
            len: i64::from_le_bytes(b[16..24].try_into().unwrap_or([0; 8])),
            pid: i32::from_le_bytes(b[24..28].try_into().unwrap_or([0; 4])),
        }
    }

    /// Writes the fields back over `b` (padding kept).
    pub fn to_bytes(&self, b: &mut [u8; 32]) {
        b[0..2].copy_from_slice(&self.ty.to_le_bytes());
        b[2..4].copy_from_slice(&self.whence.to_le_bytes());
        b[8..16].copy_from_slice(&self.start.to_le_bytes());
        b[16..24].copy_from_slice(&self.len.to_le_bytes());
        b[24..28].copy_from_slice(&self.pid.to_le_bytes());
    }
}

/// The byte range [start, end] of a struct flock (Linux's flock_to_posix_lock).
fn range_of(f: &File, l: &Flock) -> Result<(i64, i64), Errno> {
    let base: i64 = match l.whence {
        0 => 0,
        1 => f.pos() as i64,
        2 => f.stat()?.size as i64,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(l.start).ok_or(Errno::EOVERFLOW)?;
    if start < 0 {
        return Err(Errno::EINVAL);
    }
    if l.len > 0 {
        if l.len - 1 > OFFSET_MAX - start {
            return Err(Errno::EOVERFLOW);
        }
        Ok((start, start + l.len - 1))
    } else if l.len < 0 {
        if start + l.len < 0 {
            return Err(Errno::EINVAL);
        }
        Ok((start + l.len, start - 1))
    } else {
        Ok((start, OFFSET_MAX))
    }
}

fn conflicts(a: &RecLock, owner: Owner, write: bool, s: i64, e: i64) -> bool {
    a.owner != owner && (a.write || write) && a.start <= e && s <= a.end
}

/// F_GETLK / F_OFD_GETLK: the first lock that would block `l`, or F_UNLCK.
pub fn getlk(owner: Owner, f: &File, l: &mut Flock) -> Result<(), Errno> {
    let (s, e) = range_of(f, l)?;
    if l.ty != F_RDLCK && l.ty != F_WRLCK {
        return Err(Errno::EINVAL);
    }
    let key = key_of(f)?;
    let t = table().lock().unwrap();
    let hit = t.inodes.get(&key).and_then(|x| {
        x.rec
            .iter()
            .find(|r| conflicts(r, owner, l.ty == F_WRLCK, s, e))
            .cloned()
    });
    match hit {
        None => l.ty = F_UNLCK,
        Some(r) => {
            l.ty = if r.write { F_WRLCK } else { F_RDLCK };
            l.whence = 0;
            l.start = r.start;
            l.len = if r.end == OFFSET_MAX {
                0
            } else {
                r.end - r.start + 1
            };
            l.pid = match r.owner {
                Owner::Posix(_) => r.pid,
                Owner::Ofd(_) => -1,
            };
        }
    }
    Ok(())
}

/// Is `waiter` (waiting for `holder`) part of a cycle of POSIX owners?
fn deadlock(t: &Table, waiter: Owner, holder: Owner) -> bool {
    let Owner::Posix(w) = waiter else {
        return false;
    };
    let mut cur = holder;
    for _ in 0..=MAX_DEADLK {
        let Owner::Posix(c) = cur else { return false };
        if c == w {
            return true;
        }
        match t.blocked.get(&c) {
            Some(&next) => cur = next,
            None => return false,
        }
    }
    false
}

/// Applies a request of `owner` that has no conflict: unlocks, splits and merges the
/// owner's own locks as Linux's posix_lock_inode does.
fn apply(l: &mut InodeLocks, owner: Owner, pid: i32, ty: i16, s: i64, e: i64) {
    let (mut s, mut e) = (s, e);
    let write = ty == F_WRLCK;
    let mut out = Vec::with_capacity(l.rec.len() + 1);
    for r in l.rec.drain(..) {
        if r.owner != owner {
            out.push(r);
            continue;
        }
        let touches = r.start <= e.saturating_add(1) && s.saturating_sub(1) <= r.end;
        if !touches {
            out.push(r);
            continue;
        }
        if ty != F_UNLCK && r.write == write {
            s = s.min(r.start);
            e = e.max(r.end);
            continue;
        }
        if r.start <= e && s <= r.end {
            if r.start < s {
                out.push(RecLock {
                    end: s - 1,
                    ..r.clone()
                });
            }
            if r.end > e {
                out.push(RecLock { start: e + 1, ..r });
            }
        } else {
            out.push(r);
        }
    }
    if ty != F_UNLCK {
        out.push(RecLock {
            owner,
            pid,
            write,
            start: s,
            end: e,
        });
    }
    l.rec = out;
}

/// F_SETLK(W) / F_OFD_SETLK(W).
pub fn setlk(t: &Task, owner: Owner, f: &File, l: &Flock, wait: bool) -> Result<(), Errno> {
    let (s, e) = range_of(f, l)?;
    match l.ty {
        F_RDLCK if !f.readable() => return Err(Errno::EBADF),
        F_WRLCK if !f.writable() => return Err(Errno::EBADF),
        F_RDLCK | F_WRLCK | F_UNLCK => {}
        _ => return Err(Errno::EINVAL),
    }
    let key = key_of(f)?;
    let pid = t.tgid();
    let write = l.ty == F_WRLCK;
    let r = t.wait_until(&[queue()], None, None, || {
        let mut tb = table().lock().unwrap();
        if l.ty != F_UNLCK {
            let holder = tb
                .inodes
                .get(&key)
                .and_then(|x| x.rec.iter().find(|r| conflicts(r, owner, write, s, e)))
                .map(|r| r.owner);
            if let Some(h) = holder {
                if !wait {
                    return Err(Errno::EAGAIN);
                }
                if deadlock(&tb, owner, h) {
                    return Err(Errno::EDEADLK);
                }
                if let Owner::Posix(w) = owner {
                    tb.blocked.insert(w, h);
                }
                return Ok(None);
            }
        } else if !tb.inodes.contains_key(&key) {
            return Ok(Some(()));
        }
        note(&mut tb, key);
        let li = tb.inodes.entry(key).or_default();
        apply(li, owner, pid, l.ty, s, e);
        let holds = li.rec.iter().any(|r| r.owner == owner);
        if holds {
            tb.by_owner.entry(owner).or_default().insert(key);
        } else if let Some(set) = tb.by_owner.get_mut(&owner) {
            set.remove(&key);
            if set.is_empty() {
                tb.by_owner.remove(&owner);
            }
        }
        gc(&mut tb, key);
        Ok(Some(()))
    });
    if let Owner::Posix(w) = owner {
        table().lock().unwrap().blocked.remove(&w);
    }
    if l.ty == F_UNLCK || r.is_ok() {
        // An unlock or a merge may have freed ranges others wait for.
        queue().notify_all();
    }
    r
}

// ---- leases ----

/// F_GETLEASE: the type of the lease this open file holds.
pub fn getlease(f: &File) -> i16 {
    let Ok(key) = key_of(f) else { return F_UNLCK };
    let t = table().lock().unwrap();
    t.inodes
        .get(&key)
        .and_then(|l| l.leases.iter().find(|x| x.file == f.id))
        .map(|x| if x.write { F_WRLCK } else { F_RDLCK })
        .unwrap_or(F_UNLCK)
}

/// F_SETLEASE. `opens` counts the file's other open file descriptions: (readers,
/// writers), found by the caller. Linux refuses a read lease while anyone writes and a
/// write lease while anyone else has it open (EAGAIN).
pub fn setlease(f: &File, pid: i32, ty: i16, opens: (usize, usize)) -> Result<(), Errno> {
    let key = key_of(f)?;
    let mut t = table().lock().unwrap();
    if ty == F_UNLCK {
        if let Some(l) = t.inodes.get_mut(&key) {
            l.leases.retain(|x| x.file != f.id);
        }
        gc(&mut t, key);
        drop(t);
        queue().notify_all();
        return Ok(());
    }
    let write = match ty {
        F_RDLCK => false,
        F_WRLCK => true,
        _ => return Err(Errno::EINVAL),
    };
    let (others_r, others_w) = opens;
    let me_writes = f.writable();
    if !write && (others_w > 0 || me_writes) {
        return Err(Errno::EAGAIN);
    }
    if write && (others_r > 0 || others_w > 0) {
        return Err(Errno::EAGAIN);
    }
    note(&mut t, key);
    let l = t.inodes.entry(key).or_default();
    if l.leases
        .iter()
        .any(|x| x.file != f.id && (x.write || write))
    {
        return Err(Errno::EAGAIN);
    }
    l.leases.retain(|x| x.file != f.id);
    l.leases.push(Lease {
        file: f.id,
        pid,
        write,
        breaking: false,
    });
    t.by_file.entry(f.id).or_default().insert(key);
    Ok(())
}

/// An open of `f` with access `writing`: breaks conflicting leases held by other open
/// files (their holders get SIGIO and lease-break-time to give them up). A non-blocking
/// open gets EWOULDBLOCK instead of waiting.
pub fn break_lease(t: &Task, f: &File, writing: bool, nonblock: bool) -> Result<(), Errno> {
    if table().lock().unwrap().inodes.is_empty() {
        return Ok(());
    }
    let Ok(key) = key_of(f) else { return Ok(()) };
    let holders: Vec<i32> = {
        let mut tb = table().lock().unwrap();
        let Some(l) = tb.inodes.get_mut(&key) else {
            return Ok(());
        };
        let mut v = Vec::new();
        for x in l.leases.iter_mut() {
            if x.file != f.id && (x.write || writing) && !x.breaking {
                x.breaking = true;
                v.push(x.pid);
            }
        }
        if v.is_empty() && !l.leases.iter().any(|x| x.file != f.id && x.breaking) {
            return Ok(());
        }
        v
    };
    for pid in holders {
        let g = crate::kernel().procs.lock().unwrap().group(pid);
        if let Some(g) = g {
            let mut info = abi::signal::SigInfo::new(abi::signal::SIGIO, abi::signal::SI_KERNEL);
            info.set_pid_uid(0, 0);
            crate::signal::send_to_group(&g, info);
        }
    }
    if nonblock {
        return Err(Errno::EAGAIN);
    }
    let deadline = Instant::now() + LEASE_BREAK;
    let r = t.wait_until(&[queue()], None, Some(deadline), || {
        let tb = table().lock().unwrap();
        let blocked = tb
            .inodes
            .get(&key)
            .map(|l| {
                l.leases
                    .iter()
                    .any(|x| x.file != f.id && (x.write || writing))
            })
            .unwrap_or(false);
        Ok(if blocked { None } else { Some(()) })
    });
    match r {
        Err(Errno::ETIMEDOUT) => {
            // The holder did not answer: the lease is taken away.
            let mut tb = table().lock().unwrap();
            if let Some(l) = tb.inodes.get_mut(&key) {
                l.leases.retain(|x| x.file == f.id || !(x.write || writing));
            }
            gc(&mut tb, key);
            Ok(())
        }
        r => r,
    }
}

/// Who a lock belongs to, for picking the ones an fdinfo file shows.
#[derive(Clone, Copy, PartialEq)]
enum Holder {
    Owner(Owner),
    File(u64),
}

/// Every lock of file `key` as Linux prints it after the "N: " prefix, with its holder.
fn lines_of(key: &Key, l: &InodeLocks) -> Vec<(Holder, String)> {
    let dev = format!(
        "{:02x}:{:02x}:{}",
        super::stat::major(key.0),
        super::stat::minor(key.0),
        key.1
    );
    let ty = |w: bool| if w { "WRITE " } else { "READ  " };
    // Linux's order: flock locks, record locks, leases.
    let mut v = Vec::new();
    for x in &l.flock {
        let text = format!("FLOCK  ADVISORY  {}{} {} 0 EOF", ty(x.write), x.pid, dev);
        v.push((Holder::File(x.file), text));
    }
    for r in &l.rec {
        let (kind, pid) = match r.owner {
            Owner::Posix(_) => ("POSIX ", r.pid),
            Owner::Ofd(_) => ("OFDLCK", -1),
        };
        let end = if r.end == OFFSET_MAX {
            "EOF".to_string()
        } else {
            r.end.to_string()
        };
        let text = format!(
            "{} ADVISORY  {}{} {} {} {}",
            kind,
            ty(r.write),
            pid,
            dev,
            r.start,
            end
        );
        v.push((Holder::Owner(r.owner), text));
    }
    for x in &l.leases {
        let state = if x.breaking {
            "BREAKING  "
        } else {
            "ACTIVE    "
        };
        let text = format!("LEASE  {}{}{} {} 0 EOF", state, ty(x.write), x.pid, dev);
        v.push((Holder::File(x.file), text));
    }
    v
}

/// /proc/locks in Linux's format.
pub fn proc_locks() -> String {
    let t = table().lock().unwrap();
    let mut o = String::new();
    let mut n = 0;
    for key in &t.order {
        let Some(l) = t.inodes.get(key) else { continue };
        for (_, text) in lines_of(key, l) {
            n += 1;
            let _ = writeln!(o, "{n}: {text}");
        }
    }
    o
}

/// The "lock:" lines of /proc/PID/fdinfo/N: the locks held through open file `f` by the
/// process whose fd table is `table_id`.
pub fn fdinfo_lines(f: &File, table_id: u64) -> String {
    let t = table().lock().unwrap();
    if t.inodes.is_empty() {
        return String::new();
    }
    drop(t);
    let Ok(key) = key_of(f) else {
        return String::new();
    };
    let t = table().lock().unwrap();
    let Some(l) = t.inodes.get(&key) else {
        return String::new();
    };
    let mine = |h: &Holder| {
        matches!(h, Holder::Owner(Owner::Posix(id)) if *id == table_id)
            || *h == Holder::Owner(Owner::Ofd(f.id))
            || *h == Holder::File(f.id)
    };
    let mut o = String::new();
    let mut n = 0;
    for (h, text) in lines_of(&key, l) {
        if mine(&h) {
            n += 1;
            let _ = writeln!(o, "lock:\t{n}: {text}");
        }
    }
    o
}

/// Counts the open file descriptions of `f`'s file other than `f` itself, in every
/// process: (readers, writers). For F_SETLEASE's conflict check.
pub fn other_opens(f: &File) -> (usize, usize) {
    let Ok(key) = key_of(f) else { return (0, 0) };
    let tasks: Vec<Arc<Task>> = crate::kernel()
        .procs
        .lock()
        .unwrap()
        .tasks
        .values()
        .cloned()
        .collect();
    let mut seen = HashSet::new();
    let (mut r, mut w) = (0, 0);
    for t in tasks {
        for (_, g) in t.files().list() {
            if g.id == f.id || g.is_path() || !seen.insert(g.id) {
                continue;
            }
            if key_of(&g).map(|k| k == key).unwrap_or(false) {
                if g.writable() {
                    w += 1;
                } else {
                    r += 1;
                }
            }
        }
    }
    (r, w)
}
