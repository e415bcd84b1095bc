//! memfd_create: an unnamed tmpfs file, sealable on request (the file system side is
//! fs/tmpfs/memfd.rs).

use crate::fs::tmpfs::memfd::{self, MFD_CLOEXEC, MFD_NAME_MAX};
use crate::task::{SysResult, Task};
use crate::vfs::Ctx;
use abi::sysno as nr;
use abi::Errno;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::MEMFD_CREATE => memfd_create(t, a[0], a[1] as u32 as u64),
        _ => return None,
    })
}

fn memfd_create(t: &Task, namep: u64, flags: u64) -> SysResult {
    let flags = u32::try_from(flags).map_err(|_| Errno::EINVAL)?;
    memfd::check_flags(flags)?;
    let name = t.read_cstr(namep, MFD_NAME_MAX).map_err(|e| match e {
        Errno::ENAMETOOLONG => Errno::EINVAL,
        e => e,
    })?;
    let f = memfd::create(&Ctx::of(t), &name, flags)?;
    super::file::install(t, f, flags & MFD_CLOEXEC != 0)
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[(
        nr::MEMFD_CREATE,
        "partial: MFD_HUGETLB files are ordinary memory (no huge pages)",
    )]
}
