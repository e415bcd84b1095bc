//! moat's userspace kernel: serves the Linux x86-64 system call ABI to applications
//! running in stub processes, from its own memory manager, VFS and process model.

pub mod confine;
pub mod exec;
pub mod fs;
pub mod futex;
pub mod ipc;
pub mod loader;
pub mod memfile;
pub mod mm;
pub mod net;
pub mod run;
pub mod sandbox;
pub mod sigframe;
pub mod signal;
pub mod strace;
pub mod syscalls;
pub mod task;
pub mod timers;
pub mod tty;
pub mod vfs;
pub mod wait;

use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

pub use task::{SysResult, Task};

/// Options the sandbox was started with.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Print each syscall as strace would, to stderr.
    pub strace: bool,
    /// Write a debug log.
    pub debug: bool,
    /// Where the debug log goes (stderr when None).
    pub debug_log: Option<String>,
    /// The root file system and the volumes bound into it.
    pub root: vfs::FsSpec,
}

/// The kernel: one per sandbox.
pub struct Kernel {
    pub opts: Options,
    pub factory: platform::StubFactory,
    pub procs: Mutex<task::Procs>,
    pub boot: Instant,
    /// Exit status of the init process once it has exited.
    pub init_exit: Mutex<Option<task::ExitStatus>>,
    pub init_exit_cv: Condvar,
    pub hostname: Mutex<Vec<u8>>,
    pub domainname: Mutex<Vec<u8>>,
    pub log: Mutex<Option<std::fs::File>>,
    /// The IPC namespace (System V IPC, POSIX message queues).
    pub ipc: ipc::Ipc,
    /// State kept for the sandbox's manager (exits of spawned processes, the freezer).
    pub outside: sandbox::Outside,
}

static KERNEL: OnceLock<Kernel> = OnceLock::new();

/// The running kernel.
pub fn kernel() -> &'static Kernel {
    KERNEL.get().expect("kernel not started")
}

/// The running kernel, if one was started (kernel-free unit tests have none).
pub fn try_kernel() -> Option<&'static Kernel> {
    KERNEL.get()
}

pub(crate) fn set_kernel(k: Kernel) -> &'static Kernel {
    let _ = KERNEL.set(k);
    kernel()
}

/// Writes a line to the debug log when debugging is on.
pub fn debug_log(msg: std::fmt::Arguments) {
    let Some(k) = KERNEL.get() else { return };
    if !k.opts.debug {
        return;
    }
    use std::io::Write;
    let line = format!("[{:>10.6}] {}\n", k.boot.elapsed().as_secs_f64(), msg);
    let mut g = k.log.lock().unwrap();
    match g.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { $crate::debug_log(format_args!($($t)*)) };
}

/// Called when a process is gone: cancels its interval timers.
pub fn timers_hook(tgid: i32) {
    timers::cancel_all(tgid);
}
