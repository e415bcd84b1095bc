//! Terminals (tests/c/tty.c): pty pairs and devpts, the line discipline, terminal
//! signals, job control, window sizes, hang-up, /dev/tty; and an interactive bash with
//! job control driven through a host pty (tests/tty_session.rs has the driver).
#[macro_use]
mod common;
use common::Variant;

c_cases!("tty", Variant::Static;
    pty_basics, termios_defaults, canonical, echo_modes, raw_mode, isig_signals, job_control,
    winsize, hangup, vhangup_case, master_eio, leader_exit, leader_exit_master,
    exit_after_hangup, devtty, sctty_rules, sctty_master,
    poll_pty, epoll_pty, flush_flow, interrupted, packet_mode, large_io);

mod dynamic {
    c_cases!("tty", crate::common::Variant::Dynamic; pty_basics, canonical, job_control);
}

/// An interactive program on a host pty made by the test: the program's session leader
/// has the pty slave as its controlling terminal, as in a terminal emulator; the test
/// types on the master and reads what the terminal shows.
mod interactive {
    use crate::common::MOAT;
    use std::io::Write;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::{Duration, Instant};

    struct Term {
        master: std::fs::File,
        out: Arc<(Mutex<Vec<u8>>, Condvar)>,
        seen: usize,
        child: Child,
        what: String,
    }

