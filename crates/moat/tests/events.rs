//! Event files and readiness (tests/c/events.c): epoll, eventfd, timerfd, signalfd,
//! pidfds, POSIX timers; and python3's asyncio, which runs on epoll.
#[macro_use]
mod common;
use common::{c_cmd, diff_c_cmd, Variant};

c_cases!("events", Variant::Static;
    eventfd_basic, eventfd_semaphore, eventfd_blocking,
    epoll_errors, epoll_level, epoll_edge, epoll_oneshot, epoll_close, epoll_nested,
    epoll_threads, epoll_signals, epoll_timeouts, epoll_exclusive, epoll_mqueue,
    timerfd_basic, timerfd_alarm_perm, timerfd_clocks, timerfd_threads,
    signalfd_basic, signalfd_wait,
    pidfd_basic, pidfd_child, pidfd_clone,
    posix_timers, posix_overrun, posix_thread_timers, cpu_timers, exec_timers,
    futex_pi_basic, futex_pi_threads, futex_pi_timeout, futex_pi_death, futex_requeue_pi,
    futex_waitv, futex2,
);

/// epoll and poll over the sandbox's stdio (host pipes).
#[test]
fn epoll_hostio() {
    diff_c_cmd(c_cmd("events", Variant::Static, "epoll_hostio").stdin(&b"hello\n"[..]));
}

/// python3's asyncio runs on epoll (EpollSelector): subprocesses with pipes, sleeps,
/// timeouts, a reader on a pipe; child exits seen through pidfds in epoll
/// (PidfdChildWatcher) or through a waiting thread (the default watcher).
const ASYNCIO: &str = r#"
import asyncio, os, selectors, socket, sys
# asyncio's self-pipe is a socketpair; where Unix sockets are missing (ENOSYS), a pipe
# stands in for it (the loop still polls it through epoll).
try:
    _a, _b = socket.socketpair()
    _a.close(); _b.close()
except OSError:
    class _End:
        def __init__(s, fd): s.fd = fd
        def fileno(s): return s.fd
        def setblocking(s, flag): os.set_blocking(s.fd, flag)
        def send(s, d): return os.write(s.fd, d)
        def recv(s, n): return os.read(s.fd, n)
        def close(s):
            if s.fd >= 0:
                os.close(s.fd)
                s.fd = -1
    def _pair(*args):
        r, w = os.pipe()
        return _End(r), _End(w)
    socket.socketpair = _pair
print(type(selectors.DefaultSelector()).__name__)
async def main():
    p = await asyncio.create_subprocess_exec('/bin/echo', 'hi', stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate()
    print('subprocess', out.decode().strip(), p.returncode)
    await asyncio.sleep(0.05)
    print('slept')
    r, w = os.pipe()
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.add_reader(r, lambda: fut.set_result(os.read(r, 100)))
    loop.call_later(0.02, os.write, w, b'pipe data')
    print('pipe', (await fut).decode())
    loop.remove_reader(r)
    try:
        await asyncio.wait_for(asyncio.sleep(10), 0.05)
    except asyncio.TimeoutError:
        print('timeout')
    procs = [await asyncio.create_subprocess_exec('/bin/sh', '-c', f'sleep 0.0{i}; exit {i}') for i in range(3)]
    print('codes', [await p.wait() for p in procs])
    p = await asyncio.create_subprocess_exec('/bin/cat', stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    out, _ = await p.communicate(b'through cat\n' * 1000)
    print('cat', len(out), p.returncode)
    try:
        p = await asyncio.create_subprocess_exec('/bin/sleep', '10')
        await asyncio.wait_for(p.wait(), 0.1)
    except asyncio.TimeoutError:
        p.kill()
        print('killed after timeout', await p.wait())
if sys.argv[1] == 'pidfd':
    asyncio.set_child_watcher(asyncio.PidfdChildWatcher())
asyncio.run(main())
"#;

#[test]
fn python_asyncio() {
    const PY: &str = "/usr/bin/python3";
    common::require(PY);
    for watcher in ["pidfd", "thread"] {
        common::cmd(&[PY, "-c", ASYNCIO, watcher]).diff();
    }
}
