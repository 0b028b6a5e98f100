#!/usr/bin/env python3
"""Main-code size per package: non-blank, non-comment, non-import lines of src/main/java at two revisions.
Usage (in the repository): python3 bench/loc.py BEFORE_REV AFTER_REV"""
import subprocess,sys,re,collections
def count(rev):
    files=subprocess.run(['git','ls-tree','-r','--name-only',rev,'src/main/java'],capture_output=True,text=True).stdout.split()
    res=collections.Counter()
    for f in files:
        if not f.endswith('.java'): continue
        txt=subprocess.run(['git','show',f'{rev}:{f}'],capture_output=True,text=True).stdout
        pkg='/'.join(f.split('/')[3:-1]) if False else f.split('/')[-2]
        n=0;inc=False
        for line in txt.splitlines():
            s=line.strip()
            if inc:
                if '*/' in s: inc=False
                continue
            if s.startswith('/*'):
                if '*/' not in s: inc=True
                continue
            if not s or s.startswith('//') or s.startswith('import ') or s.startswith('package '): continue
            n+=1
        res[pkg]+=n
    return res
a=count(sys.argv[1]); b=count(sys.argv[2])
for k in sorted(set(a)|set(b)):
    print(f"{k:12s} {a[k]:6d} {b[k]:6d} {b[k]-a[k]:+6d}")
print(f"{'total':12s} {sum(a.values()):6d} {sum(b.values()):6d} {sum(b.values())-sum(a.values()):+6d}")
