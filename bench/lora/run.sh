#!/usr/bin/env bash
# LoRA vs full training on the built-in arithmetic task, three seeds, from the pretrained /work/models/arith-sft-S
# (docs/results-parts/lora.md). One run at a time; each waits (up to 2 min) while two or more other align4j runs are going.
# Usage: bench/lora/run.sh [A4J]   (A4J: the launcher, default ./align4j)
set -uo pipefail
A4J="${1:-./align4j}"
LORA="--lora-r 16 --lora-alpha 32 --lora-targets all-linear"
wait_turn() {
  for i in $(seq 1 6); do
    [ "$(pgrep -f 'java.*dev.align4j.cli.Main' | wc -l)" -lt 2 ] && return
    sleep 20
  done
}
run() {  # name, args...
  local name=$1; shift
  [ -f "out/lora/$name/final/README.md" ] && return
  wait_turn
  echo "$(date -u +%H:%M:%S) start $name" >&2
  "$A4J" "$@" --threads 1 --overwrite --output "out/lora/$name" > "out/lora/$name.log" 2>&1 || echo "FAILED $name" >&2
  echo "$(date -u +%H:%M:%S) end $name" >&2
}
mkdir -p out/lora
for s in ${SEEDS:-0 1 2}; do
  M=/work/models/arith-sft-$s
  run grpo-full-s$s grpo --model $M --task arithmetic --steps 40 --eval-prompts 200 --seed $s --lr 2e-4
  run grpo-lora-s$s grpo --model $M --task arithmetic --steps 40 --eval-prompts 200 --seed $s --lr 1e-3 $LORA
  run dpo-full-s$s  dpo  --model $M --task arithmetic --steps 60 --eval-prompts 200 --seed $s --lr 3e-4
  run dpo-lora-s$s  dpo  --model $M --task arithmetic --steps 60 --eval-prompts 200 --seed $s --lr 1.5e-3 $LORA
  run sft-full-s$s  sft  --model $M --task arithmetic --error-rate 0 --slip-rate 0 --steps 100 --examples 20000 --eval-prompts 200 --seed $s --lr 3e-4
  run sft-lora-s$s  sft  --model $M --task arithmetic --error-rate 0 --slip-rate 0 --steps 100 --examples 20000 --eval-prompts 200 --seed $s --lr 1.5e-3 $LORA
done
