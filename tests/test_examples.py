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
from conftest import REPO, loop_moving_average, shared_csv
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
    assert "torch_render.ops.render_line" in model.chart.code  # LineChart calls the scripted wrapper
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


# --- --chart jkx: 20 one-minute bars, volume and a 20-bar moving average with history


def load_example():
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_classifier_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trains_on_jkx_charts(tmp_path) -> None:
    result = run([SCRIPT, "--chart", "jkx", "--max-steps", "3", "--batch", "16", "--quiet"], cwd=str(tmp_path))
    assert "JKXClassifier" in result.stdout and "64x60 JKX charts (jkx_chart)" in result.stdout
    assert "windows of 20 bars (OHLC, volume, 20-bar MA)" in result.stdout
    *_, images_per_s, world, per_rank = epoch_summary(result.stdout)
    assert images_per_s > 0 and world == 1 and per_rank == [48]


def test_jkx_model_draws_the_windows_with_their_moving_average_history() -> None:
    example = load_example()
    args = example.build_parser().parse_args(["--chart", "jkx"])
    example.resolve_sizes(args)
    assert (args.length, args.height, args.width) == (20, 64, 60)
    series, closes, _ = example.load_series(args)
    assert series.shape == (6, closes.numel()) and series.dtype == torch.float32

    # The same minutes by hand: the file's columns (or the synthetic bars), the 20-value
    # mean by a plain loop over the float64 closes.
    if shared_csv():
        k = load_klines(shared_csv(), reindex=True)
        columns = [c.tolist() for c in (k.open, k.high, k.low, k.close, k.volume)]
        gap = (1679661600 - int(k.timestamp[0])) // 60  # 2023-03-24T12:40Z, 80 missing minutes
        starts = [0, 7, 1000, gap - 10, gap + 75, len(k) - 20]
    else:
        from torch_render.synthetic import synthetic_ohlcv

        ohlc, volume = synthetic_ohlcv(1, 66_000, seed=0)
        columns = [*(c.tolist() for c in ohlc[0].unbind(1)), volume[0].tolist()]
        starts = [0, 7, 1000, 30_000, 65_980]
    ma = loop_moving_average(columns[3], 20)
    rows = [[[col[s + j] for j in range(20)] for col in (*columns, ma)] for s in starts]
    expected_windows = torch.tensor(rows, dtype=torch.float64).to(torch.float32)  # [B, 6, 20]
    got_windows = windows(series, 20)[starts]
    torch.testing.assert_close(got_windows, expected_windows, rtol=0, atol=0, equal_nan=True)
    assert not expected_windows[2:3, 5].isnan().any()  # history: a full average from the first bar

    model = example.JKXClassifier(args.height)
    images = model.images(got_windows)
    ohlc = expected_windows[:, :4].transpose(1, 2)
    reference = torch_render.jkx_chart(ohlc, expected_windows[:, 4], expected_windows[:, 5:6])
    assert images.shape == (len(starts), 1, 64, 60) and images.dtype == torch.uint8
    assert torch.equal(images, reference)
    assert not torch.equal(images, torch_render.jkx_chart(ohlc, expected_windows[:, 4]))  # the MA is drawn
    with torch.no_grad():
        assert model(got_windows).shape == (len(starts), 2)


def test_jkx_refuses_sizes_and_save_it_cannot_do(tmp_path) -> None:
    example = load_example()
    for argv, message in (
        (["--chart", "jkx", "--length", "30"], "--chart jkx --length 30: give --height"),
        (["--chart", "jkx", "--width", "96"], "images are 3 * --length = 60 pixels wide, got --width 96"),
        (["--chart", "jkx", "--save", "m.pt"], "--save writes TorchScript of --chart line models only"),
    ):
        with pytest.raises(SystemExit, match=re.escape(message)):
            example.main(argv)


# ------------------------------------------------------------ examples/saliency.py

SALIENCY = os.path.join(REPO, "examples", "saliency.py")
SALIENCY_PNG = (1000, 700)  # FIGURE_INCHES * FIGURE_DPI in the script
# Integrated gradients over 1024 trapezoid steps: the sum of the attributions is
# within 5% of logit(x) - logit(baseline) (0.24% on the bundled data, seed 0).
IG_STEPS = 1024
IG_TOLERANCE = 0.05


def _saliency(tmp_path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    png, saved = tmp_path / "saliency.png", tmp_path / "attributions.pt"
    result = run([SALIENCY, "--out", str(png), "--attributions", str(saved), *extra], cwd=str(tmp_path))
    from PIL import Image

    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == SALIENCY_PNG
    return result, torch.load(saved)


def test_saliency_trains_and_attributes_through_the_renderer(tmp_path) -> None:
    result, saved = _saliency(tmp_path, "--max-steps", "20", "--steps", str(IG_STEPS))
    assert "completeness gap" in result.stdout
    gxi, ig, logits = saved["gradient_x_input"], saved["integrated_gradients"], saved["path_logits"]
    assert gxi.shape == ig.shape == (100,) and logits.shape == (IG_STEPS + 1,)
    for values in (gxi, ig):
        assert bool(values.isfinite().all()) and bool((values != 0).any())
    delta = float(logits[-1] - logits[0])  # logit(x) - logit(baseline)
    assert abs(delta) > 1e-4
    gap = float(ig.sum()) - delta
    assert abs(gap) <= IG_TOLERANCE * abs(delta), f"IG completeness gap {gap:+.3e} for a change of {delta:+.3e}"
    # The chart of a window does not move when the window is shifted or scaled, so the
    # model's own (autoscaled) gradient sums to 0 and is orthogonal to the closes.
    grad, x = saved["gradient_autoscaled"], saved["series"]
    assert abs(float(grad.sum())) <= 1e-6 * float(grad.abs().sum())
    assert abs(float(grad @ x)) <= 1e-6 * float(grad.abs() @ x.abs())


def test_saliency_loads_a_scripted_checkpoint(tmp_path) -> None:
    """The --save output of train_classifier.py (here an untrained one, scripted)."""
    sys.path.insert(0, os.path.join(REPO, "examples"))
    try:
        from train_classifier import ChartClassifier
    finally:
        sys.path.pop(0)
    torch.manual_seed(1)
    checkpoint = tmp_path / "classifier.pt"
    torch.jit.save(torch.jit.script(ChartClassifier(32, 48).eval()), str(checkpoint))
    result, saved = _saliency(
        tmp_path, "--checkpoint", str(checkpoint), "--max-steps", "2", "--steps", "64", "--window", "1000"
    )
    assert "32x48 charts" in result.stdout and saved["window"] == 1000
    assert bool(saved["integrated_gradients"].isfinite().all())
    assert bool((saved["gradient_x_input"] != 0).any())
