//! epoll instances, as Linux's eventpoll.
//!
//! An interest ("item") is keyed by (open file, fd number), like Linux's (struct file *,
//! fd): it holds no reference to the file, so it goes away when the last reference to the
//! open file does (noticed lazily: the file's id is never reused, and an item whose file is
//! gone is dropped when it next comes up). Each item registers a `WaitHook` on the file's
//! wait queue; a notification whose key matches the item's events puts it on the ready
//! list and wakes epoll_wait (Linux's ep_poll_callback). epoll_wait looks only at the
//! ready list, polls each item there once, reports it, and puts level-triggered items back
//! at the tail: the work is O(ready), never O(interests).
//!
//! An epoll file is itself pollable (readable while an item on its ready list is ready),
//! so epolls nest; the nesting rules are Linux's: no cycles, and no chain of more than
//! five epolls (ELOOP).

use super::anon::anon_inode_file;
use crate::vfs::inode::{POLLIN, POLLRDNORM};
use crate::vfs::{File, FileOps};
use crate::wait::{WaitHook, WaitQueue};
use abi::Errno;
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

pub const EPOLLIN: u32 = 0x001;
pub const EPOLLOUT: u32 = 0x004;
pub const EPOLLERR: u32 = 0x008;
pub const EPOLLHUP: u32 = 0x010;
pub const EPOLLRDHUP: u32 = 0x2000;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;
/// Bits that say how to report, not what.
const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// What an EPOLLEXCLUSIVE interest may ask for.
pub const EPOLLEXCLUSIVE_OK_BITS: u32 =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// The longest chain of nested epolls (Linux's EP_MAX_NESTS + 1).
const MAX_CHAIN: usize = 5;

/// Serializes additions of epolls into epolls, so the loop and depth checks see a stable
/// graph (Linux's epnested_mutex).
static NEST: Mutex<()> = Mutex::new(());

pub struct Epoll {
    me: Weak<Epoll>,
    st: Mutex<State>,
    /// epoll_wait sleepers, and watchers of this epoll file (poll, enclosing epolls).
    wq: Arc<WaitQueue>,
    /// Epolls that have this one as an interest (for the depth check).
    parents: Mutex<Vec<Weak<Epoll>>>,
}

#[derive(Default)]
struct State {
    items: HashMap<(u64, i32), Arc<Item>>,
    ready: VecDeque<Arc<Item>>,
    /// Item count after the last sweep of items whose file is gone.
    swept: usize,
}

/// One interest. Its mutable fields change only under the epoll's state lock.
struct Item {
    me: Weak<Item>,
    ep: Weak<Epoll>,
    file: Weak<File>,
    key: (u64, i32),
    events: AtomicU32,
    data: AtomicU64,
    /// On the ready list, or in an epoll_wait's batch.
    queued: AtomicBool,
    /// Notified while in a batch: goes back on the ready list after it.
    again: AtomicBool,
    removed: AtomicBool,
    /// Where the hook is registered.
    queue: Option<Arc<WaitQueue>>,
    /// The epoll this interest watches, if it is one.
    child: Option<Weak<Epoll>>,
}

impl Item {
    fn hook(&self) -> Weak<dyn WaitHook> {
        self.me.clone() as Weak<dyn WaitHook>
    }
}

impl WaitHook for Item {
    /// Linux's ep_poll_callback.
    fn notify(&self, key: u32) -> bool {
        let Some(ep) = self.ep.upgrade() else {
            return false;
        };
        let ev = self.events.load(Ordering::Acquire);
        {
            let mut st = ep.st.lock().unwrap();
            if self.removed.load(Ordering::Acquire) || ev & !EP_PRIVATE_BITS == 0 {
                return false;
            }
            if key != 0 && key & ev == 0 {
                return false;
            }
            if self.queued.load(Ordering::Acquire) {
                self.again.store(true, Ordering::Release);
            } else if let Some(me) = self.me.upgrade() {
                self.queued.store(true, Ordering::Release);
                st.ready.push_back(me);
            }
        }
        let active = ep.wq.is_active();
        ep.wq.notify(POLLIN | POLLRDNORM);
        // An exclusive interest counts as a wake-up when it woke someone of its own.
        ev & EPOLLEXCLUSIVE == 0 || active
    }
}

