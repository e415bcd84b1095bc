//! Pseudo-terminal pairs. The master side is a plain byte stream; the slave side is a
//! terminal with the N_TTY line discipline: what the master writes is the slave's input
//! (edited, echoed back to the master, turned into signals for the slave's foreground
//! group), and what the slave writes reaches the master after output processing.
//!
//! As on Linux, termios and window-size requests on either side act on the slave;
//! closing the master hangs the slave up (its files read end-of-file, write and ioctl
//! fail with EIO, the session leader gets SIGHUP and SIGCONT), and reading the master
//! once every slave file is closed fails with EIO.

use super::jobctl::{self, check_change, kill_pgrp};
use super::ldisc::{Effects, Ldisc, Out, BUF_SIZE};
use super::termios::*;
use super::*;
use crate::fs::devpts::DevPts;
use crate::task::{SysResult, Task};
use crate::vfs::inode::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDNORM, POLLWRNORM};
use crate::vfs::{oflags, File, FileOps};
use crate::wait::WaitQueue;
use abi::signal::*;
use abi::Errno;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Room for input written by the master not yet taken by the line discipline (the
/// slave's flip buffer).
const PENDING_CAP: usize = 8192;
/// Room for output the master has not read yet.
const MASTER_CAP: usize = BUF_SIZE - 1 + 8192;

const CAP_SYS_ADMIN: u32 = 21;

// Packet-mode status bits.
const TIOCPKT_DATA: u8 = 0;
const TIOCPKT_FLUSHREAD: u8 = 1;
const TIOCPKT_FLUSHWRITE: u8 = 2;
const TIOCPKT_STOP: u8 = 4;
const TIOCPKT_START: u8 = 8;
const TIOCPKT_NOSTOP: u8 = 16;
const TIOCPKT_DOSTOP: u8 = 32;

struct State {
    /// The slave's termios (the master's own stays raw and cannot be changed).
    termios: Termios,
    /// TIOCSLCKTRMIOS: bits of the termios that cannot change.
    locked_termios: Termios,
    ld: Ldisc,
    /// Master writes waiting for room in the line discipline.
    pending: VecDeque<u8>,
    /// Slave output and echoes, for the master to read.
    mbuf: VecDeque<u8>,
    winsize: Winsize,
    /// TIOCSPTLCK: the slave cannot be opened.
    locked: bool,
    master_open: bool,
    slave_opens: usize,
    /// Every slave file was closed: master reads past the data fail with EIO.
    other_closed: bool,
    /// Hang-ups so far: a slave file opened before the latest one is hung up.
    hangups: u64,
    /// Master writes stopped by TCXONC.
    master_stopped: bool,
    packet: bool,
    pktstatus: u8,
    exclusive: bool,
    /// Bumped on every change, for waiters.
    seq: u64,
}

pub struct Pty {
    pub index: u32,
    /// The slave as job control sees it.
    pub tty: Arc<Tty>,
    st: Mutex<State>,
    pub wq: Arc<WaitQueue>,
    devpts: Weak<DevPts>,
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(d) = self.devpts.upgrade() {
            d.release(self.index);
        }
    }
}

/// Which side a file is.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Master,
    Slave,
}

