//! POSIX message queues and the mqueue file system (mounted at /dev/mqueue).
//!
//! Each queue is an inode of the namespace's mqueue file system; mq_open opens it through
//! the file system's own (unattached) mount, as Linux does, and reading a queue's file
//! gives its status line. Messages wait in priority order (FIFO within a priority). A
//! receiver that finds the queue empty queues up and the next sender hands the message
//! straight to the oldest one; a sender that finds it full queues up with its message, and
//! the next receiver moves the oldest such message in (Linux's pipelined send/receive).
//!
//! mq_notify: SIGEV_SIGNAL and SIGEV_NONE as Linux. SIGEV_THREAD needs a netlink socket
//! (glibc makes one and passes it in sigev_signo); the sandbox has no netlink sockets, so
//! the call fails as Linux fails it for a descriptor that is not one: EBADF, ENOTSOCK, or
//! EINVAL for another kind of socket.

use super::{lock, CAP_SYS_RESOURCE};
use crate::task::{Creds, SysResult, Task};
use crate::vfs::dentry::{Dentry, Loc, Mount};
use crate::vfs::inode::{POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use crate::vfs::{
    mode, oflags, perm, Ctx, DirEnt, File, FileOps, FileSystem, Inode, SetAttr, Stat, StatFs,
    Timespec,
};
use crate::wait::WaitQueue;
use abi::Errno;
use std::any::Any;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

pub const MQUEUE_MAGIC: u64 = 0x1980_0202;
const DIRENT_SIZE: u64 = 20;
const FILENT_SIZE: u64 = 80;
const MQ_PRIO_MAX: u32 = 32768;
const HARD_MSGMAX: i64 = 65536;
const HARD_MSGSIZEMAX: i64 = 16 << 20;
/// Bytes Linux charges per message slot (struct msg_msg) and per priority (tree node).
const MSG_HDR: i64 = 48;
const TREE_NODE: i64 = 48;
const RLIMIT_MSGQUEUE: usize = 12;

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SI_MESGQ: i32 = -3;

/// /proc/sys/fs/mqueue.
#[derive(Clone, Debug)]
pub struct Limits {
    pub queues_max: i32,
    pub msg_max: i32,
    pub msgsize_max: i32,
    pub msg_default: i32,
    pub msgsize_default: i32,
}

/// Queues in existence and the bytes charged to each user (RLIMIT_MSGQUEUE).
#[derive(Default)]
struct Acct {
    queues: i64,
    bytes: HashMap<u32, u64>,
    /// Every live queue, for notifications owned by a process that goes away.
    all: Vec<Weak<MqInode>>,
}

pub struct MqNs {
    pub limits: Mutex<Limits>,
    acct: Arc<Mutex<Acct>>,
    pub fs: Arc<MqFs>,
    root: Arc<Dentry>,
    /// The file system's own mount, through which mq_open and mq_unlink reach queues.
    mnt: Arc<Mount>,
}

impl MqNs {
    pub fn new() -> MqNs {
        let acct: Arc<Mutex<Acct>> = Arc::default();
        let fs = Arc::new(MqFs {
            dev: crate::fs::anon_dev(),
            next_ino: AtomicU64::new(2),
        });
        let dir = Arc::new(MqDir {
            fs: fs.clone(),
            node: Node {
                dev: fs.dev,
                ino: 1,
                meta: Mutex::new(Meta::new(mode::S_IFDIR | 0o1777, 0, 0, 2 * DIRENT_SIZE)),
            },
            entries: Mutex::new(BTreeMap::new()),
            acct: acct.clone(),
        });
        let root = Dentry::new_root(b"/", dir);
        let mnt = Mount::new_root(fs.clone(), root.clone(), 0, "mqueue", false);
        MqNs {
            limits: Mutex::new(Limits {
                queues_max: 256,
                msg_max: 10,
                msgsize_max: 8192,
                msg_default: 10,
                msgsize_default: 8192,
            }),
            acct,
            fs,
            root,
            mnt,
        }
    }

    /// The file system and its root, to mount at /dev/mqueue.
    pub fn mountable(&self) -> (Arc<MqFs>, Arc<Dentry>) {
        (self.fs.clone(), self.root.clone())
    }

    fn dir(&self) -> &MqDir {
        self.root
            .inode
            .as_any()
            .downcast_ref::<MqDir>()
            .expect("mqueue root")
    }
}

impl Default for MqNs {
    fn default() -> Self {
        MqNs::new()
    }
}

pub struct MqFs {
    dev: u64,
    next_ino: AtomicU64,
}

impl FileSystem for MqFs {
    fn name(&self) -> &str {
        "mqueue"
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn statfs(&self) -> StatFs {
        StatFs {
            fs_type: MQUEUE_MAGIC,
            bsize: 4096,
            namelen: 255,
            frsize: 4096,
            ..Default::default()
        }
    }
}

/// Attributes of an mqueue inode.
#[derive(Clone, Debug)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    nlink: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
}

impl Meta {
    fn new(mode: u32, uid: u32, gid: u32, size: u64) -> Meta {
        let now = crate::vfs::now();
        Meta {
            mode,
            uid,
            gid,
            size,
            nlink: if mode::is_dir(mode) { 2 } else { 1 },
            atime: now,
            mtime: now,
            ctime: now,
        }
    }

    fn stat(&self, dev: u64, ino: u64) -> Stat {
        Stat {
            dev,
            ino,
            mode: self.mode,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            size: self.size,
            blksize: 4096,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
            ..Default::default()
        }
    }

    fn set(&mut self, a: &SetAttr) {
        let now = crate::vfs::now();
        if let Some(m) = a.mode {
            self.mode = (self.mode & mode::S_IFMT) | (m & 0o7777);
        }
        if let Some(u) = a.uid {
            self.uid = u;
        }
        if let Some(g) = a.gid {
            self.gid = g;
        }
        if let Some(s) = a.size {
            self.size = s;
            self.mtime = now;
        }
        if let Some(t) = a.atime {
            self.atime = t;
        }
        if let Some(t) = a.mtime {
            self.mtime = t;
        }
        self.ctime = now;
    }

    /// Every time stamp to now (simple_inode_init_ts).
    fn touch_all(&mut self) {
        let now = crate::vfs::now();
        self.atime = now;
        self.mtime = now;
        self.ctime = now;
    }

    /// atime and ctime to now.
    fn touch_ac(&mut self) {
        let now = crate::vfs::now();
        self.atime = now;
        self.ctime = now;
    }
}

/// What every mqueue inode has: its identity and attributes.
struct Node {
    dev: u64,
    ino: u64,
    meta: Mutex<Meta>,
}

impl Node {
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(lock(&self.meta).stat(self.dev, self.ino))
    }
    fn setattr(&self, a: &SetAttr) -> Result<(), Errno> {
        lock(&self.meta).set(a);
        Ok(())
    }
}

