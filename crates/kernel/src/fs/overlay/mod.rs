//! An overlay file system: a read-only lower layer (a host directory) under a writable
//! upper layer (a tmpfs in the memory file, or a writable host directory), merged as
//! Linux's overlayfs merges them.
//!
//! - Lookup: an upper non-directory hides the lower name; an upper directory merges with
//!   a lower directory of the same name unless it is opaque; a whiteout (a character
//!   device 0/0 in the upper layer) hides the lower name.
//! - Copy-up: the first change to a lower object (open for write, O_TRUNC, truncate,
//!   chmod/chown/utimes, link, rename) copies it to the upper layer, its parents first:
//!   data (holes kept), mode, owner, times; the parent's times are restored afterwards.
//! - Removal of a name that exists in the lower layer leaves a whiteout. A directory
//!   created where a whiteout was is opaque (trusted.overlay.opaque=y on a host upper,
//!   as Linux's overlayfs writes it; user.overlay.opaque=y, and failing that a marker
//!   file `.wh..wh..opq` as in OCI layers, where trusted xattrs cannot be set). So a
//!   host upper directory is an ordinary overlayfs upper directory.
//! - Renaming a directory copies up its whole tree and marks the moved directory opaque
//!   (no redirect xattrs).
//! - Hard links: the names of one lower inode are one overlay inode (found by the lower
//!   device and inode), before and after copy-up; a name copied up later becomes a hard
//!   link of the copy. Its link count follows links and unlinks in the overlay.
//! - Identity: every object reports the overlay's st_dev; st_ino is the inode number of
//!   the copy-up origin when there is one (so it stays the same across copy-up), else of
//!   the upper object; inode numbers of devices other than the lower root's carry a
//!   layer index in bits 48 and up (Linux's xino). Merged directories have st_nlink 1.
//! - statfs reports the upper layer with f_type OVERLAYFS_SUPER_MAGIC.
//!
//! Namespace changes and copy-up are serialized by one lock per overlay (lookups and
//! readdir take it shared). The copy-up origins and the opaque marks of a memory upper
//! are kept in memory only.

mod copyup;
mod dir;
mod file;

use crate::fs::hostfs::{self, HostInode};
use crate::fs::tmpfs::TmpFs;
use crate::vfs::{mode, Ctx, Dentry, FileOps, FileSystem, Inode, Loc, SetAttr, Stat, StatFs};
use abi::Errno;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock, Weak};

pub const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;
/// The opaque marker file used when a host upper layer cannot hold xattrs.
pub const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

const RENAME_NOREPLACE: u32 = 1;
const RENAME_EXCHANGE: u32 = 2;

/// Where the upper (writable) layer lives.
#[derive(Clone, Debug, PartialEq)]
pub enum Upper {
    /// A tmpfs in the memory file: nothing reaches the host.
    Memory,
    /// A writable host directory, left behind as an overlayfs upper directory.
    Dir(String),
}

/// The overlay of the host directory `lower` (read-only) and `upper`: its file system
/// and root dentry, to mount anywhere (a container's root, `moat do`'s root).
pub fn mount_root(lower: &str, upper: Upper) -> Result<(Arc<OvlFs>, Arc<Dentry>), Errno> {
    let (lfs, lroot) = hostfs::mount(lower, false)?;
    let lroot: Arc<dyn Inode> = lroot;
    let (ufs, uroot): (Arc<dyn FileSystem>, Arc<dyn Inode>) = match &upper {
        Upper::Memory => {
            let t = TmpFs::new(0o755);
            let root: Arc<dyn Inode> = t.root_inode();
            // The merged root looks like the lower root.
            let st = lroot.stat()?;
            root.setattr(
                &Ctx::kernel(),
                &SetAttr {
                    mode: Some(st.mode & 0o7777),
                    uid: Some(st.uid),
                    gid: Some(st.gid),
                    atime: Some(st.atime),
                    mtime: Some(st.mtime),
                    size: None,
                },
            )?;
            (t, root)
        }
        Upper::Dir(p) => {
            let (h, r) = hostfs::mount(p, true)?;
            if !mode::is_dir(r.mode()) {
                return Err(Errno::ENOTDIR);
            }
            (h, r)
        }
    };
    let fs = OvlFs::new(lfs, lroot, ufs, uroot, matches!(upper, Upper::Dir(_)))?;
    let d = fs.root_dentry();
    Ok((fs, d))
}

