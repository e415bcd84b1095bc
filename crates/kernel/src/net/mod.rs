//! The socket layer: sockets are files whose behaviour comes from an address family.
//!
//! - A family (`Family`: AF_UNIX here; AF_INET/AF_INET6/AF_NETLINK plug in the same way,
//!   one entry in `FAMILIES`) makes endpoints that implement `SocketOps`.
//! - `Socket` wraps an endpoint with its inode number; `SocketFile` is its `FileOps`
//!   (read/write/poll/ioctl), `SockInode` its inode (S_IFSOCK, "socket:[ino]").
//! - `SockCommon` is the generic per-socket state every family keeps (Linux's struct
//!   sock: SOL_SOCKET options, the pending error, the peer's credentials); the layer
//!   answers SOL_SOCKET options from it (`opts.rs`) and asks the family only for what it
//!   alone knows (`SocketOps::sol_get`/`sol_set`).
//! - Data moves through `IoBuf` (the caller's iovecs or a kernel buffer) so families copy
//!   exactly what they queue; control messages arrive parsed (`Cmsg`) and leave as
//!   `RecvCmsg` (descriptors are installed by the syscall layer).
//! - Blocking follows Linux's socket rules (`wait`): O_NONBLOCK/MSG_DONTWAIT give EAGAIN,
//!   an expired SO_RCVTIMEO/SO_SNDTIMEO gives EAGAIN, a signal gives ERESTARTSYS without a
//!   timeout (so SA_RESTART restarts the call) and EINTR with one.
//!
//! Everything here is plain data (no host resources), so it can be saved.

pub mod opts;
pub mod unix;

pub use opts::OptVal;

use crate::fs::anon::AnonInode;
use crate::task::{SysResult, Task};
use crate::vfs::inode::{FileOps, Inode};
use crate::vfs::{dentry, mode, oflags, Ctx, File, Loc, Stat};
use crate::wait::WaitQueue;
use abi::Errno;
use std::any::Any;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------------------
// ABI constants.

pub const AF_UNSPEC: i32 = 0;
pub const AF_UNIX: i32 = 1;
pub const AF_INET: i32 = 2;
pub const AF_INET6: i32 = 10;
pub const AF_NETLINK: i32 = 16;
/// Families are below this (Linux's AF_MAX).
pub const AF_MAX: i32 = 46;

pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;
pub const SOCK_RAW: i32 = 3;
pub const SOCK_SEQPACKET: i32 = 5;
/// Types are below this.
pub const SOCK_MAX: i32 = 11;
pub const SOCK_TYPE_MASK: i32 = 0xf;
pub const SOCK_NONBLOCK: i32 = 0o4000;
pub const SOCK_CLOEXEC: i32 = 0o2000000;

pub const MSG_OOB: u32 = 0x1;
pub const MSG_PEEK: u32 = 0x2;
pub const MSG_CTRUNC: u32 = 0x8;
pub const MSG_TRUNC: u32 = 0x20;
pub const MSG_DONTWAIT: u32 = 0x40;
pub const MSG_EOR: u32 = 0x80;
pub const MSG_WAITALL: u32 = 0x100;
pub const MSG_ERRQUEUE: u32 = 0x2000;
pub const MSG_NOSIGNAL: u32 = 0x4000;
pub const MSG_WAITFORONE: u32 = 0x10000;
pub const MSG_CMSG_CLOEXEC: u32 = 0x4000_0000;
pub const MSG_CMSG_COMPAT: u32 = 0x8000_0000;
/// Flags only the kernel may pass to sendmsg (stripped from the caller's).
pub const MSG_INTERNAL_SENDMSG_FLAGS: u32 = 0x0800_0000 | 0x0001_0000 | 0x0010_0000;

pub const SOL_SOCKET: i32 = 1;
pub const SCM_RIGHTS: i32 = 1;
pub const SCM_CREDENTIALS: i32 = 2;
/// Most descriptors in one SCM_RIGHTS message (Linux's SCM_MAX_FD).
pub const SCM_MAX_FD: usize = 253;

pub const SHUT_RD: i32 = 0;
pub const SHUT_WR: i32 = 1;
pub const SHUT_RDWR: i32 = 2;
/// sk_shutdown bits.
pub const RCV_SHUTDOWN: u8 = 1;
pub const SEND_SHUTDOWN: u8 = 2;
pub const SHUTDOWN_MASK: u8 = 3;

pub use crate::vfs::inode::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM};
pub const POLLRDBAND: u32 = 0x80;
pub const POLLWRBAND: u32 = 0x200;
pub const POLLRDHUP: u32 = 0x2000;

pub const FIONREAD: u32 = 0x541b;
pub const SIOCINQ: u32 = FIONREAD;
pub const SIOCOUTQ: u32 = 0x5411;
pub const SIOCATMARK: u32 = 0x8905;

