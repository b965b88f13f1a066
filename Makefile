# SPDX-License-Identifier: GPL-2.0
#
# dm-log-rs: user entry points. The kernel build itself reads ./Kbuild.
#
#   make              build dm-log-rs.ko (builds the test kernel first if needed)
#   make check        host tests + module build + QEMU kselftests, both logs
#   make demo         boot a VM and show a core-log mirror working
#   make crash-test [ROUNDS=N] [IMPL=c]   disk-log crash consistency, real power cuts
#   make fuzz [FUZZ_MESSAGES=N] [FUZZ_SEED=S]   connector fuzzer, 10^5 messages
#   make soak [SOAK_SECONDS=3600] [IMPL=c]   three mirrors under fio and churn
#   make bench        C dm-log vs dm-log-rs benchmark (ratios)
#   make bench-ops    the CPU cost of each log operation, C vs Rust (ns/op)
#   make bench-scale  load/resume time and memory from 1 GiB to 2^31+1 regions
#   make bench-cluster [IMPL=c]   dm-logd --cluster vs cmirrord on two QEMU nodes
#   make check-debug [IMPL="rs c"]   the suite + allocation-failure sweeps on the sanitizer kernel
#   make check-lvm2 [T="test ..."] [IMPL="rs c"]   LVM2's own mirror tests in the VM
#   make check-cluster [IMPL="rs c"] [CLUSTER_DAEMONS="dm-logd cmirrord"] [CLUSTER_LOGS="disk core"]   two QEMU nodes, a node killed
#   make lvm2         build/reuse LVM2 2.03.16 with cmirrord and its test suite
#   make daemon       build the userspace log daemon (target/release/dm-logd)
#   make kernel       install the toolchain and build/reuse the test kernel
#   make kernel-debug build/reuse the sanitizer kernel (KASAN, UBSAN, fault injection)
#   make print-kdir   print the test kernel's build tree
#   make KDIR=/path   build against your own Rust-enabled kernel tree
#   make modules_install [INSTALL_MOD_PATH=...]   install into updates/ + depmod
#   make clippy | fmt-check | check-layers | host-test | selftest | clean

SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KRUSTC ?= /usr/bin/rustc
BINDGEN ?= $(shell . $(ROOT)/scripts/common.sh; find_bindgen)

ifeq ($(origin KDIR),undefined)
KDIR_DEP := kernel
KDIR = $(shell $(ROOT)/scripts/kernel.sh --print)
else
KDIR_DEP :=
endif

KMAKE = $(MAKE) -C $(KDIR) M=$(ROOT) LLVM=1 RUSTC=$(KRUSTC) BINDGEN=$(BINDGEN)

.PHONY: all module daemon kernel kernel-debug check-debug lvm2 setup print-kdir check check-lvm2 check-cluster demo host-test selftest test-modules \
	crash-test fuzz soak bench bench-ops bench-scale bench-cluster \
	clippy check-layers fmt fmt-check modules_install clean

all: module

setup:
	@$(ROOT)/scripts/setup.sh

kernel: setup
	@$(ROOT)/scripts/kernel.sh >/dev/null

# The sanitizer flavour of the test kernel (tests/config.debug), cached beside it.
kernel-debug: setup
	@DMLOG_KERNEL=debug $(ROOT)/scripts/kernel.sh >/dev/null

# The kselftests and the allocation-failure sweeps on the sanitizer kernel,
# dm-log-rs gating, the C logs reported (scripts/check-debug.sh); hours.
check-debug: kernel-debug daemon
	@IMPL="$(IMPL)" $(ROOT)/scripts/check-debug.sh

print-kdir:
	@echo $(KDIR)

# LVM2 from Debian's source package, with cmirrord and its test suite, cached
# beside the kernel (scripts/lvm2.sh).
lvm2: setup
	@$(ROOT)/scripts/lvm2.sh

# LVM2's own tests that exercise the mirror target and its logs, against
# both implementations (hours for the whole list: T= selects tests, results
# accumulate in tests/out/lvm2/).
check-lvm2: module test-modules lvm2
	@$(ROOT)/scripts/check-lvm2.sh

# A clustered mirror on a two-node corosync cluster of QEMU guests sharing
# its disks, dm-logd --cluster and cmirrord as the log server, a node killed
# under writes and rebooted, its daemon and corosync restarted
# (scripts/check-cluster.sh, scripts/cluster.sh);
# ~10 min per run.
check-cluster: module daemon lvm2
	@IMPL="$(IMPL)" CLUSTER_LOGS="$(CLUSTER_LOGS)" CLUSTER_DAEMONS="$(CLUSTER_DAEMONS)" \
		$(ROOT)/scripts/check-cluster.sh

