//! Readiness waits over many files: poll, ppoll, select, pselect6.

use crate::task::{SysResult, Task};
use crate::vfs::inode::{
    POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM,
};
use crate::vfs::File;
use crate::wait::WaitQueue;
use abi::signal::UNBLOCKABLE;
use abi::sysno as nr;
use abi::Errno;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::POLL => {
            let deadline = match a[2] as i32 {
                ms if ms < 0 => None,
                ms => Some(Instant::now() + Duration::from_millis(ms as u64)),
            };
            poll(t, a[0], a[1], deadline)
        }
        nr::PPOLL => ppoll(t, a[0], a[1], a[2], a[3], a[4]),
        nr::SELECT => select_call(t, a[0], a[1], a[2], a[3], a[4], false, 0),
        nr::PSELECT6 => select_call(t, a[0], a[1], a[2], a[3], a[4], true, a[5]),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::POLL, ""),
        (nr::PPOLL, ""),
        (nr::SELECT, ""),
        (nr::PSELECT6, ""),
    ]
}

/// Readiness of each file, the queues to sleep on, and a host fd to watch.
struct Watch {
    files: Vec<Option<Arc<File>>>,
    queues: Vec<Arc<WaitQueue>>,
    host: Vec<i32>,
}

fn watch(t: &Task, fds: &[i32]) -> Watch {
    let table = t.files();
    let mut w = Watch {
        files: Vec::with_capacity(fds.len()),
        queues: Vec::new(),
        host: Vec::new(),
    };
    for &fd in fds {
        let f = if fd < 0 { None } else { table.get(fd).ok() };
        if let Some(f) = &f {
            if let Some(q) = f.ops().wait_queue() {
                if !w.queues.iter().any(|x| Arc::ptr_eq(x, &q)) {
                    w.queues.push(q);
                }
            }
            if let Some(h) = f.ops().host_poll() {
                w.host.push(h);
            }
        }
        w.files.push(f);
    }
    w
}

/// Runs `check` until it reports readiness, the deadline passes (Ok with its last
/// value), or a signal arrives (ERESTARTNOHAND).
fn wait_ready<T>(
    t: &Task,
    w: &Watch,
    deadline: Option<Instant>,
    mut check: impl FnMut() -> Option<T>,
    none: impl Fn() -> T,
) -> Result<T, Errno> {
    if let Some(v) = check() {
        return Ok(v);
    }
    if deadline.is_some_and(|d| d <= Instant::now()) {
        return Ok(none());
    }
    let qs: Vec<&WaitQueue> = w.queues.iter().map(|q| q.as_ref()).collect();
    let host = w
        .host
        .first()
        .map(|&fd| (fd, (libc::POLLIN | libc::POLLOUT) as i16));
    // Extra host fds are rechecked on a short period.
    let step = if w.host.len() > 1 {
        Some(Duration::from_millis(10))
    } else {
        None
    };
    loop {
        let d = match (deadline, step) {
            (Some(d), Some(s)) => Some(d.min(Instant::now() + s)),
            (None, Some(s)) => Some(Instant::now() + s),
            (d, None) => d,
        };
        match t.wait_until(&qs, host, d, || Ok(check())) {
            Ok(v) => return Ok(v),
            Err(Errno::ETIMEDOUT) => {
                if deadline.is_some_and(|dd| dd <= Instant::now()) {
                    return Ok(none());
                }
            }
            Err(Errno::ERESTARTSYS) => return Err(Errno::ERESTARTNOHAND),
            Err(e) => return Err(e),
        }
    }
}

fn poll(t: &Task, ufds: u64, nfds: u64, deadline: Option<Instant>) -> SysResult {
    if nfds > t.rlimit(7).0.max(1024) || nfds > 1 << 20 {
        return Err(Errno::EINVAL);
    }
    let n = nfds as usize;
    let mut raw = vec![0u8; n * 8];
    t.read_mem(ufds, &mut raw)?;
    let fds: Vec<(i32, u16)> = (0..n)
        .map(|i| {
            let b = &raw[i * 8..i * 8 + 8];
            (
                i32::from_le_bytes(b[0..4].try_into().unwrap()),
                u16::from_le_bytes(b[4..6].try_into().unwrap()),
            )
        })
        .collect();
    let w = watch(t, &fds.iter().map(|f| f.0).collect::<Vec<_>>());
    let compute = || -> Vec<u16> {
        fds.iter()
            .zip(w.files.iter())
            .map(|(&(fd, ev), f)| {
                if fd < 0 {
                    return 0;
                }
                match f {
                    None => POLLNVAL as u16,
                    Some(f) => {
                        let mut r = f.ops().poll(f);
                        if r & POLLIN != 0 {
                            r |= POLLRDNORM;
                        }
                        if r & POLLOUT != 0 {
                            r |= POLLWRNORM;
                        }
                        (r & (ev as u32 | POLLERR | POLLHUP)) as u16
                    }
                }
            })
            .collect()
    };
    let revents = wait_ready(
        t,
        &w,
        deadline,
        || {
            let r = compute();
            if r.iter().any(|&x| x != 0) {
                Some(r)
            } else {
                None
            }
        },
        || vec![0u16; n],
    )?;
    for (i, r) in revents.iter().enumerate() {
        raw[i * 8 + 6..i * 8 + 8].copy_from_slice(&r.to_le_bytes());
    }
    t.write_mem(ufds, &raw)?;
    Ok(revents.iter().filter(|&&r| r != 0).count() as u64)
}

