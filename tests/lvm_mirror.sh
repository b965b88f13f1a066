#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# LVM on top, on loop-backed PVs: `lvcreate --type mirror -m1` with a core
# and with a disk log, full sync reported by `lvs`, data on both images,
# `lvconvert --mirrorlog`, `lvchange --resync`, `lvextend` (log growth).

. "$(dirname "$0")/lib.sh"

ktap_header "lvm_mirror: LVM mirrors with core and disk logs"

VG=vgdmlog
L0=$(new_loop pv0 64) && L1=$(new_loop pv1 64) && L2=$(new_loop pv2 16) || {
	echo "Bail out! cannot set up loop devices"
	exit 1
}

# A private LVM configuration: only our loop devices, no dmeventd, no
# metadata backups on the (read-only) host root.
export LVM_SYSTEM_DIR=$WORK/lvm
lvm_private_config "$L0" "$L1" "$L2"

cleanup() {
	lvremove -f $VG >/dev/null 2>&1
	vgremove -f $VG >/dev/null 2>&1
	pvremove -f "$L0" "$L1" "$L2" >/dev/null 2>&1
	free_loop "$L0"
	free_loop "$L1"
	free_loop "$L2"
}
trap cleanup EXIT

t_create() {
	pvcreate -q "$L0" "$L1" "$L2" >/dev/null && vgcreate -q $VG "$L0" "$L1" "$L2" >/dev/null &&
		lvcreate -q -y --type mirror -m1 --mirrorlog core -L 32M -n lv $VG "$L0" "$L1" >/dev/null
}
ktap_result "lvcreate --type mirror -m1 --mirrorlog core" t_create

t_table() {
	local t
	t=$(dmsetup table $VG-lv)
	case "$t" in
	"0 65536 mirror core 1 1024 2 "*) ;; # LVM's default 512 KiB regions
	*) fail "unexpected table: $t" ;;
	esac
	grep "^$LOG_MOD " /proc/modules | grep -q dm_mirror || fail "mirror not served by $LOG_MOD"
}
ktap_result "dm table is a mirror with a core log, served by $LOG_MOD" t_table

t_sync() { # [LV]
	local lv=${1:-lv} p end
	end=$(($(date +%s) + 180))
	while :; do
		p=$(lvs --noheadings -o copy_percent $VG/$lv | tr -d ' ')
		[ "$p" = 100.00 ] && return 0
		[ "$(date +%s)" -ge "$end" ] && fail "Cpy%Sync stuck at $p"
		sleep 0.5
	done
}
ktap_result "lvs reaches 100.00 Cpy%Sync" t_sync

t_data() {
	local lv i0 i1
	lv=$(dm_node $VG-lv) && i0=$(dm_node ${VG}-lv_mimage_0) && i1=$(dm_node ${VG}-lv_mimage_1) ||
		return 1
	write_pattern "$lv" lvm-a 16 4 || return 1
	range_is_pattern "$i0" lvm-a 16 4 || fail "image 0 lacks the write"
	range_is_pattern "$i1" lvm-a 16 4 || fail "image 1 lacks the write"
	same_range "$i0" "$i1" 32 || fail "images differ"
}
ktap_result "data written to the LV is on both images" t_data

t_remove() {
	lvremove -q -f $VG/lv >/dev/null && ! dm_exists $VG-lv
}
ktap_result "lvremove" t_remove

# --- disk log ---------------------------------------------------------------
log_type() { dmsetup table $VG-${1:-lv} | awk '{ print $4 }'; }

t_disk_create() {
	lvcreate -q -y --type mirror -m1 --mirrorlog disk -L 32M -n lv $VG "$L0" "$L1" "$L2" \
		>/dev/null || return 1
	expect_eq "log type" "$(log_type)" disk || return 1
	dm_exists $VG-lv_mlog || fail "no log LV"
}
ktap_result "lvcreate --type mirror -m1 --mirrorlog disk" t_disk_create
ktap_result "disk log: lvs reaches 100.00 Cpy%Sync" t_sync
ktap_result "disk log: data written to the LV is on both images" t_data

t_convert() {
	lvconvert -q -y --mirrorlog core $VG/lv >/dev/null || return 1
	expect_eq "log type after --mirrorlog core" "$(log_type)" core || return 1
	t_sync || return 1
	lvconvert -q -y --mirrorlog disk $VG/lv "$L2" >/dev/null || return 1
	expect_eq "log type after --mirrorlog disk" "$(log_type)" disk || return 1
	t_sync
}
ktap_result "lvconvert --mirrorlog core, then back to disk" t_convert

t_resync() {
	lvchange -q -y --resync $VG/lv >/dev/null || return 1
	t_sync || return 1
	range_is_pattern "$(dm_node ${VG}-lv_mimage_1)" lvm-a 16 4 || fail "data lost"
}
ktap_result "lvchange --resync" t_resync

t_extend() {
	lvextend -q -y -L +16M $VG/lv >/dev/null || return 1
	t_sync || return 1
	expect_eq "size" "$(blockdev --getsz "$(dm_node $VG-lv)")" 98304 || return 1
	range_is_pattern "$(dm_node $VG-lv)" lvm-a 16 4 || fail "data lost"
	same_range "$(dm_node ${VG}-lv_mimage_0)" "$(dm_node ${VG}-lv_mimage_1)" 48 ||
		fail "images differ after extension"
}
ktap_result "lvextend of a disk-log mirror (log grows)" t_extend
ktap_result "lvremove (disk log)" t_remove

ktap_finish
