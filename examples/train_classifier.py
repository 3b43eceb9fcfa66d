"""Train a small CNN on chart images of price windows, rendered on the device per batch.

The dataset holds only the prices: each item is a window (a view of the series, no
copy) and the sign of the return over the next ``--horizon`` minutes (0 down or
flat, 1 up). The model's first layer draws the charts, so every batch of windows
is drawn on the training device right before the CNN sees it: no image is ever
stored or copied to the host.

- ``--chart line`` (default): line charts of ``--length`` closes
  (``torch_render.LineChart``).
- ``--chart jkx``: the OHLC images of Jiang, Kelly & Xiu (``torch_render.jkx_chart``):
  ``--length`` one-minute bars (default 20: 64x60 images), a volume panel and the
  20-bar moving average of closes, computed on the whole series so that each
  window's average has the 19 minutes of history before it. An item is the
  ``[6, L]`` window of open, high, low, close, volume and moving average.

The split is chronological (the last 20% of the windows validate), with a purge of
``length + horizon`` windows (plus the moving average's 19 minutes of history for
jkx) between train and validation so that no validation window shares a minute
with a training window's chart or label.

    python examples/train_classifier.py                         # bundled BTC data, CPU
    python examples/train_classifier.py --chart jkx             # 20-minute JKX images
    python examples/train_classifier.py --device cuda --height 500 --width 800
    torchrun --standalone --nproc-per-node 2 examples/train_classifier.py   # DDP, gloo on the CPU

The default image size (64x96) keeps CPU training quick; the charts of the real use
are 500x800 (``--height 500 --width 800``, on a GPU). Under ``torchrun`` (RANK and
WORLD_SIZE set) each process joins the group (gloo on the CPU, nccl on CUDA),
draws its own share of the batches (DistributedSampler) and trains a
DistributedDataParallel replica; rank 0 prints the summary. ``--save PATH`` writes
the trained model as TorchScript (it draws its own input, so it takes windows of
closes, also from C++ with LibTorch); for ``--chart line`` only (``jkx_chart``
does not script).
"""

from __future__ import annotations

import argparse
import gc
import glob
import os
import sys
import time
from typing import Optional

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, Subset

import torch_render
from torch_render.data import WindowDataset, load_klines, moving_average
from torch_render.ohlc import JKX_HEIGHTS
from torch_render.synthetic import synthetic_closes, synthetic_ohlcv

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
SYNTHETIC_MINUTES = 66_000  # about the length of the bundled file (46 days)
VAL_FRACTION = 0.2
MA_BARS = 20  # the moving average of --chart jkx