fn read_timespec(t: &Task, addr: u64) -> Result<Option<Duration>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let ts: [i64; 2] = t.read_val(addr)?;
    if ts[0] < 0 || ts[1] < 0 || ts[1] >= 1_000_000_000 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(Duration::new(ts[0] as u64, ts[1] as u32)))
}

/// Installs a temporary signal mask for the call; the run loop restores the old one
/// (after the handler, if one runs), as Linux's set_user_sigmask does.
pub(crate) fn set_temp_mask(t: &Task, mask_ptr: u64, size: u64) -> Result<(), Errno> {
    if mask_ptr == 0 {
        return Ok(());
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = t.read_val(mask_ptr)?;
    let mut s = t.sig.lock().unwrap();
    s.saved_mask = Some(s.mask);
    s.mask = m & !UNBLOCKABLE;
    Ok(())
}

fn ppoll(t: &Task, ufds: u64, nfds: u64, tsp: u64, mask: u64, size: u64) -> SysResult {
    let timeout = read_timespec(t, tsp)?;
    let start = Instant::now();
    set_temp_mask(t, mask, size)?;
    let r = poll(t, ufds, nfds, timeout.map(|d| start + d));
    if let (Some(d), true) = (timeout, tsp != 0) {
        let left = d.saturating_sub(start.elapsed());
        let _ = t.write_val(tsp, &[left.as_secs() as i64, left.subsec_nanos() as i64]);
    }
    r
}

fn select_call(
    t: &Task,
    nfds: u64,
    rp: u64,
    wp: u64,
    ep: u64,
    tp: u64,
    pselect: bool,
    sigdata: u64,
) -> SysResult {
    let nfds = nfds as i32;
    if nfds < 0 {
        return Err(Errno::EINVAL);
    }
    let max = t.files().capacity().max(64) as i32;
    let nfds = nfds.min(max.max(1024)) as usize;
    let words = nfds.div_ceil(64);
    let read_set = |p: u64| -> Result<Option<Vec<u64>>, Errno> {
        if p == 0 {
            return Ok(None);
        }
        let mut b = vec![0u8; words * 8];
        t.read_mem(p, &mut b)?;
        let mut v: Vec<u64> = b
            .chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        if nfds % 64 != 0 {
            if let Some(last) = v.last_mut() {
                *last &= (1u64 << (nfds % 64)) - 1;
            }
        }
        Ok(Some(v))
    };
    let (rs, ws, es) = (read_set(rp)?, read_set(wp)?, read_set(ep)?);
    let timeout = if pselect {
        read_timespec(t, tp)?
    } else if tp != 0 {
        let tv: [i64; 2] = t.read_val(tp)?;
        if tv[0] < 0 || tv[1] < 0 {
            return Err(Errno::EINVAL);
        }
        Some(
            Duration::from_secs(tv[0] as u64)
                + Duration::from_micros((tv[1] as u64).min(999_999_999)),
        )
    } else {
        None
    };
    if pselect && sigdata != 0 {
        let sd: [u64; 2] = t.read_val(sigdata)?;
        set_temp_mask(t, sd[0], sd[1])?;
    }
    let bit = |s: &Option<Vec<u64>>, fd: usize| {
        s.as_ref()
            .is_some_and(|v| v[fd / 64] & (1 << (fd % 64)) != 0)
    };
    let mut fds = Vec::new();
    for fd in 0..nfds {
        if bit(&rs, fd) || bit(&ws, fd) || bit(&es, fd) {
            fds.push(fd as i32);
        }
    }
    let w = watch(t, &fds);
    if w.files.iter().any(|f| f.is_none()) {
        return Err(Errno::EBADF);
    }
    let start = Instant::now();
    let deadline = timeout.map(|d| start + d);
    let compute = || -> (usize, Vec<u64>, Vec<u64>, Vec<u64>) {
        let (mut r, mut wr, mut e) = (vec![0u64; words], vec![0u64; words], vec![0u64; words]);
        let mut count = 0;
        for (i, &fd) in fds.iter().enumerate() {
            let f = w.files[i].as_ref().unwrap();
            let ev = f.ops().poll(f);
            let fd = fd as usize;
            if bit(&rs, fd) && ev & (POLLIN | POLLHUP | POLLERR) != 0 {
                r[fd / 64] |= 1 << (fd % 64);
                count += 1;
            }
            if bit(&ws, fd) && ev & (POLLOUT | POLLERR) != 0 {
                wr[fd / 64] |= 1 << (fd % 64);
                count += 1;
            }
            if bit(&es, fd) && ev & POLLPRI != 0 {
                e[fd / 64] |= 1 << (fd % 64);
                count += 1;
            }
        }
        (count, r, wr, e)
    };
    let (count, r, wr, e) = wait_ready(
        t,
        &w,
        deadline,
        || {
            let c = compute();
            if c.0 > 0 {
                Some(c)
            } else {
                None
            }
        },
        || (0, vec![0u64; words], vec![0u64; words], vec![0u64; words]),
    )?;
    let put = |p: u64, v: &Vec<u64>| -> Result<(), Errno> {
        if p != 0 {
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            t.write_mem(p, &b)?;
        }
        Ok(())
    };
    put(rp, &r)?;
    put(wp, &wr)?;
    put(ep, &e)?;
    if let (Some(d), true) = (timeout, tp != 0) {
        let left = d.saturating_sub(start.elapsed());
        if pselect {
            let _ = t.write_val(tp, &[left.as_secs() as i64, left.subsec_nanos() as i64]);
        } else {
            let _ = t.write_val(tp, &[left.as_secs() as i64, left.subsec_micros() as i64]);
        }
    }
    Ok(count as u64)
}
