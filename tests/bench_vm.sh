#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make bench` (scripts/bench.sh): in one boot, the kernel's C
# dm-log and dm-log-rs on the same devices. A disk-log mirror (nosync, 512 KiB
# regions) over two 1 TiB null_blk legs; fio: 4 KiB random O_DIRECT writes
# for BENCH_SECONDS over the first 1 GiB and over all 1 TiB, iodepth 16 and
# 1. The two take turns, BENCH_ROUNDS times, in alternating order.
# The log device is one of four profiles, each with a write cache so that
# flushes are real and counted:
#   ram   a loop device over tmpfs: no latency, no bandwidth limit, no FUA
#   hdd   null_blk, every request 4 ms (a short seek and half a turn at
#         7,200 rpm), 150 MiB/s, no FUA: the block layer sends a write with
#         FUA as the write and a cache flush, as for any SATA disk (libata
#         leaves FUA off by default)
#   sata  a SATA SSD: 100 us per request, 500 MiB/s, no FUA (libata)
#   nvme  an NVMe SSD: 20 us per request, 2,000 MiB/s, FUA
# (null_blk's timer completion, memory backed, set per device through
# configfs). The legs stay fast (null_blk, no added latency): the rows
# show what the log costs. BENCH_LEGS=hdd|sata|nvme gives the legs that
# profile's service times too: what a user of such disks sees, the log's
# cost among the legs' own.
# The same mirror with a core log (no log device) gives the ceiling each
# implementation reaches without log I/O, at each size and depth.
#
# Prints one "BENCH impl log size iops log_bytes dirty_flushes" line per run
# (size: 1GiB, 1TiB, 1GiB-qd1, 1TiB-qd1; log "none" for the core log):
# dirty_flushes counts the mirror's log flushes that made newly dirty regions
# durable. The C log sends one cache flush of the log device for each (counted
# on the device); dm-log-rs writes them with FUA, so they are read from its
# debugfs counter instead. Before each, a "#" line gives the leg flushes
# counted on leg 0 and, for dm-log-rs, all its debugfs counters: what
# explains a row.
#
# Then the userspace log, C dm-log-userspace vs dm-log-rs, both served by the
# same dm-logd: mirror IOPS (1 GiB, core-like log, nosync, fio as above) and
# the time of a status request from one process (the DM_TABLE_STATUS ioctl,
# which asks the server for STATUS_INFO and GET_SYNC_COUNT: two round trips),
# as one line "BENCHU impl iops status_us".

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"

