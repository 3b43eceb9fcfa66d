"""The CPU kernel's instruction-set copies give the same bits.

The best copy the CPU supports (``torch_render.cpu_isa()``, AVX2 on most x86-64
machines) renders in this process; the portable baseline copy renders in a child
process started with ``TORCH_RENDER_CPU_ISA=baseline``. The C++ suite checks each
copy against the brute force (tests/cpp/test_render_line_cpu.cpp); this checks
the built extension end to end, on full-size charts.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import torch_render
from torch_render.synthetic import synthetic_closes

# (height, width, options) of the charts compared.
CASES = [
    (500, 800, {}),
    (224, 224, {"antialias": False}),
    (64, 64, {"line_width": 1.0}),
    (120, 333, {"background": 0.0, "foreground": 1.0, "margin": 4.0}),
]
DTYPES = [torch.float32, torch.uint8]

CHILD = r"""
import sys, torch, torch_render
series, cases, dtypes, path = torch.load(sys.argv[1])
outs = [torch_render.render_line(series, h, w, dtype=d, **kw) for h, w, kw in cases for d in dtypes]
torch.save((torch_render.cpu_isa(), outs), path)
"""


def _series() -> torch.Tensor:
    s = synthetic_closes(6, 100, seed=3)
    s[1, 40:43] = float("nan")  # a gap: dots and segment ends
    s[2] = s[2].round(decimals=0)  # flat runs: horizontal segments
    return s


def test_cpu_isa_is_reported() -> None:
    assert torch_render.cpu_isa() in ("avx2", "baseline")


def test_baseline_and_best_instruction_set_agree_bit_for_bit(tmp_path) -> None:
    if torch_render.cpu_isa() == "baseline":
        pytest.skip("this CPU or build has only the baseline copy: nothing to compare with")
    series = _series()
    args, out = tmp_path / "args.pt", tmp_path / "out.pt"
    torch.save((series, CASES, DTYPES, str(out)), args)
    env = dict(os.environ, TORCH_RENDER_CPU_ISA="baseline")
    subprocess.run([sys.executable, "-c", CHILD, str(args)], env=env, check=True, timeout=300)
    child_isa, child_outs = torch.load(out)
    assert child_isa == "baseline"
    here = [torch_render.render_line(series, h, w, dtype=d, **kw) for h, w, kw in CASES for d in DTYPES]
    for (h, w, kw), d, a, b in zip([c for c in CASES for _ in DTYPES], DTYPES * len(CASES), here, child_outs):
        assert a.dtype == b.dtype == d
        assert torch.equal(a, b), f"{h}x{w} {kw} {d}: {(a != b).sum().item()} elements differ"
        # Not blank: the line is drawn.
        assert (a != a.flatten()[0]).any()
