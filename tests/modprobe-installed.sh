#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel's modprobe helper for tests that need an *installed* module tree
# (kernel modules + dm-log-rs in updates/, as `make modules_install` leaves
# it; staged by scripts/vm-test.sh). Installed via /proc/sys/kernel/modprobe.
exec /sbin/modprobe -d "$(dirname "$0")/out/modroot" "$@"
