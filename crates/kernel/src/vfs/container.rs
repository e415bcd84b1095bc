//! The mount tree of a container: its root directory from the bundle, then the mounts of
//! its configuration in order, masked and read-only paths, and the executable lookup of
//! a process spec. (The OCI configuration itself is parsed by the CLI.)

use super::dentry::{self, Dentry, Loc, Mount, MNT_NODEV, MNT_NOEXEC, MNT_NOSUID, MNT_RDONLY};
use super::perm::{self, MAY_EXEC};
use super::{mode, walk, Ctx, Inode};
use crate::fs::tmpfs::{self, TmpFs, TmpfsOptions};
use crate::fs::{devfs, hostfs, procfs};
use crate::task::Creds;
use abi::Errno;

/// One mount of the configuration.
#[derive(Clone, Debug)]
pub struct MountSpec {
    pub dest: String,
    /// File-system type: bind, tmpfs, proc, sysfs, devpts, mqueue, cgroup, cgroup2.
    pub kind: String,
    pub source: String,
    pub options: Vec<String>,
}

/// A container's file-system view.
#[derive(Clone, Debug, Default)]
pub struct RootSpec {
    /// Host directory of the root file system.
    pub path: String,
    pub readonly: bool,
    pub mounts: Vec<MountSpec>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    /// The writable layer of a writable root: an overlay's upper (None: the host
    /// directory itself, written directly).
    pub overlay: Option<crate::fs::overlay::Upper>,
}

/// Mount flags and the file-system options left over (mode=, size=, ...).
fn parse_options(opts: &[String]) -> (u32, bool, Vec<(String, String)>) {
    let mut flags = 0;
    let mut bind = false;
    let mut data = Vec::new();
    for o in opts {
        match o.as_str() {
            "ro" => flags |= MNT_RDONLY,
            "rw" => flags &= !MNT_RDONLY,
            "nosuid" => flags |= MNT_NOSUID,
            "suid" => flags &= !MNT_NOSUID,
            "nodev" => flags |= MNT_NODEV,
            "dev" => flags &= !MNT_NODEV,
            "noexec" => flags |= MNT_NOEXEC,
            "exec" => flags &= !MNT_NOEXEC,
            "bind" | "rbind" => bind = true,
            _ => match o.split_once('=') {
                Some((k, v)) => data.push((k.to_string(), v.to_string())),
                // Propagation, atime and the like change nothing the sandbox can observe.
                None => crate::debug!("mount option {o} accepted, no effect"),
            },
        }
    }
    (flags, bind, data)
}

/// tmpfs's own options (size=, nr_inodes=, mode=, uid=, gid=, ...), by its parser.
fn tmpfs_options(data: &[(String, String)]) -> Result<TmpfsOptions, String> {
    let text: Vec<String> = data.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let text = text.join(",");
    let pages = tmpfs::total_ram_pages();
    TmpfsOptions::parse(&text, pages).map_err(|_| format!("tmpfs: invalid options {text}"))
}

/// Resolves `path` (absolute, inside the container) in the tree being built.
fn resolve(ctx: &Ctx, path: &str) -> Result<Loc, Errno> {
    walk::resolve(ctx, &ctx.root, path.as_bytes(), true)
}

/// Builds the global mount tree of a container.
pub fn setup_container_root(spec: &RootSpec) -> Result<(), String> {
    let flags = if spec.readonly { MNT_RDONLY } else { 0 };
    let root_mnt = match (&spec.overlay, spec.readonly) {
        (Some(upper), false) => {
            let (fs, root) = crate::fs::overlay::mount_root(&spec.path, upper.clone())
                .map_err(|e| format!("root {}: {}", spec.path, e.name()))?;
            Mount::new_root(fs, root, flags, "overlay", false)
        }
        _ => {
            let (hfs, hroot) = hostfs::mount(&spec.path, !spec.readonly)
                .map_err(|e| format!("root {}: {}", spec.path, e.name()))?;
            if !mode::is_dir(hroot.stat().map(|s| s.mode).unwrap_or(0)) {
                return Err(format!("root {}: not a directory", spec.path));
            }
            Mount::new_root(hfs, Dentry::new_root(b"/", hroot), flags, "/", false)
        }
    };
    dentry::set_root(Loc::root_of(&root_mnt));
    let ctx = Ctx {
        root: Loc::root_of(&root_mnt),
        ..Ctx::kernel()
    };
    let mut have_dev = false;
    for m in &spec.mounts {
        if m.dest == "/dev" {
            have_dev = true;
        }
        mount_one(&ctx, m).map_err(|e| format!("mount {} on {}: {e}", m.kind, m.dest))?;
    }
    if !have_dev {
        // Every container gets Linux's basic device nodes, as runc creates them.
        attach_dev(&ctx, "/dev", MNT_NOSUID).map_err(|e| format!("mount /dev: {e}"))?;
    }
    for p in &spec.masked_paths {
        mask(&ctx, p).map_err(|e| format!("masking {p}: {e}"))?;
    }
    for p in &spec.readonly_paths {
        make_readonly(&ctx, p).map_err(|e| format!("read-only path {p}: {e}"))?;
    }
    Ok(())
}

