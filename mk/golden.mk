# Golden outputs (issue 17): a digest of every model's and conformance case's output bits at
# optimize 1, one file per instruction set (tests/golden/outputs-<isa>.txt), checked by
# tests/golden.test.sh in make check. make golden rewrites the files for this machine's
# levels (docs/testing.md: when, and what a mismatch means).
.PHONY: golden
GOLDEN_BIN := $(BUILD)/tests/golden

$(GOLDEN_BIN): tests/golden/golden.c $(BUILD)/libe2e.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) -o $@ $< $(BUILD)/libe2e.a $(LDFLAGS) $(LDLIBS)

check: $(GOLDEN_BIN)

golden: $(GOLDEN_BIN)
	GOLDEN=$(GOLDEN_BIN) SHARED=$(SHARED) sh tests/golden.test.sh --write
