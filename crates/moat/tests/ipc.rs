//! System V IPC and POSIX message queues (tests/c/ipc.c): shared memory (attach rules,
//! attach counts across fork, exec and exit, deferred removal, /proc/PID/maps), semaphores
//! (blocking, FIFO wake-ups, EINTR, timeouts, SEM_UNDO at exit), message queues (types,
//! MSG_COPY, blocking senders and receivers, signals, removal), mq_* with the mqueue file
//! system and notifications, permissions, limits and sysctls, and `ipcs` output.
#[macro_use]
mod common;
use common::{c_prog, cmd, diff_c, Variant};

c_cases!("ipc", Variant::Static;
    shm_basic, shm_keys, shm_flags, shm_maps, shm_fork_exit, shm_exec, shm_rmid_deferred,
    shm_pieces, shm_perms, shm_ctl, shm_sysctl,
    sem_basic, sem_errors, sem_block, sem_signal, sem_undo, sem_perms, sem_info,
    msg_basic, msg_copy, msg_block, msg_signal, msg_ctl,
    mq_basic, mq_errors, mq_files, mq_notify_case, mq_block, mq_poll, mq_limits);

mod dynamic {
    c_cases!("ipc", crate::common::Variant::Dynamic; shm_basic, sem_undo, msg_basic, mq_basic);
}

/// util-linux's ipcs reads /proc/sysvipc and the IPC sysctls.
#[test]
fn ipcs_output() {
    common::require("/usr/bin/ipcs");
    diff_c("ipc", Variant::Static, "ipcs_output");
}

/// --strace decodes the IPC calls' arguments.
#[test]
fn strace_ipc_calls() {
    let prog = c_prog("ipc", Variant::Static);
    let r = cmd(&[prog.to_str().unwrap(), "sem_basic"])
        .moat_flag("--strace")
        .moat();
    r.expect_status(0);
    let e = r.stderr_str();
    for want in [
        "semget(IPC_PRIVATE, 3, IPC_CREAT|0640) = 0",
        "semctl(0, 1, SETVAL, 0x5) = 0",
        "semtimedop(0, [{sem_num=2, sem_op=4, sem_flg=0}], 1, NULL) = 0",
        "semctl(0, 0, IPC_RMID, 0) = 0",
    ] {
        assert!(e.contains(want), "missing {want:?}\n{}", r.describe());
    }
    let r = cmd(&[prog.to_str().unwrap(), "mq_basic"])
        .moat_flag("--strace")
        .moat();
    r.expect_status(0);
    let e = r.stderr_str();
    for want in [
        "mq_open(\"basic\", O_RDWR|O_CREAT, 0640, {mq_flags=0, mq_maxmsg=4, mq_msgsize=64, mq_curmsgs=0}) = 3",
        "mq_timedsend(3, \"low\", 3, 1, NULL) = 0",
        "mq_unlink(\"basic\") = 0",
    ] {
        assert!(e.contains(want), "missing {want:?}\n{}", r.describe());
    }
}
