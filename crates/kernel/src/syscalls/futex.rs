//! Futex syscalls: futex (every operation, PI ones included), futex_waitv, and the futex2
//! calls futex_wake, futex_wait and futex_requeue (the work is in crate::futex).

use crate::futex::{self, WaitOn};
use crate::task::{SysResult, Task};
use abi::sysno as nr;
use abi::Errno;
use std::time::{Duration, Instant};

const FUTEX_PRIVATE: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_LOCK_PI: u64 = 6;
const FUTEX_UNLOCK_PI: u64 = 7;
const FUTEX_TRYLOCK_PI: u64 = 8;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_WAIT_REQUEUE_PI: u64 = 11;
const FUTEX_CMP_REQUEUE_PI: u64 = 12;
const FUTEX_LOCK_PI2: u64 = 13;

/// futex2 flags.
const FUTEX2_SIZE_MASK: u32 = 3;
const FUTEX2_SIZE_U32: u32 = 2;
const FUTEX2_NUMA: u32 = 4;
const FUTEX2_MPOL: u32 = 8;
const FUTEX2_PRIVATE: u32 = 128;
const FUTEX_WAITV_MAX: u64 = 128;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::FUTEX => do_futex(t, a),
        nr::FUTEX_WAITV => futex_waitv(t, a[0], a[1], a[2] as u32, a[3], a[4] as i32),
        nr::FUTEX_WAKE => futex2_wake(t, a[0], a[1], a[2] as i32, a[3] as u32),
        nr::FUTEX_WAIT => futex2_wait(t, a[0], a[1], a[2], a[3] as u32, a[4], a[5] as i32),
        nr::FUTEX_REQUEUE => futex2_requeue(t, a[0], a[1] as u32, a[2] as i32, a[3] as i32),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (
            nr::FUTEX,
            "PI futexes hand over in FIFO order: priorities are not inherited",
        ),
        (nr::FUTEX_WAITV, ""),
        (
            nr::FUTEX_WAKE,
            "partial: FUTEX2_NUMA and FUTEX2_MPOL are EINVAL",
        ),
        (
            nr::FUTEX_WAIT,
            "partial: FUTEX2_NUMA and FUTEX2_MPOL are EINVAL",
        ),
        (
            nr::FUTEX_REQUEUE,
            "partial: FUTEX2_NUMA and FUTEX2_MPOL are EINVAL",
        ),
    ]
}

fn read_timespec(t: &Task, addr: u64) -> Result<Duration, Errno> {
    let ts: [i64; 2] = t.read_val(addr)?;
    if ts[0] < 0 || ts[1] < 0 || ts[1] >= 1_000_000_000 {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(ts[0] as u64, ts[1] as u32))
}

/// The instant at which host clock `clock` reads `abs`.
fn abs_deadline(clock: libc::clockid_t, abs: Duration) -> Option<Instant> {
    let now = super::time::host_clock_ns(clock).unwrap_or(0);
    let left = (abs.as_nanos().min(u64::MAX as u128) as u64).saturating_sub(now);
    Instant::now().checked_add(Duration::from_nanos(left))
}

fn do_futex(t: &Task, a: &[u64; 6]) -> SysResult {
    let op = a[1];
    let cmd = op & !(FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME);
    let private = op & FUTEX_PRIVATE != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let (addr, val) = (a[0], a[2] as u32);
    // The timeout of the operations that have one: relative for FUTEX_WAIT, absolute
    // otherwise (CLOCK_REALTIME for LOCK_PI, else the clock the flag says).
    let has_timeout = matches!(
        cmd,
        FUTEX_WAIT | FUTEX_LOCK_PI | FUTEX_LOCK_PI2 | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI
    );
    let deadline = if has_timeout && a[3] != 0 {
        let d = read_timespec(t, a[3])?;
        match cmd {
            FUTEX_WAIT => Instant::now().checked_add(d),
            FUTEX_LOCK_PI => abs_deadline(libc::CLOCK_REALTIME, d),
            _ if realtime => abs_deadline(libc::CLOCK_REALTIME, d),
            _ => abs_deadline(libc::CLOCK_MONOTONIC, d),
        }
    } else {
        None
    };
    if realtime
        && !matches!(
            cmd,
            FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI | FUTEX_LOCK_PI2
        )
    {
        return Err(Errno::ENOSYS);
    }
    // The second count travels in the timeout argument.
    let val2 = a[3] as u32 as i32 as i64;
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let bitset = if cmd == FUTEX_WAIT_BITSET {
                a[5] as u32
            } else {
                u32::MAX
            };
            match futex::wait(t, addr, val, bitset, deadline, private) {
                Err(Errno::ERESTARTSYS) if a[3] != 0 && cmd == FUTEX_WAIT => Err(Errno::EINTR),
                r => r,
            }
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            let bitset = if cmd == FUTEX_WAKE_BITSET {
                a[5] as u32
            } else {
                u32::MAX
            };
            futex::wake(t, addr, val as i32 as i64, bitset, private)
        }
        FUTEX_REQUEUE => futex::requeue(t, addr, val as i32 as i64, val2, a[4], None, private),
        FUTEX_CMP_REQUEUE => futex::requeue(
            t,
            addr,
            val as i32 as i64,
            val2,
            a[4],
            Some(a[5] as u32),
            private,
        ),
        FUTEX_WAKE_OP => futex::wake_op(t, addr, val, a[4], a[3] as u32, a[5] as u32, private),
        FUTEX_LOCK_PI | FUTEX_LOCK_PI2 => futex::lock_pi(t, addr, deadline, false, private),
        FUTEX_TRYLOCK_PI => futex::lock_pi(t, addr, None, true, private),
        FUTEX_UNLOCK_PI => futex::unlock_pi(t, addr, private),
        FUTEX_WAIT_REQUEUE_PI => futex::wait_requeue_pi(t, addr, val, a[4], deadline, private),
        FUTEX_CMP_REQUEUE_PI => {
            futex::cmp_requeue_pi(t, addr, val as i32 as i64, val2, a[4], a[5] as u32, private)
        }
        _ => Err(Errno::ENOSYS),
    }
}

