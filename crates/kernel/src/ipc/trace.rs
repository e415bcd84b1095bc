//! `--strace` arguments of the IPC calls, as strace prints them (inputs decoded; buffers the
//! kernel fills are shown as addresses, since calls are formatted before they run).

use crate::strace::{
    buf, cstr, flags, hex, lookup, mode, open_flags, ptr, signame, timespec, UserMem,
};
use abi::sysno as n;

const IPC_FLAGS: &[(u64, &str)] = &[
    (0o1000, "IPC_CREAT"),
    (0o2000, "IPC_EXCL"),
    (0o4000, "IPC_NOWAIT"),
];
const SHMGET_FLAGS: &[(u64, &str)] = &[
    (0o1000, "IPC_CREAT"),
    (0o2000, "IPC_EXCL"),
    (0o4000, "SHM_HUGETLB"),
    (0o10000, "SHM_NORESERVE"),
];
const SHMAT_FLAGS: &[(u64, &str)] = &[
    (0o10000, "SHM_RDONLY"),
    (0o20000, "SHM_RND"),
    (0o40000, "SHM_REMAP"),
    (0o100000, "SHM_EXEC"),
];
const SEM_FLAGS: &[(u64, &str)] = &[(0o4000, "IPC_NOWAIT"), (0x1000, "SEM_UNDO")];
const MSG_FLAGS: &[(u64, &str)] = &[
    (0o4000, "IPC_NOWAIT"),
    (0o10000, "MSG_NOERROR"),
    (0o20000, "MSG_EXCEPT"),
    (0o40000, "MSG_COPY"),
];
const SHMCTL_CMDS: &[(u64, &str)] = &[
    (0, "IPC_RMID"),
    (1, "IPC_SET"),
    (2, "IPC_STAT"),
    (3, "IPC_INFO"),
    (11, "SHM_LOCK"),
    (12, "SHM_UNLOCK"),
    (13, "SHM_STAT"),
    (14, "SHM_INFO"),
    (15, "SHM_STAT_ANY"),
];
const SEMCTL_CMDS: &[(u64, &str)] = &[
    (0, "IPC_RMID"),
    (1, "IPC_SET"),
    (2, "IPC_STAT"),
    (3, "IPC_INFO"),
    (11, "GETPID"),
    (12, "GETVAL"),
    (13, "GETALL"),
    (14, "GETNCNT"),
    (15, "GETZCNT"),
    (16, "SETVAL"),
    (17, "SETALL"),
    (18, "SEM_STAT"),
    (19, "SEM_INFO"),
    (20, "SEM_STAT_ANY"),
];
const MSGCTL_CMDS: &[(u64, &str)] = &[
    (0, "IPC_RMID"),
    (1, "IPC_SET"),
    (2, "IPC_STAT"),
    (3, "IPC_INFO"),
    (11, "MSG_STAT"),
    (12, "MSG_INFO"),
    (13, "MSG_STAT_ANY"),
];
const SIGEV: &[(u64, &str)] = &[
    (0, "SIGEV_SIGNAL"),
    (1, "SIGEV_NONE"),
    (2, "SIGEV_THREAD"),
    (4, "SIGEV_THREAD_ID"),
];

fn key(v: u64) -> String {
    if v as i32 == 0 {
        "IPC_PRIVATE".into()
    } else {
        format!("{:#x}", v as i32 as u32)
    }
}

/// IPC_* flags and the permission bits: "IPC_CREAT|0600".
fn get_flags(v: u64, table: &[(u64, &str)]) -> String {
    let v = v as u32 as u64;
    let named = flags(v & !0o777, table, "");
    match (named.is_empty(), v & 0o777) {
        (true, m) => mode(m),
        (false, 0) => named,
        (false, m) => format!("{}|{}", named, mode(m)),
    }
}

fn read(m: &dyn UserMem, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; len];
    m.read(addr, &mut b).ok()?;
    Some(b)
}

fn word(b: &[u8], i: usize) -> u64 {
    super::u64le(b, i * 8)
}

