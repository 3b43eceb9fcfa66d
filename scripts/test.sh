#!/usr/bin/env bash
# The whole test suite: installs the pinned test environment, builds the
# extension, runs pytest, then builds and runs the C++ tests with CTest (normal and
# AddressSanitizer + UndefinedBehaviorSanitizer builds). Exits non-zero on any failure.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
install_requirements requirements/test.txt
"$PY" -m pytest -q tests
PYTHON="$PY" bash tests/cpp/run_ctest.sh
