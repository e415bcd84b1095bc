//! One application thread's execution context: a stub thread traced by the calling host
//! thread. Every method must be called from the thread that attached it.

use super::{ptrace, seize, wait, INTERRUPT_SIGNAL};
use crate::{stub, HostError, Registers, Result, STUB_MEMFD};

const NT_X86_XSTATE: u64 = 0x202;

/// Why the application stopped running.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// A system call; its number is in `regs.orig_rax`.
    Syscall,
    /// A synchronous fault or trap (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP).
    Fault(FaultInfo),
    /// The thread was kicked by `Interrupter::interrupt` (or by a stray host signal).
    Interrupted,
    /// The stub thread is gone (killed from outside); the raw wait status.
    Exited(i32),
}

/// What the host told us about a synchronous fault.
#[derive(Debug, Clone, Copy)]
pub struct FaultInfo {
    pub signo: i32,
    pub code: i32,
    pub addr: u64,
}

/// Kicks a running stub thread so its tracer regains control. Safe to use from any thread.
#[derive(Debug, Clone, Copy)]
pub struct Interrupter {
    tgid: i32,
    tid: i32,
}

impl Interrupter {
    pub fn interrupt(&self) {
        // SAFETY: plain syscall; a stale tid at worst gets ESRCH.
        unsafe { libc::syscall(libc::SYS_tgkill, self.tgid, self.tid, INTERRUPT_SIGNAL) };
    }
}

pub struct Context {
    tid: i32,
    tgid: i32,
    /// The application's registers; written to the stub before each switch.
    pub regs: Registers,
    alive: bool,
}

fn getregs(tid: i32) -> Result<Registers> {
    // SAFETY: Registers is plain old data.
    let mut regs: Registers = unsafe { std::mem::zeroed() };
    ptrace(libc::PTRACE_GETREGS, tid, 0, &mut regs as *mut _ as u64)?;
    Ok(regs)
}

fn setregs(tid: i32, regs: &Registers) -> Result<()> {
    ptrace(libc::PTRACE_SETREGS, tid, 0, regs as *const _ as u64).map(|_| ())
}

impl Context {
    /// Seizes the idle stub thread `tid` of stub process `tgid` for the calling thread.
    pub fn attach(tgid: i32, tid: i32) -> Result<Context> {
        seize(tid)?;
        let mut c = Context::from_stopped(tid)?;
        c.tgid = tgid;
        // The idle thread was interrupted inside pause(): never let the host restart it.
        c.regs.orig_rax = u64::MAX;
        c.regs.rax = 0;
        Ok(c)
    }

    pub(crate) fn from_stopped(tid: i32) -> Result<Context> {
        let regs = getregs(tid)?;
        Ok(Context {
            tid,
            tgid: tid,
            regs,
            alive: true,
        })
    }

    pub fn tid(&self) -> i32 {
        self.tid
    }

    pub fn interrupter(&self) -> Interrupter {
        Interrupter {
            tgid: self.tgid,
            tid: self.tid,
        }
    }