    impl Term {
        /// Starts `argv` (under `moat do` when `sandboxed`) on a new pty of `rows`x`cols`.
        fn start(argv: &[&str], sandboxed: bool, rows: u16, cols: u16) -> Term {
            let (mut m, mut s) = (0, 0);
            let ws = libc::winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: out pointers to locals; no name buffer or termios.
            let r = unsafe {
                libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws)
            };
            assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
            // SAFETY: fresh fds from openpty.
            let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
            // SAFETY: fcntl on our own fd.
            unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
            let mut full: Vec<&str> = Vec::new();
            if sandboxed {
                full.extend([MOAT, "do", "--"]);
            }
            full.extend(argv);
            let mut c = Command::new(full[0]);
            c.args(&full[1..])
                .env_clear()
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .env("HOME", "/")
                .env("TERM", "dumb")
                .env("PS1", "PROMPT> ")
                .current_dir("/")
                .stdin(Stdio::from(slave.try_clone().unwrap()))
                .stdout(Stdio::from(slave.try_clone().unwrap()))
                .stderr(Stdio::from(slave));
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                c.pre_exec(|| {
                    if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let child = c.spawn().expect("spawn on the pty");
            let master = std::fs::File::from(master);
            let out = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
            let (r, o) = (master.try_clone().unwrap(), out.clone());
            std::thread::spawn(move || {
                let mut r = r;
                let mut b = [0u8; 4096];
                loop {
                    match std::io::Read::read(&mut r, &mut b) {
                        Ok(n) if n > 0 => {
                            o.0.lock().unwrap().extend_from_slice(&b[..n]);
                            o.1.notify_all();
                        }
                        _ => break,
                    }
                }
                o.1.notify_all();
            });
            Term {
                master,
                out,
                seen: 0,
                child,
                what: format!(
                    "{}{}",
                    if sandboxed { "moat do " } else { "" },
                    argv.join(" ")
                ),
            }
        }

        fn transcript(&self) -> String {
            String::from_utf8_lossy(&self.out.0.lock().unwrap()).into_owned()
        }

        /// Waits until `pat` shows up after what was matched so far.
        fn expect(&mut self, pat: &str) {
            let deadline = Instant::now() + Duration::from_secs(30);
            let (lock, cv) = &*self.out;
            let mut g = lock.lock().unwrap();
            loop {
                if let Some(i) = find(&g[self.seen..], pat.as_bytes()) {
                    self.seen += i + pat.len();
                    return;
                }
                let now = Instant::now();
                if now >= deadline {
                    drop(g);
                    let _ = self.child.kill();
                    panic!(
                        "{}: {:?} did not show up; terminal so far:\n{}",
                        self.what,
                        pat,
                        self.transcript()
                    );
                }
                g = cv.wait_timeout(g, deadline - now).unwrap().0;
            }
        }

        /// Sends ^C once a second until `pat` shows up.
        fn interrupt_until(&mut self, pat: &str) {
            for _ in 0..20 {
                self.send("\x03");
                let (lock, cv) = &*self.out;
                let g = lock.lock().unwrap();
                let (g, _) = cv
                    .wait_timeout_while(g, Duration::from_secs(1), |b| {
                        find(&b[self.seen..], pat.as_bytes()).is_none()
                    })
                    .unwrap();
                if find(&g[self.seen..], pat.as_bytes()).is_some() {
                    drop(g);
                    return self.expect(pat);
                }
            }
            self.expect(pat);
        }

        fn send(&mut self, s: &str) {
            self.master.write_all(s.as_bytes()).unwrap();
        }

        fn resize(&self, rows: u16, cols: u16) {
            let ws = libc::winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            // SAFETY: TIOCSWINSZ reads a winsize from a local.
            let r = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
            assert_eq!(r, 0);
        }

        /// Waits for the program to exit; returns its status as a shell shows it.
        fn finish(mut self) -> i32 {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Some(st) = self.child.try_wait().unwrap() {
                    return crate::common::shell_status(st);
                }
                if Instant::now() >= deadline {
                    let _ = self.child.kill();
                    panic!("{}: did not exit:\n{}", self.what, self.transcript());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    impl Drop for Term {
        fn drop(&mut self) {
            if let Ok(None) = self.child.try_wait() {
                crate::common::kill_tree(self.child.id() as i32);
                let _ = self.child.wait();
            }
        }
    }

    fn find(h: &[u8], n: &[u8]) -> Option<usize> {
        h.windows(n.len()).position(|w| w == n)
    }

    /// An interactive bash with job control: a command and its output, ^C ending a
    /// foreground job, ^Z stopping one and `fg` resuming it, ^\, window sizes, a
    /// program reading the terminal in canonical mode, and exit.
    fn bash_session(sandboxed: bool) {
        let mut t = Term::start(
            &["/bin/bash", "--norc", "--noprofile", "-i"],
            sandboxed,
            30,
            100,
        );
        t.expect("PROMPT> ");
        t.send("echo hello $((6*7))\r");
        t.expect("hello 42");
        t.expect("PROMPT> ");
        t.send("sh -c 'echo ST\"AR\"TED; exec sleep 100'\r");
        t.expect("STARTED");
        t.send("\x03");
        t.expect("PROMPT> ");
        t.send("echo rc=$((1+$?))\r");
        t.expect("rc=131");
        t.expect("PROMPT> ");
        t.send("sh -c 'echo AG\"AI\"N; exec sleep 100'\r");
        t.expect("AGAIN");
        t.send("\x1a");
        t.expect("Stopped");
        t.expect("PROMPT> ");
        t.send("jobs\r");
        t.expect("Stopped");
        t.expect("PROMPT> ");
        t.send("fg\r");
        t.expect("exec sleep 100");
        // The job's group gets the terminal a moment after bash names it: ^C until the
        // prompt is back (a ^C at the prompt also sets $? to 130).
        t.interrupt_until("PROMPT> ");
        t.send("echo rc=$((1+$?))\r");
        t.expect("rc=131");
        t.expect("PROMPT> ");
        t.send("sh -c 'echo QU\"IT\"; exec sleep 100'\r");
        t.expect("QUIT");
        t.send("\x1c");
        t.expect("Quit");
        t.expect("PROMPT> ");
        t.send("stty size\r");
        t.expect("\n30 100");
        t.expect("PROMPT> ");
        t.resize(40, 120);
        t.send("stty size; echo cols=$((COLUMNS))\r");
        t.expect("\n40 120");
        t.expect("cols=120");
        t.expect("PROMPT> ");
        t.send("sh -c 'echo RE\"AD\"Y; exec cat'\r");
        t.expect("READY");
        t.send("typed line\r");
        t.expect("typed line\r\ntyped line\r\n");
        t.send("\x04");
        t.expect("PROMPT> ");
        t.send("sleep 100 &\r");
        t.expect("PROMPT> ");
        t.send("kill %1; wait %1; echo bg=$((0+$?))\r");
        t.expect("bg=143");
        t.expect("PROMPT> ");
        t.send("exit 7\r");
        let st = t.finish();
        assert_eq!(st, 7, "exit status");
    }

    /// A sandboxed command as a job of an interactive host shell: ^Z stops the whole
    /// sandbox (the shell sees its job stop), fg continues it, ^C ends it.
    fn as_a_job(sandboxed: bool) {
        let mut t = Term::start(&["/bin/bash", "--norc", "--noprofile", "-i"], false, 24, 80);
        let pre = if sandboxed {
            format!("{MOAT} do -- ")
        } else {
            String::new()
        };
        t.expect("PROMPT> ");
        t.send(&format!("{pre}sh -c 'echo ST\"AR\"TED; exec sleep 100'\r"));
        t.expect("STARTED");
        t.send("\x1a");
        t.expect("Stopped");
        t.expect("PROMPT> ");
        t.send("fg\r");
        t.expect("exec sleep 100");
        t.interrupt_until("PROMPT> ");
        t.send("echo rc=$((1+$?))\r");
        t.expect("rc=131");
        t.expect("PROMPT> ");
        t.send(&format!(
            "{pre}sh -c 'echo RE\"AD\"Y; read x; echo got=$x'\r"
        ));
        t.expect("READY");
        t.send("word\r");
        t.expect("got=word");
        t.expect("PROMPT> ");
        t.send("exit\r");
        assert_eq!(t.finish(), 0);
    }

    #[test]
    fn shell_job_native() {
        as_a_job(false);
    }

    #[test]
    fn shell_job() {
        as_a_job(true);
    }

    #[test]
    fn bash_job_control_native() {
        bash_session(false);
    }

    #[test]
    fn bash_job_control() {
        bash_session(true);
    }
}
