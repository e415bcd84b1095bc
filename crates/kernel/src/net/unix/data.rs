//! Data paths of unix sockets: stream sends split into skbs as Linux sizes them (so the
//! send buffer fills after the same number of bytes), datagram and seqpacket sends as
//! whole records, and the receives with Linux's rules for peeking, truncation, waiting
//! for all (MSG_WAITALL), credentials and passed descriptors.

use super::super::{
    dgram_truesize, scm_send, skb_truesize, RecvCmsg, RecvMsg, Scm, SendMsg, Ucred, MSG_DONTWAIT,
    MSG_NOSIGNAL, MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, RCV_SHUTDOWN, SCM_CREDENTIALS,
    SEND_SHUTDOWN, SKB_MAX_HEAD, SOL_SOCKET,
};
use super::{
    find_other, gc, may_pass_fds, may_send, validate, Conn, Skb, UnixSock, SOCK_SEQPACKET,
};
use crate::task::Task;
use crate::vfs::File;
use abi::Errno;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Stream skbs carry at most one page of head and 32 KiB of page fragments.
const STREAM_FRAGS: usize = 32768;

/// The largest kmalloc (KMALLOC_MAX_SIZE), which bounds a datagram's linear part.
const KMALLOC_MAX: usize = 4 << 20;
const SKB_SHINFO: usize = 320;

/// The linear part of a datagram of `len` bytes (the rest goes to page fragments).
fn dgram_head(len: usize) -> usize {
    len - super::super::dgram_paged(len)
}

fn page_align(n: usize) -> usize {
    n.div_ceil(4096) * 4096
}

/// Credentials of a receive (no credentials attached: pid 0 and the overflow ids).
fn ucred_or_none(c: Option<Ucred>) -> Ucred {
    c.unwrap_or(Ucred {
        pid: 0,
        uid: 65534,
        gid: 65534,
    })
}

impl UnixSock {
    /// The sender's credentials for an skb to `other` (unix_maybe_add_creds): explicit
    /// ones, or the caller's when either end passes credentials or `other` is a
    /// connection not yet accepted.
    fn skb_cred(&self, t: &Task, explicit: Option<Ucred>, other: &UnixSock) -> Option<Ucred> {
        if explicit.is_some() {
            return explicit;
        }
        let embryo = !other.lock().has_file;
        if self.common.passcred() || other.common.passcred() || embryo {
            let c = t.creds();
            return Some(Ucred {
                pid: t.tgid(),
                uid: c.uid,
                gid: c.gid,
            });
        }
        None
    }

    /// sock_alloc_send_pskb's wait: a pending error, then EPIPE after SHUT_WR, then room
    /// while less than the send buffer is in flight.
    fn wait_wmem(&self, t: &Task, timeo: super::super::Timeo) -> Result<(), Errno> {
        super::super::wait(t, &[&self.wq], timeo, || {
            if let Some(e) = self.common.take_err() {
                return Err(e);
            }
            if self.lock().shutdown & SEND_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            Ok(if self.wmem() < self.common.sndbuf() {
                Some(())
            } else {
                None
            })
        })
    }

    fn new_skb(
        self: &Arc<Self>,
        data: Vec<u8>,
        truesize: usize,
        fds: Vec<Arc<File>>,
        uid: u32,
    ) -> Skb {
        self.charge(truesize);
        gc::inflight(&fds, uid);
        Skb {
            data,
            consumed: 0,
            truesize,
            from: Some(self.clone()),
            fds,
            fd_uid: uid,
            cred: None,
            conn: None,
            oob: false,
        }
    }

    /// EPIPE, with SIGPIPE unless MSG_NOSIGNAL or something was sent.
    fn pipe(&self, t: &Task, flags: u32, sent: usize) -> Result<usize, Errno> {
        if sent > 0 {
            return Ok(sent);
        }
        if flags & MSG_NOSIGNAL == 0 {
            crate::signal::send_sigpipe(t);
        }
        Err(Errno::EPIPE)
    }

