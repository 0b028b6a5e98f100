#!/usr/bin/env bash
# Data-parallel scaling on one machine: SFT on the small config, 1 process x 2 threads vs 2 processes x 1 thread,
# interleaved repeats. Usage: bench/ddp/scale.sh [STEPS] [REPEATS...]   e.g. bench/ddp/scale.sh 30 1 2 3
# Then: python3 bench/ddp/summary.py out/ddp-scale
set -euo pipefail
cd "$(dirname "$0")/../.."
steps="${1:-30}"; shift || true
A="sft --init small --task arithmetic --steps $steps --batch-size 16 --logging-steps 1"
reps=("$@"); [ ${#reps[@]} -eq 0 ] && reps=(1 2 3)
mkdir -p out/ddp-scale
for r in "${reps[@]}"; do
  echo "$(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg) t2-$r"; rm -rf out/ddp-scale/t2-$r
  ./align4j $A --threads 2 --output out/ddp-scale/t2-$r > out/ddp-scale/t2-$r.log 2>&1
  echo "$(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg) p2-$r"; rm -rf out/ddp-scale/p2-$r
  ./align4j launch --nproc 2 $A --threads 1 --output out/ddp-scale/p2-$r > out/ddp-scale/p2-$r.log 2>&1
done
