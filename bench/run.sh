#!/usr/bin/env bash
# moat's side-by-side benchmark: the same programs natively, under runc,
# under runsc (gVisor, Debian's package, its default ptrace platform) and
# under `moat do`, in one run. Prints a plain table, then a markdown table
# for docs/performance.md.
#
# usage: bench/run.sh [--only native,runc,runsc,moat] [--true-runs N]
#   MOAT=path/to/moat (default target/release/moat; built if missing)
#   BENCH_SECONDS=1   minimum seconds per measurement
#   REPEAT=3          measurements per value (the best is kept)
#   TRUE_RUNS=20      runs of RUNTIME /bin/true (the mean is kept)
#
# Needs root for runsc and runc. A runtime that is missing or fails shows
# "n/a". Timings are never asserted anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench
MOAT=${MOAT:-$ROOT/target/release/moat}
SECONDS_PER=${BENCH_SECONDS:-1}
ONLY=native,runc,runsc,moat
TRUE_RUNS=${TRUE_RUNS:-20}
REPEAT=${REPEAT:-3}

while (($#)); do
    case $1 in
    --only) ONLY=$2; shift 2 ;;
    --true-runs) TRUE_RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }

mkdir -p "$OUT"
for p in getpid forkwait forkexec pagefault; do
    gcc -static -O2 -DMIN_SECONDS="$SECONDS_PER" -o "$OUT/$p" "bench/c/$p.c"
done

log() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- runners
# Each runner runs "PROGRAM ARGS..." in its environment, output on stdout.
# WRAP="timeout 600" bounds a runtime that hangs (the programs bound
# themselves); it is left out when timing /bin/true, whose wall time it
# would distort.
WRAP=()
run_native() { "${WRAP[@]}" "$@"; }

run_runsc() { "${WRAP[@]}" runsc --network=none do "$@" | cat; return "${PIPESTATUS[0]}"; }

run_moat() { "${WRAP[@]}" "$MOAT" do -- "$@"; }

# runc needs a bundle: a root file system holding the static benchmark
# programs and the host's /bin/true with the libraries it loads, and a
# config.json whose args we rewrite per run.
RUNC_BUNDLE=$OUT/runc-bundle
runc_setup() {
    local f
    rm -rf "$RUNC_BUNDLE"
    mkdir -p "$RUNC_BUNDLE/rootfs/bin" "$RUNC_BUNDLE/rootfs/proc" "$RUNC_BUNDLE/rootfs/dev" "$RUNC_BUNDLE/rootfs/tmp"
    cp "$OUT"/{getpid,forkwait,forkexec,pagefault} "$RUNC_BUNDLE/rootfs/bin/"
    cp /bin/true "$RUNC_BUNDLE/rootfs/bin/true"
    for f in $(ldd /bin/true | grep -o '/[^ ]*'); do
        mkdir -p "$RUNC_BUNDLE/rootfs$(dirname "$f")"
        cp "$f" "$RUNC_BUNDLE/rootfs$f"
    done
    (cd "$RUNC_BUNDLE" && runc spec)
}
RUNC_N=0
run_runc() {
    local args
    args=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@")
    python3 - "$RUNC_BUNDLE/config.json" "$args" <<'EOF'
import json, sys
path, args = sys.argv[1], json.loads(sys.argv[2])
c = json.load(open(path))
c["process"]["args"] = ["/bin/" + a.rsplit("/", 1)[-1] if a.startswith("/") else a for a in args]
c["process"]["terminal"] = False
c["root"]["readonly"] = True
json.dump(c, open(path, "w"))
EOF
    RUNC_N=$((RUNC_N + 1))
    timeout 600 runc run --bundle "$RUNC_BUNDLE" "moat-bench-$$-$RUNC_N" </dev/null
}

