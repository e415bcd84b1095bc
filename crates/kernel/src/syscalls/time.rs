//! Time, sleeping, interval timers, resource usage, system information and scheduling
//! parameters.
//!
//! Wall and monotonic clocks are the host's. CPU clocks are the kernel's own view of a task:
//! its user time is the CPU time of its stub thread (where application code runs) and its
//! system time is the CPU time of its host thread (where moat serves its syscalls).
//!
//! Scheduling parameters (nice, policy, affinity, I/O priority, personality) are kept per task
//! in a side table keyed by tid and checked against the task's start instant, so a recycled
//! tid never sees a dead task's values.

use crate::task::{Task, ThreadGroup};
use crate::timers;
use crate::{kernel, SysResult};
use abi::sysno as nr;
use abi::Errno;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

// Clock ids.
pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
pub const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
pub const CLOCK_MONOTONIC_RAW: i32 = 4;
pub const CLOCK_REALTIME_COARSE: i32 = 5;
pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
pub const CLOCK_BOOTTIME: i32 = 7;
pub const CLOCK_REALTIME_ALARM: i32 = 8;
pub const CLOCK_BOOTTIME_ALARM: i32 = 9;
pub const CLOCK_TAI: i32 = 11;

const TIMER_ABSTIME: u64 = 1;
const NSEC_PER_SEC: u64 = 1_000_000_000;
/// Clock ticks per second (AT_CLKTCK, times(2)).
const HZ: u64 = 100;

const SCHED_OTHER: u32 = 0;
const SCHED_FIFO: u32 = 1;
const SCHED_RR: u32 = 2;
const SCHED_BATCH: u32 = 3;
const SCHED_IDLE: u32 = 5;
const SCHED_RESET_ON_FORK: u32 = 0x4000_0000;

const CAP_SYS_NICE: u32 = 23;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_SYS_TIME: u32 = 25;
const RLIMIT_NICE: usize = 13;
const RLIMIT_RTPRIO: usize = 14;

/// Handles the calls of this family; None for other numbers.
pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::CLOCK_GETTIME => clock_gettime(t, a[0] as i32, a[1]),
        nr::CLOCK_GETRES => clock_getres(t, a[0] as i32, a[1]),
        nr::CLOCK_SETTIME => clock_settime(t, a[0] as i32, a[1]),
        nr::GETTIMEOFDAY => gettimeofday(t, a[0], a[1]),
        nr::SETTIMEOFDAY => settimeofday(t, a[0], a[1]),
        nr::TIME => time(t, a[0]),
        nr::NANOSLEEP => nanosleep(t, a[0], a[1]),
        nr::CLOCK_NANOSLEEP => clock_nanosleep(t, a[0] as i32, a[1], a[2], a[3]),
        nr::RESTART_SYSCALL => restart_syscall(t),
        nr::ALARM => alarm(t, a[0] as u32),
        nr::SETITIMER => setitimer(t, a[0] as i32, a[1], a[2]),
        nr::GETITIMER => getitimer(t, a[0] as i32, a[1]),
        nr::TIMES => times(t, a[0]),
        nr::GETRUSAGE => getrusage(t, a[0] as i32, a[1]),
        nr::SYSINFO => sysinfo(t, a[0]),
        nr::UNAME => uname(t, a[0]),
        nr::SETHOSTNAME => set_uts_name(t, a[0], a[1] as i32, true),
        nr::SETDOMAINNAME => set_uts_name(t, a[0], a[1] as i32, false),
        nr::GETRANDOM => getrandom(t, a[0], a[1], a[2] as u32),
        nr::SCHED_YIELD => {
            std::thread::yield_now();
            Ok(0)
        }
        nr::SCHED_GETAFFINITY => sched_getaffinity(t, a[0] as i32, a[1] as u32, a[2]),
        nr::SCHED_SETAFFINITY => sched_setaffinity(t, a[0] as i32, a[1] as u32, a[2]),
        nr::SCHED_GETPARAM => sched_getparam(t, a[0] as i32, a[1]),
        nr::SCHED_SETPARAM => sched_setparam(t, a[0] as i32, a[1]),
        nr::SCHED_GETSCHEDULER => sched_getscheduler(t, a[0] as i32),
        nr::SCHED_SETSCHEDULER => sched_setscheduler(t, a[0] as i32, a[1] as i32, a[2]),
        nr::SCHED_GET_PRIORITY_MAX => prio_bound(a[0] as i32, true),
        nr::SCHED_GET_PRIORITY_MIN => prio_bound(a[0] as i32, false),
        nr::SCHED_RR_GET_INTERVAL => sched_rr_get_interval(t, a[0] as i32, a[1]),
        nr::GETPRIORITY => getpriority(t, a[0] as i32, a[1] as i32),
        nr::SETPRIORITY => setpriority(t, a[0] as i32, a[1] as i32, a[2] as i32),
        nr::IOPRIO_GET => ioprio_get(t, a[0] as i32, a[1] as i32),
        nr::IOPRIO_SET => ioprio_set(t, a[0] as i32, a[1] as i32, a[2] as i32),
        nr::GETCPU => getcpu(t, a[0], a[1]),
        nr::PERSONALITY => personality(t, a[0] as u32),
        _ => return None,
    })
}

