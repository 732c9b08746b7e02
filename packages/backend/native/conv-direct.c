// Direct convolutions of kernels.wasm: conv2d (the forward convolution, and through padding or cropping the
// input gradient's) and conv2d_filter_grad (the filter gradient, per-thread partial sums added by
// elementwise.c's sum_buffers). Winograd's forms of both are in winograd.c. See common.h for the rules.
#include "common.h"

// ---------------------------------------------------------------------------------------------------
// Conv2DBackpropFilter, NHWC input and output gradient, HWIO filter:
//
//   dW[i, j, ci, co] = Σ_{n, oh, ow} x[n, oh·sh + i − pt, ow·sw + j − pl, ci] · dy[n, oh, ow, co]
//
// params: x, dy, out, scratch, N, H, W, Ci, OH, OW, Co, KH, KW, sh, sw, pt, pl
// Thread t sums images [N·t/T, N·(t+1)/T) into its own buffer: `out` for t = 0, else
// scratch + (t − 1)·KH·KW·Ci·Co; conv2d_filter_grad_reduce then adds the buffers into `out` in thread order.
//
// Co must be a multiple of 4. Work is tiled so that what a tile reads stays in L1: a block of output rows of
// one image (at least ~32 pixels), and for it every tap × 4 input channels × 8 output channels, whose 8
// accumulator vectors live in registers across the block's pixels.

static void filter_grad_image(const f32* x, const f32* dy, f32* dw, int H, int W, int Ci, int OH, int OW,
                              int Co, int KH, int KW, int sh, int sw, int pt, int pl) {
  // Output rows per block: enough pixels to amortise loading and storing the accumulators.
  const int rowsPerBlock = max_int(1, (32 + OW - 1) / OW);
  const int ci4 = Ci & ~3;
  const int co8 = Co & ~7;
  for (int r0 = 0; r0 < OH; r0 += rowsPerBlock) {
    const int r1 = min_int(OH, r0 + rowsPerBlock);
    for (int i = 0; i < KH; i++) {
      const int rowOffset = i - pt;
      const int oh0 = max_int(r0, first_inside(rowOffset, sh));
      const int oh1 = min_int(r1, end_inside(rowOffset, sh, H, OH));
      if (oh0 >= oh1) continue;
      for (int j = 0; j < KW; j++) {
        const int colOffset = j - pl;
        const int ow0 = first_inside(colOffset, sw);
        const int ow1 = end_inside(colOffset, sw, W, OW);
        if (ow0 >= ow1) continue;
        f32* tap = dw + (i * KW + j) * Ci * Co;
        int ci = 0;
        for (; ci < ci4; ci += 4) {
          int co = 0;
          for (; co < co8; co += 8) {
            tile_4x8(x + ci, dy + co, tap + ci * Co + co, W, Ci, OW, Co, sh, sw, rowOffset, colOffset, oh0, oh1,
                     ow0, ow1);
          }
          for (; co < Co; co += 4) {
            for (int k = 0; k < 4; k++) {
              tile_1x4(x + ci + k, dy + co, tap + (ci + k) * Co + co, W, Ci, OW, Co, sh, sw, rowOffset,
                       colOffset, oh0, oh1, ow0, ow1);
            }
          }
        }
        for (; ci < Ci; ci++) {
          for (int co = 0; co < Co; co += 4) {
            tile_1x4(x + ci, dy + co, tap + ci * Co + co, W, Ci, OW, Co, sh, sw, rowOffset, colOffset, oh0, oh1,
                     ow0, ow1);
          }
        }
      }
    }
  }
}


