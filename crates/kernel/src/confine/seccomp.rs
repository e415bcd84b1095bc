//! The kernel process's seccomp allowlist: every host call the kernel makes once it is
//! confined, with its argument filters and why it is needed (docs/security.md lists the
//! same table; a unit test keeps the two in step). Anything else kills the process
//! (SECCOMP_RET_KILL_PROCESS); clone3 alone fails with ENOSYS (a second filter) so that
//! glibc falls back to clone, whose flags a filter can see.

use seccompiler::{
    SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition, SeccompFilter,
    SeccompRule,
};
use std::collections::BTreeMap;

/// How the arguments of an allowed call are restricted.
#[derive(Clone, Copy, Debug)]
pub enum Args {
    /// Any arguments.
    Any,
    /// Argument `.0` (as a 32-bit value) is one of `.1`.
    OneOf(u8, &'static [u64]),
    /// Argument `.0` (all 64 bits) is exactly `.1`.
    Is(u8, u64),
    /// Argument `.0` has none of the bits `.1`.
    NoBits(u8, u64),
}

/// One allowed host call.
#[derive(Clone, Copy, Debug)]
pub struct Allowed {
    pub name: &'static str,
    pub nr: i64,
    pub args: Args,
    pub why: &'static str,
}

const PROT_EXEC: u64 = libc::PROT_EXEC as u64;

/// The clone flags of glibc's pthread_create: the only clone the kernel makes (a thread;
/// never a process, never a namespace).
pub const THREAD_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_SETTLS
    | libc::CLONE_PARENT_SETTID
    | libc::CLONE_CHILD_CLEARTID) as u64;

/// The ioctl requests the kernel makes on host fds: terminal requests on the container's
/// host stdio (hostfd.rs), FIONREAD, and inode flags of host files.
const IOCTLS: &[u64] = &[
    libc::FIONREAD,
    libc::TCGETS,
    libc::TCSETS,
    libc::TCSETSW,
    libc::TCSETSF,
    libc::TIOCGWINSZ,
    libc::TIOCSWINSZ,
    libc::TCFLSH,
    libc::TCXONC,
    libc::TCSBRK,
    libc::TCGETA,
    libc::TCSETA,
    libc::TCSETAW,
    libc::TCSETAF,
    0x802c_542a, // TCGETS2
    0x402c_542b, // TCSETS2
    0x402c_542c, // TCSETSW2
    0x402c_542d, // TCSETSF2
    // lsattr/chattr on host files (hostfs/attr.rs).
    0x8008_6601, // FS_IOC_GETFLAGS
    0x4008_6602, // FS_IOC_SETFLAGS
    0x801c_581f, // FS_IOC_FSGETXATTR
    0x401c_5820, // FS_IOC_FSSETXATTR
];

const FCNTLS: &[u64] = &[
    libc::F_GETFD as u64,
    libc::F_SETFD as u64,
    libc::F_GETFL as u64,
    libc::F_DUPFD_CLOEXEC as u64,
];

/// The ptrace requests of the ptrace platform.
const PTRACES: &[u64] = &[
    libc::PTRACE_SEIZE as u64,
    libc::PTRACE_INTERRUPT as u64,
    libc::PTRACE_SYSEMU as u64,
    libc::PTRACE_CONT as u64,
    libc::PTRACE_DETACH as u64,
    libc::PTRACE_GETREGS as u64,
    libc::PTRACE_SETREGS as u64,
    libc::PTRACE_GETSIGINFO as u64,
    libc::PTRACE_GETREGSET as u64,
    libc::PTRACE_SETREGSET as u64,
];

const PRCTLS: &[u64] = &[libc::PR_SET_NAME as u64];

/// `allow!(SYS_name, args, why)`.
macro_rules! allow {
    ($nr:ident, $args:expr, $why:expr) => {
        Allowed {
            name: stringify!($nr).trim_start_matches("SYS_"),
            nr: libc::$nr,
            args: $args,
            why: $why,
        }
    };
}

