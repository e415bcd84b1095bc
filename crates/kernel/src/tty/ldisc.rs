//! The N_TTY line discipline: what a terminal does with the bytes that arrive on its
//! input side (canonical line editing, erase and kill with their echoes, special
//! characters that raise signals, CR/NL mapping, flow control) and with the bytes its
//! application writes (output post-processing: ONLCR, OCRNL, tabs, column tracking).
//!
//! The state is plain data and does no locking or waiting: the pty (or whatever owns the
//! terminal) holds it under its lock, feeds it input, drains what it reads, and sends the
//! signals it reports once the lock is dropped.

use super::termios::*;
use std::collections::VecDeque;

/// Size of the read buffer (N_TTY_BUF_SIZE).
pub const BUF_SIZE: usize = 4096;
/// Echo bytes pending before they are written out mid-input (ECHO_COMMIT_WATERMARK).
const ECHO_COMMIT: usize = 256;

/// The kernel's ctype, which differs from C's for bytes above 127 (Latin-1).
pub fn iscntrl(c: u8) -> bool {
    c < 32 || (127..160).contains(&c)
}
fn islower(c: u8) -> bool {
    c.is_ascii_lowercase() || (223..=246).contains(&c) || c >= 248
}
fn isupper(c: u8) -> bool {
    c.is_ascii_uppercase() || (192..=214).contains(&c) || (216..=222).contains(&c)
}
fn isalnum(c: u8) -> bool {
    islower(c) || isupper(c) || c.is_ascii_digit()
}
fn toupper(c: u8) -> u8 {
    if islower(c) {
        c - 32
    } else {
        c
    }
}
fn tolower(c: u8) -> u8 {
    if isupper(c) {
        c + 32
    } else {
        c
    }
}

/// A bounded byte queue that output (echoes, written data) goes into: the readable
/// buffer of the other side of a pty.
pub struct Out<'a> {
    pub q: &'a mut VecDeque<u8>,
    pub cap: usize,
}

impl Out<'_> {
    fn space(&self) -> usize {
        self.cap.saturating_sub(self.q.len())
    }
    fn put(&mut self, b: &[u8]) {
        self.q.extend(b);
    }
}

/// One pending echo operation (kept until committed, so that a signal character that
/// flushes the input also drops the echoes not yet written, as Linux does).
#[derive(Clone, Copy, Debug)]
enum Echo {
    /// A byte written with output processing.
    Raw(u8),
    /// A control character shown as ^X.
    Ctl(u8),
    /// One column back (after a multi-byte character was shown).
    MoveBack,
    /// Remember the column where the current line's input starts.
    SetCanonCol,
    /// Back over a tab: columns used since the previous tab or line start (mod 8),
    /// and whether that count starts after a tab.
    EraseTab(u32, bool),
}

impl Echo {
    /// Bytes the operation takes in Linux's echo buffer (for the commit watermark).
    fn size(&self) -> usize {
        match self {
            Echo::Raw(_) => 1,
            Echo::Ctl(_) | Echo::MoveBack | Echo::SetCanonCol => 2,
            Echo::EraseTab(..) => 3,
        }
    }
}

/// Line-discipline state of one terminal.
#[derive(Default)]
pub struct Ldisc {
    /// Received characters not yet read; `delim` marks line ends (EOF is a 0 byte
    /// marked as a line end, never copied to the reader).
    buf: VecDeque<u8>,
    delim: VecDeque<bool>,
    /// Characters of completed lines (canonical mode), from the front of `buf`.
    canon: usize,
    /// Characters of the first line already read (a line partly read that then ends
    /// with EOF reads nothing more, instead of end-of-file).
    line_read: usize,
    /// The buffer became one line when ICANON was turned on (its end is no real line
    /// end: reading it does not start a new line).
    push: bool,
    column: u32,
    canon_column: u32,
    /// Inside an ECHOPRT "\...": erased characters shown between backslash and slash.
    erasing: bool,
    /// The next character is taken literally (VLNEXT).
    lnext: bool,
    echo: Vec<Echo>,
    echo_size: usize,
    /// Output stopped by the STOP character (IXON) or TCOOFF.
    pub stopped: bool,
}

