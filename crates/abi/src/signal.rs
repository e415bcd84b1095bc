//! Signal numbers, flags and the x86-64 layouts of signal structures.

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGSTKFLT: u32 = 16;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGXCPU: u32 = 24;
pub const SIGXFSZ: u32 = 25;
pub const SIGVTALRM: u32 = 26;
pub const SIGPROF: u32 = 27;
pub const SIGWINCH: u32 = 28;
pub const SIGIO: u32 = 29;
pub const SIGPWR: u32 = 30;
pub const SIGSYS: u32 = 31;
pub const SIGRTMIN: u32 = 32;
pub const SIGRTMAX: u32 = 64;
pub const NSIG: u32 = 64;

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

pub const SA_NOCLDSTOP: u64 = 0x1;
pub const SA_NOCLDWAIT: u64 = 0x2;
pub const SA_SIGINFO: u64 = 0x4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

pub const SIG_BLOCK: u64 = 0;
pub const SIG_UNBLOCK: u64 = 1;
pub const SIG_SETMASK: u64 = 2;

pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
pub const SS_AUTODISARM: u32 = 1 << 31;
pub const MINSIGSTKSZ: u64 = 2048;

// si_code values.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TIMER: i32 = -2;
pub const SI_TKILL: i32 = -6;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRERR: i32 = 2;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_TRAPPED: i32 = 4;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// The bit for signal `sig` in a 64-bit signal set.
pub const fn sigbit(sig: u32) -> u64 {
    1u64 << (sig - 1)
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = sigbit(SIGKILL) | sigbit(SIGSTOP);

/// `struct sigaction` as the kernel's rt_sigaction sees it on x86-64.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct KSigaction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// `stack_t`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct StackT {
    pub sp: u64,
    pub flags: u32,
    pub _pad: u32,
    pub size: u64,
}

/// `siginfo_t`, 128 bytes; the union is kept as raw words and filled per kind.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    pub _pad: i32,
    /// The union: for kill: [pid|uid<<32, ..]; for faults: [addr, ..];
    /// for SIGCHLD: [pid|uid<<32, status, utime, stime].
    pub fields: [u64; 14],
}

impl Default for SigInfo {
    fn default() -> Self {
        SigInfo {
            signo: 0,
            errno: 0,
            code: 0,
            _pad: 0,
            fields: [0; 14],
        }
    }
}

impl SigInfo {
    pub fn new(signo: u32, code: i32) -> Self {
        SigInfo {
            signo: signo as i32,
            code,
            ..Default::default()
        }
    }
    /// si_pid and si_uid (kill, tkill, sigqueue, SIGCHLD).
    pub fn set_pid_uid(&mut self, pid: i32, uid: u32) {
        self.fields[0] = (pid as u32 as u64) | ((uid as u64) << 32);
    }
    pub fn pid(&self) -> i32 {
        self.fields[0] as u32 as i32
    }
    pub fn as_bytes(&self) -> &[u8; 128] {
        // SAFETY: SigInfo is repr(C), 128 bytes, all plain integers.
        unsafe { &*(self as *const SigInfo as *const [u8; 128]) }
    }
    pub fn from_bytes(b: &[u8; 128]) -> SigInfo {
        // SAFETY: any bit pattern is a valid SigInfo.
        unsafe { std::ptr::read_unaligned(b.as_ptr() as *const SigInfo) }
    }
}

/// Signal names as strace and kill -l print them.
pub fn name(sig: u32) -> &'static str {
    const N: [&str; 32] = [
        "0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    if (sig as usize) < N.len() {
        N[sig as usize]
    } else if sig <= SIGRTMAX {
        "SIGRT"
    } else {
        "SIG?"
    }
}
