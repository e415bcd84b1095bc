//! `--strace`: formats a system call and its result the way strace prints them.
//!
//! `format_call` gives what strace prints before " = " (name and decoded arguments) and
//! `format_result` the " = ..." part. The call is formatted before it runs, so arguments the
//! kernel fills in (read buffers, stat structures) appear as addresses, while inputs (paths,
//! written data, flags, signal sets, timespecs, argv) are decoded from application memory.
//! Unreadable memory is shown as the address, as strace does.

mod sock;

use crate::task::Task;
use abi::Errno;

/// Application memory as the formatter sees it (a task, or a fake one in tests).
pub trait UserMem {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno>;
}

impl UserMem for Task {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.read_mem(addr, buf)
    }
}

/// strace's default -s: strings and buffers are cut after this many bytes.
const MAX_STRLEN: usize = 32;
/// Paths are printed whole (up to PATH_MAX).
const PATH_MAX: usize = 4096;
const AT_FDCWD: i32 = -100;

/// The call as strace prints it before " = ", e.g. `openat(AT_FDCWD, "/etc/passwd", O_RDONLY)`.
pub fn format_call(t: &Task, nr: u64, a: &[u64; 6]) -> String {
    format_call_mem(t, nr, a)
}

/// The result as strace prints it, e.g. `= 3`, `= 0x7f0000001000`,
/// `= -1 ENOENT (No such file or directory)`.
pub fn format_result(nr: u64, r: &Result<u64, Errno>) -> String {
    use abi::sysno as n;
    match r {
        Ok(v) => match nr {
            n::MMAP | n::MREMAP | n::BRK | n::SHMAT => format!("= {:#x}", v),
            n::UMASK => format!("= {}", mode(*v)),
            _ => format!("= {}", *v as i64),
        },
        Err(e) => {
            let restart = match e.0 {
                512 => Some("To be restarted if SA_RESTART is set"),
                513 => Some("To be restarted"),
                514 => Some("To be restarted if no handler"),
                516 => Some("Interrupted by signal"),
                _ => None,
            };
            match restart {
                Some(txt) => format!("= ? {} ({})", e.name(), txt),
                None => {
                    let name = if e.name() == "E?" {
                        format!("ERRNO_{}", e.0)
                    } else {
                        e.name().to_string()
                    };
                    format!("= -1 {} ({})", name, strerror(e.0))
                }
            }
        }
    }
}

