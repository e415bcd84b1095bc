//! File-system extras (tests/c/fsx.c), each case run natively and under moat: tmpfs
//! (sparse files, fallocate, SEEK_DATA/HOLE, statfs, O_TMPFILE, inode flags, punching
//! mapped pages), memfd and seals, extended attributes, locks (flock, POSIX with
//! multi-process contention and deadlock detection, OFD, /proc/locks, leases), inotify,
//! splice/tee/vmsplice/copy_file_range/sendfile, procfs; procps tools; Python's APIs.
#[macro_use]
mod common;
use common::Variant;

c_cases!("fsx", Variant::Static;
    tmpfs_sparse, tmpfs_statfs, tmpfs_tmpfile, tmpfs_chattr, tmpfs_punch_mapped, memfd_basic,
    memfd_seals, xattr_tmpfs, xattr_other);

mod locks {
    c_cases!("fsx", crate::common::Variant::Static;
        flock_case, posix_locks, posix_wait_deadlock, ofd_locks, proc_locks, leases,
        lease_break);
}

mod inotify {
    c_cases!("fsx", crate::common::Variant::Static;
        inotify_events, inotify_flags, inotify_overflow, inotify_host, fdinfo_extra);
}

mod data {
    c_cases!("fsx", crate::common::Variant::Static;
        splice_case, tee_vmsplice, copy_range, sendfile_misc);
}

mod procfs {
    c_cases!("fsx", crate::common::Variant::Static; procfs_mem, procfs_pid_more);
}

/// procps tools read /proc: they must run and their output must parse the same way
/// (exact figures differ: the sandbox has its own processes and memory).
#[test]
fn procps_tools() {
    for p in [
        "/usr/bin/ps",
        "/usr/bin/free",
        "/usr/bin/top",
        "/usr/bin/uptime",
    ] {
        common::require(p);
    }
    common::sh(
        r#"
n() { sed -E 's/[0-9]+([.,:][0-9]+)*/N/g' | tr -s ' ' | sed 's/^ //'; }
ps -eo pid,ppid,stat,comm,rss,vsz,etime,tty,user,nlwp,pcpu,pmem >/dev/null && echo ps-o ok
ps -eo pid,ppid,stat,comm,rss,vsz,etime,tty,user | head -1 | n
ps -o pid=,comm= -p $$ | n
ps aux | head -1 | n
ps -ef | head -1 | n
ps -L -o pid,lwp,nlwp,comm -p $$ | n
ps -o rss=,vsz= -p $$ | awk '{ print ($1 > 0 && $2 >= $1) ? "rss/vsz ok" : "rss/vsz bad: " $0 }'
free >/dev/null && echo free ok
free | n
free -m -w | head -1 | n
uptime >/dev/null && echo uptime ok
uptime | grep -c 'load average: [0-9.]*, [0-9.]*, [0-9.]*$'
top -b -n1 >/dev/null && echo top ok
top -b -n1 | head -5 | n | cut -c1-8
top -b -n1 | sed -n 7p | n
top -b -n1 -p $$ | tail -1 | awk '{ print $1 == '$$' ? "top sees the shell" : "top: " $0 }'
"#,
    )
    .diff();
}

/// Python's os/fcntl interfaces to the same calls (tests/py/fsx.py).
#[test]
fn python_fs_apis() {
    common::require("/usr/bin/python3");
    // A copy where the sandbox sees it (a checkout under /tmp is hidden by its tmpfs).
    let dir = common::artifact_root();
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("fsx.py");
    std::fs::copy(common::repo_root().join("tests/py/fsx.py"), &script).unwrap();
    common::cmd(&[std::ffi::OsStr::new("/usr/bin/python3"), script.as_os_str()]).diff();
}

/// chattr/lsattr: tmpfs keeps the flags it knows; host files show theirs.
#[test]
fn chattr_lsattr() {
    common::require("/usr/bin/chattr");
    common::require("/usr/bin/lsattr");
    common::sh(
        r#"
d=$(mktemp -d /dev/shm/moat-attr-XXXXXX); cd $d
touch f; mkdir sub
lsattr f | cut -d' ' -f1
chattr +i +d +A f && lsattr f | cut -d' ' -f1
echo x > f 2>/dev/null || echo "immutable: write refused"
rm -f f 2>/dev/null || echo "immutable: rm refused"
chattr -i f && chattr +a f && lsattr f | cut -d' ' -f1
echo y >> f && echo "append-only: append ok"
echo z > f 2>/dev/null || echo "append-only: overwrite refused"
chattr -a -d -A f && rm f && echo removed
chattr +c sub 2>&1 | sed 's/.*: //'
lsattr -d sub | cut -d' ' -f1
lsattr -d /etc | cut -c1-5
cd /; rm -rf $d
"#,
    )
    .diff();
}
