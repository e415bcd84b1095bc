//! Terminals of containers: a host pseudo-terminal whose slave becomes the process's
//! stdio; its master goes to the caller's console socket (SCM_RIGHTS, as runc sends it)
//! or is proxied to moat's own stdin/stdout when nobody else takes it.

use crate::fdpass::{connect_unix, send_fds};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    pub name: String,
}

pub fn open_pty(size: Option<(u16, u16)>) -> Result<Pty, String> {
    // SAFETY: the standard pty allocation sequence on fds we own.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if m < 0 {
            return Err(format!(
                "allocating a pty: {}",
                std::io::Error::last_os_error()
            ));
        }
        let master = OwnedFd::from_raw_fd(m);
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            return Err(format!(
                "allocating a pty: {}",
                std::io::Error::last_os_error()
            ));
        }
        let mut buf = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, buf.as_mut_ptr(), buf.len()) != 0 {
            return Err("allocating a pty: ptsname failed".into());
        }
        let name = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned();
        let s = libc::open(
            buf.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if s < 0 {
            return Err(format!(
                "opening {name}: {}",
                std::io::Error::last_os_error()
            ));
        }
        let slave = OwnedFd::from_raw_fd(s);
        if let Some((h, w)) = size {
            let ws = libc::winsize {
                ws_row: h,
                ws_col: w,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            libc::ioctl(m, libc::TIOCSWINSZ, &ws);
        }
        Ok(Pty {
            master,
            slave,
            name,
        })
    }
}

/// Connects to the console socket first, so that a bad path fails before anything is made.
pub fn connect_console(path: &Path) -> Result<std::os::unix::net::UnixStream, String> {
    connect_unix(path).map_err(|e| format!("console socket {}: {e}", path.display()))
}

/// Sends the pty master over the console socket, as runc does.
pub fn send_master(sock: &std::os::unix::net::UnixStream, pty: &Pty) -> Result<(), String> {
    send_fds(
        sock.as_raw_fd(),
        pty.name.as_bytes(),
        &[pty.master.as_raw_fd()],
    )
    .map_err(|e| format!("sending the pty master: {e}"))
}

/// The window size of the terminal on `fd`, if it is one.
pub fn winsize(fd: RawFd) -> Option<libc::winsize> {
    // SAFETY: TIOCGWINSZ into a local struct.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0).then_some(ws)
    }
}

/// Puts moat's own terminal in raw mode while a container's terminal is proxied; the
/// guard restores it.
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    pub fn enter(fd: RawFd) -> Option<RawMode> {
        // SAFETY: termios calls on our own fd with local structs.
        unsafe {
            if libc::isatty(fd) == 0 {
                return None;
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) != 0 {
                return None;
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(fd, libc::TCSANOW, &t);
            Some(RawMode { fd, saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring saved attributes on our own fd.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

/// Copies stdin to the master and the master to stdout until the master reports EOF/EIO
/// (every slave closed). Runs the stdin side on a thread that ends with the process.
pub fn proxy(master: OwnedFd) {
    let m = master.as_raw_fd();
    // SAFETY: dup of our own fd for the writer thread.
    let mw = unsafe { libc::dup(m) };
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reads and writes on fds we own, into a local buffer.
            let n = unsafe { libc::read(0, buf.as_mut_ptr() as *mut _, buf.len()) };
            if n <= 0 {
                break;
            }
            let mut off = 0;
            while off < n as usize {
                // SAFETY: as above.
                let w =
                    unsafe { libc::write(mw, buf[off..].as_ptr() as *const _, n as usize - off) };
                if w <= 0 {
                    return;
                }
                off += w as usize;
            }
        }
    });
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: as above.
        let n = unsafe { libc::read(m, buf.as_mut_ptr() as *mut _, buf.len()) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            break;
        }
        let mut off = 0;
        while off < n as usize {
            // SAFETY: as above.
            let w = unsafe { libc::write(1, buf[off..].as_ptr() as *const _, n as usize - off) };
            if w <= 0 {
                return;
            }
            off += w as usize;
        }
    }
}
