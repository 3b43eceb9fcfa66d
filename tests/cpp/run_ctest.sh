#!/usr/bin/env bash
# Configures, builds (Ninja) and runs the C++ tests with CTest:
#   (a) build/cmake       the normal build: the kernel tests, the LibTorch operator
#                         library and its tests (LibTorch from the installed torch),
#                         the TorchScript tests (render_ohlc modules saved by
#                         $PYTHON, run from C++), the C++ example (a model
#                         scripted by $PYTHON, run from C++)
#   (b) build/cmake-asan  the torch-free kernel tests under AddressSanitizer and
#                         UndefinedBehaviorSanitizer
# Prints CTest's summary of each (the whole CTest log on failure) and exits non-zero
# if anything failed to configure, build or pass.
#
# Environment: PYTHON (the Python whose torch is used; default python3),
# JOBS (parallel compile and test jobs; default 2), BUILD_TYPE (default Release),
# TORCH_RENDER_WITH_CUDA=ON|OFF (compile the CUDA kernels into the normal build;
# default ON where nvcc and a CUDA build of torch are present; the CUDA op tests
# skip without a GPU).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
JOBS="${JOBS:-2}"
BUILD_TYPE="${BUILD_TYPE:-Release}"

if ! TORCH_PREFIX="$("$PYTHON" -c 'import torch;print(torch.utils.cmake_prefix_path)')"; then
  echo "run_ctest.sh: cannot import torch with $PYTHON" >&2
  exit 1
fi
# The example's model is saved by this Python (its torch, the package if installed).
PYTHON_EXE="$("$PYTHON" -c 'import sys;print(sys.executable)')"

failed=()

# run NAME BUILD_DIR CMAKE_ARGS...
run() {
  local name="$1" dir="$2"
  shift 2
  local start=$SECONDS
  echo "=== [$name] configure ($dir)"
  if ! cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@" >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"
    failed+=("$name: configure")
    return
  fi
  echo "=== [$name] build"
  if ! cmake --build "$dir" -j "$JOBS"; then
    failed+=("$name: build")
    return
  fi
  local built=$SECONDS
  echo "=== [$name] ctest"
  if ctest --test-dir "$dir" -j "$JOBS" --output-on-failure >"$dir/ctest.log" 2>&1; then
    sed -n '/tests passed/,$p' "$dir/ctest.log"
  else
    # The failing tests' output and the summary, without the lines of passing tests.
    grep -vE '^ +Start +[0-9]+:|Test +#[0-9]+: .* (Passed|Not Run)' "$dir/ctest.log"
    failed+=("$name: ctest")
  fi
  echo "=== [$name] build $((built - start)) s, tests $((SECONDS - built)) s"
}

# CUDA by default wherever it can be built (nvcc and a CUDA build of torch), so a
# compile or link error in CUDA code fails here even with no GPU.
if [[ -z "${TORCH_RENDER_WITH_CUDA:-}" ]]; then
  TORCH_RENDER_WITH_CUDA=OFF
  if command -v nvcc >/dev/null 2>&1 && "$PYTHON" -c 'import sys, torch; sys.exit(torch.version.cuda is None)'; then
    TORCH_RENDER_WITH_CUDA=ON
  fi
fi

mkdir -p build
run "normal" build/cmake -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DPython3_EXECUTABLE="$PYTHON_EXE" \
  -DTORCH_RENDER_WITH_CUDA="$TORCH_RENDER_WITH_CUDA"
run "asan+ubsan" build/cmake-asan -DTORCH_RENDER_SANITIZE=ON -DTORCH_RENDER_WITH_TORCH=OFF

if ((${#failed[@]})); then
  printf 'run_ctest.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "run_ctest.sh: all C++ tests passed"
