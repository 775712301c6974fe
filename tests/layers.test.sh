#!/bin/sh
# The layering of src/ (docs/architecture.md): includes point one way, down.
#   core/    ground: IR, tensors, errors, thread pool, packed-weight cache. Includes only core/.
#   onnx/    the loader: builds the IR. core/ only (no operator registry, no engine).
#   ops/     the kernels and the operator registry: core/ and ops/. ops/cuda/ (the CUDA
#            backend) may include engine/backend.h, its interface, and nothing else of engine/.
#   engine/  sessions, plan, passes, profile: core/, ops/, engine/.
#   util/    npy, png, roc: core/ only.  models/: core/, onnx/, models/.
#   frames/  the front end: core/, frames/ (sessions only through the public API).
#   cli/     the command: anything.
# Exit 0 pass, 1 fail (each violation printed as file:line).
cd "$(dirname "$0")/.." || exit 1
bad=0
# check DIR ALLOWED-PREFIXES...: every '#include "x/..."' in DIR names one of the prefixes
check() {
    dir=$1; shift
    allow=$(printf '%s|' "$@"); allow=${allow%|}
    out=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/' "$dir" \
            --include='*.c' --include='*.h' --include='*.cu' --include='*.cuh' |
          grep -vE "#[[:space:]]*include[[:space:]]*\"($allow)")
    [ -n "$out" ] || return 0
    printf 'layering: %s may include only %s:\n%s\n' "$dir" "$*" "$out"
    bad=1
}
check src/core core/
check src/onnx core/ onnx/
check src/util core/ util/
check src/models core/ onnx/ models/
check src/frames core/ frames/ util/
check src/engine core/ ops/ engine/
# ops/ minus the CUDA backend: core/ and ops/ only
out=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*/' src/ops --include='*.c' --include='*.h' |
      grep -v '^src/ops/cuda/' | grep -vE '#[[:space:]]*include[[:space:]]*"(core|ops)/')
[ -z "$out" ] || { printf 'layering: src/ops may include only core/ ops/:\n%s\n' "$out"; bad=1; }
check src/ops/cuda core/ ops/ engine/backend.h
# the CUDA backend reads no CPU kernel's private state (shared decoders instead, backend.h)
out=$(grep -rn -- '->priv' src/ops/cuda)
[ -z "$out" ] || { printf 'layering: src/ops/cuda reads a CPU kernel'"'"'s priv:\n%s\n' "$out"; bad=1; }
# the loader does not look operators up: support is the engine's question (e2e_session_check)
out=$(grep -rn 'e2e_op_find' src/onnx src/core src/models src/util src/frames)
[ -z "$out" ] || { printf 'layering: the operator registry used below the engine:\n%s\n' "$out"; bad=1; }
[ $bad -eq 0 ] && echo "layers: core <- onnx, ops <- engine <- cli hold"
exit $bad
