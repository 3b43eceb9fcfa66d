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

// Calls visit(candidate) for each primitive of column px of image b, channel ch,
// other than (s, j), that can reach a row in [row_begin, row_end], in the
// forward's order (series, then point), until visit returns false.
template <typename Visit>
TR_HD void visit_candidates(const LineParams& p, int64_t b, int64_t ch, int64_t s, int64_t j,
                            float px, float row_begin, float row_end, const IndexRange& js,
                            Visit visit) {
  const float reach = p.reach();
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
      if (!visit(c)) return;
    }
  }
}

// Fills `out` with the candidates of the rows [row_begin, row_end] of a column;
// returns how many, or -1 when there are more than kColumnCandidates (then
// nearest_share measures them per pixel).
TR_HD int column_candidates(const LineParams& p, int64_t b, int64_t ch, int64_t s, int64_t j,
                            float px, float row_begin, float row_end, const IndexRange& js,
                            ColumnCandidate* out) {
  int n = 0;
  visit_candidates(p, b, ch, s, j, px, row_begin, row_end, js, [&](const ColumnCandidate& c) {
    if (n == kColumnCandidates) {
      n = -1;
      return false;
    }
    out[n++] = c;
    return true;
  });
  return n;
}

// Candidate c at pixel (px, py) against a primitive at squared distance dist2:
// -1 nearer, 1 as near, 0 farther or not tested there by the forward.
TR_HD int nearer_or_tied(const ColumnCandidate& c, float px, float py, float dist2) {
  if (!(c.row_lo <= py && py <= c.row_hi)) return 0;  // the forward does not test it here
  const float d2 = segment_dist2(px, py, c.x0, c.y0, c.x1, c.y1);
  return d2 < dist2 ? -1 : (d2 == dist2 ? 1 : 0);
}

// The share of a pixel's gradient that goes to the primitive at squared distance
// dist2 from it: 0 when a candidate is nearer, else 1 / (number of primitives this
// near). The forward's value depends only on the minimum distance; like
// torch.amin, its gradient is shared evenly among the primitives that attain it
// (symmetric peaks make such ties).
TR_HD float nearest_share(const ColumnCandidate* c, int n, float px, float py, float dist2) {
  int ties = 1;
  for (int k = 0; k < n; ++k) {
    const int r = nearer_or_tied(c[k], px, py, dist2);
    if (r < 0) return 0.0f;
    ties += r;
  }
  return 1.0f / static_cast<float>(ties);
}

// The same without the gathered list (a column with many candidates).
TR_HD float nearest_share(const LineParams& p, int64_t b, int64_t ch, int64_t s, int64_t j,
                          float px, float py, float dist2, const IndexRange& js) {
  int ties = 1;
  visit_candidates(p, b, ch, s, j, px, py, py, js, [&](const ColumnCandidate& c) {
    const int r = nearer_or_tied(c, px, py, dist2);
    ties = r < 0 ? 0 : ties + r;
    return r >= 0;
  });
  return ties == 0 ? 0.0f : 1.0f / static_cast<float>(ties);
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

}  // namespace kernels
}  // namespace torch_render
