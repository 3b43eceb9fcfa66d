"""The training example (examples/train_classifier.py): a few steps on the CPU, a
2-process torchrun with gloo, and its scripted model loaded back."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist

import torch_render  # noqa: F401  (registers the ops the scripted model calls)
from conftest import REPO, shared_csv
from torch_render.data import load_klines, windows
from torch_render.synthetic import synthetic_closes

# TorchScript is deprecated upstream but is a supported path here (DESIGN §1).
pytestmark = pytest.mark.filterwarnings("ignore:`torch\\.jit\\.:DeprecationWarning")

SCRIPT = os.path.join(REPO, "examples", "train_classifier.py")
# Small and short: the point is that every path runs, not that the model learns.
QUICK = ["--max-steps", "3", "--batch", "16", "--height", "32", "--width", "48"]
EPOCH_LINE = re.compile(
    r"epoch 1/1: train loss (\d+\.\d+) acc (\d+\.\d+) \| val loss (\d+\.\d+) acc (\d+\.\d+) .*"
    r"\| (\d+) images/s .*world size (\d+), per rank \[([\d, ]+)\]"
)


def run(args: list[str], cwd: str) -> subprocess.CompletedProcess:
    # One thread per process: the tests share the CPU (and with each other under
    # torchrun), and OpenMP spinning on an oversubscribed CPU is slow.
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def epoch_summary(stdout: str) -> tuple[float, float, float, float, int, int, list[int]]:
    match = EPOCH_LINE.search(stdout)
    assert match, f"no epoch summary in:\n{stdout}"
    losses_accs = [float(match.group(i)) for i in range(1, 5)]
    for value in losses_accs:
        assert 0 <= value < 100
    per_rank = [int(n) for n in match.group(7).split(",")]
    return (*losses_accs, int(match.group(5)), int(match.group(6)), per_rank)


def test_help() -> None:
    result = run([SCRIPT, "--help"], cwd=REPO)
    for option in ("--csv", "--device", "--max-steps", "--save", "500"):
        assert option in result.stdout


def test_trains_on_cpu_and_saves_a_scripted_model(tmp_path) -> None:
    """The default data (the bundled BTC file, or synthetic closes where it is absent)."""
    saved = tmp_path / "classifier.pt"
    result = run([SCRIPT, *QUICK, "--save", str(saved)], cwd=str(tmp_path))
    expected_source = "btcusdt" if shared_csv() else "synthetic minutes"
    assert expected_source in result.stdout
    *_, images_per_s, world, per_rank = epoch_summary(result.stdout)
    assert images_per_s > 0 and world == 1 and per_rank == [48]

    # The scripted model draws its own input: windows of closes in, logits out.
    model = torch.jit.load(str(saved), map_location="cpu")
    assert "torch_render.render_line" in model.chart.code
    if shared_csv():
        closes = load_klines(shared_csv()).close[:500]
    else:
        closes = synthetic_closes(1, 500)[0]
    batch = windows(closes, 100, step=50)  # [9, 100] float64, a strided view
    with torch.no_grad():
        logits = model(batch)
    assert logits.shape == (batch.shape[0], 2) and bool(logits.isfinite().all())
    assert not model.training


def test_trains_on_synthetic_closes(tmp_path) -> None:
    result = run([SCRIPT, *QUICK, "--synthetic", "--quiet", "--epochs", "1"], cwd=str(tmp_path))
    assert "synthetic minutes" in result.stdout
    epoch_summary(result.stdout)


@pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="torch.distributed with gloo is not available"
)
def test_torchrun_two_processes_gloo(tmp_path) -> None:
    result = run(
        ["-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone", SCRIPT, *QUICK],
        cwd=str(tmp_path),
    )
    *_, world, per_rank = epoch_summary(result.stdout)
    assert world == 2 and per_rank == [48, 48]  # both ranks drew and trained their batches
    assert result.stdout.count("epoch 1/1:") == 1  # only rank 0 reports