/// A tracked lower hard link: weakly while only lower, pinned once copied up (its link
/// count and identity live here).
enum Tracked {
    Weak(Weak<OvlInode>),
    Pinned(Arc<OvlInode>),
}

struct Shared {
    dev: u64,
    upper_fs: Arc<dyn FileSystem>,
    lower_fs: Arc<dyn FileSystem>,
    /// The upper layer is a host directory (opaque marks are xattrs or marker files).
    upper_host: bool,
    /// Namespace changes and copy-up (write); lookups and readdir (read).
    lock: RwLock<()>,
    /// Upper object (dev, ino) -> the lower (dev, ino) it was copied up from.
    origin: Mutex<HashMap<(u64, u64), (u64, u64)>>,
    /// Lower (dev, ino) of multiply linked lower files -> their one overlay inode.
    links: Mutex<HashMap<(u64, u64), Tracked>>,
    /// Opaque directories of a memory upper, by upper (dev, ino).
    opaque: Mutex<HashSet<(u64, u64)>>,
    /// Device numbers seen, in order; index 0 is the lower root's (xino).
    fsids: Mutex<Vec<u64>>,
}

impl Shared {
    /// The st_ino of an object of device `dev` with inode `ino`.
    fn xino(&self, dev: u64, ino: u64) -> u64 {
        let mut f = self.fsids.lock().unwrap();
        let idx = match f.iter().position(|&d| d == dev) {
            Some(i) => i,
            None => {
                f.push(dev);
                f.len() - 1
            }
        };
        if idx == 0 || ino >> 48 != 0 {
            ino
        } else {
            ino | ((idx as u64 & 0xffff) << 48)
        }
    }
}

pub struct OvlFs {
    sh: Arc<Shared>,
    root: Arc<OvlInode>,
}

impl OvlFs {
    /// An overlay of `lower_root` (never written) and `upper_root`.
    pub fn new(
        lower_fs: Arc<dyn FileSystem>,
        lower_root: Arc<dyn Inode>,
        upper_fs: Arc<dyn FileSystem>,
        upper_root: Arc<dyn Inode>,
        upper_host: bool,
    ) -> Result<Arc<OvlFs>, Errno> {
        let lst = lower_root.stat()?;
        let sh = Arc::new(Shared {
            dev: super::anon_dev(),
            upper_fs,
            lower_fs,
            upper_host,
            lock: RwLock::new(()),
            origin: Mutex::new(HashMap::new()),
            links: Mutex::new(HashMap::new()),
            opaque: Mutex::new(HashSet::new()),
            fsids: Mutex::new(vec![lst.dev]),
        });
        let lower = if dir::is_opaque(&sh, &upper_root) {
            None
        } else {
            Some(lower_root)
        };
        let origin = lower.as_ref().map(|_| (lst.dev, lst.ino));
        let root = OvlInode::new(
            &sh,
            mode::S_IFDIR,
            None,
            Some(upper_root),
            lower,
            origin,
            None,
        );
        Ok(Arc::new(OvlFs { sh, root }))
    }

    pub fn root_dentry(&self) -> Arc<Dentry> {
        Dentry::new_root(b"/", self.root.clone())
    }
}

impl FileSystem for OvlFs {
    fn name(&self) -> &str {
        "overlay"
    }
    fn dev(&self) -> u64 {
        self.sh.dev
    }
    fn statfs(&self) -> StatFs {
        let mut s = self.sh.upper_fs.statfs();
        let l = self.sh.lower_fs.statfs();
        s.fs_type = OVERLAYFS_SUPER_MAGIC;
        s.namelen = s.namelen.max(l.namelen);
        s.fsid = self.sh.dev;
        s.flags &= !1;
        s
    }
}

/// A root context for the layers' own operations (the VFS has checked the caller).
fn kctx() -> Ctx {
    Ctx::kernel()
}

fn is_dir_inode(i: &Arc<dyn Inode>) -> bool {
    mode::is_dir(i.mode())
}

