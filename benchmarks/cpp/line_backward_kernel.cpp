// CPU time per image of render_line's backward pass 1 alone (the pixels' gradients
// to the primitives' end points), next to the forward raster of the same windows,
// one thread, 3-px antialiased float32 lines. Both pass 1 paths run: plane by plane
// (line_plane_grad_cpu, AVX2) and primitive by primitive (line_primitive_grad_cpu).
// No torch: the kernels' headers and their AVX2 files only.
//
//   python benchmarks/bench_backward.py --dump-windows /tmp/lb     # 32 windows, float64
//   FLAGS="-O3 -ffp-contract=off -fno-math-errno -fno-trapping-math -I."
//   g++ $FLAGS benchmarks/cpp/line_backward_kernel.cpp kernels/cpu/*_avx2.cpp -o /tmp/line_backward
//   /tmp/line_backward /tmp/lb 224 224 200      # H W calls
//
// Prints the median and the minimum over the calls of the thread CPU time per
// image of each (the minimum is the least disturbed call: on a shared machine the
// median moves with the neighbours), and a checksum of each path's gradients,
// which must be equal: both give the shared body's bits.
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/render_line_backward_cpu.h"
#include "kernels/render_line_cpu.h"

namespace tk = torch_render::kernels;

namespace {

double thread_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The median (or the minimum) of a run's times.
double summary(std::vector<double> t, bool median) {
  std::sort(t.begin(), t.end());
  return median ? t[t.size() / 2] : t.front();
}

// A checksum of the bits of a gradient buffer.
uint64_t checksum(const std::vector<double>& v) {
  uint64_t h = 1469598103934665603ull;
  for (const double x : v) {
    uint64_t bits;
    std::memcpy(&bits, &x, sizeof(bits));
    h = (h ^ bits) * 1099511628211ull;
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [H [W [CALLS]]]\n", argv[0]);
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/series.f64";
  const int64_t H = argc > 2 ? std::atoll(argv[2]) : 224;
  const int64_t W = argc > 3 ? std::atoll(argv[3]) : 224;
  const int64_t calls = argc > 4 ? std::atoll(argv[4]) : 200;
  const int64_t B = 32, L = 100;
  std::vector<double> series(static_cast<size_t>(B * L));
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr || std::fread(series.data(), sizeof(double), series.size(), f) != series.size()) {
    std::fprintf(stderr, "cannot read %lld x %lld doubles from %s\n", static_cast<long long>(B),
                 static_cast<long long>(L), path.c_str());
    return 2;
  }
  std::fclose(f);

  tk::LineParams p;
  p.batch = B;
  p.num_series = 1;
  p.length = L;
  p.height = H;
  p.width = W;
  p.half_width = 1.5f;
  std::vector<float> xs(static_cast<size_t>(L)), ys(static_cast<size_t>(B * L));
  p.xs = xs.data();
  p.ys = ys.data();
  const tk::SeriesView<double> view{series.data(), L, L, 1};
  // The incoming gradient of a weighted-sum loss, weights uniform in [0, 1).
  std::vector<float> grad(static_cast<size_t>(B * H * W));
  std::mt19937 gen(0);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (float& v : grad) v = u(gen);
  const tk::PlaneView<float> g{grad.data(), H * W, H * W, W, 1};
  std::vector<double> planes(static_cast<size_t>(B * L * 2)), items(planes.size());
  std::vector<double> series_grad(static_cast<size_t>(B * L));
  const tk::LinePrimitiveGradItem<float> by_plane{p, g, {planes.data(), series_grad.data()}};
  const tk::LinePrimitiveGradItem<float> by_item{p, g, {items.data(), series_grad.data()}};
  std::vector<double> memory(static_cast<size_t>(tk::line_plane_grad_scratch(p, nullptr, nullptr)));
  tk::LinePlaneGradScratch scratch;
  tk::line_plane_grad_scratch(p, memory.data(), &scratch);
  std::vector<float> image(static_cast<size_t>(B * H * W));
  std::vector<tk::CpuPrimitive> prims(static_cast<size_t>(tk::cpu_scratch_primitives(p)));
  if (!tk::line_plane_grad_applies<float>(p)) {
    std::fprintf(stderr, "the plane-by-plane pass needs AVX2 (TORCH_RENDER_CPU_ISA=avx2)\n");
    return 2;
  }

  tk::line_x_cpu(p);
  tk::line_points_cpu(p, view, 0, B);
  std::vector<double> t_plane, t_item, t_forward;
  for (int64_t c = 0; c < calls; ++c) {
    const double t0 = thread_seconds();
    tk::line_plane_grad_cpu(by_plane, 0, B, scratch);
    const double t1 = thread_seconds();
    tk::line_primitive_grad_cpu(by_item, 0, tk::line_primitive_items(p));
    const double t2 = thread_seconds();
    tk::render_line_cpu_serial(p, view, image.data(), tk::CpuScratch{prims.data()});
    const double t3 = thread_seconds();
    t_plane.push_back(t1 - t0);
    t_item.push_back(t2 - t1);
    t_forward.push_back(t3 - t2);
  }
  const double us = 1e6 / static_cast<double>(B);
  for (const bool median : {true, false}) {
    const double plane = summary(t_plane, median), forward = summary(t_forward, median);
    std::printf("%lldx%lld, %lld windows, %s of %lld calls, us per image: pass 1 by plane %.2f, "
                "by primitive %.2f; forward %.2f; by plane / forward %.2f\n",
                static_cast<long long>(H), static_cast<long long>(W), static_cast<long long>(B),
                median ? "median" : "min", static_cast<long long>(calls), plane * us,
                summary(t_item, median) * us, forward * us, plane / forward);
  }
  std::printf("checksum by plane %016llx by primitive %016llx\n",
              static_cast<unsigned long long>(checksum(planes)),
              static_cast<unsigned long long>(checksum(items)));
  return 0;
}
