//! The CLI's side of the kernel's confinement (docs/security.md).
//!
//! `moat do` and `moat boot` do not run the kernel in the process their caller started.
//! That process (the *monitor*) unshares a pid namespace and forks: the child — pid 1 of
//! the new namespace, in its own mount (private), ipc and uts namespaces — runs the
//! kernel, which confines itself (kernel::confine). The monitor stays outside with
//! nothing but its stdio and a channel to the child; it
//! - forwards the signals the kernel passes on to init (SIGHUP, SIGINT, SIGQUIT,
//!   SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH), except those a terminal sent to the whole
//!   process group (the kernel gets those itself);
//! - writes the container's status (running, paused, stopped and init's exit status)
//!   to state.json when the kernel, which has no host paths any more, asks over the
//!   channel; only those two fields, never the pid;
//! - stops itself when the kernel says the sandbox's job stopped (the kernel, init of its
//!   pid namespace, cannot stop by its own signal), and prints a kernel panic with its
//!   backtrace symbolized (the kernel cannot read its executable);
//! - when the kernel is gone: logs a seccomp kill ("sandbox killed by seccomp (SIGSYS)")
//!   to stderr, --log and the debug log, marks the container stopped, removes the
//!   control socket, and exits as init did (or as the kernel died).
//!
//! The monitor's pid is the container's pid on the host (state.json, --pid-file): a
//! shim that reaps it sees init's exit. If the monitor is killed, the kernel gets
//! SIGKILL (parent-death signal), and with it every process of its pid namespace.

use crate::state::Dir;
use crate::Global;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// Which command is confined.
pub enum Kind {
    Do,
    /// `keep`: fds of the caller the sandbox process uses besides stdio (the ready pipe,
    /// the console).
    Boot {
        state_dir: PathBuf,
        keep: Vec<RawFd>,
        console: Option<RawFd>,
    },
}

/// In the kernel process: the channel to the monitor (and one request at a time on it).
static CHANNEL: OnceLock<Mutex<RawFd>> = OnceLock::new();
/// The monitor's pid (the container's pid on the host).
static MONITOR: OnceLock<i32> = OnceLock::new();

fn os_err(what: &str) -> String {
    format!(
        "confining the sandbox: {what}: {}",
        std::io::Error::last_os_error()
    )
}

/// Job-control signals: the monitor passes them on too, and stops only when the kernel
/// says the sandbox's job stopped.
const JOB_CONTROL: [i32; 4] = [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU, libc::SIGCONT];

/// Signals the monitor takes (blocked, read from a signalfd) and passes on: those the
/// kernel forwards to init, and job control.
fn forwarded_set() -> libc::sigset_t {
    crate::signals::sigset(&[&crate::signals::PASSED[..], &JOB_CONTROL[..]].concat())
}

/// Stops the monitor with `sig` (blocked here): pending, then unblocked until the
/// SIGCONT that continues us.
fn stop_self(sig: i32) {
    let one = crate::signals::sigset(&[sig]);
    // SAFETY: a signal to ourselves and our own mask.
    unsafe {
        libc::kill(libc::getpid(), sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
        libc::sigprocmask(libc::SIG_BLOCK, &one, std::ptr::null_mut());
    }
}

/// Splits into monitor and kernel process; returns in the kernel process only. Must be
/// called while the process has a single thread.
pub fn enter(g: &Global, kind: Kind) -> Result<(), String> {
    let mut sv = [0i32; 2];
    // SAFETY: socketpair into a local array.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            sv.as_mut_ptr(),
        )
    } != 0
    {
        return Err(os_err("socketpair"));
    }
    // SAFETY: fresh fds.
    let (mon, ker) = unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) };
    let set = forwarded_set();
    // SAFETY: getpid has no arguments.
    let monitor_pid = unsafe { libc::getpid() };
    // SAFETY: plain process calls while single-threaded.
    let pid = unsafe {
        if matches!(kind, Kind::Boot { .. }) {
            // The monitor stands for the container as the sandbox process did: a session
            // of its own (the kernel makes another one for the container's terminal).
            libc::setsid();
        }
        // Signals to forward are blocked from before the fork: none is lost or kills us.
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if libc::unshare(libc::CLONE_NEWPID) != 0 {
            return Err(os_err("new pid namespace"));
        }
        libc::fork()
    };
    if pid < 0 {
        return Err(os_err("fork"));
    }
    if pid > 0 {
        drop(ker);
        monitor(g, kind, pid, mon)
    }
    drop(mon);
    // The kernel holds only what it opens itself (docs/security.md): of the caller's fds
    // it keeps stdio (and for boot the ready pipe and the console).
    let mut keep = vec![ker.as_raw_fd()];
    if let Kind::Boot { keep: k, .. } = &kind {
        keep.extend(k.iter().copied());
    }
    close_fds_except(&keep);
    // SAFETY: plain process calls in the (single-threaded) kernel process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        // The monitor may have died before the parent-death signal was armed.
        let mut b = 0u8;
        let r = libc::recv(
            ker.as_raw_fd(),
            &mut b as *mut u8 as *mut _,
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        );
        if r == 0 {
            libc::_exit(1);
        }
        // The forwarded signals stay blocked: the kernel takes them with sigwaitinfo.
        if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS) != 0 {
            return Err(os_err("new mount, ipc and uts namespaces"));
        }
        // Nothing mounted here propagates to the host (and pivot_root needs it).
        if libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(os_err("private mounts"));
        }
    }
    let _ = MONITOR.set(monitor_pid);
    let _ = CHANNEL.set(Mutex::new(ker.as_raw_fd()));
    std::mem::forget(ker);
    kernel::confine::set_stop_hook(stop_monitor);
    kernel::confine::request(kernel::confine::Request {
        network_host: g.network == "host",
    });
    Ok(())
}

