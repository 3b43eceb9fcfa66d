"""Throughput of render_ohlc / jkx_chart at the JKX I20 layout against a per-window
Pillow drawer of the same rules and the cost of filling the same uint8 output.

    python benchmarks/bench_ohlc.py                 # B = 4096, one thread
    python benchmarks/bench_ohlc.py --quick         # smoke run

One table: method, median images/s, ratio to the Pillow drawer and to fill_out,
and the process CPU time over the wall time of the measurement (one thread on an
idle machine: about 1; on a shared one less, and the wall-clock rates with it);
then the issue's targets (op >= 1000x pillow, op >= 0.2x fill_out; the latter also
for jkx_chart into a reused output, as fill_out writes one) with PASS/MISS.
The op's methods and fill_out are measured in --rounds interleaved rounds (each
method --round-time seconds per round, in turn), so that a ratio compares rates
taken seconds apart on a machine whose neighbours come and go: the fill_out
ratios are the medians of the per-round ratios, with their range over the rounds.
The Pillow drawer is written here from the published rules (the paper's code draws
each window this way, one at a time), from NumPy arrays; "pillow + pandas" draws the
same way from a DataFrame slice per window whose prices pandas divides by the first
close, as the paper's pipeline feeds its drawer (skipped without pandas); mplfinance (a new figure per image) is the
slow reference when it is installed.
"""

from __future__ import annotations

import argparse
import gzip
import glob
import os
import statistics
import sys
import time

import numpy as np
import torch

import torch_render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
L, H, V = 20, 64, 12


def load_windows(batch: int):
    files = sorted(glob.glob(os.path.join(DATA, "*.csv.gz")))
    if files:
        with gzip.open(files[0], "rt") as f:
            table = np.loadtxt(f, delimiter=",", skiprows=1)[:, 1:6]
        source = os.path.basename(files[0])
    else:
        rng = np.random.default_rng(0)
        close = 100 + np.cumsum(rng.normal(size=batch + 2 * L))
        table = np.stack([close, close + 1, close - 1, close, rng.random(close.size)], axis=1)
        source = "synthetic"
    c = np.concatenate([[0.0], np.cumsum(table[:, 3])])
    ma = np.full(len(table), np.nan)
    ma[L - 1:] = (c[L:] - c[:-L]) / L
    starts = np.linspace(L, len(table) - L, batch).astype(np.int64)
    ohlc = np.stack([table[s:s + L, :4] for s in starts])
    vol = np.stack([table[s:s + L, 4] for s in starts])
    mas = np.stack([ma[s:s + L] for s in starts])[:, None, :]
    return ohlc, vol, mas, source


def draw_window(p, mm, v):
    """One I20 image with Pillow: ``p`` [L, 4] and ``mm`` [L] already divided by the
    first close, ``v`` [L] volumes."""
    from PIL import Image, ImageDraw

    P = H - V - 1
    allv = np.concatenate([p.ravel(), mm[np.isfinite(mm)]])
    lo, hi = allv.min(), allv.max()
    lv = np.rint((p - lo) * ((P - 1) / (hi - lo))).astype(int)
    lm = np.rint((mm - lo) * ((P - 1) / (hi - lo)))
    img = Image.new("L", (3 * L, P), 0)
    d = ImageDraw.Draw(img)
    for i in range(L):
        x = 3 * i + 1
        d.line([(x, lv[i, 2]), (x, lv[i, 1])], fill=255)
        d.line([(x - 1, lv[i, 0]), (x, lv[i, 0])], fill=255)
        d.point((x + 1, lv[i, 3]), fill=255)
    for j in range(L - 1):
        if np.isfinite(lm[j]) and np.isfinite(lm[j + 1]):
            d.line([(3 * j + 1, int(lm[j])), (3 * j + 4, int(lm[j + 1]))], fill=255)
    vimg = Image.new("L", (3 * L, V), 0)
    vd = ImageDraw.Draw(vimg)
    n = np.rint(np.abs(v) * (V / np.abs(v).max())).astype(int)
    for i in range(L):
        vd.line([(3 * i + 1, 0), (3 * i + 1, n[i] - 1)], fill=255)
    return np.concatenate([np.flipud(np.array(img)), np.zeros((1, 3 * L), np.uint8),
                           np.flipud(np.array(vimg))])


def pillow_drawer(ohlc, vol, ma):
    """One window at a time from NumPy arrays (prices / first close), drawn with Pillow."""
    out = []
    for o, v, m in zip(ohlc, vol, ma[:, 0]):
        scale = 1.0 / o[0, 3]
        out.append(draw_window(o * scale, m * scale, v))
    return np.stack(out)


