//! System-wide /proc files and the /proc/sys tree. Everything reflects the sandbox
//! (its processes, its uptime), except what only the host knows (CPUs, memory size).

use super::Node;
use crate::task::Task;
use crate::vfs::{mode, Ctx};
use abi::Errno;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// uname's release and version (kept equal to what the uname syscall reports).
pub const OSRELEASE: &str = "6.1.0";
pub const VERSION: &str = "#1 SMP moat";

/// Host facts read once at setup (the kernel may not reach host /proc later).
struct Host {
    cpuinfo: Vec<u8>,
    ncpus: usize,
}

static HOST: OnceLock<Host> = OnceLock::new();

pub(super) fn snapshot_host() {
    HOST.get_or_init(|| {
        let cpuinfo = std::fs::read("/proc/cpuinfo").unwrap_or_default();
        // SAFETY: plain host call.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        Host {
            cpuinfo,
            ncpus: n.max(1) as usize,
        }
    });
}

fn host() -> &'static Host {
    snapshot_host();
    HOST.get().expect("host facts")
}

pub(super) fn ncpus() -> usize {
    host().ncpus.min(64)
}

/// Top-level names (besides self, thread-self and pids), in listing order.
const TOP: &[&str] = &[
    "cmdline",
    "cpuinfo",
    "filesystems",
    "loadavg",
    "meminfo",
    "mounts",
    "net",
    "stat",
    "swaps",
    "sys",
    "sysvipc",
    "uptime",
    "version",
];

pub(super) fn top_lookup(name: &[u8]) -> Option<Node> {
    if name == b"sys" || name == b"sysvipc" {
        return Some(Node::Sys(if name == b"sys" { "sys" } else { "sysvipc" }));
    }
    TOP.iter()
        .find(|n| n.as_bytes() == name)
        .map(|n| Node::Top(*n))
}

pub(super) fn top_entries() -> Vec<(String, Node)> {
    let mut v = vec![
        ("self".to_string(), Node::SelfLink),
        ("thread-self".to_string(), Node::ThreadSelf),
    ];
    for n in TOP {
        v.push((
            n.to_string(),
            top_lookup(n.as_bytes()).unwrap_or(Node::Root),
        ));
    }
    v
}

pub(super) fn top_mode(name: &str) -> u32 {
    match name {
        "mounts" | "net" => mode::S_IFLNK | 0o777,
        _ => mode::S_IFREG | 0o444,
    }
}

pub(super) fn top_link(name: &str) -> Option<&'static str> {
    match name {
        "mounts" => Some("self/mounts"),
        "net" => Some("self/net"),
        _ => None,
    }
}

fn kb(v: u64) -> u64 {
    v / 1024
}

pub(super) fn top_content(name: &str, ctx: &Ctx) -> Result<Vec<u8>, Errno> {
    let k = crate::kernel();
    let up = k.boot.elapsed().as_secs_f64();
    Ok(match name {
        "cmdline" => b"BOOT_IMAGE=/vmlinuz-moat ro\n".to_vec(),
        "cpuinfo" => host().cpuinfo.clone(),
        "filesystems" => b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevpts\nnodev\tmqueue\nnodev\tanon_inodefs\n\text4\n".to_vec(),
        "loadavg" => {
            let procs = k.procs.lock().unwrap();
            let n = procs.tasks.len();
            let last = procs.tasks.keys().copied().max().unwrap_or(1);
            format!("0.00 0.00 0.00 1/{} {}\n", n, last).into_bytes()
        }
        "meminfo" => meminfo().into_bytes(),
        "stat" => stat().into_bytes(),
        "swaps" => b"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".to_vec(),
        "uptime" => format!("{:.2} {:.2}\n", up, up * ncpus() as f64).into_bytes(),
        "version" => format!("Linux version {} (moat@moat) (gcc) {}\n", OSRELEASE, VERSION).into_bytes(),
        _ => {
            let _ = ctx;
            return Err(Errno::ENOENT);
        }
    })
}

