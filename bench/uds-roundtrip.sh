#!/bin/bash
# SPDX-License-Identifier: MIT
# UDS round trip through bodydiagd against bare kernel ISO-TP, in the VM bench (real
# kernel CAN stack, can0/can1 on one emulated 500 kbit/s bus): N x 0x22 0xD107 to
# bodydiag-sim on can1, once from a kernel ISO-TP socket on can0 (the reference: the
# transport the daemon itself uses, without the daemon) and once as did.read over one API
# connection; median, p90, ratio of the medians and the microseconds the daemon adds.
# Same boot: bodydiagd's fork/exec-to-READY=1 time (sd_notify on our NOTIFY_SOCKET) and
# its VmRSS/VmHWM after start, after the round trips and after replaying into its bus with
# canplayer a real capture (tests/corpus/data, ~29k frames of unknown IDs) and a
# bodydiag-sim capture (5 test cycles with a fault and noise, ~22k frames the DBC decodes).
#
# Usage: bench/uds-roundtrip.sh BUILD_ROOT [SOURCE_ROOT] [N]
#   BUILD_ROOT   build directory with daemon/bodydiagd, tools/bodydiag-sim/bodydiag-sim and
#                bench/uds-rt-client (use a release build for figures)
#   SOURCE_ROOT  source tree (default: beside this script)
#   N            round trips per side (default 200)
# BODYDIAG_VM_CACHE: where run-bench keeps the kernel (default /var/cache/bodydiag-vm).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: uds-roundtrip.sh BUILD_ROOT [SOURCE_ROOT] [N]}" && pwd)
root=$(cd "${2:-$here/..}" && pwd)
n=${3:-200}
capture=$root/tests/corpus/data/candump/real/civic_19_type_r-turnonanddrive.log

for f in "$build/daemon/bodydiagd" "$build/tools/bodydiag-sim/bodydiag-sim" \
	"$build/bench/uds-rt-client" "$root/profiles/sim-2026.profile" \
	"$root/dbc/bodydiag-sim.dbc" "$capture"; do
	[ -e "$f" ] || { echo "uds-roundtrip: missing $f" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/uds-roundtrip.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$here/sim-scenario" 5 100 >"$tmp/sim.scn"
"$build/tools/bodydiag-sim/bodydiag-sim" --dbc "$root/dbc/bodydiag-sim.dbc" \
	--scenario "$tmp/sim.scn" --candump "$tmp/sim-capture.log"

export BODYDIAG_BUILD_ROOT=$build BODYDIAG_SOURCE_ROOT=$root BD_TEST_ARGS="$n $tmp/sim-capture.log"
"$root/tests/vm/run-bench" --plain --timeout 600 \
	--run "$here/uds-roundtrip-guest" \
	--copy "$build/daemon/bodydiagd" --copy "$build/tools/bodydiag-sim/bodydiag-sim" \
	--copy "$build/bench/uds-rt-client" --copy "$root/profiles/sim-2026.profile" \
	--copy "$root/dbc/bodydiag-sim.dbc" --copy "$capture" --copy "$tmp/sim-capture.log"
