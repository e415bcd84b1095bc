//! Real clients drive moat: Docker and containerd (tests/integration/docker-containerd.sh).
//! Skipped, with a message, where dockerd, containerd or script(1) is not installed
//! (.ci/run installs them).

mod common;

#[test]
fn docker_and_containerd_run_moat() {
    let need = [
        "/usr/sbin/dockerd",
        "/usr/bin/docker",
        "/usr/bin/containerd",
        "/usr/bin/ctr",
        "/usr/bin/script",
    ];
    if let Some(missing) = need.iter().find(|p| !std::path::Path::new(p).exists()) {
        eprintln!("skipped: {missing} is not installed");
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/integration/docker-containerd.sh"
    );
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(common::MOAT)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run the client script");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "client checks failed:\n{text}");
    assert!(text.contains("all client checks passed"));
}
