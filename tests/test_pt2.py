"""render_line under the PyTorch 2 stack and TorchScript (DESIGN §6):
torch.library.opcheck, torch.compile(fullgraph=True), torch.export and
torch.jit.script -> save -> load, each compared with eager."""

from __future__ import annotations

import re
from typing import Optional

import pytest
import torch
import torch._dynamo.testing

import torch_render

OP = torch.ops.torch_render.render_line

# TorchScript is deprecated upstream but is a supported path here (DESIGN §1).
pytestmark = pytest.mark.filterwarnings("ignore:`torch\\.jit\\.:DeprecationWarning")


def _x(*shape: int, dtype: torch.dtype = torch.float32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).cumsum(-1).to(dtype)


def _with_gaps(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    if x.shape[-1] >= 6:
        x[..., 2] = float("nan")
        x[..., -3] = float("inf")
    return x


# (args, kwargs) of the functional overload: shapes, input and output dtypes,
# value_range, channels, strided inputs, gaps, L == 1, empty batch.
SAMPLES = [
    ((_x(3, 10), 8, 11), {}),
    ((_x(2, 3, 7, dtype=torch.float64), 6, 9),
     dict(channels=True, dtype=torch.uint8, value_range=torch.tensor([[[-1.0, 1.0]] * 3, [[0.0, 2.0]] * 3]))),
    ((_x(2, 3, 7, dtype=torch.bfloat16), 5, 12),
     dict(value_range=torch.tensor([[-2.0, 2.0], [0.0, 1.0]], dtype=torch.float64), dtype=torch.float16,
          margin=1.0, antialias=False)),
    ((_with_gaps(_x(2, 12, dtype=torch.float16)), 7, 7), dict(dtype=torch.bfloat16, line_width=1.0)),
    ((_x(64).unfold(0, 9, 4), 6, 10), dict(dtype=torch.float64, background=0.0, foreground=1.0)),  # strided view
    ((_x(2, 1), 4, 5), dict(line_width=0.0)),  # L == 1
    ((_x(0, 6), 4, 5), {}),  # empty batch
]
SAMPLE_IDS = ["f32", "f64-channels-u8-range", "bf16-range-f16", "f16-gaps", "unfold-f64", "L1", "B0"]


def _out_for(args, kwargs) -> torch.Tensor:
    kw = dict(kwargs)
    dtype = kw.pop("dtype", None)
    like = OP(*args, **kw, dtype=dtype)
    return torch.full_like(like, 7)


# ------------------------------------------------------------------------- opcheck


@pytest.mark.parametrize("args, kwargs", SAMPLES, ids=SAMPLE_IDS)
def test_opcheck_functional(args, kwargs):
    torch.library.opcheck(OP.default, args, kwargs)


@pytest.mark.parametrize("args, kwargs", SAMPLES, ids=SAMPLE_IDS)
def test_opcheck_out(args, kwargs):
    # Every test_util, test_aot_dispatch_dynamic included: render_line.out mutates
    # `out` and returns nothing, so AOTAutograd auto-functionalizes it.
    out = _out_for(args, kwargs)
    kw = {k: v for k, v in kwargs.items() if k != "dtype"}
    torch.library.opcheck(OP.out, args, dict(kw, out=out))


def test_out_overload_is_functionalizable():
    # The ATen convention `Tensor(a!) out) -> Tensor(a!)` is not functionalizable for
    # a custom op; the schema returns () instead.
    assert str(OP.out._schema).endswith("Tensor(a!) out) -> ()")
    args, kwargs = SAMPLES[0]
    torch.library.opcheck(OP.out, args, dict(kwargs, out=_out_for(args, kwargs)),
                          test_utils="test_aot_dispatch_dynamic")


def _requires_grad(args, kwargs):
    args = (args[0].detach().requires_grad_(),) + tuple(args[1:])
    return args, kwargs


@pytest.mark.parametrize("args, kwargs", SAMPLES[:5], ids=SAMPLE_IDS[:5])
def test_opcheck_functional_requires_grad(args, kwargs):
    # With an input that requires grad, every test_util: the Autograd registration (a
    # kernel at the Autograd key, not the fallback), the fake kernels of the op and of
    # its backward, and test_aot_dispatch_dynamic, which compares the gradients of the
    # graph AOTAutograd traces with eager's (tests/test_gradients.py checks their values).
    args, kwargs = _requires_grad(args, kwargs)
    torch.library.opcheck(OP.default, args, kwargs)


# ----------------------------------------------------------------- torch.compile


# The compiled functions hold only render_line calls: inductor then emits no C++
# kernel of its own (a pointwise op after the render costs ~20 s of compiling here).
def _wrapper_fn(x, vr):
    return torch_render.render_line(x, 9, 14, value_range=vr, channels=True, line_width=2.0, margin=1.0)


def _ops_fn(x, vr):
    u8 = torch.ops.torch_render.render_line(x, 9, 14, value_range=vr, channels=True, dtype=torch.uint8,
                                            antialias=False, background=0.0, foreground=1.0)
    plain = torch.ops.torch_render.render_line(x, 9, 14)
    return u8, plain


def _compile_inputs(batch: int = 3):
    x = _with_gaps(_x(batch, 2, 11, seed=batch))
    vr = torch.tensor([[-3.0, 3.0]]).repeat(batch, 1)
    return x, vr


def _assert_same(a, b):
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.dtype == v.dtype and u.shape == v.shape and u.is_contiguous()
        torch.testing.assert_close(u, v, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("backend", ["eager", "aot_eager", "inductor"])
@pytest.mark.parametrize("fn", [_wrapper_fn, _ops_fn], ids=["wrapper", "torch.ops"])
def test_compile_fullgraph(fn, backend):
    torch._dynamo.reset()
    compiled = torch.compile(fn, backend=backend, fullgraph=True)
    x, vr = _compile_inputs()
    _assert_same(compiled(x, vr), fn(x, vr))


@pytest.mark.parametrize("backend", ["eager", "aot_eager"])
def test_compile_dynamic_batch(backend):
    # Fake kernel with symbolic sizes: one graph serves every batch size.
    torch._dynamo.reset()
    counter = torch._dynamo.testing.CompileCounterWithBackend(backend)
    compiled = torch.compile(_wrapper_fn, backend=counter, fullgraph=True, dynamic=True)
    frames = None
    for batch in (3, 6, 4):  # never equal to S = 2 or L = 11 (duck sizing would specialize)
        x, vr = _compile_inputs(batch)
        _assert_same(compiled(x, vr), _wrapper_fn(x, vr))
        frames = counter.frame_count if frames is None else frames
        assert counter.frame_count == frames  # no recompilation for a new batch size


def _out_fn(x, out):
    torch_render.render_line(x, 9, 14, out=out)
    return out + 0.0


def test_compile_out_form_eager_backend():
    torch._dynamo.reset()
    compiled = torch.compile(_out_fn, backend="eager", fullgraph=True)
    x, _ = _compile_inputs()
    out = torch.empty(3, 1, 9, 14)
    result = compiled(x, out)
    _assert_same(result, torch_render.render_line(x, 9, 14))
    _assert_same(out, torch_render.render_line(x, 9, 14))


def _out_returned_fn(x, out):
    return torch_render.render_line(x, 9, 14, out=out, dtype=None)


# (inductor with _out_fn would also compile a C++ kernel for `out + 0.0`: ~20 s here.)
@pytest.mark.parametrize(
    "fn, backend",
    [(_out_fn, "aot_eager"), (_out_returned_fn, "aot_eager"), (_out_returned_fn, "inductor")],
    ids=["out+0-aot_eager", "returns-out-aot_eager", "returns-out-inductor"],
)
def test_compile_out_form_with_aot_backends(fn, backend):
    # AOTAutograd auto-functionalizes render_line.out (schema `-> ()`); inductor writes
    # into the caller's `out` again.
    torch._dynamo.reset()
    x, _ = _compile_inputs()
    out = torch.full((3, 1, 9, 14), 7.0)
    result = torch.compile(fn, backend=backend, fullgraph=True)(x, out)
    expected = torch_render.render_line(x, 9, 14)
    _assert_same(result, expected)
    _assert_same(out, expected)  # the caller's tensor was written
    if fn is _out_returned_fn:
        assert result.data_ptr() == out.data_ptr()


def test_compile_bad_input_names_the_op():
    # The fake kernel raises at trace time; the message reaches the user.
    torch._dynamo.reset()
    compiled = torch.compile(lambda x: torch_render.render_line(x, 4, 5), backend="aot_eager", fullgraph=True)
    with pytest.raises(Exception, match=re.escape("render_line: series must be [B, L] or [B, S, L]")):
        compiled(torch.randn(10))
    # The fake kernel makes the real kernel's checks too, so a bad size fails at trace
    # time with eager's exception and message (not "negative dimension" when a tensor
    # of that shape is made). torch.compile wraps what the fake kernel raises in a
    # TorchRuntimeError whose message names both.
    compiled = torch.compile(lambda x: torch_render.render_line(x, 0, 5), backend="aot_eager", fullgraph=True)
    with pytest.raises(torch._dynamo.exc.TorchRuntimeError,
                       match=re.escape("ValueError('render_line: height must be >= 1, got 0')")):
        compiled(torch.randn(2, 10))
    with pytest.raises(ValueError, match=re.escape("render_line: height must be >= 1, got 0")):
        torch_render.render_line(torch.randn(2, 10), 0, 5)


# ------------------------------------------- traced code raises what eager raises


def _bad_cases():
    """(id, make) pairs: make() returns (args, kwargs) of a render_line call that eager refuses."""
    x = _x(2, 10)
    base = torch.zeros(200)

    def overlapping_out():
        return (base[:20].view(2, 10), 4, 5), dict(out=base[10:50].view(2, 1, 4, 5))

    def overlapping_value_range():
        return (x, 4, 5), dict(value_range=base[:4].view(2, 2), out=base[:40].view(2, 1, 4, 5))

    cases = {
        "rank": lambda: ((torch.zeros(10), 4, 5), {}),
        "series-dtype": lambda: ((torch.zeros(2, 10, dtype=torch.int64), 4, 5), {}),
        "no-points": lambda: ((torch.zeros(2, 3, 0), 4, 5), dict(channels=True)),
        "height-negative": lambda: ((x, -3, 5), {}),  # was "negative dimension" when compiled
        "width-zero": lambda: ((x, 4, 0), {}),
        "line_width-negative": lambda: ((x, 4, 5), dict(line_width=-1.0)),
        "line_width-nan": lambda: ((x, 4, 5), dict(line_width=float("nan"))),
        "line_width-huge": lambda: ((x, 4, 5), dict(line_width=1e300)),
        "margin-nan": lambda: ((x, 11, 21), dict(margin=float("nan"))),
        "margin-no-plot-area": lambda: ((x, 11, 21), dict(margin=5.01)),
        "dtype": lambda: ((x, 4, 5), dict(dtype=torch.int32)),
        "colour-nan": lambda: ((x, 4, 5), dict(background=float("nan"))),
        "colour-past-float32": lambda: ((x, 4, 5), dict(foreground=-1e39)),
        "colour-difference": lambda: ((x, 4, 5), dict(background=3e38, foreground=-3e38)),
        "colour-uint8": lambda: ((x, 4, 5), dict(dtype=torch.uint8, background=1.0000001)),
        "colour-float16": lambda: ((x, 4, 5), dict(dtype=torch.float16, background=1e5)),
        "colour-float16-edge": lambda: ((x, 4, 5), dict(dtype=torch.float16, foreground=-65520.0)),
        "colour-bfloat16": lambda: ((x, 4, 5), dict(dtype=torch.bfloat16, background=3.4e38)),
        "too-many-elements": lambda: ((x, 2**31, 2**31), {}),
        "value_range-shape": lambda: ((_x(2, 3, 10), 4, 5), dict(value_range=torch.zeros(2, 2, 2))),
        "value_range-shape-channels": lambda: ((_x(2, 3, 10), 4, 5),
                                               dict(value_range=torch.zeros(2, 2, 2), channels=True)),
        "value_range-dtype": lambda: ((x, 4, 5), dict(value_range=torch.zeros(2, 2, dtype=torch.int32))),
        "out-shape": lambda: ((x, 4, 5), dict(out=torch.empty(2, 1, 4, 6))),
        "out-dtype": lambda: ((x, 4, 5), dict(out=torch.empty(2, 1, 4, 5, dtype=torch.bool))),
        "out-float16-colour": lambda: ((x, 4, 5), dict(out=torch.empty(2, 1, 4, 5, dtype=torch.float16),
                                                       background=7e4)),
        "out-not-contiguous": lambda: ((x, 4, 5), dict(out=torch.empty(2, 1, 5, 4).transpose(2, 3))),
        "out-overlaps-series": overlapping_out,
        "out-overlaps-value_range": overlapping_value_range,
        "out-requires-grad": lambda: ((x, 4, 5), dict(out=torch.empty(2, 1, 4, 5, requires_grad=True))),
    }
    return list(cases.items())


BAD_CASES = _bad_cases()


def _eager_error(make) -> BaseException:
    args, kwargs = make()
    with pytest.raises(Exception) as info:
        torch_render.render_line(*args, **kwargs)
    assert str(info.value).startswith("render_line: ")
    return info.value


@pytest.mark.parametrize("case, make", BAD_CASES, ids=[c for c, _ in BAD_CASES])
def test_fake_kernel_raises_what_eager_raises(case, make):
    # The fake kernels make the real kernel's data-free checks: same type, same message.
    expected = _eager_error(make)
    args, kwargs = make()
    mode = torch._subclasses.fake_tensor.FakeTensorMode()
    fake = lambda t: mode.from_tensor(t) if isinstance(t, torch.Tensor) else t  # noqa: E731
    args = tuple(fake(a) for a in args)
    kwargs = {k: fake(v) for k, v in kwargs.items()}
    with mode, pytest.raises(Exception) as info:
        torch_render.render_line(*args, **kwargs)
    assert type(info.value) is type(expected)
    assert str(info.value) == str(expected).split("\nException raised from")[0]


@pytest.mark.parametrize("case, make", BAD_CASES, ids=[c for c, _ in BAD_CASES])
def test_compile_raises_what_eager_raises(case, make):
    # torch.compile fails at trace time; it wraps the fake kernel's exception in a
    # TorchRuntimeError whose message holds eager's exception, type and text.
    expected = _eager_error(make)
    args, kwargs = make()
    torch._dynamo.reset()
    compiled = torch.compile(lambda *a: torch_render.render_line(*a, **kwargs), backend="eager", fullgraph=True)
    with pytest.raises(torch._dynamo.exc.TorchRuntimeError) as info:
        compiled(*args)
    text = str(expected).split("\nException raised from")[0]
    assert f"{type(expected).__name__}({text!r})" in str(info.value)


@pytest.mark.parametrize("case", ["height-negative", "colour-float16", "value_range-dtype", "out-shape"])
def test_export_raises_what_eager_raises(case):
    make = dict(BAD_CASES)[case]
    expected = _eager_error(make)
    args, kwargs = make()

    class Render(torch.nn.Module):
        def forward(self, *a):
            return torch_render.render_line(*a, **kwargs)

    with pytest.raises(type(expected)) as info:
        torch.export.export(Render(), args)
    assert str(expected).split("\nException raised from")[0] in str(info.value)


# ----------------------------------------------------------------- torch.export


class RenderModule(torch.nn.Module):
    def __init__(self, height: int = 10, width: int = 16):
        super().__init__()
        self.height = height
        self.width = width

    def forward(self, x: torch.Tensor, vr: torch.Tensor) -> torch.Tensor:
        img = torch_render.render_line(x, self.height, self.width, value_range=vr, channels=True,
                                       line_width=2.0, dtype=torch.uint8)
        return img.float() / 255.0


def _export_inputs(batch: int, length: int = 9):
    x = _with_gaps(_x(batch, 3, length, seed=batch + length))
    vr = torch.tensor([[-2.0, 2.0]]).repeat(batch, 1)
    return x, vr


def _graph_ops(ep) -> set:
    return {node.target for node in ep.graph.nodes if node.op == "call_function"}


def test_export_static(tmp_path):
    module = RenderModule()
    x, vr = _export_inputs(4)
    ep = torch.export.export(module, (x, vr))
    assert torch.ops.torch_render.render_line.default in _graph_ops(ep)
    _assert_same(ep.module()(x, vr), module(x, vr))
    # The exported program saves and loads (the op is found by name when loading).
    path = tmp_path / "render.pt2"
    torch.export.save(ep, path)
    loaded = torch.export.load(path)
    _assert_same(loaded.module()(x, vr), module(x, vr))


def test_export_dynamic_batch_and_length():
    module = RenderModule()
    batch = torch.export.Dim("batch", min=1, max=1024)
    length = torch.export.Dim("length", min=2, max=4096)
    x, vr = _export_inputs(4)
    ep = torch.export.export(module, (x, vr), dynamic_shapes=({0: batch, 2: length}, {0: batch}))
    run = ep.module()
    for b, n in ((1, 9), (7, 2), (4, 30)):
        x2, vr2 = _export_inputs(b, n)
        _assert_same(run(x2, vr2), module(x2, vr2))


# ------------------------------------------------------------------- TorchScript


@torch.jit.script
def scripted_fn(x: torch.Tensor, vr: Optional[torch.Tensor]) -> torch.Tensor:
    return torch.ops.torch_render.render_line(x, 12, 20, line_width=2.5, antialias=True, margin=1.0,
                                              value_range=vr, channels=True, background=0.0,
                                              foreground=1.0, dtype=torch.float64)


def eager_fn(x: torch.Tensor, vr: Optional[torch.Tensor]) -> torch.Tensor:
    return torch_render.render_line(x, 12, 20, line_width=2.5, margin=1.0, value_range=vr, channels=True,
                                    background=0.0, foreground=1.0, dtype=torch.float64)


class ScriptRender(torch.nn.Module):
    def __init__(self, height: int, width: int, line_width: float):
        super().__init__()
        self.height = height
        self.width = width
        self.line_width = line_width

    def forward(self, x: torch.Tensor, vr: Optional[torch.Tensor] = None) -> torch.Tensor:
        return torch.ops.torch_render.render_line(
            x, self.height, self.width, line_width=self.line_width, antialias=False,
            value_range=vr, channels=False, dtype=torch.uint8,
        )


class ScriptRenderOut(torch.nn.Module):
    def forward(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        # render_line.out returns nothing (schema `-> ()`): `out` is the result.
        torch.ops.torch_render.render_line(x, out.size(2), out.size(3), line_width=1.5, out=out)
        return out


def test_script_function(tmp_path):
    x = _with_gaps(_x(3, 4, 15))
    vr = torch.tensor([[[-5.0, 5.0]] * 4] * 3)
    for args in ((x, vr), (x, None)):
        _assert_same(scripted_fn(*args), eager_fn(*args))
    path = str(tmp_path / "fn.pt")
    torch.jit.save(scripted_fn, path)
    loaded = torch.jit.load(path)
    for args in ((x, vr), (x, None)):
        _assert_same(loaded(*args), eager_fn(*args))


def test_script_module(tmp_path):
    module = ScriptRender(24, 40, 2.0)
    scripted = torch.jit.script(module)
    x = _with_gaps(_x(2, 3, 50))
    vr = torch.tensor([[-4.0, 4.0], [0.0, 9.0]])
    expected = torch_render.render_line(x, 24, 40, line_width=2.0, antialias=False, value_range=vr,
                                        dtype=torch.uint8)
    _assert_same(scripted(x, vr), expected)
    path = str(tmp_path / "module.pt")
    torch.jit.save(scripted, path)
    loaded = torch.jit.load(path)
    _assert_same(loaded(x, vr), expected)
    _assert_same(loaded(x), module(x))
    # Errors come through the scripted call with the op's message.
    with pytest.raises(Exception, match=re.escape("render_line: value_range must be [B, 2] = [2, 2]")):
        loaded(x, torch.zeros(3, 2))


def test_script_module_out(tmp_path):
    scripted = torch.jit.script(ScriptRenderOut())
    path = str(tmp_path / "out.pt")
    torch.jit.save(scripted, path)
    loaded = torch.jit.load(path)
    x = _x(2, 30)
    out = torch.full((2, 1, 16, 25), 7.0)
    result = loaded(x, out)
    assert result.data_ptr() == out.data_ptr()
    _assert_same(out, torch_render.render_line(x, 16, 25, line_width=1.5))
