#include "csrc/render_line.h"
#include "csrc/render_line_backward.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <ATen/Dispatch.h>
#include <ATen/core/LegacyTypeDispatch.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#include <c10/util/Half.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/library.h>

#include "csrc/checks.h"

namespace torch_render {
namespace {

constexpr OpChecks kCheck{"render_line", Spelling::kAten};
constexpr const char* kOp = kCheck.op;

std::string num(double v) { return kCheck.num(v); }

// Refuses a NaN or infinite entry of a CPU value_range (on CUDA, reading the values
// would need a host sync: there such an image is left blank, docs/rendering.md).
void check_value_range_finite(const at::Tensor& vr) {
  const at::Tensor c = vr.contiguous();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, c.scalar_type(),
                                  "render_line_value_range", [&] {
    const scalar_t* v = c.const_data_ptr<scalar_t>();
    for (int64_t i = 0; i < c.numel(); ++i) {
      const double x = static_cast<double>(v[i]);
      if (std::isfinite(x)) continue;
      std::vector<int64_t> index(c.dim());
      for (int64_t d = c.dim() - 1, rest = i; d >= 0; --d) {
        index[d] = rest % c.size(d);
        rest /= c.size(d);
      }
      TORCH_CHECK_VALUE(false, kOp, ": value_range must be finite, got ", num(x), " at index ",
                        at::IntArrayRef(index));
    }
  });
}

}  // namespace

LinePlan plan_render_line(const at::Tensor& series, int64_t height, int64_t width,
                          double line_width, bool antialias, double margin,
                          const std::optional<at::Tensor>& value_range, bool channels,
                          double background, double foreground, at::ScalarType out_dtype,
                          const char* dtype_arg) {
  TORCH_CHECK_VALUE(series.dim() == 2 || series.dim() == 3, kOp,
                    ": series must be [B, L] or [B, S, L], got a tensor of shape ",
                    series.sizes());
  kCheck.floating(series, "series");
  const int64_t B = series.size(0);
  const int64_t S = series.dim() == 3 ? series.size(1) : 1;
  const int64_t L = series.size(-1);
  TORCH_CHECK_VALUE(L >= 1, kOp, ": series must have at least one point (L >= 1), got shape ",
                    series.sizes());
  TORCH_CHECK_VALUE(height >= 1, kOp, ": height must be >= 1, got ", height);
  TORCH_CHECK_VALUE(width >= 1, kOp, ": width must be >= 1, got ", width);
  TORCH_CHECK_VALUE(std::isfinite(line_width) && line_width >= 0.0 && line_width <= kFloatMax,
                    kOp, ": line_width must be finite and >= 0, got ", num(line_width));
  TORCH_CHECK_VALUE(std::isfinite(margin) && margin >= 0.0, kOp,
                    ": margin must be finite and >= 0, got ", num(margin));
  TORCH_CHECK_VALUE(2.0 * margin <= static_cast<double>(std::min(height, width) - 1), kOp,
                    ": margin leaves no plot area: 2 * margin must be <= min(height, width) - 1"
                    " = ", std::min(height, width) - 1, ", got margin ", num(margin));
  kCheck.output_dtype(out_dtype, dtype_arg);
  // The kernels compute background + a * (foreground - background) in float32, so
  // both values and their difference must be finite float32 (else the image is NaN).
  TORCH_CHECK_VALUE(std::isfinite(background) && std::isfinite(foreground) &&
                        std::abs(background) <= kFloatMax && std::abs(foreground) <= kFloatMax &&
                        std::isfinite(static_cast<float>(foreground) -
                                      static_cast<float>(background)),
                    kOp, ": background and foreground must be finite float32 values whose "
                    "difference is finite in float32, got ", num(background), " and ", num(foreground));
  if (out_dtype == at::kByte) {
    TORCH_CHECK_VALUE(background >= 0.0 && background <= 1.0 && foreground >= 0.0 &&
                          foreground <= 1.0,
                      kOp, ": with uint8 output, background and foreground are given in "
                      "[0, 1], got ", num(background), " and ", num(foreground));
  }
  if (out_dtype == at::kHalf || out_dtype == at::kBFloat16) {
    const bool half = out_dtype == at::kHalf;
    const double largest = half ? static_cast<float>(std::numeric_limits<c10::Half>::max())
                                : static_cast<float>(std::numeric_limits<c10::BFloat16>::max());
    TORCH_CHECK_VALUE(stores_finite(background, out_dtype) && stores_finite(foreground, out_dtype),
                      kOp, ": with ", half ? "float16" : "bfloat16", " output, background and "
                      "foreground must round to finite ", half ? "float16" : "bfloat16",
                      " values (largest ", num(largest), "), got ", num(background), " and ",
                      num(foreground));
  }

  const int64_t C = channels ? S : 1;
  const std::vector<int64_t> shape{B, C, height, width};
  kCheck.indexable(shape);

  LinePlan plan;
  plan.out_shape = shape;
  plan.out_dtype = out_dtype;
  kernels::LineParams& p = plan.params;
  p.batch = B;
  p.num_series = S;
  p.length = L;
  p.height = height;
  p.width = width;
  p.channel_mode = channels;
  p.antialias = antialias;
  p.half_width = static_cast<float>(line_width) * 0.5f;
  p.margin = margin;
  // + 0.0f turns -0.0 into +0.0, the value the coverage formula gives at a = 0.
  p.background = static_cast<float>(background) + 0.0f;
  p.foreground = static_cast<float>(foreground);

  if (value_range.has_value() && value_range->defined()) {
    const at::Tensor& vr = *value_range;
    kCheck.same_device(vr, "value_range", series, "series");
    TORCH_CHECK_TYPE(is_float_dtype(vr.scalar_type()), kOp,
                     ": value_range must be a floating tensor, got ",
                     kCheck.dtype(vr.scalar_type()));
    const bool per_image = vr.dim() == 2 && vr.size(0) == B && vr.size(1) == 2;
    const bool per_series = vr.dim() == 3 && vr.size(0) == B && vr.size(1) == S && vr.size(2) == 2;
    TORCH_CHECK_VALUE(per_image || (per_series && channels), kOp,
                      ": value_range must be [B, 2] = [", B, ", 2]",
                      channels ? std::string(" or [B, S, 2] = [") + std::to_string(B) + ", " +
                                     std::to_string(S) + ", 2]"
                               : std::string(" ([B, S, 2] needs channels=True)"),
                      ", got shape ", vr.sizes());
    if (vr.device().is_cpu()) check_value_range_finite(vr);
    plan.value_range = vr.to(at::kDouble).contiguous();
    p.value_range = plan.value_range.const_data_ptr<double>();
    p.range_stride_b = per_image ? 2 : S * 2;
    p.range_stride_g = per_image ? 0 : 2;
  }
  return plan;
}

