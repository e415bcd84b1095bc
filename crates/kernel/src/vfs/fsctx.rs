//! A process's file-system context: root, working directory and umask
//! (shared under CLONE_FS, copied otherwise).

use super::dentry::{root_loc, Loc};
use super::{walk, Ctx};
use std::sync::Mutex;

struct Inner {
    root: Loc,
    cwd: Loc,
    umask: u32,
}

pub struct FsContext {
    inner: Mutex<Inner>,
}

impl FsContext {
    /// The first process's context: the global root, and `cwd` if it resolves to a
    /// directory there ("/" otherwise).
    pub fn initial(cwd: &str) -> FsContext {
        let root = root_loc();
        let ctx = Ctx {
            tid: 0,
            tgid: 0,
            creds: crate::task::Creds::root(),
            root: root.clone(),
            umask: 0o022,
        };
        let c = walk::resolve(&ctx, &root, cwd.as_bytes(), true)
            .ok()
            .filter(|l| super::mode::is_dir(l.inode().mode()))
            .unwrap_or_else(|| root.clone());
        FsContext {
            inner: Mutex::new(Inner {
                root,
                cwd: c,
                umask: 0o022,
            }),
        }
    }

    pub fn fork_copy(&self) -> FsContext {
        let g = self.inner.lock().unwrap();
        FsContext {
            inner: Mutex::new(Inner {
                root: g.root.clone(),
                cwd: g.cwd.clone(),
                umask: g.umask,
            }),
        }
    }

    pub fn umask(&self) -> u32 {
        self.inner.lock().unwrap().umask
    }

    /// Sets the umask, returning the old one.
    pub fn set_umask(&self, m: u32) -> u32 {
        let mut g = self.inner.lock().unwrap();
        std::mem::replace(&mut g.umask, m & 0o777)
    }

    pub fn root(&self) -> Loc {
        self.inner.lock().unwrap().root.clone()
    }

    pub fn cwd(&self) -> Loc {
        self.inner.lock().unwrap().cwd.clone()
    }

    pub fn set_cwd(&self, l: Loc) {
        self.inner.lock().unwrap().cwd = l;
    }

    pub fn set_root(&self, l: Loc) {
        self.inner.lock().unwrap().root = l;
    }
}
