//! Copy-up: making a lower object an upper one (its directories first), with its data
//! (holes kept), mode, owner and times; the upper parent's times are restored after, so
//! a copy-up is invisible in the merged view.

use super::{dir, kctx, OvlInode, Tracked};
use crate::fs::hostfs::{sys, HostInode};
use crate::fs::tmpfs::{FileData, TmpInode};
use crate::vfs::{mode, Inode, SetAttr};
use abi::Errno;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

/// Copies `o` up (caller holds the overlay lock exclusively) and returns its upper
/// object. `at` is the directory and name to copy it up under (default: where it was
/// found). A lower hard link already copied up under another name gets `at` as a new
/// link of the copy. `data`: copy the contents of a regular file (not for O_TRUNC).
pub(super) fn copy_up(
    o: &Arc<OvlInode>,
    at: Option<(Arc<OvlInode>, Vec<u8>)>,
    data: bool,
) -> Result<Arc<dyn Inode>, Errno> {
    if let Some(u) = o.upper() {
        if let Some((d, n)) = at.filter(|_| o.nlink.lock().unwrap().is_some()) {
            let du = copy_up(&d, None, true)?;
            if dir::upper_entry(&du, &n)?.is_none() {
                du.link(&kctx(), &n, &u)?;
            }
        }
        return Ok(u);
    }
    let (parent, name) = at
        .or_else(|| o.alias.lock().unwrap().clone())
        .ok_or(Errno::ENOENT)?;
    let pu = copy_up(&parent, None, true)?;
    let lower = o.lower().ok_or(Errno::EIO)?;
    let st = lower.stat()?;
    let pst = pu.stat()?;
    let k = kctx();
    let perms = st.mode & 0o7777;
    let u = match st.mode & mode::S_IFMT {
        mode::S_IFDIR => pu.mkdir(&k, &name, perms)?,
        mode::S_IFREG => {
            let u = pu.create(&k, &name, perms)?;
            if data {
                if let Err(e) = copy_data(&lower, &u, st.size) {
                    let _ = pu.unlink(&k, &name);
                    return Err(e);
                }
            }
            u
        }
        mode::S_IFLNK => pu.symlink(&k, &name, &lower.readlink(&k)?)?,
        _ => pu.mknod(&k, &name, st.mode, st.rdev)?,
    };
    let attrs = SetAttr {
        mode: (!mode::is_lnk(st.mode)).then_some(perms),
        uid: Some(st.uid),
        gid: Some(st.gid),
        size: None,
        atime: Some(st.atime),
        mtime: Some(st.mtime),
    };
    if let Err(e) = u.setattr(&k, &attrs) {
        let _ = if mode::is_dir(st.mode) {
            pu.rmdir(&k, &name)
        } else {
            pu.unlink(&k, &name)
        };
        return Err(e);
    }
    let _ = pu.setattr(
        &k,
        &SetAttr {
            atime: Some(pst.atime),
            mtime: Some(pst.mtime),
            ..Default::default()
        },
    );
    if let Some(origin) = o.origin {
        let ust = u.stat()?;
        o.sh.origin
            .lock()
            .unwrap()
            .insert((ust.dev, ust.ino), origin);
        if o.nlink.lock().unwrap().is_some() {
            o.sh.links
                .lock()
                .unwrap()
                .insert(origin, Tracked::Pinned(o.clone()));
        }
    }
    *o.upper.lock().unwrap() = Some(u.clone());
    Ok(u)
}

/// Copies directory `o` and everything below it up (for a directory rename).
pub(super) fn copy_up_tree(o: &Arc<OvlInode>) -> Result<(), Errno> {
    let mut todo = vec![o.clone()];
    while let Some(d) = todo.pop() {
        copy_up(&d, None, true)?;
        for e in dir::merged(&d)? {
            let c = d.lookup_locked(&e.name)?;
            if c.is_dir() {
                todo.push(c);
            } else {
                copy_up(&c, Some((d.clone(), e.name.clone())), true)?;
            }
        }
    }
    Ok(())
}

enum Data {
    Host(OwnedFd),
    Mem(Arc<FileData>),
}

fn data_of(i: &Arc<dyn Inode>, write: bool) -> Result<Data, Errno> {
    if let Some(h) = i.as_any().downcast_ref::<HostInode>() {
        let flags = if write {
            libc::O_WRONLY
        } else {
            libc::O_RDONLY
        };
        return Ok(Data::Host(h.reopen(flags)?));
    }
    if let Some(t) = i.as_any().downcast_ref::<TmpInode>() {
        return t.file_data().cloned().map(Data::Mem).ok_or(Errno::EINVAL);
    }
    Err(Errno::EXDEV)
}

/// Copies `size` bytes of `lower`'s data into `upper`, skipping holes of host files.
fn copy_data(lower: &Arc<dyn Inode>, upper: &Arc<dyn Inode>, size: u64) -> Result<(), Errno> {
    let src = data_of(lower, false)?;
    let dst = data_of(upper, true)?;
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK.min(size.max(1) as usize)];
    let mut pos = 0u64;
    while pos < size {
        // The next data segment of the source.
        let (start, end) = match &src {
            Data::Host(fd) => {
                let Some(s) = sys::seek_data(fd.as_raw_fd(), pos, false) else {
                    break;
                };
                let e = sys::seek_data(fd.as_raw_fd(), s, true).unwrap_or(size);
                (s.min(size), e.min(size))
            }
            Data::Mem(_) => (pos, size),
        };
        if start >= end {
            break;
        }
        let mut off = start;
        while off < end {
            let want = ((end - off) as usize).min(buf.len());
            let n = match &src {
                Data::Host(fd) => sys::pread(fd.as_raw_fd(), &mut buf[..want], off)?,
                Data::Mem(d) => d.read(off, &mut buf[..want]),
            };
            if n == 0 {
                break;
            }
            match &dst {
                Data::Host(fd) => {
                    sys::pwrite_all(fd.as_raw_fd(), &buf[..n], off)?;
                }
                Data::Mem(d) => {
                    d.write(off, &buf[..n])?;
                }
            }
            off += n as u64;
        }
        pos = end;
    }
    upper.setattr(
        &kctx(),
        &SetAttr {
            size: Some(size),
            ..Default::default()
        },
    )
}
