//! inotify instances: watches on files (keyed by device and inode number, so every path
//! to a file meets the same watches), an event queue with Linux's rules (an event equal
//! to the last queued one is merged; past max_queued_events one IN_Q_OVERFLOW is
//! queued), blocking and non-blocking reads, FIONREAD, and poll readiness through the
//! instance's wait queue. Events come from the VFS hooks in vfs/notify.rs.

use super::anon::AnonInode;
use crate::task::{SysResult, Task};
use crate::vfs::inode::{POLLIN, POLLRDNORM};
use crate::vfs::{dentry, oflags, File, FileOps};
use crate::wait::WaitQueue;
use abi::Errno;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

pub const IN_ACCESS: u32 = 0x1;
pub const IN_MODIFY: u32 = 0x2;
pub const IN_ATTRIB: u32 = 0x4;
pub const IN_CLOSE_WRITE: u32 = 0x8;
pub const IN_CLOSE_NOWRITE: u32 = 0x10;
pub const IN_OPEN: u32 = 0x20;
pub const IN_MOVED_FROM: u32 = 0x40;
pub const IN_MOVED_TO: u32 = 0x80;
pub const IN_CREATE: u32 = 0x100;
pub const IN_DELETE: u32 = 0x200;
pub const IN_DELETE_SELF: u32 = 0x400;
pub const IN_MOVE_SELF: u32 = 0x800;
pub const IN_UNMOUNT: u32 = 0x2000;
pub const IN_Q_OVERFLOW: u32 = 0x4000;
pub const IN_IGNORED: u32 = 0x8000;
pub const IN_ONLYDIR: u32 = 0x0100_0000;
pub const IN_DONT_FOLLOW: u32 = 0x0200_0000;
pub const IN_EXCL_UNLINK: u32 = 0x0400_0000;
pub const IN_MASK_CREATE: u32 = 0x1000_0000;
pub const IN_MASK_ADD: u32 = 0x2000_0000;
pub const IN_ISDIR: u32 = 0x4000_0000;
pub const IN_ONESHOT: u32 = 0x8000_0000;
pub const IN_ALL_EVENTS: u32 = 0xfff;
/// Every bit inotify_add_watch knows.
pub const ALL_BITS: u32 = IN_ALL_EVENTS
    | IN_UNMOUNT
    | IN_Q_OVERFLOW
    | IN_IGNORED
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
    | IN_EXCL_UNLINK
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ISDIR
    | IN_ONESHOT;

/// /proc/sys/fs/inotify limits.
pub const MAX_QUEUED_EVENTS: usize = 16384;
pub const MAX_USER_INSTANCES: usize = 128;
pub const MAX_USER_WATCHES: usize = 65536;

const FIONREAD: u32 = 0x541b;
/// sizeof(struct inotify_event).
const EVENT_HDR: usize = 16;

pub type Key = (u64, u64);

#[derive(Clone, PartialEq, Debug)]
struct Event {
    wd: i32,
    mask: u32,
    cookie: u32,
    name: Vec<u8>,
}

impl Event {
    /// Name bytes as read(2) returns them: NUL-padded to a multiple of 16.
    fn name_len(&self) -> usize {
        if self.name.is_empty() {
            0
        } else {
            (self.name.len() + 1).div_ceil(EVENT_HDR) * EVENT_HDR
        }
    }
    fn size(&self) -> usize {
        EVENT_HDR + self.name_len()
    }
}

struct Watch {
    key: Key,
    mask: u32,
}

#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    bytes: usize,
    watches: HashMap<i32, Watch>,
    by_key: HashMap<Key, i32>,
    next_wd: i32,
}

/// One inotify instance.
pub struct Inotify {
    st: Mutex<State>,
    wq: Arc<WaitQueue>,
}

/// Watches by file, across instances.
#[derive(Default)]
struct Registry {
    by_key: HashMap<Key, Vec<(Weak<Inotify>, i32)>>,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(Registry::default()))
}

/// Number of live watches: the VFS hooks do nothing while it is zero.
static WATCHES: AtomicUsize = AtomicUsize::new(0);
/// Live instances (max_user_instances).
static INSTANCES: AtomicUsize = AtomicUsize::new(0);

/// Are any watches set? (The hooks' fast path.)
pub fn active() -> bool {
    WATCHES.load(Ordering::Relaxed) != 0
}

/// A fresh rename cookie.
pub fn cookie() -> u32 {
    static C: AtomicU32 = AtomicU32::new(1);
    C.fetch_add(1, Ordering::Relaxed)
}

