//! Timers: one service for every kernel timer, interval timers (setitimer/alarm) and POSIX
//! timers (timer_create).
//!
//! **The service.** One background host thread keeps a min-heap of deadlines and sleeps on
//! a condvar until the earliest. A deadline belongs to an `Expire` target, held weakly, and
//! carries the target's generation at arming: re-arming or disarming bumps the generation,
//! so stale entries are recognised when they come due (and pruned in bulk when they pile
//! up). timerfd, interval timers and POSIX timers all use it.
//!
//! **Clocks.** Wall-clock timers (CLOCK_REALTIME, MONOTONIC, BOOTTIME, TAI) run on the
//! host's monotonic clock; an absolute time on another clock is converted when the timer
//! is set. CPU-time timers (ITIMER_VIRTUAL and ITIMER_PROF, POSIX timers on CPU clocks)
//! sample the process's or thread's CPU time (the stub threads' and kernel threads' host
//! CPU clocks): they are checked no sooner than the CPU time left could pass with every
//! host CPU busy, so a sleeping process's CPU timers do not expire.
//!
//! **POSIX timer signals** follow Linux 6.x: an expiry queues one signal (SI_TIMER) and a
//! periodic timer then waits for its delivery; at delivery (`dequeued`, called from the
//! signal queue) it is moved forward past the current time, and the intervals it missed
//! become si_overrun and timer_getoverrun's value. A signal queued before the timer was
//! set again or deleted is dropped at delivery.
//!
//! Timers are kept per process in a table keyed by thread-group id, each entry checked
//! against its thread group, so a dead process's timers never fire into a new process that
//! reuses the id.

use crate::kernel;
use crate::task::{Task, ThreadGroup};
use abi::signal::{SigInfo, SIGALRM, SIGPROF, SIGVTALRM, SI_KERNEL, SI_TIMER};
use abi::Errno;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

pub const ITIMER_REAL: usize = 0;
pub const ITIMER_VIRTUAL: usize = 1;
pub const ITIMER_PROF: usize = 2;

/// Longest wall-clock timer value kept (longer values are clamped: about 68 years).
const MAX_DURATION: Duration = Duration::from_secs(i32::MAX as u64);
const NS: u64 = 1_000_000_000;
/// Marks a queued SI_TIMER signal as a kernel timer's (in siginfo's padding, which the
/// kernel keeps zero elsewhere and clears at delivery).
pub const TIMER_MARK: i32 = 0x5449_4d52;

// ---------------------------------------------------------------------------------------------
// The service

/// A target of the timer service.
pub trait Expire: Send + Sync {
    /// A deadline armed with generation `gen` has come. Returns when to be called again
    /// (same generation), if ever.
    fn expire(&self, gen: u64) -> Option<Instant>;
    /// Whether an entry of generation `gen` is still wanted (for pruning).
    fn wanted(&self, gen: u64) -> bool;
}

struct Service {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    entries: HashMap<u64, (Weak<dyn Expire>, u64)>,
    next_seq: u64,
    prune_at: usize,
    started: bool,
}

static SERVICE: Mutex<Option<Service>> = Mutex::new(None);
static CV: Condvar = Condvar::new();

/// Calls `target.expire(gen)` at (or soon after) `at`.
pub fn arm(target: Weak<dyn Expire>, gen: u64, at: Instant) {
    let prune = {
        let mut g = SERVICE.lock().unwrap_or_else(|e| e.into_inner());
        let s = g.get_or_insert_with(|| Service {
            heap: BinaryHeap::new(),
            entries: HashMap::new(),
            next_seq: 0,
            prune_at: 1024,
            started: false,
        });
        if !s.started {
            s.started = std::thread::Builder::new()
                .name("timers".into())
                .spawn(service_thread)
                .is_ok();
        }
        let seq = s.next_seq;
        s.next_seq += 1;
        let earliest = s.heap.peek().map(|Reverse(e)| e.0);
        s.heap.push(Reverse((at, seq)));
        s.entries.insert(seq, (target, gen));
        if earliest.is_none_or(|e| at < e) {
            CV.notify_one();
        }
        if s.entries.len() >= s.prune_at {
            Some(
                s.entries
                    .iter()
                    .map(|(k, (w, g))| (*k, w.clone(), *g))
                    .collect::<Vec<_>>(),
            )
        } else {
            None
        }
    };
    // Entries superseded by later settings pile up when a timer is re-armed far ahead many
    // times: drop those whose target no longer wants them (asked without the lock).
    if let Some(all) = prune {
        let stale: Vec<u64> = all
            .into_iter()
            .filter(|(_, w, g)| w.upgrade().is_none_or(|t| !t.wanted(*g)))
            .map(|(k, _, _)| k)
            .collect();
        let mut g = SERVICE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = g.as_mut() {
            for k in stale {
                s.entries.remove(&k);
            }
            let live = &s.entries;
            let heap: Vec<_> = s
                .heap
                .drain()
                .filter(|Reverse((_, k))| live.contains_key(k))
                .collect();
            s.heap = heap.into_iter().collect();
            s.prune_at = (2 * s.entries.len()).max(1024);
        }
    }
}

