#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A soak under churn (make soak; not in make check): for SOAK_SECONDS
# (default 3600; at least 80, for the 8 slab samples the check needs) fio
# writes and verifies at random on three mirrors at once
#   - a disk-log mirror (dmsetup),
#   - a userspace-log mirror with a disk-like log served by dm-logd,
#   - an LVM mirror (lvcreate --type mirror) whose log LVM converts,
# while a churn loop, one step after another (2 s apart), suspends and
# resumes the userspace-log mirror, restarts dm-logd (SIGTERM and SIGKILL in
# turn), converts the LVM mirror's log between core and disk (lvconvert
# --mirrorlog), reloads the userspace log's table, reloads the disk-log
# mirror's table. The slab is sampled every 10 s.
# At the end: every fio job finished without a verify error, every mirror
# in sync with identical legs, and the slab (SUnreclaim) flat: the highest
# sample of the last quarter of the run at most 4 MiB + 10 % above the
# highest of the first quarter. The runner checks the kernel log and
# kmemleak after the stack is unloaded.

. "$(dirname "$0")/lib.sh"

ktap_header "soak: three mirrors under fio and churn for ${SOAK_SECONDS:-3600} s"

SECONDS_TOTAL=${SOAK_SECONDS:-3600}
DAEMON=$REPO_DIR/target/release/dm-logd
[ -x "$DAEMON" ] || { echo "Bail out! $DAEMON not built (make daemon)"; exit 1; }
if [ "$LOG_IMPL" = c ] && ! modprobe dm-log-userspace; then
	echo "Bail out! cannot load dm-log-userspace"
	exit 1
fi

MIB=64
A0=$(new_loop sa0 $MIB) && A1=$(new_loop sa1 $MIB) && AL=$(new_loop sal 1) &&
	B0=$(new_loop sb0 $MIB) && B1=$(new_loop sb1 $MIB) && BL=$(new_loop sbl 1) &&
	C0=$(new_loop sc0 $MIB) && C1=$(new_loop sc1 $MIB) && C2=$(new_loop sc2 16) || {
	echo "Bail out! cannot set up loop devices"
	exit 1
}
SECT=$(sectors "$A0")
MD=soakdisk
MU=soakuser
UUID=dmlogtest-soak-0001
VG=vgsoak
SERVER_PIDFILE=$WORK/soak-server.pid
SAMPLES=$WORK/soak-slab

export LVM_SYSTEM_DIR=$WORK/lvm-soak
lvm_private_config "$C0" "$C1" "$C2"

disk_table() { echo "0 $SECT mirror disk 2 $(devnum "$AL") 1024 2 $(devnum "$A0") 0 $(devnum "$A1") 0"; }
user_table() { echo "0 $SECT mirror userspace 4 $UUID disk $(devnum "$BL") 1024 2 $(devnum "$B0") 0 $(devnum "$B1") 0"; }

start_daemon() { # [READY_LINES]: one more 'ready' than READY_LINES
	local i
	"$DAEMON" >>"$WORK/soak-server.log" 2>&1 &
	echo $! >"$SERVER_PIDFILE"
	for i in $(seq 1 100); do
		[ "$(grep -c 'dm-logd: info: ready' "$WORK/soak-server.log")" -gt "${1:-0}" ] && return 0
		sleep 0.1
	done
	fail "dm-logd did not start"
}


