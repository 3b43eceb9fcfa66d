// Instruction-set dispatch of the CPU kernels, shared by every op.
//
// An op's CPU raster is compiled once per instruction set from one header
// without an include guard (its "ISA copy"): included inside namespace
// kernels::baseline with the build's flags, and again inside kernels::avx2 by a
// kernels/cpu/<op>_avx2.cpp that defines TR_CPU_AVX2 under
// `#pragma GCC target("avx2")`, so the copies never share a symbol. The op's
// entry point picks a copy with cpu_isa(). Shared per-copy code (the tile
// driver) lives in kernels/common/cpu_tiles_isa.h. Every copy gives the same
// bits; tests run each one against the brute force.
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace torch_render {
namespace kernels {

enum class CpuIsa { kBaseline = 0, kAvx2 = 1 };

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
// This build compiles the AVX2 copies (kernels/cpu/*_avx2.cpp).
#define TR_HAVE_AVX2_KERNELS 1
#endif

inline const char* cpu_isa_name(CpuIsa isa) { return isa == CpuIsa::kAvx2 ? "avx2" : "baseline"; }

// Whether this build and this CPU can run `isa`.
inline bool cpu_isa_supported(CpuIsa isa) {
  if (isa == CpuIsa::kBaseline) return true;
#if defined(TR_HAVE_AVX2_KERNELS)
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

namespace detail {
// The active instruction set: the best supported one, or TORCH_RENDER_CPU_ISA
// (baseline or avx2; an unsupported or unknown name falls back to the best).
inline std::atomic<int>& cpu_isa_state() {
  static std::atomic<int> state([] {
    CpuIsa best = cpu_isa_supported(CpuIsa::kAvx2) ? CpuIsa::kAvx2 : CpuIsa::kBaseline;
    if (const char* env = std::getenv("TORCH_RENDER_CPU_ISA")) {
      if (std::strcmp(env, "baseline") == 0) best = CpuIsa::kBaseline;
    }
    return static_cast<int>(best);
  }());
  return state;
}
}  // namespace detail

inline CpuIsa cpu_isa() { return static_cast<CpuIsa>(detail::cpu_isa_state().load()); }

// Makes `isa` the active instruction set (tests); false if it is not supported.
inline bool set_cpu_isa(CpuIsa isa) {
  if (!cpu_isa_supported(isa)) return false;
  detail::cpu_isa_state().store(static_cast<int>(isa));
  return true;
}

// Makes `isa` active for one scope (tests); supported() says whether it took.
class ScopedIsa {
 public:
  explicit ScopedIsa(CpuIsa isa) : saved_(cpu_isa()), supported_(set_cpu_isa(isa)) {}
  ~ScopedIsa() { set_cpu_isa(saved_); }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;
  bool supported() const { return supported_; }

 private:
  CpuIsa saved_;
  bool supported_;
};

}  // namespace kernels
}  // namespace torch_render
