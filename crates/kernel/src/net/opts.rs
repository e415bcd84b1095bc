//! SOL_SOCKET options (Linux's sk_setsockopt/sk_getsockopt) over `SockCommon`, for every
//! family; a family answers the ones only it knows through `SocketOps::sol_get`/`sol_set`,
//! and options of other levels through `SocketOps::setsockopt`/`getsockopt`.

use super::{capable, SockOpts, Socket, CAP_NET_ADMIN, CAP_NET_RAW, HZ, SOL_SOCKET};
use crate::task::Task;
use abi::Errno;

pub const SO_DEBUG: i32 = 1;
pub const SO_REUSEADDR: i32 = 2;
pub const SO_TYPE: i32 = 3;
pub const SO_ERROR: i32 = 4;
pub const SO_DONTROUTE: i32 = 5;
pub const SO_BROADCAST: i32 = 6;
pub const SO_SNDBUF: i32 = 7;
pub const SO_RCVBUF: i32 = 8;
pub const SO_KEEPALIVE: i32 = 9;
pub const SO_OOBINLINE: i32 = 10;
pub const SO_NO_CHECK: i32 = 11;
pub const SO_PRIORITY: i32 = 12;
pub const SO_LINGER: i32 = 13;
pub const SO_BSDCOMPAT: i32 = 14;
pub const SO_REUSEPORT: i32 = 15;
pub const SO_PASSCRED: i32 = 16;
pub const SO_PEERCRED: i32 = 17;
pub const SO_RCVLOWAT: i32 = 18;
pub const SO_SNDLOWAT: i32 = 19;
pub const SO_RCVTIMEO_OLD: i32 = 20;
pub const SO_SNDTIMEO_OLD: i32 = 21;
pub const SO_BINDTODEVICE: i32 = 25;
pub const SO_PEERNAME: i32 = 28;
pub const SO_TIMESTAMP_OLD: i32 = 29;
pub const SO_ACCEPTCONN: i32 = 30;
pub const SO_PEERSEC: i32 = 31;
pub const SO_SNDBUFFORCE: i32 = 32;
pub const SO_RCVBUFFORCE: i32 = 33;
pub const SO_PASSSEC: i32 = 34;
pub const SO_TIMESTAMPNS_OLD: i32 = 35;
pub const SO_MARK: i32 = 36;
pub const SO_PROTOCOL: i32 = 38;
pub const SO_DOMAIN: i32 = 39;
pub const SO_RXQ_OVFL: i32 = 40;
pub const SO_WIFI_STATUS: i32 = 41;
pub const SO_PEEK_OFF: i32 = 42;
pub const SO_NOFCS: i32 = 43;
pub const SO_SELECT_ERR_QUEUE: i32 = 45;
pub const SO_BUSY_POLL: i32 = 46;
pub const SO_MAX_PACING_RATE: i32 = 47;
pub const SO_INCOMING_CPU: i32 = 49;
pub const SO_INCOMING_NAPI_ID: i32 = 56;
pub const SO_COOKIE: i32 = 57;
pub const SO_PEERGROUPS: i32 = 59;
pub const SO_ZEROCOPY: i32 = 60;
pub const SO_BINDTOIFINDEX: i32 = 62;
pub const SO_TIMESTAMP_NEW: i32 = 63;
pub const SO_TIMESTAMPNS_NEW: i32 = 64;
pub const SO_RCVTIMEO_NEW: i32 = 66;
pub const SO_SNDTIMEO_NEW: i32 = 67;
pub const SO_PASSPIDFD: i32 = 76;

/// SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF.
pub const MIN_SNDBUF: i32 = 4608;
pub const MIN_RCVBUF: i32 = 2304;

/// An option value in the caller's memory, read only as far as the option needs (so a
/// long optlen over a short buffer is not an EFAULT for an int option, as on Linux).
pub struct OptVal<'a> {
    pub t: &'a Task,
    pub addr: u64,
    pub len: usize,
}

impl OptVal<'_> {
    /// The int most options take: EINVAL below 4 bytes.
    pub fn int(&self) -> Result<i32, Errno> {
        if self.len < 4 {
            return Err(Errno::EINVAL);
        }
        self.t.read_val::<i32>(self.addr)
    }

    /// The first `n` bytes: EINVAL if shorter.
    pub fn bytes(&self, n: usize) -> Result<Vec<u8>, Errno> {
        if self.len < n {
            return Err(Errno::EINVAL);
        }
        let mut b = vec![0u8; n];
        self.t.read_mem(self.addr, &mut b)?;
        Ok(b)
    }
}

