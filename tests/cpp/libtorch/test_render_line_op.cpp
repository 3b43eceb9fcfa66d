// torch_render::render_line through the LibTorch dispatcher, as a C++ user of the
// library calls it (no Python, no TorchScript): the registered CPU kernel against
// the torch-free serial kernel, the out= form, output dtypes, strided inputs,
// thread-count independence, the argument errors, and gradients through autograd
// (against the serial backward kernel).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/autograd.h>

#include "kernels/render_line_backward.h"
#include "kernels/render_line_cpu.h"

namespace torch_render {
namespace {

using OptTensor = std::optional<at::Tensor>;

// The schema's C++ signatures (CONVENTIONS: int <-> int64_t, float <-> double).
using RenderLineFn = at::Tensor(const at::Tensor&, int64_t, int64_t, double, bool, double,
                                const OptTensor&, bool, double, double,
                                std::optional<at::ScalarType>);
// render_line.out returns nothing (`Tensor(a!) out) -> ()`): it writes into `out`.
using RenderLineOutFn = void(const at::Tensor&, int64_t, int64_t, double, bool, double,
                             const OptTensor&, bool, double, double, at::Tensor&);

// Keyword arguments of the schema with their defaults.
struct Options {
  double line_width = 3.0;
  bool antialias = true;
  double margin = 0.0;
  OptTensor value_range = std::nullopt;
  bool channels = false;
  double background = 1.0;
  double foreground = 0.0;
  std::optional<at::ScalarType> dtype = std::nullopt;
};

at::Tensor render_line(const at::Tensor& series, int64_t height, int64_t width,
                       const Options& o = {}) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("torch_render::render_line", "")
                             .typed<RenderLineFn>();
  return op.call(series, height, width, o.line_width, o.antialias, o.margin, o.value_range,
                 o.channels, o.background, o.foreground, o.dtype);
}

void render_line_out(const at::Tensor& series, int64_t height, int64_t width, const Options& o,
                     at::Tensor& out) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("torch_render::render_line", "out")
                             .typed<RenderLineOutFn>();
  op.call(series, height, width, o.line_width, o.antialias, o.margin, o.value_range, o.channels,
          o.background, o.foreground, out);
}

// The kernel parameters of a call, as plan_render_line makes them (workspace
// pointers into xs and ys; `range` holds the float64 value ranges).
kernels::LineParams line_params(const at::Tensor& s3, int64_t height, int64_t width,
                                const Options& o, at::Tensor& range, std::vector<float>& xs,
                                std::vector<float>& ys) {
  kernels::LineParams p;
  p.batch = s3.size(0);
  p.num_series = s3.size(1);
  p.length = s3.size(2);
  p.height = height;
  p.width = width;
  p.channel_mode = o.channels;
  p.antialias = o.antialias;
  p.half_width = static_cast<float>(o.line_width) * 0.5f;
  p.margin = o.margin;
  p.background = static_cast<float>(o.background) + 0.0f;
  p.foreground = static_cast<float>(o.foreground);
  if (o.value_range.has_value()) {
    range = o.value_range->to(at::kDouble).contiguous();
    p.value_range = range.const_data_ptr<double>();
    p.range_stride_b = range.dim() == 2 ? 2 : p.num_series * 2;
    p.range_stride_g = range.dim() == 2 ? 0 : 2;
  }
  xs.resize(p.length);
  ys.resize(p.batch * p.num_series * p.length);
  p.xs = xs.data();
  p.ys = ys.data();
  return p;
}

