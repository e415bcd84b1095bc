//! Random system calls with random arguments thrown at the kernel from
//! inside (tests/c/fuzz.c). The kernel must survive: the fuzzing parent
//! prints "survived" after its children are done, and the sandbox exits 0
//! with nothing left behind. Not differential: only moat runs it.
mod common;
use common::{c_prog, cmd, Cmd, Variant};

/// With `MOAT_TEST_WRAPPER` set the "sandbox" may be no sandbox at all (e.g.
/// `env`), so the fuzzer then also avoids calls that are only harmful when
/// run natively as root.
fn fuzz_cmd(v: Variant, seed: &str, children: &str, calls: &str) -> Cmd {
    let exe = c_prog("fuzz", v);
    let mut c = cmd(&[exe.as_os_str()]);
    if std::env::var_os("MOAT_TEST_WRAPPER").is_some() {
        c = c.arg("--native");
    }
    c.arg(seed).arg(children).arg(calls).timeout(600)
}

fn fuzz(seed: &str, children: &str, calls: &str) {
    let r = fuzz_cmd(Variant::Static, seed, children, calls).moat();
    r.expect_status(0);
    assert_eq!(common::s(&r.stdout), "survived\n", "{}", r.describe());
}

#[test]
fn random_syscalls_seed_1() {
    fuzz("1", "10", "2000");
}

#[test]
fn random_syscalls_seed_2() {
    fuzz("2", "10", "2000");
}

#[test]
fn random_syscalls_seed_3_dynamic() {
    let r = fuzz_cmd(Variant::Dynamic, "3", "5", "2000").moat();
    r.expect_status(0);
    assert_eq!(common::s(&r.stdout), "survived\n", "{}", r.describe());
}

/// After a fuzzing run, a fresh sandbox still works normally.
#[test]
fn sandbox_fine_after_fuzzing() {
    fuzz("4", "3", "1000");
    let r = cmd(&["/bin/echo", "still fine"]).moat();
    r.expect_status(0);
    assert_eq!(common::s(&r.stdout), "still fine\n");
}
