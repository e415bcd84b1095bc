//! Socket syscalls: argument decoding, user memory (addresses, msghdr, iovecs, control
//! messages, descriptors received) and the fd table, in Linux's order of checks. The
//! sockets themselves are in `net` (the layer) and its families.

use super::file::{access_ok, fd_arg, install, iovecs, nofile, MAX_RW_COUNT};
use crate::net::{
    self, opts, IoBuf, RecvCmsg, RecvMsg, SendMsg, Socket, CMSG_HDR, MSG_CMSG_CLOEXEC,
    MSG_CMSG_COMPAT, MSG_CTRUNC, MSG_DONTWAIT, MSG_EOR, MSG_ERRQUEUE, MSG_INTERNAL_SENDMSG_FLAGS,
    MSG_OOB, MSG_WAITFORONE, SCM_RIGHTS, SOCKADDR_MAX, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_SEQPACKET,
    SOCK_TYPE_MASK, SOL_SOCKET,
};
use crate::task::{SysResult, Task};
use crate::vfs::{oflags, File};
use abi::sysno as nr;
use abi::Errno;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most iovecs in one message (UIO_MAXIOV).
const UIO_MAXIOV: u64 = 1024;
/// sizeof(struct user_msghdr) and sizeof(struct mmsghdr).
const MSGHDR: u64 = 56;
const MMSGHDR: u64 = 64;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::SOCKET => socket(t, a[0] as i32, a[1] as i32, a[2] as i32),
        nr::SOCKETPAIR => socketpair(t, a[0] as i32, a[1] as i32, a[2] as i32, a[3]),
        nr::BIND => bind(t, fd_arg(a[0]), a[1], a[2] as i32),
        nr::CONNECT => connect(t, fd_arg(a[0]), a[1], a[2] as i32),
        nr::LISTEN => listen(t, fd_arg(a[0]), a[1] as i32),
        nr::ACCEPT => accept4(t, fd_arg(a[0]), a[1], a[2], 0),
        nr::ACCEPT4 => accept4(t, fd_arg(a[0]), a[1], a[2], a[3] as i32),
        nr::GETSOCKNAME => getname(t, fd_arg(a[0]), a[1], a[2], false),
        nr::GETPEERNAME => getname(t, fd_arg(a[0]), a[1], a[2], true),
        nr::SENDTO => sendto(t, fd_arg(a[0]), a[1], a[2], a[3] as u32, a[4], a[5] as i32),
        nr::RECVFROM => recvfrom(t, fd_arg(a[0]), a[1], a[2], a[3] as u32, a[4], a[5]),
        nr::SENDMSG => sendmsg(t, fd_arg(a[0]), a[1], a[2] as u32),
        nr::RECVMSG => recvmsg(t, fd_arg(a[0]), a[1], a[2] as u32),
        nr::SENDMMSG => sendmmsg(t, fd_arg(a[0]), a[1], a[2] as u32, a[3] as u32),
        nr::RECVMMSG => recvmmsg(t, fd_arg(a[0]), a[1], a[2] as u32, a[3] as u32, a[4]),
        nr::SHUTDOWN => shutdown(t, fd_arg(a[0]), a[1] as i32),
        nr::SETSOCKOPT => setsockopt(t, fd_arg(a[0]), a[1] as i32, a[2] as i32, a[3], a[4] as i32),
        nr::GETSOCKOPT => getsockopt(t, fd_arg(a[0]), a[1] as i32, a[2] as i32, a[3], a[4]),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::SOCKET, "partial: AF_UNIX only; other families EAFNOSUPPORT"),
        (nr::SOCKETPAIR, "partial: AF_UNIX only"),
        (nr::BIND, ""),
        (nr::CONNECT, ""),
        (nr::LISTEN, ""),
        (nr::ACCEPT, ""),
        (nr::ACCEPT4, ""),
        (nr::GETSOCKNAME, ""),
        (nr::GETPEERNAME, ""),
        (nr::SENDTO, "partial: MSG_OOB raises no SIGURG (F_SETOWN is not kept)"),
        (nr::RECVFROM, ""),
        (nr::SENDMSG, "partial: MSG_OOB raises no SIGURG (F_SETOWN is not kept)"),
        (nr::RECVMSG, "partial: no SCM_PIDFD/SCM_SECURITY/timestamps"),
        (nr::SENDMMSG, ""),
        (nr::RECVMMSG, ""),
        (nr::SHUTDOWN, ""),
        (nr::SETSOCKOPT, "partial: SOL_SOCKET (no BPF filters, SO_BINDTODEVICE only unbinds); no other levels yet"),
        (nr::GETSOCKOPT, "partial: SOL_SOCKET (no SO_MEMINFO/filters/SO_PEERPIDFD); no other levels yet"),
    ]
}

