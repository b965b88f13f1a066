#!/usr/bin/env bash
# `make bench`: C dm-log vs dm-log-rs, same devices, same VM boot (see
# tests/bench_vm.sh). Prints a table of ratios Rust/C. Not part of `make check`:
# numbers, not pass/fail. BENCH_SECONDS=N sets the length of each fio run.
set -euo pipefail
. "$(dirname "$0")/common.sh"
KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()
out="$DMLOG_ROOT/tests/out"
mkdir -p "$out"
"$(find_vng)" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 --memory 2G \
	--exec "BENCH_SECONDS=${BENCH_SECONDS:-15} $DMLOG_ROOT/tests/bench_vm.sh" </dev/null \
	>"$out/bench.log" 2>&1 || true
grep '^BENCH' "$out/bench.log" || { cat "$out/bench.log"; die "benchmark produced no results"; }
python3 - "$out/bench.log" <<'PY'
import sys
r = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 7 and f[0] == "BENCH":
        _, impl, log, size, iops, nbytes, flushes = f
        r[(impl, log, size)] = (int(iops), int(nbytes), int(flushes))
print()
print('| log device | mirror | C IOPS | Rust IOPS | IOPS Rust/C | C log bytes/flush | Rust log bytes/flush | bytes/flush Rust/C |')
print('|---|---|---|---|---|---|---|---|')
for log in ('ram', 'ssd'):
    for size in ('1GiB', '1TiB', '1TiB-qd1'):
        c, rs = r.get(('c', log, size)), r.get(('rs', log, size))
        if not c or not rs:
            continue
        bpf = lambda t: t[1] / t[2] if t[2] else float('nan')
        print(f'| {log} | {size} | {c[0]} | {rs[0]} | {rs[0]/c[0]:.2f} | {bpf(c):.0f} | {bpf(rs):.0f} | {bpf(rs)/bpf(c):.4f} |')
core = [r.get((i, 'none', '1TiB')) for i in ('c', 'rs')]
if all(core):
    print()
    print('| core log (no log I/O), 1TiB, qd16 | C IOPS | Rust IOPS | IOPS Rust/C |')
    print('|---|---|---|---|')
    print(f'| ceiling for a disk log | {core[0][0]} | {core[1][0]} | {core[1][0]/core[0][0]:.2f} |')
u = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4 and f[0] == "BENCHU":
        u[f[1]] = (int(f[2]), int(f[3]))
if 'c' in u and 'rs' in u:
    c, rs = u['c'], u['rs']
    print()
    print('| userspace log (dm-logd) | C | Rust | Rust/C |')
    print('|---|---|---|---|')
    print(f'| mirror IOPS, 1 GiB, 4 KiB random writes, qd16 | {c[0]} | {rs[0]} | {rs[0]/c[0]:.2f} |')
    print(f'| one status ioctl = 2 server round trips (us, lower is better) | {c[1]} | {rs[1]} | {rs[1]/c[1]:.2f} |')
PY
