#!/usr/bin/env bash
# Peak memory of DPO with LoRA (r 16, alpha 32, all-linear) vs full DPO on the ~100M (medium) config, each arm in its own
# process so that neither sees the other's leftovers; batch 8 x 128 (the bench's default) and 4 x 64. (docs/results-parts/lora.md)
set -euo pipefail
A4J="${1:-./align4j}"
mkdir -p out/bench-lora
for shape in "8 128" "4 64"; do
  set -- $shape
  for arm in lora full; do
    "$A4J" bench --sizes none --memory-steps 0 --lora-memory medium --lora-steps 3 --lora-arm $arm --train-batch $1 --seq-len $2 --threads 1 \
      --output out/bench-lora/medium-$arm-b$1-t$2.json 2>&1 | grep -v '^{' >&2
  done
done