    /// Runs the application until its next event.
    pub fn switch(&mut self) -> Result<Event> {
        setregs(self.tid, &self.regs)?;
        ptrace(libc::PTRACE_SYSEMU, self.tid, 0, 0)?;
        loop {
            let st = wait(self.tid)?;
            if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
                self.alive = false;
                return Ok(Event::Exited(st));
            }
            if !libc::WIFSTOPPED(st) {
                continue;
            }
            self.regs = getregs(self.tid)?;
            let sig = libc::WSTOPSIG(st);
            if sig == libc::SIGTRAP | 0x80 {
                return Ok(Event::Syscall);
            }
            if (st >> 16) != 0 {
                // Event stop (group stop or PTRACE_INTERRUPT): nothing to suppress.
                return Ok(Event::Interrupted);
            }
            match sig {
                libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP => {
                    let mut si = [0u64; 16];
                    ptrace(libc::PTRACE_GETSIGINFO, self.tid, 0, si.as_mut_ptr() as u64)?;
                    let signo = si[0] as u32 as i32;
                    let code = (si[1] & 0xffff_ffff) as u32 as i32;
                    // A signal sent by a process (si_code <= 0) is not a fault of this thread.
                    if code <= 0 {
                        return Ok(Event::Interrupted);
                    }
                    return Ok(Event::Fault(FaultInfo {
                        signo,
                        code,
                        addr: si[2],
                    }));
                }
                _ => return Ok(Event::Interrupted),
            }
        }
    }

    /// Executes host syscall `nr` inside the stub and returns its raw result (-errno on
    /// failure). The application's registers in `self.regs` are left untouched.
    pub fn inject(&mut self, nr: u64, args: &[u64]) -> i64 {
        self.inject_at(stub::syscall_addr(), nr, args)
    }

    pub(crate) fn inject_at(&mut self, gadget: u64, nr: u64, args: &[u64]) -> i64 {
        let mut r = self.regs;
        r.rip = gadget;
        r.rax = nr;
        r.orig_rax = u64::MAX;
        let a = |i: usize| args.get(i).copied().unwrap_or(0);
        r.rdi = a(0);
        r.rsi = a(1);
        r.rdx = a(2);
        r.r10 = a(3);
        r.r8 = a(4);
        r.r9 = a(5);
        if let Err(e) = setregs(self.tid, &r) {
            return -(e.0 as i64);
        }
        if let Err(e) = ptrace(libc::PTRACE_CONT, self.tid, 0, 0) {
            return -(e.0 as i64);
        }
        loop {
            let st = match wait(self.tid) {
                Ok(s) => s,
                Err(e) => return -(e.0 as i64),
            };
            if libc::WIFEXITED(st) || libc::WIFSIGNALED(st) {
                self.alive = false;
                return -(libc::ESRCH as i64);
            }
            if libc::WIFSTOPPED(st) && libc::WSTOPSIG(st) == libc::SIGTRAP && (st >> 16) == 0 {
                return match getregs(self.tid) {
                    Ok(out) => out.rax as i64,
                    Err(e) => -(e.0 as i64),
                };
            }
            // An interrupt or stray signal while the injected call ran: suppress, continue.
            if ptrace(libc::PTRACE_CONT, self.tid, 0, 0).is_err() {
                return -(libc::ESRCH as i64);
            }
        }
    }

    /// Maps `len` bytes of the memory file at `offset` to `addr` with `prot`.
    pub fn map(&mut self, addr: u64, len: u64, prot: u32, offset: u64) -> Result<()> {
        self.map_with(addr, len, prot, offset, false)
    }

    /// Like `map`; `populate` fills the host page tables at once (MAP_POPULATE), which saves
    /// a host fault per page for memory that is about to be touched.
    pub fn map_with(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        offset: u64,
        populate: bool,
    ) -> Result<()> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let r = self.inject(
            libc::SYS_mmap as u64,
            &[addr, len, prot as u64, flags, STUB_MEMFD as u64, offset],
        );
        if r < 0 {
            return Err(HostError(-r as i32));
        }
        if populate {
            // MADV_POPULATE_WRITE (or READ for read-only memory): page tables filled in one
            // call; failure is harmless (pages then fault in one by one).
            const MADV_POPULATE_READ: u64 = 22;
            const MADV_POPULATE_WRITE: u64 = 23;
            let advice = if prot & crate::PROT_WRITE != 0 {
                MADV_POPULATE_WRITE
            } else {
                MADV_POPULATE_READ
            };
            self.inject(libc::SYS_madvise as u64, &[addr, len, advice]);
        }
        Ok(())
    }

    pub fn unmap(&mut self, addr: u64, len: u64) -> Result<()> {
        let r = self.inject(libc::SYS_munmap as u64, &[addr, len]);
        if r < 0 {
            Err(HostError(-r as i32))
        } else {
            Ok(())
        }
    }

    /// Creates another stub thread in this stub process, idle in the pause loop; attach it
    /// from the host thread that will trace it.
    pub fn clone_thread(&mut self) -> Result<i32> {
        let flags = libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM;
        let r = self.inject_at(
            stub::clone_addr(),
            libc::SYS_clone as u64,
            &[flags as u64, 0, 0, 0, 0],
        );
        if r < 0 {
            Err(HostError(-r as i32))
        } else {
            Ok(r as i32)
        }
    }

    pub fn tgid(&self) -> i32 {
        self.tgid
    }

    /// The full xsave state of the thread (for signal frames).
    pub fn get_fpstate(&self) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; 16384];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut _,
            iov_len: buf.len(),
        };
        ptrace(
            libc::PTRACE_GETREGSET,
            self.tid,
            NT_X86_XSTATE,
            &mut iov as *mut _ as u64,
        )?;
        buf.truncate(iov.iov_len);
        Ok(buf)
    }

    pub fn set_fpstate(&self, state: &[u8]) -> Result<()> {
        let mut iov = libc::iovec {
            iov_base: state.as_ptr() as *mut _,
            iov_len: state.len(),
        };
        ptrace(
            libc::PTRACE_SETREGSET,
            self.tid,
            NT_X86_XSTATE,
            &mut iov as *mut _ as u64,
        )
        .map(|_| ())
    }

    /// Ends this stub thread (only this thread: its process lives on). The thread is
    /// pointed at `exit` and detached rather than waited for: a thread-group leader's exit
    /// would not be reported until every other thread of its process had gone.
    pub fn exit_thread(mut self) {
        self.detach_to_exit();
    }

    fn detach_to_exit(&mut self) {
        if self.alive {
            let mut r = self.regs;
            r.rip = stub::syscall_addr();
            r.rax = libc::SYS_exit as u64;
            r.rdi = 0;
            r.orig_rax = u64::MAX;
            if setregs(self.tid, &r).is_ok() {
                let _ = ptrace(libc::PTRACE_DETACH, self.tid, 0, 0);
            }
            self.alive = false;
        }
    }

    /// Kills the whole stub process this context belongs to.
    pub fn kill_process(&mut self) {
        // SAFETY: plain syscall on a process we own.
        unsafe { libc::kill(self.tgid, libc::SIGKILL) };
        if self.alive {
            let _ = wait(self.tid);
            self.alive = false;
        }
    }

    pub fn is_alive(&self) -> bool {
        self.alive
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // A context dropped without an explicit end: its thread must not run free.
        self.detach_to_exit();
    }
}
