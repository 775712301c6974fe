# e2e — one Makefile. Toggles:
#   WERROR=1     warnings are errors (CI sets it)
#   DEBUG=1      -O0 -g
#   SANITIZE=    address,undefined | thread  (make sanitize sets address,undefined)
#   CUDA=0       1 builds the cuBLAS backend under src/ops/cuda (needs nvcc)
#   HDF5=0       1 reads HDF5 frame files (libhdf5-dev)
#   PREFIX=/usr/local  for make install
WERROR   ?= 0
DEBUG    ?= 0
SANITIZE ?=
CUDA     ?= 0
HDF5     ?= 0
PREFIX   ?= /usr/local
BUILD    ?= build
SHARED   ?= ../shared

VERSION_MAJOR := 0
VERSION_MINOR := 1
VERSION_PATCH := 0
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

CC      ?= cc
# '=' (expanded when a recipe runs, after make deps may have installed the headers)
OPENBLAS_INC = $(firstword $(wildcard /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas /usr/include/x86_64-linux-gnu/openblas64-pthread))
ONNX_PROTO   ?= /usr/include/onnx/onnx.proto

CFLAGS  ?= $(if $(filter 1,$(DEBUG)),-O0 -g,-O2 -g)
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -fPIC -pthread
CFLAGS  += $(if $(filter 1,$(WERROR)),-Werror,)
CFLAGS  += $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer,)
CPPFLAGS += -Iinclude -Isrc -I$(BUILD)/gen $(if $(OPENBLAS_INC),-I$(OPENBLAS_INC),)
LDLIBS  += -lopenblas -lprotobuf-c -lpng -lm -lpthread
# cairo draws e2e display's plots (fontconfig: its fonts); only the command links them
CAIRO_CFLAGS ?= -I/usr/include/cairo
CLI_LDLIBS   ?= -lcairo -lfontconfig
LDFLAGS += $(if $(SANITIZE),-fsanitize=$(SANITIZE),)

ifeq ($(HDF5),1)
CPPFLAGS += -DE2E_HAVE_HDF5 -I/usr/include/hdf5/serial
LDLIBS   += -L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5
endif

