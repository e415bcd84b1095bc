//! Pipes and FIFOs: a bounded byte buffer (64 KiB by default) with Linux's rules —
//! writes of at most PIPE_BUF bytes are atomic, readers see EOF once every writer is
//! gone, writers get EPIPE and SIGPIPE once every reader is gone, O_NONBLOCK gives
//! EAGAIN, and every wait is interruptible.

use super::anon::AnonInode;
use crate::task::{SysResult, Task};
use crate::vfs::inode::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use crate::vfs::{dentry, mode, oflags, Ctx, File, FileOps, Inode, Loc, Stat};
use crate::wait::WaitQueue;
use abi::Errno;
use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const PIPE_BUF: usize = 4096;
pub const DEFAULT_SIZE: usize = 65536;
/// /proc/sys/fs/pipe-max-size.
pub const MAX_SIZE: usize = 1 << 20;

const FIONREAD: u32 = 0x541b;

struct State {
    buf: VecDeque<u8>,
    cap: usize,
    readers: usize,
    writers: usize,
    /// Opens so far, so a FIFO opener waiting for its peer notices one that came and went.
    reader_opens: u64,
    writer_opens: u64,
}

pub struct Pipe {
    pub ino: u64,
    st: Mutex<State>,
    /// Notified on every change (data, space, opens, closes).
    pub wq: Arc<WaitQueue>,
}

fn next_ino() -> u64 {
    static N: AtomicU64 = AtomicU64::new(1000);
    N.fetch_add(1, Ordering::Relaxed)
}

impl Pipe {
    pub fn new() -> Arc<Pipe> {
        Arc::new(Pipe {
            ino: next_ino(),
            st: Mutex::new(State {
                buf: VecDeque::new(),
                cap: DEFAULT_SIZE,
                readers: 0,
                writers: 0,
                reader_opens: 0,
                writer_opens: 0,
            }),
            wq: Arc::new(WaitQueue::new()),
        })
    }

    /// A new end; `flags`' access mode decides which side(s) it holds.
    pub fn open_end(self: &Arc<Pipe>, flags: u32) -> PipeEnd {
        let acc = flags & oflags::O_ACCMODE;
        let read = acc == oflags::O_RDONLY || acc == oflags::O_RDWR;
        let write = acc == oflags::O_WRONLY || acc == oflags::O_RDWR;
        {
            let mut s = self.st.lock().unwrap();
            if read {
                s.readers += 1;
                s.reader_opens += 1;
            }
            if write {
                s.writers += 1;
                s.writer_opens += 1;
            }
        }
        self.wq.notify_all();
        PipeEnd {
            pipe: self.clone(),
            read,
            write,
            fifo: false,
        }
    }

    pub fn len(&self) -> usize {
        self.st.lock().unwrap().buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The inode of an anonymous pipe (pipe(2)); reopening it through /proc/PID/fd opens a
/// new end of the same pipe, as on Linux.
pub struct PipeInode {
    pub pipe: Arc<Pipe>,
    attrs: Arc<AnonInode>,
}

impl Inode for PipeInode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        let mut s = self.attrs.stat()?;
        s.size = 0;
        Ok(s)
    }
    fn mode(&self) -> u32 {
        mode::S_IFIFO | 0o600
    }
    /// Reopening never waits for a peer (Linux waits only on named FIFOs).
    fn open(
        self: Arc<Self>,
        _ctx: &Ctx,
        _loc: &Loc,
        flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        Ok(Box::new(self.pipe.open_end(flags)))
    }
}

/// pipe(2): the read end and the write end. `flags`: O_NONBLOCK, O_DIRECT (packet mode
/// is not supported; treated as a byte stream).
pub fn new_pipe(flags: u32) -> (Arc<File>, Arc<File>) {
    let p = Pipe::new();
    let attrs = AnonInode::new(mode::S_IFIFO | 0o600, p.ino);
    let inode: Arc<dyn Inode> = Arc::new(PipeInode {
        pipe: p.clone(),
        attrs,
    });
    let name = format!("pipe:[{}]", p.ino);
    let keep = flags & (oflags::O_NONBLOCK | oflags::O_DIRECT);
    let r = File::new(
        dentry::anon_loc(name.as_bytes(), inode.clone()),
        oflags::O_RDONLY | keep,
        Box::new(p.open_end(oflags::O_RDONLY)),
    );
    let w = File::new(
        dentry::anon_loc(name.as_bytes(), inode),
        oflags::O_WRONLY | keep,
        Box::new(p.open_end(oflags::O_WRONLY)),
    );
    (r, w)
}

/// One open end of a pipe or FIFO.
pub struct PipeEnd {
    pub pipe: Arc<Pipe>,
    read: bool,
    write: bool,
    /// Opened through a named FIFO: /proc shows its path, and open waits for a peer.
    pub fifo: bool,
}

impl PipeEnd {
    /// Marks this end as opened through a FIFO's name.
    pub fn named(mut self) -> PipeEnd {
        self.fifo = true;
        self
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        {
            let mut s = self.pipe.st.lock().unwrap();
            if self.read {
                s.readers -= 1;
            }
            if self.write {
                s.writers -= 1;
            }
        }
        self.pipe.wq.notify_all();
    }
}

