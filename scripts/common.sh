# shellcheck shell=bash
# Shared settings for the project's scripts: where the cache lives, which
# toolchain builds the kernel and the module. Sourced, never run.

DMLOG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DMLOG_CACHE=${DMLOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dm-log-rs}
# Debian's rustc-web: the compiler whose library source the kernel can use.
KRUSTC=${KRUSTC:-/usr/bin/rustc}
BINDGEN_VERSION=0.73.2
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}

find_bindgen() {
	if [ -n "${BINDGEN:-}" ] && [ -x "$BINDGEN" ]; then
		echo "$BINDGEN"
	elif [ -x "$CARGO_HOME/bin/bindgen" ]; then
		echo "$CARGO_HOME/bin/bindgen"
	elif command -v bindgen >/dev/null 2>&1; then
		command -v bindgen
	fi
}

find_vng() {
	local pybin
	pybin=$(python3 -c 'import os, sys; print(os.path.dirname(sys.executable))' 2>/dev/null)
	if command -v vng >/dev/null 2>&1; then
		command -v vng
	elif [ -n "$pybin" ] && [ -x "$pybin/vng" ]; then
		echo "$pybin/vng"
	elif [ -x "$HOME/.local/bin/vng" ]; then
		echo "$HOME/.local/bin/vng"
	fi
}

# The kernel source version of the installed linux-source-6.12 package.
kernel_pkg_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null
}

# The config fragments of the kernel flavour DMLOG_KERNEL, in the order they
# apply: "test" (the default) is tests/config; "debug", the sanitizer kernel,
# adds tests/config.debug (KASAN, UBSAN, debug objects, fault injection).
kernel_fragments() {
	echo "$DMLOG_ROOT/tests/config"
	case "${DMLOG_KERNEL:-test}" in
	test) ;;
	debug) echo "$DMLOG_ROOT/tests/config.debug" ;;
	*) die "DMLOG_KERNEL must be test or debug, not '$DMLOG_KERNEL'" ;;
	esac
}

# Cache key of the test kernel: source package version + config fragments +
# toolchain versions. Anything that changes the build output changes the key.
# Each flavour has its own directory (the debug one ends in -debug).
kernel_build_dir() {
	local key suffix=
	[ "${DMLOG_KERNEL:-test}" = test ] || suffix=-$DMLOG_KERNEL
	key=$( {
		kernel_pkg_version
		cat $(kernel_fragments)
		"$KRUSTC" --version
		"$(find_bindgen)" --version 2>/dev/null
		clang --version | head -n 1
	} | sha256sum | cut -c1-12)
	echo "$DMLOG_CACHE/kernel/$(kernel_pkg_version | sed 's/[^A-Za-z0-9.+-]/_/g')-$key$suffix"
}

# cached_build BUILD [--print]: the start of a build cached in BUILD
# (scripts/kernel.sh, scripts/lvm2.sh). With --print, or when BUILD is built
# already (.dmlog-built), prints BUILD and exits. Otherwise takes BUILD's
# lock (one build at a time per directory: a second caller, another make or
# another checkout sharing the cache, waits, then reuses the result) and
# sends stdout to stderr: callers read the directory alone from stdout
# (KDIR=$(scripts/kernel.sh)), which the build prints at the end on fd 3.
cached_build() {
	local build=$1
	if [ "${2:-}" = --print ] || [ -f "$build/.dmlog-built" ]; then
		echo "$build"
		exit 0
	fi
	mkdir -p "$(dirname "$build")"
	exec 9>"$build.lock"
	if ! flock -n 9; then
		log "waiting for the build in progress in $build"
		flock 9
	fi
	if [ -f "$build/.dmlog-built" ]; then
		echo "$build"
		exit 0
	fi
	exec 3>&1 1>&2
}

# LVM2 built from Debian's source package (same version as the installed
# lvm2), with cmirrord and its test suite: the peer for scripts/check-lvm2.sh.
# The configure flags live here so that the cache key follows them.
LVM2_CONFIGURE_FLAGS=(--with-cache=internal --with-thin=internal
	--with-default-pid-dir=/run --with-default-run-dir=/run/lvm
	--with-default-locking-dir=/run/lock/lvm --enable-blkid_wiping
	--enable-cmdlib --enable-dmeventd --enable-lvmpolld --enable-cmirrord
	--enable-editline --disable-readline --enable-udev_sync
	--enable-udev_rules --disable-selinux --disable-notify-dbus)

lvm2_pkg_version() {
	dpkg-query -W -f='${Version}' lvm2 2>/dev/null
}

lvm2_build_dir() {
	local key
	key=$( {
		lvm2_pkg_version
		printf '%s\n' "${LVM2_CONFIGURE_FLAGS[@]}"
	} | sha256sum | cut -c1-12)
	echo "$DMLOG_CACHE/lvm2/$(lvm2_pkg_version | sed 's/[^A-Za-z0-9.+-]/_/g')-$key"
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
