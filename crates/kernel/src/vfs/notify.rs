//! File-system event hooks (Linux's fsnotify): every VFS operation that reports events
//! calls one of these, so every file system gets inotify events. An event on a file goes
//! to the watches on the file and, with the file's name, to the watches on its parent
//! directory (parent first, as Linux queues them). Nothing is done while no watch exists.

use super::{mode, Dentry, File, Inode, Loc};
use crate::fs::inotify::{self as ino, Key};
use std::sync::Arc;

fn key_of(i: &dyn Inode) -> Option<Key> {
    i.stat().ok().map(|s| (s.dev, s.ino))
}

fn dirbit(i: &dyn Inode) -> u32 {
    if mode::is_dir(i.mode()) {
        ino::IN_ISDIR
    } else {
        0
    }
}

/// `mask` on the object of dentry `d`: to its parent's watches (with its name) and its own.
fn on_dentry(d: &Arc<Dentry>, mask: u32) {
    if !ino::active() {
        return;
    }
    let mask = mask | dirbit(&*d.inode);
    if let Some(p) = d.parent() {
        if let Some(pk) = key_of(&*p.inode) {
            ino::deliver(pk, mask, 0, &d.name(), d.is_deleted());
        }
    }
    if let Some(k) = key_of(&*d.inode) {
        ino::deliver(k, mask, 0, b"", false);
    }
}

/// `mask` to the watches of the inode alone (Linux's fsnotify_inode). The *_SELF
/// events carry no IN_ISDIR (as Linux reports them).
fn on_inode(i: &dyn Inode, mask: u32) {
    if !ino::active() {
        return;
    }
    if let Some(k) = key_of(i) {
        let isdir = if mask & (ino::IN_MOVE_SELF | ino::IN_DELETE_SELF) == 0 {
            dirbit(i)
        } else {
            0
        };
        ino::deliver(k, mask | isdir, 0, b"", false);
    }
}

/// An entry `name` of directory `dir` is the subject (create, delete).
fn on_entry(dir: &Loc, name: &[u8], mask: u32, is_dir: bool, cookie: u32) {
    if !ino::active() {
        return;
    }
    if let Some(k) = key_of(&**dir.inode()) {
        let m = mask | if is_dir { ino::IN_ISDIR } else { 0 };
        ino::deliver(k, m, cookie, name, false);
    }
}

/// A file was opened (not O_PATH).
pub fn opened(f: &File) {
    if !f.is_path() {
        on_dentry(&f.loc.dentry, ino::IN_OPEN);
    }
}

/// Data was read (read family, getdents).
pub fn accessed(f: &File) {
    on_dentry(&f.loc.dentry, ino::IN_ACCESS);
}

/// Data was written (write family, fallocate).
pub fn modified(f: &File) {
    on_dentry(&f.loc.dentry, ino::IN_MODIFY);
}

/// The last reference to an open file is gone (IN_CLOSE_WRITE / IN_CLOSE_NOWRITE).
pub fn closed(f: &File) {
    if f.is_path() || !ino::active() {
        return;
    }
    let mask = if f.writable() {
        ino::IN_CLOSE_WRITE
    } else {
        ino::IN_CLOSE_NOWRITE
    };
    on_dentry(&f.loc.dentry, mask);
}

/// Attributes of `loc` changed (chmod, chown, xattrs).
pub fn attrib(loc: &Loc) {
    on_dentry(&loc.dentry, ino::IN_ATTRIB);
}

/// setattr's event, as Linux's fsnotify_change: a size change is IN_MODIFY; both times
/// IN_ATTRIB, atime alone IN_ACCESS, mtime alone IN_MODIFY.
pub fn changed(loc: &Loc, size: bool, atime: bool, mtime: bool, other: bool) {
    let mut m = 0;
    if size {
        m |= ino::IN_MODIFY;
    }
    match (atime, mtime) {
        (true, true) => m |= ino::IN_ATTRIB,
        (true, false) => m |= ino::IN_ACCESS,
        (false, true) => m |= ino::IN_MODIFY,
        _ => {}
    }
    if other {
        m |= ino::IN_ATTRIB;
    }
    if m != 0 {
        on_dentry(&loc.dentry, m);
    }
}

/// `name` was created in `dir`.
pub fn created(dir: &Loc, name: &[u8], is_dir: bool) {
    on_entry(dir, name, ino::IN_CREATE, is_dir, 0);
}

/// `name` was removed from `dir` (after the removed object's own events).
pub fn deleted(dir: &Loc, name: &[u8], is_dir: bool) {
    on_entry(dir, name, ino::IN_DELETE, is_dir, 0);
}

/// The link count of `i` changed (link, unlink, rename over it).
pub fn link_count(i: &dyn Inode) {
    on_inode(i, ino::IN_ATTRIB);
}

/// `moved` went from `oname` in `odir` to `nname` in `ndir`, replacing `target`.
pub fn moved(
    odir: &Loc,
    oname: &[u8],
    ndir: &Loc,
    nname: &[u8],
    moved: &dyn Inode,
    target: Option<&dyn Inode>,
) {
    if !ino::active() {
        return;
    }
    let c = ino::cookie();
    let is_dir = mode::is_dir(moved.mode());
    on_entry(odir, oname, ino::IN_MOVED_FROM, is_dir, c);
    on_entry(ndir, nname, ino::IN_MOVED_TO, is_dir, c);
    if let Some(t) = target {
        link_count(t);
    }
    on_inode(moved, ino::IN_MOVE_SELF);
}

/// A deleted dentry's last user went: if the inode has no links left it is gone
/// (IN_DELETE_SELF, then its watches are removed with IN_IGNORED).
pub fn dentry_released(i: &dyn Inode) {
    if !ino::active() {
        return;
    }
    let Ok(st) = i.stat() else { return };
    if st.nlink == 0 {
        ino::inode_gone((st.dev, st.ino));
    }
}
