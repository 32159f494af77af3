#!/bin/bash
# SPDX-License-Identifier: MIT
# bodydiagd's memory in the VM bench (real kernel CAN): VmRSS, RssAnon and Pss (from
# /proc/PID/status and smaps_rollup) after start, after an hour of bus at full load
# replayed in minutes, and after each of three rounds of 10,000 API requests: the second
# and third must not grow it (the first set up what requests use once). Targets (issue 19):
# RssAnon <= 2 MiB, VmRSS <= 4 MiB, flat.
#
# The hour: 500 kbit/s carries ~4,000 8-byte frames/s (~125 bits each with stuffing), so
# an hour is 14.4 M frames. They are bodydiag-sim's broadcast (test cycles with a fault,
# 5 ms jitter: every frame is one the profile's DBC decodes and the rules read) sent on
# vcan0 in bursts as fast as the daemon takes them (~40,000 frames/s under TCG: ~6 min),
# so the daemon's frame path, timeline and rules see an hour's frames; what depends on
# the wall clock (timers, the history's retention) sees minutes. The frame count the
# daemon received and its kernel drops are printed.
# The requests: every method a client uses (uds-rt-client mix), UDS reads answered by
# bodydiag-sim, a new connection every 50 and a live subscription every 100, in
# MEMORY_BENCH_ROUNDS rounds (default 3): the first sets up what requests use once; the
# last must leave the daemon's anonymous memory where it was, and none in between may grow
# more than the one before it (the history's page cache may still be filling to its bound
# in the second round while the requests' own dtc.reads grow the file past it: growth that
# stops; a leak does not). Growth is judged
# on smaps_rollup's Anonymous (the page tables), not on status's RssAnon, which on kernels
# before 6.2 misses up to 64 page faults per thread (bench/memory-guest).
# The daemon runs with the malloc tunables of its systemd unit (GLIBC_TUNABLES: glibc's
# tcache off, systemd/bodydiagd.service.in says why), the reference with none.
#
# Usage: bench/memory-bench.sh BUILD_ROOT [SOURCE_ROOT] [FRAMES] [REQUESTS] [REF_BODYDIAGD]
#   BUILD_ROOT     build directory with daemon/bodydiagd, tools/bodydiag-sim/bodydiag-sim,
#                  bench/uds-rt-client (a release build without sanitizers for figures)
#   FRAMES         frames replayed (default 14400000: an hour at full load)
#   REQUESTS       API requests per round (default 10000; MEMORY_BENCH_ROUNDS rounds, 3)
#   REF_BODYDIAGD  a reference daemon (another build's, e.g. main's) measured the same
#                  way in the same boot; ratios against it are printed
# Ratios are printed against the daemon right after start (same run) and against the
# reference. Exit status 1 when the anonymous memory grew over the last round of requests,
# or over a round after the first by more than over the one before it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: memory-bench.sh BUILD_ROOT [SOURCE_ROOT] [FRAMES] [REQUESTS] [REF_BODYDIAGD]}" && pwd)
root=$(cd "${2:-$here/..}" && pwd)
frames=${3:-14400000}
requests=${4:-10000}
ref=${5:-}
rounds=${MEMORY_BENCH_ROUNDS:-3}
[ "$rounds" -ge 2 ] 2>/dev/null || { echo "memory-bench: MEMORY_BENCH_ROUNDS must be 2 or more" >&2; exit 1; }

for f in "$build/daemon/bodydiagd" "$build/tools/bodydiag-sim/bodydiag-sim" \
	"$build/bench/uds-rt-client" "$root/profiles/sim-2026.profile" \
	"$root/systemd/bodydiagd.service.in" \
	"$root/dbc/bodydiag-sim.dbc" "$root/rules" ${ref:+"$ref"}; do
	[ -e "$f" ] || { echo "memory-bench: missing $f" >&2; exit 1; }
done
if grep -q '^b_sanitize.*address' "$build/meson-info/intro-buildoptions.json" 2>/dev/null ||
	nm -D "$build/daemon/bodydiagd" 2>/dev/null | grep -q __asan_init; then
	echo "memory-bench: $build is a sanitizer build: its memory says nothing of the daemon's." \
		"Use a release build (meson setup build-rel --buildtype=release)."
fi

