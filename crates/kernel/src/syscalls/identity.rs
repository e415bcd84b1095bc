//! Identity: user and group ids, supplementary groups and capabilities, emulated by the
//! kernel (never the host's) with Linux's permission rules and the capability effects of
//! uid changes (security/commoncap.c).
//!
//! Credentials are per thread group (`TgState::creds`): glibc applies set*id calls to every
//! thread of a process, so this is the behaviour applications observe.

use crate::task::{Creds, Task, ThreadGroup};
use crate::{kernel, SysResult};
use abi::sysno as nr;
use abi::Errno;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub const CAP_CHOWN: u32 = 0;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_MAC_OVERRIDE: u32 = 32;
pub const CAP_LAST_CAP: u32 = 40;
/// Every valid capability bit.
pub const CAP_VALID_MASK: u64 = (1u64 << (CAP_LAST_CAP + 1)) - 1;
/// The file-system capabilities that follow fsuid 0 (CAP_FS_SET).
pub const CAP_FS_MASK: u64 = (1 << CAP_CHOWN)
    | (1 << CAP_DAC_OVERRIDE)
    | (1 << CAP_DAC_READ_SEARCH)
    | (1 << CAP_FOWNER)
    | (1 << CAP_FSETID)
    | (1 << CAP_LINUX_IMMUTABLE)
    | (1 << CAP_MKNOD)
    | (1 << CAP_MAC_OVERRIDE);

// Securebits (linux/securebits.h).
pub const SECBIT_NOROOT: u32 = 1 << 0;
pub const SECBIT_NO_SETUID_FIXUP: u32 = 1 << 2;
pub const SECBIT_KEEP_CAPS: u32 = 1 << 4;
pub const SECBIT_KEEP_CAPS_LOCKED: u32 = 1 << 5;
pub const SECBIT_NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
pub const SECURE_ALL_BITS: u32 = 0x55;
pub const SECURE_ALL_LOCKS: u32 = 0xaa;

const NGROUPS_MAX: u32 = 65536;
const INVALID_ID: u32 = u32::MAX;

const CAP_V1: u32 = 0x1998_0330;
const CAP_V2: u32 = 0x2007_1026;
const CAP_V3: u32 = 0x2008_0522;

/// Handles the calls of this family; None for other numbers.
pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    let id = |i: usize| a[i] as u32;
    Some(match n {
        nr::GETUID => Ok(t.creds().uid as u64),
        nr::GETEUID => Ok(t.creds().euid as u64),
        nr::GETGID => Ok(t.creds().gid as u64),
        nr::GETEGID => Ok(t.creds().egid as u64),
        nr::SETUID => change(t, |c, sb| setuid(c, sb, id(0))),
        nr::SETGID => change(t, |c, _| setgid(c, id(0))),
        nr::SETREUID => change(t, |c, sb| setreuid(c, sb, id(0), id(1))),
        nr::SETREGID => change(t, |c, _| setregid(c, id(0), id(1))),
        nr::SETRESUID => change(t, |c, sb| setresuid(c, sb, id(0), id(1), id(2))),
        nr::SETRESGID => change(t, |c, _| setresgid(c, id(0), id(1), id(2))),
        nr::GETRESUID => {
            let c = t.creds();
            getres(t, [c.uid, c.euid, c.suid], a)
        }
        nr::GETRESGID => {
            let c = t.creds();
            getres(t, [c.gid, c.egid, c.sgid], a)
        }
        nr::SETFSUID => Ok(change_fs(t, |c, sb| setfsuid(c, sb, id(0))) as u64),
        nr::SETFSGID => Ok(change_fs(t, |c, _| setfsgid(c, id(0))) as u64),
        nr::GETGROUPS => getgroups(t, a[0] as i32, a[1]),
        nr::SETGROUPS => setgroups(t, a[0] as i32, a[1]),
        nr::CAPGET => capget(t, a[0], a[1]),
        nr::CAPSET => capset(t, a[0], a[1]),
        _ => return None,
    })
}

