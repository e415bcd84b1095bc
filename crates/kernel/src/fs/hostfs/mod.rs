//! A host directory tree (or a single host file) as a file system, read-only or
//! writable, chosen per mount (`mount(path, writable)`).
//!
//! The kernel opens host files itself beneath the mount's root fd. Every object it has
//! looked up keeps an O_PATH|O_NOFOLLOW fd, and every host call is made either on such
//! an fd (fstat, fchownat/utimensat/fchmodat2 with AT_EMPTY_PATH, linkat AT_EMPTY_PATH,
//! readlinkat with an empty path) or on a directory's fd with a single name component,
//! never following a symlink (openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
//! RESOLVE_NO_SYMLINKS, mkdirat, mknodat, symlinkat, unlinkat, renameat2, fstatat with
//! AT_SYMLINK_NOFOLLOW). So no symlink, `..` or rename in the host tree makes the kernel
//! touch a file outside the mounted directory: symlinks are read and followed by moat's
//! own walker, `..` by the VFS's dentries.
//!
//! Regular files are reopened for I/O from their parent's fd by name, and checked to be
//! the object looked up (else ESTALE). Attributes of a read-only mount are cached at
//! lookup (the host tree is assumed not to change under the sandbox); a writable mount
//! asks the host on every stat. Names are cached as the VFS caches dentries: a host file
//! renamed behind the sandbox's back keeps its old name until the cached entry goes.

mod file;
pub mod sys;

use crate::fs::pagecache;
use crate::vfs::{mode, Ctx, FileOps, FileSystem, Inode, Loc, SetAttr, Stat, StatFs};
use abi::Errno;
use file::{HostDirOps, HostFileOps};
use std::any::Any;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, Weak};

const ST_RDONLY: u64 = 1;
const ST_RELATIME: u64 = 0x400;

struct Shared {
    dev: u64,
    writable: bool,
    /// The mount's root (or, for a single file, its directory): for statfs.
    statfs_fd: OwnedFd,
    /// Serializes renames, so the name caches follow the host in order.
    rename_lock: Mutex<()>,
}

pub struct HostFs {
    sh: Arc<Shared>,
}

impl HostFs {
    pub fn writable(&self) -> bool {
        self.sh.writable
    }
}

impl FileSystem for HostFs {
    fn name(&self) -> &str {
        "hostfs"
    }
    fn dev(&self) -> u64 {
        self.sh.dev
    }
    fn statfs(&self) -> StatFs {
        let Ok(sf) = sys::fstatfs(self.sh.statfs_fd.as_raw_fd()) else {
            return StatFs::default();
        };
        StatFs {
            fs_type: sf.f_type as u64,
            bsize: sf.f_bsize as u64,
            blocks: sf.f_blocks,
            bfree: sf.f_bfree,
            bavail: sf.f_bavail,
            files: sf.f_files,
            ffree: sf.f_ffree,
            fsid: self.sh.dev,
            namelen: sf.f_namelen as u64,
            frsize: sf.f_frsize as u64,
            flags: if self.sh.writable {
                ST_RELATIME
            } else {
                ST_RDONLY | ST_RELATIME
            },
        }
    }
}

/// Opens the host directory or file `path` as a file system, writable or read-only:
/// its fs and root inode. `path` is resolved by the host (symlinks in it are followed:
/// it is the caller's choice); everything below it is walked by moat.
pub fn mount(path: &str, writable: bool) -> Result<(Arc<HostFs>, Arc<HostInode>), Errno> {
    let open_path = |p: &str, flags: i32| -> Result<OwnedFd, Errno> {
        let c = std::ffi::CString::new(p).map_err(|_| Errno::EINVAL)?;
        // SAFETY: valid C string.
        let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC | flags) };
        if fd < 0 {
            return Err(sys::errno());
        }
        // SAFETY: a fresh fd.
        Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
    };
    let shared = |dev: u64, statfs_fd: RawFd| -> Result<Arc<Shared>, Errno> {
        Ok(Arc::new(Shared {
            dev,
            writable,
            statfs_fd: sys::dup(statfs_fd)?,
            rename_lock: Mutex::new(()),
        }))
    };
    let fd = open_path(path, 0)?;
    let st = sys::fstat(fd.as_raw_fd())?;
    if mode::is_dir(st.mode) {
        let sh = shared(st.dev, fd.as_raw_fd())?;
        let root = HostInode::new(&sh, None, Vec::new(), fd, st, false);
        return Ok((Arc::new(HostFs { sh: sh.clone() }), root));
    }
    // A single file: its directory is held (never reachable from the sandbox) so the
    // file can be reopened by name.
    drop(fd);
    let real = std::fs::canonicalize(path).map_err(|e| Errno(e.raw_os_error().unwrap_or(5)))?;
    let name = real
        .file_name()
        .map(|n| std::os::unix::ffi::OsStrExt::as_bytes(n).to_vec())
        .ok_or(Errno::EINVAL)?;
    let dir = real.parent().ok_or(Errno::EINVAL)?;
    let dfd = open_path(&dir.to_string_lossy(), libc::O_DIRECTORY)?;
    let dst = sys::fstat(dfd.as_raw_fd())?;
    let fd = sys::open_beneath(dfd.as_raw_fd(), &name, libc::O_PATH, 0)?;
    let st = sys::fstat(fd.as_raw_fd())?;
    let sh = shared(st.dev, dfd.as_raw_fd())?;
    let parent = HostInode::new(&sh, None, Vec::new(), dfd, dst, false);
    let root = HostInode::new(&sh, Some(parent), name, fd, st, false);
    Ok((Arc::new(HostFs { sh }), root))
}

