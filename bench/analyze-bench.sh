#!/bin/bash
# SPDX-License-Identifier: MIT
# CPU per frame of the whole diagnosis pipeline (candump parse -> DBC decode of the read
# signals -> timeline -> rules, with marks) through `bodydiag analyze`, against `bodydiag
# decode` (text output to /dev/null) on the same capture in the same run; printed as a
# ratio and as ns/frame. Loading (DBC, profile, rules) is measured on an empty capture
# and subtracted from both.
#
# Usage: bench/analyze-bench.sh BODYDIAG BODYDIAG_SIM [SOURCE_ROOT] [CYCLES]
#   BODYDIAG      the bodydiag binary (use a release build for figures)
#   BODYDIAG_SIM  the simulator that writes the capture (bodydiag-sim --candump)
#   SOURCE_ROOT   source tree for dbc/, profiles/, rules/ (default: beside this script)
#   CYCLES        test cycles (fob, interior, key blade; 15 s each) in the capture
#                 (default 120: ~30 min of bus time, ~490k frames with 100 noise frames/s)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bodydiag=${1:?usage: analyze-bench.sh BODYDIAG BODYDIAG_SIM [SOURCE_ROOT] [CYCLES]}
sim=${2:?usage: analyze-bench.sh BODYDIAG BODYDIAG_SIM [SOURCE_ROOT] [CYCLES]}
root=${3:-$here/..}
cycles=${4:-120}
dbc=$root/dbc/bodydiag-sim.dbc
profile=$root/profiles/sim-2026.profile
rules=$root/rules/trunk.rules

for f in "$dbc" "$profile" "$rules"; do
	[ -f "$f" ] || { echo "analyze-bench: missing $f" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "analyze-bench: needs /usr/bin/time (package time)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A long capture of the simulated car with a fault, jitter and noise, and its marks.
{
	printf 'format 1\nseed 7\nfault hinge_wiring_intermittent\njitter 5ms\nnoise 100/s\n'
	for ((i = 0; i < cycles; i++)); do
		t=$((2 + i * 15))
		printf 'at %ds press fob_trunk\nat %ds close_lid\nat %ds press interior\n' \
			"$t" $((t + 3)) $((t + 5))
		printf 'at %ds close_lid\nat %ds key_blade\n' $((t + 8)) $((t + 10))
	done
	printf 'end %ds\n' $((cycles * 15 + 5))
} >"$tmp/bench.scn"
"$sim" --dbc "$dbc" --scenario "$tmp/bench.scn" --candump "$tmp/capture.log" --marks "$tmp/marks"
: >"$tmp/empty.log"
frames=$(grep -c '#' "$tmp/capture.log")

# best (lowest) user+system CPU seconds of three runs
cpu() {
	local best="" c
	for _ in 1 2 3; do
		/usr/bin/time -f '%U %S' -o "$tmp/time" "$@" >/dev/null
		c=$(awk '{ printf "%.3f", $1 + $2 }' "$tmp/time")
		if [ -z "$best" ] || awk -v c="$c" -v b="$best" 'BEGIN { exit !(c < b) }'; then
			best=$c
		fi
	done
	echo "$best"
}

analyze=("$bodydiag" analyze --dbc "$dbc" --profile "$profile" --rules "$rules" --marks "$tmp/marks")
decode=("$bodydiag" decode --dbc "$dbc")
a=$(cpu "${analyze[@]}" "$tmp/capture.log")
a0=$(cpu "${analyze[@]}" "$tmp/empty.log")
d=$(cpu "${decode[@]}" "$tmp/capture.log")
d0=$(cpu "${decode[@]}" "$tmp/empty.log")
"${analyze[@]}" "$tmp/capture.log" | sed -n '1,2p' >"$tmp/summary"

awk -v n="$frames" -v a="$a" -v a0="$a0" -v d="$d" -v d0="$d0" -v c="$cycles" 'BEGIN {
	an = (a - a0) * 1e9 / n; dn = (d - d0) * 1e9 / n
	printf "input: bodydiag-sim capture, %d test cycles, %d frames (hinge_wiring_intermittent, jitter 5 ms, noise 100/s)\n", c, n
	printf "bodydiag analyze : %8.0f ns/frame CPU (%.3f s, load %.3f s subtracted)\n", an, a, a0
	printf "bodydiag decode  : %8.0f ns/frame CPU (%.3f s, load %.3f s subtracted; text to /dev/null)\n", dn, d, d0
	printf "ratio            : %8.2f (analyze / decode)\n", (dn > 0 ? an / dn : 0)
	printf "target           : < 1000 ns/frame: %s\n", (an < 1000 ? "met" : "NOT met")
}'
sed 's/^/analysis         : /' "$tmp/summary"
if grep -q __asan_init "$bodydiag" 2>/dev/null; then
	echo "note             : $bodydiag is a sanitizer build; use a release build for figures (bench/README.md)"
elif command -v valgrind >/dev/null; then
	# instructions per frame on the first 40000 frames, loading subtracted
	head -40000 "$tmp/capture.log" >"$tmp/small.log"
	n=$(grep -c '#' "$tmp/small.log")
	ipf() {
		local base run
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.base" "$@" "$tmp/empty.log" \
			>/dev/null 2>>"$tmp/vg.err" || true
		valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.run" "$@" "$tmp/small.log" \
			>/dev/null 2>>"$tmp/vg.err" || true
		base=$(sed -n 's/^summary: *//p' "$tmp/cg.base" 2>/dev/null || true)
		run=$(sed -n 's/^summary: *//p' "$tmp/cg.run" 2>/dev/null || true)
		if [ -n "$base" ] && [ -n "$run" ] && [ "$run" -gt "$base" ]; then
			echo $(((run - base) / n))
		else
			echo "?"
		fi
	}
	echo "callgrind        : analyze $(ipf "${analyze[@]}") instructions/frame, decode $(ipf "${decode[@]}") instructions/frame"
fi
