//! eventfd: a 64-bit counter. A write adds (blocking while the sum would reach
//! u64::MAX); a read takes the whole count, or 1 in semaphore mode (blocking at 0).

use super::anon::{anon_inode_file, wait_or_eagain};
use crate::task::Task;
use crate::vfs::inode::{POLLERR, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use crate::vfs::{File, FileOps};
use crate::wait::WaitQueue;
use abi::Errno;
use std::any::Any;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

pub const EFD_SEMAPHORE: u32 = 1;
pub const EFD_NONBLOCK: u32 = 0o4000;
pub const EFD_CLOEXEC: u32 = 0o2000000;

pub struct EventFd {
    count: Mutex<u64>,
    semaphore: bool,
    wq: Arc<WaitQueue>,
    /// The id /proc's fdinfo shows.
    id: u32,
}

/// A new eventfd file with `init` as its count.
pub fn new_file(init: u32, flags: u32) -> Arc<File> {
    static NEXT_ID: AtomicU32 = AtomicU32::new(0);
    anon_inode_file(
        "eventfd",
        flags,
        Box::new(EventFd {
            count: Mutex::new(init as u64),
            semaphore: flags & EFD_SEMAPHORE != 0,
            wq: Arc::new(WaitQueue::new()),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }),
    )
}

impl FileOps for EventFd {
    crate::noop_llseek!();

    fn read(&self, t: &Task, f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = wait_or_eagain(t, f, &self.wq, || {
            let mut c = self.count.lock().unwrap();
            if *c == 0 {
                return Ok(None);
            }
            let v = if self.semaphore { 1 } else { *c };
            *c -= v;
            drop(c);
            self.wq.notify(POLLOUT | POLLWRNORM);
            Ok(Some(v))
        })?;
        buf[..8].copy_from_slice(&v.to_le_bytes());
        Ok(8)
    }

    fn write(&self, t: &Task, f: &File, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        if data.len() < 8 {
            return Err(Errno::EINVAL);
        }
        let v = u64::from_le_bytes(data[..8].try_into().unwrap());
        if v == u64::MAX {
            return Err(Errno::EINVAL);
        }
        wait_or_eagain(t, f, &self.wq, || {
            let mut c = self.count.lock().unwrap();
            if u64::MAX - *c <= v {
                return Ok(None);
            }
            *c += v;
            drop(c);
            self.wq.notify(POLLIN | POLLRDNORM);
            Ok(Some(()))
        })?;
        Ok(8)
    }

    fn poll(&self, _f: &File) -> u32 {
        let c = *self.count.lock().unwrap();
        let mut ev = 0;
        if c > 0 {
            ev |= POLLIN | POLLRDNORM;
        }
        if c == u64::MAX {
            ev |= POLLERR;
        }
        if c < u64::MAX - 1 {
            ev |= POLLOUT | POLLWRNORM;
        }
        ev
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.wq.clone())
    }

    fn name(&self) -> Option<String> {
        Some("anon_inode:[eventfd]".into())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }

    fn fdinfo(&self, _f: &File) -> String {
        format!(
            "eventfd-count: {:16x}\neventfd-id: {}\neventfd-semaphore: {}\n",
            *self.count.lock().unwrap(),
            self.id,
            self.semaphore as u8
        )
    }
}
