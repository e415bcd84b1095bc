//! Directories of the overlay: whiteouts, opaque marks, and the merged listing.

use super::{host_upper, kctx, OvlInode, Shared, OPAQUE_MARKER};
use crate::vfs::{dentry, mode, oflags, Ctx, DirEnt, FileOps, Inode};
use abi::Errno;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

const DT_UNKNOWN: u8 = 0;
const DT_CHR: u8 = 2;
const DT_DIR: u8 = 4;

const OPAQUE_XATTRS: [&str; 2] = ["trusted.overlay.opaque", "user.overlay.opaque"];

/// Is `i` a whiteout (a character device 0/0)?
pub(super) fn is_whiteout(i: &Arc<dyn Inode>) -> bool {
    i.mode() & mode::S_IFMT == mode::S_IFCHR && i.stat().map(|s| s.rdev == 0).unwrap_or(false)
}

/// The real (not whiteout) entry `name` of upper directory `du`.
pub(super) fn upper_entry(
    du: &Arc<dyn Inode>,
    name: &[u8],
) -> Result<Option<Arc<dyn Inode>>, Errno> {
    match du.lookup(&kctx(), name) {
        Ok(i) if is_whiteout(&i) => Ok(None),
        Ok(i) => Ok(Some(i)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes a whiteout `name` from upper directory `du`; whether there was one.
pub(super) fn remove_whiteout(du: &Arc<dyn Inode>, name: &[u8]) -> Result<bool, Errno> {
    match du.lookup(&kctx(), name) {
        Ok(i) if is_whiteout(&i) => {
            du.unlink(&kctx(), name)?;
            Ok(true)
        }
        Ok(_) | Err(Errno::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Hides the lower `name` with a whiteout in upper directory `du`.
pub(super) fn make_whiteout(du: &Arc<dyn Inode>, name: &[u8]) -> Result<(), Errno> {
    du.mknod(&kctx(), name, mode::S_IFCHR, 0).map(|_| ())
}

/// Is upper directory `u` opaque (merges with nothing below)?
pub(super) fn is_opaque(sh: &Shared, u: &Arc<dyn Inode>) -> bool {
    if !sh.upper_host {
        return match u.stat() {
            Ok(st) => sh.opaque.lock().unwrap().contains(&(st.dev, st.ino)),
            Err(_) => false,
        };
    }
    let Some(h) = host_upper(u) else {
        return false;
    };
    if OPAQUE_XATTRS
        .iter()
        .any(|x| h.xattr(x).map(|v| v == b"y").unwrap_or(false))
    {
        return true;
    }
    u.lookup(&kctx(), OPAQUE_MARKER).is_ok()
}

/// Marks upper directory `u` opaque.
pub(super) fn set_opaque(sh: &Shared, u: &Arc<dyn Inode>) -> Result<(), Errno> {
    if !sh.upper_host {
        let st = u.stat()?;
        sh.opaque.lock().unwrap().insert((st.dev, st.ino));
        return Ok(());
    }
    let h = host_upper(u).ok_or(Errno::EXDEV)?;
    for x in OPAQUE_XATTRS {
        if h.set_xattr(x, b"y").is_ok() {
            return Ok(());
        }
    }
    // No xattrs on this host file system: the marker file of OCI layers.
    match u.create(&kctx(), OPAQUE_MARKER, 0o600) {
        Ok(_) | Err(Errno::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Upper directory `u` is gone: forget its mark (memory upper).
pub(super) fn forget_opaque(sh: &Shared, u: &Arc<dyn Inode>) {
    if let Ok(st) = u.stat() {
        sh.opaque.lock().unwrap().remove(&(st.dev, st.ino));
    }
}

/// Every entry of a layer's directory `d` but "." and "..".
fn entries(d: &Arc<dyn Inode>) -> Result<Vec<DirEnt>, Errno> {
    let k = kctx();
    let loc = dentry::anon_loc(b"", d.clone());
    let ops = d
        .clone()
        .open(&k, &loc, oflags::O_RDONLY | oflags::O_DIRECTORY)?;
    let mut out = Vec::new();
    let mut pos = 0u64;
    loop {
        let before = out.len();
        pos = ops.readdir(&k, pos, &mut |e: &DirEnt| {
            if e.name != b"." && e.name != b".." {
                out.push(e.clone());
            }
            true
        })?;
        if out.len() == before {
            break;
        }
    }
    Ok(out)
}

/// Removes the whiteouts (and opaque marker) of upper directory `u`, so it can be
/// removed or replaced once empty in the merged view.
pub(super) fn clear_whiteouts(u: &Arc<dyn Inode>) -> Result<(), Errno> {
    let k = kctx();
    for e in entries(u)? {
        if e.name == OPAQUE_MARKER {
            u.unlink(&k, &e.name)?;
            continue;
        }
        if e.dtype == DT_CHR || e.dtype == DT_UNKNOWN {
            if let Ok(i) = u.lookup(&k, &e.name) {
                if is_whiteout(&i) {
                    u.unlink(&k, &e.name)?;
                }
            }
        }
    }
    Ok(())
}

/// The merged entries of overlay directory `o` (without "." and ".."), upper ones first,
/// with the inode numbers stat reports (caller holds the overlay lock).
pub(super) fn merged(o: &OvlInode) -> Result<Vec<DirEnt>, Errno> {
    let sh = &o.sh;
    let k = kctx();
    let mut out = Vec::new();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    if let Some(u) = o.upper() {
        let udev = u.stat()?.dev;
        for e in entries(&u)? {
            if sh.upper_host && e.name == OPAQUE_MARKER {
                continue;
            }
            if e.dtype == DT_CHR || e.dtype == DT_UNKNOWN {
                if let Ok(i) = u.lookup(&k, &e.name) {
                    if is_whiteout(&i) {
                        seen.insert(e.name.clone());
                        continue;
                    }
                }
            }
            let origin = sh.origin.lock().unwrap().get(&(udev, e.ino)).copied();
            let ino = match origin {
                Some((d, i)) => sh.xino(d, i),
                None => sh.xino(udev, e.ino),
            };
            seen.insert(e.name.clone());
            out.push(DirEnt { ino, ..e });
        }
    }
    if let Some(l) = o.lower() {
        let ldev = l.stat()?.dev;
        for e in entries(&l)? {
            if seen.contains(&e.name) {
                continue;
            }
            let ino = sh.xino(ldev, e.ino);
            out.push(DirEnt { ino, ..e });
        }
    }
    Ok(out)
}

/// Is overlay directory `o` empty in the merged view?
pub(super) fn merged_empty(o: &OvlInode) -> Result<bool, Errno> {
    Ok(merged(o)?.is_empty())
}

/// An open overlay directory: the merged listing, read once per rewind (Linux's
/// overlayfs caches it the same way), positions are indexes into it.
pub(super) struct OvlDirOps {
    inode: Arc<OvlInode>,
    cache: Mutex<Option<Vec<DirEnt>>>,
}

impl OvlDirOps {
    pub fn new(inode: Arc<OvlInode>) -> OvlDirOps {
        OvlDirOps {
            inode,
            cache: Mutex::new(None),
        }
    }

    fn build(&self) -> Result<Vec<DirEnt>, Errno> {
        let o = &self.inode;
        let _g = o.sh.lock.read().unwrap();
        let me = o.ident();
        let up = o.parent().map(|p| p.ident()).unwrap_or(me);
        let mut v = vec![
            DirEnt {
                ino: me,
                next: 0,
                dtype: DT_DIR,
                name: b".".to_vec(),
            },
            DirEnt {
                ino: up,
                next: 0,
                dtype: DT_DIR,
                name: b"..".to_vec(),
            },
        ];
        v.extend(merged(o)?);
        for (i, e) in v.iter_mut().enumerate() {
            e.next = i as u64 + 1;
        }
        Ok(v)
    }
}

impl FileOps for OvlDirOps {
    fn fsync(&self) -> Result<(), Errno> {
        Ok(())
    }

    fn readdir(
        &self,
        _ctx: &Ctx,
        pos: u64,
        emit: &mut dyn FnMut(&DirEnt) -> bool,
    ) -> Result<u64, Errno> {
        let mut c = self.cache.lock().unwrap();
        if pos == 0 || c.is_none() {
            *c = Some(self.build()?);
        }
        let list = c.as_ref().unwrap();
        let mut pos = pos;
        while let Some(e) = list.get(pos as usize) {
            if !emit(e) {
                break;
            }
            pos += 1;
        }
        Ok(pos)
    }
}
