#!/usr/bin/env bash
# `make bench`: C dm-log vs dm-log-rs, same devices, same VM boot (see
# tests/bench_vm.sh). Prints tables of ratios Rust/C, each figure the median
# over the rounds. Not part of `make check`: numbers, not pass/fail.
# BENCH_SECONDS=N sets the length of each fio run (default 10),
# BENCH_ROUNDS=N the number of turns each implementation takes (default 3).
set -euo pipefail
. "$(dirname "$0")/common.sh"
KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
kvm=(--disable-kvm)
[ "${DMLOG_KVM:-0}" = 1 ] && kvm=()
out="$DMLOG_ROOT/tests/out"
mkdir -p "$out"
"$(find_vng)" --run "$KDIR" "${kvm[@]}" --user root --cpus 2 --memory 2G \
	--exec "BENCH_SECONDS=${BENCH_SECONDS:-10} BENCH_ROUNDS=${BENCH_ROUNDS:-3} $DMLOG_ROOT/tests/bench_vm.sh" </dev/null \
	>"$out/bench.log" 2>&1 || true
grep '^BENCH' "$out/bench.log" || { cat "$out/bench.log"; die "benchmark produced no results"; }
! grep -q '^BENCH error' "$out/bench.log" || die "some runs failed: see $out/bench.log"
python3 - "$out/bench.log" <<'PY'
import sys
from statistics import median
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 7 and f[0] == "BENCH":
        _, impl, log, size, iops, nbytes, flushes = f
        runs.setdefault((impl, log, size), []).append((int(iops), int(nbytes), int(flushes)))
# Per configuration: median IOPS, and the log traffic summed over the rounds.
r = {k: (int(median(x[0] for x in v)), sum(x[1] for x in v), sum(x[2] for x in v),
         min(x[0] for x in v), max(x[0] for x in v))
     for k, v in runs.items()}
nrounds = max((len(v) for v in runs.values()), default=0)
print()
print(f'{nrounds} round(s). IOPS: median (min-max); log bytes/flush: log bytes written per mirror flush')
print('that made newly dirty regions durable, over all rounds.')
spread = lambda t: f'{t[0]} ({t[3]}-{t[4]})'
print()
print('| log device | mirror | C IOPS | Rust IOPS | IOPS Rust/C | C log bytes/flush | Rust log bytes/flush | bytes/flush Rust/C |')
print('|---|---|---|---|---|---|---|---|')
for log in ('ram', 'ssd'):
    for size in ('1GiB', '1TiB', '1GiB-qd1', '1TiB-qd1'):
        c, rs = r.get(('c', log, size)), r.get(('rs', log, size))
        if not c or not rs:
            continue
        bpf = lambda t: t[1] / t[2] if t[2] else float('nan')
        print(f'| {log} | {size} | {spread(c)} | {spread(rs)} | {rs[0]/c[0]:.2f} | {bpf(c):.0f} | {bpf(rs):.0f} | {bpf(rs)/bpf(c):.4f} |')
core = [r.get((i, 'none', '1TiB')) for i in ('c', 'rs')]
if all(core):
    print()
    print('| core log (no log I/O), 1TiB, qd16 | C IOPS | Rust IOPS | IOPS Rust/C |')
    print('|---|---|---|---|')
    print(f'| ceiling for a disk log | {spread(core[0])} | {spread(core[1])} | {core[1][0]/core[0][0]:.2f} |')
u = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4 and f[0] == "BENCHU":
        u.setdefault(f[1], []).append((int(f[2]), int(f[3])))
u = {k: (int(median(x[0] for x in v)), int(median(x[1] for x in v))) for k, v in u.items()}
if 'c' in u and 'rs' in u:
    c, rs = u['c'], u['rs']
    print()
    print('| userspace log (dm-logd) | C | Rust | Rust/C |')
    print('|---|---|---|---|')
    print(f'| mirror IOPS, 1 GiB, 4 KiB random writes, qd16 | {c[0]} | {rs[0]} | {rs[0]/c[0]:.2f} |')
    print(f'| one status ioctl = 2 server round trips (us, lower is better) | {c[1]} | {rs[1]} | {rs[1]/c[1]:.2f} |')
PY
