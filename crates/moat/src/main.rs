//! The moat command line: one module per command.

mod cmd_do;

use clap::{Parser, Subcommand};

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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a host command in a sandbox whose root is the host's root under an overlay.
    Do(cmd_do::DoArgs),
    /// Print the support status of every syscall (docs/compatibility.md).
    Syscalls,
}

fn main() {
    let cli = Cli::parse();
    let opts = kernel::Options {
        strace: cli.strace,
        debug: cli.debug || cli.debug_log.is_some(),
        debug_log: cli.debug_log.clone(),
        root: Default::default(),
    };
    let code = match cli.command {
        Command::Do(args) => {
            install_panic_hook();
            cmd_do::run(opts, args)
        }
        Command::Syscalls => {
            print!("{}", kernel::syscalls::compat_markdown());
            0
        }
    };
    std::process::exit(code);
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