pub struct OvlInode {
    sh: Arc<Shared>,
    me: Weak<OvlInode>,
    /// S_IFMT bits (fixed for the object's life).
    kind: u32,
    /// Directory and name this object was found under (for copy-up); None for the root
    /// and for unnamed objects.
    alias: Mutex<Option<(Arc<OvlInode>, Vec<u8>)>>,
    upper: Mutex<Option<Arc<dyn Inode>>>,
    /// The lower object (for a directory: the lower directory it merges with).
    lower: Mutex<Option<Arc<dyn Inode>>>,
    /// Lower (dev, ino) this object is or was copied up from.
    origin: Option<(u64, u64)>,
    /// Live objects looked up in this directory.
    children: Mutex<HashMap<Vec<u8>, Weak<OvlInode>>>,
    /// Link count of a tracked lower hard link, maintained by the overlay.
    nlink: Mutex<Option<u64>>,
}

impl OvlInode {
    fn new(
        sh: &Arc<Shared>,
        kind: u32,
        alias: Option<(Arc<OvlInode>, Vec<u8>)>,
        upper: Option<Arc<dyn Inode>>,
        lower: Option<Arc<dyn Inode>>,
        origin: Option<(u64, u64)>,
        nlink: Option<u64>,
    ) -> Arc<OvlInode> {
        Arc::new_cyclic(|me| OvlInode {
            sh: sh.clone(),
            me: me.clone(),
            kind,
            alias: Mutex::new(alias),
            upper: Mutex::new(upper),
            lower: Mutex::new(lower),
            origin,
            children: Mutex::new(HashMap::new()),
            nlink: Mutex::new(nlink),
        })
    }

    fn arc(&self) -> Arc<OvlInode> {
        self.me.upgrade().expect("live overlay inode")
    }

    pub fn upper(&self) -> Option<Arc<dyn Inode>> {
        self.upper.lock().unwrap().clone()
    }

    pub fn lower(&self) -> Option<Arc<dyn Inode>> {
        self.lower.lock().unwrap().clone()
    }

    /// The object that currently holds the data and attributes.
    fn real(&self) -> Arc<dyn Inode> {
        self.upper()
            .or_else(|| self.lower())
            .expect("overlay object without a layer")
    }

    fn is_dir(&self) -> bool {
        self.kind == mode::S_IFDIR
    }

    /// The st_ino this object reports.
    fn ident(&self) -> u64 {
        if let Some((d, i)) = self.origin {
            return self.sh.xino(d, i);
        }
        match self.real().stat() {
            Ok(st) => self.sh.xino(st.dev, st.ino),
            Err(_) => 0,
        }
    }

    fn parent(&self) -> Option<Arc<OvlInode>> {
        self.alias.lock().unwrap().as_ref().map(|(p, _)| p.clone())
    }

    fn adopt(&self, name: &[u8], child: &Arc<OvlInode>) {
        let mut c = self.children.lock().unwrap();
        if c.len() >= 64 && c.len().is_power_of_two() {
            c.retain(|_, w| w.strong_count() > 0);
        }
        c.insert(name.to_vec(), Arc::downgrade(child));
    }

    /// `name` no longer names `child` here.
    fn disown(&self, name: &[u8], child: &Arc<OvlInode>) {
        self.children.lock().unwrap().remove(name);
        let mut a = child.alias.lock().unwrap();
        if let Some((p, n)) = a.as_ref() {
            if std::ptr::eq(Arc::as_ptr(p), self) && n == name {
                *a = None;
            }
        }
    }