ifeq ($(CUDA),1)
NVCC     ?= /usr/local/cuda/bin/nvcc
NVCCFLAGS ?=
CPPFLAGS += -DE2E_HAVE_CUDA -I/usr/local/cuda/include
LDLIBS   += -L/usr/local/cuda/lib64 -Wl,-rpath,/usr/local/cuda/lib64 -lcublas -lcudart
CU_SRC   := $(wildcard src/ops/cuda/*.cu)
CU_OBJ   := $(CU_SRC:%.cu=$(BUILD)/obj/%.o)
endif

# Every .c under src/ except the command goes into the library. The code is built for any
# CPU of the target architecture (no -march); on x86 the SIMD kernels of src/ops/x86 are
# compiled each with its instruction set's flags and chosen at run time (src/ops/cpu_isa.h).
X86      := $(if $(filter x86_64% i386% i486% i586% i686% amd64%,$(shell $(CC) -dumpmachine)),1,)
ISA_AVX2   := -mavx2 -mfma -mf16c
ISA_AVX512 := $(ISA_AVX2) -mavx512f -mavx512bw -mavx512dq -mavx512vl
LIB_SRC := $(filter-out src/cli/% $(if $(X86),,src/ops/x86/%),$(shell find src -name '*.c' -not -path 'src/ops/cuda/*' | sort))
CLI_SRC := $(wildcard src/cli/*.c)
GEN_SRC := $(BUILD)/gen/onnx.pb-c.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/onnx.pb-c.o $(CU_OBJ)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT := $(filter-out tests/test_%,$(wildcard tests/*.c))
EXAMPLE_SRC := $(wildcard examples/*.c)
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)

DEPS_PKGS := libopenblas-dev libprotobuf-c-dev protobuf-c-compiler libonnx-dev libcmocka-dev libpng-dev \
             libcairo2-dev
# what make check's tests need besides the build (C++ example, pkg-config of make install,
# the HDF5 reader, the Python binding; libgfortran.a for the static link of the install test):
# installed by make check, not by make demo
TEST_PKGS := g++ pkg-config binutils libgfortran-12-dev libhdf5-dev python3-numpy
DEPS_STAMP := $(BUILD)/.deps-ok
TEST_DEPS_STAMP := $(BUILD)/.test-deps-ok

.PHONY: all deps test-deps check demo bench sanitize fuzz install clean models conformance
all: $(BUILD)/libe2e.a $(BUILD)/libe2e.so $(BUILD)/e2e

# make deps: install what is missing (root) or print the apt-get line (again whenever the
# Makefile, and so a package list, changed). A function, so that
# the build's packages (make deps, make demo) and the tests' (make check) share one recipe.
define install_pkgs
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "make deps: installing$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null || exit 1; \
	  else echo "make deps: missing packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; fi; fi
	@mkdir -p $(BUILD) && touch $@
endef
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	$(call install_pkgs,$(DEPS_PKGS) $(EXTRA_PKGS))
test-deps: $(TEST_DEPS_STAMP)
$(TEST_DEPS_STAMP): Makefile | $(DEPS_STAMP)
	$(call install_pkgs,$(TEST_PKGS))

# onnx.proto comes from libonnx-dev: on a bare machine it exists only after make deps, so it
# is a prerequisite only when present (else "No rule to make target .../onnx.proto").
$(BUILD)/gen/onnx.pb-c.c $(BUILD)/gen/onnx.pb-c.h: $(DEPS_STAMP) $(wildcard $(ONNX_PROTO))
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(BUILD)/obj/gen/onnx.pb-c.o: $(BUILD)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror,$(CFLAGS)) $(CPPFLAGS) -w -c $< -o $@

$(BUILD)/obj/src/ops/x86/%_avx2.o: CFLAGS += $(ISA_AVX2)
$(BUILD)/obj/src/ops/x86/%_avx512.o: CFLAGS += $(ISA_AVX512)
$(BUILD)/obj/src/ops/x86/qgemm_avx512.o: CFLAGS += -mavx512vnni
$(BUILD)/obj/src/ops/x86/conv_bf16_avx512.o: CFLAGS += -mavx512bf16

$(BUILD)/obj/src/cli/%.o: CPPFLAGS += $(CAIRO_CFLAGS)
$(BUILD)/obj/%.o: %.c $(BUILD)/gen/onnx.pb-c.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) -O2 $(NVCCFLAGS) -Xcompiler -fPIC -Iinclude -Isrc -I$(BUILD)/gen -MMD -MP -c $< -o $@

$(BUILD)/libe2e.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libe2e.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libe2e.so.$(VERSION_MAJOR) $(LDFLAGS) -o $@.$(VERSION) $^ $(LDLIBS)
	ln -sf libe2e.so.$(VERSION) $@.$(VERSION_MAJOR)
	ln -sf libe2e.so.$(VERSION) $@

$(BUILD)/e2e: $(CLI_OBJ) $(BUILD)/libe2e.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libe2e.a $(LDLIBS) $(CLI_LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT) $(wildcard tests/*.h) $(BUILD)/libe2e.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -Itests -o $@ $< $(TEST_SUPPORT) $(BUILD)/libe2e.a $(LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/examples/%: examples/%.c $(BUILD)/libe2e.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(BUILD)/libe2e.a $(LDFLAGS) $(LDLIBS)

# make check: every cmocka test binary, then the conformance and model cases, then a summary line.
check: $(TEST_DEPS_STAMP) all $(TEST_BIN) $(EXAMPLE_BIN)
	@E2E=$(BUILD)/e2e BUILD=$(BUILD) SHARED=$(SHARED) sh tests/run_all.sh $(TEST_BIN)

models: $(BUILD)/e2e
	$(BUILD)/e2e models --out $(BUILD)/models --missing

# the sample events and predictions in the build folder (e2e run's own default is the per-user
# cache, $XDG_CACHE_HOME/e2e)
demo: all
	XDG_CACHE_HOME=$(abspath $(BUILD))/cache $(BUILD)/e2e run

# UBSan reports stop the test that made them (a failure), as ASan's do.
sanitize:
	UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1 $(UBSAN_OPTIONS)" E2E_CHECK_QUICK=1 \
	  $(MAKE) BUILD=build-san SANITIZE=address,undefined DEBUG=1 check

clean:
	rm -rf $(BUILD) build-san

# Further verbs (install, bench, fuzz, ...) live in mk/*.mk, one file per concern.
include $(sort $(wildcard mk/*.mk))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
