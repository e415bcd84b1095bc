//! Wait queues for host fds (the sandbox's imported stdio): one host epoll instance,
//! watched by one kernel thread, turns readiness changes of host fds into notifications of
//! kernel `WaitQueue`s, so poll, select and epoll treat host fds like every other file.
//!
//! Each watched host fd is registered edge-triggered, through a private dup, in a host epoll
//! of its own (so that the registration's lifetime is the watcher's, whatever happens to
//! the fd numbers of the files using it, and so that the edge of the registration itself
//! can be taken at once); an edge is exactly "readiness may have changed". A host fd the
//! host cannot poll (a regular file, /dev/null: EPERM) has no queue and is always ready.

use crate::vfs::inode::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI};
use crate::wait::WaitQueue;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock, Weak};

struct Entry {
    /// The file this entry watches; the entry goes when it does.
    owner: Weak<OwnedFd>,
    /// The entry's own host epoll, holding a dup of the fd (edge-triggered); it sits in
    /// the watcher's epoll.
    own: i32,
    wq: Arc<WaitQueue>,
}

struct Watcher {
    epfd: i32,
    /// Keyed by the address of the watched `OwnedFd` (checked against `owner`).
    entries: Mutex<HashMap<usize, Entry>>,
}

fn watcher() -> Option<&'static Watcher> {
    static W: OnceLock<Option<Watcher>> = OnceLock::new();
    W.get_or_init(|| {
        // SAFETY: plain host call.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return None;
        }
        std::thread::Builder::new()
            .name("hostwatch".into())
            .spawn(run)
            .ok()?;
        Some(Watcher {
            epfd,
            entries: Mutex::new(HashMap::new()),
        })
    })
    .as_ref()
}

/// The wait queue notified when host fd `fd` may have changed readiness, or None if the
/// host cannot poll it.
pub fn queue(fd: &Arc<OwnedFd>) -> Option<Arc<WaitQueue>> {
    let w = watcher()?;
    let key = Arc::as_ptr(fd) as usize;
    let mut g = w.entries.lock().unwrap();
    if let Some(e) = g.get(&key) {
        if e.owner.strong_count() > 0 {
            return Some(e.wq.clone());
        }
    }
    // Entries of files that are gone leave first (their key may be this one).
    let dead: Vec<usize> = g
        .iter()
        .filter(|(_, e)| e.owner.strong_count() == 0)
        .map(|(k, _)| *k)
        .collect();
    for k in dead {
        if let Some(e) = g.remove(&k) {
            forget(w.epfd, e.own);
        }
    }
    // SAFETY: duplicating a host fd we hold.
    let dup = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return None;
    }
    // The dup goes into an epoll of its own, edge-triggered; the edge its registration
    // reports at once (the fd's current readiness) is taken here, so that only changes
    // from now on become notifications. That epoll sits in the watcher's.
    // SAFETY: plain host call.
    let own = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if own < 0 {
        // SAFETY: our own dup.
        unsafe { libc::close(dup) };
        return None;
    }
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLET)
            as u32,
        u64: 0,
    };
    let mut outer = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: key as u64,
    };
    // SAFETY: valid epoll fds, fds and events.
    let ok = unsafe {
        libc::epoll_ctl(own, libc::EPOLL_CTL_ADD, dup, &mut ev) == 0 && {
            let _ = libc::epoll_wait(own, &mut ev, 1, 0);
            libc::epoll_ctl(w.epfd, libc::EPOLL_CTL_ADD, own, &mut outer) == 0
        }
    };
    // SAFETY: our own dup: the registration holds the open file.
    unsafe { libc::close(dup) };
    if !ok {
        // SAFETY: our own epoll.
        unsafe { libc::close(own) };
        return None;
    }
    let wq = Arc::new(WaitQueue::new());
    g.insert(
        key,
        Entry {
            owner: Arc::downgrade(fd),
            own,
            wq: wq.clone(),
        },
    );
    Some(wq)
}

fn forget(epfd: i32, own: i32) {
    // SAFETY: our own registration and epoll (closing it drops the dup's registration).
    unsafe {
        libc::epoll_ctl(epfd, libc::EPOLL_CTL_DEL, own, std::ptr::null_mut());
        libc::close(own);
    }
}

fn run() {
    // Waits for the initialisation that spawned this thread to finish.
    let Some(w) = watcher() else { return };
    let mut evs = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
    loop {
        // SAFETY: valid epoll fd and buffer.
        let n = unsafe { libc::epoll_wait(w.epfd, evs.as_mut_ptr(), evs.len() as i32, -1) };
        if n <= 0 {
            continue;
        }
        let mut wake: Vec<(Arc<WaitQueue>, u32)> = Vec::new();
        {
            let mut g = w.entries.lock().unwrap();
            for ev in &evs[..n as usize] {
                let key = ev.u64 as usize;
                let Some(e) = g.get(&key) else { continue };
                if e.owner.strong_count() == 0 {
                    let e = g.remove(&key).unwrap();
                    forget(w.epfd, e.own);
                    continue;
                }
                // Take the edge (the entry's epoll stays readable until then).
                let mut inner = libc::epoll_event { events: 0, u64: 0 };
                // SAFETY: our own epoll and a local event.
                if unsafe { libc::epoll_wait(e.own, &mut inner, 1, 0) } == 1 {
                    wake.push((e.wq.clone(), key_of(inner.events)));
                }
            }
        }
        for (q, k) in wake {
            q.notify(k);
        }
    }
}

/// Host epoll bits as the kernel's POLL* wake-up key.
fn key_of(ev: u32) -> u32 {
    let mut k = 0;
    for (h, m) in [
        (libc::EPOLLIN as u32, POLLIN),
        (libc::EPOLLOUT as u32, POLLOUT),
        (libc::EPOLLPRI as u32, POLLPRI),
        (libc::EPOLLERR as u32, POLLERR),
        (libc::EPOLLHUP as u32, POLLHUP | POLLIN),
        (libc::EPOLLRDHUP as u32, POLLIN | 0x2000),
    ] {
        if ev & h != 0 {
            k |= m;
        }
    }
    k
}
