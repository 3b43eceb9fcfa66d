// The backward of render_line: gradients of a loss with respect to the values and
// the value ranges, given its gradient with respect to the image
// (docs/rendering.md "Gradients"). Shared by every backend.
//
// Gather style, so it is deterministic with no atomics. After the forward's points
// pass (kernels/render_line.h) it runs two passes:
//   1. primitives: one item per primitive (image b, series s, point j: the segment
//      j -> j + 1 or the dot at j) sums, in a fixed pixel order, what the pixels
//      whose nearest primitive it is give its two end points' y. Workspace
//      [B, S, L, 2] of double.
//   2. chain: one item per image adds up each point's y-gradient from the
//      primitives that end at it, and carries it through the scaling to the
//      values, and to the value range (explicit, or the min and max of the data,
//      whose gradient is shared evenly among the values equal to them).
#pragma once

#include "kernels/common/host_device.h"
#include "kernels/common/tensor_io.h"
#include "kernels/line_math.h"
#include "kernels/render_line.h"
#include "kernels/render_line_backward_pixels.h"

namespace torch_render {
namespace kernels {

// y's derivative with respect to v, lo and hi for one value (all zero where the
// point is not drawn or y or u was clamped): point_y's value_fraction and
// fraction_y.
struct YDerivative {
  double dv = 0.0;
  double dlo = 0.0;
  double dhi = 0.0;
};

// What y_derivative needs of a value range [lo, hi] once for all its values: the
// slope k = span_h / (hi - lo), and the same through the halves, which a value
// takes where v - lo or hi - lo overflows (value_fraction's `halved`).
struct YScale {
  double lo, hi;
  bool drawn;      // lo and hi finite and apart
  double k, k_halved;
};

TR_HD YScale y_scale(double lo, double hi, double span_h) {
  YScale s;
  s.lo = lo;
  s.hi = hi;
  s.drawn = is_finite(lo) && is_finite(hi) && hi != lo;
  s.k = span_h / (hi - lo);
  s.k_halved = (span_h * 0.5) / (hi * 0.5 - lo * 0.5);
  return s;
}

TR_HD YDerivative y_derivative(double v, const YScale& s, int64_t height, double margin,
                               double span_h) {
  YDerivative d;
  if (!is_finite(v) || !s.drawn) return d;
  const ValueFraction f = value_fraction(v, s.lo, s.hi);
  bool moves;
  fraction_y(f.u, height, margin, span_h, &moves);
  if (!moves) return d;
  const double k = f.halved ? s.k_halved : s.k;
  d.dv = -k;
  d.dlo = k * (1.0 - f.u);
  d.dhi = k * f.u;
  return d;
}

// d loss / d y of point l of series s: from the primitive it starts (slot 0) and
// the segment that ends at it (slot 1 of l - 1).
TR_HD double point_y_grad(const double* prim, int64_t l) {
  double g = prim[l * 2];
  if (l > 0) g += prim[(l - 1) * 2 + 1];
  return g;
}

// Pass 2, item b: every value's gradient in image b, and its value ranges'.
template <typename T>
TR_HD void line_chain_body(const LineParams& p, const SeriesView<T>& in,
                           const LineGradBuffers& out, int64_t b) {
  const double span_h = p.span_h();
  for (int64_t g = 0; g < p.groups(); ++g) {
    const int64_t s0 = p.group_begin(g);
    const int64_t s1 = p.group_end(g);
    const GroupRange r = group_range<true>(p, in, b, g);
    const double lo = r.lo;
    const double hi = r.hi;
    const YScale scale = y_scale(lo, hi, span_h);
    double* range_out = nullptr;
    if (p.value_range != nullptr && out.range_grad != nullptr) {
      range_out = out.range_grad + b * p.range_stride_b + g * p.range_stride_g;
    }
    // Direct terms, and the sums that flow to lo and hi.
    double g_lo = 0.0;
    double g_hi = 0.0;
    for (int64_t s = s0; s < s1; ++s) {
      const double* prim = out.primitive_grad + (b * p.num_series + s) * p.length * 2;
      double* gv = out.series_grad + (b * p.num_series + s) * p.length;
      for (int64_t l = 0; l < p.length; ++l) {
        const double gy = point_y_grad(prim, l);
        const YDerivative d = y_derivative(in.at(b, s, l), scale, p.height, p.margin, span_h);
        gv[l] = gy * d.dv;
        g_lo += gy * d.dlo;
        g_hi += gy * d.dhi;
      }
    }
    if (range_out != nullptr) {
      // A [B, 2] range in channel mode is shared by every group: summed in order.
      range_out[0] += g_lo;
      range_out[1] += g_hi;
    } else if (p.value_range == nullptr && (g_lo != 0.0 || g_hi != 0.0)) {
      // The min and max share their gradient evenly among the values equal to them.
      const double share_lo = g_lo / static_cast<double>(r.n_lo);
      const double share_hi = g_hi / static_cast<double>(r.n_hi);
      for (int64_t s = s0; s < s1; ++s) {
        double* gv = out.series_grad + (b * p.num_series + s) * p.length;
        for (int64_t l = 0; l < p.length; ++l) {
          const double v = in.at(b, s, l);
          if (v == lo) gv[l] += share_lo;
          if (v == hi) gv[l] += share_hi;
        }
      }
    }
  }
}

// The per-item functors of both passes, for the CPU loops and CUDA's launch_items.
template <typename G>
struct LinePrimitiveGradItem {
  LineParams p;
  PlaneView<G> grad;
  LineGradBuffers out;
  TR_HD void operator()(int64_t i) const {
    const int64_t j = i % p.length;
    const int64_t bs = i / p.length;
    line_primitive_grad_body(p, grad, out, bs / p.num_series, bs % p.num_series, j);
  }
};

template <typename T>
struct LineChainItem {
  LineParams p;
  SeriesView<T> in;
  LineGradBuffers out;
  TR_HD void operator()(int64_t b) const {
    line_chain_body(p, in, out, b);
  }
};

// Items of the two passes.
inline int64_t line_primitive_items(const LineParams& p) {
  return p.batch * p.num_series * p.length;
}

// The whole backward on one thread, item after item (tests, tools): the forward's
// points pass, then both gradient passes. out.range_grad must be zeroed.
template <typename T, typename G>
void render_line_backward_serial(const LineParams& p, const SeriesView<T>& in,
                                 const PlaneView<G>& grad, const LineGradBuffers& out) {
  for (int64_t l = 0; l < p.length; ++l) line_x_body(p, l);
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t g = 0; g < p.groups(); ++g) line_points_body(p, in, b, g);
  }
  const LinePrimitiveGradItem<G> primitives{p, grad, out};
  for (int64_t i = 0; i < line_primitive_items(p); ++i) primitives(i);
  const LineChainItem<T> chain{p, in, out};
  for (int64_t b = 0; b < p.batch; ++b) chain(b);
}

}  // namespace kernels
}  // namespace torch_render