/// The socket behind `fd` with its file: EBADF, ENOTSOCK.
fn sock_fd(t: &Task, fd: i32) -> Result<(Arc<File>, Arc<Socket>), Errno> {
    let f = t.files().get(fd)?;
    let s = net::socket_of(&f)?;
    Ok((f, s))
}

/// The `n` lowest free descriptors below RLIMIT_NOFILE (EMFILE), as Linux reserves
/// them before it makes sockets.
fn free_fds(t: &Task, n: usize) -> Result<Vec<i32>, Errno> {
    let used: std::collections::BTreeSet<i32> =
        t.files().list().into_iter().map(|(fd, _)| fd).collect();
    let limit = nofile(t).min(crate::vfs::fdtable::NR_OPEN as u64) as i64;
    let mut out = Vec::new();
    let mut fd = 0i64;
    while out.len() < n {
        if fd >= limit {
            return Err(Errno::EMFILE);
        }
        if !used.contains(&(fd as i32)) {
            out.push(fd as i32);
        }
        fd += 1;
    }
    Ok(out)
}

/// move_addr_to_kernel: EINVAL for a length below 0 or above sockaddr_storage.
fn read_addr(t: &Task, addr: u64, len: i32) -> Result<Vec<u8>, Errno> {
    if len < 0 || len as usize > SOCKADDR_MAX {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; len as usize];
    if len > 0 {
        t.read_mem(addr, &mut b)?;
    }
    Ok(b)
}

/// move_addr_to_user: copies at most *ulen bytes, then stores the full length.
fn write_addr(t: &Task, kaddr: &[u8], uaddr: u64, ulen: u64) -> Result<(), Errno> {
    let len: i32 = t.read_val(ulen)?;
    let klen = kaddr.len() as i32;
    let len = len.min(klen);
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if len > 0 {
        t.write_mem(uaddr, &kaddr[..len as usize])?;
    }
    t.write_val(ulen, &klen)
}

