// Training-mode and inference batch normalisation kernels of kernels.wasm: bn_sum, bn_sum_squares,
// bn_scale_shift (also the inference FusedBatchNorm), bn_grad_sums, bn_grad_input. See common.h for the rules.
#include "common.h"

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
