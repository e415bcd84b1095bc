//! Commands on existing containers: state, kill, delete, list, ps, pause, resume, wait,
//! events, update.

use crate::control::{self, Request};
use crate::hooks::{self, Stage};
use crate::state::{self, Dir, State};
use crate::{config, Global};
use std::time::Duration;

fn load(g: &Global, id: &str) -> Result<(Dir, State), String> {
    let dir = Dir::of(&g.root, id)?;
    let st = dir.load()?;
    Ok((dir, st))
}

/// The container must be up (created, running or paused).
fn need_live(id: &str, st: &State) -> Result<String, String> {
    let s = state::status(st);
    if s == "stopped" || s == "creating" {
        return Err(format!("container {id:?} is not running"));
    }
    Ok(s)
}

pub fn state_cmd(g: &Global, id: &str) -> Result<i32, String> {
    let (_, st) = load(g, id)?;
    let s = state::status(&st);
    let s = if s == "creating" { "created".into() } else { s };
    println!("{}", st.oci(&s));
    Ok(0)
}

pub fn kill(g: &Global, id: &str, sig: &str, all: bool) -> Result<i32, String> {
    let signal = config::parse_signal(sig)?;
    let (dir, st) = load(g, id)?;
    need_live(id, &st)?;
    control::call(&dir.socket(), &Request::Kill { signal, all })?;
    Ok(0)
}

pub fn delete(g: &Global, id: &str, force: bool) -> Result<i32, String> {
    let (dir, st) = load(g, id)?;
    let s = state::status(&st);
    if s != "stopped" {
        if !force && s != "created" {
            return Err(format!(
                "cannot delete container {id:?}: it is {s} (stop it first or use --force)"
            ));
        }
    }
    // A stopped container's sandbox process may still be finishing: it goes now.
    stop_sandbox(&st);
    if let Err(e) = hooks::run(&st.hooks, Stage::Poststop, &st.oci("stopped")) {
        crate::log_warn(g, &e);
    }
    dir.remove();
    Ok(0)
}

