//! The mount table of `moat do` and the entry points the rest of the kernel uses to
//! reach files: executables for execve, and the host's stdio.

use super::dentry::{self, Dentry, Loc, Mount, MNT_NODEV, MNT_NOEXEC, MNT_NOSUID, MNT_RDONLY};
use super::file::File;
use super::perm::{self, MAY_EXEC};
use super::{mode, oflags, ops, walk, Ctx};
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

/// Builds the global mount tree: the host's "/" read-only, a fresh tmpfs on /tmp, /dev
/// (with a tmpfs on /dev/shm) and /proc. `cwd_hint` is the directory the first process
/// will start in (only checked here, for a clear error).
pub fn setup_root(cwd_hint: &str) -> Result<(), String> {
    let (hfs, hroot) = hostfs::mount("/").map_err(|e| format!("opening /: {}", e.name()))?;
    let root_mnt = Mount::new_root(hfs, Dentry::new_root(b"/", hroot), MNT_RDONLY, "/", false);
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

    let proc = procfs::ProcFs::new();
    let proot = proc.root_dentry();
    Mount::attach(
        &mountpoint(&ctx, "/proc")?,
        proc,
        proot,
        MNT_NOSUID | MNT_NODEV,
        "proc",
    );

    crate::tty::console::init_from_stdio();
    devfs::add_console(&dev).map_err(|e| format!("/dev/console: {}", e.name()))?;
    let pts = devpts::DevPts::new();
    let m = Mount::attach(
        &mountpoint(&ctx, "/dev/pts")?,
        pts.clone(),
        pts.root_dentry(),
        MNT_NOSUID | MNT_NOEXEC,
        "devpts",
    );
    pts.set_mount(&m);
    if let Some(c) = crate::tty::console::get() {
        pts.add_console(std::os::fd::AsRawFd::as_raw_fd(&*c.fd));
    }
    pts.make_default();
    let _ = cwd_hint;
    Ok(())
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
