# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# What a node of the two-node QEMU cluster needs, for tests/cluster_vm.sh
# (the failure story) and tests/cluster_bench_vm.sh (the benchmark):
# barriers in the shared run directory, the shared disks, the network,
# corosync and the log daemons. Needs NODE, RUN, ME (barrier name of this
# boot), WORK, CLUSTER_DAEMON, CMIRRORD, DMLOGD (DMLOGD_OPTS: more options,
# --verbose when unset); lib.sh sourced first.

# --- barriers ------------------------------------------------------------------

arrive() { : >"$RUN/$1.$ME"; }
# await STEP WHO TIMEOUT_S: until $RUN/STEP.WHO exists.
await() {
	local i
	for i in $(seq 1 $(($3 * 5))); do
		[ -e "$RUN/$1.$2" ] && return 0
		sleep 0.2
	done
	fail "waited ${3} s for '$1' of $2"
}

# --- devices -------------------------------------------------------------------

disk() { # SERIAL: the shared disk the host attached with that serial
	local b
	for b in /sys/block/vd*; do
		[ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && { echo "/dev/${b##*/}"; return 0; }
	done
	return 1
}
# --- corosync and the daemon -------------------------------------------------

CS_DIR=$WORK/corosync
start_network() {
	local ifc f
	for f in /sys/class/net/*; do
		[ "$(cat "$f/address")" = "52:54:00:77:00:0$NODE" ] && ifc=${f##*/}
	done
	[ -n "${ifc:-}" ] || fail "no interface with the cluster MAC" || return 1
	ip link set lo up && ip link set "$ifc" up &&
		ip addr add "10.77.0.$NODE/24" dev "$ifc"
}
start_corosync() {
	local i
	mkdir -p "$CS_DIR/state"
	# Two nodes on the private network; no crypto (no authkey); a token
	# with slack for emulation; state in $WORK (the host root is read-only).
	cat >"$CS_DIR/corosync.conf" <<-EOF
		totem {
			version: 2
			cluster_name: dmlogcluster
			transport: knet
			crypto_cipher: none
			crypto_hash: none
			token: 5000
		}
		nodelist {
			node {
				name: n1
				nodeid: 1
				ring0_addr: 10.77.0.1
			}
			node {
				name: n2
				nodeid: 2
				ring0_addr: 10.77.0.2
			}
		}
		quorum {
			provider: corosync_votequorum
			two_node: 1
		}
		logging {
			to_stderr: yes
			timestamp: on
		}
		system {
			state_dir: $CS_DIR/state
			allow_knet_handle_fallback: yes
		}
	EOF
	corosync -f -c "$CS_DIR/corosync.conf" >"$RUN/corosync-$ME.log" 2>&1 </dev/null 9>&- &
	echo $! >"$CS_DIR/pid"
	for i in $(seq 1 600); do
		[ "$(corosync-quorumtool -s 2>/dev/null | awk '/^Total votes:/ { print $3 }')" = 2 ] && return 0
		sleep 0.2
	done
	corosync-quorumtool -s >&2
	fail "corosync did not see both nodes in 120 s"
}
start_daemon() {
	local i log=$RUN/$CLUSTER_DAEMON-$ME.log ready from
	# The log is appended to by every start: look only past its end now.
	from=$(($(stat -c %s "$log" 2>/dev/null || echo 0) + 1))
	if [ "$CLUSTER_DAEMON" = dm-logd ]; then
		# shellcheck disable=SC2086 # DMLOGD_OPTS: words
		"$DMLOGD" --cluster ${DMLOGD_OPTS---verbose} >>"$log" 2>&1 </dev/null 9>&- &
		ready='ready'
	else
		LD_LIBRARY_PATH=$(dirname "$CMIRRORD")/../../libdm stdbuf -oL -eL "$CMIRRORD" -f \
			>>"$log" 2>&1 </dev/null 9>&- &
		ready='Starting cmirrord'
	fi
	echo $! >"$WORK/daemon.pid"
	for i in $(seq 1 150); do
		tail -c +"$from" "$log" | grep -q "$ready" && return 0
		sleep 0.2
	done
	fail "$CLUSTER_DAEMON did not start"
}
stop_pid() { # PIDFILE SIGNAL
	local pid i
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill -"$2" "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
	return 1
}

# --- the run -----------------------------------------------------------------

# The kernel log of this boot, from now on, for t_kernel_log.
start_kernel_log() {
	KLOG=$WORK/kernel.log
	mkdir -p "$WORK"
	dmesg_mark run-start
	dmesg -w >"$KLOG" 2>&1 &
}

t_kernel_log() {
	local bad
	bad=$(run_log 2>/dev/null | grep -E "$BAD_LOG")
	[ -z "$bad" ] || { printf '%s\n' "$bad" | head -40; return 1; }
}

step() { # NAME FUNCTION...: a KTAP result; a failure ends this node's run
	ktap_result "$@"
	[ "$_ktap_fail" = 0 ] && return 0
	arrive failed
	echo "# node $NODE: stopping after a failed step"
	ktap_finish
	exit 1
}