/// The root directory: the namespace's queues by name.
pub struct MqDir {
    fs: Arc<MqFs>,
    node: Node,
    entries: Mutex<BTreeMap<Vec<u8>, Arc<MqInode>>>,
    acct: Arc<Mutex<Acct>>,
}

/// A registered notification.
#[derive(Clone, Debug)]
struct Notify {
    owner: i32,
    how: i32,
    signo: i32,
    value: u64,
}

/// What a sleeper finds under its ticket.
enum Done {
    Received(u32, Vec<u8>),
    Sent,
}

struct State {
    maxmsg: i64,
    msgsize: i64,
    curmsgs: i64,
    qsize: u64,
    msgs: BTreeMap<u32, VecDeque<Vec<u8>>>,
    notify: Option<Notify>,
    receivers: VecDeque<u64>,
    senders: VecDeque<(u64, u32, Vec<u8>)>,
    done: HashMap<u64, Done>,
    next_ticket: u64,
}

impl State {
    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    fn insert(&mut self, prio: u32, data: Vec<u8>) {
        self.curmsgs += 1;
        self.qsize += data.len() as u64;
        self.msgs.entry(prio).or_default().push_back(data);
    }

    /// The oldest message of the highest priority.
    fn take(&mut self) -> Option<(u32, Vec<u8>)> {
        let (&prio, list) = self.msgs.iter_mut().next_back()?;
        let data = list.pop_front()?;
        if list.is_empty() {
            self.msgs.remove(&prio);
        }
        self.curmsgs -= 1;
        self.qsize -= data.len() as u64;
        Some((prio, data))
    }

