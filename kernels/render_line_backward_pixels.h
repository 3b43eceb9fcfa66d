// The backward of render_line, pass 1 (kernels/render_line_backward.h): what the
// pixels near a primitive give its two end points' y. Shared by every backend.
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

// Pass 1 visits a primitive's pixels row by row, top to bottom, and in each row
// the columns it can reach (row_columns) left to right, and sums in float64 what
// they give. The sums go to kGradLanes accumulators by column (col % kGradLanes),
// added up at the end as ((a0 + a1) + (a2 + a3)): a fixed order that a vector of
// pixels aligned to kGradLanes columns keeps (the CPU's AVX2 copy,
// kernels/cpu/render_line_backward_avx2.cpp), so every backend gives the same bits.
constexpr int kGradLanes = 4;
// Other primitives compared with a primitive's pixels, gathered once per primitive.
constexpr int kGradCandidates = 16;

// The other primitives of image b, channel ch that can be as near as primitive
// (s, j), culled to q (its reach rows and the columns [c_lo, c_hi] it reaches).
struct GradCandidates {
  LinePrimitive q[kGradCandidates];
  int n;  // how many; -1 when there are more (then nearest_share visits them per pixel)
};

// Calls visit(c) for every primitive of image b, channel ch other than (s, j)
// that can reach a pixel within reach of q (rows [q.row_lo, q.row_hi], columns
// [c_lo, c_hi]), in series then point order, until visit returns false. Where q
// is in its coverage ramp (d < reach) only those can be as near as it, so any
// conservative cull gives the forward's nearest primitive.
template <typename Visit>
TR_HD void visit_candidates(const LineParams& p, int64_t b, int64_t ch, int64_t s, int64_t j,
                            const LinePrimitive& q, int64_t c_lo, int64_t c_hi, Visit visit) {
  const float reach = p.reach();
  IndexRange js{0, p.length - 1};
  if (p.length > 1 && p.span_w_f() > 0.0f) {
    // column_range is monotone in the column: its union over [c_lo, c_hi].
    js.lo = column_range(p, c_lo).lo;
    js.hi = column_range(p, c_hi).hi;
  }
  const float first = static_cast<float>(q.row_lo);
  const float last = static_cast<float>(q.row_hi);
  const float left = static_cast<float>(c_lo);
  const float right = static_cast<float>(c_hi);
  for (int64_t s2 = p.group_begin(ch); s2 < p.group_end(ch); ++s2) {
    const float* ys = p.ys + (b * p.num_series + s2) * p.length;
    for (int64_t j2 = js.lo; j2 <= js.hi; ++j2) {
      if (s2 == s && j2 == j) continue;
      float x0, y0, x1, y1;
      if (!primitive_at(p.xs, ys, j2, p.length, &x0, &y0, &x1, &y1)) continue;
      // Its reach box against q's, before the rest of its geometry.
      const float r = primitive_reach(x0, y0, x1, y1, reach);
      if (max_f(x0, x1) + r < left || min_f(x0, x1) - r > right ||
          max_f(y0, y1) + r < first || min_f(y0, y1) - r > last) {
        continue;
      }
      LinePrimitive c;
      if (!line_primitive(x0, y0, x1, y1, reach, first, last, &c)) continue;
      if (!visit(c)) return;
    }
  }
}

// Fills `out` with the candidates of primitive (s, j) (see visit_candidates).
TR_HD void gather_candidates(const LineParams& p, int64_t b, int64_t ch, int64_t s, int64_t j,
                             const LinePrimitive& q, int64_t c_lo, int64_t c_hi,
                             GradCandidates* out) {
  int n = 0;
  visit_candidates(p, b, ch, s, j, q, c_lo, c_hi, [&](const LinePrimitive& c) {
    if (n == kGradCandidates) {
      n = -1;
      return false;
    }
    out->q[n++] = c;
    return true;
  });
  out->n = n;
}

// The share of a pixel's gradient that goes to the primitive at squared distance
// dist2 from it: 0 when a candidate is nearer, else 1 / (number of primitives this
// near). The forward's value depends only on the minimum distance; like
// torch.amin, its gradient is shared evenly among the primitives that attain it
// (symmetric peaks make such ties).
TR_HD float nearest_share(const LinePrimitive* c, const int* active, int n_active, float px,
                          float py, float dist2) {
  int ties = 1;
  for (int k = 0; k < n_active; ++k) {
    const float d2 = primitive_dist2(c[active[k]], px, py);
    if (d2 < dist2) return 0.0f;
    ties += d2 == dist2 ? 1 : 0;
  }
  return 1.0f / static_cast<float>(ties);
}

