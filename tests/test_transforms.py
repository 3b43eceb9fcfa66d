"""torch_render.transforms.LineChart: shapes by rank and `batched`, equality with
render_line, pickling, TorchScript (script, inside a model, save/load), repr; and
torch_render.transforms.OHLCChart on real windows: equality with render_ohlc,
pickling, spawned DataLoader workers, TorchScript inside a model."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from torch import nn

import torch_render
from torch_render import LineChart
from torch_render.data import windows

# torch.jit.* warns that TorchScript is deprecated; it is still a supported export path.
pytestmark = pytest.mark.filterwarnings("ignore:`torch\\.jit\\.:DeprecationWarning")

H, W = 24, 36
OPTIONS = dict(line_width=2.0, antialias=True, margin=1.0, background=0.9, foreground=0.1)


def series(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=dtype).cumsum(-1)


# --- shapes and values -----------------------------------------------------------------


@pytest.mark.parametrize(
    "batched, channels, shape, expected",
    [
        (True, False, (20,), (1, H, W)),
        (True, False, (5, 20), (5, 1, H, W)),
        (True, False, (5, 3, 20), (5, 1, H, W)),
        (True, True, (5, 3, 20), (5, 3, H, W)),
        (True, False, (0, 20), (0, 1, H, W)),
        (False, False, (20,), (1, H, W)),
        (False, False, (3, 20), (1, H, W)),
        (False, True, (3, 20), (3, H, W)),
        (False, True, (20,), (1, H, W)),
    ],
)
def test_shapes_and_values_match_render_line(batched, channels, shape, expected):
    chart = LineChart(H, W, channels=channels, batched=batched, **OPTIONS)
    x = series(*shape)
    images = chart(x)
    assert images.shape == expected and images.dtype == torch.float32 and images.is_contiguous()
    single = len(expected) == 3
    as_batch = x.unsqueeze(0) if single else x
    direct = torch_render.render_line(as_batch, H, W, channels=channels, **OPTIONS)
    torch.testing.assert_close(images, direct[0] if single else direct, rtol=0, atol=0)


def test_two_dimensional_input_follows_batched():
    x = series(4, 30)
    batch = LineChart(H, W)(x)  # default batched=True: [B, L]
    sample = LineChart(H, W, batched=False)(x)  # [S, L]: 4 series overlaid in one image
    assert batch.shape == (4, 1, H, W) and sample.shape == (1, H, W)
    torch.testing.assert_close(sample, torch_render.render_line(x.unsqueeze(0), H, W)[0], rtol=0, atol=0)
    torch.testing.assert_close(batch, torch_render.render_line(x, H, W), rtol=0, atol=0)


def test_value_range_per_sample_and_batch():
    x = series(3, 20)
    vr = torch.tensor([[-5.0, 5.0], [-1.0, 1.0], [0.0, 10.0]], dtype=torch.float64)
    batch = LineChart(H, W)(x, vr)
    torch.testing.assert_close(batch, torch_render.render_line(x, H, W, value_range=vr), rtol=0, atol=0)
    one = LineChart(H, W, batched=False)(x[1], vr[1])
    torch.testing.assert_close(one, batch[1], rtol=0, atol=0)
    per_series = torch.tensor([[-5.0, 5.0], [-1.0, 1.0], [0.0, 10.0]])
    channels = LineChart(H, W, batched=False, channels=True)(x, per_series)
    direct = torch_render.render_line(x.unsqueeze(0), H, W, channels=True, value_range=per_series.unsqueeze(0))
    torch.testing.assert_close(channels, direct[0], rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.uint8])
def test_output_dtype(dtype):
    x = series(2, 15, dtype=torch.float32)
    images = LineChart(H, W, dtype=dtype)(x)
    assert images.dtype == dtype
    assert torch.equal(images, torch_render.render_line(x, H, W, dtype=dtype))


def test_strided_window_views():
    closes = series(500)
    view = windows(closes, 40, step=7)[:6]  # a strided view: no copy
    assert not view.is_contiguous()
    chart = LineChart(H, W, batched=True)
    assert torch.equal(chart(view), chart(view.contiguous()))
    sample = LineChart(H, W, batched=False)
    assert torch.equal(sample(view[2]), chart(view)[2])


def test_bad_input_rank():
    with pytest.raises(ValueError, match=r"LineChart: series must be \[L\] or \[S, L\] \(batched=False\), got .*\[2, 3, 4\]"):
        LineChart(H, W, batched=False)(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"\[L\], \[B, L\] or \[B, S, L\], got .*\[1, 2, 3, 4\]"):
        LineChart(H, W)(torch.zeros(1, 2, 3, 4))
    with pytest.raises(ValueError, match=r"got a tensor of shape \[\]"):
        LineChart(H, W)(torch.tensor(1.0))
    with pytest.raises(TypeError, match="floating"):
        LineChart(H, W)(torch.zeros(2, 5, dtype=torch.int64))  # the op's own check


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(height=0, width=5), ValueError, "height must be an integer >= 1"),
        # A float or a bool where an int belongs is a TypeError, as in render_line.
        (dict(height=5, width=2.5), TypeError, "width must be an int, got 2.5 of type float"),
        (dict(height=True, width=5), TypeError, "height must be an int, got True of type bool"),
        (dict(height=5, width=5, line_width=-1.0), ValueError, "line_width must be a finite number >= 0"),
        (dict(height=5, width=5, margin=float("nan")), ValueError, "margin"),
        (dict(height=5, width=5, background="white"), TypeError, "background must be a float, got 'white'"),
        (dict(height="8", width=5), TypeError, "height must be an int, got '8' of type str"),
        (dict(height=5, width=5, antialias="False"), TypeError, "antialias must be a bool, got 'False'"),
        (dict(height=5, width=5, channels=1), TypeError, "channels must be a bool, got 1 of type int"),
        (dict(height=5, width=5, batched=None), TypeError, "batched must be a bool, got None"),
        (dict(height=5, width=5, line_width="3"), TypeError, "line_width must be a float, got '3'"),
        (dict(height=5, width=5, dtype=torch.int32), TypeError, "dtype must be one of"),
    ],
)
def test_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        LineChart(**kwargs)


def test_numpy_scalars_become_python_values():
    chart = LineChart(np.int64(20), np.int32(30), line_width=np.float32(2.5))
    assert type(chart.height) is int and type(chart.width) is int and type(chart.line_width) is float
    torch.jit.script(chart)  # attribute types inferred from plain Python values


def test_repr():
    chart = LineChart(32, 48, line_width=2, dtype=torch.uint8, batched=False)
    assert repr(chart) == (
        "LineChart(height=32, width=48, line_width=2.0, antialias=True, margin=0.0, "
        "channels=False, background=1.0, foreground=0.0, dtype=torch.uint8, batched=False)"
    )


# --- pickling and TorchScript ---------------------------------------------------------------


def test_pickle_round_trip():
    chart = LineChart(H, W, channels=True, dtype=torch.uint8, batched=False, **OPTIONS)
    for clone in (pickle.loads(pickle.dumps(chart)), copy.deepcopy(chart)):
        assert type(clone) is LineChart and repr(clone) == repr(chart)
        x = series(3, 25)
        assert torch.equal(clone(x), chart(x))


def test_script_matches_eager():
    for batched, shape in ((True, (4, 20)), (True, (4, 2, 20)), (True, (20,)), (False, (2, 20)), (False, (20,))):
        chart = LineChart(H, W, channels=True, dtype=torch.uint8, batched=batched, **OPTIONS)
        scripted = torch.jit.script(chart)
        x = series(*shape)
        assert torch.equal(scripted(x), chart(x))
    vr = torch.tensor([[0.0, 1.0]] * 4)
    scripted = torch.jit.script(LineChart(H, W))
    assert torch.equal(scripted(series(4, 20), vr), LineChart(H, W)(series(4, 20), vr))
    with pytest.raises(torch.jit.Error, match=r"LineChart: series must be \[L\] or \[S, L\]"):
        torch.jit.script(LineChart(H, W, batched=False))(torch.zeros(2, 3, 4))


class ChartClassifier(nn.Module):
    """A model that draws its own input: [B, L] prices -> [B, 2] logits."""

    def __init__(self) -> None:
        super().__init__()
        self.chart = LineChart(H, W, line_width=2.0)
        self.conv = nn.Conv2d(1, 4, 3, stride=2)
        self.head = nn.Linear(4, 2)

    def forward(self, prices: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.conv(self.chart(prices)))
        return self.head(features.mean(dim=(2, 3)))


def test_script_model_save_load(tmp_path):
    torch.manual_seed(0)
    model = ChartClassifier().eval()
    scripted = torch.jit.script(model)
    x = series(5, 50, dtype=torch.float32)
    with torch.no_grad():
        expected = model(x)
        torch.testing.assert_close(scripted(x), expected, rtol=0, atol=0)
        path = tmp_path / "chart_classifier.pt"
        torch.jit.save(scripted, str(path))
        loaded = torch.jit.load(str(path))
        torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)

    chart = torch.jit.script(LineChart(H, W, dtype=torch.uint8, batched=False))
    torch.jit.save(chart, str(tmp_path / "chart.pt"))
    loaded_chart = torch.jit.load(str(tmp_path / "chart.pt"))
    assert torch.equal(loaded_chart(x[:2]), chart(x[:2]))
    assert loaded_chart(x[:2]).shape == (1, H, W)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_batch_matches_cpu():
    if not torch_render.cuda_built():
        pytest.skip("torch_render was built without its CUDA kernels")
    chart = LineChart(H, W, **OPTIONS)
    x = series(8, 3, 40, dtype=torch.float32)
    on_gpu = chart(x.cuda())
    assert on_gpu.device.type == "cuda"
    assert torch.equal(on_gpu.cpu(), chart(x))
    assert torch.equal(torch.jit.script(chart)(x.cuda()).cpu(), chart(x))


# --- OHLCChart (torch_render.transforms.OHLCChart, the same class as torch_render.OHLCChart)


def real_bars(count: int = 12, length: int = 20) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(ohlc [count, L, 4], volume [count, L], 20-bar MA [count, 1, L]) of real minutes
    (synthetic bars where ../shared/data is absent), as views of the long series."""
    from conftest import shared_csv
    from torch_render.data import load_klines, moving_average, ohlc_windows

    path = shared_csv()
    if path is not None:
        k = load_klines(path)
        ohlc, volume, close = k.ohlc[:2000], k.volume[:2000], k.close[:2000]
    else:
        close = series(2000, seed=5) + 100
        ohlc = torch.stack([close.roll(1), close + 0.5, close - 0.5, close], dim=1)
        volume = torch.rand(2000, generator=torch.Generator().manual_seed(5))
    bars = ohlc_windows(ohlc, length, step=150)[:count]
    ma = windows(moving_average(close, 20), length, step=150)[:count, None]
    return bars, windows(volume, length, step=150)[:count], ma


