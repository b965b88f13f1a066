#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The "core" dirty log under the in-tree mirror target, with real dmsetup on
# loop devices: table/status formats, resync, data on both legs, nosync/sync,
# region sizes, suspend/resume, malformed tables, a large mirror.

. "$(dirname "$0")/lib.sh"

ktap_header "core_log: mirror target with the core dirty log"

MIB=64
L0=$(new_loop core0 $MIB) && L1=$(new_loop core1 $MIB) || {
	echo "Bail out! cannot set up loop devices"
	exit 1
}
D0=$(devnum "$L0")
D1=$(devnum "$L1")
SECT=$(sectors "$L0")
M=mcore

cleanup() {
	dm_remove $M
	dm_remove mbig
	dm_remove zbig0
	dm_remove zbig1
	free_loop "$L0"
	free_loop "$L1"
}
trap cleanup EXIT

# mirror_table LEN LOGARGS...: a two-leg mirror table line over L0 and L1.
mirror_table() {
	local len=$1
	shift
	echo "0 $len mirror $* 2 $D0 0 $D1 0"
}

reset_legs() { # SEED: leg 0 gets a pattern, leg 1 zeros
	write_pattern "$L0" "$1" $MIB &&
		dd if=/dev/zero of="$L1" bs=1M count=$MIB oflag=direct status=none
}

# --- default core log: create, formats, resync, data ---------------------

t_create() {
	reset_legs seed-a || return 1
	dmsetup create $M --table "$(mirror_table "$SECT" core 1 1024)"
}
ktap_result "create mirror with 'core 1 1024'" t_create

t_table() {
	expect_eq "table" "$(dmsetup table $M)" "$(mirror_table "$SECT" core 1 1024)"
}
ktap_result "table line as the C log prints it" t_table

t_sync() {
	wait_sync $M 180 &&
		expect_eq "status" "$(dmsetup status $M)" \
			"0 $SECT mirror 2 $D0 $D1 128/128 1 AA 1 core"
}
ktap_result "reaches full sync; status '128/128 1 AA 1 core'" t_sync

t_resync_copied() {
	same_range "$L0" "$L1" $MIB || fail "legs differ after resync"
	range_is_pattern "$L1" seed-a $MIB || fail "leg 1 does not hold leg 0's data"
}
ktap_result "resync copied leg 0 onto leg 1" t_resync_copied

t_write() {
	local dev
	dev=$(dm_node $M) || return 1
	write_pattern "$dev" seed-b 16 8 || return 1
	range_is_pattern "$L0" seed-b 16 8 || fail "leg 0 lacks the write"
	range_is_pattern "$L1" seed-b 16 8 || fail "leg 1 lacks the write"
	range_is_pattern "$dev" seed-b 16 8 || fail "mirror reads back wrong data"
	same_range "$L0" "$L1" $MIB || fail "legs differ"
}
ktap_result "writes land on both legs and read back" t_write

t_suspend_resume() {
	local dev
	dmsetup suspend $M && dmsetup resume $M || return 1
	expect_eq "status after resume" "$(dmsetup status $M)" \
		"0 $SECT mirror 2 $D0 $D1 128/128 1 AA 1 core" || return 1
	dev=$(dm_node $M) || return 1
	write_pattern "$dev" seed-c 8 40 || return 1
	same_range "$L0" "$L1" $MIB || fail "legs differ after writes past resume"
	range_is_pattern "$dev" seed-c 8 40
}
ktap_result "suspend/resume keeps state; I/O continues" t_suspend_resume

t_remove() { dm_remove $M && ! dm_exists $M; }
ktap_result "remove" t_remove

# --- nosync and sync ------------------------------------------------------

