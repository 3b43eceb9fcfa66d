"""Which minutes did the chart classifier look at? Attribution through the renderer.

Trains the small CNN of ``examples/train_classifier.py`` (its ``ChartClassifier``:
``torch_render.LineChart`` first, so the model takes windows of 100 closes and draws
their line charts itself) on real windows, or loads one that script saved with
``--save``; then attributes the model's "up" logit for one validation window onto
each of its 100 closes, back through ``render_line``:

- gradient x input: ``g_i * (x_i - mean(x))``, the first-order share of each close
  in ``logit(x) - logit(baseline)``;
- integrated gradients (IG): ``(x_i - b_i) * mean_k g_i(b + a_k (x - b))`` over
  ``--steps`` intervals of the straight path from the baseline ``b`` (trapezoid
  rule), the path's series rendered and run in batches of 256; by completeness the
  attributions add up to ``logit(x) - logit(b)``, and the script prints how far the
  sum is off. The logit wiggles along the path (the line crosses pixel rows as it
  grows from flat to the window's shape; its total variation is printed too), so
  IG needs a few hundred steps to come within a few % of the net change.

The baseline ``b`` is the flat series at the window's mean: "no movement in this
window". Why relative to it, and not raw price x gradient: the chart of a window
does not change when the window is shifted or scaled (each chart is drawn on its
own min/max), so ``g . x = 0`` and ``sum(g) = 0``; ``x_i * g_i`` is then ``level *
g_i`` plus a small rest, the gradient multiplied by the BTC price (about 28,000),
which says nothing about the close itself. ``(x_i - mean) * g_i`` keeps only the
close's move within its window.

The price axis is held at the window's own [min, max] along the path (``value_range``
detached): at ``x`` itself that is exactly the chart the classifier sees, so the
logit is the model's. With the autoscaled axis a straight path from a flat series
would draw the same chart at every point but the first (``b + a (x - b)`` is ``x``
shifted and scaled) and IG would give zero, far from ``logit(x) - logit(b)``.
The plain gradient of the model as it runs (autoscaled, including the terms through
the window's min and max) is reported too.

    python examples/saliency.py                          # train 1 epoch on the CPU, write saliency.png
    python examples/saliency.py --max-steps 20 --steps 1024  # a quick look (what the tests run)
    python examples/train_classifier.py --epochs 3 --save clf.pt && python examples/saliency.py --checkpoint clf.pt
    python examples/saliency.py --device cuda --epochs 3 --steps 2048

Needs matplotlib for the PNG (requirements/test.txt); torch_render itself does not.
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import sys
import time
from typing import Optional

import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler

import torch_render
from torch_render.data import WindowDataset, load_klines
from torch_render.synthetic import synthetic_closes

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_classifier import (SHARED_DATA, ChartClassifier, _HelpFormatter, check_device,  # noqa: E402
                              run_epoch, split)

LENGTH = 100  # closes per window, as in train_classifier
HORIZON = 5  # label: sign of the return this many minutes ahead
SYNTHETIC_MINUTES = 20_000
FIGURE_INCHES = (10.0, 7.0)  # at FIGURE_DPI: a 1000 x 700 PNG
FIGURE_DPI = 100


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Attribute a chart classifier's 'up' logit onto each close of a window, "
                    "through torch_render.render_line (gradient x input and integrated gradients).",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--data", metavar="PATH",
        help="kline file (as train_classifier --csv); default: the first "
             f"{os.path.join(SHARED_DATA, '*.csv.gz')}, else synthetic closes",
    )
    parser.add_argument("--synthetic", action="store_true", help="use synthetic closes even where a file is present")
    parser.add_argument("--out", default="saliency.png", help="the PNG to write")
    parser.add_argument("--steps", type=int, default=512, help="integrated-gradient steps (trapezoid rule)")
    parser.add_argument("--epochs", type=int, default=1, help="training passes (without --checkpoint)")
    parser.add_argument(
        "--max-steps", type=int, metavar="N",
        help="at most N training batches per epoch and N validation batches (quick runs, tests)",
    )
    parser.add_argument("--batch", type=int, default=128, help="training batch")
    parser.add_argument("--height", type=int, default=64, help="chart height the model sees")
    parser.add_argument("--width", type=int, default=96, help="chart width the model sees")
    parser.add_argument(
        "--checkpoint", metavar="PATH",
        help="a model saved by train_classifier.py --save (TorchScript) instead of training; "
             "its own chart size is used",
    )
    parser.add_argument(
        "--window", type=int, metavar="I",
        help="index of the window to explain (in the dataset, time order); default: the "
             "validation window (among those looked at) with the largest 'up' logit",
    )
    parser.add_argument(
        "--attributions", metavar="PATH",
        help="also save the window, its baseline, both attributions and the path's logits (torch.save)",
    )
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu", help="where the model trains and the charts are drawn"
    )
    parser.add_argument("--seed", type=int, default=0, help="weights, shuffling, synthetic closes")
    return parser


def load_closes(path: Optional[str], seed: int, synthetic: bool = False) -> tuple[torch.Tensor, str]:
    """[T] float64 closes (NaN for missing minutes) and where they came from."""
    if path is None and not synthetic:
        files = sorted(glob.glob(os.path.join(SHARED_DATA, "*.csv.gz")))
        path = files[0] if files else None
    if path is None or synthetic:
        return synthetic_closes(1, SYNTHETIC_MINUTES, seed=seed)[0], f"{SYNTHETIC_MINUTES} synthetic minutes"
    try:
        klines = load_klines(path, reindex=True)
    except (OSError, ValueError) as e:
        raise SystemExit(f"saliency: {e}") from None
    return klines.close, f"{os.path.basename(path)} ({len(klines)} minutes)"


def up_logit(model: nn.Module, series: torch.Tensor, value_range: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The "up" logit [B] of ``ChartClassifier`` (or its scripted form) for windows
    ``series`` [B, L], with the charts drawn on ``value_range`` [B, 2] (None: each
    window's own min/max, as the model draws them)."""
    images = model.chart(series, value_range)
    return model.head(model.features(images).mean(dim=(2, 3)))[:, 1]


