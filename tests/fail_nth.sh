#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Deterministic allocation-failure sweeps, on the sanitizer kernel (make
# check-debug). For each operation below the 1st, 2nd, 3rd ... slab or page
# allocation it makes is failed in turn (/proc/thread-self/fail-nth, by
# tests/tools/fail_nth.c, which runs the whole sweep of one operation) until
# the operation passes all its allocation sites without a failure:
#   - the table load and the resume of a new mirror with a core, a disk and
#     a userspace log (dm-logd serving);
#   - a reload of a live mirror with a disk and a userspace log: the load of
#     a second table next to the live one, and the resume that swaps it in;
#   - the module load (dm-log-rs.ko; C: dm-log.ko), the rest of the stack out.
# After every step:
#   - a failed operation returned an error and left nothing: no device, no
#     inactive table, no debugfs entry, no connector callback, no module
#     reference (a failed module load leaves no module), and the live table
#     of a reloaded mirror still works;
#   - an operation that succeeded despite the failure (an allocation with a
#     fallback) gave a working mirror: a write reaches both legs;
# and the kernel log must stay clean and kmemleak silent (tests/run_vm.sh
# checks both after the run; the warnings a failed page allocation prints by
# design are told apart there by this program's marks).
# Same sweeps for LOG_IMPL=c: reported, C has known bugs.
#
# FAILNTH_MAX (default 3000) bounds the sites of one operation.

. "$(dirname "$0")/lib.sh"

ktap_header "fail_nth: each allocation of table load, resume and module load failed in turn"

FI=/sys/kernel/debug
if [ ! -w /proc/thread-self/fail-nth ] || [ ! -d $FI/failslab ] || [ ! -d $FI/fail_page_alloc ]; then
	echo "Bail out! needs CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC and their debugfs (make check-debug)"
	exit 1
fi
HELPER=$WORK/fail_nth
mkdir -p "$WORK"
if ! cc -O2 -Wall -Wl,-z,now -o "$HELPER" "$TESTS_DIR/tools/fail_nth.c"; then
	echo "Bail out! cannot compile tests/tools/fail_nth.c"
	exit 1
fi
DAEMON=$REPO_DIR/target/release/dm-logd
if [ ! -x "$DAEMON" ]; then
	echo "Bail out! $DAEMON not built (make daemon)"
	exit 1
fi
MAX=${FAILNTH_MAX:-3000}

MIB=8
L0=$(new_loop fn0 $MIB) && L1=$(new_loop fn1 $MIB) && LL=$(new_loop fnlog 1) || {
	echo "Bail out! cannot set up loop devices"
	exit 1
}
D0=$(devnum "$L0")
D1=$(devnum "$L1")
DL=$(devnum "$LL")
SECT=$(sectors "$L0")
M=mfailnth
UUID=dmlogtest-failnth-0001
SERVER_PIDFILE=$WORK/failnth-server.pid
SERVER_LOG=$WORK/failnth-server.log
DEBUGFS=$FI/dm_log_rs

# Fault injection for every allocation of this program's helper: sleeping
# allocations too (failslab and fail_page_alloc ignore them by default), any
# page order, and no report of each injected failure (the helper says whether
# it injected one). Probability stays 0: nothing fails but the N-th site of
# the task that armed fail-nth.
declare -A saved
fi_set() { # ATTR/FILE VALUE
	saved[$1]=$(cat "$FI/$1") && echo "$2" >"$FI/$1" && [ "$(cat "$FI/$1")" = "$2" ]
}
fi_restore() {
	local k
	for k in "${!saved[@]}"; do echo "${saved[$k]}" >"$FI/$k"; done
}
if ! { fi_set failslab/ignore-gfp-wait N && fi_set failslab/verbose 0 &&
	fi_set fail_page_alloc/ignore-gfp-wait N && fi_set fail_page_alloc/ignore-gfp-highmem N &&
	fi_set fail_page_alloc/min-order 0 && fi_set fail_page_alloc/verbose 0; }; then
	fi_restore
	echo "Bail out! cannot set up failslab and fail_page_alloc"
	exit 1
fi

# Thousands of devices come and go: udev would run its rules for each (slow
# under KASAN and emulation). udevd is stopped for the sweeps (the events of
# those devices then go nowhere) and started again after; libdevmapper
# makes the nodes itself, without waiting for udev. (Holding udev's queue
# instead left a backlog of thousands of events that every later dmsetup
# waited behind.)
export DM_DISABLE_UDEV=1
UDEVD=
if pidof systemd-udevd >/dev/null; then
	UDEVD=$(readlink -f /proc/"$(pidof -s systemd-udevd)"/exe)
	udevd_stop
