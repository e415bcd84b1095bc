//! The name cache and the mount tree.
//!
//! A `Dentry` names an inode within its file system (name + parent). Children are cached
//! weakly, so a dentry lives while something (an open file, a cwd, a mount, a child)
//! holds it; mountpoints stay cached because their mount holds them. A `Mount` attaches a
//! file system's root dentry at a mountpoint of its parent mount; a `Loc` (mount, dentry)
//! is a place in the tree, which is what a path resolves to.

use super::inode::{FileSystem, Inode};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

pub struct Dentry {
    /// Name and parent (None for a file system's root or a detached dentry).
    link: Mutex<(Vec<u8>, Option<Arc<Dentry>>)>,
    pub inode: Arc<dyn Inode>,
    children: Mutex<HashMap<Vec<u8>, Weak<Dentry>>>,
    /// Number of mounts on this dentry.
    mounts: AtomicU32,
    deleted: AtomicBool,
}

impl Dentry {
    /// A root (or detached, e.g. pipe) dentry.
    pub fn new_root(name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Arc::new(Dentry {
            link: Mutex::new((name.to_vec(), None)),
            inode,
            children: Mutex::new(HashMap::new()),
            mounts: AtomicU32::new(0),
            deleted: AtomicBool::new(false),
        })
    }

    /// A dentry for `inode` named `name` in `parent`; cached there when `cache`.
    /// If a live cached dentry already exists for the name, that one is returned.
    pub fn new_child(
        parent: &Arc<Dentry>,
        name: &[u8],
        inode: Arc<dyn Inode>,
        cache: bool,
    ) -> Arc<Dentry> {
        let d = Arc::new(Dentry {
            link: Mutex::new((name.to_vec(), Some(parent.clone()))),
            inode,
            children: Mutex::new(HashMap::new()),
            mounts: AtomicU32::new(0),
            deleted: AtomicBool::new(false),
        });
        if cache {
            let mut c = parent.children.lock().unwrap();
            if let Some(old) = c.get(name).and_then(|w| w.upgrade()) {
                return old;
            }
            if c.len() >= 64 && c.len().is_power_of_two() {
                // Drop dead entries now and then so the map does not grow without bound.
                c.retain(|_, w| w.strong_count() > 0);
            }
            c.insert(name.to_vec(), Arc::downgrade(&d));
            recent(&d);
        }
        d
    }

    /// The cached live child `name`.
    pub fn cached(&self, name: &[u8]) -> Option<Arc<Dentry>> {
        self.children
            .lock()
            .unwrap()
            .get(name)
            .and_then(|w| w.upgrade())
    }

    /// Forgets the cached child `name` (after unlink or rename by the VFS).
    pub fn forget(&self, name: &[u8]) -> Option<Arc<Dentry>> {
        self.children
            .lock()
            .unwrap()
            .remove(name)
            .and_then(|w| w.upgrade())
    }

    pub fn name(&self) -> Vec<u8> {
        self.link.lock().unwrap().0.clone()
    }

    pub fn parent(&self) -> Option<Arc<Dentry>> {
        self.link.lock().unwrap().1.clone()
    }

    /// Moves this dentry to `name` in `parent` (rename), updating the caches.
    pub fn move_to(self: &Arc<Dentry>, parent: &Arc<Dentry>, name: &[u8]) {
        let old = {
            let mut l = self.link.lock().unwrap();
            let old = (l.0.clone(), l.1.clone());
            *l = (name.to_vec(), Some(parent.clone()));
            old
        };
        if let (n, Some(p)) = old {
            let mut c = p.children.lock().unwrap();
            if c.get(&n)
                .map(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(self)))
                .unwrap_or(false)
            {
                c.remove(&n);
            }
        }
        parent
            .children
            .lock()
            .unwrap()
            .insert(name.to_vec(), Arc::downgrade(self));
    }

    pub fn set_deleted(&self) {
        self.deleted.store(true, Ordering::Release);
        // A removed directory must not be kept alive by the walk cache: its last user
        // going is what reports it gone (IN_DELETE_SELF).
        RECENT
            .lock()
            .unwrap()
            .retain(|d| !std::ptr::eq(Arc::as_ptr(d), self));
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    pub fn is_mountpoint(&self) -> bool {
        self.mounts.load(Ordering::Acquire) != 0
    }
}

impl Drop for Dentry {
    fn drop(&mut self) {
        if self.is_deleted() {
            super::notify::dentry_released(&*self.inode);
        }
    }
}

static RECENT: Mutex<VecDeque<Arc<Dentry>>> = Mutex::new(VecDeque::new());

/// Keeps the last few cached dentries alive, so that repeated walks of the same
/// directories (library search paths, $PATH) do not redo host lookups.
fn recent(d: &Arc<Dentry>) {
    const KEEP: usize = 256;
    if !super::mode::is_dir(d.inode.mode()) {
        return;
    }
    let mut r = RECENT.lock().unwrap();
    if r.len() >= KEEP {
        r.pop_front();
    }
    r.push_back(d.clone());
}

/// Mount flags (MS_*).
pub const MNT_RDONLY: u32 = 1;
pub const MNT_NOSUID: u32 = 2;
pub const MNT_NODEV: u32 = 4;
pub const MNT_NOEXEC: u32 = 8;

static NEXT_MOUNT_ID: AtomicU32 = AtomicU32::new(20);

pub struct Mount {
    pub id: u32,
    pub fs: Arc<dyn FileSystem>,
    pub root: Arc<Dentry>,
    /// Parent mount and mountpoint; None for a tree's root and for internal mounts.
    pub parent: Option<(Arc<Mount>, Arc<Dentry>)>,
    pub flags: u32,
    /// Internal mounts (pipes, host stdio) have no place in the tree: their files' paths
    /// are their dentry names ("pipe:[N]").
    pub internal: bool,
    /// What /proc/mounts shows as the source ("tmpfs", "proc", "/dev/sda1").
    pub source: String,
    children: Mutex<Vec<Arc<Mount>>>,
}

