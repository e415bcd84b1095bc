//! The stub factory: a pristine master stub, traced by a dedicated thread, that forks a
//! fresh stub process (nothing mapped but the stub page) for every new address space.

use super::{context::Context, seize};
use crate::{stub, HostError, Result, STUB_BASE, STUB_MEMFD, TASK_SIZE};
use std::sync::{mpsc, Mutex};

type Request = mpsc::Sender<Result<i32>>;

pub struct StubFactory {
    requests: Mutex<mpsc::Sender<Request>>,
}

impl StubFactory {
    /// Forks the master stub. Must be called while the process has a single thread.
    pub fn start(memfd: i32) -> Result<StubFactory> {
        let code = stub::code();
        // SAFETY: a fresh fixed mapping that must not replace anything of ours.
        let page = unsafe {
            libc::mmap(
                STUB_BASE as *mut libc::c_void,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        if page == libc::MAP_FAILED || page as u64 != STUB_BASE {
            return Err(HostError(libc::EEXIST));
        }
        // SAFETY: page is ours, 4096 bytes, code is shorter than a page.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), page as *mut u8, code.len().min(4096));
            libc::mprotect(page, 4096, libc::PROT_READ | libc::PROT_EXEC);
        }
        // The child reports on this pipe once it no longer needs its old memory (rseq is
        // unregistered): seizing it earlier and unmapping everything would kill it.
        let mut ready = [0i32; 2];
        // SAFETY: valid out array.
        if unsafe { libc::pipe2(ready.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
            return Err(HostError::last());
        }
        // Keep the write end clear of the memory file's fixed number in the stub.
        // SAFETY: plain fd duplication.
        unsafe {
            let hi = libc::fcntl(ready[1], libc::F_DUPFD_CLOEXEC, 16);
            libc::close(ready[1]);
            ready[1] = hi;
        }
        let filter = crate::seccomp::stub_filter(ready[1])?;
        // SAFETY: the child only makes raw syscalls, then jumps into the stub page and never
        // returns to Rust code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(HostError::last());
        }
        if pid == 0 {
            unsafe { master_child(memfd, ready[1], &filter) }
        }
        let mut b = [0u8; 1];
        // SAFETY: reading one byte from our pipe, then closing both ends.
        let n = unsafe {
            libc::close(ready[1]);
            let mut n;
            loop {
                n = libc::read(ready[0], b.as_mut_ptr() as *mut _, 1);
                if n >= 0 || *libc::__errno_location() != libc::EINTR {
                    break;
                }
            }
            libc::close(ready[0]);
            n
        };
        if n != 1 {
            // The master died before it was ready (it could not confine itself).
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
            return Err(HostError(libc::EPERM));
        }
        // SAFETY: unmapping our own copy of the stub page.
        unsafe { libc::munmap(page, 4096) };
        let (tx, rx) = mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        std::thread::Builder::new()
            .name("stub-factory".into())
            .spawn(move || serve(pid, rx, ready_tx))
            .map_err(|_| HostError(libc::EAGAIN))?;
        ready_rx.recv().map_err(|_| HostError(libc::EIO))??;
        Ok(StubFactory {
            requests: Mutex::new(tx),
        })
    }

    /// A new stub process, idle in the pause loop, not yet traced by anyone.
    pub fn new_stub(&self) -> Result<i32> {
        let (tx, rx) = mpsc::channel();
        self.requests
            .lock()
            .unwrap()
            .send(tx)
            .map_err(|_| HostError(libc::EIO))?;
        rx.recv().map_err(|_| HostError(libc::EIO))?
    }
}

extern "C" {
    static __rseq_offset: isize;
    static __rseq_size: u32;
}

/// glibc registers an rseq area for every thread; fork copies the registration, and once
/// the stub unmaps that memory the host would fault it on return to user mode.
unsafe fn unregister_rseq() {
    const RSEQ_FLAG_UNREGISTER: i32 = 1;
    const RSEQ_SIG: u32 = 0x5305_3053;
    if __rseq_size == 0 {
        return;
    }
    let tp: u64;
    std::arch::asm!("mov {}, fs:0", out(reg) tp);
    let area = (tp as isize + __rseq_offset) as u64;
    for len in [__rseq_size, 32] {
        if libc::syscall(libc::SYS_rseq, area, len, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0 {
            return;
        }
    }
}

unsafe fn master_child(memfd: i32, ready: i32, filter: &crate::seccomp::Program) -> ! {
    unregister_rseq();
    libc::setsid();
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    // Children of the master are reaped by the host once their tracer has seen them exit.
    libc::signal(libc::SIGCHLD, libc::SIG_IGN);
    if memfd != STUB_MEMFD {
        libc::dup2(memfd, STUB_MEMFD);
    }
    libc::syscall(libc::SYS_close_range, 0, STUB_MEMFD - 1, 0);
    libc::syscall(libc::SYS_close_range, STUB_MEMFD + 1, ready - 1, 0);
    libc::syscall(libc::SYS_close_range, ready + 1, u32::MAX, 0);
    // No capabilities, no new privileges, and the stub filter (the host calls the kernel
    // injects, nothing else); stubs forked from here inherit all three. A failure leaves
    // the factory without its master ("ready" is never written).
    if crate::caps::limit(0).is_err()
        || crate::caps::no_new_privs().is_err()
        || crate::seccomp::install(filter).is_err()
    {
        libc::_exit(127);
    }
    // From here on nothing but the stub page is needed: the factory may seize us.
    libc::write(ready, b"r".as_ptr() as *const _, 1);
    libc::close(ready);
    let target = stub::pause_addr();
    std::arch::asm!("jmp {0}", in(reg) target, options(noreturn));
}

fn serve(master: i32, rx: mpsc::Receiver<Request>, ready: mpsc::Sender<Result<()>>) {
    // This thread only traces the master (which has no capabilities): it needs none.
    // SAFETY: changes this thread's credentials only.
    let _ = unsafe { crate::caps::limit(0) };
    let mut ctx = match seize(master).and_then(|_| Context::from_stopped(master)) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    // Empty the master's address space: only the stub page stays.
    let r1 = ctx.inject(libc::SYS_munmap as u64, &[0, STUB_BASE]);
    let r2 = ctx.inject(
        libc::SYS_munmap as u64,
        &[STUB_BASE + 4096, TASK_SIZE - STUB_BASE - 4096],
    );
    if r1 < 0 || r2 < 0 {
        let _ = ready.send(Err(HostError(-(r1.min(r2)) as i32)));
        return;
    }
    let _ = ready.send(Ok(()));
    while let Ok(reply) = rx.recv() {
        let r = ctx.inject_at(stub::clone_addr(), libc::SYS_fork as u64, &[]);
        let _ = reply.send(if r < 0 {
            Err(HostError(-r as i32))
        } else {
            Ok(r as i32)
        });
    }
}
