//! System V semaphores.
//!
//! A semop that cannot proceed joins its set's FIFO queue of pending operations; whoever
//! changes the set (semop, SETVAL, SETALL, SEM_UNDO at exit) retries the queue in order and
//! completes what can run now on the sleepers' behalf (Linux's update_queue), so a woken
//! task never races for the values. SEM_UNDO adjustments are kept per process.

use super::{
    lock, now, put32, put64, HasPerm, Ids, Perm, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT,
};
use crate::task::{SysResult, Task};
use abi::Errno;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const SEMMSL: i32 = 32000;
pub const SEMMNS: i32 = SEMMNI * SEMMSL;
pub const SEMOPM: i32 = 500;
pub const SEMMNI: i32 = 32000;
pub const SEMVMX: i32 = 32767;
const SEMAEM: i32 = SEMVMX;
const SEMUME: i32 = SEMOPM;
const SEMUSZ: i32 = 20;

const SEM_UNDO: i16 = 0x1000;

const GETPID: i32 = 11;
const GETVAL: i32 = 12;
const GETALL: i32 = 13;
const GETNCNT: i32 = 14;
const GETZCNT: i32 = 15;
const SETVAL: i32 = 16;
const SETALL: i32 = 17;
const SEM_STAT: i32 = 18;
const SEM_INFO: i32 = 19;
const SEM_STAT_ANY: i32 = 20;

/// One `struct sembuf`.
#[derive(Clone, Copy, Debug)]
pub struct Sembuf {
    pub num: u16,
    pub op: i16,
    pub flg: i16,
}

#[derive(Clone, Debug, Default)]
pub struct Sem {
    pub val: i32,
    /// Last process to change it.
    pub pid: i32,
    pub otime: i64,
}

/// A sleeping semop.
#[derive(Clone, Debug)]
pub struct Waiter {
    pub ticket: u64,
    /// The calling process (for sempid and its undo list).
    pub pid: i32,
    pub sops: Vec<Sembuf>,
    pub alter: bool,
    /// The operation it waits on (for GETNCNT/GETZCNT).
    pub blocking: Sembuf,
}

pub struct SemSet {
    pub perm: Perm,
    pub ctime: i64,
    pub sems: Vec<Sem>,
    pub pending: Vec<Waiter>,
}

impl HasPerm for SemSet {
    fn perm(&self) -> &Perm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut Perm {
        &mut self.perm
    }
}

impl SemSet {
    fn otime(&self) -> i64 {
        self.sems.iter().map(|s| s.otime).max().unwrap_or(0)
    }
}

/// A process's adjustments for one set.
#[derive(Clone, Debug)]
pub struct Undo {
    pub semid: i32,
    pub adj: Vec<i32>,
}

pub struct SemNs {
    pub ids: Ids<SemSet>,
    /// semmsl, semmns, semopm, semmni (/proc/sys/kernel/sem).
    pub ctls: [i32; 4],
    pub used_sems: i64,
    /// Undo lists by process, most recently used first.
    pub undo: HashMap<i32, Vec<Undo>>,
    /// Outcomes of completed waiters, by ticket.
    done: HashMap<u64, Result<(), Errno>>,
    next_ticket: u64,
}

impl SemNs {
    pub fn new() -> SemNs {
        SemNs {
            ids: Ids::new(),
            ctls: [SEMMSL, SEMMNS, SEMOPM, SEMMNI],
            used_sems: 0,
            undo: HashMap::new(),
            done: HashMap::new(),
            next_ticket: 1,
        }
    }

    /// The adjustments of process `pid` for set `semid`.
    fn adj_of(&mut self, pid: i32, semid: i32) -> Option<&mut Vec<i32>> {
        self.undo
            .get_mut(&pid)?
            .iter_mut()
            .find(|u| u.semid == semid)
            .map(|u| &mut u.adj)
    }

