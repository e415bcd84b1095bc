//! File-system extras (tests/c/fsx.c): tmpfs sparse files, fallocate, SEEK_DATA/HOLE,
//! statfs, O_TMPFILE, inode flags; memfd and seals; extended attributes.
#[macro_use]
mod common;
use common::Variant;

c_cases!("fsx", Variant::Static;
    tmpfs_sparse, tmpfs_statfs, tmpfs_tmpfile, tmpfs_chattr, memfd_basic, memfd_seals,
    xattr_tmpfs, xattr_other);

mod locks {
    c_cases!("fsx", crate::common::Variant::Static;
        flock_case, posix_locks, posix_wait_deadlock, ofd_locks, proc_locks, leases);
}

mod inotify {
    c_cases!("fsx", crate::common::Variant::Static;
        inotify_events, inotify_flags, inotify_overflow, inotify_host);
}

mod data {
    c_cases!("fsx", crate::common::Variant::Static;
        splice_case, tee_vmsplice, copy_range, sendfile_misc);
}