fn int_bytes(v: i32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

/// A timeval of a timeout in ticks (None: no timeout, reads as zero).
fn timeval_of(ticks: Option<u64>) -> Vec<u8> {
    let (sec, usec) = match ticks {
        None => (0i64, 0i64),
        Some(t) => ((t / HZ) as i64, ((t % HZ) * 1_000_000 / HZ) as i64),
    };
    let mut b = sec.to_le_bytes().to_vec();
    b.extend_from_slice(&usec.to_le_bytes());
    b
}

/// sock_set_timeout: EDOM for a bad tv_usec; negative seconds mean "do not wait";
/// zero means "no timeout"; otherwise rounded up to whole ticks.
fn set_timeout(v: &OptVal) -> Result<Option<u64>, Errno> {
    let b = v.bytes(16)?;
    let sec = i64::from_le_bytes(b[0..8].try_into().unwrap());
    let usec = i64::from_le_bytes(b[8..16].try_into().unwrap());
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(Some(0));
    }
    const MAX_SEC: i64 = (i64::MAX / HZ as i64) - 1;
    if (sec == 0 && usec == 0) || sec >= MAX_SEC {
        return Ok(None);
    }
    let per_tick = (1_000_000 / HZ) as i64;
    Ok(Some(
        sec as u64 * HZ + ((usec + per_tick - 1) / per_tick) as u64,
    ))
}

/// SO_SNDBUF/SO_RCVBUF: the value capped at the sysctl maximum (read as unsigned, so a
/// negative one is the maximum) and doubled; the *FORCE forms need CAP_NET_ADMIN and
/// are not capped (a negative one is 0).
fn buf_size(t: &Task, val: i32, force: bool, max: i32) -> Result<i32, Errno> {
    let v = if force {
        if !capable(t, CAP_NET_ADMIN) {
            return Err(Errno::EPERM);
        }
        val.max(0) as i64
    } else {
        (val as u32).min(max as u32) as i64
    };
    Ok(v.min(i32::MAX as i64 / 2) as i32 * 2)
}

