//! Tasks (application threads) and thread groups (processes).
//!
//! Each task runs on its own host thread, which traces the task's stub thread. The process
//! tree (parents, children, process groups, sessions, zombies) lives in `Procs` behind one
//! lock; per-task state has its own locks. Lock order: procs → thread group → task.

use crate::mm::MM;
use crate::signal::{SigHand, SigQueue};
use crate::vfs::{FdTable, FsContext};
use crate::wait::{WaitQueue, Waker};
use abi::signal::StackT;
use abi::Errno;
use platform::Interrupter;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

pub type SysResult = Result<u64, Errno>;

/// Emulated credentials (never the host's).
#[derive(Clone, Debug, Default)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
    pub cap_effective: u64,
    pub cap_permitted: u64,
    pub cap_inheritable: u64,
    pub cap_bounding: u64,
    pub cap_ambient: u64,
}

impl Creds {
    pub fn root() -> Creds {
        let all = (1u64 << 41) - 1;
        Creds {
            cap_effective: all,
            cap_permitted: all,
            cap_bounding: all,
            ..Default::default()
        }
    }
    pub fn has_cap(&self, cap: u32) -> bool {
        self.cap_effective & (1 << cap) != 0
    }
}

/// How a process ended, as wait reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(u32, bool),
}

impl ExitStatus {
    /// The wait(2) status word.
    pub fn wstatus(&self) -> i32 {
        match *self {
            ExitStatus::Exited(c) => (c & 0xff) << 8,
            ExitStatus::Signaled(s, core) => s as i32 | if core { 0x80 } else { 0 },
        }
    }
}

/// A state change of a child that wait may report.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ChildEvent {
    Stopped(u32),
    Continued,
}

pub const RLIMIT_NLIMITS: usize = 16;
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Process-wide state.
pub struct TgState {
    pub parent: i32,
    pub children: Vec<i32>,
    pub threads: Vec<i32>,
    pub pgid: i32,
    pub sid: i32,
    /// Set once the last thread is gone: the process is a zombie until reaped.
    pub zombie: Option<ExitStatus>,
    /// exit_group or a fatal signal in progress: every thread must exit.
    pub group_exit: Option<ExitStatus>,
    /// Status of the last thread to exit (when no group exit happened).
    pub last_exit: Option<ExitStatus>,
    pub shared_pending: SigQueue,
    /// Job-control stop in effect.
    pub stopped: bool,
    /// Unreported stop/continue for the parent's wait.
    pub child_event: Option<ChildEvent>,
    pub rlimits: [(u64, u64); RLIMIT_NLIMITS],
    pub creds: Creds,
    pub subreaper: bool,
    pub start: Instant,
    /// CPU time of reaped children (user, system) in ns.
    pub cutime: u64,
    pub cstime: u64,
    /// The process's own CPU time (user, system) in ns, recorded when it died.
    pub dead_utime: u64,
    pub dead_stime: u64,
    /// Whether execve has happened (for setpgid's EACCES).
    pub did_exec: bool,
    pub exit_signal: u32,
    /// The controlling terminal (inherited by fork, dropped by setsid).
    pub ctty: Option<Arc<crate::tty::Tty>>,
}

pub struct ThreadGroup {
    pub tgid: i32,
    pub state: Mutex<TgState>,
    /// Woken when a child changes state (for wait4/waitid).
    pub child_wait: WaitQueue,
    /// Woken on group stop/continue.
    pub stop_wait: WaitQueue,
}

impl ThreadGroup {
    pub fn lock(&self) -> MutexGuard<'_, TgState> {
        self.state.lock().unwrap()
    }
}

/// Per-thread signal state.
pub struct TaskSig {
    pub mask: u64,
    pub pending: SigQueue,
    pub altstack: StackT,
    /// Mask to restore after the handler of a sigsuspend/ppoll-style call.
    pub saved_mask: Option<u64>,
}

