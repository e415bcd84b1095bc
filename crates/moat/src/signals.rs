//! Signals moat's CLI receives while it stands for a container process (foreground
//! `run`, `exec`): forwarded, as runc forwards them.

use std::os::fd::RawFd;

const FORWARDED: [i32; 12] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGWINCH,
    libc::SIGCONT,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
];

fn set() -> libc::sigset_t {
    // SAFETY: building a signal set in a local.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut s);
        for &sig in &FORWARDED {
            libc::sigaddset(&mut s, sig);
        }
        s
    }
}

/// Blocks the forwarded signals in this thread (and threads it spawns later) and hands
/// each one that arrives to `f`. SIGWINCH copies moat's window size to `master` first.
pub fn forward(master: Option<RawFd>, f: impl Fn(i32) + Send + 'static) {
    let s = set();
    // SAFETY: blocking signals in the calling thread.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &s, std::ptr::null_mut()) };
    std::thread::spawn(move || loop {
        // SAFETY: sigwaitinfo on a set blocked in every thread.
        let sig = unsafe { libc::sigwaitinfo(&s, std::ptr::null_mut()) };
        if sig <= 0 {
            continue;
        }
        if sig == libc::SIGWINCH {
            if let (Some(m), Some(ws)) = (master, crate::console::winsize(0)) {
                // SAFETY: TIOCSWINSZ on the master we proxy, with a local struct.
                unsafe { libc::ioctl(m, libc::TIOCSWINSZ, &ws) };
                continue;
            }
        }
        f(sig);
    });
}

/// Forwards to the host process `pid` (a sandbox process, which passes them on to init).
pub fn forward_to(pid: i32, master: Option<RawFd>) {
    forward(master, move |sig| {
        // The sandbox process passes on only what its kernel forwards; stop signals
        // would stop the sandbox process itself.
        let passes = [
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGTERM,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGWINCH,
        ];
        if passes.contains(&sig) {
            // SAFETY: plain kill.
            unsafe { libc::kill(pid, sig) };
        }
    });
}
