//! AF_UNIX sockets, entirely in the kernel: SOCK_STREAM, SOCK_DGRAM (and SOCK_RAW, which
//! Linux turns into it) and SOCK_SEQPACKET; socketpair; path-bound names (socket nodes
//! made in the VFS), abstract names and autobind; listen backlogs; SCM_RIGHTS and
//! SCM_CREDENTIALS; Linux's rules for every error, wake-up and limit.
//!
//! - `UnixSock` is Linux's unix_sock: a state behind one lock (`UState`: connection state,
//!   name, peer, receive queue of `Skb`s, shutdown bits) plus a wait queue that is notified
//!   on every change, and the bytes it has in flight (`wmem`, charged per skb as Linux's
//!   truesize, released when the receiver frees the skb).
//! - `Endpoint` is the `SocketOps` a file holds; dropping it releases the socket
//!   (`release`), as closing the last file does on Linux. A connection waiting in a
//!   listener's queue (an "embryo") is a `UnixSock` without an endpoint until accept.
//! - Names: a global table maps abstract names (per type, as Linux hashes them) and bound
//!   socket nodes (by device and inode) to sockets.
//! - `data.rs`: sendmsg/recvmsg; `gc.rs`: descriptors in flight and the collector of
//!   unreachable cycles of them; `proc_net_unix` renders /proc/net/unix.
//!
//! Lock order: a listener before anything else, otherwise one socket state at a time or
//! two in address order; skbs (which may hold files whose release takes other sockets'
//! locks) are always dropped after the locks are released.

mod data;
mod gc;

use super::{
    capable, sysctl, PeerCred, RecvMsg, SendMsg, SockCommon, SocketOps, Ucred, AF_UNIX, AF_UNSPEC,
    POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDHUP, POLLRDNORM, POLLWRBAND, POLLWRNORM,
    RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_STREAM,
};
use crate::task::{SysResult, Task};
use crate::vfs::perm::{self, MAY_WRITE};
use crate::vfs::{mode, ops, walk, Ctx, File, Loc};
use crate::wait::WaitQueue;
use abi::Errno;
use std::any::Any;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

/// offsetof(struct sockaddr_un, sun_path).
const PATH_OFF: usize = 2;
/// sizeof(struct sockaddr_un).
const SUN_LEN: usize = 110;

/// Most unix sockets at once (Linux: 2 * fs.file-max).
const MAX_SOCKETS: usize = 1 << 20;

/// The AF_UNIX family.
pub struct Unix;

impl super::Family for Unix {
    fn create(&self, _t: &Task, kind: i32, protocol: i32) -> Result<Box<dyn SocketOps>, Errno> {
        if protocol != 0 && protocol != AF_UNIX {
            return Err(Errno::EPROTONOSUPPORT);
        }
        let kind = match kind {
            SOCK_STREAM | SOCK_SEQPACKET | SOCK_DGRAM => kind,
            SOCK_RAW => SOCK_DGRAM,
            _ => return Err(Errno::ESOCKTNOSUPPORT),
        };
        // Linux's limit is twice the files the system may open; this kernel's is fixed.
        if all().lock().unwrap().len() >= MAX_SOCKETS {
            return Err(Errno::ENFILE);
        }
        Ok(Box::new(Endpoint::new(UnixSock::new(kind))))
    }

    fn socketpair(
        &self,
        t: &Task,
        kind: i32,
        protocol: i32,
    ) -> Result<(Box<dyn SocketOps>, Box<dyn SocketOps>), Errno> {
        let a = self.create(t, kind, protocol)?;
        let b = self.create(t, kind, protocol)?;
        let ua = endpoint(&*a).expect("unix").sock.clone();
        let ub = endpoint(&*b).expect("unix").sock.clone();
        let cred = PeerCred::current(t);
        for (x, y) in [(&ua, &ub), (&ub, &ua)] {
            let mut s = x.lock();
            s.peer = Some(y.clone());
            s.conn = Conn::Established;
            x.common.set_peer_cred(Some(cred.clone()));
        }
        Ok((a, b))
    }
}

/// Connection state (Linux's sk_state for unix sockets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Conn {
    Close,
    Listen,
    Established,
}

/// Where a socket's name is registered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// Abstract names are looked up per socket type (Linux hashes the type in).
    Abstract(i32, Vec<u8>),
    /// A bound socket node: (device, inode).
    Node(u64, u64),
}

