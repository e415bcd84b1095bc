//! The kernel's struct termios (and termios2, termio) with Linux's flag values, and the
//! window size.

/// Number of control characters in the kernel's struct termios.
pub const NCCS: usize = 19;

// c_cc indices.
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;

// c_iflag.
pub const IGNBRK: u32 = 0o1;
pub const BRKINT: u32 = 0o2;
pub const PARMRK: u32 = 0o10;
pub const ISTRIP: u32 = 0o40;
pub const INLCR: u32 = 0o100;
pub const IGNCR: u32 = 0o200;
pub const ICRNL: u32 = 0o400;
pub const IUCLC: u32 = 0o1000;
pub const IXON: u32 = 0o2000;
pub const IXANY: u32 = 0o4000;
pub const IUTF8: u32 = 0o40000;

// c_oflag.
pub const OPOST: u32 = 0o1;
pub const OLCUC: u32 = 0o2;
pub const ONLCR: u32 = 0o4;
pub const OCRNL: u32 = 0o10;
pub const ONOCR: u32 = 0o20;
pub const ONLRET: u32 = 0o40;
pub const TABDLY: u32 = 0o14000;
pub const XTABS: u32 = 0o14000;

// c_cflag.
pub const CBAUD: u32 = 0o10017;
pub const B38400: u32 = 0o17;
pub const CSIZE: u32 = 0o60;
pub const CS8: u32 = 0o60;
pub const CREAD: u32 = 0o200;
pub const PARENB: u32 = 0o400;
pub const CLOCAL: u32 = 0o4000;
pub const CBAUDEX: u32 = 0o10000;
pub const BOTHER: u32 = 0o10000;
pub const IBSHIFT: u32 = 16;

// c_lflag.
pub const ISIG: u32 = 0o1;
pub const ICANON: u32 = 0o2;
pub const ECHO: u32 = 0o10;
pub const ECHOE: u32 = 0o20;
pub const ECHOK: u32 = 0o40;
pub const ECHONL: u32 = 0o100;
pub const NOFLSH: u32 = 0o200;
pub const TOSTOP: u32 = 0o400;
pub const ECHOCTL: u32 = 0o1000;
pub const ECHOPRT: u32 = 0o2000;
pub const ECHOKE: u32 = 0o4000;
pub const IEXTEN: u32 = 0o100000;
pub const EXTPROC: u32 = 0o200000;

/// Size of struct termios, termios2 and termio as the ioctls copy them.
pub const TERMIOS_SIZE: usize = 36;
pub const TERMIOS2_SIZE: usize = 44;
pub const TERMIO_SIZE: usize = 18;

/// The kernel's termios (termios2: with the speeds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
    pub ispeed: u32,
    pub ospeed: u32,
}

/// Speeds of the Bnnn codes (CBAUD without CBAUDEX, then with it).
const BAUDS: [u32; 16] = [
    0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400,
];
const BAUDS_EX: [u32; 16] = [
    0, 57600, 115200, 230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000,
    2500000, 3000000, 3500000, 4000000,
];

fn baud_of(code: u32) -> Option<u32> {
    let i = (code & 0o17) as usize;
    if code & CBAUDEX == 0 {
        Some(BAUDS[i])
    } else if i == 0 {
        None
    } else {
        Some(BAUDS_EX[i])
    }
}

impl Termios {
    /// A pty slave's termios at creation (tty_std_termios with the pts driver's c_cflag).
    pub fn pty_default() -> Termios {
        let mut cc = [0u8; NCCS];
        cc[..17].copy_from_slice(&[3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0]);
        Termios {
            iflag: ICRNL | IXON,
            oflag: OPOST | ONLCR,
            cflag: B38400 | CS8 | CREAD,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            line: 0,
            cc,
            ispeed: 38400,
            ospeed: 38400,
        }
    }

    pub fn to_bytes(&self) -> [u8; TERMIOS2_SIZE] {
        let mut b = [0u8; TERMIOS2_SIZE];
        b[0..4].copy_from_slice(&self.iflag.to_le_bytes());
        b[4..8].copy_from_slice(&self.oflag.to_le_bytes());
        b[8..12].copy_from_slice(&self.cflag.to_le_bytes());
        b[12..16].copy_from_slice(&self.lflag.to_le_bytes());
        b[16] = self.line;
        b[17..17 + NCCS].copy_from_slice(&self.cc);
        b[36..40].copy_from_slice(&self.ispeed.to_le_bytes());
        b[40..44].copy_from_slice(&self.ospeed.to_le_bytes());
        b
    }

