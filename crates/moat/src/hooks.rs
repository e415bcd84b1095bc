//! OCI hooks run on the host (startContainer hooks run inside the sandbox: boot.rs): programs run at points of the lifecycle with the container's state
//! JSON on stdin, each bounded by its timeout (runtime-spec "POSIX-platform Hooks").

use oci_spec::runtime::{Hook, Hooks};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub enum Stage {
    Prestart,
    CreateRuntime,
    CreateContainer,
    Poststart,
    Poststop,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Prestart => "prestart",
            Stage::CreateRuntime => "createRuntime",
            Stage::CreateContainer => "createContainer",
            Stage::Poststart => "poststart",
            Stage::Poststop => "poststop",
        }
    }
}

fn of(h: &Hooks, s: Stage) -> Vec<Hook> {
    #[allow(deprecated)]
    let v = match s {
        Stage::Prestart => h.prestart(),
        Stage::CreateRuntime => h.create_runtime(),
        Stage::CreateContainer => h.create_container(),
        Stage::Poststart => h.poststart(),
        Stage::Poststop => h.poststop(),
    };
    v.clone().unwrap_or_default()
}

/// Runs the hooks of `stage` in order; the first failure stops them and is returned.
pub fn run(hooks: &Option<Hooks>, stage: Stage, state_json: &str) -> Result<(), String> {
    let Some(h) = hooks else { return Ok(()) };
    for hook in of(h, stage) {
        run_one(&hook, state_json)
            .map_err(|e| format!("{} hook {}: {e}", stage.name(), hook.path().display()))?;
    }
    Ok(())
}

fn run_one(hook: &Hook, state_json: &str) -> Result<(), String> {
    let mut cmd = Command::new(hook.path());
    if let Some(args) = hook.args() {
        if let Some((a0, rest)) = args.split_first() {
            cmd.arg0(a0).args(rest);
        }
    }
    cmd.env_clear();
    for e in hook.env().iter().flatten() {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine (EPIPE ignored).
        let _ = stdin.write_all(state_json.as_bytes());
    }
    let deadline = hook
        .timeout()
        .filter(|&t| t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(st) => {
                if st.success() {
                    return Ok(());
                }
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                let err = err.trim();
                return Err(if err.is_empty() {
                    format!("{st}")
                } else {
                    format!("{st}: {err}")
                });
            }
            None => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("timed out".into());
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}