    /// unix_stream_sendmsg.
    pub(super) fn stream_send(self: &Arc<Self>, t: &Task, m: &mut SendMsg) -> Result<usize, Errno> {
        let scm = scm_send(t, &m.control, true)?;
        let mut len = m.data.left();
        let oob = m.flags & MSG_OOB != 0;
        if oob {
            // The last byte is the urgent one.
            if len == 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            len -= 1;
        }
        if m.addr.is_some() {
            return Err(if self.lock().conn == Conn::Established {
                Errno::EISCONN
            } else {
                Errno::EOPNOTSUPP
            });
        }
        let other = self.peer().ok_or(Errno::ENOTCONN)?;
        if self.lock().shutdown & SEND_SHUTDOWN != 0 {
            return self.pipe(t, m.flags, 0);
        }
        let timeo = self.common.sndtimeo(m.flags & MSG_DONTWAIT != 0);
        let uid = t.creds().uid;
        let Scm { fds, creds } = scm;
        let mut fds = Some(fds);
        let mut sent = 0usize;
        while sent < len {
            let half = (self.common.sndbuf() / 2).saturating_sub(64).max(1);
            let size = (len - sent).min(half).min(SKB_MAX_HEAD + STREAM_FRAGS);
            let paged = if size > SKB_MAX_HEAD {
                size.min(page_align(size - SKB_MAX_HEAD))
            } else {
                0
            };
            if let Err(e) = self.wait_wmem(t, timeo) {
                return if sent > 0 { Ok(sent) } else { Err(e) };
            }
            let f = fds.take().unwrap_or_default();
            if !f.is_empty() && !may_pass_fds(t) {
                return if sent > 0 {
                    Ok(sent)
                } else {
                    Err(Errno::ETOOMANYREFS)
                };
            }
            let data = match m.data.take(size) {
                Ok(d) => d,
                Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
            };
            let mut skb = self.new_skb(data, skb_truesize(size - paged, paged), f, uid);
            skb.cred = self.skb_cred(t, creds, &other);
            let mut o = other.lock();
            if other.dead.load(Ordering::Acquire) || o.shutdown & RCV_SHUTDOWN != 0 {
                drop(o);
                drop(skb);
                return self.pipe(t, m.flags, sent);
            }
            o.inq += size;
            o.rx.push_back(skb);
            drop(o);
            other.wq.notify_all();
            sent += size;
        }
        if oob {
            match self.queue_oob(
                t,
                m,
                &other,
                timeo,
                fds.take().unwrap_or_default(),
                creds,
                uid,
            ) {
                Ok(()) => sent += 1,
                Err(e) => return if sent > 0 { Ok(sent) } else { Err(e) },
            }
        }
        Ok(sent)
    }

    /// queue_oob: the urgent byte as an skb of its own, marked as the peer's urgent
    /// byte (an older mark becomes ordinary data). SIGURG is not raised (no F_SETOWN).
    #[allow(clippy::too_many_arguments)]
    fn queue_oob(
        self: &Arc<Self>,
        t: &Task,
        m: &mut SendMsg,
        other: &Arc<UnixSock>,
        timeo: super::super::Timeo,
        fds: Vec<Arc<File>>,
        creds: Option<Ucred>,
        uid: u32,
    ) -> Result<(), Errno> {
        self.wait_wmem(t, timeo)?;
        let data = m.data.take(1)?;
        let mut skb = self.new_skb(data, skb_truesize(1, 0), fds, uid);
        skb.cred = self.skb_cred(t, creds, other);
        skb.oob = true;
        let mut o = other.lock();
        if other.dead.load(Ordering::Acquire) || o.shutdown & RCV_SHUTDOWN != 0 {
            drop(o);
            drop(skb);
            return Err(Errno::EPIPE);
        }
        for s in o.rx.iter_mut() {
            s.oob = false;
        }
        o.oob = true;
        o.inq += 1;
        o.rx.push_back(skb);
        drop(o);
        other.wq.notify_all();
        Ok(())
    }

