# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers for the dm-log-rs kselftests: KTAP output, device setup and
# teardown, mirror status parsing. Sourced by each test program; runs inside
# the test VM as root.
#
# LOG_IMPL=rs (default) tests dm-log-rs.ko; LOG_IMPL=c the kernel's dm-log.ko.
# The same assertions hold for both: that is the compatibility proof.

LOG_IMPL=${LOG_IMPL:-rs}
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$TESTS_DIR/.." && pwd)
WORK=${WORK:-/tmp/dmlog-test}
if [ "$LOG_IMPL" = c ]; then LOG_MOD=dm_log; else LOG_MOD=dm_log_rs; fi

_ktap_n=0
_ktap_fail=0

# note TEXT...: a KTAP diagnostic line shown whether the test passes or not
# (ktap_result keeps a test's own output for its failure report). Writes to
# fd 9, the program's standard output, opened by ktap_header.
note() { echo "# $*" >&9; }

ktap_header() {
	exec 9>&1
	# LVM warns about every inherited descriptor it did not expect: fd 9
	# is ours.
	export LVM_SUPPRESS_FD_WARNINGS=1
	echo "KTAP version 1"
	echo "# $1 (LOG_IMPL=$LOG_IMPL)"
}

# ktap_result NAME COMMAND...: runs COMMAND, prints ok/not ok with its output
# as diagnostics on failure. Exit status 4 means "does not apply to this
# LOG_IMPL" and is reported as a KTAP SKIP (counted apart by make check).
ktap_result() {
	local name=$1 out rc t0
	shift
	_ktap_n=$((_ktap_n + 1))
	t0=$(date +%s)
	out=$("$@" 2>&1)
	rc=$?
	echo "# $(($(date +%s) - t0)) s"
	if [ $rc = 4 ]; then
		echo "ok $_ktap_n $name # SKIP ${out:-not applicable to LOG_IMPL=$LOG_IMPL}"
	elif [ $rc = 0 ]; then
		echo "ok $_ktap_n $name"
	else
		_ktap_fail=$((_ktap_fail + 1))
		[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
		echo "not ok $_ktap_n $name"
	fi
	return 0
}

ktap_finish() {
	echo "1..$_ktap_n"
	[ $_ktap_fail = 0 ]
}

fail() {
	echo "$*" >&2
	return 1
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] && return 0
	printf '%s:\n  got:  "%s"\n  want: "%s"\n' "$1" "$2" "$3" >&2
	return 1
}

devnum() { # the maj:min of a block device node
	local d
	d=$(stat -L -c '%t %T' "$1") || return 1
	set -- $d
	echo "$((16#$1)):$((16#$2))"
}

dm_devnum() { # the maj:min of a dm device by name
	dmsetup info -c --noheadings -o major,minor "$1" | tr -d ' '
}

dm_exists() { dmsetup info "$1" >/dev/null 2>&1; }

dm_remove() {
	local i
	dm_exists "$1" || return 0
	for i in $(seq 1 50); do
		dmsetup remove "$1" >/dev/null 2>&1 && return 0
		udevadm settle 2>/dev/null
		sleep 0.2
	done
	dmsetup remove "$1"
}

# A private node for a dm device, independent of udev's /dev/mapper links
# (udev in the guest creates them asynchronously).
dm_node() {
	local mm n=/dev/dmlog-test-$1
	mm=$(dm_devnum "$1") || return 1
	[ -n "$mm" ] || return 1
	rm -f "$n"
	mknod "$n" b "${mm%:*}" "${mm#*:}" && echo "$n"
}

# new_loop NAME SIZE_MIB: a loop device over a sparse file in $WORK.
new_loop() {
	mkdir -p "$WORK"
	truncate -s "${2}M" "$WORK/$1.img" || return 1
	losetup -f --show "$WORK/$1.img"
}

free_loop() {
	local f
	f=$(losetup -n -O BACK-FILE "$1" 2>/dev/null)
	losetup -d "$1" 2>/dev/null
	[ -n "$f" ] && rm -f "$f"
	return 0
}

sectors() { blockdev --getsz "$1"; }