/// Capabilities the socket layer checks.
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_RESOURCE: u32 = 24;

/// Clock ticks per second of socket timeouts (Linux's HZ on the reference machine):
/// SO_RCVTIMEO/SO_SNDTIMEO are kept in ticks and read back rounded as Linux does.
pub const HZ: u64 = 250;

/// Largest `struct sockaddr_storage`.
pub const SOCKADDR_MAX: usize = 128;

// ------------------------------------------------------------------------------------------
// Tunables (the host's net.core / net.unix sysctls, read once at start).

/// Network sysctls the socket layer follows.
#[derive(Clone, Debug)]
pub struct NetSysctl {
    pub wmem_default: i32,
    pub rmem_default: i32,
    pub wmem_max: i32,
    pub rmem_max: i32,
    pub optmem_max: usize,
    pub somaxconn: i32,
    pub max_dgram_qlen: i32,
}

static SYSCTL: OnceLock<NetSysctl> = OnceLock::new();

/// Reads the host's values (Linux's defaults when they cannot be read). Called while
/// setting up the sandbox, before the host's /proc may be out of reach.
pub fn snapshot_host() {
    SYSCTL.get_or_init(|| {
        let read = |p: &str, dflt: i64| -> i64 {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|&v| v > 0 && v <= i32::MAX as i64)
                .unwrap_or(dflt)
        };
        NetSysctl {
            wmem_default: read("/proc/sys/net/core/wmem_default", 212992) as i32,
            rmem_default: read("/proc/sys/net/core/rmem_default", 212992) as i32,
            wmem_max: read("/proc/sys/net/core/wmem_max", 212992) as i32,
            rmem_max: read("/proc/sys/net/core/rmem_max", 212992) as i32,
            optmem_max: read("/proc/sys/net/core/optmem_max", 131072) as usize,
            somaxconn: read("/proc/sys/net/core/somaxconn", 4096) as i32,
            max_dgram_qlen: read("/proc/sys/net/unix/max_dgram_qlen", 10) as i32,
        }
    });
}

pub fn sysctl() -> &'static NetSysctl {
    snapshot_host();
    SYSCTL.get().expect("net sysctls")
}

// ------------------------------------------------------------------------------------------
// Credentials.

/// `struct ucred` as SCM_CREDENTIALS and SO_PEERCRED carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

impl Ucred {
    pub fn to_bytes(self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..8].copy_from_slice(&self.uid.to_le_bytes());
        b[8..12].copy_from_slice(&self.gid.to_le_bytes());
        b
    }
}

/// The credentials a connection recorded of its peer (SO_PEERCRED, SO_PEERGROUPS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCred {
    pub pid: i32,
    pub euid: u32,
    pub egid: u32,
    pub groups: Vec<u32>,
}