    /// unix_stream_recv_urg: the urgent byte (EINVAL without one, or with
    /// SO_OOBINLINE). Reading it leaves its skb empty in the stream, and drops an empty
    /// one before it.
    fn recv_urg(&self, m: &mut RecvMsg) -> Result<usize, Errno> {
        let _io = self.iolock.lock().unwrap();
        let peek = m.flags & MSG_PEEK != 0;
        let inline = self.common.opts().oobinline;
        let (byte, gone) = {
            let mut st = self.lock();
            if inline || !st.oob {
                return Err(Errno::EINVAL);
            }
            let i = st.rx.iter().position(|s| s.oob).ok_or(Errno::EINVAL)?;
            let s = &st.rx[i];
            let byte = s.data.get(s.consumed).copied().ok_or(Errno::EINVAL)?;
            let mut gone = None;
            if !peek {
                st.oob = false;
                st.inq = st.inq.saturating_sub(1);
                let s = &mut st.rx[i];
                s.oob = false;
                s.consumed += 1;
                if i > 0 && st.rx[i - 1].left() == 0 {
                    gone = st.rx.remove(i - 1);
                }
            }
            (byte, gone)
        };
        drop(gone);
        m.data.put(&[byte])?;
        m.out_flags |= MSG_OOB;
        Ok(1)
    }

    /// unix_dgram_sendmsg (also SOCK_SEQPACKET, through unix_seqpacket_sendmsg).
    pub(super) fn dgram_send(self: &Arc<Self>, t: &Task, m: &mut SendMsg) -> Result<usize, Errno> {
        if self.kind == SOCK_SEQPACKET {
            if let Some(e) = self.common.take_err() {
                return Err(e);
            }
            if self.lock().conn != Conn::Established {
                return Err(Errno::ENOTCONN);
            }
            m.addr = None;
        }
        let scm = scm_send(t, &m.control, true)?;
        if m.flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        if let Some(a) = &m.addr {
            validate(a)?;
        }
        if self.common.passcred() && !self.bound() {
            self.autobind()?;
        }
        let len = m.data.left();
        if len as i64 > self.common.sndbuf() as i64 - 32 {
            return Err(Errno::EMSGSIZE);
        }
        let timeo = self.common.sndtimeo(m.flags & MSG_DONTWAIT != 0);
        self.wait_wmem(t, timeo)?;
        if dgram_head(len) + SKB_SHINFO > KMALLOC_MAX {
            // The linear part would not fit the largest kernel allocation.
            return Err(Errno::ENOBUFS);
        }
        let Scm { fds, creds } = scm;
        if !fds.is_empty() && !may_pass_fds(t) {
            return Err(Errno::ETOOMANYREFS);
        }
        let data = m.data.take(len)?;
        let mut skb = self.new_skb(data, dgram_truesize(len), fds, t.creds().uid);
        let named = m.addr.is_some();
        let mut other = match &m.addr {
            Some(a) => find_other(t, a, self.kind)?,
            None => self.peer().ok_or(Errno::ENOTCONN)?,
        };
        skb.cred = self.skb_cred(t, creds, &other);
        loop {
            let mut o = other.lock();
            if !may_send(self, &o) {
                return Err(Errno::EPERM);
            }
            if other.dead.load(Ordering::Acquire) {
                drop(o);
                if self.kind == SOCK_SEQPACKET {
                    return Err(Errno::EPIPE);
                }
                let was_peer = {
                    let mut st = self.lock();
                    if st
                        .peer
                        .as_ref()
                        .map(|p| Arc::ptr_eq(p, &other))
                        .unwrap_or(false)
                    {
                        st.peer = None;
                        st.conn = Conn::Close;
                        true
                    } else {
                        false
                    }
                };
                if was_peer {
                    self.wq.notify_all();
                    self.dgram_disconnected(&other);
                    return Err(Errno::ECONNREFUSED);
                }
                if !named {
                    return Err(Errno::ECONNRESET);
                }
                other = find_other(t, m.addr.as_ref().unwrap(), self.kind)?;
                continue;
            }
            if o.shutdown & RCV_SHUTDOWN != 0 {
                return Err(Errno::EPIPE);
            }
            let back = o
                .peer
                .as_ref()
                .map(|p| Arc::ptr_eq(p, self))
                .unwrap_or(false);
            if !Arc::ptr_eq(&other, self) && !back && UnixSock::recvq_full(&o) {
                if !timeo.can_wait() {
                    self.want_peer_wake(&mut o);
                    return Err(Errno::EAGAIN);
                }
                drop(o);
                other.wait_for_room(t, timeo)?;
                continue;
            }
            o.rx.push_back(skb);
            drop(o);
            other.wq.notify_all();
            return Ok(len);
        }
    }

