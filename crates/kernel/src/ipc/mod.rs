//! The sandbox's IPC namespace: System V shared memory (`shm`), semaphores (`sem`) and
//! message queues (`msg`), and POSIX message queues with their file system (`mqueue`).
//!
//! Everything here is plain data held by the kernel (`Kernel::ipc`): id tables, objects,
//! limits, pending waiters as tickets. Blocked tasks sleep on a wait queue of their kind and
//! find their outcome under their ticket, so a waker completes an operation on the sleeper's
//! behalf exactly as Linux does (FIFO semop queues, pipelined message hand-off).
//!
//! Ids follow Linux's scheme (`ipc/util.c`): a 15-bit index allocated cyclically in
//! [0, max(in_use * 3 / 2, 64)) and a sequence number above it that grows whenever an index
//! at or below the last one is reused, so a fresh namespace hands out the same ids as Linux.

pub mod mqueue;
pub mod msg;
mod proc;
pub mod sem;
pub mod shm;
pub mod trace;

pub use proc::{proc_mode, proc_read, proc_write, PATHS as PROC_PATHS};

use crate::task::{Creds, Task};
use crate::wait::WaitQueue;
use abi::Errno;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

pub const IPC_PRIVATE: i32 = 0;
pub const IPC_CREAT: i32 = 0o1000;
pub const IPC_EXCL: i32 = 0o2000;
pub const IPC_NOWAIT: i32 = 0o4000;
pub const IPC_RMID: i32 = 0;
pub const IPC_SET: i32 = 1;
pub const IPC_STAT: i32 = 2;
pub const IPC_INFO: i32 = 3;

/// Linux's IPCMNI: the most objects of one kind, and the index part of an id.
pub const IPCMNI: u32 = 1 << 15;
const IPCMNI_SHIFT: u32 = 15;
/// Sequence numbers wrap below INT_MAX >> 15.
const SEQ_MAX: u32 = (i32::MAX as u32) >> IPCMNI_SHIFT;
/// The smallest window of indexes the cyclic allocator uses (RADIX_TREE_MAP_SIZE).
const MIN_CYCLE: u32 = 64;

pub const CAP_IPC_LOCK: u32 = 14;
pub const CAP_IPC_OWNER: u32 = 15;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_RESOURCE: u32 = 24;

/// The IPC namespace.
pub struct Ipc {
    pub shm: Mutex<shm::ShmNs>,
    pub sem: Mutex<sem::SemNs>,
    pub msg: Mutex<msg::MsgNs>,
    pub mq: mqueue::MqNs,
    /// Woken whenever a semaphore operation completes or a set goes away.
    pub sem_wq: WaitQueue,
    /// Woken whenever a message queue changes (messages, space, permissions, removal).
    pub msg_wq: WaitQueue,
}

impl Ipc {
    pub fn new() -> Ipc {
        Ipc {
            shm: Mutex::new(shm::ShmNs::new()),
            sem: Mutex::new(sem::SemNs::new()),
            msg: Mutex::new(msg::MsgNs::new()),
            mq: mqueue::MqNs::new(),
            sem_wq: WaitQueue::new(),
            msg_wq: WaitQueue::new(),
        }
    }
}

impl Default for Ipc {
    fn default() -> Self {
        Ipc::new()
    }
}

/// The running kernel's IPC namespace.
pub fn ipc() -> &'static Ipc {
    &crate::kernel().ipc
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wall-clock seconds (the IPC time stamps).
pub fn now() -> i64 {
    crate::vfs::now().sec
}

/// Linux's kern_ipc_perm.
#[derive(Clone, Debug, Default)]
pub struct Perm {
    pub key: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    /// Permission bits and the kind's status bits (SHM_DEST, SHM_LOCKED).
    pub mode: u32,
    pub seq: u32,
    pub id: i32,
}

impl Perm {
    fn new(key: i32, flg: i32, c: &Creds) -> Perm {
        Perm {
            key,
            uid: c.euid,
            gid: c.egid,
            cuid: c.euid,
            cgid: c.egid,
            mode: flg as u32 & 0o777,
            seq: 0,
            id: -1,
        }
    }

