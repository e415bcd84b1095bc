//! The OCI lifecycle suite: the same assertions against runc (when installed) and moat,
//! on bundles built from busybox-static. Each test gets its own bundle, state root and
//! container id, and removes them at the end.

#[allow(dead_code)]
mod common;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BUSYBOX: &str = "/bin/busybox";

struct Rt {
    name: &'static str,
    bin: String,
    root: PathBuf,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Rt {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Runs a runtime command to completion (30 s at most).
    fn run(&self, args: &[&str]) -> Out {
        run_cmd(self.cmd(args), &format!("{} {}", self.name, args.join(" ")))
    }

    fn ok(&self, args: &[&str]) -> Out {
        let o = self.run(args);
        assert_eq!(
            o.code, 0,
            "{} {:?} failed: {}\n{}",
            self.name, args, o.stderr, o.stdout
        );
        o
    }

    /// `create` with the container's stdio in files of the bundle.
    fn create(&self, b: &Bundle, id: &str, extra: &[&str]) -> Out {
        let mut c = self.cmd(
            &[
                &["create", "--bundle", b.dir.to_str().unwrap()],
                extra,
                &[id],
            ]
            .concat(),
        );
        c.stdout(std::fs::File::create(b.dir.join("stdout")).unwrap());
        c.stderr(std::fs::File::create(b.dir.join("stderr")).unwrap());
        let mut ch = c.spawn().expect("spawn create");
        let st = wait_timeout(&mut ch, Duration::from_secs(30));
        Out {
            code: st,
            stdout: read(&b.dir.join("stdout")),
            stderr: read(&b.dir.join("stderr")),
        }
    }

    fn status(&self, id: &str) -> String {
        let o = self.run(&["state", id]);
        if o.code != 0 {
            return "gone".into();
        }
        let v: Value = serde_json::from_str(&o.stdout).expect("state is JSON");
        v["status"].as_str().unwrap_or("").to_string()
    }

    fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id]).stdout).expect("state is JSON")
    }

    /// Waits until the container is stopped (10 s at most).
    fn wait_stopped(&self, id: &str) {
        let t = Instant::now();
        while self.status(id) != "stopped" {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{}: {id} did not stop",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn listed(&self, id: &str) -> bool {
        self.ok(&["list", "--quiet"])
            .stdout
            .lines()
            .any(|l| l.trim() == id)
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(&self.root) {
            for e in rd.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.run(&["delete", "--force", &id]);
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Kills a helper process when a test ends, even by a failed assertion.
struct Reap(std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A console-socket receiver (tests/oci/recvtty.py) listening on `sock`, copying the
/// terminal to `out`; it is listening when this returns.
fn console_receiver(sock: &Path, out: &Path) -> Reap {
    let recv = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/oci/recvtty.py"
        ))
        .arg(sock)
        .arg("")
        .arg(out)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut recv = Reap(recv);
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(recv.0.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    recv
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn wait_timeout(ch: &mut std::process::Child, t: Duration) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(st) = ch.try_wait().unwrap() {
            use std::os::unix::process::ExitStatusExt;
            return st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
        }
        if start.elapsed() > t {
            let _ = ch.kill();
            let _ = ch.wait();
            panic!("command timed out");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn run_cmd(mut c: Command, what: &str) -> Out {
    let dir = tmpdir("out");
    c.stdout(std::fs::File::create(dir.join("o")).unwrap());
    c.stderr(std::fs::File::create(dir.join("e")).unwrap());
    let mut ch = c.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
    let code = wait_timeout(&mut ch, Duration::from_secs(30));
    let o = Out {
        code,
        stdout: read(&dir.join("o")),
        stderr: read(&dir.join("e")),
    };
    let _ = std::fs::remove_dir_all(&dir);
    o
}

fn tmpdir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = common::artifact_root().join("oci").join(format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The runtimes under test: moat, and runc where it is installed.
fn runtimes() -> Vec<Rt> {
    let mut v = vec![Rt {
        name: "moat",
        bin: common::MOAT.to_string(),
        root: tmpdir("moat-root"),
    }];
    if Path::new("/usr/sbin/runc").exists() && std::env::var_os("MOAT_TEST_NO_RUNC").is_none() {
        v.push(Rt {
            name: "runc",
            bin: "/usr/sbin/runc".into(),
            root: tmpdir("runc-root"),
        });
    }
    v
}

struct Bundle {
    dir: PathBuf,
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A bundle whose rootfs holds busybox and its applets; `edit` adjusts the default
/// config (from `moat spec`, non-terminal, read-write root).
fn bundle(edit: impl FnOnce(&mut Value)) -> Bundle {
    let dir = tmpdir("bundle");
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp", "etc", "mnt", "data"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).expect("busybox-static is needed");
    let applets = Command::new(BUSYBOX).arg("--list").output().unwrap();
    for a in String::from_utf8_lossy(&applets.stdout).lines() {
        if a != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a));
        }
    }
    std::fs::write(rootfs.join("etc/hostname"), "bundle\n").unwrap();
    std::fs::write(rootfs.join("data/file.txt"), "rootfs data\n").unwrap();
    let o = Command::new(common::MOAT)
        .args(["spec", "--bundle"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "moat spec failed");
    let mut v: Value = serde_json::from_str(&read(&dir.join("config.json"))).unwrap();
    v["process"]["terminal"] = json!(false);
    v["root"]["readonly"] = json!(false);
    edit(&mut v);
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&v).unwrap(),
    )
    .unwrap();
    Bundle { dir }
}

fn args(v: &mut Value, script: &str) {
    v["process"]["args"] = json!(["sh", "-c", script]);
}

fn id(tag: &str) -> String {
    format!("{tag}-{}", std::process::id())
}

/// Each runtime, in turn.
fn each(f: impl Fn(&Rt)) {
    for rt in runtimes() {
        eprintln!("--- {}", rt.name);
        f(&rt);
    }
}

#[test]
fn run_output_and_exit_status() {
    each(|rt| {
        let b = bundle(|v| args(v, "echo out; echo err >&2; exit 3"));
        let o = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id("run")]);
        assert_eq!(o.code, 3, "{}: {}", rt.name, o.stderr);
        assert_eq!(o.stdout, "out\n");
        assert!(o.stderr.contains("err\n"), "{}: {}", rt.name, o.stderr);
        assert!(
            !rt.listed(&id("run")),
            "{}: run left the container",
            rt.name
        );
    });
}

#[test]
fn run_keep_and_delete() {
    each(|rt| {
        let b = bundle(|v| args(v, "exit 0"));
        let i = id("keep");
        let o = rt.run(&["run", "--keep", "--bundle", b.dir.to_str().unwrap(), &i]);
        assert_eq!(o.code, 0, "{}: {}", rt.name, o.stderr);
        assert_eq!(rt.status(&i), "stopped");
        rt.ok(&["delete", &i]);
        assert_eq!(rt.status(&i), "gone");
    });
}

#[test]
fn init_ignores_unhandled_signals_and_children_die_of_them() {
    each(|rt| {
        // kill of itself by pid 1 with no handler does nothing; a child dies of SIGKILL.
        let b = bundle(|v| {
            args(
                v,
                "kill -TERM $$; echo survived; sh -c 'kill -9 $$'; echo $?",
            )
        });
        let o = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id("sig")]);
        assert_eq!(o.stdout, "survived\n137\n", "{}: {}", rt.name, o.stderr);
        assert_eq!(o.code, 0);
    });
}

