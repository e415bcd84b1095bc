//! The control protocol between the CLI and a container's sandbox process: one JSON
//! message per SOCK_SEQPACKET packet over `<state dir>/sandbox.sock`, with the stdio of
//! `exec` attached as SCM_RIGHTS.

use crate::fdpass::{recv_fds, send_fds};
use serde::{Deserialize, Serialize};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// The largest message (an exec's process spec with its environment).
const MAX_MSG: usize = 1 << 20;

#[derive(Serialize, Deserialize, Debug)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    Start,
    Kill {
        signal: u32,
        all: bool,
    },
    /// A signal to one process (an exec's), from outside.
    Signal {
        pid: i32,
        signal: u32,
    },
    Ps,
    Pause,
    Resume,
    Stats,
    /// Waits for init to exit.
    Wait,
    /// Starts a process; fds 0-2 come attached. The reply comes when it started, a second
    /// message (with `status`) when it exited.
    Exec {
        process: Box<oci_spec::runtime::Process>,
    },
}

#[derive(Serialize, Deserialize, Debug, Default)]
pub struct Response {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// wait(2)-style status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<Vec<ProcEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<StatsEntry>,
}

impl Response {
    pub fn err(e: impl Into<String>) -> Response {
        Response {
            error: Some(e.into()),
            ..Default::default()
        }
    }
    pub fn into_result(self) -> Result<Response, String> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ProcEntry {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    /// Seconds since the sandbox started.
    pub start_secs: f64,
    pub cpu_ns: u64,
    pub state: char,
    pub cmd: String,
    /// The host process (stub) that runs it.
    #[serde(default)]
    pub host_pid: i32,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct StatsEntry {
    pub cpu_user_ns: u64,
    pub cpu_system_ns: u64,
    pub memory_bytes: u64,
    pub pids: u64,
}

fn sockaddr(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    use std::os::unix::ffi::OsStrExt;
    let b = path.as_os_str().as_bytes();
    // SAFETY: plain struct.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as u16;
    if b.len() >= a.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "socket path too long",
        ));
    }
    for (i, &c) in b.iter().enumerate() {
        a.sun_path[i] = c as libc::c_char;
    }
    Ok((a, (2 + b.len() + 1) as libc::socklen_t))
}

fn seqpacket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket creation.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A short name for `path` that reaches it whatever its length (through the directory's
/// /proc/self/fd entry), and the directory handle that keeps the name valid.
fn short_path(path: &Path) -> io::Result<(std::path::PathBuf, Option<std::fs::File>)> {
    use std::os::unix::ffi::OsStrExt;
    if path.as_os_str().as_bytes().len() < 100 {
        return Ok((path.to_path_buf(), None));
    }
    let dir = std::fs::File::open(path.parent().unwrap_or(Path::new("/")))?;
    let p = format!(
        "/proc/self/fd/{}/{}",
        dir.as_raw_fd(),
        path.file_name().unwrap_or_default().to_string_lossy()
    );
    Ok((p.into(), Some(dir)))
}

pub fn listen(path: &Path) -> io::Result<OwnedFd> {
    let s = seqpacket()?;
    let (p, _keep) = short_path(path)?;
    let (a, len) = sockaddr(&p)?;
    // SAFETY: valid socket and address.
    if unsafe { libc::bind(s.as_raw_fd(), &a as *const _ as *const libc::sockaddr, len) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: valid socket.
    if unsafe { libc::listen(s.as_raw_fd(), 64) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(s)
}

pub fn accept(l: RawFd) -> io::Result<OwnedFd> {
    loop {
        // SAFETY: valid listening socket.
        let fd = unsafe {
            libc::accept4(
                l,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: fresh fd.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

pub fn connect(path: &Path) -> io::Result<OwnedFd> {
    let s = seqpacket()?;
    let (p, _keep) = short_path(path)?;
    let (a, len) = sockaddr(&p)?;
    loop {
        // SAFETY: valid socket and address.
        let r =
            unsafe { libc::connect(s.as_raw_fd(), &a as *const _ as *const libc::sockaddr, len) };
        if r == 0 {
            return Ok(s);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

pub fn send<T: Serialize>(s: RawFd, msg: &T, fds: &[RawFd]) -> io::Result<()> {
    let data = serde_json::to_vec(msg).map_err(io::Error::other)?;
    if data.len() > MAX_MSG {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "message too large",
        ));
    }
    send_fds(s, &data, fds)
}

/// Receives one message; None at end of stream.
pub fn recv<T: for<'de> Deserialize<'de>>(s: RawFd) -> io::Result<Option<(T, Vec<OwnedFd>)>> {
    let mut buf = vec![0u8; MAX_MSG];
    let (n, fds) = recv_fds(s, &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    let m = serde_json::from_slice(&buf[..n]).map_err(io::Error::other)?;
    Ok(Some((m, fds)))
}

/// One request and its reply.
pub fn call(sock: &Path, req: &Request) -> Result<Response, String> {
    let s = connect(sock).map_err(|e| format!("cannot reach the sandbox: {e}"))?;
    send(s.as_raw_fd(), req, &[]).map_err(|e| format!("sending to the sandbox: {e}"))?;
    match recv::<Response>(s.as_raw_fd()) {
        Ok(Some((r, _))) => r.into_result(),
        Ok(None) => Err("the sandbox closed the connection".into()),
        Err(e) => Err(format!("reading from the sandbox: {e}")),
    }
}