    /// ipcperms: may `c` access the object for `flag` (S_IRUGO-style bits)? EACCES if not.
    pub fn check(&self, c: &Creds, flag: u32) -> Result<(), Errno> {
        let requested = (flag >> 6) | (flag >> 3) | flag;
        let mut granted = self.mode;
        if c.euid == self.cuid || c.euid == self.uid {
            granted >>= 6;
        } else if crate::vfs::perm::in_group(c, self.cgid)
            || crate::vfs::perm::in_group(c, self.gid)
        {
            granted >>= 3;
        }
        if requested & !granted & 0o7 != 0 && !c.has_cap(CAP_IPC_OWNER) {
            return Err(Errno::EACCES);
        }
        Ok(())
    }

    /// The owner test of IPC_SET and IPC_RMID (ipcctl_obtain_check): EPERM unless the
    /// caller owns or created the object or has CAP_SYS_ADMIN.
    pub fn check_owner(&self, c: &Creds) -> Result<(), Errno> {
        if c.euid == self.cuid || c.euid == self.uid || c.has_cap(CAP_SYS_ADMIN) {
            Ok(())
        } else {
            Err(Errno::EPERM)
        }
    }

    /// IPC_SET's ipc_update_perm from a user `struct ipc64_perm`.
    pub fn update(&mut self, b: &[u8]) -> Result<(), Errno> {
        let uid = u32le(b, 4);
        let gid = u32le(b, 8);
        if uid == u32::MAX || gid == u32::MAX {
            return Err(Errno::EINVAL);
        }
        self.uid = uid;
        self.gid = gid;
        self.mode = (self.mode & !0o777) | (u32le(b, 20) & 0o777);
        Ok(())
    }

    /// x86-64 `struct ipc64_perm` (48 bytes).
    pub fn to_bytes(&self, out: &mut Vec<u8>) {
        for v in [
            self.key as u32,
            self.uid,
            self.gid,
            self.cuid,
            self.cgid,
            self.mode,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.seq as u16).to_le_bytes());
        out.extend_from_slice(&[0u8; 2 + 4 + 16]);
    }
}

pub fn u32le(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
        .unwrap_or(0)
}

pub fn u64le(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap()))
        .unwrap_or(0)
}

