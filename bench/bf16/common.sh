# Sourced by bench/bf16/*.sh: runs align4j from a frozen copy of the built jar (OUT/jar), so that editing or rebuilding
# the worktree during a long measurement cannot change the code being measured; one thread everywhere.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$here"
[[ -f target/align4j.jar && -f target/classpath.txt ]] || mvn -q -B -DskipTests package >&2
mkdir -p "$out/jar"
[[ -f "$out/jar/align4j.jar" ]] || cp target/align4j.jar target/classpath.txt "$out/jar/"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"   # libtorch's --threads does not bound OpenBLAS's own pool
a4j() {
  java -Xmx8g -Xms64m -Xmn32m --add-opens=java.base/java.nio=ALL-UNNAMED -Djava.awt.headless=true \
    -cp "$out/jar/align4j.jar:$(cat "$out/jar/classpath.txt")" dev.align4j.cli.Main "$@"
}