/// An array of `struct sembuf`.
fn sembufs(m: &dyn UserMem, addr: u64, n: u64) -> String {
    let Some(b) = read(m, addr, (n.min(32) * 6) as usize) else {
        return hex(addr);
    };
    let items: Vec<String> = b
        .chunks(6)
        .map(|c| {
            format!(
                "{{sem_num={}, sem_op={}, sem_flg={}}}",
                u16::from_le_bytes([c[0], c[1]]),
                i16::from_le_bytes([c[2], c[3]]),
                flags(u16::from_le_bytes([c[4], c[5]]) as u64, SEM_FLAGS, "0")
            )
        })
        .collect();
    format!(
        "[{}{}]",
        items.join(", "),
        if n > 32 { ", ..." } else { "" }
    )
}

/// A `struct msgbuf` about to be sent: {mtype, "text"}.
fn msgbuf(m: &dyn UserMem, addr: u64, len: u64) -> String {
    match read(m, addr, 8) {
        Some(b) => format!("{{{}, {}}}", word(&b, 0) as i64, buf(m, addr + 8, len)),
        None => hex(addr),
    }
}

fn mq_attr(m: &dyn UserMem, addr: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    match read(m, addr, 32) {
        Some(b) => format!(
            "{{mq_flags={}, mq_maxmsg={}, mq_msgsize={}, mq_curmsgs={}}}",
            flags(word(&b, 0), &[(0o4000, "O_NONBLOCK")], "0"),
            word(&b, 1) as i64,
            word(&b, 2) as i64,
            word(&b, 3) as i64
        ),
        None => hex(addr),
    }
}

fn sigevent(m: &dyn UserMem, addr: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    match read(m, addr, 16) {
        Some(b) => {
            let v = word(&b, 0);
            let signo = super::u32le(&b, 8) as u64;
            let how = super::u32le(&b, 12) as u64;
            format!(
                "{{sigev_value={{sival_int={}, sival_ptr={}}}, sigev_signo={}, sigev_notify={}}}",
                v as i32,
                ptr(v),
                if how == 2 {
                    (signo as i32).to_string()
                } else {
                    signame(signo)
                },
                lookup(how, SIGEV)
            )
        }
        None => hex(addr),
    }
}