/// The allowlist (shared by `moat do` and `moat boot`; no mode adds host sockets yet).
pub fn allowlist() -> Vec<Allowed> {
    use Args::*;
    vec![
        // Memory.
        allow!(SYS_mmap, NoBits(2, PROT_EXEC), "the kernel's own memory (allocator, thread stacks); never executable: the stub page was mapped before confinement"),
        allow!(SYS_mprotect, NoBits(2, PROT_EXEC), "thread-stack guard pages and allocator arenas; never executable"),
        allow!(SYS_munmap, Any, "the kernel's own memory"),
        allow!(SYS_mremap, Any, "the allocator's realloc of large blocks"),
        allow!(SYS_madvise, Any, "the allocator and exiting threads return memory"),
        allow!(SYS_brk, Any, "the allocator's heap"),
        allow!(SYS_fallocate, Any, "memory file: commit and punch holes; host files: fallocate(2) of writable mounts"),
        // Threads and synchronization.
        allow!(SYS_clone, Is(0, THREAD_FLAGS), "new kernel threads (one per application thread); threads only"),
        allow!(SYS_futex, Any, "locks, condition variables, channels"),
        allow!(SYS_set_robust_list, Any, "every new thread (glibc)"),
        allow!(SYS_rseq, Any, "every new thread registers its rseq area (glibc)"),
        allow!(SYS_sched_yield, Any, "spin-waits, sched_yield(2) of the application"),
        allow!(SYS_sched_getaffinity, Any, "sched_getaffinity(2) and the CPU count"),
        allow!(SYS_prctl, OneOf(0, PRCTLS), "PR_SET_NAME: thread names"),
        allow!(SYS_exit, Any, "a kernel thread ends"),
        allow!(SYS_exit_group, Any, "the kernel process ends"),
        allow!(SYS_getpid, Any, "the kernel's own pid (1 in its namespace)"),
        allow!(SYS_gettid, Any, "the calling thread's id (CPU clocks, signals)"),
        // Signals.
        allow!(SYS_rt_sigprocmask, Any, "signal masks of kernel threads"),
        allow!(SYS_rt_sigaction, Any, "the runtime's handlers (stack overflow, SIGPIPE ignored)"),
        allow!(SYS_rt_sigreturn, Any, "return from a host signal handler"),
        allow!(SYS_rt_sigtimedwait, Any, "the thread that forwards host signals to the sandbox's init"),
        allow!(SYS_sigaltstack, Any, "every new thread's alternate stack (Rust runtime)"),
        allow!(SYS_tgkill, Any, "kick a running stub thread (SIGURG); exit by init's signal"),
        allow!(SYS_kill, Is(1, libc::SIGKILL as u64), "kill a stub process (SIGKILL only)"),
        allow!(SYS_restart_syscall, Any, "restart of an interrupted sleep"),
        // The ptrace platform.
        allow!(SYS_ptrace, OneOf(0, PTRACES), "run stubs under PTRACE_SYSEMU, inject host calls, read registers and FP state"),
        allow!(SYS_wait4, Any, "stop and exit reports of traced stub threads"),
        // Waiting.
        allow!(SYS_eventfd2, Any, "every task's waker"),
        allow!(SYS_ppoll, Any, "tasks sleep on wait queues and host fds at once"),
        allow!(SYS_poll, Any, "readiness of host stdio"),
        allow!(SYS_epoll_create1, Any, "the host-fd watcher (host stdio, the clock-change timerfd)"),
        allow!(SYS_epoll_ctl, Any, "the host-fd watcher"),
        allow!(SYS_epoll_wait, Any, "the host-fd watcher"),
        allow!(SYS_timerfd_create,
            Is(0, libc::CLOCK_REALTIME as u64),
            "a host timerfd (TFD_TIMER_CANCEL_ON_SET) that tells of changes of the host's clock"
        ),
        allow!(SYS_timerfd_settime, Any, "arms that timerfd"),
        allow!(SYS_clock_nanosleep, Any, "short sleeps (thread::sleep)"),
        // Time and system facts.
        allow!(SYS_clock_gettime, Any, "clocks, and CPU clocks of kernel threads and stub processes"),
        allow!(SYS_clock_getres, Any, "clock_getres(2)"),
        allow!(SYS_getrandom, Any, "getrandom(2), AT_RANDOM, hash seeds"),
        allow!(SYS_sysinfo, Any, "sysinfo(2) and /proc/meminfo (host memory size)"),
        allow!(SYS_getcpu, Any, "getcpu(2)"),
        allow!(SYS_prlimit64, Any, "reading the host's limits (getrlimit)"),
        // Files: host fds the kernel holds (mount roots, looked-up objects, host stdio,
        // the memory file, the debug log). Every path argument is relative to an fd the
        // kernel holds: the kernel's root directory is empty.
        allow!(SYS_read, Any, "host files, host stdio, eventfds, the monitor channel"),
        allow!(SYS_write, Any, "host files, host stdio, eventfds, the debug log, the monitor channel"),
        allow!(SYS_pread64, Any, "host files at an offset (page cache, reads)"),
        allow!(SYS_pwrite64, Any, "host files at an offset"),
        allow!(SYS_lseek, Any, "offsets of host fds; SEEK_DATA/SEEK_HOLE in copy-up"),
        allow!(SYS_close, Any, "every host fd the kernel opens"),
        allow!(SYS_fcntl, OneOf(1, FCNTLS), "dup with O_CLOEXEC, fd and status flags"),
        allow!(SYS_ioctl, OneOf(1, IOCTLS), "terminal requests on host stdio, FIONREAD, inode flags of host files (lsattr, chattr)"),
        allow!(SYS_openat, Any, "reopen a host file by name from its directory's fd; O_TMPFILE"),
        allow!(SYS_openat2, Any, "walk host mounts one component at a time (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS)"),
        allow!(SYS_newfstatat, Any, "attributes of host objects (AT_EMPTY_PATH)"),
        allow!(SYS_fstatfs, Any, "statfs(2) of host mounts"),
        allow!(SYS_getdents64, Any, "host directories"),
        allow!(SYS_readlinkat, Any, "host symlinks (on their O_PATH fd)"),
        allow!(SYS_mkdirat, Any, "writable host mounts and upper directories"),
        allow!(SYS_mknodat, Any, "writable host mounts: regular files, FIFOs, sockets, whiteouts (no devices: no CAP_MKNOD)"),
        allow!(SYS_symlinkat, Any, "writable host mounts"),
        allow!(SYS_linkat, Any, "writable host mounts (AT_EMPTY_PATH)"),
        allow!(SYS_unlinkat, Any, "writable host mounts"),
        allow!(SYS_renameat2, Any, "writable host mounts (NOREPLACE, EXCHANGE, WHITEOUT)"),
        allow!(SYS_fchmod, Any, "chmod on hosts without fchmodat2"),
        allow!(SYS_fchmodat2, Any, "chmod of host objects (AT_EMPTY_PATH)"),
        allow!(SYS_fchownat, Any, "new and chowned host objects get the sandbox owner (AT_EMPTY_PATH)"),
        allow!(SYS_utimensat, Any, "times of host objects (AT_EMPTY_PATH)"),
        allow!(SYS_ftruncate, Any, "truncate host files"),
        allow!(SYS_fsync, Any, "fsync(2), msync(2) and write-back of host files"),
        allow!(SYS_fgetxattr, Any, "xattrs of host files; overlay opaque marks"),
        allow!(SYS_fsetxattr, Any, "xattrs of host files; overlay opaque marks"),
        allow!(SYS_flistxattr, Any, "listxattr(2) of host files"),
        allow!(SYS_fremovexattr, Any, "removexattr(2) of host files"),
        // The control socket (moat boot) and the channel to the monitor: no new sockets.
        allow!(SYS_accept4, Any, "connections to the control socket (bound before confinement)"),
        allow!(SYS_recvmsg, Any, "control requests and exec stdio (SCM_RIGHTS)"),
        allow!(SYS_sendmsg, Any, "control replies"),
        allow!(SYS_pipe2, Any, "the stdin of a startContainer hook (the state JSON)"),
    ]
}

