//! Confinement of the kernel process (docs/security.md).
//!
//! The CLI (`moat do`, `moat boot`) starts the kernel as pid 1 of a new pid namespace,
//! with its own mount (private propagation), ipc and uts namespaces, and calls
//! `request` before `sandbox::start_kernel`. Then, in two steps:
//!
//! - `early` (inside start_kernel, once the stub factory runs — its master stub and its
//!   thread have dropped every capability themselves — and before any other thread
//!   exists): forks the pivot helper, opens the sandbox's own procfs (pids of the
//!   sandbox namespace only) and detaches it, sets no_new_privs and limits the
//!   capabilities to `RUNTIME_CAPS`. Capabilities are per thread: every kernel thread
//!   created afterwards inherits the limit; `early` checks that no other thread holds
//!   more.
//! - `lockdown` (once everything the kernel needs from the host is open: mount roots,
//!   the debug log, the memory file, the control socket): the helper (which alone kept
//!   CAP_SYS_ADMIN) pivots the mount namespace's root into an empty read-only tmpfs and
//!   detaches the old root; then the seccomp allowlist is installed on every thread.

pub mod hostnames;
pub mod seccomp;

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};

const CAP_CHOWN: u64 = 0;
const CAP_DAC_OVERRIDE: u64 = 1;
const CAP_DAC_READ_SEARCH: u64 = 2;
const CAP_FOWNER: u64 = 3;
const CAP_FSETID: u64 = 4;

/// The capabilities the kernel keeps: direct access to the container's host files on
/// behalf of its (emulated) root user, until the ferry serves them (docs/security.md).
pub const RUNTIME_CAPS: u64 = 1 << CAP_CHOWN
    | 1 << CAP_DAC_OVERRIDE
    | 1 << CAP_DAC_READ_SEARCH
    | 1 << CAP_FOWNER
    | 1 << CAP_FSETID;

/// What the CLI asks for.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// --network=host (no host sockets are made in any mode yet: no effect on the filter).
    pub network_host: bool,
}

static REQUEST: OnceLock<Request> = OnceLock::new();
static CONFINED: AtomicBool = AtomicBool::new(false);
/// The sandbox's own procfs (its pid namespace only; `subset=pid`), detached.
static PROC_FD: AtomicI32 = AtomicI32::new(-1);
/// The pivot helper: its pid and the pipe that tells it to go.
static HELPER: Mutex<Option<(i32, RawFd)>> = Mutex::new(None);

/// Asks for confinement; the process must already be pid 1 of its own pid namespace, in
/// its own mount (private), ipc and uts namespaces.
pub fn request(r: Request) {
    let _ = REQUEST.set(r);
}

/// Whether the kernel process is (or is becoming) confined.
pub fn requested() -> bool {
    REQUEST.get().is_some()
}

/// Whether `lockdown` has happened: no host paths, only held fds.
pub fn confined() -> bool {
    CONFINED.load(Ordering::Acquire)
}

fn os_err(what: &str) -> String {
    format!("confine: {what}: {}", std::io::Error::last_os_error())
}

/// See the module documentation. No-op unless confinement was requested.
pub(crate) fn early() -> Result<(), String> {
    if !requested() {
        return Ok(());
    }
    spawn_pivot_helper()?;
    open_sandbox_proc()?;
    // SAFETY: plain host calls on our own process.
    unsafe {
        // The old root is replaced by the empty one only where it is a task's root or
        // cwd: the cwd must not stay on a host directory.
        if libc::chdir(c"/".as_ptr()) != 0 {
            return Err(os_err("chdir /"));
        }
        platform::caps::no_new_privs()
            .map_err(|e| format!("confine: no_new_privs: {}", errno_text(e)))?;
        platform::caps::limit(RUNTIME_CAPS)
            .map_err(|e| format!("confine: capabilities: {}", errno_text(e)))?;
    }
    check_threads()
}

fn errno_text(e: i32) -> String {
    std::io::Error::from_raw_os_error(e).to_string()
}