/// The arguments of IPC call `nr`, or None for other calls.
pub fn args(m: &dyn UserMem, nr: u64, a: &[u64; 6]) -> Option<Vec<String>> {
    let d = |v: u64| (v as i32).to_string();
    Some(match nr {
        n::SHMGET => vec![key(a[0]), a[1].to_string(), get_flags(a[2], SHMGET_FLAGS)],
        n::SHMAT => vec![
            d(a[0]),
            ptr(a[1]),
            flags(a[2] as u32 as u64, SHMAT_FLAGS, "0"),
        ],
        n::SHMDT => vec![ptr(a[0])],
        n::SHMCTL => vec![d(a[0]), lookup(a[1] as u32 as u64, SHMCTL_CMDS), ptr(a[2])],
        n::SEMGET => vec![key(a[0]), d(a[1]), get_flags(a[2], IPC_FLAGS)],
        n::SEMOP => vec![d(a[0]), sembufs(m, a[1], a[2]), (a[2] as u32).to_string()],
        n::SEMTIMEDOP => vec![
            d(a[0]),
            sembufs(m, a[1], a[2]),
            (a[2] as u32).to_string(),
            timespec(m, a[3]),
        ],
        n::SEMCTL => vec![
            d(a[0]),
            d(a[1]),
            lookup(a[2] as u32 as u64, SEMCTL_CMDS),
            hex(a[3]),
        ],
        n::MSGGET => vec![key(a[0]), get_flags(a[1], IPC_FLAGS)],
        n::MSGSND => vec![
            d(a[0]),
            msgbuf(m, a[1], a[2]),
            a[2].to_string(),
            flags(a[3] as u32 as u64, MSG_FLAGS, "0"),
        ],
        n::MSGRCV => vec![
            d(a[0]),
            ptr(a[1]),
            a[2].to_string(),
            (a[3] as i64).to_string(),
            flags(a[4] as u32 as u64, MSG_FLAGS, "0"),
        ],
        n::MSGCTL => vec![d(a[0]), lookup(a[1] as u32 as u64, MSGCTL_CMDS), ptr(a[2])],
        n::MQ_OPEN => {
            let mut v = vec![cstr(m, a[0], 4096), open_flags(a[1])];
            if a[1] & 0o100 != 0 {
                v.push(mode(a[2] & 0o7777));
                v.push(mq_attr(m, a[3]));
            }
            v
        }
        n::MQ_UNLINK => vec![cstr(m, a[0], 4096)],
        n::MQ_TIMEDSEND => vec![
            d(a[0]),
            buf(m, a[1], a[2]),
            a[2].to_string(),
            (a[3] as u32).to_string(),
            timespec(m, a[4]),
        ],
        n::MQ_TIMEDRECEIVE => vec![
            d(a[0]),
            ptr(a[1]),
            a[2].to_string(),
            ptr(a[3]),
            timespec(m, a[4]),
        ],
        n::MQ_NOTIFY => vec![d(a[0]), sigevent(m, a[1])],
        n::MQ_GETSETATTR => vec![d(a[0]), mq_attr(m, a[1]), ptr(a[2])],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::Errno;

    /// Application memory for the formatter: one buffer at 0x1000.
    struct Mem(Vec<u8>);
    impl UserMem for Mem {
        fn read(&self, addr: u64, b: &mut [u8]) -> Result<(), Errno> {
            let off = addr.checked_sub(0x1000).ok_or(Errno::EFAULT)? as usize;
            let src = self.0.get(off..off + b.len()).ok_or(Errno::EFAULT)?;
            b.copy_from_slice(src);
            Ok(())
        }
    }

    fn call(m: &Mem, nr: u64, a: [u64; 6]) -> String {
        crate::strace::format_call_mem(m, nr, &a)
    }

    #[test]
    fn sysv_calls() {
        let m = Mem(vec![
            0, 0, 0xff, 0xff, 0x00, 0x10, 5, 0, 0, 0, 0, 0, 0, 0, b'h', b'i',
        ]);
        assert_eq!(
            call(&m, n::SHMGET, [0, 4096, 0o1600, 0, 0, 0]),
            "shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600)"
        );
        assert_eq!(
            call(&m, n::SHMAT, [3, 0, 0o10000, 0, 0, 0]),
            "shmat(3, NULL, SHM_RDONLY)"
        );
        assert_eq!(
            call(&m, n::SEMOP, [1, 0x1000, 1, 0, 0, 0]),
            "semop(1, [{sem_num=0, sem_op=-1, sem_flg=SEM_UNDO}], 1)"
        );
        assert_eq!(
            call(&m, n::SEMCTL, [1, 0, 16, 5, 0, 0]),
            "semctl(1, 0, SETVAL, 0x5)"
        );
        assert_eq!(
            call(&m, n::MSGSND, [2, 0x1006, 2, 0o4000, 0, 0]),
            "msgsnd(2, {5, \"hi\"}, 2, IPC_NOWAIT)"
        );
        assert_eq!(
            call(&m, n::MSGGET, [0x42, 0o666, 0, 0, 0, 0]),
            "msgget(0x42, 0666)"
        );
    }

    #[test]
    fn mq_calls() {
        let mut page = b"q\0".to_vec();
        page.resize(4096, 0);
        let m = Mem(page);
        assert_eq!(
            call(&m, n::MQ_OPEN, [0x1000, 2, 0, 0, 0, 0]),
            "mq_open(\"q\", O_RDWR)"
        );
        assert_eq!(
            call(&m, n::MQ_OPEN, [0x1000, 0o102, 0o600, 0, 0, 0]),
            "mq_open(\"q\", O_RDWR|O_CREAT, 0600, NULL)"
        );
        assert_eq!(
            call(&m, n::MQ_NOTIFY, [3, 0, 0, 0, 0, 0]),
            "mq_notify(3, NULL)"
        );
    }
}
