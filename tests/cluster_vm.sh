#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the cluster test (scripts/cluster.sh): one node of a
# two-node corosync cluster in QEMU, serving a clustered mirror whose legs
# and log are disks shared by both guests. Every node runs this script; the
# steps meet at barriers, files in the run directory $RUN shared with the
# host (a read-write 9p mount):
#   $RUN/<step>.<node>   node <node> reached <step>
#   $RUN/<step>.host     the host did <step> (killed a node, started one)
#
# Environment: NODE (1 or 2), BOOT (1; node 2 boots twice: 2 is its rejoin
# after the host killed it), RUN, LOG_IMPL (rs or c), CLUSTER_LOG (disk or
# core), CLUSTER_DAEMON (cmirrord or dm-logd), CMIRRORD, DMLOGD (paths).
#
# The story, node 1 (the CPG server, lowest nodeid) in one boot:
#   corosync with both nodes, the daemon, the mirror created and resynced;
#   both nodes write distinct ranges, each checks both;
#   node 2 writes in a loop and the host kills its QEMU: node 1 goes on
#   writing; node 2's regions stay dirty and in sync (both daemons); node 1
#   suspends and resumes its mirror, which, the group having emptied, reads
#   the log back and resyncs them; the legs are compared;
#   node 2 boots again, rejoins and gets the log state from node 1 (no full
#   resync), both write again;
#   node 2's log daemon is killed and started again, then its corosync,
#   while node 1 writes: node 2's mirror comes back (the kernel reconnects
#   to the daemon; after corosync, dm-logd needs a suspend/resume, cmirrord
#   a restart and the mirror created again) and writes both legs;
#   both remove the mirror.
# The host compares the leg images byte for byte against the data written.
#
# Output: KTAP per boot; the kernel log is checked at the end of each boot.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"
. "$(dirname "$0")/kernel_log.sh"
. "$(dirname "$0")/cluster_lib.sh"

NODE=${NODE:?} BOOT=${BOOT:-1} RUN=${RUN:?}
CLUSTER_LOG=${CLUSTER_LOG:-disk}
CLUSTER_DAEMON=${CLUSTER_DAEMON:-cmirrord}
PEER=$((3 - NODE))
ME=$NODE
[ "$BOOT" = 1 ] || ME=$NODE.$BOOT # barrier names of the second boot
UUID=LVM-dmlogClusterTestVg000000000000001mirrorLv00000000000000000000001
MIRROR=cm
LOGDEV=cluster-mlog # cmirrord looks up a log maj:min in /dev/mapper only
PAT=$RUN/pattern.bin # 64 MiB from the host; window S = MiB S..
MIB=64

ktap_header "cluster: node $NODE boot $BOOT, $CLUSTER_LOG log served by $CLUSTER_DAEMON"
# --- devices -------------------------------------------------------------------

LEG0=$(disk dmlc-leg0) && LEG1=$(disk dmlc-leg1) && LOGDISK=$(disk dmlc-log) || {
	echo "Bail out! the shared disks are missing: $(ls /sys/block)"
	exit 1
}
SECT=$(sectors "$LEG0")
NREG=$((SECT / 1024))
# The legs the mirror is made of: on node 2's first boot, leg 1 behind
# dm-delay (writes take 500 ms more), so that when the host kills it many
# writes are in flight, their regions marked, done on leg 0 and not yet on
# leg 1: the legs differ where the log says so.
MLEG0=$LEG0 MLEG1=$LEG1
WRITE_DELAY_MS=500

pat_write() { # DEV S MIB OFFSET: window S of the pattern at OFFSET MiB
	dd if="$PAT" bs=1M skip="$2" count="$3" status=none |
		dd of="$1" bs=1M seek="$4" iflag=fullblock oflag=direct conv=notrunc status=none
}
pat_is() { # DEV S MIB OFFSET
	cmp -s <(dd if="$PAT" bs=1M skip="$2" count="$3" status=none) \
		<(dd if="$1" bs=1M skip="$4" count="$3" iflag=direct status=none)
}
# write_range S MIB OFFSET: through the mirror, then on both legs.
write_range() {
	local dev
	dev=$(dm_node $MIRROR) || return 1
	pat_write "$dev" "$1" "$2" "$3" || fail "writes to MiB $3..$(($3 + $2)) failed" || return 1
	legs_hold "$@"
}
legs_hold() { # S MIB OFFSET
	pat_is "$LEG0" "$@" || fail "leg 0 lacks window $1 at MiB $3" || return 1
	pat_is "$LEG1" "$@" || fail "leg 1 lacks window $1 at MiB $3"
}

# The disk log's clean bits (hex, 16 bytes: 128 regions) at byte 1024.
log_bits() {
	[ "$CLUSTER_LOG" = disk ] || return 0
	dd if="$LOGDISK" bs=512 skip=2 count=1 iflag=direct status=none | od -An -tx1 -N16 | tr -d ' \n'
}