/// One queued message: Linux's sk_buff with its unix control block.
struct Skb {
    data: Vec<u8>,
    /// Bytes of a stream skb already read.
    consumed: usize,
    /// What this skb is charged to its sender.
    truesize: usize,
    /// The sender (charged, and the source address at receive time).
    from: Option<Arc<UnixSock>>,
    /// SCM_RIGHTS in flight, and the uid charged for them.
    fds: Vec<Arc<File>>,
    fd_uid: u32,
    /// The sender's credentials, when attached (SO_PASSCRED on either end, or explicit).
    cred: Option<Ucred>,
    /// A connection request: the new socket a listener's accept will return.
    conn: Option<Arc<UnixSock>>,
    /// The urgent byte of a stream (Linux's oob_skb): the latest MSG_OOB send.
    oob: bool,
}

impl Skb {
    fn len(&self) -> usize {
        self.data.len()
    }

    /// Unread bytes (unix_skb_len).
    fn left(&self) -> usize {
        self.data.len() - self.consumed
    }

    /// Takes the descriptors out of flight (they go to the receiver).
    fn take_fds(&mut self) -> Vec<Arc<File>> {
        let v = std::mem::take(&mut self.fds);
        gc::not_inflight(&v, self.fd_uid);
        v
    }
}

impl Drop for Skb {
    fn drop(&mut self) {
        let fds = self.take_fds();
        drop(fds);
        if let Some(s) = self.from.take() {
            s.uncharge(self.truesize);
        }
    }
}

/// A unix socket (Linux's unix_sock).
pub struct UnixSock {
    id: u64,
    kind: i32,
    pub common: SockCommon,
    st: Mutex<UState>,
    /// Notified on every change of this socket (data, space, state, connections).
    wq: Arc<WaitQueue>,
    /// One reader at a time in a stream read (Linux's iolock); never held while waiting.
    iolock: Mutex<()>,
    /// truesize of this socket's skbs not yet freed (sk_wmem_alloc).
    wmem: AtomicUsize,
    /// How many skbs carry this socket's file (for the collector).
    inflight: AtomicUsize,
    /// Set once released.
    dead: AtomicBool,
}

struct UState {
    conn: Conn,
    /// sockaddr_un bytes of the name (family + path or abstract name).
    addr: Option<Vec<u8>>,
    /// The bound node (holding it keeps the inode, as Linux's u->path).
    path: Option<Loc>,
    key: Option<Key>,
    peer: Option<Arc<UnixSock>>,
    rx: VecDeque<Skb>,
    /// Stream: unread bytes queued (Linux's inq_len).
    inq: usize,
    /// sk_max_ack_backlog: the listen backlog, or max_dgram_qlen for datagrams.
    backlog: usize,
    shutdown: u8,
    /// Has a socket file (false while a connection waits in a listener's queue).
    has_file: bool,
    /// Datagram senders to wake when this socket's queue shrinks (Linux's peer_wake).
    peer_wake: Vec<Weak<UnixSock>>,
    /// An urgent byte is pending (one skb of `rx` has `oob`).
    oob: bool,
}

/// Every unix socket, for /proc/net/unix and the collector (id → socket).
fn all() -> &'static Mutex<BTreeMap<u64, Weak<UnixSock>>> {
    static ALL: OnceLock<Mutex<BTreeMap<u64, Weak<UnixSock>>>> = OnceLock::new();
    ALL.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// The unix sockets alive now.
fn live_socks() -> Vec<Arc<UnixSock>> {
    all()
        .lock()
        .unwrap()
        .values()
        .filter_map(|w| w.upgrade())
        .collect()
}

/// Bound names.
fn names() -> &'static Mutex<HashMap<Key, Weak<UnixSock>>> {
    static NAMES: OnceLock<Mutex<HashMap<Key, Weak<UnixSock>>>> = OnceLock::new();
    NAMES.get_or_init(|| Mutex::new(HashMap::new()))
}

impl UnixSock {
    fn new(kind: i32) -> Arc<UnixSock> {
        static ID: AtomicU64 = AtomicU64::new(1);
        let s = Arc::new(UnixSock {
            id: ID.fetch_add(1, Ordering::Relaxed),
            kind,
            common: SockCommon::new(),
            st: Mutex::new(UState {
                conn: Conn::Close,
                addr: None,
                path: None,
                key: None,
                peer: None,
                rx: VecDeque::new(),
                inq: 0,
                backlog: sysctl().max_dgram_qlen.max(0) as usize,
                shutdown: 0,
                has_file: true,
                peer_wake: Vec::new(),
                oob: false,
            }),
            wq: Arc::new(WaitQueue::new()),
            iolock: Mutex::new(()),
            wmem: AtomicUsize::new(0),
            inflight: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
        });
        all().lock().unwrap().insert(s.id, Arc::downgrade(&s));
        s
    }