    /// Runs the pending operations of set `semid` that can complete now, in FIFO order.
    /// Returns whether any completed.
    fn update_queue(&mut self, semid: i32) -> bool {
        let mut completed = false;
        'again: loop {
            let Ok(set) = self.ids.get_mut(semid) else {
                return completed;
            };
            let mut i = 0;
            while i < set.pending.len() {
                let w = set.pending[i].clone();
                let undo_list = self.undo.get_mut(&w.pid);
                let adj = undo_list
                    .and_then(|l| l.iter_mut().find(|u| u.semid == semid))
                    .map(|u| &mut u.adj);
                match perform(set, &w.sops, adj, w.pid) {
                    Outcome::Block(b) => {
                        set.pending[i].blocking = b;
                        i += 1;
                    }
                    Outcome::Done => {
                        set.pending.remove(i);
                        set.sems[w.sops[0].num as usize].otime = now();
                        self.done.insert(w.ticket, Ok(()));
                        completed = true;
                        if w.alter {
                            continue 'again;
                        }
                    }
                    Outcome::Err(e) => {
                        set.pending.remove(i);
                        self.done.insert(w.ticket, Err(e));
                    }
                }
            }
            return completed;
        }
    }
}

impl Default for SemNs {
    fn default() -> Self {
        SemNs::new()
    }
}

enum Outcome {
    Done,
    Block(Sembuf),
    Err(Errno),
}

/// Linux's perform_atomic_semop: all of `sops` or nothing. `adj`: the caller's undo values
/// for the set (required when a sop has SEM_UNDO).
fn perform(set: &mut SemSet, sops: &[Sembuf], adj: Option<&mut Vec<i32>>, pid: i32) -> Outcome {
    let mut vals: Vec<(usize, i32)> = Vec::new();
    let mut adjs: Vec<(usize, i32)> = Vec::new();
    let get = |v: &Vec<(usize, i32)>, i: usize, base: i32| {
        v.iter()
            .rev()
            .find(|x| x.0 == i)
            .map(|x| x.1)
            .unwrap_or(base)
    };
    let no_adj: Vec<i32> = Vec::new();
    let adj_now = adj.as_deref().unwrap_or(&no_adj);
    for sop in sops {
        let n = sop.num as usize;
        let cur = get(&vals, n, set.sems[n].val);
        let op = sop.op as i32;
        if op == 0 && cur != 0 || cur + op < 0 {
            return if sop.flg & IPC_NOWAIT as i16 != 0 {
                Outcome::Err(Errno::EAGAIN)
            } else {
                Outcome::Block(*sop)
            };
        }
        if cur + op > SEMVMX {
            return Outcome::Err(Errno::ERANGE);
        }
        if sop.flg & SEM_UNDO != 0 {
            let u = get(&adjs, n, adj_now.get(n).copied().unwrap_or(0)) - op;
            if !(-SEMAEM - 1..=SEMAEM).contains(&u) {
                return Outcome::Err(Errno::ERANGE);
            }
            adjs.push((n, u));
        }
        vals.push((n, cur + op));
    }
    for (n, v) in vals {
        set.sems[n].val = v;
        set.sems[n].pid = pid;
    }
    if let Some(a) = adj {
        for (n, u) in adjs {
            if let Some(x) = a.get_mut(n) {
                *x = u;
            }
        }
    }
    Outcome::Done
}

/// `n` default values, or ENOMEM (sizes come from limits root may raise very high).
fn zeroed<T: Default + Clone>(n: usize) -> Result<Vec<T>, Errno> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    v.resize(n, T::default());
    Ok(v)
}

fn wake() {
    super::ipc().sem_wq.notify_all();
}

