//! sysfs as the sandbox shows it: a read-only tree with the files programs read to size
//! themselves (CPU lists, transparent huge page mode) and the mount points and classes
//! other parts fill (/sys/fs/cgroup, /sys/class/net). Values are the sandbox's, built
//! when it is mounted; nothing of the host's sysfs shows through.

use super::tmpfs::{TmpFs, TmpInode};
use crate::vfs::{mode, Ctx, Inode};
use abi::Errno;
use std::sync::Arc;

/// CPUs the sandbox may run on (the host's affinity mask of the kernel process).
pub fn cpu_count() -> usize {
    // SAFETY: sched_getaffinity into a local set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let n = libc::CPU_COUNT(&set) as usize;
            if n > 0 {
                return n;
            }
        }
    }
    1
}

fn dir(parent: &Arc<TmpInode>, ctx: &Ctx, name: &str) -> Result<Arc<TmpInode>, Errno> {
    if let Some(c) = parent.child(name.as_bytes()) {
        return Ok(c);
    }
    parent.mkdir(ctx, name.as_bytes(), 0o755)?;
    parent.child(name.as_bytes()).ok_or(Errno::ENOENT)
}

fn path(root: &Arc<TmpInode>, ctx: &Ctx, p: &str) -> Result<Arc<TmpInode>, Errno> {
    let mut cur = root.clone();
    for c in p.split('/').filter(|c| !c.is_empty()) {
        cur = dir(&cur, ctx, c)?;
    }
    Ok(cur)
}

fn file(parent: &Arc<TmpInode>, ctx: &Ctx, name: &str, text: &str) -> Result<(), Errno> {
    parent.create(ctx, name.as_bytes(), mode::S_IFREG | 0o444)?;
    let f = parent.child(name.as_bytes()).ok_or(Errno::ENOENT)?;
    let data = f.file_data().ok_or(Errno::EINVAL)?;
    data.write(0, text.as_bytes())?;
    Ok(())
}

/// Builds the tree; the caller mounts it read-only on /sys.
pub fn build() -> Result<Arc<TmpFs>, Errno> {
    let fs = TmpFs::new_named(0o555, "sysfs");
    let root = fs.root_inode();
    let ctx = Ctx::kernel();
    let n = cpu_count();
    let range = if n == 1 {
        "0\n".to_string()
    } else {
        format!("0-{}\n", n - 1)
    };
    let cpu = path(&root, &ctx, "devices/system/cpu")?;
    for f in ["online", "possible", "present"] {
        file(&cpu, &ctx, f, &range)?;
    }
    file(&cpu, &ctx, "offline", "\n")?;
    file(&cpu, &ctx, "kernel_max", &format!("{}\n", 8191))?;
    for i in 0..n {
        let c = dir(&cpu, &ctx, &format!("cpu{i}"))?;
        if i > 0 {
            // Linux has no online file for the boot CPU.
            file(&c, &ctx, "online", "1\n")?;
        }
    }
    let node = path(&root, &ctx, "devices/system/node")?;
    file(&node, &ctx, "online", "0\n")?;
    file(&node, &ctx, "possible", "0\n")?;
    let node0 = dir(&node, &ctx, "node0")?;
    file(&node0, &ctx, "cpulist", &range)?;
    let thp = path(&root, &ctx, "kernel/mm/transparent_hugepage")?;
    file(&thp, &ctx, "enabled", "always madvise [never]\n")?;
    file(
        &thp,
        &ctx,
        "defrag",
        "always defer defer+madvise madvise [never]\n",
    )?;
    for d in [
        "fs/cgroup",
        "class/net",
        "block",
        "bus",
        "dev/block",
        "dev/char",
        "firmware",
        "module",
        "power",
    ] {
        path(&root, &ctx, d)?;
    }
    Ok(fs)
}