    fn status(&self) -> String {
        let (how, signo, pid) = match &self.notify {
            Some(n) => (
                n.how,
                if n.how == SIGEV_SIGNAL { n.signo } else { 0 },
                n.owner,
            ),
            None => (0, 0, 0),
        };
        format!(
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n",
            self.qsize, how, signo, pid
        )
    }
}

/// A queue.
pub struct MqInode {
    node: Node,
    st: Mutex<State>,
    /// Notified on every change (poll, sleeping senders and receivers).
    wq: Arc<WaitQueue>,
    /// (user, bytes) charged against RLIMIT_MSGQUEUE.
    charge: (u32, u64),
    acct: Arc<Mutex<Acct>>,
}

impl Drop for MqInode {
    fn drop(&mut self) {
        let mut a = lock(&self.acct);
        a.queues -= 1;
        if let Some(b) = a.bytes.get_mut(&self.charge.0) {
            *b = b.saturating_sub(self.charge.1);
        }
    }
}

/// Checks a queue name as Linux's lookup does.
fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    if name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::EACCES);
    }
    if name.len() > crate::vfs::NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(())
}

impl MqDir {
    /// A new queue (mqueue_create_attr): ENOSPC past queues_max, EINVAL for bad sizes,
    /// EMFILE past the creator's RLIMIT_MSGQUEUE.
    fn new_queue(
        &self,
        c: &Creds,
        tgid: i32,
        perm: u32,
        attr: Option<(i64, i64)>,
    ) -> Result<Arc<MqInode>, Errno> {
        let lim = lock(&super::ipc().mq.limits).clone();
        let cap = c.has_cap(CAP_SYS_RESOURCE);
        // Read before taking the accounting lock: a queue freed while the process table is
        // locked (an exiting process's files) takes that lock.
        let limit = crate::kernel()
            .procs
            .lock()
            .unwrap()
            .group(tgid)
            .map(|g| g.lock().rlimits[RLIMIT_MSGQUEUE].0)
            .unwrap_or(u64::MAX);
        let mut acct = lock(&self.acct);
        if acct.queues >= lim.queues_max as i64 && !cap {
            return Err(Errno::ENOSPC);
        }
        let (maxmsg, msgsize) = attr.unwrap_or((
            lim.msg_max.min(lim.msg_default) as i64,
            lim.msgsize_max.min(lim.msgsize_default) as i64,
        ));
        if maxmsg <= 0 || msgsize <= 0 {
            return Err(Errno::EINVAL);
        }
        let (mm, ms) = if cap {
            (HARD_MSGMAX, HARD_MSGSIZEMAX)
        } else {
            (lim.msg_max as i64, lim.msgsize_max as i64)
        };
        if maxmsg > mm || msgsize > ms {
            return Err(Errno::EINVAL);
        }
        let bytes = (maxmsg * msgsize
            + maxmsg * MSG_HDR
            + maxmsg.min(MQ_PRIO_MAX as i64) * TREE_NODE) as u64;
        let have = acct.bytes.get(&c.uid).copied().unwrap_or(0);
        match have.checked_add(bytes) {
            Some(v) if v <= limit => {}
            _ => return Err(Errno::EMFILE),
        }
        acct.queues += 1;
        *acct.bytes.entry(c.uid).or_insert(0) += bytes;
        let q = Arc::new(MqInode {
            node: Node {
                dev: self.fs.dev,
                ino: self.fs.next_ino.fetch_add(1, Ordering::Relaxed),
                meta: Mutex::new(Meta::new(
                    mode::S_IFREG | (perm & 0o7777),
                    c.fsuid,
                    c.fsgid,
                    FILENT_SIZE,
                )),
            },
            st: Mutex::new(State {
                maxmsg,
                msgsize,
                curmsgs: 0,
                qsize: 0,
                msgs: BTreeMap::new(),
                notify: None,
                receivers: VecDeque::new(),
                senders: VecDeque::new(),
                done: HashMap::new(),
                next_ticket: 0,
            }),
            wq: Arc::new(WaitQueue::new()),
            charge: (c.uid, bytes),
            acct: self.acct.clone(),
        });
        acct.all.retain(|w| w.strong_count() > 0);
        acct.all.push(Arc::downgrade(&q));
        Ok(q)
    }

