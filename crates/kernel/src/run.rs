//! The task run loop, task creation (clone/fork) and exit, and the sandbox's start.

use crate::signal::{self, Next, SigHand, SigQueue};
use crate::task::*;
use crate::vfs::{FdTable, FsContext};
use crate::wait::{WaitQueue, Waker};
use crate::{kernel, sigframe, syscalls, Options};
use abi::signal::*;
use abi::Errno;
use platform::{Context, Event};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Size of a signal frame with this CPU's xsave state (AT_MINSIGSTKSZ).
pub fn min_sigstack_size() -> u64 {
    static SIZE: AtomicU64 = AtomicU64::new(0);
    let s = SIZE.load(Ordering::Relaxed);
    if s != 0 {
        return s;
    }
    // CPUID leaf 0xd, ecx=0: ebx = xsave size for the enabled features.
    // SAFETY: cpuid is always available on x86-64.
    let x = std::arch::x86_64::__cpuid_count(0xd, 0).ebx as u64;
    let v = sigframe::FRAME_SIZE + x.max(512) + 4 + 64 + 128;
    SIZE.store(v, Ordering::Relaxed);
    v
}

/// Completion a vfork parent waits on.
pub struct VforkDone {
    pub done: AtomicBool,
    pub wq: WaitQueue,
}

static VFORKS: Mutex<Vec<(i32, Arc<VforkDone>)>> = Mutex::new(Vec::new());

/// Releases a vfork parent waiting on `t` (at exec or exit).
pub fn vfork_release(t: &Task) {
    let v = {
        let mut g = VFORKS.lock().unwrap();
        let i = g.iter().position(|(tid, _)| *tid == t.tid);
        i.map(|i| g.remove(i).1)
    };
    if let Some(v) = v {
        v.done.store(true, Ordering::Release);
        v.wq.notify_all();
    }
}

fn new_task(
    tid: i32,
    tg: Arc<ThreadGroup>,
    mm: Arc<crate::mm::MM>,
    files: Arc<FdTable>,
    fs: Arc<FsContext>,
    sighand: Arc<SigHand>,
    mask: u64,
) -> Arc<Task> {
    Arc::new(Task {
        tid,
        tg,
        mm: Mutex::new(mm),
        files: Mutex::new(files),
        fs: Mutex::new(fs),
        sighand: Mutex::new(sighand),
        sig: Mutex::new(TaskSig {
            mask,
            pending: SigQueue::default(),
            altstack: StackT {
                sp: 0,
                flags: SS_DISABLE,
                _pad: 0,
                size: 0,
            },
            saved_mask: None,
        }),
        waker: Waker::new(),
        interrupter: Mutex::new(None),
        clear_child_tid: AtomicU64::new(0),
        robust_list: AtomicU64::new(0),
        robust_len: AtomicU64::new(0),
        comm: Mutex::new(Vec::new()),
        pdeathsig: AtomicI32::new(0),
        exiting: AtomicBool::new(false),
        no_new_privs: AtomicBool::new(false),
        dumpable: AtomicI32::new(1),
        host_tid: AtomicI32::new(0),
        start: Instant::now(),
        stub_tid: AtomicI32::new(0),
        user_sp: AtomicU64::new(0),
    })
}

fn new_group(
    tgid: i32,
    parent: i32,
    pgid: i32,
    sid: i32,
    creds: Creds,
    rlimits: [(u64, u64); RLIMIT_NLIMITS],
    exit_signal: u32,
) -> Arc<ThreadGroup> {
    Arc::new(ThreadGroup {
        tgid,
        state: Mutex::new(TgState {
            parent,
            children: Vec::new(),
            threads: vec![tgid],
            pgid,
            sid,
            zombie: None,
            group_exit: None,
            last_exit: None,
            shared_pending: SigQueue::default(),
            stopped: false,
            child_event: None,
            rlimits,
            creds,
            subreaper: false,
            start: Instant::now(),
            cutime: 0,
            cstime: 0,
            dead_utime: 0,
            dead_stime: 0,
            did_exec: false,
            exit_signal,
            ctty: None,
        }),
        child_wait: WaitQueue::new(),
        stop_wait: WaitQueue::new(),
    })
}

