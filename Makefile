# husk: one plain Makefile. `make` builds everything; see README.md.
#
# Sub-makefiles in mk/ and guest-agent/ add their own targets; this file holds
# the flags, the link units and the top-level verbs.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DESTDIR ?=
B       ?= build

CC      ?= cc
CFLAGS  ?= -O2 -g -D_FORTIFY_SOURCE=2
WARN    := -Wall -Wextra -Werror -Wformat=2 -Wmissing-prototypes \
           -Wstrict-prototypes -Wold-style-definition -Wundef -Wwrite-strings \
           -Wshadow -Wpointer-arith -Wcast-align -Wvla -Wimplicit-fallthrough \
           -Wno-unused-parameter
HUSK_VERSION ?= 0.1.0
HK_CFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -fno-strict-aliasing \
           -fstack-protector-strong -DHUSK_VERSION=\"$(HUSK_VERSION)\" -I. $(CFLAGS)
LDLIBS_YAJL := -lyajl
# lib/nl*.c (host only: the static agent leaves them out, see guest-agent/guest.mk).
LDLIBS_MNL := -lmnl

.PHONY: all demo check install clean asan asan-vmm fuzz bench deps unit integration guest guest-kernel lab-check lab-containers lab-known-bugs format format-check
all:

deps:
	@scripts/install-deps

# ---- link units -------------------------------------------------------------
LIB_SRC := $(wildcard lib/*.c)
OCI_SRC := $(wildcard oci/*.c)
HUSK_SRC := $(wildcard cmd/husk/*.c)
RT_SRC := $(wildcard runtime/*.c)
# policy/: the host's confinement of a sandbox: sVirt labels (linked by husk)
# and the monitor's jailer and seccomp allow-lists (linked by husk-vmm). One
# archive: each program pulls only the objects it calls, so only husk-vmm
# needs LDLIBS_POL.
POL_SRC := $(wildcard policy/*.c)
LDLIBS_POL := -lseccomp -lcap
# The monitor's link unit. Files are listed, not globbed: a device joins the
# build when it is wired in.
VMM_SRC := vmm/bus.c vmm/loop.c vmm/mem.c vmm/vm.c vmm/vcpu.c vmm/legacy.c \
           $(wildcard vmm/x86/*.c) \
           vmm/virtio/mmio.c vmm/virtio/queue.c vmm/virtio/rng.c vmm/virtio/blk.c \
           vmm/virtio/vsock.c vmm/virtio/fs.c vmm/virtio/net.c vmm/vhost_user.c \
           $(wildcard vmm/sched/*.c)
VMMD_SRC := $(wildcard cmd/husk-vmm/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
OCI_OBJ := $(OCI_SRC:%.c=$(B)/%.o)
HUSK_OBJ := $(HUSK_SRC:%.c=$(B)/%.o)
RT_OBJ := $(RT_SRC:%.c=$(B)/%.o)
POL_OBJ := $(POL_SRC:%.c=$(B)/%.o)
VMM_OBJ := $(VMM_SRC:%.c=$(B)/%.o)
VMMD_OBJ := $(VMMD_SRC:%.c=$(B)/%.o)

# Quiet by default; `make V=1` shows the commands.
Q := $(if $(V),,@)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(HK_CFLAGS) -MMD -MP -c -o $@ $<

# Rebuilt whole, so an object whose source was removed leaves with it.
$(B)/libhk.a: $(LIB_OBJ)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(B)/liboci.a: $(OCI_OBJ)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(B)/librt.a: $(RT_OBJ)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(B)/libvmm.a: $(VMM_OBJ)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(B)/libpol.a: $(POL_OBJ)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/husk: $(HUSK_OBJ) $(B)/librt.a $(B)/libpol.a $(B)/libvmm.a $(B)/liboci.a $(B)/libhk.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HK_CFLAGS) -o $@ $^ $(LDLIBS_YAJL) $(LDLIBS_MNL) -lpthread

$(B)/husk-vmm: $(VMMD_OBJ) $(B)/libvmm.a $(B)/libpol.a $(B)/liboci.a $(B)/libhk.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HK_CFLAGS) -o $@ $^ $(LDLIBS_YAJL) $(LDLIBS_MNL) $(LDLIBS_POL) -lpthread

all: $(B)/husk $(B)/husk-vmm

include mk/tests.mk
include mk/policy.mk
-include guest-agent/guest.mk

# ---- verbs ------------------------------------------------------------------
demo: deps all guest
	@scripts/demo

# The guest first: its kernel takes minutes once (then it is cached), and
# both the integration and the lab tests use it.
check: deps
	$(MAKE) all guest
	$(MAKE) format-check
	$(MAKE) asan
	$(MAKE) integration
	$(MAKE) lab-check
	$(MAKE) lab-containers

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/husk $(DESTDIR)$(BINDIR)/husk
	install -m 0755 $(B)/husk-vmm $(DESTDIR)$(BINDIR)/husk-vmm

# A full build with AddressSanitizer and UBSan in its own tree, then its unit tests.
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan:
	$(MAKE) B=build-asan CC=clang CFLAGS="$(ASAN_CFLAGS)" unit

# The monitor alone with the same sanitizers: the lab's hostile-guest test
# (tests/lab/hostile.bats) runs it so a stray access to host memory is a
# report, not silence.
asan-vmm:
	$(MAKE) B=build-asan CC=clang CFLAGS="$(ASAN_CFLAGS)" build-asan/husk-vmm

# From a fresh clone like check: set-up, the build (guest kernel included),
# then every benchmark and the report.
bench: deps
	$(MAKE) all guest
	@scripts/bench

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h' | grep -v '^guest-agent/image/linux')

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(B) -name '*.d' 2>/dev/null)
