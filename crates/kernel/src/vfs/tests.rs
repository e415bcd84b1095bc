//! Unit tests of the path walker, the path operations and tmpfs (no stub needed).

use super::dentry::{Loc, Mount, MNT_RDONLY};
use super::walk::{
    self, Last, Walker, RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV,
};
use super::{mode, oflags, ops, Ctx, DirEnt};
use crate::fs::tmpfs::TmpFs;
use crate::task::Creds;
use abi::Errno;
use std::sync::{Arc, Once};

fn memfile() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        crate::memfile::init().expect("memory file");
    });
}

/// A fresh tree: a tmpfs root mount and a root context for it.
fn tree() -> Ctx {
    memfile();
    let fs = TmpFs::new(0o755);
    let m = Mount::new_root(fs.clone(), fs.root_dentry(), 0, "tmpfs", false);
    Ctx {
        tid: 1,
        tgid: 1,
        creds: Creds::root(),
        root: Loc::root_of(&m),
        umask: 0o022,
    }
}

fn res(c: &Ctx, p: &str) -> Result<Loc, Errno> {
    walk::resolve(c, &c.root, p.as_bytes(), true)
}

fn res_nf(c: &Ctx, p: &str) -> Result<Loc, Errno> {
    walk::resolve(c, &c.root, p.as_bytes(), false)
}

fn path(c: &Ctx, l: &Loc) -> String {
    String::from_utf8(l.path_from(&c.root)).unwrap()
}

fn mkdir(c: &Ctx, p: &str) {
    ops::mkdir(c, &c.root, p.as_bytes(), 0o755).unwrap_or_else(|e| panic!("mkdir {p}: {e:?}"));
}

fn touch(c: &Ctx, p: &str) {
    ops::open(
        c,
        &c.root,
        p.as_bytes(),
        oflags::O_CREAT | oflags::O_WRONLY,
        0o644,
        0,
    )
    .unwrap_or_else(|e| panic!("create {p}: {e:?}"));
}

fn symlink(c: &Ctx, target: &str, p: &str) {
    ops::symlink(c, target.as_bytes(), &c.root, p.as_bytes()).unwrap();
}

fn err<T>(r: Result<T, Errno>) -> Errno {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn dot_and_dotdot() {
    let c = tree();
    mkdir(&c, "/a");
    mkdir(&c, "/a/b");
    assert_eq!(path(&c, &res(&c, "/a/b").unwrap()), "/a/b");
    assert_eq!(path(&c, &res(&c, "a//./b/").unwrap()), "/a/b");
    assert_eq!(path(&c, &res(&c, "/a/b/..").unwrap()), "/a");
    assert_eq!(path(&c, &res(&c, "/../../a/../..").unwrap()), "/");
    assert_eq!(path(&c, &res(&c, "/").unwrap()), "/");
    assert_eq!(err(res(&c, "")), Errno::ENOENT);
    assert_eq!(err(res(&c, "/nope")), Errno::ENOENT);
    assert_eq!(err(res(&c, "/nope/x")), Errno::ENOENT);
}

#[test]
fn not_a_directory_and_trailing_slash() {
    let c = tree();
    touch(&c, "/f");
    assert_eq!(err(res(&c, "/f/x")), Errno::ENOTDIR);
    assert_eq!(err(res(&c, "/f/")), Errno::ENOTDIR);
    assert_eq!(err(res(&c, "/f/.")), Errno::ENOTDIR);
    assert_eq!(err(res(&c, "/f/..")), Errno::ENOTDIR);
    assert!(res(&c, "/f").is_ok());
    // Creation rules with a trailing slash.
    assert_eq!(
        err(ops::open(
            &c,
            &c.root,
            b"/g/",
            oflags::O_CREAT | oflags::O_WRONLY,
            0o644,
            0
        )),
        Errno::EISDIR
    );
    ops::mkdir(&c, &c.root, b"/d/", 0o755).unwrap();
    assert_eq!(
        err(ops::mknod(&c, &c.root, b"/p/", mode::S_IFIFO | 0o644, 0)),
        Errno::ENOENT
    );
    assert_eq!(err(ops::unlink(&c, &c.root, b"/f/")), Errno::ENOTDIR);
    assert_eq!(err(ops::unlink(&c, &c.root, b"/d/")), Errno::EISDIR);
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/f", &c.root, b"/h/", 0)),
        Errno::ENOTDIR
    );
    ops::rmdir(&c, &c.root, b"/d/").unwrap();
}