fn spawn_thread(
    t: Arc<Task>,
    stub_tgid: i32,
    stub_tid: i32,
    regs: platform::Registers,
    then: Option<Box<dyn FnOnce(&Arc<Task>, &mut Context) -> bool + Send>>,
) -> Result<(), Errno> {
    let name = format!("task-{}", t.tid);
    std::thread::Builder::new()
        .name(name)
        .stack_size(2 << 20)
        .spawn(move || {
            block_host_signals();
            let mut ctx = match Context::attach(stub_tgid, stub_tid) {
                Ok(c) => c,
                Err(e) => {
                    crate::debug!("task {}: cannot attach stub {}: {}", t.tid, stub_tid, e);
                    exit_task(&t, None, ExitStatus::Signaled(SIGKILL, false));
                    return;
                }
            };
            // SAFETY: gettid has no arguments.
            t.host_tid
                .store(unsafe { libc::gettid() }, Ordering::Relaxed);
            t.stub_tid.store(stub_tid, Ordering::Relaxed);
            ctx.regs = regs;
            *t.interrupter.lock().unwrap() = Some(ctx.interrupter());
            if let Some(f) = then {
                if !f(&t, &mut ctx) {
                    exit_task(&t, Some(ctx), ExitStatus::Exited(0));
                    return;
                }
            }
            run_task(&t, ctx);
        })
        .map_err(|_| Errno::EAGAIN)?;
    Ok(())
}