/// semget(2).
pub fn semget(t: &Task, key: i32, nsems: i32, flg: i32) -> SysResult {
    let c = t.creds();
    let mut ns = lock(&super::ipc().sem);
    if nsems < 0 || nsems > ns.ctls[0] {
        return Err(Errno::EINVAL);
    }
    let found = super::lookup_key(&ns.ids, key, flg, &c, |s| {
        if nsems as usize > s.sems.len() {
            Err(Errno::EINVAL)
        } else {
            Ok(())
        }
    });
    if let Some(r) = found {
        return r.map(|id| id as u64);
    }
    if nsems == 0 {
        return Err(Errno::EINVAL);
    }
    if ns.used_sems + nsems as i64 > ns.ctls[1] as i64 {
        return Err(Errno::ENOSPC);
    }
    let set = SemSet {
        perm: Perm::new(key, flg, &c),
        ctime: now(),
        sems: zeroed(nsems as usize)?,
        pending: Vec::new(),
    };
    let limit = ns.ctls[3].max(0) as u32;
    let id = ns.ids.add(limit, set)?;
    ns.used_sems += nsems as i64;
    Ok(id as u64)
}

/// semop(2) and semtimedop(2).
pub fn semtimedop(t: &Task, semid: i32, usops: u64, nsops: u32, timeout: u64) -> SysResult {
    let timeout = if timeout != 0 {
        let mut b = [0u8; 16];
        t.read_mem(timeout, &mut b)?;
        Some((super::u64le(&b, 0) as i64, super::u64le(&b, 8) as i64))
    } else {
        None
    };
    let opm = lock(&super::ipc().sem).ctls[2];
    if nsops as u64 > opm as u32 as u64 {
        return Err(Errno::E2BIG);
    }
    if nsops < 1 {
        return Err(Errno::EINVAL);
    }
    let mut raw: Vec<u8> = zeroed(nsops as usize * 6)?;
    t.read_mem(usops, &mut raw)?;
    let sops: Vec<Sembuf> = raw
        .chunks(6)
        .map(|c| Sembuf {
            num: u16::from_le_bytes([c[0], c[1]]),
            op: i16::from_le_bytes([c[2], c[3]]),
            flg: i16::from_le_bytes([c[4], c[5]]),
        })
        .collect();
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = match timeout {
        Some((sec, nsec)) => {
            if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
            // A deadline past what an Instant can hold is no deadline.
            Instant::now().checked_add(Duration::new(sec as u64, nsec as u32))
        }
        None => None,
    };
    let max = sops.iter().map(|s| s.num).max().unwrap_or(0) as usize;
    let undos = sops.iter().any(|s| s.flg & SEM_UNDO != 0);
    let alter = sops.iter().any(|s| s.op != 0);
    let pid = t.tgid();
    let c = t.creds();
    let ticket = {
        let mut ns = lock(&super::ipc().sem);
        let set = ns.ids.get(semid)?;
        let nsems = set.sems.len();
        if undos && ns.adj_of(pid, semid).is_none() {
            let adj = zeroed(nsems)?;
            let list = ns.undo.entry(pid).or_default();
            list.insert(0, Undo { semid, adj });
        }
        let set = ns.ids.get(semid)?;
        if max >= set.sems.len() {
            return Err(Errno::EFBIG);
        }
        set.perm.check(&c, if alter { 0o222 } else { 0o444 })?;
        let ns = &mut *ns;
        let set = ns.ids.get_mut(semid)?;
        let adj = if undos {
            ns.undo
                .get_mut(&pid)
                .and_then(|l| l.iter_mut().find(|u| u.semid == semid))
                .map(|u| &mut u.adj)
        } else {
            None
        };
        match perform(set, &sops, adj, pid) {
            Outcome::Done => {
                set.sems[sops[0].num as usize].otime = now();
                if alter && ns.update_queue(semid) {
                    wake();
                }
                return Ok(0);
            }
            Outcome::Err(e) => return Err(e),
            Outcome::Block(b) => {
                let ticket = ns.next_ticket;
                ns.next_ticket += 1;
                let set = ns.ids.get_mut(semid)?;
                set.pending.push(Waiter {
                    ticket,
                    pid,
                    sops,
                    alter,
                    blocking: b,
                });
                ticket
            }
        }
    };
    let ipc = super::ipc();
    let r = t.wait_until(&[&ipc.sem_wq], None, deadline, || {
        Ok(lock(&ipc.sem).done.remove(&ticket))
    });
    match r {
        Ok(res) => res.map(|_| 0),
        Err(e) => {
            let mut ns = lock(&ipc.sem);
            if let Some(res) = ns.done.remove(&ticket) {
                return res.map(|_| 0);
            }
            if let Ok(set) = ns.ids.get_mut(semid) {
                set.pending.retain(|w| w.ticket != ticket);
            }
            // Linux never restarts semop: a signal gives EINTR, a timeout EAGAIN.
            Err(if e == Errno::ETIMEDOUT {
                Errno::EAGAIN
            } else {
                Errno::EINTR
            })
        }
    }
}

