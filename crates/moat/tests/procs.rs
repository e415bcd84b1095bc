//! Processes: fork/vfork/clone, exec, wait family, sessions, futexes,
//! rlimits, identity (tests/c/procs.c), and exit statuses through moat.
#[macro_use]
mod common;
use common::{cmd, sh, Variant};

c_cases!("procs", Variant::Static;
    fork_tree, vfork_exec, clone_threads, thread_ids, clone3_case, wait_status, wait_nohang,
    waitid_nowait, waitid_pgid, wait_stop_cont, wait_clone, sigchld_info, sessions, futex_basic,
    futex_requeue, futex_shared, rlimits, rusage_times, uname_case, identity, sched_case,
    getrandom_case, prctl_case, arch_prctl_case, robust_list, exec_thread, exec_state, pdeathsig,
    enosys);

mod dynamic {
    c_cases!("procs", crate::common::Variant::Dynamic; fork_tree, exec_thread, futex_shared, wait_status);
}

#[test]
fn exit_status_zero() {
    cmd(&["/bin/true"]).diff().1.expect_status(0);
}

#[test]
fn exit_status_one() {
    cmd(&["/bin/false"]).diff().1.expect_status(1);
}

#[test]
fn exit_status_42() {
    sh("exit 42").diff().1.expect_status(42);
}

#[test]
fn exit_status_255() {
    sh("exit 255").diff().1.expect_status(255);
}

#[test]
fn killed_by_sigterm_is_143() {
    sh("kill -TERM $$").diff().1.expect_status(143);
}

#[test]
fn killed_by_sigkill_is_137() {
    sh("kill -KILL $$").diff().1.expect_status(137);
}

#[test]
fn killed_by_sigsegv_is_139() {
    sh("kill -SEGV $$").diff().1.expect_status(139);
}

/// stdout and stderr stay separate, in order, through the sandbox.
#[test]
fn stdout_and_stderr() {
    sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2; printf 'no newline'").diff();
}

/// stdin passes through: a megabyte through cat.
#[test]
fn stdin_passthrough() {
    let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i * 7 % 251) as u8).collect();
    let (_, m) = cmd(&["/bin/cat"]).stdin(data.clone()).diff();
    assert_eq!(m.stdout.len(), data.len());
}

/// stdin at EOF immediately (/dev/null).
#[test]
fn stdin_null() {
    sh("if read x; then echo got \"$x\"; else echo eof; fi").diff();
}

/// The caller's working directory is the sandbox's.
#[test]
fn cwd_passthrough() {
    let d = common::fresh_dir("cwd");
    std::fs::write(d.join("here.txt"), "here\n").unwrap();
    sh("pwd; cat here.txt; ls").cwd(&d).diff();
}

/// A large output is delivered whole.
#[test]
fn large_output() {
    sh("i=0; while [ $i -lt 20000 ]; do echo \"line $i of the output\"; i=$((i+1)); done").diff();
}