    fn lock(&self) -> MutexGuard<'_, UState> {
        self.st.lock().unwrap()
    }

    /// Connection-oriented (stream or seqpacket).
    fn connected_kind(&self) -> bool {
        self.kind != SOCK_DGRAM
    }

    fn wmem(&self) -> usize {
        self.wmem.load(Ordering::Acquire)
    }

    fn charge(&self, n: usize) {
        self.wmem.fetch_add(n, Ordering::AcqRel);
    }

    /// An skb of ours was freed: space for writers (sock_wfree).
    fn uncharge(&self, n: usize) {
        self.wmem.fetch_sub(n, Ordering::AcqRel);
        self.wq.notify_all();
    }

    fn peer(&self) -> Option<Arc<UnixSock>> {
        self.lock().peer.clone()
    }

    fn bound(&self) -> bool {
        self.lock().addr.is_some()
    }

    fn addr(&self) -> Option<Vec<u8>> {
        self.lock().addr.clone()
    }

    /// unix_writable: not listening, and at most a quarter of the send buffer in flight.
    fn writable(&self, conn: Conn) -> bool {
        conn != Conn::Listen && (self.wmem() + 1) * 4 <= self.common.sndbuf()
    }

    /// A receive queue over its limit (unix_recvq_full).
    fn recvq_full(st: &UState) -> bool {
        st.rx.len() > st.backlog
    }

    /// unix_wait_for_peer: waits until this socket's queue has room (or it is gone or
    /// shut for reading), or the time is up (Ok: the caller looks again); a signal
    /// ends the wait with its error.
    fn wait_for_room(&self, t: &Task, timeo: super::Timeo) -> Result<(), Errno> {
        let r = super::wait(t, &[&self.wq], timeo, || {
            let st = self.lock();
            let busy = !self.dead.load(Ordering::Acquire)
                && st.shutdown & RCV_SHUTDOWN == 0
                && UnixSock::recvq_full(&st);
            Ok(if busy { None } else { Some(()) })
        });
        match r {
            Ok(()) | Err(Errno::EAGAIN) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Wakes datagram senders that waited for room in this socket's queue.
    fn wake_peer_waiters(&self) {
        let w = std::mem::take(&mut self.lock().peer_wake);
        for s in w.iter().filter_map(|w| w.upgrade()) {
            s.wq.notify_all();
        }
        self.wq.notify_all();
    }

    /// Asks to be woken when `other`'s queue shrinks (unix_dgram_peer_wake_connect).
    fn want_peer_wake(self: &Arc<Self>, other: &mut UState) {
        if !other
            .peer_wake
            .iter()
            .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(self)))
        {
            other.peer_wake.push(Arc::downgrade(self));
        }
    }

    // --------------------------------------------------------------------------------
    // Names.

    /// Binds an autogenerated abstract name ("\0" and five hex digits); a bound socket
    /// keeps its name (not an error).
    fn autobind(self: &Arc<Self>) -> Result<(), Errno> {
        let mut st = self.lock();
        if st.addr.is_some() {
            return Ok(());
        }
        let mut seed = [0u8; 4];
        crate::fs::devfs::fill_random(&mut seed);
        let start = u32::from_le_bytes(seed) & 0xfffff;
        let mut n = start;
        let mut reg = names().lock().unwrap();
        loop {
            n = (n + 1) & 0xfffff;
            let name = format!("\0{:05x}", n).into_bytes();
            let key = Key::Abstract(self.kind, name.clone());
            let taken = reg.get(&key).and_then(|w| w.upgrade()).is_some();
            if !taken {
                let mut addr = (AF_UNIX as u16).to_le_bytes().to_vec();
                addr.extend_from_slice(&name);
                reg.insert(key.clone(), Arc::downgrade(self));
                st.addr = Some(addr);
                st.key = Some(key);
                return Ok(());
            }
            if n == start {
                return Err(Errno::ENOSPC);
            }
        }
    }

    fn bind(self: &Arc<Self>, t: &Task, addr: &[u8]) -> Result<(), Errno> {
        if addr.len() == PATH_OFF && super::sa_family(addr) == Some(AF_UNIX as u16) {
            return self.autobind();
        }
        validate(addr)?;
        if addr[PATH_OFF] != 0 {
            return self.bind_path(t, addr);
        }
        let mut st = self.lock();
        if st.addr.is_some() {
            return Err(Errno::EINVAL);
        }
        let key = Key::Abstract(self.kind, addr[PATH_OFF..].to_vec());
        let mut reg = names().lock().unwrap();
        if reg.get(&key).and_then(|w| w.upgrade()).is_some() {
            return Err(Errno::EADDRINUSE);
        }
        reg.insert(key.clone(), Arc::downgrade(self));
        st.addr = Some(addr.to_vec());
        st.key = Some(key);
        Ok(())
    }

    /// unix_bind_bsd: the node is made first (EADDRINUSE if the name exists), then a
    /// socket that is already bound removes it again and fails with EINVAL.
    fn bind_path(self: &Arc<Self>, t: &Task, addr: &[u8]) -> Result<(), Errno> {
        let path = path_of(addr);
        let ctx = Ctx::of(t);
        let start = start_loc(t, &path);
        let loc = ops::mknod_socket(&ctx, &start, &path, 0o777).map_err(|e| {
            if e == Errno::EEXIST {
                Errno::EADDRINUSE
            } else {
                e
            }
        })?;
        let st_ = loc.inode().stat()?;
        let mut st = self.lock();
        if st.addr.is_some() {
            drop(st);
            let _ = ops::unlink(&ctx, &start, &path);
            return Err(Errno::EINVAL);
        }
        let key = Key::Node(st_.dev, st_.ino);
        names()
            .lock()
            .unwrap()
            .insert(key.clone(), Arc::downgrade(self));
        let mut a = addr[..PATH_OFF].to_vec();
        a.extend_from_slice(&path);
        a.push(0);
        st.addr = Some(a);
        st.path = Some(loc);
        st.key = Some(key);
        Ok(())
    }

    // --------------------------------------------------------------------------------
    // Connections.

    fn listen(&self, t: &Task, backlog: i32) -> Result<(), Errno> {
        if self.kind == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut st = self.lock();
        if st.addr.is_none() {
            return Err(Errno::EINVAL);
        }
        if st.conn != Conn::Close && st.conn != Conn::Listen {
            return Err(Errno::EINVAL);
        }
        let backlog = backlog as u32 as usize;
        let grew = backlog > st.backlog;
        st.backlog = backlog;
        st.conn = Conn::Listen;
        drop(st);
        self.common.set_peer_cred(Some(PeerCred::current(t)));
        if grew {
            self.wq.notify_all();
        }
        Ok(())
    }

    /// unix_stream_connect (stream and seqpacket).
    fn connect_stream(
        self: &Arc<Self>,
        t: &Task,
        addr: &[u8],
        nonblock: bool,
    ) -> Result<(), Errno> {
        validate(addr)?;
        if self.common.passcred() && !self.bound() {
            self.autobind()?;
        }
        let timeo = self.common.sndtimeo(nonblock);
        let cred = PeerCred::current(t);
        loop {
            let other = find_other(t, addr, self.kind)?;
            let mut o = other.lock();
            if other.dead.load(Ordering::Acquire) {
                continue;
            }
            if o.conn != Conn::Listen || o.shutdown & RCV_SHUTDOWN != 0 {
                return Err(Errno::ECONNREFUSED);
            }
            if UnixSock::recvq_full(&o) {
                drop(o);
                if !timeo.can_wait() {
                    return Err(Errno::EAGAIN);
                }
                other.wait_for_room(t, timeo)?;
                continue;
            }
            // Connecting a listener (to itself or not) is EINVAL; its own state is read
            // before its lock, which may be the one held.
            if Arc::ptr_eq(self, &other) {
                return Err(Errno::EINVAL);
            }
            let mut st = self.lock();
            match st.conn {
                Conn::Close => {}
                Conn::Established => return Err(Errno::EISCONN),
                Conn::Listen => return Err(Errno::EINVAL),
            }
            // The connection: a new socket for the listener's side.
            let new = UnixSock::new(self.kind);
            {
                let mut n = new.lock();
                n.peer = Some(self.clone());
                n.conn = Conn::Established;
                n.addr = o.addr.clone();
                n.path = o.path.clone();
                n.has_file = false;
            }
            new.common.set_peer_cred(Some(cred.clone()));
            new.common.with_opts(|x| {
                let lo = other.common.opts();
                x.passcred = lo.passcred;
                x.passsec = lo.passsec;
                x.passpidfd = lo.passpidfd;
            });
            self.common.set_peer_cred(other.common.peer_cred());
            st.conn = Conn::Established;
            st.peer = Some(new.clone());
            drop(st);
            o.rx.push_back(Skb {
                data: Vec::new(),
                consumed: 0,
                truesize: 0,
                from: None,
                fds: Vec::new(),
                fd_uid: 0,
                cred: None,
                conn: Some(new),
                oob: false,
            });
            drop(o);
            other.wq.notify_all();
            self.wq.notify_all();
            return Ok(());
        }
    }

    /// unix_dgram_connect: connect, reconnect, or dissolve with AF_UNSPEC.
    fn connect_dgram(self: &Arc<Self>, t: &Task, addr: &[u8]) -> Result<(), Errno> {
        if addr.len() < 2 {
            return Err(Errno::EINVAL);
        }
        let other = if super::sa_family(addr) != Some(AF_UNSPEC as u16) {
            validate(addr)?;
            if self.common.passcred() && !self.bound() {
                self.autobind()?;
            }
            loop {
                let other = find_other(t, addr, self.kind)?;
                let (mut a, mut b) = lock2(self, &other);
                if other.dead.load(Ordering::Acquire) {
                    continue;
                }
                let ok = match &b {
                    Some(g) => may_send(self, g),
                    None => may_send(self, &a),
                };
                if !ok {
                    return Err(Errno::EPERM);
                }
                if let Some(g) = b.as_mut() {
                    g.conn = Conn::Established;
                }
                a.conn = Conn::Established;
                drop(b);
                drop(a);
                break Some(other);
            }
        } else {
            None
        };
        let old = {
            let mut st = self.lock();
            let old = std::mem::replace(&mut st.peer, other.clone());
            if other.is_none() {
                st.conn = Conn::Close;
            }
            old
        };
        if let Some(old) = old {
            old.lock()
                .peer_wake
                .retain(|w| !std::ptr::eq(w.as_ptr(), Arc::as_ptr(self)));
            self.wq.notify_all();
            if other
                .as_ref()
                .map(|o| !Arc::ptr_eq(o, &old))
                .unwrap_or(true)
            {
                self.dgram_disconnected(&old);
                let mut o = old.lock();
                if o.peer.is_none() {
                    o.conn = Conn::Close;
                }
            }
        }
        Ok(())
    }

    /// A datagram socket left `other`: its queue (from the old peer) is dropped, and a
    /// peer connected back learns of the loss (ECONNRESET).
    fn dgram_disconnected(&self, other: &Arc<UnixSock>) {
        let gone: Vec<Skb> = {
            let mut st = self.lock();
            st.inq = 0;
            st.rx.drain(..).collect()
        };
        if gone.is_empty() {
            return;
        }
        drop(gone);
        self.wake_peer_waiters();
        if !other.dead.load(Ordering::Acquire)
            && other
                .peer()
                .map(|p| std::ptr::eq(&*p, self))
                .unwrap_or(false)
        {
            other.common.set_err(Errno::ECONNRESET);
            other.wq.notify_all();
        }
    }

    fn accept(&self, t: &Task, nonblock: bool) -> Result<Arc<UnixSock>, Errno> {
        if self.kind == SOCK_DGRAM {
            return Err(Errno::EOPNOTSUPP);
        }
        if self.lock().conn != Conn::Listen {
            return Err(Errno::EINVAL);
        }
        let timeo = self.common.rcvtimeo(nonblock);
        let skb = super::wait(t, &[&self.wq], timeo, || {
            if let Some(e) = self.common.take_err() {
                return Err(e);
            }
            let mut st = self.lock();
            if let Some(s) = st.rx.pop_front() {
                return Ok(Some(s));
            }
            if st.shutdown & RCV_SHUTDOWN != 0 {
                return Err(Errno::EINVAL);
            }
            Ok(None)
        })?;
        self.wq.notify_all();
        let mut skb = skb;
        let new = skb.conn.take().ok_or(Errno::EINVAL)?;
        drop(skb);
        new.lock().has_file = true;
        Ok(new)
    }

    fn getname(&self, peer: bool) -> Result<Vec<u8>, Errno> {
        let s = if peer {
            self.peer().ok_or(Errno::ENOTCONN)?
        } else {
            return Ok(self
                .addr()
                .unwrap_or_else(|| (AF_UNIX as u16).to_le_bytes().to_vec()));
        };
        Ok(s.addr()
            .unwrap_or_else(|| (AF_UNIX as u16).to_le_bytes().to_vec()))
    }

    fn shutdown(&self, how: i32) -> Result<(), Errno> {
        if !(super::SHUT_RD..=super::SHUT_RDWR).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let mode = (how + 1) as u8;
        let other = {
            let mut st = self.lock();
            st.shutdown |= mode;
            st.peer.clone()
        };
        self.wq.notify_all();
        if let Some(o) = other {
            if self.connected_kind() {
                let mut pm = 0;
                if mode & RCV_SHUTDOWN != 0 {
                    pm |= SEND_SHUTDOWN;
                }
                if mode & SEND_SHUTDOWN != 0 {
                    pm |= RCV_SHUTDOWN;
                }
                o.lock().shutdown |= pm;
                o.wq.notify_all();
            }
        }
        Ok(())
    }

    fn poll(self: &Arc<Self>) -> u32 {
        let st = self.lock();
        let mut m = 0;
        if self.common.has_err() {
            m |= POLLERR;
        }
        if st.shutdown & RCV_SHUTDOWN != 0 {
            m |= POLLRDHUP | POLLIN | POLLRDNORM;
        }
        if st.shutdown == SHUTDOWN_MASK {
            m |= POLLHUP;
        }
        if !st.rx.is_empty() {
            m |= POLLIN | POLLRDNORM;
        }
        if st.oob {
            m |= POLLPRI;
        }
        if self.connected_kind() && st.conn == Conn::Close {
            m |= POLLHUP;
        }
        let mut writable = self.writable(st.conn);
        let peer = st.peer.clone();
        drop(st);
        if writable && self.kind != SOCK_STREAM {
            if let Some(o) = peer {
                if !Arc::ptr_eq(&o, self) {
                    let mut ost = o.lock();
                    let back = ost
                        .peer
                        .as_ref()
                        .map(|p| Arc::ptr_eq(p, self))
                        .unwrap_or(false);
                    if !back && UnixSock::recvq_full(&ost) && !o.dead.load(Ordering::Acquire) {
                        self.want_peer_wake(&mut ost);
                        writable = false;
                    }
                }
            }
        }
        if writable {
            m |= POLLOUT | POLLWRNORM | POLLWRBAND;
        }
        m
    }

    fn ioctl(&self, t: &Task, cmd: u32, arg: u64) -> Option<SysResult> {
        Some(match cmd {
            super::SIOCOUTQ => {
                let v = self.wmem().min(i32::MAX as usize) as i32;
                t.write_val(arg, &v).map(|_| 0)
            }
            super::SIOCINQ => match self.inq_len() {
                Ok(n) => t
                    .write_val(arg, &(n.min(i32::MAX as usize) as i32))
                    .map(|_| 0),
                Err(e) => Err(e),
            },
            super::SIOCATMARK => {
                // At the mark: the urgent byte is next, or only an urgent byte already
                // read stands before it (or before nothing urgent).
                let st = self.lock();
                let at = match st.rx.front() {
                    Some(f) if f.oob => true,
                    Some(f) if f.left() == 0 => {
                        !st.oob || st.rx.get(1).map(|n| n.oob).unwrap_or(false)
                    }
                    _ => false,
                };
                drop(st);
                t.write_val(arg, &(at as i32)).map(|_| 0)
            }
            _ => return None,
        })
    }

    /// unix_inq_len: EINVAL on a listener; streams and seqpacket count the unread bytes,
    /// datagrams give the next one's size.
    fn inq_len(&self) -> Result<usize, Errno> {
        let st = self.lock();
        if st.conn == Conn::Listen {
            return Err(Errno::EINVAL);
        }
        Ok(match self.kind {
            SOCK_STREAM => st.inq,
            SOCK_SEQPACKET => st.rx.iter().map(|s| s.left()).sum(),
            _ => st.rx.front().map(|s| s.len()).unwrap_or(0),
        })
    }

    /// unix_release_sock: the socket is gone; its peer sees the end (and ECONNRESET when
    /// data it sent was never read, or the connection was never accepted); queued
    /// connections of a listener are released too; descriptors in flight are freed.
    fn release(self: &Arc<Self>, embryo: bool) {
        let (peer, rx, path, was) = {
            let mut st = self.lock();
            if let Some(k) = st.key.take() {
                let mut reg = names().lock().unwrap();
                if reg
                    .get(&k)
                    .map(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(self)))
                    .unwrap_or(false)
                {
                    reg.remove(&k);
                }
            }
            self.dead.store(true, Ordering::Release);
            st.shutdown = SHUTDOWN_MASK;
            let was = st.conn;
            st.conn = Conn::Close;
            st.inq = 0;
            let rx: Vec<Skb> = st.rx.drain(..).collect();
            (st.peer.take(), rx, st.path.take(), was)
        };
        self.wake_peer_waiters();
        if let Some(p) = peer {
            if self.connected_kind() {
                let unread = rx.iter().any(|s| s.left() > 0 || !s.fds.is_empty());
                let mut ps = p.lock();
                ps.shutdown = SHUTDOWN_MASK;
                drop(ps);
                if unread || embryo {
                    p.common.set_err(Errno::ECONNRESET);
                }
            }
            p.lock()
                .peer_wake
                .retain(|w| !std::ptr::eq(w.as_ptr(), Arc::as_ptr(self)));
            p.wq.notify_all();
        }
        for mut s in rx {
            if was == Conn::Listen {
                if let Some(e) = s.conn.take() {
                    e.release(true);
                }
            }
            drop(s);
        }
        drop(path);
        all().lock().unwrap().remove(&self.id);
        gc::maybe_collect();
    }
}

