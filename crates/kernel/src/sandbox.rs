//! The sandbox as its manager sees it: start the kernel, spawn processes into it (the
//! container's init, and later `exec`s), and the operations of an OCI runtime on a running
//! sandbox — signal, list processes, freeze/thaw, statistics, wait for exits.
//!
//! Processes spawned from outside have no parent inside the sandbox (ppid 0, like a
//! process `runc exec` puts into a container); their exit status is kept for the caller.

use crate::run::spawn_process_task;
use crate::signal;
use crate::task::{Creds, ExitStatus, Procs, RLIMIT_NLIMITS};
use crate::{kernel, Kernel, Options};
use abi::signal::{SigInfo, SIGKILL, SIGSTOP, SIG_DFL, SI_USER};
use abi::Errno;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Starts the kernel of this process: the memory file, the stub factory, the debug log.
/// Called once, before anything else of the kernel.
pub fn start_kernel(opts: Options, hostname: Option<Vec<u8>>) -> Result<&'static Kernel, String> {
    // Host signals meant for the sandbox are blocked in every kernel thread (the forwarder
    // thread takes them); this must happen before any thread is spawned.
    crate::run::block_forwarded_signals();
    crate::syscalls::time::init();
    let mf = crate::memfile::init().map_err(|e| format!("memory file: {e}"))?;
    let factory = platform::StubFactory::start(mf.fd()).map_err(|e| format!("stub: {e}"))?;
    // Before any other kernel thread exists (the factory's has dropped its capabilities).
    crate::confine::early()?;
    let log = match &opts.debug_log {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("debug log {p}: {e}"))?,
        ),
        None => None,
    };
    let hn = hostname.unwrap_or_else(|| {
        let mut buf = [0u8; 256];
        // SAFETY: valid buffer.
        unsafe { libc::gethostname(buf.as_mut_ptr() as *mut _, 255) };
        buf.iter().take_while(|&&c| c != 0).copied().collect()
    });
    Ok(crate::set_kernel(Kernel {
        opts,
        factory,
        procs: Mutex::new(Procs::new()),
        boot: Instant::now(),
        init_exit: Mutex::new(None),
        init_exit_cv: Condvar::new(),
        hostname: Mutex::new(hn),
        domainname: Mutex::new(b"(none)".to_vec()),
        log: Mutex::new(log),
        ipc: crate::ipc::Ipc::new(),
        outside: Outside::default(),
    }))
}

/// What the sandbox's manager keeps in the kernel: exits of processes it spawned, the
/// freezer, and init's protection from signals.
#[derive(Default)]
pub struct Outside {
    /// Exit statuses of parentless processes (pid → status), until taken by `wait_exit`.
    exits: Mutex<HashMap<i32, ExitStatus>>,
    exits_cv: Condvar,
    /// Paused: no task returns to application code while set.
    frozen: Mutex<bool>,
    frozen_cv: Condvar,
    /// Init ignores signals it has no handler for (a container's pid 1); `moat do` runs
    /// its command as an ordinary process instead.
    pub protect_init: std::sync::atomic::AtomicBool,
}

/// Records the exit of a process that has no parent in the sandbox.
pub(crate) fn note_parentless_exit(tgid: i32, st: ExitStatus) {
    let o = &kernel().outside;
    o.exits.lock().unwrap().insert(tgid, st);
    o.exits_cv.notify_all();
}

/// How to start a process in the sandbox.
pub struct ProcessSpec {
    /// The executable as given (a path, or a name looked up on PATH from `env`).
    pub path: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    pub cwd: String,
    pub creds: Creds,
    pub umask: u32,
    /// (resource, soft, hard); unlisted resources keep the defaults.
    pub rlimits: Vec<(u32, u64, u64)>,
    pub no_new_privs: bool,
    /// Host fds that become the process's fds 0, 1 and 2 (-1: not open).
    pub stdio: [i32; 3],
    /// Whether the process is the sandbox's init (pid 1).
    pub init: bool,
    /// /proc/PID/oom_score_adj (None: 0, or inherited).
    pub oom_score_adj: Option<i32>,
}

/// Finds the executable the way runc does: a name without a slash is looked up on the
/// PATH of the process's environment, inside the sandbox.
pub fn lookup_exec(spec: &ProcessSpec) -> Result<Vec<u8>, Errno> {
    crate::vfs::lookup_exec(&spec.path, &spec.env, &spec.cwd, &spec.creds)
}

/// A process created and ready to run its program; `start` execs it.
pub struct Prepared {
    pub pid: i32,
    go: std::sync::mpsc::Sender<bool>,
    done: std::sync::mpsc::Receiver<Result<(), Errno>>,
}

impl Prepared {
    /// Runs the program (execve). An error means the exec failed and the process is gone.
    pub fn start(self) -> Result<i32, Errno> {
        self.go.send(true).map_err(|_| Errno::ESRCH)?;
        match self.done.recv() {
            Ok(Ok(())) => Ok(self.pid),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Errno::ESRCH),
        }
    }

    /// Abandons the process without running anything.
    pub fn cancel(self) {
        let _ = self.go.send(false);
    }
}

