//! signalfd: reading dequeues pending signals of a set (the reading thread's own, then its
//! process's) as `struct signalfd_siginfo`.
//!
//! As in Linux, what a signalfd reports depends on who asks: poll and epoll look at the
//! calling task's signals, and a wait registers on the calling process's signalfd queue,
//! which every signal sent to the process (or to one of its threads) notifies.

use super::anon::{anon_inode_file, wait_or_eagain};
use crate::task::Task;
use crate::vfs::inode::{POLLIN, POLLRDNORM};
use crate::vfs::{File, FileOps};
use crate::wait::WaitQueue;
use abi::signal::*;
use abi::Errno;
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

pub const SFD_NONBLOCK: u32 = 0o4000;
pub const SFD_CLOEXEC: u32 = 0o2000000;
/// sizeof(struct signalfd_siginfo).
const SIGINFO_SIZE: usize = 128;

/// The signalfd wait queue of each process that has used one (by tgid; a queue left by a
/// dead process only gives a reused id spurious wake-ups).
static QUEUES: Mutex<Option<HashMap<i32, Weak<WaitQueue>>>> = Mutex::new(None);
/// Whether any signalfd queue exists (so that sending a signal costs nothing otherwise).
static ANY: AtomicBool = AtomicBool::new(false);

fn queue_of(tgid: i32) -> Arc<WaitQueue> {
    let mut g = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    if let Some(q) = m.get(&tgid).and_then(|w| w.upgrade()) {
        return q;
    }
    m.retain(|_, w| w.strong_count() > 0);
    let q = Arc::new(WaitQueue::new());
    m.insert(tgid, Arc::downgrade(&q));
    ANY.store(true, Ordering::Release);
    q
}

/// A signal was queued for process `tgid` or one of its threads (Linux's signalfd_notify).
pub fn notify(tgid: i32) {
    if !ANY.load(Ordering::Acquire) {
        return;
    }
    let q = {
        let g = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref()
            .and_then(|m| m.get(&tgid))
            .and_then(|w| w.upgrade())
    };
    if let Some(q) = q {
        q.notify(POLLIN | POLLRDNORM);
    }
}

pub struct SignalFd {
    mask: AtomicU64,
    /// Keeps the creating process's queue alive while the file is.
    _queue: Arc<WaitQueue>,
}

/// A new signalfd for the signals in `mask` (SIGKILL and SIGSTOP are never taken).
pub fn new_file(t: &Task, mask: u64, flags: u32) -> Arc<File> {
    anon_inode_file(
        "signalfd",
        flags,
        Box::new(SignalFd {
            mask: AtomicU64::new(mask & !UNBLOCKABLE),
            _queue: queue_of(t.tgid()),
        }),
    )
}

impl SignalFd {
    pub fn of(f: &File) -> Option<&SignalFd> {
        f.ops().as_any().and_then(|a| a.downcast_ref::<SignalFd>())
    }

    /// signalfd on an existing signalfd: a new set.
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(mask & !UNBLOCKABLE, Ordering::Release);
        if let Some(t) = crate::task::current() {
            notify(t.tgid());
        }
    }

    fn pending(&self, t: &Task) -> bool {
        let mask = self.mask.load(Ordering::Acquire);
        let shared = t.tg.lock().shared_pending.set();
        (t.sig.lock().unwrap().pending.set() | shared) & mask != 0
    }
}

/// Takes one of `t`'s pending signals in `mask`: its own first, then its process's.
fn take(t: &Task, mask: u64) -> Option<SigInfo> {
    let mut tg = t.tg.lock();
    let mut s = t.sig.lock().unwrap();
    if let Some(i) = s.pending.take_next(mask) {
        return Some(i);
    }
    drop(s);
    tg.shared_pending.take_next(mask)
}

/// Which parts of siginfo's union a signal carries (Linux's siginfo_layout).
#[derive(PartialEq)]
enum Layout {
    Kill,
    Timer,
    Poll,
    Fault,
    FaultMce,
    Chld,
    Rt,
    Sys,
}

