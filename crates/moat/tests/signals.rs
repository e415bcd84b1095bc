//! Signals (tests/c/sigs.c): handlers, siginfo, masks, frames, sigaltstack,
//! synchronous faults, waiting, EINTR/SA_RESTART and default actions.
#[macro_use]
mod common;
use common::{diff_c, Variant};

c_cases!("sigs", Variant::Static;
    siginfo_case, mask_pending, handler_flags, frame, segv_longjmp, altstack, sync_faults,
    sigwait_case, sigsuspend_case, restart, thread_signals, die_kill, die_segv, die_abort,
    die_usr1_blocked_then_unblocked, die_alarm, die_thread_exit);

mod dynamic {
    c_cases!("sigs", crate::common::Variant::Dynamic; frame, segv_longjmp, altstack, restart);
}

/// Death by SIGTERM's default action: the sandbox reports 143 like a shell.
#[test]
fn die_term() {
    let (n, m) = diff_c("sigs", Variant::Static, "die_term");
    assert_eq!(n.status, 143);
    m.expect_status(143);
}
