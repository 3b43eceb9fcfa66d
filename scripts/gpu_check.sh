#!/usr/bin/env bash
# The GPU check, in one call on a machine with an NVIDIA GPU (made for the lent
# H200 machines: Python 3.12 and torch 2.11.0+cu130 preinstalled, no network, so
# nothing here downloads anything):
#   1. builds the extension in place for the GPU present (TORCH_CUDA_ARCH_LIST from
#      the device; CUDA required),
#   2. runs the CUDA pytest cases (tests/test_cuda.py and every test named or
#      marked cuda),
#   3. builds the LibTorch library and the GoogleTest suite with CUDA and runs the
#      op tests (the CUDA ones among them),
#   4. runs the benchmark's GPU section (torch_render only, short measurements).
# Each step writes its log to LOGDIR; a summary is printed at the end and written
# to LOGDIR/summary.txt. Without a GPU it builds, says so and exits 0.
#
# Usage: bash scripts/gpu_check.sh LOGDIR
# Environment: PYTHON (default python3), TORCH_RENDER_WHEELHOUSE (a folder of
# wheels, e.g. made by scripts/gpu_wheelhouse.sh, installed with --no-index for the
# test modules the machine lacks), MAX_JOBS (default: all cores).
# Exit status: 0 when every step that applies passed, 1 otherwise.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1
LOGDIR="${1:?usage: bash scripts/gpu_check.sh LOGDIR}"
mkdir -p "$LOGDIR"
LOGDIR="$(cd "$LOGDIR" && pwd)"
PY="${PYTHON:-python3}"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
SUMMARY="$LOGDIR/summary.txt"
: >"$SUMMARY"
status=0

note() { echo "$*" | tee -a "$SUMMARY"; }
# step NAME LOGFILE COMMAND...: runs, times and records one step.
step() {
  local name="$1" log="$LOGDIR/$2"
  shift 2
  local start=$SECONDS
  echo "=== gpu_check: $name (log: $log)"
  if "$@" >"$log" 2>&1; then
    note "PASS  $name ($((SECONDS - start)) s)"
  else
    note "FAIL  $name ($((SECONDS - start)) s): see $log"
    tail -n 30 "$log"
    status=1
  fi
}

"$PY" - <<'EOF' | tee -a "$SUMMARY"
import platform, torch
print(f"python {platform.python_version()}, torch {torch.__version__} (CUDA {torch.version.cuda})")
if torch.cuda.is_available():
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        print(f"GPU {i}: {p.name}, {p.total_memory / 2**30:.0f} GiB, sm_{p.major}{p.minor}")
EOF
has_gpu=0
if "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  has_gpu=1
  # Build for the GPU present only (the fastest build that runs here).
  if [[ -z "${TORCH_CUDA_ARCH_LIST:-}" ]]; then
    TORCH_CUDA_ARCH_LIST="$("$PY" -c 'import torch; p = torch.cuda.get_device_capability(); print(f"{p[0]}.{p[1]}")')"
    export TORCH_CUDA_ARCH_LIST
  fi
  note "arch list: $TORCH_CUDA_ARCH_LIST"
fi

if [[ -n "${TORCH_RENDER_WHEELHOUSE:-}" ]]; then
  missing=()
  for module in pytest hypothesis numpy expecttest; do
    "$PY" -c "import $module" 2>/dev/null || missing+=("$module")
  done
  if ((${#missing[@]})); then
    step "install ${missing[*]} from $TORCH_RENDER_WHEELHOUSE" pip.log \
      "$PY" -m pip install --no-index --find-links "$TORCH_RENDER_WHEELHOUSE" "${missing[@]}"
  fi
fi

# 1. The extension, in place (no pip, no network), with the CUDA kernels.
if ((has_gpu)); then
  step "build the extension with CUDA" build.log \
    env TORCH_RENDER_FORCE_CUDA=1 "$PY" setup.py build_ext --inplace
else
  step "build the extension" build.log "$PY" setup.py build_ext --inplace
  note "no GPU: torch.cuda.is_available() is False here; built only, nothing run on a GPU"
  exit "$status"
fi

# 2. CUDA pytest cases.
if "$PY" -c 'import pytest' 2>/dev/null; then
  step "pytest: CUDA tests" pytest_cuda.log \
    "$PY" -m pytest -q -p no:cacheprovider -k cuda -rs tests
  grep -E '^[0-9]+ (passed|failed)|passed|failed' "$LOGDIR/pytest_cuda.log" | tail -n 1 | tee -a "$SUMMARY"
else
  note "FAIL  pytest: not installed (set TORCH_RENDER_WHEELHOUSE, see scripts/gpu_wheelhouse.sh)"
  status=1
fi

# 3. GoogleTest with CUDA, against the installed torch's LibTorch.
prefix="$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
if cmake --version >/dev/null 2>&1; then
  step "GoogleTest: configure + build with CUDA" ctest_build.log bash -c "
    cmake -S . -B build/gpu-check -DCMAKE_BUILD_TYPE=Release -DTORCH_RENDER_WITH_CUDA=ON \
      -DTORCH_RENDER_BUILD_EXAMPLES=OFF -DCMAKE_PREFIX_PATH='$prefix' &&
    cmake --build build/gpu-check -j $MAX_JOBS"
  if [[ -x build/gpu-check/tests/cpp/torch_render_op_tests ]]; then
    step "GoogleTest: op tests (CUDA ones included)" ctest_run.log \
      build/gpu-check/tests/cpp/torch_render_op_tests
    grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$LOGDIR/ctest_run.log" | tee -a "$SUMMARY"
  fi
else
  note "FAIL  GoogleTest: cmake not found"
  status=1
fi

# 4. The benchmark's GPU section (torch_render rows only, short measurements).
step "benchmark: GPU section" bench_gpu.log \
  "$PY" benchmarks/bench_render.py --methods op_out,fill_out --threads 1 --no-memory \
    --check-images 0 --min-time 0.3 --gpu-min-time 0.5 --repeats 3 --markdown \
    --json "$LOGDIR/bench_gpu.json"

echo
echo "=== gpu_check summary ($SECONDS s)"
cat "$SUMMARY"
exit "$status"
