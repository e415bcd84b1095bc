//! devpts: the file system of pty slaves, mounted on /dev/pts. Opening its `ptmx` (or
//! /dev/ptmx, the character device 5:2 that stands for the instance on /dev/pts) makes a
//! new pty pair and returns its master; `N` is the slave of pair N while its master is
//! open (mode 0600 and the opener's fsuid/fsgid, Linux's defaults; device 136:N).
//! When the sandbox runs on a host terminal (the console), that terminal is `0`, as a
//! container's console is the first pty of its devpts.

use crate::tty::pty::Pty;
use crate::vfs::stat::makedev;
use crate::vfs::{
    mode, oflags, Ctx, Dentry, DirEnt, FileOps, FileSystem, Inode, Loc, Mount, SetAttr, Stat,
    StatFs,
};
use abi::Errno;
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

const DEVPTS_SUPER_MAGIC: u64 = 0x1cd1;
/// /proc/sys/kernel/pty/max.
pub const PTY_MAX: u32 = 4096;
/// The slaves' major device number (UNIX98_PTY_SLAVE_MAJOR).
const SLAVE_MAJOR: u64 = 136;
const ROOT_INO: u64 = 1;
const PTMX_INO: u64 = 2;

struct Entry {
    pty: Weak<Pty>,
    inode: Arc<PtsInode>,
    /// False once the master is closed: the name is gone, the index stays taken until
    /// the last slave file goes.
    visible: bool,
}

pub struct DevPts {
    dev: u64,
    /// Mount options: the slaves' mode and group (default: the opener's fsgid).
    mode: u32,
    gid: Option<u32>,
    me: Weak<DevPts>,
    root: Arc<PtsDir>,
    ptmx: Arc<PtmxInode>,
    entries: Mutex<BTreeMap<u32, Entry>>,
    /// Where the instance is mounted (for the paths of files opened by TIOCGPTPEER).
    mnt: Mutex<Option<Arc<Mount>>>,
    /// The console as pty 0.
    console: Mutex<Option<Arc<ConsoleInode>>>,
}

static INSTANCE: OnceLock<Arc<DevPts>> = OnceLock::new();

/// The instance mounted on /dev/pts, which /dev/ptmx opens.
pub fn instance() -> Option<&'static Arc<DevPts>> {
    INSTANCE.get()
}

fn attrs(ino: u64, mode: u32, uid: u32, gid: u32, rdev: u64, dev: u64) -> Stat {
    let now = crate::vfs::now();
    Stat {
        dev,
        ino,
        mode,
        nlink: if mode::is_dir(mode) { 2 } else { 1 },
        uid,
        gid,
        rdev,
        size: 0,
        blksize: 1024,
        blocks: 0,
        atime: now,
        mtime: now,
        ctime: now,
        btime: None,
    }
}

impl DevPts {
    pub fn new() -> Arc<DevPts> {
        Self::with_options(&[])
    }

    /// An instance with mount options mode=, gid= and ptmxmode= (octal modes, as Linux
    /// takes them); others (newinstance, uid=...) are accepted.
    pub fn with_options(opts: &[(String, String)]) -> Arc<DevPts> {
        let opt = |k: &str| opts.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let oct = |k: &str, d: u32| {
            opt(k)
                .and_then(|v| u32::from_str_radix(v, 8).ok())
                .map_or(d, |m| m & 0o7777)
        };
        let mode = oct("mode", 0o600);
        let ptmxmode = oct("ptmxmode", 0);
        let gid = opt("gid").and_then(|v| v.parse().ok());
        let dev = super::anon_dev();
        Arc::new_cyclic(|me: &Weak<DevPts>| DevPts {
            dev,
            mode,
            gid,
            me: me.clone(),
            root: Arc::new(PtsDir {
                fs: me.clone(),
                st: Mutex::new(attrs(ROOT_INO, mode::S_IFDIR | 0o755, 0, 0, 0, dev)),
            }),
            ptmx: Arc::new(PtmxInode {
                fs: me.clone(),
                st: Mutex::new(attrs(
                    PTMX_INO,
                    mode::S_IFCHR | ptmxmode,
                    0,
                    0,
                    makedev(5, 2),
                    dev,
                )),
            }),
            entries: Mutex::new(BTreeMap::new()),
            mnt: Mutex::new(None),
            console: Mutex::new(None),
        })
    }

