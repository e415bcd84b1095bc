#!/usr/bin/env bash
# Real clients drive moat: a private dockerd with moat registered as a runtime, and a
# private containerd whose runc shim runs moat as its runc binary. Everything runs in a
# fresh directory with its own sockets; everything started is stopped and removed at the
# end, whatever happens.
#
# Usage: tests/integration/docker-containerd.sh /path/to/moat
# Needs: dockerd and docker (docker.io), containerd and ctr, script (util-linux),
# busybox-static; root.
set -euo pipefail

MOAT=$(readlink -f "${1:?usage: $0 MOAT_BINARY}")
work=$(mktemp -d /var/tmp/moat-clients.XXXXXX)
D="docker -H unix://$work/docker.sock"
C="ctr -a $work/ctd/containerd.sock"
failures=0

cleanup() {
    set +e
    $D rm -f $($D ps -aq 2>/dev/null) >/dev/null 2>&1
    [[ -f $work/docker.pid ]] && kill "$(cat "$work/docker.pid")" 2>/dev/null
    for t in $($C task ls -q 2>/dev/null); do $C task kill -s KILL "$t"; done >/dev/null 2>&1
    for c in $($C container ls -q 2>/dev/null); do $C task rm -f "$c"; $C container rm "$c"; done >/dev/null 2>&1
    [[ -f $work/ctd.pid ]] && kill "$(cat "$work/ctd.pid")" 2>/dev/null
    for _ in $(seq 50); do
        pgrep -f "$work" >/dev/null || break
        sleep 0.2
    done
    pkill -9 -f "$work" 2>/dev/null
    sleep 0.5
    # dockerd leaves overlay mounts behind if it was killed hard.
    grep -o "$work[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

check() { # check NAME EXPECTED ACTUAL
    if [[ "$2" == "$3" ]]; then
        echo "ok $1"
    else
        echo "FAIL $1: expected [$2], got [$3]"
        failures=$((failures + 1))
    fi
}

contains() { # contains NAME NEEDLE HAYSTACK
    if [[ "$3" == *"$2"* ]]; then
        echo "ok $1"
    else
        echo "FAIL $1: [$2] not in [$3]"
        failures=$((failures + 1))
    fi
}

wait_socket() {
    for _ in $(seq 100); do
        [[ -S $1 ]] && return 0
        sleep 0.1
    done
    echo "FAIL: $1 never appeared"
    return 1
}

# The image: busybox and its applets.
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
for a in $(/bin/busybox --list); do
    [[ $a == busybox ]] || ln -s busybox "$work/rootfs/bin/$a"
done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .

# --- Docker -------------------------------------------------------------------------
cat >"$work/daemon.json" <<EOF
{"runtimes": {"moat": {"path": "$MOAT"}}}
EOF
dockerd --config-file "$work/daemon.json" --data-root "$work/docker" \
    --exec-root "$work/exec" --pidfile "$work/docker.pid" -H "unix://$work/docker.sock" \
    --iptables=false --ip6tables=false --bridge=none >"$work/dockerd.log" 2>&1 &
wait_socket "$work/docker.sock"
for _ in $(seq 100); do $D info >/dev/null 2>&1 && break; sleep 0.1; done
$D import "$work/rootfs.tar" moat-test:latest >/dev/null

R="--runtime=moat --network=none"
out=$(timeout 60 $D run --rm $R moat-test echo hello)
check "docker run --rm" "hello" "$out"
set +e
timeout 60 $D run --rm $R moat-test sh -c 'exit 3'
rc=$?
set -e
check "docker run exit status" "3" "$rc"

$D run -d --name bg $R moat-test sh -c 'echo started; while true; do sleep 0.1; done' >/dev/null
out=$(timeout 60 $D exec bg sh -c 'echo from exec; exit 0')
check "docker exec" "from exec" "$out"
set +e
timeout 60 $D exec bg sh -c 'exit 5'
rc=$?
set -e
check "docker exec exit status" "5" "$rc"
for _ in $(seq 50); do [[ $($D logs bg 2>&1) == *started* ]] && break; sleep 0.1; done
check "docker logs" "started" "$($D logs bg 2>&1)"
check "docker inspect running" "running" "$($D inspect -f '{{.State.Status}}' bg)"
$D pause bg >/dev/null
check "docker pause" "paused" "$($D inspect -f '{{.State.Status}}' bg)"
$D unpause bg >/dev/null
timeout 60 $D stop -t 1 bg >/dev/null
check "docker stop" "exited" "$($D inspect -f '{{.State.Status}}' bg)"
check "docker stop exit code (SIGKILL after the grace time)" "137" "$($D inspect -f '{{.State.ExitCode}}' bg)"
$D rm bg >/dev/null

# An init with a TERM handler stops on SIGTERM.
$D run -d --name trap $R moat-test sh -c 'trap "exit 42" TERM; while true; do sleep 0.1; done' >/dev/null
sleep 0.5
timeout 60 $D stop -t 20 trap >/dev/null
check "docker stop with a TERM handler" "42" "$($D inspect -f '{{.State.ExitCode}}' trap)"
$D rm trap >/dev/null

# -it through a pseudo-terminal made by script(1).
out=$(timeout 60 script -qec "$D run -it --rm $R moat-test sh -c 'test -t 0 && echo is-a-tty'" /dev/null | tr -d '\r\0^@')
contains "docker run -it" "is-a-tty" "$out"
out=$(printf 'echo typed-$((6*7))\nexit\n' | timeout 60 script -qec "$D run -i --rm $R moat-test sh" /dev/null | tr -d '\r')
contains "docker run -i with input" "typed-42" "$out"

$D save moat-test:latest -o "$work/image.tar"
kill "$(cat "$work/docker.pid")"

# --- containerd ---------------------------------------------------------------------
mkdir -p "$work/ctd"
cat >"$work/ctd/config.toml" <<EOF
version = 2
root = "$work/ctd/root"
state = "$work/ctd/state"
[grpc]
  address = "$work/ctd/containerd.sock"
EOF
containerd --config "$work/ctd/config.toml" >"$work/ctd/log" 2>&1 &
echo $! >"$work/ctd.pid"
wait_socket "$work/ctd/containerd.sock"
$C image import "$work/image.tar" >/dev/null
IMG=docker.io/library/moat-test:latest
out=$(timeout 60 $C run --rm --runtime io.containerd.runc.v2 --runc-binary "$MOAT" $IMG c1 echo hello-ctr)
check "ctr run" "hello-ctr" "$out"
set +e
timeout 60 $C run --rm --runc-binary "$MOAT" $IMG c2 sh -c 'exit 6'
rc=$?
set -e
check "ctr run exit status" "6" "$rc"
timeout 60 $C run -d --runc-binary "$MOAT" $IMG c3 sh -c 'while true; do sleep 0.1; done' >/dev/null
out=$(timeout 60 $C task exec --exec-id e1 c3 sh -c 'echo in-c3')
check "ctr task exec" "in-c3" "$out"
$C task kill -s KILL c3
for _ in $(seq 100); do
    [[ $($C task ls 2>/dev/null | awk '$1=="c3"{print $3}') == STOPPED ]] && break
    sleep 0.1
done
check "ctr task kill" "STOPPED" "$($C task ls | awk '$1=="c3"{print $3}')"
$C task rm c3 >/dev/null
$C container rm c3

if ((failures)); then
    echo "$failures check(s) failed"
    echo "--- dockerd log (tail)"; tail -20 "$work/dockerd.log" || true
    echo "--- containerd log (tail)"; tail -20 "$work/ctd/log" || true
    exit 1
fi
echo "all client checks passed"
