//! timerfd: a timer whose expirations are read as a count. As in Linux, a periodic timer
//! is not re-armed by its expiry: the expiry counts one tick and wakes readers, and the
//! intervals missed since are counted when the file is read (or its setting looked at),
//! which then re-arms it; so a tiny interval costs nothing while nobody reads.
//!
//! Absolute CLOCK_REALTIME timers follow changes of the host's clock: a host timerfd with
//! TFD_TIMER_CANCEL_ON_SET, watched like the host stdio, says when the clock was set; such
//! timers are then moved to the new time, and those set with TFD_TIMER_CANCEL_ON_SET are
//! cancelled (their next read is ECANCELED), as Linux's timerfd_clock_was_set does.

use super::anon::{anon_inode_file, wait_or_eagain};
use crate::task::Task;
use crate::timers::{arm, Expire};
use crate::vfs::inode::{POLLIN, POLLRDNORM};
use crate::vfs::{File, FileOps};
use crate::wait::{WaitHook, WaitQueue};
use abi::Errno;
use std::any::Any;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

pub const TFD_TIMER_ABSTIME: u32 = 1;
pub const TFD_TIMER_CANCEL_ON_SET: u32 = 2;
/// ioctl TFD_IOC_SET_TICKS (_IOW('T', 0, u64)).
const TFD_IOC_SET_TICKS: u32 = 0x4008_5400;
/// Longest timer value kept (longer values are clamped: about 68 years).
const MAX_NS: u64 = i32::MAX as u64 * 1_000_000_000;

struct State {
    gen: u64,
    /// The armed expiry, or the last one (expired, not yet moved forward), or None.
    next: Option<Instant>,
    interval: u64,
    ticks: u64,
    /// Expired since the timer was last moved forward.
    expired: bool,
    settime_flags: u32,
    /// For an absolute time on a real-time clock: that time (ns on the clock), so the timer
    /// can be moved when the clock is set.
    abs_real: Option<u64>,
    /// TFD_TIMER_CANCEL_ON_SET on an absolute real-time timer, and whether the clock has
    /// been set since (the next read says ECANCELED).
    might_cancel: bool,
    canceled: bool,
}

struct Core {
    me: Weak<Core>,
    clock: i32,
    st: Mutex<State>,
    wq: Arc<WaitQueue>,
}

impl Expire for Core {
    fn wanted(&self, gen: u64) -> bool {
        let st = self.st.lock().unwrap();
        st.gen == gen && !st.expired && st.next.is_some()
    }

    fn expire(&self, gen: u64) -> Option<Instant> {
        {
            let mut st = self.st.lock().unwrap();
            if st.gen != gen || st.expired {
                return None;
            }
            let at = st.next?;
            if at > Instant::now() {
                return Some(at);
            }
            st.ticks = st.ticks.saturating_add(1);
            st.expired = true;
        }
        self.wq.notify(POLLIN | POLLRDNORM);
        None
    }
}

impl Core {
    /// Moves an expired periodic timer forward past now, counting the missed intervals
    /// as ticks, and re-arms it (Linux's hrtimer_forward_now in read and gettime).
    fn forward(&self, st: &mut State) {
        if !(st.expired && st.interval > 0) {
            return;
        }
        let Some(at) = st.next else { return };
        let now = Instant::now();
        let iv = st.interval.max(1);
        let behind = now
            .saturating_duration_since(at)
            .as_nanos()
            .min(u64::MAX as u128) as u64;
        let k = behind / iv + 1;
        let next = at
            .checked_add(Duration::from_nanos(iv).saturating_mul(k.min(u32::MAX as u64) as u32))
            .unwrap_or(now + Duration::from_nanos(MAX_NS));
        st.ticks = st.ticks.saturating_add(k - 1);
        st.next = Some(next);
        st.expired = false;
        arm(self.me.clone() as Weak<dyn Expire>, st.gen, next);
    }

    /// (time left, interval) in ns.
    fn get(&self, st: &mut State) -> (u64, u64) {
        self.forward(st);
        let left = st.next.map_or(0, |n| {
            n.saturating_duration_since(Instant::now())
                .as_nanos()
                .min(u64::MAX as u128) as u64
        });
        (left, st.interval)
    }
}