void allocate_line_workspace(LinePlan& plan, const at::Tensor& series) {
  kernels::LineParams& p = plan.params;
  p.xs = plan.workspace.add<float>({p.length}, series);
  p.ys = plan.workspace.add<float>({p.batch, p.num_series, p.length}, series);
}

void check_render_line_out(const LinePlan& plan, const at::Tensor& series,
                           const std::optional<at::Tensor>& value_range, const at::Tensor& out) {
  kCheck.out_tensor(out, plan.out_shape, series, "series");
  kCheck.no_overlap(out, series, "series");
  if (value_range.has_value()) kCheck.no_overlap(out, *value_range, "value_range");
}

// ------------------------------------------------------------------- autograd
//
// The Autograd kernels of both overloads (the backends know nothing of autograd).
// The functional form's backward is the op render_line_backward
// (csrc/render_line_backward.cpp), called through the dispatcher so that it runs
// on the device of the inputs and PT2 traces it.

namespace {

using OptTensor = std::optional<at::Tensor>;

bool requires_grad(const OptTensor& t) { return t.has_value() && t->defined() && t->requires_grad(); }

at::Tensor render_line_below_autograd(c10::DispatchKeySet ks, const at::Tensor& series,
                                      int64_t height, int64_t width, double line_width,
                                      bool antialias, double margin, const OptTensor& value_range,
                                      bool channels, double background, double foreground,
                                      std::optional<at::ScalarType> dtype) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("torch_render::render_line", "")
                             .typed<at::Tensor(const at::Tensor&, int64_t, int64_t, double, bool,
                                               double, const OptTensor&, bool, double, double,
                                               std::optional<at::ScalarType>)>();
  at::AutoDispatchBelowADInplaceOrView guard;
  return op.redispatch(ks & c10::after_autograd_keyset, series, height, width, line_width,
                       antialias, margin, value_range, channels, background, foreground, dtype);
}

