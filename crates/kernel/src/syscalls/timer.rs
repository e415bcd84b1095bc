//! POSIX timers: timer_create, timer_settime, timer_gettime, timer_getoverrun and
//! timer_delete (the timers themselves live in crate::timers).

use super::time::{decode_clock, host_clock_ns, Clock};
use crate::kernel;
use crate::task::{SysResult, Task};
use crate::timers::{self, Notify, TimerClock};
use abi::signal::NSIG;
use abi::sysno as nr;
use abi::Errno;

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;
const TIMER_ABSTIME: u64 = 1;
const NS: u64 = 1_000_000_000;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::TIMER_CREATE => timer_create(t, a[0] as i32, a[1], a[2]),
        nr::TIMER_SETTIME => timer_settime(t, a[0] as i32, a[1], a[2], a[3]),
        nr::TIMER_GETTIME => timer_gettime(t, a[0] as i32, a[1]),
        nr::TIMER_GETOVERRUN => timers::posix_overrun(t, a[0] as i32).map(|v| v as u64),
        nr::TIMER_DELETE => timers::posix_delete(t, a[0] as i32).map(|_| 0),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (
            nr::TIMER_CREATE,
            "alarm clocks are EOPNOTSUPP (no RTC in the sandbox); absolute CLOCK_REALTIME timers do not follow clock changes",
        ),
        (nr::TIMER_SETTIME, ""),
        (nr::TIMER_GETTIME, ""),
        (nr::TIMER_GETOVERRUN, ""),
        (nr::TIMER_DELETE, ""),
    ]
}

/// A decoded clock as a timer clock: EINVAL for unknown clocks, EOPNOTSUPP for clocks
/// that have no timers (raw and coarse clocks; alarm clocks without an RTC).
pub(crate) fn timer_clock(t: &Task, id: i32) -> Result<TimerClock, Errno> {
    Ok(match decode_clock(t, id)? {
        Clock::Host(c) => match c {
            libc::CLOCK_REALTIME
            | libc::CLOCK_MONOTONIC
            | libc::CLOCK_BOOTTIME
            | libc::CLOCK_TAI => TimerClock::Wall(c),
            _ => return Err(Errno::EOPNOTSUPP),
        },
        Clock::ProcessCpu(tgid, virt) => TimerClock::ProcessCpu(tgid, virt),
        Clock::ThreadCpu(tid, virt) => TimerClock::ThreadCpu(tid, virt),
    })
}

fn timer_create(t: &Task, clock: i32, sevp: u64, idp: u64) -> SysResult {
    let ev = if sevp != 0 {
        let mut b = [0u8; 64];
        t.read_mem(sevp, &mut b)?;
        Some(b)
    } else {
        None
    };
    let clock = timer_clock(t, clock)?;
    let notify = match ev {
        None => Ok((
            Notify::Signal {
                sig: abi::signal::SIGALRM,
                tid: None,
            },
            None,
        )),
        Some(b) => sigevent(t, &b),
    };
    let id = timers::posix_create(t, clock, notify)?;
    if let Err(e) = t.write_val(idp, &id) {
        let _ = timers::posix_delete(t, id);
        return Err(e);
    }
    Ok(0)
}

/// A `struct sigevent` (Linux's good_sigevent): how to notify, and the value to send.
fn sigevent(t: &Task, b: &[u8; 64]) -> Result<(Notify, Option<u64>), Errno> {
    let sigval = u64::from_le_bytes(b[0..8].try_into().unwrap());
    let signo = i32::from_le_bytes(b[8..12].try_into().unwrap());
    let how = i32::from_le_bytes(b[12..16].try_into().unwrap());
    let tid = i32::from_le_bytes(b[16..20].try_into().unwrap());
    let valid_sig = signo > 0 && signo <= NSIG as i32;
    let n = match how {
        SIGEV_NONE => Notify::None,
        SIGEV_SIGNAL | SIGEV_THREAD if valid_sig => Notify::Signal {
            sig: signo as u32,
            tid: None,
        },
        SIGEV_THREAD_ID if valid_sig => {
            let target = kernel().procs.lock().unwrap().task(tid);
            if !target.is_some_and(|x| x.tgid() == t.tgid()) {
                return Err(Errno::EINVAL);
            }
            Notify::Signal {
                sig: signo as u32,
                tid: Some(tid),
            }
        }
        _ => return Err(Errno::EINVAL),
    };
    Ok((n, Some(sigval)))
}

/// A timespec's nanoseconds, checked as Linux's timespec64_valid.
fn ts_ns(sec: i64, nsec: i64) -> Result<u64, Errno> {
    if sec < 0 || !(0..NS as i64).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(NS).saturating_add(nsec as u64))
}

pub(crate) fn put_itimerspec(t: &Task, addr: u64, value: u64, interval: u64) -> Result<(), Errno> {
    let v = [
        (interval / NS) as i64,
        (interval % NS) as i64,
        (value / NS) as i64,
        (value % NS) as i64,
    ];
    t.write_val(addr, &v)
}

/// Reads a `struct itimerspec` as (value, interval) in ns.
pub(crate) fn read_itimerspec(t: &Task, addr: u64) -> Result<(u64, u64), Errno> {
    let v: [i64; 4] = t.read_val(addr)?;
    let interval = ts_ns(v[0], v[1])?;
    let value = ts_ns(v[2], v[3])?;
    Ok((value, interval))
}

/// An absolute time on wall clock `clock` as ns from now (at least 1: a time that has
/// passed expires at once).
pub(crate) fn abs_to_rel(clock: i32, abs: u64) -> u64 {
    let now = host_clock_ns(clock).unwrap_or(0);
    abs.saturating_sub(now).max(1)
}

fn timer_settime(t: &Task, id: i32, flags: u64, new: u64, old: u64) -> SysResult {
    if new == 0 {
        return Err(Errno::EINVAL);
    }
    let (value, interval) = read_itimerspec(t, new)?;
    let clock = timers::posix_clock(t, id)?;
    let abs = flags & TIMER_ABSTIME != 0 && value != 0;
    let (value, cpu_abs) = match clock {
        TimerClock::Wall(c) if abs => (abs_to_rel(c, value), false),
        TimerClock::Wall(_) => (value, false),
        _ => (value, abs),
    };
    let (ov, oi) = timers::posix_set(t, id, value, interval, cpu_abs)?;
    if old != 0 {
        put_itimerspec(t, old, ov, oi)?;
    }
    Ok(0)
}

fn timer_gettime(t: &Task, id: i32, cur: u64) -> SysResult {
    let (v, i) = timers::posix_get(t, id)?;
    put_itimerspec(t, cur, v, i)?;
    Ok(0)
}
