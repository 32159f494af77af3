#!/bin/bash
# SPDX-License-Identifier: MIT
# Frames per second of `bodydiag decode --json` against Debian's python3-canmatrix on the
# same DBC and capture, in the same run, printed as ratios; with valgrind, callgrind
# instructions per frame of the library's decoding alone and of `decode --json`.
#
# Usage: bench/decode-bench.sh BODYDIAG DBC_DECODE_BENCH [CORPUS_DIR] [REPEAT] [RUNS]
#   BODYDIAG          the bodydiag binary (use a release build for figures)
#   DBC_DECODE_BENCH  bench/dbc-decode-bench of the same build (lookup + dbc_decode only)
#   CORPUS_DIR        a corpus folder (default: the in-tree subset, tests/corpus/data)
#   REPEAT            how many times the capture is repeated (default 40)
#   RUNS              bodydiag runs, the best one counts (default 7)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage="usage: decode-bench.sh BODYDIAG DBC_DECODE_BENCH [CORPUS_DIR] [REPEAT] [RUNS]"
bodydiag=${1:?$usage}
decode_bench=${2:?$usage}
corpus=${3:-$here/../tests/corpus/data}
repeat=${4:-40}
runs=${5:-7}
dbc=$corpus/dbc/opendbc/hyundai_i30_2014.dbc
log=$corpus/candump/real/genesis-candump-2021-05-28_164301.log
python=/usr/bin/python3 # Debian's interpreter, where python3-canmatrix lives

for f in "$dbc" "$log" "$bodydiag" "$decode_bench"; do
	[ -e "$f" ] || { echo "decode-bench: missing $f" >&2; exit 1; }
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

# best whole-process time of N runs (DBC load included), microseconds from bash's clock
best_us() {
	local out=$1 best="" t0 t1 e
	shift
	for _ in $(seq "$runs"); do
		# a new file each run, as canmatrix's: truncating the previous run's 24 MB of
		# page cache inside the timed window is not decoding (it cost 5-10 ms of 22)
		[ "$out" = /dev/null ] || rm -f "$out"
		t0=${EPOCHREALTIME/./}
		"$@" >"$out" 2>/dev/null
		t1=${EPOCHREALTIME/./}
		e=$((t1 - t0))
		if [ -z "$best" ] || [ "$e" -lt "$best" ]; then best=$e; fi
	done
	echo "$best"
}
to_file=$(best_us "$tmp/bodydiag.jsonl" "$bodydiag" decode --json --dbc "$dbc" "$capture")
to_null=$(best_us /dev/null "$bodydiag" decode --json --dbc "$dbc" "$capture")
lines=$(wc -l <"$tmp/bodydiag.jsonl")

# canmatrix: one whole-process run; its decode loop (JSON to the file included) is timed
# inside, which is the reference the ratio is taken against
t0=${EPOCHREALTIME/./}
"$python" "$here/canmatrix_decode.py" "$dbc" "$capture" >"$tmp/canmatrix.jsonl" 2>"$tmp/canmatrix.err"
t1=${EPOCHREALTIME/./}
cm_us=$((t1 - t0))
cm_loop=$(sed -n 's/.*decode_s=\([0-9.]*\).*/\1/p' "$tmp/canmatrix.err" | tail -1)

awk -v n="$frames" -v lines="$lines" -v f="$to_file" -v z="$to_null" -v c="$cm_us" \
	-v cl="$cm_loop" -v r="$repeat" -v runs="$runs" 'BEGIN {
	f /= 1e6; z /= 1e6; c /= 1e6
	printf "input: hyundai_i30_2014.dbc + genesis capture x%d = %d frames (%d JSON lines)\n", r, n, lines
	printf "bodydiag decode --json : %10.0f frames/s to a file (%.4f s), %.0f frames/s to /dev/null (%.4f s); whole process, best of %d\n", n / f, f, n / z, z, runs
	printf "python3-canmatrix      : %10.0f frames/s in its decode loop (%.3f s; whole process %.3f s)\n", n / cl, cl, c
	printf "ratio                  : %10.1fx to a file, %.1fx to /dev/null (against its decode loop; target >= 160x)\n", cl / f, cl / z
}'

if grep -q __asan_init "$bodydiag" 2>/dev/null; then
	echo "note                   : $bodydiag is a sanitizer build; figures from a release build are in bench/README.md"
	exit 0
fi
if ! command -v valgrind >/dev/null; then
	echo "callgrind              : not measured (no valgrind)"
	exit 0
fi
# the library alone: dbc_find_message + dbc_decode of every frame, nothing else counted
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.lib" --toggle-collect=dbc_decode \
	--toggle-collect=dbc_find_message "$decode_bench" "$dbc" "$log" 10 >"$tmp/lib.out" 2>/dev/null || true
lib=$(sed -n 's/^summary: *//p' "$tmp/cg.lib" 2>/dev/null || true)
lib_frames=$(sed -n 's/^frames=\([0-9]*\).*/\1/p' "$tmp/lib.out")
# decode --json: the capture run minus an empty capture's (process start and DBC load)
: >"$tmp/empty.log"
cg() {
	valgrind --tool=callgrind --callgrind-out-file="$1" "$bodydiag" decode --json \
		--dbc "$dbc" "$2" >/dev/null 2>&1 || true
	sed -n 's/^summary: *//p' "$1" 2>/dev/null || true
}
base=$(cg "$tmp/cg.base" "$tmp/empty.log")
once=$(cg "$tmp/cg.once" "$log")
all=$(cg "$tmp/cg.all" "$capture")
n1=$(grep -c '#' "$log")
if [ -n "$lib" ] && [ -n "$lib_frames" ] && [ -n "$base" ] && [ -n "$once" ] && [ -n "$all" ]; then
	awk -v l="$lib" -v lf="$lib_frames" -v b="$base" -v o="$once" -v a="$all" -v n1="$n1" \
		-v n="$frames" -v r="$repeat" 'BEGIN {
		printf "callgrind, decoding    : %10.0f instructions/frame (dbc_find_message + dbc_decode; target <= 400)\n", l / lf
		printf "callgrind, decode --json: %9.0f instructions/frame on x%d, %.0f on x1 (read, decode, JSON; target <= 2000)\n", (a - b) / n, r, (o - b) / n1
		printf "callgrind, start       : %10.1fM instructions (process start and DBC load, excluded above)\n", b / 1e6
	}'
else
	echo "callgrind              : not measured (valgrind failed)"
fi