class RenderLineFunction : public torch::autograd::Function<RenderLineFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, c10::DispatchKeySet ks,
                            const at::Tensor& series, int64_t height, int64_t width,
                            double line_width, bool antialias, double margin,
                            const OptTensor& value_range, bool channels, double background,
                            double foreground, std::optional<at::ScalarType> dtype) {
    const bool has_range = value_range.has_value() && value_range->defined();
    ctx->save_for_backward({series, has_range ? *value_range : at::Tensor()});
    ctx->saved_data["height"] = height;
    ctx->saved_data["width"] = width;
    ctx->saved_data["line_width"] = line_width;
    ctx->saved_data["antialias"] = antialias;
    ctx->saved_data["margin"] = margin;
    ctx->saved_data["has_range"] = has_range;
    ctx->saved_data["channels"] = channels;
    ctx->saved_data["background"] = background;
    ctx->saved_data["foreground"] = foreground;
    return render_line_below_autograd(ks, series, height, width, line_width, antialias, margin,
                                      value_range, channels, background, foreground, dtype);
  }

  // One gradient per forward argument (ks, series, height, ..., value_range, ...):
  // series is argument 1 and value_range argument 7; needs_input_grad counts only
  // the tensors given (series 0, value_range 1).
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& d = ctx->saved_data;
    const OptTensor value_range =
        d.at("has_range").toBool() ? OptTensor(saved[1]) : OptTensor(std::nullopt);
    auto [series_grad, range_grad] = call_render_line_backward(
        grads[0], saved[0], d.at("height").toInt(), d.at("width").toInt(),
        d.at("line_width").toDouble(), d.at("antialias").toBool(), d.at("margin").toDouble(),
        value_range, d.at("channels").toBool(), d.at("background").toDouble(),
        d.at("foreground").toDouble());
    torch::autograd::variable_list out(12);
    if (ctx->needs_input_grad(0)) out[1] = series_grad;
    if (value_range.has_value() && ctx->needs_input_grad(1)) out[7] = range_grad;
    return out;
  }
};

at::Tensor render_line_autograd(c10::DispatchKeySet ks, const at::Tensor& series, int64_t height,
                                int64_t width, double line_width, bool antialias, double margin,
                                const OptTensor& value_range, bool channels, double background,
                                double foreground, std::optional<at::ScalarType> dtype) {
  // uint8 images are not differentiable: they never get a grad_fn.
  const bool differentiable = at::GradMode::is_enabled() && dtype.value_or(at::kFloat) != at::kByte &&
                              (series.requires_grad() || requires_grad(value_range));
  if (!differentiable) {
    return render_line_below_autograd(ks, series, height, width, line_width, antialias, margin,
                                      value_range, channels, background, foreground, dtype);
  }
  return RenderLineFunction::apply(ks, series, height, width, line_width, antialias, margin,
                                   value_range, channels, background, foreground, dtype);
}

using RenderLineOutFn = void(const at::Tensor&, int64_t, int64_t, double, bool, double,
                             const OptTensor&, bool, double, double, at::Tensor&);

c10::TypedOperatorHandle<RenderLineOutFn> render_line_out_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("torch_render::render_line", "out")
                             .typed<RenderLineOutFn>();
  return op;
}

// As ATen's out= functions: no automatic differentiation through out=.
void render_line_out_autograd(c10::DispatchKeySet ks, const at::Tensor& series, int64_t height,
                              int64_t width, double line_width, bool antialias, double margin,
                              const OptTensor& value_range, bool channels, double background,
                              double foreground, at::Tensor& out) {
  if (at::GradMode::is_enabled()) {
    TORCH_CHECK(!out.requires_grad(), kOp,
                ": out must not require grad (out= does not support automatic differentiation; "
                "write into it under torch.no_grad()), got out with requires_grad=True");
    TORCH_CHECK(!series.requires_grad() && !requires_grad(value_range), kOp,
                ": out= does not support automatic differentiation, but ",
                series.requires_grad() ? "series" : "value_range", " requires grad");
  }
  at::AutoDispatchBelowAutograd guard;
  render_line_out_op().redispatch(ks & c10::after_autograd_keyset, series, height, width,
                                  line_width, antialias, margin, value_range, channels,
                                  background, foreground, out);
}

// `out` changed in place: bump its version counter, so that autograd notices when a
// tensor it saved for backward was overwritten (inference tensors have none, and
// autograd never saves them).
void render_line_out_inplace_or_view(c10::DispatchKeySet ks, const at::Tensor& series,
                                     int64_t height, int64_t width, double line_width,
                                     bool antialias, double margin, const OptTensor& value_range,
                                     bool channels, double background, double foreground,
                                     at::Tensor& out) {
  {
    at::AutoDispatchBelowADInplaceOrView guard;
    render_line_out_op().redispatch(ks & c10::after_ADInplaceOrView_keyset, series, height, width,
                                    line_width, antialias, margin, value_range, channels,
                                    background, foreground, out);
  }
  if (!out.is_inference()) torch::autograd::impl::bump_version(out);
}

}  // namespace

TORCH_LIBRARY_IMPL(torch_render, Autograd, m) {
  m.impl("render_line", &render_line_autograd);
  m.impl("render_line.out", &render_line_out_autograd);
}

TORCH_LIBRARY_IMPL(torch_render, ADInplaceOrView, m) {
  m.impl("render_line.out", &render_line_out_inplace_or_view);
}

}  // namespace torch_render

TORCH_LIBRARY_FRAGMENT(torch_render, m) {
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
}