/// What this file implements, with a note where support is partial ("" when complete).
pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::GETUID, ""),
        (nr::GETEUID, ""),
        (nr::GETGID, ""),
        (nr::GETEGID, ""),
        (nr::SETUID, "RLIMIT_NPROC is not checked"),
        (nr::SETGID, ""),
        (nr::SETREUID, "RLIMIT_NPROC is not checked"),
        (nr::SETREGID, ""),
        (nr::SETRESUID, "RLIMIT_NPROC is not checked"),
        (nr::SETRESGID, ""),
        (nr::GETRESUID, ""),
        (nr::GETRESGID, ""),
        (nr::SETFSUID, ""),
        (nr::SETFSGID, ""),
        (nr::GETGROUPS, ""),
        (nr::SETGROUPS, ""),
        (nr::CAPGET, ""),
        (nr::CAPSET, ""),
    ]
}

// ---------------------------------------------------------------------------------------------
// Securebits: per process, kept beside the credentials until Creds carries them.

static SECUREBITS: Mutex<Option<HashMap<i32, (Instant, u32)>>> = Mutex::new(None);

/// The securebits of thread group `tg`.
pub fn securebits(tg: &ThreadGroup) -> u32 {
    let start = tg.lock().start;
    let g = SECUREBITS.lock().unwrap_or_else(|e| e.into_inner());
    g.as_ref()
        .and_then(|m| m.get(&tg.tgid))
        .filter(|e| e.0 == start)
        .map(|e| e.1)
        .unwrap_or(0)
}

/// Sets the securebits of `tg`.
pub fn set_securebits(tg: &ThreadGroup, bits: u32) {
    let start = tg.lock().start;
    let mut g = SECUREBITS.lock().unwrap_or_else(|e| e.into_inner());
    let m = g.get_or_insert_with(HashMap::new);
    if m.len() > 4096 {
        // Forget entries of tasks and groups that are gone (try_lock: a caller may hold
        // the process table).
        if let Ok(procs) = kernel().procs.try_lock() {
            m.retain(|id, _| procs.groups.contains_key(id));
        }
    }
    if bits == 0 {
        m.remove(&tg.tgid);
    } else {
        m.insert(tg.tgid, (start, bits));
    }
}

/// A child process inherits its parent's securebits (for fork/clone without CLONE_THREAD).
pub fn on_fork(parent: &ThreadGroup, child: &ThreadGroup) {
    let b = securebits(parent);
    if b != 0 {
        set_securebits(child, b);
    }
}

/// execve clears SECBIT_KEEP_CAPS (Linux: cap_bprm_creds_from_file).
pub fn on_exec(tg: &ThreadGroup) {
    let b = securebits(tg);
    if b & SECBIT_KEEP_CAPS != 0 {
        set_securebits(tg, b & !SECBIT_KEEP_CAPS);
    }
    // Capabilities across execve. moat's files carry no file capabilities, so root (unless
    // SECBIT_NOROOT) execs as Linux treats a privileged file: permitted = inheritable |
    // bounding, effective = permitted if euid is 0, ambient cleared; anyone else keeps
    // just the ambient set.
    let mut g = tg.lock();
    let c = &mut g.creds;
    if b & SECBIT_NOROOT == 0 && (c.uid == 0 || c.euid == 0) {
        c.cap_ambient = 0;
        c.cap_permitted = c.cap_inheritable | c.cap_bounding;
        c.cap_effective = if c.euid == 0 { c.cap_permitted } else { 0 };
    } else {
        c.cap_permitted = c.cap_ambient;
        c.cap_effective = c.cap_ambient;
    }
}

/// Applies `f` to the task's credentials atomically (all or nothing).
fn change(t: &Task, f: impl FnOnce(&mut Creds, u32) -> Result<(), Errno>) -> SysResult {
    let sb = securebits(&t.tg);
    let (old, new) = {
        let mut g = t.tg.lock();
        let mut c = g.creds.clone();
        f(&mut c, sb)?;
        let old = std::mem::replace(&mut g.creds, c.clone());
        (old, c)
    };
    after_commit(t, &old, &new);
    Ok(0)
}

/// Like `change` for setfsuid/setfsgid, which always return the old id.
fn change_fs(t: &Task, f: impl FnOnce(&mut Creds, u32) -> u32) -> u32 {
    let sb = securebits(&t.tg);
    let (r, old, new) = {
        let mut g = t.tg.lock();
        let old = g.creds.clone();
        let r = f(&mut g.creds, sb);
        (r, old, g.creds.clone())
    };
    after_commit(t, &old, &new);
    r
}

