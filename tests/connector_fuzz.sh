#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The connector fuzzer (dm-ulog-tool fuzz) against the kernel side of the
# userspace log, while two userspace-log mirrors take verified fio writes: a
# disk-like log that resyncs at first, and a core-like one created nosync
# (16 KiB regions, 2048 a mirror: many requests).
#
# Drop-only phase: before each reply the tool sends 0 to 2 x FUZZ_PER_REQUEST
# (default 2) fuzzed messages (random bytes, random payloads, lying lengths,
# the correct reply near the live seq broken in one field, non-errno
# acknowledgements, replies to seqs no request holds, stale replies) until
# FUZZ_MESSAGES (default 20000) are sent.
# Every one must be dropped: fio verifies every block, no request fails (no
# accepted reply carries an error, none fails on a rejected reply) or times
# out, the legs are identical, the debugfs counters account for the drops.
#
# Replacement phase (FUZZ_REPLACE=R, default 50; 0 skips it): about one
# correct reply in R is replaced by a well-formed one with a random error or
# hostile data. The mirrors may fail I/O, but every step must finish (no
# hang), the mirrors must come down cleanly, and a new mirror must then work.
# (Without handle_errors: with it a failed log holds writes until an admin
# or dmeventd reacts, which this test does not imitate.)
#
# The kernel log is checked for warnings, lockdep reports and oopses by the
# runner (kernel_log), and kmemleak after the stack is unloaded.
#
# rs only: the C module matches replies on seq alone and takes most of these
# messages as answers, so the drop-only invariant does not hold for it.
#
# FUZZ_SEED fixes the seed (printed either way); the request stream comes
# from the kernel, so a seed replays the same mutations, not the same run.

. "$(dirname "$0")/lib.sh"

ktap_header "connector_fuzz: fuzzed log-server messages under fio"

TOOL=$REPO_DIR/target/release/dm-ulog-tool
DAEMON=$REPO_DIR/target/release/dm-logd
STATS=/sys/kernel/debug/dm_log_rs/userspace
MESSAGES=${FUZZ_MESSAGES:-20000}
PER_REQUEST=${FUZZ_PER_REQUEST:-2}
REPLACE=${FUZZ_REPLACE:-50}
SEED=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
# How long the drop-only phase may take to send its messages (make fuzz
# raises the per-program limit of 900 s with the budget; raise this with it).
DEADLINE=${FUZZ_DEADLINE:-600}

if [ "$LOG_IMPL" != rs ]; then
	skip_c() { echo "rs only: the C module takes replies of a wrong version, type or log id as answers"; return 4; }
	ktap_result "connector fuzzing" skip_c
	ktap_finish
	exit
fi
if [ ! -x "$TOOL" ] || [ ! -x "$DAEMON" ]; then
	echo "Bail out! $TOOL or $DAEMON not built (make daemon)"
	exit 1
fi

MIB=32
RS=32 # region size in sectors: 2048 regions a mirror, many requests
L0=$(new_loop fz0 $MIB) && L1=$(new_loop fz1 $MIB) && L2=$(new_loop fz2 $MIB) &&
	L3=$(new_loop fz3 $MIB) && LG=$(new_loop fzlog 1) || {
	echo "Bail out! cannot set up loop devices"
	exit 1
}
SECT=$(sectors "$L0")
MD=fuzzdisk
MC=fuzzcore
SERVER_PIDFILE=$WORK/fuzz-server.pid
SERVER_LOG=$WORK/fuzz-server.log
SLOG=$SERVER_LOG


cleanup() {
	dm_remove $MD
	dm_remove $MC
	stop_server
	for l in "$L0" "$L1" "$L2" "$L3" "$LG"; do free_loop "$l"; done
}
trap cleanup EXIT


stat_of() { awk -v k="$1" '$1 == k { print $2 }' $STATS; }

