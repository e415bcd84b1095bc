//! The path-based operations behind the file syscalls, with Linux's checks in Linux's
//! order (so the same errno comes out): name rules, read-only mounts, permissions,
//! sticky directories, mountpoints, then the file system's own operation. These work on
//! places (`Loc`) and a `Ctx`, not on tasks, so they are testable without a stub.

use super::dentry::{Dentry, Loc};
use super::file::File;
use super::inode::{FileOps, SetAttr};
use super::perm::{self, MAY_EXEC, MAY_READ, MAY_WRITE};
use super::walk::{lookup_dentry, Last, Walker};
use super::{mode, oflags, Ctx, Stat, StatFs, Timespec};
use abi::Errno;
use std::sync::Arc;

pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

/// Files opened with O_PATH: a place, no I/O.
struct PathOps;
impl FileOps for PathOps {}

fn is_dir(l: &Loc) -> bool {
    mode::is_dir(l.inode().mode())
}

/// EROFS for a read-only mount.
fn want_write(l: &Loc) -> Result<(), Errno> {
    if l.mnt.readonly() {
        Err(Errno::EROFS)
    } else {
        Ok(())
    }
}

/// May the caller add or remove entries of directory `dir`?
fn may_modify_dir(ctx: &Ctx, dir: &Loc) -> Result<Stat, Errno> {
    let st = dir.inode().stat()?;
    perm::check(&ctx.creds, &st, MAY_WRITE | MAY_EXEC)?;
    Ok(st)
}

/// Opens `loc` (already resolved) with `flags`; checks access and applies O_TRUNC.
pub fn open_loc(ctx: &Ctx, loc: Loc, flags: u32, created: bool) -> Result<Arc<File>, Errno> {
    let m = loc.inode().mode();
    let fflags = (flags & !(oflags::O_CREAT | oflags::O_EXCL | oflags::O_NOCTTY | oflags::O_TRUNC))
        | oflags::O_LARGEFILE;
    if flags & oflags::O_PATH != 0 {
        if flags & oflags::O_DIRECTORY != 0 && !mode::is_dir(m) {
            return Err(Errno::ENOTDIR);
        }
        let keep = oflags::O_PATH | oflags::O_DIRECTORY | oflags::O_NOFOLLOW | oflags::O_LARGEFILE;
        return Ok(File::new(loc, fflags & keep, Box::new(PathOps)));
    }
    if mode::is_lnk(m) {
        return Err(Errno::ELOOP);
    }
    if flags & oflags::O_DIRECTORY != 0 && !mode::is_dir(m) {
        return Err(Errno::ENOTDIR);
    }
    let acc = flags & oflags::O_ACCMODE;
    let mut want = match acc {
        oflags::O_RDONLY => MAY_READ,
        oflags::O_WRONLY => MAY_WRITE,
        _ => MAY_READ | MAY_WRITE,
    };
    if flags & oflags::O_TRUNC != 0 {
        want |= MAY_WRITE;
    }
    match m & mode::S_IFMT {
        mode::S_IFDIR => {
            if want & MAY_WRITE != 0 {
                return Err(Errno::EISDIR);
            }
        }
        mode::S_IFCHR | mode::S_IFBLK => {
            if loc.mnt.flags & super::dentry::MNT_NODEV != 0 {
                return Err(Errno::EACCES);
            }
        }
        mode::S_IFSOCK => return Err(Errno::ENXIO),
        _ => {}
    }
    if !created {
        let st = loc.inode().stat()?;
        perm::check(&ctx.creds, &st, want)?;
    }
    if want & MAY_WRITE != 0
        && matches!(
            m & mode::S_IFMT,
            mode::S_IFREG | mode::S_IFDIR | mode::S_IFLNK
        )
    {
        want_write(&loc)?;
    }
    let ops = loc.inode().clone().open(ctx, &loc, flags)?;
    if flags & oflags::O_TRUNC != 0 && mode::is_reg(m) && !created {
        loc.inode().setattr(
            ctx,
            &SetAttr {
                size: Some(0),
                ..Default::default()
            },
        )?;
    }
    Ok(File::new(loc, fflags, ops))
}

