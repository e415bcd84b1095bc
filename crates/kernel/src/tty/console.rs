//! The console: the host terminal the sandbox runs on (`moat do` in an interactive
//! terminal, or the pty of an OCI container with process.terminal). Its line discipline
//! is the host's (termios requests are forwarded to it); job control is the kernel's:
//! the console is the controlling terminal of the sandbox's first session, the
//! foreground process group is tracked here, and the signals the host terminal raises
//! for ^C, ^\, ^Z and window changes (which reach the kernel process, the host's
//! foreground) are forwarded to the sandbox's foreground process group.

use super::{jobctl, Kind, Tty};
use crate::task::ThreadGroup;
use abi::signal::*;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// A host terminal imported into the sandbox (as some process's stdio). Each has its
/// own job-control state; the console is the one the kernel process itself runs on.
pub struct HostTerm {
    pub tty: Arc<Tty>,
    /// A host fd of the terminal (for /dev/tty and /dev/console).
    pub fd: Arc<OwnedFd>,
    /// The terminal's host device number, to recognize imported fds of it.
    rdev: u64,
}

/// Every host terminal with a file in the sandbox (a terminal goes with its last file,
/// so the sandbox keeps no host terminal open that it no longer uses).
static TERMS: Mutex<Vec<Weak<HostTerm>>> = Mutex::new(Vec::new());
static CONSOLE: OnceLock<Arc<HostTerm>> = OnceLock::new();

fn host_rdev(fd: i32) -> Option<u64> {
    // SAFETY: plain host call with a valid out pointer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return None;
    }
    Some(st.st_rdev)
}

/// The host terminal behind host fd `fd` (None if it is no terminal).
fn term_of(fd: i32) -> Option<Arc<HostTerm>> {
    // SAFETY: plain host call.
    if unsafe { libc::isatty(fd) } != 1 {
        return None;
    }
    let rdev = host_rdev(fd)?;
    let mut g = TERMS.lock().unwrap();
    g.retain(|w| w.strong_count() > 0);
    if let Some(t) = g
        .iter()
        .filter_map(|w| w.upgrade())
        .find(|t| t.rdev == rdev)
    {
        return Some(t);
    }
    // SAFETY: duplicating a host fd of ours.
    let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if d < 0 {
        return None;
    }
    // SAFETY: a fresh fd we own.
    let fd = Arc::new(unsafe { OwnedFd::from_raw_fd(d) });
    let t = Arc::new_cyclic(|w| HostTerm {
        tty: Tty::new(Kind::Host(w.clone())),
        fd,
        rdev,
    });
    g.push(Arc::downgrade(&t));
    Some(t)
}

/// Makes host fd `fd` the console if it is a terminal and there is none yet.
pub fn init_from(fd: i32) -> bool {
    if CONSOLE.get().is_some() {
        return false;
    }
    match term_of(fd) {
        Some(t) => CONSOLE.set(t).is_ok(),
        None => false,
    }
}

/// The first terminal among the host's stdin, stdout and stderr becomes the console.
pub fn init_from_stdio() {
    for fd in 0..3 {
        if init_from(fd) {
            return;
        }
    }
}

/// The console, if the sandbox has one.
pub fn get() -> Option<&'static Arc<HostTerm>> {
    CONSOLE.get()
}

/// Is `tty` the console?
pub fn is_console(tty: &Arc<Tty>) -> bool {
    CONSOLE.get().is_some_and(|c| Arc::ptr_eq(&c.tty, tty))
}

/// The terminal of host fd `fd`, if it is a host terminal.
pub fn of_host_fd(fd: i32) -> Option<Arc<HostTerm>> {
    term_of(fd)
}

/// A process made from outside the sandbox (a session leader) starts with the terminal
/// of its stdio (host fds) as its controlling terminal and its group in the foreground,
/// as a program started from a shell's prompt; unless another session has it.
pub fn attach_first(tg: &ThreadGroup, stdio: &[i32]) {
    let Some(t) = stdio
        .iter()
        .find_map(|&fd| if fd >= 0 { term_of(fd) } else { None })
    else {
        return;
    };
    let mut s = tg.lock();
    if s.sid != tg.tgid || s.ctty.is_some() {
        return;
    }
    let mut c = t.tty.ctrl.lock().unwrap();
    if c.session != 0 {
        return;
    }
    *c = super::Ctrl {
        session: s.sid,
        pgrp: s.pgid,
    };
    s.ctty = Some(t.tty.clone());
}

/// The sandbox's first process stopped (^Z, or a stop signal): on a console the whole
/// sandbox stops with the same signal, so the host shell sees its job stop; the
/// SIGCONT that later continues it is forwarded (`forward`).
pub fn first_stopped(sig: u32) {
    if CONSOLE.get().is_none() {
        return;
    }
    let sig = sig as i32;
    if crate::confine::stop_via_monitor(sig) {
        return;
    }
    // A thread of its own, where the signal is not blocked, takes it (the process
    // blocks SIGTSTP for the forwarder): the default action stops every thread.
    let _ = std::thread::Builder::new()
        .name("stop".into())
        .spawn(move || {
            // SAFETY: plain host calls on the calling thread and process.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, sig);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), sig);
            }
        });
}

/// A host signal reached the kernel process. Signals the host terminal raised (^C, ^\,
/// ^Z, a window change: si_code SI_KERNEL) go to the foreground process group of the
/// console; returns false when the caller should deliver the signal itself.
pub fn forward(sig: i32, code: i32) -> bool {
    let Some(c) = CONSOLE.get() else { return false };
    if sig == libc::SIGCONT {
        // The host shell continued the sandbox: continue its first process's group.
        let first = crate::kernel().procs.lock().unwrap().group(1);
        if let Some(g) = first {
            let pg = g.lock().pgid;
            jobctl::kill_pgrp(pg, SIGCONT);
        }
        return true;
    }
    let terminal = matches!(
        sig,
        libc::SIGINT | libc::SIGQUIT | libc::SIGTSTP | libc::SIGWINCH
    );
    if !terminal || code != SI_KERNEL {
        return false;
    }
    let pg = c.tty.ctrl().pgrp;
    if pg <= 0 {
        return false;
    }
    jobctl::kill_pgrp(pg, sig as u32);
    true
}