#[test]
fn symlinks() {
    let c = tree();
    mkdir(&c, "/a");
    mkdir(&c, "/a/b");
    symlink(&c, "/a/b", "/abs");
    symlink(&c, "b", "/a/rel");
    symlink(&c, "../rel/", "/a/b/up");
    assert_eq!(path(&c, &res(&c, "/abs").unwrap()), "/a/b");
    assert_eq!(path(&c, &res(&c, "/a/rel").unwrap()), "/a/b");
    assert_eq!(path(&c, &res(&c, "/abs/up").unwrap()), "/a/b");
    // ".." after a symlink is taken from the target, not the link's directory.
    assert_eq!(path(&c, &res(&c, "/abs/..").unwrap()), "/a");
    // Without follow the link itself; a trailing slash follows anyway.
    assert!(mode::is_lnk(res_nf(&c, "/abs").unwrap().inode().mode()));
    assert_eq!(path(&c, &res_nf(&c, "/abs/").unwrap()), "/a/b");
    symlink(&c, "/nowhere", "/dangling");
    assert_eq!(err(res(&c, "/dangling")), Errno::ENOENT);
    assert!(res_nf(&c, "/dangling").is_ok());
    assert_eq!(
        ops::readlink(&c, &res_nf(&c, "/a/rel").unwrap()).unwrap(),
        b"b"
    );
    assert_eq!(
        err(ops::readlink(&c, &res(&c, "/a").unwrap())),
        Errno::EINVAL
    );
    assert_eq!(
        err(ops::symlink(&c, b"", &c.root, b"/empty")),
        Errno::ENOENT
    );
}

#[test]
fn eloop() {
    let c = tree();
    symlink(&c, "/self", "/self");
    assert_eq!(err(res(&c, "/self")), Errno::ELOOP);
    symlink(&c, "/pong", "/ping");
    symlink(&c, "/ping", "/pong");
    assert_eq!(err(res(&c, "/ping/x")), Errno::ELOOP);
    // A chain of exactly 40 links resolves; 41 do not.
    mkdir(&c, "/end");
    symlink(&c, "/end", "/l0");
    for i in 1..41 {
        symlink(&c, &format!("/l{}", i - 1), &format!("/l{i}"));
    }
    assert_eq!(path(&c, &res(&c, "/l39").unwrap()), "/end");
    assert_eq!(err(res(&c, "/l40")), Errno::ELOOP);
    // O_NOFOLLOW on a final symlink: ELOOP; with O_PATH it opens the link.
    assert_eq!(
        err(ops::open(&c, &c.root, b"/l0", oflags::O_NOFOLLOW, 0, 0)),
        Errno::ELOOP
    );
    assert!(ops::open(
        &c,
        &c.root,
        b"/l0",
        oflags::O_NOFOLLOW | oflags::O_PATH,
        0,
        0
    )
    .is_ok());
}

#[test]
fn name_too_long() {
    let c = tree();
    let long = format!("/{}", "x".repeat(256));
    assert_eq!(err(res(&c, &long)), Errno::ENAMETOOLONG);
    assert_eq!(
        err(ops::mkdir(&c, &c.root, long.as_bytes(), 0o755)),
        Errno::ENAMETOOLONG
    );
    let ok = format!("/{}", "x".repeat(255));
    ops::mkdir(&c, &c.root, ok.as_bytes(), 0o755).unwrap();
    let huge = "/a".repeat(2048);
    assert_eq!(err(res(&c, &huge)), Errno::ENAMETOOLONG);
}