/// setsockopt(SOL_SOCKET, ...).
pub fn set(t: &Task, s: &Socket, name: i32, v: &OptVal) -> Result<(), Errno> {
    let ops = &*s.ops;
    if let Some(r) = ops.sol_set(t, name, v) {
        return r;
    }
    if name == SO_BINDTODEVICE {
        // Only "no device" exists here.
        let n = v.len.min(16);
        let mut b = vec![0u8; n];
        t.read_mem(v.addr, &mut b)?;
        let name_len = b.iter().position(|&c| c == 0).unwrap_or(n);
        if !capable(t, CAP_NET_RAW) {
            return Err(Errno::EPERM);
        }
        return if name_len == 0 {
            Ok(())
        } else {
            Err(Errno::ENODEV)
        };
    }
    let val = v.int()?;
    let on = val != 0;
    let c = ops.common();
    let set = |f: &dyn Fn(&mut SockOpts)| {
        c.with_opts(|o| f(o));
        Ok(())
    };
    match name {
        SO_TYPE | SO_PROTOCOL | SO_DOMAIN | SO_ERROR | SO_ACCEPTCONN | SO_PEERCRED
        | SO_PEERNAME | SO_PEERSEC | SO_SNDLOWAT | SO_COOKIE | SO_PEERGROUPS
        | SO_INCOMING_NAPI_ID => Err(Errno::ENOPROTOOPT),
        SO_DEBUG => {
            if on && !capable(t, CAP_NET_ADMIN) {
                return Err(Errno::EACCES);
            }
            set(&|o| o.debug = on)
        }
        SO_REUSEADDR => set(&|o| o.reuseaddr = on),
        SO_REUSEPORT => {
            if on && !matches!(ops.family(), super::AF_INET | super::AF_INET6) {
                return Err(Errno::EOPNOTSUPP);
            }
            set(&|o| o.reuseport = on)
        }
        SO_DONTROUTE => set(&|o| o.dontroute = on),
        SO_BROADCAST => set(&|o| o.broadcast = on),
        SO_SNDBUF | SO_SNDBUFFORCE => {
            let v = buf_size(t, val, name == SO_SNDBUFFORCE, super::sysctl().wmem_max)?;
            c.with_opts(|o| o.sndbuf = v.max(MIN_SNDBUF));
            // Writers may proceed now.
            ops.wait_queue().notify_all();
            Ok(())
        }
        SO_RCVBUF | SO_RCVBUFFORCE => {
            let v = buf_size(t, val, name == SO_RCVBUFFORCE, super::sysctl().rmem_max)?;
            set(&|o| o.rcvbuf = v.max(MIN_RCVBUF))
        }
        SO_KEEPALIVE => set(&|o| o.keepalive = on),
        SO_OOBINLINE => set(&|o| o.oobinline = on),
        SO_NO_CHECK => set(&|o| o.no_check = on),
        SO_PRIORITY => {
            if !(0..=6).contains(&val) && !capable(t, CAP_NET_RAW) && !capable(t, CAP_NET_ADMIN) {
                return Err(Errno::EPERM);
            }
            set(&|o| o.priority = val)
        }
        SO_LINGER => {
            let b = v.bytes(8)?;
            let onoff = i32::from_le_bytes(b[0..4].try_into().unwrap());
            let secs = u32::from_le_bytes(b[4..8].try_into().unwrap()) as u64;
            set(&|o| {
                if onoff == 0 {
                    o.linger = false;
                } else {
                    o.lingertime = secs.saturating_mul(HZ);
                    o.linger = true;
                }
            })
        }
        SO_BSDCOMPAT => Ok(()),
        SO_PASSCRED => set(&|o| o.passcred = on),
        SO_PASSPIDFD => set(&|o| o.passpidfd = on),
        SO_PASSSEC => set(&|o| o.passsec = on),
        SO_TIMESTAMP_OLD | SO_TIMESTAMP_NEW => set(&|o| {
            o.timestamp = on;
            o.timestampns = false;
        }),
        SO_TIMESTAMPNS_OLD | SO_TIMESTAMPNS_NEW => set(&|o| {
            o.timestampns = on;
            o.timestamp = on;
        }),
        SO_RCVLOWAT => {
            let val = if val < 0 { i32::MAX } else { val };
            set(&|o| o.rcvlowat = if val == 0 { 1 } else { val })
        }
        SO_RCVTIMEO_OLD | SO_RCVTIMEO_NEW => {
            let to = set_timeout(v)?;
            set(&|o| o.rcvtimeo = to)
        }
        SO_SNDTIMEO_OLD | SO_SNDTIMEO_NEW => {
            let to = set_timeout(v)?;
            set(&|o| o.sndtimeo = to)
        }
        SO_MARK => {
            if !capable(t, CAP_NET_RAW) && !capable(t, CAP_NET_ADMIN) {
                return Err(Errno::EPERM);
            }
            set(&|o| o.mark = val as u32)
        }
        SO_RXQ_OVFL => set(&|o| o.rxq_ovfl = on),
        SO_WIFI_STATUS => set(&|o| o.wifi_status = on),
        SO_PEEK_OFF => {
            if !ops.peek_off_supported() {
                return Err(Errno::EOPNOTSUPP);
            }
            set(&|o| o.peek_off = val)
        }
        SO_NOFCS => set(&|o| o.nofcs = on),
        SO_SELECT_ERR_QUEUE => set(&|o| o.select_err_queue = on),
        SO_BUSY_POLL => {
            if val < 0 {
                return Err(Errno::EINVAL);
            }
            set(&|o| o.busy_poll = val)
        }
        SO_MAX_PACING_RATE => set(&|o| {
            o.max_pacing_rate = if val as u32 == u32::MAX {
                u64::MAX
            } else {
                val as u32 as u64
            }
        }),
        SO_INCOMING_CPU => set(&|o| o.incoming_cpu = val),
        SO_ZEROCOPY => {
            if matches!(ops.family(), super::AF_INET | super::AF_INET6) {
                Ok(())
            } else {
                Err(Errno::EOPNOTSUPP)
            }
        }
        SO_BINDTOIFINDEX => {
            if !capable(t, CAP_NET_RAW) {
                return Err(Errno::EPERM);
            }
            if val != 0 {
                return Err(Errno::ENODEV);
            }
            set(&|o| o.bound_dev_if = 0)
        }
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// getsockopt(SOL_SOCKET, ...): reads *optlen (EFAULT, EINVAL if negative), answers,
/// writes at most that many bytes and the length used.
pub fn get(t: &Task, s: &Socket, name: i32, optval: u64, optlen: u64) -> Result<(), Errno> {
    let len: i32 = t.read_val(optlen)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let len = len as usize;
    let ops = &*s.ops;
    let c = ops.common();
    let o = c.opts();
    let b = |x: bool| int_bytes(x as i32);
    let v: Vec<u8> = match ops.sol_get(t, name) {
        Some(r) => r?,
        None => match name {
            SO_DEBUG => b(o.debug),
            SO_DONTROUTE => b(o.dontroute),
            SO_BROADCAST => b(o.broadcast),
            SO_SNDBUF => int_bytes(o.sndbuf),
            SO_RCVBUF => int_bytes(o.rcvbuf),
            SO_REUSEADDR => b(o.reuseaddr),
            SO_REUSEPORT => b(o.reuseport),
            SO_KEEPALIVE => b(o.keepalive),
            SO_TYPE => int_bytes(ops.kind()),
            SO_PROTOCOL => int_bytes(ops.protocol()),
            SO_DOMAIN => int_bytes(ops.family()),
            SO_ERROR => int_bytes(c.take_err().map(|e| e.0).unwrap_or(0)),
            SO_OOBINLINE => b(o.oobinline),
            SO_NO_CHECK => b(o.no_check),
            SO_PRIORITY => int_bytes(o.priority),
            SO_LINGER => {
                let mut v = int_bytes(o.linger as i32);
                v.extend_from_slice(
                    &((o.lingertime / HZ).min(i32::MAX as u64) as i32).to_le_bytes(),
                );
                v
            }
            SO_BSDCOMPAT => int_bytes(0),
            SO_TIMESTAMP_OLD | SO_TIMESTAMP_NEW => b(o.timestamp && !o.timestampns),
            SO_TIMESTAMPNS_OLD | SO_TIMESTAMPNS_NEW => b(o.timestampns),
            SO_RCVTIMEO_OLD | SO_RCVTIMEO_NEW => timeval_of(o.rcvtimeo),
            SO_SNDTIMEO_OLD | SO_SNDTIMEO_NEW => timeval_of(o.sndtimeo),
            SO_RCVLOWAT => int_bytes(o.rcvlowat),
            SO_SNDLOWAT => int_bytes(1),
            SO_PASSCRED => b(o.passcred),
            SO_PASSPIDFD => b(o.passpidfd),
            SO_PASSSEC => b(o.passsec),
            SO_PEERCRED => {
                let u = match c.peer_cred() {
                    Some(p) => super::Ucred {
                        pid: p.pid,
                        uid: p.euid,
                        gid: p.egid,
                    },
                    None => super::Ucred {
                        pid: 0,
                        uid: u32::MAX,
                        gid: u32::MAX,
                    },
                };
                u.to_bytes().to_vec()
            }
            SO_PEERGROUPS => {
                let p = c.peer_cred().ok_or(Errno::ENODATA)?;
                let need = p.groups.len() * 4;
                if len < need {
                    t.write_val(optlen, &(need as i32))?;
                    return Err(Errno::ERANGE);
                }
                p.groups.iter().flat_map(|g| g.to_le_bytes()).collect()
            }
            SO_PEERNAME => {
                let a = ops.getname(true).map_err(|_| Errno::ENOTCONN)?;
                if a.len() < len {
                    return Err(Errno::EINVAL);
                }
                a
            }
            SO_ACCEPTCONN => b(ops.listening()),
            SO_PEERSEC => return Err(Errno::ENOPROTOOPT),
            SO_MARK => int_bytes(o.mark as i32),
            SO_RXQ_OVFL => b(o.rxq_ovfl),
            SO_WIFI_STATUS => b(o.wifi_status),
            SO_PEEK_OFF => {
                if !ops.peek_off_supported() {
                    return Err(Errno::EOPNOTSUPP);
                }
                int_bytes(o.peek_off)
            }
            SO_NOFCS => b(o.nofcs),
            SO_BINDTODEVICE => Vec::new(),
            SO_SELECT_ERR_QUEUE => b(o.select_err_queue),
            SO_BUSY_POLL => int_bytes(o.busy_poll),
            SO_MAX_PACING_RATE => {
                if len >= 8 {
                    o.max_pacing_rate.to_le_bytes().to_vec()
                } else {
                    int_bytes(o.max_pacing_rate.min(u32::MAX as u64) as u32 as i32)
                }
            }
            SO_INCOMING_CPU => int_bytes(o.incoming_cpu),
            SO_COOKIE => c.cookie().to_le_bytes().to_vec(),
            SO_INCOMING_NAPI_ID => int_bytes(0),
            SO_ZEROCOPY => int_bytes(0),
            SO_BINDTOIFINDEX => int_bytes(o.bound_dev_if),
            _ => return Err(Errno::ENOPROTOOPT),
        },
    };
    let n = len.min(v.len());
    if n > 0 {
        t.write_mem(optval, &v[..n])?;
    }
    t.write_val(optlen, &(n as i32))?;
    Ok(())
}

/// setsockopt for any level: SOL_SOCKET here, others to the family.
pub fn setsockopt(t: &Task, s: &Socket, level: i32, name: i32, v: &OptVal) -> Result<(), Errno> {
    if level == SOL_SOCKET {
        set(t, s, name, v)
    } else {
        s.ops.setsockopt(t, level, name, v)
    }
}

/// getsockopt for any level.
pub fn getsockopt(
    t: &Task,
    s: &Socket,
    level: i32,
    name: i32,
    optval: u64,
    optlen: u64,
) -> Result<(), Errno> {
    if level == SOL_SOCKET {
        get(t, s, name, optval, optlen)
    } else {
        s.ops.getsockopt(t, level, name, optval, optlen)
    }
}
