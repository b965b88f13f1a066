#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The "userspace" dirty log under the in-tree mirror target, served by our
# daemon (dm-logd), on loop devices: no server at create time, table and
# status, resync and data, a disk-like log readable by the disk log type,
# integrated_flush, the daemon killed and restarted during writes, hostile
# connector input (malformed and forged replies, floods, a non-root sender).
#
# With LOG_IMPL=c the same cases run against the kernel's dm-log-userspace.ko
# and the same daemon; only the checks of dm-log-rs's own validation
# messages are rs-only (the C module accepts or silently drops those inputs).

. "$(dirname "$0")/lib.sh"

ktap_header "userspace_log: mirror with a userspace log served by dm-logd"

DAEMON=$REPO_DIR/target/release/dm-logd
TOOL=$REPO_DIR/target/release/dm-ulog-tool
STATS=/sys/kernel/debug/dm_log_rs/userspace
if [ ! -x "$DAEMON" ] || [ ! -x "$TOOL" ]; then
	echo "Bail out! $DAEMON or $TOOL not built (make daemon)"
	exit 1
fi

# The C userspace log is a module of its own, loaded on the first "userspace"
# table and then holding a reference on dm-log: load it first, so that the
# reference checks below see only what a table leaves behind.
if [ "$LOG_IMPL" = c ] && ! modprobe dm-log-userspace; then
	echo "Bail out! cannot load dm-log-userspace"
	exit 1
fi

MIB=32
L0=$(new_loop us0 $MIB) && L1=$(new_loop us1 $MIB) && LG=$(new_loop uslog 1) || {
	echo "Bail out! cannot set up loop devices"
	exit 1
}
D0=$(devnum "$L0")
D1=$(devnum "$L1")
DG=$(devnum "$LG")
SECT=$(sectors "$L0")
NREG=$((SECT / 1024))
M=muser
UUID=dmlogtest-userspace-0001
# Each test runs in a subshell (ktap_result): the server's pid is kept in a
# file, and stopping polls for its exit.
SERVER_PIDFILE=$WORK/server.pid
SERVER_LOG=$WORK/server.log


cleanup() {
	dm_remove $M
	dm_remove mdisk
	stop_server
	free_loop "$L0"
	free_loop "$L1"
	free_loop "$LG"
}
trap cleanup EXIT


# mirror_table LOGARGS...: a two-leg mirror over L0 and L1.
mirror_table() { echo "0 $SECT mirror $* 2 $D0 0 $D1 0"; }

reset_legs() { # SEED: leg 0 gets a pattern, leg 1 zeros
	write_pattern "$L0" "$1" $MIB &&
		dd if=/dev/zero of="$L1" bs=1M count=$MIB oflag=direct status=none
}

# check_mirror NAME SEED: full sync, legs identical, holding leg 0's data,
# and a write through the mirror reaching both legs.
check_mirror() {
	local dev
	wait_sync "$1" 240 || return 1
	same_range "$L0" "$L1" $MIB || fail "legs differ after resync" || return 1
	range_is_pattern "$L1" "$2" $MIB || fail "leg 1 lacks leg 0's data" || return 1
	dev=$(dm_node "$1") || return 1
	write_pattern "$dev" "$2-w" 4 8 || return 1
	range_is_pattern "$L0" "$2-w" 4 8 || fail "leg 0 lacks the write" || return 1
	range_is_pattern "$L1" "$2-w" 4 8 || fail "leg 1 lacks the write"
}

stat_of() { awk -v k="$1" '$1 == k { print $2 }' $STATS 2>/dev/null; }

# --- no server --------------------------------------------------------------

t_no_server() {
	expect_refused "$(mirror_table userspace 3 $UUID core 1024)" \
		"userspace log server not found" "Userspace log server not found"
}
ktap_result "no server: create refused, nothing left behind" t_no_server

t_server_later() {
	start_server "$DAEMON" || return 1
	reset_legs seed-u1 || return 1
	dmsetup create $M --table "$(mirror_table userspace 3 $UUID core 1024)"
}
ktap_result "server started later: the same create succeeds" t_server_later

