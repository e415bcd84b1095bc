//! The stub filter: the seccomp allowlist every stub process carries (installed by the
//! master stub, inherited by every stub forked from it).
//!
//! Application system calls never reach it: under PTRACE_SYSEMU the host reports the
//! call to the tracer and skips it before seccomp runs. What does reach it is what the
//! kernel injects at the stub's gadgets (mmap of the memory file, munmap, madvise,
//! clone of a stub thread, fork of a new stub, exit of a stub thread), the idle loop's
//! pause, and the master's own "ready" byte. Anything else kills the stub process.

use crate::{HostError, Result, STUB_MEMFD};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition,
    SeccompFilter, SeccompRule,
};
use std::collections::BTreeMap;

/// A compiled filter.
pub type Program = BpfProgram;

/// The clone flags of a stub thread (`Context::clone_thread`).
pub const STUB_THREAD_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM) as u64;

fn cond(arg: u8, len: Len, op: Op, v: u64) -> SeccompCondition {
    SeccompCondition::new(arg, len, op, v).expect("valid condition")
}

fn rule(c: Vec<SeccompCondition>) -> SeccompRule {
    SeccompRule::new(c).expect("valid rule")
}

/// Compiles `rules` (syscall number → rules; an empty list allows every call of it) into
/// an allowlist whose every other call kills the process.
pub fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>) -> Result<Program> {
    let f = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        seccompiler::TargetArch::x86_64,
    )
    .map_err(|_| HostError(libc::EINVAL))?;
    f.try_into().map_err(|_| HostError(libc::EINVAL))
}

/// The stub filter; `ready` is the master's ready pipe (one write, one close).
pub fn stub_filter(ready: i32) -> Result<Program> {
    let fd = |arg: u8, v: i32| cond(arg, Len::Dword, Op::Eq, v as u32 as u64);
    let mut m: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    // Memory-file mappings only: MAP_SHARED|MAP_FIXED of the memory file's fd.
    m.insert(
        libc::SYS_mmap,
        vec![rule(vec![
            cond(
                3,
                Len::Dword,
                Op::Eq,
                (libc::MAP_SHARED | libc::MAP_FIXED) as u64,
            ),
            fd(4, STUB_MEMFD),
        ])],
    );
    m.insert(libc::SYS_munmap, vec![]);
    m.insert(libc::SYS_madvise, vec![]);
    // A stub thread (the clone gadget), and a new stub process (fork at the master).
    m.insert(
        libc::SYS_clone,
        vec![rule(vec![cond(0, Len::Qword, Op::Eq, STUB_THREAD_FLAGS)])],
    );
    m.insert(libc::SYS_fork, vec![]);
    // The idle loop, and a stub thread's end.
    m.insert(libc::SYS_pause, vec![]);
    m.insert(libc::SYS_restart_syscall, vec![]);
    m.insert(libc::SYS_exit, vec![]);
    // The master's "ready" byte.
    m.insert(libc::SYS_write, vec![rule(vec![fd(0, ready)])]);
    m.insert(libc::SYS_close, vec![rule(vec![fd(0, ready)])]);
    compile(m)
}

/// Installs `prog` on the calling thread (no_new_privs must be set). Raw system call
/// only: safe in a forked child.
///
/// # Safety
/// Restricts the calling thread for the rest of its life.
pub unsafe fn install(prog: &Program) -> std::result::Result<(), i32> {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    if libc::syscall(
        libc::SYS_seccomp,
        libc::SECCOMP_SET_MODE_FILTER,
        0,
        &fprog as *const libc::sock_fprog,
    ) != 0
    {
        return Err(*libc::__errno_location());
    }
    Ok(())
}