/// open/openat/openat2 on a path from `start`. FIFO peers are waited for by the caller
/// (`FileOps::open_wait`), which has the task.
pub fn open(
    ctx: &Ctx,
    start: &Loc,
    path: &[u8],
    flags: u32,
    cmode: u32,
    resolve: u64,
) -> Result<Arc<File>, Errno> {
    let mut w = Walker::new(ctx, start, resolve);
    if flags & oflags::O_TMPFILE == oflags::O_TMPFILE {
        let acc = flags & oflags::O_ACCMODE;
        if acc == oflags::O_RDONLY || flags & oflags::O_PATH != 0 {
            return Err(Errno::EINVAL);
        }
        let dir = w.resolve_from(start.clone(), path, true)?;
        if !is_dir(&dir) {
            return Err(Errno::ENOTDIR);
        }
        may_modify_dir(ctx, &dir)?;
        want_write(&dir)?;
        let ino = dir.inode().tmpfile(ctx, cmode & !ctx.umask & 0o7777)?;
        let name = format!("#{}", ino.stat().map(|s| s.ino).unwrap_or(0));
        let d = Dentry::new_child(&dir.dentry, name.as_bytes(), ino, false);
        d.set_deleted();
        let loc = Loc::new(dir.mnt.clone(), d);
        return open_loc(ctx, loc, flags & !oflags::O_TMPFILE, true);
    }
    let follow = flags & oflags::O_NOFOLLOW == 0
        && flags & (oflags::O_CREAT | oflags::O_EXCL) != (oflags::O_CREAT | oflags::O_EXCL);
    if flags & oflags::O_CREAT == 0 || flags & oflags::O_PATH != 0 {
        let loc = w.resolve_from(start.clone(), path, follow)?;
        return open_loc(ctx, loc, flags & !oflags::O_CREAT, false);
    }
    match w.last(start.clone(), path, follow)? {
        Last::Found(l) => {
            if flags & oflags::O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if is_dir(&l) {
                return Err(Errno::EISDIR);
            }
            open_loc(ctx, l, flags, false)
        }
        Last::Missing {
            dir,
            name,
            trailing,
        } => {
            if trailing {
                return Err(Errno::EISDIR);
            }
            want_write(&dir)?;
            may_modify_dir(ctx, &dir)?;
            let ino = dir
                .inode()
                .create(ctx, &name, cmode & !ctx.umask & 0o7777)?;
            let cache = dir.mnt.fs.cache_dentries();
            let d = Dentry::new_child(&dir.dentry, &name, ino, cache);
            open_loc(ctx, Loc::new(dir.mnt.clone(), d), flags, true)
        }
    }
}