impl Epoll {
    pub fn new() -> Arc<Epoll> {
        Arc::new_cyclic(|me| Epoll {
            me: me.clone(),
            st: Mutex::new(State::default()),
            wq: Arc::new(WaitQueue::new()),
            parents: Mutex::new(Vec::new()),
        })
    }

    /// The epoll behind an open file, if it is one.
    pub fn of(f: &File) -> Option<Arc<Epoll>> {
        f.ops()
            .as_any()
            .and_then(|a| a.downcast_ref::<EpollFile>())
            .map(|e| e.ep.clone())
    }

    /// epoll_create: a new epoll file.
    pub fn new_file(flags: u32) -> Arc<File> {
        anon_inode_file("eventpoll", flags, Box::new(EpollFile { ep: Epoll::new() }))
    }

    pub fn queue(&self) -> &Arc<WaitQueue> {
        &self.wq
    }

    /// EPOLL_CTL_ADD. `events` already carries EPOLLERR | EPOLLHUP.
    pub fn add(&self, file: &Arc<File>, fd: i32, events: u32, data: u64) -> Result<(), Errno> {
        let key = (file.id, fd);
        if self.st.lock().unwrap().items.contains_key(&key) {
            return Err(Errno::EEXIST);
        }
        let child = Epoll::of(file);
        // Held across the insertion, so that two additions cannot make a cycle together.
        let _nest = child.as_ref().map(|_| NEST.lock().unwrap());
        if let Some(c) = &child {
            let me = self.me.upgrade().ok_or(Errno::EINVAL)?;
            if c.reaches(&me, 0) || self.height(0) + c.depth(0) > MAX_CHAIN {
                return Err(Errno::ELOOP);
            }
        }
        let queue = file.ops().wait_queue();
        let item = Arc::new_cyclic(|me| Item {
            me: me.clone(),
            ep: self.me.clone(),
            file: Arc::downgrade(file),
            key,
            events: AtomicU32::new(events),
            data: AtomicU64::new(data),
            queued: AtomicBool::new(false),
            again: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            queue: queue.clone(),
            child: child.as_ref().map(Arc::downgrade),
        });
        {
            let mut st = self.st.lock().unwrap();
            if st.items.contains_key(&key) {
                return Err(Errno::EEXIST);
            }
            if st.items.len() >= 2 * st.swept.max(64) {
                st.items.retain(|_, it| it.file.strong_count() > 0);
                st.swept = st.items.len();
            }
            st.items.insert(key, item.clone());
        }
        if let Some(q) = &queue {
            q.add_hook(item.hook(), events & EPOLLEXCLUSIVE != 0);
        }
        if let Some(c) = &child {
            c.parents.lock().unwrap().push(self.me.clone());
        }
        if file.poll() & events != 0 {
            self.make_ready(&item);
        }
        Ok(())
    }

    /// EPOLL_CTL_MOD. `events` already carries EPOLLERR | EPOLLHUP.
    pub fn modify(&self, file: &Arc<File>, fd: i32, events: u32, data: u64) -> Result<(), Errno> {
        let item = {
            let st = self.st.lock().unwrap();
            let item = st.items.get(&(file.id, fd)).cloned().ok_or(Errno::ENOENT)?;
            if item.events.load(Ordering::Acquire) & EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
            item.events.store(events, Ordering::Release);
            item.data.store(data, Ordering::Release);
            item
        };
        if file.poll() & events != 0 {
            self.make_ready(&item);
        }
        Ok(())
    }

    /// EPOLL_CTL_DEL.
    pub fn delete(&self, file: &Arc<File>, fd: i32) -> Result<(), Errno> {
        let item = {
            let mut st = self.st.lock().unwrap();
            let item = st.items.remove(&(file.id, fd)).ok_or(Errno::ENOENT)?;
            item.removed.store(true, Ordering::Release);
            if item.queued.load(Ordering::Acquire) {
                st.ready.retain(|x| !Arc::ptr_eq(x, &item));
            }
            item
        };
        self.unlink(&item);
        Ok(())
    }