#[test]
fn mount_crossing() {
    let c = tree();
    mkdir(&c, "/mnt");
    mkdir(&c, "/mnt/hidden");
    let at = res(&c, "/mnt").unwrap();
    let fs2 = TmpFs::new(0o1777);
    let m2 = Mount::attach(&at, fs2.clone(), fs2.root_dentry(), 0, "tmpfs");
    // The mounted tree hides what was under the mountpoint.
    assert_eq!(err(res(&c, "/mnt/hidden")), Errno::ENOENT);
    touch(&c, "/mnt/x");
    let x = res(&c, "/mnt/x").unwrap();
    assert!(Arc::ptr_eq(&x.mnt, &m2));
    assert_eq!(path(&c, &x), "/mnt/x");
    let root_st = c.root.inode().stat().unwrap();
    assert_ne!(x.inode().stat().unwrap().dev, root_st.dev);
    // ".." at the mounted root goes to the parent mount.
    assert_eq!(path(&c, &res(&c, "/mnt/..").unwrap()), "/");
    assert!(res(&c, "/mnt/../mnt/x").is_ok());
    // The mountpoint cannot be removed; cross-mount renames and links are EXDEV.
    assert_eq!(err(ops::rmdir(&c, &c.root, b"/mnt")), Errno::EBUSY);
    touch(&c, "/y");
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/y", &c.root, b"/mnt/y", 0)),
        Errno::EXDEV
    );
    assert_eq!(
        err(ops::link(&c, &res(&c, "/y").unwrap(), &c.root, b"/mnt/y")),
        Errno::EXDEV
    );
    // RESOLVE_NO_XDEV refuses to cross.
    let mut w = Walker::new(&c, &c.root, RESOLVE_NO_XDEV);
    assert_eq!(
        err(w.resolve_from(c.root.clone(), b"mnt/x", true)),
        Errno::EXDEV
    );
}

#[test]
fn readonly_mount() {
    let c = tree();
    mkdir(&c, "/ro");
    let at = res(&c, "/ro").unwrap();
    let fs2 = TmpFs::new(0o755);
    let r2 = fs2.root_inode();
    use super::Inode;
    r2.mkdir(&c, b"sub", 0o755).unwrap();
    Mount::attach(&at, fs2.clone(), fs2.root_dentry(), MNT_RDONLY, "tmpfs");
    // EEXIST wins over EROFS for creation; EROFS otherwise.
    assert_eq!(
        err(ops::mkdir(&c, &c.root, b"/ro/sub", 0o755)),
        Errno::EEXIST
    );
    assert_eq!(
        err(ops::mkdir(&c, &c.root, b"/ro/new", 0o755)),
        Errno::EROFS
    );
    assert_eq!(err(ops::rmdir(&c, &c.root, b"/ro/sub")), Errno::EROFS);
    assert_eq!(err(ops::unlink(&c, &c.root, b"/ro/nothing")), Errno::EROFS);
    assert_eq!(
        err(ops::open(
            &c,
            &c.root,
            b"/ro/f",
            oflags::O_CREAT | oflags::O_RDWR,
            0o644,
            0
        )),
        Errno::EROFS
    );
    assert!(ops::open(&c, &c.root, b"/ro/sub", oflags::O_RDONLY, 0, 0).is_ok());
    assert_eq!(
        err(ops::access(&c, &res(&c, "/ro/sub").unwrap(), 2, false)),
        Errno::EROFS
    );
}

#[test]
fn resolve_beneath_and_in_root() {
    let c = tree();
    mkdir(&c, "/jail");
    mkdir(&c, "/jail/d");
    symlink(&c, "/etc", "/jail/abs");
    mkdir(&c, "/etc");
    let jail = res(&c, "/jail").unwrap();
    let mut w = Walker::new(&c, &jail, RESOLVE_BENEATH);
    assert_eq!(err(w.resolve_from(jail.clone(), b"..", true)), Errno::EXDEV);
    let mut w = Walker::new(&c, &jail, RESOLVE_BENEATH);
    assert_eq!(
        err(w.resolve_from(jail.clone(), b"abs", true)),
        Errno::EXDEV
    );
    let mut w = Walker::new(&c, &jail, RESOLVE_BENEATH);
    assert!(w.resolve_from(jail.clone(), b"d/..", true).is_ok());
    // IN_ROOT: "/" and ".." stop at the start directory.
    let mut w = Walker::new(&c, &jail, RESOLVE_IN_ROOT);
    assert_eq!(
        path(&c, &w.resolve_from(jail.clone(), b"../../d", true).unwrap()),
        "/jail/d"
    );
    let mut w = Walker::new(&c, &jail, RESOLVE_IN_ROOT);
    assert_eq!(
        err(w.resolve_from(jail.clone(), b"abs", true)),
        Errno::ENOENT
    );
    let mut w = Walker::new(&c, &jail, RESOLVE_NO_SYMLINKS);
    assert_eq!(
        err(w.resolve_from(jail.clone(), b"abs", true)),
        Errno::ELOOP
    );
}

