#!/usr/bin/env bash
# Build LVM2 (the version of the installed lvm2 package, from Debian's source
# package) with cmirrord and its test suite, in tree, in the cache, keyed by
# version + configure flags (scripts/common.sh). Reused when nothing changed.
# scripts/check-lvm2.sh runs LVM2's own test suite from this tree in the VM.
#   scripts/lvm2.sh            build (or reuse) and print the build dir
#   scripts/lvm2.sh --print    print the build dir only
set -euo pipefail
. "$(dirname "$0")/common.sh"

VER=$(lvm2_pkg_version)
[ -n "$VER" ] || die "Debian's lvm2 is not installed: run scripts/setup.sh"
BUILD=$(lvm2_build_dir)
cached_build "$BUILD" "${1:-}"
command -v dpkg-source >/dev/null || die "dpkg-source missing: run scripts/setup.sh"

# The source package, fetched with a private apt configuration (the
# system's sources.list is left alone; it may lack deb-src lines).
SRC="$DMLOG_CACHE/lvm2/src-$(echo "$VER" | sed 's/[^A-Za-z0-9.+-]/_/g')"
DSC="$SRC/lvm2_${VER#*:}.dsc"
if [ ! -f "$SRC/.dmlog-fetched" ]; then
	log "fetching Debian's lvm2=$VER source package into $SRC"
	rm -rf "$SRC"
	mkdir -p "$SRC/apt/lists/partial" "$SRC/apt/sources.list.d"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
		>"$SRC/apt/sources.list"
	APT=(-o "Dir::Etc::SourceList=$SRC/apt/sources.list"
		-o "Dir::Etc::SourceParts=$SRC/apt/sources.list.d"
		-o "Dir::State::Lists=$SRC/apt/lists")
	apt-get -q "${APT[@]}" update >"$SRC/apt.log" 2>&1 ||
		{ cat "$SRC/apt.log" >&2; die "apt-get update (deb-src) failed"; }
	(cd "$SRC" && apt-get -q "${APT[@]}" source --download-only "lvm2=$VER") >>"$SRC/apt.log" 2>&1 ||
		{ cat "$SRC/apt.log" >&2; die "apt-get source lvm2=$VER failed"; }
	[ -f "$DSC" ] || die "no $DSC after apt-get source"
	rm -rf "$SRC/apt/lists"
	touch "$SRC/.dmlog-fetched"
fi

# In-tree build at its final place: the test suite records the absolute
# build directory (test/lib/paths) at configure time.
log "unpacking and building LVM2 $VER in $BUILD (~2-5 min on 2 cores)"
rm -rf "$BUILD"
mkdir -p "$(dirname "$BUILD")"
start=$(date +%s)
dpkg-source -x "$DSC" "$BUILD" >"$SRC/dpkg-source.log" 2>&1 ||
	{ cat "$SRC/dpkg-source.log" >&2; die "dpkg-source -x failed"; }
cd "$BUILD"
{
	./configure "${LVM2_CONFIGURE_FLAGS[@]}" &&
		make -j"$(nproc)" &&
		make -C test
} >"$BUILD/dmlog-build.log" 2>&1 ||
	{ tail -n 40 "$BUILD/dmlog-build.log" >&2; die "LVM2 build failed; log: $BUILD/dmlog-build.log"; }
for f in tools/lvm daemons/cmirrord/cmirrord daemons/dmeventd/dmeventd test/lib/runner \
	test/lib/not test/lib/paths test/.tests-stamp; do
	[ -e "$f" ] || die "LVM2 build lacks $f; log: $BUILD/dmlog-build.log"
done
end=$(date +%s)
echo "$((end - start))" >"$BUILD/.dmlog-build-seconds"
touch "$BUILD/.dmlog-built"
log "LVM2 built in $((end - start)) s"
echo "$BUILD" >&3