fn block_host_signals() {
    // SAFETY: plain signal mask manipulation of the calling thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::sigdelset(&mut set, libc::SIGSEGV);
        libc::sigdelset(&mut set, libc::SIGBUS);
        libc::sigdelset(&mut set, libc::SIGILL);
        libc::sigdelset(&mut set, libc::SIGFPE);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// What a syscall handler that needs the context wants done.
pub enum Flow {
    /// Return this to the application.
    Ret(SysResult),
    /// Registers were set by the handler (sigreturn, exec): return nothing.
    Regs,
    /// The task exits.
    Exit(ExitStatus),
    /// The whole thread group exits.
    ExitGroup(ExitStatus),
}

/// The run loop of one task on its own host thread.
pub fn run_task(t: &Arc<Task>, mut ctx: Context) {
    crate::task::set_current(t);
    let strace = kernel().opts.strace;
    loop {
        // Signals, stops and exits happen here, between application runs.
        match handle_pending(t, &mut ctx) {
            Some(st) => {
                exit_task(t, Some(ctx), st);
                return;
            }
            None => {}
        }
        crate::sandbox::freeze_point();
        t.mm().flush(&mut ctx);
        let ev = match ctx.switch() {
            Ok(e) => e,
            Err(e) => {
                crate::debug!("task {}: switch failed: {}", t.tid, e);
                exit_task(t, Some(ctx), ExitStatus::Signaled(SIGKILL, false));
                return;
            }
        };
        match ev {
            Event::Syscall => {
                let r = ctx.regs;
                let nr = r.orig_rax;
                let a = [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9];
                t.user_sp.store(r.rsp, Ordering::Relaxed);
                let pre = if strace {
                    Some(crate::strace::format_call(t, nr, &a))
                } else {
                    None
                };
                let flow = syscalls::dispatch(t, &mut ctx, nr, &a);
                if let Some(pre) = pre {
                    let res = match &flow {
                        Flow::Ret(r) => crate::strace::format_result(nr, r),
                        Flow::Regs => "= ?".to_string(),
                        Flow::Exit(_) | Flow::ExitGroup(_) => "= ?".to_string(),
                    };
                    eprintln!("[pid {:>5}] {} {}", t.tid, pre, res);
                }
                match flow {
                    Flow::Ret(Ok(v)) => ctx.regs.rax = v,
                    Flow::Ret(Err(e)) => ctx.regs.rax = (-(e.0 as i64)) as u64,
                    Flow::Regs => {}
                    Flow::Exit(st) => {
                        exit_task(t, Some(ctx), st);
                        return;
                    }
                    Flow::ExitGroup(st) => {
                        group_exit(t, st);
                        exit_task(t, Some(ctx), st);
                        return;
                    }
                }
            }
            Event::Fault(f) => {
                let sig = f.signo as u32;
                if sig == SIGSEGV {
                    let accerr = f.code == SEGV_ACCERR;
                    // si_code SI_KERNEL: a general protection fault, not a page fault.
                    if f.code == SI_KERNEL {
                        signal::force_fault(t, SIGSEGV, SI_KERNEL, 0);
                        continue;
                    }
                    match t.mm().fault(&mut ctx, f.addr, accerr) {
                        crate::mm::FaultResult::Handled => {}
                        crate::mm::FaultResult::Segv(code) => {
                            crate::debug!(
                                "task {}: SIGSEGV code {} addr {:#x} rip {:#x}",
                                t.tid,
                                code,
                                f.addr,
                                ctx.regs.rip
                            );
                            signal::force_fault(t, SIGSEGV, code, f.addr)
                        }
                        crate::mm::FaultResult::Bus => {
                            signal::force_fault(t, SIGBUS, BUS_ADRERR, f.addr)
                        }
                    }
                } else {
                    crate::debug!(
                        "task {}: signal {} code {} addr {:#x} rip {:#x}",
                        t.tid,
                        sig,
                        f.code,
                        f.addr,
                        ctx.regs.rip
                    );
                    signal::force_fault(t, sig, f.code, f.addr);
                }
            }
            Event::Interrupted => {}
            Event::Exited(_) => {
                exit_task(t, None, ExitStatus::Signaled(SIGKILL, false));
                return;
            }
        }
    }
}

/// Syscall restart after a signal, per Linux's rules. `handler`: a handler will run, with
/// its SA_RESTART flag.
fn fix_restart(tid: i32, ctx: &mut Context, handler: Option<bool>) {
    let rax = ctx.regs.rax as i64;
    if ctx.regs.orig_rax == u64::MAX {
        return;
    }
    let e = -rax;
    let restart = |ctx: &mut Context, nr: u64| {
        ctx.regs.rax = nr;
        ctx.regs.rip -= 2;
    };
    match (e as i32, handler) {
        (514, None) | (512, None) | (513, _) => {
            let nr = ctx.regs.orig_rax;
            restart(ctx, nr)
        }
        (516, None) => restart(ctx, abi::sysno::RESTART_SYSCALL),
        (512, Some(true)) => {
            let nr = ctx.regs.orig_rax;
            restart(ctx, nr)
        }
        (512, Some(false)) | (514, Some(_)) | (516, Some(_)) => {
            if e == 516 {
                crate::syscalls::time::clear_restart(tid);
            }
            ctx.regs.rax = (-(Errno::EINTR.0 as i64)) as u64
        }
        _ => {}
    }
}

/// Delivers pending signals; returns Some(status) when the task must exit.
fn handle_pending(t: &Arc<Task>, ctx: &mut Context) -> Option<ExitStatus> {
    loop {
        if t.exiting.load(Ordering::Acquire) {
            return Some(
                t.tg.lock()
                    .group_exit
                    .unwrap_or(ExitStatus::Signaled(SIGKILL, false)),
            );
        }
        // Job-control stop: wait for SIGCONT or SIGKILL.
        if t.tg.lock().stopped {
            let tg = t.tg.clone();
            let _ = t.wait_until(&[&tg.stop_wait], None, None, || {
                let s = tg.lock();
                Ok(if !s.stopped || s.group_exit.is_some() {
                    Some(())
                } else {
                    None
                })
            });
            continue;
        }
        match signal::dequeue(t) {
            Next::None => {
                fix_restart(t.tid, ctx, None);
                let mut s = t.sig.lock().unwrap();
                if let Some(m) = s.saved_mask.take() {
                    s.mask = m;
                }
                return None;
            }
            Next::Die(st) => {
                crate::debug!("task {}: dies: {:?}", t.tid, st);
                group_exit(t, st);
                return Some(st);
            }
            Next::Stopped => continue,
            Next::Handler(d) => {
                fix_restart(t.tid, ctx, Some(d.action.flags & SA_RESTART != 0));
                let sig = d.info.signo as u32;
                let old_mask = {
                    let mut s = t.sig.lock().unwrap();
                    let old = s.saved_mask.take().unwrap_or(s.mask);
                    let mut m = s.mask | d.action.mask;
                    if d.action.flags & SA_NODEFER == 0 {
                        m |= sigbit(sig);
                    }
                    s.mask = m & !UNBLOCKABLE;
                    old
                };
                if d.action.flags & SA_RESETHAND != 0 {
                    let sh = t.sighand();
                    sh.actions.lock().unwrap()[(sig - 1) as usize] = KSigaction::default();
                }
                if sigframe::setup(t, ctx, &d, old_mask).is_err() {
                    // Could not write the frame: force SIGSEGV with default action.
                    if sig == SIGSEGV {
                        let st = ExitStatus::Signaled(SIGSEGV, true);
                        group_exit(t, st);
                        return Some(st);
                    }
                    signal::force_fault(t, SIGSEGV, SI_KERNEL, 0);
                    let sh = t.sighand();
                    sh.actions.lock().unwrap()[(SIGSEGV - 1) as usize] = KSigaction::default();
                    continue;
                }
                // Further deliverable signals get frames on top of this one, as in Linux
                // (the last frame set up runs first).
                continue;
            }
        }
    }
}

/// Starts a group exit: every other thread of the group exits with `st`.
pub fn group_exit(t: &Task, st: ExitStatus) {
    let threads = {
        let mut s = t.tg.lock();
        if s.group_exit.is_none() {
            s.group_exit = Some(st);
        }
        s.stopped = false;
        drop(s);
        kernel().procs.lock().unwrap().threads_of(&t.tg)
    };
    t.tg.stop_wait.notify_all();
    for th in threads {
        if th.tid != t.tid {
            th.exiting.store(true, Ordering::Release);
            th.kick();
        }
    }
}

/// At exec: every other thread of the group exits silently; returns when they are gone.
pub fn kill_other_threads(t: &Task) {
    let others: Vec<Arc<Task>> = kernel()
        .procs
        .lock()
        .unwrap()
        .threads_of(&t.tg)
        .into_iter()
        .filter(|x| x.tid != t.tid)
        .collect();
    if others.is_empty() {
        return;
    }
    for o in &others {
        o.exiting.store(true, Ordering::Release);
        o.kick();
    }
    let tg = t.tg.clone();
    let me = t.tid;
    loop {
        let n = tg.lock().threads.iter().filter(|&&x| x != me).count();
        if n == 0 {
            break;
        }
        let _ = t.wait_until(
            &[&tg.child_wait],
            None,
            Some(Instant::now() + std::time::Duration::from_millis(10)),
            || Ok(None::<()>),
        );
    }
}

/// Ends a task: releases its stub thread, wakes CLONE_CHILD_CLEARTID waiters, and when it
/// is the last thread, turns the process into a zombie and tells the parent.
pub fn exit_task(t: &Arc<Task>, ctx: Option<Context>, st: ExitStatus) {
    t.exiting.store(true, Ordering::Release);
    crate::syscalls::process::exit_robust_and_cleartid(t);
    crate::syscalls::time::clear_restart(t.tid);
    vfork_release(t);
    *t.interrupter.lock().unwrap() = None;
    if t.tg.lock().threads.len() <= 1 {
        // The last thread: record the process's CPU time while its stub still exists.
        let (u, s) = crate::syscalls::time::group_cpu_ns(&t.tg);
        let mut g = t.tg.lock();
        g.dead_utime = u;
        g.dead_stime = s;
        drop(g);
        // A session leader lets its terminal go, then its files close (Linux's order:
        // a pty master it holds hangs up a terminal no session has any more).
        crate::tty::jobctl::on_group_exit(&t.tg);
        *t.files.lock().unwrap() = Arc::new(FdTable::new());
    }
    let mm = t.mm();
    if let Some(mut c) = ctx {
        // Other users of the address space (threads, a vfork parent) keep the stub process.
        if Arc::strong_count(&mm) > 2 {
            c.exit_thread();
        } else {
            c.kill_process();
        }
    }
    let k = kernel();
    let mut procs = k.procs.lock().unwrap();
    procs.tasks.remove(&t.tid);
    let last = {
        let mut s = t.tg.lock();
        s.threads.retain(|&x| x != t.tid);
        if s.group_exit.is_none() {
            s.last_exit = Some(st);
        }
        s.threads.is_empty()
    };
    // Wake an exec waiting for this thread to go.
    t.tg.child_wait.notify_all();
    if !last {
        return;
    }
    let status = {
        let s = t.tg.lock();
        s.group_exit.or(s.last_exit).unwrap_or(st)
    };
    // Drop the address space and files now (closing pipes wakes readers).
    *t.files.lock().unwrap() = Arc::new(FdTable::new());
    crate::timers_hook(t.tgid());
    let tgid = t.tgid();
    // Reparent children to init (or the nearest subreaper).
    let children = std::mem::take(&mut t.tg.lock().children);
    let parent_id = t.tg.lock().parent;
    let reaper = find_reaper(&procs, parent_id);
    for c in &children {
        if let Some(cg) = procs.group(*c) {
            cg.lock().parent = reaper;
            // pdeathsig of the child's threads.
            for th in procs.threads_of(&cg) {
                let pd = th.pdeathsig.load(Ordering::Relaxed);
                if pd > 0 {
                    let mut info = SigInfo::new(pd as u32, SI_USER);
                    info.set_pid_uid(tgid, 0);
                    let th2 = th.clone();
                    std::thread::spawn(move || signal::send_to_task(&th2, info));
                }
            }
        }
        if let Some(rg) = procs.group(reaper) {
            rg.lock().children.push(*c);
        }
    }
    if let Some(rg) = procs.group(reaper) {
        rg.child_wait.notify_all();
    }
    if tgid == 1 {
        // The sandbox's init is gone: everything else dies, and the sandbox ends.
        t.tg.lock().zombie = Some(status);
        let others: Vec<Arc<ThreadGroup>> = procs
            .groups
            .values()
            .filter(|g| g.tgid != 1)
            .cloned()
            .collect();
        drop(procs);
        for g in others {
            signal::send_to_group(&g, SigInfo::new(SIGKILL, SI_KERNEL));
        }
        *k.init_exit.lock().unwrap() = Some(status);
        k.init_exit_cv.notify_all();
        crate::sandbox::wake_exit_waiters();
        return;
    }
    if parent_id == 0 {
        // Spawned from outside (an exec): no one inside reaps it; its manager gets the status.
        t.tg.lock().zombie = Some(status);
        procs.groups.remove(&tgid);
        drop(procs);
        crate::ipc::on_exit(t);
        crate::sandbox::note_parentless_exit(tgid, status);
        return;
    }
    let parent = procs.group(parent_id);
    let exit_signal = t.tg.lock().exit_signal;
    let mut autoreap = false;
    if let Some(p) = &parent {
        let pth = procs.threads_of(p);
        if let Some(pt) = pth.first() {
            let act = pt.sighand().get(SIGCHLD);
            if exit_signal == SIGCHLD && (act.handler == SIG_IGN || act.flags & SA_NOCLDWAIT != 0) {
                autoreap = true;
            }
        }
    }
    drop(procs);
    // SEM_UNDO, shm detach and mq notifications go before the parent can see the exit.
    crate::ipc::on_exit(t);
    // The parent's signal is queued before the zombie becomes visible to wait, so a wait
    // that returns the child always finds its SIGCHLD pending (Linux's do_notify_parent).
    if let Some(p) = &parent {
        if exit_signal != 0 && !autoreap {
            let (code, val) = match status {
                ExitStatus::Exited(c) => (CLD_EXITED, c as u64),
                ExitStatus::Signaled(s, true) => (CLD_DUMPED, s as u64),
                ExitStatus::Signaled(s, false) => (CLD_KILLED, s as u64),
            };
            let mut info = SigInfo::new(exit_signal, code);
            info.set_pid_uid(tgid, 0);
            info.fields[1] = val;
            signal::send_to_group(p, info);
        }
    }
    let mut procs = k.procs.lock().unwrap();
    t.tg.lock().zombie = Some(status);
    if autoreap {
        procs.groups.remove(&tgid);
        if let Some(p) = &parent {
            p.lock().children.retain(|&c| c != tgid);
        }
    }
    drop(procs);
    if let Some(p) = parent {
        p.child_wait.notify_all();
    }
}

fn find_reaper(procs: &Procs, mut pid: i32) -> i32 {
    while pid > 1 {
        let Some(g) = procs.group(pid) else { break };
        let s = g.lock();
        if s.subreaper && s.zombie.is_none() {
            return pid;
        }
        pid = s.parent;
    }
    1
}

/// clone/fork/vfork. Returns the child's tid to the parent.
pub fn do_clone(
    t: &Arc<Task>,
    ctx: &mut Context,
    flags: u64,
    stack: u64,
    ptid: u64,
    ctid: u64,
    tls: u64,
    exit_signal: u32,
    pidfd_at: u64,
) -> SysResult {
    const CLONE_VM: u64 = 0x100;
    const CLONE_FS: u64 = 0x200;
    const CLONE_FILES: u64 = 0x400;
    const CLONE_SIGHAND: u64 = 0x800;
    const CLONE_PIDFD: u64 = 0x1000;
    const CLONE_PTRACE: u64 = 0x2000;
    const CLONE_VFORK: u64 = 0x4000;
    const CLONE_PARENT: u64 = 0x8000;
    const CLONE_THREAD: u64 = 0x10000;
    const CLONE_NEWNS: u64 = 0x20000;
    const CLONE_SYSVSEM: u64 = 0x40000;
    const CLONE_SETTLS: u64 = 0x80000;
    const CLONE_PARENT_SETTID: u64 = 0x100000;
    const CLONE_CHILD_CLEARTID: u64 = 0x200000;
    const CLONE_DETACHED: u64 = 0x400000;
    const CLONE_UNTRACED: u64 = 0x800000;
    const CLONE_CHILD_SETTID: u64 = 0x1000000;
    const CLONE_NEWCGROUP: u64 = 0x0200_0000;
    const CLONE_NEWUTS: u64 = 0x0400_0000;
    const CLONE_NEWIPC: u64 = 0x0800_0000;
    const CLONE_NEWUSER: u64 = 0x1000_0000;
    const CLONE_NEWPID: u64 = 0x2000_0000;
    const CLONE_NEWNET: u64 = 0x4000_0000;
    const CLONE_IO: u64 = 0x8000_0000;
    let known = CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_PIDFD
        | CLONE_PTRACE
        | CLONE_VFORK
        | CLONE_PARENT
        | CLONE_THREAD
        | CLONE_NEWNS
        | CLONE_SYSVSEM
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID
        | CLONE_DETACHED
        | CLONE_UNTRACED
        | CLONE_CHILD_SETTID
        | CLONE_NEWCGROUP
        | CLONE_NEWUTS
        | CLONE_NEWIPC
        | CLONE_NEWUSER
        | CLONE_NEWPID
        | CLONE_NEWNET
        | CLONE_IO;
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0 {
        return Err(Errno::EINVAL);
    }
    if flags
        & (CLONE_NEWNS
            | CLONE_NEWUTS
            | CLONE_NEWIPC
            | CLONE_NEWUSER
            | CLONE_NEWPID
            | CLONE_NEWNET
            | CLONE_NEWCGROUP)
        != 0
    {
        // Namespaces inside the sandbox are not supported yet.
        return Err(Errno::EPERM);
    }
    // (An exit signal above 64 is accepted, as Linux's clone does; it is simply never sent.)
    if flags & CLONE_PIDFD != 0 {
        if flags & CLONE_DETACHED != 0 {
            return Err(Errno::EINVAL);
        }
        // The fd is written before the child exists: a bad pointer fails the clone.
        t.write_val(pidfd_at, &-1i32)?;
    }
    // The sandbox's init may not create siblings (they would have no reaper).
    if flags & CLONE_PARENT != 0 && t.tgid() == 1 {
        return Err(Errno::EINVAL);
    }
    let k = kernel();
    // Address space and stub.
    let parent_mm = t.mm();
    let (mm, stub_tgid, stub_tid) = if flags & CLONE_VM != 0 {
        let tid = ctx.clone_thread().map_err(|_| Errno::EAGAIN)?;
        (parent_mm.clone(), ctx.tgid(), tid)
    } else {
        let stub = k.factory.new_stub().map_err(|_| Errno::EAGAIN)?;
        let child = parent_mm.fork(stub);
        (Arc::new(child), stub, stub)
    };
    // Apply the parent's write-protection now, before the parent runs again.
    parent_mm.flush(ctx);
    let files = if flags & CLONE_FILES != 0 {
        t.files()
    } else {
        Arc::new(t.files().fork_copy())
    };
    let fs = if flags & CLONE_FS != 0 {
        t.fs()
    } else {
        Arc::new(t.fs().fork_copy())
    };
    let sighand = if flags & CLONE_SIGHAND != 0 {
        t.sighand()
    } else {
        t.sighand().copy()
    };
    let mask = t.sig.lock().unwrap().mask;
    let mut procs = k.procs.lock().unwrap();
    let nthreads = procs.tasks.len() as u64;
    let nproc_limit = t.tg.lock().rlimits[6].0;
    if nthreads >= nproc_limit.max(64) && nthreads >= 32768 {
        drop(procs);
        return Err(Errno::EAGAIN);
    }
    let tid = procs.alloc_pid()?;
    let tg = if flags & CLONE_THREAD != 0 {
        let mut s = t.tg.lock();
        if s.group_exit.is_some() {
            return Err(Errno::EINTR);
        }
        s.threads.push(tid);
        drop(s);
        t.tg.clone()
    } else {
        let s = t.tg.lock();
        let parent = if flags & CLONE_PARENT != 0 {
            s.parent
        } else {
            t.tgid()
        };
        let exit_signal = if flags & CLONE_PARENT != 0 {
            s.exit_signal
        } else {
            exit_signal
        };
        let g = new_group(
            tid,
            parent,
            s.pgid,
            s.sid,
            s.creds.clone(),
            s.rlimits,
            exit_signal,
        );
        g.lock().ctty = s.ctty.clone();
        drop(s);
        if let Some(pg) = procs.group(parent) {
            pg.lock().children.push(tid);
        }
        procs.groups.insert(tid, g.clone());
        g
    };
    let child = new_task(tid, tg, mm.clone(), files, fs, sighand, mask);
    *child.comm.lock().unwrap() = t.comm.lock().unwrap().clone();
    procs.tasks.insert(tid, child.clone());
    drop(procs);
    let mut regs = ctx.regs;
    regs.rax = 0;
    if stack != 0 {
        regs.rsp = stack;
    }
    if flags & CLONE_SETTLS != 0 {
        regs.fs_base = tls;
    }
    regs.orig_rax = u64::MAX;
    if flags & CLONE_PARENT_SETTID != 0 {
        let _ = t.write_val(ptid, &(tid as u32));
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        let _ = mm.write(ctid, &(tid as u32).to_le_bytes());
    }
    if flags & CLONE_CHILD_CLEARTID != 0 {
        child.clear_child_tid.store(ctid, Ordering::Relaxed);
    }
    let vfork = if flags & CLONE_VFORK != 0 {
        let v = Arc::new(VforkDone {
            done: AtomicBool::new(false),
            wq: WaitQueue::new(),
        });
        VFORKS.lock().unwrap().push((tid, v.clone()));
        Some(v)
    } else {
        None
    };
    if flags & CLONE_PIDFD != 0 {
        let thread = (flags & CLONE_THREAD != 0).then_some(&child);
        let pf_flags = if thread.is_some() {
            crate::fs::pidfd::PIDFD_THREAD
        } else {
            0
        };
        let f = crate::fs::pidfd::new_file(&child.tg, thread, pf_flags);
        let lim = crate::syscalls::file::nofile(t);
        let r = t
            .files()
            .install_from(f, true, 0, lim)
            .and_then(|fd| t.write_val(pidfd_at, &fd));
        if let Err(e) = r {
            exit_task(&child, None, ExitStatus::Signaled(SIGKILL, false));
            return Err(e);
        }
    }
    crate::syscalls::time::on_clone(t, &child);
    if flags & CLONE_THREAD == 0 {
        crate::syscalls::identity::on_fork(&t.tg, &child.tg);
    }
    if let Err(e) = spawn_thread(child.clone(), stub_tgid, stub_tid, regs, None) {
        exit_task(&child, None, ExitStatus::Signaled(SIGKILL, false));
        return Err(e);
    }
    if let Some(v) = vfork {
        // The parent sleeps until the child execs or exits (only SIGKILL ends the wait early).
        loop {
            let r = t.wait_until(&[&v.wq], None, None, || {
                Ok(if v.done.load(Ordering::Acquire) {
                    Some(())
                } else {
                    None
                })
            });
            match r {
                Ok(()) => break,
                Err(_) if t.exiting.load(Ordering::Acquire) || t.tg.lock().group_exit.is_some() => {
                    break
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
    }
    Ok(tid as u64)
}

/// Starts the sandbox for `moat do`: runs `argv` with `envp` in `cwd`; returns the exit status.
pub fn run_do(
    opts: Options,
    path: &[u8],
    argv: Vec<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    cwd: &str,
) -> Result<ExitStatus, String> {
    crate::sandbox::start_kernel(opts, None)?;
    crate::vfs::setup_root(cwd, &crate::kernel().opts.root)?;
    // Everything from the host is open: the empty root and the allowlist from here on.
    crate::confine::lockdown()?;
    forward_host_signals();
    let spec = crate::sandbox::ProcessSpec {
        path: path.to_vec(),
        argv,
        env: envp,
        cwd: cwd.to_string(),
        creds: Creds::root(),
        umask: 0o022,
        rlimits: Vec::new(),
        no_new_privs: false,
        stdio: [0, 1, 2],
        init: true,
        oom_score_adj: None,
    };
    let (go_tx, go_rx) = std::sync::mpsc::channel::<bool>();
    let (tx, rx) = std::sync::mpsc::channel::<Result<(), Errno>>();
    let _ = go_tx.send(true);
    spawn_process_task(spec, path.to_vec(), go_rx, tx).map_err(|e| format!("spawn: {e}"))?;
    match rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("exec:{}", e.0)),
        Err(_) => return Err("exec: init died".into()),
    }
    let status = crate::sandbox::wait_init();
    // Mappings still alive when the sandbox ends write their pages back.
    crate::fs::pagecache::sync_all();
    Ok(status)
}

/// Creates a process from outside the sandbox: pid 1 (`spec.init`) or a parentless
/// process in a session of its own. Its first thread waits on `go`, then execs `path`
/// and reports the outcome on `done`; an exec failure ends the process.
pub(crate) fn spawn_process_task(
    spec: crate::sandbox::ProcessSpec,
    path: Vec<u8>,
    go: std::sync::mpsc::Receiver<bool>,
    done: std::sync::mpsc::Sender<Result<(), Errno>>,
) -> Result<i32, Errno> {
    let k = kernel();
    let files = Arc::new(FdTable::new());
    for (fd, &host) in spec.stdio.iter().enumerate() {
        // SAFETY: fcntl probe of our own fd.
        if host >= 0 && unsafe { libc::fcntl(host, libc::F_GETFD) } >= 0 {
            if spec.init && host == fd as i32 {
                crate::fs::hostfd::note_ctty(host);
            }
            files.install_at(fd as i32, crate::vfs::host_fd_file(host), false);
        }
    }
    let fs = Arc::new(FsContext::initial(&spec.cwd));
    fs.set_umask(spec.umask & 0o777);
    let stub = k.factory.new_stub().map_err(|_| Errno::EAGAIN)?;
    let mm = Arc::new(crate::mm::MM::new(stub));
    let tid = {
        let mut p = k.procs.lock().unwrap();
        if spec.init {
            if p.groups.contains_key(&1) {
                return Err(Errno::EEXIST);
            }
            // The first pid allocated is 1.
        }
        p.alloc_pid()?
    };
    if spec.init && tid != 1 {
        return Err(Errno::EEXIST);
    }
    let rl = crate::sandbox::rlimits_of(&spec);
    if let Some(adj) = spec.oom_score_adj {
        crate::fs::procfs::pid::set_oom_score_adj(tid, adj);
    }
    let tg = new_group(tid, 0, tid, tid, spec.creds.clone(), rl, SIGCHLD);
    crate::tty::console::attach_first(&tg, &spec.stdio);
    let t = new_task(tid, tg.clone(), mm, files, fs, SigHand::new(), 0);
    t.no_new_privs.store(spec.no_new_privs, Ordering::Relaxed);
    {
        let mut p = k.procs.lock().unwrap();
        p.groups.insert(tid, tg);
        p.tasks.insert(tid, t.clone());
    }
    let argv = spec.argv;
    let env = spec.env;
    let first = Box::new(move |t: &Arc<Task>, ctx: &mut Context| {
        if !go.recv().unwrap_or(false) {
            let _ = done.send(Err(Errno::ESRCH));
            return false;
        }
        match crate::exec::execve(t, ctx, &path, argv, env) {
            Ok(()) => {
                let _ = done.send(Ok(()));
                true
            }
            Err(e) => {
                let _ = done.send(Err(e));
                false
            }
        }
    });
    // SAFETY: Registers is plain data; exec replaces them.
    let mut r: platform::Registers = unsafe { std::mem::zeroed() };
    r.orig_rax = u64::MAX;
    spawn_thread(t, stub, stub, r, Some(first))?;
    Ok(tid)
}

/// Host SIGINT/SIGTERM/SIGHUP/SIGQUIT sent to moat go to the sandbox's init process; the
/// console's ^C/^\/^Z and window changes go to its foreground group (`tty::console`).
fn forwarded_set() -> libc::sigset_t {
    // SAFETY: building a signal set in a local.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGTSTP,
            libc::SIGCONT,
            libc::SIGWINCH,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGCHLD,
            libc::SIGPIPE,
        ] {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

pub(crate) fn block_forwarded_signals() {
    let set = forwarded_set();
    // SAFETY: blocking signals in the calling thread; later threads inherit the mask.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
}

pub fn forward_host_signals() {
    // SAFETY: sigwaitinfo on a set blocked in every thread.
    unsafe {
        let set2 = forwarded_set();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || loop {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                let s = libc::sigwaitinfo(&set2, &mut info);
                if s <= 0 || s == libc::SIGCHLD || s == libc::SIGPIPE {
                    continue;
                }
                if crate::tty::console::forward(s, info.si_code) || s == libc::SIGCONT {
                    continue;
                }
                let g = kernel().procs.lock().unwrap().group(1);
                if let Some(g) = g {
                    let mut i = SigInfo::new(s as u32, SI_USER);
                    i.set_pid_uid(0, 0);
                    signal::send_to_group(&g, i);
                }
            })
            .ok();
    }
}
