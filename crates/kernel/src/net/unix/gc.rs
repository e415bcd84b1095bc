//! Descriptors in flight (SCM_RIGHTS messages not yet received) and the collector of
//! unix sockets that only in-flight messages keep alive.
//!
//! A socket whose file is referenced only by queued messages, and only by messages
//! queued on such sockets, can never be received again: a cycle (a socket sent over
//! itself, or two sent to each other) would otherwise live forever. As Linux's unix_gc,
//! the collector finds the candidates (every reference to the file is in flight), keeps
//! those reachable from a message on a socket outside the candidates, and purges the
//! receive queues of the rest, which frees them.

use super::{live_socks, sock_of_file, UnixSock};
use crate::vfs::File;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Unix socket files in flight, over all sockets.
static TOTAL: AtomicUsize = AtomicUsize::new(0);

/// Descriptors in flight per user (Linux's user->unix_inflight, for ETOOMANYREFS).
fn per_user() -> &'static Mutex<HashMap<u32, usize>> {
    static U: OnceLock<Mutex<HashMap<u32, usize>>> = OnceLock::new();
    U.get_or_init(|| Mutex::new(HashMap::new()))
}

pub(super) fn user_inflight(uid: u32) -> usize {
    per_user().lock().unwrap().get(&uid).copied().unwrap_or(0)
}

/// `fds` were queued by user `uid`.
pub(super) fn inflight(fds: &[Arc<File>], uid: u32) {
    if fds.is_empty() {
        return;
    }
    *per_user().lock().unwrap().entry(uid).or_insert(0) += fds.len();
    for f in fds {
        if let Some(s) = sock_of_file(f) {
            s.inflight.fetch_add(1, Ordering::AcqRel);
            TOTAL.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// `fds` left flight (received, or dropped with their message).
pub(super) fn not_inflight(fds: &[Arc<File>], uid: u32) {
    if fds.is_empty() {
        return;
    }
    if let Some(n) = per_user().lock().unwrap().get_mut(&uid) {
        *n = n.saturating_sub(fds.len());
    }
    for f in fds {
        if let Some(s) = sock_of_file(f) {
            s.inflight.fetch_sub(1, Ordering::AcqRel);
            TOTAL.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// Runs the collector if any socket is in flight (called when a socket is released).
pub(super) fn maybe_collect() {
    if TOTAL.load(Ordering::Acquire) > 0 {
        collect();
    }
}

/// The files queued on `s` (and, for a listener, on its queued connections).
fn queued_files(s: &UnixSock) -> Vec<Arc<File>> {
    let st = s.lock();
    let mut v = Vec::new();
    for skb in &st.rx {
        v.extend(skb.fds.iter().cloned());
        if let Some(e) = &skb.conn {
            let es = e.lock();
            for k in &es.rx {
                v.extend(k.fds.iter().cloned());
            }
        }
    }
    v
}

fn collect() {
    static RUNNING: Mutex<()> = Mutex::new(());
    let Ok(_g) = RUNNING.try_lock() else {
        return;
    };
    let socks = live_socks();
    // Every in-flight unix socket file, with how many queued messages hold it.
    let mut files: HashMap<usize, (Arc<File>, Arc<UnixSock>, usize)> = HashMap::new();
    let mut queues: HashMap<u64, Vec<Arc<File>>> = HashMap::new();
    for s in &socks {
        let q = queued_files(s);
        for f in &q {
            if let Some(u) = sock_of_file(f) {
                let e = files
                    .entry(Arc::as_ptr(f) as *const u8 as usize)
                    .or_insert_with(|| (f.clone(), u, 0));
                e.2 += 1;
            }
        }
        queues.insert(s.id, q);
    }
    // Candidates: every reference to the file is a queued message (plus the two this
    // function holds: the map's and the queue snapshot's).
    let mut cand: HashMap<u64, (usize, usize)> = HashMap::new(); // sock id -> (key, inflight)
    for (k, (f, u, n)) in &files {
        if Arc::strong_count(f) == n + n + 1 {
            cand.insert(u.id, (*k, *n));
        }
    }
    if cand.is_empty() {
        return;
    }
    // References to candidates from candidates' queues.
    let mut internal: HashMap<u64, usize> = HashMap::new();
    for id in cand.keys() {
        for f in queues.get(id).map(|v| v.as_slice()).unwrap_or(&[]) {
            if let Some(u) = sock_of_file(f) {
                if cand.contains_key(&u.id) {
                    *internal.entry(u.id).or_insert(0) += 1;
                }
            }
        }
    }
    // Reachable from outside: alive, and so is everything their queues hold.
    let mut alive: Vec<u64> = cand
        .iter()
        .filter(|(id, (_, n))| *n > internal.get(id).copied().unwrap_or(0))
        .map(|(id, _)| *id)
        .collect();
    let mut i = 0;
    while i < alive.len() {
        let id = alive[i];
        for f in queues.get(&id).map(|v| v.as_slice()).unwrap_or(&[]) {
            if let Some(u) = sock_of_file(f) {
                if cand.contains_key(&u.id) && !alive.contains(&u.id) {
                    alive.push(u.id);
                }
            }
        }
        i += 1;
    }
    let garbage: Vec<Arc<UnixSock>> = files
        .values()
        .filter(|(_, u, _)| cand.contains_key(&u.id) && !alive.contains(&u.id))
        .map(|(_, u, _)| u.clone())
        .collect();
    drop(queues);
    drop(files);
    // Purge their queues (connection requests stay for the listener's release); the
    // skbs, and the files in them, are dropped outside the locks.
    for s in garbage {
        let (gone, conns) = {
            let mut st = s.lock();
            let mut keep = std::collections::VecDeque::new();
            let mut gone = Vec::new();
            let mut conns = Vec::new();
            for k in st.rx.drain(..) {
                if let Some(e) = &k.conn {
                    conns.push(e.clone());
                    keep.push_back(k);
                } else {
                    gone.push(k);
                }
            }
            st.rx = keep;
            st.inq = 0;
            (gone, conns)
        };
        for e in conns {
            let inner: Vec<super::Skb> = {
                let mut es = e.lock();
                es.inq = 0;
                es.rx.drain(..).collect()
            };
            drop(inner);
        }
        drop(gone);
    }
}
