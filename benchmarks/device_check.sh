#!/usr/bin/env bash
# The device check: everything a session with a CUDA device runs, as it is, in one go (under
# 8 minutes on an H100), with the figures appended to benchmarks/RESULTS.md:
#
#   1. gate       the fast engine on the device against the naive engine on the CPU
#                 (tests/test_device_gate.py: fp32 numerics, first step, ten steps, path,
#                 bit-identical repeats and identical copies)
#   2. benchmark  both engines side by side, M up to 40 (benchmarks/test_engines.py --gpu)
#   3. b4         one B4 configuration at paper scale (MLP L3, Fashion-MNIST, lr 1e-3, B=32,
#                 5 seeds, 20 epochs, 30,000 images per subset) through the claim suite, and its report
#   4. roofline   matmul rate and bandwidth of the device, and the B4 run against its roofline
#
# Usage:
#   benchmarks/device_check.sh [--device cuda|cpu] [--data-root DIR] [--results-file FILE] [--work-dir DIR] [--dry-run]
#
# --data-root names a folder holding fashion-mnist/ (the four IDX files of Debian's
# dataset-fashion-mnist, /usr/share/datasets/fashion-mnist/, which is the default). Without it the
# b4 and roofline steps are reported as skipped. --dry-run prints each step's command, then runs a
# tiny version of it (bundled data, one benchmark case, small sizes) and appends to a file in the
# work folder unless --results-file is given: `--device cpu --dry-run` checks the script on any machine.
# Steps that fail are reported as failed; the script goes on and exits 1 at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PYTHON=${PYTHON:-python}
DEVICE=cuda
DATA_ROOT=/usr/share/datasets
RESULTS_FILE=""
WORK_DIR=""
DRY_RUN=0
B4_ROW=B4-full-mlp_l3-fashion_mnist-lr1e-3-B32

while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --data-root) DATA_ROOT=$2; shift 2 ;;
    --results-file) RESULTS_FILE=$2; shift 2 ;;
    --work-dir) WORK_DIR=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "device_check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in cuda|cpu) ;; *) echo "device_check: --device must be cuda or cpu, got $DEVICE" >&2; exit 2 ;; esac

WORK_DIR=${WORK_DIR:-$(mktemp -d -t device-check.XXXXXX)}
mkdir -p "$WORK_DIR"
STORE=$WORK_DIR/store
if [[ -z "$RESULTS_FILE" ]]; then
  RESULTS_FILE=$([[ $DRY_RUN == 1 ]] && echo "$WORK_DIR/RESULTS.md" || echo benchmarks/RESULTS.md)
fi
GPU_FLAG=$([[ $DEVICE == cuda ]] && echo --gpu || true)
PYTEST=("$PYTHON" -m pytest -q -p no:cacheprovider)
declare -A STATUS SECONDS_TAKEN

# run NAME FULL_COMMAND... -- TINY_COMMAND...: the full command, or under --dry-run print it and run the tiny one
run() {
  local name=$1; shift
  local full=() tiny=()
  while [[ $1 != -- ]]; do full+=("$1"); shift; done
  shift
  tiny=("$@")
  local command=("${full[@]}")
  if [[ $DRY_RUN == 1 ]]; then
    echo "== $name: would run: ${full[*]}"
    command=("${tiny[@]}")
  fi
  echo "== $name: running: ${command[*]}"
  local start=$SECONDS
  if "${command[@]}" > "$WORK_DIR/$name.log" 2>&1; then STATUS[$name]=passed; else STATUS[$name]="failed (exit $?)"; fi
  SECONDS_TAKEN[$name]=$((SECONDS - start))
  tail -n 40 "$WORK_DIR/$name.log"
  echo "== $name: ${STATUS[$name]} in ${SECONDS_TAKEN[$name]} s"
}

skip() {
  STATUS[$1]="skipped: $2"; SECONDS_TAKEN[$1]=0
  echo "== $1: ${STATUS[$1]}"
}

run gate "${PYTEST[@]}" tests/test_device_gate.py --device "$DEVICE" -rA \
  -- "${PYTEST[@]}" tests/test_device_gate.py --device "$DEVICE" -rA -k "numerics or identical_copies and mlp_l3"

run benchmark "${PYTEST[@]}" benchmarks/test_engines.py -p no:xdist --benchmark-only $GPU_FLAG \
  -- "${PYTEST[@]}" benchmarks/test_engines.py -p no:xdist --benchmark-only $GPU_FLAG -k "mlp_l1-1-32-same-fast"

