//! Files (tests/c/files.c): I/O, stat, directories, fd table, pipes,
//! namespace operations on /tmp, permissions, times, devices, /proc, errors.
#[macro_use]
mod common;
use common::Variant;

c_cases!("files", Variant::Static;
    rw, stat_family, getdents, dup_fcntl, pipes, namespace_ops, perms_times, cloexec, devices,
    efault_ebadf, cwd, openat2_case, procfs);

mod dynamic {
    c_cases!("files", crate::common::Variant::Dynamic; rw, procfs, cloexec);
}