#[test]
fn process_settings() {
    each(|rt| {
        let b = bundle(|v| {
            args(
                v,
                "hostname; echo $GREETING; pwd; id -u; id -g; id -G; umask; ulimit -n; ulimit -Hn; \
                 cat /proc/self/oom_score_adj",
            );
            v["process"]["oomScoreAdj"] = json!(100);
            v["hostname"] = json!("moat-test-host");
            v["process"]["env"] = json!(["PATH=/bin", "GREETING=hello"]);
            v["process"]["cwd"] = json!("/data");
            v["process"]["user"] =
                json!({"uid": 1000, "gid": 1001, "additionalGids": [7, 9], "umask": 63});
            v["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}]);
        });
        let o = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id("settings")]);
        assert_eq!(o.code, 0, "{}: {}", rt.name, o.stderr);
        assert_eq!(
            o.stdout, "moat-test-host\nhello\n/data\n1000\n1001\n1001 7 9\n0077\n512\n1000\n100\n",
            "{}",
            rt.name
        );
    });
}

#[test]
fn readonly_root_and_bind_mounts() {
    let host = tmpdir("bind-src");
    std::fs::write(host.join("hello.txt"), "from the host\n").unwrap();
    std::fs::write(host.join("single"), "single file\n").unwrap();
    let h = host.to_str().unwrap().to_string();
    each(|rt| {
        let b = bundle(|v| {
            args(
                v,
                "cat /mnt/hello.txt; cat /etc/single; touch /newfile 2>/dev/null || echo root ro; \
                 touch /mnt/x 2>/dev/null || echo bind ro; cat /data/file.txt",
            );
            v["root"]["readonly"] = json!(true);
            let m = v["mounts"].as_array_mut().unwrap();
            m.push(json!({"destination": "/mnt", "type": "bind", "source": h, "options": ["rbind", "ro"]}));
            m.push(json!({"destination": "/etc/single", "type": "bind", "source": format!("{h}/single"), "options": ["bind", "ro"]}));
        });
        std::fs::write(b.dir.join("rootfs/etc/single"), "").unwrap();
        let o = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id("mounts")]);
        assert_eq!(o.code, 0, "{}: {}", rt.name, o.stderr);
        assert_eq!(
            o.stdout, "from the host\nsingle file\nroot ro\nbind ro\nrootfs data\n",
            "{}",
            rt.name
        );
    });
    let _ = std::fs::remove_dir_all(&host);
}

