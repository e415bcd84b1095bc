//! `moat do CMD [ARGS...]`: sandbox a host command with no bundle (like `runsc do`).

use clap::Args;
use kernel::fs::overlay::Upper;
use kernel::vfs::{FsSpec, Volume};
use std::os::unix::ffi::OsStrExt;

#[derive(Args)]
pub struct DoArgs {
    /// Bind a host directory or file into the sandbox, writable unless :ro (repeatable;
    /// GUEST is created if missing).
    #[arg(long = "volume", short = 'v', value_name = "HOST:GUEST[:ro]")]
    volumes: Vec<String>,
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

/// The root file system named by --overlay.
pub fn parse_overlay(s: &str) -> Result<Option<Upper>, String> {
    match s {
        "none" => Ok(None),
        "root:memory" => Ok(Some(Upper::Memory)),
        _ => match s.strip_prefix("root:dir=") {
            Some(p) if !p.is_empty() => Ok(Some(Upper::Dir(p.to_string()))),
            _ => Err(format!(
                "--overlay={s}: expected root:memory, root:dir=PATH or none"
            )),
        },
    }
}

/// A --volume HOST:GUEST[:ro] argument.
fn parse_volume(s: &str) -> Result<Volume, String> {
    let (rest, readonly) = match s.strip_suffix(":ro") {
        Some(r) => (r, true),
        None => (s.strip_suffix(":rw").unwrap_or(s), false),
    };
    match rest.split_once(':') {
        Some((h, g)) if !h.is_empty() && g.starts_with('/') && g.trim_matches('/') != "" => {
            let host = std::fs::canonicalize(h).map_err(|e| format!("--volume {s}: {h}: {e}"))?;
            Ok(Volume {
                host: host.to_string_lossy().into_owned(),
                guest: g.to_string(),
                readonly,
            })
        }
        _ => Err(format!(
            "--volume {s}: expected HOST:GUEST[:ro] with an absolute GUEST"
        )),
    }
}

/// `overlay`: the global --overlay (the host's root under an overlay whose changes stay in
/// memory, root:memory, or go to a host directory, root:dir=PATH; or read-only, none).
pub fn run(mut opts: kernel::Options, overlay: &str, args: DoArgs) -> i32 {
    let spec = parse_overlay(overlay).and_then(|overlay| {
        let volumes = args
            .volumes
            .iter()
            .map(|v| parse_volume(v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FsSpec { overlay, volumes })
    });
    match spec {
        Ok(s) => opts.root = s,
        Err(e) => {
            eprintln!("moat: {e}");
            return 125;
        }
    }
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
        // Dying of the command's signal lets a shell see its job killed by it (and print
        // what it prints for ^C or ^\).
        Ok(st @ kernel::task::ExitStatus::Signaled(..)) => crate::boot::exit_like(st),
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
