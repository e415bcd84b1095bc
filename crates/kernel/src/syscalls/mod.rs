//! The system call table: a dispatcher over one module per syscall family. Each family's
//! `dispatch` returns None for numbers that are not its own.

pub mod event;
pub mod file;
pub mod futex;
pub mod identity;
pub mod inotify;
pub mod ipc;
pub mod memfd;
pub mod misc;
pub mod mm;
pub mod poll;
pub mod process;
pub mod signal;
pub mod socket;
pub mod splice;
pub mod time;
pub mod timer;
pub mod tty;
pub mod xattr;

use crate::run::{do_clone, Flow};
use crate::task::{ExitStatus, Task};
use abi::sysno as nr;
use abi::Errno;
use platform::Context;
use std::sync::{Arc, Mutex};

static UNKNOWN_SEEN: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// Test hook: MOAT_TEST_PANIC_ON_SYSCALL=N in moat's own environment (never the
/// application's) makes the kernel panic on syscall N, to test how a panic ends the sandbox.
fn panic_hook_nr() -> Option<u64> {
    static NR: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *NR.get_or_init(|| {
        std::env::var("MOAT_TEST_PANIC_ON_SYSCALL")
            .ok()
            .and_then(|v| v.parse().ok())
    })
}

/// Handles syscall `n` for task `t`.
pub fn dispatch(t: &Arc<Task>, ctx: &mut Context, n: u64, a: &[u64; 6]) -> Flow {
    if panic_hook_nr() == Some(n) {
        panic!("test hook: syscall {n}");
    }
    crate::confine::test_hook(n);
    if let Some(f) = dispatch_ctx(t, ctx, n, a) {
        return f;
    }
    let r = mm::dispatch(t, n, a)
        .or_else(|| process::dispatch(t, n, a))
        .or_else(|| signal::dispatch(t, n, a))
        .or_else(|| file::dispatch(t, n, a))
        .or_else(|| poll::dispatch(t, n, a))
        .or_else(|| socket::dispatch(t, n, a))
        .or_else(|| event::dispatch(t, n, a))
        .or_else(|| timer::dispatch(t, n, a))
        .or_else(|| futex::dispatch(t, n, a))
        .or_else(|| time::dispatch(t, n, a))
        .or_else(|| identity::dispatch(t, n, a))
        .or_else(|| memfd::dispatch(t, n, a))
        .or_else(|| splice::dispatch(t, n, a))
        .or_else(|| inotify::dispatch(t, n, a))
        .or_else(|| xattr::dispatch(t, n, a))
        .or_else(|| ipc::dispatch(t, n, a))
        .or_else(|| tty::dispatch(t, n, a))
        .or_else(|| misc::dispatch(t, n, a));
    match r {
        Some(r) => Flow::Ret(r),
        None => {
            let mut seen = UNKNOWN_SEEN.lock().unwrap();
            if !seen.contains(&n) {
                seen.push(n);
                let name = abi::sysno::name(n).unwrap_or("?");
                crate::debug!("unimplemented syscall {} ({})", name, n);
                // The debug log has it already; stderr only when asked for explicitly.
                if std::env::var_os("MOAT_WARN_ENOSYS").is_some() {
                    eprintln!("moat: unimplemented syscall {name} ({n})");
                }
            }
            Flow::Ret(Err(Errno::ENOSYS))
        }
    }
}