module: $(KDIR_DEP)
	+$(KMAKE) modules

# The userspace log daemon and its test tool (a host program, cargo).
daemon:
	cd $(ROOT) && cargo build --release --locked -p dm-logd

# Kernel modules used only by the kselftests (tests/modules).
test-modules: $(KDIR_DEP)
	+$(MAKE) -C $(KDIR) M=$(ROOT)/tests/modules LLVM=1 RUSTC=$(KRUSTC) modules

clippy: $(KDIR_DEP)
	+$(KMAKE) CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver modules

# unsafe only in src/kernel_ext/ (and daemon/src/sys.rs), and the compiler
# refusing it in a log type and in the shared crate.
check-layers: $(KDIR_DEP)
	@KDIR=$(KDIR) $(ROOT)/scripts/check-layers.sh

fmt:
	rustfmt --edition 2021 $(ROOT)/src/dm_log_rs.rs
	cd $(ROOT) && cargo fmt --all

fmt-check:
	rustfmt --edition 2021 --check $(ROOT)/src/dm_log_rs.rs
	cd $(ROOT) && cargo fmt --all --check

host-test:
	cd $(ROOT) && cargo test --workspace --quiet --locked

selftest: module test-modules daemon
	@$(ROOT)/scripts/vm-test.sh rs && $(ROOT)/scripts/vm-test.sh c

check: setup
	@$(ROOT)/scripts/check.sh

demo: module
	@$(ROOT)/scripts/demo.sh

# Crash consistency of the disk log with real power cuts (ROUNDS=N, IMPL=rs|c;
# CRASH_SEED=S and CRASH_SCENARIOS="..." pass on).
ROUNDS ?= 5
crash-test: module
	@CRASH_SEED=$(CRASH_SEED) CRASH_SCENARIOS="$(CRASH_SCENARIOS)" \
		$(ROOT)/scripts/crash-test.sh $(ROUNDS) $(or $(filter c,$(IMPL)),rs)

# The connector fuzzer against dm-log-rs under fio (tests/connector_fuzz.sh),
# 10^5 messages by default; make check runs it with 20000. FUZZ_SEED,
# FUZZ_REPLACE (1 reply in R replaced; 0: none) and FUZZ_PER_REQUEST pass on.
FUZZ_MESSAGES ?= 100000
fuzz: module daemon
	@FUZZ_MESSAGES=$(FUZZ_MESSAGES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_REPLACE=$(FUZZ_REPLACE) \
		FUZZ_PER_REQUEST=$(FUZZ_PER_REQUEST) DMLOG_PROG_TIMEOUT=$$((900 + $(FUZZ_MESSAGES) / 20)) \
		DMLOG_VM_TIMEOUT=$$((1500 + $(FUZZ_MESSAGES) / 20)) DMLOG_TESTS=connector_fuzz.sh \
		$(ROOT)/scripts/vm-test.sh rs

# Three mirrors (disk, userspace, LVM) under verified fio writes and churn
# for SOAK_SECONDS (tests/soak.sh); IMPL=c for the C logs.
SOAK_SECONDS ?= 3600
soak: module daemon
	@SOAK_SECONDS=$(SOAK_SECONDS) DMLOG_PROG_TIMEOUT=$$(($(SOAK_SECONDS) + 1800)) \
		DMLOG_VM_TIMEOUT=$$(($(SOAK_SECONDS) + 2400)) DMLOG_TESTS=soak.sh \
		$(ROOT)/scripts/vm-test.sh $(or $(filter c,$(IMPL)),rs)

# C dm-log vs dm-log-rs in one VM boot; ratios, not pass/fail.
bench: module daemon
	@$(ROOT)/scripts/bench.sh

# ns per log operation through the exported API, C and Rust in one boot.
bench-ops: module test-modules
	@$(ROOT)/scripts/opbench.sh

bench-scale: module
	@$(ROOT)/scripts/scale.sh

# dm-logd --cluster vs cmirrord on the two-node QEMU cluster, same boot.
bench-cluster: module daemon lvm2
	@$(ROOT)/scripts/cluster-bench.sh $(or $(filter c,$(IMPL)),rs)

modules_install: $(KDIR_DEP)
	+$(KMAKE) INSTALL_MOD_DIR=updates modules_install

clean:
	-+$(KMAKE) clean 2>/dev/null
	-+$(MAKE) -C $(KDIR) M=$(ROOT)/tests/modules clean 2>/dev/null
	rm -f $(ROOT)/src/kernel_ext/bindings_generated.rs
	rm -rf $(ROOT)/tests/out
