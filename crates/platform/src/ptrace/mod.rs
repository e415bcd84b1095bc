//! The ptrace platform: application threads run in stub threads under PTRACE_SYSEMU.

mod context;
mod factory;

pub use context::{Context, Event, FaultInfo, Interrupter};
pub use factory::StubFactory;

use crate::{HostError, Result};

/// The host signal used to kick a running stub thread back to its tracer.
pub const INTERRUPT_SIGNAL: i32 = libc::SIGURG;

pub(crate) const PTRACE_OPTIONS: libc::c_int =
    libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL;

pub(crate) fn ptrace(req: libc::c_uint, pid: i32, addr: u64, data: u64) -> Result<i64> {
    // SAFETY: ptrace with plain integer/pointer arguments the callers own.
    let r = unsafe {
        libc::ptrace(
            req,
            pid,
            addr as *mut libc::c_void,
            data as *mut libc::c_void,
        )
    };
    if r < 0 {
        Err(HostError::last())
    } else {
        Ok(r)
    }
}

/// Waits for a state change of tracee `tid`; returns the raw status.
pub(crate) fn wait(tid: i32) -> Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out pointer.
        let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if r >= 0 {
            return Ok(status);
        }
        let e = HostError::last();
        if e.0 != libc::EINTR {
            return Err(e);
        }
    }
}

/// Seizes an idle stub thread and stops it; on return it sits in an event stop.
pub(crate) fn seize(tid: i32) -> Result<()> {
    ptrace(libc::PTRACE_SEIZE, tid, 0, PTRACE_OPTIONS as u64)?;
    ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0)?;
    loop {
        let st = wait(tid)?;
        if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
            return Err(HostError(libc::ESRCH));
        }
        if libc::WIFSTOPPED(st) && (st >> 16) == libc::PTRACE_EVENT_STOP {
            return Ok(());
        }
        // A signal-delivery stop that raced with the interrupt: suppress it and wait on.
        ptrace(libc::PTRACE_CONT, tid, 0, 0)?;
    }
}
