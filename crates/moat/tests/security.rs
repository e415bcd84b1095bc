//! The sandbox boundary checked from outside (docs/security.md): while a `moat do` and a
//! container sleep, their kernel process and stubs are inspected through the host's
//! /proc; a forbidden host call (test hook) kills the kernel with SIGSYS and leaves
//! nothing behind.

#[allow(dead_code)]
mod common;

use common::MOAT;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The capabilities the kernel may keep (kernel::confine::RUNTIME_CAPS).
const RUNTIME_CAPS: u64 = 0x1f;

/// Kills a process tree's root when the test ends (the sandbox dies with its monitor).
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn field(status_path: &Path, key: &str) -> String {
    let s = std::fs::read_to_string(status_path).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(':')))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn hex(status_path: &Path, key: &str) -> u64 {
    u64::from_str_radix(&field(status_path, key), 16).expect("hex capability field")
}

/// Waits (bounded) for `f` to hold.
fn wait_for(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(20), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The kernel process: the monitor's only child.
fn kernel_of(monitor: i32) -> i32 {
    let p = format!("/proc/{monitor}/task/{monitor}/children");
    wait_for("the kernel process", || {
        !std::fs::read_to_string(&p)
            .unwrap_or_default()
            .trim()
            .is_empty()
    });
    std::fs::read_to_string(&p)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn ns(pid: i32, kind: &str) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap()
}

/// The other processes of the kernel's pid namespace (the stubs).
fn stubs_of(kernel: i32) -> Vec<i32> {
    let want = ns(kernel, "pid");
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid != kernel && std::fs::read_link(e.path().join("ns/pid")).ok() == Some(want.clone()) {
            v.push(pid);
        }
    }
    v
}

fn root_is_empty(pid: i32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/root"))
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

/// The kernel process of a sandbox, checked from outside. `own_net`: it must be in a
/// network namespace of its own (containers with --network=none).
fn check_kernel(k: i32, own_net: bool) {
    let me = std::process::id() as i32;
    for t in std::fs::read_dir(format!("/proc/{k}/task"))
        .unwrap()
        .flatten()
    {
        let st = t.path().join("status");
        let name = field(&st, "Name");
        assert_eq!(field(&st, "Seccomp"), "2", "thread {name}: seccomp");
        assert_eq!(field(&st, "NoNewPrivs"), "1", "thread {name}: no_new_privs");
        for key in ["CapEff", "CapPrm", "CapBnd"] {
            let v = hex(&st, key);
            assert_eq!(v & !RUNTIME_CAPS, 0, "thread {name}: {key} {v:#x}");
        }
        assert_eq!(hex(&st, "CapInh"), 0, "thread {name}: CapInh");
        assert_eq!(hex(&st, "CapAmb"), 0, "thread {name}: CapAmb");
    }
    let st = PathBuf::from(format!("/proc/{k}/status"));
    assert_eq!(
        field(&st, "NSpid").split_whitespace().last(),
        Some("1"),
        "the kernel is pid 1 of its namespace"
    );
    for kind in ["pid", "mnt", "ipc", "uts"] {
        assert_ne!(ns(k, kind), ns(me, kind), "{kind} namespace");
    }
    assert_eq!(ns(k, "net") != ns(me, "net"), own_net, "network namespace");
    assert!(root_is_empty(k), "the kernel's root is not empty");
    check_fds(k);
}

/// Every fd of the kernel is of a kind docs/security.md lists.
fn check_fds(k: i32) {
    let mut sockets = 0;
    for e in std::fs::read_dir(format!("/proc/{k}/fd"))
        .unwrap()
        .flatten()
    {
        let n: i32 = e.file_name().to_str().unwrap().parse().unwrap();
        let Ok(link) = std::fs::read_link(e.path()) else {
            continue; // closed meanwhile
        };
        let link = link.to_string_lossy().into_owned();
        let info = std::fs::read_to_string(format!("/proc/{k}/fdinfo/{n}")).unwrap_or_default();
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 8).ok())
            .unwrap_or(0);
        let o_path = flags & libc::O_PATH as u64 != 0;
        let is_file = std::fs::metadata(e.path())
            .map(|m| m.is_file())
            .unwrap_or(false);
        let ok = n <= 2
            || link == "/memfd:moat-memory (deleted)"
            || link == "anon_inode:[eventfd]"
            || link == "anon_inode:[eventpoll]"
            || link == "anon_inode:[timerfd]"
            || o_path
            || (is_file && flags & libc::O_ACCMODE as u64 != libc::O_WRONLY as u64)
            || link.starts_with("/dev/")
            || link.starts_with("pipe:[")
            || link.starts_with("socket:[") && {
                sockets += 1;
                true
            };
        assert!(
            ok,
            "fd {n} -> {link} (flags {flags:o}) is not a documented kind"
        );
    }
    assert!(sockets >= 1, "the channel to the monitor");
}

