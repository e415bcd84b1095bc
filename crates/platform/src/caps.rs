//! Host capabilities of the calling thread (capabilities are per thread on Linux: every
//! thread that must lose them drops them itself, or is created by one that already has).
//!
//! Only raw system calls, no allocation: safe between fork and the stub's first stop.

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_V3: u32 = 0x2008_0522;
/// Bounding-set entries probed (Linux has 41 today; PR_CAPBSET_DROP of an unknown one
/// fails with EINVAL, which is harmless).
const CAP_PROBE: u64 = 64;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Limits the calling thread to the capabilities in `keep` (a mask of `1 << CAP_*`):
/// every other one leaves the bounding set (which needs CAP_SETPCAP, so this must happen
/// before it goes), the ambient set is cleared, and effective = permitted = `keep`,
/// inheritable = 0. Returns the errno of the first step that failed.
///
/// # Safety
/// Changes the credentials of the calling thread only; callers decide which threads.
pub unsafe fn limit(keep: u64) -> Result<(), i32> {
    for cap in 0..CAP_PROBE {
        if keep & (1 << cap) == 0
            && libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0
        {
            let e = *libc::__errno_location();
            if e != libc::EINVAL {
                return Err(e);
            }
        }
    }
    if libc::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL,
        0,
        0,
        0,
    ) != 0
    {
        return Err(*libc::__errno_location());
    }
    let mut hdr = CapHeader {
        version: CAP_V3,
        pid: 0,
    };
    let lo = keep as u32;
    let hi = (keep >> 32) as u32;
    let data = [
        CapData {
            effective: lo,
            permitted: lo,
            inheritable: 0,
        },
        CapData {
            effective: hi,
            permitted: hi,
            inheritable: 0,
        },
    ];
    if libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) != 0 {
        return Err(*libc::__errno_location());
    }
    Ok(())
}

/// Sets no_new_privs on the calling thread (inherited by threads and children it makes).
///
/// # Safety
/// A plain prctl on the calling thread.
pub unsafe fn no_new_privs() -> Result<(), i32> {
    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
        return Err(*libc::__errno_location());
    }
    Ok(())
}