impl Pty {
    pub fn new(index: u32, devpts: Weak<DevPts>) -> Arc<Pty> {
        Arc::new_cyclic(|me: &Weak<Pty>| Pty {
            index,
            tty: Tty::new(Kind::Pty(me.clone())),
            st: Mutex::new(State {
                termios: Termios::pty_default(),
                locked_termios: Termios::zero(),
                ld: Ldisc::new(),
                pending: VecDeque::new(),
                mbuf: VecDeque::new(),
                winsize: Winsize::default(),
                locked: true,
                master_open: true,
                slave_opens: 0,
                other_closed: false,
                hangups: 0,
                master_stopped: false,
                packet: false,
                pktstatus: 0,
                exclusive: false,
                seq: 0,
            }),
            wq: Arc::new(WaitQueue::new()),
            devpts,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap()
    }

    /// The master file's operations (the pty is new: its master is open).
    pub fn master_ops(self: &Arc<Pty>) -> Box<dyn FileOps> {
        Box::new(Master { pty: self.clone() })
    }

    /// Opens the slave (through /dev/pts/N, TIOCGPTPEER or /dev/tty): EIO while locked
    /// or once the master is gone. `ctty`: (opener's tgid, O_NOCTTY, readable) for the
    /// controlling-terminal rule; None for /dev/tty.
    pub fn open_slave(
        self: &Arc<Pty>,
        ctty: Option<(i32, bool, bool)>,
    ) -> Result<Box<dyn FileOps>, Errno> {
        let gen = {
            let mut s = self.lock();
            if !s.master_open || s.locked {
                return Err(Errno::EIO);
            }
            s.slave_opens += 1;
            s.other_closed = false;
            s.seq += 1;
            s.hangups
        };
        self.wq.notify_all();
        if let Some((tgid, noctty, readable)) = ctty {
            jobctl::acquire_on_open(tgid, &self.tty, noctty, readable);
        }
        Ok(Box::new(Slave {
            pty: self.clone(),
            gen,
        }))
    }

    /// Feeds pending master writes to the line discipline; returns the signals raised.
    fn process(s: &mut State) -> Vec<u32> {
        if s.pending.is_empty() {
            return Vec::new();
        }
        let mut fx = Effects::default();
        let was_stopped = s.ld.stopped;
        let State {
            termios,
            ld,
            pending,
            mbuf,
            ..
        } = s;
        ld.receive(
            termios,
            pending,
            &mut Out {
                q: mbuf,
                cap: MASTER_CAP,
            },
            &mut fx,
        );
        if s.packet && was_stopped != s.ld.stopped {
            s.pktstatus &= !(TIOCPKT_STOP | TIOCPKT_START);
            s.pktstatus |= if s.ld.stopped {
                TIOCPKT_STOP
            } else {
                TIOCPKT_START
            };
        }
        if !fx.signals.is_empty() && s.packet && !s.termios.l(NOFLSH) {
            s.pktstatus |= TIOCPKT_FLUSHREAD;
        }
        s.seq += 1;
        fx.signals
    }

    /// Raises the line discipline's signals in the slave's foreground group.
    fn signal(&self, sigs: Vec<u32>) {
        if sigs.is_empty() {
            return;
        }
        let pg = self.tty.ctrl().pgrp;
        for sig in sigs {
            kill_pgrp(pg, sig);
        }
    }

    /// Ends a change: wakes waiters and raises signals (after the lock is gone).
    fn done(&self, sigs: Vec<u32>) {
        self.wq.notify_all();
        self.signal(sigs);
    }

    /// Sleeps until the state changes after `seq`, `deadline` passes (ETIMEDOUT) or a
    /// signal arrives (ERESTARTSYS).
    fn wait(&self, t: &Task, seq: u64, deadline: Option<Instant>) -> Result<(), Errno> {
        t.wait_until(&[&self.wq], None, deadline, || {
            Ok(if self.lock().seq != seq {
                Some(())
            } else {
                None
            })
        })
    }

    /// A blocking write: `step` takes what it can of the rest (returning how much, and
    /// signals to raise) until all is taken; O_NONBLOCK returns what was taken (EAGAIN
    /// if nothing), a signal likewise (ERESTARTSYS if nothing); an error from `step`
    /// ends the write (unless something was written).
    fn write_loop(
        &self,
        t: &Task,
        f: &File,
        data: &[u8],
        mut step: impl FnMut(&mut State, &[u8]) -> Result<(usize, Vec<u32>), Errno>,
    ) -> Result<usize, Errno> {
        let mut done = 0;
        let partial = |done: usize, e: Errno| if done > 0 { Ok(done) } else { Err(e) };
        loop {
            let (seq, sigs) = {
                let mut s = self.lock();
                match step(&mut s, &data[done..]) {
                    Ok((n, sigs)) => {
                        done += n;
                        s.seq += 1;
                        (s.seq, sigs)
                    }
                    Err(e) => return partial(done, e),
                }
            };
            self.done(sigs);
            if done == data.len() {
                return Ok(done);
            }
            if f.nonblock() {
                return partial(done, Errno::EAGAIN);
            }
            if let Err(e) = self.wait(t, seq, None) {
                return partial(done, e);
            }
        }
    }

    /// vhangup: every open slave file is hung up, the session loses the terminal (the
    /// slave can be opened again).
    pub fn vhangup(&self) {
        {
            let mut s = self.lock();
            s.hangups += 1;
            s.seq += 1;
        }
        self.wq.notify_all();
        jobctl::hangup(&self.tty);
    }

    fn hung(s: &State, gen: u64) -> bool {
        s.hangups != gen
    }
}

/// The master side of a pty.
struct Master {
    pty: Arc<Pty>,
}

/// One open file of the slave side.
struct Slave {
    pty: Arc<Pty>,
    /// Hang-ups at open time (the file is hung up once another happens).
    gen: u64,
}

impl Drop for Master {
    fn drop(&mut self) {
        let p = &self.pty;
        {
            let mut s = p.lock();
            s.master_open = false;
            s.hangups += 1;
            s.pending.clear();
            s.seq += 1;
        }
        p.wq.notify_all();
        if let Some(d) = p.devpts.upgrade() {
            d.kill(p.index);
        }
        let tty = p.tty.clone();
        jobctl::run_unlocked(move || jobctl::hangup(&tty));
    }
}

impl Drop for Slave {
    fn drop(&mut self) {
        let p = &self.pty;
        {
            let mut s = p.lock();
            s.slave_opens -= 1;
            if s.slave_opens == 0 {
                s.other_closed = true;
            }
            s.seq += 1;
        }
        p.wq.notify_all();
    }
}

impl FileOps for Master {
    fn seekable(&self) -> bool {
        false
    }

    fn read(&self, t: &Task, f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let p = &self.pty;
        loop {
            let seq = {
                let mut s = p.lock();
                if s.packet && s.pktstatus != 0 {
                    buf[0] = s.pktstatus;
                    s.pktstatus = 0;
                    return Ok(1);
                }
                if !s.mbuf.is_empty() {
                    let mut at = 0;
                    if s.packet {
                        buf[0] = TIOCPKT_DATA;
                        at = 1;
                    }
                    let n = (buf.len() - at).min(s.mbuf.len());
                    for (i, b) in s.mbuf.drain(..n).enumerate() {
                        buf[at + i] = b;
                    }
                    s.seq += 1;
                    drop(s);
                    p.wq.notify_all();
                    return Ok(at + n);
                }
                if s.other_closed {
                    return Err(Errno::EIO);
                }
                if f.nonblock() {
                    return Err(Errno::EAGAIN);
                }
                s.seq
            };
            p.wait(t, seq, None)?;
        }
    }

    fn write(&self, t: &Task, f: &File, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        self.pty.write_loop(t, f, data, |s, rest| {
            let mut n = 0;
            if !s.master_stopped {
                n = rest.len().min(PENDING_CAP.saturating_sub(s.pending.len()));
                s.pending.extend(&rest[..n]);
            }
            Ok((n, Pty::process(s)))
        })
    }

    fn poll(&self, _f: &File) -> u32 {
        let s = self.pty.lock();
        let mut ev = 0;
        if !s.mbuf.is_empty() {
            ev |= POLLIN | POLLRDNORM;
        }
        if s.packet && s.pktstatus != 0 {
            ev |= POLLPRI | POLLIN | POLLRDNORM;
        }
        if s.other_closed {
            ev |= POLLHUP;
        }
        if s.pending.len() < PENDING_CAP && !s.master_stopped {
            ev |= POLLOUT | POLLWRNORM;
        }
        ev
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.pty.wq.clone())
    }

    fn nread(&self) -> Option<usize> {
        Some(self.pty.lock().mbuf.len().min(BUF_SIZE - 1))
    }

    fn ioctl(&self, t: &Task, f: &File, cmd: u32, arg: u64) -> SysResult {
        ioctl(&self.pty, t, f, Side::Master, cmd, arg)
    }
}

impl Slave {
    /// VMIN/VTIME and canonical reads (n_tty_read).
    fn do_read(&self, t: &Task, f: &File, buf: &mut [u8]) -> Result<usize, Errno> {
        let p = &self.pty;
        // `minimum` bytes end the read; `time` restarts the timeout after each byte
        // (VMIN > 0, VTIME > 0); `deadline` ends the wait (VMIN 0: from the start).
        let (minimum, time, mut deadline) = {
            let s = p.lock();
            let tm = &s.termios;
            let vtime = Duration::from_millis(100 * tm.cc[VTIME] as u64);
            if tm.icanon() {
                (0, None, None)
            } else if tm.cc[VMIN] > 0 {
                (
                    tm.cc[VMIN] as usize,
                    Some(vtime).filter(|d| !d.is_zero()),
                    None,
                )
            } else {
                (1, None, Some(Instant::now() + vtime))
            }
        };
        let mut got: Vec<u8> = Vec::new();
        loop {
            let mut s = p.lock();
            let mut sigs = Pty::process(&mut s);
            if !s.ld.available(&s.termios, 1) {
                // A read asleep when the master goes fails; one on a file hung up by
                // TIOCVHANGUP ends.
                if !s.master_open {
                    if got.is_empty() {
                        return Err(Errno::EIO);
                    }
                    break;
                }
                if Pty::hung(&s, self.gen) {
                    break;
                }
                let seq = s.seq;
                drop(s);
                p.done(sigs);
                if deadline.is_some_and(|d| d <= Instant::now()) {
                    break;
                }
                if f.nonblock() {
                    if got.is_empty() {
                        return Err(Errno::EAGAIN);
                    }
                    break;
                }
                match p.wait(t, seq, deadline) {
                    Ok(()) => continue,
                    Err(Errno::ETIMEDOUT) => break,
                    Err(e) if got.is_empty() => return Err(e),
                    Err(_) => break,
                }
            }
            let termios = s.termios;
            let (_, again) = s.ld.read(&termios, buf.len() - got.len(), &mut got);
            // Room was freed: more pending input can come in.
            sigs.extend(Pty::process(&mut s));
            s.seq += 1;
            drop(s);
            p.done(sigs);
            if again {
                continue;
            }
            if got.len() >= minimum || got.len() == buf.len() {
                break;
            }
            if let Some(tm) = time {
                deadline = Some(Instant::now() + tm);
            }
        }
        buf[..got.len()].copy_from_slice(&got);
        Ok(got.len())
    }
}

impl FileOps for Slave {
    fn seekable(&self) -> bool {
        false
    }

