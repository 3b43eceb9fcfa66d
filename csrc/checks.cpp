#include "csrc/checks.h"

#include <cmath>
#include <utility>

#include <c10/util/BFloat16.h>
#include <c10/util/Exception.h>
#include <c10/util/Half.h>
#include <c10/util/safe_numerics.h>
#include <fmt/format.h>

namespace torch_render {
namespace {

// [first, last) byte range a tensor's elements can touch (non-negative strides).
std::pair<uintptr_t, uintptr_t> byte_extent(const at::Tensor& t) {
  const auto start = reinterpret_cast<uintptr_t>(t.const_data_ptr());
  int64_t last = 0;
  for (int64_t d = 0; d < t.dim(); ++d) last += (t.size(d) - 1) * t.stride(d);
  return {start, start + static_cast<uintptr_t>((last + 1) * t.element_size())};
}

}  // namespace

bool is_float_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16;
}

bool is_output_dtype(at::ScalarType t) { return is_float_dtype(t) || t == at::kByte; }

bool stores_finite(double v, at::ScalarType t) {
  if (!std::isfinite(v) || std::abs(v) > kFloatMax) return false;
  const auto f = static_cast<float>(v);
  if (t == at::kHalf) return std::isfinite(static_cast<float>(c10::Half(f)));
  if (t == at::kBFloat16) return std::isfinite(static_cast<float>(c10::BFloat16(f)));
  return true;
}

bool overlaps(const at::Tensor& a, const at::Tensor& b) {
  if (!a.defined() || !b.defined() || a.numel() == 0 || b.numel() == 0) return false;
  const auto ea = byte_extent(a);
  const auto eb = byte_extent(b);
  return ea.first < eb.second && eb.first < ea.second;
}

std::string OpChecks::num(double v) const {
  return spelling == Spelling::kPython ? fmt::format("{:g}", v) : fmt::format("{}", v);
}

std::string OpChecks::dtype(at::ScalarType t) const {
  if (spelling == Spelling::kAten) return c10::toString(t);
  // (getDtypeNames gives a std::string in torch 2.11, a std::string_view in 2.15.)
  return std::string("torch.") + std::string(c10::getDtypeNames(t).first);
}

void OpChecks::floating(const at::Tensor& t, const char* arg) const {
  TORCH_CHECK_TYPE(is_float_dtype(t.scalar_type()), op, ": ", arg,
                   " must be a floating tensor (float16, bfloat16, float32 or float64), got ",
                   dtype(t.scalar_type()));
}

void OpChecks::output_dtype(at::ScalarType t, const char* arg) const {
  const char* p = spelling == Spelling::kPython ? "torch." : "";
  TORCH_CHECK_TYPE(is_output_dtype(t), op, ": ", arg, " must be ", p, "float32, ", p, "float16, ",
                   p, "bfloat16, ", p, "float64 or ", p, "uint8, got ", dtype(t));
}

void OpChecks::same_device(const at::Tensor& t, const char* arg, const at::Tensor& ref,
                           const char* ref_arg) const {
  TORCH_CHECK(t.device() == ref.device(), op, ": ", arg, " must be on the device of ", ref_arg,
              " (", ref.device(), "), got ", t.device());
}

void OpChecks::indexable(const std::vector<int64_t>& shape) const {
  uint64_t numel = 0;
  TORCH_CHECK_VALUE(!c10::safe_multiplies_u64(shape, &numel) &&
                        numel <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                    op, ": output of shape ", at::IntArrayRef(shape),
                    " has more elements than int64 can index");
}

void OpChecks::out_tensor(const at::Tensor& out, at::IntArrayRef shape, const at::Tensor& input,
                          const char* input_arg) const {
  same_device(out, "out", input, input_arg);
  TORCH_CHECK_VALUE(out.sizes() == shape, op, ": out must have shape ", shape, ", got ",
                    out.sizes());
  TORCH_CHECK_VALUE(out.is_contiguous(), op, ": out must be contiguous, got strides ",
                    out.strides());
}

void OpChecks::no_overlap(const at::Tensor& out, const at::Tensor& t, const char* arg) const {
  TORCH_CHECK(!overlaps(out, t), op, ": out must not overlap the memory of ", arg);
}

}  // namespace torch_render
