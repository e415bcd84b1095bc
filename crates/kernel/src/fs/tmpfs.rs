//! tmpfs: a file system whose structure lives in kernel memory and whose file data lives
//! in the memory file (a `PageSet` per file), so that MAP_SHARED mappings and read/write
//! see the same pages. Also the base of /dev and /dev/shm.

mod attr;
mod data;
mod opts;

pub use data::*;
pub use opts::{memparse, TmpfsOptions};
pub mod memfd;

use super::pipe::Pipe;
use crate::memfile::PAGE;
use crate::mm::{MemObject, VmaName};
use crate::task::{SysResult, Task};
use crate::vfs::inode::POLLIN;
use crate::vfs::inode::POLLOUT;
use crate::vfs::{
    mode, Ctx, Dentry, DirEnt, File, FileOps, FileSystem, Inode, Loc, SetAttr, Stat, StatFs,
    Timespec,
};
use abi::Errno;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

const TMPFS_MAGIC: u64 = 0x0102_1994;

/// State shared by every inode of one tmpfs instance.
struct Shared {
    dev: u64,
    next_ino: AtomicU64,
    /// Serializes renames (Linux's s_vfs_rename_mutex), so that the loop check holds.
    rename_lock: Mutex<()>,
    /// Blocks and inodes in use against the size= and nr_inodes= limits.
    acct: Arc<Account>,
}

/// Memory size in pages, the base of tmpfs's default limits (half of it each, as Linux).
pub fn total_ram_pages() -> u64 {
    // SAFETY: zeroed plain struct filled by the host.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    unsafe { libc::sysinfo(&mut si) };
    (si.totalram as u64 * si.mem_unit.max(1) as u64) / PAGE
}

pub struct TmpFs {
    shared: Arc<Shared>,
    root: Arc<TmpInode>,
    name: &'static str,
}

impl TmpFs {
    /// A fresh tmpfs whose root directory has permission bits `root_mode`, owned by root.
    pub fn new(root_mode: u32) -> Arc<TmpFs> {
        Self::new_named(root_mode, "tmpfs")
    }

    pub fn new_named(root_mode: u32, name: &'static str) -> Arc<TmpFs> {
        let o = TmpfsOptions {
            mode: Some(root_mode),
            ..Default::default()
        };
        Self::with_options(&o, name)
    }

    /// A tmpfs with mount options (limits default to half of memory, as Linux's).
    pub fn with_options(o: &TmpfsOptions, name: &'static str) -> Arc<TmpFs> {
        let half = (total_ram_pages() / 2).max(1);
        let acct = Arc::new(Account::default());
        acct.max_pages
            .store(o.max_pages.unwrap_or(half), Ordering::Relaxed);
        acct.max_inodes
            .store(o.max_inodes.unwrap_or(half), Ordering::Relaxed);
        let shared = Arc::new(Shared {
            dev: super::anon_dev(),
            next_ino: AtomicU64::new(2),
            rename_lock: Mutex::new(()),
            acct,
        });
        let root = TmpInode::new(
            &shared,
            mode::S_IFDIR | (o.mode.unwrap_or(0o1777) & 0o7777),
            o.uid.unwrap_or(0),
            o.gid.unwrap_or(0),
            Kind::Dir(Mutex::new(DirData::new())),
        )
        .expect("a new tmpfs has room for its root");
        Arc::new(TmpFs { shared, root, name })
    }

    /// A regular file of this file system that has no name (memfd_create).
    pub fn unnamed_file(&self, m: u32) -> Result<Arc<TmpInode>, Errno> {
        let i = TmpInode::new(
            &self.shared,
            mode::S_IFREG | (m & 0o7777),
            0,
            0,
            Kind::File(Arc::new(FileData::new(self.shared.acct.clone()))),
        )?;
        i.meta.lock().unwrap().nlink = 0;
        Ok(i)
    }

    /// A new root dentry for mounting this file system.
    pub fn root_dentry(&self) -> Arc<Dentry> {
        Dentry::new_root(b"/", self.root.clone())
    }