/// What this file implements, with a note where support is partial ("" when complete).
pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::CLOCK_GETTIME, "CPU clocks: user time is the stub thread's CPU time, system time the kernel thread's"),
        (nr::CLOCK_GETRES, ""),
        (nr::CLOCK_SETTIME, "partial: the sandbox cannot set clocks (EPERM)"),
        (nr::GETTIMEOFDAY, ""),
        (nr::SETTIMEOFDAY, "partial: the sandbox cannot set the time (EPERM)"),
        (nr::TIME, ""),
        (nr::NANOSLEEP, ""),
        (nr::CLOCK_NANOSLEEP, "TIMER_ABSTIME on CLOCK_REALTIME does not follow host clock jumps during the sleep"),
        (nr::RESTART_SYSCALL, "partial: resumes nanosleep/clock_nanosleep; EINTR otherwise"),
        (nr::ALARM, ""),
        (nr::SETITIMER, "ITIMER_VIRTUAL and ITIMER_PROF count the CPU time of the stub threads (user) and of the kernel threads serving the process (system), checked at most every second"),
        (nr::GETITIMER, ""),
        (nr::TIMES, ""),
        (nr::GETRUSAGE, "partial: ru_maxrss is the current resident size; fault, I/O and context-switch counts are 0"),
        (nr::SYSINFO, "partial: load averages are 0"),
        (nr::UNAME, ""),
        (nr::SETHOSTNAME, ""),
        (nr::SETDOMAINNAME, ""),
        (nr::GETRANDOM, ""),
        (nr::SCHED_YIELD, ""),
        (nr::SCHED_GETAFFINITY, "affinity is recorded, not applied to host threads"),
        (nr::SCHED_SETAFFINITY, "affinity is recorded, not applied to host threads"),
        (nr::SCHED_GETPARAM, ""),
        (nr::SCHED_SETPARAM, "policies and priorities are recorded, not applied"),
        (nr::SCHED_GETSCHEDULER, ""),
        (nr::SCHED_SETSCHEDULER, "policies and priorities are recorded, not applied; SCHED_DEADLINE unsupported"),
        (nr::SCHED_GET_PRIORITY_MAX, ""),
        (nr::SCHED_GET_PRIORITY_MIN, ""),
        (nr::SCHED_RR_GET_INTERVAL, ""),
        (nr::GETPRIORITY, ""),
        (nr::SETPRIORITY, "nice values are recorded, not applied"),
        (nr::IOPRIO_GET, ""),
        (nr::IOPRIO_SET, "I/O priorities are recorded, not applied"),
        (nr::GETCPU, "reports the CPU of the kernel thread serving the task"),
        (nr::PERSONALITY, "recorded; execution domains other than PER_LINUX have no effect"),
    ]
}

// ---------------------------------------------------------------------------------------------
// Host facts

struct HostInfo {
    /// CPUs the sandbox may use (bits of the host's affinity mask), and nr_cpu_ids.
    cpus: Vec<usize>,
    nr_cpu_ids: usize,
}

fn host() -> &'static HostInfo {
    static H: OnceLock<HostInfo> = OnceLock::new();
    H.get_or_init(|| {
        let mut cpus = Vec::new();
        // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
                for i in 0..libc::CPU_SETSIZE as usize {
                    if libc::CPU_ISSET(i, &set) {
                        cpus.push(i);
                    }
                }
            }
        }
        if cpus.is_empty() {
            cpus.push(0);
        }
        let nr_cpu_ids = cpus.iter().max().map(|m| m + 1).unwrap_or(1);
        HostInfo { cpus, nr_cpu_ids }
    })
}

/// Caches the host facts this family needs (call at boot, before the kernel's seccomp
/// filter is installed).
pub fn init() {
    let _ = host();
}

/// Size in bytes of the kernel's cpumask (what sched_getaffinity returns at most).
fn cpumask_size() -> usize {
    host().nr_cpu_ids.div_ceil(64) * 8
}

/// The mask of all usable CPUs, as bytes of cpumask_size().
fn all_cpus_mask() -> Vec<u8> {
    let mut m = vec![0u8; cpumask_size()];
    for &c in &host().cpus {
        m[c / 8] |= 1 << (c % 8);
    }
    m
}

fn host_clock(id: libc::clockid_t) -> Result<libc::timespec, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    let r = unsafe { libc::clock_gettime(id, &mut ts) };
    if r != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(ts)
}

pub(crate) fn host_clock_ns(id: libc::clockid_t) -> Option<u64> {
    host_clock(id)
        .ok()
        .map(|ts| ts.tv_sec as u64 * NSEC_PER_SEC + ts.tv_nsec as u64)
}

/// Host CPU clock of thread `tid` (a thread of this host process).
fn host_thread_cpu_ns(tid: i32) -> Option<u64> {
    if tid <= 0 {
        return None;
    }
    // SAFETY: plain host call.
    if unsafe { libc::gettid() } == tid {
        return host_clock_ns(libc::CLOCK_THREAD_CPUTIME_ID);
    }
    // MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)
    host_clock_ns((!tid).wrapping_shl(3) | 6)
}

/// Host CPU clock of process `pid` (all its threads, including exited ones).
fn host_process_cpu_ns(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
    host_clock_ns((!pid).wrapping_shl(3) | 2)
}

/// CPU time of a stub thread (another host process's thread): from procfs when the kernel
/// can read it, else from the stub process's clock when the thread is the process.
fn stub_thread_cpu_ns(stub_pid: i32, stub_tid: i32) -> Option<u64> {
    if stub_tid <= 0 {
        return None;
    }
    if let Ok(s) = std::fs::read_to_string(format!("/proc/{stub_tid}/schedstat")) {
        if let Some(v) = s
            .split_whitespace()
            .next()
            .and_then(|x| x.parse::<u64>().ok())
        {
            return Some(v);
        }
    }
    if stub_tid == stub_pid {
        return host_process_cpu_ns(stub_pid);
    }
    None
}

/// (user, system) CPU time of a task, in ns.
pub fn task_cpu_ns(t: &Task) -> (u64, u64) {
    use std::sync::atomic::Ordering;
    let sys = host_thread_cpu_ns(t.host_tid.load(Ordering::Relaxed)).unwrap_or(0);
    let stub_pid = t.mm().stub_pid();
    let user = stub_thread_cpu_ns(stub_pid, t.stub_tid.load(Ordering::Relaxed)).unwrap_or(0);
    let (user, sys) = clamp_monotonic(t.tid, t.start, false, (user, sys));
    (user, sys)
}

/// (user, system) CPU time of a whole thread group, in ns.
pub fn group_cpu_ns(tg: &Arc<ThreadGroup>) -> (u64, u64) {
    use std::sync::atomic::Ordering;
    let threads = kernel().procs.lock().unwrap().threads_of(tg);
    let mut sys = 0u64;
    let mut stubs: Vec<i32> = Vec::new();
    for th in &threads {
        sys = sys
            .saturating_add(host_thread_cpu_ns(th.host_tid.load(Ordering::Relaxed)).unwrap_or(0));
        let sp = th.mm().stub_pid();
        if !stubs.contains(&sp) {
            stubs.push(sp);
        }
    }
    let mut user = 0u64;
    for sp in stubs {
        user = user.saturating_add(host_process_cpu_ns(sp).unwrap_or(0));
    }
    let start = tg.lock().start;
    clamp_monotonic(tg.tgid, start, true, (user, sys))
}

