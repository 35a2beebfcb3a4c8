# The sVirt SELinux policy (DESIGN §7). policy/husk.cil is the module a host
# installs (semodule -i); policy/base.cil stands in for the host's base
# policy so the module compiles, and is checked, on its own at build time.
# husk-cilc compiles both with libsepol's CIL compiler into a binary policy
# that tests/unit/test_selinux.c asks access decisions of.

POLICY_CIL := policy/base.cil policy/husk.cil
SELINUX_PKGDIR ?= $(PREFIX)/share/selinux/packages

$(B)/policy/husk-cilc: policy/tools/husk-cilc.c $(B)/libhk.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(HK_CFLAGS) -o $@ $< $(B)/libhk.a -lsepol

$(B)/policy/husk.policy: $(B)/policy/husk-cilc $(POLICY_CIL)
	@$(if $(Q),echo "  CIL     $@")
	$(Q)$(B)/policy/husk-cilc --mcs-categories 1024 -o $@ $(POLICY_CIL)

all: $(B)/policy/husk.policy
$(B)/tests/test_selinux: $(B)/policy/husk.policy

.PHONY: install-policy
install: install-policy
install-policy: $(B)/policy/husk.policy
	install -d $(DESTDIR)$(SELINUX_PKGDIR)
	install -m 0644 policy/husk.cil $(DESTDIR)$(SELINUX_PKGDIR)/husk.cil
