#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# I/O errors injected with fail_make_request (sanitizer kernel, make
# check-debug) into the log device and into a leg, at a random point of fio
# writes with verification, against the disk log:
#   log:      the log's writes fail from a random one of its first writes
#             on (once or three times). The mirror raises a table event,
#             reports the log D, no I/O hangs, every write fio made reads
#             back and reached both legs; the mirror re-created on the same
#             log device comes up and resyncs to identical legs.
#   log+repair: the same with handle_errors: writes are held (fio is still
#             waiting), as the mirror does on a log failure; the repair LVM does (reload with a core
#             log, noflush suspend) releases them, nothing is lost.
#   leg:      leg 1's writes fail after a random number of bytes, with
#             handle_errors: leg 1 reported D, a table event, the regions
#             written meanwhile out of sync in the log (sync count below the
#             total); the repair (noflush suspend, the same table again with
#             the leg healthy) releases the held writes and resyncs exactly
#             what the log says, so the legs end identical and fio verifies.
# The seed is printed (IOFAULT_SEED replays it); IOFAULT_ROUNDS rounds of
# each (default 3).

. "$(dirname "$0")/lib.sh"

ktap_header "io_faults: fail_make_request on the log device and a leg under fio"

FMR=/sys/kernel/debug/fail_make_request
if [ ! -d $FMR ]; then
	echo "Bail out! needs CONFIG_FAIL_MAKE_REQUEST and its debugfs (make check-debug)"
	exit 1
fi
SEED=${IOFAULT_SEED:-$(od -An -tu2 -N2 /dev/urandom | tr -d ' ')}
ROUNDS=${IOFAULT_ROUNDS:-3}
note "seed $SEED (IOFAULT_SEED=$SEED replays it), $ROUNDS round(s) per scenario"

MIB=16
L0=$(new_loop if0 $MIB) && L1=$(new_loop if1 $MIB) && LL=$(new_loop iflog 1) || {
	echo "Bail out! cannot set up loop devices"
	exit 1
}
D0=$(devnum "$L0")
D1=$(devnum "$L1")
DL=$(devnum "$LL")
SECT=$(sectors "$L0")
NREG=$((SECT / 1024))
M=miofault

declare -A saved
for f in probability interval times space verbose; do saved[$f]=$(cat $FMR/$f); done
fmr_off() {
	local d
	for d in "$L0" "$L1" "$LL"; do echo 0 >"/sys/block/$(basename "$d")/make-it-fail"; done
	echo 0 >$FMR/probability
}
# fmr_arm DEV SPACE TIMES: DEV's bios pass while their bytes stay below
# SPACE (each passing bio takes its size off it), then fail (TIMES
# failures, -1 for all). SPACE = k * size + 1 fails the (k+1)-th bio of
# that size.
fmr_arm() {
	echo 0 >$FMR/verbose
	echo 1 >$FMR/interval
	echo "$2" >$FMR/space
	echo "$3" >$FMR/times
	echo 100 >$FMR/probability
	echo 1 >"/sys/block/$(basename "$1")/make-it-fail"
}
cleanup() {
	local f
	fmr_off
	for f in "${!saved[@]}"; do echo "${saved[$f]}" >$FMR/$f; done
	dm_remove $M
	free_loop "$L0"
	free_loop "$L1"
	free_loop "$LL"
}
trap cleanup EXIT

table() { # [FEATURES...]: the mirror over L0/L1 with a disk log on LL
	if [ $# = 0 ]; then
		echo "0 $SECT mirror disk 2 $DL 1024 2 $D0 0 $D1 0"
	else
		echo "0 $SECT mirror disk 2 $DL 1024 2 $D0 0 $D1 0 $# $*"
	fi
}
events() { dmsetup info "$1" | sed -n 's/^Event number: *//p'; }
# Status: "0 LEN mirror 2 DEV0 DEV1 SYNCED/TOTAL 1 HEALTH 3 disk LOGDEV STATE"
health() { dmsetup status $M | awk '{ print $9 }'; }
log_state() { dmsetup status $M | awk '{ print $NF }'; }
log_failed() { case "$(log_state)" in D | F) return 0 ;; esac; return 1; }
leg1_failed() { [ "$(health)" = AD ]; }
out_of_sync() {
	local f
	f=$(sync_fraction $M)
	[ -n "$f" ] && [ "${f%/*}" -lt "${f#*/}" ]
}
# injected TIMES: fail_make_request has failed at least one bio of the TIMES
# it was armed for.
injected() { [ "$(cat $FMR/times)" -lt "$1" ]; }

# fio_start NAME: random 16k writes over the whole mirror, each read back
# and checked; its exit status in $WORK/NAME.rc.
fio_start() {
	local dev
	dev=$(dm_node $M) || return 1
	rm -f "$WORK/$1.rc"
	(
		timeout -k 10 600 fio --name="$1" --filename="$dev" --direct=1 --ioengine=libaio \
			--iodepth=8 --rw=randwrite --bs=16k --size=${MIB}M --verify=crc32c \
			--do_verify=1 --verify_fatal=1 --output="$WORK/$1.log" >/dev/null 2>&1
		echo $? >"$WORK/$1.rc"
	) >/dev/null 2>&1 &
	FIO_PID=$!
}
fio_running() { [ ! -e "$WORK/$1.rc" ] && kill -0 $FIO_PID 2>/dev/null; }
# unhold: a flush suspend and resume, which ends the writes the mirror holds
# with an error (a repair that failed must not leave fio hanging).
unhold() { dmsetup suspend $M; dmsetup resume $M; }
fio_wait() { # NAME: fio finished and verified
	wait $FIO_PID
	[ "$(cat "$WORK/$1.rc" 2>/dev/null)" = 0 ] ||
		fail "fio $1: exit $(cat "$WORK/$1.rc" 2>/dev/null): $(grep -m3 -i 'err\|verify' "$WORK/$1.log")"
}
wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