// The torch-free serial kernel on the same (possibly strided) input: the reference.
template <typename T, typename OutT>
at::Tensor reference(const at::Tensor& series, int64_t height, int64_t width, const Options& o) {
  const at::Tensor s3 = series.dim() == 3 ? series : series.unsqueeze(1);
  at::Tensor range;
  std::vector<float> xs, ys;
  const kernels::LineParams p = line_params(s3, height, width, o, range, xs, ys);
  std::vector<kernels::CpuPrimitive> primitives(kernels::cpu_scratch_primitives(p));
  const int64_t C = o.channels ? p.num_series : 1;
  at::Tensor out = at::empty({p.batch, C, height, width},
                             at::TensorOptions().dtype(c10::CppTypeToScalarType<OutT>::value));
  const kernels::SeriesView<T> in{s3.const_data_ptr<T>(), s3.stride(0), s3.stride(1),
                                  s3.stride(2)};
  kernels::render_line_cpu_serial(p, in, out.mutable_data_ptr<OutT>(),
                                  kernels::CpuScratch{primitives.data()});
  return out;
}

// The torch-free serial backward: d sum(weights * image) / d series (float32
// series and weights), as float64 [B, S, L].
at::Tensor reference_grad(const at::Tensor& series, int64_t height, int64_t width,
                          const Options& o, const at::Tensor& weights) {
  const at::Tensor s3 = series.dim() == 3 ? series : series.unsqueeze(1);
  at::Tensor range;
  std::vector<float> xs, ys;
  const kernels::LineParams p = line_params(s3, height, width, o, range, xs, ys);
  const at::Tensor w = weights.contiguous();
  std::vector<double> primitive(p.batch * p.num_series * p.length * 2);
  at::Tensor grad = at::empty({p.batch, p.num_series, p.length}, at::kDouble);
  const kernels::SeriesView<float> in{s3.const_data_ptr<float>(), s3.stride(0), s3.stride(1),
                                      s3.stride(2)};
  const kernels::PlaneView<float> g{w.const_data_ptr<float>(), w.stride(0), w.stride(1),
                                    w.stride(2), w.stride(3)};
  kernels::render_line_backward_serial(
      p, in, g, kernels::LineGradBuffers{primitive.data(), grad.mutable_data_ptr<double>(), nullptr});
  return grad;
}

bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  const at::Tensor ca = a.contiguous();
  const at::Tensor cb = b.contiguous();
  return std::memcmp(ca.const_data_ptr(), cb.const_data_ptr(), ca.nbytes()) == 0;
}

// A [B, S, L] float walk with gaps.
at::Tensor random_series(int64_t B, int64_t S, int64_t L, double gap_fraction = 0.05) {
  at::Tensor x = at::randn({B, S, L}).cumsum(-1);
  const at::Tensor gaps = at::rand({B, S, L}) < gap_fraction;
  return x.masked_fill(gaps, std::numeric_limits<float>::quiet_NaN());
}

template <typename Error>
void expect_error(const std::function<void()>& call, const std::string& message) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one containing \"" << message << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
        << "message \"" << e.what() << "\" does not contain \"" << message << "\"";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

class RenderLineOp : public ::testing::Test {
 protected:
  void SetUp() override { at::manual_seed(0); }
};

TEST_F(RenderLineOp, IsRegisteredWithACpuKernel) {
  // Only true when the library was loaded although nothing references its symbols.
  const auto handle = c10::Dispatcher::singleton().findSchema({"torch_render::render_line", ""});
  ASSERT_TRUE(handle.has_value()) << "torch_render::render_line is not registered: was "
                                     "libtorch_render linked with --no-as-needed?";
  EXPECT_TRUE(handle->hasKernelForDispatchKey(c10::DispatchKey::CPU));
  EXPECT_TRUE(c10::Dispatcher::singleton().findSchema({"torch_render::render_line", "out"}));
}

TEST_F(RenderLineOp, MatchesTheSerialKernel) {
  const at::Tensor series = random_series(3, 2, 120);
  for (bool channels : {false, true}) {
    for (bool antialias : {true, false}) {
      for (double line_width : {0.0, 1.0, 3.0, 8.0}) {
        for (double margin : {0.0, 4.5}) {
          Options o;
          o.channels = channels;
          o.antialias = antialias;
          o.line_width = line_width;
          o.margin = margin;
          const at::Tensor got = render_line(series, 96, 160, o);
          ASSERT_EQ(got.sizes(), at::IntArrayRef({3, channels ? 2 : 1, 96, 160}));
          ASSERT_EQ(got.scalar_type(), at::kFloat);
          ASSERT_TRUE(got.is_contiguous());
          ASSERT_TRUE(same_bits(got, reference<float, float>(series, 96, 160, o)))
              << "channels=" << channels << " antialias=" << antialias
              << " line_width=" << line_width << " margin=" << margin;
        }
      }
    }
  }
}

