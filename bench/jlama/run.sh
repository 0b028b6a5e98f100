#!/usr/bin/env bash
# Jlama side-by-side: batch-1 greedy generation tokens/s and numerics on the same HF-layout model.
# Needs a Java 21+ JDK (default: the Temurin 25 JDK these machines have). Usage:
#   bench/jlama/run.sh [--sizes tiny,small,medium] [--tokens 64] [--repeats 5] [--jlama-q8] [--output out/jlama.json]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$root/align4j" --version >/dev/null            # builds target/align4j.jar when sources changed
export JAVA_HOME="${JLAMA_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
[[ -x "$JAVA_HOME/bin/java" ]] || { echo "bench/jlama: no JDK 21+ at $JAVA_HOME (set JLAMA_JAVA_HOME)" >&2; exit 2; }
if [[ ! -f "$here/target/classpath.txt" || -n "$(find "$here/src" "$here/pom.xml" "$root/target/align4j.jar" -newer "$here/target/classpath.txt" -print -quit)" ]]; then
  (cd "$here" && mvn -q -B package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime >&2)
fi
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
# align4j's own classpath first: where both depend on a library (Jackson, Jinjava) its newer version wins
cd "$root"
exec "$JAVA_HOME/bin/java" -Xmx8g --add-modules jdk.incubator.vector --enable-preview --enable-native-access=ALL-UNNAMED \
  -cp "$root/target/align4j.jar:$(cat "$root/target/classpath.txt"):$here/target/align4j-jlama-bench-0.1.0-SNAPSHOT.jar:$(cat "$here/target/classpath.txt")" \
  dev.align4j.jlama.Compare "$@"
