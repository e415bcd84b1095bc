//! Event files and readiness: epoll, eventfd, timerfd, signalfd and pidfds.

use super::file::{fd_arg, install};
use super::timer::{abs_to_rel, put_itimerspec, read_itimerspec};
use crate::fs::epoll::{self, Epoll};
use crate::fs::eventfd;
use crate::fs::pidfd::{self, PidFd};
use crate::fs::signalfd::{self, SignalFd};
use crate::fs::timerfd::{self, TimerFd};
use crate::kernel;
use crate::task::{SysResult, Task};
use crate::vfs::oflags;
use abi::sysno as nr;
use abi::Errno;
use std::time::{Duration, Instant};

/// Size of `struct epoll_event` on x86-64 (packed: u32 events, u64 data).
const EVENT_SIZE: u64 = 12;
/// Linux's EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event).
const EP_MAX_EVENTS: i32 = i32::MAX / EVENT_SIZE as i32;
const EPOLL_CTL_ADD: i32 = 1;
const EPOLL_CTL_DEL: i32 = 2;
const EPOLL_CTL_MOD: i32 = 3;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::EPOLL_CREATE => {
            if a[0] as i32 <= 0 {
                Err(Errno::EINVAL)
            } else {
                epoll_create(t, 0)
            }
        }
        nr::EPOLL_CREATE1 => epoll_create(t, a[0] as u32),
        nr::EPOLL_CTL => epoll_ctl(t, fd_arg(a[0]), a[1] as i32, fd_arg(a[2]), a[3]),
        nr::EPOLL_WAIT => {
            let timeout = ms_timeout(a[3] as i32);
            epoll_wait(t, fd_arg(a[0]), a[1], a[2] as i32, timeout, 0, 0)
        }
        nr::EPOLL_PWAIT => {
            let timeout = ms_timeout(a[3] as i32);
            epoll_wait(t, fd_arg(a[0]), a[1], a[2] as i32, timeout, a[4], a[5])
        }
        nr::EPOLL_PWAIT2 => match read_timeout(t, a[3]) {
            Ok(timeout) => epoll_wait(t, fd_arg(a[0]), a[1], a[2] as i32, timeout, a[4], a[5]),
            Err(e) => Err(e),
        },
        nr::EVENTFD => eventfd2(t, a[0] as u32, 0),
        nr::EVENTFD2 => eventfd2(t, a[0] as u32, a[1] as u32),
        nr::TIMERFD_CREATE => timerfd_create(t, a[0] as i32, a[1] as u32),
        nr::TIMERFD_SETTIME => timerfd_settime(t, fd_arg(a[0]), a[1] as u32, a[2], a[3]),
        nr::TIMERFD_GETTIME => timerfd_gettime(t, fd_arg(a[0]), a[1]),
        nr::SIGNALFD => signalfd4(t, a[0] as i32, a[1], a[2], 0),
        nr::SIGNALFD4 => signalfd4(t, a[0] as i32, a[1], a[2], a[3] as u32),
        nr::PIDFD_OPEN => pidfd_open(t, a[0] as i32, a[1] as u32),
        nr::PIDFD_SEND_SIGNAL => pidfd_send_signal(t, fd_arg(a[0]), a[1], a[2], a[3] as u32),
        nr::PIDFD_GETFD => pidfd_getfd(t, fd_arg(a[0]), fd_arg(a[1]), a[2] as u32),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::EPOLL_CREATE, ""),
        (nr::EPOLL_CREATE1, ""),
        (nr::EPOLL_CTL, "EPOLLWAKEUP is accepted and has no effect"),
        (nr::EPOLL_WAIT, ""),
        (nr::EPOLL_PWAIT, ""),
        (nr::EPOLL_PWAIT2, ""),
        (nr::EVENTFD, ""),
        (nr::EVENTFD2, ""),
        (nr::TIMERFD_CREATE, "alarm clocks behave as their plain clocks"),
        (nr::TIMERFD_SETTIME, "absolute CLOCK_REALTIME timers follow (and TFD_TIMER_CANCEL_ON_SET reports) changes of the host's clock; the sandbox cannot set it"),
        (nr::TIMERFD_GETTIME, ""),
        (nr::SIGNALFD, ""),
        (nr::SIGNALFD4, ""),
        (nr::PIDFD_OPEN, ""),
        (nr::PIDFD_SEND_SIGNAL, ""),
        (nr::PIDFD_GETFD, ""),
    ]
}

