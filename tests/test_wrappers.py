"""One Python path per op, one source of defaults (issue 12): render_line and
render_ohlc script with torch.jit.script themselves (and save and load), the
nn.Modules call the wrappers, and every default is the op schema's."""

from __future__ import annotations

import ast
import inspect
import itertools
import pathlib

import numpy as np
import pytest
import torch

from torch_render import LineChart, OHLCChart, render_line, render_ohlc
from torch_render import ohlc as ohlc_module
from torch_render import ops, transforms

# torch.jit.* warns that TorchScript is deprecated; it is still a supported export path.
pytestmark = pytest.mark.filterwarnings("ignore:`torch\\.jit\\.:DeprecationWarning")

LINE_OP = torch.ops.torch_render.render_line.default
OHLC_OP = torch.ops.torch_render.render_ohlc.default


def _series(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype).cumsum(-1)


def _ohlc(B: int, L: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    close = 100.0 + torch.randn(B, L, generator=g, dtype=torch.float64).cumsum(-1)
    open_ = close + torch.randn(B, L, generator=g, dtype=torch.float64) * 0.5
    high = torch.maximum(open_, close) + torch.rand(B, L, generator=g, dtype=torch.float64)
    low = torch.minimum(open_, close) - torch.rand(B, L, generator=g, dtype=torch.float64)
    return torch.stack([open_, high, low, close], dim=-1)


def _schema_defaults(op: torch._ops.OpOverload) -> dict:
    return {a.name: a.default_value for a in op._schema.arguments if a.has_default_value()}


def _signature_defaults(fn) -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(fn).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _same_value(a, b) -> bool:
    # Bits, not ==: -0.0 and 0.0 are other colours; True is not 1.
    if isinstance(a, float):
        return type(b) is float and np.float64(a).tobytes() == np.float64(b).tobytes()
    return type(a) is type(b) and a == b


# ------------------------------------------------------------------- TorchScript

# (args, kwargs) of render_line: defaults, every option, ints for floats, -0.0, out=.
LINE_CALLS = [
    ((_series(3, 20), 16, 24), {}),
    ((_series(2, 3, 15, dtype=torch.float32), 12, 20),
     dict(line_width=1.5, antialias=False, margin=2.0, channels=True, background=0.25, foreground=0.75,
          dtype=torch.uint8, value_range=torch.tensor([[[-3.0, 3.0]] * 3, [[-1.0, 6.0]] * 3]))),
    ((_series(2, 30), 10, 40), dict(line_width=2, margin=1, background=0, foreground=1, dtype=torch.float16)),
    ((_series(4, 12), 9, 9), dict(background=-0.0, foreground=-0.0 + 1.0, dtype=torch.float64)),
    ((_series(2, 12), 9, 9), dict(foreground=-0.0, value_range=torch.tensor([[4.0, -4.0], [0.0, 1.0]]))),
]


def _with_out(args, kwargs):
    out = torch.full_like(render_line(*args, **kwargs), 7)
    return dict(kwargs, out=out, dtype=None)


@pytest.mark.parametrize("args, kwargs", LINE_CALLS)
def test_render_line_itself_scripts_and_matches_eager(args, kwargs):
    scripted = torch.jit.script(render_line)
    expected = render_line(*args, **kwargs)
    assert torch.equal(scripted(*args, **kwargs), expected)
    kw_out = _with_out(args, kwargs)
    assert scripted(*args, **kw_out) is kw_out["out"]
    assert torch.equal(kw_out["out"], expected)
    # Under TorchScript the dtype and out.dtype must agree too.
    if expected.dtype != torch.uint8:
        with pytest.raises(torch.jit.Error, match="render_line: dtype and out.dtype must agree"):
            scripted(*args, **dict(kw_out, dtype=torch.uint8))


def test_scripted_render_line_saves_and_loads(tmp_path):
    path = str(tmp_path / "render_line.pt")
    torch.jit.script(render_line).save(path)
    loaded = torch.jit.load(path)
    # A saved function keeps no defaults (torch 2.11): every argument is given.
    names = list(inspect.signature(render_line).parameters)
    for args, kwargs in LINE_CALLS:
        full = dict(_signature_defaults(render_line), **kwargs)
        values = list(args) + [full[name] for name in names[len(args):]]
        assert torch.equal(loaded(*values), render_line(*args, **kwargs))


def test_scripted_render_line_inside_a_model_saves_and_loads(tmp_path):
    class Model(torch.nn.Module):
        def forward(self, prices: torch.Tensor) -> torch.Tensor:
            return render_line(prices, 16, 24, line_width=2.0, dtype=torch.uint8).float().mean(dim=(2, 3))

    x = _series(5, 40)
    path = str(tmp_path / "model.pt")
    torch.jit.script(Model()).save(path)
    assert torch.equal(torch.jit.load(path)(x), Model()(x))


def test_scripted_render_line_checks_types_itself():
    scripted = torch.jit.script(render_line)
    with pytest.raises(RuntimeError, match="Expected a value of type 'int' for argument 'height'"):
        scripted(_series(2, 10), 8.0, 9)
    with pytest.raises(RuntimeError, match="Expected a value of type 'bool' for argument 'antialias'"):
        scripted(_series(2, 10), 8, 9, antialias="False")


def test_eager_render_line_still_refuses_wrong_types():
    # The wrapper's own checks run outside TorchScript (and name the argument).
    with pytest.raises(TypeError, match="^render_line: height must be an int, got 8.0 of type float"):
        render_line(_series(2, 10), 8.0, 9)
    with pytest.raises(TypeError, match="^render_line: antialias must be a bool, got 'False' of type str"):
        render_line(_series(2, 10), 8, 9, antialias="False")


def test_render_ohlc_itself_scripts_saves_and_loads(tmp_path):
    scripted = torch.jit.script(render_ohlc)
    x, volume = _ohlc(3, 20), torch.rand(3, 20, generator=torch.Generator().manual_seed(1))
    ma = x[:, None, :, 3].cumsum(-1) / torch.arange(1, 21)
    for kwargs in (
        {},
        dict(volume=volume, overlays=ma, style="candle", bar_width=5, volume_rows=12, dtype=torch.uint8),
        dict(width=70, background=0, foreground=1, value_range=torch.tensor([[90.0, 110.0]] * 3)),
    ):
        expected = render_ohlc(x, 64, **kwargs)
        assert torch.equal(scripted(x, 64, **kwargs), expected)
        out = torch.full_like(expected, 7)
        assert scripted(x, 64, **dict(kwargs, out=out, dtype=None)) is out
        assert torch.equal(out, expected)
    path = str(tmp_path / "render_ohlc.pt")
    scripted.save(path)
    full = dict(_signature_defaults(render_ohlc), volume=volume, style="candle", volume_rows=12)
    names = list(inspect.signature(render_ohlc).parameters)[2:]
    loaded = torch.jit.load(path)
    assert torch.equal(loaded(x, 64, *[full[n] for n in names]), render_ohlc(x, 64, volume=volume, style="candle",
                                                                             volume_rows=12))


# ----------------------------------------------------- the modules call the wrappers


def _spy(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


LINE_OPTIONS = [
    {},
    dict(line_width=1.0, antialias=False, margin=2.0, channels=True, background=0.0, foreground=1.0, dtype=torch.uint8),
    dict(line_width=4.5, background=-0.0, foreground=0.5, dtype=torch.bfloat16),
    dict(margin=0.5, foreground=-0.0, dtype=torch.float64, channels=True),
]


@pytest.mark.parametrize("options", LINE_OPTIONS)
def test_line_chart_calls_render_line_and_gives_its_bits(monkeypatch, options):
    x, vr = _series(4, 3, 25), torch.tensor([[-5.0, 5.0], [-2.0, 9.0], [0.0, 1.0], [3.0, -3.0]])
    expected = render_line(x, 14, 22, **options)
    assert torch.equal(torch.jit.script(LineChart(14, 22, **options))(x), expected)  # (scripted before the spy)
    calls = _spy(monkeypatch, transforms, "render_line")
    assert torch.equal(LineChart(14, 22, **options)(x), expected)
    assert len(calls) == 1
    assert torch.equal(LineChart(14, 22, **options)(x, vr), render_line(x, 14, 22, value_range=vr, **options))
    single = LineChart(14, 22, batched=False, **options)
    assert torch.equal(single(x[2]), render_line(x[2:3], 14, 22, **options)[0])
    assert len(calls) == 3


def test_line_chart_passes_every_option_to_render_line(monkeypatch):
    calls = _spy(monkeypatch, transforms, "render_line")
    options = dict(line_width=1.5, antialias=False, margin=1.0, channels=True, background=0.5, foreground=0.25,
                   dtype=torch.float16)
    LineChart(10, 12, **options)(_series(2, 2, 9))
    (args, kwargs), = calls
    assert args[1:] == (10, 12)
    assert {k: v for k, v in kwargs.items() if k != "value_range"} == options and kwargs["value_range"] is None


def test_ohlc_chart_calls_render_ohlc_and_gives_its_bits(monkeypatch):
    x, volume = _ohlc(3, 20, seed=2), torch.rand(3, 20, generator=torch.Generator().manual_seed(3))
    options = dict(style="candle", bar_width=3, volume_rows=10, background=0.0, foreground=1.0, dtype=torch.uint8)
    expected = render_ohlc(x, 48, 70, volume=volume, **options)
    chart = OHLCChart(48, 70, **options)
    assert torch.equal(torch.jit.script(chart)(x, volume), expected)  # (scripted before the spy)
    calls = _spy(monkeypatch, ohlc_module, "render_ohlc")
    assert torch.equal(chart(x, volume), expected)
    assert torch.equal(chart(x[1], volume[1]), expected[1])
    assert len(calls) == 2 and calls[0][1]["style"] == "candle" and calls[0][1]["volume"] is volume


# ----------------------------------------------------------- one source of defaults


@pytest.mark.parametrize(
    "wrapper, op", [(render_line, LINE_OP), (render_ohlc, OHLC_OP)], ids=["render_line", "render_ohlc"]
)
def test_wrapper_defaults_are_the_schemas(wrapper, op):
    schema, python = _schema_defaults(op), _signature_defaults(wrapper)
    assert set(python) == set(schema) | {"out"}
    for name, default in schema.items():
        # The schema's dtype=None is float32 (the op's output dtype when not given).
        expected = torch.float32 if name == "dtype" else default
        assert _same_value(python[name], expected), (name, python[name], expected)
    scripted = {a.name: a.default_value for a in torch.jit.script(wrapper).schema.arguments if a.has_default_value()}
    # (TorchScript holds a dtype as its c10::ScalarType number: Float is 6.)
    assert scripted == {**schema, "dtype": 6, "out": None}


@pytest.mark.parametrize(
    "module, wrapper, own",
    [(LineChart, render_line, {"batched"}), (OHLCChart, render_ohlc, set())],
    ids=["LineChart", "OHLCChart"],
)
def test_module_defaults_are_the_wrappers(module, wrapper, own):
    module_defaults, wrapper_defaults = _signature_defaults(module.__init__), _signature_defaults(wrapper)
    assert set(module_defaults) - own <= set(wrapper_defaults)
    for name in set(module_defaults) - own:
        assert _same_value(module_defaults[name], wrapper_defaults[name]), name


@pytest.mark.parametrize(
    "fake, op",
    [
        (ops._render_line_fake, LINE_OP),
        (ops._render_line_out_fake, torch.ops.torch_render.render_line.out),
        (ohlc_module._render_ohlc_fake, OHLC_OP),
        (ohlc_module._render_ohlc_out_fake, torch.ops.torch_render.render_ohlc.out),
    ],
    ids=["render_line", "render_line.out", "render_ohlc", "render_ohlc.out"],
)
def test_fake_kernel_defaults_are_the_schemas(fake, op):
    # The dispatcher leaves out keyword arguments at their defaults: the fake kernel's apply.
    assert _signature_defaults(fake) == _schema_defaults(op)


# The options whose defaults come from the schemas; no Python signature writes one.
_OPTION_NAMES = {name for op in (LINE_OP, OHLC_OP) for name in _schema_defaults(op)} - {"width", "dtype"}


def _literal_defaults(source: str) -> list:
    """The parameters named like an op option whose default is written as a literal."""
    literal = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.Lambda)):
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            literal += [
                f"{getattr(node, 'name', 'lambda')}({a.arg}={ast.unparse(d)})"
                for a, d in pairs
                # (None, an optional tensor not given, is no default value.)
                if a.arg in _OPTION_NAMES and isinstance(d, ast.Constant) and d.value is not None
            ]
    return literal


