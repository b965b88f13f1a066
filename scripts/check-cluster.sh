#!/usr/bin/env bash
# make check-cluster: the two-node cluster test (scripts/cluster.sh) for
# each log server, kernel implementation and clustered log type.
#   CLUSTER_DAEMONS="dm-logd cmirrord" (default both), IMPL="rs c" (default
#   both), CLUSTER_LOGS="disk core" (default disk)
# Ends with "N passed, N failed" and the time each run took.
set -uo pipefail
. "$(dirname "$0")/common.sh"

impls=${IMPL:-rs c}
logs=${CLUSTER_LOGS:-disk}
daemons=${CLUSTER_DAEMONS:-dm-logd cmirrord}
pass=0
failed=0
summary=
for daemon in $daemons; do
for impl in $impls; do
	for clog in $logs; do
		t0=$SECONDS
		if CLUSTER_DAEMON=$daemon CLUSTER_LOG=$clog "$DMLOG_ROOT/scripts/cluster.sh" "$impl"; then
			pass=$((pass + 1))
			r=passed
		else
			failed=$((failed + 1))
			r=FAILED
		fi
		summary+="  $daemon, $impl, clustered-$clog: $r in $((SECONDS - t0)) s"$'\n'
	done
done
done
printf '%s' "$summary"
echo "check-cluster: $pass passed, $failed failed"
[ "$failed" = 0 ]
