#!/usr/bin/env bash
# Data-parallel scaling on one machine: 1 process x 2 threads vs 2 processes x 1 thread, interleaved repeats.
# TRAINER=sft (default: SFT on the small config, batch 16) or TRAINER=grpo (GRPO on the small config, 8 prompts x 4
# samples of up to 16 tokens, sampling sharded over the ranks; a random model's answers score 0, so the advantages are 0
# but every step still samples full-length completions, scores them, runs backward and all-reduces the gradient). Output in out/ddp-scale (sft) or out/ddp-scale-grpo.
# Usage: [TRAINER=grpo] bench/ddp/scale.sh [STEPS] [REPEATS...]   e.g. bench/ddp/scale.sh 30 1 2 3
# Then: python3 bench/ddp/summary.py out/ddp-scale[-grpo]
set -euo pipefail
cd "$(dirname "$0")/../.."
steps="${1:-30}"; shift || true
trainer="${TRAINER:-sft}"
case "$trainer" in
  sft) A="sft --init small --task arithmetic --steps $steps --batch-size 16 --logging-steps 1"; out=out/ddp-scale ;;
  grpo) A="grpo --init small --task arithmetic --steps $steps --prompts-per-step 8 --group-size 4 --max-new-tokens 16 --eval-prompts 4 --logging-steps 1"; out=out/ddp-scale-grpo ;;
  *) echo "TRAINER must be sft or grpo: $trainer" >&2; exit 2 ;;
esac
reps=("$@"); [ ${#reps[@]} -eq 0 ] && reps=(1 2 3)
mkdir -p $out
for r in "${reps[@]}"; do
  echo "$(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg) t2-$r"; rm -rf $out/t2-$r
  ./align4j $A --threads 2 --output $out/t2-$r > $out/t2-$r.log 2>&1
  echo "$(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg) p2-$r"; rm -rf $out/p2-$r
  ./align4j launch --nproc 2 $A --threads 1 --output $out/p2-$r > $out/p2-$r.log 2>&1
done
