# Tests: C unit tests (TAP), bats integration tests, libFuzzer targets.

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

# The agent's process set-up (seccomp, capabilities) is tested on the host:
# the same libseccomp and libcap calls, in a forked child.
UNIT_AGENT_SRC := guest-agent/seccomp.c guest-agent/caps.c
$(B)/tests/%: tests/unit/%.c tests/unit/tap.h tests/unit/mmio_driver.h $(B)/librt.a $(B)/libpol.a $(B)/liboci.a $(B)/libvmm.a $(B)/libhk.a \
              $(UNIT_AGENT_SRC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HK_CFLAGS) $(if $(filter test_hooks test_procsec,$*),-Wno-write-strings) -o $@ $< \
	  $(if $(filter test_procsec,$*),$(UNIT_AGENT_SRC) -lseccomp -lcap) \
	  $(if $(filter test_selinux,$*),-DHK_TEST_POLICY=\"$(CURDIR)/$(B)/policy/husk.policy\" -lsepol) \
	  $(B)/librt.a $(B)/libpol.a $(B)/liboci.a $(B)/libvmm.a $(B)/libhk.a $(LDLIBS_YAJL) $(LDLIBS_MNL) \
	  $(if $(filter test_policy,$*),$(LDLIBS_POL)) -lpthread

# Each binary prints TAP; a failing one fails the target. Fixtures are found
# relative to the checkout.
unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
	  echo "# $$t"; HUSK_SRC=$(CURDIR) $$t || fail=1; \
	done; exit $$fail

# Test tools: small programs the bats tests drive.
TOOLS := $(patsubst tests/tools/%.c,$(B)/tests/tools/%,$(wildcard tests/tools/*.c))
$(B)/tests/tools/%: tests/tools/%.c $(B)/libhk.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HK_CFLAGS) -o $@ $< $(B)/libhk.a $(LDLIBS_MNL) -lpthread
all: $(TOOLS)

integration: all
	bats --print-output-on-failure tests/integration

# libFuzzer targets, built with clang under ASan+UBSan. FUZZ_TIME seconds each.
FUZZ_TIME ?= 600
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

build-fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(OCI_SRC) $(VMM_SRC)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(filter-out $(CFLAGS),$(HK_CFLAGS)) $(FUZZ_FLAGS) -o $@ $< $(LIB_SRC) $(OCI_SRC) \
	  $(VMM_SRC) $(LDLIBS_YAJL) $(LDLIBS_MNL) -lpthread

# FUZZ=name runs one target (fuzz_oci, fuzz_virtq, …); all of them by default.
FUZZ ?= $(notdir $(FUZZ_BIN))
fuzz: $(FUZZ_BIN)
	@for f in $(addprefix build-fuzz/,$(FUZZ)); do \
	  n=$$(basename $$f); corpus=build-fuzz/corpus-$$n; mkdir -p $$corpus; \
	  echo "fuzz: $$n for $(FUZZ_TIME) s"; \
	  $$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 -max_len=65536 \
	    $$corpus tests/fuzz/seeds-$$n 2>&1 | tail -n 20 || exit 1; \
	done

# Benchmark tools (bench/*.c): native programs the bench scripts drive.
# vsock-bench also runs as a container's process on a busybox rootfs (in a
# guest, or under runc): static, and it needs nothing of libhk.
$(B)/bench/vsock-bench: bench/vsock-bench.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) $(HK_CFLAGS) -static -o $@ $<
BENCH_TOOLS := $(patsubst bench/%.c,$(B)/bench/%,$(wildcard bench/*.c))
$(B)/bench/%: bench/%.c $(B)/libvmm.a $(B)/libhk.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HK_CFLAGS) -o $@ $< $(B)/libvmm.a $(B)/libhk.a $(LDLIBS_YAJL) $(LDLIBS_MNL) -lpthread
all: $(BENCH_TOOLS)
