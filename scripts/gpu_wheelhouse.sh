#!/usr/bin/env bash
# Downloads, here (with network), the wheels of the test modules that
# scripts/gpu_check.sh installs on a GPU machine without network: pytest,
# hypothesis, numpy, expecttest and what they need, for the GPU machines' Python
# (3.12 by default) on x86_64 Linux. The folder travels with the working tree
# (e.g. the device tool's `carry`); point TORCH_RENDER_WHEELHOUSE at it there.
#
# Usage: bash scripts/gpu_wheelhouse.sh [DIR (default: wheelhouse)] [PYTHON_VERSION (default: 3.12)]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DIR="${1:-wheelhouse}"
PYVER="${2:-3.12}"
python3 -m pip download --quiet --dest "$DIR" --only-binary=:all: \
  --python-version "$PYVER" --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_28_x86_64 --platform any \
  pytest hypothesis numpy expecttest
echo "wheels for Python $PYVER in $DIR: $(ls "$DIR" | wc -l) files, $(du -sh "$DIR" | cut -f1)"