    fn add(&self, name: &[u8], q: Arc<MqInode>) {
        lock(&self.entries).insert(name.to_vec(), q);
        let mut m = lock(&self.node.meta);
        m.size += DIRENT_SIZE;
        m.touch_all();
    }
}

impl Inode for MqDir {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }
    fn lookup(&self, _ctx: &Ctx, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        if name.len() > crate::vfs::NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let q = lock(&self.entries)
            .get(name)
            .cloned()
            .ok_or(Errno::ENOENT)?;
        Ok(q)
    }
    fn open(
        self: Arc<Self>,
        _ctx: &Ctx,
        _loc: &Loc,
        _flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        Ok(Box::new(MqDirFile { dir: self }))
    }
    fn create(&self, ctx: &Ctx, name: &[u8], m: u32) -> Result<Arc<dyn Inode>, Errno> {
        let q = self.new_queue(&ctx.creds, ctx.tgid, m, None)?;
        self.add(name, q.clone());
        Ok(q)
    }
    fn unlink(&self, _ctx: &Ctx, name: &[u8]) -> Result<(), Errno> {
        let q = lock(&self.entries).remove(name).ok_or(Errno::ENOENT)?;
        {
            let mut m = lock(&self.node.meta);
            m.size -= DIRENT_SIZE;
            m.touch_all();
        }
        {
            let mut m = lock(&q.node.meta);
            m.nlink = 0;
            m.ctime = crate::vfs::now();
        }
        drop(q);
        Ok(())
    }
    fn setattr(&self, _ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        self.node.setattr(a)
    }
}

struct MqDirFile {
    dir: Arc<MqDir>,
}

impl FileOps for MqDirFile {
    fn readdir(
        &self,
        _ctx: &Ctx,
        pos: u64,
        emit: &mut dyn FnMut(&DirEnt) -> bool,
    ) -> Result<u64, Errno> {
        let mut list: Vec<(u64, u8, Vec<u8>)> = vec![(1, 4, b".".to_vec()), (1, 4, b"..".to_vec())];
        for (name, q) in lock(&self.dir.entries).iter() {
            list.push((q.node.ino, 8, name.clone()));
        }
        let mut pos = pos;
        while (pos as usize) < list.len() {
            let (ino, dtype, name) = &list[pos as usize];
            let ent = DirEnt {
                ino: *ino,
                next: pos + 1,
                dtype: *dtype,
                name: name.clone(),
            };
            if !emit(&ent) {
                break;
            }
            pos += 1;
        }
        Ok(pos)
    }
}

impl Inode for MqInode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.node.stat()
    }
    fn open(
        self: Arc<Self>,
        _ctx: &Ctx,
        _loc: &Loc,
        _flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        Ok(Box::new(MqFile { q: self }))
    }
    fn setattr(&self, _ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        self.node.setattr(a)
    }
}

/// An open queue (by mq_open or by opening its file).
struct MqFile {
    q: Arc<MqInode>,
}

impl FileOps for MqFile {
    /// The status line: "QSIZE:... NOTIFY:... SIGNO:... NOTIFY_PID:...".
    fn read(&self, _t: &Task, _f: &File, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let text = lock(&self.q.st).status().into_bytes();
        if off >= text.len() as u64 {
            return Ok(0);
        }
        let n = buf.len().min(text.len() - off as usize);
        buf[..n].copy_from_slice(&text[off as usize..off as usize + n]);
        if n > 0 {
            lock(&self.q.node.meta).touch_ac();
        }
        Ok(n)
    }

