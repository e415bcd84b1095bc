//! Resource limits and prctl.

use crate::syscalls::identity::{
    self, CAP_LAST_CAP, CAP_SETPCAP, SECBIT_KEEP_CAPS, SECBIT_KEEP_CAPS_LOCKED,
    SECBIT_NO_CAP_AMBIENT_RAISE, SECURE_ALL_BITS, SECURE_ALL_LOCKS,
};
use crate::task::{Task, RLIMIT_NLIMITS};
use crate::{kernel, SysResult};
use abi::sysno as nr;
use abi::Errno;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

const CAP_SYS_RESOURCE: u32 = 24;
const RLIMIT_NOFILE: usize = 7;
/// fs.nr_open's default: the highest RLIMIT_NOFILE.
const NR_OPEN: u64 = 1 << 20;

/// Handles the calls of this family; None for other numbers.
pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::PRLIMIT64 => prlimit64(t, a[0] as i32, a[1] as u32, a[2], a[3]),
        nr::GETRLIMIT => getrlimit(t, a[0] as u32, a[1]),
        nr::SETRLIMIT => setrlimit(t, a[0] as u32, a[1]),
        nr::PRCTL => prctl(t, a[0] as i32, a[1], a[2], a[3], a[4]),
        _ => return None,
    })
}

