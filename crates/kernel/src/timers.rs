//! Interval timers (setitimer/getitimer/alarm).
//!
//! One background host thread keeps a min-heap of deadlines and sleeps on a condvar until the
//! earliest. Timers are keyed by thread-group id; each slot also keeps a weak reference to its
//! thread group, so a timer left by a dead process can never fire into a new process that
//! happens to reuse the id, and a dead group's timers vanish when they next come due.
//!
//! ITIMER_REAL counts wall time, as in Linux. ITIMER_VIRTUAL and ITIMER_PROF should count the
//! process's user (and system) CPU time; they are accepted, reported and fired on wall time
//! by the same thread: an approximation (a process that sleeps still sees them expire).

use crate::task::ThreadGroup;
use abi::signal::{SigInfo, SIGALRM, SIGPROF, SIGVTALRM, SI_KERNEL};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

pub const ITIMER_REAL: usize = 0;
pub const ITIMER_VIRTUAL: usize = 1;
pub const ITIMER_PROF: usize = 2;

/// Longest timer value kept (longer values are clamped: about 68 years, never reached).
const MAX_DURATION: Duration = Duration::from_secs(i32::MAX as u64);

/// The signal an interval timer sends when it expires.
pub fn signal_of(which: usize) -> u32 {
    match which {
        ITIMER_VIRTUAL => SIGVTALRM,
        ITIMER_PROF => SIGPROF,
        _ => SIGALRM,
    }
}

struct Slot {
    tg: Weak<ThreadGroup>,
    /// Next expiry (None: disarmed).
    next: Option<Instant>,
    interval: Duration,
    /// Bumped on every set, so stale heap entries are recognised.
    gen: u64,
}

#[derive(Default)]
struct State {
    /// (deadline, tgid, which, gen)
    heap: BinaryHeap<Reverse<(Instant, i32, usize, u64)>>,
    slots: HashMap<(i32, usize), Slot>,
    started: bool,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
static CV: Condvar = Condvar::new();

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut g = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let st = g.get_or_insert_with(State::default);
    if !st.started {
        st.started = true;
        let spawned = std::thread::Builder::new()
            .name("itimers".into())
            .spawn(timer_thread);
        if spawned.is_err() {
            st.started = false;
        }
    }
    f(st)
}

fn clamp(d: Duration) -> Duration {
    d.min(MAX_DURATION)
}

/// Remaining time and interval of a slot (Linux reports an expired-but-armed timer as 1 µs).
fn report(slot: Option<&Slot>, now: Instant) -> (Duration, Duration) {
    match slot {
        Some(s) => match s.next {
            Some(n) => {
                let rem = n.saturating_duration_since(now);
                let rem = if rem.is_zero() {
                    Duration::from_micros(1)
                } else {
                    rem
                };
                (rem, s.interval)
            }
            None => (Duration::ZERO, s.interval),
        },
        None => (Duration::ZERO, Duration::ZERO),
    }
}

fn slot_of<'a>(st: &'a State, tg: &Arc<ThreadGroup>, which: usize) -> Option<&'a Slot> {
    st.slots
        .get(&(tg.tgid, which))
        .filter(|s| std::ptr::eq(s.tg.as_ptr(), Arc::as_ptr(tg)))
}

/// The current value of timer `which` of `tg`: (time to next expiry, interval).
pub fn get(tg: &Arc<ThreadGroup>, which: usize) -> (Duration, Duration) {
    let now = Instant::now();
    with_state(|st| report(slot_of(st, tg, which), now))
}

