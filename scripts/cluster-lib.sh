# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Booting the two nodes of the QEMU cluster, for scripts/cluster.sh (the
# failure story) and scripts/cluster-bench.sh (the benchmark). boot needs out (the images leg0.img, leg1.img, log.img), run, GUEST (the
# guest script) and GUEST_ENV (its environment).

# IMPL (rs or c) and CLUSTER_LOG checked, and what the cluster needs on the
# host: sets impl, clog, KDIR, VNG and CMIRRORD.
cluster_prereqs() {
	impl=$1
	case "$impl" in rs | c) ;; *) die "usage: $0 [rs|c]" ;; esac
	clog=${CLUSTER_LOG:-disk}
	case "$clog" in disk | core) ;; *) die "CLUSTER_LOG must be disk or core" ;; esac
	KDIR=${KDIR:-$("$DMLOG_ROOT/scripts/kernel.sh" --print)}
	[ -f "$KDIR/arch/x86/boot/bzImage" ] || die "no kernel at $KDIR: run 'make kernel'"
	[ "$impl" = c ] || [ -f "$DMLOG_ROOT/dm-log-rs.ko" ] || die "dm-log-rs.ko not built: run 'make'"
	VNG=$(find_vng)
	[ -n "$VNG" ] || die "vng not found: run scripts/setup.sh"
	lvm=$("$DMLOG_ROOT/scripts/lvm2.sh" --print 2>/dev/null)
	CMIRRORD=${CMIRRORD:-$lvm/daemons/cmirrord/cmirrord}
	[ -x "$CMIRRORD" ] || die "no cmirrord at '$CMIRRORD': run 'make lvm2'"
	command -v corosync >/dev/null || die "corosync is not installed: run scripts/setup.sh"
}

# Each run its own ports, so that two runs never cross.
base=$((40000 + RANDOM % 20000))
qemu_opts() { # NODE
	local n=$1 lp rp d opts=
	lp=$((base + n))
	rp=$((base + 3 - n))
	for d in leg0 leg1 log; do
		opts+=" -drive file=$out/$d.img,format=raw,if=none,id=$d,cache=none,file.locking=off"
		opts+=" -device virtio-blk-pci,drive=$d,share-rw=on,serial=dmlc-$d"
	done
	opts+=" -netdev dgram,id=cl,local.type=inet,local.host=127.0.0.1,local.port=$lp"
	opts+=",remote.type=inet,remote.host=127.0.0.1,remote.port=$rp"
	opts+=" -device virtio-net-pci,netdev=cl,mac=52:54:00:77:00:0$n"
	echo "$opts"
}
name() { echo "dmlc-$impl-$$-n$1"; } # QEMU's -name, to find a node's process
boot() { # NODE BOOT: start a guest in the background (pid in $booted), its output to a file
	local n=$1 b=$2 f
	f=$out/node$n$([ "$b" = 1 ] || echo ".$b").ktap
	"$VNG" --run "$KDIR" --disable-kvm --user root --cpus 1 --memory 1G --name "$(name "$n")" \
		--rwdir "$out" --qemu-opts="$(qemu_opts "$n")" \
		--exec "NODE=$n BOOT=$b RUN=$run LOG_IMPL=$impl $GUEST_ENV $GUEST" \
		</dev/null >"$f" 2>&1 &
	booted=$!
}
qemu_pid() { pgrep -f -- "qemu-system.* -name $(name "$1")( |$)" | head -1; }
cleanup() {
	local n p
	for n in 1 2; do
		p=$(qemu_pid $n)
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
}
