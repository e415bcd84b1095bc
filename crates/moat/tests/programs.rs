//! Real programs under `moat do`, compared with native runs: busybox, dash,
//! bash, coreutils, python3. Scripts work in a private `mktemp -d` directory
//! and print nothing that differs between runs (no pids, times, temp names).
mod common;
use common::{bash, cmd, require, sh, Cmd};

const BB: &str = "/bin/busybox";
const PY: &str = "/usr/bin/python3";

fn bb(args: &[&str]) -> Cmd {
    require(BB);
    let mut v = vec![BB];
    v.extend_from_slice(args);
    cmd(&v)
}

// ----------------------------------------------------------------- busybox

#[test]
fn busybox_sh() {
    bb(&[
        "sh",
        "-c",
        "x=3; y=$((x * 7)); echo \"x=$x y=$y\"; for i in 1 2 3; do echo item $i; done | tr a-z A-Z; \
                      case abc in a*) echo matched;; esac; f() { echo \"in f: $1\"; return 4; }; f arg; echo rc=$?",
    ])
    .diff();
}

#[test]
fn busybox_ls() {
    bb(&["ls", "/usr/include/linux/netfilter"]).diff();
    bb(&[
        "sh",
        "-c",
        "d=$(mktemp -d); cd $d; touch b a c; mkdir z; ls; ls -1 -p; cd /; rm -r $d",
    ])
    .diff();
}

#[test]
fn busybox_cat() {
    bb(&["cat", "/etc/passwd", "/etc/group"]).diff();
    bb(&["cat"]).stdin(&b"from stdin\nline 2\n"[..]).diff();
}

#[test]
fn busybox_grep() {
    bb(&["grep", "-n", "root", "/etc/passwd"]).diff();
    bb(&["grep", "-c", "-v", "^root", "/etc/group"]).diff();
    bb(&["grep", "-q", "no-such-string-anywhere-xyz", "/etc/passwd"]).diff();
}

#[test]
fn busybox_sed() {
    bb(&["sed", "-n", "s/^\\([^:]*\\):.*/user \\1/p", "/etc/passwd"]).diff();
    bb(&[
        "sh",
        "-c",
        "printf 'a b\\nc d\\n' | sed -e 's/ /-/' -e '2d'",
    ])
    .diff();
}

#[test]
fn busybox_awk() {
    bb(&[
        "sh",
        "-c",
        "seq 1 1000 | awk '{ s += $1; if ($1 % 100 == 0) print $1 } END { print \"sum\", s }'",
    ])
    .diff();
    bb(&["awk", "-F:", "{ print $1, NF }", "/etc/passwd"]).diff();
}

#[test]
fn busybox_find() {
    bb(&[
        "sh",
        "-c",
        "find /usr/include/linux -name '*.h' -path '*netfilter*' | sort | head -50",
    ])
    .diff();
    bb(&[
        "sh",
        "-c",
        "d=$(mktemp -d); mkdir -p $d/a/b/c; touch $d/a/x $d/a/b/y; cd $d; find . | sort; \
                      find . -type f | sort; cd /; rm -rf $d",
    ])
    .diff();
}

#[test]
fn busybox_tar() {
    bb(&[
        "sh",
        "-c",
        "set -e; d=$(mktemp -d); cd $d; mkdir -p src/sub; echo one > src/a; echo two > src/sub/b; \
                      seq 1 5000 > src/big; tar -cf t.tar src; tar -tf t.tar | sort; mkdir out; cd out; \
                      tar -xf ../t.tar; cat src/a src/sub/b; wc -l < src/big; cmp src/big ../src/big && echo same; \
                      cd /; rm -rf $d",
    ])
    .diff();
}

#[test]
fn busybox_sort() {
    bb(&[
        "sh",
        "-c",
        "printf '10\\n9\\n100\\nb\\na\\n' | sort; printf '10\\n9\\n100\\n' | sort -n; \
                      printf 'x\\ny\\nx\\n' | sort -u; seq 1 2000 | sort -r | head -3",
    ])
    .diff();
}

// ----------------------------------------------------------- dash and bash

const PIPELINES: &str = "seq 1 100 | grep 7 | tr '\\n' ' '; echo; \
    echo hello | cat | cat | cat | wc -c; \
    yes | head -n 3; \
    (echo sub; exit 3) | cat; echo \"pipe status $?\"";

const SUBSHELLS: &str =
    "x=outer; (x=inner; echo \"in subshell $x\"; exit 7); echo \"rc=$? x=$x\"; \
    (cd /usr && pwd); pwd >/dev/null; \
    ( ( ( echo nested ) ) ); \
    { echo group; echo braces; } | sort";

const SUBSTITUTION: &str = "a=$(echo inner $(echo deeper)); echo \"$a\"; \
    n=$(seq 1 10 | wc -l); echo \"lines: $n\"; \
    b=`echo backticks`; echo $b; \
    echo \"len ${#a}\"";

