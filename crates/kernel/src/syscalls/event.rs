//! Event files and readiness: epoll, eventfd, timerfd, signalfd and pidfds.

use super::file::{fd_arg, install};
use crate::fs::epoll::{self, Epoll};
use crate::fs::eventfd;
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