fn mountpoint(ctx: &Ctx, dest: &str, want_dir: bool) -> Result<Loc, String> {
    if !dest.starts_with('/') {
        return Err("destination must be an absolute path".into());
    }
    let l = match resolve(ctx, dest) {
        Err(Errno::ENOENT) => {
            make_path(ctx, dest, want_dir)
                .map_err(|e| format!("creating the mount point: {}", e.name()))?;
            resolve(ctx, dest).map_err(|e| e.name().to_string())?
        }
        r => r.map_err(|e| e.name().to_string())?,
    };
    let is_dir = mode::is_dir(l.inode().mode());
    if want_dir && !is_dir {
        return Err("the mount point is not a directory".into());
    }
    if !want_dir && is_dir {
        return Err("a file cannot be mounted on a directory".into());
    }
    Ok(l)
}

/// Creates a missing mount point inside the sandbox (in a writable file system mounted
/// earlier, such as a tmpfs); `create` made those that lie in the root directory.
fn make_path(ctx: &Ctx, dest: &str, dir: bool) -> Result<(), Errno> {
    let comps: Vec<&str> = dest.split('/').filter(|c| !c.is_empty()).collect();
    let mut cur = String::new();
    for (i, c) in comps.iter().enumerate() {
        cur.push('/');
        cur.push_str(c);
        match resolve(ctx, &cur) {
            Ok(_) => continue,
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        if i + 1 == comps.len() && !dir {
            super::ops::mknod(ctx, &ctx.root, cur.as_bytes(), mode::S_IFREG | 0o644, 0)?;
        } else {
            super::ops::mkdir(ctx, &ctx.root, cur.as_bytes(), 0o755)?;
        }
    }
    Ok(())
}

fn attach_dev(ctx: &Ctx, dest: &str, flags: u32) -> Result<(), String> {
    let at = mountpoint(ctx, dest, true)?;
    let dev = devfs::build().map_err(|e| e.name().to_string())?;
    // A terminal on the sandbox's stdio (process.terminal) is the console.
    crate::tty::console::init_from_stdio();
    devfs::add_console(&dev).map_err(|e| e.name().to_string())?;
    Mount::attach(&at, dev.clone(), dev.root_dentry(), flags, "tmpfs");
    // The device file system has directories for the mounts that usually follow.
    let shm = TmpFs::new(0o1777);
    let sat = resolve(ctx, &format!("{}/shm", dest.trim_end_matches('/')))
        .map_err(|e| e.name().to_string())?;
    Mount::attach(
        &sat,
        shm.clone(),
        shm.root_dentry(),
        MNT_NOSUID | MNT_NODEV,
        "shm",
    );
    Ok(())
}

fn mount_one(ctx: &Ctx, m: &MountSpec) -> Result<(), String> {
    let (flags, bind, data) = parse_options(&m.options);
    let kind = if bind { "bind" } else { m.kind.as_str() };
    match kind {
        "bind" => {
            // Bind mounts are writable on the host unless "ro".
            let writable = flags & MNT_RDONLY == 0;
            let (fs, root) = hostfs::mount(&m.source, writable).map_err(|e| match e {
                Errno::ENOENT => format!("bind source {} does not exist", m.source),
                e => format!("bind source {}: {}", m.source, e.name()),
            })?;
            let is_dir = mode::is_dir(root.stat().map(|s| s.mode).unwrap_or(0));
            let at = mountpoint(ctx, &m.dest, is_dir)?;
            Mount::attach(&at, fs, Dentry::new_root(b"/", root), flags, &m.source);
        }
        "tmpfs" if m.dest == "/dev" => attach_dev(ctx, &m.dest, flags)?,
        "tmpfs" => {
            let at = mountpoint(ctx, &m.dest, true)?;
            let fs = TmpFs::with_options(&tmpfs_options(&data)?, "tmpfs");
            Mount::attach(&at, fs.clone(), fs.root_dentry(), flags, "tmpfs");
        }
        "proc" => {
            let at = mountpoint(ctx, &m.dest, true)?;
            let fs = procfs::ProcFs::new();
            let root = fs.root_dentry();
            Mount::attach(&at, fs, root, flags, "proc");
        }
        "mqueue" => {
            let at = mountpoint(ctx, &m.dest, true)?;
            let (fs, root) = crate::kernel().ipc.mq.mountable();
            Mount::attach(&at, fs, root, flags, "mqueue");
        }
        "devpts" => {
            let at = mountpoint(ctx, &m.dest, true)?;
            crate::fs::devpts::mount(&at, flags, &data)?;
        }
        "sysfs" => {
            let at = mountpoint(ctx, &m.dest, true)?;
            let fs = crate::fs::sysfs::build().map_err(|e| e.name().to_string())?;
            Mount::attach(
                &at,
                fs.clone(),
                fs.root_dentry(),
                flags | MNT_RDONLY,
                "sysfs",
            );
        }
        // cgroup gets its own file system in later work; until then an empty directory
        // stands in (the programs that look find nothing).
        "cgroup" | "cgroup2" => {
            let at = match mountpoint(ctx, &m.dest, true) {
                Ok(at) => at,
                Err(e) => {
                    crate::debug!("{} on {} skipped: {e}", m.kind, m.dest);
                    return Ok(());
                }
            };
            let fs = TmpFs::new(0o755);
            Mount::attach(
                &at,
                fs.clone(),
                fs.root_dentry(),
                flags | MNT_RDONLY,
                &m.kind,
            );
        }
        other => return Err(format!("file-system type {other:?} is not supported")),
    }
    Ok(())
}

/// maskedPaths: a directory is covered by an empty read-only tmpfs, a file by /dev/null.
fn mask(ctx: &Ctx, path: &str) -> Result<(), String> {
    let l = match resolve(ctx, path) {
        Ok(l) => l,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e.name().to_string()),
    };
    if mode::is_dir(l.inode().mode()) {
        let fs = TmpFs::new(0o755);
        Mount::attach(&l, fs.clone(), fs.root_dentry(), MNT_RDONLY, "tmpfs");
    } else {
        let null = resolve(ctx, "/dev/null").map_err(|e| e.name().to_string())?;
        Mount::attach(
            &l,
            null.mnt.fs.clone(),
            null.dentry.clone(),
            MNT_RDONLY | MNT_NOSUID | MNT_NOEXEC,
            "tmpfs",
        );
    }
    Ok(())
}

