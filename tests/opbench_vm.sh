#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make bench-ops` (scripts/opbench.sh): the CPU cost of each
# dirty-log operation (tests/modules/dm_log_opbench.c) for the kernel's C
# dm-log and for dm-log-rs in one boot, on core logs of OPBENCH_SIZES
# regions of 512 KiB (default: 1 GiB and 16 TiB). The implementations take
# turns BENCH_ROUNDS times (default 3), in alternating order. Prints one line
#   OPBENCH <impl> <op> <cpus> <regions> <ns per op x100>
# per measurement, "OPBENCH error ..." on a failure.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"

sizes=${OPBENCH_SIZES:-2048 33554432}
iters=${OPBENCH_ITERS:-1048576}
for round in $(seq "${BENCH_ROUNDS:-3}"); do
	order="c rs"
	[ $((round % 2)) = 0 ] && order="rs c"
	for impl in $order; do
		echo "# round $round: $impl"
		LOG_IMPL=$impl load_log_stack || { echo "OPBENCH error loading $impl"; exit 1; }
		for reg in $sizes; do
			dmesg_mark "opbench-$round-$impl-$reg"
			if ! insmod "$TESTS_DIR/modules/dm_log_opbench.ko" regions="$reg" iters="$iters"; then
				echo "OPBENCH error: $impl, $reg regions"
				continue
			fi
			rmmod dm_log_opbench
			klog=$(dmesg_since "opbench-$round-$impl-$reg")
			printf '%s\n' "$klog" |
				sed -n "s/.*dm_log_opbench: \([a-z_]*\) \([0-9]*\) \([0-9]*\) \([0-9]*\)\$/OPBENCH $impl \1 \2 \3 \4/p"
			warn=$(printf '%s\n' "$klog" | grep -m1 'dm_log_opbench: .*\(fail\|sync count\)')
			[ -z "$warn" ] || echo "OPBENCH error: $impl, $reg regions: $warn"
		done
		LOG_IMPL=$impl LOG_MOD=$([ "$impl" = c ] && echo dm_log || echo dm_log_rs) unload_log_stack
	done
done
# A measurement with a kernel report in it is not one.
dmesg | grep -E 'WARNING:|BUG:|Oops|circular locking|recursive locking|inconsistent lock state|sleeping function called' |
	head -n 3 | sed 's/^/OPBENCH error: kernel log: /'
echo "# opbench done"
