#!/usr/bin/env bash
# Micro-benchmarks behind docs/benchmarks.md ("What changed, and why"). Usage, from the repository root:
#   bench/harness/run.sh Ops                                     # single libtorch calls at batch 1
#   bench/harness/run.sh dev.align4j.generate.ProfLoop tiny 1    # where a decode step goes (size, batch)
#   bench/harness/run.sh Fwd medium 4 128                        # no-grad trunk forward (size, batch, tokens)
#   bench/harness/run.sh -Dtrim=10 -Xmx8g -Xmn32m MemProbe 500   # RSS / Java heap per step of the memory check (-Dnmt=1 with -XX:NativeMemoryTracking=summary)
#   bench/harness/run.sh JitSpike                                # per-op cost: JavaCPP calls vs one TorchScript function
#   bench/harness/run.sh DecOps 64 768 2048 12 4                 # each decode-layer op alone (B H I heads kv-heads; medium at B=64)
#   bench/harness/run.sh -Dsteps=200 DecStep 1 384 1024 6 2 8 grouped-ln   # a decode step's ops in sequence (small, B=1)
#   bench/harness/run.sh Norms                                   # RMS-norm formulations; small-allocation cost
#   bench/harness/run.sh Gemm                                    # linear vs a transposed weight copy at decode batch sizes
#   bench/harness/run.sh Bw                                      # memory bandwidth (cold mv, copy, sum)
#   bench/harness/run.sh LayerStream 1 2 8 64                    # a medium decode step's products, weights streamed: OpenBLAS vs oneDNN packed
#   bench/harness/run.sh OnednnHead                              # the 32000 x 768 LM head: transposed copy vs oneDNN packed, 2-64 rows
#   bench/harness/run.sh PackCost medium                         # what remaking the packed decode weights costs after an update
#   bench/harness/run.sh Gen medium 3 1 8 64                     # sampler tokens/s, packed decoding off and on, round-robin
#   bench/harness/run.sh -Dsteps=20 DecStep 64 768 2048 12 4 12 grouped-packed   # a decode step's ops with packed products
#   bench/harness/run.sh Sdpa                                    # decode attention at B=64: threads and formulations
#   bench/harness/run.sh OpNames mkldnn                          # registered libtorch operators whose name contains the argument
# (Best.java: the best-of-rounds timing the single-call harnesses share)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[[ -f "$root/target/align4j.jar" ]] || (cd "$root" && mvn -q -B -DskipTests package)
cp="$root/target/align4j.jar:$(cat "$root/target/classpath.txt")"
out="$root/target/harness"
mkdir -p "$out"
javac -d "$out" -cp "$cp" $(find "$root/bench/harness" -name '*.java')
OMP_WAIT_POLICY=PASSIVE exec java -cp "$out:$cp" "$@"
