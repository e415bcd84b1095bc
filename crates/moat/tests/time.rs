//! Time (tests/c/timing.c): clocks, sleeps, interval timers.
#[macro_use]
mod common;
use common::Variant;

c_cases!("timing", Variant::Static; clocks, sleeps, itimers, times_and_cpu);
