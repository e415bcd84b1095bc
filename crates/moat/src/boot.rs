//! `moat boot`: the sandbox process of one container. `create` starts it; it runs the
//! kernel, builds the container's mount tree, creates init (which waits for `start`),
//! serves the control socket, and when init exits marks the container stopped and exits
//! with init's status (re-raising a fatal signal), so that whoever reaps it — a shim, or
//! `moat run` — sees the container's exit as runc's callers see it.

use crate::config;
use crate::control::{self, ProcEntry, Request, Response, StatsEntry};
use crate::state::{self, Dir, State};
use kernel::sandbox::{self, Prepared};
use kernel::task::ExitStatus;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(clap::Args, Debug)]
pub struct BootArgs {
    #[arg(long)]
    bundle: PathBuf,
    #[arg(long)]
    pub state_dir: PathBuf,
    /// Pipe on which readiness ("ok") or the error that stopped the start is reported.
    #[arg(long)]
    pub ready_fd: RawFd,
    /// A terminal that becomes the container's stdio and controlling terminal.
    #[arg(long)]
    pub console_fd: Option<RawFd>,
}

struct Boot {
    dir: Dir,
    state: Mutex<State>,
    init: Mutex<Option<Prepared>>,
    init_path: Vec<u8>,
    /// Set when init is killed before it ever ran.
    killed_before_start: Mutex<Option<ExitStatus>>,
    /// Exec connections still waiting to report an exit.
    execs: Mutex<usize>,
}

impl Boot {
    fn set_status(&self, status: &str, exit: Option<i32>) {
        let mut st = self.state.lock().unwrap();
        st.status = status.to_string();
        if exit.is_some() {
            st.exit_status = exit;
        }
        let _ = crate::confine::save_state(&self.dir, &st);
    }
    fn status(&self) -> String {
        self.state.lock().unwrap().status.clone()
    }
}

pub fn report(fd: RawFd, msg: &str) {
    let mut b = msg.as_bytes().to_vec();
    b.push(b'\n');
    // SAFETY: writing our own pipe end.
    unsafe { libc::write(fd, b.as_ptr() as *const _, b.len()) };
}

/// Runs the sandbox; never returns.
pub fn run(opts: kernel::Options, network: &str, overlay: &str, args: BootArgs) -> ! {
    let ready = args.ready_fd;
    match setup(opts, network, overlay, &args) {
        Ok(boot) => {
            report(ready, "ok");
            // SAFETY: closing our own pipe end.
            unsafe { libc::close(ready) };
            finish(boot)
        }
        Err(e) => {
            report(ready, &format!("error: {e}"));
            std::process::exit(1);
        }
    }
}

/// The host network namespace the sandbox process lives in: the one config.json names
/// (joined), else a fresh empty one for --network=none, else the host's (--network=host).
/// The application's other namespaces (pid, ipc, uts, mount) are the kernel's own.
fn join_network(spec: &oci_spec::runtime::Spec, network: &str) -> Result<(), String> {
    use oci_spec::runtime::LinuxNamespaceType;
    if network == "host" {
        return Ok(());
    }
    let ns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let net = ns.iter().find(|n| n.typ() == LinuxNamespaceType::Network);
    match net.and_then(|n| n.path().clone()) {
        Some(p) => {
            let f = std::fs::File::open(&p)
                .map_err(|e| format!("network namespace {}: {e}", p.display()))?;
            // SAFETY: setns on an fd we opened, before any thread exists.
            if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(format!(
                    "joining network namespace {}: {}",
                    p.display(),
                    std::io::Error::last_os_error()
                ));
            }
        }
        None => {
            // SAFETY: unshare before any thread exists.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(format!(
                    "new network namespace: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
    }
    Ok(())
}

fn setup(
    opts: kernel::Options,
    network: &str,
    overlay: &str,
    args: &BootArgs,
) -> Result<Arc<Boot>, String> {
    // SAFETY: plain process calls on our own process.
    unsafe {
        libc::setsid();
        if let Some(c) = args.console_fd {
            for fd in 0..3 {
                libc::dup2(c, fd);
            }
            if c > 2 {
                libc::close(c);
            }
            libc::ioctl(0, libc::TIOCSCTTY, 0);
        }
    }
    let spec = config::load(&args.bundle)?;
    let mut root = config::root_spec(&spec, &args.bundle)?;
    root.overlay = crate::cmd_do::parse_overlay(overlay)?;
    let process = spec.process().clone().ok_or("config.json has no process")?;
    let hostname = spec.hostname().clone().map(|h| h.into_bytes());
    join_network(&spec, network)?;
    let k = sandbox::start_kernel(opts, hostname)?;
    if let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().clone()) {
        for (key, v) in sysctl {
            kernel::debug!("sysctl {key}={v} accepted, not applied yet");
        }
    }
    if let Some(d) = spec.domainname() {
        *k.domainname.lock().unwrap() = d.clone().into_bytes();
    }
    k.outside
        .protect_init
        .store(true, std::sync::atomic::Ordering::Relaxed);
    kernel::vfs::setup_container_root(&root)?;
    kernel::run::forward_host_signals();
    let dir = Dir {
        path: args.state_dir.clone(),
    };
    let listener = control::listen(&dir.socket()).map_err(|e| format!("control socket: {e}"))?;
    let pspec = config::process_spec(&process, [0, 1, 2], true);
    let init_path = pspec.path.clone();
    let prepared = sandbox::prepare(pspec)?;
    let mut st = dir.load()?;
    // The container's pid on the host: the monitor (crate::confine).
    st.pid = crate::confine::sandbox_pid();
    st.pid_start = state::proc_start(st.pid).map(|s| s.0).unwrap_or(0);
    st.status = "created".into();
    dir.save(&st)?;
    kernel::confine::lockdown()?;
    let boot = Arc::new(Boot {
        dir,
        state: Mutex::new(st),
        init: Mutex::new(Some(prepared)),
        init_path,
        killed_before_start: Mutex::new(None),
        execs: Mutex::new(0),
    });
    let b = boot.clone();
    std::thread::Builder::new()
        .name("control".into())
        .spawn(move || serve(b, listener))
        .map_err(|e| format!("control thread: {e}"))?;
    Ok(boot)
}

