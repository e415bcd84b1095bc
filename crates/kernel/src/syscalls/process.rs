//! Process syscalls: ids, sessions and process groups, wait, futex, robust lists.

use crate::futex;
use crate::kernel;
use crate::task::{ChildEvent, ExitStatus, SysResult, Task};
use abi::signal::*;
use abi::sysno as nr;
use abi::Errno;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::GETPID => Ok(t.tgid() as u64),
        nr::GETTID => Ok(t.tid as u64),
        nr::GETPPID => Ok(t.tg.lock().parent as u64),
        nr::SET_TID_ADDRESS => {
            t.clear_child_tid.store(a[0], Ordering::Relaxed);
            Ok(t.tid as u64)
        }
        nr::SETSID => setsid(t),
        nr::GETSID => getsid(t, a[0] as i32),
        nr::SETPGID => setpgid(t, a[0] as i32, a[1] as i32),
        nr::GETPGID => getpgid(t, a[0] as i32),
        nr::GETPGRP => Ok(t.tg.lock().pgid as u64),
        nr::WAIT4 => wait4(t, a[0] as i32, a[1], a[2], a[3]),
        nr::WAITID => waitid(t, a[0], a[1] as i32, a[2], a[3], a[4]),
        nr::SET_ROBUST_LIST => {
            if a[1] != 24 {
                return Some(Err(Errno::EINVAL));
            }
            t.robust_list.store(a[0], Ordering::Relaxed);
            t.robust_len.store(a[1], Ordering::Relaxed);
            Ok(0)
        }
        nr::GET_ROBUST_LIST => get_robust_list(t, a[0] as i32, a[1], a[2]),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::GETPID, ""),
        (nr::GETTID, ""),
        (nr::GETPPID, ""),
        (nr::SET_TID_ADDRESS, ""),
        (nr::SETSID, ""),
        (nr::GETSID, ""),
        (nr::SETPGID, ""),
        (nr::GETPGID, ""),
        (nr::GETPGRP, ""),
        (nr::WAIT4, ""),
        (nr::WAITID, ""),
        (nr::SET_ROBUST_LIST, ""),
        (nr::GET_ROBUST_LIST, ""),
    ]
}

fn setsid(t: &Task) -> SysResult {
    let procs = kernel().procs.lock().unwrap();
    let me = t.tgid();
    // EPERM if already a process group leader (or any group uses our id as pgid).
    if procs.groups.values().any(|g| g.lock().pgid == me) {
        return Err(Errno::EPERM);
    }
    let mut s = t.tg.lock();
    s.sid = me;
    s.pgid = me;
    s.ctty = None;
    Ok(me as u64)
}

fn getsid(t: &Task, pid: i32) -> SysResult {
    if pid == 0 {
        return Ok(t.tg.lock().sid as u64);
    }
    let g = kernel()
        .procs
        .lock()
        .unwrap()
        .group(pid)
        .ok_or(Errno::ESRCH)?;
    let s = g.lock().sid;
    Ok(s as u64)
}

fn getpgid(t: &Task, pid: i32) -> SysResult {
    if pid == 0 {
        return Ok(t.tg.lock().pgid as u64);
    }
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    let g = kernel()
        .procs
        .lock()
        .unwrap()
        .group(pid)
        .ok_or(Errno::ESRCH)?;
    let s = g.lock().pgid;
    Ok(s as u64)
}

fn setpgid(t: &Task, pid: i32, pgid: i32) -> SysResult {
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let procs = kernel().procs.lock().unwrap();
    let me = t.tgid();
    let target_id = if pid == 0 { me } else { pid };
    let target = procs.group(target_id).ok_or(Errno::ESRCH)?;
    let my_sid = t.tg.lock().sid;
    let pgid = if pgid == 0 { target_id } else { pgid };
    {
        let ts = target.lock();
        if target_id != me {
            if ts.parent != me {
                return Err(Errno::ESRCH);
            }
            if ts.did_exec {
                return Err(Errno::EACCES);
            }
            if ts.sid != my_sid {
                return Err(Errno::EPERM);
            }
        }
        // A session leader cannot change its group.
        if ts.sid == target_id {
            return Err(Errno::EPERM);
        }
    }
    if pgid != target_id {
        // The group must exist in the same session.
        let ok = procs.groups.values().any(|g| {
            let s = g.lock();
            s.pgid == pgid && s.sid == my_sid && s.zombie.is_none()
        });
        if !ok {
            return Err(Errno::EPERM);
        }
    }
    target.lock().pgid = pgid;
    Ok(0)
}

const WNOHANG: u64 = 1;
const WUNTRACED: u64 = 2;
const WSTOPPED: u64 = 2;
const WEXITED: u64 = 4;
const WCONTINUED: u64 = 8;
const WNOWAIT: u64 = 0x0100_0000;
const WNOTHREAD: u64 = 0x2000_0000;
const WALL: u64 = 0x4000_0000;
const WCLONE: u64 = 0x8000_0000;