impl FileOps for PipeEnd {
    /// Pipes have nothing to sync (Linux: EINVAL).
    fn fsync(&self) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }

    fn seekable(&self) -> bool {
        false
    }

    fn read(&self, t: &Task, f: &File, _off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let nonblock = f.nonblock();
        let p = &self.pipe;
        let r = t.wait_until(&[&p.wq], None, None, || {
            let mut s = p.st.lock().unwrap();
            if !s.buf.is_empty() {
                // Writers hear of it only when the pipe was not writable (Linux's was_full):
                // edge-triggered epoll on the write end sees no event for other reads.
                let was_full = s.cap.saturating_sub(s.buf.len()) < PIPE_BUF.min(s.cap);
                let n = buf.len().min(s.buf.len());
                for (i, b) in s.buf.drain(..n).enumerate() {
                    buf[i] = b;
                }
                drop(s);
                if was_full {
                    p.wq.notify(POLLOUT | POLLWRNORM);
                }
                return Ok(Some(n));
            }
            if s.writers == 0 {
                return Ok(Some(0));
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            Ok(None)
        });
        if r.is_ok() {
            if let Some(a) = f.inode().as_any().downcast_ref::<PipeInode>() {
                a.attrs.touch(false);
            }
        }
        r
    }

    fn write(&self, t: &Task, f: &File, _off: u64, data: &[u8]) -> Result<usize, Errno> {
        if data.is_empty() {
            return Ok(0);
        }
        let nonblock = f.nonblock();
        let p = &self.pipe;
        let atomic = data.len() <= PIPE_BUF;
        let mut done = 0usize;
        while done < data.len() {
            let r = t.wait_until(&[&p.wq], None, None, || {
                let mut s = p.st.lock().unwrap();
                if s.readers == 0 {
                    return Err(Errno::EPIPE);
                }
                let space = s.cap.saturating_sub(s.buf.len());
                let rest = data.len() - done;
                let need = if atomic { rest } else { 1 };
                if space >= need {
                    let k = rest.min(space);
                    s.buf.extend(&data[done..done + k]);
                    drop(s);
                    p.wq.notify(POLLIN | POLLRDNORM);
                    return Ok(Some(k));
                }
                if nonblock {
                    return Err(Errno::EAGAIN);
                }
                Ok(None)
            });
            match r {
                Ok(k) => done += k,
                Err(Errno::EPIPE) => {
                    crate::signal::send_sigpipe(t);
                    return if done > 0 {
                        Ok(done)
                    } else {
                        Err(Errno::EPIPE)
                    };
                }
                Err(e) => return if done > 0 { Ok(done) } else { Err(e) },
            }
        }
        if let Some(a) = f.inode().as_any().downcast_ref::<PipeInode>() {
            a.attrs.touch(true);
        }
        Ok(done)
    }

    fn ioctl(&self, t: &Task, _f: &File, cmd: u32, arg: u64) -> SysResult {
        match cmd {
            FIONREAD => {
                let n = if self.read { self.pipe.len() as i32 } else { 0 };
                t.write_val(arg, &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn poll(&self, _f: &File) -> u32 {
        let s = self.pipe.st.lock().unwrap();
        let mut ev = 0;
        if self.read {
            if !s.buf.is_empty() {
                ev |= POLLIN | POLLRDNORM;
            }
            if s.writers == 0 && s.writer_opens > 0 {
                ev |= POLLHUP;
            }
        }
        if self.write {
            if s.cap.saturating_sub(s.buf.len()) >= PIPE_BUF.min(s.cap) {
                ev |= POLLOUT | POLLWRNORM;
            }
            if s.readers == 0 {
                ev |= POLLERR;
            }
        }
        ev
    }

    fn wait_queue(&self) -> Option<Arc<WaitQueue>> {
        Some(self.pipe.wq.clone())
    }

    fn nread(&self) -> Option<usize> {
        Some(if self.read { self.pipe.len() } else { 0 })
    }

    fn name(&self) -> Option<String> {
        if self.fifo {
            None
        } else {
            Some(format!("pipe:[{}]", self.pipe.ino))
        }
    }

    fn pipe_size(&self, new: Option<u64>) -> Result<u64, Errno> {
        let mut s = self.pipe.st.lock().unwrap();
        if let Some(n) = new {
            if n > MAX_SIZE as u64 {
                return Err(Errno::EPERM);
            }
            let n = (n.max(4096) as usize).next_power_of_two();
            if n < s.buf.len() {
                return Err(Errno::EBUSY);
            }
            s.cap = n;
            drop(s);
            self.pipe.wq.notify_all();
            return Ok(n as u64);
        }
        Ok(s.cap as u64)
    }

    /// FIFO open rules: a reader waits for a writer and a writer for a reader, unless
    /// O_NONBLOCK (then a writer without readers gets ENXIO) or O_RDWR.
    fn open_wait(&self, t: &Task, f: &File) -> Result<(), Errno> {
        if !self.fifo || (self.read && self.write) {
            return Ok(());
        }
        let p = &self.pipe;
        if f.nonblock() {
            if self.write && p.st.lock().unwrap().readers == 0 {
                return Err(Errno::ENXIO);
            }
            return Ok(());
        }
        let (r0, w0) = {
            let s = p.st.lock().unwrap();
            (s.reader_opens, s.writer_opens)
        };
        let read = self.read;
        t.wait_until(&[&p.wq], None, None, || {
            let s = p.st.lock().unwrap();
            let ok = if read {
                s.writers > 0 || s.writer_opens != w0
            } else {
                s.readers > 0 || s.reader_opens != r0
            };
            Ok(if ok { Some(()) } else { None })
        })
    }
}
