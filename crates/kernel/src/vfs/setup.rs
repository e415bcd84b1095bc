//! The mount table of `moat do` and the entry points the rest of the kernel uses to
//! reach files: executables for execve, and the host's stdio.

use super::dentry::{self, Dentry, Loc, Mount, MNT_NODEV, MNT_NOEXEC, MNT_NOSUID, MNT_RDONLY};
use super::file::File;
use super::perm::{self, MAY_EXEC};
use super::{mode, oflags, ops, walk, Ctx, Inode};
use crate::fs::overlay::{self, Upper};
use crate::fs::{devfs, devpts, hostfd, hostfs, procfs, tmpfs::TmpFs};
use crate::task::Task;
use abi::Errno;
use std::sync::Arc;

/// Finds (in the tree being built) the directory `path` to mount on.
fn mountpoint(ctx: &Ctx, path: &str) -> Result<Loc, String> {
    let l = walk::resolve(ctx, &ctx.root, path.as_bytes(), true)
        .map_err(|e| format!("{path}: {}", e.name()))?;
    if !mode::is_dir(l.inode().mode()) {
        return Err(format!("{path}: not a directory"));
    }
    Ok(l)
}

/// A host directory or file bound into the sandbox (`--volume HOST:GUEST[:ro]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    pub host: String,
    pub guest: String,
    pub readonly: bool,
}

/// What the sandbox's root is made of.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FsSpec {
    /// The overlay's upper layer over the host's "/", or None for the host's "/"
    /// read-only.
    pub overlay: Option<Upper>,
    pub volumes: Vec<Volume>,
}

/// Builds the global mount tree: the host's "/" (under an overlay, or read-only), a
/// fresh tmpfs on /tmp, /dev (with a tmpfs on /dev/shm), /proc, then the volumes.
/// `cwd_hint` is the directory the first process will start in (only checked here, for a
/// clear error).
pub fn setup_root(cwd_hint: &str, spec: &FsSpec) -> Result<(), String> {
    let root_mnt = match &spec.overlay {
        Some(up) => {
            let (ofs, odent) = overlay::mount_root("/", up.clone())
                .map_err(|e| format!("overlay on /: {}", e.name()))?;
            Mount::new_root(ofs, odent, 0, "overlay", false)
        }
        None => {
            let (hfs, hroot) =
                hostfs::mount("/", false).map_err(|e| format!("opening /: {}", e.name()))?;
            Mount::new_root(hfs, Dentry::new_root(b"/", hroot), MNT_RDONLY, "/", false)
        }
    };
    let root = Loc::root_of(&root_mnt);
    dentry::set_root(root.clone());
    let ctx = Ctx {
        root: root.clone(),
        ..Ctx::kernel()
    };

    let tmp = TmpFs::new(0o1777);
    Mount::attach(
        &mountpoint(&ctx, "/tmp")?,
        tmp.clone(),
        tmp.root_dentry(),
        MNT_NOSUID | MNT_NODEV,
        "tmpfs",
    );

    let dev = devfs::build().map_err(|e| format!("building /dev: {}", e.name()))?;
    Mount::attach(
        &mountpoint(&ctx, "/dev")?,
        dev.clone(),
        dev.root_dentry(),
        MNT_NOSUID,
        "tmpfs",
    );
    let shm = TmpFs::new(0o1777);
    Mount::attach(
        &mountpoint(&ctx, "/dev/shm")?,
        shm.clone(),
        shm.root_dentry(),
        MNT_NOSUID | MNT_NODEV,
        "shm",
    );

    let (mq, mq_root) = crate::kernel().ipc.mq.mountable();
    Mount::attach(
        &mountpoint(&ctx, "/dev/mqueue")?,
        mq,
        mq_root,
        MNT_NOSUID | MNT_NODEV | MNT_NOEXEC,
        "mqueue",
    );

    let proc = procfs::ProcFs::new();
    let proot = proc.root_dentry();
    Mount::attach(
        &mountpoint(&ctx, "/proc")?,
        proc,
        proot,
        MNT_NOSUID | MNT_NODEV,
        "proc",
    );

    // The sandbox's own sysfs, never the host's.
    if let Ok(at) = mountpoint(&ctx, "/sys") {
        let sys = crate::fs::sysfs::build().map_err(|e| format!("building /sys: {}", e.name()))?;
        Mount::attach(
            &at,
            sys.clone(),
            sys.root_dentry(),
            MNT_RDONLY | MNT_NOSUID | MNT_NODEV | MNT_NOEXEC,
            "sysfs",
        );
    }

    for v in &spec.volumes {
        bind_host(&ctx, &v.guest, &v.host, !v.readonly)?;
    }

    // The first terminal among the host's stdio is the console (spawn_process_task also
    // makes it so for the first process; /dev/console needs it now).
    crate::tty::console::init_from_stdio();
    devfs::add_console(&dev).map_err(|e| format!("/dev/console: {}", e.name()))?;
    devpts::mount(&mountpoint(&ctx, "/dev/pts")?, MNT_NOSUID | MNT_NOEXEC, &[])
        .map_err(|e| format!("/dev/pts: {e}"))?;
    let _ = cwd_hint;
    Ok(())
}

