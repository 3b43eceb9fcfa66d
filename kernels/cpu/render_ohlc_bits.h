// render_ohlc's uint8 raster for planes of at most 64 columns, as row bitmasks
// (kernels/cpu/render_ohlc_bits_avx2.cpp): a mark costs a few integer operations
// whatever its length, and each row's 64 pixels are written with two 32-byte
// stores. The byte-per-pixel runs of kernels/cpu/render_ohlc_raster.h are store
// bound at the JKX layout (a vertical run is one store per row); this form
// measured 40% faster there. Same pixels (tests/cpp/test_render_ohlc.cpp).
#pragma once

#include <cstdint>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "kernels/common/cpu_isa.h"
#include "kernels/cpu/render_ohlc_levels.h"  // OhlcImageLevels
#include "kernels/render_ohlc.h"

namespace torch_render {
namespace kernels {

// Whether the bitmask raster draws these parameters: bars (candles, whose body
// may overlap the wick, and several overlays, whose lines may cross, would need
// more layers), at most 64 columns, and at most 4096 rows (its scratch, 32
// bytes a row, stays within 128 KiB).
inline bool ohlc_bits_fit(const OhlcParams& p) {
  return !p.candle && p.num_overlays <= 1 && p.width <= 64 && p.height <= 4096;
}

// Outputs of at least this many bytes are written with non-temporal stores
// where the bitmask raster draws them (OhlcParams::stream_output): at that size
// they leave the caches before they are read anyway, and a store that misses
// the cache first reads the line it writes (at the JKX layout with 4096 images,
// 15.7 MB, streaming took the kernel from 541 to 506 ns per image, medians of
// alternated runs). Smaller outputs, a DataLoader batch, stay in cache for what
// reads them next.
constexpr int64_t kStreamOutputBytes = int64_t{8} << 20;
// Largest plane streamed (through a buffer of this size on the stack).
constexpr int64_t kStreamPlaneBytes = 4096;

// uint64 elements of its scratch: three XOR-difference layers of H + 1 rows and
// the directly set marks of H rows. All zero before a call, and after it.
inline int64_t ohlc_bits_scratch(const OhlcParams& p) { return 4 * (p.height + 1); }

// Orders the non-temporal stores of the images this thread drew with
// p.stream_output before its later stores (such as the thread pool's "done"):
// once per task, as a fence per image would stall on each image's stores.
inline void ohlc_stream_fence(const OhlcParams& p) {
#if defined(__SSE__)
  if (p.stream_output) _mm_sfence();
#else
  (void)p;
#endif
}

#if defined(TR_HAVE_AVX2_KERNELS)
// The raster of one image (ohlc_raster_cpu's pixels) with AVX2; only where
// ohlc_bits_fit(p) and the CPU has AVX2.
void ohlc_raster_bits_avx2(const OhlcParams& p, const OhlcImageLevels& lv, uint8_t* plane,
                           uint64_t* scratch);
#endif

}  // namespace kernels
}  // namespace torch_render
