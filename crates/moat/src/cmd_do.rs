//! `moat do CMD [ARGS...]`: sandbox a host command with no bundle (like `runsc do`).

use clap::Args;
use std::os::unix::ffi::OsStrExt;

#[derive(Args)]
pub struct DoArgs {
    /// The command and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    cmd: Vec<std::ffi::OsString>,
}

/// Finds `cmd` on PATH as a shell would (the sandbox sees the host's root file system).
fn lookup(cmd: &[u8]) -> Option<Vec<u8>> {
    if cmd.contains(&b'/') {
        return Some(cmd.to_vec());
    }
    if cmd.is_empty() {
        return None;
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    // Like a shell: the first executable file wins; failing that, the first file found
    // (whose exec then fails with EACCES, status 126).
    let mut first_file = None;
    for dir in path.as_bytes().split(|&c| c == b':') {
        let dir = if dir.is_empty() { b"." as &[u8] } else { dir };
        let mut p = dir.to_vec();
        p.push(b'/');
        p.extend_from_slice(cmd);
        let Ok(cp) = std::ffi::CString::new(p.clone()) else {
            continue;
        };
        let is_file = std::fs::metadata(std::ffi::OsStr::from_bytes(&p))
            .map(|m| m.is_file())
            .unwrap_or(false);
        if !is_file {
            continue;
        }
        // SAFETY: valid C string.
        if unsafe { libc::access(cp.as_ptr(), libc::X_OK) } == 0 {
            return Some(p);
        }
        first_file.get_or_insert(p);
    }
    first_file
}

/// The sandboxed command died of signal `sig`: moat dies of it too, so that a shell
/// sees its job killed by the signal (and prints what it prints for ^C or ^\). No core
/// file of moat itself is written. Returns the shell-style status if it cannot.
fn die_of(sig: u32) -> i32 {
    let code = 128 + sig as i32;
    // SAFETY: plain host calls on our own process before it ends.
    unsafe {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &none);
        let s = sig as i32;
        if libc::signal(s, libc::SIG_DFL) == libc::SIG_ERR {
            return code;
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, s);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), s);
    }
    code
}

pub fn run(opts: kernel::Options, args: DoArgs) -> i32 {
    let argv: Vec<Vec<u8>> = args.cmd.iter().map(|a| a.as_bytes().to_vec()).collect();
    let name = String::from_utf8_lossy(&argv[0]).into_owned();
    let Some(path) = lookup(&argv[0]) else {
        eprintln!("moat: {name}: command not found");
        return 127;
    };
    let envp: Vec<Vec<u8>> = std::env::vars_os()
        .map(|(k, v)| {
            let mut e = k.as_bytes().to_vec();
            e.push(b'=');
            e.extend_from_slice(v.as_bytes());
            e
        })
        .collect();
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/".into());
    match kernel::run::run_do(opts, &path, argv, envp, &cwd) {
        Ok(kernel::task::ExitStatus::Exited(c)) => c,
        Ok(kernel::task::ExitStatus::Signaled(s, _)) => die_of(s),
        Err(e) => {
            if let Some(num) = e.strip_prefix("exec:") {
                let errno: i32 = num.parse().unwrap_or(0);
                let msg = std::io::Error::from_raw_os_error(errno);
                let text = msg.to_string();
                let text = text.split(" (os error").next().unwrap_or(&text).to_string();
                eprintln!("moat: {name}: {text}");
                return if errno == libc::ENOENT { 127 } else { 126 };
            }
            eprintln!("moat: {e}");
            125
        }
    }
}
