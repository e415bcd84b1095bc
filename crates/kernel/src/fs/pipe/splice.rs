//! What splice, tee and vmsplice need of a pipe: waiting for data or room with the
//! pipe's rules (EOF once writers are gone, EPIPE and SIGPIPE once readers are), peeking
//! without consuming, consuming, and appending what fits.

use super::{Pipe, PipeInode};
use crate::fs::tmpfs::{Kind, TmpInode};
use crate::task::Task;
use crate::vfs::File;
use abi::Errno;
use std::sync::Arc;

/// The pipe behind an open pipe or FIFO.
pub fn pipe_of(f: &File) -> Option<Arc<Pipe>> {
    let any = f.inode().as_any();
    if let Some(p) = any.downcast_ref::<PipeInode>() {
        return Some(p.pipe.clone());
    }
    if let Some(t) = any.downcast_ref::<TmpInode>() {
        if let Kind::Fifo(p) = &t.kind {
            return Some(p.clone());
        }
    }
    None
}

impl Pipe {
    /// Waits until the pipe holds data (true) or has no writers left (false: EOF).
    /// `nonblock`: EAGAIN instead of waiting.
    pub fn wait_data(&self, t: &Task, nonblock: bool) -> Result<bool, Errno> {
        t.wait_until(&[&self.wq], None, None, || {
            let s = self.st.lock().unwrap();
            if !s.buf.is_empty() {
                return Ok(Some(true));
            }
            if s.writers == 0 {
                return Ok(Some(false));
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            Ok(None)
        })
    }

    /// Waits until the pipe has room; returns how many bytes fit. No readers: EPIPE
    /// (and SIGPIPE).
    pub fn wait_room(&self, t: &Task, nonblock: bool) -> Result<usize, Errno> {
        let r = t.wait_until(&[&self.wq], None, None, || {
            let s = self.st.lock().unwrap();
            if s.readers == 0 {
                return Err(Errno::EPIPE);
            }
            let room = s.cap.saturating_sub(s.buf.len());
            if room > 0 {
                return Ok(Some(room));
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            Ok(None)
        });
        if r == Err(Errno::EPIPE) {
            crate::signal::send_sigpipe(t);
        }
        r
    }

    /// Copies up to `max` bytes from the front without consuming them.
    pub fn peek(&self, max: usize) -> Vec<u8> {
        let s = self.st.lock().unwrap();
        s.buf.iter().take(max).copied().collect()
    }

    /// Drops `n` bytes from the front.
    pub fn consume(&self, n: usize) {
        {
            let mut s = self.st.lock().unwrap();
            let n = n.min(s.buf.len());
            s.buf.drain(..n);
        }
        self.wq.notify_all();
    }

    /// Appends what fits of `data`; returns how much.
    pub fn push(&self, data: &[u8]) -> usize {
        let n = {
            let mut s = self.st.lock().unwrap();
            let n = data.len().min(s.cap.saturating_sub(s.buf.len()));
            s.buf.extend(&data[..n]);
            n
        };
        if n > 0 {
            self.wq.notify_all();
        }
        n
    }
}
