//! The ptrace platform on its own: a stub runs code from a memory file, its syscalls and
//! faults come back as events, and nothing it asks for executes on the host.

use platform::{Context, Event, StubFactory, PROT_EXEC, PROT_READ, PROT_WRITE};

fn memfd() -> i32 {
    // SAFETY: plain host calls.
    unsafe {
        let fd = libc::memfd_create(c"test".as_ptr(), 0);
        assert!(fd >= 0);
        assert_eq!(libc::ftruncate(fd, 1 << 20), 0);
        fd
    }
}

fn write_at(fd: i32, off: i64, data: &[u8]) {
    // SAFETY: writing a local buffer to our memfd.
    let n = unsafe { libc::pwrite(fd, data.as_ptr() as *const _, data.len(), off) };
    assert_eq!(n as usize, data.len());
}

const CODE: u64 = 0x40_0000;

#[test]
fn syscalls_and_faults_come_back_as_events() {
    let fd = memfd();
    // mov eax, 39 (getpid); syscall; mov rax, [0x1000]; (faults) ; int3
    let code: &[u8] = &[
        0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x10, 0, 0, 0xcc,
    ];
    write_at(fd, 0, code);
    let factory = StubFactory::start(fd).expect("factory");
    let pid = factory.new_stub().expect("stub");
    let mut ctx = Context::attach(pid, pid).expect("attach");
    ctx.map(CODE, 4096, PROT_READ | PROT_EXEC, 0).expect("map");
    let mut regs = ctx.regs;
    regs.rip = CODE;
    regs.rsp = 0;
    ctx.regs = regs;
    match ctx.switch().unwrap() {
        Event::Syscall => assert_eq!(ctx.regs.orig_rax, 39),
        e => panic!("expected syscall, got {e:?}"),
    }
    // Emulate the result; the host never ran getpid for the stub.
    ctx.regs.rax = 4242;
    match ctx.switch().unwrap() {
        Event::Fault(f) => {
            assert_eq!(f.signo, libc::SIGSEGV);
            assert_eq!(f.addr, 0x1000);
        }
        e => panic!("expected fault, got {e:?}"),
    }
    assert_eq!(ctx.regs.rax, 4242);
    // Map the page and retry: the load succeeds and the int3 traps.
    write_at(fd, 4096, &7u64.to_le_bytes());
    ctx.map(0x1000, 4096, PROT_READ | PROT_WRITE, 4096)
        .expect("map data");
    match ctx.switch().unwrap() {
        Event::Fault(f) => assert_eq!(f.signo, libc::SIGTRAP),
        e => panic!("expected trap, got {e:?}"),
    }
    assert_eq!(ctx.regs.rax, 7);
    // A second thread in the same stub.
    let tid = ctx.clone_thread().expect("clone");
    assert!(tid > 0 && tid != pid);
    let h = std::thread::spawn(move || {
        let mut c2 = Context::attach(pid, tid).expect("attach thread");
        let mut r = c2.regs;
        r.rip = CODE;
        c2.regs = r;
        match c2.switch().unwrap() {
            Event::Syscall => assert_eq!(c2.regs.orig_rax, 39),
            e => panic!("thread: {e:?}"),
        }
        c2.exit_thread();
    });
    h.join().unwrap();
    ctx.kill_process();
}
