//! Shared code of moat's differential integration tests.
//!
//! A test runs the same command natively and under `moat do`, and compares
//! stdout, stderr and the exit status (as a shell reports it: the exit code,
//! or 128+N for a death by signal N). Linux is the oracle.
//!
//! - [`Cmd`] describes a command (argv, stdin, env, cwd, timeout);
//!   [`Cmd::native`] and [`Cmd::moat`] run it; [`Cmd::diff`] runs both and
//!   asserts that they agree.
//! - [`c_prog`] compiles `tests/c/NAME.c` once per test run (cached by mtime)
//!   as a static, static-PIE or dynamic executable; [`diff_c`] runs one case
//!   of such a program both ways. The macro `c_cases!` makes one `#[test]`
//!   per case.
//! - Every run has a timeout (60 s unless the test says otherwise;
//!   `MOAT_TEST_TIMEOUT=SECS` overrides): on expiry the whole process tree is
//!   killed and the test fails. Nothing here sleeps to wait.
//! - `MOAT_TEST_WRAPPER="runsc --network=none do"` (any prefix) replaces
//!   `moat do` as the sandbox under test, e.g. to check the suite against
//!   gVisor, or `MOAT_TEST_WRAPPER=env` to check the harness itself natively.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// The moat binary built by cargo for these tests.
pub const MOAT: &str = env!("CARGO_BIN_EXE_moat");

/// Default per-run timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the output pipes may stay open after the process exited (a
/// process left behind that still holds them is an error).
const PIPE_GRACE: Duration = Duration::from_secs(10);

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Run {
    /// What ran, for messages.
    pub what: String,
    /// Exit status as a shell reports it: code, or 128 + signal.
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The timeout expired and the process tree was killed.
    pub timed_out: bool,
    /// The process exited but something kept its stdout/stderr open.
    pub pipes_held: bool,
    pub elapsed: Duration,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    /// Panics with the whole run described unless it exited with `status`.
    pub fn expect_status(&self, status: i32) -> &Self {
        self.expect_finished();
        if self.status != status {
            panic!(
                "{}: exit status {} (want {})\n{}",
                self.what,
                self.status,
                status,
                self.describe()
            );
        }
        self
    }
    /// Panics if the run timed out or left processes behind.
    pub fn expect_finished(&self) -> &Self {
        if self.timed_out {
            panic!(
                "{}: timed out after {:?}; killed\n{}",
                self.what,
                self.elapsed,
                self.describe()
            );
        }
        if self.pipes_held {
            panic!(
                "{}: exited (status {}) but its stdout/stderr stayed open: a process was left behind\n{}",
                self.what,
                self.status,
                self.describe()
            );
        }
        self
    }
    pub fn describe(&self) -> String {
        format!(
            "--- status: {}{}\n--- stdout ({} bytes):\n{}\n--- stderr ({} bytes):\n{}",
            self.status,
            if self.timed_out { " (timed out)" } else { "" },
            self.stdout.len(),
            clip(&self.stdout),
            self.stderr.len(),
            clip(&self.stderr)
        )
    }
}

fn clip(b: &[u8]) -> String {
    const MAX: usize = 6000;
    let s = String::from_utf8_lossy(b);
    if s.len() <= MAX {
        s.into_owned()
    } else {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}\n[... {} more bytes]", &s[..cut], s.len() - cut)
    }
}

/// A command to run natively and under moat.
#[derive(Clone, Debug)]
pub struct Cmd {
    pub argv: Vec<OsString>,
    pub stdin: Option<Vec<u8>>,
    pub env: Vec<(OsString, Option<OsString>)>,
    pub env_clear: bool,
    pub cwd: Option<PathBuf>,
    pub timeout: Duration,
    /// Extra `moat do` flags (before `--`).
    pub moat_flags: Vec<OsString>,
}

/// A command from its argv.
pub fn cmd<S: AsRef<OsStr>>(argv: &[S]) -> Cmd {
    assert!(!argv.is_empty(), "empty argv");
    Cmd {
        argv: argv.iter().map(|a| a.as_ref().to_owned()).collect(),
        stdin: None,
        env: Vec::new(),
        env_clear: false,
        cwd: None,
        timeout: timeout_default(),
        moat_flags: Vec::new(),
    }
}

/// `sh -c SCRIPT` with /bin/sh (dash on Debian).
pub fn sh(script: &str) -> Cmd {
    cmd(&["/bin/sh", "-c", script])
}

/// `bash -c SCRIPT`.
pub fn bash(script: &str) -> Cmd {
    cmd(&["/bin/bash", "-c", script])
}