/// Closes every fd from 3 up but those in `keep`.
fn close_fds_except(keep: &[RawFd]) {
    let mut k: Vec<RawFd> = keep.iter().copied().filter(|&f| f > 2).collect();
    k.sort_unstable();
    let mut from = 3;
    for f in k {
        if f > from {
            // SAFETY: closing fds of our own that nothing in this process uses.
            unsafe { libc::syscall(libc::SYS_close_range, from, f - 1, 0) };
        }
        from = f + 1;
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0) };
}

/// The container's pid on the host: the monitor when confined, else this process.
pub fn sandbox_pid() -> i32 {
    match MONITOR.get() {
        Some(&p) if p > 0 => p,
        // SAFETY: getpid has no arguments.
        _ => unsafe { libc::getpid() },
    }
}

/// Records the container's status (and init's exit status): through the monitor when
/// confined (the kernel has no host paths), else directly.
pub fn save_state(dir: &Dir, st: &crate::state::State) -> Result<(), String> {
    let Some(ch) = CHANNEL.get() else {
        return dir.save(st);
    };
    let fd = ch.lock().unwrap();
    let msg = match st.exit_status {
        Some(ws) => format!("status {} {ws}", st.status),
        None => format!("status {}", st.status),
    };
    match ask(*fd, &msg)?.as_str() {
        "ok" => Ok(()),
        e => Err(e.to_string()),
    }
}

/// One request to the monitor and its reply (the caller holds the channel's lock).
fn ask(fd: RawFd, msg: &str) -> Result<String, String> {
    let mut b = [0u8; 256];
    // SAFETY: one packet out, one back, on our socket.
    let n = unsafe {
        if libc::write(fd, msg.as_ptr() as *const _, msg.len()) < 0 {
            return Err(os_err("telling the monitor"));
        }
        libc::read(fd, b.as_mut_ptr() as *mut _, b.len())
    };
    if n <= 0 {
        return Err("the monitor is gone".into());
    }
    Ok(String::from_utf8_lossy(&b[..n as usize]).into_owned())
}

/// In a confined kernel: hands a panic message and the raw return addresses of the
/// panicking thread to the monitor, which symbolizes and prints them (true). False when
/// not confined: the caller prints the backtrace itself.
pub fn report_panic(msg: &str) -> bool {
    let Some(ch) = CHANNEL.get() else {
        return false;
    };
    let Ok(fd) = ch.try_lock() else {
        // A confined kernel cannot symbolize a backtrace itself.
        eprintln!("moat: kernel panic: {msg}\n(no backtrace: the monitor channel is busy)");
        return true;
    };
    let mut m = format!("panic {}\n", msg.replace('\n', " "));
    backtrace::trace(|f| {
        m.push_str(&format!("{:x} ", f.ip() as usize));
        m.len() < MAX_PACKET - 32
    });
    m.truncate(MAX_PACKET);
    if ask(*fd, &m).is_err() {
        eprintln!("moat: kernel panic: {msg}");
    }
    true
}