const HEREDOC: &str = "cat <<EOF\nline one\n  indented $((1+2))\nEOF\n\
    cat <<'EOF'\nno $expansion here\nEOF\n\
    while read a b; do echo \"a=$a b=$b\"; done <<EOF\n1 2\n3 4\nEOF\n";

const TRAPS: &str =
    "trap 'echo exit trap ran' EXIT; trap 'echo got USR1' USR1; trap 'echo got TERM' TERM; \
    kill -USR1 $$; kill -TERM $$; echo after signals; \
    (trap 'echo sub exit' EXIT; echo in sub); \
    trap - USR1; echo done";

const JOBS: &str = "(exit 3) & p1=$!; (echo bg output; exit 5) > /tmp/.moat-jobs-$$ & p2=$!; \
    sleep 0.05 & p3=$!; \
    wait $p1; echo \"first: $?\"; wait $p2; echo \"second: $?\"; wait $p3; echo \"sleep: $?\"; \
    cat /tmp/.moat-jobs-$$; rm -f /tmp/.moat-jobs-$$; \
    for i in 1 2 3 4 5; do (exit $i) & done; wait; echo all waited";

const SCRIPTS: &[(&str, &str)] = &[
    ("pipelines", PIPELINES),
    ("subshells", SUBSHELLS),
    ("substitution", SUBSTITUTION),
    ("heredoc", HEREDOC),
    ("traps", TRAPS),
    ("jobs", JOBS),
];

fn script(name: &str) -> &'static str {
    SCRIPTS.iter().find(|(n, _)| *n == name).unwrap().1
}

#[test]
fn dash_pipelines() {
    sh(script("pipelines")).diff();
}
#[test]
fn dash_subshells() {
    sh(script("subshells")).diff();
}
#[test]
fn dash_substitution() {
    sh(script("substitution")).diff();
}
#[test]
fn dash_heredoc() {
    sh(script("heredoc")).diff();
}
#[test]
fn dash_traps() {
    sh(script("traps")).diff();
}
#[test]
fn dash_jobs() {
    sh(script("jobs")).diff();
}
#[test]
fn bash_pipelines() {
    bash(&format!(
        "set -o pipefail; {}; false | true; echo \"pipefail $?\"",
        script("pipelines")
    ))
    .diff();
}
#[test]
fn bash_subshells() {
    bash(script("subshells")).diff();
}
#[test]
fn bash_substitution() {
    bash(script("substitution")).diff();
}
#[test]
fn bash_heredoc() {
    bash(&format!("{}\ncat <<< 'here string'", script("heredoc"))).diff();
}
#[test]
fn bash_traps() {
    bash(&format!(
        "{}; trap 'echo err trap' ERR; false; true",
        script("traps")
    ))
    .diff();
}
#[test]
fn bash_jobs() {
    bash(script("jobs")).diff();
}

/// bash features that exercise /dev/fd and /proc: process substitution,
/// arrays, coprocesses, `read -t`.
#[test]
fn bash_features() {
    bash(
        "arr=(one two three); echo \"${#arr[@]} ${arr[1]}\"; \
         diff <(seq 1 5) <(seq 1 5) && echo same; \
         while read l; do echo \"got $l\"; done < <(printf 'x\\ny\\n'); \
         declare -A m; m[k]=v; echo ${m[k]}; \
         coproc cat; echo ping >&${COPROC[1]}; read -r reply <&${COPROC[0]}; echo \"coproc: $reply\"; \
         exec {COPROC[1]}>&-; wait; \
         if read -t 0.01 x < <(sleep 1); then echo read; else echo \"timed out\"; fi; \
         echo $(( 2 ** 40 ))",
    )
    .diff();
}