    /// Looks `name` up in the merged view (caller holds the lock, shared or exclusive).
    fn lookup_locked(&self, name: &[u8]) -> Result<Arc<OvlInode>, Errno> {
        if !self.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if self.sh.upper_host && name == OPAQUE_MARKER {
            return Err(Errno::ENOENT);
        }
        if let Some(c) = self
            .children
            .lock()
            .unwrap()
            .get(name)
            .and_then(|w| w.upgrade())
        {
            return Ok(c);
        }
        let k = kctx();
        let mut up = None;
        if let Some(u) = self.upper() {
            match u.lookup(&k, name) {
                Ok(i) => {
                    if dir::is_whiteout(&i) {
                        return Err(Errno::ENOENT);
                    }
                    up = Some(i);
                }
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(e),
            }
        }
        let up_nondir = up.as_ref().map(|u| !is_dir_inode(u)).unwrap_or(false);
        let low = match (self.lower(), up_nondir) {
            (Some(l), false) => match l.lookup(&k, name) {
                Ok(i) => Some(i),
                Err(Errno::ENOENT) => None,
                Err(_) if up.is_some() => None,
                Err(e) => return Err(e),
            },
            _ => None,
        };
        let me = self.arc();
        let alias = Some((me.clone(), name.to_vec()));
        let obj = match (up, low) {
            (None, None) => return Err(Errno::ENOENT),
            (Some(u), low) if is_dir_inode(&u) => {
                let low = low.filter(|l| is_dir_inode(l));
                let low = if low.is_some() && dir::is_opaque(&self.sh, &u) {
                    None
                } else {
                    low
                };
                let origin = match &low {
                    Some(l) => {
                        let s = l.stat()?;
                        Some((s.dev, s.ino))
                    }
                    None => self.origin_of(&u),
                };
                OvlInode::new(&self.sh, mode::S_IFDIR, alias, Some(u), low, origin, None)
            }
            (Some(u), _) => {
                let origin = self.origin_of(&u);
                if let Some(o) = origin {
                    if let Some(t) = self.tracked(o) {
                        t.alias.lock().unwrap().get_or_insert(alias.unwrap());
                        self.adopt(name, &t);
                        return Ok(t);
                    }
                }
                let kind = u.mode() & mode::S_IFMT;
                OvlInode::new(&self.sh, kind, alias, Some(u), None, origin, None)
            }
            (None, Some(l)) => {
                let st = l.stat()?;
                let kind = st.mode & mode::S_IFMT;
                let key = (st.dev, st.ino);
                if kind != mode::S_IFDIR && st.nlink > 1 {
                    let mut links = self.sh.links.lock().unwrap();
                    let found = match links.get(&key) {
                        Some(Tracked::Pinned(t)) => Some(t.clone()),
                        Some(Tracked::Weak(w)) => w.upgrade(),
                        None => None,
                    };
                    let t = match found {
                        Some(t) => {
                            t.alias.lock().unwrap().get_or_insert(alias.unwrap());
                            t
                        }
                        None => {
                            let t = OvlInode::new(
                                &self.sh,
                                kind,
                                alias,
                                None,
                                Some(l),
                                Some(key),
                                Some(st.nlink),
                            );
                            if links.len() >= 64 && links.len().is_power_of_two() {
                                links.retain(|_, v| match v {
                                    Tracked::Weak(w) => w.strong_count() > 0,
                                    Tracked::Pinned(_) => true,
                                });
                            }
                            links.insert(key, Tracked::Weak(Arc::downgrade(&t)));
                            t
                        }
                    };
                    drop(links);
                    self.adopt(name, &t);
                    return Ok(t);
                }
                OvlInode::new(&self.sh, kind, alias, None, Some(l), Some(key), None)
            }
        };
        self.adopt(name, &obj);
        Ok(obj)
    }

    /// The copy-up origin recorded for upper object `u`.
    fn origin_of(&self, u: &Arc<dyn Inode>) -> Option<(u64, u64)> {
        let st = u.stat().ok()?;
        self.sh
            .origin
            .lock()
            .unwrap()
            .get(&(st.dev, st.ino))
            .copied()
    }

    /// The overlay inode of tracked lower hard link `key`, if live.
    fn tracked(&self, key: (u64, u64)) -> Option<Arc<OvlInode>> {
        match self.sh.links.lock().unwrap().get(&key) {
            Some(Tracked::Pinned(t)) => Some(t.clone()),
            Some(Tracked::Weak(w)) => w.upgrade(),
            None => None,
        }
    }

    /// Does the lower directory hold `name` (so its removal needs a whiteout)?
    fn lower_has(&self, name: &[u8]) -> bool {
        match self.lower() {
            Some(l) => l.lookup(&kctx(), name).is_ok(),
            None => false,
        }
    }

    fn nlink_add(&self, d: i64) {
        let mut n = self.nlink.lock().unwrap();
        if let Some(v) = n.as_mut() {
            *v = (*v as i64 + d).max(0) as u64;
        }
    }