impl PeerCred {
    /// The calling task's (prepare_peercred).
    pub fn current(t: &Task) -> PeerCred {
        let c = t.creds();
        PeerCred {
            pid: t.tgid(),
            euid: c.euid,
            egid: c.egid,
            groups: c.groups.clone(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Generic per-socket state.

/// SOL_SOCKET options (plain data; families read a snapshot with `SockCommon::opts`).
#[derive(Clone, Debug)]
pub struct SockOpts {
    pub sndbuf: i32,
    pub rcvbuf: i32,
    /// Timeouts in ticks of `HZ`: None waits forever, Some(0) never waits.
    pub rcvtimeo: Option<u64>,
    pub sndtimeo: Option<u64>,
    pub rcvlowat: i32,
    /// SO_PEEK_OFF: -1 when off.
    pub peek_off: i32,
    pub passcred: bool,
    pub passsec: bool,
    pub passpidfd: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub dontroute: bool,
    pub oobinline: bool,
    pub no_check: bool,
    pub debug: bool,
    pub timestamp: bool,
    pub timestampns: bool,
    pub rxq_ovfl: bool,
    pub wifi_status: bool,
    pub nofcs: bool,
    pub select_err_queue: bool,
    pub priority: i32,
    pub mark: u32,
    /// SO_LINGER: on/off and the time in ticks.
    pub linger: bool,
    pub lingertime: u64,
    pub busy_poll: i32,
    pub max_pacing_rate: u64,
    pub incoming_cpu: i32,
    pub bound_dev_if: i32,
}

impl Default for SockOpts {
    fn default() -> Self {
        let s = sysctl();
        SockOpts {
            sndbuf: s.wmem_default,
            rcvbuf: s.rmem_default,
            rcvtimeo: None,
            sndtimeo: None,
            rcvlowat: 1,
            peek_off: -1,
            passcred: false,
            passsec: false,
            passpidfd: false,
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            broadcast: false,
            dontroute: false,
            oobinline: false,
            no_check: false,
            debug: false,
            timestamp: false,
            timestampns: false,
            rxq_ovfl: false,
            wifi_status: false,
            nofcs: false,
            select_err_queue: false,
            priority: 0,
            mark: 0,
            linger: false,
            lingertime: 0,
            busy_poll: 0,
            max_pacing_rate: u64::MAX,
            incoming_cpu: -1,
            bound_dev_if: 0,
        }
    }
}

/// What every socket of every family has (Linux's struct sock, the generic part).
pub struct SockCommon {
    opts: Mutex<SockOpts>,
    /// Pending asynchronous error (positive errno; 0 none): SO_ERROR, and the next call.
    err: AtomicI32,
    /// The peer's credentials, for connection-oriented sockets.
    peer: Mutex<Option<PeerCred>>,
    /// The inode number of the socket's file once it has one (0 before).
    ino: AtomicU64,
    /// SO_COOKIE.
    cookie: u64,
}

impl Default for SockCommon {
    fn default() -> Self {
        SockCommon::new()
    }
}

impl SockCommon {
    pub fn new() -> SockCommon {
        static COOKIE: AtomicU64 = AtomicU64::new(1);
        SockCommon {
            opts: Mutex::new(SockOpts::default()),
            err: AtomicI32::new(0),
            peer: Mutex::new(None),
            ino: AtomicU64::new(0),
            cookie: COOKIE.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// A snapshot of the options.
    pub fn opts(&self) -> SockOpts {
        self.opts.lock().unwrap().clone()
    }

    pub fn with_opts<R>(&self, f: impl FnOnce(&mut SockOpts) -> R) -> R {
        f(&mut self.opts.lock().unwrap())
    }

    /// Copies the options a new connection inherits from its listener.
    pub fn inherit_from(&self, parent: &SockCommon) {
        let p = parent.opts();
        self.with_opts(|o| *o = p);
    }

    pub fn sndbuf(&self) -> usize {
        self.opts.lock().unwrap().sndbuf.max(0) as usize
    }

    pub fn passcred(&self) -> bool {
        let o = self.opts.lock().unwrap();
        o.passcred || o.passpidfd
    }

    /// Sets the pending error (sk_err).
    pub fn set_err(&self, e: Errno) {
        self.err.store(e.0, Ordering::Release);
    }

    pub fn has_err(&self) -> bool {
        self.err.load(Ordering::Acquire) != 0
    }

    /// Takes the pending error (sock_error).
    pub fn take_err(&self) -> Option<Errno> {
        match self.err.swap(0, Ordering::AcqRel) {
            0 => None,
            e => Some(Errno(e)),
        }
    }

    pub fn peer_cred(&self) -> Option<PeerCred> {
        self.peer.lock().unwrap().clone()
    }

    pub fn set_peer_cred(&self, c: Option<PeerCred>) {
        *self.peer.lock().unwrap() = c;
    }

    pub fn ino(&self) -> u64 {
        self.ino.load(Ordering::Acquire)
    }

    pub fn cookie(&self) -> u64 {
        self.cookie
    }

    /// How long a receive may wait: `nonblock` (O_NONBLOCK or MSG_DONTWAIT) never waits.
    pub fn rcvtimeo(&self, nonblock: bool) -> Timeo {
        Timeo::from_ticks(nonblock, self.opts.lock().unwrap().rcvtimeo)
    }

    /// How long a send (or connect) may wait.
    pub fn sndtimeo(&self, nonblock: bool) -> Timeo {
        Timeo::from_ticks(nonblock, self.opts.lock().unwrap().sndtimeo)
    }
}

// ------------------------------------------------------------------------------------------
// Blocking.

/// How long a socket call may block (Linux's timeo, fixed at the start of the call).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeo {
    /// Do not wait: EAGAIN.
    Now,
    /// Wait until done or interrupted (ERESTARTSYS).
    Forever,
    /// Wait until the deadline (then EAGAIN); a signal gives EINTR.
    Until(Instant),
}

impl Timeo {
    pub fn from_ticks(nonblock: bool, ticks: Option<u64>) -> Timeo {
        if nonblock {
            return Timeo::Now;
        }
        match ticks {
            None => Timeo::Forever,
            Some(0) => Timeo::Now,
            Some(t) => Timeo::Until(Instant::now() + Duration::from_micros(t * (1_000_000 / HZ))),
        }
    }

    /// Whether any waiting time is left.
    pub fn can_wait(&self) -> bool {
        match self {
            Timeo::Now => false,
            Timeo::Forever => true,
            Timeo::Until(d) => Instant::now() < *d,
        }
    }

    /// The error a signal ends a wait with (sock_intr_errno).
    pub fn intr_errno(&self) -> Errno {
        match self {
            Timeo::Forever => Errno::ERESTARTSYS,
            _ => Errno::EINTR,
        }
    }
}

/// Blocks until `f` yields a value, as Linux's socket waits do: `f` runs first; then
/// EAGAIN if the call may not wait (or its time is up), EINTR or ERESTARTSYS (see
/// `Timeo::intr_errno`) on a signal. `qs` are the queues whose notification may change
/// `f`'s answer.
pub fn wait<T>(
    t: &Task,
    qs: &[&WaitQueue],
    timeo: Timeo,
    mut f: impl FnMut() -> Result<Option<T>, Errno>,
) -> Result<T, Errno> {
    match timeo {
        Timeo::Now => f()?.ok_or(Errno::EAGAIN),
        Timeo::Forever => t.wait_until(qs, None, None, f),
        Timeo::Until(d) => match t.wait_until(qs, None, Some(d), f) {
            Err(Errno::ETIMEDOUT) => Err(Errno::EAGAIN),
            Err(Errno::ERESTARTSYS) => Err(Errno::EINTR),
            r => r,
        },
    }
}

// ------------------------------------------------------------------------------------------
// Data of a send or receive.

/// The bytes of one send or receive: the caller's iovecs (copied piece by piece as the
/// family takes or delivers data) or a kernel buffer (read/write through `FileOps`).
pub enum IoBuf<'a> {
    User {
        t: &'a Task,
        iov: &'a [(u64, u64)],
        len: usize,
        pos: usize,
    },
    In {
        data: &'a [u8],
        pos: usize,
    },
    Out {
        buf: &'a mut [u8],
        pos: usize,
    },
}

impl<'a> IoBuf<'a> {
    /// Over the caller's iovecs; the total is capped at `max` (MAX_RW_COUNT).
    pub fn user(t: &'a Task, iov: &'a [(u64, u64)], max: u64) -> IoBuf<'a> {
        let len = iov
            .iter()
            .fold(0u64, |s, &(_, l)| s.saturating_add(l))
            .min(max) as usize;
        IoBuf::User {
            t,
            iov,
            len,
            pos: 0,
        }
    }

    /// Total bytes.
    pub fn len(&self) -> usize {
        match self {
            IoBuf::User { len, .. } => *len,
            IoBuf::In { data, .. } => data.len(),
            IoBuf::Out { buf, .. } => buf.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn pos(&self) -> usize {
        match self {
            IoBuf::User { pos, .. } | IoBuf::In { pos, .. } | IoBuf::Out { pos, .. } => *pos,
        }
    }

    /// Bytes not yet taken or delivered.
    pub fn left(&self) -> usize {
        self.len() - self.pos()
    }

    /// Takes the next `n` bytes from the caller (send side). A fault takes nothing
    /// (EFAULT), as Linux's copy into an skb fails whole.
    pub fn take(&mut self, n: usize) -> Result<Vec<u8>, Errno> {
        let n = n.min(self.left());
        let mut out = vec![0u8; n];
        match self {
            IoBuf::User { t, iov, pos, .. } => {
                user_copy(iov, *pos, n, |addr, off, k| {
                    t.read_mem(addr, &mut out[off..off + k])
                })?;
                *pos += n;
            }
            IoBuf::In { data, pos } => {
                out.copy_from_slice(&data[*pos..*pos + n]);
                *pos += n;
            }
            IoBuf::Out { .. } => return Err(Errno::EINVAL),
        }
        Ok(out)
    }

    /// Delivers `data` to the caller (receive side); on a fault nothing counts as
    /// delivered (EFAULT).
    pub fn put(&mut self, data: &[u8]) -> Result<(), Errno> {
        let n = data.len().min(self.left());
        match self {
            IoBuf::User { t, iov, pos, .. } => {
                user_copy(iov, *pos, n, |addr, off, k| {
                    t.write_mem(addr, &data[off..off + k])
                })?;
                *pos += n;
            }
            IoBuf::Out { buf, pos } => {
                buf[*pos..*pos + n].copy_from_slice(&data[..n]);
                *pos += n;
            }
            IoBuf::In { .. } => return Err(Errno::EINVAL),
        }
        Ok(())
    }
}

/// Walks the iovec bytes [from, from+n), calling `f(addr, offset, len)` per piece.
fn user_copy(
    iov: &[(u64, u64)],
    from: usize,
    n: usize,
    mut f: impl FnMut(u64, usize, usize) -> Result<(), Errno>,
) -> Result<(), Errno> {
    let mut skip = from as u64;
    let mut done = 0usize;
    for &(base, len) in iov {
        if done == n {
            break;
        }
        if skip >= len {
            skip -= len;
            continue;
        }
        let k = ((len - skip) as usize).min(n - done);
        f(base.wrapping_add(skip), done, k)?;
        done += k;
        skip = 0;
    }
    Ok(())
}

/// One control message as sent (cmsg_level, cmsg_type, data).
#[derive(Clone, Debug)]
pub struct Cmsg {
    pub level: i32,
    pub kind: i32,
    pub data: Vec<u8>,
}

/// One control message to deliver, in order.
pub enum RecvCmsg {
    Data {
        level: i32,
        kind: i32,
        data: Vec<u8>,
    },
    /// SCM_RIGHTS: installed by the receiving side (MSG_CMSG_CLOEXEC, truncation).
    Rights(Vec<Arc<File>>),
}

/// A send: data, destination (msg_name), the control buffer as the caller gave it (a
/// family parses it with `cmsgs`/`scm_send` at the point Linux does), MSG_* flags (with
/// MSG_DONTWAIT added for O_NONBLOCK files).
pub struct SendMsg<'a> {
    pub data: IoBuf<'a>,
    pub addr: Option<Vec<u8>>,
    pub control: Vec<u8>,
    pub flags: u32,
}

/// sizeof(struct cmsghdr).
pub const CMSG_HDR: usize = 16;

pub fn cmsg_align(n: usize) -> usize {
    (n + 7) & !7
}

/// The control messages of a send buffer (CMSG_FIRSTHDR/CMSG_NXTHDR); EINVAL for one
/// whose cmsg_len is shorter than its header or runs past the buffer (CMSG_OK).
pub fn cmsgs(ctl: &[u8]) -> Result<Vec<Cmsg>, Errno> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while ctl.len() >= off + CMSG_HDR {
        let h = &ctl[off..off + CMSG_HDR];
        let len = u64::from_le_bytes(h[0..8].try_into().unwrap());
        if len < CMSG_HDR as u64 || len > (ctl.len() - off) as u64 {
            return Err(Errno::EINVAL);
        }
        let len = len as usize;
        out.push(Cmsg {
            level: i32::from_le_bytes(h[8..12].try_into().unwrap()),
            kind: i32::from_le_bytes(h[12..16].try_into().unwrap()),
            data: ctl[off + CMSG_HDR..off + len].to_vec(),
        });
        off += cmsg_align(len);
    }
    Ok(out)
}

/// What SOL_SOCKET control messages of a send carry (Linux's scm_cookie).
#[derive(Default)]
pub struct Scm {
    pub fds: Vec<Arc<File>>,
    /// Explicit SCM_CREDENTIALS, checked.
    pub creds: Option<Ucred>,
}

/// __scm_send: SCM_RIGHTS (if `rights`: AF_UNIX only, at most SCM_MAX_FD descriptors,
/// EBADF for a closed one) and SCM_CREDENTIALS (exactly one ucred; the pid, uid and gid
/// must be the caller's own unless it has CAP_SYS_ADMIN / CAP_SETUID / CAP_SETGID: EPERM;
/// the pid must exist: ESRCH). Other SOL_SOCKET types are EINVAL; other levels are
/// ignored.
pub fn scm_send(t: &Task, ctl: &[u8], rights: bool) -> Result<Scm, Errno> {
    let mut scm = Scm::default();
    for c in cmsgs(ctl)? {
        if c.level != SOL_SOCKET {
            continue;
        }
        match c.kind {
            SCM_RIGHTS if rights => {
                let n = c.data.len() / 4;
                if n == 0 {
                    continue;
                }
                if n > SCM_MAX_FD || scm.fds.len() + n > SCM_MAX_FD {
                    return Err(Errno::EINVAL);
                }
                let table = t.files();
                for i in 0..n {
                    let fd = i32::from_le_bytes(c.data[i * 4..i * 4 + 4].try_into().unwrap());
                    scm.fds.push(table.get(fd)?);
                }
            }
            SCM_CREDENTIALS => {
                if c.data.len() != 12 {
                    return Err(Errno::EINVAL);
                }
                let u = Ucred {
                    pid: i32::from_le_bytes(c.data[0..4].try_into().unwrap()),
                    uid: u32::from_le_bytes(c.data[4..8].try_into().unwrap()),
                    gid: u32::from_le_bytes(c.data[8..12].try_into().unwrap()),
                };
                let cr = t.creds();
                let pid_ok = u.pid == t.tgid() || cr.has_cap(CAP_SYS_ADMIN);
                let uid_ok = [cr.uid, cr.euid, cr.suid].contains(&u.uid) || cr.has_cap(CAP_SETUID);
                let gid_ok = [cr.gid, cr.egid, cr.sgid].contains(&u.gid) || cr.has_cap(CAP_SETGID);
                if !(pid_ok && uid_ok && gid_ok) {
                    return Err(Errno::EPERM);
                }
                if u.pid != t.tgid() {
                    let procs = crate::kernel().procs.lock().unwrap();
                    if u.pid <= 0 || (procs.task(u.pid).is_none() && procs.group(u.pid).is_none()) {
                        return Err(Errno::ESRCH);
                    }
                }
                if u.uid == u32::MAX || u.gid == u32::MAX {
                    return Err(Errno::EINVAL);
                }
                scm.creds = Some(u);
            }
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(scm)
}

/// A receive: the caller's buffer and flags in; the source address, result flags
/// (MSG_TRUNC, MSG_EOR, ...) and control messages out.
pub struct RecvMsg<'a> {
    pub data: IoBuf<'a>,
    pub flags: u32,
    /// The caller wants the source address (msg_name given).
    pub want_addr: bool,
    pub addr: Option<Vec<u8>>,
    pub out_flags: u32,
    pub control: Vec<RecvCmsg>,
}

impl<'a> RecvMsg<'a> {
    pub fn new(data: IoBuf<'a>, flags: u32, want_addr: bool) -> RecvMsg<'a> {
        RecvMsg {
            data,
            flags,
            want_addr,
            addr: None,
            out_flags: 0,
            control: Vec::new(),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Families and endpoints.

/// What an address family implements for one socket (Linux's proto_ops + struct sock).
/// Every method gets the calling task; blocking ones honour `SockCommon` timeouts and
/// the nonblock flag they are given, through `net::wait`.
pub trait SocketOps: Send + Sync + Any {
    fn as_any(&self) -> &dyn Any;
    /// AF_*, SOCK_*, protocol (SO_DOMAIN, SO_TYPE, SO_PROTOCOL).
    fn family(&self) -> i32;
    fn kind(&self) -> i32;
    fn protocol(&self) -> i32;
    /// The generic state (options, error, peer credentials).
    fn common(&self) -> &SockCommon;

    fn bind(&self, _t: &Task, _addr: &[u8]) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `nonblock`: the file's O_NONBLOCK.
    fn connect(&self, _t: &Task, _addr: &[u8], _nonblock: bool) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// `backlog` is already capped at somaxconn.
    fn listen(&self, _t: &Task, _backlog: i32) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    fn accept(&self, _t: &Task, _nonblock: bool) -> Result<Box<dyn SocketOps>, Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// The local (`peer` false) or peer address, as sockaddr bytes.
    fn getname(&self, peer: bool) -> Result<Vec<u8>, Errno>;
    /// Returns the bytes sent (the family raises SIGPIPE itself where Linux does).
    fn sendmsg(&self, t: &Task, msg: &mut SendMsg) -> Result<usize, Errno>;
    /// Returns the call's result (bytes, or the full length with MSG_TRUNC).
    fn recvmsg(&self, t: &Task, msg: &mut RecvMsg) -> Result<usize, Errno>;
    fn shutdown(&self, _how: i32) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// POLL* bits now (including POLLRDHUP, which poll masks unless requested).
    fn poll(&self) -> u32;
    /// Notified whenever `poll`'s answer may change.
    fn wait_queue(&self) -> Arc<WaitQueue>;
    /// Family ioctls (FIONREAD/SIOCINQ, SIOCOUTQ, ...): None for "not mine" (ENOTTY).
    fn ioctl(&self, _t: &Task, _cmd: u32, _arg: u64) -> Option<SysResult> {
        None
    }
    /// Bytes readable now (FIONREAD), if the family knows.
    fn nread(&self) -> Option<usize> {
        None
    }
    /// Listening (SO_ACCEPTCONN).
    fn listening(&self) -> bool {
        false
    }
    /// Whether SO_PEEK_OFF is supported (Linux: ops->set_peek_off).
    fn peek_off_supported(&self) -> bool {
        false
    }
    /// SOL_SOCKET options the family answers itself (None: the generic answer).
    fn sol_get(&self, _t: &Task, _name: i32) -> Option<Result<Vec<u8>, Errno>> {
        None
    }
    /// SOL_SOCKET options the family takes itself (None: the generic handling).
    fn sol_set(&self, _t: &Task, _name: i32, _val: &OptVal) -> Option<Result<(), Errno>> {
        None
    }
    /// Options of other levels (IPPROTO_TCP, ...), read from the caller as needed.
    fn setsockopt(&self, _t: &Task, _level: i32, _name: i32, _val: &OptVal) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
    /// Options of other levels: the family reads *optlen and writes the value and its
    /// length itself (option-specific length rules).
    fn getsockopt(
        &self,
        _t: &Task,
        _level: i32,
        _name: i32,
        _optval: u64,
        _optlen: u64,
    ) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }
}

/// An address family: makes sockets (socket(2)) and connected pairs (socketpair(2)).
pub trait Family: Sync {
    /// `kind` is the SOCK_* type without flags, already below SOCK_MAX.
    fn create(&self, t: &Task, kind: i32, protocol: i32) -> Result<Box<dyn SocketOps>, Errno>;
    /// Families without pairs still check the type and protocol first, as Linux
    /// creates the sockets before asking for the pair.
    fn socketpair(
        &self,
        t: &Task,
        kind: i32,
        protocol: i32,
    ) -> Result<(Box<dyn SocketOps>, Box<dyn SocketOps>), Errno> {
        self.create(t, kind, protocol)?;
        Err(Errno::EOPNOTSUPP)
    }
}

/// The families this kernel has; others are EAFNOSUPPORT.
static FAMILIES: &[(i32, &dyn Family)] = &[(AF_UNIX, &unix::Unix)];

fn family(f: i32) -> Result<&'static dyn Family, Errno> {
    if !(0..AF_MAX).contains(&f) {
        return Err(Errno::EAFNOSUPPORT);
    }
    FAMILIES
        .iter()
        .find(|(n, _)| *n == f)
        .map(|(_, fam)| *fam)
        .ok_or(Errno::EAFNOSUPPORT)
}

/// sock_create's checks, then the family's.
pub fn create(t: &Task, fam: i32, kind: i32, protocol: i32) -> Result<Box<dyn SocketOps>, Errno> {
    if !(0..AF_MAX).contains(&fam) {
        return Err(Errno::EAFNOSUPPORT);
    }
    if !(0..SOCK_MAX).contains(&kind) {
        return Err(Errno::EINVAL);
    }
    family(fam)?.create(t, kind, protocol)
}

/// socketpair's checks after sock_create's.
pub fn socketpair(
    t: &Task,
    fam: i32,
    kind: i32,
    protocol: i32,
) -> Result<(Box<dyn SocketOps>, Box<dyn SocketOps>), Errno> {
    if !(0..AF_MAX).contains(&fam) {
        return Err(Errno::EAFNOSUPPORT);
    }
    if !(0..SOCK_MAX).contains(&kind) {
        return Err(Errno::EINVAL);
    }
    family(fam)?.socketpair(t, kind, protocol)
}

// ------------------------------------------------------------------------------------------
// Sockets as files.

/// A socket: its endpoint, reachable from its file.
pub struct Socket {
    pub ino: u64,
    pub ops: Box<dyn SocketOps>,
}

impl Socket {
    pub fn common(&self) -> &SockCommon {
        self.ops.common()
    }
}

fn next_ino() -> u64 {
    static N: AtomicU64 = AtomicU64::new(20000);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The socket file system's device number (sockfs).
fn sockfs_dev() -> u64 {
    static DEV: OnceLock<u64> = OnceLock::new();
    *DEV.get_or_init(crate::fs::anon_dev)
}

/// The inode of a socket file: S_IFSOCK 0777, owned by its creator. It names the socket
/// weakly: the socket lives as long as its open file description.
pub struct SockInode {
    attrs: Arc<AnonInode>,
    sock: Weak<Socket>,
}

impl Inode for SockInode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.attrs.stat()
    }
    fn mode(&self) -> u32 {
        mode::S_IFSOCK | 0o777
    }
    /// Opening a socket through /proc/PID/fd is not possible (Linux: ENXIO).
    fn open(
        self: Arc<Self>,
        _ctx: &Ctx,
        _loc: &Loc,
        _flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        Err(Errno::ENXIO)
    }
}

/// The open file of a socket.
pub struct SocketFile {
    pub sock: Arc<Socket>,
}

/// Makes the file of endpoint `ops`, owned by the caller (as sock_alloc's inode);
/// `flags` may hold O_NONBLOCK.
pub fn new_file(t: &Task, ops: Box<dyn SocketOps>, flags: u32) -> Arc<File> {
    let ino = next_ino();
    ops.common().ino.store(ino, Ordering::Release);
    let c = t.creds();
    let now = crate::vfs::now();
    let attrs = AnonInode::with_stat(Stat {
        dev: sockfs_dev(),
        ino,
        mode: mode::S_IFSOCK | 0o777,
        nlink: 1,
        uid: c.fsuid,
        gid: c.fsgid,
        blksize: 4096,
        atime: now,
        mtime: now,
        ctime: now,
        ..Default::default()
    });
    let sock = Arc::new(Socket { ino, ops });
    let inode: Arc<dyn Inode> = Arc::new(SockInode {
        attrs,
        sock: Arc::downgrade(&sock),
    });
    let name = format!("socket:[{ino}]");
    File::new(
        dentry::anon_loc(name.as_bytes(), inode),
        oflags::O_RDWR | (flags & oflags::O_NONBLOCK),
        Box::new(SocketFile { sock }),
    )
}

/// The socket behind an open file: EBADF for O_PATH files, ENOTSOCK for non-sockets.
pub fn socket_of(f: &File) -> Result<Arc<Socket>, Errno> {
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    f.inode()
        .as_any()
        .downcast_ref::<SockInode>()
        .and_then(|i| i.sock.upgrade())
        .ok_or(Errno::ENOTSOCK)
}

/// The socket of an open file, if it is one (any open mode).
pub fn socket_of_file(f: &File) -> Option<Arc<Socket>> {
    f.inode()
        .as_any()
        .downcast_ref::<SockInode>()
        .and_then(|i| i.sock.upgrade())
}

impl SocketFile {
    fn io_flags(&self, f: &File) -> u32 {
        let mut fl = if f.nonblock() { MSG_DONTWAIT } else { 0 };
        if self.sock.ops.kind() == SOCK_SEQPACKET {
            fl |= MSG_EOR;
        }
        fl
    }
}

impl FileOps for SocketFile {
    fn seekable(&self) -> bool {
        false
    }

    fn read(&self, t: &Task, f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let flags = if f.nonblock() { MSG_DONTWAIT } else { 0 };
        let mut m = RecvMsg::new(IoBuf::Out { buf, pos: 0 }, flags, false);
        let n = self.sock.ops.recvmsg(t, &mut m)?;
        // Descriptors that arrive with a plain read are dropped (no control buffer).
        drop(m.control);
        Ok(n)
    }

    fn write(&self, t: &Task, f: &File, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        let mut m = SendMsg {
            data: IoBuf::In { data, pos: 0 },
            addr: None,
            control: Vec::new(),
            flags: self.io_flags(f),
        };
        self.sock.ops.sendmsg(t, &mut m)
    }

    fn ioctl(&self, t: &Task, _f: &File, cmd: u32, arg: u64) -> SysResult {
        match self.sock.ops.ioctl(t, cmd, arg) {
            Some(r) => r,
            None => Err(Errno::ENOTTY),
        }
    }

    fn poll(&self, _f: &File) -> u32 {
        self.sock.ops.poll()
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.sock.ops.wait_queue())
    }

    fn nread(&self) -> Option<usize> {
        self.sock.ops.nread()
    }

    fn name(&self) -> Option<String> {
        Some(format!("socket:[{}]", self.sock.ino))
    }

    fn fsync(&self) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
}

// ------------------------------------------------------------------------------------------
// Memory accounting as Linux's sk_buffs are charged (truesize), so that send-buffer
// limits stop writers after the same number of bytes as on Linux.

const SKB_OVERHEAD: usize = 256;
const SKB_SHINFO: usize = 320;
const PAGE: usize = 4096;

/// The kmalloc size class of a linear buffer of `n` bytes (power-of-two classes; larger
/// requests are whole power-of-two page runs).
fn kmalloc_size(n: usize) -> usize {
    n.max(512).next_power_of_two()
}

fn page_align(n: usize) -> usize {
    n.div_ceil(PAGE) * PAGE
}

/// truesize of an skb with a `linear`-byte head and `paged` bytes of page fragments.
pub fn skb_truesize(linear: usize, paged: usize) -> usize {
    SKB_OVERHEAD + kmalloc_size(linear + SKB_SHINFO) + paged
}

/// SKB_MAX_HEAD(0): the largest head that fits one page with the shared info.
pub const SKB_MAX_HEAD: usize = PAGE - SKB_SHINFO;
/// SKB_MAX_ALLOC: the largest order-2 head.
pub const SKB_MAX_ALLOC: usize = (PAGE << 2) - SKB_SHINFO;
/// MAX_SKB_FRAGS pages.
pub const MAX_SKB_FRAGS_BYTES: usize = 17 * PAGE;

pub use self::unix::proc_net_unix;

/// The page-fragment part of a datagram of `len` bytes, as Linux's datagram senders
/// split it (the rest is the linear head).
pub fn dgram_paged(len: usize) -> usize {
    if len > SKB_MAX_ALLOC {
        page_align((len - SKB_MAX_ALLOC).min(MAX_SKB_FRAGS_BYTES)).min(len)
    } else {
        0
    }
}

/// truesize of a datagram of `len` bytes.
pub fn dgram_truesize(len: usize) -> usize {
    let paged = dgram_paged(len);
    skb_truesize(len - paged, paged)
}

/// Helpers for address bytes.
pub fn sa_family(addr: &[u8]) -> Option<u16> {
    (addr.len() >= 2).then(|| u16::from_le_bytes([addr[0], addr[1]]))
}

/// Whether the caller has capability `cap`.
pub fn capable(t: &Task, cap: u32) -> bool {
    t.creds().has_cap(cap)
}