/// The stubs: no capabilities, no_new_privs, the stub filter, traced, empty root. A stub
/// that goes meanwhile (an address space replaced by exec) is passed over.
fn check_stubs(k: i32) {
    let mut checked = 0;
    for p in stubs_of(k) {
        let st = PathBuf::from(format!("/proc/{p}/status"));
        let Ok(text) = std::fs::read_to_string(&st) else {
            continue;
        };
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(':')))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        for key in ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] {
            assert_eq!(u64::from_str_radix(&get(key), 16), Ok(0), "stub {p}: {key}");
        }
        assert_eq!(get("NoNewPrivs"), "1", "stub {p}");
        assert_eq!(get("Seccomp"), "2", "stub {p}");
        // Every syscall of a stub is trapped: traced (PTRACE_SYSEMU) or, for a stub just
        // forked and not yet seized, caught by the stub filter.
        assert!(
            get("TracerPid") != "0" || get("Seccomp") == "2",
            "stub {p} is neither traced nor filtered"
        );
        assert!(root_is_empty(p) || gone(p), "stub {p}: root not empty");
        checked += 1;
    }
    assert!(checked >= 2, "the master stub and the application's");
}

/// Reads lines of `r` until one equals `want`.
fn read_until(r: &mut impl BufRead, want: &str) {
    let mut l = String::new();
    loop {
        l.clear();
        assert!(r.read_line(&mut l).unwrap() > 0, "no {want:?} line");
        if l.trim_end() == want {
            return;
        }
    }
}

