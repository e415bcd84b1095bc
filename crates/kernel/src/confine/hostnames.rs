//! Names of imported host fds (what /proc/PID/fd shows for the container's stdio) once
//! the kernel has no /proc: remembered before the pivot for the fds the kernel holds
//! then, and derived from fstat for fds that arrive later (exec stdio over the control
//! socket): pipes, sockets and well-known character devices; others get "host:[N]".

use std::sync::Mutex;

/// (device, inode, rdev) → name, taken from the host's /proc before the pivot.
static NAMES: Mutex<Vec<((u64, u64, u64), String)>> = Mutex::new(Vec::new());

fn key(st: &libc::stat) -> (u64, u64, u64) {
    (st.st_dev, st.st_ino, st.st_rdev)
}

fn fstat(fd: i32) -> Option<libc::stat> {
    // SAFETY: valid out pointer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st)
}

/// Remembers the names of host fds `fds` (called before the pivot).
pub fn remember(fds: &[i32]) {
    for &fd in fds {
        let (Some(st), Ok(p)) = (fstat(fd), std::fs::read_link(format!("/proc/self/fd/{fd}")))
        else {
            continue;
        };
        NAMES
            .lock()
            .unwrap()
            .push((key(&st), p.to_string_lossy().into_owned()));
    }
}

/// The name of host fd `fd` whose attributes are `st`.
pub fn name(fd: i32, st: &libc::stat) -> String {
    if let Some((_, n)) = NAMES.lock().unwrap().iter().find(|(k, _)| *k == key(st)) {
        return n.clone();
    }
    if !super::confined() {
        if let Ok(p) = std::fs::read_link(format!("/proc/self/fd/{fd}")) {
            return p.to_string_lossy().into_owned();
        }
    }
    derived(st).unwrap_or_else(|| format!("host:[{fd}]"))
}

fn derived(st: &libc::stat) -> Option<String> {
    match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO => Some(format!("pipe:[{}]", st.st_ino)),
        libc::S_IFSOCK => Some(format!("socket:[{}]", st.st_ino)),
        libc::S_IFCHR => {
            let (ma, mi) = (libc::major(st.st_rdev), libc::minor(st.st_rdev));
            Some(match (ma, mi) {
                (1, 3) => "/dev/null".into(),
                (1, 5) => "/dev/zero".into(),
                (1, 7) => "/dev/full".into(),
                (1, 8) => "/dev/random".into(),
                (1, 9) => "/dev/urandom".into(),
                (5, 0) => "/dev/tty".into(),
                (5, 1) => "/dev/console".into(),
                (5, 2) => "/dev/ptmx".into(),
                (4, n) if n < 64 => format!("/dev/tty{n}"),
                (136..=143, n) => format!("/dev/pts/{}", (ma - 136) * 256 + n),
                _ => return None,
            })
        }
        _ => None,
    }
}
