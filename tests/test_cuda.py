"""render_line on CUDA: the same contract and the same float32 bits as the CPU.

Every test here needs a GPU and skips with the reason where none is present; the
CUDA code itself is also checked without a GPU by tests/cpp/test_cuda_emulation.cpp.
"""

from __future__ import annotations

import pytest
import torch

import torch_render

requires_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device (CUDA code is checked by launch emulation)"
)
requires_cuda_build = pytest.mark.skipif(
    not torch_render.cuda_built(), reason="torch_render was built without CUDA"
)
pytestmark = [pytest.mark.cuda, requires_cuda, requires_cuda_build]

OUT_DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.uint8]
IN_DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]


def _walks(batch: int, series: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, series, length, generator=g, dtype=torch.float64).cumsum(-1) + 100
    x[:, :, 7::23] = float("nan")  # gaps and isolated points
    return x


CASES = [
    dict(shape=(8, 1, 100), size=(500, 800), opts={}),
    dict(shape=(5, 1, 100), size=(224, 224), opts=dict(antialias=False)),
    dict(shape=(4, 3, 37), size=(61, 97), opts=dict(channels=True, margin=2.5, line_width=1.5)),
    dict(shape=(3, 2, 1000), size=(64, 64), opts=dict(line_width=0.5)),
    dict(shape=(2, 1, 1), size=(9, 9), opts={}),
    dict(shape=(3, 1, 50), size=(33, 257), opts=dict(background=0.0, foreground=1.0)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['shape']}-{c['size']}")
@pytest.mark.parametrize("in_dtype", IN_DTYPES)
def test_cuda_float32_bits_equal_cpu(case, in_dtype):
    x = _walks(*case["shape"]).to(in_dtype)
    if case["shape"][1] == 1 and not case["opts"].get("channels"):
        x = x[:, 0]
    cpu = torch_render.render_line(x, *case["size"], **case["opts"])
    gpu = torch_render.render_line(x.cuda(), *case["size"], **case["opts"])
    assert gpu.device.type == "cuda" and gpu.is_contiguous()
    assert torch.equal(gpu.cpu().view(torch.int32), cpu.view(torch.int32))


@pytest.mark.parametrize("dtype", OUT_DTYPES)
def test_cuda_every_output_dtype_equals_cpu(dtype):
    x = _walks(4, 1, 100)[:, 0]
    cpu = torch_render.render_line(x, 100, 160, dtype=dtype)
    gpu = torch_render.render_line(x.cuda(), 100, 160, dtype=dtype)
    assert gpu.dtype == dtype
    assert torch.equal(gpu.cpu(), cpu)


def test_cuda_value_range_and_unfold_view():
    long = _walks(1, 1, 1000)[0, 0].cuda()
    windows = long.unfold(0, 100, 7)  # a strided view, not a copy
    assert not windows.is_contiguous()
    lo = torch.nan_to_num(windows, nan=1e9).amin(-1)
    vr = torch.stack([lo - 1, lo + 5], -1)
    gpu = torch_render.render_line(windows, 120, 200, value_range=vr)
    cpu = torch_render.render_line(windows.cpu(), 120, 200, value_range=vr.cpu())
    assert torch.equal(gpu.cpu(), cpu)


def test_cuda_out_form_and_unaligned_out():
    x = _walks(3, 1, 64)[:, 0]
    cpu = torch_render.render_line(x, 31, 45)
    out = torch.empty(3, 1, 31, 45, device="cuda")
    assert torch_render.render_line(x.cuda(), 31, 45, out=out) is out
    assert torch.equal(out.cpu(), cpu)
    # A contiguous view starting one element into its storage: not 16-byte aligned.
    flat = torch.empty(1 + cpu.numel(), device="cuda")
    shifted = flat[1:].view(3, 1, 31, 45)
    torch_render.render_line(x.cuda(), 31, 45, out=shifted)
    assert torch.equal(shifted.cpu(), cpu)


def test_cuda_empty_batch_launches_nothing():
    out = torch_render.render_line(torch.empty(0, 10, device="cuda"), 20, 30)
    assert out.shape == (0, 1, 20, 30) and out.device.type == "cuda"


def test_cuda_non_default_stream():
    x = _walks(16, 1, 100)[:, 0]
    cpu = torch_render.render_line(x, 128, 128)
    xs = x.cuda()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        out = torch_render.render_line(xs, 128, 128)
    torch.cuda.current_stream().wait_stream(stream)
    assert torch.equal(out.cpu(), cpu)


def test_cuda_no_host_synchronisation():
    x = _walks(8, 2, 100).cuda()
    vr = torch.tensor([[90.0, 110.0]] * 8, device="cuda")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        torch_render.render_line(x, 64, 96, value_range=vr, dtype=torch.uint8)
        torch_render.render_line(x, 64, 96, channels=True)
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_cuda_graph_capture_and_replay():
    static_in = _walks(4, 1, 100)[:, 0].cuda()
    static_out = torch.empty(4, 1, 64, 64, device="cuda")
    torch_render.render_line(static_in, 64, 64, out=static_out)  # warm up the allocator
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        torch_render.render_line(static_in, 64, 64, out=static_out)
    new = _walks(4, 1, 100, seed=5)[:, 0]
    static_in.copy_(new)
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(static_out.cpu(), torch_render.render_line(new, 64, 64))


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_cuda_second_device():
    x = _walks(2, 1, 100)[:, 0]
    out = torch_render.render_line(x.to("cuda:1"), 50, 80)
    assert out.device == torch.device("cuda:1")
    assert torch.equal(out.cpu(), torch_render.render_line(x, 50, 80))


def test_cuda_mismatched_devices_are_rejected():
    x = _walks(2, 1, 10)[:, 0].cuda()
    with pytest.raises(RuntimeError, match="render_line: value_range must be on the device"):
        torch_render.render_line(x, 8, 8, value_range=torch.zeros(2, 2))
    with pytest.raises(RuntimeError, match="render_line: out must be on the device"):
        torch_render.render_line(x, 8, 8, out=torch.empty(2, 1, 8, 8))


def _render_fn(x: torch.Tensor) -> torch.Tensor:
    return torch.ops.torch_render.render_line(x, 48, 64, line_width=2.0)


def test_cuda_torch_compile():
    x = _walks(4, 1, 100)[:, 0].cuda().float()
    compiled = torch.compile(_render_fn, fullgraph=True, backend="aot_eager")
    assert torch.equal(compiled(x), _render_fn(x))


def test_cuda_torchscript(tmp_path):
    x = _walks(4, 1, 100)[:, 0].cuda().float()
    scripted = torch.jit.script(_render_fn)
    path = tmp_path / "render.pt"
    torch.jit.save(scripted, str(path))
    loaded = torch.jit.load(str(path))
    assert torch.equal(loaded(x), _render_fn(x))


# ------------------------------------------------------------------ gradients


def _grads(x, size, weights, value_range=None, **opts):
    leaf = x.detach().clone().requires_grad_()
    vr = None if value_range is None else value_range.detach().clone().requires_grad_()
    img = torch_render.render_line(leaf, *size, value_range=vr, **opts)
    (img.double() * weights).sum().backward()
    return leaf.grad, (None if vr is None else vr.grad)


@pytest.mark.parametrize("case", [c for c in CASES if c["opts"].get("antialias", True)],
                         ids=lambda c: f"{c['shape']}-{c['size']}")
@pytest.mark.parametrize("in_dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_cuda_gradients_bits_equal_cpu(case, in_dtype):
    x = _walks(*case["shape"]).to(in_dtype)
    channels = case["opts"].get("channels", False)
    if case["shape"][1] == 1 and not channels:
        x = x[:, 0]
    C = case["shape"][1] if channels else 1
    g = torch.Generator().manual_seed(1)
    w = torch.rand(case["shape"][0], C, *case["size"], generator=g, dtype=torch.float64) - 0.5
    cpu, _ = _grads(x, case["size"], w, **case["opts"])
    gpu, _ = _grads(x.cuda(), case["size"], w.cuda(), **case["opts"])
    assert gpu.device.type == "cuda" and gpu.dtype == in_dtype
    assert torch.equal(gpu.cpu(), cpu)


def test_cuda_value_range_gradients_and_determinism():
    x = _walks(6, 2, 100)
    vr = torch.stack([x.nan_to_num(1e9).amin(-1) - 1, x.nan_to_num(-1e9).amax(-1) + 1], -1)
    w = torch.rand(6, 2, 90, 140, dtype=torch.float64)
    cpu_x, cpu_vr = _grads(x, (90, 140), w, value_range=vr, channels=True)
    runs = [_grads(x.cuda(), (90, 140), w.cuda(), value_range=vr.cuda(), channels=True) for _ in range(3)]
    for gx, gvr in runs:
        assert torch.equal(gx.cpu(), cpu_x) and torch.equal(gvr.cpu(), cpu_vr)


def test_cuda_backward_no_host_synchronisation():
    x = _walks(8, 1, 100)[:, 0].cuda().requires_grad_()
    w = torch.rand(8, 1, 64, 96, device="cuda")
    img = torch_render.render_line(x, 64, 96)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        (img * w).sum().backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(x.grad).all()
