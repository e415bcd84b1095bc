//! Terminals: pseudo-terminal pairs with the line discipline in the kernel (`pty`,
//! `ldisc`), the host terminal the sandbox may run on (`console`), and what every
//! terminal shares — job control: the session a terminal controls, its foreground
//! process group, the controlling terminal of each process, SIGTTIN/SIGTTOU for
//! background groups, and hang-up.
//!
//! Locks: a terminal's `ctrl` is a leaf lock (taken after procs and thread-group locks,
//! never held while sending a signal); a pty's state lock is never held while taking
//! procs.

pub mod console;
pub mod jobctl;
pub mod ldisc;
pub mod pty;
pub mod termios;

use crate::vfs::{Ctx, FileOps};
use abi::Errno;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

// Terminal ioctls (x86-64).
pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TCGETA: u32 = 0x5405;
pub const TCSETA: u32 = 0x5406;
pub const TCSETAW: u32 = 0x5407;
pub const TCSETAF: u32 = 0x5408;
pub const TCSBRK: u32 = 0x5409;
pub const TCXONC: u32 = 0x540a;
pub const TCFLSH: u32 = 0x540b;
pub const TIOCEXCL: u32 = 0x540c;
pub const TIOCNXCL: u32 = 0x540d;
pub const TIOCSCTTY: u32 = 0x540e;
pub const TIOCGPGRP: u32 = 0x540f;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCOUTQ: u32 = 0x5411;
pub const TIOCSTI: u32 = 0x5412;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
pub const TIOCGSOFTCAR: u32 = 0x5419;
pub const TIOCSSOFTCAR: u32 = 0x541a;
pub const TIOCINQ: u32 = 0x541b;
pub const TIOCPKT: u32 = 0x5420;
pub const TIOCNOTTY: u32 = 0x5422;
pub const TIOCSETD: u32 = 0x5423;
pub const TIOCGETD: u32 = 0x5424;
pub const TCSBRKP: u32 = 0x5425;
pub const TIOCSBRK: u32 = 0x5427;
pub const TIOCCBRK: u32 = 0x5428;
pub const TIOCGSID: u32 = 0x5429;
pub const TIOCVHANGUP: u32 = 0x5437;
pub const TIOCGLCKTRMIOS: u32 = 0x5456;
pub const TIOCSLCKTRMIOS: u32 = 0x5457;
pub const TCGETS2: u32 = 0x802c542a;
pub const TCSETS2: u32 = 0x402c542b;
pub const TCSETSW2: u32 = 0x402c542c;
pub const TCSETSF2: u32 = 0x402c542d;
pub const TIOCGPTN: u32 = 0x80045430;
pub const TIOCSPTLCK: u32 = 0x40045431;
pub const TIOCGDEV: u32 = 0x80045432;
pub const TIOCSIG: u32 = 0x40045436;
pub const TIOCGPKT: u32 = 0x80045438;
pub const TIOCGPTLCK: u32 = 0x80045439;
pub const TIOCGEXCL: u32 = 0x80045440;
pub const TIOCGPTPEER: u32 = 0x5441;

// TCXONC and TCFLSH arguments.
pub const TCOOFF: u64 = 0;
pub const TCOON: u64 = 1;
pub const TCIOFF: u64 = 2;
pub const TCION: u64 = 3;
pub const TCIFLUSH: u64 = 0;
pub const TCOFLUSH: u64 = 1;
pub const TCIOFLUSH: u64 = 2;

/// Job-control state of a terminal: the session it controls and its foreground
/// process group (0: none).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ctrl {
    pub session: i32,
    pub pgrp: i32,
}

/// What a terminal is.
pub enum Kind {
    /// The slave side of a pty pair.
    Pty(Weak<pty::Pty>),
    /// A host terminal (`console`).
    Host(Weak<console::HostTerm>),
}

/// A terminal as processes see it: what can be their controlling terminal.
pub struct Tty {
    pub id: u64,
    pub ctrl: Mutex<Ctrl>,
    pub kind: Kind,
}

impl Tty {
    pub fn new(kind: Kind) -> Arc<Tty> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Arc::new(Tty {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            ctrl: Mutex::new(Ctrl::default()),
            kind,
        })
    }

    pub fn ctrl(&self) -> Ctrl {
        *self.ctrl.lock().unwrap()
    }
}

/// Opens /dev/tty: the caller's controlling terminal (ENXIO without one). It never
/// becomes anyone's controlling terminal by this open.
pub fn open_dev_tty(ctx: &Ctx) -> Result<Box<dyn FileOps>, Errno> {
    let g = crate::kernel().procs.lock().unwrap().group(ctx.tgid);
    let tty = g.and_then(|g| g.lock().ctty.clone()).ok_or(Errno::ENXIO)?;
    match &tty.kind {
        Kind::Pty(w) => w.upgrade().ok_or(Errno::EIO)?.open_slave(None),
        Kind::Host(w) => {
            let term = w.upgrade().ok_or(Errno::EIO)?;
            crate::fs::hostfd::open_host_term(&term, "/dev/tty")
        }
    }
}