enum Sel {
    Any,
    Pid(i32),
    Pgid(i32),
}

/// A reported child state: (pid, kind, status for wait4, si_code, si_status).
struct Report {
    pid: i32,
    wstatus: i32,
    code: i32,
    status: i32,
}

/// Finds a child matching `sel` with a reportable state; Ok(None): children exist but none
/// is ready; Err(ECHILD): no such child.
fn find_child(t: &Task, sel: &Sel, opts: u64, reap: bool) -> Result<Option<Report>, Errno> {
    let k = kernel();
    let mut procs = k.procs.lock().unwrap();
    let children = t.tg.lock().children.clone();
    let mut any = false;
    for c in children {
        let Some(g) = procs.group(c) else { continue };
        let mut s = g.lock();
        let matches = match sel {
            Sel::Any => true,
            Sel::Pid(p) => *p == c,
            Sel::Pgid(p) => *p == s.pgid,
        };
        if !matches {
            continue;
        }
        // __WCLONE selects children whose exit signal is not SIGCHLD; __WALL both.
        let is_clone = s.exit_signal != SIGCHLD;
        if opts & WALL == 0 && (opts & WCLONE != 0) != is_clone {
            continue;
        }
        any = true;
        if let Some(st) = s.zombie {
            if opts & WEXITED == 0 {
                continue;
            }
            let (code, status) = match st {
                ExitStatus::Exited(c) => (CLD_EXITED, c),
                ExitStatus::Signaled(sg, true) => (CLD_DUMPED, sg as i32),
                ExitStatus::Signaled(sg, false) => (CLD_KILLED, sg as i32),
            };
            if reap {
                let (cu, cs) = (
                    s.dead_utime.saturating_add(s.cutime),
                    s.dead_stime.saturating_add(s.cstime),
                );
                drop(s);
                procs.groups.remove(&c);
                let mut me = t.tg.lock();
                me.children.retain(|&x| x != c);
                me.cutime = me.cutime.saturating_add(cu);
                me.cstime = me.cstime.saturating_add(cs);
            }
            return Ok(Some(Report {
                pid: c,
                wstatus: st.wstatus(),
                code,
                status,
            }));
        }
        match s.child_event {
            Some(ChildEvent::Stopped(sig)) if opts & WSTOPPED != 0 && s.stopped => {
                if reap {
                    s.child_event = None;
                }
                return Ok(Some(Report {
                    pid: c,
                    wstatus: ((sig as i32) << 8) | 0x7f,
                    code: CLD_STOPPED,
                    status: sig as i32,
                }));
            }
            Some(ChildEvent::Continued) if opts & WCONTINUED != 0 => {
                if reap {
                    s.child_event = None;
                }
                return Ok(Some(Report {
                    pid: c,
                    wstatus: 0xffff,
                    code: CLD_CONTINUED,
                    status: SIGCONT as i32,
                }));
            }
            _ => {}
        }
    }
    if any {
        Ok(None)
    } else {
        Err(Errno::ECHILD)
    }
}

fn wait_common(t: &Task, sel: Sel, opts: u64) -> Result<Option<Report>, Errno> {
    let reap = opts & WNOWAIT == 0;
    let tg = t.tg.clone();
    let r = t.wait_until(&[&tg.child_wait], None, None, || {
        match find_child(t, &sel, opts, reap) {
            Ok(Some(r)) => Ok(Some(Some(r))),
            Ok(None) if opts & WNOHANG != 0 => Ok(Some(None)),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    });
    r
}

fn write_rusage(t: &Task, addr: u64) -> Result<(), Errno> {
    if addr != 0 {
        t.write_mem(addr, &[0u8; 144])?;
    }
    Ok(())
}

fn wait4(t: &Task, pid: i32, status: u64, options: u64, rusage: u64) -> SysResult {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return Err(Errno::EINVAL);
    }
    let sel = match pid {
        -1 => Sel::Any,
        0 => Sel::Pgid(t.tg.lock().pgid),
        p if p < -1 => Sel::Pgid(p.checked_neg().ok_or(Errno::ESRCH)?),
        p => Sel::Pid(p),
    };
    match wait_common(t, sel, options | WEXITED)? {
        None => Ok(0),
        Some(r) => {
            if status != 0 {
                t.write_val(status, &r.wstatus)?;
            }
            write_rusage(t, rusage)?;
            Ok(r.pid as u64)
        }
    }
}

