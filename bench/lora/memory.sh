#!/usr/bin/env bash
# Peak memory of DPO with LoRA (r 16, alpha 32, all-linear) vs full DPO on the ~100M (medium) config, each arm in its own
# process so that neither sees the other's leftovers; batch 8 x 128 (the bench's default) and 4 x 64, each without and
# with gradient checkpointing (both arms alike). (docs/benchmarks.md, "Memory: DPO with LoRA adapters")
set -euo pipefail
A4J="${1:-./align4j}"
mkdir -p out/bench-lora
for shape in "8 128" "4 64"; do
  set -- $shape
  for gc in "" "--gradient-checkpointing"; do
    for arm in lora full; do
      "$A4J" bench --sizes none --memory-steps 0 --lora-memory medium --lora-steps 3 --lora-arm $arm $gc --train-batch $1 --seq-len $2 --threads 1 \
        --output out/bench-lora/medium-$arm-b$1-t$2${gc:+-gc}.json 2>&1 | grep -v '^{' >&2
    done
  done
done
python3 - <<'PY'
import json, glob
rows = {}
for f in sorted(glob.glob('out/bench-lora/medium-*.json')):
    r = json.load(open(f))['lora_dpo_memory']
    arm = 'lora_dpo' if 'lora_dpo' in r else 'full_dpo'
    rows[(r['batch'], r['seq_len'], r.get('gradient_checkpointing', False), arm)] = r[arm]['rss_mb_peak']
for (b, t, gc, arm), peak in sorted(rows.items()):
    if arm == 'lora_dpo' and (b, t, gc, 'full_dpo') in rows:
        full = rows[(b, t, gc, 'full_dpo')]
        print(f"{b} x {t}, gradient checkpointing {'on' if gc else 'off'}: LoRA {peak:.0f} MB / full {full:.0f} MB = {100 * peak / full:.1f}%")
PY
