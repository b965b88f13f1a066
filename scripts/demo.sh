#!/usr/bin/env bash
# `make demo`: boot the test kernel, load dm-log-rs, build a core-log mirror
# on two loop devices, write to it, show table and status, tear down.
set -euo pipefail
. "$(dirname "$0")/common.sh"
KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()
exec "$(find_vng)" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 --memory 2G \
	--exec "$DMLOG_ROOT/scripts/demo_vm.sh" </dev/null
