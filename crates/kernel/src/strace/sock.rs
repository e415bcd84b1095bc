//! strace formatting of the socket calls whose arguments depend on each other: socket
//! options (level and name), shutdown's how, accept4's flags, and sendmsg's msghdr with
//! its iovecs and control messages (SCM_RIGHTS descriptors, SCM_CREDENTIALS).

use super::{flags, hex, iovecs, lookup, ptr, read_u64, sockaddr, UserMem, MSG_FLAGS};
use abi::sysno as n;

const LEVELS: &[(u64, &str)] = &[
    (0, "SOL_IP"),
    (1, "SOL_SOCKET"),
    (6, "SOL_TCP"),
    (17, "SOL_UDP"),
    (41, "SOL_IPV6"),
    (270, "SOL_NETLINK"),
];

const SO: &[(u64, &str)] = &[
    (1, "SO_DEBUG"),
    (2, "SO_REUSEADDR"),
    (3, "SO_TYPE"),
    (4, "SO_ERROR"),
    (5, "SO_DONTROUTE"),
    (6, "SO_BROADCAST"),
    (7, "SO_SNDBUF"),
    (8, "SO_RCVBUF"),
    (9, "SO_KEEPALIVE"),
    (10, "SO_OOBINLINE"),
    (11, "SO_NO_CHECK"),
    (12, "SO_PRIORITY"),
    (13, "SO_LINGER"),
    (14, "SO_BSDCOMPAT"),
    (15, "SO_REUSEPORT"),
    (16, "SO_PASSCRED"),
    (17, "SO_PEERCRED"),
    (18, "SO_RCVLOWAT"),
    (19, "SO_SNDLOWAT"),
    (20, "SO_RCVTIMEO_OLD"),
    (21, "SO_SNDTIMEO_OLD"),
    (25, "SO_BINDTODEVICE"),
    (28, "SO_PEERNAME"),
    (29, "SO_TIMESTAMP_OLD"),
    (30, "SO_ACCEPTCONN"),
    (31, "SO_PEERSEC"),
    (32, "SO_SNDBUFFORCE"),
    (33, "SO_RCVBUFFORCE"),
    (34, "SO_PASSSEC"),
    (35, "SO_TIMESTAMPNS_OLD"),
    (36, "SO_MARK"),
    (38, "SO_PROTOCOL"),
    (39, "SO_DOMAIN"),
    (40, "SO_RXQ_OVFL"),
    (42, "SO_PEEK_OFF"),
    (46, "SO_BUSY_POLL"),
    (47, "SO_MAX_PACING_RATE"),
    (49, "SO_INCOMING_CPU"),
    (57, "SO_COOKIE"),
    (59, "SO_PEERGROUPS"),
    (60, "SO_ZEROCOPY"),
    (62, "SO_BINDTOIFINDEX"),
    (66, "SO_RCVTIMEO_NEW"),
    (67, "SO_SNDTIMEO_NEW"),
    (76, "SO_PASSPIDFD"),
    (77, "SO_PEERPIDFD"),
];

