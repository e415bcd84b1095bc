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
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, OnceLock};

pub struct Console {
    pub tty: Arc<Tty>,
    /// A host fd of the terminal (for /dev/tty and /dev/console).
    pub fd: Arc<OwnedFd>,
    /// The terminal's host device number, to recognize imported fds of it.
    rdev: u64,
}

static CONSOLE: OnceLock<Console> = OnceLock::new();

fn host_rdev(fd: i32) -> Option<u64> {
    // SAFETY: plain host call with a valid out pointer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return None;
    }
    Some(st.st_rdev)
}

/// Makes host fd `fd` the console if it is a terminal and there is none yet.
pub fn init_from(fd: i32) -> bool {
    // SAFETY: plain host calls on a fd of ours.
    if unsafe { libc::isatty(fd) } != 1 || CONSOLE.get().is_some() {
        return false;
    }
    let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if d < 0 {
        return false;
    }
    // SAFETY: a fresh fd we own.
    let owned = unsafe { OwnedFd::from_raw_fd(d) };
    let Some(rdev) = host_rdev(d) else {
        return false;
    };
    CONSOLE
        .set(Console {
            tty: Tty::new(Kind::Console),
            fd: Arc::new(owned),
            rdev,
        })
        .is_ok()
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
pub fn get() -> Option<&'static Console> {
    CONSOLE.get()
}

/// The console's terminal if host fd `fd` is (a file of) the console.
pub fn of_host_fd(fd: i32) -> Option<Arc<Tty>> {
    let c = CONSOLE.get()?;
    if host_rdev(fd)? == c.rdev && c.fd.as_raw_fd() >= 0 {
        Some(c.tty.clone())
    } else {
        None
    }
}

/// The sandbox's first process (a session leader) starts with the console as its
/// controlling terminal and its group in the foreground, as a program started from
/// a shell's prompt.
pub fn attach_first(tg: &ThreadGroup) {
    let Some(c) = CONSOLE.get() else { return };
    let mut s = tg.lock();
    *c.tty.ctrl.lock().unwrap() = super::Ctrl {
        session: s.sid,
        pgrp: s.pgid,
    };
    s.ctty = Some(c.tty.clone());
}

/// The sandbox's first process stopped (^Z, or a stop signal): on a console the whole
/// sandbox stops with the same signal, so the host shell sees its job stop; the
/// SIGCONT that later continues it is forwarded (`forward`).
pub fn first_stopped(sig: u32) {
    if CONSOLE.get().is_none() {
        return;
    }
    let sig = sig as i32;
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