    fn poll(&self, _f: &File) -> u32 {
        let s = lock(&self.q.st);
        let mut ev = 0;
        if s.curmsgs > 0 {
            ev |= POLLIN | POLLRDNORM;
        }
        if s.curmsgs < s.maxmsg {
            ev |= POLLOUT | POLLWRNORM;
        }
        ev
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.q.wq.clone())
    }

    /// A close by the process that registered for notification cancels it.
    fn flush(&self, t: &Task, _f: &File) {
        let mut s = lock(&self.q.st);
        if s.notify.as_ref().is_some_and(|n| n.owner == t.tgid()) {
            s.notify = None;
        }
    }
}

/// The queue behind descriptor `fd`: EBADF if it is not one.
fn queue_of(t: &Task, fd: i32) -> Result<(Arc<File>, Arc<MqInode>), Errno> {
    let f = t.files().get(fd)?;
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    let any: Arc<dyn Any + Send + Sync> = f.inode().clone();
    let q = any.downcast::<MqInode>().map_err(|_| Errno::EBADF)?;
    Ok((f, q))
}

/// An absolute CLOCK_REALTIME timeout as a deadline.
fn deadline_of(t: &Task, addr: u64) -> Result<Option<Instant>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let (sec, nsec) = super::read_timespec(t, addr)?;
    let now = crate::vfs::now();
    let left = (sec as i128 - now.sec as i128) * 1_000_000_000 + (nsec - now.nsec) as i128;
    let left = Duration::from_nanos(left.clamp(0, u64::MAX as i128) as u64);
    Ok(Instant::now().checked_add(left))
}

/// mq_open(2) (the name without its leading slash, as the kernel gets it).
pub fn mq_open(t: &Task, uname: u64, oflag: i32, m: u32, uattr: u64) -> SysResult {
    let attr = if uattr != 0 {
        let mut b = [0u8; 64];
        t.read_mem(uattr, &mut b)?;
        Some((super::u64le(&b, 8) as i64, super::u64le(&b, 16) as i64))
    } else {
        None
    };
    let name = t.read_path(uname)?;
    if name.is_empty() {
        return Err(Errno::ENOENT);
    }
    check_name(&name)?;
    let ctx = Ctx::of(t);
    let ns = &super::ipc().mq;
    let dir = ns.dir();
    let oflag = oflag as u32;
    let existing = lock(&dir.entries).get(&name).cloned();
    let q = match existing {
        Some(q) => {
            if oflag & (oflags::O_CREAT | oflags::O_EXCL) == oflags::O_CREAT | oflags::O_EXCL {
                return Err(Errno::EEXIST);
            }
            let want = match oflag & oflags::O_ACCMODE {
                oflags::O_RDONLY => perm::MAY_READ,
                oflags::O_WRONLY => perm::MAY_WRITE,
                oflags::O_RDWR => perm::MAY_READ | perm::MAY_WRITE,
                _ => return Err(Errno::EINVAL),
            };
            perm::check(&ctx.creds, &q.stat()?, want)?;
            q
        }
        None => {
            if oflag & oflags::O_CREAT == 0 {
                return Err(Errno::ENOENT);
            }
            perm::check(&ctx.creds, &dir.stat()?, perm::MAY_WRITE | perm::MAY_EXEC)?;
            let q = dir.new_queue(&ctx.creds, ctx.tgid, m & !ctx.umask, attr)?;
            dir.add(&name, q.clone());
            q
        }
    };
    let dentry = Dentry::new_child(&ns.root, &name, q.clone(), true);
    let flags = oflag & !(oflags::O_CREAT | oflags::O_EXCL | oflags::O_NOCTTY | oflags::O_TRUNC);
    let f = File::new(
        Loc::new(ns.mnt.clone(), dentry),
        flags,
        Box::new(MqFile { q }),
    );
    // Linux gives message queue descriptors close-on-exec always.
    t.files().install(f, true).map(|fd| fd as u64)
}