secs=${BENCH_SECONDS:-10}
PROFILES=${BENCH_PROFILES:-ram hdd sata nvme}
CFG=/sys/kernel/config/nullb
# nullb_new NAME SIZE_MIB [ATTR=VALUE...]: a memory-backed null_blk device
# (pages allocated on write) with a 64 MiB write cache, configured through
# configfs; prints its node (null_blk names it after its configfs directory).
nullb_new() {
	local name=$1 d=$CFG/$1 size=$2 a
	shift 2
	mkdir "$d" || return 1
	for a in size="$size" memory_backed=1 cache_size=64 "$@" power=1; do
		echo "${a#*=}" >"$d/${a%%=*}" || { echo "# cannot set $a on nullb $d" >&2; return 1; }
	done
	udevadm settle 2>/dev/null
	[ -b "/dev/$name" ] && echo "/dev/$name"
}
nullb_free() { # NAME...
	local n
	for n; do
		[ -d "$CFG/$n" ] || continue
		echo 0 >"$CFG/$n/power" && rmdir "$CFG/$n" || return 1
	done
}
# profile_attrs PROFILE: the null_blk attributes of a device profile.
profile_attrs() {
	case $1 in
	hdd) echo irqmode=2 completion_nsec=4000000 mbps=150 fua=0 ;;
	sata) echo irqmode=2 completion_nsec=100000 mbps=500 fua=0 ;;
	nvme) echo irqmode=2 completion_nsec=20000 mbps=2000 fua=1 ;;
	*) return 1 ;;
	esac
}
# The legs: 1 TiB each; by default without added latency, the bandwidth
# limit far above their 4 KiB writes.
# The pages written stay allocated until a leg goes: they are made afresh
# for each log profile, or the guest's memory would not last.
LEGS=${BENCH_LEGS:-fast}
legs_new() {
	local attrs=mbps=200
	[ "$LEGS" = fast ] || attrs=$(profile_attrs "$LEGS") || return 1
	nullb_free nb-leg0 nb-leg1 || return 1
	# shellcheck disable=SC2086 # attrs is a word list
	LEG0=$(nullb_new nb-leg0 $((1 << 20)) $attrs) && LEG1=$(nullb_new nb-leg1 $((1 << 20)) $attrs) &&
		N0=$(devnum "$LEG0") && N1=$(devnum "$LEG1")
}
# The log devices of the profiles, made afresh for each turn.
declare -A LOGDEV
nullb_load() {
	local p attrs
	modprobe null_blk nr_devices=0 || return 1
	LOGDEV[ram]=$RAMLOG
	for p in $PROFILES; do
		[ "$p" = ram ] && continue
		attrs=$(profile_attrs "$p") || { echo "BENCH error: unknown profile $p"; return 1; }
		# shellcheck disable=SC2086 # attrs is a word list
		LOGDEV[$p]=$(nullb_new "nb-$p" 64 $attrs) || return 1
	done
}
nullb_unload() {
	nullb_free nb-leg0 nb-leg1 nb-hdd nb-sata nb-nvme && rmmod null_blk
}
modprobe configfs
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || exit 1
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug || exit 1
mkdir -p "$WORK"
LOGF=$WORK/benchlog.img
truncate -s 64M "$LOGF"
RAMLOG=$(losetup -f --show "$LOGF") || exit 1
nullb_load || { echo "BENCH error: cannot make the null_blk devices"; exit 1; }
logstat() { # DEV -> "<write sectors> <flush ios>"
	awk '{ print $7, $16 }' "/sys/block/$(basename "$1")/stat"
}

dirty_flushes() { # LOG_MAJ:MIN -> dm-log-rs's dirty_flushes counter of the one log on it
	local f
	f=$(echo /sys/kernel/debug/dm_log_rs/disk-"$1"-*)
	[ -f "$f" ] && awk '$1 == "dirty_flushes" { print $2 }' "$f"
}

fio_iops() { # DEV BYTES IODEPTH -> 4 KiB random-write IOPS
	fio --name=w --filename="$1" --direct=1 --rw=randwrite --bs=4k --ioengine=libaio \
		--iodepth="$3" --runtime="$secs" --time_based --size="$2" \
		--randrepeat=0 --norandommap --output-format=json 2>/dev/null |
		python3 -c 'import json,sys; print(int(json.load(sys.stdin)["jobs"][0]["write"]["iops"]))'
}

# The same mirror with a core log: no log I/O at all, the ceiling for a disk
# log on this machine.
run_core() { # IMPL LEN_SECTORS LABEL [IODEPTH]
	local impl=$1 len=$2 label=$3 qd=${4:-16} dev iops
	dmsetup create mbench --table "0 $len mirror core 2 1024 nosync 2 $N0 0 $N1 0" || return 1
	dev=$(dm_node mbench)
	iops=$(fio_iops "$dev" $((len * 512)) "$qd")
	dm_remove mbench
	[ -n "$iops" ] || { echo "BENCH error: fio failed ($impl core $label)"; return 1; }
	echo "BENCH $impl none $label $iops 0 0"
}