const SHUT: &[(u64, &str)] = &[(0, "SHUT_RD"), (1, "SHUT_WR"), (2, "SHUT_RDWR")];
const SOCK_FLAGS: &[(u64, &str)] = &[(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")];
const SCM: &[(u64, &str)] = &[(1, "SCM_RIGHTS"), (2, "SCM_CREDENTIALS")];

fn optname(level: u64, name: u64) -> String {
    if level as i32 == 1 {
        lookup(name, SO)
    } else {
        (name as i32).to_string()
    }
}

fn read_i32(m: &dyn UserMem, addr: u64) -> Option<i32> {
    let mut b = [0u8; 4];
    m.read(addr, &mut b).ok()?;
    Some(i32::from_ne_bytes(b))
}

/// An option value: `[N]` for an int, the address otherwise.
fn optval(m: &dyn UserMem, addr: u64, len: u64) -> String {
    if len as u32 == 4 {
        if let Some(v) = read_i32(m, addr) {
            return format!("[{}]", v);
        }
    }
    ptr(addr)
}

/// The control messages of a msghdr, as strace prints them.
fn control(m: &dyn UserMem, addr: u64, len: u64) -> String {
    let len = len.min(4096) as usize;
    let mut b = vec![0u8; len];
    if m.read(addr, &mut b).is_err() {
        return hex(addr);
    }
    let mut items = Vec::new();
    let mut off = 0usize;
    while off + 16 <= len {
        let clen = u64::from_ne_bytes(b[off..off + 8].try_into().unwrap()) as usize;
        let level = i32::from_ne_bytes(b[off + 8..off + 12].try_into().unwrap()) as u64;
        let kind = i32::from_ne_bytes(b[off + 12..off + 16].try_into().unwrap()) as u64;
        if clen < 16 || clen > len - off {
            break;
        }
        let data = &b[off + 16..off + clen];
        let lv = lookup(level, LEVELS);
        let d = match (level, kind) {
            (1, 1) => {
                let fds: Vec<String> = data
                    .chunks_exact(4)
                    .map(|c| i32::from_ne_bytes(c.try_into().unwrap()).to_string())
                    .collect();
                format!("[{}]", fds.join(", "))
            }
            (1, 2) if data.len() >= 12 => format!(
                "{{pid={}, uid={}, gid={}}}",
                i32::from_ne_bytes(data[0..4].try_into().unwrap()),
                u32::from_ne_bytes(data[4..8].try_into().unwrap()),
                u32::from_ne_bytes(data[8..12].try_into().unwrap())
            ),
            _ => format!("{:?}", data),
        };
        let ty = if level == 1 {
            lookup(kind, SCM)
        } else {
            kind.to_string()
        };
        items.push(format!(
            "{{cmsg_len={}, cmsg_level={}, cmsg_type={}, cmsg_data={}}}",
            clen, lv, ty, d
        ));
        off += (clen + 7) & !7;
    }
    format!("[{}]", items.join(", "))
}

/// A struct msghdr.
fn msghdr(m: &dyn UserMem, addr: u64) -> String {
    let f = |i: u64| read_u64(m, addr.wrapping_add(8 * i));
    let (Some(name), Some(namelen), Some(iov), Some(iovlen), Some(ctl), Some(ctllen), Some(fl)) =
        (f(0), f(1), f(2), f(3), f(4), f(5), f(6))
    else {
        return hex(addr);
    };
    let namelen = namelen as u32;
    let mut s = format!(
        "{{msg_name={}, msg_namelen={}, msg_iov={}, msg_iovlen={}",
        sockaddr(m, name, namelen as u64),
        namelen,
        iovecs(m, iov, iovlen),
        iovlen
    );
    if ctllen > 0 {
        s.push_str(&format!(", msg_control={}", control(m, ctl, ctllen)));
    }
    s.push_str(&format!(
        ", msg_controllen={}, msg_flags={}}}",
        ctllen,
        flags(fl as u32 as u64, MSG_FLAGS, "0")
    ));
    s
}

/// The socket calls `special` formats.
pub(super) fn special(m: &dyn UserMem, nr: u64, a: &[u64; 6]) -> Option<Vec<String>> {
    let fd = (a[0] as i32).to_string();
    Some(match nr {
        n::SETSOCKOPT => vec![
            fd,
            lookup(a[1] as i32 as i64 as u64, LEVELS),
            optname(a[1], a[2]),
            optval(m, a[3], a[4]),
            (a[4] as u32).to_string(),
        ],
        n::GETSOCKOPT => vec![
            fd,
            lookup(a[1] as i32 as i64 as u64, LEVELS),
            optname(a[1], a[2]),
            ptr(a[3]),
            ptr(a[4]),
        ],
        n::SHUTDOWN => vec![fd, lookup(a[1] as i32 as i64 as u64, SHUT)],
        n::ACCEPT4 => vec![
            fd,
            ptr(a[1]),
            ptr(a[2]),
            flags(a[3] as u32 as u64, SOCK_FLAGS, "0"),
        ],
        n::SENDMSG => vec![
            fd,
            msghdr(m, a[1]),
            flags(a[2] as u32 as u64, MSG_FLAGS, "0"),
        ],
        _ => return None,
    })
}
