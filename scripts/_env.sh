# Sourced by the scripts: picks the Python to use and installs a requirements file.
# Inside an active virtualenv or conda env that environment is used; otherwise a
# .venv in the repository (seeing the system's site-packages, so an installed torch
# is reused instead of downloaded again).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -n "${VIRTUAL_ENV:-}" || -n "${CONDA_PREFIX:-}" ]]; then
  PY="$(command -v python)"
else
  if [[ ! -x .venv/bin/python ]]; then
    "${PYTHON:-python3}" -m venv --system-site-packages .venv
  fi
  PY="$ROOT/.venv/bin/python"
fi
export MAX_JOBS="${MAX_JOBS:-$(nproc)}"

install_requirements() {
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$1"
  # --no-build-isolation: the extension must be built against the torch it runs with.
  "$PY" -m pip install --quiet --disable-pip-version-check --no-build-isolation -e .
}
