//! Host fds imported as files: the sandbox's stdin/stdout/stderr. Reads wait with poll
//! (never O_NONBLOCK on the shared host fd) so a signal interrupts them; terminal ioctls
//! are forwarded to a host tty, and job control on host terminals (`tty::console`) is the
//! kernel's: their foreground groups, SIGTTIN/SIGTTOU for background groups.

use super::anon::AnonInode;
use crate::task::{SysResult, Task};
use crate::tty::{self, console::HostTerm, jobctl, Tty};
use crate::vfs::inode::{CURRENT, POLLERR, POLLHUP, POLLIN, POLLOUT};
use crate::vfs::{dentry, mode, oflags, File, FileOps, Stat};
use abi::signal::{SIGTTIN, SIGTTOU};
use abi::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use tty::termios::{TERMIOS2_SIZE, TERMIOS_SIZE, TERMIO_SIZE};
use tty::{
    TCFLSH, TCGETA, TCGETS, TCGETS2, TCSBRK, TCSETA, TCSETAF, TCSETAW, TCSETS, TCSETS2, TCSETSF,
    TCSETSF2, TCSETSW, TCSETSW2, TCXONC, TIOCGPGRP, TIOCGSID, TIOCGWINSZ, TIOCNOTTY, TIOCSCTTY,
    TIOCSPGRP, TIOCSWINSZ,
};
const FIONREAD: u32 = 0x541b;

/// Bytes a termios request copies: termios, termios2 or termio.
fn termios_size(cmd: u32) -> usize {
    match cmd {
        TCGETS2 | TCSETS2 | TCSETSW2 | TCSETSF2 => TERMIOS2_SIZE,
        TCGETA | TCSETA | TCSETAW | TCSETAF => TERMIO_SIZE,
        _ => TERMIOS_SIZE,
    }
}

fn errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

fn poll_now(fd: i32, ev: i16) -> i16 {
    let mut p = libc::pollfd {
        fd,
        events: ev,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    if r <= 0 {
        0
    } else {
        p.revents
    }
}

pub fn is_tty(fd: i32) -> bool {
    // SAFETY: plain host call.
    unsafe { libc::isatty(fd) == 1 }
}

/// A host fd behind a sandbox file.
pub struct HostFdOps {
    /// Shared by every reopen of the same imported fd; closed with the last.
    fd: Arc<OwnedFd>,
    tty: bool,
    /// The host terminal this fd is (job control applies); it lives while its files do.
    term: Option<Arc<HostTerm>>,
    /// Regular host files are read and written at the sandbox file's offset.
    regular: bool,
    name: String,
}

/// Remembers the names of host fds (before the kernel loses /proc: `confine::lockdown`).
pub fn remember_names(fds: &[i32]) {
    crate::confine::hostnames::remember(fds);
}

/// Wraps a dup of host fd `fd` as a file. The name is what the host's /proc shows.
pub fn import(fd: i32) -> Result<Arc<File>, Errno> {
    // SAFETY: duplicating a host fd of our own.
    let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if d < 0 {
        return Err(errno());
    }
    // SAFETY: fresh fd.
    let owned = unsafe { OwnedFd::from_raw_fd(d) };
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and out pointer.
    if unsafe { libc::fstat(d, &mut st) } < 0 {
        return Err(errno());
    }
    // SAFETY: plain host call.
    let fl = unsafe { libc::fcntl(d, libc::F_GETFL) };
    let acc = if fl < 0 {
        oflags::O_RDWR
    } else {
        fl as u32 & oflags::O_ACCMODE
    };
    let name = crate::confine::hostnames::name(fd, &st);
    let tty = is_tty(d);
    let term = if tty {
        tty::console::of_host_fd(d)
    } else {
        None
    };
    let regular = st.st_mode & libc::S_IFMT == libc::S_IFREG;
    let vst = Stat {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
        nlink: st.st_nlink,
        uid: 0,
        gid: if tty { 5 } else { 0 },
        rdev: st.st_rdev,
        size: st.st_size.max(0) as u64,
        blksize: st.st_blksize.max(0) as u64,
        blocks: st.st_blocks.max(0) as u64,
        atime: crate::vfs::Timespec {
            sec: st.st_atime,
            nsec: st.st_atime_nsec,
        },
        mtime: crate::vfs::Timespec {
            sec: st.st_mtime,
            nsec: st.st_mtime_nsec,
        },
        ctime: crate::vfs::Timespec {
            sec: st.st_ctime,
            nsec: st.st_ctime_nsec,
        },
        btime: None,
    };
    // The console shows in the sandbox as /dev/pts/0 (so ttyname finds it).
    let shown = term.as_ref().filter(|t| tty::console::is_console(&t.tty));
    let (name, vst) = match shown.and_then(|_| super::devpts::console_stat()) {
        Some(st) => ("/dev/pts/0".to_string(), st),
        None => (name, vst),
    };
    let owned = Arc::new(owned);
    let inode = Arc::new(HostFdInode {
        fd: owned.clone(),
        attrs: AnonInode::with_stat(vst),
        tty,
        term: term.clone(),
        regular,
        name: name.clone(),
    });
    let loc = dentry::anon_loc(name.as_bytes(), inode);
    // F_GETFL shows what the host open file has (O_APPEND, O_LARGEFILE, O_NONBLOCK...).
    let keep = oflags::O_APPEND
        | oflags::O_LARGEFILE
        | oflags::O_NONBLOCK
        | oflags::O_DIRECT
        | oflags::O_ASYNC
        | oflags::O_NOATIME
        | oflags::O_SYNC;
    let status = if fl >= 0 { fl as u32 & keep } else { 0 };
    Ok(File::new(
        loc,
        acc | status,
        Box::new(HostFdOps {
            fd: owned,
            tty,
            term,
            regular,
            name,
        }),
    ))
}

/// The inode of an imported host fd. Reopening it (/dev/stdout, /proc/self/fd/1) gives
/// another file on the same host fd, like reopening a pipe or tty on Linux (for a host
/// regular file the offset stays shared and O_TRUNC is not applied).
pub struct HostFdInode {
    fd: Arc<OwnedFd>,
    attrs: Arc<AnonInode>,
    tty: bool,
    term: Option<Arc<HostTerm>>,
    regular: bool,
    name: String,
}

impl crate::vfs::Inode for HostFdInode {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        self.attrs.stat()
    }
    fn mode(&self) -> u32 {
        self.attrs.mode()
    }
    fn open(
        self: Arc<Self>,
        _ctx: &crate::vfs::Ctx,
        _loc: &crate::vfs::Loc,
        _flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        Ok(Box::new(HostFdOps {
            fd: self.fd.clone(),
            tty: self.tty,
            term: self.term.clone(),
            regular: self.regular,
            name: self.name.clone(),
        }))
    }
}

