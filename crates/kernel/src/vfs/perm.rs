//! Permission checks against the kernel's emulated credentials (Linux's
//! generic_permission with CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH / CAP_FOWNER).

use super::{mode, Stat};
use crate::task::Creds;
use abi::Errno;

pub const MAY_EXEC: u32 = 1;
pub const MAY_WRITE: u32 = 2;
pub const MAY_READ: u32 = 4;

const CAP_CHOWN: u32 = 0;
const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_FOWNER: u32 = 3;
const CAP_FSETID: u32 = 4;

pub fn in_group(c: &Creds, gid: u32) -> bool {
    c.fsgid == gid || c.groups.contains(&gid)
}

/// May `c` access a file with attributes `st` for `mask` (MAY_*)? EACCES if not.
pub fn check(c: &Creds, st: &Stat, mask: u32) -> Result<(), Errno> {
    let m = st.mode;
    let bits = if c.fsuid == st.uid {
        (m >> 6) & 7
    } else if in_group(c, st.gid) {
        (m >> 3) & 7
    } else {
        m & 7
    };
    if bits & mask == mask {
        return Ok(());
    }
    let is_dir = mode::is_dir(m);
    if c.has_cap(CAP_DAC_OVERRIDE) {
        // Root may read and write anything, and execute what some x bit allows.
        if mask & MAY_EXEC == 0 || is_dir || m & 0o111 != 0 {
            return Ok(());
        }
    }
    if c.has_cap(CAP_DAC_READ_SEARCH) && mask & MAY_WRITE == 0 && (mask == MAY_READ || is_dir) {
        return Ok(());
    }
    Err(Errno::EACCES)
}

/// Owner or CAP_FOWNER: may chmod, utimes to arbitrary times, etc. EPERM if not.
pub fn owner_or_cap(c: &Creds, st: &Stat) -> Result<(), Errno> {
    if c.fsuid == st.uid || c.has_cap(CAP_FOWNER) {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// Sticky-directory rule for removing or replacing `victim` in `dir`.
pub fn sticky_ok(c: &Creds, dir: &Stat, victim: &Stat) -> Result<(), Errno> {
    if dir.mode & mode::S_ISVTX == 0
        || c.fsuid == dir.uid
        || c.fsuid == victim.uid
        || c.has_cap(CAP_FOWNER)
    {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}

/// chown permission: only CAP_CHOWN changes the owner; the owner may change the group
/// to one of its groups.
pub fn may_chown(c: &Creds, st: &Stat, uid: Option<u32>, gid: Option<u32>) -> Result<(), Errno> {
    if c.has_cap(CAP_CHOWN) {
        return Ok(());
    }
    let owner = c.fsuid == st.uid;
    if let Some(u) = uid {
        if !(owner && u == st.uid) {
            return Err(Errno::EPERM);
        }
    }
    if let Some(g) = gid {
        if !(owner && (g == st.gid || in_group(c, g))) {
            return Err(Errno::EPERM);
        }
    }
    Ok(())
}

/// chmod by a non-member of the file's group without CAP_FSETID clears S_ISGID.
pub fn chmod_mode(c: &Creds, st: &Stat, m: u32) -> u32 {
    let mut m = m & 0o7777;
    if m & mode::S_ISGID != 0 && !in_group(c, st.gid) && !c.has_cap(CAP_FSETID) {
        m &= !mode::S_ISGID;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32) -> Creds {
        Creds {
            uid,
            euid: uid,
            fsuid: uid,
            gid: uid,
            egid: uid,
            fsgid: uid,
            ..Default::default()
        }
    }

    #[test]
    fn owner_group_other() {
        let st = Stat {
            mode: mode::S_IFREG | 0o640,
            uid: 1,
            gid: 2,
            ..Default::default()
        };
        assert!(check(&user(1), &st, MAY_READ | MAY_WRITE).is_ok());
        assert_eq!(check(&user(1), &st, MAY_EXEC), Err(Errno::EACCES));
        let mut g = user(5);
        g.groups = vec![2];
        assert!(check(&g, &st, MAY_READ).is_ok());
        assert_eq!(check(&g, &st, MAY_WRITE), Err(Errno::EACCES));
        assert_eq!(check(&user(9), &st, MAY_READ), Err(Errno::EACCES));
    }

    #[test]
    fn root_overrides_but_needs_an_x_bit() {
        let r = Creds::root();
        let st = Stat {
            mode: mode::S_IFREG | 0o000,
            uid: 1,
            gid: 1,
            ..Default::default()
        };
        assert!(check(&r, &st, MAY_READ | MAY_WRITE).is_ok());
        assert_eq!(check(&r, &st, MAY_EXEC), Err(Errno::EACCES));
        let x = Stat {
            mode: mode::S_IFREG | 0o001,
            ..st.clone()
        };
        assert!(check(&r, &x, MAY_EXEC).is_ok());
        let d = Stat {
            mode: mode::S_IFDIR,
            ..st
        };
        assert!(check(&r, &d, MAY_EXEC).is_ok());
    }
}