/// Where an object is named: the directories and names it is known by here (hard links
/// made through this mount add names; unlink and rename remove or move them). Empty for
/// directories reached through their own fd, and for removed and unnamed files.
struct Link {
    names: Vec<(Arc<HostInode>, Vec<u8>)>,
}

impl Link {
    fn add(&mut self, dir: &Arc<HostInode>, name: &[u8]) {
        self.names.push((dir.clone(), name.to_vec()));
    }
    fn remove(&mut self, dir: &HostInode, name: &[u8]) {
        self.names
            .retain(|(d, n)| !(std::ptr::eq(Arc::as_ptr(d), dir) && n == name));
    }
}

pub struct HostInode {
    sh: Arc<Shared>,
    me: Weak<HostInode>,
    link: Mutex<Link>,
    /// O_PATH|O_NOFOLLOW fd of the object (for an O_TMPFILE file: its O_RDWR fd).
    fd: OwnedFd,
    /// `fd` is an I/O fd of an unnamed file (O_TMPFILE): opens duplicate it.
    tmpfile: bool,
    /// Attributes (refreshed from the host on writable mounts).
    st: Mutex<Stat>,
    /// Live objects looked up in this directory, so each name has one object while it is
    /// in use (and renames can update it).
    children: Mutex<HashMap<Vec<u8>, Weak<HostInode>>>,
    /// The read-write host fd shared by the open writable files of this object.
    rw: Mutex<Weak<OwnedFd>>,
    /// Serializes writes (O_APPEND's size and the page cache's update).
    io: Mutex<()>,
}

impl HostInode {
    fn new(
        sh: &Arc<Shared>,
        parent: Option<Arc<HostInode>>,
        name: Vec<u8>,
        fd: OwnedFd,
        st: Stat,
        tmpfile: bool,
    ) -> Arc<HostInode> {
        Arc::new_cyclic(|me| HostInode {
            sh: sh.clone(),
            me: me.clone(),
            link: Mutex::new(Link {
                names: match parent {
                    Some(p) if !tmpfile => vec![(p, name)],
                    _ => Vec::new(),
                },
            }),
            fd,
            tmpfile,
            st: Mutex::new(st),
            children: Mutex::new(HashMap::new()),
            rw: Mutex::new(Weak::new()),
            io: Mutex::new(()),
        })
    }

    /// (device, inode) of the host object.
    pub fn key(&self) -> (u64, u64) {
        let s = self.st.lock().unwrap();
        (s.dev, s.ino)
    }

    fn is_dir(&self) -> bool {
        mode::is_dir(self.mode())
    }

    fn dirfd(&self) -> Result<RawFd, Errno> {
        if self.is_dir() {
            Ok(self.fd.as_raw_fd())
        } else {
            Err(Errno::ENOTDIR)
        }
    }

    fn want_write(&self) -> Result<(), Errno> {
        if self.sh.writable {
            Ok(())
        } else {
            Err(Errno::EROFS)
        }
    }

    fn refresh(&self) -> Result<Stat, Errno> {
        let st = sys::fstat(self.fd.as_raw_fd())?;
        *self.st.lock().unwrap() = st.clone();
        Ok(st)
    }

