//! System V IPC and POSIX message queue syscalls (the work is in `crate::ipc`).

use crate::ipc::{mqueue, msg, sem, shm};
use crate::task::{SysResult, Task};
use abi::sysno as nr;

pub fn dispatch(t: &Task, n: u64, a: &[u64; 6]) -> Option<SysResult> {
    Some(match n {
        nr::SHMGET => shm::shmget(t, a[0] as i32, a[1], a[2] as i32),
        nr::SHMAT => shm::shmat(t, a[0] as i32, a[1], a[2] as i32 as u64),
        nr::SHMDT => shm::shmdt(t, a[0]),
        nr::SHMCTL => shm::shmctl(t, a[0] as i32, a[1] as i32, a[2]),
        nr::SEMGET => sem::semget(t, a[0] as i32, a[1] as i32, a[2] as i32),
        nr::SEMOP => sem::semtimedop(t, a[0] as i32, a[1], a[2] as u32, 0),
        nr::SEMTIMEDOP => sem::semtimedop(t, a[0] as i32, a[1], a[2] as u32, a[3]),
        nr::SEMCTL => sem::semctl(t, a[0] as i32, a[1] as i32, a[2] as i32, a[3]),
        nr::MSGGET => msg::msgget(t, a[0] as i32, a[1] as i32),
        nr::MSGSND => msg::msgsnd(t, a[0] as i32, a[1], a[2], a[3] as i32),
        nr::MSGRCV => msg::msgrcv(t, a[0] as i32, a[1], a[2], a[3] as i64, a[4] as i32),
        nr::MSGCTL => msg::msgctl(t, a[0] as i32, a[1] as i32, a[2]),
        nr::MQ_OPEN => mqueue::mq_open(t, a[0], a[1] as i32, a[2] as u32 & 0xffff, a[3]),
        nr::MQ_UNLINK => mqueue::mq_unlink(t, a[0]),
        nr::MQ_TIMEDSEND => mqueue::mq_timedsend(t, a[0] as i32, a[1], a[2], a[3] as u32, a[4]),
        nr::MQ_TIMEDRECEIVE => mqueue::mq_timedreceive(t, a[0] as i32, a[1], a[2], a[3], a[4]),
        nr::MQ_NOTIFY => mqueue::mq_notify(t, a[0] as i32, a[1]),
        nr::MQ_GETSETATTR => mqueue::mq_getsetattr(t, a[0] as i32, a[1], a[2]),
        _ => return None,
    })
}

pub fn compat() -> &'static [(u64, &'static str)] {
    &[
        (nr::SHMGET, "partial: SHM_HUGETLB fails with ENOMEM (no huge pages, as Linux without them)"),
        (nr::SHMAT, ""),
        (nr::SHMDT, ""),
        (
            nr::SHMCTL,
            "partial: SHM_LOCK/SHM_UNLOCK only mark the segment (memory is never swapped); shm_atime/shm_lpid are not updated by fork, nor shm_dtime by munmap",
        ),
        (nr::SEMGET, ""),
        (nr::SEMOP, ""),
        (nr::SEMTIMEDOP, ""),
        (nr::SEMCTL, ""),
        (nr::MSGGET, ""),
        (nr::MSGSND, ""),
        (nr::MSGRCV, ""),
        (nr::MSGCTL, ""),
        (nr::MQ_OPEN, ""),
        (nr::MQ_UNLINK, ""),
        (nr::MQ_TIMEDSEND, ""),
        (nr::MQ_TIMEDRECEIVE, ""),
        (
            nr::MQ_NOTIFY,
            "partial: SIGEV_THREAD needs a netlink socket, which the sandbox lacks (fails as Linux does for a descriptor that is not one)",
        ),
        (nr::MQ_GETSETATTR, ""),
    ]
}