EXPORT(conv2d_filter_grad)
void conv2d_filter_grad(const int32_t* p, int t, int threads) {
  const f32* x = (const f32*)(uintptr_t)p[0];
  const f32* dy = (const f32*)(uintptr_t)p[1];
  f32* out = (f32*)(uintptr_t)p[2];
  f32* scratch = (f32*)(uintptr_t)p[3];
  const int N = p[4], H = p[5], W = p[6], Ci = p[7], OH = p[8], OW = p[9], Co = p[10];
  const int KH = p[11], KW = p[12], sh = p[13], sw = p[14], pt = p[15], pl = p[16];
  const int filterSize = KH * KW * Ci * Co;
  f32* dw = t == 0 ? out : scratch + (t - 1) * filterSize;
  fill_zero(dw, filterSize);
  const int n1 = share_begin(N, t + 1, threads);
  for (int n = share_begin(N, t, threads); n < n1; n++) {
    filter_grad_image(x + n * H * W * Ci, dy + n * OH * OW * Co, dw, H, W, Ci, OH, OW, Co, KH, KW, sh, sw, pt,
                      pl);
  }
}

// out += scratch[0] + scratch[1] + … (in that order), over this thread's share of the filter.

// ---------------------------------------------------------------------------------------------------
// Conv2D, NHWC input and output, HWIO filter, no bias:
//
//   y[n, oh, ow, co] = Σ_{i, j, ci} x[n, oh·sh + i − pt, ow·sw + j − pl, ci] · W[i, j, ci, co]
//
// with taps outside x skipped (zero padding; negative pt/pl crop). The output size is given, so that the
// input gradient's convolutions (any padding) are calls of this one too.
// params: see conv2d below.
// Thread t computes output rows [N·OH·t/T, N·OH·(t+1)/T) (rows of all images in a row). Co must be a multiple
// of 4. Tiles: 4 output pixels × 8 output channels in 8 accumulator vectors, over every valid tap and input
// channel; taps that fall in the left or right padding read a row of zeros.

// The input pixel a tap reads for output column `col` (already ow·sw − pl + j), or `zeros` (Ci zero floats
// from the caller) where it falls in the padding, so that edge pixels take the same 4-pixel path.
static inline const f32* tap_pixel(const f32* xrow, const f32* zeros, int col, int W, int Ci) {
  return col >= 0 && col < W ? xrow + col * Ci : zeros;
}
// Taps checked one by one: a tap in the left or right padding reads `zeros` instead.
#define CONV_TILE_4(NV)                                                                                        \
  do {                                                                                                         \
    CONV_TILE_INIT;                                                                                            \
    for (int i = i0; i < i1; i++) {                                                                            \
      const f32* xrow = ximg + (rowBase + i) * W * Ci;                                                         \
      for (int j = 0; j < KW; j++) {                                                                           \
        const int col = c0 + j;                                                                                \
        const f32* x0 = tap_pixel(xrow, zeros, col, W, Ci);                                                    \
        const f32* x1 = tap_pixel(xrow, zeros, col + sw, W, Ci);                                               \
        const f32* x2 = tap_pixel(xrow, zeros, col + 2 * sw, W, Ci);                                           \
        const f32* x3 = tap_pixel(xrow, zeros, col + 3 * sw, W, Ci);                                           \
        const f32* wp = filter + (i * KW + j) * Ci * Co + co;                                                  \
        for (int ci = 0; ci < Ci; ci++, wp += Co) CONV_TILE_STEP(NV, x0, x1, x2, x3, ci, wp);                  \
      }                                                                                                        \
    }                                                                                                          \
    CONV_TILE_STORE(NV);                                                                                       \
  } while (0)

// Every tap of the 4 pixels inside the row: a pixel's KW taps then read KW·Ci consecutive floats, and the
// filter's (j, ci) rows are consecutive too, so one loop of KW·Ci steps replaces the tap and channel loops.
#define CONV_TILE_4_INTERIOR(NV)                                                                               \
  do {                                                                                                         \
    CONV_TILE_INIT;                                                                                            \
    const int span = KW * Ci;                                                                                  \
    for (int i = i0; i < i1; i++) {                                                                            \
      const f32* x0 = ximg + ((rowBase + i) * W + c0) * Ci;                                                    \
      const f32* x1 = x0 + pixelStep;                                                                          \
      const f32* x2 = x1 + pixelStep;                                                                          \
      const f32* x3 = x2 + pixelStep;                                                                          \
      const f32* wp = filter + i * span * Co + co;                                                             \
      for (int r = 0; r < span; r++, wp += Co) CONV_TILE_STEP(NV, x0, x1, x2, x3, r, wp);                      \
    }                                                                                                          \
    CONV_TILE_STORE(NV);                                                                                       \
  } while (0)

