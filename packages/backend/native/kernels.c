// @resnet/backend's own wasm SIMD kernels: the convolution filter gradient and training-mode batch
// normalisation, the two parts of a ResNet training step that tfjs-backend-wasm 4.22 either lacks or runs
// far below the speed of its XNNPACK convolutions (see ../README.md, "Native kernels").
//
// This module runs inside tfjs-backend-wasm's own memory: it imports the threaded build's shared
// WebAssembly.Memory and reads and writes tensors where they lie, on the main thread and on the worker
// threads of ../src/native/pool.ts. It therefore must never touch memory it was not handed a pointer to:
// no static data, no stack (every temporary is a local), no start function. ./build.sh checks the binary
// for each of these.
//
// Every exported kernel has the same signature: (params, thread, threads). `params` points at int32
// parameters written by the JavaScript side; thread t of `threads` does its share of the work, and the
// shares are fixed by (t, threads) alone, so that results repeat bit for bit for a given thread count.
//
// Build: ./build.sh (clang 14 or newer with the wasm32 target; Debian: apt-get install clang lld).

#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name), visibility("default")))

typedef float f32;
typedef v128_t v;

static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline int max_int(int a, int b) { return a > b ? a : b; }

// First index i ≥ 0 with i·s + offset ≥ 0, and one past the last with i·s + offset < limit, clipped to
// [0, count): the output positions whose tap reads inside the input.
static inline int first_inside(int offset, int s) { return offset >= 0 ? 0 : (-offset + s - 1) / s; }
static inline int end_inside(int offset, int s, int limit, int count) {
  int span = limit - offset;  // positions i with i·s < span
  if (span <= 0) return 0;
  return min_int(count, (span + s - 1) / s);
}

// A share [begin, end) of `total` items for thread t of n: contiguous, fixed by (t, n).
static inline int share_begin(int total, int t, int n) { return (int)(((int64_t)total * t) / n); }

// This thread's share of `size` elements in whole vectors (the last thread also takes the scalar tail).
#define ELEMENTWISE_SHARE(size)                                                                                \
  const int vectors = (size) >> 2;                                                                             \
  const int begin = share_begin(vectors, t, threads) * 4;                                                      \
  const int end = t == threads - 1 ? (size) : share_begin(vectors, t + 1, threads) * 4

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

// Accumulates a 4(ci) × 8(co) tile over output rows [oh0, oh1) × columns [ow0, ow1) of one image.
static inline void tile_4x8(const f32* x, const f32* dy, f32* dw, int W, int Ci, int OW, int Co, int sh, int sw,
                            int rowOffset, int colOffset, int oh0, int oh1, int ow0, int ow1) {
  f32* d0 = dw;
  f32* d1 = dw + Co;
  f32* d2 = dw + 2 * Co;
  f32* d3 = dw + 3 * Co;
  v a00 = wasm_v128_load(d0), a01 = wasm_v128_load(d0 + 4);
  v a10 = wasm_v128_load(d1), a11 = wasm_v128_load(d1 + 4);
  v a20 = wasm_v128_load(d2), a21 = wasm_v128_load(d2 + 4);
  v a30 = wasm_v128_load(d3), a31 = wasm_v128_load(d3 + 4);
  const int xStep = sw * Ci;
  for (int oh = oh0; oh < oh1; oh++) {
    const f32* xp = x + ((oh * sh + rowOffset) * W + ow0 * sw + colOffset) * Ci;
    const f32* gp = dy + (oh * OW + ow0) * Co;
    for (int ow = ow0; ow < ow1; ow++) {
      v g0 = wasm_v128_load(gp), g1 = wasm_v128_load(gp + 4);
      v s0 = wasm_v128_load32_splat(xp);
      v s1 = wasm_v128_load32_splat(xp + 1);
      v s2 = wasm_v128_load32_splat(xp + 2);
      v s3 = wasm_v128_load32_splat(xp + 3);
      a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(s0, g0));
      a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(s0, g1));
      a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(s1, g0));
      a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(s1, g1));
      a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(s2, g0));
      a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(s2, g1));
      a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(s3, g0));
      a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(s3, g1));
      xp += xStep;
      gp += Co;
    }
  }
  wasm_v128_store(d0, a00), wasm_v128_store(d0 + 4, a01);
  wasm_v128_store(d1, a10), wasm_v128_store(d1 + 4, a11);
  wasm_v128_store(d2, a20), wasm_v128_store(d2 + 4, a21);
  wasm_v128_store(d3, a30), wasm_v128_store(d3 + 4, a31);
}