#[test]
fn writable_root_and_rw_bind_mount() {
    let host = tmpdir("rw-bind");
    let h = host.to_str().unwrap().to_string();
    each(|rt| {
        let b = bundle(|v| {
            args(
                v,
                "echo new > /newfile && cat /newfile; echo via-bind > /vol/written; rm /data/file.txt && ls /data | wc -l",
            );
            v["mounts"].as_array_mut().unwrap().push(
                json!({"destination": "/vol", "type": "bind", "source": h, "options": ["rbind", "rw"]}),
            );
        });
        let o = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id("rw")]);
        assert_eq!(o.code, 0, "{}: {}", rt.name, o.stderr);
        assert_eq!(o.stdout, "new\n0\n", "{}", rt.name);
        assert_eq!(read(&host.join("written")), "via-bind\n", "{}", rt.name);
        std::fs::remove_file(host.join("written")).unwrap();
    });
    let _ = std::fs::remove_dir_all(&host);
}

#[test]
fn tmpfs_and_proc_mounts() {
    each(|rt| {
        let b = bundle(|v| {
            args(
                v,
                "echo x > /tmp/t && cat /tmp/t; stat -c %a /scratch; echo $$; cat /proc/1/comm; test -c /dev/null && echo devnull",
            );
            v["mounts"].as_array_mut().unwrap().push(
                json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["mode=750"]}),
            );
            v["mounts"].as_array_mut().unwrap().push(
                json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}),
            );
        });
        let o = rt.run(&["run", "--bundle", b.dir.to_str().unwrap(), &id("tmpfs")]);
        assert_eq!(o.code, 0, "{}: {}", rt.name, o.stderr);
        assert_eq!(o.stdout, "x\n750\n1\nsh\ndevnull\n", "{}", rt.name);
    });
}