impl Mount {
    /// A tree's root mount, or an internal one.
    pub fn new_root(
        fs: Arc<dyn FileSystem>,
        root: Arc<Dentry>,
        flags: u32,
        source: &str,
        internal: bool,
    ) -> Arc<Mount> {
        Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            fs,
            root,
            parent: None,
            flags,
            internal,
            source: source.to_string(),
            children: Mutex::new(Vec::new()),
        })
    }

    /// Mounts `fs` (root dentry `root`) on `at`.
    pub fn attach(
        at: &Loc,
        fs: Arc<dyn FileSystem>,
        root: Arc<Dentry>,
        flags: u32,
        source: &str,
    ) -> Arc<Mount> {
        let m = Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            fs,
            root,
            parent: Some((at.mnt.clone(), at.dentry.clone())),
            flags,
            internal: false,
            source: source.to_string(),
            children: Mutex::new(Vec::new()),
        });
        at.dentry.mounts.fetch_add(1, Ordering::AcqRel);
        at.mnt.children.lock().unwrap().push(m.clone());
        m
    }

    /// The topmost mount on dentry `d` of this mount.
    pub fn mounted_on(&self, d: &Arc<Dentry>) -> Option<Arc<Mount>> {
        let c = self.children.lock().unwrap();
        c.iter()
            .rev()
            .find(|m| {
                m.parent
                    .as_ref()
                    .map(|(_, pd)| Arc::ptr_eq(pd, d))
                    .unwrap_or(false)
            })
            .cloned()
    }

    pub fn children(&self) -> Vec<Arc<Mount>> {
        self.children.lock().unwrap().clone()
    }

    pub fn readonly(&self) -> bool {
        self.flags & MNT_RDONLY != 0
    }

    /// This mount and every mount below it, parents before children.
    pub fn subtree(self: &Arc<Mount>) -> Vec<Arc<Mount>> {
        let mut out = vec![self.clone()];
        let mut i = 0;
        while i < out.len() {
            let c = out[i].children();
            out.extend(c);
            i += 1;
        }
        out
    }
}

/// A place in the mount tree.
#[derive(Clone)]
pub struct Loc {
    pub mnt: Arc<Mount>,
    pub dentry: Arc<Dentry>,
}

impl Loc {
    pub fn new(mnt: Arc<Mount>, dentry: Arc<Dentry>) -> Loc {
        Loc { mnt, dentry }
    }

    /// The root of a mount.
    pub fn root_of(mnt: &Arc<Mount>) -> Loc {
        Loc {
            mnt: mnt.clone(),
            dentry: mnt.root.clone(),
        }
    }

    pub fn same(&self, o: &Loc) -> bool {
        Arc::ptr_eq(&self.mnt, &o.mnt) && Arc::ptr_eq(&self.dentry, &o.dentry)
    }

    pub fn inode(&self) -> &Arc<dyn Inode> {
        &self.dentry.inode
    }

    /// The absolute path of this place as seen from `root` (bytes, no trailing slash
    /// except for "/"); internal files give their name; deleted ones end in " (deleted)".
    pub fn path_from(&self, root: &Loc) -> Vec<u8> {
        if self.mnt.internal {
            return self.dentry.name();
        }
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut m = self.mnt.clone();
        let mut d = self.dentry.clone();
        loop {
            if Arc::ptr_eq(&m, &root.mnt) && Arc::ptr_eq(&d, &root.dentry) {
                break;
            }
            if Arc::ptr_eq(&d, &m.root) {
                match m.parent.clone() {
                    Some((pm, pd)) => {
                        m = pm;
                        d = pd;
                        continue;
                    }
                    None => break,
                }
            }
            parts.push(d.name());
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        if self.dentry.is_deleted() {
            out.extend_from_slice(b" (deleted)");
        }
        out
    }

    /// The absolute path from the global root.
    pub fn path(&self) -> String {
        String::from_utf8_lossy(&self.path_from(&root_loc())).into_owned()
    }
}

/// The global mount tree's root (set by `setup_root`; a bare tmpfs until then).
static ROOT: RwLock<Option<Loc>> = RwLock::new(None);
static FALLBACK: OnceLock<Loc> = OnceLock::new();

pub fn set_root(l: Loc) {
    *ROOT.write().unwrap() = Some(l);
}

pub fn root_loc() -> Loc {
    if let Some(l) = ROOT.read().unwrap().as_ref() {
        return l.clone();
    }
    FALLBACK
        .get_or_init(|| {
            let fs = crate::fs::tmpfs::TmpFs::new(0o755);
            let m = Mount::new_root(fs.clone(), fs.root_dentry(), 0, "none", false);
            Loc::root_of(&m)
        })
        .clone()
}

/// The mount for internal files (pipes, host fds) that have no place in the tree.
pub fn anon_mount() -> Arc<Mount> {
    static ANON: OnceLock<Arc<Mount>> = OnceLock::new();
    ANON.get_or_init(|| {
        let fs = crate::fs::anon::AnonFs::instance();
        let root = Dentry::new_root(b"anon", crate::fs::anon::AnonFs::root_inode());
        Mount::new_root(fs, root, 0, "none", true)
    })
    .clone()
}

/// A detached place for an internal file named `name` ("pipe:[3]").
pub fn anon_loc(name: &[u8], inode: Arc<dyn Inode>) -> Loc {
    Loc {
        mnt: anon_mount(),
        dentry: Dentry::new_root(name, inode),
    }
}
