//! The overlay root and writable host files (tests/c/overlay.c): every case runs on a
//! fresh copy of one fixture tree, natively (the oracle), under moat's default memory
//! overlay (the host copy must stay untouched), in a writable volume (direct host
//! access: the host copy must end up as the native one), and with the overlay's upper
//! layer in a host directory. Then the CLI's promises: `moat do` leaves the host alone,
//! `--overlay=root:dir=PATH` leaves an overlayfs upper directory, `--overlay=none` is
//! read-only, `--volume` binds rw or ro, and escapes from a writable volume fail.
#[macro_use]
mod common;
use common::*;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Builds the fixture tree (see tests/c/overlay.c) in `d`.
fn fixture(d: &Path) {
    std::fs::create_dir_all(d).unwrap();
    let put = |n: &str, data: &[u8], mode: u32| {
        let p = d.join(n);
        std::fs::write(&p, data).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    put("file1", b"hello\n", 0o644);
    put("file2", b"world\n", 0o644);
    let big: Vec<u8> = (0..262144u32).map(|i| b'A' + (i % 26) as u8).collect();
    put("big", &big, 0o644);
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::create(d.join("sparse")).unwrap();
        f.write_all_at(b"DATA", 0).unwrap();
        f.write_all_at(b"DATA", 524288).unwrap();
        f.set_len(1048576).unwrap();
    }
    put("hl1", b"linked\n", 0o644);
    std::fs::hard_link(d.join("hl1"), d.join("hl2")).unwrap();
    for sub in ["dir1", "dir1/sub", "dir2"] {
        std::fs::create_dir(d.join(sub)).unwrap();
        std::fs::set_permissions(d.join(sub), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    put("dir1/a", b"a\n", 0o644);
    put("dir1/b", b"b\n", 0o644);
    put("dir1/sub/c", b"c\n", 0o644);
    put("ro.txt", b"read only\n", 0o444);
    std::os::unix::fs::symlink("file1", d.join("link")).unwrap();
}

/// What the host sees of a tree: per path, type, mode, owner, size, link count, and the
/// contents of files and symlinks (no times).
fn snapshot(d: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![d.to_path_buf()];
    while let Some(p) = todo.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let m = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(d).unwrap().to_string_lossy().into_owned();
            let ft = m.file_type();
            let what = if ft.is_dir() {
                todo.push(path.clone());
                "dir".to_string()
            } else if ft.is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else if ft.is_file() {
                let data = std::fs::read(&path).unwrap();
                format!(
                    "file {} nlink {} sum {:x}",
                    data.len(),
                    m.nlink(),
                    data.iter().enumerate().fold(0u64, |h, (i, &b)| h
                        .wrapping_mul(31)
                        .wrapping_add(b as u64 ^ i as u64))
                )
            } else {
                format!("special {:o} rdev {:x}", m.mode() & 0o170000, m.rdev())
            };
            out.insert(
                rel,
                format!(
                    "{what} mode {:o} {}:{}",
                    m.mode() & 0o7777,
                    m.uid(),
                    m.gid()
                ),
            );
        }
    }
    out
}

fn show_diff(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> String {
    let mut s = String::new();
    for k in a
        .keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if a.get(k) != b.get(k) {
            s.push_str(&format!("  {k}: {:?} vs {:?}\n", a.get(k), b.get(k)));
        }
    }
    s
}

fn flag(name: &str, v: &Path) -> OsString {
    let mut f = OsString::from(name);
    f.push(v.as_os_str());
    f
}

fn volume_flag(host: &Path, guest: &Path, ro: bool) -> OsString {
    let mut f = OsString::from("--volume=");
    f.push(host.as_os_str());
    f.push(":");
    f.push(guest.as_os_str());
    if ro {
        f.push(":ro");
    }
    f
}

