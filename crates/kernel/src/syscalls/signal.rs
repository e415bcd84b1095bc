//! Signal syscalls: dispositions, masks, sending, waiting, alternate stacks.

use crate::kernel;
use crate::signal::{check_sig, send_to_group, send_to_task};
use crate::task::{SysResult, Task};
use abi::signal::*;
use abi::sysno as nr;
use abi::Errno;
use std::time::{Duration, Instant};

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::RT_SIGACTION => sigaction(t, a[0], a[1], a[2], a[3]),
        nr::RT_SIGPROCMASK => sigprocmask(t, a[0], a[1], a[2], a[3]),
        nr::RT_SIGPENDING => {
            if a[1] > 8 {
                return Some(Err(Errno::EINVAL));
            }
            let set = {
                let sh = t.tg.lock().shared_pending.set();
                let s = t.sig.lock().unwrap();
                (s.pending.set() | sh) & s.mask
            };
            t.write_mem(a[0], &set.to_le_bytes()[..a[1] as usize])
                .map(|_| 0)
        }
        nr::RT_SIGSUSPEND => sigsuspend(t, a[0], a[1]),
        nr::PAUSE => {
            let r = t.wait_until(&[], None, None, || Ok(None::<()>));
            match r {
                Err(_) => Err(Errno::ERESTARTNOHAND),
                Ok(()) => Ok(0),
            }
        }
        nr::RT_SIGTIMEDWAIT => sigtimedwait(t, a[0], a[1], a[2], a[3]),
        nr::SIGALTSTACK => sigaltstack(t, a[0], a[1]),
        nr::KILL => kill(t, a[0] as i32, a[1]),
        nr::TKILL => tgkill(t, -1, a[0] as i32, a[1]),
        nr::TGKILL => tgkill(t, a[0] as i32, a[1] as i32, a[2]),
        nr::RT_SIGQUEUEINFO => sigqueueinfo(t, a[0] as i32, None, a[1], a[2]),
        nr::RT_TGSIGQUEUEINFO => sigqueueinfo(t, a[0] as i32, Some(a[1] as i32), a[2], a[3]),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::RT_SIGACTION, ""),
        (nr::RT_SIGPROCMASK, ""),
        (nr::RT_SIGPENDING, ""),
        (nr::RT_SIGSUSPEND, ""),
        (nr::PAUSE, ""),
        (nr::RT_SIGTIMEDWAIT, ""),
        (nr::SIGALTSTACK, ""),
        (nr::KILL, ""),
        (nr::TKILL, ""),
        (nr::TGKILL, ""),
        (nr::RT_SIGQUEUEINFO, ""),
        (nr::RT_TGSIGQUEUEINFO, ""),
    ]
}

fn sigaction(t: &Task, sig: u64, act: u64, oact: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    if sig == 0 || sig > NSIG as u64 {
        return Err(Errno::EINVAL);
    }
    let sig = sig as u32;
    let new: Option<KSigaction> = if act != 0 {
        Some(t.read_val(act)?)
    } else {
        None
    };
    if new.is_some() && (sig == SIGKILL || sig == SIGSTOP) {
        return Err(Errno::EINVAL);
    }
    let sh = t.sighand();
    let old = {
        let mut acts = sh.actions.lock().unwrap();
        let old = acts[(sig - 1) as usize];
        if let Some(mut n) = new {
            n.mask &= !UNBLOCKABLE;
            acts[(sig - 1) as usize] = n;
        }
        old
    };
    if oact != 0 {
        t.write_val(oact, &old)?;
    }
    // Setting SIG_IGN (or default-ignore) discards pending instances (POSIX).
    if let Some(n) = new {
        let ign = n.handler == SIG_IGN
            || (n.handler == SIG_DFL
                && crate::signal::default_action(sig) == crate::signal::DefaultAction::Ignore);
        if ign {
            t.tg.lock().shared_pending.discard(sigbit(sig));
            let threads = kernel().procs.lock().unwrap().threads_of(&t.tg);
            for th in threads {
                th.sig.lock().unwrap().pending.discard(sigbit(sig));
            }
        }
    }
    Ok(0)
}

fn sigprocmask(t: &Task, how: u64, set: u64, oset: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let new: Option<u64> = if set != 0 {
        Some(t.read_val(set)?)
    } else {
        None
    };
    let old = t.sig.lock().unwrap().mask;
    if let Some(n) = new {
        let m = match how {
            SIG_BLOCK => old | n,
            SIG_UNBLOCK => old & !n,
            SIG_SETMASK => n,
            _ => return Err(Errno::EINVAL),
        };
        t.sig.lock().unwrap().mask = m & !UNBLOCKABLE;
    }
    if oset != 0 {
        t.write_val(oset, &old)?;
    }
    Ok(0)
}

fn sigsuspend(t: &Task, set: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let m: u64 = t.read_val(set)?;
    {
        let mut s = t.sig.lock().unwrap();
        s.saved_mask = Some(s.mask);
        s.mask = m & !UNBLOCKABLE;
    }
    let _ = t.wait_until(&[], None, None, || Ok(None::<()>));
    Err(Errno::ERESTARTNOHAND)
}

