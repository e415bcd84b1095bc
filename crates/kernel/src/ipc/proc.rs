//! The IPC namespace's files under /proc: /proc/sysvipc/{shm,sem,msg} (what ipcs reads) and
//! the namespace's sysctls in /proc/sys/kernel and /proc/sys/fs/mqueue, writable by whoever
//! may open them for writing (root in the sandbox), with Linux's ranges.

use super::{ipc, lock, IPCMNI};
use crate::task::Task;
use crate::vfs::mode;
use abi::Errno;

/// The paths (relative to /proc) of every IPC file, for procfs's listing.
pub const PATHS: &[&str] = &[
    "sys/fs/mqueue/msg_default",
    "sys/fs/mqueue/msg_max",
    "sys/fs/mqueue/msgsize_default",
    "sys/fs/mqueue/msgsize_max",
    "sys/fs/mqueue/queues_max",
    "sys/kernel/msgmax",
    "sys/kernel/msgmnb",
    "sys/kernel/msgmni",
    "sys/kernel/sem",
    "sys/kernel/shmall",
    "sys/kernel/shmmax",
    "sys/kernel/shmmni",
    "sysvipc/msg",
    "sysvipc/sem",
    "sysvipc/shm",
];

/// The mode of an IPC file, None for other paths.
pub fn proc_mode(p: &str) -> Option<u32> {
    if !PATHS.contains(&p) {
        return None;
    }
    Some(if p.starts_with("sysvipc/") {
        mode::S_IFREG | 0o444
    } else {
        mode::S_IFREG | 0o644
    })
}

fn line(vals: &[i64]) -> Vec<u8> {
    let v: Vec<String> = vals.iter().map(|x| x.to_string()).collect();
    format!("{}\n", v.join("\t")).into_bytes()
}

/// The contents of an IPC file, None for other paths.
pub fn proc_read(p: &str) -> Option<Vec<u8>> {
    let i = ipc();
    Some(match p {
        "sysvipc/shm" => super::shm::proc_text().into_bytes(),
        "sysvipc/sem" => super::sem::proc_text().into_bytes(),
        "sysvipc/msg" => super::msg::proc_text().into_bytes(),
        "sys/kernel/shmmax" => format!("{}\n", lock(&i.shm).ctlmax).into_bytes(),
        "sys/kernel/shmall" => format!("{}\n", lock(&i.shm).ctlall).into_bytes(),
        "sys/kernel/shmmni" => line(&[lock(&i.shm).ctlmni as i64]),
        "sys/kernel/sem" => {
            let c = lock(&i.sem).ctls;
            line(&c.map(|x| x as i64))
        }
        "sys/kernel/msgmax" => line(&[lock(&i.msg).ctlmax as i64]),
        "sys/kernel/msgmnb" => line(&[lock(&i.msg).ctlmnb as i64]),
        "sys/kernel/msgmni" => line(&[lock(&i.msg).ctlmni as i64]),
        _ => {
            let l = lock(&i.mq.limits);
            line(&[match p {
                "sys/fs/mqueue/msg_default" => l.msg_default,
                "sys/fs/mqueue/msg_max" => l.msg_max,
                "sys/fs/mqueue/msgsize_default" => l.msgsize_default,
                "sys/fs/mqueue/msgsize_max" => l.msgsize_max,
                "sys/fs/mqueue/queues_max" => l.queues_max,
                _ => return None,
            } as i64])
        }
    })
}

/// Parses what proc_dointvec accepts: integers (decimal, 0x hex, 0 octal, optional minus)
/// separated by white space; EINVAL for anything else or no number at all.
fn parse(data: &[u8]) -> Result<Vec<(bool, u64)>, Errno> {
    let text = std::str::from_utf8(data).map_err(|_| Errno::EINVAL)?;
    let mut out = Vec::new();
    for tok in text.split_ascii_whitespace() {
        let (neg, digits) = match tok.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, tok),
        };
        let v = if let Some(h) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            u64::from_str_radix(h, 16)
        } else if digits.len() > 1 && digits.starts_with('0') {
            u64::from_str_radix(&digits[1..], 8)
        } else {
            digits.parse::<u64>()
        };
        out.push((neg, v.map_err(|_| Errno::EINVAL)?));
    }
    if out.is_empty() {
        return Err(Errno::EINVAL);
    }
    Ok(out)
}

/// An int within [min, max].
fn int_in(v: (bool, u64), min: i64, max: i64) -> Result<i32, Errno> {
    let x = if v.0 {
        -(v.1.min(1 << 40) as i64)
    } else {
        v.1.min(1 << 40) as i64
    };
    if x < min || x > max {
        return Err(Errno::EINVAL);
    }
    Ok(x as i32)
}

/// Writes an IPC sysctl; None for other paths.
pub fn proc_write(p: &str, _t: &Task, data: &[u8]) -> Option<Result<usize, Errno>> {
    if !PATHS.contains(&p) || p.starts_with("sysvipc/") {
        return None;
    }
    let r = (|| -> Result<(), Errno> {
        let vals = parse(data)?;
        let v = vals[0];
        let i = ipc();
        const INT_MAX: i64 = i32::MAX as i64;
        const INT_MIN: i64 = i32::MIN as i64;
        match p {
            "sys/kernel/shmmax" | "sys/kernel/shmall" => {
                if v.0 {
                    return Err(Errno::EINVAL);
                }
                let mut ns = lock(&i.shm);
                if p.ends_with("shmmax") {
                    ns.ctlmax = v.1;
                } else {
                    ns.ctlall = v.1;
                }
            }
            "sys/kernel/shmmni" => lock(&i.shm).ctlmni = int_in(v, 0, IPCMNI as i64)? as u32,
            "sys/kernel/msgmax" => lock(&i.msg).ctlmax = int_in(v, 0, INT_MAX)?,
            "sys/kernel/msgmnb" => lock(&i.msg).ctlmnb = int_in(v, 0, INT_MAX)?,
            "sys/kernel/msgmni" => lock(&i.msg).ctlmni = int_in(v, 0, IPCMNI as i64)?,
            "sys/kernel/sem" => {
                let mut new = lock(&i.sem).ctls;
                for (slot, &x) in new.iter_mut().zip(vals.iter()) {
                    *slot = int_in(x, INT_MIN, INT_MAX)?;
                }
                // sem_check_semmni
                if !(0..=IPCMNI as i32).contains(&new[3]) {
                    return Err(Errno::ERANGE);
                }
                lock(&i.sem).ctls = new;
            }
            _ => {
                let mut l = lock(&i.mq.limits);
                let (slot, min, max) = match p {
                    "sys/fs/mqueue/msg_default" => (&mut l.msg_default, 1, 65536),
                    "sys/fs/mqueue/msg_max" => (&mut l.msg_max, 1, 65536),
                    "sys/fs/mqueue/msgsize_default" => (&mut l.msgsize_default, 128, 16 << 20),
                    "sys/fs/mqueue/msgsize_max" => (&mut l.msgsize_max, 128, 16 << 20),
                    _ => (&mut l.queues_max, INT_MIN, INT_MAX),
                };
                *slot = int_in(v, min, max)?;
            }
        }
        Ok(())
    })();
    Some(r.map(|_| data.len()))
}
