#!/usr/bin/env bash
# Build every C test program in tests/c (static, static-PIE, dynamic) and run
# each case natively: the oracle side of the differential tests must be
# sound. A case fails here if it prints a FAIL line, times out, or is
# unknown; dying on purpose (die_* cases) is fine.
#
# usage: tests/run-native.sh [PROG...]     (default: all but fuzz)
#   also runs `fuzz --native` briefly when no PROG is given.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/tmp/moat-c-native
mkdir -p "$out"
progs=("$@")
if ((${#progs[@]} == 0)); then progs=(mem loader procs sigs files timing threads); fi
fails=0 passes=0
for p in "${progs[@]}"; do
    for v in static pie dyn; do
        case $v in static) f=-static ;; pie) f="-static-pie -fPIE" ;; dyn) f= ;; esac
        # shellcheck disable=SC2086
        gcc $f -O1 -pthread -g -Wall -Wno-unused-result -o "$out/$p-$v" "tests/c/$p.c"
        for c in $("$out/$p-$v" --list); do
            log=$(mktemp)
            rc=0
            { timeout 120 "$out/$p-$v" "$c" </dev/null >"$log" 2>&1; } 2>/dev/null || rc=$?
            if grep -q '^FAIL' "$log" || ((rc == 124)) || grep -q 'unknown case' "$log"; then
                echo "FAIL $p-$v $c (status $rc)"
                grep '^FAIL' "$log" | head -5 | sed 's/^/    /'
                fails=$((fails + 1))
            else
                passes=$((passes + 1))
            fi
            rm -f "$log"
        done
    done
done
if (($# == 0)); then
    gcc -static -O1 -pthread -o "$out/fuzz" tests/c/fuzz.c
    if [[ $(cd /tmp && timeout 300 "$OLDPWD/$out/fuzz" --native 1 10 2000 2>/dev/null) == survived ]]; then
        passes=$((passes + 1))
    else
        echo "FAIL fuzz --native"
        fails=$((fails + 1))
    fi
fi
echo "native: $passes passed, $fails failed"
((fails == 0))
