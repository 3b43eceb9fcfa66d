// Argument checks shared by the ops. Every message names the op, the argument,
// what was expected and what came: "render_line: out must have shape [2, 1, 4, 5],
// got [2, 1, 4, 6]". Each op checks once, in its plan step, before any backend.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

namespace torch_render {

constexpr double kFloatMax = std::numeric_limits<float>::max();

// float16, bfloat16, float32 or float64: the input dtypes of every op.
bool is_float_dtype(at::ScalarType t);
// An input dtype or uint8: the output dtypes of every op.
bool is_output_dtype(at::ScalarType t);
// Whether float32(v) is finite and stays finite when stored in the floating dtype t
// (float16 and bfloat16 round to nearest).
bool stores_finite(double v, at::ScalarType t);
// Whether the memory two tensors can touch overlaps (non-negative strides; an
// undefined or empty tensor overlaps nothing).
bool overlaps(const at::Tensor& a, const at::Tensor& b);

// How an op's messages write the values that came, as its fake kernel writes them.
enum class Spelling {
  kAten,    // dtypes as ATen names them ("Float"), numbers as their shortest round trip
  kPython,  // dtypes as Python's str(dtype) ("torch.float32"), numbers as f"{v:g}"
};

// The checks of one op: `constexpr OpChecks kCheck{"render_line", Spelling::kAten};`.
struct OpChecks {
  const char* op;
  Spelling spelling;

  std::string num(double v) const;
  std::string dtype(at::ScalarType t) const;

  // `arg` has a floating dtype (TypeError).
  void floating(const at::Tensor& t, const char* arg) const;
  // `arg` (the output dtype: "dtype" or "out.dtype") is an output dtype (TypeError).
  void output_dtype(at::ScalarType t, const char* arg) const;
  // `arg` is on the device of `ref_arg` (RuntimeError).
  void same_device(const at::Tensor& t, const char* arg, const at::Tensor& ref,
                   const char* ref_arg) const;
  // An output of `shape` has at most int64-max elements (ValueError).
  void indexable(const std::vector<int64_t>& shape) const;
  // `out` is on the device of the input `input_arg`, has `shape` and is contiguous.
  void out_tensor(const at::Tensor& out, at::IntArrayRef shape, const at::Tensor& input,
                  const char* input_arg) const;
  // `out` does not overlap the memory of `arg` (RuntimeError; `t` may be undefined).
  void no_overlap(const at::Tensor& out, const at::Tensor& t, const char* arg) const;
};

}  // namespace torch_render