#[test]
fn do_kernel_and_stubs_are_confined() {
    let mut c = Command::new(MOAT)
        .args(["do", "--", "/bin/sh", "-c", "echo ready; sleep 100"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(c.stdout.take().unwrap());
    let g = Reap(c);
    read_until(&mut out, "ready");
    let k = kernel_of(g.0.id() as i32);
    check_kernel(k, false);
    wait_for("the application's stubs", || stubs_of(k).len() >= 2);
    check_stubs(k);
}

/// A bundle of busybox running `script`.
struct Bundle {
    dir: PathBuf,
    root: PathBuf,
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn bundle(tag: &str, script: &str) -> Bundle {
    let dir = common::fresh_dir(&format!("security-{tag}"));
    let root = common::fresh_dir(&format!("security-{tag}-state"));
    let rootfs = dir.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    for d in ["proc", "dev", "sys", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("busybox-static");
    for a in ["sh", "sleep", "sync", "echo"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    let o = Command::new(MOAT)
        .args(["spec", "--bundle"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success());
    let p = dir.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v["process"]["terminal"] = serde_json::json!(false);
    v["process"]["args"] = serde_json::json!(["sh", "-c", script]);
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    Bundle { dir, root }
}

impl Bundle {
    fn moat(&self) -> Command {
        let mut c = Command::new(MOAT);
        c.arg("--root").arg(&self.root);
        c.stdin(Stdio::null());
        c
    }

    /// `run --detach ID`; returns the container's stdout.
    fn run_detached(&self, id: &str, env: &[(&str, &str)], log: &Path) -> impl BufRead {
        let mut c = self.moat();
        c.arg("--log").arg(log);
        c.args(["run", "--detach", "--bundle"])
            .arg(&self.dir)
            .arg(id);
        c.envs(env.iter().copied());
        c.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut ch = c.spawn().unwrap();
        let out = BufReader::new(ch.stdout.take().unwrap());
        assert!(ch.wait().unwrap().success(), "run --detach");
        out
    }

    fn state(&self, id: &str) -> serde_json::Value {
        let o = self.moat().args(["state", id]).output().unwrap();
        assert!(o.status.success(), "state {id}");
        serde_json::from_slice(&o.stdout).unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.moat().args(args).output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s
            .rsplit(')')
            .next()
            .map(|r| r.trim_start().starts_with('Z'))
            .unwrap_or(true),
    }
}

#[test]
fn container_kernel_and_stubs_are_confined() {
    let b = bundle("confined", "echo ready; sleep 100");
    let id = format!("confined-{}", std::process::id());
    let log = b.root.join("log.json");
    let mut out = b.run_detached(&id, &[], &log);
    read_until(&mut out, "ready");
    let monitor = b.state(&id)["pid"].as_i64().unwrap() as i32;
    let k = kernel_of(monitor);
    check_kernel(k, true);
    wait_for("the application's stub", || stubs_of(k).len() >= 2);
    check_stubs(k);
    // `ps` reports host pids: those of the application's stubs.
    let pids: Vec<i32> = serde_json::from_str(&b.ok(&["ps", "--format", "json", &id])).unwrap();
    let stubs = stubs_of(k);
    assert!(
        !pids.is_empty() && pids.iter().all(|p| stubs.contains(p)),
        "ps {pids:?}, stubs {stubs:?}"
    );
    b.ok(&["delete", "--force", &id]);
    wait_for("the sandbox's processes to go", || {
        gone(monitor) && gone(k) && stubs.iter().all(|&p| gone(p))
    });
}

#[test]
fn forbidden_host_call_kills_a_do_sandbox() {
    let dir = common::fresh_dir("security-do-sigsys");
    let log = dir.join("log");
    let o = Command::new(MOAT)
        .arg("--log")
        .arg(&log)
        .args(["do", "--", "/bin/sh", "-c", "echo before; sync; echo after"])
        .env("MOAT_TEST_FORBIDDEN_HOST_CALL", libc::SYS_sync.to_string())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), Some(libc::SIGSYS), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "before\n");
    let msg = "sandbox killed by seccomp (SIGSYS)";
    assert!(String::from_utf8_lossy(&o.stderr).contains(msg), "{o:?}");
    assert!(std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains(msg));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn forbidden_host_call_stops_the_container() {
    let b = bundle("sigsys", "echo ready; sleep 100");
    let id = format!("sigsys-{}", std::process::id());
    let log = b.root.join("log.json");
    let nr = libc::SYS_sync.to_string();
    let mut out = b.run_detached(&id, &[("MOAT_TEST_FORBIDDEN_HOST_CALL", &nr)], &log);
    read_until(&mut out, "ready");
    let monitor = b.state(&id)["pid"].as_i64().unwrap() as i32;
    let k = kernel_of(monitor);
    let stubs = stubs_of(k);
    let o = b.moat().args(["exec", &id, "sync"]).output().unwrap();
    assert!(!o.status.success(), "exec sync survived the kernel");
    wait_for("the container to stop", || {
        b.state(&id)["status"].as_str() == Some("stopped")
    });
    assert!(std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("sandbox killed by seccomp (SIGSYS)"));
    b.ok(&["delete", &id]);
    let o = b.moat().args(["state", &id]).output().unwrap();
    assert!(!o.status.success(), "the container is gone");
    wait_for("the sandbox's processes to go", || {
        gone(monitor) && gone(k) && stubs.iter().all(|&p| gone(p))
    });
    assert!(!b.root.join(&id).exists(), "state directory left behind");
}