/// What processing input asks of the terminal's owner.
#[derive(Default, Debug)]
pub struct Effects {
    /// Signals for the foreground process group.
    pub signals: Vec<u32>,
}

fn special_set(t: &Termios) -> Option<[bool; 256]> {
    let standard =
        t.i(ISTRIP | IUCLC | IGNCR | ICRNL | INLCR | IXON | PARMRK) || t.l(ICANON | ISIG | ECHO);
    if !standard {
        return None;
    }
    let mut m = [false; 256];
    if t.i(IGNCR | ICRNL) {
        m[b'\r' as usize] = true;
    }
    if t.i(INLCR) {
        m[b'\n' as usize] = true;
    }
    if t.icanon() {
        for i in [VERASE, VKILL, VEOF, VEOL] {
            m[t.cc[i] as usize] = true;
        }
        m[b'\n' as usize] = true;
        if t.l(IEXTEN) {
            for i in [VWERASE, VLNEXT, VEOL2] {
                m[t.cc[i] as usize] = true;
            }
            if t.l(ECHO) {
                m[t.cc[VREPRINT] as usize] = true;
            }
        }
    }
    if t.i(IXON) {
        m[t.cc[VSTART] as usize] = true;
        m[t.cc[VSTOP] as usize] = true;
    }
    if t.l(ISIG) {
        for i in [VINTR, VQUIT, VSUSP] {
            m[t.cc[i] as usize] = true;
        }
    }
    // A disabled (zero) control character matches nothing.
    m[0] = false;
    Some(m)
}

impl Ldisc {
    pub fn new() -> Ldisc {
        Ldisc::default()
    }

    /// Bytes in the read buffer.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether a read would find something: a completed line in canonical mode,
    /// otherwise at least `amt` (at least one) bytes.
    pub fn available(&self, t: &Termios, amt: usize) -> bool {
        if t.icanon() && !t.l(EXTPROC) {
            self.canon > 0
        } else {
            self.buf.len() >= amt.max(1)
        }
    }

    /// TIOCINQ: readable bytes (completed lines without their EOF marks in canonical mode).
    pub fn inq(&self, t: &Termios) -> usize {
        if t.icanon() {
            (0..self.canon)
                .filter(|&i| !(self.delim[i] && self.buf[i] == 0))
                .count()
        } else {
            self.buf.len()
        }
    }

    /// Empties the read buffer (TCIFLUSH, a signal character without NOFLSH).
    pub fn flush(&mut self) {
        self.buf.clear();
        self.delim.clear();
        self.canon = 0;
        self.line_read = 0;
        self.push = false;
        self.erasing = false;
    }

    /// The termios changed from `old` to `new`: switching ICANON makes what is buffered
    /// one line (turning it on) or plain input (turning it off).
    pub fn set_termios(&mut self, old: &Termios, new: &Termios) {
        if (old.lflag ^ new.lflag) & (ICANON | EXTPROC) != 0 {
            for d in self.delim.iter_mut() {
                *d = false;
            }
            self.line_read = 0;
            if !new.icanon() || self.buf.is_empty() {
                self.canon = 0;
                self.push = false;
            } else {
                if let Some(d) = self.delim.back_mut() {
                    *d = true;
                }
                self.canon = self.buf.len();
                self.push = true;
            }
            self.erasing = false;
            self.lnext = false;
        }
        if !new.i(IXON) && old.i(IXON) {
            self.stopped = false;
        }
    }