    /// Detaches a removed item from what it watches.
    fn unlink(&self, item: &Item) {
        if let Some(q) = &item.queue {
            q.remove_hook(&item.hook());
        }
        if let Some(c) = item.child.as_ref().and_then(|c| c.upgrade()) {
            c.parents
                .lock()
                .unwrap()
                .retain(|p| p.strong_count() > 0 && !Weak::ptr_eq(p, &self.me));
        }
    }

    fn make_ready(&self, item: &Arc<Item>) {
        {
            let mut st = self.st.lock().unwrap();
            if item.removed.load(Ordering::Acquire) {
                return;
            }
            if item.queued.load(Ordering::Acquire) {
                item.again.store(true, Ordering::Release);
            } else {
                item.queued.store(true, Ordering::Release);
                st.ready.push_back(item.clone());
            }
        }
        self.wq.notify(POLLIN | POLLRDNORM);
    }

    /// Whether `target` is this epoll or nested below it.
    fn reaches(&self, target: &Arc<Epoll>, depth: usize) -> bool {
        if std::ptr::eq(self, Arc::as_ptr(target)) {
            return true;
        }
        if depth > 2 * MAX_CHAIN {
            return true;
        }
        self.children().iter().any(|c| c.reaches(target, depth + 1))
    }

    /// Epolls directly below this one.
    fn children(&self) -> Vec<Arc<Epoll>> {
        let st = self.st.lock().unwrap();
        st.items
            .values()
            .filter(|it| it.file.strong_count() > 0)
            .filter_map(|it| it.child.as_ref().and_then(|c| c.upgrade()))
            .collect()
    }

    /// The longest chain of epolls from this one down (1: none below).
    fn depth(&self, level: usize) -> usize {
        if level > 2 * MAX_CHAIN {
            return level;
        }
        1 + self
            .children()
            .iter()
            .map(|c| c.depth(level + 1))
            .max()
            .unwrap_or(0)
    }

    /// The longest chain of epolls from this one up (1: in none).
    fn height(&self, level: usize) -> usize {
        if level > 2 * MAX_CHAIN {
            return level;
        }
        let parents: Vec<Arc<Epoll>> = {
            let mut p = self.parents.lock().unwrap();
            p.retain(|x| x.strong_count() > 0);
            p.iter().filter_map(|x| x.upgrade()).collect()
        };
        1 + parents
            .iter()
            .map(|p| p.height(level + 1))
            .max()
            .unwrap_or(0)
    }

    /// Takes the ready list for a scan: every item stays marked queued meanwhile.
    fn take_batch(&self) -> Vec<Arc<Item>> {
        let mut st = self.st.lock().unwrap();
        let batch: Vec<Arc<Item>> = st.ready.drain(..).collect();
        for it in &batch {
            it.again.store(false, Ordering::Release);
        }
        batch
    }