fn meminfo() -> String {
    // SAFETY: zeroed plain struct filled by the host.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    unsafe { libc::sysinfo(&mut si) };
    let u = si.mem_unit.max(1) as u64;
    let total = si.totalram * u;
    let free = si.freeram * u;
    let buffers = si.bufferram * u;
    let shared = si.sharedram * u;
    let swap = si.totalswap * u;
    let swapfree = si.freeswap * u;
    let mut o = String::new();
    for (n, v) in [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free + buffers),
        ("Buffers", buffers),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("SwapTotal", swap),
        ("SwapFree", swapfree),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", 0),
        ("Mapped", 0),
        ("Shmem", shared),
        ("Slab", 0),
        ("SReclaimable", 0),
        ("SUnreclaim", 0),
        ("KernelStack", 0),
        ("PageTables", 0),
        ("CommitLimit", total / 2 + swap),
        ("Committed_AS", 0),
        ("VmallocTotal", 34359738367 * 1024),
        ("VmallocUsed", 0),
        ("VmallocChunk", 0),
        ("HugePages_Total", 0),
    ] {
        if n == "HugePages_Total" {
            let _ = writeln!(o, "HugePages_Total:       0\nHugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB");
        } else {
            let _ = writeln!(o, "{:<16}{:>8} kB", format!("{}:", n), kb(v));
        }
    }
    o
}

fn stat() -> String {
    let k = crate::kernel();
    let up = k.boot.elapsed();
    let ticks = up.as_millis() as u64 / 10;
    let n = ncpus();
    let mut o = String::new();
    let _ = writeln!(o, "cpu  0 0 0 {} 0 0 0 0 0 0", ticks * n as u64);
    for i in 0..n {
        let _ = writeln!(o, "cpu{} 0 0 0 {} 0 0 0 0 0 0", i, ticks);
    }
    let btime = crate::vfs::now().sec - up.as_secs() as i64;
    let procs = k.procs.lock().unwrap();
    let nproc = procs.tasks.len();
    drop(procs);
    let _ = writeln!(o, "intr 0\nctxt 0\nbtime {}\nprocesses {}\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0", btime, nproc);
    o
}

/// Files of /proc/sys, by path; directories are implied by the paths.
const SYS_FILES: &[&str] = &[
    "sys/fs/file-max",
    "sys/fs/nr_open",
    "sys/fs/pipe-max-size",
    "sys/kernel/cap_last_cap",
    "sys/kernel/domainname",
    "sys/kernel/hostname",
    "sys/kernel/ngroups_max",
    "sys/kernel/osrelease",
    "sys/kernel/ostype",
    "sys/kernel/overflowgid",
    "sys/kernel/overflowuid",
    "sys/kernel/pid_max",
    "sys/kernel/random/boot_id",
    "sys/kernel/random/entropy_avail",
    "sys/kernel/random/uuid",
    "sys/kernel/threads-max",
    "sys/kernel/version",
    "sys/net/core/optmem_max",
    "sys/net/core/rmem_default",
    "sys/net/core/rmem_max",
    "sys/net/core/somaxconn",
    "sys/net/core/wmem_default",
    "sys/net/core/wmem_max",
    "sys/net/unix/max_dgram_qlen",
    "net/unix",
    "sys/vm/max_map_count",
    "sys/vm/mmap_min_addr",
    "sys/vm/overcommit_memory",
];

/// Every file of /proc/sys, and the IPC namespace's (also /proc/sysvipc).
fn sys_files() -> impl Iterator<Item = &'static &'static str> {
    SYS_FILES.iter().chain(crate::ipc::PROC_PATHS)
}

fn is_sys_dir(p: &str) -> bool {
    sys_files().any(|f| f.len() > p.len() && f.starts_with(p) && f.as_bytes()[p.len()] == b'/')
}

/// The /proc/sys path for `name` inside directory `dir`, if it exists (as a static str).
pub(super) fn sys_lookup(dir: &str, name: &[u8]) -> Option<&'static str> {
    let name = std::str::from_utf8(name).ok()?;
    for f in sys_files() {
        if f.len() > dir.len() + 1 && f.starts_with(dir) && f.as_bytes()[dir.len()] == b'/' {
            let rest = &f[dir.len() + 1..];
            let comp = rest.split('/').next().unwrap_or("");
            if comp == name {
                return Some(&f[..dir.len() + 1 + comp.len()]);
            }
        }
    }
    None
}

/// Children of a /proc/sys directory: (name, full path), sorted, unique.
pub(super) fn sys_children(dir: &str) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&'static str, &'static str)> = Vec::new();
    for f in sys_files() {
        if f.len() > dir.len() + 1 && f.starts_with(dir) && f.as_bytes()[dir.len()] == b'/' {
            let rest = &f[dir.len() + 1..];
            let comp = rest.split('/').next().unwrap_or("");
            let full = &f[..dir.len() + 1 + comp.len()];
            if !v.iter().any(|(n, _)| *n == comp) {
                v.push((comp, full));
            }
        }
    }
    v.sort();
    v
}