    pub fn root_inode(&self) -> Arc<TmpInode> {
        self.root.clone()
    }
}

impl FileSystem for TmpFs {
    fn name(&self) -> &str {
        self.name
    }
    fn dev(&self) -> u64 {
        self.shared.dev
    }
    fn statfs(&self) -> StatFs {
        // Linux's shmem_statfs: with no limit, blocks and files are left zero.
        let a = &self.shared.acct;
        let (mp, used) = (
            a.max_pages.load(Ordering::Relaxed),
            a.used_pages.load(Ordering::Relaxed),
        );
        let (mi, inodes) = (
            a.max_inodes.load(Ordering::Relaxed),
            a.inodes.load(Ordering::Relaxed),
        );
        StatFs {
            fs_type: TMPFS_MAGIC,
            bsize: PAGE,
            blocks: mp,
            bfree: mp.saturating_sub(used),
            bavail: mp.saturating_sub(used),
            files: mi,
            ffree: mi.saturating_sub(inodes),
            fsid: self.shared.dev,
            namelen: 255,
            frsize: PAGE,
            flags: 0x20, // ST_VALID; the mount's flags are added by the VFS
        }
    }
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    btime: Timespec,
    /// Extended attributes (user., trusted., security.).
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
    /// FS_IOC_GETFLAGS bits (FS_*_FL) that tmpfs keeps.
    iflags: u32,
}

/// A directory's entries, in creation order: the sequence number is the readdir
/// position, stable across insertions and removals.
pub struct DirData {
    entries: BTreeMap<u64, Entry>,
    names: HashMap<Vec<u8>, u64>,
    next_seq: u64,
}

struct Entry {
    name: Vec<u8>,
    inode: Arc<TmpInode>,
}

impl DirData {
    fn new() -> DirData {
        DirData {
            entries: BTreeMap::new(),
            names: HashMap::new(),
            next_seq: 2,
        }
    }
    fn get(&self, name: &[u8]) -> Option<&Arc<TmpInode>> {
        self.names
            .get(name)
            .and_then(|s| self.entries.get(s))
            .map(|e| &e.inode)
    }
    fn insert(&mut self, name: &[u8], inode: Arc<TmpInode>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.names.insert(name.to_vec(), seq);
        self.entries.insert(
            seq,
            Entry {
                name: name.to_vec(),
                inode,
            },
        );
    }
    fn remove(&mut self, name: &[u8]) -> Option<Arc<TmpInode>> {
        let seq = self.names.remove(name)?;
        self.entries.remove(&seq).map(|e| e.inode)
    }
    /// Replaces the inode of an existing entry in place (rename over a target).
    fn replace(&mut self, name: &[u8], inode: Arc<TmpInode>) -> Option<Arc<TmpInode>> {
        let seq = *self.names.get(name)?;
        self.entries
            .get_mut(&seq)
            .map(|e| std::mem::replace(&mut e.inode, inode))
    }
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

pub enum Kind {
    Dir(Mutex<DirData>),
    File(Arc<FileData>),
    Symlink(Vec<u8>),
    Fifo(Arc<Pipe>),
    /// Character or block device (rdev in the metadata) or socket.
    Special,
}

pub struct TmpInode {
    shared: Arc<Shared>,
    pub ino: u64,
    /// This inode's own Arc (for linking it into directories).
    me: Weak<TmpInode>,
    /// A directory's parent (for "..", readdir and rename's loop check).
    parent: Mutex<Weak<TmpInode>>,
    /// An O_TMPFILE file that linkat may give a name (Linux's I_LINKABLE).
    linkable: AtomicBool,
    meta: Mutex<Meta>,
    pub kind: Kind,
}

impl TmpInode {
    fn new(
        shared: &Arc<Shared>,
        m: u32,
        uid: u32,
        gid: u32,
        kind: Kind,
    ) -> Result<Arc<TmpInode>, Errno> {
        shared.acct.take_inode()?;
        let now = crate::vfs::now();
        let nlink = if mode::is_dir(m) { 2 } else { 1 };
        Ok(Arc::new_cyclic(|me| TmpInode {
            shared: shared.clone(),
            ino: shared.next_ino.fetch_add(1, Ordering::Relaxed),
            me: me.clone(),
            parent: Mutex::new(Weak::new()),
            linkable: AtomicBool::new(false),
            meta: Mutex::new(Meta {
                mode: m,
                uid,
                gid,
                nlink,
                rdev: 0,
                atime: now,
                mtime: now,
                ctime: now,
                btime: now,
                xattrs: BTreeMap::new(),
                iflags: 0,
            }),
            kind,
        }))
    }

