#!/usr/bin/env bash
# The GPU checks of issue 23 (README, "CUDA"): build the CUDA variant, then
#   1. parity of a forward, an SFT step and greedy generation on the GPU against the CPU (./align4j bench --device-parity),
#   2. a short training run end to end on the GPU (SFT on a built-in task, checkpoint, eval),
#   3. the bench on the GPU (GEMM, forward / SFT / DPO steps, generation).
# Results go to out/gpu/; record them in docs/benchmarks.md with the machine. Needs an NVIDIA GPU with its driver.
# Usage: bench/gpu/run.sh [DEVICE]   (default cuda)
set -euo pipefail
cd "$(dirname "$0")/../.."
DEVICE="${1:-cuda}"
mkdir -p out/gpu
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee out/gpu/gpu.txt || true
echo "== build (mvn -Pcuda)" >&2
mvn -q -B -Pcuda -DskipTests package
echo "== 1. parity with the CPU" >&2
./align4j bench --device-parity "$DEVICE" --output out/gpu/parity.json
echo "== 2. SFT end to end on $DEVICE" >&2
./align4j sft --init tiny --task arithmetic --steps 300 --batch-size 64 --lr 1e-3 --max-length 64 --eval-every 300 --eval-prompts 200 \
  --device "$DEVICE" --overwrite --output out/gpu/sft 2>&1 | tail -5
echo "== 3. bench on $DEVICE" >&2
./align4j bench --device "$DEVICE" --sizes tiny,medium --memory-steps 0 --lora-memory none --output out/gpu/bench.json 2>&1 | grep -v '^{'
echo "results: out/gpu/parity.json, out/gpu/sft/metrics.jsonl, out/gpu/bench.json" >&2
