#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the cluster benchmark (scripts/cluster-bench.sh): one node of
# the two-node corosync cluster of scripts/cluster.sh, serving a clustered
# mirror with dm-logd --cluster and with cmirrord in turn, in the same boot.
#
# Per round and server (the order alternates between rounds): both nodes
# start the server; node 1 creates the mirror (nosync), node 2 joins it;
# node 1, then node 2 runs fio, 4 KiB random writes with O_DIRECT over the
# whole mirror, one in flight then 16, while the other node is a member
# that applies every group message; both remove the mirror and stop the
# server. A write to a region that is not dirty waits for MARK and FLUSH to
# go round the group, so the write latency at one in flight is mostly the
# log's round trips. Node 1 is cmirrord's server and dm-logd's writer (it
# created the log first); node 2 is neither, so its requests need the
# other node's answer on cmirrord (two group messages each), and only its
# FLUSH does on dm-logd.
#
# Environment: NODE, RUN, LOG_IMPL, CLUSTER_LOG (disk or core), CMIRRORD,
# DMLOGD, BENCH_ROUNDS, BENCH_SECONDS. Output: KTAP; the results, one line
# per fio run, in $RUN/bench.csv (both nodes append, in turn).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"
. "$(dirname "$0")/kernel_log.sh"

NODE=${NODE:?} RUN=${RUN:?}
ME=$NODE
CLUSTER_LOG=${CLUSTER_LOG:-disk}
CLUSTER_DAEMON=dm-logd
DMLOGD_OPTS= # no debug lines: cmirrord's build has none either
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-10}
. "$(dirname "$0")/cluster_lib.sh"

UUID=LVM-dmlogClusterBenchVg00000000000001mirrorLv00000000000000000000001
MIRROR=cb
LOGDEV=cluster-mlog

ktap_header "cluster bench: node $NODE, clustered-$CLUSTER_LOG, dm-logd vs cmirrord"

LEG0=$(disk dmlc-leg0) && LEG1=$(disk dmlc-leg1) && LOGDISK=$(disk dmlc-log) || {
	echo "Bail out! the shared disks are missing: $(ls /sys/block)"
	exit 1
}
SECT=$(sectors "$LEG0")

log_args() {
	if [ "$CLUSTER_LOG" = core ]; then
		echo "userspace 4 $UUID clustered-core 1024 nosync"
	else
		echo "userspace 5 $UUID clustered-disk $(dm_devnum $LOGDEV) 1024 nosync"
	fi
}
table() { echo "0 $SECT mirror $(log_args) 2 $(devnum "$LEG0") 0 $(devnum "$LEG1") 0"; }
dms() { timeout -k 5 120 dmsetup "$@"; }

t_setup() {
	mkdir -p "$WORK"
	start_network && start_corosync || return 1
	load_log_stack || fail "cannot load the dirty-log stack" || return 1
	if [ "$LOG_IMPL" = c ]; then modprobe dm-log-userspace || return 1; fi
	[ "$CLUSTER_LOG" = core ] ||
		dms create $LOGDEV --table "0 $(sectors "$LOGDISK") linear $(devnum "$LOGDISK") 0"
}

# fio on this node: DEPTH writes in flight for $SECS s; one CSV line.
bench_run() { # ROUND SERVER DEPTH
	local j
	j=$(fio --name=cb --filename="$(dm_node $MIRROR)" --rw=randwrite --bs=4k \
		--ioengine=libaio --iodepth="$3" --direct=1 --time_based --runtime="$SECS" \
		--randrepeat=0 --output-format=json 2>/dev/null) || fail "fio failed" || return 1
	printf '%s' "$j" | python3 -c '
import json, sys
w = json.load(sys.stdin)["jobs"][0]["write"]
c = w["clat_ns"]
p = c.get("percentile", {})
print("%s,%s,%s,%s,%.1f,%.1f,%.1f,%.1f" % (sys.argv[1], sys.argv[2], sys.argv[4], sys.argv[3],
      w["iops"], c["mean"] / 1000, p.get("50.000000", 0) / 1000, p.get("99.000000", 0) / 1000))
' "$1" "$2" "$3" "$NODE" >>"$RUN/bench.csv" || fail "cannot read fio's output" || return 1
	note "round $1, $2, iodepth $3: $(tail -n 1 "$RUN/bench.csv")"
}

# One round of one server on this node.
t_round() { # ROUND SERVER
	local r=$1 tag=$1-$2 peer=$((3 - NODE))
	CLUSTER_DAEMON=$2
	start_daemon || return 1
	arrive "up-$tag"
	await "up-$tag" $peer 300 || return 1
	if [ "$NODE" = 1 ]; then
		# A new log each time (a clustered-disk log is read back even
		# with nosync): no resync during the runs.
		[ "$CLUSTER_LOG" = core ] ||
			dd if=/dev/zero of="$(dm_node $LOGDEV)" bs=64k count=1 oflag=direct status=none ||
			return 1
		dms create $MIRROR --table "$(table)" || return 1
		arrive "created-$tag"
		await "created-$tag" 2 300 || return 1
		bench_run "$r" "$2" 1 && bench_run "$r" "$2" 16 || return 1
		arrive "measured-$tag"
		await "removed-$tag" 2 900 || return 1
		dms remove $MIRROR || return 1
	else
		await "created-$tag" 1 300 || return 1
		dms create $MIRROR --table "$(table)" || return 1
		arrive "created-$tag"
		await "measured-$tag" 1 900 || return 1
		bench_run "$r" "$2" 1 && bench_run "$r" "$2" 16 || return 1
		dms remove $MIRROR || return 1
		arrive "removed-$tag"
	fi
	arrive "done-$tag"
	await "done-$tag" $peer 300 || return 1
	# No log left: cmirrord takes SIGTERM now.
	stop_pid "$WORK/daemon.pid" TERM || stop_pid "$WORK/daemon.pid" KILL
}

t_teardown() {
	local rc=0
	dm_exists $LOGDEV && { dms remove $LOGDEV || rc=1; }
	stop_pid "$CS_DIR/pid" TERM || stop_pid "$CS_DIR/pid" KILL
	unload_log_stack || fail "cannot unload the stack: $(grep -E '^dm_' /proc/modules)" || rc=1
	return $rc
}

start_kernel_log

step "network, corosync with both nodes, the $LOG_IMPL log stack" t_setup
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then order="dm-logd cmirrord"; else order="cmirrord dm-logd"; fi
	for s in $order; do
		step "round $r: $s" t_round "$r" "$s"
	done
done
step "corosync stopped, the log stack unloaded" t_teardown
step "kernel log: no warning, lockdep report or oops" t_kernel_log
arrive done
ktap_finish
