#!/usr/bin/env bash
# OCI runtime figures, side by side in one run: runc, runsc (Debian's gVisor, ptrace
# platform, --network=none) and moat.
#   - wall time of `RUNTIME run` of /bin/true from a bundle, end to end (mean of N runs);
#   - memory of one sandbox: the summed PSS of every host process of one container while
#     it sleeps (runc: the container's process; runsc: its sandbox, gofer and helpers;
#     moat: the sandbox process, its master stub and stubs).
#
# usage: bench/oci.sh [RUNS]   (MOAT=path/to/moat, default target/release/moat)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MOAT=${MOAT:-$ROOT/target/release/moat}
RUNS=${1:-20}
OUT=$ROOT/target/bench/oci
rm -rf "$OUT"
mkdir -p "$OUT/bundle/rootfs/bin" "$OUT/bundle/rootfs/proc" "$OUT/bundle/rootfs/dev" \
    "$OUT/bundle/rootfs/sys" "$OUT/bundle/rootfs/tmp"
[[ -x $MOAT ]] || cargo build --release -p moat >&2
cp /bin/busybox "$OUT/bundle/rootfs/bin/"
for a in true sleep sh; do ln -s busybox "$OUT/bundle/rootfs/bin/$a"; done
(cd "$OUT/bundle" && "$MOAT" spec)
setargs() {
    python3 - "$OUT/bundle/config.json" "$@" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = sys.argv[2:]
c["process"]["terminal"] = False
json.dump(c, open(sys.argv[1], "w"))
EOF
}

runtimes=()
command -v runc >/dev/null && runtimes+=(runc)
command -v runsc >/dev/null && runtimes+=(runsc)
runtimes+=(moat)

rt_cmd() { # rt_cmd RUNTIME -> command prefix
    case $1 in
    runc) echo "runc --root $OUT/root-runc" ;;
    runsc) echo "runsc --root $OUT/root-runsc --network=none" ;;
    moat) echo "$MOAT --root $OUT/root-moat" ;;
    esac
}

now_ns() { date +%s%N; }

declare -A WALL MEM
setargs /bin/true
for rt in "${runtimes[@]}"; do
    cmd=$(rt_cmd "$rt")
    # One warm-up run, then RUNS timed runs.
    $cmd run --bundle "$OUT/bundle" warm-$rt >/dev/null 2>&1 </dev/null || true
    t0=$(now_ns)
    for i in $(seq "$RUNS"); do
        $cmd run --bundle "$OUT/bundle" "t-$rt-$i" </dev/null | cat >/dev/null
    done
    t1=$(now_ns)
    WALL[$rt]=$(python3 -c "print(f'{($t1-$t0)/1e6/$RUNS:.1f}')")
    echo "bench: $rt run /bin/true: ${WALL[$rt]} ms" >&2
done

pss_of() { # summed PSS (KiB) of processes whose cmdline mentions $1, and their descendants
    python3 - "$1" <<'EOF'
import os, sys
key = sys.argv[1].encode()
procs = {}
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) == os.getpid():
        continue
    try:
        cmd = open(f"/proc/{p}/cmdline", "rb").read()
        ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
    except OSError:
        continue
    procs[int(p)] = (cmd, ppid)
chosen = {p for p, (c, _) in procs.items() if key in c}
changed = True
while changed:
    changed = False
    for p, (_, pp) in procs.items():
        if pp in chosen and p not in chosen:
            chosen.add(p)
            changed = True
total = 0
for p in chosen:
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    except OSError:
        pass
print(total, len(chosen))
EOF
}

setargs /bin/sleep 1000
for rt in "${runtimes[@]}"; do
    cmd=$(rt_cmd "$rt")
    id=mem-$rt-$$
    $cmd run --detach --bundle "$OUT/bundle" "$id" </dev/null >/dev/null 2>&1
    sleep 2
    if [[ $rt == runc ]]; then
        pid=$($cmd state "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
        r=$(python3 -c "
import sys
t=0
for l in open('/proc/$pid/smaps_rollup'):
    if l.startswith('Pss:'): t+=int(l.split()[1])
print(t, 1)")
    else
        r=$(pss_of "$id")
    fi
    MEM[$rt]=$(awk '{printf "%.1f", $1/1024}' <<<"$r")
    echo "bench: $rt memory: ${MEM[$rt]} MiB in $(awk '{print $2}' <<<"$r") processes" >&2
    $cmd kill "$id" KILL >/dev/null 2>&1 || true
    sleep 0.5
    $cmd delete --force "$id" >/dev/null 2>&1 || true
done

ratio() { python3 -c "a,b='$1','$2'; print('n/a' if not a or not b else f'{float(a)/float(b):.2f}x')"; }
echo
echo "| metric | runc | runsc | moat | moat/runsc | moat/runc |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| wall time of \`run\` of /bin/true (ms) | ${WALL[runc]:-n/a} | ${WALL[runsc]:-n/a} | ${WALL[moat]} | $(ratio "${WALL[moat]}" "${WALL[runsc]:-}") | $(ratio "${WALL[moat]}" "${WALL[runc]:-}") |"
echo "| memory of a sleeping container, summed PSS (MiB) | ${MEM[runc]:-n/a} | ${MEM[runsc]:-n/a} | ${MEM[moat]} | $(ratio "${MEM[moat]}" "${MEM[runsc]:-}") | $(ratio "${MEM[moat]}" "${MEM[runc]:-}") |"
