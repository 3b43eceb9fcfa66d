// render_ohlc's uint8 raster for planes of at most 64 columns, as row bitmasks
// (kernels/cpu/render_ohlc_bits_avx2.cpp): a mark costs a few integer operations
// whatever its length, and each row's 64 pixels are written with two 32-byte
// stores. The byte-per-pixel runs of kernels/cpu/render_ohlc_raster.h are store
// bound at the JKX layout (a vertical run is one store per row); this form
// measured 40% faster there. Same pixels (tests/cpp/test_render_ohlc.cpp).
#pragma once

#include <cstdint>

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

// uint64 elements of its scratch: three XOR-difference layers of H + 1 rows and
// the directly set marks of H rows. All zero before a call, and after it.
inline int64_t ohlc_bits_scratch(const OhlcParams& p) { return 4 * (p.height + 1); }

#if defined(TR_HAVE_AVX2_KERNELS)
// The raster of one image (ohlc_raster_cpu's pixels) with AVX2; only where
// ohlc_bits_fit(p) and the CPU has AVX2.
void ohlc_raster_bits_avx2(const OhlcParams& p, const OhlcImageLevels& lv, uint8_t* plane,
                           uint64_t* scratch);
#endif

}  // namespace kernels
}  // namespace torch_render
