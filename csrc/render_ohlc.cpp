// render_ohlc: schemas and the argument checks of every backend.
#include "csrc/render_ohlc.h"

#include <cstdint>
#include <string>

#include <ATen/ops/all.h>
#include <ATen/ops/isfinite.h>
#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>
#include <c10/util/safe_numerics.h>
#include <torch/library.h>

#include "csrc/checks.h"

TORCH_LIBRARY_FRAGMENT(torch_render, m) {
  // ohlc [B, L, 4] (open, high, low, close), any floating dtype -> [B, 1, H, W] of
  // `dtype` (float32 when None); W = L * bar_width when None. DESIGN §2 "OHLC charts".
  // scale [B]: each image's prices and overlays multiplied by it in float64 first
  // (jkx_chart's 1 / close_0, without a float64 copy of the inputs); last, so
  // that the options before it keep their positions (also after `out` below:
  // before it, TorchScript's alias analysis of a call with out= fails, torch
  // 2.11, when the functional overload has the argument after dtype).
  m.def(
      "render_ohlc(Tensor ohlc, int height, int? width=None, *, Tensor? volume=None, "
      "Tensor? overlays=None, str style=\"bar\", int bar_width=3, int volume_rows=0, "
      "Tensor? value_range=None, float background=1.0, float foreground=0.0, "
      "ScalarType? dtype=None, Tensor? scale=None) -> Tensor",
      {at::Tag::pt2_compliant_tag});
  // The same, rendered into `out` (contiguous [B, 1, H, W] of an output dtype).
  // Returns nothing, so torch.compile auto-functionalizes it.
  m.def(
      "render_ohlc.out(Tensor ohlc, int height, int? width=None, *, Tensor? volume=None, "
      "Tensor? overlays=None, str style=\"bar\", int bar_width=3, int volume_rows=0, "
      "Tensor? value_range=None, float background=1.0, float foreground=0.0, "
      "Tensor(a!) out, Tensor? scale=None) -> ()",
      {at::Tag::pt2_compliant_tag});
}

// Pixel-exact marks have no gradient: outputs never require grad (and no
// autograd warning), as for any non-differentiable op.
TORCH_LIBRARY_IMPL(torch_render, Autograd, m) {
  m.impl("render_ohlc", torch::CppFunction::makeFallthrough());
  m.impl("render_ohlc.out", torch::CppFunction::makeFallthrough());
}

