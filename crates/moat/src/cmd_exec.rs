//! `exec`: run another process in a running container. The process has no parent in the
//! sandbox; a host process (moat itself, or with --detach a child it leaves behind) stands
//! for it: it forwards signals to it and exits with its status, so that a shim reaping the
//! pid from --pid-file sees the exec's exit as with runc.

use crate::console::{self, Pty};
use crate::control::{self, Request, Response};
use crate::state::{self, Dir};
use crate::{config, Global};
use oci_spec::runtime::{Process, User};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    /// A process.json (the `process` object of config.json) to run instead of ARGS.
    #[arg(short = 'p', long, value_name = "FILE")]
    process: Option<PathBuf>,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    tty: bool,
    #[arg(long, value_name = "PATH")]
    console_socket: Option<PathBuf>,
    #[arg(short = 'd', long)]
    detach: bool,
    #[arg(long, value_name = "PATH")]
    pid_file: Option<PathBuf>,
    #[arg(long)]
    cwd: Option<String>,
    /// Environment variables (repeatable).
    #[arg(short = 'e', long = "env", value_name = "K=V")]
    env: Vec<String>,
    /// UID[:GID].
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// Additional gids (repeatable).
    #[arg(short = 'g', long = "additional-gids")]
    additional_gids: Vec<u32>,
    #[arg(long)]
    no_new_privs: bool,
    /// Accepted for runc compatibility; no effect.
    #[arg(long)]
    preserve_fds: Option<u32>,
    /// Accepted for runc compatibility; no effect.
    #[arg(long)]
    process_label: Option<String>,
    /// Accepted for runc compatibility; no effect.
    #[arg(long)]
    apparmor: Option<String>,
    /// Capabilities to add (accepted; the process gets the container's set).
    #[arg(short = 'c', long)]
    cap: Vec<String>,
    id: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn build_process(a: &ExecArgs, bundle: &str) -> Result<Process, String> {
    if let Some(p) = &a.process {
        let data = std::fs::read(p).map_err(|e| format!("process file {}: {e}", p.display()))?;
        let proc: Process = serde_json::from_slice(&data)
            .map_err(|e| format!("invalid process file {}: {e}", p.display()))?;
        config::check_process(&proc)?;
        return Ok(proc);
    }
    if a.args.is_empty() {
        return Err("exec needs a command (ARGS) or --process".into());
    }
    // The container's own process is the template, as with runc.
    let spec = config::load(std::path::Path::new(bundle))?;
    let mut p = spec.process().clone().ok_or("config.json has no process")?;
    p.set_args(Some(a.args.clone()));
    p.set_terminal(Some(a.tty));
    if let Some(c) = &a.cwd {
        p.set_cwd(c.into());
    }
    if !a.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        for e in &a.env {
            let key = e.split('=').next().unwrap_or("");
            env.retain(|x| x.split('=').next() != Some(key));
            env.push(e.clone());
        }
        p.set_env(Some(env));
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        let uid: u32 = uid
            .parse()
            .map_err(|_| format!("--user {u}: a numeric UID[:GID] is needed"))?;
        let gid: u32 = match gid {
            Some(g) => g
                .parse()
                .map_err(|_| format!("--user {u}: a numeric UID[:GID] is needed"))?,
            None => 0,
        };
        let mut user = User::default();
        user.set_uid(uid);
        user.set_gid(gid);
        user.set_umask(p.user().umask());
        p.set_user(user);
    }
    if !a.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(a.additional_gids.clone()));
        p.set_user(user);
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    config::check_process(&p)?;
    Ok(p)
}

