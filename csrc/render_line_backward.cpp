#include "csrc/render_line_backward.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include "csrc/checks.h"

namespace torch_render {
namespace {

constexpr const char* kOp = "render_line_backward";
constexpr OpChecks kCheck{kOp, Spelling::kAten};

}  // namespace

LineBackwardPlan plan_render_line_backward(const at::Tensor& grad, const at::Tensor& series,
                                           int64_t height, int64_t width, double line_width,
                                           bool antialias, double margin,
                                           const std::optional<at::Tensor>& value_range,
                                           bool channels, double background, double foreground) {
  TORCH_CHECK_TYPE(is_float_dtype(grad.scalar_type()), kOp,
                   ": grad must be a floating tensor (float16, bfloat16, float32 or float64; "
                   "uint8 images are not differentiable), got ", grad.scalar_type());
  LineBackwardPlan plan;
  plan.line = plan_render_line(series, height, width, line_width, antialias, margin, value_range,
                               channels, background, foreground, grad.scalar_type(),
                               "grad.dtype");
  kCheck.same_device(grad, "grad", series, "series");
  TORCH_CHECK_VALUE(grad.sizes() == at::IntArrayRef(plan.line.out_shape), kOp,
                    ": grad must have the shape of the image, ",
                    at::IntArrayRef(plan.line.out_shape), ", got ", grad.sizes());
  allocate_line_workspace(plan.line, series);
  const kernels::LineParams& p = plan.line.params;
  const auto f64 = series.options().dtype(at::kDouble);
  plan.buffers.primitive_grad =
      plan.line.workspace.add<double>({p.batch, p.num_series, p.length, 2}, series);
  plan.series_grad = at::empty({p.batch, p.num_series, p.length}, f64);
  plan.buffers.series_grad = plan.series_grad.data_ptr<double>();
  if (plan.line.value_range.defined()) {
    plan.range_grad = at::zeros(plan.line.value_range.sizes(), f64);
    plan.buffers.range_grad = plan.range_grad.data_ptr<double>();
  }
  return plan;
}

std::tuple<at::Tensor, at::Tensor> finish_render_line_backward(
    LineBackwardPlan& plan, const at::Tensor& series,
    const std::optional<at::Tensor>& value_range) {
  at::Tensor series_grad = plan.series_grad.view(series.sizes()).to(series.scalar_type());
  at::Tensor range_grad =
      plan.range_grad.defined()
          ? plan.range_grad.to(value_range->scalar_type())
          : at::empty({0}, series.options());
  return {series_grad, range_grad};
}

// ------------------------------------------------------------------- autograd
//
// The backward is not differentiable itself: its outputs get a grad_fn whose
// backward raises, so a double backward fails clearly instead of silently
// giving a zero second derivative.

namespace {

using OptTensor = std::optional<at::Tensor>;
using BackwardFn = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&,
                                                      int64_t, int64_t, double, bool, double,
                                                      const OptTensor&, bool, double, double);

c10::TypedOperatorHandle<BackwardFn> backward_op() {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("torch_render::render_line_backward", "")
                             .typed<BackwardFn>();
  return op;
}

class RenderLineBackwardFunction
    : public torch::autograd::Function<RenderLineBackwardFunction> {
 public:
  static torch::autograd::variable_list forward(
      torch::autograd::AutogradContext* /*ctx*/, c10::DispatchKeySet ks, const at::Tensor& grad,
      const at::Tensor& series, int64_t height, int64_t width, double line_width, bool antialias,
      double margin, const OptTensor& value_range, bool channels, double background,
      double foreground) {
    at::AutoDispatchBelowADInplaceOrView guard;
    auto [gs, gr] = backward_op().redispatch(ks & c10::after_autograd_keyset, grad, series,
                                             height, width, line_width, antialias, margin,
                                             value_range, channels, background, foreground);
    return {gs, gr};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* /*ctx*/,
                                                 torch::autograd::variable_list /*grads*/) {
    TORCH_CHECK_NOT_IMPLEMENTED(false, "render_line: double backward is not supported (the "
                                "gradient of render_line is not differentiable itself); "
                                "differentiate once, without create_graph=True");
    return {};
  }
};

bool requires_grad(const OptTensor& t) { return t.has_value() && t->defined() && t->requires_grad(); }

std::tuple<at::Tensor, at::Tensor> render_line_backward_autograd(
    c10::DispatchKeySet ks, const at::Tensor& grad, const at::Tensor& series, int64_t height,
    int64_t width, double line_width, bool antialias, double margin, const OptTensor& value_range,
    bool channels, double background, double foreground) {
  const bool differentiable =
      at::GradMode::is_enabled() &&
      (grad.requires_grad() || series.requires_grad() || requires_grad(value_range));
  if (!differentiable) {
    at::AutoDispatchBelowADInplaceOrView guard;
    return backward_op().redispatch(ks & c10::after_autograd_keyset, grad, series, height, width,
                                    line_width, antialias, margin, value_range, channels,
                                    background, foreground);
  }
  auto out = RenderLineBackwardFunction::apply(ks, grad, series, height, width, line_width,
                                               antialias, margin, value_range, channels,
                                               background, foreground);
  return {out[0], out[1]};
}

}  // namespace

std::tuple<at::Tensor, at::Tensor> call_render_line_backward(
    const at::Tensor& grad, const at::Tensor& series, int64_t height, int64_t width,
    double line_width, bool antialias, double margin, const OptTensor& value_range,
    bool channels, double background, double foreground) {
  return backward_op().call(grad, series, height, width, line_width, antialias, margin,
                            value_range, channels, background, foreground);
}

TORCH_LIBRARY_IMPL(torch_render, Autograd, m) {
  m.impl("render_line_backward", &render_line_backward_autograd);
}

}  // namespace torch_render

TORCH_LIBRARY_FRAGMENT(torch_render, m) {
  // The gradients of render_line's image with respect to series and value_range,
  // given `grad` = d loss / d image (docs/rendering.md "Gradients"); the second
  // output is empty when value_range is None. The same arguments as render_line.
  m.def(
      "render_line_backward(Tensor grad, Tensor series, int height, int width, float line_width, "
      "bool antialias, float margin, Tensor? value_range, bool channels, float background, "
      "float foreground) -> (Tensor, Tensor)",
      {at::Tag::pt2_compliant_tag});
}