// The same without the gathered list (a primitive with many candidates).
TR_HD float nearest_share(const LineParams& p, int64_t b, int64_t ch, int64_t s, int64_t j,
                          const LinePrimitive& q, int64_t c_lo, int64_t c_hi, float px,
                          float py, float dist2) {
  int ties = 1;
  visit_candidates(p, b, ch, s, j, q, c_lo, c_hi, [&](const LinePrimitive& c) {
    const float d2 = primitive_dist2(c, px, py);
    ties = d2 < dist2 ? 0 : ties + (d2 == dist2 ? 1 : 0);
    return ties > 0;
  });
  return ties == 0 ? 0.0f : 1.0f / static_cast<float>(ties);
}

// Pixel (px, py) of primitive q: false outside the coverage ramp (no gradient);
// else value = d d / d y as the nearest point moves (cy / d), t its parameter,
// dist2 the squared distance (segment_dist2's operations: the forward's d).
TR_HD bool ramp_pixel(const LinePrimitive& q, float ramp_top, float px, float py, float* value,
                      float* t_out, float* dist2) {
  const float ax = q.x0 - px;
  const float ay = q.y0 - py;
  const float t = q.ee > 0.0f ? clamp01(-(ax * q.ex + ay * q.ey) / q.ee) : 0.0f;
  const float cx = ax + t * q.ex;
  const float cy = ay + t * q.ey;
  const float d2 = cx * cx + cy * cy;
  const float d = sqrtf(d2);
  const float a = ramp_top - d;
  if (!(a > 0.0f && a < 1.0f && d > 0.0f)) return false;
  *value = cy / d;
  *t_out = t;
  *dist2 = d2;
  return true;
}

// Where primitive (s, j) of image b can have a gradient: its culled geometry, the
// columns it reaches and its candidates. False when it has none.
struct GradPrimitive {
  LinePrimitive q;
  int64_t c_lo, c_hi;  // the columns it can reach, within the plane
  int64_t ch;
};

TR_HD bool grad_primitive(const LineParams& p, int64_t b, int64_t s, int64_t j,
                          GradPrimitive* g) {
  if (!p.antialias) return false;  // aliased coverage has no gradient
  float x0, y0, x1, y1;
  const float* ys = p.ys + (b * p.num_series + s) * p.length;
  if (!primitive_at(p.xs, ys, j, p.length, &x0, &y0, &x1, &y1)) return false;
  if (!line_primitive(x0, y0, x1, y1, p.reach(), 0.0f, static_cast<float>(p.height - 1),
                      &g->q)) {
    return false;
  }
  const float last = static_cast<float>(p.width - 1);
  const float lo = ceilf(max_f(min_f(x0, x1) - g->q.reach, 0.0f));
  const float hi = floorf(min_f(max_f(x0, x1) + g->q.reach, last));
  if (!(lo <= hi)) return false;
  g->c_lo = static_cast<int64_t>(lo);
  g->c_hi = static_cast<int64_t>(hi);
  g->ch = p.channel_mode ? s : 0;
  return true;
}

// Rows of a primitive whose columns are bounded together (see for_each_grad_row).
constexpr int64_t kGradChunkRows = 8;
// The most columns a chunk of rows shares (at most two vectors of 8 aligned to
// kGradLanes); wider chunks (shallow primitives) bound each row on its own.
constexpr float kGradChunkColumns = 13.0f;