pub struct Task {
    pub tid: i32,
    pub tg: Arc<ThreadGroup>,
    pub mm: Mutex<Arc<MM>>,
    pub files: Mutex<Arc<FdTable>>,
    pub fs: Mutex<Arc<FsContext>>,
    pub sighand: Mutex<Arc<SigHand>>,
    pub sig: Mutex<TaskSig>,
    pub waker: Arc<Waker>,
    pub interrupter: Mutex<Option<Interrupter>>,
    pub clear_child_tid: AtomicU64,
    pub robust_list: AtomicU64,
    pub robust_len: AtomicU64,
    pub comm: Mutex<Vec<u8>>,
    pub pdeathsig: AtomicI32,
    pub exiting: AtomicBool,
    pub no_new_privs: AtomicBool,
    pub dumpable: AtomicI32,
    /// Host thread CPU clock id of the task's host thread, for CPU time.
    pub host_tid: AtomicI32,
    pub start: Instant,
    /// Stub host tid running this task (for /proc, debugging).
    pub stub_tid: AtomicI32,
    /// The application's stack pointer at its last syscall (sigaltstack's SS_ONSTACK).
    pub user_sp: AtomicU64,
}

impl Task {
    pub fn mm(&self) -> Arc<MM> {
        self.mm.lock().unwrap().clone()
    }
    pub fn files(&self) -> Arc<FdTable> {
        self.files.lock().unwrap().clone()
    }
    pub fn fs(&self) -> Arc<FsContext> {
        self.fs.lock().unwrap().clone()
    }
    pub fn sighand(&self) -> Arc<SigHand> {
        self.sighand.lock().unwrap().clone()
    }
    pub fn tgid(&self) -> i32 {
        self.tg.tgid
    }
    pub fn creds(&self) -> Creds {
        self.tg.lock().creds.clone()
    }

    /// Copies from application memory.
    pub fn read_mem(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.mm().read(addr, buf)
    }
    /// Copies to application memory.
    pub fn write_mem(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.mm().write(addr, data)
    }
    /// Reads a plain value.
    pub fn read_val<T: Copy>(&self, addr: u64) -> Result<T, Errno> {
        let mut buf = vec![0u8; std::mem::size_of::<T>()];
        self.read_mem(addr, &mut buf)?;
        // SAFETY: T is a plain-old-data type (callers use integers and repr(C) structs).
        Ok(unsafe { std::ptr::read_unaligned(buf.as_ptr() as *const T) })
    }
    /// Writes a plain value.
    pub fn write_val<T: Copy>(&self, addr: u64, v: &T) -> Result<(), Errno> {
        // SAFETY: viewing a plain-old-data value as bytes.
        let b = unsafe {
            std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>())
        };
        self.write_mem(addr, b)
    }
    /// Reads a NUL-terminated path (PATH_MAX bound, ENAMETOOLONG beyond).
    pub fn read_path(&self, addr: u64) -> Result<Vec<u8>, Errno> {
        let p = self.mm().read_cstr(addr, 4095)?;
        Ok(p)
    }
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
        self.mm().read_cstr(addr, max)
    }

    /// True if an unblocked signal is pending for this task (or it must exit).
    pub fn signal_pending(&self) -> bool {
        if self.exiting.load(Ordering::Acquire) {
            return true;
        }
        let shared = {
            let tg = self.tg.lock();
            if tg.group_exit.is_some() {
                return true;
            }
            tg.shared_pending.set()
        };
        let s = self.sig.lock().unwrap();
        (s.pending.set() | shared) & !s.mask != 0
    }

    /// Wakes the task from a kernel wait and kicks its stub out of application code.
    pub fn kick(&self) {
        self.waker.wake();
        if let Some(i) = *self.interrupter.lock().unwrap() {
            i.interrupt();
        }
    }

    /// Blocks until `f` yields a value. Between tries the task sleeps until a queue in `qs`
    /// is notified, `host` (fd, poll events) is ready, or `deadline` passes (ETIMEDOUT).
    /// A pending signal ends the wait with ERESTARTSYS (the caller's restart rules apply).
    pub fn wait_until<T>(
        &self,
        qs: &[&WaitQueue],
        host: Option<(i32, i16)>,
        deadline: Option<Instant>,
        mut f: impl FnMut() -> Result<Option<T>, Errno>,
    ) -> Result<T, Errno> {
        loop {
            for q in qs {
                q.add(&self.waker);
            }
            let r = f();
            let done = match r {
                Ok(Some(v)) => Some(Ok(v)),
                Err(e) => Some(Err(e)),
                Ok(None) => None,
            };
            if let Some(v) = done {
                for q in qs {
                    q.remove(&self.waker);
                }
                return v;
            }
            if self.signal_pending() {
                for q in qs {
                    q.remove(&self.waker);
                }
                return Err(Errno::ERESTARTSYS);
            }
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    for q in qs {
                        q.remove(&self.waker);
                    }
                    return Err(Errno::ETIMEDOUT);
                }
            }
            self.waker.sleep(deadline, host);
        }
    }

    /// Sleeps until the deadline or a signal (ERESTARTSYS).
    pub fn sleep_until(&self, deadline: Instant) -> Result<(), Errno> {
        match self.wait_until(&[], None, Some(deadline), || Ok(None::<()>)) {
            Err(Errno::ETIMEDOUT) => Ok(()),
            Err(e) => Err(e),
            Ok(()) => Ok(()),
        }
    }

    pub fn rlimit(&self, res: usize) -> (u64, u64) {
        self.tg.lock().rlimits[res]
    }
}