fn serve(boot: Arc<Boot>, listener: OwnedFd) {
    loop {
        let Ok(conn) = control::accept(listener.as_raw_fd()) else {
            continue;
        };
        let b = boot.clone();
        let _ = std::thread::Builder::new()
            .name("control-conn".into())
            .spawn(move || handle(&b, conn));
    }
}

fn handle(boot: &Arc<Boot>, conn: OwnedFd) {
    let s = conn.as_raw_fd();
    let Ok(Some((req, fds))) = control::recv::<Request>(s) else {
        return;
    };
    let reply = match req {
        Request::Start => start(boot),
        Request::Kill { signal, all } => kill(boot, signal, all),
        Request::Signal { pid, signal } => match sandbox::kill_pid(pid, signal) {
            Ok(()) => Response::default(),
            Err(e) => Response::err(format!("signal to {pid}: {}", e.name())),
        },
        Request::Ps => Response {
            processes: Some(
                sandbox::processes()
                    .into_iter()
                    .map(|p| ProcEntry {
                        pid: p.pid,
                        ppid: p.ppid,
                        uid: p.uid,
                        start_secs: p.start.as_secs_f64(),
                        cpu_ns: p.cpu_ns,
                        state: p.state,
                        cmd: p.cmd,
                        host_pid: p.host_pid,
                    })
                    .collect(),
            ),
            ..Default::default()
        },
        Request::Pause => match boot.status().as_str() {
            "running" => {
                sandbox::freeze();
                boot.set_status("paused", None);
                Response::default()
            }
            s => Response::err(format!("container is {s}, not running")),
        },
        Request::Resume => match boot.status().as_str() {
            "paused" => {
                sandbox::thaw();
                boot.set_status("running", None);
                Response::default()
            }
            s => Response::err(format!("container is {s}, not paused")),
        },
        Request::Stats => {
            let st = sandbox::stats();
            Response {
                stats: Some(StatsEntry {
                    cpu_user_ns: st.cpu_user_ns,
                    cpu_system_ns: st.cpu_system_ns,
                    memory_bytes: st.memory_bytes,
                    pids: st.pids,
                }),
                ..Default::default()
            }
        }
        Request::Wait => Response {
            status: Some(sandbox::wait_init().wstatus()),
            ..Default::default()
        },
        Request::Exec { process } => return exec(boot, s, &process, fds),
    };
    let _ = control::send(s, &reply, &[]);
}

fn start(boot: &Boot) -> Response {
    let Some(p) = boot.init.lock().unwrap().take() else {
        return Response::err(format!(
            "cannot start a container that is {}",
            boot.status()
        ));
    };
    if let Err(e) = start_hooks(boot) {
        *boot.killed_before_start.lock().unwrap() = Some(ExitStatus::Exited(1));
        p.cancel();
        return Response::err(e);
    }
    boot.set_status("running", None);
    match p.start() {
        Ok(pid) => Response {
            pid: Some(pid),
            ..Default::default()
        },
        Err(e) => Response::err(sandbox::exec_error(&boot.init_path, e)),
    }
}

