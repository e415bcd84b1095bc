//! System V message queues.
//!
//! A receiver with nothing to take registers itself with its search (type and mode) and
//! sleeps; msgsnd hands a matching message straight to the oldest such receiver (Linux's
//! pipelined_send), and queues it otherwise. Senders wait for room (msg_qbytes bytes and as
//! many messages) and retry.

use super::{
    lock, now, put32, put64, HasPerm, Ids, Perm, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT,
};
use crate::task::{SysResult, Task};
use abi::Errno;
use std::collections::{HashMap, VecDeque};

pub const MSGMAX: i32 = 8192;
pub const MSGMNB: i32 = 16384;
pub const MSGMNI: i32 = 32000;
const MSGPOOL: i32 = (MSGMNI as i64 * MSGMNB as i64 / 1024) as i32;
const MSGTQL: i32 = MSGMNB;
const MSGMAP: i32 = MSGMNB;
const MSGSSZ: i32 = 16;
const MSGSEG: u16 = 0xffff;

const MSG_STAT: i32 = 11;
const MSG_INFO: i32 = 12;
const MSG_STAT_ANY: i32 = 13;

const MSG_NOERROR: i32 = 0o10000;
const MSG_EXCEPT: i32 = 0o20000;
const MSG_COPY: i32 = 0o40000;

#[derive(Clone, Debug)]
pub struct Message {
    pub mtype: i64,
    pub text: Vec<u8>,
}

/// How msgrcv picks a message.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Any,
    Equal,
    NotEqual,
    LessEqual,
    /// MSG_COPY: the n-th message.
    Number,
}

fn matches(m: &Message, typ: i64, mode: Mode) -> bool {
    match mode {
        Mode::Any | Mode::Number => true,
        Mode::Equal => m.mtype == typ,
        Mode::NotEqual => m.mtype != typ,
        Mode::LessEqual => m.mtype <= typ,
    }
}

/// A sleeping msgrcv.
#[derive(Clone, Debug)]
struct Receiver {
    ticket: u64,
    tid: i32,
    mode: Mode,
    typ: i64,
    maxsize: i64,
}

pub struct Queue {
    pub perm: Perm,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
    pub cbytes: u64,
    pub qnum: u64,
    pub qbytes: u64,
    pub lspid: i32,
    pub lrpid: i32,
    pub msgs: VecDeque<Message>,
    receivers: Vec<Receiver>,
    /// Tells a queue from a later one that reuses its id.
    serial: u64,
}

impl HasPerm for Queue {
    fn perm(&self) -> &Perm {
        &self.perm
    }
    fn perm_mut(&mut self) -> &mut Perm {
        &mut self.perm
    }
}

impl Queue {
    fn fits(&self, len: u64) -> bool {
        len + self.cbytes <= self.qbytes && self.qnum < self.qbytes
    }

    /// find_msg: the index of the message a receive with (typ, mode) takes.
    fn find(&self, typ: i64, mode: Mode) -> Option<usize> {
        let mut found = None;
        let mut typ = typ;
        let mut count = 0i64;
        for (i, m) in self.msgs.iter().enumerate() {
            if !matches(m, typ, mode) {
                continue;
            }
            match mode {
                Mode::LessEqual if m.mtype != 1 => {
                    typ = m.mtype - 1;
                    found = Some(i);
                }
                Mode::Number => {
                    if typ == count {
                        return Some(i);
                    }
                }
                _ => return Some(i),
            }
            count += 1;
        }
        found
    }
}

pub struct MsgNs {
    pub ids: Ids<Queue>,
    pub ctlmax: i32,
    pub ctlmnb: i32,
    pub ctlmni: i32,
    /// Messages and bytes queued in every queue (MSG_INFO).
    hdrs: u64,
    bytes: u64,
    /// Outcomes handed to sleeping receivers, by ticket.
    done: HashMap<u64, Result<Message, Errno>>,
    next_ticket: u64,
}