pub struct TimerFd {
    core: Arc<Core>,
}

/// A new timerfd on clock `clock` (checked by the caller).
pub fn new_file(clock: i32, flags: u32) -> Arc<File> {
    let core = Arc::new_cyclic(|me| Core {
        me: me.clone(),
        clock,
        st: Mutex::new(State {
            gen: 0,
            next: None,
            interval: 0,
            ticks: 0,
            expired: false,
            settime_flags: 0,
            abs_real: None,
            might_cancel: false,
            canceled: false,
        }),
        wq: Arc::new(WaitQueue::new()),
    });
    anon_inode_file("timerfd", flags, Box::new(TimerFd { core }))
}

impl TimerFd {
    /// The timerfd behind an open file, if it is one.
    pub fn of(f: &File) -> Option<&TimerFd> {
        f.ops().as_any().and_then(|a| a.downcast_ref::<TimerFd>())
    }

    /// The clock id it was created with.
    pub fn clock(&self) -> i32 {
        self.core.clock
    }

    /// timerfd_settime: `value` ns from now (0 disarms; absolute times are converted by
    /// the caller, who passes the absolute time of a real-time clock in `abs_real`),
    /// `interval` ns. Returns the old (value, interval).
    pub fn set(&self, value: u64, interval: u64, flags: u32, abs_real: Option<u64>) -> (u64, u64) {
        let c = &self.core;
        if abs_real.is_some() {
            watch_clock(&c.me);
        }
        let mut st = c.st.lock().unwrap();
        let old = c.get(&mut st);
        st.gen = st.gen.wrapping_add(1);
        st.ticks = 0;
        st.expired = false;
        st.interval = interval.min(MAX_NS);
        st.settime_flags = flags;
        st.abs_real = abs_real.filter(|_| value != 0);
        st.might_cancel = st.abs_real.is_some() && flags & TFD_TIMER_CANCEL_ON_SET != 0;
        st.canceled = false;
        st.next = if value == 0 {
            None
        } else {
            Some(Instant::now() + Duration::from_nanos(value.min(MAX_NS)))
        };
        if let Some(at) = st.next {
            arm(c.me.clone() as Weak<dyn Expire>, st.gen, at);
        }
        old
    }

    /// timerfd_gettime: (value, interval) in ns.
    pub fn get(&self) -> (u64, u64) {
        let mut st = self.core.st.lock().unwrap();
        self.core.get(&mut st)
    }
}

impl FileOps for TimerFd {
    crate::noop_llseek!();

    fn read(&self, t: &Task, f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let c = &self.core;
        let ticks = wait_or_eagain(t, f, &c.wq, || {
            let mut st = c.st.lock().unwrap();
            if st.ticks == 0 {
                return Ok(None);
            }
            if std::mem::take(&mut st.canceled) {
                st.ticks = 0;
                st.expired = false;
                return Err(Errno::ECANCELED);
            }
            c.forward(&mut st);
            st.expired = false;
            Ok(Some(std::mem::take(&mut st.ticks)))
        })?;
        buf[..8].copy_from_slice(&ticks.to_le_bytes());
        Ok(8)
    }

    fn ioctl(&self, t: &Task, _f: &File, cmd: u32, arg: u64) -> crate::task::SysResult {
        if cmd != TFD_IOC_SET_TICKS {
            return Err(Errno::ENOTTY);
        }
        let v: u64 = t.read_val(arg)?;
        if v == 0 {
            return Err(Errno::EINVAL);
        }
        self.core.st.lock().unwrap().ticks = v;
        self.core.wq.notify(POLLIN | POLLRDNORM);
        Ok(0)
    }

    fn poll(&self, _f: &File) -> u32 {
        if self.core.st.lock().unwrap().ticks > 0 {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.core.wq.clone())
    }

