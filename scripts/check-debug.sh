#!/usr/bin/env bash
# `make check-debug`: the whole kselftest suite plus the allocation-failure
# sweeps (tests/fail_nth.sh) and the injected I/O errors (tests/io_faults.sh)
# on the sanitizer kernel (DMLOG_KERNEL=debug:
# tests/config + tests/config.debug, KASAN, UBSAN, debug objects, fault
# injection), against dm-log-rs (gating) and the kernel's C logs (reported,
# not gating: C has known bugs). Any KASAN, UBSAN, debug-objects, lockdep or
# kmemleak report fails the run (tests/run_vm.sh's kernel_log check).
#
#   IMPL="rs c"                 implementations (default both; rs gates)
#   DMLOG_TESTS="a.sh b.sh"     programs (default: make check's + fail_nth.sh io_faults.sh)
#   FUZZ_MESSAGES=100000, FAILNTH_MAX, IOFAULT_SEED, IOFAULT_ROUNDS   passed on
#
# The module is built for this kernel in a copy of the tree,
# tests/out/debug/tree (a module built for the test kernel must not be
# loaded into this one, nor the other way round); the KTAP of each run is
# kept in tests/out/debug/<impl>.ktap.
set -uo pipefail
. "$(dirname "$0")/common.sh"

export DMLOG_KERNEL=debug
impls=${IMPL:-rs c}
KDIR=$("$DMLOG_ROOT/scripts/kernel.sh") || die "sanitizer kernel build failed"
log "sanitizer kernel: $KDIR (built in $(cat "$KDIR/.dmlog-build-seconds" 2>/dev/null || echo '?') s)"

out=${DMLOG_DEBUG_OUT:-$DMLOG_ROOT/tests/out/debug}
tree=$out/tree
mkdir -p "$tree"
# The tracked and new files, modification times kept (kbuild rebuilds what
# changed since the last copy).
(cd "$DMLOG_ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) |
	tar -xf - -C "$tree" || die "copying the tree failed"
ln -sfn "$DMLOG_ROOT/target" "$tree/target"
make --no-print-directory -C "$DMLOG_ROOT" daemon >/dev/null || die "daemon build failed"
make --no-print-directory -C "$tree" KDIR="$KDIR" module test-modules >/dev/null ||
	die "module build against the sanitizer kernel failed"

progs=${DMLOG_TESTS:-$(sed -n 's/^TEST_PROGS := //p' "$DMLOG_ROOT/tests/Makefile") fail_nth.sh io_faults.sh}
# Everything runs slower under KASAN: one program may take an hour.
export DMLOG_PROG_TIMEOUT=${DMLOG_PROG_TIMEOUT:-3600}
export DMLOG_DMSETUP_TIMEOUT=${DMLOG_DMSETUP_TIMEOUT:-180}
export DMLOG_VM_TIMEOUT=${DMLOG_VM_TIMEOUT:-14400}
rc=0
declare -a summary
for impl in $impls; do
	case "$impl" in rs | c) ;; *) die "IMPL must be rs and/or c, not '$impl'" ;; esac
	t0=$(date +%s)
	DMLOG_TESTS="$progs" KDIR="$KDIR" "$tree/scripts/vm-test.sh" "$impl"
	irc=$?
	secs=$(($(date +%s) - t0))
	cp "$tree/tests/out/$impl.ktap" "$out/$impl.ktap" 2>/dev/null
	res="passed"
	[ $irc = 0 ] || res="FAILED"
	if [ "$impl" = rs ]; then
		[ $irc = 0 ] || rc=1
	else
		res="$res (reported, not gating)"
	fi
	summary+=("LOG_IMPL=$impl on the sanitizer kernel: $res in $secs s; KTAP: $out/$impl.ktap")
done
printf '\n'
printf '%s\n' "${summary[@]}"
exit $rc