/// Kills the sandbox process (its stubs die with it) and waits until it is gone.
fn stop_sandbox(st: &State) {
    if !state::alive(st) {
        return;
    }
    // SAFETY: plain kill of the pid we verified by its start time.
    unsafe { libc::kill(st.pid, libc::SIGKILL) };
    for _ in 0..1000 {
        if !state::alive(st) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn list(g: &Global, format: &str, quiet: bool) -> Result<i32, String> {
    let mut all: Vec<State> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&g.root) {
        for e in rd.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            if let Ok((_, st)) = load(g, &id) {
                all.push(st);
            }
        }
    }
    all.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
    if quiet {
        for s in &all {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    match format {
        "json" => {
            let v: Vec<serde_json::Value> = all
                .iter()
                .map(|s| {
                    let status = state::status(s);
                    serde_json::json!({
                        "ociVersion": state::OCI_VERSION,
                        "id": s.id,
                        "pid": if status == "stopped" { 0 } else { s.pid },
                        "status": status,
                        "bundle": s.bundle,
                        "rootfs": s.rootfs,
                        "created": s.created,
                        "annotations": s.annotations,
                        "owner": "root",
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(v));
        }
        "table" => {
            let rows: Vec<[String; 6]> = all
                .iter()
                .map(|s| {
                    let status = state::status(s);
                    [
                        s.id.clone(),
                        if status == "stopped" { 0 } else { s.pid }.to_string(),
                        status,
                        s.bundle.clone(),
                        s.created.clone(),
                        "root".into(),
                    ]
                })
                .collect();
            print_table(
                &["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
                &rows,
            );
        }
        f => return Err(format!("invalid format {f:?} (table or json)")),
    }
    Ok(0)
}

fn print_table<const N: usize>(head: &[&str; N], rows: &[[String; N]]) {
    let mut w = [0usize; N];
    for (i, h) in head.iter().enumerate() {
        w[i] = h.len();
    }
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == N {
                s.push_str(c);
            } else {
                s.push_str(&format!("{:<width$}", c, width = w[i] + 3));
            }
        }
        println!("{}", s.trim_end());
    };
    line(head.to_vec());
    for r in rows {
        line(r.iter().map(|s| s.as_str()).collect());
    }
}

pub fn ps(g: &Global, id: &str, format: &str) -> Result<i32, String> {
    let (dir, st) = load(g, id)?;
    need_live(id, &st)?;
    let r = control::call(&dir.socket(), &Request::Ps)?;
    let procs = r.processes.unwrap_or_default();
    match format {
        "json" => {
            // As runc: host pids (those of the stub processes that run the container's
            // processes), which is what `docker top` looks up in the host's ps.
            let mut pids: Vec<i32> = procs.iter().map(|p| p.host_pid).collect();
            pids.sort_unstable();
            pids.dedup();
            println!("{}", serde_json::to_string(&pids).unwrap_or_default());
        }
        "table" => {
            let created = created_epoch(&st);
            let rows: Vec<[String; 7]> = procs
                .iter()
                .map(|p| {
                    let secs = p.cpu_ns / 1_000_000_000;
                    [
                        p.uid.to_string(),
                        p.pid.to_string(),
                        p.ppid.to_string(),
                        "0".into(),
                        stime(created + p.start_secs as i64),
                        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
                        p.cmd.clone(),
                    ]
                })
                .collect();
            print_table(&["UID", "PID", "PPID", "C", "STIME", "TIME", "CMD"], &rows);
        }
        f => return Err(format!("invalid format {f:?} (table or json)")),
    }
    Ok(0)
}

/// Seconds since the epoch of the container's creation (parsed from its RFC 3339 form).
fn created_epoch(st: &State) -> i64 {
    let c = &st.created;
    let num = |a: usize, b: usize| c.get(a..b).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let (y, m, d, hh, mm, ss) = (
        num(0, 4),
        num(5, 7),
        num(8, 10),
        num(11, 13),
        num(14, 16),
        num(17, 19),
    );
    // Days from the civil date (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    days * 86400 + hh * 3600 + mm * 60 + ss
}

fn stime(epoch: i64) -> String {
    let s = state::rfc3339(epoch, 0);
    s.get(11..16).unwrap_or("?").to_string()
}

pub fn pause(g: &Global, id: &str, resume: bool) -> Result<i32, String> {
    let (dir, st) = load(g, id)?;
    need_live(id, &st)?;
    control::call(
        &dir.socket(),
        if resume {
            &Request::Resume
        } else {
            &Request::Pause
        },
    )?;
    Ok(0)
}

/// Exit code as a shell shows a wait status.
pub fn shell_code(wstatus: i32) -> i32 {
    if wstatus & 0x7f == 0 {
        (wstatus >> 8) & 0xff
    } else {
        128 + (wstatus & 0x7f)
    }
}

pub fn wait(g: &Global, id: &str) -> Result<i32, String> {
    let (dir, st) = load(g, id)?;
    let ws = if state::status(&st) == "stopped" {
        st.exit_status
    } else {
        match control::call(&dir.socket(), &Request::Wait) {
            Ok(r) => r.status,
            // The sandbox went away as we asked: its final state says how.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(50));
                dir.load().ok().and_then(|s| s.exit_status)
            }
        }
    };
    let Some(ws) = ws else {
        return Err(format!("container {id:?} ended without an exit status"));
    };
    let code = shell_code(ws);
    println!("{}", serde_json::json!({"id": id, "exitStatus": code}));
    Ok(code)
}

pub fn events(g: &Global, id: &str, stats_once: bool, interval: Duration) -> Result<i32, String> {
    let (dir, st) = load(g, id)?;
    need_live(id, &st)?;
    loop {
        let r = match control::call(&dir.socket(), &Request::Stats) {
            Ok(r) => r,
            Err(_) if !stats_once => return Ok(0),
            Err(e) => return Err(e),
        };
        let s = r.stats.unwrap_or_default();
        let ev = serde_json::json!({
            "type": "stats",
            "id": id,
            "data": {
                "cpu": {"usage": {
                    "total": s.cpu_user_ns + s.cpu_system_ns,
                    "user": s.cpu_user_ns,
                    "kernel": s.cpu_system_ns,
                }},
                "memory": {"usage": {"usage": s.memory_bytes}},
                "pids": {"current": s.pids},
            }
        });
        println!("{ev}");
        if stats_once {
            return Ok(0);
        }
        std::thread::sleep(interval);
    }
}

/// `update`: resources are accepted (they are enforced once cgroups come).
pub fn update(g: &Global, id: &str, resources: Option<&str>) -> Result<i32, String> {
    let (_, st) = load(g, id)?;
    need_live(id, &st)?;
    if let Some(r) = resources {
        let data = if r == "-" {
            let mut s = String::new();
            use std::io::Read;
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| e.to_string())?;
            s
        } else {
            std::fs::read_to_string(r).map_err(|e| format!("{r}: {e}"))?
        };
        let _: oci_spec::runtime::LinuxResources =
            serde_json::from_str(&data).map_err(|e| format!("invalid resources: {e}"))?;
        crate::log_warn(
            g,
            "update: resource limits are accepted but not enforced yet",
        );
    }
    Ok(0)
}