    /// A name of this object is gone: once it has none left, forget its copy-up origin and
    /// hard-link record (a host upper file system may reuse the inode number).
    fn name_removed(&self) {
        self.nlink_add(-1);
        let tracked = *self.nlink.lock().unwrap();
        let gone = match (tracked, self.upper()) {
            (Some(n), _) => n == 0,
            (None, Some(u)) => u.stat().map(|s| s.nlink == 0).unwrap_or(true),
            (None, None) => false,
        };
        if !gone {
            return;
        }
        if let Some(u) = self.upper() {
            if let Ok(st) = u.stat() {
                self.sh.origin.lock().unwrap().remove(&(st.dev, st.ino));
            }
        }
        if let (Some(o), Some(_)) = (self.origin, tracked) {
            self.sh.links.lock().unwrap().remove(&o);
        }
    }

    /// Creates `name` in this directory's upper layer with `make`, replacing a whiteout
    /// (a directory made over a whiteout is opaque).
    fn create_entry(
        &self,
        name: &[u8],
        make: impl FnOnce(&Arc<dyn Inode>) -> Result<Arc<dyn Inode>, Errno>,
    ) -> Result<Arc<dyn Inode>, Errno> {
        let _g = self.sh.lock.write().unwrap();
        let me = self.arc();
        let du = copyup::copy_up(&me, None, true)?;
        let had_whiteout = dir::remove_whiteout(&du, name)?;
        let u = match make(&du) {
            Ok(u) => u,
            Err(e) => {
                if had_whiteout {
                    let _ = dir::make_whiteout(&du, name);
                }
                return Err(e);
            }
        };
        let kind = u.mode() & mode::S_IFMT;
        if kind == mode::S_IFDIR && had_whiteout {
            dir::set_opaque(&self.sh, &u)?;
        }
        let obj = OvlInode::new(
            &self.sh,
            kind,
            Some((me.clone(), name.to_vec())),
            Some(u.clone()),
            None,
            None,
            None,
        );
        self.adopt(name, &obj);
        Ok(obj)
    }

    /// After moving a directory's whole tree to the upper layer: nothing below it merges
    /// with the lower layer any more.
    fn detach_lower(&self) {
        let mut todo = vec![self.arc()];
        while let Some(d) = todo.pop() {
            if d.upper().is_some() {
                *d.lower.lock().unwrap() = None;
            }
            let kids: Vec<Arc<OvlInode>> = d
                .children
                .lock()
                .unwrap()
                .values()
                .filter_map(|w| w.upgrade())
                .collect();
            for k in kids {
                if k.is_dir() {
                    todo.push(k);
                }
            }
        }
    }

    /// Is `self` `anc` or below it?
    fn within(&self, anc: &Arc<OvlInode>) -> bool {
        let mut cur = Some(self.arc());
        while let Some(c) = cur {
            if Arc::ptr_eq(&c, anc) {
                return true;
            }
            cur = c.parent();
        }
        false
    }
}

/// The overlay inode behind `i`, if it belongs to the same overlay as `sh`.
fn same_ovl<'a>(sh: &Arc<Shared>, i: &'a Arc<dyn Inode>) -> Option<&'a OvlInode> {
    let o = i.as_any().downcast_ref::<OvlInode>()?;
    Arc::ptr_eq(&o.sh, sh).then_some(o)
}

impl Inode for OvlInode {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn stat(&self) -> Result<Stat, Errno> {
        let up = self.upper();
        let real = up.clone().or_else(|| self.lower()).ok_or(Errno::ENOENT)?;
        let mut st = real.stat()?;
        st.ino = match self.origin {
            Some((d, i)) => self.sh.xino(d, i),
            None => self.sh.xino(st.dev, st.ino),
        };
        st.dev = self.sh.dev;
        if self.is_dir() && up.is_some() && self.lower().is_some() {
            // Linux does not count the subdirectories of merged directories.
            st.nlink = 1;
        }
        if let Some(n) = *self.nlink.lock().unwrap() {
            st.nlink = n;
        }
        Ok(st)
    }

    fn mode(&self) -> u32 {
        self.real().mode()
    }

    fn lookup(&self, _ctx: &Ctx, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let _g = self.sh.lock.read().unwrap();
        Ok(self.lookup_locked(name)?)
    }

    fn readlink(&self, ctx: &Ctx) -> Result<Vec<u8>, Errno> {
        self.real().readlink(ctx)
    }