#[test]
fn lifecycle_create_start_state_kill_delete() {
    each(|rt| {
        let b = bundle(|v| {
            args(
                v,
                "trap 'echo got USR1' USR1; trap 'echo got TERM; exit 7' TERM; echo started; \
                 while true; do sleep 0.05; done",
            )
        });
        let i = id("life");
        let pidfile = b.dir.join("pid");
        let o = rt.create(&b, &i, &["--pid-file", pidfile.to_str().unwrap()]);
        assert_eq!(o.code, 0, "{}: {}", rt.name, o.stderr);
        let st = rt.state(&i);
        assert_eq!(st["status"], "created", "{}", rt.name);
        assert_eq!(st["id"], i.as_str());
        let pid: i64 = read(&pidfile).trim().parse().expect("pid file holds a pid");
        assert_eq!(st["pid"].as_i64(), Some(pid), "{}", rt.name);
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        assert!(rt.listed(&i));
        // Init has not run yet.
        assert_eq!(read(&b.dir.join("stdout")), "", "{}", rt.name);
        rt.ok(&["start", &i]);
        assert_eq!(rt.status(&i), "running");
        let o = rt.run(&["start", &i]);
        assert_ne!(o.code, 0, "{}: start twice succeeded", rt.name);
        let o = rt.run(&["delete", &i]);
        assert_ne!(
            o.code, 0,
            "{}: delete of a running container succeeded",
            rt.name
        );
        wait_for_file(&b.dir.join("stdout"), "started\n");
        rt.ok(&["kill", &i, "USR1"]);
        wait_for_file(&b.dir.join("stdout"), "started\ngot USR1\n");
        rt.ok(&["kill", &i, "15"]);
        rt.wait_stopped(&i);
        assert_eq!(read(&b.dir.join("stdout")), "started\ngot USR1\ngot TERM\n");
        let o = rt.run(&["kill", &i, "TERM"]);
        assert_ne!(
            o.code, 0,
            "{}: kill of a stopped container succeeded",
            rt.name
        );
        let o = rt.run(&["exec", &i, "true"]);
        assert_ne!(
            o.code, 0,
            "{}: exec in a stopped container succeeded",
            rt.name
        );
        rt.ok(&["delete", &i]);
        assert_eq!(rt.status(&i), "gone");
        assert!(!rt.listed(&i));
        assert!(!Path::new(&format!("/proc/{pid}")).exists() || is_zombie_or_other(pid));
    });
}

fn is_zombie_or_other(pid: i64) -> bool {
    let s = read(Path::new(&format!("/proc/{pid}/stat")));
    s.is_empty() || s.contains(") Z")
}

