//! config.json of an OCI bundle (parsed with oci-spec): loading with clear errors, and
//! the translation of its parts into what the kernel takes (mounts, process specs).

use oci_spec::runtime::{Process, Spec};
use std::path::{Path, PathBuf};

/// Linux's capability names, by number.
const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const RLIMITS: [&str; 16] = [
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CORE",
    "RLIMIT_RSS",
    "RLIMIT_NPROC",
    "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_AS",
    "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
];

/// Reads and checks `bundle`/config.json.
pub fn load(bundle: &Path) -> Result<Spec, String> {
    if !bundle.is_dir() {
        return Err(format!("bundle {}: no such directory", bundle.display()));
    }
    let path = bundle.join("config.json");
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "config.json not found in bundle {}",
                bundle.display()
            ))
        }
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let spec: Spec = serde_json::from_slice(&data)
        .map_err(|e| format!("invalid config.json in {}: {e}", bundle.display()))?;
    check(&spec, bundle)?;
    Ok(spec)
}

fn check(spec: &Spec, bundle: &Path) -> Result<(), String> {
    let v = spec.version();
    let supported = ["1.0.", "1.1.", "1.2."];
    if !supported.iter().any(|p| v.starts_with(p)) {
        return Err(format!(
            "unsupported ociVersion {v:?} in config.json (moat supports 1.0, 1.1 and 1.2)"
        ));
    }
    let Some(p) = spec.process() else {
        return Err("config.json has no process".into());
    };
    check_process(p)?;
    let root = rootfs(spec, bundle)?;
    if !root.is_dir() {
        return Err(format!("root.path {}: no such directory", root.display()));
    }
    for m in spec.mounts().iter().flatten() {
        if !m.destination().is_absolute() {
            return Err(format!(
                "mount destination {} is not an absolute path",
                m.destination().display()
            ));
        }
    }
    Ok(())
}

pub fn check_process(p: &Process) -> Result<(), String> {
    if p.args().as_ref().map(|a| a.is_empty()).unwrap_or(true) {
        return Err("process.args must not be empty".into());
    }
    if !p.cwd().is_absolute() {
        return Err(format!(
            "process.cwd {:?} must be an absolute path",
            p.cwd().display()
        ));
    }
    if let Some(rl) = p.rlimits() {
        for r in rl {
            if r.soft() > r.hard() {
                return Err(format!(
                    "rlimit {}: soft limit above the hard limit",
                    rlimit_name(r)
                ));
            }
        }
    }
    Ok(())
}