/// One case of overlay.c natively and in the three moat set-ups.
fn diff_case(case: &str) {
    let base = fresh_dir(&format!("ovl-{case}"));
    let [native, ovl, vol, dir, upper]: [PathBuf; 5] =
        ["native", "overlay", "volume", "dirupper", "upper"].map(|n| base.join(n));
    for d in [&native, &ovl, &vol, &dir] {
        fixture(d);
    }
    std::fs::create_dir(&upper).unwrap();
    let orig = snapshot(&ovl);
    let c = c_cmd("overlay", Variant::Static, case);

    let n = c.clone().cwd(&native).native();
    n.expect_finished();
    check_oracle(&n);
    let after = snapshot(&native);

    // Each moat set-up: its flags, its copy, and what the host copy must look like after.
    let setups: [(&str, Vec<OsString>, &PathBuf, &BTreeMap<String, String>); 3] = [
        ("memory overlay", vec![], &ovl, &orig),
        (
            "writable volume",
            vec![volume_flag(&vol, &vol, false)],
            &vol,
            &after,
        ),
        (
            "host-directory upper",
            vec![flag("--overlay=root:dir=", &upper)],
            &dir,
            &orig,
        ),
    ];
    for (what, flags, copy, want) in setups {
        let mut mc = c.clone().cwd(copy);
        for f in flags {
            mc = mc.moat_flag(f);
        }
        let m = mc.moat();
        assert_same(&n, &m);
        let s = snapshot(copy);
        assert!(
            &s == want,
            "{what}: the host tree is not as it should be:\n{}",
            show_diff(want, &s)
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}

macro_rules! ovl_cases {
    ($($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                diff_case(stringify!($case));
            }
        )*
    };
}

ovl_cases!(
    trunc_lower,
    append_lower,
    unlink_lower,
    rename_lower_file,
    rename_lower_dir,
    rmdir_lower,
    hardlinks,
    attrs_lower,
    symlinks,
    readdir_merge,
    mmap_shared,
    ro_fd_follows_copyup,
    sparse_copyup,
    special_files,
    creat_ops,
);

/// Runs a moat-only case of overlay.c in a fresh fixture with `flags`; no FAIL allowed.
fn moat_only(case: &str, flags: &[OsString]) -> Run {
    let base = fresh_dir(&format!("ovl-{case}"));
    let d = base.join("t");
    fixture(&d);
    let mut c = c_cmd("overlay", Variant::Static, case).cwd(&d);
    for f in flags {
        c = c.moat_flag(f);
    }
    let r = c.moat();
    r.expect_status(0);
    assert!(!r.stdout_str().contains("FAIL"), "{}", r.describe());
    let _ = std::fs::remove_dir_all(&base);
    r
}

/// Whiteouts (mknod char 0/0, RENAME_WHITEOUT) on tmpfs and in a writable volume.
#[test]
fn whiteouts() {
    diff_c("overlay", Variant::Static, "whiteouts");
    let base = fresh_dir("ovl-whiteouts");
    let c = c_cmd("overlay", Variant::Static, "whiteouts")
        .arg(".")
        .cwd(&base);
    let n = c.native();
    check_oracle(&n);
    let m = c.moat_flag(volume_flag(&base, &base, false)).moat();
    assert_same(&n, &m);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn overlay_none_is_read_only() {
    moat_only("erofs", &["--overlay=none".into()]);
}

#[test]
fn overlay_statfs() {
    moat_only("overlay_statfs", &[]);
}

/// `moat do` writes to /etc in memory only: the host's /etc never sees the file.
#[test]
fn etc_write_stays_in_the_sandbox() {
    let name = "/etc/moat-test-file";
    assert!(
        !Path::new(name).exists(),
        "{name} exists on the host before the test"
    );
    let r = sh(&format!("echo x > {name}; cat {name}; echo done")).moat();
    r.expect_status(0);
    assert_eq!(r.stdout_str(), "x\ndone\n", "{}", r.describe());
    assert!(!Path::new(&name).exists(), "{name} reached the host");
}

/// `--overlay=root:dir=PATH`: the changes, a whiteout for a deleted lower file and an
/// opaque mark for a re-created directory stay in PATH, and a second sandbox sees them.
#[test]
fn dir_upper_persists() {
    let base = fresh_dir("ovl-dirupper");
    let lower = base.join("tree");
    let upper = base.join("upper");
    fixture(&lower);
    std::fs::create_dir(&upper).unwrap();
    let orig = snapshot(&lower);
    let script = "echo changed > file1; echo new > newfile; rm file2; rm -r dir1; mkdir dir1; \
                  echo inner > dir1/x; mv dir2 dir9; ls";
    let r = sh(script)
        .cwd(&lower)
        .moat_flag(flag("--overlay=root:dir=", &upper))
        .moat();
    r.expect_status(0);
    assert_eq!(
        r.stdout_str(),
        "big\ndir1\ndir9\nfile1\nhl1\nhl2\nlink\nnewfile\nro.txt\nsparse\n",
        "{}",
        r.describe()
    );
    assert_eq!(snapshot(&lower), orig, "the lower tree changed");
    // The upper directory mirrors the lower tree's path.
    let rel = lower.strip_prefix("/").unwrap();
    let u = upper.join(rel);
    assert_eq!(std::fs::read(u.join("file1")).unwrap(), b"changed\n");
    assert_eq!(std::fs::read(u.join("newfile")).unwrap(), b"new\n");
    for wh in ["file2", "dir2"] {
        let m = std::fs::symlink_metadata(u.join(wh)).unwrap();
        assert!(
            m.file_type().is_char_device() && m.rdev() == 0,
            "{wh}: not a whiteout: {m:?}"
        );
    }
    let opaque = xattr(&u.join("dir1"), "trusted.overlay.opaque")
        .or_else(|| xattr(&u.join("dir1"), "user.overlay.opaque"));
    assert_eq!(
        opaque.as_deref(),
        Some(&b"y"[..]),
        "dir1 is not marked opaque"
    );
    assert_eq!(std::fs::read(u.join("dir1/x")).unwrap(), b"inner\n");
    // A second sandbox over the same upper directory sees the same tree.
    let r2 = sh("cat file1; ls; ls dir1; ls dir9; cat file2 2>&1 || true")
        .cwd(&lower)
        .moat_flag(flag("--overlay=root:dir=", &upper))
        .moat();
    r2.expect_status(0);
    assert_eq!(
        r2.stdout_str(),
        "changed\nbig\ndir1\ndir9\nfile1\nhl1\nhl2\nlink\nnewfile\nro.txt\nsparse\nx\n\
         cat: file2: No such file or directory\n",
        "{}",
        r2.describe()
    );
    let _ = std::fs::remove_dir_all(&base);
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).ok()?;
    let n = std::ffi::CString::new(name).ok()?;
    let mut buf = [0u8; 64];
    let r = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            n.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
        )
    };
    (r >= 0).then(|| buf[..r as usize].to_vec())
}

