#!/bin/sh
# The C++ example examples/embed_tagger.cpp, and the two programs printed in docs/api.md
# (its ```c and ```cpp blocks), compile with -Werror against include/ and $BUILD/libe2e.a
# and run on the trained E/Gamma model (only compiled when the model is missing).
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
CXX=${CXX:-g++}
CC=${CC:-cc}
if ! command -v "$CXX" >/dev/null 2>&1; then
    echo "skipped: $CXX not found"; exit 77
fi
[ -f "$BUILD/libe2e.a" ] || { echo "FAIL: $BUILD/libe2e.a not built"; exit 1; }
export SHARED
# A library built with SANITIZE=... (make sanitize) needs the same -fsanitize at link time.
san=""
syms=$(nm "$BUILD/libe2e.a" 2>/dev/null | grep -oE '__(a|t|ub)san_' | sort -u)
case $syms in *__asan_*) san="address";; *__tsan_*) san="thread";; esac
case $syms in *__ubsan_*) san="${san:+$san,}undefined";; esac
sanflags=${san:+-fsanitize=$san}
dir=$BUILD/cxx
mkdir -p "$dir"
libs="$sanflags $BUILD/libe2e.a -lopenblas -lprotobuf-c -lpng -lm -lpthread"
model=$SHARED/models/eg_simplenet_trained/model.onnx
fail() { echo "FAIL: $*"; exit 1; }

echo "== examples/embed_tagger.cpp"
"$CXX" -std=c++17 -O2 -Wall -Wextra -Werror -pedantic -Iinclude examples/embed_tagger.cpp \
    $libs -o "$dir/embed_tagger_cxx" || fail "examples/embed_tagger.cpp does not compile"
"$dir/embed_tagger_cxx" || fail "embed_tagger_cxx failed"

echo "== docs/api.md code blocks"
awk '/^```c$/ {on=1; next} /^```/ {on=0} on' docs/api.md > "$dir/doc_tag.c"
awk '/^```cpp$/ {on=1; next} /^```/ {on=0} on' docs/api.md > "$dir/doc_tag.cpp"
[ -s "$dir/doc_tag.c" ] && [ -s "$dir/doc_tag.cpp" ] || fail "docs/api.md has no \`\`\`c / \`\`\`cpp block"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror -Iinclude "$dir/doc_tag.c" $libs -o "$dir/doc_tag_c" ||
    fail "the C program in docs/api.md does not compile"
"$CXX" -std=c++17 -O2 -Wall -Wextra -Werror -pedantic -Iinclude "$dir/doc_tag.cpp" $libs \
    -o "$dir/doc_tag_cxx" || fail "the C++ program in docs/api.md does not compile"
if [ -f "$model" ]; then
    "$dir/doc_tag_c" "$model" || fail "the C program in docs/api.md failed"
    "$dir/doc_tag_cxx" "$model" || fail "the C++ program in docs/api.md failed"
else
    echo "note: $model not found; doc programs compiled, not run"
fi
echo "C++ example and docs/api.md programs ok"