/// mq_unlink(2).
pub fn mq_unlink(t: &Task, uname: u64) -> SysResult {
    let name = t.read_path(uname)?;
    check_name(&name)?;
    let ns = &super::ipc().mq;
    crate::vfs::ops::unlink(&Ctx::of(t), &Loc::root_of(&ns.mnt), &name)?;
    Ok(0)
}

/// Sends the notification `n` for a message `t` queued.
fn notify(t: &Task, n: Notify) {
    if n.how != SIGEV_SIGNAL || n.signo == 0 {
        return;
    }
    let Some(g) = crate::kernel().procs.lock().unwrap().group(n.owner) else {
        return;
    };
    if g.lock().zombie.is_some() {
        return;
    }
    let mut info = abi::signal::SigInfo::new(n.signo as u32, SI_MESGQ);
    info.set_pid_uid(t.tgid(), t.creds().uid);
    info.fields[1] = n.value;
    crate::signal::send_to_group(&g, info);
}

/// mq_timedsend(2).
pub fn mq_timedsend(t: &Task, fd: i32, ptr: u64, len: u64, prio: u32, tmo: u64) -> SysResult {
    let deadline = deadline_of(t, tmo)?;
    if prio >= MQ_PRIO_MAX {
        return Err(Errno::EINVAL);
    }
    let (f, q) = queue_of(t, fd)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    if len > lock(&q.st).msgsize as u64 {
        return Err(Errno::EMSGSIZE);
    }
    let mut data = vec![0u8; len as usize];
    t.read_mem(ptr, &mut data)?;
    let mut fire = None;
    let ticket = {
        let mut s = lock(&q.st);
        if s.curmsgs >= s.maxmsg {
            if f.nonblock() {
                return Err(Errno::EAGAIN);
            }
            let ticket = s.ticket();
            s.senders.push_back((ticket, prio, data));
            Some(ticket)
        } else {
            if let Some(r) = s.receivers.pop_front() {
                s.done.insert(r, Done::Received(prio, data));
            } else {
                s.insert(prio, data);
                if s.curmsgs == 1 {
                    fire = s.notify.take();
                }
            }
            lock(&q.node.meta).touch_all();
            None
        }
    };
    q.wq.notify_all();
    if let Some(n) = fire {
        notify(t, n);
    }
    let Some(ticket) = ticket else {
        return Ok(0);
    };
    let r = t.wait_until(&[&q.wq], None, deadline, || {
        Ok(lock(&q.st).done.remove(&ticket).map(|_| ()))
    });
    match r {
        Ok(()) => Ok(0),
        Err(e) => {
            let mut s = lock(&q.st);
            if s.done.remove(&ticket).is_some() {
                return Ok(0);
            }
            s.senders.retain(|x| x.0 != ticket);
            Err(e)
        }
    }
}