available() {
    case $1 in
    native) return 0 ;;
    runsc) command -v runsc >/dev/null && [[ $(run_runsc /bin/echo ok 2>/dev/null) == ok ]] ;;
    runc) command -v runc >/dev/null && command -v python3 >/dev/null && runc_setup >/dev/null 2>&1 &&
        run_runc /bin/true >/dev/null 2>&1 ;;
    moat)
        if [[ ! -x $MOAT ]]; then cargo build --release -p moat >&2 || return 1; fi
        [[ $(timeout 60 "$MOAT" do -- /bin/echo ok 2>/dev/null) == ok ]]
        ;;
    esac
}

# One measurement: the best (lowest) of REPEAT runs, or "n/a".
measure() {
    local env=$1 prog=$2 out best=n/a i
    shift 2
    WRAP=(timeout 600)
    for ((i = 0; i < REPEAT; i++)); do
        if out=$("run_$env" "$OUT/$prog" "$@" 2>/dev/null) && [[ $out =~ RESULT\ ([0-9.]+) ]]; then
            best=$(awk -v a="$best" -v b="${BASH_REMATCH[1]}" 'BEGIN { print (a == "n/a" || b + 0 < a + 0) ? b : a }')
        else
            echo n/a
            return
        fi
    done
    echo "$best"
}

# Wall time of "ENV /bin/true": the whole sandbox's start and stop, in ms
# (mean of TRUE_RUNS runs, after one warm-up).
measure_true() {
    local env=$1 t0 t1 i
    WRAP=()
    "run_$env" /bin/true >/dev/null 2>&1 || { echo n/a; return; }
    t0=$EPOCHREALTIME
    for ((i = 0; i < TRUE_RUNS; i++)); do
        "run_$env" /bin/true >/dev/null 2>&1 || { echo n/a; return; }
    done
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" -v n="$TRUE_RUNS" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }'
}

ENVS=()
for e in native runc runsc moat; do
    want "$e" || continue
    if available "$e"; then ENVS+=("$e"); else log "$e is not available: its column shows n/a"; fi
done

METRICS=(getpid forkwait forkexec pagefault true)
declare -A LABEL=(
    [getpid]="getpid latency (ns)"
    [forkwait]="fork+exit+wait (us)"
    [forkexec]="fork+execve(/bin/true)+wait (us)"
    [pagefault]="page fault, 256 MiB fresh anon (ns/page)"
    [true]="wall time of RUNTIME /bin/true (ms)"
)
declare -A R
for m in "${METRICS[@]}"; do
    for e in native runc runsc moat; do R[$m,$e]=n/a; done
    for e in "${ENVS[@]}"; do
        log "measuring $m under $e"
        if [[ $m == true ]]; then
            R[$m,$e]=$(measure_true "$e")
        else
            R[$m,$e]=$(measure "$e" "$m")
        fi
    done
done

ratio() { # a/b, or n/a
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2fx", a / b }'
}

header="metric|native|runc|runsc|moat|moat/native|moat/runsc|runsc/native"
rows=()
for m in "${METRICS[@]}"; do
    rows+=("${LABEL[$m]}|${R[$m,native]}|${R[$m,runc]}|${R[$m,runsc]}|${R[$m,moat]}|$(ratio "${R[$m,moat]}" "${R[$m,native]}")|$(ratio "${R[$m,moat]}" "${R[$m,runsc]}")|$(ratio "${R[$m,runsc]}" "${R[$m,native]}")")
done

echo
printf '%s\n' "$header" "${rows[@]}" | column -t -s '|'
echo
echo "Ratios are time ratios: above 1x is slower. Page-fault rate = 1e9 / (ns/page) pages per second."
echo
echo "### moat vs native, runc and runsc ($(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs)"
echo
echo "| ${header//|/ | } |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for r in "${rows[@]}"; do echo "| ${r//|/ | } |"; done
echo
ver() {
    local v
    v=$("$@" 2>/dev/null | head -1) || true
    echo "${v:-not installed}"
}
echo "runsc: Debian's package ($(ver runsc --version)), ptrace platform, --network=none."
echo "runc: $(ver runc --version). Each value is the best of ${REPEAT} means over at least ${SECONDS_PER}s of repetitions (/bin/true: mean of ${TRUE_RUNS} runs)."