def _move(x: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
    """x - baseline, 0 at the gaps (NaN minutes, whose gradient is 0)."""
    return torch.where(x.isfinite(), x - baseline, torch.zeros_like(x))


def gradient_x_input(model: nn.Module, x: torch.Tensor, baseline: torch.Tensor, value_range: torch.Tensor):
    """(attribution [L], gradient [L]) of the up logit at ``x`` [L], axis held at ``value_range`` [2]."""
    series = x[None].clone().requires_grad_()
    (grad,) = torch.autograd.grad(up_logit(model, series, value_range[None]).sum(), series)
    return grad[0] * _move(x, baseline), grad[0]


def integrated_gradients(
    model: nn.Module, x: torch.Tensor, baseline: torch.Tensor, value_range: torch.Tensor, steps: int,
    chunk: int = 256,
) -> tuple[torch.Tensor, torch.Tensor]:
    """IG of the up logit onto ``x`` [L] from ``baseline`` [L], the price axis held at
    ``value_range`` [2]: (attributions [L], the up logits [steps + 1] along the path,
    from the baseline's to x's).

    The trapezoid rule over ``steps`` intervals of the straight path: the path's
    series are drawn by ``render_line`` ``chunk`` at a time (one batch each, which
    bounds the memory of the CNN's activations) and their gradients come back from
    one backward per chunk; the images of a batch are independent."""
    alphas = torch.linspace(0.0, 1.0, steps + 1, dtype=x.dtype, device=x.device)
    weights = torch.full_like(alphas, 1.0 / steps)
    weights[0] = weights[-1] = 0.5 / steps
    total = torch.zeros_like(x)
    logits = []
    for start in range(0, steps + 1, chunk):
        a = alphas[start : start + chunk]
        path = (baseline + a[:, None] * (x - baseline)).requires_grad_()  # [chunk, L]
        out = up_logit(model, path, value_range.expand(a.numel(), 2))
        (grads,) = torch.autograd.grad(out.sum(), path)
        total += (weights[start : start + chunk, None] * grads.nan_to_num(0.0)).sum(0)
        logits.append(out.detach())
    return _move(x, baseline) * total, torch.cat(logits)


def train(args: argparse.Namespace, dataset: WindowDataset, device: torch.device) -> nn.Module:
    train_set, val_set = split(dataset, purge=LENGTH + HORIZON)
    sampler = RandomSampler(train_set, generator=torch.Generator().manual_seed(args.seed))
    loader = DataLoader(train_set, sampler=sampler, batch_size=args.batch, drop_last=True)
    val_loader = DataLoader(val_set, batch_size=args.batch)
    model = ChartClassifier(args.height, args.width).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for epoch in range(1, args.epochs + 1):
        loss, correct, samples, seconds = run_epoch(model, loader, device, optimizer, args.max_steps, None)
        vloss, vcorrect, vsamples, _ = run_epoch(model, val_loader, device, None, args.max_steps, None)
        print(f"epoch {epoch}/{args.epochs}: train loss {loss / samples:.4f} acc {correct / samples:.4f} "
              f"({samples} windows, {seconds:.1f} s) | val loss {vloss / vsamples:.4f} "
              f"acc {vcorrect / vsamples:.4f} ({vsamples} windows)", flush=True)
    return model


def pick_window(model: nn.Module, dataset: WindowDataset, device: torch.device, args: argparse.Namespace) -> int:
    """The validation window with the largest up logit among the first ones looked at."""
    _, val_set = split(dataset, purge=LENGTH + HORIZON)
    count = len(val_set) if args.max_steps is None else min(len(val_set), args.max_steps * args.batch)
    best, best_index = -math.inf, val_set.indices[0]
    with torch.no_grad():
        for start in range(0, count, 1024):
            idx = val_set.indices[start : min(start + 1024, count)]
            batch = torch.stack([dataset[i][0] for i in idx]).to(device)
            logits = up_logit(model, batch)
            value, where = logits.max(0)
            if float(value) > best:
                best, best_index = float(value), idx[int(where)]
    return best_index


def plot(path: str, x: torch.Tensor, gxi: torch.Tensor, ig: torch.Tensor, title: str, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    height, width = 240, 800
    chart = torch_render.render_line(x[None].double().cpu(), height, width)[0, 0]  # the same window, larger
    columns = torch.arange(x.numel()) * ((width - 1) / (x.numel() - 1))  # point i's column (margin 0)
    fig, axes = plt.subplots(
        3, 1, figsize=FIGURE_INCHES, dpi=FIGURE_DPI, sharex=True, gridspec_kw=dict(height_ratios=[1.6, 1, 1])
    )
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)  # pixel centres at integer x: the bars' coordinates
    axes[0].imshow(chart, cmap="gray", vmin=0.0, vmax=1.0, aspect="auto", extent=extent)
    axes[0].set_yticks([])
    axes[0].set_title(title, fontsize=10)
    for ax, values, name in ((axes[1], gxi, "gradient x\n(close - mean)"), (axes[2], ig, "integrated\ngradients")):
        values = values.detach().double().cpu()
        colours = ["tab:green" if v >= 0 else "tab:red" for v in values.tolist()]
        ax.bar(columns.numpy(), values.numpy(), width=0.8 * width / x.numel(), color=colours)
        ax.axhline(0.0, color="black", linewidth=0.5)
        ax.set_ylabel(name, fontsize=9)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    ticks = list(range(0, x.numel(), 10)) + [x.numel() - 1]
    axes[2].set_xticks([float(columns[i]) for i in ticks], [str(i) for i in ticks])
    axes[2].set_xlabel(f"minute in the window (green: towards 'up', red: towards 'down')   {note}", fontsize=9)
    axes[2].set_xlim(-0.5, width - 0.5)
    fig.align_ylabels(axes)
    fig.subplots_adjust(left=0.12, right=0.98, top=0.94, bottom=0.08, hspace=0.2)
    fig.savefig(path, dpi=FIGURE_DPI)  # no bbox_inches: the PNG is exactly FIGURE_INCHES * FIGURE_DPI
    plt.close(fig)


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("steps", "epochs", "batch", "height", "width"):
        if getattr(args, name) < 1:
            raise SystemExit(f"saliency: --{name} must be >= 1, got {getattr(args, name)}")
    if args.max_steps is not None and args.max_steps < 1:
        raise SystemExit(f"saliency: --max-steps must be >= 1, got {args.max_steps}")
    why = check_device(args.device)
    if why is not None:
        raise SystemExit(f"saliency: --device {args.device}: {why}")
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    start = time.perf_counter()

    closes, source = load_closes(args.data, args.seed, args.synthetic)
    dataset = WindowDataset(closes.to(torch.float32), LENGTH, HORIZON, close=closes)
    print(f"data: {source}: {len(dataset)} windows of {LENGTH} closes, label: sign of the {HORIZON}-minute return")
    if args.checkpoint:
        model = torch.jit.load(args.checkpoint, map_location=device)
        print(f"model: {args.checkpoint} ({model.chart.height}x{model.chart.width} charts)")
    else:
        model = train(args, dataset, device)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)  # gradients to the closes only

    index = pick_window(model, dataset, device, args) if args.window is None else args.window
    if not 0 <= index < len(dataset):
        raise SystemExit(f"saliency: --window must be in [0, {len(dataset)}), got {index}")
    window, label = dataset[index]
    # float64 on the path: the renderer takes any floating dtype and computes the
    # positions from it; the CNN runs in float32 on the rendered images.
    x = window.to(device, torch.float64)
    if not bool(x.isfinite().all()):
        print(f"note: window {index} has missing minutes (gaps get zero attribution)")
    finite = x[x.isfinite()]
    mean = finite.mean()
    baseline = torch.where(x.isfinite(), mean, x)  # flat at the mean, keeping the gaps where they are
    value_range = torch.stack([finite.min(), finite.max()])  # the window's own axis, fixed (no grad)

    gxi, grad = gradient_x_input(model, x, baseline, value_range)
    ig, path_logits = integrated_gradients(model, x, baseline, value_range, args.steps)
    logit_x, logit_b = float(path_logits[-1]), float(path_logits[0])
    variation = float((path_logits[1:] - path_logits[:-1]).abs().sum())
    # The model as it runs (autoscaled axis): its gradient, with the min/max terms.
    series = x[None].clone().requires_grad_()
    logit_auto = up_logit(model, series)
    (grad_auto,) = torch.autograd.grad(logit_auto.sum(), series)
    grad_auto = grad_auto[0]

    delta = logit_x - logit_b
    gap = float(ig.sum()) - delta
    prob = float(torch.softmax(model(x[None].float()), dim=1)[0, 1])
    finite_ok = bool(ig.isfinite().all() and gxi.isfinite().all())
    top = ig.abs().argsort(descending=True)[:5].tolist()
    print(f"window {index}: label {'up' if int(label) else 'down'}, p(up) {prob:.3f}, "
          f"up logit {logit_x:.4f} (as the model runs: {float(logit_auto.detach()):.4f})")
    print(f"baseline: flat at the window mean {float(mean):.2f}, up logit {logit_b:.4f}; "
          f"logit(x) - logit(baseline) = {delta:.4f}")
    print(f"integrated gradients, {args.steps} steps: sum {float(ig.sum()):.4f}, completeness gap {gap:+.2e} "
          f"({abs(gap) / max(abs(delta), 1e-12):.2%} of |logit(x) - logit(baseline)|; the logit moves "
          f"{variation:.4f} in all along the path)")
    print(f"gradient x (close - mean): sum {float(gxi.sum()):.4f}; cosine with IG "
          f"{float(nn.functional.cosine_similarity(gxi, ig, dim=0)):.3f}")
    print(f"autoscaled gradient (as the model runs): sum {float(grad_auto.sum()):+.2e}, "
          f"g . x {float(grad_auto @ x.nan_to_num(0.0)):+.2e} (both 0: a chart does not change when its window is "
          f"shifted or scaled), |g| {float(grad_auto.norm()):.3e}")
    print(f"largest |IG|: minutes {top}; attributions finite: {finite_ok}, "
          f"nonzero: {int((ig != 0).sum())}/{ig.numel()}")

    note = f"IG {args.steps} steps, completeness gap {gap:+.1e}"
    title = (f"window {index} ({'up' if int(label) else 'down'} next {HORIZON} min), p(up) {prob:.2f}: "
             f"attribution of the 'up' logit onto each close, through render_line")
    plot(args.out, x, gxi, ig, title, note)
    if args.attributions:
        torch.save(
            dict(window=index, series=x.cpu(), baseline=baseline.cpu(), value_range=value_range.cpu(),
                 gradient_x_input=gxi.cpu(), integrated_gradients=ig.cpu(), path_logits=path_logits.cpu(),
                 steps=args.steps, gradient_autoscaled=grad_auto.cpu()),
            args.attributions,
        )
    print(f"wrote {args.out} ({FIGURE_INCHES[0] * FIGURE_DPI:.0f}x{FIGURE_INCHES[1] * FIGURE_DPI:.0f}) "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