/// Linux's commit_creds: a change of effective or file-system ids, or a loss of permitted
/// capabilities, makes the process non-dumpable and clears the parent-death signal.
fn after_commit(t: &Task, old: &Creds, new: &Creds) {
    use std::sync::atomic::Ordering;
    let changed = old.euid != new.euid
        || old.egid != new.egid
        || old.fsuid != new.fsuid
        || old.fsgid != new.fsgid
        || new.cap_permitted & !old.cap_permitted != 0;
    if !changed {
        return;
    }
    let threads = kernel().procs.lock().unwrap().threads_of(&t.tg);
    t.dumpable.store(0, Ordering::Relaxed);
    t.pdeathsig.store(0, Ordering::Relaxed);
    for th in threads {
        th.dumpable.store(0, Ordering::Relaxed);
        th.pdeathsig.store(0, Ordering::Relaxed);
    }
}

fn getres(t: &Task, ids: [u32; 3], a: &[u64; 6]) -> SysResult {
    for i in 0..3 {
        t.write_val(a[i], &ids[i])?;
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// The rules, on plain credentials (unit-tested below).

/// cap_emulate_setxuid: capability effects of a change of real/effective/saved uid.
fn fix_setuid(new: &mut Creds, old: &Creds, sb: u32) {
    if sb & SECBIT_NO_SETUID_FIXUP != 0 {
        return;
    }
    let was_root = old.uid == 0 || old.euid == 0 || old.suid == 0;
    let is_root = new.uid == 0 || new.euid == 0 || new.suid == 0;
    if was_root && !is_root {
        if sb & SECBIT_KEEP_CAPS == 0 {
            new.cap_permitted = 0;
            new.cap_effective = 0;
        }
        new.cap_ambient = 0;
    }
    if old.euid == 0 && new.euid != 0 {
        new.cap_effective = 0;
    }
    if old.euid != 0 && new.euid == 0 {
        new.cap_effective = new.cap_permitted;
    }
}

/// The file-system capability fixup of a change of fsuid.
fn fix_setfsuid(new: &mut Creds, old: &Creds, sb: u32) {
    if sb & SECBIT_NO_SETUID_FIXUP != 0 {
        return;
    }
    if old.fsuid == 0 && new.fsuid != 0 {
        new.cap_effective &= !CAP_FS_MASK;
    }
    if old.fsuid != 0 && new.fsuid == 0 {
        new.cap_effective |= new.cap_permitted & CAP_FS_MASK;
    }
}

pub fn setuid(c: &mut Creds, sb: u32, uid: u32) -> Result<(), Errno> {
    if uid == INVALID_ID {
        return Err(Errno::EINVAL);
    }
    let old = c.clone();
    if old.has_cap(CAP_SETUID) {
        c.uid = uid;
        c.suid = uid;
    } else if uid != old.uid && uid != old.suid {
        return Err(Errno::EPERM);
    }
    c.euid = uid;
    c.fsuid = uid;
    fix_setuid(c, &old, sb);
    Ok(())
}

pub fn setgid(c: &mut Creds, gid: u32) -> Result<(), Errno> {
    if gid == INVALID_ID {
        return Err(Errno::EINVAL);
    }
    if c.has_cap(CAP_SETGID) {
        c.gid = gid;
        c.egid = gid;
        c.sgid = gid;
        c.fsgid = gid;
    } else if gid == c.gid || gid == c.sgid {
        c.egid = gid;
        c.fsgid = gid;
    } else {
        return Err(Errno::EPERM);
    }
    Ok(())
}

pub fn setreuid(c: &mut Creds, sb: u32, ruid: u32, euid: u32) -> Result<(), Errno> {
    let old = c.clone();
    let cap = old.has_cap(CAP_SETUID);
    if ruid != INVALID_ID {
        if ruid != old.uid && ruid != old.euid && !cap {
            return Err(Errno::EPERM);
        }
        c.uid = ruid;
    }
    if euid != INVALID_ID {
        if euid != old.uid && euid != old.euid && euid != old.suid && !cap {
            return Err(Errno::EPERM);
        }
        c.euid = euid;
    }
    if ruid != INVALID_ID || (euid != INVALID_ID && euid != old.uid) {
        c.suid = c.euid;
    }
    c.fsuid = c.euid;
    fix_setuid(c, &old, sb);
    Ok(())
}

pub fn setregid(c: &mut Creds, rgid: u32, egid: u32) -> Result<(), Errno> {
    let old = c.clone();
    let cap = old.has_cap(CAP_SETGID);
    if rgid != INVALID_ID {
        if rgid != old.gid && rgid != old.egid && !cap {
            return Err(Errno::EPERM);
        }
        c.gid = rgid;
    }
    if egid != INVALID_ID {
        if egid != old.gid && egid != old.egid && egid != old.sgid && !cap {
            return Err(Errno::EPERM);
        }
        c.egid = egid;
    }
    if rgid != INVALID_ID || (egid != INVALID_ID && egid != old.gid) {
        c.sgid = c.egid;
    }
    c.fsgid = c.egid;
    Ok(())
}

pub fn setresuid(c: &mut Creds, sb: u32, r: u32, e: u32, s: u32) -> Result<(), Errno> {
    let old = c.clone();
    if !old.has_cap(CAP_SETUID) {
        let ok = |id: u32| id == INVALID_ID || id == old.uid || id == old.euid || id == old.suid;
        if !ok(r) || !ok(e) || !ok(s) {
            return Err(Errno::EPERM);
        }
    }
    if r != INVALID_ID {
        c.uid = r;
    }
    if e != INVALID_ID {
        c.euid = e;
    }
    if s != INVALID_ID {
        c.suid = s;
    }
    c.fsuid = c.euid;
    fix_setuid(c, &old, sb);
    Ok(())
}

pub fn setresgid(c: &mut Creds, r: u32, e: u32, s: u32) -> Result<(), Errno> {
    if !c.has_cap(CAP_SETGID) {
        let ok = |id: u32| id == INVALID_ID || id == c.gid || id == c.egid || id == c.sgid;
        if !ok(r) || !ok(e) || !ok(s) {
            return Err(Errno::EPERM);
        }
    }
    if r != INVALID_ID {
        c.gid = r;
    }
    if e != INVALID_ID {
        c.egid = e;
    }
    if s != INVALID_ID {
        c.sgid = s;
    }
    c.fsgid = c.egid;
    Ok(())
}

/// setfsuid: returns the old fsuid whether or not the change happened.
pub fn setfsuid(c: &mut Creds, sb: u32, uid: u32) -> u32 {
    let old_fsuid = c.fsuid;
    if uid == INVALID_ID {
        return old_fsuid;
    }
    let old = c.clone();
    if uid != old.fsuid
        && (uid == old.uid || uid == old.euid || uid == old.suid || old.has_cap(CAP_SETUID))
    {
        c.fsuid = uid;
        fix_setfsuid(c, &old, sb);
    }
    old_fsuid
}

pub fn setfsgid(c: &mut Creds, gid: u32) -> u32 {
    let old_fsgid = c.fsgid;
    if gid == INVALID_ID {
        return old_fsgid;
    }
    if gid != c.fsgid && (gid == c.gid || gid == c.egid || gid == c.sgid || c.has_cap(CAP_SETGID)) {
        c.fsgid = gid;
    }
    old_fsgid
}

fn getgroups(t: &Task, size: i32, list: u64) -> SysResult {
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let groups = t.creds().groups;
    if size != 0 {
        if groups.len() > size as usize {
            return Err(Errno::EINVAL);
        }
        let mut b = Vec::with_capacity(groups.len() * 4);
        for g in &groups {
            b.extend_from_slice(&g.to_ne_bytes());
        }
        t.write_mem(list, &b)?;
    }
    Ok(groups.len() as u64)
}

fn setgroups(t: &Task, size: i32, list: u64) -> SysResult {
    if !t.creds().has_cap(CAP_SETGID) {
        return Err(Errno::EPERM);
    }
    if size as u32 > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let n = size as usize;
    let mut b = vec![0u8; n * 4];
    t.read_mem(list, &mut b)?;
    let mut groups: Vec<u32> = b
        .chunks_exact(4)
        .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // Linux keeps the list sorted (groups_sort), and getgroups reports it so.
    groups.sort_unstable();
    t.tg.lock().creds.groups = groups;
    Ok(0)
}

// ---------------------------------------------------------------------------------------------
// Capabilities

/// Checks the header's version; on a bad one writes the preferred version back and fails
/// with EINVAL, as Linux's cap_validate_magic. Returns the number of data structs.
fn cap_validate(t: &Task, hdr: u64) -> Result<usize, Errno> {
    let version: u32 = t.read_val(hdr)?;
    match version {
        CAP_V1 => Ok(1),
        CAP_V2 | CAP_V3 => Ok(2),
        _ => {
            t.write_val(hdr, &CAP_V3)?;
            Err(Errno::EINVAL)
        }
    }
}

fn capget(t: &Task, hdr: u64, data: u64) -> SysResult {
    let r = cap_validate(t, hdr);
    if data == 0 || r.is_err() {
        return match r {
            Err(Errno::EINVAL) if data == 0 => Ok(0),
            Err(e) => Err(e),
            Ok(_) => Ok(0),
        };
    }
    let n = r?;
    let pid: i32 = t.read_val(hdr.checked_add(4).ok_or(Errno::EFAULT)?)?;
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let c = if pid == 0 || pid == t.tid {
        t.creds()
    } else {
        let other = kernel()
            .procs
            .lock()
            .unwrap()
            .task(pid)
            .ok_or(Errno::ESRCH)?;
        other.creds()
    };
    let mut out = Vec::with_capacity(24);
    for i in 0..n {
        let sh = 32 * i;
        for v in [c.cap_effective, c.cap_permitted, c.cap_inheritable] {
            out.extend_from_slice(&((v >> sh) as u32).to_ne_bytes());
        }
    }
    t.write_mem(data, &out)?;
    Ok(0)
}

fn capset(t: &Task, hdr: u64, data: u64) -> SysResult {
    let n = cap_validate(t, hdr)?;
    let pid: i32 = t.read_val(hdr.checked_add(4).ok_or(Errno::EFAULT)?)?;
    if pid != 0 && pid != t.tid {
        return Err(Errno::EPERM);
    }
    let mut b = vec![0u8; 12 * n];
    t.read_mem(data, &mut b)?;
    let word =
        |i: usize| u32::from_ne_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]) as u64;
    let (mut e, mut p, mut inh) = (word(0), word(1), word(2));
    if n == 2 {
        e |= word(3) << 32;
        p |= word(4) << 32;
        inh |= word(5) << 32;
    }
    let mut g = t.tg.lock();
    let mut c = g.creds.clone();
    apply_capset(
        &mut c,
        e & CAP_VALID_MASK,
        p & CAP_VALID_MASK,
        inh & CAP_VALID_MASK,
    )?;
    g.creds = c;
    Ok(0)
}