fn socket(t: &Task, family: i32, ty: i32, protocol: i32) -> SysResult {
    let flags = ty & !SOCK_TYPE_MASK;
    if flags & !(SOCK_CLOEXEC | SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let ops = net::create(t, family, ty & SOCK_TYPE_MASK, protocol)?;
    let fl = if flags & SOCK_NONBLOCK != 0 {
        oflags::O_NONBLOCK
    } else {
        0
    };
    install(t, net::new_file(t, ops, fl), flags & SOCK_CLOEXEC != 0)
}

fn socketpair(t: &Task, family: i32, ty: i32, protocol: i32, sv: u64) -> SysResult {
    let flags = ty & !SOCK_TYPE_MASK;
    if flags & !(SOCK_CLOEXEC | SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let fds = free_fds(t, 2)?;
    t.write_val(sv, &[fds[0], fds[1]])?;
    let (a, b) = net::socketpair(t, family, ty & SOCK_TYPE_MASK, protocol)?;
    let fl = if flags & SOCK_NONBLOCK != 0 {
        oflags::O_NONBLOCK
    } else {
        0
    };
    let cloexec = flags & SOCK_CLOEXEC != 0;
    let (fa, fb) = (net::new_file(t, a, fl), net::new_file(t, b, fl));
    let x = install(t, fa, cloexec)? as i32;
    let y = match install(t, fb, cloexec) {
        Ok(y) => y as i32,
        Err(e) => {
            let _ = t.files().remove(x);
            return Err(e);
        }
    };
    if [x, y] != [fds[0], fds[1]] {
        t.write_val(sv, &[x, y])?;
    }
    Ok(0)
}

fn bind(t: &Task, fd: i32, addr: u64, len: i32) -> SysResult {
    let (_, s) = sock_fd(t, fd)?;
    let a = read_addr(t, addr, len)?;
    s.ops.bind(t, &a).map(|_| 0)
}

fn connect(t: &Task, fd: i32, addr: u64, len: i32) -> SysResult {
    let (f, s) = sock_fd(t, fd)?;
    let a = read_addr(t, addr, len)?;
    s.ops.connect(t, &a, f.nonblock()).map(|_| 0)
}

fn listen(t: &Task, fd: i32, backlog: i32) -> SysResult {
    let (_, s) = sock_fd(t, fd)?;
    let max = net::sysctl().somaxconn;
    let backlog = if backlog as u32 > max as u32 {
        max
    } else {
        backlog
    };
    s.ops.listen(t, backlog).map(|_| 0)
}

fn accept4(t: &Task, fd: i32, addr: u64, alen: u64, flags: i32) -> SysResult {
    if flags & !(SOCK_CLOEXEC | SOCK_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = sock_fd(t, fd)?;
    free_fds(t, 1)?;
    let new = s.ops.accept(t, f.nonblock())?;
    let fl = if flags & SOCK_NONBLOCK != 0 {
        oflags::O_NONBLOCK
    } else {
        0
    };
    let file = net::new_file(t, new, fl);
    if addr != 0 {
        let name = net::socket_of(&file)?
            .ops
            .getname(true)
            .map_err(|_| Errno::ECONNABORTED)?;
        write_addr(t, &name, addr, alen)?;
    }
    install(t, file, flags & SOCK_CLOEXEC != 0)
}

fn getname(t: &Task, fd: i32, addr: u64, alen: u64, peer: bool) -> SysResult {
    let (_, s) = sock_fd(t, fd)?;
    let name = s.ops.getname(peer)?;
    write_addr(t, &name, addr, alen).map(|_| 0)
}

fn shutdown(t: &Task, fd: i32, how: i32) -> SysResult {
    let (_, s) = sock_fd(t, fd)?;
    s.ops.shutdown(how).map(|_| 0)
}

fn setsockopt(t: &Task, fd: i32, level: i32, name: i32, optval: u64, optlen: i32) -> SysResult {
    if optlen < 0 {
        return Err(Errno::EINVAL);
    }
    let (_, s) = sock_fd(t, fd)?;
    let v = opts::OptVal {
        t,
        addr: optval,
        len: optlen as usize,
    };
    opts::setsockopt(t, &s, level, name, &v).map(|_| 0)
}

fn getsockopt(t: &Task, fd: i32, level: i32, name: i32, optval: u64, optlen: u64) -> SysResult {
    let (_, s) = sock_fd(t, fd)?;
    opts::getsockopt(t, &s, level, name, optval, optlen).map(|_| 0)
}

/// MSG_DONTWAIT for an O_NONBLOCK file.
fn nb(f: &File) -> u32 {
    if f.nonblock() {
        MSG_DONTWAIT
    } else {
        0
    }
}

fn sendto(t: &Task, fd: i32, buf: u64, len: u64, flags: u32, addr: u64, alen: i32) -> SysResult {
    let len = len.min(MAX_RW_COUNT);
    access_ok(buf, len)?;
    let (f, s) = sock_fd(t, fd)?;
    let mut a = None;
    if addr != 0 {
        let v = read_addr(t, addr, alen)?;
        if !v.is_empty() {
            a = Some(v);
        }
    }
    let iov = [(buf, len)];
    let mut m = SendMsg {
        data: IoBuf::user(t, &iov, MAX_RW_COUNT),
        addr: a,
        control: Vec::new(),
        flags: (flags & !MSG_INTERNAL_SENDMSG_FLAGS) | nb(&f),
    };
    s.ops.sendmsg(t, &mut m).map(|n| n as u64)
}

fn recvfrom(t: &Task, fd: i32, buf: u64, len: u64, flags: u32, addr: u64, alen: u64) -> SysResult {
    let len = len.min(MAX_RW_COUNT);
    access_ok(buf, len)?;
    let (f, s) = sock_fd(t, fd)?;
    let iov = [(buf, len)];
    let mut m = RecvMsg::new(
        IoBuf::user(t, &iov, MAX_RW_COUNT),
        flags | nb(&f),
        addr != 0,
    );
    let n = s.ops.recvmsg(t, &mut m)?;
    // No control buffer: credentials and descriptors are dropped.
    m.control.clear();
    if addr != 0 {
        write_addr(t, m.addr.as_deref().unwrap_or(&[]), addr, alen)?;
    }
    Ok(n as u64)
}

/// read(2)/readv(2) on a socket (sock_read_iter): a zero-length read returns 0.
pub(crate) fn sock_read(t: &Task, f: &File, s: &Socket, iov: &[(u64, u64)]) -> SysResult {
    let mut m = RecvMsg::new(IoBuf::user(t, iov, MAX_RW_COUNT), nb(f), false);
    if m.data.is_empty() {
        return Ok(0);
    }
    let n = s.ops.recvmsg(t, &mut m)?;
    m.control.clear();
    Ok(n as u64)
}

/// write(2)/writev(2) on a socket (sock_write_iter): MSG_EOR on seqpacket.
pub(crate) fn sock_write(t: &Task, f: &File, s: &Socket, iov: &[(u64, u64)]) -> SysResult {
    let mut flags = nb(f);
    if s.ops.kind() == SOCK_SEQPACKET {
        flags |= MSG_EOR;
    }
    let mut m = SendMsg {
        data: IoBuf::user(t, iov, MAX_RW_COUNT),
        addr: None,
        control: Vec::new(),
        flags,
    };
    s.ops.sendmsg(t, &mut m).map(|n| n as u64)
}

/// A `struct user_msghdr` read from the caller.
struct MsgHdr {
    name: u64,
    namelen: i32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
}

/// copy_msghdr_from_user: EFAULT, EINVAL for a negative name length (a longer one is
/// capped at sockaddr_storage), EMSGSIZE past UIO_MAXIOV iovecs.
fn read_msghdr(t: &Task, addr: u64) -> Result<MsgHdr, Errno> {
    let b: [u64; 7] = t.read_val(addr)?;
    let mut h = MsgHdr {
        name: b[0],
        namelen: b[1] as u32 as i32,
        iov: b[2],
        iovlen: b[3],
        control: b[4],
        controllen: b[5],
    };
    if h.name == 0 {
        h.namelen = 0;
    }
    if h.namelen < 0 {
        return Err(Errno::EINVAL);
    }
    h.namelen = h.namelen.min(SOCKADDR_MAX as i32);
    if h.iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    Ok(h)
}

/// The iovecs of a message, checked (EFAULT) and capped at MAX_RW_COUNT in total.
fn msg_iovecs(t: &Task, h: &MsgHdr) -> Result<Vec<(u64, u64)>, Errno> {
    let v = iovecs(t, h.iov, h.iovlen)?;
    let mut total = 0u64;
    let mut out = Vec::with_capacity(v.len());
    for (base, len) in v {
        let len = len.min(MAX_RW_COUNT - total);
        access_ok(base, len)?;
        total += len;
        out.push((base, len));
    }
    Ok(out)
}

/// One sendmsg: returns (bytes sent, bytes asked).
fn sendmsg_one(
    t: &Task,
    f: &File,
    s: &Socket,
    msgp: u64,
    flags: u32,
) -> Result<(usize, usize), Errno> {
    let h = read_msghdr(t, msgp)?;
    let addr = if h.namelen > 0 {
        Some(read_addr(t, h.name, h.namelen)?)
    } else {
        None
    };
    let iov = msg_iovecs(t, &h)?;
    if h.controllen > i32::MAX as u64 {
        return Err(Errno::ENOBUFS);
    }
    let mut control = Vec::new();
    if h.controllen > 0 {
        let n = h.controllen as usize;
        if n > CMSG_HDR + 20 && n >= net::sysctl().optmem_max {
            return Err(Errno::ENOBUFS);
        }
        control = vec![0u8; n];
        t.read_mem(h.control, &mut control)?;
    }
    let mut m = SendMsg {
        data: IoBuf::user(t, &iov, MAX_RW_COUNT),
        addr,
        control,
        flags: (flags & !MSG_INTERNAL_SENDMSG_FLAGS) | nb(f),
    };
    let want = m.data.len();
    let n = s.ops.sendmsg(t, &mut m)?;
    Ok((n, want))
}

fn sendmsg(t: &Task, fd: i32, msgp: u64, flags: u32) -> SysResult {
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = sock_fd(t, fd)?;
    sendmsg_one(t, &f, &s, msgp, flags).map(|(n, _)| n as u64)
}

fn sendmmsg(t: &Task, fd: i32, vec: u64, vlen: u32, flags: u32) -> SysResult {
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let vlen = (vlen as u64).min(UIO_MAXIOV);
    let (f, s) = sock_fd(t, fd)?;
    let mut done = 0u64;
    let mut err = None;
    while done < vlen {
        let entry = vec.wrapping_add(done * MMSGHDR);
        match sendmsg_one(t, &f, &s, entry, flags) {
            Ok((n, want)) => {
                if let Err(e) = t.write_val(entry + MSGHDR, &(n as u32)) {
                    err = Some(e);
                    break;
                }
                done += 1;
                if n < want {
                    break;
                }
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    match (done, err) {
        (0, Some(e)) => Err(e),
        (n, _) => Ok(n),
    }
}

/// Writes the control messages of a receive into the caller's buffer (put_cmsg and
/// scm_detach_fds): returns the bytes used and MSG_CTRUNC if something did not fit.
/// Descriptors that do not fit (or cannot be installed) are closed.
fn put_control(t: &Task, ptr: u64, len: u64, cmsgs: Vec<RecvCmsg>, cloexec: bool) -> (u64, u32) {
    let mut flags = 0;
    if cmsgs.is_empty() {
        return (0, 0);
    }
    if ptr == 0 {
        return (0, MSG_CTRUNC);
    }
    let hdr = CMSG_HDR as u64;
    let mut pos = 0u64;
    for c in cmsgs {
        let left = len - pos;
        let at = ptr.wrapping_add(pos);
        match c {
            RecvCmsg::Data { level, kind, data } => {
                if left < hdr {
                    flags |= MSG_CTRUNC;
                    continue;
                }
                let mut cmlen = hdr + data.len() as u64;
                if left < cmlen {
                    flags |= MSG_CTRUNC;
                    cmlen = left;
                }
                let mut b = Vec::with_capacity(cmlen as usize);
                b.extend_from_slice(&cmlen.to_le_bytes());
                b.extend_from_slice(&level.to_le_bytes());
                b.extend_from_slice(&kind.to_le_bytes());
                b.extend_from_slice(&data[..(cmlen - hdr) as usize]);
                if t.write_mem(at, &b).is_err() {
                    continue;
                }
                pos += (net::cmsg_align(CMSG_HDR + data.len()) as u64).min(left);
            }
            RecvCmsg::Rights(files) => {
                let fdmax = if left <= hdr {
                    0
                } else {
                    ((left - hdr) / 4) as usize
                };
                let total = files.len();
                let mut got = 0usize;
                for (i, file) in files.into_iter().enumerate() {
                    if i >= fdmax {
                        break;
                    }
                    let Ok(fd) = install(t, file, cloexec) else {
                        break;
                    };
                    if t.write_val(at + hdr + 4 * i as u64, &(fd as i32)).is_err() {
                        let _ = t.files().remove(fd as i32);
                        break;
                    }
                    got += 1;
                }
                if got > 0 {
                    let cmlen = hdr + 4 * got as u64;
                    let mut b = cmlen.to_le_bytes().to_vec();
                    b.extend_from_slice(&SOL_SOCKET.to_le_bytes());
                    b.extend_from_slice(&SCM_RIGHTS.to_le_bytes());
                    if t.write_mem(at, &b).is_ok() {
                        pos += (net::cmsg_align(CMSG_HDR + 4 * got) as u64).min(left);
                    }
                }
                if got < total || (total > 0 && fdmax == 0) {
                    flags |= MSG_CTRUNC;
                }
            }
        }
    }
    (pos, flags)
}

/// One recvmsg: fills the caller's msghdr (name length, flags, control length).
fn recvmsg_one(
    t: &Task,
    f: &File,
    s: &Socket,
    msgp: u64,
    flags: u32,
) -> Result<(usize, u32), Errno> {
    let h = read_msghdr(t, msgp)?;
    let iov = msg_iovecs(t, &h)?;
    let mut m = RecvMsg::new(
        IoBuf::user(t, &iov, MAX_RW_COUNT),
        flags | nb(f),
        h.name != 0,
    );
    let n = s.ops.recvmsg(t, &mut m)?;
    let cmsgs = std::mem::take(&mut m.control);
    let (used, cflags) = put_control(
        t,
        h.control,
        h.controllen,
        cmsgs,
        flags & MSG_CMSG_CLOEXEC != 0,
    );
    if h.name != 0 {
        write_addr(t, m.addr.as_deref().unwrap_or(&[]), h.name, msgp + 8)?;
    }
    let out = m.out_flags | cflags | (flags & MSG_CMSG_CLOEXEC);
    t.write_val(msgp + 48, &out)?;
    t.write_val(msgp + 40, &used)?;
    Ok((n, out))
}

fn recvmsg(t: &Task, fd: i32, msgp: u64, flags: u32) -> SysResult {
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let (f, s) = sock_fd(t, fd)?;
    recvmsg_one(t, &f, &s, msgp, flags).map(|(n, _)| n as u64)
}

fn recvmmsg(t: &Task, fd: i32, vec: u64, vlen: u32, flags: u32, tsp: u64) -> SysResult {
    if flags & MSG_CMSG_COMPAT != 0 {
        return Err(Errno::EINVAL);
    }
    let end = if tsp != 0 {
        let ts: [i64; 2] = t.read_val(tsp)?;
        if ts[0] < 0 || !(0..1_000_000_000).contains(&ts[1]) {
            return Err(Errno::EINVAL);
        }
        Some(Instant::now() + Duration::new(ts[0] as u64, ts[1] as u32))
    } else {
        None
    };
    let (f, s) = sock_fd(t, fd)?;
    if flags & MSG_ERRQUEUE == 0 {
        if let Some(e) = s.common().take_err() {
            return Err(e);
        }
    }
    let mut flags = flags;
    let mut done = 0u64;
    let mut err = None;
    while done < vlen as u64 {
        let entry = vec.wrapping_add(done * MMSGHDR);
        match recvmsg_one(t, &f, &s, entry, flags & !MSG_WAITFORONE) {
            Ok((n, out)) => {
                if let Err(e) = t.write_val(entry + MSGHDR, &(n as u32)) {
                    err = Some(e);
                    break;
                }
                done += 1;
                if flags & MSG_WAITFORONE != 0 {
                    flags |= MSG_DONTWAIT;
                }
                if let Some(e) = end {
                    if Instant::now() >= e {
                        break;
                    }
                }
                if out & MSG_OOB != 0 {
                    break;
                }
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    if let Some(e) = end {
        let left = e.saturating_duration_since(Instant::now());
        t.write_val(tsp, &[left.as_secs() as i64, left.subsec_nanos() as i64])?;
    }
    match (done, err) {
        (0, Some(e)) => Err(e),
        (n, Some(e)) => {
            if e != Errno::EAGAIN && e.0 < 512 {
                s.common().set_err(e);
            }
            Ok(n)
        }
        (n, None) => Ok(n),
    }
}