impl Inotify {
    /// inotify_init1: the instance's file.
    pub fn create(flags: u32) -> Result<Arc<File>, Errno> {
        if INSTANCES.fetch_add(1, Ordering::AcqRel) >= MAX_USER_INSTANCES {
            INSTANCES.fetch_sub(1, Ordering::AcqRel);
            return Err(Errno::EMFILE);
        }
        static INO: AtomicU64 = AtomicU64::new(1);
        let me = Arc::new(Inotify {
            st: Mutex::new(State {
                next_wd: 1,
                ..Default::default()
            }),
            wq: Arc::new(WaitQueue::new()),
        });
        let inode = AnonInode::new(0o600, INO.fetch_add(1, Ordering::Relaxed));
        let loc = dentry::anon_loc(b"anon_inode:inotify", inode);
        let fl = oflags::O_RDONLY | (flags & oflags::O_NONBLOCK);
        let f = File::new(loc, fl, Box::new(InotifyFile(me.clone())));
        let mut fs = files().lock().unwrap();
        fs.retain(|_, w| w.strong_count() > 0);
        fs.insert(f.id, Arc::downgrade(&me));
        Ok(f)
    }

    /// Queues an event (merging with an equal last one; overflow past the limit).
    fn queue(&self, ev: Event) {
        let mut s = self.st.lock().unwrap();
        if s.events.back() == Some(&ev) {
            return;
        }
        if s.events.len() >= MAX_QUEUED_EVENTS {
            if s.events.back().map(|e| e.mask) != Some(IN_Q_OVERFLOW) {
                let o = Event {
                    wd: -1,
                    mask: IN_Q_OVERFLOW,
                    cookie: 0,
                    name: Vec::new(),
                };
                s.bytes += o.size();
                s.events.push_back(o);
            }
        } else {
            s.bytes += ev.size();
            s.events.push_back(ev);
        }
        drop(s);
        self.wq.notify_all();
    }

    /// Removes watch `wd` from this instance and the registry, queueing IN_IGNORED.
    fn drop_watch(self: &Arc<Self>, wd: i32) {
        let key = {
            let mut s = self.st.lock().unwrap();
            let Some(w) = s.watches.remove(&wd) else {
                return;
            };
            s.by_key.remove(&w.key);
            w.key
        };
        unregister(self, key, wd);
        self.queue(Event {
            wd,
            mask: IN_IGNORED,
            cookie: 0,
            name: Vec::new(),
        });
    }

    /// inotify_add_watch on the file `key` (`is_dir` for IN_ONLYDIR, checked by the
    /// caller): the watch descriptor.
    pub fn add_watch(self: &Arc<Self>, key: Key, mask: u32) -> Result<i32, Errno> {
        let keep = mask & (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK);
        let mut s = self.st.lock().unwrap();
        if let Some(&wd) = s.by_key.get(&key) {
            if mask & IN_MASK_CREATE != 0 {
                return Err(Errno::EEXIST);
            }
            let w = s.watches.get_mut(&wd).ok_or(Errno::EINVAL)?;
            if mask & IN_MASK_ADD != 0 {
                w.mask |= keep;
            } else {
                w.mask = keep;
            }
            return Ok(wd);
        }
        if WATCHES.load(Ordering::Relaxed) >= MAX_USER_WATCHES {
            return Err(Errno::ENOSPC);
        }
        let wd = s.next_wd;
        s.next_wd = s.next_wd.checked_add(1).unwrap_or(1);
        s.watches.insert(wd, Watch { key, mask: keep });
        s.by_key.insert(key, wd);
        drop(s);
        registry()
            .lock()
            .unwrap()
            .by_key
            .entry(key)
            .or_default()
            .push((Arc::downgrade(self), wd));
        WATCHES.fetch_add(1, Ordering::AcqRel);
        Ok(wd)
    }

    /// inotify_rm_watch.
    pub fn rm_watch(self: &Arc<Self>, wd: i32) -> Result<(), Errno> {
        if !self.st.lock().unwrap().watches.contains_key(&wd) {
            return Err(Errno::EINVAL);
        }
        self.drop_watch(wd);
        Ok(())
    }
}

fn unregister(me: &Arc<Inotify>, key: Key, wd: i32) {
    let mut r = registry().lock().unwrap();
    if let Some(v) = r.by_key.get_mut(&key) {
        let before = v.len();
        v.retain(|(w, d)| !(*d == wd && std::ptr::eq(w.as_ptr(), Arc::as_ptr(me))));
        if v.len() < before {
            WATCHES.fetch_sub(before - v.len(), Ordering::AcqRel);
        }
        if v.is_empty() {
            r.by_key.remove(&key);
        }
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        INSTANCES.fetch_sub(1, Ordering::AcqRel);
        let s = self.st.get_mut().unwrap();
        let mut r = registry().lock().unwrap();
        for w in s.watches.values() {
            if let Some(v) = r.by_key.get_mut(&w.key) {
                let before = v.len();
                v.retain(|(x, _)| x.strong_count() > 0);
                WATCHES.fetch_sub(before - v.len(), Ordering::AcqRel);
                if v.is_empty() {
                    r.by_key.remove(&w.key);
                }
            }
        }
    }
}

/// The live instances watching `key`, with their watch descriptors.
fn watchers(key: Key) -> Vec<(Arc<Inotify>, i32)> {
    let r = registry().lock().unwrap();
    r.by_key
        .get(&key)
        .map(|v| {
            v.iter()
                .filter_map(|(w, wd)| w.upgrade().map(|i| (i, *wd)))
                .collect()
        })
        .unwrap_or_default()
}