/// Asks the monitor to stop with `sig` (the sandbox's job stops on the host).
fn stop_monitor(sig: i32) {
    let Some(ch) = CHANNEL.get() else { return };
    let fd = ch.lock().unwrap();
    let m = format!("stop {sig}");
    let _ = ask(*fd, &m);
}

/// The largest message on the channel.
const MAX_PACKET: usize = 32 << 10;

/// "panic MESSAGE\nIP IP ...": prints the kernel's panic with its backtrace resolved
/// here (the kernel is a fork of this process: the same code at the same addresses).
fn print_panic(g: &Global, m: &str) {
    let (text, ips) = m.split_once('\n').unwrap_or((m, ""));
    let mut out = format!("moat: kernel panic: {text}\nstack backtrace:\n");
    for (i, ip) in ips
        .split_whitespace()
        .filter_map(|x| usize::from_str_radix(x, 16).ok())
        .enumerate()
    {
        let mut named = false;
        backtrace::resolve(ip as *mut std::ffi::c_void, |sym| {
            let name = sym
                .name()
                .map(|n| format!("{n:#}"))
                .unwrap_or_else(|| "<unknown>".into());
            out.push_str(&format!("{i:>4}: {name}\n"));
            if let (Some(f), Some(l)) = (sym.filename(), sym.lineno()) {
                out.push_str(&format!("             at {}:{l}\n", f.display()));
            }
            named = true;
        });
        if !named {
            out.push_str(&format!("{i:>4}: {ip:#x}\n"));
        }
    }
    eprint!("{out}");
    if let Some(p) = &g.opts.debug_log {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(p) {
            let _ = f.write_all(out.as_bytes());
        }
    }
}

