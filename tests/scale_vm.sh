#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make bench-scale` (scripts/scale.sh): how the kernel's C
# dm-log and dm-log-rs scale with the number of regions, in one boot. For
# each size a mirror (nosync) over two dm-zero legs of that size, with a
# core log and with a disk log on a loop device over a tmpfs file, is
# created; measured:
#   load    the table load (the mirror's and the log's constructors: the
#           log's bitmaps), ms, less the load of a zero table
#   resume  the first resume (the disk log reads its device, finds no valid
#           header and writes the whole log), ms, less a zero table's
#   memory  unreclaimable slab (large kmallocs included) + vmalloc in use
#           after the resume minus before the load: what the mirror and its
#           log hold, KiB
# Sizes: 1 GiB, 1 TiB, 16 TiB and 64 TiB with 512 KiB regions, and 8 TiB +
# 4 KiB with 4 KiB regions: 2^31 + 1 regions, past the C log's int
# resync position. The implementations take turns BENCH_ROUNDS times
# (default 3), in alternating order. Prints one line
#   SCALE <impl> <core|disk> <regions> <region sectors> <load ms> <resume ms> <memory KiB>
# per measurement, "SCALE error ..." on a failure.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"

export DM_DISABLE_UDEV=1
# "sectors region_sectors, ...": the mirrors' lengths and region sizes.
SIZES=${SCALE_SIZES:-"$((1 << 21)) 1024, $((1 << 31)) 1024, $((1 << 35)) 1024, $((1 << 37)) 1024, $(((1 << 34) + 8)) 8"}
mkdir -p "$WORK"
LOGF=$WORK/scale-log.img

meminfo_kib() { # FIELD...
	awk -v want=" $* " 'index(want, " " substr($1, 1, length($1) - 1) " ") { s += $2 } END { print s }' /proc/meminfo
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

one() { # IMPL TYPE LEN REGION
	local impl=$1 type=$2 len=$3 rs=$4 regions log ld= m0 m1 t0 tl tr bl br
	regions=$(((len + rs - 1) / rs))
	dmsetup create sz0 --table "0 $len zero" && dmsetup create sz1 --table "0 $len zero" ||
		return 1
	log="core 2 $rs nosync"
	if [ "$type" = disk ]; then
		# The header's sector, then the bitmap, a whole number of sectors.
		rm -f "$LOGF"
		truncate -s $((1024 * 1024 + regions / 8)) "$LOGF"
		ld=$(losetup -f --show "$LOGF") || return 1
		log="disk 3 $(devnum "$ld") $rs nosync"
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
	# The cost of the ioctls themselves (a dmsetup process under emulation
	# takes a second): the same load and resume of a zero table, subtracted.
	dmsetup create sz --notable || return 1
	t0=$(date +%s%N)
	dmsetup load sz --table "0 $len zero" || return 1
	bl=$(ms_since "$t0")
	t0=$(date +%s%N)
	dmsetup resume sz || return 1
	br=$(ms_since "$t0")
	dmsetup remove sz || return 1
	m0=$(meminfo_kib SUnreclaim VmallocUsed)
	dmsetup create sz --notable || return 1
	t0=$(date +%s%N)
	if ! dmsetup load sz --table "0 $len mirror $log 2 $(devnum /dev/mapper/sz0) 0 $(devnum /dev/mapper/sz1) 0"; then
		echo "SCALE error: $impl $type $regions regions: table load failed"
		dmsetup remove sz sz0 sz1
		[ -z "$ld" ] || losetup -d "$ld"
		return 1
	fi
	tl=$(ms_since "$t0")
	t0=$(date +%s%N)
	dmsetup resume sz || echo "SCALE error: $impl $type $regions regions: resume failed"
	tr=$(ms_since "$t0")
	m1=$(meminfo_kib SUnreclaim VmallocUsed)
	echo "# $impl $type $regions regions: $(dmsetup status sz | cut -d' ' -f4-)"
	dmsetup remove sz sz0 sz1
	[ -z "$ld" ] || losetup -d "$ld"
	rm -f "$LOGF"
	echo "SCALE $impl $type $regions $rs $((tl - bl)) $((tr - br)) $((m1 - m0))"
}

for round in $(seq "${BENCH_ROUNDS:-3}"); do
	order="c rs"
	[ $((round % 2)) = 0 ] && order="rs c"
	for impl in $order; do
		echo "# round $round: $impl"
		LOG_IMPL=$impl load_log_stack || { echo "SCALE error loading $impl"; exit 1; }
		while read -r len rs; do
			for type in core disk; do
				one "$impl" "$type" "$len" "$rs"
			done
		done < <(tr ',' '\n' <<<"$SIZES")
		LOG_IMPL=$impl LOG_MOD=$([ "$impl" = c ] && echo dm_log || echo dm_log_rs) unload_log_stack
	done
done
dmesg | grep -E 'WARNING:|BUG:|Oops|circular locking|sleeping function called' |
	head -n 3 | sed 's/^/SCALE error: kernel log: /'
echo "# scale done"