/// Every other thread of the process (there is only the stub factory's so far) must hold
/// no capability beyond RUNTIME_CAPS: capabilities are per thread.
fn check_threads() -> Result<(), String> {
    let me = unsafe { libc::gettid() };
    let rd = std::fs::read_dir("/proc/thread-self/..").map_err(|e| format!("confine: {e}"))?;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == me.to_string() {
            continue;
        }
        let Ok(s) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        for key in ["CapEff:", "CapPrm:", "CapBnd:"] {
            let v = s
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .unwrap_or(u64::MAX);
            if v & !RUNTIME_CAPS != 0 {
                return Err(format!(
                    "confine: thread {name} holds capabilities {v:#x} ({key})"
                ));
            }
        }
    }
    Ok(())
}

/// Forks the helper that will pivot the root once the kernel has opened what it needs.
/// It keeps the capabilities the kernel drops (it needs CAP_SYS_ADMIN), runs no kernel
/// code and exits right after the pivot.
fn spawn_pivot_helper() -> Result<(), String> {
    let mut p = [0i32; 2];
    // SAFETY: pipe2 into a local array.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(os_err("pipe"));
    }
    // SAFETY: the child makes raw system calls only, then _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(os_err("fork"));
    }
    if pid == 0 {
        // SAFETY: the helper's whole life.
        unsafe { pivot_helper(p[0]) }
    }
    // SAFETY: closing our copy of the read end.
    unsafe { libc::close(p[0]) };
    *HELPER.lock().unwrap() = Some((pid, p[1]));
    Ok(())
}

/// Exit codes of the helper: 0 done, else the step that failed (its errno is lost).
unsafe fn pivot_helper(go: RawFd) -> ! {
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    // Only the pipe stays open (the monitor channel, stdio, the ready pipe all go).
    if go > 0 {
        libc::syscall(libc::SYS_close_range, 0, go - 1, 0);
    }
    libc::syscall(libc::SYS_close_range, go + 1, u32::MAX, 0);
    let mut b = 0u8;
    if libc::read(go, &mut b as *mut u8 as *mut _, 1) != 1 || b != b'p' {
        libc::_exit(1);
    }
    // A fresh tmpfs over /proc (a directory every host has; nothing reads the host's
    // /proc any more) becomes the root; the old root is detached with everything on it.
    let fl = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    if libc::mount(
        c"none".as_ptr(),
        c"/proc".as_ptr(),
        c"tmpfs".as_ptr(),
        fl,
        c"mode=0555,size=4k,nr_inodes=1".as_ptr() as *const _,
    ) != 0
    {
        libc::_exit(2);
    }
    if libc::chdir(c"/proc".as_ptr()) != 0 {
        libc::_exit(3);
    }
    if libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) != 0 {
        libc::_exit(4);
    }
    if libc::umount2(c".".as_ptr(), libc::MNT_DETACH) != 0 {
        libc::_exit(5);
    }
    if libc::chdir(c"/".as_ptr()) != 0 {
        libc::_exit(6);
    }
    if libc::mount(
        std::ptr::null(),
        c"/".as_ptr(),
        std::ptr::null(),
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | fl,
        std::ptr::null(),
    ) != 0
    {
        libc::_exit(7);
    }
    libc::_exit(0)
}

