//! memfd_create's files: unnamed tmpfs files on an internal tmpfs instance, shown as
//! "/memfd:NAME (deleted)", and the seals (F_ADD_SEALS/F_GET_SEALS) of tmpfs files.

use super::data::{
    F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE,
};
use super::{TmpFs, TmpInode, TmpfsOptions};
use crate::mm::MemObject;
use crate::vfs::{oflags, Ctx, Dentry, File, Inode, Loc, Mount};
use abi::Errno;
use std::sync::{Arc, OnceLock};

pub const MFD_CLOEXEC: u32 = 1;
pub const MFD_ALLOW_SEALING: u32 = 2;
pub const MFD_HUGETLB: u32 = 4;
pub const MFD_NOEXEC_SEAL: u32 = 8;
pub const MFD_EXEC: u32 = 0x10;
const MFD_ALL: u32 = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC;
/// Hugepage size bits allowed with MFD_HUGETLB (MFD_HUGE_MASK << MFD_HUGE_SHIFT).
const MFD_HUGE_BITS: u32 = 0x3f << 26;
/// Longest name (NAME_MAX minus "memfd:").
pub const MFD_NAME_MAX: usize = 249;

/// The internal tmpfs memfds live on (Linux's shm_mnt).
fn mount() -> &'static (Arc<TmpFs>, Arc<Mount>) {
    static M: OnceLock<(Arc<TmpFs>, Arc<Mount>)> = OnceLock::new();
    M.get_or_init(|| {
        // The kernel's internal mount has no size or inode limit (as Linux's shm_mnt).
        let o = TmpfsOptions {
            max_pages: Some(0),
            max_inodes: Some(0),
            ..Default::default()
        };
        let fs = TmpFs::with_options(&o, "tmpfs");
        let m = Mount::new_root(fs.clone(), fs.root_dentry(), 0, "tmpfs", true);
        (fs, m)
    })
}

/// Checks memfd_create's flags (EINVAL).
pub fn check_flags(flags: u32) -> Result<(), Errno> {
    let allowed = if flags & MFD_HUGETLB != 0 {
        MFD_ALL | MFD_HUGE_BITS
    } else {
        MFD_ALL
    };
    if flags & !allowed != 0 || flags & (MFD_EXEC | MFD_NOEXEC_SEAL) == MFD_EXEC | MFD_NOEXEC_SEAL {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// A new memfd named `name` (already checked). Hugetlb files are ordinary ones here.
pub fn create(ctx: &Ctx, name: &[u8], flags: u32) -> Result<Arc<File>, Errno> {
    check_flags(flags)?;
    let (fs, mnt) = mount();
    let m = if flags & MFD_NOEXEC_SEAL != 0 {
        0o666
    } else {
        0o777
    };
    let ino = fs.unnamed_file(m)?;
    {
        let mut meta = ino.meta.lock().unwrap();
        meta.uid = ctx.creds.fsuid;
        meta.gid = ctx.creds.fsgid;
    }
    if let Some(d) = ino.file_data() {
        let seals = if flags & MFD_NOEXEC_SEAL != 0 {
            F_SEAL_EXEC
        } else if flags & MFD_ALLOW_SEALING != 0 {
            0
        } else {
            F_SEAL_SEAL
        };
        d.seals.store(seals, std::sync::atomic::Ordering::Release);
    }
    let mut path = b"/memfd:".to_vec();
    path.extend_from_slice(name);
    path.extend_from_slice(b" (deleted)");
    let d = Dentry::new_root(&path, ino.clone());
    let loc = Loc::new(mnt.clone(), d);
    let fl = oflags::O_RDWR | oflags::O_LARGEFILE;
    let ops = ino.clone().open(ctx, &loc, fl)?;
    Ok(File::new(loc, fl, ops))
}

fn tmp_inode(f: &File) -> Option<&TmpInode> {
    f.inode().as_any().downcast_ref::<TmpInode>()
}

/// F_ADD_SEALS (`add` Some) / F_GET_SEALS on any file: EINVAL unless it is a tmpfs
/// regular file; adding needs the file open for writing (EPERM).
pub fn fcntl_seals(f: &File, add: Option<u32>) -> Result<u64, Errno> {
    if let Some(seals) = add {
        if !f.writable() {
            return Err(Errno::EPERM);
        }
        let d = tmp_inode(f)
            .and_then(|i| i.file_data())
            .ok_or(Errno::EINVAL)?;
        let mut seals = seals;
        // F_SEAL_EXEC on an executable file implies the write seals (W^X from the start).
        if seals & F_SEAL_EXEC != 0 && f.inode().mode() & 0o111 != 0 {
            seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
        }
        d.add_seals(seals)?;
        return Ok(0);
    }
    let d = tmp_inode(f)
        .and_then(|i| i.file_data())
        .ok_or(Errno::EINVAL)?;
    Ok(d.seals() as u64)
}

/// mmap's hook for tmpfs files: a shared mapping of a write-sealed file may not be
/// writable (EPERM) and never becomes so; writable shared mappings are tracked so that
/// F_SEAL_WRITE can refuse them (EBUSY). Other files pass through unchanged.
pub fn mmap_checked(
    f: &File,
    obj: Arc<dyn MemObject>,
    shared: bool,
    prot_write: bool,
    may_write: bool,
) -> Result<(Arc<dyn MemObject>, bool), Errno> {
    if !shared {
        return Ok((obj, may_write));
    }
    match tmp_inode(f).and_then(|i| i.file_data()) {
        Some(d) => d.map_shared(may_write, prot_write),
        None => Ok((obj, may_write)),
    }
}