// 1 input channel × 4 output channels: the remainders of the tile above.
static inline void tile_1x4(const f32* x, const f32* dy, f32* dw, int W, int Ci, int OW, int Co, int sh, int sw,
                            int rowOffset, int colOffset, int oh0, int oh1, int ow0, int ow1) {
  v a = wasm_v128_load(dw);
  const int xStep = sw * Ci;
  for (int oh = oh0; oh < oh1; oh++) {
    const f32* xp = x + ((oh * sh + rowOffset) * W + ow0 * sw + colOffset) * Ci;
    const f32* gp = dy + (oh * OW + ow0) * Co;
    for (int ow = ow0; ow < ow1; ow++) {
      a = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_v128_load32_splat(xp), wasm_v128_load(gp)));
      xp += xStep;
      gp += Co;
    }
  }
  wasm_v128_store(dw, a);
}

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

static void fill_zero(f32* p, int count) {
  int i = 0;
  for (; i + 4 <= count; i += 4) wasm_v128_store(p + i, wasm_f32x4_splat(0.0f));
  for (; i < count; i++) p[i] = 0.0f;
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
// params: out, scratch, filterSize, buffers
EXPORT(sum_buffers)
void sum_buffers(const int32_t* p, int t, int threads) {
  f32* out = (f32*)(uintptr_t)p[0];
  const f32* scratch = (const f32*)(uintptr_t)p[1];
  const int size = p[2], buffers = p[3];
  ELEMENTWISE_SHARE(size);
  int i = begin;
  for (; i + 4 <= end; i += 4) {
    v acc = wasm_v128_load(out + i);
    for (int b = 0; b < buffers; b++) acc = wasm_f32x4_add(acc, wasm_v128_load(scratch + b * size + i));
    wasm_v128_store(out + i, acc);
  }
  for (; i < end; i++) {
    f32 acc = out[i];
    for (int b = 0; b < buffers; b++) acc += scratch[b * size + i];
    out[i] = acc;
  }
}

// ---------------------------------------------------------------------------------------------------
// Training-mode batch normalisation over x [rows, C] (C a multiple of 4), statistics per channel.
// The rows are cut in blocks of at most BLOCK_ROWS; each block's per-channel sums are taken in float32
// vectors, then added into float64 totals, so rounding grows with the block, not with the batch.
// Thread t takes rows [rows·t/T, rows·(t+1)/T) and writes its float64 totals to partials + t·k·C
// (k = 1 or 2 sums per channel); the JavaScript side adds the threads' totals in order.

#define BLOCK_ROWS 64

static inline void add_to_f64(double* total, v sum4) {
  v lo = wasm_f64x2_promote_low_f32x4(sum4);
  v hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(sum4, sum4, 2, 3, 0, 1));
  wasm_v128_store(total, wasm_f64x2_add(wasm_v128_load(total), lo));
  wasm_v128_store(total + 2, wasm_f64x2_add(wasm_v128_load(total + 2), hi));
}

static void zero_f64(double* p, int count) {
  for (int i = 0; i < count; i += 2) wasm_v128_store(p + i, wasm_f64x2_splat(0.0));
}

// Σx per channel. params: x, partials (float64), rows, C
EXPORT(bn_sum)
void bn_sum(const int32_t* p, int t, int threads) {
  const f32* x = (const f32*)(uintptr_t)p[0];
  double* sums = (double*)(uintptr_t)p[1];
  const int rows = p[2], C = p[3];
  double* mine = sums + t * C;
  zero_f64(mine, C);
  const int end = share_begin(rows, t + 1, threads);
  for (int r0 = share_begin(rows, t, threads); r0 < end; r0 += BLOCK_ROWS) {
    const int r1 = min_int(end, r0 + BLOCK_ROWS);
    for (int c = 0; c < C; c += 4) {
      v acc = wasm_f32x4_splat(0.0f);
      const f32* xp = x + r0 * C + c;
      for (int r = r0; r < r1; r++, xp += C) acc = wasm_f32x4_add(acc, wasm_v128_load(xp));
      add_to_f64(mine + c, acc);
    }
  }
}

// Σ(x − μ)² per channel. params: x, partials (float64), rows, C, mean (float32 [C])
EXPORT(bn_sum_squares)
void bn_sum_squares(const int32_t* p, int t, int threads) {
  const f32* x = (const f32*)(uintptr_t)p[0];
  double* sums = (double*)(uintptr_t)p[1];
  const int rows = p[2], C = p[3];
  const f32* mean = (const f32*)(uintptr_t)p[4];
  double* mine = sums + t * C;
  zero_f64(mine, C);
  const int end = share_begin(rows, t + 1, threads);
  for (int r0 = share_begin(rows, t, threads); r0 < end; r0 += BLOCK_ROWS) {
    const int r1 = min_int(end, r0 + BLOCK_ROWS);
    for (int c = 0; c < C; c += 4) {
      const v m = wasm_v128_load(mean + c);
      v acc = wasm_f32x4_splat(0.0f);
      const f32* xp = x + r0 * C + c;
      for (int r = r0; r < r1; r++, xp += C) {
        const v d = wasm_f32x4_sub(wasm_v128_load(xp), m);
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(d, d));
      }
      add_to_f64(mine + c, acc);
    }
  }
}