fn timeout_default() -> Duration {
    match std::env::var("MOAT_TEST_TIMEOUT") {
        Ok(s) => Duration::from_secs(s.parse().expect("MOAT_TEST_TIMEOUT: seconds")),
        Err(_) => DEFAULT_TIMEOUT,
    }
}

impl Cmd {
    pub fn arg<S: AsRef<OsStr>>(mut self, a: S) -> Self {
        self.argv.push(a.as_ref().to_owned());
        self
    }
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self
    }
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.env
            .push((k.as_ref().to_owned(), Some(v.as_ref().to_owned())));
        self
    }
    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.env.push((k.as_ref().to_owned(), None));
        self
    }
    /// Start from an empty environment (then add with [`Cmd::env`]).
    pub fn env_clear(mut self) -> Self {
        self.env_clear = true;
        self
    }
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }
    pub fn timeout(mut self, secs: u64) -> Self {
        // MOAT_TEST_TIMEOUT, when set, is a floor for every run.
        let floor = timeout_default();
        self.timeout =
            Duration::from_secs(secs).max(if std::env::var_os("MOAT_TEST_TIMEOUT").is_some() {
                floor
            } else {
                Duration::ZERO
            });
        self
    }
    pub fn moat_flag(mut self, f: impl AsRef<OsStr>) -> Self {
        self.moat_flags.push(f.as_ref().to_owned());
        self
    }

    /// Run natively.
    pub fn native(&self) -> Run {
        spawn_and_wait(
            &self.argv,
            self,
            format!("native {}", show_argv(&self.argv)),
        )
    }

    /// Run under `moat do [flags] -- argv` (or `$MOAT_TEST_WRAPPER argv`).
    pub fn moat(&self) -> Run {
        let mut full: Vec<OsString> = Vec::new();
        match std::env::var("MOAT_TEST_WRAPPER") {
            Ok(w) if !w.trim().is_empty() => {
                full.extend(w.split_whitespace().map(OsString::from));
            }
            _ => {
                full.push(MOAT.into());
                full.push("do".into());
                full.extend(self.moat_flags.iter().cloned());
                full.push("--".into());
            }
        }
        full.extend(self.argv.iter().cloned());
        spawn_and_wait(&full, self, format!("moat do {}", show_argv(&self.argv)))
    }

    /// Run natively and under moat; assert same stdout, stderr and status.
    /// Returns (native, moat).
    pub fn diff(&self) -> (Run, Run) {
        let n = self.native();
        n.expect_finished();
        let m = self.moat();
        assert_same(&n, &m);
        (n, m)
    }
}

fn show_argv(argv: &[OsString]) -> String {
    let mut s = String::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let a = a.to_string_lossy();
        if a.len() > 80 {
            let _ = write!(
                s,
                "{:?}...",
                &a[..a.char_indices().nth(60).map(|(i, _)| i).unwrap_or(a.len())]
            );
        } else if a.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') || a.is_empty() {
            let _ = write!(s, "{:?}", a);
        } else {
            s.push_str(&a);
        }
    }
    s
}

/// Shell-style status of an exit.
pub fn shell_status(st: ExitStatus) -> i32 {
    match (st.code(), st.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => 255,
    }
}

fn spawn_and_wait(argv: &[OsString], c: &Cmd, what: String) -> Run {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    if c.env_clear {
        command.env_clear();
    }
    for (k, v) in &c.env {
        match v {
            Some(v) => command.env(k, v),
            None => command.env_remove(k),
        };
    }
    if let Some(d) = c.cwd.clone().or_else(default_cwd) {
        command.current_dir(d);
    }
    command
        .stdin(if c.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Own process group, so that a timeout can kill the whole tree and a
        // program's kill(0, sig) never reaches the test runner.
        .process_group(0);
    let start = Instant::now();
    let mut child = match command.spawn() {
        Ok(ch) => ch,
        Err(e) => panic!("{what}: cannot spawn {:?}: {e}", argv[0]),
    };
    let pid = child.id() as i32;
    if let Some(data) = c.stdin.clone() {
        let mut w = child.stdin.take().unwrap();
        thread::spawn(move || {
            let _ = w.write_all(&data);
        });
    }
    let out = reader(child.stdout.take().unwrap());
    let err = reader(child.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let mut timed_out = false;
    let status = match rx.recv_timeout(c.timeout) {
        Ok(st) => st.expect("wait"),
        Err(_) => {
            timed_out = true;
            kill_tree(pid);
            rx.recv().expect("waiter").expect("wait")
        }
    };
    let elapsed = start.elapsed();
    let mut pipes_held = false;
    let mut collect = |rx: mpsc::Receiver<Vec<u8>>| -> Vec<u8> {
        match rx.recv_timeout(PIPE_GRACE) {
            Ok(v) => v,
            Err(_) => {
                pipes_held = true;
                Vec::new()
            }
        }
    };
    let stdout = collect(out);
    let stderr = collect(err);
    if pipes_held {
        // Something left behind holds the pipes: kill what we can reach.
        kill_tree(pid);
    }
    Run {
        what,
        status: shell_status(status),
        stdout,
        stderr,
        timed_out,
        pipes_held,
        elapsed,
    }
}

fn reader<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        let _ = tx.send(v);
    });
    rx
}

