//! timerfd: a timer whose expirations are read as a count. As in Linux, a periodic timer
//! is not re-armed by its expiry: the expiry counts one tick and wakes readers, and the
//! intervals missed since are counted when the file is read (or its setting looked at),
//! which then re-arms it; so a tiny interval costs nothing while nobody reads.

use super::anon::anon_inode_file;
use crate::task::Task;
use crate::timers::{arm, Expire};
use crate::vfs::inode::{POLLIN, POLLRDNORM};
use crate::vfs::{File, FileOps};
use crate::wait::WaitQueue;
use abi::Errno;
use std::any::Any;
use std::sync::{Arc, Mutex, Weak};
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
    /// the caller), `interval` ns. Returns the old (value, interval).
    pub fn set(&self, value: u64, interval: u64, flags: u32) -> (u64, u64) {
        let c = &self.core;
        let mut st = c.st.lock().unwrap();
        let old = c.get(&mut st);
        st.gen = st.gen.wrapping_add(1);
        st.ticks = 0;
        st.expired = false;
        st.interval = interval.min(MAX_NS);
        st.settime_flags = flags;
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
    fn seekable(&self) -> bool {
        false
    }
    /// noop_llseek.
    fn seek(&self, _off: i64, _whence: u32) -> Result<u64, Errno> {
        Ok(0)
    }

    fn read(&self, t: &Task, f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let nonblock = f.nonblock();
        let c = &self.core;
        let ticks = t.wait_until(&[&c.wq], None, None, || {
            let mut st = c.st.lock().unwrap();
            if st.ticks == 0 {
                return if nonblock {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
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
