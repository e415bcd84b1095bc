//! Mount points in the container's root directory on the host: like runc, `create` makes
//! the missing ones (directories, or empty files for file bind mounts) before the sandbox
//! starts. Every step resolves beneath the root (openat2 RESOLVE_IN_ROOT: symlinks and
//! `..` stay inside it) and creates one name relative to a directory fd, so a hostile
//! root file system cannot make moat create anything outside it.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

fn open_in_root(root: RawFd, path: &Path) -> std::io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: openat2 with a valid C string and a properly sized struct.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root,
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The normal components of an absolute container path ("." and ".." dropped the way the
/// kernel would resolve them at the root).
fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Creates `dest` (relative to the root) if it is missing: a directory, or an empty file.
fn ensure(root: RawFd, dest: &Path, dir: bool) -> Result<(), String> {
    let rel = clean(dest);
    let comps: Vec<_> = rel.components().collect();
    let mut cur = PathBuf::new();
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let next = cur.join(c);
        match open_in_root(root, &next) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                let dot = PathBuf::from(".");
                let parent = open_in_root(
                    root,
                    if cur.as_os_str().is_empty() {
                        &dot
                    } else {
                        &cur
                    },
                )
                .map_err(|e| format!("{}: {e}", cur.display()))?;
                let name = CString::new(c.as_os_str().as_encoded_bytes())
                    .map_err(|_| "invalid path".to_string())?;
                // SAFETY: single-name creation relative to a directory fd.
                let r = unsafe {
                    if last && !dir {
                        let fd = libc::openat(
                            parent.as_raw_fd(),
                            name.as_ptr(),
                            libc::O_CREAT
                                | libc::O_EXCL
                                | libc::O_WRONLY
                                | libc::O_NOFOLLOW
                                | libc::O_CLOEXEC,
                            0o644,
                        );
                        if fd >= 0 {
                            libc::close(fd);
                        }
                        fd
                    } else {
                        libc::mkdirat(parent.as_raw_fd(), name.as_ptr(), 0o755)
                    }
                };
                if r < 0 {
                    let e = std::io::Error::last_os_error();
                    if e.raw_os_error() != Some(libc::EEXIST) {
                        return Err(format!("creating {}: {e}", next.display()));
                    }
                }
            }
            Err(e) => return Err(format!("{}: {e}", next.display())),
        }
        cur = next;
    }
    Ok(())
}

/// Makes the mount points of `mounts` (destination, is a directory) that lie directly in
/// the root file system; those under an earlier mount are made inside the sandbox.
pub fn make_mountpoints(rootfs: &Path, mounts: &[(PathBuf, bool)]) -> Result<(), String> {
    let root = std::fs::File::open(rootfs).map_err(|e| format!("{}: {e}", rootfs.display()))?;
    let mut earlier: Vec<PathBuf> = Vec::new();
    for (dest, dir) in mounts {
        let d = clean(dest);
        let covered = earlier.iter().any(|e| d != *e && d.starts_with(e));
        if !covered {
            ensure(root.as_raw_fd(), &d, *dir)
                .map_err(|e| format!("mount point {}: {e}", dest.display()))?;
        }
        earlier.push(d);
    }
    Ok(())
}
