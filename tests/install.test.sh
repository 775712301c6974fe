#!/bin/sh
# make install into a temporary PREFIX, then use the installed copy the way a user would:
# the layout and the soname, pkg-config, examples/embed_tagger.c built against the shared
# library (rpath) and statically (pkg-config --static), bin/e2e, DESTDIR staging, uninstall.
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
MAKE=${MAKE:-make}
CC=${CC:-cc}
for tool in pkg-config readelf "$CC"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "skipped: $tool not found"; exit 77; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2e-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export SHARED
# A library built with SANITIZE=... (make sanitize) needs the same -fsanitize at link time.
san=""
syms=$(nm "$BUILD/libe2e.a" 2>/dev/null | grep -oE '__(a|t|ub)san_' | sort -u)
case $syms in *__asan_*) san="address";; *__tsan_*) san="thread";; esac
case $syms in *__ubsan_*) san="${san:+$san,}undefined";; esac
sanflags=${san:+-fsanitize=$san}

version=$(sed -n 's/^#define E2E_VERSION "\(.*\)"/\1/p' include/e2e.h)
major=${version%%.*}
pfx=$tmp/prefix

echo "== make install PREFIX=$pfx"
$MAKE --no-print-directory install PREFIX="$pfx" BUILD="$BUILD" > "$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "make install"; }
(cd "$pfx" && find . \( -type f -o -type l \) | sort)
for f in include/e2e.h lib/libe2e.a lib/libe2e.so.$version lib/pkgconfig/e2e.pc bin/e2e; do
    [ -f "$pfx/$f" ] || fail "$f not installed"
done
[ "$(readlink "$pfx/lib/libe2e.so.$major")" = "libe2e.so.$version" ] || fail "libe2e.so.$major symlink"
[ "$(readlink -f "$pfx/lib/libe2e.so")" = "$(readlink -f "$pfx/lib/libe2e.so.$version")" ] ||
    fail "libe2e.so symlink"
[ ! -f include/e2e_frames.h ] || [ -f "$pfx/include/e2e_frames.h" ] || fail "e2e_frames.h not installed"

soname=$(readelf -d "$pfx/lib/libe2e.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
echo "soname: $soname"
[ "$soname" = "libe2e.so.$major" ] || fail "soname is '$soname', expected libe2e.so.$major"

echo "== pkg-config"
PKG_CONFIG_PATH=$pfx/lib/pkgconfig
export PKG_CONFIG_PATH
[ "$(pkg-config --modversion e2e)" = "$version" ] || fail "pkg-config --modversion e2e"
flags=$(pkg-config --cflags --libs e2e) || fail "pkg-config --cflags --libs e2e"
sflags=$(pkg-config --static --cflags --libs e2e) || fail "pkg-config --static --cflags --libs e2e"
echo "pkg-config --cflags --libs e2e: $flags"
echo "pkg-config --static --cflags --libs e2e: $sflags"

for h in "$pfx"/include/*.h; do   # every installed header compiles on its own, C and C++
    printf '#include <%s>\nint main(void) { return 0; }\n' "$(basename "$h")" > "$tmp/hdr.c"
    $CC -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags e2e) -c "$tmp/hdr.c" -o "$tmp/hdr.o" ||
        fail "installed $(basename "$h") does not compile alone"
    if command -v g++ >/dev/null 2>&1; then
        g++ -x c++ -Wall -Wextra -Werror $(pkg-config --cflags e2e) -c "$tmp/hdr.c" -o "$tmp/hdr.o" ||
            fail "installed $(basename "$h") does not compile as C++"
    fi
    echo "header $(basename "$h"): compiles alone (C and C++)"
done

echo "== examples/embed_tagger.c against the installed shared library"
# No -Iinclude: <e2e.h> must come from the installed copy. (-lm: the example uses expf.)
$CC -std=c11 -Wall -Wextra -Werror examples/embed_tagger.c $sanflags $flags -lm -Wl,-rpath,"$pfx/lib" \
    -o "$tmp/embed_shared" || fail "build against the installed library"
readelf -d "$tmp/embed_shared" | grep -q "NEEDED.*\[libe2e.so.$major\]" || fail "not linked to libe2e.so.$major"
"$tmp/embed_shared" > "$tmp/shared.out" 2>&1 || { cat "$tmp/shared.out"; fail "embed_tagger (shared) failed"; }
cat "$tmp/shared.out"
if grep -q '^skipped:' "$tmp/shared.out"; then
    echo "note: trained model missing, no scores to check"
else
    grep -q 'score = ' "$tmp/shared.out" || fail "embed_tagger printed no scores"
fi

echo "== examples/embed_tagger.c linked statically (pkg-config --static, libe2e.a)"
sflags_a=$(printf '%s\n' "$sflags" | sed 's/-le2e\b/-l:libe2e.a/')
$CC -std=c11 examples/embed_tagger.c $sanflags $sflags_a -o "$tmp/embed_static" || fail "static link"
! readelf -d "$tmp/embed_static" | grep -q 'NEEDED.*libe2e' || fail "static build still needs libe2e.so"
"$tmp/embed_static" > "$tmp/static.out" 2>&1 || { cat "$tmp/static.out"; fail "embed_tagger (static) failed"; }
cmp -s "$tmp/shared.out" "$tmp/static.out" || fail "static and shared builds print different results"
echo "static build: same output"

echo "== installed bin/e2e"
"$pfx/bin/e2e" --version || fail "bin/e2e --version"

echo "== DESTDIR staging"
$MAKE --no-print-directory install PREFIX=/usr/local DESTDIR="$tmp/stage" BUILD="$BUILD" > "$tmp/stage.log" 2>&1 ||
    { cat "$tmp/stage.log"; fail "make install DESTDIR"; }
[ -f "$tmp/stage/usr/local/lib/libe2e.so.$version" ] || fail "DESTDIR not respected"
grep -q '^prefix=/usr/local$' "$tmp/stage/usr/local/lib/pkgconfig/e2e.pc" || fail "e2e.pc names DESTDIR"
echo "staged under DESTDIR; e2e.pc says prefix=/usr/local"

echo "== make uninstall"
$MAKE --no-print-directory uninstall PREFIX="$pfx" BUILD="$BUILD" > "$tmp/uninstall.log" 2>&1 ||
    { cat "$tmp/uninstall.log"; fail "make uninstall"; }
left=$(find "$pfx" \( -type f -o -type l \))
[ -z "$left" ] || fail "uninstall left: $left"
echo "uninstall removed every file"
echo "install test passed"