fn service_thread() {
    loop {
        let mut due: Vec<(Weak<dyn Expire>, u64)> = Vec::new();
        {
            let mut g = SERVICE.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                let Some(s) = g.as_mut() else {
                    g = CV.wait(g).unwrap_or_else(|e| e.into_inner());
                    continue;
                };
                let now = Instant::now();
                match s.heap.peek() {
                    Some(&Reverse((at, seq))) if at <= now => {
                        s.heap.pop();
                        if let Some(e) = s.entries.remove(&seq) {
                            due.push(e);
                        }
                        continue;
                    }
                    _ if !due.is_empty() => break,
                    Some(&Reverse((at, _))) => {
                        g = CV
                            .wait_timeout(g, at - now)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                    None => g = CV.wait(g).unwrap_or_else(|e| e.into_inner()),
                }
            }
        }
        for (w, gen) in due {
            let Some(t) = w.upgrade() else { continue };
            if let Some(next) = t.expire(gen) {
                arm(w, gen, next);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Kernel timers: interval timers and POSIX timers

/// What a timer counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimerClock {
    /// Wall time (every clock that is not a CPU clock): the host clock id it was set on.
    Wall(i32),
    /// CPU time of a process (tgid); `virt`: user time only.
    ProcessCpu(i32, bool),
    /// CPU time of a thread (tid); `virt`: user time only.
    ThreadCpu(i32, bool),
}

/// A point on a timer's clock.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Point {
    Wall(Instant),
    Cpu(u64),
}

/// How a timer tells of its expiry.
#[derive(Clone, Copy, Debug)]
pub enum Notify {
    /// SIGEV_NONE.
    None,
    /// A signal to the process, or to one of its threads.
    Signal { sig: u32, tid: Option<i32> },
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// setitimer/alarm: a signal (SI_KERNEL) at every expiry, never waiting for delivery.
    Itimer,
    /// timer_create: SI_TIMER signals, one at a time, with overruns.
    Posix { id: i32, sigval: u64 },
}

struct TState {
    gen: u64,
    /// Next expiry (None: disarmed). While a POSIX signal waits for delivery, the expiry
    /// it announced.
    next: Option<Point>,
    interval: u64,
    /// A POSIX signal is queued and the timer waits for its delivery.
    pending: bool,
    /// Intervals missed since the last delivery, minus one (Linux's it_overrun).
    overrun: i64,
    overrun_last: i64,
    /// Bumped by every setting and every delivery: a queued signal carries it.
    seq: u32,
    /// The last reading of a CPU clock (used at delivery, where the clock cannot be read:
    /// the signal queues' locks are held).
    last_cpu: u64,
}

pub struct KTimer {
    me: Weak<KTimer>,
    serial: u32,
    owner: Weak<ThreadGroup>,
    clock: TimerClock,
    notify: Notify,
    kind: Kind,
    st: Mutex<TState>,
}

/// Every live POSIX timer by serial (the key a queued SI_TIMER signal carries).
static SERIALS: Mutex<Option<HashMap<u32, Weak<KTimer>>>> = Mutex::new(None);

/// A process's timers.
struct ProcTimers {
    tg: Weak<ThreadGroup>,
    itimers: [Option<Arc<KTimer>>; 3],
    posix: BTreeMap<i32, Arc<KTimer>>,
    next_id: i32,
}

static PROCS: Mutex<Option<HashMap<i32, ProcTimers>>> = Mutex::new(None);

fn with_procs<R>(tg: &Arc<ThreadGroup>, f: impl FnOnce(&mut ProcTimers) -> R) -> R {
    let mut g = PROCS.lock().unwrap_or_else(|e| e.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    let e = m.entry(tg.tgid).or_insert_with(|| ProcTimers {
        tg: Arc::downgrade(tg),
        itimers: [None, None, None],
        posix: BTreeMap::new(),
        next_id: 0,
    });
    if !std::ptr::eq(e.tg.as_ptr(), Arc::as_ptr(tg)) {
        // A dead process's table under a reused id.
        *e = ProcTimers {
            tg: Arc::downgrade(tg),
            itimers: [None, None, None],
            posix: BTreeMap::new(),
            next_id: 0,
        };
    }
    f(e)
}

fn host_cpus() -> u64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u64)
        .unwrap_or(1)
}

impl KTimer {
    fn new(owner: &Arc<ThreadGroup>, clock: TimerClock, notify: Notify, kind: Kind) -> Arc<KTimer> {
        static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Arc::new_cyclic(|me| KTimer {
            me: me.clone(),
            serial,
            owner: Arc::downgrade(owner),
            clock,
            notify,
            kind,
            st: Mutex::new(TState {
                gen: 0,
                next: None,
                interval: 0,
                pending: false,
                overrun: -1,
                overrun_last: 0,
                seq: 0,
                last_cpu: 0,
            }),
        })
    }

    /// The current reading of this timer's clock (None: a CPU clock whose process or
    /// thread is gone).
    fn now(&self) -> Option<Point> {
        match self.clock {
            TimerClock::Wall(_) => Some(Point::Wall(Instant::now())),
            TimerClock::ProcessCpu(tgid, virt) => {
                let tg = kernel().procs.lock().unwrap().group(tgid)?;
                let (u, s) = crate::syscalls::time::group_cpu_ns(&tg);
                Some(Point::Cpu(if virt { u } else { u.saturating_add(s) }))
            }
            TimerClock::ThreadCpu(tid, virt) => {
                let t = kernel().procs.lock().unwrap().task(tid)?;
                let (u, s) = crate::syscalls::time::task_cpu_ns(&t);
                Some(Point::Cpu(if virt { u } else { u.saturating_add(s) }))
            }
        }
    }

    /// When to look at this timer again for expiry `at` (for CPU clocks, the soonest the
    /// CPU time could get there).
    fn check_at(&self, at: Point, now: Point) -> Instant {
        match (at, now) {
            (Point::Wall(i), _) => i,
            (Point::Cpu(t), Point::Cpu(n)) => {
                let left = t.saturating_sub(n) / host_cpus();
                Instant::now() + Duration::from_nanos(left.clamp(1_000_000, NS))
            }
            (Point::Cpu(_), Point::Wall(_)) => Instant::now() + Duration::from_millis(1),
        }
    }

    fn arm_at(&self, gen: u64, at: Point) {
        let Some(now) = self.now() else { return };
        let when = self.check_at(at, now);
        arm(self.me.clone() as Weak<dyn Expire>, gen, when);
    }

    /// Moves `at` forward by whole intervals until it is after `now`; returns the new
    /// point and the number of intervals (Linux's hrtimer_forward).
    fn forward(at: Point, now: Point, interval: u64) -> (Point, u64) {
        let interval = interval.max(1);
        match (at, now) {
            (Point::Wall(a), Point::Wall(n)) => {
                if a > n {
                    return (at, 0);
                }
                let behind = (n - a).as_nanos().min(u64::MAX as u128) as u64;
                let k = behind / interval + 1;
                let next = a
                    .checked_add(
                        Duration::from_nanos(interval)
                            .saturating_mul(k.min(u32::MAX as u64) as u32),
                    )
                    .unwrap_or(n + MAX_DURATION);
                (Point::Wall(next.max(n + Duration::from_nanos(1))), k)
            }
            (Point::Cpu(a), Point::Cpu(n)) => {
                if a > n {
                    return (at, 0);
                }
                let k = (n - a) / interval + 1;
                (Point::Cpu(a.saturating_add(k.saturating_mul(interval))), k)
            }
            _ => (at, 0),
        }
    }

    /// (time to the next expiry, interval) in ns, as timer_gettime/getitimer report them.
    pub fn get(&self) -> (u64, u64) {
        let now = self.now();
        let mut st = self.st.lock().unwrap();
        if let Some(Point::Cpu(c)) = now {
            st.last_cpu = c;
        }
        let (Some(mut next), Some(now)) = (st.next, now) else {
            return (0, st.interval);
        };
        let posix = matches!(self.kind, Kind::Posix { .. });
        let none = matches!(self.notify, Notify::None);
        if posix && st.interval > 0 && (st.pending || none) {
            // Expired and waiting for delivery (or never signalled): moved past now, the
            // missed intervals counted as overruns (Linux's common_timer_get).
            let (n, k) = Self::forward(next, now, st.interval);
            if k > 0 {
                next = n;
                st.next = Some(n);
                st.overrun += k as i64;
            }
        }
        let left = match (next, now) {
            (Point::Wall(a), Point::Wall(n)) => a
                .saturating_duration_since(n)
                .as_nanos()
                .min(u64::MAX as u128) as u64,
            (Point::Cpu(a), Point::Cpu(n)) => a.saturating_sub(n),
            _ => 0,
        };
        if left > 0 {
            return (left, st.interval);
        }
        // Due but not yet handled: the smallest value (an expired SIGEV_NONE one-shot
        // timer reads 0; interval timers report 1 µs).
        let v = match (posix, none) {
            (true, true) => 0,
            (true, false) => 1,
            (false, _) => 1000,
        };
        (v, st.interval)
    }

    /// Sets the timer: `value` ns from now (for a CPU clock with `abs`, at that CPU time;
    /// wall-clock absolute times are converted by the caller), 0 disarms. Returns the old
    /// setting as `get` would have.
    fn set(&self, value: u64, interval: u64, abs: bool) -> (u64, u64) {
        let old = self.get();
        let now = self.now();
        let (gen, at) = {
            let mut st = self.st.lock().unwrap();
            st.gen = st.gen.wrapping_add(1);
            st.seq = st.seq.wrapping_add(1);
            st.pending = false;
            st.overrun = -1;
            st.overrun_last = 0;
            if value == 0 || now.is_none() {
                st.next = None;
                st.interval = 0;
                return old;
            }
            let now = now.unwrap();
            let at = match now {
                Point::Wall(n) => Point::Wall(n + Duration::from_nanos(value).min(MAX_DURATION)),
                Point::Cpu(n) => Point::Cpu(if abs { value } else { n.saturating_add(value) }),
            };
            st.next = Some(at);
            st.interval = interval;
            (st.gen, at)
        };
        if !matches!((self.kind, self.notify), (Kind::Posix { .. }, Notify::None)) {
            self.arm_at(gen, at);
        }
        old
    }

    /// The signal to send at an expiry.
    fn info(&self, seq: u32) -> SigInfo {
        match (self.kind, self.notify) {
            (Kind::Posix { id, sigval }, Notify::Signal { sig, .. }) => {
                let mut i = SigInfo::new(sig, SI_TIMER);
                i._pad = TIMER_MARK;
                i.fields[0] = id as u32 as u64;
                i.fields[1] = sigval;
                // Linux's _sys_private: which timer and setting; cleared at delivery.
                i.fields[2] = self.serial as u64 | (seq as u64) << 32;
                i
            }
            (_, Notify::Signal { sig, .. }) => SigInfo::new(sig, SI_KERNEL),
            (_, Notify::None) => SigInfo::default(),
        }
    }

    fn send(&self, info: SigInfo) {
        let Notify::Signal { tid, .. } = self.notify else {
            return;
        };
        let Some(tg) = self.owner.upgrade() else {
            return;
        };
        {
            let s = tg.lock();
            if s.zombie.is_some() || s.group_exit.is_some() {
                return;
            }
        }
        match tid {
            Some(tid) => {
                let t = kernel().procs.lock().unwrap().task(tid);
                if let Some(t) = t.filter(|t| Arc::ptr_eq(&t.tg, &tg)) {
                    crate::signal::send_to_task(&t, info);
                }
            }
            None => crate::signal::send_to_group(&tg, info),
        }
    }
}

impl Expire for KTimer {
    fn wanted(&self, gen: u64) -> bool {
        let st = self.st.lock().unwrap();
        st.gen == gen && st.next.is_some() && !st.pending
    }

    fn expire(&self, gen: u64) -> Option<Instant> {
        let now = self.now()?;
        // (Asked before taking the timer's lock: signal delivery takes it under the
        // signal queues' locks.)
        let ignored = match (self.kind, self.notify) {
            (Kind::Posix { .. }, Notify::Signal { sig, .. }) => self
                .owner
                .upgrade()
                .is_some_and(|tg| crate::signal::group_ignores(&tg, sig)),
            _ => false,
        };
        let (info, again) = {
            let mut st = self.st.lock().unwrap();
            if let Point::Cpu(c) = now {
                st.last_cpu = c;
            }
            if st.gen != gen || st.pending {
                return None;
            }
            let at = st.next?;
            let reached = match (at, now) {
                (Point::Wall(a), Point::Wall(n)) => a <= n,
                (Point::Cpu(a), Point::Cpu(n)) => a <= n,
                _ => false,
            };
            if !reached {
                return Some(self.check_at(at, now));
            }
            match self.kind {
                Kind::Itimer => {
                    if st.interval == 0 {
                        st.next = None;
                        (self.info(0), None)
                    } else {
                        let next = match (at, now) {
                            // Like hrtimer_forward: the next expiry after now.
                            (Point::Wall(_), _) => Self::forward(at, now, st.interval).0,
                            // Linux's CPU itimers move by one interval per check.
                            (Point::Cpu(a), _) => Point::Cpu(a.saturating_add(st.interval)),
                        };
                        st.next = Some(next);
                        (self.info(0), Some(self.check_at(next, now)))
                    }
                }
                Kind::Posix { .. } => {
                    if matches!(self.notify, Notify::None) {
                        return None;
                    }
                    if ignored {
                        // Nobody will take it: the timer just runs on.
                        if st.interval == 0 {
                            st.next = None;
                            return None;
                        }
                        let (next, _) = Self::forward(at, now, st.interval.max(1_000_000));
                        st.next = Some(next);
                        return Some(self.check_at(next, now));
                    }
                    st.pending = true;
                    if st.interval == 0 {
                        st.next = None;
                    }
                    (self.info(st.seq), None)
                }
            }
        };
        self.send(info);
        again
    }
}

/// Called for every SI_TIMER signal taken from a pending queue: false drops it (its timer
/// was set again or deleted since). Fills in si_overrun and re-arms a periodic timer.
pub fn dequeued(info: &mut SigInfo) -> bool {
    let cookie = info.fields[2];
    info.fields[2] = 0;
    let serial = cookie as u32;
    let seq = (cookie >> 32) as u32;
    let t = {
        let g = SERIALS.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref()
            .and_then(|m| m.get(&serial))
            .and_then(|w| w.upgrade())
    };
    let Some(t) = t else {
        // Deleted since.
        return false;
    };
    let rearm = {
        let mut st = t.st.lock().unwrap();
        if st.seq != seq || !st.pending {
            return false;
        }
        st.pending = false;
        let now = match t.clock {
            TimerClock::Wall(_) => Point::Wall(Instant::now()),
            _ => Point::Cpu(st.last_cpu),
        };
        let mut rearm = None;
        if st.interval > 0 {
            if let Some(at) = st.next {
                let (next, k) = KTimer::forward(at, now, st.interval);
                st.overrun += k as i64;
                st.next = Some(next);
                rearm = Some((st.gen, next));
            }
            st.overrun_last = st.overrun.max(0);
        } else {
            st.overrun_last = 0;
        }
        st.overrun = -1;
        st.seq = st.seq.wrapping_add(1);
        info.fields[0] =
            (info.fields[0] & 0xffff_ffff) | ((st.overrun_last.min(i32::MAX as i64) as u64) << 32);
        rearm
    };
    if let Some((gen, at)) = rearm {
        // (A CPU clock is looked at by the service thread.)
        let when = match at {
            Point::Wall(i) => i,
            Point::Cpu(_) => Instant::now(),
        };
        arm(t.me.clone() as Weak<dyn Expire>, gen, when);
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Interval timers

/// The signal an interval timer sends when it expires.
pub fn signal_of(which: usize) -> u32 {
    match which {
        ITIMER_VIRTUAL => SIGVTALRM,
        ITIMER_PROF => SIGPROF,
        _ => SIGALRM,
    }
}

fn itimer(tg: &Arc<ThreadGroup>, which: usize) -> Arc<KTimer> {
    with_procs(tg, |p| {
        p.itimers[which]
            .get_or_insert_with(|| {
                let clock = match which {
                    ITIMER_VIRTUAL => TimerClock::ProcessCpu(tg.tgid, true),
                    ITIMER_PROF => TimerClock::ProcessCpu(tg.tgid, false),
                    _ => TimerClock::Wall(libc::CLOCK_MONOTONIC),
                };
                let notify = Notify::Signal {
                    sig: signal_of(which),
                    tid: None,
                };
                KTimer::new(tg, clock, notify, Kind::Itimer)
            })
            .clone()
    })
}

fn dur(ns: u64) -> Duration {
    Duration::from_nanos(ns)
}

/// The current value of timer `which` of `tg`: (time to next expiry, interval).
pub fn get(tg: &Arc<ThreadGroup>, which: usize) -> (Duration, Duration) {
    let (v, i) = itimer(tg, which).get();
    (dur(v), dur(i))
}

/// Arms (value > 0) or disarms (value == 0) timer `which` of `tg`; returns the old value
/// as `get` would have.
pub fn set(
    tg: &Arc<ThreadGroup>,
    which: usize,
    value: Duration,
    interval: Duration,
) -> (Duration, Duration) {
    let ns = |d: Duration| d.min(MAX_DURATION).as_nanos() as u64;
    let (v, i) = itimer(tg, which).set(ns(value), ns(interval), false);
    (dur(v), dur(i))
}

/// Drops every timer of `tgid` (the process is gone).
pub fn cancel_all(tgid: i32) {
    let gone = {
        let mut g = PROCS.lock().unwrap_or_else(|e| e.into_inner());
        g.as_mut().and_then(|m| m.remove(&tgid))
    };
    if let Some(p) = gone {
        for t in p.posix.values() {
            forget_serial(t);
        }
    }
}

/// At execve: POSIX timers are deleted; interval timers stay.
pub fn on_exec(tg: &Arc<ThreadGroup>) {
    let gone = with_procs(tg, |p| std::mem::take(&mut p.posix));
    for t in gone.values() {
        forget_serial(t);
    }
}

fn forget_serial(t: &Arc<KTimer>) {
    let mut st = t.st.lock().unwrap();
    st.next = None;
    st.gen = st.gen.wrapping_add(1);
    drop(st);
    let mut g = SERIALS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = g.as_mut() {
        m.remove(&t.serial);
    }
}

// ---------------------------------------------------------------------------------------------
// POSIX timers

/// timer_create: a new timer of `t`'s process; returns its id. As in Linux the id is
/// taken before the sigevent is checked, so a refused `notify` (Err) still uses one up.
pub fn posix_create(
    t: &Task,
    clock: TimerClock,
    notify: Result<(Notify, Option<u64>), Errno>,
) -> Result<i32, Errno> {
    let tg = t.tg.clone();
    with_procs(&tg, |p| {
        if p.posix.len() >= i32::MAX as usize {
            return Err(Errno::EAGAIN);
        }
        let mut id = p.next_id;
        while p.posix.contains_key(&id) {
            id = if id == i32::MAX { 0 } else { id + 1 };
        }
        p.next_id = if id == i32::MAX { 0 } else { id + 1 };
        let (notify, sigval) = notify?;
        // Without a sigevent the value is the timer's id.
        let sigval = sigval.unwrap_or(id as u64);
        let k = KTimer::new(&tg, clock, notify, Kind::Posix { id, sigval });
        {
            let mut g = SERIALS.lock().unwrap_or_else(|e| e.into_inner());
            g.get_or_insert_with(HashMap::new)
                .insert(k.serial, Arc::downgrade(&k));
        }
        p.posix.insert(id, k);
        Ok(id)
    })
}

fn posix_timer(t: &Task, id: i32) -> Result<Arc<KTimer>, Errno> {
    with_procs(&t.tg, |p| p.posix.get(&id).cloned()).ok_or(Errno::EINVAL)
}

/// The clock a POSIX timer counts.
pub fn posix_clock(t: &Task, id: i32) -> Result<TimerClock, Errno> {
    Ok(posix_timer(t, id)?.clock)
}

/// timer_settime: times in ns (see `KTimer::set`).
pub fn posix_set(
    t: &Task,
    id: i32,
    value: u64,
    interval: u64,
    cpu_abs: bool,
) -> Result<(u64, u64), Errno> {
    let k = posix_timer(t, id)?;
    Ok(k.set(value, interval, cpu_abs))
}

pub fn posix_get(t: &Task, id: i32) -> Result<(u64, u64), Errno> {
    Ok(posix_timer(t, id)?.get())
}

pub fn posix_overrun(t: &Task, id: i32) -> Result<i64, Errno> {
    let k = posix_timer(t, id)?;
    let v = k.st.lock().unwrap().overrun_last;
    Ok(v.min(i32::MAX as i64))
}

pub fn posix_delete(t: &Task, id: i32) -> Result<(), Errno> {
    let k = with_procs(&t.tg, |p| p.posix.remove(&id)).ok_or(Errno::EINVAL)?;
    forget_serial(&k);
    Ok(())
}