    fn dir(&self) -> Result<&Mutex<DirData>, Errno> {
        match &self.kind {
            Kind::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    pub fn file_data(&self) -> Option<&Arc<FileData>> {
        match &self.kind {
            Kind::File(d) => Some(d),
            _ => None,
        }
    }

    fn touch_mc(&self) {
        let now = crate::vfs::now();
        let mut m = self.meta.lock().unwrap();
        m.mtime = now;
        m.ctime = now;
    }

    fn touch_c(&self) {
        self.meta.lock().unwrap().ctime = crate::vfs::now();
    }

    /// relatime: atime moves only when it is older than mtime/ctime or a day old.
    fn touch_a(&self) {
        let now = crate::vfs::now();
        let mut m = self.meta.lock().unwrap();
        if m.atime <= m.mtime || m.atime <= m.ctime || now.sec - m.atime.sec >= 86400 {
            m.atime = now;
        }
    }

    fn nlink_add(&self, d: i64) {
        let mut m = self.meta.lock().unwrap();
        m.nlink = (m.nlink as i64 + d).max(0) as u64;
        m.ctime = crate::vfs::now();
    }

    /// The owner and group of a new entry in this directory (setgid directories pass
    /// their group on).
    fn new_owner(&self, ctx: &Ctx) -> (u32, u32, bool) {
        let m = self.meta.lock().unwrap();
        if m.mode & mode::S_ISGID != 0 {
            (ctx.creds.fsuid, m.gid, true)
        } else {
            (ctx.creds.fsuid, ctx.creds.fsgid, false)
        }
    }

    /// Adds a new child made by `make` under `name`; EEXIST if taken.
    fn add(&self, ctx: &Ctx, name: &[u8], m: u32, kind: Kind) -> Result<Arc<TmpInode>, Errno> {
        let dir = self.dir()?;
        let (uid, gid, sgid) = self.new_owner(ctx);
        let mut m = m;
        if sgid && mode::is_dir(m) {
            m |= mode::S_ISGID;
        }
        if self.iflags() & attr::FS_IMMUTABLE_FL != 0 {
            return Err(Errno::EPERM);
        }
        let mut d = dir.lock().unwrap();
        if self.meta.lock().unwrap().nlink == 0 {
            // Creating in a removed directory.
            return Err(Errno::ENOENT);
        }
        if d.get(name).is_some() {
            return Err(Errno::EEXIST);
        }
        let child = TmpInode::new(&self.shared, m, uid, gid, kind)?;
        if let Kind::Dir(_) = &child.kind {
            *child.parent.lock().unwrap() = self.me.clone();
            self.nlink_add(1);
        }
        d.insert(name, child.clone());
        drop(d);
        self.touch_mc();
        Ok(child)
    }

    /// The link text of a symlink.
    pub fn target(&self) -> Option<&[u8]> {
        match &self.kind {
            Kind::Symlink(t) => Some(t),
            _ => None,
        }
    }

    fn rdev(&self) -> u64 {
        self.meta.lock().unwrap().rdev
    }

    /// Names in this directory (for tests and /dev population).
    pub fn names(&self) -> Vec<Vec<u8>> {
        match &self.kind {
            Kind::Dir(d) => d
                .lock()
                .unwrap()
                .entries
                .values()
                .map(|e| e.name.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The child `name` (tests, setup).
    pub fn child(&self, name: &[u8]) -> Option<Arc<TmpInode>> {
        match &self.kind {
            Kind::Dir(d) => d.lock().unwrap().get(name).cloned(),
            _ => None,
        }
    }

    pub fn nlink(&self) -> u64 {
        self.meta.lock().unwrap().nlink
    }
}

impl Inode for TmpInode {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let m = self.meta.lock().unwrap();
        let (size, blocks) = match &self.kind {
            Kind::File(d) => (d.size(), d.pages.len() as u64 * (PAGE / 512)),
            Kind::Symlink(t) => (t.len() as u64, 0),
            Kind::Dir(_) => (4096, 8),
            _ => (0, 0),
        };
        Ok(Stat {
            dev: self.shared.dev,
            ino: self.ino,
            mode: m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blksize: PAGE,
            blocks,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            btime: Some(m.btime),
        })
    }

    fn mode(&self) -> u32 {
        self.meta.lock().unwrap().mode
    }

    fn lookup(&self, _ctx: &Ctx, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let d = self.dir()?.lock().unwrap();
        match d.get(name) {
            Some(i) => Ok(i.clone() as Arc<dyn Inode>),
            None => Err(Errno::ENOENT),
        }
    }

    fn readlink(&self, _ctx: &Ctx) -> Result<Vec<u8>, Errno> {
        match &self.kind {
            Kind::Symlink(t) => {
                self.touch_a();
                Ok(t.clone())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn open(self: Arc<Self>, ctx: &Ctx, _loc: &Loc, flags: u32) -> Result<Box<dyn FileOps>, Errno> {
        match &self.kind {
            Kind::File(_) => self.check_open(flags).map(|_| ())?,
            Kind::Dir(_) => {}
            _ => {}
        }
        match &self.kind {
            Kind::File(_) => Ok(Box::new(TmpFileOps {
                inode: self.clone(),
            })),
            Kind::Dir(_) => Ok(Box::new(TmpDirOps {
                inode: self.clone(),
            })),
            Kind::Symlink(_) => Err(Errno::ELOOP),
            Kind::Fifo(p) => Ok(Box::new(p.open_end(flags).named())),
            Kind::Special => {
                let m = self.mode();
                if m & mode::S_IFMT == mode::S_IFCHR {
                    super::devfs::open_chardev(ctx, self.rdev(), flags)
                } else {
                    Err(Errno::ENXIO)
                }
            }
        }
    }

    fn create(&self, ctx: &Ctx, name: &[u8], m: u32) -> Result<Arc<dyn Inode>, Errno> {
        let i = self.add(
            ctx,
            name,
            mode::S_IFREG | (m & 0o7777),
            Kind::File(Arc::new(FileData::new(self.shared.acct.clone()))),
        )?;
        Ok(i)
    }

    fn mkdir(&self, ctx: &Ctx, name: &[u8], m: u32) -> Result<Arc<dyn Inode>, Errno> {
        let i = self.add(
            ctx,
            name,
            mode::S_IFDIR | (m & 0o7777),
            Kind::Dir(Mutex::new(DirData::new())),
        )?;
        Ok(i)
    }

    fn mknod(&self, ctx: &Ctx, name: &[u8], m: u32, rdev: u64) -> Result<Arc<dyn Inode>, Errno> {
        let kind = match m & mode::S_IFMT {
            mode::S_IFREG | 0 => return self.create(ctx, name, m),
            mode::S_IFIFO => Kind::Fifo(Pipe::new()),
            mode::S_IFCHR | mode::S_IFBLK | mode::S_IFSOCK => Kind::Special,
            mode::S_IFDIR => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let i = self.add(ctx, name, m, kind)?;
        i.meta.lock().unwrap().rdev = rdev;
        Ok(i)
    }

    fn symlink(&self, ctx: &Ctx, name: &[u8], target: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let i = self.add(
            ctx,
            name,
            mode::S_IFLNK | 0o777,
            Kind::Symlink(target.to_vec()),
        )?;
        Ok(i)
    }

    fn link(&self, _ctx: &Ctx, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        let t = target
            .as_any()
            .downcast_ref::<TmpInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&t.shared, &self.shared) {
            return Err(Errno::EXDEV);
        }
        if matches!(t.kind, Kind::Dir(_)) {
            return Err(Errno::EPERM);
        }
        t.check_not_fixed()?;
        if t.nlink() == 0 && !t.linkable.load(Ordering::Acquire) {
            return Err(Errno::ENOENT);
        }
        let arc = t.me.upgrade().ok_or(Errno::ENOENT)?;
        let dir = self.dir()?;
        let mut d = dir.lock().unwrap();
        if self.meta.lock().unwrap().nlink == 0 {
            return Err(Errno::ENOENT);
        }
        if d.get(name).is_some() {
            return Err(Errno::EEXIST);
        }
        d.insert(name, arc);
        drop(d);
        t.linkable.store(false, Ordering::Release);
        t.nlink_add(1);
        self.touch_mc();
        Ok(())
    }

    fn unlink(&self, _ctx: &Ctx, name: &[u8]) -> Result<(), Errno> {
        let dir = self.dir()?;
        let mut d = dir.lock().unwrap();
        let c = d.get(name).ok_or(Errno::ENOENT)?;
        if matches!(c.kind, Kind::Dir(_)) {
            return Err(Errno::EISDIR);
        }
        c.check_not_fixed()?;
        self.check_not_fixed()?;
        let c = d.remove(name).ok_or(Errno::ENOENT)?;
        drop(d);
        c.nlink_add(-1);
        self.touch_mc();
        Ok(())
    }

    fn rmdir(&self, _ctx: &Ctx, name: &[u8]) -> Result<(), Errno> {
        let dir = self.dir()?;
        let mut d = dir.lock().unwrap();
        let c = d.get(name).ok_or(Errno::ENOENT)?;
        let Kind::Dir(cd) = &c.kind else {
            return Err(Errno::ENOTDIR);
        };
        c.check_not_fixed()?;
        self.check_not_fixed()?;
        if !cd.lock().unwrap().is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        let c = d.remove(name).ok_or(Errno::ENOENT)?;
        drop(d);
        c.meta.lock().unwrap().nlink = 0;
        self.nlink_add(-1);
        self.touch_mc();
        Ok(())
    }

    fn rename(
        &self,
        ctx: &Ctx,
        old: &[u8],
        newdir: &Arc<dyn Inode>,
        new: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let nd = newdir
            .as_any()
            .downcast_ref::<TmpInode>()
            .ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&nd.shared, &self.shared) {
            return Err(Errno::EXDEV);
        }
        let _g = self.shared.rename_lock.lock().unwrap();
        let same = std::ptr::eq(self, nd);
        let (sd, ndd) = (self.dir()?, nd.dir()?);
        // Lock order: lower inode number first.
        let (mut a, mut b) = if same {
            (sd.lock().unwrap(), None)
        } else if self.ino < nd.ino {
            let a = sd.lock().unwrap();
            (a, Some(ndd.lock().unwrap()))
        } else {
            let b = ndd.lock().unwrap();
            (sd.lock().unwrap(), Some(b))
        };
        let src = a.get(old).cloned().ok_or(Errno::ENOENT)?;
        src.check_not_fixed()?;
        self.check_not_fixed()?;
        nd.check_not_fixed()?;
        let dst = match &b {
            Some(b) => b.get(new).cloned(),
            None => a.get(new).cloned(),
        };
        let src_dir = matches!(src.kind, Kind::Dir(_));
        if flags & RENAME_EXCHANGE != 0 {
            let dst = dst.ok_or(Errno::ENOENT)?;
            let dst_dir = matches!(dst.kind, Kind::Dir(_));
            if !same {
                if src_dir && is_ancestor(&src, nd) {
                    return Err(Errno::EINVAL);
                }
                if dst_dir && is_ancestor(&dst, self) {
                    return Err(Errno::EINVAL);
                }
            }
            match &mut b {
                Some(bb) => {
                    a.replace(old, dst.clone());
                    bb.replace(new, src.clone());
                }
                None => {
                    a.replace(old, dst.clone());
                    a.replace(new, src.clone());
                }
            }
            if !same && src_dir != dst_dir {
                let (into_self, into_nd) = if src_dir { (-1, 1) } else { (1, -1) };
                self.nlink_add(into_self);
                nd.nlink_add(into_nd);
            }
            drop(a);
            drop(b);
            self.set_parent_of(&dst);
            nd.set_parent_of(&src);
            src.touch_c();
            dst.touch_c();
            self.touch_mc();
            nd.touch_mc();
            return Ok(());
        }
        if let Some(dst) = &dst {
            if Arc::ptr_eq(dst, &src) {
                return Ok(());
            }
            if flags & RENAME_NOREPLACE != 0 {
                return Err(Errno::EEXIST);
            }
            // The target is the source's own directory (which we hold locked): it is
            // an ancestor of the source, hence not empty.
            if std::ptr::eq(&**dst, self) {
                return Err(if src_dir {
                    Errno::ENOTEMPTY
                } else {
                    Errno::EISDIR
                });
            }
            match (&src.kind, &dst.kind) {
                (Kind::Dir(_), Kind::Dir(dd)) => {
                    if !dd.lock().unwrap().is_empty() {
                        return Err(Errno::ENOTEMPTY);
                    }
                }
                (Kind::Dir(_), _) => return Err(Errno::ENOTDIR),
                (_, Kind::Dir(_)) => return Err(Errno::EISDIR),
                _ => {}
            }
        }
        if src_dir && !same && is_ancestor(&src, nd) {
            return Err(Errno::EINVAL);
        }
        // The old name becomes a whiteout (char 0/0), as overlayfs uses it; made first,
        // so that a full file system leaves the tree as it was.
        let wh = if flags & RENAME_WHITEOUT != 0 {
            let (uid, gid, _) = self.new_owner(ctx);
            Some(TmpInode::new(
                &self.shared,
                mode::S_IFCHR,
                uid,
                gid,
                Kind::Special,
            )?)
        } else {
            None
        };
        a.remove(old);
        if let Some(wh) = wh {
            a.insert(old, wh);
        }
        let replaced = match &mut b {
            Some(bb) => {
                if dst.is_some() {
                    bb.replace(new, src.clone())
                } else {
                    bb.insert(new, src.clone());
                    None
                }
            }
            None => {
                if dst.is_some() {
                    a.replace(new, src.clone())
                } else {
                    a.insert(new, src.clone());
                    None
                }
            }
        };
        drop(a);
        drop(b);
        if let Some(r) = replaced {
            if matches!(r.kind, Kind::Dir(_)) {
                r.meta.lock().unwrap().nlink = 0;
                nd.nlink_add(-1);
            } else {
                r.nlink_add(-1);
            }
        }
        if src_dir && !same {
            self.nlink_add(-1);
            nd.nlink_add(1);
        }
        nd.set_parent_of(&src);
        src.touch_c();
        self.touch_mc();
        if !same {
            nd.touch_mc();
        }
        Ok(())
    }

    fn tmpfile(&self, ctx: &Ctx, m: u32, linkable: bool) -> Result<Arc<dyn Inode>, Errno> {
        let (uid, gid, _) = self.new_owner(ctx);
        let i = TmpInode::new(
            &self.shared,
            mode::S_IFREG | (m & 0o7777),
            uid,
            gid,
            Kind::File(Arc::new(FileData::new(self.shared.acct.clone()))),
        )?;
        i.meta.lock().unwrap().nlink = 0;
        i.linkable.store(linkable, Ordering::Release);
        Ok(i)
    }

    fn setattr(&self, _ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        self.check_not_fixed()?;
        if let Some(size) = a.size {
            match &self.kind {
                Kind::File(d) => d.truncate(size)?,
                Kind::Dir(_) => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
        }
        let now = crate::vfs::now();
        let mut m = self.meta.lock().unwrap();
        if let (Some(md), Kind::File(d)) = (a.mode, &self.kind) {
            // F_SEAL_EXEC: the execute bits are fixed.
            if d.seals() & F_SEAL_EXEC != 0 && (md ^ m.mode) & 0o111 != 0 {
                return Err(Errno::EPERM);
            }
        }
        if let Some(md) = a.mode {
            m.mode = (m.mode & mode::S_IFMT) | (md & 0o7777);
        }
        if let Some(u) = a.uid {
            m.uid = u;
        }
        if let Some(g) = a.gid {
            m.gid = g;
        }
        if let Some(t) = a.atime {
            m.atime = t;
        }
        if let Some(t) = a.mtime {
            m.mtime = t;
        }
        if a.size.is_some() {
            m.mtime = now;
        }
        m.ctime = now;
        Ok(())
    }

    fn fallocate(&self, fmode: u32, off: u64, len: u64) -> Result<(), Errno> {
        let Kind::File(d) = &self.kind else {
            return Err(Errno::ENODEV);
        };
        const KEEP_SIZE: u32 = 1;
        const PUNCH_HOLE: u32 = 2;
        // shmem_fallocate knows these two modes and nothing else.
        match fmode {
            0 | KEEP_SIZE => d.allocate(off, len, fmode == KEEP_SIZE)?,
            m if m == PUNCH_HOLE | KEEP_SIZE => d.punch(off, len)?,
            _ => return Err(Errno::EOPNOTSUPP),
        }
        self.touch_mc();
        Ok(())
    }

    fn seek_data(&self, off: u64, hole: bool) -> Option<Result<u64, Errno>> {
        self.file_data().map(|d| d.seek_data(off, hole))
    }

    fn getxattr(&self, name: &[u8]) -> Result<Vec<u8>, Errno> {
        xattr_ns_ok(name)?;
        let m = self.meta.lock().unwrap();
        m.xattrs.get(name).cloned().ok_or(Errno::ENODATA)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], flags: u32) -> Result<(), Errno> {
        const XATTR_CREATE: u32 = 1;
        const XATTR_REPLACE: u32 = 2;
        xattr_ns_ok(name)?;
        let mut m = self.meta.lock().unwrap();
        let exists = m.xattrs.contains_key(name);
        if flags & XATTR_CREATE != 0 && exists {
            return Err(Errno::EEXIST);
        }
        if flags & XATTR_REPLACE != 0 && !exists {
            return Err(Errno::ENODATA);
        }
        m.xattrs.insert(name.to_vec(), value.to_vec());
        m.ctime = crate::vfs::now();
        Ok(())
    }

    /// Names in Linux's simple_xattr order (its tree sorts them descending).
    fn listxattr(&self) -> Vec<Vec<u8>> {
        self.meta
            .lock()
            .unwrap()
            .xattrs
            .keys()
            .rev()
            .cloned()
            .collect()
    }

    fn removexattr(&self, name: &[u8]) -> Result<(), Errno> {
        xattr_ns_ok(name)?;
        let mut m = self.meta.lock().unwrap();
        m.xattrs.remove(name).ok_or(Errno::ENODATA)?;
        m.ctime = crate::vfs::now();
        Ok(())
    }
}

/// The namespaces tmpfs keeps: user., trusted., security. (others EOPNOTSUPP; a bare
/// prefix is EINVAL).
fn xattr_ns_ok(name: &[u8]) -> Result<(), Errno> {
    for p in [&b"user."[..], b"trusted.", b"security."] {
        if let Some(rest) = name.strip_prefix(p) {
            return if rest.is_empty() {
                Err(Errno::EINVAL)
            } else {
                Ok(())
            };
        }
    }
    Err(Errno::EOPNOTSUPP)
}

impl Drop for TmpInode {
    fn drop(&mut self) {
        self.shared.acct.put_inode();
    }
}

impl TmpInode {
    /// Records `self` as the parent of `child` if it is a directory.
    fn set_parent_of(&self, child: &Arc<TmpInode>) {
        if let Kind::Dir(_) = &child.kind {
            *child.parent.lock().unwrap() = self.me.clone();
        }
    }
}

pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

/// Is `a` (a directory) `b` or an ancestor of `b`? The caller holds the rename lock,
/// so the tree cannot change shape meanwhile.
fn is_ancestor(a: &Arc<TmpInode>, b: &TmpInode) -> bool {
    if std::ptr::eq(&**a, b) {
        return true;
    }
    let mut cur = b.parent.lock().unwrap().upgrade();
    while let Some(c) = cur {
        if Arc::ptr_eq(&c, a) {
            return true;
        }
        cur = c.parent.lock().unwrap().upgrade();
    }
    false
}

/// An open tmpfs regular file.
struct TmpFileOps {
    inode: Arc<TmpInode>,
}

impl FileOps for TmpFileOps {
    fn read(&self, _t: &Task, _f: &File, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let d = self.inode.file_data().ok_or(Errno::EINVAL)?;
        let n = d.read(off, buf);
        self.inode.touch_a();
        Ok(n)
    }

    fn write(&self, _t: &Task, _f: &File, off: u64, data: &[u8]) -> Result<usize, Errno> {
        let d = self.inode.file_data().ok_or(Errno::EINVAL)?;
        if data.is_empty() {
            return Ok(0);
        }
        let n = d.write(off, data)?;
        self.inode.touch_mc();
        Ok(n)
    }

    fn mmap(&self, f: &File) -> Result<(Arc<dyn MemObject>, VmaName), Errno> {
        let d = self.inode.file_data().ok_or(Errno::ENODEV)?;
        let name = VmaName::File {
            path: f.path(),
            dev: self.inode.shared.dev,
            ino: self.inode.ino,
        };
        Ok((d.clone() as Arc<dyn MemObject>, name))
    }

    fn poll(&self, _f: &File) -> u32 {
        POLLIN | POLLOUT
    }

    fn fsync(&self) -> Result<(), Errno> {
        Ok(())
    }

    fn ioctl(&self, t: &Task, f: &File, cmd: u32, arg: u64) -> SysResult {
        self.inode
            .flags_ioctl(t, f, cmd, arg)
            .unwrap_or(Err(Errno::ENOTTY))
    }
}

/// An open tmpfs directory.
struct TmpDirOps {
    inode: Arc<TmpInode>,
}

impl FileOps for TmpDirOps {
    fn fsync(&self) -> Result<(), Errno> {
        Ok(())
    }

    fn ioctl(&self, t: &Task, f: &File, cmd: u32, arg: u64) -> SysResult {
        self.inode
            .flags_ioctl(t, f, cmd, arg)
            .unwrap_or(Err(Errno::ENOTTY))
    }

    fn readdir(
        &self,
        _ctx: &Ctx,
        pos: u64,
        emit: &mut dyn FnMut(&DirEnt) -> bool,
    ) -> Result<u64, Errno> {
        let dir = self.inode.dir()?;
        let mut pos = pos;
        if pos == 0 {
            if !emit(&DirEnt {
                ino: self.inode.ino,
                next: 1,
                dtype: 4,
                name: b".".to_vec(),
            }) {
                return Ok(0);
            }
            pos = 1;
        }
        if pos == 1 {
            let pino = self
                .inode
                .parent
                .lock()
                .unwrap()
                .upgrade()
                .map(|p| p.ino)
                .unwrap_or(self.inode.ino);
            if !emit(&DirEnt {
                ino: pino,
                next: 2,
                dtype: 4,
                name: b"..".to_vec(),
            }) {
                return Ok(1);
            }
            pos = 2;
        }
        let d = dir.lock().unwrap();
        for (&seq, e) in d.entries.range(pos..) {
            let ent = DirEnt {
                ino: e.inode.ino,
                next: seq + 1,
                dtype: mode::dtype(e.inode.mode()),
                name: e.name.clone(),
            };
            if !emit(&ent) {
                return Ok(pos);
            }
            pos = seq + 1;
        }
        drop(d);
        self.inode.touch_a();
        Ok(pos)
    }
}
