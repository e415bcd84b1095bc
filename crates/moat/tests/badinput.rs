//! Bad input to `moat do` itself: a missing or non-executable CMD gets the
//! status a shell gives (127, 126) and a message naming CMD; usage errors
//! fail cleanly; arguments after CMD belong to CMD.
mod common;
use common::{cmd, Run, MOAT};

fn moat(args: &[&str]) -> Run {
    cmd(&{
        let mut v = vec![MOAT];
        v.extend_from_slice(args);
        v
    })
    .native()
}

fn assert_message(r: &Run, name: &str, any_of: &[&str]) {
    let e = r.stderr_str();
    assert!(
        e.contains(name),
        "stderr should name {name:?}\n{}",
        r.describe()
    );
    assert!(
        any_of.iter().any(|m| e.contains(m)),
        "stderr should say one of {any_of:?}\n{}",
        r.describe()
    );
    assert!(r.stdout.is_empty(), "nothing on stdout\n{}", r.describe());
}

#[test]
fn missing_command_by_path_is_127() {
    let r = moat(&["do", "/nonexistent/dir/cmd"]);
    r.expect_status(127);
    assert_message(&r, "/nonexistent/dir/cmd", &["not found", "No such file"]);
}

#[test]
fn missing_command_on_path_is_127() {
    let r = moat(&["do", "moat-no-such-command-xyz"]);
    r.expect_status(127);
    assert_message(&r, "moat-no-such-command-xyz", &["not found"]);
}

#[test]
fn empty_command_is_127() {
    moat(&["do", ""]).expect_status(127);
}

#[test]
fn non_executable_file_is_126() {
    let r = moat(&["do", "/etc/passwd"]);
    r.expect_status(126);
    assert_message(&r, "/etc/passwd", &["Permission denied"]);
}

#[test]
fn directory_is_126() {
    let r = moat(&["do", "/usr"]);
    r.expect_status(126);
    assert_message(&r, "/usr", &["Is a directory", "Permission denied"]);
}

#[test]
fn non_executable_found_on_path_is_126() {
    let d = common::fresh_dir("noexec-path");
    std::fs::write(d.join("moat-noexec-cmd"), "#!/bin/sh\necho hi\n").unwrap();
    let r = cmd(&[MOAT, "do", "moat-noexec-cmd"])
        .env("PATH", format!("{}:/usr/bin:/bin", d.display()))
        .native();
    r.expect_status(126);
    assert_message(&r, "moat-noexec-cmd", &["Permission denied"]);
}

#[test]
fn no_command_is_a_usage_error() {
    let r = moat(&["do"]);
    r.expect_finished();
    assert!(
        r.status != 0 && r.status != 126 && r.status != 127,
        "{}",
        r.describe()
    );
    assert!(
        !r.stderr.is_empty(),
        "a usage message on stderr\n{}",
        r.describe()
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let r = moat(&["do", "--no-such-flag", "/bin/true"]);
    r.expect_finished();
    assert!(r.status != 0, "{}", r.describe());
    assert!(r.stderr_str().contains("no-such-flag"), "{}", r.describe());
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let r = moat(&["no-such-subcommand"]);
    r.expect_finished();
    assert!(r.status != 0 && !r.stderr.is_empty(), "{}", r.describe());
}

/// Everything after CMD is CMD's, even when it looks like a moat flag.
#[test]
fn flags_after_command_belong_to_it() {
    let r = moat(&["do", "/bin/echo", "--strace", "--debug", "-x"]);
    r.expect_status(0);
    assert_eq!(
        common::s(&r.stdout),
        "--strace --debug -x\n",
        "{}",
        r.describe()
    );
}

#[test]
fn double_dash_separates() {
    let r = moat(&["do", "--", "/bin/echo", "--", "x"]);
    r.expect_status(0);
    assert_eq!(common::s(&r.stdout), "-- x\n", "{}", r.describe());
}

#[test]
fn help_works() {
    let r = moat(&["do", "--help"]);
    r.expect_status(0);
    assert!(
        r.stdout_str().to_lowercase().contains("usage"),
        "{}",
        r.describe()
    );
}

/// A kernel panic ends the sandbox: logged with its backtrace, a non-zero status, and no
/// stub left behind holding anything (the harness fails a run whose pipes stay open).
#[test]
fn kernel_panic_ends_the_sandbox() {
    let r = cmd(&[
        MOAT,
        "do",
        "--",
        "/bin/sh",
        "-c",
        "echo before; exec /bin/true",
    ])
    .env("MOAT_TEST_PANIC_ON_SYSCALL", "59")
    .native();
    r.expect_finished();
    assert_eq!(r.status, 125, "{}", r.describe());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("kernel panic") && err.contains("test hook: syscall 59"),
        "{}",
        r.describe()
    );
    assert!(
        err.contains("backtrace") || err.contains("run_task"),
        "no backtrace\n{}",
        r.describe()
    );
    assert_eq!(String::from_utf8_lossy(&r.stdout), "before\n");
}
