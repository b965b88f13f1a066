#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the crash-consistency test (scripts/crash-test.sh), on the
# three disks the host attached: /dev/vda and /dev/vdb (legs), /dev/vdc (log).
#   crash_vm.sh run SCENARIO SEED
#                        build the disk-log mirror, drive it as SCENARIO
#                        says, and crash the machine with sysrq-b at a
#                        moment drawn from SEED
#   crash_vm.sh verify   build the mirror again, wait for the resync, and
#                        require both legs byte-identical
# Scenarios (the power cut always comes while fio writes at random):
#   writes     plain writes
#   resync     the log wiped and leg 1 scribbled on first, so the mirror
#              starts with a full resync; the cut comes part way through it
#   suspend    a suspend/resume loop; the cut may find the mirror suspended
#   leg-fail   each leg under a dm-linear, the mirror with handle_errors (as
#              LVM builds it); leg 1 swapped to dm-error: the mirror holds
#              the writes that failed on it, their regions stay dirty; the
#              cut 1-3 s later. (Without handle_errors the mirror reports
#              such writes done and may mark their regions clean, so a
#              returning leg is wrong by design: dm-raid1 says so.)
#   reload     a table reload (suspend, swap, resume); the cut right after
# Prints "CRASH-STATE: ..." lines for the host.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"

udevadm settle 2>/dev/null
LEG0=/dev/vda LEG1=/dev/vdb LOGDEV=/dev/vdc
for d in $LEG0 $LEG1 $LOGDEV; do
	[ -b $d ] || { echo "CRASH-STATE: error no $d"; exit 1; }
done
load_log_stack || { echo "CRASH-STATE: error cannot load the $LOG_IMPL stack"; exit 1; }
SECT=$(sectors $LEG0)
RS=1024
table() { echo "0 $SECT mirror disk 2 $(devnum $LOGDEV) $RS 2 $1 0 $2 0${3:+ 1 $3}"; }
say() { echo "CRASH-STATE: $*"; }
die() { say "error $*"; exit 1; }

# The writes: random 4 KiB O_DIRECT, 8 in flight, until the crash.
start_fio() {
	fio --name=crash --filename="$1" --direct=1 --rw=randwrite --bs=4k \
		--ioengine=libaio --iodepth=8 --time_based --runtime=900 \
		--randrepeat=0 --norandommap >/dev/null 2>&1 &
}

# wait_writes DMNAME N: until N writes went through the device (fio starts
# slowly under emulation, and a crash before its first write checks nothing).
wait_writes() {
	local stat w0
	stat=/sys/dev/block/$(dm_devnum "$1")/stat
	w0=$(awk '{ print $5 }' "$stat")
	for _ in $(seq 1 600); do
		[ $(($(awk '{ print $5 }' "$stat") - w0)) -ge "$2" ] && break
		sleep 0.2
	done
	say "$(($(awk '{ print $5 }' "$stat") - w0)) writes done, fio running"
}

crash() {
	local stat w0
	stat=/sys/dev/block/$(dm_devnum mcrash)/stat
	w0=$(awk '{ print $5 }' "$stat")
	sleep 0.5
	say "$(($(awk '{ print $5 }' "$stat") - w0)) writes in the last 0.5 s, fio $(jobs -r | grep -q fio && echo running || echo gone)"
	say "crashing: $(dmsetup status mcrash 2>/dev/null)"
	echo b >/proc/sysrq-trigger
	sleep 30
	die "still alive after sysrq-b"
}

