#!/usr/bin/env bash
# Verdict stability: runs a selection (default: the seed families, `--tag seed`) N times against
# one implementation in one harness process (`run --repeat N`, no baseline) and reports every case
# whose verdict differed between the runs, with how often each verdict came.
#
#   tools/stability.sh --iut pyzmq [--repeat 300] [--baseline] [--case GLOB ...] [-- extra run options]
#
# --baseline: judge the runs against the implementation's baseline (baselines/NAME.toml) instead of
# `--no-baseline`: a case whose verdicts are all ones its baseline lists (`verdict` and `also`,
# the implementation's own recorded variation, each with a finding) is printed as `known`, not as a
# flip, and does not make the exit status 1.
#
# Not a CI test (300 repeats of the seed families take hours); see README "Verdict stability".
# Uses ./target/release/zmtp-harness (built if missing: cargo build --release -p zmtp-harness), or $ZMTP_HARNESS.
# Every flipped case is followed by the reasons its non-PASS runs gave (the ten most frequent), with how often each came
# (the harness logs each non-PASS verdict as it comes: ZMTP_LOG=zmtp_harness::run=info).
# Exit status: 0 no flips, 1 flips, 2 the harness failed (an ERROR verdict also exits 2).
set -euo pipefail
cd "$(dirname "$0")/.."

iut=""
repeat=300
baseline=(--no-baseline)
selection=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --iut) iut="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --baseline) baseline=(); shift ;;
    --case|--tag|--exclude) selection+=("$1" "$2"); shift 2 ;;
    --) shift; extra+=("$@"); break ;;
    *) echo "unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ -n "$iut" ] || { echo "--iut NAME is required" >&2; exit 2; }
[ ${#selection[@]} -gt 0 ] || selection=(--tag seed)

bin=${ZMTP_HARNESS:-./target/release/zmtp-harness}
[ -x "$bin" ] || cargo build --release -q -p zmtp-harness

out=$(mktemp)
log=$(mktemp)
trap 'rm -f "$out" "$log"' EXIT
started=$(date +%s)
set +e
ZMTP_LOG=${ZMTP_LOG:-zmtp_harness::run=info} "$bin" run --iut "$iut" "${selection[@]}" --repeat "$repeat" ${baseline[@]+"${baseline[@]}"} --brief \
  ${extra[@]+"${extra[@]}"} >"$out" 2>"$log"
status=$?
set -e
took=$(( $(date +%s) - started ))
cases=$(sed -n 's/.* · \([0-9]*\) case(s) in .*/\1/p' "$out" | head -1)

echo "stability: $iut, ${selection[*]}${baseline[*]:+ (no baseline)}, $repeat runs of ${cases:-?} case(s) in ${took} s (harness exit $status)"
# The section lists `  id: V V V ...`, one verdict per run.
awk '
  /^Verdicts that differed between the runs/ { on = 1; next }
  on && /^  [^ ]+: / {
    id = $1; sub(/:$/, "", id); delete n; line = id ":"
    for (i = 2; i <= NF; i++) n[$i]++
    for (v in n) line = line " " v " " n[v]
    print "  flip " line; flips++; next
  }
  on && !/^  / { on = 0 }
  /^Verdicts that varied as the baseline records/ { known = 1; next }
  known && /^  [^ ]+: / {
    id = $1; sub(/:$/, "", id); delete n; line = id ":"
    for (i = 2; i <= NF; i++) n[$i]++
    for (v in n) line = line " " v " " n[v]
    print "  known " line " (verdicts the baseline lists)"; nknown++; next
  }
  known && !/^  / { known = 0 }
  END {
    if (flips == 0) print "  0 flips"; else print "  " flips " case(s) flipped"
    if (nknown > 0) print "  " nknown " case(s) varied within their baseline entries"
  }
' "$out"
# The reasons of each flipped case's non-PASS runs, from the log (colours stripped).
for id in $(awk '/^Verdicts that (differed between the runs|varied as the baseline records)/ { on = 1; next }
                 on && /^  [^ ]+: / { id = $1; sub(/:$/, "", id); print id; next }
                 on && !/^  / { on = 0 }' "$out"); do
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -F "case=$id verdict=" |
    sed -e 's/.*zmtp_harness::run: //' -e 's/ case=[^ ]* verdict=\([A-Z-]*\)$/ (\1)/' |
    sort | uniq -c | sort -rn | head -10 |
    awk -v id="$id" '{ n = $1; $1 = ""; sub(/^ /, ""); printf "    %s: %d× %s\n", id, n, $0 }' || true
done
# Against the baseline: the deviations of the last run, as the harness printed them.
if [ ${#baseline[@]} -eq 0 ]; then
  awk '/^Baseline .* listed\):/ { on = 1 } on && /^$/ { exit } on' "$out" | sed 's/^/  /'
fi
if [ "$status" -eq 2 ]; then
  grep -E "^  ERROR" "$out" | head -20 || true
  exit 2
fi
grep -q "^Verdicts that differed between the runs" "$out" && exit 1
exit 0