/// x86-64 `struct semid64_ds` (104 bytes).
fn semid_ds(s: &SemSet) -> Vec<u8> {
    let mut o = Vec::with_capacity(104);
    s.perm.to_bytes(&mut o);
    put64(
        &mut o,
        &[
            s.otime() as u64,
            0,
            s.ctime as u64,
            0,
            s.sems.len() as u64,
            0,
            0,
        ],
    );
    o
}

/// semctl(2).
pub fn semctl(t: &Task, semid: i32, semnum: i32, cmd: i32, arg: u64) -> SysResult {
    if semid < 0 {
        return Err(Errno::EINVAL);
    }
    let c = t.creds();
    let pid = t.tgid();
    let mut ns = lock(&super::ipc().sem);
    match cmd {
        IPC_INFO | SEM_INFO => {
            let (usz, aem) = if cmd == SEM_INFO {
                (ns.ids.in_use() as i32, ns.used_sems as i32)
            } else {
                (SEMUSZ, SEMAEM)
            };
            let [msl, mns, opm, mni] = ns.ctls;
            let mut o = Vec::with_capacity(40);
            // semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem
            put32(
                &mut o,
                &[SEMMNS, mni, mns, SEMMNS, msl, opm, SEMUME, usz, SEMVMX, aem],
            );
            let r = ns.ids.max_idx();
            drop(ns);
            t.write_mem(arg, &o)?;
            Ok(r as u64)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let s = if cmd == IPC_STAT {
                ns.ids.get(semid)?
            } else {
                ns.ids.by_index(semid)?
            };
            if cmd != SEM_STAT_ANY {
                s.perm.check(&c, 0o444)?;
            }
            let b = semid_ds(s);
            let r = if cmd == IPC_STAT { 0 } else { s.perm.id as u64 };
            drop(ns);
            t.write_mem(arg, &b)?;
            Ok(r)
        }
        GETALL | SETALL => {
            let s = ns.ids.get(semid)?;
            s.perm
                .check(&c, if cmd == SETALL { 0o222 } else { 0o444 })?;
            let n = s.sems.len();
            if cmd == GETALL {
                let mut b = Vec::with_capacity(n * 2);
                for x in &s.sems {
                    b.extend_from_slice(&(x.val as u16).to_le_bytes());
                }
                drop(ns);
                t.write_mem(arg, &b)?;
                return Ok(0);
            }
            let mut b: Vec<u8> = zeroed(n * 2)?;
            t.read_mem(arg, &mut b)?;
            let vals: Vec<i32> = b
                .chunks(2)
                .map(|x| u16::from_le_bytes([x[0], x[1]]) as i32)
                .collect();
            if vals.iter().any(|&v| v > SEMVMX) {
                return Err(Errno::ERANGE);
            }
            let s = ns.ids.get_mut(semid)?;
            for (x, v) in s.sems.iter_mut().zip(vals) {
                x.val = v;
                x.pid = pid;
            }
            s.ctime = now();
            for l in ns.undo.values_mut() {
                for u in l.iter_mut().filter(|u| u.semid == semid) {
                    u.adj.iter_mut().for_each(|a| *a = 0);
                }
            }
            if ns.update_queue(semid) {
                set_otime0(&mut ns, semid);
                wake();
            }
            Ok(0)
        }
        GETVAL | GETPID | GETNCNT | GETZCNT => {
            let s = ns.ids.get(semid)?;
            s.perm.check(&c, 0o444)?;
            if semnum < 0 || semnum as usize >= s.sems.len() {
                return Err(Errno::EINVAL);
            }
            let x = &s.sems[semnum as usize];
            Ok(match cmd {
                GETVAL => x.val as u64,
                GETPID => x.pid as u64,
                _ => {
                    let zero = cmd == GETZCNT;
                    s.pending
                        .iter()
                        .filter(|w| {
                            w.blocking.num as i32 == semnum
                                && if zero {
                                    w.blocking.op == 0
                                } else {
                                    w.blocking.op < 0
                                }
                        })
                        .count() as u64
                }
            })
        }
        SETVAL => {
            let val = arg as i32;
            if !(0..=SEMVMX).contains(&val) {
                return Err(Errno::ERANGE);
            }
            let s = ns.ids.get_mut(semid)?;
            if semnum < 0 || semnum as usize >= s.sems.len() {
                return Err(Errno::EINVAL);
            }
            s.perm.check(&c, 0o222)?;
            s.sems[semnum as usize].val = val;
            s.sems[semnum as usize].pid = pid;
            s.ctime = now();
            for l in ns.undo.values_mut() {
                for u in l.iter_mut().filter(|u| u.semid == semid) {
                    if let Some(a) = u.adj.get_mut(semnum as usize) {
                        *a = 0;
                    }
                }
            }
            if ns.update_queue(semid) {
                set_otime0(&mut ns, semid);
                wake();
            }
            Ok(0)
        }
        IPC_SET | IPC_RMID => {
            let mut b = [0u8; 104];
            if cmd == IPC_SET {
                t.read_mem(arg, &mut b)?;
            }
            let s = ns.ids.get_mut(semid)?;
            s.perm.check_owner(&c)?;
            if cmd == IPC_SET {
                s.perm.update(&b)?;
                s.ctime = now();
                return Ok(0);
            }
            let s = ns.ids.remove(semid).expect("checked");
            for w in &s.pending {
                ns.done.insert(w.ticket, Err(Errno::EIDRM));
            }
            for l in ns.undo.values_mut() {
                l.retain(|u| u.semid != semid);
            }
            ns.used_sems -= s.sems.len() as i64;
            wake();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Operations completed by SETVAL, SETALL or an exit's undo stamp the set's first
/// semaphore (Linux's set_semotime without sops).
fn set_otime0(ns: &mut SemNs, semid: i32) {
    if let Ok(s) = ns.ids.get_mut(semid) {
        s.sems[0].otime = now();
    }
}

/// Applies process `pid`'s SEM_UNDO adjustments (exit_sem): values are clamped to
/// [0, SEMVMX], and waiters that can now run complete.
pub fn exit_undo(pid: i32) {
    let mut ns = lock(&super::ipc().sem);
    let Some(list) = ns.undo.remove(&pid) else {
        return;
    };
    let mut woke = false;
    for u in list {
        let Ok(s) = ns.ids.get_mut(u.semid) else {
            continue;
        };
        for (x, &a) in s.sems.iter_mut().zip(&u.adj) {
            if a != 0 {
                x.val = (x.val + a).clamp(0, SEMVMX);
                x.pid = pid;
            }
        }
        ns.update_queue(u.semid);
        set_otime0(&mut ns, u.semid);
        woke = true;
    }
    if woke {
        wake();
    }
}

/// /proc/sysvipc/sem.
pub fn proc_text() -> String {
    let ns = lock(&super::ipc().sem);
    let mut s = String::from(
        "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n",
    );
    for g in ns.ids.iter() {
        s.push_str(&format!(
            "{:>10} {:>10}  {:>4o} {:>10} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10}\n",
            g.perm.key,
            g.perm.id,
            g.perm.mode,
            g.sems.len(),
            g.perm.uid,
            g.perm.gid,
            g.perm.cuid,
            g.perm.cgid,
            g.otime(),
            g.ctime
        ));
    }
    s
}
