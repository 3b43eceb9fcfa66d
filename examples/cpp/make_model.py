"""Save a TorchScript model that draws its own input, for the C++ example.

``ChartNet`` takes a batch of price series, renders them with
``torch.ops.torch_render.render_line`` and classifies the images with a small CNN
(fixed-seed weights: the point is the export, not the accuracy). This script
scripts it with ``torch.jit.script`` and writes into ``--out-dir``:

- ``model.pt``: the scripted ``ChartNet`` (``torch.jit.save``);
- ``expected.pt``: a scripted module whose buffers are a deterministic input batch
  (``input``, [8, 60] float32 with a NaN gap) and Python's outputs for it, computed
  by the saved model as loaded back: ``images`` (its ``render`` step, [8, 1, 64, 96])
  and ``logits`` ([8, 2]). C++ reads them with ``torch::jit::load`` and
  ``module.attr("input")`` (``torch.save`` files are not meant for C++).

``torch_render_run_model`` (``examples/cpp/run_model.cpp``) loads both, runs the
model in C++ and checks its outputs against these. CTest runs the two in turn.

Usage:
    python examples/cpp/make_model.py --out-dir build/example-model
    build/cmake/examples/cpp/torch_render_run_model build/example-model

The operators come from the ``torch_render`` package; where it cannot be imported
(no compiled extension), ``--library path/to/libtorch_render.so`` (the CMake build's
library) registers them instead.
"""

import argparse
import os
import sys
from typing import Dict

import torch
from torch import nn


class ChartNet(nn.Module):
    """series [B, L] float -> logits [B, num_classes]: render, then a small CNN.

    ``render(series)`` (exported to TorchScript, so C++ can call it too) gives the
    images the CNN sees: [B, 1, height, width] float32, black line (0) on white (1).
    """

    def __init__(self, height: int = 64, width: int = 96, line_width: float = 2.0,
                 num_classes: int = 2) -> None:
        super().__init__()
        # Plain attributes: TorchScript keeps them, C++ reads them with attr().
        self.height = int(height)
        self.width = int(width)
        self.line_width = float(line_width)
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2d(8, 16, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(16, num_classes)

    @torch.jit.export
    def render(self, series: torch.Tensor) -> torch.Tensor:
        return torch.ops.torch_render.render_line(
            series, self.height, self.width, line_width=self.line_width
        )

    def forward(self, series: torch.Tensor) -> torch.Tensor:
        # Ink (1 - pixel) as the signal, so empty background is zero.
        return self.classifier(self.features(1.0 - self.render(series)))


class TensorStore(nn.Module):
    """Named tensors as buffers of a scripted module: a file C++ can read."""

    def __init__(self, tensors: Dict[str, torch.Tensor]) -> None:
        super().__init__()
        for name, tensor in tensors.items():
            self.register_buffer(name, tensor.detach().clone())

    def forward(self) -> None:  # TorchScript wants a method; never called
        return None


def example_input(batch: int = 8, length: int = 60) -> torch.Tensor:
    """[batch, length] float32 random walks, the same on every run; row 3 has a gap."""
    gen = torch.Generator().manual_seed(20240605)
    series = torch.randn(batch, length, generator=gen, dtype=torch.float64).cumsum(-1) + 100.0
    series[3, 20:24] = float("nan")
    return series.to(torch.float32)


def register_ops(library: str) -> str:
    """Registers torch.ops.torch_render.*; returns where they came from."""
    try:
        import torch_render  # noqa: F401  (loads the extension: registers the ops)

        return f"the torch_render package ({os.path.dirname(torch_render.__file__)})"
    except ImportError as err:
        if not library:
            raise SystemExit(f"make_model.py: cannot import torch_render ({err}); "
                             "install it or pass --library path/to/libtorch_render.so")
        torch.ops.load_library(library)
        return f"{library} (torch_render not importable: {err})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", required=True, help="where model.pt and expected.pt go")
    parser.add_argument("--library", default="",
                        help="libtorch_render.so to load if the torch_render package "
                             "cannot be imported")
    args = parser.parse_args(argv)

    source = register_ops(args.library)
    torch.manual_seed(0)
    model = ChartNet().eval()
    scripted = torch.jit.script(model)

    os.makedirs(args.out_dir, exist_ok=True)
    model_path = os.path.join(args.out_dir, "model.pt")
    expected_path = os.path.join(args.out_dir, "expected.pt")
    torch.jit.save(scripted, model_path)

    series = example_input()
    loaded = torch.jit.load(model_path)
    with torch.no_grad():
        images = loaded.render(series)
        logits = loaded(series)
        # The saved model computes what the eager one does.
        if not torch.equal(images, model.render(series)):
            raise SystemExit("make_model.py: the scripted render differs from the eager one")
        torch.testing.assert_close(logits, model(series), rtol=1e-5, atol=1e-6)
    torch.jit.save(torch.jit.script(TensorStore(
        {"input": series, "images": images, "logits": logits})), expected_path)

    print(f"make_model.py: ops from {source}")
    print(f"make_model.py: wrote {model_path} and {expected_path}: input "
          f"{list(series.shape)}, images {list(images.shape)}, logits {list(logits.shape)}, "
          f"predictions {logits.argmax(1).tolist()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