    /// Copies out of the read buffer into `dst` (at most `max` bytes). Canonical mode
    /// copies at most one line (up to and including its delimiter; an EOF mark ends the
    /// line but is not copied). Returns the bytes taken from the buffer, and whether
    /// the read must go on waiting: it took only the EOF mark of a line partly read
    /// before.
    pub fn read(&mut self, t: &Termios, max: usize, dst: &mut Vec<u8>) -> (usize, bool) {
        if max == 0 {
            return (0, false);
        }
        if t.icanon() && !t.l(EXTPROC) {
            let n = max.min(self.canon);
            let eol = (0..n).find(|&i| self.delim[i]);
            let mut again = false;
            let (copy, take) = match eol {
                Some(i) if self.buf[i] == 0 && !self.push => {
                    again = i == 0 && self.line_read != 0;
                    (i, i + 1)
                }
                Some(i) => (i + 1, i + 1),
                None => (n, n),
            };
            dst.extend(self.buf.iter().take(copy));
            self.buf.drain(..take);
            self.delim.drain(..take);
            self.canon -= take;
            self.line_read += take;
            if eol.is_some() {
                if self.push {
                    self.push = false;
                } else {
                    self.line_read = 0;
                }
            }
            (take, again)
        } else {
            let n = max.min(self.buf.len());
            dst.extend(self.buf.drain(..n));
            self.delim.drain(..n);
            self.canon = self.canon.saturating_sub(n);
            (n, false)
        }
    }

    fn queue(&mut self, c: u8) {
        self.buf.push_back(c);
        self.delim.push_back(false);
    }

    /// Free room for received characters; in canonical mode with no completed line a
    /// full buffer still takes characters (each replacing the last), so that erase and
    /// newline keep working.
    fn room(&mut self, t: &Termios) -> bool {
        let used = if t.i(PARMRK) {
            self.buf.len() * 3
        } else {
            self.buf.len()
        };
        let left = BUF_SIZE as isize - used as isize - 1;
        if left > 0 {
            return true;
        }
        if t.icanon() && self.canon == 0 {
            if left < 0 && self.buf.len() > self.canon {
                self.buf.pop_back();
                self.delim.pop_back();
            }
            return true;
        }
        false
    }

    /// Processes input from the front of `input` while there is room. Echoes go to
    /// `out`; signals to raise are added to `fx`.
    pub fn receive(
        &mut self,
        t: &Termios,
        input: &mut VecDeque<u8>,
        out: &mut Out,
        fx: &mut Effects,
    ) {
        let special = special_set(t);
        while let Some(&c) = input.front() {
            if !self.room(t) {
                break;
            }
            input.pop_front();
            let Some(map) = &special else {
                self.queue(c);
                continue;
            };
            if self.lnext {
                self.lnext = false;
                let c = self.pre(t, c);
                self.receive_char(t, c, out);
                continue;
            }
            let c = self.pre(t, c);
            if t.l(EXTPROC) {
                self.queue(c);
            } else if map[c as usize] {
                self.receive_special(t, c, out, fx);
            } else {
                self.receive_char(t, c, out);
            }
        }
        if special.is_some() {
            self.flush_echoes(t, out);
        }
    }

    /// ISTRIP and IUCLC.
    fn pre(&self, t: &Termios, mut c: u8) -> u8 {
        if t.i(ISTRIP) {
            c &= 0x7f;
        }
        if t.i(IUCLC) && t.l(IEXTEN) {
            c = tolower(c);
        }
        c
    }

    fn receive_char(&mut self, t: &Termios, c: u8, out: &mut Out) {
        if self.stopped && t.iflag & (IXON | IXANY) == IXON | IXANY {
            self.stopped = false;
        }
        self.echo_input(t, c, false, out);
        if c == 0xff && t.i(PARMRK) {
            self.queue(c);
        }
        self.queue(c);
    }

    /// Echoes a received character (`newline_raw`: a newline as itself, not ^J).
    fn echo_input(&mut self, t: &Termios, c: u8, newline_raw: bool, out: &mut Out) {
        if !t.l(ECHO) {
            return;
        }
        self.finish_erasing();
        if newline_raw && c == b'\n' {
            self.push_echo(Echo::Raw(b'\n'));
        } else {
            if self.buf.len() == self.canon {
                self.push_echo(Echo::SetCanonCol);
            }
            self.echo_char(t, c);
        }
        self.commit_echoes(t, out);
    }