thread_local! {
    /// The task this host thread runs (each task has a host thread of its own).
    static CURRENT: std::cell::RefCell<std::sync::Weak<Task>> =
        const { std::cell::RefCell::new(std::sync::Weak::new()) };
}

/// Records `t` as the task of the calling host thread.
pub fn set_current(t: &Arc<Task>) {
    CURRENT.with(|c| *c.borrow_mut() = Arc::downgrade(t));
}

/// The task of the calling host thread (for the few file operations whose meaning
/// depends on the caller, such as a signalfd's readiness).
pub fn current() -> Option<Arc<Task>> {
    CURRENT.with(|c| c.borrow().upgrade())
}

/// The process table.
pub struct Procs {
    pub tasks: HashMap<i32, Arc<Task>>,
    pub groups: HashMap<i32, Arc<ThreadGroup>>,
    /// Zombie thread groups stay in `groups` until reaped.
    next_pid: i32,
}

impl Procs {
    pub fn new() -> Procs {
        Procs {
            tasks: HashMap::new(),
            groups: HashMap::new(),
            next_pid: 1,
        }
    }

    /// A free id for a new task (ids of tasks, groups, process groups and sessions
    /// share one space, as in Linux).
    pub fn alloc_pid(&mut self) -> Result<i32, Errno> {
        for _ in 0..4_194_304 {
            let p = self.next_pid;
            self.next_pid = if self.next_pid >= 4_194_303 {
                300
            } else {
                self.next_pid + 1
            };
            if !self.tasks.contains_key(&p) && !self.groups.contains_key(&p) && !self.pgid_in_use(p)
            {
                return Ok(p);
            }
        }
        Err(Errno::EAGAIN)
    }

    fn pgid_in_use(&self, p: i32) -> bool {
        self.groups.values().any(|g| {
            let s = g.lock();
            s.pgid == p || s.sid == p
        })
    }

    pub fn task(&self, tid: i32) -> Option<Arc<Task>> {
        self.tasks.get(&tid).cloned()
    }

    pub fn group(&self, tgid: i32) -> Option<Arc<ThreadGroup>> {
        self.groups.get(&tgid).cloned()
    }

    /// Live (non-zombie) thread groups in process group `pgid`.
    pub fn pgrp_members(&self, pgid: i32) -> Vec<Arc<ThreadGroup>> {
        self.groups
            .values()
            .filter(|g| {
                let s = g.lock();
                s.pgid == pgid && s.zombie.is_none()
            })
            .cloned()
            .collect()
    }

    /// The live threads of a thread group.
    pub fn threads_of(&self, tg: &ThreadGroup) -> Vec<Arc<Task>> {
        let ids = tg.lock().threads.clone();
        ids.iter()
            .filter_map(|t| self.tasks.get(t).cloned())
            .collect()
    }
}

impl Default for Procs {
    fn default() -> Self {
        Procs::new()
    }
}

/// Default resource limits, as a fresh Linux login sees them (bounded by the host's).
pub fn default_rlimits() -> [(u64, u64); RLIMIT_NLIMITS] {
    let mut r = [(RLIM_INFINITY, RLIM_INFINITY); RLIMIT_NLIMITS];
    for (i, slot) in r.iter_mut().enumerate() {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid out pointer.
        if unsafe { libc::getrlimit(i as _, &mut l) } == 0 {
            *slot = (l.rlim_cur, l.rlim_max);
        }
    }
    r
}
