//! File descriptor tables: fd number → (open file description, close-on-exec).
//! Shared between threads (CLONE_FILES) through an Arc, copied by fork.

use super::File;
use abi::Errno;
use std::sync::{Arc, Mutex};

/// The most fds a table holds regardless of RLIMIT_NOFILE (fs.nr_open).
pub const NR_OPEN: usize = 1 << 20;

#[derive(Clone)]
struct Slot {
    file: Arc<File>,
    cloexec: bool,
}

pub struct FdTable {
    slots: Mutex<Vec<Option<Slot>>>,
    /// The POSIX lock owner this table stands for (Linux's fl_owner = files_struct).
    pub id: u64,
}

impl Default for FdTable {
    fn default() -> Self {
        FdTable {
            slots: Mutex::new(Vec::new()),
            id: super::lock::new_owner(),
        }
    }
}

impl Drop for FdTable {
    fn drop(&mut self) {
        super::lock::owner_unref(self.id);
    }
}

impl FdTable {
    pub fn new() -> FdTable {
        FdTable::default()
    }

    /// A copy for fork: same open file descriptions, same flags, a new lock owner.
    pub fn fork_copy(&self) -> FdTable {
        FdTable {
            slots: Mutex::new(self.slots.lock().unwrap().clone()),
            id: super::lock::new_owner(),
        }
    }

    /// The copy execve makes: the process keeps its record locks (same owner).
    pub fn exec_copy(&self) -> FdTable {
        super::lock::owner_ref(self.id);
        FdTable {
            slots: Mutex::new(self.slots.lock().unwrap().clone()),
            id: self.id,
        }
    }

    /// A file left this table: the process's record locks on it go.
    fn closed(&self, files: impl IntoIterator<Item = Arc<File>>) {
        for f in files {
            super::lock::on_close(self.id, &f);
        }
    }

    /// Closes every close-on-exec fd (execve).
    pub fn close_on_exec(&self) {
        let gone: Vec<Slot> = {
            let mut s = self.slots.lock().unwrap();
            let mut g = Vec::new();
            for slot in s.iter_mut() {
                if slot.as_ref().map(|x| x.cloexec).unwrap_or(false) {
                    g.extend(slot.take());
                }
            }
            trim(&mut s);
            g
        };
        self.closed(gone.into_iter().map(|x| x.file));
    }

    pub fn get(&self, fd: i32) -> Result<Arc<File>, Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        let s = self.slots.lock().unwrap();
        match s.get(fd as usize) {
            Some(Some(x)) => Ok(x.file.clone()),
            _ => Err(Errno::EBADF),
        }
    }

    /// The file and its close-on-exec flag.
    pub fn get_with_flags(&self, fd: i32) -> Result<(Arc<File>, bool), Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        let s = self.slots.lock().unwrap();
        match s.get(fd as usize) {
            Some(Some(x)) => Ok((x.file.clone(), x.cloexec)),
            _ => Err(Errno::EBADF),
        }
    }

    pub fn set_cloexec(&self, fd: i32, on: bool) -> Result<(), Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        let mut s = self.slots.lock().unwrap();
        match s.get_mut(fd as usize) {
            Some(Some(x)) => {
                x.cloexec = on;
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }

    /// Installs at the lowest free fd (EMFILE beyond fs.nr_open).
    pub fn install(&self, f: Arc<File>, cloexec: bool) -> Result<i32, Errno> {
        self.install_from(f, cloexec, 0, NR_OPEN as u64)
    }

    /// Installs at the lowest free fd ≥ `min` and below `limit` (RLIMIT_NOFILE): EMFILE
    /// if none (EINVAL for F_DUPFD when `min` itself is out of range is the caller's).
    pub fn install_from(
        &self,
        f: Arc<File>,
        cloexec: bool,
        min: i32,
        limit: u64,
    ) -> Result<i32, Errno> {
        let limit = limit.min(NR_OPEN as u64) as usize;
        let min = min.max(0) as usize;
        let mut s = self.slots.lock().unwrap();
        let mut fd = min;
        while fd < s.len() && s[fd].is_some() {
            fd += 1;
        }
        if fd >= limit {
            return Err(Errno::EMFILE);
        }
        if fd >= s.len() {
            s.resize(fd + 1, None);
        }
        s[fd] = Some(Slot { file: f, cloexec });
        Ok(fd as i32)
    }

    /// Puts `f` at `fd`, closing what was there (dup2). Out-of-range fds are ignored;
    /// callers check them against RLIMIT_NOFILE first.
    pub fn install_at(&self, fd: i32, f: Arc<File>, cloexec: bool) {
        if fd < 0 || fd as usize >= NR_OPEN {
            return;
        }
        let old = {
            let mut s = self.slots.lock().unwrap();
            let i = fd as usize;
            if i >= s.len() {
                s.resize(i + 1, None);
            }
            s[i].replace(Slot { file: f, cloexec })
        };
        self.closed(old.map(|x| x.file));
    }

    /// Removes `fd`, returning its file (dropped by the caller, outside the table lock).
    pub fn remove(&self, fd: i32) -> Result<Arc<File>, Errno> {
        if fd < 0 {
            return Err(Errno::EBADF);
        }
        let mut s = self.slots.lock().unwrap();
        let r = match s.get_mut(fd as usize) {
            Some(slot @ Some(_)) => Ok(slot.take().map(|x| x.file).ok_or(Errno::EBADF)?),
            _ => Err(Errno::EBADF),
        };
        trim(&mut s);
        drop(s);
        if let Ok(f) = &r {
            super::lock::on_close(self.id, f);
        }
        r
    }

    /// close_range: closes (or marks close-on-exec) fds in [lo, hi].
    pub fn close_range(&self, lo: u32, hi: u32, cloexec_only: bool) {
        let gone: Vec<Slot> = {
            let mut s = self.slots.lock().unwrap();
            let end = (hi as usize).saturating_add(1).min(s.len());
            let mut g = Vec::new();
            for i in (lo as usize)..end {
                if cloexec_only {
                    if let Some(x) = s[i].as_mut() {
                        x.cloexec = true;
                    }
                } else {
                    g.extend(s[i].take());
                }
            }
            trim(&mut s);
            g
        };
        self.closed(gone.into_iter().map(|x| x.file));
    }

    /// Closes everything (exit).
    pub fn close_all(&self) {
        let gone = std::mem::take(&mut *self.slots.lock().unwrap());
        self.closed(gone.into_iter().flatten().map(|x| x.file));
    }

    /// Number of open fds.
    pub fn count(&self) -> usize {
        self.slots
            .lock()
            .unwrap()
            .iter()
            .filter(|x| x.is_some())
            .count()
    }

    /// One past the highest fd slot (FDSize in /proc/PID/status is at least 64).
    pub fn capacity(&self) -> usize {
        self.slots.lock().unwrap().len()
    }

    /// Every open fd with its file, in order.
    pub fn list(&self) -> Vec<(i32, Arc<File>)> {
        let s = self.slots.lock().unwrap();
        s.iter()
            .enumerate()
            .filter_map(|(i, x)| x.as_ref().map(|x| (i as i32, x.file.clone())))
            .collect()
    }
}

/// Drops trailing empty slots.
fn trim(s: &mut Vec<Option<Slot>>) {
    while matches!(s.last(), Some(None)) {
        s.pop();
    }
}