/// CPU clocks must never go backwards; the sums above can (an exited thread's kernel time
/// leaves the sum), so each reading is kept at least at the last one reported.
fn clamp_monotonic(id: i32, start: Instant, group: bool, v: (u64, u64)) -> (u64, u64) {
    /// (id, is group) -> (start instant, user ns, system ns)
    type Last = HashMap<(i32, bool), (Instant, u64, u64)>;
    static LAST: Mutex<Option<Last>> = Mutex::new(None);
    let mut g = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    if m.len() > 8192 {
        // Forget entries of tasks and groups that are gone (try_lock: a caller may hold
        // the process table).
        if let Ok(procs) = kernel().procs.try_lock() {
            m.retain(|&(i, grp), _| {
                if grp {
                    procs.groups.contains_key(&i)
                } else {
                    procs.tasks.contains_key(&i)
                }
            });
        }
    }
    let e = m.entry((id, group)).or_insert((start, 0, 0));
    if e.0 != start {
        *e = (start, 0, 0);
    }
    e.1 = e.1.max(v.0);
    e.2 = e.2.max(v.1);
    (e.1, e.2)
}

// ---------------------------------------------------------------------------------------------
// Clocks

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Timeval {
    sec: i64,
    usec: i64,
}

fn ts_from_ns(ns: u64) -> Timespec {
    Timespec {
        sec: (ns / NSEC_PER_SEC) as i64,
        nsec: (ns % NSEC_PER_SEC) as i64,
    }
}

fn ts_from_dur(d: Duration) -> Timespec {
    Timespec {
        sec: d.as_secs().min(i64::MAX as u64) as i64,
        nsec: d.subsec_nanos() as i64,
    }
}

fn tv_from_dur(d: Duration) -> Timeval {
    Timeval {
        sec: d.as_secs().min(i64::MAX as u64) as i64,
        usec: d.subsec_micros() as i64,
    }
}

fn tv_from_ns(ns: u64) -> Timeval {
    Timeval {
        sec: (ns / NSEC_PER_SEC) as i64,
        usec: ((ns % NSEC_PER_SEC) / 1000) as i64,
    }
}

/// A timespec from the application, checked as Linux's timespec64_valid.
fn read_timespec(t: &Task, addr: u64) -> Result<Duration, Errno> {
    let ts: Timespec = t.read_val(addr)?;
    if ts.sec < 0 || ts.nsec < 0 || ts.nsec >= NSEC_PER_SEC as i64 {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(ts.sec as u64, ts.nsec as u32))
}

/// A decoded clock id.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Clock {
    /// A host clock read as is.
    Host(i32),
    /// CPU time of a thread group (tgid); `virt`: user time only.
    ProcessCpu(i32, bool),
    /// CPU time of one task (tid); `virt`: user time only.
    ThreadCpu(i32, bool),
}

pub(crate) fn decode_clock(t: &Task, id: i32) -> Result<Clock, Errno> {
    match id {
        CLOCK_REALTIME
        | CLOCK_MONOTONIC
        | CLOCK_MONOTONIC_RAW
        | CLOCK_REALTIME_COARSE
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME
        | CLOCK_REALTIME_ALARM
        | CLOCK_BOOTTIME_ALARM
        | CLOCK_TAI => Ok(Clock::Host(id)),
        CLOCK_PROCESS_CPUTIME_ID => Ok(Clock::ProcessCpu(t.tgid(), false)),
        CLOCK_THREAD_CPUTIME_ID => Ok(Clock::ThreadCpu(t.tid, false)),
        id if id < 0 => {
            // Dynamic CPU clocks: ~pid << 3 | perthread << 2 | (PROF=0 VIRT=1 SCHED=2).
            let kind = id & 3;
            if kind == 3 {
                return Err(Errno::EINVAL);
            }
            let virt = kind == 1;
            let pid = !(id >> 3);
            let thread = id & 4 != 0;
            if thread {
                if pid == 0 {
                    return Ok(Clock::ThreadCpu(t.tid, virt));
                }
                let other = kernel()
                    .procs
                    .lock()
                    .unwrap()
                    .task(pid)
                    .ok_or(Errno::EINVAL)?;
                if other.tgid() != t.tgid() {
                    return Err(Errno::EINVAL);
                }
                Ok(Clock::ThreadCpu(pid, virt))
            } else {
                if pid == 0 {
                    return Ok(Clock::ProcessCpu(t.tgid(), virt));
                }
                let other = kernel()
                    .procs
                    .lock()
                    .unwrap()
                    .task(pid)
                    .ok_or(Errno::EINVAL)?;
                Ok(Clock::ProcessCpu(other.tgid(), virt))
            }
        }
        _ => Err(Errno::EINVAL),
    }
}

fn cpu_clock_ns(t: &Task, c: Clock) -> Result<u64, Errno> {
    let (u, s, virt) = match c {
        Clock::ThreadCpu(tid, virt) => {
            let (u, s) = if tid == t.tid {
                task_cpu_ns(t)
            } else {
                let other = kernel()
                    .procs
                    .lock()
                    .unwrap()
                    .task(tid)
                    .ok_or(Errno::EINVAL)?;
                task_cpu_ns(&other)
            };
            (u, s, virt)
        }
        Clock::ProcessCpu(tgid, virt) => {
            let tg = if tgid == t.tgid() {
                t.tg.clone()
            } else {
                kernel()
                    .procs
                    .lock()
                    .unwrap()
                    .group(tgid)
                    .ok_or(Errno::EINVAL)?
            };
            let (u, s) = group_cpu_ns(&tg);
            (u, s, virt)
        }
        Clock::Host(_) => return Err(Errno::EINVAL),
    };
    Ok(if virt { u } else { u.saturating_add(s) })
}

fn clock_now_ns(t: &Task, c: Clock) -> Result<u64, Errno> {
    match c {
        Clock::Host(id) => host_clock_ns(id).ok_or(Errno::EINVAL),
        _ => cpu_clock_ns(t, c),
    }
}

fn clock_gettime(t: &Task, id: i32, tp: u64) -> SysResult {
    let c = decode_clock(t, id)?;
    let ns = clock_now_ns(t, c)?;
    t.write_val(tp, &ts_from_ns(ns))?;
    Ok(0)
}

fn clock_getres(t: &Task, id: i32, tp: u64) -> SysResult {
    let c = decode_clock(t, id)?;
    let res = match c {
        Clock::Host(id) => {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: valid out pointer.
            if unsafe { libc::clock_getres(id, &mut ts) } != 0 {
                return Err(Errno::EINVAL);
            }
            Timespec {
                sec: ts.tv_sec,
                nsec: ts.tv_nsec,
            }
        }
        _ => Timespec { sec: 0, nsec: 1 },
    };
    if tp != 0 {
        t.write_val(tp, &res)?;
    }
    Ok(0)
}