def pandas_frame(ohlc, vol, ma):
    """The windows one after another in one DataFrame (made once, outside the timing)."""
    import pandas as pd

    B = len(ohlc)
    table = np.concatenate([ohlc.reshape(B * L, 4), vol.reshape(B * L, 1), ma[:, 0].reshape(B * L, 1)], axis=1)
    return pd.DataFrame(table, columns=["Open", "High", "Low", "Close", "Vol", "ma"])


def pillow_pandas_drawer(frame, windows: int):
    """The paper's pipeline: per window a DataFrame slice, its prices divided by the
    first close with pandas, the columns read from the frame, then the same Pillow
    drawing as pillow_drawer."""
    prices = ["Open", "High", "Low", "Close", "ma"]
    out = []
    for i in range(windows):
        df = frame.iloc[i * L:(i + 1) * L].copy()
        df[prices] = df[prices] * (1.0 / df["Close"].iloc[0])
        out.append(draw_window(df[["Open", "High", "Low", "Close"]].to_numpy(), df["ma"].to_numpy(),
                               df["Vol"].to_numpy()))
    return np.stack(out)


def mplfinance_drawer(ohlc, vol):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplfinance as mpf
    import pandas as pd

    for o, v in zip(ohlc, vol):
        df = pd.DataFrame(o, columns=["Open", "High", "Low", "Close"],
                          index=pd.date_range("2023-01-01", periods=L, freq="min"))
        df["Volume"] = v
        fig, _ = mpf.plot(df, type="ohlc", volume=True, mav=(L,), returnfig=True, figsize=(0.6, 0.64), axisoff=True)
        fig.savefig(io.BytesIO(), dpi=100)
        plt.close(fig)


def measure_once(fn, images: int, min_time: float) -> tuple[float, float, float]:
    """Images/s of calls for at least ``min_time`` seconds; their CPU and wall seconds."""
    n, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        n += images
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            break
    return n / elapsed, time.process_time() - cpu_start, elapsed


def measure(fn, images: int, min_time: float, repeats: int) -> tuple[float, float]:
    """Median images/s over ``repeats`` measurements after a warm-up call, and the
    process CPU time over the wall time of all of them: about 1 for one busy
    thread on an idle machine, more if other threads worked, less if the machine
    was shared (then wall-clock rates are slower than the code)."""
    fn()  # first-call costs: lazy initialisation, first touch of memory
    runs = [measure_once(fn, images, min_time) for _ in range(repeats)]
    return statistics.median(r for r, _, _ in runs), sum(c for _, c, _ in runs) / sum(w for _, _, w in runs)