    fn read(&self, t: &Task, f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if Pty::hung(&self.pty.lock(), self.gen) {
            return Ok(0);
        }
        check_change(t, &self.pty.tty, SIGTTIN)?;
        if buf.is_empty() {
            return Ok(0);
        }
        self.do_read(t, f, buf)
    }

    fn write(&self, t: &Task, f: &File, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        let p = &self.pty;
        let tostop = {
            let s = p.lock();
            if Pty::hung(&s, self.gen) {
                return Err(Errno::EIO);
            }
            s.termios.l(TOSTOP)
        };
        if tostop {
            check_change(t, &p.tty, SIGTTOU)?;
        }
        let gen = self.gen;
        p.write_loop(t, f, data, |s, rest| {
            if Pty::hung(s, gen) {
                return Err(Errno::EIO);
            }
            let mut n = 0;
            if !s.ld.stopped {
                let termios = s.termios;
                let State { ld, mbuf, .. } = s;
                n = ld.output(
                    &termios,
                    rest,
                    &mut Out {
                        q: mbuf,
                        cap: MASTER_CAP,
                    },
                );
            }
            Ok((n, Vec::new()))
        })
    }

    fn poll(&self, _f: &File) -> u32 {
        let s = self.pty.lock();
        if Pty::hung(&s, self.gen) {
            return POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDNORM | POLLWRNORM;
        }
        let mut ev = 0;
        let tm = &s.termios;
        let amt = if tm.cc[VTIME] == 0 {
            tm.cc[VMIN] as usize
        } else {
            1
        };
        if s.ld.available(tm, amt) {
            ev |= POLLIN | POLLRDNORM;
        }
        if s.other_closed {
            ev |= POLLHUP;
        }
        if !s.ld.stopped && s.mbuf.len() < MASTER_CAP {
            ev |= POLLOUT | POLLWRNORM;
        }
        ev
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.pty.wq.clone())
    }