fn clock_settime(t: &Task, id: i32, tp: u64) -> SysResult {
    let c = decode_clock(t, id)?;
    match c {
        Clock::Host(CLOCK_REALTIME) => {}
        Clock::Host(_) => return Err(Errno::EINVAL),
        // Linux: "you can never reset a CPU clock".
        _ => {
            let _: Timespec = t.read_val(tp)?;
            return Err(Errno::EPERM);
        }
    }
    let v = read_timespec(t, tp)?;
    // A privileged caller passes Linux's security check and meets its next one: no time
    // before boot.
    if t.creds().has_cap(CAP_SYS_TIME) {
        let now = host_clock_ns(libc::CLOCK_REALTIME).unwrap_or(0);
        let up = host_clock_ns(libc::CLOCK_BOOTTIME).unwrap_or(0);
        if v.as_nanos() < u128::from(now.saturating_sub(up)) {
            return Err(Errno::EINVAL);
        }
    }
    Err(Errno::EPERM)
}

fn gettimeofday(t: &Task, tv: u64, tz: u64) -> SysResult {
    if tv != 0 {
        let ns = host_clock_ns(libc::CLOCK_REALTIME).ok_or(Errno::EINVAL)?;
        t.write_val(tv, &tv_from_ns(ns))?;
    }
    if tz != 0 {
        // struct timezone { tz_minuteswest, tz_dsttime }: the kernel's sys_tz, zero.
        t.write_val(tz, &[0i32; 2])?;
    }
    Ok(0)
}

fn settimeofday(t: &Task, tv: u64, tz: u64) -> SysResult {
    let mut set = false;
    if tv != 0 {
        let v: Timeval = t.read_val(tv)?;
        if v.sec < 0 || v.usec < 0 || v.usec >= 1_000_000 {
            return Err(Errno::EINVAL);
        }
        set = true;
    }
    if tz != 0 {
        let z: [i32; 2] = t.read_val(tz)?;
        if z[0] > 15 * 60 || z[0] < -15 * 60 {
            return Err(Errno::EINVAL);
        }
        set = true;
    }
    if set {
        Err(Errno::EPERM)
    } else {
        Ok(0)
    }
}

fn time(t: &Task, tloc: u64) -> SysResult {
    let ns = host_clock_ns(libc::CLOCK_REALTIME).ok_or(Errno::EINVAL)?;
    let s = (ns / NSEC_PER_SEC) as i64;
    if tloc != 0 {
        t.write_val(tloc, &s)?;
    }
    Ok(s as u64)
}

// ---------------------------------------------------------------------------------------------
// Sleeping

/// What restart_syscall resumes after an interrupted relative sleep.
#[derive(Clone, Copy)]
enum Resume {
    /// Wall-clock sleep until this instant (None: forever).
    Wall(Option<Instant>),
    /// Sleep until CPU clock `Clock` reaches `target` ns.
    Cpu(Clock, u64),
}

struct RestartBlock {
    start: Instant,
    resume: Resume,
    rem: u64,
}

static RESTARTS: Mutex<Option<HashMap<i32, RestartBlock>>> = Mutex::new(None);

