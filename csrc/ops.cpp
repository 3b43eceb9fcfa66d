// The schemas of every torch_render operator.
#include <string>

#include <torch/library.h>

#include "kernels/render_line_cpu.h"

TORCH_LIBRARY(torch_render, m) {
  // series [B, L] or [B, S, L], any floating dtype -> [B, C, H, W] of `dtype`
  // (float32 when None); C = S with channels=True, else 1. docs/rendering.md.
  m.def(
      "render_line(Tensor series, int height, int width, *, float line_width=3.0, "
      "bool antialias=True, float margin=0.0, Tensor? value_range=None, bool channels=False, "
      "float background=1.0, float foreground=0.0, ScalarType? dtype=None) -> Tensor",
      {at::Tag::pt2_compliant_tag});
  // The same, rendered into `out` (contiguous [B, C, H, W] of an output dtype). It
  // returns nothing, so that torch.compile can auto-functionalize it (a custom op
  // returning its mutated `out` cannot be); the Python wrapper returns `out`.
  m.def(
      "render_line.out(Tensor series, int height, int width, *, float line_width=3.0, "
      "bool antialias=True, float margin=0.0, Tensor? value_range=None, bool channels=False, "
      "float background=1.0, float foreground=0.0, Tensor(a!) out) -> ()",
      {at::Tag::pt2_compliant_tag});
  // The instruction set the CPU raster runs with here: "avx2" or "baseline"
  // (TORCH_RENDER_CPU_ISA=baseline, set before the first call, forces the latter).
  m.def("_cpu_isa() -> str", []() -> std::string {
    return torch_render::kernels::cpu_isa_name(torch_render::kernels::cpu_isa());
  });
}