    /// epoll_wait's work: reports up to `max` ready events through `emit(index, events,
    /// data)`, as Linux's ep_send_events. Ok(0) when nothing is ready.
    pub fn send_events(
        &self,
        max: usize,
        emit: &mut dyn FnMut(usize, u32, u64) -> Result<(), Errno>,
    ) -> Result<usize, Errno> {
        let batch = self.take_batch();
        if batch.is_empty() {
            return Ok(0);
        }
        let mut n = 0usize;
        let mut fault = None;
        // (item, what happens to it): 0 not ready, 1 reported (level), 2 reported and
        // done until the next notification (edge, oneshot), 3 not looked at.
        let mut fate: Vec<(Arc<Item>, u8)> = Vec::with_capacity(batch.len());
        let mut dead: Vec<(u64, i32)> = Vec::new();
        for it in batch {
            if n >= max || fault.is_some() || it.removed.load(Ordering::Acquire) {
                let f = if it.removed.load(Ordering::Acquire) {
                    0
                } else {
                    3
                };
                fate.push((it, f));
                continue;
            }
            let Some(file) = it.file.upgrade() else {
                dead.push(it.key);
                fate.push((it, 0));
                continue;
            };
            let ev = it.events.load(Ordering::Acquire);
            let r = file.poll() & ev & !EP_PRIVATE_BITS;
            drop(file);
            if r == 0 {
                fate.push((it, 0));
                continue;
            }
            if let Err(e) = emit(n, r, it.data.load(Ordering::Acquire)) {
                fault = Some(e);
                fate.push((it, 3));
                continue;
            }
            n += 1;
            let f = if ev & EPOLLONESHOT != 0 {
                let st = self.st.lock().unwrap();
                // Disarmed until EPOLL_CTL_MOD (unless it changed meanwhile).
                if it.events.load(Ordering::Acquire) == ev {
                    it.events.store(ev & EP_PRIVATE_BITS, Ordering::Release);
                }
                drop(st);
                2
            } else if ev & EPOLLET != 0 {
                2
            } else {
                1
            };
            fate.push((it, f));
        }
        {
            let mut st = self.st.lock().unwrap();
            for k in dead {
                if let Some(it) = st.items.remove(&k) {
                    it.removed.store(true, Ordering::Release);
                    // (Takes the queue's and the child's locks, never this epoll's.)
                    self.unlink(&it);
                }
            }
            // Items not looked at go back in front, in order; level-triggered ones that
            // were reported, and any notified meanwhile, go to the tail.
            let mut front = Vec::new();
            let mut tail = Vec::new();
            for (it, f) in fate {
                if it.removed.load(Ordering::Acquire) {
                    it.queued.store(false, Ordering::Release);
                    continue;
                }
                let again = it.again.swap(false, Ordering::AcqRel)
                    && it.events.load(Ordering::Acquire) & !EP_PRIVATE_BITS != 0;
                match f {
                    3 => front.push(it),
                    1 => tail.push(it),
                    _ if again => tail.push(it),
                    _ => it.queued.store(false, Ordering::Release),
                }
            }
            for it in front.into_iter().rev() {
                st.ready.push_front(it);
            }
            st.ready.extend(tail);
        }
        match fault {
            Some(e) if n == 0 => Err(e),
            _ => Ok(n),
        }
    }

    /// Whether an item on the ready list is really ready (the epoll file's own poll).
    fn poll_ready(&self) -> bool {
        let batch: Vec<Arc<Item>> = self.st.lock().unwrap().ready.iter().cloned().collect();
        batch.iter().any(|it| {
            !it.removed.load(Ordering::Acquire)
                && it.file.upgrade().is_some_and(|f| {
                    f.poll() & it.events.load(Ordering::Acquire) & !EP_PRIVATE_BITS != 0
                })
        })
    }

    /// /proc/PID/fdinfo lines, one per live interest.
    fn fdinfo(&self) -> String {
        let mut items: Vec<Arc<Item>> = self.st.lock().unwrap().items.values().cloned().collect();
        items.sort_by_key(|it| (it.key.1, it.key.0));
        let mut o = String::new();
        for it in items {
            let Some(f) = it.file.upgrade() else { continue };
            let st = f.stat().unwrap_or_default();
            let sdev = (crate::vfs::stat::major(st.dev) << 20) | crate::vfs::stat::minor(st.dev);
            let _ = writeln!(
                o,
                "tfd: {:8} events: {:8x} data: {:16x}  pos:{} ino:{:x} sdev:{:x}",
                it.key.1,
                it.events.load(Ordering::Acquire),
                it.data.load(Ordering::Acquire),
                if f.seekable() { f.pos() as i64 } else { 0 },
                st.ino,
                sdev
            );
        }
        o
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        let items: Vec<Arc<Item>> = match self.st.get_mut() {
            Ok(st) => st.items.drain().map(|(_, v)| v).collect(),
            Err(_) => return,
        };
        for it in items {
            it.removed.store(true, Ordering::Release);
            if let Some(q) = &it.queue {
                q.remove_hook(&it.hook());
            }
        }
    }
}

/// The open epoll file.
pub struct EpollFile {
    ep: Arc<Epoll>,
}

impl FileOps for EpollFile {
    crate::noop_llseek!();
    fn poll(&self, _f: &File) -> u32 {
        if self.ep.poll_ready() {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }
    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.ep.wq.clone())
    }
    fn name(&self) -> Option<String> {
        Some("anon_inode:[eventpoll]".into())
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
    fn fdinfo(&self, _f: &File) -> String {
        self.ep.fdinfo()
    }
}
