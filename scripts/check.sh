#!/usr/bin/env bash
# `make check`: everything, from a fresh clone on a fresh machine.
#   1. toolchain setup (scripts/setup.sh)
#   2. host tests of the region engine and the log daemon (cargo test)
#   3. test kernel (built once, then cached) and dm-log-rs.ko; rustfmt; clippy
#   4. LVM2 2.03.16 built from Debian's source package (once, then cached):
#      cmirrord and LVM2's own test suite
#   5. the QEMU kselftests against dm-log-rs (LOG_IMPL=rs) and the kernel's
#      own C dm-log (LOG_IMPL=c), cmirrord's included
#   6. a representative subset of LVM2's own mirror tests, against both
#   7. two rounds of the disk log's crash test
# Ends with one line "N passed, N failed"; exits non-zero on any failure,
# including a kernel warning, lockdep report or leak seen in the guest.
set -uo pipefail
. "$(dirname "$0")/common.sh"
cd "$DMLOG_ROOT"

passed=0
failed=0
skipped=0
t0=$(date +%s)
declare -a report

count() { # NAME RC
	if [ "$2" = 0 ]; then
		passed=$((passed + 1))
		report+=("ok      $1")
	else
		failed=$((failed + 1))
		report+=("FAILED  $1")
	fi
}

step() { printf '\n=== %s\n' "$*"; }

step "setup"
"$DMLOG_ROOT/scripts/setup.sh" || die "setup failed"