# --- core-like log ----------------------------------------------------------

t_table() {
	expect_eq "table" "$(dmsetup table $M)" "$(mirror_table userspace 3 $UUID core 1024)"
}
ktap_result "table line as the C module prints it" t_table

t_sync() {
	check_mirror $M seed-u1 &&
		expect_eq "status" "$(dmsetup status $M)" \
			"0 $SECT mirror 2 $D0 $D1 $NREG/$NREG 1 AA 1 core"
}
ktap_result "resyncs, data identical on legs; status from the server" t_sync

t_remove() {
	dm_remove $M && ! dm_exists $M &&
		grep -q "destroyed\|DTR\|removed" "$WORK/server.log" ||
		{ cat "$WORK/server.log" >&2; fail "server did not log the log's destruction"; }
}
ktap_result "remove: the server drops the log" t_remove

t_integrated() {
	dm_remove $M
	reset_legs seed-u2 || return 1
	dmsetup create $M --table \
		"$(mirror_table userspace 4 $UUID integrated_flush core 1024)" || return 1
	expect_eq "table" "$(dmsetup table $M)" \
		"$(mirror_table userspace 4 $UUID integrated_flush core 1024)" || return 1
	check_mirror $M seed-u2
	dm_remove $M
}
ktap_result "integrated_flush: table, resync, writes" t_integrated

# --- disk-like log: persistent, in the disk log's format -----------------------

t_disk_like() {
	local out
	dm_remove $M
	dd if=/dev/zero of="$LG" bs=1M count=1 oflag=direct status=none
	reset_legs seed-u3 || return 1
	dmsetup create $M --table "$(mirror_table userspace 4 $UUID disk $DG 1024)" || return 1
	dmsetup deps $M | grep -q "(${DG%:*}, ${DG#*:})" ||
		fail "log device not among the mirror's dependencies: $(dmsetup deps $M)" || return 1
	check_mirror $M seed-u3 || return 1
	dm_remove $M || return 1
	# A clean shutdown leaves a valid header and every region clean.
	# Direct: the log was written through another device (the dm
	# device over it), so this one's page cache may hold stale blocks.
	out=$(dd if="$LG" bs=4096 count=1 iflag=direct status=none | od -An -tx1 -N16 | tr -s ' ')
	expect_eq "header" "$out" " 72 52 69 4d 02 00 00 00 $(printf '%02x' $NREG) 00 00 00 00 00 00 00" || return 1
	# The disk log type reads the same format: all clean, so in sync at once.
	dmsetup create mdisk --table "$(mirror_table disk 2 $DG 1024)" || return 1
	expect_eq "disk log over the server's log" "$(sync_fraction mdisk)" "$NREG/$NREG" || return 1
	dm_remove mdisk
}
ktap_result "disk-like log: held device, clean state in the disk log's format" t_disk_like

t_disk_restart() {
	local dev
	# The clean state written above comes back: in sync at once.
	dm_remove $M
	dmsetup create $M --table "$(mirror_table userspace 4 $UUID disk $DG 1024)" || return 1
	expect_eq "sync after re-create" "$(sync_fraction $M)" "$NREG/$NREG" || return 1
	# The server restarts under the live mirror: its operations re-create
	# the log on the new server, from disk, and go on.
	start_server "$DAEMON" || return 1
	dev=$(dm_node $M) || return 1
	write_pattern "$dev" seed-u3-r 8 16 || return 1
	range_is_pattern "$L0" seed-u3-r 8 16 || fail "leg 0 lacks the write" || return 1
	range_is_pattern "$L1" seed-u3-r 8 16 || fail "leg 1 lacks the write" || return 1
	wait_sync $M 60 && same_range "$L0" "$L1" $MIB || fail "legs differ" || return 1
	grep -q "$UUID\|${UUID: -8}" "$WORK/server.log" ||
		fail "the new server did not see the log" || return 1
	dm_remove $M
}
ktap_result "disk-like log: server restarted under a live mirror" t_disk_restart

# --- the server killed during writes ------------------------------------------