/// `format_call` over any memory (for tests).
pub fn format_call_mem(m: &dyn UserMem, nr: u64, a: &[u64; 6]) -> String {
    let Some(name) = abi::sysno::name(nr) else {
        let args: Vec<String> = a.iter().map(|&v| hex(v)).collect();
        return format!("syscall_{:#x}({})", nr, args.join(", "));
    };
    let args = match special(m, nr, a) {
        Some(v) => v,
        None => {
            let n = nargs(nr);
            let spec = spec(nr).unwrap_or("");
            let mut out = Vec::with_capacity(n);
            let kinds: Vec<char> = spec.chars().collect();
            for i in 0..n {
                let k = kinds.get(i).copied().unwrap_or('x');
                out.push(arg(m, k, a, i));
            }
            out
        }
    };
    format!("{}({})", name, args.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Argument counts (x86-64), and the kinds of the arguments of the common calls.

/// Number of arguments of each syscall 0..=334 (one digit each).
const NARGS_LOW: &str = concat!(
    "3331222336",
    "3214403443",
    "3215053333",
    "3312022130",
    "4333663323", // 0-49
    "2334555003",
    "1421334124",
    "5332112232",
    "1122122123",
    "2233312221", // 50-99
    "1403011002",
    "0002222333",
    "3111122243",
    "2223112223",
    "2322311122", // 100-149
    "2100321521",
    "2101252214",
    "2213232154",
    "3555330355",
    "5444333222", // 150-199
    "2163312153",
    "3131445310",
    "4434211222",
    "4144325635",
    "4155234554", // 200-249
    "5320324434",
    "5343453433",
    "6512364446",
    "4632144244",
    "2132144455", // 250-299
    "2545321423",
    "6653345332",
    "5351336664",
    "21564", // 300-334
);
/// Syscalls 424..=467.
const NARGS_HIGH: &str = concat!(
    "4264352533",
    "2234345654",
    "3421254443",
    "4644444336",
    "6545"
);

fn nargs(nr: u64) -> usize {
    let digit = |s: &str, i: usize| s.as_bytes().get(i).map(|b| (b - b'0') as usize);
    let n = nr as usize;
    if n < NARGS_LOW.len() {
        digit(NARGS_LOW, n).unwrap_or(6)
    } else if (424..424 + NARGS_HIGH.len()).contains(&n) {
        digit(NARGS_HIGH, n - 424).unwrap_or(6)
    } else {
        6
    }
}

/// Argument kinds, one letter per argument (see `arg`); calls absent here print hex.
fn spec(nr: u64) -> Option<&'static str> {
    use abi::sysno as n;
    Some(match nr {
        n::READ => "dpu",
        n::WRITE => "dbu",
        n::CLOSE => "d",
        n::STAT | n::LSTAT => "sp",
        n::FSTAT => "dp",
        n::POLL => "Fud",
        n::LSEEK => "dDe",
        n::MMAP => "puPMdx",
        n::MPROTECT => "puP",
        n::MUNMAP => "pu",
        n::BRK => "p",
        n::RT_SIGPROCMASK => "hqpu",
        n::RT_SIGRETURN => "",
        n::PREAD64 => "dpuD",
        n::PWRITE64 => "dbuD",
        n::READV => "dpu",
        n::WRITEV => "dvu",
        n::ACCESS => "sA",
        n::PIPE => "p",
        n::SELECT => "dpppp",
        n::MREMAP => "puuKp",
        n::MSYNC => "puY",
        n::MINCORE => "pup",
        n::MADVISE => "pum",
        n::DUP => "d",
        n::DUP2 => "dd",
        n::NANOSLEEP => "Tp",
        n::GETITIMER => "dp",
        n::ALARM => "U",
        n::SETITIMER => "dpp",
        n::SENDFILE => "ddpu",
        n::SOCKET => "yzd",
        n::CONNECT | n::BIND => "dkU",
        n::ACCEPT => "dpp",
        n::SENDTO => "dbunkU",
        n::RECVFROM => "dpunpp",
        n::SENDMSG | n::RECVMSG => "dpn",
        n::SHUTDOWN => "dd",
        n::LISTEN => "dd",
        n::GETSOCKNAME | n::GETPEERNAME => "dpp",
        n::SOCKETPAIR => "yzdp",
        n::SETSOCKOPT => "dddpU",
        n::GETSOCKOPT => "dddpp",
        n::EXIT | n::EXIT_GROUP => "d",
        n::WAIT4 => "dpWp",
        n::KILL => "dg",
        n::UNAME => "p",
        n::FLOCK => "dL",
        n::FSYNC | n::FDATASYNC => "d",
        n::TRUNCATE => "sD",
        n::FTRUNCATE => "dD",
        n::GETDENTS | n::GETDENTS64 => "dpu",
        n::GETCWD => "pu",
        n::CHDIR | n::RMDIR | n::UNLINK | n::CHROOT | n::ACCT => "s",
        n::FCHDIR => "d",
        n::RENAME | n::LINK | n::SYMLINK | n::PIVOT_ROOT => "ss",
        n::MKDIR | n::CREAT | n::CHMOD => "so",
        n::READLINK => "spu",
        n::FCHMOD => "do",
        n::CHOWN | n::LCHOWN => "sdd",
        n::FCHOWN => "ddd",
        n::UMASK => "o",
        n::GETTIMEOFDAY | n::SETTIMEOFDAY => "pp",
        n::GETRLIMIT => "rp",
        n::SETRLIMIT => "rR",
        n::GETRUSAGE => "dp",
        n::SYSINFO | n::TIMES | n::TIME => "p",
        n::SETUID | n::SETGID | n::SETFSUID | n::SETFSGID => "U",
        n::SETPGID => "dd",
        n::SETREUID | n::SETREGID => "dd",
        n::GETGROUPS | n::SETGROUPS => "dp",
        n::SETRESUID | n::SETRESGID => "ddd",
        n::GETRESUID | n::GETRESGID => "ppp",
        n::GETPGID | n::GETSID => "d",
        n::CAPGET | n::CAPSET => "pp",
        n::RT_SIGPENDING => "pu",
        n::RT_SIGTIMEDWAIT => "qpTu",
        n::RT_SIGQUEUEINFO => "dgp",
        n::RT_SIGSUSPEND => "qu",
        n::SIGALTSTACK => "pp",
        n::UTIME | n::UTIMES => "sp",
        n::MKNOD => "sox",
        n::PERSONALITY => "x",
        n::STATFS => "sp",
        n::FSTATFS => "dp",
        n::GETPRIORITY => "dd",
        n::SETPRIORITY => "ddd",
        n::SCHED_SETPARAM | n::SCHED_GETPARAM | n::SCHED_RR_GET_INTERVAL => "dp",
        n::SCHED_SETSCHEDULER => "ddp",
        n::SCHED_GETSCHEDULER | n::SCHED_GET_PRIORITY_MAX | n::SCHED_GET_PRIORITY_MIN => "d",
        n::MLOCK | n::MUNLOCK => "pu",
        n::MLOCKALL => "x",
        n::MOUNT => "sssxp",
        n::UMOUNT2 => "sx",
        n::SETHOSTNAME | n::SETDOMAINNAME => "bu",
        n::READAHEAD => "dDu",
        n::SETXATTR | n::LSETXATTR => "sSpux",
        n::FSETXATTR => "dSpux",
        n::GETXATTR | n::LGETXATTR => "sSpu",
        n::FGETXATTR => "dSpu",
        n::LISTXATTR | n::LLISTXATTR => "spu",
        n::FLISTXATTR => "dpu",
        n::REMOVEXATTR | n::LREMOVEXATTR => "sS",
        n::FREMOVEXATTR => "dS",
        n::TKILL => "dg",
        n::SCHED_SETAFFINITY | n::SCHED_GETAFFINITY => "dup",
        n::SET_TID_ADDRESS => "p",
        n::FADVISE64 => "dDDd",
        n::TIMER_CREATE => "cpp",
        n::TIMER_SETTIME => "dIpp",
        n::TIMER_GETTIME => "dp",
        n::TIMER_GETOVERRUN | n::TIMER_DELETE => "d",
        n::CLOCK_SETTIME => "cT",
        n::CLOCK_GETTIME | n::CLOCK_GETRES => "cp",
        n::CLOCK_NANOSLEEP => "cITp",
        n::EPOLL_WAIT => "dpdd",
        n::EPOLL_CTL => "dJdp",
        n::TGKILL => "ddg",
        n::WAITID => "idpWp",
        n::IOPRIO_SET => "ddd",
        n::IOPRIO_GET => "dd",
        n::INOTIFY_ADD_WATCH => "dsx",
        n::INOTIFY_RM_WATCH => "dd",
        n::MKDIRAT => "aso",
        n::MKNODAT => "asox",
        n::FCHOWNAT => "asddt",
        n::FUTIMESAT => "asp",
        n::NEWFSTATAT => "aspt",
        n::UNLINKAT => "asQ",
        n::RENAMEAT => "asas",
        n::LINKAT => "asast",
        n::SYMLINKAT => "sas",
        n::READLINKAT => "aspu",
        n::FCHMODAT => "aso",
        n::FACCESSAT => "asA",
        n::PSELECT6 => "dppppp",
        n::PPOLL => "FuTqu",
        n::UNSHARE => "N",
        n::SET_ROBUST_LIST => "pu",
        n::GET_ROBUST_LIST => "dpp",
        n::SPLICE => "dpdpux",
        n::TEE => "ddux",
        n::SYNC_FILE_RANGE => "dDDx",
        n::VMSPLICE => "dpux",
        n::UTIMENSAT => "aspt",
        n::EPOLL_PWAIT => "dpddqu",
        n::SIGNALFD => "dqu",
        n::TIMERFD_CREATE => "cC",
        n::EVENTFD => "U",
        n::FALLOCATE => "dxDD",
        n::TIMERFD_SETTIME => "dIpp",
        n::TIMERFD_GETTIME => "dp",
        n::ACCEPT4 => "dppC",
        n::SIGNALFD4 => "dquC",
        n::EVENTFD2 => "UC",
        n::EPOLL_CREATE => "d",
        n::EPOLL_CREATE1 | n::INOTIFY_INIT1 => "C",
        n::DUP3 => "ddC",
        n::PIPE2 => "pC",
        n::PREADV => "dpuD",
        n::PWRITEV => "dvuD",
        n::RT_TGSIGQUEUEINFO => "ddgp",
        n::RECVMMSG => "dpunp",
        n::PRLIMIT64 => "drRp",
        n::SYNCFS => "d",
        n::SENDMMSG => "dpun",
        n::SETNS => "dN",
        n::GETCPU => "ppp",
        n::RENAMEAT2 => "asasH",
        n::GETRANDOM => "puG",
        n::MEMFD_CREATE => "SB",
        n::MLOCK2 => "pux",
        n::COPY_FILE_RANGE => "dpdpux",
        n::PREADV2 => "dpuDx",
        n::PWRITEV2 => "dvuDx",
        n::PKEY_MPROTECT => "puPd",
        n::STATX => "astxp",
        n::RSEQ => "pxxx",
        n::PIDFD_SEND_SIGNAL => "dgpx",
        n::PIDFD_OPEN => "dx",
        n::CLOSE_RANGE => "UUx",
        n::PIDFD_GETFD => "ddx",
        n::FACCESSAT2 => "asAj",
        n::EPOLL_PWAIT2 => "dpdpqu",
        n::FCHMODAT2 => "asot",
        _ => return None,
    })
}

/// Formats argument `i` of kind `k`.
fn arg(m: &dyn UserMem, k: char, a: &[u64; 6], i: usize) -> String {
    let v = a[i];
    let next = a.get(i + 1).copied().unwrap_or(0);
    match k {
        'd' => (v as i32).to_string(),
        'D' => (v as i64).to_string(),
        'u' => v.to_string(),
        'U' => (v as u32).to_string(),
        'p' => ptr(v),
        'a' => dirfd(v),
        's' => cstr(m, v, PATH_MAX),
        'S' => cstr(m, v, MAX_STRLEN),
        'b' => buf(m, v, next),
        'o' => mode(v),
        'O' => open_flags(v),
        'C' => flags(v & !0o3, OPEN_FLAGS, "0"),
        'P' => flags(v, PROT, "PROT_NONE"),
        'M' => mmap_flags(v),
        'N' => flags(v, CLONE_FLAGS, "0"),
        'g' => signame(v),
        'h' => lookup(v, SIGPROCMASK_HOW),
        'A' => flags(v, ACCESS_MODES, "F_OK"),
        'W' => flags(v, WAIT_OPTIONS, "0"),
        'e' => lookup(v, WHENCE),
        't' => flags(v, AT_FLAGS, "0"),
        'Q' => flags(v, AT_REMOVEDIR, "0"),
        'j' => flags(v, AT_EACCESS, "0"),
        'r' => lookup(v, RLIMITS),
        'R' => rlimit_struct(m, v),
        'c' => clockid(v),
        'm' => lookup(v, MADVISE),
        'T' => timespec(m, v),
        'q' => sigset_at(m, v),
        'k' => sockaddr(m, v, next),
        'v' => iovecs(m, v, next),
        'F' => pollfds(m, v, next),
        'y' => lookup(v, AF),
        'z' => sock_type(v),
        'n' => flags(v, MSG_FLAGS, "0"),
        'G' => flags(v, GRND, "0"),
        'K' => flags(v, MREMAP, "0"),
        'Y' => flags(v, MSYNC, "0"),
        'L' => flags(v, FLOCK, "0"),
        'I' => flags(v, TIMER_FLAGS, "0"),
        'J' => lookup(v, EPOLL_CTL),
        'H' => flags(v, RENAME, "0"),
        'B' => flags(v, MFD, "0"),
        'i' => lookup(v, IDTYPE),
        _ => hex(v),
    }
}

/// Calls whose arguments depend on each other.
fn special(m: &dyn UserMem, nr: u64, a: &[u64; 6]) -> Option<Vec<String>> {
    use abi::sysno as n;
    const O_CREAT: u64 = 0o100;
    const O_TMPFILE: u64 = 0o20000000;
    if let Some(v) = sock::special(m, nr, a) {
        return Some(v);
    }
    if let Some(v) = crate::ipc::trace::args(m, nr, a) {
        return Some(v);
    }
    Some(match nr {
        n::OPEN => {
            let mut v = vec![cstr(m, a[0], PATH_MAX), open_flags(a[1])];
            if a[1] & (O_CREAT | O_TMPFILE) != 0 {
                v.push(mode(a[2]));
            }
            v
        }
        n::OPENAT => {
            let mut v = vec![dirfd(a[0]), cstr(m, a[1], PATH_MAX), open_flags(a[2])];
            if a[2] & (O_CREAT | O_TMPFILE) != 0 {
                v.push(mode(a[3]));
            }
            v
        }
        n::OPENAT2 => vec![
            dirfd(a[0]),
            cstr(m, a[1], PATH_MAX),
            open_how(m, a[2], a[3]),
            a[3].to_string(),
        ],
        n::FCNTL => fcntl(a),
        n::IOCTL => vec![(a[0] as i32).to_string(), lookup(a[1], IOCTLS), hex(a[2])],
        n::CLONE => clone(a),
        n::CLONE3 => vec![clone3(m, a[0], a[1]), a[1].to_string()],
        n::EXECVE => vec![cstr(m, a[0], PATH_MAX), argv(m, a[1]), envp(m, a[2])],
        n::EXECVEAT => vec![
            dirfd(a[0]),
            cstr(m, a[1], PATH_MAX),
            argv(m, a[2]),
            envp(m, a[3]),
            flags(a[4], AT_FLAGS, "0"),
        ],
        n::RT_SIGACTION => vec![
            signame(a[0]),
            sigaction(m, a[1]),
            ptr(a[2]),
            a[3].to_string(),
        ],
        n::FUTEX => futex(m, a),
        n::EPOLL_CTL
        | n::EPOLL_CREATE1
        | n::EVENTFD2
        | n::TIMERFD_CREATE
        | n::TIMERFD_SETTIME
        | n::TIMER_SETTIME
        | n::TIMER_CREATE
        | n::SIGNALFD4
        | n::PIDFD_OPEN
        | n::EPOLL_PWAIT2
        | n::FUTEX_WAITV
        | n::FUTEX_WAKE
        | n::FUTEX_WAIT
        | n::FUTEX_REQUEUE => event_call(m, nr, a),
        n::PRCTL => prctl(m, a),
        n::ARCH_PRCTL => vec![lookup(a[0], ARCH_PRCTL), hex(a[1])],
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Scalars and flag sets

pub(crate) fn hex(v: u64) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{:#x}", v)
    }
}

pub(crate) fn ptr(v: u64) -> String {
    if v == 0 {
        "NULL".into()
    } else {
        format!("{:#x}", v)
    }
}

fn dirfd(v: u64) -> String {
    if v as i32 == AT_FDCWD {
        "AT_FDCWD".into()
    } else {
        (v as i32).to_string()
    }
}

/// A file mode as strace prints it (%#03o).
pub fn mode(v: u64) -> String {
    if v == 0 {
        "000".into()
    } else {
        format!("{:0>3}", format!("0{:o}", v))
    }
}

/// Names the bits of `v` from `table` (entries with several bits must come before their
/// parts), joined by '|'; leftover bits in hex; `zero` when nothing is set.
pub fn flags(v: u64, table: &[(u64, &str)], zero: &str) -> String {
    if v == 0 {
        return zero.to_string();
    }
    let mut rest = v;
    let mut parts: Vec<String> = Vec::new();
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits {
            parts.push(name.to_string());
            rest &= !bits;
        }
    }
    if rest != 0 {
        parts.push(format!("{:#x}", rest));
    }
    parts.join("|")
}

/// The name of value `v` in `table`, or the number.
pub(crate) fn lookup(v: u64, table: &[(u64, &str)]) -> String {
    for &(x, name) in table {
        if x == v {
            return name.to_string();
        }
    }
    if (v as i64) < 0 && (v as i64) > -4096 {
        (v as i64).to_string()
    } else if v < 4096 {
        v.to_string()
    } else {
        format!("{:#x}", v)
    }
}

const OPEN_FLAGS: &[(u64, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o20200000, "O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];

/// open(2) flags: the access mode first, then the other flags.
pub fn open_flags(v: u64) -> String {
    let acc = match v & 3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    let rest = v & !3;
    if rest == 0 {
        acc.to_string()
    } else {
        format!("{}|{}", acc, flags(rest, OPEN_FLAGS, ""))
    }
}

const PROT: &[(u64, &str)] = &[
    (1, "PROT_READ"),
    (2, "PROT_WRITE"),
    (4, "PROT_EXEC"),
    (8, "PROT_SEM"),
    (0x0100_0000, "PROT_GROWSDOWN"),
    (0x0200_0000, "PROT_GROWSUP"),
];

const MAP_FLAGS: &[(u64, &str)] = &[
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
    (0x4000000, "MAP_UNINITIALIZED"),
];

/// mmap(2) flags: the mapping type, then the other flags.
pub fn mmap_flags(v: u64) -> String {
    let ty = match v & 0xf {
        1 => "MAP_SHARED".to_string(),
        2 => "MAP_PRIVATE".to_string(),
        3 => "MAP_SHARED_VALIDATE".to_string(),
        t => format!("{:#x} /* MAP_??? */", t),
    };
    let rest = v & !0xf;
    if rest == 0 {
        ty
    } else {
        format!("{}|{}", ty, flags(rest, MAP_FLAGS, ""))
    }
}

const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"),
    (0x40000, "CLONE_SYSVSEM"),
    (0x80000, "CLONE_SETTLS"),
    (0x100000, "CLONE_PARENT_SETTID"),
    (0x200000, "CLONE_CHILD_CLEARTID"),
    (0x400000, "CLONE_DETACHED"),
    (0x800000, "CLONE_UNTRACED"),
    (0x1000000, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"),
    (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
    (0x100000000, "CLONE_CLEAR_SIGHAND"),
    (0x200000000, "CLONE_INTO_CGROUP"),
];

/// clone(2) flags with the exit signal in the low byte.
pub fn clone_flags(v: u64) -> String {
    let sig = v & 0xff;
    let rest = v & !0xff;
    let mut s = if rest == 0 {
        String::new()
    } else {
        flags(rest, CLONE_FLAGS, "")
    };
    if sig != 0 {
        if !s.is_empty() {
            s.push('|');
        }
        s.push_str(&signame(sig));
    }
    if s.is_empty() {
        s.push('0');
    }
    s
}

/// A signal number as strace names it (SIGINT, SIGRTMIN, SIGRT_3).
pub fn signame(v: u64) -> String {
    match v {
        1..=31 => abi::signal::name(v as u32).to_string(),
        32 => "SIGRTMIN".into(),
        33..=64 => format!("SIGRT_{}", v - 32),
        _ => (v as i32).to_string(),
    }
}

/// A signal set as strace prints it: `[INT TERM]`, or `~[...]` when most signals are in it.
pub fn sigset(set: u64) -> String {
    let (inv, s) = if set.count_ones() > 32 {
        (true, !set)
    } else {
        (false, set)
    };
    let mut names = Vec::new();
    for sig in 1..=64u64 {
        if s & (1 << (sig - 1)) != 0 {
            let n = signame(sig);
            names.push(n.strip_prefix("SIG").map(str::to_string).unwrap_or(n));
        }
    }
    format!("{}[{}]", if inv { "~" } else { "" }, names.join(" "))
}

fn sigset_at(m: &dyn UserMem, addr: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    match read_u64(m, addr) {
        Some(v) => sigset(v),
        None => hex(addr),
    }
}

const SIGPROCMASK_HOW: &[(u64, &str)] = &[(0, "SIG_BLOCK"), (1, "SIG_UNBLOCK"), (2, "SIG_SETMASK")];
const ACCESS_MODES: &[(u64, &str)] = &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")];
const WAIT_OPTIONS: &[(u64, &str)] = &[
    (1, "WNOHANG"),
    (2, "WSTOPPED"),
    (4, "WEXITED"),
    (8, "WCONTINUED"),
    (0x0100_0000, "WNOWAIT"),
    (0x2000_0000, "__WNOTHREAD"),
    (0x4000_0000, "__WALL"),
    (0x8000_0000, "__WCLONE"),
];
const WHENCE: &[(u64, &str)] = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];
const AT_FLAGS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
    (0x8000, "AT_RECURSIVE"),
];
const AT_REMOVEDIR: &[(u64, &str)] = &[(0x200, "AT_REMOVEDIR")];
const AT_EACCESS: &[(u64, &str)] = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_EACCESS"),
    (0x1000, "AT_EMPTY_PATH"),
];
const RLIMITS: &[(u64, &str)] = &[
    (0, "RLIMIT_CPU"),
    (1, "RLIMIT_FSIZE"),
    (2, "RLIMIT_DATA"),
    (3, "RLIMIT_STACK"),
    (4, "RLIMIT_CORE"),
    (5, "RLIMIT_RSS"),
    (6, "RLIMIT_NPROC"),
    (7, "RLIMIT_NOFILE"),
    (8, "RLIMIT_MEMLOCK"),
    (9, "RLIMIT_AS"),
    (10, "RLIMIT_LOCKS"),
    (11, "RLIMIT_SIGPENDING"),
    (12, "RLIMIT_MSGQUEUE"),
    (13, "RLIMIT_NICE"),
    (14, "RLIMIT_RTPRIO"),
    (15, "RLIMIT_RTTIME"),
];
const CLOCKS: &[(u64, &str)] = &[
    (0, "CLOCK_REALTIME"),
    (1, "CLOCK_MONOTONIC"),
    (2, "CLOCK_PROCESS_CPUTIME_ID"),
    (3, "CLOCK_THREAD_CPUTIME_ID"),
    (4, "CLOCK_MONOTONIC_RAW"),
    (5, "CLOCK_REALTIME_COARSE"),
    (6, "CLOCK_MONOTONIC_COARSE"),
    (7, "CLOCK_BOOTTIME"),
    (8, "CLOCK_REALTIME_ALARM"),
    (9, "CLOCK_BOOTTIME_ALARM"),
    (11, "CLOCK_TAI"),
];

fn clockid(v: u64) -> String {
    let id = v as i32;
    if id < 0 {
        let pid = !(id >> 3);
        let kind = ["CPUCLOCK_PROF", "CPUCLOCK_VIRT", "CPUCLOCK_SCHED", "0x3"][(id & 3) as usize];
        let mk = if id & 4 != 0 {
            "MAKE_THREAD_CPUCLOCK"
        } else {
            "MAKE_PROCESS_CPUCLOCK"
        };
        return format!("{}({}, {})", mk, pid, kind);
    }
    lookup(id as u64, CLOCKS)
}

const MADVISE: &[(u64, &str)] = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (18, "MADV_WIPEONFORK"),
    (19, "MADV_KEEPONFORK"),
    (20, "MADV_COLD"),
    (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
    (100, "MADV_HWPOISON"),
];
const AF: &[(u64, &str)] = &[
    (0, "AF_UNSPEC"),
    (1, "AF_UNIX"),
    (2, "AF_INET"),
    (10, "AF_INET6"),
    (16, "AF_NETLINK"),
    (17, "AF_PACKET"),
];

fn sock_type(v: u64) -> String {
    const TYPES: &[(u64, &str)] = &[
        (1, "SOCK_STREAM"),
        (2, "SOCK_DGRAM"),
        (3, "SOCK_RAW"),
        (4, "SOCK_RDM"),
        (5, "SOCK_SEQPACKET"),
        (6, "SOCK_DCCP"),
        (10, "SOCK_PACKET"),
    ];
    const FL: &[(u64, &str)] = &[(0o4000, "SOCK_NONBLOCK"), (0o2000000, "SOCK_CLOEXEC")];
    let base = lookup(v & 0xf, TYPES);
    let rest = v & !0xf;
    if rest == 0 {
        base
    } else {
        format!("{}|{}", base, flags(rest, FL, ""))
    }
}

const MSG_FLAGS: &[(u64, &str)] = &[
    (0x1, "MSG_OOB"),
    (0x2, "MSG_PEEK"),
    (0x4, "MSG_DONTROUTE"),
    (0x8, "MSG_CTRUNC"),
    (0x10, "MSG_PROXY"),
    (0x20, "MSG_TRUNC"),
    (0x40, "MSG_DONTWAIT"),
    (0x80, "MSG_EOR"),
    (0x100, "MSG_WAITALL"),
    (0x200, "MSG_FIN"),
    (0x400, "MSG_SYN"),
    (0x800, "MSG_CONFIRM"),
    (0x1000, "MSG_RST"),
    (0x2000, "MSG_ERRQUEUE"),
    (0x4000, "MSG_NOSIGNAL"),
    (0x8000, "MSG_MORE"),
    (0x10000, "MSG_WAITFORONE"),
    (0x20000000, "MSG_FASTOPEN"),
    (0x40000000, "MSG_CMSG_CLOEXEC"),
];
const GRND: &[(u64, &str)] = &[
    (1, "GRND_NONBLOCK"),
    (2, "GRND_RANDOM"),
    (4, "GRND_INSECURE"),
];
const MREMAP: &[(u64, &str)] = &[
    (1, "MREMAP_MAYMOVE"),
    (2, "MREMAP_FIXED"),
    (4, "MREMAP_DONTUNMAP"),
];
const MSYNC: &[(u64, &str)] = &[(1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC")];
const FLOCK: &[(u64, &str)] = &[
    (1, "LOCK_SH"),
    (2, "LOCK_EX"),
    (4, "LOCK_NB"),
    (8, "LOCK_UN"),
];
const TIMER_FLAGS: &[(u64, &str)] = &[(1, "TIMER_ABSTIME")];
const EPOLL_CTL: &[(u64, &str)] = &[
    (1, "EPOLL_CTL_ADD"),
    (2, "EPOLL_CTL_DEL"),
    (3, "EPOLL_CTL_MOD"),
];
const RENAME: &[(u64, &str)] = &[
    (1, "RENAME_NOREPLACE"),
    (2, "RENAME_EXCHANGE"),
    (4, "RENAME_WHITEOUT"),
];
const MFD: &[(u64, &str)] = &[
    (1, "MFD_CLOEXEC"),
    (2, "MFD_ALLOW_SEALING"),
    (4, "MFD_HUGETLB"),
    (8, "MFD_NOEXEC_SEAL"),
    (16, "MFD_EXEC"),
];
const IDTYPE: &[(u64, &str)] = &[(0, "P_ALL"), (1, "P_PID"), (2, "P_PGID"), (3, "P_PIDFD")];
const ARCH_PRCTL: &[(u64, &str)] = &[
    (0x1001, "ARCH_SET_GS"),
    (0x1002, "ARCH_SET_FS"),
    (0x1003, "ARCH_GET_FS"),
    (0x1004, "ARCH_GET_GS"),
    (0x1011, "ARCH_GET_CPUID"),
    (0x1012, "ARCH_SET_CPUID"),
    (0x1021, "ARCH_GET_XCOMP_SUPP"),
    (0x1022, "ARCH_GET_XCOMP_PERM"),
    (0x1023, "ARCH_REQ_XCOMP_PERM"),
    (0x1024, "ARCH_GET_XCOMP_GUEST_PERM"),
    (0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"),
    (0x3001, "ARCH_SHSTK_ENABLE"),
    (0x3002, "ARCH_SHSTK_DISABLE"),
    (0x3003, "ARCH_SHSTK_LOCK"),
    (0x3005, "ARCH_SHSTK_STATUS"),
];
const IOCTLS: &[(u64, &str)] = &[
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x5404, "TCSETSF"),
    (0x5409, "TCSBRK"),
    (0x540a, "TCXONC"),
    (0x540b, "TCFLSH"),
    (0x540e, "TIOCSCTTY"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5411, "TIOCOUTQ"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x541b, "FIONREAD"),
    (0x5421, "FIONBIO"),
    (0x5422, "TIOCNOTTY"),
    (0x5429, "TIOCGSID"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
    (0x80045430, "TIOCGPTN"),
    (0x40045431, "TIOCSPTLCK"),
    (0x80045432, "TIOCGDEV"),
    (0x5441, "TIOCGPTPEER"),
    // More terminal requests (crate::tty).
    (0x5405, "TCGETA"),
    (0x5406, "TCSETA"),
    (0x5407, "TCSETAW"),
    (0x5408, "TCSETAF"),
    (0x540c, "TIOCEXCL"),
    (0x540d, "TIOCNXCL"),
    (0x5412, "TIOCSTI"),
    (0x5419, "TIOCGSOFTCAR"),
    (0x541a, "TIOCSSOFTCAR"),
    (0x5420, "TIOCPKT"),
    (0x5423, "TIOCSETD"),
    (0x5424, "TIOCGETD"),
    (0x5425, "TCSBRKP"),
    (0x5427, "TIOCSBRK"),
    (0x5428, "TIOCCBRK"),
    (0x5437, "TIOCVHANGUP"),
    (0x5456, "TIOCGLCKTRMIOS"),
    (0x5457, "TIOCSLCKTRMIOS"),
    (0x802c542a, "TCGETS2"),
    (0x402c542b, "TCSETS2"),
    (0x402c542c, "TCSETSW2"),
    (0x402c542d, "TCSETSF2"),
    (0x40045436, "TIOCSIG"),
    (0x80045438, "TIOCGPKT"),
    (0x80045439, "TIOCGPTLCK"),
    (0x80045440, "TIOCGEXCL"),
    (0x5460, "FIOQSIZE"),
];

// ---------------------------------------------------------------------------------------------
// Strings and buffers

fn read_u64(m: &dyn UserMem, addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    m.read(addr, &mut b).ok()?;
    Some(u64::from_ne_bytes(b))
}

/// strace's quoting: `"` and `\` escaped, \t \n \v \f \r, other non-printables in octal
/// (three digits when an octal digit follows).
pub fn quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            0x0b => out.push_str("\\v"),
            0x0c => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                out.push('\\');
                let next_is_octal = s.get(i + 1).is_some_and(|d| (b'0'..=b'7').contains(d));
                if next_is_octal {
                    out.push((b'0' + (c >> 6)) as char);
                    out.push((b'0' + ((c >> 3) & 7)) as char);
                } else if c >> 3 != 0 {
                    if c >> 6 != 0 {
                        out.push((b'0' + (c >> 6)) as char);
                    }
                    out.push((b'0' + ((c >> 3) & 7)) as char);
                }
                out.push((b'0' + (c & 7)) as char);
            }
        }
    }
    out.push('"');
    out
}

/// Reads up to `max` bytes of a NUL-terminated string, page by page. Returns the bytes and
/// whether the string was longer than `max`.
fn read_cstr(m: &dyn UserMem, addr: u64, max: usize) -> Option<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut a = addr;
    loop {
        let want = max + 1 - out.len();
        let n = ((4096 - a % 4096) as usize).min(want);
        let mut b = vec![0u8; n];
        if m.read(a, &mut b).is_err() {
            // strace prints what it could read only when it got a whole string.
            return None;
        }
        if let Some(p) = b.iter().position(|&c| c == 0) {
            out.extend_from_slice(&b[..p]);
            let long = out.len() > max;
            out.truncate(max);
            return Some((out, long));
        }
        out.extend_from_slice(&b);
        if out.len() > max {
            out.truncate(max);
            return Some((out, true));
        }
        a = a.checked_add(n as u64)?;
    }
}

