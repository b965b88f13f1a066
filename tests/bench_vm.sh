#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make bench` (scripts/bench.sh): in one boot, the kernel's C
# dm-log and dm-log-rs on the same devices. A disk-log mirror (nosync, 512 KiB
# regions) over two 1 TiB null_blk legs; fio: 4 KiB random O_DIRECT writes
# for BENCH_SECONDS over the first 1 GiB and over all 1 TiB, iodepth 16 (and
# 1: 1 TiB on both logs, 1 GiB on ssd). The two take turns, BENCH_ROUNDS
# times, in alternating order.
# Two log devices, both with a write cache so flushes are real and counted:
#   ram  a loop device over tmpfs (no bandwidth limit, no FUA)
#   ssd  a null_blk device limited to 200 MiB/s (a SATA-SSD-class device),
#        with FUA
# Prints one "BENCH impl log size iops log_bytes dirty_flushes" line per run:
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
# Legs and the "ssd" log: memory-backed null_blk (pages allocated on write)
# with a write cache; the bandwidth limit applies to each device alone, and
# the legs' 4 KiB writes stay far below it.
# The pages written stay allocated until the module goes: it is loaded
# afresh for each turn, or 2 GiB of guest memory would not last 3 rounds.
nullb_load() {
	modprobe null_blk nr_devices=3 gb=1024 memory_backed=1 cache_size=64 mbps=200 queue_mode=2 ||
		return 1
	udevadm settle 2>/dev/null
	[ -b /dev/nullb2 ] || return 1
	N0=$(devnum /dev/nullb0) N1=$(devnum /dev/nullb1)
}
nullb_load || exit 1
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug || exit 1
mkdir -p "$WORK"
LOGF=$WORK/benchlog.img
truncate -s 64M "$LOGF"
RAMLOG=$(losetup -f --show "$LOGF") || exit 1
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
run_core() { # IMPL LEN_SECTORS LABEL
	local impl=$1 len=$2 label=$3 dev iops
	dmsetup create mbench --table "0 $len mirror core 2 1024 nosync 2 $N0 0 $N1 0" || return 1
	dev=$(dm_node mbench)
	iops=$(fio_iops "$dev" $((len * 512)) 16)
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
	read -r _ g0 < <(logstat /dev/nullb0)
	iops=$(fio_iops "$dev" $((len * 512)) "$qd")
	read -r s1 f1 < <(logstat "$LD")
	read -r _ g1 < <(logstat /dev/nullb0)
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
		run_userspace $impl
		for log in ram ssd; do
			ld=$RAMLOG
			[ $log = ssd ] && ld=/dev/nullb2
			run $impl $ld $log $((1 << 21)) 1GiB
			run $impl $ld $log $((1 << 31)) 1TiB
		done
		run_core $impl $((1 << 31)) 1TiB
		# One write in flight: one region changes per flush.
		run $impl /dev/nullb2 ssd $((1 << 21)) 1GiB-qd1 1
		run $impl /dev/nullb2 ssd $((1 << 31)) 1TiB-qd1 1
		run $impl "$RAMLOG" ram $((1 << 31)) 1TiB-qd1 1
		LOG_IMPL=$impl LOG_MOD=$([ $impl = c ] && echo dm_log || echo dm_log_rs) unload_log_stack
		{ rmmod null_blk && nullb_load; } || { echo "BENCH error reloading null_blk"; exit 1; }
	done
done
losetup -d "$RAMLOG"
kill -TERM $DAEMON_PID
wait $DAEMON_PID