/// The parent and name for creating `path`: EEXIST if it exists (including "." and ".."
/// and "/"), ENOENT for a trailing slash on a non-directory, then EROFS and EACCES.
fn prepare_create(
    ctx: &Ctx,
    start: &Loc,
    path: &[u8],
    is_dir_op: bool,
) -> Result<(Loc, Vec<u8>), Errno> {
    let mut w = Walker::new(ctx, start, 0);
    let p = w.parent(start.clone(), path)?;
    if p.name.is_empty() || p.name == b"." || p.name == b".." {
        return Err(Errno::EEXIST);
    }
    {
        let st = p.dir.inode().stat()?;
        perm::check(&ctx.creds, &st, MAY_EXEC)?;
    }
    match lookup_dentry(ctx, &p.dir, &p.name) {
        Ok(_) => return Err(Errno::EEXIST),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    if p.trailing && !is_dir_op {
        return Err(Errno::ENOENT);
    }
    want_write(&p.dir)?;
    may_modify_dir(ctx, &p.dir)?;
    Ok((p.dir, p.name))
}

pub fn mkdir(ctx: &Ctx, start: &Loc, path: &[u8], m: u32) -> Result<(), Errno> {
    let (dir, name) = prepare_create(ctx, start, path, true)?;
    dir.inode().mkdir(ctx, &name, m & 0o1777 & !ctx.umask)?;
    Ok(())
}

/// mknod: regular files, FIFOs and sockets for anyone; devices need CAP_MKNOD.
pub fn mknod(ctx: &Ctx, start: &Loc, path: &[u8], m: u32, rdev: u64) -> Result<(), Errno> {
    let kind = m & mode::S_IFMT;
    let kind = if kind == 0 { mode::S_IFREG } else { kind };
    match kind {
        mode::S_IFREG | mode::S_IFIFO | mode::S_IFSOCK => {}
        // The overlay whiteout (char 0/0) needs no privilege (Linux 5.8).
        mode::S_IFCHR if rdev == 0 => {}
        mode::S_IFCHR | mode::S_IFBLK => {
            if !ctx.creds.has_cap(27) {
                return Err(Errno::EPERM);
            }
        }
        mode::S_IFDIR => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let (dir, name) = prepare_create(ctx, start, path, false)?;
    let perms = m & 0o7777 & !ctx.umask;
    if kind == mode::S_IFREG {
        dir.inode().create(ctx, &name, perms)?;
    } else {
        dir.inode().mknod(ctx, &name, kind | perms, rdev)?;
    }
    Ok(())
}

/// bind(2) of a Unix socket to a path: a socket node with `perms` less the umask, with
/// mknod's checks; returns the new node's place (EEXIST when the name exists).
pub fn mknod_socket(ctx: &Ctx, start: &Loc, path: &[u8], perms: u32) -> Result<Loc, Errno> {
    let (dir, name) = prepare_create(ctx, start, path, false)?;
    let m = mode::S_IFSOCK | (perms & 0o7777 & !ctx.umask);
    let ino = dir.inode().mknod(ctx, &name, m, 0)?;
    let cache = dir.mnt.fs.cache_dentries();
    let d = Dentry::new_child(&dir.dentry, &name, ino, cache);
    Ok(Loc::new(dir.mnt.clone(), d))
}

pub fn symlink(ctx: &Ctx, target: &[u8], start: &Loc, path: &[u8]) -> Result<(), Errno> {
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let (dir, name) = prepare_create(ctx, start, path, false)?;
    dir.inode().symlink(ctx, &name, target)?;
    Ok(())
}

/// link: `old` (already resolved by the caller, following symlinks or not) gets the
/// new name `path`.
pub fn link(ctx: &Ctx, old: &Loc, start: &Loc, path: &[u8]) -> Result<(), Errno> {
    let (dir, name) = prepare_create(ctx, start, path, false)?;
    if !Arc::ptr_eq(&old.mnt, &dir.mnt) {
        return Err(Errno::EXDEV);
    }
    if is_dir(old) {
        return Err(Errno::EPERM);
    }
    dir.inode().link(ctx, &name, old.inode())
}

/// Marks the cached dentry of `name` in `dir` deleted (unlink, rmdir).
fn dentry_gone(dir: &Loc, name: &[u8]) {
    if let Some(d) = dir.dentry.forget(name) {
        d.set_deleted();
    }
}

pub fn unlink(ctx: &Ctx, start: &Loc, path: &[u8]) -> Result<(), Errno> {
    let mut w = Walker::new(ctx, start, 0);
    let p = w.parent(start.clone(), path)?;
    if p.name.is_empty() || p.name == b"." || p.name == b".." {
        return Err(Errno::EISDIR);
    }
    want_write(&p.dir)?;
    {
        let st = p.dir.inode().stat()?;
        perm::check(&ctx.creds, &st, MAY_EXEC)?;
    }
    let d = lookup_dentry(ctx, &p.dir, &p.name)?;
    let cm = d.inode.mode();
    if p.trailing {
        return Err(if mode::is_dir(cm) {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    if mode::is_dir(cm) {
        return Err(Errno::EISDIR);
    }
    let dst = may_modify_dir(ctx, &p.dir)?;
    perm::sticky_ok(&ctx.creds, &dst, &d.inode.stat()?)?;
    if d.is_mountpoint() {
        return Err(Errno::EBUSY);
    }
    p.dir.inode().unlink(ctx, &p.name)?;
    dentry_gone(&p.dir, &p.name);
    Ok(())
}

pub fn rmdir(ctx: &Ctx, start: &Loc, path: &[u8]) -> Result<(), Errno> {
    let mut w = Walker::new(ctx, start, 0);
    let p = w.parent(start.clone(), path)?;
    if p.name.is_empty() {
        return Err(Errno::EBUSY);
    }
    if p.name == b"." {
        return Err(Errno::EINVAL);
    }
    if p.name == b".." {
        return Err(Errno::ENOTEMPTY);
    }
    want_write(&p.dir)?;
    {
        let st = p.dir.inode().stat()?;
        perm::check(&ctx.creds, &st, MAY_EXEC)?;
    }
    let d = lookup_dentry(ctx, &p.dir, &p.name)?;
    if !mode::is_dir(d.inode.mode()) {
        return Err(Errno::ENOTDIR);
    }
    let dst = may_modify_dir(ctx, &p.dir)?;
    perm::sticky_ok(&ctx.creds, &dst, &d.inode.stat()?)?;
    if d.is_mountpoint()
        || (Arc::ptr_eq(&d, &ctx.root.dentry) && Arc::ptr_eq(&p.dir.mnt, &ctx.root.mnt))
    {
        return Err(Errno::EBUSY);
    }
    p.dir.inode().rmdir(ctx, &p.name)?;
    dentry_gone(&p.dir, &p.name);
    Ok(())
}

/// rename/renameat/renameat2.
pub fn rename(
    ctx: &Ctx,
    ostart: &Loc,
    opath: &[u8],
    nstart: &Loc,
    npath: &[u8],
    flags: u32,
) -> Result<(), Errno> {
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_EXCHANGE != 0 && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0 {
        return Err(Errno::EINVAL);
    }
    let op = Walker::new(ctx, ostart, 0).parent(ostart.clone(), opath)?;
    let np = Walker::new(ctx, nstart, 0).parent(nstart.clone(), npath)?;
    if !Arc::ptr_eq(&op.dir.mnt, &np.dir.mnt) {
        return Err(Errno::EXDEV);
    }
    let special = |n: &[u8]| n.is_empty() || n == b"." || n == b"..";
    if special(&op.name) {
        return Err(Errno::EBUSY);
    }
    if special(&np.name) {
        return Err(if flags & RENAME_NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    }
    want_write(&op.dir)?;
    for d in [&op.dir, &np.dir] {
        let st = d.inode().stat()?;
        perm::check(&ctx.creds, &st, MAY_EXEC)?;
    }
    let od = lookup_dentry(ctx, &op.dir, &op.name)?;
    let nd = match lookup_dentry(ctx, &np.dir, &np.name) {
        Ok(d) => Some(d),
        Err(Errno::ENOENT) => None,
        Err(e) => return Err(e),
    };
    let exchange = flags & RENAME_EXCHANGE != 0;
    if exchange && nd.is_none() {
        return Err(Errno::ENOENT);
    }
    let src_dir = mode::is_dir(od.inode.mode());
    if !src_dir && (op.trailing || (!exchange && np.trailing)) {
        return Err(Errno::ENOTDIR);
    }
    if let Some(n) = &nd {
        if flags & RENAME_NOREPLACE != 0 {
            return Err(Errno::EEXIST);
        }
        if Arc::ptr_eq(&n.inode, &od.inode) && !exchange {
            return Ok(());
        }
    }
    let ost = may_modify_dir(ctx, &op.dir)?;
    let nst = may_modify_dir(ctx, &np.dir)?;
    perm::sticky_ok(&ctx.creds, &ost, &od.inode.stat()?)?;
    if let Some(n) = &nd {
        perm::sticky_ok(&ctx.creds, &nst, &n.inode.stat()?)?;
    }
    let moving_parent = !Arc::ptr_eq(&op.dir.dentry, &np.dir.dentry);
    if src_dir && moving_parent {
        perm::check(&ctx.creds, &od.inode.stat()?, MAY_WRITE)?;
    }
    if od.is_mountpoint() || nd.as_ref().map(|d| d.is_mountpoint()).unwrap_or(false) {
        return Err(Errno::EBUSY);
    }
    op.dir
        .inode()
        .rename(ctx, &op.name, np.dir.inode(), &np.name, flags)?;
    // Keep the name cache in step with the file system.
    if exchange {
        if let Some(n) = &nd {
            od.move_to(&np.dir.dentry, &np.name);
            n.move_to(&op.dir.dentry, &op.name);
        }
    } else {
        if let Some(n) = &nd {
            np.dir.dentry.forget(&np.name);
            n.set_deleted();
        }
        od.move_to(&np.dir.dentry, &np.name);
    }
    Ok(())
}

pub fn readlink(ctx: &Ctx, loc: &Loc) -> Result<Vec<u8>, Errno> {
    if !mode::is_lnk(loc.inode().mode()) {
        return Err(Errno::EINVAL);
    }
    loc.inode().readlink(ctx)
}

/// access/faccessat: checks with the real ids (or effective ones with AT_EACCESS).
pub fn access(ctx: &Ctx, loc: &Loc, amode: u32, eaccess: bool) -> Result<(), Errno> {
    if amode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    if amode == 0 {
        return Ok(());
    }
    let mut c = ctx.creds.clone();
    if !eaccess {
        c.fsuid = c.uid;
        c.fsgid = c.gid;
        if c.uid != 0 {
            c.cap_effective = 0;
        } else {
            c.cap_effective = c.cap_permitted;
        }
    }
    let st = loc.inode().stat()?;
    // W_OK, R_OK, X_OK are 2, 4, 1: the same bits as MAY_*.
    perm::check(&c, &st, amode)?;
    if amode & MAY_WRITE != 0
        && matches!(
            st.mode & mode::S_IFMT,
            mode::S_IFREG | mode::S_IFDIR | mode::S_IFLNK
        )
    {
        want_write(loc)?;
    }
    Ok(())
}

pub fn chmod(ctx: &Ctx, loc: &Loc, m: u32) -> Result<(), Errno> {
    want_write(loc)?;
    let st = loc.inode().stat()?;
    perm::owner_or_cap(&ctx.creds, &st)?;
    let m = perm::chmod_mode(&ctx.creds, &st, m);
    loc.inode().setattr(
        ctx,
        &SetAttr {
            mode: Some(m),
            ..Default::default()
        },
    )
}

/// chown family; u32::MAX (-1) leaves an id unchanged.
pub fn chown(ctx: &Ctx, loc: &Loc, uid: u32, gid: u32) -> Result<(), Errno> {
    want_write(loc)?;
    let st = loc.inode().stat()?;
    let uid = if uid == u32::MAX { None } else { Some(uid) };
    let gid = if gid == u32::MAX { None } else { Some(gid) };
    perm::may_chown(&ctx.creds, &st, uid, gid)?;
    let mut a = SetAttr {
        uid,
        gid,
        ..Default::default()
    };
    if (uid.is_some() || gid.is_some()) && !mode::is_dir(st.mode) {
        // chown clears set-user-ID, and set-group-ID when group-executable.
        let mut m = st.mode & 0o7777 & !mode::S_ISUID;
        if m & 0o010 != 0 {
            m &= !mode::S_ISGID;
        }
        if m != st.mode & 0o7777 {
            a.mode = Some(m);
        }
    }
    loc.inode().setattr(ctx, &a)
}

/// A utimensat time argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeArg {
    Now,
    Omit,
    At(Timespec),
}

pub fn utimes(ctx: &Ctx, loc: &Loc, atime: TimeArg, mtime: TimeArg) -> Result<(), Errno> {
    if atime == TimeArg::Omit && mtime == TimeArg::Omit {
        return Ok(());
    }
    want_write(loc)?;
    let st = loc.inode().stat()?;
    let explicit = matches!(atime, TimeArg::At(_)) || matches!(mtime, TimeArg::At(_));
    if explicit {
        perm::owner_or_cap(&ctx.creds, &st)?;
    } else if perm::owner_or_cap(&ctx.creds, &st).is_err() {
        perm::check(&ctx.creds, &st, MAY_WRITE)?;
    }
    let now = super::now();
    let conv = |t: TimeArg| match t {
        TimeArg::Now => Some(now),
        TimeArg::Omit => None,
        TimeArg::At(x) => Some(x),
    };
    loc.inode().setattr(
        ctx,
        &SetAttr {
            atime: conv(atime),
            mtime: conv(mtime),
            ..Default::default()
        },
    )
}

/// truncate(2) by path.
pub fn truncate(ctx: &Ctx, loc: &Loc, len: i64) -> Result<(), Errno> {
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let st = loc.inode().stat()?;
    if mode::is_dir(st.mode) {
        return Err(Errno::EISDIR);
    }
    if !mode::is_reg(st.mode) {
        return Err(Errno::EINVAL);
    }
    perm::check(&ctx.creds, &st, MAY_WRITE)?;
    want_write(loc)?;
    loc.inode().setattr(
        ctx,
        &SetAttr {
            size: Some(len as u64),
            ..Default::default()
        },
    )
}

/// ftruncate(2) on an open file.
pub fn ftruncate(ctx: &Ctx, f: &File, len: i64) -> Result<(), Errno> {
    if f.is_path() {
        return Err(Errno::EBADF);
    }
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let st = f.stat()?;
    if !mode::is_reg(st.mode) || !f.writable() {
        return Err(Errno::EINVAL);
    }
    if f.flags() & oflags::O_APPEND != 0 {
        return Err(Errno::EPERM);
    }
    want_write(&f.loc)?;
    f.inode().setattr(
        ctx,
        &SetAttr {
            size: Some(len as u64),
            ..Default::default()
        },
    )
}

/// A directory the caller may enter (chdir, chroot).
pub fn enterable(ctx: &Ctx, loc: &Loc) -> Result<(), Errno> {
    if !is_dir(loc) {
        return Err(Errno::ENOTDIR);
    }
    let st = loc.inode().stat()?;
    perm::check(&ctx.creds, &st, MAY_EXEC)
}

pub fn statfs(loc: &Loc) -> StatFs {
    let mut s = loc.mnt.fs.statfs();
    if loc.mnt.readonly() {
        s.flags |= 1;
    }
    s
}

/// getcwd text: ENOENT when the directory was removed.
pub fn cwd_path(ctx: &Ctx, cwd: &Loc) -> Result<Vec<u8>, Errno> {
    if cwd.dentry.is_deleted() {
        return Err(Errno::ENOENT);
    }
    Ok(cwd.path_from(&ctx.root))
}
