#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The module as a drop-in for dm-log.ko: which module serves the mirror,
# module references held by logs, unloading, and the registry's autoload.

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/modules.sh"

ktap_header "module: registry, references, unload, autoload"

L0=$(new_loop mod0 16) && L1=$(new_loop mod1 16) || {
	echo "Bail out! cannot set up loop devices"
	exit 1
}
D0=$(devnum "$L0")
D1=$(devnum "$L1")
SECT=$(sectors "$L0")
cleanup() {
	dm_remove mod_a
	dm_remove mod_b
	free_loop "$L0"
	free_loop "$L1"
	load_log_stack >/dev/null 2>&1
}
trap cleanup EXIT

t_which() {
	grep -q "^$LOG_MOD " /proc/modules || fail "$LOG_MOD not loaded"
	if [ "$LOG_IMPL" = rs ]; then
		grep -q '^dm_log ' /proc/modules && fail "in-tree dm_log is loaded"
		# dm-mirror must be linked against us.
		grep "^dm_log_rs " /proc/modules | grep -q dm_mirror ||
			fail "dm_mirror does not use dm_log_rs: $(grep '^dm_log_rs ' /proc/modules)"
	fi
	return 0
}
ktap_result "$LOG_MOD serves the mirror target" t_which

# KUnit suites (tests/modules/dm_log_kunit.c) drive the registry's C API as
# dm-mirror or dm-log-userspace would (duplicate names, unknown types,
# references) and the core type's ops table through it (regions, resync
# work, status truncation, bad arguments). They run when the module loads;
# each KUnit case is reported here as one result.
KUNIT_SUITES="dm_log_registry dm_log_core_ops"
kunit_out=$WORK/kunit
rm -rf "$kunit_out" && mkdir -p "$kunit_out"
t_kunit_load() {
	local strict=0 s
	[ "$LOG_IMPL" = rs ] && strict=1
	[ -d /sys/kernel/debug/kunit ] || fail "no /sys/kernel/debug/kunit: the test kernel lacks CONFIG_KUNIT_DEBUGFS" || return 1
	dmesg_mark kunit
	insmod "$TESTS_DIR/modules/dm_log_kunit.ko" strict=$strict || return 1
	for s in $KUNIT_SUITES; do
		cp "/sys/kernel/debug/kunit/$s/results" "$kunit_out/$s" 2>/dev/null ||
			fail "no KUnit results for suite $s"
	done
	rmmod dm_log_kunit || return 1
	for s in $KUNIT_SUITES; do [ -s "$kunit_out/$s" ] || return 1; done
}
ktap_result "KUnit suites ($KUNIT_SUITES) load and run" t_kunit_load

# kunit_case SUITE NAME: the case's own result line (its diagnostics on
# failure); exit 4 for a case KUnit skipped.
kunit_case() {
	local line
	line=$(grep -E "^ +(not )?ok [0-9]+ $2( |\$)" "$kunit_out/$1")
	case "$line" in
	*"# SKIP"*) echo "${line#*# SKIP }"; return 4 ;;
	*"not ok"*) sed -n "/# $2: /,/not ok [0-9]* $2/p" "$kunit_out/$1" | head -n 40; return 1 ;;
	*ok*) return 0 ;;
	*) fail "case $2 not run (suite $1)" ;;
	esac
}
for suite in $KUNIT_SUITES; do
	for case in $(sed -nE 's/^ +(not )?ok [0-9]+ ([a-z0-9_]+).*/\2/p' "$kunit_out/$suite" 2>/dev/null); do
		[ "$case" = "$suite" ] && continue
		ktap_result "kunit $suite: $case" kunit_case "$suite" "$case"
	done
done

t_refs() {
	local base
	base=$(refcnt $LOG_MOD)
	dmsetup create mod_a --table "0 $SECT mirror core 2 1024 nosync 2 $D0 0 $D1 0" || return 1
	expect_eq "refcount with one log" "$(refcnt $LOG_MOD)" $((base + 1)) || return 1
	dmsetup create mod_b --table "0 $SECT mirror core 2 1024 nosync 2 $D0 0 $D1 0" || return 1
	expect_eq "refcount with two logs" "$(refcnt $LOG_MOD)" $((base + 2)) || return 1
	rmmod $LOG_MOD 2>/dev/null && fail "$LOG_MOD unloaded under a live mirror"
	dm_remove mod_a && dm_remove mod_b || return 1
	expect_eq "refcount after removal" "$(refcnt $LOG_MOD)" "$base"
}
ktap_result "each log holds a reference on the module; unload refused" t_refs

t_unload() {
	unload_log_stack || return 1
	[ -e /sys/module/$LOG_MOD ] && fail "$LOG_MOD still present after rmmod"
	load_log_stack || fail "reload failed"
	dmsetup create mod_a --table "0 $SECT mirror core 2 1024 nosync 2 $D0 0 $D1 0" &&
		dm_remove mod_a
}
ktap_result "unloads cleanly once unused, and loads again" t_unload

