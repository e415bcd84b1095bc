//! The moat command line: runc's commands (an OCI runtime), `do`, and `syscalls`.

mod boot;
mod cmd_create;
mod cmd_do;
mod cmd_exec;
mod cmd_manage;
mod cmd_spec;
mod config;
mod console;
mod control;
mod fdpass;
mod hooks;
mod rootfs;
mod signals;
mod state;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "moat",
    version,
    about = "moat: a secure container runtime with a userspace kernel"
)]
pub struct Cli {
    /// Write a debug log (to --debug-log, else stderr).
    #[arg(long, global = true)]
    debug: bool,
    /// Where the debug log goes.
    #[arg(long, global = true, value_name = "PATH")]
    debug_log: Option<String>,
    /// Print every system call of the application, as strace does.
    #[arg(long, global = true)]
    strace: bool,
    /// Directory of the containers' state.
    #[arg(long, global = true, value_name = "DIR", default_value = "/run/moat")]
    root: PathBuf,
    /// Where errors and warnings are logged (besides stderr).
    #[arg(long, global = true, value_name = "PATH")]
    log: Option<PathBuf>,
    /// text or json.
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text")]
    log_format: String,
    /// none or host (the sandbox's own network stack comes later).
    #[arg(long, global = true, value_name = "MODE", default_value = "none")]
    network: String,
    /// Accepted (cgroups come later).
    #[arg(long, global = true)]
    systemd_cgroup: bool,
    /// The root file system's writable layer: an overlay whose changes stay in memory
    /// (root:memory, the default) or go to a host directory (root:dir=PATH); or none: the
    /// root itself (`do`: the host's root read-only; containers: the bundle's root,
    /// writable unless root.readonly).
    #[arg(
        long,
        global = true,
        value_name = "root:memory|root:dir=PATH|none",
        default_value = "root:memory"
    )]
    overlay: String,
    /// Accepted for runc compatibility.
    #[arg(long, global = true, value_name = "VALUE", num_args = 0..=1, default_missing_value = "true")]
    rootless: Option<String>,
    /// Accepted for runc compatibility.
    #[arg(long, global = true, value_name = "PATH")]
    criu: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a host command in a sandbox whose root is the host's root under an overlay.
    Do(cmd_do::DoArgs),
    /// Print the support status of every syscall (docs/compatibility.md).
    Syscalls,
    /// Create a container from a bundle (init waits for `start`).
    Create(cmd_create::CreateArgs),
    /// Start a created container's init.
    Start { id: String },
    /// Create and start a container; wait for it unless --detach.
    Run(cmd_create::RunArgs),
    /// Print a container's OCI state.
    State { id: String },
    /// Send a signal to a container's init (or every process with --all).
    Kill {
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Delete a stopped container (--force: whatever its state).
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// List containers.
    List {
        #[arg(short, long, default_value = "table")]
        format: String,
        #[arg(short, long)]
        quiet: bool,
    },
    /// List the processes of a container.
    Ps {
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
        /// ps options (accepted; moat prints its own columns).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Run a process in a running container.
    Exec(cmd_exec::ExecArgs),
    /// Suspend every process of a container.
    Pause { id: String },
    /// Resume a paused container.
    Resume { id: String },
    /// Wait for a container to stop; print and exit with its status.
    Wait { id: String },
    /// Print resource statistics of a container (runc's event JSON).
    Events {
        /// One set of statistics, then exit.
        #[arg(long)]
        stats: bool,
        /// Seconds between statistics.
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    /// Write a default config.json.
    Spec {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        /// Accepted for runc compatibility.
        #[arg(long = "rootless", id = "spec_rootless")]
        spec_rootless: bool,
    },
    /// Change a container's resources (accepted; enforced once cgroups come).
    Update {
        #[arg(short = 'r', long)]
        resources: Option<String>,
        id: String,
    },
    /// The sandbox process of a container (internal; started by create).
    #[command(hide = true)]
    Boot(boot::BootArgs),
}

/// What every command needs of the global flags.
pub struct Global {
    pub root: PathBuf,
    pub opts: kernel::Options,
    log: Option<PathBuf>,
    log_json: bool,
    debug_args: Vec<String>,
    /// --network: none or host.
    pub network: String,
    /// --overlay, as given.
    pub overlay: String,
}

impl Global {
    /// The global flags a sandbox process is started with.
    pub fn boot_args(&self) -> Vec<String> {
        let mut v = vec![
            "--root".to_string(),
            self.root.to_string_lossy().into_owned(),
        ];
        v.extend(self.debug_args.iter().cloned());
        if let Some(l) = &self.log {
            v.push("--log".into());
            v.push(l.to_string_lossy().into_owned());
            v.push("--log-format".into());
            v.push(if self.log_json { "json" } else { "text" }.into());
        }
        v
    }
}

fn log_line(g: &Global, level: &str, msg: &str) {
    let Some(p) = &g.log else { return };
    let time = state::now_rfc3339();
    let line = if g.log_json {
        serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
    } else {
        format!("time={time:?} level={level} msg={msg:?}")
    };
    use std::io::Write;
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
    {
        let _ = writeln!(f, "{line}");
    }
}

pub fn log_warn(g: &Global, msg: &str) {
    eprintln!("moat: warning: {msg}");
    log_line(g, "warning", msg);
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num.parse().map_err(|_| format!("invalid interval {s:?}"))?;
    let secs = match unit {
        "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        _ => return Err(format!("invalid interval {s:?}")),
    };
    if !(secs > 0.0 && secs < 1e6) {
        return Err(format!("invalid interval {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() {
    let cli = Cli::parse();
    let mut debug_args = Vec::new();
    if cli.debug {
        debug_args.push("--debug".into());
    }
    if let Some(p) = &cli.debug_log {
        debug_args.push("--debug-log".into());
        debug_args.push(p.clone());
    }
    if cli.strace {
        debug_args.push("--strace".into());
    }
    let g = Global {
        root: cli.root.clone(),
        opts: kernel::Options {
            strace: cli.strace,
            debug: cli.debug || cli.debug_log.is_some(),
            debug_log: cli.debug_log.clone(),
            root: Default::default(),
        },
        log: cli.log.clone(),
        log_json: cli.log_format == "json",
        debug_args,
        network: cli.network.clone(),
        overlay: cli.overlay.clone(),
    };
    if cli.log_format != "text" && cli.log_format != "json" {
        fail(
            &g,
            format!("invalid --log-format {:?} (text or json)", cli.log_format),
        );
    }
    if cli.network != "none" && cli.network != "host" {
        fail(
            &g,
            format!(
                "--network={} is not supported yet (none or host)",
                cli.network
            ),
        );
    }
    let r = match cli.command {
        Command::Do(args) => {
            install_panic_hook();
            Ok(cmd_do::run(g.opts.clone(), &g.overlay, args))
        }
        Command::Syscalls => {
            print!("{}", kernel::syscalls::compat_markdown());
            Ok(0)
        }
        Command::Boot(args) => {
            install_panic_hook();
            boot::run(g.opts.clone(), &g.network, &g.overlay, args)
        }
        Command::Create(a) => cmd_create::create(&g, &a),
        Command::Start { id } => cmd_create::start(&g, &id),
        Command::Run(a) => cmd_create::run(&g, &a),
        Command::State { id } => cmd_manage::state_cmd(&g, &id),
        Command::Kill { all, id, signal } => cmd_manage::kill(&g, &id, &signal, all),
        Command::Delete { force, id } => cmd_manage::delete(&g, &id, force),
        Command::List { format, quiet } => cmd_manage::list(&g, &format, quiet),
        Command::Ps { format, id, .. } => cmd_manage::ps(&g, &id, &format),
        Command::Exec(a) => cmd_exec::exec(&g, &a),
        Command::Pause { id } => cmd_manage::pause(&g, &id, false),
        Command::Resume { id } => cmd_manage::pause(&g, &id, true),
        Command::Wait { id } => cmd_manage::wait(&g, &id),
        Command::Events {
            stats,
            interval,
            id,
        } => parse_interval(&interval).and_then(|iv| cmd_manage::events(&g, &id, stats, iv)),
        Command::Spec { bundle, .. } => cmd_spec::spec(&bundle),
        Command::Update { resources, id } => cmd_manage::update(&g, &id, resources.as_deref()),
    };
    match r {
        Ok(code) => std::process::exit(code),
        Err(e) => fail(&g, e),
    }
}

/// One clear line on stderr (and in the log), exit status 1.
fn fail(g: &Global, msg: String) -> ! {
    eprintln!("moat: {msg}");
    log_line(g, "error", &msg);
    std::process::exit(1);
}

/// A kernel panic ends the whole sandbox: it is logged with its backtrace, and exiting the
/// process kills every stub (they are traced with PTRACE_O_EXITKILL and the master stub
/// has a parent-death signal), so nothing is left behind.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let bt = std::backtrace::Backtrace::force_capture();
        let msg = format!("moat: kernel panic: {info}\n{bt}");
        kernel::debug_log(format_args!("{msg}"));
        eprintln!("{msg}");
        std::process::exit(125);
    }));
}