TEST_F(RenderLineOp, InputAndOutputDtypes) {
  const at::Tensor series = random_series(2, 1, 64).squeeze(1);  // [B, L]
  Options o;
  // Input dtypes: converted to float32 first.
  EXPECT_TRUE(same_bits(render_line(series.to(at::kDouble), 50, 70, o),
                        reference<double, float>(series.to(at::kDouble), 50, 70, o)));
  EXPECT_TRUE(same_bits(render_line(series.to(at::kHalf), 50, 70, o),
                        reference<at::Half, float>(series.to(at::kHalf), 50, 70, o)));
  // Output dtypes: uint8 and float64 from the kernel, float16/bfloat16 the rounded float32.
  const at::Tensor f32 = render_line(series, 50, 70, o);
  o.dtype = at::kByte;
  EXPECT_TRUE(same_bits(render_line(series, 50, 70, o), reference<float, uint8_t>(series, 50, 70, o)));
  o.dtype = at::kDouble;
  EXPECT_TRUE(same_bits(render_line(series, 50, 70, o), reference<float, double>(series, 50, 70, o)));
  for (at::ScalarType t : {at::kHalf, at::kBFloat16}) {
    o.dtype = t;
    EXPECT_TRUE(same_bits(render_line(series, 50, 70, o), f32.to(t))) << t;
  }
}

TEST_F(RenderLineOp, StridedInputsNeedNoCopy) {
  // Sliding windows of one long series: a [B, L] view with strides (step, 1).
  const at::Tensor long_series = at::randn({1000}).cumsum(0);
  const at::Tensor windows = long_series.unfold(0, 100, 37);
  ASSERT_FALSE(windows.is_contiguous());
  const at::Tensor got = render_line(windows, 60, 90);
  EXPECT_TRUE(same_bits(got, reference<float, float>(windows, 60, 90, Options{})));
  EXPECT_TRUE(same_bits(got, render_line(windows.contiguous(), 60, 90)));
  // A transposed [B, S, L] view and every other point.
  const at::Tensor base = random_series(40, 3, 4).permute({2, 1, 0});  // [4, 3, 40]
  Options o;
  o.channels = true;
  EXPECT_TRUE(same_bits(render_line(base, 30, 50, o), render_line(base.contiguous(), 30, 50, o)));
  const at::Tensor spaced = random_series(2, 2, 80).slice(-1, 0, 80, 2);
  EXPECT_TRUE(same_bits(render_line(spaced, 30, 50, o), reference<float, float>(spaced, 30, 50, o)));
}

TEST_F(RenderLineOp, ExplicitValueRanges) {
  const at::Tensor series = random_series(2, 3, 50);
  Options o;
  o.value_range = at::tensor({-3.0f, 3.0f, 0.0f, 1.0f}).reshape({2, 2});
  EXPECT_TRUE(same_bits(render_line(series, 40, 60, o), reference<float, float>(series, 40, 60, o)));
  o.channels = true;
  o.value_range = at::randn({2, 3, 2}).to(at::kDouble);
  EXPECT_TRUE(same_bits(render_line(series, 40, 60, o), reference<float, float>(series, 40, 60, o)));
}