    fn open(self: Arc<Self>, ctx: &Ctx, loc: &Loc, flags: u32) -> Result<Box<dyn FileOps>, Errno> {
        match self.kind {
            mode::S_IFDIR => Ok(Box::new(dir::OvlDirOps::new(self.clone()))),
            mode::S_IFREG => {
                let write = flags & 3 != 0 || flags & crate::vfs::oflags::O_TRUNC != 0;
                if write && self.upper().is_none() {
                    let _g = self.sh.lock.write().unwrap();
                    // Copy up under the name the caller used (a hard link's other names
                    // follow as links).
                    let at = loc.dentry.parent().and_then(|p| {
                        same_ovl(&self.sh, &p.inode).map(|d| (d.arc(), loc.dentry.name()))
                    });
                    let trunc = flags & crate::vfs::oflags::O_TRUNC != 0;
                    copyup::copy_up(&self, at, !trunc)?;
                }
                file::OvlFileOps::open(self.clone(), ctx, loc, flags)
            }
            _ => self.real().open(ctx, loc, flags),
        }
    }

    fn create(&self, ctx: &Ctx, name: &[u8], m: u32) -> Result<Arc<dyn Inode>, Errno> {
        self.create_entry(name, |du| du.create(ctx, name, m))
    }

    fn mkdir(&self, ctx: &Ctx, name: &[u8], m: u32) -> Result<Arc<dyn Inode>, Errno> {
        self.create_entry(name, |du| du.mkdir(ctx, name, m))
    }

    fn mknod(&self, ctx: &Ctx, name: &[u8], m: u32, rdev: u64) -> Result<Arc<dyn Inode>, Errno> {
        // A whiteout cannot be made through the overlay (it would hide itself).
        if m & mode::S_IFMT == mode::S_IFCHR && rdev == 0 {
            return Err(Errno::EPERM);
        }
        self.create_entry(name, |du| du.mknod(ctx, name, m, rdev))
    }

    fn symlink(&self, ctx: &Ctx, name: &[u8], target: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        self.create_entry(name, |du| du.symlink(ctx, name, target))
    }

    fn link(&self, ctx: &Ctx, name: &[u8], target: &Arc<dyn Inode>) -> Result<(), Errno> {
        let t = same_ovl(&self.sh, target).ok_or(Errno::EXDEV)?.arc();
        if t.is_dir() {
            return Err(Errno::EPERM);
        }
        let _g = self.sh.lock.write().unwrap();
        let me = self.arc();
        let tu = copyup::copy_up(&t, None, true)?;
        let du = copyup::copy_up(&me, None, true)?;
        let had_whiteout = dir::remove_whiteout(&du, name)?;
        if let Err(e) = du.link(ctx, name, &tu) {
            if had_whiteout {
                let _ = dir::make_whiteout(&du, name);
            }
            return Err(e);
        }
        t.nlink_add(1);
        self.adopt(name, &t);
        Ok(())
    }

    fn unlink(&self, ctx: &Ctx, name: &[u8]) -> Result<(), Errno> {
        let _g = self.sh.lock.write().unwrap();
        let me = self.arc();
        let obj = self.lookup_locked(name)?;
        if obj.is_dir() {
            return Err(Errno::EISDIR);
        }
        let du = copyup::copy_up(&me, None, true)?;
        if dir::upper_entry(&du, name)?.is_some() {
            du.unlink(ctx, name)?;
        }
        if self.lower_has(name) {
            dir::make_whiteout(&du, name)?;
        }
        self.disown(name, &obj);
        obj.name_removed();
        Ok(())
    }