/// What this file implements, with a note where support is partial ("" when complete).
pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (
            nr::PRLIMIT64,
            "limits are recorded; enforcement is up to each resource's code",
        ),
        (nr::GETRLIMIT, ""),
        (
            nr::SETRLIMIT,
            "limits are recorded; enforcement is up to each resource's code",
        ),
        (
            nr::PRCTL,
            "partial: PR_SET_SECCOMP returns EINVAL (no seccomp), PR_SET_MM returns EPERM, \
             PR_SET_VMA/speculation control/MDWE/syscall user dispatch return EINVAL, \
             PR_SET_TSC accepts only PR_TSC_ENABLE; timer slack, MCE kill policy and THP \
             disable are recorded only",
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Resource limits

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Rlimit {
    cur: u64,
    max: u64,
}

/// do_prlimit on the limits of `target`: returns the old value.
fn do_prlimit(
    t: &Task,
    target: &Task,
    resource: u32,
    new: Option<Rlimit>,
) -> Result<Rlimit, Errno> {
    if resource as usize >= RLIMIT_NLIMITS {
        return Err(Errno::EINVAL);
    }
    let r = resource as usize;
    if let Some(n) = new {
        if n.cur > n.max {
            return Err(Errno::EINVAL);
        }
        if r == RLIMIT_NOFILE && n.max > NR_OPEN {
            return Err(Errno::EPERM);
        }
    }
    let can_raise = t.creds().has_cap(CAP_SYS_RESOURCE);
    let mut g = target.tg.lock();
    let (cur, max) = g.rlimits[r];
    if let Some(n) = new {
        if n.max > max && !can_raise {
            return Err(Errno::EPERM);
        }
        g.rlimits[r] = (n.cur, n.max);
    }
    Ok(Rlimit { cur, max })
}

fn prlimit64(t: &Task, pid: i32, resource: u32, new: u64, old: u64) -> SysResult {
    let newv: Option<Rlimit> = if new != 0 {
        Some(t.read_val(new)?)
    } else {
        None
    };
    let target: Arc<Task>;
    let target_ref: &Task = if pid == 0 || pid == t.tid {
        t
    } else {
        target = kernel()
            .procs
            .lock()
            .unwrap()
            .task(pid)
            .ok_or(Errno::ESRCH)?;
        if !std::ptr::eq(Arc::as_ptr(&target), t) {
            check_prlimit_permission(t, &target)?;
        }
        &target
    };
    let o = do_prlimit(t, target_ref, resource, newv)?;
    if old != 0 {
        t.write_val(old, &o)?;
    }
    Ok(0)
}

/// Another process's limits: the caller's real ids must match all of the target's, or the
/// caller needs CAP_SYS_RESOURCE.
fn check_prlimit_permission(t: &Task, target: &Task) -> Result<(), Errno> {
    if Arc::ptr_eq(&t.tg, &target.tg) {
        return Ok(());
    }
    let c = t.creds();
    let o = target.creds();
    if c.uid == o.euid
        && c.uid == o.suid
        && c.uid == o.uid
        && c.gid == o.egid
        && c.gid == o.sgid
        && c.gid == o.gid
    {
        return Ok(());
    }
    if c.has_cap(CAP_SYS_RESOURCE) {
        return Ok(());
    }
    Err(Errno::EPERM)
}

fn getrlimit(t: &Task, resource: u32, rlim: u64) -> SysResult {
    let o = do_prlimit(t, t, resource, None)?;
    t.write_val(rlim, &o)?;
    Ok(0)
}

fn setrlimit(t: &Task, resource: u32, rlim: u64) -> SysResult {
    let n: Rlimit = t.read_val(rlim)?;
    do_prlimit(t, t, resource, Some(n))?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// prctl

pub const PR_SET_PDEATHSIG: i32 = 1;
pub const PR_GET_PDEATHSIG: i32 = 2;
pub const PR_GET_DUMPABLE: i32 = 3;
pub const PR_SET_DUMPABLE: i32 = 4;
pub const PR_GET_KEEPCAPS: i32 = 7;
pub const PR_SET_KEEPCAPS: i32 = 8;
pub const PR_GET_TIMING: i32 = 13;
pub const PR_SET_TIMING: i32 = 14;
pub const PR_SET_NAME: i32 = 15;
pub const PR_GET_NAME: i32 = 16;
pub const PR_GET_SECCOMP: i32 = 21;
pub const PR_SET_SECCOMP: i32 = 22;
pub const PR_CAPBSET_READ: i32 = 23;
pub const PR_CAPBSET_DROP: i32 = 24;
pub const PR_GET_TSC: i32 = 25;
pub const PR_SET_TSC: i32 = 26;
pub const PR_GET_SECUREBITS: i32 = 27;
pub const PR_SET_SECUREBITS: i32 = 28;
pub const PR_SET_TIMERSLACK: i32 = 29;
pub const PR_GET_TIMERSLACK: i32 = 30;
pub const PR_TASK_PERF_EVENTS_DISABLE: i32 = 31;
pub const PR_TASK_PERF_EVENTS_ENABLE: i32 = 32;
pub const PR_MCE_KILL: i32 = 33;
pub const PR_MCE_KILL_GET: i32 = 34;
pub const PR_SET_MM: i32 = 35;
pub const PR_SET_CHILD_SUBREAPER: i32 = 36;
pub const PR_GET_CHILD_SUBREAPER: i32 = 37;
pub const PR_SET_NO_NEW_PRIVS: i32 = 38;
pub const PR_GET_NO_NEW_PRIVS: i32 = 39;
pub const PR_GET_TID_ADDRESS: i32 = 40;
pub const PR_SET_THP_DISABLE: i32 = 41;
pub const PR_GET_THP_DISABLE: i32 = 42;
pub const PR_CAP_AMBIENT: i32 = 47;
pub const PR_SET_IO_FLUSHER: i32 = 57;
pub const PR_GET_IO_FLUSHER: i32 = 58;

const PR_CAP_AMBIENT_IS_SET: u64 = 1;
const PR_CAP_AMBIENT_RAISE: u64 = 2;
const PR_CAP_AMBIENT_LOWER: u64 = 3;
const PR_CAP_AMBIENT_CLEAR_ALL: u64 = 4;
const PR_TSC_ENABLE: u64 = 1;
const PR_MCE_KILL_CLEAR: u64 = 0;
const PR_MCE_KILL_SET: u64 = 1;
const PR_MCE_KILL_LATE: u64 = 0;
const PR_MCE_KILL_EARLY: u64 = 1;
const PR_MCE_KILL_DEFAULT: u64 = 2;
const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;
const TASK_COMM_LEN: usize = 16;

/// Per-task prctl state that Task has no field for (keyed by tid, checked against the
/// task's start instant).
#[derive(Clone, Copy)]
struct PrState {
    start: Instant,
    timer_slack: u64,
    /// None: PR_MCE_KILL_DEFAULT; Some(early).
    mce_kill: Option<bool>,
    thp_disable: bool,
    io_flusher: bool,
}

impl PrState {
    fn new(start: Instant) -> PrState {
        PrState {
            start,
            timer_slack: DEFAULT_TIMER_SLACK_NS,
            mce_kill: None,
            thp_disable: false,
            io_flusher: false,
        }
    }
}

static PRSTATE: Mutex<Option<HashMap<i32, PrState>>> = Mutex::new(None);

fn pr_get(t: &Task) -> PrState {
    let g = PRSTATE.lock().unwrap_or_else(|e| e.into_inner());
    g.as_ref()
        .and_then(|m| m.get(&t.tid))
        .filter(|s| s.start == t.start)
        .copied()
        .unwrap_or_else(|| PrState::new(t.start))
}

fn pr_update(t: &Task, f: impl FnOnce(&mut PrState)) {
    let mut g = PRSTATE.lock().unwrap_or_else(|e| e.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    if m.len() > 4096 {
        // Forget entries of tasks and groups that are gone (try_lock: a caller may hold
        // the process table).
        if let Ok(procs) = kernel().procs.try_lock() {
            m.retain(|tid, _| procs.tasks.contains_key(tid));
        }
    }
    let e = m.entry(t.tid).or_insert_with(|| PrState::new(t.start));
    if e.start != t.start {
        *e = PrState::new(t.start);
    }
    f(e);
}

/// The timer slack of task `t` in ns (PR_GET_TIMERSLACK; /proc/PID/timerslack_ns).
pub fn timer_slack_ns(t: &Task) -> u64 {
    pr_get(t).timer_slack
}

/// Reads a string of at most `max` bytes (stopping at a NUL), page by page, so that a short
/// string near the end of a mapping never faults on bytes past its end.
fn read_str_upto(t: &Task, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut a = addr;
    while out.len() < max {
        let to_page = (4096 - (a % 4096)) as usize;
        let n = to_page.min(max - out.len());
        let mut buf = vec![0u8; n];
        t.read_mem(a, &mut buf)?;
        if let Some(p) = buf.iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..p]);
            return Ok(out);
        }
        out.extend_from_slice(&buf);
        a = a.checked_add(n as u64).ok_or(Errno::EFAULT)?;
    }
    Ok(out)
}

