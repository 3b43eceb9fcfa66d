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

namespace torch_render {
namespace kernels {

// A strided [B, C, H, W] view of the incoming gradient (sum() gives stride 0).
template <typename T>
struct PlaneView {
  const T* data;
  int64_t stride_b;
  int64_t stride_c;
  int64_t stride_h;
  int64_t stride_w;
  TR_HD float at(int64_t b, int64_t c, int64_t h, int64_t w) const {
    return static_cast<float>(
        Load<T>::convert(data[b * stride_b + c * stride_c + h * stride_h + w * stride_w]));
  }
  // Asks the CPU's cache for the element ahead of reading it (nothing on CUDA).
  TR_HD void prefetch(int64_t b, int64_t c, int64_t h, int64_t w) const {
#if !defined(__CUDA_ARCH__)
    __builtin_prefetch(data + b * stride_b + c * stride_c + h * stride_h + w * stride_w);
#endif
  }
};

// What the backward adds to LineParams: its workspace and outputs.
struct LineGradBuffers {
  double* primitive_grad = nullptr;  // [B, S, L, 2]: d loss / d y of (start, end) of primitive j
  double* series_grad = nullptr;     // [B, S, L] (contiguous, float64)
  double* range_grad = nullptr;      // laid out as LineParams::value_range, zeroed; or null
};

// The other primitives that the forward tests in one column (the candidates of
// its minimum distance), with their rows there. Gathered once per column, so each
// pixel only measures distances.
struct ColumnCandidate {
  float x0, y0, x1, y1;
  float row_lo, row_hi;
};
constexpr int kColumnCandidates = 16;
// Rows of a column handled together by line_primitive_grad_body.
constexpr int64_t kGradRowChunk = 32;

// Fills `out` with the candidates of column px of image b, channel ch, other than
// (s, j), that can reach a row in [row_begin, row_end], in the forward's order
// (series, then point); returns how many, or -1 when there are more than
// kColumnCandidates (then nearest_share measures them all per pixel).
TR_HD int column_candidates(const LineParams& p, int64_t b, int64_t ch, int64_t s, int64_t j,
                            float px, float row_begin, float row_end, const IndexRange& js,
                            ColumnCandidate* out) {
  const float reach = p.reach();
  int n = 0;
  for (int64_t s2 = p.group_begin(ch); s2 < p.group_end(ch); ++s2) {
    const float* ys = p.ys + (b * p.num_series + s2) * p.length;
    for (int64_t j2 = js.lo; j2 <= js.hi; ++j2) {
      if (s2 == s && j2 == j) continue;
      ColumnCandidate c;
      if (!primitive_at(p.xs, ys, j2, p.length, &c.x0, &c.y0, &c.x1, &c.y1) ||
          !segment_rows(px, reach, c.x0, c.y0, c.x1, c.y1, &c.row_lo, &c.row_hi) ||
          c.row_hi < row_begin || c.row_lo > row_end) {
        continue;
      }
      if (n == kColumnCandidates) return -1;
      out[n++] = c;
    }
  }
  return n;
}

// The share of a pixel's gradient that goes to the primitive at squared distance
// dist2 from it: 0 when a candidate that the forward tests at this pixel is
// nearer, else 1 / (number of primitives this near). The forward's value depends
// only on the minimum distance; like torch.amin, its gradient is shared evenly
// among the primitives that attain it (symmetric peaks make such ties).
TR_HD float nearest_share(const ColumnCandidate* c, int n, float px, float py, float dist2) {
  int ties = 1;
  for (int k = 0; k < n; ++k) {
    if (!(c[k].row_lo <= py && py <= c[k].row_hi)) continue;
    const float d2 = segment_dist2(px, py, c[k].x0, c[k].y0, c[k].x1, c[k].y1);
    if (d2 < dist2) return 0.0f;
    ties += d2 == dist2 ? 1 : 0;
  }
  return 1.0f / static_cast<float>(ties);
}

// The same without the gathered list (columns with many candidates): measures
// every candidate of the column, in the forward's order.
TR_HD float nearest_share(const LineParams& p, int64_t b, int64_t ch, int64_t s, int64_t j,
                          float px, float py, float dist2, const IndexRange& js) {
  const float reach = p.reach();
  int ties = 1;
  for (int64_t s2 = p.group_begin(ch); s2 < p.group_end(ch); ++s2) {
    const float* ys = p.ys + (b * p.num_series + s2) * p.length;
    for (int64_t j2 = js.lo; j2 <= js.hi; ++j2) {
      if (s2 == s && j2 == j) continue;
      ColumnCandidate c;
      if (!primitive_at(p.xs, ys, j2, p.length, &c.x0, &c.y0, &c.x1, &c.y1) ||
          !segment_rows(px, reach, c.x0, c.y0, c.x1, c.y1, &c.row_lo, &c.row_hi)) {
        continue;
      }
      const float share = nearest_share(&c, 1, px, py, dist2);
      if (share == 0.0f) return 0.0f;
      ties += share < 1.0f ? 1 : 0;
    }
  }
  return 1.0f / static_cast<float>(ties);
}

// Rows row0, row0 + 1, ... of one column (ax = x0 - column): value[k] becomes
// d d / d y as the nearest point moves (cy / d) where the pixel lies strictly
// inside the coverage ramp, else 0; along[k] is t. segment_dist2's operations, so
// d is the forward's. No branches.
TR_HD void ramp_contributions(float ax, float y0, float row0, float ex, float ey, float ee,
                              float ramp_top, int rows, float* value, float* along) {
  for (int k = 0; k < rows; ++k) {
    const float ay = y0 - (row0 + static_cast<float>(k));
    const float t = ee > 0.0f ? clamp01(-(ax * ex + ay * ey) / ee) : 0.0f;
    const float cx = ax + t * ex;
    const float cy = ay + t * ey;
    const float d = sqrtf(cx * cx + cy * cy);
    const float a = ramp_top - d;
    const bool ramp = a > 0.0f && a < 1.0f && d > 0.0f;
    value[k] = ramp ? cy / d : 0.0f;
    along[k] = t;
  }
}

// Pass 1, item (b, s, j): d loss / d y of the primitive's two end points, summed
// over its pixels column by column, top to bottom (those where it is the nearest
// primitive, with its share of ties). Only antialiased pixels strictly inside the
// coverage ramp (0 < h + 0.5 - d < 1) have a gradient: dI/dd = -(foreground -
// background), and d moves with the end points as (1 - t, t) * (Q - P) / d, Q the
// nearest point of the axis (t its parameter).
template <typename G>
TR_HD void line_primitive_grad_body(const LineParams& p, const PlaneView<G>& grad,
                                    const LineGradBuffers& out, int64_t b, int64_t s, int64_t j) {
  double* slot = out.primitive_grad + ((b * p.num_series + s) * p.length + j) * 2;
  double g0 = 0.0;
  double g1 = 0.0;
  float x0, y0, x1, y1;
  const float* ys = p.ys + (b * p.num_series + s) * p.length;
  if (p.antialias && primitive_at(p.xs, ys, j, p.length, &x0, &y0, &x1, &y1)) {
    const int64_t ch = p.channel_mode ? s : 0;
    const float reach = p.reach();
    const float ramp_top = p.half_width + 0.5f;
    const float dI_dd = -(p.foreground - p.background);
    const float ex = x1 - x0;
    const float ey = y1 - y0;
    const float ee = ex * ex + ey * ey;
    const float slack = cull_slack(fabsf(x0) + fabsf(x1));
    const float c_lo = floorf(min_f(x0, x1) - reach - slack);
    const float c_hi = ceilf(max_f(x0, x1) + reach + slack);
    const int64_t col_begin = c_lo < 0.0f ? 0 : static_cast<int64_t>(c_lo);
    const int64_t col_end = c_hi > static_cast<float>(p.width - 1) ? p.width - 1
                                                                   : static_cast<int64_t>(c_hi);
    const float top = static_cast<float>(p.height - 1);
    ColumnCandidate cands[kColumnCandidates];
    for (int64_t col = col_begin; col <= col_end; ++col) {
      const IndexRange js = column_range(p, col);
      if (j < js.lo || j > js.hi) continue;  // the forward does not test it here
      const float px = static_cast<float>(col);
      float lo, hi;
      if (!segment_rows(px, reach, x0, y0, x1, y1, &lo, &hi)) continue;
      if (hi < 0.0f || lo > top) continue;
      const int64_t row_begin = lo <= 0.0f ? 0 : static_cast<int64_t>(ceilf(lo));
      const int64_t row_end = hi >= top ? p.height - 1 : static_cast<int64_t>(floorf(hi));
      const int n = column_candidates(p, b, ch, s, j, px, static_cast<float>(row_begin),
                                      static_cast<float>(row_end), js, cands);
      // Rows in chunks: first the geometry of every row (no branches), then, in
      // row order, the pixels inside the ramp: their share (when candidates
      // exist), the incoming gradient and the sums.
      for (int64_t chunk = row_begin; chunk <= row_end; chunk += kGradRowChunk) {
        const int64_t rows = row_end - chunk + 1 < kGradRowChunk ? row_end - chunk + 1
                                                                  : kGradRowChunk;
        float value[kGradRowChunk];
        float along[kGradRowChunk];
        // The rows of a column are a cache line each: ask for them all at once.
        for (int64_t k = 0; k < rows; ++k) grad.prefetch(b, ch, chunk + k, col);
        ramp_contributions(x0 - px, y0, static_cast<float>(chunk), ex, ey, ee, ramp_top,
                           static_cast<int>(rows), value, along);
        for (int64_t k = 0; k < rows; ++k) {
          if (value[k] == 0.0f) continue;  // outside the ramp: the gradient is not read
          if (n != 0) {
            const float py = static_cast<float>(chunk + k);
            const float cx = (x0 - px) + along[k] * ex;
            const float cy = (y0 - py) + along[k] * ey;
            const float d2 = cx * cx + cy * cy;
            const float share = n > 0 ? nearest_share(cands, n, px, py, d2)
                                      : nearest_share(p, b, ch, s, j, px, py, d2, js);
            if (share == 0.0f) continue;
            value[k] *= share;
          }
          const float g = grad.at(b, ch, chunk + k, col) * dI_dd * value[k];
          g0 += static_cast<double>(g * (1.0f - along[k]));
          g1 += static_cast<double>(g * along[k]);
        }
      }
    }
  }
  slot[0] = g0;
  slot[1] = g1;
}

// y's derivative with respect to v, lo and hi for one value (all zero where the
// point is not drawn or y or u was clamped). Mirrors point_y.
struct YDerivative {
  double dv = 0.0;
  double dlo = 0.0;
  double dhi = 0.0;
};

TR_HD YDerivative y_derivative(double v, double lo, double hi, int64_t height, double margin,
                               double span_h) {
  YDerivative d;
  if (!is_finite(v) || !is_finite(lo) || !is_finite(hi) || hi == lo) return d;
  double num = v - lo;
  double den = hi - lo;
  const bool halved = !is_finite(num) || !is_finite(den);
  if (halved) {
    num = v * 0.5 - lo * 0.5;
    den = hi * 0.5 - lo * 0.5;
  }
  const double u = num / den;
  const double u_max = kMaxRelativeValue;
  if (!(u <= u_max && u >= -u_max)) return d;
  const double y = margin + (1.0 - u) * span_h;
  const double far = kFarPixels;
  if (!(y >= -far && y <= static_cast<double>(height - 1) + far)) return d;
  // k = span_h / (hi - lo), through the halves where hi - lo overflows.
  const double k = halved ? (span_h * 0.5) / den : span_h / den;
  d.dv = -k;
  d.dlo = k * (1.0 - u);
  d.dhi = k * u;
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
    double lo = INFINITY;
    double hi = -INFINITY;
    int64_t n_lo = 0;
    int64_t n_hi = 0;
    double* range_out = nullptr;
    if (p.value_range != nullptr) {
      const int64_t at = b * p.range_stride_b + g * p.range_stride_g;
      lo = p.value_range[at];
      hi = p.value_range[at + 1];
      range_out = out.range_grad == nullptr ? nullptr : out.range_grad + at;
    } else {
      for (int64_t s = s0; s < s1; ++s) {
        for (int64_t l = 0; l < p.length; ++l) {
          const double v = in.at(b, s, l);
          if (!is_finite(v)) continue;
          if (v < lo) { lo = v; n_lo = 0; }
          if (v > hi) { hi = v; n_hi = 0; }
          n_lo += v == lo ? 1 : 0;
          n_hi += v == hi ? 1 : 0;
        }
      }
    }
    // Direct terms, and the sums that flow to lo and hi.
    double g_lo = 0.0;
    double g_hi = 0.0;
    for (int64_t s = s0; s < s1; ++s) {
      const double* prim = out.primitive_grad + (b * p.num_series + s) * p.length * 2;
      double* gv = out.series_grad + (b * p.num_series + s) * p.length;
      for (int64_t l = 0; l < p.length; ++l) {
        const double gy = point_y_grad(prim, l);
        const YDerivative d = y_derivative(in.at(b, s, l), lo, hi, p.height, p.margin, span_h);
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
      const double share_lo = g_lo / static_cast<double>(n_lo);
      const double share_hi = g_hi / static_cast<double>(n_hi);
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
