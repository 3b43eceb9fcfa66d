// Runs, from C++, the TorchScript model that make_model.py saved (its forward renders
// price series with torch_render::render_line and classifies the images with a small
// CNN), and checks it against Python's outputs for the same input: the images bit for
// bit, the logits to float rounding. Also renders through the C++ dispatcher directly
// (no TorchScript) and checks that against the model's own rendering step.
//
//   torch_render_run_model MODEL_DIR     (MODEL_DIR holds model.pt and expected.pt)
//
// Exit status: 0 when everything matches, 1 on a mismatch, 2 on an error.
//
// The operators are registered by libtorch_render when it is loaded; linking
// torch_render::torch_render keeps it a dependency of this program (the target carries
// a --no-as-needed link item), so torch::jit::load finds torch_render::render_line.
#include <cstdint>
#include <exception>
#include <optional>
#include <string>

#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/ne.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

namespace {

// render_line's schema as a C++ signature (int <-> int64_t, float <-> double).
using RenderLineFn = at::Tensor(const at::Tensor&, int64_t, int64_t, double, bool, double,
                                const std::optional<at::Tensor>&, bool, double, double,
                                std::optional<at::ScalarType>);

// torch_render::render_line with the schema's defaults but for line_width.
at::Tensor render_line(const at::Tensor& series, int64_t height, int64_t width,
                       double line_width) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("torch_render::render_line", "")
                             .typed<RenderLineFn>();
  return op.call(series, height, width, line_width, /*antialias=*/true, /*margin=*/0.0,
                 /*value_range=*/std::nullopt, /*channels=*/false, /*background=*/1.0,
                 /*foreground=*/0.0, /*dtype=*/std::nullopt);
}

std::string describe(const at::Tensor& t) {
  return fmt::format("[{}] {}", fmt::join(t.sizes(), ", "), c10::toString(t.scalar_type()));
}

// Same shape, dtype and bits; else prints how many elements differ.
bool check_equal(const char* what, const at::Tensor& got, const at::Tensor& want) {
  if (got.sizes() == want.sizes() && got.scalar_type() == want.scalar_type() &&
      at::equal(got, want)) {
    fmt::print("  {:<10} {}: equal\n", what, describe(got));
    return true;
  }
  if (got.sizes() != want.sizes() || got.scalar_type() != want.scalar_type()) {
    fmt::print("  {:<10} MISMATCH: {} vs {}\n", what, describe(got), describe(want));
  } else {
    fmt::print("  {:<10} MISMATCH: {} of {} values differ, max abs diff {}\n", what,
               at::ne(got, want).sum().item<int64_t>(), got.numel(),
               (got - want).abs().max().item<double>());
  }
  return false;
}

int run(const std::string& dir) {
  c10::InferenceMode guard;
  torch::jit::Module model;
  try {
    model = torch::jit::load(dir + "/model.pt");
  } catch (const std::exception& e) {  // c10::Error, or torch::jit::ErrorReport
    const auto* error = dynamic_cast<const c10::Error*>(&e);
    const std::string message = error ? error->what_without_backtrace() : e.what();
    const bool unknown_op = message.find("torch_render::") != std::string::npos;
    fmt::print(stderr, "torch_render_run_model: cannot load {}/model.pt{}:\n{}\n", dir,
               unknown_op ? " (torch_render's operators are not registered: is "
                            "libtorch_render linked?)"
                          : "",
               message);
    return 2;
  }
  model.eval();
  const torch::jit::Module expected = torch::jit::load(dir + "/expected.pt");
  const at::Tensor input = expected.attr("input").toTensor();
  const at::Tensor want_images = expected.attr("images").toTensor();
  const at::Tensor want_logits = expected.attr("logits").toTensor();

  const at::Tensor images = model.run_method("render", input).toTensor();
  const at::Tensor logits = model.forward({input}).toTensor();
  const at::Tensor direct = render_line(input, model.attr("height").toInt(),
                                        model.attr("width").toInt(),
                                        model.attr("line_width").toDouble());

  fmt::print("torch_render_run_model: {}/model.pt on input {}\n", dir, describe(input));
  bool ok = check_equal("images", images, want_images);  // the model's render vs Python's
  ok = check_equal("dispatcher", direct, images) && ok;  // render_line from C++ vs the model's
  // Convolutions may pick other algorithms (threads, ISA) than in Python: allow rounding.
  const bool same_shape = logits.sizes() == want_logits.sizes();
  const bool logits_ok = same_shape && at::allclose(logits, want_logits, /*rtol=*/1e-5,
                                                    /*atol=*/1e-6);
  const at::Tensor predictions = logits.argmax(1).contiguous();
  const int64_t* pred = predictions.const_data_ptr<int64_t>();
  fmt::print("  {:<10} {}: {} (max abs diff {}), predictions [{}]\n", "logits",
             describe(logits), logits_ok ? "allclose" : "MISMATCH",
             same_shape ? (logits - want_logits).abs().max().item<double>() : -1.0,
             fmt::join(pred, pred + predictions.numel(), ", "));
  ok = logits_ok && ok;
  fmt::print("torch_render_run_model: {}\n", ok ? "OK, equal to Python's outputs"
                                                : "FAILED, differs from Python's outputs");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} MODEL_DIR   (written by examples/cpp/make_model.py)\n",
               argv[0]);
    return 2;
  }
  try {
    return run(argv[1]);
  } catch (const c10::Error& e) {
    fmt::print(stderr, "torch_render_run_model: {}\n", e.what_without_backtrace());
  } catch (const std::exception& e) {
    fmt::print(stderr, "torch_render_run_model: {}\n", e.what());
  }
  return 2;
}