/// A NUL-terminated string argument: quoted, cut at `max` bytes with "...".
pub(crate) fn cstr(m: &dyn UserMem, addr: u64, max: usize) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    match read_cstr(m, addr, max) {
        Some((s, long)) => format!("{}{}", quote(&s), if long { "..." } else { "" }),
        None => hex(addr),
    }
}

/// A buffer of `len` bytes the call reads (write's data): quoted, cut at 32 bytes.
pub(crate) fn buf(m: &dyn UserMem, addr: u64, len: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let n = (len as usize).min(MAX_STRLEN);
    let mut b = vec![0u8; n];
    if m.read(addr, &mut b).is_err() {
        return hex(addr);
    }
    format!(
        "{}{}",
        quote(&b),
        if len as usize > MAX_STRLEN { "..." } else { "" }
    )
}

pub(crate) fn timespec(m: &dyn UserMem, addr: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let (Some(s), Some(ns)) = (
        read_u64(m, addr),
        addr.checked_add(8).and_then(|x| read_u64(m, x)),
    ) else {
        return hex(addr);
    };
    format!("{{tv_sec={}, tv_nsec={}}}", s as i64, ns as i64)
}

fn rlim_value(v: u64) -> String {
    if v == u64::MAX {
        "RLIM64_INFINITY".into()
    } else if v > 0 && v.is_multiple_of(1024) {
        format!("{}*1024", v / 1024)
    } else {
        v.to_string()
    }
}