TEST_F(RenderLineOp, OutFormWritesIntoTheGivenTensor) {
  const at::Tensor series = random_series(2, 2, 30);
  Options o;
  o.channels = true;
  at::Tensor out = at::full({2, 2, 20, 25}, 7, at::kByte);
  const void* storage = out.const_data_ptr();
  const auto version = out._version();
  render_line_out(series, 20, 25, o, out);
  EXPECT_EQ(out.const_data_ptr(), storage);
  EXPECT_GT(out._version(), version);  // written in place: the version counter moved
  o.dtype = at::kByte;
  EXPECT_TRUE(same_bits(out, render_line(series, 20, 25, o)));
}

TEST_F(RenderLineOp, ResultDoesNotDependOnTheThreadCount) {
  const at::Tensor series = random_series(6, 2, 200);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const at::Tensor one = render_line(series, 300, 400);
  at::set_num_threads(4);
  const at::Tensor four = render_line(series, 300, 400);
  at::set_num_threads(threads);
  EXPECT_TRUE(same_bits(one, four));
  EXPECT_TRUE(same_bits(one, reference<float, float>(series, 300, 400, Options{})));
}

TEST_F(RenderLineOp, CudaMatchesCpuBitForBit) {
  const auto handle = c10::Dispatcher::singleton().findSchema({"torch_render::render_line", ""});
  ASSERT_TRUE(handle.has_value());
  if (!handle->hasKernelForDispatchKey(c10::DispatchKey::CUDA)) {
    GTEST_SKIP() << "built without the CUDA kernels (TORCH_RENDER_WITH_CUDA=OFF)";
  }
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const at::Tensor series = random_series(5, 3, 150, 0.1);
  const at::Device cuda(at::kCUDA);
  for (bool channels : {false, true}) {
    for (bool antialias : {true, false}) {
      for (at::ScalarType t : {at::kFloat, at::kByte, at::kHalf, at::kBFloat16, at::kDouble}) {
        Options o;
        o.channels = channels;
        o.antialias = antialias;
        o.margin = 2.5;
        o.dtype = t;
        const at::Tensor cpu = render_line(series, 123, 201, o);
        const at::Tensor gpu = render_line(series.to(cuda), 123, 201, o);
        ASSERT_TRUE(gpu.is_cuda());
        EXPECT_TRUE(same_bits(gpu.cpu(), cpu))
            << "channels=" << channels << " antialias=" << antialias << " dtype=" << t;
      }
    }
  }
  // A strided (unfold) view on the device, uint8 into out=.
  const at::Tensor windows = at::randn({2000}).cumsum(0).to(cuda).unfold(0, 100, 19);
  at::Tensor out = at::empty({windows.size(0), 1, 64, 96}, at::TensorOptions(cuda).dtype(at::kByte));
  render_line_out(windows, 64, 96, Options{}, out);
  Options o;
  o.dtype = at::kByte;
  EXPECT_TRUE(same_bits(out.cpu(), render_line(windows.cpu(), 64, 96, o)));
}

TEST_F(RenderLineOp, WideImagesMatchTheSerialKernel) {
  // Wider than one column strip of the CPU backend (2048 columns).
  const at::Tensor series = random_series(2, 2, 300);
  Options o;
  o.channels = true;
  o.line_width = 2.0;
  EXPECT_TRUE(same_bits(render_line(series, 12, 4500, o), reference<float, float>(series, 12, 4500, o)));
}

TEST_F(RenderLineOp, EmptyBatch) {
  const at::Tensor got = render_line(at::empty({0, 3, 10}), 12, 14);
  EXPECT_EQ(got.sizes(), at::IntArrayRef({0, 1, 12, 14}));
}

