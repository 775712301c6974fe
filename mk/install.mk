# make install / make uninstall — included by the Makefile (mk/*.mk).
#
#   make install PREFIX=/opt/e2e            # into /opt/e2e/{bin,include,lib,lib/pkgconfig}
#   make install DESTDIR=/tmp/stage         # staged (packaging): files under /tmp/stage$(PREFIX)
#   make uninstall PREFIX=/opt/e2e          # removes exactly what install put there
#
# Installed: include/e2e.h (+ include/e2e_frames.h when present), lib/libe2e.a,
# lib/libe2e.so.$(VERSION) with soname libe2e.so.$(VERSION_MAJOR) and the symlinks
# libe2e.so.$(VERSION_MAJOR) and libe2e.so, bin/e2e, lib/pkgconfig/e2e.pc, and the trained
# taggers share/e2e/trained/{eg,qg,top,tau}.onnx + MANIFEST (e2e run's default models).
# The .pc file names $(PREFIX), never $(DESTDIR): DESTDIR is only where files are staged.

BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL    ?= install
SHAREDIR   ?= $(PREFIX)/share/e2e
TRAINED    := $(wildcard models/trained/*.onnx models/trained/MANIFEST)

INSTALL_HEADERS := $(wildcard include/e2e.h include/e2e_frames.h)
# Dependencies for static links: the packages that have a .pc file on this system go to
# Requires.private (openblas, libprotobuf-c, libpng on Debian); the others, -lm -lpthread and
# whatever HDF5=1 / CUDA=1 add to LDLIBS go to Libs.private as plain flags.
# (Recursive variables: pkg-config is only asked when `make install` runs.)
PC_DEPS = openblas=-lopenblas libprotobuf-c=-lprotobuf-c libpng=-lpng
PC_FOUND = $(foreach d,$(PC_DEPS),$(if $(shell pkg-config --exists $(firstword $(subst =, ,$(d))) 2>/dev/null && echo y),$(d)))
PC_REQUIRES_PRIVATE = $(foreach d,$(PC_FOUND),$(firstword $(subst =, ,$(d))))
PC_LIBS_PRIVATE = $(strip $(filter-out $(foreach d,$(PC_FOUND),$(lastword $(subst =, ,$(d)))),$(LDLIBS)))
# Paths under PREFIX are written relative to ${prefix} so the file reads naturally.
pc_rel = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

.PHONY: install uninstall

# The .pc file names PREFIX, so it is generated on every install (never stale).
install: $(BUILD)/libe2e.a $(BUILD)/libe2e.so $(BUILD)/e2e mk/e2e.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|g' \
	    -e 's|@LIBDIR@|$(call pc_rel,$(LIBDIR))|g' \
	    -e 's|@INCLUDEDIR@|$(call pc_rel,$(INCLUDEDIR))|g' \
	    -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(PC_LIBS_PRIVATE)|g' \
	    -e 's|@REQUIRES_PRIVATE@|$(PC_REQUIRES_PRIVATE)|g' mk/e2e.pc.in > $(BUILD)/e2e.pc
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 644 $(INSTALL_HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	$(INSTALL) -m 644 $(BUILD)/libe2e.a $(DESTDIR)$(LIBDIR)/libe2e.a
	$(INSTALL) -m 755 $(BUILD)/libe2e.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libe2e.so.$(VERSION)
	ln -sf libe2e.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libe2e.so.$(VERSION_MAJOR)
	ln -sf libe2e.so.$(VERSION_MAJOR) $(DESTDIR)$(LIBDIR)/libe2e.so
	$(INSTALL) -m 755 $(BUILD)/e2e $(DESTDIR)$(BINDIR)/e2e
	$(INSTALL) -m 644 $(BUILD)/e2e.pc $(DESTDIR)$(PKGCONFIGDIR)/e2e.pc
	$(if $(TRAINED),$(INSTALL) -d $(DESTDIR)$(SHAREDIR)/trained && $(INSTALL) -m 644 $(TRAINED) $(DESTDIR)$(SHAREDIR)/trained/)
	@echo "installed e2e $(VERSION) into $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/,e2e.h e2e_frames.h)
	rm -f $(DESTDIR)$(LIBDIR)/libe2e.a $(DESTDIR)$(LIBDIR)/libe2e.so \
	      $(DESTDIR)$(LIBDIR)/libe2e.so.$(VERSION_MAJOR) $(DESTDIR)$(LIBDIR)/libe2e.so.$(VERSION)
	rm -f $(DESTDIR)$(BINDIR)/e2e $(DESTDIR)$(PKGCONFIGDIR)/e2e.pc
	rm -f $(addprefix $(DESTDIR)$(SHAREDIR)/trained/,$(notdir $(TRAINED)))
	-rmdir $(DESTDIR)$(SHAREDIR)/trained $(DESTDIR)$(SHAREDIR) 2>/dev/null
