//! File systems: the host's files (opened beneath a root fd, read-only or writable), the
//! overlay (a writable layer over the host's files), tmpfs with its data in the memory
//! file, /dev, devpts, /proc, pipes, and host fds imported as files.

pub mod anon;
pub mod devfs;
pub mod devpts;
pub mod epoll;
pub mod eventfd;
pub mod hostfd;
pub mod hostfs;
pub mod hostwatch;
pub mod inotify;
pub mod overlay;
pub mod pagecache;
pub mod pidfd;
pub mod pipe;
pub mod procfs;
pub mod signalfd;
pub mod sysfs;
pub mod timerfd;
pub mod tmpfs;

use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh anonymous device number (major 0), one per file-system instance.
pub fn anon_dev() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(40);
    crate::vfs::stat::makedev(0, NEXT.fetch_add(1, Ordering::Relaxed))
}
