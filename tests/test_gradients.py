"""Gradients of render_line (docs/rendering.md "Gradients"): against autograd through
the float64 torch model of tests/grad_reference.py on real windows, against finite
differences, the cases with no gradient, determinism, dtypes and layouts, and PT2
(opcheck, torch.compile, export of the forward) with the backward op."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import torch_render
from grad_reference import render_line_f64
from torch_render import render_line

OP = torch.ops.torch_render.render_line
BACKWARD = torch.ops.torch_render.render_line_backward


def _walk(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (100.0 + torch.randn(*shape, generator=g, dtype=torch.float64).cumsum(-1)).to(dtype)


def _weights(shape, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64) * 2.0 - 1.0


def _op_grads(series, height, width, weights, value_range=None, dtype=torch.float32, **kw):
    """d sum(weights * image) / d (series, value_range) through render_line."""
    x = series.detach().clone().requires_grad_()
    vr = None if value_range is None else value_range.detach().clone().requires_grad_()
    img = render_line(x, height, width, value_range=vr, dtype=dtype, **kw)
    (img.double() * weights).sum().backward()
    return x.grad, (None if vr is None else vr.grad)


def _ref_grads(series, height, width, weights, value_range=None, **kw):
    x = series.detach().double().clone().requires_grad_()
    vr = None if value_range is None else value_range.detach().double().clone().requires_grad_()
    img = render_line_f64(x, height, width, value_range=vr, **kw)
    (img * weights).sum().backward()
    return x.grad, (None if vr is None else vr.grad)


def _rel_err(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.double() - want).norm() / want.norm())


@pytest.fixture(scope="module")
def real(btc_windows: np.ndarray) -> torch.Tensor:
    """8 real 100-minute BTC windows, float64."""
    return torch.from_numpy(btc_windows[::8].copy())


# ------------------------------------------------------ against the float64 model

REAL_CASES = [
    # (height, width, kwargs)
    (64, 96, dict()),
    (224, 224, dict()),
    (500, 800, dict()),
    (224, 224, dict(line_width=1.0)),
    (100, 160, dict(line_width=5.0, margin=2.5)),
    (120, 200, dict(line_width=2.0, margin=4.0, background=0.0, foreground=1.0)),
    (80, 120, dict(foreground=0.25, background=0.75)),
]


@pytest.mark.parametrize("height, width, kw", REAL_CASES, ids=[f"{h}x{w}-{i}" for i, (h, w, _) in enumerate(REAL_CASES)])
def test_matches_float64_model_on_real_windows(real, height, width, kw):
    x = real[:4] if height * width > 100_000 else real
    w = _weights((x.shape[0], 1, height, width))
    got, _ = _op_grads(x, height, width, w, **kw)
    want, _ = _ref_grads(x, height, width, w, **kw)
    assert want.norm() > 0
    assert _rel_err(got, want) <= 1e-3


@pytest.mark.parametrize("shape", ["per_image", "reversed"])
def test_value_range_gradients(real, shape):
    x = real[:6]
    lo = x.amin(-1) - 5.0
    hi = x.amax(-1) + 3.0
    vr = torch.stack([lo, hi], -1) if shape == "per_image" else torch.stack([hi, lo], -1)
    w = _weights((6, 1, 90, 140), seed=3)
    got_x, got_vr = _op_grads(x, 90, 140, w, value_range=vr)
    want_x, want_vr = _ref_grads(x, 90, 140, w, value_range=vr)
    assert got_vr.shape == vr.shape and got_vr.dtype == vr.dtype
    assert _rel_err(got_x, want_x) <= 1e-3
    assert _rel_err(got_vr, want_vr) <= 1e-3
    # Translation invariance: moving values and range together changes nothing.
    total = got_x.sum(-1) + got_vr.sum(-1)
    assert float(total.abs().max()) <= 1e-3 * float(got_x.abs().sum(-1).max())


def test_overlay_of_several_series(real):
    # Three series in one channel: nearest primitive over all of them; the range
    # over all of them (the gradient of the min and max goes to one series).
    x = torch.stack([real[:4], real[:4] * 1.001, real[4:8] * real[0, 0] / real[4:8, :1]], 1)
    w = _weights((4, 1, 120, 180), seed=4)
    got, _ = _op_grads(x, 120, 180, w)
    want, _ = _ref_grads(x, 120, 180, w)
    assert _rel_err(got, want) <= 1e-3


@pytest.mark.parametrize("range_shape", [None, "per_image", "per_series"])
def test_channels(real, range_shape):
    x = torch.stack([real[:3], real[3:6]], 1)  # [3, 2, 100]
    vr = None
    if range_shape == "per_image":
        vr = torch.stack([x.amin((1, 2)) - 1.0, x.amax((1, 2)) + 2.0], -1)
    elif range_shape == "per_series":
        vr = torch.stack([x.amin(-1) - 1.0, x.amax(-1) + 2.0], -1)
    w = _weights((3, 2, 70, 110), seed=5)
    got_x, got_vr = _op_grads(x, 70, 110, w, value_range=vr, channels=True)
    want_x, want_vr = _ref_grads(x, 70, 110, w, value_range=vr, channels=True)
    assert _rel_err(got_x, want_x) <= 1e-3
    if vr is not None:
        assert _rel_err(got_vr, want_vr) <= 1e-3


def test_ties_of_min_and_max_share_the_gradient():
    # Two values equal to the minimum and three to the maximum: torch.amin / amax
    # share their gradient evenly, and so does render_line. (No peak or valley is
    # symmetric: there, pixels below it are equally near both segments, a tie that
    # float rounding decides differently in float32 and float64.)
    x = torch.tensor([[1.0, 5.0, 2.0, 1.0, 3.0, 5.0, 2.5, 5.0, 4.0]], dtype=torch.float64)
    w = _weights((1, 1, 40, 50), seed=6)
    got, _ = _op_grads(x, 40, 50, w)
    want, _ = _ref_grads(x, 40, 50, w)
    assert _rel_err(got, want) <= 1e-3


def test_gaps_and_dots(real):
    x = real[:4].clone()
    x[0, 10] = float("nan")  # a gap
    x[1, 20:23] = float("inf")
    x[1, 24] = float("nan")  # 23 is a dot
    x[2, :] = float("nan")
    x[2, 50] = 7.0  # one finite value: flat, no gradient
    x[3, 0] = -float("inf")
    w = _weights((4, 1, 64, 96), seed=7)
    got, _ = _op_grads(x, 64, 96, w)
    want, _ = _ref_grads(x, 64, 96, w)
    assert torch.isfinite(got).all()
    assert (got[~torch.isfinite(x)] == 0).all()
    assert (got[2] == 0).all()
    assert got[1, 23] != 0  # the dot moves with its value
    assert _rel_err(got, want) <= 1e-3


# ------------------------------------------------------------ finite differences


def test_finite_differences_away_from_kinks():
    # Central differences of sum(w * image) in float64, at two step sizes: where they
    # agree, the pixels of that value are away from the kinks (ramp ends, changes of
    # the nearest primitive or of the min and max), and the gradient must match them.
    x = _walk(3, 24, seed=11)
    w = _weights((3, 1, 48, 72), seed=12)
    got, _ = _op_grads(x, 48, 72, w)

    def loss(v):
        with torch.no_grad():
            return float((render_line(v, 48, 72, dtype=torch.float64) * w).sum())

    def central(b, l, eps):
        up, down = x.clone(), x.clone()
        up[b, l] += eps
        down[b, l] -= eps
        return (loss(up) - loss(down)) / (2 * eps)

    kept = []
    for b in range(x.shape[0]):
        span = float(x[b].amax() - x[b].amin())
        for l in range(x.shape[1]):
            fd1, fd2 = central(b, l, 2e-4 * span), central(b, l, 1e-4 * span)
            if abs(fd1 - fd2) <= 3e-3 * (abs(fd1) + 1e-3):
                kept.append((float(got[b, l]), fd2))
    assert len(kept) >= 0.7 * x.numel()
    g, fd = map(np.array, zip(*kept))
    assert np.linalg.norm(g - fd) <= 2e-3 * np.linalg.norm(fd)


# ------------------------------------------------------------ no gradient, no NaN


@pytest.mark.parametrize(
    "case",
    ["flat", "one_point", "aliased", "all_nan", "flat_range", "zero_height_plot"],
)
def test_zero_gradients(case):
    x = _walk(2, 30, seed=2)
    kw, height = {}, 40
    if case == "flat":
        x = torch.full((2, 30), 3.5, dtype=torch.float64)
    elif case == "one_point":
        x = x[:, :1]
    elif case == "aliased":
        kw = dict(antialias=False)
    elif case == "all_nan":
        x = torch.full((2, 30), float("nan"), dtype=torch.float64)
    elif case == "flat_range":
        kw = dict(value_range=torch.tensor([[2.0, 2.0], [1.0, 1.0]], dtype=torch.float64))
    elif case == "zero_height_plot":
        height, kw = 5, dict(margin=2.0)
    vr = kw.pop("value_range", None)
    got_x, got_vr = _op_grads(x, height, 50, _weights((2, 1, height, 50)), value_range=vr, **kw)
    assert torch.equal(got_x, torch.zeros_like(x))
    if vr is not None:
        assert torch.equal(got_vr, torch.zeros_like(vr))


@pytest.mark.parametrize("scale", [1e-300, 1e-6, 1e9, 1e300])
def test_never_nan_or_inf_at_any_price_level(scale):
    x = _walk(3, 50, seed=3)
    x[1, 5] = float("nan")
    w = _weights((3, 1, 60, 90))
    base, _ = _op_grads(x, 60, 90, w)
    got, _ = _op_grads(x * scale, 60, 90, w)
    assert torch.isfinite(got).all()
    # The image does not depend on the price level, so the gradient scales as 1 / level.
    assert _rel_err(got * scale, base) <= 1e-3


def test_extreme_value_range_stays_finite():
    x = _walk(2, 40, seed=4)
    vr = torch.tensor([[-1e300, 1e300], [-1.7e308, 1.7e308]], dtype=torch.float64)
    got_x, got_vr = _op_grads(x, 30, 40, _weights((2, 1, 30, 40)), value_range=vr)
    assert torch.isfinite(got_x).all() and torch.isfinite(got_vr).all()


# ------------------------------------------------------------ determinism


def test_bitwise_deterministic_across_runs_threads_and_batches(real):
    w = _weights((8, 1, 120, 200), seed=9)
    first, _ = _op_grads(real, 120, 200, w)
    threads = torch.get_num_threads()
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            again, _ = _op_grads(real, 120, 200, w)
            assert torch.equal(again, first)
    finally:
        torch.set_num_threads(threads)
    # An image's gradient does not depend on the rest of the batch, nor on the
    # CPU path: with AVX2 one image on one thread goes plane by plane, on two
    # threads by primitives (kernels/render_line_backward_cpu.h).
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            alone, _ = _op_grads(real[3:4], 120, 200, w[3:4])
            assert torch.equal(alone, first[3:4])
    finally:
        torch.set_num_threads(threads)


# ------------------------------------------------------------ dtypes and layouts


@pytest.mark.parametrize("in_dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("out_dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_dtypes(in_dtype, out_dtype):
    x = (_walk(2, 20, seed=5) / 50.0).to(in_dtype)
    vr = torch.tensor([[1.5, 2.5], [1.6, 2.4]], dtype=in_dtype)
    got_x, got_vr = _op_grads(x, 30, 40, _weights((2, 1, 30, 40)), value_range=vr, dtype=out_dtype)
    assert got_x.dtype == in_dtype and got_x.shape == x.shape
    assert got_vr.dtype == in_dtype and got_vr.shape == vr.shape
    want_x, want_vr = _ref_grads(x.double(), 30, 40, _weights((2, 1, 30, 40)), value_range=vr.double())
    # Half-precision outputs round the incoming gradient and the results.
    tol = 1e-3 if {in_dtype, out_dtype} <= {torch.float32, torch.float64} else 2e-2
    assert _rel_err(got_x, want_x) <= tol
    assert _rel_err(got_vr, want_vr) <= tol


def test_strided_views_and_broadcast_incoming_gradient():
    long = _walk(400, seed=6)
    leaf = long.clone().requires_grad_()
    windows = leaf.unfold(0, 50, 30)  # [12, 50] view, overlapping
    img = render_line(windows, 40, 60)
    img.sum().backward()  # the incoming gradient is an expanded tensor (stride 0)
    dense = long.unfold(0, 50, 30).contiguous().requires_grad_()
    render_line(dense, 40, 60).sum().backward()
    want = torch.zeros_like(long)
    for i in range(dense.shape[0]):
        want[i * 30 : i * 30 + 50] += dense.grad[i]
    assert torch.equal(leaf.grad, want)


def test_uint8_is_not_differentiable_and_out_form_refuses_grad():
    x = _walk(2, 10).requires_grad_()
    assert not render_line(x, 6, 7, dtype=torch.uint8).requires_grad
    with pytest.raises(RuntimeError, match="out= does not support automatic differentiation"):
        render_line(x, 6, 7, out=torch.empty(2, 1, 6, 7))


def test_line_chart_module_gradients_equal_the_ops():
    x = _walk(3, 2, 25, seed=8)
    w = _weights((3, 2, 32, 48))
    a = x.clone().requires_grad_()
    (torch_render.LineChart(32, 48, channels=True)(a).double() * w).sum().backward()
    got, _ = _op_grads(x, 32, 48, w, channels=True)
    assert torch.equal(a.grad, got)


def test_double_backward_raises():
    x = _walk(2, 12).requires_grad_()
    img = render_line(x, 16, 20)
    (g,) = torch.autograd.grad((img * img).sum(), x, create_graph=True)
    assert g.requires_grad
    with pytest.raises(NotImplementedError, match="render_line: double backward is not supported"):
        g.sum().backward()


# ------------------------------------------------------------ the backward op


def test_backward_op_checks_its_grad():
    x = _walk(2, 12)
    good = torch.zeros(2, 1, 16, 20)
    BACKWARD(good, x, 16, 20, 3.0, True, 0.0, None, False, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"render_line_backward: grad must have the shape of the image, \[2, 1, 16, 20\], got \[2, 1, 16, 21\]"):
        BACKWARD(torch.zeros(2, 1, 16, 21), x, 16, 20, 3.0, True, 0.0, None, False, 1.0, 0.0)
    with pytest.raises(TypeError, match="render_line_backward: grad must be a floating tensor .* got Byte"):
        BACKWARD(good.byte(), x, 16, 20, 3.0, True, 0.0, None, False, 1.0, 0.0)
    with pytest.raises(ValueError, match="render_line: series must be"):
        BACKWARD(good, x[0], 16, 20, 3.0, True, 0.0, None, False, 1.0, 0.0)
    gs, gr = BACKWARD(good, x, 16, 20, 3.0, True, 0.0, None, False, 1.0, 0.0)
    assert gs.shape == x.shape and gr.shape == (0,)


BACKWARD_SAMPLES = [
    ((torch.randn(3, 1, 8, 11), _walk(3, 10, dtype=torch.float32), 8, 11, 3.0, True, 0.0, None, False, 1.0, 0.0)),
    ((torch.randn(2, 3, 6, 9, dtype=torch.float64), _walk(2, 3, 7), 6, 9, 2.0, True, 1.0,
      torch.tensor([[[90.0, 110.0]] * 3] * 2), True, 0.0, 1.0)),
    ((torch.randn(2, 1, 5, 12).half(), _walk(2, 3, 7, dtype=torch.bfloat16), 5, 12, 3.0, True, 0.0,
      torch.tensor([[90.0, 110.0], [95.0, 105.0]], dtype=torch.float64), False, 1.0, 0.0)),
    ((torch.randn(0, 1, 4, 5), _walk(0, 6), 4, 5, 3.0, True, 0.0, None, False, 1.0, 0.0)),
]


@pytest.mark.parametrize("args", BACKWARD_SAMPLES, ids=["f32", "f64-channels-range", "f16-bf16-range", "B0"])
def test_opcheck_backward_op(args):
    torch.library.opcheck(BACKWARD.default, args)


OPCHECK_GRAD = [
    ((_walk(3, 10, dtype=torch.float32), 8, 11), {}),
    ((_walk(2, 3, 7), 6, 9), dict(channels=True, value_range=torch.tensor([[[90.0, 110.0]] * 3] * 2), dtype=torch.float64)),
    ((_walk(2, 12, dtype=torch.float16), 7, 7), dict(dtype=torch.bfloat16, line_width=1.0, margin=1.0)),
    ((_walk(64).unfold(0, 9, 4), 6, 10), dict(background=0.0, foreground=1.0)),
]


@pytest.mark.parametrize("args, kwargs", OPCHECK_GRAD, ids=["f32", "channels-range", "f16-bf16", "unfold"])
def test_opcheck_with_gradients(args, kwargs):
    # Every test_util, test_aot_dispatch_dynamic included: it compares the gradients
    # of the op traced by AOTAutograd with eager's.
    series = args[0].detach().requires_grad_()
    kw = dict(kwargs)
    if "value_range" in kw:
        kw["value_range"] = kw["value_range"].detach().requires_grad_()
    torch.library.opcheck(OP.default, (series,) + tuple(args[1:]), kw)


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_compile_loss_through_the_op(backend):
    x = _walk(4, 30, dtype=torch.float32, seed=13)
    w = _weights((4, 1, 24, 36)).float()

    def loss(series, value_range):
        img = render_line(series, 24, 36, value_range=value_range)
        return (img * w).sum()

    vr = torch.stack([x.amin(-1) - 1, x.amax(-1) + 1], -1)
    a, va = x.clone().requires_grad_(), vr.clone().requires_grad_()
    loss(a, va).backward()
    torch._dynamo.reset()
    compiled = torch.compile(loss, backend=backend, fullgraph=True)
    b, vb = x.clone().requires_grad_(), vr.clone().requires_grad_()
    compiled(b, vb).backward()
    assert torch.equal(a.grad, b.grad) and torch.equal(va.grad, vb.grad)


def test_scripted_and_exported_forward_unaffected(tmp_path):
    x = _walk(2, 20, dtype=torch.float32)
    scripted = torch.jit.script(torch_render.LineChart(16, 24))
    path = tmp_path / "chart.pt"
    scripted.save(str(path))
    loaded = torch.jit.load(str(path))
    a = x.clone().requires_grad_()
    loaded(a).sum().backward()  # TorchScript calls the op: its autograd kernel runs
    b = x.clone().requires_grad_()
    render_line(b, 16, 24).sum().backward()
    assert torch.equal(a.grad, b.grad)
    exported = torch.export.export(torch_render.LineChart(16, 24), (x,))
    assert torch.equal(exported.module()(x), render_line(x, 16, 24))