/// Calls that need the task's execution context (registers, stub).
fn dispatch_ctx(t: &Arc<Task>, ctx: &mut Context, n: u64, a: &[u64; 6]) -> Option<Flow> {
    Some(match n {
        nr::CLONE => {
            // x86-64 order: flags, newsp, parent_tid, child_tid, tls. CLONE_PIDFD puts the
            // pidfd where the parent's tid would go, so the two cannot be combined.
            const CLONE_PIDFD: u64 = 0x1000;
            const CLONE_PARENT_SETTID: u64 = 0x100000;
            let flags = a[0];
            if flags & CLONE_PIDFD != 0 && flags & CLONE_PARENT_SETTID != 0 {
                return Some(Flow::Ret(Err(Errno::EINVAL)));
            }
            Flow::Ret(do_clone(
                t,
                ctx,
                flags & !0xff,
                a[1],
                a[2],
                a[3],
                a[4],
                (flags & 0xff) as u32,
                a[2],
            ))
        }
        nr::FORK => Flow::Ret(do_clone(t, ctx, 0, 0, 0, 0, 0, abi::signal::SIGCHLD, 0)),
        nr::VFORK => Flow::Ret(do_clone(
            t,
            ctx,
            0x100 | 0x4000,
            0,
            0,
            0,
            0,
            abi::signal::SIGCHLD,
            0,
        )),
        nr::CLONE3 => Flow::Ret(clone3(t, ctx, a[0], a[1])),
        nr::EXECVE => exec(t, ctx, libc::AT_FDCWD as u64, a[0], a[1], a[2], 0),
        nr::EXECVEAT => exec(t, ctx, a[0], a[1], a[2], a[3], a[4]),
        nr::EXIT => Flow::Exit(ExitStatus::Exited((a[0] & 0xff) as i32)),
        nr::EXIT_GROUP => Flow::ExitGroup(ExitStatus::Exited((a[0] & 0xff) as i32)),
        nr::RT_SIGRETURN => match crate::sigframe::sigreturn(t, ctx) {
            Ok(()) => Flow::Regs,
            Err(_) => {
                crate::signal::force_fault(t, abi::signal::SIGSEGV, abi::signal::SI_KERNEL, 0);
                Flow::Regs
            }
        },
        nr::ARCH_PRCTL => Flow::Ret(arch_prctl(t, ctx, a[0], a[1])),
        _ => return None,
    })
}

fn clone3(t: &Arc<Task>, ctx: &mut Context, uargs: u64, size: u64) -> crate::SysResult {
    // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup
    if size < 64 || size > 4096 {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; size as usize];
    t.read_mem(uargs, &mut b)?;
    if b[88.min(b.len())..].iter().any(|&x| x != 0) && size > 88 {
        return Err(Errno::E2BIG);
    }
    let w = |i: usize| {
        if (i + 1) * 8 <= b.len() {
            u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap())
        } else {
            0
        }
    };
    let (flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls) =
        (w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7));
    if exit_signal > 64 || flags & 0xff != 0 {
        return Err(Errno::EINVAL);
    }
    // CLONE_THREAD and CLONE_PARENT children take their exit signal from elsewhere.
    if flags & (0x10000 | 0x8000) != 0 && exit_signal != 0 {
        return Err(Errno::EINVAL);
    }
    if (stack == 0) != (stack_size == 0) {
        return Err(Errno::EINVAL);
    }
    if w(8) != 0 || w(9) != 0 {
        return Err(Errno::EINVAL);
    }
    let sp = if stack != 0 { stack + stack_size } else { 0 };
    do_clone(
        t,
        ctx,
        flags,
        sp,
        parent_tid,
        child_tid,
        tls,
        exit_signal as u32,
        pidfd,
    )
}

fn exec(
    t: &Arc<Task>,
    ctx: &mut Context,
    dirfd: u64,
    path: u64,
    argv: u64,
    envp: u64,
    flags: u64,
) -> Flow {
    let r = (|| -> Result<(), Errno> {
        const AT_EMPTY_PATH: u64 = 0x1000;
        const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
        if flags & !(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 {
            return Err(Errno::EINVAL);
        }
        let mut p = t.read_path(path)?;
        let mut total = 0usize;
        let av = crate::exec::read_strv(t, argv, &mut total)?;
        let ev = crate::exec::read_strv(t, envp, &mut total)?;
        if p.is_empty() {
            if flags & AT_EMPTY_PATH == 0 {
                return Err(Errno::ENOENT);
            }
            // Exec the file open at dirfd, through its path.
            let f = t.files().get(dirfd as i32)?;
            p = f.path().into_bytes();
        } else if p[0] != b'/' && dirfd as i32 != libc::AT_FDCWD {
            let f = t.files().get(dirfd as i32)?;
            let mut base = f.path().into_bytes();
            base.push(b'/');
            base.extend_from_slice(&p);
            p = base;
        }
        crate::exec::execve(t, ctx, &p, av, ev)
    })();
    match r {
        Ok(()) => Flow::Regs,
        Err(e) => Flow::Ret(Err(e)),
    }
}

fn arch_prctl(t: &Task, ctx: &mut Context, code: u64, addr: u64) -> crate::SysResult {
    const ARCH_SET_GS: u64 = 0x1001;
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    const ARCH_GET_GS: u64 = 0x1004;
    const ARCH_GET_CPUID: u64 = 0x1011;
    const ARCH_SET_CPUID: u64 = 0x1012;
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            if addr >= platform::TASK_SIZE {
                return Err(Errno::EPERM);
            }
            if code == ARCH_SET_FS {
                ctx.regs.fs_base = addr;
            } else {
                ctx.regs.gs_base = addr;
            }
            Ok(0)
        }
        ARCH_GET_FS => t.write_val(addr, &ctx.regs.fs_base).map(|_| 0),
        ARCH_GET_GS => t.write_val(addr, &ctx.regs.gs_base).map(|_| 0),
        ARCH_GET_CPUID => Ok(1),
        ARCH_SET_CPUID => Err(Errno::ENODEV),
        _ => Err(Errno::EINVAL),
    }
}