#[test]
fn create_through_dangling_symlink() {
    let c = tree();
    mkdir(&c, "/d");
    symlink(&c, "/d/target", "/link");
    let mut w = Walker::new(&c, &c.root, 0);
    match w.last(c.root.clone(), b"/link", true).unwrap() {
        Last::Missing { dir, name, .. } => {
            assert_eq!(path(&c, &dir), "/d");
            assert_eq!(name, b"target");
        }
        Last::Found(_) => panic!("found"),
    }
    ops::open(
        &c,
        &c.root,
        b"/link",
        oflags::O_CREAT | oflags::O_WRONLY,
        0o600,
        0,
    )
    .unwrap();
    assert!(res(&c, "/d/target").is_ok());
    // O_CREAT|O_EXCL never follows: the link exists.
    assert_eq!(
        err(ops::open(
            &c,
            &c.root,
            b"/link",
            oflags::O_CREAT | oflags::O_EXCL | oflags::O_WRONLY,
            0o600,
            0
        )),
        Errno::EEXIST
    );
}

#[test]
fn namespace_errors() {
    let c = tree();
    mkdir(&c, "/a");
    mkdir(&c, "/a/b");
    touch(&c, "/a/f");
    assert_eq!(err(ops::mkdir(&c, &c.root, b"/a", 0o755)), Errno::EEXIST);
    assert_eq!(err(ops::mkdir(&c, &c.root, b"/a/.", 0o755)), Errno::EEXIST);
    assert_eq!(err(ops::mkdir(&c, &c.root, b"/", 0o755)), Errno::EEXIST);
    assert_eq!(err(ops::rmdir(&c, &c.root, b"/a")), Errno::ENOTEMPTY);
    assert_eq!(err(ops::rmdir(&c, &c.root, b"/a/.")), Errno::EINVAL);
    assert_eq!(err(ops::rmdir(&c, &c.root, b"/a/..")), Errno::ENOTEMPTY);
    assert_eq!(err(ops::rmdir(&c, &c.root, b"/a/f")), Errno::ENOTDIR);
    assert_eq!(err(ops::unlink(&c, &c.root, b"/a/b")), Errno::EISDIR);
    assert_eq!(err(ops::unlink(&c, &c.root, b"/a/nope")), Errno::ENOENT);
    assert_eq!(
        err(ops::open(
            &c,
            &c.root,
            b"/a/f",
            oflags::O_CREAT | oflags::O_EXCL | oflags::O_WRONLY,
            0,
            0
        )),
        Errno::EEXIST
    );
    assert_eq!(
        err(ops::open(&c, &c.root, b"/a", oflags::O_WRONLY, 0, 0)),
        Errno::EISDIR
    );
    assert_eq!(
        err(ops::open(
            &c,
            &c.root,
            b"/a",
            oflags::O_CREAT | oflags::O_RDONLY,
            0,
            0
        )),
        Errno::EISDIR
    );
    assert_eq!(
        err(ops::open(&c, &c.root, b"/a/f", oflags::O_DIRECTORY, 0, 0)),
        Errno::ENOTDIR
    );
    // Renames: into its own subtree, over a non-empty dir, file over dir, dir over file.
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/a", &c.root, b"/a/b/c", 0)),
        Errno::EINVAL
    );
    mkdir(&c, "/e");
    touch(&c, "/e/x");
    mkdir(&c, "/empty");
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/empty", &c.root, b"/e", 0)),
        Errno::ENOTEMPTY
    );
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/a/f", &c.root, b"/empty", 0)),
        Errno::EISDIR
    );
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/empty", &c.root, b"/a/f", 0)),
        Errno::ENOTDIR
    );
    assert_eq!(
        err(ops::rename(
            &c,
            &c.root,
            b"/a/f",
            &c.root,
            b"/e/x",
            ops::RENAME_NOREPLACE
        )),
        Errno::EEXIST
    );
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/.", &c.root, b"/z", 0)),
        Errno::EBUSY
    );
    // Onto an ancestor of the source (its own parent, or further up).
    mkdir(&c, "/a/b/c");
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/a/b/c", &c.root, b"/a/b", 0)),
        Errno::ENOTEMPTY
    );
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/a/b/c", &c.root, b"/a", 0)),
        Errno::ENOTEMPTY
    );
    assert_eq!(
        err(ops::rename(&c, &c.root, b"/a/f", &c.root, b"/a/b/c/..", 0)),
        Errno::EBUSY
    );
    assert_eq!(
        err(ops::rename(
            &c,
            &c.root,
            b"/a/b",
            &c.root,
            b"/a",
            ops::RENAME_EXCHANGE
        )),
        Errno::EINVAL
    );
    ops::rmdir(&c, &c.root, b"/a/b/c").unwrap();
    assert_eq!(
        err(ops::link(&c, &res(&c, "/a").unwrap(), &c.root, b"/alink")),
        Errno::EPERM
    );
    // A valid rename of a directory moves its subtree and cached names.
    ops::rename(&c, &c.root, b"/a", &c.root, b"/e/a2", 0).unwrap();
    assert_eq!(path(&c, &res(&c, "/e/a2/b").unwrap()), "/e/a2/b");
    assert_eq!(err(res(&c, "/a")), Errno::ENOENT);
    // Rename over an empty directory, then exchange.
    ops::rename(&c, &c.root, b"/empty", &c.root, b"/e/a2/b", 0).unwrap();
    touch(&c, "/p");
    ops::rename(&c, &c.root, b"/p", &c.root, b"/e", ops::RENAME_EXCHANGE).unwrap();
    assert!(mode::is_dir(res(&c, "/p").unwrap().inode().mode()));
    assert!(mode::is_reg(res(&c, "/e").unwrap().inode().mode()));
    assert!(res(&c, "/p/x").is_ok());
}

