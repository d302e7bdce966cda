#!/usr/bin/env bash
# The published B4 run, in one command: the MNIST rows of Table VI (MLP L1 W587 and MLP L3, with and
# without BatchNorm, at their Table VI learning rates, B = 32 and 1024) on Fashion-MNIST, five seeds,
# 20 epochs, 30,000 images per subset, trained on the CPU; then
#   - the report, RUN.md (date, device, command, per-row wall time, run hashes) and the run records
#     in docs/results/b4-fashion-mnist/ (benchmarks/publish_results.py),
#   - the roofline of every configuration, with where the time goes, appended to benchmarks/RESULTS.md
#     (benchmarks/roofline.py).
# Run it on an otherwise idle machine: the wall times are part of what is published.
#
#   benchmarks/b4_fashion_mnist.sh [--fresh] [--data-root DIR] [--results-dir DIR] [--out DIR]
#
# --data-root holds fashion-mnist/ (default /usr/share/datasets: Debian's dataset-fashion-mnist).
# Runs already in the results store (default .lmc-results-b4) are not trained again; --fresh empties
# it first, so that the published wall times are those of training.
set -euo pipefail

cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PYTHON=${PYTHON:-python}
DATA_ROOT=/usr/share/datasets
RESULTS_DIR=.lmc-results-b4
OUT=docs/results/b4-fashion-mnist
FRESH=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data-root) DATA_ROOT=$2; shift 2 ;;
    --results-dir) RESULTS_DIR=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --fresh) FRESH=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "b4_fashion_mnist: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $FRESH == 1 ]] && rm -rf "$RESULTS_DIR"

CLAIMS=("$PYTHON" -m pytest claims/test_beyond_paper.py --tier full --device cpu --data-root "$DATA_ROOT"
        --results-dir "$RESULTS_DIR" -v -p no:cacheprovider)
echo "== claims: ${CLAIMS[*]}"
start=$SECONDS
status=0
"${CLAIMS[@]}" || status=$?
elapsed=$((SECONDS - start))
echo "== claims: pytest exit status $status after $elapsed s (1: some row did not follow the MNIST verdict)"
[[ $status -le 1 ]] || exit "$status"

"$PYTHON" benchmarks/publish_results.py --results-dir "$RESULTS_DIR" --out "$OUT" --claims-seconds "$elapsed" \
  --command "benchmarks/b4_fashion_mnist.sh --data-root $DATA_ROOT"
{
  echo
  echo "## B4 on Fashion-MNIST against its roofline ($(date -u +%Y-%m-%d))"
  echo
  echo "\`benchmarks/b4_fashion_mnist.sh\`: the claim tests took $elapsed s; report in \`$OUT/\`."
} >> benchmarks/RESULTS.md
"$PYTHON" benchmarks/roofline.py --results-dir "$RESULTS_DIR" --dataset fashion_mnist --breakdown --data-root "$DATA_ROOT" \
  --append benchmarks/RESULTS.md
echo "== done: $OUT/RUN.md, $OUT/report.md; roofline appended to benchmarks/RESULTS.md"
exit "$status"