TEST_F(RenderLineOp, ArgumentErrorsNameTheArgument) {
  const at::Tensor series = random_series(2, 1, 10).squeeze(1);
  expect_error<c10::ValueError>([&] { render_line(at::randn({10}), 8, 8); },
                                "render_line: series must be [B, L] or [B, S, L]");
  expect_error<c10::TypeError>([&] { render_line(at::arange(20).reshape({2, 10}), 8, 8); },
                               "series must be a floating tensor");
  expect_error<c10::ValueError>([&] { render_line(series, 0, 8); }, "height must be >= 1");
  expect_error<c10::ValueError>([&] { render_line(series, 8, -1); }, "width must be >= 1");
  Options o;
  o.line_width = -1.0;
  expect_error<c10::ValueError>([&] { render_line(series, 8, 8, o); }, "line_width");
  o = Options{};
  o.margin = 10.0;
  expect_error<c10::ValueError>([&] { render_line(series, 8, 8, o); }, "margin");
  o = Options{};
  o.value_range = at::zeros({3, 2});
  expect_error<c10::ValueError>([&] { render_line(series, 8, 8, o); }, "value_range");
  o = Options{};
  o.dtype = at::kInt;
  expect_error<c10::TypeError>([&] { render_line(series, 8, 8, o); }, "dtype");
  at::Tensor wrong_shape = at::empty({2, 1, 8, 9});
  expect_error<c10::ValueError>([&] { render_line_out(series, 8, 8, Options{}, wrong_shape); },
                                "out must have shape");
}

TEST_F(RenderLineOp, NonFiniteValueRangeIsRefusedOnTheCpu) {
  const at::Tensor series = random_series(2, 1, 10).squeeze(1);
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    for (at::ScalarType t : {at::kFloat, at::kDouble, at::kHalf}) {
      Options o;
      o.value_range = at::tensor({0.0, 1.0, -1.0, 1.0}, at::kDouble).reshape({2, 2}).to(t);
      o.value_range->select(0, 1).fill_(bad);
      expect_error<c10::ValueError>([&] { render_line(series, 8, 8, o); },
                                    "render_line: value_range must be finite, got ");
    }
  }
}

TEST_F(RenderLineOp, ColoursTheOutputDtypeCannotHold) {
  const at::Tensor series = random_series(2, 1, 10).squeeze(1);
  Options o;
  o.background = 1e5;
  o.dtype = at::kHalf;
  expect_error<c10::ValueError>(
      [&] { render_line(series, 8, 8, o); },
      "render_line: with float16 output, background and foreground must round to finite float16 "
      "values (largest 65504), got 100000 and 0");
  o.background = 3.4e38;
  o.dtype = at::kBFloat16;
  expect_error<c10::ValueError>([&] { render_line(series, 8, 8, o); },
                                "with bfloat16 output, background and foreground must round to "
                                "finite bfloat16 values");
  o.background = 65504.0;
  o.dtype = at::kHalf;
  EXPECT_TRUE(render_line(series, 8, 8, o).isfinite().all().item<bool>());
}

TEST_F(RenderLineOp, OutFormHasNoAutograd) {
  const at::Tensor series = random_series(2, 1, 10).squeeze(1);
  at::Tensor leaf = at::zeros({2, 1, 8, 8}).set_requires_grad(true);
  expect_error<c10::Error>([&] { render_line_out(series, 8, 8, Options{}, leaf); },
                           "render_line: out must not require grad");
  at::Tensor out = at::zeros({2, 1, 8, 8});
  const at::Tensor needs_grad = series.clone().set_requires_grad(true);
  expect_error<c10::Error>([&] { render_line_out(needs_grad, 8, 8, Options{}, out); },
                           "out= does not support automatic differentiation, but series requires grad");
  {
    at::NoGradGuard no_grad;  // as an optimizer writes parameters
    render_line_out(series, 8, 8, Options{}, leaf);
  }
  EXPECT_TRUE(same_bits(leaf.detach(), render_line(series, 8, 8)));
}

// d sum(weights * render_line(series)) / d series by autograd, from C++.
at::Tensor autograd_grad(const at::Tensor& series, int64_t height, int64_t width, const Options& o,
                         const at::Tensor& weights) {
  const at::Tensor leaf = series.detach().clone().set_requires_grad(true);
  const at::Tensor img = render_line(leaf, height, width, o);
  EXPECT_TRUE(img.requires_grad());
  (img * weights).sum().backward();
  return leaf.grad();
}