fn waitid(t: &Task, idtype: u64, id: i32, infop: u64, options: u64, rusage: u64) -> SysResult {
    if options & !(WNOHANG | WSTOPPED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE)
        != 0
    {
        return Err(Errno::EINVAL);
    }
    if options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let mut pidfd_nonblock = false;
    let sel = match idtype {
        0 => Sel::Any,
        1 => {
            if id <= 0 {
                return Err(Errno::EINVAL);
            }
            Sel::Pid(id)
        }
        2 => {
            if id < 0 {
                return Err(Errno::EINVAL);
            }
            Sel::Pgid(if id == 0 { t.tg.lock().pgid } else { id })
        }
        3 => {
            // P_PIDFD: a non-blocking pidfd makes the wait WNOHANG, and EAGAIN if the
            // caller did not ask for that itself.
            if id < 0 {
                return Err(Errno::EINVAL);
            }
            let (pid, nonblock) = super::event::waitid_target(t, id)?;
            pidfd_nonblock = nonblock;
            Sel::Pid(pid)
        }
        _ => return Err(Errno::EINVAL),
    };
    let eff = if pidfd_nonblock {
        options | WNOHANG
    } else {
        options
    };
    let r = wait_common(t, sel, eff)?;
    // (The zeroed siginfo is still written.)
    let eagain = r.is_none() && pidfd_nonblock && options & WNOHANG == 0;
    if infop != 0 {
        let mut info = SigInfo::default();
        if let Some(r) = &r {
            info.signo = SIGCHLD as i32;
            info.code = r.code;
            info.set_pid_uid(r.pid, 0);
            info.fields[1] = r.status as u32 as u64;
        }
        t.write_mem(infop, info.as_bytes())?;
    }
    if eagain {
        return Err(Errno::EAGAIN);
    }
    write_rusage(t, rusage)?;
    Ok(0)
}

fn get_robust_list(t: &Task, pid: i32, head_ptr: u64, len_ptr: u64) -> SysResult {
    let target = if pid == 0 {
        (
            t.robust_list.load(Ordering::Relaxed),
            t.robust_len.load(Ordering::Relaxed),
        )
    } else {
        let tt = kernel()
            .procs
            .lock()
            .unwrap()
            .task(pid)
            .ok_or(Errno::ESRCH)?;
        let v = (
            tt.robust_list.load(Ordering::Relaxed),
            tt.robust_len.load(Ordering::Relaxed),
        );
        v
    };
    t.write_val(head_ptr, &target.0)?;
    t.write_val(len_ptr, &target.1)?;
    Ok(0)
}

/// At thread exit: the robust futex list is walked (owners die), and the
/// CLONE_CHILD_CLEARTID word is cleared with a futex wake, as Linux's mm_release does.
pub fn exit_robust_and_cleartid(t: &Arc<Task>) {
    let head = t.robust_list.swap(0, Ordering::Relaxed);
    if head != 0 {
        walk_robust(t, head);
    }
    let ctid = t.clear_child_tid.swap(0, Ordering::Relaxed);
    if ctid != 0 {
        let mm = t.mm();
        // Only if someone else still uses the address space.
        if Arc::strong_count(&mm) > 2 || t.tg.lock().threads.len() > 1 {
            if t.write_val(ctid, &0u32).is_ok() {
                if let Ok(k) = futex::key(t, ctid, false) {
                    futex::wake_raw(k, 1);
                }
                if let Ok(k) = futex::key(t, ctid, true) {
                    futex::wake_raw(k, 1);
                }
            }
        }
    }
    futex::forget_task(t);
}

fn walk_robust(t: &Task, head: u64) {
    const FUTEX_WAITERS: u32 = 0x8000_0000;
    const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
    const TID_MASK: u32 = 0x3fff_ffff;
    let Ok(h) = t.read_val::<[u64; 3]>(head) else {
        return;
    };
    let offset = h[1] as i64;
    let pending = h[2];
    // A PI futex gets FUTEX_OWNER_DIED here too; its waiters are woken when the kernel
    // hands it over (futex::forget_task).
    let handle = |entry: u64| {
        let pi = entry & 1 != 0;
        let e = entry & !1;
        let faddr = (e as i64).wrapping_add(offset) as u64;
        if let Ok(a) = futex::atomic_at(t, faddr, true) {
            let mut cur = a.load(Ordering::SeqCst);
            loop {
                if cur & TID_MASK != t.tid as u32 {
                    return;
                }
                let new = (cur & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
                match a.compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst) {
                    Ok(_) => break,
                    Err(c) => cur = c,
                }
            }
            if cur & FUTEX_WAITERS != 0 && !pi {
                for private in [false, true] {
                    if let Ok(k) = futex::key(t, faddr, private) {
                        futex::wake_raw(k, 1);
                    }
                }
            }
        }
    };
    let mut entry = h[0];
    let mut n = 0;
    while entry != head && entry != 0 && n < 2048 {
        let next = match t.read_val::<u64>(entry & !1) {
            Ok(v) => v,
            Err(_) => break,
        };
        if entry != pending {
            handle(entry);
        }
        entry = next;
        n += 1;
    }
    if pending != 0 {
        handle(pending);
    }
}