case "$1" in
run)
	scenario=$2
	RANDOM=${3:-1}
	echo 1 >/proc/sys/kernel/sysrq
	say "scenario $scenario, seed ${3:-1}"
	case "$scenario" in
	resync)
		# No valid header: the mirror must resync everything. Leg 1 gets
		# junk in random places for the resync to repair. kcopyd gets a
		# tenth of its time, so that the resync lasts long enough to be cut.
		echo 10 >/sys/module/dm_mirror/parameters/raid1_resync_throttle ||
			die "cannot throttle the resync"
		dd if=/dev/zero of=$LOGDEV bs=4096 count=1 oflag=direct status=none
		for _ in $(seq 1 16); do
			dd if=/dev/urandom of=$LEG1 bs=64K count=1 seek=$((RANDOM % (SECT / 128))) \
				oflag=direct status=none
		done
		;;
	esac
	if [ "$scenario" = leg-fail ]; then
		dmsetup create cleg0 --table "0 $SECT linear $LEG0 0" &&
			dmsetup create cleg1 --table "0 $SECT linear $LEG1 0" || die "create linear legs"
		dmsetup create mcrash --table \
			"$(table "$(dm_devnum cleg0)" "$(dm_devnum cleg1)" handle_errors)" || die "create"
	else
		dmsetup create mcrash --table "$(table "$(devnum $LEG0)" "$(devnum $LEG1)")" ||
			die "create"
	fi
	say "created, in sync $(sync_fraction mcrash)"
	if [ "$scenario" != resync ]; then
		wait_sync mcrash 600 || die "resync did not finish"
	fi
	dev=$(dm_node mcrash)
	start_fio "$dev"
	[ "$scenario" = resync ] || wait_writes mcrash 100
	case "$scenario" in
	writes)
		sleep $((1 + RANDOM % 4))
		;;
	resync)
		# Cut somewhere between 5 % and 90 % of the resync.
		total=$(sync_fraction mcrash)
		total=${total#*/}
		target=$((total * (5 + RANDOM % 86) / 100))
		for _ in $(seq 1 3000); do
			f=$(sync_fraction mcrash)
			[ "${f%/*}" -ge "$target" ] && break
			sleep 0.05
		done
		say "resync at $(sync_fraction mcrash) (target $target)"
		;;
	suspend)
		n=$((1 + RANDOM % 6))
		for i in $(seq 1 $n); do
			dmsetup suspend mcrash || die "suspend $i"
			sleep 0.$((RANDOM % 10))
			# Half the time the cut finds the mirror suspended.
			if [ "$i" = "$n" ] && [ $((RANDOM % 2)) = 0 ]; then
				say "suspended (cycle $i)"
				crash
			fi
			dmsetup resume mcrash || die "resume $i"
			sleep 0.$((RANDOM % 10))
		done
		say "$n suspend/resume cycles"
		;;
	leg-fail)
		dmsetup reload cleg1 --table "0 $SECT error" && dmsetup suspend cleg1 &&
			dmsetup resume cleg1 || die "fail leg 1"
		# The mirror holds the writes that failed on leg 1 (handle_errors,
		# as LVM sets it) until someone repairs it: nobody does.
		sleep $((1 + RANDOM % 3))
		;;
	reload)
		dmsetup reload mcrash --table "$(dmsetup table mcrash)" &&
			dmsetup suspend mcrash && dmsetup resume mcrash || die "reload"
		say "reloaded"
		sleep 0.$((RANDOM % 10))
		;;
	*) die "unknown scenario '$scenario'" ;;
	esac
	crash
	;;
verify)
	dmsetup create mcrash --table "$(table "$(devnum $LEG0)" "$(devnum $LEG1)")" ||
		die "create"
	say "created, in sync $(sync_fraction mcrash)"
	wait_sync mcrash 900 || die "resync did not finish"
	# Direct reads: the page cache may hold blocks read at boot (blkid),
	# which the resync rewrote underneath it.
	if cmp -s <(dd if=$LEG0 bs=1M iflag=direct status=none) \
		<(dd if=$LEG1 bs=1M iflag=direct status=none); then
		say "legs identical"
	else
		say "legs differ: $(cmp <(dd if=$LEG0 bs=1M iflag=direct status=none) \
			<(dd if=$LEG1 bs=1M iflag=direct status=none) | head -1)"
	fi
	dm_remove mcrash
	;;
*) die "usage: crash_vm.sh run SCENARIO SEED | verify" ;;
esac