t_kill_restart() {
	local dev wpid t0
	dm_remove $M
	reset_legs seed-u4 || return 1
	dmsetup create $M --table "$(mirror_table userspace 3 $UUID core 1024)" || return 1
	wait_sync $M 240 || return 1
	dev=$(dm_node $M) || return 1
	write_pattern "$dev" seed-u5 24 4 &
	wpid=$!
	sleep 1
	kill -KILL "$(cat "$SERVER_PIDFILE")" || return 1
	rm -f "$SERVER_PIDFILE"
	sleep 3
	t0=$(date +%s)
	start_server "$DAEMON" || return 1
	wait $wpid || fail "writes failed across the server restart" || return 1
	echo "# writes done $(($(date +%s) - t0)) s after the restart" >&2
	# The restarted server knows nothing in sync. dm-log-rs resyncs at
	# once; the C module keeps the sync hint of the old server and resyncs
	# only after the mirror is resumed (an admin's suspend/resume).
	if [ "$LOG_IMPL" = c ]; then
		dmsetup suspend $M && dmsetup resume $M || return 1
	fi
	wait_sync $M 240 || return 1
	range_is_pattern "$L0" seed-u5 24 4 || fail "leg 0 lost writes" || return 1
	range_is_pattern "$L1" seed-u5 24 4 || fail "leg 1 lost writes" || return 1
	same_range "$L0" "$L1" $MIB || fail "legs differ" || return 1
	dm_remove $M
}
ktap_result "server killed during writes and restarted: no data lost, legs identical" t_kill_restart

t_sigterm() {
	local pid rc
	start_server "$DAEMON" || return 1
	pid=$(cat "$SERVER_PIDFILE")
	rm -f "$SERVER_PIDFILE"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	expect_eq "dm-logd exit status on SIGTERM" $rc 0
}
ktap_result "dm-logd exits cleanly on SIGTERM" t_sigterm

# --- hostile connector input ---------------------------------------------------

t_garbage() {
	local want
	if [ "$LOG_IMPL" = c ]; then want="Incomplete message received"; else want="dropped a message from the log server: truncated"; fi
	sleep 5 # a fresh rate-limit window for the messages checked below
	dmesg_mark garbage
	"$TOOL" garbage --count 300 --seed 7 || return 1
	dmesg_since garbage | grep -qF "$want" || fail "kernel log lacks '$want'"
}
ktap_result "random and malformed messages with no request pending" t_garbage

t_unprivileged() {
	local before after
	sleep 5
	before=$(stat_of dropped_unprivileged)
	dmesg_mark unpriv
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$TOOL" unprivileged-send || return 1
	if dmesg_since unpriv | grep -qE "Incomplete message|truncated"; then
		fail "a non-root sender's message was processed: $(dmesg_since unpriv)"
		return 1
	fi
	[ "$LOG_IMPL" = c ] && return 0
	after=$(stat_of dropped_unprivileged)
	[ "$after" -gt "$before" ] || fail "dropped_unprivileged $before -> $after"
	dmesg_since unpriv | grep -qF "sender lacks CAP_SYS_ADMIN" || fail "no message about the sender"
}
ktap_result "messages from a non-root sender are ignored" t_unprivileged

# serve_hostile MODE WANT: the mirror works through a server that precedes
# each reply with a hostile message; WANT is dm-log-rs's reason for dropping.
serve_hostile() {
	local mode=$1 want=$2
	sleep 5
	dmesg_mark "hostile-$mode"
	dm_remove $M
	start_server "$TOOL" serve --mode "$mode" || return 1
	reset_legs "seed-h-$mode" || return 1
	dmsetup create $M --table "$(mirror_table userspace 3 $UUID core 1024)" || return 1
	check_mirror $M "seed-h-$mode" || return 1
	dmsetup status $M >/dev/null || return 1
	dm_remove $M || return 1
	stop_server || return 1
	grep -E "served|hostile" "$WORK/server.log" | sed 's/^/# /' >&2
	[ "$LOG_IMPL" = c ] && return 0
	dmesg_since "hostile-$mode" | grep -qF "$want" ||
		fail "kernel log lacks '$want': $(dmesg_since "hostile-$mode" | tail -5)"
}