t_nosync() {
	local dev
	reset_legs seed-d || return 1
	dmsetup create $M --table "$(mirror_table "$SECT" core 2 1024 nosync)" || return 1
	expect_eq "table" "$(dmsetup table $M)" "$(mirror_table "$SECT" core 2 1024 nosync)" || return 1
	expect_eq "status" "$(dmsetup status $M)" \
		"0 $SECT mirror 2 $D0 $D1 128/128 1 AA 1 core" || return 1
	sleep 2
	same_range "$L0" "$L1" $MIB && fail "nosync mirror was resynced anyway"
	dev=$(dm_node $M) || return 1
	write_pattern "$dev" seed-e 4 0 || return 1
	same_range "$L0" "$L1" 4 0 || fail "written range differs between legs"
	dm_remove $M
}
ktap_result "nosync: in sync at once, no resync, writes mirrored" t_nosync

t_forcesync() {
	reset_legs seed-f || return 1
	dmsetup create $M --table "$(mirror_table "$SECT" core 2 1024 sync)" || return 1
	expect_eq "table" "$(dmsetup table $M)" "$(mirror_table "$SECT" core 2 1024 sync)" || return 1
	wait_sync $M 180 || return 1
	same_range "$L0" "$L1" $MIB || fail "legs differ after forced sync"
	dm_remove $M
}
ktap_result "sync: full resync, table keeps 'sync'" t_forcesync

# --- region sizes, odd lengths --------------------------------------------

# t_region LEN RS: create, check formats, sync and data for one geometry.
t_region() {
	local len=$1 rs=$2 n want
	n=$(((len + rs - 1) / rs))
	reset_legs "seed-rs$rs" || return 1
	dmsetup create $M --table "$(mirror_table "$len" core 1 "$rs")" || return 1
	expect_eq "table" "$(dmsetup table $M)" "$(mirror_table "$len" core 1 "$rs")" || return 1
	wait_sync $M 240 || return 1
	want="0 $len mirror 2 $D0 $D1 $n/$n 1 AA 1 core"
	expect_eq "status" "$(dmsetup status $M)" "$want" || return 1
	same_sectors "$L0" "$L1" "$len" || fail "legs differ over the target"
	dm_remove $M
}
ktap_result "region size 8 on a 4 MiB target (1024 regions)" t_region 8192 8
ktap_result "region size 128 (1024 regions)" t_region "$SECT" 128
ktap_result "region size 8192 (16 regions of 4 MiB)" t_region "$SECT" 8192
ktap_result "length not a multiple of the region size (last region partial)" \
	t_region $((SECT - 3)) 1024
ktap_result "region size equal to the target length (1 region)" t_region 2048 2048

t_features() {
	local t
	reset_legs seed-g || return 1
	t="$(mirror_table "$SECT" core 2 1024 nosync) 1 handle_errors"
	dmsetup create $M --table "$t" || return 1
	expect_eq "table" "$(dmsetup table $M)" "$t" || return 1
	dm_remove $M
}
ktap_result "log arguments followed by mirror features (handle_errors)" t_features

# --- a large mirror: legs are zero targets, so size costs nothing ---------

t_big() {
	local len=$((1 << 31)) # 1 TiB
	dmsetup create zbig0 --table "0 $len zero" && dmsetup create zbig1 --table "0 $len zero" ||
		return 1
	local z0 z1
	z0=$(dm_devnum zbig0) z1=$(dm_devnum zbig1)
	dmsetup create mbig --table "0 $len mirror core 2 1024 nosync 2 $z0 0 $z1 0" || return 1
	expect_eq "status" "$(dmsetup status mbig)" \
		"0 $len mirror 2 $z0 $z1 2097152/2097152 1 AA 1 core" || return 1
	dm_remove mbig && dm_remove zbig0 && dm_remove zbig1
}
ktap_result "1 TiB mirror, 2097152 regions" t_big

# --- malformed tables: refused, explained, nothing left behind ------------

# t_bad LEN LOGARGS RS_MESSAGE C_MESSAGE: the table must be refused, the
# kernel log must say why, and nothing may remain (see expect_refused).
t_bad() {
	# shellcheck disable=SC2086 # LOGARGS is a list of words
	expect_refused "$(mirror_table "$1" $2)" "$3" "$4"
}

ktap_result "bad: region size 0" t_bad "$SECT" "core 1 0" \
	'core: invalid region size "0"' "invalid region size 0"
ktap_result "bad: region size 1" t_bad "$SECT" "core 1 1" \
	'core: invalid region size "1"' "invalid region size 1"