/// Status of each syscall handled outside the family modules (for docs/compatibility.md).
pub fn compat_ctx() -> &'static [(u64, &'static str)] {
    &[
        (
            nr::CLONE,
            "partial: namespace flags (CLONE_NEW*) return EPERM",
        ),
        (nr::FORK, ""),
        (nr::VFORK, ""),
        (nr::CLONE3, "partial: set_tid and cgroup unsupported"),
        (nr::EXECVE, ""),
        (nr::EXECVEAT, ""),
        (nr::EXIT, ""),
        (nr::EXIT_GROUP, ""),
        (nr::RT_SIGRETURN, ""),
        (nr::ARCH_PRCTL, "partial: ARCH_SET_CPUID unsupported"),
    ]
}

/// Support status of every x86-64 syscall: (number, name, status), where status is
/// "implemented", "partial: ..." or "ENOSYS".
pub fn compat_table() -> Vec<(u64, &'static str, String)> {
    let mut known: std::collections::HashMap<u64, &'static str> = std::collections::HashMap::new();
    let lists: [&[(u64, &'static str)]; 19] = [
        memfd::compat(),
        splice::compat(),
        inotify::compat(),
        xattr::compat(),
        poll::compat(),
        socket::compat(),
        event::compat(),
        timer::compat(),
        futex::compat(),
        compat_ctx(),
        mm::compat(),
        process::compat(),
        signal::compat(),
        file::compat(),
        time::compat(),
        identity::compat(),
        ipc::compat(),
        tty::compat(),
        misc::compat(),
    ];
    for l in lists {
        for &(n, s) in l {
            known.entry(n).or_insert(s);
        }
    }
    let mut out = Vec::new();
    for n in 0..abi::sysno::NR_SYSCALLS as u64 {
        let Some(name) = abi::sysno::name(n) else {
            continue;
        };
        let status = match known.get(&n) {
            Some(s) if s.is_empty() => "implemented".to_string(),
            Some(s) => s.to_string(),
            None => "ENOSYS".to_string(),
        };
        out.push((n, name, status));
    }
    out
}

/// docs/compatibility.md's syscall table, as markdown.
pub fn compat_markdown() -> String {
    let t = compat_table();
    let done = t.iter().filter(|r| r.2 == "implemented").count();
    let partial = t
        .iter()
        .filter(|r| r.2 != "implemented" && r.2 != "ENOSYS")
        .count();
    let mut s = String::new();
    s.push_str("# Syscall compatibility (x86-64)\n\n");
    s.push_str(
        "Generated by `moat syscalls` from the kernel's own tables; a test keeps it in step.\n",
    );
    s.push_str("Status: *implemented*; *partial* (what is missing); *accepted* (succeeds with no effect,\n");
    s.push_str("as documented); *ENOSYS* (returns ENOSYS and is logged once by name).\n\n");
    s.push_str(&format!(
        "{} implemented, {} partial or accepted, {} ENOSYS, of {}.\n\n",
        done,
        partial,
        t.len() - done - partial,
        t.len()
    ));
    s.push_str("| nr | syscall | status |\n|---:|---|---|\n");
    for (n, name, st) in t {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            n,
            name,
            st.replace('|', "\\|")
        ));
    }
    s
}