// y = x·a + b per channel. params: x, y, rows, C, a (float32 [C]), b (float32 [C])
EXPORT(bn_scale_shift)
void bn_scale_shift(const int32_t* p, int t, int threads) {
  const f32* x = (const f32*)(uintptr_t)p[0];
  f32* y = (f32*)(uintptr_t)p[1];
  const int rows = p[2], C = p[3];
  const f32* a = (const f32*)(uintptr_t)p[4];
  const f32* b = (const f32*)(uintptr_t)p[5];
  const int end = share_begin(rows, t + 1, threads);
  for (int r0 = share_begin(rows, t, threads); r0 < end; r0 += BLOCK_ROWS) {
    const int r1 = min_int(end, r0 + BLOCK_ROWS);
    for (int c = 0; c < C; c += 4) {
      const v av = wasm_v128_load(a + c), bv = wasm_v128_load(b + c);
      const f32* xp = x + r0 * C + c;
      f32* yp = y + r0 * C + c;
      for (int r = r0; r < r1; r++, xp += C, yp += C) {
        wasm_v128_store(yp, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(xp), av), bv));
      }
    }
  }
}

// Σdy and Σdy·(x − μ) per channel, as partials[t·2C + c] and partials[t·2C + C + c].
// params: dy, x, partials (float64), rows, C, mean (float32 [C])
EXPORT(bn_grad_sums)
void bn_grad_sums(const int32_t* p, int t, int threads) {
  const f32* dy = (const f32*)(uintptr_t)p[0];
  const f32* x = (const f32*)(uintptr_t)p[1];
  double* sums = (double*)(uintptr_t)p[2];
  const int rows = p[3], C = p[4];
  const f32* mean = (const f32*)(uintptr_t)p[5];
  double* sumDy = sums + t * 2 * C;
  double* sumDyCentred = sumDy + C;
  zero_f64(sumDy, 2 * C);
  const int end = share_begin(rows, t + 1, threads);
  for (int r0 = share_begin(rows, t, threads); r0 < end; r0 += BLOCK_ROWS) {
    const int r1 = min_int(end, r0 + BLOCK_ROWS);
    for (int c = 0; c < C; c += 4) {
      const v m = wasm_v128_load(mean + c);
      v acc = wasm_f32x4_splat(0.0f), accCentred = wasm_f32x4_splat(0.0f);
      const f32* gp = dy + r0 * C + c;
      const f32* xp = x + r0 * C + c;
      for (int r = r0; r < r1; r++, gp += C, xp += C) {
        const v g = wasm_v128_load(gp);
        acc = wasm_f32x4_add(acc, g);
        accCentred = wasm_f32x4_add(accCentred, wasm_f32x4_mul(g, wasm_f32x4_sub(wasm_v128_load(xp), m)));
      }
      add_to_f64(sumDy + c, acc);
      add_to_f64(sumDyCentred + c, accCentred);
    }
  }
}

// dx = a·dy + b·x + k per channel. params: dy, x, dx, rows, C, a, b, k (float32 [C] each)
EXPORT(bn_grad_input)
void bn_grad_input(const int32_t* p, int t, int threads) {
  const f32* dy = (const f32*)(uintptr_t)p[0];
  const f32* x = (const f32*)(uintptr_t)p[1];
  f32* dx = (f32*)(uintptr_t)p[2];
  const int rows = p[3], C = p[4];
  const f32* a = (const f32*)(uintptr_t)p[5];
  const f32* b = (const f32*)(uintptr_t)p[6];
  const f32* k = (const f32*)(uintptr_t)p[7];
  const int end = share_begin(rows, t + 1, threads);
  for (int r0 = share_begin(rows, t, threads); r0 < end; r0 += BLOCK_ROWS) {
    const int r1 = min_int(end, r0 + BLOCK_ROWS);
    for (int c = 0; c < C; c += 4) {
      const v av = wasm_v128_load(a + c), bv = wasm_v128_load(b + c), kv = wasm_v128_load(k + c);
      const f32* gp = dy + r0 * C + c;
      const f32* xp = x + r0 * C + c;
      f32* op = dx + r0 * C + c;
      for (int r = r0; r < r1; r++, gp += C, xp += C, op += C) {
        const v ag = wasm_f32x4_mul(av, wasm_v128_load(gp));
        const v bx = wasm_f32x4_mul(bv, wasm_v128_load(xp));
        wasm_v128_store(op, wasm_f32x4_add(wasm_f32x4_add(ag, bx), kv));
      }
    }
  }
}

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