TEST_F(RenderLineOp, GradientsThroughAutogradMatchTheSerialKernel) {
  const at::Tensor series = random_series(3, 2, 80);
  for (bool channels : {false, true}) {
    Options o;
    o.channels = channels;
    o.margin = 1.5;
    const at::Tensor weights = at::rand({3, channels ? 2 : 1, 60, 90}) * 2 - 1;
    const at::Tensor got = autograd_grad(series, 60, 90, o, weights);
    ASSERT_TRUE(got.defined());
    EXPECT_EQ(got.scalar_type(), at::kFloat);
    EXPECT_TRUE(got.isfinite().all().item<bool>());
    EXPECT_GT(got.abs().sum().item<double>(), 0.0);
    const at::Tensor want = reference_grad(series, 60, 90, o, weights).to(at::kFloat);
    EXPECT_TRUE(same_bits(got, want)) << "channels=" << channels;
    // The same with one thread and with four.
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    const at::Tensor one = autograd_grad(series, 60, 90, o, weights);
    at::set_num_threads(4);
    const at::Tensor four = autograd_grad(series, 60, 90, o, weights);
    at::set_num_threads(threads);
    EXPECT_TRUE(same_bits(one, got) && same_bits(four, got));
  }
}

TEST_F(RenderLineOp, GradientsReachTheValueRange) {
  const at::Tensor series = random_series(2, 1, 40, 0.0).squeeze(1);
  Options o;
  o.value_range = at::tensor({-8.0, 9.0, -7.0, 6.0}).view({2, 2}).set_requires_grad(true);
  const at::Tensor leaf = series.clone().set_requires_grad(true);
  (render_line(leaf, 30, 50, o) * at::rand({2, 1, 30, 50})).sum().backward();
  const at::Tensor g = o.value_range->grad();
  ASSERT_TRUE(g.defined());
  EXPECT_GT(g.abs().sum().item<double>(), 0.0);
  // Moving the values and the range together leaves the image unchanged.
  const at::Tensor total = leaf.grad().sum(-1) + g.sum(-1);
  EXPECT_LT(total.abs().max().item<double>(), 1e-3 * leaf.grad().abs().sum().item<double>());
}

TEST_F(RenderLineOp, NoGraphForUint8AndNoDoubleBackward) {
  const at::Tensor series = random_series(2, 1, 10).squeeze(1).set_requires_grad(true);
  Options o;
  o.dtype = at::kByte;
  EXPECT_FALSE(render_line(series, 8, 8, o).requires_grad());
  const at::Tensor img = render_line(series, 8, 8);
  const auto grads = torch::autograd::grad({(img * img).sum()}, {series}, {}, true, true);
  ASSERT_TRUE(grads[0].requires_grad());
  expect_error<c10::NotImplementedError>([&] { grads[0].sum().backward(); },
                                         "render_line: double backward is not supported");
}

TEST_F(RenderLineOp, CudaGradientsMatchCpuBitForBit) {
  const auto handle =
      c10::Dispatcher::singleton().findSchema({"torch_render::render_line_backward", ""});
  ASSERT_TRUE(handle.has_value());
  if (!handle->hasKernelForDispatchKey(c10::DispatchKey::CUDA)) {
    GTEST_SKIP() << "built without the CUDA kernels (TORCH_RENDER_WITH_CUDA=OFF)";
  }
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const at::Tensor series = random_series(4, 3, 100);
  const at::Device cuda(at::kCUDA);
  for (bool channels : {false, true}) {
    Options o;
    o.channels = channels;
    const at::Tensor weights = at::rand({4, channels ? 3 : 1, 70, 110});
    const at::Tensor cpu = autograd_grad(series, 70, 110, o, weights);
    const at::Tensor gpu = autograd_grad(series.to(cuda), 70, 110, o, weights.to(cuda));
    ASSERT_TRUE(gpu.is_cuda());
    EXPECT_TRUE(same_bits(gpu.cpu(), cpu)) << "channels=" << channels;
  }
}

}  // namespace
}  // namespace torch_render
