#!/usr/bin/env bash
# bf16 mixed precision against fp32 on this machine (docs/results-parts/bf16.md): 200-step SFT runs of the small model
# in float32, auto and bfloat16, alternating the order over two repeats, then the per-step loss differences.
# Usage: bench/bf16/run.sh [OUT]   (default out/bf16); one thread (--threads 1, OPENBLAS_NUM_THREADS=1).
set -euo pipefail
out="${1:-out/bf16}"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
run() {   # run REPEAT DTYPE
  echo "== repeat $1, --dtype $2"
  a4j sft --init small --task arithmetic --steps 200 --batch-size 16 --max-length 64 --lr 1e-3 --warmup-steps 20 \
    --logging-steps 1 --eval-prompts 50 --seed 0 --threads 1 --dtype "$2" --output "$out/r$1-$2" --overwrite 2>&1 \
    | grep -E "dtype auto|held-out|eval/sft|final model" || true
}
for d in float32 auto bfloat16; do run 1 $d; done
for d in bfloat16 auto float32; do run 2 $d; done
python3 bench/bf16/compare.py "$out"