/// futex2 flags: only 32-bit futexes (EINVAL otherwise, as for every unknown bit).
/// Returns whether the futex is private.
fn futex2_flags(flags: u32) -> Result<bool, Errno> {
    let valid = FUTEX2_SIZE_MASK | FUTEX2_NUMA | FUTEX2_MPOL | FUTEX2_PRIVATE;
    if flags & !valid != 0
        || flags & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32
        || flags & (FUTEX2_NUMA | FUTEX2_MPOL) != 0
    {
        return Err(Errno::EINVAL);
    }
    Ok(flags & FUTEX2_PRIVATE != 0)
}

/// A futex2 absolute timeout on `clock` (CLOCK_MONOTONIC or CLOCK_REALTIME).
fn futex2_deadline(t: &Task, timeout: u64, clock: i32) -> Result<Option<Instant>, Errno> {
    if timeout == 0 {
        return Ok(None);
    }
    if clock != libc::CLOCK_MONOTONIC && clock != libc::CLOCK_REALTIME {
        return Err(Errno::EINVAL);
    }
    let d = read_timespec(t, timeout)?;
    Ok(abs_deadline(clock, d))
}

/// Reads `n` `struct futex_waitv` entries (val, uaddr, flags, reserved) as waits.
fn read_waitv(t: &Task, addr: u64, n: u64) -> Result<Vec<WaitOn>, Errno> {
    let mut b = vec![0u8; n as usize * 24];
    t.read_mem(addr, &mut b)?;
    let mut out = Vec::with_capacity(n as usize);
    for e in b.chunks(24) {
        let val = u64::from_le_bytes(e[0..8].try_into().unwrap());
        let uaddr = u64::from_le_bytes(e[8..16].try_into().unwrap());
        let flags = u32::from_le_bytes(e[16..20].try_into().unwrap());
        let reserved = u32::from_le_bytes(e[20..24].try_into().unwrap());
        if reserved != 0 {
            return Err(Errno::EINVAL);
        }
        let private = futex2_flags(flags)?;
        if val > u32::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        out.push(WaitOn {
            addr: uaddr,
            val: val as u32,
            bitset: u32::MAX,
            private,
        });
    }
    Ok(out)
}

fn futex_waitv(t: &Task, waiters: u64, n: u64, flags: u32, timeout: u64, clock: i32) -> SysResult {
    if flags != 0 || n == 0 || n > FUTEX_WAITV_MAX || waiters == 0 {
        return Err(Errno::EINVAL);
    }
    let deadline = futex2_deadline(t, timeout, clock)?;
    let on = read_waitv(t, waiters, n)?;
    futex::wait_multiple(t, &on, deadline)
}

fn futex2_wake(t: &Task, addr: u64, mask: u64, n: i32, flags: u32) -> SysResult {
    let private = futex2_flags(flags)?;
    if mask > u32::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    futex::wake(t, addr, n as i64, mask as u32, private)
}

fn futex2_wait(
    t: &Task,
    addr: u64,
    val: u64,
    mask: u64,
    flags: u32,
    timeout: u64,
    clock: i32,
) -> SysResult {
    let private = futex2_flags(flags)?;
    if val > u32::MAX as u64 || mask > u32::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    let deadline = futex2_deadline(t, timeout, clock)?;
    futex::wait(t, addr, val as u32, mask as u32, deadline, private)
}

fn futex2_requeue(t: &Task, waiters: u64, flags: u32, n_wake: i32, n_requeue: i32) -> SysResult {
    if flags != 0 || waiters == 0 {
        return Err(Errno::EINVAL);
    }
    let w = read_waitv(t, waiters, 2)?;
    if w[0].private != w[1].private {
        return Err(Errno::EINVAL);
    }
    futex::requeue2(
        t,
        w[0].addr,
        w[0].private,
        n_wake as i64,
        n_requeue as i64,
        w[1].addr,
        w[1].private,
        Some(w[0].val),
    )
}