log_args() {
	if [ "$CLUSTER_LOG" = core ]; then
		echo "userspace 3 $UUID clustered-core 1024"
	else
		echo "userspace 4 $UUID clustered-disk $(dm_devnum $LOGDEV) 1024"
	fi
}
table() { echo "0 $SECT mirror $(log_args) 2 $(devnum "$MLEG0") 0 $(devnum "$MLEG1") 0"; }
dms() { timeout -k 5 120 dmsetup "$@"; }

t_setup() {
	mount -t debugfs none /sys/kernel/debug 2>/dev/null
	mkdir -p "$WORK"
	start_network && start_corosync || return 1
	load_log_stack || fail "cannot load the dirty-log stack" || return 1
	if [ "$LOG_IMPL" = c ]; then modprobe dm-log-userspace || return 1; fi
	start_daemon || return 1
	if [ "$NODE.$BOOT" = 2.1 ]; then
		modprobe dm-delay || return 1
		dms create cluster-slow1 --table "0 $SECT delay $(devnum "$LEG1") 0 0 $(devnum "$LEG1") 0 $WRITE_DELAY_MS" || return 1
	fi
	[ "$CLUSTER_LOG" = core ] ||
		dms create $LOGDEV --table "0 $(sectors "$LOGDISK") linear $(devnum "$LOGDISK") 0"
}

# --- the steps -------------------------------------------------------------

# Node 1 creates the mirror first (a master resume: empty group), resyncs it
# from leg 0, and checks the legs.
t_create_first() {
	local t0=$SECONDS
	dms create $MIRROR --table "$(table)" || return 1
	wait_sync $MIRROR 600 || return 1
	note "initial resync of $MIB MiB: $((SECONDS - t0)) s"
	cmp -s <(dd if="$LEG0" bs=1M iflag=direct status=none) \
		<(dd if="$LEG1" bs=1M iflag=direct status=none) ||
		fail "legs differ after the initial resync"
}

# A node joining a live group gets the log state from the other: in sync
# from its first status on, no resync of its own.
t_create_joiner() {
	local f
	dms create $MIRROR --table "$(table)" || return 1
	f=$(sync_fraction $MIRROR)
	note "first status after joining: $f"
	[ "$f" = "$NREG/$NREG" ] || fail "joined with $f regions in sync, not $NREG/$NREG (a full resync)"
}

# Each node writes its own range, then checks the other's.
t_write_own() { # S OFFSET (16 MiB)
	write_range "$1" 16 "$2"
}

t_killed() {
	# Random 64 KiB writes, 16 in flight, over MiB 32-47 (32 regions) until
	# the host kills this node: at the kill many regions are marked and
	# writes are half done, on one leg and not the other.
	fio --name=dying --filename="$(dm_node $MIRROR)" --rw=randwrite --bs=64k \
		--ioengine=libaio --iodepth=16 --direct=1 --offset=32M --size=16M \
		--time_based --runtime=3600 >/dev/null 2>&1 &
	# Under emulation fio takes seconds to start: wait until 64 of its
	# writes have completed.
	local stat i w=0 w0
	stat=/sys/block/$(dmsetup info -c --noheadings -o blkdevname $MIRROR)/stat
	w0=$(awk '{ print $5 }' "$stat")
	for i in $(seq 1 600); do
		w=$(($(awk '{ print $5 }' "$stat") - w0))
		[ "$w" -ge 64 ] && break
		sleep 0.2
	done
	echo "# fio: $w writes completed; log: $(log_bits)"
	arrive kill-me
	wait
}

# Node 1 while node 2 writes and dies: its own writes go on; after the kill
# one more write must complete (the group dropped the dead node), then the
# mirror is suspended and resumed, which recovers what node 2 left dirty.
t_survive() {
	local dev t0 n=0
	dev=$(dm_node $MIRROR) || return 1
	await kill-me 2 120 || return 1
	note "log while node 2 writes: $(log_bits)"
	[ "$CLUSTER_DAEMON" = cmirrord ] && pkill -USR1 -x cmirrord
	while [ ! -e "$RUN/killed.host" ]; do
		pat_write "$dev" $((48 + (n % 2) * 4)) 16 48 || fail "write $n before the kill failed" || return 1
		n=$((n + 1))
		[ $n -lt 400 ] || fail "the host did not kill node 2" || return 1
	done
	t0=$SECONDS
	write_range 24 8 0 || return 1
	note "$n writes of 16 MiB while node 2 wrote and died; the first write after the kill, 8 MiB, and its check took $((SECONDS - t0)) s"
	# A failed node's regions stay dirty but in sync, with both daemons:
	# set out of sync, a survivor would write them to one leg only (see
	# Replica::node_left in daemon/src/cluster.rs).
	local f
	f=$(sync_fraction $MIRROR)
	note "after the kill: $f regions in sync"
	[ "$f" = "$NREG/$NREG" ] || fail "node 2's regions went out of sync after the kill: $f"
}

