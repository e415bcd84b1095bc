//! Diagnostics: `--strace` prints each syscall like strace (name, decoded
//! arguments, result or errno name), one line each; `--debug` and
//! `--debug-log=PATH` write a log without disturbing the program's output.
mod common;
use common::{cmd, fresh_dir};

#[test]
fn strace_names_calls_and_errors() {
    let missing = "/nonexistent-moat-strace-test";
    let r = cmd(&["/bin/cat", missing]).moat_flag("--strace").moat();
    r.expect_status(1);
    let e = r.stderr_str();
    assert!(
        e.lines()
            .any(|l| l.contains(missing) && l.contains("ENOENT") && l.contains("open")),
        "an open(at) line with the path and ENOENT\n{}",
        r.describe()
    );
    assert!(
        e.lines().any(|l| l.contains("exit_group(1)")),
        "an exit_group(1) line\n{}",
        r.describe()
    );
    assert!(r.stdout.is_empty(), "{}", r.describe());
}

#[test]
fn strace_keeps_program_output_intact() {
    let r = cmd(&["/bin/echo", "hello"]).moat_flag("--strace").moat();
    r.expect_status(0);
    assert_eq!(common::s(&r.stdout), "hello\n", "{}", r.describe());
    assert!(
        r.stderr_str()
            .lines()
            .any(|l| l.starts_with("write(1") || l.contains(" write(1")),
        "{}",
        r.describe()
    );
}

#[test]
fn debug_log_to_file() {
    let d = fresh_dir("debuglog");
    let log = d.join("moat.log");
    let r = cmd(&["/bin/echo", "hello"])
        .moat_flag("--debug")
        .moat_flag(format!("--debug-log={}", log.display()))
        .moat();
    r.expect_status(0);
    assert_eq!(common::s(&r.stdout), "hello\n", "{}", r.describe());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !text.is_empty(),
        "{} should hold a log\n{}",
        log.display(),
        r.describe()
    );
}

#[test]
fn debug_keeps_exit_status() {
    let r = cmd(&["/bin/sh", "-c", "exit 3"])
        .moat_flag("--debug")
        .moat();
    r.expect_status(3);
}
