#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# LVM on top: `lvcreate --type mirror -m1 --mirrorlog core` on loop-backed
# PVs, full sync reported by `lvs`, data on both images.

. "$(dirname "$0")/lib.sh"

ktap_header "lvm_mirror: LVM mirror with a core log"

VG=vgdmlog
L0=$(new_loop pv0 64) && L1=$(new_loop pv1 64) || {
	echo "Bail out! cannot set up loop devices"
	exit 1
}

# A private LVM configuration: only our loop devices, no dmeventd, no
# metadata backups on the (read-only) host root.
export LVM_SYSTEM_DIR=$WORK/lvm
mkdir -p "$LVM_SYSTEM_DIR"
cat >"$LVM_SYSTEM_DIR/lvm.conf" <<CONF
devices {
	filter = [ "a|^$L0\$|", "a|^$L1\$|", "r|.*|" ]
	use_devicesfile = 0
	obtain_device_list_from_udev = 0
}
activation {
	monitoring = 0
}
backup {
	backup = 0
	archive = 0
}
global {
	event_activation = 0
}
CONF

cleanup() {
	lvremove -f $VG >/dev/null 2>&1
	vgremove -f $VG >/dev/null 2>&1
	pvremove -f "$L0" "$L1" >/dev/null 2>&1
	free_loop "$L0"
	free_loop "$L1"
}
trap cleanup EXIT

t_create() {
	pvcreate -q "$L0" "$L1" >/dev/null && vgcreate -q $VG "$L0" "$L1" >/dev/null &&
		lvcreate -q -y --type mirror -m1 --mirrorlog core -L 32M -n lv $VG >/dev/null
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

t_sync() {
	local p end
	end=$(($(date +%s) + 180))
	while :; do
		p=$(lvs --noheadings -o copy_percent $VG/lv | tr -d ' ')
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

ktap_finish
