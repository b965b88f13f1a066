#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make bench-scale` (scripts/scale.sh): how the kernel's C
# dm-log and dm-log-rs scale with the number of regions, in one boot. For
# each size a mirror (nosync) over two dm-zero legs of that size, with a
# core log and with a disk log on a loop device over a tmpfs file, is
# created; measured:
#   load    the DM_TABLE_LOAD ioctl (the mirror's and the log's
#           constructors: the log's bitmaps), ms, as strace -T times it
#   resume  the DM_DEV_SUSPEND ioctl of the first resume (the disk log
#           reads its device, finds no valid header and writes the whole
#           log), ms, the same way
#   memory  unreclaimable slab (large kmallocs included) + vmalloc in use
#           after the resume minus before the load: what the mirror and its
#           log hold, KiB
# Sizes: 1 GiB, 1 TiB, 16 TiB and 64 TiB with 512 KiB regions, and 8 TiB +
# 4 KiB with 4 KiB regions: 2^31 + 1 regions, past the C log's int
# resync position (once, after the rounds, dm-log-rs first). The
# implementations take turns BENCH_ROUNDS times
# (default 3), in alternating order (SCALE_IMPLS="c rs" chooses). A failed
# step prints the end of the kernel log. Prints one line
#   SCALE <impl> <core|disk> <regions> <region sectors> <load ms> <resume ms> <memory KiB>
# per measurement, "SCALE error ..." on a failure.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"

# "sectors region_sectors, ...": the mirrors' lengths and region sizes.
SIZES=${SCALE_SIZES:-"$((1 << 21)) 1024, $((1 << 31)) 1024, $((1 << 35)) 1024, $((1 << 37)) 1024, $(((1 << 34) + 8)) 8"}
mkdir -p "$WORK"
LOGF=$WORK/scale-log.img

meminfo_kib() { # FIELD...
	awk -v want=" $* " 'index(want, " " substr($1, 1, length($1) - 1) " ") { s += $2 } END { print s }' /proc/meminfo
}
# ioctl_ms NAME FILE: the time of the NAME ioctls in strace -T output, ms.
# (Timing the dmsetup process instead measures mostly its start-up: about a
# second under emulation, against milliseconds for the ioctl.)
ioctl_ms() {
	awk -v n="$1" 'index($0, n) && match($0, /<[0-9.]+>$/) { s += substr($0, RSTART + 1, RLENGTH - 2); k++ }
		END { if (k) printf "%.1f\n", s * 1000; else print "none" }' "$2"
}

# cleanup: removes what one() made (dm_remove retries while udev still has
# a new device open).
cleanup() {
	local d
	for d in sz sz0 sz1; do dm_remove $d >/dev/null 2>&1; done
	[ -z "$ld" ] || losetup -d "$ld"
	ld=
	rm -f "$LOGF"
}

# fail WHAT: reports a failed step with the kernel log's end; stops the run
# if the kernel oopsed (what follows would hang on the dead task's locks).
fail() {
	echo "SCALE error: $1"
	dmesg | tail -n 60 | sed 's/^/# dmesg: /'
	if dmesg | grep -qE 'Oops|BUG:|general protection|kernel BUG'; then
		echo "SCALE error: the kernel oopsed; stopping"
		exit 1
	fi
	cleanup
}

