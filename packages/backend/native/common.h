// Shared by every kernel source of kernels.wasm (conv-direct.c, winograd.c, batch-norm.c, elementwise.c): the
// rules all kernels follow, the vector types, the fixed split of work between threads, and the tiles both
// convolution families use. Everything here is static inline (no code of its own in the binary).
//
// kernels.wasm runs inside tfjs-backend-wasm's own memory: it imports the threaded build's shared
// WebAssembly.Memory and reads and writes tensors where they lie, on the main thread and on the worker
// threads of ../src/runtime/pool.ts. It therefore must never touch memory it was not handed a pointer to:
// no static data, no stack (every temporary is a local), no start function. ./build.sh checks the binary
// for each of these.
//
// Every exported kernel has the same signature: (params, thread, threads). `params` points at int32
// parameters written by the JavaScript side; thread t of `threads` does its share of the work, and the
// shares are fixed by (t, threads) alone, so that results repeat bit for bit for a given thread count. A
// share writes only memory no other share of the same call reads or writes.
#ifndef RESNET_KERNELS_COMMON_H
#define RESNET_KERNELS_COMMON_H

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


static inline void fill_zero(f32* p, int count) {
  int i = 0;
  for (; i + 4 <= count; i += 4) wasm_v128_store(p + i, wasm_f32x4_splat(0.0f));
  for (; i < count; i++) p[i] = 0.0f;
}

// ---------------------------------------------------------------------------------------------------
// Accumulating tiles of a filter gradient (conv-direct.c's conv2d_filter_grad and winograd.c's
// winograd_filter_grad): Σ over pixels of x[pixel, ci] · dy[pixel, co], added into dw[ci, co].

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

// ---------------------------------------------------------------------------------------------------
// The output tile of a convolution (conv-direct.c's conv2d and winograd.c's conv2d_winograd).

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


#endif