fn cond(arg: u8, len: Len, op: Op, v: u64) -> SeccompCondition {
    SeccompCondition::new(arg, len, op, v).expect("valid condition")
}

fn rules_of(a: Args) -> Vec<SeccompRule> {
    let rule = |c| SeccompRule::new(c).expect("valid rule");
    match a {
        Args::Any => vec![],
        Args::OneOf(i, vs) => vs
            .iter()
            .map(|&v| rule(vec![cond(i, Len::Dword, Op::Eq, v)]))
            .collect(),
        Args::Is(i, v) => vec![rule(vec![cond(i, Len::Qword, Op::Eq, v)])],
        Args::NoBits(i, m) => vec![rule(vec![cond(i, Len::Qword, Op::MaskedEq(m), 0)])],
    }
}

/// The two filters, in the order of installation: clone3 → ENOSYS, and the allowlist
/// (anything else kills the process).
pub fn filters() -> Result<Vec<seccompiler::BpfProgram>, String> {
    let mut m: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for a in allowlist() {
        if m.insert(a.nr, rules_of(a.args)).is_some() {
            return Err(format!("seccomp: {} listed twice", a.name));
        }
    }
    // clone3 passes the allowlist so that the second filter's ENOSYS is what it gets.
    m.insert(libc::SYS_clone3, vec![]);
    let arch = seccompiler::TargetArch::x86_64;
    let allow = SeccompFilter::new(m, SeccompAction::KillProcess, SeccompAction::Allow, arch)
        .map_err(|e| format!("seccomp: {e}"))?;
    let mut c3: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    c3.insert(libc::SYS_clone3, vec![]);
    let enosys = SeccompFilter::new(
        c3,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(|e| format!("seccomp: {e}"))?;
    // The ENOSYS filter goes first: installing a filter takes prctl and seccomp, which the
    // allowlist, once installed, forbids.
    Ok(vec![
        enosys.try_into().map_err(|e| format!("seccomp: {e}"))?,
        allow.try_into().map_err(|e| format!("seccomp: {e}"))?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile() {
        assert_eq!(filters().unwrap().len(), 2);
    }

    #[test]
    fn docs_list_every_allowed_call() {
        let doc = include_str!("../../../../docs/security.md");
        for a in allowlist() {
            assert!(
                doc.contains(&format!("`{}`", a.name)),
                "docs/security.md does not list `{}`",
                a.name
            );
        }
    }
}
