//! Threads (tests/c/threads.c): 8 threads on mutexes and condition
//! variables, barriers, TLS, many short-lived threads, rwlocks.
#[macro_use]
mod common;
use common::Variant;

c_cases!("threads", Variant::Static;
    mutex_counter, condvar_queue, turns, barrier, tls, many_threads, rwlock, main_pthread_exit);

mod dynamic {
    c_cases!("threads", crate::common::Variant::Dynamic; mutex_counter, condvar_queue, tls, many_threads);
}