/// Binds the host directory or file `host` on `guest` (an absolute path in the tree of
/// `ctx`), writable or read-only. A missing `guest` is created (with its parents) as a
/// directory, or an empty file for a file.
pub fn bind_host(ctx: &Ctx, guest: &str, host: &str, writable: bool) -> Result<(), String> {
    if !guest.starts_with('/') {
        return Err(format!(
            "volume {host}:{guest}: the sandbox path must be absolute"
        ));
    }
    let (hfs, hroot) =
        hostfs::mount(host, writable).map_err(|e| format!("volume {host}: {}", e.name()))?;
    let is_dir = mode::is_dir(hroot.mode());
    let at = match walk::resolve(ctx, &ctx.root, guest.as_bytes(), true) {
        Ok(l) => l,
        Err(Errno::ENOENT) => make_mountpoint(ctx, guest, is_dir)
            .map_err(|e| format!("volume {host}:{guest}: creating {guest}: {}", e.name()))?,
        Err(e) => return Err(format!("volume {host}:{guest}: {}", e.name())),
    };
    if mode::is_dir(at.inode().mode()) != is_dir {
        return Err(format!(
            "volume {host}:{guest}: {}",
            if is_dir {
                "not a directory"
            } else {
                "is a directory"
            }
        ));
    }
    let name = guest.rsplit('/').next().unwrap_or("").as_bytes().to_vec();
    Mount::attach(
        &at,
        hfs,
        Dentry::new_root(&name, hroot),
        if writable { 0 } else { MNT_RDONLY },
        host,
    );
    Ok(())
}

/// Creates `path`'s missing directories, and `path` itself as a directory or an empty
/// file.
fn make_mountpoint(ctx: &Ctx, path: &str, dir: bool) -> Result<Loc, Errno> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut cur = String::new();
    for (i, c) in comps.iter().enumerate() {
        cur.push('/');
        cur.push_str(c);
        let last = i + 1 == comps.len();
        match walk::resolve(ctx, &ctx.root, cur.as_bytes(), true) {
            Ok(_) => continue,
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        if last && !dir {
            ops::mknod(ctx, &ctx.root, cur.as_bytes(), mode::S_IFREG | 0o644, 0)?;
        } else {
            ops::mkdir(ctx, &ctx.root, cur.as_bytes(), 0o755)?;
        }
    }
    walk::resolve(ctx, &ctx.root, path.as_bytes(), true)
}

/// Opens `path` for execve: resolved from the cwd following symlinks; EACCES unless a
/// regular file with execute permission on an exec-allowed mount. Returns the file and
/// its absolute path.
pub fn open_exec(t: &Task, path: &[u8]) -> Result<(Arc<File>, String), Errno> {
    let ctx = Ctx::of(t);
    let cwd = t.fs().cwd();
    let loc = walk::resolve(&ctx, &cwd, path, true)?;
    open_exec_loc(&ctx, loc)
}

/// The checks of execve on a resolved place, then the open.
pub fn open_exec_loc(ctx: &Ctx, loc: Loc) -> Result<(Arc<File>, String), Errno> {
    let st = loc.inode().stat()?;
    if !mode::is_reg(st.mode) || loc.mnt.flags & dentry::MNT_NOEXEC != 0 {
        return Err(Errno::EACCES);
    }
    perm::check(&ctx.creds, &st, MAY_EXEC)?;
    let path = String::from_utf8_lossy(&loc.path_from(&ctx.root)).into_owned();
    let f = ops::open_loc(ctx, loc, oflags::O_RDONLY, false)?;
    Ok((f, path))
}

/// Wraps the host's fd `fd` (0, 1 or 2) as the application's file. A host fd that is not
/// open becomes a file on which every read and write fails with EBADF.
pub fn host_fd_file(fd: i32) -> Arc<File> {
    match hostfd::import(fd) {
        Ok(f) => f,
        Err(_) => {
            struct Closed;
            impl super::FileOps for Closed {
                fn seekable(&self) -> bool {
                    false
                }
            }
            let ino = crate::fs::anon::AnonInode::new(mode::S_IFCHR | 0o600, 0);
            File::new(
                dentry::anon_loc(b"/dev/null", ino),
                oflags::O_PATH,
                Box::new(Closed),
            )
        }
    }
}
