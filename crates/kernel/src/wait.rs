//! The one wait primitive: a task sleeps on its `Waker` (an eventfd, so that host fds can
//! be waited on together with kernel events) after registering it on `WaitQueue`s.

use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

/// A task's wake-up channel.
pub struct Waker {
    efd: i32,
}

impl Waker {
    pub fn new() -> Arc<Waker> {
        // SAFETY: plain host call.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        assert!(efd >= 0, "eventfd: {}", std::io::Error::last_os_error());
        Arc::new(Waker { efd })
    }

    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a local.
        unsafe { libc::write(self.efd, &one as *const u64 as *const _, 8) };
    }

    /// Clears a pending wake-up.
    pub fn reset(&self) {
        let mut v: u64 = 0;
        // SAFETY: reading 8 bytes into a local.
        unsafe { libc::read(self.efd, &mut v as *mut u64 as *mut _, 8) };
    }

    /// Sleeps until woken, the deadline passes, or `host` (fd, events) is ready.
    /// Returns true if the host fd became ready.
    pub fn sleep(&self, deadline: Option<Instant>, host: Option<(i32, i16)>) -> bool {
        let mut fds = [
            libc::pollfd {
                fd: self.efd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: -1,
                events: 0,
                revents: 0,
            },
        ];
        let mut n = 1;
        if let Some((fd, ev)) = host {
            fds[1] = libc::pollfd {
                fd,
                events: ev,
                revents: 0,
            };
            n = 2;
        }
        let ts = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            libc::timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
                tv_nsec: left.subsec_nanos() as i64,
            }
        });
        let tsp = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: fds is a valid array of n pollfds; tsp is null or points to a local.
        unsafe { libc::ppoll(fds.as_mut_ptr(), n, tsp, std::ptr::null()) };
        self.reset();
        n == 2 && fds[1].revents != 0
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // SAFETY: closing our own fd.
        unsafe { libc::close(self.efd) };
    }
}

/// Something other than a sleeping task that wants to hear when a queue is notified: an
/// epoll interest (Linux's ep_poll_callback), or a forwarder from one queue to another.
/// Hooks stay registered until removed (a task's waker is taken by each notification).
pub trait WaitHook: Send + Sync {
    /// The queue was notified with `key` (POLL* bits that may have changed; 0: anything).
    /// Called without the queue's lock held. Returns true if it woke a waiter of its own
    /// (an exclusive hook that did so ends the notification, as Linux's wake-one).
    fn notify(&self, key: u32) -> bool;
}

#[derive(Default)]
struct Inner {
    waiters: Vec<Arc<Waker>>,
    /// Registered hooks; exclusive ones (EPOLLEXCLUSIVE) after the others.
    hooks: Vec<(Weak<dyn WaitHook>, bool)>,
}

/// Wakers of the tasks waiting for something, and hooks of those watching it.
///
/// This is the readiness hook of every pollable file: a file whose `FileOps::poll` can
/// change notifies its queue (with the POLL* bits that may have changed), and poll, select
/// and epoll need nothing else from it.
#[derive(Default)]
pub struct WaitQueue {
    inner: Mutex<Inner>,
}

impl WaitQueue {
    pub fn new() -> WaitQueue {
        WaitQueue::default()
    }

    pub fn add(&self, w: &Arc<Waker>) {
        let mut g = self.inner.lock().unwrap();
        if !g.waiters.iter().any(|x| Arc::ptr_eq(x, w)) {
            g.waiters.push(w.clone());
        }
    }

    pub fn remove(&self, w: &Arc<Waker>) {
        self.inner
            .lock()
            .unwrap()
            .waiters
            .retain(|x| !Arc::ptr_eq(x, w));
    }

    /// Registers a hook (kept until `remove_hook` or until it is dropped).
    pub fn add_hook(&self, h: Weak<dyn WaitHook>, exclusive: bool) {
        let mut g = self.inner.lock().unwrap();
        g.hooks.retain(|(x, _)| x.strong_count() > 0);
        if exclusive {
            g.hooks.push((h, true));
        } else {
            let at = g.hooks.iter().position(|x| x.1).unwrap_or(g.hooks.len());
            g.hooks.insert(at, (h, false));
        }
    }

    pub fn remove_hook(&self, h: &Weak<dyn WaitHook>) {
        self.inner
            .lock()
            .unwrap()
            .hooks
            .retain(|(x, _)| !Weak::ptr_eq(x, h) && x.strong_count() > 0);
    }

    /// Whether a task sleeps here or a hook listens (Linux's waitqueue_active).
    pub fn is_active(&self) -> bool {
        let g = self.inner.lock().unwrap();
        !g.waiters.is_empty() || g.hooks.iter().any(|(h, _)| h.strong_count() > 0)
    }

    /// Wakes every waiter (they re-check their condition) and calls the hooks.
    pub fn notify_all(&self) {
        self.notify(0)
    }

    /// Like `notify_all`, saying which POLL* bits may have changed (0: any), so that
    /// hooks interested in other events stay quiet (Linux's wake-up keys).
    pub fn notify(&self, key: u32) {
        let (ws, hooks) = {
            let mut g = self.inner.lock().unwrap();
            let ws = std::mem::take(&mut g.waiters);
            let hooks: Vec<(Arc<dyn WaitHook>, bool)> = if g.hooks.is_empty() {
                Vec::new()
            } else {
                g.hooks
                    .iter()
                    .filter_map(|(h, e)| h.upgrade().map(|h| (h, *e)))
                    .collect()
            };
            (ws, hooks)
        };
        for w in ws {
            w.wake();
        }
        for (h, exclusive) in hooks {
            if h.notify(key) && exclusive {
                break;
            }
        }
    }
}