    fn receive_special(&mut self, t: &Termios, mut c: u8, out: &mut Out, fx: &mut Effects) {
        let cc = &t.cc;
        if t.i(IXON) && (c == cc[VSTART] || c == cc[VSTOP]) {
            self.stopped = c != cc[VSTART];
            return;
        }
        if t.l(ISIG) {
            let sig = if c == cc[VINTR] {
                Some(abi::signal::SIGINT)
            } else if c == cc[VQUIT] {
                Some(abi::signal::SIGQUIT)
            } else if c == cc[VSUSP] {
                Some(abi::signal::SIGTSTP)
            } else {
                None
            };
            if let Some(sig) = sig {
                fx.signals.push(sig);
                if !t.l(NOFLSH) {
                    // The signal flushes pending echoes and the input.
                    self.echo.clear();
                    self.echo_size = 0;
                    self.flush();
                }
                if t.i(IXON) {
                    self.stopped = false;
                }
                if t.l(ECHO) {
                    self.echo_char(t, c);
                    self.commit_echoes(t, out);
                }
                return;
            }
        }
        if self.stopped && t.iflag & (IXON | IXANY) == IXON | IXANY {
            self.stopped = false;
        }
        if c == b'\r' {
            if t.i(IGNCR) {
                return;
            }
            if t.i(ICRNL) {
                c = b'\n';
            }
        } else if c == b'\n' && t.i(INLCR) {
            c = b'\r';
        }
        if t.icanon() {
            if c == cc[VERASE] || c == cc[VKILL] || (c == cc[VWERASE] && t.l(IEXTEN)) {
                self.eraser(t, c);
                self.commit_echoes(t, out);
                return;
            }
            if c == cc[VLNEXT] && t.l(IEXTEN) {
                self.lnext = true;
                if t.l(ECHO) {
                    self.finish_erasing();
                    if t.l(ECHOCTL) {
                        self.push_echo(Echo::Raw(b'^'));
                        self.push_echo(Echo::Raw(b'\x08'));
                        self.commit_echoes(t, out);
                    }
                }
                return;
            }
            if c == cc[VREPRINT] && t.l(ECHO) && t.l(IEXTEN) {
                self.finish_erasing();
                self.echo_char(t, c);
                self.push_echo(Echo::Raw(b'\n'));
                let line: Vec<u8> = self.buf.iter().skip(self.canon).copied().collect();
                for ch in line {
                    self.echo_char(t, ch);
                }
                self.commit_echoes(t, out);
                return;
            }
            if c == b'\n' {
                if t.l(ECHO) || t.l(ECHONL) {
                    self.push_echo(Echo::Raw(b'\n'));
                    self.commit_echoes(t, out);
                }
                self.end_line(c);
                return;
            }
            if c == cc[VEOF] {
                self.end_line(0);
                return;
            }
            if c == cc[VEOL] || (c == cc[VEOL2] && t.l(IEXTEN)) {
                if t.l(ECHO) {
                    if self.buf.len() == self.canon {
                        self.push_echo(Echo::SetCanonCol);
                    }
                    self.echo_char(t, c);
                    self.commit_echoes(t, out);
                }
                if c == 0xff && t.i(PARMRK) {
                    self.queue(c);
                }
                self.end_line(c);
                return;
            }
        }
        self.echo_input(t, c, true, out);
        if c == 0xff && t.i(PARMRK) {
            self.queue(c);
        }
        self.queue(c);
    }

    /// Queues `c` as a line delimiter: the line becomes readable.
    fn end_line(&mut self, c: u8) {
        self.buf.push_back(c);
        self.delim.push_back(true);
        self.canon = self.buf.len();
    }