/// Kill `pid`, its process group and every descendant (found through /proc
/// before anything is killed, so that reparenting cannot hide them).
pub fn kill_tree(pid: i32) {
    let mut victims = descendants(pid);
    victims.push(pid);
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
        for v in victims {
            libc::kill(v, libc::SIGKILL);
        }
    }
}

fn descendants(root: i32) -> Vec<i32> {
    let mut parent: HashMap<i32, i32> = HashMap::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                // pid (comm) state ppid ...
                if let Some(close) = stat.rfind(')') {
                    let mut f = stat[close + 1..].split_whitespace();
                    f.next();
                    if let Some(pp) = f.next().and_then(|s| s.parse().ok()) {
                        parent.insert(pid, pp);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (&c, &pp) in &parent {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

/// Assert that two runs agree on status, stdout and stderr.
pub fn assert_same(native: &Run, moat: &Run) {
    moat.expect_finished();
    let mut problems = String::new();
    if native.status != moat.status {
        let _ = writeln!(
            problems,
            "exit status: native {} vs moat {}",
            native.status, moat.status
        );
    }
    if native.stdout != moat.stdout {
        let _ = writeln!(
            problems,
            "stdout differs: {}",
            first_difference(&native.stdout, &moat.stdout)
        );
    }
    if native.stderr != moat.stderr {
        let _ = writeln!(
            problems,
            "stderr differs: {}",
            first_difference(&native.stderr, &moat.stderr)
        );
    }
    if !problems.is_empty() {
        panic!(
            "{} differs from native:\n{}\n=== native\n{}\n=== moat\n{}",
            moat.what,
            problems,
            native.describe(),
            moat.describe()
        );
    }
}

/// Where two outputs first differ, by line.
pub fn first_difference(a: &[u8], b: &[u8]) -> String {
    let la: Vec<&[u8]> = a.split(|&c| c == b'\n').collect();
    let lb: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
    for i in 0..la.len().max(lb.len()) {
        let x = la.get(i);
        let y = lb.get(i);
        if x != y {
            let show = |l: Option<&&[u8]>| match l {
                Some(l) => format!("{:?}", String::from_utf8_lossy(l)),
                None => "(end of output)".to_string(),
            };
            return format!("line {}: native {} / moat {}", i + 1, show(x), show(y));
        }
    }
    "(same lines, different bytes)".into()
}

// ---------------------------------------------------------------------------
// C test programs

/// How a C test program is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// `gcc -static`
    Static,
    /// `gcc -static-pie`
    StaticPie,
    /// dynamically linked against the host's glibc
    Dynamic,
}

impl Variant {
    fn suffix(self) -> &'static str {
        match self {
            Variant::Static => "static",
            Variant::StaticPie => "pie",
            Variant::Dynamic => "dyn",
        }
    }
    fn flags(self) -> &'static [&'static str] {
        match self {
            Variant::Static => &["-static"],
            Variant::StaticPie => &["-static-pie", "-fPIE"],
            Variant::Dynamic => &[],
        }
    }
}

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// tests/c in the repository.
pub fn c_dir() -> PathBuf {
    repo_root().join("tests/c")
}

/// Where test programs and scratch files go: target/tmp, unless that lies under /tmp,
/// which `moat do` replaces with a tmpfs of its own (a checkout under /tmp would hide them
/// from the sandbox); then a folder under /var/tmp named after the target directory.
pub fn artifact_root() -> PathBuf {
    let t = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    if t.starts_with("/tmp") {
        let tag: String = t
            .to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        PathBuf::from("/var/tmp/moat-tests").join(tag)
    } else {
        t
    }
}

/// The working directory of commands that do not set one: the test's own, unless the
/// sandbox could not see it (see `artifact_root`).
fn default_cwd() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    if cwd.starts_with("/tmp") {
        let d = artifact_root();
        std::fs::create_dir_all(&d).ok()?;
        Some(d)
    } else {
        None
    }
}