step "host tests: the shared crate (engine, formats) and the log daemon (cargo test)"
host_log=$(mktemp)
cargo test --workspace --locked 2>&1 | tee "$host_log"
hp=$(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1/p' "$host_log" | paste -sd+ - | bc)
hf=$(sed -nE 's/^test result: [a-zA-Z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\2/p' "$host_log" | paste -sd+ - | bc)
if [ -z "$hp" ] || [ "$hp" = 0 ]; then
	count "host tests ran" 1
else
	passed=$((passed + hp))
	failed=$((failed + ${hf:-0}))
	report+=("$(printf '%-7s host tests: %s passed, %s failed' "$([ "${hf:-0}" = 0 ] && echo ok || echo FAILED)" "$hp" "${hf:-0}")")
fi
rm -f "$host_log"

step "test kernel"
k0=$(date +%s)
KDIR=$("$DMLOG_ROOT/scripts/kernel.sh")
krc=$?
count "test kernel built or reused ($(($(date +%s) - k0)) s)" $krc
[ $krc = 0 ] || { echo "$passed passed, $((failed))" failed; exit 1; }
export KDIR

step "LVM2 peer: cmirrord and LVM2's test suite (built once, then cached)"
l0=$(date +%s)
"$DMLOG_ROOT/scripts/lvm2.sh" >/dev/null
count "LVM2 $(lvm2_pkg_version) with cmirrord built or reused ($(($(date +%s) - l0)) s)" $?

step "module build"
make --no-print-directory KDIR="$KDIR" module
count "dm-log-rs.ko builds" $?
make --no-print-directory KDIR="$KDIR" test-modules >/dev/null
count "test modules build" $?
make --no-print-directory KDIR="$KDIR" clippy >/tmp/dmlog-clippy.log 2>&1
crc=$?
if grep -qE '^(warning|error)' /tmp/dmlog-clippy.log; then crc=1; fi
[ $crc = 0 ] || cat /tmp/dmlog-clippy.log
count "clippy (make CLIPPY=1) clean" $crc
make --no-print-directory fmt-check >/dev/null 2>&1
count "rustfmt clean" $?
"$DMLOG_ROOT/scripts/check-layers.sh"
count "layers: unsafe only in src/kernel_ext and the daemon's sys module, refused by the compiler elsewhere" $?
make --no-print-directory daemon
count "log daemon (dm-logd, dm-ulog-tool) builds" $?
# clippy rebuilt the objects with clippy-driver: build them again with rustc.
touch src/dm_log_rs.rs src/shared/lib.rs && make --no-print-directory KDIR="$KDIR" module >/dev/null

for impl in rs c; do
	step "QEMU kselftests, LOG_IMPL=$impl"
	v0=$(date +%s)
	"$DMLOG_ROOT/scripts/vm-test.sh" "$impl"
	vrc=$?
	f="tests/out/$impl.ktap"
	# Leaf results: the subtests' lines, and the runner's own top-level
	# results that are not a whole program's summary.
	vs=$(grep -cE '^( {4})+ok [0-9]+ .*# SKIP' "$f")
	vp=$(grep -E '^( {4})+ok [0-9]+|^ok [0-9]+ (load|unload)' "$f" | grep -vc '# SKIP')
	vf=$(grep -cE '^( {4})*not ok [0-9]+' "$f")
	vf_leaf=$(grep -cE '^( {4})+not ok [0-9]+|^not ok [0-9]+ (load|unload)' "$f")
	if [ "$vp" = 0 ]; then
		count "kselftests ($impl) ran" 1
		continue
	fi
	if [ "$vrc" != 0 ] && [ "$vf_leaf" = 0 ]; then
		# The run failed without a failing leaf (crash, timeout): count it.
		vf_leaf=1
	fi
	passed=$((passed + vp))
	failed=$((failed + vf_leaf))
	skipped=$((skipped + vs))
	report+=("$(printf '%-7s kselftests LOG_IMPL=%s: %s passed, %s failed, %s skipped (%s s)' "$([ "$vrc" = 0 ] && echo ok || echo FAILED)" "$impl" "$vp" "$vf_leaf" "$vs" "$(($(date +%s) - v0))")")
	: "$vf"
done

step "LVM2's own test suite: the subset in tests/lvm2-check-subset, both logs"
l0=$(date +%s)
"$DMLOG_ROOT/scripts/check-lvm2.sh" --subset
lrc=$?
subset=$(sed -e 's/#.*//' tests/lvm2-check-subset | awk 'NF { print $1 }')
lp=0 lf=0 lsk=0
for impl in rs c; do
	for t in $subset; do
		r=$(awk -F'\t' -v t="$t" '$1 == t { print $2 }' "tests/out/lvm2/$impl/results" 2>/dev/null)
		case "$r" in
		passed | warnings) lp=$((lp + 1)) ;;
		skipped) lsk=$((lsk + 1)) ;;
		*) lf=$((lf + 1)) ;;
		esac
	done
done
[ "$lrc" != 0 ] && [ "$lf" = 0 ] && lf=1
passed=$((passed + lp))
failed=$((failed + lf))
skipped=$((skipped + lsk))
report+=("$(printf '%-7s LVM2 test suite subset (rs and c): %s passed, %s failed, %s skipped (%s s)' "$([ "$lf" = 0 ] && echo ok || echo FAILED)" "$lp" "$lf" "$lsk" "$(($(date +%s) - l0))")")

step "crash consistency of the disk log (2 rounds, real power cuts)"
c0=$(date +%s)
"$DMLOG_ROOT/scripts/crash-test.sh" 2 rs | tee tests/out/crash.ktap
crc=${PIPESTATUS[0]}
cp=$(grep -cE '^ok [0-9]+' tests/out/crash.ktap)
cf=$(grep -cE '^not ok [0-9]+' tests/out/crash.ktap)
[ "$crc" != 0 ] && [ "$cf" = 0 ] && cf=1
passed=$((passed + cp))
failed=$((failed + cf))
report+=("$(printf '%-7s crash test: %s passed, %s failed (%s s)' "$([ "$crc" = 0 ] && echo ok || echo FAILED)" "$cp" "$cf" "$(($(date +%s) - c0))")")

step "summary ($(($(date +%s) - t0)) s)"
printf '%s\n' "${report[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
