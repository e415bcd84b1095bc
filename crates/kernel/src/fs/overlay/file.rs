//! Open regular files of the overlay: the real file's operations, switched to the upper
//! copy once the file is copied up (so a file opened read-only before another process
//! wrote to it sees the new data, as on Linux since 4.19).

use super::OvlInode;
use crate::mm::{MemObject, VmaName};
use crate::task::{SysResult, Task};
use crate::vfs::{Ctx, File, FileOps, Inode, Loc};
use abi::Errno;
use std::sync::{Arc, Mutex};

pub(super) struct OvlFileOps {
    inode: Arc<OvlInode>,
    loc: Loc,
    flags: u32,
    /// The open real file and whether it is the upper one.
    real: Mutex<(bool, Arc<dyn FileOps>)>,
}

impl OvlFileOps {
    pub fn open(
        inode: Arc<OvlInode>,
        ctx: &Ctx,
        loc: &Loc,
        flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        let (is_upper, real) = match inode.upper() {
            Some(u) => (true, u),
            None => (false, inode.lower().ok_or(Errno::ENOENT)?),
        };
        let ops: Arc<dyn FileOps> = Arc::from(real.open(ctx, loc, flags)?);
        Ok(Box::new(OvlFileOps {
            inode,
            loc: loc.clone(),
            flags,
            real: Mutex::new((is_upper, ops)),
        }))
    }

    /// The current real file (reopened on the upper copy after a copy-up).
    fn ops(&self) -> Result<Arc<dyn FileOps>, Errno> {
        let mut r = self.real.lock().unwrap();
        if !r.0 {
            if let Some(u) = self.inode.upper() {
                let ops = u.open(&Ctx::kernel(), &self.loc, self.flags)?;
                *r = (true, Arc::from(ops));
            }
        }
        Ok(r.1.clone())
    }
}

impl FileOps for OvlFileOps {
    fn read(&self, t: &Task, f: &File, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        self.ops()?.read(t, f, off, buf)
    }

    fn write(&self, t: &Task, f: &File, off: u64, data: &[u8]) -> Result<usize, Errno> {
        self.ops()?.write(t, f, off, data)
    }

    fn ioctl(&self, t: &Task, f: &File, cmd: u32, arg: u64) -> SysResult {
        self.ops()?.ioctl(t, f, cmd, arg)
    }

    fn poll(&self, f: &File) -> u32 {
        match self.ops() {
            Ok(o) => o.poll(f),
            Err(_) => crate::vfs::inode::POLLERR,
        }
    }

    fn mmap(&self, f: &File) -> Result<(Arc<dyn MemObject>, VmaName), Errno> {
        let (obj, name) = self.ops()?.mmap(f)?;
        // /proc/PID/maps shows what stat shows.
        let name = match name {
            VmaName::File { path, .. } => {
                let st = self.inode.stat()?;
                VmaName::File {
                    path,
                    dev: st.dev,
                    ino: st.ino,
                }
            }
            n => n,
        };
        Ok((obj, name))
    }

    fn fsync(&self) -> Result<(), Errno> {
        self.ops()?.fsync()
    }
}
