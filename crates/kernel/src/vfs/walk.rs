//! Path resolution: components one at a time from a starting place, following symlinks
//! (at most 40 per resolution), `..` (never above the caller's root), mount crossings,
//! and the openat2 RESOLVE_* restrictions.

use super::dentry::{Dentry, Loc};
use super::inode::LinkTarget;
use super::perm::{check, MAY_EXEC};
use super::{mode, Ctx, MAX_SYMLINKS, NAME_MAX, PATH_MAX};
use abi::Errno;
use std::sync::Arc;

pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;
pub const RESOLVE_CACHED: u64 = 0x20;
pub const RESOLVE_ALL: u64 = 0x3f;

/// The result of resolving a path whose last component may be missing (creation).
pub enum Last {
    Found(Loc),
    /// The parent exists, the name does not.
    Missing {
        dir: Loc,
        name: Vec<u8>,
        trailing: bool,
    },
}

/// The parent directory of a path and its last component. `name` is empty for "/",
/// or "." / ".." when the path ends so; the caller applies each syscall's rule for those.
pub struct Parent {
    pub dir: Loc,
    pub name: Vec<u8>,
    /// The path ended in '/'.
    pub trailing: bool,
}

/// One resolution's state: symlink budget and restrictions.
pub struct Walker<'a> {
    ctx: &'a Ctx,
    root: Loc,
    /// For RESOLVE_BENEATH: the place the walk may not leave.
    beneath: Option<Loc>,
    resolve: u64,
    links: u32,
}