def measure_rounds(methods: dict, min_time: float, rounds: int) -> tuple[dict, dict, dict]:
    """Each method once per round, in turn, ``rounds`` times (after a warm-up call
    each): per method its median images/s, its CPU share (as measure) and its rate
    in every round, for ratios of rates taken in the same round."""
    for fn, _ in methods.values():
        fn()
    per_round = {name: [] for name in methods}
    cpu = {name: 0.0 for name in methods}
    wall = {name: 0.0 for name in methods}
    for _ in range(rounds):
        for name, (fn, images) in methods.items():
            rate, c, w = measure_once(fn, images, min_time)
            per_round[name].append(rate)
            cpu[name] += c
            wall[name] += w
    return ({name: statistics.median(r) for name, r in per_round.items()},
            {name: cpu[name] / wall[name] for name in methods}, per_round)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3, help="measurements of each per-window drawer")
    ap.add_argument("--rounds", type=int, default=9, help="interleaved rounds of the op's methods and fill_out")
    ap.add_argument("--round-time", type=float, default=0.3, help="seconds per method per round")
    ap.add_argument("--pil-windows", type=int, default=200)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dump-windows", metavar="DIR",
                    help="write the windows (float64 ohlc, volume, ma) for benchmarks/cpp/ohlc_kernel.cpp and exit")
    args = ap.parse_args(argv)
    if args.quick:
        args.batch, args.min_time, args.repeats, args.pil_windows = 64, 0.05, 1, 8
        args.rounds, args.round_time = 2, 0.02
    torch.set_num_threads(args.threads)
    ohlc, vol, ma, source = load_windows(args.batch)
    if args.dump_windows:
        os.makedirs(args.dump_windows, exist_ok=True)
        for name, a in (("ohlc", ohlc), ("volume", vol), ("ma", ma)):
            np.ascontiguousarray(a, dtype=np.float64).tofile(os.path.join(args.dump_windows, f"{name}.f64"))
        print(f"{args.batch} windows of {source} in {args.dump_windows}")
        return {}
    t_ohlc, t_vol, t_ma = torch.from_numpy(ohlc), torch.from_numpy(vol), torch.from_numpy(ma)
    scaled = t_ohlc * (1.0 / t_ohlc[:, :1, 3:4])
    scaled_ma = t_ma * (1.0 / t_ohlc[:, :1, 3:4])
    out = torch.empty(args.batch, 1, H, 3 * L, dtype=torch.uint8)
    # The op equals the drawer here (a check, not a test: tests/test_jkx.py is the test).
    k = min(args.pil_windows, args.batch)
    same = np.array_equal(torch_render.jkx_chart(t_ohlc[:k], t_vol[:k], t_ma[:k])[:, 0].numpy(),
                          pillow_drawer(ohlc[:k], vol[:k], ma[:k]))
    fast = {
        "op (jkx_chart)": (lambda: torch_render.jkx_chart(t_ohlc, t_vol, t_ma), args.batch),
        "op_out (jkx_chart, out=)": (lambda: torch_render.jkx_chart(t_ohlc, t_vol, t_ma, out=out), args.batch),
        "op_out (render_ohlc, out=)": (lambda: torch_render.render_ohlc(
            scaled, H, volume=t_vol, overlays=scaled_ma, volume_rows=V, background=0.0, foreground=1.0,
            out=out), args.batch),
        "fill_out": (lambda: out.fill_(0), args.batch),
    }
    methods = {"pillow (per window)": (lambda: pillow_drawer(ohlc[:k], vol[:k], ma[:k]), k)}
    try:
        frame = pandas_frame(ohlc[:k], vol[:k], ma[:k])
        same = same and np.array_equal(pillow_pandas_drawer(frame, k), pillow_drawer(ohlc[:k], vol[:k], ma[:k]))
        methods["pillow + pandas (per window)"] = (lambda: pillow_pandas_drawer(frame, k), k)
    except ImportError:
        print("pandas: not installed, the pillow + pandas drawer skipped", file=sys.stderr)
    try:
        import mplfinance  # noqa: F401

        methods["mplfinance (new figure)"] = (lambda: mplfinance_drawer(ohlc[:4], vol[:4]), 4)
    except ImportError:
        print("mplfinance: not installed, skipped", file=sys.stderr)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"measuring {', '.join(fast)}: {args.rounds} interleaved rounds ...", file=sys.stderr)
    rates, shares, per_round = measure_rounds(fast, args.round_time, args.rounds)
    for name, (fn, n) in methods.items():
        print(f"measuring {name} ...", file=sys.stderr)
        rates[name], shares[name] = measure(fn, n, args.min_time, args.repeats)
    pil, fill = rates["pillow (per window)"], rates["fill_out"]
    print(f"I20 layout: {H}x{3 * L} uint8, volume and {L}-bar MA, B = {args.batch}, "
          f"{torch.get_num_threads()} torch thread(s), data {source}, torch {torch.__version__}; "
          f"op == pillow: {same}")
    # Which build is measured: an editable install elsewhere wins over this
    # checkout unless the checkout is first on PYTHONPATH.
    pkg = os.path.dirname(os.path.abspath(torch_render.__file__))
    here = "" if pkg.startswith(ROOT + os.sep) else f" (not this checkout's: PYTHONPATH={ROOT})"
    print(f"torch_render from {pkg}{here}")
    print(f"{cpu_model()}, {os.cpu_count()} CPUs, load average {load:.2f} before, "
          f"{os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan'):.2f} after")
    print(f"{'method':32s} {'images/s':>12s} {'x pillow':>10s} {'x fill_out':>11s} {'cpu/wall':>9s}")
    for name, r in rates.items():
        print(f"{name:32s} {r:12.0f} {r / pil:10.1f} {r / fill:11.3f} {shares[name]:9.2f}")
    # Ratios to fill_out round by round (rates seconds apart), their median and range.
    paired = {}
    for name in fast:
        ratios = [a / f for a, f in zip(per_round[name], per_round["fill_out"])]
        paired[name] = (statistics.median(ratios), min(ratios), max(ratios))
    print(f"per-round ratio to fill_out over {args.rounds} rounds: median (min .. max)")
    for name in fast:
        if name != "fill_out":
            med, lo, hi = paired[name]
            print(f"  {name:32s} {med:.3f} ({lo:.3f} .. {hi:.3f})")
    op = rates["op (jkx_chart)"]
    targets = [("op >= 1000x pillow", op / pil, 1000.0)]
    if "pillow + pandas (per window)" in rates:
        targets.append(("op >= 1000x pillow + pandas", op / rates["pillow + pandas (per window)"], 1000.0))
    targets += [("op >= 0.2x fill_out", paired["op (jkx_chart)"][0], 0.2),
                ("op_out (jkx_chart, out=) >= 0.2x fill_out", paired["op_out (jkx_chart, out=)"][0], 0.2)]
    for text, got, want in targets:
        print(f"target {text}: {got:.3g} {'PASS' if got >= want else 'MISS'}")
    return {"rates": rates, "cpu_share": shares, "same": same, "per_round": per_round,
            "targets": {t: (g, g >= w) for t, g, w in targets}}


if __name__ == "__main__":
    main()
