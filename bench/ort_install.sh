#!/bin/sh
# Installs ONNX Runtime for Node (CPU) into bench/ort/node_modules (bench/ort/ is ignored by
# git). ONNXRUNTIME_NODE_INSTALL=skip stops the package from fetching its optional GPU files.
# Usage: sh bench/ort_install.sh     (idempotent; exit 0 if already installed, 1 without npm)
set -e
here=$(cd "$(dirname "$0")" && pwd)/ort
mkdir -p "$here"
version=${ORT_VERSION:-1.30}
if [ -f "$here/node_modules/onnxruntime-node/package.json" ]; then
    echo "bench/ort: onnxruntime-node $(node -p "require('$here/node_modules/onnxruntime-node/package.json').version" 2>/dev/null) already installed"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "bench/ort: node/npm not found; ONNX Runtime comparison unavailable" >&2
    exit 1
fi
echo "bench/ort: installing onnxruntime-node@$version (CPU) with npm ..."
ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
    npm install --silent --no-audit --no-fund --prefix "$here" "onnxruntime-node@$version"
node -e "require('$here/node_modules/onnxruntime-node'); console.log('bench/ort: onnxruntime-node', require('$here/node_modules/onnxruntime-node/package.json').version, 'ready')"