    /// VERASE, VWERASE and VKILL with their echoes (ECHOE, ECHOK, ECHOKE, ECHOPRT,
    /// ECHOCTL, tabs and UTF-8 characters).
    fn eraser(&mut self, t: &Termios, c: u8) {
        #[derive(PartialEq)]
        enum Kind {
            Erase,
            Werase,
            Kill,
        }
        if self.buf.len() == self.canon {
            return;
        }
        let kind = if c == t.cc[VERASE] {
            Kind::Erase
        } else if c == t.cc[VWERASE] {
            Kind::Werase
        } else {
            if !t.l(ECHO) {
                self.truncate(self.canon);
                return;
            }
            if !t.l(ECHOK) || !t.l(ECHOKE) || !t.l(ECHOE) {
                self.truncate(self.canon);
                self.finish_erasing();
                self.echo_char(t, t.cc[VKILL]);
                if t.l(ECHOK) {
                    self.push_echo(Echo::Raw(b'\n'));
                }
                return;
            }
            Kind::Kill
        };
        let utf8 = t.i(IUTF8);
        let cont = |c: u8| utf8 && c & 0xc0 == 0x80;
        let mut seen_alnums = 0;
        while self.buf.len() > self.canon {
            let mut head = self.buf.len();
            let mut c;
            loop {
                head -= 1;
                c = self.buf[head];
                if !(cont(c) && head != self.canon) {
                    break;
                }
            }
            if cont(c) {
                break;
            }
            if kind == Kind::Werase {
                if isalnum(c) || c == b'_' {
                    seen_alnums += 1;
                } else if seen_alnums > 0 {
                    break;
                }
            }
            let gone: Vec<u8> = self.buf.iter().skip(head).copied().collect();
            self.truncate(head);
            if t.l(ECHO) {
                if t.l(ECHOPRT) {
                    if !self.erasing {
                        self.push_echo(Echo::Raw(b'\\'));
                        self.erasing = true;
                    }
                    self.echo_char(t, c);
                    for &b in &gone[1..] {
                        self.push_echo(Echo::Raw(b));
                        self.push_echo(Echo::MoveBack);
                    }
                } else if kind == Kind::Erase && !t.l(ECHOE) {
                    self.echo_char(t, t.cc[VERASE]);
                } else if c == b'\t' {
                    let mut num = 0u32;
                    let mut after_tab = false;
                    for i in (self.canon..self.buf.len()).rev() {
                        let ch = self.buf[i];
                        if ch == b'\t' {
                            after_tab = true;
                            break;
                        } else if iscntrl(ch) {
                            if t.l(ECHOCTL) {
                                num += 2;
                            }
                        } else if !cont(ch) {
                            num += 1;
                        }
                    }
                    self.push_echo(Echo::EraseTab(num & 7, after_tab));
                } else {
                    let ctl = iscntrl(c);
                    if ctl && t.l(ECHOCTL) {
                        self.echo_rubout();
                    }
                    if !ctl || t.l(ECHOCTL) {
                        self.echo_rubout();
                    }
                }
            }
            if kind == Kind::Erase {
                break;
            }
        }
        if self.buf.len() == self.canon && t.l(ECHO) {
            self.finish_erasing();
        }
    }

    fn truncate(&mut self, n: usize) {
        self.buf.truncate(n);
        self.delim.truncate(n);
    }

    fn echo_rubout(&mut self) {
        for b in *b"\x08 \x08" {
            self.push_echo(Echo::Raw(b));
        }
    }

    fn finish_erasing(&mut self) {
        if self.erasing {
            self.push_echo(Echo::Raw(b'/'));
            self.erasing = false;
        }
    }

    fn push_echo(&mut self, e: Echo) {
        self.echo_size += e.size();
        self.echo.push(e);
    }

    /// Echoes `c`, as ^X for control characters under ECHOCTL (tab excepted).
    fn echo_char(&mut self, t: &Termios, c: u8) {
        if t.l(ECHOCTL) && iscntrl(c) && c != b'\t' {
            self.push_echo(Echo::Ctl(c));
        } else {
            self.push_echo(Echo::Raw(c));
        }
    }