fn rlimit_struct(m: &dyn UserMem, addr: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let (Some(cur), Some(max)) = (
        read_u64(m, addr),
        addr.checked_add(8).and_then(|x| read_u64(m, x)),
    ) else {
        return hex(addr);
    };
    format!(
        "{{rlim_cur={}, rlim_max={}}}",
        rlim_value(cur),
        rlim_value(max)
    )
}

/// execve's argv: `["ls", "-l"]`, at most 32 entries shown.
fn argv(m: &dyn UserMem, addr: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let mut items = Vec::new();
    for i in 0..=MAX_STRLEN as u64 {
        let Some(p) = addr.checked_add(i * 8).and_then(|x| read_u64(m, x)) else {
            if i == 0 {
                return hex(addr);
            }
            items.push(format!("{:#x}", addr.wrapping_add(i * 8)));
            break;
        };
        if p == 0 {
            break;
        }
        if i as usize == MAX_STRLEN {
            items.push("...".into());
            break;
        }
        items.push(cstr(m, p, MAX_STRLEN));
    }
    format!("[{}]", items.join(", "))
}

/// execve's envp: the address and the number of variables, as strace abbreviates it.
fn envp(m: &dyn UserMem, addr: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let mut n = 0u64;
    while n < 1 << 16 {
        match addr.checked_add(n * 8).and_then(|x| read_u64(m, x)) {
            Some(0) => break,
            Some(_) => n += 1,
            None => return hex(addr),
        }
    }
    format!(
        "{:#x} /* {} var{} */",
        addr,
        n,
        if n == 1 { "" } else { "s" }
    )
}

fn iovecs(m: &dyn UserMem, addr: u64, cnt: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let mut items = Vec::new();
    for i in 0..cnt.min(MAX_STRLEN as u64 + 1) {
        if i as usize == MAX_STRLEN {
            items.push("...".into());
            break;
        }
        let at = addr.wrapping_add(i * 16);
        let (Some(base), Some(len)) = (read_u64(m, at), read_u64(m, at.wrapping_add(8))) else {
            if i == 0 {
                return hex(addr);
            }
            items.push(format!("{:#x}", at));
            break;
        };
        items.push(format!(
            "{{iov_base={}, iov_len={}}}",
            buf(m, base, len),
            len
        ));
    }
    format!("[{}]", items.join(", "))
}

fn pollfds(m: &dyn UserMem, addr: u64, cnt: u64) -> String {
    const POLL: &[(u64, &str)] = &[
        (0x1, "POLLIN"),
        (0x2, "POLLPRI"),
        (0x4, "POLLOUT"),
        (0x8, "POLLERR"),
        (0x10, "POLLHUP"),
        (0x20, "POLLNVAL"),
        (0x40, "POLLRDNORM"),
        (0x80, "POLLRDBAND"),
        (0x100, "POLLWRNORM"),
        (0x200, "POLLWRBAND"),
        (0x400, "POLLMSG"),
        (0x2000, "POLLRDHUP"),
    ];
    if addr == 0 {
        return "NULL".into();
    }
    let mut items = Vec::new();
    for i in 0..cnt.min(MAX_STRLEN as u64 + 1) {
        if i as usize == MAX_STRLEN {
            items.push("...".into());
            break;
        }
        let Some(v) = addr.checked_add(i * 8).and_then(|x| read_u64(m, x)) else {
            if i == 0 {
                return hex(addr);
            }
            break;
        };
        let fd = v as u32 as i32;
        let ev = (v >> 32) & 0xffff;
        items.push(format!("{{fd={}, events={}}}", fd, flags(ev, POLL, "0")));
    }
    format!("[{}]", items.join(", "))
}

fn sockaddr(m: &dyn UserMem, addr: u64, len: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let n = (len as usize).min(128);
    if n < 2 {
        return hex(addr);
    }
    let mut b = vec![0u8; n];
    if m.read(addr, &mut b).is_err() {
        return hex(addr);
    }
    let family = u16::from_ne_bytes([b[0], b[1]]) as u64;
    let fam = lookup(family, AF);
    match family {
        1 => {
            let path = &b[2..];
            if path.first() == Some(&0) && path.len() > 1 {
                format!("{{sa_family={}, sun_path=@{}}}", fam, quote(&path[1..]))
            } else {
                let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                format!("{{sa_family={}, sun_path={}}}", fam, quote(&path[..end]))
            }
        }
        2 if n >= 8 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            format!(
                "{{sa_family={}, sin_port=htons({}), sin_addr=inet_addr(\"{}\")}}",
                fam, port, ip
            )
        }
        10 if n >= 28 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let flow = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            let mut a16 = [0u8; 16];
            a16.copy_from_slice(&b[8..24]);
            let ip = std::net::Ipv6Addr::from(a16);
            let scope = u32::from_ne_bytes([b[24], b[25], b[26], b[27]]);
            format!(
                "{{sa_family={}, sin6_port=htons({}), sin6_flowinfo=htonl({}), inet_pton({}, \"{}\", &sin6_addr), sin6_scope_id={}}}",
                fam, port, flow, fam, ip, scope
            )
        }
        _ => format!("{{sa_family={}, sa_data={}}}", fam, quote(&b[2..])),
    }
}

