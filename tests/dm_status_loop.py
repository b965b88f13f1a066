#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# dm_status_loop.py NAME N: asks device-mapper for the status of NAME N times
# through the DM_TABLE_STATUS ioctl from one process and prints the mean time
# per status in microseconds. For a mirror with a userspace log, each status
# is two round trips to the log server (STATUS_INFO and GET_SYNC_COUNT), so
# the figure is the connector round trip without dmsetup's process start-up.
import fcntl
import os
import struct
import sys
import time

DM_IOCTL_SIZE = 312  # struct dm_ioctl
DM_TABLE_STATUS = (3 << 30) | (DM_IOCTL_SIZE << 16) | (0xFD << 8) | 12
BUF = 16384


def status(fd, name):
    buf = bytearray(BUF)
    # version 4.0.0, data_size, data_start, then zeroes up to the name.
    struct.pack_into("=3IIIIiIIIQ128s", buf, 0, 4, 0, 0, BUF, DM_IOCTL_SIZE,
                     0, 0, 0, 0, 0, 0, name)
    fcntl.ioctl(fd, DM_TABLE_STATUS, buf)
    # One target: struct dm_target_spec (40 bytes), then its status string.
    return bytes(buf[DM_IOCTL_SIZE + 40:]).split(b"\0")[0].decode()


def main():
    name, n = sys.argv[1].encode(), int(sys.argv[2])
    fd = os.open("/dev/mapper/control", os.O_RDWR)
    first = status(fd, name)
    if " AA " not in first or "COM_FAILURE" in first:
        sys.exit(f"not a healthy two-leg mirror: {first}")
    t0 = time.perf_counter_ns()
    for _ in range(n):
        status(fd, name)
    print((time.perf_counter_ns() - t0) // n // 1000)


main()
