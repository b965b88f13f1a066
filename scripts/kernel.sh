#!/usr/bin/env bash
# Build the Rust-enabled 6.12 test kernel out of tree, in the cache, keyed by
# source version + config fragments + toolchain. Reused when nothing changed.
#   scripts/kernel.sh            build (or reuse) and print the build dir
#   scripts/kernel.sh --print    print the build dir only
#   DMLOG_KERNEL=debug ...       the sanitizer flavour (tests/config.debug)
set -euo pipefail
. "$(dirname "$0")/common.sh"

BUILD=$(kernel_build_dir)
cached_build "$BUILD" "${1:-}"

BINDGEN=$(find_bindgen)
[ -n "$BINDGEN" ] || die "bindgen not found: run scripts/setup.sh"
SRC_TAR=/usr/src/linux-source-6.12.tar.xz
[ -f "$SRC_TAR" ] || die "$SRC_TAR missing: run scripts/setup.sh"

SRC="$DMLOG_CACHE/src/linux-source-$(kernel_pkg_version | sed 's/[^A-Za-z0-9.+-]/_/g')"
if [ ! -f "$SRC/.dmlog-unpacked" ]; then
	log "unpacking $SRC_TAR into $SRC"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -C "$SRC.tmp" -xf "$SRC_TAR" --strip-components=1
	touch "$SRC.tmp/.dmlog-unpacked"
	mv "$SRC.tmp" "$SRC"
fi

KMAKE=(make -C "$SRC" O="$BUILD" LLVM=1 RUSTC="$KRUSTC" BINDGEN="$BINDGEN")
mkdir -p "$BUILD"
start=$(date +%s)
log "configuring $BUILD"
"${KMAKE[@]}" -s rustavailable
"${KMAKE[@]}" -s allnoconfig
fragments=$(kernel_fragments)
cat $fragments >>"$BUILD/.config"
"${KMAKE[@]}" -s olddefconfig

# Kconfig drops options whose dependencies are unmet without a word: check
# that every option the fragments ask for made it (a later fragment's value
# wins, as it does in the .config).
bad=0
while IFS='=' read -r opt val; do
	if [ "$val" = n ]; then
		grep -q "^$opt=" "$BUILD/.config" && { echo "  $opt should be off" >&2; bad=1; }
	else
		grep -qx "$opt=$val" "$BUILD/.config" || { echo "  $opt=$val did not stick" >&2; bad=1; }
	fi
done < <(cat $fragments | grep '^CONFIG_[A-Za-z0-9_]*=' |
	awk -F= '{ v[$1] = $0; if (!($1 in o)) o[$1] = n++ } END { for (k in o) print o[k] "\t" v[k] }' |
	sort -n | cut -f2-)
[ $bad = 0 ] || die "the kernel config does not match $(echo $fragments | xargs -n1 basename | paste -sd+)"

log "building the ${DMLOG_KERNEL:-test} kernel (fresh: ~20 min on 2 cores, more for debug)"
"${KMAKE[@]}" -j"$(($(nproc) + 1))" >"$BUILD/build.log" 2>&1 ||
	{ tail -n 40 "$BUILD/build.log" >&2; die "kernel build failed; log: $BUILD/build.log"; }
end=$(date +%s)
echo "$((end - start))" >"$BUILD/.dmlog-build-seconds"
touch "$BUILD/.dmlog-built"
log "kernel built in $((end - start)) s"
echo "$BUILD" >&3
