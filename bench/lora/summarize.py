#!/usr/bin/env python3
"""Per-seed held-out accuracy of the runs of bench/lora/run.sh: start (GRPO's step-0 evaluation on the same prompts), full, LoRA."""
import json, os, statistics as st
def evals(name):
    p = f"out/lora/{name}/metrics.jsonl"
    if not os.path.exists(p): return None
    rows = [json.loads(l) for l in open(p) if l.strip()]
    ev = [r for r in rows if r["stage"].startswith("eval/")]
    return ev
def final(name):
    ev = evals(name)
    if not ev: return None
    last = max(ev, key=lambda r: r["step"])
    return last["accuracy"] if last["step"] > 0 else None
def start(s):
    for m in ("full", "lora"):
        ev = evals(f"grpo-{m}-s{s}")
        if ev:
            z = [r for r in ev if r["step"] == 0]
            if z: return z[0]["accuracy"]
    return None
def fmt(x): return "—" if x is None else f"{100*x:.1f}"
print("| method | seed | start | full | LoRA | LoRA − full |")
print("| --- | --- | --- | --- | --- | --- |")
for method in ("sft", "dpo", "grpo"):
    fulls, loras = [], []
    for s in (0, 1, 2):
        a, f, l = start(s), final(f"{method}-full-s{s}"), final(f"{method}-lora-s{s}")
        if f is not None: fulls.append(f)
        if l is not None: loras.append(l)
        d = None if f is None or l is None else l - f
        print(f"| {method} | {s} | {fmt(a)} | {fmt(f)} | {fmt(l)} | {'—' if d is None else f'{100*d:+.1f}'} |")
    if fulls and loras:
        print(f"| {method} | mean [min, max] | | {100*st.mean(fulls):.1f} [{100*min(fulls):.1f}, {100*max(fulls):.1f}] | {100*st.mean(loras):.1f} [{100*min(loras):.1f}, {100*max(loras):.1f}] | |")