/// Splits a path into its non-empty components.
fn components(p: &[u8]) -> impl Iterator<Item = &[u8]> {
    p.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

impl<'a> Walker<'a> {
    pub fn new(ctx: &'a Ctx, start: &Loc, resolve: u64) -> Walker<'a> {
        let root = if resolve & RESOLVE_IN_ROOT != 0 {
            start.clone()
        } else {
            ctx.root.clone()
        };
        let beneath = if resolve & RESOLVE_BENEATH != 0 {
            Some(start.clone())
        } else {
            None
        };
        Walker {
            ctx,
            root,
            beneath,
            resolve,
            links: 0,
        }
    }

    fn is_dir(l: &Loc) -> bool {
        mode::is_dir(l.inode().mode())
    }

    /// Search permission on a directory.
    fn may_search(&self, dir: &Loc) -> Result<(), Errno> {
        if !Self::is_dir(dir) {
            return Err(Errno::ENOTDIR);
        }
        let st = dir.inode().stat()?;
        check(&self.ctx.creds, &st, MAY_EXEC)
    }

    /// Steps onto whatever is mounted on `l`.
    fn cross(&self, mut l: Loc) -> Result<Loc, Errno> {
        while l.dentry.is_mountpoint() {
            match l.mnt.mounted_on(&l.dentry) {
                Some(m) => {
                    if self.resolve & RESOLVE_NO_XDEV != 0 {
                        return Err(Errno::EXDEV);
                    }
                    l = Loc::root_of(&m);
                }
                None => break,
            }
        }
        Ok(l)
    }

    /// The child `name` of directory `dir` (not "." or ".."), across mounts.
    pub fn child(&self, dir: &Loc, name: &[u8]) -> Result<Loc, Errno> {
        let d = lookup_dentry(self.ctx, dir, name)?;
        self.cross(Loc::new(dir.mnt.clone(), d))
    }

    /// `..` of `cur`: never above the root; up through mount roots.
    fn dotdot(&self, cur: &Loc) -> Result<Loc, Errno> {
        let mut cur = cur.clone();
        loop {
            if cur.same(&self.root) {
                return Ok(cur);
            }
            if let Some(b) = &self.beneath {
                if cur.same(b) {
                    return Err(Errno::EXDEV);
                }
            }
            if Arc::ptr_eq(&cur.dentry, &cur.mnt.root) {
                match cur.mnt.parent.clone() {
                    Some((pm, pd)) => {
                        if self.resolve & RESOLVE_NO_XDEV != 0 {
                            return Err(Errno::EXDEV);
                        }
                        cur = Loc::new(pm, pd);
                        continue;
                    }
                    None => return Ok(cur),
                }
            }
            return match cur.dentry.parent() {
                Some(p) => self.cross(Loc::new(cur.mnt.clone(), p)),
                None => Ok(cur),
            };
        }
    }

    /// Follows the symlink at `link`, found in directory `dir`.
    fn follow(&mut self, dir: &Loc, link: &Loc) -> Result<Loc, Errno> {
        self.links += 1;
        if self.links > MAX_SYMLINKS || self.resolve & RESOLVE_NO_SYMLINKS != 0 {
            return Err(Errno::ELOOP);
        }
        if let Some(t) = link.inode().magic_link(self.ctx) {
            if self.resolve & RESOLVE_NO_MAGICLINKS != 0 {
                return Err(Errno::ELOOP);
            }
            if self.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0 {
                return Err(Errno::EXDEV);
            }
            let LinkTarget::Loc(l) = t?;
            return Ok(l);
        }
        let target = link.inode().readlink(self.ctx)?;
        if target.is_empty() {
            return Err(Errno::ENOENT);
        }
        self.resolve_from(dir.clone(), &target, true)
    }

    fn is_link(l: &Loc) -> bool {
        mode::is_lnk(l.inode().mode())
    }

    /// Resolves `path` from `start`; `follow`: follow a final symlink (a trailing slash
    /// always does, and requires a directory).
    pub fn resolve_from(&mut self, start: Loc, path: &[u8], follow: bool) -> Result<Loc, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let mut cur = start;
        if path[0] == b'/' {
            if self.beneath.is_some() {
                return Err(Errno::EXDEV);
            }
            cur = self.root.clone();
        }
        let trailing = path.len() > 1 && path.ends_with(b"/");
        let comps: Vec<&[u8]> = components(path).collect();
        let n = comps.len();
        for (i, c) in comps.into_iter().enumerate() {
            let last = i + 1 == n;
            self.may_search(&cur)?;
            if c == b"." {
                continue;
            }
            if c == b".." {
                cur = self.dotdot(&cur)?;
                continue;
            }
            let next = self.child(&cur, c)?;
            if Self::is_link(&next) && (!last || follow || trailing) {
                cur = self.follow(&cur, &next)?;
                continue;
            }
            cur = next;
        }
        if trailing && !Self::is_dir(&cur) {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }

    /// The parent of `path`'s last component, and that component.
    pub fn parent(&mut self, start: Loc, path: &[u8]) -> Result<Parent, Errno> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let trimmed_len = path
            .iter()
            .rposition(|&b| b != b'/')
            .map(|p| p + 1)
            .unwrap_or(0);
        let trailing = trimmed_len < path.len() && trimmed_len > 0;
        let trimmed = &path[..trimmed_len];
        if trimmed.is_empty() {
            // "/" (or "///"): the root itself.
            if self.beneath.is_some() {
                return Err(Errno::EXDEV);
            }
            return Ok(Parent {
                dir: self.root.clone(),
                name: Vec::new(),
                trailing: false,
            });
        }
        let (dirpart, name) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(p) => (&trimmed[..p + 1], &trimmed[p + 1..]),
            None => (&b""[..], trimmed),
        };
        let dir = if dirpart.is_empty() {
            start
        } else {
            self.resolve_from(start, dirpart, true)?
        };
        if !Self::is_dir(&dir) {
            return Err(Errno::ENOTDIR);
        }
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(Parent {
            dir,
            name: name.to_vec(),
            trailing,
        })
    }

    /// Resolves `path` for open: the object, or its parent and name when missing.
    /// A final symlink is followed when `follow`; a dangling one yields its target's
    /// parent and name (so O_CREAT creates the target, as Linux does).
    pub fn last(&mut self, start: Loc, path: &[u8], follow: bool) -> Result<Last, Errno> {
        let p = self.parent(start, path)?;
        let name = p.name;
        if name.is_empty() || name == b"." || name == b".." {
            let dir = p.dir;
            self.may_search(&dir)?;
            let l = if name == b".." {
                self.dotdot(&dir)?
            } else {
                dir
            };
            return Ok(Last::Found(l));
        }
        self.may_search(&p.dir)?;
        match self.child(&p.dir, &name) {
            Err(Errno::ENOENT) => Ok(Last::Missing {
                dir: p.dir,
                name,
                trailing: p.trailing,
            }),
            Err(e) => Err(e),
            Ok(l) => {
                if Self::is_link(&l) && (follow || p.trailing) {
                    self.links += 1;
                    if self.links > MAX_SYMLINKS || self.resolve & RESOLVE_NO_SYMLINKS != 0 {
                        return Err(Errno::ELOOP);
                    }
                    if let Some(t) = l.inode().magic_link(self.ctx) {
                        if self.resolve & RESOLVE_NO_MAGICLINKS != 0 {
                            return Err(Errno::ELOOP);
                        }
                        if self.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0 {
                            return Err(Errno::EXDEV);
                        }
                        let LinkTarget::Loc(l) = t?;
                        return Ok(Last::Found(l));
                    }
                    let target = l.inode().readlink(self.ctx)?;
                    if target.is_empty() {
                        return Err(Errno::ENOENT);
                    }
                    let mut r = self.last(p.dir, &target, true)?;
                    if p.trailing {
                        if let Last::Missing { trailing, .. } = &mut r {
                            *trailing = true;
                        }
                    }
                    return Ok(r);
                }
                if p.trailing && !Self::is_dir(&l) && !Self::is_link(&l) {
                    return Err(Errno::ENOTDIR);
                }
                Ok(Last::Found(l))
            }
        }
    }
}

/// The dentry of `name` in directory `dir`, not crossing a mount on it (for unlink,
/// rmdir and rename, which act on the mountpoint itself).
pub fn lookup_dentry(ctx: &Ctx, dir: &Loc, name: &[u8]) -> Result<Arc<Dentry>, Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let cache = dir.mnt.fs.cache_dentries();
    if cache {
        if let Some(d) = dir.dentry.cached(name) {
            return Ok(d);
        }
    }
    let ino = dir.inode().lookup(ctx, name)?;
    Ok(Dentry::new_child(&dir.dentry, name, ino, cache))
}

/// Resolves `path` from `start` with the caller's root.
pub fn resolve(ctx: &Ctx, start: &Loc, path: &[u8], follow: bool) -> Result<Loc, Errno> {
    Walker::new(ctx, start, 0).resolve_from(start.clone(), path, follow)
}

/// The parent directory and last component of `path`.
pub fn parent(ctx: &Ctx, start: &Loc, path: &[u8]) -> Result<Parent, Errno> {
    Walker::new(ctx, start, 0).parent(start.clone(), path)
}