namespace torch_render {
namespace {

// Messages as the fake kernel writes them (Python's f"{v:g}" and str(dtype)).
constexpr OpChecks kCheck{"render_ohlc", Spelling::kPython};
constexpr const char* kOp = kCheck.op;

// Whether a colour is stored as a finite value of the output dtype.
bool colour_fits(double v, at::ScalarType t) {
  return t == at::kByte ? v >= 0.0 && v <= 1.0 : stores_finite(v, t);
}

const char* colour_requirement(at::ScalarType t) {
  return t == at::kByte ? "in [0, 1]" : "finite";
}

// A floating tensor argument on the device of ohlc, of the given shape.
void check_input(const at::Tensor& t, const char* name, const at::Tensor& ohlc,
                 const std::vector<int64_t>& shape, const std::string& shape_text) {
  kCheck.same_device(t, name, ohlc, "ohlc");
  kCheck.floating(t, name);
  bool ok = t.dim() == static_cast<int64_t>(shape.size());
  for (size_t d = 0; ok && d < shape.size(); ++d) ok = shape[d] < 0 || t.size(d) == shape[d];
  TORCH_CHECK_VALUE(ok, kOp, ": ", name, " must be ", shape_text, ", got a tensor of shape ",
                    t.sizes());
}

}  // namespace

OhlcPlan plan_render_ohlc(const at::Tensor& ohlc, int64_t height, std::optional<int64_t> width,
                          const std::optional<at::Tensor>& volume,
                          const std::optional<at::Tensor>& overlays, std::string_view style,
                          int64_t bar_width, int64_t volume_rows,
                          const std::optional<at::Tensor>& value_range,
                          const std::optional<at::Tensor>& scale, double background,
                          double foreground, at::ScalarType out_dtype, const char* dtype_arg) {
  TORCH_CHECK_VALUE(ohlc.dim() == 3 && ohlc.size(2) == 4, kOp,
                    ": ohlc must be [B, L, 4] (open, high, low, close), got a tensor of shape ",
                    ohlc.sizes());
  kCheck.floating(ohlc, "ohlc");
  const int64_t B = ohlc.size(0);
  const int64_t L = ohlc.size(1);
  TORCH_CHECK_VALUE(L >= 1, kOp, ": ohlc must have at least one bar (L >= 1), got shape ",
                    ohlc.sizes());
  TORCH_CHECK_VALUE(style == "bar" || style == "candle", kOp,
                    ": style must be \"bar\" or \"candle\", got \"", std::string(style), "\"");
  TORCH_CHECK_VALUE(bar_width >= 1 && bar_width <= kernels::kMaxBarWidth, kOp,
                    ": bar_width must be in 1 .. ", kernels::kMaxBarWidth, ", got ", bar_width);
  TORCH_CHECK_VALUE(height >= 1, kOp, ": height must be >= 1, got ", height);
  TORCH_CHECK_VALUE(volume_rows >= 0, kOp, ": volume_rows must be >= 0, got ", volume_rows);
  TORCH_CHECK_VALUE(volume_rows == 0 || volume_rows <= height - 2, kOp,
                    ": volume_rows leaves no price rows: height must be >= volume_rows + 2 "
                    "(the panel, a gap row and one price row) = ", volume_rows + 2, ", got height ",
                    height);
  int64_t min_width = 0;
  TORCH_CHECK_VALUE(!c10::mul_overflows(L, bar_width, &min_width), kOp,
                    ": L * bar_width overflows int64");
  const int64_t W = width.value_or(min_width);
  TORCH_CHECK_VALUE(W >= min_width, kOp, ": width must be >= L * bar_width = ", min_width,
                    ", got ", W);
  kCheck.output_dtype(out_dtype, dtype_arg);
  for (const auto& [name, v] : {std::pair<const char*, double>{"background", background},
                                std::pair<const char*, double>{"foreground", foreground}}) {
    TORCH_CHECK_VALUE(colour_fits(v, out_dtype), kOp, ": ", name, " must be ",
                      colour_requirement(out_dtype), " in the output dtype ",
                      kCheck.dtype(out_dtype), ", got ", kCheck.num(v));
  }
  const std::vector<int64_t> shape{B, 1, height, W};
  kCheck.indexable(shape);

  OhlcPlan plan;
  plan.out_shape = shape;
  plan.out_dtype = out_dtype;
  kernels::OhlcParams& p = plan.params;
  p.batch = B;
  p.length = L;
  p.height = height;
  p.width = W;
  p.bar_width = bar_width;
  p.volume_rows = volume_rows;
  p.candle = style == "candle";
  // + 0.0f turns -0.0 into +0.0, as render_line stores it.
  p.background = static_cast<float>(background) + 0.0f;
  p.foreground = static_cast<float>(foreground) + 0.0f;

  const std::string bl = "[B, L] = [" + std::to_string(B) + ", " + std::to_string(L) + "]";
  if (volume.has_value() && volume->defined()) {
    check_input(*volume, "volume", ohlc, {B, L}, bl);
    if (volume_rows > 0) plan.volume = *volume;
  }
  if (overlays.has_value() && overlays->defined()) {
    check_input(*overlays, "overlays", ohlc, {B, -1, L},
                "[B, M, L] = [" + std::to_string(B) + ", M, " + std::to_string(L) + "]");
    p.num_overlays = overlays->size(1);
    if (p.num_overlays > 0) plan.overlays = *overlays;
  }
  if (value_range.has_value() && value_range->defined()) {
    const at::Tensor& vr = *value_range;
    check_input(vr, "value_range", ohlc, {B, 2}, "[B, 2] = [" + std::to_string(B) + ", 2]");
    plan.value_range = vr.to(at::kDouble).contiguous();
    p.value_range = plan.value_range.const_data_ptr<double>();
    // On CUDA this would need a host sync: a non-finite range leaves the price
    // area blank there instead.
    if (vr.device().is_cpu()) {
      TORCH_CHECK_VALUE(at::isfinite(plan.value_range).all().item<bool>(), kOp,
                        ": value_range must be finite (on the CPU; on CUDA a non-finite range "
                        "leaves the price area blank)");
    }
  }
  if (scale.has_value() && scale->defined()) {
    check_input(*scale, "scale", ohlc, {B}, "[B] = [" + std::to_string(B) + "]");
    // Not checked finite: a missing factor (a missing first close in jkx_chart)
    // makes every price of its image missing, which draws no price marks.
    plan.scale = scale->to(at::kDouble).contiguous();
    p.scale = plan.scale.const_data_ptr<double>();
  }
  return plan;
}

void check_render_ohlc_out(const OhlcPlan& plan, const at::Tensor& ohlc, const at::Tensor& out) {
  kCheck.out_tensor(out, plan.out_shape, ohlc, "ohlc");
  TORCH_CHECK(!out.requires_grad(), kOp, ": out must not require grad (render_ohlc has no "
              "gradient)");
  for (const auto& [name, t] : {std::pair<const char*, const at::Tensor*>{"ohlc", &ohlc},
                                {"volume", &plan.volume},
                                {"overlays", &plan.overlays},
                                {"value_range", &plan.value_range},
                                {"scale", &plan.scale}}) {
    kCheck.no_overlap(out, *t, name);
  }
}

void allocate_ohlc_workspace(OhlcPlan& plan, const at::Tensor& ohlc) {
  kernels::OhlcParams& p = plan.params;
  p.bars = plan.workspace.add<int64_t>({p.batch, p.length, kernels::kBarFields}, ohlc);
  p.overlays = plan.workspace.add<int64_t>({p.batch, p.num_overlays, p.length}, ohlc);
  p.volume = plan.volume.defined() ? plan.workspace.add<int64_t>({p.batch, p.length}, ohlc)
                                   : nullptr;
}

}  // namespace torch_render
