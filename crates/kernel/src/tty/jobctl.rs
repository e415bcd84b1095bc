//! Job control on terminals, as Linux's tty_jobctrl.c: controlling terminals of
//! sessions, the foreground process group, SIGTTIN/SIGTTOU for background groups,
//! TIOCSCTTY/TIOCNOTTY/TIOCGPGRP/TIOCSPGRP/TIOCGSID, and the signals of hang-up and of
//! a session leader's exit.

use super::Tty;
use crate::kernel;
use crate::signal::send_to_group;
use crate::task::{SysResult, Task, ThreadGroup};
use abi::signal::*;
use abi::Errno;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Foreground group of the terminal a session leader lost to a hang-up (Linux's
/// tty_old_pgrp): it gets SIGHUP and SIGCONT when the leader exits.
static OLD_PGRP: Mutex<Option<HashMap<i32, i32>>> = Mutex::new(None);

fn set_old_pgrp(leader: i32, pgrp: Option<i32>) {
    let mut g = OLD_PGRP.lock().unwrap();
    let m = g.get_or_insert_with(HashMap::new);
    match pgrp {
        Some(p) => {
            m.insert(leader, p);
        }
        None => {
            m.remove(&leader);
        }
    }
}

fn take_old_pgrp(leader: i32) -> Option<i32> {
    OLD_PGRP.lock().unwrap().as_mut()?.remove(&leader)
}

/// CAP_SYS_ADMIN.
const CAP_SYS_ADMIN: u32 = 21;

fn same(a: &Option<Arc<Tty>>, b: &Arc<Tty>) -> bool {
    matches!(a, Some(x) if Arc::ptr_eq(x, b))
}

/// The controlling terminal of `t`'s process.
pub fn ctty_of(t: &Task) -> Option<Arc<Tty>> {
    t.tg.lock().ctty.clone()
}

/// Is `tty` the controlling terminal of `t`'s process?
pub fn is_ctty(t: &Task, tty: &Arc<Tty>) -> bool {
    same(&t.tg.lock().ctty, tty)
}

/// Sends `sig` from the kernel (si_code SI_KERNEL) to every process of group `pgid`.
pub fn kill_pgrp(pgid: i32, sig: u32) {
    if pgid <= 0 {
        return;
    }
    let members = kernel().procs.lock().unwrap().pgrp_members(pgid);
    for g in members {
        send_to_group(&g, SigInfo::new(sig, SI_KERNEL));
    }
}

fn kill_group(g: &Arc<ThreadGroup>, sig: u32) {
    send_to_group(g, SigInfo::new(sig, SI_KERNEL));
}

/// Blocked by the calling thread or ignored by its process.
fn is_ignored(t: &Task, sig: u32) -> bool {
    t.sig.lock().unwrap().mask & sigbit(sig) != 0 || t.sighand().get(sig).handler == SIG_IGN
}

/// A process group is orphaned when no member has a parent in another group of the
/// same session (so no shell is left to continue it). The sandbox's first process
/// counts as started by a shell of its (first) session, as `moat do` runs it.
pub fn pgrp_orphaned(pgid: i32) -> bool {
    let procs = kernel().procs.lock().unwrap();
    for g in procs.pgrp_members(pgid) {
        let (parent, sid) = {
            let s = g.lock();
            (s.parent, s.sid)
        };
        if parent == 0 && g.tgid == 1 && sid == 1 {
            return false;
        }
        if let Some(p) = procs.group(parent) {
            let ps = p.lock();
            if ps.pgid != pgid && ps.sid == sid {
                return false;
            }
        }
    }
    true
}

/// Is `t`'s process in the background of `tty`, its controlling terminal?
pub fn in_background(t: &Task, tty: &Arc<Tty>) -> bool {
    if !is_ctty(t, tty) {
        return false;
    }
    let fg = tty.ctrl().pgrp;
    fg != 0 && fg != t.tg.lock().pgid
}

/// The check before a background process touches its controlling terminal (reads
/// with SIGTTIN, writes under TOSTOP and termios changes with SIGTTOU): Ok for the
/// foreground group and for other terminals; otherwise the caller's group gets `sig`
/// and the call restarts once it is continued, or fails with EIO when the signal is
/// ignored (SIGTTIN only: an ignored SIGTTOU lets the change through) or the group is
/// orphaned.
pub fn check_change(t: &Task, tty: &Arc<Tty>, sig: u32) -> Result<(), Errno> {
    if !is_ctty(t, tty) {
        return Ok(());
    }
    let mine = t.tg.lock().pgid;
    let fg = tty.ctrl().pgrp;
    if fg == 0 || fg == mine {
        return Ok(());
    }
    if is_ignored(t, sig) {
        return if sig == SIGTTIN {
            Err(Errno::EIO)
        } else {
            Ok(())
        };
    }
    if pgrp_orphaned(mine) {
        return Err(Errno::EIO);
    }
    kill_pgrp(mine, sig);
    Err(Errno::ERESTARTSYS)
}

/// A terminal being opened (not /dev/tty, /dev/console or a pty master): a session
/// leader without a controlling terminal gets this one, unless O_NOCTTY, the terminal
/// already controls a session, or it is opened without read access.
pub fn acquire_on_open(tgid: i32, tty: &Arc<Tty>, noctty: bool, readable: bool) {
    if noctty || !readable || tgid <= 0 {
        return;
    }
    let procs = kernel().procs.lock().unwrap();
    let Some(g) = procs.group(tgid) else { return };
    let mut s = g.lock();
    if s.sid != tgid || s.ctty.is_some() {
        return;
    }
    let mut c = tty.ctrl.lock().unwrap();
    if c.session != 0 {
        return;
    }
    c.session = s.sid;
    c.pgrp = s.pgid;
    s.ctty = Some(tty.clone());
    drop(c);
    drop(s);
    set_old_pgrp(tgid, None);
}

/// Every process of session `sid` loses its controlling terminal.
fn session_clear_tty(groups: &[Arc<ThreadGroup>], sid: i32) {
    for g in groups {
        let mut s = g.lock();
        if s.sid == sid {
            s.ctty = None;
        }
    }
}

/// TIOCSCTTY: makes `tty` the controlling terminal of the calling session leader.
/// `arg` 1 steals it from another session (CAP_SYS_ADMIN).
pub fn tiocsctty(t: &Task, tty: &Arc<Tty>, readable: bool, arg: u64) -> SysResult {
    let procs = kernel().procs.lock().unwrap();
    let groups: Vec<Arc<ThreadGroup>> = procs.groups.values().cloned().collect();
    let me = t.tgid();
    let (sid, pgid, has_ctty, admin) = {
        let s = t.tg.lock();
        (
            s.sid,
            s.pgid,
            s.ctty.is_some(),
            s.creds.has_cap(CAP_SYS_ADMIN),
        )
    };
    let leader = sid == me;
    let cur = tty.ctrl();
    if leader && cur.session == sid {
        return Ok(0);
    }
    if !leader || has_ctty {
        return Err(Errno::EPERM);
    }
    if cur.session != 0 {
        if arg == 1 && admin {
            session_clear_tty(&groups, cur.session);
        } else {
            return Err(Errno::EPERM);
        }
    }
    if !readable && !admin {
        return Err(Errno::EPERM);
    }
    *tty.ctrl.lock().unwrap() = super::Ctrl {
        session: sid,
        pgrp: pgid,
    };
    t.tg.lock().ctty = Some(tty.clone());
    drop(procs);
    set_old_pgrp(me, None);
    Ok(0)
}

/// A session leader gives up its controlling terminal (TIOCNOTTY, or its exit): the
/// foreground group gets SIGHUP (and SIGCONT unless exiting), and the whole session
/// loses the terminal.
pub fn disassociate(tg: &Arc<ThreadGroup>, on_exit: bool) {
    let (sid, tty) = {
        let s = tg.lock();
        if s.sid != tg.tgid {
            return;
        }
        (s.sid, s.ctty.clone())
    };
    let Some(tty) = tty else {
        if on_exit {
            if let Some(pg) = take_old_pgrp(tg.tgid) {
                kill_pgrp(pg, SIGHUP);
                kill_pgrp(pg, SIGCONT);
            }
        }
        return;
    };
    set_old_pgrp(tg.tgid, None);
    let fg = tty.ctrl().pgrp;
    if fg != 0 {
        kill_pgrp(fg, SIGHUP);
        if !on_exit {
            kill_pgrp(fg, SIGCONT);
        }
    }
    *tty.ctrl.lock().unwrap() = super::Ctrl::default();
    let groups: Vec<Arc<ThreadGroup>> = kernel()
        .procs
        .lock()
        .unwrap()
        .groups
        .values()
        .cloned()
        .collect();
    session_clear_tty(&groups, sid);
}

/// TIOCNOTTY.
pub fn tiocnotty(t: &Task, tty: &Arc<Tty>) -> SysResult {
    if !is_ctty(t, tty) {
        return Err(Errno::ENOTTY);
    }
    disassociate(&t.tg, false);
    t.tg.lock().ctty = None;
    Ok(0)
}

/// The last thread of a process is exiting: a session leader's terminal is released.
pub fn on_group_exit(tg: &Arc<ThreadGroup>) {
    disassociate(tg, true);
    take_old_pgrp(tg.tgid);
}

/// TIOCGPGRP (`master`: asked through the master side of a pty, which needs no
/// controlling-terminal relation).
pub fn tiocgpgrp(t: &Task, tty: &Arc<Tty>, master: bool, arg: u64) -> SysResult {
    if !master && !is_ctty(t, tty) {
        return Err(Errno::ENOTTY);
    }
    let pg = tty.ctrl().pgrp;
    t.write_val(arg, &pg)?;
    Ok(0)
}

/// TIOCGSID.
pub fn tiocgsid(t: &Task, tty: &Arc<Tty>, master: bool, arg: u64) -> SysResult {
    if !master && !is_ctty(t, tty) {
        return Err(Errno::ENOTTY);
    }
    let s = tty.ctrl().session;
    if s == 0 {
        return Err(Errno::ENOTTY);
    }
    t.write_val(arg, &s)?;
    Ok(0)
}

/// TIOCSPGRP: a process of the terminal's session makes `*arg` the foreground group.
pub fn tiocspgrp(t: &Task, tty: &Arc<Tty>, arg: u64) -> SysResult {
    match check_change(t, tty, SIGTTOU) {
        Err(Errno::EIO) => return Err(Errno::ENOTTY),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    let pgrp: i32 = t.read_val(arg)?;
    if pgrp < 0 {
        return Err(Errno::EINVAL);
    }
    let my_sid = t.tg.lock().sid;
    if !is_ctty(t, tty) || tty.ctrl().session != my_sid {
        return Err(Errno::ENOTTY);
    }
    let procs = kernel().procs.lock().unwrap();
    let mut by_pgrp = None;
    let mut by_pid = None;
    let mut in_use = false;
    for g in procs.groups.values() {
        let s = g.lock();
        if s.pgid == pgrp && by_pgrp.is_none() {
            by_pgrp = Some(s.sid);
        }
        if g.tgid == pgrp {
            by_pid = Some(s.sid);
        }
        if s.sid == pgrp || s.pgid == pgrp || g.tgid == pgrp {
            in_use = true;
        }
    }
    let in_use = in_use || procs.tasks.contains_key(&pgrp);
    drop(procs);
    if !in_use {
        return Err(Errno::ESRCH);
    }
    if by_pgrp.or(by_pid) != Some(my_sid) {
        return Err(Errno::EPERM);
    }
    tty.ctrl.lock().unwrap().pgrp = pgrp;
    Ok(0)
}

/// Hang-up of `tty` (its pty master closed): the session's processes lose it as their
/// controlling terminal and the session leader gets SIGHUP and SIGCONT.
pub fn hangup(tty: &Arc<Tty>) {
    let c = std::mem::take(&mut *tty.ctrl.lock().unwrap());
    if c.session == 0 {
        return;
    }
    let mut leader = None;
    {
        let procs = kernel().procs.lock().unwrap();
        for g in procs.groups.values() {
            let mut s = g.lock();
            if s.sid != c.session {
                continue;
            }
            if same(&s.ctty, tty) {
                s.ctty = None;
            }
            if g.tgid == c.session && s.zombie.is_none() {
                leader = Some(g.clone());
            }
        }
    }
    if let Some(l) = leader {
        kill_group(&l, SIGHUP);
        kill_group(&l, SIGCONT);
        set_old_pgrp(l.tgid, (c.pgrp != 0).then_some(c.pgrp));
    }
}

/// Runs `f` now unless the process table is locked (a file can be closed while the
/// exit path holds it), then on a thread of its own.
pub fn run_unlocked(f: impl FnOnce() + Send + 'static) {
    let free = kernel().procs.try_lock().is_ok();
    if free {
        f();
    } else {
        let _ = std::thread::Builder::new()
            .name("tty-hangup".into())
            .spawn(f);
    }
}
