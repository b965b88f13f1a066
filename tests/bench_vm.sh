#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make bench` (scripts/bench.sh): in one boot, the kernel's C
# dm-log and dm-log-rs on the same devices. A disk-log mirror (nosync, 512 KiB
# regions) over two null_blk legs (1 TiB, data discarded, so size is free),
# log on a loop device over tmpfs (it has a write cache, so flushes are real
# and counted). fio: 4 KiB random O_DIRECT writes, iodepth 16, for
# BENCH_SECONDS, over the first 1 GiB and over all 1 TiB.
# Prints one "BENCH impl size iops log_bytes log_flushes" line per run.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"

secs=${BENCH_SECONDS:-20}
modprobe null_blk nr_devices=2 gb=1024 memory_backed=0 queue_mode=2 || exit 1
udevadm settle 2>/dev/null
mkdir -p "$WORK"
LOGF=$WORK/benchlog.img
truncate -s 64M "$LOGF"
LD=$(losetup -f --show "$LOGF") || exit 1
N0=$(devnum /dev/nullb0) N1=$(devnum /dev/nullb1) NL=$(devnum "$LD")
logstat() { # "<write sectors> <flush ios>"
	awk '{ print $7, $16 }' "/sys/block/$(basename "$LD")/stat"
}

run() { # IMPL LEN_SECTORS LABEL
	local impl=$1 len=$2 label=$3 dev s0 f0 s1 f1 iops
	dd if=/dev/zero of="$LD" bs=1M count=64 status=none
	dmsetup create mbench --table "0 $len mirror disk 3 $NL 1024 nosync 2 $N0 0 $N1 0" || return 1
	dev=$(dm_node mbench)
	read -r s0 f0 < <(logstat)
	iops=$(fio --name=w --filename="$dev" --direct=1 --rw=randwrite --bs=4k --ioengine=libaio \
		--iodepth=16 --runtime="$secs" --time_based --size=$((len * 512)) \
		--randrepeat=0 --norandommap --output-format=json 2>/dev/null |
		python3 -c 'import json,sys; print(int(json.load(sys.stdin)["jobs"][0]["write"]["iops"]))')
	read -r s1 f1 < <(logstat)
	dm_remove mbench
	echo "BENCH $impl $label $iops $(((s1 - s0) * 512)) $((f1 - f0))"
}

for impl in c rs; do
	LOG_IMPL=$impl load_log_stack || { echo "BENCH error loading $impl"; exit 1; }
	run $impl $((1 << 21)) 1GiB
	run $impl $((1 << 31)) 1TiB
	LOG_IMPL=$impl LOG_MOD=$([ $impl = c ] && echo dm_log || echo dm_log_rs) unload_log_stack
done
losetup -d "$LD"