/// Delivers an event on file `key` to every watch on it. `name`: the child's name for
/// events reported to a watched directory about one of its entries; `unlinked`: that
/// child is no longer in the directory (IN_EXCL_UNLINK watches skip it). `mask` may
/// carry IN_ISDIR.
pub fn deliver(key: Key, mask: u32, cookie: u32, name: &[u8], unlinked: bool) {
    let targets = watchers(key);
    for (i, wd) in targets {
        let wmask = match i.st.lock().unwrap().watches.get(&wd) {
            Some(w) => w.mask,
            None => continue,
        };
        if wmask & mask & IN_ALL_EVENTS == 0 {
            continue;
        }
        if unlinked && !name.is_empty() && wmask & IN_EXCL_UNLINK != 0 {
            continue;
        }
        i.queue(Event {
            wd,
            mask,
            cookie,
            name: name.to_vec(),
        });
        if wmask & IN_ONESHOT != 0 {
            i.drop_watch(wd);
        }
    }
}

/// The file `key` is gone (its last link and last user): IN_DELETE_SELF, then the
/// watches go with IN_IGNORED.
pub fn inode_gone(key: Key) {
    deliver(key, IN_DELETE_SELF, 0, b"", false);
    let targets = watchers(key);
    for (i, wd) in targets {
        i.drop_watch(wd);
    }
}

/// The FileOps of an inotify instance.
pub struct InotifyFile(pub Arc<Inotify>);

impl FileOps for InotifyFile {
    fn seekable(&self) -> bool {
        false
    }

    fn read(&self, t: &Task, f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let me = &self.0;
        let nonblock = f.nonblock();
        t.wait_until(&[&me.wq], None, None, || {
            let mut s = me.st.lock().unwrap();
            let Some(first) = s.events.front() else {
                return if nonblock {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
            };
            if first.size() > buf.len() {
                return Err(Errno::EINVAL);
            }
            let mut n = 0;
            while let Some(e) = s.events.front() {
                let sz = e.size();
                if n + sz > buf.len() {
                    break;
                }
                let e = s.events.pop_front().expect("front exists");
                s.bytes -= sz;
                let out = &mut buf[n..n + sz];
                out[0..4].copy_from_slice(&e.wd.to_le_bytes());
                out[4..8].copy_from_slice(&e.mask.to_le_bytes());
                out[8..12].copy_from_slice(&e.cookie.to_le_bytes());
                out[12..16].copy_from_slice(&(e.name_len() as u32).to_le_bytes());
                out[16..].fill(0);
                out[16..16 + e.name.len()].copy_from_slice(&e.name);
                n += sz;
            }
            Ok(Some(n))
        })
    }

    fn ioctl(&self, t: &Task, _f: &File, cmd: u32, arg: u64) -> SysResult {
        match cmd {
            FIONREAD => {
                let n = self.0.st.lock().unwrap().bytes as i32;
                t.write_val(arg, &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn poll(&self, _f: &File) -> u32 {
        if self.0.st.lock().unwrap().events.is_empty() {
            0
        } else {
            POLLIN | POLLRDNORM
        }
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.0.wq.clone())
    }

    fn nread(&self) -> Option<usize> {
        Some(self.0.st.lock().unwrap().bytes)
    }

    fn name(&self) -> Option<String> {
        Some("anon_inode:inotify".to_string())
    }

    fn fdinfo(&self, f: &File) -> String {
        fdinfo_lines(f)
    }
}

/// Instances by the id of their file (inotify_add_watch finds them from an fd).
fn files() -> &'static Mutex<HashMap<u64, Weak<Inotify>>> {
    static F: OnceLock<Mutex<HashMap<u64, Weak<Inotify>>>> = OnceLock::new();
    F.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The instance behind an open file, or EINVAL.
pub fn instance(f: &File) -> Result<Arc<Inotify>, Errno> {
    files()
        .lock()
        .unwrap()
        .get(&f.id)
        .and_then(|w| w.upgrade())
        .ok_or(Errno::EINVAL)
}

/// The "inotify wd:... ino:... sdev:... mask:..." lines of /proc/PID/fdinfo for an
/// inotify file (empty for other files).
pub fn fdinfo_lines(f: &File) -> String {
    let Ok(me) = instance(f) else {
        return String::new();
    };
    let s = me.st.lock().unwrap();
    let mut wds: Vec<(&i32, &Watch)> = s.watches.iter().collect();
    wds.sort_by_key(|(wd, _)| **wd);
    let mut o = String::new();
    for (wd, w) in wds {
        // The device in the kernel's internal encoding (major << 20 | minor).
        let (maj, min) = (
            crate::vfs::stat::major(w.key.0),
            crate::vfs::stat::minor(w.key.0),
        );
        o.push_str(&format!(
            "inotify wd:{:x} ino:{:x} sdev:{:x} mask:{:x} ignored_mask:0\n",
            wd,
            w.key.1,
            (maj << 20) | min,
            w.mask
        ));
    }
    o
}