fn rlimit_name(r: &oci_spec::runtime::PosixRlimit) -> String {
    serde_json::to_value(r.typ())
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The root file system's host path (relative paths are relative to the bundle).
pub fn rootfs(spec: &Spec, bundle: &Path) -> Result<PathBuf, String> {
    let Some(root) = spec.root() else {
        return Err("config.json has no root".into());
    };
    let p = root.path();
    Ok(if p.is_absolute() {
        p.clone()
    } else {
        bundle.join(p)
    })
}

/// The mount tree the kernel builds for `spec`.
pub fn root_spec(spec: &Spec, bundle: &Path) -> Result<kernel::vfs::RootSpec, String> {
    let root = rootfs(spec, bundle)?;
    let mut mounts = Vec::new();
    for m in spec.mounts().iter().flatten() {
        let opts = m.options().clone().unwrap_or_default();
        let kind = m.typ().clone().unwrap_or_else(|| {
            if opts.iter().any(|o| o == "bind" || o == "rbind") {
                "bind".into()
            } else {
                "none".into()
            }
        });
        let mut source = m
            .source()
            .as_ref()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_bind = kind == "bind" || opts.iter().any(|o| o == "bind" || o == "rbind");
        if is_bind && !source.starts_with('/') {
            source = bundle.join(&source).to_string_lossy().into_owned();
        }
        mounts.push(kernel::vfs::MountSpec {
            dest: m.destination().to_string_lossy().into_owned(),
            kind,
            source,
            options: opts,
        });
    }
    let linux = spec.linux().as_ref();
    Ok(kernel::vfs::RootSpec {
        path: root.to_string_lossy().into_owned(),
        readonly: spec
            .root()
            .as_ref()
            .and_then(|r| r.readonly())
            .unwrap_or(false),
        mounts,
        masked_paths: linux
            .and_then(|l| l.masked_paths().clone())
            .unwrap_or_default(),
        readonly_paths: linux
            .and_then(|l| l.readonly_paths().clone())
            .unwrap_or_default(),
        overlay: None,
    })
}

fn cap_mask(set: &Option<oci_spec::runtime::Capabilities>) -> u64 {
    let mut m = 0u64;
    for c in set.iter().flatten() {
        let name = serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if let Some(i) = CAPS.iter().position(|&n| n == name) {
            m |= 1 << i;
        }
    }
    m
}

/// The kernel's description of a process from the configuration's `process`.
pub fn process_spec(p: &Process, stdio: [i32; 3], init: bool) -> kernel::sandbox::ProcessSpec {
    let u = p.user();
    let caps = p.capabilities().as_ref();
    let mut creds = kernel::task::Creds {
        uid: u.uid(),
        euid: u.uid(),
        suid: u.uid(),
        fsuid: u.uid(),
        gid: u.gid(),
        egid: u.gid(),
        sgid: u.gid(),
        fsgid: u.gid(),
        groups: u.additional_gids().clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(c) = caps {
        creds.cap_bounding = cap_mask(c.bounding());
        creds.cap_effective = cap_mask(c.effective());
        creds.cap_permitted = cap_mask(c.permitted());
        creds.cap_inheritable = cap_mask(c.inheritable());
        creds.cap_ambient = cap_mask(c.ambient());
    }
    let mut rlimits = Vec::new();
    for r in p.rlimits().iter().flatten() {
        if let Some(i) = RLIMITS.iter().position(|&n| n == rlimit_name(r)) {
            rlimits.push((i as u32, r.soft(), r.hard()));
        }
    }
    let args: Vec<Vec<u8>> = p
        .args()
        .iter()
        .flatten()
        .map(|a| a.as_bytes().to_vec())
        .collect();
    kernel::sandbox::ProcessSpec {
        path: args.first().cloned().unwrap_or_default(),
        argv: args,
        env: p
            .env()
            .iter()
            .flatten()
            .map(|e| e.as_bytes().to_vec())
            .collect(),
        cwd: p.cwd().to_string_lossy().into_owned(),
        creds,
        umask: u.umask().unwrap_or(0o022),
        rlimits,
        no_new_privs: p.no_new_privileges().unwrap_or(false),
        stdio,
        init,
        oom_score_adj: p.oom_score_adj(),
    }
}

/// The name a signal is given by (TERM, SIGTERM, 15).
pub fn parse_signal(s: &str) -> Result<u32, String> {
    if let Ok(n) = s.parse::<u32>() {
        if n <= 64 {
            return Ok(n);
        }
        return Err(format!("invalid signal {s:?}"));
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    const NAMES: [&str; 32] = [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
        "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU",
        "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ];
    if let Some(i) = NAMES.iter().position(|&n| !n.is_empty() && n == name) {
        return Ok(i as u32);
    }
    match name {
        "IOT" => return Ok(6),
        "CLD" => return Ok(17),
        "POLL" => return Ok(29),
        _ => {}
    }
    if let Some(rest) = name.strip_prefix("RTMIN") {
        let off: u32 = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('+')
                .and_then(|r| r.parse().ok())
                .unwrap_or(99)
        };
        if 34 + off <= 64 {
            return Ok(34 + off);
        }
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        let off: u32 = if rest.is_empty() {
            0
        } else {
            rest.strip_prefix('-')
                .and_then(|r| r.parse().ok())
                .unwrap_or(99)
        };
        if off <= 30 {
            return Ok(64 - off);
        }
    }
    Err(format!("invalid signal {s:?}"))
}
