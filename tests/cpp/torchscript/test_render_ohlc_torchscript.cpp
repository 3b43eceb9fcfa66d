// render_ohlc from C++ through TorchScript: modules scripted and saved by Python
// (save_ohlc_modules.py: torch_render.transforms.OHLCChart, and a module calling
// torch.ops.torch_render.render_ohlc and its out= form) are loaded with
// torch::jit::load and run here; their images must equal, bit for bit, the float64
// brute-force reference's (tests/ohlc_reference.py), which the script saved beside
// them. The same calls through the C++ dispatcher must give the same images.
//
// The folder comes from TORCH_RENDER_TORCHSCRIPT_DIR (CTest sets it, after the
// fixture that runs save_ohlc_modules.py); without it every test fails.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/full.h>
#include <ATen/ops/ne.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

namespace torch_render {
namespace {

using OptTensor = std::optional<at::Tensor>;
// render_ohlc's schema as a C++ signature (CONVENTIONS: int <-> int64_t, float <->
// double, str <-> std::string_view).
using RenderOhlcFn = at::Tensor(const at::Tensor&, int64_t, std::optional<int64_t>,
                                const OptTensor&, const OptTensor&, std::string_view, int64_t,
                                int64_t, const OptTensor&, double, double,
                                std::optional<at::ScalarType>, const OptTensor&);
using RenderOhlcOutFn = void(const at::Tensor&, int64_t, std::optional<int64_t>, const OptTensor&,
                             const OptTensor&, std::string_view, int64_t, int64_t,
                             const OptTensor&, double, double, at::Tensor&, const OptTensor&);

std::string folder() {
  const char* dir = std::getenv("TORCH_RENDER_TORCHSCRIPT_DIR");
  return dir ? dir : "";
}

// Same shape, dtype and bits; else says how many values differ.
::testing::AssertionResult same_bits(const at::Tensor& got, const at::Tensor& want) {
  if (got.sizes() != want.sizes() || got.scalar_type() != want.scalar_type()) {
    return ::testing::AssertionFailure() << "got " << got.sizes() << " " << got.scalar_type()
                                         << ", want " << want.sizes() << " " << want.scalar_type();
  }
  if (at::equal(got, want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << at::ne(got, want).sum().item<int64_t>() << " of "
                                       << got.numel() << " values differ";
}

class RenderOhlcTorchScript : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(folder().empty())
        << "TORCH_RENDER_TORCHSCRIPT_DIR is not set: run through CTest, which runs "
           "save_ohlc_modules.py first";
    store_ = torch::jit::load(folder() + "/expected.pt");
    ohlc_ = tensor("ohlc");
    volume_ = tensor("volume");
    overlays_ = tensor("overlays");
    value_range_ = tensor("value_range");
  }

  at::Tensor tensor(const char* name) const { return store_.attr(name).toTensor(); }

  torch::jit::Module store_;
  at::Tensor ohlc_, volume_, overlays_, value_range_;
};

TEST_F(RenderOhlcTorchScript, TheSavedInputsAreWhatTheTestExpects) {
  // A guard against a store that would make the comparisons below vacuous.
  EXPECT_EQ(ohlc_.sizes(), at::IntArrayRef({6, 20, 4}));
  EXPECT_EQ(ohlc_.scalar_type(), at::kFloat);
  EXPECT_TRUE(ohlc_.isnan().any().item<bool>());
  const at::Tensor chart = tensor("chart_images");
  EXPECT_EQ(chart.sizes(), at::IntArrayRef({6, 1, 64, 60}));
  EXPECT_TRUE(chart.eq(0).any().item<bool>() && chart.eq(255).any().item<bool>());
  const at::Tensor op = tensor("op_images");
  EXPECT_EQ(op.sizes(), at::IntArrayRef({6, 1, 50, 110}));
  EXPECT_FALSE(at::equal(op, tensor("op_images_auto_range")));
}

TEST_F(RenderOhlcTorchScript, ScriptedOHLCChartMatchesTheReference) {
  c10::InferenceMode guard;
  torch::jit::Module chart = torch::jit::load(folder() + "/chart.pt");
  chart.eval();
  EXPECT_EQ(chart.attr("height").toInt(), 64);
  EXPECT_EQ(chart.attr("volume_rows").toInt(), 12);
  EXPECT_EQ(chart.attr("style").toStringRef(), "candle");
  const at::Tensor want = tensor("chart_images");
  const at::Tensor got = chart.forward({ohlc_, volume_, overlays_}).toTensor();
  EXPECT_TRUE(same_bits(got, want));
  // One sample ([L, 4], [L], [M, L]) -> [1, H, W].
  const at::Tensor one =
      chart.forward({ohlc_.select(0, 2), volume_.select(0, 2), overlays_.select(0, 2)}).toTensor();
  EXPECT_TRUE(same_bits(one, want.select(0, 2)));
  // Strided (non-contiguous) inputs: the same images.
  const at::Tensor strided = ohlc_.transpose(1, 2).contiguous().transpose(1, 2);
  ASSERT_FALSE(strided.is_contiguous());
  EXPECT_TRUE(same_bits(chart.forward({strided, volume_, overlays_}).toTensor(), want));
}

TEST_F(RenderOhlcTorchScript, ScriptedOpModuleMatchesTheReference) {
  c10::InferenceMode guard;
  torch::jit::Module op = torch::jit::load(folder() + "/op.pt");
  op.eval();
  EXPECT_TRUE(same_bits(op.forward({ohlc_, volume_, overlays_, value_range_}).toTensor(),
                        tensor("op_images")));
  EXPECT_TRUE(same_bits(op.forward({ohlc_, volume_, overlays_, c10::IValue()}).toTensor(),
                        tensor("op_images_auto_range")));
  // The out= form through TorchScript writes into the given tensor.
  at::Tensor out = at::full({6, 1, 50, 110}, 7.0f);
  const void* storage = out.const_data_ptr();
  const at::Tensor got = op.run_method("render_into", ohlc_, out).toTensor();
  EXPECT_EQ(got.const_data_ptr(), storage);
  EXPECT_TRUE(same_bits(out, tensor("into_images")));
}

TEST_F(RenderOhlcTorchScript, DispatcherCallsMatchTheReference) {
  // The C++ user's other way in: torch_render::render_ohlc through the dispatcher.
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("torch_render::render_ohlc", "")
                             .typed<RenderOhlcFn>();
  static const auto op_out = c10::Dispatcher::singleton()
                                 .findSchemaOrThrow("torch_render::render_ohlc", "out")
                                 .typed<RenderOhlcOutFn>();
  EXPECT_TRUE(same_bits(op.call(ohlc_, 64, std::nullopt, volume_, overlays_, "candle", 3, 12,
                                std::nullopt, 1.0, 0.0, at::kByte, std::nullopt),
                        tensor("chart_images")));
  EXPECT_TRUE(same_bits(op.call(ohlc_, 50, 110, volume_, overlays_, "bar", 5, 9, value_range_,
                                0.25, 0.75, std::nullopt, std::nullopt),
                        tensor("op_images")));
  at::Tensor out = at::empty({6, 1, 50, 110});
  op_out.call(ohlc_, 50, 110, std::nullopt, std::nullopt, "candle", 5, 0, std::nullopt, 1.0, 0.0,
              out, std::nullopt);
  EXPECT_TRUE(same_bits(out, tensor("into_images")));
}

}  // namespace
}  // namespace torch_render
