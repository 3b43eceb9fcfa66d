"""The command line (`python -m torch_render render`) and its helpers: the synthetic
closes, the PNG writer and contact sheet, and the kline reader."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest
import torch

from conftest import REPO, load_closes, loop_moving_average, shared_csv
from torch_render._klines import read_closes
from torch_render._png import PNG_SIGNATURE, contact_sheet, write_png
from torch_render.synthetic import synthetic_closes


def run_cli(*args: str, cwd: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "torch_render", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def read_png(path: str) -> np.ndarray:
    """Decode an 8-bit greyscale or RGB PNG without filters other than 0 (as written
    by write_png): [H, W] or [H, W, 3] uint8."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == PNG_SIGNATURE
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and color in (0, 2) and interlace == 0
    channels = 3 if color == 2 else 1
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, 1 + width * channels)
    assert (rows[:, 0] == 0).all()  # filter type None on every scanline
    pixels = rows[:, 1:].reshape(height, width, channels)
    return pixels[:, :, 0] if channels == 1 else pixels


def sheet_size(count: int, columns: int, height: int, width: int, pad: int = 4) -> tuple[int, int]:
    rows = -(-count // columns)
    return rows * (height + pad) + pad, columns * (width + pad) + pad


# --- command line ------------------------------------------------------------------


def test_render_synthetic_writes_png(tmp_path):
    result = run_cli(
        "render", "--count", "10", "--height", "40", "--width", "60", "--batch", "4",
        "--sheet", "6", "--out", "sheet.png", cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    summary = result.stdout.splitlines()[0]
    assert summary.startswith("rendered 10 charts of 40x60 on cpu (")
    assert summary.endswith(" images/s")
    image = read_png(str(tmp_path / "sheet.png"))
    assert image.shape == sheet_size(6, 3, 40, 60)  # 6 charts: ceil(sqrt(6)) = 3 columns
    assert image.min() == 0 and image.max() == 255  # black line on white
    assert (image[:4] == 128).all() and (image[:, :4] == 128).all()  # grey border
    assert len(np.unique(image)) > 3  # antialiased edges


def test_render_matches_op(tmp_path):
    import torch_render

    result = run_cli(
        "render", "--count", "3", "--length", "50", "--height", "30", "--width", "45",
        "--dtype", "uint8", "--seed", "7", "--line-width", "2", "--sheet", "3",
        "--out", "s.png", cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    closes = synthetic_closes(3, 50, seed=7)
    images = torch_render.render_line(closes, 30, 45, line_width=2.0, dtype=torch.uint8)
    expected = contact_sheet(images, 2).numpy()
    np.testing.assert_array_equal(read_png(str(tmp_path / "s.png")), expected)


def test_preview_writes_the_windows_as_a_sheet(tmp_path):
    import torch_render

    result = run_cli(
        "preview", "--count", "4", "--length", "40", "--height", "30", "--width", "50",
        "--seed", "3", "--out", "p.png", cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    images = torch_render.render_line(synthetic_closes(4, 40, seed=3), 30, 50)
    write_png(str(tmp_path / "expected.png"), contact_sheet(images, 2))
    np.testing.assert_array_equal(read_png(str(tmp_path / "p.png")),
                                  read_png(str(tmp_path / "expected.png")))


def test_preview_needs_out(tmp_path):
    result = run_cli("preview", "--count", "2", cwd=str(tmp_path))
    assert result.returncode == 2
    assert "--out" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bench_quick_prints_a_table(tmp_path):
    result = run_cli("bench", "--quick", "--sizes", "64x64", "--threads", "1",
                     "--dtypes", "float32", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "torch_render" in result.stdout and "images/s" in result.stdout


def test_render_csv_shared_data(tmp_path):
    path = shared_csv()
    if path is None:
        pytest.skip("no real data: ../shared/data has no *.csv.gz")
    result = run_cli(
        "render", "--csv", path, "--count", "8", "--height", "50", "--width", "80",
        "--sheet", "4", "--out", "real.png", cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rendered 8 charts of 50x80 on cpu")
    image = read_png(str(tmp_path / "real.png"))
    assert image.shape == sheet_size(4, 2, 50, 80)
    assert image.min() == 0 and image.max() == 255


def test_render_csv_too_short(tmp_path):
    csv = tmp_path / "short.csv"
    rows = "".join(f"{i},1,{i + 1},1,{i + 1},1\n" for i in range(20))  # possible candles
    csv.write_text("timestamp,open,high,low,close,volume\n" + rows)
    result = run_cli("render", "--csv", str(csv), "--count", "5", "--length", "17", cwd=str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"torch_render: error: {csv}: 20 closes are too few for 5 windows of 17 (need at least 21)"
    ]
    assert not (tmp_path / "charts.png").exists()


def test_render_csv_malformed(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("timestamp,open,high,low,close,volume\n1,2,3,1,2,5\n2,2,3,1,oops,5\n")
    result = run_cli("render", "--csv", str(csv), cwd=str(tmp_path))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("torch_render: error: ")
    assert f"{csv}: line 3" in lines[0] and "oops" in lines[0]


def test_help(tmp_path):
    top = run_cli("--help", cwd=str(tmp_path))
    assert top.returncode == 0 and "render" in top.stdout
    sub = run_cli("render", "--help", cwd=str(tmp_path))
    assert sub.returncode == 0
    for option in ("--csv", "--count", "--device", "--dtype", "--out", "--sheet", "--chart", "candle", "jkx"):
        assert option in sub.stdout


def test_no_command_prints_help(tmp_path):
    result = run_cli(cwd=str(tmp_path))
    assert result.returncode == 2
    assert "render" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["render", "--no-such-option"], ["render", "--count", "0"], ["render", "--dtype", "int8"], ["paint"]],
)
def test_bad_arguments(tmp_path, args):
    result = run_cli(*args, cwd=str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torch_render: error: "), result.stderr


def test_cuda_unavailable(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible")
    result = run_cli("render", "--device", "cuda", "--count", "2", cwd=str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("torch_render: error: --device cuda: CUDA is not available")


# --- issue 11: integer flags past int64 or their range, and an unwritable --out, are
# refused before anything is rendered: the flag named, one line, no traceback -----------

HUGE = "99999999999999999999"  # > 2**64


def cli_in_process(capsys, *args: str, cwd) -> subprocess.CompletedProcess:
    """main(args) in this process (no torch import per call), as a CompletedProcess."""
    from torch_render.cli import main

    old = os.getcwd()
    os.chdir(cwd)
    try:
        code = main(list(args))
    except SystemExit as e:
        code = e.code
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("torch_render: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "rendered" not in result.stdout  # nothing was drawn
    return lines[0]


@pytest.mark.parametrize(
    "command, flag, value, expected",
    [
        ("render", "--count", HUGE, "must be an integer in [1, 2**63 - 1]"),
        ("render", "--length", HUGE, "must be an integer in [1, 2**63 - 1]"),
        ("render", "--width", HUGE, "must be an integer in [1, 2**31 - 1]"),
        ("render", "--height", HUGE, "must be an integer in [1, 2**31 - 1]"),
        ("render", "--height", str(2**31), "must be an integer in [1, 2**31 - 1]"),
        ("render", "--width", "0", "must be an integer in [1, 2**31 - 1]"),
        ("render", "--batch", HUGE, "must be an integer in [1, 2**63 - 1]"),
        ("render", "--sheet", HUGE, "must be an integer in [0, 2**63 - 1]"),
        ("render", "--sheet", "-1", "must be an integer in [0, 2**63 - 1]"),
        ("render", "--seed", HUGE, "must be an integer in [-2**63, 2**64 - 1]"),
        ("render", "--seed", "-" + HUGE, "must be an integer in [-2**63, 2**64 - 1]"),
        ("render", "--seed", "1.5", "expected an integer, got '1.5'"),
        ("preview", "--count", HUGE, "must be an integer in [1, 2**63 - 1]"),
        ("preview", "--length", "-3", "must be an integer in [1, 2**63 - 1]"),
        ("render", "--line-width", "1e39", "must be finite, >= 0 and a float32 value"),
    ],
)
def test_integer_flags_out_of_range(tmp_path, capsys, command, flag, value, expected):
    result = cli_in_process(capsys, command, flag, value, "--out", "x.png", cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, f"argument {flag}: ", expected, value)
    assert not (tmp_path / "x.png").exists()


def test_integer_flag_out_of_range_command_line(tmp_path):
    # The example, end to end: no traceback, one line, status 2.
    result = run_cli("render", "--count", HUGE, cwd=str(tmp_path))
    assert result.returncode == 2
    assert_one_line_error(result, "argument --count: must be an integer in [1, 2**63 - 1], got " + HUGE)


def test_seed_range_ends_are_accepted(tmp_path, capsys):
    for seed in (str(2**64 - 1), str(-(2**63))):
        result = cli_in_process(capsys, "render", "--count", "2", "--length", "5", "--height", "8",
                                "--width", "8", "--seed", seed, "--sheet", "0", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("rendered 2 charts of 8x8")


@pytest.mark.parametrize(
    "args, needles",
    [
        # Within int64 one by one, but the synthetic closes would not fit in memory.
        (["--count", str(2**62)], ["--count", "--length", "synthetic closes", "memory"]),
        (["--count", "1000000000000", "--length", "1000000000"], ["--count", "--length", "memory"]),
        # One output batch larger than the memory.
        (["--count", "64", "--height", "2000000000", "--width", "2000000000", "--sheet", "0"],
         ["--batch", "--height", "--width", "memory"]),
        # The contact sheet would be wider than a PNG can be (2**31 - 1 pixels).
        (["--count", "4", "--height", "1", "--width", "2147483000", "--length", "2"],
         ["--sheet", "--width", "PNG"]),
    ],
)
def test_sizes_that_cannot_be_rendered(tmp_path, capsys, args, needles):
    result = cli_in_process(capsys, "render", *args, "--out", "x.png", cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, *needles)


def test_sizes_on_a_cuda_device_count_host_and_device_memory(monkeypatch):
    # No GPU needed: the check's arithmetic with a stand-in for the memory sizes.
    from torch_render import cli

    gib = 2**30
    memory = {"cpu": 64 * gib, "cuda": 16 * gib}
    monkeypatch.setattr(cli, "_memory", lambda device: memory[device.type])
    cuda = torch.device("cuda", 0)
    args = cli.build_parser().parse_args(["render", "--count", "64", "--batch", "64"])
    cli._check_sizes(args, cuda)  # 64 x 500 x 800 float32: 98 MB

    args = cli.build_parser().parse_args(["render", "--count", "4096", "--batch", "4096", "--sheet", "0"])
    with pytest.raises(cli._UsageError, match=r"--batch 4096 x --height 500 x --width 800 output images "
                                              r"\(6\.1 GiB\)"):
        memory["cuda"] = 4 * gib
        cli._check_sizes(args, cuda)
    cli._check_sizes(args, torch.device("cpu"))  # 6.1 GiB fit in the host's 64

    # Synthetic closes are made on the host, then copied: both memories must hold them.
    args = cli.build_parser().parse_args(["render", "--count", "100000", "--length", "100000", "--sheet", "0"])
    memory["cuda"] = 128 * gib  # 74.5 GiB of closes fit on the device, not on the host
    with pytest.raises(cli._UsageError, match=r"--count 100000 x --length 100000 synthetic closes "
                                              r"\(74\.5 GiB\) need more than the 64 GiB of memory of cpu"):
        cli._check_sizes(args, cuda)
    args.csv = "file.csv"  # closes from a file: not counted here
    cli._check_sizes(args, cuda)


@pytest.mark.parametrize("command", ["render", "preview"])
@pytest.mark.parametrize("target", ["folder", "missing", "proc", "file_in_file"])
def test_unwritable_out_is_refused_before_rendering(tmp_path, capsys, command, target):
    (tmp_path / "a_file").write_text("x")
    out = {
        "folder": str(tmp_path),
        "missing": str(tmp_path / "no_such_dir" / "s.png"),
        "proc": "/proc/version",
        "file_in_file": str(tmp_path / "a_file" / "s.png"),
    }[target]
    # Many charts: if rendering ran first, this test would take minutes.
    result = cli_in_process(capsys, command, "--count", "2000", "--height", "500", "--width", "800",
                            "--out", out, cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, f"argument --out: {out}: ")
    assert (tmp_path / "a_file").read_text() == "x"


def test_unwritable_out_command_line(tmp_path):
    result = run_cli("render", "--count", "20000", "--out", "/proc/version", cwd=str(tmp_path))
    assert result.returncode == 2
    assert_one_line_error(result, "argument --out: /proc/version: cannot write a file there")


def test_out_checks(tmp_path, capsys):
    # An existing file is fine (overwritten only at the end); a new one is not left behind
    # by the check; --sheet 0 writes nothing, so --out is not checked.
    existing = tmp_path / "old.png"
    existing.write_bytes(b"old")
    result = cli_in_process(capsys, "render", "--count", "2", "--height", "8", "--width", "8",
                            "--out", str(existing), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read_png(str(existing)).shape == sheet_size(2, 2, 8, 8)
    result = cli_in_process(capsys, "render", "--count", "2", "--height", "8", "--width", "8", "--sheet", "0",
                            "--out", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    before = sorted(os.listdir(tmp_path))
    result = cli_in_process(capsys, "render", "--count", "2", "--csv", str(tmp_path / "absent.csv"),
                            "--out", "new.png", cwd=tmp_path)
    assert result.returncode == 1
    assert_one_line_error(result, "absent.csv")
    assert sorted(os.listdir(tmp_path)) == before  # the probe left no file


# --- --chart ohlc|candle|jkx: the images are the op's on the same windows ------------


def as_png(tmp_path, images: torch.Tensor, columns: int) -> np.ndarray:
    """The contact sheet of ``images`` as write_png stores it, read back."""
    path = str(tmp_path / "expected.png")
    write_png(path, contact_sheet(images, columns))
    return read_png(path)


@pytest.mark.parametrize("chart, style", [("ohlc", "bar"), ("candle", "candle")])
def test_preview_ohlc_and_candle_synthetic_match_render_ohlc(tmp_path, capsys, chart, style):
    import torch_render
    from torch_render.synthetic import synthetic_ohlcv

    result = cli_in_process(capsys, "preview", "--chart", chart, "--count", "4", "--length", "10",
                            "--height", "40", "--width", "35", "--seed", "3", "--out", "p.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"rendered 4 {chart} charts of 40x35 on cpu")
    ohlc, volume = synthetic_ohlcv(4, 10, seed=3)
    # 35 // 10 = 3 columns per bar, a volume panel of 40 // 5 = 8 rows.
    images = torch_render.render_ohlc(ohlc, 40, 35, volume=volume, style=style, bar_width=3, volume_rows=8)
    sheet = read_png(str(tmp_path / "p.png"))
    np.testing.assert_array_equal(sheet, as_png(tmp_path, images, 2))
    # Not a line chart of the closes: the bars and the volume panel are there.
    lines = torch_render.render_line(ohlc[..., 3].contiguous(), 40, 35)
    assert not np.array_equal(sheet, as_png(tmp_path, lines, 2))
    assert (images[:, 0, -8:] == 0).any(dim=(1, 2)).all()  # volume bars in every panel
    assert (images[:, 0, -9] == 1).all()  # the gap row above the panel


def test_render_jkx_synthetic_has_a_moving_average_with_history(tmp_path, capsys):
    import torch_render
    from torch_render.synthetic import synthetic_ohlcv

    result = cli_in_process(capsys, "render", "--chart", "jkx", "--count", "5", "--batch", "2",
                            "--seed", "11", "--dtype", "uint8", "--sheet", "5", "--out", "j.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rendered 5 jkx charts of 64x60 on cpu")  # the I20 image
    # Each synthetic series: 19 bars of history, then the 20 bars drawn.
    ohlc, volume = synthetic_ohlcv(5, 39, seed=11)
    ma = torch.tensor([loop_moving_average(row, 20)[19:] for row in ohlc[..., 3].tolist()], dtype=torch.float64)
    assert not ma.isnan().any()
    images = torch_render.jkx_chart(ohlc[:, 19:], volume[:, 19:], ma[:, None])
    np.testing.assert_array_equal(read_png(str(tmp_path / "j.png")), contact_sheet(images, 3).numpy())
    without_ma = torch_render.jkx_chart(ohlc[:, 19:], volume[:, 19:])
    assert not torch.equal(images, without_ma)


def test_render_jkx_csv_matches_jkx_chart_on_real_windows(tmp_path, capsys):
    import torch_render

    path = shared_csv()
    if path is None:
        pytest.skip("no real data: ../shared/data has no *.csv.gz")
    result = cli_in_process(capsys, "render", "--chart", "jkx", "--csv", path, "--count", "6",
                            "--dtype", "uint8", "--sheet", "6", "--out", "real.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", skiprows=1)  # timestamp, open, high, low, close, volume
    n = len(table)
    stride = (n - 20) // 5  # 6 windows spread over the file
    starts = [i * stride for i in range(6)]
    ma_all = loop_moving_average(table[:, 4].tolist(), 20)
    ohlc = torch.tensor(np.stack([table[s : s + 20, 1:5] for s in starts]))
    volume = torch.tensor(np.stack([table[s : s + 20, 5] for s in starts]))
    ma = torch.tensor([ma_all[s : s + 20] for s in starts], dtype=torch.float64)
    assert ma[0].isnan().sum() == 19 and not ma[1:].isnan().any()  # history before all windows but the first
    images = torch_render.jkx_chart(ohlc, volume, ma[:, None])
    sheet = read_png(str(tmp_path / "real.png"))
    assert sheet.shape == sheet_size(6, 3, 64, 60)
    np.testing.assert_array_equal(sheet, contact_sheet(images, 3).numpy())
    assert (images[:, 0, -12:] == 255).any(dim=(1, 2)).all()  # a volume panel of int(64 / 5) = 12 rows
    assert (images[:, 0, -13] == 0).all()  # the black gap row above it


def test_unknown_chart_is_a_usage_error(tmp_path):
    result = run_cli("render", "--chart", "pie", "--out", "x.png", cwd=str(tmp_path))
    assert result.returncode == 2
    line = assert_one_line_error(result, "argument --chart: invalid choice: 'pie'")
    for chart in ("line", "ohlc", "candle", "jkx"):
        assert f"'{chart}'" in line
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--chart", "jkx", "--length", "30"], ["--chart jkx --length 30: give --height", "5, 20, 60"]),
        (["--chart", "jkx", "--width", "61"], ["--chart jkx --length 20", "3 * L = 60", "got --width 61"]),
        (["--chart", "ohlc", "--width", "50"], ["--chart ohlc: --width 50 is narrower than --length 100"]),
        (["--chart", "candle", "--length", "9", "--width", "8"], ["--chart candle: --width 8", "--length 9"]),
    ],
)
def test_chart_sizes_that_cannot_be_drawn(tmp_path, capsys, args, needles):
    result = cli_in_process(capsys, "render", *args, "--out", "x.png", cwd=tmp_path)
    assert result.returncode == 2
    assert_one_line_error(result, *needles)
    assert not (tmp_path / "x.png").exists()


def test_chart_default_sizes(tmp_path, capsys):
    cases = (
        (["--chart", "jkx"], "64x60"),  # 20 bars by default
        (["--chart", "jkx", "--length", "5"], "32x15"),
        (["--chart", "jkx", "--length", "60"], "96x180"),
        (["--chart", "jkx", "--length", "7", "--height", "40"], "40x21"),
        (["--chart", "candle", "--length", "5"], "500x800"),
    )
    for args, size in cases:
        result = cli_in_process(capsys, "render", *args, "--count", "2", "--sheet", "0", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"charts of {size} on cpu" in result.stdout


def test_render_ohlc_csv_without_ohlc_columns_is_an_error(tmp_path, capsys):
    csv = tmp_path / "closes.csv"
    csv.write_text("timestamp,close\n" + "".join(f"{60 * i},{100 + i}\n" for i in range(30)))
    line = cli_in_process(capsys, "render", "--csv", str(csv), "--count", "2", "--length", "5",
                          "--sheet", "0", cwd=tmp_path)
    assert line.returncode == 0, line.stderr  # a line chart needs only the closes
    result = cli_in_process(capsys, "render", "--chart", "ohlc", "--csv", str(csv), "--count", "2",
                            "--length", "5", "--width", "20", "--sheet", "0", cwd=tmp_path)
    assert result.returncode == 1
    assert_one_line_error(result, str(csv), "the header has no 'open', 'high', 'low', 'volume' column")


# --- synthetic closes --------------------------------------------------------------


def test_synthetic_closes():
    a = synthetic_closes(32, 100, seed=3)
    assert a.shape == (32, 100) and a.dtype == torch.float64
    assert torch.isfinite(a).all() and (a > 0).all()
    assert (a[:, 0] == 30000.0).all()
    assert torch.equal(a, synthetic_closes(32, 100, seed=3))
    assert not torch.equal(a, synthetic_closes(32, 100, seed=4))
    assert len(set(a[:, -1].tolist())) == 32  # the series differ from one another


def test_synthetic_closes_independent_of_global_rng():
    torch.manual_seed(0)
    a = synthetic_closes(4, 50)
    state = torch.get_rng_state()
    torch.manual_seed(123)
    b = synthetic_closes(4, 50)
    assert torch.equal(a, b)
    torch.manual_seed(0)
    synthetic_closes(4, 50)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched


def test_synthetic_ohlcv_bars_summarise_the_tick_path():
    from torch_render.synthetic import synthetic_ohlcv

    ohlc, volume = synthetic_ohlcv(3, 7, seed=5, ticks=4)
    assert ohlc.shape == (3, 7, 4) and volume.shape == (3, 7) and ohlc.dtype == torch.float64
    path = synthetic_closes(3, 29, seed=5).tolist()  # 7 bars of 4 steps: 29 points
    for b in range(3):
        for i in range(7):
            piece = path[b][4 * i : 4 * i + 5]
            assert ohlc[b, i].tolist() == [piece[0], max(piece), min(piece), piece[-1]]
    assert (volume > 0).all() and volume.isfinite().all()
    again, again_volume = synthetic_ohlcv(3, 7, seed=5, ticks=4)
    assert torch.equal(again, ohlc) and torch.equal(again_volume, volume)
    assert not torch.equal(synthetic_ohlcv(3, 7, seed=6)[1], volume)


def test_synthetic_closes_options():
    a = synthetic_closes(5, 20, start_price=100.0, volatility=0.0, dtype=torch.float32)
    assert a.dtype == torch.float32 and torch.allclose(a, torch.full((5, 20), 100.0))
    assert synthetic_closes(0, 10).shape == (0, 10)
    assert synthetic_closes(3, 1).shape == (3, 1)
    returns = synthetic_closes(200, 500, volatility=1e-3).log().diff(dim=-1)
    assert 5e-4 < returns.std().item() < 2e-3
    with pytest.raises(ValueError, match="length"):
        synthetic_closes(2, 0)
    with pytest.raises(ValueError, match="start_price"):
        synthetic_closes(2, start_price=-1.0)


# --- PNG and contact sheet ---------------------------------------------------------


def test_write_png_round_trip(tmp_path):
    grey = torch.randint(0, 256, (7, 11), dtype=torch.uint8)
    write_png(tmp_path / "g.png", grey)
    np.testing.assert_array_equal(read_png(str(tmp_path / "g.png")), grey.numpy())

    rgb = torch.randint(0, 256, (5, 3, 3), dtype=torch.uint8)
    write_png(str(tmp_path / "c.png"), rgb)
    np.testing.assert_array_equal(read_png(str(tmp_path / "c.png")), rgb.numpy())

    floats = torch.tensor([[0.0, 0.5, 1.0], [-1.0, 2.0, float("nan")]])
    write_png(tmp_path / "f.png", floats)
    np.testing.assert_array_equal(read_png(str(tmp_path / "f.png")), [[0, 128, 255], [0, 255, 0]])


def test_write_png_rejects_bad_shapes(tmp_path):
    for shape in [(4,), (2, 3, 4), (0, 5), (1, 2, 3, 3)]:
        with pytest.raises(ValueError, match="write_png"):
            write_png(tmp_path / "x.png", torch.zeros(shape, dtype=torch.uint8))


def test_contact_sheet():
    images = torch.arange(5, dtype=torch.float32).view(5, 1, 1, 1).expand(5, 2, 3, 4) / 10
    sheet = contact_sheet(images, columns=2, pad=1)
    assert sheet.shape == sheet_size(5, 2, 3, 4, pad=1)
    assert sheet[1:4, 1:5].eq(0.0).all() and sheet[1:4, 6:10].eq(0.1).all()
    assert sheet[9:12, 1:5].eq(0.4).all()
    assert sheet[9:12, 6:10].eq(0.5).all()  # the empty cell
    assert sheet[0].eq(0.5).all() and sheet[:, 5].eq(0.5).all()
    u8 = contact_sheet(torch.zeros(2, 1, 3, 3, dtype=torch.uint8), columns=4)
    assert u8.dtype == torch.uint8 and u8.shape == sheet_size(2, 2, 3, 3)
    assert u8.max() == 128


# --- kline files ---------------------------------------------------------------------

BINANCE_ROWS = [
    "1672531200000,16541.77,16545.70,16508.39,16529.67,4364.83,1672531259999,7.2e7,5000,2200.1,3.6e7,0",
    "1672531260000,16529.59,16556.80,16525.78,16551.47,3590.06,1672531319999,5.9e7,4800,1900.3,3.1e7,0",
    "1672531320000,16551.47,16559.77,16538.14,16548.19,3646.06,1672531379999,6.0e7,4700,1800.0,3.0e7,0",
]
BINANCE_CLOSES = [16529.67, 16551.47, 16548.19]


def test_read_closes_binance_csv(tmp_path):
    path = tmp_path / "BTCUSDT-1m-2023-01.csv"
    path.write_text("\n".join(BINANCE_ROWS) + "\n\n")
    closes = read_closes(path)
    assert closes.dtype == torch.float64 and closes.tolist() == BINANCE_CLOSES


def test_read_closes_binance_zip(tmp_path):
    path = tmp_path / "BTCUSDT-1m-2023-01.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTCUSDT-1m-2023-01.csv", "\r\n".join(BINANCE_ROWS) + "\r\n")
    assert read_closes(path).tolist() == BINANCE_CLOSES

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("x.csv", BINANCE_ROWS[0] + "\n" + BINANCE_ROWS[1][:-2] + "\n")
    with pytest.raises(ValueError, match=r"bad\.zip \(x\.csv\): line 2: expected 12 fields, got 11"):
        read_closes(bad)


def test_read_closes_generic_csv(tmp_path):
    text = "timestamp,open,high,low,close,volume\n1,10,12,9,11.5,3\n2,11.5,13,11,12.25,4\n"
    plain = tmp_path / "plain.csv"
    plain.write_text(text)
    gz = tmp_path / "no_suffix"  # gzip recognised by its magic bytes, not the name
    gz.write_bytes(gzip.compress(text.encode()))
    assert read_closes(plain).tolist() == [11.5, 12.25]
    assert read_closes(gz).tolist() == [11.5, 12.25]

    header_only = tmp_path / "empty.csv"
    header_only.write_text("Open,High,Low,Close\n")
    assert read_closes(header_only).shape == (0,)


@pytest.mark.parametrize(
    "text, message",
    [
        ("timestamp,open,close\n1,2,3\n2,3\n", r"short\.csv: line 3: expected 3 fields, got 2"),
        ("a,b,c\n1,2,3\n", r"short\.csv: line 1: expected a header with a 'close' column"),
        ("", r"short\.csv: no data"),
    ],
)
def test_read_closes_errors(tmp_path, text, message):
    path = tmp_path / "short.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_closes(path)


def test_read_closes_corrupt_gzip(tmp_path):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(b"timestamp,close\n" + b"1,2\n" * 1000)[:40])
    with pytest.raises(ValueError, match=r"cut\.csv\.gz: corrupt compressed file"):
        read_closes(path)


def test_read_closes_shared_data():
    path = shared_csv()
    if path is None:
        pytest.skip("no real data: ../shared/data has no *.csv.gz")
    closes = read_closes(path)
    np.testing.assert_array_equal(closes.numpy(), load_closes(path))