/// cap_capset: the new sets must stay within what the old ones allow.
pub fn apply_capset(c: &mut Creds, e: u64, p: u64, inh: u64) -> Result<(), Errno> {
    let subset = |a: u64, b: u64| a & !b == 0;
    // Without CAP_SETPCAP, new inheritable bits must come from the permitted set.
    if !c.has_cap(CAP_SETPCAP) && !subset(inh, c.cap_inheritable | c.cap_permitted) {
        return Err(Errno::EPERM);
    }
    if !subset(inh, c.cap_inheritable | c.cap_bounding) {
        return Err(Errno::EPERM);
    }
    if !subset(p, c.cap_permitted) {
        return Err(Errno::EPERM);
    }
    if !subset(e, p) {
        return Err(Errno::EPERM);
    }
    c.cap_effective = e;
    c.cap_permitted = p;
    c.cap_inheritable = inh;
    c.cap_ambient &= p & inh;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32) -> Creds {
        Creds {
            uid,
            euid: uid,
            suid: uid,
            fsuid: uid,
            gid: uid,
            egid: uid,
            sgid: uid,
            fsgid: uid,
            ..Default::default()
        }
    }

    #[test]
    fn root_setuid_drops_all_caps() {
        let mut c = Creds::root();
        setuid(&mut c, 0, 1000).unwrap();
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (1000, 1000, 1000, 1000));
        assert_eq!(c.cap_effective, 0);
        assert_eq!(c.cap_permitted, 0);
        assert_ne!(c.cap_bounding, 0);
        // No way back.
        assert_eq!(setuid(&mut c, 0, 0), Err(Errno::EPERM));
        assert_eq!(setuid(&mut c, 0, u32::MAX), Err(Errno::EINVAL));
    }

    #[test]
    fn keep_caps_keeps_permitted_but_clears_effective() {
        let mut c = Creds::root();
        let all = c.cap_permitted;
        setuid(&mut c, SECBIT_KEEP_CAPS, 1000).unwrap();
        assert_eq!(c.cap_permitted, all);
        assert_eq!(c.cap_effective, 0);
    }

    #[test]
    fn seteuid_round_trip_restores_effective() {
        let mut c = Creds::root();
        let all = c.cap_permitted;
        setresuid(&mut c, 0, INVALID_ID, 1000, INVALID_ID).unwrap();
        assert_eq!((c.uid, c.euid, c.suid), (0, 1000, 0));
        assert_eq!(c.cap_effective, 0);
        assert_eq!(c.cap_permitted, all);
        // Without CAP_SETUID in effect, euid may go back to the real/saved uid.
        setresuid(&mut c, 0, INVALID_ID, 0, INVALID_ID).unwrap();
        assert_eq!(c.cap_effective, all);
    }

    #[test]
    fn unprivileged_rules() {
        let mut c = user(1000);
        c.suid = 2000;
        assert_eq!(setuid(&mut c, 0, 3000), Err(Errno::EPERM));
        setuid(&mut c, 0, 2000).unwrap();
        assert_eq!((c.uid, c.euid, c.suid), (1000, 2000, 2000));
        assert_eq!(setreuid(&mut c, 0, 3000, INVALID_ID), Err(Errno::EPERM));
        // Swap real and effective; saved follows the new effective.
        setreuid(&mut c, 0, 2000, 1000).unwrap();
        assert_eq!((c.uid, c.euid, c.suid, c.fsuid), (2000, 1000, 1000, 1000));
        assert_eq!(
            setresgid(&mut c, 5, INVALID_ID, INVALID_ID),
            Err(Errno::EPERM)
        );
        assert_eq!(setgid(&mut c, 5), Err(Errno::EPERM));
    }

    #[test]
    fn fsuid_rules() {
        let mut c = Creds::root();
        assert_eq!(setfsuid(&mut c, 0, 5), 0);
        assert_eq!(c.fsuid, 5);
        assert_eq!(c.cap_effective & CAP_FS_MASK, 0);
        assert_ne!(c.cap_effective & (1 << CAP_SETUID), 0);
        assert_eq!(setfsuid(&mut c, 0, INVALID_ID), 5);
        assert_eq!(setfsuid(&mut c, 0, 0), 5);
        assert_eq!(c.cap_effective & CAP_FS_MASK, CAP_FS_MASK);
        let mut u = user(1000);
        assert_eq!(setfsuid(&mut u, 0, 0), 1000);
        assert_eq!(u.fsuid, 1000);
        assert_eq!(setfsgid(&mut u, 7), 1000);
        assert_eq!(u.fsgid, 1000);
    }

    #[test]
    fn capset_rules() {
        let mut c = Creds::root();
        let p = c.cap_permitted;
        // Effective must be within the new permitted set.
        assert_eq!(apply_capset(&mut c, 1 << 5, 1 << 4, 0), Err(Errno::EPERM));
        apply_capset(&mut c, 1 << 4, (1 << 4) | (1 << 6), 1 << 6).unwrap();
        assert_eq!(c.cap_effective, 1 << 4);
        // Permitted can only shrink.
        assert_eq!(apply_capset(&mut c, 0, p, 0), Err(Errno::EPERM));
        // Without CAP_SETPCAP, inheritable only from permitted ∪ inheritable.
        assert_eq!(apply_capset(&mut c, 0, 1 << 4, 1 << 9), Err(Errno::EPERM));
    }
}