pub(super) fn sys_mode(p: &str) -> u32 {
    if is_sys_dir(p) {
        return mode::S_IFDIR | 0o555;
    }
    if let Some(m) = crate::ipc::proc_mode(p) {
        return m;
    }
    match p {
        "sys/kernel/hostname"
        | "sys/kernel/domainname"
        | "sys/vm/overcommit_memory"
        | "sys/vm/max_map_count" => mode::S_IFREG | 0o644,
        _ => mode::S_IFREG | 0o444,
    }
}

/// A random UUID in the kernel's text form.
fn uuid() -> String {
    let mut b = [0u8; 16];
    crate::fs::devfs::fill_random(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{:02x}", x)).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

pub(super) fn sys_content(p: &str) -> Result<Vec<u8>, Errno> {
    static BOOT_ID: OnceLock<String> = OnceLock::new();
    if p == "net/unix" {
        return Ok(crate::net::proc_net_unix());
    }
    if let Some(v) = crate::ipc::proc_read(p) {
        return Ok(v);
    }
    let k = crate::kernel();
    let s = match p {
        "sys/fs/file-max" => "9223372036854775807".to_string(),
        "sys/fs/nr_open" => crate::vfs::fdtable::NR_OPEN.to_string(),
        "sys/fs/pipe-max-size" => crate::fs::pipe::MAX_SIZE.to_string(),
        "sys/kernel/cap_last_cap" => "40".to_string(),
        "sys/kernel/domainname" => {
            String::from_utf8_lossy(&k.domainname.lock().unwrap()).into_owned()
        }
        "sys/kernel/hostname" => String::from_utf8_lossy(&k.hostname.lock().unwrap()).into_owned(),
        "sys/kernel/ngroups_max" => "65536".to_string(),
        "sys/kernel/osrelease" => OSRELEASE.to_string(),
        "sys/kernel/ostype" => "Linux".to_string(),
        "sys/kernel/overflowgid" | "sys/kernel/overflowuid" => "65534".to_string(),
        "sys/kernel/pid_max" => "4194304".to_string(),
        "sys/kernel/random/boot_id" => BOOT_ID.get_or_init(uuid).clone(),
        "sys/kernel/random/entropy_avail" => "256".to_string(),
        "sys/kernel/random/uuid" => uuid(),
        "sys/kernel/threads-max" => "126429".to_string(),
        "sys/kernel/version" => VERSION.to_string(),
        "sys/net/core/somaxconn" => crate::net::sysctl().somaxconn.to_string(),
        "sys/net/core/optmem_max" => crate::net::sysctl().optmem_max.to_string(),
        "sys/net/core/rmem_default" => crate::net::sysctl().rmem_default.to_string(),
        "sys/net/core/rmem_max" => crate::net::sysctl().rmem_max.to_string(),
        "sys/net/core/wmem_default" => crate::net::sysctl().wmem_default.to_string(),
        "sys/net/core/wmem_max" => crate::net::sysctl().wmem_max.to_string(),
        "sys/net/unix/max_dgram_qlen" => crate::net::sysctl().max_dgram_qlen.to_string(),
        "sys/vm/max_map_count" => "65530".to_string(),
        "sys/vm/mmap_min_addr" => crate::mm::MIN_ADDR.to_string(),
        "sys/vm/overcommit_memory" => "0".to_string(),
        _ => return Err(Errno::EISDIR),
    };
    Ok(format!("{}\n", s).into_bytes())
}

/// Writes to /proc/sys: hostname and domainname (CAP_SYS_ADMIN), others EPERM-free no-ops
/// for the writable ones.
pub(super) fn sys_write(p: &str, t: &Task, data: &[u8]) -> Result<usize, Errno> {
    const CAP_SYS_ADMIN: u32 = 21;
    if let Some(r) = crate::ipc::proc_write(p, t, data) {
        return r;
    }
    match p {
        "sys/kernel/hostname" | "sys/kernel/domainname" => {
            if !t.creds().has_cap(CAP_SYS_ADMIN) {
                return Err(Errno::EPERM);
            }
            let mut v: Vec<u8> = data.to_vec();
            while v.last() == Some(&b'\n') {
                v.pop();
            }
            if v.len() > 64 {
                return Err(Errno::EINVAL);
            }
            let k = crate::kernel();
            let slot = if p.ends_with("hostname") {
                &k.hostname
            } else {
                &k.domainname
            };
            *slot.lock().unwrap() = v;
            Ok(data.len())
        }
        "sys/vm/overcommit_memory" | "sys/vm/max_map_count" => Ok(data.len()),
        _ => Err(Errno::EIO),
    }
}