/// A timeout in milliseconds (negative: none).
fn ms_timeout(ms: i32) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

/// A relative timespec (NULL: none), checked as Linux's timespec64_valid.
fn read_timeout(t: &Task, addr: u64) -> Result<Option<Duration>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: [i64; 2] = t.read_val(addr)?;
    if ts[0] < 0 || ts[1] < 0 || ts[1] >= 1_000_000_000 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Duration::new(ts[0] as u64, ts[1] as u32)))
}

fn epoll_create(t: &Task, flags: u32) -> SysResult {
    if flags & !oflags::O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    install(t, Epoll::new_file(0), flags & oflags::O_CLOEXEC != 0)
}

fn epoll_ctl(t: &Task, epfd: i32, op: i32, fd: i32, event: u64) -> SysResult {
    let has_event = op != EPOLL_CTL_DEL;
    let (mut events, data) = if has_event {
        let mut b = [0u8; EVENT_SIZE as usize];
        t.read_mem(event, &mut b)?;
        (
            u32::from_le_bytes(b[0..4].try_into().unwrap()),
            u64::from_le_bytes(b[4..12].try_into().unwrap()),
        )
    } else {
        (0, 0)
    };
    let files = t.files();
    let ef = files.get(epfd)?;
    let tf = files.get(fd)?;
    drop(files);
    if ef.is_path() || tf.is_path() {
        return Err(Errno::EBADF);
    }
    if tf.ops().wait_queue().is_none() {
        return Err(Errno::EPERM);
    }
    let ep = match Epoll::of(&ef) {
        Some(ep) if !std::sync::Arc::ptr_eq(&ef, &tf) => ep,
        _ => return Err(Errno::EINVAL),
    };
    if has_event && events & epoll::EPOLLEXCLUSIVE != 0 {
        if op == EPOLL_CTL_MOD {
            return Err(Errno::EINVAL);
        }
        if op == EPOLL_CTL_ADD
            && (Epoll::of(&tf).is_some() || events & !epoll::EPOLLEXCLUSIVE_OK_BITS != 0)
        {
            return Err(Errno::EINVAL);
        }
    }
    events |= epoll::EPOLLERR | epoll::EPOLLHUP;
    match op {
        EPOLL_CTL_ADD => ep.add(&tf, fd, events, data)?,
        EPOLL_CTL_MOD => ep.modify(&tf, fd, events, data)?,
        EPOLL_CTL_DEL => ep.delete(&tf, fd)?,
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// epoll_wait, epoll_pwait and epoll_pwait2. A signal ends the wait with EINTR: epoll
/// waits are never restarted.
fn epoll_wait(
    t: &Task,
    epfd: i32,
    events: u64,
    max: i32,
    timeout: Option<Duration>,
    sigmask: u64,
    sigsize: u64,
) -> SysResult {
    if max <= 0 || max > EP_MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let end = events.checked_add(max as u64 * EVENT_SIZE);
    if end.is_none_or(|e| e > platform::TASK_SIZE) {
        return Err(Errno::EFAULT);
    }
    let f = t.files().get(epfd)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    let ep = Epoll::of(&f).ok_or(Errno::EINVAL)?;
    drop(f);
    super::poll::set_temp_mask(t, sigmask, sigsize)?;
    let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
    let mut emit = |i: usize, ev: u32, data: u64| -> Result<(), Errno> {
        let mut b = [0u8; EVENT_SIZE as usize];
        b[0..4].copy_from_slice(&ev.to_le_bytes());
        b[4..12].copy_from_slice(&data.to_le_bytes());
        t.write_mem(events + i as u64 * EVENT_SIZE, &b)
    };
    let q = ep.queue().clone();
    let r = t.wait_until(&[&q], None, deadline, || {
        let n = ep.send_events(max as usize, &mut emit)?;
        if n > 0 || timeout == Some(Duration::ZERO) {
            Ok(Some(n))
        } else {
            Ok(None)
        }
    });
    match r {
        Ok(n) => Ok(n as u64),
        Err(Errno::ETIMEDOUT) => Ok(0),
        Err(Errno::ERESTARTSYS) => Err(Errno::EINTR),
        Err(e) => Err(e),
    }
}

fn eventfd2(t: &Task, init: u32, flags: u32) -> SysResult {
    if flags & !(eventfd::EFD_SEMAPHORE | eventfd::EFD_NONBLOCK | eventfd::EFD_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    install(
        t,
        eventfd::new_file(init, flags),
        flags & eventfd::EFD_CLOEXEC != 0,
    )
}

const CAP_WAKE_ALARM: u32 = 35;

fn timerfd_create(t: &Task, clock: i32, flags: u32) -> SysResult {
    if flags & !(oflags::O_CLOEXEC | oflags::O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME => {}
        libc::CLOCK_REALTIME_ALARM | libc::CLOCK_BOOTTIME_ALARM => {
            if !t.creds().has_cap(CAP_WAKE_ALARM) {
                return Err(Errno::EPERM);
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    install(
        t,
        timerfd::new_file(clock, flags),
        flags & oflags::O_CLOEXEC != 0,
    )
}

/// The timerfd behind `fd`: EBADF, or EINVAL if it is not one.
fn timerfd_of(t: &Task, fd: i32) -> Result<std::sync::Arc<crate::vfs::File>, Errno> {
    let f = t.files().get(fd)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    if TimerFd::of(&f).is_none() {
        return Err(Errno::EINVAL);
    }
    Ok(f)
}

fn timerfd_settime(t: &Task, fd: i32, flags: u32, new: u64, old: u64) -> SysResult {
    let (mut value, interval) = read_itimerspec(t, new)?;
    if flags & !(timerfd::TFD_TIMER_ABSTIME | timerfd::TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let f = timerfd_of(t, fd)?;
    let tfd = TimerFd::of(&f).unwrap();
    let mut abs_real = None;
    if flags & timerfd::TFD_TIMER_ABSTIME != 0 && value != 0 {
        let host = match tfd.clock() {
            libc::CLOCK_REALTIME_ALARM => libc::CLOCK_REALTIME,
            libc::CLOCK_BOOTTIME_ALARM => libc::CLOCK_BOOTTIME,
            c => c,
        };
        if host == libc::CLOCK_REALTIME {
            abs_real = Some(value);
        }
        value = abs_to_rel(host, value);
    }
    let (ov, oi) = tfd.set(value, interval, flags, abs_real);
    if old != 0 {
        put_itimerspec(t, old, ov, oi)?;
    }
    Ok(0)
}

fn timerfd_gettime(t: &Task, fd: i32, cur: u64) -> SysResult {
    let f = timerfd_of(t, fd)?;
    let (v, i) = TimerFd::of(&f).unwrap().get();
    put_itimerspec(t, cur, v, i)?;
    Ok(0)
}

fn signalfd4(t: &Task, fd: i32, mask: u64, size: u64, flags: u32) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = t.read_val(mask)?;
    if flags & !(signalfd::SFD_CLOEXEC | signalfd::SFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    if fd == -1 {
        return install(
            t,
            signalfd::new_file(t, m, flags),
            flags & signalfd::SFD_CLOEXEC != 0,
        );
    }
    let f = t.files().get(fd)?;
    let sfd = SignalFd::of(&f).ok_or(Errno::EINVAL)?;
    sfd.set_mask(m);
    Ok(fd as u64)
}

fn pidfd_open(t: &Task, pid: i32, flags: u32) -> SysResult {
    if flags & !(pidfd::PIDFD_NONBLOCK | pidfd::PIDFD_THREAD) != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let (tg, task) = {
        let procs = kernel().procs.lock().unwrap();
        match procs.task(pid) {
            Some(task) => (task.tg.clone(), Some(task)),
            None => (procs.group(pid).ok_or(Errno::ESRCH)?, None),
        }
    };
    let thread = match &task {
        Some(x) if x.tid != x.tgid() => {
            if flags & pidfd::PIDFD_THREAD == 0 {
                return Err(Errno::ENOENT);
            }
            Some(x)
        }
        _ => None,
    };
    install(t, pidfd::new_file(&tg, thread, flags), true)
}

/// The pidfd behind `fd` (EBADF if it is not one).
fn pidfd_file(t: &Task, fd: i32) -> Result<std::sync::Arc<crate::vfs::File>, Errno> {
    let f = t.files().get(fd)?;
    if PidFd::of(&f).is_none() {
        return Err(Errno::EBADF);
    }
    Ok(f)
}

fn pidfd_send_signal(t: &Task, fd: i32, sig: u64, uinfo: u64, flags: u32) -> SysResult {
    use abi::signal::*;
    const THREAD: u32 = 1;
    const THREAD_GROUP: u32 = 2;
    const PROCESS_GROUP: u32 = 4;
    if flags & !(THREAD | THREAD_GROUP | PROCESS_GROUP) != 0 || flags.count_ones() > 1 {
        return Err(Errno::EINVAL);
    }
    let f = pidfd_file(t, fd)?;
    let p = PidFd::of(&f).unwrap();
    // 0: a thread, 1: the process, 2: its process group.
    let scope = match flags {
        THREAD => 0,
        THREAD_GROUP => 1,
        PROCESS_GROUP => 2,
        _ if f.flags() & pidfd::PIDFD_THREAD != 0 => 0,
        _ => 1,
    };
    let info = if uinfo != 0 {
        let mut b = [0u8; 128];
        t.read_mem(uinfo, &mut b)?;
        let mut i = SigInfo::from_bytes(&b);
        i._pad = 0;
        if i.signo as u64 != sig {
            return Err(Errno::EINVAL);
        }
        let own = std::sync::Arc::ptr_eq(p.group(), &t.tg) && p.pid == t.tgid();
        if (!own || scope > 1) && (i.code >= 0 || i.code == SI_TKILL) {
            return Err(Errno::EPERM);
        }
        i
    } else {
        let mut i = SigInfo::new(sig as u32, if scope == 0 { SI_TKILL } else { SI_USER });
        i.set_pid_uid(t.tgid(), t.creds().uid);
        i
    };
    if !p.alive() {
        return Err(Errno::ESRCH);
    }
    let sig = crate::signal::check_sig(sig)?;
    match scope {
        0 => {
            let task = p.task().ok_or(Errno::ESRCH)?;
            if sig != 0 {
                crate::signal::send_to_task(&task, info);
            }
        }
        1 => {
            if sig != 0 {
                crate::signal::send_to_group(p.group(), info);
            }
        }
        _ => {
            let pgid = p.group().lock().pgid;
            let members = kernel().procs.lock().unwrap().pgrp_members(pgid);
            if members.is_empty() {
                return Err(Errno::ESRCH);
            }
            if sig != 0 {
                for g in members {
                    crate::signal::send_to_group(&g, info);
                }
            }
        }
    }
    Ok(0)
}

fn pidfd_getfd(t: &Task, fd: i32, target: i32, flags: u32) -> SysResult {
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let f = pidfd_file(t, fd)?;
    let p = PidFd::of(&f).unwrap();
    if !p.alive() || p.exited() {
        return Err(Errno::ESRCH);
    }
    let task = p.task().ok_or(Errno::ESRCH)?;
    let got = task.files().get(target)?;
    install(t, got, true)
}

/// For waitid(P_PIDFD): the process a pidfd stands for, and whether the pidfd is
/// non-blocking. EBADF if `fd` is not a pidfd.
pub fn waitid_target(t: &Task, fd: i32) -> Result<(i32, bool), Errno> {
    let f = pidfd_file(t, fd)?;
    let p = PidFd::of(&f).unwrap();
    if !p.alive() {
        // Reaped: not a child any more.
        return Err(Errno::ECHILD);
    }
    Ok((p.group().tgid, f.nonblock()))
}