impl HostFdOps {
    fn raw(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// The terminal as job control sees it.
    fn jtty(&self) -> Option<&Arc<Tty>> {
        self.term.as_ref().map(|t| &t.tty)
    }

    /// The background check of job control, on host terminals.
    fn check(&self, t: &Task, sig: u32) -> Result<(), Errno> {
        match self.jtty() {
            Some(tty) => jobctl::check_change(t, tty, sig),
            None => Ok(()),
        }
    }

    /// TOSTOP in the host terminal's local modes.
    fn tostop(&self) -> bool {
        let mut b = [0u8; TERMIOS_SIZE];
        // SAFETY: the host writes a struct termios (36 bytes) into b.
        if unsafe { libc::ioctl(self.raw(), TCGETS as _, b.as_mut_ptr()) } < 0 {
            return false;
        }
        u32::from_le_bytes([b[12], b[13], b[14], b[15]]) & tty::termios::TOSTOP != 0
    }
}

impl FileOps for HostFdOps {
    fn seekable(&self) -> bool {
        self.regular
    }

    /// A host file's offset is shared with the host processes holding the same open
    /// file (a shell around `moat do`), so it stays on the host.
    fn own_offset(&self) -> bool {
        true
    }

    fn seek(&self, off: i64, whence: u32) -> Result<u64, Errno> {
        // SAFETY: plain host call on our fd; whence was validated by the syscall.
        let r = unsafe { libc::lseek(self.raw(), off, whence as i32) };
        if r < 0 {
            return Err(errno());
        }
        Ok(r as u64)
    }