/// Creates a process (pid 1 if `spec.init`) that waits for `Prepared::start`.
pub fn prepare(spec: ProcessSpec) -> Result<Prepared, String> {
    let path = lookup_exec(&spec).map_err(|e| exec_error(&spec.path, e))?;
    let (go_tx, go_rx) = std::sync::mpsc::channel::<bool>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Result<(), Errno>>();
    let pid = spawn_process_task(spec, path, go_rx, done_tx).map_err(|e| format!("spawn: {e}"))?;
    Ok(Prepared {
        pid,
        go: go_tx,
        done: done_rx,
    })
}

/// runc's wording for a failed exec.
pub fn exec_error(path: &[u8], e: Errno) -> String {
    let p = String::from_utf8_lossy(path);
    let text = std::io::Error::from_raw_os_error(e.0).to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    if e == Errno::ENOENT && !path.contains(&b'/') {
        format!("exec: \"{p}\": executable file not found in $PATH")
    } else {
        format!("exec: \"{p}\": {}", text.to_lowercase())
    }
}

/// Waits for init to exit and returns its status.
pub fn wait_init() -> ExitStatus {
    let k = kernel();
    let mut g = k.init_exit.lock().unwrap();
    while g.is_none() {
        g = k.init_exit_cv.wait(g).unwrap();
    }
    g.unwrap()
}

/// The exit status of init, if it has exited.
pub fn init_status() -> Option<ExitStatus> {
    *kernel().init_exit.lock().unwrap()
}

/// Waits for the parentless process `pid` to exit (or the sandbox to end) and takes its
/// status.
pub fn wait_exit(pid: i32) -> ExitStatus {
    if pid == 1 {
        return wait_init();
    }
    let o = &kernel().outside;
    let mut g = o.exits.lock().unwrap();
    loop {
        if let Some(st) = g.remove(&pid) {
            return st;
        }
        if init_status().is_some() && kernel().procs.lock().unwrap().group(pid).is_none() {
            return ExitStatus::Signaled(SIGKILL, false);
        }
        g = o.exits_cv.wait(g).unwrap();
    }
}

/// Wakes `wait_exit` callers (init has gone, so everyone will).
pub(crate) fn wake_exit_waiters() {
    kernel().outside.exits_cv.notify_all();
}

/// Sends `sig` from outside the sandbox to init (`all`: to every process). Init gets
/// only SIGKILL, SIGSTOP and signals it handles, as a container's pid 1 does from its
/// parent namespace. Signal 0 checks that init exists.
pub fn kill(sig: u32, all: bool) -> Result<(), Errno> {
    if sig > 64 {
        return Err(Errno::EINVAL);
    }
    let k = kernel();
    let groups: Vec<_> = {
        let p = k.procs.lock().unwrap();
        if all {
            p.groups.values().cloned().collect()
        } else {
            p.group(1).into_iter().collect()
        }
    };
    let groups: Vec<_> = groups
        .into_iter()
        .filter(|g| g.lock().zombie.is_none())
        .collect();
    if groups.is_empty() {
        return Err(Errno::ESRCH);
    }
    if sig == 0 {
        return Ok(());
    }
    for g in groups {
        if g.tgid == 1 && sig != SIGKILL && sig != SIGSTOP && handler_is_default(&g, sig) {
            continue;
        }
        let mut info = SigInfo::new(sig, SI_USER);
        info.set_pid_uid(0, 0);
        signal::send_to_group(&g, info);
    }
    Ok(())
}

/// Sends `sig` from outside the sandbox to process `pid` (init's protection applies).
pub fn kill_pid(pid: i32, sig: u32) -> Result<(), Errno> {
    if pid == 1 {
        return kill(sig, false);
    }
    if sig > 64 {
        return Err(Errno::EINVAL);
    }
    let g = kernel()
        .procs
        .lock()
        .unwrap()
        .group(pid)
        .filter(|g| g.lock().zombie.is_none())
        .ok_or(Errno::ESRCH)?;
    if sig != 0 {
        let mut info = SigInfo::new(sig, SI_USER);
        info.set_pid_uid(0, 0);
        signal::send_to_group(&g, info);
    }
    Ok(())
}

fn handler_is_default(g: &Arc<crate::task::ThreadGroup>, sig: u32) -> bool {
    let th = kernel().procs.lock().unwrap().threads_of(g);
    match th.first() {
        Some(t) => t.sighand().get(sig).handler == SIG_DFL,
        None => true,
    }
}

/// One process as `ps` shows it.
#[derive(Clone, Debug)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    /// Since the sandbox started.
    pub start: std::time::Duration,
    /// User + system CPU time in ns.
    pub cpu_ns: u64,
    pub state: char,
    pub threads: usize,
    pub cmd: String,
    /// The host process that runs it (its address space's stub).
    pub host_pid: i32,
}

