//! pidfds: files that stand for a process (or, with PIDFD_THREAD, a thread). Readable once
//! the process has exited (and hung up once it has been reaped); targets of
//! pidfd_send_signal, pidfd_getfd and waitid(P_PIDFD).
//!
//! A pidfd holds its thread group, so it never confuses the process with a later one that
//! reuses the id. Readiness changes are heard on the group's `child_wait` queue, which
//! every exit of one of its threads notifies (through a forwarding hook).

use super::anon::AnonInode;
use crate::kernel;
use crate::task::{Task, ThreadGroup};
use crate::vfs::inode::{POLLHUP, POLLIN, POLLRDNORM};
use crate::vfs::{dentry, oflags, File, FileOps};
use crate::wait::{WaitHook, WaitQueue};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// pidfd_open's PIDFD_THREAD (O_EXCL).
pub const PIDFD_THREAD: u32 = oflags::O_EXCL;
pub const PIDFD_NONBLOCK: u32 = oflags::O_NONBLOCK;

/// Passes a notification on to another queue.
struct Forward(Arc<WaitQueue>);

impl WaitHook for Forward {
    fn notify(&self, _key: u32) -> bool {
        self.0.notify(POLLIN | POLLRDNORM);
        false
    }
}

pub struct PidFd {
    tg: Arc<ThreadGroup>,
    /// The process id, or the thread id of a thread pidfd.
    pub pid: i32,
    /// For a thread pidfd: the thread.
    thread: Option<Weak<Task>>,
    wq: Arc<WaitQueue>,
    _fwd: Arc<Forward>,
}

/// The inode number of a process's pidfds (the same for every pidfd of one process, as
/// pidfs gives them).
fn ino_of(tg: &Arc<ThreadGroup>, tid: i32) -> u64 {
    type Inos = HashMap<(usize, i32), (Weak<ThreadGroup>, u64)>;
    static INOS: Mutex<Option<Inos>> = Mutex::new(None);
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0x1000);
    let mut g = INOS.lock().unwrap_or_else(|e| e.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    let key = (Arc::as_ptr(tg) as usize, tid);
    if let Some((w, ino)) = m.get(&key) {
        if w.strong_count() > 0 {
            return *ino;
        }
    }
    if m.len() > 4096 {
        m.retain(|_, (w, _)| w.strong_count() > 0);
    }
    let ino = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    m.insert(key, (Arc::downgrade(tg), ino));
    ino
}

/// A pidfd for `tg` (or for its thread `thread`). `flags`: O_NONBLOCK, PIDFD_THREAD.
pub fn new_file(tg: &Arc<ThreadGroup>, thread: Option<&Arc<Task>>, flags: u32) -> Arc<File> {
    let wq = Arc::new(WaitQueue::new());
    let fwd = Arc::new(Forward(wq.clone()));
    tg.child_wait
        .add_hook(Arc::downgrade(&fwd) as Weak<dyn WaitHook>, false);
    let pid = thread.map_or(tg.tgid, |t| t.tid);
    let inode = AnonInode::new(0o700, ino_of(tg, pid));
    File::new(
        dentry::anon_loc(b"anon_inode:[pidfd]", inode),
        oflags::O_RDWR | (flags & (oflags::O_NONBLOCK | PIDFD_THREAD)),
        Box::new(PidFd {
            tg: tg.clone(),
            pid,
            thread: thread.map(Arc::downgrade),
            wq,
            _fwd: fwd,
        }),
    )
}

impl PidFd {
    pub fn of(f: &File) -> Option<&PidFd> {
        f.ops().as_any().and_then(|a| a.downcast_ref::<PidFd>())
    }

    pub fn group(&self) -> &Arc<ThreadGroup> {
        &self.tg
    }

    /// Whether this is a thread pidfd of a thread other than the leader.
    pub fn is_thread(&self) -> bool {
        self.thread.is_some()
    }

    /// The process has not been reaped (it may be a zombie).
    pub fn alive(&self) -> bool {
        let procs = kernel().procs.lock().unwrap();
        procs
            .groups
            .get(&self.tg.tgid)
            .is_some_and(|g| Arc::ptr_eq(g, &self.tg))
    }

    /// All its threads have exited.
    pub fn exited(&self) -> bool {
        self.tg.lock().threads.is_empty()
    }

    /// The live thread it stands for (a thread pidfd), or a live thread of the process.
    pub fn task(&self) -> Option<Arc<Task>> {
        if let Some(w) = &self.thread {
            return w.upgrade().filter(|t| {
                kernel()
                    .procs
                    .lock()
                    .unwrap()
                    .task(t.tid)
                    .is_some_and(|x| Arc::ptr_eq(&x, t))
            });
        }
        let procs = kernel().procs.lock().unwrap();
        procs.threads_of(&self.tg).into_iter().next()
    }
}

impl FileOps for PidFd {
    fn seekable(&self) -> bool {
        false
    }

    fn poll(&self, _f: &File) -> u32 {
        if self.thread.is_some() && self.task().is_none() {
            return POLLIN | POLLRDNORM | POLLHUP;
        }
        if !self.alive() {
            POLLIN | POLLRDNORM | POLLHUP
        } else if self.exited() {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.wq.clone())
    }

    fn name(&self) -> Option<String> {
        Some("anon_inode:[pidfd]".into())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn fdinfo(&self, _f: &File) -> String {
        let live = match &self.thread {
            Some(_) => self.task().is_some(),
            None => self.alive(),
        };
        let nr = if live { self.pid } else { -1 };
        format!("Pid:\t{nr}\nNSpid:\t{nr}\n")
    }
}
