// render_ohlc: schemas and the argument checks of every backend.
#include "csrc/render_ohlc.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <ATen/ops/all.h>
#include <ATen/ops/isfinite.h>
#include <c10/core/ScalarType.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#include <c10/util/Half.h>
#include <c10/util/safe_numerics.h>
#include <fmt/format.h>
#include <torch/library.h>

TORCH_LIBRARY_FRAGMENT(torch_render, m) {
  // ohlc [B, L, 4] (open, high, low, close), any floating dtype -> [B, 1, H, W] of
  // `dtype` (float32 when None); W = L * bar_width when None. DESIGN §2 "OHLC charts".
  m.def(
      "render_ohlc(Tensor ohlc, int height, int? width=None, *, Tensor? volume=None, "
      "Tensor? overlays=None, str style=\"bar\", int bar_width=3, int volume_rows=0, "
      "Tensor? value_range=None, float background=1.0, float foreground=0.0, "
      "ScalarType? dtype=None) -> Tensor",
      {at::Tag::pt2_compliant_tag});
  // The same, rendered into `out` (contiguous [B, 1, H, W] of an output dtype).
  // Returns nothing, so torch.compile auto-functionalizes it.
  m.def(
      "render_ohlc.out(Tensor ohlc, int height, int? width=None, *, Tensor? volume=None, "
      "Tensor? overlays=None, str style=\"bar\", int bar_width=3, int volume_rows=0, "
      "Tensor? value_range=None, float background=1.0, float foreground=0.0, "
      "Tensor(a!) out) -> ()",
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

constexpr const char* kOp = "render_ohlc";
constexpr double kFloatMax = std::numeric_limits<float>::max();

// The numbers and dtypes of messages, written as the fake kernel writes them
// (Python's f"{v:g}" and str(dtype)).
std::string num(double v) { return fmt::format("{:g}", v); }
// (getDtypeNames gives a std::string in torch 2.11, a std::string_view in 2.15.)
std::string dtype_name(at::ScalarType t) {
  return std::string("torch.") + std::string(c10::getDtypeNames(t).first);
}

bool is_float_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

bool is_output_dtype(at::ScalarType t) { return is_float_dtype(t) || t == at::kByte; }

// Whether a colour is stored as a finite value of the output dtype.
bool colour_fits(double v, at::ScalarType t) {
  if (t == at::kByte) return v >= 0.0 && v <= 1.0;
  if (!std::isfinite(v) || std::abs(v) > kFloatMax) return false;
  const auto f = static_cast<float>(v);
  if (t == at::kHalf) return std::isfinite(static_cast<float>(c10::Half(f)));
  if (t == at::kBFloat16) return std::isfinite(static_cast<float>(c10::BFloat16(f)));
  return true;
}

const char* colour_requirement(at::ScalarType t) {
  return t == at::kByte ? "in [0, 1]" : "finite";
}

// [first, last) byte range a tensor's elements can touch (non-negative strides).
std::pair<uintptr_t, uintptr_t> byte_extent(const at::Tensor& t) {
  const auto start = reinterpret_cast<uintptr_t>(t.const_data_ptr());
  int64_t last = 0;
  for (int64_t d = 0; d < t.dim(); ++d) last += (t.size(d) - 1) * t.stride(d);
  return {start, start + static_cast<uintptr_t>((last + 1) * t.element_size())};
}

bool overlaps(const at::Tensor& a, const at::Tensor& b) {
  if (!b.defined() || a.numel() == 0 || b.numel() == 0) return false;
  const auto ea = byte_extent(a);
  const auto eb = byte_extent(b);
  return ea.first < eb.second && eb.first < ea.second;
}

// A floating tensor argument on the device of ohlc, of the given shape.
void check_input(const at::Tensor& t, const char* name, const at::Tensor& ohlc,
                 const std::vector<int64_t>& shape, const std::string& shape_text) {
  TORCH_CHECK(t.device() == ohlc.device(), kOp, ": ", name, " must be on the device of ohlc (",
              ohlc.device(), "), got ", t.device());
  TORCH_CHECK_TYPE(is_float_dtype(t.scalar_type()), kOp, ": ", name,
                   " must be a floating tensor (float16, bfloat16, float32 or float64), got ",
                   dtype_name(t.scalar_type()));
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
                          const std::optional<at::Tensor>& value_range, double background,
                          double foreground, at::ScalarType out_dtype, const char* dtype_arg) {
  TORCH_CHECK_VALUE(ohlc.dim() == 3 && ohlc.size(2) == 4, kOp,
                    ": ohlc must be [B, L, 4] (open, high, low, close), got a tensor of shape ",
                    ohlc.sizes());
  TORCH_CHECK_TYPE(is_float_dtype(ohlc.scalar_type()), kOp,
                   ": ohlc must be a floating tensor (float16, bfloat16, float32 or float64), "
                   "got ", dtype_name(ohlc.scalar_type()));
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
  TORCH_CHECK_TYPE(is_output_dtype(out_dtype), kOp, ": ", dtype_arg,
                   " must be torch.float32, torch.float16, torch.bfloat16, torch.float64 or "
                   "torch.uint8, got ", dtype_name(out_dtype));
  for (const auto& [name, v] : {std::pair<const char*, double>{"background", background},
                                std::pair<const char*, double>{"foreground", foreground}}) {
    TORCH_CHECK_VALUE(colour_fits(v, out_dtype), kOp, ": ", name, " must be ",
                      colour_requirement(out_dtype), " in the output dtype ",
                      dtype_name(out_dtype), ", got ", num(v));
  }
  uint64_t numel = 0;
  const std::vector<int64_t> shape{B, 1, height, W};
  TORCH_CHECK_VALUE(!c10::safe_multiplies_u64(shape, &numel) &&
                        numel <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                    kOp, ": output of shape ", at::IntArrayRef(shape),
                    " has more elements than int64 can index");

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
    // On CUDA this would need a host sync: a non-finite range leaves the price
    // area blank there instead.
    if (vr.device().is_cpu()) {
      TORCH_CHECK_VALUE(at::isfinite(plan.value_range).all().item<bool>(), kOp,
                        ": value_range must be finite (on the CPU; on CUDA a non-finite range "
                        "leaves the price area blank)");
    }
  }
  return plan;
}

void check_render_ohlc_out(const OhlcPlan& plan, const at::Tensor& ohlc, const at::Tensor& out) {
  TORCH_CHECK(out.device() == ohlc.device(), kOp, ": out must be on the device of ohlc (",
              ohlc.device(), "), got ", out.device());
  TORCH_CHECK_VALUE(out.sizes() == at::IntArrayRef(plan.out_shape), kOp, ": out must have shape ",
                    at::IntArrayRef(plan.out_shape), ", got ", out.sizes());
  TORCH_CHECK_VALUE(out.is_contiguous(), kOp, ": out must be contiguous, got strides ",
                    out.strides());
  TORCH_CHECK(!out.requires_grad(), kOp, ": out must not require grad (render_ohlc has no "
              "gradient)");
  for (const auto& [name, t] : {std::pair<const char*, const at::Tensor*>{"ohlc", &ohlc},
                                {"volume", &plan.volume},
                                {"overlays", &plan.overlays},
                                {"value_range", &plan.value_range}}) {
    TORCH_CHECK(!overlaps(out, *t), kOp, ": out must not overlap the memory of ", name);
  }
}

}  // namespace torch_render
