#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the kselftest run: loads the dirty-log stack for LOG_IMPL,
# runs every program of TEST_PROGS as a KTAP subtest, then checks the kernel
# log (warnings, lockdep, atomic sleep, list corruption, oopses) and kmemleak.
# Prints KTAP; exits non-zero if anything failed.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"
. "$(dirname "$0")/kernel_log.sh"

# DMLOG_TESTS="a.sh b.sh" runs only those (a developer's shortcut).
PROGS=${DMLOG_TESTS:-$(sed -n 's/^TEST_PROGS := //p' "$TESTS_DIR/Makefile")}
KMEMLEAK=/sys/kernel/debug/kmemleak

# kmemleak's report less one known leak of the kernel, not of a dirty log:
# when fail_nth.sh fails an allocation inside sysfs_slab_add() (the mirror
# table's bioset creates a slab cache), SLUB of 6.12 leaks the cache's
# kobject name (fixed upstream by 2420baa8e046, "mm/slab: Allow cache
# creation to proceed even if sysfs registration fails", not in 6.12.118).
# Dropped only for objects the fail_nth helper allocated with
# sysfs_slab_add in the backtrace; the count goes to stderr.
kmemleak_report() {
	awk '
		function flush() {
			if (obj == "") return
			if (obj ~ /comm "fail_nth"/ && obj ~ /sysfs_slab_add\+/) slab++
			else printf "%s", obj
			obj = ""
		}
		/^unreferenced object/ { flush() }
		{ obj = obj $0 "\n" }
		END {
			flush()
			if (slab) printf "slab-sysfs-name %d\n", slab > "/dev/stderr"
		}' "$KMEMLEAK"
}

mount -t debugfs none /sys/kernel/debug 2>/dev/null
mkdir -p "$WORK"
udevadm settle 2>/dev/null

echo "KTAP version 1"
echo "# dm-log-rs kselftests, LOG_IMPL=$LOG_IMPL, kernel $(uname -r)"
nprogs=$(($(echo $PROGS | wc -w) + 2))
echo "1..$nprogs"

# Leaks from before the run (boot) are not ours.
if [ -w $KMEMLEAK ]; then
	echo scan >$KMEMLEAK
	echo clear >$KMEMLEAK
fi
dmesg_mark run-start
# The kernel log of the run, kept as it comes: the tests (hostile connector
# input above all) can print more than the ring buffer holds.
KLOG=$WORK/run-kernel.log
dmesg -w >"$KLOG" 2>&1 &
KLOG_PID=$!

n=0
overall=0
n=$((n + 1))
if out=$(load_log_stack 2>&1); then
	echo "ok $n load the dirty-log stack ($LOG_IMPL)"
else
	printf '%s\n' "$out" | sed 's/^/# /'
	echo "not ok $n load the dirty-log stack ($LOG_IMPL)"
	overall=1
fi

