//! docs/compatibility.md must say what the kernel's syscall tables say.

#[test]
fn compatibility_doc_is_current() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_moat"))
        .arg("syscalls")
        .output()
        .expect("run moat syscalls");
    assert!(out.status.success());
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/compatibility.md"
    ))
    .expect("read docs/compatibility.md");
    assert!(
        doc.starts_with(std::str::from_utf8(&out.stdout).unwrap()),
        "docs/compatibility.md is stale: regenerate it with `moat syscalls > docs/compatibility.md` (then keep any notes below the table)"
    );
}