// One output pixel, 4 output channels (rows narrower than 4 pixels).
static inline void conv_pixel_4(const f32* ximg, const f32* filter, f32* yp, int W, int Ci, int Co, int KW,
                                int rowBase, int col, int i0, int i1) {
  v acc = wasm_f32x4_splat(0.0f);
  for (int i = i0; i < i1; i++) {
    for (int j = 0; j < KW; j++) {
      const int iw = col + j;
      if (iw < 0 || iw >= W) continue;
      const f32* xp = ximg + ((rowBase + i) * W + iw) * Ci;
      const f32* wp = filter + (i * KW + j) * Ci * Co;
      for (int ci = 0; ci < Ci; ci++, wp += Co) {
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load32_splat(xp + ci), wasm_v128_load(wp)));
      }
    }
  }
  wasm_v128_store(yp, acc);
}

// params: x, filter, y, N, H, W, Ci, OH, OW, Co, KH, KW, sh, sw, pt, pl, zeros (Ci zero floats)
EXPORT(conv2d)
void conv2d(const int32_t* p, int t, int threads) {
  const f32* x = (const f32*)(uintptr_t)p[0];
  const f32* filter = (const f32*)(uintptr_t)p[1];
  f32* y = (f32*)(uintptr_t)p[2];
  const int N = p[3], H = p[4], W = p[5], Ci = p[6], OH = p[7], OW = p[8], Co = p[9];
  const int KH = p[10], KW = p[11], sh = p[12], sw = p[13], pt = p[14], pl = p[15];
  const f32* zeros = (const f32*)(uintptr_t)p[16];
  const int pixelStep = sw * Ci;
  const int rowsTotal = N * OH;
  const int rowEnd = share_begin(rowsTotal, t + 1, threads);
  for (int row = share_begin(rowsTotal, t, threads); row < rowEnd; row++) {
    const int n = row / OH, oh = row % OH;
    const f32* ximg = x + n * H * W * Ci;
    f32* yrow = y + row * OW * Co;
    // Filter rows whose input row lies inside x.
    const int i0 = max_int(0, pt - oh * sh);
    const int i1 = min_int(KH, H + pt - oh * sh);
    if (i0 >= i1) {
      fill_zero(yrow, OW * Co);
      continue;
    }
    const int rowBase = oh * sh - pt;
    for (int co = 0; co < Co; co += 8) {
      const int wide = Co - co >= 8;
      if (OW < 4) {
        for (int ow = 0; ow < OW; ow++) {
          for (int c = co; c < min_int(Co, co + 8); c += 4) {
            conv_pixel_4(ximg, filter + c, yrow + ow * Co + c, W, Ci, Co, KW, rowBase, ow * sw - pl, i0, i1);
          }
        }
        continue;
      }
      // Blocks of 4 output pixels; the last block ends at the row's end (it may overlap the one before,
      // writing the same values again).
      for (int ow0 = 0; ow0 < OW; ow0 += 4) {
        const int ow = min_int(ow0, OW - 4);
        const int c0 = ow * sw - pl;
        const int inside = c0 >= 0 && c0 + 3 * sw + KW <= W;
        if (wide && inside) {
          CONV_TILE_4_INTERIOR(2);
        } else if (wide) {
          CONV_TILE_4(2);
        } else if (inside) {
          CONV_TILE_4_INTERIOR(1);
        } else {
          CONV_TILE_4(1);
        }
      }
    }
  }
}

// dx = dy · step(x) (the gradient of ReLU), as tfjs computes it: step(x) is 1 for x > 0, 0 otherwise and NaN