@pytest.mark.parametrize("module", [ops, ohlc_module, transforms], ids=lambda m: m.__name__)
def test_no_signature_writes_a_default_of_its_own(module):
    literal = _literal_defaults(pathlib.Path(module.__file__).read_text())
    assert not literal, f"defaults written again instead of read from the schema: {literal}"


def test_the_literal_default_finder_finds_them():
    source = "def f(x, line_width: float = 3.0, *, margin=0.0, value_range=None, style=D['style']): pass"
    assert _literal_defaults(source) == ["f(line_width=3.0)", "f(margin=0.0)"]


def test_positional_options_follow_the_schema_order():
    # The options are positional-or-keyword (TorchScript compiles no keyword-only
    # argument with a default); their order is the schema's.
    line_schema = [a.name for a in LINE_OP._schema.arguments]
    assert list(inspect.signature(render_line).parameters) == line_schema + ["out"]
    ohlc_schema = [a.name for a in OHLC_OP._schema.arguments]
    assert list(inspect.signature(render_ohlc).parameters) == ohlc_schema + ["out"]
    x = _series(2, 10)
    assert torch.equal(render_line(x, 8, 9, 2.0, False, 1.0), render_line(x, 8, 9, line_width=2.0, antialias=False,
                                                                         margin=1.0))


def test_numpy_scalars_and_ints_are_taken_as_before():
    x = _series(2, 10)
    expected = render_line(x, 8, 9, line_width=2.0, antialias=False, background=0.0)
    for kwargs in (dict(line_width=2, antialias=np.bool_(False), background=0),
                   dict(line_width=np.float32(2.0), antialias=False, background=np.int64(0))):
        assert torch.equal(render_line(x, np.int64(8), 9, **kwargs), expected)
        assert torch.equal(LineChart(np.int32(8), 9, **kwargs)(x), expected)
    for height, style in itertools.product((np.int64(5), 5), ("bar", "candle")):
        expected = render_ohlc(_ohlc(1, 4), 5, style=style)
        assert torch.equal(render_ohlc(_ohlc(1, 4), height, style=style, background=1), expected)