    /// Opens this object on the host for I/O with `flags`, checking that it is still the
    /// object that was looked up.
    pub fn reopen(&self, flags: i32) -> Result<OwnedFd, Errno> {
        if self.tmpfile {
            return sys::dup(self.fd.as_raw_fd());
        }
        if self.is_dir() {
            return sys::open_dir_self(self.fd.as_raw_fd(), flags);
        }
        let names = self.link.lock().unwrap().names.clone();
        let mut err = Errno::ENOENT;
        for (parent, name) in names {
            match sys::open_beneath(parent.dirfd()?, &name, flags, 0) {
                Ok(fd) => {
                    let st = sys::fstat(fd.as_raw_fd())?;
                    if (st.dev, st.ino) == self.key() {
                        return Ok(fd);
                    }
                    err = Errno::ESTALE;
                }
                Err(e) => err = e,
            }
        }
        Err(err)
    }

    /// An extended attribute of this directory or regular file (the overlay's marks).
    pub fn xattr(&self, name: &str) -> Result<Vec<u8>, Errno> {
        let f = self.reopen(libc::O_RDONLY)?;
        sys::fgetxattr(f.as_raw_fd(), name)
    }

    pub fn set_xattr(&self, name: &str, value: &[u8]) -> Result<(), Errno> {
        self.want_write()?;
        let f = self.reopen(libc::O_RDONLY)?;
        sys::fsetxattr(f.as_raw_fd(), name, value)
    }

    /// The host fd shared by this object's writable opens (opened read-write if none).
    fn rw_fd(&self) -> Result<Arc<OwnedFd>, Errno> {
        let mut w = self.rw.lock().unwrap();
        if let Some(f) = w.upgrade() {
            return Ok(f);
        }
        let f = Arc::new(self.reopen(libc::O_RDWR)?);
        *w = Arc::downgrade(&f);
        Ok(f)
    }

    /// Records a live child object under `name`.
    fn adopt(&self, name: &[u8], child: &Arc<HostInode>) {
        let mut c = self.children.lock().unwrap();
        if c.len() >= 64 && c.len().is_power_of_two() {
            c.retain(|_, w| w.strong_count() > 0);
        }
        c.insert(name.to_vec(), Arc::downgrade(child));
    }

    fn new_child(&self, name: &[u8], fd: OwnedFd, st: Stat, tmpfile: bool) -> Arc<HostInode> {
        let parent = self.me.upgrade();
        let c = HostInode::new(&self.sh, parent, name.to_vec(), fd, st, tmpfile);
        if !tmpfile {
            self.adopt(name, &c);
        }
        c
    }

    /// Gives a new object the owner Linux would (the caller's fsuid; the directory's
    /// group when it is set-group-ID, else the caller's fsgid) and exactly the mode asked
    /// for (the host applied its own umask and rules).
    fn settle_new(&self, ctx: &Ctx, fd: &OwnedFd, perms: Option<u32>) -> Result<Stat, Errno> {
        let st = sys::fstat(fd.as_raw_fd())?;
        let dir = self.st.lock().unwrap().clone();
        let sgid = dir.mode & mode::S_ISGID != 0;
        let uid = ctx.creds.fsuid;
        let gid = if sgid { dir.gid } else { ctx.creds.fsgid };
        if st.uid != uid || st.gid != gid {
            sys::chown_fd(fd.as_raw_fd(), uid, gid)?;
        }
        if let Some(p) = perms {
            let mut want = p & 0o7777;
            if sgid && mode::is_dir(st.mode) {
                want |= mode::S_ISGID;
            }
            if st.mode & 0o7777 != want || st.uid != uid || st.gid != gid {
                sys::chmod_fd(fd.as_raw_fd(), want, || Err(Errno::ENOSYS))?;
            }
        }
        sys::fstat(fd.as_raw_fd())
    }

    /// After creating `name` on the host: its object, owner and mode settled. On failure
    /// the new entry is removed again.
    fn finish_create(
        &self,
        ctx: &Ctx,
        name: &[u8],
        perms: Option<u32>,
    ) -> Result<Arc<HostInode>, Errno> {
        let dir = self.fd.as_raw_fd();
        let r = sys::open_beneath(dir, name, libc::O_PATH, 0)
            .and_then(|fd| self.settle_new(ctx, &fd, perms).map(|st| (fd, st)));
        match r {
            Ok((fd, st)) => {
                let _ = self.refresh();
                Ok(self.new_child(name, fd, st, false))
            }
            Err(e) => {
                let rmflag = match sys::stat_at(dir, name) {
                    Ok(s) if mode::is_dir(s.mode) => libc::AT_REMOVEDIR,
                    _ => 0,
                };
                let _ = sys::unlinkat(dir, name, rmflag);
                Err(e)
            }
        }
    }

