# make bench: e2e and ONNX Runtime side by side on the eight tagger models (issue 5).
#   bench/run.sh installs onnxruntime-node into bench/ort/ when npm is available
#   (bench/ort_install.sh), makes the models ($(BUILD)/models) if missing, alternates
#   `e2e bench` and bench/ort_bench.js, writes bench/results/<date>-<simd>.json and regenerates
#   docs/benchmarks.md + docs/benchmarks.svg. Extra options: make bench BENCH_ARGS="--rounds 2".
#   make bench-ort only installs ONNX Runtime.
BENCH_ARGS ?=

.PHONY: bench bench-ort
bench: $(BUILD)/e2e
	E2E=$(BUILD)/e2e MODELS=$(BUILD)/models sh bench/run.sh $(BENCH_ARGS)

bench-ort:
	sh bench/ort_install.sh