/// The monitor: never returns (see the module documentation).
fn monitor(g: &Global, kind: Kind, child: i32, chan: OwnedFd) -> ! {
    let c = chan.as_raw_fd();
    let set = forwarded_set();
    if let Kind::Boot {
        console: Some(t), ..
    } = &kind
    {
        // Like the sandbox process, the monitor's stdio is the container's terminal: the
        // caller's stdio (a shim's output pipe) must not stay open here.
        for fd in 0..3 {
            // SAFETY: plain dup2 of our own fd.
            unsafe { libc::dup2(*t, fd) };
        }
    }
    // Nothing but stdio and the channel: the ready pipe, a console, everything the
    // kernel holds is the kernel's alone.
    close_fds_except(&[c]);
    // SAFETY: a signalfd for signals blocked since before the fork.
    let sfd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC) };
    let dir = match &kind {
        Kind::Boot { state_dir, .. } => Some(Dir {
            path: state_dir.clone(),
        }),
        Kind::Do => None,
    };
    let mut stopped: Option<i32> = None;
    let mut chan_open = true;
    let mut stop_with = 0;
    while chan_open {
        let mut p = [
            libc::pollfd {
                fd: sfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: c,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        if unsafe { libc::poll(p.as_mut_ptr(), 2, -1) } < 0 {
            continue;
        }
        if p[0].revents & libc::POLLIN != 0 {
            // SAFETY: reading one siginfo record from our signalfd.
            let mut si: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let n = unsafe {
                libc::read(
                    sfd,
                    &mut si as *mut _ as *mut _,
                    std::mem::size_of::<libc::signalfd_siginfo>(),
                )
            };
            // `moat do`: the kernel is in the monitor's process group, so what a terminal
            // or the shell's job control sends the group reaches it directly; stop
            // signals are not passed on (the kernel stops the sandbox and then asks us
            // to stop: passing them on would stop the job twice).
            let sig = si.ssi_signo as i32;
            let from_tty = si.ssi_code == libc::SI_KERNEL;
            let stop = [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU].contains(&sig);
            if n > 0 && !((from_tty || stop) && matches!(kind, Kind::Do)) {
                // SAFETY: plain kill of our child.
                unsafe { libc::kill(child, si.ssi_signo as i32) };
            }
        }
        if p[1].revents != 0 {
            let mut b = vec![0u8; MAX_PACKET];
            // SAFETY: one packet into a local buffer.
            let n = unsafe { libc::recv(c, b.as_mut_ptr() as *mut _, b.len(), 0) };
            if n <= 0 {
                chan_open = n < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
                continue;
            }
            let msg = String::from_utf8_lossy(&b[..n as usize]).into_owned();
            let reply = match (&dir, status_message(&msg)) {
                _ if msg.starts_with("stop ") => {
                    let sig = msg["stop ".len()..].parse().unwrap_or(0);
                    if [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU, libc::SIGSTOP].contains(&sig) {
                        stop_with = sig;
                    }
                    Ok("ok".to_string())
                }
                _ if msg.starts_with("panic ") => {
                    print_panic(g, &msg["panic ".len()..]);
                    Ok("ok".to_string())
                }
                (Some(d), Some((status, ws))) => {
                    if status == "stopped" {
                        stopped = ws;
                    }
                    set_status(d, status, ws).map(|_| "ok".to_string())
                }
                _ => Err(format!("bad request {msg:?}")),
            };
            let r = reply.unwrap_or_else(|e| e);
            // SAFETY: one packet on our socket.
            unsafe { libc::send(c, r.as_ptr() as *const _, r.len(), libc::MSG_NOSIGNAL) };
            if stop_with != 0 {
                // The host shell sees its job stop; its SIGCONT continues us and the
                // kernel (the same process group), which continues the sandbox.
                stop_self(stop_with);
                stop_with = 0;
            }
        }
    }
    let mut ws = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(child, &mut ws, 0) } < 0
        && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
    {}
    let killed_by = libc::WIFSIGNALED(ws).then(|| libc::WTERMSIG(ws));
    if killed_by == Some(libc::SIGSYS) {
        let msg =
            "sandbox killed by seccomp (SIGSYS): the kernel made a host call outside its allowlist";
        eprintln!("moat: {msg}");
        crate::log_error(g, msg);
        if let Some(p) = &g.opts.debug_log {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(p) {
                let _ = writeln!(f, "moat: {msg}");
            }
        }
    }
    if let Some(d) = &dir {
        if stopped.is_none() && killed_by.is_some() {
            // The kernel died without reporting init's exit: the container is stopped,
            // with the kernel's death as its status.
            let _ = set_status(d, "stopped", Some(ws & 0x7f));
            stopped = Some(ws & 0x7f);
        }
        let _ = std::fs::remove_file(d.socket());
    }
    // Exit as init did when the kernel said so (it cannot die of a signal itself: it is
    // the init of its pid namespace), else as the kernel did.
    let ws = stopped.unwrap_or(ws);
    let st = if libc::WIFSIGNALED(ws) {
        kernel::task::ExitStatus::Signaled(libc::WTERMSIG(ws) as u32, false)
    } else {
        kernel::task::ExitStatus::Exited(libc::WEXITSTATUS(ws))
    };
    crate::boot::exit_like(st)
}

/// "status NAME [WSTATUS]" from the kernel; only the statuses a container can take.
fn status_message(m: &str) -> Option<(&str, Option<i32>)> {
    let mut w = m.split(' ');
    if w.next()? != "status" {
        return None;
    }
    let s = w.next()?;
    if !["created", "running", "paused", "stopped"].contains(&s) {
        return None;
    }
    let ws = match w.next() {
        Some(x) => Some(x.parse().ok()?),
        None => None,
    };
    Some((s, ws))
}

/// Updates status and exit status in state.json (nothing else the kernel could name).
fn set_status(d: &Dir, status: &str, ws: Option<i32>) -> Result<(), String> {
    let mut st = d.load()?;
    st.status = status.to_string();
    if ws.is_some() {
        st.exit_status = ws;
    }
    d.save(&st)
}

/// Host pids of processes of the sandbox whose monitor is `monitor`, given their pids in
/// the sandbox's pid namespace (the kernel knows only those); unknown ones are dropped.
pub fn host_pids(monitor: i32, ns_pids: &[i32]) -> Vec<i32> {
    let Some(kernel) = std::fs::read_to_string(format!("/proc/{monitor}/task/{monitor}/children"))
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|p| p.parse::<i32>().ok())
        })
    else {
        return ns_pids.to_vec();
    };
    let Ok(ns) = std::fs::read_link(format!("/proc/{kernel}/ns/pid")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if std::fs::read_link(e.path().join("ns/pid")).ok().as_ref() != Some(&ns) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let inner = status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|p| p.parse::<i32>().ok());
        if inner.is_some_and(|p| ns_pids.contains(&p)) {
            out.push(pid);
        }
    }
    out
}