    /// A child removed by name: its object (if live) no longer has that name.
    fn forget(&self, name: &[u8]) {
        if let Some(c) = self
            .children
            .lock()
            .unwrap()
            .remove(name)
            .and_then(|w| w.upgrade())
        {
            c.link.lock().unwrap().remove(self, name);
        }
    }
}

fn host_inode(i: &Arc<dyn Inode>) -> Option<&HostInode> {
    i.as_any().downcast_ref::<HostInode>()
}

impl Inode for HostInode {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn stat(&self) -> Result<Stat, Errno> {
        if self.sh.writable {
            return self.refresh();
        }
        Ok(self.st.lock().unwrap().clone())
    }

    fn mode(&self) -> u32 {
        self.st.lock().unwrap().mode
    }

    fn lookup(&self, _ctx: &Ctx, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let dir = self.dirfd()?;
        if let Some(c) = self
            .children
            .lock()
            .unwrap()
            .get(name)
            .and_then(|w| w.upgrade())
        {
            return Ok(c);
        }
        let fd = sys::open_beneath(dir, name, libc::O_PATH, 0)?;
        let st = sys::fstat(fd.as_raw_fd())?;
        Ok(self.new_child(name, fd, st, false))
    }

    fn readlink(&self, _ctx: &Ctx) -> Result<Vec<u8>, Errno> {
        if !mode::is_lnk(self.mode()) {
            return Err(Errno::EINVAL);
        }
        sys::readlink_fd(self.fd.as_raw_fd())
    }

    fn open(
        self: Arc<Self>,
        _ctx: &Ctx,
        _loc: &Loc,
        flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        match self.mode() & mode::S_IFMT {
            mode::S_IFREG => {
                let acc = flags & 3;
                if acc != 0 {
                    self.want_write()?;
                    let fd = self.rw_fd()?;
                    return Ok(Box::new(HostFileOps {
                        inode: self.clone(),
                        fd,
                        writable: true,
                    }));
                }
                let fd = Arc::new(self.reopen(libc::O_RDONLY)?);
                Ok(Box::new(HostFileOps {
                    inode: self.clone(),
                    fd,
                    writable: false,
                }))
            }
            mode::S_IFDIR => {
                let fd = self.reopen(libc::O_RDONLY)?;
                Ok(Box::new(HostDirOps { fd: Mutex::new(fd) }))
            }
            mode::S_IFIFO => {
                let (dev, ino) = self.key();
                Ok(Box::new(file::fifo(dev, ino).open_end(flags).named()))
            }
            mode::S_IFLNK => Err(Errno::ELOOP),
            // Host device nodes and sockets are not reachable from the sandbox.
            _ => Err(Errno::ENXIO),
        }
    }

    fn create(&self, ctx: &Ctx, name: &[u8], m: u32) -> Result<Arc<dyn Inode>, Errno> {
        self.want_write()?;
        sys::mknodat(self.dirfd()?, name, libc::S_IFREG | (m & 0o7777), 0)?;
        Ok(self.finish_create(ctx, name, Some(m))?)
    }

    fn mkdir(&self, ctx: &Ctx, name: &[u8], m: u32) -> Result<Arc<dyn Inode>, Errno> {
        self.want_write()?;
        sys::mkdirat(self.dirfd()?, name, m & 0o7777)?;
        Ok(self.finish_create(ctx, name, Some(m))?)
    }

    /// FIFOs, sockets and the overlay whiteout (char 0/0); other devices are EPERM.
    fn mknod(&self, ctx: &Ctx, name: &[u8], m: u32, rdev: u64) -> Result<Arc<dyn Inode>, Errno> {
        self.want_write()?;
        if m & mode::S_IFMT == mode::S_IFREG || m & mode::S_IFMT == 0 {
            return self.create(ctx, name, m);
        }
        sys::mknodat(self.dirfd()?, name, m, rdev)?;
        Ok(self.finish_create(ctx, name, Some(m))?)
    }

    fn symlink(&self, ctx: &Ctx, name: &[u8], target: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.want_write()?;
        sys::symlinkat(target, self.dirfd()?, name)?;
        Ok(self.finish_create(ctx, name, None)?)
    }

