//! Unit tests of the overlay with a tmpfs lower layer and a memory upper layer (no stub,
//! no host files): merging, whiteouts, opaque directories, copy-up identity, hard links.

use super::OvlFs;
use crate::fs::tmpfs::TmpFs;
use crate::task::Creds;
use crate::vfs::dentry::{Loc, Mount};
use crate::vfs::{mode, oflags, ops, walk, Ctx, DirEnt, Inode};
use abi::Errno;
use std::sync::{Arc, Once};

fn ctx_for(root: Loc) -> Ctx {
    Ctx {
        tid: 1,
        tgid: 1,
        creds: Creds::root(),
        root,
        umask: 0o022,
    }
}

/// A lower tmpfs with a/{x, y, sub/z}, f (two names: f and g), and an overlay over it.
fn setup() -> (Ctx, Ctx) {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        crate::memfile::init().expect("memory file");
    });
    let lower = TmpFs::new(0o755);
    let lm = Mount::new_root(lower.clone(), lower.root_dentry(), 0, "lower", false);
    let lc = ctx_for(Loc::root_of(&lm));
    for d in ["/a", "/a/sub", "/e"] {
        ops::mkdir(&lc, &lc.root, d.as_bytes(), 0o755).unwrap();
    }
    for f in ["/a/x", "/a/y", "/a/sub/z", "/f"] {
        let file = ops::open(
            &lc,
            &lc.root,
            f.as_bytes(),
            oflags::O_CREAT | oflags::O_WRONLY,
            0o644,
            0,
        )
        .unwrap();
        // Each file holds its own path as data.
        if let Some(t) = file
            .inode()
            .as_any()
            .downcast_ref::<crate::fs::tmpfs::TmpInode>()
        {
            t.file_data().unwrap().write(0, f.as_bytes()).unwrap();
        }
    }
    let f = walk::resolve(&lc, &lc.root, b"/f", false).unwrap();
    ops::link(&lc, &f, &lc.root, b"/g").unwrap();
    let upper = TmpFs::new(0o755);
    let lroot: Arc<dyn Inode> = lower.root_inode();
    let uroot: Arc<dyn Inode> = upper.root_inode();
    let fs = OvlFs::new(lower, lroot, upper, uroot, false).unwrap();
    let d = fs.root_dentry();
    let om = Mount::new_root(fs, d, 0, "overlay", false);
    (lc, ctx_for(Loc::root_of(&om)))
}

fn names(c: &Ctx, p: &str) -> Vec<String> {
    let l = walk::resolve(c, &c.root, p.as_bytes(), true).unwrap();
    let f = ops::open_loc(c, l, oflags::O_RDONLY | oflags::O_DIRECTORY, false).unwrap();
    let mut v = Vec::new();
    f.readdir(c, &mut |e: &DirEnt| {
        v.push(String::from_utf8_lossy(&e.name).into_owned());
        true
    })
    .unwrap();
    v.sort();
    v
}

fn st(c: &Ctx, p: &str) -> Result<crate::vfs::Stat, Errno> {
    walk::resolve(c, &c.root, p.as_bytes(), false).and_then(|l| l.inode().stat())
}

#[test]
fn whiteouts_and_opaque_directories() {
    let (lc, c) = setup();
    assert_eq!(names(&c, "/a"), [".", "..", "sub", "x", "y"]);
    ops::unlink(&c, &c.root, b"/a/x").unwrap();
    assert_eq!(st(&c, "/a/x").unwrap_err(), Errno::ENOENT);
    assert_eq!(names(&c, "/a"), [".", "..", "sub", "y"]);
    // The lower layer is untouched.
    assert!(st(&lc, "/a/x").is_ok());
    assert_eq!(
        ops::rmdir(&c, &c.root, b"/a/sub").unwrap_err(),
        Errno::ENOTEMPTY
    );
    ops::unlink(&c, &c.root, b"/a/sub/z").unwrap();
    ops::rmdir(&c, &c.root, b"/a/sub").unwrap();
    ops::mkdir(&c, &c.root, b"/a/sub", 0o700).unwrap();
    assert_eq!(names(&c, "/a/sub"), [".", ".."]);
    assert_eq!(st(&c, "/a/sub/z").unwrap_err(), Errno::ENOENT);
}

#[test]
fn copy_up_keeps_identity_and_data() {
    let (_lc, c) = setup();
    let before = st(&c, "/a/y").unwrap();
    let f = ops::open(
        &c,
        &c.root,
        b"/a/y",
        oflags::O_WRONLY | oflags::O_TRUNC,
        0,
        0,
    )
    .unwrap();
    drop(f);
    let after = st(&c, "/a/y").unwrap();
    assert_eq!((before.dev, before.ino), (after.dev, after.ino));
    assert_eq!(after.size, 0);
    // A directory rename copies the tree up.
    ops::rename(&c, &c.root, b"/a", &c.root, b"/b", 0).unwrap();
    assert_eq!(names(&c, "/b"), [".", "..", "sub", "x", "y"]);
    assert_eq!(names(&c, "/b/sub"), [".", "..", "z"]);
    assert_eq!(st(&c, "/a").unwrap_err(), Errno::ENOENT);
    assert_eq!(st(&c, "/b/sub/z").unwrap().size, 8);
    ops::mkdir(&c, &c.root, b"/a", 0o755).unwrap();
    assert_eq!(names(&c, "/a"), [".", ".."]);
}

#[test]
fn hard_links_stay_one_inode() {
    let (_lc, c) = setup();
    let f0 = st(&c, "/f").unwrap();
    assert_eq!(f0.nlink, 2);
    assert_eq!(st(&c, "/g").unwrap().ino, f0.ino);
    ops::chmod(&c, &walk::resolve(&c, &c.root, b"/g", true).unwrap(), 0o600).unwrap();
    let (f1, g1) = (st(&c, "/f").unwrap(), st(&c, "/g").unwrap());
    assert_eq!((f1.ino, f1.mode & 0o777, f1.nlink), (f0.ino, 0o600, 2));
    assert_eq!((g1.ino, g1.mode & 0o777), (f0.ino, 0o600));
    ops::unlink(&c, &c.root, b"/g").unwrap();
    assert_eq!(st(&c, "/f").unwrap().nlink, 1);
}

#[test]
fn statfs_and_whiteout_refusals() {
    let (_lc, c) = setup();
    let s = c.root.mnt.fs.statfs();
    assert_eq!(s.fs_type, super::OVERLAYFS_SUPER_MAGIC);
    assert_eq!(
        ops::mknod(&c, &c.root, b"/w", mode::S_IFCHR, 0).unwrap_err(),
        Errno::EPERM
    );
    assert_eq!(
        ops::rename(&c, &c.root, b"/f", &c.root, b"/h", 4).unwrap_err(),
        Errno::EINVAL
    );
}
