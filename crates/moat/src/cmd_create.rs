//! `create`, `start` and `run`: bring a container up from a bundle.

use crate::console::{self, Pty};
use crate::control::{self, Request};
use crate::hooks::{self, Stage};
use crate::state::{self, Dir, State};
use crate::{config, Global};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    /// The bundle directory (holds config.json).
    #[arg(short = 'b', long, default_value = ".")]
    bundle: PathBuf,
    /// Unix socket to which the pty master is sent (process.terminal).
    #[arg(long, value_name = "PATH")]
    console_socket: Option<PathBuf>,
    /// File to write the sandbox process's pid to.
    #[arg(long, value_name = "PATH")]
    pid_file: Option<PathBuf>,
    /// Accepted for runc compatibility; no effect.
    #[arg(long)]
    no_pivot: bool,
    /// Accepted for runc compatibility; no effect.
    #[arg(long)]
    no_new_keyring: bool,
    /// Accepted for runc compatibility; extra fds are not passed yet.
    #[arg(long, value_name = "N")]
    preserve_fds: Option<u32>,
    pub id: String,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    create: CreateArgs,
    /// Return once the container started.
    #[arg(short = 'd', long)]
    detach: bool,
    /// Keep the container's state after it stopped (no delete).
    #[arg(long)]
    keep: bool,
}

/// Removes what a failed create made.
struct Undo<'a> {
    dir: Option<&'a Dir>,
    child: Option<std::process::Child>,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(d) = self.dir {
            d.remove();
        }
    }
}

/// A created container.
pub struct Created {
    pub child: std::process::Child,
    /// A terminal master nobody else took (run in the foreground proxies it).
    pub master: Option<OwnedFd>,
}

pub fn create(g: &Global, a: &CreateArgs) -> Result<i32, String> {
    create_inner(g, a, true).map(|_| 0)
}

fn create_inner(g: &Global, a: &CreateArgs, detach: bool) -> Result<Created, String> {
    let dir = Dir::of(&g.root, &a.id)?;
    let bundle = std::fs::canonicalize(&a.bundle)
        .map_err(|_| format!("bundle {}: no such directory", a.bundle.display()))?;
    let spec = config::load(&bundle)?;
    let process = spec.process().clone().ok_or("config.json has no process")?;
    let terminal = process.terminal().unwrap_or(false);
    if terminal && a.console_socket.is_none() && detach {
        return Err("process.terminal is set: a detached container needs --console-socket".into());
    }
    if !terminal && a.console_socket.is_some() {
        return Err("--console-socket needs process.terminal set in config.json".into());
    }
    let console = match &a.console_socket {
        Some(p) => Some(console::connect_console(p)?),
        None => None,
    };
    if dir.exists() {
        return Err(format!("container with id {:?} already exists", a.id));
    }
    dir.create()?;
    let mut undo = Undo {
        dir: Some(&dir),
        child: None,
    };
    let rootfs = config::rootfs(&spec, &bundle)?;
    let st = State {
        id: a.id.clone(),
        pid: 0,
        pid_start: 0,
        bundle: bundle.to_string_lossy().into_owned(),
        rootfs: rootfs.to_string_lossy().into_owned(),
        created: state::now_rfc3339(),
        status: "creating".into(),
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        exit_status: None,
        hooks: spec.hooks().clone(),
    };
    dir.save(&st)?;

    let mps: Vec<(PathBuf, bool)> = spec
        .mounts()
        .iter()
        .flatten()
        .map(|m| {
            let bind = m.typ().as_deref() == Some("bind")
                || m.options()
                    .iter()
                    .flatten()
                    .any(|o| o == "bind" || o == "rbind");
            let dir = !bind
                || m.source()
                    .as_ref()
                    .map(|s| bundle.join(s).is_dir())
                    .unwrap_or(true);
            (m.destination().clone(), dir)
        })
        .collect();
    crate::rootfs::make_mountpoints(&rootfs, &mps)?;

    let pty: Option<Pty> = if terminal {
        let size = process
            .console_size()
            .map(|b| (b.height() as u16, b.width() as u16));
        let p = console::open_pty(size)?;
        if let Some(sock) = &console {
            console::send_master(sock, &p)?;
        }
        Some(p)
    } else {
        None
    };

    let (child, ready) = spawn_boot(g, &bundle, &dir, pty.as_ref().map(|p| &p.slave))?;
    undo.child = Some(child);
    wait_ready(ready)?;
    let st = dir.load()?;
    // runc shows these hooks the state "creating".
    let sj = st.oci("creating");
    hooks::run(&st.hooks, Stage::Prestart, &sj)?;
    hooks::run(&st.hooks, Stage::CreateRuntime, &sj)?;
    hooks::run(&st.hooks, Stage::CreateContainer, &sj)?;
    if let Some(p) = &a.pid_file {
        write_pid_file(p, st.pid)?;
    }
    let child = undo.child.take().unwrap();
    undo.dir = None;
    Ok(Created {
        child,
        master: if console.is_none() {
            pty.map(|p| p.master)
        } else {
            None
        },
    })
}

