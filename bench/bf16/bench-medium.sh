#!/usr/bin/env bash
# The bench's training steps on the ~100M config, fp32 and bf16 mixed alternating inside each repeat; run twice.
# Usage: bench/bf16/bench-medium.sh [OUT]   (default out/bf16); one thread (--threads 1, OPENBLAS_NUM_THREADS=1).
set -euo pipefail
out="${1:-out/bf16}"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
for i in 1 2; do
  a4j bench --sizes medium --repeats 3 --gen-batches 1 --gen-tokens 4 --memory-steps 0 --threads 1 --output "$out/bench-medium-$i.json" 2>&1 \
    | grep -v WARN | grep -v '^{' || true
done