// Calls visit(row, c0, c1) for the rows of q top to bottom, with the columns
// [c0, c1] its pixels are taken from in that row (a superset of those within its
// reach): in chunks of kGradChunkRows rows, the union of the chunk's first and
// last rows' row_columns (which is monotone in the row, so that covers the rows
// between) when it is at most kGradChunkColumns wide, else each row's own. Rows
// with no column are skipped. Every backend visits exactly these pixels.
template <typename Visit>
TR_HD void for_each_grad_row(const LinePrimitive& q, int64_t width, Visit visit) {
  const float last = static_cast<float>(width - 1);
  for (int64_t r0 = q.row_lo; r0 <= q.row_hi; r0 += kGradChunkRows) {
    const int64_t r1 = r0 + kGradChunkRows - 1 < q.row_hi ? r0 + kGradChunkRows - 1 : q.row_hi;
    float lo0, hi0, lo1, hi1;
    row_columns(q, static_cast<float>(r0), 0.0f, last, &lo0, &hi0);
    row_columns(q, static_cast<float>(r1), 0.0f, last, &lo1, &hi1);
    const float lo = ceilf(min_f(lo0, lo1));
    const float hi = floorf(max_f(hi0, hi1));
    if (!(lo <= hi)) continue;  // nor does any row between
    if (hi - lo < kGradChunkColumns) {
      for (int64_t row = r0; row <= r1; ++row) {
        visit(row, static_cast<int64_t>(lo), static_cast<int64_t>(hi));
      }
      continue;
    }
    for (int64_t row = r0; row <= r1; ++row) {
      float a, z;
      row_columns(q, static_cast<float>(row), 0.0f, last, &a, &z);
      a = ceilf(a);
      z = floorf(z);
      if (a <= z) visit(row, static_cast<int64_t>(a), static_cast<int64_t>(z));
    }
  }
}

// Sums of the kGradLanes accumulators, in the fixed order.
TR_HD double lane_sum(const double* acc) { return (acc[0] + acc[1]) + (acc[2] + acc[3]); }

// Pass 1, item (b, s, j): d loss / d y of the primitive's two end points, summed
// over its pixels (those where it is the nearest primitive, with its share of
// ties) in the order above. Only antialiased pixels strictly inside the coverage
// ramp (0 < h + 0.5 - d < 1) have a gradient: dI/dd = -(foreground - background),
// and d moves with the end points as (1 - t, t) * (Q - P) / d, Q the nearest point
// of the axis (t its parameter).
template <typename G>
TR_HD void line_primitive_grad_body(const LineParams& p, const PlaneView<G>& grad,
                                    const LineGradBuffers& out, int64_t b, int64_t s, int64_t j) {
  double* slot = out.primitive_grad + ((b * p.num_series + s) * p.length + j) * 2;
  double acc0[kGradLanes] = {0.0, 0.0, 0.0, 0.0};
  double acc1[kGradLanes] = {0.0, 0.0, 0.0, 0.0};
  GradPrimitive g;
  if (grad_primitive(p, b, s, j, &g)) {
    const float ramp_top = p.half_width + 0.5f;
    const float dI_dd = -(p.foreground - p.background);
    GradCandidates cands;
    gather_candidates(p, b, g.ch, s, j, g.q, g.c_lo, g.c_hi, &cands);
    int active[kGradCandidates];
    for_each_grad_row(g.q, p.width, [&](int64_t row, int64_t c0, int64_t c1) {
      // The candidates that reach the row.
      int n_active = 0;
      for (int k = 0; k < cands.n; ++k) {
        active[n_active] = k;
        n_active += row >= cands.q[k].row_lo && row <= cands.q[k].row_hi ? 1 : 0;
      }
      const float py = static_cast<float>(row);
      for (int64_t base = c0 - c0 % kGradLanes; base <= c1; base += kGradLanes) {
        for (int k = 0; k < kGradLanes; ++k) {
          const int64_t col = base + k;
          if (col < c0 || col > c1) continue;
          const float px = static_cast<float>(col);
          float value, t, d2;
          if (!ramp_pixel(g.q, ramp_top, px, py, &value, &t, &d2)) continue;
          const float share =
              cands.n >= 0 ? nearest_share(cands.q, active, n_active, px, py, d2)
                           : nearest_share(p, b, g.ch, s, j, g.q, g.c_lo, g.c_hi, px, py, d2);
          if (share == 0.0f) continue;  // a nearer primitive owns the pixel
          const float v = grad.at(b, g.ch, row, col) * dI_dd * (value * share);
          acc0[k] += static_cast<double>(v * (1.0f - t));
          acc1[k] += static_cast<double>(v * t);
        }
      }
    });
  }
  slot[0] = lane_sum(acc0);
  slot[1] = lane_sum(acc1);
}

}  // namespace kernels
}  // namespace torch_render