class _OHLCItems(torch.utils.data.Dataset):
    """Per-sample rendering in DataLoader workers: item i is the chart of window i."""

    def __init__(self, chart: nn.Module) -> None:
        self.chart = chart
        self.bars, self.volume, self.ma = real_bars()

    def __len__(self) -> int:
        return self.bars.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.chart(self.bars[i], self.volume[i], self.ma[i])


class _OHLCModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.chart = torch_render.transforms.OHLCChart(64, style="candle", volume_rows=12)
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, ohlc: torch.Tensor, volume: torch.Tensor) -> torch.Tensor:
        return self.conv(self.chart(ohlc, volume))


def test_ohlc_chart_is_in_transforms():
    from torch_render.transforms import OHLCChart

    assert OHLCChart is torch_render.OHLCChart
    assert "OHLCChart" in torch_render.transforms.__all__


def test_ohlc_chart_equals_render_ohlc_and_pickles():
    bars, volume, ma = real_bars()
    chart = torch_render.transforms.OHLCChart(64, 70, style="candle", volume_rows=12, dtype=torch.uint8)
    expected = torch_render.render_ohlc(
        bars, 64, 70, volume=volume, overlays=ma, style="candle", volume_rows=12, dtype=torch.uint8
    )
    assert (expected == 0).any() and (expected == 255).any()  # marks were drawn
    images = chart(bars, volume, ma)
    assert torch.equal(images, expected)
    clone = pickle.loads(pickle.dumps(chart))
    assert repr(clone) == repr(chart)
    assert torch.equal(clone(bars, volume, ma), expected)
    assert torch.equal(copy.deepcopy(chart)(bars[3], volume[3], ma[3]), expected[3])


def test_ohlc_chart_renders_in_spawned_workers():
    chart = torch_render.transforms.OHLCChart(64, volume_rows=12, dtype=torch.uint8)
    ds = _OHLCItems(chart)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    expected = torch_render.render_ohlc(ds.bars, 64, volume=ds.volume, overlays=ds.ma, volume_rows=12,
                                        dtype=torch.uint8)
    assert torch.equal(torch.cat(list(loader)), expected)


def test_ohlc_chart_scripts_in_a_model(tmp_path):
    torch.manual_seed(0)
    bars, volume, _ = real_bars()
    model = _OHLCModel().eval()
    scripted = torch.jit.script(model)
    # The module calls the scripted wrapper, which calls the op.
    assert "torch_render.ohlc.render_ohlc" in scripted.chart.code
    with torch.no_grad():
        expected = model(bars.float(), volume.float())
        assert torch.equal(scripted(bars.float(), volume.float()), expected)
        path = str(tmp_path / "ohlc_model.pt")
        torch.jit.save(scripted, path)
        assert torch.equal(torch.jit.load(path)(bars.float(), volume.float()), expected)
