"""Smoke runs of the benchmark scripts that have no command-line entry point of
their own (bench_render.py is run through `python -m torch_render bench` in
test_cli.py): they run, their per-window drawers draw what the op draws, and
they report every target line."""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def keep_threads():
    """The scripts set torch's thread count for their runs; the tests after these keep theirs."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def load(name: str):
    path = os.path.join(REPO, "benchmarks", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_ohlc_quick(capsys):
    pytest.importorskip("PIL")
    result = load("bench_ohlc").main(["--quick"])
    out = capsys.readouterr().out
    # The op's images equal the Pillow drawers' (the pandas one too when present).
    assert result["same"] is True
    assert "op >= 1000x pillow" in result["targets"]
    assert "op >= 0.2x fill_out" in result["targets"]
    assert "op_out (jkx_chart, out=) >= 0.2x fill_out" in result["targets"]
    for name, rate in result["rates"].items():
        assert rate > 0, name
    assert "target op >= 1000x pillow:" in out


def test_bench_ohlc_drawers_see_a_wrong_image():
    """The equality check can fail: a drawer fed other prices draws other images."""
    pytest.importorskip("PIL")
    bench = load("bench_ohlc")
    ohlc, vol, ma, _ = bench.load_windows(4)
    import numpy as np

    a = bench.pillow_drawer(ohlc, vol, ma)
    shifted = ohlc.copy()
    shifted[:, 5, 1] += (ohlc[:, :, 1].max() - ohlc[:, :, 2].min())  # a taller high in bar 5
    assert not np.array_equal(a, bench.pillow_drawer(shifted, vol, ma))


def test_bench_backward_quick(capsys):
    assert load("bench_backward").main(["--quick", "--sizes", "32x48", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "backward" in out and ("PASS" in out or "MISS" in out)


def build_harness(name, tmp_path):
    """Compiles benchmarks/cpp/NAME.cpp with the kernels' AVX2 files into tmp_path
    (skips without a C++ compiler); returns the executable."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    exe = tmp_path / name
    sources = [os.path.join(REPO, "benchmarks", "cpp", f"{name}.cpp")]
    sources += sorted(glob.glob(os.path.join(REPO, "kernels", "cpu", "*_avx2.cpp")))
    subprocess.run([cxx, "-O2", "-ffp-contract=off", "-I", REPO, *sources, "-o", str(exe)], check=True)
    return exe


def test_ohlc_kernel_harness_builds_and_agrees_across_isas(tmp_path):
    """benchmarks/cpp/ohlc_kernel.cpp compiles against the kernels as they are and
    draws the same images (its checksum) with the AVX2 and the baseline code."""
    exe = build_harness("ohlc_kernel", tmp_path)
    load("bench_ohlc").main(["--batch", "16", "--dump-windows", str(tmp_path)])
    sums = {}
    # The AVX2 raster also with non-temporal stores (what the op does for outputs of 8 MiB or more).
    for isa, stores in (("baseline", "cached"), ("avx2", "cached"), ("avx2", "stream")):
        env = dict(os.environ, TORCH_RENDER_CPU_ISA=isa)
        out = subprocess.run([str(exe), str(tmp_path), "16", "3", stores], env=env, check=True,
                             capture_output=True, text=True).stdout
        assert "ns per image" in out and (stores == "cached" or "streamed" in out), out
        sums[isa, stores] = out.split("checksum")[-1].strip()
    assert len(set(sums.values())) == 1, sums


def test_line_backward_kernel_harness_builds_and_both_passes_agree(tmp_path):
    """benchmarks/cpp/line_backward_kernel.cpp compiles against the kernels as they
    are, and its two pass-1 paths (plane by plane, primitive by primitive) give the
    same gradient bits on real windows."""
    exe = build_harness("line_backward_kernel", tmp_path)
    assert load("bench_backward").main(["--dump-windows", str(tmp_path)]) == 0
    for size in (("224", "224"), ("61", "300"), ("300", "45")):
        run = subprocess.run([str(exe), str(tmp_path), *size, "2"], capture_output=True, text=True)
        if run.returncode == 2 and "needs AVX2" in run.stderr:
            pytest.skip("no AVX2 on this CPU")
        assert run.returncode == 0, run.stderr
        assert "pass 1 by plane" in run.stdout, run.stdout
        sums = run.stdout.split("checksum by plane")[-1].split("by primitive")
        assert sums[0].strip() == sums[1].strip(), run.stdout