# The recovery: a node's marks outlive it, so its regions stay dirty on the
# disk log (but in sync); when the group empties (this suspend) and forms
# again (this resume, a "master resume"), the log is read back, those
# regions are out of sync and resynced. Both daemons.
t_recover() {
	local f differ=0 mib bits
	for mib in $(seq 32 47); do
		same_range "$LEG0" "$LEG1" 1 "$mib" || differ=$((differ + 1))
	done
	note "before the recovery the legs differ in $differ of node 2's 16 MiB"
	[ $differ -gt 0 ] || fail "the legs do not differ: node 2 was not killed in the middle of its writes" || return 1
	if [ "$CLUSTER_LOG" = disk ]; then
		# Node 2's regions (64-95: bytes 8-11 of the bitmap) dirty on disk.
		bits=$(log_bits)
		note "log before the suspend: $bits"
		[ "${bits:16:8}" != ffffffff ] ||
			fail "no region of node 2 is dirty in the disk log" || return 1
	fi
	dms suspend $MIRROR && dms resume $MIRROR || return 1
	note "right after the resume: $(sync_fraction $MIRROR) regions in sync"
	wait_sync $MIRROR 600 || return 1
	cmp -s <(dd if="$LEG0" bs=1M iflag=direct status=none) \
		<(dd if="$LEG1" bs=1M iflag=direct status=none) ||
		fail "legs differ after the recovery"
}

t_remove() {
	dms remove $MIRROR
}

# Node 1 while node 2 restarts something: writes go on (each within 120 s)
# until node 2 arrives at STEP, then MiB 48-63 are written as they were.
t_write_until() { # STEP
	local dev n=0
	dev=$(dm_node $MIRROR) || return 1
	while [ ! -e "$RUN/$1.2.2" ]; do
		[ -e "$RUN/failed.2.2" ] && { fail "node 2 failed"; return 1; }
		timeout -k 5 120 bash -c "$(declare -f pat_write); PAT=$PAT; pat_write $dev $((48 + (n % 2) * 4)) 16 48" ||
			fail "write $n while node 2 restarts did not complete in 120 s" || return 1
		n=$((n + 1))
		[ $n -lt 400 ] || fail "node 2 did not get to '$1'" || return 1
	done
	note "$n writes of 16 MiB while node 2 restarted"
	write_range 48 16 48
}

# Node 2's mirror writes both legs: a new pattern over its MiB 32-47, then
# the old one back (what the host expects at the end).
t_writes_mirrored() {
	local f
	f=$(sync_fraction $MIRROR)
	note "status: $f regions in sync"
	[ "$f" = "$NREG/$NREG" ] || fail "$f regions in sync, not $NREG/$NREG" || return 1
	write_range 8 16 32 && write_range 32 16 32
}

# The log daemon killed under a live mirror and started again. A request
# made meanwhile finds no server: the kernel re-creates and resumes the log
# on the new one (dm-log-rs and C alike; with cmirrord and a clustered-disk
# log the C module cannot: cmirrord's constructor reply does not fit).
t_daemon_restart() {
	local t0 rc
	if [ "$LOG_IMPL.$CLUSTER_DAEMON.$CLUSTER_LOG" = c.cmirrord.disk ]; then
		echo "the C module cannot reconnect a clustered-disk log to cmirrord (its constructor reply does not fit: -ENOSPC, then 'Log already exists'): the mirror would hang"
		return 4
	fi
	stop_pid "$WORK/daemon.pid" KILL || return 1
	timeout -k 5 300 dmsetup status $MIRROR >"$WORK/status.out" 2>&1 &
	local st=$!
	sleep 3
	t0=$SECONDS
	start_daemon || return 1
	wait $st
	rc=$?
	[ $rc = 0 ] || fail "dmsetup status did not complete after the restart ($rc): $(cat "$WORK/status.out")" || return 1
	note "status $((SECONDS - t0)) s after the restart: $(cat "$WORK/status.out")"
	note "kernel: $(run_log 2>/dev/null | grep -iE 'reconnect|contact' | tail -n 2 | cut -c1-160 | tr '\n' '|')"
	t_writes_mirrored
}