ktap_result "bad: region size 1000 (not a power of two)" t_bad "$SECT" "core 1 1000" \
	'core: invalid region size "1000"' "invalid region size 1000"
ktap_result "bad: region size larger than the target" t_bad 1024 "core 1 2048" \
	'core: invalid region size "2048"' "invalid region size 2048"
ktap_result "bad: region size 'abc'" t_bad "$SECT" "core 1 abc" \
	'core: invalid region size "abc"' "invalid region size abc"
ktap_result "bad: region size '1024x'" t_bad "$SECT" "core 1 1024x" \
	'core: invalid region size "1024x"' "invalid region size 1024x"
ktap_result "bad: region size '-1024'" t_bad "$SECT" "core 1 -1024" \
	'core: invalid region size "-1024"' "invalid region size -1024"
ktap_result "bad: region size '0x400'" t_bad "$SECT" "core 1 0x400" \
	'core: invalid region size "0x400"' "invalid region size 0x400"
ktap_result "bad: sync word 'SYNC'" t_bad "$SECT" "core 2 1024 SYNC" \
	'core: unrecognised sync argument "SYNC"' \
	"unrecognised sync argument to dirty region log: SYNC"
ktap_result "bad: no log arguments" t_bad "$SECT" "core 0" \
	'core: expected <region_size> [sync|nosync], got 0 argument(s)' \
	"wrong number of arguments to dirty region log"
ktap_result "bad: three log arguments" t_bad "$SECT" "core 3 1024 sync extra" \
	'core: expected <region_size> [sync|nosync], got 3 argument(s)' \
	"wrong number of arguments to dirty region log"
ktap_result "bad: unknown log type" t_bad "$SECT" "nosuchlog 1 1024" \
	'no dirty log type "nosuchlog"' 'Module for logging type "nosuchlog" not found'

t_bad_count() {
	local len=$((1 << 33)) # 4 TiB at 2 sectors a region: 2^32 regions
	dmsetup create zbig0 --table "0 $len zero" && dmsetup create zbig1 --table "0 $len zero" ||
		return 1
	local z0 z1 ref0 r=0
	z0=$(dm_devnum zbig0) z1=$(dm_devnum zbig1)
	ref0=$(refcnt $LOG_MOD)
	dmesg_mark badcount
	if dmsetup create mbad --table "0 $len mirror core 2 2 nosync 2 $z0 0 $z1 0" 2>/dev/null; then
		dm_remove mbad
		fail "2^32 regions accepted"
		r=1
	fi
	dm_exists mbad && r=1
	[ "$(refcnt $LOG_MOD)" = "$ref0" ] || r=1
	if [ "$LOG_IMPL" = c ]; then
		dmesg_since badcount | grep -qF "region count exceeds limit of 4294967295" || r=1
	else
		dmesg_since badcount | grep -qF "gives 4294967296 regions, more than the limit of 4294967295" || r=1
	fi
	dm_remove zbig0
	dm_remove zbig1
	return $r
}
ktap_result "bad: 2^32 regions (over the limit)" t_bad_count

# The C log reads "%u" with wrap-around: 4294968320 is taken as 1024. We
# refuse it; the C module accepts it (a documented difference).
t_wrap() {
	local ref0
	ref0=$(refcnt $LOG_MOD)
	dmesg_mark wrap
	if dmsetup create mbad --table "$(mirror_table "$SECT" core 1 4294968320)" 2>/dev/null; then
		dm_remove mbad
		[ "$LOG_IMPL" = c ] || fail "rs accepted region size 4294968320"
	else
		[ "$LOG_IMPL" = rs ] || fail "C refused 4294968320 (expected its wrap to 1024)"
		dmesg_since wrap | grep -qF 'core: invalid region size "4294968320"' ||
			fail "no message naming 4294968320"
	fi
	dm_exists mbad && fail "device left behind"
	expect_eq "refcount" "$(refcnt $LOG_MOD)" "$ref0"
}
ktap_result "region size past 2^32: refused by rs (C wraps it to 1024)" t_wrap

ktap_finish