// The 4-pixel × 8-channel tile (NV = 2; NV = 1: 4 channels) in three parts: zeroed accumulators, one step
// (one input channel of one tap: pixel k reads x_k[r], the filter row is wp), and the store to the output.
#define CONV_TILE_INIT                                                                                         \
  v a00 = wasm_f32x4_splat(0.0f), a10 = a00, a20 = a00, a30 = a00;                                             \
  v a01 = a00, a11 = a00, a21 = a00, a31 = a00

#define CONV_TILE_STEP(NV, x0, x1, x2, x3, r, wp)                                                              \
  do {                                                                                                         \
    const v w0 = wasm_v128_load(wp);                                                                           \
    const v s0 = wasm_v128_load32_splat((x0) + (r)), s1 = wasm_v128_load32_splat((x1) + (r));                  \
    const v s2 = wasm_v128_load32_splat((x2) + (r)), s3 = wasm_v128_load32_splat((x3) + (r));                  \
    a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(s0, w0));                                                         \
    a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(s1, w0));                                                         \
    a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(s2, w0));                                                         \
    a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(s3, w0));                                                         \
    if (NV == 2) {                                                                                             \
      const v w1 = wasm_v128_load((wp) + 4);                                                                   \
      a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(s0, w1));                                                       \
      a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(s1, w1));                                                       \
      a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(s2, w1));                                                       \
      a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(s3, w1));                                                       \
    }                                                                                                          \
  } while (0)

#define CONV_TILE_STORE(NV)                                                                                    \
  do {                                                                                                         \
    f32* yp = yrow + ow * Co + co;                                                                             \
    wasm_v128_store(yp, a00), wasm_v128_store(yp + Co, a10);                                                   \
    wasm_v128_store(yp + 2 * Co, a20), wasm_v128_store(yp + 3 * Co, a30);                                      \
    if (NV == 2) {                                                                                             \
      wasm_v128_store(yp + 4, a01), wasm_v128_store(yp + Co + 4, a11);                                         \
      wasm_v128_store(yp + 2 * Co + 4, a21), wasm_v128_store(yp + 3 * Co + 4, a31);                            \
    }                                                                                                          \
  } while (0)

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
// for NaN, and the product keeps dy's NaN and infinities. params: dy, x, dx, size
EXPORT(relu_grad)
void relu_grad(const int32_t* p, int t, int threads) {
  const f32* dy = (const f32*)(uintptr_t)p[0];
  const f32* x = (const f32*)(uintptr_t)p[1];
  f32* dx = (f32*)(uintptr_t)p[2];
  ELEMENTWISE_SHARE(p[3]);
  const v zero = wasm_f32x4_splat(0.0f), one = wasm_f32x4_splat(1.0f);
  int i = begin;
  for (; i + 4 <= end; i += 4) {
    const v xv = wasm_v128_load(x + i);
    v step = wasm_v128_bitselect(one, zero, wasm_f32x4_gt(xv, zero));
    step = wasm_v128_bitselect(xv, step, wasm_f32x4_ne(xv, xv));
    wasm_v128_store(dx + i, wasm_f32x4_mul(wasm_v128_load(dy + i), step));
  }
  for (; i < end; i++) {
    const f32 xi = x[i];
    dx[i] = dy[i] * (xi > 0.0f ? 1.0f : xi != xi ? xi : 0.0f);
  }
}