fn sigaction(m: &dyn UserMem, addr: u64) -> String {
    const SA: &[(u64, &str)] = &[
        (0x0400_0000, "SA_RESTORER"),
        (0x0800_0000, "SA_ONSTACK"),
        (0x1000_0000, "SA_RESTART"),
        (0x4000_0000, "SA_NODEFER"),
        (0x8000_0000, "SA_RESETHAND"),
        (0x4, "SA_SIGINFO"),
        (0x1, "SA_NOCLDSTOP"),
        (0x2, "SA_NOCLDWAIT"),
    ];
    if addr == 0 {
        return "NULL".into();
    }
    let mut b = [0u8; 32];
    if m.read(addr, &mut b).is_err() {
        return hex(addr);
    }
    let w = |i: usize| u64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let (handler, fl, restorer, mask) = (w(0), w(1), w(2), w(3));
    let h = match handler {
        0 => "SIG_DFL".to_string(),
        1 => "SIG_IGN".to_string(),
        v => format!("{:#x}", v),
    };
    let mut s = format!(
        "{{sa_handler={}, sa_mask={}, sa_flags={}",
        h,
        sigset(mask),
        flags(fl, SA, "0")
    );
    if fl & 0x0400_0000 != 0 {
        s.push_str(&format!(", sa_restorer={}", ptr(restorer)));
    }
    s.push('}');
    s
}

fn open_how(m: &dyn UserMem, addr: u64, size: u64) -> String {
    const RESOLVE: &[(u64, &str)] = &[
        (0x01, "RESOLVE_NO_XDEV"),
        (0x02, "RESOLVE_NO_MAGICLINKS"),
        (0x04, "RESOLVE_NO_SYMLINKS"),
        (0x08, "RESOLVE_BENEATH"),
        (0x10, "RESOLVE_IN_ROOT"),
        (0x20, "RESOLVE_CACHED"),
    ];
    if addr == 0 || size < 24 {
        return ptr(addr);
    }
    let (Some(f), Some(md), Some(r)) = (
        read_u64(m, addr),
        read_u64(m, addr.wrapping_add(8)),
        read_u64(m, addr.wrapping_add(16)),
    ) else {
        return hex(addr);
    };
    format!(
        "{{flags={}, mode={}, resolve={}}}",
        open_flags(f),
        mode(md),
        flags(r, RESOLVE, "0")
    )
}

fn fcntl(a: &[u64; 6]) -> Vec<String> {
    const CMDS: &[(u64, &str)] = &[
        (0, "F_DUPFD"),
        (1, "F_GETFD"),
        (2, "F_SETFD"),
        (3, "F_GETFL"),
        (4, "F_SETFL"),
        (5, "F_GETLK"),
        (6, "F_SETLK"),
        (7, "F_SETLKW"),
        (8, "F_SETOWN"),
        (9, "F_GETOWN"),
        (10, "F_SETSIG"),
        (11, "F_GETSIG"),
        (15, "F_SETOWN_EX"),
        (16, "F_GETOWN_EX"),
        (36, "F_OFD_GETLK"),
        (37, "F_OFD_SETLK"),
        (38, "F_OFD_SETLKW"),
        (1024, "F_SETLEASE"),
        (1025, "F_GETLEASE"),
        (1026, "F_NOTIFY"),
        (1030, "F_DUPFD_CLOEXEC"),
        (1031, "F_SETPIPE_SZ"),
        (1032, "F_GETPIPE_SZ"),
        (1033, "F_ADD_SEALS"),
        (1034, "F_GET_SEALS"),
    ];
    let fd = (a[0] as i32).to_string();
    let cmd = a[1] as u32 as u64;
    let name = lookup(cmd, CMDS);
    match cmd {
        1 | 3 | 9 | 11 | 1025 | 1032 | 1034 => vec![fd, name],
        2 => vec![fd, name, flags(a[2], &[(1, "FD_CLOEXEC")], "0")],
        4 => vec![fd, name, open_flags(a[2])],
        10 => vec![fd, name, signame(a[2])],
        0 | 8 | 1024 | 1030 | 1031 | 1033 => vec![fd, name, (a[2] as i32).to_string()],
        _ => vec![fd, name, hex(a[2])],
    }
}

fn clone(a: &[u64; 6]) -> Vec<String> {
    // x86-64 order: flags, stack, parent_tid, child_tid, tls.
    let f = a[0];
    let mut v = vec![
        format!("child_stack={}", ptr(a[1])),
        format!("flags={}", clone_flags(f)),
    ];
    if f & (0x100000 | 0x1000) != 0 {
        v.push(format!("parent_tid={}", ptr(a[2])));
    }
    if f & 0x80000 != 0 {
        v.push(format!("tls={}", ptr(a[4])));
    }
    if f & (0x1000000 | 0x200000) != 0 {
        v.push(format!("child_tidptr={}", ptr(a[3])));
    }
    v
}

fn clone3(m: &dyn UserMem, addr: u64, size: u64) -> String {
    if addr == 0 || size < 64 {
        return ptr(addr);
    }
    let mut w = [0u64; 8];
    for (i, slot) in w.iter_mut().enumerate() {
        match addr.checked_add(i as u64 * 8).and_then(|x| read_u64(m, x)) {
            Some(v) => *slot = v,
            None => return hex(addr),
        }
    }
    let [f, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls] = w;
    let mut s = format!("{{flags={}", flags(f, CLONE_FLAGS, "0"));
    if f & 0x1000 != 0 {
        s.push_str(&format!(", pidfd={}", ptr(pidfd)));
    }
    if f & (0x1000000 | 0x200000) != 0 {
        s.push_str(&format!(", child_tid={}", ptr(child_tid)));
    }
    if f & 0x100000 != 0 {
        s.push_str(&format!(", parent_tid={}", ptr(parent_tid)));
    }
    let sig = if exit_signal == 0 {
        "0".to_string()
    } else {
        signame(exit_signal)
    };
    s.push_str(&format!(
        ", exit_signal={}, stack={}, stack_size={}",
        sig,
        ptr(stack),
        hex(stack_size)
    ));
    if f & 0x80000 != 0 {
        s.push_str(&format!(", tls={}", ptr(tls)));
    }
    s.push('}');
    s
}

fn futex(m: &dyn UserMem, a: &[u64; 6]) -> Vec<String> {
    const OPS: [&str; 14] = [
        "FUTEX_WAIT",
        "FUTEX_WAKE",
        "FUTEX_FD",
        "FUTEX_REQUEUE",
        "FUTEX_CMP_REQUEUE",
        "FUTEX_WAKE_OP",
        "FUTEX_LOCK_PI",
        "FUTEX_UNLOCK_PI",
        "FUTEX_TRYLOCK_PI",
        "FUTEX_WAIT_BITSET",
        "FUTEX_WAKE_BITSET",
        "FUTEX_WAIT_REQUEUE_PI",
        "FUTEX_CMP_REQUEUE_PI",
        "FUTEX_LOCK_PI2",
    ];
    let op = a[1] as u32;
    let cmd = (op & 0x7f) as usize;
    let mut name = match OPS.get(cmd) {
        Some(n) => n.to_string(),
        None => format!("{:#x}", cmd),
    };
    if op & 128 != 0 {
        name.push_str("_PRIVATE");
    }
    if op & 256 != 0 {
        name.push_str("|FUTEX_CLOCK_REALTIME");
    }
    let rest = op & !(0x7f | 128 | 256);
    if rest != 0 {
        name.push_str(&format!("|{:#x}", rest));
    }
    let addr = ptr(a[0]);
    let val = (a[2] as u32).to_string();
    let bitset = |v: u64| {
        if v as u32 == u32::MAX {
            "FUTEX_BITSET_MATCH_ANY".to_string()
        } else {
            format!("{:#x}", v as u32)
        }
    };
    match cmd {
        0 | 6 | 13 => vec![addr, name, val, timespec(m, a[3])],
        1 => vec![addr, name, val],
        3 => vec![addr, name, val, (a[3] as u32).to_string(), ptr(a[4])],
        4 | 12 => vec![
            addr,
            name,
            val,
            (a[3] as u32).to_string(),
            ptr(a[4]),
            (a[5] as u32).to_string(),
        ],
        5 => vec![
            addr,
            name,
            val,
            (a[3] as u32).to_string(),
            ptr(a[4]),
            hex(a[5] & 0xffff_ffff),
        ],
        7 | 8 => vec![addr, name],
        9 => vec![addr, name, val, timespec(m, a[3]), bitset(a[5])],
        10 => vec![addr, name, val, bitset(a[5])],
        11 => vec![addr, name, val, timespec(m, a[3]), ptr(a[4])],
        _ => vec![addr, name, hex(a[2]), hex(a[3]), hex(a[4]), hex(a[5])],
    }
}

fn prctl(m: &dyn UserMem, a: &[u64; 6]) -> Vec<String> {
    const OPTS: &[(u64, &str)] = &[
        (1, "PR_SET_PDEATHSIG"),
        (2, "PR_GET_PDEATHSIG"),
        (3, "PR_GET_DUMPABLE"),
        (4, "PR_SET_DUMPABLE"),
        (7, "PR_GET_KEEPCAPS"),
        (8, "PR_SET_KEEPCAPS"),
        (13, "PR_GET_TIMING"),
        (14, "PR_SET_TIMING"),
        (15, "PR_SET_NAME"),
        (16, "PR_GET_NAME"),
        (21, "PR_GET_SECCOMP"),
        (22, "PR_SET_SECCOMP"),
        (23, "PR_CAPBSET_READ"),
        (24, "PR_CAPBSET_DROP"),
        (25, "PR_GET_TSC"),
        (26, "PR_SET_TSC"),
        (27, "PR_GET_SECUREBITS"),
        (28, "PR_SET_SECUREBITS"),
        (29, "PR_SET_TIMERSLACK"),
        (30, "PR_GET_TIMERSLACK"),
        (31, "PR_TASK_PERF_EVENTS_DISABLE"),
        (32, "PR_TASK_PERF_EVENTS_ENABLE"),
        (33, "PR_MCE_KILL"),
        (34, "PR_MCE_KILL_GET"),
        (35, "PR_SET_MM"),
        (36, "PR_SET_CHILD_SUBREAPER"),
        (37, "PR_GET_CHILD_SUBREAPER"),
        (38, "PR_SET_NO_NEW_PRIVS"),
        (39, "PR_GET_NO_NEW_PRIVS"),
        (40, "PR_GET_TID_ADDRESS"),
        (41, "PR_SET_THP_DISABLE"),
        (42, "PR_GET_THP_DISABLE"),
        (47, "PR_CAP_AMBIENT"),
        (52, "PR_GET_SPECULATION_CTRL"),
        (53, "PR_SET_SPECULATION_CTRL"),
        (57, "PR_SET_IO_FLUSHER"),
        (58, "PR_GET_IO_FLUSHER"),
        (0x53564d41, "PR_SET_VMA"),
        (0x59616d61, "PR_SET_PTRACER"),
    ];
    let opt = a[0] as u32 as u64;
    let name = lookup(opt, OPTS);
    match opt {
        3 | 7 | 13 | 21 | 27 | 30 | 31 | 32 => vec![name],
        1 => vec![name, signame(a[1])],
        15 => vec![name, cstr(m, a[1], 15)],
        2 | 16 | 25 | 37 | 40 => vec![name, ptr(a[1])],
        4 | 8 | 14 | 23 | 24 | 26 | 29 | 36 => vec![name, a[1].to_string()],
        28 => vec![name, hex(a[1])],
        _ => vec![name, hex(a[1]), hex(a[2]), hex(a[3]), hex(a[4])],
    }
}