# Mirror INFO status fields: "<n> <devs..> <synced>/<total> 1 <health> <log..>".
sync_fraction() { dmsetup status "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\/[0-9]+$/) { print $i; exit } }'; }

# wait_sync NAME [TIMEOUT_S]: until the mirror reports every region in sync.
wait_sync() {
	local name=$1 t=${2:-120} f end
	end=$(($(date +%s) + t))
	while :; do
		f=$(sync_fraction "$name")
		[ -n "$f" ] && [ "${f%/*}" = "${f#*/}" ] && return 0
		[ "$(date +%s)" -ge "$end" ] && { fail "$name not in sync after ${t}s: $f"; return 1; }
		sleep 0.2
	done
}

# Fill a device range with deterministic pseudo-random data (seeded).
pattern() { # SEED MIB -> stdout
	openssl enc -aes-128-ctr -nosalt -pass "pass:$1" -in <(head -c "$(($2 << 20))" /dev/zero) 2>/dev/null
}

write_pattern() { # DEV SEED MIB [OFFSET_MIB]
	pattern "$2" "$3" | dd of="$1" bs=1M seek="${4:-0}" oflag=direct conv=notrunc status=none
}

same_range() { # DEV1 DEV2 MIB [OFFSET_MIB]: byte-identical over the range
	cmp -s <(dd if="$1" bs=1M skip="${4:-0}" count="$3" iflag=direct status=none) \
		<(dd if="$2" bs=1M skip="${4:-0}" count="$3" iflag=direct status=none)
}

same_sectors() { # DEV1 DEV2 SECTORS: byte-identical over the first SECTORS
	cmp -s <(dd if="$1" bs=1M count="$(($3 * 512))" iflag=direct,count_bytes status=none) \
		<(dd if="$2" bs=1M count="$(($3 * 512))" iflag=direct,count_bytes status=none)
}

range_is_pattern() { # DEV SEED MIB [OFFSET_MIB]
	cmp -s <(dd if="$1" bs=1M skip="${4:-0}" count="$3" iflag=direct status=none) \
		<(pattern "$2" "$3")
}

# only_rs: for tests of dm-log-rs behaviour the C log does not have.
only_rs() {
	[ "$LOG_IMPL" = rs ] && return 0
	echo "dm-log-rs only"
	return 4
}

refcnt() { cat "/sys/module/$1/refcnt" 2>/dev/null || echo none; }

# expect_refused TABLE RS_MESSAGE C_MESSAGE: `dmsetup create` of TABLE must
# fail, leave no device and no module reference behind, and the kernel log
# must explain it (in the words of the implementation under test).
_refused_n=0
expect_refused() {
	local want ref0 mark
	if [ "$LOG_IMPL" = c ]; then want=$3; else want=$2; fi
	_refused_n=$((_refused_n + 1))
	mark="refused$_refused_n"
	ref0=$(refcnt $LOG_MOD)
	dmesg_mark "$mark"
	if dmsetup create mbad --table "$1" 2>/dev/null; then
		dm_remove mbad
		fail "table accepted: $1"
		return 1
	fi
	dm_exists mbad && fail "device left behind" && return 1
	expect_eq "$LOG_MOD refcount" "$(refcnt $LOG_MOD)" "$ref0" || return 1
	dmesg_since "$mark" | grep -qF -- "$want" ||
		fail "kernel log lacks '$want':" "$(dmesg_since "$mark")"
}

# The kernel log since a mark: everything from the last line holding it (a
# mark may recur: a program run twice, a name reused by another program).
dmesg_mark() { echo "dmlog-test-mark $1" >/dev/kmsg; }
dmesg_since() {
	dmesg | awk -v m="dmlog-test-mark $1" '
		length($0) >= length(m) && substr($0, length($0) - length(m) + 1) == m { out = ""; on = 1 }
		on { out = out $0 "\n" }
		END { printf "%s", out }'
}

# A log server in the background for the userspace log tests: its pid goes
# to $SERVER_PIDFILE, its output to $SERVER_LOG (both set by the program).
# start_server CMD...: stops the previous one, starts CMD, waits until it
# listens.
start_server() {
	local pid i
	stop_server
	"$@" >"$SERVER_LOG" 2>&1 9>&- &
	pid=$!
	echo $pid >"$SERVER_PIDFILE"
	for i in $(seq 1 100); do
		grep -qE 'dm-logd: info: ready|dm-ulog-tool: (serving|fuzzing)' "$SERVER_LOG" && return 0
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	cat "$SERVER_LOG" >&2
	fail "log server did not start: $*"
}

# stop_server [SIGNAL]: signals the server (TERM by default), waits for it.
stop_server() {
	local pid i
	pid=$(cat "$SERVER_PIDFILE" 2>/dev/null) || return 0
	rm -f "$SERVER_PIDFILE"
	kill -"${1:-TERM}" "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	fail "log server $pid did not exit on SIG${1:-TERM}"
}

# lvm_private_config DEV...: an LVM configuration in $LVM_SYSTEM_DIR that
# sees only DEVs, without dmeventd, event activation or metadata backups
# (the host root is read-only in the guest).
lvm_private_config() {
	local d filter=
	for d in "$@"; do filter+="\"a|^$d\$|\", "; done
	mkdir -p "$LVM_SYSTEM_DIR"
	cat >"$LVM_SYSTEM_DIR/lvm.conf" <<CONF
devices {
	filter = [ $filter"r|.*|" ]
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
}

# udevd_stop: stops virtme-ng's systemd-udevd (there is no systemctl): lets
# it settle, asks it to exit, kills it if it has not after 4 s. Returns 1 if
# it still runs.
udevd_stop() {
	local i pids
	udevadm settle --timeout=30 2>/dev/null
	udevadm control --exit 2>/dev/null
	for i in $(seq 1 50); do
		pids=$(pidof systemd-udevd) || return 0
		[ "$i" = 20 ] && kill $pids 2>/dev/null
		sleep 0.2
	done
	! pidof systemd-udevd >/dev/null
}