/// A script file run by path (#! line), with arguments.
#[test]
fn script_file() {
    let d = common::fresh_dir("scriptfile");
    let p = d.join("script.sh");
    std::fs::write(&p, "#!/bin/sh\necho \"script $# args: $*\"\nexit 6\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    cmd(&[p.to_str().unwrap(), "a", "b c"])
        .diff()
        .1
        .expect_status(6);
}

// --------------------------------------------------------------- coreutils

#[test]
fn coreutils_ls_root() {
    // Sizes, link counts and times of /tmp, /dev and /proc legitimately
    // differ inside the sandbox: compare types and names.
    let (_, m) = sh("ls -la / | awk 'NR > 1 { print substr($1, 1, 1), $9, $10, $11 }'").diff();
    assert!(m.stdout_str().contains(" usr"), "{}", m.describe());
    let r = cmd(&["/bin/ls", "-la", "/"]).moat();
    r.expect_status(0);
}

#[test]
fn coreutils_files() {
    sh("set -e; d=$(mktemp -d); cd $d; \
        mkdir -p a/b/c; echo data > a/b/c/f; cp a/b/c/f g; cp -r a a2; mv g h; \
        ln -s h link; ln h hard; \
        find . | sort; cat h a2/b/c/f; readlink link; stat -c '%s %F %a %h' h a link; \
        rm -r a; test ! -e a && echo 'a removed'; mv a2 a3; ls; \
        chmod 600 h; stat -c '%a' h; touch -d '2001-02-03 04:05:06 UTC' h; TZ=UTC stat -c '%y' h; \
        cd /; rm -rf $d; test ! -e $d && echo cleaned")
    .diff();
}

#[test]
fn coreutils_text() {
    sh(
        "seq 1 1000 > /dev/null; seq 1 1000 | sort -rn | head -n 3; seq 1 1000 | tail -n 2; \
        seq 1 1000 | wc; printf 'b\\na\\nc\\n' | sort; printf 'x y z\\n' | cut -d' ' -f2; \
        seq 1 10 | paste -sd+; \
        head -c 100 /dev/zero | od -An -c | head -2; echo abc | md5sum; seq 1 100000 | sha256sum",
    )
    .diff();
}

#[test]
fn coreutils_date_env() {
    sh("date +%Y; date -u -d @1000000000 '+%F %T'").diff();
    cmd(&["/usr/bin/env"]).diff();
    cmd(&["/usr/bin/env", "-i", "A=1", "B=two words", "/usr/bin/env"]).diff();
    sh("env | sort").diff();
}

#[test]
fn coreutils_misc() {
    sh(
        "id -u; id -g; uname -s; uname -m; nproc >/dev/null && echo nproc ok; \
        basename /a/b/c.txt .txt; dirname /a/b/c; printf '%05d|%s\\n' 42 str; expr 6 \\* 7; \
        true && echo t; false || echo f; test -d /usr && echo dir; \
        timeout 5 sleep 0.01; echo \"timeout rc $?\"; timeout 0.05 sleep 5; echo \"timeout rc $?\"",
    )
    .diff();
}

// ----------------------------------------------------------------- python3

#[test]
fn python_threads() {
    require(PY);
    cmd(&[
        PY,
        "-c",
        "import threading\n\
         lock = threading.Lock()\n\
         total = 0\n\
         cond = threading.Condition(lock)\n\
         def work(n):\n\
         \x20   global total\n\
         \x20   for _ in range(n):\n\
         \x20       with lock:\n\
         \x20           total += 1\n\
         ts = [threading.Thread(target=work, args=(5000,)) for _ in range(8)]\n\
         [t.start() for t in ts]\n\
         [t.join() for t in ts]\n\
         print('total', total)\n\
         ev = threading.Event()\n\
         out = []\n\
         def waiter():\n\
         \x20   ev.wait()\n\
         \x20   out.append('woken')\n\
         w = threading.Thread(target=waiter); w.start(); ev.set(); w.join()\n\
         print(out, threading.active_count())\n",
    ])
    .diff();
}

#[test]
fn python_subprocess() {
    require(PY);
    cmd(&[
        PY,
        "-c",
        "import subprocess, sys\n\
         r = subprocess.run(['/bin/echo', 'from child'], capture_output=True, text=True)\n\
         print(repr(r.stdout), r.returncode)\n\
         print(subprocess.run(['/bin/sh', '-c', 'exit 5']).returncode)\n\
         print(subprocess.run(['/bin/sh', '-c', 'kill -9 $$']).returncode)\n\
         out = subprocess.check_output('echo a; echo b >&2', shell=True, stderr=subprocess.STDOUT)\n\
         print(sorted(out.decode().split()))\n\
         p = subprocess.Popen(['/bin/cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n\
         o, _ = p.communicate(b'x' * 200000)\n\
         print(len(o), p.returncode)\n\
         try:\n\
         \x20   subprocess.run(['/nonexistent/prog'])\n\
         except FileNotFoundError as e:\n\
         \x20   print('FileNotFoundError', e.errno)\n\
         sys.stdout.flush()\n",
    ])
    .diff();
}

#[test]
fn python_stdlib() {
    require(PY);
    cmd(&[
        PY,
        "-c",
        "import hashlib, json, os, tempfile, zlib\n\
         print(hashlib.sha256(b'moat' * 1000).hexdigest())\n\
         print(json.dumps({'b': [1, 2, {'c': None}], 'a': 'x'}, sort_keys=True))\n\
         print(len(zlib.compress(bytes(range(256)) * 100)))\n\
         with tempfile.TemporaryDirectory() as d:\n\
         \x20   p = os.path.join(d, 'f')\n\
         \x20   open(p, 'w').write('hello')\n\
         \x20   print(open(p).read(), os.path.getsize(p), sorted(os.listdir(d)))\n\
         print(os.getcwd() == os.path.realpath('.'))\n",
    ])
    .diff();
}

/// sysfs: the sandbox's own CPU lists (the same as the host's on a machine whose CPUs
/// are all ours), read by nproc and Python to size themselves; read-only.
#[test]
fn sysfs_cpu_lists() {
    sh(
        "cat /sys/devices/system/cpu/online /sys/devices/system/cpu/possible; nproc; \
        python3 -c 'import os; print(os.cpu_count())'; ls -d /sys/fs/cgroup",
    )
    .diff();
    let r = sh("touch /sys/x 2>/dev/null || echo read-only").moat();
    r.expect_status(0);
    assert_eq!(r.stdout_str(), "read-only\n");
}