/// A scratch directory under target/ for this test binary's files.
pub fn scratch_dir() -> PathBuf {
    let d = artifact_root().join("moat-tests");
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// A fresh, empty directory under target/ for one test.
pub fn fresh_dir(name: &str) -> PathBuf {
    let d = scratch_dir().join(format!("{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create test dir");
    d
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

static BUILT: OnceLock<Mutex<HashMap<(String, Variant), PathBuf>>> = OnceLock::new();

/// Compile tests/c/NAME.c (with `-O1 -pthread`) unless an up-to-date binary
/// exists; returns the executable's path. Thread-safe; compiles each program
/// once per process and writes atomically, so parallel test binaries agree.
pub fn c_prog(name: &str, v: Variant) -> PathBuf {
    let map = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = map.get(&(name.to_string(), v)) {
        return p.clone();
    }
    let src = c_dir().join(format!("{name}.c"));
    assert!(src.exists(), "no C test program {}", src.display());
    let out_dir = artifact_root().join("moat-c");
    std::fs::create_dir_all(&out_dir).expect("create moat-c dir");
    let out = out_dir.join(format!("{name}-{}", v.suffix()));
    // Newest input: the source and every header in tests/c.
    let mut newest = mtime(&src).expect("source mtime");
    if let Ok(rd) = std::fs::read_dir(c_dir()) {
        for e in rd.flatten() {
            if e.path().extension() == Some(OsStr::new("h")) {
                if let Some(t) = mtime(&e.path()) {
                    newest = newest.max(t);
                }
            }
        }
    }
    let fresh = matches!(mtime(&out), Some(t) if t >= newest);
    if !fresh {
        let tmp = out_dir.join(format!(".{name}-{}.{}.tmp", v.suffix(), std::process::id()));
        let o = Command::new("gcc")
            .args(v.flags())
            .args(["-O1", "-pthread", "-g", "-Wall", "-Wno-unused-result", "-o"])
            .arg(&tmp)
            .arg(&src)
            .output()
            .unwrap_or_else(|e| panic!("cannot run gcc: {e} (is gcc installed?)"));
        if !o.status.success() {
            panic!(
                "gcc failed for {}:\n{}",
                src.display(),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::fs::rename(&tmp, &out).expect("rename compiled program");
    }
    map.insert((name.to_string(), v), out.clone());
    out
}

/// The command that runs case CASE of C program PROG.
pub fn c_cmd(prog: &str, v: Variant, case: &str) -> Cmd {
    let exe = c_prog(prog, v);
    cmd(&[exe.as_os_str(), OsStr::new(case)])
}

/// Run one case of a C program natively (which must report no FAIL) and
/// under moat; assert identical results.
pub fn diff_c(prog: &str, v: Variant, case: &str) -> (Run, Run) {
    diff_c_cmd(c_cmd(prog, v, case))
}

/// [`diff_c`] with a prepared command (extra args, env, timeout).
pub fn diff_c_cmd(c: Cmd) -> (Run, Run) {
    let n = c.native();
    n.expect_finished();
    check_oracle(&n);
    let m = c.moat();
    assert_same(&n, &m);
    (n, m)
}

/// The native run of a C test program must itself be sound: no FAIL lines.
/// (A case that dies on purpose still must not print FAIL.)
pub fn check_oracle(n: &Run) {
    let out = n.stdout_str();
    if out.lines().any(|l| l.starts_with("FAIL"))
        || !n.stderr.is_empty() && n.stderr_str().contains("unknown case")
    {
        panic!(
            "the native run itself failed, so the test program is wrong here:\n{}",
            n.describe()
        );
    }
}

/// One `#[test]` per case: `c_cases!("mem", Variant::Static; anon_private, brk);`
/// (bring it in with `#[macro_use] mod common;`).
#[allow(unused_macros)]
macro_rules! c_cases {
    ($prog:literal, $variant:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::common::diff_c($prog, $variant, stringify!($case));
            }
        )*
    };
}

/// Convenience: bytes as a string for assertions.
pub fn s(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or("<non-utf8>")
}

/// Does `path` exist as an executable on this machine? Tests of optional
/// host programs fail with a clear message when they are missing.
pub fn require(path: &str) {
    let p = Path::new(path);
    if !p.exists() {
        panic!("{path} is missing on this machine; .ci/run installs it (see README.md)");
    }
}

/// Bytes of an OsStr, for building argv with arbitrary bytes.
pub fn os_bytes(b: &[u8]) -> OsString {
    OsStr::from_bytes(b).to_owned()
}