fn sigtimedwait(t: &Task, set: u64, info: u64, timeout: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let want: u64 = t.read_val::<u64>(set)? & !UNBLOCKABLE;
    let deadline = if timeout != 0 {
        let ts: [i64; 2] = t.read_val(timeout)?;
        if ts[0] < 0 || ts[1] < 0 || ts[1] >= 1_000_000_000 {
            return Err(Errno::EINVAL);
        }
        Some(Instant::now() + Duration::new(ts[0] as u64, ts[1] as u32))
    } else {
        None
    };
    let take = || -> Option<SigInfo> {
        let mut tg = t.tg.lock();
        let mut s = t.sig.lock().unwrap();
        if let Some(i) = s.pending.take_next(want) {
            return Some(i);
        }
        drop(s);
        tg.shared_pending.take_next(want)
    };
    if let Some(i) = take() {
        if info != 0 {
            t.write_mem(info, i.as_bytes())?;
        }
        return Ok(i.signo as u64);
    }
    // While waiting, the awaited signals are unblocked so that they wake us, but they are
    // dequeued here rather than delivered to handlers.
    let old = {
        let mut s = t.sig.lock().unwrap();
        let old = s.mask;
        s.mask &= !want;
        old
    };
    let r = t.wait_until(&[], None, deadline, || Ok(take()));
    t.sig.lock().unwrap().mask = old;
    match r {
        Ok(i) => {
            if info != 0 {
                t.write_mem(info, i.as_bytes())?;
            }
            Ok(i.signo as u64)
        }
        Err(Errno::ETIMEDOUT) => Err(Errno::EAGAIN),
        Err(_) => Err(Errno::EINTR),
    }
}

fn sigaltstack(t: &Task, ss: u64, old: u64) -> SysResult {
    let cur = t.sig.lock().unwrap().altstack;
    let sp = t.user_sp.load(std::sync::atomic::Ordering::Relaxed);
    let on = cur.flags & SS_DISABLE == 0 && cur.size > 0 && sp > cur.sp && sp <= cur.sp + cur.size;
    if old != 0 {
        let mut o = cur;
        if on {
            o.flags = SS_ONSTACK | (cur.flags & SS_AUTODISARM);
        }
        t.write_val(old, &o)?;
    }
    if ss != 0 {
        let n: StackT = t.read_val(ss)?;
        let flags = n.flags;
        if flags & !(SS_DISABLE | SS_AUTODISARM | SS_ONSTACK) != 0 {
            return Err(Errno::EINVAL);
        }
        if on {
            return Err(Errno::EPERM);
        }
        let mut s = t.sig.lock().unwrap();
        if flags & SS_DISABLE != 0 {
            s.altstack = StackT {
                sp: 0,
                flags: SS_DISABLE,
                _pad: 0,
                size: 0,
            };
        } else {
            if n.size < MINSIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            s.altstack = StackT {
                sp: n.sp,
                flags: flags & SS_AUTODISARM,
                _pad: 0,
                size: n.size,
            };
        }
    }
    Ok(0)
}

fn kill_info(t: &Task, sig: u32) -> SigInfo {
    let mut i = SigInfo::new(sig, SI_USER);
    i.set_pid_uid(t.tgid(), t.creds().uid);
    i
}

fn kill(t: &Task, pid: i32, sig: u64) -> SysResult {
    let sig = check_sig(sig)?;
    let info = kill_info(t, sig);
    let my_pgid = t.tg.lock().pgid;
    let procs = kernel().procs.lock().unwrap();
    let targets: Vec<_> = match pid {
        p if p > 0 => vec![procs
            .group(p)
            .filter(|g| g.lock().zombie.is_none())
            .ok_or(Errno::ESRCH)?],
        0 => procs.pgrp_members(my_pgid),
        -1 => procs
            .groups
            .values()
            .filter(|g| g.tgid != 1 && g.tgid != t.tgid() && g.lock().zombie.is_none())
            .cloned()
            .collect(),
        p => procs.pgrp_members(p.checked_neg().ok_or(Errno::ESRCH)?),
    };
    drop(procs);
    if targets.is_empty() {
        return Err(Errno::ESRCH);
    }
    for g in targets {
        if !crate::sandbox::init_ignores(g.tgid, sig) {
            send_to_group(&g, info);
        }
    }
    Ok(0)
}

fn tgkill(t: &Task, tgid: i32, tid: i32, sig: u64) -> SysResult {
    if tid <= 0 || (tgid != -1 && tgid <= 0) {
        return Err(Errno::EINVAL);
    }
    let sig = check_sig(sig)?;
    let target = kernel()
        .procs
        .lock()
        .unwrap()
        .task(tid)
        .ok_or(Errno::ESRCH)?;
    if tgid != -1 && target.tgid() != tgid {
        return Err(Errno::ESRCH);
    }
    let mut info = SigInfo::new(sig, SI_TKILL);
    info.set_pid_uid(t.tgid(), t.creds().uid);
    if !crate::sandbox::init_ignores(target.tgid(), sig) {
        send_to_task(&target, info);
    }
    Ok(0)
}

fn sigqueueinfo(t: &Task, pid: i32, tid: Option<i32>, sig: u64, uinfo: u64) -> SysResult {
    let sig = check_sig(sig)?;
    let mut b = [0u8; 128];
    t.read_mem(uinfo, &mut b)?;
    let mut info = SigInfo::from_bytes(&b);
    info._pad = 0;
    // Only the kernel may send SI_USER/SI_KERNEL-coded signals to another process.
    if (info.code >= 0 || info.code == SI_TKILL) && pid != t.tgid() {
        return Err(Errno::EPERM);
    }
    info.signo = sig as i32;
    if crate::sandbox::init_ignores(pid, sig) {
        return Ok(0);
    }
    let procs = kernel().procs.lock().unwrap();
    match tid {
        None => {
            let g = procs.group(pid).ok_or(Errno::ESRCH)?;
            drop(procs);
            send_to_group(&g, info);
        }
        Some(tid) => {
            let tt = procs.task(tid).ok_or(Errno::ESRCH)?;
            drop(procs);
            if tt.tgid() != pid {
                return Err(Errno::ESRCH);
            }
            send_to_task(&tt, info);
        }
    }
    Ok(0)
}
