//! Terminal syscalls (the terminal ioctls are the files' own, in `crate::tty`).

use crate::task::{SysResult, Task};
use crate::tty::{jobctl, Kind};
use abi::sysno as nr;
use abi::Errno;

pub fn dispatch(t: &Task, n: u64, _a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::VHANGUP => vhangup(t),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[(
        nr::VHANGUP,
        "partial: hangs up a pty controlling terminal; the host console is left alone",
    )]
}

/// vhangup(2): hangs up the caller's controlling terminal (CAP_SYS_ADMIN).
fn vhangup(t: &Task) -> SysResult {
    if !t.creds().has_cap(21) {
        return Err(Errno::EPERM);
    }
    if let Some(tty) = jobctl::ctty_of(t) {
        if let Kind::Pty(w) = &tty.kind {
            if let Some(p) = w.upgrade() {
                p.vhangup();
            }
        }
    }
    Ok(0)
}