    fn nread(&self) -> Option<usize> {
        let s = self.pty.lock();
        Some(s.ld.inq(&s.termios))
    }

    fn ioctl(&self, t: &Task, f: &File, cmd: u32, arg: u64) -> SysResult {
        if Pty::hung(&self.pty.lock(), self.gen) {
            return Err(if cmd == TIOCSPGRP {
                Errno::ENOTTY
            } else {
                Errno::EIO
            });
        }
        ioctl(&self.pty, t, f, Side::Slave, cmd, arg)
    }
}

fn read_int(t: &Task, arg: u64) -> Result<i32, Errno> {
    t.read_val::<i32>(arg)
}

/// Sets the slave's termios from a TCSETS-family request.
fn set_termios(p: &Arc<Pty>, t: &Task, cmd: u32, arg: u64) -> SysResult {
    check_change(t, &p.tty, SIGTTOU)?;
    let mut new = p.lock().termios;
    match cmd {
        TCSETA | TCSETAW | TCSETAF => {
            let mut b = [0u8; TERMIO_SIZE];
            t.read_mem(arg, &mut b)?;
            new.set_termio(&b);
        }
        TCSETS2 | TCSETSW2 | TCSETSF2 => {
            let mut b = [0u8; TERMIOS2_SIZE];
            t.read_mem(arg, &mut b)?;
            new = Termios::from_bytes(&b);
        }
        _ => {
            let mut b = [0u8; TERMIOS_SIZE];
            t.read_mem(arg, &mut b)?;
            let keep = (new.ispeed, new.ospeed);
            new = Termios::from_bytes(&b);
            (new.ispeed, new.ospeed) = keep;
        }
    }
    new.derive_speeds(true);
    // A pty is always 8 bits without parity, and can always receive.
    new.cflag = (new.cflag & !(CSIZE | PARENB)) | CS8 | CREAD;
    let flush = matches!(cmd, TCSETSF | TCSETAF | TCSETSF2);
    let sigs = {
        let mut s = p.lock();
        if flush {
            s.ld.flush();
            if s.packet {
                s.pktstatus |= TIOCPKT_FLUSHREAD;
            }
        }
        let old = s.termios;
        let mut new = new;
        new.keep_locked(&old, &s.locked_termios);
        s.termios = new;
        s.ld.set_termios(&old, &new);
        if s.packet {
            let flow = |x: &Termios| x.i(IXON) && x.cc[VSTOP] == 0o23 && x.cc[VSTART] == 0o21;
            if flow(&old) != flow(&new) {
                s.pktstatus &= !(TIOCPKT_NOSTOP | TIOCPKT_DOSTOP);
                s.pktstatus |= if flow(&new) {
                    TIOCPKT_DOSTOP
                } else {
                    TIOCPKT_NOSTOP
                };
            }
        }
        s.seq += 1;
        Pty::process(&mut s)
    };
    p.done(sigs);
    Ok(0)
}

