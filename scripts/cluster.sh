#!/usr/bin/env bash
# A two-node cluster in QEMU serving one clustered mirror, with a node
# killed under writes (the guest side and the story: tests/cluster_vm.sh).
#   scripts/cluster.sh [rs|c]        (default rs; CLUSTER_LOG=disk|core,
#                                     CLUSTER_DAEMON=cmirrord|dm-logd)
#
# Each node is a virtme-ng guest of the test kernel with 1 vCPU. The mirror's
# two legs and its log are raw files attached to both guests as shared
# virtio disks (share-rw=on, cache=none, file locking off). The guests talk
# over a point-to-point QEMU dgram netdev bound to 127.0.0.1 (nothing leaves
# the host's loopback) and run corosync with a static two-node list, and
# LVM2's cmirrord as the log server (make lvm2 builds it).
#
# The host kills node 2's QEMU while it writes, boots it again for the
# rejoin, and at the end compares both leg images with the data written.
# Results: tests/out/cluster-<impl>-<log>/ (node logs, corosync and daemon
# logs, node<N>[.2].ktap); KTAP on stdout; exit status 0 only if all passed.
set -uo pipefail
. "$(dirname "$0")/common.sh"

. "$(dirname "$0")/cluster-lib.sh"
cluster_prereqs "${1:-rs}"
daemon=${CLUSTER_DAEMON:-cmirrord}
case "$daemon" in cmirrord | dm-logd) ;; *) die "CLUSTER_DAEMON must be cmirrord or dm-logd" ;; esac
DMLOGD=${DMLOGD:-$DMLOG_ROOT/target/release/dm-logd}
[ "$daemon" = cmirrord ] || [ -x "$DMLOGD" ] || die "no dm-logd at $DMLOGD: run 'make daemon'"
limit=${CLUSTER_TIMEOUT:-1800} # seconds for the whole run

out=$DMLOG_ROOT/tests/out/cluster-$impl-$clog-$daemon
run=$out/run
rm -rf "$out"
mkdir -p "$run"
# Legs of 64 MiB: leg 0 random (the initial resync copies it), leg 1 zeros;
# a 4 MiB log; the data the nodes write (64 MiB, windows of MiB).
head -c 64M /dev/urandom >"$out/leg0.img" &&
	truncate -s 64M "$out/leg1.img" && truncate -s 4M "$out/log.img" &&
	head -c 64M /dev/urandom >"$run/pattern.bin" || die "cannot make the disk images"
# The daemon binary the guests run: a copy, so that a rebuild during the
# run changes nothing.
[ "$daemon" = cmirrord ] || cp "$DMLOGD" "$out/dm-logd" || die "cannot copy $DMLOGD"

GUEST=$DMLOG_ROOT/tests/cluster_vm.sh
GUEST_ENV="CLUSTER_LOG=$clog CLUSTER_DAEMON=$daemon CMIRRORD=$CMIRRORD DMLOGD=$out/dm-logd DMLOG_CACHE=$DMLOG_CACHE"
any_failed() { compgen -G "$run/failed.*" >/dev/null; }
waitfile() { # FILE TIMEOUT_S: until FILE exists; not once a node failed
	local i
	for i in $(seq 1 $(($2 * 5))); do
		[ -e "$1" ] && return 0
		any_failed && return 1
		sleep 0.2
	done
	return 1
}

trap cleanup EXIT

t0=$SECONDS
log "cluster run: LOG_IMPL=$impl, clustered-$clog log, $daemon on both nodes; results in $out"
boot 1 1
p1=$booted
boot 2 1
p2=$booted
host_fail=
# Node 2 writes in a loop and says so; kill its QEMU 1-4 s later.
if waitfile "$run/kill-me.2" $limit && ! any_failed; then
	sleep $((1 + RANDOM % 4))
	q=$(qemu_pid 2)
	if [ -n "$q" ]; then
		kill -9 "$q"
		log "killed node 2 (QEMU pid $q) while it wrote"
		: >"$run/killed.host"
	else
		host_fail+=" node-2-not-found"
	fi
	wait "$p2" 2>/dev/null
	# The rejoin, once node 1 has recovered.
	if waitfile "$run/recovered.1" $((limit - (SECONDS - t0))) && ! any_failed; then
		log "node 1 recovered: booting node 2 again"
		boot 2 2
		p2=$booted
	fi
fi
# Both nodes end their runs; a hang is bounded by the run limit.
for p in $p1 $p2; do
	while kill -0 "$p" 2>/dev/null; do
		if [ $((SECONDS - t0)) -ge "$limit" ]; then
			host_fail+=" timeout"
			cleanup
			break
		fi
		if any_failed; then
			# A node gave up: the other waits on it or writes for ever.
			sleep 20
			cleanup
			break
		fi
		sleep 2
	done
	wait "$p" 2>/dev/null
done

# The verdict: every node's KTAP, then the images.
echo "KTAP version 1"
echo "# dm-log-rs cluster test: LOG_IMPL=$impl, clustered-$clog, $daemon, 2 nodes"
k=0
rc=0
result() { # OK? NAME
	k=$((k + 1))
	if [ "$1" = 0 ]; then echo "ok $k $2"; else echo "not ok $k $2"; rc=1; fi
}
for f in node1 node2 node2.2; do
	echo "# --- $f"
	if [ -f "$out/$f.ktap" ]; then
		sed -n '/^KTAP version/,$p' "$out/$f.ktap" | sed 's/^/    /'
	fi
	case $f in
	node2) # killed on purpose: all its steps up to the kill passed
		! grep -q '^not ok' "$out/$f.ktap" 2>/dev/null && [ -e "$run/kill-me.2" ] ;;
	*) ! grep -q '^not ok' "$out/$f.ktap" 2>/dev/null && [ -e "$run/done.${f#node}" ] ;;
	esac
	result $? "$f: every step passed"
done
# The legs: identical, and holding what the nodes wrote: MiB 0-7 window 24
# (node 1 after the kill), the rest window i at MiB i (the writes of both
# nodes before the kill and after the rejoin).
expect() { dd if="$run/pattern.bin" bs=1M skip=24 count=8 status=none; dd if="$run/pattern.bin" bs=1M skip=8 status=none; }
cmp -s "$out/leg0.img" "$out/leg1.img"
result $? "leg images identical (64 MiB)"
cmp -s <(expect) "$out/leg0.img"
result $? "leg 0 holds every completed write of both nodes"
[ -z "$host_fail" ]
result $? "host: node 2 killed and rebooted, run within $limit s${host_fail:+ (failed:$host_fail)}"
echo "1..$k"
log "cluster run took $((SECONDS - t0)) s"
exit $rc