/// The live processes of the sandbox, by pid.
pub fn processes() -> Vec<ProcInfo> {
    let k = kernel();
    let groups: Vec<_> = {
        let p = k.procs.lock().unwrap();
        let mut v: Vec<_> = p.groups.values().cloned().collect();
        v.sort_by_key(|g| g.tgid);
        v
    };
    let mut out = Vec::new();
    for g in groups {
        let (ppid, uid, start, zombie, stopped, nthreads) = {
            let s = g.lock();
            (
                s.parent,
                s.creds.uid,
                s.start,
                s.zombie.is_some(),
                s.stopped,
                s.threads.len(),
            )
        };
        if zombie {
            continue;
        }
        let threads = k.procs.lock().unwrap().threads_of(&g);
        let Some(leader) = threads.iter().find(|t| t.tid == g.tgid).or(threads.first()) else {
            continue;
        };
        let cmd = cmdline_of(leader)
            .unwrap_or_else(|| String::from_utf8_lossy(&leader.comm.lock().unwrap()).into());
        let (u, s) = crate::syscalls::time::group_cpu_ns(&g);
        out.push(ProcInfo {
            pid: g.tgid,
            ppid,
            uid,
            start: start.saturating_duration_since(k.boot),
            cpu_ns: u.saturating_add(s),
            state: if stopped { 'T' } else { 'S' },
            threads: nthreads,
            cmd,
            host_pid: leader.mm().stub_pid(),
        });
    }
    out
}

/// The arguments of a process joined by spaces (None when it has none, like a zombie).
fn cmdline_of(t: &crate::task::Task) -> Option<String> {
    let mm = t.mm();
    let (start, end) = {
        let m = mm.lock();
        (m.arg_start, m.arg_end)
    };
    if end <= start {
        return None;
    }
    let mut buf = vec![0u8; (end - start).min(4096) as usize];
    mm.read(start, &mut buf).ok()?;
    let parts: Vec<String> = buf
        .split(|&c| c == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Resource figures of the sandbox, for `events`.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub cpu_user_ns: u64,
    pub cpu_system_ns: u64,
    pub memory_bytes: u64,
    pub pids: u64,
}

pub fn stats() -> Stats {
    let k = kernel();
    let groups: Vec<_> = k.procs.lock().unwrap().groups.values().cloned().collect();
    let mut st = Stats::default();
    for g in groups {
        let (zombie, cu, cs) = {
            let s = g.lock();
            (s.zombie.is_some(), s.cutime, s.cstime)
        };
        if g.tgid == 1 {
            st.cpu_user_ns += cu;
            st.cpu_system_ns += cs;
        }
        if zombie {
            continue;
        }
        st.pids += 1;
        let (u, s) = crate::syscalls::time::group_cpu_ns(&g);
        st.cpu_user_ns += u;
        st.cpu_system_ns += s;
    }
    st.memory_bytes = crate::memfile::memfile().used();
    st
}

/// Pauses the sandbox: every task stops before it would next run application code.
pub fn freeze() {
    let k = kernel();
    *k.outside.frozen.lock().unwrap() = true;
    let tasks: Vec<_> = k.procs.lock().unwrap().tasks.values().cloned().collect();
    for t in tasks {
        t.kick();
    }
}

/// Resumes a paused sandbox.
pub fn thaw() {
    let o = &kernel().outside;
    *o.frozen.lock().unwrap() = false;
    o.frozen_cv.notify_all();
}

pub fn is_frozen() -> bool {
    *kernel().outside.frozen.lock().unwrap()
}

/// Called by every task before it returns to application code: blocks while frozen.
pub(crate) fn freeze_point() {
    let o = &kernel().outside;
    let mut g = o.frozen.lock().unwrap();
    while *g {
        g = o.frozen_cv.wait(g).unwrap();
    }
}

/// Applies a process spec's resource limits over the defaults.
pub(crate) fn rlimits_of(spec: &ProcessSpec) -> [(u64, u64); RLIMIT_NLIMITS] {
    let mut r = crate::task::default_rlimits();
    for &(res, soft, hard) in &spec.rlimits {
        if (res as usize) < RLIMIT_NLIMITS {
            r[res as usize] = (soft, hard);
        }
    }
    r
}

/// Whether a signal sent from inside the sandbox to process `tgid` is dropped: a
/// container's init gets only the signals it has a handler for (even SIGKILL), as pid 1
/// of a pid namespace does from its own namespace.
pub(crate) fn init_ignores(tgid: i32, sig: u32) -> bool {
    if tgid != 1 || sig == 0 || !kernel().outside.protect_init.load(Ordering::Relaxed) {
        return false;
    }
    let init = kernel().procs.lock().unwrap().group(1);
    match init {
        Some(g) => handler_is_default(&g, sig),
        None => false,
    }
}