def cnn(classes: int) -> tuple[nn.Module, nn.Module]:
    """A small CNN (features, head) whose global average pool makes it work at any
    image size."""

    def block(cin: int, cout: int, kernel: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, kernel, stride=2, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    features = nn.Sequential(block(1, 16, 5), block(16, 32, 3), block(32, 64, 3), block(64, 64, 3))
    return features, nn.Linear(64, classes)


class ChartClassifier(nn.Module):
    """Windows of closes ``[B, L]`` (any floating dtype) -> class logits ``[B, classes]``.

    The first layer draws the charts (``LineChart``: each window scaled to its own
    min/max, black line on white), the rest is the small CNN of :func:`cnn`.
    Scriptable with ``torch.jit.script``.
    """

    def __init__(self, height: int = 64, width: int = 96, *, line_width: float = 3.0, classes: int = 2) -> None:
        super().__init__()
        self.chart = torch_render.LineChart(height, width, line_width=line_width)
        self.features, self.head = cnn(classes)

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        images = self.chart(series)  # [B, 1, H, W] on the device of series
        features = self.features(images).mean(dim=(2, 3))
        return self.head(features)


class JKXClassifier(nn.Module):
    """Windows ``[B, 6, L]`` of open, high, low, close, volume and moving average ->
    class logits ``[B, classes]``.

    The first step draws the JKX images with ``torch_render.jkx_chart`` on the
    device of the windows (``[B, 1, H, 3 L]`` uint8, white bars, volume panel and
    moving average on black; H = 64 for 20 bars), scaled to [0, 1]; the rest is the
    small CNN of :func:`cnn`.
    """

    def __init__(self, height: int, *, classes: int = 2) -> None:
        super().__init__()
        self.height = height
        self.features, self.head = cnn(classes)

    def images(self, windows: torch.Tensor) -> torch.Tensor:
        """The JKX images of a batch of windows, uint8 ``[B, 1, H, 3 L]``."""
        ohlc = windows[:, :4].transpose(1, 2)  # [B, L, 4], a view
        return torch_render.jkx_chart(ohlc, windows[:, 4], windows[:, 5:6], height=self.height)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        images = self.images(windows).to(torch.float32).div_(255.0)
        features = self.features(images).mean(dim=(2, 3))
        return self.head(features)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except an absent (None or False) one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False):
            return action.help or ""
        return super()._get_help_string(action) or ""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(
            "Train a small CNN to tell whether the close goes up over the next minutes, "
            "from line charts of price windows rendered on the training device per batch."
        ),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--csv", metavar="PATH",
        help="kline file (CSV with a header, Binance CSV or .zip, gzip or not); default: "
             f"the first {os.path.join(SHARED_DATA, '*.csv.gz')} if present, else "
             f"{SYNTHETIC_MINUTES} synthetic minutes",
    )
    parser.add_argument(
        "--synthetic", action="store_true", help="use synthetic prices even where a file is present"
    )
    parser.add_argument(
        "--chart", choices=("line", "jkx"), default="line",
        help="line: line charts of closes; jkx: Jiang-Kelly-Xiu OHLC images with volume and a "
             f"{MA_BARS}-bar moving average (jkx_chart)",
    )
    parser.add_argument(
        "--length", type=int, help="closes (bars) per window (chart); default 100, for jkx 20"
    )
    parser.add_argument("--horizon", type=int, default=5, help="label: sign of the return this many steps ahead")
    parser.add_argument(
        "--height", type=int,
        help="chart height in pixels; default 64 (the real use: 500), for jkx the preset's "
             "(32, 64, 96 for 5, 20, 60 bars; required for other lengths)",
    )
    parser.add_argument(
        "--width", type=int, help="line chart width in pixels; default 96 (the real use: 800); jkx: 3 * length"
    )
    parser.add_argument("--line-width", type=float, default=3.0, help="line width in pixels (line charts)")
    parser.add_argument("--batch", type=int, default=128, help="windows per batch (per process)")
    parser.add_argument("--epochs", type=int, default=1, help="passes over the training windows")
    parser.add_argument(
        "--max-steps", type=int, metavar="N",
        help="at most N training steps per epoch and N validation batches (for smoke tests)",
    )
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu",
        help="where the charts are drawn and the model trains (under torchrun: cuda:LOCAL_RANK)",
    )
    parser.add_argument("--seed", type=int, default=0, help="weights, shuffling and synthetic closes")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--save", metavar="PATH", help="write the trained model as TorchScript")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def load_series(args: argparse.Namespace) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(series, closes, source): the series the model draws, ``[T]`` closes for
    ``--chart line`` or ``[6, T]`` open, high, low, close, volume and the MA_BARS
    moving average of closes for jkx (float32, NaN for missing minutes), and the
    float64 ``[T]`` closes that label the windows."""
    if args.chart == "line":
        closes, source = load_closes(args)
        return closes.to(torch.float32), closes, source
    path = data_file(args)
    if path is None:
        ohlc, volume = synthetic_ohlcv(1, SYNTHETIC_MINUTES, seed=args.seed)
        columns = [*ohlc[0].unbind(1), volume[0]]
        source = f"{SYNTHETIC_MINUTES} synthetic minutes (seed {args.seed})"
    else:
        klines = read_klines(path)
        columns = [klines.open, klines.high, klines.low, klines.close, klines.volume]
        missing = int(klines.close.isnan().sum())
        source = f"{os.path.relpath(path)} ({len(klines)} minutes, {missing} missing)"
    closes = columns[3]
    # On the whole series, then windowed: every window's average has its history.
    series = torch.stack([*columns, moving_average(closes, MA_BARS)]).to(torch.float32)
    return series, closes, source


def data_file(args: argparse.Namespace) -> Optional[str]:
    """The kline file to read, or None for synthetic prices."""
    if args.csv is None and not args.synthetic:
        files = sorted(glob.glob(os.path.join(SHARED_DATA, "*.csv.gz")))
        return files[0] if files else None
    return args.csv


def read_klines(path: str):
    try:
        return load_klines(path, reindex=True)
    except (OSError, ValueError) as e:  # KlineError is a ValueError naming the file and line
        raise SystemExit(f"train_classifier: {e}") from None


def load_closes(args: argparse.Namespace) -> tuple[torch.Tensor, str]:
    """[T] float64 closes on the CPU (NaN for missing minutes) and where they came from."""
    path = data_file(args)
    if path is None:
        closes = synthetic_closes(1, SYNTHETIC_MINUTES, seed=args.seed)[0]
        return closes, f"{SYNTHETIC_MINUTES} synthetic minutes (seed {args.seed})"
    klines = read_klines(path)
    missing = int(klines.close.isnan().sum())
    return klines.close, f"{os.path.relpath(path)} ({len(klines)} minutes, {missing} missing)"


def split(dataset: WindowDataset, purge: int) -> tuple[Subset, Subset]:
    """Chronological split: the first 80% of the windows train, the last 20% validate,
    with ``purge`` windows dropped in between (windows are in time order)."""
    count = len(dataset)
    first_val = int(round(count * (1 - VAL_FRACTION)))
    train_end = max(first_val - purge, 0)
    return Subset(dataset, range(train_end)), Subset(dataset, range(first_val, count))


def setup_distributed(device_type: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the process group when run by torchrun."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return 0, 1, torch.device(device_type)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise SystemExit(
                f"train_classifier: local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible)"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        device = torch.device("cpu")
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size(), device


def check_device(device_type: str) -> Optional[str]:
    """Why --device cannot be used here, or None."""
    if device_type != "cuda":
        return None
    if not torch.cuda.is_available():
        return "CUDA is not available (" + ("this torch has no CUDA" if torch.version.cuda is None else "no GPU") + ")"
    if not torch_render.cuda_built():
        return "torch_render was built without its CUDA kernels"
    return None


def progress_bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    # disable=None: no bar where stderr is not a terminal (logs, CI, subprocesses).
    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, disable=None, leave=False)


def run_epoch(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    optimizer: Optional[torch.optim.Optimizer],
    max_steps: Optional[int],
    bar_desc: Optional[str],
) -> tuple[float, float, int, float]:
    """One pass (training when ``optimizer`` is given): this rank's (loss sum,
    correct, samples, seconds). Images are drawn inside the model, per batch."""
    training = optimizer is not None
    model.train(training)
    steps = len(loader) if max_steps is None else min(len(loader), max_steps)
    # The bar counts images, so its rate is this rank's images/s.
    bar = progress_bar(min(steps * loader.batch_size, len(loader.sampler)), bar_desc or "", bar_desc is not None)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    samples = 0
    start = time.perf_counter()
    with torch.set_grad_enabled(training):
        for step, (windows, labels) in enumerate(loader):
            if step >= steps:
                break
            windows = windows.to(device, non_blocking=True)
            labels = labels.to(device, non_blocking=True)
            logits = model(windows)  # renders the batch on `device`, then the CNN
            loss = nn.functional.cross_entropy(logits, labels)
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            # Accumulated on the device: no synchronisation per step.
            loss_sum += loss.detach() * labels.numel()
            correct += (logits.argmax(dim=1) == labels).sum()
            samples += labels.numel()
            if bar is not None:
                bar.update(labels.numel())
                if step % 10 == 0 or step == steps - 1:
                    bar.set_postfix(loss=f"{loss_sum.item() / samples:.4f}", acc=f"{correct.item() / samples:.3f}")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    return loss_sum.item(), float(correct.item()), samples, seconds


def train(args: argparse.Namespace, rank: int, world: int, device: torch.device) -> None:
    """Load the data, train and validate for ``args.epochs``, save; rank 0 reports."""
    distributed = dist.is_initialized()
    lead = rank == 0

    def say(text: str) -> None:
        if lead:
            print(text, flush=True)

    torch.manual_seed(args.seed)  # the same initial weights on every rank
    series, closes, source = load_series(args)
    # float32 windows (the renderer works in float32 anyway); labels from the float64 closes.
    dataset = WindowDataset(series, args.length, args.horizon, close=closes)
    purge = args.length + args.horizon + (MA_BARS - 1 if args.chart == "jkx" else 0)
    train_set, val_set = split(dataset, purge=purge)
    if len(train_set) == 0 or len(val_set) == 0:
        raise SystemExit(f"train_classifier: {len(dataset)} windows are too few for a train/validation split")
    up_share = float(dataset.labels[val_set.indices.start :].float().mean())
    val_count = len(val_set)
    # Each rank trains on its DistributedSampler share and validates on every
    # world-th window (exact: no padding); it draws the charts of its own batches.
    if distributed:
        sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
        val_set = Subset(dataset, val_set.indices[rank::world])
    else:
        sampler = RandomSampler(train_set, generator=torch.Generator().manual_seed(args.seed))
    loader_options = dict(
        batch_size=args.batch,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=args.workers > 0,
    )
    train_loader = DataLoader(train_set, sampler=sampler, drop_last=True, **loader_options)
    val_loader = DataLoader(val_set, shuffle=False, **loader_options)
    if len(train_loader) == 0:
        raise SystemExit(f"train_classifier: fewer training windows per process than --batch {args.batch}")

    if args.chart == "jkx":
        classifier: nn.Module = JKXClassifier(args.height).to(device)
    else:
        classifier = ChartClassifier(args.height, args.width, line_width=args.line_width).to(device)
    model: nn.Module = classifier
    if distributed:
        model = nn.parallel.DistributedDataParallel(
            classifier, device_ids=[device.index] if device.type == "cuda" else None
        )
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)

    what = "closes" if args.chart == "line" else f"bars (OHLC, volume, {MA_BARS}-bar MA)"
    say(f"data: {source}: {len(dataset)} windows of {args.length} {what}, label: sign of the "
        f"{args.horizon}-step return")
    say(f"split: {len(train_set)} train, {val_count} validation (the last {VAL_FRACTION:.0%}, "
        f"{up_share:.1%} up; {purge} windows purged between)")
    if device.type == "cuda":
        where = f"{device} ({torch.cuda.get_device_name(device)})"
    else:
        threads = torch.get_num_threads()
        where = f"cpu ({threads} thread{'s' if threads != 1 else ''} per process)"
    params = sum(p.numel() for p in classifier.parameters())
    charts = "charts" if args.chart == "line" else "JKX charts (jkx_chart)"
    say(f"model: {type(classifier).__name__}, {params} parameters, on {where}; {args.height}x{args.width} "
        f"{charts} drawn per batch of {args.batch} per process; world size {world}")

    show_bar = lead and not args.quiet
    for epoch in range(1, args.epochs + 1):
        if distributed:
            sampler.set_epoch(epoch)
        loss, correct, samples, seconds = run_epoch(
            model, train_loader, device, optimizer, args.max_steps,
            f"epoch {epoch}/{args.epochs}" if show_bar else None,
        )
        per_rank = [0.0] * world
        per_rank[rank] = float(samples)
        totals = all_reduce([loss, correct, float(samples), *per_rank], device)
        images = int(totals[2])
        # The slowest rank's time: DDP keeps the ranks in step.
        seconds = all_reduce([seconds], device, op="max")[0]
        vloss, vcorrect, vsamples, _ = run_epoch(
            model, val_loader, device, None, args.max_steps, "validation" if show_bar else None
        )
        vloss, vcorrect, vsamples = all_reduce([vloss, vcorrect, float(vsamples)], device)
        say(
            f"epoch {epoch}/{args.epochs}: train loss {totals[0] / images:.4f} acc {totals[1] / images:.4f} | "
            f"val loss {vloss / vsamples:.4f} acc {vcorrect / vsamples:.4f} on {int(vsamples)} windows "
            f"(majority class {max(up_share, 1 - up_share):.4f}) | {images / seconds:.0f} images/s "
            f"rendered and trained ({images} in {seconds:.1f} s; world size {world}, "
            f"per rank {[int(n) for n in totals[3:]]})"
        )

    if args.save and lead:
        classifier.eval()
        scripted = torch.jit.script(classifier.to("cpu"))
        torch.jit.save(scripted, args.save)
        say(f"saved the scripted model (on the CPU, in eval mode) to {args.save}")


def all_reduce(values: list[float], device: torch.device, op: str = "sum") -> list[float]:
    """Element-wise sum (or max) of ``values`` over the ranks; the values themselves
    when not distributed."""
    if not dist.is_initialized():
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return tensor.tolist()


def resolve_sizes(args: argparse.Namespace) -> None:
    """The chart's default length, height and width where they were left out."""
    if args.chart == "line":
        args.length = 100 if args.length is None else args.length
        args.height = 64 if args.height is None else args.height
        args.width = 96 if args.width is None else args.width
        return
    args.length = 20 if args.length is None else args.length
    if args.height is None:
        if args.length not in JKX_HEIGHTS:
            raise SystemExit(f"train_classifier: --chart jkx --length {args.length}: give --height "
                             "(the preset's heights are for 5, 20 and 60 bars)")
        args.height = JKX_HEIGHTS[args.length]
    if args.width is not None and args.width != 3 * args.length:
        raise SystemExit(f"train_classifier: --chart jkx: images are 3 * --length = {3 * args.length} "
                         f"pixels wide, got --width {args.width}")
    args.width = 3 * args.length
    if args.save:
        raise SystemExit("train_classifier: --save writes TorchScript of --chart line models only "
                         "(jkx_chart does not script)")


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    resolve_sizes(args)
    for name in ("length", "horizon", "height", "width", "batch", "epochs"):
        if getattr(args, name) < 1:
            raise SystemExit(f"train_classifier: --{name} must be >= 1, got {getattr(args, name)}")
    if args.max_steps is not None and args.max_steps < 1:
        raise SystemExit(f"train_classifier: --max-steps must be >= 1, got {args.max_steps}")
    why = check_device(args.device)
    if why is not None:
        raise SystemExit(f"train_classifier: --device {args.device}: {why}")
    rank, world, device = setup_distributed(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # one input shape throughout
    train(args, rank, world, device)
    if dist.is_initialized():
        # Only after train() returned: the DDP model (which holds the group) is gone
        # by then; a process that exits with it alive can abort in gloo's teardown.
        # On an error the group is left alone (torchrun stops the other ranks).
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
