// CPU memory helpers shared by every op: filling with a value's bit pattern,
// streaming (non-temporal) copies, and the background's bytes as a pattern.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace torch_render {
namespace kernels {

// std::fill for any output type, through its bit pattern (vectorised by the
// compiler for the instruction set of the includer).
template <typename OutT>
inline void fill_value(OutT* dst, int64_t n, OutT value) {
  if constexpr (sizeof(OutT) == 1) {
    std::memset(dst, static_cast<int>(*reinterpret_cast<const unsigned char*>(&value)), n);
  } else {
    using U = std::conditional_t<sizeof(OutT) == 2, uint16_t,
                                 std::conditional_t<sizeof(OutT) == 4, uint32_t, uint64_t>>;
    static_assert(sizeof(U) == sizeof(OutT), "output types are 1, 2, 4 or 8 bytes");
    U pattern;
    std::memcpy(&pattern, &value, sizeof(U));
    U* d = reinterpret_cast<U*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = pattern;
  }
}

// The bytes of `value` repeated to 4 bytes (the fill pattern of 1-, 2- and
// 4-byte types; only the first 4 bytes of a wider type).
template <typename OutT>
inline uint32_t repeated_pattern(OutT value) {
  unsigned char bytes[4];
  const auto* v = reinterpret_cast<const unsigned char*>(&value);
  for (int i = 0; i < 4; ++i) bytes[i] = v[i % sizeof(OutT)];
  uint32_t pattern;
  std::memcpy(&pattern, bytes, sizeof(bytes));
  return pattern;
}

// Copies n bytes to dst with non-temporal (cache-bypassing) stores where the
// target has them; the caller ends the batch of copies with stream_fence().
inline void stream_copy(void* dst, const void* src, size_t n) {
#if defined(__SSE2__)
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  const size_t head = std::min(n, (16 - reinterpret_cast<uintptr_t>(d) % 16) % 16);
  std::memcpy(d, s, head);
  size_t i = head;
  for (; i + 16 <= n; i += 16) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(d + i),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i)));
  }
  std::memcpy(d + i, s + i, n - i);
#else
  std::memcpy(dst, src, n);
#endif
}

inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

}  // namespace kernels
}  // namespace torch_render
