//! Signals: pending queues, dispositions, sending, and delivery through Linux's x86-64
//! rt_sigframe.

use crate::kernel;
use crate::task::{ChildEvent, ExitStatus, Task, ThreadGroup};
use abi::signal::*;
use abi::Errno;
use std::sync::{Arc, Mutex};

/// Pending signals: a set, plus the queued siginfo of each (real-time signals queue;
/// standard signals coalesce).
#[derive(Default, Clone)]
pub struct SigQueue {
    set: u64,
    queue: Vec<SigInfo>,
}

impl SigQueue {
    pub fn set(&self) -> u64 {
        self.set
    }
    pub fn push(&mut self, info: SigInfo) {
        let sig = info.signo as u32;
        if sig < SIGRTMIN && self.set & sigbit(sig) != 0 {
            return;
        }
        self.set |= sigbit(sig);
        self.queue.push(info);
    }
    /// Takes the first queued instance of `sig`. POSIX timer signals go through their
    /// timer on the way out (overrun count, re-arming; a stale one is dropped).
    pub fn take(&mut self, sig: u32) -> Option<SigInfo> {
        loop {
            let i = self.queue.iter().position(|q| q.signo as u32 == sig)?;
            let mut info = self.queue.remove(i);
            if !self.queue.iter().any(|q| q.signo as u32 == sig) {
                self.set &= !sigbit(sig);
            }
            if info._pad == crate::timers::TIMER_MARK {
                info._pad = 0;
                if !crate::timers::dequeued(&mut info) {
                    continue;
                }
            }
            return Some(info);
        }
    }
    /// Takes the next signal among `allowed` (see `next`), if any.
    pub fn take_next(&mut self, allowed: u64) -> Option<SigInfo> {
        while let Some(sig) = self.next(allowed) {
            if let Some(i) = self.take(sig) {
                return Some(i);
            }
        }
        None
    }
    /// Removes every instance of the signals in `mask` (a POSIX timer whose signal goes
    /// runs on as if it had been delivered).
    pub fn discard(&mut self, mask: u64) {
        let mut gone = Vec::new();
        self.queue.retain(|q| {
            let keep = mask & sigbit(q.signo as u32) == 0;
            if !keep && q._pad == crate::timers::TIMER_MARK {
                gone.push(*q);
            }
            keep
        });
        self.set &= !mask;
        for mut info in gone {
            crate::timers::dequeued(&mut info);
        }
    }
    /// The signal to deliver next among `allowed`: synchronous faults first, then lowest.
    pub fn next(&self, allowed: u64) -> Option<u32> {
        let cand = self.set & allowed;
        if cand == 0 {
            return None;
        }
        let sync = sigbit(SIGSEGV)
            | sigbit(SIGBUS)
            | sigbit(SIGILL)
            | sigbit(SIGTRAP)
            | sigbit(SIGFPE)
            | sigbit(SIGSYS);
        let c = if cand & sync != 0 { cand & sync } else { cand };
        Some(c.trailing_zeros() + 1)
    }
}

/// Signal dispositions, shared by CLONE_SIGHAND.
pub struct SigHand {
    pub actions: Mutex<[KSigaction; 64]>,
}