    /// Writes pending echoes once enough have accumulated.
    fn commit_echoes(&mut self, t: &Termios, out: &mut Out) {
        if self.echo_size >= ECHO_COMMIT {
            self.flush_echoes(t, out);
        }
    }

    /// Writes every pending echo (at the end of each batch of input).
    fn flush_echoes(&mut self, t: &Termios, out: &mut Out) {
        if self.echo.is_empty() {
            return;
        }
        let ops = std::mem::take(&mut self.echo);
        self.echo_size = 0;
        if !t.l(ECHO) && !t.l(ECHONL) {
            return;
        }
        for op in ops {
            match op {
                Echo::Raw(c) => {
                    if t.o(OPOST) {
                        if self.output_char(t, c, out).is_none() {
                            break;
                        }
                    } else {
                        if out.space() == 0 {
                            break;
                        }
                        out.put(&[c]);
                    }
                }
                Echo::Ctl(c) => {
                    if out.space() < 2 {
                        break;
                    }
                    out.put(&[b'^', c ^ 0o100]);
                    self.column += 2;
                }
                Echo::MoveBack => self.column = self.column.saturating_sub(1),
                Echo::SetCanonCol => self.canon_column = self.column,
                Echo::EraseTab(n, after_tab) => {
                    let n = if after_tab { n } else { n + self.canon_column };
                    let bs = 8 - (n & 7) as usize;
                    if out.space() < bs {
                        break;
                    }
                    for _ in 0..bs {
                        out.put(b"\x08");
                        self.column = self.column.saturating_sub(1);
                    }
                }
            }
        }
    }

    /// One character through output processing (OPOST set); None when `out` is full.
    fn output_char(&mut self, t: &Termios, mut c: u8, out: &mut Out) -> Option<()> {
        let space = out.space();
        if space == 0 {
            return None;
        }
        match c {
            b'\n' => {
                if t.o(ONLRET) {
                    self.column = 0;
                }
                if t.o(ONLCR) {
                    if space < 2 {
                        return None;
                    }
                    self.column = 0;
                    self.canon_column = 0;
                    out.put(b"\r\n");
                    return Some(());
                }
                self.canon_column = self.column;
            }
            b'\r' => {
                if t.o(ONOCR) && self.column == 0 {
                    return Some(());
                }
                if t.o(OCRNL) {
                    c = b'\n';
                    if t.o(ONLRET) {
                        self.column = 0;
                        self.canon_column = 0;
                    }
                } else {
                    self.column = 0;
                    self.canon_column = 0;
                }
            }
            b'\t' => {
                let spaces = 8 - (self.column & 7);
                if t.oflag & TABDLY == XTABS {
                    if space < spaces as usize {
                        return None;
                    }
                    self.column += spaces;
                    out.put(&b"        "[..spaces as usize]);
                    return Some(());
                }
                self.column += spaces;
            }
            8 => self.column = self.column.saturating_sub(1),
            _ => {
                if !iscntrl(c) {
                    if t.o(OLCUC) {
                        c = toupper(c);
                    }
                    if !(t.i(IUTF8) && c & 0xc0 == 0x80) {
                        self.column += 1;
                    }
                }
            }
        }
        out.put(&[c]);
        Some(())
    }

