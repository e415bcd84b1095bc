//! The ELF loader, initial stack, auxv, execve errors and #! scripts
//! (tests/c/loader.c), for static, static-PIE and dynamic executables.
#[macro_use]
mod common;
use common::{c_cmd, c_prog, cmd, diff_c_cmd, Variant};

mod static_elf {
    c_cases!("loader", crate::common::Variant::Static;
        auxv, stack, exec_args, e2big, enoexec, shebang, exec_dynamic);
}
mod static_pie {
    c_cases!("loader", crate::common::Variant::StaticPie; auxv, stack, exec_args, e2big, enoexec, shebang);
}
mod dynamic {
    c_cases!("loader", crate::common::Variant::Dynamic; auxv, stack, exec_args, shebang, exec_dynamic);
}

/// argv reaches the program unchanged: spaces, empty strings, non-ASCII,
/// many arguments, a long one.
#[test]
fn argv_passthrough() {
    let long = "x".repeat(100_000);
    let mut c = c_cmd("loader", Variant::Static, "print_args")
        .arg("two words")
        .arg("")
        .arg("ünïcödé")
        .arg("--flag-looking")
        .arg("-")
        .arg(&long);
    for i in 0..500 {
        c = c.arg(format!("a{i}"));
    }
    diff_c_cmd(
        c.env("MOAT_T_VAR", "some value with spaces")
            .env("MOAT_T_EMPTY", ""),
    );
}

/// The environment reaches the program unchanged and in order.
#[test]
fn env_passthrough() {
    diff_c_cmd(
        c_cmd("loader", Variant::Static, "print_env")
            .env_clear()
            .env("B", "2")
            .env("A", "1")
            .env("EMPTY", "")
            .env("WITH_EQUALS", "a=b=c")
            .env("PATH", "/usr/bin:/bin"),
    );
}

/// The inherited environment (as the test runner has it) passes through.
#[test]
fn env_inherited() {
    diff_c_cmd(c_cmd("loader", Variant::Dynamic, "print_env"));
}

/// An empty environment.
#[test]
fn env_empty() {
    diff_c_cmd(c_cmd("loader", Variant::Static, "print_env").env_clear());
}

/// CMD found through PATH, like a shell does: AT_EXECFN and argv[0].
#[test]
fn path_lookup() {
    let exe = c_prog("loader", Variant::Static);
    let dir = exe.parent().unwrap().to_owned();
    let name = exe.file_name().unwrap().to_owned();
    cmd(&[name.as_os_str(), std::ffi::OsStr::new("print_args")])
        .env(
            "PATH",
            format!("/nonexistent:{}:/usr/bin:/bin", dir.display()),
        )
        .diff();
}