FASHION_FOUND=yes
if [[ $DRY_RUN == 0 ]]; then
  FASHION_FOUND=$("$PYTHON" -c "import sys; from lmc_bench.claims import dataset_problem; print(dataset_problem('fashion_mnist', sys.argv[1]) or 'yes')" "$DATA_ROOT")
fi
if [[ $FASHION_FOUND == yes ]]; then
  run b4 "${PYTEST[@]}" claims/test_beyond_paper.py --tier full --device "$DEVICE" -k "$B4_ROW" --data-root "$DATA_ROOT" --results-dir "$STORE" \
    -- "$PYTHON" -m lmc_bench.cli run --model mlp_l3 --dataset digits_bundled --epochs 1 --seeds 1 20 --device "$DEVICE" --results-dir "$STORE"
  if [[ ${STATUS[b4]} == "failed (exit 1)" ]]; then STATUS[b4]="ran; the claim's verdict failed (a finding: see the report)"; fi
  if [[ $DRY_RUN == 0 ]]; then "$PYTHON" -m lmc_bench.cli report --results-dir "$STORE" --report-dir "$WORK_DIR/report" > /dev/null; fi
  run roofline "$PYTHON" benchmarks/roofline.py --results-dir "$STORE" --device "$DEVICE" --breakdown --data-root "$DATA_ROOT" \
    -- "$PYTHON" benchmarks/roofline.py --results-dir "$STORE" --device "$DEVICE" --breakdown --matmul-size 256 --bandwidth-megabytes 8
else
  skip b4 "$FASHION_FOUND"
  skip roofline "no B4 run"
fi

"$PYTHON" - "$DEVICE" "$STORE" "$WORK_DIR" <<'PY'
import sys
from pathlib import Path

import torch

from benchmarks.conftest import device_description
from lmc_bench.store import ResultsStore

device, store, work = sys.argv[1:]
Path(work, "device.txt").write_text(f"{device_description(torch.device(device))}; torch {torch.__version__}")
lines = ["| run hash | seed | engine | device | wall (s) | barrier | Δ (pp) |", "|---|---|---|---|---|---|---|"]
for r in ResultsStore(store).records():
    m = r["metrics"]
    lines.append(f"| {r['hash']} | {r['spec']['seed']} | {r['engine']} | {r['device_name']} | {r['wall_seconds']:.1f} | "
                 f"{m['barrier']:.3f} | {m['delta']:.2f} |")
Path(work, "runs.md").write_text("\n".join(lines) + "\n")
PY
DEVICE_NAME=$(cat "$WORK_DIR/device.txt")
{
  echo
  echo "## Device check: $DEVICE_NAME, $(date -u +%Y-%m-%d)$([[ $DRY_RUN == 1 ]] && echo ' (dry run: tiny versions of the steps)')"
  echo
  echo "\`benchmarks/device_check.sh --device $DEVICE$([[ $DRY_RUN == 1 ]] && echo ' --dry-run')\`"
  echo
  echo "| step | status | seconds |"
  echo "|---|---|---|"
  for name in gate benchmark b4 roofline; do echo "| $name | ${STATUS[$name]} | ${SECONDS_TAKEN[$name]} |"; done
  echo
  echo "Gate: $(grep -E '(passed|failed|error)' "$WORK_DIR/gate.log" | tail -n 1)"
  grep -E '^FAILED' "$WORK_DIR/gate.log" | sed 's/^/- /' || true
  echo
  echo "Engine benchmark:"
  echo
  sed -n '/^device: /,$p' "$WORK_DIR/benchmark.log" | grep -E '^(device: |\||$)' || true
  if [[ -f "$WORK_DIR/b4.log" ]]; then
    echo
    echo "B4 configuration ($([[ $DRY_RUN == 1 ]] && echo 'dry run: MLP L3 on the bundled 8x8 digits, one epoch' || echo "$B4_ROW on Fashion-MNIST, 5 seeds, 20 epochs")), per run:"
    echo
    cat "$WORK_DIR/runs.md"
    if [[ -f "$WORK_DIR/report/report.md" ]]; then
      echo
      sed -n '/^### B4/,/^##/p' "$WORK_DIR/report/report.md" | grep -E '^\|' || true
    fi
  fi
  if [[ -f "$WORK_DIR/roofline.log" ]]; then
    echo
    grep -E '^(Roofline|Where|\|)' "$WORK_DIR/roofline.log" | sed -E 's/^(Roofline|Where)/\n\1/' || true
  fi
} >> "$RESULTS_FILE"
echo "== figures appended to $RESULTS_FILE; logs and the B4 report in $WORK_DIR"

for name in gate benchmark b4 roofline; do
  [[ ${STATUS[$name]} == passed || ${STATUS[$name]} == skipped* || ${STATUS[$name]} == ran* ]] || exit 1
done
