//! /proc: a synthetic tree over the sandbox's own processes (never the host's).
//!
//! Every object is a `ProcInode` naming a `Node`; directories list and look up their
//! children from the process table when asked, and files are generated whole when
//! opened (like Linux's seq_file on first read), so one open sees one snapshot.
//! - `procfs/pid.rs`: /proc/PID (and /proc/PID/task/TID) contents;
//! - `procfs/sys.rs`: system-wide files and /proc/sys.

pub mod pid;
mod smaps;
mod sys;

use crate::task::{Task, ThreadGroup};
use crate::vfs::inode::{LinkTarget, POLLIN};
use crate::vfs::{
    mode, Ctx, Dentry, DirEnt, File, FileOps, FileSystem, Inode, Loc, SetAttr, Stat, StatFs,
    Timespec,
};
use abi::Errno;
use std::any::Any;
use std::sync::Arc;

pub use sys::{OSRELEASE, VERSION};

/// Linux's PROC_SUPER_MAGIC.
const PROC_MAGIC: u64 = 0x9fa0;

pub struct ProcFs {
    dev: u64,
}

impl ProcFs {
    pub fn new() -> Arc<ProcFs> {
        sys::snapshot_host();
        crate::net::snapshot_host();
        Arc::new(ProcFs {
            dev: super::anon_dev(),
        })
    }

    pub fn root_dentry(&self) -> Arc<Dentry> {
        Dentry::new_root(b"/", ProcInode::new(self.dev, Node::Root))
    }
}

