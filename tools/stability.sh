#!/usr/bin/env bash
# Verdict stability: runs a selection (default: the seed families, `--tag seed`) N times against
# one implementation in one harness process (`run --repeat N`, no baseline) and reports every case
# whose verdict differed between the runs, with how often each verdict came.
#
#   tools/stability.sh --iut pyzmq [--repeat 300] [--case GLOB ...] [-- extra run options]
#
# Not a CI test (300 repeats of the seed families take hours); see README "Verdict stability".
# Uses ./target/release/zmtp-harness (built if missing: cargo build --release -p zmtp-harness), or $ZMTP_HARNESS.
# Exit status: 0 no flips, 1 flips, 2 the harness failed (an ERROR verdict also exits 2).
set -euo pipefail
cd "$(dirname "$0")/.."

iut=""
repeat=300
selection=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --iut) iut="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
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
trap 'rm -f "$out"' EXIT
started=$(date +%s)
set +e
"$bin" run --iut "$iut" "${selection[@]}" --repeat "$repeat" --no-baseline --brief \
  ${extra[@]+"${extra[@]}"} >"$out" 2>/dev/null
status=$?
set -e
took=$(( $(date +%s) - started ))
cases=$(sed -n 's/.* · \([0-9]*\) case(s) in .*/\1/p' "$out" | head -1)

echo "stability: $iut, ${selection[*]}, $repeat runs of ${cases:-?} case(s) in ${took} s (harness exit $status)"
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
  END { if (flips == 0) print "  0 flips"; else print "  " flips " case(s) flipped" }
' "$out"
if [ "$status" -eq 2 ]; then
  grep -E "^  ERROR" "$out" | head -20 || true
  exit 2
fi
grep -q "^Verdicts that differed between the runs" "$out" && exit 1
exit 0