fn ioctl(p: &Arc<Pty>, t: &Task, f: &File, side: Side, cmd: u32, arg: u64) -> SysResult {
    let master = side == Side::Master;
    match cmd {
        TIOCGPTPEER if !master => Err(Errno::EIO),
        TIOCGPTN | TIOCSPTLCK | TIOCGPTLCK | TIOCPKT | TIOCGPKT | TIOCSIG if !master => {
            Err(Errno::ENOTTY)
        }
        TIOCGPTN => {
            t.write_val(arg, &p.index)?;
            Ok(0)
        }
        TIOCSPTLCK => {
            let v = read_int(t, arg)?;
            p.lock().locked = v != 0;
            Ok(0)
        }
        TIOCGPTLCK => {
            let v = p.lock().locked as i32;
            t.write_val(arg, &v)?;
            Ok(0)
        }
        TIOCPKT => {
            let v = read_int(t, arg)?;
            let mut s = p.lock();
            if v != 0 {
                if !s.packet {
                    s.pktstatus = 0;
                    s.packet = true;
                }
            } else {
                s.packet = false;
            }
            Ok(0)
        }
        TIOCGPKT => {
            let v = p.lock().packet as i32;
            t.write_val(arg, &v)?;
            Ok(0)
        }
        TIOCSIG => {
            let sig = arg as u32;
            if sig != SIGINT && sig != SIGQUIT && sig != SIGTSTP {
                return Err(Errno::EINVAL);
            }
            kill_pgrp(p.tty.ctrl().pgrp, sig);
            Ok(0)
        }
        TIOCGPTPEER => open_peer(p, t, arg as u32),
        TCGETS | TCGETS2 => {
            let b = p.lock().termios.to_bytes();
            let n = if cmd == TCGETS {
                TERMIOS_SIZE
            } else {
                TERMIOS2_SIZE
            };
            t.write_mem(arg, &b[..n])?;
            Ok(0)
        }
        TCGETA => {
            let b = p.lock().termios.to_termio();
            t.write_mem(arg, &b)?;
            Ok(0)
        }
        TCSETS | TCSETSW | TCSETSF | TCSETS2 | TCSETSW2 | TCSETSF2 | TCSETA | TCSETAW | TCSETAF => {
            set_termios(p, t, cmd, arg)
        }
        TIOCGLCKTRMIOS => {
            let b = p.lock().locked_termios.to_bytes();
            t.write_mem(arg, &b[..TERMIOS_SIZE])?;
            Ok(0)
        }
        TIOCSLCKTRMIOS => {
            if !t.creds().has_cap(CAP_SYS_ADMIN) {
                return Err(Errno::EPERM);
            }
            let mut b = [0u8; TERMIOS_SIZE];
            t.read_mem(arg, &mut b)?;
            let mut l = Termios::from_bytes(&b);
            let s = &mut p.lock();
            (l.ispeed, l.ospeed) = (s.locked_termios.ispeed, s.locked_termios.ospeed);
            s.locked_termios = l;
            Ok(0)
        }
        TIOCGSOFTCAR => {
            let v = (p.lock().termios.cflag & CLOCAL != 0) as i32;
            t.write_val(arg, &v)?;
            Ok(0)
        }
        TIOCSSOFTCAR => {
            let v: u32 = t.read_val(arg)?;
            let mut s = p.lock();
            let mut new = s.termios;
            new.cflag = (new.cflag & !CLOCAL) | if v != 0 { CLOCAL } else { 0 };
            let old = s.termios;
            new.keep_locked(&old, &s.locked_termios);
            s.termios = new;
            Ok(0)
        }
        TIOCGDEV => {
            let (ma, mi) = (136u32, p.index);
            let v = (mi & 0xff) | (ma << 8) | ((mi & !0xff) << 12);
            t.write_val(arg, &v)?;
            Ok(0)
        }
        TIOCVHANGUP => {
            if !t.creds().has_cap(CAP_SYS_ADMIN) {
                return Err(Errno::EPERM);
            }
            if master {
                // Hanging up the master side itself is not supported.
                return Err(Errno::ENOTTY);
            }
            p.vhangup();
            Ok(0)
        }
        TIOCGWINSZ => {
            let w = p.lock().winsize;
            t.write_mem(arg, &w.to_bytes())?;
            Ok(0)
        }
        TIOCSWINSZ => {
            let mut b = [0u8; 8];
            t.read_mem(arg, &mut b)?;
            let w = Winsize::from_bytes(&b);
            let changed = {
                let mut s = p.lock();
                let c = s.winsize != w;
                s.winsize = w;
                c
            };
            if changed {
                kill_pgrp(p.tty.ctrl().pgrp, SIGWINCH);
            }
            Ok(0)
        }
        TIOCINQ => {
            let n = {
                let mut s = p.lock();
                if master {
                    s.mbuf.len().min(BUF_SIZE - 1)
                } else {
                    let sigs = Pty::process(&mut s);
                    let n = s.ld.inq(&s.termios);
                    drop(s);
                    p.done(sigs);
                    n
                }
            };
            t.write_val(arg, &(n as i32))?;
            Ok(0)
        }
        TIOCOUTQ => {
            t.write_val(arg, &0i32)?;
            Ok(0)
        }
        TCFLSH => {
            if !master {
                check_change(t, &p.tty, SIGTTOU)?;
            }
            if arg > TCIOFLUSH {
                return Err(Errno::EINVAL);
            }
            let sigs = {
                let mut s = p.lock();
                let input = arg == TCIFLUSH || arg == TCIOFLUSH;
                let output = arg == TCOFLUSH || arg == TCIOFLUSH;
                match side {
                    Side::Slave => {
                        if input {
                            s.pending.clear();
                            s.ld.flush();
                            if s.packet {
                                s.pktstatus |= TIOCPKT_FLUSHREAD;
                            }
                        }
                        if output && s.packet {
                            s.pktstatus |= TIOCPKT_FLUSHWRITE;
                        }
                    }
                    Side::Master => {
                        if input {
                            s.mbuf.clear();
                        }
                        if output {
                            s.pending.clear();
                        }
                    }
                }
                s.seq += 1;
                Pty::process(&mut s)
            };
            p.done(sigs);
            Ok(0)
        }
        TCXONC => {
            if !master {
                check_change(t, &p.tty, SIGTTOU)?;
            }
            let sigs = {
                let mut s = p.lock();
                match (arg, side) {
                    (TCOOFF, Side::Slave) => s.ld.stopped = true,
                    (TCOON, Side::Slave) => s.ld.stopped = false,
                    (TCOOFF, Side::Master) => s.master_stopped = true,
                    (TCOON, Side::Master) => s.master_stopped = false,
                    (TCIOFF | TCION, _) => {
                        let c = s.termios.cc[if arg == TCIOFF { VSTOP } else { VSTART }];
                        if c != 0 {
                            if side == Side::Slave {
                                s.mbuf.push_back(c);
                            } else {
                                s.pending.push_back(c);
                            }
                        }
                    }
                    _ => return Err(Errno::EINVAL),
                }
                s.seq += 1;
                Pty::process(&mut s)
            };
            p.done(sigs);
            Ok(0)
        }
        TCSBRK | TCSBRKP => {
            if !master {
                check_change(t, &p.tty, SIGTTOU)?;
            }
            Ok(0)
        }
        TIOCSBRK | TIOCCBRK => Ok(0),
        TIOCSCTTY => jobctl::tiocsctty(t, &p.tty, f.readable(), arg),
        TIOCNOTTY => {
            if master {
                return Err(Errno::ENOTTY);
            }
            jobctl::tiocnotty(t, &p.tty)
        }
        TIOCGPGRP => jobctl::tiocgpgrp(t, &p.tty, master, arg),
        TIOCSPGRP => jobctl::tiocspgrp(t, &p.tty, arg),
        TIOCGSID => jobctl::tiocgsid(t, &p.tty, master, arg),
        TIOCSTI => {
            if !t.creds().has_cap(CAP_SYS_ADMIN) && !jobctl::is_ctty(t, &p.tty) {
                return Err(Errno::EPERM);
            }
            let c: u8 = t.read_val(arg)?;
            let sigs = {
                let mut s = p.lock();
                if master {
                    s.mbuf.push_back(c);
                    s.seq += 1;
                    Vec::new()
                } else {
                    s.pending.push_front(c);
                    Pty::process(&mut s)
                }
            };
            p.done(sigs);
            Ok(0)
        }
        TIOCEXCL | TIOCNXCL => {
            p.lock().exclusive = cmd == TIOCEXCL;
            Ok(0)
        }
        TIOCGEXCL => {
            let v = p.lock().exclusive as i32;
            t.write_val(arg, &v)?;
            Ok(0)
        }
        TIOCGETD => {
            t.write_val(arg, &0i32)?;
            Ok(0)
        }
        TIOCSETD => {
            let d = read_int(t, arg)?;
            if d == 0 {
                Ok(0)
            } else {
                Err(Errno::EINVAL)
            }
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// TIOCGPTPEER: a new file on the slave, installed as a new fd.
fn open_peer(p: &Arc<Pty>, t: &Task, flags: u32) -> SysResult {
    let keep = oflags::O_ACCMODE
        | oflags::O_NONBLOCK
        | oflags::O_APPEND
        | oflags::O_NOCTTY
        | oflags::O_CLOEXEC;
    let flags = flags & keep;
    let d = p.devpts.upgrade().ok_or(Errno::EIO)?;
    let loc = d.slave_loc(p.index).ok_or(Errno::EIO)?;
    let acc = flags & oflags::O_ACCMODE;
    let readable = acc == oflags::O_RDONLY || acc == oflags::O_RDWR;
    let ops = p.open_slave(Some((t.tgid(), flags & oflags::O_NOCTTY != 0, readable)))?;
    let f = File::new(
        loc,
        (flags & !(oflags::O_NOCTTY | oflags::O_CLOEXEC)) | oflags::O_LARGEFILE,
        ops,
    );
    let files = t.files();
    let lim = t.rlimit(7).0;
    let fd = files.install_from(f, flags & oflags::O_CLOEXEC != 0, 0, lim)?;
    Ok(fd as u64)
}
