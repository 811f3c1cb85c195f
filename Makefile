# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# gmem-tools: bpf/%.bpf.c -> $(OUTPUT)/%.bpf.o -> $(OUTPUT)/%.skel.h, then the
# library and programs.  Out of tree in $(OUTPUT); V=1 shows full commands.

OUTPUT ?= build
CC ?= gcc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
VMLINUX_MODULE_BTF ?=
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Evaluated when used, so that a missing library is reported by 'deps', not
# as a compiler error.
LIBBPF_CFLAGS = $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBS = $(shell $(PKG_CONFIG) --libs libbpf json-c 2>/dev/null) -lelf -lz -lm

CFLAGS ?= -g -O2
WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
DEPFLAGS = -MMD -MP
INCLUDES = -Iinclude -Isrc -I$(OUTPUT)
USER_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) $(LIBBPF_CFLAGS)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Wno-unused-function

BPF_NAMES := pins scan probe refs lifecycle convert hooks
BPF_OBJS := $(patsubst %,$(OUTPUT)/%.bpf.o,$(BPF_NAMES))
SKELS := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_NAMES))
LIB_SRCS := $(wildcard src/lib/*.c)
LIB_OBJS := $(patsubst src/lib/%.c,$(OUTPUT)/lib/%.o,$(LIB_SRCS))
LIBGMEM := $(OUTPUT)/libgmem.a
PROGS := gmemtop gmem-check
PROG_BINS := $(patsubst %,$(OUTPUT)/%,$(PROGS))

# Test programs run inside the VM: static, so the initramfs needs no libc;
# with frame pointers and their symbol table, so that gmemtop --ustack can
# walk and name their frames (tests/vm/31-pin-address-ustack.sh).
TEST_PROGS := gmem-pinner gmem-bench gmem-stress gmem-vmm gmem-hooks
TEST_PROG_BINS := $(patsubst %,$(OUTPUT)/tests/%,$(TEST_PROGS))

# Unit tests: cmocka, built with clang and ASan/UBSan, against the library
# sources built the same way.
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/unit/%,$(UNIT_SRCS))
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_LIB_OBJS := $(patsubst src/lib/%.c,$(OUTPUT)/unit/lib/%.o,$(LIB_SRCS))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all clean deps check unit vmtest demo bench prof help install

PREFIX ?= /usr/local
DESTDIR ?=

all: $(PROG_BINS) $(TEST_PROG_BINS)

help:
	@echo "make            build BPF objects, library and programs into $(OUTPUT)/"
	@echo "make check      install what is missing, unit tests + VM tests (stock kernel)"
	@echo "make demo       install what is missing, boot a VM and show gmemtop on a pinning workload"
	@echo "make unit       unit tests only (ASan/UBSan)"
	@echo "make vmtest     VM tests only; KERNEL=stock|stock-6.12|stock-7.2|testkernel|PATH, FILTER=..."
	@echo "make install    install programs and man pages (PREFIX=$(PREFIX) DESTDIR=)"
	@echo "make bench      traced/untraced pinning cost, and a generic-tool baseline's (gup_test, testkernel VM)"
	@echo "make prof       each BPF program's cost per run and per page (bpf_stats, testkernel VM)"
	@echo "options: OUTPUT=dir V=1 VMLINUX_BTF=path VMLINUX_MODULE_BTF=path CC= CLANG= BPFTOOL="

deps:
	$(Q)tools/install-deps --check 2>/dev/null || tools/install-deps

$(OUTPUT) $(OUTPUT)/lib $(OUTPUT)/tests $(OUTPUT)/unit $(OUTPUT)/unit/lib:
	$(Q)mkdir -p $@

# A missing package is one line naming it, not a compiler error.
$(OUTPUT)/.deps-ok: tools/install-deps | $(OUTPUT)
	$(Q)tools/install-deps --check
	$(Q)touch $@

# vmlinux.h: regenerated when the generator or the BTF changes; the
# generator leaves the file untouched when the types are the same.
$(OUTPUT)/vmlinux.h: vmlinux.h.gen $(wildcard $(VMLINUX_BTF) $(VMLINUX_MODULE_BTF)) | $(OUTPUT)/.deps-ok
	$(call msg,GEN,$@)
	$(Q)BPFTOOL=$(BPFTOOL) ./vmlinux.h.gen -o $@ $(VMLINUX_BTF) $(VMLINUX_MODULE_BTF)

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -Iinclude -Ibpf -I$(OUTPUT) $(LIBBPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name gmem_$(subst -,_,$*) > $@

# Library objects may include any skeleton: generate them all first (the
# -MMD files take over after the first build).
$(OUTPUT)/lib/%.o: src/lib/%.c | $(OUTPUT)/lib $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBGMEM): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(OUTPUT)/%.o: src/%.c | $(OUTPUT) $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(PROG_BINS): $(OUTPUT)/%: $(OUTPUT)/%.o $(LIBGMEM)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# make bench's baseline loads BPF itself: libbpf, statically too.
$(OUTPUT)/tests/gmem-hooks: tests/progs/gmem-hooks.c $(OUTPUT)/hooks.skel.h | $(OUTPUT)/tests
	$(call msg,CC-STATIC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) $(LIBBPF_CFLAGS) $(DEPFLAGS) -static $< -o $@ -lbpf -lelf -lz

$(OUTPUT)/tests/%: tests/progs/%.c | $(OUTPUT)/tests $(OUTPUT)/.deps-ok
	$(call msg,CC-STATIC,$@)
	$(Q)$(CC) $(CFLAGS) -fno-omit-frame-pointer $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude $(DEPFLAGS) -static -pthread $< -o $@ -luring

$(OUTPUT)/unit/lib/%.o: src/lib/%.c | $(OUTPUT)/unit/lib $(SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)$(CLANG) -g -O1 $(SAN_FLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) $(LIBBPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUTPUT)/unit/%: tests/unit/%.c $(UNIT_LIB_OBJS) | $(OUTPUT)/unit
	$(call msg,CC-SAN,$@)
	$(Q)$(CLANG) -g -O1 $(SAN_FLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) $(LIBBPF_CFLAGS) $(DEPFLAGS) $< $(UNIT_LIB_OBJS) -lcmocka $(LIBS) -o $@

unit: $(UNIT_BINS)
	$(Q)tools/run-unit $(UNIT_BINS)

KERNEL ?= stock
FILTER ?=
vmtest: all
	$(Q)tools/vmtest/vmtest -k $(KERNEL) $(foreach f,$(FILTER),-f $(f)) \
		$(foreach p,$(PROG_BINS) $(TEST_PROG_BINS),-p $(p)) -p "$$(command -v jq)"

# The two README commands: both install what is missing first, then run
# in a fresh make so that pkg-config sees the installed libraries.
check: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS)
	$(Q)OUTPUT=$(OUTPUT) tools/check $(UNIT_BINS) -- $(PROG_BINS) $(TEST_PROG_BINS)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)OUTPUT=$(OUTPUT) KERNEL=$(KERNEL) tools/demo $(PROG_BINS) $(TEST_PROG_BINS)

install: $(PROG_BINS)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 -t $(DESTDIR)$(PREFIX)/sbin $(PROG_BINS)
	$(Q)install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/man/man8 doc/gmemtop.8 doc/gmem-check.8

# bench and prof need gup_test: the testkernel, unless KERNEL= is given
# on the command line.
BENCH_KERNEL = $(if $(filter command line,$(origin KERNEL)),$(KERNEL),testkernel)

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)OUTPUT=$(OUTPUT) KERNEL=$(BENCH_KERNEL) tools/bench $(PROG_BINS) $(TEST_PROG_BINS)

# Each program's own cost (tests/prof): with bpftool in the VM.
prof: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/vmtest/vmtest -k $(BENCH_KERNEL) \
		-t tests/prof -T 900 $(foreach p,$(PROG_BINS) $(TEST_PROG_BINS),-p $(p)) \
		-p "$$(command -v jq)" -p "$$(command -v bpftool)"
	$(Q)grep -a '^PROF ' $(OUTPUT)/vmtest/$(BENCH_KERNEL)/console.log | tee $(OUTPUT)/prof.txt

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/lib/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/unit/*.d $(OUTPUT)/unit/lib/*.d)