// y = max(x, 0), NaN kept (as tfjs's Relu). params: x, y, size
EXPORT(relu)
void relu(const int32_t* p, int t, int threads) {
  const f32* x = (const f32*)(uintptr_t)p[0];
  f32* y = (f32*)(uintptr_t)p[1];
  ELEMENTWISE_SHARE(p[2]);
  const v zero = wasm_f32x4_splat(0.0f);
  int i = begin;
  for (; i + 4 <= end; i += 4) {
    const v xv = wasm_v128_load(x + i);
    // x < 0 ? 0 : x keeps NaN (the comparison is false for it), where max would depend on the operand order.
    wasm_v128_store(y + i, wasm_v128_andnot(xv, wasm_f32x4_lt(xv, zero)));
  }
  for (; i < end; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

// y = a + b, same shape. params: a, b, y, size
EXPORT(add)
void add(const int32_t* p, int t, int threads) {
  const f32* a = (const f32*)(uintptr_t)p[0];
  const f32* b = (const f32*)(uintptr_t)p[1];
  f32* y = (f32*)(uintptr_t)p[2];
  ELEMENTWISE_SHARE(p[3]);
  int i = begin;
  for (; i + 4 <= end; i += 4) wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  for (; i < end; i++) y[i] = a[i] + b[i];
}

// ---------------------------------------------------------------------------------------------------
// 3×3 stride-1 convolutions in Winograd's F(2×2, 3×3) form (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016): each 2×2 block of output pixels ("tile") is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, with d the
// 4×4 input patch and g the 3×3 filter, per input/output channel pair: 16 multiplications per tile where the
// direct form takes 36. The sum over input channels of the ⊙ products is, for each of the 16 positions, a
// matrix product [tiles × Ci]·[Ci × Co]. Same values as the direct convolution up to float rounding
// (relative differences of order 1e-6 here).
//
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]   Aᵀ = [1 1 1 0; 0 1 −1 −1]

// Bᵀ d B of the 4×4 input patch whose top-left pixel is (row0, col0) of `image` (pixels outside read
// `zeros`), for every channel vector: position ξ of channels ci..ci+3 goes to out + ξ·positionStride + ci.
// Used by both Winograd forms, the convolution's F(2×2, 3×3) and the filter gradient's F(3×3, 2×2).
static inline __attribute__((always_inline)) void winograd_input_transform(const f32* image, const f32* zeros,
                                                                            int row0, int col0, int H, int W,
                                                                            int Ci, f32* out,
                                                                            int positionStride) {
  const f32* d[16];
  for (int r = 0; r < 4; r++) {
    const int ih = row0 + r;
    for (int c = 0; c < 4; c++) {
      const int iw = col0 + c;
      d[r * 4 + c] = ih >= 0 && ih < H && iw >= 0 && iw < W ? image + (ih * W + iw) * Ci : zeros;
    }
  }
  for (int ci = 0; ci < Ci; ci += 4) {
    v q[16];
    for (int r = 0; r < 4; r++) {
      // Bᵀ d: columns of the patch combine rows.
      const v d0 = wasm_v128_load(d[0 * 4 + r] + ci), d1 = wasm_v128_load(d[1 * 4 + r] + ci);
      const v d2 = wasm_v128_load(d[2 * 4 + r] + ci), d3 = wasm_v128_load(d[3 * 4 + r] + ci);
      q[0 * 4 + r] = wasm_f32x4_sub(d0, d2);
      q[1 * 4 + r] = wasm_f32x4_add(d1, d2);
      q[2 * 4 + r] = wasm_f32x4_sub(d2, d1);
      q[3 * 4 + r] = wasm_f32x4_sub(d1, d3);
    }
    for (int r = 0; r < 4; r++) {
      // (Bᵀ d) B: rows combine columns.
      const v t0 = q[r * 4 + 0], t1 = q[r * 4 + 1], t2 = q[r * 4 + 2], t3 = q[r * 4 + 3];
      wasm_v128_store(out + (r * 4 + 0) * positionStride + ci, wasm_f32x4_sub(t0, t2));
      wasm_v128_store(out + (r * 4 + 1) * positionStride + ci, wasm_f32x4_add(t1, t2));
      wasm_v128_store(out + (r * 4 + 2) * positionStride + ci, wasm_f32x4_sub(t2, t1));
      wasm_v128_store(out + (r * 4 + 3) * positionStride + ci, wasm_f32x4_sub(t1, t3));
    }
  }
}

// U[ξ][ci][co] = (G g Gᵀ)[ξ] for the filter g = W[·, ·, ci, co] (HWIO). Thread t takes input channels
// [Ci·t/T, Ci·(t+1)/T). params: filter, U, Ci, Co
EXPORT(winograd_filter)
void winograd_filter(const int32_t* p, int t, int threads) {
  const f32* w = (const f32*)(uintptr_t)p[0];
  f32* u = (f32*)(uintptr_t)p[1];
  const int Ci = p[2], Co = p[3];
  const int tap = Ci * Co;  // distance between the filter's taps
  const int plane = Ci * Co;  // distance between U's 16 positions
  const int end = share_begin(Ci, t + 1, threads);
  for (int ci = share_begin(Ci, t, threads); ci < end; ci++) {
    for (int co = 0; co < Co; co++) {
      const f32* g = w + ci * Co + co;
      f32 gg[3][3];
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) gg[i][j] = g[(i * 3 + j) * tap];
      f32 rows[4][3];  // G g
      for (int j = 0; j < 3; j++) {
        rows[0][j] = gg[0][j];
        rows[1][j] = 0.5f * (gg[0][j] + gg[1][j] + gg[2][j]);
        rows[2][j] = 0.5f * (gg[0][j] - gg[1][j] + gg[2][j]);
        rows[3][j] = gg[2][j];
      }
      f32* out = u + ci * Co + co;
      for (int r = 0; r < 4; r++) {
        out[(r * 4 + 0) * plane] = rows[r][0];
        out[(r * 4 + 1) * plane] = 0.5f * (rows[r][0] + rows[r][1] + rows[r][2]);
        out[(r * 4 + 2) * plane] = 0.5f * (rows[r][0] - rows[r][1] + rows[r][2]);
        out[(r * 4 + 3) * plane] = rows[r][2];
      }
    }
  }
}

