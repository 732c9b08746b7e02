// Winograd kernels of kernels.wasm: winograd_filter and conv2d_winograd (3×3 stride-1 convolutions in
// F(2×2, 3×3)), winograd_filter_grad and winograd_filter_grad_output (their filter gradient in F(3×3, 2×2),
// per-thread partial sums added by elementwise.c's sum_buffers). See common.h for the rules.
#include "common.h"

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
