//! Contents of /proc/PID and /proc/PID/task/TID, in Linux's formats.

use super::{group, task_of, Node};
use crate::task::{ExitStatus, Task, ThreadGroup};
use crate::vfs::{dentry, walk, Ctx, Loc};
use abi::Errno;
use std::fmt::Write as _;
use std::sync::Arc;

/// Clock ticks per second of /proc times (USER_HZ).
const HZ: u64 = 100;
/// Most bytes read from a process's memory for cmdline/environ.
const MAX_ARGS: u64 = 4 << 20;

fn need_task(tgid: i32, tid: Option<i32>) -> Result<Arc<Task>, Errno> {
    task_of(tgid, tid).ok_or(Errno::ENOENT)
}

/// Text of a /proc/PID link (exe, cwd, root, fd/N).
pub(super) fn link_text(node: &Node, ctx: &Ctx) -> Result<Vec<u8>, Errno> {
    match node {
        Node::PidEntry {
            tgid,
            tid,
            name: "exe",
        } => {
            let t = need_task(*tgid, *tid)?;
            let exe = t.mm().lock().exe.clone().ok_or(Errno::ENOENT)?;
            Ok(exe.into_bytes())
        }
        Node::PidEntry {
            tgid,
            tid,
            name: "cwd",
        } => {
            let t = need_task(*tgid, *tid)?;
            Ok(t.fs().cwd().path_from(&ctx.root))
        }
        Node::PidEntry {
            tgid,
            tid,
            name: "root",
        } => {
            let t = need_task(*tgid, *tid)?;
            Ok(t.fs().root().path_from(&ctx.root))
        }
        Node::Fd {
            tgid,
            tid,
            fd,
            info: false,
        } => {
            let t = need_task(*tgid, *tid)?;
            let f = t.files().get(*fd).map_err(|_| Errno::ENOENT)?;
            if f.ops().name().is_some() || f.loc.mnt.internal {
                return Ok(f.path().into_bytes());
            }
            Ok(f.loc.path_from(&ctx.root))
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Where a /proc/PID magic link leads.
pub(super) fn link_target(node: &Node, ctx: &Ctx) -> Result<Loc, Errno> {
    match node {
        Node::PidEntry {
            tgid,
            tid,
            name: "exe",
        } => {
            let t = need_task(*tgid, *tid)?;
            let exe = t.mm().lock().exe.clone().ok_or(Errno::ENOENT)?;
            let root = dentry::root_loc();
            walk::resolve(
                &Ctx {
                    root: root.clone(),
                    ..ctx.clone()
                },
                &root,
                exe.as_bytes(),
                true,
            )
        }
        Node::PidEntry {
            tgid,
            tid,
            name: "cwd",
        } => Ok(need_task(*tgid, *tid)?.fs().cwd()),
        Node::PidEntry {
            tgid,
            tid,
            name: "root",
        } => Ok(need_task(*tgid, *tid)?.fs().root()),
        Node::Fd {
            tgid,
            tid,
            fd,
            info: false,
        } => {
            let t = need_task(*tgid, *tid)?;
            let f = t.files().get(*fd).map_err(|_| Errno::ENOENT)?;
            Ok(f.loc.clone())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Reads [start, end) of a process's memory (cmdline, environ), bounded.
fn read_range(t: &Task, start: u64, end: u64) -> Vec<u8> {
    if end <= start {
        return Vec::new();
    }
    let len = (end - start).min(MAX_ARGS) as usize;
    let mut buf = vec![0u8; len];
    match t.mm().read(start, &mut buf) {
        Ok(()) => buf,
        Err(_) => Vec::new(),
    }
}

/// State letter and name of a process.
fn state(g: &ThreadGroup, t: Option<&Task>, ctx: &Ctx) -> (char, &'static str) {
    let s = g.lock();
    if s.zombie.is_some() {
        return ('Z', "zombie");
    }
    if s.stopped {
        return ('T', "stopped");
    }
    drop(s);
    match t {
        Some(t) if t.tid == ctx.tid => ('R', "running"),
        _ => ('S', "sleeping"),
    }
}

/// CPU time of a task's host thread, in ns.
fn cpu_ns(t: &Task) -> u64 {
    let tid = t.host_tid.load(std::sync::atomic::Ordering::Relaxed);
    if tid <= 0 {
        return 0;
    }
    // A thread's CPU clock id: (~tid << 3) | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED.
    let clk = ((!tid) << 3) | 6;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer; a bad clock id just fails.
    if unsafe { libc::clock_gettime(clk, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Signal masks of a group's dispositions: (ignored, caught).
fn sig_disp(t: &Task) -> (u64, u64) {
    let sh = t.sighand();
    let acts = sh.actions.lock().unwrap();
    let (mut ign, mut cgt) = (0u64, 0u64);
    for (i, a) in acts.iter().enumerate() {
        match a.handler {
            0 => {}
            1 => ign |= 1 << i,
            _ => cgt |= 1 << i,
        }
    }
    (ign, cgt)
}

fn vm_sizes(t: &Task) -> (u64, u64, u64, u64, u64) {
    // (size, data, stack, exe, rss) in kB.
    let mm = t.mm();
    let rss = mm.rss_pages() * 4;
    let m = mm.lock();
    let (mut size, mut data, mut stack, mut exe) = (0u64, 0u64, 0u64, 0u64);
    for v in m.vmas.values() {
        let len = (v.end - v.start) / 1024;
        size += len;
        match &v.name {
            crate::mm::VmaName::Stack => stack += len,
            crate::mm::VmaName::File { .. } if v.prot & 4 != 0 => exe += len,
            _ if v.prot & 2 != 0 && !v.shared => data += len,
            _ => {}
        }
    }
    (size, data, stack, exe, rss)
}

fn comm_of(t: Option<&Task>) -> String {
    t.map(|t| String::from_utf8_lossy(&t.comm.lock().unwrap()).into_owned())
        .unwrap_or_default()
}

/// Generates the contents of a /proc/PID file.
pub(super) fn content(node: &Node, ctx: &Ctx) -> Result<Vec<u8>, Errno> {
    let (tgid, tid, name) = match node {
        Node::PidEntry { tgid, tid, name } => (*tgid, *tid, *name),
        Node::Fd {
            tgid,
            tid,
            fd,
            info: true,
        } => return fdinfo(*tgid, *tid, *fd),
        _ => return Err(Errno::EINVAL),
    };
    let g = group(tgid).ok_or(Errno::ENOENT)?;
    let t = task_of(tgid, tid);
    let tr = t.as_deref();
    let out = match name {
        "cmdline" => match tr {
            Some(t) => {
                let (s, e) = {
                    let mm = t.mm();
                    let m = mm.lock();
                    (m.arg_start, m.arg_end)
                };
                read_range(t, s, e)
            }
            None => Vec::new(),
        },
        "environ" => match tr {
            Some(t) => {
                let (s, e) = {
                    let mm = t.mm();
                    let m = mm.lock();
                    (m.env_start, m.env_end)
                };
                read_range(t, s, e)
            }
            None => Vec::new(),
        },
        "auxv" => tr.map(|t| t.mm().lock().auxv.clone()).unwrap_or_default(),
        "maps" => tr.map(|t| t.mm().maps_text().into_bytes()).unwrap_or_default(),
        "comm" => {
            let mut c = comm_of(tr).into_bytes();
            c.push(b'\n');
            c
        }
        "stat" => stat(&g, tr, tid, ctx).into_bytes(),
        "statm" => match tr {
            Some(t) => {
                let (size, data, stack, exe, rss) = vm_sizes(t);
                format!("{} {} 0 {} 0 {} 0\n", size / 4, rss / 4, exe / 4, (data + stack) / 4).into_bytes()
            }
            None => b"0 0 0 0 0 0 0\n".to_vec(),
        },
        "status" => status(&g, tr, tid, ctx).into_bytes(),
        "limits" => limits(&g).into_bytes(),
        "mounts" => mounts(tr, false).into_bytes(),
        "mountinfo" => mounts(tr, true).into_bytes(),
        "cgroup" => b"0::/\n".to_vec(),
        "oom_score" => b"0\n".to_vec(),
        "oom_score_adj" => format!("{}\n", oom_adj_of(tgid)).into_bytes(),
        "oom_adj" => {
            let a = oom_adj_of(tgid);
            let legacy = if a == -1000 { -17 } else { a * 17 / 1000 };
            format!("{}\n", legacy).into_bytes()
        }
        "smaps" => tr
            .map(|t| super::smaps::smaps(&t.mm()).into_bytes())
            .unwrap_or_default(),
        "smaps_rollup" => tr
            .map(|t| super::smaps::rollup(&t.mm()).into_bytes())
            .unwrap_or_default(),
        "sched" => sched(&g, tr, tid).into_bytes(),
        "loginuid" => b"4294967295".to_vec(),
        "sessionid" => b"4294967295".to_vec(),
        "wchan" => b"0".to_vec(),
        "io" => b"rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n".to_vec(),
        _ => return Err(Errno::EINVAL),
    };
    Ok(out)
}

/// /proc/PID/stat: Linux's 52 fields.
fn stat(g: &ThreadGroup, t: Option<&Task>, tid: Option<i32>, ctx: &Ctx) -> String {
    let (st, _) = state(g, t, ctx);
    let s = g.lock();
    let (ppid, pgrp, sid, nthreads, start, exit_signal) = (
        s.parent,
        s.pgid,
        s.sid,
        s.threads.len().max(1),
        s.start,
        s.exit_signal,
    );
    let (cutime, cstime) = (s.cutime, s.cstime);
    let exit_code = match s.zombie {
        Some(ExitStatus::Exited(c)) => (c & 0xff) << 8,
        Some(ExitStatus::Signaled(sig, _)) => sig as i32,
        None => 0,
    };
    drop(s);
    let pid = tid.unwrap_or(g.tgid);
    let comm = comm_of(t);
    let start_ticks = start
        .saturating_duration_since(crate::kernel().boot)
        .as_millis() as u64
        / (1000 / HZ);
    let utime = t.map(cpu_ns).unwrap_or(0) / (1_000_000_000 / HZ);
    let (mask, pending) = t
        .map(|t| {
            let s = t.sig.lock().unwrap();
            (s.mask, s.pending.set())
        })
        .unwrap_or((0, 0));
    let (ign, cgt) = t.map(sig_disp).unwrap_or((0, 0));
    let (vsize, rss, rsslim) = match t {
        Some(t) => {
            let (size, _, _, _, rss) = vm_sizes(t);
            (size * 1024, rss / 4, g.lock().rlimits[5].0)
        }
        None => (0, 0, u64::MAX),
    };
    let (startstack, arg_start, arg_end, env_start, env_end, brk_start) = match t {
        Some(t) => {
            let mm = t.mm();
            let m = mm.lock();
            (
                m.stack_start,
                m.arg_start,
                m.arg_end,
                m.env_start,
                m.env_end,
                m.brk_start,
            )
        }
        None => (0, 0, 0, 0, 0, 0),
    };
    let tpgid = pgrp;
    format!(
        "{pid} ({comm}) {st} {ppid} {pgrp} {sid} 0 {tpgid} 4194304 0 0 0 0 {utime} 0 {cu} {cs} 20 0 {nthreads} 0 {start_ticks} {vsize} {rss} {rsslim} 0 0 {startstack} 0 0 {pending} {mask} {ign} {cgt} 0 0 0 {exit_signal} 0 0 0 0 0 0 0 0 {brk_start} {arg_start} {arg_end} {env_start} {env_end} {exit_code}\n",
        cu = cutime / (1_000_000_000 / HZ),
        cs = cstime / (1_000_000_000 / HZ),
    )
}

fn status(g: &ThreadGroup, t: Option<&Task>, tid: Option<i32>, ctx: &Ctx) -> String {
    let (st, stname) = state(g, t, ctx);
    let s = g.lock();
    let c = s.creds.clone();
    let (ppid, pgid, sid, nthreads) = (s.parent, s.pgid, s.sid, s.threads.len());
    let shared = s.shared_pending.set();
    let nofile = s.rlimits[7].0;
    let sigq_max = s.rlimits[11].0;
    drop(s);
    let pid = tid.unwrap_or(g.tgid);
    let mut o = String::new();
    let _ = writeln!(o, "Name:\t{}", comm_of(t));
    let umask = t.map(|t| t.fs().umask()).unwrap_or(0o022);
    let _ = writeln!(o, "Umask:\t{:04o}", umask);
    let _ = writeln!(o, "State:\t{} ({})", st, stname);
    let _ = writeln!(o, "Tgid:\t{}", g.tgid);
    let _ = writeln!(o, "Ngid:\t0");
    let _ = writeln!(o, "Pid:\t{}", pid);
    let _ = writeln!(o, "PPid:\t{}", ppid);
    let _ = writeln!(o, "TracerPid:\t0");
    let _ = writeln!(o, "Uid:\t{}\t{}\t{}\t{}", c.uid, c.euid, c.suid, c.fsuid);
    let _ = writeln!(o, "Gid:\t{}\t{}\t{}\t{}", c.gid, c.egid, c.sgid, c.fsgid);
    let fdsize = t
        .map(|t| t.files().capacity().max(64).next_power_of_two())
        .unwrap_or(64);
    let _ = writeln!(o, "FDSize:\t{}", fdsize);
    let groups: Vec<String> = c.groups.iter().map(|g| g.to_string()).collect();
    let _ = writeln!(
        o,
        "Groups:\t{}",
        if groups.is_empty() {
            String::new()
        } else {
            groups.join(" ") + " "
        }
    );
    let _ = writeln!(o, "NStgid:\t{}", g.tgid);
    let _ = writeln!(o, "NSpid:\t{}", pid);
    let _ = writeln!(o, "NSpgid:\t{}", pgid);
    let _ = writeln!(o, "NSsid:\t{}", sid);
    if let Some(t) = t {
        let (size, data, stack, exe, rss) = vm_sizes(t);
        let _ = writeln!(o, "VmPeak:\t{:>8} kB", size);
        let _ = writeln!(o, "VmSize:\t{:>8} kB", size);
        let _ = writeln!(o, "VmLck:\t{:>8} kB", 0);
        let _ = writeln!(o, "VmPin:\t{:>8} kB", 0);
        let _ = writeln!(o, "VmHWM:\t{:>8} kB", rss);
        let _ = writeln!(o, "VmRSS:\t{:>8} kB", rss);
        let _ = writeln!(o, "RssAnon:\t{:>8} kB", rss);
        let _ = writeln!(o, "RssFile:\t{:>8} kB", 0);
        let _ = writeln!(o, "RssShmem:\t{:>8} kB", 0);
        let _ = writeln!(o, "VmData:\t{:>8} kB", data);
        let _ = writeln!(o, "VmStk:\t{:>8} kB", stack);
        let _ = writeln!(o, "VmExe:\t{:>8} kB", exe);
        let _ = writeln!(o, "VmLib:\t{:>8} kB", 0);
        let _ = writeln!(o, "VmPTE:\t{:>8} kB", 0);
        let _ = writeln!(o, "VmSwap:\t{:>8} kB", 0);
        let _ = writeln!(o, "HugetlbPages:\t{:>8} kB", 0);
    }
    let _ = writeln!(o, "CoreDumping:\t0");
    let _ = writeln!(o, "THP_enabled:\t1");
    let _ = writeln!(o, "Threads:\t{}", nthreads.max(1));
    let (mask, pending) = t
        .map(|t| {
            let s = t.sig.lock().unwrap();
            (s.mask, s.pending.set())
        })
        .unwrap_or((0, 0));
    let (ign, cgt) = t.map(sig_disp).unwrap_or((0, 0));
    let queued = (pending | shared).count_ones();
    let _ = writeln!(o, "SigQ:\t{}/{}", queued, sigq_max);
    let _ = writeln!(o, "SigPnd:\t{:016x}", pending);
    let _ = writeln!(o, "ShdPnd:\t{:016x}", shared);
    let _ = writeln!(o, "SigBlk:\t{:016x}", mask);
    let _ = writeln!(o, "SigIgn:\t{:016x}", ign);
    let _ = writeln!(o, "SigCgt:\t{:016x}", cgt);
    let _ = writeln!(o, "CapInh:\t{:016x}", c.cap_inheritable);
    let _ = writeln!(o, "CapPrm:\t{:016x}", c.cap_permitted);
    let _ = writeln!(o, "CapEff:\t{:016x}", c.cap_effective);
    let _ = writeln!(o, "CapBnd:\t{:016x}", c.cap_bounding);
    let _ = writeln!(o, "CapAmb:\t{:016x}", c.cap_ambient);
    let nnp = t
        .map(|t| t.no_new_privs.load(std::sync::atomic::Ordering::Relaxed))
        .unwrap_or(false);
    let _ = writeln!(o, "NoNewPrivs:\t{}", nnp as u32);
    let _ = writeln!(o, "Seccomp:\t0");
    let _ = writeln!(o, "Seccomp_filters:\t0");
    let _ = writeln!(o, "Speculation_Store_Bypass:\tthread vulnerable");
    let _ = writeln!(o, "SpeculationIndirectBranch:\tconditional enabled");
    let ncpu = super::sys::ncpus();
    let mask_hex = if ncpu >= 64 {
        "ffffffffffffffff".to_string()
    } else {
        format!("{:x}", (1u64 << ncpu) - 1)
    };
    let _ = writeln!(o, "Cpus_allowed:\t{}", mask_hex);
    let _ = writeln!(
        o,
        "Cpus_allowed_list:\t{}",
        if ncpu <= 1 {
            "0".to_string()
        } else {
            format!("0-{}", ncpu - 1)
        }
    );
    let _ = writeln!(o, "Mems_allowed:\t00000001");
    let _ = writeln!(o, "Mems_allowed_list:\t0");
    let _ = writeln!(o, "voluntary_ctxt_switches:\t0");
    let _ = writeln!(o, "nonvoluntary_ctxt_switches:\t0");
    let _ = nofile;
    o
}

fn limits(g: &ThreadGroup) -> String {
    const NAMES: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let r = g.lock().rlimits;
    let mut o = format!(
        "{:<25} {:<20} {:<20} {:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    for (i, (n, u)) in NAMES.iter().enumerate() {
        let f = |v: u64| {
            if v == u64::MAX {
                "unlimited".to_string()
            } else {
                v.to_string()
            }
        };
        let _ = writeln!(o, "{:<25} {:<20} {:<20} {:<10}", n, f(r[i].0), f(r[i].1), u);
    }
    o
}

/// /proc/PID/mounts and mountinfo, relative to the process's root.
pub(super) fn mounts(t: Option<&Task>, info: bool) -> String {
    let root = match t {
        Some(t) => t.fs().root(),
        None => dentry::root_loc(),
    };
    let top = dentry::root_loc();
    let mut o = String::new();
    for m in top.mnt.subtree() {
        let at = String::from_utf8_lossy(&Loc::root_of(&m).path_from(&root)).into_owned();
        let mut opts = String::from(if m.readonly() { "ro" } else { "rw" });
        if m.flags & dentry::MNT_NOSUID != 0 {
            opts.push_str(",nosuid");
        }
        if m.flags & dentry::MNT_NODEV != 0 {
            opts.push_str(",nodev");
        }
        if m.flags & dentry::MNT_NOEXEC != 0 {
            opts.push_str(",noexec");
        }
        opts.push_str(",relatime");
        let fstype = m.fs.name().to_string();
        let at = at.replace(' ', "\\040");
        if info {
            let parent = m.parent.as_ref().map(|(p, _)| p.id).unwrap_or(m.id);
            let dev = m.fs.dev();
            let _ = writeln!(
                o,
                "{} {} {}:{} / {} {} - {} {} {}",
                m.id,
                parent,
                crate::vfs::stat::major(dev),
                crate::vfs::stat::minor(dev),
                at,
                opts,
                fstype,
                m.source,
                if m.readonly() { "ro" } else { "rw" }
            );
        } else {
            let _ = writeln!(o, "{} {} {} {} 0 0", m.source, at, fstype, opts);
        }
    }
    o
}

fn fdinfo(tgid: i32, tid: Option<i32>, fd: i32) -> Result<Vec<u8>, Errno> {
    let t = need_task(tgid, tid)?;
    let (f, cloexec) = t.files().get_with_flags(fd).map_err(|_| Errno::ENOENT)?;
    let flags = f.flags()
        | if cloexec {
            crate::vfs::oflags::O_CLOEXEC
        } else {
            0
        };
    let st = f.stat().unwrap_or_default();
    let mnt = f.loc.mnt.id;
    let pos = if f.seekable() { f.pos() } else { 0 };
    let mut out = format!(
        "pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n",
        pos, flags, mnt, st.ino
    );
    out.push_str(&f.ops().fdinfo(&f));
    out.push_str(&crate::vfs::lock::fdinfo_lines(&f, t.files().id));
    Ok(out.into_bytes())
}

/// Writes to a /proc/PID file: comm renames the thread; the oom files accept values.
pub(super) fn write(node: &Node, t: &Task, data: &[u8]) -> Result<usize, Errno> {
    let Node::PidEntry { tgid, tid, name } = node else {
        return Err(Errno::EIO);
    };
    match *name {
        "comm" => {
            let target = need_task(*tgid, *tid)?;
            if target.tgid() != t.tgid() {
                return Err(Errno::EINVAL);
            }
            let mut v: Vec<u8> = data.iter().copied().take_while(|&b| b != 0).collect();
            if v.last() == Some(&b'\n') {
                v.pop();
            }
            v.truncate(15);
            *target.comm.lock().unwrap() = v;
            Ok(data.len())
        }
        "oom_score_adj" | "oom_adj" => {
            let v: i32 = std::str::from_utf8(data)
                .ok()
                .map(|s| s.trim())
                .and_then(|s| s.parse().ok())
                .ok_or(Errno::EINVAL)?;
            let adj = if *name == "oom_adj" {
                if !(-17..=15).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                if v == -17 {
                    -1000
                } else {
                    v * 1000 / 17
                }
            } else {
                if !(-1000..=1000).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                v
            };
            group(*tgid).ok_or(Errno::ESRCH)?;
            OOM_ADJ.lock().unwrap().insert(*tgid, adj);
            Ok(data.len())
        }
        "loginuid" => Ok(data.len()),
        _ => Err(Errno::EIO),
    }
}

/// oom_score_adj values written by processes (by tgid; 0 when never written).
static OOM_ADJ: std::sync::Mutex<std::collections::BTreeMap<i32, i32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Sets a process's oom_score_adj from outside (a container's process.oomScoreAdj).
pub fn set_oom_score_adj(tgid: i32, adj: i32) {
    OOM_ADJ.lock().unwrap().insert(tgid, adj.clamp(-1000, 1000));
}

fn oom_adj_of(tgid: i32) -> i32 {
    let mut m = OOM_ADJ.lock().unwrap();
    // Entries of processes that are gone are dropped now and then.
    if m.len() > 64 {
        m.retain(|&p, _| group(p).is_some());
    }
    // A process that never wrote one has its parent's (fork copies the value; a later
    // change in the parent is not undone here).
    let mut p = tgid;
    for _ in 0..64 {
        if let Some(v) = m.get(&p) {
            return *v;
        }
        match group(p) {
            Some(g) if g.lock().parent > 0 && g.lock().parent != p => p = g.lock().parent,
            _ => break,
        }
    }
    0
}

/// /proc/PID/sched: the scheduler's figures in Linux's layout (CPU time is real; the
/// fair-scheduler internals are nominal).
fn sched(g: &ThreadGroup, t: Option<&Task>, tid: Option<i32>) -> String {
    let pid = tid.unwrap_or(g.tgid);
    let nthreads = g.lock().threads.len().max(1);
    let run = t.map(cpu_ns).unwrap_or(0);
    let up = crate::kernel().boot.elapsed().as_nanos() as u64;
    let mut o = String::new();
    let _ = writeln!(o, "{} ({}, #threads: {})", comm_of(t), pid, nthreads);
    let _ = writeln!(o, "{}", "-".repeat(67));
    let ns = |o: &mut String, n: &str, v: u64| {
        let _ = writeln!(o, "{:<45}:{:>14}.{:06}", n, v / 1_000_000, v % 1_000_000);
    };
    let int = |o: &mut String, n: &str, v: i64| {
        let _ = writeln!(o, "{:<45}:{:>21}", n, v);
    };
    ns(&mut o, "se.exec_start", up);
    ns(&mut o, "se.vruntime", run);
    ns(&mut o, "se.sum_exec_runtime", run);
    int(&mut o, "se.nr_migrations", 0);
    int(&mut o, "nr_switches", 0);
    int(&mut o, "nr_voluntary_switches", 0);
    int(&mut o, "nr_involuntary_switches", 0);
    int(&mut o, "se.load.weight", 1048576);
    int(&mut o, "policy", 0);
    int(&mut o, "prio", 120);
    int(&mut o, "clock-delta", 40);
    o
}