/// Mounts a procfs of the sandbox's pid namespace (only its pid directories), keeps a
/// directory fd on it and detaches it: the kernel reads its stub threads' CPU times there.
fn open_sandbox_proc() -> Result<(), String> {
    // SAFETY: mount calls on paths of our own (private) mount namespace.
    unsafe {
        let fl = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        let proc_ = c"proc".as_ptr();
        // subset=pid (Linux 5.8) leaves out everything but the pid directories.
        if libc::mount(
            proc_,
            c"/proc".as_ptr(),
            proc_,
            fl,
            c"subset=pid".as_ptr() as *const _,
        ) != 0
            && libc::mount(proc_, c"/proc".as_ptr(), proc_, fl, std::ptr::null()) != 0
        {
            return Err(os_err("mount sandbox proc"));
        }
        let fd = libc::open(
            c"/proc".as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        let e = os_err("open sandbox proc");
        // The host's /proc shows again (the monitor's pid, host fd names until lockdown).
        libc::umount2(c"/proc".as_ptr(), libc::MNT_DETACH);
        if fd < 0 {
            return Err(e);
        }
        PROC_FD.store(fd, Ordering::Release);
    }
    Ok(())
}

/// Reads a file of the sandbox's procfs (`rel` like "12/schedstat"), or of /proc when
/// unconfined.
pub fn read_proc(rel: &str) -> Option<String> {
    let fd = PROC_FD.load(Ordering::Acquire);
    if fd < 0 {
        return std::fs::read_to_string(format!("/proc/{rel}")).ok();
    }
    let c = std::ffi::CString::new(rel).ok()?;
    // SAFETY: openat beneath our procfs fd.
    let f = unsafe { libc::openat(fd, c.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if f < 0 {
        return None;
    }
    // Plain reads (std's read_to_string would statx the file first).
    let mut buf = vec![0u8; 4096];
    let mut n = 0;
    // SAFETY: reads into our buffer from our fd, then closes it.
    unsafe {
        while n < buf.len() {
            let r = libc::read(f, buf[n..].as_mut_ptr() as *mut _, buf.len() - n);
            if r <= 0 {
                break;
            }
            n += r as usize;
        }
        libc::close(f);
    }
    buf.truncate(n);
    String::from_utf8(buf).ok()
}

/// Once everything from the host is open: pivot into the empty root, then the allowlist.
/// No-op unless confinement was requested.
pub fn lockdown() -> Result<(), String> {
    if !requested() {
        return Ok(());
    }
    crate::fs::hostfd::remember_names(&[0, 1, 2]);
    let Some((pid, go)) = HELPER.lock().unwrap().take() else {
        return Err("confine: no pivot helper".into());
    };
    // SAFETY: our own pipe and child.
    let st = unsafe {
        libc::write(go, b"p".as_ptr() as *const _, 1);
        libc::close(go);
        let mut st = 0;
        while libc::waitpid(pid, &mut st, 0) < 0 && *libc::__errno_location() == libc::EINTR {}
        st
    };
    if !(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0) {
        return Err(format!(
            "confine: pivot_root failed (helper status {st:#x})"
        ));
    }
    if !root_is_empty() {
        return Err("confine: the new root is not empty".into());
    }
    for f in seccomp::filters()? {
        seccompiler::apply_filter_all_threads(&f).map_err(|e| format!("confine: seccomp: {e}"))?;
    }
    CONFINED.store(true, Ordering::Release);
    crate::debug!(
        "confined: pid namespace, empty root, capabilities {:#x}, seccomp ({} host calls)",
        RUNTIME_CAPS,
        seccomp::allowlist().len()
    );
    Ok(())
}

fn root_is_empty() -> bool {
    match std::fs::read_dir("/") {
        Ok(mut rd) => rd.next().is_none(),
        Err(_) => false,
    }
}

static STOP_HOOK: OnceLock<fn(i32)> = OnceLock::new();

/// How the confined kernel stops "itself" (the host shell's job): it is init of its pid
/// namespace and cannot stop by its own signal, so the CLI's monitor, which stands for
/// it on the host, stops instead (`hook` asks it to).
pub fn set_stop_hook(hook: fn(i32)) {
    let _ = STOP_HOOK.set(hook);
}

/// Stops the process that stands for the sandbox on the host with `sig`, when confined
/// (true); false: the caller stops the kernel process itself.
pub fn stop_via_monitor(sig: i32) -> bool {
    match STOP_HOOK.get() {
        Some(h) if requested() => {
            h(sig);
            true
        }
        _ => false,
    }
}

/// Test hook: MOAT_TEST_FORBIDDEN_HOST_CALL=N in moat's own environment (never the
/// application's) makes the kernel call socket(2) — outside its allowlist — when the
/// application makes syscall N, to test how a seccomp violation ends the sandbox.
pub fn test_hook(nr: u64) {
    static NR: OnceLock<Option<u64>> = OnceLock::new();
    let n = *NR.get_or_init(|| {
        std::env::var("MOAT_TEST_FORBIDDEN_HOST_CALL")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if n == Some(nr) {
        crate::debug!("test hook: socket() on syscall {nr}");
        // SAFETY: a plain host call (which the filter forbids).
        unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    }
}
