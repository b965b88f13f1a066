#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make check-lvm2` (scripts/check-lvm2.sh): LVM2's own test
# suite, run from the LVM2 build tree (scripts/lvm2.sh) with LVM2's runner,
# over the dirty-log stack of LOG_IMPL (rs or c).
#
# Environment (set by the host side):
#   LOG_IMPL      rs | c
#   LVM2_DIR      the LVM2 build tree (configured and built in tree)
#   LVM2_TESTS    test names, without shell/ and .sh
#   LVM2_TIMEOUT  seconds per test (hard limit; also the runner's silence limit)
#   LVM2_OUT      writable directory (virtme-ng --rwdir) for this run:
#                 results (name<TAB>result<TAB>seconds[<TAB>note]) and
#                 <name>.txt (the runner's log of the test, kernel log included)
#
# Results are the runner's: passed, failed, skipped (the test skipped
# itself), warnings (passed, printing "TEST WARNING"), timeout. A test the
# runner passes is recorded as failed if the kernel logged a warning, BUG,
# oops or lockdep report while it ran (note "kernel: ...").

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"

: "${LVM2_DIR:?}" "${LVM2_OUT:?}" "${LVM2_TESTS:?}"
LVM2_TIMEOUT=${LVM2_TIMEOUT:-900}
RESULTS=$LVM2_OUT/results
BAD_LOG='WARNING:|BUG:|Oops|general protection|kernel BUG|possible recursive locking|possible circular locking|inconsistent lock state|lock held when returning|sleeping function called from invalid context|scheduling while atomic|list_add corruption|list_del corruption|UBSAN|panicked at|rust_panic'

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
echo "# LVM2 test suite, LOG_IMPL=$LOG_IMPL, kernel $(uname -r), LVM2 tree $LVM2_DIR"
mount -t debugfs none /sys/kernel/debug 2>/dev/null

# LVM2's tests want no udev (flavour ndev-vanilla: private /dev, no udev
# sync): virtme-ng starts systemd-udevd, stop it (there is no systemctl).
udevd_stop || echo "# warning: systemd-udevd still running"
# libdm and lvm judge "udev is running" by its control socket: a stale one
# makes every dmsetup wait forever for udev to complete its cookie.
rm -f /run/udev/control

if ! out=$(load_log_stack 2>&1); then
	echo "$out"
	echo "# cannot load the dirty-log stack ($LOG_IMPL)"
	exit 1
fi
echo "# dirty-log stack: $(grep -oE '^dm_(log|log_rs|mirror|region_hash) ' /proc/modules | tr -d '\n')"

# The tests' scratch space: a tmpfs (device nodes allowed) of its own.
export LVM_TEST_DIR=/tmp/lvm2-test
mkdir -p "$LVM_TEST_DIR"
mount -t tmpfs -o size=1200m tmpfs "$LVM_TEST_DIR" || exit 1
# The LVM2 tree (~30 MB without objects) copied into guest memory and bound
# over its own path (the test suite knows it by that absolute path): the
# suite execs thousands of small programs, each read over 9p otherwise.
if [ "${LVM2_COPY:-1}" = 1 ]; then
	mkdir -p /tmp/lvm2-tree
	mount -t tmpfs -o size=200m tmpfs /tmp/lvm2-tree &&
		tar -C "$LVM2_DIR" --exclude='*.o' --exclude='*.a' -cf - . | tar -C /tmp/lvm2-tree -xf - &&
		mount --bind /tmp/lvm2-tree "$LVM2_DIR" &&
		echo "# LVM2 tree copied into guest memory" ||
		echo "# warning: could not copy the LVM2 tree into memory, running it over 9p"
fi
export LVM_TEST_PREFER_BRD=1 LVM_TEST_FLAVOUR=ndev-vanilla
mkdir -p "$LVM2_OUT/raw"
: >"$RESULTS"
# The kernel log, kept whole (the ring buffer may not hold a long test's).
KLOG=/tmp/lvm2-kernel.log
dmesg -w >"$KLOG" 2>&1 &
klog_since() { sleep 1; sed -n "/dmlog-test-mark $1\$/,\$p" "$KLOG"; }

# After a hard timeout the test's own teardown never ran: clean up what it
# left (its processes, dm devices, brd/loop devices).
cleanup_after_kill() {
	local pids
	pids=$(pgrep -f "$LVM2_DIR/|$LVM_TEST_DIR/" 2>/dev/null)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	sleep 1
	dmsetup table 2>/dev/null | grep -q LVMTEST && dmsetup remove_all --force >/dev/null 2>&1
	for l in $(losetup -a 2>/dev/null | grep "$LVM_TEST_DIR" | cut -d: -f1); do losetup -d "$l"; done
	rmmod brd 2>/dev/null
	rm -rf "${LVM_TEST_DIR:?}"/LVMTEST*
}

n=0
total=$(echo $LVM2_TESTS | wc -w)
for t in $LVM2_TESTS; do
	n=$((n + 1))
	if [ ! -f "$LVM2_DIR/test/shell/$t.sh" ]; then
		printf '%s\tfailed\t0\tno such test\n' "$t" >>"$RESULTS"
		echo "# [$n/$total] $t: no such test"
		continue
	fi
	rm -rf "$LVM2_OUT/raw"/*
	dmesg_mark "lvm2-$t"
	t0=$(date +%s)
	(cd "$LVM2_DIR/test" && timeout -k 30 "$((LVM2_TIMEOUT + 30))" ./lib/runner \
		--testdir . --outdir "$LVM2_OUT/raw" --flavours ndev-vanilla \
		--only "shell/$t.sh" --batch --timeout "$LVM2_TIMEOUT") >/dev/null 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	res=$(awk '{ print $2 }' "$LVM2_OUT/raw/list" 2>/dev/null | tail -n 1)
	note=
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		res=timeout
		note="killed after ${secs}s"
		cleanup_after_kill
	fi
	case "$res" in passed | failed | skipped | warnings | timeout) ;; *) note="runner: '${res:-no result}' rc $rc"; res=failed ;; esac
	log="$LVM2_OUT/$t.txt"
	cat "$LVM2_OUT/raw/"*.txt >"$log" 2>/dev/null
	klog_since "lvm2-$t" >/tmp/lvm2-test-klog
	bad=$(grep -E "$BAD_LOG" /tmp/lvm2-test-klog | head -n 3)
	if [ -n "$bad" ]; then
		{
			echo "### kernel log since the test started, reports of the kernel:"
			grep -E -B5 -A40 "$BAD_LOG" /tmp/lvm2-test-klog | head -n 200
		} >>"$log"
		note="${note:+$note; }kernel: $(echo "$bad" | head -n 1 | sed 's/^\[[^]]*\] //' | cut -c1-80)"
		case "$res" in passed | warnings) res=failed ;; esac
	fi
	printf '%s\t%s\t%s\t%s\n' "$t" "$res" "$secs" "$note" >>"$RESULTS"
	echo "# [$n/$total] $t: $res (${secs}s)${note:+ - $note}"
done
rm -rf "$LVM2_OUT/raw"

# The dirty-log stack must still unload (no reference leaked by the tests).
dmsetup remove_all >/dev/null 2>&1
if unload_log_stack >/dev/null 2>&1; then
	echo "# dirty-log stack unloaded"
else
	echo "# warning: the dirty-log stack does not unload: $(grep -E '^dm_(log|log_rs|mirror|region_hash) ' /proc/modules | cut -d' ' -f1-4 | tr '\n' ';')"
fi
echo "# lvm2 suite done"