impl MsgNs {
    pub fn new() -> MsgNs {
        MsgNs {
            ids: Ids::new(),
            ctlmax: MSGMAX,
            ctlmnb: MSGMNB,
            ctlmni: MSGMNI,
            hdrs: 0,
            bytes: 0,
            done: HashMap::new(),
            next_ticket: 1,
        }
    }

    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    /// Hands `m` to the first waiting receiver it suits, or queues it.
    fn deliver(&mut self, id: i32, m: Message) {
        let Ok(q) = self.ids.get_mut(id) else {
            return;
        };
        let mut i = 0;
        while i < q.receivers.len() {
            let r = &q.receivers[i];
            if !matches(&m, r.typ, r.mode) {
                i += 1;
                continue;
            }
            let r = q.receivers.remove(i);
            if r.maxsize < m.text.len() as i64 {
                self.done.insert(r.ticket, Err(Errno::E2BIG));
                continue;
            }
            q.lrpid = r.tid;
            q.rtime = now();
            self.done.insert(r.ticket, Ok(m));
            return;
        }
        q.cbytes += m.text.len() as u64;
        q.qnum += 1;
        self.hdrs += 1;
        self.bytes += m.text.len() as u64;
        q.msgs.push_back(m);
    }

    /// Wakes every receiver of queue `id` with `e` (EIDRM at removal; EAGAIN after IPC_SET,
    /// which makes them look again).
    fn expunge(&mut self, id: i32, e: Errno) {
        if let Ok(q) = self.ids.get_mut(id) {
            for r in std::mem::take(&mut q.receivers) {
                self.done.insert(r.ticket, Err(e));
            }
        }
    }
}

impl Default for MsgNs {
    fn default() -> Self {
        MsgNs::new()
    }
}

fn wake() {
    super::ipc().msg_wq.notify_all();
}

/// msgget(2).
pub fn msgget(t: &Task, key: i32, flg: i32) -> SysResult {
    let c = t.creds();
    let mut ns = lock(&super::ipc().msg);
    if let Some(r) = super::lookup_key(&ns.ids, key, flg, &c, |_| Ok(())) {
        return r.map(|id| id as u64);
    }
    let serial = ns.ticket();
    let q = Queue {
        perm: Perm::new(key, flg, &c),
        stime: 0,
        rtime: 0,
        ctime: now(),
        cbytes: 0,
        qnum: 0,
        qbytes: ns.ctlmnb as u64,
        lspid: 0,
        lrpid: 0,
        msgs: VecDeque::new(),
        receivers: Vec::new(),
        serial,
    };
    let limit = ns.ctlmni.max(0) as u32;
    ns.ids.add(limit, q).map(|id| id as u64)
}

/// msgsnd(2).
pub fn msgsnd(t: &Task, msqid: i32, msgp: u64, msgsz: u64, flg: i32) -> SysResult {
    let mtype: i64 = t.read_val(msgp)?;
    let ipc = super::ipc();
    let ctlmax = lock(&ipc.msg).ctlmax;
    if msgsz > ctlmax as i64 as u64 || (msgsz as i64) < 0 || msqid < 0 {
        return Err(Errno::EINVAL);
    }
    if mtype < 1 {
        return Err(Errno::EINVAL);
    }
    let mut text = Vec::new();
    text.try_reserve_exact(msgsz as usize)
        .map_err(|_| Errno::ENOMEM)?;
    text.resize(msgsz as usize, 0);
    t.read_mem(msgp.wrapping_add(8), &mut text)?;
    let c = t.creds();
    let serial = lock(&ipc.msg).ids.get(msqid)?.serial;
    let mut msg = Some(Message { mtype, text });
    let r = t.wait_until(&[&ipc.msg_wq], None, None, || {
        let mut ns = lock(&ipc.msg);
        let q = match ns.ids.get_mut(msqid) {
            Ok(q) if q.serial == serial => q,
            _ => return Err(Errno::EIDRM),
        };
        q.perm.check(&c, 0o222)?;
        if !q.fits(msgsz) {
            if flg & IPC_NOWAIT != 0 {
                return Err(Errno::EAGAIN);
            }
            return Ok(None);
        }
        q.lspid = t.tgid();
        q.stime = now();
        if let Some(m) = msg.take() {
            ns.deliver(msqid, m);
        }
        Ok(Some(()))
    });
    match r {
        Ok(()) => {
            wake();
            Ok(0)
        }
        Err(Errno::ERESTARTSYS) => Err(Errno::ERESTARTNOHAND),
        Err(e) => Err(e),
    }
}

