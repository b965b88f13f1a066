#!/usr/bin/env bash
# The layering rules, checked: `unsafe` code only in the module's extension
# of the kernel crate (src/kernel_ext/) and in the daemon's sys module, and
# the compiler itself refusing it in a log type and in the shared crate.
#   scripts/check-layers.sh        (KDIR: a built kernel tree; the cached one by default)
set -uo pipefail
. "$(dirname "$0")/common.sh"
KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
rc=0

# 1. By reading: `unsafe` outside comments and the lint attributes.
stray=$(cd "$DMLOG_ROOT" && grep -rnwE 'unsafe' --include='*.rs' src daemon/src |
	grep -vE '^src/kernel_ext/|^daemon/src/sys(\.rs|/[a-z_]+\.rs):' |
	grep -vE '^[^:]+:[0-9]+:\s*//|(forbid|deny|allow)\((unsafe_code|unsafe_op_in_unsafe_fn)')
if [ -n "$stray" ]; then
	echo "unsafe outside src/kernel_ext and daemon/src/sys{.rs,/}:"
	echo "$stray"
	rc=1
else
	echo "ok: unsafe only in src/kernel_ext/ and daemon/src/sys{.rs,/}"
fi

# The log types deny unsafe code; only the kernel extension's macros may
# allow it in their expansions (impl_has_delayed_work!), never the log code.
allowed=$(cd "$DMLOG_ROOT" && grep -rnE 'allow\((.*, *)?unsafe_code' --include='*.rs' src/logs src/shared | grep -vE '^[^:]+:[0-9]+:\s*//')
if [ -n "$allowed" ]; then
	echo "allow(unsafe_code) in a log type or the shared crate:"
	echo "$allowed"
	rc=1
else
	echo "ok: no allow(unsafe_code) in src/logs/ or src/shared/"
fi

# 2. By the compiler: a copy of the tree with an `unsafe` block added to a
# log type, then to the shared crate, must not build.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
probe='fn _unsafe_probe() { unsafe {} }'
for f in src/logs/core_log.rs src/shared/engine.rs; do
	rm -rf "${tmp:?}"/*
	(cd "$DMLOG_ROOT" && tar -cf - --exclude='*.o' --exclude='*.cmd' --exclude='*.rmeta' \
		--exclude='bindings_generated.rs' --exclude=target Kbuild include scripts src) | tar -C "$tmp" -xf -
	printf '\n%s\n' "$probe" >>"$tmp/$f"
	out=$(make -C "$KDIR" M="$tmp" LLVM=1 RUSTC="${KRUSTC:-/usr/bin/rustc}" BINDGEN="$(find_bindgen)" modules 2>&1)
	if [ $? != 0 ] && grep -q 'usage of an `unsafe` block' <<<"$out" && grep -qE '(forbid|deny)\(unsafe_code\)' <<<"$out"; then
		echo "ok: the compiler refuses an unsafe block in $f"
	else
		echo "an unsafe block in $f was not refused by forbid/deny(unsafe_code):"
		tail -n 20 <<<"$out"
		rc=1
	fi
done
exit $rc