    fn link(&self, _ctx: &Ctx, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        self.want_write()?;
        let t = host_inode(target).ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&t.sh, &self.sh) {
            return Err(Errno::EXDEV);
        }
        sys::link_fd(t.fd.as_raw_fd(), self.dirfd()?, name)?;
        if let (Some(me), Some(tt)) = (self.me.upgrade(), t.me.upgrade()) {
            tt.link.lock().unwrap().add(&me, name);
            self.adopt(name, &tt);
        }
        let _ = t.refresh();
        let _ = self.refresh();
        Ok(())
    }

    fn unlink(&self, _ctx: &Ctx, name: &[u8]) -> Result<(), Errno> {
        self.want_write()?;
        sys::unlinkat(self.dirfd()?, name, 0)?;
        self.forget(name);
        let _ = self.refresh();
        Ok(())
    }

    fn rmdir(&self, _ctx: &Ctx, name: &[u8]) -> Result<(), Errno> {
        self.want_write()?;
        sys::unlinkat(self.dirfd()?, name, libc::AT_REMOVEDIR)?;
        self.forget(name);
        let _ = self.refresh();
        Ok(())
    }

    fn rename(
        &self,
        _ctx: &Ctx,
        old: &[u8],
        newdir: &Arc<dyn Inode>,
        new: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        self.want_write()?;
        let nd = host_inode(newdir).ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&nd.sh, &self.sh) {
            return Err(Errno::EXDEV);
        }
        let _g = self.sh.rename_lock.lock().unwrap();
        sys::renameat2(self.dirfd()?, old, nd.dirfd()?, new, flags)?;
        const RENAME_EXCHANGE: u32 = 2;
        let moved = self
            .children
            .lock()
            .unwrap()
            .remove(old)
            .and_then(|w| w.upgrade());
        let other = nd
            .children
            .lock()
            .unwrap()
            .remove(new)
            .and_then(|w| w.upgrade());
        let (me, ndp) = (self.me.upgrade(), nd.me.upgrade());
        if let (Some(m), Some(ndp)) = (&moved, &ndp) {
            let mut l = m.link.lock().unwrap();
            l.remove(self, old);
            l.add(ndp, new);
            drop(l);
            nd.adopt(new, m);
        }
        if let Some(o) = other {
            let mut l = o.link.lock().unwrap();
            l.remove(nd, new);
            if flags & RENAME_EXCHANGE != 0 {
                if let Some(me) = &me {
                    l.add(me, old);
                    drop(l);
                    self.adopt(old, &o);
                }
            }
        }
        let _ = self.refresh();
        let _ = nd.refresh();
        Ok(())
    }

    fn tmpfile(&self, ctx: &Ctx, m: u32) -> Result<Arc<dyn Inode>, Errno> {
        self.want_write()?;
        let fd = sys::open_tmpfile(self.dirfd()?, m & 0o7777)?;
        let st = self.settle_new(ctx, &fd, Some(m))?;
        Ok(self.new_child(b"", fd, st, true))
    }

    fn setattr(&self, _ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        self.want_write()?;
        let fd = self.fd.as_raw_fd();
        if let Some(size) = a.size {
            match self.mode() & mode::S_IFMT {
                mode::S_IFREG => {}
                mode::S_IFDIR => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
            let _g = self.io.lock().unwrap();
            let w = self.rw_fd()?;
            sys::ftruncate(w.as_raw_fd(), size)?;
            let (dev, ino) = self.key();
            if let Some(c) = pagecache::find(dev, ino) {
                let st = sys::fstat(w.as_raw_fd())?;
                c.truncated(st.size, (st.mtime.sec, st.mtime.nsec));
            }
        }
        if a.uid.is_some() || a.gid.is_some() {
            sys::chown_fd(fd, a.uid.unwrap_or(u32::MAX), a.gid.unwrap_or(u32::MAX))?;
        }
        if let Some(m) = a.mode {
            sys::chmod_fd(fd, m & 0o7777, || {
                self.reopen(libc::O_RDONLY | libc::O_NONBLOCK)
            })?;
        }
        if a.atime.is_some() || a.mtime.is_some() {
            sys::utimes_fd(fd, a.atime, a.mtime)?;
        }
        self.refresh()?;
        Ok(())
    }

    fn fallocate(&self, fmode: u32, off: u64, len: u64) -> Result<(), Errno> {
        self.want_write()?;
        if !mode::is_reg(self.mode()) {
            return Err(Errno::ENODEV);
        }
        let _g = self.io.lock().unwrap();
        let w = self.rw_fd()?;
        sys::fallocate(w.as_raw_fd(), fmode, off, len)?;
        let (dev, ino) = self.key();
        if let Some(c) = pagecache::find(dev, ino) {
            const PUNCH_HOLE: u32 = 2;
            const ZERO_RANGE: u32 = 0x10;
            if fmode & (PUNCH_HOLE | ZERO_RANGE) != 0 {
                c.zeroed(off, len);
            }
            let st = sys::fstat(w.as_raw_fd())?;
            c.truncated(st.size, (st.mtime.sec, st.mtime.nsec));
        }
        Ok(())
    }
}