    /// Decodes struct termios (36 bytes) or termios2 (44 bytes).
    pub fn from_bytes(b: &[u8]) -> Termios {
        let w = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&b[17..17 + NCCS]);
        let mut t = Termios {
            iflag: w(0),
            oflag: w(4),
            cflag: w(8),
            lflag: w(12),
            line: b[16],
            cc,
            ispeed: 0,
            ospeed: 0,
        };
        if b.len() >= TERMIOS2_SIZE {
            t.ispeed = w(36);
            t.ospeed = w(40);
        }
        t
    }

    /// struct termio (the SysV ioctls TCGETA/TCSETA*): 16-bit flags, 8 control chars.
    pub fn to_termio(&self) -> [u8; TERMIO_SIZE] {
        let mut b = [0u8; TERMIO_SIZE];
        for (i, v) in [self.iflag, self.oflag, self.cflag, self.lflag]
            .iter()
            .enumerate()
        {
            b[i * 2..i * 2 + 2].copy_from_slice(&(*v as u16).to_le_bytes());
        }
        b[8] = self.line;
        b[9..17].copy_from_slice(&self.cc[..8]);
        b
    }

    /// Applies a struct termio: the low 16 bits of each flag word and the first 8 chars.
    pub fn set_termio(&mut self, b: &[u8]) {
        let h = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as u32;
        self.iflag = (self.iflag & 0xffff_0000) | h(0);
        self.oflag = (self.oflag & 0xffff_0000) | h(2);
        self.cflag = (self.cflag & 0xffff_0000) | h(4);
        self.lflag = (self.lflag & 0xffff_0000) | h(6);
        self.line = b[8];
        self.cc[..8].copy_from_slice(&b[9..17]);
    }

    /// Loads the speeds from the Bnnn codes in c_cflag (what set_termios does for the
    /// old-style ioctls, and for termios2 unless BOTHER asks for the given speeds).
    pub fn derive_speeds(&mut self, keep_other: bool) {
        let out = self.cflag & CBAUD;
        if !(keep_other && out == BOTHER) {
            if let Some(s) = baud_of(out) {
                self.ospeed = s;
            }
        }
        let inp = (self.cflag >> IBSHIFT) & CBAUD;
        if inp == 0 {
            self.ispeed = self.ospeed;
        } else if !(keep_other && inp == BOTHER) {
            if let Some(s) = baud_of(inp) {
                self.ispeed = s;
            }
        }
    }

    /// A termios with every field zero (no locked bits).
    pub fn zero() -> Termios {
        Termios {
            iflag: 0,
            oflag: 0,
            cflag: 0,
            lflag: 0,
            line: 0,
            cc: [0; NCCS],
            ispeed: 0,
            ospeed: 0,
        }
    }

    /// Keeps from `old` whatever `locked` (TIOCSLCKTRMIOS) marks as unchangeable.
    pub fn keep_locked(&mut self, old: &Termios, locked: &Termios) {
        let keep = |new: u32, old: u32, l: u32| (new & !l) | (old & l);
        self.iflag = keep(self.iflag, old.iflag, locked.iflag);
        self.oflag = keep(self.oflag, old.oflag, locked.oflag);
        self.cflag = keep(self.cflag, old.cflag, locked.cflag);
        self.lflag = keep(self.lflag, old.lflag, locked.lflag);
        if locked.line != 0 {
            self.line = old.line;
        }
        for i in 0..NCCS {
            if locked.cc[i] != 0 {
                self.cc[i] = old.cc[i];
            }
        }
        if locked.ispeed != 0 {
            self.ispeed = old.ispeed;
        }
        if locked.ospeed != 0 {
            self.ospeed = old.ospeed;
        }
    }

    pub fn l(&self, f: u32) -> bool {
        self.lflag & f != 0
    }
    pub fn i(&self, f: u32) -> bool {
        self.iflag & f != 0
    }
    pub fn o(&self, f: u32) -> bool {
        self.oflag & f != 0
    }
    pub fn icanon(&self) -> bool {
        self.l(ICANON)
    }
}

/// struct winsize.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Winsize {
    pub row: u16,
    pub col: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

impl Winsize {
    pub fn to_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        for (i, v) in [self.row, self.col, self.xpixel, self.ypixel]
            .iter()
            .enumerate()
        {
            b[i * 2..i * 2 + 2].copy_from_slice(&v.to_le_bytes());
        }
        b
    }
    pub fn from_bytes(b: &[u8; 8]) -> Winsize {
        let h = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        Winsize {
            row: h(0),
            col: h(2),
            xpixel: h(4),
            ypixel: h(6),
        }
    }
}