/// `--volume HOST:GUEST` binds read-write (changes reach the host), `:ro` read-only.
#[test]
fn volumes_rw_and_ro() {
    let base = fresh_dir("ovl-volumes");
    let v = base.join("vol");
    std::fs::create_dir(&v).unwrap();
    std::fs::write(v.join("f"), b"host data\n").unwrap();
    let single = base.join("single.txt");
    std::fs::write(&single, b"one file\n").unwrap();
    let r = sh(
        "cat /mnt/moat-vol/f; echo new > /mnt/moat-vol/g; rm /mnt/moat-vol/f; \
                mkdir /mnt/moat-vol/d; cat /etc/moat-single.txt; echo more >> /etc/moat-single.txt",
    )
    .moat_flag(volume_flag(&v, Path::new("/mnt/moat-vol"), false))
    .moat_flag(volume_flag(
        &single,
        Path::new("/etc/moat-single.txt"),
        false,
    ))
    .moat();
    r.expect_status(0);
    assert_eq!(r.stdout_str(), "host data\none file\n", "{}", r.describe());
    assert!(!v.join("f").exists(), "rm did not reach the host");
    assert_eq!(std::fs::read(v.join("g")).unwrap(), b"new\n");
    assert!(v.join("d").is_dir());
    assert_eq!(std::fs::read(&single).unwrap(), b"one file\nmore\n");
    assert!(
        !Path::new("/mnt/moat-vol").exists(),
        "the mountpoint was made on the host"
    );
    assert!(
        !Path::new("/etc/moat-single.txt").exists(),
        "the mountpoint was made on the host"
    );

    let r = sh(
        "cat /mnt/moat-vol/g; echo x > /mnt/moat-vol/h; rm /mnt/moat-vol/g; \
                touch /mnt/moat-vol/d/y; echo status $?",
    )
    .moat_flag(volume_flag(&v, Path::new("/mnt/moat-vol"), true))
    .moat();
    assert_eq!(
        r.stderr_str(),
        "/bin/sh: 1: cannot create /mnt/moat-vol/h: Read-only file system\n\
         rm: cannot remove '/mnt/moat-vol/g': Read-only file system\n\
         touch: cannot touch '/mnt/moat-vol/d/y': Read-only file system\n",
        "{}",
        r.describe()
    );
    assert_eq!(r.stdout_str(), "new\nstatus 1\n");
    assert!(!v.join("h").exists() && v.join("g").exists() && !v.join("d/y").exists());
    let _ = std::fs::remove_dir_all(&base);
}