fresh_mirror() { # [FEATURES...]
	dd if=/dev/zero of="$LL" bs=1M count=1 oflag=direct status=none &&
		dmsetup create $M --table "$(table "$@")" && wait_sync $M 180
}

# Recreate on the same log device and resync: the log must still be usable,
# and the legs end identical.
recreate_and_compare() {
	dm_remove $M || return 1
	dmsetup create $M --table "$(table)" || { fail "the mirror cannot be re-created on its log"; return 1; }
	wait_sync $M 300 || return 1
	same_range "$L0" "$L1" $MIB || fail "legs differ after the resync"
}

t_log_failure() {
	local round space times ev st r=0
	RANDOM=$((SEED + 1))
	for round in $(seq 1 "$ROUNDS"); do
		# One of the first log writes after the mirror is in sync fails
		# (dm-log-rs writes 512-byte blocks: the 1st to the 4th; the C log
		# its whole 1.5 KiB area: the 1st or 2nd), once or three times.
		space=$(((RANDOM % 4) * 512 + 1))
		times=$((1 + 2 * (RANDOM % 2)))
		fresh_mirror || return 1
		ev=$(events $M)
		fmr_arm "$LL" $space $times
		fio_start log$round
		fio_wait log$round || r=1
		st=$(log_state)
		injected $times || { fail "round $round: no log write reached the failure"; r=1; }
		fmr_off
		note "log round $round: fail after $space bytes, times $times: log $st, events $ev -> $(events $M)"
		# D: a failed write (fail_make_request cannot single out the
		# log's flushes, which F would report).
		case "$st" in
		D | F) [ "$(events $M)" -gt "$ev" ] || { fail "round $round: log $st but no table event"; r=1; } ;;
		*) fail "round $round: log status '$st' after the log device failed"; r=1 ;;
		esac
		same_range "$L0" "$L1" $MIB || { fail "round $round: a write missed a leg"; r=1; }
		recreate_and_compare || r=1
		dm_remove $M
	done
	return $r
}
ktap_result "log device write failures: D/F, event, no hang, no lost write" t_log_failure

t_log_failure_repair() {
	local round space ev r=0
	RANDOM=$((SEED + 2))
	for round in $(seq 1 "$ROUNDS"); do
		space=$(((RANDOM % 4) * 512 + 1))
		fresh_mirror handle_errors || return 1
		ev=$(events $M)
		fmr_arm "$LL" $space -1
		fio_start logrep$round
		wait_for 120 log_failed || { fail "round $round: the log did not fail"; r=1; }
		sleep 2
		fio_running logrep$round ||
			{ fail "round $round: fio ended although the failed log should hold the writes"; r=1; }
		note "log+repair round $round: fail after $space bytes: log $(log_state), events $ev -> $(events $M)"
		# What LVM does on a failed mirror log: the log becomes a core log.
		dmsetup suspend --noflush $M &&
			dmsetup load $M --table "0 $SECT mirror core 1 1024 2 $D0 0 $D1 0 1 handle_errors" &&
			dmsetup resume $M || { fail "round $round: repair failed"; r=1; unhold; }
		fmr_off
		fio_wait logrep$round || r=1
		wait_sync $M 300 || r=1
		same_range "$L0" "$L1" $MIB || { fail "round $round: legs differ after the repair"; r=1; }
		dm_remove $M
	done
	return $r
}
ktap_result "log failure with handle_errors: writes held, released by the repair" t_log_failure_repair

t_leg_failure() {
	local round space times ev h frac r=0
	RANDOM=$((SEED + 3))
	for round in $(seq 1 "$ROUNDS"); do
		# 0-1 MiB of leg-1 writes pass first (never 0: the empty flush
		# would fail too, reported F rather than D).
		space=$(((RANDOM % 64) * 16384 + 1))
		times=$((1 + RANDOM % 8))
		fresh_mirror handle_errors || return 1
		ev=$(events $M)
		fmr_arm "$L1" $space $times
		fio_start leg$round
		wait_for 120 leg1_failed ||
			{ fail "round $round: leg 1 not reported failed: $(dmsetup status $M)"; r=1; }
		# The mirror marks the region of a failed write out of sync from its
		# worker thread, just after reporting the leg.
		wait_for 30 out_of_sync
		h=$(health)
		frac=$(sync_fraction $M)
		note "leg round $round: fail after $space bytes, $times time(s): health $h, in sync $frac, events $ev -> $(events $M)"
		[ "$(events $M)" -gt "$ev" ] || { fail "round $round: no table event"; r=1; }
		[ "${frac%/*}" -lt "${frac#*/}" ] ||
			{ fail "round $round: a write failed on leg 1 but every region is in sync: $frac"; r=1; }
		fio_running leg$round ||
			{ fail "round $round: fio ended although the mirror should hold the failed writes"; r=1; }
		# The repair with the leg back: the same table, noflush.
		fmr_off
		dmsetup suspend --noflush $M && dmsetup load $M --table "$(table handle_errors)" &&
			dmsetup resume $M || { fail "round $round: repair failed"; r=1; unhold; }
		fio_wait leg$round || r=1
		wait_sync $M 300 || r=1
		same_range "$L0" "$L1" $MIB ||
			{ fail "round $round: legs differ: the log lost a region that leg 1 missed"; r=1; }
		dm_remove $M
	done
	return $r
}
ktap_result "leg write failures: D, event, regions out of sync, repair resyncs them" t_leg_failure

ktap_finish