    /// Wakes senders waiting for room after a datagram left the queue.
    fn dequeued(&self) {
        self.wake_peer_waiters();
    }

    /// unix_dgram_recvmsg (and seqpacket).
    pub(super) fn dgram_recv(&self, t: &Task, m: &mut RecvMsg) -> Result<usize, Errno> {
        if self.kind == SOCK_SEQPACKET && self.lock().conn != Conn::Established {
            return Err(Errno::ENOTCONN);
        }
        if m.flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let peek = m.flags & MSG_PEEK != 0;
        let timeo = self.common.rcvtimeo(m.flags & MSG_DONTWAIT != 0);
        let seq = self.kind == SOCK_SEQPACKET;
        // What a receive takes: the skb itself, or a copy of what a peek sees.
        enum Got {
            Skb(Skb, usize),
            Peek {
                data: Vec<u8>,
                full: usize,
                from: Option<Arc<UnixSock>>,
                fds: Vec<Arc<File>>,
                cred: Option<Ucred>,
            },
            Eof,
        }
        let can_wait = timeo.can_wait();
        let got = super::super::wait(t, &[&self.wq], timeo, || {
            if let Some(e) = self.common.take_err() {
                return Err(e);
            }
            let mut st = self.lock();
            let mut skip = if peek {
                self.common.opts().peek_off.max(0) as usize
            } else {
                0
            };
            let mut idx = None;
            for (i, s) in st.rx.iter().enumerate() {
                if skip >= s.len() && (s.len() > 0 || skip > 0) {
                    skip -= s.len();
                    continue;
                }
                idx = Some(i);
                break;
            }
            if let Some(i) = idx {
                if peek {
                    let s = &st.rx[i];
                    return Ok(Some(Got::Peek {
                        data: s.data[skip..].to_vec(),
                        full: s.len() - skip,
                        from: s.from.clone(),
                        fds: s.fds.clone(),
                        cred: s.cred,
                    }));
                }
                let s = st.rx.remove(i).expect("skb");
                return Ok(Some(Got::Skb(s, 0)));
            }
            if st.shutdown & RCV_SHUTDOWN != 0 && (can_wait || seq) {
                return Ok(Some(Got::Eof));
            }
            Ok(None)
        });
        let got = match got {
            Err(Errno::EAGAIN) if seq && self.lock().shutdown & RCV_SHUTDOWN != 0 => Got::Eof,
            r => r?,
        };
        let (data, full, from, mut fds, cred, skb) = match got {
            Got::Eof => return Ok(0),
            Got::Skb(mut s, skip) => {
                self.dequeued();
                let fds = s.take_fds();
                let d = std::mem::take(&mut s.data);
                let full = d.len() - skip;
                (
                    d[skip..].to_vec(),
                    full,
                    s.from.clone(),
                    fds,
                    s.cred,
                    Some(s),
                )
            }
            Got::Peek {
                data,
                full,
                from,
                fds,
                cred,
            } => (data, full, from, fds, cred, None),
        };
        if m.want_addr {
            m.addr = from.as_ref().and_then(|f| f.addr());
        }
        let n = full.min(m.data.left());
        if n < full {
            m.out_flags |= MSG_TRUNC;
        }
        if let Err(e) = m.data.put(&data[..n]) {
            drop(fds);
            drop(skb);
            return Err(e);
        }
        drop(skb);
        self.common.with_opts(|o| {
            if o.peek_off >= 0 {
                o.peek_off = if peek {
                    o.peek_off + n as i32
                } else {
                    (o.peek_off - full as i32).max(0)
                };
            }
        });
        if self.common.passcred() {
            m.control.push(RecvCmsg::Data {
                level: SOL_SOCKET,
                kind: SCM_CREDENTIALS,
                data: ucred_or_none(cred).to_bytes().to_vec(),
            });
        }
        if !fds.is_empty() {
            m.control.push(RecvCmsg::Rights(std::mem::take(&mut fds)));
        }
        Ok(if m.flags & MSG_TRUNC != 0 { full } else { n })
    }

