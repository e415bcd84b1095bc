//! Event files and readiness (tests/c/events.c): epoll, eventfd, timerfd, signalfd,
//! pidfds, POSIX timers; and python3's asyncio, which runs on epoll.
#[macro_use]
mod common;
use common::{c_cmd, diff_c_cmd, Variant};

c_cases!("events", Variant::Static;
    eventfd_basic, eventfd_semaphore, eventfd_blocking,
    epoll_errors, epoll_level, epoll_edge, epoll_oneshot, epoll_close, epoll_nested,
    epoll_threads, epoll_signals, epoll_timeouts, epoll_exclusive,
    timerfd_basic, timerfd_clocks, timerfd_threads,
    signalfd_basic, signalfd_wait,
    pidfd_basic, pidfd_child, pidfd_clone,
    posix_timers, posix_overrun, posix_thread_timers, cpu_timers, exec_timers,
    futex_pi_basic, futex_pi_threads, futex_pi_timeout, futex_pi_death, futex_requeue_pi,
    futex_waitv, futex2,
);

/// epoll and poll over the sandbox's stdio (host pipes).
#[test]
fn epoll_hostio() {
    diff_c_cmd(c_cmd("events", Variant::Static, "epoll_hostio").stdin(&b"hello\n"[..]));
}