run() { # IMPL LOGDEV LOGLABEL LEN_SECTORS LABEL [IODEPTH]
	local impl=$1 LD=$2 loglabel=$3 len=$4 label=$5 qd=${6:-16} NL dev s0 f0 s1 f1 g0 g1 iops
	NL=$(devnum "$LD")
	dd if=/dev/zero of="$LD" bs=1M count=1 oflag=direct status=none
	dmsetup create mbench --table "0 $len mirror disk 3 $NL 1024 nosync 2 $N0 0 $N1 0" || return 1
	dev=$(dm_node mbench)
	read -r s0 f0 < <(logstat "$LD")
	[ "$impl" = rs ] && f0=$(dirty_flushes "$NL")
	read -r _ g0 < <(logstat "$LEG0")
	iops=$(fio_iops "$dev" $((len * 512)) "$qd")
	read -r s1 f1 < <(logstat "$LD")
	read -r _ g1 < <(logstat "$LEG0")
	[ "$impl" = rs ] && f1=$(dirty_flushes "$NL")
	# What explains a row: the leg flushes (each clean state written costs
	# one) and, for dm-log-rs, its counters.
	echo "# $impl $loglabel $label qd$qd: $((g1 - g0)) leg flushes;" \
		"$([ "$impl" = rs ] && tr '\n' ' ' <"$(echo /sys/kernel/debug/dm_log_rs/disk-"$NL"-*)")"
	dm_remove mbench
	[ -n "$iops" ] || { echo "BENCH error: fio failed ($impl $loglabel $label)"; return 1; }
	[ -n "$f0" ] && [ -n "$f1" ] ||
		{ echo "BENCH error: no flush count ($impl $loglabel $label)"; return 1; }
	echo "BENCH $impl $loglabel $label $iops $(((s1 - s0) * 512)) $((f1 - f0))"
}

run_userspace() { # IMPL
	local impl=$1 dev iops us
	dmsetup create mbench --table \
		"0 $((1 << 21)) mirror userspace 4 bench-uuid-0001 core 1024 nosync 2 $N0 0 $N1 0" || return 1
	dev=$(dm_node mbench)
	iops=$(fio_iops "$dev" $((1 << 30)) 16)
	us=$("$TESTS_DIR/dm_status_loop.py" mbench 2000) || us=
	dm_remove mbench
	[ -n "$iops" ] && [ -n "$us" ] || { echo "BENCH error: userspace run failed ($impl)"; return 1; }
	echo "BENCHU $impl $iops $us"
}

"$REPO_DIR/target/release/dm-logd" >"$WORK/dm-logd.log" 2>&1 &
DAEMON_PID=$!
sleep 1

# The implementations take turns, BENCH_ROUNDS times (the host's speed
# drifts during a run; scripts/bench.sh reports medians).
# The order alternates between rounds (c rs, rs c, ...): a machine that
# slows down (or speeds up) during the run favours neither.
for round in $(seq "${BENCH_ROUNDS:-3}"); do
	order="c rs"
	[ $((round % 2)) = 0 ] && order="rs c"
	for impl in $order; do
		echo "# round $round: $impl"
		LOG_IMPL=$impl load_log_stack || { echo "BENCH error loading $impl"; exit 1; }
		# The core log first: its rows are the ceiling the others are read
		# against, so they get the turn's start, before the disk runs.
		legs_new || { echo "BENCH error: cannot make the legs"; exit 1; }
		run_core $impl $((1 << 21)) 1GiB
		run_core $impl $((1 << 21)) 1GiB-qd1 1
		run_core $impl $((1 << 31)) 1TiB
		run_core $impl $((1 << 31)) 1TiB-qd1 1
		legs_new || { echo "BENCH error: cannot make the legs"; exit 1; }
		run_userspace $impl
		for log in $PROFILES; do
			legs_new || { echo "BENCH error: cannot make the legs"; exit 1; }
			for size in 1GiB 1TiB; do
				len=$((1 << 21))
				[ $size = 1TiB ] && len=$((1 << 31))
				run $impl "${LOGDEV[$log]}" $log $len $size
				# One write in flight: one region changes per flush.
				run $impl "${LOGDEV[$log]}" $log $len $size-qd1 1
			done
		done
		LOG_IMPL=$impl LOG_MOD=$([ $impl = c ] && echo dm_log || echo dm_log_rs) unload_log_stack
		{ nullb_unload && nullb_load; } || { echo "BENCH error reloading null_blk"; exit 1; }
	done
done
nullb_unload
losetup -d "$RAMLOG"
kill -TERM $DAEMON_PID
wait $DAEMON_PID
