import json, glob, os, sys, statistics as st
# seconds per step (from the second logged step) of each run in out/ddp-scale, as bench/ddp/scale.sh writes them
rows = {}
for d in sorted(glob.glob(os.path.join(sys.argv[1] if len(sys.argv) > 1 else 'out/ddp-scale', '[tp]2-[0-9]'))):
    m = [json.loads(l) for l in open(os.path.join(d, 'metrics.jsonl')) if l.strip()]
    s = [r for r in m if r['stage'] in ('sft', 'grpo')]
    if len(s) < 2: continue
    first, last = s[0], s[-1]
    sps = (last['time_s'] - first['time_s']) / (last['step'] - first['step'])
    rows[os.path.basename(d)] = (sps, last.get('tokens_per_s', float('nan')), last['loss'])
    print(f"{os.path.basename(d)}: {sps:.3f} s/step (steps 2-{last['step']}), tokens_per_s {last.get('tokens_per_s', float('nan')):.0f}, loss@{last['step']} {last['loss']:.6f}")
for k in ('t2', 'p2'):
    v = [x[0] for n, x in rows.items() if n.startswith(k)]
    if v: print(k, 'mean s/step %.3f min %.3f max %.3f n=%d' % (st.mean(v), min(v), max(v), len(v)))