/// mq_timedreceive(2).
pub fn mq_timedreceive(t: &Task, fd: i32, ptr: u64, len: u64, uprio: u64, tmo: u64) -> SysResult {
    let deadline = deadline_of(t, tmo)?;
    let (f, q) = queue_of(t, fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let got = {
        let mut s = lock(&q.st);
        if len < s.msgsize as u64 {
            return Err(Errno::EMSGSIZE);
        }
        match s.take() {
            Some(m) => {
                lock(&q.node.meta).touch_all();
                if let Some((ticket, prio, data)) = s.senders.pop_front() {
                    s.insert(prio, data);
                    s.done.insert(ticket, Done::Sent);
                }
                Ok(m)
            }
            None if f.nonblock() => return Err(Errno::EAGAIN),
            None => {
                let ticket = s.ticket();
                s.receivers.push_back(ticket);
                Err(ticket)
            }
        }
    };
    q.wq.notify_all();
    let (prio, data) = match got {
        Ok(m) => m,
        Err(ticket) => {
            let take = |s: &mut State| match s.done.remove(&ticket) {
                Some(Done::Received(p, d)) => Some((p, d)),
                _ => None,
            };
            let r = t.wait_until(&[&q.wq], None, deadline, || Ok(take(&mut lock(&q.st))));
            match r {
                Ok(m) => m,
                Err(e) => {
                    let mut s = lock(&q.st);
                    match take(&mut s) {
                        Some(m) => m,
                        None => {
                            s.receivers.retain(|&x| x != ticket);
                            return Err(e);
                        }
                    }
                }
            }
        }
    };
    if uprio != 0 {
        t.write_val(uprio, &prio)?;
    }
    t.write_mem(ptr, &data)?;
    Ok(data.len() as u64)
}

/// mq_notify(2).
pub fn mq_notify(t: &Task, fd: i32, sevp: u64) -> SysResult {
    let ev = if sevp != 0 {
        let mut b = [0u8; 64];
        t.read_mem(sevp, &mut b)?;
        let value = super::u64le(&b, 0);
        let signo = super::u32le(&b, 8) as i32;
        let how = super::u32le(&b, 12) as i32;
        if !matches!(how, SIGEV_NONE | SIGEV_SIGNAL | SIGEV_THREAD) {
            return Err(Errno::EINVAL);
        }
        if how == SIGEV_SIGNAL && !(0..=64).contains(&signo) {
            return Err(Errno::EINVAL);
        }
        if how == SIGEV_THREAD {
            // The cookie, then the netlink socket it would go to.
            let mut cookie = [0u8; 32];
            t.read_mem(value, &mut cookie)?;
            let s = t.files().get(signo)?;
            if s.inode().mode() & mode::S_IFMT != mode::S_IFSOCK {
                return Err(Errno::ENOTSOCK);
            }
            return Err(Errno::EINVAL);
        }
        Some(Notify {
            owner: t.tgid(),
            how,
            signo,
            value,
        })
    } else {
        None
    };
    let (_f, q) = queue_of(t, fd)?;
    let mut s = lock(&q.st);
    match ev {
        None => {
            if s.notify.as_ref().is_some_and(|n| n.owner == t.tgid()) {
                s.notify = None;
                lock(&q.node.meta).touch_ac();
            }
        }
        Some(_) if s.notify.is_some() => return Err(Errno::EBUSY),
        Some(n) => {
            s.notify = Some(n);
            lock(&q.node.meta).touch_ac();
        }
    }
    Ok(0)
}

/// mq_getsetattr(2).
pub fn mq_getsetattr(t: &Task, fd: i32, unew: u64, uold: u64) -> SysResult {
    let new = if unew != 0 {
        let mut b = [0u8; 64];
        t.read_mem(unew, &mut b)?;
        let flags = super::u64le(&b, 0);
        if flags & !(oflags::O_NONBLOCK as u64) != 0 {
            return Err(Errno::EINVAL);
        }
        Some(flags as u32)
    } else {
        None
    };
    let (f, q) = queue_of(t, fd)?;
    let old = {
        let s = lock(&q.st);
        let mut o = Vec::with_capacity(64);
        super::put64(
            &mut o,
            &[
                (f.flags() & oflags::O_NONBLOCK) as u64,
                s.maxmsg as u64,
                s.msgsize as u64,
                s.curmsgs as u64,
                0,
                0,
                0,
                0,
            ],
        );
        o
    };
    if let Some(fl) = new {
        f.set_flags((f.flags() & !oflags::O_NONBLOCK) | fl);
        lock(&q.node.meta).touch_ac();
    }
    if uold != 0 {
        t.write_mem(uold, &old)?;
    }
    Ok(0)
}

/// Removes the notifications process `tgid` registered (it exited or exec'd).
pub fn drop_notifications(tgid: i32) {
    let all: Vec<Arc<MqInode>> = {
        let a = lock(&super::ipc().mq.acct);
        a.all.iter().filter_map(|w| w.upgrade()).collect()
    };
    for q in all {
        let mut s = lock(&q.st);
        if s.notify.as_ref().is_some_and(|n| n.owner == tgid) {
            s.notify = None;
        }
    }
}