fn wait_for_file(p: &Path, want: &str) {
    let t = Instant::now();
    loop {
        let s = read(p);
        if s == want {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{} is {s:?}, want {want:?}",
            p.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn kill_all_and_force_delete() {
    each(|rt| {
        let b = bundle(|v| args(v, "sleep 100 & sleep 100 & wait"));
        let i = id("killall");
        assert_eq!(rt.create(&b, &i, &[]).code, 0);
        rt.ok(&["start", &i]);
        let t = Instant::now();
        loop {
            let o = rt.ok(&["ps", "--format", "json", &i]);
            let v: Value = serde_json::from_str(&o.stdout).unwrap();
            if v.as_array().map(|a| a.len()).unwrap_or(0) >= 3 {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{}: ps {}",
                rt.name,
                o.stdout
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        rt.ok(&["kill", "--all", &i, "KILL"]);
        rt.wait_stopped(&i);
        rt.ok(&["delete", &i]);
        // --force on a running container.
        let i2 = id("force");
        assert_eq!(rt.create(&b, &i2, &[]).code, 0);
        rt.ok(&["start", &i2]);
        rt.ok(&["delete", "--force", &i2]);
        assert_eq!(rt.status(&i2), "gone");
    });
}

#[test]
fn exec_into_running_container() {
    each(|rt| {
        let b = bundle(|v| args(v, "while true; do sleep 0.05; done"));
        let i = id("exec");
        assert_eq!(rt.create(&b, &i, &[]).code, 0);
        rt.ok(&["start", &i]);
        let o = rt.run(&["exec", &i, "sh", "-c", "echo in; exit 4"]);
        assert_eq!(
            (o.code, o.stdout.as_str()),
            (4, "in\n"),
            "{}: {}",
            rt.name,
            o.stderr
        );
        let o = rt.ok(&[
            "exec",
            "--env",
            "A=b",
            "--cwd",
            "/data",
            "--user",
            "1000:1000",
            &i,
            "sh",
            "-c",
            "echo $A; pwd; id -u",
        ]);
        assert_eq!(o.stdout, "b\n/data\n1000\n", "{}", rt.name);
        // A process file, as containerd passes it.
        let pf = b.dir.join("process.json");
        std::fs::write(
            &pf,
            serde_json::to_vec(&json!({
                "args": ["sh", "-c", "echo from process file; exit 2"],
                "cwd": "/",
                "env": ["PATH=/bin"],
                "user": {"uid": 0, "gid": 0},
            }))
            .unwrap(),
        )
        .unwrap();
        let o = rt.run(&["exec", "--process", pf.to_str().unwrap(), &i]);
        assert_eq!(
            (o.code, o.stdout.as_str()),
            (2, "from process file\n"),
            "{}",
            rt.name
        );
        // A missing executable is an error, not a running process.
        let o = rt.run(&["exec", &i, "/no/such/program"]);
        assert_ne!(o.code, 0, "{}", rt.name);
        // Detached, with a pid file; the process is seen by ps.
        let pidf = b.dir.join("exec.pid");
        let o = rt.run(&[
            "exec",
            "--detach",
            "--pid-file",
            pidf.to_str().unwrap(),
            &i,
            "sleep",
            "100",
        ]);
        assert_eq!(o.code, 0, "{}: {}", rt.name, o.stderr);
        let pid: i32 = read(&pidf).trim().parse().expect("exec pid file");
        assert!(pid > 0);
        rt.ok(&["delete", "--force", &i]);
    });
}

#[test]
fn pause_and_resume() {
    each(|rt| {
        let b = bundle(|v| {
            args(
                v,
                "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done",
            )
        });
        let i = id("pause");
        assert_eq!(rt.create(&b, &i, &[]).code, 0);
        rt.ok(&["start", &i]);
        rt.ok(&["pause", &i]);
        assert_eq!(rt.status(&i), "paused", "{}", rt.name);
        let a = rt.run(&["exec", &i, "true"]);
        assert_ne!(
            a.code, 0,
            "{}: exec into a paused container succeeded",
            rt.name
        );
        rt.ok(&["resume", &i]);
        assert_eq!(rt.status(&i), "running");
        let o = rt.run(&["resume", &i]);
        assert_ne!(
            o.code, 0,
            "{}: resume of a running container succeeded",
            rt.name
        );
        rt.ok(&["delete", "--force", &i]);
    });
}

#[test]
fn console_socket_gives_a_terminal() {
    each(|rt| {
        let b = bundle(|v| {
            args(v, "test -t 0 && echo is a tty; stty size; exit 5");
            v["process"]["terminal"] = json!(true);
            v["process"]["consoleSize"] = json!({"height": 30, "width": 100});
        });
        let sock = b.dir.join("console.sock");
        let out = b.dir.join("console.out");
        let mut recv = console_receiver(&sock, &out);
        let recv = &mut recv.0;
        let i = id("tty");
        let o = rt.create(&b, &i, &["--console-socket", sock.to_str().unwrap()]);
        assert_eq!(o.code, 0, "{}: {}", rt.name, o.stderr);
        rt.ok(&["start", &i]);
        rt.wait_stopped(&i);
        let _ = wait_timeout(recv, Duration::from_secs(10));
        let text = read(&out).replace('\r', "");
        assert_eq!(text, "is a tty\n30 100\n", "{}", rt.name);
        rt.ok(&["delete", &i]);
    });
}

#[test]
fn hooks_run_with_the_state() {
    each(|rt| {
        let marks = tmpdir("hooks");
        let m = marks.to_str().unwrap().to_string();
        let hook = |name: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {m}/{name}")]});
        let b = bundle(|v| {
            // startContainer runs in the container: it leaves its mark in the container's /tmp.
            args(v, "cat /tmp/startContainer");
            v["mounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
            v["hooks"] = json!({
                "createRuntime": [hook("createRuntime")],
                "createContainer": [hook("createContainer")],
                "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /tmp/startContainer"]}],
                "poststart": [hook("poststart")],
                "poststop": [hook("poststop")],
            });
        });
        let i = id("hooks");
        assert_eq!(rt.create(&b, &i, &[]).code, 0);
        for h in ["createRuntime", "createContainer"] {
            let s: Value = serde_json::from_str(&read(&marks.join(h))).unwrap_or(Value::Null);
            assert_eq!(s["id"], i.as_str(), "{}: {h}", rt.name);
            assert_eq!(s["status"], "creating", "{}: {h}", rt.name);
        }
        rt.ok(&["start", &i]);
        rt.wait_stopped(&i);
        let s: Value = serde_json::from_str(&read(&b.dir.join("stdout"))).unwrap_or(Value::Null);
        assert_eq!(s["id"], i.as_str(), "{}: startContainer", rt.name);
        assert!(marks.join("poststart").exists(), "{}", rt.name);
        rt.ok(&["delete", &i]);
        let s: Value = serde_json::from_str(&read(&marks.join("poststop"))).unwrap_or(Value::Null);
        assert_eq!(s["id"], i.as_str(), "{}: poststop", rt.name);
        let _ = std::fs::remove_dir_all(&marks);
        // A failing hook fails create and leaves nothing behind.
        let b = bundle(|v| {
            args(v, "exit 0");
            v["hooks"] = json!({"createRuntime": [{"path": "/bin/false"}]});
        });
        let o = rt.create(&b, &i, &[]);
        assert_ne!(o.code, 0, "{}", rt.name);
        assert!(
            !rt.listed(&i),
            "{}: a failed create left the container",
            rt.name
        );
    });
}

/// Bad input: a non-zero exit, a message, and no container left behind.
#[test]
fn bad_input() {
    each(|rt| {
        let i = id("bad");
        let expect_fail = |o: Out, what: &str| {
            assert_ne!(o.code, 0, "{}: {what} succeeded", rt.name);
            assert!(
                !o.stderr.trim().is_empty() || rt.name == "runc",
                "{}: {what}: no message",
                rt.name
            );
            assert!(!rt.listed(&i), "{}: {what} left the container", rt.name);
        };
        expect_fail(
            rt.run(&["create", "--bundle", "/nonexistent-bundle", &i]),
            "missing bundle",
        );
        let b = bundle(|_| {});
        std::fs::remove_file(b.dir.join("config.json")).unwrap();
        expect_fail(rt.create(&b, &i, &[]), "missing config.json");
        std::fs::write(b.dir.join("config.json"), "{not json").unwrap();
        expect_fail(rt.create(&b, &i, &[]), "invalid JSON");
        std::fs::write(
            b.dir.join("config.json"),
            r#"{"ociVersion":"1.0.2","process":{"args":"sh","cwd":"/","user":{"uid":0,"gid":0}},"root":{"path":"rootfs"}}"#,
        )
        .unwrap();
        expect_fail(rt.create(&b, &i, &[]), "wrong field type");
        let b = bundle(|v| v["process"]["terminal"] = json!(true));
        expect_fail(
            rt.create(&b, &i, &["--console-socket", "/nonexistent/console.sock"]),
            "missing console socket",
        );
        for cmd in ["start", "state", "delete"] {
            expect_fail(rt.run(&[cmd, "no-such-container"]), cmd);
        }
        expect_fail(rt.run(&["kill", "no-such-container", "TERM"]), "kill");
        // A duplicate id.
        let b = bundle(|v| args(v, "sleep 100"));
        assert_eq!(rt.create(&b, &i, &[]).code, 0);
        let o = rt.create(&b, &i, &[]);
        assert_ne!(o.code, 0, "{}: duplicate id accepted", rt.name);
        assert_eq!(rt.status(&i), "created");
        rt.ok(&["delete", "--force", &i]);
    });
}

/// moat's own checks where runc is lenient.
#[test]
fn moat_rejects_unsupported_oci_version_and_bad_ids() {
    let rt = Rt {
        name: "moat",
        bin: common::MOAT.into(),
        root: tmpdir("moat-root"),
    };
    let b = bundle(|v| v["ociVersion"] = json!("9.9.9"));
    let o = rt.create(&b, "v", &[]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("ociVersion"), "{}", o.stderr);
    let o = rt.run(&["create", "--bundle", b.dir.to_str().unwrap(), "../escape"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("invalid container id"), "{}", o.stderr);
    assert!(std::fs::read_dir(&rt.root).map(|d| d.count()).unwrap_or(0) == 0);
}

/// `wait` and `events` (runsc's and runc's extras).
#[test]
fn moat_wait_and_events() {
    let rt = Rt {
        name: "moat",
        bin: common::MOAT.into(),
        root: tmpdir("moat-root"),
    };
    let b = bundle(|v| args(v, "read x; exit 9"));
    let i = id("wait");
    // Init blocks on its stdin until the test closes... it is /dev/null: exits at once.
    assert_eq!(rt.create(&b, &i, &[]).code, 0);
    let o = rt.ok(&["events", "--stats", &i]);
    let ev: Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(ev["type"], "stats");
    assert!(ev["data"]["pids"]["current"].as_u64().is_some());
    rt.ok(&["start", &i]);
    let o = rt.run(&["wait", &i]);
    assert_eq!(o.code, 9);
    let v: Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(v["exitStatus"], 9);
    rt.ok(&["delete", &i]);
}

#[test]
fn exec_with_a_terminal() {
    each(|rt| {
        let b = bundle(|v| args(v, "while true; do sleep 0.05; done"));
        let i = id("exectty");
        assert_eq!(rt.create(&b, &i, &[]).code, 0);
        rt.ok(&["start", &i]);
        let sock = b.dir.join("exec-console.sock");
        let out = b.dir.join("exec-console.out");
        let mut recv = console_receiver(&sock, &out);
        let recv = &mut recv.0;
        // runc wants --detach with a console socket.
        let o = rt.run(&[
            "exec",
            "--tty",
            "--detach",
            "--console-socket",
            sock.to_str().unwrap(),
            &i,
            "sh",
            "-c",
            "test -t 1 && echo exec has a tty; exit 3",
        ]);
        assert_eq!(o.code, 0, "{}: {}", rt.name, o.stderr);
        let _ = wait_timeout(recv, Duration::from_secs(10));
        assert_eq!(
            read(&out).replace('\r', ""),
            "exec has a tty\n",
            "{}",
            rt.name
        );
        rt.ok(&["delete", "--force", &i]);
    });
}

/// A sandbox process that dies is reported as stopped, and the container can be deleted.
#[test]
fn crashed_sandbox_is_stopped_and_deletable() {
    each(|rt| {
        let b = bundle(|v| args(v, "sleep 100"));
        let i = id("crash");
        assert_eq!(rt.create(&b, &i, &[]).code, 0);
        rt.ok(&["start", &i]);
        let pid = rt.state(&i)["pid"].as_i64().unwrap() as i32;
        // SAFETY: killing the container's process the runtime reported.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        rt.wait_stopped(&i);
        rt.ok(&["delete", &i]);
        assert!(!rt.listed(&i));
    });
}
