#!/usr/bin/env bash
# Crash consistency of the disk log, with real power cuts.
#   scripts/crash-test.sh [ROUNDS] [rs|c]     (make crash-test ROUNDS=N)
# Each round boots the test kernel with two leg files and a log file attached
# as virtio disks, runs random writes on a disk-log mirror and crashes the
# guest with sysrq-b (QEMU exits: virtme-ng passes -no-reboot). The host then
# reads the log file as the crash left it: the regions it records dirty must
# be more than 0 (the writes in flight) and well below the total (no silent
# full resync). A second boot re-creates the mirror on the same files, waits
# for the resync, and requires the legs byte-identical.
# Prints KTAP; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/common.sh"

rounds=${1:-${ROUNDS:-3}}
impl=${2:-${LOG_IMPL:-rs}}
KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
VNG=$(find_vng)
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()
dir="$DMLOG_ROOT/tests/out/crash-$impl"
rm -rf "$dir"
mkdir -p "$dir"
truncate -s 256M "$dir/leg0.img" "$dir/leg1.img"
truncate -s 1M "$dir/log.img"

boot() { # PHASE LOGFILE
	timeout --foreground -k 10 600 "$VNG" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 \
		--memory 1G --disk "$dir/leg0.img" --disk "$dir/leg1.img" --disk "$dir/log.img" \
		--exec "LOG_IMPL=$impl $DMLOG_ROOT/tests/crash_vm.sh $1" </dev/null >"$2" 2>&1
}

# Dirty regions recorded in the log file: "<dirty> <total>".
dirty_count() {
	python3 - "$dir/log.img" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
magic, version, nr = struct.unpack_from('<IIQ', d, 0)
if magic != 0x4D695272:
    print('bad-magic 0'); sys.exit()
bits = d[1024:1024 + (nr + 7) // 8]
clean = sum(bin(b).count('1') for b in bits[:nr // 8])
if nr % 8:
    clean += bin(bits[nr // 8] & ((1 << (nr % 8)) - 1)).count('1')
print(nr - clean, nr)
PY
}

echo "KTAP version 1"
echo "# crash consistency of the disk log, LOG_IMPL=$impl, $rounds round(s)"
echo "1..$rounds"
fails=0
for r in $(seq 1 "$rounds"); do
	boot run "$dir/run-$r.log"
	state=$(grep -a 'CRASH-STATE' "$dir/run-$r.log" | tail -1)
	read -r dirty total < <(dirty_count)
	boot verify "$dir/verify-$r.log"
	vstate=$(grep -a 'CRASH-STATE' "$dir/verify-$r.log" | tail -1)
	why=""
	case "$state" in *crashing*) ;; *) why="run phase: ${state:-no output}" ;; esac
	if [ -z "$why" ]; then
		if [ "$dirty" = bad-magic ]; then
			why="log has no valid header"
		elif [ "$dirty" -le 0 ] || [ "$dirty" -gt $((total / 4)) ]; then
			why="$dirty of $total regions dirty after the crash (want > 0 and <= $((total / 4)))"
		fi
	fi
	case "$vstate" in *"legs identical"*) ;; *) why="${why:+$why; }verify: ${vstate:-no output}" ;; esac
	if [ -z "$why" ]; then
		echo "ok $r crash round $r: $dirty/$total regions dirty, legs identical after resync"
	else
		echo "# see $dir/run-$r.log and $dir/verify-$r.log"
		echo "not ok $r crash round $r: $why"
		fails=$((fails + 1))
	fi
done
[ $fails = 0 ]