# out_end PID PROG: waits up to 30 s for the reader of PROG's output (PID)
# to see its end. A process PROG left behind with that output open (a daemon
# that inherited it) would keep the reader, and the run, waiting for ever:
# that is PROG's bug, named here, and the reader is stopped.
out_end() {
	local i pipe f pid holders=
	for i in $(seq 1 300); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	pipe=$(readlink "/proc/$1/fd/0")
	for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "$pipe" ] || continue
		pid=${f#/proc/}
		pid=${pid%%/*}
		[ "$pid" != "$1" ] && [[ "$holders " != *" $pid "* ]] || continue
		holders+=" $pid $(cat "/proc/$pid/comm" 2>/dev/null)"
	done
	echo "# $2 left processes holding its output open:${holders:- unknown}"
	kill "$1" 2>/dev/null
	return 1
}

for p in $PROGS; do
	n=$((n + 1))
	echo "# selftests: dm-log-rs: $p (up to ${DMLOG_PROG_TIMEOUT:-900} s)"
	exec {out}> >(sed -u 's/^/    /')
	reader=$!
	timeout "${DMLOG_PROG_TIMEOUT:-900}" "$TESTS_DIR/$p" >&"$out" 2>&1 {out}>&-
	prc=$?
	exec {out}>&-
	out_end "$reader" "$p" || prc=1
	if [ "$prc" = 0 ]; then
		echo "ok $n selftests: dm-log-rs: $p"
	else
		[ "$prc" = 124 ] && echo "# $p timed out after ${DMLOG_PROG_TIMEOUT:-900} s"
		# A program stopped in the middle of a test leaves its devices:
		# remove them, so that the next programs start clean instead of
		# failing on them.
		left=$(dmsetup ls 2>/dev/null | awk '$1 != "No" { print $1 }' | tr '\n' ' ')
		if [ -n "$left" ]; then
			echo "# removing the devices $p left: $left"
			dmsetup remove_all >/dev/null 2>&1
		fi
		echo "not ok $n selftests: dm-log-rs: $p"
		overall=1
	fi
done

# The kernel log of the whole run, and kmemleak after unloading our stack
# (objects the module leaked stay unreferenced once it is gone).
n=$((n + 1))
echo "# selftests: dm-log-rs: kernel_log"
{
	echo "KTAP version 1"
	k=0
	kfail=0
	k=$((k + 1))
	if unload_log_stack >/dev/null 2>&1; then
		echo "ok $k unload the dirty-log stack"
	else
		echo "# $(grep -E '^dm_(log|mirror|region)' /proc/modules)"
		echo "not ok $k unload the dirty-log stack"
		kfail=1
	fi
	k=$((k + 1))
	if [ -w $KMEMLEAK ]; then
		# kmemleak reports objects unreferenced for two scans and >5 s.
		sleep 6
		echo scan >$KMEMLEAK
		echo scan >$KMEMLEAK
		counts=$(mktemp)
		leaks=$(kmemleak_report 2>"$counts")
		n_slab=$(awk '$1 == "slab-sysfs-name" { print $2 }' "$counts")
		rm -f "$counts"
		[ -n "$n_slab" ] && echo "# not counted: $n_slab object(s) of SLUB's known leak when sysfs_slab_add fails (an injected failure; upstream 2420baa8e046)"
		if [ -z "$leaks" ]; then
			echo "ok $k kmemleak reports nothing"
		else
			printf '%s\n' "$leaks" | head -60 | sed 's/^/# /'
			echo "not ok $k kmemleak reports nothing"
			kfail=1
		fi
	else
		echo "not ok $k kmemleak reports nothing # kmemleak unavailable"
		kfail=1
	fi
	k=$((k + 1))
	sleep 1
	kill $KLOG_PID 2>/dev/null
	wait $KLOG_PID 2>/dev/null
	echo "# kernel log of the run: $(sed -n '/dmlog-test-mark run-start$/,$p' "$KLOG" | wc -l) lines"
	if ! grep -q 'dmlog-test-mark run-start$' "$KLOG"; then
		echo "# the kernel log lacks the run's start mark: it cannot be checked"
		echo "dmlog-test-mark run-start" >>"$KLOG"
		echo "BUG: kernel log of the run missing" >>"$KLOG"
	fi
	known=$(run_log 2>&1 >/dev/null)
	n_sleep=$(echo "$known" | awk '$1 == "sleeping-alloc" { print $2 }')
	n_inj=$(echo "$known" | awk '$1 == "injected-alloc-failure" { print $2 }')
	[ -n "$n_sleep" ] && echo "# not counted: $n_sleep report(s) of the C dm-log-userspace's sleeping allocation under a spinlock (its known bug)"
	[ -n "$n_inj" ] && echo "# not counted: $n_inj allocation-failure report(s) of failures fail_nth.sh injected"
	n_sum=$(echo "$known" | awk '$1 == "kmemleak-summary" { print $2 }')
	[ -n "$n_sum" ] && echo "# not counted: $n_sum kmemleak scan summary line(s) (its objects are judged by the kmemleak test above)"
	bad=$(run_log 2>/dev/null | grep -E "$BAD_LOG")
	if [ -z "$bad" ]; then
		echo "ok $k no warning, lockdep report, oops or leak in the kernel log"
	else
		run_log 2>/dev/null | grep -E -B5 -A30 "$BAD_LOG" | head -120 | sed 's/^/# /'
		echo "not ok $k no warning, lockdep report, oops or leak in the kernel log"
		kfail=1
	fi
	echo "1..$k"
	exit $kfail
} 2>&1 | sed -u 's/^/    /'
if [ "${PIPESTATUS[0]}" = 0 ]; then
	echo "ok $n selftests: dm-log-rs: kernel_log"
else
	echo "not ok $n selftests: dm-log-rs: kernel_log"
	overall=1
fi
echo "# dm-log-rs kselftests done: $([ $overall = 0 ] && echo PASS || echo FAIL)"
exit $overall
