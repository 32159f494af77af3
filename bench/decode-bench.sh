#!/bin/bash
# SPDX-License-Identifier: MIT
# Frames per second of `bodydiag decode --json` against Debian's python3-canmatrix on the
# same DBC and capture, in the same run, printed as a ratio; plus callgrind instructions
# per frame when valgrind is installed.
#
# Usage: bench/decode-bench.sh BODYDIAG [CORPUS_DIR] [REPEAT]
#   BODYDIAG    the bodydiag binary (use a release build for figures)
#   CORPUS_DIR  a corpus folder (default: the in-tree subset, tests/corpus/data)
#   REPEAT      how many times the capture is repeated (default 40)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bodydiag=${1:?usage: decode-bench.sh BODYDIAG [CORPUS_DIR] [REPEAT]}
corpus=${2:-$here/../tests/corpus/data}
repeat=${3:-40}
dbc=$corpus/dbc/opendbc/hyundai_i30_2014.dbc
log=$corpus/candump/real/genesis-candump-2021-05-28_164301.log
python=/usr/bin/python3 # Debian's interpreter, where python3-canmatrix lives

for f in "$dbc" "$log"; do
	[ -f "$f" ] || { echo "decode-bench: missing $f" >&2; exit 1; }
done
if ! "$python" -c 'import canmatrix' 2>/dev/null; then
	echo "decode-bench: python3-canmatrix is not installed (tools/install-deps)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
capture=$tmp/capture.log
for _ in $(seq "$repeat"); do cat "$log"; done >"$capture"
frames=$(grep -c '#' "$capture")

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# bodydiag: best of three whole-process runs (DBC load included)
best=""
for _ in 1 2 3; do
	t0=$(now)
	"$bodydiag" decode --json --dbc "$dbc" "$capture" >"$tmp/bodydiag.jsonl"
	t1=$(now)
	e=$(elapsed "$t0" "$t1")
	if [ -z "$best" ] || awk -v e="$e" -v b="$best" 'BEGIN { exit !(e < b) }'; then
		best=$e
	fi
done
lines=$(wc -l <"$tmp/bodydiag.jsonl")

# canmatrix: one whole-process run; its decode loop is timed inside as well
t0=$(now)
"$python" "$here/canmatrix_decode.py" "$dbc" "$capture" >"$tmp/canmatrix.jsonl" 2>"$tmp/canmatrix.err"
t1=$(now)
cm=$(elapsed "$t0" "$t1")
cm_loop=$(sed -n 's/.*decode_s=\([0-9.]*\).*/\1/p' "$tmp/canmatrix.err" | tail -1)

awk -v n="$frames" -v lines="$lines" -v b="$best" -v c="$cm" -v cl="$cm_loop" 'BEGIN {
	printf "input: hyundai_i30_2014.dbc + genesis capture x%d = %d frames (%d JSON lines)\n", '"$repeat"', n, lines
	printf "bodydiag decode --json : %10.0f frames/s (%.3f s, whole process)\n", n / b, b
	printf "python3-canmatrix      : %10.0f frames/s (%.3f s, whole process; %.0f frames/s in its decode loop)\n", n / c, c, n / cl
	printf "ratio                  : %10.1fx (whole process), %.1fx (against its decode loop alone)\n", c / b, cl / b
}'

if grep -q __asan_init "$bodydiag" 2>/dev/null; then
	echo "note                   : $bodydiag is a sanitizer build; figures from a release build are in bench/README.md"
elif command -v valgrind >/dev/null; then
	small=$tmp/small.log
	cp "$log" "$small"
	: >"$tmp/empty.log"
	# a sanitizer build does not run under valgrind: then this figure is left out
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.base" \
		"$bodydiag" decode --json --dbc "$dbc" "$tmp/empty.log" >/dev/null 2>"$tmp/vg.err" || true
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.run" \
		"$bodydiag" decode --json --dbc "$dbc" "$small" >/dev/null 2>>"$tmp/vg.err" || true
	base=$(sed -n 's/^summary: *//p' "$tmp/cg.base" 2>/dev/null || true)
	run=$(sed -n 's/^summary: *//p' "$tmp/cg.run" 2>/dev/null || true)
	n=$(grep -c '#' "$small")
	if [ -n "$base" ] && [ -n "$run" ] && [ "$run" -gt "$base" ]; then
		awk -v b="$base" -v r="$run" -v n="$n" 'BEGIN {
			printf "callgrind              : %10.0f instructions/frame (decode + JSON, DBC load of %.1fM excluded)\n", (r - b) / n, b / 1e6
		}'
	else
		echo "callgrind              : not measured (sanitizer build or valgrind failed)"
	fi
fi