// ---------------------------------------------------------------------------------------------

/// glibc's strerror text for errno `e`.
// ---------------------------------------------------------------------------------------------
// Event files, timers and futex2

const EPOLL_EVENTS: &[(u64, &str)] = &[
    (0x1, "EPOLLIN"),
    (0x2, "EPOLLPRI"),
    (0x4, "EPOLLOUT"),
    (0x8, "EPOLLERR"),
    (0x10, "EPOLLHUP"),
    (0x20, "EPOLLNVAL"),
    (0x40, "EPOLLRDNORM"),
    (0x80, "EPOLLRDBAND"),
    (0x100, "EPOLLWRNORM"),
    (0x200, "EPOLLWRBAND"),
    (0x400, "EPOLLMSG"),
    (0x2000, "EPOLLRDHUP"),
    (1 << 28, "EPOLLEXCLUSIVE"),
    (1 << 29, "EPOLLWAKEUP"),
    (1 << 30, "EPOLLONESHOT"),
    (1 << 31, "EPOLLET"),
];
const EFD_FLAGS: &[(u64, &str)] = &[
    (0o2000000, "EFD_CLOEXEC"),
    (0o4000, "EFD_NONBLOCK"),
    (1, "EFD_SEMAPHORE"),
];
const TFD_FLAGS: &[(u64, &str)] = &[(0o2000000, "TFD_CLOEXEC"), (0o4000, "TFD_NONBLOCK")];
const TFD_SETTIME: &[(u64, &str)] = &[(1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET")];
const SFD_FLAGS: &[(u64, &str)] = &[(0o2000000, "SFD_CLOEXEC"), (0o4000, "SFD_NONBLOCK")];
const PIDFD_FLAGS: &[(u64, &str)] = &[(0o4000, "PIDFD_NONBLOCK"), (0o200, "PIDFD_THREAD")];
const FUTEX2_FLAGS: &[(u64, &str)] = &[
    (3, "FUTEX2_SIZE_U64"),
    (2, "FUTEX2_SIZE_U32"),
    (1, "FUTEX2_SIZE_U16"),
    (4, "FUTEX2_NUMA"),
    (8, "FUTEX2_MPOL"),
    (128, "FUTEX2_PRIVATE"),
];

fn itimerspec(m: &dyn UserMem, addr: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    format!(
        "{{it_interval={}, it_value={}}}",
        timespec(m, addr),
        timespec(m, addr.wrapping_add(16))
    )
}

fn sigevent(m: &dyn UserMem, addr: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let mut b = [0u8; 24];
    if m.read(addr, &mut b).is_err() {
        return hex(addr);
    }
    let val = u64::from_le_bytes(b[0..8].try_into().unwrap());
    let signo = i32::from_le_bytes(b[8..12].try_into().unwrap());
    let notify = i32::from_le_bytes(b[12..16].try_into().unwrap());
    let tid = i32::from_le_bytes(b[16..20].try_into().unwrap());
    let how = match notify {
        0 => "SIGEV_SIGNAL".to_string(),
        1 => "SIGEV_NONE".to_string(),
        2 => "SIGEV_THREAD".to_string(),
        4 => "SIGEV_THREAD_ID".to_string(),
        n => n.to_string(),
    };
    let mut o = format!(
        "{{sigev_value={{sival_int={}, sival_ptr={}}}, sigev_signo={}, sigev_notify={}",
        val as i32,
        hex(val),
        signame(signo as u32 as u64),
        how
    );
    if notify == 4 {
        o.push_str(&format!(", sigev_notify_thread_id={tid}"));
    }
    o.push('}');
    o
}

fn futex_waitv_arg(m: &dyn UserMem, addr: u64, n: u64) -> String {
    if addr == 0 {
        return "NULL".into();
    }
    let mut parts = Vec::new();
    for i in 0..n.min(8) {
        let mut b = [0u8; 24];
        if m.read(addr.wrapping_add(i * 24), &mut b).is_err() {
            return hex(addr);
        }
        parts.push(format!(
            "{{val={}, uaddr={}, flags={}}}",
            u64::from_le_bytes(b[0..8].try_into().unwrap()),
            ptr(u64::from_le_bytes(b[8..16].try_into().unwrap())),
            flags(
                u32::from_le_bytes(b[16..20].try_into().unwrap()) as u64,
                FUTEX2_FLAGS,
                "FUTEX2_SIZE_U8"
            )
        ));
    }
    if n > 8 {
        parts.push("...".into());
    }
    format!("[{}]", parts.join(", "))
}

/// Calls of event files, timers and futex2 whose arguments are structures or own flags.
fn event_call(m: &dyn UserMem, nr: u64, a: &[u64; 6]) -> Vec<String> {
    use abi::sysno as n;
    let fd = |v: u64| (v as i32).to_string();
    match nr {
        n::EPOLL_CTL => {
            let ev = if a[1] == 2 {
                ptr(a[3])
            } else {
                let mut b = [0u8; 12];
                if a[3] == 0 || m.read(a[3], &mut b).is_err() {
                    ptr(a[3])
                } else {
                    let e = u32::from_le_bytes(b[0..4].try_into().unwrap()) as u64;
                    let d = u64::from_le_bytes(b[4..12].try_into().unwrap());
                    format!(
                        "{{events={}, data={{u32={}, u64={}}}}}",
                        flags(e, EPOLL_EVENTS, "0"),
                        d as u32,
                        d
                    )
                }
            };
            vec![fd(a[0]), lookup(a[1], EPOLL_CTL), fd(a[2]), ev]
        }
        n::EPOLL_CREATE1 => vec![flags(a[0], &[(0o2000000, "EPOLL_CLOEXEC")], "0")],
        n::EVENTFD2 => vec![(a[0] as u32).to_string(), flags(a[1], EFD_FLAGS, "0")],
        n::TIMERFD_CREATE => vec![clockid(a[0]), flags(a[1], TFD_FLAGS, "0")],
        n::TIMERFD_SETTIME => vec![
            fd(a[0]),
            flags(a[1], TFD_SETTIME, "0"),
            itimerspec(m, a[2]),
            ptr(a[3]),
        ],
        n::TIMER_SETTIME => vec![
            (a[0] as i32).to_string(),
            flags(a[1], TIMER_FLAGS, "0"),
            itimerspec(m, a[2]),
            ptr(a[3]),
        ],
        n::TIMER_CREATE => vec![clockid(a[0]), sigevent(m, a[1]), ptr(a[2])],
        n::SIGNALFD4 => vec![
            fd(a[0]),
            sigset_at(m, a[1]),
            a[2].to_string(),
            flags(a[3], SFD_FLAGS, "0"),
        ],
        n::PIDFD_OPEN => vec![fd(a[0]), flags(a[1], PIDFD_FLAGS, "0")],
        n::EPOLL_PWAIT2 => vec![
            fd(a[0]),
            ptr(a[1]),
            (a[2] as i32).to_string(),
            timespec(m, a[3]),
            sigset_at(m, a[4]),
            a[5].to_string(),
        ],
        n::FUTEX_WAITV => vec![
            futex_waitv_arg(m, a[0], a[1]),
            a[1].to_string(),
            hex(a[2]),
            timespec(m, a[3]),
            clockid(a[4]),
        ],
        n::FUTEX_WAKE => vec![
            ptr(a[0]),
            hex(a[1]),
            (a[2] as i32).to_string(),
            flags(a[3], FUTEX2_FLAGS, "FUTEX2_SIZE_U8"),
        ],
        n::FUTEX_WAIT => vec![
            ptr(a[0]),
            a[1].to_string(),
            hex(a[2]),
            flags(a[3], FUTEX2_FLAGS, "FUTEX2_SIZE_U8"),
            timespec(m, a[4]),
            clockid(a[5]),
        ],
        _ => vec![
            futex_waitv_arg(m, a[0], 2),
            hex(a[1]),
            (a[2] as i32).to_string(),
            (a[3] as i32).to_string(),
        ],
    }
}

pub fn strerror(e: i32) -> String {
    const T: [&str; 134] = [
        "Success",
        "Operation not permitted",
        "No such file or directory",
        "No such process",
        "Interrupted system call",
        "Input/output error",
        "No such device or address",
        "Argument list too long",
        "Exec format error",
        "Bad file descriptor",
        "No child processes",
        "Resource temporarily unavailable",
        "Cannot allocate memory",
        "Permission denied",
        "Bad address",
        "Block device required",
        "Device or resource busy",
        "File exists",
        "Invalid cross-device link",
        "No such device",
        "Not a directory",
        "Is a directory",
        "Invalid argument",
        "Too many open files in system",
        "Too many open files",
        "Inappropriate ioctl for device",
        "Text file busy",
        "File too large",
        "No space left on device",
        "Illegal seek",
        "Read-only file system",
        "Too many links",
        "Broken pipe",
        "Numerical argument out of domain",
        "Numerical result out of range",
        "Resource deadlock avoided",
        "File name too long",
        "No locks available",
        "Function not implemented",
        "Directory not empty",
        "Too many levels of symbolic links",
        "Unknown error 41",
        "No message of desired type",
        "Identifier removed",
        "Channel number out of range",
        "Level 2 not synchronized",
        "Level 3 halted",
        "Level 3 reset",
        "Link number out of range",
        "Protocol driver not attached",
        "No CSI structure available",
        "Level 2 halted",
        "Invalid exchange",
        "Invalid request descriptor",
        "Exchange full",
        "No anode",
        "Invalid request code",
        "Invalid slot",
        "Unknown error 58",
        "Bad font file format",
        "Device not a stream",
        "No data available",
        "Timer expired",
        "Out of streams resources",
        "Machine is not on the network",
        "Package not installed",
        "Object is remote",
        "Link has been severed",
        "Advertise error",
        "Srmount error",
        "Communication error on send",
        "Protocol error",
        "Multihop attempted",
        "RFS specific error",
        "Bad message",
        "Value too large for defined data type",
        "Name not unique on network",
        "File descriptor in bad state",
        "Remote address changed",
        "Can not access a needed shared library",
        "Accessing a corrupted shared library",
        ".lib section in a.out corrupted",
        "Attempting to link in too many shared libraries",
        "Cannot exec a shared library directly",
        "Invalid or incomplete multibyte or wide character",
        "Interrupted system call should be restarted",
        "Streams pipe error",
        "Too many users",
        "Socket operation on non-socket",
        "Destination address required",
        "Message too long",
        "Protocol wrong type for socket",
        "Protocol not available",
        "Protocol not supported",
        "Socket type not supported",
        "Operation not supported",
        "Protocol family not supported",
        "Address family not supported by protocol",
        "Address already in use",
        "Cannot assign requested address",
        "Network is down",
        "Network is unreachable",
        "Network dropped connection on reset",
        "Software caused connection abort",
        "Connection reset by peer",
        "No buffer space available",
        "Transport endpoint is already connected",
        "Transport endpoint is not connected",
        "Cannot send after transport endpoint shutdown",
        "Too many references: cannot splice",
        "Connection timed out",
        "Connection refused",
        "Host is down",
        "No route to host",
        "Operation already in progress",
        "Operation now in progress",
        "Stale file handle",
        "Structure needs cleaning",
        "Not a XENIX named type file",
        "No XENIX semaphores available",
        "Is a named type file",
        "Remote I/O error",
        "Disk quota exceeded",
        "No medium found",
        "Wrong medium type",
        "Operation canceled",
        "Required key not available",
        "Key has expired",
        "Key has been revoked",
        "Key was rejected by service",
        "Owner died",
        "State not recoverable",
        "Operation not possible due to RF-kill",
        "Memory page has hardware error",
    ];
    match T.get(e as usize) {
        Some(s) if e >= 0 => s.to_string(),
        _ => format!("Unknown error {}", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::sysno as n;
    use std::collections::BTreeMap;

    /// Sparse fake memory: pages written to are mapped (zero-filled); anything else faults.
    #[derive(Default)]
    struct Mem {
        pages: BTreeMap<u64, Vec<u8>>,
    }

    impl Mem {
        fn put(&mut self, addr: u64, data: &[u8]) {
            for (i, &b) in data.iter().enumerate() {
                let a = addr + i as u64;
                self.pages.entry(a / 4096).or_insert_with(|| vec![0; 4096])[(a % 4096) as usize] =
                    b;
            }
        }
        fn put_u64s(&mut self, addr: u64, v: &[u64]) {
            for (i, x) in v.iter().enumerate() {
                self.put(addr + 8 * i as u64, &x.to_ne_bytes());
            }
        }
    }

    impl UserMem for Mem {
        fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
            for (i, slot) in buf.iter_mut().enumerate() {
                let a = addr + i as u64;
                *slot = self.pages.get(&(a / 4096)).ok_or(Errno::EFAULT)?[(a % 4096) as usize];
            }
            Ok(())
        }
    }

    fn call(m: &Mem, nr: u64, a: [u64; 6]) -> String {
        format_call_mem(m, nr, &a)
    }

    #[test]
    fn arg_count_tables() {
        assert_eq!(NARGS_LOW.len(), 335);
        assert_eq!(NARGS_HIGH.len(), 44);
        assert_eq!(nargs(n::READ), 3);
        assert_eq!(nargs(n::MMAP), 6);
        assert_eq!(nargs(n::GETPID), 0);
        assert_eq!(nargs(n::PRCTL), 5);
        assert_eq!(nargs(n::RSEQ), 4);
        assert_eq!(nargs(n::CLONE3), 2);
        assert_eq!(nargs(n::FACCESSAT2), 4);
        assert_eq!(nargs(n::EXIT_GROUP), 1);
        // Every spec fits its syscall's argument count.
        for nr in 0..abi::sysno::NR_SYSCALLS as u64 {
            if let Some(s) = spec(nr) {
                assert!(
                    s.len() <= nargs(nr),
                    "spec of {} longer than its {} args",
                    nr,
                    nargs(nr)
                );
            }
        }
    }

    #[test]
    fn socket_calls() {
        let mut m = Mem::default();
        m.put(0x1000, &1i32.to_ne_bytes());
        assert_eq!(
            call(&m, n::SETSOCKOPT, [3, 1, 2, 0x1000, 4, 0]),
            "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4)"
        );
        assert_eq!(
            call(&m, n::SHUTDOWN, [3, 1, 0, 0, 0, 0]),
            "shutdown(3, SHUT_WR)"
        );
        assert_eq!(
            call(&m, n::ACCEPT4, [3, 0, 0, 0o2004000, 0, 0]),
            "accept4(3, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK)"
        );
        // A msghdr with one iovec and an SCM_RIGHTS message carrying fd 5.
        m.put(0x2000, b"A");
        m.put_u64s(0x3000, &[0x2000, 1]);
        m.put_u64s(0x4000, &[20]);
        m.put(0x4008, &1i32.to_ne_bytes());
        m.put(0x400c, &1i32.to_ne_bytes());
        m.put(0x4010, &5i32.to_ne_bytes());
        m.put_u64s(0x5000, &[0, 0, 0x3000, 1, 0x4000, 24, 0]);
        assert_eq!(
            call(&m, n::SENDMSG, [3, 0x5000, 0x4000, 0, 0, 0]),
            "sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"A\", iov_len=1}], \
             msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, \
             cmsg_data=[5]}], msg_controllen=24, msg_flags=0}, MSG_NOSIGNAL)"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(quote(b"hello\n"), r#""hello\n""#);
        assert_eq!(quote(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            quote(b"\x7fELF\x02\x01\x01\x00\x00"),
            r#""\177ELF\2\1\1\0\0""#
        );
        // A following octal digit forces three digits.
        assert_eq!(quote(b"\x001"), r#""\0001""#);
        assert_eq!(quote(b"\x008"), r#""\08""#);
        assert_eq!(quote(b"\t\r\x0b\x0c"), r#""\t\r\v\f""#);
        assert_eq!(quote(&[0xff, 0x80]), r#""\377\200""#);
        assert_eq!(quote(b"\x1b["), r#""\33[""#);
    }

    #[test]
    fn flag_sets() {
        assert_eq!(open_flags(0), "O_RDONLY");
        assert_eq!(open_flags(0o2000000), "O_RDONLY|O_CLOEXEC");
        assert_eq!(open_flags(0o1 | 0o100 | 0o1000), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(open_flags(0o2 | 0o4010000), "O_RDWR|O_SYNC");
        assert_eq!(open_flags(0o2 | 0o20200000), "O_RDWR|O_TMPFILE");
        assert_eq!(
            open_flags(0o200000 | 0o4000 | 0o2000000),
            "O_RDONLY|O_NONBLOCK|O_DIRECTORY|O_CLOEXEC"
        );
        assert_eq!(flags(0, PROT, "PROT_NONE"), "PROT_NONE");
        assert_eq!(flags(3, PROT, "PROT_NONE"), "PROT_READ|PROT_WRITE");
        assert_eq!(flags(0x15, PROT, "PROT_NONE"), "PROT_READ|PROT_EXEC|0x10");
        assert_eq!(mmap_flags(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(mmap_flags(0x812), "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE");
        assert_eq!(
            clone_flags(0x1200011),
            "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
        );
        assert_eq!(clone_flags(0x3d0f00), "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID");
        assert_eq!(flags(0, ACCESS_MODES, "F_OK"), "F_OK");
        assert_eq!(flags(6, ACCESS_MODES, "F_OK"), "R_OK|W_OK");
        assert_eq!(flags(0x40000001, WAIT_OPTIONS, "0"), "WNOHANG|__WALL");
        assert_eq!(lookup(2, WHENCE), "SEEK_END");
        assert_eq!(lookup(9, WHENCE), "9");
        assert_eq!(mode(0o644), "0644");
        assert_eq!(mode(0o22), "022");
        assert_eq!(mode(0), "000");
        assert_eq!(mode(0o4755), "04755");
        assert_eq!(signame(2), "SIGINT");
        assert_eq!(signame(32), "SIGRTMIN");
        assert_eq!(signame(34), "SIGRT_2");
        assert_eq!(signame(99), "99");
        assert_eq!(sigset(0), "[]");
        assert_eq!(sigset((1 << 1) | (1 << 14)), "[INT TERM]");
        assert_eq!(sigset((1 << 31) | (1 << 32)), "[RTMIN RT_1]");
        assert_eq!(sigset(!0), "~[]");
        assert_eq!(sigset(!((1 << 8) | (1 << 18))), "~[KILL STOP]");
        assert_eq!(clockid(1), "CLOCK_MONOTONIC");
        assert_eq!(
            clockid(((!42i32) << 3 | 6) as u32 as u64),
            "MAKE_THREAD_CPUCLOCK(42, CPUCLOCK_SCHED)"
        );
    }

    #[test]
    fn event_calls() {
        let mut m = Mem::default();
        // struct epoll_event {EPOLLIN|EPOLLET, data 7}
        let mut ev = Vec::new();
        ev.extend_from_slice(&(0x8000_0001u32).to_le_bytes());
        ev.extend_from_slice(&7u64.to_le_bytes());
        m.put(0x2000, &ev);
        assert_eq!(
            call(&m, n::EPOLL_CTL, [3, 1, 4, 0x2000, 0, 0]),
            "epoll_ctl(3, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLET, data={u32=7, u64=7}})"
        );
        assert_eq!(
            call(&m, n::EPOLL_CTL, [3, 2, 4, 0, 0, 0]),
            "epoll_ctl(3, EPOLL_CTL_DEL, 4, NULL)"
        );
        assert_eq!(
            call(&m, n::EVENTFD2, [0, 0o2004001, 0, 0, 0, 0]),
            "eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK|EFD_SEMAPHORE)"
        );
        m.put_u64s(0x3000, &[0, 5, 1, 0]);
        assert_eq!(
            call(&m, n::TIMERFD_SETTIME, [5, 1, 0x3000, 0, 0, 0]),
            "timerfd_settime(5, TFD_TIMER_ABSTIME, {it_interval={tv_sec=0, tv_nsec=5}, it_value={tv_sec=1, tv_nsec=0}}, NULL)"
        );
        assert_eq!(
            call(&m, n::PIDFD_OPEN, [42, 0o4000, 0, 0, 0, 0]),
            "pidfd_open(42, PIDFD_NONBLOCK)"
        );
        assert_eq!(
            call(&m, n::FUTEX_WAKE, [0x4000, 0xffff_ffff, 1, 130, 0, 0]),
            "futex_wake(0x4000, 0xffffffff, 1, FUTEX2_SIZE_U32|FUTEX2_PRIVATE)"
        );
    }

    #[test]
    fn calls() {
        let mut m = Mem::default();
        m.put(0x1000, b"/etc/passwd\0");
        assert_eq!(
            call(
                &m,
                n::OPENAT,
                [(-100i64) as u64, 0x1000, 0o2000000, 0, 0, 0]
            ),
            r#"openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)"#
        );
        assert_eq!(
            call(&m, n::OPENAT, [3, 0x1000, 0o101, 0o644, 0, 0]),
            r#"openat(3, "/etc/passwd", O_WRONLY|O_CREAT, 0644)"#
        );
        assert_eq!(
            call(&m, n::OPEN, [0x1000, 0, 0o777, 0, 0, 0]),
            r#"open("/etc/passwd", O_RDONLY)"#
        );
        assert_eq!(
            call(&m, n::READ, [3, 0x7ffd0000, 832, 0, 0, 0]),
            "read(3, 0x7ffd0000, 832)"
        );
        assert_eq!(
            call(&m, n::MMAP, [0, 8192, 3, 0x22, u64::MAX, 0]),
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
        );
        assert_eq!(call(&m, n::MMAP, [0x7f0000, 4096, 5, 0x812, 3, 0x7000]), "mmap(0x7f0000, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x7000)");
        assert_eq!(
            call(&m, n::ACCESS, [0x1000, 4, 0, 0, 0, 0]),
            r#"access("/etc/passwd", R_OK)"#
        );
        assert_eq!(call(&m, n::GETPID, [1, 2, 3, 4, 5, 6]), "getpid()");
        assert_eq!(call(&m, n::BRK, [0, 0, 0, 0, 0, 0]), "brk(NULL)");
        assert_eq!(call(&m, n::CLOSE, [3, 0, 0, 0, 0, 0]), "close(3)");
        assert_eq!(
            call(&m, n::LSEEK, [3, (-5i64) as u64, 1, 0, 0, 0]),
            "lseek(3, -5, SEEK_CUR)"
        );
        assert_eq!(
            call(&m, n::KILL, [1234, 15, 0, 0, 0, 0]),
            "kill(1234, SIGTERM)"
        );
        assert_eq!(
            call(&m, n::WAIT4, [u64::MAX, 0x5000, 1, 0, 0, 0]),
            "wait4(-1, 0x5000, WNOHANG, NULL)"
        );
        assert_eq!(
            call(&m, n::FCNTL, [3, 2, 1, 0, 0, 0]),
            "fcntl(3, F_SETFD, FD_CLOEXEC)"
        );
        assert_eq!(call(&m, n::FCNTL, [3, 1, 0, 0, 0, 0]), "fcntl(3, F_GETFD)");
        assert_eq!(
            call(&m, n::FCNTL, [3, 1030, 10, 0, 0, 0]),
            "fcntl(3, F_DUPFD_CLOEXEC, 10)"
        );
        assert_eq!(
            call(&m, n::FCNTL, [3, 4, 0o4002, 0, 0, 0]),
            "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK)"
        );
        assert_eq!(call(&m, n::EXIT_GROUP, [0, 0, 0, 0, 0, 0]), "exit_group(0)");
        assert_eq!(
            call(&m, 0x1f4, [1, 0, 2, 0, 0, 0]),
            "syscall_0x1f4(0x1, 0, 0x2, 0, 0, 0)"
        );
        assert_eq!(
            call(&m, n::ARCH_PRCTL, [0x1002, 0x7f00, 0, 0, 0, 0]),
            "arch_prctl(ARCH_SET_FS, 0x7f00)"
        );
        assert_eq!(
            call(&m, n::CLONE, [0x1200011, 0, 0, 0x7f10, 0, 0]),
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f10)"
        );
        // A path that cannot be read prints as its address.
        assert_eq!(call(&m, n::CHDIR, [0x9000, 0, 0, 0, 0, 0]), "chdir(0x9000)");
        assert_eq!(
            call(&m, n::UNLINKAT, [(-100i64) as u64, 0x1000, 0x200, 0, 0, 0]),
            r#"unlinkat(AT_FDCWD, "/etc/passwd", AT_REMOVEDIR)"#
        );
    }

    #[test]
    fn buffers_and_strings() {
        let mut m = Mem::default();
        m.put(0x2000, b"hello\n");
        assert_eq!(
            call(&m, n::WRITE, [1, 0x2000, 6, 0, 0, 0]),
            r#"write(1, "hello\n", 6)"#
        );
        let long = [b'x'; 40];
        m.put(0x3000, &long);
        m.put(0x3000 + 40, b"\0");
        assert_eq!(
            call(&m, n::WRITE, [1, 0x3000, 40, 0, 0, 0]),
            format!("write(1, \"{}\"..., 40)", "x".repeat(32))
        );
        // A string argument longer than 32 bytes is cut; a path is not.
        assert_eq!(
            call(&m, n::MEMFD_CREATE, [0x3000, 1, 0, 0, 0, 0]),
            format!("memfd_create(\"{}\"..., MFD_CLOEXEC)", "x".repeat(32))
        );
        assert_eq!(
            call(&m, n::UNLINK, [0x3000, 0, 0, 0, 0, 0]),
            format!("unlink(\"{}\")", "x".repeat(40))
        );
        // execve: argv entries and the environment count.
        m.put(0x4000, b"/bin/ls\0");
        m.put(0x4100, b"ls\0");
        m.put(0x4110, b"-l\0");
        m.put_u64s(0x5000, &[0x4100, 0x4110, 0]);
        m.put_u64s(0x6000, &[0x4100, 0x4110, 0x4100, 0]);
        assert_eq!(
            call(&m, n::EXECVE, [0x4000, 0x5000, 0x6000, 0, 0, 0]),
            r#"execve("/bin/ls", ["ls", "-l"], 0x6000 /* 3 vars */)"#
        );
        // Signal sets and timespecs.
        m.put_u64s(0x7000, &[(1 << 1) | (1 << 14)]);
        assert_eq!(
            call(&m, n::RT_SIGPROCMASK, [0, 0x7000, 0, 8, 0, 0]),
            "rt_sigprocmask(SIG_BLOCK, [INT TERM], NULL, 8)"
        );
        m.put_u64s(0x7100, &[1, 500]);
        assert_eq!(
            call(&m, n::NANOSLEEP, [0x7100, 0x7200, 0, 0, 0, 0]),
            "nanosleep({tv_sec=1, tv_nsec=500}, 0x7200)"
        );
        m.put_u64s(0x7300, &[0x5500, 0x0400_0000 | 0x1000_0000, 0x7f00, 0]);
        assert_eq!(
            call(&m, n::RT_SIGACTION, [2, 0x7300, 0, 8, 0, 0]),
            "rt_sigaction(SIGINT, {sa_handler=0x5500, sa_mask=[], sa_flags=SA_RESTORER|SA_RESTART, sa_restorer=0x7f00}, NULL, 8)"
        );
        m.put_u64s(0x7400, &[8192 * 1024, u64::MAX]);
        assert_eq!(
            call(&m, n::PRLIMIT64, [0, 3, 0x7400, 0, 0, 0]),
            "prlimit64(0, RLIMIT_STACK, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}, NULL)"
        );
        m.put(0x7500, b"worker\0");
        assert_eq!(
            call(&m, n::PRCTL, [15, 0x7500, 0, 0, 0, 0]),
            r#"prctl(PR_SET_NAME, "worker")"#
        );
        m.put_u64s(0x7600, &[0x2000, 6]);
        assert_eq!(
            call(&m, n::WRITEV, [1, 0x7600, 1, 0, 0, 0]),
            r#"writev(1, [{iov_base="hello\n", iov_len=6}], 1)"#
        );
        let mut sun = vec![1u8, 0];
        sun.extend_from_slice(b"/run/x\0");
        m.put(0x7700, &sun);
        assert_eq!(
            call(&m, n::CONNECT, [3, 0x7700, 9, 0, 0, 0]),
            r#"connect(3, {sa_family=AF_UNIX, sun_path="/run/x"}, 9)"#
        );
        m.put(0x7800, &[2, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            call(&m, n::BIND, [3, 0x7800, 16, 0, 0, 0]),
            r#"bind(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16)"#
        );
        assert_eq!(
            call(&m, n::FUTEX, [0x7900, 129, 1, 0, 0, 0]),
            "futex(0x7900, FUTEX_WAKE_PRIVATE, 1)"
        );
        assert_eq!(
            call(&m, n::FUTEX, [0x7900, 128, 2, 0, 0, 0]),
            "futex(0x7900, FUTEX_WAIT_PRIVATE, 2, NULL)"
        );
        assert_eq!(
            call(&m, n::GETRANDOM, [0x7a00, 8, 1, 0, 0, 0]),
            "getrandom(0x7a00, 8, GRND_NONBLOCK)"
        );
    }

    #[test]
    fn results() {
        assert_eq!(format_result(n::OPENAT, &Ok(3)), "= 3");
        assert_eq!(format_result(n::MMAP, &Ok(0x7f12345000)), "= 0x7f12345000");
        assert_eq!(format_result(n::BRK, &Ok(0x5555_0000)), "= 0x55550000");
        assert_eq!(format_result(n::UMASK, &Ok(0o22)), "= 022");
        assert_eq!(
            format_result(n::OPENAT, &Err(Errno::ENOENT)),
            "= -1 ENOENT (No such file or directory)"
        );
        assert_eq!(
            format_result(n::READ, &Err(Errno::EAGAIN)),
            "= -1 EAGAIN (Resource temporarily unavailable)"
        );
        assert_eq!(
            format_result(n::READ, &Err(Errno::ERESTARTSYS)),
            "= ? ERESTARTSYS (To be restarted if SA_RESTART is set)"
        );
        assert_eq!(
            format_result(n::NANOSLEEP, &Err(Errno::ERESTART_RESTARTBLOCK)),
            "= ? ERESTART_RESTARTBLOCK (Interrupted by signal)"
        );
        assert_eq!(
            format_result(n::READ, &Err(Errno(200))),
            "= -1 ERRNO_200 (Unknown error 200)"
        );
        assert_eq!(strerror(22), "Invalid argument");
        assert_eq!(strerror(133), "Memory page has hardware error");
    }
}