#[test]
fn links_and_deleted_names() {
    let c = tree();
    touch(&c, "/f");
    let f = res(&c, "/f").unwrap();
    ops::link(&c, &f, &c.root, b"/g").unwrap();
    assert_eq!(f.inode().stat().unwrap().nlink, 2);
    let file = ops::open(&c, &c.root, b"/f", oflags::O_RDONLY, 0, 0).unwrap();
    ops::unlink(&c, &c.root, b"/f").unwrap();
    assert_eq!(f.inode().stat().unwrap().nlink, 1);
    assert_eq!(
        file.path(),
        String::from_utf8(file.loc.path_from(&super::dentry::root_loc())).unwrap()
    );
    assert!(String::from_utf8(file.loc.path_from(&c.root))
        .unwrap()
        .ends_with("/f (deleted)"));
    assert!(res(&c, "/g").is_ok());
    // Directory link counts follow subdirectories.
    mkdir(&c, "/d");
    let d = res(&c, "/d").unwrap();
    assert_eq!(d.inode().stat().unwrap().nlink, 2);
    mkdir(&c, "/d/s");
    assert_eq!(d.inode().stat().unwrap().nlink, 3);
    ops::rmdir(&c, &c.root, b"/d/s").unwrap();
    assert_eq!(d.inode().stat().unwrap().nlink, 2);
}

#[test]
fn readdir_positions_are_stable() {
    let c = tree();
    mkdir(&c, "/d");
    for n in ["one", "two", "three"] {
        touch(&c, &format!("/d/{n}"));
    }
    let dir = ops::open(
        &c,
        &c.root,
        b"/d",
        oflags::O_RDONLY | oflags::O_DIRECTORY,
        0,
        0,
    )
    .unwrap();
    let mut got: Vec<DirEnt> = Vec::new();
    // Take two entries, then the rest: the position carries over.
    let mut n = 0;
    dir.readdir(&c, &mut |e| {
        if n == 2 {
            return false;
        }
        n += 1;
        got.push(e.clone());
        true
    })
    .unwrap();
    // Removing an entry not yet read and adding one does not disturb the position.
    ops::unlink(&c, &c.root, b"/d/two").unwrap();
    touch(&c, "/d/four");
    dir.readdir(&c, &mut |e| {
        got.push(e.clone());
        true
    })
    .unwrap();
    let names: Vec<String> = got
        .iter()
        .map(|e| String::from_utf8(e.name.clone()).unwrap())
        .collect();
    assert_eq!(names, vec![".", "..", "one", "three", "four"]);
    assert!(got.windows(2).all(|w| w[0].next < w[1].next));
    assert_eq!(got[2].dtype, 8);
    assert_eq!(got[0].dtype, 4);
}