impl SigHand {
    pub fn new() -> Arc<SigHand> {
        Arc::new(SigHand {
            actions: Mutex::new([KSigaction::default(); 64]),
        })
    }
    pub fn copy(&self) -> Arc<SigHand> {
        Arc::new(SigHand {
            actions: Mutex::new(*self.actions.lock().unwrap()),
        })
    }
    pub fn get(&self, sig: u32) -> KSigaction {
        self.actions.lock().unwrap()[(sig - 1) as usize]
    }
    /// At execve: handled signals revert to SIG_DFL; ignored stay ignored.
    pub fn reset_for_exec(&self) {
        for a in self.actions.lock().unwrap().iter_mut() {
            if a.handler != SIG_IGN {
                *a = KSigaction::default();
            } else {
                a.flags = 0;
                a.mask = 0;
                a.restorer = 0;
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum DefaultAction {
    Terminate,
    Core,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::Core,
        _ => DefaultAction::Terminate,
    }
}

fn is_ignored(t: &Task, sig: u32) -> bool {
    let a = t.sighand().get(sig);
    a.handler == SIG_IGN || (a.handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
}

/// Whether a signal sent to `tg` now would be dropped as ignored (not blocked by every
/// thread, and ignored).
pub fn group_ignores(tg: &Arc<ThreadGroup>, sig: u32) -> bool {
    if sig == 0 || sig > NSIG {
        return true;
    }
    let threads = kernel().procs.lock().unwrap().threads_of(tg);
    let Some(first) = threads.first() else {
        return true;
    };
    let blocked_by_all = threads
        .iter()
        .all(|t| t.sig.lock().unwrap().mask & sigbit(sig) != 0);
    is_ignored(first, sig) && !blocked_by_all
}

/// Sends `info` to the whole thread group of `leader` (kill, sigqueue, SIGCHLD, timers).
pub fn send_to_group(tg: &Arc<ThreadGroup>, info: SigInfo) {
    let sig = info.signo as u32;
    if sig == 0 || sig > NSIG {
        return;
    }
    let threads = kernel().procs.lock().unwrap().threads_of(tg);
    let Some(first) = threads.first().cloned() else {
        return;
    };
    {
        let mut s = tg.lock();
        if s.zombie.is_some() || s.group_exit.is_some() {
            return;
        }
        if sig == SIGKILL {
            s.group_exit = Some(ExitStatus::Signaled(SIGKILL, false));
            s.stopped = false;
            drop(s);
            for t in &threads {
                t.kick();
            }
            tg.stop_wait.notify_all();
            return;
        }
        if sig == SIGCONT {
            s.shared_pending
                .discard(sigbit(SIGSTOP) | sigbit(SIGTSTP) | sigbit(SIGTTIN) | sigbit(SIGTTOU));
            for t in &threads {
                t.sig
                    .lock()
                    .unwrap()
                    .pending
                    .discard(sigbit(SIGSTOP) | sigbit(SIGTSTP) | sigbit(SIGTTIN) | sigbit(SIGTTOU));
            }
            if s.stopped {
                s.stopped = false;
                s.child_event = Some(ChildEvent::Continued);
                let parent = s.parent;
                drop(s);
                tg.stop_wait.notify_all();
                notify_parent_cont(parent, tg.tgid);
                s = tg.lock();
            }
        }
        if default_action(sig) == DefaultAction::Stop {
            s.shared_pending.discard(sigbit(SIGCONT));
        }
        // Signals ignored (and not blocked by every thread) are dropped at once.
        let blocked_by_all = threads
            .iter()
            .all(|t| t.sig.lock().unwrap().mask & sigbit(sig) != 0);
        if is_ignored(&first, sig) && !blocked_by_all {
            return;
        }
        s.shared_pending.push(info);
    }
    crate::fs::signalfd::notify(tg.tgid);
    // Wake a thread that can take it.
    let target = threads
        .iter()
        .find(|t| t.sig.lock().unwrap().mask & sigbit(sig) == 0)
        .unwrap_or(&first);
    target.kick();
}

fn notify_parent_cont(parent: i32, child: i32) {
    let p = kernel().procs.lock().unwrap().group(parent);
    if let Some(p) = p {
        p.child_wait.notify_all();
        let flags = {
            let threads = kernel().procs.lock().unwrap().threads_of(&p);
            threads
                .first()
                .map(|t| t.sighand().get(SIGCHLD).flags)
                .unwrap_or(0)
        };
        if flags & SA_NOCLDSTOP == 0 {
            let mut info = SigInfo::new(SIGCHLD, CLD_CONTINUED);
            info.set_pid_uid(child, 0);
            info.fields[1] = SIGCONT as u64;
            send_to_group(&p, info);
        }
    }
}

/// Sends `info` to one thread (tkill, tgkill, faults).
pub fn send_to_task(t: &Arc<Task>, info: SigInfo) {
    let sig = info.signo as u32;
    if sig == 0 || sig > NSIG {
        return;
    }
    if sig == SIGKILL || sig == SIGCONT {
        send_to_group(&t.tg, info);
        return;
    }
    {
        let tg = t.tg.lock();
        if tg.group_exit.is_some() {
            return;
        }
    }
    let blocked = t.sig.lock().unwrap().mask & sigbit(sig) != 0;
    if is_ignored(t, sig) && !blocked {
        return;
    }
    if default_action(sig) == DefaultAction::Stop {
        t.tg.lock().shared_pending.discard(sigbit(SIGCONT));
    }
    t.sig.lock().unwrap().pending.push(info);
    crate::fs::signalfd::notify(t.tgid());
    t.kick();
}

/// A synchronous fault: the signal is forced (unblocked and, if ignored, reset to default),
/// as Linux's force_sig_fault does.
pub fn force_fault(t: &Arc<Task>, sig: u32, code: i32, addr: u64) {
    let mut info = SigInfo::new(sig, code);
    info.fields[0] = addr;
    {
        let sh = t.sighand();
        let mut acts = sh.actions.lock().unwrap();
        let a = &mut acts[(sig - 1) as usize];
        let blocked = t.sig.lock().unwrap().mask & sigbit(sig) != 0;
        if a.handler == SIG_IGN || blocked {
            a.handler = SIG_DFL;
        }
    }
    let mut s = t.sig.lock().unwrap();
    s.mask &= !sigbit(sig);
    s.pending.push(info);
}

/// SIGPIPE for a write to a pipe or socket with no reader.
pub fn send_sigpipe(t: &Task) {
    let tt = kernel().procs.lock().unwrap().task(t.tid);
    if let Some(tt) = tt {
        let mut info = SigInfo::new(SIGPIPE, SI_USER);
        info.set_pid_uid(t.tgid(), 0);
        send_to_task(&tt, info);
    }
}

/// A signal chosen for delivery, removed from its queue.
pub struct Delivery {
    pub info: SigInfo,
    pub action: KSigaction,
}

/// Dequeues the next deliverable signal of `t`, acting on default actions that need no
/// handler (ignore, stop, continue are handled here; terminate is returned as Err).
pub enum Next {
    None,
    Handler(Delivery),
    /// The process must die of this status.
    Die(ExitStatus),
    /// The group was stopped; the caller waits for SIGCONT.
    Stopped,
}

pub fn dequeue(t: &Task) -> Next {
    loop {
        let mask = t.sig.lock().unwrap().mask;
        let allowed = !mask | UNBLOCKABLE;
        let info = {
            let mut tg = t.tg.lock();
            if let Some(st) = tg.group_exit {
                return Next::Die(st);
            }
            let mut s = t.sig.lock().unwrap();
            match s.pending.take_next(allowed) {
                Some(i) => Some(i),
                None => {
                    drop(s);
                    tg.shared_pending.take_next(allowed)
                }
            }
        };
        let Some(info) = info else { return Next::None };
        let sig = info.signo as u32;
        let action = t.sighand().get(sig);
        if action.handler == SIG_IGN && sig != SIGKILL && sig != SIGSTOP {
            continue;
        }
        if action.handler != SIG_DFL && sig != SIGKILL && sig != SIGSTOP {
            return Next::Handler(Delivery { info, action });
        }
        match default_action(sig) {
            DefaultAction::Ignore | DefaultAction::Continue => continue,
            DefaultAction::Stop => {
                // An orphaned process group ignores the terminal's stop signals: no shell
                // is left to continue it.
                let pgid = t.tg.lock().pgid;
                if sig != SIGSTOP && crate::tty::jobctl::pgrp_orphaned(pgid) {
                    continue;
                }
                do_group_stop(t, sig);
                return Next::Stopped;
            }
            DefaultAction::Terminate => return Next::Die(ExitStatus::Signaled(sig, false)),
            // The status shows a core dump only when one could be written (RLIMIT_CORE).
            DefaultAction::Core => return Next::Die(ExitStatus::Signaled(sig, t.rlimit(4).0 != 0)),
        }
    }
}

fn do_group_stop(t: &Task, sig: u32) {
    let parent = {
        let mut tg = t.tg.lock();
        if tg.stopped {
            return;
        }
        tg.stopped = true;
        tg.child_event = Some(ChildEvent::Stopped(sig));
        tg.parent
    };
    if t.tgid() == 1 {
        // The sandbox's first process stopped: so does the sandbox, for the host shell.
        crate::tty::console::first_stopped(sig);
    }
    let p = kernel().procs.lock().unwrap().group(parent);
    if let Some(p) = p {
        p.child_wait.notify_all();
        let threads = kernel().procs.lock().unwrap().threads_of(&p);
        let flags = threads
            .first()
            .map(|x| x.sighand().get(SIGCHLD).flags)
            .unwrap_or(0);
        if flags & SA_NOCLDSTOP == 0 {
            let mut info = SigInfo::new(SIGCHLD, CLD_STOPPED);
            info.set_pid_uid(t.tgid(), 0);
            info.fields[1] = sig as u64;
            send_to_group(&p, info);
        }
    }
    // Other threads notice the stop on their next pass through the run loop.
    let threads = kernel().procs.lock().unwrap().threads_of(&t.tg);
    for th in threads {
        if th.tid != t.tid {
            th.kick();
        }
    }
}

/// Checks a user signal number.
pub fn check_sig(sig: u64) -> Result<u32, Errno> {
    if sig > NSIG as u64 {
        Err(Errno::EINVAL)
    } else {
        Ok(sig as u32)
    }
}