# corosync killed and started again under a live (idle) mirror.
t_corosync_restart() {
	stop_pid "$CS_DIR/pid" KILL || return 1
	sleep 5
	note "$CLUSTER_DAEMON with corosync gone: $(tail -n 2 "$RUN/$CLUSTER_DAEMON-$ME.log" | cut -c1-160 | tr '\n' '|')"
	start_corosync || return 1
	if [ "$CLUSTER_DAEMON" = dm-logd ]; then
		# dm-logd left the group when the connection failed: a resume
		# joins it again and gets the state.
		dms suspend $MIRROR && dms resume $MIRROR || return 1
	else
		# cmirrord does not reconnect to corosync: the mirror is removed,
		# cmirrord started again, the mirror created again.
		dms remove $MIRROR || return 1
		stop_pid "$WORK/daemon.pid" TERM || stop_pid "$WORK/daemon.pid" KILL || return 1
		start_daemon || return 1
		dms create $MIRROR --table "$(table)" || return 1
	fi
	t_writes_mirrored
}

t_teardown() {
	local rc=0
	dm_exists $LOGDEV && { dms remove $LOGDEV || rc=1; }
	if [ "$CLUSTER_DAEMON" = dm-logd ]; then
		stop_pid "$WORK/daemon.pid" TERM || fail "dm-logd did not stop on SIGTERM" || rc=1
	else
		stop_pid "$WORK/daemon.pid" KILL || rc=1 # cmirrord ignores TERM while it has logs
	fi
	stop_pid "$CS_DIR/pid" TERM || stop_pid "$CS_DIR/pid" KILL
	unload_log_stack || fail "cannot unload the stack: $(grep -E '^dm_' /proc/modules)" || rc=1
	return $rc
}

# --- the run -----------------------------------------------------------------

start_kernel_log

step "network, corosync with both nodes, the $LOG_IMPL log stack, $CLUSTER_DAEMON" t_setup
if [ "$NODE.$BOOT" = 2.1 ]; then
	MLEG1=$(dm_node cluster-slow1) || exit 1
fi
arrive up
case "$NODE.$BOOT" in
1.1)
	step "the mirror created first here and resynced: legs identical" t_create_first
	arrive created
	step "waited for node 2: created" await created 2 300
	step "16 MiB written here (MiB 0-15) while node 2 writes MiB 16-31" t_write_own 0 0
	arrive wrote
	step "waited for node 2: wrote" await wrote 2 300
	step "node 2's writes on both legs" legs_hold 16 16 16
	step "writes go on while node 2 writes and is killed" t_survive
	step "suspend/resume, resync: legs identical" t_recover
	arrive recovered
	step "waited for node 2.2: up" await up 2.2 600
	step "waited for node 2.2: created" await created 2.2 300
	step "16 MiB written here (MiB 48-63) while the rejoined node 2 writes MiB 32-47" t_write_own 48 48
	arrive wrote2
	step "waited for node 2.2: wrote2" await wrote2 2.2 300
	step "node 2's new writes on both legs" legs_hold 32 16 32
	arrive checked2
	step "writes go on while node 2's $CLUSTER_DAEMON restarts" t_write_until restarted
	step "node 2's writes after its daemon's restart on both legs" legs_hold 32 16 32
	arrive checked3
	step "writes go on while node 2's corosync restarts" t_write_until cs-restarted
	step "node 2's writes after its corosync's restart on both legs" legs_hold 32 16 32
	arrive checked4
	step "waited for node 2.2: removed" await removed 2.2 300
	step "the mirror removed" t_remove
	;;
2.1)
	step "waited for node 1: created" await created 1 900
	step "the mirror created while node 1 has it: state from node 1, no resync" t_create_joiner
	arrive created
	step "16 MiB written here (MiB 16-31) while node 1 writes MiB 0-15" t_write_own 16 16
	arrive wrote
	step "waited for node 1: wrote" await wrote 1 300
	step "node 1's writes on both legs" legs_hold 0 16 0
	t_killed
	;;
2.2)
	step "waited for node 1: recovered" await recovered 1 900
	step "rejoined after the kill: state from node 1, no resync" t_create_joiner
	arrive created
	step "16 MiB written here (MiB 32-47) while node 1 writes MiB 48-63" t_write_own 32 32
	arrive wrote2
	step "waited for node 1: wrote2" await wrote2 1 300
	step "node 1's new writes on both legs" legs_hold 48 16 48
	step "waited for node 1: checked2" await checked2 1 300
	step "$CLUSTER_DAEMON killed and started again under node 1's writes: reconnected, in sync, writes on both legs" t_daemon_restart
	arrive restarted
	step "waited for node 1: checked3" await checked3 1 600
	step "corosync killed and started again: the mirror back, in sync, writes on both legs" t_corosync_restart
	arrive cs-restarted
	step "waited for node 1: checked4" await checked4 1 600
	step "node 1's writes on both legs" legs_hold 48 16 48
	step "the mirror removed" t_remove
	arrive removed
	;;
esac
step "the daemon and corosync stopped, the log stack unloaded" t_teardown
step "kernel log: no warning, lockdep report or oops" t_kernel_log
arrive done
ktap_finish