    /// The console (when the sandbox has one) as pty 0, made when first asked for.
    fn console(&self) -> Option<Arc<ConsoleInode>> {
        let c = crate::tty::console::get()?;
        let mut g = self.console.lock().unwrap();
        if g.is_none() {
            // SAFETY: plain host call with a valid out pointer.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstat(std::os::fd::AsRawFd::as_raw_fd(&*c.fd), &mut st) } < 0 {
                return None;
            }
            let a = attrs(
                3,
                mode::S_IFCHR | (st.st_mode & 0o7777),
                0,
                if st.st_gid == 0 { 0 } else { 5 },
                makedev(SLAVE_MAJOR, 0),
                self.dev,
            );
            *g = Some(Arc::new(ConsoleInode { st: Mutex::new(a) }));
        }
        g.clone()
    }

    /// Makes this the instance /dev/ptmx opens.
    pub fn make_default(self: &Arc<DevPts>) {
        let _ = INSTANCE.set(self.clone());
    }

    pub fn root_dentry(&self) -> Arc<Dentry> {
        Dentry::new_root(b"/", self.root.clone())
    }

    /// Records the mount of this instance.
    pub fn set_mount(&self, m: &Arc<Mount>) {
        *self.mnt.lock().unwrap() = Some(m.clone());
    }

    /// A new pty pair; returns its master's operations. ENOSPC past the pty limit.
    pub fn open_master(&self, ctx: &Ctx) -> Result<Box<dyn FileOps>, Errno> {
        let first = crate::tty::console::get().is_some() as u32;
        let mut e = self.entries.lock().unwrap();
        let index = (first..PTY_MAX)
            .find(|i| !e.contains_key(i))
            .ok_or(Errno::ENOSPC)?;
        let pty = Pty::new(index, self.me.clone());
        let inode = Arc::new(PtsInode {
            pty: Arc::downgrade(&pty),
            st: Mutex::new(attrs(
                index as u64 + 3,
                mode::S_IFCHR | self.mode,
                ctx.creds.fsuid,
                self.gid.unwrap_or(ctx.creds.fsgid),
                makedev(SLAVE_MAJOR, index as u64),
                self.dev,
            )),
        });
        e.insert(
            index,
            Entry {
                pty: Arc::downgrade(&pty),
                inode,
                visible: true,
            },
        );
        Ok(pty.master_ops())
    }

    /// The master of pair `index` closed: its slave's name goes away.
    pub fn kill(&self, index: u32) {
        if let Some(e) = self.entries.lock().unwrap().get_mut(&index) {
            e.visible = false;
        }
    }

    /// Pair `index` is gone: its number is free again.
    pub fn release(&self, index: u32) {
        self.entries.lock().unwrap().remove(&index);
    }

    fn visible(&self, index: u32) -> Option<Arc<PtsInode>> {
        let e = self.entries.lock().unwrap();
        e.get(&index)
            .filter(|x| x.visible && x.pty.strong_count() > 0)
            .map(|x| x.inode.clone())
    }

    /// The place of slave `index` in the mount tree.
    pub fn slave_loc(&self, index: u32) -> Option<Loc> {
        let inode = self.visible(index)?;
        let mnt = self.mnt.lock().unwrap().clone()?;
        let d = Dentry::new_child(&mnt.root, index.to_string().as_bytes(), inode, false);
        Some(Loc::new(mnt, d))
    }
}

impl FileSystem for DevPts {
    fn name(&self) -> &str {
        "devpts"
    }
    fn dev(&self) -> u64 {
        self.dev
    }
    fn statfs(&self) -> StatFs {
        StatFs {
            fs_type: DEVPTS_SUPER_MAGIC,
            bsize: 4096,
            namelen: 255,
            frsize: 4096,
            fsid: self.dev,
            flags: 0x0426, // ST_NOSUID | ST_NOEXEC | ST_RELATIME as Linux shows it
            ..Default::default()
        }
    }
    fn cache_dentries(&self) -> bool {
        false
    }
}

fn set_attrs(st: &Mutex<Stat>, a: &SetAttr) -> Result<(), Errno> {
    let mut s = st.lock().unwrap();
    if let Some(m) = a.mode {
        s.mode = (s.mode & mode::S_IFMT) | (m & 0o7777);
    }
    if let Some(u) = a.uid {
        s.uid = u;
    }
    if let Some(g) = a.gid {
        s.gid = g;
    }
    if let Some(t) = a.atime {
        s.atime = t;
    }
    if let Some(t) = a.mtime {
        s.mtime = t;
    }
    if a.size.is_some() {
        return Err(Errno::EINVAL);
    }
    s.ctime = crate::vfs::now();
    Ok(())
}

/// The root directory: `ptmx` and the visible slaves.
struct PtsDir {
    fs: Weak<DevPts>,
    st: Mutex<Stat>,
}

struct DirOps {
    fs: Weak<DevPts>,
}

impl Inode for PtsDir {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.st.lock().unwrap().clone())
    }
    fn lookup(&self, _ctx: &Ctx, name: &[u8]) -> Result<Arc<dyn Inode>, Errno> {
        let fs = self.fs.upgrade().ok_or(Errno::ENOENT)?;
        if name == b"ptmx" {
            return Ok(fs.ptmx.clone());
        }
        let s = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        if s.len() > 1 && s.starts_with('0') {
            return Err(Errno::ENOENT);
        }
        let i: u32 = s.parse().map_err(|_| Errno::ENOENT)?;
        if i == 0 {
            if let Some(c) = fs.console() {
                return Ok(c);
            }
        }
        fs.visible(i)
            .map(|x| x as Arc<dyn Inode>)
            .ok_or(Errno::ENOENT)
    }
    fn open(
        self: Arc<Self>,
        _ctx: &Ctx,
        _loc: &Loc,
        _flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        Ok(Box::new(DirOps {
            fs: self.fs.clone(),
        }))
    }
    fn setattr(&self, _ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        set_attrs(&self.st, a)
    }
}