impl FileSystem for ProcFs {
    fn name(&self) -> &str {
        "proc"
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn statfs(&self) -> StatFs {
        StatFs {
            fs_type: PROC_MAGIC,
            bsize: 4096,
            namelen: 255,
            frsize: 4096,
            flags: 0x20 | 0x2 | 0x4 | 0x8,
            ..Default::default()
        }
    }
    fn cache_dentries(&self) -> bool {
        false
    }
}

/// What a /proc object is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Root,
    SelfLink,
    ThreadSelf,
    /// A top-level generated file (meminfo, ...), or a link like /proc/mounts.
    Top(&'static str),
    /// A directory or file under /proc/sys ("sys", "sys/kernel", "sys/kernel/ostype").
    Sys(&'static str),
    /// /proc/PID (tid None) or /proc/PID/task/TID.
    Pid {
        tgid: i32,
        tid: Option<i32>,
    },
    Tasks {
        tgid: i32,
    },
    /// A file or link in a process directory.
    PidEntry {
        tgid: i32,
        tid: Option<i32>,
        name: &'static str,
    },
    /// /proc/PID/fd (info false) or /proc/PID/fdinfo (info true).
    Fds {
        tgid: i32,
        tid: Option<i32>,
        info: bool,
    },
    Fd {
        tgid: i32,
        tid: Option<i32>,
        fd: i32,
        info: bool,
    },
    /// /proc/PID/ns and its links.
    Ns {
        tgid: i32,
        tid: Option<i32>,
    },
    NsLink {
        tgid: i32,
        tid: Option<i32>,
        name: &'static str,
    },
}

/// The sandbox's namespaces: /proc/PID/ns names and their inode numbers (those of a
/// Linux system's initial namespaces).
pub(crate) const NAMESPACES: &[(&str, &str, u64)] = &[
    ("cgroup", "cgroup", 4026531835),
    ("ipc", "ipc", 4026531839),
    ("mnt", "mnt", 4026531832),
    ("net", "net", 4026531833),
    ("pid", "pid", 4026531836),
    ("pid_for_children", "pid", 4026531836),
    ("time", "time", 4026531834),
    ("time_for_children", "time", 4026531834),
    ("user", "user", 4026531837),
    ("uts", "uts", 4026531838),
];

pub struct ProcInode {
    dev: u64,
    node: Node,
}

impl ProcInode {
    fn new(dev: u64, node: Node) -> Arc<ProcInode> {
        Arc::new(ProcInode { dev, node })
    }

    fn child(&self, node: Node) -> Arc<dyn Inode> {
        ProcInode::new(self.dev, node)
    }
}

/// The thread group `tgid`, if it exists (zombies included).
pub(crate) fn group(tgid: i32) -> Option<Arc<ThreadGroup>> {
    crate::kernel().procs.lock().unwrap().group(tgid)
}

/// A live task of group `tgid`: `tid` if given (and in the group), else the leader or any
/// remaining thread.
pub(crate) fn task_of(tgid: i32, tid: Option<i32>) -> Option<Arc<Task>> {
    let procs = crate::kernel().procs.lock().unwrap();
    match tid {
        Some(t) => procs.task(t).filter(|x| x.tgid() == tgid),
        None => {
            if let Some(t) = procs.task(tgid) {
                return Some(t);
            }
            let g = procs.group(tgid)?;
            procs.threads_of(&g).into_iter().next()
        }
    }
}

/// Parses a decimal pid component (no sign, no leading zeros).
fn parse_pid(name: &[u8]) -> Option<i32> {
    if name.is_empty()
        || name.len() > 10
        || (name[0] == b'0')
        || !name.iter().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    std::str::from_utf8(name)
        .ok()?
        .parse::<i32>()
        .ok()
        .filter(|&p| p > 0)
}

/// Sorted pids of every thread group.
fn all_tgids() -> Vec<i32> {
    let mut v: Vec<i32> = crate::kernel()
        .procs
        .lock()
        .unwrap()
        .groups
        .keys()
        .copied()
        .collect();
    v.sort_unstable();
    v
}

/// Entries of a process directory: name, kind (dir/link/file) and mode.
pub(crate) const PID_ENTRIES: &[(&str, u32)] = &[
    ("auxv", mode::S_IFREG | 0o400),
    ("cgroup", mode::S_IFREG | 0o444),
    ("cmdline", mode::S_IFREG | 0o444),
    ("comm", mode::S_IFREG | 0o644),
    ("cwd", mode::S_IFLNK | 0o777),
    ("environ", mode::S_IFREG | 0o400),
    ("exe", mode::S_IFLNK | 0o777),
    ("fd", mode::S_IFDIR | 0o500),
    ("fdinfo", mode::S_IFDIR | 0o500),
    ("io", mode::S_IFREG | 0o400),
    ("limits", mode::S_IFREG | 0o444),
    ("loginuid", mode::S_IFREG | 0o644),
    ("maps", mode::S_IFREG | 0o444),
    ("mountinfo", mode::S_IFREG | 0o444),
    ("mounts", mode::S_IFREG | 0o444),
    ("net", mode::S_IFDIR | 0o555),
    ("ns", mode::S_IFDIR | 0o511),
    ("oom_adj", mode::S_IFREG | 0o644),
    ("oom_score", mode::S_IFREG | 0o444),
    ("oom_score_adj", mode::S_IFREG | 0o644),
    ("root", mode::S_IFLNK | 0o777),
    ("sched", mode::S_IFREG | 0o644),
    ("sessionid", mode::S_IFREG | 0o444),
    ("smaps", mode::S_IFREG | 0o444),
    ("smaps_rollup", mode::S_IFREG | 0o444),
    ("stat", mode::S_IFREG | 0o444),
    ("statm", mode::S_IFREG | 0o444),
    ("status", mode::S_IFREG | 0o444),
    ("task", mode::S_IFDIR | 0o555),
    ("wchan", mode::S_IFREG | 0o444),
];

fn pid_entry(name: &[u8]) -> Option<(&'static str, u32)> {
    PID_ENTRIES
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .copied()
}

/// Inode numbers: stable per object, distinct across kinds.
fn ino_of(node: &Node) -> u64 {
    fn h(s: &str) -> u64 {
        s.bytes().fold(1469598103934665603u64, |a, b| {
            (a ^ b as u64).wrapping_mul(1099511628211)
        }) & 0xffff
    }
    match node {
        Node::Root => 1,
        Node::SelfLink => 2,
        Node::ThreadSelf => 3,
        Node::Top(n) => 0x100 + h(n),
        Node::Sys(n) => 0x2_0000 + h(n),
        Node::Pid { tgid, tid } => ((tid.unwrap_or(*tgid) as u64) << 16) | 0x1,
        Node::Tasks { tgid } => ((*tgid as u64) << 16) | 0x2,
        Node::PidEntry { tgid, tid, name } => {
            ((tid.unwrap_or(*tgid) as u64) << 16) | (0x10 + h(name) % 0x800)
        }
        Node::Fds { tgid, tid, info } => {
            ((tid.unwrap_or(*tgid) as u64) << 16) | if *info { 0x4 } else { 0x3 }
        }
        Node::Fd {
            tgid,
            tid,
            fd,
            info,
        } => ((tid.unwrap_or(*tgid) as u64) << 32) | ((*fd as u64) << 1) | *info as u64,
        Node::Ns { tgid, tid } => ((tid.unwrap_or(*tgid) as u64) << 16) | 0x5,
        Node::NsLink { tgid, tid, name } => {
            ((tid.unwrap_or(*tgid) as u64) << 16) | (0x900 + h(name) % 0x100)
        }
    }
}

impl ProcInode {
    fn node_mode(&self) -> u32 {
        match &self.node {
            Node::Root => mode::S_IFDIR | 0o555,
            Node::SelfLink | Node::ThreadSelf => mode::S_IFLNK | 0o777,
            Node::Top(n) => sys::top_mode(n),
            Node::Sys(p) => sys::sys_mode(p),
            Node::Pid { .. } | Node::Tasks { .. } => mode::S_IFDIR | 0o555,
            Node::PidEntry { name, .. } => pid_entry(name.as_bytes())
                .map(|e| e.1)
                .unwrap_or(mode::S_IFREG | 0o444),
            Node::Fds { .. } => mode::S_IFDIR | 0o500,
            Node::Ns { .. } => mode::S_IFDIR | 0o511,
            Node::NsLink { .. } => mode::S_IFLNK | 0o777,
            Node::Fd { info: true, .. } => mode::S_IFREG | 0o444,
            Node::Fd {
                tgid,
                tid,
                fd,
                info: false,
            } => {
                // The link's permission bits show the file's access mode, as on Linux.
                let f = task_of(*tgid, *tid).and_then(|t| t.files().get(*fd).ok());
                let bits = match f {
                    Some(f) => {
                        (if f.readable() { 0o500 } else { 0o100 })
                            | if f.writable() { 0o200 } else { 0 }
                    }
                    None => 0o700,
                };
                mode::S_IFLNK | bits
            }
        }
    }

    /// The (tgid, tid) this node belongs to, if any.
    fn owner(&self) -> Option<(i32, Option<i32>)> {
        match &self.node {
            Node::Pid { tgid, tid }
            | Node::PidEntry { tgid, tid, .. }
            | Node::Fds { tgid, tid, .. }
            | Node::Fd { tgid, tid, .. }
            | Node::Ns { tgid, tid }
            | Node::NsLink { tgid, tid, .. } => Some((*tgid, *tid)),
            Node::Tasks { tgid } => Some((*tgid, None)),
            _ => None,
        }
    }

    /// ENOENT once the process is gone (a dentry held open outlives it).
    fn check_alive(&self) -> Result<(), Errno> {
        if let Some((tgid, tid)) = self.owner() {
            if group(tgid).is_none() {
                return Err(Errno::ENOENT);
            }
            if let Some(t) = tid {
                if task_of(tgid, Some(t)).is_none() {
                    return Err(Errno::ENOENT);
                }
            }
        }
        Ok(())
    }
}

fn boot_time() -> Timespec {
    let now = crate::vfs::now();
    let up = crate::kernel().boot.elapsed();
    let mut sec = now.sec - up.as_secs() as i64;
    let mut nsec = now.nsec - up.subsec_nanos() as i64;
    if nsec < 0 {
        nsec += 1_000_000_000;
        sec -= 1;
    }
    Timespec { sec, nsec }
}

/// Wall-clock time of an Instant of this kernel.
pub(crate) fn wall_of(i: std::time::Instant) -> Timespec {
    let b = boot_time();
    let d = i.saturating_duration_since(crate::kernel().boot);
    let mut sec = b.sec + d.as_secs() as i64;
    let mut nsec = b.nsec + d.subsec_nanos() as i64;
    if nsec >= 1_000_000_000 {
        nsec -= 1_000_000_000;
        sec += 1;
    }
    Timespec { sec, nsec }
}

impl Inode for ProcInode {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn stat(&self) -> Result<Stat, Errno> {
        self.check_alive()?;
        let m = self.node_mode();
        let (uid, gid, time) = match self.owner().and_then(|(g, _)| group(g)) {
            Some(g) => {
                let s = g.lock();
                (s.creds.euid, s.creds.egid, wall_of(s.start))
            }
            None => (0, 0, boot_time()),
        };
        let nlink = if mode::is_dir(m) { 2 } else { 1 };
        Ok(Stat {
            dev: self.dev,
            ino: ino_of(&self.node),
            mode: m,
            nlink,
            uid,
            gid,
            blksize: 1024,
            atime: time,
            mtime: time,
            ctime: time,
            ..Default::default()
        })
    }

    fn mode(&self) -> u32 {
        self.node_mode()
    }

    fn lookup(&self, ctx: &Ctx, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.check_alive()?;
        let n = match &self.node {
            Node::Root => {
                if name == b"self" {
                    Node::SelfLink
                } else if name == b"thread-self" {
                    Node::ThreadSelf
                } else if let Some(p) = parse_pid(name) {
                    if group(p).is_some() {
                        Node::Pid { tgid: p, tid: None }
                    } else {
                        // A thread id reaches that thread's view, as on Linux (unlisted).
                        let t = crate::kernel()
                            .procs
                            .lock()
                            .unwrap()
                            .task(p)
                            .ok_or(Errno::ENOENT)?;
                        Node::Pid {
                            tgid: t.tgid(),
                            tid: Some(p),
                        }
                    }
                } else if let Some(n) = sys::top_lookup(name) {
                    n
                } else {
                    return Err(Errno::ENOENT);
                }
            }
            Node::Sys(p) => Node::Sys(sys::sys_lookup(p, name).ok_or(Errno::ENOENT)?),
            Node::Pid { tgid, tid } => {
                let (n, _) = pid_entry(name).ok_or(Errno::ENOENT)?;
                match n {
                    "fd" => Node::Fds {
                        tgid: *tgid,
                        tid: *tid,
                        info: false,
                    },
                    "fdinfo" => Node::Fds {
                        tgid: *tgid,
                        tid: *tid,
                        info: true,
                    },
                    "task" if tid.is_none() => Node::Tasks { tgid: *tgid },
                    "net" => Node::Sys("net"),
                    "ns" => Node::Ns {
                        tgid: *tgid,
                        tid: *tid,
                    },
                    "task" => return Err(Errno::ENOENT),
                    _ => Node::PidEntry {
                        tgid: *tgid,
                        tid: *tid,
                        name: n,
                    },
                }
            }
            Node::Ns { tgid, tid } => {
                let (n, _, _) = NAMESPACES
                    .iter()
                    .find(|(n, _, _)| n.as_bytes() == name)
                    .ok_or(Errno::ENOENT)?;
                Node::NsLink {
                    tgid: *tgid,
                    tid: *tid,
                    name: n,
                }
            }
            Node::Tasks { tgid } => {
                let t = parse_pid(name).ok_or(Errno::ENOENT)?;
                task_of(*tgid, Some(t)).ok_or(Errno::ENOENT)?;
                Node::Pid {
                    tgid: *tgid,
                    tid: Some(t),
                }
            }
            Node::Fds { tgid, tid, info } => {
                let fd = std::str::from_utf8(name)
                    .ok()
                    .and_then(|s| s.parse::<i32>().ok())
                    .filter(|&f| f >= 0);
                let fd = fd
                    .filter(|f| f.to_string().as_bytes() == name)
                    .ok_or(Errno::ENOENT)?;
                let t = task_of(*tgid, *tid).ok_or(Errno::ENOENT)?;
                t.files().get(fd).map_err(|_| Errno::ENOENT)?;
                Node::Fd {
                    tgid: *tgid,
                    tid: *tid,
                    fd,
                    info: *info,
                }
            }
            _ => return Err(Errno::ENOTDIR),
        };
        let _ = ctx;
        Ok(self.child(n))
    }

    fn readlink(&self, ctx: &Ctx) -> Result<Vec<u8>, Errno> {
        self.check_alive()?;
        match &self.node {
            Node::SelfLink => {
                if ctx.tgid <= 0 {
                    return Err(Errno::ENOENT);
                }
                Ok(ctx.tgid.to_string().into_bytes())
            }
            Node::ThreadSelf => {
                if ctx.tgid <= 0 {
                    return Err(Errno::ENOENT);
                }
                Ok(format!("{}/task/{}", ctx.tgid, ctx.tid).into_bytes())
            }
            Node::Top(n) => sys::top_link(n)
                .map(|s| s.as_bytes().to_vec())
                .ok_or(Errno::EINVAL),
            Node::PidEntry { .. } | Node::Fd { info: false, .. } => pid::link_text(&self.node, ctx),
            Node::NsLink { name, .. } => ns_entry(name)
                .map(|(_, kind, id)| format!("{kind}:[{id}]").into_bytes())
                .ok_or(Errno::ENOENT),
            _ => Err(Errno::EINVAL),
        }
    }

    fn magic_link(&self, ctx: &Ctx) -> Option<Result<LinkTarget, Errno>> {
        match &self.node {
            Node::PidEntry {
                name: "exe" | "cwd" | "root",
                ..
            }
            | Node::Fd { info: false, .. } => Some(
                self.check_alive()
                    .and_then(|_| pid::link_target(&self.node, ctx))
                    .map(LinkTarget::Loc),
            ),
            Node::NsLink { name, .. } => Some(
                self.check_alive()
                    .and_then(|_| ns_entry(name).ok_or(Errno::ENOENT))
                    .map(|(_, kind, id)| LinkTarget::Loc(ns_loc(kind, *id))),
            ),
            _ => None,
        }
    }

    fn open(self: Arc<Self>, ctx: &Ctx, _loc: &Loc, flags: u32) -> Result<Box<dyn FileOps>, Errno> {
        self.check_alive()?;
        let m = self.node_mode();
        if mode::is_dir(m) {
            return Ok(Box::new(ProcDir {
                inode: self.clone(),
            }));
        }
        if mode::is_lnk(m) {
            return Err(Errno::ELOOP);
        }
        let data = match &self.node {
            Node::Top(n) => sys::top_content(n, ctx)?,
            Node::Sys(p) => sys::sys_content(p)?,
            Node::PidEntry { .. } | Node::Fd { .. } => pid::content(&self.node, ctx)?,
            _ => return Err(Errno::EINVAL),
        };
        let _ = flags;
        Ok(Box::new(ProcFile {
            inode: self.clone(),
            data,
        }))
    }

    fn setattr(&self, _ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        // Truncation is what O_TRUNC does before writing a value: allow it on files.
        if a.size.is_some()
            && a.mode.is_none()
            && a.uid.is_none()
            && a.gid.is_none()
            && !mode::is_dir(self.node_mode())
        {
            return Ok(());
        }
        Err(Errno::EPERM)
    }
}

fn ns_entry(name: &str) -> Option<&'static (&'static str, &'static str, u64)> {
    NAMESPACES.iter().find(|(n, _, _)| *n == name)
}

/// Where a /proc/PID/ns link leads: the namespace's own inode (nsfs), which cannot be
/// opened here (setns is not offered).
fn ns_loc(kind: &str, id: u64) -> Loc {
    let name = format!("{kind}:[{id}]");
    let ino = super::anon::AnonInode::new(mode::S_IFREG | 0o444, id);
    crate::vfs::dentry::anon_loc(name.as_bytes(), ino)
}

/// An open /proc directory. Positions: 0 ".", 1 "..", then fixed entries by index, then
/// numbered entries (pids, tids, fds) at a base plus their number, so d_off is stable.
struct ProcDir {
    inode: Arc<ProcInode>,
}

const NUM_BASE: u64 = 0x1_0000;

impl FileOps for ProcDir {
    fn readdir(
        &self,
        _ctx: &Ctx,
        pos: u64,
        emit: &mut dyn FnMut(&DirEnt) -> bool,
    ) -> Result<u64, Errno> {
        self.inode.check_alive()?;
        let mut pos = pos;
        let me = ino_of(&self.inode.node);
        if pos == 0 {
            if !emit(&DirEnt {
                ino: me,
                next: 1,
                dtype: 4,
                name: b".".to_vec(),
            }) {
                return Ok(0);
            }
            pos = 1;
        }
        if pos == 1 {
            if !emit(&DirEnt {
                ino: 1,
                next: 2,
                dtype: 4,
                name: b"..".to_vec(),
            }) {
                return Ok(1);
            }
            pos = 2;
        }
        // Fixed entries (name, node).
        let fixed: Vec<(String, Node)> = match &self.inode.node {
            Node::Root => sys::top_entries(),
            Node::Sys(p) => sys::sys_children(p)
                .into_iter()
                .map(|(n, full)| (n.to_string(), Node::Sys(full)))
                .collect(),
            Node::Pid { tgid, tid } => PID_ENTRIES
                .iter()
                .filter(|(n, _)| !(*n == "task" && tid.is_some()))
                .map(|(n, _)| {
                    let node = match *n {
                        "fd" => Node::Fds {
                            tgid: *tgid,
                            tid: *tid,
                            info: false,
                        },
                        "fdinfo" => Node::Fds {
                            tgid: *tgid,
                            tid: *tid,
                            info: true,
                        },
                        "task" => Node::Tasks { tgid: *tgid },
                        "net" => Node::Sys("net"),
                        "ns" => Node::Ns {
                            tgid: *tgid,
                            tid: *tid,
                        },
                        _ => Node::PidEntry {
                            tgid: *tgid,
                            tid: *tid,
                            name: n,
                        },
                    };
                    (n.to_string(), node)
                })
                .collect(),
            Node::Ns { tgid, tid } => NAMESPACES
                .iter()
                .map(|(n, _, _)| {
                    (
                        n.to_string(),
                        Node::NsLink {
                            tgid: *tgid,
                            tid: *tid,
                            name: n,
                        },
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        let nfixed = fixed.len() as u64;
        while pos >= 2 && pos - 2 < nfixed {
            let (name, node) = &fixed[(pos - 2) as usize];
            let child = ProcInode::new(self.inode.dev, node.clone());
            let ent = DirEnt {
                ino: ino_of(node),
                next: pos + 1,
                dtype: mode::dtype(child.node_mode()),
                name: name.clone().into_bytes(),
            };
            if !emit(&ent) {
                return Ok(pos);
            }
            pos += 1;
        }
        if pos < NUM_BASE {
            pos = NUM_BASE;
        }
        // Numbered entries.
        let nums: Vec<(i64, Node, u8)> = match &self.inode.node {
            Node::Root => all_tgids()
                .into_iter()
                .map(|p| (p as i64, Node::Pid { tgid: p, tid: None }, 4))
                .collect(),
            Node::Tasks { tgid } => {
                let mut v: Vec<i32> = group(*tgid)
                    .map(|g| g.lock().threads.clone())
                    .unwrap_or_default();
                v.sort_unstable();
                v.into_iter()
                    .map(|t| {
                        (
                            t as i64,
                            Node::Pid {
                                tgid: *tgid,
                                tid: Some(t),
                            },
                            4,
                        )
                    })
                    .collect()
            }
            Node::Fds { tgid, tid, info } => match task_of(*tgid, *tid) {
                Some(t) => t
                    .files()
                    .list()
                    .into_iter()
                    .map(|(fd, _)| {
                        (
                            fd as i64,
                            Node::Fd {
                                tgid: *tgid,
                                tid: *tid,
                                fd,
                                info: *info,
                            },
                            if *info { 8 } else { 10 },
                        )
                    })
                    .collect(),
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        for (num, node, dtype) in nums {
            let p = NUM_BASE + num as u64;
            if p < pos {
                continue;
            }
            let ent = DirEnt {
                ino: ino_of(&node),
                next: p + 1,
                dtype,
                name: num.to_string().into_bytes(),
            };
            if !emit(&ent) {
                return Ok(p);
            }
            pos = p + 1;
        }
        Ok(pos)
    }
}

/// An open /proc file: its contents, generated at open.
struct ProcFile {
    inode: Arc<ProcInode>,
    data: Vec<u8>,
}

impl FileOps for ProcFile {
    fn read(&self, _t: &Task, _f: &File, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if off >= self.data.len() as u64 {
            return Ok(0);
        }
        let start = off as usize;
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        Ok(n)
    }

    fn write(&self, t: &Task, _f: &File, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        match &self.inode.node {
            Node::PidEntry { .. } => pid::write(&self.inode.node, t, data),
            Node::Sys(p) => sys::sys_write(p, t, data),
            _ => Err(Errno::EIO),
        }
    }

    fn poll(&self, _f: &File) -> u32 {
        POLLIN
    }
}
