#!/usr/bin/env bash
# Install everything the project needs that is missing: Debian packages, the
# bindgen CLI (crates.io) and virtme-ng (PyPI). Idempotent and quick when all
# is present. Run as root or with sudo available.
set -euo pipefail
. "$(dirname "$0")/common.sh"

DEBS=(linux-source-6.12 rustc-web rust-web-src libclang-dev clang lld llvm bc
	bison flex libelf-dev libssl-dev cpio qemu-system-x86 udev dmsetup lvm2
	kmod make xz-utils python3-pip e2fsprogs util-linux rust-web-clippy fio
	# LVM2 with cmirrord and its test suite, built from Debian's source
	# package (scripts/lvm2.sh, make check-lvm2)
	dpkg-dev debian-archive-keyring g++ pkg-config libaio-dev libblkid-dev
	libudev-dev libedit-dev libcpg-dev libcorosync-common-dev corosync procps
	# the plots of make bench and make bench-ops; make bench-scale times
	# the ioctls with strace
	gnuplot-nox strace)

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=()
for p in "${DEBS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}"
fi

bg=$(find_bindgen || true)
if [ -z "$bg" ] || ! "$bg" --version | grep -q "$BINDGEN_VERSION"; then
	log "installing bindgen-cli $BINDGEN_VERSION from crates.io (~3 min)"
	command -v cargo >/dev/null || die "cargo not found (rustup toolchain needed)"
	cargo install --locked --version "$BINDGEN_VERSION" bindgen-cli
fi

if [ -z "$(find_vng)" ]; then
	log "installing virtme-ng from PyPI"
	python3 -m pip install --quiet virtme-ng ||
		python3 -m pip install --quiet --break-system-packages virtme-ng
fi
[ -n "$(find_vng)" ] || die "virtme-ng installed but vng not on PATH"

# virtme-ng's guest init needs systemd-udevd from the host's root filesystem.
[ -x /lib/systemd/systemd-udevd ] || [ -x /usr/lib/systemd/systemd-udevd ] ||
	die "systemd-udevd missing: install Debian's udev package"
exit 0