/// Locks two sockets in address order; the second guard is None when they are the same.
fn lock2<'a>(
    a: &'a Arc<UnixSock>,
    b: &'a Arc<UnixSock>,
) -> (MutexGuard<'a, UState>, Option<MutexGuard<'a, UState>>) {
    if Arc::ptr_eq(a, b) {
        return (a.lock(), None);
    }
    if Arc::as_ptr(a) < Arc::as_ptr(b) {
        let ga = a.lock();
        let gb = b.lock();
        (ga, Some(gb))
    } else {
        let gb = b.lock();
        let ga = a.lock();
        (ga, Some(gb))
    }
}

/// unix_may_send: `other` is not connected, or connected to `me`.
fn may_send(me: &UnixSock, other: &UState) -> bool {
    other
        .peer
        .as_ref()
        .map(|p| std::ptr::eq(&**p, me))
        .unwrap_or(true)
}

/// unix_validate_addr: longer than the family, at most sizeof(sockaddr_un), AF_UNIX.
fn validate(addr: &[u8]) -> Result<(), Errno> {
    if addr.len() <= PATH_OFF || addr.len() > SUN_LEN {
        return Err(Errno::EINVAL);
    }
    if super::sa_family(addr) != Some(AF_UNIX as u16) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// The path of a path address: up to the first NUL within the given length.
fn path_of(addr: &[u8]) -> Vec<u8> {
    let p = &addr[PATH_OFF..];
    let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
    p[..end].to_vec()
}

fn start_loc(t: &Task, path: &[u8]) -> Loc {
    let fs = t.fs();
    if path.first() == Some(&b'/') {
        fs.root()
    } else {
        fs.cwd()
    }
}

/// unix_find_other: by path (the caller needs write permission on the node; a node
/// without a socket of this type refuses) or by abstract name.
fn find_other(t: &Task, addr: &[u8], kind: i32) -> Result<Arc<UnixSock>, Errno> {
    if addr[PATH_OFF] == 0 {
        let key = Key::Abstract(kind, addr[PATH_OFF..].to_vec());
        return names()
            .lock()
            .unwrap()
            .get(&key)
            .and_then(|w| w.upgrade())
            .ok_or(Errno::ECONNREFUSED);
    }
    let path = path_of(addr);
    let ctx = Ctx::of(t);
    let loc = walk::resolve(&ctx, &start_loc(t, &path), &path, true)?;
    let st = loc.inode().stat()?;
    perm::check(&ctx.creds, &st, MAY_WRITE)?;
    if st.mode & mode::S_IFMT != mode::S_IFSOCK {
        return Err(Errno::ECONNREFUSED);
    }
    let s = names()
        .lock()
        .unwrap()
        .get(&Key::Node(st.dev, st.ino))
        .and_then(|w| w.upgrade())
        .ok_or(Errno::ECONNREFUSED)?;
    if s.kind != kind {
        return Err(Errno::EPROTOTYPE);
    }
    Ok(s)
}

// ------------------------------------------------------------------------------------------
// The endpoint a socket file holds.

/// The `SocketOps` of a unix socket file; dropping it releases the socket.
pub struct Endpoint {
    sock: Arc<UnixSock>,
}

impl Endpoint {
    fn new(sock: Arc<UnixSock>) -> Endpoint {
        Endpoint { sock }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.sock.release(false);
    }
}

/// The unix endpoint behind socket operations, if they are one.
fn endpoint(ops: &dyn SocketOps) -> Option<&Endpoint> {
    ops.as_any().downcast_ref::<Endpoint>()
}

/// The unix socket of an open file, if it is one.
fn sock_of_file(f: &File) -> Option<Arc<UnixSock>> {
    let s = super::socket_of_file(f)?;
    endpoint(&*s.ops).map(|e| e.sock.clone())
}

impl SocketOps for Endpoint {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn family(&self) -> i32 {
        AF_UNIX
    }
    fn kind(&self) -> i32 {
        self.sock.kind
    }
    fn protocol(&self) -> i32 {
        0
    }
    fn common(&self) -> &SockCommon {
        &self.sock.common
    }
    fn bind(&self, t: &Task, addr: &[u8]) -> Result<(), Errno> {
        self.sock.bind(t, addr)
    }
    fn connect(&self, t: &Task, addr: &[u8], nonblock: bool) -> Result<(), Errno> {
        if self.sock.kind == SOCK_DGRAM {
            self.sock.connect_dgram(t, addr)
        } else {
            self.sock.connect_stream(t, addr, nonblock)
        }
    }
    fn listen(&self, t: &Task, backlog: i32) -> Result<(), Errno> {
        self.sock.listen(t, backlog)
    }
    fn accept(&self, t: &Task, nonblock: bool) -> Result<Box<dyn SocketOps>, Errno> {
        Ok(Box::new(Endpoint::new(self.sock.accept(t, nonblock)?)))
    }
    fn getname(&self, peer: bool) -> Result<Vec<u8>, Errno> {
        self.sock.getname(peer)
    }
    fn sendmsg(&self, t: &Task, msg: &mut SendMsg) -> Result<usize, Errno> {
        if self.sock.kind == SOCK_STREAM {
            self.sock.stream_send(t, msg)
        } else {
            self.sock.dgram_send(t, msg)
        }
    }
    fn recvmsg(&self, t: &Task, msg: &mut RecvMsg) -> Result<usize, Errno> {
        if self.sock.kind == SOCK_STREAM {
            self.sock.stream_recv(t, msg)
        } else {
            self.sock.dgram_recv(t, msg)
        }
    }
    fn shutdown(&self, how: i32) -> Result<(), Errno> {
        self.sock.shutdown(how)
    }
    fn poll(&self) -> u32 {
        self.sock.poll()
    }
    fn wait_queue(&self) -> Arc<WaitQueue> {
        self.sock.wq.clone()
    }
    fn ioctl(&self, t: &Task, cmd: u32, arg: u64) -> Option<SysResult> {
        self.sock.ioctl(t, cmd, arg)
    }
    fn nread(&self) -> Option<usize> {
        self.sock.inq_len().ok()
    }
    fn listening(&self) -> bool {
        self.sock.lock().conn == Conn::Listen
    }
    fn peek_off_supported(&self) -> bool {
        true
    }
}

// ------------------------------------------------------------------------------------------
// /proc/net/unix.

/// /proc/net/unix in Linux's format: every unix socket with its reference count, flags
/// (__SO_ACCEPTCON for listeners), type, socket state and inode, then the name (abstract
/// names start with '@', NULs in them print as '@').
pub fn proc_net_unix() -> Vec<u8> {
    use std::fmt::Write as _;
    let socks = live_socks();
    let mut o = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for s in socks {
        let st = s.lock();
        let state = match (st.has_file, st.conn == Conn::Established) {
            (true, true) => 3,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 4,
        };
        let refs = 2 + st.peer.is_some() as u32;
        let flags = if st.conn == Conn::Listen { 0x10000 } else { 0 };
        let num = s.id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let _ = write!(
            o,
            "{:016x}: {:08X} {:08X} {:08X} {:04X} {:02X} {:5}",
            num,
            refs,
            0,
            flags,
            s.kind,
            state,
            s.common.ino()
        );
        if let Some(a) = &st.addr {
            o.push(' ');
            let p = &a[PATH_OFF..];
            let (text, skip) = if p.first() == Some(&0) {
                o.push('@');
                (p, 1)
            } else {
                (&p[..p.len().saturating_sub(1)], 0)
            };
            let bytes: Vec<u8> = text[skip..]
                .iter()
                .map(|&c| if c == 0 { b'@' } else { c })
                .collect();
            o.push_str(&String::from_utf8_lossy(&bytes));
        }
        o.push('\n');
    }
    o.into_bytes()
}

/// Whether the caller may pass more descriptors (too_many_unix_fds).
fn may_pass_fds(t: &Task) -> bool {
    let uid = t.creds().uid;
    gc::user_inflight(uid) <= t.rlimit(7).0 as usize
        || capable(t, super::CAP_SYS_RESOURCE)
        || capable(t, super::CAP_SYS_ADMIN)
}