#[test]
fn tmpfs_file_data() {
    memfile();
    let fs = TmpFs::new(0o755);
    let c = tree();
    use super::Inode;
    let root = fs.root_inode();
    root.create(&c, b"f", 0o644).unwrap();
    let f = root.child(b"f").unwrap();
    let d = f.file_data().unwrap();
    assert_eq!(d.write(5000, b"hello").unwrap(), 5);
    assert_eq!(d.size(), 5005);
    let mut buf = vec![0xffu8; 6000];
    assert_eq!(d.read(0, &mut buf), 5005);
    assert!(buf[..5000].iter().all(|&b| b == 0));
    assert_eq!(&buf[5000..5005], b"hello");
    // Append, truncate down and back up: the cut bytes read as zeros.
    d.write(super::inode::APPEND, b"!!").unwrap();
    assert_eq!(d.size(), 5007);
    d.truncate(5002).unwrap();
    d.truncate(5010).unwrap();
    let mut b2 = [0u8; 10];
    assert_eq!(d.read(5000, &mut b2), 10);
    assert_eq!(&b2, b"he\0\0\0\0\0\0\0\0");
    assert_eq!(d.read(6000, &mut b2), 0);
    // Mapped pages past EOF fault (SIGBUS for the mapper).
    use crate::mm::MemObject;
    assert!(d.page(1).is_ok());
    assert_eq!(d.page(2), Err(Errno::EFAULT));
    let st = f.stat().unwrap();
    assert_eq!(st.size, 5010);
    assert!(st.mtime >= st.btime.unwrap());
}

#[test]
fn permissions_of_other_users() {
    let mut c = tree();
    mkdir(&c, "/priv");
    ops::chmod(&c, &res(&c, "/priv").unwrap(), 0o700).unwrap();
    mkdir(&c, "/sticky");
    ops::chmod(&c, &res(&c, "/sticky").unwrap(), 0o1777).unwrap();
    touch(&c, "/sticky/rootfile");
    c.creds = Creds {
        uid: 1000,
        euid: 1000,
        fsuid: 1000,
        gid: 1000,
        egid: 1000,
        fsgid: 1000,
        ..Default::default()
    };
    assert_eq!(err(res(&c, "/priv/x")), Errno::EACCES);
    assert_eq!(
        err(ops::mkdir(&c, &c.root, b"/newdir", 0o755)),
        Errno::EACCES
    );
    touch(&c, "/sticky/mine");
    assert_eq!(
        err(ops::unlink(&c, &c.root, b"/sticky/rootfile")),
        Errno::EPERM
    );
    ops::unlink(&c, &c.root, b"/sticky/mine").unwrap();
    assert_eq!(
        err(ops::chmod(&c, &res(&c, "/sticky/rootfile").unwrap(), 0o777)),
        Errno::EPERM
    );
    assert_eq!(
        err(ops::open(
            &c,
            &c.root,
            b"/sticky/rootfile",
            oflags::O_WRONLY,
            0,
            0
        )),
        Errno::EACCES
    );
    assert!(ops::open(&c, &c.root, b"/sticky/rootfile", oflags::O_RDONLY, 0, 0).is_ok());
}

#[test]
fn tmpfs_limits() {
    use super::{FileSystem, Inode};
    use crate::fs::tmpfs::TmpfsOptions;
    memfile();
    let o = TmpfsOptions::parse("size=8k,nr_inodes=3,mode=700,uid=5,gid=6", 1 << 20).unwrap();
    let fs = TmpFs::with_options(&o, "tmpfs");
    let root = fs.root_inode();
    let st = root.stat().unwrap();
    assert_eq!((st.mode & 0o7777, st.uid, st.gid), (0o700, 5, 6));
    let c = tree();
    root.create(&c, b"a", 0o644).unwrap();
    root.create(&c, b"b", 0o644).unwrap();
    // The root counts: a third file is past nr_inodes=3.
    assert_eq!(err(root.create(&c, b"c", 0o644)), Errno::ENOSPC);
    let sf = fs.statfs();
    assert_eq!((sf.files, sf.ffree, sf.blocks, sf.bfree), (3, 0, 2, 2));
    let a = root.child(b"a").unwrap();
    let d = a.file_data().unwrap().clone();
    // Two pages fit; a write of three pages is cut at the limit.
    assert_eq!(d.write(0, &[1u8; 3 * 4096]).unwrap(), 2 * 4096);
    assert_eq!(fs.statfs().bfree, 0);
    let e = root.child(b"b").unwrap();
    let e = e.file_data().unwrap();
    assert_eq!(e.write(0, b"x"), Err(Errno::ENOSPC));
    assert_eq!(e.allocate(0, 4096, false), Err(Errno::ENOSPC));
    // Punching a page gives it back.
    d.punch(0, 4096).unwrap();
    assert_eq!(fs.statfs().bfree, 1);
    assert_eq!(e.write(0, b"x").unwrap(), 1);
    // Removing a file frees its inode and blocks.
    root.unlink(&c, b"a").unwrap();
    drop(d);
    drop(a);
    assert_eq!(fs.statfs().bfree, 1);
    root.create(&c, b"c", 0o644).unwrap();
}