# An open debugfs file pins the module (its file operations name it as
# owner): unloading under it would leave the file's close() calling into the
# freed module.
t_debugfs_open() {
	local f=/sys/kernel/debug/dm_log_rs/userspace r=0
	only_rs || return
	[ -r $f ] || fail "$f missing" || return 1
	exec 3<$f
	rmmod dm_mirror dm_region_hash 2>/dev/null
	if rmmod $LOG_MOD 2>/dev/null; then
		fail "the module unloaded while one of its debugfs files was open"
		r=1
	fi
	exec 3<&-
	if grep -q "^$LOG_MOD " /proc/modules; then
		rmmod $LOG_MOD || { fail "no unload after the file was closed"; r=1; }
	fi
	load_log_stack || { fail "reload failed"; r=1; }
	return $r
}
ktap_result "an open debugfs file holds the module; unload after close (rs only)" t_debugfs_open

# Installed the way an admin would (make modules_install -> updates/ +
# depmod; staged by scripts/vm-test.sh into tests/out/modroot): plain
# `modprobe dm-mirror` must then pull in dm-log-rs, not the in-tree dm-log.
t_installed() {
	local root=$REPO_DIR/tests/out/modroot
	only_rs || return
	[ -f "$root/lib/modules/$(uname -r)/updates/dm-log-rs.ko" ] ||
		fail "no staged install under $root" || return 1
	modprobe -d "$root" --show-depends dm-mirror | grep -q 'updates/dm-log-rs.ko' ||
		fail "depmod does not resolve dm-mirror to updates/dm-log-rs.ko:" \
			"$(modprobe -d "$root" --show-depends dm-mirror)" || return 1
	unload_log_stack || return 1
	modprobe -d "$root" dm-mirror || return 1
	grep -q '^dm_log_rs ' /proc/modules || fail "modprobe dm-mirror did not load dm_log_rs"
	grep -q '^dm_log ' /proc/modules && fail "modprobe dm-mirror loaded the in-tree dm_log"
	return 0
}
ktap_result "installed into updates/: modprobe dm-mirror resolves to it (rs only)" t_installed

t_no_dm_log() {
	only_rs || return
	modprobe dm-log 2>/dev/null && fail "in-tree dm-log loaded beside dm-log-rs"
	grep -q '^dm_log ' /proc/modules && fail "dm_log present"
	return 0
}
ktap_result "the in-tree dm-log cannot load beside it (rs only)" t_no_dm_log

# The registry loads dm-log-<type> on demand: with the C stack, "userspace"
# brings in the kernel's dm-log-userspace.ko. dm-log-rs serves "userspace"
# itself, so the kernel's module must stay out. Either way, with no log
# server the constructor fails and every reference is given back. (With
# dm-log-rs, should dm-log-userspace.ko be loaded, its declared dependency
# must resolve to dm-log-rs, which holds on an installed system: the
# kernel's modprobe helper is pointed at the staged installed tree.)
t_autoload() {
	local r=0 helper
	helper=$(cat /proc/sys/kernel/modprobe)
	[ "$LOG_IMPL" = rs ] && echo "$TESTS_DIR/modprobe-installed.sh" >/proc/sys/kernel/modprobe
	_t_autoload
	r=$?
	echo "$helper" >/proc/sys/kernel/modprobe
	return $r
}
_t_autoload() {
	local ref0 r=0
	rmmod dm_log_userspace 2>/dev/null
	ref0=$(refcnt $LOG_MOD)
	dmesg_mark autoload
	if dmsetup create mod_a --table \
		"0 $SECT mirror userspace 3 dmlogtest-uuid-1 core 1024 2 $D0 0 $D1 0" 2>/dev/null; then
		dm_remove mod_a
		fail "userspace log created with no server"
		r=1
	fi
	if [ "$LOG_IMPL" = c ]; then
		grep -q '^dm_log_userspace ' /proc/modules || { fail "dm-log-userspace not autoloaded"; r=1; }
		dmesg_since autoload | grep -q "Userspace log server not found" ||
			{ fail "no 'server not found' message"; r=1; }
		expect_eq "dm_log_userspace refcount" "$(refcnt dm_log_userspace)" 0 || r=1
		rmmod dm_log_userspace || r=1
	else
		grep -q '^dm_log_userspace ' /proc/modules &&
			{ fail "the kernel's dm-log-userspace was loaded"; r=1; }
		dmesg_since autoload | grep -q "userspace log server not found" ||
			{ fail "no 'server not found' message"; r=1; }
	fi
	expect_eq "$LOG_MOD refcount" "$(refcnt $LOG_MOD)" "$ref0" || r=1
	return $r
}
ktap_result "userspace type: autoloaded (C) or built in (rs); no server, no leftovers" t_autoload

ktap_finish
