"""Per-step SFT losses of bench/bf16/run.sh's runs: max and mean |loss - fp32 loss| and seconds per step."""
import json, sys, pathlib

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "out/bf16")

def series(d):
    rows = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines() if l.strip()]
    loss = {r["step"]: r["loss"] for r in rows if r["stage"] == "sft" and "loss" in r}
    times = [r["time_s"] for r in rows if r["stage"] == "sft"]
    eval_rows = [r for r in rows if r["stage"] == "eval/sft"]
    st = json.loads((d / "checkpoint-200" / "trainer_state.json").read_text()) if (d / "checkpoint-200").exists() else {}
    s_per_step = (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else float("nan")
    return loss, s_per_step, (eval_rows[-1].get("accuracy") if eval_rows else None), st.get("compute_dtype")

for rep in (1, 2):
    base, t32, acc32, _ = series(out / f"r{rep}-float32")
    print(f"repeat {rep}: float32  {t32:.3f} s/step  final loss {base[200]:.4f}  accuracy {acc32}")
    for d in ("auto", "bfloat16"):
        p = out / f"r{rep}-{d}"
        if not p.exists():
            continue
        loss, t, acc, cd = series(p)
        diffs = [abs(loss[s] - base[s]) for s in base if s in loss]
        print(f"repeat {rep}: {d:9s}{t:.3f} s/step  final loss {loss[200]:.4f}  accuracy {acc}  computed in {cd}  "
              f"|loss - fp32| max {max(diffs):.4f} mean {sum(diffs) / len(diffs):.4f} over {len(diffs)} steps")