fn layout(sig: u32, code: i32) -> Layout {
    const SI_SIGIO: i32 = -5;
    if code > SI_USER && code < SI_KERNEL {
        let (limit, l) = match sig {
            SIGILL => (11, Layout::Fault),
            SIGFPE => (15, Layout::Fault),
            SIGSEGV => (10, Layout::Fault),
            SIGBUS => (5, Layout::Fault),
            SIGTRAP => (6, Layout::Fault),
            SIGCHLD => (6, Layout::Chld),
            SIGIO => (6, Layout::Poll),
            SIGSYS => (2, Layout::Sys),
            _ => (0, Layout::Kill),
        };
        if limit > 0 && code <= limit {
            if sig == SIGBUS && (4..=5).contains(&code) {
                return Layout::FaultMce;
            }
            return l;
        }
        if code <= 6 {
            return Layout::Poll;
        }
        return Layout::Kill;
    }
    match code {
        SI_TIMER => Layout::Timer,
        SI_SIGIO => Layout::Poll,
        c if c < 0 => Layout::Rt,
        _ => Layout::Kill,
    }
}

/// `struct signalfd_siginfo` for a dequeued signal (Linux's signalfd_copyinfo).
fn to_ssi(info: &SigInfo) -> [u8; SIGINFO_SIZE] {
    let src = info.as_bytes();
    let i32_at = |o: usize| i32::from_le_bytes(src[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(src[o..o + 8].try_into().unwrap());
    let mut o = [0u8; SIGINFO_SIZE];
    let mut put32 = |off: usize, v: i32| o[off..off + 4].copy_from_slice(&v.to_le_bytes());
    put32(0, info.signo);
    put32(4, info.errno);
    put32(8, info.code);
    let mut w64: Vec<(usize, u64)> = Vec::new();
    match layout(info.signo as u32, info.code) {
        Layout::Kill => {
            put32(12, i32_at(16));
            put32(16, i32_at(20));
        }
        Layout::Timer => {
            put32(24, i32_at(16));
            put32(32, i32_at(20));
            put32(44, i32_at(24));
            w64.push((48, u64_at(24)));
        }
        Layout::Poll => {
            put32(28, u64_at(16) as i32);
            put32(20, i32_at(24));
        }
        Layout::Fault => w64.push((72, u64_at(16))),
        Layout::FaultMce => {
            w64.push((72, u64_at(16)));
            let lsb = u16::from_le_bytes(src[24..26].try_into().unwrap());
            w64.push((80, lsb as u64));
        }
        Layout::Chld => {
            put32(12, i32_at(16));
            put32(16, i32_at(20));
            put32(40, i32_at(24));
            w64.push((56, u64_at(32)));
            w64.push((64, u64_at(40)));
        }
        Layout::Rt => {
            put32(12, i32_at(16));
            put32(16, i32_at(20));
            put32(44, i32_at(24));
            w64.push((48, u64_at(24)));
        }
        Layout::Sys => {
            w64.push((88, u64_at(16)));
            put32(84, i32_at(24));
            put32(96, i32_at(28));
        }
    }
    for (off, v) in w64 {
        if off == 80 {
            o[80..82].copy_from_slice(&(v as u16).to_le_bytes());
        } else {
            o[off..off + 8].copy_from_slice(&v.to_le_bytes());
        }
    }
    o
}

impl FileOps for SignalFd {
    crate::noop_llseek!();

    fn read(&self, t: &Task, f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let count = buf.len() / SIGINFO_SIZE;
        if count == 0 {
            return Err(Errno::EINVAL);
        }
        let mask = self.mask.load(Ordering::Acquire);
        let q = queue_of(t.tgid());
        let first = wait_or_eagain(t, f, &q, || Ok(take(t, mask)))?;
        buf[..SIGINFO_SIZE].copy_from_slice(&to_ssi(&first));
        let mut n = 1;
        while n < count {
            let Some(i) = take(t, mask) else { break };
            buf[n * SIGINFO_SIZE..(n + 1) * SIGINFO_SIZE].copy_from_slice(&to_ssi(&i));
            n += 1;
        }
        Ok(n * SIGINFO_SIZE)
    }

    fn poll(&self, _f: &File) -> u32 {
        match crate::task::current() {
            Some(t) if self.pending(&t) => POLLIN | POLLRDNORM,
            _ => 0,
        }
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        crate::task::current().map(|t| queue_of(t.tgid()))
    }

    fn name(&self) -> Option<String> {
        Some("anon_inode:[signalfd]".into())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn fdinfo(&self, _f: &File) -> String {
        format!("sigmask:\t{:016x}\n", self.mask.load(Ordering::Acquire))
    }
}