cleanup() {
	local p
	for p in $(cat "$WORK/soak-fio.pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
	dm_remove $MD
	dm_remove $MU
	lvremove -f $VG >/dev/null 2>&1
	vgremove -f $VG >/dev/null 2>&1
	pvremove -f "$C0" "$C1" "$C2" >/dev/null 2>&1
	stop_server
	for p in "$A0" "$A1" "$AL" "$B0" "$B1" "$BL" "$C0" "$C1" "$C2"; do free_loop "$p"; done
}
trap cleanup EXIT

slab_kib() { awk '$1 == "SUnreclaim:" { print $2 }' /proc/meminfo; }

t_setup() {
	: >"$WORK/soak-server.log"
	start_daemon || return 1
	dmsetup create $MD --table "$(disk_table)" &&
		dmsetup create $MU --table "$(user_table)" || return 1
	pvcreate -q "$C0" "$C1" "$C2" >/dev/null && vgcreate -q $VG "$C0" "$C1" "$C2" >/dev/null &&
		lvcreate -q -y --type mirror -m1 --mirrorlog disk -L 32M -n lv $VG "$C0" "$C1" "$C2" \
			>/dev/null || return 1
	wait_sync $MD 600 && wait_sync $MU 600 && wait_sync $VG-lv 600
}
ktap_result "three mirrors created and in sync" t_setup

# fio_job NAME DEV: random 4 KiB writes for the whole soak, verified as it
# goes (the last 256 blocks written are read back and checked, again and
# again) and at the end.
fio_job() {
	exec fio --name="$1" --filename="$2" --direct=1 --ioengine=libaio --iodepth=4 \
		--rw=randwrite --bs=4k --time_based --runtime="$SECONDS_TOTAL" \
		--verify=crc32c --verify_backlog=256 --verify_fatal=1 \
		--output="$WORK/soak-fio-$1.log" >/dev/null 2>&1
}

t_churn() {
	local pids=() dev_d dev_u dev_l end i=0 rc=0 n_ok=0 logtype=disk kills=0
	dev_d=$(dm_node $MD) && dev_u=$(dm_node $MU) && dev_l=$(dm_node $VG-lv) || return 1
	fio_job disk "$dev_d" &
	pids+=($!)
	fio_job user "$dev_u" &
	pids+=($!)
	fio_job lvm "$dev_l" &
	pids+=($!)
	: >"$SAMPLES"
	end=$(($(date +%s) + SECONDS_TOTAL))
	# The slab, every 10 s.
	while [ "$(date +%s)" -lt "$end" ]; do
		echo "$(date +%s) $(slab_kib)" >>"$SAMPLES"
		sleep 10
	done &
	pids+=($!)
	echo "${pids[*]}" >"$WORK/soak-fio.pids"
	while [ "$(date +%s)" -lt "$end" ]; do
		i=$((i + 1))
		case $((i % 5)) in
		1) dmsetup suspend $MU && dmsetup resume $MU ;;
		2) kills=$((kills + 1))
			if [ $((kills % 2)) = 0 ]; then stop_server KILL; else stop_server TERM; fi &&
				start_daemon "$(grep -c 'dm-logd: info: ready' "$WORK/soak-server.log")" ;;
		3) [ $logtype = disk ] && logtype=core || logtype=disk
			lvconvert -q -y --mirrorlog $logtype $VG/lv >/dev/null ;;
		4) dmsetup reload $MU --table "$(user_table)" && dmsetup suspend $MU &&
			dmsetup resume $MU ;;
		0) dmsetup reload $MD --table "$(disk_table)" && dmsetup suspend $MD &&
			dmsetup resume $MD ;;
		esac || { rc=1; fail "churn step $i ($((i % 5))) failed"; break; }
		n_ok=$((n_ok + 1))
		if [ $((n_ok % 10)) = 0 ]; then
			note "$n_ok churn steps, $((end - $(date +%s))) s to go, SUnreclaim $(slab_kib) KiB"
		fi
		sleep 2
	done
	for p in "${pids[@]}"; do
		wait "$p" || { rc=1; fail "fio $p failed: $(grep -h -m3 -i 'err\|verify' "$WORK"/soak-fio-*.log)"; }
	done
	rm -f "$WORK/soak-fio.pids"
	note "$n_ok churn steps in $SECONDS_TOTAL s and $(($(date +%s) - end)) s more ($kills dm-logd restarts, LVM log now $logtype)"
	note "fio: $(grep -h 'write: IOPS' "$WORK"/soak-fio-*.log | sed 's/^ *//; s/,.*//' | tr '\n' ';')"
	return $rc
}
ktap_result "fio verified writes on all three under churn" t_churn

t_legs() {
	local m0 m1
	wait_sync $MD 600 && wait_sync $MU 600 && wait_sync $VG-lv 600 || return 1
	same_range "$A0" "$A1" $MIB || fail "disk-log mirror: legs differ" || return 1
	same_range "$B0" "$B1" $MIB || fail "userspace-log mirror: legs differ" || return 1
	m0=$(dm_node $VG-lv_mimage_0) && m1=$(dm_node $VG-lv_mimage_1) || return 1
	same_range "$m0" "$m1" 32 || fail "LVM mirror: images differ"
}
ktap_result "all in sync, legs identical" t_legs

t_slab() {
	local n q first last
	n=$(wc -l <"$SAMPLES")
	[ "$n" -ge 8 ] || fail "only $n slab samples" || return 1
	q=$((n / 4))
	first=$(head -n $q "$SAMPLES" | awk '{ print $2 }' | sort -n | tail -1)
	last=$(tail -n $q "$SAMPLES" | awk '{ print $2 }' | sort -n | tail -1)
	note "SUnreclaim: highest $first KiB in the first quarter, $last KiB in the last ($n samples)"
	[ "$last" -le $((first + first / 10 + 4096)) ] ||
		fail "unreclaimable slab grew: $first -> $last KiB"
}
ktap_result "slab flat" t_slab

t_down() {
	dm_remove $MD && dm_remove $MU && lvremove -f $VG >/dev/null && stop_server
}
ktap_result "everything removed" t_down

ktap_finish