/// Escapes from a writable volume: a symlink planted on the host pointing outside,
/// `..`, a hard link to a host file, and directories renamed (and swapped with a
/// symlink to the outside) while another thread creates files through them. Nothing
/// may appear in the outside directory; natively the same probe does reach it.
#[test]
fn volume_escapes_stay_inside() {
    let base = fresh_dir("ovl-escape");
    let setup = |root: &Path| -> (PathBuf, PathBuf, PathBuf) {
        let v = root.join("vol");
        let out = root.join("outside");
        for d in ["a/b", "c/b", "d"] {
            std::fs::create_dir_all(v.join(d)).unwrap();
        }
        std::fs::create_dir_all(&out).unwrap();
        let target = root.join("target.txt");
        std::fs::write(&target, b"not yours\n").unwrap();
        std::os::unix::fs::symlink(&out, v.join("planted")).unwrap();
        std::os::unix::fs::symlink("../outside", v.join("planted-rel")).unwrap();
        (v, out, target)
    };
    // Natively the probe escapes (the directory is the host's).
    let (nv, nout, ntarget) = setup(&base.join("native"));
    let n = c_cmd("overlay", Variant::Static, "escape")
        .arg(&nv)
        .arg(&nout)
        .arg(&ntarget)
        .native();
    n.expect_status(0);
    assert!(
        nout.join("pwned").exists(),
        "native probe did not reach outside:\n{}",
        n.describe()
    );
    assert!(n.stdout_str().contains("link made"), "{}", n.describe());

    let root = base.join("sandbox");
    let (v, out, target) = setup(&root);
    for overlay in ["--overlay=root:memory", "--overlay=none"] {
        let r = c_cmd("overlay", Variant::Static, "escape")
            .arg(&v)
            .arg(&out)
            .arg(&target)
            .moat_flag(overlay)
            .moat_flag(volume_flag(&v, &v, false))
            .timeout(120)
            .moat();
        r.expect_status(0);
        assert!(r.stdout_str().contains("link EXDEV"), "{}", r.describe());
        let leaked: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(
            leaked.is_empty(),
            "{overlay}: files escaped the volume: {leaked:?}"
        );
        let beside: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n != "vol" && n != "outside" && n != "target.txt")
            .collect();
        assert!(
            beside.is_empty(),
            "{overlay}: files beside the volume: {beside:?}"
        );
        assert_eq!(
            std::fs::metadata(&target).unwrap().nlink(),
            1,
            "a hard link to the outside file was made"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"not yours\n");
    }
    let _ = std::fs::remove_dir_all(&base);
}