/// readonlyPaths: the path is bind-mounted on itself read-only.
fn make_readonly(ctx: &Ctx, path: &str) -> Result<(), String> {
    let l = match resolve(ctx, path) {
        Ok(l) => l,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e.name().to_string()),
    };
    let src = l.mnt.source.clone();
    Mount::attach(
        &l,
        l.mnt.fs.clone(),
        l.dentry.clone(),
        l.mnt.flags | MNT_RDONLY,
        &src,
    );
    Ok(())
}

/// Finds a process's executable in the sandbox: a path as given (relative to `cwd`), or
/// a name searched on the PATH of `env` (runc's default PATH when there is none).
pub fn lookup_exec(
    path: &[u8],
    env: &[Vec<u8>],
    cwd: &str,
    creds: &Creds,
) -> Result<Vec<u8>, Errno> {
    let root = dentry::root_loc();
    let ctx = Ctx {
        creds: creds.clone(),
        root: root.clone(),
        ..Ctx::kernel()
    };
    let cwd_loc = walk::resolve(&ctx, &root, cwd.as_bytes(), true).unwrap_or(root.clone());
    let check = |p: &[u8]| -> Result<(), Errno> {
        let l = walk::resolve(&ctx, &cwd_loc, p, true)?;
        let st = l.inode().stat()?;
        if mode::is_dir(st.mode) {
            return Err(Errno::EACCES);
        }
        perm::check(&ctx.creds, &st, MAY_EXEC)
    };
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.contains(&b'/') {
        check(path)?;
        return Ok(path.to_vec());
    }
    let search: Vec<u8> = env
        .iter()
        .find_map(|e| e.strip_prefix(b"PATH="))
        .map(|p| p.to_vec())
        .unwrap_or_else(|| {
            b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_vec()
        });
    for dir in search.split(|&c| c == b':') {
        let mut p = if dir.is_empty() {
            b".".to_vec()
        } else {
            dir.to_vec()
        };
        p.push(b'/');
        p.extend_from_slice(path);
        if check(&p).is_ok() {
            return Ok(p);
        }
    }
    Err(Errno::ENOENT)
}
