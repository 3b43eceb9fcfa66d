// CPU time per image of render_ohlc's CPU kernel alone (points passes and raster,
// image by image, as the op runs them) at the JKX I20 layout: 64x60 uint8, bars 3
// wide, a volume panel of 12 rows, one overlay, prices times 1 / close_0, one
// thread. No torch: the kernels' headers and their AVX2 files only.
//
//   python benchmarks/bench_ohlc.py --dump-windows /tmp/i20    # the windows, float64
//   FLAGS="-O3 -ffp-contract=off -fno-math-errno -fno-trapping-math -I."
//   g++ $FLAGS benchmarks/cpp/ohlc_kernel.cpp kernels/cpu/*_avx2.cpp -o /tmp/ohlc_kernel
//   /tmp/ohlc_kernel /tmp/i20 256 1000      # B images (kept in cache), batches
//   /tmp/ohlc_kernel /tmp/i20 4096 60 cached  # stores through the cache (or: stream)
//
// Prints the minimum over the batches of the thread CPU time per image (the
// least disturbed batch: on a shared machine the median moves with the
// neighbours), and a checksum of the images, equal across builds that draw the
// same pixels.
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/render_ohlc_cpu.h"

namespace tk = torch_render::kernels;

namespace {

std::vector<double> load(const std::string& path, size_t n) {
  std::vector<double> v(n);
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr || std::fread(v.data(), sizeof(double), n, f) != n) {
    std::fprintf(stderr, "cannot read %zu doubles from %s\n", n, path.c_str());
    std::exit(2);
  }
  std::fclose(f);
  return v;
}

double thread_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [B [BATCHES [stream|cached]]]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int64_t B = argc > 2 ? std::atoll(argv[2]) : 256;
  const int64_t batches = argc > 3 ? std::atoll(argv[3]) : 1000;
  const int64_t L = 20, H = 64, W = 60;
  const std::vector<double> ohlc = load(dir + "/ohlc.f64", B * L * 4);
  const std::vector<double> volume = load(dir + "/volume.f64", B * L);
  const std::vector<double> ma = load(dir + "/ma.f64", B * L);
  std::vector<double> scale(B);
  for (int64_t b = 0; b < B; ++b) scale[b] = 1.0 / ohlc[b * L * 4 + 3];
  tk::OhlcParams p;
  p.batch = B;
  p.length = L;
  p.num_overlays = 1;
  p.height = H;
  p.width = W;
  p.bar_width = 3;
  p.volume_rows = H / 5;
  p.background = 0.0f;
  p.foreground = 1.0f;
  p.scale = scale.data();
  // Non-temporal stores as the op decides them (by the output's size), or as
  // the fourth argument says: "stream" or "cached".
  p.stream_output = B * H * W >= tk::kStreamOutputBytes;
  if (argc > 4) p.stream_output = std::string(argv[4]) == "stream";
  const tk::OhlcView<double> in{ohlc.data(), L * 4, 4, 1};
  const tk::OverlayView<double> ov{ma.data(), L, L, 1};
  const tk::VolumeView<double> vol{volume.data(), L, 1};
  std::vector<int64_t> ints(tk::ohlc_scratch_ints(p));
  std::vector<double> reals(tk::ohlc_scratch_reals(p));
  const tk::OhlcCpuScratch scratch = tk::ohlc_scratch(p, true, ints.data(), reals.data());
  // 64-byte aligned, as torch allocates its tensors (the raster's aligned path).
  const size_t bytes = static_cast<size_t>(B * H * W);
  uint8_t* const out = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
  std::fill(out, out + bytes, uint8_t{0});
  double best = 1e30;
  for (int64_t r = 0; r < batches; ++r) {
    const double t0 = thread_seconds();
    for (int64_t b = 0; b < B; ++b) {
      tk::render_ohlc_cpu_image(p, in, ov, &vol, b, scratch, out + b * H * W);
    }
    tk::ohlc_stream_fence(p);
    best = std::min(best, thread_seconds() - t0);
  }
  uint64_t checksum = 0;
  for (size_t i = 0; i < bytes; ++i) checksum = checksum * 1000003 + out[i];
  std::printf("B %lld: %.1f ns per image (minimum of %lld batches), isa %s, %s, checksum %016llx\n",
              static_cast<long long>(B), best / static_cast<double>(B) * 1e9,
              static_cast<long long>(batches), tk::cpu_isa_name(tk::cpu_isa()),
              p.stream_output ? "streamed" : "cached",
              static_cast<unsigned long long>(checksum));
  std::free(out);
  return 0;
}