tmp=$(mktemp -d /tmp/memory-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# 20 test cycles of the release chain with an intermittent hinge wiring fault: 5 min of
# bus, ~52,000 frames, sent over and over.
"$here/sim-scenario" 20 >"$tmp/cycles.scn"
"$build/tools/bodydiag-sim/bodydiag-sim" --dbc "$root/dbc/bodydiag-sim.dbc" \
	--scenario "$tmp/cycles.scn" --candump "$tmp/cycles.log"

copies=(--copy "$build/daemon/bodydiagd" --copy "$build/tools/bodydiag-sim/bodydiag-sim"
	--copy "$build/bench/uds-rt-client" --copy "$root/profiles/sim-2026.profile"
	--copy "$root/dbc/bodydiag-sim.dbc" --copy "$root/rules" --copy "$tmp/cycles.log"
	--copy "$root/systemd/bodydiagd.service.in")
[ -n "$ref" ] && copies+=(--copy "$ref")
# The guest gives each program 300 s unless told otherwise; an hour of frames takes longer.
export BODYDIAG_BUILD_ROOT=$build BODYDIAG_SOURCE_ROOT=$root BODYDIAG_VM_TEST_TIMEOUT=3500
export BD_TEST_ARGS="$tmp/cycles.log $frames $requests $rounds $ref"
"$root/tests/vm/run-bench" --plain --timeout 3600 --run "$here/memory-guest" "${copies[@]}" |
	tee "$tmp/out.txt"

# The summary: each point against the daemon after start and against the reference.
awk -v req="$requests" '
  /^MEM / {
    who = $2; pt = $0; sub(/^MEM [a-z]+ /, "", pt); sub(/ +VmRSS.*/, "", pt)
    for (i = 1; i <= NF; i++) {
      if ($i == "VmRSS") rss[who, pt] = $(i + 1)
      if ($i == "RssAnon") anon[who, pt] = $(i + 1)
      if ($i == "Pss") pss[who, pt] = $(i + 1)
      if ($i == "Anonymous") an[who, pt] = $(i + 1)
    }
    if (!(pt in seen)) { seen[pt] = 1; order[++n] = pt }
    has[who] = 1
  }
  END {
    if (!n) exit 1
    printf "\nSUMMARY (kB; x = ratio to the same daemon after start%s)\n", has["reference"] ? "; ref = ratio to the reference at the same point" : ""
    for (k = 1; k <= n; k++) {
      p = order[k]
      printf "  %-26s VmRSS %5d (%.2fx)  RssAnon %5d (%.2fx)  Pss %5d (%.2fx)", p,
        rss["this", p], rss["this", p] / rss["this", order[1]],
        anon["this", p], anon["this", p] / anon["this", order[1]],
        pss["this", p], pss["this", p] / pss["this", order[1]]
      if (has["reference"])
        printf "   ref: VmRSS %.2f, RssAnon %.2f, Pss %.2f", rss["this", p] / rss["reference", p],
          anon["this", p] / anon["reference", p], pss["this", p] / pss["reference", p]
      printf "\n"
    }
    maxr = 0; maxa = 0
    for (k = 1; k <= n; k++) {
      if (rss["this", order[k]] > maxr) maxr = rss["this", order[k]]
      if (anon["this", order[k]] > maxa) maxa = anon["this", order[k]]
    }
    printf "TARGET RssAnon <= 2048 kB: %s (max %d kB)\n", maxa <= 2048 ? "met" : "NOT met", maxa
    printf "TARGET VmRSS <= 4096 kB: %s (max %d kB)\n", maxr <= 4096 ? "met" : "NOT met", maxr
    # points: 1 start, 2 replay, 3.. one per round of requests
    printf "ROUNDS of %d requests, Anonymous (smaps_rollup) and RssAnon (status) after each, kB:\n", req
    printf "  after the replay %d (RssAnon %d)\n", an["this", order[2]], anon["this", order[2]]
    # Flat: the last round grew nothing, and no round after the first grew more than the
    # one before it. Growth that shrinks to zero is a cache warming to its bound (SQLite
    # fills its 256 KiB as the file passes it); a leak or a ratchet grows every round, or
    # grows again after a flat one.
    bad = 0; prevd = -1
    for (k = 3; k <= n; k++) {
      d = an["this", order[k]] - an["this", order[k - 1]]
      last = an["this", order[n]] - an["this", order[n - 1]]
      note = ""
      if (k == 3) note = ": what the first requests set up"
      else if (d > 0 && last == 0 && (prevd < 0 || d <= prevd)) note = ": warming, stopped by the last round"
      else if (d > 0) { note = ": GREW"; bad = 1 }
      if (k > 3) prevd = d
      printf "  round %d: %d (%+d; RssAnon %d, %+d)%s\n", k - 2, an["this", order[k]], d,
        anon["this", order[k]], anon["this", order[k]] - anon["this", order[k - 1]], note
    }
    if (an["this", order[n]] - an["this", order[n - 1]] > 0) bad = 1
    printf "TARGET flat after the first round: %s\n", (bad ? "NOT met" : "met (the last round grew nothing)")
    exit bad
  }' "$tmp/out.txt"
