#!/usr/bin/env bash
# Guest side of `make demo` (see demo.sh).
set -euo pipefail
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/../tests/modules.sh"

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

LOG_IMPL=rs load_log_stack
run grep -E '^dm_(log|mirror|region)' /proc/modules
L0=$(new_loop demo0 64)
L1=$(new_loop demo1 64)
SECT=$(sectors "$L0")
echo "legs: $L0 $L1 ($SECT sectors each)"
write_pattern "$L0" demo-old 64

run dmsetup create demo --table "0 $SECT mirror core 1 1024 2 $L0 0 $L1 0"
run dmsetup table demo
run dmsetup status demo
say "waiting for the resync"
wait_sync demo 180
run dmsetup status demo
dev=$(dm_node demo)
say "write 16 MiB through the mirror at 8 MiB"
write_pattern "$dev" demo-new 16 8
say "compare legs"
if same_range "$L0" "$L1" 64 && range_is_pattern "$L1" demo-new 16 8; then
	echo "both legs hold identical data, including the new write"
else
	echo "LEGS DIFFER"
	exit 1
fi
run dmsetup suspend demo
run dmsetup resume demo
run dmsetup status demo
run dmsetup remove demo
free_loop "$L0"
free_loop "$L1"
run unload_log_stack
say "dmesg (dm_log_rs)"
dmesg | grep -E 'dm_log_rs' | tail -5