one() { # IMPL TYPE LEN REGION
	local impl=$1 type=$2 len=$3 rs=$4 regions log m0 m1 tl tr
	local what
	regions=$(((len + rs - 1) / rs))
	what="$impl $type $regions regions"
	ld=
	if ! { dmsetup create sz0 --table "0 $len zero" && dmsetup create sz1 --table "0 $len zero"; }; then
		fail "$what: cannot create the zero legs"
		return 1
	fi
	log="core 2 $rs nosync"
	if [ "$type" = disk ]; then
		# The header's sector, then the bitmap: 1 MiB and a whole number
		# of sectors beyond.
		truncate -s $((1024 * 1024 + (regions / 8 + 511) / 512 * 512)) "$LOGF"
		if ! ld=$(losetup -f --show "$LOGF"); then
			fail "$what: no loop device"
			return 1
		fi
		log="disk 3 $(devnum "$ld") $rs nosync"
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
	m0=$(meminfo_kib SUnreclaim VmallocUsed)
	dmsetup create sz --notable &&
		strace -T -e trace=ioctl -o "$WORK/scale-load.trace" dmsetup load sz --table \
			"0 $len mirror $log 2 $(devnum /dev/mapper/sz0) 0 $(devnum /dev/mapper/sz1) 0" ||
		{ fail "$what: table load failed"; return 1; }
	strace -T -e trace=ioctl -o "$WORK/scale-resume.trace" dmsetup resume sz ||
		{ fail "$what: resume failed"; return 1; }
	m1=$(meminfo_kib SUnreclaim VmallocUsed)
	tl=$(ioctl_ms DM_TABLE_LOAD "$WORK/scale-load.trace")
	tr=$(ioctl_ms DM_DEV_SUSPEND "$WORK/scale-resume.trace")
	if [ "$tl" = none ] || [ "$tr" = none ]; then
		fail "$what: strace shows no DM_TABLE_LOAD or DM_DEV_SUSPEND ioctl"
		return 1
	fi
	echo "# $what: $(dmsetup status sz | cut -d' ' -f4-)"
	cleanup
	echo "SCALE $impl $type $regions $rs $tl $tr $((m1 - m0))"
}

# run IMPL SIZE-LIST: every size of the list with a core and a disk log.
run() {
	echo "# $1"
	LOG_IMPL=$1 load_log_stack || { echo "SCALE error loading $1"; exit 1; }
	while read -r len rs; do
		for type in ${SCALE_TYPES:-core disk}; do
			one "$1" "$type" "$len" "$rs"
		done
	done < <(tr ',' '\n' <<<"$2")
	LOG_IMPL=$1 LOG_MOD=$([ "$1" = c ] && echo dm_log || echo dm_log_rs) unload_log_stack
}

# Mirrors of 2^31 regions or more run once, after the rounds, dm-log-rs
# first: the C disk log may not survive them (Documentation/benchmarks.md).
small= huge=
while read -r len rs; do
	[ -n "$len" ] || continue
	if [ $(((len + rs - 1) / rs)) -ge $((1 << 31)) ]; then
		huge="$huge${huge:+,} $len $rs"
	else
		small="$small${small:+,} $len $rs"
	fi
done < <(tr ',' '\n' <<<"$SIZES")
impls=${SCALE_IMPLS:-c rs}
for round in $(seq "${BENCH_ROUNDS:-3}"); do
	order=$impls
	[ $((round % 2)) = 0 ] && order=$(echo "$order" | tr ' ' '\n' | tac | xargs)
	for impl in $order; do
		[ -z "$small" ] || { echo "# round $round"; run "$impl" "$small"; }
	done
done
if [ -n "$huge" ]; then
	# Under plain emulation the host backs guest memory at first touch: the
	# first gigabyte-sized allocation in a boot paid seconds of host page
	# faults (4.5 s against 0.56 s for the same table load run twice).
	# Touch it once here, so that neither implementation pays for it.
	# Up to 2.5 GiB, leaving 512 MiB free (no OOM kill of anything else).
	python3 -c '
avail = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemAvailable:"))
b = b"\1" * max(0, min(5 << 29, (avail << 10) - (1 << 29)))' || echo "# memory warm-up failed"
	for impl in rs c; do
		case " $impls " in *" $impl "*) run "$impl" "$huge" ;; esac
	done
fi
dmesg | grep -E 'WARNING:|BUG:|Oops|circular locking|sleeping function called' |
	head -n 3 | sed 's/^/SCALE error: kernel log: /'
echo "# scale done"
