#!/usr/bin/env bash
# Builds (if needed) and runs one fuzz target for a bounded time.
#
#   fuzz/run.sh TARGET SECONDS [--asan]
#   fuzz/run.sh all SECONDS [--asan]      # every target, SECONDS each
#
# With `all`, FUZZ_JOBS=N (default 1) runs N targets at once, each on its own core for its full
# SECONDS (libFuzzer runs one process per target here), after building them all first; the
# summary lines come in target order. CI uses 2 on its 2 cores.
#
# TARGET: greeting | stream_chunks | command | session | roundtrip
# Default: no sanitizer (`cargo fuzz run -s none`, works on stable). --asan: AddressSanitizer,
# via RUSTC_BOOTSTRAP=1 on a stable toolchain.
#
# Uses the seed corpus (regenerated from vectors/ by gen_corpus.py, fuzz/corpus/TARGET, which
# libFuzzer grows), the dictionary fuzz/dict/zmtp.dict and a per-target -max_len. Crashes go to
# fuzz/artifacts/TARGET/ (never deleted here); the full libFuzzer log to
# fuzz/artifacts/TARGET/last-run.log. Exits non-zero if a crash (or timeout, or OOM) was found.
# Ends with one line per target: total executions and executions per second.
set -uo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[[ $# -ge 2 ]] || usage
target=$1
seconds=$2
asan=0
case "${3:-}" in
    "") ;;
    --asan) asan=1 ;;
    *) usage ;;
esac
[[ $seconds =~ ^[0-9]+$ ]] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cd "$root" || exit 2

all_targets=(greeting stream_chunks command session roundtrip)

max_len_of() {
    case $1 in
        greeting) echo 128 ;;       # a 64-octet greeting and a little after it
        command) echo 1024 ;;       # command bodies (CURVE INITIATE is 257+)
        stream_chunks | session | roundtrip) echo 4096 ;;  # several frames, some long
        *) return 1 ;;
    esac
}

if ! cargo fuzz --help >/dev/null 2>&1; then
    echo "run.sh: cargo-fuzz missing; installing it (about 45 s)" >&2
    cargo install cargo-fuzz --locked >&2 || exit 2
fi

python3 fuzz/gen_corpus.py || exit 2

if [[ $asan -eq 1 ]]; then
    sanitizer=(-s address)
    export RUSTC_BOOTSTRAP=1
else
    sanitizer=(-s none)
fi

run_one() {
    local t=$1 max_len
    max_len=$(max_len_of "$t") || usage
    local artifacts="$root/fuzz/artifacts/$t"
    local log="$artifacts/last-run.log"
    mkdir -p "$artifacts" "$root/fuzz/corpus/$t"

    local start=$SECONDS
    if ! cargo fuzz build "${sanitizer[@]}" "$t" >"$artifacts/last-build.log" 2>&1; then
        cat "$artifacts/last-build.log" >&2
        echo "== $t: BUILD FAILED" >&2
        return 2
    fi
    local built=$((SECONDS - start))

    # cargo fuzz passes -artifact_prefix=fuzz/artifacts/TARGET/ itself.
    # -timeout: one input running this long is a hang. -malloc_limit_mb: one allocation this
    # large is a bug (declared sizes must not drive allocation; enforced with --asan).
    cargo fuzz run "${sanitizer[@]}" "$t" "$root/fuzz/corpus/$t" -- \
        -max_total_time="$seconds" \
        -max_len="$max_len" \
        -dict="$root/fuzz/dict/zmtp.dict" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -malloc_limit_mb=256 \
        -print_final_stats=1 \
        >"$log" 2>&1
    local rc=$?
    local ran=$((SECONDS - start - built))

    local execs eps
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    if [[ -z $execs ]]; then
        execs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' | tail -1)
    fi
    local cov
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)

    if [[ $rc -ne 0 ]]; then
        echo "---- last 60 lines of $log" >&2
        tail -n 60 "$log" >&2
        echo "---- artifacts:" >&2
        ls -1 "$artifacts" | grep -v '^last-' | sed "s|^|  fuzz/artifacts/$t/|" >&2
        echo "reproduce: cargo fuzz run ${sanitizer[*]} $t fuzz/artifacts/$t/<file>" >&2
    fi
    local mode=none
    [[ $asan -eq 1 ]] && mode=asan
    local verdict=ok
    [[ $rc -ne 0 ]] && verdict="FAILED (rc=$rc)"
    echo "== $t [$mode]: ${execs:-?} executions in ${ran} s, ${eps:-?} exec/s, ${cov:-cov ?}, build ${built} s: $verdict"
    return $rc
}

# Every target, FUZZ_JOBS at a time: build them all first (cargo would serialise the builds and
# a build would eat into another target's time), then run, each with its output kept apart and
# printed in target order.
run_all() {
    local jobs=${FUZZ_JOBS:-1}
    [[ $jobs =~ ^[1-9][0-9]*$ ]] || usage
    mkdir -p "$root/fuzz/artifacts"
    if ! cargo fuzz build "${sanitizer[@]}" >"$root/fuzz/artifacts/last-build-all.log" 2>&1; then
        cat "$root/fuzz/artifacts/last-build-all.log" >&2
        echo "== all: BUILD FAILED" >&2
        return 2
    fi
    local out status=0 t
    out=$(mktemp -d)
    for t in "${all_targets[@]}"; do
        while (($(jobs -rp | wc -l) >= jobs)); do
            wait -n || true
        done
        (
            run_one "$t"
            echo $? >"$out/$t.rc"
        ) >"$out/$t.log" 2>&1 &
    done
    wait
    for t in "${all_targets[@]}"; do
        cat "$out/$t.log"
        [[ $(cat "$out/$t.rc" 2>/dev/null) == 0 ]] || status=1
    done
    rm -rf "$out"
    return $status
}

if [[ $target == all ]]; then
    run_all
    exit $?
fi
max_len_of "$target" >/dev/null || usage
run_one "$target"