fi
udevd_start() {
	[ -n "$UDEVD" ] || return 0
	pidof systemd-udevd >/dev/null && return 0
	# udevadm is systemd-udevd under that name. The daemon must not keep
	# this program's output open (fd 9 is a copy of it): run_vm.sh reads
	# that output to its end.
	(exec -a systemd-udevd "$UDEVD" --daemon) </dev/null >/dev/null 2>&1 9>&-
	udevadm settle --timeout=60 2>/dev/null
}

cleanup() {
	dmesg_mark fail-nth-end
	fi_restore
	udevd_start
	dm_remove $M
	stop_server
	free_loop "$L0"
	free_loop "$L1"
	free_loop "$LL"
	reload_stack >/dev/null 2>&1
}
trap cleanup EXIT
# From here to the end mark, run_vm.sh does not count the page allocation
# failure reports the injected failures print.
dmesg_mark fail-nth-begin

. "$TESTS_DIR/modules.sh"
# The whole stack as the run has it, with the C userspace log loaded for
# LOG_IMPL=c (it holds a reference on dm-log: loaded once, before the base
# state is taken).
reload_stack() {
	load_log_stack && { [ "$LOG_IMPL" = rs ] || modprobe dm-log-userspace; }
}
if ! reload_stack; then
	echo "Bail out! cannot load the dirty-log stack"
	exit 1
fi

# The log part of a mirror table: nosync, so that every region is in sync
# and a write reaches both legs at once (the helper's check).
log_args() { # TYPE [REGION]
	local r=${2:-1024}
	case $1 in
	core) echo "core 2 $r nosync" ;;
	disk) echo "disk 3 $DL $r nosync" ;;
	userspace) echo "userspace 4 $UUID core $r nosync" ;;
	esac
}
table() { echo "0 $SECT mirror $(log_args "$@") 2 $D0 0 $D1 0"; }

# What must be the same after every step as before the first: module
# references, the module's debugfs entries, connector callbacks.
STATE=(--state /sys/module/$LOG_MOD/refcnt --state /proc/net/connector)
[ "$LOG_IMPL" = c ] && STATE+=(--state /sys/module/dm_log_userspace/refcnt)
[ "$LOG_IMPL" = rs ] && STATE+=(--state $DEBUGFS)
LEGS=(--leg "$L0" --leg "$L1")

# sweep TITLE KIND ARGS...: one helper run, its summary as a note.
sweep() {
	local title=$1 out rc
	shift
	out=$("$HELPER" "$@" --max "$MAX" "${STATE[@]}" 2>&9)
	rc=$?
	dm_remove $M
	printf '%s\n' "$out"
	[ $rc = 0 ] || return 1
	note "$title: ${out##*$'\n'}"
}

for TYPE in core disk userspace; do
	if [ $TYPE = userspace ]; then
		ktap_result "start the log server" start_server "$DAEMON"
	fi
	ktap_result "new mirror with a $TYPE log: table load" \
		sweep "$TYPE load" load $M --table "$(table $TYPE)" "${LEGS[@]}"
	ktap_result "new mirror with a $TYPE log: resume" \
		sweep "$TYPE resume" resume $M --table "$(table $TYPE)" "${LEGS[@]}"
done
for TYPE in disk userspace; do
	ktap_result "live mirror with a $TYPE log: reload" \
		sweep "$TYPE reload" reload $M --table "$(table $TYPE)" \
		--table2 "$(table $TYPE 2048)" "${LEGS[@]}"
	ktap_result "live mirror with a $TYPE log: the resume that swaps tables" \
		sweep "$TYPE reload-resume" reload-resume $M --table "$(table $TYPE)" \
		--table2 "$(table $TYPE 2048)" "${LEGS[@]}"
done
stop_server

# --- the module load, with the rest of the stack out ----------------------
if [ "$LOG_IMPL" = c ]; then
	MODFILE=$(modinfo -n dm-log)
else
	MODFILE=$REPO_DIR/dm-log-rs.ko
fi
# Loaded from a copy in $WORK (the overlay's tmpfs): read from the VM's 9p
# root, the failures injected into finit_module hit the 9p client's read
# path too (a refcount underflow in netfs_put_request, 2026-12-03), which is
# not what this sweep is for.
cp "$MODFILE" "$WORK/" && MODFILE=$WORK/$(basename "$MODFILE")
t_insmod() {
	local rc
	unload_log_stack || { fail "cannot unload the stack"; return 1; }
	STATE=(--state /proc/net/connector --state /sys/module/$LOG_MOD)
	[ "$LOG_IMPL" = rs ] && STATE+=(--state $DEBUGFS)
	sweep "module load" insmod $LOG_MOD --module "$MODFILE"
	rc=$?
	reload_stack || { fail "cannot load the stack again"; return 1; }
	return $rc
}
ktap_result "load $(basename "$MODFILE")" t_insmod

ktap_finish