/// Appends little-endian u64 words.
pub fn put64(out: &mut Vec<u8>, vals: &[u64]) {
    for v in vals {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends little-endian i32 words.
pub fn put32(out: &mut Vec<u8>, vals: &[i32]) {
    for v in vals {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// An object kind's accessor for its permissions.
pub trait HasPerm {
    fn perm(&self) -> &Perm;
    fn perm_mut(&mut self) -> &mut Perm;
}

/// One kind's id table (Linux's ipc_ids).
pub struct Ids<T> {
    map: BTreeMap<u32, T>,
    seq: u32,
    last_idx: i64,
    /// Where the cyclic allocator looks next (the idr's idr_next).
    next: u32,
}

impl<T: HasPerm> Ids<T> {
    pub fn new() -> Ids<T> {
        Ids {
            map: BTreeMap::new(),
            seq: 0,
            last_idx: -1,
            next: 0,
        }
    }

    pub fn in_use(&self) -> usize {
        self.map.len()
    }

    /// The highest index in use, or 0 (what the IPC_INFO commands return).
    pub fn max_idx(&self) -> i32 {
        self.map.keys().next_back().map(|&i| i as i32).unwrap_or(0)
    }

    /// Adds `obj` (ipc_addid): ENOSPC past `limit` objects; sets its id and sequence.
    pub fn add(&mut self, limit: u32, mut obj: T) -> Result<i32, Errno> {
        let limit = limit.min(IPCMNI) as usize;
        if self.map.len() >= limit {
            return Err(Errno::ENOSPC);
        }
        let window = (self.map.len() as u32 * 3 / 2).clamp(MIN_CYCLE, IPCMNI);
        let free_from = |start: u32| (start..window).find(|i| !self.map.contains_key(i));
        let idx = match free_from(self.next) {
            Some(i) => i,
            None if self.next > 0 => free_from(0).ok_or(Errno::ENOSPC)?,
            None => return Err(Errno::ENOSPC),
        };
        self.next = idx + 1;
        if idx as i64 <= self.last_idx {
            self.seq += 1;
            if self.seq >= SEQ_MAX {
                self.seq = 0;
            }
        }
        self.last_idx = idx as i64;
        let id = ((self.seq << IPCMNI_SHIFT) + idx) as i32;
        let p = obj.perm_mut();
        p.seq = self.seq;
        p.id = id;
        self.map.insert(idx, obj);
        Ok(id)
    }

    fn idx(id: i32) -> u32 {
        id as u32 & (IPCMNI - 1)
    }

    /// The object with id `id` (sequence checked): EINVAL if none.
    pub fn get(&self, id: i32) -> Result<&T, Errno> {
        match self.map.get(&Self::idx(id)) {
            Some(o) if o.perm().id == id => Ok(o),
            _ => Err(Errno::EINVAL),
        }
    }

    pub fn get_mut(&mut self, id: i32) -> Result<&mut T, Errno> {
        match self.map.get_mut(&Self::idx(id)) {
            Some(o) if o.perm().id == id => Ok(o),
            _ => Err(Errno::EINVAL),
        }
    }

    /// The object at the index part of `id`, whatever its sequence (the *_STAT commands).
    pub fn by_index(&self, id: i32) -> Result<&T, Errno> {
        self.map.get(&Self::idx(id)).ok_or(Errno::EINVAL)
    }

    pub fn remove(&mut self, id: i32) -> Option<T> {
        self.get(id).ok()?;
        self.map.remove(&Self::idx(id))
    }

    /// The id of the object with public key `key`.
    pub fn find_key(&self, key: i32) -> Option<i32> {
        self.map
            .values()
            .find(|o| o.perm().key == key)
            .map(|o| o.perm().id)
    }

    /// Objects in index order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.map.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.map.values_mut()
    }

    pub fn retain(&mut self, mut f: impl FnMut(&T) -> bool) {
        self.map.retain(|_, o| f(o));
    }
}

impl<T: HasPerm> Default for Ids<T> {
    fn default() -> Self {
        Ids::new()
    }
}

/// What ipcget does for a key that is not IPC_PRIVATE before creating anything: Some(result)
/// when the key exists (EEXIST, the kind's own check, then permission) or must not be
/// created (ENOENT); None when a new object is to be made.
pub fn lookup_key<T: HasPerm>(
    ids: &Ids<T>,
    key: i32,
    flg: i32,
    c: &Creds,
    more: impl FnOnce(&T) -> Result<(), Errno>,
) -> Option<Result<i32, Errno>> {
    if key == IPC_PRIVATE {
        return None;
    }
    match ids.find_key(key) {
        None if flg & IPC_CREAT == 0 => Some(Err(Errno::ENOENT)),
        None => None,
        Some(_) if flg & IPC_CREAT != 0 && flg & IPC_EXCL != 0 => Some(Err(Errno::EEXIST)),
        Some(id) => {
            let o = ids.get(id).ok()?;
            Some(
                more(o)
                    .and_then(|_| o.perm().check(c, flg as u32))
                    .map(|_| id),
            )
        }
    }
}

/// Reads a `struct timespec` for a relative (semtimedop) or absolute (mq) timeout:
/// EFAULT if unreadable, EINVAL unless 0 <= nsec < 1e9 and sec >= 0.
pub fn read_timespec(t: &Task, addr: u64) -> Result<(i64, i64), Errno> {
    let mut b = [0u8; 16];
    t.read_mem(addr, &mut b)?;
    let sec = u64le(&b, 0) as i64;
    let nsec = u64le(&b, 8) as i64;
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec, nsec))
}

/// Called when the last thread of a process exits (with no kernel locks held): applies
/// its SEM_UNDO adjustments, detaches its shared memory, drops its mq notifications.
pub fn on_exit(t: &Task) {
    sem::exit_undo(t.tgid());
    shm::detach_all(t, &t.mm(), true);
    mqueue::drop_notifications(t.tgid());
}

/// Called by execve with the address space being replaced: its attaches are detached
/// (unless a vfork parent still uses it), and close-on-exec mq descriptors take their
/// notification registrations with them.
pub fn on_exec(t: &Task, old: &std::sync::Arc<crate::mm::MM>) {
    if std::sync::Arc::strong_count(old) == 1 {
        shm::detach_all(t, old, false);
    }
    mqueue::drop_notifications(t.tgid());
}
