//! The internal file system of files with no place in the tree (pipes, imported host
//! fds): each gets a detached dentry named as /proc/PID/fd shows it.

use crate::vfs::{dentry, oflags, Ctx, File, FileOps, FileSystem, Inode, Loc, Stat, StatFs};
use abi::Errno;
use std::any::Any;
use std::sync::{Arc, Mutex, OnceLock};

pub struct AnonFs {
    dev: u64,
}

impl AnonFs {
    pub fn instance() -> Arc<AnonFs> {
        static I: OnceLock<Arc<AnonFs>> = OnceLock::new();
        I.get_or_init(|| {
            Arc::new(AnonFs {
                dev: super::anon_dev(),
            })
        })
        .clone()
    }

    pub fn root_inode() -> Arc<dyn Inode> {
        AnonInode::new(crate::vfs::mode::S_IFDIR | 0o500, 0)
    }
}

impl FileSystem for AnonFs {
    fn name(&self) -> &str {
        "anon_inodefs"
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn statfs(&self) -> StatFs {
        StatFs {
            fs_type: 0x09041934,
            bsize: 4096,
            namelen: 255,
            frsize: 4096,
            ..Default::default()
        }
    }
}

/// An inode that only carries attributes; its files' behaviour comes from whoever made
/// them (reopening one through /proc/PID/fd is not supported: ENXIO).
pub struct AnonInode {
    st: Mutex<Stat>,
}

impl AnonInode {
    pub fn new(mode: u32, ino: u64) -> Arc<AnonInode> {
        let now = crate::vfs::now();
        Arc::new(AnonInode {
            st: Mutex::new(Stat {
                dev: AnonFs::instance().dev,
                ino,
                mode,
                nlink: 1,
                blksize: 4096,
                atime: now,
                mtime: now,
                ctime: now,
                ..Default::default()
            }),
        })
    }

    pub fn with_stat(st: Stat) -> Arc<AnonInode> {
        Arc::new(AnonInode { st: Mutex::new(st) })
    }

    /// Touches mtime/ctime (writes) or atime (reads).
    pub fn touch(&self, write: bool) {
        let now = crate::vfs::now();
        let mut s = self.st.lock().unwrap();
        if write {
            s.mtime = now;
            s.ctime = now;
        } else {
            s.atime = now;
        }
    }
}

impl Inode for AnonInode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.st.lock().unwrap().clone())
    }
    fn mode(&self) -> u32 {
        self.st.lock().unwrap().mode
    }
    fn open(
        self: Arc<Self>,
        _ctx: &Ctx,
        _loc: &Loc,
        _flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        Err(Errno::ENXIO)
    }
}

/// The one inode behind every anon_inode file (eventfd, epoll, timerfd, signalfd), as
/// Linux's anon_inode_inode: mode 0600 with no file type bits.
pub fn shared_inode() -> Arc<dyn Inode> {
    static I: OnceLock<Arc<AnonInode>> = OnceLock::new();
    I.get_or_init(|| AnonInode::new(0o600, 1)).clone()
}

/// A new file on the shared anonymous inode, named "anon_inode:[KIND]" in /proc; open
/// for reading and writing, with O_NONBLOCK from `flags`.
pub fn anon_inode_file(kind: &str, flags: u32, ops: Box<dyn FileOps>) -> Arc<File> {
    let name = format!("anon_inode:[{kind}]");
    File::new(
        dentry::anon_loc(name.as_bytes(), shared_inode()),
        oflags::O_RDWR | (flags & oflags::O_NONBLOCK),
        ops,
    )
}

/// The wait of a blocking read or write of an event file: runs `attempt` until it yields a
/// value, sleeping on `wq` between tries (interruptibly); a non-blocking file gets EAGAIN
/// instead of a sleep.
pub fn wait_or_eagain<T>(
    t: &crate::task::Task,
    f: &File,
    wq: &crate::wait::WaitQueue,
    mut attempt: impl FnMut() -> Result<Option<T>, Errno>,
) -> Result<T, Errno> {
    let nonblock = f.nonblock();
    t.wait_until(&[wq], None, None, || match attempt()? {
        Some(v) => Ok(Some(v)),
        None if nonblock => Err(Errno::EAGAIN),
        None => Ok(None),
    })
}

/// The offset methods of Linux's anon_inode files that have noop_llseek (eventfd, epoll,
/// timerfd, signalfd): no offset of their own, and lseek succeeds with 0. For use inside
/// an `impl FileOps` block.
#[macro_export]
macro_rules! noop_llseek {
    () => {
        fn seekable(&self) -> bool {
            false
        }
        fn seek(&self, _off: i64, _whence: u32) -> Result<u64, abi::Errno> {
            Ok(0)
        }
    };
}