// Tiles are taken 4 at a time along a row of tiles; a thread's rows of tiles are [rows·t/T, rows·(t+1)/T)
// over all images. Per block of 4 tiles: V[16][4][Ci] = Bᵀ d B (channel vectors), M[16][4][Co] = V·U per
// position (4 tiles × 8 output channels in accumulator vectors), then y = Aᵀ M A. V and M live in the
// thread's part of `work` (16·4·(Ci + Co) floats each thread). Ci and Co multiples of 4.
// params: x, U, y, N, H, W, Ci, OH, OW, Co, pt, pl, zeros (Ci zero floats), work
EXPORT(conv2d_winograd)
void conv2d_winograd(const int32_t* p, int t, int threads) {
  const f32* x = (const f32*)(uintptr_t)p[0];
  const f32* u = (const f32*)(uintptr_t)p[1];
  f32* y = (f32*)(uintptr_t)p[2];
  const int N = p[3], H = p[4], W = p[5], Ci = p[6], OH = p[7], OW = p[8], Co = p[9];
  const int pt = p[10], pl = p[11];
  const f32* zeros = (const f32*)(uintptr_t)p[12];
  f32* vbuf = (f32*)(uintptr_t)p[13] + t * 16 * 4 * (Ci + Co);
  f32* mbuf = vbuf + 16 * 4 * Ci;
  const int tileRows = (OH + 1) / 2, tileCols = (OW + 1) / 2;
  const int rowsTotal = N * tileRows;
  const int rowEnd = share_begin(rowsTotal, t + 1, threads);
  for (int row = share_begin(rowsTotal, t, threads); row < rowEnd; row++) {
    const int n = row / tileRows, oh0 = (row % tileRows) * 2;
    const f32* ximg = x + n * H * W * Ci;
    f32* yimg = y + n * OH * OW * Co;
    for (int tc0 = 0; tc0 < tileCols; tc0 += 4) {
      // Input transform of 4 tiles (tiles past the row's end read zeros and are not written back).
      for (int k = 0; k < 4; k++) {
        const int ow0 = (tc0 + k) * 2;
        // A tile wholly past the row's end reads zeros only.
        const int col0 = ow0 < OW ? ow0 - pl : W;
        winograd_input_transform(ximg, zeros, oh0 - pt, col0, H, W, Ci, vbuf + k * Ci, 4 * Ci);
      }
      // The 16 matrix products, 4 tiles × 8 (or 4) output channels at a time.
      for (int xi = 0; xi < 16; xi++) {
        const f32* x0 = vbuf + xi * 4 * Ci;
        const f32* x1 = x0 + Ci;
        const f32* x2 = x1 + Ci;
        const f32* x3 = x2 + Ci;
        f32* mrow = mbuf + xi * 4 * Co;
        for (int co = 0; co < Co; co += 8) {
          const f32* wp = u + xi * Ci * Co + co;
          CONV_TILE_INIT;
          if (Co - co >= 8) {
            for (int ci = 0; ci < Ci; ci++, wp += Co) CONV_TILE_STEP(2, x0, x1, x2, x3, ci, wp);
            wasm_v128_store(mrow + co + 4, a01), wasm_v128_store(mrow + Co + co + 4, a11);
            wasm_v128_store(mrow + 2 * Co + co + 4, a21), wasm_v128_store(mrow + 3 * Co + co + 4, a31);
          } else {
            for (int ci = 0; ci < Ci; ci++, wp += Co) CONV_TILE_STEP(1, x0, x1, x2, x3, ci, wp);
          }
          wasm_v128_store(mrow + co, a00), wasm_v128_store(mrow + Co + co, a10);
          wasm_v128_store(mrow + 2 * Co + co, a20), wasm_v128_store(mrow + 3 * Co + co, a30);
        }
      }
      // Output transform Aᵀ M A of each tile, written where the 2×2 block lies inside y.
      for (int k = 0; k < 4; k++) {
        const int ow0 = (tc0 + k) * 2;
        if (ow0 >= OW) break;
        const f32* mk = mbuf + k * Co;
        f32* y00 = yimg + (oh0 * OW + ow0) * Co;
        const int right = ow0 + 1 < OW, below = oh0 + 1 < OH;
        for (int co = 0; co < Co; co += 4) {
          v m[16];
          for (int i = 0; i < 16; i++) m[i] = wasm_v128_load(mk + i * 4 * Co + co);
          v s0[4], s1[4];
          for (int c = 0; c < 4; c++) {
            s0[c] = wasm_f32x4_add(wasm_f32x4_add(m[c], m[4 + c]), m[8 + c]);
            s1[c] = wasm_f32x4_sub(wasm_f32x4_sub(m[4 + c], m[8 + c]), m[12 + c]);
          }
          wasm_v128_store(y00 + co, wasm_f32x4_add(wasm_f32x4_add(s0[0], s0[1]), s0[2]));
          if (right) wasm_v128_store(y00 + Co + co, wasm_f32x4_sub(wasm_f32x4_sub(s0[1], s0[2]), s0[3]));
          if (below) {
            f32* y10 = y00 + OW * Co;
            wasm_v128_store(y10 + co, wasm_f32x4_add(wasm_f32x4_add(s1[0], s1[1]), s1[2]));
            if (right) wasm_v128_store(y10 + Co + co, wasm_f32x4_sub(wasm_f32x4_sub(s1[1], s1[2]), s1[3]));
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The filter gradient of a 3×3 stride-1 convolution in Winograd's F(3×3, 2×2) form: over each 2×2 tile of
// dy, the 3×3 correlation of the 4×4 input patch d with the tile g is A'ᵀ[(G' g G'ᵀ) ⊙ (Bᵀ d B)]A', and the
// sum over tiles and images moves inside the transforms: dW = A'ᵀ[Σ (G' g G'ᵀ) ⊙ (Bᵀ d B)]A' per channel
// pair, the inner sum being, for each of the 16 positions, a matrix product [Ci × tiles]·[tiles × Co].
// Bᵀ is the forward kernel's; G' = [1 0; 1 1; 1 −1; 0 −1]; A'ᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1].
//
// Thread t takes images [N·t/T, N·(t+1)/T) and sums into its own M[16][Ci][Co]; `work` holds the T threads'
// M one after another, then each thread's V[16][WG_TILES][Ci] and D[16][WG_TILES][Co] blocks. sum_buffers
// then adds the threads' M into the first in order, and winograd_filter_grad_output applies A'ᵀ · A'.
#define WG_TILES 32

// params: x, dy, work, N, H, W, Ci, OH, OW, Co, pt, pl, zeros (max(Ci, Co) zero floats)
EXPORT(winograd_filter_grad)
void winograd_filter_grad(const int32_t* p, int t, int threads) {
  const f32* x = (const f32*)(uintptr_t)p[0];
  const f32* dy = (const f32*)(uintptr_t)p[1];
  f32* work = (f32*)(uintptr_t)p[2];
  const int N = p[3], H = p[4], W = p[5], Ci = p[6], OH = p[7], OW = p[8], Co = p[9];
  const int pt = p[10], pl = p[11];
  const f32* zeros = (const f32*)(uintptr_t)p[12];
  f32* mbuf = work + t * 16 * Ci * Co;
  f32* vbuf = work + threads * 16 * Ci * Co + t * 16 * WG_TILES * (Ci + Co);
  f32* dbuf = vbuf + 16 * WG_TILES * Ci;
  fill_zero(mbuf, 16 * Ci * Co);
  const int tileRows = (OH + 1) / 2, tileCols = (OW + 1) / 2;
  const int tilesPerImage = tileRows * tileCols;
  const int n1 = share_begin(N, t + 1, threads);
  for (int n = share_begin(N, t, threads); n < n1; n++) {
    const f32* ximg = x + n * H * W * Ci;
    const f32* gimg = dy + n * OH * OW * Co;
    for (int tile0 = 0; tile0 < tilesPerImage; tile0 += WG_TILES) {
      const int count = min_int(WG_TILES, tilesPerImage - tile0);
      for (int k = 0; k < count; k++) {
        const int tile = tile0 + k;
        const int oh0 = (tile / tileCols) * 2, ow0 = (tile % tileCols) * 2;
        winograd_input_transform(ximg, zeros, oh0 - pt, ow0 - pl, H, W, Ci, vbuf + k * Ci, WG_TILES * Ci);
        // G' g G'ᵀ of the dy tile (zero outside dy).
        const f32* g00 = gimg + (oh0 * OW + ow0) * Co;
        const int right = ow0 + 1 < OW, below = oh0 + 1 < OH;
        const f32* g01 = right ? g00 + Co : zeros;
        const f32* g10 = below ? g00 + OW * Co : zeros;
        const f32* g11 = right && below ? g00 + (OW + 1) * Co : zeros;
        f32* dk = dbuf + k * Co;
        for (int co = 0; co < Co; co += 4) {
          const v a = wasm_v128_load(g00 + co), b = wasm_v128_load(g01 + co);
          const v c = wasm_v128_load(g10 + co), e = wasm_v128_load(g11 + co);
          // Rows: G' [a b; c e] gives 4 rows of 2: (a,b), (a+c, b+e), (a−c, b−e), (−c, −e).
          v rows[4][2] = {{a, b},
                          {wasm_f32x4_add(a, c), wasm_f32x4_add(b, e)},
                          {wasm_f32x4_sub(a, c), wasm_f32x4_sub(b, e)},
                          {wasm_f32x4_neg(c), wasm_f32x4_neg(e)}};
          for (int r = 0; r < 4; r++) {
            const v u0 = rows[r][0], u1 = rows[r][1];
            wasm_v128_store(dk + (r * 4 + 0) * WG_TILES * Co + co, u0);
            wasm_v128_store(dk + (r * 4 + 1) * WG_TILES * Co + co, wasm_f32x4_add(u0, u1));
            wasm_v128_store(dk + (r * 4 + 2) * WG_TILES * Co + co, wasm_f32x4_sub(u0, u1));
            wasm_v128_store(dk + (r * 4 + 3) * WG_TILES * Co + co, wasm_f32x4_neg(u1));
          }
        }
      }
      // M[ξ] += V[ξ]ᵀ · D[ξ] over this block's tiles: 4 input × 8 (or 4) output channels in registers.
      for (int xi = 0; xi < 16; xi++) {
        const f32* vx = vbuf + xi * WG_TILES * Ci;
        const f32* dx = dbuf + xi * WG_TILES * Co;
        f32* mx = mbuf + xi * Ci * Co;
        for (int ci = 0; ci < Ci; ci += 4) {
          int co = 0;
          for (; co + 8 <= Co; co += 8) {
            // tile_4x8 reads x at xp + k (k = 0..3, stride 1 between tiles: Ci) and dy at gp; here the
            // "pixels" are the block's tiles.
            tile_4x8(vx + ci, dx + co, mx + ci * Co + co, WG_TILES, Ci, WG_TILES, Co, 1, 1, 0, 0, 0, 1, 0, count);
          }
          for (; co < Co; co += 4) {
            for (int k = 0; k < 4; k++) {
              tile_1x4(vx + ci + k, dx + co, mx + (ci + k) * Co + co, WG_TILES, Ci, WG_TILES, Co, 1, 1, 0, 0, 0, 1,
                       0, count);
            }
          }
        }
      }
    }
  }
}

// dW = A'ᵀ M A' per channel pair (M: the threads' sums added), for input channels [Ci·t/T, Ci·(t+1)/T).
// params: M, dw, Ci, Co
EXPORT(winograd_filter_grad_output)
void winograd_filter_grad_output(const int32_t* p, int t, int threads) {
  const f32* m0 = (const f32*)(uintptr_t)p[0];
  f32* dw = (f32*)(uintptr_t)p[1];
  const int Ci = p[2], Co = p[3];
  const int plane = Ci * Co;
  const v half = wasm_f32x4_splat(0.5f);
  const int end = share_begin(Ci, t + 1, threads);
  for (int ci = share_begin(Ci, t, threads); ci < end; ci++) {
    for (int co = 0; co < Co; co += 4) {
      const f32* mp = m0 + ci * Co + co;
      // Rows: A'ᵀ m, per column c: r0 = m0 + ½(m1 + m2), r1 = ½(m1 − m2), r2 = ½(m1 + m2) + m3.
      v rows[3][4];
      for (int c = 0; c < 4; c++) {
        const v a = wasm_v128_load(mp + c * plane), b = wasm_v128_load(mp + (4 + c) * plane);
        const v d = wasm_v128_load(mp + (8 + c) * plane), e = wasm_v128_load(mp + (12 + c) * plane);
        const v s = wasm_f32x4_mul(half, wasm_f32x4_add(b, d));
        rows[0][c] = wasm_f32x4_add(a, s);
        rows[1][c] = wasm_f32x4_mul(half, wasm_f32x4_sub(b, d));
        rows[2][c] = wasm_f32x4_add(s, e);
      }
      for (int r = 0; r < 3; r++) {
        const v s = wasm_f32x4_mul(half, wasm_f32x4_add(rows[r][1], rows[r][2]));
        f32* out = dw + (r * 3) * plane + ci * Co + co;
        wasm_v128_store(out, wasm_f32x4_add(rows[r][0], s));
        wasm_v128_store(out + plane, wasm_f32x4_mul(half, wasm_f32x4_sub(rows[r][1], rows[r][2])));
        wasm_v128_store(out + 2 * plane, wasm_f32x4_add(s, rows[r][3]));
      }
    }
  }
}
