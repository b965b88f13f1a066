#!/usr/bin/env bash
# Boot the test kernel under virtme-ng and run the kselftests in it.
#   scripts/vm-test.sh [rs|c]      (default: rs; also LOG_IMPL=...)
#   DMLOG_TESTS="disk_log.sh" scripts/vm-test.sh rs   runs only those tests
# The guest's KTAP output goes to stdout and to tests/out/<impl>.ktap.
# Plain emulation by default (nested KVM crashed guests here); DMLOG_KVM=1
# opts into KVM.
set -uo pipefail
. "$(dirname "$0")/common.sh"

impl=${1:-${LOG_IMPL:-rs}}
case "$impl" in rs | c) ;; *) die "LOG_IMPL must be rs or c, not '$impl'" ;; esac

KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
[ -f "$KDIR/arch/x86/boot/bzImage" ] || die "no kernel at $KDIR: run 'make kernel'"
[ "$impl" = c ] || [ -f "$DMLOG_ROOT/dm-log-rs.ko" ] || die "dm-log-rs.ko not built: run 'make'"
VNG=$(find_vng)
[ -n "$VNG" ] || die "vng not found: run scripts/setup.sh"

timeout_s=${DMLOG_VM_TIMEOUT:-$(sed -n "s/^timeout=//p" "$DMLOG_ROOT/tests/settings")}
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()

out="$DMLOG_ROOT/tests/out"
mkdir -p "$out"
if [ "$impl" = rs ]; then
	# Stage an installed kernel + module tree as an admin would get it, for
	# the test that modprobe resolves dm-mirror to dm-log-rs.
	rm -rf "$out/modroot"
	make -s -C "$KDIR" LLVM=1 RUSTC="$KRUSTC" BINDGEN="$(find_bindgen)" \
		INSTALL_MOD_PATH="$out/modroot" modules_install >/dev/null &&
		make -s -C "$DMLOG_ROOT" KDIR="$KDIR" INSTALL_MOD_PATH="$out/modroot" \
			modules_install >/dev/null ||
		log "warning: staging modules_install failed"
fi
# Numeric settings for the guest: the fuzzer's (FUZZ_MESSAGES, FUZZ_SEED,
# ...), the soak's SOAK_SECONDS, the hardening tests' FAILNTH_MAX and
# IOFAULT_SEED/ROUNDS, DMLOG_DMSETUP_TIMEOUT (cmirrord.sh's bound on one
# dmsetup call), and DMLOG_PROG_TIMEOUT, the seconds one test program
# may take.
guest_env=$(env | grep -E '^(FUZZ_[A-Z_]+|FAILNTH_MAX|IOFAULT_[A-Z]+|SOAK_SECONDS|DMLOG_PROG_TIMEOUT|DMLOG_DMSETUP_TIMEOUT)=[0-9]+$' | tr '\n' ' ')
log "booting $KDIR (LOG_IMPL=$impl)"
timeout --foreground -k 10 "${timeout_s:-1500}" \
	"$VNG" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 --memory 2G \
	--exec "$guest_env LOG_IMPL=$impl DMLOG_CACHE='$DMLOG_CACHE' DMLOG_TESTS='${DMLOG_TESTS:-}' $DMLOG_ROOT/tests/run_vm.sh" </dev/null 2>&1 |
	tee "$out/$impl.ktap"
rc=${PIPESTATUS[0]}
# timeout(1) exits 124 when the limit passed; with --foreground the VM may
# still have finished its output, so say why the run counts as failed.
[ "$rc" != 124 ] || log "the VM run exceeded ${timeout_s:-1500} s (DMLOG_VM_TIMEOUT, tests/settings): failed"
grep -q '^# dm-log-rs kselftests done: PASS' "$out/$impl.ktap" || rc=${rc/#0/1}
exit "$rc"