    fn read(&self, t: &Task, f: &File, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let fd = self.raw();
        if self.regular {
            // SAFETY: valid fd and buffer.
            let r = unsafe {
                if off == CURRENT {
                    libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len())
                } else {
                    libc::pread(
                        fd,
                        buf.as_mut_ptr() as *mut libc::c_void,
                        buf.len(),
                        off.min(i64::MAX as u64) as i64,
                    )
                }
            };
            return if r < 0 { Err(errno()) } else { Ok(r as usize) };
        }
        self.check(t, SIGTTIN)?;
        let nonblock = f.nonblock();
        t.wait_until(&[], Some((fd, libc::POLLIN)), None, || {
            if poll_now(fd, libc::POLLIN) == 0 {
                return if nonblock {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
            }
            // SAFETY: valid fd and buffer.
            let r = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if r < 0 {
                let e = errno();
                if e == Errno::EAGAIN || e == Errno::EINTR {
                    return if nonblock {
                        Err(Errno::EAGAIN)
                    } else {
                        Ok(None)
                    };
                }
                return Err(e);
            }
            Ok(Some(r as usize))
        })
    }

    fn write(&self, t: &Task, f: &File, off: u64, data: &[u8]) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        let fd = self.raw();
        if self.regular {
            let r = if off == CURRENT || off == crate::vfs::inode::APPEND {
                // SAFETY: valid fd and buffer (the host fd carries O_APPEND itself if set).
                unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) }
            } else {
                // SAFETY: valid fd and buffer.
                unsafe {
                    libc::pwrite(
                        fd,
                        data.as_ptr() as *const libc::c_void,
                        data.len(),
                        off.min(i64::MAX as u64) as i64,
                    )
                }
            };
            return if r < 0 { Err(errno()) } else { Ok(r as usize) };
        }
        // (TOSTOP is asked of the host only for a writer in the background.)
        if self.jtty().is_some_and(|tty| jobctl::in_background(t, tty)) && self.tostop() {
            self.check(t, SIGTTOU)?;
        }
        let nonblock = f.nonblock();
        let r = t.wait_until(&[], Some((fd, libc::POLLOUT)), None, || {
            let rev = poll_now(fd, libc::POLLOUT);
            if rev & (libc::POLLERR | libc::POLLHUP) != 0 && rev & libc::POLLOUT == 0 {
                return Err(Errno::EPIPE);
            }
            if rev == 0 {
                return if nonblock {
                    Err(Errno::EAGAIN)
                } else {
                    Ok(None)
                };
            }
            // SAFETY: valid fd and buffer; MSG_NOSIGNAL-like behaviour: the kernel
            // process ignores SIGPIPE, so a broken pipe is EPIPE here.
            let r = unsafe { libc::write(fd, data.as_ptr() as *const libc::c_void, data.len()) };
            if r < 0 {
                let e = errno();
                if e == Errno::EAGAIN || e == Errno::EINTR {
                    return if nonblock {
                        Err(Errno::EAGAIN)
                    } else {
                        Ok(None)
                    };
                }
                return Err(e);
            }
            Ok(Some(r as usize))
        });
        if r == Err(Errno::EPIPE) {
            crate::signal::send_sigpipe(t);
        }
        r
    }

    fn ioctl(&self, t: &Task, _f: &File, cmd: u32, arg: u64) -> SysResult {
        let fd = self.raw();
        if cmd == FIONREAD {
            let mut n: libc::c_int = 0;
            // SAFETY: valid fd and out pointer.
            if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } < 0 {
                return Err(errno());
            }
            t.write_val(arg, &n)?;
            return Ok(0);
        }
        if !self.tty {
            return Err(Errno::ENOTTY);
        }
        match cmd {
            TCGETS | TCGETS2 | TCGETA => {
                let mut b = [0u8; TERMIOS2_SIZE];
                let n = termios_size(cmd);
                // SAFETY: the host writes at most a struct termios2 (44 bytes) into b.
                if unsafe { libc::ioctl(fd, cmd as _, b.as_mut_ptr()) } < 0 {
                    return Err(errno());
                }
                t.write_mem(arg, &b[..n])?;
                Ok(0)
            }
            TCSETS | TCSETSW | TCSETSF | TCSETS2 | TCSETSW2 | TCSETSF2 | TCSETA | TCSETAW
            | TCSETAF => {
                self.check(t, SIGTTOU)?;
                let mut b = [0u8; TERMIOS2_SIZE];
                let n = termios_size(cmd);
                t.read_mem(arg, &mut b[..n])?;
                // SAFETY: the host reads at most a struct termios2 from b.
                if unsafe { libc::ioctl(fd, cmd as _, b.as_ptr()) } < 0 {
                    return Err(errno());
                }
                Ok(0)
            }
            TIOCGWINSZ => {
                let mut b = [0u8; 8];
                // SAFETY: the host writes a struct winsize into b.
                if unsafe { libc::ioctl(fd, TIOCGWINSZ as _, b.as_mut_ptr()) } < 0 {
                    return Err(errno());
                }
                t.write_mem(arg, &b)?;
                Ok(0)
            }
            TIOCSWINSZ => {
                let mut b = [0u8; 8];
                t.read_mem(arg, &mut b)?;
                // SAFETY: the host reads a struct winsize from b.
                if unsafe { libc::ioctl(fd, TIOCSWINSZ as _, b.as_ptr()) } < 0 {
                    return Err(errno());
                }
                Ok(0)
            }
            TCFLSH | TCXONC | TCSBRK => {
                self.check(t, SIGTTOU)?;
                // SAFETY: integer-argument terminal ioctls.
                if unsafe { libc::ioctl(fd, cmd as _, arg as libc::c_ulong) } < 0 {
                    return Err(errno());
                }
                Ok(0)
            }
            TIOCGPGRP | TIOCSPGRP | TIOCGSID | TIOCSCTTY | TIOCNOTTY => {
                let Some(tty) = self.jtty() else {
                    return Err(Errno::ENOTTY);
                };
                match cmd {
                    TIOCGPGRP => jobctl::tiocgpgrp(t, tty, false, arg),
                    TIOCSPGRP => jobctl::tiocspgrp(t, tty, arg),
                    TIOCGSID => jobctl::tiocgsid(t, tty, false, arg),
                    TIOCSCTTY => jobctl::tiocsctty(t, tty, _f.readable(), arg),
                    _ => jobctl::tiocnotty(t, tty),
                }
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn poll(&self, _f: &File) -> u32 {
        let r = poll_now(self.raw(), libc::POLLIN | libc::POLLOUT);
        let mut ev = 0;
        if r & libc::POLLIN != 0 {
            ev |= POLLIN;
        }
        if r & libc::POLLOUT != 0 {
            ev |= POLLOUT;
        }
        if r & libc::POLLHUP != 0 {
            ev |= POLLHUP;
        }
        if r & libc::POLLERR != 0 {
            ev |= POLLERR;
        }
        ev
    }

    /// A host regular file is synced on the host; pipes and ttys cannot be (EINVAL).
    fn fsync(&self) -> Result<(), Errno> {
        if !self.regular {
            return Err(Errno::EINVAL);
        }
        // SAFETY: plain host call on our fd.
        if unsafe { libc::fsync(self.raw()) } < 0 {
            return Err(errno());
        }
        Ok(())
    }

    /// Host pipes and ttys are watched by the host-fd watcher (regular files and devices
    /// the host cannot poll have no queue: they are always ready, and epoll refuses them).
    fn wait_queue(&self) -> Option<Arc<crate::wait::WaitQueue>> {
        if self.regular {
            return None;
        }
        super::hostwatch::queue(&self.fd)
    }

    fn host_poll(&self) -> Option<i32> {
        if self.wait_queue().is_some() {
            return None;
        }
        Some(self.raw())
    }

    fn nread(&self) -> Option<usize> {
        let mut n: libc::c_int = 0;
        // SAFETY: valid fd and out pointer.
        if unsafe { libc::ioctl(self.raw(), libc::FIONREAD, &mut n) } < 0 {
            return None;
        }
        Some(n.max(0) as usize)
    }

    fn name(&self) -> Option<String> {
        Some(self.name.clone())
    }
}

/// Whether `m` is a character device (for /dev/tty decisions).
pub fn is_chr(m: u32) -> bool {
    m & mode::S_IFMT == mode::S_IFCHR
}

/// A file on the console's host terminal, for /dev/console and /dev/pts/0.
pub fn open_console(name: &str) -> Result<Box<dyn FileOps>, Errno> {
    open_host_term(tty::console::get().ok_or(Errno::ENXIO)?, name)
}

/// Records host fd `fd` (a stdio fd of the first process) as the console if it is a
/// terminal.
pub fn note_ctty(fd: i32) {
    tty::console::init_from(fd);
}

/// A new file on a host terminal, for /dev/tty.
pub fn open_host_term(c: &Arc<HostTerm>, name: &str) -> Result<Box<dyn FileOps>, Errno> {
    // SAFETY: duplicating our own host fd.
    let d = unsafe { libc::fcntl(c.fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
    if d < 0 {
        return Err(errno());
    }
    // SAFETY: fresh fd.
    let owned = unsafe { OwnedFd::from_raw_fd(d) };
    Ok(Box::new(HostFdOps {
        fd: Arc::new(owned),
        tty: true,
        term: Some(c.clone()),
        regular: false,
        name: name.into(),
    }))
}
