//! The one wait primitive: a task sleeps on its `Waker` (an eventfd, so that host fds can
//! be waited on together with kernel events) after registering it on `WaitQueue`s.

use std::sync::{Arc, Mutex};
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

/// Wakers of the tasks waiting for something.
#[derive(Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<Arc<Waker>>>,
}

impl WaitQueue {
    pub fn new() -> WaitQueue {
        WaitQueue::default()
    }

    pub fn add(&self, w: &Arc<Waker>) {
        let mut v = self.waiters.lock().unwrap();
        if !v.iter().any(|x| Arc::ptr_eq(x, w)) {
            v.push(w.clone());
        }
    }

    pub fn remove(&self, w: &Arc<Waker>) {
        self.waiters.lock().unwrap().retain(|x| !Arc::ptr_eq(x, w));
    }

    /// Wakes every waiter (they re-check their condition).
    pub fn notify_all(&self) {
        let v = std::mem::take(&mut *self.waiters.lock().unwrap());
        for w in v {
            w.wake();
        }
    }
}