/// msgrcv(2).
pub fn msgrcv(t: &Task, msqid: i32, msgp: u64, bufsz: u64, typ: i64, flg: i32) -> SysResult {
    if msqid < 0 || (bufsz as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let ipc = super::ipc();
    let mut copy_len = 0u64;
    if flg & MSG_COPY != 0 {
        if flg & MSG_EXCEPT != 0 || flg & IPC_NOWAIT == 0 {
            return Err(Errno::EINVAL);
        }
        // Linux first loads a message of the buffer's size from the buffer itself.
        copy_len = bufsz.min(lock(&ipc.msg).ctlmax as u64);
        let mut probe = Vec::new();
        probe
            .try_reserve_exact(copy_len as usize)
            .map_err(|_| Errno::ENOMEM)?;
        probe.resize(copy_len as usize, 0);
        t.read_mem(msgp, &mut probe)?;
    }
    let (mode, typ) = if flg & MSG_COPY != 0 {
        (Mode::Number, typ)
    } else if typ == 0 {
        (Mode::Any, typ)
    } else if typ < 0 {
        (
            Mode::LessEqual,
            if typ == i64::MIN { i64::MAX } else { -typ },
        )
    } else if flg & MSG_EXCEPT != 0 {
        (Mode::NotEqual, typ)
    } else {
        (Mode::Equal, typ)
    };
    let c = t.creds();
    let serial = lock(&ipc.msg).ids.get(msqid)?.serial;
    let msg = loop {
        let ticket = {
            let mut ns = lock(&ipc.msg);
            let q = match ns.ids.get_mut(msqid) {
                Ok(q) if q.serial == serial => q,
                _ => return Err(Errno::EIDRM),
            };
            q.perm.check(&c, 0o444)?;
            if let Some(i) = q.find(typ, mode) {
                let len = q.msgs[i].text.len() as u64;
                if bufsz < len && flg & MSG_NOERROR == 0 {
                    return Err(Errno::E2BIG);
                }
                if flg & MSG_COPY != 0 {
                    if len > copy_len {
                        return Err(Errno::EINVAL);
                    }
                    break q.msgs[i].clone();
                }
                let m = q.msgs.remove(i).expect("found");
                q.qnum -= 1;
                q.cbytes -= len;
                q.rtime = now();
                q.lrpid = t.tgid();
                ns.hdrs -= 1;
                ns.bytes -= len;
                drop(ns);
                wake();
                break m;
            }
            if flg & IPC_NOWAIT != 0 {
                return Err(Errno::ENOMSG);
            }
            let maxsize = if flg & MSG_NOERROR != 0 {
                i32::MAX as i64
            } else {
                bufsz as i64
            };
            let ticket = ns.ticket();
            let q = ns.ids.get_mut(msqid)?;
            q.receivers.push(Receiver {
                ticket,
                tid: t.tid,
                mode,
                typ,
                maxsize,
            });
            ticket
        };
        let r = t.wait_until(&[&ipc.msg_wq], None, None, || {
            Ok(lock(&ipc.msg).done.remove(&ticket))
        });
        let out = match r {
            Ok(o) => o,
            Err(_) => {
                let mut ns = lock(&ipc.msg);
                match ns.done.remove(&ticket) {
                    Some(o) => o,
                    None => {
                        if let Ok(q) = ns.ids.get_mut(msqid) {
                            q.receivers.retain(|r| r.ticket != ticket);
                        }
                        return Err(Errno::ERESTARTNOHAND);
                    }
                }
            }
        };
        match out {
            Ok(m) => break m,
            // Permissions changed (IPC_SET): look again.
            Err(Errno::EAGAIN) => continue,
            Err(e) => return Err(e),
        }
    };
    t.write_val(msgp, &msg.mtype)?;
    let n = (bufsz as usize).min(msg.text.len());
    t.write_mem(msgp.wrapping_add(8), &msg.text[..n])?;
    Ok(n as u64)
}

/// x86-64 `struct msqid64_ds` (120 bytes).
fn msqid_ds(q: &Queue) -> Vec<u8> {
    let mut o = Vec::with_capacity(120);
    q.perm.to_bytes(&mut o);
    put64(
        &mut o,
        &[
            q.stime as u64,
            q.rtime as u64,
            q.ctime as u64,
            q.cbytes,
            q.qnum,
            q.qbytes,
        ],
    );
    put32(&mut o, &[q.lspid, q.lrpid]);
    put64(&mut o, &[0, 0]);
    o
}

/// msgctl(2).
pub fn msgctl(t: &Task, msqid: i32, cmd: i32, buf: u64) -> SysResult {
    if msqid < 0 || cmd < 0 {
        return Err(Errno::EINVAL);
    }
    let c = t.creds();
    let mut ns = lock(&super::ipc().msg);
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (pool, map, tql) = if cmd == MSG_INFO {
                (
                    ns.ids.in_use() as i32,
                    ns.hdrs.min(i32::MAX as u64) as i32,
                    ns.bytes.min(i32::MAX as u64) as i32,
                )
            } else {
                (MSGPOOL, MSGMAP, MSGTQL)
            };
            let mut o = Vec::with_capacity(32);
            // msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql, msgseg
            put32(
                &mut o,
                &[pool, map, ns.ctlmax, ns.ctlmnb, ns.ctlmni, MSGSSZ, tql],
            );
            o.extend_from_slice(&MSGSEG.to_le_bytes());
            o.extend_from_slice(&[0, 0]);
            let r = ns.ids.max_idx();
            drop(ns);
            t.write_mem(buf, &o)?;
            Ok(r as u64)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let q = if cmd == IPC_STAT {
                ns.ids.get(msqid)?
            } else {
                ns.ids.by_index(msqid)?
            };
            if cmd != MSG_STAT_ANY {
                q.perm.check(&c, 0o444)?;
            }
            let b = msqid_ds(q);
            let r = if cmd == IPC_STAT { 0 } else { q.perm.id as u64 };
            drop(ns);
            t.write_mem(buf, &b)?;
            Ok(r)
        }
        IPC_SET => {
            let mut b = [0u8; 120];
            t.read_mem(buf, &mut b)?;
            // msgctl_down takes msg_qbytes as an int.
            let qbytes = super::u64le(&b, 88) as i32;
            let mnb = ns.ctlmnb;
            let q = ns.ids.get_mut(msqid)?;
            q.perm.check_owner(&c)?;
            if qbytes > mnb && !c.has_cap(super::CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            q.perm.update(&b)?;
            q.qbytes = qbytes as i64 as u64;
            q.ctime = now();
            ns.expunge(msqid, Errno::EAGAIN);
            wake();
            Ok(0)
        }
        IPC_RMID => {
            let q = ns.ids.get(msqid)?;
            q.perm.check_owner(&c)?;
            ns.expunge(msqid, Errno::EIDRM);
            let q = ns.ids.remove(msqid).expect("checked");
            ns.hdrs -= q.qnum;
            ns.bytes -= q.cbytes;
            wake();
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// /proc/sysvipc/msg.
pub fn proc_text() -> String {
    let ns = lock(&super::ipc().msg);
    let mut s = String::from("       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n");
    for q in ns.ids.iter() {
        s.push_str(&format!(
            "{:>10} {:>10}  {:>4o}  {:>10} {:>10} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10}\n",
            q.perm.key,
            q.perm.id,
            q.perm.mode,
            q.cbytes,
            q.qnum,
            q.lspid,
            q.lrpid,
            q.perm.uid,
            q.perm.gid,
            q.perm.cuid,
            q.perm.cgid,
            q.stime,
            q.rtime,
            q.ctime
        ));
    }
    s
}