    fn name(&self) -> Option<String> {
        Some("anon_inode:[timerfd]".into())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn fdinfo(&self, _f: &File) -> String {
        let st = self.core.st.lock().unwrap();
        let v = st.next.map_or(0, |n| {
            n.saturating_duration_since(Instant::now()).as_nanos() as u64
        });
        let (i, ticks, flags) = (st.interval, st.ticks, st.settime_flags);
        drop(st);
        format!(
            "clockid: {}\nticks: {}\nsettime flags: 0{:o}\nit_value: ({}, {})\nit_interval: ({}, {})\n",
            self.core.clock,
            ticks,
            flags,
            v / 1_000_000_000,
            v % 1_000_000_000,
            i / 1_000_000_000,
            i % 1_000_000_000
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Changes of the host's real-time clock

/// Timerfds with an absolute real-time setting (held weakly).
static REAL_ABS: Mutex<Vec<Weak<Core>>> = Mutex::new(Vec::new());

/// The host timerfd that hears of clock changes, and the hook on its queue.
struct ClockWatch {
    fd: Arc<OwnedFd>,
    _queue: Arc<WaitQueue>,
    _hook: Arc<ClockHook>,
}

struct ClockHook;

/// Arms the host timerfd far ahead, cancelled by any setting of the clock.
fn arm_host(fd: &OwnedFd) {
    let its = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: i64::MAX / 4,
            tv_nsec: 0,
        },
    };
    // SAFETY: a host timerfd of our own and a local itimerspec.
    unsafe {
        libc::timerfd_settime(
            fd.as_raw_fd(),
            libc::TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET as i32,
            &its,
            std::ptr::null_mut(),
        )
    };
}

fn clock_watch() -> Option<&'static ClockWatch> {
    static W: OnceLock<Option<ClockWatch>> = OnceLock::new();
    W.get_or_init(|| {
        // SAFETY: plain host call.
        let raw = unsafe {
            libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_CLOEXEC | libc::TFD_NONBLOCK)
        };
        if raw < 0 {
            return None;
        }
        // SAFETY: a fresh fd of our own.
        let fd = Arc::new(unsafe { OwnedFd::from_raw_fd(raw) });
        arm_host(&fd);
        let queue = super::hostwatch::queue(&fd)?;
        let hook = Arc::new(ClockHook);
        queue.add_hook(Arc::downgrade(&hook) as Weak<dyn WaitHook>, false);
        Some(ClockWatch {
            fd,
            _queue: queue,
            _hook: hook,
        })
    })
    .as_ref()
}

fn watch_clock(core: &Weak<Core>) {
    if clock_watch().is_none() {
        return;
    }
    let mut g = REAL_ABS.lock().unwrap();
    g.retain(|w| w.strong_count() > 0);
    if !g.iter().any(|w| Weak::ptr_eq(w, core)) {
        g.push(core.clone());
    }
}

impl WaitHook for ClockHook {
    fn notify(&self, _key: u32) -> bool {
        let Some(w) = clock_watch() else {
            return false;
        };
        let mut buf = [0u8; 8];
        // SAFETY: reading our own non-blocking host timerfd into a local.
        let r = unsafe { libc::read(w.fd.as_raw_fd(), buf.as_mut_ptr() as *mut _, 8) };
        let canceled =
            r < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECANCELED);
        if !canceled {
            return false;
        }
        arm_host(&w.fd);
        let cores: Vec<Arc<Core>> = REAL_ABS
            .lock()
            .unwrap()
            .iter()
            .filter_map(|w| w.upgrade())
            .collect();
        for c in cores {
            c.clock_was_set();
        }
        false
    }
}

impl Core {
    /// The real-time clock was set: an absolute timer moves to the new time, and one set
    /// with TFD_TIMER_CANCEL_ON_SET is cancelled.
    fn clock_was_set(&self) {
        let wake = {
            let mut st = self.st.lock().unwrap();
            let Some(abs) = st.abs_real else { return };
            if !st.expired && st.next.is_some() {
                let host = match self.clock {
                    libc::CLOCK_REALTIME_ALARM => libc::CLOCK_REALTIME,
                    c => c,
                };
                let now = crate::syscalls::time::host_clock_ns(host).unwrap_or(0);
                let at = Instant::now() + Duration::from_nanos(abs.saturating_sub(now).max(1));
                st.gen = st.gen.wrapping_add(1);
                st.next = Some(at);
                arm(self.me.clone() as Weak<dyn Expire>, st.gen, at);
            }
            if st.might_cancel {
                st.canceled = true;
                st.ticks = st.ticks.saturating_add(1);
                true
            } else {
                false
            }
        };
        if wake {
            self.wq.notify(POLLIN | POLLRDNORM);
        }
    }
}