    /// unix_stream_read_generic.
    pub(super) fn stream_recv(&self, t: &Task, m: &mut RecvMsg) -> Result<usize, Errno> {
        if self.lock().conn != Conn::Established {
            return Err(Errno::EINVAL);
        }
        if m.flags & MSG_OOB != 0 {
            return self.recv_urg(m);
        }
        let inline = self.common.opts().oobinline;
        let peek = m.flags & MSG_PEEK != 0;
        let mut size = m.data.left();
        let lowat = self.common.opts().rcvlowat.max(0) as usize;
        let target = if m.flags & MSG_WAITALL != 0 {
            size
        } else {
            lowat.min(size)
        }
        .max(1);
        let timeo = self.common.rcvtimeo(m.flags & MSG_DONTWAIT != 0);
        let passcred = self.common.passcred();
        // The credentials this read is bound to (set by its first skb when passing them).
        let mut creds: Option<Option<Ucred>> = None;
        let mut fds: Vec<Arc<File>> = Vec::new();
        let mut copied = 0usize;
        let mut err: Option<Errno> = None;
        // Skbs unlinked while looking (freed once no lock is held).
        let mut dropped: Vec<Skb> = Vec::new();
        'redo: loop {
            let io = self.iolock.lock().unwrap();
            let mut skip = if peek {
                self.common.opts().peek_off.max(0) as usize
            } else {
                0
            };
            // Index of the skb being peeked at (peeks walk forward without consuming).
            let mut next = 0usize;
            loop {
                let mut st = self.lock();
                if self.dead.load(Ordering::Acquire) {
                    err = Some(Errno::ECONNRESET);
                    break;
                }
                // Find the skb holding byte `skip` from index `next`, with Linux's rules
                // for urgent data (manage_oob): a read stops before the urgent byte once
                // it has data, takes it inline only with SO_OOBINLINE, and otherwise
                // drops it (or steps over it when peeking); empty skbs left by MSG_OOB
                // reads are freed.
                let mut idx = None;
                let mut stop = false;
                let mut i = next;
                while i < st.rx.len() {
                    let (l, urgent) = (st.rx[i].left(), st.rx[i].oob);
                    if l == 0 {
                        if copied > 0 && (!st.oob || urgent) {
                            stop = true;
                            break;
                        }
                        if peek {
                            i += 1;
                        } else if let Some(s) = st.rx.remove(i) {
                            dropped.push(s);
                        }
                        continue;
                    }
                    if urgent {
                        if copied > 0 {
                            stop = true;
                            break;
                        }
                        if !peek {
                            st.oob = false;
                            st.rx[i].oob = false;
                            if !inline {
                                if let Some(s) = st.rx.remove(i) {
                                    st.inq = st.inq.saturating_sub(s.left());
                                    dropped.push(s);
                                }
                                continue;
                            }
                        } else if !inline {
                            i += 1;
                            continue;
                        }
                    }
                    if skip >= l {
                        skip -= l;
                        i += 1;
                        continue;
                    }
                    idx = Some(i);
                    break;
                }
                if stop {
                    break;
                }
                let Some(i) = idx else {
                    if copied >= target || (peek && copied > 0) {
                        break;
                    }
                    if let Some(e) = self.common.take_err() {
                        err = Some(e);
                        break;
                    }
                    if st.shutdown & RCV_SHUTDOWN != 0 {
                        break;
                    }
                    if !timeo.can_wait() {
                        err = Some(Errno::EAGAIN);
                        break;
                    }
                    let seen: usize = st.rx.iter().map(|s| s.left()).sum();
                    let want = skip;
                    drop(st);
                    drop(io);
                    dropped.clear();
                    let r = super::super::wait(t, &[&self.wq], timeo, || {
                        let st = self.lock();
                        let now: usize = st.rx.iter().map(|s| s.left()).sum();
                        let changed = now > want || now != seen;
                        Ok(
                            if changed
                                || self.common.has_err()
                                || st.shutdown & RCV_SHUTDOWN != 0
                                || self.dead.load(Ordering::Acquire)
                            {
                                Some(())
                            } else {
                                None
                            },
                        )
                    });
                    match r {
                        Ok(()) | Err(Errno::EAGAIN) => continue 'redo,
                        Err(e) => {
                            // Interrupted: what was read so far counts; descriptors of
                            // this read are dropped (scm_destroy).
                            drop(fds);
                            return if copied > 0 { Ok(copied) } else { Err(e) };
                        }
                    }
                };
                let s = &st.rx[i];
                match creds {
                    Some(c) if c != s.cred => break,
                    None if passcred => creds = Some(s.cred),
                    _ => {}
                }
                if m.want_addr && m.addr.is_none() {
                    m.addr = s.from.as_ref().and_then(|f| f.addr());
                }
                let chunk = (s.left() - skip).min(size);
                let bytes = s.data[s.consumed + skip..s.consumed + skip + chunk].to_vec();
                let has_fds = !s.fds.is_empty();
                drop(st);
                if let Err(e) = m.data.put(&bytes) {
                    if copied == 0 {
                        err = Some(e);
                    }
                    break;
                }
                copied += chunk;
                size -= chunk;
                let mut st = self.lock();
                if !peek {
                    self.common.with_opts(|o| {
                        if o.peek_off >= 0 {
                            o.peek_off = (o.peek_off - chunk as i32).max(0);
                        }
                    });
                    st.inq = st.inq.saturating_sub(chunk);
                    let Some(s) = st.rx.get_mut(i) else {
                        break;
                    };
                    s.consumed += chunk;
                    let got_fds = if has_fds { s.take_fds() } else { Vec::new() };
                    let got = !got_fds.is_empty();
                    fds.extend(got_fds);
                    if s.left() > 0 {
                        break;
                    }
                    let s = st.rx.remove(i);
                    drop(st);
                    drop(s);
                    if got {
                        break;
                    }
                } else {
                    if let Some(s) = st.rx.get(i).filter(|_| has_fds) {
                        fds.extend(s.fds.iter().cloned());
                    }
                    drop(st);
                    self.common.with_opts(|o| {
                        if o.peek_off >= 0 {
                            o.peek_off += chunk as i32;
                        }
                    });
                    if has_fds {
                        break;
                    }
                    skip = 0;
                    next = i + 1;
                    if self.lock().rx.len() <= next {
                        break;
                    }
                }
                if size == 0 {
                    break;
                }
            }
            break;
        }
        drop(dropped);
        if let Some(c) = creds {
            m.control.push(RecvCmsg::Data {
                level: SOL_SOCKET,
                kind: SCM_CREDENTIALS,
                data: ucred_or_none(c).to_bytes().to_vec(),
            });
        }
        if !fds.is_empty() {
            m.control.push(RecvCmsg::Rights(fds));
        }
        if copied > 0 {
            return Ok(copied);
        }
        match err {
            Some(e) => {
                m.control.clear();
                Err(e)
            }
            None => Ok(0),
        }
    }
}