fn store_restart(t: &Task, resume: Resume, rem: u64) {
    let mut g = RESTARTS.lock().unwrap_or_else(|e| e.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    if m.len() > 4096 {
        // Forget entries of tasks and groups that are gone (try_lock: a caller may hold
        // the process table).
        if let Ok(procs) = kernel().procs.try_lock() {
            m.retain(|tid, _| procs.tasks.contains_key(tid));
        }
    }
    m.insert(
        t.tid,
        RestartBlock {
            start: t.start,
            resume,
            rem,
        },
    );
}

fn take_restart(t: &Task) -> Option<RestartBlock> {
    let mut g = RESTARTS.lock().unwrap_or_else(|e| e.into_inner());
    let b = g.as_mut()?.remove(&t.tid)?;
    (b.start == t.start).then_some(b)
}

/// Forgets the pending restart of task `tid` (when an interrupted sleep ends with EINTR
/// instead of being restarted, or the task exits).
pub fn clear_restart(tid: i32) {
    let mut g = RESTARTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = g.as_mut() {
        m.remove(&tid);
    }
}

/// Whether task `t` has a sleep pending for restart_syscall.
pub fn has_restart(t: &Task) -> bool {
    let g = RESTARTS.lock().unwrap_or_else(|e| e.into_inner());
    g.as_ref()
        .and_then(|m| m.get(&t.tid))
        .is_some_and(|b| b.start == t.start)
}

/// Sleeps until `deadline` (None: until a signal). Err(ERESTARTSYS) when a signal comes.
fn sleep_wall(t: &Task, deadline: Option<Instant>) -> Result<(), Errno> {
    match deadline {
        Some(d) => t.sleep_until(d),
        None => t.wait_until(&[], None, None, || Ok(None::<()>)),
    }
}

/// Sleeps until CPU clock `c` reaches `target` ns (polling: it moves only while other
/// threads run, as in Linux a sleeping thread's own process clock may never get there).
fn sleep_cpu(t: &Task, c: Clock, target: u64) -> Result<(), Errno> {
    loop {
        let now = cpu_clock_ns(t, c)?;
        if now >= target {
            return Ok(());
        }
        let step = Duration::from_nanos((target - now).clamp(1_000_000, 100_000_000));
        t.sleep_until(Instant::now() + step)?;
    }
}

/// Runs a relative sleep; on a signal writes the time left to `rem` and asks for a restart
/// through restart_syscall, as Linux does.
fn run_relative(t: &Task, resume: Resume, rem: u64) -> SysResult {
    let r = match resume {
        Resume::Wall(d) => sleep_wall(t, d),
        Resume::Cpu(c, target) => sleep_cpu(t, c, target),
    };
    match r {
        Ok(()) => Ok(0),
        Err(Errno::ERESTARTSYS) => {
            if rem != 0 {
                let left = match resume {
                    Resume::Wall(Some(d)) => {
                        ts_from_dur(d.saturating_duration_since(Instant::now()))
                    }
                    Resume::Wall(None) => Timespec {
                        sec: i64::MAX,
                        nsec: 0,
                    },
                    Resume::Cpu(c, target) => {
                        ts_from_ns(target.saturating_sub(cpu_clock_ns(t, c).unwrap_or(target)))
                    }
                };
                t.write_val(rem, &left)?;
            }
            store_restart(t, resume, rem);
            Err(Errno::ERESTART_RESTARTBLOCK)
        }
        Err(e) => Err(e),
    }
}

fn deadline_after(d: Duration) -> Option<Instant> {
    Instant::now().checked_add(d)
}

fn nanosleep(t: &Task, req: u64, rem: u64) -> SysResult {
    let d = read_timespec(t, req)?;
    clear_restart(t.tid);
    run_relative(t, Resume::Wall(deadline_after(d)), rem)
}

fn clock_nanosleep(t: &Task, id: i32, flags: u64, req: u64, rem: u64) -> SysResult {
    let c = decode_clock(t, id)?;
    match c {
        Clock::Host(CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_TAI) => {}
        Clock::Host(CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM) => {
            // Alarm clocks exist only where the host has an RTC for them.
            if host_clock_ns(id).is_none() {
                return Err(Errno::EOPNOTSUPP);
            }
        }
        Clock::Host(_) => return Err(Errno::EOPNOTSUPP),
        // CLOCK_THREAD_CPUTIME_ID has no nsleep (EOPNOTSUPP); other threads' clocks: EINVAL.
        Clock::ThreadCpu(..) if id == CLOCK_THREAD_CPUTIME_ID => return Err(Errno::EOPNOTSUPP),
        Clock::ThreadCpu(..) => return Err(Errno::EINVAL),
        Clock::ProcessCpu(..) => {}
    }
    let d = read_timespec(t, req)?;
    clear_restart(t.tid);
    let abs = flags & TIMER_ABSTIME != 0;
    if let Clock::ProcessCpu(..) = c {
        let now = cpu_clock_ns(t, c)?;
        let d_ns = d.as_nanos().min(u64::MAX as u128) as u64;
        if abs {
            return match sleep_cpu(t, c, d_ns) {
                Ok(()) => Ok(0),
                Err(Errno::ERESTARTSYS) => Err(Errno::ERESTARTNOHAND),
                Err(e) => Err(e),
            };
        }
        return run_relative(t, Resume::Cpu(c, now.saturating_add(d_ns)), rem);
    }
    let Clock::Host(hid) = c else {
        return Err(Errno::EINVAL);
    };
    if abs {
        // The target is a reading of clock `hid`; sleep for the difference from now.
        let now = host_clock_ns(hid).ok_or(Errno::EINVAL)?;
        let target = d.as_nanos().min(u64::MAX as u128) as u64;
        if target <= now {
            return Ok(0);
        }
        let deadline = deadline_after(Duration::from_nanos(target - now));
        return match sleep_wall(t, deadline) {
            Ok(()) => Ok(0),
            Err(Errno::ERESTARTSYS) => Err(Errno::ERESTARTNOHAND),
            Err(e) => Err(e),
        };
    }
    run_relative(t, Resume::Wall(deadline_after(d)), rem)
}

fn restart_syscall(t: &Task) -> SysResult {
    match take_restart(t) {
        Some(b) => run_relative(t, b.resume, b.rem),
        // Linux's do_no_restart_syscall.
        None => Err(Errno::EINTR),
    }
}

// ---------------------------------------------------------------------------------------------
// Interval timers

fn alarm(t: &Task, secs: u32) -> SysResult {
    let (old, _) = timers::set(
        &t.tg,
        timers::ITIMER_REAL,
        Duration::from_secs(secs as u64),
        Duration::ZERO,
    );
    // Linux rounds the old value to the nearest second, and never reports 0 for an armed timer.
    let mut s = old.as_secs();
    let us = old.subsec_micros();
    if (s == 0 && us != 0) || us >= 500_000 {
        s += 1;
    }
    Ok(s.min(u32::MAX as u64))
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Itimerval {
    interval: Timeval,
    value: Timeval,
}

fn itimer_which(which: i32) -> Result<usize, Errno> {
    match which {
        0 => Ok(timers::ITIMER_REAL),
        1 => Ok(timers::ITIMER_VIRTUAL),
        2 => Ok(timers::ITIMER_PROF),
        _ => Err(Errno::EINVAL),
    }
}

fn tv_to_dur(tv: Timeval) -> Result<Duration, Errno> {
    if tv.sec < 0 || tv.usec < 0 || tv.usec >= 1_000_000 {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(tv.sec as u64, tv.usec as u32 * 1000))
}

fn setitimer(t: &Task, which: i32, new: u64, old: u64) -> SysResult {
    let v: Itimerval = if new != 0 {
        t.read_val(new)?
    } else {
        Itimerval::default()
    };
    let value = tv_to_dur(v.value)?;
    let interval = tv_to_dur(v.interval)?;
    let w = itimer_which(which)?;
    let (ov, oi) = timers::set(&t.tg, w, value, interval);
    if old != 0 {
        t.write_val(
            old,
            &Itimerval {
                interval: tv_from_dur(oi),
                value: tv_from_dur(ov),
            },
        )?;
    }
    Ok(0)
}

fn getitimer(t: &Task, which: i32, cur: u64) -> SysResult {
    let w = itimer_which(which)?;
    let (v, i) = timers::get(&t.tg, w);
    t.write_val(
        cur,
        &Itimerval {
            interval: tv_from_dur(i),
            value: tv_from_dur(v),
        },
    )?;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// Resource usage and system information

fn ns_to_ticks(ns: u64) -> i64 {
    (ns / (NSEC_PER_SEC / HZ)) as i64
}

fn times(t: &Task, buf: u64) -> SysResult {
    if buf != 0 {
        let (u, s) = group_cpu_ns(&t.tg);
        let (cu, cs) = {
            let g = t.tg.lock();
            (g.cutime, g.cstime)
        };
        let tms: [i64; 4] = [
            ns_to_ticks(u),
            ns_to_ticks(s),
            ns_to_ticks(cu),
            ns_to_ticks(cs),
        ];
        t.write_val(buf, &tms)?;
    }
    Ok(ns_to_ticks(kernel().boot.elapsed().as_nanos().min(u64::MAX as u128) as u64) as u64)
}

/// struct rusage.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    /// maxrss, ixrss, idrss, isrss, minflt, majflt, nswap, inblock, oublock, msgsnd, msgrcv,
    /// nsignals, nvcsw, nivcsw.
    rest: [i64; 14],
}

fn getrusage(t: &Task, who: i32, ru: u64) -> SysResult {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let mut r = Rusage::default();
    match who {
        RUSAGE_SELF => {
            let (u, s) = group_cpu_ns(&t.tg);
            r.utime = tv_from_ns(u);
            r.stime = tv_from_ns(s);
            r.rest[0] = (t.mm().rss_pages() * 4) as i64;
        }
        RUSAGE_THREAD => {
            let (u, s) = task_cpu_ns(t);
            r.utime = tv_from_ns(u);
            r.stime = tv_from_ns(s);
            r.rest[0] = (t.mm().rss_pages() * 4) as i64;
        }
        RUSAGE_CHILDREN => {
            let g = t.tg.lock();
            r.utime = tv_from_ns(g.cutime);
            r.stime = tv_from_ns(g.cstime);
        }
        _ => return Err(Errno::EINVAL),
    }
    t.write_val(ru, &r)?;
    Ok(0)
}

/// struct sysinfo (x86-64: 112 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Sysinfo {
    uptime: i64,
    loads: [u64; 3],
    totalram: u64,
    freeram: u64,
    sharedram: u64,
    bufferram: u64,
    totalswap: u64,
    freeswap: u64,
    procs: u16,
    pad: u16,
    pad2: u32,
    totalhigh: u64,
    freehigh: u64,
    mem_unit: u32,
    pad3: u32,
}

fn sysinfo(t: &Task, info: u64) -> SysResult {
    let mut s = Sysinfo::default();
    // SAFETY: libc::sysinfo is plain data filled by the host.
    let mut h: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    if unsafe { libc::sysinfo(&mut h) } == 0 {
        let unit = (h.mem_unit as u64).max(1);
        s.totalram = (h.totalram as u64).saturating_mul(unit);
        s.freeram = (h.freeram as u64).saturating_mul(unit);
        s.sharedram = (h.sharedram as u64).saturating_mul(unit);
        s.bufferram = (h.bufferram as u64).saturating_mul(unit);
        s.totalswap = (h.totalswap as u64).saturating_mul(unit);
        s.freeswap = (h.freeswap as u64).saturating_mul(unit);
    }
    s.mem_unit = 1;
    let up = kernel().boot.elapsed();
    s.uptime = up.as_secs() as i64 + i64::from(up.subsec_nanos() != 0);
    s.procs = kernel()
        .procs
        .lock()
        .unwrap()
        .tasks
        .len()
        .min(u16::MAX as usize) as u16;
    t.write_val(info, &s)?;
    Ok(0)
}

fn uts_field(v: &[u8]) -> [u8; 65] {
    let mut f = [0u8; 65];
    let n = v.len().min(64);
    f[..n].copy_from_slice(&v[..n]);
    f
}

fn uname(t: &Task, buf: u64) -> SysResult {
    let k = kernel();
    let host = k.hostname.lock().unwrap().clone();
    let dom = k.domainname.lock().unwrap().clone();
    let fields = [
        uts_field(b"Linux"),
        uts_field(&host),
        uts_field(b"6.1.0"),
        uts_field(b"#1 SMP moat"),
        uts_field(b"x86_64"),
        uts_field(&dom),
    ];
    let mut out = Vec::with_capacity(65 * 6);
    for f in &fields {
        out.extend_from_slice(f);
    }
    t.write_mem(buf, &out)?;
    Ok(0)
}

fn set_uts_name(t: &Task, name: u64, len: i32, hostname: bool) -> SysResult {
    if !t.creds().has_cap(CAP_SYS_ADMIN) {
        return Err(Errno::EPERM);
    }
    if !(0..=64).contains(&len) {
        return Err(Errno::EINVAL);
    }
    let mut v = vec![0u8; len as usize];
    t.read_mem(name, &mut v)?;
    let k = kernel();
    let slot = if hostname { &k.hostname } else { &k.domainname };
    *slot.lock().unwrap() = v;
    Ok(0)
}

fn getrandom(t: &Task, buf: u64, len: u64, flags: u32) -> SysResult {
    const GRND_NONBLOCK: u32 = 1;
    const GRND_RANDOM: u32 = 2;
    const GRND_INSECURE: u32 = 4;
    const MAX_RW_COUNT: u64 = 0x7fff_f000;
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        return Err(Errno::EINVAL);
    }
    let len = len.min(MAX_RW_COUNT);
    let mut done = 0u64;
    let mut chunk = vec![0u8; (len.min(64 * 1024)) as usize];
    while done < len {
        if done > 0 && t.signal_pending() {
            break;
        }
        let n = ((len - done) as usize).min(chunk.len());
        let mut filled = 0;
        while filled < n {
            // SAFETY: writing into our own buffer.
            let r =
                unsafe { libc::getrandom(chunk[filled..n].as_mut_ptr() as *mut _, n - filled, 0) };
            if r <= 0 {
                let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                if r < 0 && e == libc::EINTR {
                    continue;
                }
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            filled += r as usize;
        }
        let Some(addr) = buf.checked_add(done) else {
            break;
        };
        if let Err(e) = t.write_mem(addr, &chunk[..n]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += n as u64;
    }
    Ok(done)
}

// ---------------------------------------------------------------------------------------------
// Scheduling parameters

#[derive(Clone)]
struct Sched {
    start: Instant,
    nice: i32,
    policy: u32,
    prio: u32,
    reset_on_fork: bool,
    /// None: every CPU.
    affinity: Option<Vec<u8>>,
    ioprio: u32,
    personality: u32,
}

impl Sched {
    fn new(start: Instant) -> Sched {
        Sched {
            start,
            nice: 0,
            policy: SCHED_OTHER,
            prio: 0,
            reset_on_fork: false,
            affinity: None,
            ioprio: 0,
            personality: 0,
        }
    }
}

static SCHED: Mutex<Option<HashMap<i32, Sched>>> = Mutex::new(None);

fn sched_get(t: &Task) -> Sched {
    let g = SCHED.lock().unwrap_or_else(|e| e.into_inner());
    g.as_ref()
        .and_then(|m| m.get(&t.tid))
        .filter(|s| s.start == t.start)
        .cloned()
        .unwrap_or_else(|| Sched::new(t.start))
}

fn sched_update(t: &Task, f: impl FnOnce(&mut Sched)) {
    let mut g = SCHED.lock().unwrap_or_else(|e| e.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    if m.len() > 4096 {
        // Forget entries of tasks and groups that are gone (try_lock: a caller may hold
        // the process table).
        if let Ok(procs) = kernel().procs.try_lock() {
            m.retain(|tid, _| procs.tasks.contains_key(tid));
        }
    }
    let e = m.entry(t.tid).or_insert_with(|| Sched::new(t.start));
    if e.start != t.start {
        *e = Sched::new(t.start);
    }
    f(e);
}

/// Copies the scheduling parameters a child inherits (nice, policy unless reset-on-fork,
/// affinity, I/O priority, personality) from `parent` to `child` (for clone).
pub fn on_clone(parent: &Task, child: &Task) {
    let mut p = sched_get(parent);
    if p.reset_on_fork {
        p.reset_on_fork = false;
        if p.policy == SCHED_FIFO || p.policy == SCHED_RR {
            p.policy = SCHED_OTHER;
            p.prio = 0;
        }
        p.nice = p.nice.max(0);
    }
    sched_update(child, |c| {
        let start = c.start;
        *c = p;
        c.start = start;
    });
}

/// The personality of task `t` (PER_LINUX = 0 unless changed).
pub fn personality_of(t: &Task) -> u32 {
    sched_get(t).personality
}

/// The task `pid` names (0: the caller), or ESRCH.
fn find_task(t: &Task, pid: i32) -> Result<Arc<Task>, Errno> {
    let procs = kernel().procs.lock().unwrap();
    let id = if pid == 0 { t.tid } else { pid };
    procs.task(id).ok_or(Errno::ESRCH)
}

fn sched_getaffinity(t: &Task, pid: i32, len: u32, mask: u64) -> SysResult {
    if (len as usize) * 8 < host().nr_cpu_ids || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let target = find_task(t, pid)?;
    let m = sched_get(&target).affinity.unwrap_or_else(all_cpus_mask);
    let n = (len as usize).min(cpumask_size());
    let mut out = vec![0u8; n];
    let k = n.min(m.len());
    out[..k].copy_from_slice(&m[..k]);
    t.write_mem(mask, &out)?;
    Ok(n as u64)
}

fn sched_setaffinity(t: &Task, pid: i32, len: u32, mask: u64) -> SysResult {
    let size = cpumask_size();
    let mut m = vec![0u8; size];
    let n = (len as usize).min(size);
    t.read_mem(mask, &mut m[..n])?;
    let target = find_task(t, pid)?;
    let all = all_cpus_mask();
    for (b, a) in m.iter_mut().zip(all.iter()) {
        *b &= *a;
    }
    if m.iter().all(|&b| b == 0) {
        return Err(Errno::EINVAL);
    }
    check_sched_perm(t, &target)?;
    let v = if m == all { None } else { Some(m) };
    sched_update(&target, |s| s.affinity = v);
    Ok(0)
}

/// Linux's check_same_owner / CAP_SYS_NICE rule for changing another task's scheduling.
fn check_sched_perm(t: &Task, target: &Task) -> Result<(), Errno> {
    if std::ptr::eq(t, target) || target.tid == t.tid {
        return Ok(());
    }
    let me = t.creds();
    if me.has_cap(CAP_SYS_NICE) {
        return Ok(());
    }
    let other = target.creds();
    if me.euid == other.euid || me.euid == other.uid {
        return Ok(());
    }
    Err(Errno::EPERM)
}

fn valid_prio(policy: u32, prio: i32) -> bool {
    match policy {
        SCHED_FIFO | SCHED_RR => (1..=99).contains(&prio),
        _ => prio == 0,
    }
}

fn sched_getparam(t: &Task, pid: i32, param: u64) -> SysResult {
    if pid < 0 || param == 0 {
        return Err(Errno::EINVAL);
    }
    let target = find_task(t, pid)?;
    let s = sched_get(&target);
    t.write_val(param, &(s.prio as i32))?;
    Ok(0)
}

fn sched_setparam(t: &Task, pid: i32, param: u64) -> SysResult {
    if pid < 0 || param == 0 {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = t.read_val(param)?;
    let target = find_task(t, pid)?;
    let s = sched_get(&target);
    set_sched(t, &target, s.policy, s.reset_on_fork, prio)
}

fn set_sched(t: &Task, target: &Task, policy: u32, reset: bool, prio: i32) -> SysResult {
    if !valid_prio(policy, prio) {
        return Err(Errno::EINVAL);
    }
    check_sched_perm(t, target)?;
    if (policy == SCHED_FIFO || policy == SCHED_RR) && !t.creds().has_cap(CAP_SYS_NICE) {
        let cur = sched_get(target);
        let limit = target.rlimit(RLIMIT_RTPRIO).0;
        // Linux: no new RT policy without RLIMIT_RTPRIO, no raise beyond it.
        if (policy != cur.policy && limit == 0) || (prio as u32 > cur.prio && prio as u64 > limit) {
            return Err(Errno::EPERM);
        }
    }
    sched_update(target, |s| {
        s.policy = policy;
        s.prio = prio as u32;
        s.reset_on_fork = reset;
    });
    Ok(0)
}

fn sched_getscheduler(t: &Task, pid: i32) -> SysResult {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let target = find_task(t, pid)?;
    let s = sched_get(&target);
    Ok((s.policy
        | if s.reset_on_fork {
            SCHED_RESET_ON_FORK
        } else {
            0
        }) as u64)
}

fn sched_setscheduler(t: &Task, pid: i32, policy: i32, param: u64) -> SysResult {
    if pid < 0 || param == 0 || policy < 0 {
        return Err(Errno::EINVAL);
    }
    let reset = policy as u32 & SCHED_RESET_ON_FORK != 0;
    let p = policy as u32 & !SCHED_RESET_ON_FORK;
    if !matches!(
        p,
        SCHED_OTHER | SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE
    ) {
        return Err(Errno::EINVAL);
    }
    let prio: i32 = t.read_val(param)?;
    let target = find_task(t, pid)?;
    set_sched(t, &target, p, reset, prio)
}

fn prio_bound(policy: i32, max: bool) -> SysResult {
    match policy {
        1 | 2 => Ok(if max { 99 } else { 1 }),
        0 | 3 | 5 | 6 => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

fn sched_rr_get_interval(t: &Task, pid: i32, tp: u64) -> SysResult {
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let target = find_task(t, pid)?;
    let s = sched_get(&target);
    let v = if s.policy == SCHED_RR {
        Timespec {
            sec: 0,
            nsec: 100_000_000,
        }
    } else {
        Timespec::default()
    };
    t.write_val(tp, &v)?;
    Ok(0)
}

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;

/// The tasks that getpriority/setpriority/ioprio (which, who) name.
fn prio_targets(t: &Task, which: i32, who: i32) -> Result<Vec<Arc<Task>>, Errno> {
    let procs = kernel().procs.lock().unwrap();
    let v: Vec<Arc<Task>> = match which {
        PRIO_PROCESS => {
            let id = if who == 0 { t.tid } else { who };
            procs.task(id).into_iter().collect()
        }
        PRIO_PGRP => {
            let pgid = if who == 0 { t.tg.lock().pgid } else { who };
            let groups = procs.pgrp_members(pgid);
            groups.iter().flat_map(|g| procs.threads_of(g)).collect()
        }
        PRIO_USER => {
            let uid = if who == 0 { t.creds().uid } else { who as u32 };
            procs
                .tasks
                .values()
                .filter(|x| x.tg.lock().creds.uid == uid)
                .cloned()
                .collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    Ok(v)
}

fn getpriority(t: &Task, which: i32, who: i32) -> SysResult {
    let targets = prio_targets(t, which, who)?;
    let best = targets
        .iter()
        .map(|x| 20 - sched_get(x).nice)
        .max()
        .ok_or(Errno::ESRCH)?;
    Ok(best as u64)
}

fn setpriority(t: &Task, which: i32, who: i32, nice: i32) -> SysResult {
    let targets = prio_targets(t, which, who)?;
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    let nice = nice.clamp(-20, 19);
    let me = t.creds();
    let mut err = None;
    for x in &targets {
        let other = x.creds();
        if x.tid != t.tid
            && other.uid != me.euid
            && other.euid != me.euid
            && !me.has_cap(CAP_SYS_NICE)
        {
            err = Some(Errno::EPERM);
            continue;
        }
        let cur = sched_get(x).nice;
        // can_nice: RLIMIT_NICE allows nice down to 20 - rlim_cur.
        let floor = 20 - (x.rlimit(RLIMIT_NICE).0.min(40) as i32);
        if nice < cur && nice < floor && !me.has_cap(CAP_SYS_NICE) {
            err = Some(Errno::EACCES);
            continue;
        }
        sched_update(x, |s| s.nice = nice);
    }
    match err {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

fn ioprio_targets(t: &Task, which: i32, who: i32) -> Result<Vec<Arc<Task>>, Errno> {
    // IOPRIO_WHO_PROCESS = 1, PGRP = 2, USER = 3.
    if !(1..=3).contains(&which) {
        return Err(Errno::EINVAL);
    }
    let v = prio_targets(t, which - 1, who)?;
    if v.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(v)
}

fn ioprio_get(t: &Task, which: i32, who: i32) -> SysResult {
    let targets = ioprio_targets(t, which, who)?;
    // Like ioprio_best: RT (1) beats BE (2) beats IDLE (3); NONE (0) counts as BE.
    let rank = |p: u32| match p >> 13 {
        1 => 0,
        0 | 2 => 1,
        _ => 2,
    };
    let best = targets
        .iter()
        .map(|x| sched_get(x).ioprio)
        .min_by_key(|&p| (rank(p), p & 0x1fff))
        .unwrap_or(0);
    Ok(best as u64)
}

fn ioprio_set(t: &Task, which: i32, who: i32, ioprio: i32) -> SysResult {
    let class = (ioprio as u32 >> 13) & 0x7;
    let data = ioprio as u32 & 0x1fff;
    match class {
        // IOPRIO_CLASS_NONE: only level 0.
        0 => {
            if data & 7 != 0 {
                return Err(Errno::EINVAL);
            }
        }
        1 => {
            let c = t.creds();
            if !c.has_cap(CAP_SYS_NICE) && !c.has_cap(CAP_SYS_ADMIN) {
                return Err(Errno::EPERM);
            }
        }
        2 | 3 => {}
        _ => return Err(Errno::EINVAL),
    }
    let targets = ioprio_targets(t, which, who)?;
    for x in &targets {
        check_sched_perm(t, x)?;
        sched_update(x, |s| s.ioprio = ioprio as u32);
    }
    Ok(0)
}

fn getcpu(t: &Task, cpu: u64, node: u64) -> SysResult {
    // SAFETY: plain host call.
    let c = unsafe { libc::sched_getcpu() }.max(0) as u32;
    if cpu != 0 {
        t.write_val(cpu, &c)?;
    }
    if node != 0 {
        t.write_val(node, &0u32)?;
    }
    Ok(0)
}

fn personality(t: &Task, p: u32) -> SysResult {
    let old = sched_get(t).personality;
    if p != 0xffff_ffff {
        sched_update(t, |s| s.personality = p);
    }
    Ok(old as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpumask_covers_host_cpus() {
        let m = all_cpus_mask();
        assert_eq!(m.len() % 8, 0);
        assert!(m.len() * 8 >= host().nr_cpu_ids);
        let bits: u32 = m.iter().map(|b| b.count_ones()).sum();
        assert_eq!(bits as usize, host().cpus.len());
    }

    #[test]
    fn prio_bounds() {
        assert_eq!(prio_bound(1, true), Ok(99));
        assert_eq!(prio_bound(2, false), Ok(1));
        assert_eq!(prio_bound(0, true), Ok(0));
        assert_eq!(prio_bound(4, true), Err(Errno::EINVAL));
        assert_eq!(prio_bound(-1, false), Err(Errno::EINVAL));
    }

    #[test]
    fn timeval_checks() {
        assert!(tv_to_dur(Timeval {
            sec: 0,
            usec: 1_000_000
        })
        .is_err());
        assert!(tv_to_dur(Timeval { sec: -1, usec: 0 }).is_err());
        assert_eq!(
            tv_to_dur(Timeval { sec: 1, usec: 5 }),
            Ok(Duration::new(1, 5000))
        );
    }

    #[test]
    fn host_clocks_and_cpu_clock_ids() {
        assert!(host_clock_ns(libc::CLOCK_MONOTONIC).is_some());
        // SAFETY: plain host call.
        let me = unsafe { libc::gettid() };
        assert!(host_thread_cpu_ns(me).is_some());
        // SAFETY: plain host call.
        let pid = unsafe { libc::getpid() };
        assert!(host_process_cpu_ns(pid).is_some());
        assert!(stub_thread_cpu_ns(pid, pid).is_some());
    }

    #[test]
    fn struct_sizes() {
        assert_eq!(std::mem::size_of::<Sysinfo>(), 112);
        assert_eq!(std::mem::size_of::<Rusage>(), 144);
        assert_eq!(std::mem::size_of::<Itimerval>(), 32);
    }
}