table() { # LOGARGS... LEG LEG [FEATURES...]: the mirror table over two legs
	local -a log=() feat=()
	while [ $# -gt 0 ] && [ "${1#/dev/}" = "$1" ]; do log+=("$1"); shift; done
	local l0=$1 l1=$2
	shift 2
	[ $# -gt 0 ] && feat=($# "$@")
	echo "0 $SECT mirror userspace ${#log[@]} ${log[*]} 2 $(devnum "$l0") 0 $(devnum "$l1") 0 ${feat[*]}"
}

# create_mirrors SUFFIX [FEATURES...]: the disk-like mirror (resyncs; with
# FEATURES, e.g. handle_errors) and the core-like one (nosync: its legs get
# the same data first).
create_mirrors() {
	local sfx=$1
	shift
	dd if=/dev/zero of="$LG" bs=1M count=1 oflag=direct status=none &&
		timeout 120 dmsetup create $MD --table \
			"$(table "dmlogtest-fuzz-disk-$sfx" disk "$(devnum "$LG")" $RS "$L0" "$L1" "$@")" &&
		timeout 120 dmsetup create $MC --table \
			"$(table "dmlogtest-fuzz-core-$sfx" core $RS nosync "$L2" "$L3")"
}

# set_legs SEED: leg 0 of the disk-like mirror gets a pattern, leg 1 zeros;
# both legs of the nosync core-like mirror the same pattern.
set_legs() {
	write_pattern "$L0" "$1-d" $MIB &&
		dd if=/dev/zero of="$L1" bs=1M count=$MIB oflag=direct status=none &&
		write_pattern "$L2" "$1-c" $MIB && write_pattern "$L3" "$1-c" $MIB
}

# fio_pass NAME DEV SEED: one pass of 16 KiB random writes over the whole device,
# each block once, then every block read back and verified; exit 124 if it
# has not finished in 15 minutes.
fio_pass() {
	timeout 900 fio --name="$1" --filename="$2" --direct=1 --ioengine=libaio --iodepth=4 \
		--rw=randwrite --bs=16k --size=${MIB}M --verify=crc32c --do_verify=1 \
		--randseed="$((SEED + ${3:-0}))" --output="$WORK/fio-$1.log" >/dev/null 2>&1
}

# --- drop-only -----------------------------------------------------------------

# The counters that t_counters compares, before the drop-only phase (each
# test runs in a subshell: they are kept in a file).
COUNTERS="requests replies failed timeouts rejected rejected_failures dropped_malformed dropped_unmatched"
BEFORE=$WORK/fuzz-counters-before

t_drop_only() {
	local k t0 pass=0 pd pc rd rc dev_d dev_c elapsed
	for k in $COUNTERS; do
		echo "$k $(stat_of $k)"
	done >"$BEFORE"
	grep -q "^requests [0-9]" "$BEFORE" || fail "no counters in $STATS" || return 1
	note "seed $SEED, $MESSAGES messages, $PER_REQUEST per reply on average"
	start_server "$TOOL" fuzz --seed "$SEED" --messages "$MESSAGES" \
		--per-request "$PER_REQUEST" || return 1
	set_legs fz-a || return 1
	create_mirrors a || fail "create under fuzzing failed" || return 1
	dev_d=$(dm_node $MD) && dev_c=$(dm_node $MC) || return 1
	# fio from the start (during the disk-like mirror's resync), two passes
	# at least, until the budget is spent.
	t0=$(date +%s)
	while [ $pass -lt 2 ] || ! grep -q "fuzz budget spent" "$SLOG"; do
		elapsed=$(($(date +%s) - t0))
		[ $elapsed -lt "$DEADLINE" ] ||
			fail "no 'budget spent' after $elapsed s: $(tail -3 "$SLOG")" || return 1
		pass=$((pass + 1))
		fio_pass d "$dev_d" $pass &
		pd=$!
		fio_pass c "$dev_c" $pass &
		pc=$!
		wait $pd
		rd=$?
		wait $pc
		rc=$?
		[ $rd = 0 ] && [ $rc = 0 ] || {
			tail -20 "$WORK/fio-d.log" "$WORK/fio-c.log" >&2
			fail "fio pass $pass failed (disk-like $rd, core-like $rc)"
			return 1
		}
	done
	elapsed=$(($(date +%s) - t0))
	note "$(grep "fuzz budget spent" "$SLOG")"
	note "$pass fio passes of $MIB MiB on each mirror, every block verified, in $elapsed s"
	wait_sync $MD 300 && wait_sync $MC 300 || return 1
	same_range "$L0" "$L1" $MIB || fail "disk-like mirror: legs differ" || return 1
	same_range "$L2" "$L3" $MIB || fail "core-like mirror: legs differ" || return 1
	dmsetup status $MD | grep -q " AA " && dmsetup status $MC | grep -q " AA " ||
		fail "a leg is not healthy: $(dmsetup status $MD; dmsetup status $MC)" || return 1
}
ktap_result "drop-only fuzzing: every block verified, legs identical" t_drop_only

t_counters() {
	local k d b
	for k in $COUNTERS; do
		b=$(awk -v k=$k '$1 == k { print $2 }' "$BEFORE")
		[ -n "$b" ] || fail "no starting value of $k" || return 1
		d=$(($(stat_of $k) - b))
		note "$k +$d"
		eval "d_$k=$d"
	done
	expect_eq "requests that timed out" "$d_timeouts" 0 || return 1
	expect_eq "replies that carried an error" "$d_failed" 0 || return 1
	expect_eq "requests failed by a rejected reply" "$d_rejected_failures" 0 || return 1
	[ "$d_dropped_malformed" -gt 0 ] && [ "$d_dropped_unmatched" -gt 0 ] && [ "$d_rejected" -gt 0 ] ||
		fail "the counters do not show the drops"
}
ktap_result "counters: drops and rejections, no failed or timed-out request" t_counters

t_remove() {
	timeout 120 dmsetup remove $MD && timeout 120 dmsetup remove $MC ||
		fail "remove under fuzzing did not complete" || return 1
	stop_server || return 1
	note "$(grep "dm-ulog-tool: fuzz" "$SLOG" | tail -1)"
}
ktap_result "mirrors removed, fuzzer stopped" t_remove

# --- replacement ----------------------------------------------------------------

t_replace() {
	[ "$REPLACE" -gt 0 ] || { echo "FUZZ_REPLACE=0"; return 4; }
	local dev_d dev_c pd pc rd rc i
	start_server "$TOOL" fuzz --seed "$((SEED + 1))" --messages "$((MESSAGES / 4))" \
		--per-request 4 --replace-every "$REPLACE" || return 1
	# The create itself may fail now (a replaced RESUME or STATUS): retry
	# until both exist, within bounds.
	for i in 1 2 3 4 5; do
		dm_remove $MD
		dm_remove $MC
		create_mirrors "b$i" 2>/dev/null && break
	done
	dm_exists $MD && dm_exists $MC || fail "no mirror came up in 5 tries" || return 1
	dev_d=$(dm_node $MD) && dev_c=$(dm_node $MC) || return 1
	for i in 1 2 3; do
		fio_pass rd "$dev_d" $i &
		pd=$!
		fio_pass rc "$dev_c" $i &
		pc=$!
		wait $pd
		rd=$?
		wait $pc
		rc=$?
		[ $rd != 124 ] && [ $rc != 124 ] || fail "fio hung (pass $i: $rd $rc)" || return 1
		note "pass $i: fio exit $rd (disk-like), $rc (core-like)"
	done
	timeout 60 dmsetup status $MD >/dev/null && timeout 60 dmsetup status $MC >/dev/null &&
		timeout 60 dmsetup table $MD >/dev/null || fail "status/table hung" || return 1
	timeout 120 dmsetup suspend $MD && timeout 120 dmsetup resume $MD ||
		fail "suspend/resume did not complete" || return 1
	timeout 180 dmsetup remove $MD && timeout 180 dmsetup remove $MC ||
		fail "remove did not complete" || return 1
	stop_server || return 1
	note "$(grep "dm-ulog-tool: fuzz" "$SLOG" | tail -1)"
}
ktap_result "replaced replies: nothing hangs, mirrors come down" t_replace

t_after() {
	# A plain server and a new mirror: the transport is still sound.
	start_server "$DAEMON" || return 1
	set_legs fz-c || return 1
	create_mirrors c || return 1
	wait_sync $MD 300 && wait_sync $MC 300 || return 1
	same_range "$L0" "$L1" $MIB && same_range "$L2" "$L3" $MIB ||
		fail "legs differ after a plain resync" || return 1
	dm_remove $MD && dm_remove $MC && stop_server
}
ktap_result "afterwards a plain server serves new mirrors" t_after

ktap_finish