fn spawn_boot(
    g: &Global,
    bundle: &Path,
    dir: &Dir,
    console: Option<&OwnedFd>,
) -> Result<(std::process::Child, OwnedFd), String> {
    let mut p = [0i32; 2];
    // SAFETY: pipe2 into a local array.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: fresh fds.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
    let exe = std::env::current_exe().map_err(|e| format!("finding moat: {e}"))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(g.boot_args());
    cmd.arg("boot")
        .arg("--bundle")
        .arg(bundle)
        .arg("--state-dir")
        .arg(&dir.path)
        .arg("--ready-fd")
        .arg(w.as_raw_fd().to_string());
    let keep: Vec<i32> = std::iter::once(w.as_raw_fd())
        .chain(console.map(|c| c.as_raw_fd()))
        .collect();
    if let Some(c) = console {
        cmd.arg("--console-fd").arg(c.as_raw_fd().to_string());
    }
    // SAFETY: between fork and exec only async-signal-safe fcntl calls.
    unsafe {
        cmd.pre_exec(move || {
            for &fd in &keep {
                libc::fcntl(fd, libc::F_SETFD, 0);
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting the sandbox: {e}"))?;
    drop(w);
    Ok((child, r))
}

fn wait_ready(r: OwnedFd) -> Result<(), String> {
    let mut f = std::fs::File::from(r);
    let mut s = String::new();
    use std::io::Read;
    let _ = f.read_to_string(&mut s);
    let line = s.lines().next().unwrap_or("");
    if line == "ok" {
        return Ok(());
    }
    match line.strip_prefix("error: ") {
        Some(e) => Err(e.to_string()),
        None => Err("the sandbox process died while starting (see the log)".into()),
    }
}

fn write_pid_file(p: &Path, pid: i32) -> Result<(), String> {
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        p.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&tmp, pid.to_string()).map_err(|e| format!("pid file {}: {e}", p.display()))?;
    std::fs::rename(&tmp, p).map_err(|e| format!("pid file {}: {e}", p.display()))
}

pub fn start(g: &Global, id: &str) -> Result<i32, String> {
    let dir = Dir::of(&g.root, id)?;
    let st = dir.load()?;
    let status = state::status(&st);
    if status != "created" {
        return Err(format!(
            "cannot start container {id:?}: it is {status}, not created"
        ));
    }
    // startContainer hooks run inside the sandbox, as part of Start.
    control::call(&dir.socket(), &Request::Start)?;
    let st = dir.load()?;
    if let Err(e) = hooks::run(&st.hooks, Stage::Poststart, &st.oci("running")) {
        crate::log_warn(g, &e);
    }
    Ok(0)
}

pub fn run(g: &Global, a: &RunArgs) -> Result<i32, String> {
    let c = create_inner(g, &a.create, a.detach)?;
    let id = &a.create.id;
    if let Err(e) = start(g, id) {
        let _ = crate::cmd_manage::delete(g, id, true);
        return Err(e);
    }
    if a.detach {
        return Ok(0);
    }
    let code = wait_foreground(c);
    if !a.keep {
        let _ = crate::cmd_manage::delete(g, id, true);
    }
    Ok(code)
}

/// Waits for the sandbox process of a foreground `run`, forwarding signals to it (and so
/// to init) and proxying a terminal; returns the exit status as a shell shows it.
fn wait_foreground(c: Created) -> i32 {
    let pid = c.child.id() as i32;
    let _raw = c.master.as_ref().and_then(|_| console::RawMode::enter(0));
    if let Some(m) = &c.master {
        if let Some(ws) = console::winsize(0) {
            // SAFETY: TIOCSWINSZ on our own master with a local struct.
            unsafe { libc::ioctl(m.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        }
    }
    crate::signals::forward_to(pid, c.master.as_ref().map(|m| m.as_raw_fd()));
    if let Some(m) = c.master {
        std::thread::spawn(move || console::proxy(m));
    }
    let mut child = c.child;
    let st = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return 125,
        }
    };
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => 125,
    }
}