t_hostile_truncated() { serve_hostile truncated "truncated"; }
ktap_result "server sends truncated replies first" t_hostile_truncated
t_hostile_unknown() { serve_hostile unknown-seq "no request waits for it"; }
ktap_result "server sends replies with unknown sequence numbers" t_hostile_unknown
t_hostile_version() { only_rs || return; serve_hostile bad-version "version 2, expected 3"; }
ktap_result "server sends wrong-version replies (rs: rejected)" t_hostile_version
t_hostile_short() { only_rs || return; serve_hostile short-data "bytes follow the header"; }
ktap_result "server claims more data than it sends (rs: rejected)" t_hostile_short
t_hostile_big() { only_rs || return; serve_hostile too-big "bytes of reply data, expected"; }
ktap_result "server sends oversized replies (rs: rejected)" t_hostile_big
t_hostile_flood() { serve_hostile flood "no request waits for it"; }
ktap_result "server floods forged replies" t_hostile_flood

# Quirks of LVM2's cmirrord, imitated by the test tool (the real cmirrord
# runs in cmirrord.sh). Every step is bounded in time: before the fixes,
# dm-log-rs resent these requests every 15 s for ever.
t_luid_zero() {
	local dev
	dm_remove $M
	start_server "$TOOL" serve --mode luid-zero || return 1
	reset_legs seed-q1 || return 1
	timeout 60 dmsetup create $M --table "$(mirror_table userspace 3 $UUID core 1024)" ||
		fail "create (RESUME answered with log id 0) did not complete" || return 1
	check_mirror $M seed-q1 || return 1
	timeout 60 dmsetup suspend $M && timeout 60 dmsetup resume $M ||
		fail "suspend/resume did not complete" || return 1
	dev=$(dm_node $M) || return 1
	timeout 120 dd if=/dev/zero of="$dev" bs=1M count=2 seek=8 oflag=direct status=none ||
		fail "writes did not complete" || return 1
	timeout 60 dmsetup remove $M || fail "remove did not complete" || return 1
	stop_server
}
ktap_result "replies with log id 0 (cmirrord's cluster replies) are accepted" t_luid_zero

t_enospc() {
	local st
	dm_remove $M
	start_server "$TOOL" serve --mode enospc || return 1
	reset_legs seed-q2 || return 1
	timeout 60 dmsetup create $M --table "$(mirror_table userspace 3 $UUID core 1024)" ||
		fail "create did not complete" || return 1
	st=$(timeout 30 dmsetup status $M) || fail "status did not complete" || return 1
	expect_eq "status when GET_SYNC_COUNT fails with -ENOSPC" "$st" \
		"0 $SECT mirror 2 $D0 $D1 0/$NREG 1 AA 1 core" || return 1
	timeout 60 dmsetup remove $M || fail "remove did not complete" || return 1
	stop_server
}
ktap_result "an error reply with only a header (cmirrord's -ENOSPC) fails the request" t_enospc

t_uuid_bytes() {
	local want
	dm_remove $M
	start_server "$DAEMON" || return 1
	reset_legs seed-q3 || return 1
	want=$(mirror_table userspace 3 $'dmlogtest-\xe9t\xe9' core 1024)
	timeout 60 dmsetup create $M --table "$want" || return 1
	expect_eq "table with a UUID that is not UTF-8" "$(dmsetup table $M)" "$want" || return 1
	dm_remove $M
}
ktap_result "a UUID of arbitrary bytes is printed back as given" t_uuid_bytes

t_stats() {
	only_rs || return
	local s
	s=$(cat $STATS) || return 1
	printf '%s\n' "$s" | sed 's/^/# /' >&2
	[ "$(stat_of requests)" -gt 0 ] && [ "$(stat_of dropped_unmatched)" -gt 1000 ] ||
		fail "counters do not show the traffic"
}
ktap_result "debugfs counters of the connector traffic (rs only)" t_stats

ktap_finish