    fn rmdir(&self, ctx: &Ctx, name: &[u8]) -> Result<(), Errno> {
        let _g = self.sh.lock.write().unwrap();
        let me = self.arc();
        let obj = self.lookup_locked(name)?;
        if !obj.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if !dir::merged_empty(&obj)? {
            return Err(Errno::ENOTEMPTY);
        }
        let du = copyup::copy_up(&me, None, true)?;
        if let Some(ou) = obj.upper() {
            dir::clear_whiteouts(&ou)?;
            du.rmdir(ctx, name)?;
            dir::forget_opaque(&self.sh, &ou);
        }
        if self.lower_has(name) {
            dir::make_whiteout(&du, name)?;
        }
        self.disown(name, &obj);
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
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0 {
            return Err(Errno::EINVAL);
        }
        let nd = same_ovl(&self.sh, newdir).ok_or(Errno::EXDEV)?.arc();
        let me = self.arc();
        let _g = self.sh.lock.write().unwrap();
        let src = me.lookup_locked(old)?;
        let dst = match nd.lookup_locked(new) {
            Ok(d) => Some(d),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        let exchange = flags & RENAME_EXCHANGE != 0;
        match &dst {
            Some(d) => {
                if Arc::ptr_eq(d, &src) {
                    return Ok(());
                }
                if flags & RENAME_NOREPLACE != 0 {
                    return Err(Errno::EEXIST);
                }
                if !exchange {
                    match (src.is_dir(), d.is_dir()) {
                        (true, false) => return Err(Errno::ENOTDIR),
                        (false, true) => return Err(Errno::EISDIR),
                        (true, true) if !dir::merged_empty(d)? => return Err(Errno::ENOTEMPTY),
                        _ => {}
                    }
                }
            }
            None if exchange => return Err(Errno::ENOENT),
            None => {}
        }
        if src.is_dir() && nd.within(&src) {
            return Err(Errno::EINVAL);
        }
        if let Some(d) = dst.as_ref().filter(|d| exchange && d.is_dir()) {
            if me.within(d) {
                return Err(Errno::EINVAL);
            }
        }
        let ou = copyup::copy_up(&me, None, true)?;
        let nu = copyup::copy_up(&nd, None, true)?;
        let up_obj = |o: &Arc<OvlInode>, d: &Arc<OvlInode>, n: &[u8]| -> Result<(), Errno> {
            if o.is_dir() {
                copyup::copy_up_tree(o)
            } else {
                copyup::copy_up(o, Some((d.clone(), n.to_vec())), true).map(|_| ())
            }
        };
        up_obj(&src, &me, old)?;
        let mut had_whiteout = false;
        if exchange {
            up_obj(dst.as_ref().unwrap(), &nd, new)?;
        } else if let Some(d) = &dst {
            if let Some(du) = d.upper().filter(|_| d.is_dir()) {
                dir::clear_whiteouts(&du)?;
            }
        } else {
            had_whiteout = dir::remove_whiteout(&nu, new)?;
        }
        if let Err(e) = ou.rename(ctx, old, &nu, new, flags) {
            if had_whiteout {
                let _ = dir::make_whiteout(&nu, new);
            }
            return Err(e);
        }
        if !exchange && me.lower_has(old) {
            dir::make_whiteout(&ou, old)?;
        }
        // Moved directories hold their whole tree now: they merge with nothing.
        for o in std::iter::once(&src).chain(dst.iter().filter(|_| exchange)) {
            if o.is_dir() {
                if let Some(u) = o.upper() {
                    dir::set_opaque(&self.sh, &u)?;
                }
                o.detach_lower();
            }
        }
        me.disown(old, &src);
        if let Some(d) = &dst {
            nd.disown(new, d);
            if exchange {
                *d.alias.lock().unwrap() = Some((me.clone(), old.to_vec()));
                me.adopt(old, d);
            } else {
                d.name_removed();
            }
        }
        *src.alias.lock().unwrap() = Some((nd.clone(), new.to_vec()));
        nd.adopt(new, &src);
        Ok(())
    }

    fn tmpfile(&self, ctx: &Ctx, m: u32) -> Result<Arc<dyn Inode>, Errno> {
        let _g = self.sh.lock.write().unwrap();
        let du = copyup::copy_up(&self.arc(), None, true)?;
        let u = du.tmpfile(ctx, m)?;
        Ok(OvlInode::new(
            &self.sh,
            mode::S_IFREG,
            None,
            Some(u),
            None,
            None,
            None,
        ))
    }

    fn setattr(&self, ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        let u = match self.upper() {
            Some(u) => u,
            None => {
                let _g = self.sh.lock.write().unwrap();
                copyup::copy_up(&self.arc(), None, a.size != Some(0))?
            }
        };
        u.setattr(ctx, a)
    }

    fn fallocate(&self, fmode: u32, off: u64, len: u64) -> Result<(), Errno> {
        let u = match self.upper() {
            Some(u) => u,
            None => {
                let _g = self.sh.lock.write().unwrap();
                copyup::copy_up(&self.arc(), None, true)?
            }
        };
        u.fallocate(fmode, off, len)
    }
}

/// Host upper directories: the HostInode behind an upper object, if it is one.
fn host_upper(i: &Arc<dyn Inode>) -> Option<&HostInode> {
    i.as_any().downcast_ref::<HostInode>()
}

#[cfg(test)]
mod tests;