pub fn exec(g: &Global, a: &ExecArgs) -> Result<i32, String> {
    let dir = Dir::of(&g.root, &a.id)?;
    let st = dir.load()?;
    let status = state::status(&st);
    if status != "running" {
        return Err(format!(
            "cannot exec in container {:?}: it is {status}",
            a.id
        ));
    }
    let process = build_process(a, &st.bundle)?;
    let tty = process.terminal().unwrap_or(false);
    if tty && a.detach && a.console_socket.is_none() {
        return Err("--tty with --detach needs --console-socket".into());
    }
    if !tty && a.console_socket.is_some() {
        return Err("--console-socket needs --tty".into());
    }
    let console = match &a.console_socket {
        Some(p) => Some(console::connect_console(p)?),
        None => None,
    };
    let pty: Option<Pty> = if tty {
        let size = process
            .console_size()
            .map(|b| (b.height() as u16, b.width() as u16))
            .or_else(|| console::winsize(0).map(|w| (w.ws_row, w.ws_col)));
        let p = console::open_pty(size)?;
        if let Some(sock) = &console {
            console::send_master(sock, &p)?;
        }
        Some(p)
    } else {
        None
    };
    let stdio: [RawFd; 3] = match &pty {
        Some(p) => [p.slave.as_raw_fd(); 3],
        None => [0, 1, 2],
    };
    let conn =
        control::connect(&dir.socket()).map_err(|e| format!("cannot reach the sandbox: {e}"))?;
    let req = Request::Exec {
        process: Box::new(process),
    };
    control::send(conn.as_raw_fd(), &req, &stdio)
        .map_err(|e| format!("sending to the sandbox: {e}"))?;
    let (master, _slave) = match pty {
        Some(p) if console.is_none() => (Some(p.master), Some(p.slave)),
        Some(p) => (None, Some(p.slave)),
        None => (None, None),
    };
    if a.detach {
        return detach(&dir, conn, a.pid_file.as_ref());
    }
    let pid = started(&conn)?;
    if let Some(p) = &a.pid_file {
        write_pid(p, std::process::id() as i32)?;
    }
    let _raw = master.as_ref().and_then(|_| console::RawMode::enter(0));
    forward_signals(&dir, pid, master.as_ref().map(|m| m.as_raw_fd()));
    if let Some(m) = master {
        std::thread::spawn(move || console::proxy(m));
    }
    Ok(crate::cmd_manage::shell_code(exited(&conn)?))
}

/// The first reply: the pid the process got, or why it could not start.
fn started(conn: &OwnedFd) -> Result<i32, String> {
    match control::recv::<Response>(conn.as_raw_fd()) {
        Ok(Some((r, _))) => r
            .into_result()?
            .pid
            .ok_or_else(|| "the sandbox did not say which pid it started".into()),
        Ok(None) => Err("the sandbox closed the connection".into()),
        Err(e) => Err(format!("reading from the sandbox: {e}")),
    }
}

/// The second reply: the wait status. A sandbox that went away means the process died
/// with it (killed).
fn exited(conn: &OwnedFd) -> Result<i32, String> {
    loop {
        match control::recv::<Response>(conn.as_raw_fd()) {
            Ok(Some((r, _))) => {
                if let Some(s) = r.into_result()?.status {
                    return Ok(s);
                }
            }
            Ok(None) | Err(_) => return Ok(libc::SIGKILL),
        }
    }
}

fn forward_signals(dir: &Dir, pid: i32, master: Option<RawFd>) {
    let sock = dir.socket();
    crate::signals::forward(master, move |sig| {
        let _ = control::call(
            &sock,
            &Request::Signal {
                pid,
                signal: sig as u32,
            },
        );
    });
}

fn write_pid(p: &std::path::Path, pid: i32) -> Result<(), String> {
    std::fs::write(p, pid.to_string()).map_err(|e| format!("pid file {}: {e}", p.display()))
}

/// --detach: a child process stays to stand for the exec (forwarding signals, exiting
/// with its status); this process returns once the exec started.
fn detach(dir: &Dir, conn: OwnedFd, pid_file: Option<&PathBuf>) -> Result<i32, String> {
    let mut p = [0i32; 2];
    // SAFETY: pipe2 into a local array.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fresh fds.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    // SAFETY: moat is single-threaded here, so the child may run Rust code.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if child == 0 {
        drop(r);
        // SAFETY: detaching from the caller's session and stdio, in the child.
        unsafe {
            libc::setsid();
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if null >= 0 {
                for fd in 0..3 {
                    libc::dup2(null, fd);
                }
            }
        }
        let msg = match started(&conn) {
            Ok(pid) => {
                forward_signals(dir, pid, None);
                format!("ok {pid}")
            }
            Err(e) => format!("error: {e}"),
        };
        // SAFETY: writing our own pipe end.
        unsafe { libc::write(w.as_raw_fd(), msg.as_ptr() as *const _, msg.len()) };
        drop(w);
        if !msg.starts_with("ok") {
            std::process::exit(1);
        }
        let ws = exited(&conn).unwrap_or(libc::SIGKILL);
        let st = if ws & 0x7f == 0 {
            kernel::task::ExitStatus::Exited((ws >> 8) & 0xff)
        } else {
            kernel::task::ExitStatus::Signaled((ws & 0x7f) as u32, false)
        };
        crate::boot::exit_like(st);
    }
    drop(w);
    drop(conn);
    let mut f = std::fs::File::from(r);
    let mut s = String::new();
    use std::io::Read;
    let _ = f.read_to_string(&mut s);
    if let Some(e) = s.strip_prefix("error: ") {
        return Err(e.to_string());
    }
    if !s.starts_with("ok") {
        return Err("the exec process died".into());
    }
    if let Some(p) = pid_file {
        write_pid(p, child)?;
    }
    Ok(0)
}