/// Arms (value > 0) or disarms (value == 0) timer `which` of `tg`; returns the old value
/// as `get` would have.
pub fn set(
    tg: &Arc<ThreadGroup>,
    which: usize,
    value: Duration,
    interval: Duration,
) -> (Duration, Duration) {
    let now = Instant::now();
    let value = clamp(value);
    let interval = clamp(interval);
    with_state(|st| {
        let old = report(slot_of(st, tg, which), now);
        let key = (tg.tgid, which);
        let gen = st
            .slots
            .get(&key)
            .map(|s| s.gen.wrapping_add(1))
            .unwrap_or(1);
        if value.is_zero() {
            // Disarmed; Linux also forgets the interval.
            st.slots.remove(&key);
            return old;
        }
        let next = now + value;
        st.slots.insert(
            key,
            Slot {
                tg: Arc::downgrade(tg),
                next: Some(next),
                interval,
                gen,
            },
        );
        if st.heap.len() > 2 * st.slots.len() + 1024 {
            // Re-arming a timer leaves its old heap entry behind: rebuild when they pile up.
            let live: Vec<_> = st
                .slots
                .iter()
                .filter_map(|(&(id, w), s)| s.next.map(|n| Reverse((n, id, w, s.gen))))
                .collect();
            st.heap = live.into_iter().collect();
        }
        let earliest = st.heap.peek().map(|Reverse(e)| e.0);
        st.heap.push(Reverse((next, tg.tgid, which, gen)));
        if earliest.is_none_or(|e| next < e) {
            CV.notify_one();
        }
        old
    })
}

/// Disarms every timer of `tgid` (for the group's exit; optional, as dead groups' timers
/// are dropped when they come due).
pub fn cancel_all(tgid: i32) {
    let mut g = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(st) = g.as_mut() {
        for w in [ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF] {
            st.slots.remove(&(tgid, w));
        }
    }
}

/// Disarms every timer of `tg` (exact group, not merely the id).
pub fn cancel_group(tg: &Arc<ThreadGroup>) {
    let mut g = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(st) = g.as_mut() {
        for w in [ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF] {
            if slot_of(st, tg, w).is_some() {
                st.slots.remove(&(tg.tgid, w));
            }
        }
    }
}

fn timer_thread() {
    loop {
        let mut fire: Vec<(Arc<ThreadGroup>, usize)> = Vec::new();
        {
            let mut g = STATE.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                let st = g.get_or_insert_with(State::default);
                let now = Instant::now();
                let Some(&Reverse((deadline, tgid, which, gen))) = st.heap.peek() else {
                    if !fire.is_empty() {
                        break;
                    }
                    g = CV.wait(g).unwrap_or_else(|e| e.into_inner());
                    continue;
                };
                if deadline > now {
                    if !fire.is_empty() {
                        break;
                    }
                    let (ng, _) = CV
                        .wait_timeout(g, deadline - now)
                        .unwrap_or_else(|e| e.into_inner());
                    g = ng;
                    continue;
                }
                st.heap.pop();
                let key = (tgid, which);
                let Some(slot) = st.slots.get_mut(&key) else {
                    continue;
                };
                if slot.gen != gen || slot.next != Some(deadline) {
                    continue;
                }
                let Some(tg) = slot.tg.upgrade() else {
                    st.slots.remove(&key);
                    continue;
                };
                if !slot.interval.is_zero() {
                    // Like hrtimer_forward: the next expiry after now, overruns dropped.
                    let mut next = deadline.checked_add(slot.interval).unwrap_or(now);
                    if next <= now {
                        let iv = slot.interval.as_nanos().max(1);
                        let behind = (now - deadline).as_nanos();
                        let k = (behind / iv + 1).min(u32::MAX as u128) as u32;
                        next = deadline
                            .checked_add(slot.interval.saturating_mul(k))
                            .unwrap_or(now);
                        if next <= now {
                            next = now.checked_add(slot.interval).unwrap_or(now + MAX_DURATION);
                        }
                    }
                    slot.next = Some(next);
                    st.heap.push(Reverse((next, tgid, which, gen)));
                } else {
                    slot.next = None;
                }
                fire.push((tg, which));
            }
        }
        for (tg, which) in fire {
            let dead = {
                let s = tg.lock();
                s.zombie.is_some() || s.group_exit.is_some()
            };
            if dead {
                cancel_group(&tg);
                continue;
            }
            crate::signal::send_to_group(&tg, SigInfo::new(signal_of(which), SI_KERNEL));
        }
    }
}