/// The startContainer hooks: run in the sandbox (the container's namespaces) before init's
/// program, each with the state on its stdin and the container's stdout and stderr.
fn start_hooks(boot: &Boot) -> Result<(), String> {
    let st = boot.state.lock().unwrap().clone();
    let Some(hooks) = &st.hooks else {
        return Ok(());
    };
    let json = st.oci("created");
    for h in hooks.start_container().iter().flatten() {
        let name = h.path().to_string_lossy().into_owned();
        let mut p = [0i32; 2];
        // SAFETY: pipe2 into a local array.
        if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err("startContainer hook: pipe failed".into());
        }
        // SAFETY: fresh fds.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
        let mut argv: Vec<Vec<u8>> = h
            .args()
            .iter()
            .flatten()
            .map(|a| a.as_bytes().to_vec())
            .collect();
        if argv.is_empty() {
            argv.push(name.as_bytes().to_vec());
        }
        let spec = sandbox::ProcessSpec {
            path: name.as_bytes().to_vec(),
            argv,
            env: h
                .env()
                .iter()
                .flatten()
                .map(|e| e.as_bytes().to_vec())
                .collect(),
            cwd: "/".into(),
            creds: kernel::task::Creds::root(),
            umask: 0o022,
            rlimits: Vec::new(),
            no_new_privs: false,
            stdio: [r.as_raw_fd(), 1, 2],
            init: false,
            oom_score_adj: None,
        };
        let pid = sandbox::prepare(spec)
            .and_then(|p| {
                p.start()
                    .map_err(|e| sandbox::exec_error(name.as_bytes(), e))
            })
            .map_err(|e| format!("startContainer hook {name}: {e}"))?;
        drop(r);
        {
            use std::io::Write;
            let mut f = std::fs::File::from(w);
            let _ = f.write_all(json.as_bytes());
        }
        if let Some(t) = h.timeout().filter(|&t| t > 0) {
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(t as u64));
                let _ = sandbox::kill_pid(pid, 9);
            });
        }
        let ws = sandbox::wait_exit(pid).wstatus();
        if ws != 0 {
            return Err(format!(
                "startContainer hook {name} failed (status {})",
                crate::cmd_manage::shell_code(ws)
            ));
        }
    }
    Ok(())
}

fn kill(boot: &Boot, sig: u32, all: bool) -> Response {
    if sig > 64 {
        return Response::err(format!("invalid signal {sig}"));
    }
    // Before start, a fatal signal ends the container; others have nothing to reach.
    let mut init = boot.init.lock().unwrap();
    if let Some(p) = init.take() {
        use kernel::signal::DefaultAction;
        let fatal = sig != 0
            && matches!(
                kernel::signal::default_action(sig),
                DefaultAction::Terminate | DefaultAction::Core
            );
        if fatal {
            *boot.killed_before_start.lock().unwrap() = Some(ExitStatus::Signaled(sig, false));
            p.cancel();
        } else {
            *init = Some(p);
        }
        return Response::default();
    }
    drop(init);
    match sandbox::kill(sig, all) {
        Ok(()) => Response::default(),
        Err(_) => Response::err("container not running"),
    }
}

fn exec(boot: &Boot, s: RawFd, process: &oci_spec::runtime::Process, fds: Vec<OwnedFd>) {
    let fail = |e: String| {
        let _ = control::send(s, &Response::err(e), &[]);
    };
    match boot.status().as_str() {
        "running" => {}
        st => return fail(format!("cannot exec in a {st} container")),
    }
    if let Err(e) = config::check_process(process) {
        return fail(e);
    }
    let mut stdio = [-1; 3];
    for (i, f) in fds.iter().take(3).enumerate() {
        stdio[i] = f.as_raw_fd();
    }
    let spec = config::process_spec(process, stdio, false);
    let path = spec.path.clone();
    let pid = match sandbox::prepare(spec)
        .and_then(|p| p.start().map_err(|e| sandbox::exec_error(&path, e)))
    {
        Ok(pid) => pid,
        Err(e) => return fail(e),
    };
    drop(fds);
    *boot.execs.lock().unwrap() += 1;
    let _ = control::send(
        s,
        &Response {
            pid: Some(pid),
            ..Default::default()
        },
        &[],
    );
    let st = sandbox::wait_exit(pid);
    let _ = control::send(
        s,
        &Response {
            status: Some(st.wstatus()),
            ..Default::default()
        },
        &[],
    );
    *boot.execs.lock().unwrap() -= 1;
}

/// Waits for init to exit, records it, and exits with its status.
fn finish(boot: Arc<Boot>) -> ! {
    let mut st = sandbox::wait_init();
    if let Some(k) = *boot.killed_before_start.lock().unwrap() {
        st = k;
    }
    boot.set_status("stopped", Some(st.wstatus()));
    // Let the other processes die and exec clients hear of it (bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        let procs_left = kernel::kernel()
            .procs
            .lock()
            .unwrap()
            .groups
            .values()
            .any(|g| g.lock().zombie.is_none());
        let execs_left = *boot.execs.lock().unwrap() > 0;
        if !procs_left && !execs_left {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Pages written through shared mappings of host files reach the host.
    kernel::fs::pagecache::sync_all();
    if !kernel::confine::confined() {
        let _ = std::fs::remove_file(boot.dir.socket()); // (else the monitor does)
    }
    exit_like(st)
}

/// Exits the way init did: the same code, or death by the same signal (without a core).
pub fn exit_like(st: ExitStatus) -> ! {
    match st {
        ExitStatus::Exited(c) => std::process::exit(c),
        ExitStatus::Signaled(sig, _) => {
            // SAFETY: plain process calls on our own process, at its end.
            unsafe {
                let r = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &r);
                libc::signal(sig as i32, libc::SIG_DFL);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, sig as i32);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), sig as i32);
            }
            std::process::exit(128 + sig as i32)
        }
    }
}