impl FileOps for DirOps {
    fn readdir(
        &self,
        _ctx: &Ctx,
        pos: u64,
        emit: &mut dyn FnMut(&DirEnt) -> bool,
    ) -> Result<u64, Errno> {
        let Some(fs) = self.fs.upgrade() else {
            return Ok(pos);
        };
        // Positions: 0 ".", 1 "..", 2 "ptmx", then 3 + index.
        let mut list: Vec<(u64, u64, u8, Vec<u8>)> = vec![
            (0, ROOT_INO, 4, b".".to_vec()),
            (1, ROOT_INO, 4, b"..".to_vec()),
            (2, PTMX_INO, 2, b"ptmx".to_vec()),
        ];
        if fs.console().is_some() {
            list.push((3, 3, 2, b"0".to_vec()));
        }
        for (i, e) in fs.entries.lock().unwrap().iter() {
            if e.visible && e.pty.strong_count() > 0 {
                let p = 3 + *i as u64;
                list.push((p, p, 2, i.to_string().into_bytes()));
            }
        }
        let mut at = pos;
        for (p, ino, dtype, name) in list {
            if p < pos {
                continue;
            }
            if !emit(&DirEnt {
                ino,
                next: p + 1,
                dtype,
                name,
            }) {
                return Ok(at);
            }
            at = p + 1;
        }
        Ok(at)
    }
}

/// /dev/pts/ptmx.
struct PtmxInode {
    fs: Weak<DevPts>,
    st: Mutex<Stat>,
}

impl Inode for PtmxInode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.st.lock().unwrap().clone())
    }
    fn open(
        self: Arc<Self>,
        ctx: &Ctx,
        _loc: &Loc,
        _flags: u32,
    ) -> Result<Box<dyn FileOps>, Errno> {
        self.fs.upgrade().ok_or(Errno::ENODEV)?.open_master(ctx)
    }
    fn setattr(&self, _ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        set_attrs(&self.st, a)
    }
}

/// /dev/pts/N.
struct PtsInode {
    pty: Weak<Pty>,
    st: Mutex<Stat>,
}

impl Inode for PtsInode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.st.lock().unwrap().clone())
    }
    fn open(self: Arc<Self>, ctx: &Ctx, _loc: &Loc, flags: u32) -> Result<Box<dyn FileOps>, Errno> {
        let pty = self.pty.upgrade().ok_or(Errno::EIO)?;
        let acc = flags & oflags::O_ACCMODE;
        let readable = acc == oflags::O_RDONLY || acc == oflags::O_RDWR;
        pty.open_slave(Some((ctx.tgid, flags & oflags::O_NOCTTY != 0, readable)))
    }
    fn setattr(&self, _ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        set_attrs(&self.st, a)
    }
}

/// /dev/pts/0 when it is the console.
struct ConsoleInode {
    st: Mutex<Stat>,
}

impl Inode for ConsoleInode {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn stat(&self) -> Result<Stat, Errno> {
        Ok(self.st.lock().unwrap().clone())
    }
    fn open(self: Arc<Self>, ctx: &Ctx, _loc: &Loc, flags: u32) -> Result<Box<dyn FileOps>, Errno> {
        let ops = super::hostfd::open_console("/dev/pts/0")?;
        if let Some(c) = crate::tty::console::get() {
            let acc = flags & oflags::O_ACCMODE;
            let readable = acc == oflags::O_RDONLY || acc == oflags::O_RDWR;
            crate::tty::jobctl::acquire_on_open(
                ctx.tgid,
                &c.tty,
                flags & oflags::O_NOCTTY != 0,
                readable,
            );
        }
        Ok(ops)
    }
    fn setattr(&self, _ctx: &Ctx, a: &SetAttr) -> Result<(), Errno> {
        set_attrs(&self.st, a)
    }
}

/// What stat shows for the console's files: /dev/pts/0.
pub fn console_stat() -> Option<Stat> {
    instance()?.console()?.stat().ok()
}

/// Mounts a new instance on `at`; the first one mounted is what /dev/ptmx opens.
pub fn mount(at: &Loc, flags: u32, opts: &[(String, String)]) -> Result<(), String> {
    let pts = DevPts::with_options(opts);
    let m = Mount::attach(at, pts.clone(), pts.root_dentry(), flags, "devpts");
    pts.set_mount(&m);
    pts.make_default();
    Ok(())
}

/// Opens /dev/ptmx (5:2): a new pair on the instance mounted on /dev/pts.
pub fn open_ptmx(ctx: &Ctx) -> Result<Box<dyn FileOps>, Errno> {
    instance().ok_or(Errno::ENODEV)?.open_master(ctx)
}
