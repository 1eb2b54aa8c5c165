#!/usr/bin/env bash
# The codec's performance regression gate: instructions per frame of each main decode and
# encode path, counted by callgrind (the same on every run of the same binary, however busy
# the machine), against the numbers checked in at codec/perf/instructions.toml.
#
#   codec/perf/gate.sh            # measure and compare; exit 1 if a path costs > 10 % more
#   codec/perf/gate.sh --update   # measure and write the numbers (after an intended change)
#
# Each path runs in `codec/perf/src/main.rs`, over a fixed buffer, inside one function
# (`measured`) that callgrind counts alone (--toggle-collect): start-up and building the input
# are not counted. Needs valgrind. GATE_TOLERANCE (default 10) is the allowed increase in %.
set -euo pipefail
cd "$(dirname "$0")/../.."
baseline=codec/perf/instructions.toml
tolerance=${GATE_TOLERANCE:-10}
update=false
[[ ${1:-} == --update ]] && update=true

command -v valgrind >/dev/null || { echo "gate: valgrind is not installed" >&2; exit 2; }
start=$SECONDS
cargo build --release -q -p zmtp-codec-perf
bin=${CARGO_TARGET_DIR:-target}/release/perf_gate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rustc_version=$(rustc --version)
valgrind_version=$(valgrind --version)
declare -A measured
paths=()
while read -r path frames; do
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
    --toggle-collect='*perf_gate::measured*' "$bin" "$path" >"$tmp/out" 2>"$tmp/err" \
    || { cat "$tmp/err" >&2; echo "gate: $path failed under valgrind" >&2; exit 2; }
  ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.out")
  if [[ -z $ir || $ir -lt $frames ]]; then
    echo "gate: $path: no instructions counted (is 'measured' still a separate function?)" >&2
    exit 2
  fi
  measured[$path]=$(awk -v ir="$ir" -v n="$frames" 'BEGIN { printf "%.2f", ir / n }')
  paths+=("$path")
done < <("$bin" --list)

if $update; then
  {
    echo "# Instructions per frame of each codec path under callgrind (codec/perf/gate.sh)."
    echo "# Written by \`codec/perf/gate.sh --update\`; the gate fails when a path costs more than"
    echo "# $tolerance % over these. Measured with: $rustc_version; $valgrind_version."
    echo "rustc = \"$rustc_version\""
    echo
    echo "[instructions_per_frame]"
    for p in "${paths[@]}"; do echo "\"$p\" = ${measured[$p]}"; done
  } >"$baseline"
  echo "gate: wrote $baseline ($((SECONDS - start)) s)"
  for p in "${paths[@]}"; do printf '  %-28s %10s\n' "$p" "${measured[$p]}"; done
  exit 0
fi

declare -A expected
while IFS='=' read -r key value; do
  key=$(echo "$key" | tr -d ' "')
  value=$(echo "$value" | tr -d ' ')
  [[ -n $key && -n $value ]] && expected[$key]=$value
done < <(sed -n '/^\[instructions_per_frame\]/,$p' "$baseline" | grep '=')
checked_with=$(sed -n 's/^rustc = "\(.*\)"/\1/p' "$baseline")

failed=0
printf '%-28s %10s %10s %8s\n' path baseline now change
for p in "${paths[@]}"; do
  now=${measured[$p]}
  was=${expected[$p]:-}
  if [[ -z $was ]]; then
    printf '%-28s %10s %10s %8s  NEW, no baseline\n' "$p" - "$now" -
    failed=1
    continue
  fi
  verdict=$(awk -v now="$now" -v was="$was" -v tol="$tolerance" 'BEGIN {
    change = (now - was) / was * 100
    printf "%+7.1f%%", change
    if (change > tol) printf "  SLOWER (more than %d %%)", tol
    else if (change < -tol) printf "  faster: update the baseline"
  }')
  printf '%-28s %10s %10s %s\n' "$p" "$was" "$now" "$verdict"
  [[ $verdict == *SLOWER* ]] && failed=1
done
echo "gate: $((SECONDS - start)) s; baseline from $checked_with, now $rustc_version"
if ((failed)); then
  cat >&2 <<MSG
gate: FAILED. A path costs more than $tolerance % over codec/perf/instructions.toml (or has no
baseline). If the change is intended (or the compiler changed), run codec/perf/gate.sh --update
and commit codec/perf/instructions.toml with a word on why; otherwise profile the path:
  valgrind --tool=callgrind --toggle-collect='*perf_gate::measured*' \\
    $bin PATH && callgrind_annotate --inclusive=yes callgrind.out.*
MSG
  exit 1
fi
echo "gate: ok"