    /// Writes application output (n_tty_write): post-processed under OPOST, raw
    /// otherwise. Returns how many bytes of `data` were taken (fewer when `out` fills).
    pub fn output(&mut self, t: &Termios, data: &[u8], out: &mut Out) -> usize {
        if !t.o(OPOST) {
            let n = data.len().min(out.space());
            out.put(&data[..n]);
            return n;
        }
        for (i, &c) in data.iter().enumerate() {
            if self.output_char(t, c, out).is_none() {
                return i;
            }
        }
        data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(l: &mut Ldisc, t: &Termios, input: &[u8]) -> (Vec<u8>, Vec<u32>) {
        let mut q: VecDeque<u8> = input.iter().copied().collect();
        let mut o = VecDeque::new();
        let mut fx = Effects::default();
        l.receive(
            t,
            &mut q,
            &mut Out {
                q: &mut o,
                cap: 1 << 20,
            },
            &mut fx,
        );
        (o.into_iter().collect(), fx.signals)
    }

    fn read(l: &mut Ldisc, t: &Termios, n: usize) -> Vec<u8> {
        let mut v = Vec::new();
        while l.read(t, n, &mut v).1 {}
        v
    }

    #[test]
    fn canonical_erase_kill_werase() {
        let t = Termios::pty_default();
        let mut l = Ldisc::new();
        let (echo, _) = feed(&mut l, &t, b"abc\x7f\x7fd\n");
        assert_eq!(read(&mut l, &t, 100), b"ad\n");
        assert_eq!(echo, b"abc\x08 \x08\x08 \x08d\r\n");
        let (echo, _) = feed(&mut l, &t, b"x\ty\x01\x7f\x7f\x7f\x7fz\x15q\x17w\n");
        assert_eq!(read(&mut l, &t, 100), b"w\n");
        assert_eq!(
            echo,
            b"x\ty^A\x08 \x08\x08 \x08\x08 \x08\x08\x08\x08\x08\x08\x08\x08\x08 \x08z\x08 \x08q\x08 \x08w\r\n"
        );
        let (_, _) = feed(&mut l, &t, b"foo bar\x17baz\n");
        assert_eq!(read(&mut l, &t, 100), b"foo baz\n");
    }

    #[test]
    fn eof_and_partial_lines() {
        let t = Termios::pty_default();
        let mut l = Ldisc::new();
        feed(&mut l, &t, b"\x04ab\x04cd\x04");
        assert_eq!(read(&mut l, &t, 100), b"");
        assert_eq!(read(&mut l, &t, 100), b"ab");
        assert_eq!(read(&mut l, &t, 1), b"c");
        assert_eq!(read(&mut l, &t, 100), b"d");
        feed(&mut l, &t, b"xyz\x04w\n");
        assert_eq!(read(&mut l, &t, 3), b"xyz");
        // The EOF ending the partly read line gives no empty read.
        assert_eq!(read(&mut l, &t, 100), b"w\n");
        assert!(!l.available(&t, 0));
        feed(&mut l, &t, b"hello");
        assert!(!l.available(&t, 0));
        assert_eq!(l.inq(&t), 0);
        feed(&mut l, &t, b"\n");
        assert_eq!(l.inq(&t), 6);
    }

    #[test]
    fn signals_flush_input() {
        let t = Termios::pty_default();
        let mut l = Ldisc::new();
        let (echo, sigs) = feed(&mut l, &t, b"abc\x03def\n");
        assert_eq!(sigs, vec![abi::signal::SIGINT]);
        assert_eq!(read(&mut l, &t, 100), b"def\n");
        assert_eq!(echo, b"^Cdef\r\n");
    }

    #[test]
    fn raw_mode_and_output() {
        let mut t = Termios::pty_default();
        t.lflag = 0;
        t.iflag = 0;
        let mut l = Ldisc::new();
        let (echo, _) = feed(&mut l, &t, b"a\r\x03");
        assert!(echo.is_empty());
        assert_eq!(read(&mut l, &t, 2), b"a\r");
        let mut o = VecDeque::new();
        let d = Termios::pty_default();
        let n = l.output(
            &d,
            b"out\n\tx\r\n",
            &mut Out {
                q: &mut o,
                cap: 100,
            },
        );
        assert_eq!(n, 8);
        assert_eq!(o.iter().copied().collect::<Vec<u8>>(), b"out\r\n\tx\r\r\n");
    }

    #[test]
    fn full_canonical_buffer_keeps_taking() {
        let t = Termios::pty_default();
        let mut l = Ldisc::new();
        let big = vec![b'x'; 5000];
        feed(&mut l, &t, &big);
        feed(&mut l, &t, b"\n");
        let v = read(&mut l, &t, 10000);
        assert_eq!(v.len(), BUF_SIZE);
        assert_eq!(v.last(), Some(&b'\n'));
    }
}
