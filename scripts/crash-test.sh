#!/usr/bin/env bash
# Crash consistency of the disk log, with real power cuts.
#   scripts/crash-test.sh [ROUNDS] [rs|c]     (make crash-test ROUNDS=N)
#   CRASH_SEED=S            the seed of the random moments (printed)
#   CRASH_SCENARIOS="..."   the scenarios, taken in turn (default: all five)
# Each round boots the test kernel with two leg files and a log file attached
# as virtio disks, builds a disk-log mirror, drives it as the round's
# scenario says (tests/crash_vm.sh: plain writes, a full resync, a
# suspend/resume loop, a failing leg, a table reload) while fio writes at
# random, and crashes the guest with sysrq-b at a random moment (QEMU exits:
# virtme-ng passes -no-reboot). The host then reads the log file as the
# crash left it: a valid header, the regions it records dirty at most a
# quarter of the total (no silent full resync) and, when the cut came during
# a resync, at least those not yet resynced; some after a failing leg. A second
# boot re-creates the mirror on the same files, waits for the resync, and
# requires the legs byte-identical.
# Prints KTAP; exit status non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/common.sh"

rounds=${1:-${ROUNDS:-3}}
impl=${2:-${LOG_IMPL:-rs}}
seed=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
read -r -a scenarios <<<"${CRASH_SCENARIOS:-writes resync leg-fail suspend reload}"
KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
VNG=$(find_vng)
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()
dir="$DMLOG_ROOT/tests/out/crash-$impl"
rm -rf "$dir"
mkdir -p "$dir"
truncate -s 256M "$dir/leg0.img" "$dir/leg1.img"
truncate -s 1M "$dir/log.img"

boot() { # LOGFILE ARGS...: one boot running crash_vm.sh ARGS
	local out=$1
	shift
	timeout --foreground -k 10 1200 "$VNG" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 \
		--memory 1G --disk "$dir/leg0.img" --disk "$dir/leg1.img" --disk "$dir/log.img" \
		--exec "LOG_IMPL=$impl $DMLOG_ROOT/tests/crash_vm.sh $*" </dev/null >"$out" 2>&1
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
echo "# crash consistency of the disk log, LOG_IMPL=$impl, $rounds round(s), seed $seed, scenarios ${scenarios[*]}"
echo "1..$rounds"
fails=0
zero=0
for r in $(seq 1 "$rounds"); do
	sc=${scenarios[$(((r - 1) % ${#scenarios[@]}))]}
	rseed=$((seed * 1000 + r))
	boot "$dir/run-$r.log" run "$sc" "$rseed"
	state=$(grep -a 'CRASH-STATE' "$dir/run-$r.log" | tail -1)
	read -r dirty total < <(dirty_count)
	boot "$dir/verify-$r.log" verify
	vstate=$(grep -a 'CRASH-STATE' "$dir/verify-$r.log" | tail -1)
	why=""
	case "$state" in *crashing*) ;; *) why="run phase: ${state:-no output}" ;; esac
	if [ -z "$why" ]; then
		# What the log may record: a resync may leave anything dirty, a
		# failed leg's regions stay dirty, a suspended mirror none.
		# What the log may record. At most a quarter dirty (no silent full
		# resync), but for a resync: there every region not yet resynced
		# at the cut must be dirty (the status printed just before it says
		# how many were; a few more may finish in between). A failed leg's
		# held writes keep their regions dirty. Plain writes may find none
		# dirty: kmirrord cleans and flushes the regions whose writes all
		# completed before it marks and flushes the next ones, and the cut
		# can fall in between (counted, not failed).
		synced=$(sed -n 's/.*crashing: .* \([0-9]*\)\/[0-9]* 1 [AD]* .*/\1/p' "$dir/run-$r.log" | tail -1)
		case "$sc" in
		resync) lo=$((total - ${synced:-0} - 8)) hi=$total ;;
		leg-fail) lo=1 hi=$((total / 4)) ;;
		*) lo=0 hi=$((total / 4)) ;;
		esac
		if [ "$dirty" = bad-magic ]; then
			why="log has no valid header"
		elif ! [[ "$dirty" =~ ^[0-9]+$ && "$total" =~ ^[0-9]+$ ]]; then
			why="cannot read the log file: '$dirty $total'"
		elif [ "$dirty" -lt $lo ] || [ "$dirty" -gt $hi ]; then
			why="$dirty of $total regions dirty after the crash (want $lo..$hi${synced:+; $synced in sync at the cut})"
		elif [ "$dirty" = 0 ]; then
			zero=$((zero + 1))
		fi
	fi
	case "$vstate" in *"legs identical"*) ;; *) why="${why:+$why; }verify: ${vstate:-no output}" ;; esac
	if [ -z "$why" ]; then
		echo "ok $r crash round $r ($sc): $dirty/$total regions dirty, legs identical after resync"
	else
		echo "# see $dir/run-$r.log and $dir/verify-$r.log"
		echo "not ok $r crash round $r ($sc): $why"
		fails=$((fails + 1))
	fi
done
echo "# $((rounds - fails)) of $rounds rounds passed; $zero found no dirty region (a cut between kmirrord's clean and mark flushes)"
[ $fails = 0 ]
