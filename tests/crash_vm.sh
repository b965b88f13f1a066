#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the crash-consistency test (scripts/crash-test.sh), on the
# three disks the host attached: /dev/vda and /dev/vdb (legs), /dev/vdc (log).
#   crash_vm.sh run      build the disk-log mirror (resyncing what the last
#                        crash left), run random O_DIRECT writes, and crash
#                        the machine with sysrq-b after a random delay
#   crash_vm.sh verify   build the mirror again, wait for the resync, and
#                        require both legs byte-identical
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
TABLE="0 $SECT mirror disk 2 $(devnum $LOGDEV) 1024 2 $(devnum $LEG0) 0 $(devnum $LEG1) 0"

dmsetup create mcrash --table "$TABLE" || { echo "CRASH-STATE: error create"; exit 1; }
echo "CRASH-STATE: created, in sync $(sync_fraction mcrash)"
wait_sync mcrash 600 || { echo "CRASH-STATE: error resync did not finish"; exit 1; }

case "$1" in
run)
	dev=$(dm_node mcrash)
	echo 1 >/proc/sys/kernel/sysrq
	# Random 4 KiB O_DIRECT writes, 8 in flight, until the crash.
	fio --name=crash --filename="$dev" --direct=1 --rw=randwrite --bs=4k \
		--ioengine=libaio --iodepth=8 --time_based --runtime=600 \
		--randrepeat=0 --norandommap >/dev/null 2>&1 &
	# Crash only once the writes are really flowing: fio starts slowly
	# under emulation, and a crash before its first write leaves nothing
	# dirty to check.
	stat=/sys/dev/block/$(dm_devnum mcrash)/stat
	w0=$(awk '{ print $5 }' "$stat")
	for _ in $(seq 1 600); do
		[ $(($(awk '{ print $5 }' "$stat") - w0)) -ge 200 ] && break
		sleep 0.2
	done
	echo "CRASH-STATE: $(($(awk '{ print $5 }' "$stat") - w0)) writes done, fio running"
	delay=$((1 + RANDOM % 4))
	echo "CRASH-STATE: writing, crash in ${delay}s"
	sleep $delay
	echo "CRASH-STATE: crashing"
	echo b >/proc/sysrq-trigger
	sleep 30
	echo "CRASH-STATE: error still alive after sysrq-b"
	exit 1
	;;
verify)
	if cmp -s $LEG0 $LEG1; then
		echo "CRASH-STATE: legs identical"
	else
		echo "CRASH-STATE: legs differ: $(cmp $LEG0 $LEG1 | head -1)"
	fi
	dm_remove mcrash
	;;
esac