fn cap_valid(cap: u64) -> bool {
    cap <= CAP_LAST_CAP as u64
}

fn prctl(t: &Task, option: i32, a2: u64, a3: u64, a4: u64, a5: u64) -> SysResult {
    // The capability options come first, as Linux's security_task_prctl does.
    match option {
        PR_CAPBSET_READ => {
            if !cap_valid(a2) {
                return Err(Errno::EINVAL);
            }
            return Ok((t.creds().cap_bounding >> a2) & 1);
        }
        PR_CAPBSET_DROP => {
            let mut g = t.tg.lock();
            if !g.creds.has_cap(CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            if !cap_valid(a2) {
                return Err(Errno::EINVAL);
            }
            g.creds.cap_bounding &= !(1u64 << a2);
            return Ok(0);
        }
        PR_GET_SECUREBITS => return Ok(identity::securebits(&t.tg) as u64),
        PR_SET_SECUREBITS => {
            let old = identity::securebits(&t.tg) as u64;
            let locked_changed = ((old & SECURE_ALL_LOCKS as u64) >> 1) & (old ^ a2) != 0;
            let unlocking = old & SECURE_ALL_LOCKS as u64 & !a2 != 0;
            let unsupported = a2 & !((SECURE_ALL_LOCKS | SECURE_ALL_BITS) as u64) != 0;
            if locked_changed || unlocking || unsupported || !t.creds().has_cap(CAP_SETPCAP) {
                return Err(Errno::EPERM);
            }
            identity::set_securebits(&t.tg, a2 as u32);
            return Ok(0);
        }
        PR_GET_KEEPCAPS => {
            return Ok(u64::from(
                identity::securebits(&t.tg) & SECBIT_KEEP_CAPS != 0,
            ))
        }
        PR_SET_KEEPCAPS => {
            if a2 > 1 {
                return Err(Errno::EINVAL);
            }
            let sb = identity::securebits(&t.tg);
            if sb & SECBIT_KEEP_CAPS_LOCKED != 0 {
                return Err(Errno::EPERM);
            }
            let nb = if a2 == 1 {
                sb | SECBIT_KEEP_CAPS
            } else {
                sb & !SECBIT_KEEP_CAPS
            };
            identity::set_securebits(&t.tg, nb);
            return Ok(0);
        }
        PR_CAP_AMBIENT => return cap_ambient(t, a2, a3, a4, a5),
        _ => {}
    }
    match option {
        PR_SET_PDEATHSIG => {
            if a2 > abi::signal::NSIG as u64 {
                return Err(Errno::EINVAL);
            }
            t.pdeathsig.store(a2 as i32, Ordering::Relaxed);
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            t.write_val(a2, &t.pdeathsig.load(Ordering::Relaxed))?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(t.dumpable.load(Ordering::Relaxed).max(0) as u64),
        PR_SET_DUMPABLE => {
            if a2 > 1 {
                return Err(Errno::EINVAL);
            }
            t.dumpable.store(a2 as i32, Ordering::Relaxed);
            Ok(0)
        }
        PR_GET_TIMING => Ok(0),
        PR_SET_TIMING => {
            if a2 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(0)
        }
        PR_SET_NAME => {
            let name = read_str_upto(t, a2, TASK_COMM_LEN - 1)?;
            *t.comm.lock().unwrap() = name;
            Ok(0)
        }
        PR_GET_NAME => {
            let mut buf = [0u8; TASK_COMM_LEN];
            let c = t.comm.lock().unwrap().clone();
            let n = c.len().min(TASK_COMM_LEN - 1);
            buf[..n].copy_from_slice(&c[..n]);
            t.write_mem(a2, &buf)?;
            Ok(0)
        }
        // No seccomp filter is ever installed: mode 0. Installing one is unsupported, which
        // applications detect by this EINVAL just as on a kernel built without seccomp.
        PR_GET_SECCOMP => Ok(0),
        PR_SET_SECCOMP => Err(Errno::EINVAL),
        PR_GET_TSC => {
            t.write_val(a2, &(PR_TSC_ENABLE as i32))?;
            Ok(0)
        }
        PR_SET_TSC => {
            if a2 == PR_TSC_ENABLE {
                Ok(0)
            } else {
                Err(Errno::EINVAL)
            }
        }
        PR_SET_TIMERSLACK => {
            let v = if a2 == 0 { DEFAULT_TIMER_SLACK_NS } else { a2 };
            pr_update(t, |s| s.timer_slack = v);
            Ok(0)
        }
        PR_GET_TIMERSLACK => Ok(pr_get(t).timer_slack),
        PR_TASK_PERF_EVENTS_DISABLE | PR_TASK_PERF_EVENTS_ENABLE => Ok(0),
        PR_MCE_KILL => {
            if a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            let v = match (a2, a3) {
                (PR_MCE_KILL_CLEAR, 0) => None,
                (PR_MCE_KILL_SET, PR_MCE_KILL_DEFAULT) => None,
                (PR_MCE_KILL_SET, PR_MCE_KILL_EARLY) => Some(true),
                (PR_MCE_KILL_SET, PR_MCE_KILL_LATE) => Some(false),
                _ => return Err(Errno::EINVAL),
            };
            pr_update(t, |s| s.mce_kill = v);
            Ok(0)
        }
        PR_MCE_KILL_GET => {
            if a2 | a3 | a4 | a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(match pr_get(t).mce_kill {
                None => PR_MCE_KILL_DEFAULT,
                Some(true) => PR_MCE_KILL_EARLY,
                Some(false) => PR_MCE_KILL_LATE,
            })
        }
        PR_SET_MM => {
            // Rewriting the memory map's bookkeeping (CRIU) is unsupported.
            if !t.creds().has_cap(CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            Err(Errno::EPERM)
        }
        PR_SET_CHILD_SUBREAPER => {
            t.tg.lock().subreaper = a2 != 0;
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let v = i32::from(t.tg.lock().subreaper);
            t.write_val(a2, &v)?;
            Ok(0)
        }
        PR_SET_NO_NEW_PRIVS => {
            if a2 != 1 || a3 != 0 || a4 != 0 || a5 != 0 {
                return Err(Errno::EINVAL);
            }
            t.no_new_privs.store(true, Ordering::Relaxed);
            Ok(0)
        }
        PR_GET_NO_NEW_PRIVS => {
            if a2 | a3 | a4 | a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(u64::from(t.no_new_privs.load(Ordering::Relaxed)))
        }
        PR_GET_TID_ADDRESS => {
            t.write_val(a2, &t.clear_child_tid.load(Ordering::Relaxed))?;
            Ok(0)
        }
        PR_SET_THP_DISABLE => {
            if a3 | a4 | a5 != 0 {
                return Err(Errno::EINVAL);
            }
            pr_update(t, |s| s.thp_disable = a2 != 0);
            Ok(0)
        }
        PR_GET_THP_DISABLE => {
            if a2 | a3 | a4 | a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(u64::from(pr_get(t).thp_disable))
        }
        PR_SET_IO_FLUSHER => {
            if !t.creds().has_cap(CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            if a3 | a4 | a5 != 0 || a2 > 1 {
                return Err(Errno::EINVAL);
            }
            pr_update(t, |s| s.io_flusher = a2 == 1);
            Ok(0)
        }
        PR_GET_IO_FLUSHER => {
            if !t.creds().has_cap(CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            if a2 | a3 | a4 | a5 != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(u64::from(pr_get(t).io_flusher))
        }
        // PR_GET/SET_UNALIGN, FPEMU, FPEXC, ENDIAN (not on x86), speculation control, SVE,
        // MTE, PAC, syscall user dispatch, sched core, MDWE, PR_SET_VMA, PR_SET_PTRACER
        // (no Yama) and unknown options.
        _ => Err(Errno::EINVAL),
    }
}

fn cap_ambient(t: &Task, op: u64, cap: u64, a4: u64, a5: u64) -> SysResult {
    if op == PR_CAP_AMBIENT_CLEAR_ALL {
        if cap | a4 | a5 != 0 {
            return Err(Errno::EINVAL);
        }
        t.tg.lock().creds.cap_ambient = 0;
        return Ok(0);
    }
    if !cap_valid(cap) || a4 != 0 || a5 != 0 {
        return Err(Errno::EINVAL);
    }
    let bit = 1u64 << cap;
    match op {
        PR_CAP_AMBIENT_IS_SET => Ok(u64::from(t.creds().cap_ambient & bit != 0)),
        PR_CAP_AMBIENT_RAISE | PR_CAP_AMBIENT_LOWER => {
            let sb = identity::securebits(&t.tg);
            let mut g = t.tg.lock();
            let c = &mut g.creds;
            if op == PR_CAP_AMBIENT_RAISE {
                if c.cap_permitted & bit == 0
                    || c.cap_inheritable & bit == 0
                    || sb & SECBIT_NO_CAP_AMBIENT_RAISE != 0
                {
                    return Err(Errno::EPERM);
                }
                c.cap_ambient |= bit;
            } else {
                c.cap_ambient &= !bit;
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
